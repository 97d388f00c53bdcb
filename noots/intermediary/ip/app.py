"""The Intermediäre Plattform as an HTTP service: ``create_app(settings, national=…)``.

EU-facing (use case 3):

- ``POST /ip/v1/as4``: the IP's simulated eDelivery access point (``eu-gw-de``): a sealed
  ebMS3 message with an EDM ``QueryRequest``; the HTTP response is the sealed answer
  (``ExecuteQueryResponse`` or ``ExceptionResponse``).
- ``GET/POST /ip/v1/preview/{token}``: the German preview page (the user confirms with the
  simulated German eID and decides whether the evidence may be used), then back to
  ``returnurl``.

Citizen-facing (use case 4): ``GET /ip/v1/citizen/{conversation}`` (the simulated EU
identification), ``POST …/identify`` (ask the member state, go to its preview space),
``GET …/back`` (come back, collect, return to ``BackToEvidenceRequesterURL``).

National-facing (use case 4), in the landscape (:mod:`noots.intermediary.ip.landscape`): the IP's
SAK pushes each ``DE.EvidenceOrder.0401`` / ``DE.GetEvidence.0411`` of an online service to
``POST /provider/v1/requests`` (the provider API of docs/SAK.md, with the IAM access token of
the IP's own SAK) and takes the bare ``0402``/``0403`` or ``0412``/``0413``. Standalone (no SAK
in front, ``provider_gate`` None), ``POST /ip/v1/xnachweis`` takes the same messages from
loopback callers only.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import html
import ipaddress
import re
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import httpx
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from noots import messages, trace, xml
from noots.access import AccessTokenVerifier, bearer_challenge
from noots.clock import Clock, SystemClock
from noots.envelope import ReplayGuard
from noots.errors import (
    AccessDenied,
    EdmCode,
    MalformedMessage,
    NootsError,
    SenderMismatch,
    UnresolvedReference,
)
from noots.eu.edm import QueryErrorResponse
from noots.exchange import refusal, request_id, sender
from noots.intermediary._edge import XML_MEDIA_TYPE, read_body, refuse_invalid_input
from noots.intermediary.eu.catalogue import GERMAN_GATEWAY, GERMAN_IP
from noots.intermediary.eu.common import CommonServicesClient
from noots.intermediary.eu.gateway import (
    AS4_MEDIA_TYPE,
    AS4_PATH,
    Gateway,
    ReceivedRequest,
    check_original_sender,
    open_message,
    read_form,
    read_query,
    sealed_answer,
    unreadable_request_answer,
)
from noots.intermediary.ip.platform import IntermediaryPlatform, NationalSide, PlatformConfig
from noots.messages import Agent, EvidenceOrder, GetEvidence
from noots.participant import load_participant
from noots.pki import Role
from noots.sak import PROVIDER_REQUESTS_PATH, ProviderMetadata
from noots.tls import TlsPeer
from noots.trace import Hop

__all__ = ["IpSettings", "ProviderGate", "create_app"]


class IpSettings(BaseSettings):
    """Settings of the Intermediäre Plattform (``NOOTS_IP_*``)."""

    model_config = SettingsConfigDict(env_prefix="NOOTS_IP_", extra="ignore", frozen=True)

    pki_dir: Path = Field(description="The landscape's PKI directory (trust anchor, CRL, keys).")
    participant_id: str = Field(
        default=GERMAN_GATEWAY, description="The IP's eDelivery access point (role platform)."
    )
    platform_id: str = Field(
        default=GERMAN_IP.identifier, description="The IP as an agent (EAS 0204 identifier)."
    )
    platform_name: str = Field(default=GERMAN_IP.name)
    public_url: str = Field(
        default="http://127.0.0.1:8470", description="Where browsers reach the IP's pages."
    )
    common_services_url: str = Field(
        default="http://127.0.0.1:8472", description="The EU Evidence Broker and DSD."
    )
    access_points: dict[str, str] = Field(
        default_factory=dict,
        description="Simulated eDelivery discovery: access point id → base URL (JSON).",
    )
    eu_timeout_seconds: float = Field(default=10.0, gt=0)
    replay_window_seconds: float = Field(
        default=300.0,
        gt=0,
        le=86_400,
        description="Accepted age (±) of an incoming ebMS message's Timestamp; message ids "
        "are remembered this long against replay.",
    )
    national_timeout_seconds: float = Field(default=20.0, gt=0)
    test: bool = Field(default=True, description="Mark XNachweis messages as test messages.")


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang='de'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"{body}</body></html>",
        status_code=status,
    )


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in ("localhost", "testclient")


def _platform(request: Request) -> IntermediaryPlatform:
    found: IntermediaryPlatform = request.app.state.platform
    return found


PlatformDep = Annotated[IntermediaryPlatform, Depends(_platform)]


@dataclass(frozen=True)
class ProviderGate:
    """Who may hand the IP online services' requests: its own SAK, by an IAM access token
    for the IP (role ``sak``, issued to ``sak_id``), with TLS also by its certificate."""

    participant_id: str
    sak_id: str
    verifier: AccessTokenVerifier


def create_app(
    settings: IpSettings,
    *,
    national: NationalSide,
    clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    provider_gate: ProviderGate | None = None,
    replay: ReplayGuard | None = None,
    on_shutdown: Sequence[Callable[[], Awaitable[None]]] = (),
) -> FastAPI:
    """The IP. ``national`` is the NOOTS side (RDN and SAK, wired by the landscape);
    ``transport`` lets tests route the IP's outgoing calls (common services, access points);
    ``provider_gate`` mounts the provider API its SAK pushes to (else the loopback-only
    ``/ip/v1/xnachweis``); ``replay`` remembers the ebMS message ids it accepted (a journaled
    guard in the landscape; in memory by default); ``on_shutdown`` closes what the caller
    opened for it."""
    participant = load_participant(
        settings.pki_dir, settings.participant_id, clock=clock or SystemClock()
    )
    if replay is None:
        replay = ReplayGuard(
            participant.clock, window=timedelta(seconds=settings.replay_window_seconds)
        )
    client = httpx.AsyncClient(transport=transport)
    config = PlatformConfig(
        platform=Agent(settings.platform_id, settings.platform_name),
        public_url=settings.public_url,
        national_timeout=settings.national_timeout_seconds,
        test=settings.test,
    )
    platform = IntermediaryPlatform(
        config,
        national=national,
        gateway=Gateway(
            participant, settings.access_points, client=client, timeout=settings.eu_timeout_seconds
        ),
        common_services=CommonServicesClient(
            settings.common_services_url, client, timeout=settings.eu_timeout_seconds
        ),
        clock=participant.clock,
    )
    app = FastAPI(title="noots Intermediäre Plattform", docs_url=None, redoc_url=None)
    app.state.platform = platform
    refuse_invalid_input(app, component=settings.participant_id)
    app.router.add_event_handler("shutdown", client.aclose)
    for close in on_shutdown:
        app.router.add_event_handler("shutdown", close)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "component": settings.participant_id}

    # --- use case 3: EU evidence requesters ---------------------------------------------------

    @app.post("/ip/v1" + AS4_PATH)
    async def inbox(request: Request, platform: PlatformDep) -> Response:
        # The exchange is traced under the request id the 0301 will carry, so the dashboard
        # draws the EU hops with the national ones.
        national_id = uuid.uuid4()
        me = platform.config.platform.identifier
        with trace.exchange():
            try:
                with trace.span(Hop.EU_IP, me, title="EDM-Anfrage annehmen und prüfen"):
                    trace.step(
                        "eDelivery-Nachricht: Signatur, Zertifikat, Absender = Signierender, "
                        "an diesen Zugangspunkt, EDM-Anfrage gültig"
                    )
                    try:
                        raw = await read_body(request)
                        message = await asyncio.to_thread(open_message, raw, participant)
                        # Single use: the same message id, or a Timestamp outside the window,
                        # never reaches the German side.
                        replay.admit(
                            uuid.uuid5(uuid.NAMESPACE_URL, "ebms:" + message.message_id),
                            message.timestamp,
                            kind="ebMS message",
                        )
                    except NootsError:
                        trace.bind(str(national_id))
                        raise
                    try:
                        query = await asyncio.to_thread(read_query, message)
                    except NootsError as unreadable:
                        trace.bind(str(national_id))
                        trace.fail(unreadable)
                        refused = await asyncio.to_thread(
                            unreadable_request_answer,
                            message,
                            unreadable,
                            participant,
                            error_provider=platform.config.edm_agent,
                            clock=platform.clock,
                        )
                        if refused is None:
                            raise
                        return Response(refused, media_type=AS4_MEDIA_TYPE)
                    try:
                        check_original_sender(message, query)
                    except NootsError:
                        trace.bind(str(national_id))
                        raise
                    received = ReceivedRequest(message, query)
                    # A request repeated after the preview joins the exchange it refers to.
                    held = platform.held_request_id(received.request)
                    trace.bind(str(held or national_id))
                    trace.note(peer=received.message.from_party)
                    trace.attach("EDM QueryRequest", received.message.edm_document)
            except NootsError as exc:
                # Nothing verified to address an EDM answer to.
                return Response(exc.message, status_code=400, media_type="text/plain")
            answer = await platform.handle_query(received, national_id=national_id)
            with trace.span(
                Hop.IP_EU,
                me,
                peer=received.message.from_party,
                title="EDM-Antwort signieren und zurücksenden",
            ):
                if isinstance(answer, QueryErrorResponse):
                    error = answer.error
                    trace.check(
                        "Vorschau an der IP verlangt (PreviewRequired)"
                        if error.preview_required
                        else "Nachweis geliefert",
                        error.preview_required,
                        "" if error.preview_required else f"{answer.code.value} {error.message}",
                    )
                else:
                    trace.check("Nachweis geliefert (QueryResponse)", True)
                body = await asyncio.to_thread(
                    sealed_answer, received.message, answer, participant, clock=platform.clock
                )
                trace.attach("EDM-Antwort (eDelivery-Nachricht)", body)
        return Response(body, media_type=AS4_MEDIA_TYPE)

    @app.get("/ip/v1/preview/{token}")
    async def preview(token: str, platform: PlatformDep, returnurl: str = "") -> Response:
        held = platform.held_evidence(token)
        if held is None:
            return _page("Vorschau nicht gefunden", "<p>Dieser Link ist ungültig.</p>", 404)
        items = "".join(
            f"<li>{html.escape(evidence.conformance.title)} "
            f"({html.escape(evidence.media_type)}), ausgestellt von "
            f"{html.escape(evidence.issuing_authority.name)} am "
            f"{evidence.issuing_date.isoformat()}"
            f"<pre>{html.escape(_preview_text(evidence.document, evidence.media_type))}</pre>"
            "</li>"
            for evidence in held.evidences
        )
        form = (
            "<form method='post'>"
            f"<input type='hidden' name='returnurl' value='{html.escape(returnurl, quote=True)}'>"
            "<p><label><input type='checkbox' name='eid' value='yes' required> "
            "Ich bestätige meine Identität mit der Online-Ausweisfunktion (simuliert).</label></p>"
            "<button name='decision' value='approve'>Nachweis übermitteln</button> "
            "<button name='decision' value='decline'>Nicht übermitteln</button></form>"
        )
        return _page("Vorschau Ihres Nachweises aus Deutschland", f"<ul>{items}</ul>{form}")

    @app.post("/ip/v1/preview/{token}")
    async def preview_decision(token: str, request: Request, platform: PlatformDep) -> Response:
        form = await read_form(request)
        decision, eid = form.get("decision", ""), form.get("eid", "")
        returnurl = form.get("returnurl", "")
        if decision not in ("approve", "decline") or (decision == "approve" and eid != "yes"):
            return _page("Nicht bestätigt", "<p>Bitte bestätigen Sie Ihre Identität.</p>", 400)
        held = platform.held_evidence(token)
        with trace.exchange():
            if held is not None:
                trace.bind(str(held.request_id))
            with trace.span(
                Hop.CITIZEN_IP,
                platform.config.platform.identifier,
                title="Nutzerin entscheidet in der Vorschau an der IP",
            ):
                trace.step("Identität bestätigt (Online-Ausweis, simuliert)")
                trace.check(
                    "Nachweis freigegeben",
                    decision == "approve",
                    "" if decision == "approve" else "abgelehnt",
                )
                if not platform.decide(token, approve=decision == "approve"):
                    return _page("Vorschau nicht gefunden", "<p>Dieser Link ist ungültig.</p>", 404)
        if re.fullmatch(r"https?://[^\s]+", returnurl):
            return RedirectResponse(returnurl, status_code=303)
        return _page("Danke", "<p>Ihre Entscheidung wurde gespeichert.</p>")

    # --- use case 4: the citizen ---------------------------------------------------------------

    @app.get("/ip/v1/citizen/{conversation_id}")
    async def citizen(conversation_id: str, platform: PlatformDep) -> Response:
        conversation = platform.conversation(conversation_id)
        if conversation is None:
            return _page("Vorgang nicht gefunden", "<p>Dieser Link ist ungültig.</p>", 404)
        order = conversation.order
        publisher = conversation.service.publisher
        body = (
            f"<p>{html.escape(order.requester.name)} möchte für Sie den Nachweis "
            f"<b>{html.escape(order.evidence_type.title)}</b> bei "
            f"<b>{html.escape(publisher.name)}</b> ({html.escape(publisher.country or '')}) "
            "abrufen.</p>"
            "<form method='post' action='"
            f"{html.escape(platform.citizen_url(conversation_id))}/identify'>"
            "<p><label><input type='checkbox' name='eid' value='yes' required> "
            "Ich melde mich mit meiner eID an (eIDAS, simuliert).</label></p>"
            "<button>Weiter zum Nachweis</button></form>"
        )
        return _page("Intermediäre Plattform – Nachweis aus der EU", body)

    @app.post("/ip/v1/citizen/{conversation_id}/identify")
    async def identify(conversation_id: str, request: Request, platform: PlatformDep) -> Response:
        if (await read_form(request)).get("eid") != "yes":
            return _page("Nicht angemeldet", "<p>Bitte melden Sie sich an.</p>", 400)
        with _citizen_trace(platform, conversation_id, "Bürgerin meldet sich an der IP an"):
            trace.step("Anmeldung mit eIDAS-Identifizierung (simuliert)")
            try:
                target = await platform.citizen_identified(conversation_id)
            except UnresolvedReference:
                return _page("Vorgang nicht gefunden", "<p>Dieser Link ist ungültig.</p>", 404)
        return RedirectResponse(target, status_code=303)

    @app.get("/ip/v1/citizen/{conversation_id}/back")
    async def back(conversation_id: str, platform: PlatformDep) -> Response:
        with _citizen_trace(
            platform, conversation_id, "Bürgerin kommt aus der Vorschau im Mitgliedstaat zurück"
        ):
            try:
                target = await platform.citizen_back(conversation_id)
            except UnresolvedReference:
                return _page("Vorgang nicht gefunden", "<p>Dieser Link ist ungültig.</p>", 404)
            trace.step("Zurück zum Online-Dienst (BackToEvidenceRequesterURL)")
        return RedirectResponse(target, status_code=303)

    # --- use case 4: the online service --------------------------------------------------------

    async def answer_national(
        message: messages.Message, platform: IntermediaryPlatform
    ) -> Response:
        if isinstance(message, EvidenceOrder):
            answer: messages.Message = await platform.order(message)
        elif isinstance(message, GetEvidence):
            answer = platform.get_evidence(message)
        else:
            error = MalformedMessage(
                f"{messages.message_type(message)}: the IP takes DE.EvidenceOrder.0401 and "
                "DE.GetEvidence.0411"
            )
            return Response(error.message, status_code=400, media_type="text/plain")
        status = 200
        if isinstance(
            answer, messages.EvidenceOrderErrorResponse | messages.GetEvidenceErrorResponse
        ):
            code = answer.code
            status = code.http_status if isinstance(code, EdmCode) else 500
        return Response(messages.to_bytes(answer), status_code=status, media_type=XML_MEDIA_TYPE)

    if provider_gate is None:

        @app.post("/ip/v1/xnachweis")
        async def national_message(request: Request, platform: PlatformDep) -> Response:
            if not _loopback(request):
                return Response("loopback only without a SAK in front", status_code=403)
            try:
                raw = await read_body(request)
                message = messages.parse(await asyncio.to_thread(xml.parse, raw), messages.ANY)
            except NootsError as exc:
                return Response(exc.message, status_code=400, media_type="text/plain")
            return await answer_national(message, platform)

        return app

    gate = provider_gate

    @app.post(PROVIDER_REQUESTS_PATH)
    async def from_own_sak(request: Request, platform: PlatformDep) -> Response:
        """Push mode of the provider API: the IP's SAK hands over one 0401/0411."""
        try:
            grant = gate.verifier.verify_authorization(
                request.headers.get("authorization"), roles=(Role.SAK,)
            )
            if grant.subject != gate.sak_id:
                raise AccessDenied(f"{gate.participant_id} accepts requests only from its SAK")
            TlsPeer.of(request.scope).check(gate.sak_id, component=gate.participant_id)
        except NootsError as refused:
            return JSONResponse(
                {"code": refused.code.value, "detail": refused.message},
                status_code=refused.code.http_status,
                headers={"WWW-Authenticate": bearer_challenge(refused)},
            )
        try:
            raw = await read_body(request)
            metadata = ProviderMetadata.from_headers(request.headers)
            message = messages.parse(await asyncio.to_thread(xml.parse, raw), messages.ANY)
        except NootsError as exc:
            return JSONResponse(
                {"code": exc.code.value, "detail": exc.message}, status_code=exc.code.http_status
            )
        if isinstance(message, EvidenceOrder | GetEvidence) and sender(message) != (
            metadata.consumer
        ):
            mismatch = SenderMismatch(
                "the request's sender is not the online service its SAK names"
            )
            answer = refusal(
                message,
                mismatch.code,
                mismatch.message,
                clock=platform.clock,
                error_provider=platform.config.platform,
            )
            return Response(
                messages.to_bytes(answer),
                status_code=mismatch.code.http_status,
                media_type=XML_MEDIA_TYPE,
            )
        label = messages.message_type(message).rpartition(".")[2]
        with trace.exchange():
            trace.bind(str(request_id(message)))
            with trace.span(
                Hop.SAK_DP,
                gate.participant_id,
                peer=gate.sak_id,
                title=f"{label} prüfen und beantworten",
            ):
                trace.step(f"{label} vom eigenen SAK, Absender laut SAK")
                answered = await answer_national(message, platform)
            with trace.span(
                Hop.DP_SAK,
                gate.participant_id,
                peer=gate.sak_id,
                title="Antwort an den eigenen SAK",
            ):
                trace.attach("Antwort der IP", bytes(answered.body))
        return answered

    return app


@contextlib.contextmanager
def _citizen_trace(
    platform: IntermediaryPlatform, conversation_id: str, title: str
) -> Iterator[None]:
    """The citizen's steps at the IP, traced under the order's id (drawn with the order)."""
    conversation = platform.conversation(conversation_id)
    with trace.exchange():
        if conversation is not None:
            trace.bind(str(conversation.order.order_id))
        with trace.span(Hop.CITIZEN_IP, platform.config.platform.identifier, title=title):
            yield


def _preview_text(document: bytes, media_type: str) -> str:
    """What the preview page shows of a document: text as text, anything else as base64."""
    if media_type.endswith("xml") or media_type.startswith("text/"):
        return document.decode("utf-8", "replace")[:4000]
    return base64.b64encode(document[:600]).decode("ascii") + "…"
