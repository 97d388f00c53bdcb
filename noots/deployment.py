"""What a container deployment of a landscape is made of: one workload per component.

``noots compose`` (docker compose) and ``noots k8s`` (Kubernetes manifests) both start from
:func:`workloads`: every component :func:`~noots.components.landscape_components` yields becomes
one workload with a DNS-safe name, the participants whose keys it holds, and what else it
needs. Everything that depends on a component's *kind* is decided here, in :data:`KIND_RULES`,
and nowhere else; a kind the table does not know yet (a new component of the landscape) gets
:data:`DEFAULT_RULES`: its own participant's key, a volume of its own, no population, and a
place with the participants' organisations rather than the central components.

The names the workloads answer to (:func:`dns_names`) go into the subjectAltName of their
certificates (:mod:`noots.provision`), so that TLS clients inside compose or a cluster check
the server's name as they would anywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from noots.components import Component, landscape_components
from noots.errors import ConfigurationError
from noots.topology import Topology

__all__ = [
    "CENTRAL",
    "DATA_DIR",
    "DEFAULT_NAMESPACE",
    "DEFAULT_RULES",
    "KEYS_MOUNT",
    "KIND_RULES",
    "RESERVED_NAMES",
    "TOPOLOGY_PATH",
    "TRUST_MOUNT",
    "KindRules",
    "Workload",
    "dns_names",
    "environment",
    "service_name",
    "workloads",
]

#: The organisation of the components the NOOTS operator runs (not a participant's).
CENTRAL = "central"
#: The Kubernetes namespace the manifests use unless told otherwise; the certificates also
#: carry the in-cluster names of this namespace.
DEFAULT_NAMESPACE = "noots"
#: Names of the deployment's own services, never a component's.
RESERVED_NAMES = frozenset({"postgres", "bootstrap", "e2e"})

#: Inside every noots container: the state directory (a volume of the workload's own) ...
DATA_DIR = "/data"
#: ... the topology file, the same the host's ``noots up`` reads (mounted read-only) ...
TOPOLOGY_PATH = "/etc/noots/landscape.yaml"
#: ... what the CA publishes: trust anchor, CRL, the register of issued certificates
#: (read-only, shared by all; noots.pki.PublishedPki) ...
TRUST_MOUNT = f"{DATA_DIR}/pki/ca"
#: ... and the workload's own participants' certificates and keys (read-only, its own). No
#: workload mounts the CA: only the one-shot ``noots provision`` opens it.
KEYS_MOUNT = f"{DATA_DIR}/pki/participants"

ParticipantsRule = Callable[[Component, Topology], tuple[str, ...]]
OrganisationRule = Callable[[Component, Topology], str]


def own_participant(component: Component, _topology: Topology) -> tuple[str, ...]:
    """The component presents its own participant's certificate and signs as it, nothing more."""
    return (component.participant_id,)


def platform_participants(_component: Component, topology: Topology) -> tuple[str, ...]:
    """The platform process serves TLS as itself (``platform_id``) and signs as the VS, the
    IAM für Behörden (its access tokens) and the simulated eID."""
    platform = topology.platform
    return (platform.platform_id, platform.vs_id, platform.iam_id, platform.eid_id)


def dashboard_participants(component: Component, topology: Topology) -> tuple[str, ...]:
    """The dashboard is the simulator's own tool: it plays the pilots *as* the online services
    (noots.consumers.dashboard._pilots), so it holds their keys beside its own."""
    return (component.participant_id, *(c.participant_id for c in topology.consumers))


def ip_participants(component: Component, topology: Topology) -> tuple[str, ...]:
    """The Intermediäre Plattform is a NOOTS participant and, in the same process, its own
    eDelivery access point toward the member states: it holds both keys."""
    ip = topology.intermediary_platform
    if ip is None:
        return (component.participant_id,)
    return (ip.participant_id, ip.access_point)


def central(_component: Component, _topology: Topology) -> str:
    return CENTRAL


def own_organisation(component: Component, _topology: Topology) -> str:
    """A participant's components belong to the organisation that operates the participant."""
    return component.participant_id


def served_organisation(component: Component, topology: Topology) -> str:
    """A SAK is operated by the participant it connects: it is deployed with it (the IP's
    with the central components)."""
    served = topology.served_by(component.participant_id)
    if topology.is_platform(served.participant_id):
        return CENTRAL
    return served.participant_id


@dataclass(frozen=True)
class KindRules:
    """What a component of one kind needs in a container deployment."""

    #: Whose certificate and private key the component holds (the first is the one it serves
    #: TLS with: the component's own participant).
    participants: ParticipantsRule = own_participant
    #: Answers from the synthetic population (registers, the IDA, the platform's eID).
    population: bool = False
    #: Who operates the workload: ``central`` (the NOOTS operator) or a participant's
    #: organisation, which deploys it apart from the central components.
    organisation: OrganisationRule = own_organisation


DEFAULT_RULES = KindRules()

KIND_RULES: dict[str, KindRules] = {
    "platform": KindRules(
        participants=platform_participants,
        population=True,
        organisation=central,
    ),
    "ida": KindRules(population=True, organisation=central),
    "register": KindRules(population=True),
    "consumer": KindRules(),
    "sak": KindRules(organisation=served_organisation),
    # The Intermediäre Plattform is run centrally (like the RDN and the VS); the simulated
    # member states are each their own organisation (the defaults).
    "ip": KindRules(participants=ip_participants, organisation=central),
    "dashboard": KindRules(participants=dashboard_participants, organisation=central),
}


def service_name(component: Component) -> str:
    """The service (and host) name of a component: its name, lower case, DNS-safe."""
    name = re.sub(r"[^a-z0-9-]+", "-", component.name.lower()).strip("-")
    if not name:
        raise ConfigurationError(f"no usable service name for component {component.name!r}")
    if len(name) > 63:
        raise ConfigurationError(
            f"the service name {name!r} of component {component.name!r} is longer than a DNS "
            "label (63 characters)"
        )
    return name


@dataclass(frozen=True)
class Workload:
    """One component as a container (compose service, Kubernetes Deployment)."""

    name: str
    component: Component
    participants: tuple[str, ...]
    population: bool
    organisation: str

    @property
    def kind(self) -> str:
        return self.component.kind

    @property
    def port(self) -> int:
        return self.component.port

    @property
    def central(self) -> bool:
        return self.organisation == CENTRAL

    @property
    def command(self) -> list[str]:
        return ["noots", "serve", self.component.name, "--host", "0.0.0.0"]  # noqa: S104

    def health_command(self, *, tls: bool, data_dir: str) -> list[str]:
        """``python -m noots.healthcheck`` for this workload, from inside its container (with
        TLS it presents its own certificate: registers and the IDA require one)."""
        scheme = "https" if tls else "http"
        command = ["python", "-m", "noots.healthcheck"]
        if tls:
            pki = f"{data_dir}/pki"
            own = f"{pki}/participants/{self.component.participant_id}"
            command += [
                "--ca",
                f"{pki}/ca/root-cert.pem",
                "--cert",
                f"{own}/cert.pem",
                "--key",
                f"{own}/key.pem",
            ]
        return [*command, f"{scheme}://127.0.0.1:{self.port}/health"]


def rules_for(kind: str) -> KindRules:
    return KIND_RULES.get(kind, DEFAULT_RULES)


def workloads(topology: Topology) -> list[Workload]:
    """Every component of ``topology`` as a workload, in start order.

    The dashboard is part of every deployment, whatever is installed where it is generated.
    Raises :class:`ConfigurationError` when two components would share a name or a name is
    reserved.
    """
    result: list[Workload] = []
    names: dict[str, str] = {}
    for component in landscape_components(topology, dashboard=True):
        rules = rules_for(component.kind)
        name = service_name(component)
        clash = names.get(name) or (name if name in RESERVED_NAMES else None)
        if clash is not None:
            raise ConfigurationError(
                f"components {clash!r} and {component.name!r} would share the service name {name!r}"
            )
        names[name] = component.name
        # Its own participant first (the certificate it serves TLS with), each one once.
        participants = tuple(
            dict.fromkeys((component.participant_id, *rules.participants(component, topology)))
        )
        result.append(
            Workload(
                name=name,
                component=component,
                participants=participants,
                population=rules.population,
                organisation=rules.organisation(component, topology),
            )
        )
    return result


def dns_names(workload: Workload, *, namespace: str = DEFAULT_NAMESPACE) -> tuple[str, ...]:
    """The names a workload answers to: its compose service name, which is also its
    Kubernetes Service name, and the Service's in-cluster names in ``namespace``."""
    name = workload.name
    return (
        name,
        f"{name}.{namespace}",
        f"{name}.{namespace}.svc",
        f"{name}.{namespace}.svc.cluster.local",
    )


def environment(
    topology: Topology,
    names: dict[str, str],
    *,
    tls: bool,
    database_url: str,
) -> dict[str, str]:
    """The ``NOOTS_*`` variables every noots container shares; ``names`` maps each component
    to the host name it is reached by (``NOOTS_HOSTS``)."""
    import json

    scheme = "https" if tls else "http"
    env = {
        "NOOTS_DATA_DIR": DATA_DIR,
        "NOOTS_TOPOLOGY": TOPOLOGY_PATH,
        "NOOTS_MODE": "test",
        "NOOTS_TLS": "true" if tls else "false",
        "NOOTS_DATABASE_URL": database_url,
    }
    dashboard = next((w for w in workloads(topology) if w.kind == "dashboard"), None)
    if dashboard is not None:
        env["NOOTS_TRACE_URL"] = (
            f"{scheme}://{names[dashboard.component.name]}:{dashboard.port}/events/v1"
        )
    env["NOOTS_HOSTS"] = json.dumps(names, separators=(", ", ": "), ensure_ascii=False)
    return env
