"""Tests of ``noots pki init|issue|revoke|list|show``."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from noots.cli import app
from noots.cli._exit import CHECK_FAILED, USAGE
from noots.clock import SystemClock
from noots.errors import CertificateRevoked
from noots.pki import CertificateAuthority, KeyType, Role

runner = CliRunner()
WIDE = {"COLUMNS": "250"}


def _run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["pki", *args], env=WIDE)


def test_round_trip_init_issue_list_show_revoke(tmp_path: Path) -> None:
    """The CLI creates a CA, issues, lists, shows and revokes; the library sees the same state."""
    d = str(tmp_path / "pki")
    assert _run("init", "--pki-dir", d, "--key-type", "ecdsa-p256").exit_code == 0
    issued = _run("issue", "--pki-dir", d, "-p", "08118079-BPA-87", "-r", "consumer")
    assert issued.exit_code == 0, issued.output
    provider = _run(
        "issue", "--pki-dir", d, "-p", "991-01234ZFZR-41", "--role", "provider",
        "--key-type", "ecdsa-p256", "--days", "30", "--name", "kba.example",
    )  # fmt: skip
    assert provider.exit_code == 0, provider.output

    ca = CertificateAuthority.open(d, clock=SystemClock())
    consumer = ca.credential("08118079-BPA-87")
    assert consumer.role is Role.CONSUMER
    assert consumer.key_type is KeyType.RSA2048
    assert ca.credential("991-01234ZFZR-41").key_type is KeyType.ECDSA_P256
    assert stat.S_IMODE(consumer.key_path.stat().st_mode) == 0o600
    validator = ca.validator()
    validator.validate(consumer.certificate, required_role=Role.CONSUMER)

    listing = _run("list", "--pki-dir", d)
    assert listing.exit_code == 0, listing.output
    assert f"{consumer.serial:x}" in listing.stdout
    assert "991-01234ZFZR-41" in listing.stdout
    assert "valid" in listing.stdout

    shown = _run("show", "--pki-dir", d, "-p", "991-01234ZFZR-41")
    assert shown.exit_code == 0, shown.output
    assert "provider" in shown.stdout
    assert "kba.example" in shown.stdout
    assert "ecdsa-p256" in shown.stdout
    assert "status:       valid" in shown.stdout

    revoked = _run("revoke", "--pki-dir", d, "-p", "08118079-BPA-87")
    assert revoked.exit_code == 0, revoked.output
    with pytest.raises(CertificateRevoked):
        validator.validate(consumer.certificate)
    assert "status:       revoked" in _run("show", "--pki-dir", d, "-p", "08118079-BPA-87").stdout
    assert "revoked 20" in _run("list", "--pki-dir", d).stdout


def test_reissue_through_cli_revokes_the_old_serial(tmp_path: Path) -> None:
    """Issuing the same participant twice leaves one valid and one revoked certificate."""
    d = str(tmp_path)
    _run("init", "--pki-dir", d, "--key-type", "ecdsa-p256")
    for _ in range(2):
        assert (
            _run(
                "issue", "--pki-dir", d, "-p", "x1", "-r", "central", "--key-type", "ecdsa-p256"
            ).exit_code
            == 0
        )
    statuses = [r.status for r in CertificateAuthority.open(d, clock=SystemClock()).records()]
    assert statuses == ["revoked", "valid"]


def test_errors_exit_non_zero_with_a_message(tmp_path: Path) -> None:
    """Double init, unknown participants, bad ids and a missing CA fail with a clear message."""
    d = str(tmp_path)
    assert _run("list", "--pki-dir", d).exit_code == USAGE
    assert _run("init", "--pki-dir", d, "--key-type", "ecdsa-p256").exit_code == 0
    again = _run("init", "--pki-dir", d)
    assert again.exit_code == 1
    assert "already" in again.output
    unknown = _run("show", "--pki-dir", d, "-p", "nobody")
    assert unknown.exit_code == USAGE
    assert "no credential" in unknown.output
    assert _run("revoke", "--pki-dir", d, "-p", "nobody").exit_code == USAGE
    bad = _run(
        "issue", "--pki-dir", d, "-p", "../evil", "-r", "consumer", "--key-type", "ecdsa-p256"
    )
    assert bad.exit_code == USAGE
    assert "participant id" in bad.output
    assert _run("issue", "--pki-dir", d, "-p", "ok", "-r", "emperor").exit_code != 0


# -- certificate signing requests: the operator keeps the key ----------------------------------


def _request(
    key: Any, subject: str = "991-01234ZFZR-41", *, names: tuple[str, ...] = (), ca: bool = False
) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    )
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
    if ca:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=None), critical=True
        )
    csr = builder.sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


def _rsa_key(bits: int = 2048) -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@pytest.fixture(scope="module")
def operator_key() -> Any:
    """The register operator's own key, made outside noots."""
    return _rsa_key()


@pytest.fixture
def authority(tmp_path: Path) -> Path:
    """A PKI directory whose CA has issued the mock register's credential (key and all)."""
    d = tmp_path / "pki"
    assert _run("init", "--pki-dir", str(d), "--key-type", "ecdsa-p256").exit_code == 0
    mock = _run(
        "issue", "--pki-dir", str(d), "-p", "991-01234ZFZR-41", "-r", "provider",
        "--key-type", "ecdsa-p256",
    )  # fmt: skip
    assert mock.exit_code == 0, mock.output
    return d


def test_csr_is_signed_and_no_private_key_is_written(
    tmp_path: Path, authority: Path, operator_key: Any
) -> None:
    """--csr: the certificate carries the operator's public key and the participant's role,
    chains to the CA, and noots writes no private key (the mock's old key is gone)."""
    from cryptography.hazmat.primitives import serialization

    from noots.pki import load_certificate, participant_id_of, role_of

    csr = tmp_path / "register.csr"
    csr.write_bytes(_request(operator_key, names=("register.example",)))
    out = tmp_path / "register-cert.pem"
    result = _run(
        "issue", "--pki-dir", str(authority), "-p", "991-01234ZFZR-41", "-r", "provider",
        "--csr", str(csr), "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "nothing more" in result.stderr
    cert = load_certificate(out.read_bytes())
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    assert cert.public_key().public_bytes(
        serialization.Encoding.DER, spki
    ) == operator_key.public_key().public_bytes(serialization.Encoding.DER, spki)
    assert participant_id_of(cert) == "991-01234ZFZR-41"
    assert role_of(cert) is Role.PROVIDER
    ca = CertificateAuthority.open(authority, clock=SystemClock())
    ca.validator().validate(cert, required_role=Role.PROVIDER)
    participant = authority / "participants" / "991-01234ZFZR-41"
    assert (participant / "cert.pem").read_bytes() == out.read_bytes()
    assert not (participant / "key.pem").exists()
    assert list(authority.rglob("*key*")) == [authority / "ca" / "root-key.pem"]
    shown = _run("show", "--pki-dir", str(authority), "-p", "991-01234ZFZR-41")
    assert "register.example" in shown.stdout
    assert "not held here" in shown.stdout


def test_csr_with_a_bad_self_signature_is_refused(
    tmp_path: Path, authority: Path, operator_key: Any
) -> None:
    """A request whose own signature does not verify is refused (exit 2), and the CA's state is
    unchanged: no certificate, the mock's credential still valid."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    der = bytearray(
        x509.load_pem_x509_csr(_request(operator_key)).public_bytes(serialization.Encoding.DER)
    )
    der[-1] ^= 0x01  # the last byte of the signature value
    csr = tmp_path / "forged.csr"
    csr.write_bytes(bytes(der))
    before = (authority / "ca" / "index.json").read_bytes()
    result = _run(
        "issue", "--pki-dir", str(authority), "-p", "991-01234ZFZR-41", "-r", "provider",
        "--csr", str(csr),
    )  # fmt: skip
    assert result.exit_code == CHECK_FAILED, result.output
    assert "signature does not verify" in result.stderr
    assert (authority / "ca" / "index.json").read_bytes() == before
    assert (authority / "participants" / "991-01234ZFZR-41" / "key.pem").is_file()


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (lambda key: _request(key, "someone-else"), "must be CN=991-01234ZFZR-41"),
        (lambda key: _request(key, ca=True), "asks to be a CA"),
        (lambda key: _request(_rsa_key(1024)), "shorter than 2048"),
        (lambda key: b"-----BEGIN CERTIFICATE REQUEST-----\nnonsense\n", "not a certificate"),
    ],
    ids=["other-subject", "asks-for-ca", "short-key", "not-a-csr"],
)
def test_unacceptable_requests_are_refused(
    tmp_path: Path, authority: Path, operator_key: Any, build: Any, reason: str
) -> None:
    """A request for another subject, for a CA, with a short key, or no request at all: refused
    with the reason, exit 2."""
    csr = tmp_path / "request.csr"
    csr.write_bytes(build(operator_key))
    result = _run(
        "issue", "--pki-dir", str(authority), "-p", "991-01234ZFZR-41", "-r", "provider",
        "--csr", str(csr),
    )  # fmt: skip
    assert result.exit_code == CHECK_FAILED, result.output
    assert reason in result.stderr


def test_missing_csr_file_is_a_usage_error(tmp_path: Path, authority: Path) -> None:
    """--csr naming no file: a usage error (64), not a refusal."""
    result = _run(
        "issue", "--pki-dir", str(authority), "-p", "x1", "-r", "provider",
        "--csr", str(tmp_path / "missing.csr"),
    )  # fmt: skip
    assert result.exit_code == USAGE
    assert "no such file" in result.output


def test_old_dir_option_still_works_with_a_note(tmp_path: Path) -> None:
    """--dir, the old name of --pki-dir, still works and says it is deprecated."""
    result = _run("init", "--dir", str(tmp_path / "pki"), "--key-type", "ecdsa-p256")
    assert result.exit_code == 0, result.output
    assert "--dir is deprecated, use --pki-dir" in result.stderr
    assert (tmp_path / "pki" / "ca" / "root-cert.pem").is_file()


def test_pki_dir_defaults_to_the_data_dirs(tmp_path: Path) -> None:
    """Without --pki-dir the commands work on <data dir>/pki."""
    assert _run("init", "--data-dir", str(tmp_path), "--key-type", "ecdsa-p256").exit_code == 0
    assert (tmp_path / "pki" / "ca" / "root-cert.pem").is_file()
