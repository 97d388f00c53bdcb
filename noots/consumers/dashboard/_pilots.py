"""Pilot flows run from the dashboard: one online service, one test identity, every evidence
the service needs, fetched through the client library as that service's participant.

Two pilots cross the EU border through the Intermediäre Plattform (docs/EU.md): the
"Ausländischer Hochschulabschluss" (the ZAB orders the degree from Vienna: 0401, the citizen,
simulated here, at the IP and in the Austrian preview space, 0411) and the "Geburtsurkunde für
eine französische Behörde" (the Mairie de Lyon's requester asks the IP, the user approves the
preview at the IP, the requester asks again).

Each run is a :func:`noots.trace.flow` whose sink is the dashboard's own log, so the hops the
client library records appear in the live view at once; the SAKs' and the registers' hops
arrive through the collector under the same request ids. The run itself (started, one result
per evidence, finished) is published to the same log as ``run`` notices.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx

from noots import trace
from noots.consumers._client import AsyncClient, Endpoints
from noots.consumers._eu import EuEvidencePending
from noots.consumers._eu_citizen import ask_from_member_state, walk_citizen
from noots.consumers._explain import ExchangeContext, explain
from noots.consumers._person import PersonQuery, company
from noots.consumers._retry import RetryPolicy
from noots.consumers.dashboard._events import EventLog, LocalSink
from noots.consumers.demo import SERVICES, EvidenceNeed, ServiceKind
from noots.consumers.demo._services import EuOrder
from noots.errors import (
    ConfigurationError,
    InvalidInput,
    NootsError,
    UpstreamError,
    error_for_code,
)
from noots.participant import Participant, load_participant
from noots.paths import LandscapePaths
from noots.protocol import ProtocolLog, open_protocol_log
from noots.settings import NootsSettings
from noots.synthetic.identities import BEHAVIOUR_IDENTITIES, DEMO_COMPANY, BehaviourIdentity
from noots.topology import ConsumerSpec, Topology

__all__ = [
    "BEHAVIOUR_DE",
    "EU_BIRTH_PILOT",
    "Pilot",
    "PilotRunner",
    "Run",
    "identities",
    "pilots",
]

BEHAVIOUR_DE = {
    "normal": "Normalfall",
    "not_found": "nicht gefunden",
    "information_block": "Auskunftssperre",
    "ambiguous": "mehrdeutig",
    "slow": "langsam",
    "asynchronous": "asynchron",
    "internal_error": "interner Fehler",
    "no_vehicle": "kein Fahrzeug",
    "deceased": "verstorben",
    "moved_away": "weggezogen",
}
_MAX_RUNS = 50
_MAX_ROWS = 14

ResultState = Literal["wartet", "läuft", "geliefert", "angekündigt", "fehlgeschlagen"]


#: Use case 3 as a pilot: not an online service of the landscape, the EU requester asks.
EU_BIRTH_PILOT = "eu-geburtsurkunde"
_EU_BIRTH_SERVICE = ServiceKind(
    kind=EU_BIRTH_PILOT,
    title="Geburtsurkunde für eine französische Behörde",
    intro="Die Mairie de Lyon fragt über die Intermediäre Plattform eine Geburtsurkunde an.",
    outcome="",
    needs=(
        EvidenceNeed(
            "Geburtsurkunde",
            "Geburtsurkunde für die Mairie de Lyon",
            "EU-Anfrage (EDM) über die Intermediäre Plattform",
        ),
    ),
)


@dataclass(frozen=True)
class Pilot:
    """A pilot flow: the online service of the topology that runs it, or (use case 3) the
    simulated EU requester."""

    kind: str
    service: ServiceKind
    consumer: ConsumerSpec | None
    #: Use case 3: the member state's requester (participant id and name) that asks.
    requester: tuple[str, str] | None = None

    @property
    def title(self) -> str:
        if any(need.eu is not None for need in self.service.needs):
            return "Ausländischer Hochschulabschluss"
        return self.service.title

    @property
    def party_id(self) -> str:
        """Who asks: the online service, or the EU requester."""
        if self.consumer is not None:
            return self.consumer.participant_id
        assert self.requester is not None
        return self.requester[0]

    @property
    def party_name(self) -> str:
        if self.consumer is not None:
            return self.consumer.name
        assert self.requester is not None
        return self.requester[1]


def pilots(topology: Topology) -> list[Pilot]:
    """One pilot per online service of the topology whose kind has a demo service, and the
    EU requester's pilot where the landscape simulates the EU side."""
    found = [Pilot(c.kind, SERVICES[c.kind], c) for c in topology.consumers if c.kind in SERVICES]
    eu = topology.eu
    if eu is not None and topology.intermediary_platform is not None:
        requester = topology.participant(eu.requester.participant_id)
        found.append(
            Pilot(
                EU_BIRTH_PILOT,
                _EU_BIRTH_SERVICE,
                None,
                (requester.participant_id, "Mairie de Lyon (Frankreich, simuliert)"),
            )
        )
    return found


def identities() -> list[dict[str, str]]:
    """The test identities to choose from, the behaviour-driving ones included."""
    return [
        {
            "idnr": i.idnr,
            "name": f"{i.given_names} {i.family_name}",
            "behaviour": i.behaviour.value,
            "behaviourDe": BEHAVIOUR_DE.get(i.behaviour.value, i.behaviour.value),
            "description": i.description,
        }
        for i in BEHAVIOUR_IDENTITIES
    ]


def _identity(idnr: str) -> BehaviourIdentity:
    for candidate in BEHAVIOUR_IDENTITIES:
        if candidate.idnr == idnr:
            return candidate
    raise InvalidInput("unknown test identity")


def _child_of(parent: BehaviourIdentity) -> BehaviourIdentity | None:
    for candidate in BEHAVIOUR_IDENTITIES:
        given, family = candidate.mother
        if candidate is not parent and given == parent.given_names and family == parent.family_name:
            return candidate
    return None


def _query(person: BehaviourIdentity) -> PersonQuery:
    return PersonQuery(person.given_names, person.family_name, person.date_of_birth)


@dataclass
class Result:
    need: EvidenceNeed
    subject: str
    state: ResultState = "wartet"
    text: str = ""
    fix: str = ""
    code: str | None = None
    provider: str | None = None
    request_id: str | None = None
    rows: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "evidenceType": self.need.evidence_type,
            "label": self.need.label,
            "subject": self.subject,
            "state": self.state,
            "text": self.text,
            "fix": self.fix,
            "code": self.code,
            "provider": self.provider,
            "requestId": self.request_id,
            "rows": [list(row) for row in self.rows],
        }


@dataclass
class Run:
    run_id: str
    pilot: Pilot
    person: BehaviourIdentity
    via_ida: bool
    started_at: datetime
    results: list[Result]
    finished_at: datetime | None = None

    @property
    def state(self) -> str:
        return "fertig" if self.finished_at is not None else "läuft"

    def to_json(self) -> dict[str, Any]:
        return {
            "runId": self.run_id,
            "pilot": self.pilot.kind,
            "title": self.pilot.title,
            "consumer": self.pilot.party_id,
            "consumerName": self.pilot.party_name,
            "identity": {
                "idnr": self.person.idnr,
                "name": f"{self.person.given_names} {self.person.family_name}",
                "behaviour": BEHAVIOUR_DE.get(self.person.behaviour.value, ""),
            },
            "viaIda": self.via_ida,
            "state": self.state,
            "startedAt": self.started_at.isoformat(),
            "finishedAt": self.finished_at.isoformat() if self.finished_at else None,
            "results": [r.to_json() for r in self.results],
        }


HttpFactory = Callable[[str], httpx.AsyncClient]


class PilotRunner:
    """Starts runs as tasks; keeps the last runs; one client per online service."""

    def __init__(
        self,
        settings: NootsSettings,
        topology: Topology,
        log: EventLog,
        http_for: HttpFactory,
        *,
        attempts: int,
    ) -> None:
        self.settings = settings
        self.topology = topology
        self.log = log
        self._http_for = http_for
        self._retry = RetryPolicy(
            max_attempts=attempts,
            base_delay=0.3,
            max_pending_wait=timedelta(0),
            max_collections=0,
        )
        self._pilots = {p.kind: p for p in pilots(topology)}
        self._clients: dict[str, tuple[AsyncClient, httpx.AsyncClient, ProtocolLog]] = {}
        self._runs: OrderedDict[str, Run] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self._sink = LocalSink(log)
        self._paths = LandscapePaths(settings.data_dir)

    @property
    def pilots(self) -> list[Pilot]:
        return list(self._pilots.values())

    def run(self, run_id: str) -> Run | None:
        return self._runs.get(run_id)

    def start(self, kind: str, idnr: str, *, via_ida: bool) -> Run:
        """Start a run in the background (raises InvalidInput for an unknown pilot/identity)."""
        pilot = self._pilots.get(kind)
        if pilot is None:
            raise InvalidInput(f"unknown pilot {kind!r}")
        person = _identity(idnr)
        run = Run(
            uuid.uuid4().hex,
            pilot,
            person,
            via_ida,
            datetime.now(UTC),
            [Result(need, self._subject_name(need, person)) for need in pilot.service.needs],
        )
        self._runs[run.run_id] = run
        while len(self._runs) > _MAX_RUNS:
            self._runs.popitem(last=False)
        self._publish(run)
        task = asyncio.get_running_loop().create_task(self._run(run), name=f"pilot-{run.run_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return run

    async def wait(self, run_id: str, timeout: float) -> Run | None:
        """The run once it has finished (tests); None if it is unknown."""
        run = self._runs.get(run_id)
        deadline = asyncio.get_running_loop().time() + timeout
        while run is not None and run.finished_at is None:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"run {run_id} still running")
            await asyncio.sleep(0.05)
        return run

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for client, http, protocol in self._clients.values():
            await client.aclose()
            await http.aclose()
            protocol.close()
        self._clients.clear()

    # -- one run

    def _publish(self, run: Run) -> None:
        self.log.add_run(run.to_json())

    def _subject_name(self, need: EvidenceNeed, person: BehaviourIdentity) -> str:
        if need.subject == "company":
            return f"{DEMO_COMPANY.name} ({DEMO_COMPANY.register} {DEMO_COMPANY.number})"
        if need.subject == "child":
            child = _child_of(person) or person
            return f"{child.given_names} {child.family_name}"
        return f"{person.given_names} {person.family_name}"

    async def _run(self, run: Run) -> None:
        try:
            with trace.flow(run.run_id, sink=self._sink):
                consumer = run.pilot.consumer
                client = self._client(consumer.participant_id) if consumer is not None else None
                for result in run.results:
                    result.state = "läuft"
                    self._publish(run)
                    if client is None:
                        await self._eu_request(run, result)
                    elif result.need.eu is not None:
                        await self._eu_order(client, run, result, result.need.eu)
                    else:
                        await self._fetch(client, run, result)
                    self._publish(run)
        except NootsError as exc:  # the service could not even start (no credential)
            for result in run.results:
                if result.state in ("wartet", "läuft"):
                    result.state, result.text = "fehlgeschlagen", exc.message
        finally:
            run.finished_at = datetime.now(UTC)
            self._publish(run)

    def _client(self, consumer_id: str) -> AsyncClient:
        known = self._clients.get(consumer_id)
        if known is not None:
            return known[0]
        try:
            participant: Participant = load_participant(
                self._paths.pki_dir, consumer_id, clock=self.settings.clock()
            )
        except (KeyError, OSError, ValueError) as exc:
            raise ConfigurationError(
                f"no credential for {consumer_id} in {self._paths.pki_dir}"
            ) from exc
        protocol = open_protocol_log(
            self.settings.protocol_log_target(consumer_id, self.topology),
            party=consumer_id,
            clock=participant.clock,
        )
        http = self._http_for(consumer_id)
        client = AsyncClient(
            participant,
            Endpoints.from_topology(self.topology, tls=self.settings.tls),
            self.topology,
            http=http,
            retry=self._retry,
            protocol_log=protocol,
            test=not self.settings.strict,
        )
        self._clients[consumer_id] = (client, http, protocol)
        return client

    def _purpose(self, consumer_id: str, evidence_type: str) -> tuple[str, str | None]:
        for row in self.topology.authorisations:
            if row.consumer == consumer_id and row.evidence_type == evidence_type:
                return row.purpose, row.legal_basis
        return "nicht berechtigt", None

    # -- the EU border (docs/EU.md)

    def _fail(self, result: Result, error: NootsError, party: str, purpose: str) -> None:
        context = ExchangeContext(party, result.need.evidence_type, purpose)
        explanation = explain(error, context, language="de")
        result.state = "fehlgeschlagen"
        result.code = explanation.code
        result.text = explanation.cause
        result.fix = explanation.fix

    async def _eu_order(self, client: AsyncClient, run: Run, result: Result, eu: EuOrder) -> None:
        """Use case 4: order at the IP (0401), the citizen (simulated: the EU login at the IP,
        approval in the member state's preview space), collect (0411)."""
        consumer = run.pilot.party_id
        purpose, _legal_basis = self._purpose(consumer, result.need.evidence_type)
        back = self.topology.base_url("dashboard", tls=self.settings.tls) + "/ablauf"
        try:
            placed = await client.order_evidence(
                result.need.evidence_type,
                purpose=purpose,
                person=_query(run.person),
                country=eu.country,
                requirement=eu.requirement,
                requirement_name=eu.requirement_name,
                back_url=back,
                procedure=eu.procedure,
            )
            await self._citizen_at_the_ip(consumer, placed.url_to_ip)
            found = await client.get_evidence(placed)
        except NootsError as exc:
            self._fail(result, exc, consumer, purpose)
            return
        if isinstance(found, EuEvidencePending):
            result.state = "angekündigt"
            result.text = (
                "Die Bürgerin hat den Vorgang an der Intermediären Plattform nicht abgeschlossen."
            )
            return
        result.state = "geliefert"
        result.provider = f"{found.issuer} über die {found.platform}"
        result.request_id = str(placed.order_id)
        result.text = (
            f"Nachweis von {found.issuer} über die Intermediäre Plattform geprüft und übernommen."
        )
        result.rows = found.rows()

    async def _citizen_at_the_ip(self, consumer: str, url_to_ip: str) -> None:
        """The citizen's part, simulated (:func:`noots.consumers._eu_citizen.walk_citizen`)."""
        http = self._http_for(consumer)
        try:
            await walk_citizen(http, url_to_ip)
        finally:
            await http.aclose()

    async def _eu_request(self, run: Run, result: Result) -> None:
        """Use case 3: the Mairie de Lyon's requester asks the IP (EDM over eDelivery) with
        preview; the user approves on the IP's preview page; the requester asks again."""
        pilot = run.pilot
        person = run.person
        base = self.topology.base_url(pilot.party_id, tls=self.settings.tls)
        # The dashboard plays the member state here: with its own certificate under TLS.
        http = self._http_for(self.topology.platform.simulator_id)
        try:
            asked = await ask_from_member_state(
                http,
                base,
                family_name=person.family_name,
                given_name=person.given_names.split()[0],
                date_of_birth=person.date_of_birth,
            )
        except UpstreamError as exc:
            result.state, result.text = "fehlgeschlagen", f"Anfrage nicht möglich: {exc.message}"
            return
        finally:
            await http.aclose()
        answer = asked.final
        outcome = answer.get("outcome")
        if outcome == "evidence":
            result.state = "geliefert"
            result.provider = "Intermediäre Plattform"
            result.text = (
                "Die Geburtsurkunde ging nach der Vorschau an der Intermediären Plattform an "
                "die Mairie de Lyon (ohne IDNr)."
            )
            result.rows = [
                ("Nachweis", str(item.get("title", ""))) for item in answer.get("evidences", [])
            ] + [("Format", str(item.get("format", ""))) for item in answer.get("evidences", [])]
            return
        code = str(answer.get("code") or "EDM:ERR:0008")
        error = error_for_code(code, str(answer.get("message") or answer.get("detail") or ""))
        self._fail(result, error, pilot.party_id, "EU-Anfrage")

    async def _fetch(self, client: AsyncClient, run: Run, result: Result) -> None:
        need, person, pilot = result.need, run.person, run.pilot
        consumer = pilot.consumer
        assert consumer is not None
        purpose, legal_basis = self._purpose(consumer.participant_id, need.evidence_type)
        spec = self.topology.evidence_type(need.evidence_type)
        kwargs: dict[str, Any] = {"purpose": purpose}
        if legal_basis is not None:
            kwargs["legal_basis"] = legal_basis
        if spec.regional:
            # The Bewohnerparkausweis asks its own municipality; the others where the person lives.
            asks_own = consumer.region is not None and not pilot.service.asks_residence
            kwargs["region"] = consumer.region if asks_own else person.ags
        if need.subject == "company":
            kwargs["company"] = company(
                DEMO_COMPANY.name,
                f"{DEMO_COMPANY.court} {DEMO_COMPANY.register} {DEMO_COMPANY.number}",
            )
        elif need.subject == "child":
            kwargs["person"] = _query(_child_of(person) or person)
        else:
            kwargs["person"] = _query(person)
            if not run.via_ida:
                kwargs["idnr"] = person.idnr
        try:
            evidence = await client.fetch_evidence(need.evidence_type, **kwargs)
        except NootsError as exc:
            context = ExchangeContext(
                consumer.participant_id,
                need.evidence_type,
                purpose,
                by_idnr="idnr" in kwargs,
            )
            explanation = explain(exc, context, language="de")
            announced = "announced for" in exc.message
            result.state = "angekündigt" if announced else "fehlgeschlagen"
            result.code = explanation.code
            result.text = (
                "Das Register hat den Nachweis für später angekündigt (ResponseAvailableDateTime)."
                if announced
                else explanation.cause
            )
            result.fix = "" if announced else explanation.fix
            return
        result.state = "geliefert"
        result.provider = evidence.route.provider_name
        result.request_id = str(evidence.request_id)
        result.text = f"Nachweis von {evidence.route.provider_name} geprüft und übernommen."
        result.rows = [(row.label, row.value) for row in evidence.rows()[:_MAX_ROWS]]
