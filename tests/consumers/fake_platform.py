"""A scripted platform for the client's DC tests: RDN, VS and a hub that answers as told.

The hub plays the provider too (it signs with the provider's real key), so each test can make
it answer correctly, tampered, unsigned, unbound, from the wrong signer, asynchronously, with
an error, or not at all, and count what arrived.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from lxml import etree

from consumers import AsyncClient, Endpoints, RetryPolicy
from noots import ida, messages, tokens
from noots.clock import ManualClock
from noots.envelope import (
    EnvelopeHeader,
    OpenedEnvelope,
    build_envelope,
    error_body,
    open_envelope,
    request_digest,
    seal,
)
from noots.errors import EdmCode
from noots.participant import Participant
from noots.pki import Role
from noots.protocol import ProtocolLog
from noots.signing import XmlSigner, XmlVerifier
from noots.testing.pki import TestPki
from noots.topology import Topology, load_topology
from noots.xml import serialize

CONSUMER = "08118079-BPA-87"
PROVIDER = "08118079-MELD-12"
OTHER_PROVIDER = "991-01234ZFZR-41"
HUB = "noots-hub"
VS = "noots-vs"
IDA = "noots-ida"
IDNR = "02476291358"
REGION = "08118079"

DOCUMENT = (
    b'<mb:Meldebescheinigung xmlns:mb="urn:noots:evidence:meldebescheinigung:1" version="1">'
    b"<mb:Person><mb:IDNr>02476291358</mb:IDNr><mb:Familienname>Geheimname</mb:Familienname>"
    b"</mb:Person></mb:Meldebescheinigung>"
)

#: What the hub does with one request; see FakePlatform.answer.
Mode = str


@dataclass
class Received:
    raw: bytes
    opened: OpenedEnvelope
    request: messages.EvidenceRequest


@dataclass
class FakePlatform:
    pki: TestPki
    topology: Topology
    modes: deque[Mode] = field(default_factory=deque)
    refuse_tokens: bool = False
    token_lifetime: timedelta = timedelta(minutes=5)
    hub_requests: list[Received] = field(default_factory=list)
    vs_requests: list[tokens.TokenRequest] = field(default_factory=list)
    rdn_requests: int = 0
    ida_requests: int = 0
    transport_failures: int = 0

    @property
    def clock(self) -> ManualClock:
        return self.pki.clock

    def signer(self, pid: str, role: Role) -> XmlSigner:
        return XmlSigner(self.pki.credential(pid, role))

    def verifier(self) -> XmlVerifier:
        return XmlVerifier(self.pki.validator())

    # -- the app ---------------------------------------------------------------------------

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/rdn/v1/services")
        async def rdn(evidenceType: str, region: str | None = None) -> JSONResponse:
            self.rdn_requests += 1
            providers = self.topology.find_providers(evidenceType, region)
            return JSONResponse(
                {
                    "services": [
                        {
                            "participantId": p.participant_id,
                            "name": p.name,
                            "serviceId": self.topology.service_id(p.participant_id, evidenceType),
                        }
                        for p in providers
                    ]
                }
            )

        @app.post("/vs/v1/tokens")
        async def vs(request: Request) -> Response:
            raw = await request.body()
            opened = open_envelope(raw, self.verifier(), required_role=Role.CONSUMER)
            asked = tokens.parse_token_request(opened.body)
            self.vs_requests.append(asked)
            if self.refuse_tokens:
                body = error_body(EdmCode.AUTHORISATION, "no matching authorisation", VS)
                return self._reply(VS, Role.VS, opened, raw, body, 403)
            token = tokens.AuthorisationToken.grant(
                asked, issuer=VS, clock=self.clock, lifetime=self.token_lifetime
            )
            issued = tokens.issue_token(token, self.signer(VS, Role.VS))
            body = tokens.build_issued_token_body(issued)
            return self._reply(VS, Role.VS, opened, raw, body, 200)

        @app.post("/ida/v1/lookup")
        async def ida_lookup(request: Request) -> Response:
            raw = await request.body()
            opened = open_envelope(raw, self.verifier(), required_role=Role.CONSUMER)
            query = ida.parse_query(opened.body)
            self.ida_requests += 1
            if isinstance(query, ida.ByName) and query.family_name == "Mustermann":
                body = ida.build_result(ida.LookupResult(IDNR))
                return self._reply(IDA, Role.IDA, opened, raw, body, 200)
            body = error_body(EdmCode.NOT_FOUND, ida.NOT_UNIQUE_DETAIL, IDA)
            return self._reply(IDA, Role.IDA, opened, raw, body, 404)

        @app.post("/transport/v1/messages")
        async def hub(request: Request) -> Response:
            raw = await request.body()
            opened = open_envelope(raw, self.verifier(), required_role=Role.CONSUMER)
            parsed = messages.parse(opened.body)
            assert isinstance(parsed, messages.EvidenceRequest)
            self.hub_requests.append(Received(raw, opened, parsed))
            mode = self.modes.popleft() if self.modes else "ok"
            return self.answer(mode, opened, parsed, raw)

        return app

    def _reply(
        self,
        sender: str,
        role: Role,
        opened: OpenedEnvelope,
        raw: bytes,
        body: etree._Element,
        status: int,
        *,
        in_response_to: str | None = None,
    ) -> Response:
        header = self._header(sender, opened, raw, in_response_to)
        return Response(
            seal(header, body, self.signer(sender, role)), status, media_type="application/xml"
        )

    def _header(
        self, sender: str, opened: OpenedEnvelope, raw: bytes, in_response_to: str | None = None
    ) -> EnvelopeHeader:
        return EnvelopeHeader(
            message_id=uuid.uuid4(),
            sender=sender,
            recipient=opened.header.sender,
            service_id=opened.header.service_id,
            created=self.clock.now(),
            in_response_to=in_response_to or request_digest(raw),
            request_message_id=opened.header.message_id,
        )

    def evidence_for(
        self, request: messages.EvidenceRequest, document: bytes = DOCUMENT
    ) -> messages.Evidence:
        return messages.Evidence.new(
            document,
            issuing_authority=messages.Agent(request.provider.identifier, request.provider.name),
            evidence_type=request.evidence_type,
            subject=request.subject,
            clock=self.clock,
        )

    def answer(
        self, mode: Mode, opened: OpenedEnvelope, request: messages.EvidenceRequest, raw: bytes
    ) -> Response:
        provider = request.provider.identifier
        good = messages.build(
            messages.answer_with_evidence(request, self.evidence_for(request), clock=self.clock)
        )
        if mode == "ok":
            return self._reply(provider, Role.PROVIDER, opened, raw, good, 200)
        if mode == "tampered":
            signed = self._reply(provider, Role.PROVIDER, opened, raw, good, 200).body
            return Response(_tamper(bytes(signed)), 200, media_type="application/xml")
        if mode == "unsigned":
            unsigned = serialize(build_envelope(self._header(provider, opened, raw), good))
            return Response(unsigned, 200, media_type="application/xml")
        if mode == "unbound":
            other = request_digest(b"another request")
            return self._reply(
                provider, Role.PROVIDER, opened, raw, good, 200, in_response_to=other
            )
        if mode == "wrong-signer":
            return self._reply(OTHER_PROVIDER, Role.PROVIDER, opened, raw, good, 200)
        if mode == "hub-signed-evidence":
            return self._reply(HUB, Role.HUB, opened, raw, good, 200)
        if mode == "other-request-id":
            other_request = messages.EvidenceRequest.new(
                requester=request.requester,
                provider=request.provider,
                evidence_type=request.evidence_type,
                subject=request.subject,
                clock=self.clock,
            )
            body = messages.build(
                messages.answer_with_evidence(
                    other_request, self.evidence_for(other_request), clock=self.clock
                )
            )
            return self._reply(provider, Role.PROVIDER, opened, raw, body, 200)
        if mode == "other-person":
            assert isinstance(request.subject, messages.NaturalPerson)
            stranger = messages.NaturalPerson(
                "Fremd", "Franz", request.subject.date_of_birth, "86095742719"
            )
            evidence = messages.Evidence.new(
                DOCUMENT,
                issuing_authority=messages.Agent(provider, request.provider.name),
                evidence_type=request.evidence_type,
                subject=stranger,
                clock=self.clock,
            )
            body = messages.build(
                messages.answer_with_evidence(request, evidence, clock=self.clock)
            )
            return self._reply(provider, Role.PROVIDER, opened, raw, body, 200)
        if mode.startswith("pending:"):
            seconds = int(mode.split(":")[1])
            body = messages.build(
                messages.answer_pending(
                    request, self.clock.now() + timedelta(seconds=seconds), clock=self.clock
                )
            )
            return self._reply(provider, Role.PROVIDER, opened, raw, body, 200)
        if mode.startswith("error:"):
            code = EdmCode(mode.removeprefix("error:"))
            body = messages.build(
                messages.answer_with_error(request, code, "scripted error", clock=self.clock)
            )
            return self._reply(provider, Role.PROVIDER, opened, raw, body, 400)
        if mode.startswith("hub-error:"):
            code_text, _, status = mode.removeprefix("hub-error:").partition("/")
            body = error_body(EdmCode(code_text), "scripted hub error", HUB)
            return self._reply(HUB, Role.HUB, opened, raw, body, int(status or 502))
        if mode == "http-502":
            return Response(b"Bad Gateway", 502, media_type="text/plain")
        raise AssertionError(f"unknown mode {mode}")


def _tamper(signed: bytes) -> bytes:
    """Change one character of the evidence document (base64) after signing."""
    match = re.search(rb"(<xn-bk:RepositoryItem>)([A-Za-z0-9+/])", signed)
    assert match is not None
    first = match.group(2)
    replacement = b"B" if first != b"B" else b"C"
    return signed[: match.start(2)] + replacement + signed[match.end(2) :]


class FailingTransport(httpx.AsyncBaseTransport):
    """Refuses the first ``failures`` hub connections, then passes everything on."""

    def __init__(self, inner: httpx.AsyncBaseTransport, platform: FakePlatform) -> None:
        self.inner = inner
        self.platform = platform

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/transport/v1/messages" and self.platform.transport_failures > 0:
            self.platform.transport_failures -= 1
            raise httpx.ConnectError("connection refused (scripted)", request=request)
        return await self.inner.handle_async_request(request)


@dataclass
class Sleeps:
    """The injected sleeper: records each wait and moves the manual clock instead."""

    clock: ManualClock
    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.clock.advance(timedelta(seconds=seconds))


def consumer_participant(pki: TestPki, pid: str = CONSUMER) -> Participant:
    credential = pki.credential(pid, Role.CONSUMER)
    validator = pki.validator()
    return Participant(
        participant_id=pid,
        role=Role.CONSUMER,
        credential=credential,
        signer=XmlSigner(credential),
        verifier=XmlVerifier(validator),
        validator=validator,
        clock=pki.clock,
    )


def make_pki() -> TestPki:
    """One CA with every participant the fake platform signs for (slow part: reuse it)."""
    pki = TestPki()
    for pid, role in (
        (CONSUMER, Role.CONSUMER),
        (PROVIDER, Role.PROVIDER),
        (OTHER_PROVIDER, Role.PROVIDER),
        (HUB, Role.HUB),
        (VS, Role.VS),
        (IDA, Role.IDA),
    ):
        pki.credential(pid, role)
    return pki


def make_platform(pki: TestPki | None = None, topology: Topology | None = None) -> FakePlatform:
    return FakePlatform(pki or make_pki(), topology or load_topology())


def make_client(
    platform: FakePlatform,
    *,
    log: ProtocolLog | None = None,
    retry: RetryPolicy | None = None,
    sleeps: Sleeps | None = None,
    participant: Callable[[TestPki], Participant] = consumer_participant,
) -> AsyncClient:
    transport = FailingTransport(httpx.ASGITransport(app=platform.app()), platform)
    import random

    return AsyncClient(
        participant(platform.pki),
        Endpoints("http://platform", "http://ida"),
        platform.topology,
        transport=transport,
        retry=retry or RetryPolicy(),
        sleep=sleeps or Sleeps(platform.clock),
        rng=random.Random(7),
        protocol_log=log,
    )


def issued_token_of(request_raw: bytes) -> str:
    """The IssuedToken text of the 0101 inside a request envelope (for assertions)."""
    match = re.search(rb"<xn-de:IssuedToken>([^<]*)</xn-de:IssuedToken>", request_raw)
    assert match is not None
    return match.group(1).decode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
