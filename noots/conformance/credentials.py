"""The certificates the provider suite needs, issued from the simulator PKI.

The target register needs its own credential (to sign answers) and must trust the simulator's
root CA and follow its CRL. The suite itself signs as consumers and seals tokens as the VS of
that PKI, and for DP-03 it needs certificates that must be refused: one revoked, one expired,
one not yet valid, and one from a CA the target does not trust. :func:`prepare_credentials`
issues what is missing and returns the instructions for the operator.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from noots.clock import Clock, ManualClock
from noots.pki import CertificateAuthority, IssuedCredential, Role, UnknownParticipant
from noots.signing import XmlSigner
from registers.faults import expired_credential

__all__ = ["REVOKED_PARTICIPANT", "SuiteCredentials", "prepare_credentials"]

#: A consumer identity issued only to be revoked (DP-03).
REVOKED_PARTICIPANT = "noots-conformance-revoked"


@dataclass(frozen=True)
class SuiteCredentials:
    """Signers the suite uses beside the PKI's own participants, and what the operator must
    install on the target."""

    revoked: XmlSigner = field(repr=False)
    expired: XmlSigner = field(repr=False)
    not_yet_valid: XmlSigner = field(repr=False)
    untrusted: XmlSigner = field(repr=False)
    instructions: tuple[str, ...]
    issued_target: bool


def _root_key(pki_dir: Path) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(
        (pki_dir / "ca" / "root-key.pem").read_bytes(), password=None
    )
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError("unsupported CA key type")
    return key


def _not_yet_valid(pki_dir: Path, participant_id: str, *, clock: Clock) -> IssuedCredential:
    """A genuine certificate of the landscape's root for ``participant_id`` that starts to be
    valid tomorrow; issued by a scratch copy of the CA so the participant's files stay as
    they are (like :func:`registers.faults.expired_credential`)."""
    now = clock.now()
    with tempfile.TemporaryDirectory(prefix="noots-future-") as scratch_dir:
        scratch = CertificateAuthority.create(
            scratch_dir, clock=ManualClock(now), root_key=_root_key(pki_dir)
        )
        return scratch.issue(
            participant_id,
            Role.CONSUMER,
            validity=timedelta(days=30),
            not_before=now + timedelta(days=1),
        )


def _untrusted(participant_id: str, *, clock: Clock) -> IssuedCredential:
    """A certificate for ``participant_id`` from a CA of its own (not the trust anchor)."""
    with tempfile.TemporaryDirectory(prefix="noots-foreign-") as scratch_dir:
        foreign = CertificateAuthority.create(scratch_dir, clock=ManualClock(clock.now()))
        return foreign.issue(participant_id, Role.CONSUMER)


def _revoked(authority: CertificateAuthority) -> IssuedCredential:
    """The revoked consumer identity: reused while its current certificate is revoked."""
    try:
        current = authority.credential(REVOKED_PARTICIPANT)
    except UnknownParticipant:
        current = None
    if current is not None:
        for record in authority.records():
            if record.serial == current.serial and record.status == "revoked":
                return current
    credential = authority.issue(REVOKED_PARTICIPANT, Role.CONSUMER)
    authority.revoke(REVOKED_PARTICIPANT)
    return credential


def prepare_credentials(
    pki_dir: Path,
    *,
    participant: str,
    consumer: str,
    vs_id: str,
    clock: Clock,
    crl_url: str | None = None,
) -> SuiteCredentials:
    """Issue what the run needs (the target's credential only if it has none yet)."""
    authority = CertificateAuthority.open(pki_dir, clock=clock)
    issued_target = participant not in authority.participants()
    if issued_target:
        authority.issue(participant, Role.PROVIDER)
    target_dir = authority.participant_dir(participant)
    revoked = _revoked(authority)
    crl_where = f"{authority.crl_path}" + (f" (served at {crl_url})" if crl_url else "")
    instructions = (
        f"Trust anchor (root CA) to trust: {authority.root_cert_path}",
        f"CRL to check every signer against (reload it before the run): {crl_where}",
        f"Your register's credential{' (issued now)' if issued_target else ''}: certificate "
        f"{target_dir / 'cert.pem'}, private key {target_dir / 'key.pem'} — sign every answer "
        f"with it (participant id {participant}, role provider)",
        f"The suite sends requests as {consumer} (role consumer) with tokens sealed by "
        f"{vs_id} (role vs), and signs refused requests as {REVOKED_PARTICIPANT} (revoked), "
        "with an expired, a not-yet-valid and a foreign certificate",
    )
    return SuiteCredentials(
        revoked=XmlSigner(revoked),
        expired=XmlSigner(expired_credential(pki_dir, consumer, Role.CONSUMER, clock=clock)),
        not_yet_valid=XmlSigner(_not_yet_valid(pki_dir, consumer, clock=clock)),
        untrusted=XmlSigner(_untrusted(consumer, clock=clock)),
        instructions=instructions,
        issued_target=issued_target,
    )
