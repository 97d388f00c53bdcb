"""The certificates and access tokens a conformance run needs, and what the target installs.

A run acts as parties of the landscape: a register's SAK (the provider suite), another SAK or
an online service (the SAK suite). It signs, seals and presents tokens with the landscape's
own PKI (``<data dir>/pki``): the IAM's credential mints access tokens, the VS's seals
Vermittlungsstelle tokens, and the participants' credentials sign where a participant of the
PKI must. What the PKI does not hold, and every certificate that must be *refused* (expired,
not yet valid, from a foreign CA), comes from :class:`ScratchIssuer`: certificates of the
landscape's root key issued in a scratch directory, so a run **never changes the PKI**.

Changing the PKI is a separate, explicit step (:func:`prepare_pki`, ``--prepare`` on the
command line): it issues the target's credential where the run needs one and a revoked
identity for the revocation probes, republishes the CRL, and says what it did. A run that finds
something missing skips the probes that need it and names ``--prepare``.
"""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from noots.access import issue_access_token
from noots.clock import Clock, ManualClock
from noots.errors import ConfigurationError
from noots.pki import (
    CertificateAuthority,
    IssuedCredential,
    KeyType,
    PrivateKey,
    Role,
    UnknownParticipant,
    ValidatedCertificate,
    load_crl,
)
from noots.topology import Topology

__all__ = [
    "REVOKED_PARTICIPANT",
    "Minted",
    "PkiFiles",
    "PreparedPki",
    "ScratchIssuer",
    "TokenMint",
    "pki_files",
    "prepare_pki",
    "revoked_credential",
    "revoked_serial",
]

#: An identity issued only to be revoked (``--prepare``): its serial is on the CRL.
REVOKED_PARTICIPANT = "noots-conformance-revoked"


def _root_key(pki_dir: Path) -> PrivateKey:
    path = pki_dir / "ca" / "root-key.pem"
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise ConfigurationError(
            f"no simulator CA key at {path}: run `noots bootstrap` (or `noots up`) first, or "
            "pass --pki-dir"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ConfigurationError("unsupported CA key type")
    return key


class ScratchIssuer:
    """Certificates of the landscape's root (same key, same name) issued in a scratch
    directory: a verifier that trusts the real root sees genuine certificates, and the PKI's
    files, index and CRL stay exactly as they were. :meth:`foreign` issues from a CA of its
    own, which nobody trusts. Close it to remove the scratch directory (and the key copy)."""

    def __init__(self, pki_dir: Path, *, clock: Clock) -> None:
        self.clock = clock
        self._root_key = _root_key(pki_dir)
        self._dir = tempfile.TemporaryDirectory(prefix="noots-suite-")
        self._issuers: dict[str, CertificateAuthority] = {}
        self._count = 0

    @property
    def directory(self) -> Path:
        """Where the scratch credentials' files are (TLS needs files)."""
        return Path(self._dir.name)

    def _authority(
        self, name: str, start: datetime, root_key: PrivateKey | None
    ) -> CertificateAuthority:
        self._count += 1
        directory = self.directory / f"{name}-{self._count}"
        return CertificateAuthority.create(
            directory,
            clock=ManualClock(start),
            root_key=root_key,
            key_type=KeyType.ECDSA_P256,
        )

    def issue(
        self,
        participant_id: str,
        role: Role,
        *,
        not_before: datetime | None = None,
        validity: timedelta = timedelta(days=30),
    ) -> IssuedCredential:
        """A certificate of the landscape's root for ``participant_id`` in ``role``."""
        start = not_before or self.clock.now()
        authority = self._authority("root", start - timedelta(days=1), self._root_key)
        return authority.issue(
            participant_id,
            role,
            key_type=KeyType.ECDSA_P256,
            not_before=not_before,
            validity=validity,
        )

    def expired(self, participant_id: str, role: Role) -> IssuedCredential:
        """Expired a day ago."""
        now = self.clock.now()
        return self.issue(
            participant_id, role, not_before=now - timedelta(days=2), validity=timedelta(days=1)
        )

    def not_yet_valid(self, participant_id: str, role: Role) -> IssuedCredential:
        """Valid from tomorrow."""
        return self.issue(participant_id, role, not_before=self.clock.now() + timedelta(days=1))

    def foreign(self, participant_id: str, role: Role) -> IssuedCredential:
        """From a CA of its own (not the landscape's trust anchor)."""
        authority = self._authority("foreign", self.clock.now(), None)
        return authority.issue(participant_id, role, key_type=KeyType.ECDSA_P256)

    def close(self) -> None:
        self._dir.cleanup()

    def __enter__(self) -> ScratchIssuer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Minted:
    """A credential the run presents, and whether it is the PKI's own or a scratch one."""

    credential: IssuedCredential = field(repr=False)
    from_pki: bool


class TokenMint:
    """Access tokens as the landscape's IAM issues them, for any party the run plays.

    The client certificate a token is bound to is the PKI's own for a participant the PKI
    knows, else a scratch certificate of the same root (:class:`ScratchIssuer`)."""

    def __init__(
        self, pki_dir: Path, topology: Topology, scratch: ScratchIssuer, *, clock: Clock
    ) -> None:
        self.pki_dir = pki_dir
        self.topology = topology
        self.scratch = scratch
        self.clock = clock
        self.authority = CertificateAuthority.open(pki_dir, clock=clock)
        try:
            self.iam = self.authority.credential(topology.platform.iam_id)
        except UnknownParticipant:
            raise ConfigurationError(
                f"the PKI at {pki_dir} has no credential of the IAM {topology.platform.iam_id}: "
                "run `noots bootstrap` with this topology"
            ) from None
        self._parties: dict[tuple[str, Role], Minted] = {}

    def party(self, participant_id: str, role: Role) -> Minted:
        """The credential the run uses as ``participant_id`` in ``role``."""
        key = (participant_id, role)
        found = self._parties.get(key)
        if found is None:
            try:
                credential = self.authority.credential(participant_id)
                found = Minted(credential, True)
                if credential.role is not role:
                    found = Minted(self.scratch.issue(participant_id, role), False)
            except UnknownParticipant:
                found = Minted(self.scratch.issue(participant_id, role), False)
            self._parties[key] = found
        return found

    def token(
        self,
        participant_id: str,
        role: Role,
        audience: str,
        *,
        acts_for: str | None = None,
        issued_at: datetime | None = None,
        lifetime: timedelta = timedelta(minutes=5),
        client: IssuedCredential | None = None,
        roles: tuple[Role, ...] | None = None,
    ) -> str:
        """A token of ``participant_id`` (certificate in ``role``) for ``audience``, issued
        now (or at ``issued_at``); ``client`` binds it to another certificate (e.g. a revoked
        one)."""
        certificate = (client or self.party(participant_id, role).credential).certificate
        return issue_access_token(
            self.iam,
            client=ValidatedCertificate(participant_id, role, certificate),
            audience=audience,
            acts_for=acts_for or Topology.acts_for(participant_id),
            clock=ManualClock(issued_at or self.clock.now()),
            lifetime=lifetime,
            roles=roles,
        )

    def bearer(self, participant_id: str, role: Role, audience: str, **options: object) -> str:
        return "Bearer " + self.token(participant_id, role, audience, **options)  # type: ignore[arg-type]


# -- what the PKI holds, and the explicit preparation -----------------------------------------


@dataclass(frozen=True)
class PkiFiles:
    """Where the target finds what it installs (files of the PKI; nothing is issued here)."""

    trust_anchor: Path
    crl: Path
    crl_next_update: datetime | None
    #: The target's certificate, and its key: None where the certificate was signed from the
    #: operator's own request (``noots pki issue --csr``), so the PKI holds no key.
    certificate: Path
    key: Path | None
    has_credential: bool
    has_revoked: bool


def revoked_serial(pki_dir: Path, *, clock: Clock) -> int | None:
    """The serial of a certificate the PKI has revoked (on the CRL file as it is), or None."""
    try:
        crl = load_crl((pki_dir / "ca" / "crl.pem").read_bytes())
    except (FileNotFoundError, ValueError):
        return None
    serials = sorted(entry.serial_number for entry in crl)
    return serials[0] if serials else None


def pki_files(pki_dir: Path, participant: str, *, clock: Clock) -> PkiFiles:
    """What the target installs, read from the PKI without changing it."""
    authority = CertificateAuthority.open(pki_dir, clock=clock)
    crl_path = authority.crl_path
    next_update: datetime | None = None
    with contextlib.suppress(FileNotFoundError, ValueError):
        next_update = load_crl(crl_path.read_bytes()).next_update_utc
    directory = authority.participant_dir(participant)
    key = directory / "key.pem"
    return PkiFiles(
        trust_anchor=authority.root_cert_path,
        crl=crl_path,
        crl_next_update=next_update,
        certificate=directory / "cert.pem",
        key=key if key.is_file() else None,
        has_credential=authority.holds_valid_certificate(participant),
        has_revoked=revoked_credential(pki_dir, clock=clock) is not None,
    )


@dataclass(frozen=True)
class PreparedPki:
    """What :func:`prepare_pki` changed in the PKI (each line says what and why)."""

    changes: tuple[str, ...]


def prepare_pki(
    pki_dir: Path,
    *,
    participant: str,
    role: Role,
    clock: Clock,
    credential: bool = True,
) -> PreparedPki:
    """Issue what a run needs that only the PKI can hold: the target's credential (when
    ``credential`` and it has no valid one: none, revoked or expired) and a revoked identity
    whose serial the CRL lists (when there is none yet, which republishes the CRL). Returns
    what it did."""
    authority = CertificateAuthority.open(pki_dir, clock=clock)
    changes: list[str] = []
    if credential and not authority.holds_valid_certificate(participant):
        issued = authority.issue(participant, role)
        changes.append(
            f"issued {participant} (role {role.value}): {issued.cert_path} and {issued.key_path}"
        )
    if revoked_credential(pki_dir, clock=clock) is None:
        authority.issue(REVOKED_PARTICIPANT, Role.SAK)
        authority.revoke(REVOKED_PARTICIPANT)
        changes.append(
            f"issued and revoked {REVOKED_PARTICIPANT} (role sak) for the revocation probes; "
            f"republished the CRL {authority.crl_path}: reload it in the target"
        )
    return PreparedPki(tuple(changes))


def revoked_credential(pki_dir: Path, *, clock: Clock) -> IssuedCredential | None:
    """The revoked identity's credential (``--prepare`` issued it), if the CRL lists it."""
    authority = CertificateAuthority.open(pki_dir, clock=clock)
    try:
        credential = authority.credential(REVOKED_PARTICIPANT)
    except UnknownParticipant:
        return None
    serial = credential.certificate.serial_number
    try:
        crl = load_crl(authority.crl_path.read_bytes())
    except (FileNotFoundError, ValueError):
        return None
    listed = crl.get_revoked_certificate_by_serial_number(serial) is not None
    return credential if listed else None
