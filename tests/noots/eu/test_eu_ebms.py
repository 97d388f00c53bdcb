"""Tests for noots.eu.ebms: the signed ebMS3 user message of the simulated eDelivery."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from noots.clock import ManualClock
from noots.errors import (
    CertificateUntrusted,
    MalformedMessage,
    NootsError,
    SenderMismatch,
    SignatureInvalid,
)
from noots.eu import ebms, edm
from noots.eu.edm import Attachment
from noots.pki import Role
from noots.signing import XmlSigner
from noots.testing.eu import FRENCH_AUTHORITY, GERMAN_IP, sample_query
from noots.testing.pki import TestPki
from noots.xml import serialize

START = datetime(2026, 11, 22, 9, 14, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def pki() -> Iterator[TestPki]:
    with TestPki(clock=ManualClock(START)) as value:
        yield value


def message(*attachments: Attachment, action: str = ebms.ACTION_REQUEST) -> ebms.UserMessage:
    return ebms.UserMessage.new(
        edm_document=edm.to_bytes(sample_query(ManualClock(START))),
        attachments=attachments,
        from_party="eu-gw-fr",
        to_party="eu-gw-de",
        action=action,
        original_sender=ebms.PartyProperty.of(FRENCH_AUTHORITY),
        final_recipient=ebms.PartyProperty.of(GERMAN_IP),
        clock=ManualClock(START),
    )


def sealed(pki: TestPki, value: ebms.UserMessage, signer: str = "eu-gw-fr") -> bytes:
    return ebms.seal_user_message(value, XmlSigner(pki.credential(signer, Role.SIMULATOR)))


def test_sealed_message_opens_to_the_same_message(pki: TestPki) -> None:
    """A sealed user message opens (signature, header, parts) to exactly what was sealed."""
    original = message(Attachment("doc-1@noots.eu", "application/pdf", b"%PDF-1.4 x"))
    opened = ebms.open_user_message(sealed(pki, original), pki.verifier())
    assert opened.message == original
    assert opened.signer.participant_id == "eu-gw-fr"
    assert opened.message.attachments["doc-1@noots.eu"].data == b"%PDF-1.4 x"


def test_header_carries_the_oots_values(pki: TestPki) -> None:
    """The ebMS3 header has the OOTS service, type, action, role, properties and MIME type."""
    data = sealed(pki, message())
    for fragment in (
        b'<eb:Service type="urn:oasis:names:tc:ebcore:ebrs:ebms:binding:1.0">QueryManager<',
        b"<eb:Action>ExecuteQueryRequest</eb:Action>",
        b"<eb:Role>http://sdg.europa.eu/edelivery/gateway</eb:Role>",
        b'name="originalSender" type="urn:cef.eu:names:identifier:EAS:0009">21690123100011<',
        b'name="finalRecipient" type="urn:cef.eu:names:identifier:EAS:0204">noots-ip<',
        b'<eb:Property name="MimeType">application/x-ebrs+xml</eb:Property>',
    ):
        assert fragment in data


def test_tampered_message_is_refused(pki: TestPki) -> None:
    """Changing one signed byte (here the final recipient) fails the signature."""
    data = sealed(pki, message()).replace(b">noots-ip<", b">noots-xx<")
    with pytest.raises(SignatureInvalid):
        ebms.open_user_message(data, pki.verifier())


def test_sender_must_be_the_signer(pki: TestPki) -> None:
    """A message whose From/PartyId is not the signing gateway is refused."""
    with pytest.raises(SenderMismatch):
        ebms.open_user_message(sealed(pki, message(), signer="eu-gw-at"), pki.verifier())


def test_message_of_another_trust_anchor_is_refused(pki: TestPki) -> None:
    """A message signed under a foreign CA is refused before it is read."""
    with TestPki(clock=ManualClock(START)) as other:
        data = sealed(other, message())
    with pytest.raises(CertificateUntrusted):
        ebms.open_user_message(data, pki.verifier())


def test_undeclared_part_is_refused(pki: TestPki) -> None:
    """A payload part that PayloadInfo does not declare is refused (checked on the signed
    element, so the signer itself must have put it there)."""
    original = message()
    root = ebms._build(original)
    parts = root.find(f"{{{ebms.NS_SOAP}}}Body/{{{ebms.NS_SIM}}}Parts")
    assert parts is not None
    extra = parts.makeelement(f"{{{ebms.NS_SIM}}}Part", contentId="extra@x")
    extra.text = "eA=="
    parts.append(extra)
    signer = XmlSigner(pki.credential("eu-gw-fr", Role.SIMULATOR))
    with pytest.raises(MalformedMessage, match="do not match PayloadInfo"):
        ebms.open_user_message(serialize(signer.sign(root)), pki.verifier())


def test_first_part_must_be_the_edm_document() -> None:
    """A message whose first part is not application/x-ebrs+xml cannot be built."""
    with pytest.raises(MalformedMessage, match="first payload part"):
        ebms.UserMessage(
            "m@x",
            START,
            "a",
            "b",
            ebms.ACTION_REQUEST,
            "c",
            ebms.PartyProperty.of(FRENCH_AUTHORITY),
            ebms.PartyProperty.of(GERMAN_IP),
            (Attachment("p@x", "application/pdf", b""),),
        )


@given(data=st.binary(max_size=2000))
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_hostile_bytes_get_a_typed_error(pki: TestPki, data: bytes) -> None:
    """Whatever bytes arrive, opening either succeeds or raises a typed noots error."""
    with contextlib.suppress(NootsError):
        ebms.open_user_message(data, pki.verifier())
