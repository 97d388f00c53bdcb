"""The pure steps of the data-provider pipeline, without HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from noots import _messages_tags as t
from noots import messages
from noots.clock import ManualClock
from noots.errors import (
    EdmCode,
    InvalidInput,
    NootsError,
    PersonNotFound,
    QueryError,
    SignatureInvalid,
    UnsupportedEvidenceType,
)
from noots.pki import Role
from noots.registers._pipeline import (
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
    accept_request,
    authorise,
    decide,
    error_detail,
    http_status,
    match_subject,
    refusal,
    subject_query,
)
from noots.sak import ProviderMetadata
from noots.tokens import AuthorisationToken, TokenRequest, issue_token, request_hash
from noots.topology import load_topology
from noots.xml import serialize

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


# -- no personal data in a refusal's detail ---------------------------------------------------

BPA = "08118079-BPA-87"
#: The personal fields of a natural person in a 0101, by their element.
PERSONAL_FIELDS = {
    "FamilyName": t.FAMILY_NAME,
    "GivenName": t.GIVEN_NAME,
    "DateOfBirth": t.DATE_OF_BIRTH,
    "IDNr": t.IDNR,
    "BirthName": t.BIRTH_NAME,
    "PlaceOfBirth": t.PLACE_OF_BIRTH,
    "Thoroughfare": t.THOROUGHFARE,
    "LocatorDesignator": t.LOCATOR_DESIGNATOR,
    "PostCode": t.POST_CODE,
    "PostCityName": t.POST_CITY_NAME,
}
SUBJECT = messages.NaturalPerson(
    "Mustermann",
    "Erika",
    BORN,
    "02476291358",
    birth_name="Gabler",
    place_of_birth="Berlin",
    current_address=messages.Address(
        thoroughfare="Heidestraße",
        locator_designator="17",
        post_code="51147",
        post_city_name="Köln",
    ),
)


@pytest.fixture(scope="module")
def senders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A test PKI with the VS and the KBA; the request factory and the register's verifier."""
    from noots.conformance.requests import RequestFactory
    from noots.testing.pki import TestPki

    with TestPki(tmp_path_factory.mktemp("pki")) as pki:
        pki.credential(KBA.participant_id, Role.PROVIDER)
        yield RequestFactory.from_test_pki(pki, TOPOLOGY), pki.verifier(), pki.clock


def _delivered_with(factory: Any, tag: str, value: str) -> tuple[bytes, ProviderMetadata]:
    """A 0101 about SUBJECT with ``value`` as the text of its ``tag``, with a VS token over
    exactly that 0101 (so no check before the one for the field refuses it), and the metadata
    its SAK hands the register."""
    request = factory.request(
        consumer=BPA,
        provider=KBA.participant_id,
        evidence_type="Fahrzeughalterauskunft",
        subject=SUBJECT,
    ).with_token("-")
    element = messages.build(request)
    person = next(element.iter(t.NATURAL_PERSON))
    next(person.iter(tag)).text = value
    purpose, legal_basis = factory._authorisation(request)
    token = AuthorisationToken.grant(
        TokenRequest(
            consumer=BPA,
            provider=KBA.participant_id,
            evidence_type=request.evidence_type.classification,
            purpose=purpose,
            legal_basis=legal_basis,
            uses_idnr=True,
            request_hash=request_hash(element),
        ),
        issuer=factory.vs_id,
        clock=factory.clock,
    )
    next(element.iter(t.ISSUED_TOKEN)).text = issue_token(token, factory.vs_signer)
    metadata = ProviderMetadata(
        consumer=BPA,
        purpose=purpose,
        service_id=TOPOLOGY.service_id(KBA.participant_id, "Fahrzeughalterauskunft"),
        message_id=uuid.uuid4(),
        vs_token_required=True,
    )
    return serialize(element), metadata


def _refusal_detail(delivered: tuple[bytes, ProviderMetadata], verifier: Any, clock: Any) -> str:
    """What the register's steps answer (no match in its data, as for anyone unknown)."""
    raw, metadata = delivered
    verified = None
    try:
        verified = accept_request(raw, metadata, register=KBA)
        authorised = authorise(verified, verifier=verifier, clock=clock, register=KBA)
        query = subject_query(authorised, register=KBA)
        match_subject(authorised, query, [])
    except NootsError as error:
        answer = refusal(error, verified=verified, register=KBA, clock=clock)
        return answer.errors[0].detail
    raise AssertionError("the request was not refused")


_XML_TEXT = st.characters(
    blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"
) | st.sampled_from("\n\t ")
#: Malformed values of many kinds: dates in other formats or impossible, numbers of the wrong
#: length or check digit, names and addresses on several lines, with surrounding spaces or
#: too long, and arbitrary text. At least 5 characters, so that finding one in a detail text
#: means it was quoted, not that it happens to be a word of the rule.
MALFORMED = st.one_of(
    st.dates().map(lambda d: d.strftime("%d.%m.%Y")),
    st.tuples(st.integers(1000, 9999), st.integers(13, 99), st.integers(32, 99)).map(
        lambda p: f"{p[0]}-{p[1]:02d}-{p[2]:02d}"
    ),
    st.dates().map(lambda d: f"{d.isoformat()}+{d.day + 14:02d}:00"),
    st.text(alphabet="0123456789", min_size=5, max_size=14),
    st.text(alphabet="0123456789", min_size=11, max_size=11),
    st.tuples(st.text(_XML_TEXT, min_size=3), st.text(_XML_TEXT, min_size=3)).map("\n".join),
    st.text(_XML_TEXT, min_size=5).map(lambda s: f"  {s}  "),
    st.text(_XML_TEXT, min_size=257, max_size=300),
    st.text(_XML_TEXT, min_size=5, max_size=40),
).filter(lambda value: len(value.strip()) >= 5)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(sorted(PERSONAL_FIELDS)), value=MALFORMED)
def test_no_refusal_detail_quotes_a_personal_value(senders: Any, field: str, value: str) -> None:
    """Whatever a personal field (name, date of birth, IDNr, address) holds, the detail of
    the refusal names the field and the rule, never the value or a part of it."""
    factory, verifier, clock = senders
    delivered = _delivered_with(factory, PERSONAL_FIELDS[field], value)
    detail = _refusal_detail(delivered, verifier, clock)
    for part in {value, value.strip(), *value.split()}:
        if len(part) >= 5:
            assert part not in detail, (field, value, detail)


def test_malformed_date_of_birth_is_named_not_quoted(senders: Any) -> None:
    """The case of issue 13: a date of birth 1964-13-45 is refused (0003) naming the field
    and the rule only."""
    factory, verifier, clock = senders
    delivered = _delivered_with(factory, t.DATE_OF_BIRTH, "1964-13-45")
    detail = _refusal_detail(delivered, verifier, clock)
    assert "DateOfBirth" in detail
    assert "1964" not in detail
