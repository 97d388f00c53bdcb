"""The dashboard app: pages (German), the JSON API behind them, the event collector and the
server-sent event stream.

Pages: ``/`` Landschaft, ``/ablauf`` Live-Ablauf with "Pilot starten" and the fault toggles,
``/datenschutzcockpit``, ``/berichte`` (conformance reports), ``/login``. Every asset is
shipped in the package (no CDN); the pages run without inline script or style, under a strict
CSP. Who may see and change what is the door's business (:mod:`noots.consumers.dashboard._door`):
the Landschaft and the health of the components are public, the rest needs an operator
login. In strict mode there are no pilots and no fault toggles at all (no routes).
"""

from __future__ import annotations

import json
import logging
import re
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, quote

import httpx
from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from noots.consumers.dashboard._door import (
    CSRF_FIELD,
    CSRF_HEADER,
    Door,
    OperatorSession,
    OperatorSessions,
    allowed_hosts,
    cookie_name,
)
from noots.consumers.dashboard._dsc import cockpit
from noots.consumers.dashboard._events import EventLog
from noots.consumers.dashboard._faults import FAULT_CHOICES, FaultSwitch
from noots.consumers.dashboard._inspect import explain_document
from noots.consumers.dashboard._landscape import check_health, landscape_model
from noots.consumers.dashboard._pilots import PilotRunner, identities
from noots.consumers.dashboard._reports import find_reports, report_view
from noots.consumers.dashboard._secrets import events_key, operator_token
from noots.consumers.dashboard._settings import DashboardSettings
from noots.consumers.dashboard.event_auth import (
    EventAuthenticator,
    ReportingKey,
    ReportingTokenAuthenticator,
)
from noots.consumers.dashboard.sink import EventBatch
from noots.errors import (
    AuthenticationError,
    AuthorisationError,
    ConfigurationError,
    InvalidInput,
    NootsError,
)
from noots.health import problem_of
from noots.participant import Participant, load_participant
from noots.paths import LandscapePaths
from noots.topology import Topology
from noots.web import FAVICON, STYLESHEET, german_time, mount_assets

__all__ = ["app_from_env", "create_app"]

log = logging.getLogger("noots.consumers.dashboard")

HERE = Path(__file__).parent
_MAX_BATCH_BYTES = 16 * 1024 * 1024
_MAX_FORM_BYTES = 4096
_EXPLAINED_CACHE = 64
#: Where a login may lead back to: a path of this dashboard, never another site.
_LOCAL_PATH = re.compile(r"/(?!/)[A-Za-z0-9/_.%-]{0,200}")
_AFTER_LOGIN = "/ablauf"


class _State:
    """What the routes share; built once in the lifespan."""

    def __init__(
        self,
        settings: DashboardSettings,
        topology: Topology,
        participant: Participant,
        http: httpx.AsyncClient,
        runner: PilotRunner | None,
        faults: FaultSwitch | None,
        events: EventLog,
        sessions: OperatorSessions,
        event_authenticator: EventAuthenticator,
    ) -> None:
        self.settings = settings
        self.topology = topology
        self.participant = participant
        self.http = http
        self.runner = runner
        self.faults = faults
        self.events = events
        self.sessions = sessions
        self.event_authenticator = event_authenticator
        self.cookie = cookie_name(tls=settings.tls)
        self.explained: OrderedDict[tuple[str, int], dict[str, Any]] = OrderedDict()

    def session_of(self, request: Request) -> OperatorSession | None:
        return self.sessions.find(request.cookies.get(self.cookie))

    def own_certificate_problem(self) -> str | None:
        """What is wrong with the dashboard's own certificate now (revoked, expired), in
        German and English; None when it is valid."""
        me = self.participant
        try:
            me.validator.validate(me.credential.certificate)
        except NootsError as exc:
            return problem_of(me.participant_id, "Simulator (Dashboard)", exc).text
        return None


def _state(request: Request) -> _State:
    value: _State = request.app.state.dashboard
    return value


State = Annotated[_State, Depends(_state)]


def _json_only(content_type: Annotated[str | None, Header()] = None) -> None:
    """State changes come from the page's fetch() with JSON; a foreign form cannot send that."""
    if not (content_type or "").lower().startswith("application/json"):
        raise HTTPException(status_code=415, detail="Content-Type application/json erwartet")


JsonOnly = Annotated[None, Depends(_json_only)]


class _LoginRequired(Exception):
    """A page behind the door was asked for without a session: off to the login."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def _operator(request: Request, st: State) -> OperatorSession:
    session = st.session_of(request)
    if session is None:
        raise HTTPException(status_code=401, detail="Anmeldung als Betreiber erforderlich")
    return session


def _operator_page(request: Request, st: State) -> OperatorSession:
    session = st.session_of(request)
    if session is None:
        raise _LoginRequired(request.url.path)
    return session


def _operator_changing(
    session: Annotated[OperatorSession, Depends(_operator)], request: Request
) -> OperatorSession:
    """A state change by the operator: the session's CSRF token must come along (a page of
    another site can make the browser send the cookie, never read the token)."""
    if not session.csrf_matches(request.headers.get(CSRF_HEADER)):
        raise HTTPException(status_code=403, detail="CSRF-Token fehlt oder ist falsch")
    return session


#: The operator (API: 401 without a session).
Operator = Annotated[OperatorSession, Depends(_operator)]
#: The operator on a page (redirected to the login without a session).
OperatorPage = Annotated[OperatorSession, Depends(_operator_page)]
#: The operator changing state (API: 401 without a session, 403 without the CSRF token).
OperatorChange = Annotated[OperatorSession, Depends(_operator_changing)]


async def _reporter(request: Request, st: State) -> str:
    """The landscape component that posts events (before the body is even read)."""
    try:
        return await st.event_authenticator.authenticate(request)
    except AuthorisationError as exc:
        raise HTTPException(status_code=403, detail=exc.message) from None
    except AuthenticationError as exc:
        raise HTTPException(
            status_code=401, detail=exc.message, headers={"WWW-Authenticate": "Bearer"}
        ) from None


Reporter = Annotated[str, Depends(_reporter)]


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
    event_authenticator: EventAuthenticator | None = None,
) -> FastAPI:
    """The dashboard of the landscape ``settings`` names.

    ``transport`` carries every outgoing call (tests wire the landscape in-process with it);
    ``participant`` replaces the credential read from the data directory;
    ``event_authenticator`` decides who may post events (default: the landscape's reporting
    tokens, :mod:`noots.consumers.dashboard.event_auth`).
    """
    topology = settings.load_topology()
    templates = Jinja2Templates(directory=HERE / "templates")
    own_id = settings.participant_id or topology.platform.simulator_id
    events = EventLog(settings.event_capacity)
    pilots_on = not settings.strict
    # Read at start: a dashboard without its secrets does not come up half open.
    sessions = OperatorSessions(
        operator_token(settings), lifetime=timedelta(hours=settings.session_hours)
    )
    if event_authenticator is None:
        event_authenticator = ReportingTokenAuthenticator(
            ReportingKey.from_secret(events_key(settings)),
            audience=topology.platform.simulator_id,
            reporters={p.participant_id for p in topology.participants()} - {own_id},
        )
    authenticator = event_authenticator

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
        runner = faults = None
        if pilots_on:
            runner = PilotRunner(
                settings, topology, events, make_client, attempts=settings.pilot_attempts
            )
            token = settings.admin_token.get_secret_value() if settings.admin_token else None
            faults = FaultSwitch(http, topology, tls=settings.tls, token=token)
        app.state.dashboard = _State(
            settings, topology, me, http, runner, faults, events, sessions, authenticator
        )
        try:
            yield
        finally:
            events.close()
            if runner is not None:
                await runner.aclose()
            await http.aclose()

    app = FastAPI(title="noots Dashboard", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.events = events
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    mount_assets(app)  # the landscape's one stylesheet (noots.web), shared with the DSC
    app.add_middleware(
        Door,
        hosts=allowed_hosts(topology.dashboard.host or topology.host, settings.dashboard_hosts),
    )

    @app.exception_handler(_LoginRequired)
    async def to_login(_request: Request, exc: _LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={quote(exc.path, safe='/')}", status_code=303)

    def page(
        request: Request, name: str, active: str, *, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        st: _State = request.app.state.dashboard
        session = st.session_of(request)
        return templates.TemplateResponse(
            request,
            name,
            {
                "active": active,
                "landscape_name": topology.name,
                "tls": settings.tls,
                "operator": session is not None,
                "csrf": session.csrf if session is not None else "",
                "pilots_on": pilots_on,
                "stylesheet": STYLESHEET,
                "favicon": FAVICON,
                **context,
            },
            status_code=status_code,
        )

    # -- the door ------------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse)
    async def login_page(request: Request, st: State, next: str = _AFTER_LOGIN) -> Response:
        if st.session_of(request) is not None:
            return RedirectResponse(_local(next), status_code=303)
        return page(request, "anmelden.html", "anmelden", next=_local(next), failed=False)

    @app.post("/login", response_class=HTMLResponse)
    async def login(request: Request, st: State) -> Response:
        """The operator token from the form (the one-click link's page posts it)."""
        form = await _form(request)
        target = _local(form.get("next", _AFTER_LOGIN))
        session = st.sessions.open(form.get("token", ""))
        if session is None:
            log.warning("dashboard: login with a wrong operator token refused")
            return page(
                request, "anmelden.html", "anmelden", next=target, failed=True, status_code=401
            )
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            st.cookie,
            session.session_id,
            max_age=int(settings.session_hours * 3600),
            path="/",
            secure=settings.tls,
            httponly=True,
            samesite="strict",
        )
        return response

    @app.post("/logout")
    async def logout(request: Request, st: State) -> Response:
        session = st.session_of(request)
        offered = request.headers.get(CSRF_HEADER) or (await _form(request)).get(CSRF_FIELD)
        if session is not None and not session.csrf_matches(offered):
            raise HTTPException(status_code=403, detail="CSRF-Token fehlt oder ist falsch")
        if session is not None:
            st.sessions.close(session.session_id)
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(
            st.cookie, path="/", secure=settings.tls, httponly=True, samesite="strict"
        )
        return response

    @app.get("/api/v1/session")
    async def session_info(session: Operator) -> dict[str, Any]:
        """For scripts and tools: the CSRF token of this session (same origin only: no CORS)."""
        return {"operator": True, "csrf": session.csrf}

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
    async def flow_page(request: Request, st: State, _operator: OperatorPage) -> HTMLResponse:
        return page(
            request,
            "ablauf.html",
            "ablauf",
            pilots=st.runner.pilots if st.runner is not None else [],
            identities=identities(),
            faults=FAULT_CHOICES,
            registers=topology.registers,
            faults_available=st.faults is not None and st.faults.available,
            participants=_participants(topology),
        )

    @app.get("/datenschutzcockpit", response_class=HTMLResponse)
    async def dsc_page(request: Request, _operator: OperatorPage) -> HTMLResponse:
        return page(request, "dsc.html", "dsc", identities=identities())

    @app.get("/berichte", response_class=HTMLResponse)
    async def reports_page(request: Request, st: State, _operator: OperatorPage) -> HTMLResponse:
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
    async def report_page(
        request: Request, name: str, st: State, _operator: OperatorPage
    ) -> HTMLResponse:
        entries = await run_in_threadpool(
            find_reports, settings.reports_path(), st.participant.verifier
        )
        for entry in entries:
            if entry.name == name:
                return page(request, "bericht.html", "berichte", report=report_view(entry))
        raise HTTPException(status_code=404, detail="Bericht nicht gefunden")

    # -- events --------------------------------------------------------------------------

    @app.post("/events/v1", status_code=202)
    async def collect(request: Request, reporter: Reporter, _json: JsonOnly) -> dict[str, int]:
        """Flow events of the landscape's components (see noots.consumers.dashboard.sink), each
        about the component that reports it."""
        body = await _read_limited(request, _MAX_BATCH_BYTES)
        try:
            batch = EventBatch.model_validate_json(body)
        except ValidationError as exc:
            raise HTTPException(status_code=422, detail=exc.errors(include_url=False)) from None
        foreign = sorted({e.component for e in batch.events} - {reporter})
        if foreign:
            # One forged event taints the batch: none of it is shown.
            raise HTTPException(
                status_code=403,
                detail=f"{reporter} may report only its own events, not those of "
                + ", ".join(foreign[:3]),
            )
        for event in batch.events:
            events.add_event(event)
        return {"accepted": len(batch.events)}

    @app.get("/events/v1")
    async def recent(_operator: Operator, after: int | None = None) -> dict[str, Any]:
        """The notices after sequence number ``after`` (or the recent ones), as JSON."""
        return {
            "boot": events.boot,
            "notices": [
                {"seq": n.seq, "kind": n.kind, "data": json.loads(n.data)}
                for n in events.notices(after=after)
            ],
        }

    @app.get("/events/v1/stream")
    async def stream(
        st: State,
        operator: Operator,
        after: int | None = None,
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> StreamingResponse:
        """Server-sent events: ``flow`` (one component's part of one hop) and ``run``."""
        start = after
        if last_event_id is not None and last_event_id.isdigit():
            start = int(last_event_id)
        session_id = operator.session_id
        return StreamingResponse(
            # A stream outlives no logout: it ends at the next notice or keep-alive.
            events.stream(after=start, alive=lambda: st.sessions.find(session_id) is not None),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @app.get("/api/v1/events/{event_id}/documents/{index}")
    async def document(event_id: str, index: int, st: State, _operator: Operator) -> dict[str, Any]:
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

    # -- landscape, DSC, reports (public: only the health) --------------------------------

    @app.get("/health")
    async def health(st: State) -> JSONResponse:
        """200 while the dashboard's own certificate (its participant's) is valid; 503 naming
        it when it is revoked or expired: pages would load, but nothing it verifies or
        presents would be accepted."""
        problem = await run_in_threadpool(st.own_certificate_problem)
        body: dict[str, Any] = {
            "status": "degraded" if problem else "healthy",
            "component": "dashboard",
            "participant": own_id,
            "problems": [problem] if problem else [],
        }
        return JSONResponse(body, status_code=503 if problem else 200)

    @app.get("/api/v1/health")
    async def components_health(st: State) -> dict[str, Any]:
        own = await run_in_threadpool(st.own_certificate_problem)
        results = await check_health(
            st.http,
            topology,
            tls=settings.tls,
            timeout=settings.health_timeout_seconds,
            own="dashboard",
            own_problem=own,
        )
        return {
            "components": [r.to_json() for r in results],
            "checkedAt": german_time(st.participant.clock.now()),
        }

    @app.post("/api/v1/dsc")
    async def dsc(
        body: DscRequest, st: State, _operator: OperatorChange, _json: JsonOnly
    ) -> JSONResponse:
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
    async def reports(st: State, _operator: Operator) -> dict[str, Any]:
        entries = await run_in_threadpool(
            find_reports, settings.reports_path(), st.participant.verifier
        )
        return {
            "directory": str(settings.reports_path()),
            "reports": [e.summary() for e in entries],
        }

    if pilots_on:
        _pilot_and_fault_routes(app)
    return app


def _pilot_and_fault_routes(app: FastAPI) -> None:
    """Pilots and register faults: test mode only (strict mode has none of these routes)."""

    def runner_of(st: _State) -> PilotRunner:
        assert st.runner is not None  # these routes exist only when it does
        return st.runner

    def faults_of(st: _State) -> FaultSwitch:
        assert st.faults is not None
        return st.faults

    @app.get("/api/v1/pilots")
    async def list_pilots(st: State, _operator: Operator) -> dict[str, Any]:
        return {
            "pilots": [
                {
                    "kind": p.kind,
                    "title": p.title,
                    "consumer": p.party_id,
                    "consumerName": p.party_name,
                    "needs": [n.evidence_type for n in p.service.needs],
                }
                for p in runner_of(st).pilots
            ],
            "identities": identities(),
        }

    @app.post("/api/v1/runs", status_code=202)
    async def start_run(
        body: RunRequest, st: State, _operator: OperatorChange, _json: JsonOnly
    ) -> dict[str, Any]:
        try:
            run = runner_of(st).start(body.pilot, body.idnr, via_ida=body.via_ida)
        except InvalidInput as exc:
            raise HTTPException(status_code=422, detail=exc.message) from None
        return run.to_json()

    @app.get("/api/v1/runs/{run_id}")
    async def get_run(run_id: str, st: State, _operator: Operator) -> dict[str, Any]:
        run = runner_of(st).run(run_id)
        if run is None:
            raise HTTPException(status_code=404, detail="unbekannter Durchlauf")
        return run.to_json()

    @app.get("/api/v1/faults")
    async def fault_status(st: State, _operator: Operator) -> dict[str, Any]:
        faults = faults_of(st)
        return {
            "available": faults.available,
            "choices": FAULT_CHOICES,
            "registers": await faults.status(),
        }

    @app.put("/api/v1/faults/{participant_id}")
    async def set_fault(
        participant_id: str,
        body: FaultRequest,
        st: State,
        _operator: OperatorChange,
        _json: JsonOnly,
    ) -> JSONResponse:
        if body.fault is not None and body.fault not in FAULT_CHOICES:
            raise HTTPException(status_code=422, detail="unbekannte Störung")
        try:
            status, answer = await faults_of(st).set(participant_id, body.fault)
        except NootsError:
            raise HTTPException(status_code=404, detail="unbekanntes Register") from None
        return JSONResponse(answer, status_code=status)


def _participants(topology: Topology) -> dict[str, dict[str, Any]]:
    """What the live view needs to place a component on its lifeline: name and role, and for
    a SAK the participant it connects and that one's role (online service or register)."""
    roles = {p.participant_id: p.role for p in topology.participants()}
    found: dict[str, dict[str, Any]] = {}
    for p in topology.participants():
        entry: dict[str, Any] = {"name": p.name, "role": p.role}
        if p.serves is not None:
            entry["serves"] = p.serves
            entry["servesRole"] = roles.get(p.serves)
            entry["servesName"] = topology.participant(p.serves).name
        found[p.participant_id] = entry
    found[topology.platform.rdn_id] = {"name": "Registerdatennavigation", "role": "rdn"}
    return found


def _local(target: str) -> str:
    """``target`` if it is a path of this dashboard, else the live view (no open redirect)."""
    return target if _LOCAL_PATH.fullmatch(target) else _AFTER_LOGIN


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form (login, logout), small; anything else reads as empty."""
    content_type = request.headers.get("content-type", "").lower()
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return {}
    body = await _read_limited(request, _MAX_FORM_BYTES)
    try:
        pairs = parse_qsl(body.decode("utf-8", errors="replace"), max_num_fields=10)
    except ValueError:  # more fields than any form of ours has
        return {}
    return {key: value.strip() for key, value in pairs}


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
    """For ``uvicorn --factory noots.consumers.dashboard:app_from_env``."""
    from noots.settings import load_settings

    return create_app(load_settings(DashboardSettings))
