"""The simulated NOOTS PKI: one root CA, participant certificates, a CRL, and path validation.

Layout of a CA directory (the landscape's processes share it; every write is atomic, so a
reader never sees half a file)::

    ca/root-cert.pem    the trust anchor
    ca/root-key.pem     0600
    ca/crl.pem          signed by the root, rewritten on every revocation
    ca/index.json       serials, participant, role, status, revocation time
    participants/<id>/cert.pem
    participants/<id>/key.pem   0600

A participant certificate carries the participant id as subject ``CN`` and its role as ``OU``.
:class:`CertificateValidator` checks a certificate against the trust anchor at the time of an
injectable clock; every failure is a typed :class:`~noots.errors.CertificateError`.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from noots.clock import Clock
from noots.errors import (
    CertificateExpired,
    CertificateNotYetValid,
    CertificateRequestRejected,
    CertificateRevoked,
    CertificateUntrusted,
    WrongKeyUsage,
)

__all__ = [
    "CLOCK_SKEW",
    "ORGANISATION",
    "PARTICIPANT_ID_PATTERN",
    "CertificateAuthority",
    "CertificateRecord",
    "CertificateValidator",
    "CrlSource",
    "FileCrlSource",
    "IssuedCredential",
    "KeyType",
    "PrivateKey",
    "PublicKey",
    "PublishedPki",
    "Role",
    "StaticCrlSource",
    "UnknownParticipant",
    "ValidatedCertificate",
    "generate_private_key",
    "load_certificate",
    "load_crl",
    "participant_id_of",
    "role_of",
]

ORGANISATION = "noots Simulator"
ROOT_COMMON_NAME = "noots Simulator Root CA"
PARTICIPANT_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:_-]{0,63}")
# Certificates issued "now" start this much earlier, so components whose clocks differ by a
# little (or a test that steps its clock back a few seconds) do not see them as not yet valid.
CLOCK_SKEW = timedelta(minutes=5)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


class KeyType(StrEnum):
    RSA2048 = "rsa2048"
    ECDSA_P256 = "ecdsa-p256"


class Role(StrEnum):
    """What a participant is allowed to be; carried as the certificate subject's ``OU``."""

    CONSUMER = "consumer"
    PROVIDER = "provider"
    #: A Sicherer Anschlussknoten: signs and verifies the transport between participants.
    SAK = "sak"
    #: The platform process of the central components (RDN, PKI, IAM, VS, DSC, eID): its TLS
    #: identity. Nothing is accepted as signed by this role: the components sign with their
    #: own credentials (VS, IAM, eID).
    CENTRAL = "central"
    VS = "vs"
    IDA = "ida"
    EID = "eid"
    #: IAM für Behörden: signs access tokens.
    IAM = "iam"
    PLATFORM = "platform"
    SIMULATOR = "simulator"


class UnknownParticipant(KeyError):
    """The CA has never issued a credential to this participant (a set-up error, not a
    protocol failure, hence not a :class:`~noots.errors.NootsError`)."""

    def __init__(self, participant_id: str) -> None:
        super().__init__(participant_id)
        self.participant_id = participant_id

    def __str__(self) -> str:
        return f"no credential issued to participant {self.participant_id!r}"


def generate_private_key(key_type: KeyType = KeyType.RSA2048) -> PrivateKey:
    if key_type is KeyType.ECDSA_P256:
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_type_of(key: PrivateKey) -> KeyType:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValueError(f"unsupported curve {key.curve.name}: only P-256 is allowed")
        return KeyType.ECDSA_P256
    if key.key_size < 2048:
        raise ValueError("RSA keys shorter than 2048 bits are not allowed")
    return KeyType.RSA2048


def _public_key_type(key: PublicKey) -> KeyType:
    return KeyType.ECDSA_P256 if isinstance(key, ec.EllipticCurvePublicKey) else KeyType.RSA2048


# --------------------------------------------------------------------------------------------
# Certificate signing requests (the operator keeps the key)

#: Largest request the CA reads: a CSR with a 4096-bit RSA key and a few names is ~2 KB.
MAX_REQUEST_BYTES = 64 * 1024
#: Extensions a request may carry: the CA sets these itself (subjectAltName: it adds the names).
_REQUESTABLE = {
    x509.SubjectAlternativeName.oid,
    x509.KeyUsage.oid,
    x509.ExtendedKeyUsage.oid,
    x509.BasicConstraints.oid,
    x509.SubjectKeyIdentifier.oid,
}


def _load_request(data: bytes) -> x509.CertificateSigningRequest:
    """The request in ``data`` (PEM or DER) whose own signature verifies."""
    if len(data) > MAX_REQUEST_BYTES:
        raise CertificateRequestRejected("the certificate request is too large")
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            csr = x509.load_pem_x509_csr(data)
        else:
            csr = x509.load_der_x509_csr(data)
    except ValueError:
        raise CertificateRequestRejected(
            "not a certificate signing request (PKCS#10, PEM or DER)"
        ) from None
    try:
        valid = csr.is_signature_valid
    except (ValueError, TypeError, UnsupportedAlgorithm):
        valid = False
    if not valid:
        # Only the holder of the private key can make a valid one: anything else could be a
        # request for someone else's key.
        raise CertificateRequestRejected("the request's own signature does not verify")
    return csr


def _check_request_key(key: object) -> PublicKey:
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise CertificateRequestRejected("RSA keys shorter than 2048 bits are not allowed")
        return key
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise CertificateRequestRejected(
                f"unsupported curve {key.curve.name}: only P-256 is allowed"
            )
        return key
    raise CertificateRequestRejected(
        f"unsupported key type {type(key).__name__}: RSA (2048 bits or more) or ECDSA P-256"
    )


def _check_request_subject(subject: x509.Name, participant_id: str, role: Role) -> None:
    """The subject may name this participant only, as the CA would write it."""
    allowed = {
        NameOID.COMMON_NAME: participant_id,
        NameOID.ORGANIZATION_NAME: ORGANISATION,
        NameOID.ORGANIZATIONAL_UNIT_NAME: role.value,
    }
    common_names = subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(common_names) != 1 or common_names[0].value != participant_id:
        raise CertificateRequestRejected(
            f"the request's subject must be CN={participant_id} (the participant id)"
        )
    for attribute in subject:
        expected = allowed.get(attribute.oid)
        if expected is None or attribute.value != expected:
            raise CertificateRequestRejected(
                f"the request's subject carries {attribute.rfc4514_string()!r}, which this CA "
                f"does not certify (give CN={participant_id} only)"
            )


def _requested_names(csr: x509.CertificateSigningRequest) -> list[str]:
    """The DNS names and IP addresses the request asks for; refuses any other extension."""
    names: list[str] = []
    for extension in csr.extensions:
        if extension.oid not in _REQUESTABLE:
            raise CertificateRequestRejected(
                f"the request asks for extension {extension.oid.dotted_string}, which this CA "
                "does not grant"
            )
        value = extension.value
        if isinstance(value, x509.BasicConstraints) and value.ca:
            raise CertificateRequestRejected("the request asks to be a CA: refused")
        if isinstance(value, x509.SubjectAlternativeName):
            for name in value:
                if isinstance(name, x509.DNSName):
                    names.append(name.value)
                elif isinstance(name, x509.IPAddress):
                    names.append(str(name.value))
                else:
                    raise CertificateRequestRejected(
                        "the request's subjectAltName may hold DNS names and IP addresses only"
                    )
    return names


def load_certificate(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def load_crl(pem: bytes) -> x509.CertificateRevocationList:
    return x509.load_pem_x509_crl(pem)


def _subject_attribute(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str | None:
    values = cert.subject.get_attributes_for_oid(oid)
    if len(values) != 1:
        return None
    value = values[0].value
    return value if isinstance(value, str) else None


def participant_id_of(cert: x509.Certificate) -> str:
    """The participant id (subject ``CN``); a certificate without a well-formed one is refused."""
    value = _subject_attribute(cert, NameOID.COMMON_NAME)
    if value is None or not PARTICIPANT_ID_PATTERN.fullmatch(value):
        raise CertificateUntrusted("certificate subject carries no valid participant id")
    return value


def role_of(cert: x509.Certificate) -> Role:
    """The role (subject ``OU``); an unknown role means the certificate is good for nothing."""
    value = _subject_attribute(cert, NameOID.ORGANIZATIONAL_UNIT_NAME)
    try:
        return Role(value or "")
    except ValueError:
        raise WrongKeyUsage("certificate subject carries no known role") from None


def _check_participant_id(participant_id: str) -> str:
    # The id becomes a directory name: the pattern also keeps it from escaping the CA folder.
    if not PARTICIPANT_ID_PATTERN.fullmatch(participant_id):
        raise ValueError(f"not a valid participant id: {participant_id!r}")
    return participant_id


def _fingerprint(cert: x509.Certificate) -> bytes:
    return cert.fingerprint(hashes.SHA256())


def _seconds(instant: datetime) -> datetime:
    # X.509 times have a resolution of one second; truncating keeps "not before" <= now.
    return instant.replace(microsecond=0)


# --------------------------------------------------------------------------------------------
# Files


def _write_atomic(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never a mix.

    The temporary file is created with its final mode, so a private key is never readable by
    others, not even for an instant.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _private_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _load_private_key(path: Path) -> PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: unsupported key type {type(key).__name__}")
    return key


# --------------------------------------------------------------------------------------------
# Issued credentials and the index


@dataclass(frozen=True)
class IssuedCredential:
    """A participant's certificate and private key, loaded once and reused."""

    participant_id: str
    role: Role
    certificate: x509.Certificate
    private_key: PrivateKey
    cert_path: Path
    key_path: Path

    @property
    def key_type(self) -> KeyType:
        return _key_type_of(self.private_key)

    @property
    def serial(self) -> int:
        return self.certificate.serial_number

    def __repr__(self) -> str:  # never print key material
        return (
            f"IssuedCredential(participant_id={self.participant_id!r}, role={self.role.value!r}, "
            f"serial={self.serial:x})"
        )


@dataclass(frozen=True)
class CertificateRecord:
    """One line of ``ca/index.json``."""

    serial: int
    participant_id: str
    role: Role
    key_type: KeyType
    not_before: datetime
    not_after: datetime
    status: str  # "valid" or "revoked"
    revoked_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "serial": f"{self.serial:x}",
            "participant": self.participant_id,
            "role": self.role.value,
            "key_type": self.key_type.value,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "status": self.status,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CertificateRecord:
        revoked = data.get("revoked_at")
        return cls(
            serial=int(data["serial"], 16),
            participant_id=data["participant"],
            role=Role(data["role"]),
            key_type=KeyType(data["key_type"]),
            not_before=datetime.fromisoformat(data["not_before"]),
            not_after=datetime.fromisoformat(data["not_after"]),
            status=data["status"],
            revoked_at=datetime.fromisoformat(revoked) if revoked else None,
        )


# --------------------------------------------------------------------------------------------
# The certificate authority


class CertificateAuthority:
    """The simulator's root CA over one data directory.

    Several processes may open the same directory; mutations take an exclusive file lock and
    write atomically, and :class:`FileCrlSource` picks up a new CRL in every process at once.
    """

    def __init__(
        self,
        directory: Path,
        *,
        clock: Clock,
        root_certificate: x509.Certificate,
        root_key: PrivateKey,
        crl_validity: timedelta = timedelta(days=30),
    ) -> None:
        self.directory = directory
        self.clock = clock
        self._root_certificate = root_certificate
        self._root_key = root_key
        self.crl_validity = crl_validity
        self._lock = threading.RLock()
        # participant id -> (file identity of key and cert, credential): parse each file once.
        self._credentials: dict[str, tuple[tuple[int, ...], IssuedCredential]] = {}

    # -- paths

    @property
    def ca_dir(self) -> Path:
        return self.directory / "ca"

    @property
    def root_cert_path(self) -> Path:
        return self.ca_dir / "root-cert.pem"

    @property
    def root_key_path(self) -> Path:
        return self.ca_dir / "root-key.pem"

    @property
    def crl_path(self) -> Path:
        return self.ca_dir / "crl.pem"

    @property
    def index_path(self) -> Path:
        return self.ca_dir / "index.json"

    def participant_dir(self, participant_id: str) -> Path:
        return self.directory / "participants" / _check_participant_id(participant_id)

    @property
    def trust_anchor(self) -> x509.Certificate:
        return self._root_certificate

    # -- construction

    @classmethod
    def create(
        cls,
        directory: str | os.PathLike[str],
        *,
        clock: Clock,
        key_type: KeyType = KeyType.RSA2048,
        validity: timedelta = timedelta(days=3650),
        root_key: PrivateKey | None = None,
    ) -> CertificateAuthority:
        """A new root CA in ``directory``; refuses to overwrite an existing one."""
        path = Path(directory)
        if (path / "ca" / "root-cert.pem").exists():
            raise FileExistsError(f"{path} already holds a certificate authority")
        key = root_key or generate_private_key(key_type)
        now = _seconds(clock.now())
        start = now - CLOCK_SKEW
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
                x509.NameAttribute(NameOID.COMMON_NAME, ROOT_COMMON_NAME),
            ]
        )
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(now + validity)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                critical=False,
            )
            .sign(key, hashes.SHA256())
        )
        ca = cls(path, clock=clock, root_certificate=certificate, root_key=key)
        ca.ca_dir.mkdir(parents=True, exist_ok=True)
        (path / "participants").mkdir(exist_ok=True)
        with ca._exclusive():
            if ca.root_cert_path.exists():
                raise FileExistsError(f"{path} already holds a certificate authority")
            _write_atomic(ca.root_key_path, _private_pem(key), mode=0o600)
            _write_atomic(ca.root_cert_path, certificate.public_bytes(serialization.Encoding.PEM))
            ca._write_index({"version": 1, "crl_number": 0, "certificates": []})
            ca._write_crl_locked()
        return ca

    @classmethod
    def open(cls, directory: str | os.PathLike[str], *, clock: Clock) -> CertificateAuthority:
        path = Path(directory)
        cert_path = path / "ca" / "root-cert.pem"
        if not cert_path.exists():
            raise FileNotFoundError(f"{path} holds no certificate authority (run `noots pki init`)")
        certificate = load_certificate(cert_path.read_bytes())
        key = _load_private_key(path / "ca" / "root-key.pem")
        return cls(path, clock=clock, root_certificate=certificate, root_key=key)

    @classmethod
    def open_or_create(
        cls,
        directory: str | os.PathLike[str],
        *,
        clock: Clock,
        key_type: KeyType = KeyType.RSA2048,
    ) -> CertificateAuthority:
        try:
            return cls.open(directory, clock=clock)
        except FileNotFoundError:
            pass
        try:
            return cls.create(directory, clock=clock, key_type=key_type)
        except FileExistsError:  # another process was faster
            return cls.open(directory, clock=clock)

    # -- issuing

    def issue(
        self,
        participant_id: str,
        role: Role,
        *,
        key_type: KeyType = KeyType.RSA2048,
        validity: timedelta = timedelta(days=365),
        not_before: datetime | None = None,
        extra_names: Iterable[str] = (),
        private_key: PrivateKey | None = None,
        replace: bool = True,
    ) -> IssuedCredential:
        """Issue (or re-issue) the participant's credential and store it.

        Valid from ``not_before`` for ``validity``; by default from now (less
        :data:`CLOCK_SKEW`) until now + ``validity``.

        With ``replace`` (the default) every earlier certificate of the participant is revoked;
        ``replace=False`` keeps them valid (key rollover, or one test participant with several
        key types). ``private_key`` reuses an existing key instead of generating one.
        ``extra_names`` are added to the subjectAltName (IP addresses or DNS names).
        """
        _check_participant_id(participant_id)
        role = Role(role)
        key = private_key or generate_private_key(key_type)
        key_type = _key_type_of(key)
        if not_before is None:
            now = _seconds(self.clock.now())
            start, end = now - CLOCK_SKEW, now + validity
        else:
            start = _seconds(not_before)
            end = start + validity
        certificate = self._build_certificate(participant_id, role, key, start, end, extra_names)
        directory = self.participant_dir(participant_id)
        record = CertificateRecord(
            serial=certificate.serial_number,
            participant_id=participant_id,
            role=role,
            key_type=key_type,
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
            status="valid",
        )
        with self._exclusive():
            index = self._read_index()
            revoked_any = False
            if replace:
                revoked_any = self._revoke_in_index(index, participant_id)
            index["certificates"].append(record.to_json())
            _write_atomic(directory / "key.pem", _private_pem(key), mode=0o600)
            _write_atomic(
                directory / "cert.pem", certificate.public_bytes(serialization.Encoding.PEM)
            )
            self._write_index(index)
            if revoked_any:
                self._write_crl_locked()
        credential = IssuedCredential(
            participant_id=participant_id,
            role=role,
            certificate=certificate,
            private_key=key,
            cert_path=directory / "cert.pem",
            key_path=directory / "key.pem",
        )
        with self._lock:
            self._credentials[participant_id] = (self._file_identity(credential), credential)
        return credential

    def sign_request(
        self,
        request: bytes,
        participant_id: str,
        role: Role,
        *,
        validity: timedelta = timedelta(days=365),
        extra_names: Iterable[str] = (),
        replace: bool = True,
    ) -> x509.Certificate:
        """Sign a participant's certificate signing request (PEM or DER): the operator keeps
        the private key, the CA never sees it.

        The CA checks the request before it signs anything (fail closed, every refusal a
        :class:`~noots.errors.CertificateRequestRejected`): it must parse, its own signature
        must verify (the requester holds the key), its key must be RSA of at least 2048 bits
        or ECDSA P-256, its subject may name only the participant (``CN``, and ``O``/``OU`` only
        as this CA writes them), and it may ask for no extensions but subjectAltNames (DNS names
        and IP addresses, added to the certificate) and what the CA sets anyway. The certificate
        is the same as :meth:`issue` makes: the CA writes subject, validity and extensions.

        It is stored as the participant's ``cert.pem``; a private key of an earlier credential
        of the participant is removed, as it no longer belongs to the current certificate.
        With ``replace`` the participant's earlier certificates are revoked.
        """
        _check_participant_id(participant_id)
        role = Role(role)
        csr = _load_request(request)
        key = _check_request_key(csr.public_key())
        _check_request_subject(csr.subject, participant_id, role)
        names = [*extra_names, *_requested_names(csr)]
        now = _seconds(self.clock.now())
        certificate = self._build_certificate(
            participant_id, role, key, now - CLOCK_SKEW, now + validity, names
        )
        directory = self.participant_dir(participant_id)
        record = CertificateRecord(
            serial=certificate.serial_number,
            participant_id=participant_id,
            role=role,
            key_type=_public_key_type(key),
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
            status="valid",
        )
        with self._exclusive():
            index = self._read_index()
            revoked_any = self._revoke_in_index(index, participant_id) if replace else False
            index["certificates"].append(record.to_json())
            _write_atomic(
                directory / "cert.pem", certificate.public_bytes(serialization.Encoding.PEM)
            )
            with contextlib.suppress(FileNotFoundError):
                (directory / "key.pem").unlink()
            self._write_index(index)
            if revoked_any:
                self._write_crl_locked()
        with self._lock:
            self._credentials.pop(participant_id, None)
        return certificate

    def certificate(self, participant_id: str) -> x509.Certificate:
        """The participant's current certificate (with or without a key held here)."""
        try:
            return load_certificate(
                (self.participant_dir(participant_id) / "cert.pem").read_bytes()
            )
        except FileNotFoundError:
            raise UnknownParticipant(participant_id) from None

    def _build_certificate(
        self,
        participant_id: str,
        role: Role,
        key: PrivateKey | PublicKey,
        start: datetime,
        end: datetime,
        extra_names: Iterable[str],
    ) -> x509.Certificate:
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role.value),
                x509.NameAttribute(NameOID.COMMON_NAME, participant_id),
            ]
        )
        names: list[x509.GeneralName] = [
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ]
        for extra in extra_names:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(extra)))
            except ValueError:
                names.append(x509.DNSName(extra))
        public_key = key if isinstance(key, PublicKey) else key.public_key()
        is_rsa = isinstance(public_key, rsa.RSAPublicKey)
        issuer_ski = self._root_certificate.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier
        ).value
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._root_certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    # RSA key exchange in TLS needs keyEncipherment; ECDHE with ECDSA does not.
                    key_encipherment=is_rsa,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]
                ),
                critical=False,
            )
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski),
                critical=False,
            )
            .sign(self._root_key, hashes.SHA256())
        )

    # -- reading credentials

    @staticmethod
    def _file_identity(credential: IssuedCredential) -> tuple[int, ...]:
        identity: list[int] = []
        for path in (credential.cert_path, credential.key_path):
            stat = path.stat()
            identity += [stat.st_ino, stat.st_mtime_ns, stat.st_size]
        return tuple(identity)

    def credential(self, participant_id: str) -> IssuedCredential:
        """The participant's current credential; files are parsed once and re-read only after
        another process re-issued them."""
        directory = self.participant_dir(participant_id)
        cert_path, key_path = directory / "cert.pem", directory / "key.pem"
        with self._lock:
            cached = self._credentials.get(participant_id)
            try:
                if cached is not None and self._file_identity(cached[1]) == cached[0]:
                    return cached[1]
                certificate = load_certificate(cert_path.read_bytes())
                key = _load_private_key(key_path)
            except FileNotFoundError:
                raise UnknownParticipant(participant_id) from None
            credential = IssuedCredential(
                participant_id=participant_id_of(certificate),
                role=role_of(certificate),
                certificate=certificate,
                private_key=key,
                cert_path=cert_path,
                key_path=key_path,
            )
            self._credentials[participant_id] = (self._file_identity(credential), credential)
            return credential

    def records(self) -> list[CertificateRecord]:
        """Every certificate this CA has issued, oldest first."""
        return [CertificateRecord.from_json(item) for item in self._read_index()["certificates"]]

    def participants(self) -> list[str]:
        return sorted({record.participant_id for record in self.records()})

    def holds_valid_certificate(self, participant_id: str) -> bool:
        """Whether the participant has a certificate that is neither revoked nor outside its
        validity now (a revoked or expired one is no credential to hand out)."""
        now = self.clock.now()
        return any(
            record.participant_id == participant_id
            and record.status == "valid"
            and record.not_before <= now < record.not_after
            for record in self.records()
        )

    # -- revocation

    def revoke(self, participant_id: str) -> None:
        """Revoke every valid certificate of the participant and publish a new CRL at once."""
        _check_participant_id(participant_id)
        with self._exclusive():
            index = self._read_index()
            if not any(item["participant"] == participant_id for item in index["certificates"]):
                raise UnknownParticipant(participant_id)
            if self._revoke_in_index(index, participant_id):
                self._write_index(index)
            self._write_crl_locked()

    def _revoke_in_index(self, index: dict[str, Any], participant_id: str) -> bool:
        now = _seconds(self.clock.now()).isoformat()
        changed = False
        for item in index["certificates"]:
            if item["participant"] == participant_id and item["status"] == "valid":
                item["status"] = "revoked"
                item["revoked_at"] = now
                changed = True
        return changed

    def crl(self) -> x509.CertificateRevocationList:
        """The current CRL; re-signed first if it is due (next update reached)."""
        with self._lock:
            try:
                crl = load_crl(self.crl_path.read_bytes())
            except FileNotFoundError:
                crl = None
            if (
                crl is None
                or crl.next_update_utc is None
                or crl.next_update_utc <= self.clock.now()
            ):
                with self._exclusive():
                    return self._write_crl_locked()
            return crl

    def _write_crl_locked(self) -> x509.CertificateRevocationList:
        index = self._read_index()
        index["crl_number"] = int(index.get("crl_number", 0)) + 1
        now = _seconds(self.clock.now())
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self._root_certificate.subject)
            .last_update(now)
            .next_update(now + self.crl_validity)
            .add_extension(x509.CRLNumber(index["crl_number"]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._root_key.public_key()),
                critical=False,
            )
        )
        for item in index["certificates"]:
            if item["status"] != "revoked":
                continue
            entry = (
                x509.RevokedCertificateBuilder()
                .serial_number(int(item["serial"], 16))
                .revocation_date(datetime.fromisoformat(item["revoked_at"]))
                .build()
            )
            builder = builder.add_revoked_certificate(entry)
        crl = builder.sign(self._root_key, hashes.SHA256())
        _write_atomic(self.crl_path, crl.public_bytes(serialization.Encoding.PEM))
        self._write_index(index)
        return crl

    # -- helpers

    def validator(self, *, clock: Clock | None = None) -> CertificateValidator:
        """A validator against this CA's trust anchor and its CRL file."""
        return CertificateValidator(
            self._root_certificate, FileCrlSource(self.crl_path), clock or self.clock
        )

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Serialise mutations across threads and processes sharing the directory."""
        with self._lock:
            self.ca_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.ca_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def _read_index(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.index_path.read_text(encoding="utf-8"))
        return data

    def _write_index(self, index: dict[str, Any]) -> None:
        _write_atomic(self.index_path, json.dumps(index, indent=2).encode("utf-8") + b"\n")


class PublishedPki:
    """What the certificate authority publishes, read without its key: the trust anchor, the
    CRL, the register of issued certificates (``index.json``) and each participant's current
    certificate (``certificates/<id>.pem``), all below ``<directory>/ca``.

    The platform's IAM/PKI serves from this where the CA is operated apart from every running
    component (containers: the one-shot ``noots provision`` publishes these files into the
    shared ``trust`` volume and is the only container that opens the CA). The CRL is served as
    published: only the CA's operator signs a new one (``noots provision`` does when it is due
    within a week, and on ``--revoke``); a CRL past its next update fails closed in every
    validator, as it should.
    """

    #: Below the CA directory: the participants' current certificates, published.
    CERTIFICATES = "certificates"

    def __init__(self, directory: Path, *, root_certificate: x509.Certificate) -> None:
        self.directory = directory
        self._root_certificate = root_certificate

    @classmethod
    def open(cls, directory: str | os.PathLike[str]) -> PublishedPki:
        path = Path(directory)
        cert_path = path / "ca" / "root-cert.pem"
        if not cert_path.exists():
            raise FileNotFoundError(f"{path} holds no published trust anchor")
        return cls(path, root_certificate=load_certificate(cert_path.read_bytes()))

    @property
    def ca_dir(self) -> Path:
        return self.directory / "ca"

    @property
    def trust_anchor(self) -> x509.Certificate:
        return self._root_certificate

    def crl(self) -> x509.CertificateRevocationList:
        """The CRL as the CA's operator published it."""
        return load_crl((self.ca_dir / "crl.pem").read_bytes())

    def records(self) -> list[CertificateRecord]:
        """Every certificate the CA has issued, oldest first (empty before the first)."""
        try:
            index = json.loads((self.ca_dir / "index.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        return [CertificateRecord.from_json(item) for item in index["certificates"]]

    def certificate(self, participant_id: str) -> x509.Certificate:
        """The participant's current certificate as published."""
        name = _check_participant_id(participant_id)
        try:
            return load_certificate((self.ca_dir / self.CERTIFICATES / f"{name}.pem").read_bytes())
        except FileNotFoundError:
            raise UnknownParticipant(participant_id) from None


# --------------------------------------------------------------------------------------------
# CRL sources


@runtime_checkable
class CrlSource(Protocol):
    def current(self) -> x509.CertificateRevocationList | None:
        """The CRL to check against now, or None when none is available."""
        ...


class StaticCrlSource:
    def __init__(self, crl: x509.CertificateRevocationList | None) -> None:
        self._crl = crl

    def current(self) -> x509.CertificateRevocationList | None:
        return self._crl


class FileCrlSource:
    """A CRL file, re-read whenever it changes, so a revocation by any process sharing the data
    directory takes effect at once. A missing or unreadable file answers None (fail closed)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._identity: tuple[int, int, int] | None = None
        self._crl: x509.CertificateRevocationList | None = None

    def current(self) -> x509.CertificateRevocationList | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        identity = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if identity != self._identity:
                try:
                    self._crl = load_crl(self.path.read_bytes())
                except (OSError, ValueError):
                    self._crl = None
                self._identity = identity
            return self._crl


# --------------------------------------------------------------------------------------------
# Validation


@dataclass(frozen=True)
class ValidatedCertificate:
    """A certificate that passed :meth:`CertificateValidator.validate`, with what it says."""

    participant_id: str
    role: Role
    certificate: x509.Certificate


@dataclass(frozen=True)
class _StaticFacts:
    """What never changes for one certificate: checked once, cached by fingerprint."""

    participant_id: str | None
    role: Role | None
    key_usage_error: str | None
    identity_error: str | None


class CertificateValidator:
    """Path validation of participant certificates against one trust anchor.

    Order of the checks: issuer and signature (``CertificateUntrusted``), validity period of
    anchor and certificate (``CertificateNotYetValid`` / ``CertificateExpired``), revocation by
    the current CRL (``CertificateRevoked``; a missing, stale or forged CRL is
    ``CertificateUntrusted`` unless ``require_crl`` is off), key usage (``WrongKeyUsage``: a CA
    certificate or one without digitalSignature), subject (``CertificateUntrusted`` without a
    valid participant id) and role (``WrongKeyUsage``: the certificate is not meant for this use).

    Only the signature check and the parsing of the subject are cached (by fingerprint); the
    time and the CRL are evaluated on every call.
    """

    def __init__(
        self,
        trust_anchor: x509.Certificate,
        crl_source: CrlSource,
        clock: Clock,
        *,
        require_crl: bool = True,
        cache_size: int = 4096,
    ) -> None:
        self.trust_anchor = trust_anchor
        self.crl_source = crl_source
        self.clock = clock
        self.require_crl = require_crl
        self._cache_size = cache_size
        self._trusted: OrderedDict[bytes, _StaticFacts] = OrderedDict()
        # Verifiers hand in the same certificate object for repeated messages; looking it up by
        # identity saves hashing it. The entry holds the object, so its id cannot be reused.
        self._by_identity: OrderedDict[int, tuple[x509.Certificate, _StaticFacts]] = OrderedDict()
        self._lock = threading.Lock()
        self._good_crl: x509.CertificateRevocationList | None = None

    def validate(
        self,
        cert: x509.Certificate,
        *,
        required_role: Role | frozenset[Role] | None = None,
        at: datetime | None = None,
    ) -> ValidatedCertificate:
        facts = self._static_facts(cert)
        now = at or self.clock.now()
        for subject, what in ((self.trust_anchor, "trust anchor"), (cert, "certificate")):
            if now < subject.not_valid_before_utc:
                raise CertificateNotYetValid(
                    f"{what} not valid before {subject.not_valid_before_utc.isoformat()}"
                )
            if now > subject.not_valid_after_utc:
                raise CertificateExpired(
                    f"{what} expired at {subject.not_valid_after_utc.isoformat()}"
                )
        self._check_revocation(cert, now)
        if facts.key_usage_error is not None:
            raise WrongKeyUsage(facts.key_usage_error)
        if facts.identity_error is not None:
            raise CertificateUntrusted(facts.identity_error)
        if facts.role is None or facts.participant_id is None:
            raise WrongKeyUsage("certificate subject carries no known role")
        if required_role is not None:
            allowed = {required_role} if isinstance(required_role, Role) else set(required_role)
            if facts.role not in allowed:
                wanted = " or ".join(sorted(role.value for role in allowed))
                raise WrongKeyUsage(f"participant has role {facts.role.value}, {wanted} required")
        return ValidatedCertificate(facts.participant_id, facts.role, cert)

    def _static_facts(self, cert: x509.Certificate) -> _StaticFacts:
        with self._lock:
            known = self._by_identity.get(id(cert))
            if known is not None and known[0] is cert:
                self._by_identity.move_to_end(id(cert))
                return known[1]
        fingerprint = _fingerprint(cert)
        with self._lock:
            facts = self._trusted.get(fingerprint)
            if facts is not None:
                self._trusted.move_to_end(fingerprint)
                self._remember(cert, facts)
                return facts
        if cert.issuer != self.trust_anchor.subject:
            raise CertificateUntrusted("certificate not issued by the trust anchor")
        try:
            cert.verify_directly_issued_by(self.trust_anchor)
        except (ValueError, TypeError, InvalidSignature):
            raise CertificateUntrusted("certificate not issued by the trust anchor") from None
        facts = _read_static_facts(cert)
        with self._lock:
            self._trusted[fingerprint] = facts
            if len(self._trusted) > self._cache_size:
                self._trusted.popitem(last=False)
            self._remember(cert, facts)
        return facts

    def _remember(self, cert: x509.Certificate, facts: _StaticFacts) -> None:
        self._by_identity[id(cert)] = (cert, facts)
        if len(self._by_identity) > self._cache_size:
            self._by_identity.popitem(last=False)

    def _check_revocation(self, cert: x509.Certificate, now: datetime) -> None:
        crl = self.crl_source.current()
        if crl is None:
            if self.require_crl:
                raise CertificateUntrusted("no certificate revocation list available")
            return
        if crl is not self._good_crl:
            if crl.issuer != self.trust_anchor.subject or not crl.is_signature_valid(
                self.trust_anchor.public_key()  # type: ignore[arg-type]
            ):
                raise CertificateUntrusted("revocation list not signed by the trust anchor")
            self._good_crl = crl
        next_update = crl.next_update_utc
        if self.require_crl and (next_update is None or next_update < now):
            raise CertificateUntrusted("revocation list is out of date")
        if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
            raise CertificateRevoked("certificate has been revoked")


def _read_static_facts(cert: x509.Certificate) -> _StaticFacts:
    key_usage_error: str | None = None
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        if constraints.ca:
            key_usage_error = "a CA certificate cannot sign messages"
    except x509.ExtensionNotFound:
        pass
    if key_usage_error is None:
        try:
            usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
            if not usage.digital_signature:
                key_usage_error = "certificate key usage does not allow digital signatures"
        except x509.ExtensionNotFound:
            key_usage_error = "certificate has no key usage extension"
    participant_id: str | None = None
    role: Role | None = None
    identity_error: str | None = None
    try:
        participant_id = participant_id_of(cert)
    except CertificateUntrusted as exc:
        identity_error = exc.message
    with contextlib.suppress(WrongKeyUsage):
        role = role_of(cert)
    return _StaticFacts(participant_id, role, key_usage_error, identity_error)
