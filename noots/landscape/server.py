"""Run one component of the landscape as a server process (``noots serve COMPONENT``).

The component's app comes from its owner's ``create_app(settings)``
(:func:`create_component_app`: the one place that builds every component's app from its
kind); it listens on the
topology's host and port (or ``listen_host``, e.g. ``0.0.0.0`` in a container) with uvicorn on
uvloop and httptools. With ``tls`` it serves HTTPS with its participant's certificate, asks for
client certificates (:mod:`noots.tls`), and its outgoing calls present its own certificate.
SIGINT and SIGTERM shut it down gracefully (uvicorn's handlers).
"""

from __future__ import annotations

import gc
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from noots.components import DASHBOARD_MODULE, Component, landscape_components
from noots.errors import ConfigurationError
from noots.settings import NootsSettings, load_settings

__all__ = [
    "ServerPlan",
    "WorkerThreads",
    "build_app",
    "create_component_app",
    "find_component",
    "install_trace_sink",
    "plan_server",
    "run_server",
    "server_config",
]

#: Where the components report their hops (the dashboard's collector); set by ``noots up``.
TRACE_URL_VARIABLE = "NOOTS_TRACE_URL"
#: Seconds uvicorn waits for open requests after SIGTERM before it closes them.
GRACEFUL_SHUTDOWN_SECONDS = 5
#: How long a server keeps an idle connection, and how long a client reuses one. The server
#: must outlast the client: a client reusing a connection the server closes at that very
#: moment loses the request (a POST is not retried), which uvicorn's 5 s against httpx's 5 s
#: made happen after every idle pause of about five seconds.
SERVER_KEEP_ALIVE_SECONDS = 30
CLIENT_KEEP_ALIVE_SECONDS = 4


def find_component(components: list[Component], name: str) -> Component:
    for component in components:
        if component.name == name:
            return component
    raise ConfigurationError(
        f"no component {name!r} in this landscape; components: "
        + ", ".join(c.name for c in components)
    )


@dataclass(frozen=True)
class ServerPlan:
    """What :func:`run_server` will start: the component, where, and how."""

    component: Component
    settings: NootsSettings
    overrides: Mapping[str, Any]
    listen_host: str

    @property
    def tls(self) -> bool:
        return self.settings.tls


def plan_server(
    name: str, overrides: Mapping[str, Any], *, listen_host: str | None = None
) -> ServerPlan:
    """Resolve ``name`` against the topology the settings name (raises ``ConfigurationError``)."""
    settings = load_settings(NootsSettings, **overrides)
    topology = settings.load_topology()
    component = find_component(landscape_components(topology, dashboard=True), name)
    return ServerPlan(component, settings, dict(overrides), listen_host or component.host)


def build_app(plan: ServerPlan) -> Any:
    """The component's app, wrapped for TLS when the plan says so."""
    import httpx

    from noots.http import ShardedTransport
    from noots.participant import load_validator
    from noots.tls import TlsFiles, TlsPeerMiddleware, client_context

    component, settings = plan.component, plan.settings
    verify: Any = True
    if plan.tls:
        files = TlsFiles.for_participant(settings.data_dir / "pki", component.participant_id)
        verify = client_context(files)
    # Outgoing calls (a SAK's to other SAKs and its register, an online service's to its SAK)
    # go over a few small keep-alive pools: one pool's bookkeeping grows with the square of
    # its connections (noots.http). 8 pools × 8 idle connections keep 64 alive, as one pool did.
    transport = ShardedTransport(
        limits=httpx.Limits(
            max_connections=None,
            max_keepalive_connections=8,
            keepalive_expiry=CLIENT_KEEP_ALIVE_SECONDS,
        ),
        verify=verify,
    )
    if settings.trace_url is not None and component.kind != "dashboard":
        # Every component reports its hops to the dashboard (which traces its own pilots).
        from noots.consumers.dashboard.sink import install_http_sink

        install_http_sink(settings.trace_url, verify=verify, settings=settings)
    # A SAK makes its own connections (its hot path on aiohttp, noots.intermediary.sak._network).
    outgoing = None if component.kind == "sak" else transport
    app = create_component_app(component, plan.overrides, transport=outgoing)
    if plan.tls:
        validator = load_validator(settings.data_dir / "pki", clock=settings.clock())
        app = TlsPeerMiddleware(app, validator)
    return WorkerThreads(app, settings.worker_threads)


class WorkerThreads:
    """ASGI wrapper that caps the worker threads of the server's event loop at ``tokens`` (and
    freezes what start-up allocated, see below).

    The SAKs and the registers check and sign on the event loop and send only what waits
    (the protocol log's fsync or database) to ``run_in_threadpool``; other steps (the VS,
    the RDN, the pages) still run there whole. Its default limit is 40 threads, and with 32
    requests in flight 32 threads would take turns on one interpreter lock, which costs CPU
    and stretches every request's latency. A few threads keep the waits overlapping, and
    the other requests wait their turn in the event loop instead.
    """

    def __init__(self, app: Any, tokens: int) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        import anyio.to_thread

        # anyio keeps one default limiter per event loop; lifespan runs on the server's.
        anyio.to_thread.current_default_thread_limiter().total_tokens = self.tokens

        async def started(message: Any) -> None:
            if message.get("type") == "lifespan.startup.complete":
                # What start-up built (apps, keys, schemas, topology) lives as long as the
                # server: out of the collector's sight it is not re-scanned on every sweep.
                gc.freeze()
            await send(message)

        await self.app(scope, receive, started)


def server_config(plan: ServerPlan) -> Any:
    """The ``uvicorn.Config`` of the plan: uvloop, httptools, HTTPS when the plan says so."""
    import uvicorn

    from noots.tls import TlsFiles, uvicorn_tls_options

    component, settings = plan.component, plan.settings
    options: dict[str, Any] = {"http": "httptools"}
    if plan.tls:
        files = TlsFiles.for_participant(settings.data_dir / "pki", component.participant_id)
        options = uvicorn_tls_options(files, client_certificates=component.client_certificates)
    return uvicorn.Config(
        build_app(plan),
        host=plan.listen_host,
        port=component.port,
        loop="uvloop",
        lifespan="on",
        log_level=settings.log_level.lower(),
        access_log=settings.log_level == "DEBUG",
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        timeout_keep_alive=SERVER_KEEP_ALIVE_SECONDS,
        **options,
    )


def install_trace_sink(plan: ServerPlan, url: str | None) -> bool:
    """Report this component's hops to the dashboard's collector at ``url`` (``noots up`` sets
    ``NOOTS_TRACE_URL``); False when there is no URL or no dashboard package."""
    from noots.components import dashboard_available

    if not url or not dashboard_available():
        return False
    from noots.consumers.dashboard.sink import install_http_sink

    verify: Any = True
    if plan.tls:
        from noots.tls import TlsFiles, client_context

        files = TlsFiles.for_participant(
            plan.settings.data_dir / "pki", plan.component.participant_id
        )
        verify = client_context(files)
    install_http_sink(url, verify=verify, settings=plan.settings)
    return True


def run_server(plan: ServerPlan) -> None:
    """Serve until SIGINT or SIGTERM."""
    import os

    import uvicorn

    install_trace_sink(plan, os.environ.get(TRACE_URL_VARIABLE))
    uvicorn.Server(server_config(plan)).run()


def create_component_app(
    component: Component,
    overrides: Mapping[str, Any],
    *,
    transport: Any = None,
) -> Any:
    """The ASGI app of ``component``; ``overrides`` go into its settings (beside ``NOOTS_*``).

    ``transport`` (an ``httpx.AsyncBaseTransport``) carries the component's outgoing calls: a
    SAK's to the platform, other SAKs and its participant, a register's or an online service's
    to its SAK and the platform (with TLS, one that presents the component's certificate). The
    platform makes none.
    """
    from noots.settings import load_settings

    common = dict(overrides)
    if component.kind == "platform":
        from noots.intermediary.app import create_app as create_platform
        from noots.intermediary.settings import PlatformSettings

        return create_platform(load_settings(PlatformSettings, **common))
    if component.kind == "ida":
        try:
            ida = importlib.import_module("noots.registers.ida")
        except ModuleNotFoundError as exc:
            raise ConfigurationError(
                "the IDA app (noots.registers.ida) is not installed in this version"
            ) from exc
        return ida.create_ida_app(load_settings(ida.IdaSettings, **common))
    if component.kind == "register":
        from noots.registers.settings import RegisterSettings

        register = load_settings(RegisterSettings, participant_id=component.name, **common)
        kind = register.register_spec(register.load_topology()).kind
        module = importlib.import_module(f"noots.registers.{kind}")
        return module.create_app(register, transport=transport)
    if component.kind == "sak":
        from noots.intermediary.sak import SakSettings
        from noots.intermediary.sak import create_app as create_sak

        served = component.name.removesuffix(".sak")
        sak = load_settings(SakSettings, participant_id=served, **common)
        return create_sak(sak, transport=transport)
    if component.kind == "ip":
        from noots.intermediary.ip.landscape import IpLandscapeSettings, create_landscape_app

        return create_landscape_app(
            load_settings(IpLandscapeSettings, **common), transport=transport
        )
    if component.kind in ("eu-common-services", "eu-provider", "eu-requester"):
        from noots.intermediary.eu.landscape import EuLandscapeSettings
        from noots.intermediary.eu.landscape import create_app as create_eu

        eu_settings = load_settings(EuLandscapeSettings, **common)
        if component.kind == "eu-common-services":
            return create_eu("common-services", eu_settings, transport=transport)
        if component.kind == "eu-provider":
            return create_eu("provider", eu_settings, transport=transport)
        return create_eu("requester", eu_settings, transport=transport)
    if component.kind == "consumer":
        from noots.consumers.demo import DemoSettings
        from noots.consumers.demo import create_app as create_demo

        demo = load_settings(DemoSettings, consumer_id=component.name, **common)
        return create_demo(demo, transport=transport)
    dashboard = importlib.import_module(DASHBOARD_MODULE)
    return dashboard.create_app(load_settings(dashboard.DashboardSettings, **common))
