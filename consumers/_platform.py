"""The platform services the client talks to besides the hub: paths, bodies and answers.

Pure functions (build a body, read an answer); the HTTP calls are in :mod:`consumers._client`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from consumers._results import Route
from noots import tokens
from noots.clock import Clock
from noots.errors import (
    MalformedMessage,
    RouteNotFound,
    TokenSealInvalid,
    UpstreamError,
    error_for_code,
)
from noots.signing import XmlVerifier
from noots.topology import Authorisation, Topology

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


def matrix_rows(topology: Topology, consumer: str, evidence_type: str) -> list[Authorisation]:
    """The authorisation matrix rows of ``consumer`` for ``evidence_type`` (any provider)."""
    return [
        row
        for row in topology.authorisations
        if row.consumer == consumer and row.evidence_type == evidence_type
    ]


@dataclass(frozen=True)
class Token:
    """A VS token: the base64 text for ``IssuedToken`` and when it expires."""

    issued: str
    token: tokens.AuthorisationToken

    @property
    def expires_at(self) -> datetime:
        return self.token.expires_at


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


def read_token_answer(
    body: etree._Element,
    verifier: XmlVerifier,
    *,
    clock: Clock,
    expected: tokens.TokenRequest,
    component: str,
) -> Token:
    """The token from the VS's answer body, checked against what was asked for.

    The provider checks the token again; checking here too means a wrong token is caught
    before anything is sent, and the client knows when to renew it.
    """
    try:
        issued = tokens.parse_issued_token_body(body)
        token = tokens.verify_token(issued, verifier, clock=clock)
    except (MalformedMessage, TokenSealInvalid) as exc:
        raise UpstreamError(
            f"the VS answered with an unusable token: {exc.message}", component=component
        ) from exc
    granted = (
        token.consumer,
        token.provider,
        token.evidence_type,
        token.purpose,
        token.uses_idnr,
        token.request_hash,
    )
    asked = (
        expected.consumer,
        expected.provider,
        expected.evidence_type,
        expected.purpose,
        expected.uses_idnr,
        expected.request_hash,
    )
    if granted != asked:
        raise UpstreamError(
            "the VS token is for another transfer than requested", component=component
        )
    return Token(issued, token)


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
