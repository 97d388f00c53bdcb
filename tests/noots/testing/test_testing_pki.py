"""noots.testing.pki: the ready-made test PKI other test suites build on."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from noots.errors import CertificateExpired, CertificateRevoked, CertificateUntrusted
from noots.pki import KeyType, Role
from noots.testing.pki import TestPki, pooled_key, sample_envelope
from noots.xml import parse, serialize

PID = "08118079-BPA-87"


def test_credentials_are_cached_per_participant_and_key_type() -> None:
    """The same participant and key type give the same credential; another key type coexists."""
    with TestPki() as pki:
        rsa_cred = pki.credential(PID, Role.CONSUMER)
        assert pki.credential(PID, Role.CONSUMER) is rsa_cred
        ec_cred = pki.credential(PID, Role.CONSUMER, key_type=KeyType.ECDSA_P256)
        assert ec_cred.key_type is KeyType.ECDSA_P256
        validator = pki.validator()
        validator.validate(rsa_cred.certificate)  # not revoked by the second key type
        validator.validate(ec_cred.certificate)


def test_participant_keys_are_pooled_but_roots_are_not() -> None:
    """Two TestPkis reuse a participant's key, yet each has its own root key."""
    with TestPki() as first, TestPki() as second:
        a = first.credential(PID)
        b = second.credential(PID)
        assert a.private_key is b.private_key is pooled_key(PID)
        assert first.ca.trust_anchor.public_key() != second.ca.trust_anchor.public_key()
        with pytest.raises(CertificateUntrusted):
            first.validator().validate(b.certificate)


def test_role_conflict_is_an_error() -> None:
    """Asking for a cached participant with another role is a test set-up error."""
    with TestPki() as pki:
        pki.credential(PID, Role.CONSUMER)
        with pytest.raises(ValueError, match="already has role"):
            pki.credential(PID, Role.PROVIDER)


def test_signer_verifier_clock_revoke_and_reissue() -> None:
    """signer()/verifier() round trip; revoke and clock moves take effect; reissue recovers."""
    with TestPki(key_type=KeyType.ECDSA_P256) as pki:
        raw = serialize(pki.signer(PID, Role.PROVIDER).sign(sample_envelope()))
        verifier = pki.verifier()
        assert verifier.verify(parse(raw), required_role=Role.PROVIDER).signer.participant_id == PID
        pki.revoke(PID)
        with pytest.raises(CertificateRevoked):
            verifier.verify(parse(raw))
        fresh = pki.reissue(PID, Role.PROVIDER)
        assert pki.credential(PID, Role.PROVIDER) is fresh
        raw = serialize(pki.signer(PID, Role.PROVIDER).sign(sample_envelope()))
        verifier.verify(parse(raw))
        pki.clock.advance(timedelta(days=366))
        with pytest.raises(CertificateExpired):
            verifier.verify(parse(raw))


def test_close_removes_own_directory_only(tmp_path: Path) -> None:
    """close() deletes the temporary directory it created, never one it was given."""
    pki = TestPki()
    own = pki.directory
    assert (own / "ca" / "root-cert.pem").is_file()
    pki.close()
    assert not own.exists()
    given = tmp_path / "given"
    with TestPki(given):
        pass
    assert (given / "ca" / "root-cert.pem").is_file()


def test_sample_envelope_is_envelope_sized() -> None:
    """The sample envelope has header and body and is in the 5-8 KB range of real envelopes."""
    envelope = sample_envelope()
    size = len(serialize(envelope))
    assert 4_000 < size < 8_000
    assert [child.tag.split("}")[1] for child in envelope] == ["Header", "Body"]
