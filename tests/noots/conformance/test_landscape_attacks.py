"""The landscape attack runner catches what it claims to catch: a component that crashes, one
that stalls, one whose answers tell whether a file exists, one that accepts hostile XML (fake
components in process, a simulated clock); and it reads endpoints from /openapi.json."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from noots.clock import SystemClock
from noots.conformance import Status, run_attacks
from noots.conformance.landscape_attacks import (
    PARAMETER_ENTITY_UTF16,
    AttackTarget,
    parameter_entity_document,
    post_endpoints,
)
from noots.testing.asgi import RoutingTransport
from noots.testing.landscape import bootstrap
from noots.topology import Topology, load_topology

IDA = "ida"


@pytest.fixture(scope="module")
def landscape(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Topology]:
    data_dir = tmp_path_factory.mktemp("attack-runner")
    bootstrap(data_dir, people=60)
    return data_dir, load_topology(data_dir / "landscape.yaml")


def fake_ida(behaviour: str) -> FastAPI:
    """An 'IDA' with one XML endpoint, wrong in the way ``behaviour`` says."""
    app = FastAPI()

    @app.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse({"status": "healthy"})

    @app.post("/ida/v1/lookup")
    async def lookup(request: Request) -> Response:
        body = await request.body()
        if behaviour == "crash" and b"<\x00!\x00D\x00O\x00C" in body:
            return Response(b"", status_code=500)
        if behaviour == "stall" and body == PARAMETER_ENTITY_UTF16:
            await asyncio.Event().wait()  # never answers: the runner's budget must end it
        if behaviour == "oracle" and b"r\x00o\x00o\x00t\x00-\x00c\x00e\x00r\x00t" in body:
            return JSONResponse({"code": "EDM:ERR:0003", "detail": "file read"}, status_code=400)
        if behaviour == "accept":
            return Response(b"<ok/>", media_type="application/xml")
        return JSONResponse({"code": "EDM:ERR:0003", "detail": "no DTD"}, status_code=400)

    return app


async def attack_ida(landscape: tuple[Path, Topology], behaviour: str) -> list[Any]:
    data_dir, topology = landscape
    routes = RoutingTransport(
        {
            topology.base_url(IDA).removeprefix("http://"): httpx.ASGITransport(
                app=fake_ida(behaviour)
            )
        }
    )
    target = AttackTarget(topology, data_dir, components=(IDA,), budget=0.2)
    report = await run_attacks(target, clock=SystemClock(), transport=routes)
    [section] = report.sections
    return [c for c in section.checks if c.status is Status.FAILED]


async def test_a_clean_component_has_no_problem(landscape: tuple[Path, Topology]) -> None:
    """An endpoint that refuses every hostile body with a 400 problem: nothing to report."""
    assert await attack_ida(landscape, "clean") == []


@pytest.mark.parametrize(
    ("behaviour", "found"),
    [
        ("crash", "Serverfehler"),
        ("stall", "keine Antwort innerhalb"),
        ("oracle", "die Antworten unterscheiden sich"),
        ("accept", "wurde angenommen"),
    ],
)
async def test_a_broken_component_is_a_problem(
    landscape: tuple[Path, Topology], behaviour: str, found: str
) -> None:
    """A crash, a stall, an answer that tells a file exists, an accepted DOCTYPE: each is
    reported as a problem of the component."""
    problems = await attack_ida(landscape, behaviour)
    assert any(found in check.actual for check in problems), [c.actual for c in problems]


async def test_endpoints_are_read_from_openapi() -> None:
    """POST and PUT operations with their path parameters filled; XML ones recognised."""
    app = fake_ida("clean")

    @app.put("/things/{thing_id}")
    async def put(thing_id: str) -> dict[str, str]:
        return {"thing": thing_id}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        found = await post_endpoints(http, "http://ida")
    assert [(m, p.split("/")[1], xml) for m, p, xml in found] == [
        ("POST", "ida", True),
        ("PUT", "things", False),
    ]


def test_the_document_names_the_uri_in_utf16() -> None:
    """The probe documents are UTF-16 with a BOM and name the file."""
    document = parameter_entity_document("file:///etc/hostname")
    assert document[:2] in (b"\xff\xfe", b"\xfe\xff")
    assert "file:///etc/hostname" in document.decode("utf-16")
    assert "file:///dev/zero" in PARAMETER_ENTITY_UTF16.decode("utf-16")
