"""Tests of ``noots pki init|issue|revoke|list|show``."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from noots.cli import app
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
    assert _run("init", "--dir", d, "--key-type", "ecdsa-p256").exit_code == 0
    issued = _run("issue", "--dir", d, "-p", "08118079-BPA-87", "-r", "consumer")
    assert issued.exit_code == 0, issued.output
    provider = _run(
        "issue", "--dir", d, "-p", "991-01234ZFZR-41", "--role", "provider",
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

    listing = _run("list", "--dir", d)
    assert listing.exit_code == 0, listing.output
    assert f"{consumer.serial:x}" in listing.stdout
    assert "991-01234ZFZR-41" in listing.stdout
    assert "valid" in listing.stdout

    shown = _run("show", "--dir", d, "-p", "991-01234ZFZR-41")
    assert shown.exit_code == 0, shown.output
    assert "provider" in shown.stdout
    assert "kba.example" in shown.stdout
    assert "ecdsa-p256" in shown.stdout
    assert "status:       valid" in shown.stdout

    revoked = _run("revoke", "--dir", d, "-p", "08118079-BPA-87")
    assert revoked.exit_code == 0, revoked.output
    with pytest.raises(CertificateRevoked):
        validator.validate(consumer.certificate)
    assert "status:       revoked" in _run("show", "--dir", d, "-p", "08118079-BPA-87").stdout
    assert "revoked 20" in _run("list", "--dir", d).stdout


def test_reissue_through_cli_revokes_the_old_serial(tmp_path: Path) -> None:
    """Issuing the same participant twice leaves one valid and one revoked certificate."""
    d = str(tmp_path)
    _run("init", "--dir", d, "--key-type", "ecdsa-p256")
    for _ in range(2):
        assert (
            _run(
                "issue", "--dir", d, "-p", "x1", "-r", "central", "--key-type", "ecdsa-p256"
            ).exit_code
            == 0
        )
    statuses = [r.status for r in CertificateAuthority.open(d, clock=SystemClock()).records()]
    assert statuses == ["revoked", "valid"]


def test_errors_exit_non_zero_with_a_message(tmp_path: Path) -> None:
    """Double init, unknown participants, bad ids and a missing CA fail with a clear message."""
    d = str(tmp_path)
    assert _run("list", "--dir", d).exit_code == 1
    assert _run("init", "--dir", d, "--key-type", "ecdsa-p256").exit_code == 0
    again = _run("init", "--dir", d)
    assert again.exit_code == 1
    assert "already" in again.output
    unknown = _run("show", "--dir", d, "-p", "nobody")
    assert unknown.exit_code == 1
    assert "no credential" in unknown.output
    assert _run("revoke", "--dir", d, "-p", "nobody").exit_code == 1
    bad = _run("issue", "--dir", d, "-p", "../evil", "-r", "consumer", "--key-type", "ecdsa-p256")
    assert bad.exit_code == 2
    assert "participant id" in bad.output
    assert _run("issue", "--dir", d, "-p", "ok", "-r", "emperor").exit_code != 0
