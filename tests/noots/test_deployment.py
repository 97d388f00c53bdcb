"""The workloads of a container deployment: one per component, the per-kind rules in one place,
defaults for a kind the table does not know."""

from __future__ import annotations

import pytest

from noots import deployment
from noots.components import Component, landscape_components
from noots.deployment import (
    CENTRAL,
    DEFAULT_RULES,
    KIND_RULES,
    dns_names,
    workloads,
)
from noots.errors import ConfigurationError
from noots.topology import load_topology

TOPOLOGY = load_topology()


def _by_kind(kind: str) -> list[deployment.Workload]:
    return [w for w in workloads(TOPOLOGY) if w.kind == kind]


def test_one_workload_per_component_in_start_order() -> None:
    """Every component of the landscape (the dashboard included) is one workload, in order."""
    components = landscape_components(TOPOLOGY, dashboard=True)
    assert [w.component for w in workloads(TOPOLOGY)] == components


def test_a_workload_serves_as_its_own_participant_first() -> None:
    """The first participant of each workload is the component's own (its TLS certificate)."""
    for workload in workloads(TOPOLOGY):
        assert workload.participants[0] == workload.component.participant_id
        assert len(set(workload.participants)) == len(workload.participants)


def test_platform_holds_its_own_vs_iam_and_eid_keys() -> None:
    """The platform process serves TLS as itself and signs as the VS, the IAM (access
    tokens) and the eID: four keys."""
    (platform,) = _by_kind("platform")
    spec = TOPOLOGY.platform
    assert platform.participants == (spec.platform_id, spec.vs_id, spec.iam_id, spec.eid_id)


def test_registers_and_online_services_hold_only_their_own_key() -> None:
    """A register or an online service holds exactly its own participant's key."""
    for workload in _by_kind("register") + _by_kind("consumer"):
        assert workload.participants == (workload.component.participant_id,)


def test_the_dashboard_holds_the_online_services_keys() -> None:
    """The dashboard plays the pilots as the online services: their keys beside its own."""
    (dashboard,) = _by_kind("dashboard")
    consumers = {c.participant_id for c in TOPOLOGY.consumers}
    assert dashboard.participants[0] == TOPOLOGY.platform.simulator_id
    assert set(dashboard.participants[1:]) == consumers


def test_who_answers_from_the_population() -> None:
    """Registers, the IDA and the platform (its eID) get the population; nobody else does."""
    needing = {w.kind for w in workloads(TOPOLOGY) if w.population}
    assert needing == {"register", "ida", "platform"}


def test_central_components_apart_from_the_participants() -> None:
    """Platform, IDA, dashboard and the Intermediäre Plattform (with its SAK) are central;
    each register and online service belongs to its own participant's organisation, and so
    does its SAK (the participant operates it); each simulated member state is its own."""
    for workload in workloads(TOPOLOGY):
        if workload.kind in ("platform", "ida", "dashboard", "ip") or (
            workload.component.participant_id == "noots-ip.sak"
        ):
            assert workload.organisation == CENTRAL
        elif workload.kind == "sak":
            assert workload.organisation == workload.component.participant_id.removesuffix(".sak")
        else:
            assert workload.organisation == workload.component.participant_id


def test_a_new_kind_gets_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """A component of a kind the table does not know (say, a monitoring probe) is a workload
    with its own key only, no population, in its own organisation: no special-casing
    needed."""
    extra = Component(
        "08118079-MELD-12-PROBE", "probe", "08118079-MELD-12-PROBE", "Probe", "h", 8500
    )  # type: ignore[arg-type]
    original = deployment.landscape_components
    monkeypatch.setattr(
        deployment,
        "landscape_components",
        lambda topology, dashboard=None: [*original(topology, dashboard=dashboard), extra],
    )
    (probe,) = [w for w in workloads(TOPOLOGY) if w.kind == "probe"]
    assert "probe" not in KIND_RULES
    assert probe.name == "08118079-meld-12-probe"
    assert probe.participants == ("08118079-MELD-12-PROBE",)
    assert probe.population is DEFAULT_RULES.population is False
    assert probe.organisation == "08118079-MELD-12-PROBE"


def test_clashing_or_reserved_names_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two components with one service name, or one named like the deployment's own
    services, are refused before anything is written."""
    for name in ("platform", "postgres"):
        extra = Component(name.upper(), "consumer", "x", "t", "h", 1)
        monkeypatch.setattr(
            deployment,
            "landscape_components",
            lambda topology, dashboard=None, extra=extra: [
                *landscape_components(topology, dashboard=True),
                extra,
            ],
        )
        with pytest.raises(ConfigurationError, match="share the service name"):
            workloads(TOPOLOGY)


def test_service_names_fit_a_dns_label() -> None:
    """A name longer than a DNS label (63 characters) is refused."""
    with pytest.raises(ConfigurationError, match="DNS label"):
        deployment.service_name(Component("a" * 64, "register", "p", "t", "h", 1))


def test_dns_names_are_the_service_and_its_cluster_names() -> None:
    """A workload answers to its service name and its Kubernetes names in the namespace."""
    (platform,) = _by_kind("platform")
    assert dns_names(platform, namespace="pilot") == (
        "platform",
        "platform.pilot",
        "platform.pilot.svc",
        "platform.pilot.svc.cluster.local",
    )


def test_health_command_presents_the_own_certificate() -> None:
    """With TLS the health check trusts the landscape's root and presents the workload's own
    certificate; without, it probes plain HTTP."""
    (register,) = [w for w in _by_kind("register") if w.port == 8410]
    pid = register.component.participant_id
    assert register.health_command(tls=True, data_dir="/data") == [
        "python",
        "-m",
        "noots.healthcheck",
        "--ca",
        "/data/pki/ca/root-cert.pem",
        "--cert",
        f"/data/pki/participants/{pid}/cert.pem",
        "--key",
        f"/data/pki/participants/{pid}/key.pem",
        "https://127.0.0.1:8410/health",
    ]
    assert register.health_command(tls=False, data_dir="/data")[-1] == (
        "http://127.0.0.1:8410/health"
    )


def test_the_ip_holds_its_own_and_its_access_points_key() -> None:
    """The IP's workload signs as the IP and as its eDelivery access point, nothing more."""
    (ip,) = [w for w in workloads(TOPOLOGY) if w.kind == "ip"]
    assert ip.participants == ("noots-ip", "eu-gw-de")
