"""The dashboard app: pages (German), the JSON API behind them, the event collector and the
server-sent event stream.

Pages: ``/`` Landschaft, ``/ablauf`` Live-Ablauf with "Pilot starten" and the fault toggles,
``/datenschutzcockpit``, ``/berichte`` (conformance reports). Every asset is shipped in the
package (no CDN); the pages run without inline script or style, under a strict CSP.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from consumers.dashboard._dsc import cockpit
from consumers.dashboard._events import EventLog
from consumers.dashboard._faults import FAULT_CHOICES, FaultSwitch
from consumers.dashboard._inspect import explain_document
from consumers.dashboard._landscape import check_health, landscape_model
from consumers.dashboard._pilots import PilotRunner, identities
from consumers.dashboard._reports import find_reports, report_view
from consumers.dashboard._settings import DashboardSettings
from consumers.dashboard.sink import EventBatch
from noots.bootstrap import LandscapePaths
from noots.errors import ConfigurationError, InvalidInput, NootsError
from noots.participant import Participant, load_participant
from noots.topology import Topology

__all__ = ["app_from_env", "create_app"]

log = logging.getLogger("consumers.dashboard")

HERE = Path(__file__).parent
_MAX_BATCH_BYTES = 16 * 1024 * 1024
_EXPLAINED_CACHE = 64
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class _State:
    """What the routes share; built once in the lifespan."""

    def __init__(
        self,
        settings: DashboardSettings,
        topology: Topology,
        participant: Participant,
        http: httpx.AsyncClient,
        runner: PilotRunner,
        faults: FaultSwitch,
        events: EventLog,
    ) -> None:
        self.settings = settings
        self.topology = topology
        self.participant = participant
        self.http = http
        self.runner = runner
        self.faults = faults
        self.events = events
        self.explained: OrderedDict[tuple[str, int], dict[str, Any]] = OrderedDict()


def _state(request: Request) -> _State:
    value: _State = request.app.state.dashboard
    return value


State = Annotated[_State, Depends(_state)]


def _json_only(content_type: Annotated[str | None, Header()] = None) -> None:
    """State changes come from the page's fetch() with JSON; a foreign form cannot send that."""
    if not (content_type or "").lower().startswith("application/json"):
        raise HTTPException(status_code=415, detail="Content-Type application/json erwartet")


JsonOnly = Annotated[None, Depends(_json_only)]


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    pilot: str = Field(max_length=64)
    idnr: str = Field(max_length=32)
    via_ida: bool = Field(default=True, alias="viaIda")


class FaultRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fault: str | None = Field(default=None, max_length=64)


class DscRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    idnr: str = Field(max_length=32)
    level: Literal["hoch", "substantiell", "normal"] = "hoch"


def _client_factory(settings: DashboardSettings, transport: httpx.AsyncBaseTransport | None) -> Any:
    """httpx clients that present a participant's certificate when the landscape runs TLS."""

    def make(participant_id: str) -> httpx.AsyncClient:
        if transport is None and settings.tls:
            from noots.tls import TlsFiles, client_context

            files = TlsFiles.for_participant(settings.data_dir / "pki", participant_id)
            return httpx.AsyncClient(verify=client_context(files), timeout=20.0, trust_env=False)
        return httpx.AsyncClient(transport=transport, timeout=20.0, trust_env=False)

    return make


def create_app(
    settings: DashboardSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    participant: Participant | None = None,
) -> FastAPI:
    """The dashboard of the landscape ``settings`` names.

    ``transport`` carries every outgoing call (tests wire the landscape in-process with it);
    ``participant`` replaces the credential read from the data directory.
    """
    topology = settings.load_topology()
    templates = Jinja2Templates(directory=HERE / "templates")
    own_id = settings.participant_id or topology.platform.simulator_id
    events = EventLog(settings.event_capacity)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        paths = LandscapePaths(settings.data_dir)
        try:
            me = participant or load_participant(paths.pki_dir, own_id, clock=settings.clock())
        except (KeyError, OSError) as exc:
            raise ConfigurationError(
                f"the dashboard needs the credential of {own_id} in {paths.pki_dir}: "
                "run `noots bootstrap` first"
            ) from exc
        make_client = _client_factory(settings, transport)
        http = make_client(own_id)
        runner = PilotRunner(
            settings, topology, events, make_client, attempts=settings.pilot_attempts
        )
        token = settings.admin_token.get_secret_value() if settings.admin_token else None
        faults = FaultSwitch(http, topology, tls=settings.tls, token=token)
        app.state.dashboard = _State(settings, topology, me, http, runner, faults, events)
        try:
            yield
        finally:
            events.close()
            await runner.aclose()
            await http.aclose()

    app = FastAPI(title="noots Dashboard", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.events = events
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def page(request: Request, name: str, active: str, **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(
            request,
            name,
            {"active": active, "landscape_name": topology.name, "tls": settings.tls, **context},
        )

    # -- pages ---------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    async def landscape_page(request: Request) -> HTMLResponse:
        return page(
            request,
            "landschaft.html",
            "landschaft",
            model=landscape_model(topology, tls=settings.tls),
        )

    @app.get("/ablauf", response_class=HTMLResponse)
    async def flow_page(request: Request, st: State) -> HTMLResponse:
        return page(
            request,
            "ablauf.html",
            "ablauf",
            pilots=st.runner.pilots,
            identities=identities(),
            faults=FAULT_CHOICES,
            registers=topology.registers,
            faults_available=st.faults.available,
            participants={
                p.participant_id: {"name": p.name, "role": p.role} for p in topology.participants()
            },
        )

    @app.get("/datenschutzcockpit", response_class=HTMLResponse)
    async def dsc_page(request: Request) -> HTMLResponse:
        return page(request, "dsc.html", "dsc", identities=identities())

    @app.get("/berichte", response_class=HTMLResponse)
    async def reports_page(request: Request, st: State) -> HTMLResponse:
        entries = await run_in_threadpool(
            find_reports, settings.reports_path(), st.participant.verifier
        )
        return page(
            request,
            "berichte.html",
            "berichte",
            reports=[e.summary() for e in entries],
            directory=settings.reports_path(),
        )

    @app.get("/berichte/{name:path}", response_class=HTMLResponse)
    async def report_page(request: Request, name: str, st: State) -> HTMLResponse:
        entries = await run_in_threadpool(
            find_reports, settings.reports_path(), st.participant.verifier
        )
        for entry in entries:
            if entry.name == name:
                return page(request, "bericht.html", "berichte", report=report_view(entry))
        raise HTTPException(status_code=404, detail="Bericht nicht gefunden")

    # -- events --------------------------------------------------------------------------

    @app.post("/events/v1", status_code=202)
    async def collect(request: Request, _json: JsonOnly) -> dict[str, int]:
        """Flow events of the landscape's components (see consumers.dashboard.sink)."""
        body = await _read_limited(request, _MAX_BATCH_BYTES)
        try:
            batch = EventBatch.model_validate_json(body)
        except ValidationError as exc:
            raise HTTPException(status_code=422, detail=exc.errors(include_url=False)) from None
        for event in batch.events:
            events.add_event(event)
        return {"accepted": len(batch.events)}

    @app.get("/events/v1")
    async def recent(after: int | None = None) -> dict[str, Any]:
        """The notices after sequence number ``after`` (or the recent ones), as JSON."""
        import json

        return {
            "boot": events.boot,
            "notices": [
                {"seq": n.seq, "kind": n.kind, "data": json.loads(n.data)}
                for n in events.notices(after=after)
            ],
        }

    @app.get("/events/v1/stream")
    async def stream(
        after: int | None = None,
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> StreamingResponse:
        """Server-sent events: ``flow`` (one component's part of one hop) and ``run``."""
        start = after
        if last_event_id is not None and last_event_id.isdigit():
            start = int(last_event_id)
        return StreamingResponse(
            events.stream(after=start),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @app.get("/api/v1/events/{event_id}/documents/{index}")
    async def document(event_id: str, index: int, st: State) -> dict[str, Any]:
        """One document of an event, explained (pretty XML, signature, certificate path)."""
        key = (event_id, index)
        cached = st.explained.get(key)
        if cached is not None:
            return cached
        event = events.event(event_id)
        if event is None or not 0 <= index < len(event.documents):
            raise HTTPException(status_code=404, detail="Dokument nicht (mehr) vorhanden")
        traced = event.documents[index]
        if not traced.xml:
            raise HTTPException(
                status_code=404, detail=f"Dokument zu groß für die Anzeige ({traced.omitted} Bytes)"
            )
        explained = await run_in_threadpool(
            explain_document,
            traced.xml,
            label=traced.label,
            verifier=st.participant.verifier,
            validator=st.participant.validator,
            clock=st.participant.clock,
        )
        st.explained[key] = explained
        while len(st.explained) > _EXPLAINED_CACHE:
            st.explained.popitem(last=False)
        return explained

    # -- landscape, pilots, faults, DSC, reports ------------------------------------------

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "healthy", "component": "dashboard", "participant": own_id}

    @app.get("/api/v1/health")
    async def components_health(st: State) -> dict[str, Any]:
        results = await check_health(
            st.http,
            topology,
            tls=settings.tls,
            timeout=settings.health_timeout_seconds,
            own="dashboard",
        )
        return {"components": [r.to_json() for r in results]}

    @app.get("/api/v1/pilots")
    async def list_pilots(st: State) -> dict[str, Any]:
        return {
            "pilots": [
                {
                    "kind": p.kind,
                    "title": p.title,
                    "consumer": p.consumer.participant_id,
                    "consumerName": p.consumer.name,
                    "needs": [n.evidence_type for n in p.service.needs],
                }
                for p in st.runner.pilots
            ],
            "identities": identities(),
        }

    @app.post("/api/v1/runs", status_code=202)
    async def start_run(body: RunRequest, st: State, _json: JsonOnly) -> dict[str, Any]:
        try:
            run = st.runner.start(body.pilot, body.idnr, via_ida=body.via_ida)
        except InvalidInput as exc:
            raise HTTPException(status_code=422, detail=exc.message) from None
        return run.to_json()

    @app.get("/api/v1/runs/{run_id}")
    async def get_run(run_id: str, st: State) -> dict[str, Any]:
        run = st.runner.run(run_id)
        if run is None:
            raise HTTPException(status_code=404, detail="unbekannter Durchlauf")
        return run.to_json()

    @app.get("/api/v1/faults")
    async def fault_status(st: State) -> dict[str, Any]:
        return {
            "available": st.faults.available,
            "choices": FAULT_CHOICES,
            "registers": await st.faults.status(),
        }

    @app.put("/api/v1/faults/{participant_id}")
    async def set_fault(
        participant_id: str, body: FaultRequest, st: State, _json: JsonOnly
    ) -> JSONResponse:
        if body.fault is not None and body.fault not in FAULT_CHOICES:
            raise HTTPException(status_code=422, detail="unbekannte Störung")
        try:
            status, answer = await st.faults.set(participant_id, body.fault)
        except NootsError:
            raise HTTPException(status_code=404, detail="unbekanntes Register") from None
        return JSONResponse(answer, status_code=status)

    @app.post("/api/v1/dsc")
    async def dsc(body: DscRequest, st: State, _json: JsonOnly) -> JSONResponse:
        status, answer = await cockpit(
            st.http,
            topology.base_url("platform", tls=settings.tls),
            body.idnr,
            level=body.level,
            verifier=st.participant.verifier,
            clock=st.participant.clock,
        )
        return JSONResponse(answer, status_code=status)

    @app.get("/api/v1/reports")
    async def reports(st: State) -> dict[str, Any]:
        entries = await run_in_threadpool(
            find_reports, settings.reports_path(), st.participant.verifier
        )
        return {
            "directory": str(settings.reports_path()),
            "reports": [e.summary() for e in entries],
        }

    return app


async def _read_limited(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(status_code=413, detail=f"mehr als {limit} Bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def app_from_env() -> FastAPI:
    """For ``uvicorn --factory consumers.dashboard:app_from_env``."""
    from noots.settings import load_settings

    return create_app(load_settings(DashboardSettings))
