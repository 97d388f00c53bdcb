"""Kubernetes manifests generated from the topology (``noots k8s -o DIR``).

The same workloads as docker-compose.yml (:func:`noots.deployment.workloads`), laid out for a
pilot in which several organisations take part:

- ``central/``: what the NOOTS operator runs: the namespace, PostgreSQL (the protocol logs),
  the central workloads (platform, IDA, dashboard) and the objects every organisation shares
  (topology, trust anchor and CRL, the database's address);
- ``participants/<organisation>/``: what one organisation deploys for its participant (a
  register, an online service, and what the landscape adds beside it, such as its SAK), each
  directory complete in itself: it also carries the shared objects, so an organisation applies
  only its own directory (``kubectl apply -f participants/<organisation>/``).

Each workload is one Deployment and one Service named like its compose service, so the
certificates' names (:func:`noots.deployment.dns_names`) hold in the cluster too. Its state is
a PersistentVolumeClaim, its keys a Secret mounted read-only (only its own participants'),
what the CA published (trust anchor, CRL, the register of issued certificates and each
participant's certificate, which the platform's IAM/PKI serves) a ConfigMap. With ``--pki``
the Secrets and the trust ConfigMap are filled from a CA kept *outside* the cluster
(:func:`noots.provision.provision`): no workload and no manifest ever carries the CA's key.
Workloads that answer from the synthetic population seed it in an init container,
deterministically (same seed, same people everywhere).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from noots import __version__
from noots.deployment import (
    CENTRAL,
    DATA_DIR,
    DEFAULT_NAMESPACE,
    KEYS_MOUNT,
    TOPOLOGY_PATH,
    TRUST_MOUNT,
    Workload,
    environment,
    workloads,
)
from noots.pki import PublishedPki
from noots.provision import CONTAINER_USER, VolumeLayout, provision
from noots.topology import Topology

__all__ = [
    "DATABASE_SECRET",
    "Manifests",
    "render_manifests",
    "write_manifests",
]

IMAGE = f"noots:{__version__}"
POSTGRES_IMAGE = "postgres:15"
TOPOLOGY_CONFIGMAP = "noots-topology"
TRUST_CONFIGMAP = "noots-trust"
DATABASE_SECRET = "noots-database"  # noqa: S105 - the name of a Secret
POPULATION_SEED = 20261122
LABEL = "app.kubernetes.io"
ORGANISATION_LABEL = "noots.io/organisation"


@dataclass(frozen=True)
class Pki:
    """What the Secrets and the trust ConfigMap are filled with (from :func:`provision`)."""

    layout: VolumeLayout

    def keys(self, workload: Workload) -> dict[str, bytes]:
        """The workload's Secret data: ``<participant>.cert.pem`` and ``<participant>.key.pem``."""
        directory = self.layout.keys(workload.name)
        data: dict[str, bytes] = {}
        for participant in workload.participants:
            for name in ("cert.pem", "key.pem"):
                data[f"{participant}.{name}"] = (directory / participant / name).read_bytes()
        return data

    def trust(self, participants: Iterable[str]) -> dict[str, str]:
        """What the CA published, as ConfigMap keys (no "/" allowed there: the certificates
        are ``cert.<participant>.pem``, mounted as ``certificates/<participant>.pem``)."""
        data = {
            name: (self.layout.trust / name).read_text(encoding="ascii") for name in TRUST_FILES
        }
        for participant in participants:
            path = self.layout.trust / PublishedPki.CERTIFICATES / f"{participant}.pem"
            data[_trust_key(participant)] = path.read_text(encoding="ascii")
        return data


#: What every workload reads from the trust ConfigMap besides the published certificates.
TRUST_FILES = ("root-cert.pem", "crl.pem", "index.json")


def _trust_key(participant: str) -> str:
    return f"cert.{participant}.pem"


def trust_items(participants: Iterable[str]) -> list[dict[str, str]]:
    """The trust volume's files: the anchor, the CRL, the register of issued certificates and
    each participant's published certificate (the platform's IAM/PKI serves them)."""
    return [{"key": name, "path": name} for name in TRUST_FILES] + [
        {"key": _trust_key(p), "path": f"{PublishedPki.CERTIFICATES}/{p}.pem"} for p in participants
    ]


def _meta(name: str, namespace: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = labels
    return meta


def _labels(workload: Workload) -> dict[str, str]:
    return {
        f"{LABEL}/name": "noots",
        f"{LABEL}/instance": workload.name,
        f"{LABEL}/component": workload.kind,
        f"{LABEL}/part-of": "noots",
        ORGANISATION_LABEL: _organisation_dir(workload.organisation),
    }


def _organisation_dir(organisation: str) -> str:
    return organisation.lower().replace("_", "-").replace(".", "-")


def _security_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }


class _Dumper(yaml.SafeDumper):
    """YAML without anchors and aliases: each manifest reads on its own."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


class Manifests:
    """The manifests of one topology: ``files()`` maps a relative path to its YAML text."""

    def __init__(
        self,
        topology: Topology,
        topology_text: str,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        image: str = IMAGE,
        postgres_image: str = POSTGRES_IMAGE,
        people: int = 10_000,
        tls: bool = True,
        pki: Pki | None = None,
        database_password: str | None = None,
    ) -> None:
        self.topology = topology
        self.topology_text = topology_text
        self.namespace = namespace
        self.image = image
        self.postgres_image = postgres_image
        self.people = people
        self.tls = tls
        self.pki = pki
        self.database_password = database_password
        self.workloads = workloads(topology)
        self.names = {w.component.name: w.name for w in self.workloads}
        #: Whose certificates the trust ConfigMap carries: every participant a workload acts as.
        self.published_participants = sorted({p for w in self.workloads for p in w.participants})

    # -- shared objects

    def topology_configmap(self) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta(TOPOLOGY_CONFIGMAP, self.namespace),
            "data": {"landscape.yaml": self.topology_text},
        }

    def trust_configmap(self) -> dict[str, Any] | None:
        if self.pki is None:
            return None
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta(TRUST_CONFIGMAP, self.namespace),
            "data": self.pki.trust(self.published_participants),
        }

    def database_secret(self) -> dict[str, Any] | None:
        if self.database_password is None:
            return None
        password = self.database_password
        url = f"postgresql://noots:{password}@postgres:5432/noots"
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": _meta(DATABASE_SECRET, self.namespace),
            "type": "Opaque",
            "stringData": {"password": password, "url": url},
        }

    def shared(self) -> list[dict[str, Any]]:
        return [
            d
            for d in (self.topology_configmap(), self.trust_configmap(), self.database_secret())
            if d is not None
        ]

    # -- PostgreSQL

    def postgres(self) -> list[dict[str, Any]]:
        labels = {f"{LABEL}/name": "noots", f"{LABEL}/instance": "postgres"}
        labels[f"{LABEL}/component"] = "database"
        labels[ORGANISATION_LABEL] = CENTRAL
        password = {"secretKeyRef": {"name": DATABASE_SECRET, "key": "password"}}
        probe = {"exec": {"command": ["pg_isready", "-U", "noots", "-d", "noots"]}}
        return [
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": _meta("postgres", self.namespace, labels),
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "5Gi"}},
                },
            },
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": _meta("postgres", self.namespace, labels),
                "spec": {
                    "replicas": 1,
                    "strategy": {"type": "Recreate"},
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "securityContext": {"fsGroup": 999},
                            "containers": [
                                {
                                    "name": "postgres",
                                    "image": self.postgres_image,
                                    "env": [
                                        {"name": "POSTGRES_USER", "value": "noots"},
                                        {"name": "POSTGRES_DB", "value": "noots"},
                                        {"name": "POSTGRES_PASSWORD", "valueFrom": password},
                                        {
                                            "name": "PGDATA",
                                            "value": "/var/lib/postgresql/data/pgdata",
                                        },
                                    ],
                                    "ports": [{"name": "postgres", "containerPort": 5432}],
                                    "readinessProbe": {**probe, "periodSeconds": 5},
                                    "livenessProbe": {**probe, "periodSeconds": 20},
                                    "volumeMounts": [
                                        {"name": "data", "mountPath": "/var/lib/postgresql/data"}
                                    ],
                                }
                            ],
                            "volumes": [
                                {"name": "data", "persistentVolumeClaim": {"claimName": "postgres"}}
                            ],
                        },
                    },
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": _meta("postgres", self.namespace, labels),
                "spec": {
                    "selector": labels,
                    "ports": [{"name": "postgres", "port": 5432, "targetPort": "postgres"}],
                },
            },
        ]

    # -- one workload

    def secret(self, workload: Workload) -> dict[str, Any] | None:
        if self.pki is None:
            return None
        data = {
            key: base64.b64encode(value).decode("ascii")
            for key, value in self.pki.keys(workload).items()
        }
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": _meta(f"keys-{workload.name}", self.namespace, _labels(workload)),
            "type": "Opaque",
            "data": data,
        }

    def deployment(self, workload: Workload) -> dict[str, Any]:
        labels = _labels(workload)
        shared = environment(self.topology, self.names, tls=self.tls, database_url="")
        # The database's address carries its password: it comes from a Secret.
        env: list[dict[str, Any]] = [
            {
                "name": "NOOTS_DATABASE_URL",
                "valueFrom": {"secretKeyRef": {"name": DATABASE_SECRET, "key": "url"}},
            },
            *({"name": k, "value": v} for k, v in shared.items() if k != "NOOTS_DATABASE_URL"),
        ]
        probe_command = workload.health_command(tls=self.tls, data_dir=DATA_DIR)
        keys_items = [
            {"key": f"{participant}.{name}", "path": f"{participant}/{name}"}
            for participant in workload.participants
            for name in ("cert.pem", "key.pem")
        ]
        mounts: list[dict[str, Any]] = [
            {"name": "data", "mountPath": DATA_DIR},
            {"name": "keys", "mountPath": KEYS_MOUNT, "readOnly": True},
            {"name": "trust", "mountPath": TRUST_MOUNT, "readOnly": True},
            {
                "name": "topology",
                "mountPath": TOPOLOGY_PATH,
                "subPath": "landscape.yaml",
                "readOnly": True,
            },
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - an emptyDir of its own
        ]
        pod: dict[str, Any] = {
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": CONTAINER_USER[0],
                "runAsGroup": CONTAINER_USER[1],
                "fsGroup": CONTAINER_USER[1],
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "automountServiceAccountToken": False,
            "containers": [
                {
                    "name": "noots",
                    "image": self.image,
                    "command": workload.command,
                    "env": env,
                    "ports": [{"name": "service", "containerPort": workload.port}],
                    "readinessProbe": {
                        "exec": {"command": probe_command},
                        "periodSeconds": 10,
                        "timeoutSeconds": 5,
                    },
                    "livenessProbe": {
                        "exec": {"command": probe_command},
                        "initialDelaySeconds": 60,
                        "periodSeconds": 30,
                        "timeoutSeconds": 5,
                    },
                    "resources": {
                        "requests": {"cpu": "50m", "memory": "160Mi"},
                        "limits": {"memory": "512Mi"},
                    },
                    "securityContext": _security_context(),
                    "volumeMounts": mounts,
                }
            ],
            "volumes": [
                {"name": "data", "persistentVolumeClaim": {"claimName": f"data-{workload.name}"}},
                {
                    "name": "keys",
                    "secret": {
                        "secretName": f"keys-{workload.name}",
                        "items": keys_items,
                        "defaultMode": 0o440,
                    },
                },
                {
                    "name": "trust",
                    "configMap": {
                        "name": TRUST_CONFIGMAP,
                        "items": trust_items(self.published_participants),
                    },
                },
                {"name": "topology", "configMap": {"name": TOPOLOGY_CONFIGMAP}},
                {"name": "tmp", "emptyDir": {}},
            ],
        }
        if workload.population:
            pod["initContainers"] = [
                {
                    "name": "population",
                    "image": self.image,
                    # Deterministic: the same seed and people give every workload the same
                    # population, wherever it runs. Kept across restarts in the state volume.
                    "command": [
                        "sh",
                        "-c",
                        f"test -f {DATA_DIR}/population.db || exec noots seed --quiet "
                        f"--people {self.people} --seed {POPULATION_SEED} --data-dir {DATA_DIR}",
                    ],
                    "env": [
                        {"name": "NOOTS_TOPOLOGY", "value": TOPOLOGY_PATH},
                        {"name": "NOOTS_DATA_DIR", "value": DATA_DIR},
                    ],
                    "securityContext": _security_context(),
                    "volumeMounts": [m for m in mounts if m["name"] in ("data", "topology", "tmp")],
                }
            ]
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": _meta(workload.name, self.namespace, labels),
            "spec": {
                "replicas": 1,
                # One pod at a time: the state volume is ReadWriteOnce and the replay journal
                # belongs to one process.
                "strategy": {"type": "Recreate"},
                "selector": {"matchLabels": {f"{LABEL}/instance": workload.name}},
                "template": {
                    "metadata": {"labels": labels, "annotations": self.annotations(workload)},
                    "spec": pod,
                },
            },
        }

    def annotations(self, workload: Workload) -> dict[str, str]:
        notes = {"noots.io/component": workload.component.name}
        return notes

    def service(self, workload: Workload) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(workload.name, self.namespace, _labels(workload)),
            "spec": {
                "selector": {f"{LABEL}/instance": workload.name},
                "ports": [
                    {
                        "name": "https" if self.tls else "http",
                        "port": workload.port,
                        "targetPort": "service",
                    }
                ],
            },
        }

    def volume_claim(self, workload: Workload) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": _meta(f"data-{workload.name}", self.namespace, _labels(workload)),
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        }

    def workload_documents(self, workload: Workload) -> list[dict[str, Any]]:
        return [self.volume_claim(workload), self.deployment(workload), self.service(workload)]

    # -- files

    def directory(self, workload: Workload) -> PurePosixPath:
        if workload.central:
            return PurePosixPath(CENTRAL)
        return PurePosixPath("participants") / _organisation_dir(workload.organisation)

    def files(self) -> dict[str, str]:
        """Relative path → YAML text (documents separated by ``---``)."""
        groups: dict[PurePosixPath, list[Workload]] = {}
        for workload in self.workloads:
            groups.setdefault(self.directory(workload), []).append(workload)
        out: dict[str, list[dict[str, Any]]] = {}
        central = PurePosixPath(CENTRAL)
        out[str(central / "namespace.yaml")] = [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}}
        ]
        out[str(central / "postgres.yaml")] = self.postgres()
        for directory, members in groups.items():
            out[str(directory / "shared.yaml")] = self.shared()
            for workload in members:
                out[str(directory / f"{workload.name}.yaml")] = self.workload_documents(workload)
            secrets_docs = [s for s in (self.secret(w) for w in members) if s is not None]
            if secrets_docs:
                out[str(directory / "secrets.yaml")] = secrets_docs
        header = (
            "# Generated by `noots k8s` from the topology: do not edit by hand, generate again.\n"
        )
        return {
            path: header
            + yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
            for path, docs in out.items()
            if docs
        }


def render_manifests(
    topology: Topology,
    topology_text: str,
    *,
    pki_root: Path | None = None,
    namespace: str = DEFAULT_NAMESPACE,
    image: str = IMAGE,
    postgres_image: str = POSTGRES_IMAGE,
    people: int = 10_000,
    tls: bool = True,
) -> dict[str, str]:
    """The manifests of ``topology``; with ``pki_root`` (``ca/`` the CA, ``volumes/`` the
    provisioned keys, created on first use and reused after) the Secrets and the trust
    ConfigMap are filled, and the database password is kept there too."""
    pki = None
    password = None
    if pki_root is not None:
        provision(
            pki_root / "ca",
            pki_root / "volumes",
            topology,
            population=False,
            namespace=namespace,
        )
        pki = Pki(VolumeLayout(pki_root / "volumes"))
        password_file = pki_root / "database-password"
        if not password_file.is_file():
            password_file.write_text(secrets.token_urlsafe(24), encoding="ascii")
            password_file.chmod(0o600)
        password = password_file.read_text(encoding="ascii").strip()
    manifests = Manifests(
        topology,
        topology_text,
        namespace=namespace,
        image=image,
        postgres_image=postgres_image,
        people=people,
        tls=tls,
        pki=pki,
        database_password=password,
    )
    return manifests.files()


def write_manifests(files: dict[str, str], output: Path) -> list[Path]:
    """Write the files below ``output`` (secrets readable by the owner only)."""
    written = []
    for relative, text in sorted(files.items()):
        path = output / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if path.name in ("secrets.yaml", "shared.yaml"):
            path.chmod(0o600)
        written.append(path)
    return written


def summary(files: dict[str, str]) -> str:
    """One line per directory: what it holds (for the CLI)."""
    by_directory: dict[str, list[str]] = {}
    for relative in sorted(files):
        parent, _, name = relative.rpartition("/")
        by_directory.setdefault(parent, []).append(name)
    return "\n".join(f"  {d}/: {', '.join(names)}" for d, names in by_directory.items())
