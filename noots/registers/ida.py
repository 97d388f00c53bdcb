"""The IDM für Personen (IDA): basic data → IDNr, and IDNr → basic data (§ 6 (3) IDNrG).

``POST /ida/v1/lookup`` takes an ``ida:LookupRequest`` (wire format: :mod:`noots.ida`) from an
online service that presents its IAM access token for the IDA (role ``consumer``; with TLS
also its certificate), and answers the ``ida:LookupResult`` or an ``env:Error``. No unique
match gives no data, and a person with an information block gets exactly the answer of an
unknown person. Every answer to an authenticated request is in the IDA's protocol log, under
the look-up's ``Noots-Message-Id`` (the id the online service logs it under too); the process
log names outcomes only, never the data asked for.
"""

from __future__ import annotations

import functools
import logging
import unicodedata
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from lxml import etree
from starlette.concurrency import run_in_threadpool

from noots import ida
from noots import idnr as idnr_rules
from noots.access import AccessTokenVerifier, bearer_challenge
from noots.clock import Clock, format_utc
from noots.envelope import error_body
from noots.errors import (
    EdmCode,
    NootsError,
    NotFound,
    PersonNotFound,
    QueryError,
)
from noots.health import problem_of
from noots.participant import Participant, load_participant
from noots.pki import Role
from noots.protocol import ProtocolLog, open_protocol_log
from noots.registers._pipeline import error_detail
from noots.registers._service import XML_MEDIA_TYPE, read_body
from noots.registers.settings import ProviderSettings
from noots.sak import Header as SakHeader
from noots.sak import decode_value
from noots.settings import load_settings
from noots.synthetic.population import Person, PopulationStore
from noots.tls import NO_TLS, TlsPeer
from noots.topology import Topology
from noots.xml import parse as parse_xml
from noots.xml import serialize

__all__ = ["IdaService", "IdaSettings", "create_app", "create_ida_app", "match_person"]

log = logging.getLogger("noots.ida")

#: What the protocol log names as the "evidence type" of a look-up.
LOG_EVIDENCE_TYPE = "IDNr"


class IdaSettings(ProviderSettings):
    """Settings of the IDA (``NOOTS_*``); its participant id comes from the topology."""


# -- the pure part ----------------------------------------------------------------------------


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def match_person(query: ida.LookupQuery, candidates: list[Person]) -> Person:
    """The one person ``query`` names, or :class:`PersonNotFound` (none, several, blocked).

    The candidates come from an index search; the rules are applied here again, normalised,
    so the decision does not depend on how the store searched.
    """
    found: list[Person] = []
    for person in candidates:
        if person.date_of_birth != query.date_of_birth:
            continue
        if isinstance(query, ida.ByIdnr):
            if person.idnr == query.idnr:
                found.append(person)
            continue
        if _norm(query.family_name) != _norm(person.family_name):
            continue
        if isinstance(query, ida.ByAddress):
            if person.postcode == query.postcode and _norm(person.city) == _norm(query.place):
                found.append(person)
        elif set(_norm(query.given_name).split()) <= set(_norm(person.given_names).split()):
            found.append(person)
    if len(found) != 1 or found[0].information_block:
        raise PersonNotFound(ida.NOT_UNIQUE_DETAIL)
    return found[0]


def result_for(query: ida.LookupQuery, person: Person) -> ida.LookupResult:
    """Only the IDNr for a query by basic data; the other basic data for a query by IDNr."""
    if not isinstance(query, ida.ByIdnr):
        return ida.LookupResult(person.idnr)
    return ida.LookupResult(
        person.idnr,
        ida.BasicData(
            family_name=person.family_name,
            birth_name=person.birth_name,
            given_names=person.given_names,
            date_of_birth=person.date_of_birth,
            place_of_birth=person.place_of_birth,
            sex=person.sex,
            address=ida.PostalAddress(
                person.street, person.house_number, person.postcode, person.city
            ),
        ),
    )


# -- the service ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Answer:
    body: etree._Element
    status: int
    #: The access token's refusal, for the ``WWW-Authenticate`` header of a 401/403.
    challenge: str | None = None


class IdaService:
    def __init__(
        self,
        settings: IdaSettings,
        *,
        topology: Topology | None = None,
        clock: Clock | None = None,
        participant: Participant | None = None,
        population: PopulationStore | None = None,
        protocol_log: ProtocolLog | None = None,
    ) -> None:
        self.settings = settings
        self.topology = topology or settings.load_topology()
        self.participant_id = self.topology.ida.participant_id
        self.clock = clock or settings.clock()
        self.participant = participant or load_participant(
            settings.pki_dir, self.participant_id, clock=self.clock
        )
        self.allow_test_numbers = not settings.strict
        self._owns_population = population is None
        self.population = population or PopulationStore(settings.population_path)
        self._owns_log = protocol_log is None
        if protocol_log is None:
            protocol_log = open_protocol_log(
                settings.protocol_log_target(self.participant_id, self.topology),
                party=self.participant_id,
                clock=self.clock,
            )
        self.protocol_log = protocol_log
        self.access = AccessTokenVerifier(
            self.participant.validator,
            iam_id=self.topology.platform.iam_id,
            audience=self.participant_id,
            clock=self.clock,
        )

    def close(self) -> None:
        if self._owns_log:
            self.protocol_log.close()
        if self._owns_population:
            self.population.close()

    def _candidates(self, query: ida.LookupQuery) -> list[Person]:
        store = self.population
        if isinstance(query, ida.ByIdnr):
            person = store.person_by_idnr(query.idnr)
            return [person] if person is not None else []
        if isinstance(query, ida.ByAddress):
            return store.find_by_address(
                query.family_name, query.date_of_birth, query.postcode, query.place
            )
        found = store.find_by_name(query.family_name, query.given_name, query.date_of_birth)
        return found

    def handle(
        self,
        raw: bytes,
        body_error: NootsError | None,
        *,
        authorization: str | None,
        message_id: str | None = None,
        purpose: str | None = None,
        peer: TlsPeer = NO_TLS,
    ) -> _Answer:
        """One look-up: the caller's access token first (nothing is read before it holds),
        then the query, the match, the protocol entry, the answer."""
        consumer: str | None = None
        found: Person | None = None
        try:
            grant = self.access.verify_authorization(authorization, roles=(Role.CONSUMER,))
            consumer = grant.subject
            # With mutual TLS the connecting participant must be the token's (noots.tls).
            peer.check(consumer, component=self.participant_id)
        except NootsError as error:
            log.info("look-up refused: %s", error.code.value)
            return self._refusal(error, challenge=bearer_challenge(error))
        look_up = _look_up_id(message_id)
        try:
            if body_error is not None:
                raise body_error
            query = ida.parse_query(parse_xml(raw))
            if isinstance(query, ida.ByIdnr):
                idnr_rules.validate(query.idnr, allow_test_numbers=self.allow_test_numbers)
            found = match_person(query, self._candidates(query))
            answer = _Answer(ida.build_result(result_for(query, found)), 200)
            outcome = "delivered"
        except NootsError as error:
            answer = self._refusal(error)
            outcome = f"refused:{error.code.value}"
            found = None
        except Exception:
            log.exception("internal error of the IDNr look-up")
            answer = self._refusal(QueryError("internal error"))
            outcome = f"refused:{EdmCode.QUERY_ERROR.value}"
        log.info("look-up %s", outcome)
        try:
            self.protocol_log.append(
                consumer=consumer,
                provider=self.participant_id,
                evidence_type=LOG_EVIDENCE_TYPE,
                purpose=purpose or "-",
                idnr=found.idnr if found is not None else None,
                message_id=f"urn:uuid:{look_up}",
                outcome=outcome,
            )
        except Exception:
            log.exception("protocol log unavailable")
            if outcome == "delivered":
                return self._refusal(QueryError("the look-up could not be logged"))
        return answer

    def _refusal(self, error: NootsError, *, challenge: str | None = None) -> _Answer:
        detail = ida.NOT_UNIQUE_DETAIL if isinstance(error, NotFound) else error_detail(error)
        body = error_body(error.code, detail, self.participant_id)
        return _Answer(body, error.code.http_status, challenge)

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Healthy when the IDA's own certificate is valid now (not revoked, not expired) and
        the population can be read; each problem named in German and English."""
        checks: dict[str, str] = {}
        problems: list[str] = []
        certificates: list[dict[str, Any]] = []
        try:
            self.participant.validator.validate(
                self.participant.credential.certificate, required_role=Role.IDA
            )
            checks["certificate"] = "ok"
        except NootsError as error:
            problem = problem_of(self.participant_id, "IDM für Personen", error)
            checks["certificate"] = f"failed: {problem.english}"
            problems.append(problem.text)
            certificates.append(problem.to_json())
        try:
            self.population.meta()
            checks["population"] = "ok"
        except Exception as error:  # any failure to read is "degraded"
            checks["population"] = f"failed: {type(error).__name__}"
            problems.append(
                "Bevölkerungsdaten nicht lesbar / population cannot be read: "
                + type(error).__name__
            )
        healthy = all(value == "ok" for value in checks.values())
        return healthy, {
            "status": "healthy" if healthy else "degraded",
            "participant": self.participant_id,
            "time": format_utc(self.clock.now(), millis=True),
            "checks": checks,
            "problems": problems,
            "certificates": certificates,
        }


def _look_up_id(value: str | None) -> uuid.UUID:
    """The id the online service names its look-up by (``Noots-Message-Id``), else a new one."""
    try:
        return uuid.UUID(value) if value else uuid.uuid4()
    except ValueError:
        return uuid.uuid4()


def _decoded(value: str) -> str | None:
    try:
        return decode_value(value)
    except NootsError:
        return None


def _service(request: Request) -> IdaService:
    service: IdaService = request.app.state.ida
    return service


ServiceDep = Annotated[IdaService, Depends(_service)]


def create_ida_app(
    settings: IdaSettings | None = None,
    *,
    topology: Topology | None = None,
    clock: Clock | None = None,
    participant: Participant | None = None,
    population: PopulationStore | None = None,
    protocol_log: ProtocolLog | None = None,
) -> FastAPI:
    """The IDA app; the keyword arguments replace what would be loaded from ``settings``."""
    service = IdaService(
        settings or load_settings(IdaSettings),
        topology=topology,
        clock=clock,
        participant=participant,
        population=population,
        protocol_log=protocol_log,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()

    app = FastAPI(
        title="IDM für Personen (IDNr-Abruf)",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.ida = service

    @app.post(ida.LOOKUP_PATH, response_class=Response)
    async def lookup(request: Request, service: ServiceDep) -> Response:
        raw, body_error = await read_body(request)
        headers = request.headers
        purpose = headers.get(SakHeader.PURPOSE)
        answer = await run_in_threadpool(
            functools.partial(
                service.handle,
                raw,
                body_error,
                authorization=headers.get("authorization"),
                message_id=headers.get(SakHeader.MESSAGE_ID),
                purpose=None if purpose is None else _decoded(purpose),
                peer=TlsPeer.of(request.scope),
            )
        )
        extra = {"WWW-Authenticate": answer.challenge} if answer.challenge else {}
        return Response(
            serialize(answer.body),
            status_code=answer.status,
            media_type=XML_MEDIA_TYPE,
            headers=extra,
        )

    @app.get("/health")
    async def health(service: ServiceDep) -> JSONResponse:
        healthy, body = await run_in_threadpool(service.health)
        return JSONResponse(body, status_code=200 if healthy else 503)

    return app


create_app = create_ida_app
