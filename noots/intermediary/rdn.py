"""Registerdatennavigation (RDN): which data provider answers an evidence type for a region.

``GET /rdn/v1/services?evidenceType=Meldebescheinigung&region=08118079`` answers with the
responsible providers, read from the landscape's topology::

    {"evidenceType": {...}, "region": "08118079",
     "services": [{"participantId": "08118079-MELD-12", "name": "…",
                   "serviceId": "urn:noots:service:08118079-MELD-12:Meldebescheinigung",
                   "sak": {"participantId": "08118079-MELD-12.sak",
                           "url": "http://127.0.0.1:8510"}, …}]}

``evidenceType`` is the short name, its classification URI or its identifier UUID (the forms a
0101 carries). ``region`` is the AGS of the municipality; a nationwide evidence type ignores
it. The connection parameters are the provider's SAK: an online service's SAK sends the
envelope there (``/transport/v1/messages``); nobody connects to the register itself.

When nothing is responsible the answer is ``EDM:ERR:0006`` (404) with a message that says what
was asked and what exists: the known evidence types (and the closest name to a typo), or the
regions a regional type is served for. A regional type asked without a region is refused the
same way rather than answered with every municipality: picking the first of a list is exactly
the silent mistake a developer would not notice.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from noots.errors import InvalidInput, NootsError, RouteNotFound
from noots.intermediary._context import Context
from noots.intermediary._edge import problem
from noots.topology import EvidenceTypeSpec, IntermediaryPlatformSpec, RegisterSpec, Topology

__all__ = [
    "DirectoryAnswer",
    "ServiceEntry",
    "find_evidence_type",
    "find_services",
    "resolve_service",
    "router",
]

_AGS = re.compile(r"(0[1-9]|1[0-6])[0-9]{6}")


@dataclass(frozen=True)
class ServiceEntry:
    """One provider's service for one evidence type."""

    participant_id: str
    name: str
    area: str
    region: str | None
    municipality: str | None
    service_id: str
    #: Connection parameters: the provider's SAK, which a consumer's SAK sends to.
    sak_id: str
    sak_url: str
    evidence_type: str

    def to_json(self) -> dict[str, Any]:
        return {
            "participantId": self.participant_id,
            "name": self.name,
            "area": self.area,
            "region": self.region,
            "municipality": self.municipality,
            "serviceId": self.service_id,
            "evidenceType": self.evidence_type,
            "sak": {"participantId": self.sak_id, "url": self.sak_url},
        }


@dataclass(frozen=True)
class DirectoryAnswer:
    """What the RDN found: the evidence type as it knows it and the responsible services."""

    evidence_type: EvidenceTypeSpec
    region: str | None
    services: tuple[ServiceEntry, ...]
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "evidenceType": _type_json(self.evidence_type),
            "region": self.region,
            "services": [s.to_json() for s in self.services],
        }
        if self.note:
            body["note"] = self.note
        return body


def _type_json(spec: EvidenceTypeSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "classification": spec.classification,
        "identifier": str(spec.identifier),
        "title": spec.title,
        "subject": spec.subject,
        "regional": spec.regional,
    }


def _served_regions(topology: Topology, spec: EvidenceTypeSpec) -> list[str]:
    return sorted(
        f"{r.region} ({_place(r)})"
        for r in topology.registers
        if spec.name in r.evidence_types and r.region is not None
    )


def _place(register: RegisterSpec) -> str:
    return register.municipality.name if register.municipality else register.name


def _catalogue(topology: Topology) -> str:
    parts = []
    for spec in sorted(topology.evidence_types, key=lambda s: s.name):
        if spec.regional:
            parts.append(
                f"{spec.name} (regional: region={', '.join(_served_regions(topology, spec))})"
            )
        else:
            parts.append(f"{spec.name} (nationwide)")
    return "; ".join(parts)


def find_evidence_type(topology: Topology, asked: str) -> EvidenceTypeSpec:
    """The evidence type named by short name, classification URI or identifier UUID.

    Unknown → :class:`RouteNotFound` listing what exists, with the closest name to a typo.
    """
    for spec in topology.evidence_types:
        if asked in (spec.name, spec.classification, str(spec.identifier)):
            return spec
    try:
        as_uuid = UUID(asked)
    except ValueError:
        as_uuid = None
    for spec in topology.evidence_types:
        if spec.name.casefold() == asked.casefold() or spec.identifier == as_uuid:
            return spec
    names = [spec.name for spec in topology.evidence_types]
    close = difflib.get_close_matches(asked, names, n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise RouteNotFound(
        f"No evidence type {asked!r} is registered in the RDN.{hint} "
        f"Known evidence types: {_catalogue(topology)}."
    )


def find_services(
    topology: Topology,
    evidence_type: str | None,
    region: str | None = None,
    *,
    tls: bool = False,
) -> DirectoryAnswer:
    """The providers responsible for ``evidence_type`` in ``region`` (pure; reads the topology).

    Raises :class:`InvalidInput` for a missing evidence type or a malformed region, and
    :class:`RouteNotFound` when nothing is responsible; both messages name what exists.
    """
    if not evidence_type or not evidence_type.strip():
        raise InvalidInput(
            "Give the evidence type: /rdn/v1/services?evidenceType=<name>[&region=<AGS>]. "
            f"Known evidence types: {_catalogue(topology)}."
        )
    spec = find_evidence_type(topology, evidence_type.strip())
    region = region.strip() if region and region.strip() else None
    if region is not None and not _AGS.fullmatch(region):
        raise InvalidInput(
            f"region {region!r} is not an Amtlicher Gemeindeschlüssel (8 digits, the first two "
            "a Land 01-16), e.g. region=08118079 for Korntal-Münchingen."
        )
    note = None
    if spec.regional:
        served = _served_regions(topology, spec)
        if region is None:
            raise RouteNotFound(
                f"{spec.name} is regional: it is answered by the register of the municipality. "
                f"Give region=<AGS>. {spec.name} is served for: {', '.join(served)}."
            )
        providers = topology.service_providers(spec.name, region)
        if not providers:
            raise RouteNotFound(
                f"No register answers {spec.name} for region {region}. "
                f"{spec.name} is served for: {', '.join(served)}."
            )
    else:
        # The IP is the provider of the EU evidence types (use case 4).
        providers = topology.service_providers(spec.name)
        if region is not None:
            note = f"{spec.name} is nationwide: the region was not needed."
        if not providers:  # the topology refuses such a file; kept for a hand-built one
            raise RouteNotFound(f"No register provides {spec.name} in this landscape.")
    services = tuple(_entry(topology, r, spec, tls=tls) for r in providers)
    return DirectoryAnswer(spec, region, services, note)


def _entry(
    topology: Topology,
    register: RegisterSpec | IntermediaryPlatformSpec,
    spec: EvidenceTypeSpec,
    *,
    tls: bool,
) -> ServiceEntry:
    sak_id = topology.sak_id(register.participant_id)
    regional = register if isinstance(register, RegisterSpec) else None
    return ServiceEntry(
        participant_id=register.participant_id,
        name=register.name,
        area=register.area,
        region=regional.region if regional else None,
        municipality=(regional.municipality.name if regional and regional.municipality else None),
        service_id=topology.service_id(register.participant_id, spec.name),
        sak_id=sak_id,
        sak_url=topology.base_url(sak_id, tls=tls),
        evidence_type=spec.name,
    )


def resolve_service(topology: Topology, service_id: str, *, tls: bool = False) -> ServiceEntry:
    """The connection parameters of one service id; :class:`RouteNotFound` naming the services
    of the participant it seems to name, if any."""
    try:
        register, spec = topology.resolve_service(service_id)
    except RouteNotFound:
        known = sorted(
            topology.service_id(r.participant_id, name)
            for r in topology.registers
            if service_id.startswith(topology.service_id(r.participant_id, ""))
            for name in r.evidence_types
        )
        hint = f" Services of that provider: {', '.join(known)}." if known else ""
        raise RouteNotFound(f"The RDN knows no service {service_id!r}.{hint}") from None
    return _entry(topology, register, spec, tls=tls)


router = APIRouter(prefix="/rdn/v1", tags=["RDN"])


@router.get("/services")
def services(
    context: Context,
    evidence_type: Annotated[str | None, Query(alias="evidenceType", max_length=512)] = None,
    region: Annotated[str | None, Query(max_length=64)] = None,
) -> JSONResponse:
    """The data providers responsible for an evidence type (and region)."""
    try:
        answer = find_services(context.topology, evidence_type, region, tls=context.settings.tls)
    except NootsError as exc:
        return problem(
            exc, component="rdn", asked={"evidenceType": evidence_type, "region": region}
        )
    return JSONResponse(answer.to_json())


@router.get("/services/{service_id:path}")
def service(context: Context, service_id: str) -> JSONResponse:
    """The connection parameters of one service id (provider, its SAK, evidence type)."""
    try:
        entry = resolve_service(context.topology, service_id, tls=context.settings.tls)
    except NootsError as exc:
        return problem(exc, component="rdn", asked={"serviceId": service_id})
    return JSONResponse(entry.to_json())


@router.get("/evidence-types")
def evidence_types(context: Context) -> JSONResponse:
    """Every evidence type the RDN knows, with the regions a regional one is served for."""
    topology = context.topology
    return JSONResponse(
        {
            "evidenceTypes": [
                {
                    **_type_json(spec),
                    "providers": [
                        {
                            "participantId": r.participant_id,
                            "name": r.name,
                            "region": r.region if isinstance(r, RegisterSpec) else None,
                        }
                        for r in topology.service_providers(spec.name)
                    ],
                }
                for spec in topology.evidence_types
            ]
        }
    )
