"""The simulated EU side as processes of the landscape (``noots up``, compose).

Three components, each its own process, configured from the topology's ``eu`` section:

- ``eu-common-services``: the Evidence Broker and the Data Service Directory, their catalogue
  naming the landscape's IP (and its access point) as Germany's data service;
- the member-state provider (``eu.provider``, Universität Wien): its access point and preview
  space;
- the member-state requester (``eu.requester``, Mairie de Lyon): a small JSON service that
  asks the German IP for a Geburtsurkunde (the dashboard's use case 3 pilot drives it).

Their settings are the landscape's (``NOOTS_*``) plus ``NOOTS_EU_ANSWER_DELAY_SECONDS`` (the
provider delays every answer, to show a member state that is too slow) and
``NOOTS_EU_TIMEOUT_SECONDS``.
"""

from __future__ import annotations

from typing import Any, Literal

import httpx
from fastapi import FastAPI
from pydantic import Field

from noots.errors import ConfigurationError
from noots.eu.edm import EdmAgent
from noots.intermediary.eu import common, provider, requester
from noots.intermediary.eu.catalogue import GERMAN_IP, default_catalogue
from noots.settings import NootsSettings
from noots.topology import EU_COMMON_SERVICES, EuSpec, IntermediaryPlatformSpec, Topology

__all__ = ["EuLandscapeSettings", "EuPart", "access_points", "create_app", "eu_parts"]

EuPart = Literal["common-services", "provider", "requester"]


class EuLandscapeSettings(NootsSettings):
    """The landscape's settings and the EU side's own (``NOOTS_EU_*``)."""

    eu_answer_delay_seconds: float = Field(
        default=0.0, ge=0, description="The member-state provider delays every answer this long."
    )
    eu_timeout_seconds: float = Field(
        default=30.0, gt=0, description="How long the member-state requester waits for the IP."
    )


def eu_parts(topology: Topology) -> tuple[IntermediaryPlatformSpec, EuSpec]:
    """The IP and the EU section; :class:`ConfigurationError` when the topology has none."""
    ip, eu = topology.intermediary_platform, topology.eu
    if ip is None or eu is None:
        raise ConfigurationError(
            "this landscape simulates no EU side (no `intermediary_platform` and `eu` sections)"
        )
    return ip, eu


def access_points(topology: Topology, *, tls: bool) -> dict[str, str]:
    """Simulated eDelivery discovery: every access point of the landscape → its base URL (the
    IP's access point is served under ``/ip/v1``)."""
    ip, eu = eu_parts(topology)
    return {
        ip.access_point: topology.base_url(ip.participant_id, tls=tls) + "/ip/v1",
        eu.provider.participant_id: topology.base_url(eu.provider.participant_id, tls=tls),
        eu.requester.participant_id: topology.base_url(eu.requester.participant_id, tls=tls),
    }


def german_ip(topology: Topology) -> EdmAgent:
    """The IP as the EU side knows it (EAS 0204, its participant id and name)."""
    ip, _eu = eu_parts(topology)
    return EdmAgent(ip.participant_id, GERMAN_IP.scheme_id, ip.name, name_lang="DE")


def create_app(
    part: EuPart,
    settings: EuLandscapeSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The app of one EU component of the landscape."""
    topology = settings.load_topology()
    ip, eu = eu_parts(topology)
    pki = settings.data_dir / "pki"
    tls = settings.tls
    if part == "common-services":
        return common.create_app(
            catalogue=default_catalogue(
                german_ip=german_ip(topology),
                german_gateway=ip.access_point,
                austrian_gateway=eu.provider.participant_id,
            )
        )
    if part == "provider":
        return provider.create_app(
            provider.ProviderSettings(
                pki_dir=pki,
                participant_id=eu.provider.participant_id,
                public_url=topology.base_url(eu.provider.participant_id, tls=tls),
                answer_delay_seconds=settings.eu_answer_delay_seconds,
            ),
            clock=settings.clock(),
        )
    options: dict[str, Any] = {}
    if transport is not None:
        options["transport"] = transport
    return requester.create_app(
        requester.RequesterSettings(
            pki_dir=pki,
            participant_id=eu.requester.participant_id,
            common_services_url=topology.base_url(EU_COMMON_SERVICES, tls=tls),
            access_points=access_points(topology, tls=tls),
            timeout_seconds=settings.eu_timeout_seconds,
        ),
        clock=settings.clock(),
        **options,
    )
