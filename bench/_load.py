"""The pilot mix for load tests: online services fetching evidence the way the client library
does, synchronously, over any ``requests``-like session (Locust's ``HttpSession`` or a thin
wrapper around ``httpx.Client``).

One **flow** is one online-service case with every hop: per evidence RDN look-up → VS token
(signed envelope, sealed token checked) → hub → register → hub (signed answer checked: signer,
binding, request id, subject). The mix (weights in :data:`PILOT_MIX`):

- Bewohnerparkausweis (Korntal-Münchingen): Meldebescheinigung + Fahrzeughalterauskunft;
- Gewerbeanmeldung (München): Handelsregisterauszug + Meldebescheinigung;
- Elterngeld: Geburtsurkunde + Meldebescheinigung.

Subjects come from the landscape's own population file, people who behave normally (no delays,
blocks or errors), so every flow is expected to deliver. Used by ``bench/locustfile.py``; the
tests drive it against a served landscape.
"""

from __future__ import annotations

import json
import random
import sqlite3
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from consumers._platform import (
    HUB_PATH,
    RDN_PATH,
    VS_PATH,
    VS_SERVICE,
    read_rdn_answer,
    read_token_answer,
)
from consumers._results import Route
from noots import messages, tokens
from noots.clock import SystemClock
from noots.envelope import (
    ENV_NS,
    EnvelopeHeader,
    check_binding,
    open_envelope,
    parse_error_body,
    seal,
)
from noots.participant import Participant, load_participant
from noots.synthetic.identities import Behaviour, behaviour_of
from noots.topology import Topology, load_topology

XML = {"Content-Type": "application/xml"}


class Session(Protocol):
    """What a flow needs of an HTTP session (``requests``/Locust style)."""

    def get(self, url: str, **kwargs: Any) -> Any: ...
    def post(self, url: str, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class Step:
    evidence_type: str
    region: Callable[[Subject], str | None] = lambda _subject: None


@dataclass(frozen=True)
class Subject:
    """Whom one flow is about: a person (IDNr, names, birth date, municipality) and, for the
    Gewerbeanmeldung, a company."""

    idnr: str
    given_name: str
    family_name: str
    date_of_birth: date
    ags: str
    company: messages.LegalPerson | None = None

    @property
    def person(self) -> messages.NaturalPerson:
        return messages.NaturalPerson(
            self.family_name, self.given_name, self.date_of_birth, self.idnr
        )


@dataclass(frozen=True)
class Pilot:
    name: str
    consumer: str
    purpose: str
    steps: tuple[Step, ...]
    #: SQL over the population: ``idnr`` of people this pilot may be about (parameters: the
    #: landscape's Melderegister AGS as a JSON list, and a row limit).
    people: str


# The people a pilot may be about: alive, no information block, registered in a municipality
# with a Melderegister of the landscape (``?``: a JSON list of those AGS).
_BPA_PEOPLE = (
    "SELECT p.idnr FROM persons p WHERE p.information_block = 0 AND p.date_of_death IS NULL"
    " AND p.ags = '08118079' AND p.ags IN (SELECT value FROM json_each(?))"
    " AND EXISTS (SELECT 1 FROM vehicles v WHERE v.holder_idnr = p.idnr)"
    " ORDER BY p.id LIMIT ?"
)
_RESIDENTS = (
    "SELECT p.idnr FROM persons p WHERE p.information_block = 0 AND p.date_of_death IS NULL"
    " AND p.ags IN (SELECT value FROM json_each(?)) ORDER BY p.id LIMIT ?"
)
_PARENTS_CHILDREN = (
    "SELECT p.idnr FROM persons p WHERE p.information_block = 0 AND p.date_of_death IS NULL"
    " AND p.ags IN (SELECT value FROM json_each(?))"
    " AND EXISTS (SELECT 1 FROM births b WHERE b.idnr = p.idnr) ORDER BY p.id LIMIT ?"
)

PILOTS: tuple[Pilot, ...] = (
    Pilot(
        "Bewohnerparkausweis",
        "08118079-BPA-87",
        "Bewohnerparkausweis",
        (Step("Meldebescheinigung", lambda s: s.ags), Step("Fahrzeughalterauskunft")),
        _BPA_PEOPLE,
    ),
    Pilot(
        "Gewerbeanmeldung",
        "09162000-GEWA-65",
        "Gewerbeanzeige",
        (Step("Handelsregisterauszug"), Step("Meldebescheinigung", lambda s: s.ags)),
        _RESIDENTS,
    ),
    Pilot(
        "Elterngeld",
        "08-ELTERNGELD-79",
        "Elterngeld",
        (Step("Geburtsurkunde"), Step("Meldebescheinigung", lambda s: s.ags)),
        _PARENTS_CHILDREN,
    ),
)
#: How often each pilot runs relative to the others (Locust task weights).
PILOT_MIX: Mapping[str, int] = {"Bewohnerparkausweis": 5, "Gewerbeanmeldung": 2, "Elterngeld": 3}


def _subjects(
    population: Path, pilot: Pilot, regions: list[str], count: int, seed: int
) -> list[Subject]:
    db = sqlite3.connect(f"{population.resolve().as_uri()}?mode=ro", uri=True)
    try:
        ids = [row[0] for row in db.execute(pilot.people, (json.dumps(regions), count * 4))]
        random.Random(seed).shuffle(ids)
        companies = list(
            db.execute(
                "SELECT court, register, number, name FROM companies ORDER BY id LIMIT ?", (count,)
            )
        )
        found: list[Subject] = []
        for idnr in ids:
            if behaviour_of(idnr) is not Behaviour.NORMAL:
                continue
            row = db.execute(
                "SELECT given_names, family_name, date_of_birth, ags FROM persons WHERE idnr = ?",
                (idnr,),
            ).fetchone()
            company = None
            if companies:
                court, register, number, name = companies[len(found) % len(companies)]
                company = messages.LegalPerson(
                    name,
                    identifiers=(
                        messages.LegalIdentifier(f"{court} {register} {number}", register),
                    ),
                )
            found.append(
                Subject(
                    idnr, row[0].split()[0], row[1], date.fromisoformat(row[2]), row[3], company
                )
            )
            if len(found) >= count:
                break
        return found
    finally:
        db.close()


class FlowFailed(Exception):
    """A hop answered, but not with what the client library would accept."""


@dataclass
class OnlineService:
    """One online service of the landscape with its own credential, running pilot flows."""

    participant: Participant
    topology: Topology
    pilot: Pilot
    subjects: list[Subject]
    platform: str
    rng: random.Random = field(default_factory=random.Random)

    @property
    def consumer(self) -> str:
        return self.participant.participant_id

    def run(self, session: Session) -> int:
        """One flow for a random subject; the number of evidences delivered (raises on any
        failure)."""
        if not self.subjects:
            raise FlowFailed(f"the population has nobody for the {self.pilot.name} pilot")
        subject = self.rng.choice(self.subjects)
        for step in self.pilot.steps:
            self.fetch(session, step, subject)
        return len(self.pilot.steps)

    def fetch(self, session: Session, step: Step, subject: Subject) -> messages.EvidenceResponse:
        spec = self.topology.evidence_type(step.evidence_type)
        params = {"evidenceType": step.evidence_type}
        region = step.region(subject)
        if region:
            params["region"] = region
        answer = session.get(f"{self.platform}{RDN_PATH}", params=params, name="RDN look-up")
        route: Route = read_rdn_answer(answer.status_code, answer.content, step.evidence_type)
        name = self.topology.participant(self.consumer).name
        provider_name = route.provider_name
        evidence_subject: messages.NaturalPerson | messages.LegalPerson
        if spec.subject == "legal":
            if subject.company is None:
                raise FlowFailed("no company in the population")
            evidence_subject = subject.company
        else:
            evidence_subject = subject.person
        request = messages.EvidenceRequest.new(
            requester=messages.Agent(self.consumer, name),
            provider=messages.Agent(route.provider, provider_name),
            evidence_type=messages.EvidenceType(spec.classification, spec.title, spec.identifier),
            subject=evidence_subject,
            clock=self.participant.clock,
            test=True,
        )
        rows = self.topology.authorisations_for(self.consumer, step.evidence_type, route.provider)
        legal_basis = next((r.legal_basis for r in rows if r.purpose == self.pilot.purpose), "-")
        asked = tokens.TokenRequest(
            consumer=self.consumer,
            provider=route.provider,
            evidence_type=spec.classification,
            purpose=self.pilot.purpose,
            legal_basis=legal_basis,
            uses_idnr=tokens.uses_idnr(request),
            request_hash=tokens.request_hash(messages.build(request.with_token(""))),
        )
        vs_id = self.topology.platform.vs_id
        raw, status, content = self._send(
            session,
            f"{self.platform}{VS_PATH}",
            "VS token",
            EnvelopeHeader(
                uuid.uuid4(),
                self.consumer,
                vs_id,
                VS_SERVICE,
                self.participant.clock.now(),
                purpose=self.pilot.purpose,
            ),
            tokens.build_token_request(asked),
        )
        opened = self._open(raw, status, content, {vs_id})
        token = read_token_answer(
            opened.body,
            self.participant.verifier,
            clock=self.participant.clock,
            expected=asked,
            component=vs_id,
        )
        final = request.with_token(token.issued)
        raw, status, content = self._send(
            session,
            f"{self.platform}{HUB_PATH}",
            f"hub {step.evidence_type}",
            EnvelopeHeader(
                uuid.uuid4(),
                self.consumer,
                route.provider,
                route.service_id,
                self.participant.clock.now(),
                purpose=self.pilot.purpose,
            ),
            messages.build(final),
        )
        opened = self._open(raw, status, content, {route.provider})
        answer_message = messages.parse(opened.body)
        if isinstance(answer_message, messages.EvidenceErrorResponse):
            error = answer_message.errors[0]
            raise FlowFailed(
                f"{step.evidence_type}: HTTP {status}: {error.code.value} {error.detail}"
            )
        if not isinstance(answer_message, messages.EvidenceResponse):
            raise FlowFailed(
                f"{step.evidence_type}: {type(answer_message).__name__} (HTTP {status})"
            )
        if answer_message.request_id != request.request_id or answer_message.evidence is None:
            raise FlowFailed(f"{step.evidence_type}: answer to another request or no evidence")
        return answer_message

    def _send(
        self, session: Session, url: str, name: str, header: EnvelopeHeader, body: Any
    ) -> tuple[bytes, int, bytes]:
        raw = seal(header, body, self.participant.signer)
        answer = session.post(url, data=raw, headers=XML, name=name)
        return raw, answer.status_code, answer.content

    def _open(self, raw: bytes, status: int, content: bytes, senders: set[str]) -> Any:
        opened = open_envelope(content, self.participant.verifier)
        if opened.header.sender not in senders | {self.topology.platform.hub_id}:
            raise FlowFailed(f"answer signed by {opened.header.sender}")
        if opened.header.recipient != self.consumer:
            raise FlowFailed("answer addressed to someone else")
        check_binding(opened, raw)
        if opened.body.tag == f"{{{ENV_NS}}}Error":
            code, detail, component = parse_error_body(opened.body)
            raise FlowFailed(f"HTTP {status}: {code.value} from {component}: {detail}")
        return opened


def online_services(
    data_dir: Path, *, subjects: int = 200, seed: int = 1, platform: str | None = None
) -> dict[str, OnlineService]:
    """One :class:`OnlineService` per pilot, with credentials and subjects from ``data_dir``
    (a landscape's data directory: ``pki/``, ``landscape.yaml``, ``population.db``)."""
    topology = load_topology(data_dir / "landscape.yaml")
    clock = SystemClock()
    regions = [r.region for r in topology.registers if r.kind == "melderegister" and r.region]
    services = {}
    for pilot in PILOTS:
        participant = load_participant(data_dir / "pki", pilot.consumer, clock=clock)
        people = _subjects(data_dir / "population.db", pilot, regions, subjects, seed)
        services[pilot.name] = OnlineService(
            participant,
            topology,
            pilot,
            people,
            platform or topology.base_url("platform"),
            random.Random(seed),
        )
    return services


class HttpxSession:
    """``requests``-style calls over an ``httpx.Client`` (for runs without Locust)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def get(self, url: str, *, name: str | None = None, **kwargs: Any) -> Any:
        return self.client.get(url, **kwargs)

    def post(self, url: str, *, name: str | None = None, data: bytes = b"", **kwargs: Any) -> Any:
        return self.client.post(url, content=data, **kwargs)
