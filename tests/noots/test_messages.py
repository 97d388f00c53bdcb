"""Tests for noots.messages: building, the official oracle, parsing, strictness, answering."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from copy import deepcopy
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from noots import messages, xml
from noots.clock import ManualClock
from noots.errors import EdmCode, MalformedMessage
from noots.messages import (
    Address,
    Agent,
    Authority,
    ErrorDetail,
    Evidence,
    EvidenceErrorResponse,
    EvidenceRequest,
    EvidenceResponse,
    LegalIdentifier,
    LegalPerson,
    NaturalPerson,
)
from noots.paths import shared_dir
from noots.testing.messages import (
    SAMPLE_DOCUMENT,
    error_responses,
    evidence_requests,
    evidence_responses,
    sample_evidence_type,
    sample_person,
    sample_provider,
    sample_request,
)

Check = Callable[[bytes], list[str]]

EXAMPLES = (shared_dir() or Path("/nonexistent")) / "xnachweis" / "examples"
REQUEST_FILE = "DE.EvidenceRequest.0101.xml"
RESPONSE_FILE = "DE.EvidenceResponse.0102.xml"
ERROR_FILE = "DE.EvidenceErrorResponse.0103.xml"
START = datetime(2026, 11, 22, 9, 14, 5, 123456, tzinfo=UTC)

round_trip_settings = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def reparse(message: messages.Message) -> messages.Message:
    return messages.parse(xml.parse(messages.to_bytes(message)))


def evidence_for(request: EvidenceRequest, clock: ManualClock) -> Evidence:
    return Evidence.new(
        SAMPLE_DOCUMENT,
        issuing_authority=Agent("991-01234ZFZR-41", "Kraftfahrt-Bundesamt"),
        evidence_type=request.evidence_type,
        subject=request.subject,
        clock=clock,
    )


# --- the official examples --------------------------------------------------------------------


def test_official_request_example_parses() -> None:
    """The official 0101 example parses into the request it describes."""
    message = messages.parse(xml.parse(example(REQUEST_FILE)))
    assert isinstance(message, EvidenceRequest)
    assert message.request_id == UUID("e31077f0-dd1b-45a5-9865-807ff5b2f5ec")
    assert message.message_uuid == UUID("37ca2724-b0d6-44d7-9166-bf2975647507")
    assert message.created == datetime(2026, 11, 22, 9, 14, 5, 123000, tzinfo=UTC)
    assert message.requester == Agent(
        "08118079-BPA-87", "Stadt Korntal-Münchingen, Bewohnerparkausweis"
    )
    assert message.provider.identifier == "991-01234ZFZR-41"
    assert message.subject == sample_person()
    assert message.evidence_type == sample_evidence_type()
    assert message.issued_token.startswith("eyJhbGciOiJFUzI1NiIs")
    assert message.reader == Authority.of(message.provider)
    assert message.author == Authority.of(message.requester)
    assert message.test is True
    assert message.language == "de"


def test_official_response_example_parses() -> None:
    """The official 0102 example parses, with its base64 document decoded."""
    message = messages.parse(xml.parse(example(RESPONSE_FILE)))
    assert isinstance(message, EvidenceResponse)
    assert message.request_id == UUID("e31077f0-dd1b-45a5-9865-807ff5b2f5ec")
    assert message.available_at is None
    evidence = message.evidence
    assert evidence is not None
    assert len(message.evidences) == 1
    assert evidence.registry_object_id == UUID("d1152ff1-b16c-4a16-be5c-717ed06dbe80")
    assert evidence.issuing_date == date(2026, 11, 22)
    assert evidence.issuing_authority == Agent("991-01234ZFZR-41", "Kraftfahrt-Bundesamt")
    assert evidence.conformance == sample_evidence_type().ref
    assert evidence.document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert b"<fzr:Kennzeichen>LB-EM 164</fzr:Kennzeichen>" in evidence.document
    assert evidence.subject == sample_person()
    assert (evidence.media_type, evidence.language) == ("application/xml", "de")


def test_official_error_example_parses() -> None:
    """The official 0103 example parses with its EDM code, detail and timestamp."""
    message = messages.parse(xml.parse(example(ERROR_FILE)))
    assert isinstance(message, EvidenceErrorResponse)
    assert message.code is EdmCode.NOT_FOUND
    (error,) = message.errors
    assert error.detail is not None
    assert error.detail.startswith("Zum angegebenen")
    assert error.timestamp == datetime(2026, 11, 22, 9, 14, 6, tzinfo=UTC)
    assert message.error_provider == sample_provider()


@pytest.mark.parametrize("name", [REQUEST_FILE, RESPONSE_FILE, ERROR_FILE])
def test_official_examples_rebuild_valid_and_equal(name: str, xnachweis_check: Check) -> None:
    """Each official example, parsed and built again, is valid and parses to the same value."""
    message = messages.parse(xml.parse(example(name)))
    data = messages.to_bytes(message)
    assert xnachweis_check(data) == []
    assert messages.parse(xml.parse(data)) == message


# --- every message kind is valid against the official schemas ---------------------------------


def test_request_natural_person_is_valid(xnachweis_check: Check) -> None:
    """A request about a natural person with every optional field is schema-valid."""
    clock = ManualClock(START)
    address = Address(
        full_address="Hauptstraße 1, 70825 Korntal-Münchingen",
        thoroughfare="Hauptstraße",
        locator_designator="1",
        country_code="DE",
        nuts_code="DE115",
        post_code="70825",
        post_city_name="Korntal-Münchingen",
    )
    person = NaturalPerson(
        "Müller-Lüdenscheidt",
        "Jörg Ößwald",
        date(1953, 2, 28),
        "02476291358",
        birth_name="Weiß",
        place_of_birth="Görlitz",
        current_address=address,
        gender="male",
    )
    request = replace(sample_request(clock, issued_token="dG9rZW4="), subject=person)
    data = messages.to_bytes(request)
    assert xnachweis_check(data) == []
    assert reparse(request) == request


def test_request_legal_person_is_valid(xnachweis_check: Check) -> None:
    """A request about a legal person (Handelsregister identifiers) is schema-valid."""
    clock = ManualClock(START)
    company = LegalPerson(
        "Muster Bäckerei GmbH",
        identifiers=(LegalIdentifier("Amtsgericht Stuttgart, HRB 123456", "HRB"),),
        legal_person_identifier="DE/DE/HRB123456",
        registered_address=Address(post_code="70173", post_city_name="Stuttgart"),
    )
    request = replace(sample_request(clock), subject=company)
    assert xnachweis_check(messages.to_bytes(request)) == []
    assert reparse(request) == request


def test_response_with_evidence_is_valid(xnachweis_check: Check) -> None:
    """A success response with one evidence is schema-valid and round-trips."""
    clock = ManualClock(START)
    request = sample_request(clock)
    response = messages.answer_with_evidence(request, evidence_for(request, clock), clock=clock)
    data = messages.to_bytes(response)
    assert xnachweis_check(data) == []
    assert b"Success</code>" in data
    assert reparse(response) == response


def test_pending_response_is_valid(xnachweis_check: Check) -> None:
    """The asynchronous response carries ResponseAvailableDateTime, status Unavailable."""
    clock = ManualClock(START)
    request = sample_request(clock)
    later = START + timedelta(hours=2)
    response = messages.answer_pending(request, later, clock=clock)
    data = messages.to_bytes(response)
    assert xnachweis_check(data) == []
    assert b"<xn-de:ResponseAvailableDateTime>2026-11-22T11:14:05.123Z<" in data
    assert messages.STATUS_UNAVAILABLE.encode() in data
    parsed = reparse(response)
    assert parsed == response
    assert isinstance(parsed, EvidenceResponse)
    assert parsed.pending
    assert parsed.evidence is None


@pytest.mark.parametrize("code", list(EdmCode))
def test_error_response_is_valid_for_every_code(code: EdmCode, xnachweis_check: Check) -> None:
    """An error response with each EDM code is schema-valid and round-trips."""
    clock = ManualClock(START)
    response = messages.answer_with_error(sample_request(clock), code, code.title, clock=clock)
    assert xnachweis_check(messages.to_bytes(response)) == []
    parsed = reparse(response)
    assert parsed == response
    assert isinstance(parsed, EvidenceErrorResponse)
    assert parsed.code is code


# --- property tests: random valid input → valid XML → the same value ---------------------------


@round_trip_settings
@given(request=evidence_requests())
def test_requests_round_trip(request: EvidenceRequest, xnachweis_check: Check) -> None:
    """Any valid request builds into schema-valid XML that parses back to an equal request."""
    data = messages.to_bytes(request)
    assert xnachweis_check(data) == []
    assert messages.parse(xml.parse(data)) == request


@round_trip_settings
@given(response=evidence_responses())
def test_responses_round_trip(response: EvidenceResponse, xnachweis_check: Check) -> None:
    """Any valid response (with evidence or pending) is schema-valid and parses back equal."""
    data = messages.to_bytes(response)
    assert xnachweis_check(data) == []
    assert messages.parse(xml.parse(data)) == response


@round_trip_settings
@given(response=error_responses())
def test_error_responses_round_trip(
    response: EvidenceErrorResponse, xnachweis_check: Check
) -> None:
    """Any valid error response is schema-valid and parses back equal."""
    data = messages.to_bytes(response)
    assert xnachweis_check(data) == []
    assert messages.parse(xml.parse(data)) == response


@settings(max_examples=50, deadline=None)
@given(request=evidence_requests(), data=st.data())
def test_parse_accepts_only_schema_valid_after_removing_an_element(
    request: EvidenceRequest, data: st.DataObject, xnachweis_check: Check
) -> None:
    """With any one element removed, parse refuses the message unless the oracle accepts it."""
    root = messages.build(request)
    candidates = [element for element in root.iter() if element is not root]
    victim = data.draw(st.sampled_from(candidates))
    parent = victim.getparent()
    assert parent is not None
    parent.remove(victim)
    raw = xml.serialize(root)
    try:
        messages.parse(xml.parse(raw))
    except MalformedMessage:
        return
    assert xnachweis_check(raw) == []


_XML_TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(" \t\n\r"), max_size=20
)


@settings(max_examples=50, deadline=None)
@given(response=evidence_responses(), data=st.data())
def test_parse_accepts_only_schema_valid_after_changing_a_value(
    response: EvidenceResponse, data: st.DataObject, xnachweis_check: Check
) -> None:
    """With any one leaf text or attribute changed at random, parse refuses the message with
    MalformedMessage (never another error) unless the oracle accepts it."""
    root = messages.build(response)
    leaves = [element for element in root.iter() if len(element) == 0]
    victim = data.draw(st.sampled_from([*leaves, root]))
    value = data.draw(_XML_TEXT)
    if victim is root or (victim.attrib and data.draw(st.booleans())):
        victim.set(data.draw(st.sampled_from(sorted(victim.attrib))), value)
    else:
        victim.text = value
    raw = xml.serialize(root)
    try:
        messages.parse(xml.parse(raw))
    except MalformedMessage:
        return
    assert xnachweis_check(raw) == []


# --- the wire form ----------------------------------------------------------------------------


def test_to_bytes_is_utf8_unindented_and_uuids_bare() -> None:
    """to_bytes writes UTF-8 with a declaration, no indentation, and UUIDs without spaces."""
    clock = ManualClock(START)
    request = sample_request(clock)
    data = messages.to_bytes(request)
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    _declaration, _, body = data.partition(b"?>\n")
    assert b"\n" not in body
    assert "Münchingen".encode() in data
    assert f'id="urn:uuid:{request.request_id}"'.encode() in data
    assert f"<xn-bk:nachrichtenUUID>{request.message_uuid}</".encode() in data
    assert f"<xn-bk:Identifier>{request.evidence_type.identifier}</".encode() in data
    assert b"<xn-bk:erstellungszeitpunkt>2026-11-22T09:14:05.123Z<" in data
    assert b"xmlns=" not in data  # never a default namespace: <code> has none


def test_times_are_utc_with_zone_at_millisecond_precision() -> None:
    """Times in other zones are held and written in UTC, truncated to milliseconds."""
    zone = timezone(timedelta(hours=2))
    error = ErrorDetail(EdmCode.TIMEOUT, None, datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=zone))
    assert error.timestamp == datetime(2026, 1, 2, 1, 4, 5, 678000, tzinfo=UTC)
    assert messages.format_instant(datetime(5, 1, 2, 3, 4, 5, tzinfo=UTC)) == (
        "0005-01-02T03:04:05Z"
    )


def test_parse_reads_a_message_inside_another_document() -> None:
    """A message embedded in an envelope body parses without reading anything around it."""
    clock = ManualClock(START)
    request = sample_request(clock, issued_token="abc")
    envelope = etree.Element(
        "{urn:noots:transport:1}TransportEnvelope", nsmap={"env": "urn:noots:transport:1"}
    )
    etree.SubElement(envelope, "{urn:noots:transport:1}Header").text = "x"
    body = etree.SubElement(envelope, "{urn:noots:transport:1}Body")
    body.append(messages.build(request))
    received = xml.parse(xml.serialize(envelope))
    inner = received.find("{urn:noots:transport:1}Body")
    assert inner is not None
    assert messages.parse(inner[0]) == request


def test_parse_needs_no_shared_folder(tmp_path: Path) -> None:
    """Building and parsing work in a process where ../shared does not exist."""
    clock = ManualClock(START)
    data = messages.to_bytes(
        messages.answer_with_error(
            sample_request(clock), EdmCode.AUTHORISATION, "no token", clock=clock
        )
    )
    code = (
        "import sys; from noots import messages, xml\n"
        "from noots.paths import shared_dir\n"
        "assert shared_dir() is None\n"
        "message = messages.parse(xml.parse(sys.stdin.buffer.read()))\n"
        "print(message.code.value)\n"
    )
    env = {**os.environ, "NOOTS_SHARED_DIR": str(tmp_path / "missing")}
    result = subprocess.run(
        [sys.executable, "-c", code], input=data, capture_output=True, env=env, check=True
    )
    assert result.stdout.strip() == b"EDM:ERR:0002"


# --- answering a request ----------------------------------------------------------------------


def test_answers_echo_the_request_and_use_fresh_identifiers() -> None:
    """Every answer echoes request id and parties, swaps leser/autor and has fresh UUIDs (DP-08)."""
    clock = ManualClock(START)
    request = sample_request(clock)
    clock.advance(timedelta(seconds=1))
    answers = [
        messages.answer_with_evidence(request, evidence_for(request, clock), clock=clock),
        messages.answer_pending(request, START + timedelta(days=1), clock=clock),
        messages.answer_with_error(request, EdmCode.NOT_FOUND, None, clock=clock),
    ]
    seen = {request.request_id, request.message_uuid}
    for answer in answers:
        assert answer.request_id == request.request_id
        assert answer.requester == request.requester
        assert (answer.reader, answer.author) == (request.author, request.reader)
        assert (
            answer.created
            == answer.issue_datetime
            == datetime(2026, 11, 22, 9, 14, 6, 123000, tzinfo=UTC)
        )
        assert answer.test is request.test
        for value in (answer.message_uuid, answer.response_id):
            assert value not in seen
            seen.add(value)
    assert answers[0].provider == answers[1].provider == request.provider
    assert answers[2].error_provider == request.provider
    assert answers[2].errors[0].timestamp == answers[2].created


def test_error_answer_by_a_sak_names_the_sak() -> None:
    """An error answered by another component (a SAK) names it as error provider and autor."""
    clock = ManualClock(START)
    request = sample_request(clock)
    sak = Agent("991-01234ZFZR-41.sak", "Sicherer Anschlussknoten (KBA)")
    answer = messages.answer_with_error(
        request, EdmCode.UNRESOLVED_REFERENCE, "no such service", clock=clock, error_provider=sak
    )
    assert answer.error_provider == sak
    assert answer.author == Authority("991-01234ZFZR-41.sak", "Sicherer Anschlussknoten (KBA)")
    assert answer.reader == request.author


def test_request_new_and_with_token() -> None:
    """EvidenceRequest.new fills fresh ids and UTC times; with_token keeps the identifiers."""
    clock = ManualClock(START)
    first, second = sample_request(clock), sample_request(clock)
    assert first.request_id != second.request_id
    assert first.message_uuid != second.message_uuid
    assert first.created == first.issue_datetime == START.replace(microsecond=123000)
    assert first.reader == Authority.of(first.provider)
    signed = first.with_token("c2VhbGVk")
    assert signed.issued_token == "c2VhbGVk"
    assert replace(signed, issued_token="") == first


def test_evidence_new_takes_the_type_and_today() -> None:
    """Evidence.new names the evidence type by reference, issues today (UTC) with a fresh id."""
    clock = ManualClock(datetime(2026, 11, 22, 23, 30, tzinfo=timezone(timedelta(hours=-2))))
    request = sample_request(clock)
    evidence = evidence_for(request, clock)
    assert evidence.issuing_date == date(2026, 11, 23)
    assert evidence.conformance == request.evidence_type.ref
    assert evidence.media_type == request.evidence_type.format
    assert evidence.registry_object_id != evidence_for(request, clock).registry_object_id


# --- model invariants -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda: ErrorDetail(EdmCode.TIMEOUT, None, datetime(2026, 1, 1)), "time zone"),
        (lambda: NaturalPerson("A", "B", date(2000, 1, 1), "1234567890"), "11 digits"),
        (lambda: Agent("x", "y", scheme_id="urn:other:0204"), "scheme id"),
        (lambda: Agent(" x", "y"), "whitespace"),
        (lambda: Agent("x", "two\nlines"), "one line"),
        (lambda: NaturalPerson("A\x00", "B", date(2000, 1, 1)), "XML cannot carry"),
        (lambda: LegalPerson("X", legal_person_identifier="HRB 1"), "eIDAS"),
        (lambda: NaturalPerson("A", "B", date(2000, 1, 1), level_of_assurance="max"), "assurance"),
    ],
)
def test_model_refuses_what_the_wire_cannot_carry(
    make: Callable[[], object], fragment: str
) -> None:
    """Model values that would build invalid XML are refused at construction."""
    with pytest.raises(ValueError, match=fragment):
        make()


def test_response_needs_exactly_one_of_evidence_and_availability() -> None:
    """A response with both or neither of evidence and available_at is refused."""
    clock = ManualClock(START)
    request = sample_request(clock)
    response = messages.answer_with_evidence(request, evidence_for(request, clock), clock=clock)
    with pytest.raises(ValueError, match="exactly one"):
        replace(response, available_at=START)
    with pytest.raises(ValueError, match="exactly one"):
        replace(response, evidences=())


def test_issuing_authority_cannot_have_an_address() -> None:
    """IssuingAuthority has no Address on the wire, so the model refuses one."""
    clock = ManualClock(START)
    request = sample_request(clock)
    evidence = evidence_for(request, clock)
    with_address = Agent("x", "y", address=Address(post_code="12345"))
    with pytest.raises(ValueError, match="address"):
        replace(evidence, issuing_authority=with_address)


def test_date_of_birth_must_be_a_date_not_a_datetime() -> None:
    """A datetime passed as date of birth is refused (it would serialise as an invalid date)."""
    with pytest.raises(TypeError, match="date"):
        NaturalPerson("A", "B", datetime(2000, 1, 1, tzinfo=UTC))


# --- malformed messages -----------------------------------------------------------------------

UUID_TEXT = "37ca2724-b0d6-44d7-9166-bf2975647507"
REQ_ID = 'id="urn:uuid:e31077f0-dd1b-45a5-9865-807ff5b2f5ec"'

MALFORMED = [
    # (example, old, new, expected fragment of the error)
    (
        REQUEST_FILE,
        "<xn-de:IssueDateTime>2026-11-22T09:14:05Z</xn-de:IssueDateTime>",
        "",
        "missing element xn-de:IssueDateTime",
    ),
    (
        REQUEST_FILE,
        "<xn-bk:FamilyName>Mustermann</xn-bk:FamilyName>",
        "<xn-de:FamilyName>Mustermann</xn-de:FamilyName>",
        "FamilyName is in urn:xoev-de:bva:standard:xnachweis:schema:xnachweis-de-noots",
    ),
    (
        REQUEST_FILE,
        "<xn-de:IssueDateTime>2026-11-22T09:14:05Z<",
        "<xn-de:IssueDateTime>2026-11-22T09:14:05<",
        "IssueDateTime: date-time without time zone",
    ),
    (
        REQUEST_FILE,
        "<xn-bk:erstellungszeitpunkt>2026-11-22T09:14:05.123Z<",
        "<xn-bk:erstellungszeitpunkt>2026-11-22 09:14:05Z<",
        "erstellungszeitpunkt: not an xs:dateTime",
    ),
    (REQUEST_FILE, REQ_ID, 'id="e31077f0-dd1b-45a5-9865-807ff5b2f5ec"', "not a urn:uuid:"),
    (REQUEST_FILE, REQ_ID, 'id="urn:uuid:e31077f0-dd1b-45a5-9865"', "@id: not a urn:uuid:"),
    (REQUEST_FILE, f">{UUID_TEXT}<", f">urn:uuid:{UUID_TEXT}<", "nachrichtenUUID: not a bare"),
    (REQUEST_FILE, f">{UUID_TEXT}<", f"> {UUID_TEXT}\n<", "nachrichtenUUID: not a bare UUID"),
    (
        REQUEST_FILE,
        "<code>DE.EvidenceRequest.0101</code>",
        "<code>DE.EvidenceResponse.0102</code>",
        "message type must be 'DE.EvidenceRequest.0101' (the root element)",
    ),
    (
        REQUEST_FILE,
        'listURI="urn:xoev-de:xnachweis:codeliste:messagetypes" listVersionID="1.2.0"',
        'listURI="urn:xoev-de:xnachweis:codeliste:messagetypes" listVersionID="1.1.0"',
        "listVersionID must be '1.2.0'",
    ),
    (
        REQUEST_FILE,
        "standard:xnachweis_1.2.0</xn-de:SpecificationIdentifier>",
        "standard:xnachweis_1.1.0</xn-de:SpecificationIdentifier>",
        "SpecificationIdentifier: must be",
    ),
    (REQUEST_FILE, "<xn-bk:IDNr>02476291358<", "<xn-bk:IDNr>0247629135<", "IDNr must be exactly"),
    (REQUEST_FILE, "<xn-bk:IDNr>02476291358<", "<xn-bk:IDNr>0247629135x<", "11 digits"),
    (REQUEST_FILE, 'version="1.2.0"\n', 'version="1.1.0"\n', "version must be '1.2.0'"),
    (REQUEST_FILE, 'standard="XNachweis"', "", "missing attribute standard"),
    (REQUEST_FILE, 'test="true"', 'test="yes"', "test must be"),
    (REQUEST_FILE, "<code>ER</code>", "<code>EP</code>", "classification must be 'ER'"),
    (
        REQUEST_FILE,
        "<code>de</code>\n  </xn-de:lang>",
        '<code xmlns="urn:x">de</code>\n  </xn-de:lang>',
        "lang: element code is in urn:x, expected no namespace",
    ),
    (
        REQUEST_FILE,
        "<xn-bk:QueryDefinition>DocumentQuery<",
        "<xn-bk:QueryDefinition>DataQuery<",
        "unsupported query",
    ),
    (
        REQUEST_FILE,
        "noots:991-01234ZFZR-41</bn-beh:kennung>",
        "991-01234ZFZR-41</bn-beh:kennung>",
        "kennung must start",
    ),
    (REQUEST_FILE, "<xn-de:Query>", "<xn-de:Query>stray text", "unexpected text content"),
    (
        REQUEST_FILE,
        "<xn-bk:GivenName>Erika</xn-bk:GivenName>",
        "<xn-bk:GivenName>Erika</xn-bk:GivenName><xn-bk:Nickname>E</xn-bk:Nickname>",
        "missing element xn-bk:LevelOfAssurance (found xn-bk:Nickname instead)",
    ),
    (
        REQUEST_FILE,
        "</xn-bk:IDNr>",
        "</xn-bk:IDNr><xn-bk:IDNr>02476291358</xn-bk:IDNr>",
        "unexpected element xn-bk:IDNr",
    ),
    (
        REQUEST_FILE,
        "<xn-bk:NaturalPerson>",
        '<xn-bk:NaturalPerson><xn-bk:Identifier schemeID="eidas">DE/DE/1</xn-bk:Identifier>',
        "eIDAS person identifier",
    ),
    (ERROR_FILE, "<code>EDM:ERR:0004</code>", "<code> </code>", "empty code"),
    (
        ERROR_FILE,
        "<code>urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure</code>",
        "<code>urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success</code>",
        "status must be one of",
    ),
    (
        ERROR_FILE,
        "ebxmlregrep:ErrorSeverityType:Error<",
        "ebxml-regrep:ErrorSeverityType:Error<",
        "Severity: must be",
    ),
    (ERROR_FILE, "<code>ERRP</code>", "<code>EP</code>", "classification must be 'ERRP'"),
    (
        ERROR_FILE,
        'requestid="urn:uuid:e31077f0-dd1b-45a5-9865-807ff5b2f5ec"',
        "",
        "missing attribute requestid",
    ),
    (RESPONSE_FILE, "PD94bWwgdmVyc2lv", "PD94bWwgdmVyc2l*", "not valid base64"),
    (
        RESPONSE_FILE,
        "<xn-bk:IssuingDate>2026-11-22</xn-bk:IssuingDate>",
        "<xn-bk:IssuingDate>2026-11-31</xn-bk:IssuingDate>",
        "not a valid calendar date",
    ),
    (
        RESPONSE_FILE,
        "<code>urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success</code>",
        "<code>urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Unavailable</code>",
        "for this availability",
    ),
    (
        RESPONSE_FILE,
        "<xn-bk:id>urn:uuid:d1152ff1-b16c-4a16-be5c-717ed06dbe80</xn-bk:id>",
        "<xn-bk:id>d1152ff1-b16c-4a16-be5c-717ed06dbe80</xn-bk:id>",
        "RegistryObjectList/id: not a urn:uuid:",
    ),
    (
        RESPONSE_FILE,
        "<xn-de:EvidenceAvailability>",
        "<xn-de:EvidenceAvailability>"
        "<xn-de:ResponseAvailableDateTime>2026-11-23T00:00:00Z</xn-de:ResponseAvailableDateTime>",
        "unexpected element xn-de:RegistryObjectList",
    ),
]


@pytest.mark.parametrize(("name", "old", "new", "fragment"), MALFORMED)
def test_malformed_variants_are_refused(name: str, old: str, new: str, fragment: str) -> None:
    """Each broken variant of an official example raises MalformedMessage saying what is wrong."""
    text = example(name).decode()
    assert old in text, "the mutation must apply"
    element = xml.parse(text.replace(old, new, 1).encode())
    with pytest.raises(MalformedMessage) as caught:
        messages.parse(element)
    assert fragment in str(caught.value)


def test_second_requester_is_refused_as_unsupported() -> None:
    """Several EvidenceRequester entries are valid XNachweis but not modelled: refused."""
    root = messages.build(sample_request(ManualClock(START)))
    requester = root.find(f"{{{messages.NS_DE}}}EvidenceRequester")
    assert requester is not None
    requester.addnext(deepcopy(requester))
    with pytest.raises(MalformedMessage, match="exactly one EvidenceRequester, found 2"):
        messages.parse(root)


def test_unknown_root_is_refused() -> None:
    """An element that is not one of the XNachweis messages is refused, naming it."""
    with pytest.raises(MalformedMessage, match=r"unknown root element xn-de:DE\.Unknown\.0999"):
        messages.parse(etree.Element(f"{{{messages.NS_DE}}}DE.Unknown.0999", nsmap=messages.NSMAP))


def test_root_in_wrong_namespace_is_refused() -> None:
    """A message root in another namespace is refused as such."""
    text = (
        example(REQUEST_FILE)
        .decode()
        .replace(
            'xmlns:xn-de="urn:xoev-de:bva:standard:xnachweis:schema:xnachweis-de-noots"',
            'xmlns:xn-de="urn:example:other"',
        )
    )
    with pytest.raises(MalformedMessage, match="root element in urn:example:other"):
        messages.parse(xml.parse(text.encode()))


def test_provider_before_requester_in_request_is_refused() -> None:
    """The request's order is requester, then provider; swapped is refused."""
    clock = ManualClock(START)
    root = messages.build(sample_request(clock))
    requester = root.find(f"{{{messages.NS_DE}}}EvidenceRequester")
    assert requester is not None
    root.remove(requester)
    provider = root.find(f"{{{messages.NS_DE}}}EvidenceProvider")
    assert provider is not None
    provider.addnext(requester)
    with pytest.raises(MalformedMessage, match="missing element xn-de:EvidenceRequester"):
        messages.parse(root)


def test_repository_item_ref_is_refused_as_unsupported() -> None:
    """Evidence by reference is valid XNachweis that noots refuses rather than ignores."""
    text = example(RESPONSE_FILE).decode()
    start = text.index("<xn-bk:RepositoryItem>\n        <xn-bk:RepositoryItem>")
    end = text.index("</xn-bk:RepositoryItem>\n      </xn-bk:RepositoryItem>")
    ref = '<xn-bk:RepositoryItem><xn-bk:RepositoryItemRef href="https://x" title="t"/>'
    broken = text[:start] + ref + text[end + len("</xn-bk:RepositoryItem>") :]
    with pytest.raises(MalformedMessage, match="evidence by reference"):
        messages.parse(xml.parse(broken.encode()))


def test_comments_inside_elements_are_ignored() -> None:
    """Comments anywhere (the official examples have some) do not change the parsed value."""
    clock = ManualClock(START)
    request = sample_request(clock, issued_token="abc")
    text = messages.to_bytes(request).decode()
    commented = text.replace("<xn-bk:FamilyName>", "<!-- c --><xn-bk:FamilyName><!-- d -->")
    assert messages.parse(xml.parse(commented.encode())) == request


# --- error codes outside the EDM list ---------------------------------------------------------


@pytest.mark.parametrize("code", ["EDM:ERR:0009", "NOOTS:ERR:0101", "DE:VS 17"])
def test_unlisted_error_code_is_kept_and_reported(code: str, xnachweis_check: Check) -> None:
    """A 0103 with a code outside EDM:ERR:0001…0008 parses, keeps the code and rebuilds valid."""
    data = example(ERROR_FILE).replace(
        b"<code>EDM:ERR:0004</code>", f"<code>{code}</code>".encode()
    )
    message = messages.parse(xml.parse(data))
    assert isinstance(message, EvidenceErrorResponse)
    (error,) = message.errors
    assert isinstance(error.code, messages.UnlistedErrorCode)
    assert (error.code.value, error.edm, message.code) == (code, None, code)
    rebuilt = messages.to_bytes(message)
    assert xnachweis_check(rebuilt) == []
    assert reparse(message) == message


def test_listed_error_code_stays_an_edm_code() -> None:
    """A code of the EDM list is an EdmCode, also when given as a plain string."""
    detail = ErrorDetail("EDM:ERR:0004")  # type: ignore[arg-type]
    assert detail.code is EdmCode.NOT_FOUND
    assert detail.edm is EdmCode.NOT_FOUND


def test_unlisted_error_code_maps_to_a_query_error_naming_it() -> None:
    """A receiver raising for an unlisted code gets a QueryError that names the code."""
    from noots.errors import QueryError, error_for_code

    detail = ErrorDetail(messages.error_code("NOOTS:ERR:0101"))
    raised = error_for_code(detail.code, detail.code.title)
    assert type(raised) is QueryError
    assert "NOOTS:ERR:0101" in raised.message


@pytest.mark.parametrize("bad", ["", " EDM:ERR:0004", "A  B", "A\tB"])
def test_error_code_must_be_a_token(bad: str) -> None:
    """An error code that no validator would read back unchanged is refused by the model."""
    with pytest.raises(ValueError, match="xs:token"):
        messages.error_code(bad)


@given(code=st.from_regex(r"[A-Za-z0-9:._-]{1,12}( [A-Za-z0-9:._-]{1,8})?", fullmatch=True))
@round_trip_settings
def test_any_error_code_token_round_trips(code: str, xnachweis_check: Check) -> None:
    """Any code token survives build → oracle → parse unchanged."""
    clock = ManualClock(START)
    answer = messages.answer_with_error(sample_request(clock), EdmCode.NOT_FOUND, None, clock=clock)
    message = replace(answer, errors=(ErrorDetail(messages.error_code(code)),))
    assert xnachweis_check(messages.to_bytes(message)) == []
    parsed = reparse(message)
    assert isinstance(parsed, EvidenceErrorResponse)
    assert parsed.errors[0].code.value == code
