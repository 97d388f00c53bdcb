"""The simulator's landscape in process, behind one :class:`Gateway`.

The online service's own SAK, the platform (RDN, VS, eID, PKI), the IDA, the mock registers
and their SAKs read the landscape's data directory (PKI, population) and topology like
``noots up`` would, but run inside the suite's process and talk to each other without
sockets; only the gateway faces the online service under test.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from noots.clock import Clock
from noots.registers.consumer_conformance._gateway import Gateway
from noots.testing.asgi import RoutingTransport
from noots.topology import Topology

__all__ = ["conformance_sak"]


def _apps(
    data_dir: Path, topology: Topology, topology_path: Path, routes: RoutingTransport
) -> dict[str, Any]:
    """Every component but the online services (the one under test is outside), by address."""
    from noots.components import landscape_components
    from noots.landscape.server import create_component_app

    # In process the components talk plain HTTP through ``routes``, whatever NOOTS_TLS says.
    overrides: dict[str, Any] = {"data_dir": data_dir, "topology": topology_path, "tls": False}
    return {
        f"{component.host}:{component.port}": create_component_app(
            component, overrides, transport=routes
        )
        for component in landscape_components(topology, dashboard=False)
        if component.kind != "consumer"
    }


@contextlib.asynccontextmanager
async def conformance_sak(
    data_dir: Path,
    topology: Topology,
    topology_path: Path,
    *,
    consumer: str,
    clock: Clock,
    async_delay: timedelta = timedelta(seconds=1.5),
) -> AsyncIterator[Gateway]:
    """Start the landscape in process; yield the gateway that plays ``consumer``'s SAK."""
    routes = RoutingTransport()
    apps = _apps(data_dir, topology, topology_path, routes)
    async with contextlib.AsyncExitStack() as stack:
        for address, app in apps.items():
            await stack.enter_async_context(app.router.lifespan_context(app))
            routes.add(address, httpx.ASGITransport(app=app))
        gateway = Gateway(
            topology, consumer=consumer, clock=clock, upstream=routes, async_delay=async_delay
        )
        try:
            yield gateway
        finally:
            await gateway.aclose()
