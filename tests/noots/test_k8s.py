"""`noots k8s`: Kubernetes manifests from the topology, valid against the Kubernetes schemas
(tests/data/kubernetes, vendored from kubernetes-validate 1.37.0, Apache-2.0), one Deployment
and Service per component, keys in Secrets of their own workload, no CA key anywhere, the
central components apart from each organisation's participants."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from typer.testing import CliRunner

from noots.cli import app
from noots.deployment import CENTRAL, KEYS_MOUNT, TRUST_MOUNT, workloads
from noots.k8s import DATABASE_SECRET, render_manifests
from noots.paths import PROJECT_ROOT
from noots.topology import load_topology

SCHEMAS = Path(__file__).parents[1] / "data" / "kubernetes"
TOPOLOGY_FILE = PROJECT_ROOT / "landscape.yaml"
TOPOLOGY = load_topology(TOPOLOGY_FILE)
WORKLOADS = workloads(TOPOLOGY)
KIND_SCHEMAS = {
    ("apps/v1", "Deployment"): "deployment-apps-v1.json",
    ("v1", "Service"): "service-v1.json",
    ("v1", "Secret"): "secret-v1.json",
    ("v1", "ConfigMap"): "configmap-v1.json",
    ("v1", "PersistentVolumeClaim"): "persistentvolumeclaim-v1.json",
    ("v1", "Namespace"): "namespace-v1.json",
}


@pytest.fixture(scope="module")
def registry() -> Registry:
    definitions = json.loads((SCHEMAS / "_definitions.json").read_text(encoding="utf-8"))
    return Resource.from_contents(definitions) @ Registry()  # type: ignore[no-any-return]


def _validator(registry: Registry, document: dict[str, Any]) -> jsonschema.Validator:
    name = KIND_SCHEMAS[(document["apiVersion"], document["kind"])]
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, registry=registry)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("k8s-pki")


@pytest.fixture(scope="module")
def files(pki: Path) -> dict[str, list[dict[str, Any]]]:
    rendered = render_manifests(
        TOPOLOGY, TOPOLOGY_FILE.read_text(encoding="utf-8"), pki_root=pki, namespace="pilot"
    )
    return {path: list(yaml.safe_load_all(text)) for path, text in rendered.items()}


def _documents(files: dict[str, list[dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    return [(path, doc) for path, docs in files.items() for doc in docs]


def _of_kind(files: dict[str, list[dict[str, Any]]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for _p, d in _documents(files) if d["kind"] == kind}


def test_every_manifest_is_valid(
    files: dict[str, list[dict[str, Any]]], registry: Registry
) -> None:
    """Each document validates against the strict schema of its kind (Kubernetes 1.37)."""
    problems = []
    for path, document in _documents(files):
        for error in _validator(registry, document).iter_errors(document):
            problems.append(
                f"{path} {document['kind']}: {list(error.absolute_path)} {error.message}"
            )
    assert problems == []


def test_the_schemas_are_not_vacuous(
    files: dict[str, list[dict[str, Any]]], registry: Registry
) -> None:
    """A misspelt field of a container, or a port that is no number, is refused."""
    deployment = json.loads(json.dumps(_of_kind(files, "Deployment")["platform"]))
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    assert not _validator(registry, deployment).is_valid(deployment)
    service = json.loads(json.dumps(_of_kind(files, "Service")["platform"]))
    service["spec"]["ports"][0]["port"] = "https"
    assert not _validator(registry, service).is_valid(service)


def test_one_deployment_and_service_per_component(
    files: dict[str, list[dict[str, Any]]],
) -> None:
    """Every component is a Deployment running `noots serve <component>` and a Service with
    the compose service's name and the topology's port (the certificates name it)."""
    deployments = _of_kind(files, "Deployment")
    services = _of_kind(files, "Service")
    assert set(deployments) == {w.name for w in WORKLOADS} | {"postgres"}
    for workload in WORKLOADS:
        container = deployments[workload.name]["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == workload.command
        assert services[workload.name]["spec"]["ports"][0]["port"] == workload.port
        assert services[workload.name]["metadata"]["namespace"] == "pilot"


def test_central_components_apart_from_each_organisation(
    files: dict[str, list[dict[str, Any]]],
) -> None:
    """Central workloads (and PostgreSQL) live in central/; each participant's workload in
    participants/<organisation>/, which also carries the shared objects and its Secrets, so an
    organisation applies its own directory alone."""
    for workload in WORKLOADS:
        directory = CENTRAL if workload.central else f"participants/{workload.organisation.lower()}"
        assert f"{directory}/{workload.name}.yaml" in files, workload.name
        shared = {d["metadata"]["name"] for d in files[f"{directory}/shared.yaml"]}
        assert shared == {"noots-topology", "noots-trust", DATABASE_SECRET}
        secrets = {d["metadata"]["name"] for d in files[f"{directory}/secrets.yaml"]}
        assert f"keys-{workload.name}" in secrets
    assert "central/postgres.yaml" in files


def test_each_secret_holds_only_its_workloads_keys(
    files: dict[str, list[dict[str, Any]]], pki: Path
) -> None:
    """A workload's Secret has the certificate and key of each of its participants, nothing
    else, and the Deployment mounts it read-only where noots looks for them."""
    secrets = _of_kind(files, "Secret")
    deployments = _of_kind(files, "Deployment")
    for workload in WORKLOADS:
        data = secrets[f"keys-{workload.name}"]["data"]
        assert set(data) == {
            f"{p}.{n}" for p in workload.participants for n in ("cert.pem", "key.pem")
        }
        own = pki / "volumes" / "keys" / workload.name / workload.participants[0] / "key.pem"
        assert base64.b64decode(data[f"{workload.participants[0]}.key.pem"]) == own.read_bytes()
        spec = deployments[workload.name]["spec"]["template"]["spec"]
        mounts = {m["name"]: m for m in spec["containers"][0]["volumeMounts"]}
        assert mounts["keys"] == {"name": "keys", "mountPath": KEYS_MOUNT, "readOnly": True}
        assert mounts["trust"] == {"name": "trust", "mountPath": TRUST_MOUNT, "readOnly": True}
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes["keys"]["secret"]["secretName"] == f"keys-{workload.name}"


def test_no_manifest_carries_the_ca_key(files: dict[str, list[dict[str, Any]]], pki: Path) -> None:
    """The CA's root key stays with `noots k8s --pki-dir`: no document contains it, encoded
    or not, and no workload mounts anything but its own Secret."""
    root_key = (pki / "ca" / "ca" / "root-key.pem").read_bytes()
    encoded = base64.b64encode(root_key).decode("ascii")
    body = root_key.decode("ascii").split("-----")[2].strip().splitlines()[1]
    for path, document in _documents(files):
        text = json.dumps(document)
        assert encoded not in text, path
        assert body not in text, path
        assert "root-key" not in text, path
    for name, deployment in _of_kind(files, "Deployment").items():
        secret_volumes = [
            v["secret"]["secretName"]
            for v in deployment["spec"]["template"]["spec"]["volumes"]
            if "secret" in v
        ]
        assert secret_volumes in ([f"keys-{name}"], []), name


def test_trust_configmap_is_the_cas_anchor_and_crl(
    files: dict[str, list[dict[str, Any]]], pki: Path
) -> None:
    """noots-trust holds what the CA published: root certificate, CRL, the register of issued
    certificates and the platform's current certificate (as the platform's IAM/PKI serves)."""
    trust = _of_kind(files, "ConfigMap")["noots-trust"]["data"]
    assert trust["root-cert.pem"] == (pki / "ca" / "ca" / "root-cert.pem").read_text()
    assert trust["crl.pem"] == (pki / "ca" / "ca" / "crl.pem").read_text()
    assert trust["index.json"] == (pki / "ca" / "ca" / "index.json").read_text()
    platform = (pki / "ca" / "participants" / "noots-platform" / "cert.pem").read_text()
    assert trust["cert.noots-platform.pem"] == platform


def test_the_trust_volume_mounts_every_published_file(
    files: dict[str, list[dict[str, Any]]],
) -> None:
    """Every key the trust volume names is in the ConfigMap (a missing one stops the pod)."""
    trust = _of_kind(files, "ConfigMap")["noots-trust"]["data"]
    mounting = set()
    for name, deployment in _of_kind(files, "Deployment").items():
        volumes = deployment["spec"]["template"]["spec"]["volumes"]
        for volume in [v for v in volumes if v["name"] == "trust"]:
            mounting.add(name)
            items = volume["configMap"]["items"]
            assert {item["key"] for item in items} <= set(trust)
            assert {"certificates/noots-platform.pem", "crl.pem"} <= {i["path"] for i in items}
    assert "platform" in mounting


def test_certificates_name_the_services_in_the_namespace(pki: Path) -> None:
    """The certificates issued for the cluster name the Services in the chosen namespace."""
    from cryptography import x509

    for workload in WORKLOADS:
        pem = pki / "volumes" / "keys" / workload.name / workload.participants[0] / "cert.pem"
        certificate = x509.load_pem_x509_certificate(pem.read_bytes())
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        dns = names.value.get_values_for_type(x509.DNSName)
        assert f"{workload.name}.pilot.svc.cluster.local" in dns


def test_workloads_run_unprivileged_with_tls(files: dict[str, list[dict[str, Any]]]) -> None:
    """Pods run as the image's unprivileged user with a read-only root file system; NOOTS_TLS
    is on, the database address comes from a Secret, the health probe presents the pod's own
    certificate."""
    for workload in WORKLOADS:
        spec = _of_kind(files, "Deployment")[workload.name]["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] == 10001
        container = spec["containers"][0]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        env = {e["name"]: e for e in container["env"]}
        assert env["NOOTS_TLS"]["value"] == "true"
        assert env["NOOTS_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == DATABASE_SECRET
        probe = container["readinessProbe"]["exec"]["command"]
        assert probe == workload.health_command(tls=True, data_dir="/data")


def test_population_seeded_alike_where_needed(files: dict[str, list[dict[str, Any]]]) -> None:
    """Workloads that answer from the population seed it in an init container with the same
    seed and size; the others have no init container."""
    commands = set()
    for workload in WORKLOADS:
        spec = _of_kind(files, "Deployment")[workload.name]["spec"]["template"]["spec"]
        if workload.population:
            (init,) = spec["initContainers"]
            commands.add(init["command"][-1])
        else:
            assert "initContainers" not in spec
    assert len(commands) == 1
    assert "--seed 20261122" in commands.pop()


def test_without_pki_no_secret_is_written() -> None:
    """Without --pki-dir the manifests name the Secrets and trust ConfigMap but contain none."""
    rendered = render_manifests(TOPOLOGY, TOPOLOGY_FILE.read_text(encoding="utf-8"))
    kinds = {d["kind"] for text in rendered.values() for d in yaml.safe_load_all(text)}
    assert "Secret" not in kinds
    assert not any(path.endswith("secrets.yaml") for path in rendered)


def test_a_second_run_keeps_the_keys_and_the_password(pki: Path) -> None:
    """Generating again from the same --pki-dir directory issues no new key and keeps the
    database password."""
    text = TOPOLOGY_FILE.read_text(encoding="utf-8")
    first = render_manifests(TOPOLOGY, text, pki_root=pki, namespace="pilot")
    second = render_manifests(TOPOLOGY, text, pki_root=pki, namespace="pilot")
    assert first == second


def test_k8s_command(tmp_path: Path) -> None:
    """`noots k8s -o DIR --pki-dir PKI` writes the directories, secrets readable by the owner
    only."""
    result = CliRunner().invoke(
        app,
        [
            "k8s",
            "-o",
            str(tmp_path / "out"),
            "--pki-dir",
            str(tmp_path / "pki"),
            "--topology",
            str(TOPOLOGY_FILE),
        ],
    )
    assert result.exit_code == 0, result.output
    secrets = tmp_path / "out" / "central" / "secrets.yaml"
    assert secrets.stat().st_mode & 0o077 == 0
    assert (
        tmp_path / "out" / "participants" / "08118079-meld-12" / "08118079-meld-12.yaml"
    ).is_file()
