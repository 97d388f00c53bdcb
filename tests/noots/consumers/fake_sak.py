"""A scripted SAK consumer API for the client's DC tests, and a scripted IDA.

The fake answers routes from the topology, grants authorisations with a real VS-sealed token
(or refuses them), and answers each submitted 0101 as its script says: the evidence, an
announcement for later, an error code (also one outside the EDM list), an answer that does not
answer the request, a JSON problem, a gateway page, or no connection at all. The transport
checks (signatures, binding) are the real SAK's business; what the client must check is the
XNachweis level, and that is what the script can break.
"""

from __future__ import annotations

import base64
import json
import random
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from noots import ida, messages, tokens
from noots.clock import ManualClock
from noots.consumers import AsyncClient, Endpoints, RetryPolicy
from noots.envelope import error_body
from noots.errors import EdmCode
from noots.participant import Participant
from noots.pki import Role
from noots.protocol import ProtocolLog
from noots.sak import decode_value
from noots.signing import XmlSigner, XmlVerifier
from noots.testing.pki import TestPki
from noots.topology import Topology, load_topology
from noots.xml import parse, serialize
from noots.xml import parse as parse_xml

CONSUMER = "08118079-BPA-87"
SAK = f"{CONSUMER}.sak"
PROVIDER = "08118079-MELD-12"
OTHER_PROVIDER = "991-01234ZFZR-41"
VS = "noots-vs"
IDA = "noots-ida"
IDNR = "02476291358"
REGION = "08118079"
SAK_URL = "http://sak.test"
UNLISTED = "NOOTS:ERR:4711"

DOCUMENT = (
    b'<mb:Meldebescheinigung xmlns:mb="urn:noots:evidence:meldebescheinigung:1" version="1">'
    b"<mb:Person><mb:IDNr>02476291358</mb:IDNr><mb:Familienname>Geheimname</mb:Familienname>"
    b"</mb:Person></mb:Meldebescheinigung>"
)

#: What the SAK does with one submitted 0101; see FakeSak.answer.
Mode = str


@dataclass
class Submitted:
    """One 0101 handed to the SAK, with its headers and the envelope id the SAK named."""

    raw: bytes
    request: messages.EvidenceRequest
    headers: dict[str, str]
    envelope_id: uuid.UUID


@dataclass
class FakeSak:
    pki: TestPki
    topology: Topology
    modes: deque[Mode] = field(default_factory=deque)
    #: "grant" (a token where the VS rule needs one), "refuse" (the VS says no), "none"
    #: (no token needed), or "problem:CODE/STATUS".
    authorise: str = "grant"
    token_lifetime: timedelta = timedelta(minutes=5)
    submissions: list[Submitted] = field(default_factory=list)
    authorisations: list[dict[str, Any]] = field(default_factory=list)
    granted: list[str] = field(default_factory=list)
    routes: int = 0
    ida_requests: int = 0
    transport_failures: int = 0
    headers_seen: list[dict[str, str]] = field(default_factory=list)

    @property
    def clock(self) -> ManualClock:
        return self.pki.clock

    @property
    def calls(self) -> int:
        """Everything the online service asked its SAK."""
        return self.routes + len(self.authorisations) + len(self.submissions)

    def signer(self, pid: str, role: Role) -> XmlSigner:
        return XmlSigner(self.pki.credential(pid, role))

    def verifier(self) -> XmlVerifier:
        return XmlVerifier(self.pki.validator())

    # -- the apps ----------------------------------------------------------------------------

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.middleware("http")
        async def remember_headers(request: Request, call_next: Any) -> Any:
            self.headers_seen.append({k.lower(): v for k, v in request.headers.items()})
            return await call_next(request)

        @app.get("/consumer/v1/routes")
        async def routes(evidenceType: str, region: str | None = None) -> JSONResponse:
            self.routes += 1
            providers = self.topology.find_providers(evidenceType, region)
            if len(providers) != 1:
                return _problem("EDM:ERR:0006", f"{len(providers)} providers", SAK, 404)
            spec, kind = providers[0], self.topology.evidence_type(evidenceType)
            vs = {
                key: {"required": rule.required, "reason": rule.reason}
                for key, rule in (
                    ("withIdnr", self._rule(spec.participant_id, True)),
                    ("withoutIdnr", self._rule(spec.participant_id, False)),
                )
            }
            return JSONResponse(
                {
                    "serviceId": self.topology.service_id(spec.participant_id, evidenceType),
                    "provider": {
                        "participantId": spec.participant_id,
                        "name": spec.name,
                        "area": self.topology.area_of(spec.participant_id).id,
                    },
                    "evidenceType": {
                        "name": kind.name,
                        "classification": kind.classification,
                        "identifier": str(kind.identifier),
                        "title": kind.title,
                        "subject": kind.subject,
                    },
                    "vs": vs,
                }
            )

        @app.post("/consumer/v1/authorisations")
        async def authorisations(request: Request) -> JSONResponse:
            asked = json.loads(await request.body())
            self.authorisations.append(asked)
            return self._authorisation(asked)

        @app.post("/consumer/v1/requests")
        async def requests(request: Request) -> Response:
            raw = await request.body()
            parsed = messages.parse(parse(raw))
            assert isinstance(parsed, messages.EvidenceRequest)
            submitted = Submitted(
                raw, parsed, {k.lower(): v for k, v in request.headers.items()}, uuid.uuid4()
            )
            self.submissions.append(submitted)
            mode = self.modes.popleft() if self.modes else "ok"
            return self.answer(mode, submitted)

        @app.post("/ida/v1/lookup")
        async def ida_lookup(request: Request) -> Response:
            query = ida.parse_query(parse_xml(await request.body()))
            self.ida_requests += 1
            if isinstance(query, ida.ByName) and query.family_name == "Mustermann":
                body = ida.build_result(ida.LookupResult(IDNR))
                return Response(serialize(body), 200, media_type="application/xml")
            body = error_body(EdmCode.NOT_FOUND, ida.NOT_UNIQUE_DETAIL, IDA)
            return Response(serialize(body), 404, media_type="application/xml")

        return app

    def _rule(self, provider: str, uses_idnr: bool) -> Any:
        return self.topology.vs_rule(CONSUMER, provider, uses_idnr=uses_idnr)

    # -- authorisations ----------------------------------------------------------------------

    def _authorisation(self, asked: dict[str, Any]) -> JSONResponse:
        provider, _kind = self.topology.resolve_service(asked["serviceId"])
        rule = self._rule(provider.participant_id, asked["usesIdnr"])
        if self.authorise == "refuse":
            return _problem("EDM:ERR:0002", "no matching authorisation", VS, 403)
        if self.authorise.startswith("problem:"):
            code, _, status = self.authorise.removeprefix("problem:").partition("/")
            return _problem(code, "scripted problem", SAK, int(status))
        if self.authorise == "none" or not rule.required:
            return JSONResponse({"required": False, "reason": rule.reason})
        token = tokens.AuthorisationToken.grant(
            tokens.TokenRequest(
                consumer=CONSUMER,
                provider=provider.participant_id,
                evidence_type=_kind.classification,
                purpose=asked["purpose"],
                legal_basis=asked["legalBasis"],
                uses_idnr=asked["usesIdnr"],
                request_hash=asked["requestHash"],
            ),
            issuer=VS,
            clock=self.clock,
            lifetime=self.token_lifetime,
        )
        issued = tokens.issue_token(token, self.signer(VS, Role.VS))
        self.granted.append(issued)
        return JSONResponse(
            {
                "required": True,
                "reason": rule.reason,
                "token": issued,
                "expiresAt": token.expires_at.isoformat().replace("+00:00", "Z"),
            }
        )

    # -- answers to a 0101 -------------------------------------------------------------------

    def evidence_for(
        self,
        request: messages.EvidenceRequest,
        *,
        subject: messages.Subject | None = None,
        kind: messages.EvidenceType | None = None,
    ) -> messages.Evidence:
        return messages.Evidence.new(
            DOCUMENT,
            issuing_authority=messages.Agent(request.provider.identifier, request.provider.name),
            evidence_type=kind or request.evidence_type,
            subject=subject or request.subject,
            clock=self.clock,
        )

    def _xml(
        self,
        submitted: Submitted,
        message: messages.Message | bytes,
        status: int,
        outcome: str,
        answered_by: str,
    ) -> Response:
        body = message if isinstance(message, bytes) else messages.to_bytes(message)
        return Response(
            body,
            status,
            media_type="application/xml",
            headers={
                "Noots-Outcome": outcome,
                "Noots-Answered-By": answered_by,
                "Noots-Envelope-Id": str(submitted.envelope_id),
                "Noots-Response-Envelope-Id": str(uuid.uuid4()),
            },
        )

    def answer(self, mode: Mode, submitted: Submitted) -> Response:
        request = submitted.request
        provider = request.provider.identifier
        clock = self.clock
        if mode == "ok":
            good = messages.answer_with_evidence(request, self.evidence_for(request), clock=clock)
            return self._xml(submitted, good, 200, "delivered", provider)
        if mode.startswith("pending:"):
            seconds = int(mode.split(":")[1])
            later = clock.now() + timedelta(seconds=seconds)
            return self._xml(
                submitted,
                messages.answer_pending(request, later, clock=clock),
                200,
                "pending",
                provider,
            )
        if mode.startswith("error:"):
            code = EdmCode(mode.removeprefix("error:"))
            error = messages.answer_with_error(request, code, "scripted error", clock=clock)
            status = 502 if code is EdmCode.QUERY_ERROR else code.http_status
            return self._xml(submitted, error, status, f"refused:{code.value}", provider)
        if mode.startswith("sak-error:"):
            code_text, _, status_text = mode.removeprefix("sak-error:").partition("/")
            code = EdmCode(code_text)
            error = messages.answer_with_error(
                request,
                code,
                "scripted refusal of the SAK",
                clock=clock,
                error_provider=messages.Agent(SAK, "Sicherer Anschlussknoten"),
            )
            status = int(status_text or code.http_status)
            return self._xml(submitted, error, status, f"refused:{code.value}", SAK)
        if mode == "unlisted":
            error = messages.answer_with_error(
                request, EdmCode.QUERY_ERROR, "register rule 17", clock=clock
            )
            raw = messages.to_bytes(error).replace(
                b"<code>EDM:ERR:0008</code>", f"<code>{UNLISTED}</code>".encode()
            )
            assert UNLISTED.encode() in raw
            return self._xml(submitted, raw, 502, "refused:EDM:ERR:0008", provider)
        if mode.startswith("problem:"):
            code, _, status = mode.removeprefix("problem:").partition("/")
            return _problem(code, "scripted problem", SAK, int(status))
        if mode == "http-502":
            return Response(b"<html>Bad Gateway</html>", 502, media_type="text/html")
        if mode == "not-xml":
            return Response(b"Geheimname", 200, media_type="application/xml")
        if mode == "request-echo":
            return self._xml(submitted, submitted.raw, 200, "delivered", provider)
        return self._xml(submitted, self._wrong(mode, request), 200, "delivered", provider)

    def _wrong(self, mode: Mode, request: messages.EvidenceRequest) -> messages.Message:
        """A 0102 that does not answer ``request`` the way ``mode`` says."""
        clock = self.clock
        if mode == "other-request-id":
            other = messages.EvidenceRequest.new(
                requester=request.requester,
                provider=request.provider,
                evidence_type=request.evidence_type,
                subject=request.subject,
                clock=clock,
            )
            return messages.answer_with_evidence(other, self.evidence_for(other), clock=clock)
        if mode == "other-requester":
            other = messages.EvidenceRequest.new(
                requester=messages.Agent("09162000-GEWA-65", "Gewerbeamt"),
                provider=request.provider,
                evidence_type=request.evidence_type,
                subject=request.subject,
                clock=clock,
            )
            other = _with_ids(other, request)
            return messages.answer_with_evidence(other, self.evidence_for(other), clock=clock)
        if mode == "other-provider":
            other = messages.EvidenceRequest.new(
                requester=request.requester,
                provider=messages.Agent(OTHER_PROVIDER, "Kraftfahrt-Bundesamt"),
                evidence_type=request.evidence_type,
                subject=request.subject,
                clock=clock,
            )
            other = _with_ids(other, request)
            return messages.answer_with_evidence(other, self.evidence_for(other), clock=clock)
        if mode == "other-person":
            assert isinstance(request.subject, messages.NaturalPerson)
            stranger = messages.NaturalPerson(
                "Fremd", "Franz", request.subject.date_of_birth, "86095742719"
            )
            evidence = self.evidence_for(request, subject=stranger)
            return messages.answer_with_evidence(request, evidence, clock=clock)
        if mode == "other-type":
            spec = self.topology.evidence_type("Fahrzeughalterauskunft")
            kind = messages.EvidenceType(spec.classification, spec.title, spec.identifier)
            evidence = self.evidence_for(request, kind=kind)
            return messages.answer_with_evidence(request, evidence, clock=clock)
        raise AssertionError(f"unknown mode {mode}")


def _with_ids(
    other: messages.EvidenceRequest, request: messages.EvidenceRequest
) -> messages.EvidenceRequest:
    import dataclasses

    return dataclasses.replace(
        other, request_id=request.request_id, message_uuid=request.message_uuid
    )


def _problem(code: str, detail: str, component: str, status: int) -> JSONResponse:
    return JSONResponse(
        {"code": code, "title": "scripted", "detail": detail, "component": component},
        status_code=status,
        media_type="application/problem+json",
    )


class FailingTransport(httpx.AsyncBaseTransport):
    """Refuses the first ``failures`` submissions (no connection), then passes everything on."""

    def __init__(self, inner: httpx.AsyncBaseTransport, sak: FakeSak) -> None:
        self.inner = inner
        self.sak = sak

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/consumer/v1/requests" and self.sak.transport_failures > 0:
            self.sak.transport_failures -= 1
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


class StaticTokens:
    """An access-token source that hands out one fixed token per audience (and counts)."""

    def __init__(self) -> None:
        self.audiences: list[str] = []

    async def authorization(self, audience: str) -> dict[str, str]:
        self.audiences.append(audience)
        return {"Authorization": f"Bearer token-for-{audience}"}


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
    """One CA with the consumer, the VS and the IDA (slow part: reuse it)."""
    pki = TestPki()
    for pid, role in ((CONSUMER, Role.CONSUMER), (VS, Role.VS), (IDA, Role.IDA)):
        pki.credential(pid, role)
    return pki


def make_sak(pki: TestPki | None = None, topology: Topology | None = None) -> FakeSak:
    return FakeSak(pki or make_pki(), topology or load_topology())


def make_client(
    sak: FakeSak,
    *,
    log: ProtocolLog | None = None,
    retry: RetryPolicy | None = None,
    sleeps: Sleeps | None = None,
    access_tokens: Any = None,
    participant: Callable[[TestPki], Participant] = consumer_participant,
    on_pending: Callable[[Any], None] | None = None,
) -> AsyncClient:
    transport = FailingTransport(httpx.ASGITransport(app=sak.app()), sak)
    return AsyncClient(
        participant(sak.pki),
        Endpoints("http://platform.test", "http://ida.test", SAK_URL),
        sak.topology,
        transport=transport,
        retry=retry or RetryPolicy(),
        sleep=sleeps or Sleeps(sak.clock),
        rng=random.Random(7),
        protocol_log=log,
        access_tokens=access_tokens,
        on_pending=on_pending,
    )


def header_text(submitted: Submitted, name: str) -> str:
    """A ``Noots-*`` header of a submission, decoded."""
    return decode_value(submitted.headers[name.lower()])


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
