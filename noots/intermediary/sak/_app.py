"""The SAK app factory: the consumer API or the provider API, and the transport endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from noots import __version__, trace
from noots.access import bearer_challenge
from noots.clock import Clock
from noots.errors import InvalidInput, NootsError
from noots.faults import Fault
from noots.faults_http import DroppedResponse, add_fault_admin, hang
from noots.intermediary._edge import problem, read_body, refuse_invalid_input
from noots.intermediary.sak._consumer import ConsumerSide, SubmitAnswer
from noots.intermediary.sak._network import AiohttpNetwork, Network
from noots.intermediary.sak._node import SakNode
from noots.intermediary.sak._provider import AnswerResult, PassiveQueue, ProviderSide
from noots.intermediary.sak._settings import SakSettings
from noots.participant import Participant
from noots.pki import Role
from noots.sak import (
    AUTHORISATIONS_PATH,
    CONSUMER_REQUESTS_PATH,
    PROVIDER_REQUESTS_PATH,
    ROUTES_PATH,
    TRANSPORT_PATH,
    XML_MEDIA_TYPE,
    AuthorisationAnswer,
    AuthorisationRequest,
    Problem,
    RouteAnswer,
    SubmissionHandle,
)
from noots.sak import Header as H
from noots.state import StateFile
from noots.tls import TlsFiles, TlsPeer, client_context
from noots.topology import Topology
from noots.xml import DEFAULT_LIMITS

__all__ = ["consumer_router", "create_app", "provider_router", "transport_router"]


def create_app(
    settings: SakSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock | None = None,
    topology: Topology | None = None,
    participant: Participant | None = None,
) -> FastAPI:
    """The SAK of ``settings.participant_id``: a consumer API for an online service, the
    provider API and the transport endpoint for a register.

    ``transport`` carries the SAK's outgoing calls (tests wire it to in-process apps; with TLS,
    one that presents the SAK's certificate).
    """
    topology = topology or settings.load_topology()
    clock = clock or settings.clock()
    network: Network | None = None
    verify: Any = True
    if transport is None:
        # Real sockets: the SAK makes its own connections, with its own certificate under TLS,
        # and the hot path goes through aiohttp (noots.sak._network).
        tls = None
        if settings.tls:
            sak_id = topology.sak_id(settings.participant_id)
            tls = verify = client_context(TlsFiles.for_participant(settings.pki_dir, sak_id))
        network = AiohttpNetwork(tls)
    http = httpx.AsyncClient(
        transport=transport,
        verify=verify,
        timeout=httpx.Timeout(None),
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
        follow_redirects=False,
        trust_env=False,
    )
    node = SakNode(
        settings,
        topology=topology,
        clock=clock,
        http=http,
        network=network,
        participant=participant,
    )
    state = StateFile(settings.state_path(node.sak_id)) if node.has_provider_side else None
    consumer: ConsumerSide | None = None
    provider: ProviderSide | None = None
    if state is not None:
        provider = ProviderSide(
            node,
            settings.replay_guard(clock, state),
            PassiveQueue(settings.passive_queue_limit, node.served.participant_id),
        )
    if node.has_consumer_side:
        # The IP's SAK has both sides: it sends 0301 and receives 0401/0411.
        consumer = ConsumerSide(node)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if consumer is not None:
                await consumer.aclose()
            await node.network.aclose()
            await http.aclose()
            if state is not None:
                state.close()

    served = node.served
    side = (
        "data provider"
        if node.is_provider
        else "Intermediäre Plattform"
        if node.is_platform
        else "online service"
    )
    app = FastAPI(
        title=f"Sicherer Anschlussknoten: {served.name}",
        version=__version__,
        summary=(
            f"The SAK of {served.participant_id} ({side}): the participant's only connection "
            "to NOOTS (simulated)."
        ),
        lifespan=lifespan,
    )
    app.state.sak = node

    @app.exception_handler(_Refused)
    async def refused(_request: Request, exc: _Refused) -> Response:
        answer = problem(exc.error, component=node.sak_id)
        answer.headers["WWW-Authenticate"] = bearer_challenge(exc.error)
        return answer

    refuse_invalid_input(app, component=node.sak_id)

    if consumer is not None:
        app.state.consumer_side = consumer
        app.include_router(consumer_router())
    if provider is not None:
        app.state.provider_side = provider
        app.include_router(provider_router())
        app.include_router(transport_router())
        provider.check_plan(provider.faults.baseline)
        if not settings.strict and settings.admin_token is not None:
            add_fault_admin(
                app, settings.admin_token.get_secret_value(), lambda r: r.app.state.provider_side
            )

    @app.get("/health", tags=["health"])
    def health() -> JSONResponse:
        """200 when the SAK's own certificate is valid now (not expired, not revoked)."""
        checks: dict[str, str] = {}
        try:
            node.participant.validator.validate(
                node.participant.credential.certificate, required_role=Role.SAK
            )
            checks["certificate"] = "ok"
        except NootsError as error:
            checks["certificate"] = f"failed: {error.message}"
        healthy = all(v == "ok" for v in checks.values())
        body: dict[str, Any] = {
            "status": "healthy" if healthy else "degraded",
            "participant": node.sak_id,
            "serves": served.participant_id,
            "side": "provider" if node.is_provider else "both" if node.is_platform else "consumer",
            "checks": checks,
        }
        if provider is not None:
            body["mode"] = served.sak.mode
            body["waiting"] = len(provider.queue)
        return JSONResponse(body, status_code=200 if healthy else 503)

    return app


# -- consumer API ----------------------------------------------------------------------------


class _Refused(Exception):
    """A caller the SAK does not accept: answered as a JSON problem (401/403)."""

    def __init__(self, error: NootsError) -> None:
        self.error = error


def _consumer_side(
    request: Request,
    authorization: Annotated[
        str | None,
        Header(description="Bearer <IAM access token> of this SAK's own online service."),
    ] = None,
) -> ConsumerSide:
    side: ConsumerSide = request.app.state.consumer_side
    own = side.consumer.participant_id
    try:
        # Only the SAK's own online service may use it: its access token, and with TLS its
        # certificate (noots.tls).
        side.node.caller(authorization, role=side.node.served_role, subject=own)
        TlsPeer.of(request.scope).check(own, component=side.node.sak_id)
    except NootsError as error:
        raise _Refused(error) from None
    return side


ConsumerDep = Annotated[ConsumerSide, Depends(_consumer_side)]
TraceIdHeader = Annotated[
    str | None,
    Header(
        alias=H.TRACE_ID,
        max_length=64,
        description="Simulator only: the request id the 0101 will carry (tracing, optional).",
    ),
]


@contextlib.contextmanager
def _correlated(trace_id: str | None) -> Iterator[None]:
    """The hops of a route or authorisation call carry the request id the online service
    announced, so the dashboard draws them with the exchange; anything but a UUID is
    ignored (the header only ever affects tracing)."""
    try:
        announced = str(uuid.UUID(trace_id)) if trace_id is not None else None
    except ValueError:
        announced = None
    if announced is None:
        yield
        return
    with trace.exchange():
        trace.bind(announced)
        yield


_PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": description}
    for status, description in (
        (400, "EDM:ERR:0003: invalid request"),
        (401, "EDM:ERR:0001: authentication"),
        (403, "EDM:ERR:0002: not authorised (the Vermittlungsstelle's reason)"),
        (404, "EDM:ERR:0006: no provider, unknown service"),
        (502, "EDM:ERR:0008: a component behind the SAK failed"),
        (504, "EDM:ERR:0005: timeout"),
    )
}
#: The provider API's own refusals: only the SAK's own register may fetch and answer.
_REGISTER_ONLY: dict[int | str, dict[str, Any]] = {
    400: _PROBLEMS[400],
    401: {
        "model": Problem,
        "description": "EDM:ERR:0001: no valid IAM access token (Bearer) of this SAK's register",
    },
    403: {
        "model": Problem,
        "description": (
            "EDM:ERR:0002: a valid access token, but not of this SAK's own register (another "
            "client, audience or role), or with TLS another client certificate"
        ),
    },
}
_XML_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/xml": {"schema": {"type": "string"}}},
    }
}
_XML_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "DE.EvidenceResponse.0102 (evidence, or ResponseAvailableDateTime)",
        "content": {"application/xml": {"schema": {"type": "string"}}},
    },
    "4XX": {
        "description": "DE.EvidenceErrorResponse.0103 (or a JSON problem if no 0101 was read)",
        "content": {
            "application/xml": {"schema": {"type": "string"}},
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}},
        },
    },
    "5XX": {
        "description": "DE.EvidenceErrorResponse.0103 (EDM:ERR:0005, EDM:ERR:0008)",
        "content": {"application/xml": {"schema": {"type": "string"}}},
    },
}


def _json(model: BaseModel) -> Response:
    return Response(
        model.model_dump_json(by_alias=True, exclude_none=True), media_type="application/json"
    )


def _answer(answer: SubmitAnswer) -> Response:
    return Response(
        answer.body, status_code=answer.status, media_type=answer.media_type, headers=answer.headers
    )


def consumer_router() -> APIRouter:
    router = APIRouter(tags=["Consumer API"])

    @router.get(
        ROUTES_PATH,
        response_model=RouteAnswer,
        responses=_PROBLEMS,
        summary="Find the provider for an evidence type",
    )
    async def routes(
        side: ConsumerDep,
        evidence_type: Annotated[
            str,
            Query(
                alias="evidenceType",
                max_length=512,
                description="Short name, classification URI or identifier UUID.",
            ),
        ],
        region: Annotated[
            str | None,
            Query(max_length=64, description="AGS of the municipality (regional types)."),
        ] = None,
        trace_id: TraceIdHeader = None,
    ) -> Response:
        """The provider responsible for an evidence type (and region), as the RDN says, and
        whether a Vermittlungsstelle token will be needed with and without the IDNr."""
        try:
            with _correlated(trace_id):
                return _json(await side.find_route(evidence_type, region))
        except NootsError as exc:
            return problem(exc, component=side.node.sak_id)

    @router.post(
        AUTHORISATIONS_PATH,
        response_model=AuthorisationAnswer,
        responses=_PROBLEMS,
        summary="Authorise one transfer",
    )
    async def authorisations(
        asked: AuthorisationRequest, side: ConsumerDep, trace_id: TraceIdHeader = None
    ) -> Response:
        """The authorisation of one transfer: where the law requires the Vermittlungsstelle
        (IDNr across administrative areas, or within one by decision), the SAK asks it with
        partners, purpose, legal basis, IDNr use and the request hash only, and answers the
        sealed token for ``IssuedToken``; elsewhere it answers that none is needed. The VS's
        refusal is a 403 problem with ``EDM:ERR:0002`` and its reason."""
        try:
            with _correlated(trace_id):
                return _json(await side.authorise(asked))
        except NootsError as exc:
            return problem(exc, component=side.node.sak_id)

    @router.post(
        CONSUMER_REQUESTS_PATH,
        response_class=Response,
        openapi_extra=_XML_BODY,
        responses={
            **_XML_ANSWER,
            202: {"model": SubmissionHandle, "description": "Prefer: respond-async"},
        },
        summary="Send a DE.EvidenceRequest.0101 (or 0401/0411 to the IP)",
    )
    async def submit(
        request: Request,
        side: ConsumerDep,
        purpose: Annotated[
            str | None,
            Header(alias=H.PURPOSE, description="The declared purpose (percent-encoded UTF-8)."),
        ] = None,
        service_id: Annotated[
            str | None, Header(alias=H.SERVICE_ID, description="The service id of the route.")
        ] = None,
        prefer: Annotated[
            str | None, Header(description="respond-async: answer 202 with a handle.")
        ] = None,
    ) -> Response:
        """Send one 0101 (with the token in IssuedToken where the authorisation required one).
        The SAK refuses, and sends nothing, a 0101 of another requester or for another
        provider or evidence type than the service, or one whose required token is missing,
        expired or not bound to exactly this 0101. It answers the bare 0102/0103 its
        counterpart's SAK returned, after verifying that answer's signature and binding.

        EU evidence (docs/EU.md): where the route names the Intermediäre Plattform, post a
        DE.EvidenceOrder.0401 (answer 0402/0403) and later a DE.GetEvidence.0411 (answer
        0412/0413) the same way; the IP's own SAK takes a DE.EvidenceRequest.0301 (0302/0303)."""
        from noots.sak import decode_value

        try:
            raw = await read_body(request)
            purpose_text = decode_value(purpose) if purpose is not None else None
            service_text = decode_value(service_id) if service_id is not None else None
        except NootsError as exc:
            return problem(exc, component=side.node.sak_id)
        if prefer is not None and "respond-async" in prefer.lower():
            try:
                handle = side.start(raw, purpose_text, service_text)
            except NootsError as exc:
                return problem(exc, component=side.node.sak_id)
            location = f"{CONSUMER_REQUESTS_PATH}/{handle}"
            started = SubmissionHandle(handle=handle, location=location)
            return Response(
                started.model_dump_json(by_alias=True),
                status_code=202,
                media_type="application/json",
                headers={"Location": location, "Retry-After": "1"},
            )
        return _answer(await side.submit(raw, purpose_text, service_text))

    @router.get(
        CONSUMER_REQUESTS_PATH + "/{handle}",
        response_class=Response,
        responses={**_XML_ANSWER, 202: {"description": "still running"}},
        summary="Collect an asynchronous submission",
    )
    async def collect(handle: uuid.UUID, side: ConsumerDep) -> Response:
        """The answer of an asynchronous submission: 202 while it runs, then the answer."""
        try:
            answer = side.collect(handle)
        except KeyError:
            return JSONResponse(
                {"code": "EDM:ERR:0006", "detail": "no such submission (or collected too late)"},
                status_code=404,
            )
        if answer is None:
            return JSONResponse(
                {"handle": str(handle), "status": "running"},
                status_code=202,
                headers={"Retry-After": "1"},
            )
        return _answer(answer)

    return router


# -- provider API (passive mode) and the transport endpoint ---------------------------------


def _provider_side(request: Request) -> ProviderSide:
    side: ProviderSide = request.app.state.provider_side
    return side


ProviderDep = Annotated[ProviderSide, Depends(_provider_side)]


def _own_register(
    request: Request,
    authorization: Annotated[
        str | None, Header(description="Bearer <IAM access token> of this SAK's own register.")
    ] = None,
) -> ProviderSide:
    """Only this SAK's own register fetches and answers: its access token, and with TLS its
    certificate."""
    side: ProviderSide = request.app.state.provider_side
    own = side.register.participant_id
    try:
        side.node.caller(authorization, role=Role.PROVIDER, subject=own)
        TlsPeer.of(request.scope).check(own, component=side.node.sak_id)
    except NootsError as error:
        raise _Refused(error) from None
    return side


OwnRegisterDep = Annotated[ProviderSide, Depends(_own_register)]


def provider_router() -> APIRouter:
    router = APIRouter(tags=["Provider API"])

    @router.get(
        PROVIDER_REQUESTS_PATH,
        response_class=Response,
        responses={
            200: {
                "description": "the next request: the XNachweis 0101 (or 0301) as XML; the "
                "request's metadata in the headers, as a push delivery carries them",
                "content": {"application/xml": {"schema": {"type": "string"}}},
                "headers": {
                    name: {"schema": {"type": "string"}}
                    for name in (
                        H.CONSUMER,
                        H.PURPOSE,
                        H.SERVICE_ID,
                        H.MESSAGE_ID,
                        H.VS_TOKEN_REQUIRED,
                        H.DELIVERY_ID,
                    )
                },
            },
            204: {"description": "no request arrived within `wait` seconds: fetch again"},
            **_REGISTER_ONLY,
        },
    )
    async def fetch(
        side: OwnRegisterDep,
        wait: Annotated[float, Query(ge=0, le=300)] = 20.0,
    ) -> Response:
        """Passive mode: the next request for the register (204 when none arrived in time)."""
        try:
            if not side.passive:
                raise InvalidInput(
                    f"{side.register.participant_id} is connected in push mode: its SAK POSTs "
                    "each request to the register"
                )
        except NootsError as exc:
            return problem(exc, component=side.node.sak_id)
        delivery = await side.queue.take(min(wait, side.node.settings.passive_wait_max_seconds))
        if delivery is None:
            return Response(status_code=204)
        return Response(
            delivery.body,
            media_type=XML_MEDIA_TYPE,
            headers=delivery.metadata.headers(),
        )

    @router.post(
        PROVIDER_REQUESTS_PATH + "/{delivery_id}/answer",
        status_code=204,
        response_class=Response,
        responses={
            204: {"description": "answer taken: the SAK signs it and sends it back"},
            **_REGISTER_ONLY,
            404: {"model": Problem, "description": "no open request with this delivery id"},
            409: {"model": Problem, "description": "this request was already answered"},
        },
        openapi_extra=_XML_BODY,
    )
    async def answer(delivery_id: uuid.UUID, request: Request, side: OwnRegisterDep) -> Response:
        """Passive mode: the register's 0102/0103 to a request it fetched."""
        try:
            raw = await read_body(request)
        except NootsError as exc:
            return problem(exc, component=side.node.sak_id)
        result = side.queue.answer(delivery_id, raw)
        if result == AnswerResult.ACCEPTED:
            return Response(status_code=204)
        if result == AnswerResult.ANSWERED:
            error: NootsError = InvalidInput("this request was already answered")
            return problem(error, component=side.node.sak_id, status=409)
        # Not an authentication failure: the caller is the register, the id is unknown.
        error = InvalidInput(
            "no open request with this delivery id (never fetched, or its time ran out)"
        )
        return problem(error, component=side.node.sak_id, status=404)

    return router


def transport_router() -> APIRouter:
    router = APIRouter(tags=["SAK to SAK"])

    @router.post(TRANSPORT_PATH, response_class=Response)
    async def messages_endpoint(
        request: Request,
        side: ProviderDep,
        authorization: Annotated[
            str | None,
            Header(description="Bearer <IAM access token> of the sending SAK, for this SAK."),
        ] = None,
    ) -> Response:
        """A signed envelope from an online service's SAK; the signed answer."""
        try:
            raw = await read_body(request, limit=DEFAULT_LIMITS.max_bytes)
        except NootsError as exc:
            answer = await side.refuse_unread(exc)
        else:
            decision = side.faults.decide()
            if decision.delay_seconds > 0:
                await asyncio.sleep(decision.delay_seconds)
            if decision.fault is Fault.TIMEOUT:
                await hang(request, decision.hang_seconds, asyncio.sleep)
                return DroppedResponse()
            if decision.fault is Fault.DROP:
                return DroppedResponse()
            answer = await side.receive(
                raw, TlsPeer.of(request.scope), authorization, fault=decision.fault
            )
        return Response(answer.body, status_code=answer.status, media_type=XML_MEDIA_TYPE)

    return router
