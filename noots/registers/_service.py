"""The HTTP edge every register shares: the provider API of its SAK (``POST
/provider/v1/requests`` in push mode, a poller in passive mode), its protocol export ``GET
/provider/v1/transfers``, ``GET /health`` and the fault injection admin API. I/O lives here
(body, population, protocol log, sleeping); the decisions are the pure steps of
:mod:`noots.registers._pipeline`.

A register speaks only to its own SAK: it gets the bare ``DE.EvidenceRequest.0101`` with the
metadata its SAK established (:class:`~noots.sak.ProviderMetadata`) and answers the bare
``0102``/``0103``. Signatures, certificates, freshness and replays of the transport are its
SAK's checks, and the signature of the answer is its SAK's too (also the faults of a signed
answer, :data:`~noots.faults.SIGNATURE_FAULTS`, which a register refuses to take on).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from noots import idnr as idnr_rules
from noots import messages, trace
from noots.access import AccessTokenSource, AccessTokenVerifier, bearer_challenge
from noots.clock import Clock, format_utc
from noots.errors import (
    ConfigurationError,
    NootsError,
    QueryError,
    UnsupportedEvidenceType,
    XmlTooLarge,
)
from noots.faults import (
    SIGNATURE_FAULTS,
    Fault,
    FaultDecision,
    FaultInjector,
    FaultPlan,
    truncate,
)
from noots.faults_http import ConnectionDropped, DroppedResponse, add_fault_admin, hang
from noots.participant import Participant, load_participant
from noots.pki import Role
from noots.protocol import ProtocolEntry, ProtocolLog, open_protocol_log
from noots.registers import documents
from noots.registers._pipeline import (
    AuthorisedRequest,
    NationalOrEuRequest,
    Pending,
    Register,
    RegisterAnswer,
    VerifiedRequest,
    accept_request,
    answer_pending,
    answer_with_document,
    authorise,
    decide,
    http_status,
    match_subject,
    refusal,
    subject_query,
)
from noots.registers._sources import (
    EvidenceSource,
    FahrzeugregisterSource,
    HandelsregisterSource,
    MelderegisterSource,
    PersonenstandsregisterSource,
)
from noots.registers.settings import RegisterSettings
from noots.sak import (
    PROVIDER_ANSWER_PATH,
    PROVIDER_REQUESTS_PATH,
    PROVIDER_TRANSFERS_PATH,
    ProviderMetadata,
)
from noots.sak import Header as SakHeader
from noots.state import AnnouncementJournal, StateFile
from noots.synthetic.identities import Behaviour, behaviour_of, identity
from noots.synthetic.population import PopulationStore
from noots.tls import TlsPeer
from noots.topology import RegisterKind, RegisterSpec, Topology
from noots.trace import Hop
from noots.xml import DEFAULT_LIMITS, serialize
from noots.xml import parse as parse_xml

__all__ = [
    "XML_MEDIA_TYPE",
    "ConnectionDropped",
    "RegisterService",
    "create_register_app",
    "read_body",
]

log = logging.getLogger("noots.registers")

XML_MEDIA_TYPE = "application/xml"

Sleep = Callable[[float], Awaitable[None]]


# -- pending asynchronous requests -------------------------------------------------------------


class PendingRequests:
    """Asynchronous requests announced but not yet collected, bounded; thread-safe.

    Keyed by (consumer, request id), so a request id names the same request only for the
    consumer that sent it. When full, the oldest announcement is forgotten: its collection
    then starts a new wait, which is slower but never wrong.
    """

    def __init__(self, limit: int, journal: AnnouncementJournal | None = None) -> None:
        self._limit = limit
        self._items: OrderedDict[tuple[str, uuid.UUID], datetime] = OrderedDict()
        self._lock = threading.Lock()
        self._journal = journal
        if journal is not None:
            self._items.update(journal.load())
            while len(self._items) > limit:
                journal.discard(self._items.popitem(last=False)[0])

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def get(self, key: tuple[str, uuid.UUID]) -> datetime | None:
        with self._lock:
            return self._items.get(key)

    def put(self, key: tuple[str, uuid.UUID], available_at: datetime) -> None:
        """Remember an announcement; with a journal, it is written before it counts."""
        with self._lock:
            room = len(self._items) - (key in self._items) + 1 - self._limit
            evicted = list(itertools.islice(self._items, max(room, 0)))
            if self._journal is not None:
                self._journal.put(key, available_at, evicted)
            for old in evicted:
                del self._items[old]
            self._items[key] = available_at
            self._items.move_to_end(key)

    def discard(self, key: tuple[str, uuid.UUID]) -> None:
        with self._lock:
            if self._items.pop(key, None) is not None and self._journal is not None:
                self._journal.discard(key)


# -- the service -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What the pipeline decided for one request."""

    message: RegisterAnswer
    verified: VerifiedRequest | None
    outcome: str
    delay: float = 0.0
    #: The protocol entry this answer needs before it may leave (DP-12), once decided.
    entry: ProtocolEntryDraft | None = None
    #: The announced answer this delivery settles, forgotten once the delivery is logged.
    settles: tuple[str, uuid.UUID] | None = None


@dataclass(frozen=True)
class ProtocolEntryDraft:
    """The fields of one protocol log entry, decided by the pipeline and written by
    :meth:`RegisterService.record` (the part of an exchange that waits on a disk or a database)."""

    consumer: str
    provider: str
    evidence_type: str
    purpose: str
    idnr: str | None
    message_id: str
    outcome: str


def _source_for(kind: RegisterKind, store: PopulationStore, spec: RegisterSpec) -> EvidenceSource:
    if kind == "melderegister":
        return MelderegisterSource(store, spec)
    if kind == "personenstandsregister":
        return PersonenstandsregisterSource(store)
    if kind == "kba":
        return FahrzeugregisterSource(store)
    return HandelsregisterSource(store)


class RegisterService:
    """One running register: its identity, data, log, announced answers and faults."""

    def __init__(
        self,
        settings: RegisterSettings,
        *,
        kind: RegisterKind | None = None,
        topology: Topology | None = None,
        clock: Clock | None = None,
        participant: Participant | None = None,
        population: PopulationStore | None = None,
        protocol_log: ProtocolLog | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.topology = topology or settings.load_topology()
        self.spec = settings.register_spec(self.topology, kind)
        self.clock = clock or settings.clock()
        self.sleep = sleep
        self.sak_id = self.topology.sak_id(self.spec.participant_id)
        # Checked before anything is opened: a plan it cannot carry out stops the start.
        self.faults = FaultInjector(settings.faults if not settings.strict else FaultPlan())
        self.check_plan(self.faults.baseline)
        self.participant = participant or load_participant(
            settings.pki_dir, self.spec.participant_id, clock=self.clock
        )
        if self.participant.participant_id != self.spec.participant_id:
            raise ConfigurationError("the credential belongs to another participant")
        self.register = Register(
            participant_id=self.spec.participant_id,
            name=self.spec.name,
            evidence_types=tuple(self.topology.evidence_type(n) for n in self.spec.evidence_types),
            allow_test_numbers=not settings.strict,
        )
        self._owns_population = population is None
        self.population = population or PopulationStore(settings.population_path)
        self.source = _source_for(self.spec.kind, self.population, self.spec)
        self._owns_log = protocol_log is None
        if protocol_log is None:
            protocol_log = open_protocol_log(
                settings.protocol_log_target(self.spec.participant_id, self.topology),
                party=self.spec.participant_id,
                clock=self.clock,
            )
        self.protocol_log = protocol_log
        self.state = StateFile(settings.state_path(self.spec.participant_id))
        self.pending = PendingRequests(settings.pending_limit, AnnouncementJournal(self.state))
        # Only its own SAK hands the register requests: with an IAM access token for it.
        self.access = AccessTokenVerifier(
            self.participant.validator,
            iam_id=self.topology.platform.iam_id,
            audience=self.spec.participant_id,
            clock=self.clock,
        )

    def close(self) -> None:
        self.state.close()
        if self._owns_log:
            self.protocol_log.close()
        if self._owns_population:
            self.population.close()

    # -- faults

    def check_plan(self, plan: FaultPlan) -> None:
        """Refuse a plan this register cannot carry out: it answers the bare 0102/0103, so the
        faults of a signed answer belong to its SAK."""
        theirs = sorted(f.value for f in SIGNATURE_FAULTS if plan.rates.get(f, 0) > 0)
        if theirs:
            raise ConfigurationError(
                f"{', '.join(theirs)}: a fault of the signed answer, which {self.sak_id} signs; "
                f"switch it on at {self.sak_id}'s /admin/v1/faults"
            )

    # -- the pipeline: decided on the event loop, logged in a worker thread

    async def handle_delivered(
        self,
        raw: bytes,
        headers: Mapping[str, str],
        *,
        body_error: NootsError | None,
        inject_error: bool,
    ) -> Outcome:
        """One 0101 handed over by this register's SAK (push or passive): decided, and
        logged before the answer may leave. The decision (read, authorise, match, build) is
        CPU-bound Python and runs on the event loop: a worker thread would add hand-offs and
        lock convoys, no parallelism. Only the protocol log, which waits on fsync or on a
        database, goes to a worker thread (:meth:`record`)."""
        with trace.span(
            Hop.SAK_DP,
            self.register.participant_id,
            peer=self.sak_id,
            title="Anfrage prüfen und beantworten",
        ):
            decided = self._handle_delivered(
                raw, headers, body_error=body_error, inject_error=inject_error
            )
            return await run_in_threadpool(self.record, decided)

    def _handle_delivered(
        self,
        raw: bytes,
        headers: Mapping[str, str],
        *,
        body_error: NootsError | None,
        inject_error: bool,
    ) -> Outcome:
        verified: VerifiedRequest | None = None
        authorised: AuthorisedRequest | None = None
        read: NationalOrEuRequest | None = None
        try:
            if body_error is not None:
                raise body_error
            trace.step("0101 vom eigenen SAK, an dieses Register, Absender laut SAK")
            with contextlib.suppress(NootsError):
                parsed = messages.parse(parse_xml(raw), messages.ANY)
                read = (
                    parsed
                    if isinstance(parsed, messages.EvidenceRequest | messages.EuEvidenceRequest)
                    else None
                )
            metadata = ProviderMetadata.from_headers(headers)
            verified = accept_request(raw, metadata, register=self.register)
            trace.bind(str(verified.request.request_id))
            trace.note(envelope_id=str(verified.message_id))
            if inject_error:
                trace.step("Simulierte Störung: interner Fehler")
                raise QueryError("fault injection: internal error")
            trace.step("VS-Token: Siegel, Ablauf, Partner, Zweck, Nachweistyp, Anfrage-Hash")
            authorised = authorise(
                verified,
                verifier=self.participant.verifier,
                clock=self.clock,
                register=self.register,
            )
            return self._answer(authorised)
        except NootsError as error:
            trace.fail(error)
            return self._refuse(error, verified, authorised, read)
        except Exception as error:
            log.exception("internal error while answering an evidence request")
            trace.fail(error)
            return self._refuse(QueryError("internal error"), verified, authorised, read)

    def answer_bytes(self, outcome: Outcome, fault: Fault | None) -> bytes:
        """The bare 0102/0103 for the register's SAK, which signs it."""
        verified = outcome.verified
        with trace.span(
            Hop.DP_SAK,
            self.register.participant_id,
            trace_id=str(verified.request.request_id) if verified is not None else None,
            peer=self.sak_id,
            title=f"Antwort an den eigenen SAK ({outcome.outcome})",
        ):
            if fault is not None:
                trace.check("Register arbeitet ohne Störung", False, f"simuliert: {fault.value}")
            body = serialize(messages.build(outcome.message))
            trace.attach("Antwort des Registers (0102/0103)", body)
            if fault is Fault.MALFORMED:
                return truncate(body)
            return body

    def _answer(self, authorised: AuthorisedRequest) -> Outcome:
        if isinstance(authorised.request, messages.EuEvidenceRequest):
            trace.step("Nachweistyp wird an EU-Anfragende abgegeben (ohne IDNr)")
            if self.spec.kind not in _ABROAD:
                raise UnsupportedEvidenceType(
                    "this evidence type is not provided to EU evidence requesters (its "
                    "document carries the IDNr)"
                )
        trace.step("IDNr gültig, Nachweissubjekt passt zum Nachweistyp")
        query = subject_query(authorised, register=self.register)
        trace.step("Person eindeutig gefunden (sonst: kein Nachweis, wie bei Auskunftssperre)")
        matched = match_subject(authorised, query, self.source.candidates(query))
        trace.step("Nachweis erstellt")
        behaviour = behaviour_of(matched.idnr) if matched.idnr is not None else Behaviour.NORMAL
        person = identity(matched.idnr) if matched.idnr is not None else None
        if behaviour is Behaviour.INTERNAL_ERROR:
            raise QueryError("internal error of the register (behaviour identity)")
        delay: timedelta | None = None
        if behaviour is Behaviour.ASYNCHRONOUS:
            seconds = self.settings.async_delay_seconds
            if seconds is not None:
                delay = timedelta(seconds=seconds)
            elif person is not None:
                delay = person.delay
        key = (authorised.verified.consumer, authorised.request.request_id)
        now = self.clock.now()
        decision = decide(matched, now=now, announced=self.pending.get(key), delay=delay)
        if isinstance(decision, Pending):
            trace.check("Nachweis angekündigt (ResponseAvailableDateTime)", True)
            self.pending.put(key, decision.available_at)
            message: RegisterAnswer = answer_pending(matched, decision, clock=self.clock)
            return self._logged(Outcome(message, authorised.verified, "pending"), authorised)
        evidence = self.source.document(matched.candidate, issued_at=now)
        if isinstance(authorised.request, messages.EuEvidenceRequest):
            evidence = _for_abroad(evidence)
        document = documents.render(evidence)
        message = answer_with_document(matched, document, register=self.register, clock=self.clock)
        slow = 0.0
        if behaviour is Behaviour.SLOW:
            configured = self.settings.slow_delay_seconds
            if configured is not None:
                slow = configured
            elif person is not None and person.delay is not None:
                slow = person.delay.total_seconds()
        delivered = Outcome(message, authorised.verified, "delivered", slow, settles=key)
        return self._logged(delivered, authorised)

    def _refuse(
        self,
        error: NootsError,
        verified: VerifiedRequest | None,
        authorised: AuthorisedRequest | None,
        read: NationalOrEuRequest | None = None,
    ) -> Outcome:
        message = refusal(
            error, verified=verified, register=self.register, clock=self.clock, request=read
        )
        return self._logged(Outcome(message, verified, f"refused:{error.code.value}"), authorised)

    def _logged(self, outcome: Outcome, authorised: AuthorisedRequest | None) -> Outcome:
        """DP-12: every answer to an authenticated request needs its protocol entry, written by
        :meth:`record` before the answer leaves."""
        verified = outcome.verified
        if verified is None:
            log.info("refused an unauthenticated request: %s", outcome.outcome)
            return outcome
        request = verified.request
        subject = request.subject
        idnr = subject.idnr if isinstance(subject, messages.NaturalPerson) else None
        if idnr is not None and not idnr_rules.is_valid(
            idnr, allow_test_numbers=self.register.allow_test_numbers
        ):
            idnr = None  # an invalid number is nobody's: nothing to show in a cockpit
        evidence_type = (
            authorised.evidence_type.name
            if authorised is not None
            else request.evidence_type.classification
        )
        consumer = verified.consumer
        if isinstance(request, messages.EuEvidenceRequest):
            # § 9 IDNrG logging names who receives the data: the EU authority (its EAS code
            # and identifier), not the IP that carries the request.
            requester = request.requester
            consumer = f"{requester.scheme_id.rpartition(':')[2]}:{requester.identifier}"
        entry = ProtocolEntryDraft(
            consumer=consumer,
            provider=self.register.participant_id,
            evidence_type=evidence_type,
            purpose=verified.purpose or "-",
            idnr=idnr,
            message_id=f"urn:uuid:{request.request_id}",
            outcome=outcome.outcome,
        )
        return dataclasses.replace(outcome, entry=entry)

    def record(self, outcome: Outcome) -> Outcome:
        """Write the outcome's protocol entry. A delivery that cannot be logged is not
        delivered (fail closed): it becomes a refusal."""
        entry, verified = outcome.entry, outcome.verified
        if entry is None or verified is None:
            return outcome
        trace.step("Übermittlung protokolliert (§ 9 IDNrG)")
        try:
            self.protocol_log.append(
                consumer=entry.consumer,
                provider=entry.provider,
                evidence_type=entry.evidence_type,
                purpose=entry.purpose,
                idnr=entry.idnr,
                message_id=entry.message_id,
                outcome=entry.outcome,
            )
        except Exception as error:
            log.exception("protocol log unavailable")
            trace.fail(error)
            if not outcome.outcome.startswith("refused:"):
                error = QueryError("the transfer could not be logged")
                message = refusal(
                    error, verified=verified, register=self.register, clock=self.clock
                )
                return Outcome(message, verified, f"refused:{error.code.value}")
            return outcome
        if outcome.settles is not None and outcome.outcome == "delivered":
            self.pending.discard(outcome.settles)
        return outcome

    # -- health

    def health(self) -> tuple[bool, dict[str, Any]]:
        checks: dict[str, str] = {}
        try:
            self.participant.validator.validate(
                self.participant.credential.certificate, required_role=Role.PROVIDER
            )
            checks["certificate"] = "ok"
        except NootsError as error:
            checks["certificate"] = f"failed: {error.message}"
        try:
            self.population.meta()
            checks["population"] = "ok"
        except Exception as error:  # any failure to read is "degraded", whatever its kind
            checks["population"] = f"failed: {type(error).__name__}"
        healthy = all(value == "ok" for value in checks.values())
        return healthy, {
            "status": "healthy" if healthy else "degraded",
            "participant": self.register.participant_id,
            "kind": self.spec.kind,
            "region": self.spec.region,
            "evidence_types": list(self.spec.evidence_types),
            "time": format_utc(self.clock.now(), millis=True),
            "checks": checks,
        }


#: Registers whose documents can go abroad: the IDNr is never passed to an EU requester, and
#: the Meldebescheinigung and the Fahrzeughalterauskunft require it (their schemas).
_ABROAD = frozenset({"personenstandsregister", "handelsregister"})


def _for_abroad(evidence: documents.EvidenceDocument) -> documents.EvidenceDocument:
    """The document for an EU evidence requester (0301), without the IDNr."""
    if isinstance(evidence, documents.Geburtsurkunde):
        return dataclasses.replace(evidence, idnr=None)
    return evidence


# -- the HTTP edge -----------------------------------------------------------------------------


async def read_body(request: Request) -> tuple[bytes, NootsError | None]:
    """The body, or an error once it is larger than the parser accepts (the rest is not
    read: nothing of an oversize body is worth keeping)."""
    limit = DEFAULT_LIMITS.max_bytes
    kept: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return b"", XmlTooLarge(f"body exceeds the limit of {limit} bytes")
        kept.append(chunk)
    return b"".join(kept), None


def _service(request: Request) -> RegisterService:
    service: RegisterService = request.app.state.register
    return service


ServiceDep = Annotated[RegisterService, Depends(_service)]


def create_register_app(
    settings: RegisterSettings,
    *,
    kind: RegisterKind | None = None,
    topology: Topology | None = None,
    clock: Clock | None = None,
    participant: Participant | None = None,
    population: PopulationStore | None = None,
    protocol_log: ProtocolLog | None = None,
    sleep: Sleep = asyncio.sleep,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The FastAPI app of one register. The keyword arguments replace what would otherwise be
    loaded from ``settings`` (tests inject a manual clock or a shared population);
    ``transport`` carries the calls of a passive register to its SAK."""
    service = RegisterService(
        settings,
        kind=kind,
        topology=topology,
        clock=clock,
        participant=participant,
        population=population,
        protocol_log=protocol_log,
        sleep=sleep,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        poller: PassivePoller | None = getattr(app.state, "poller", None)
        if poller is not None:
            poller.start()
        try:
            yield
        finally:
            if poller is not None:
                await poller.stop()
            service.close()

    app = FastAPI(
        title=service.spec.name,
        summary=f"noots data provider {service.spec.participant_id} ({service.spec.kind})",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.register = service

    @app.post(PROVIDER_REQUESTS_PATH, response_class=Response)
    async def provider_request(request: Request, service: ServiceDep) -> Response:
        """Push mode: the register's SAK hands over one 0101 with its metadata."""
        refused = _refuse_unless_own_sak(request, service)
        if refused is not None:
            return refused
        raw, body_error = await read_body(request)
        decision: FaultDecision = service.faults.decide()
        if decision.delay_seconds > 0:
            await service.sleep(decision.delay_seconds)
        if decision.fault is Fault.TIMEOUT:
            await hang(request, decision.hang_seconds, service.sleep)
            return DroppedResponse()
        if decision.fault is Fault.DROP:
            return DroppedResponse()
        status, body = await _answer_delivered(service, raw, request.headers, body_error, decision)
        return Response(body, status_code=status, media_type=XML_MEDIA_TYPE)

    if service.spec.sak.mode == "passive":
        app.state.poller = PassivePoller(service, transport=transport)

    @app.get(PROVIDER_TRANSFERS_PATH)
    async def transfers(
        request: Request,
        service: ServiceDep,
        request_id: Annotated[str, Query(alias="requestId", min_length=1, max_length=128)],
    ) -> JSONResponse:
        """The protocol export: what this register logged for one request id (§ 9 IDNrG),
        for its own SAK only. The conformance suite reads it here (DP-12); the
        Datenschutzcockpit reads the landscape's log stores instead (docs/SAK.md)."""
        refused = _refuse_unless_own_sak(request, service)
        if refused is not None:
            return refused
        entries = await run_in_threadpool(service.protocol_log.transfer, request_id)
        return JSONResponse(
            {"requestId": request_id, "transfers": [_transfer_json(e) for e in entries]},
            headers={"Cache-Control": "no-store"},
        )

    @app.get("/health")
    async def health(service: ServiceDep) -> JSONResponse:
        healthy, body = await run_in_threadpool(service.health)
        return JSONResponse(body, status_code=200 if healthy else 503)

    if not settings.strict and settings.admin_token is not None:
        add_fault_admin(app, settings.admin_token.get_secret_value(), _service)
    return app


def _refuse_unless_own_sak(request: Request, service: RegisterService) -> JSONResponse | None:
    """None for a call of this register's own SAK (its access token, and with TLS its
    certificate); the refusal (401/403 with ``WWW-Authenticate``) for anybody else."""
    try:
        service.access.verify_caller(
            request.headers.get("authorization"),
            role=Role.SAK,
            subject=service.sak_id,
            acts_for=service.register.participant_id,
        )
        TlsPeer.of(request.scope).check(service.sak_id, component=service.register.participant_id)
    except NootsError as error:
        return JSONResponse(
            {"code": error.code.value, "detail": error.message},
            status_code=error.code.http_status,
            headers={"WWW-Authenticate": bearer_challenge(error)},
        )
    return None


def _transfer_json(entry: ProtocolEntry) -> dict[str, Any]:
    """One protocol entry as the export shows it (docs/SAK.md, "Protocol export")."""
    return {
        "requestId": entry.message_id,
        "loggedAt": format_utc(entry.recorded_at, millis=True),
        "consumer": entry.consumer,
        "provider": entry.provider,
        "evidenceType": entry.evidence_type,
        "purpose": entry.purpose,
        "idnr": entry.idnr,
        "outcome": entry.outcome,
    }


async def _answer_delivered(
    service: RegisterService,
    raw: bytes,
    headers: Mapping[str, str],
    body_error: NootsError | None,
    decision: FaultDecision,
) -> tuple[int, bytes]:
    """The register's answer to a 0101 from its SAK: HTTP status and the bare 0102/0103."""
    outcome = await service.handle_delivered(
        raw, headers, body_error=body_error, inject_error=decision.fault is Fault.ERROR
    )
    if outcome.delay > 0:
        await service.sleep(outcome.delay)
    body = service.answer_bytes(outcome, decision.fault)
    status = 200 if decision.fault is Fault.MALFORMED else http_status(outcome.message)
    return status, body


class PassivePoller:
    """Passive mode: the register fetches pending requests from its SAK (long poll) and posts
    each answer back. Each fetched request is answered in its own task, at most
    ``max_in_flight`` at a time, so a slow answer never holds up the next fetch."""

    def __init__(
        self,
        service: RegisterService,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        wait_seconds: float = 20.0,
        max_in_flight: int = 32,
    ) -> None:
        self.service = service
        self.base = service.topology.base_url(service.sak_id, tls=service.settings.tls)
        self.http = httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(None))
        topology = service.topology
        self.tokens = AccessTokenSource(
            service.participant.credential,
            iam_url=topology.base_url("platform", tls=service.settings.tls),
            iam_id=topology.platform.iam_id,
            clock=service.clock,
            http=self.http,
        )
        self.wait_seconds = wait_seconds
        self._slots = asyncio.Semaphore(max_in_flight)
        self._task: asyncio.Task[None] | None = None
        self._answers: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="passive-poller")

    async def stop(self) -> None:
        for task in (self._task, *self._answers):
            if task is not None:
                task.cancel()
        for task in (self._task, *self._answers):
            if task is not None:
                with contextlib.suppress(BaseException):
                    await task
        await self.http.aclose()

    async def _run(self) -> None:
        url = self.base + PROVIDER_REQUESTS_PATH
        pause = 0.2
        while True:
            await self._slots.acquire()
            try:
                response = await self.http.get(
                    url,
                    params={"wait": self.wait_seconds},
                    headers=await self.tokens.authorization(self.service.sak_id),
                    timeout=self.wait_seconds + 10,
                )
            except (httpx.HTTPError, NootsError) as error:
                self._slots.release()
                log.warning("cannot fetch requests from %s: %r", url, error)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)
                continue
            pause = 0.2
            if response.status_code != 200:
                self._slots.release()
                if response.status_code == 401:
                    self.tokens.invalidate(self.service.sak_id)
                if response.status_code != 204:
                    log.warning("%s answered HTTP %d", url, response.status_code)
                    await asyncio.sleep(1.0)
                continue
            task = asyncio.create_task(self._answer(response.content, response.headers))
            self._answers.add(task)
            task.add_done_callback(self._answers.discard)

    async def _answer(self, raw: bytes, headers: Mapping[str, str]) -> None:
        service = self.service
        try:
            body_error = None
            if len(raw) > DEFAULT_LIMITS.max_bytes:
                raw, body_error = b"", XmlTooLarge("the request exceeds the parser's limit")
            decision = service.faults.decide()
            if decision.delay_seconds > 0:
                await service.sleep(decision.delay_seconds)
            if decision.fault in (Fault.TIMEOUT, Fault.DROP):
                return  # never answered: the SAK's wait runs out
            status, body = await _answer_delivered(service, raw, headers, body_error, decision)
            delivery = headers.get(SakHeader.DELIVERY_ID, "")
            answer_url = self.base + PROVIDER_ANSWER_PATH.format(delivery_id=delivery)
            headers = {
                "Content-Type": XML_MEDIA_TYPE,
                **await self.tokens.authorization(service.sak_id),
            }
            response = await self.http.post(answer_url, content=body, headers=headers, timeout=30)
            if response.status_code >= 300:
                log.warning("answer %s (HTTP %d) refused: %s", delivery, status, response.text)
        except (httpx.HTTPError, NootsError) as error:
            log.warning("cannot post an answer to the SAK: %r", error)
        except Exception:
            log.exception("internal error while answering a fetched request")
        finally:
            self._slots.release()
