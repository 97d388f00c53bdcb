"""A ready-made test PKI: a CA in a temporary directory on a :class:`~noots.clock.ManualClock`,
issuing credentials on demand.

::

    pki = TestPki()
    signed = pki.signer("08118079-BPA-87", Role.CONSUMER).sign(document)
    verified = pki.verifier().verify(signed, required_role=Role.CONSUMER)
    pki.clock.advance(timedelta(days=400))   # now the certificate has expired

Issuing is fast: each participant's RSA key is generated once per process and reused by every
TestPki (a module-level pool), only the certificates are new. Root keys are never pooled, so
two TestPki instances really are two distrusting CAs.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType

from lxml import etree

from noots.clock import ManualClock
from noots.paths import shared_dir
from noots.pki import (
    CertificateAuthority,
    CertificateValidator,
    IssuedCredential,
    KeyType,
    PrivateKey,
    Role,
    generate_private_key,
)
from noots.signing import VerificationPolicy, XmlSigner, XmlVerifier
from noots.xml import parse

__all__ = ["TestPki", "pooled_key", "sample_envelope"]

_POOL: dict[tuple[str, KeyType], PrivateKey] = {}
_POOL_LOCK = threading.Lock()


def pooled_key(name: str, key_type: KeyType = KeyType.RSA2048) -> PrivateKey:
    """The same private key for the same name within one process (test use only)."""
    with _POOL_LOCK:
        key = _POOL.get((name, key_type))
        if key is None:
            key = generate_private_key(key_type)
            _POOL[(name, key_type)] = key
        return key


class TestPki:
    """A throwaway CA for tests. Use as a context manager or call :meth:`close` to remove the
    directory (a directory passed in is left alone)."""

    __test__ = False  # not a pytest test class despite the name

    def __init__(
        self,
        directory: str | Path | None = None,
        *,
        clock: ManualClock | None = None,
        key_type: KeyType = KeyType.RSA2048,
        root_key_type: KeyType = KeyType.RSA2048,
    ) -> None:
        self.clock = clock or ManualClock()
        self.key_type = key_type
        self._owns_directory = directory is None
        self.directory = (
            Path(directory) if directory else Path(tempfile.mkdtemp(prefix="noots-pki-"))
        )
        self.ca = CertificateAuthority.create(
            self.directory, clock=self.clock, key_type=root_key_type
        )
        self._credentials: dict[tuple[str, KeyType], IssuedCredential] = {}
        self._validators: dict[bool, CertificateValidator] = {}
        self._verifiers: dict[VerificationPolicy, XmlVerifier] = {}
        self._signers: dict[int, tuple[IssuedCredential, XmlSigner]] = {}
        self._lock = threading.Lock()

    @property
    def trust_anchor_path(self) -> Path:
        return self.ca.root_cert_path

    def credential(
        self,
        participant_id: str,
        role: Role = Role.CONSUMER,
        *,
        key_type: KeyType | None = None,
        validity: timedelta = timedelta(days=365),
        extra_names: Iterable[str] = (),
    ) -> IssuedCredential:
        """The participant's credential, issued on first use and cached per key type."""
        key_type = key_type or self.key_type
        with self._lock:
            cached = self._credentials.get((participant_id, key_type))
            if cached is not None:
                if cached.role is not Role(role):
                    raise ValueError(
                        f"{participant_id} already has role {cached.role.value} in this TestPki"
                    )
                return cached
            credential = self.ca.issue(
                participant_id,
                Role(role),
                key_type=key_type,
                validity=validity,
                extra_names=extra_names,
                private_key=pooled_key(participant_id, key_type),
                replace=False,
            )
            self._credentials[(participant_id, key_type)] = credential
            return credential

    def reissue(
        self,
        participant_id: str,
        role: Role = Role.CONSUMER,
        *,
        key_type: KeyType | None = None,
        validity: timedelta = timedelta(days=365),
        not_before: datetime | None = None,
    ) -> IssuedCredential:
        """A new certificate with a new key; every earlier one of the participant is revoked."""
        key_type = key_type or self.key_type
        with self._lock:
            credential = self.ca.issue(
                participant_id,
                Role(role),
                key_type=key_type,
                validity=validity,
                not_before=not_before,
            )
            for cache_key in [k for k in self._credentials if k[0] == participant_id]:
                del self._credentials[cache_key]
            self._credentials[(participant_id, key_type)] = credential
            return credential

    def revoke(self, participant_id: str) -> None:
        self.ca.revoke(participant_id)

    def validator(self, *, require_crl: bool = True) -> CertificateValidator:
        """The validator of this PKI (one per setting, shared: its caches make tests faster)."""
        with self._lock:
            validator = self._validators.get(require_crl)
            if validator is None:
                validator = self.ca.validator(clock=self.clock)
                validator.require_crl = require_crl
                self._validators[require_crl] = validator
            return validator

    def signer(
        self,
        participant_id: str,
        role: Role = Role.CONSUMER,
        *,
        key_type: KeyType | None = None,
    ) -> XmlSigner:
        credential = self.credential(participant_id, role, key_type=key_type)
        with self._lock:
            cached = self._signers.get(id(credential))
            if cached is None or cached[0] is not credential:
                cached = (credential, XmlSigner(credential))
                self._signers[id(credential)] = cached
            return cached[1]

    def verifier(self, policy: VerificationPolicy | None = None) -> XmlVerifier:
        policy = policy or VerificationPolicy()
        validator = self.validator()
        with self._lock:
            verifier = self._verifiers.get(policy)
            if verifier is None:
                verifier = XmlVerifier(validator, policy)
                self._verifiers[policy] = verifier
            return verifier

    def close(self) -> None:
        if self._owns_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> TestPki:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


_TRANSPORT_NS = "urn:noots:transport:1"


def sample_envelope(body: etree._Element | None = None) -> etree._Element:
    """An unsigned document shaped like a transport envelope (header, body), for signature
    tests and benchmarks. The body defaults to the XNachweis example request 0101 from
    ``../shared`` (about 6 KB), or to a stand-in of similar size when that is not present."""
    if body is None:
        shared = shared_dir()
        example = (
            shared / "xnachweis" / "examples" / "DE.EvidenceRequest.0101.xml" if shared else None
        )
        if example is not None and example.is_file():
            body = parse(example.read_bytes())
        else:
            body = etree.Element("{urn:noots:sample}Request", id="urn:uuid:sample")
            for index in range(60):
                item = etree.SubElement(body, "{urn:noots:sample}Item", n=str(index))
                item.text = f"Erika Mustermann, Musterstraße {index}, 70825 Korntal-Münchingen"
    envelope = etree.Element(f"{{{_TRANSPORT_NS}}}TransportEnvelope", nsmap={"env": _TRANSPORT_NS})
    envelope.set("version", "1")
    header = etree.SubElement(envelope, f"{{{_TRANSPORT_NS}}}Header")
    for name, value in (
        ("MessageId", "9b0b0f5e-6d0a-4c1e-9f3b-2f1d8c6a7e01"),
        ("Sender", "08118079-BPA-87"),
        ("Recipient", "991-01234ZFZR-41"),
        ("ServiceId", "urn:noots:service:991-01234ZFZR-41:Fahrzeughalterauskunft"),
        ("Created", "2026-11-22T09:14:05.123Z"),
        ("Purpose", "Bewohnerparkausweis"),
    ):
        etree.SubElement(header, f"{{{_TRANSPORT_NS}}}{name}").text = value
    etree.SubElement(envelope, f"{{{_TRANSPORT_NS}}}Body").append(body)
    return envelope
