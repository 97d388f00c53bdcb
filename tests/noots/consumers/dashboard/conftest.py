"""Fixtures of the dashboard tests: the dashboard wired in-process to the whole landscape."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from noots import messages, trace
from noots.access import AccessTokenSource
from noots.clock import SystemClock
from noots.conformance.requests import RequestFactory
from noots.consumers.dashboard import DashboardSettings, create_app, operator_token
from noots.consumers.dashboard.sink import HttpTraceSink, landscape_reporting
from noots.participant import load_credential
from noots.synthetic.identities import identity
from noots.testing.asgi import RoutingTransport
from noots.testing.dashboard import ServedDashboard, serve_dashboard
from noots.testing.landscape import Landscape, landscape_in_process

KBA = "991-01234ZFZR-41"
BPA = "08118079-BPA-87"
MELDE_KORNTAL = "08118079-MELD-12"
ERIKA = "02476291358"


@dataclass
class WiredDashboard:
    """A dashboard app with its lifespan running, every landscape app reachable in-process.

    ``client`` is logged in as the operator (cookie and CSRF header), ``anonymous`` is not.
    """

    app: Any
    client: httpx.AsyncClient
    anonymous: httpx.AsyncClient
    landscape: Landscape
    routes: RoutingTransport
    #: Headers that authenticate a landscape component at the collector.
    reporting: Callable[[str], Mapping[str, str]]

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
    landscape: Landscape,
    *,
    registers: Iterable[str] | None = None,
    event_authenticator: Any = None,
    **settings: Any,
) -> AsyncIterator[WiredDashboard]:
    """The landscape's apps and the dashboard, wired through ASGI transports (no sockets);
    ``settings`` override the dashboard's settings."""
    async with landscape_in_process(landscape.data_dir, registers=registers, consumers=False) as (
        wired,
        routes,
    ):
        options: dict[str, Any] = {
            **wired.settings_overrides,
            "admin_token": SecretStr(wired.admin_token),
            **settings,
        }
        configured = DashboardSettings(**options)
        app = create_app(configured, transport=routes, event_authenticator=event_authenticator)
        async with app.router.lifespan_context(app):
            address = wired.url("dashboard").removeprefix("http://")
            routes.add(address, httpx.ASGITransport(app=app))
            # A Secure cookie (tls=True) goes only to an https URL, whatever carries it.
            base_url = wired.url("dashboard").replace(
                "http:", "https:" if configured.tls else "http:"
            )
            async with (
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url=base_url
                ) as client,
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url=base_url
                ) as anonymous,
            ):
                await log_in(client, operator_token(configured))
                reporting = landscape_reporting(configured)
                yield WiredDashboard(app, client, anonymous, wired, routes, reporting)


async def log_in(client: httpx.AsyncClient, token: str) -> None:
    """Log ``client`` in as the operator, as the one-click link does; CSRF header set."""
    answer = await client.post("/login", data={"token": token, "next": "/ablauf"})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/ablauf"
    session = await client.get("/api/v1/session")
    assert session.status_code == 200, session.text
    client.headers["X-CSRF-Token"] = session.json()["csrf"]


@pytest.fixture(scope="session")
def served_dashboard(landscape: Landscape) -> Iterator[ServedDashboard]:
    """The dashboard on the topology's dashboard address, beside the served landscape."""
    with serve_dashboard(landscape, trace_landscape=False) as served:
        yield served


@pytest.fixture(scope="module")
def traced(served_dashboard: ServedDashboard) -> Iterator[ServedDashboard]:
    """For one module: the landscape's components (threads of this process) report their hops
    to the served dashboard over HTTP, as the processes of `noots up` do."""
    sink = HttpTraceSink(
        served_dashboard.url + "/events/v1", authorization=served_dashboard.reporting
    )
    previous = trace.install(sink)
    try:
        yield served_dashboard
    finally:
        trace.install(previous)
        sink.close()


def fetch_through_sak(landscape: Landscape) -> tuple[str, int]:
    """The Bewohnerparkausweis service asks its SAK for Erika's Fahrzeughalterauskunft
    (consumer API, IAM access token), as an online service connected to NOOTS does; the
    request id and the HTTP status of the answer."""
    topology, pki_dir = landscape.topology, landscape.data_dir / "pki"
    clock = SystemClock()
    erika = identity(ERIKA)
    assert erika is not None
    request = RequestFactory.from_pki_dir(pki_dir, topology, clock=clock).request(
        consumer=BPA,
        provider=KBA,
        evidence_type="Fahrzeughalterauskunft",
        subject=messages.NaturalPerson(
            erika.family_name, erika.given_names, erika.date_of_birth, erika.idnr
        ),
    )

    async def submit() -> int:
        async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
            token = AccessTokenSource(
                load_credential(pki_dir, BPA),
                iam_url=topology.base_url("platform"),
                iam_id=topology.platform.iam_id,
                clock=clock,
                http=http,
            )
            answer = await http.post(
                topology.base_url(topology.sak_id(BPA)) + "/consumer/v1/requests",
                content=messages.to_bytes(request),
                headers={
                    "Content-Type": "application/xml",
                    **await token.authorization(topology.sak_id(BPA)),
                    "Noots-Purpose": "Bewohnerparkausweis",
                    "Noots-Service-Id": topology.service_id(KBA, "Fahrzeughalterauskunft"),
                },
            )
            return answer.status_code

    # Playwright's sync API runs an event loop in this thread: the client gets its own.
    with ThreadPoolExecutor(1) as worker:
        return str(request.request_id), worker.submit(asyncio.run, submit()).result(timeout=60)
