"""The landscape topology: who takes part, where they listen, and who may ask whom for what.

One YAML file (by default the ``landscape.yaml`` shipped in the package) describes the whole
simulated landscape. ``noots up``, ``docker compose``, the RDN, the Vermittlungsstelle, the
registers and the online services all read the same file through :func:`load_topology`, so
they agree on participant ids, ports, evidence types and the authorisation matrix.

A broken file is refused at start with a :class:`~noots.errors.TopologyError` that names the
file, the path inside the document and the line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeAlias
from uuid import UUID

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from noots._yaml_locations import Location, format_location, line_of
from noots.errors import (
    RouteNotFound,
    TopologyError,
    UnresolvedReference,
    UnsupportedEvidenceType,
)
from noots.paths import DEFAULT_TOPOLOGY_PATH

__all__ = [
    "DEFAULT_TOPOLOGY_PATH",
    "EU_COMMON_SERVICES",
    "PLATFORM_COMPONENTS",
    "SERVICE_ID_PREFIX",
    "AdministrativeArea",
    "Authorisation",
    "ComponentSpec",
    "ConsumerSpec",
    "EuComponentSpec",
    "EuSpec",
    "EvidenceTypeSpec",
    "IdaSpec",
    "IntermediaryPlatformSpec",
    "Member",
    "Municipality",
    "Participant",
    "PlatformSpec",
    "RegisterSpec",
    "SakSpec",
    "Topology",
    "VsDecision",
    "VsRule",
    "load_topology",
    "parse_topology",
    "render_json_schema",
    "topology_json_schema",
]

SERVICE_ID_PREFIX = "urn:noots:service:"
CLASSIFICATION_PREFIX = "https://sr.oots.tech.ec.europa.eu/evidencetypeclassifications/ec/"
#: Component names :meth:`Topology.base_url` accepts besides participant ids.
PLATFORM_COMPONENTS = ("platform", "ida", "dashboard")
#: The simulated EU common services (Evidence Broker, Data Service Directory) as a component.
EU_COMMON_SERVICES = "eu-common-services"
#: A participant's SAK is named ``<participant id><SAK_SUFFIX>`` (its certificate's CN).
SAK_SUFFIX = ".sak"

ParticipantId = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9.:_-]{0,63}$"),
    Field(description="Participant id (the subject CN of the participant's certificate)."),
]
Ags = Annotated[
    str,
    StringConstraints(pattern=r"^(0[1-9]|1[0-6])[0-9]{6}$"),
    Field(description="Amtlicher Gemeindeschlüssel: 8 digits, the first two a Land (01-16)."),
]
Port = Annotated[int, Field(ge=1, le=65535)]
Host = Annotated[str, StringConstraints(min_length=1, pattern=r"^[A-Za-z0-9.:_-]+$")]
# Evidence type names appear in service ids and URLs: keep them to letters, digits and dashes.
EvidenceTypeName = Annotated[str, StringConstraints(pattern=r"^[A-Za-zÄÖÜäöüß0-9_-]{1,64}$")]
AreaId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,31}$")]
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]

RegisterKind = Literal["melderegister", "personenstandsregister", "kba", "handelsregister"]
ConsumerKind = Literal["bewohnerparkausweis", "elterngeld", "gewerbeanmeldung", "zeugnisbewertung"]
#: Roles as the PKI names them (``noots.pki.Role`` values).
ParticipantRole = Literal[
    "consumer", "provider", "sak", "central", "vs", "ida", "eid", "iam", "platform", "simulator"
]
#: How a register's SAK hands it a request: it POSTs it (push), or the register fetches it
#: from its SAK (passive).
ProviderMode = Literal["push", "passive"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AdministrativeArea(_Model):
    """A Verwaltungsbereich: a transfer that uses the IDNr across two of them needs the VS."""

    id: AreaId
    name: Text = Field(description="German name, e.g. 'Meldewesen'.")


class VsDecision(_Model):
    """§ 12 Abs. 2 IDNrG: within this area, IDNr transfers go through the Vermittlungsstelle
    too (without such a decision the VS is required only across areas, § 7 Abs. 2 IDNrG)."""

    area: AreaId
    decision: Text = Field(description="The decision that requires it (a reference, German).")


@dataclass(frozen=True, slots=True)
class VsRule:
    """Whether a transfer needs a Vermittlungsstelle token, and why (German reason)."""

    required: bool
    reason: str


class EvidenceTypeSpec(_Model):
    """An evidence type as the RDN knows it and as the 0101 request names it."""

    name: EvidenceTypeName = Field(description="Short name used in RDN queries and service ids.")
    classification: Annotated[
        str, StringConstraints(pattern="^" + re.escape(CLASSIFICATION_PREFIX) + r"\S+$")
    ] = Field(description="EvidenceTypeClassification URI (XNachweis pattern).")
    identifier: UUID = Field(description="RequestedEvidenceType/Identifier.")
    title: Text = Field(description="German title.")
    subject: Literal["natural", "legal"] = Field(description="About a natural or a legal person.")
    regional: bool = Field(
        default=False, description="Answered by the register of the region (AGS), not nationwide."
    )


class ComponentSpec(_Model):
    """Where a component listens; ``host`` falls back to the topology's ``host``."""

    host: Host | None = None
    port: Port


class PlatformSpec(ComponentSpec):
    """The platform process: RDN, VS, IAM/PKI, DSC and the simulated eID (the central
    components; there is no central transport, every participant has its own SAK)."""

    platform_id: ParticipantId = Field(
        default="noots-platform",
        description=(
            "The platform process's own identity (role central): the certificate it serves "
            "TLS with. It signs as the VS, the IAM and the eID with their credentials."
        ),
    )
    vs_id: ParticipantId = "noots-vs"
    eid_id: ParticipantId = "noots-eid"
    iam_id: ParticipantId = Field(
        default="noots-iam", description="IAM für Behörden: issuer of the access tokens."
    )
    rdn_id: ParticipantId = Field(
        default="noots-rdn", description="The RDN as the audience of access tokens."
    )
    dsc_id: ParticipantId = Field(
        default="noots-dsc", description="The Datenschutzcockpit as an audience."
    )
    simulator_id: ParticipantId = "noots-simulator"
    database: str | None = Field(
        default=None,
        description="Protocol log target (postgresql://… URL); SQLite in the data dir if unset.",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_hub(cls, data: Any) -> Any:
        # Topology files written before the hub went name it: say what to do, not just
        # "extra inputs are not permitted".
        if isinstance(data, dict) and "hub_id" in data:
            raise ValueError(
                "hub_id: the central transport hub is gone (every participant connects through "
                "its own SAK); delete the line (platform_id names the platform's own identity)"
            )
        return data


class IdaSpec(ComponentSpec):
    """The IDNr look-up (IDM für Personen)."""

    participant_id: ParticipantId = "noots-ida"


class Municipality(_Model):
    """The municipality a Melderegister serves; the synthetic population lives there."""

    name: Text = Field(description="Official German name, e.g. 'Korntal-Münchingen'.")
    postcodes: list[Annotated[str, StringConstraints(pattern=r"^[0-9]{5}$")]] = Field(min_length=1)
    plate_prefix: Annotated[str, StringConstraints(pattern=r"^[A-ZÄÖÜ]{1,3}$")] = Field(
        description="Unterscheidungszeichen of the vehicle registration plates issued there."
    )
    inhabitants: int = Field(
        default=10_000, ge=1, description="Weight of the municipality in the synthetic population."
    )


class SakSpec(_Model):
    """A participant's Sicherer Anschlussknoten: its own process, certificate and address.

    Operated by the participant; its participant id is the participant's with ``.sak``.
    """

    host: Host | None = None
    port: Port
    mode: ProviderMode = Field(
        default="push",
        description=(
            "Data providers only: push = the SAK POSTs each request to the register; "
            "passive = the register fetches pending requests from its SAK."
        ),
    )


class RegisterSpec(_Model):
    """A data provider."""

    participant_id: ParticipantId
    kind: RegisterKind
    name: Text = Field(description="German name, as shown in messages.")
    area: AreaId
    region: Ags | None = Field(default=None, description="AGS of the municipality it serves.")
    municipality: Municipality | None = Field(
        default=None, description="Required for a Melderegister."
    )
    evidence_types: list[EvidenceTypeName] = Field(min_length=1)
    host: Host | None = None
    port: Port
    sak: SakSpec


class ConsumerSpec(_Model):
    """A data consumer (online service)."""

    participant_id: ParticipantId
    kind: ConsumerKind
    name: Text
    area: AreaId
    region: Ags | None = Field(default=None, description="AGS of the authority, if local.")
    host: Host | None = None
    port: Port
    sak: SakSpec


class IntermediaryPlatformSpec(_Model):
    """The Intermediäre Plattform (IP): the bridge between NOOTS and the EU-OOTS.

    A participant like any other, behind its own SAK, on both sides of it: it sends
    ``DE.EvidenceRequest.0301`` to German registers for EU evidence requesters (use case 3)
    and is the provider the RDN names for the EU evidence types online services order with
    ``DE.EvidenceOrder.0401`` / ``DE.GetEvidence.0411`` (use case 4). Toward the EU it is
    reached through its own eDelivery access point (``access_point``, same process).
    """

    participant_id: ParticipantId = "noots-ip"
    name: Text = "Intermediäre Plattform (EU-OOTS)"
    area: AreaId = Field(description="Its administrative area (for the VS rule).")
    access_point: ParticipantId = Field(
        default="eu-gw-de", description="Its eDelivery access point toward the EU (simulated)."
    )
    evidence_types: list[EvidenceTypeName] = Field(
        default_factory=list,
        description="EU evidence types online services order through it (use case 4).",
    )
    host: Host | None = None
    port: Port
    sak: SakSpec


class EuComponentSpec(ComponentSpec):
    """A simulated member-state component: its eDelivery access point id and address."""

    participant_id: ParticipantId


class EuSpec(_Model):
    """The simulated EU side of the IP (each its own process)."""

    common_services: ComponentSpec = Field(
        description="Evidence Broker and Data Service Directory (RegRep REST queries)."
    )
    provider: EuComponentSpec = Field(
        description="Universität Wien (AT) with its preview space: answers the degree."
    )
    requester: EuComponentSpec = Field(
        description="Mairie de Lyon (FR): asks the German IP for a Geburtsurkunde."
    )


#: A participant that connects through a SAK of its own.
Member: TypeAlias = RegisterSpec | ConsumerSpec | IntermediaryPlatformSpec


class Authorisation(_Model):
    """One row of the abstract authorisation matrix the Vermittlungsstelle checks."""

    consumer: ParticipantId
    evidence_type: EvidenceTypeName
    purpose: Text = Field(description="Declared purpose; the envelope's Purpose must equal it.")
    legal_basis: Text
    uses_idnr: bool = True
    providers: Literal["*"] | list[ParticipantId] = Field(
        default="*", description="'*' for every provider of the evidence type, or a list."
    )

    def allows_provider(self, provider: str) -> bool:
        return self.providers == "*" or provider in self.providers


@dataclass(frozen=True, slots=True)
class Participant:
    """Any participant of the landscape, platform components included."""

    participant_id: str
    role: ParticipantRole
    name: str
    area: str | None
    host: str
    port: int
    spec: Member | None = None
    #: For a SAK: the participant it connects (whose side it belongs to).
    serves: str | None = None


class _Problems(ValueError):
    """Cross-reference findings, each with its location in the document."""

    def __init__(self, problems: list[tuple[Location, str]]) -> None:
        self.problems = problems
        super().__init__(
            "; ".join(f"{format_location(loc)}: {message}" for loc, message in problems)
        )


class Topology(_Model):
    """The whole landscape."""

    version: Literal[1] = 1
    name: Text = "noots"
    host: Host = Field(default="127.0.0.1", description="Default listen host of every component.")
    administrative_areas: list[AdministrativeArea] = Field(min_length=1)
    evidence_types: list[EvidenceTypeSpec] = Field(min_length=1)
    platform: PlatformSpec
    ida: IdaSpec
    registers: list[RegisterSpec] = Field(min_length=1)
    consumers: list[ConsumerSpec] = Field(default_factory=list)
    authorisations: list[Authorisation] = Field(default_factory=list)
    vs_decisions: list[VsDecision] = Field(
        default_factory=list,
        description="Areas within which IDNr transfers need the VS too (§ 12 Abs. 2 IDNrG).",
    )
    dashboard: ComponentSpec
    intermediary_platform: IntermediaryPlatformSpec | None = Field(
        default=None,
        description="The Intermediäre Plattform (EU border); needs the `eu` section too.",
    )
    eu: EuSpec | None = Field(
        default=None, description="The simulated EU side the IP talks to (with the IP)."
    )

    @model_validator(mode="after")
    def _check_references(self) -> Topology:
        problems = list(_reference_problems(self))
        if problems:
            raise _Problems(problems)
        return self

    # -- look-ups ---------------------------------------------------------------------------

    def participants(self) -> Iterator[Participant]:
        """Every participant: platform components, IDA, registers, consumers."""
        platform_host = self.platform.host or self.host
        p = self.platform
        yield Participant(p.platform_id, "central", "NOOTS-Plattform", None, platform_host, p.port)
        yield Participant(p.vs_id, "vs", "Vermittlungsstelle", None, platform_host, p.port)
        yield Participant(p.eid_id, "eid", "eID-Dienst (Simulation)", None, platform_host, p.port)
        yield Participant(p.iam_id, "iam", "IAM für Behörden", None, platform_host, p.port)
        yield Participant(p.simulator_id, "simulator", "noots", None, platform_host, p.port)
        yield Participant(
            self.ida.participant_id,
            "ida",
            "IDM für Personen (IDNr-Abruf)",
            None,
            self.ida.host or self.host,
            self.ida.port,
        )
        for register in self.registers:
            yield Participant(
                register.participant_id,
                "provider",
                register.name,
                register.area,
                register.host or self.host,
                register.port,
                register,
            )
        for consumer in self.consumers:
            yield Participant(
                consumer.participant_id,
                "consumer",
                consumer.name,
                consumer.area,
                consumer.host or self.host,
                consumer.port,
                consumer,
            )
        ip = self.intermediary_platform
        if ip is not None:
            ip_host = ip.host or self.host
            yield Participant(ip.participant_id, "platform", ip.name, ip.area, ip_host, ip.port, ip)
            yield Participant(
                ip.access_point,
                "platform",
                f"eDelivery-Zugangspunkt: {ip.name}",
                None,
                ip_host,
                ip.port,
            )
        if self.eu is not None:
            cs = self.eu.common_services
            yield Participant(
                EU_COMMON_SERVICES,
                "simulator",
                "EU: Evidence Broker und Data Service Directory (simuliert)",
                None,
                cs.host or self.host,
                cs.port,
            )
            for spec, name in (
                (self.eu.provider, "Universität Wien (AT, simuliert)"),
                (self.eu.requester, "Mairie de Lyon (FR, simuliert)"),
            ):
                yield Participant(
                    spec.participant_id, "simulator", name, None, spec.host or self.host, spec.port
                )
        for member in self.members():
            yield Participant(
                self.sak_id(member.participant_id),
                "sak",
                f"Sicherer Anschlussknoten: {member.name}",
                member.area,
                member.sak.host or self.host,
                member.sak.port,
                member,
                serves=member.participant_id,
            )

    def members(self) -> Iterator[Member]:
        """The participants that connect through a SAK: registers, online services, the IP."""
        yield from self.registers
        yield from self.consumers
        if self.intermediary_platform is not None:
            yield self.intermediary_platform

    @staticmethod
    def sak_id(participant_id: str) -> str:
        """The participant id of ``participant_id``'s SAK (formatting only)."""
        return f"{participant_id}{SAK_SUFFIX}"

    @staticmethod
    def acts_for(client_id: str) -> str:
        """Whom a client's access tokens act for (``acts_for``): a SAK the participant it
        serves, everyone else itself (docs/PROTOCOL.md, "Access tokens")."""
        if client_id.endswith(SAK_SUFFIX):
            return client_id[: -len(SAK_SUFFIX)]
        return client_id

    def sak_of(self, participant_id: str) -> Participant:
        """The SAK of a register or online service; :class:`UnresolvedReference` if none."""
        return self.participant(self.sak_id(participant_id))

    def served_by(self, sak_id: str) -> Member:
        """The register, online service or IP whose SAK ``sak_id`` is."""
        served = self.acts_for(sak_id)
        if served != sak_id:
            for member in self.members():
                if member.participant_id == served:
                    return member
        raise UnresolvedReference(f"{sak_id!r} is the SAK of no participant")

    def vs_rule(self, consumer: str, provider: str, *, uses_idnr: bool) -> VsRule:
        """Whether a transfer from ``provider`` to ``consumer`` needs a VS token.

        § 7 Abs. 2 IDNrG: IDNr transfers across administrative areas go through the VS; within
        one area only where a decision says so (§ 12 Abs. 2 IDNrG, ``vs_decisions``). A
        transfer without the IDNr needs none.
        """
        consumer_area = self.area_of(consumer)
        provider_area = self.area_of(provider)
        if not uses_idnr:
            return VsRule(False, "ohne IDNr: keine Vermittlungsstelle nötig")
        if consumer_area.id != provider_area.id:
            return VsRule(
                True,
                f"IDNr über Bereichsgrenzen ({consumer_area.name} → {provider_area.name}): "
                "§ 7 Abs. 2 IDNrG",
            )
        for decision in self.vs_decisions:
            if decision.area == consumer_area.id:
                return VsRule(
                    True,
                    f"IDNr innerhalb des Bereichs {consumer_area.name}, durch Entscheidung "
                    f"(§ 12 Abs. 2 IDNrG: {decision.decision})",
                )
        return VsRule(
            False, f"IDNr innerhalb des Bereichs {consumer_area.name}: keine Vermittlungsstelle"
        )

    def participant(self, participant_id: str) -> Participant:
        """The participant with this id (any kind); :class:`UnresolvedReference` if unknown."""
        for candidate in self.participants():
            if candidate.participant_id == participant_id:
                return candidate
        raise UnresolvedReference(f"unknown participant {participant_id!r}")

    def is_platform(self, participant_id: str) -> bool:
        """Whether ``participant_id`` is the Intermediäre Plattform."""
        ip = self.intermediary_platform
        return ip is not None and ip.participant_id == participant_id

    def register(self, participant_id: str) -> RegisterSpec:
        for register in self.registers:
            if register.participant_id == participant_id:
                return register
        raise UnresolvedReference(f"unknown data provider {participant_id!r}")

    def consumer(self, participant_id: str) -> ConsumerSpec:
        for consumer in self.consumers:
            if consumer.participant_id == participant_id:
                return consumer
        raise UnresolvedReference(f"unknown data consumer {participant_id!r}")

    def evidence_type(self, name: str) -> EvidenceTypeSpec:
        """The evidence type by name; :class:`UnsupportedEvidenceType` if unknown."""
        for spec in self.evidence_types:
            if spec.name == name:
                return spec
        raise UnsupportedEvidenceType(f"unknown evidence type {name!r}")

    def evidence_type_by_classification(self, classification: str) -> EvidenceTypeSpec:
        """The evidence type a 0101 names by its classification URI."""
        for spec in self.evidence_types:
            if spec.classification == classification:
                return spec
        raise UnsupportedEvidenceType("unknown evidence type classification")

    def area(self, area_id: str) -> AdministrativeArea:
        for area in self.administrative_areas:
            if area.id == area_id:
                return area
        raise UnresolvedReference(f"unknown administrative area {area_id!r}")

    def area_of(self, participant_id: str) -> AdministrativeArea:
        """The administrative area of a register or consumer (platform components have none)."""
        participant = self.participant(participant_id)
        if participant.area is None:
            raise UnresolvedReference(f"{participant_id!r} belongs to no administrative area")
        return self.area(participant.area)

    def find_providers(self, evidence_type: str, region: str | None = None) -> list[RegisterSpec]:
        """The registers that answer ``evidence_type`` (for ``region``, if the type is regional).

        A nationwide type ignores ``region``; a regional type without ``region`` returns every
        provider, and the caller has to choose. The order is the file's.
        """
        spec = self.evidence_type(evidence_type)
        providers = [r for r in self.registers if spec.name in r.evidence_types]
        if spec.regional and region is not None:
            providers = [r for r in providers if r.region == region]
        return providers

    def service_providers(
        self, evidence_type: str, region: str | None = None
    ) -> list[RegisterSpec | IntermediaryPlatformSpec]:
        """:meth:`find_providers`, and the IP for the EU evidence types it is the provider of
        (use case 4: the RDN routes them to the IP)."""
        found: list[RegisterSpec | IntermediaryPlatformSpec] = [
            *self.find_providers(evidence_type, region)
        ]
        ip = self.intermediary_platform
        if ip is not None and self.evidence_type(evidence_type).name in ip.evidence_types:
            found.append(ip)
        return found

    def service_id(self, participant_id: str, evidence_type: str) -> str:
        """``urn:noots:service:<participant id>:<evidence type>`` (formatting only)."""
        return f"{SERVICE_ID_PREFIX}{participant_id}:{evidence_type}"

    def resolve_service(
        self, service_id: str
    ) -> tuple[RegisterSpec | IntermediaryPlatformSpec, EvidenceTypeSpec]:
        """The provider (a register or the IP) and evidence type a service id names;
        :class:`RouteNotFound` if none."""
        if not service_id.startswith(SERVICE_ID_PREFIX):
            raise RouteNotFound("not a noots service id")
        participant_id, sep, name = service_id[len(SERVICE_ID_PREFIX) :].rpartition(":")
        if not sep:
            raise RouteNotFound("service id without evidence type")
        providers: list[RegisterSpec | IntermediaryPlatformSpec] = [*self.registers]
        if self.intermediary_platform is not None:
            providers.append(self.intermediary_platform)
        for provider in providers:
            if provider.participant_id == participant_id and name in provider.evidence_types:
                return provider, self.evidence_type(name)
        raise RouteNotFound(f"no service {service_id!r}")

    def authorisations_for(
        self, consumer: str, evidence_type: str, provider: str
    ) -> list[Authorisation]:
        """The matrix rows that let ``consumer`` fetch ``evidence_type`` from ``provider``."""
        return [
            a
            for a in self.authorisations
            if a.consumer == consumer
            and a.evidence_type == evidence_type
            and a.allows_provider(provider)
        ]

    def base_url(self, participant_or_component: str, *, tls: bool = False) -> str:
        """``http(s)://host:port`` of a participant id or of ``platform``/``ida``/``dashboard``
        (and ``eu-common-services`` where the landscape simulates the EU side)."""
        scheme = "https" if tls else "http"
        if participant_or_component == "platform":
            host, port = self.platform.host or self.host, self.platform.port
        elif participant_or_component == "ida":
            host, port = self.ida.host or self.host, self.ida.port
        elif participant_or_component == "dashboard":
            host, port = self.dashboard.host or self.host, self.dashboard.port
        elif participant_or_component == EU_COMMON_SERVICES and self.eu is not None:
            spec = self.eu.common_services
            host, port = spec.host or self.host, spec.port
        else:
            participant = self.participant(participant_or_component)
            host, port = participant.host, participant.port
        if ":" in host:  # an IPv6 literal needs brackets in a URL
            host = f"[{host}]"
        return f"{scheme}://{host}:{port}"

    def municipalities(self) -> list[RegisterSpec]:
        """The Melderegister, one per municipality (region AGS) the landscape simulates."""
        return [r for r in self.registers if r.kind == "melderegister"]


def _reference_problems(t: Topology) -> Iterator[tuple[Location, str]]:
    yield from _duplicates(
        "administrative_areas", [a.id for a in t.administrative_areas], "id", "area id"
    )
    yield from _duplicates("evidence_types", [e.name for e in t.evidence_types], "name", "name")
    yield from _duplicates(
        "evidence_types", [str(e.identifier) for e in t.evidence_types], "identifier", "identifier"
    )
    yield from _duplicates(
        "evidence_types",
        [e.classification for e in t.evidence_types],
        "classification",
        "classification",
    )

    areas = {a.id for a in t.administrative_areas}
    types = {e.name: e for e in t.evidence_types}

    # Participant ids and listen addresses must be unique across the whole landscape; the
    # platform's participants share one process, hence one address.
    p = t.platform
    ids: list[tuple[Location, str]] = [
        (("platform", "platform_id"), p.platform_id),
        (("platform", "vs_id"), p.vs_id),
        (("platform", "eid_id"), p.eid_id),
        (("platform", "iam_id"), p.iam_id),
        (("platform", "rdn_id"), p.rdn_id),
        (("platform", "dsc_id"), p.dsc_id),
        (("platform", "simulator_id"), p.simulator_id),
        (("ida", "participant_id"), t.ida.participant_id),
    ]
    ports: list[tuple[Location, str, int]] = [
        (("platform", "port"), p.host or t.host, p.port),
        (("ida", "port"), t.ida.host or t.host, t.ida.port),
        (("dashboard", "port"), t.dashboard.host or t.host, t.dashboard.port),
    ]
    members: list[tuple[tuple[str | int, ...], Member]] = [
        *((("registers", i), r) for i, r in enumerate(t.registers)),
        *((("consumers", i), c) for i, c in enumerate(t.consumers)),
    ]
    ip = t.intermediary_platform
    if ip is not None:
        members.append((("intermediary_platform",), ip))
        ids.append((("intermediary_platform", "access_point"), ip.access_point))
    if t.eu is not None:
        ids.append((("eu", "common_services"), EU_COMMON_SERVICES))
        ports.append(
            (
                ("eu", "common_services", "port"),
                t.eu.common_services.host or t.host,
                t.eu.common_services.port,
            )
        )
        for part in ("provider", "requester"):
            spec = getattr(t.eu, part)
            ids.append((("eu", part, "participant_id"), spec.participant_id))
            ports.append((("eu", part, "port"), spec.host or t.host, spec.port))
    if (ip is None) != (t.eu is None):
        yield (
            ("intermediary_platform",) if ip is None else ("eu",),
            "the Intermediäre Plattform and the simulated EU side come together: give both "
            "`intermediary_platform` and `eu`, or neither",
        )
    for at, member in members:
        ids.append(((*at, "participant_id"), member.participant_id))
        ports.append(((*at, "port"), member.host or t.host, member.port))
        ids.append(((*at, "sak"), t.sak_id(member.participant_id)))
        ports.append(((*at, "sak", "port"), member.sak.host or t.host, member.sak.port))
        if len(t.sak_id(member.participant_id)) > 64:
            yield (*at, "participant_id"), "too long for its SAK's id (at most 60)"
    seen_ids: dict[str, Location] = {}
    for loc, pid in ids:
        if pid in seen_ids:
            yield loc, f"participant id {pid!r} already used at {format_location(seen_ids[pid])}"
        else:
            seen_ids[pid] = loc
    seen_ports: dict[tuple[str, int], Location] = {}
    for loc, host, port in ports:
        if (host, port) in seen_ports:
            first = format_location(seen_ports[host, port])
            yield loc, f"{host}:{port} already used at {first}"
        else:
            seen_ports[host, port] = loc

    for i, r in enumerate(t.registers):
        if r.area not in areas:
            yield ("registers", i, "area"), f"unknown administrative area {r.area!r}"
        if r.kind == "melderegister" and r.region is None:
            yield ("registers", i, "region"), "a Melderegister needs the AGS of its municipality"
        if r.kind == "melderegister" and r.municipality is None:
            yield ("registers", i), "a Melderegister needs its municipality (name, postcodes)"
        for j, name in enumerate(r.evidence_types):
            type_spec = types.get(name)
            if type_spec is None:
                yield ("registers", i, "evidence_types", j), f"unknown evidence type {name!r}"
            elif type_spec.regional and r.region is None:
                yield (
                    ("registers", i, "evidence_types", j),
                    f"{name!r} is regional: the register needs a region",
                )
        if len(set(r.evidence_types)) != len(r.evidence_types):
            yield ("registers", i, "evidence_types"), "an evidence type is listed twice"

    for i, c in enumerate(t.consumers):
        if c.area not in areas:
            yield ("consumers", i, "area"), f"unknown administrative area {c.area!r}"
        if c.sak.mode != "push":
            yield ("consumers", i, "sak", "mode"), "the mode is for data providers only"

    if ip is not None:
        if ip.area not in areas:
            yield ("intermediary_platform", "area"), f"unknown administrative area {ip.area!r}"
        if ip.sak.mode != "push":
            yield (
                ("intermediary_platform", "sak", "mode"),
                "the IP's SAK delivers to the IP in push mode only",
            )
        for j, name in enumerate(ip.evidence_types):
            type_spec = types.get(name)
            if type_spec is None:
                yield (
                    ("intermediary_platform", "evidence_types", j),
                    f"unknown evidence type {name!r}",
                )
            elif type_spec.regional:
                yield (
                    ("intermediary_platform", "evidence_types", j),
                    f"{name!r} is regional: EU evidence is ordered by member state, not region",
                )
            elif any(name in r.evidence_types for r in t.registers):
                yield (
                    ("intermediary_platform", "evidence_types", j),
                    f"{name!r} is provided by a German register: the RDN must name one provider",
                )

    for i, d in enumerate(t.vs_decisions):
        if d.area not in areas:
            yield ("vs_decisions", i, "area"), f"unknown administrative area {d.area!r}"
    yield from _duplicates("vs_decisions", [d.area for d in t.vs_decisions], "area", "area")

    consumers = {c.participant_id for c in t.consumers}
    registers: dict[str, RegisterSpec | IntermediaryPlatformSpec] = {
        r.participant_id: r for r in t.registers
    }
    if ip is not None:
        registers[ip.participant_id] = ip
    for i, a in enumerate(t.authorisations):
        if a.consumer not in consumers:
            yield ("authorisations", i, "consumer"), f"unknown consumer {a.consumer!r}"
        if a.evidence_type not in types:
            yield (
                ("authorisations", i, "evidence_type"),
                f"unknown evidence type {a.evidence_type!r}",
            )
        elif a.providers == "*" and not any(
            a.evidence_type in r.evidence_types for r in registers.values()
        ):
            yield (
                ("authorisations", i, "evidence_type"),
                f"no register provides {a.evidence_type!r}",
            )
        if a.providers != "*":
            for j, provider in enumerate(a.providers):
                register = registers.get(provider)
                if register is None:
                    yield ("authorisations", i, "providers", j), f"unknown register {provider!r}"
                elif a.evidence_type not in register.evidence_types:
                    yield (
                        ("authorisations", i, "providers", j),
                        f"{provider!r} does not provide {a.evidence_type!r}",
                    )


def _duplicates(
    section: str, values: Sequence[str], field: str, what: str
) -> Iterator[tuple[Location, str]]:
    first: dict[str, int] = {}
    for i, value in enumerate(values):
        if value in first:
            yield (
                (section, i, field),
                f"duplicate {what} {value!r} (first at {section}[{first[value]}])",
            )
        else:
            first[value] = i


# -- loading ---------------------------------------------------------------------------------


def load_topology(path: Path | str | None = None) -> Topology:
    """Read and validate the topology file (default: the ``landscape.yaml`` noots ships)."""
    path = Path(path) if path is not None else DEFAULT_TOPOLOGY_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TopologyError(str(path), [("(file)", exc.strerror or str(exc), None)]) from exc
    return parse_topology(text, source=str(path))


def parse_topology(text: str, *, source: str = "<topology>") -> Topology:
    """Validate topology YAML ``text``; errors name ``source``, the location and the line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise TopologyError(source, [("(document)", f"not valid YAML: {problem}", line)]) from exc
    if not isinstance(data, dict):
        raise TopologyError(source, [("(document)", "expected a mapping at the top level", 1)])
    try:
        return Topology.model_validate(data)
    except ValidationError as exc:
        raise TopologyError(source, list(_problems_of(exc, root))) from None


def _problems_of(
    exc: ValidationError, root: yaml.Node | None
) -> Iterator[tuple[str, str, int | None]]:
    for error in exc.errors(include_url=False):
        inner = (error.get("ctx") or {}).get("error")
        base: Location = tuple(error["loc"])
        if isinstance(inner, _Problems):
            for loc, message in inner.problems:
                full = (*base, *loc)
                yield format_location(full), message, line_of(root, full)
        else:
            yield format_location(base), error["msg"], line_of(root, base)


# -- schema ----------------------------------------------------------------------------------


def topology_json_schema() -> dict[str, Any]:
    """The JSON Schema of the topology file, generated from :class:`Topology`."""
    schema = Topology.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:noots:landscape:1",
        **schema,
    }


def render_json_schema() -> str:
    """The schema as committed in ``docs/schemas/landscape.schema.json``."""
    return json.dumps(topology_json_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
