"""The pilot mix for load tests: online services fetching evidence the way the client library
does, synchronously, over any ``requests``-like session (Locust's ``HttpSession`` or a thin
wrapper around ``httpx.Client``).

One **flow** is one online-service case with every hop, each online service speaking only to
its own SAK (consumer API) with its IAM access token (fetched once, reused until shortly
before it expires): per evidence the route (the SAK asks the RDN) → where the law requires it
the authorisation (the SAK asks the VS for the token) → the 0101 (the SAK signs it to the
provider's SAK, which hands it to the register; the answer comes back verified) → the bare
0102 checked (request id, requester, evidence). The mix (weights in :data:`PILOT_MIX`):

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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from noots import messages, tokens
from noots.access import CLIENT_ASSERTION_TYPE, GRANT_TYPE, TOKEN_PATH, build_client_assertion
from noots.clock import SystemClock
from noots.participant import Participant, load_participant
from noots.sak import AUTHORISATIONS_PATH, CONSUMER_REQUESTS_PATH, ROUTES_PATH, Header
from noots.synthetic.identities import Behaviour, behaviour_of
from noots.topology import Topology, load_topology
from noots.xml import parse as parse_xml

XML = {"Content-Type": "application/xml"}
#: A token is fetched anew when less than this is left of it (as the client library does).
TOKEN_MARGIN = timedelta(seconds=30)


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


def _problem(what: str, answer: Any) -> FlowFailed:
    """The refusal of a SAK or the IAM, as a flow failure naming its code."""
    try:
        body = json.loads(answer.content)
    except ValueError:
        body = None
    if isinstance(body, dict):
        code = body.get("code") or body.get("error") or "?"
        detail = body.get("detail") or body.get("error_description") or ""
        return FlowFailed(f"{what}: HTTP {answer.status_code}: {code} {detail}")
    return FlowFailed(f"{what}: HTTP {answer.status_code}")


@dataclass
class OnlineService:
    """One online service of the landscape with its own credential, running pilot flows."""

    participant: Participant
    topology: Topology
    pilot: Pilot
    subjects: list[Subject]
    platform: str
    rng: random.Random = field(default_factory=random.Random)
    _token: tuple[str, datetime] | None = None

    @property
    def consumer(self) -> str:
        return self.participant.participant_id

    @property
    def sak(self) -> str:
        """The base URL of this online service's SAK."""
        return self.topology.base_url(self.topology.sak_id(self.consumer))

    def run(self, session: Session) -> int:
        """One flow for a random subject; the number of evidences delivered (raises on any
        failure)."""
        if not self.subjects:
            raise FlowFailed(f"the population has nobody for the {self.pilot.name} pilot")
        subject = self.rng.choice(self.subjects)
        for step in self.pilot.steps:
            self.fetch(session, step, subject)
        return len(self.pilot.steps)

    def authorization(self, session: Session) -> dict[str, str]:
        """The online service's access token for its SAK, from the IAM (client credentials
        with a signed client assertion), reused until :data:`TOKEN_MARGIN` before expiry."""
        clock = self.participant.clock
        if self._token is None or clock.now() >= self._token[1]:
            form = {
                "grant_type": GRANT_TYPE,
                "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": build_client_assertion(
                    self.participant.credential,
                    iam_id=self.topology.platform.iam_id,
                    clock=clock,
                ),
                "audience": self.topology.sak_id(self.consumer),
            }
            answer = session.post(f"{self.platform}{TOKEN_PATH}", data=form, name="IAM token")
            if answer.status_code != 200:
                raise _problem("IAM token", answer)
            body = json.loads(answer.content)
            lifetime = timedelta(seconds=int(body["expires_in"]))
            self._token = (str(body["access_token"]), clock.now() + lifetime - TOKEN_MARGIN)
        return {"Authorization": f"Bearer {self._token[0]}"}

    def fetch(self, session: Session, step: Step, subject: Subject) -> messages.EvidenceResponse:
        spec = self.topology.evidence_type(step.evidence_type)
        auth = self.authorization(session)
        params = {"evidenceType": step.evidence_type}
        region = step.region(subject)
        if region:
            params["region"] = region
        answer = session.get(
            f"{self.sak}{ROUTES_PATH}", params=params, headers=auth, name="SAK route"
        )
        if answer.status_code != 200:
            raise _problem(f"{step.evidence_type} route", answer)
        route = json.loads(answer.content)
        evidence_subject: messages.NaturalPerson | messages.LegalPerson
        if spec.subject == "legal":
            if subject.company is None:
                raise FlowFailed("no company in the population")
            evidence_subject = subject.company
        else:
            evidence_subject = subject.person
        provider = route["provider"]
        request = messages.EvidenceRequest.new(
            requester=messages.Agent(self.consumer, self.topology.participant(self.consumer).name),
            provider=messages.Agent(provider["participantId"], provider["name"]),
            evidence_type=messages.EvidenceType(spec.classification, spec.title, spec.identifier),
            subject=evidence_subject,
            clock=self.participant.clock,
            test=True,
        )
        uses_idnr = tokens.uses_idnr(request)
        rule = route["vs"]["withIdnr" if uses_idnr else "withoutIdnr"]
        if rule["required"]:
            rows = self.topology.authorisations_for(
                self.consumer, step.evidence_type, provider["participantId"]
            )
            basis = next((r.legal_basis for r in rows if r.purpose == self.pilot.purpose), "-")
            asked = {
                "serviceId": route["serviceId"],
                "purpose": self.pilot.purpose,
                "legalBasis": basis,
                "usesIdnr": uses_idnr,
                "requestHash": tokens.request_hash(messages.build(request.with_token(""))),
            }
            answer = session.post(
                f"{self.sak}{AUTHORISATIONS_PATH}",
                json=asked,
                headers=auth,
                name="SAK authorisation (VS)",
            )
            if answer.status_code != 200:
                raise _problem(f"{step.evidence_type} authorisation", answer)
            request = request.with_token(json.loads(answer.content)["token"])
        answer = session.post(
            f"{self.sak}{CONSUMER_REQUESTS_PATH}",
            data=messages.to_bytes(request),
            headers={
                **XML,
                **auth,
                Header.PURPOSE: self.pilot.purpose,
                Header.SERVICE_ID: route["serviceId"],
            },
            name=f"SAK {step.evidence_type}",
        )
        if not answer.headers.get("content-type", "").startswith("application/xml"):
            raise _problem(step.evidence_type, answer)
        answer_message = messages.parse(parse_xml(answer.content))
        status = answer.status_code
        if isinstance(answer_message, messages.EvidenceErrorResponse):
            error = answer_message.errors[0]
            raise FlowFailed(
                f"{step.evidence_type}: HTTP {status}: {error.code.value} {error.detail}"
            )
        if not isinstance(answer_message, messages.EvidenceResponse):
            raise FlowFailed(
                f"{step.evidence_type}: {type(answer_message).__name__} (HTTP {status})"
            )
        if (
            answer_message.request_id != request.request_id
            or answer_message.requester.identifier != self.consumer
            or answer_message.evidence is None
        ):
            raise FlowFailed(f"{step.evidence_type}: answer to another request or no evidence")
        return answer_message


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

    def post(
        self,
        url: str,
        *,
        name: str | None = None,
        data: bytes | dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        if isinstance(data, bytes):
            return self.client.post(url, content=data, **kwargs)
        return self.client.post(url, data=data, **kwargs)
