"""The register under test and whom the suite asks about.

The behaviour identities of :mod:`noots.synthetic.identities` exist in every seeded population, so
against a mock register of the simulator (or a register loaded with the same test data) the
suite needs nothing but the URL and the participant id. An operator whose register holds other
people names them: the person it knows (``--idnr`` and ``--person``, or ``--company``), and,
to have the special cases tested, a blocked, an ambiguous and an asynchronous one
(``--blocked``, ``--ambiguous``, ``--asynchronous``). With people of their own the simulator's
special identities are *not* assumed: a case nobody named is skipped, saying which option
would test it, never passed on the answer for a person the register does not hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from noots import idnr as idnr_rules
from noots.errors import ConfigurationError, InvalidInput
from noots.messages import LegalIdentifier, LegalPerson, NaturalPerson, Subject
from noots.synthetic.identities import (
    BEHAVIOUR_IDENTITIES,
    DEMO_COMPANY,
    Behaviour,
    BehaviourIdentity,
)
from noots.topology import RegisterSpec, Topology

__all__ = [
    "DEFAULT_MAX_WAIT",
    "Mode",
    "ProviderTarget",
    "default_target",
    "parse_test_person",
    "person_of",
]

Mode = Literal["push", "passive"]

#: What a run of the suite waits at most for an announced answer by default: longer than the
#: simulator's asynchronous test identity (2 minutes, docs/identities.md).
DEFAULT_MAX_WAIT = 150.0


@dataclass(frozen=True)
class ProviderTarget:
    """The register under test and the subjects the suite asks about.

    ``subject`` is a person (or company) the register holds evidence for; ``unknown`` one it
    does not know; ``blocked`` one with an information block (DP-07); ``ambiguous`` one whose
    basic data match several entries (DP-06); ``async_subject`` one the register answers
    asynchronously (DP-13). ``own_data`` says the operator named the people (the hints then
    name the options, not the simulator's test identities).
    """

    url: str
    participant: str
    evidence_type: str
    consumer: str
    subject: Subject
    unknown: Subject
    blocked: NaturalPerson | None = None
    ambiguous: Subject | None = None
    async_subject: NaturalPerson | None = None
    other_subject: NaturalPerson | None = None
    other_consumer: str | None = None
    mode: Mode = "push"
    protocol_export: str | None = None
    time_budget: float = 10.0
    max_wait: float = DEFAULT_MAX_WAIT
    own_data: bool = False

    @property
    def base_url(self) -> str:
        return self.url.rstrip("/")

    @property
    def sak_id(self) -> str:
        """The register's SAK, whose part the suite plays."""
        return Topology.sak_id(self.participant)


def person_of(identity: BehaviourIdentity, *, with_idnr: bool = True) -> NaturalPerson:
    return NaturalPerson(
        identity.family_name,
        identity.given_names.split()[0],
        identity.date_of_birth,
        identity.idnr if with_idnr else None,
    )


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_test_person(text: str, *, what: str = "person") -> NaturalPerson:
    """``"Family, Given, YYYY-MM-DD[, IDNr]"`` as a natural person (the IDNr optional: an
    ambiguous person is asked for by basic data only). :class:`InvalidInput` says what is
    wrong."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) not in (3, 4) or not all(parts):
        raise InvalidInput(f"--{what} takes 'Family, Given, YYYY-MM-DD[, IDNr]'")
    family, given, born = parts[:3]
    if not _DATE.fullmatch(born):
        raise InvalidInput(f"--{what}: the date of birth must be YYYY-MM-DD")
    try:
        birthday = date.fromisoformat(born)
    except ValueError:
        raise InvalidInput(f"--{what}: the date of birth is not a date") from None
    number = parts[3] if len(parts) == 4 else None
    if number is not None and not idnr_rules.is_valid(number, allow_test_numbers=True):
        raise InvalidInput(f"--{what}: the IDNr is not valid")
    return NaturalPerson(family, given, birthday, number)


def _first(behaviour: Behaviour) -> BehaviourIdentity:
    return next(i for i in BEHAVIOUR_IDENTITIES if i.behaviour is behaviour)


def _by_idnr(idnr: str) -> BehaviourIdentity:
    return next(i for i in BEHAVIOUR_IDENTITIES if i.idnr == idnr)


ERIKA = "02476291358"
LENA = "01234567812"

_PREFERENCE = (
    Behaviour.NORMAL,
    Behaviour.MOVED_AWAY,
    Behaviour.AMBIGUOUS,
    Behaviour.ASYNCHRONOUS,
    Behaviour.SLOW,
)


def _resident(spec: RegisterSpec) -> BehaviourIdentity | None:
    """A test identity registered in the municipality of a Melderegister."""
    candidates = [
        i
        for i in BEHAVIOUR_IDENTITIES
        if i.ags == spec.region
        and i.in_population
        and i.date_of_death is None
        and not i.information_block
        and i.behaviour in _PREFERENCE
    ]
    # A normal identity first; a slow one (answers late on purpose) only when nobody else lives
    # there.
    candidates.sort(key=lambda i: _PREFERENCE.index(i.behaviour))
    return candidates[0] if candidates else None


def default_target(
    topology: Topology,
    participant: str,
    url: str,
    *,
    evidence_type: str | None = None,
    consumer: str | None = None,
    subject: Subject | None = None,
    blocked: NaturalPerson | None = None,
    ambiguous: Subject | None = None,
    async_subject: NaturalPerson | None = None,
    unknown: NaturalPerson | None = None,
    mode: Mode | None = None,
    protocol_export: str | None = None,
    time_budget: float = 10.0,
    max_wait: float = DEFAULT_MAX_WAIT,
    asks: bool = True,
) -> ProviderTarget:
    """The target with defaults filled in; :class:`ConfigurationError` says what is missing.

    A register of the topology needs only its id and URL; ``mode`` defaults to its SAK's
    mode there. A register outside the topology needs ``evidence_type`` (and is reached in
    push mode unless ``mode`` says otherwise). ``asks=False``: the target only prepares the
    PKI (``--prepare``) and asks the register nothing, so a Melderegister where no test
    identity lives needs no person named."""
    spec = next((r for r in topology.registers if r.participant_id == participant), None)
    if evidence_type is None:
        if spec is None:
            raise ConfigurationError(
                f"{participant} is not a register of this landscape: name the evidence type "
                "with --evidence"
            )
        evidence_type = spec.evidence_types[0]
    type_spec = topology.evidence_type(evidence_type)
    chosen_mode: Mode = mode or (spec.sak.mode if spec is not None else "push")
    rows = [
        a
        for a in topology.authorisations
        if a.evidence_type == evidence_type and a.allows_provider(participant)
    ]
    consumers = [c.participant_id for c in topology.consumers]
    consumer = consumer or (rows[0].consumer if rows else (consumers[0] if consumers else None))
    if consumer is None:
        raise ConfigurationError("the landscape has no data consumer to act as: use --consumer")
    other_consumer = next((c for c in consumers if c != consumer), None)
    own_data = subject is not None
    common = {
        "url": url,
        "participant": participant,
        "evidence_type": evidence_type,
        "consumer": consumer,
        "other_consumer": other_consumer,
        "mode": chosen_mode,
        "protocol_export": protocol_export,
        "time_budget": time_budget,
        "max_wait": max_wait,
        "own_data": own_data,
    }
    if type_spec.subject == "legal":
        return ProviderTarget(
            subject=subject
            or LegalPerson(
                DEMO_COMPANY.name,
                identifiers=(LegalIdentifier(DEMO_COMPANY.number, DEMO_COMPANY.register),),
            ),
            unknown=LegalPerson("Niemand GmbH", identifiers=(LegalIdentifier("9999999", "HRB"),)),
            ambiguous=ambiguous,
            other_subject=person_of(_by_idnr(LENA)),
            **common,  # type: ignore[arg-type]
        )
    if own_data:
        # The operator's own people: nothing of the simulator's test data is assumed.
        assert subject is not None
        subject_idnr = subject.idnr if isinstance(subject, NaturalPerson) else None
        return ProviderTarget(
            subject=subject,
            unknown=unknown or person_of(_first(Behaviour.NOT_FOUND)),
            blocked=blocked,
            ambiguous=ambiguous,
            async_subject=async_subject,
            other_subject=person_of(_by_idnr(LENA if subject_idnr != LENA else ERIKA)),
            **common,  # type: ignore[arg-type]
        )
    asynchronous = _first(Behaviour.ASYNCHRONOUS)
    if spec is not None and spec.kind == "melderegister":
        resident = _resident(spec) or (None if asks else _by_idnr(ERIKA))
        if resident is None:
            raise ConfigurationError(
                f"no test identity lives in {spec.region}: name a person your register knows "
                "with --idnr and --person"
            )
        chosen = person_of(resident)
    else:
        chosen = person_of(_by_idnr(ERIKA))
    holds_async = spec is None or spec.kind != "melderegister" or spec.region == asynchronous.ags
    return ProviderTarget(
        subject=chosen,
        unknown=unknown or person_of(_first(Behaviour.NOT_FOUND)),
        blocked=blocked or person_of(_first(Behaviour.INFORMATION_BLOCK)),
        ambiguous=ambiguous or person_of(_first(Behaviour.AMBIGUOUS), with_idnr=False),
        async_subject=async_subject or (person_of(asynchronous) if holds_async else None),
        other_subject=person_of(_by_idnr(LENA if chosen.idnr != LENA else ERIKA)),
        **common,  # type: ignore[arg-type]
    )
