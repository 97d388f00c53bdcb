"""An online service's SAK: the consumer API.

The online service never calls the RDN, never signs a transport envelope and never speaks to
the register's side. It asks its SAK:

- ``GET /consumer/v1/routes?evidenceType=…&region=…``: the one responsible provider (the SAK
  asks the RDN) and whether a Vermittlungsstelle token will be needed, with and without IDNr;
- ``POST /consumer/v1/authorisations``: the authorisation for one transfer. Where the law
  requires the VS (:meth:`~noots.topology.Topology.vs_rule`), the SAK sends the VS a signed
  token request that carries only partners, evidence type, purpose, legal basis, IDNr use and
  the request hash, never content, and answers the sealed token (or the VS's refusal);
  elsewhere it answers that no token is needed;
- ``POST /consumer/v1/requests``: the ``DE.EvidenceRequest.0101`` (with the token in
  ``IssuedToken`` where required). The SAK checks it (requester = its participant, provider
  and evidence type = the service's, a token that is required is present, sealed, valid and
  bound to exactly this 0101: otherwise nothing is sent), signs it into a transport envelope
  to the provider's SAK, verifies the answer envelope (signature, the provider's SAK acting
  for the provider, bound to the exact request bytes) and returns the bare ``0102``/``0103``.
  With ``Prefer: respond-async`` it answers 202 at once with a handle to collect
  (``GET /consumer/v1/requests/{handle}``).

A failure the SAK detects after reading the 0101 is answered as a ``0103`` (error provider:
this SAK; the detail names where it failed); a body that is not a readable 0101 as a JSON
problem.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from noots import messages, tokens, trace
from noots.envelope import (
    ENV_NS,
    EnvelopeHeader,
    OpenedEnvelope,
    check_binding,
    check_fresh,
    open_envelope,
    parse_error_body,
    seal,
)
from noots.errors import (
    AuthorisationError,
    AuthorisationRefused,
    InvalidInput,
    MalformedMessage,
    NootsError,
    QueryError,
    ResponseBindingError,
    RouteNotFound,
    SenderMismatch,
    UpstreamError,
    UpstreamTimeout,
    error_for_code,
)
from noots.exchange import (
    REQUEST_TYPES,
    AnswerMessage,
    RequestMessage,
    addressee,
    check_answer,
    refusal_code,
    request_id,
    sender,
)
from noots.intermediary._edge import http_status
from noots.intermediary.sak._network import PeerFailed, PeerTooLarge, PeerUnreachable
from noots.intermediary.sak._node import SakNode
from noots.messages import ErrorResponse
from noots.pki import Role
from noots.sak import (
    TRANSPORT_PATH,
    XML_MEDIA_TYPE,
    AuthorisationAnswer,
    AuthorisationRequest,
    Header,
    RouteAnswer,
    RouteEvidenceType,
    RouteProvider,
    VsRuleInfo,
    VsRules,
)
from noots.topology import ConsumerSpec, EvidenceTypeSpec, IntermediaryPlatformSpec
from noots.trace import Hop
from noots.xml import DEFAULT_LIMITS, parse, serialize

__all__ = ["ConsumerSide", "Route", "SubmitAnswer"]

log = logging.getLogger("noots.intermediary.sak.consumer")

RDN_SERVICES = "/rdn/v1/services"
VS_TOKENS = "/vs/v1/tokens"
VS_SERVICE_ID = "urn:noots:service:noots-vs:tokens"


@dataclass(frozen=True)
class Route:
    """A service as the RDN describes it: provider, its SAK and the evidence type."""

    service_id: str
    provider: str
    provider_name: str
    provider_area: str
    sak_id: str
    sak_url: str
    evidence_type: EvidenceTypeSpec

    def answer(self, vs: VsRules) -> RouteAnswer:
        spec = self.evidence_type
        return RouteAnswer(
            service_id=self.service_id,
            provider=RouteProvider(
                participant_id=self.provider, name=self.provider_name, area=self.provider_area
            ),
            evidence_type=RouteEvidenceType(
                name=spec.name,
                classification=spec.classification,
                identifier=str(spec.identifier),
                title=spec.title,
                subject=spec.subject,
            ),
            vs=vs,
        )


@dataclass(frozen=True)
class SubmitAnswer:
    """What the consumer API answers a submitted 0101: a bare XNachweis message or a problem."""

    status: int
    body: bytes
    media_type: str
    headers: dict[str, str] = field(default_factory=dict)
    outcome: str = ""


@dataclass
class _Handle:
    task: asyncio.Task[SubmitAnswer]
    consumer: str
    finished_at: float | None = None


class ConsumerSide:
    """The sending side of a SAK: an online service's (0101; 0401/0411 to the IP), or the
    Intermediäre Plattform's (0301 to the registers)."""

    def __init__(self, node: SakNode) -> None:
        if not isinstance(node.served, ConsumerSpec | IntermediaryPlatformSpec):
            raise TypeError("a consumer side needs the SAK of an online service or of the IP")
        self.node = node
        self.consumer: ConsumerSpec | IntermediaryPlatformSpec = node.served
        self._routes: dict[str, tuple[float, Route]] = {}
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._handles: collections.OrderedDict[uuid.UUID, _Handle] = collections.OrderedDict()

    # -- routes ----------------------------------------------------------------------------

    async def find_route(self, evidence_type: str | None, region: str | None) -> RouteAnswer:
        """The one provider the RDN names, and the VS rule for it."""
        node = self.node
        with trace.span(
            Hop.SAK_RDN,
            node.sak_id,
            peer=node.topology.platform.rdn_id,
            title=f"{evidence_type}: Datenhalter finden",
        ):
            trace.step("RDN erreichbar")
            params = {"evidenceType": evidence_type or ""}
            if region:
                params["region"] = region
            data = await self._rdn(RDN_SERVICES, params)
            trace.step("Genau ein zuständiger Datenhalter")
            services = data.get("services")
            if not isinstance(services, list) or not services:
                raise RouteNotFound(f"the RDN knows no provider for {evidence_type}")
            if len(services) > 1:
                raise RouteNotFound(
                    f"{len(services)} providers answer {evidence_type}: name the region",
                    component=node.topology.platform.rdn_id,
                )
            route = self._route_of(services[0])
            self._routes[route.service_id] = (time.monotonic(), route)
        return route.answer(self._vs_rules(route))

    def _vs_rules(self, route: Route) -> VsRules:
        topology, consumer = self.node.topology, self.consumer.participant_id
        rules = [
            topology.vs_rule(consumer, route.provider, uses_idnr=uses) for uses in (True, False)
        ]
        return VsRules(
            with_idnr=VsRuleInfo(required=rules[0].required, reason=rules[0].reason),
            without_idnr=VsRuleInfo(required=rules[1].required, reason=rules[1].reason),
        )

    async def route_for(self, service_id: str) -> Route:
        """The connection parameters of ``service_id`` (asked from the RDN, cached briefly)."""
        cached = self._routes.get(service_id)
        ttl = self.node.settings.route_cache_seconds
        if cached is not None and time.monotonic() - cached[0] < ttl:
            return cached[1]
        with trace.span(
            Hop.SAK_RDN,
            self.node.sak_id,
            peer=self.node.topology.platform.rdn_id,
            title="Dienst-ID auflösen",
        ):
            trace.step("RDN kennt die Dienst-ID")
            data = await self._rdn(f"{RDN_SERVICES}/{quote(service_id, safe=':')}", {})
            route = self._route_of(data)
        self._routes[service_id] = (time.monotonic(), route)
        return route

    async def _rdn(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        node = self.node
        rdn = node.topology.platform.rdn_id
        url = node.url("platform") + path
        try:
            headers = await node.authorization(rdn)
            response = await node.http.get(url, params=dict(params), headers=headers, timeout=10.0)
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"the RDN is unreachable ({type(exc).__name__})", component=rdn
            ) from None
        try:
            data = json.loads(response.content)
        except ValueError:
            raise UpstreamError(
                f"the RDN answered HTTP {response.status_code} without JSON", component=rdn
            ) from None
        if not isinstance(data, dict):
            raise UpstreamError("the RDN answered no JSON object", component=rdn)
        if response.status_code >= 400:
            code, detail = data.get("code"), data.get("detail", "")
            if isinstance(code, str):
                raise error_for_code(code, str(detail), component=rdn)
            raise UpstreamError(f"the RDN answered HTTP {response.status_code}", component=rdn)
        return data

    def _route_of(self, entry: object) -> Route:
        rdn = self.node.topology.platform.rdn_id
        fields: dict[str, Any] = entry if isinstance(entry, dict) else {}
        found = fields.get("sak")
        sak: dict[str, Any] = found if isinstance(found, dict) else {}
        values = (
            fields.get("serviceId"),
            fields.get("participantId"),
            fields.get("evidenceType"),
            sak.get("participantId"),
            sak.get("url"),
        )
        if not all(isinstance(v, str) and v for v in values):
            raise UpstreamError(
                "the RDN's service entry lacks its connection parameters", component=rdn
            )
        service_id, provider, type_name, sak_id, sak_url = (str(v) for v in values)
        try:
            spec = self.node.topology.evidence_type(type_name)
        except NootsError:
            raise UpstreamError(
                f"the RDN names an unknown evidence type {type_name!r}", component=rdn
            ) from None
        return Route(
            service_id=service_id,
            provider=provider,
            provider_name=str(fields.get("name") or provider),
            provider_area=str(fields.get("area") or ""),
            sak_id=sak_id,
            sak_url=sak_url,
            evidence_type=spec,
        )

    # -- authorisation ---------------------------------------------------------------------

    async def authorise(self, asked: AuthorisationRequest) -> AuthorisationAnswer:
        """The authorisation of one transfer: a VS token where required, else none needed."""
        route = await self.route_for(asked.service_id)
        rule = self.node.topology.vs_rule(
            self.consumer.participant_id, route.provider, uses_idnr=asked.uses_idnr
        )
        if not rule.required:
            return AuthorisationAnswer(required=False, reason=rule.reason)
        try:
            request = tokens.TokenRequest(
                consumer=self.consumer.participant_id,
                provider=route.provider,
                evidence_type=route.evidence_type.classification,
                purpose=asked.purpose,
                legal_basis=asked.legal_basis,
                uses_idnr=asked.uses_idnr,
                request_hash=asked.request_hash,
            )
        except MalformedMessage as exc:
            raise InvalidInput(exc.message) from None
        grant = await self._ask_vs(request)
        return AuthorisationAnswer(
            required=True, reason=rule.reason, token=grant.issued, expires_at=grant.expires_at
        )

    async def _ask_vs(self, asked: tokens.TokenRequest) -> tokens.TokenGrant:
        node = self.node
        vs_id = node.topology.platform.vs_id
        header = EnvelopeHeader(
            message_id=uuid.uuid4(),
            sender=node.sak_id,
            on_behalf_of=self.consumer.participant_id,
            recipient=vs_id,
            service_id=VS_SERVICE_ID,
            created=node.clock.now(),
            purpose=asked.purpose,
        )
        with trace.span(
            Hop.SAK_VS,
            node.sak_id,
            peer=vs_id,
            envelope_id=str(header.message_id),
            title="Token der Vermittlungsstelle",
        ):
            trace.step("Token-Anfrage ohne Inhalt (nur Partner, Zweck, Hash) signiert")
            raw = seal(header, tokens.build_token_request(asked), node.participant.signer)
            trace.attach("Token-Anfrage (signierter Umschlag)", raw)
            trace.step("Vermittlungsstelle erreichbar")
            try:
                response = await node.http.post(
                    node.url("platform") + VS_TOKENS,
                    content=raw,
                    headers={"Content-Type": XML_MEDIA_TYPE, **await node.authorization(vs_id)},
                    timeout=10.0,
                )
            except httpx.HTTPError as exc:
                raise UpstreamError(
                    f"the Vermittlungsstelle is unreachable ({type(exc).__name__})",
                    component=vs_id,
                ) from None
            trace.attach("Antwort der Vermittlungsstelle", response.content)
            trace.step("Antwort von der VS signiert und an die Anfrage gebunden")
            opened = self._open_answer(
                response.content, raw, sender=vs_id, on_behalf_of=None, role=Role.VS
            )
            if opened.body.tag == f"{{{ENV_NS}}}Error":
                code, detail, component = parse_error_body(opened.body)
                error = error_for_code(code, detail, component=component)
                if isinstance(error, AuthorisationError):
                    raise AuthorisationRefused(error.message, component=component) from None
                raise error
            trace.step("Token versiegelt und für genau diese Übermittlung")
            return tokens.read_token_grant(
                opened.body,
                node.participant.verifier,
                clock=node.clock,
                expected=asked,
                component=vs_id,
            )

    def _open_answer(
        self,
        raw_response: bytes,
        raw_request: bytes,
        *,
        sender: str,
        on_behalf_of: str | None,
        role: Role,
    ) -> OpenedEnvelope:
        """Verify an answer envelope completely before anything in it is read."""
        node = self.node
        try:
            opened = open_envelope(raw_response, node.participant.verifier, required_role=role)
            if opened.header.sender != sender:
                raise SenderMismatch(f"answer signed by {opened.header.sender}, not by {sender}")
            if on_behalf_of is not None and opened.header.on_behalf_of != on_behalf_of:
                raise SenderMismatch(f"answer not sent for {on_behalf_of}")
            if opened.header.recipient != node.sak_id:
                raise SenderMismatch(f"answer addressed to {opened.header.recipient}, not to us")
            check_binding(opened, raw_request)
            # Bound to this very request, yet it may have been made long ago (a stored
            # answer replayed to a retry with identical bytes): the same window as requests.
            check_fresh(
                opened.header.created,
                node.clock.now(),
                node.settings.replay_window,
                kind="answer envelope",
            )
        except NootsError as exc:
            raise UpstreamError(
                f"answer of {sender} refused by {node.sak_id}: {exc.message}", component=sender
            ) from exc
        return opened

    # -- submitting a 0101 -----------------------------------------------------------------

    async def submit(self, raw: bytes, purpose: str | None, service_id: str | None) -> SubmitAnswer:
        """One 0101 end to end; a bare 0102/0103 (or a problem when it cannot be read)."""
        node = self.node
        try:
            element = parse(raw)
            request = self._request_of(messages.parse(element, messages.ANY))
        except NootsError as exc:
            return _problem(exc, node.sak_id)
        label = _short(request)
        # Every hop of this submission carries the request id (the spans below open no
        # exchange of their own): the dashboard draws them as one exchange.
        with trace.exchange():
            trace.bind(str(request_id(request)))
            try:
                with trace.span(
                    Hop.DC_SAK,
                    node.sak_id,
                    peer=self.consumer.participant_id,
                    title=f"{label} annehmen und prüfen",
                ):
                    route = await self._check(request, element, purpose, service_id)
                assert purpose is not None
                return await self._send(request, element, purpose, route)
            except NootsError as exc:
                detail = exc.message
                component = exc.component or node.sak_id
                if component != node.sak_id:
                    detail = f"{detail} [failed at {component}; answered by {node.sak_id}]"
                body = node.refusal_0103(request, exc, detail)
                return SubmitAnswer(
                    node.status_of(exc),
                    body,
                    XML_MEDIA_TYPE,
                    {Header.OUTCOME: f"refused:{exc.code.value}", Header.ANSWERED_BY: node.sak_id},
                    f"refused:{exc.code.value}",
                )
            except Exception:
                log.exception("unexpected failure in the SAK %s", node.sak_id)
                error = QueryError("internal error in the SAK; nothing was delivered")
                return SubmitAnswer(
                    500,
                    node.refusal_0103(request, error, error.message),
                    XML_MEDIA_TYPE,
                    {Header.OUTCOME: "refused:EDM:ERR:0008"},
                    "refused:EDM:ERR:0008",
                )

    def _request_of(self, message: messages.Message) -> RequestMessage:
        """The request this SAK carries for its participant: an online service sends 0101
        (and 0401/0411 to the IP), the IP sends 0301."""
        if isinstance(self.consumer, IntermediaryPlatformSpec):
            allowed: tuple[type, ...] = (messages.EuEvidenceRequest,)
            names = "DE.EvidenceRequest.0301"
        else:
            allowed = (messages.EvidenceRequest, messages.EvidenceOrder, messages.GetEvidence)
            names = "DE.EvidenceRequest.0101, DE.EvidenceOrder.0401 or DE.GetEvidence.0411"
        if not isinstance(message, allowed) or not isinstance(message, REQUEST_TYPES):
            raise MalformedMessage(
                f"the consumer API of {self.node.sak_id} takes {names}, not "
                f"{messages.message_type(message)}"
            )
        return message

    async def _check(
        self,
        request: RequestMessage,
        element: Any,
        purpose: str | None,
        service_id: str | None,
    ) -> Route:
        consumer = self.consumer.participant_id
        label = _short(request)
        trace.step(f"Absender der {label} ist der Teilnehmer dieses SAK")
        if sender(request) != consumer:
            raise SenderMismatch(
                f"the {label} names requester {sender(request)}; this SAK connects {consumer}"
            )
        if not purpose:
            raise InvalidInput(f"header {Header.PURPOSE} is missing: declare the purpose")
        if not service_id:
            raise InvalidInput(
                f"header {Header.SERVICE_ID} is missing: give the service id of the route"
            )
        trace.step(f"Dienst-ID, Datenhalter und Nachweistyp passen zur {label}")
        route = await self.route_for(service_id)
        if addressee(request) != route.provider:
            raise InvalidInput(
                f"the {label} names provider {addressee(request)}, but service id "
                f"{service_id} belongs to {route.provider}"
            )
        to_platform = self.node.topology.is_platform(route.provider)
        if to_platform != isinstance(request, messages.EvidenceOrder | messages.GetEvidence):
            raise InvalidInput(
                f"{messages.message_type(request)} does not go to {route.provider}: online "
                "services order EU evidence from the Intermediäre Plattform with 0401/0411, "
                "and ask registers with 0101"
            )
        if (
            not isinstance(request, messages.GetEvidence)
            and request.evidence_type.classification != route.evidence_type.classification
        ):
            raise InvalidInput(
                f"the {label} asks for another evidence type than service id {service_id} "
                f"({route.evidence_type.name})"
            )
        if not isinstance(request, messages.EvidenceRequest | messages.EuEvidenceRequest):
            # 0401/0411 carry no IDNr (EU evidence is asked by basic data): no VS token.
            rule = self.node.topology.vs_rule(consumer, route.provider, uses_idnr=False)
            trace.check(f"Kein VS-Token nötig: {rule.reason}", True)
            return route
        uses = tokens.uses_idnr(request)
        rule = self.node.topology.vs_rule(consumer, route.provider, uses_idnr=uses)
        if rule.required or request.issued_token:
            trace.step(f"VS-Token: {rule.reason}")
            if not request.issued_token:
                raise AuthorisationError(
                    f"a Vermittlungsstelle token is required ({rule.reason}); nothing was sent"
                )
            try:
                token = tokens.verify_token(
                    request.issued_token, self.node.participant.verifier, clock=self.node.clock
                )
                tokens.check_token_binding(
                    token,
                    request=request,
                    request_element=element,
                    consumer=consumer,
                    purpose=purpose,
                    provider_id=route.provider,
                )
            except NootsError as exc:
                raise type(exc)(f"{exc.message}; nothing was sent") from exc
        else:
            trace.check(f"Kein VS-Token nötig: {rule.reason}", True)
        return route

    async def _send(
        self,
        request: RequestMessage,
        element: Any,
        purpose: str,
        route: Route,
    ) -> SubmitAnswer:
        node = self.node
        header = EnvelopeHeader(
            message_id=uuid.uuid4(),
            sender=node.sak_id,
            on_behalf_of=self.consumer.participant_id,
            recipient=route.sak_id,
            service_id=route.service_id,
            created=node.clock.now(),
            purpose=purpose,
        )
        hop = {"peer": route.sak_id, "envelope_id": str(header.message_id)}
        with trace.span(Hop.SAK_SAK, node.sak_id, title="Umschlag signieren und senden", **hop):
            label = _short(request)
            trace.step(f"{label} im Umschlag signiert (Schlüssel des SAK)")
            raw_request = seal(header, element, node.participant.signer)
            trace.attach(f"Anfrage (signierter Umschlag mit {label})", raw_request)
            content = await self._forward(route, raw_request)
        with trace.span(Hop.SAK_SAK_ANSWER, node.sak_id, title="Antwort-Umschlag prüfen", **hop):
            trace.attach("Antwort (signierter Umschlag)", content)
            trace.step("Signatur des SAK des Datenhalters, an die Anfrage gebunden")
            opened = self._open_answer(
                content,
                raw_request,
                sender=route.sak_id,
                on_behalf_of=route.provider,
                role=Role.SAK,
            )
            if opened.header.request_message_id not in (None, header.message_id):
                raise UpstreamError(
                    "the answer names another request envelope", component=route.sak_id
                )
            if opened.body.tag == f"{{{ENV_NS}}}Error":
                code, detail, component = parse_error_body(opened.body)
                raise error_for_code(code, detail, component=component)
            trace.step("Antwort zu genau dieser Anfrage")
            answer = self._read_answer(request, opened, route)
        body = serialize(opened.body)
        refused = refusal_code(answer)
        if refused is not None and isinstance(answer, ErrorResponse):
            status = http_status(refused, behind=True)
            outcome = f"refused:{refused}"
            answered_by = answer.error_provider.identifier
        else:
            status = 200
            pending = getattr(answer, "available_at", None) is not None
            outcome = "pending" if pending else "delivered"
            answered_by = route.provider
        with trace.span(
            Hop.SAK_DC,
            node.sak_id,
            peer=self.consumer.participant_id,
            title=f"Antwort an den Online-Dienst ({outcome})",
        ):
            trace.attach(f"Antwort an den Teilnehmer ({_short(answer)})", body)
        return SubmitAnswer(
            status,
            body,
            XML_MEDIA_TYPE,
            {
                Header.OUTCOME: outcome,
                Header.ANSWERED_BY: answered_by,
                Header.ENVELOPE_ID: str(header.message_id),
                Header.RESPONSE_ENVELOPE_ID: str(opened.header.message_id),
            },
            outcome,
        )

    def _read_answer(
        self, request: RequestMessage, opened: OpenedEnvelope, route: Route
    ) -> AnswerMessage:
        try:
            answer = check_answer(request, messages.parse(opened.body, messages.ANY))
            # The requester an answer names: the 0301's is the EU authority, the 0411's
            # (which names none) the online service that sent it.
            expected = (
                request.requester.identifier
                if not isinstance(request, messages.GetEvidence)
                else sender(request)
            )
            named = getattr(answer, "requester", None)
            if named is not None and named.identifier != expected:
                raise ResponseBindingError("the answer names another requester")
            if (
                isinstance(answer, messages.EvidenceResponse | messages.EuEvidenceResponse)
                and answer.provider.identifier != route.provider
            ) or (
                isinstance(answer, messages.GetEvidenceResponse)
                and answer.platform.identifier != route.provider
            ):
                raise SenderMismatch("evidence of another provider than the one asked")
        except NootsError as exc:
            raise UpstreamError(
                f"answer of {route.sak_id} refused by {self.node.sak_id}: {exc.message}",
                component=route.sak_id,
            ) from exc
        return answer

    async def _forward(self, route: Route, raw: bytes) -> bytes:
        node = self.node
        provider = route.provider
        slots = self._slots.get(provider)
        if slots is None:
            slots = self._slots.setdefault(provider, asyncio.Semaphore(node.settings.max_in_flight))
        timeout = node.settings.peer_timeout(provider)
        url = route.sak_url + TRANSPORT_PATH
        trace.step(f"SAK des Datenhalters erreichbar, Antwort innerhalb von {timeout:g} s")
        headers = {"Content-Type": XML_MEDIA_TYPE, **await node.authorization(route.sak_id)}
        try:
            async with asyncio.timeout(timeout), slots:
                return await node.network.post(url, raw, headers, limit=DEFAULT_LIMITS.max_bytes)
        except TimeoutError:
            raise UpstreamTimeout(
                f"the SAK of data provider {provider} did not answer within {timeout:g} s",
                component=route.sak_id,
            ) from None
        except PeerUnreachable as exc:
            raise UpstreamError(
                f"the SAK of data provider {provider} is unreachable at {url} ({exc})",
                component=route.sak_id,
            ) from None
        except PeerTooLarge:
            raise UpstreamError(
                f"{route.sak_id} answered more than {DEFAULT_LIMITS.max_bytes} bytes",
                component=route.sak_id,
            ) from None
        except PeerFailed as exc:
            log.warning("exchange with %s failed: %s", route.sak_id, exc)
            raise UpstreamError(
                f"the exchange with {route.sak_id} failed ({exc})", component=route.sak_id
            ) from None

    # -- asynchronous submissions ----------------------------------------------------------

    def start(self, raw: bytes, purpose: str | None, service_id: str | None) -> uuid.UUID:
        """Run :meth:`submit` in the background; the handle collects its answer."""
        self._expire()
        limit = self.node.settings.async_handle_limit
        if len(self._handles) >= limit:
            raise UpstreamError(
                f"{limit} asynchronous submissions are open; collect some first",
                component=self.node.sak_id,
            )
        handle = uuid.uuid4()
        task = asyncio.create_task(self.submit(raw, purpose, service_id))
        entry = _Handle(task, self.consumer.participant_id)
        task.add_done_callback(lambda _t: setattr(entry, "finished_at", time.monotonic()))
        self._handles[handle] = entry
        return handle

    def collect(self, handle: uuid.UUID) -> SubmitAnswer | None:
        """The answer of an asynchronous submission, None while it runs; KeyError if unknown."""
        self._expire()
        entry = self._handles[handle]
        if not entry.task.done():
            return None
        return entry.task.result()

    def _expire(self) -> None:
        keep = self.node.settings.async_handle_seconds
        now = time.monotonic()
        for handle in [
            h
            for h, e in self._handles.items()
            if e.finished_at is not None and now - e.finished_at > keep
        ]:
            del self._handles[handle]

    async def aclose(self) -> None:
        for entry in self._handles.values():
            entry.task.cancel()
        for entry in self._handles.values():
            with contextlib.suppress(BaseException):
                await entry.task


def _problem(error: NootsError, component: str) -> SubmitAnswer:
    body = {
        "code": error.code.value,
        "title": error.code.title,
        "detail": error.message,
        "component": error.component or component,
    }
    return SubmitAnswer(
        error.code.http_status,
        json.dumps(body, ensure_ascii=False).encode(),
        "application/problem+json",
        {Header.OUTCOME: f"refused:{error.code.value}"},
        f"refused:{error.code.value}",
    )


def _short(message: messages.Message) -> str:
    """``0101``, ``0301``, … for the trace's German titles."""
    return messages.message_type(message).rpartition(".")[2]
