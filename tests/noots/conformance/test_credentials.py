"""noots.conformance.credentials: what --prepare issues and what the install list reports."""

from __future__ import annotations

from pathlib import Path

from noots.clock import ManualClock
from noots.conformance.credentials import pki_files, prepare_pki
from noots.pki import CertificateAuthority, Role
from noots.testing.pki import pooled_key

KBA = "991-01234ZFZR-41"


def test_prepare_reissues_a_revoked_credential_and_says_so(tmp_path: Path) -> None:
    """A target whose only certificate was revoked counts as having no credential, and
    --prepare issues a new one."""
    clock = ManualClock()
    ca = CertificateAuthority.create(tmp_path / "pki", clock=clock)
    ca.issue(KBA, Role.PROVIDER, private_key=pooled_key(KBA))
    ca.revoke(KBA)
    assert not pki_files(tmp_path / "pki", KBA, clock=clock).has_credential
    prepared = prepare_pki(tmp_path / "pki", participant=KBA, role=Role.PROVIDER, clock=clock)
    assert any(change.startswith(f"issued {KBA} ") for change in prepared.changes)
    assert pki_files(tmp_path / "pki", KBA, clock=clock).has_credential
