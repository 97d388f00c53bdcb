"""One retrieval through an online service's SAK, as the online service makes it: route,
authorisation, the 0101 (docs/SAK.md, "The consumer API"). Shared by the SAK suite (which
plays the online service) and the attack runner (which compares the answers for people who
must look alike)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from noots import messages, tokens
from noots.clock import Clock
from noots.conformance.answers import Answer, Exchange, read_message
from noots.errors import UpstreamError
from noots.sak import AUTHORISATIONS_PATH, CONSUMER_REQUESTS_PATH, ROUTES_PATH, XML_MEDIA_TYPE
from noots.sak import Header as SakHeader
from noots.topology import Topology

__all__ = ["ConsumerApi", "submit"]

Timer = Callable[[], float]


@dataclass
class ConsumerApi:
    """The consumer API of ``sak_url`` as the online service ``consumer`` calls it, with the
    ``Authorization`` value ``bearer`` (its access token for its SAK)."""

    http: httpx.AsyncClient
    sak_url: str
    consumer: str
    bearer: str
    topology: Topology
    clock: Clock
    timer: Timer = time.perf_counter
    timeout: float = 30.0

    async def retrieve(
        self,
        name: str,
        evidence_type: str,
        subject: messages.Subject,
        *,
        region: str | None = None,
    ) -> Exchange:
        """Route, authorisation and the 0101; the exchange of the last step. A refusal of the
        route or the authorisation is :class:`UpstreamError` (the retrieval could not be made)."""
        headers = {"Authorization": self.bearer}
        params = {"evidenceType": evidence_type, **({"region": region} if region else {})}
        found = await self.http.get(
            self.sak_url + ROUTES_PATH, params=params, headers=headers, timeout=self.timeout
        )
        if found.status_code != 200:
            raise UpstreamError(
                f"no route from {self.sak_url} ({found.status_code}): {found.text[:200]}"
            )
        route = found.json()
        kind = route["evidenceType"]
        provider = route["provider"]
        request = messages.EvidenceRequest.new(
            requester=messages.Agent(self.consumer, self.topology.consumer(self.consumer).name),
            provider=messages.Agent(provider["participantId"], provider["name"]),
            evidence_type=messages.EvidenceType(
                kind["classification"], kind["title"], uuid.UUID(kind["identifier"])
            ),
            subject=subject,
            clock=self.clock,
            test=True,
        )
        rows = self.topology.authorisations_for(
            self.consumer, evidence_type, provider["participantId"]
        )
        purpose = rows[0].purpose if rows else "Test"
        asked = {
            "serviceId": route["serviceId"],
            "purpose": purpose,
            "legalBasis": rows[0].legal_basis if rows else "Test",
            "usesIdnr": tokens.uses_idnr(request),
            "requestHash": tokens.request_hash(messages.build(request.with_token(""))),
        }
        granted = await self.http.post(
            self.sak_url + AUTHORISATIONS_PATH, json=asked, headers=headers, timeout=self.timeout
        )
        if granted.status_code != 200:
            raise UpstreamError(
                f"authorisation refused ({granted.status_code}): {granted.text[:200]}"
            )
        authorisation = granted.json()
        if authorisation.get("required"):
            request = request.with_token(authorisation["token"])
        return await submit(
            self,
            name,
            messages.to_bytes(request),
            purpose=purpose,
            service_id=route["serviceId"],
        )


async def submit(
    api: ConsumerApi, name: str, raw: bytes, *, purpose: str, service_id: str
) -> Exchange:
    """``POST /consumer/v1/requests`` with ``raw`` (a 0101, or anything a test sends)."""
    headers = {
        "Authorization": api.bearer,
        "Content-Type": XML_MEDIA_TYPE,
        SakHeader.PURPOSE: purpose,
        SakHeader.SERVICE_ID: service_id,
    }
    started = api.timer()
    try:
        response = await api.http.post(
            api.sak_url + CONSUMER_REQUESTS_PATH, content=raw, headers=headers, timeout=api.timeout
        )
    except httpx.HTTPError as exc:
        return Exchange(
            name, raw, None, b"", api.timer() - started, Answer("empty"), f"{type(exc).__name__}"
        )
    answer = (
        read_message(response.content)
        if response.content.lstrip().startswith(b"<")
        else Answer("other")
    )
    return Exchange(
        name, raw, response.status_code, response.content, api.timer() - started, answer
    )
