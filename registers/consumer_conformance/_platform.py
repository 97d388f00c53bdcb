"""The simulator's platform, IDA and registers in-process, behind one :class:`Gateway`.

They read the landscape's data directory (PKI, population) and topology like ``noots up``
would, but run inside the suite's process and talk to each other without sockets; only the
gateway faces the service under test.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from noots.clock import Clock
from noots.participant import load_validator
from noots.signing import XmlVerifier
from noots.testing.asgi import RoutingTransport
from noots.topology import Topology
from registers.consumer_conformance._gateway import Gateway

__all__ = ["conformance_platform"]


def _apps(
    data_dir: Path, topology: Topology, topology_path: Path, routes: RoutingTransport
) -> dict[str, Any]:
    from intermediary.app import create_app as create_platform
    from intermediary.settings import PlatformSettings
    from registers.ida import IdaSettings, create_ida_app
    from registers.settings import RegisterSettings

    common: dict[str, Any] = {"data_dir": data_dir, "topology": topology_path}

    def key(name: str) -> str:
        return topology.base_url(name).removeprefix("http://")

    apps: dict[str, Any] = {
        key("platform"): create_platform(PlatformSettings(**common), transport=routes),
        key("ida"): create_ida_app(IdaSettings(**common)),
    }
    for spec in topology.registers:
        module = importlib.import_module(f"registers.{spec.kind}")
        settings = RegisterSettings(**common, participant_id=spec.participant_id)
        apps[key(spec.participant_id)] = module.create_app(settings)
    return apps


@contextlib.asynccontextmanager
async def conformance_platform(
    data_dir: Path,
    topology: Topology,
    topology_path: Path,
    *,
    consumer: str,
    clock: Clock,
    async_delay: timedelta = timedelta(seconds=1.5),
) -> AsyncIterator[Gateway]:
    """Start the in-process platform and registers; yield the gateway in front of them."""
    routes = RoutingTransport()
    apps = _apps(data_dir, topology, topology_path, routes)
    async with contextlib.AsyncExitStack() as stack:
        for address, app in apps.items():
            await stack.enter_async_context(app.router.lifespan_context(app))
            routes.add(address, httpx.ASGITransport(app=app))
        gateway = Gateway(
            topology,
            data_dir / "pki",
            consumer=consumer,
            clock=clock,
            upstream=routes,
            verifier=XmlVerifier(load_validator(data_dir / "pki", clock=clock)),
            async_delay=async_delay,
        )
        try:
            yield gateway
        finally:
            await gateway.aclose()
