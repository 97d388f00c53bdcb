"""noots.pki: the simulated CA, its files, the CRL and certificate path validation."""

from __future__ import annotations

import contextlib
import json
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from noots.clock import ManualClock
from noots.errors import (
    CertificateExpired,
    CertificateNotYetValid,
    CertificateRequestRejected,
    CertificateRevoked,
    CertificateUntrusted,
    WrongKeyUsage,
)
from noots.pki import (
    CLOCK_SKEW,
    PARTICIPANT_ID_PATTERN,
    CertificateAuthority,
    CertificateValidator,
    FileCrlSource,
    KeyType,
    PublishedPki,
    Role,
    StaticCrlSource,
    UnknownParticipant,
    participant_id_of,
    role_of,
)
from noots.testing.pki import TestPki, pooled_key

CONSUMER = "08118079-BPA-87"
PROVIDER = "991-01234ZFZR-41"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def ca(tmp_path: Path, clock: ManualClock) -> CertificateAuthority:
    return CertificateAuthority.create(tmp_path / "pki", clock=clock)


def _issue(ca: CertificateAuthority, pid: str = CONSUMER, role: Role = Role.CONSUMER, **kw):  # type: ignore[no-untyped-def]
    kw.setdefault("private_key", pooled_key(pid, kw.get("key_type", KeyType.RSA2048)))
    return ca.issue(pid, role, **kw)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- certificates and files


def test_root_certificate_is_a_ca_with_cert_and_crl_signing(ca: CertificateAuthority) -> None:
    """The root has critical BasicConstraints CA=true and KeyUsage keyCertSign + cRLSign."""
    root = ca.trust_anchor
    constraints = root.extensions.get_extension_for_class(x509.BasicConstraints)
    usage = root.extensions.get_extension_for_class(x509.KeyUsage)
    assert constraints.critical
    assert constraints.value.ca
    assert usage.value.key_cert_sign
    assert usage.value.crl_sign
    assert not usage.value.digital_signature
    assert root.issuer == root.subject
    root.verify_directly_issued_by(root)
    assert root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)


def test_rsa_participant_certificate_subject_and_extensions(ca: CertificateAuthority) -> None:
    """An RSA participant certificate names id (CN), role (OU), O and has TLS-ready extensions."""
    cred = _issue(ca, extra_names=["kba.example", "10.1.2.3"])
    cert = cred.certificate
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == CONSUMER
    assert (
        cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "consumer"
    )
    assert (
        cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "noots Simulator"
    )
    ext = cert.extensions
    constraints = ext.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert not constraints.value.ca
    usage = ext.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature
    assert usage.key_encipherment
    assert not usage.key_cert_sign
    eku = ext.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH}
    san = ext.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "kba.example"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "10.1.2.3"]
    aki = ext.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    root_ski = ca.trust_anchor.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == root_ski.digest
    assert ext.get_extension_for_class(x509.SubjectKeyIdentifier).value == (
        x509.SubjectKeyIdentifier.from_public_key(cert.public_key())
    )
    cert.verify_directly_issued_by(ca.trust_anchor)
    assert isinstance(cred.private_key, rsa.RSAPrivateKey)
    assert cred.private_key.key_size == 2048
    assert cred.key_type is KeyType.RSA2048


def test_ecdsa_participant_certificate_uses_p256_without_key_encipherment(
    ca: CertificateAuthority,
) -> None:
    """An ECDSA credential is on P-256 and its key usage is digitalSignature only."""
    cred = ca.issue(PROVIDER, Role.PROVIDER, key_type=KeyType.ECDSA_P256)
    assert isinstance(cred.private_key, ec.EllipticCurvePrivateKey)
    assert isinstance(cred.private_key.curve, ec.SECP256R1)
    usage = cred.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature
    assert not usage.key_encipherment
    assert cred.key_type is KeyType.ECDSA_P256
    ca.validator().validate(cred.certificate, required_role=Role.PROVIDER)


def test_ecdsa_root_ca_issues_verifiable_certificates(tmp_path: Path, clock: ManualClock) -> None:
    """A root CA with an ECDSA P-256 key signs certificates and CRLs that validate."""
    ca = CertificateAuthority.create(tmp_path, clock=clock, key_type=KeyType.ECDSA_P256)
    assert isinstance(ca.trust_anchor.public_key(), ec.EllipticCurvePublicKey)
    cred = _issue(ca)
    ca.validator().validate(cred.certificate)
    ca.revoke(CONSUMER)
    with pytest.raises(CertificateRevoked):
        ca.validator().validate(cred.certificate)


def test_layout_and_private_key_modes(ca: CertificateAuthority) -> None:
    """The files sit where the plan says; private keys are 0600, certificates readable."""
    _issue(ca)
    base = ca.directory
    for name in ("ca/root-cert.pem", "ca/root-key.pem", "ca/crl.pem", "ca/index.json"):
        assert (base / name).is_file(), name
    assert _mode(base / "ca/root-key.pem") == 0o600
    assert _mode(base / f"participants/{CONSUMER}/key.pem") == 0o600
    assert _mode(base / f"participants/{CONSUMER}/cert.pem") & 0o044 == 0o044
    key = serialization.load_pem_private_key(
        (base / f"participants/{CONSUMER}/key.pem").read_bytes(), password=None
    )
    assert key.public_key() == ca.credential(CONSUMER).certificate.public_key()
    assert not list(base.rglob("*.tmp")), "temporary files left behind"


def test_concurrent_issuing_by_two_instances_loses_nothing(
    ca: CertificateAuthority, clock: ManualClock
) -> None:
    """Two CA instances issuing at the same time (file lock) keep every record in the index."""
    from concurrent.futures import ThreadPoolExecutor

    instances = [CertificateAuthority.open(ca.directory, clock=clock) for _ in range(2)]

    def issue(number: int) -> int:
        owner = instances[number % 2]
        return owner.issue(f"p-{number}", Role.PROVIDER, key_type=KeyType.ECDSA_P256).serial

    with ThreadPoolExecutor(4) as pool:
        serials = set(pool.map(issue, range(12)))
    assert {record.serial for record in ca.records()} == serials
    assert ca.participants() == sorted(f"p-{n}" for n in range(12))


def test_reissued_key_file_stays_private(ca: CertificateAuthority) -> None:
    """Re-issuing replaces the key file atomically and it is still 0600."""
    _issue(ca)
    ca.issue(CONSUMER, Role.CONSUMER, key_type=KeyType.ECDSA_P256)
    assert _mode(ca.directory / f"participants/{CONSUMER}/key.pem") == 0o600


def test_index_tracks_serials_status_and_revocation(
    ca: CertificateAuthority, clock: ManualClock
) -> None:
    """index.json records each serial with participant, role, status and revocation time."""
    first = _issue(ca)
    clock.advance(timedelta(minutes=5))
    second = ca.issue(CONSUMER, Role.CONSUMER, key_type=KeyType.ECDSA_P256)
    index = json.loads(ca.index_path.read_text())
    rows = {int(item["serial"], 16): item for item in index["certificates"]}
    assert rows[first.serial]["status"] == "revoked"
    assert rows[first.serial]["revoked_at"].startswith("2026-11-22T09:05:00")
    assert rows[second.serial]["status"] == "valid"
    assert rows[second.serial]["participant"] == CONSUMER
    assert rows[second.serial]["role"] == "consumer"
    assert [r.status for r in ca.records()] == ["revoked", "valid"]
    assert ca.participants() == [CONSUMER]


def test_reissue_replaces_credential_and_revokes_old_serial(ca: CertificateAuthority) -> None:
    """Re-issuing a participant revokes the old certificate and the new one is current."""
    old = _issue(ca)
    new = ca.issue(CONSUMER, Role.CONSUMER, key_type=KeyType.ECDSA_P256)
    validator = ca.validator()
    with pytest.raises(CertificateRevoked):
        validator.validate(old.certificate)
    assert validator.validate(new.certificate).participant_id == CONSUMER
    assert ca.credential(CONSUMER).serial == new.serial


def test_issue_without_replace_keeps_earlier_certificate_valid(ca: CertificateAuthority) -> None:
    """replace=False (key rollover) leaves the earlier certificate valid."""
    old = _issue(ca)
    ca.issue(CONSUMER, Role.CONSUMER, key_type=KeyType.ECDSA_P256, replace=False)
    ca.validator().validate(old.certificate)


@pytest.mark.parametrize("bad", ["", "../evil", "a/b", "-leading-dash", "x" * 65, "ümlaut"])
def test_invalid_participant_ids_are_refused(ca: CertificateAuthority, bad: str) -> None:
    """Participant ids outside the protocol's pattern (and path tricks) are refused."""
    with pytest.raises(ValueError, match="participant id"):
        ca.issue(bad, Role.CONSUMER, key_type=KeyType.ECDSA_P256)
    assert not (ca.directory.parent / "evil").exists()


def test_create_refuses_an_existing_ca_and_open_or_create_reuses_it(
    tmp_path: Path, clock: ManualClock
) -> None:
    """create() never overwrites a CA; open_or_create() opens the existing one."""
    first = CertificateAuthority.create(tmp_path, clock=clock, key_type=KeyType.ECDSA_P256)
    with pytest.raises(FileExistsError):
        CertificateAuthority.create(tmp_path, clock=clock)
    again = CertificateAuthority.open_or_create(tmp_path, clock=clock)
    assert again.trust_anchor == first.trust_anchor
    fresh = CertificateAuthority.open_or_create(
        tmp_path / "new", clock=clock, key_type=KeyType.ECDSA_P256
    )
    assert fresh.trust_anchor != first.trust_anchor


def test_open_missing_directory_fails_clearly(tmp_path: Path, clock: ManualClock) -> None:
    """Opening a directory without a CA raises FileNotFoundError naming the fix."""
    with pytest.raises(FileNotFoundError, match="noots pki init"):
        CertificateAuthority.open(tmp_path, clock=clock)


def test_credential_is_loaded_once_and_refreshed_after_reissue_elsewhere(
    ca: CertificateAuthority, clock: ManualClock
) -> None:
    """credential() parses files once, and sees a re-issue done by another CA instance."""
    _issue(ca)
    reader = CertificateAuthority.open(ca.directory, clock=clock)
    first = reader.credential(CONSUMER)
    assert reader.credential(CONSUMER) is first
    writer = CertificateAuthority.open(ca.directory, clock=clock)
    new = writer.issue(CONSUMER, Role.CONSUMER, key_type=KeyType.ECDSA_P256)
    assert reader.credential(CONSUMER).serial == new.serial
    with pytest.raises(UnknownParticipant):
        reader.credential("nobody")
    with pytest.raises(UnknownParticipant):
        reader.revoke("nobody")


def test_credential_repr_hides_the_key(ca: CertificateAuthority) -> None:
    """The credential's repr never contains key material."""
    cred = _issue(ca)
    text = repr(cred)
    assert CONSUMER in text
    assert "PRIVATE" not in text
    assert "private_key" not in text


# -- validation


def test_valid_certificate_yields_participant_and_role(ca: CertificateAuthority) -> None:
    """A good certificate validates to its participant id and role."""
    cred = _issue(ca, PROVIDER, Role.PROVIDER)
    result = ca.validator().validate(cred.certificate, required_role=Role.PROVIDER)
    assert (result.participant_id, result.role) == (PROVIDER, Role.PROVIDER)
    assert result.certificate is cred.certificate
    assert participant_id_of(cred.certificate) == PROVIDER
    assert role_of(cred.certificate) is Role.PROVIDER


def test_certificate_of_a_second_ca_is_untrusted(
    ca: CertificateAuthority, tmp_path: Path, clock: ManualClock
) -> None:
    """A certificate from another CA (same names, other key) is CertificateUntrusted."""
    other = CertificateAuthority.create(tmp_path / "other", clock=clock)
    assert other.trust_anchor.subject == ca.trust_anchor.subject  # only the key differs
    foreign = _issue(other)
    with pytest.raises(CertificateUntrusted):
        ca.validator().validate(foreign.certificate)


def test_certificate_with_foreign_issuer_name_is_untrusted(
    ca: CertificateAuthority, clock: ManualClock
) -> None:
    """A self-signed certificate that claims the participant's name is CertificateUntrusted."""
    key = pooled_key("self-signed", KeyType.ECDSA_P256)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CONSUMER)])
    now = clock.now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    with pytest.raises(CertificateUntrusted):
        ca.validator().validate(cert)


def test_expired_certificate(ca: CertificateAuthority, clock: ManualClock) -> None:
    """After its not-after time a certificate is CertificateExpired, even if validated before."""
    cred = _issue(ca, validity=timedelta(days=10))
    validator = CertificateValidator(ca.trust_anchor, StaticCrlSource(ca.crl()), clock)
    validator.validate(cred.certificate)  # fills the signature cache
    clock.advance(timedelta(days=10, seconds=1))
    with pytest.raises(CertificateExpired):
        validator.validate(cred.certificate)
    clock.advance(timedelta(days=-1))
    validator.validate(cred.certificate)


def test_not_yet_valid_certificate(ca: CertificateAuthority, clock: ManualClock) -> None:
    """Before its not-before time (issue time less the clock skew) it is CertificateNotYetValid."""
    cred = _issue(ca)
    validator = ca.validator()
    clock.advance(-CLOCK_SKEW)
    validator.validate(cred.certificate)  # issued "now" tolerates clocks a little behind
    clock.advance(timedelta(seconds=-1))
    with pytest.raises(CertificateNotYetValid):
        validator.validate(cred.certificate)
    future = _issue(ca, PROVIDER, Role.PROVIDER, not_before=clock.now() + timedelta(hours=2))
    clock.advance(timedelta(hours=1))
    with pytest.raises(CertificateNotYetValid):
        validator.validate(future.certificate)


def test_validation_at_an_explicit_time(ca: CertificateAuthority, clock: ManualClock) -> None:
    """validate(at=...) checks the validity period at that instant instead of the clock's."""
    cred = _issue(ca, validity=timedelta(days=1))
    with pytest.raises(CertificateExpired):
        ca.validator().validate(cred.certificate, at=clock.now() + timedelta(days=2))


def test_a_revoked_or_expired_certificate_is_no_valid_credential(
    ca: CertificateAuthority, clock: ManualClock
) -> None:
    """holds_valid_certificate: yes after issue, no after revocation, and no once the
    certificate's validity has passed."""
    assert not ca.holds_valid_certificate(CONSUMER)
    _issue(ca)
    assert ca.holds_valid_certificate(CONSUMER)
    ca.revoke(CONSUMER)
    assert not ca.holds_valid_certificate(CONSUMER)
    _issue(ca, PROVIDER, Role.PROVIDER)
    (record,) = [r for r in ca.records() if r.participant_id == PROVIDER]
    clock.advance(record.not_after - clock.now() + timedelta(seconds=1))
    assert not ca.holds_valid_certificate(PROVIDER)


def test_revoked_certificate(ca: CertificateAuthority) -> None:
    """A revoked certificate is CertificateRevoked for a validator created before the revocation."""
    cred = _issue(ca)
    validator = ca.validator()
    validator.validate(cred.certificate)
    ca.revoke(CONSUMER)
    with pytest.raises(CertificateRevoked):
        validator.validate(cred.certificate)


def test_revocation_in_one_instance_reaches_file_crl_source_of_another(
    ca: CertificateAuthority, clock: ManualClock
) -> None:
    """A revocation by a second CA instance is seen at once through a FileCrlSource."""
    cred = _issue(ca)
    other_process_ca = CertificateAuthority.open(ca.directory, clock=clock)
    source = FileCrlSource(ca.directory / "ca" / "crl.pem")
    validator = CertificateValidator(ca.trust_anchor, source, clock)
    before = source.current()
    assert before is not None
    assert source.current() is before  # unchanged file: not re-read
    validator.validate(cred.certificate)
    other_process_ca.revoke(CONSUMER)
    with pytest.raises(CertificateRevoked):
        validator.validate(cred.certificate)
    after = source.current()
    assert after is not None
    number = lambda crl: crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number  # noqa: E731
    assert number(after) > number(before)


def test_crl_numbers_increase_and_crl_verifies_against_root(ca: CertificateAuthority) -> None:
    """Every published CRL is signed by the root and has a larger CRL number."""
    numbers = []
    for pid in (CONSUMER, PROVIDER):
        _issue(ca, pid, Role.CONSUMER)
        ca.revoke(pid)
        crl = x509.load_pem_x509_crl(ca.crl_path.read_bytes())
        assert crl.is_signature_valid(ca.trust_anchor.public_key())  # type: ignore[arg-type]
        assert crl.next_update_utc is not None
        assert crl.next_update_utc > crl.last_update_utc
        numbers.append(crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number)
    assert numbers[0] < numbers[1]
    assert len(list(x509.load_pem_x509_crl(ca.crl_path.read_bytes()))) == 2


def test_missing_crl_fails_closed_unless_configured(
    ca: CertificateAuthority, clock: ManualClock
) -> None:
    """Without a CRL the validator refuses; require_crl=False accepts explicitly."""
    cred = _issue(ca)
    with pytest.raises(CertificateUntrusted, match="revocation list"):
        CertificateValidator(ca.trust_anchor, StaticCrlSource(None), clock).validate(
            cred.certificate
        )
    with pytest.raises(CertificateUntrusted):
        CertificateValidator(
            ca.trust_anchor, FileCrlSource(ca.directory / "nope.pem"), clock
        ).validate(cred.certificate)
    lenient = CertificateValidator(ca.trust_anchor, StaticCrlSource(None), clock, require_crl=False)
    assert lenient.validate(cred.certificate).participant_id == CONSUMER


def test_unreadable_crl_file_fails_closed(ca: CertificateAuthority, clock: ManualClock) -> None:
    """A CRL file that is not a CRL answers None and the validator refuses."""
    cred = _issue(ca)
    bad = ca.directory / "bad-crl.pem"
    bad.write_bytes(b"-----BEGIN X509 CRL-----\nnot a crl\n-----END X509 CRL-----\n")
    source = FileCrlSource(bad)
    assert source.current() is None
    with pytest.raises(CertificateUntrusted):
        CertificateValidator(ca.trust_anchor, source, clock).validate(cred.certificate)


def test_crl_signed_by_another_ca_fails_closed(
    ca: CertificateAuthority, tmp_path: Path, clock: ManualClock
) -> None:
    """A CRL that does not verify against the trust anchor makes every validation fail."""
    cred = _issue(ca)
    other = CertificateAuthority.create(
        tmp_path / "other", clock=clock, key_type=KeyType.ECDSA_P256
    )
    validator = CertificateValidator(ca.trust_anchor, StaticCrlSource(other.crl()), clock)
    with pytest.raises(CertificateUntrusted, match="revocation list"):
        validator.validate(cred.certificate)


def test_stale_crl_fails_closed_until_reissued(
    ca: CertificateAuthority, clock: ManualClock
) -> None:
    """A CRL past its next update is refused; crl() re-signs it and validation passes again."""
    cred = _issue(ca)
    validator = ca.validator()
    clock.advance(ca.crl_validity + timedelta(seconds=1))
    with pytest.raises(CertificateUntrusted, match="out of date"):
        validator.validate(cred.certificate)
    fresh = ca.crl()
    assert fresh.next_update_utc is not None
    assert fresh.next_update_utc > clock.now()
    validator.validate(cred.certificate)


def test_ca_certificate_is_wrong_key_usage(ca: CertificateAuthority) -> None:
    """The trust anchor itself cannot be used as a participant certificate."""
    with pytest.raises(WrongKeyUsage):
        ca.validator().validate(ca.trust_anchor)


def test_certificate_without_digital_signature_is_wrong_key_usage(
    ca: CertificateAuthority, clock: ManualClock
) -> None:
    """A root-issued certificate lacking digitalSignature is WrongKeyUsage."""
    root_key = serialization.load_pem_private_key(ca.root_key_path.read_bytes(), password=None)
    key = pooled_key("no-sign", KeyType.ECDSA_P256)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "consumer"),
            x509.NameAttribute(NameOID.COMMON_NAME, CONSUMER),
        ]
    )
    now = clock.now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.trust_anchor.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.KeyUsage(False, False, True, False, False, False, False, False, False),
            critical=True,
        )
        .sign(root_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    with pytest.raises(WrongKeyUsage, match="digital signature"):
        ca.validator().validate(cert)


def test_wrong_role_is_wrong_key_usage(ca: CertificateAuthority) -> None:
    """A consumer certificate used where a provider is required is WrongKeyUsage."""
    cred = _issue(ca)
    validator = ca.validator()
    with pytest.raises(WrongKeyUsage, match="provider required"):
        validator.validate(cred.certificate, required_role=Role.PROVIDER)
    accepted = validator.validate(
        cred.certificate, required_role=frozenset({Role.PROVIDER, Role.CONSUMER})
    )
    assert accepted.role is Role.CONSUMER


@settings(max_examples=40, deadline=None)
@given(pid=st.from_regex(PARTICIPANT_ID_PATTERN, fullmatch=True), role=st.sampled_from(list(Role)))
def test_participant_id_and_role_round_trip(pid: str, role: Role) -> None:
    """Any valid participant id and role come back out of the issued certificate unchanged."""
    with TestPki(root_key_type=KeyType.ECDSA_P256, key_type=KeyType.ECDSA_P256) as pki:
        cred = pki.credential(pid, role)
        result = pki.validator().validate(cred.certificate, required_role=role)
        assert (result.participant_id, result.role) == (pid, role)


# -- certificate signing requests --------------------------------------------------------------


def _csr(key: ec.EllipticCurvePrivateKey, *attributes: x509.NameAttribute) -> bytes:
    subject = x509.Name(list(attributes) or [x509.NameAttribute(NameOID.COMMON_NAME, PROVIDER)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


def test_signed_request_is_a_certificate_like_an_issued_one(ca: CertificateAuthority) -> None:
    """A CSR with the CA's own subject form (O, OU, CN) is signed; the certificate validates for
    the role and carries the requester's key."""
    key = ec.generate_private_key(ec.SECP256R1())
    request = _csr(
        key,
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "noots Simulator"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "provider"),
        x509.NameAttribute(NameOID.COMMON_NAME, PROVIDER),
    )
    cert = ca.sign_request(request, PROVIDER, Role.PROVIDER)
    ca.validator().validate(cert, required_role=Role.PROVIDER)
    assert cert.public_key() == key.public_key()
    assert ca.certificate(PROVIDER) == cert
    assert [r.key_type for r in ca.records()] == [KeyType.ECDSA_P256]


def test_signed_request_replaces_and_revokes_the_earlier_credential(
    ca: CertificateAuthority,
) -> None:
    """Signing a request for a participant with a CA-made credential revokes that certificate
    and removes its key: what is left is the requester's certificate alone."""
    old = _issue(ca, PROVIDER, Role.PROVIDER)
    ca.sign_request(_csr(ec.generate_private_key(ec.SECP256R1())), PROVIDER, Role.PROVIDER)
    assert not old.key_path.exists()
    with pytest.raises(CertificateRevoked):
        ca.validator().validate(old.certificate)
    with pytest.raises(UnknownParticipant):
        ca.credential(PROVIDER)


def test_request_with_another_attribute_in_the_subject_is_refused(
    ca: CertificateAuthority,
) -> None:
    """A subject attribute the CA would not certify (here: C=FR) fails closed."""
    key = ec.generate_private_key(ec.SECP256R1())
    request = _csr(
        key,
        x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
        x509.NameAttribute(NameOID.COMMON_NAME, PROVIDER),
    )
    with pytest.raises(CertificateRequestRejected, match="does not certify"):
        ca.sign_request(request, PROVIDER, Role.PROVIDER)
    assert ca.records() == []


def test_request_with_another_curve_is_refused(ca: CertificateAuthority) -> None:
    """Only P-256 among the curves, as for issued keys."""
    with pytest.raises(CertificateRequestRejected, match="P-256"):
        ca.sign_request(_csr(ec.generate_private_key(ec.SECP384R1())), PROVIDER, Role.PROVIDER)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_any_bytes_give_a_signed_certificate_or_a_typed_refusal(data: bytes) -> None:
    """Hostile request bytes never raise anything but CertificateRequestRejected."""
    from noots.pki import _load_request

    with contextlib.suppress(CertificateRequestRejected):
        _load_request(data)


def test_oversized_request_is_refused_before_parsing() -> None:
    """A request larger than any real CSR is refused without being parsed."""
    from noots.pki import MAX_REQUEST_BYTES, _load_request

    with pytest.raises(CertificateRequestRejected, match="too large"):
        _load_request(b"-----BEGIN" + b"A" * MAX_REQUEST_BYTES)


def _published(ca: CertificateAuthority, target: Path) -> Path:
    """What `noots provision` publishes, copied by hand: anchor, CRL, index, certificates."""
    (target / "ca" / PublishedPki.CERTIFICATES).mkdir(parents=True)
    for name in ("root-cert.pem", "crl.pem", "index.json"):
        (target / "ca" / name).write_bytes((ca.ca_dir / name).read_bytes())
    for participant_id in ca.participants():
        pem = ca.certificate(participant_id).public_bytes(serialization.Encoding.PEM)
        (target / "ca" / PublishedPki.CERTIFICATES / f"{participant_id}.pem").write_bytes(pem)
    return target


def test_the_published_pki_reads_what_the_ca_published(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    """Anchor, CRL, records and certificates as the CA has them, without its key."""
    issued = ca.issue(CONSUMER, Role.CONSUMER, key_type=KeyType.ECDSA_P256)
    ca.revoke(CONSUMER)
    published = PublishedPki.open(_published(ca, tmp_path / "published"))
    assert published.trust_anchor == ca.trust_anchor
    assert published.crl() == ca.crl()
    assert published.records() == ca.records()
    assert published.certificate(CONSUMER) == issued.certificate
    assert not list((tmp_path / "published").rglob("*key*"))


def test_the_published_pki_does_not_know_an_unpublished_participant(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    """A participant without a published certificate is UnknownParticipant; a path-like id
    is refused before any file is read."""
    published = PublishedPki.open(_published(ca, tmp_path / "published"))
    with pytest.raises(UnknownParticipant):
        published.certificate(PROVIDER)
    with pytest.raises(ValueError, match="participant"):
        published.certificate("../ca/root-key")


def test_no_published_trust_anchor_is_a_clear_error(tmp_path: Path) -> None:
    """Opening a directory without a published root certificate says so."""
    with pytest.raises(FileNotFoundError, match="no published trust anchor"):
        PublishedPki.open(tmp_path)
