"""The components of a landscape, and host overrides for containers (NOOTS_HOSTS)."""

from __future__ import annotations

import pytest

from noots.components import landscape_components, with_hosts
from noots.errors import ConfigurationError
from noots.settings import NootsSettings
from noots.tls import ClientCertificates
from noots.topology import load_topology

TOPOLOGY = load_topology()


def test_one_component_per_server_in_start_order() -> None:
    """Platform, IDA, every register, every SAK (the IP's last), every online service, then
    the EU side with the IP: one process each, in that order (a SAK starts before the
    participant that uses it; the IP after the EU parts it asks)."""
    components = landscape_components(TOPOLOGY, dashboard=False)
    names = [c.name for c in components]
    assert names[:2] == ["platform", "ida"]
    members = (*TOPOLOGY.registers, *TOPOLOGY.consumers, TOPOLOGY.intermediary_platform)
    assert names[2:] == [
        *(r.participant_id for r in TOPOLOGY.registers),
        *(f"{m.participant_id}.sak" for m in members if m is not None),
        *(c.participant_id for c in TOPOLOGY.consumers),
        "eu-common-services",
        "eu-gw-at",
        "noots-ip",
        "eu-gw-fr",
    ]
    assert [c.kind for c in components[-4:]] == [
        "eu-common-services",
        "eu-provider",
        "ip",
        "eu-requester",
    ]
    assert {c.kind for c in components if c.name.endswith(".sak")} == {"sak"}
    assert len({(c.host, c.port) for c in components}) == len(components)


def test_components_listen_where_the_topology_says() -> None:
    """Each component's URL is the topology's base URL of that participant."""
    for component in landscape_components(TOPOLOGY, dashboard=False):
        assert component.url() == TOPOLOGY.base_url(component.name)
        assert component.url(tls=True) == TOPOLOGY.base_url(component.name, tls=True)


def test_dashboard_only_when_asked() -> None:
    """The dashboard is a component when present, on the topology's dashboard port."""
    with_dashboard = landscape_components(TOPOLOGY, dashboard=True)
    assert with_dashboard[-1].name == "dashboard"
    assert with_dashboard[-1].port == TOPOLOGY.dashboard.port
    assert "dashboard" not in [c.name for c in landscape_components(TOPOLOGY, dashboard=False)]


def test_registers_and_ida_require_client_certificates() -> None:
    """Only participants call registers, SAKs and the IDA; servers with browser pages only
    ask."""
    for component in landscape_components(TOPOLOGY, dashboard=True):
        expected = (
            ClientCertificates.REQUIRED
            if component.kind in ("register", "sak", "ida")
            else ClientCertificates.OPTIONAL
        )
        assert component.client_certificates is expected, component.name


def test_tls_identity_of_each_component() -> None:
    """The platform presents a certificate of its own (role central), the others theirs."""
    by_name = {c.name: c for c in landscape_components(TOPOLOGY, dashboard=True)}
    assert by_name["platform"].participant_id == TOPOLOGY.platform.platform_id
    assert TOPOLOGY.participant(TOPOLOGY.platform.platform_id).role == "central"
    assert by_name["ida"].participant_id == TOPOLOGY.ida.participant_id
    assert by_name["dashboard"].participant_id == TOPOLOGY.platform.simulator_id
    for register in TOPOLOGY.registers:
        assert by_name[register.participant_id].participant_id == register.participant_id


def test_with_hosts_moves_components_to_their_hosts() -> None:
    """Mapped components get the new host; the platform's participants follow the platform."""
    kba = "991-01234ZFZR-41"
    moved = with_hosts(TOPOLOGY, {"platform": "platform", kba: "kba", "ida": "ida"})
    assert moved.base_url("platform") == f"http://platform:{TOPOLOGY.platform.port}"
    assert moved.base_url(TOPOLOGY.platform.vs_id) == f"http://platform:{TOPOLOGY.platform.port}"
    assert moved.base_url(kba) == f"http://kba:{TOPOLOGY.register(kba).port}"
    assert moved.base_url("ida") == f"http://ida:{TOPOLOGY.ida.port}"
    untouched = TOPOLOGY.registers[0].participant_id
    assert moved.base_url(untouched) == TOPOLOGY.base_url(untouched)
    assert moved.authorisations == TOPOLOGY.authorisations


def test_with_hosts_refuses_unknown_names() -> None:
    """A typo in NOOTS_HOSTS is a configuration error naming it, not a silent no-op."""
    with pytest.raises(ConfigurationError, match="plattform"):
        with_hosts(TOPOLOGY, {"plattform": "x"})


def test_settings_apply_hosts_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """NOOTS_HOSTS (JSON) changes the topology every service of the process loads."""
    monkeypatch.setenv("NOOTS_HOSTS", '{"platform": "platform", "ida": "ida"}')
    topology = NootsSettings().load_topology()
    assert topology.base_url("platform") == f"http://platform:{TOPOLOGY.platform.port}"
    monkeypatch.delenv("NOOTS_HOSTS")
    assert NootsSettings().load_topology().base_url("platform") == TOPOLOGY.base_url("platform")
