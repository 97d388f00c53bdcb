"""In-process HTTP for tests: several ASGI apps wired together without sockets.

``httpx.ASGITransport`` serves one app and does not run its lifespan. :func:`running` runs an
app's lifespan (so its start-up opens what it needs) and yields a client for it;
:class:`RoutingTransport` sends each request to the app registered for the URL's
``host:port``, so a SAK configured with the topology's addresses reaches in-process
registers::

    routes = RoutingTransport({"127.0.0.1:8410": httpx.ASGITransport(register_app)})
    sak = create_sak(SakSettings(participant_id="08118079-MELD-12"), transport=routes)
    async with running(sak, base_url="http://127.0.0.1:8510") as client:
        await client.post("/transport/v1/messages", content=envelope)

A host:port without a route fails like a refused connection (``httpx.ConnectError``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import httpx

__all__ = ["RoutingTransport", "call_app", "read_request_body", "running"]


class RoutingTransport(httpx.AsyncBaseTransport):
    """Dispatches by ``host:port`` to per-destination transports; unknown → ConnectError."""

    def __init__(self, routes: Mapping[str, httpx.AsyncBaseTransport] | None = None) -> None:
        self.routes: dict[str, httpx.AsyncBaseTransport] = dict(routes or {})

    def add(self, host_port: str, transport: httpx.AsyncBaseTransport) -> None:
        self.routes[host_port] = transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = f"{request.url.host}:{request.url.port}"
        transport = self.routes.get(key)
        if transport is None:
            raise httpx.ConnectError(
                f"connection refused: nothing listens on {key}", request=request
            )
        return await transport.handle_async_request(request)

    async def aclose(self) -> None:
        for transport in self.routes.values():
            await transport.aclose()


@contextlib.asynccontextmanager
async def running(
    app: Any, *, base_url: str = "http://testserver"
) -> AsyncIterator[httpx.AsyncClient]:
    """Run ``app``'s lifespan and yield an in-process client for it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


async def read_request_body(receive: Callable[[], Awaitable[dict[str, Any]]]) -> bytes:
    """The whole body of an ASGI request (what a wrapping double reads before it decides)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def call_app(
    app: Any, scope: dict[str, Any], body: bytes
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Call the ASGI ``app`` with ``body``: its status, headers and whole body."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    status = 500
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, headers, b"".join(chunks)
