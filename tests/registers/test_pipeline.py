"""The pure steps of the data-provider pipeline, without HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from noots import messages
from noots.clock import ManualClock
from noots.errors import (
    EdmCode,
    InvalidInput,
    PersonNotFound,
    QueryError,
    SignatureInvalid,
    UnsupportedEvidenceType,
)
from noots.topology import load_topology
from registers._pipeline import (
    NOT_FOUND_DETAIL,
    AuthorisedRequest,
    Deliver,
    LegalCandidate,
    LegalQuery,
    MatchedSubject,
    NaturalCandidate,
    NaturalQuery,
    Pending,
    Register,
    _legal_query,
    decide,
    error_detail,
    http_status,
    match_subject,
    refusal,
)

TOPOLOGY = load_topology()
KBA = Register(
    "991-01234ZFZR-41",
    "Kraftfahrt-Bundesamt, Zentrales Fahrzeugregister",
    (TOPOLOGY.evidence_type("Fahrzeughalterauskunft"),),
)
BORN = date(1964, 8, 12)
ERIKA = NaturalCandidate("02476291358", "Mustermann", "Erika Maria", BORN, birth_name="Gabler")
AUTHORISED: Any = object()  # the steps below only pass it through


def _match(query: NaturalQuery | LegalQuery, *candidates: Any) -> MatchedSubject:
    return match_subject(AUTHORISED, query, list(candidates))


def test_match_by_idnr_needs_the_date_of_birth() -> None:
    """By IDNr the entry is found; a different date of birth finds nothing."""
    assert _match(NaturalQuery("x", "y", BORN, idnr="02476291358"), ERIKA).candidate is ERIKA
    with pytest.raises(PersonNotFound):
        _match(NaturalQuery("x", "y", date(1964, 8, 13), idnr="02476291358"), ERIKA)


@pytest.mark.parametrize(
    ("family", "given"),
    [
        ("Mustermann", "Erika"),
        ("MUSTERMANN", "erika"),
        ("Gabler", "Maria Erika"),
        (" Mustermann ", "Erika"),
    ],
)
def test_match_by_basic_data_normalises(family: str, given: str) -> None:
    """Case, spacing, order of given names and the birth name do not matter."""
    assert _match(NaturalQuery(family, given, BORN), ERIKA).candidate is ERIKA


@pytest.mark.parametrize(
    "query",
    [
        NaturalQuery("Mustermann", "Erik", BORN),
        NaturalQuery("Musterfrau", "Erika", BORN),
        NaturalQuery("Mustermann", "Erika", BORN, place_of_birth="Berlin"),
    ],
)
def test_mismatches_find_nothing(query: NaturalQuery) -> None:
    """Another given name, family name, or a contradicting detail is not a match."""
    candidate = NaturalCandidate(
        "02476291358", "Mustermann", "Erika", BORN, place_of_birth="Stuttgart"
    )
    with pytest.raises(PersonNotFound):
        _match(query, candidate)


def test_unknown_ambiguous_and_blocked_raise_the_same_error() -> None:
    """None, two, or a blocked match: the same PersonNotFound with the same message."""
    twin = NaturalCandidate("02476291358", "Mustermann", "Erika", BORN)
    blocked = NaturalCandidate("02476291358", "Mustermann", "Erika", BORN, blocked=True)
    query = NaturalQuery("Mustermann", "Erika", BORN)
    messages_seen = set()
    for candidates in ([], [ERIKA, twin], [blocked]):
        with pytest.raises(PersonNotFound) as caught:
            _match(query, *candidates)
        messages_seen.add((type(caught.value), caught.value.message, caught.value.code))
    assert messages_seen == {(PersonNotFound, NOT_FOUND_DETAIL, EdmCode.NOT_FOUND)}


@settings(max_examples=60, deadline=None)
@given(st.permutations([0, 1, 2, 3]))
def test_match_does_not_depend_on_candidate_order(order: list[int]) -> None:
    """The one matching entry is found wherever it stands among the others."""
    others = [
        NaturalCandidate("01234567812", "Musterfrau", "Lena", date(1992, 3, 14)),
        NaturalCandidate("01234567829", "Mustermann", "Erik", BORN),
        NaturalCandidate("01234567837", "Mustermann", "Erika", date(1990, 1, 1)),
    ]
    pool = [*others, ERIKA]
    shuffled = [pool[i] for i in order]
    assert _match(NaturalQuery("Mustermann", "Erika", BORN), *shuffled).candidate is ERIKA


def test_legal_match_uses_court_and_name_only_to_separate() -> None:
    """A number at two courts is ambiguous unless the court or the name separates it."""
    a = LegalCandidate("HRB", "254871", "Amtsgericht München", "Mustermann Digital GmbH")
    b = LegalCandidate("HRB", "254871", "Amtsgericht Köln", "Andere GmbH")
    c = LegalCandidate("HRB", "254871", "Amtsgericht Hamburg", "Andere GmbH")
    assert _match(LegalQuery("HRB", "254871", "Mustermann Digital GmbH"), a, b).candidate is a
    assert _match(LegalQuery("HRB", "254871", "x", court="Amtsgericht Köln"), a, b).candidate is b
    with pytest.raises(PersonNotFound):
        _match(LegalQuery("HRB", "254871", "Andere GmbH"), a, b, c)
    with pytest.raises(PersonNotFound):
        _match(LegalQuery("HRA", "254871", "Mustermann Digital GmbH"), a)


@pytest.mark.parametrize(
    ("value", "scheme", "expected"),
    [
        ("254871", "HRB", LegalQuery("HRB", "254871", "N")),
        ("HRB 254871", "HRB", LegalQuery("HRB", "254871", "N")),
        (
            "Amtsgericht München HRB 254871",
            "hrb",
            LegalQuery("HRB", "254871", "N", court="Amtsgericht München"),
        ),
        ("HRA  17842", "HRA", LegalQuery("HRA", "17842", "N")),
    ],
)
def test_legal_identifier_forms(value: str, scheme: str, expected: LegalQuery) -> None:
    """Number, register and number, or court, register and number."""
    person = messages.LegalPerson("N", identifiers=(messages.LegalIdentifier(value, scheme),))
    assert _legal_query(person) == expected


@pytest.mark.parametrize(
    ("value", "scheme"),
    [("HRA 1", "HRB"), ("0123", "HRB"), ("abc", "HRB"), ("254871", "VR")],
)
def test_bad_legal_identifiers_are_invalid(value: str, scheme: str) -> None:
    """A contradicting scheme, a non-number or no Handelsregister scheme is 0003."""
    person = messages.LegalPerson("N", identifiers=(messages.LegalIdentifier(value, scheme),))
    with pytest.raises(InvalidInput):
        _legal_query(person)


@settings(max_examples=150, deadline=None)
@given(
    st.text(min_size=1, max_size=40).filter(
        lambda t: t.strip() and "\n" not in t and "\r" not in t and "\t" not in t
    ),
    st.sampled_from(["HRA", "HRB", "hrb", "VR", "x"]),
)
def test_legal_identifier_parser_never_crashes(value: str, scheme: str) -> None:
    """Any identifier text gives a query or InvalidInput, nothing else."""
    try:
        person = messages.LegalPerson("N", identifiers=(messages.LegalIdentifier(value, scheme),))
    except ValueError:
        return  # not even constructible as a message value
    try:
        query = _legal_query(person)
    except InvalidInput:
        return
    assert query.number[0].isdigit()
    assert query.register in ("HRA", "HRB")


def test_decide_without_delay_delivers() -> None:
    """An ordinary subject is delivered at once."""
    now = datetime(2026, 11, 22, 9, tzinfo=UTC)
    assert decide(AUTHORISED, now=now, announced=None, delay=None) == Deliver()


def test_decide_announces_and_then_delivers() -> None:
    """An asynchronous subject is announced, pending until the time, then delivered."""
    now = datetime(2026, 11, 22, 9, tzinfo=UTC)
    first = decide(AUTHORISED, now=now, announced=None, delay=timedelta(minutes=2))
    assert first == Pending(now + timedelta(minutes=2))
    assert isinstance(first, Pending)
    later = now + timedelta(minutes=1)
    assert decide(AUTHORISED, now=later, announced=first.available_at, delay=None) == first
    at = first.available_at
    assert decide(AUTHORISED, now=at, announced=at, delay=timedelta(minutes=2)) == Deliver()


def test_unsupported_evidence_type() -> None:
    """A classification the register does not provide is 0007."""
    with pytest.raises(UnsupportedEvidenceType):
        KBA.evidence_type("https://sr.oots.tech.ec.europa.eu/evidencetypeclassifications/ec/x")


@pytest.mark.parametrize(
    ("error", "detail"),
    [
        (PersonNotFound("Erika Mustermann is blocked"), NOT_FOUND_DETAIL),
        (
            QueryError("sqlite3.OperationalError: /secret/path"),
            "Der Nachweis kann derzeit nicht erstellt werden.",
        ),
        (SignatureInvalid("signature value does not verify"), "signature value does not verify"),
    ],
)
def test_error_detail_hides_what_must_not_leak(error: Any, detail: str) -> None:
    """Not-found and internal errors get fixed texts; other errors keep their safe message."""
    assert error_detail(error) == detail


def test_refusal_of_an_unverified_request_echoes_nothing() -> None:
    """Without a verified request the 0103 uses placeholders and the register as provider."""
    clock = ManualClock()
    message = refusal(SignatureInvalid("bad"), verified=None, register=KBA, clock=clock)
    assert message.request_id == uuid.UUID(int=0)
    assert message.requester.identifier == "unknown"
    assert message.error_provider.identifier == KBA.participant_id
    assert message.code is EdmCode.AUTHENTICATION
    assert http_status(message) == 401
    assert messages.parse(messages.build(message)) == message


def test_authorised_request_type_is_what_match_passes_on() -> None:
    """match_subject keeps the authorised request it was given."""
    authorised: Any = AuthorisedRequest.__new__(AuthorisedRequest)
    matched = match_subject(authorised, NaturalQuery("Mustermann", "Erika", BORN), [ERIKA])
    assert matched.authorised is authorised
    assert matched.idnr == "02476291358"
