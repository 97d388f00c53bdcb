"""A whole landscape for end-to-end tests: platform, IDA, registers and demo services.

Two ways to run it, over one data directory bootstrapped with
:func:`noots.bootstrap.bootstrap_landscape`:

- :func:`serve_landscape` starts every component as a real uvicorn server on a free loopback
  port, each in its own thread, and rewrites the topology to those ports (the file is written
  into the data directory, so every component and the test read the same addresses);
- :func:`landscape_in_process` wires the same apps together with ``httpx.ASGITransport``
  (no sockets) and yields a :class:`~noots.testing.asgi.RoutingTransport` that reaches each of
  them under its topology address.

::

    with serve_landscape(tmp_path) as landscape:
        httpx.get(landscape.url("platform") + "/health")
        landscape.settings_overrides   # data_dir and topology for NootsSettings / CLI options
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import SecretStr

from noots.bootstrap import bootstrap_landscape
from noots.testing.asgi import RoutingTransport
from noots.topology import DEFAULT_TOPOLOGY_PATH, Topology, load_topology

__all__ = [
    "Landscape",
    "bootstrap",
    "free_port",
    "landscape_in_process",
    "serve_landscape",
    "write_topology",
]

DEFAULT_PEOPLE = 300
DEFAULT_SEED = 20261122
ADMIN_TOKEN = "noots-test-admin"  # noqa: S105 - a test landscape's admin token, not a secret


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def write_topology(
    data_dir: Path, *, source: Path = DEFAULT_TOPOLOGY_PATH, host: str = "127.0.0.1"
) -> Path:
    """Copy ``source`` into ``data_dir/landscape.yaml`` with every port replaced by a free one."""
    data: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8"))
    data["host"] = host
    for section in ("platform", "ida", "dashboard"):
        data[section]["port"] = free_port(host)
        data[section].pop("host", None)
    for section in ("registers", "consumers"):
        for entry in data.get(section) or []:
            entry["port"] = free_port(host)
            entry.pop("host", None)
    target = data_dir / "landscape.yaml"
    target.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def bootstrap(
    data_dir: Path,
    *,
    source: Path = DEFAULT_TOPOLOGY_PATH,
    people: int = DEFAULT_PEOPLE,
    seed: int = DEFAULT_SEED,
) -> Topology:
    """A data directory ready to run: topology on free ports, PKI, population (idempotent)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "landscape.yaml"
    if not path.exists():
        write_topology(data_dir, source=source)
    topology = load_topology(path)
    bootstrap_landscape(data_dir, topology, people=people, seed=seed)
    return topology


@dataclass
class Landscape:
    """A running (or wired) landscape: its data directory, topology and addresses."""

    data_dir: Path
    topology: Topology
    topology_path: Path
    admin_token: str = ADMIN_TOKEN
    apps: dict[str, Any] = field(default_factory=dict)

    def url(self, participant_or_component: str) -> str:
        """Base URL of ``platform``, ``ida``, ``dashboard`` or any participant id."""
        return self.topology.base_url(participant_or_component)

    @property
    def settings_overrides(self) -> dict[str, Any]:
        """``data_dir`` and ``topology`` for any :class:`~noots.settings.NootsSettings`."""
        return {"data_dir": self.data_dir, "topology": self.topology_path}

    def consumer(self, kind: str) -> str:
        """The participant id of the demo service of ``kind`` (e.g. ``bewohnerparkausweis``)."""
        for spec in self.topology.consumers:
            if spec.kind == kind:
                return spec.participant_id
        raise KeyError(kind)


def _apps(
    landscape: Landscape,
    *,
    transport: Any,
    registers: Iterable[str] | None,
    consumers: bool,
    ida: bool,
) -> dict[str, Any]:
    """Every app of the landscape by its topology address key (``host:port``)."""
    from consumers.demo import DemoSettings
    from consumers.demo import create_app as create_demo
    from intermediary.app import create_app as create_platform
    from intermediary.settings import PlatformSettings
    from registers._service import create_register_app
    from registers.ida import IdaSettings, create_ida_app
    from registers.settings import RegisterSettings

    topology, common = landscape.topology, landscape.settings_overrides
    apps: dict[str, Any] = {}

    def key(name: str) -> str:
        return landscape.url(name).removeprefix("http://")

    apps[key("platform")] = create_platform(
        PlatformSettings(**common, admin_token=SecretStr(landscape.admin_token)),
        transport=transport,
    )
    if ida:
        apps[key("ida")] = create_ida_app(IdaSettings(**common))
    wanted = None if registers is None else set(registers)
    for spec in topology.registers:
        if wanted is None or spec.participant_id in wanted:
            settings = RegisterSettings(
                **common,
                participant_id=spec.participant_id,
                admin_token=SecretStr(landscape.admin_token),
            )
            apps[key(spec.participant_id)] = create_register_app(settings)
    if consumers:
        for consumer in topology.consumers:
            demo = DemoSettings(
                **common,
                consumer_id=consumer.participant_id,
                session_secret=secrets.token_hex(16),
            )
            apps[key(consumer.participant_id)] = create_demo(demo, transport=transport)
    return apps


@contextlib.contextmanager
def serve_landscape(
    data_dir: Path,
    *,
    source: Path = DEFAULT_TOPOLOGY_PATH,
    people: int = DEFAULT_PEOPLE,
    seed: int = DEFAULT_SEED,
    registers: Iterable[str] | None = None,
    consumers: bool = True,
    ida: bool = True,
    start_timeout: float = 30.0,
) -> Iterator[Landscape]:
    """Run the landscape on real loopback sockets, one uvicorn server per component."""
    import uvicorn

    topology = bootstrap(data_dir, source=source, people=people, seed=seed)
    landscape = Landscape(data_dir, topology, data_dir / "landscape.yaml")
    landscape.apps = _apps(
        landscape, transport=None, registers=registers, consumers=consumers, ida=ida
    )
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []
    try:
        for address, app in landscape.apps.items():
            host, _, port = address.rpartition(":")
            config = uvicorn.Config(
                app, host=host, port=int(port), log_level="warning", lifespan="on"
            )
            server = uvicorn.Server(config)
            # uvicorn installs signal handlers only in the main thread; a thread is quiet.
            thread = threading.Thread(target=server.run, name=f"noots-{address}", daemon=True)
            thread.start()
            servers.append((server, thread))
        deadline = time.monotonic() + start_timeout
        for server, thread in servers:
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError(f"{thread.name} did not start")
                time.sleep(0.02)
        yield landscape
    finally:
        for server, _thread in servers:
            server.should_exit = True
        for _server, thread in servers:
            thread.join(timeout=10)


@contextlib.asynccontextmanager
async def landscape_in_process(
    data_dir: Path,
    *,
    source: Path = DEFAULT_TOPOLOGY_PATH,
    people: int = DEFAULT_PEOPLE,
    seed: int = DEFAULT_SEED,
    registers: Iterable[str] | None = None,
    consumers: bool = True,
    ida: bool = True,
) -> AsyncIterator[tuple[Landscape, RoutingTransport]]:
    """The landscape's apps wired through ``httpx.ASGITransport``, lifespans running."""
    import httpx

    topology = bootstrap(data_dir, source=source, people=people, seed=seed)
    landscape = Landscape(data_dir, topology, data_dir / "landscape.yaml")
    routes = RoutingTransport()
    landscape.apps = _apps(
        landscape, transport=routes, registers=registers, consumers=consumers, ida=ida
    )
    async with contextlib.AsyncExitStack() as stack:
        for address, app in landscape.apps.items():
            await stack.enter_async_context(app.router.lifespan_context(app))
            routes.add(address, httpx.ASGITransport(app=app))
        yield landscape, routes
