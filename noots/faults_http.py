"""What a fault of :mod:`noots.faults` looks like on the wire, for any ASGI component that
injects one (registers and SAKs): a connection dropped mid-answer, a hang until the caller
gives up, and the admin API that switches faults at run time."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated, Protocol

import httpx
from fastapi import Depends, FastAPI, Header, HTTPException
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from noots.errors import ConfigurationError
from noots.faults import FaultInjector, FaultPlan

__all__ = ["ConnectionDropped", "DroppedResponse", "FaultOwner", "add_fault_admin", "hang"]

Sleep = Callable[[float], Awaitable[None]]


class ConnectionDropped(httpx.RemoteProtocolError):
    """Raised after half an answer was sent: the server closes the connection (fault).

    Under a real server the client sees the connection close mid-answer
    (``httpx.RemoteProtocolError``). In-process (``httpx.ASGITransport`` re-raises what the app
    raises) the client gets this exception, which is that same error, so callers handle both
    alike.
    """


class DroppedResponse(Response):
    """Sends the head and half a body, then gives up: the server closes the connection."""

    def __init__(self, media_type: str = "application/xml") -> None:
        super().__init__(status_code=200, media_type=media_type)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", (self.media_type or "application/xml").encode()),
                    (b"content-length", b"4096"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"<?xml version=", "more_body": True})
        raise ConnectionDropped("fault injection: connection dropped")


async def hang(request: Request, seconds: float, sleep: Sleep) -> None:
    """Wait until the client gives up or ``seconds`` pass, whichever comes first."""
    waited = 0.0
    step = 0.05
    while waited < seconds:
        if await request.is_disconnected():
            return
        await sleep(step)
        waited += step


def _admin(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    """The bearer admin token, compared in constant time."""
    expected = f"Bearer {request.app.state.admin_token}".encode()
    if not hmac.compare_digest((authorization or "").encode(), expected):
        raise HTTPException(
            status_code=401, detail="admin token required", headers={"WWW-Authenticate": "Bearer"}
        )


AdminDep = Annotated[None, Depends(_admin)]


class FaultOwner(Protocol):
    """A component whose faults can be switched at run time (a register, a SAK)."""

    faults: FaultInjector

    def check_plan(self, plan: FaultPlan) -> None:
        """Raise :class:`~noots.errors.ConfigurationError` for a plan it cannot carry out."""


def _owner(request: Request) -> FaultOwner:
    owner: Callable[[Request], FaultOwner] = request.app.state.fault_owner
    return owner(request)


OwnerDep = Annotated[FaultOwner, Depends(_owner)]


def add_fault_admin(app: FastAPI, token: str, owner: Callable[[Request], FaultOwner]) -> None:
    """``GET|PUT|DELETE /admin/v1/faults`` (bearer ``token``) for the faults of ``owner``.

    Test mode only: callers mount it only when not strict and a token is configured."""
    app.state.admin_token = token
    app.state.fault_owner = owner

    @app.get("/admin/v1/faults", tags=["admin"])
    async def get_faults(_: AdminDep, component: OwnerDep) -> FaultPlan:
        """The fault plan in force."""
        return component.faults.plan

    @app.put("/admin/v1/faults", tags=["admin"])
    async def put_faults(plan: FaultPlan, _: AdminDep, component: OwnerDep) -> FaultPlan:
        """Switch a fault plan on (409 for one this component cannot carry out)."""
        try:
            await run_in_threadpool(component.check_plan, plan)
        except ConfigurationError as error:
            raise HTTPException(status_code=409, detail=error.message) from None
        component.faults.set(plan)
        return plan

    @app.delete("/admin/v1/faults", tags=["admin"])
    async def delete_faults(_: AdminDep, component: OwnerDep) -> FaultPlan:
        """Back to the configured plan."""
        component.faults.reset()
        return component.faults.plan
