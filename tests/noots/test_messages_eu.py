"""Tests for the XNachweis messages of use cases 3 and 4 (0301–0303, 0401–0403, 0411–0413)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from noots import messages, xml
from noots.clock import ManualClock
from noots.errors import EdmCode, MalformedMessage
from noots.messages import (
    EVIDENCE_TYPE_CLASSIFICATION_PREFIX,
    Agent,
    Authority,
    ErrorDetail,
    EuEvidenceErrorResponse,
    EuEvidenceRequest,
    EuEvidenceResponse,
    Evidence,
    EvidenceOrder,
    EvidenceOrderErrorResponse,
    EvidenceOrderResponse,
    EvidenceType,
    GetEvidence,
    GetEvidenceErrorResponse,
    GetEvidenceResponse,
    Product,
    Requirement,
)
from noots.testing.messages import (
    SAMPLE_DOCUMENT,
    agents,
    evidence_types,
    evidences,
    instants,
    sample_person,
    sample_provider,
    subjects,
)

Check = Callable[[bytes], list[str]]
START = datetime(2026, 11, 22, 9, 14, 5, 123000, tzinfo=UTC)
round_trip_settings = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

FRENCH_AUTHORITY = Agent(
    "13002526500013", "Mairie de Lyon", scheme_id="urn:cef.eu:names:identifier:EAS:0009"
)
PLATFORM = Agent("noots-ip", "Intermediäre Plattform")
ONLINE_SERVICE = Agent("08118079-BAF-11", "Stadt Korntal-Münchingen, Anerkennung")
AUSTRIAN_UNIVERSITY = Agent(
    "ATU37586901", "Universität Wien", scheme_id="urn:cef.eu:names:identifier:EAS:9914"
)
GEBURTSURKUNDE = EvidenceType(
    EVIDENCE_TYPE_CLASSIFICATION_PREFIX + "3b7ab8e0-5ba4-4f59-a2f0-9c2d2d7b9c1a",
    "Geburtsurkunde",
    UUID("0f1b6c56-2b1c-4d8f-9f3e-6c5f1d2a7b11"),
)
DEGREE = EvidenceType(
    EVIDENCE_TYPE_CLASSIFICATION_PREFIX + "7c1e9a52-4f0b-4a43-8c6e-2d6a7b3f9e01",
    "Proof of tertiary education degree",
    UUID("5d0c2e9a-8e7b-4f7b-a0b4-2c8f3d5e6a77"),
    "application/pdf",
)
REQUIREMENT = Requirement(
    "https://sr.oots.tech.ec.europa.eu/requirements/f8a6a284-34e9-42c7-9733-63b5c4f4aa42",
    "Proof of tertiary education diploma/certificate/degree",
    "AT",
)


def reparse(message: messages.Message) -> messages.Message:
    return messages.parse(xml.parse(messages.to_bytes(message)), messages.ANY)


def eu_request(clock: ManualClock) -> EuEvidenceRequest:
    return EuEvidenceRequest.new(
        requester=FRENCH_AUTHORITY,
        provider=sample_provider(),
        evidence_type=GEBURTSURKUNDE,
        subject=sample_person(),
        platform=Authority.of(PLATFORM),
        clock=clock,
        test=True,
    )


def order(clock: ManualClock) -> EvidenceOrder:
    return EvidenceOrder.new(
        requester=ONLINE_SERVICE,
        platform=PLATFORM,
        procedure="T3",
        requirements=(REQUIREMENT,),
        evidence_type=DEGREE,
        subject=sample_person(),
        back_url="http://127.0.0.1:8450/anerkennung/zurueck?vorgang=17",
        clock=clock,
    )


def degree_evidence(clock: ManualClock) -> Evidence:
    return Evidence.new(
        b"%PDF-1.4 degree",
        issuing_authority=AUSTRIAN_UNIVERSITY,
        evidence_type=DEGREE,
        subject=sample_person(),
        clock=clock,
        language="en",
    )


def all_samples() -> list[messages.Message]:
    clock = ManualClock(START)
    request = eu_request(clock)
    evidence = Evidence.new(
        SAMPLE_DOCUMENT,
        issuing_authority=sample_provider(),
        evidence_type=GEBURTSURKUNDE,
        subject=request.subject,
        clock=clock,
    )
    the_order = order(clock)
    conversation = messages.new_conversation_id()
    get = GetEvidence.new(
        conversation_id=conversation,
        requester=Authority.of(ONLINE_SERVICE),
        platform=Authority.of(PLATFORM),
        clock=clock,
    )
    return [
        request,
        messages.answer_with_evidence(request, evidence, clock=clock),
        messages.answer_pending(request, START + timedelta(days=1), clock=clock),
        messages.answer_with_error(request, EdmCode.NOT_FOUND, "kein Nachweis", clock=clock),
        the_order,
        messages.answer_order(
            the_order,
            url_to_ip="http://127.0.0.1:8460/ip/v1/conversations/" + conversation,
            conversation=conversation,
            clock=clock,
        ),
        messages.refuse_order(the_order, EdmCode.UNSUPPORTED_CAPABILITY, None, clock=clock),
        get,
        messages.answer_get_evidence(
            get,
            degree_evidence(clock),
            provider=AUSTRIAN_UNIVERSITY,
            platform=PLATFORM,
            requester=ONLINE_SERVICE,
            clock=clock,
        ),
        messages.answer_get_evidence(
            get,
            provider=AUSTRIAN_UNIVERSITY,
            platform=PLATFORM,
            requester=ONLINE_SERVICE,
            clock=clock,
            available_at=START + timedelta(hours=2),
        ),
        messages.refuse_get_evidence(
            get,
            EdmCode.TIMEOUT,
            "the member state did not answer",
            platform=PLATFORM,
            requester=ONLINE_SERVICE,
            clock=clock,
        ),
    ]


# --- building: the oracle ---------------------------------------------------------------------


@pytest.mark.parametrize("index", range(11))
def test_every_sample_is_valid_and_parses_back(index: int, xnachweis_check: Check) -> None:
    """Each 03xx/04xx sample builds into oracle-valid XML that parses back to an equal value."""
    message = all_samples()[index]
    data = messages.to_bytes(message)
    assert xnachweis_check(data) == [], messages.message_type(message)
    assert messages.parse(xml.parse(data), messages.ANY) == message


def test_message_types_are_named_on_the_wire() -> None:
    """The root element and nachrichtentyp name each message's XNachweis type."""
    for message in all_samples():
        name = messages.message_type(message)
        root = messages.build(message)
        assert etree.QName(root).localname == name
        assert f"<code>{name}</code>".encode() in messages.to_bytes(message)


def test_0301_has_the_token_before_the_parties() -> None:
    """In a 0301 IssuedToken stands right after IssueDateTime (not after the provider)."""
    root = messages.build(eu_request(ManualClock(START)))
    names = [etree.QName(child).localname for child in root]
    assert names[names.index("IssueDateTime") + 1] == "IssuedToken"


def test_0412_names_provider_and_platform_with_their_classifications() -> None:
    """A 0412 carries the EU provider (EP) and the IP (IP) as evidence providers."""
    message = all_samples()[8]
    data = messages.to_bytes(message)
    assert data.count(b"<code>EP</code>") == 1
    assert data.count(b"<code>IP</code>") == 1


# --- round trips ------------------------------------------------------------------------------


def _authorities() -> st.SearchStrategy[Authority]:
    return st.builds(
        Authority,
        st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.:_-]{0,20}", fullmatch=True),
        st.text("abcdefghijklmnopqrstuvwxyzÄÖÜäöüß -", min_size=1, max_size=20).filter(
            lambda text: text.strip() != ""
        ),
    )


_COMMON = {
    "test": st.booleans(),
    "product": st.just(Product()),
}
_CONVERSATIONS = st.from_regex(r"[A-Za-z_][A-Za-z0-9._-]{0,40}", fullmatch=True)
_URLS = st.from_regex(
    r"https?://[a-z0-9.-]{1,20}(:[0-9]{2,5})?(/([A-Za-z0-9._~?=&-]|%[0-9A-F]{2}){0,30})?",
    fullmatch=True,
)
_ERRORS = st.lists(
    st.builds(
        ErrorDetail,
        st.one_of(
            st.sampled_from(list(EdmCode)),
            st.from_regex(r"[A-Z]{2,6}:ERR:[0-9]{4}", fullmatch=True).map(messages.error_code),
        ),
        st.none() | st.text(max_size=30).filter(lambda t: all(c.isprintable() for c in t)),
        st.none() | instants(),
    ),
    min_size=1,
    max_size=2,
).map(tuple)
_REQUIREMENTS = st.lists(
    st.builds(
        Requirement,
        st.uuids().map(lambda u: f"https://sr.oots.tech.ec.europa.eu/requirements/{u}"),
        st.sampled_from(["Proof of birth", "Proof of tertiary education degree"]),
        st.none() | st.sampled_from(["AT", "FR", "DE"]),
    ),
    max_size=2,
).map(tuple)

MESSAGES: dict[str, st.SearchStrategy[messages.Message]] = {
    "0301": st.builds(
        EuEvidenceRequest,
        st.uuids(), st.uuids(), instants(), instants(), agents(), agents(),
        st.sampled_from(["", "dG9rZW4="]), evidence_types(), subjects(),
        _authorities(), _authorities(), language=st.sampled_from(["de", "fr"]), **_COMMON,
    ),
    "0302": st.builds(
        EuEvidenceResponse,
        st.uuids(), st.uuids(), st.uuids(), instants(), instants(), agents(), agents(),
        _authorities(), _authorities(),
        evidences=st.lists(evidences(), min_size=1, max_size=2).map(tuple), **_COMMON,
    ),
    "0303": st.builds(
        EuEvidenceErrorResponse,
        st.uuids(), st.uuids(), st.uuids(), instants(), instants(), agents(), agents(),
        _ERRORS, _authorities(), _authorities(), **_COMMON,
    ),
    "0401": st.builds(
        EvidenceOrder,
        st.uuids(), st.uuids(), instants(), instants(), st.just(""), agents(), agents(),
        st.sampled_from(["T1", "T3", "S2"]), _REQUIREMENTS, evidence_types(), subjects(),
        _URLS, _authorities(), _authorities(), **_COMMON,
    ),
    "0402": st.builds(
        EvidenceOrderResponse,
        st.uuids(), st.uuids(), st.uuids(), instants(), instants(), _URLS, _CONVERSATIONS,
        _authorities(), _authorities(), **_COMMON,
    ),
    "0403": st.builds(
        EvidenceOrderErrorResponse,
        st.uuids(), st.uuids(), st.uuids(), instants(), instants(), agents(), agents(),
        _ERRORS, _authorities(), _authorities(), **_COMMON,
    ),
    "0411": st.builds(
        GetEvidence,
        st.uuids(), st.uuids(), instants(), instants(), _CONVERSATIONS,
        _authorities(), _authorities(), **_COMMON,
    ),
    "0412": st.one_of(
        st.builds(
            GetEvidenceResponse,
            st.uuids(), st.uuids(), st.uuids(), instants(), instants(), agents(), agents(),
            agents(), _authorities(), _authorities(),
            evidences=st.lists(evidences(), min_size=1, max_size=2).map(tuple), **_COMMON,
        ),
        st.builds(
            GetEvidenceResponse,
            st.uuids(), st.uuids(), st.uuids(), instants(), instants(), agents(), agents(),
            agents(), _authorities(), _authorities(), available_at=instants(), **_COMMON,
        ),
    ),
    "0413": st.builds(
        GetEvidenceErrorResponse,
        st.uuids(), st.uuids(), st.uuids(), instants(), instants(), agents(), agents(),
        _ERRORS, _authorities(), _authorities(), **_COMMON,
    ),
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(MESSAGES))
@given(data=st.data())
@round_trip_settings
def test_messages_round_trip(kind: str, data: st.DataObject, xnachweis_check: Check) -> None:
    """Any valid 03xx/04xx message builds into oracle-valid XML that parses back equal."""
    message = data.draw(MESSAGES[kind])
    built = messages.to_bytes(message)
    assert xnachweis_check(built) == []
    assert reparse(message) == message


# --- what the parser refuses ------------------------------------------------------------------


def test_national_parse_refuses_eu_messages() -> None:
    """By default parse accepts only 0101–0103: a 0401 reaching a national participant is
    refused before it is used."""
    data = messages.to_bytes(order(ManualClock(START)))
    with pytest.raises(MalformedMessage, match=r"DE\.EvidenceOrder\.0401 is a message of the EU"):
        messages.parse(xml.parse(data))


def test_parse_with_an_expected_class_refuses_another_type() -> None:
    """parse(element, GetEvidence) refuses an order, naming both types."""
    data = messages.to_bytes(order(ManualClock(START)))
    assert messages.parse(xml.parse(data), EvidenceOrder) == messages.parse(
        xml.parse(data), messages.ANY
    )
    with pytest.raises(MalformedMessage, match=r"expected DE\.GetEvidence\.0411"):
        messages.parse(xml.parse(data), GetEvidence)


def _variant(message: messages.Message, old: bytes, new: bytes) -> bytes:
    data = messages.to_bytes(message)
    assert old in data
    return data.replace(old, new, 1)


def test_0301_in_0101_order_is_refused() -> None:
    """A 0301 with IssuedToken after the provider (the 0101's order) is refused by name."""
    root = messages.build(eu_request(ManualClock(START)))
    token = root.find(f"{{{messages.NS_DE}}}IssuedToken")
    assert token is not None
    root.remove(token)
    root.find(f"{{{messages.NS_DE}}}EvidenceProvider").addnext(token)  # type: ignore[union-attr]
    with pytest.raises(MalformedMessage, match="IssuedToken"):
        messages.parse(root, messages.ANY)


def test_order_provider_must_be_classified_as_platform() -> None:
    """The 0401's EvidenceProvider is the IP: classification EP is refused."""
    data = _variant(order(ManualClock(START)), b"<code>IP</code>", b"<code>EP</code>")
    with pytest.raises(MalformedMessage, match="classification must be 'IP'"):
        messages.parse(xml.parse(data), messages.ANY)


def test_0412_with_two_providers_of_one_classification_is_refused() -> None:
    """A 0412 needs one EP and one IP provider; two EPs are refused."""
    data = _variant(all_samples()[8], b"<code>IP</code>", b"<code>EP</code>")
    with pytest.raises(MalformedMessage, match="occurs twice"):
        messages.parse(xml.parse(data), messages.ANY)


def test_conversation_id_must_be_an_ncname() -> None:
    """A ConversationID starting with a digit (not an xs:ID) is refused by model and parser."""
    with pytest.raises(ValueError, match="NCName"):
        messages.conversation_id("1abc")
    get = all_samples()[7]
    assert isinstance(get, GetEvidence)
    data = _variant(get, get.conversation_id.encode(), b"1abc")
    with pytest.raises(MalformedMessage, match="NCName"):
        messages.parse(xml.parse(data), messages.ANY)


def test_new_conversation_ids_are_fresh_ncnames() -> None:
    """new_conversation_id gives a different valid xs:ID each time."""
    first, second = messages.new_conversation_id(), messages.new_conversation_id()
    assert first != second
    assert messages.conversation_id(first) == first


def test_requirement_identifier_must_be_a_semantic_repository_uuid() -> None:
    """A requirement id outside https://sr.oots.tech.ec.europa.eu/requirements/<uuid> is
    refused (the schema's pattern)."""
    with pytest.raises(ValueError, match="requirement identifier"):
        Requirement("https://example.org/requirements/1", "x")


def test_back_url_must_be_an_absolute_http_url() -> None:
    """BackToEvidenceRequesterURL must be an absolute http(s) URL."""
    with pytest.raises(ValueError, match="back URL"):
        EvidenceOrder.new(
            requester=ONLINE_SERVICE,
            platform=PLATFORM,
            procedure="T3",
            evidence_type=DEGREE,
            subject=sample_person(),
            back_url="javascript:alert(1)",
            clock=ManualClock(START),
        )


def test_0412_with_two_availability_times_is_refused_as_unsupported() -> None:
    """The schema allows several ResponseAvailableDateTime; noots refuses more than one."""
    message = all_samples()[9]
    root = messages.build(message)
    availability = root.find(f"{{{messages.NS_DE}}}EvidenceAvailability")
    assert availability is not None
    availability.append(etree.fromstring(etree.tostring(availability[0])))
    with pytest.raises(MalformedMessage, match="exactly one ResponseAvailableDateTime"):
        messages.parse(root, messages.ANY)


# --- answering --------------------------------------------------------------------------------


def test_answers_to_a_0301_are_0302_and_0303_echoing_the_request() -> None:
    """answer_with_evidence / answer_with_error answer a 0301 with a 0302 / 0303."""
    samples = all_samples()
    request = samples[0]
    assert isinstance(request, EuEvidenceRequest)
    for answer in samples[1:4]:
        assert isinstance(answer, EuEvidenceResponse | EuEvidenceErrorResponse)
        assert answer.request_id == request.request_id
        assert (answer.reader, answer.author) == (request.author, request.reader)
        assert answer.requester == request.requester
    assert isinstance(samples[2], EuEvidenceResponse)
    assert samples[2].pending


def test_order_answer_echoes_the_order_id_and_swaps_the_head() -> None:
    """The 0402 names the order it answers and goes back to the online service."""
    samples = all_samples()
    the_order, response = samples[4], samples[5]
    assert isinstance(the_order, EvidenceOrder)
    assert isinstance(response, EvidenceOrderResponse)
    assert response.order_id == the_order.order_id
    assert (response.reader, response.author) == (the_order.author, the_order.reader)
    refusal = samples[6]
    assert isinstance(refusal, EvidenceOrderErrorResponse)
    assert refusal.request_id == the_order.order_id
    assert refusal.error_provider == PLATFORM


@pytest.mark.parametrize("url", ["http://x/%", "http://x/%zz", "https://x/a b"])
def test_urls_the_schema_refuses_are_refused_by_the_model(url: str) -> None:
    """A bare % or white space in URLtoIP/BackToEvidenceRequesterURL (invalid xs:anyURI for
    the oracle) is refused when the message is made (found by the round trip above)."""
    with pytest.raises(ValueError, match="bare %"):
        messages.answer_order(
            order(ManualClock(START)), url_to_ip=url, conversation="c1", clock=ManualClock(START)
        )
