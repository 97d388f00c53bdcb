"""Provision a container deployment from the landscape's certificate authority.

docker-compose.yml's one-shot ``bootstrap`` service runs ``noots provision``; ``noots k8s
--pki`` runs the same to fill the Kubernetes Secrets. It keeps the CA apart from everything
that runs:

- the **CA directory** (``--ca``; compose: the ``ca`` volume) holds the root key, the index,
  the CRL and the participants' *certificates*. A participant's private key is written there
  by :meth:`~noots.pki.CertificateAuthority.issue` and moved out at once: a CA keeps no
  private key but its own;
- below the **volumes root** (``--volumes``) each workload of :func:`noots.deployment.workloads`
  gets what it needs and nothing else::

      trust/root-cert.pem, trust/crl.pem        the trust anchor and the CRL (every workload)
      trust/index.json, trust/certificates/     what the CA issued, public: the platform's
                                                IAM/PKI serves it (noots.pki.PublishedPki)
      keys/<workload>/<participant>/cert.pem    the certificates and private keys of the
      keys/<workload>/<participant>/key.pem     participants the workload acts as
      data/<workload>/population.db             the synthetic population (where its kind
                                                answers from it), in its own state volume

Certificates name the workload's DNS names (compose service, Kubernetes Service) beside
``localhost`` and ``127.0.0.1``; one that lacks a name, or whose key no workload holds any
more, is issued anew (the old one is revoked, and the CRL says so). Running it again keeps
what is there: state persists like ``noots up``'s data directory.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from noots.clock import Clock, SystemClock
from noots.deployment import DEFAULT_NAMESPACE, Workload, dns_names, workloads
from noots.errors import ConfigurationError
from noots.pki import (
    CertificateAuthority,
    PrivateKey,
    PublishedPki,
    Role,
    UnknownParticipant,
    generate_private_key,
)
from noots.topology import Topology

__all__ = [
    "CONTAINER_USER",
    "ProvisionReport",
    "VolumeLayout",
    "certificate_names",
    "provision",
]

#: The unprivileged user of the noots image (Dockerfile): it owns what the workloads read.
CONTAINER_USER = (10001, 10001)
#: A CRL closer to its next update than this is signed anew, so a landscape restarted now
#: does not fail closed on an outdated CRL soon after.
CRL_REFRESH_MARGIN = timedelta(days=7)
POPULATION_FILE = "population.db"


@dataclass(frozen=True)
class VolumeLayout:
    """Where :func:`provision` puts each workload's files below one root."""

    root: Path

    @property
    def trust(self) -> Path:
        return self.root / "trust"

    def keys(self, workload: str) -> Path:
        return self.root / "keys" / workload

    def data(self, workload: str) -> Path:
        return self.root / "data" / workload


@dataclass
class ProvisionReport:
    issued: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    #: Participants the CA's operator revoked: left as they are, never issued anew here.
    revoked: list[str] = field(default_factory=list)
    population_seeded: bool = False
    population_copied: list[str] = field(default_factory=list)


def certificate_names(
    topology: Topology, *, namespace: str = DEFAULT_NAMESPACE
) -> dict[str, tuple[str, ...]]:
    """The DNS names each participant's certificate must carry: those of the workload that
    serves TLS as it (a workload's first participant). Participants a workload only signs as
    (the VS, the eID) need none."""
    names: dict[str, tuple[str, ...]] = {}
    for workload in workloads(topology):
        names[workload.participants[0]] = dns_names(workload, namespace=namespace)
    return names


def _san(certificate: x509.Certificate) -> set[str]:
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return set()
    values: set[str] = set(extension.value.get_values_for_type(x509.DNSName))
    values |= {str(ip) for ip in extension.value.get_values_for_type(x509.IPAddress)}
    return values


def _public(value: x509.Certificate | PrivateKey) -> bytes:
    return value.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _load_key(path: Path) -> PrivateKey | None:
    try:
        key = serialization.load_pem_private_key(
            path.read_bytes(), password=None, unsafe_skip_rsa_key_validation=True
        )
    except (OSError, ValueError, TypeError):
        return None
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    return key if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) else None


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, mode)
    os.replace(tmp, path)


class _Provisioner:
    def __init__(
        self,
        authority: CertificateAuthority,
        layout: VolumeLayout,
        topology: Topology,
        *,
        namespace: str,
        report: ProvisionReport,
    ) -> None:
        self.authority = authority
        self.layout = layout
        self.topology = topology
        self.workloads = workloads(topology)
        self.names = certificate_names(topology, namespace=namespace)
        self.roles = {p.participant_id: Role(p.role) for p in topology.participants()}
        self.report = report
        self._done: dict[str, tuple[bytes, PrivateKey] | None] = {}

    def holders(self, participant: str) -> list[Workload]:
        return [w for w in self.workloads if participant in w.participants]

    def status(self, certificate: x509.Certificate) -> str | None:
        """``valid`` or ``revoked`` as the CA's index has it; None for a certificate it never
        issued."""
        for record in self.authority.records():
            if record.serial == certificate.serial_number:
                return record.status
        return None

    def current_key(self, participant: str, certificate: x509.Certificate) -> PrivateKey | None:
        """The private key some workload holds for ``certificate``, if one does."""
        wanted = _public(certificate)
        for workload in self.holders(participant):
            key = _load_key(self.layout.keys(workload.name) / participant / "key.pem")
            if key is not None and _public(key) == wanted:
                return key
        return None

    def credential(self, participant: str) -> tuple[bytes, PrivateKey] | None:
        """The participant's certificate (PEM) and key, issued anew when needed; None for a
        participant the CA's operator revoked and whose key no workload holds any more."""
        if participant not in self._done:
            self._done[participant] = self._credential(participant)
        return self._done[participant]

    def _credential(self, participant: str) -> tuple[bytes, PrivateKey] | None:
        cert_path = self.authority.participant_dir(participant) / "cert.pem"
        wanted = {"localhost", "127.0.0.1", *self.names.get(participant, ())}
        try:
            pem = cert_path.read_bytes()
            certificate = x509.load_pem_x509_certificate(pem)
        except (OSError, ValueError):
            certificate = None
        status = self.status(certificate) if certificate is not None else None
        if certificate is not None and status == "revoked":
            # Revoked by the CA's operator (`noots pki revoke`): a decision to keep, not a
            # credential to replace. The workload keeps what it has and its peers refuse it.
            self.report.revoked.append(participant)
            key = self.current_key(participant, certificate)
            return (pem, key) if key is not None else None
        if (
            certificate is not None
            and status == "valid"
            and wanted <= _san(certificate)
            and certificate.not_valid_after_utc > self.authority.clock.now() + timedelta(days=30)
        ):
            key = self.current_key(participant, certificate)
            if key is not None:
                self.report.reused.append(participant)
                return pem, key
        role = self.roles.get(participant)
        if role is None:
            raise ConfigurationError(
                f"a workload acts as {participant!r}, which the topology lists as no "
                "participant: its certificate's role is unknown"
            )
        key = generate_private_key()
        extra = [n for n in self.names.get(participant, ()) if not _is_default(n)]
        self.authority.issue(participant, role, private_key=key, extra_names=extra)
        self.report.issued.append(participant)
        return cert_path.read_bytes(), key

    def run(self) -> None:
        for workload in self.workloads:
            directory = self.layout.keys(workload.name)
            directory.mkdir(parents=True, exist_ok=True)
            for participant in workload.participants:
                credential = self.credential(participant)
                if credential is None:
                    continue
                pem, key = credential
                key_pem = key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                # Every holder gets the same (possibly new) credential at once.
                for holder in self.holders(participant):
                    own = self.layout.keys(holder.name) / participant
                    _write(own / "cert.pem", pem, 0o444)
                    _write(own / "key.pem", key_pem, 0o400)
            for stale in directory.iterdir():
                if stale.name not in workload.participants:
                    shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
        # The CA keeps no participant's private key (issue() wrote each one there first).
        participants_dir = self.authority.directory / "participants"
        if participants_dir.is_dir():
            for key_file in participants_dir.glob("*/key.pem"):
                key_file.unlink()

    def trust(self) -> None:
        crl = self.authority.crl()
        next_update = crl.next_update_utc
        if next_update is None or next_update - self.authority.clock.now() < CRL_REFRESH_MARGIN:
            # Revoking nobody re-signs the CRL: the index is unchanged, the CRL is new.
            with self.authority._exclusive():
                crl = self.authority._write_crl_locked()
        layout = self.layout
        _write(layout.trust / "root-cert.pem", self.authority.root_cert_path.read_bytes(), 0o444)
        _write(layout.trust / "crl.pem", crl.public_bytes(serialization.Encoding.PEM), 0o444)
        # What the platform's IAM/PKI serves without the CA (noots.pki.PublishedPki): the
        # register of issued certificates and each participant's current certificate.
        _write(layout.trust / "index.json", self.authority.index_path.read_bytes(), 0o444)
        published = layout.trust / PublishedPki.CERTIFICATES
        published.mkdir(parents=True, exist_ok=True)
        for participant_id in self.authority.participants():
            with contextlib.suppress(UnknownParticipant):
                certificate = self.authority.certificate(participant_id)
                _write(
                    published / f"{participant_id}.pem",
                    certificate.public_bytes(serialization.Encoding.PEM),
                    0o444,
                )


def _is_default(name: str) -> bool:
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(name)) == "127.0.0.1"
    return name == "localhost"


def _chown_tree(path: Path, owner: tuple[int, int]) -> None:
    uid, gid = owner
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def _population(
    layout: VolumeLayout,
    needing: Iterable[Workload],
    topology: Topology,
    *,
    people: int,
    seed: int,
    report: ProvisionReport,
) -> None:
    """Seed the population once and copy it to each workload that answers from it and has
    none yet (a workload's copy, like its other state, outlives a restart)."""
    missing = [w for w in needing if not (layout.data(w.name) / POPULATION_FILE).is_file()]
    if not missing:
        return
    # The generator lives with the registers (and needs faker): imported only when needed.
    from noots.synthetic.population import seed_population

    with tempfile.TemporaryDirectory(prefix="noots-population-") as scratch:
        source = Path(scratch) / POPULATION_FILE
        seed_population(source, people=people, seed=seed, topology=topology)
        report.population_seeded = True
        for workload in missing:
            target = layout.data(workload.name) / POPULATION_FILE
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{POPULATION_FILE}.tmp")
            shutil.copyfile(source, tmp)
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)
            report.population_copied.append(workload.name)


def provision(
    ca_dir: str | os.PathLike[str],
    volumes: str | os.PathLike[str],
    topology: Topology,
    *,
    people: int = 10_000,
    seed: int = 20261122,
    population: bool = True,
    owner: tuple[int, int] | None = None,
    namespace: str = DEFAULT_NAMESPACE,
    clock: Clock | None = None,
    revoke: Iterable[str] = (),
) -> ProvisionReport:
    """Open (or create) the CA in ``ca_dir`` and give every workload its files below
    ``volumes`` (:class:`VolumeLayout`); see the module docstring.

    ``revoke`` (participant ids): revoked first, as the CA's operator does; they are then
    left revoked (never issued anew here) and the CRL published says so.

    ``owner`` (uid, gid): who owns each workload's keys and data (the one-shot runs as root;
    the workloads do not; the CA stays the one-shot's).
    ``population`` False: no population files (Kubernetes workloads seed their own).
    """
    layout = VolumeLayout(Path(volumes))
    report = ProvisionReport()
    authority = CertificateAuthority.open_or_create(Path(ca_dir), clock=clock or SystemClock())
    revoke = list(revoke)
    known = {p.participant_id for p in topology.participants()}
    unknown = [participant_id for participant_id in revoke if participant_id not in known]
    if unknown:  # checked before any revocation: a typo revokes nothing
        raise ConfigurationError(f"cannot revoke {unknown[0]!r}: not in the topology")
    for participant_id in revoke:
        authority.revoke(participant_id)
    provisioner = _Provisioner(authority, layout, topology, namespace=namespace, report=report)
    provisioner.run()
    provisioner.trust()
    all_workloads = provisioner.workloads
    for workload in all_workloads:
        layout.data(workload.name).mkdir(parents=True, exist_ok=True)
    if population:
        _population(
            layout,
            [w for w in all_workloads if w.population],
            topology,
            people=people,
            seed=seed,
            report=report,
        )
    if owner is not None:
        for workload in all_workloads:
            _chown_tree(layout.keys(workload.name), owner)
            _chown_tree(layout.data(workload.name), owner)
    return report
