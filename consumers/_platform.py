"""The central platform's consumer-side paths, bodies and answers of the hub era.

The client library no longer uses them: it talks to the online service's SAK
(:mod:`consumers._sak`). They stay, unchanged, for the hub-era load mix (``bench/_load.py``)
until the hub is deleted; then this module goes with it.
"""

from __future__ import annotations

import json

from lxml import etree

from consumers._matrix import matrix_rows
from consumers._results import Route
from noots import tokens
from noots.errors import (
    RouteNotFound,
    UpstreamError,
    error_for_code,
)

__all__ = [
    "HUB_PATH",
    "RDN_PATH",
    "VS_PATH",
    "Token",
    "matrix_rows",
    "read_rdn_answer",
    "read_token_answer",
    "token_request",
]

HUB_PATH = "/transport/v1/messages"
VS_PATH = "/vs/v1/tokens"
RDN_PATH = "/rdn/v1/services"
VS_SERVICE = "urn:noots:service:noots-vs:tokens"


Token = tokens.TokenGrant


def token_request(
    *,
    consumer: str,
    provider: str,
    classification: str,
    purpose: str,
    legal_basis: str,
    uses_idnr: bool,
    request_0101: etree._Element,
) -> etree._Element:
    """The ``vst:TokenRequest`` for exactly this 0101 (its hash without the token)."""
    return tokens.build_token_request(
        tokens.TokenRequest(
            consumer=consumer,
            provider=provider,
            evidence_type=classification,
            purpose=purpose,
            legal_basis=legal_basis,
            uses_idnr=uses_idnr,
            request_hash=tokens.request_hash(request_0101),
        )
    )


read_token_answer = tokens.read_token_grant


def read_rdn_answer(status: int, content: bytes, evidence_type: str) -> Route:
    """The single provider from an RDN answer; :class:`RouteNotFound` for none or several."""
    try:
        data = json.loads(content)
    except ValueError:
        raise UpstreamError(f"RDN answered HTTP {status} without JSON", component="rdn") from None
    if status >= 400:
        code = data.get("code") if isinstance(data, dict) else None
        detail = data.get("detail", "") if isinstance(data, dict) else ""
        if isinstance(code, str):
            raise error_for_code(code, str(detail), component="rdn")
        raise UpstreamError(f"RDN answered HTTP {status}", component="rdn")
    services = data.get("services") if isinstance(data, dict) else data
    if not isinstance(services, list):
        raise UpstreamError("RDN answer has no list of services", component="rdn")
    if not services:
        raise RouteNotFound(f"the RDN knows no provider for {evidence_type}", component="rdn")
    if len(services) > 1:
        raise RouteNotFound(
            f"{len(services)} providers answer {evidence_type}: name the region", component="rdn"
        )
    entry = services[0]
    fields = entry if isinstance(entry, dict) else {}
    provider, service_id = fields.get("participantId"), fields.get("serviceId")
    name = fields.get("name") or provider
    if not all(isinstance(v, str) and v for v in (provider, service_id, name)):
        raise UpstreamError("RDN service entry lacks participantId or serviceId", component="rdn")
    return Route(provider=str(provider), provider_name=str(name), service_id=str(service_id))
