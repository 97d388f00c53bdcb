"""A bare online service for SAK tests: route, authorisation and 0101 through the consumer API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from noots import messages, tokens
from noots.clock import SystemClock
from noots.sak import AUTHORISATIONS_PATH, CONSUMER_REQUESTS_PATH, ROUTES_PATH, Header
from noots.testing.landscape import Landscape

ERIKA = messages.NaturalPerson("Mustermann", "Erika", date(1964, 8, 12), "02476291358")


@dataclass
class Submitted:
    request: messages.EvidenceRequest
    response: httpx.Response
    route: dict[str, Any]
    authorisation: dict[str, Any]

    @property
    def answer(self) -> messages.Message:
        from noots.xml import parse

        return messages.parse(parse(self.response.content))


async def prepare(
    client: httpx.AsyncClient,
    landscape: Landscape,
    consumer: str,
    evidence_type: str,
    *,
    region: str | None = None,
    subject: messages.Subject = ERIKA,
    purpose: str = "Bewohnerparkausweis",
    legal_basis: str | None = None,
) -> tuple[messages.EvidenceRequest, dict[str, Any], dict[str, Any]]:
    """The 0101 an online service would send, with the route and the authorisation."""
    topology = landscape.topology
    sak = landscape.url(topology.sak_id(consumer))
    params = {"evidenceType": evidence_type, **({"region": region} if region else {})}
    found = await client.get(sak + ROUTES_PATH, params=params)
    assert found.status_code == 200, found.text
    route = found.json()
    kind = route["evidenceType"]
    request = messages.EvidenceRequest.new(
        requester=messages.Agent(consumer, topology.consumer(consumer).name),
        provider=messages.Agent(route["provider"]["participantId"], route["provider"]["name"]),
        evidence_type=messages.EvidenceType(
            kind["classification"], kind["title"], uuid.UUID(kind["identifier"])
        ),
        subject=subject,
        clock=SystemClock(),
        test=True,
    )
    rows = topology.authorisations_for(consumer, evidence_type, route["provider"]["participantId"])
    basis = legal_basis or next((r.legal_basis for r in rows if r.purpose == purpose), "keine")
    asked = {
        "serviceId": route["serviceId"],
        "purpose": purpose,
        "legalBasis": basis,
        "usesIdnr": tokens.uses_idnr(request),
        "requestHash": tokens.request_hash(messages.build(request.with_token(""))),
    }
    granted = await client.post(sak + AUTHORISATIONS_PATH, json=asked)
    authorisation = granted.json()
    if granted.status_code == 200 and authorisation.get("required"):
        request = request.with_token(authorisation["token"])
    authorisation["status"] = granted.status_code
    return request, route, authorisation


async def submit(
    client: httpx.AsyncClient,
    landscape: Landscape,
    consumer: str,
    request: messages.EvidenceRequest,
    service_id: str,
    purpose: str = "Bewohnerparkausweis",
    **headers: str,
) -> httpx.Response:
    sak = landscape.url(landscape.topology.sak_id(consumer))
    return await client.post(
        sak + CONSUMER_REQUESTS_PATH,
        content=messages.to_bytes(request),
        headers={
            "Content-Type": "application/xml",
            Header.PURPOSE: purpose,
            Header.SERVICE_ID: service_id,
            **headers,
        },
        timeout=60,
    )


async def fetch(
    client: httpx.AsyncClient,
    landscape: Landscape,
    consumer: str,
    evidence_type: str,
    *,
    region: str | None = None,
    subject: messages.Subject = ERIKA,
    purpose: str = "Bewohnerparkausweis",
) -> Submitted:
    """Route, authorisation and the 0101, end to end."""
    request, route, authorisation = await prepare(
        client, landscape, consumer, evidence_type, region=region, subject=subject, purpose=purpose
    )
    response = await submit(client, landscape, consumer, request, route["serviceId"], purpose)
    return Submitted(request, response, route, authorisation)
