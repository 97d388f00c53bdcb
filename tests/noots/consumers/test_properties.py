"""Property tests of the client's parsers: whatever arrives, a typed error or a checked value."""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from noots import messages
from noots.clock import SystemClock
from noots.consumers import UnlistedCodeError, company
from noots.consumers._sak import Answer, read_answer, read_authorisation, read_problem, read_route
from noots.errors import EdmCode, InvalidInput, MalformedMessage, NootsError
from noots.topology import load_topology
from noots.xml import parse

SAK = "08118079-BPA-87.sak"
KIND = load_topology().evidence_type("Meldebescheinigung")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
route_like = st.fixed_dictionaries(
    {
        "serviceId": st.text(max_size=8) | json_values,
        "provider": st.fixed_dictionaries(
            {"participantId": st.text(max_size=8) | json_values, "name": json_values}
        )
        | json_values,
        "evidenceType": st.fixed_dictionaries(
            {
                "classification": st.text(max_size=8) | json_values,
                "title": st.text(max_size=8),
                "identifier": st.uuids().map(str) | st.text(max_size=8),
            }
        )
        | json_values,
    }
)


@given(status=st.sampled_from([200, 403, 404, 500, 502]), value=json_values | route_like)
@settings(max_examples=150)
def test_route_answer_is_a_route_or_a_typed_error(status: int, value: object) -> None:
    """Any JSON (or garbage) as the SAK's route yields a Route or a NootsError, nothing else."""
    for content in (json.dumps(value).encode(), json.dumps(value).encode()[:-1]):
        try:
            route = read_route(status, content, "Meldebescheinigung", component=SAK)
        except NootsError:
            continue
        assert status < 400
        assert route.provider
        assert route.service_id
        assert route.evidence_type is not None


def test_route_is_read() -> None:
    """A well-formed route gives provider, name, area, service id and the evidence type."""
    kind = {"classification": KIND.classification, "title": "T", "identifier": str(KIND.identifier)}
    body = {
        "serviceId": "urn:s",
        "provider": {"participantId": "p-1", "name": "P", "area": "meldewesen"},
        "evidenceType": kind,
        "vs": {},
    }
    route = read_route(200, json.dumps(body).encode(), "X", component=SAK)
    assert (route.provider, route.provider_name, route.service_id) == ("p-1", "P", "urn:s")
    assert route.provider_area == "meldewesen"
    assert route.evidence_type is not None
    assert route.evidence_type.identifier == KIND.identifier


@given(status=st.sampled_from([200, 400, 403, 502]), value=json_values)
@settings(max_examples=150)
def test_authorisation_answer_is_checked_or_a_typed_error(status: int, value: object) -> None:
    """Any JSON as the SAK's authorisation yields one with a token and zoned expiry when
    required, or a NootsError."""
    try:
        granted = read_authorisation(status, json.dumps(value).encode(), component=SAK)
    except NootsError:
        return
    assert status < 400
    if granted.required:
        assert granted.token
        assert granted.expires_at is not None
        assert granted.expires_at.tzinfo is not None


@given(
    code=st.text(min_size=1, max_size=40),
    detail=st.text(max_size=40),
    component=json_values,
    status=st.integers(400, 599),
)
@settings(max_examples=150)
def test_a_problem_becomes_a_typed_error_with_its_code(
    code: str, detail: str, component: object, status: int
) -> None:
    """A problem's code becomes the class of an EDM code, or UnlistedCodeError keeping it."""
    body = json.dumps({"code": code, "detail": detail, "component": component}).encode()
    error = read_problem(status, body, component=SAK)
    assert isinstance(error, NootsError)
    if code.strip() in {c.value for c in EdmCode}:
        assert error.code.value == code.strip()
    elif code.strip():
        assert isinstance(error, UnlistedCodeError)
        assert error.reported_code == code.strip()


@given(code=st.from_regex(r"[A-Z]{2,6}:[A-Z]{3}:[0-9]{4}", fullmatch=True))
@settings(max_examples=60, deadline=None)
def test_any_error_code_in_a_0103_is_kept(code: str) -> None:
    """A 0103 with any code token reads back with that code (never as malformed)."""
    answer = _error_answer(code)
    assert isinstance(answer.message, messages.EvidenceErrorResponse)
    assert answer.codes == (code,)


@given(raw=st.binary(max_size=400))
@settings(max_examples=100)
def test_any_bytes_as_answer_are_refused_with_a_typed_error(raw: bytes) -> None:
    """DC-05: arbitrary bytes never pass as an answer and never raise an untyped exception."""
    with pytest.raises(NootsError):
        read_answer(parse(raw))


def _error_answer(code: str) -> Answer:
    request = messages.EvidenceRequest.new(
        requester=messages.Agent("08118079-BPA-87", "BPA"),
        provider=messages.Agent("08118079-MELD-12", "Melderegister"),
        evidence_type=messages.EvidenceType(KIND.classification, KIND.title, KIND.identifier),
        subject=messages.NaturalPerson("Mustermann", "Erika", date(1964, 8, 12), "02476291358"),
        clock=SystemClock(),
    )
    error = messages.answer_with_error(request, EdmCode.QUERY_ERROR, "x", clock=SystemClock())
    raw = messages.to_bytes(error).replace(b"EDM:ERR:0008", code.encode())
    return read_answer(parse(raw))


def test_an_unusable_code_is_malformed() -> None:
    """A code longer than any code list would use is refused as malformed."""
    with pytest.raises(MalformedMessage):
        _error_answer("X" * 300)


@given(
    scheme=st.sampled_from(["HRA", "HRB", "hrb"]),
    number=st.integers(min_value=1, max_value=999_999),
    court=st.none() | st.sampled_from(["Amtsgericht München", "Amtsgericht Köln"]),
)
@settings(max_examples=100)
def test_company_register_numbers_normalise(scheme: str, number: int, court: str | None) -> None:
    """'[court] HRx n' becomes a LegalIdentifier with the scheme and a normalised value."""
    text = f"{court} {scheme}  {number}" if court else f"{scheme}{number}"
    subject = company("  Beispiel  GmbH ", text)
    (identifier,) = subject.identifiers
    assert identifier.scheme == scheme.upper()
    expected = f"{scheme.upper()} {number}"
    assert identifier.value == (f"{court} {expected}" if court else expected)
    assert subject.legal_name == "Beispiel GmbH"


@pytest.mark.parametrize("text", ["12345", "HRC 1", "", "HRB"])
def test_company_without_register_number_is_refused(text: str) -> None:
    """Without 'HRA n' or 'HRB n' no company subject is made."""
    with pytest.raises(InvalidInput):
        company("Beispiel GmbH", text)
