"""Fixtures of the dashboard tests: the dashboard wired in-process to the whole landscape."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from consumers.dashboard import DashboardSettings, create_app
from consumers.dashboard.sink import HttpTraceSink
from noots import trace
from noots.testing.asgi import RoutingTransport
from noots.testing.dashboard import ServedDashboard, serve_dashboard
from noots.testing.landscape import Landscape, landscape_in_process

KBA = "991-01234ZFZR-41"
MELDE_KORNTAL = "08118079-MELD-12"
ERIKA = "02476291358"


@dataclass
class WiredDashboard:
    """A dashboard app with its lifespan running, every landscape app reachable in-process."""

    app: Any
    client: httpx.AsyncClient
    landscape: Landscape
    routes: RoutingTransport

    @property
    def runner(self) -> Any:
        return self.app.state.dashboard.runner

    async def run_pilot(self, pilot: str, idnr: str, *, via_ida: bool = True) -> dict[str, Any]:
        """Start a pilot through the API and wait until it has finished."""
        started = await self.client.post(
            "/api/v1/runs", json={"pilot": pilot, "idnr": idnr, "viaIda": via_ida}
        )
        assert started.status_code == 202, started.text
        run_id = started.json()["runId"]
        await self.runner.wait(run_id, timeout=60)
        answer = await self.client.get(f"/api/v1/runs/{run_id}")
        run: dict[str, Any] = answer.json()
        return run

    async def flow_events(self) -> list[dict[str, Any]]:
        notices = (await self.client.get("/events/v1", params={"after": 0})).json()["notices"]
        return [n["data"] for n in notices if n["kind"] == "flow"]


@contextlib.asynccontextmanager
async def wired_dashboard(
    landscape: Landscape, *, registers: Iterable[str] | None = None, **settings: Any
) -> AsyncIterator[WiredDashboard]:
    """The landscape's apps and the dashboard, wired through ASGI transports (no sockets)."""
    async with landscape_in_process(landscape.data_dir, registers=registers, consumers=False) as (
        wired,
        routes,
    ):
        options: dict[str, Any] = {
            **wired.settings_overrides,
            "admin_token": SecretStr(wired.admin_token),
            **settings,
        }
        app = create_app(DashboardSettings(**options), transport=routes)
        async with app.router.lifespan_context(app):
            address = wired.url("dashboard").removeprefix("http://")
            routes.add(address, httpx.ASGITransport(app=app))
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=wired.url("dashboard")
            ) as client:
                yield WiredDashboard(app, client, wired, routes)


@pytest.fixture(scope="session")
def served_dashboard(landscape: Landscape) -> Iterator[ServedDashboard]:
    """The dashboard on the topology's dashboard address, beside the served landscape."""
    with serve_dashboard(landscape, trace_landscape=False) as served:
        yield served


@pytest.fixture(scope="module")
def traced(served_dashboard: ServedDashboard) -> Iterator[ServedDashboard]:
    """For one module: the landscape's components (threads of this process) report their hops
    to the served dashboard over HTTP, as the processes of `noots up` do."""
    sink = HttpTraceSink(served_dashboard.url + "/events/v1")
    previous = trace.install(sink)
    try:
        yield served_dashboard
    finally:
        trace.install(previous)
        sink.close()
