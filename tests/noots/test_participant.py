"""noots.participant: a service loads its identity without the CA's private key."""

from __future__ import annotations

from datetime import timedelta

import pytest

from noots.clock import ManualClock
from noots.errors import CertificateRevoked
from noots.participant import load_participant
from noots.pki import CertificateAuthority, Role, UnknownParticipant
from noots.xml import parse


@pytest.fixture
def ca(tmp_path):
    clock = ManualClock()
    authority = CertificateAuthority.create(tmp_path / "pki", clock=clock)
    authority.issue("08118079-BPA-87", Role.CONSUMER)
    authority.issue("991-01234ZFZR-41", Role.PROVIDER)
    return authority, clock


def test_participant_signs_and_peer_verifies(ca, tmp_path):
    """A document signed by one loaded participant verifies with another's verifier."""
    _, clock = ca
    consumer = load_participant(tmp_path / "pki", "08118079-BPA-87", clock=clock)
    provider = load_participant(tmp_path / "pki", "991-01234ZFZR-41", clock=clock)
    signed = consumer.signer.sign(parse(b"<a><b>x</b></a>"))
    verified = provider.verifier.verify(signed, required_role=Role.CONSUMER)
    assert verified.signer.participant_id == "08118079-BPA-87"
    assert consumer.role is Role.CONSUMER


def test_revocation_reaches_a_loaded_participant_at_once(ca, tmp_path):
    """Revoking in the CA is seen by an already-loaded participant's verifier."""
    authority, clock = ca
    consumer = load_participant(tmp_path / "pki", "08118079-BPA-87", clock=clock)
    provider = load_participant(tmp_path / "pki", "991-01234ZFZR-41", clock=clock)
    signed = consumer.signer.sign(parse(b"<a/>"))
    provider.verifier.verify(signed)
    clock.advance(timedelta(seconds=1))
    authority.revoke("08118079-BPA-87")
    with pytest.raises(CertificateRevoked):
        provider.verifier.verify(signed)


def test_unknown_participant_is_a_clear_error(ca, tmp_path):
    """Loading a participant the CA never issued names it."""
    _, clock = ca
    with pytest.raises(UnknownParticipant, match="nobody"):
        load_participant(tmp_path / "pki", "nobody", clock=clock)


def test_participant_repr_hides_the_key(ca, tmp_path):
    """The participant's repr never shows key material."""
    _, clock = ca
    consumer = load_participant(tmp_path / "pki", "08118079-BPA-87", clock=clock)
    assert "PRIVATE" not in repr(consumer)
    assert "key" not in repr(consumer).lower()
