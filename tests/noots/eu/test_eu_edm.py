"""Tests for noots.eu.edm: EDM 2.0 messages on RegRep 4, built and parsed strictly."""

# ruff: noqa: E501  (the XML and its broken variants read best unwrapped)

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from noots import xml
from noots.clock import ManualClock
from noots.errors import EdmCode, MalformedMessage, NootsError, UnsupportedCapability
from noots.eu import edm
from noots.eu.edm import (
    EdmError,
    EdmEvidence,
    EdmNaturalPerson,
    QueryErrorResponse,
    QueryRequest,
    QueryResponse,
)
from noots.messages import UnlistedErrorCode
from noots.testing.eu import (
    BIRTH_CERTIFICATE,
    FRENCH_AUTHORITY,
    GERMAN_IP,
    error_responses,
    query_requests,
    query_responses,
    sample_query,
)

START = datetime(2026, 11, 22, 9, 14, 5, tzinfo=UTC)
round_trip = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# A request shaped like those other member states' implementations send (prefixes of their
# own, pretty-printed, slots in another order, the IP as second requester, EDM 1.x procedure).
FOREIGN_REQUEST = b"""<?xml version="1.0" encoding="UTF-8"?>
<q:QueryRequest xmlns:q="urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0"
    xmlns:r="urn:oasis:names:tc:ebxml-regrep:xsd:rim:4.0"
    xmlns:x="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:s="http://data.europa.eu/p4s"
    id="urn:uuid:0b7e1e4c-3a57-4d2a-9e0b-6a1f1d5c2e10">
  <r:Slot name="IssueDateTime">
    <r:SlotValue x:type="r:DateTimeValueType"><r:Value>2026-11-22T10:14:05.000+01:00</r:Value></r:SlotValue>
  </r:Slot>
  <r:Slot name="SpecificationIdentifier">
    <r:SlotValue x:type="r:StringValueType"><r:Value>oots-edm:v2.0</r:Value></r:SlotValue>
  </r:Slot>
  <r:Slot name="Procedure">
    <r:SlotValue x:type="r:InternationalStringValueType">
      <r:Value><r:LocalizedString xml:lang="EN" value="R1"/></r:Value>
    </r:SlotValue>
  </r:Slot>
  <r:Slot name="PossibilityForPreview">
    <r:SlotValue x:type="r:BooleanValueType"><r:Value>true</r:Value></r:SlotValue>
  </r:Slot>
  <r:Slot name="ExplicitRequestGiven">
    <r:SlotValue x:type="r:BooleanValueType"><r:Value>true</r:Value></r:SlotValue>
  </r:Slot>
  <r:Slot name="EvidenceRequester">
    <r:SlotValue x:type="r:CollectionValueType"
        collectionType="urn:oasis:names:tc:ebxml-regrep:CollectionType:Set">
      <r:Element x:type="r:AnyValueType">
        <s:Agent>
          <s:Identifier schemeID="urn:cef.eu:names:identifier:EAS:0009">21690123100011</s:Identifier>
          <s:Name lang="FR">Mairie de Lyon, \xc3\x89tat civil</s:Name>
          <s:Address><s:AdminUnitLevel1>FR</s:AdminUnitLevel1></s:Address>
          <s:Classification>ER</s:Classification>
        </s:Agent>
      </r:Element>
      <r:Element x:type="r:AnyValueType">
        <s:Agent>
          <s:Identifier schemeID="urn:oasis:names:tc:ebcore:partyid-type:unregistered:FR">OOTSFR</s:Identifier>
          <s:Name lang="EN">French Intermediary Platform</s:Name>
          <s:Classification>IP</s:Classification>
        </s:Agent>
      </r:Element>
    </r:SlotValue>
  </r:Slot>
  <r:Slot name="EvidenceProvider">
    <r:SlotValue x:type="r:AnyValueType">
      <s:Agent>
        <s:Identifier schemeID="urn:cef.eu:names:identifier:EAS:0204">noots-ip</s:Identifier>
        <s:Name lang="DE">Intermedi\xc3\xa4re Plattform</s:Name>
      </s:Agent>
    </r:SlotValue>
  </r:Slot>
  <q:ResponseOption returnType="LeafClassWithRepositoryItem"/>
  <q:Query queryDefinition="DocumentQuery">
    <r:Slot name="NaturalPerson">
      <r:SlotValue x:type="r:AnyValueType">
        <s:Person>
          <s:LevelOfAssurance>High</s:LevelOfAssurance>
          <s:Identifier schemeID="eidas">FR/DE/123123123</s:Identifier>
          <s:FamilyName>Mustermann</s:FamilyName>
          <s:GivenName>Erika</s:GivenName>
          <s:DateOfBirth>1964-08-12</s:DateOfBirth>
        </s:Person>
      </r:SlotValue>
    </r:Slot>
    <r:Slot name="EvidenceRequest">
      <r:SlotValue x:type="r:AnyValueType">
        <s:DataServiceEvidenceType xmlns="urn:oasis:names:tc:ebxml-regrep:xsd:rim:4.0">
          <s:Identifier>0f1b6c56-2b1c-4d8f-9f3e-6c5f1d2a7b11</s:Identifier>
          <s:EvidenceTypeClassification>https://sr.oots.tech.ec.europa.eu/evidencetypeclassifications/ec/12cf6fb9-4dcf-4419-933a-04d11f8eef36</s:EvidenceTypeClassification>
          <s:Title lang="EN">Certificate of Birth</s:Title>
          <s:Title lang="FR">Acte de naissance</s:Title>
          <s:DistributedAs><s:Format>application/xml</s:Format><s:Language>DE</s:Language></s:DistributedAs>
        </s:DataServiceEvidenceType>
      </r:SlotValue>
    </r:Slot>
  </q:Query>
</q:QueryRequest>
"""


def reparse(message: edm.EdmMessage) -> edm.EdmMessage:
    parts = {part.content_id: part for part in edm.attachments_of(message)}
    return edm.parse(xml.parse(edm.to_bytes(message)), parts)


@given(request=query_requests())
@round_trip
def test_requests_round_trip(request: QueryRequest) -> None:
    """Any valid QueryRequest builds and parses back to an equal value."""
    assert reparse(request) == request


@given(response=query_responses())
@round_trip
def test_responses_round_trip(response: QueryResponse) -> None:
    """Any valid QueryResponse (evidence or availability) builds and parses back equal,
    its evidence documents carried as attachments."""
    assert reparse(response) == response


@given(response=error_responses())
@round_trip
def test_error_responses_round_trip(response: QueryErrorResponse) -> None:
    """Any valid error response (the preview case included) builds and parses back equal."""
    assert reparse(response) == response


def test_foreign_request_is_read() -> None:
    """A request with other prefixes, pretty-printing, slot order, an IP requester and the
    EDM 1.x procedure form is read into the same model."""
    request = edm.parse(xml.parse(FOREIGN_REQUEST))
    assert isinstance(request, QueryRequest)
    assert request.requester.identifier == FRENCH_AUTHORITY.identifier
    assert request.platform is not None
    assert request.platform.classification == "IP"
    assert request.procedure == "R1"
    assert request.possibility_for_preview is True
    assert request.evidence_type.classification == BIRTH_CERTIFICATE.classification
    assert request.evidence_type.language == "DE"
    assert request.subject == EdmNaturalPerson(
        "Mustermann", "Erika", date(1964, 8, 12), identifier="FR/DE/123123123"
    )
    assert request.issue_datetime == datetime(2026, 11, 22, 9, 14, 5, tzinfo=UTC)


def test_request_shape_follows_the_edm() -> None:
    """The built request carries the EDM slots with their value types and collection types."""
    root = edm.build(sample_query(ManualClock(START), preview=True))
    slots = {
        slot.get("name"): slot[0].get(f"{{{edm.NSMAP['xsi']}}}type")
        for slot in root.iterchildren(f"{{{edm.NS_RIM}}}Slot")
    }
    assert slots == {
        "SpecificationIdentifier": "rim:StringValueType",
        "IssueDateTime": "rim:DateTimeValueType",
        "Procedure": "rim:StringValueType",
        "PossibilityForPreview": "rim:BooleanValueType",
        "ExplicitRequestGiven": "rim:BooleanValueType",
        "EvidenceRequester": "rim:CollectionValueType",
        "EvidenceProvider": "rim:AnyValueType",
    }
    data = etree.tostring(root)
    assert b"<rim:Value>oots-edm:v2.0</rim:Value>" in data
    assert b'collectionType="urn:oasis:names:tc:ebxml-regrep:CollectionType:Set"' in data
    assert b'<query:Query queryDefinition="DocumentQuery">' in data
    assert b'returnType="LeafClassWithRepositoryItem"' in data


@pytest.mark.parametrize("code", list(EdmCode))
def test_each_code_has_its_exception_type(code: EdmCode) -> None:
    """An error response names the EDM exception type of its code."""
    clock = ManualClock(START)
    answer = edm.answer_with_error(sample_query(clock), EdmError.of(code, clock=clock))
    data = edm.to_bytes(answer)
    namespace, local = edm.EXCEPTION_TYPES[code]
    prefix = "rs" if namespace == edm.NS_RS else "query"
    assert f'xsi:type="{prefix}:{local}"'.encode() in data
    assert f'code="{code.value}"'.encode() in data
    assert f'severity="{edm.SEVERITY_ERROR}"'.encode() in data


def test_preview_required_error() -> None:
    """The preview case is EDM:ERR:0002, severity PreviewRequired, with PreviewLocation."""
    clock = ManualClock(START)
    error = EdmError(
        EdmCode.AUTHORISATION,
        "Missing Authorization",
        preview_location="https://ip.example.de/preview/abc",
        timestamp=START,
    )
    answer = edm.answer_with_error(sample_query(clock, preview=True), error)
    data = edm.to_bytes(answer)
    assert f'severity="{edm.SEVERITY_PREVIEW_REQUIRED}"'.encode() in data
    assert b'xsi:type="rs:AuthorizationExceptionType"' in data
    parsed = edm.parse(xml.parse(data))
    assert isinstance(parsed, QueryErrorResponse)
    assert parsed.error.preview_required


def test_preview_location_needs_code_0002() -> None:
    """A preview location with another code is refused by the model."""
    with pytest.raises(ValueError, match="EDM:ERR:0002"):
        EdmError(EdmCode.NOT_FOUND, "x", preview_location="https://x.example/p")


def test_unlisted_code_is_kept() -> None:
    """An exception code outside EDM:ERR:0001…0008 is read and kept (query exception type)."""
    clock = ManualClock(START)
    answer = edm.answer_with_error(sample_query(clock), EdmError("DE:ERR:0042", "national"))
    parsed = reparse(answer)
    assert isinstance(parsed, QueryErrorResponse)
    assert isinstance(parsed.code, UnlistedErrorCode)
    assert parsed.code == "DE:ERR:0042"


def test_response_without_its_attachment_is_refused() -> None:
    """A RepositoryItemRef whose payload part is missing is refused by name."""
    clock = ManualClock(START)
    request = sample_query(clock)
    evidence = EdmEvidence.new(
        b"<doc/>",
        subject=request.subject,
        issuing_authority=GERMAN_IP,
        evidence_type=request.evidence_type,
        clock=clock,
    )
    data = edm.to_bytes(edm.answer_with_evidence(request, evidence, clock=clock))
    with pytest.raises(MalformedMessage, match="no payload part"):
        edm.parse(xml.parse(data), {})


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        (b"oots-edm:v2.0", b"oots-edm:v1.0", "SpecificationIdentifier"),
        (b'name="Procedure"', b'name="Procedure2"', "unexpected slot"),
        (b"x:type=\"r:BooleanValueType\"><r:Value>true", b"x:type=\"r:StringValueType\"><r:Value>true", "BooleanValueType"),
        (b"<s:Classification>ER</s:Classification>", b"<s:Classification>EP</s:Classification>", "exactly one evidence requester"),
        (b"<s:FamilyName>Mustermann</s:FamilyName>", b"", "missing element"),
        (b"urn:uuid:0b7e1e4c", b"0b7e1e4c", "urn:uuid"),
        (b"x:type=\"r:DateTimeValueType\"><r:Value>2026-11-22T10:14:05.000+01:00", b"x:type=\"r:DateTimeValueType\"><r:Value>2026-11-22T10:14:05", "time zone"),
        (b'x:type="r:StringValueType"><r:Value>oots', b'x:type="zz:StringValueType"><r:Value>oots', "undeclared prefix"),
    ],
)  # fmt: skip
def test_malformed_requests_are_refused(old: bytes, new: bytes, fragment: str) -> None:
    """Each broken variant of a valid request is refused with a MalformedMessage naming it."""
    assert old in FOREIGN_REQUEST
    data = FOREIGN_REQUEST.replace(old, new, 1)
    with pytest.raises(MalformedMessage, match=fragment):
        edm.parse(xml.parse(data))


def test_authorized_representative_is_refused_as_unsupported() -> None:
    """Valid EDM that noots does not implement (a representative) is EDM:ERR:0007."""
    data = FOREIGN_REQUEST.replace(
        b'<r:Slot name="EvidenceRequest">',
        b'<r:Slot name="AuthorizedRepresentative"><r:SlotValue x:type="r:AnyValueType">'
        b"<s:Person/></r:SlotValue></r:Slot>"
        b'<r:Slot name="EvidenceRequest">',
    )
    with pytest.raises(UnsupportedCapability):
        edm.parse(xml.parse(data))


def test_parse_refuses_other_roots() -> None:
    """Anything but query:QueryRequest / query:QueryResponse is refused."""
    with pytest.raises(MalformedMessage, match="unknown root element"):
        edm.parse(xml.parse(b"<a/>"))


@given(data=st.data())
@settings(max_examples=150, deadline=None)
def test_mutated_requests_parse_or_get_a_typed_error(data: st.DataObject) -> None:
    """Any byte-level mutation of a real-shaped request either parses or is refused with a
    noots error (never another exception)."""
    raw = bytearray(FOREIGN_REQUEST)
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(raw) - 1))
        raw[index] = data.draw(st.integers(0x20, 0x7E))
    with contextlib.suppress(NootsError):
        edm.parse(xml.parse(bytes(raw)))
