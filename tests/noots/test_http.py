"""noots.http: requests spread over several connection pools, least busy first."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response

from noots.http import ShardedTransport, async_client
from noots.testing.servers import serving


class _Body(httpx.AsyncByteStream):
    def __init__(self, data: bytes) -> None:
        self.data = data

    async def __aiter__(self):  # type: ignore[no-untyped-def]
        yield self.data


class _Gate:
    """A pool whose answers wait until the test opens the gate; it counts what it got."""

    def __init__(self, gate: asyncio.Event) -> None:
        self.gate = gate
        self.requests = 0
        self.closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        await self.gate.wait()
        # A streamed body, as a network pool returns it (an in-memory body is read at once).
        return httpx.Response(200, stream=_Body(request.url.path.encode()))

    async def aclose(self) -> None:
        self.closed = True


def _sharded(gates: list[_Gate]) -> ShardedTransport:
    return ShardedTransport(pools=gates)  # type: ignore[arg-type]


async def test_requests_go_to_the_least_busy_pool() -> None:
    """Concurrent requests are spread evenly; answers come back unchanged."""
    gate = asyncio.Event()
    pools = [_Gate(gate) for _ in range(3)]
    transport = _sharded(pools)
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        tasks = [asyncio.create_task(client.get(f"/{i}")) for i in range(6)]
        while sum(p.requests for p in pools) < 6:
            await asyncio.sleep(0)
        assert [p.requests for p in pools] == [2, 2, 2]
        assert transport.in_flight == (2, 2, 2)
        gate.set()
        answers = await asyncio.gather(*tasks)
    assert sorted(a.text for a in answers) == [f"/{i}" for i in range(6)]
    assert transport.in_flight == (0, 0, 0)


async def test_a_pool_stays_busy_until_the_body_is_closed() -> None:
    """A streamed response counts as in flight until it is closed."""
    gate = asyncio.Event()
    gate.set()
    transport = _sharded([_Gate(gate), _Gate(gate)])
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        async with client.stream("GET", "/a") as response:
            assert transport.in_flight == (1, 0)
            await response.aread()
        assert transport.in_flight == (0, 0)


async def test_an_answer_read_in_full_frees_its_pool_at_once() -> None:
    """A pool answering with an in-memory body is free again immediately."""

    class Memory(_Gate):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, content=b"done")

    transport = _sharded([Memory(asyncio.Event())])
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await client.get("http://x/")).content == b"done"
    assert transport.in_flight == (0,)


async def test_a_failed_request_frees_its_pool() -> None:
    """A pool that raises is not counted as busy afterwards."""

    class Broken(_Gate):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("down", request=request)

    transport = _sharded([Broken(asyncio.Event())])
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("http://x/")
    assert transport.in_flight == (0,)


async def test_closing_closes_every_pool() -> None:
    """aclose() closes all pools."""
    pools = [_Gate(asyncio.Event()) for _ in range(2)]
    await _sharded(pools).aclose()
    assert all(p.closed for p in pools)


def test_pools_or_options_but_not_both() -> None:
    """An empty pool list, zero shards, or pools with options are refused."""
    with pytest.raises(ValueError, match="at least one"):
        ShardedTransport(0)
    with pytest.raises(ValueError, match="at least one"):
        ShardedTransport(pools=[])
    with pytest.raises(ValueError, match="either pools"):
        ShardedTransport(pools=[_Gate(asyncio.Event())], verify=False)  # type: ignore[list-item]


def _echo_app() -> FastAPI:
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> Response:
        return Response(await request.body(), media_type="application/octet-stream")

    return app


def test_real_sockets_many_concurrent_requests_reuse_connections() -> None:
    """Over loopback, 64 concurrent posts come back intact through keep-alive pools."""

    async def run(url: str) -> list[bytes]:
        async with async_client(shards=4, timeout=10.0) as client:
            bodies = [bytes([i]) * 2000 for i in range(64)]
            answers = await asyncio.gather(*(client.post(url, content=b) for b in bodies))
            again = await client.post(url, content=b"again")
            assert again.content == b"again"
            return [a.content for a in answers]

    with serving(_echo_app()) as base:
        answers = asyncio.run(run(base + "/echo"))
    assert answers == [bytes([i]) * 2000 for i in range(64)]
