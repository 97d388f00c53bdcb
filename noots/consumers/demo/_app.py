"""The demo online services: one app factory, the service kind comes from the topology.

Flow (German UI): start → login with the simulated eID → consent (what is fetched from whom
and why) → fetch through the client library → preview of each evidence with accept/reject →
summary with the accepted data only (DC-07). The browser holds a signed session id; the
application state stays on the server.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl

import httpx
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import Field

from noots.consumers._client import AsyncClient, Endpoints
from noots.consumers._document import DocumentRow
from noots.consumers._eu import EuEvidencePending
from noots.consumers._explain import ExchangeContext, explain
from noots.consumers._matrix import matrix_rows
from noots.consumers._person import PersonQuery, company
from noots.consumers._retry import RetryPolicy
from noots.consumers.demo._flow import (
    Application,
    Citizen,
    Decision,
    FlowError,
    Retrieval,
    SessionStore,
    Step,
    sign_session_id,
    unsign_session_id,
)
from noots.consumers.demo._services import EuOrder, EvidenceNeed, ServiceKind, service_kind
from noots.eid import verify_identity
from noots.errors import EvidencePending, NootsError
from noots.german import berlin_time, von
from noots.participant import Participant, load_participant
from noots.paths import LandscapePaths
from noots.protocol import open_protocol_log
from noots.settings import NootsSettings, load_settings
from noots.synthetic.identities import BEHAVIOUR_IDENTITIES
from noots.topology import ConsumerSpec, Topology

__all__ = ["DemoSettings", "app_from_env", "cookie_name", "create_app", "shown_value"]

log = logging.getLogger("noots.consumers.demo")

HERE = Path(__file__).parent


def cookie_name(service: ServiceKind) -> str:
    """One cookie per service: browsers share cookies across the ports of one host, and the
    three demo services usually run on one host."""
    return f"noots_antrag_{service.kind}"


#: Evidence announced for later gets its own page before the preview.
PENDING_PATH = "/spaeter"
#: Where the Intermediäre Plattform sends the citizen back (BackToEvidenceRequesterURL).
EU_BACK_PATH = "/eu-nachweis/zurueck"

_STEP_PATHS = {
    Step.LOGIN: "/anmelden",
    Step.CONSENT: "/einwilligung",
    Step.PREVIEW: "/vorschau",
    Step.DONE: "/abschluss",
}


class DemoSettings(NootsSettings):
    """Settings of one demo service (``NOOTS_CONSUMER_ID``, ``NOOTS_SESSION_SECRET``, …)."""

    consumer_id: str = Field(
        default="08118079-BPA-87", description="Participant id of this online service."
    )
    session_secret: str = Field(
        default="", description="Key for the session cookie; random per start when empty."
    )
    eid_url: str | None = Field(
        default=None, description="Where the browser logs in (default: the platform's URL)."
    )
    platform_url: str | None = Field(
        default=None, description="Override of the platform URL (eID, Datenschutzcockpit)."
    )
    ida_url: str | None = Field(default=None, description="Override of the IDA URL.")
    sak_url: str | None = Field(
        default=None,
        description=(
            "Override of this service's SAK (its consumer API; default: the topology's SAK "
            "of the service)."
        ),
    )
    pending_wait_seconds: float = Field(
        default=15.0,
        ge=0,
        description=(
            "How long a page waits for an evidence announced for later "
            "(ResponseAvailableDateTime) before telling the citizen to come back."
        ),
    )


class _State:
    """What the routes share; built once in the lifespan."""

    def __init__(
        self,
        settings: DemoSettings,
        topology: Topology,
        participant: Participant,
        client: AsyncClient,
        http: httpx.AsyncClient,
        eid_url: str,
    ) -> None:
        self.settings = settings
        self.topology = topology
        self.participant = participant
        self.client = client
        self.http = http
        self.eid_url = eid_url
        self.spec: ConsumerSpec = topology.consumer(settings.consumer_id)
        self.service: ServiceKind = service_kind(self.spec.kind)
        self.secret = (settings.session_secret or secrets.token_hex(32)).encode()
        self.store = SessionStore()
        # Where the citizen sees every transfer about them (linked from the closing page).
        self.dsc_url = (
            settings.platform_url or topology.base_url("platform", tls=settings.tls)
        ) + "/dsc/"

    def purpose(self, evidence_type: str) -> tuple[str, str]:
        """Purpose and legal basis of this service's matrix row for ``evidence_type``."""
        rows = matrix_rows(self.topology, self.spec.participant_id, evidence_type)
        if rows:
            return rows[0].purpose, rows[0].legal_basis
        return self.service.kind.capitalize(), "nicht angegeben"


def app_from_env() -> FastAPI:
    """The demo service named by ``NOOTS_CONSUMER_ID``, for
    ``uvicorn --factory noots.consumers.demo:app_from_env``."""
    return create_app(load_settings(DemoSettings))


def _state(request: Request) -> _State:
    value: _State = request.app.state.noots
    return value


State = Annotated[_State, Depends(_state)]


def _current(request: Request, st: State) -> Application | None:
    """The application of this browser session, if the signed cookie names a live one."""
    raw = request.cookies.get(cookie_name(st.service))
    if not raw:
        return None
    session_id = unsign_session_id(st.secret, raw)
    if session_id is None:
        return None
    return st.store.get(session_id, st.participant.clock.now())


Current = Annotated[Application | None, Depends(_current)]


def create_app(
    settings: DemoSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    participant: Participant | None = None,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> FastAPI:
    """The demo service for ``settings.consumer_id`` (its kind decides which service it is).

    ``transport`` carries its calls (to its SAK, the IDA and the eID); ``sleep`` is how its
    client waits for evidence announced for later (tests move a simulated clock instead).
    """
    topology = settings.load_topology()
    spec = topology.consumer(settings.consumer_id)
    service = service_kind(spec.kind)
    templates = Jinja2Templates(directory=HERE / "templates")
    # German for people: "von der Stadt …", times in Europe/Berlin, dates as 12.08.1964.
    templates.env.filters["von"] = von
    templates.env.filters["zeit"] = berlin_time
    templates.env.filters["wert"] = shown_value

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        paths = LandscapePaths(settings.data_dir)
        me = participant or load_participant(
            paths.pki_dir, settings.consumer_id, clock=settings.clock()
        )
        endpoints = Endpoints.from_topology(
            topology, tls=settings.tls, consumer=settings.consumer_id
        )
        endpoints = Endpoints(
            settings.platform_url or endpoints.platform,
            settings.ida_url or endpoints.ida,
            settings.sak_url or endpoints.sak,
        )
        # Where the platform's Datenschutzcockpit reads (NOOTS_DATABASE_URL in compose).
        protocol = open_protocol_log(
            settings.protocol_log_target(settings.consumer_id, topology),
            party=settings.consumer_id,
            clock=me.clock,
        )
        # One connection pool for everything this service calls (its SAK, the IDA, the eID).
        http = httpx.AsyncClient(transport=transport, timeout=30.0)
        # A citizen waits on the page: asynchronous evidence is awaited briefly only.
        policy = retry or RetryPolicy(
            max_pending_wait=timedelta(seconds=settings.pending_wait_seconds)
        )
        options: dict[str, Any] = {"http": http, "protocol_log": protocol, "retry": policy}
        if sleep is not None:
            options["sleep"] = sleep
        client = AsyncClient(me, endpoints, topology, test=not settings.strict, **options)
        app.state.noots = _State(
            settings, topology, me, client, http, settings.eid_url or endpoints.platform
        )
        try:
            yield
        finally:
            await http.aclose()
            protocol.close()

    app = FastAPI(title=service.title, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def page(request: Request, st: _State, name: str, **context: Any) -> HTMLResponse:
        application = context.get("application")
        csrf = sign_session_id(st.secret, application.id, "form") if application else ""
        return templates.TemplateResponse(
            request,
            name,
            {
                "service": st.service,
                "spec": st.spec,
                "csrf": csrf,
                "step": application.step.value if application else "start",
                "dsc_url": st.dsc_url,
                **context,
            },
        )

    def go(path: str) -> RedirectResponse:
        return RedirectResponse(path, status_code=303)

    def check_form(st: _State, application: Application, token: str) -> None:
        if unsign_session_id(st.secret, token, "form") != application.id:
            raise FlowError("form token does not belong to this session", application.step)

    @app.exception_handler(FlowError)
    async def out_of_order(request: Request, exc: FlowError) -> Response:
        return go(_STEP_PATHS[exc.step])

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": service.kind}

    @app.get("/", response_class=HTMLResponse)
    async def start(request: Request, st: State) -> HTMLResponse:
        return page(request, st, "start.html", needs=_needs_with_providers(st))

    @app.post("/antrag")
    async def begin(st: State) -> Response:
        application = st.store.create(st.service, st.participant.clock.now())
        response = go("/anmelden")
        response.set_cookie(
            cookie_name(st.service),
            sign_session_id(st.secret, application.id),
            httponly=True,
            samesite="lax",
            secure=st.settings.tls,
        )
        return response

    @app.get("/anmelden", response_class=HTMLResponse)
    async def login(request: Request, st: State, application: Current) -> Response:
        if application is None:
            return go("/")
        if application.step is not Step.LOGIN:
            return go(_STEP_PATHS[application.step])
        return page(request, st, "login.html", application=application, identities=_IDENTITIES)

    @app.post("/anmelden", response_class=HTMLResponse)
    async def log_in(
        request: Request,
        st: State,
        application: Current,
    ) -> Response:
        if application is None:
            return go("/")
        form = await _form(request)
        check_form(st, application, form.get("csrf", ""))
        citizen = await _identify(st, form.get("idnr", ""))
        if citizen is None:
            return page(
                request,
                st,
                "login.html",
                application=application,
                identities=_IDENTITIES,
                failed=True,
            )
        application.log_in(citizen)
        return go("/einwilligung")

    @app.get("/einwilligung", response_class=HTMLResponse)
    async def consent(request: Request, st: State, application: Current) -> Response:
        if application is None:
            return go("/")
        if application.step is not Step.CONSENT:
            return go(_STEP_PATHS[application.step])
        return page(
            request,
            st,
            "consent.html",
            application=application,
            needs=_needs_with_providers(st),
            municipalities=st.topology.municipalities(),
            errors={},
            values={},
        )

    @app.post("/einwilligung", response_class=HTMLResponse)
    async def give_consent(
        request: Request,
        st: State,
        application: Current,
    ) -> Response:
        if application is None:
            return go("/")
        form = await _form(request)
        check_form(st, application, form.get("csrf", ""))
        errors = _check_details(st, form)
        if not form.get("agree"):
            errors["agree"] = "Bitte willigen Sie in den Abruf ein oder brechen Sie ab."
        if errors:
            return page(
                request,
                st,
                "consent.html",
                application=application,
                needs=_needs_with_providers(st),
                municipalities=st.topology.municipalities(),
                errors=errors,
                values=form,
            )
        details = {k: v for k, v in form.items() if k not in {"csrf", "agree"}}
        application.give_consent(st.participant.clock.now(), details)
        for retrieval in application.retrievals:
            await _fetch(st, application, retrieval.need)
        # EU evidence (use case 4): the citizen goes to the Intermediäre Plattform, identifies
        # there, previews the evidence in the member state and comes back to EU_BACK_PATH.
        ordered = [r.order for r in application.retrievals if r.order is not None]
        if ordered:
            return go(ordered[0].url_to_ip)
        return go(PENDING_PATH if application.pending() else "/vorschau")

    @app.get(EU_BACK_PATH)
    async def back_from_the_ip(st: State, application: Current) -> Response:
        """The citizen comes back from the Intermediäre Plattform: collect the EU evidence
        (0411) and show it in the preview like every other evidence."""
        if application is None:
            return go("/")
        if application.step is not Step.PREVIEW:
            return go(_STEP_PATHS[application.step])
        for retrieval in application.retrievals:
            if retrieval.order is not None and not retrieval.rows and retrieval.error is None:
                await _collect(st, retrieval)
        return go(PENDING_PATH if application.pending() else "/vorschau")

    @app.get(PENDING_PATH, response_class=HTMLResponse)
    async def pending(request: Request, st: State, application: Current) -> Response:
        """The register announced evidence for later: say when, and what the citizen can do."""
        if application is None:
            return go("/")
        if application.step is not Step.PREVIEW or not application.pending():
            return go(_STEP_PATHS[application.step])
        return page(request, st, "pending.html", application=application)

    @app.post("/abbrechen")
    async def cancel(request: Request, st: State, application: Current) -> Response:
        if application is not None:
            check_form(st, application, (await _form(request)).get("csrf", ""))
        response = go("/")
        response.delete_cookie(cookie_name(st.service))
        return response

    @app.get("/vorschau", response_class=HTMLResponse)
    async def preview(request: Request, st: State, application: Current) -> Response:
        if application is None:
            return go("/")
        if application.step is not Step.PREVIEW:
            return go(_STEP_PATHS[application.step])
        return page(request, st, "preview.html", application=application, missing=[])

    @app.post("/vorschau", response_class=HTMLResponse)
    async def decide(request: Request, st: State, application: Current) -> Response:
        if application is None:
            return go("/")
        form = await _form(request)
        check_form(st, application, form.get("csrf", ""))
        decisions: dict[str, Decision] = {}
        missing = []
        for retrieval in application.retrievals:
            if not retrieval.fetched:
                continue
            key = retrieval.need.evidence_type
            value = form.get(f"decision-{key}")
            if value == "accepted":
                decisions[key] = "accepted"
            elif value == "rejected":
                decisions[key] = "rejected"
            else:
                missing.append(key)
        if missing:
            return page(request, st, "preview.html", application=application, missing=missing)
        application.decide(decisions)
        application.complete(st.participant.clock.now())
        log.info(
            "application %s completed: accepted %s",
            application.reference,
            [r.need.evidence_type for r in application.accepted()],
        )
        return go("/abschluss")

    @app.get("/abschluss", response_class=HTMLResponse)
    async def summary(request: Request, st: State, application: Current) -> Response:
        if application is None:
            return go("/")
        if application.step is not Step.DONE:
            return go(_STEP_PATHS[application.step])
        return page(request, st, "summary.html", application=application)

    return app


_MAX_FORM = 16 * 1024
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})")


def shown_value(value: str) -> str:
    """A document value as a person in Germany reads it: an ISO time in Europe/Berlin
    ("06.12.2026, 06:12 Uhr"), an ISO date as 12.08.1964; anything else as it is."""
    from datetime import datetime

    try:
        if _ISO_TIME.fullmatch(value):
            return berlin_time(datetime.fromisoformat(value.replace("Z", "+00:00")))
        if _ISO_DATE.fullmatch(value):
            return date.fromisoformat(value).strftime("%d.%m.%Y")
    except ValueError:  # shaped like one, but no real date: shown as it came
        pass
    return value


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded form of a POST (the pages post nothing else), values stripped."""
    body = await request.body()
    if len(body) > _MAX_FORM:
        return {}
    pairs = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {key: value.strip() for key, value in pairs}


#: The simulated eID offers every test citizen; the login page lists the fixed test identities.
_IDENTITIES = [
    {"idnr": i.idnr, "name": f"{i.given_names} {i.family_name}", "description": i.description}
    for i in BEHAVIOUR_IDENTITIES
]


async def _identify(st: _State, idnr: str) -> Citizen | None:
    """Log in at the simulated eID and verify the identity token it issues for us."""
    try:
        response = await st.http.post(
            f"{st.eid_url}/eid/v1/login",
            json={"idnr": idnr, "level": "hoch", "audience": st.spec.participant_id},
        )
    except httpx.HTTPError as exc:
        log.warning("eID unreachable: %s", type(exc).__name__)
        return None
    if response.status_code != 200:
        return None
    try:
        identity = verify_identity(
            str(response.json().get("token", "")),
            st.participant.verifier,
            clock=st.participant.clock,
            min_level="substantiell",
            audience=st.spec.participant_id,
        )
    except (NootsError, ValueError) as exc:
        log.info("identity token refused: %s", exc)
        return None
    return Citizen(
        identity.idnr,
        identity.given_name,
        identity.family_name,
        identity.date_of_birth,
        identity.level,
    )


def _needs_with_providers(st: _State) -> list[dict[str, Any]]:
    """For the start and consent pages: each evidence, from whom, why, on what legal basis."""
    out = []
    for need in st.service.needs:
        purpose, legal_basis = st.purpose(need.evidence_type)
        spec = st.topology.evidence_type(need.evidence_type)
        region = st.spec.region if spec.regional and not st.service.asks_residence else None
        providers = st.topology.service_providers(need.evidence_type, region)
        if need.eu is not None:
            source = f"Hochschule in {need.eu.country_name}, über die Intermediäre Plattform"
        elif len(providers) == 1:
            source = providers[0].name
        elif spec.regional:
            source = "Melderegister Ihres Wohnorts"
        else:
            source = "zuständiges Register"
        out.append(
            {
                "need": need,
                "source": source,
                "purpose": purpose,
                "legal_basis": legal_basis,
                "title": spec.title,
            }
        )
    return out


def _check_details(st: _State, form: dict[str, str]) -> dict[str, str]:
    """The extra details the service asks for (residence, child, company); German messages."""
    errors: dict[str, str] = {}
    subjects = st.service.subjects
    if st.service.asks_residence:
        regions = {r.region for r in st.topology.municipalities()}
        if form.get("region") not in regions:
            errors["region"] = "Bitte wählen Sie Ihren Wohnort."
    if "child" in subjects:
        for key, label in (
            ("child_given_name", "den Vornamen"),
            ("child_family_name", "den Familiennamen"),
        ):
            if not form.get(key):
                errors[key] = f"Bitte geben Sie {label} Ihres Kindes an."
        try:
            date.fromisoformat(form.get("child_date_of_birth", ""))
        except ValueError:
            errors["child_date_of_birth"] = "Bitte geben Sie das Geburtsdatum Ihres Kindes an."
    if "company" in subjects:
        if not form.get("company_name"):
            errors["company_name"] = "Bitte geben Sie die Firma an."
        try:
            company(form.get("company_name") or "-", form.get("company_register_number", ""))
        except NootsError:
            errors["company_register_number"] = (
                "Bitte geben Sie die Registernummer an, zum Beispiel „HRB 12345“."
            )
    return errors


async def _order(st: _State, retrieval: Retrieval, citizen: Citizen, eu: EuOrder) -> None:
    """Order EU evidence through the Intermediäre Plattform (0401); a refusal is kept as an
    explanation, the order on the retrieval."""
    need = retrieval.need
    purpose, _legal_basis = st.purpose(need.evidence_type)
    own = st.topology.base_url(st.spec.participant_id, tls=st.settings.tls)
    try:
        retrieval.order = await st.client.order_evidence(
            need.evidence_type,
            purpose=purpose,
            person=PersonQuery(citizen.given_name, citizen.family_name, citizen.date_of_birth),
            country=eu.country,
            requirement=eu.requirement,
            requirement_name=eu.requirement_name,
            back_url=own + EU_BACK_PATH,
            procedure=eu.procedure,
        )
    except NootsError as exc:
        context = ExchangeContext(st.spec.participant_id, need.evidence_type, purpose)
        retrieval.error = explain(exc, context, language="de")
        log.info("order of %s refused: %s %s", need.evidence_type, exc.code, exc.message)
        return
    retrieval.provider_name = retrieval.order.route.provider_name
    retrieval.request_id = f"urn:uuid:{retrieval.order.order_id}"


async def _collect(st: _State, retrieval: Retrieval) -> None:
    """Collect the EU evidence of an order (0411): rows to preview, an announcement, or the
    explanation of the refusal (the citizen declined: 0004)."""
    order = retrieval.order
    assert order is not None
    need = retrieval.need
    try:
        found = await st.client.get_evidence(order)
    except NootsError as exc:
        context = ExchangeContext(st.spec.participant_id, need.evidence_type, order.purpose)
        retrieval.error = explain(exc, context, language="de")
        log.info("collection of %s failed: %s %s", need.evidence_type, exc.code, exc.message)
        return
    if isinstance(found, EuEvidencePending):
        retrieval.pending_until = found.available_at
        return
    retrieval.rows = [DocumentRow((label,), label, value) for label, value in found.rows()]
    retrieval.provider_name = f"{found.issuer} über die {found.platform}"


async def _fetch(st: _State, application: Application, need: EvidenceNeed) -> None:
    """Fetch one evidence through the client library; a failure is kept as an explanation.
    EU evidence is ordered instead (:func:`_order`) and collected when the citizen is back."""
    retrieval = next(r for r in application.retrievals if r.need is need)
    citizen = application.citizen
    assert citizen is not None  # consent comes after login
    if need.eu is not None:
        await _order(st, retrieval, citizen, need.eu)
        return
    purpose, legal_basis = st.purpose(need.evidence_type)
    spec = st.topology.evidence_type(need.evidence_type)
    region = application.details.get("region") or st.spec.region
    kwargs: dict[str, Any] = {"purpose": purpose, "legal_basis": legal_basis}
    if spec.regional:
        kwargs["region"] = region
    if need.subject == "citizen":
        kwargs["idnr"] = citizen.idnr
        kwargs["person"] = PersonQuery(
            citizen.given_name, citizen.family_name, citizen.date_of_birth
        )
    elif need.subject == "child":
        d = application.details
        kwargs["person"] = PersonQuery(
            d["child_given_name"],
            d["child_family_name"],
            date.fromisoformat(d["child_date_of_birth"]),
        )
    else:
        d = application.details
        kwargs["company"] = company(d["company_name"], d["company_register_number"])
    try:
        result = await st.client.fetch_evidence(need.evidence_type, **kwargs)
    except EvidencePending as exc:
        # Not a failure: the register will have it then (its own page says so).
        retrieval.pending_until = exc.available_at
        retrieval.request_id = f"urn:uuid:{exc.request_id}"
        log.info("retrieval of %s announced for %s", need.evidence_type, exc.available_at)
        return
    except NootsError as exc:
        context = ExchangeContext(st.spec.participant_id, need.evidence_type, purpose)
        retrieval.error = explain(exc, context, language="de")
        log.info("retrieval of %s failed: %s %s", need.evidence_type, exc.code, exc.message)
        return
    retrieval.rows = result.rows()
    retrieval.provider_name = result.route.provider_name
    retrieval.request_id = f"urn:uuid:{result.request_id}"
