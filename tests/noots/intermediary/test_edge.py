"""The platform's edge: requests that do not validate become EDM problems, never a 500."""

from __future__ import annotations

import httpx
from fastapi import FastAPI, Request
from pydantic import BaseModel

from noots.intermediary._edge import read_body, refuse_invalid_input


class _Body(BaseModel):
    name: str


def _app() -> FastAPI:
    app = FastAPI()
    refuse_invalid_input(app, component="test-component")

    @app.post("/things")
    async def things(body: _Body) -> dict[str, str]:
        return {"name": body.name}

    return app


async def _post(content: bytes, content_type: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://edge.test") as client:
        return await client.post("/things", content=content, headers={"Content-Type": content_type})


async def test_a_utf16_body_is_a_0003_problem_not_a_server_error() -> None:
    """Bytes that are not UTF-8 (FastAPI's own handler fails on them) get a 400 problem."""
    answer = await _post(
        '<?xml version="1.0" encoding="UTF-16"?><a/>'.encode("utf-16"), "application/json"
    )
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "EDM:ERR:0003"


async def test_the_problem_names_the_field_never_the_input() -> None:
    """A wrong field value is named by its place; the value itself is not echoed."""
    answer = await _post(b'{"name": {"secret": "Erika Mustermann"}}', "application/json")
    assert answer.json()["detail"].startswith("body.name:")
    assert "Mustermann" not in answer.text
    assert answer.json()["component"] == "test-component"


async def test_a_body_over_the_limit_a_route_did_not_catch_is_a_0003_problem() -> None:
    """read_body's size refusal, left to the edge, becomes a problem instead of a 500."""
    app = FastAPI()
    refuse_invalid_input(app, component="test-component")

    @app.post("/form")
    async def form(request: Request) -> dict[str, int]:
        return {"size": len(await read_body(request, limit=16))}

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://edge.test") as client:
        answer = await client.post("/form", content=b"x" * 64)
    assert (answer.status_code, answer.json()["code"]) == (400, "EDM:ERR:0003")
    assert answer.headers["content-type"] == "application/problem+json"
