"""Helpers for the platform tests: a bootstrapped landscape per test, a data consumer that
builds real signed requests with a real VS token (and can break each field), the real
registers with a controllable ``sleep``, and a tap between a SAK and its register."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from lxml import etree

from noots import messages, tokens
from noots.clock import ManualClock
from noots.envelope import ENV_NS, EnvelopeHeader, open_envelope, request_digest, seal
from noots.errors import EdmCode
from noots.intermediary.settings import PlatformSettings
from noots.participant import Participant, load_participant
from noots.pki import Role
from noots.registers._service import create_register_app
from noots.registers.settings import RegisterSettings
from noots.topology import Topology
from noots.xml import parse as parse_xml

CONSUMER = "08118079-BPA-87"  # area verkehr
ELTERNGELD = "08-ELTERNGELD-79"  # area familie
GEWERBE = "09162000-GEWA-65"  # area wirtschaft
MELDEREGISTER = "08118079-MELD-12"  # area meldewesen
KBA = "991-01234ZFZR-41"  # area verkehr (same as CONSUMER)
PSTR = "992-00001PSTR-10"
HREG = "993-00001HREG-32"
VS = "noots-vs"

ERIKA = ("02476291358", "Mustermann", "Erika", date(1964, 8, 12))
LENA = ("01234567812", "Musterfrau", "Lena", date(1992, 3, 14))


@dataclass
class Landscape:
    """A bootstrapped data directory, the topology and the clock every component shares."""

    data_dir: Path
    topology: Topology
    clock: ManualClock

    def settings(self, **overrides: Any) -> PlatformSettings:
        values: dict[str, Any] = {"data_dir": self.data_dir, "admin_token": "admin-secret"}
        values.update(overrides)
        return PlatformSettings(**values)

    def participant(self, participant_id: str) -> Participant:
        return load_participant(self.data_dir / "pki", participant_id, clock=self.clock)

    def host_port(self, participant_id: str) -> str:
        return self.topology.base_url(participant_id).removeprefix("http://")


@dataclass
class Consumer:
    """A data consumer that speaks the protocol by hand (so each field can be broken)."""

    landscape: Landscape
    participant_id: str = CONSUMER
    participant: Participant = field(init=False)

    def __post_init__(self) -> None:
        self.participant = self.landscape.participant(self.participant_id)

    def request(
        self,
        provider: str,
        evidence_type: str,
        person: tuple[str, str, str, date] | None = ERIKA,
        *,
        requester: str | None = None,
    ) -> messages.EvidenceRequest:
        topology = self.landscape.topology
        spec = topology.evidence_type(evidence_type)
        subject = (
            messages.NaturalPerson(person[1], person[2], person[3], person[0])
            if person is not None
            else messages.LegalPerson("Mustermann Digital GmbH")
        )
        requester_id = requester or self.participant_id
        return messages.EvidenceRequest.new(
            requester=messages.Agent(requester_id, "Testverfahren"),
            provider=messages.Agent(provider, topology.participant(provider).name),
            evidence_type=messages.EvidenceType(spec.classification, spec.title, spec.identifier),
            subject=subject,
            clock=self.landscape.clock,
            test=True,
        )

    def token_request(
        self,
        request: messages.EvidenceRequest,
        purpose: str,
        legal_basis: str | None = None,
        *,
        consumer: str | None = None,
    ) -> tokens.TokenRequest:
        topology = self.landscape.topology
        spec = topology.evidence_type_by_classification(request.evidence_type.classification)
        if legal_basis is None:
            rows = topology.authorisations_for(
                self.participant_id, spec.name, request.provider.identifier
            )
            legal_basis = next((r.legal_basis for r in rows if r.purpose == purpose), "keine")
        return tokens.TokenRequest(
            consumer=consumer or self.participant_id,
            provider=request.provider.identifier,
            evidence_type=request.evidence_type.classification,
            purpose=purpose,
            legal_basis=legal_basis,
            uses_idnr=tokens.uses_idnr(request),
            request_hash=tokens.request_hash(messages.build(request)),
        )

    def seal_to(
        self, recipient: str, service_id: str, body: etree._Element, purpose: str | None
    ) -> bytes:
        header = EnvelopeHeader(
            message_id=uuid.uuid4(),
            sender=self.participant_id,
            recipient=recipient,
            service_id=service_id,
            created=self.landscape.clock.now(),
            purpose=purpose,
        )
        return seal(header, body, self.participant.signer)

    def token_envelope(self, token_request: tokens.TokenRequest) -> bytes:
        return self.seal_to(
            VS,
            "urn:noots:service:noots-vs:tokens",
            tokens.build_token_request(token_request),
            token_request.purpose,
        )

    async def fetch_token(
        self, platform: httpx.AsyncClient, token_request: tokens.TokenRequest
    ) -> str:
        answer = await platform.post(
            "/vs/v1/tokens",
            content=self.token_envelope(token_request),
            headers={"Content-Type": "application/xml"},
        )
        opened = open_envelope(answer.content, self.participant.verifier, required_role=Role.VS)
        assert answer.status_code == 200, opened.body.findtext(f"{{{ENV_NS}}}Detail")
        return tokens.parse_issued_token_body(opened.body)

    def evidence_envelope(
        self,
        request: messages.EvidenceRequest,
        purpose: str | None,
        *,
        service_id: str | None = None,
        recipient: str | None = None,
    ) -> bytes:
        topology = self.landscape.topology
        provider = request.provider.identifier
        spec = topology.evidence_type_by_classification(request.evidence_type.classification)
        return self.seal_to(
            recipient or provider,
            service_id or topology.service_id(provider, spec.name),
            messages.build(request),
            purpose,
        )

    async def prepared(
        self,
        platform: httpx.AsyncClient,
        provider: str,
        evidence_type: str,
        purpose: str,
        person: tuple[str, str, str, date] | None = ERIKA,
    ) -> tuple[messages.EvidenceRequest, bytes]:
        """A 0101 with a real VS token, sealed as this participant sends it."""
        request = self.request(provider, evidence_type, person)
        issued = await self.fetch_token(platform, self.token_request(request, purpose))
        request = request.with_token(issued)
        return request, self.evidence_envelope(request, purpose)

    def open_answer(self, raw: bytes, request_raw: bytes) -> tuple[Any, Any]:
        """The verified answer envelope and its parsed body (0102/0103 or env:Error)."""
        opened = open_envelope(raw, self.participant.verifier)
        assert opened.header.in_response_to == request_digest(request_raw)
        if opened.body.tag == f"{{{ENV_NS}}}Error":
            return opened, None
        return opened, messages.parse(opened.body)


def error_of(opened: Any, parsed: Any) -> tuple[str, str]:
    """(code, detail) of a 0103 or an env:Error answer."""
    if parsed is None:
        return (
            opened.body.findtext(f"{{{ENV_NS}}}Code"),
            opened.body.findtext(f"{{{ENV_NS}}}Detail"),
        )
    assert isinstance(parsed, messages.EvidenceErrorResponse), parsed
    return parsed.errors[0].code.value, parsed.errors[0].detail or ""


class Gate:
    """The ``sleep`` a register is given: no real waiting; while ``closed``, every sleep
    waits until ``opened`` is set (a register as slow as the test wants)."""

    def __init__(self) -> None:
        self.closed = False
        self.opened = asyncio.Event()
        self.entered = asyncio.Event()

    async def sleep(self, _seconds: float) -> None:
        if self.closed:
            self.entered.set()
            await self.opened.wait()


class Tap(httpx.AsyncBaseTransport):
    """Sits between a SAK and its register: records the bytes the SAK hands over and, when
    told, replaces the register's answer (``http-500``: an empty 500; ``another-request``: a
    0103 that answers another request id; ``a-request``: the 0101 sent back)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.received: list[bytes] = []
        self.mode = "pass"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        if request.method == "POST" and request.url.path == "/provider/v1/requests":
            self.received.append(body)
        response = await self.inner.handle_async_request(request)
        if self.mode == "pass" or request.url.path != "/provider/v1/requests":
            return response
        await response.aread()
        if self.mode == "http-500":
            return httpx.Response(500, content=b"")
        asked = messages.parse(parse_xml(body))
        assert isinstance(asked, messages.EvidenceRequest)
        if self.mode == "a-request":
            return httpx.Response(200, headers={"Content-Type": "application/xml"}, content=body)
        assert self.mode == "another-request"
        other = dataclasses.replace(asked, request_id=uuid.uuid4())
        answer = messages.answer_with_error(
            other, EdmCode.NOT_FOUND, "kein Nachweis", clock=ManualClock()
        )
        return httpx.Response(
            404,
            headers={"Content-Type": "application/xml"},
            content=messages.to_bytes(answer),
        )


def register_app(landscape: Landscape, participant_id: str, gate: Gate) -> FastAPI:
    """The real register (noots.registers._service) on the landscape, with the test's clock."""
    return create_register_app(
        RegisterSettings(data_dir=landscape.data_dir, participant_id=participant_id),
        clock=landscape.clock,
        topology=landscape.topology,
        sleep=gate.sleep,
    )
