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
import os
import random
import re
import secrets
import socket
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from noots.bootstrap import bootstrap_landscape
from noots.testing.asgi import RoutingTransport
from noots.topology import DEFAULT_TOPOLOGY_PATH, Topology, load_topology

__all__ = [
    "Landscape",
    "bind_free_port",
    "bootstrap",
    "free_port",
    "landscape_in_process",
    "on_free_ports",
    "serve_landscape",
    "write_topology",
]

DEFAULT_PEOPLE = 300
DEFAULT_SEED = 20261122
ADMIN_TOKEN = "noots-test-admin"  # noqa: S105 - a test landscape's admin token, not a secret


#: Where the ports for test servers start (below the OS's ephemeral range, see _port_band).
PORT_BAND_START = 10_000


def _port_band() -> range:
    """The ports a test server may get: below the OS's ephemeral range, split between the
    pytest-xdist workers.

    A port the OS hands out for ``bind(0)`` comes from the ephemeral range, where every
    outgoing connection's source port comes from too: between choosing it and the server
    binding it, another process's connection may take it (seen with two test workers:
    "address already in use"). Below that range nothing is handed out by the OS, and each
    worker has a band of its own. Empty where the range is unknown: the OS picks then.
    """
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return range(0)
    workers = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1), 1)
    worker = int(re.sub(r"\D", "", os.environ.get("PYTEST_XDIST_WORKER", "")) or 0) % workers
    size = (low - PORT_BAND_START) // workers
    if size < 500:
        return range(0)
    start = PORT_BAND_START + worker * size
    return range(start, start + size)


def bind_free_port(sock: socket.socket, host: str = "127.0.0.1") -> int:
    """Bind ``sock`` to a free port of :func:`_port_band` (else one the OS picks); the port."""
    band = _port_band()
    for _attempt in range(200 if band else 0):
        port = random.choice(band)  # noqa: S311 - spreading ports, not a secret
        try:
            sock.bind((host, port))
        except OSError:
            continue
        return port
    sock.bind((host, 0))
    return int(sock.getsockname()[1])


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (:func:`bind_free_port`)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return bind_free_port(sock, host)


def on_free_ports(data: dict[str, Any], host: str = "127.0.0.1") -> dict[str, Any]:
    """Topology ``data`` (as read from YAML) with every component, SAKs included, on a free
    port of ``host``, no two the same; changed in place and returned."""
    # The sockets stay bound until every port is chosen: a port closed at once may be handed
    # out again by the OS for the next component (seen under load: two components, one port).
    with contextlib.ExitStack() as held:

        def port() -> int:
            sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            return bind_free_port(sock, host)

        data["host"] = host
        for section in ("platform", "ida", "dashboard"):
            data[section]["port"] = port()
            data[section].pop("host", None)
        members = [*(data.get("registers") or []), *(data.get("consumers") or [])]
        if data.get("intermediary_platform"):
            members.append(data["intermediary_platform"])
        for entry in members:
            entry["port"] = port()
            entry.pop("host", None)
            entry["sak"]["port"] = port()
            entry["sak"].pop("host", None)
        for part in (data.get("eu") or {}).values():
            part["port"] = port()
            part.pop("host", None)
    return data


def write_topology(
    data_dir: Path, *, source: Path = DEFAULT_TOPOLOGY_PATH, host: str = "127.0.0.1"
) -> Path:
    """Copy ``source`` into ``data_dir/landscape.yaml`` with every port replaced by a free one."""
    data = on_free_ports(yaml.safe_load(source.read_text(encoding="utf-8")), host)
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
    """The apps of the selected components (as ``noots up`` builds them), by ``host:port``."""
    from noots.components import landscape_components
    from noots.landscape.server import create_component_app

    wanted = None if registers is None else set(registers)
    overrides = {
        **landscape.settings_overrides,
        "admin_token": landscape.admin_token,
        "session_secret": secrets.token_hex(16),
    }
    apps: dict[str, Any] = {}
    for component in landscape_components(landscape.topology, dashboard=False):
        if (
            (component.kind == "ida" and not ida)
            or (component.kind == "consumer" and not consumers)
            or (
                component.kind == "register" and wanted is not None and component.name not in wanted
            )
        ):
            continue
        app = create_component_app(component, overrides, transport=transport)
        apps[f"{component.host}:{component.port}"] = app
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
    """Run the landscape on real loopback sockets, one uvicorn server (thread) per component."""
    from noots.testing.servers import serving

    topology = bootstrap(data_dir, source=source, people=people, seed=seed)
    landscape = Landscape(data_dir, topology, data_dir / "landscape.yaml")
    landscape.apps = _apps(
        landscape, transport=None, registers=registers, consumers=consumers, ida=ida
    )
    with contextlib.ExitStack() as stack:
        for address, app in landscape.apps.items():
            host, _, port = address.rpartition(":")
            stack.enter_context(serving(app, host=host, port=int(port), timeout=start_timeout))
        yield landscape


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
