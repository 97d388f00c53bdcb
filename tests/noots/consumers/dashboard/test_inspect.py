"""noots.consumers.dashboard._inspect: a signed message explained, broken and hostile ones too."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from noots import messages
from noots.consumers.dashboard._inspect import explain_document
from noots.envelope import EnvelopeHeader, seal
from noots.pki import Role
from noots.testing.messages import sample_request
from noots.testing.pki import TestPki
from noots.xml import serialize

BPA = "08118079-BPA-87"
KBA = "991-01234ZFZR-41"


@pytest.fixture(scope="module")
def pki() -> Iterator[TestPki]:
    with TestPki() as test_pki:
        yield test_pki


def signed_request(pki: TestPki, *, token: str = "") -> bytes:
    request = sample_request(pki.clock, issued_token=token)
    header = EnvelopeHeader(
        message_id=request.message_uuid,
        sender=BPA,
        recipient=KBA,
        service_id=f"urn:noots:service:{KBA}:Fahrzeughalterauskunft",
        created=pki.clock.now(),
        purpose="Bewohnerparkausweis",
    )
    return seal(header, messages.build(request), pki.signer(BPA, Role.CONSUMER))


def explain(pki: TestPki, xml: bytes) -> dict[str, Any]:
    return explain_document(
        xml,
        label="Anfrage",
        verifier=pki.verifier(),
        validator=pki.validator(),
        clock=pki.clock,
    )


def test_a_valid_request_is_verified_and_explained(pki: TestPki) -> None:
    """Kind, header, signature parts, a passed chain and indented XML."""
    doc = explain(pki, signed_request(pki))
    assert doc["kind"] == (
        "Signierter Transportumschlag mit Nachweisanfrage (XNachweis DE.EvidenceRequest.0101)"
    )
    assert doc["verification"]["ok"]
    assert dict(doc["header"])["Empfänger"] == KBA
    assert dict(doc["header"])["IDNr des Nachweissubjekts"] == "02476291358"
    items = {item["name"]: item for item in doc["signature"]["items"]}
    assert items["Signaturverfahren"]["meaning"] == "RSA mit SHA-256"
    assert items["Referenz"]["meaning"] == "das ganze Dokument"
    assert all(step["ok"] for step in doc["certificate"]["chain"])
    assert dict(doc["certificate"]["details"])["Teilnehmer-ID (CN)"] == BPA
    assert dict(doc["certificate"]["details"])["Rolle (OU)"].startswith("consumer")
    assert doc["pretty"].count("\n") > 20
    assert doc["nested"] == []


def test_times_are_berlin_time_beside_the_signed_value(pki: TestPki) -> None:
    """The envelope's Created, the certificate's validity and the date of birth read as a
    German reader expects; the signed UTC value stays visible beside the time."""
    from noots.clock import format_utc
    from noots.web import german_datetime

    doc = explain(pki, signed_request(pki))
    header = dict(doc["header"])
    now = pki.clock.now()
    created = german_datetime(now, seconds=True)
    assert header["Erstellt"] == f"{created} ({format_utc(now, millis=True)})"
    assert header["Nachweissubjekt"].endswith(", geboren 12.08.1964")
    details = dict(doc["certificate"]["details"])
    assert details["Gültig bis"].endswith(" Uhr")
    assert "UTC" not in details["Gültig bis"]


def test_a_changed_byte_fails_the_signature_not_the_chain(pki: TestPki) -> None:
    """Tampering shows as an invalid signature while the certificate path still holds."""
    raw = signed_request(pki).replace(b"Bewohnerparkausweis", b"Bewohnerparkauswejs", 1)
    doc = explain(pki, raw)
    assert not doc["verification"]["ok"]
    assert doc["verification"]["text"].startswith("Signatur ungültig")
    assert doc["certificate"]["chain"][-1]["ok"]


def test_a_revoked_signer_is_red_in_the_crl_step(pki: TestPki) -> None:
    """A revoked certificate: the CRL step and the overall check fail, and say so."""
    raw = signed_request(pki)
    pki.revoke(BPA)
    try:
        doc = explain(pki, raw)
    finally:
        pki.credential(BPA, Role.CONSUMER)  # fresh certificate for the other tests
    chain = {step["name"]: step for step in doc["certificate"]["chain"]}
    assert not chain["Sperrliste (CRL)"]["ok"]
    assert chain["Sperrliste (CRL)"]["text"].startswith("gesperrt am")
    assert chain["Gesamtprüfung"]["text"].startswith("Zertifikat gesperrt")
    assert not doc["verification"]["ok"]


def test_an_expired_signer_fails_the_validity_step(pki: TestPki) -> None:
    """Past the certificate's end the validity step is red."""
    raw = signed_request(pki)
    pki.clock.advance(timedelta(days=400))
    try:
        doc = explain(pki, raw)
    finally:
        pki.clock.advance(timedelta(days=-400))
    chain = {step["name"]: step["ok"] for step in doc["certificate"]["chain"]}
    assert chain["Gültigkeitszeitraum"] is False
    assert doc["verification"]["text"].startswith("Zertifikat abgelaufen")


def test_the_token_inside_is_explained_as_well(pki: TestPki) -> None:
    """A base64 signed document in IssuedToken is decoded and explained on its own."""
    token_root = messages.build(sample_request(pki.clock))
    signed_token = serialize(pki.signer("noots-vs", Role.VS).sign(token_root))
    doc = explain(pki, signed_request(pki, token=base64.b64encode(signed_token).decode()))
    [nested] = doc["nested"]
    assert nested["label"] == "Berechtigungstoken der Vermittlungsstelle"
    assert nested["verification"]["ok"]
    assert "noots-vs" in nested["verification"]["text"]


def test_unsigned_and_non_xml_documents_are_described_not_refused(pki: TestPki) -> None:
    """No signature: no verdict; not XML: the parser's reason and the raw text."""
    unsigned = explain(pki, serialize(messages.build(sample_request(pki.clock))))
    assert unsigned["signature"] is None
    assert unsigned["verification"] is None
    broken = explain(pki, b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>")
    assert broken["kind"] == "Kein verarbeitbares XML"
    assert broken["problem"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.integers(min_value=0, max_value=6000), flip=st.integers(min_value=0, max_value=255))
def test_any_mangled_envelope_is_explained_without_an_exception(
    pki: TestPki, cut: int, flip: int
) -> None:
    """Truncated or bit-flipped signed bytes always give an explanation, never a crash."""
    raw = bytearray(signed_request(pki))
    position = cut % len(raw)
    raw[position] ^= flip
    doc = explain(pki, bytes(raw[: max(position, 1)] if flip == 0 else raw))
    assert doc["kind"]
    assert doc["size"] == len(raw[: max(position, 1)] if flip == 0 else raw)
