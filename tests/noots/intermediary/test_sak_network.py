"""The SAK's hot-path client on real sockets (aiohttp) and in process (httpx): same answers,
same typed failures."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from noots.faults_http import DroppedResponse
from noots.intermediary.sak._network import (
    AiohttpNetwork,
    HttpxNetwork,
    Network,
    PeerFailed,
    PeerTooLarge,
    PeerUnreachable,
)
from noots.testing.servers import serving


async def echo(request: Request) -> Response:
    body = await request.body()
    return Response(body + request.headers.get("x-tag", "").encode(), media_type="text/plain")


async def big(_request: Request) -> Response:
    return Response(b"x" * 5000, media_type="text/plain")


async def dropped(_request: Request) -> Response:
    return DroppedResponse()


async def slow(_request: Request) -> Response:
    await asyncio.sleep(5)
    return Response(b"late")


APP = Starlette(
    routes=[
        Route("/echo", echo, methods=["POST"]),
        Route("/big", big, methods=["POST"]),
        Route("/dropped", dropped, methods=["POST"]),
        Route("/slow", slow, methods=["POST"]),
    ]
)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving(APP) as url:
        yield url


def _refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def networks() -> list[tuple[str, Network]]:
    return [("aiohttp", AiohttpNetwork()), ("httpx", HttpxNetwork(httpx.AsyncClient()))]


@pytest.mark.parametrize("kind", ["aiohttp", "httpx"])
async def test_the_body_and_headers_arrive_and_the_answer_comes_back(
    server: str, kind: str
) -> None:
    """A POST carries body and headers; the whole answer is returned."""
    network = dict(networks())[kind]
    try:
        answer = await network.post(server + "/echo", b"hello ", {"x-tag": "world"}, limit=100)
    finally:
        await network.aclose()
    assert answer == b"hello world"


@pytest.mark.parametrize("kind", ["aiohttp", "httpx"])
async def test_an_answer_over_the_limit_is_refused(server: str, kind: str) -> None:
    """More bytes than the limit: PeerTooLarge."""
    network = dict(networks())[kind]
    try:
        with pytest.raises(PeerTooLarge):
            await network.post(server + "/big", b"", {}, limit=1000)
    finally:
        await network.aclose()


@pytest.mark.parametrize("kind", ["aiohttp", "httpx"])
async def test_nobody_listening_is_unreachable(kind: str) -> None:
    """A refused connection: PeerUnreachable."""
    network = dict(networks())[kind]
    try:
        with pytest.raises(PeerUnreachable):
            await network.post(f"http://127.0.0.1:{_refused_port()}/x", b"", {}, limit=100)
    finally:
        await network.aclose()


@pytest.mark.parametrize("kind", ["aiohttp", "httpx"])
async def test_a_dropped_connection_fails_the_exchange(server: str, kind: str) -> None:
    """Half an answer, then the connection closes: PeerFailed."""
    network = dict(networks())[kind]
    try:
        with pytest.raises(PeerFailed):
            await network.post(server + "/dropped", b"", {}, limit=100_000)
    finally:
        await network.aclose()


@pytest.mark.parametrize("kind", ["aiohttp", "httpx"])
async def test_the_caller_s_deadline_ends_a_slow_exchange(server: str, kind: str) -> None:
    """asyncio.timeout around the call gives TimeoutError, whatever the library."""
    network = dict(networks())[kind]
    try:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await network.post(server + "/slow", b"", {}, limit=100)
    finally:
        await network.aclose()
