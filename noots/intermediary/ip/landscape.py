"""The Intermediäre Plattform as a process of the landscape (``noots serve noots-ip``).

Everything comes from the topology: the IP's participant (``intermediary_platform``, role
``platform``) and its eDelivery access point (same process), its SAK (the national side:
:class:`~noots.intermediary.ip.national.SakNationalSide`, and the provider API the SAK pushes the
online services' 0401/0411 to), the EU common services and the member states' access points.
Settings: the landscape's (``NOOTS_*``) plus ``NOOTS_IP_NATIONAL_TIMEOUT_SECONDS`` (how long
the IP waits for a German register's answer before it answers ``EDM:ERR:0005``) and
``NOOTS_IP_EU_TIMEOUT_SECONDS`` (how long it waits for the EU side).
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from pydantic import Field

from noots.access import AccessTokenSource, AccessTokenVerifier
from noots.clock import Clock
from noots.intermediary.eu.landscape import access_points, eu_parts
from noots.intermediary.ip.app import IpSettings, ProviderGate, create_app
from noots.intermediary.ip.national import SakNationalSide
from noots.messages import Agent
from noots.participant import load_participant
from noots.settings import ReplaySettings
from noots.state import StateFile
from noots.topology import EU_COMMON_SERVICES

__all__ = ["IpLandscapeSettings", "create_landscape_app"]


class IpLandscapeSettings(ReplaySettings):
    """The landscape's settings, the replay window and cache of its access point (journaled
    under the state dir, like the SAKs'), and the IP's own (``NOOTS_IP_*``)."""

    ip_national_timeout_seconds: float = Field(
        default=25.0,
        gt=0,
        description=(
            "How long the IP waits for a German register's 0302/0303 through its SAK (longer "
            "than the SAKs' own waits, so a slow register is reported by its SAK)."
        ),
    )
    ip_eu_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long the IP waits for the EU side."
    )


def create_landscape_app(
    settings: IpLandscapeSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """The IP of the landscape ``settings`` name."""
    topology = settings.load_topology()
    ip, _eu = eu_parts(topology)
    tls = settings.tls
    clock = clock or settings.clock()
    pki = settings.data_dir / "pki"
    me = load_participant(pki, ip.participant_id, clock=clock)
    sak_id = topology.sak_id(ip.participant_id)
    iam_id = topology.platform.iam_id
    http = httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(None))
    national = SakNationalSide(
        platform=Agent(ip.participant_id, ip.name),
        sak_id=sak_id,
        sak_url=topology.base_url(sak_id, tls=tls),
        access_tokens=AccessTokenSource(
            me.credential,
            iam_url=topology.base_url("platform", tls=tls),
            iam_id=iam_id,
            clock=clock,
            http=http,
        ),
        http=http,
        timeout=settings.ip_national_timeout_seconds + 5,
    )
    gate = ProviderGate(
        ip.participant_id,
        sak_id,
        AccessTokenVerifier(me.validator, iam_id=iam_id, audience=ip.participant_id, clock=clock),
    )
    ip_settings = IpSettings(
        pki_dir=pki,
        participant_id=ip.access_point,
        platform_id=ip.participant_id,
        platform_name=ip.name,
        public_url=topology.base_url(ip.participant_id, tls=tls),
        common_services_url=topology.base_url(EU_COMMON_SERVICES, tls=tls),
        access_points=access_points(topology, tls=tls),
        eu_timeout_seconds=settings.ip_eu_timeout_seconds,
        replay_window_seconds=settings.replay_window_seconds,
        national_timeout_seconds=settings.ip_national_timeout_seconds,
        test=not settings.strict,
    )
    state = StateFile(settings.state_path(ip.access_point))

    async def close_state() -> None:
        state.close()

    return create_app(
        ip_settings,
        national=national,
        clock=clock,
        transport=transport,
        provider_gate=gate,
        replay=settings.replay_guard(clock, state),
        on_shutdown=(http.aclose, close_state),
    )
