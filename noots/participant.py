"""A participant's runtime identity: its own credential, a signer, and a verifier that trusts
the landscape's root CA and follows the published CRL.

A running service never opens the certificate authority: it reads only its own certificate
and key, the trust anchor and the CRL file. Because the CRL is a :class:`FileCrlSource`, a
revocation by the platform reaches every process that shares the data directory at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from noots.clock import Clock
from noots.pki import (
    CertificateValidator,
    CrlSource,
    FileCrlSource,
    IssuedCredential,
    Role,
    UnknownParticipant,
    load_certificate,
    participant_id_of,
    role_of,
)
from noots.signing import XmlSigner, XmlVerifier

__all__ = ["Participant", "load_credential", "load_participant", "load_validator"]


@dataclass(frozen=True)
class Participant:
    """Everything a service needs to sign what it sends and verify what it receives."""

    participant_id: str
    role: Role
    credential: IssuedCredential
    signer: XmlSigner
    verifier: XmlVerifier
    validator: CertificateValidator
    clock: Clock

    def __repr__(self) -> str:  # never print key material
        return f"Participant({self.participant_id!r}, role={self.role.value!r})"


def load_credential(pki_dir: str | os.PathLike[str], participant_id: str) -> IssuedCredential:
    """Read one participant's certificate and private key from ``<pki_dir>/participants/<id>``."""
    directory = Path(pki_dir) / "participants" / participant_id
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    try:
        certificate = load_certificate(cert_path.read_bytes())
        # The key file is this participant's own, written by the landscape's CA; the RSA
        # consistency check costs ~100 ms per load and would only re-prove what the CA made.
        key = serialization.load_pem_private_key(
            key_path.read_bytes(), password=None, unsafe_skip_rsa_key_validation=True
        )
    except FileNotFoundError:
        raise UnknownParticipant(participant_id) from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(f"{key_path}: unsupported key type {type(key).__name__}")
    if participant_id_of(certificate) != participant_id:
        raise ValueError(f"{cert_path} was issued to {participant_id_of(certificate)!r}")
    return IssuedCredential(
        participant_id=participant_id,
        role=role_of(certificate),
        certificate=certificate,
        private_key=key,
        cert_path=cert_path,
        key_path=key_path,
    )


def load_validator(
    pki_dir: str | os.PathLike[str], *, clock: Clock, crl_source: CrlSource | None = None
) -> CertificateValidator:
    """A validator for the landscape whose PKI lives in ``pki_dir`` (trust anchor + CRL)."""
    ca_dir = Path(pki_dir) / "ca"
    anchor = load_certificate((ca_dir / "root-cert.pem").read_bytes())
    return CertificateValidator(anchor, crl_source or FileCrlSource(ca_dir / "crl.pem"), clock)


def load_participant(
    pki_dir: str | os.PathLike[str],
    participant_id: str,
    *,
    clock: Clock,
    crl_source: CrlSource | None = None,
) -> Participant:
    credential = load_credential(pki_dir, participant_id)
    validator = load_validator(pki_dir, clock=clock, crl_source=crl_source)
    return Participant(
        participant_id=participant_id,
        role=credential.role,
        credential=credential,
        signer=XmlSigner(credential),
        verifier=XmlVerifier(validator),
        validator=validator,
        clock=clock,
    )
