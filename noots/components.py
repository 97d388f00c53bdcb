"""The processes of a landscape: one :class:`Component` per server the topology describes.

``noots up`` starts each as ``noots serve <name>``, ``noots compose`` turns each into a
container, and both name them the same way: ``platform`` (RDN, VS, IAM/PKI, DSC, eID),
``ida``, every register and every online service by its participant id (each with its SAK,
``<id>.sak``), the Intermediäre Plattform by its participant id and the simulated EU side
(``eu-common-services`` and the member states' access point ids) where the topology has
them, and ``dashboard`` when the dashboard app is installed.

Derived from the topology alone: this module belongs to the core and imports nothing of the
components it names (:func:`noots.landscape.server.create_component_app` builds their apps).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from noots.errors import ConfigurationError
from noots.tls import ClientCertificates
from noots.topology import EU_COMMON_SERVICES, Topology

__all__ = [
    "Component",
    "ComponentKind",
    "dashboard_available",
    "landscape_components",
    "with_hosts",
]

ComponentKind = Literal[
    "platform",
    "ida",
    "register",
    "sak",
    "consumer",
    "ip",
    "eu-common-services",
    "eu-provider",
    "eu-requester",
    "dashboard",
]

#: Where the dashboard app lives (it is optional: a checkout without it runs without it).
DASHBOARD_MODULE = "noots.consumers.dashboard"


@dataclass(frozen=True)
class Component:
    """One server process of the landscape."""

    name: str
    kind: ComponentKind
    #: The participant whose certificate the server presents (and its outgoing client).
    participant_id: str
    title: str
    host: str
    port: int

    @property
    def client_certificates(self) -> ClientCertificates:
        """Registers, SAKs and the IDA serve participants only; the others also serve
        browsers."""
        if self.kind in ("register", "sak", "ida"):
            return ClientCertificates.REQUIRED
        return ClientCertificates.OPTIONAL

    def url(self, *, tls: bool = False) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if tls else 'http'}://{host}:{self.port}"


def dashboard_available() -> bool:
    """Whether the dashboard app (``noots.consumers.dashboard``) is installed."""
    try:
        spec = importlib.util.find_spec(DASHBOARD_MODULE)
    except ModuleNotFoundError:
        return False
    # A directory without __init__.py (a package still being written) is no dashboard.
    return spec is not None and spec.origin is not None


def landscape_components(topology: Topology, *, dashboard: bool | None = None) -> list[Component]:
    """Every component of ``topology`` in start order (platform first, online services last).

    ``dashboard`` None: included when :func:`dashboard_available`.
    """
    host = topology.host
    platform, ida = topology.platform, topology.ida
    components = [
        Component(
            "platform",
            "platform",
            platform.platform_id,
            "Plattform: RDN, Vermittlungsstelle, IAM/PKI, Datenschutzcockpit, eID",
            platform.host or host,
            platform.port,
        ),
        Component(
            "ida",
            "ida",
            ida.participant_id,
            "IDM für Personen (IDNr-Abruf)",
            ida.host or host,
            ida.port,
        ),
    ]
    components.extend(
        Component(r.participant_id, "register", r.participant_id, r.name, r.host or host, r.port)
        for r in topology.registers
    )
    components.extend(
        Component(
            topology.sak_id(m.participant_id),
            "sak",
            topology.sak_id(m.participant_id),
            f"Sicherer Anschlussknoten: {m.name}",
            m.sak.host or host,
            m.sak.port,
        )
        for m in topology.members()
    )
    components.extend(
        Component(c.participant_id, "consumer", c.participant_id, c.name, c.host or host, c.port)
        for c in topology.consumers
    )
    ip, eu = topology.intermediary_platform, topology.eu
    if ip is not None and eu is not None:
        # The EU side first: the IP asks the common services and the provider, the
        # requester asks the IP.
        cs = eu.common_services
        components.extend(
            [
                Component(
                    EU_COMMON_SERVICES,
                    "eu-common-services",
                    EU_COMMON_SERVICES,
                    "EU: Evidence Broker und Data Service Directory (simuliert)",
                    cs.host or host,
                    cs.port,
                ),
                Component(
                    eu.provider.participant_id,
                    "eu-provider",
                    eu.provider.participant_id,
                    "EU: Universität Wien mit Vorschauraum (simuliert)",
                    eu.provider.host or host,
                    eu.provider.port,
                ),
                Component(
                    ip.participant_id,
                    "ip",
                    ip.participant_id,
                    ip.name,
                    ip.host or host,
                    ip.port,
                ),
                Component(
                    eu.requester.participant_id,
                    "eu-requester",
                    eu.requester.participant_id,
                    "EU: Mairie de Lyon, Nachweisanfrage (simuliert)",
                    eu.requester.host or host,
                    eu.requester.port,
                ),
            ]
        )
    if dashboard if dashboard is not None else dashboard_available():
        components.append(
            Component(
                "dashboard",
                "dashboard",
                platform.simulator_id,
                "Dashboard",
                topology.dashboard.host or host,
                topology.dashboard.port,
            )
        )
    return components


def with_hosts(topology: Topology, hosts: Mapping[str, str]) -> Topology:
    """``topology`` with the host of some components replaced (keys: component names).

    In containers every component runs on a host of its own (its service name) while the
    topology file, shared with ``noots up``, says 127.0.0.1; ``NOOTS_HOSTS`` maps the names.
    """
    if not hosts:
        return topology
    known = {c.name for c in landscape_components(topology, dashboard=True)}
    unknown = sorted(set(hosts) - known)
    if unknown:
        raise ConfigurationError(
            f"NOOTS_HOSTS names unknown components: {', '.join(unknown)} "
            f"(known: platform, ida, dashboard and the participant ids of the topology)"
        )
    update: dict[str, Any] = {}
    for section in ("platform", "ida", "dashboard"):
        if section in hosts:
            update[section] = getattr(topology, section).model_copy(update={"host": hosts[section]})

    def moved(member: Any) -> Any:
        changes: dict[str, Any] = {}
        if member.participant_id in hosts:
            changes["host"] = hosts[member.participant_id]
        sak_id = topology.sak_id(member.participant_id)
        if sak_id in hosts:
            changes["sak"] = member.sak.model_copy(update={"host": hosts[sak_id]})
        return member.model_copy(update=changes) if changes else member

    update["registers"] = [moved(r) for r in topology.registers]
    update["consumers"] = [moved(c) for c in topology.consumers]
    if topology.intermediary_platform is not None:
        update["intermediary_platform"] = moved(topology.intermediary_platform)
    eu = topology.eu
    if eu is not None:
        parts: dict[str, Any] = {}
        if EU_COMMON_SERVICES in hosts:
            parts["common_services"] = eu.common_services.model_copy(
                update={"host": hosts[EU_COMMON_SERVICES]}
            )
        for part in ("provider", "requester"):
            spec = getattr(eu, part)
            if spec.participant_id in hosts:
                parts[part] = spec.model_copy(update={"host": hosts[spec.participant_id]})
        if parts:
            update["eu"] = eu.model_copy(update=parts)
    return topology.model_copy(update=update)
