"""The "Bewohnerparkausweis beantragen" pilot, played end to end against a running landscape.

The online service of Korntal-Münchingen (the topology's ``bewohnerparkausweis`` consumer)
acts with its own credential, through the client library (:mod:`consumers`), over the real
sockets of the running components:

1. the citizen (Erika Mustermann, the normal-case test identity) logs in with the simulated
   eID: the service receives her sealed identity (names, date of birth);
2. IDA: basic data → IDNr;
3. for each evidence the pilot needs (Meldebescheinigung from the Melderegister of the
   municipality, Fahrzeughalterauskunft from the KBA), only through the service's own SAK:
   the route (its SAK asks the RDN), the authorisation (its SAK asks the Vermittlungsstelle
   where the law requires a token), and the 0101 (its SAK → the register's SAK → the register
   and back) → the checked answer;
4. the citizen opens the Datenschutzcockpit (eID at level "hoch") and sees the transfers.

Every HTTP exchange of the online service is recorded; the checks printed for a hop are made
again here on the recorded bytes (the IDA's signature and certificate with the service's
verifier, the VS token's seal and its binding to the exact 0101, the answer against the
0101), and the protocol entries the online service and the register wrote are read from the
data directory when it is at hand.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from noots import idnr as idnr_rules
from noots import messages, tokens
from noots.eid import Level
from noots.errors import NootsError, UpstreamError
from noots.participant import Participant
from noots.sak import AUTHORISATIONS_PATH, CONSUMER_REQUESTS_PATH, ROUTES_PATH, Header
from noots.settings import NootsSettings
from noots.topology import Topology
from noots.xml import parse as parse_xml

__all__ = [
    "PILOT_CITIZEN",
    "PILOT_KIND",
    "Check",
    "Exchange",
    "Hop",
    "PilotReport",
    "play_pilot",
]

#: Erika Mustermann: the normal case in every register (see noots.synthetic.identities).
PILOT_CITIZEN = "02476291358"
PILOT_KIND = "bewohnerparkausweis"
#: The evidence types of the pilot, in the order the online service asks for them.
PILOT_EVIDENCE = ("Meldebescheinigung", "Fahrzeughalterauskunft")
#: The audience of identity tokens for the Datenschutzcockpit (noots.intermediary.eid.DSC_AUDIENCE;
#: not imported, so the CLI does not load the platform's web stack).
DSC_AUDIENCE = "noots-dsc"


@dataclass(frozen=True)
class Check:
    label: str
    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and its answer, as they went over the wire."""

    method: str
    url: str
    request_body: bytes
    status: int | None
    response_body: bytes
    millis: float
    error: str | None = None
    response_headers: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return httpx.URL(self.url).path

    def header(self, name: str) -> str:
        return self.response_headers.get(name.lower(), "")


@dataclass(frozen=True)
class Hop:
    title: str
    sender: str
    receiver: str
    exchange: Exchange
    summary: str
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return self.exchange.status is not None and all(c.passed for c in self.checks)


@dataclass
class PilotReport:
    consumer: str
    consumer_name: str
    citizen: str = ""
    idnr: str | None = None
    hops: list[Hop] = field(default_factory=list)
    evidences: list[Any] = field(default_factory=list)  # noots.consumers.EvidenceResult
    dsc: dict[str, Any] | None = None
    error: NootsError | None = None

    @property
    def completed(self) -> bool:
        return (
            self.error is None
            and len(self.evidences) == len(PILOT_EVIDENCE)
            and all(h.passed for h in self.hops)
            and self.dsc is not None
            and self.dsc_entries() >= len(PILOT_EVIDENCE)
        )

    def dsc_entries(self) -> int:
        """Transfers of this run's requests the Datenschutzcockpit shows."""
        if self.dsc is None:
            return 0
        ids = {str(e.request_id) for e in self.evidences}
        return sum(
            1
            for t in self.dsc.get("transfers", [])
            if str(t.get("requestId", "")).removeprefix("urn:uuid:") in ids
        )


class _Recorder:
    """httpx event hooks that keep every exchange in order."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self._started: dict[int, float] = {}

    async def on_request(self, request: httpx.Request) -> None:
        self._started[id(request)] = time.perf_counter()

    async def on_response(self, response: httpx.Response) -> None:
        await response.aread()
        request = response.request
        started = self._started.pop(id(request), time.perf_counter())
        self.exchanges.append(
            Exchange(
                request.method,
                str(request.url),
                request.content,
                response.status_code,
                response.content,
                (time.perf_counter() - started) * 1000,
                response_headers={k.lower(): v for k, v in response.headers.items()},
            )
        )

    def hooks(self) -> dict[str, list[Callable[..., Awaitable[None]]]]:
        return {"request": [self.on_request], "response": [self.on_response]}

    def since(self, start: int) -> list[Exchange]:
        return self.exchanges[start:]


def _request_of(exchange: Exchange) -> messages.EvidenceRequest | None:
    """The 0101 the online service handed to its SAK (its own bytes)."""
    try:
        message = messages.parse(parse_xml(exchange.request_body))
    except NootsError:
        return None
    return message if isinstance(message, messages.EvidenceRequest) else None


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


class _Pilot:
    def __init__(
        self,
        participant: Participant,
        topology: Topology,
        *,
        tls: bool,
        settings: NootsSettings | None,
        http: httpx.AsyncClient,
        recorder: _Recorder,
        citizen_idnr: str,
    ) -> None:
        spec = next(c for c in topology.consumers if c.participant_id == participant.participant_id)
        self.participant = participant
        self.topology = topology
        self.tls = tls
        self.settings = settings
        self.http = http
        self.recorder = recorder
        self.citizen_idnr = citizen_idnr
        self.spec = spec
        self.platform = topology.base_url("platform", tls=tls)
        self.report = PilotReport(spec.participant_id, spec.name)

    @property
    def verifier(self) -> Any:
        return self.participant.verifier

    def name(self, participant_id: str) -> str:
        try:
            return self.topology.participant(participant_id).name
        except NootsError:
            return participant_id

    async def run(self) -> PilotReport:
        from noots.consumers import AsyncClient, Endpoints, PersonQuery
        from noots.protocol import open_protocol_log

        identity = await self.login(audience=self.spec.participant_id, level="substantiell")
        person = PersonQuery(identity.given_name, identity.family_name, identity.date_of_birth)
        self.report.citizen = f"{identity.given_name} {identity.family_name}"
        log = None
        if self.settings is not None:
            log = open_protocol_log(
                self.settings.protocol_log_target(self.spec.participant_id, self.topology),
                party=self.spec.participant_id,
                clock=self.participant.clock,
            )
        try:
            client = AsyncClient(
                self.participant,
                Endpoints.from_topology(self.topology, tls=self.tls),
                self.topology,
                http=self.http,
                protocol_log=log,
            )
            start = len(self.recorder.exchanges)
            idnr = await client.lookup_idnr(person)
            self.report.idnr = idnr
            self.ida_hop(self.recorder.since(start)[-1], idnr)
            for evidence_type in PILOT_EVIDENCE:
                purpose = next(
                    a.purpose
                    for a in self.topology.authorisations
                    if a.consumer == self.spec.participant_id and a.evidence_type == evidence_type
                )
                region = (
                    self.spec.region
                    if self.topology.evidence_type(evidence_type).regional
                    else None
                )
                start = len(self.recorder.exchanges)
                try:
                    result = await client.fetch_evidence(
                        evidence_type, purpose=purpose, idnr=idnr, person=person, region=region
                    )
                finally:
                    self.evidence_hops(self.recorder.since(start), idnr)
                self.report.evidences.append(result)
        finally:
            if log is not None:
                log.close()
        await self.datenschutzcockpit()
        return self.report

    # -- the hops --------------------------------------------------------------------------

    async def login(self, *, audience: str, level: Level) -> Any:
        from noots.eid import verify_identity

        start = len(self.recorder.exchanges)
        try:
            response = await self.http.post(
                f"{self.platform}/eid/v1/login",
                json={"idnr": self.citizen_idnr, "level": level, "audience": audience},
            )
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"the eID service at {self.platform} is unreachable ({type(exc).__name__})",
                component=self.topology.platform.eid_id,
            ) from None
        exchange = self.recorder.since(start)[-1]
        if response.status_code != 200:
            raise UpstreamError(
                f"the eID service refused the login: HTTP {response.status_code}",
                component=self.topology.platform.eid_id,
            )
        token = str(response.json().get("token", ""))
        identity = verify_identity(
            token, self.verifier, clock=self.participant.clock, min_level=level, audience=audience
        )
        who = "Datenschutzcockpit" if audience != self.spec.participant_id else self.spec.name
        self.report.hops.append(
            Hop(
                "eID (Simulation): Anmeldung der Bürgerin",
                "Bürgerin",
                self.name(self.topology.platform.eid_id),
                exchange,
                f"{identity.given_name} {identity.family_name}, geb. "
                f"{identity.date_of_birth:%d.%m.%Y}, Vertrauensniveau {identity.level} → {who}",
                (
                    Check(
                        f"identity sealed by {self.topology.platform.eid_id}",
                        True,
                        "role eid, chains to the landscape root",
                    ),
                    Check("meant for this recipient", True, f"audience {audience}"),
                    Check("valid now", True, f"until {identity.expires_at:%H:%M:%S} UTC"),
                ),
            )
        )
        return identity

    def ida_hop(self, exchange: Exchange, idnr: str) -> None:
        ida = self.topology.ida.participant_id
        checks = [
            Check(
                "access token accepted by the IDA",
                exchange.status == 200,
                "the service's IAM token for noots-ida, checked before the query is read",
            )
        ]
        checks.append(
            Check(
                "IDNr well-formed",
                idnr_rules.is_valid(idnr, allow_test_numbers=True),
                "11 digits, ISO/IEC 7064 check digit" + (", test number" if idnr[0] == "0" else ""),
            )
        )
        self.report.hops.append(
            Hop(
                "IDA: IDNr zu den Grunddaten",
                self.spec.participant_id,
                ida,
                exchange,
                f"unique match → IDNr {idnr}",
                tuple(checks),
            )
        )

    def evidence_hops(self, exchanges: list[Exchange], idnr: str) -> None:
        token: tokens.AuthorisationToken | None = None
        submissions: list[Exchange] = []
        for exchange in exchanges:
            path = exchange.path
            if path.endswith(ROUTES_PATH):
                self.route_hop(exchange)
            elif path.endswith(AUTHORISATIONS_PATH):
                token = self.authorisation_hop(exchange)
            elif path.endswith(CONSUMER_REQUESTS_PATH):
                submissions.append(exchange)
        if submissions:
            # A retried or collected 0101 is one hop: the same request, submitted again (the
            # last answer counts; the earlier ones are why it was sent again).
            self.request_hop(submissions[-1], token, idnr, submissions=len(submissions))

    @property
    def sak(self) -> str:
        return self.topology.sak_id(self.spec.participant_id)

    def route_hop(self, exchange: Exchange) -> None:
        query = httpx.URL(exchange.url).params
        answer = _json(exchange.response_body)
        provider = _object(answer, "provider")
        with_idnr = _object(_object(answer, "vs"), "withIdnr")
        checks = [
            Check("HTTP 200", exchange.status == 200, f"HTTP {exchange.status}"),
            Check(
                "exactly one data provider, with its service id",
                bool(provider.get("participantId")) and bool(answer.get("serviceId")),
                str(answer.get("serviceId") or answer.get("detail") or "no route"),
            ),
        ]
        if with_idnr:
            needed = "VS token needed" if with_idnr.get("required") else "no VS token needed"
            checks.append(Check(f"with IDNr: {needed}", True, str(with_idnr.get("reason", ""))))
        participant = str(provider.get("participantId") or "?")
        area = f" ({provider['area']})" if provider.get("area") else ""
        where = f" für Region {query['region']}" if "region" in query else ""
        self.report.hops.append(
            Hop(
                f"SAK → RDN: wer liefert {query.get('evidenceType', '?')}{where}?",
                self.spec.participant_id,
                f"{self.sak} → RDN",
                exchange,
                f"{self.name(participant)}{area}",
                tuple(checks),
            )
        )

    def authorisation_hop(self, exchange: Exchange) -> tokens.AuthorisationToken | None:
        """The online service asks its SAK for the authorisation of exactly its 0101; the SAK
        asks the Vermittlungsstelle where the law requires a token."""
        vs = self.topology.platform.vs_id
        answer = _json(exchange.request_body)
        granted = _json(exchange.response_body)
        checks = [Check("authorised", exchange.status == 200, f"HTTP {exchange.status}")]
        token: tokens.AuthorisationToken | None = None
        summary = str(granted.get("reason") or granted.get("detail") or "refused")
        receiver = self.sak
        if exchange.status == 200 and granted.get("required") is True:
            receiver = f"{self.sak} → {self.name(vs)}"
            try:
                token = tokens.verify_token(
                    str(granted.get("token", "")), self.verifier, clock=self.participant.clock
                )
                checks.append(
                    Check(
                        "token sealed by the VS, not expired",
                        True,
                        f"valid until {token.expires_at:%H:%M:%S} UTC",
                    )
                )
                checks.append(
                    Check(
                        "token for the request hash asked for",
                        token.request_hash == answer.get("requestHash"),
                        "SHA-256 over the 0101 without the token",
                    )
                )
                checks.append(
                    Check(
                        "token names the partners and the purpose",
                        token.consumer == self.spec.participant_id
                        and token.purpose == answer.get("purpose"),
                        f"{token.consumer} → {token.provider}, {token.purpose}, "
                        f"{'with' if token.uses_idnr else 'without'} IDNr",
                    )
                )
                summary = f"token {token.token_id} ({token.legal_basis}): {summary}"
            except NootsError as exc:
                checks.append(Check("token", False, exc.message))
        elif exchange.status == 200:
            checks.append(Check("no VS token needed", True, summary))
        self.report.hops.append(
            Hop(
                "SAK: Berechtigung (Vermittlungsstelle, wo nötig)",
                self.spec.participant_id,
                receiver,
                exchange,
                summary,
                tuple(checks),
            )
        )
        return token

    def request_hop(
        self,
        exchange: Exchange,
        token: tokens.AuthorisationToken | None,
        idnr: str,
        *,
        submissions: int = 1,
    ) -> None:
        """The 0101 through the online service's SAK to the register's SAK and the register,
        and the answer back the same way (``submissions``: how often the client sent it)."""
        request = _request_of(exchange)
        provider = request.provider.identifier if request is not None else "?"
        checks: list[Check] = []
        if request is not None and token is not None:
            checks.append(
                Check(
                    "VS token bound to this exact 0101",
                    tokens.request_hash(parse_xml(exchange.request_body)) == token.request_hash
                    and request.issued_token != "",
                    "SHA-256 over the request without the token",
                )
            )
        sent, answered = (
            exchange.header(Header.ENVELOPE_ID),
            exchange.header(Header.RESPONSE_ENVELOPE_ID),
        )
        checks.append(
            Check(
                "the SAKs verified the transport",
                bool(sent) and bool(answered),
                f"envelope {sent or '-'} → answer envelope {answered or '-'}, signed SAK to "
                "SAK and bound to the request",
            )
        )
        summary = f"HTTP {exchange.status}"
        answered_by_provider = False
        answer: messages.Message | None = None
        try:
            answer = messages.parse(parse_xml(exchange.response_body))
        except NootsError as exc:
            checks.append(Check("XNachweis answer", False, exc.message))
        if request is not None and isinstance(answer, messages.EvidenceResponse):
            checks.append(
                Check(
                    "0102 answers our 0101",
                    answer.request_id == request.request_id
                    and answer.requester.identifier == self.spec.participant_id,
                    f"requestid urn:uuid:{answer.request_id}",
                )
            )
            subjects = [e.subject for e in answer.evidences]
            checks.append(
                Check(
                    "evidence about the person asked for",
                    all(getattr(s, "idnr", None) == idnr for s in subjects) and bool(subjects),
                    f"IDNr {idnr}",
                )
            )
            summary = "DE.EvidenceResponse.0102 with the evidence"
            answered_by_provider = True
        elif isinstance(answer, messages.EvidenceErrorResponse):
            first = answer.errors[0]
            answered_by_provider = answer.error_provider.identifier == provider
            summary = f"DE.EvidenceErrorResponse.0103: {first.code.value} {first.detail or ''}"
            checks.append(
                Check(
                    "evidence delivered",
                    False,
                    f"refused by {answer.error_provider.identifier}",
                )
            )
        if request is not None:
            # The register logs what it answered; when its SAK answered for it (it was not
            # reached), there is nothing in its log to look for.
            checks.extend(self.logged(request, register=answered_by_provider))
        if submissions > 1:
            summary += f" · {submissions} submissions of this 0101 (retried or collected)"
        provider_sak = self.topology.sak_id(provider) if request is not None else "?"
        self.report.hops.append(
            Hop(
                f"SAK → SAK → {self.name(provider)} und zurück",
                self.spec.participant_id,
                f"{self.sak} → {provider_sak} → {provider}",
                exchange,
                summary,
                tuple(checks),
            )
        )

    def logged(self, request: messages.EvidenceRequest, *, register: bool = True) -> list[Check]:
        """The § 9 IDNrG entries the online service and (with ``register``) the register wrote,
        if their logs are at hand. The online service's entry must say what happened:
        ``delivered``, or the refusal it received."""
        import sqlite3

        from noots.protocol import open_protocol_log

        if self.settings is None:
            return []
        wanted = {str(request.request_id), f"urn:uuid:{request.request_id}"}
        idnr = getattr(request.subject, "idnr", None)
        parties = [(self.spec.participant_id, "online service received, checked and logged")]
        if register:
            parties.append((request.provider.identifier, "register verified, answered and logged"))
        checks = []
        for party, what in parties:
            target = self.settings.protocol_log_target(party, self.topology)
            if isinstance(target, Path) and not target.is_file():
                continue
            try:
                log = open_protocol_log(target, party=party, clock=self.participant.clock)
                try:
                    # One shared database holds every party's entries: keep this party's own.
                    entries = [
                        e
                        for e in log.entries(idnr=idnr)
                        if e.party == party and e.message_id in wanted
                    ]
                finally:
                    log.close()
            except (NootsError, OSError, sqlite3.Error) as exc:
                # A log that cannot be read now (its process was killed mid-write): the check
                # fails saying why, instead of ending the pilot with a traceback.
                checks.append(
                    Check(what, False, f"{party}: log not readable ({type(exc).__name__})")
                )
                continue
            outcome = entries[-1].outcome if entries else "no entry"
            if party == self.spec.participant_id and outcome.startswith("refused:"):
                # The refusal was received and logged as such: what the log must show.
                checks.append(
                    Check("online service logged the refusal", True, f"{party}: {outcome}")
                )
                continue
            checks.append(Check(what, outcome == "delivered", f"{party}: {outcome}"))
        return checks

    async def datenschutzcockpit(self) -> None:
        identity_start = len(self.recorder.exchanges)
        await self.login(audience=DSC_AUDIENCE, level="hoch")
        token_exchange = self.recorder.since(identity_start)[-1]
        import json

        token = json.loads(token_exchange.response_body)["token"]
        start = len(self.recorder.exchanges)
        try:
            response = await self.http.get(
                f"{self.platform}/dsc/v1/transfers", headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"the Datenschutzcockpit at {self.platform} is unreachable ({type(exc).__name__})",
                component="dsc",
            ) from None
        exchange = self.recorder.since(start)[-1]
        if response.status_code != 200:
            raise UpstreamError(
                f"the Datenschutzcockpit answered HTTP {response.status_code}",
                component="dsc",
            )
        self.report.dsc = response.json()
        shown = self.report.dsc_entries()
        self.report.hops.append(
            Hop(
                "Datenschutzcockpit: die Bürgerin sieht ihre Übermittlungen",
                "Bürgerin",
                "Datenschutzcockpit",
                exchange,
                f"{len(self.report.dsc.get('transfers', []))} Übermittlungen zur IDNr, "
                f"{shown} aus diesem Durchlauf",
                (
                    Check(
                        "both transfers of this run listed",
                        shown >= len(PILOT_EVIDENCE),
                        f"{shown} of {len(PILOT_EVIDENCE)}",
                    ),
                ),
            )
        )


async def play_pilot(
    participant: Participant,
    topology: Topology,
    *,
    tls: bool = False,
    data_dir: Path | None = None,
    settings: NootsSettings | None = None,
    verify: Any = True,
    citizen_idnr: str = PILOT_CITIZEN,
    timeout: float = 20.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> PilotReport:
    """Play the pilot as ``participant`` (an online service of kind bewohnerparkausweis).

    ``verify`` is the TLS setting of the HTTP client (an ``ssl.SSLContext`` presenting the
    participant's certificate with ``tls``); ``transport`` replaces the network (in-process
    landscapes in tests). Never raises a :class:`NootsError`: a failure ends
    the pilot and is in :attr:`PilotReport.error`, with the hops up to it.

    With ``settings`` (or just a landscape's ``data_dir``) the pilot writes its own protocol
    log and reads the register's where the landscape keeps them
    (:meth:`NootsSettings.protocol_log_target`: ``NOOTS_DATABASE_URL``, the topology's
    database, else SQLite under the data dir).
    """
    if settings is None and data_dir is not None:
        settings = NootsSettings(data_dir=data_dir)
    recorder = _Recorder()
    async with httpx.AsyncClient(
        verify=verify,
        timeout=timeout,
        event_hooks=recorder.hooks(),
        trust_env=False,
        transport=transport,
    ) as http:
        pilot = _Pilot(
            participant,
            topology,
            tls=tls,
            settings=settings,
            http=http,
            recorder=recorder,
            citizen_idnr=citizen_idnr,
        )
        try:
            return await pilot.run()
        except NootsError as exc:
            pilot.report.error = exc
            return pilot.report
