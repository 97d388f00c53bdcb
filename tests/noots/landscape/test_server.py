"""noots.landscape.server: what every ``noots serve`` process gets (worker thread cap, pooled
clients)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from noots.bootstrap import bootstrap_landscape
from noots.http import ShardedTransport
from noots.landscape import server
from noots.landscape.server import WorkerThreads, build_app, plan_server, server_config
from noots.pki import KeyType
from noots.testing.landscape import write_topology
from noots.testing.servers import serving
from noots.topology import load_topology


def _tokens_app() -> Starlette:
    async def tokens(_request: Request) -> PlainTextResponse:
        limiter = anyio.to_thread.current_default_thread_limiter()
        return PlainTextResponse(str(limiter.total_tokens))

    return Starlette(routes=[Route("/tokens", tokens)])


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    """The servers here run in the test process: undo their gc.freeze() afterwards."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_start_up_objects_are_frozen_once_the_server_started() -> None:
    """After lifespan start-up the objects alive so far are out of the collector's sweeps."""
    with serving(WorkerThreads(_tokens_app(), 2)) as url:
        assert httpx.get(url + "/tokens").status_code == 200
        assert gc.get_freeze_count() > 0


def test_worker_threads_caps_the_servers_thread_limiter() -> None:
    """Behind WorkerThreads, blocking steps of the served app share ``tokens`` threads."""
    with serving(WorkerThreads(_tokens_app(), 3)) as url:
        assert httpx.get(url + "/tokens").text == "3"


def test_without_the_wrapper_anyio_keeps_its_default() -> None:
    """The cap is the wrapper's doing: a bare app sees anyio's default of 40."""
    with serving(_tokens_app()) as url:
        assert httpx.get(url + "/tokens").text == "40"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("served")
    topology = load_topology(write_topology(directory))
    # ECDSA keys: a whole landscape's credentials in well under a second.
    bootstrap_landscape(directory, topology, people=50, seed=1, key_type=KeyType.ECDSA_P256)
    return directory


def test_served_components_get_sharded_pools_and_the_thread_cap(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """build_app hands every component a ShardedTransport and wraps it in WorkerThreads with
    the settings' worker_threads."""
    seen: dict[str, Any] = {}

    def fake_create(component: Any, overrides: Any, *, transport: Any = None) -> Any:
        seen[component.name] = transport
        return _tokens_app()

    monkeypatch.setattr(server, "create_component_app", fake_create)
    overrides = {"data_dir": data_dir, "topology": data_dir / "landscape.yaml", "worker_threads": 6}
    for name in ("platform", "991-01234ZFZR-41"):
        app = build_app(plan_server(name, overrides))
        assert isinstance(app, WorkerThreads)
        assert app.tokens == 6
        assert isinstance(seen[name], ShardedTransport)


def test_servers_keep_idle_connections_longer_than_clients_reuse_them(data_dir: Path) -> None:
    """uvicorn keeps idle connections longer than httpx (default and noots serve's pools) reuses
    them, so no request goes out on a connection the server is closing."""
    config = server_config(
        plan_server("platform", {"data_dir": data_dir, "topology": data_dir / "landscape.yaml"})
    )
    assert config.timeout_keep_alive > httpx.Limits().keepalive_expiry  # type: ignore[operator]
    assert config.timeout_keep_alive > server.CLIENT_KEEP_ALIVE_SECONDS
