"""The online service's client: one call fetches one evidence for one person, end to end.

The online service connects only through its own Sicherer Anschlussknoten (SAK), on the SAK's
consumer API (:mod:`noots.sak`):

1. the subject: IDNr rules checked before anything is sent (the IDA finds the IDNr for basic
   data, or the basic data for an IDNr);
2. ``GET /consumer/v1/routes``: the responsible provider, its service id, the evidence type;
3. the ``DE.EvidenceRequest.0101``;
4. ``POST /consumer/v1/authorisations`` for exactly this 0101 (its request hash): the SAK asks
   the Vermittlungsstelle where the law requires it; a refusal is
   :class:`~noots.errors.AuthorisationRefused` and nothing is sent;
5. ``POST /consumer/v1/requests`` with the 0101 (the token in ``IssuedToken``);
6. the ``0102``/``0103`` checked on the XNachweis level before anything in it is used
   (the SAK verified the transport envelopes): :class:`~noots.consumers.EvidenceResult` or a typed
   error of :mod:`noots.errors`.

Asynchronous answers (``ResponseAvailableDateTime``) are collected by submitting the same
0101 again when due; transient failures are retried a bounded number of times with the same
0101 (:mod:`noots.consumers._retry`). Every transfer is logged (§ 9 IDNrG).

:class:`AsyncClient` does the work; :class:`Client` runs it on a private event loop for
synchronous callers (no second implementation).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import random
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from typing import Any, Protocol, TypeVar

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal

from noots import ida, messages, tokens, trace
from noots import idnr as idnr_rules
from noots.access import AccessTokenSource
from noots.consumers._eu import (
    EuEvidence,
    EuEvidencePending,
    OrderPlaced,
    read_collection,
    read_order_answer,
)
from noots.consumers._landscape import find_landscape
from noots.consumers._matrix import legal_basis_for
from noots.consumers._person import PersonQuery
from noots.consumers._results import EvidenceResult, PendingEvidence, Route
from noots.consumers._retry import (
    AsyncSleeper,
    RetryPolicy,
    TransportFailed,
    is_retryable,
    real_sleep,
)
from noots.consumers._sak import (
    Answer,
    Authorisation,
    error_of_code,
    read_answer,
    read_authorisation,
    read_problem,
    read_route,
)
from noots.envelope import (
    ENV_NS,
    parse_error_body,
)
from noots.errors import (
    ConfigurationError,
    EvidencePending,
    InvalidInput,
    MalformedMessage,
    NootsError,
    ResponseBindingError,
    SenderMismatch,
    UpstreamError,
    XmlError,
    error_for_code,
)
from noots.participant import Participant
from noots.protocol import ProtocolLog
from noots.sak import (
    AUTHORISATIONS_PATH,
    CONSUMER_REQUESTS_PATH,
    ROUTES_PATH,
    XML_MEDIA_TYPE,
    Header,
    encode_value,
)
from noots.topology import Topology
from noots.trace import Hop
from noots.xml import parse as parse_xml
from noots.xml import serialize

__all__ = ["AccessTokens", "AsyncClient", "Client", "Endpoints"]

log = logging.getLogger("noots.consumers.client")
DEFAULT_RETRY = RetryPolicy()

T = TypeVar("T")

# An authorisation is asked again when its token would expire within this margin: a request
# that arrives at the provider with an expired token is refused (EDM:ERR:0002), which no retry
# can repair.
_TOKEN_MARGIN = timedelta(seconds=5)


class AccessTokens(Protocol):
    """Where the client gets the ``Authorization`` header for its SAK (an IAM access token,
    e.g. ``noots.access.AccessTokenSource``): ``await authorization(audience)``."""

    async def authorization(self, audience: str) -> dict[str, str]: ...


@dataclass(frozen=True)
class Endpoints:
    """Base URLs: the platform (eID and Datenschutzcockpit pages), the IDA, and the online
    service's own SAK (``None``: the SAK the topology gives the online service, over HTTPS
    when the platform URL is ``https``)."""

    platform: str
    ida: str
    sak: str | None = None

    @classmethod
    def from_topology(
        cls, topology: Topology, *, tls: bool = False, consumer: str | None = None
    ) -> Endpoints:
        sak = None if consumer is None else topology.base_url(topology.sak_id(consumer), tls=tls)
        return cls(topology.base_url("platform", tls=tls), topology.base_url("ida", tls=tls), sak)

    def sak_for(self, topology: Topology, consumer: str) -> str:
        """The consumer API's base URL for ``consumer``."""
        if self.sak is not None:
            return self.sak.rstrip("/")
        tls = self.platform.startswith("https://")
        return topology.base_url(topology.sak_id(consumer), tls=tls)


@dataclass
class _Exchange:
    """The state of one retrieval while it is in flight (never leaves this module)."""

    evidence_type: str
    purpose: str
    legal_basis: str
    route: Route
    request: messages.EvidenceRequest  # IssuedToken empty: the one the request hash covers
    idnr: str | None
    request_hash: str
    authorisation: Authorisation | None = None
    raw_request: bytes = b""  # the 0101 as handed to the SAK (with the token where required)
    envelope_ids: list[uuid.UUID] = field(default_factory=list)
    submissions: int = 0
    #: HTTP status of the last answer (None: no answer); it tells a gateway failure (502) from
    #: a query error answered directly (500), see noots.consumers._retry.is_retryable.
    last_status: int | None = None


@dataclass(frozen=True)
class _Answer:
    """A checked 0102 (the evidence, or when it will be available) and how it came."""

    response: messages.EvidenceResponse
    raw_response: bytes
    response_envelope_id: uuid.UUID | None


class AsyncClient:
    """Fetch evidence as ``participant`` through its SAK (``endpoints.sak``, else the
    topology's).

    ``http`` (or ``transport``) lets tests wire the client to in-process apps; ``sleep`` and
    ``rng`` make waiting and jitter observable; ``protocol_log`` records every transfer (DC-09);
    ``access_tokens`` (default: from the landscape's IAM, with ``participant``'s credential)
    adds an ``Authorization`` header to every call to the SAK and the IDA. ``timeout`` is
    per HTTP request and longer than the SAK's wait for the provider's side (20 s by default),
    so a slow provider is reported by the SAK (``0005``) rather than cut off here.
    ``participant`` signs the IDA look-ups (the only signed requests the client still makes).
    ``on_pending`` is told each time a provider announces the evidence for later and the
    client is about to wait for it (a progress display); when the client will not wait (the
    retry policy's pending bounds), :class:`~noots.errors.EvidencePending` says until when.
    """

    def __init__(
        self,
        participant: Participant,
        endpoints: Endpoints,
        topology: Topology,
        *,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: AsyncSleeper = real_sleep,
        rng: random.Random | None = None,
        protocol_log: ProtocolLog | None = None,
        access_tokens: AccessTokens | bool | None = True,
        timeout: float = 30.0,
        test: bool = True,
        on_pending: Callable[[PendingEvidence], None] | None = None,
    ) -> None:
        self.participant = participant
        self.endpoints = endpoints
        self.topology = topology
        self.retry = retry
        self._sleep = sleep
        self._rng = rng or random.SystemRandom()
        self.protocol_log = protocol_log
        self._test = test
        self._on_pending = on_pending
        try:
            spec = topology.consumer(participant.participant_id)
        except NootsError:
            raise ConfigurationError(
                f"{participant.participant_id!r} is not a data consumer of this landscape"
            ) from None
        self._agent = messages.Agent(spec.participant_id, spec.name)
        self.sak_id = topology.sak_id(spec.participant_id)
        self.sak_url = endpoints.sak_for(topology, spec.participant_id)
        self._owned_log: ProtocolLog | None = None
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(transport=transport, timeout=timeout)
        # The SAK accepts only its own online service, by an IAM access token for it (True:
        # from the landscape's IAM with this participant's credential; False or None: none,
        # for a test double without IAM).
        self._access: AccessTokens | None
        if access_tokens is True:
            self._access = AccessTokenSource(
                participant.credential,
                iam_url=endpoints.platform,
                iam_id=topology.platform.iam_id,
                clock=participant.clock,
                http=self._http,
            )
        elif access_tokens is False or access_tokens is None:
            self._access = None
        else:
            self._access = access_tokens

    @classmethod
    def from_landscape(
        cls,
        consumer_id: str,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        topology: str | os.PathLike[str] | None = None,
        **options: Any,
    ) -> AsyncClient:
        """The client of online service ``consumer_id`` in the landscape of ``data_dir``
        (default ``NOOTS_DATA_DIR``): the one ``noots up`` runs there (its run file), else the
        topology file (``topology``, ``NOOTS_TOPOLOGY``). The credential comes from the data
        directory's PKI, the protocol log goes where the landscape keeps them, and with TLS the
        online service presents its own certificate. ``options`` as for the constructor.
        Problems (no landscape data, unknown online service) are :class:`ConfigurationError`.
        """
        landscape = find_landscape(data_dir, topology)
        participant = landscape.participant(consumer_id)
        if "http" not in options and "transport" not in options:
            options["transport"] = landscape.transport(consumer_id)
        options.setdefault("test", not landscape.settings.strict)
        owned = None
        if options.get("protocol_log") is None:
            owned = options["protocol_log"] = landscape.protocol_log(consumer_id, participant)
        try:
            endpoints = Endpoints.from_topology(
                landscape.topology, tls=landscape.tls, consumer=consumer_id
            )
            client = cls(
                participant,
                endpoints,
                landscape.topology,
                **options,
            )
        except BaseException:
            if owned is not None:
                owned.close()
            raise
        client._owned_log = owned
        return client

    @property
    def consumer_id(self) -> str:
        return self.participant.participant_id

    async def aclose(self) -> None:
        try:
            if self._owns_http:
                await self._http.aclose()
        finally:
            if self._owned_log is not None:
                self._owned_log.close()
                self._owned_log = None

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- the one call ------------------------------------------------------------------------

    async def fetch_evidence(
        self,
        evidence_type: str,
        *,
        purpose: str,
        idnr: str | None = None,
        person: PersonQuery | None = None,
        company: messages.LegalPerson | None = None,
        region: str | None = None,
        legal_basis: str | None = None,
        born: date | None = None,
    ) -> EvidenceResult:
        """One evidence for one subject, checked; or a typed :class:`NootsError`.

        The subject is a natural person by ``idnr`` with ``person`` (basic data) or ``born``
        (the IDA supplies the rest), by ``person`` alone (the IDA finds the IDNr), or a legal
        person by ``company``.
        """
        # The request id is chosen first: the hops before the 0101 exists (IDA, route,
        # authorisation, at the SAK too) are traced under it (noots.trace).
        request_id = uuid.uuid4()
        with trace.exchange():
            trace.bind(str(request_id))
            spec = self.topology.evidence_type(evidence_type)
            subject, subject_idnr = await self._subject(
                spec.subject, idnr, person, company, born, purpose
            )
            route = await self.find_route(evidence_type, region)
            kind = route.evidence_type or messages.EvidenceType(
                spec.classification, spec.title, spec.identifier
            )
            request = messages.EvidenceRequest.new(
                requester=self._agent,
                provider=messages.Agent(route.provider, route.provider_name),
                evidence_type=kind,
                subject=subject,
                clock=self.participant.clock,
                test=self._test,
                request_id=request_id,
            )
            legal_basis = legal_basis or legal_basis_for(
                self.topology, self.consumer_id, evidence_type, route.provider, purpose
            )
            exchange = _Exchange(
                evidence_type,
                purpose,
                legal_basis,
                route,
                request,
                subject_idnr,
                tokens.request_hash(messages.build(request)),
            )
            try:
                return await self._run(exchange)
            except NootsError as exc:
                self._record(exchange, f"refused:{exc.code}")
                raise

    # -- EU evidence through the Intermediäre Plattform (use case 4) -------------------------

    async def order_evidence(
        self,
        evidence_type: str,
        *,
        purpose: str,
        person: PersonQuery,
        country: str,
        requirement: str,
        requirement_name: str,
        back_url: str,
        procedure: str,
    ) -> OrderPlaced:
        """Order EU evidence for ``person`` from the member state ``country`` (0401 → 0402).

        The RDN names the Intermediäre Plattform as provider of ``evidence_type``; the order
        names the requirement of the procedure (EU Semantic Repository id and name) and the
        procedure code. Returns where to send the citizen (``url_to_ip``) and the conversation
        to collect from; a 0403 is the typed error of its code. Orders carry no IDNr, so no
        Vermittlungsstelle token is asked for (docs/EU.md).
        """
        order_id = uuid.uuid4()
        with trace.exchange():
            trace.bind(str(order_id))
            route = await self.find_route(evidence_type, None)
            spec = self.topology.evidence_type(evidence_type)
            kind = route.evidence_type or messages.EvidenceType(
                spec.classification, spec.title, spec.identifier
            )
            subject = messages.NaturalPerson(
                person.family_name,
                person.given_name,
                person.date_of_birth,
                place_of_birth=person.place_of_birth,
            )
            order = messages.EvidenceOrder.new(
                requester=self._agent,
                platform=messages.Agent(route.provider, route.provider_name),
                procedure=procedure,
                requirements=(messages.Requirement(requirement, requirement_name, country),),
                evidence_type=kind,
                subject=subject,
                back_url=back_url,
                clock=self.participant.clock,
                test=self._test,
            )
            order = dataclasses.replace(order, order_id=order_id)
            raw = messages.to_bytes(order)
            message_id = f"urn:uuid:{order_id}"
            with self._refusal_logged(route.provider, evidence_type, purpose, None, message_id):
                status, content, message = await self._send_eu(
                    raw, purpose, route, f"{evidence_type} bestellen", "0401"
                )
                placed = read_order_answer(
                    order,
                    message,
                    evidence_type=evidence_type,
                    purpose=purpose,
                    route=route,
                    raw_request=raw,
                    raw_response=content,
                )
            self._log(route.provider, evidence_type, purpose, None, message_id, "delivered")
            log.info(
                "order %s → %s: HTTP %d, %s",
                order_id,
                route.provider,
                status,
                placed.conversation_id,
            )
            return placed

    async def get_evidence(
        self,
        conversation: OrderPlaced | str,
        *,
        evidence_type: str | None = None,
        purpose: str | None = None,
    ) -> EuEvidence | EuEvidencePending:
        """Collect the evidence of a conversation (0411 → 0412): the evidence, or when it will
        be available (the citizen has not finished yet); a 0413 is the typed error of its code
        (``EDM:ERR:0004`` when the citizen declined, ``0006`` for an unknown conversation).

        ``conversation`` is the order's :class:`OrderPlaced`, or its conversation id with the
        ``evidence_type`` it ordered (to find the IP through the RDN) and the ``purpose``.
        """
        if isinstance(conversation, OrderPlaced):
            route, conversation_id = conversation.route, conversation.conversation_id
            evidence_type = conversation.evidence_type
            purpose = purpose or conversation.purpose
            classification = (
                route.evidence_type.classification if route.evidence_type is not None else None
            )
        else:
            if evidence_type is None or purpose is None:
                raise InvalidInput(
                    "give the evidence type and the purpose of the order with its conversation id"
                )
            conversation_id = conversation
            route = await self.find_route(evidence_type, None)
            classification = None
        request = messages.GetEvidence.new(
            conversation_id=conversation_id,
            requester=messages.Authority.of(self._agent),
            platform=messages.Authority(route.provider, route.provider_name),
            clock=self.participant.clock,
            test=self._test,
        )
        raw = messages.to_bytes(request)
        message_id = f"urn:uuid:{request.request_id}"
        with trace.exchange():
            trace.bind(str(request.request_id))
            with self._refusal_logged(route.provider, evidence_type, purpose, None, message_id):
                _status, content, message = await self._send_eu(
                    raw, purpose, route, f"{evidence_type} abholen", "0411"
                )
                found = read_collection(
                    request,
                    message,
                    route=route,
                    classification=classification,
                    raw_request=raw,
                    raw_response=content,
                )
        outcome = "pending" if isinstance(found, EuEvidencePending) else "delivered"
        self._log(route.provider, evidence_type, purpose, None, message_id, outcome)
        return found

    async def _send_eu(
        self, raw: bytes, purpose: str, route: Route, title: str, label: str
    ) -> tuple[int, bytes, messages.Message]:
        """Hand a 0401/0411 to the SAK (bounded retries of the same bytes); the answer as it
        came and read, or the typed error of a JSON problem."""
        failures = 0
        while True:
            try:
                with trace.span(Hop.DC_SAK, self.consumer_id, peer=self.sak_id, title=title):
                    trace.step(f"{label} an den eigenen SAK übergeben (Zweck, Dienst-ID)")
                    trace.attach(f"Anfrage ({label})", raw)
                    response = await self._sak(
                        "POST",
                        CONSUMER_REQUESTS_PATH,
                        content=raw,
                        headers={
                            "Content-Type": XML_MEDIA_TYPE,
                            Header.PURPOSE: encode_value(purpose),
                            Header.SERVICE_ID: encode_value(route.service_id),
                        },
                    )
                status, content = response.status_code, response.content
                with trace.span(
                    Hop.SAK_DC, self.consumer_id, peer=self.sak_id, title="Antwort prüfen"
                ):
                    trace.attach("Antwort", content)
                    if "json" in response.headers.get("content-type", "").lower():
                        raise read_problem(status, content, component=self.sak_id)
                    try:
                        message = messages.parse(parse_xml(content), messages.ANY)
                    except NootsError as exc:
                        if status >= 500 or not content:
                            raise TransportFailed(
                                f"HTTP {status} without an answer", component=self.sak_id
                            ) from exc
                        raise _own(
                            MalformedMessage(f"the answer is no XNachweis message: {exc.message}"),
                            self.consumer_id,
                        ) from None
                    return status, content, message
            except NootsError as exc:
                failures += 1
                if not isinstance(exc, TransportFailed) or failures >= self.retry.max_attempts:
                    raise
                await self._sleep(self.retry.delay(failures, self._rng))

    # -- the SAK's consumer API ------------------------------------------------------------

    async def _sak(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Every call to the SAK goes through here (one place for its authentication)."""
        url = self.sak_url + path
        sent = dict(headers or {})
        trace_id = trace.current_trace_id()
        if trace_id is not None:
            sent.setdefault(Header.TRACE_ID, trace_id)
        if self._access is not None:
            sent.update(await self._access.authorization(self.sak_id))
        try:
            return await self._http.request(
                method, url, params=params, json=json_body, content=content, headers=sent
            )
        except httpx.TimeoutException as exc:
            raise TransportFailed(
                f"no answer in time from the SAK at {url}", component=self.sak_id
            ) from exc
        except httpx.HTTPError as exc:
            raise TransportFailed(
                f"{type(exc).__name__} talking to the SAK at {url}", component=self.sak_id
            ) from exc

    async def find_route(self, evidence_type: str, region: str | None) -> Route:
        """The one provider the SAK finds (in the RDN) for ``evidence_type`` in ``region``."""
        with trace.span(
            Hop.DC_SAK,
            self.consumer_id,
            peer=self.sak_id,
            title=f"{evidence_type}: Datenhalter über den SAK finden",
        ):
            trace.step("SAK erreichbar")
            params = {"evidenceType": evidence_type}
            if region:
                params["region"] = region
            response = await self._sak("GET", ROUTES_PATH, params=params)
            trace.step("Genau ein zuständiger Datenhalter")
            return read_route(
                response.status_code, response.content, evidence_type, component=self.sak_id
            )

    async def _authorise(self, exchange: _Exchange) -> None:
        """Ask the SAK for the authorisation of exactly this 0101 (again only when a token
        would expire): the token goes into ``IssuedToken``.

        The request hash covers the 0101 without the token text, so every token for this
        request (a renewal too) is bound to the same hash, and the 0101's ids stay.
        """
        current = exchange.authorisation
        if current is not None:
            expires = current.expires_at
            if not current.required or (
                expires is not None and expires - _TOKEN_MARGIN > self.participant.clock.now()
            ):
                return
        asked = {
            "serviceId": exchange.route.service_id,
            "purpose": exchange.purpose,
            "legalBasis": exchange.legal_basis,
            "usesIdnr": tokens.uses_idnr(exchange.request),
            "requestHash": exchange.request_hash,
        }
        with trace.span(
            Hop.DC_SAK,
            self.consumer_id,
            peer=self.sak_id,
            title=f"Berechtigung für {exchange.evidence_type}",
        ):
            trace.step("Berechtigung für genau diese Anfrage (Hash) beim SAK erfragt")
            response = await self._sak("POST", AUTHORISATIONS_PATH, json_body=asked)
            trace.step("Übermittlung erlaubt (Token der Vermittlungsstelle, wo nötig)")
            # The VS's "no" is a refusal of the transfer itself (DC-03): nothing is sent.
            granted = read_authorisation(
                response.status_code, response.content, component=self.sak_id
            )
        exchange.authorisation = granted
        request = exchange.request
        if granted.required:
            request = request.with_token(granted.token)
        exchange.raw_request = messages.to_bytes(request)

    async def _run(self, exchange: _Exchange) -> EvidenceResult:
        """Submit, retry, wait for asynchronous answers, and return the checked evidence."""
        waited = timedelta(0)
        collections = 0
        while True:
            answer = await self._submit_with_retries(exchange)
            available_at = answer.response.available_at
            if available_at is None:
                self._record(exchange, "delivered")
                return self._result(exchange, answer)
            self._record(exchange, "pending")
            now = self.participant.clock.now()
            delay = max(timedelta(0), available_at - now)
            if (
                collections >= self.retry.max_collections
                or waited + delay > self.retry.max_pending_wait
            ):
                why = (
                    "not collected (RetryPolicy.max_collections)"
                    if collections >= self.retry.max_collections
                    else "beyond the wait bound (RetryPolicy.max_pending_wait)"
                )
                raise EvidencePending(
                    f"evidence announced for {available_at.isoformat()} is {why}",
                    available_at=available_at,
                    request_id=exchange.request.request_id,
                    component=exchange.route.provider,
                )
            if self._on_pending is not None:
                self._on_pending(
                    PendingEvidence(
                        exchange.request.request_id,
                        exchange.evidence_type,
                        exchange.route.provider,
                        available_at,
                        delay.total_seconds(),
                    )
                )
            log.info(
                "request %s pending at %s: collecting in %.1fs",
                exchange.request.request_id,
                exchange.route.provider,
                delay.total_seconds(),
            )
            await self._sleep(delay.total_seconds())
            waited += delay
            collections += 1

    async def _submit_with_retries(self, exchange: _Exchange) -> _Answer:
        failures = 0
        while True:
            await self._authorise(exchange)
            try:
                return await self._submit_once(exchange)
            except NootsError as exc:
                failures += 1
                if (
                    not is_retryable(exc, http_status=exchange.last_status)
                    or failures >= self.retry.max_attempts
                ):
                    raise
                delay = self.retry.delay(failures, self._rng)
                log.warning(
                    "request %s attempt %d failed (%s %s): retrying in %.2fs",
                    exchange.request.request_id,
                    failures,
                    exc.code,
                    type(exc).__name__,
                    delay,
                )
                await self._sleep(delay)

    async def _submit_once(self, exchange: _Exchange) -> _Answer:
        """Hand the 0101 to the SAK once; the checked 0102 (or the typed error of a 0103)."""
        route = exchange.route
        with trace.span(
            Hop.DC_SAK,
            self.consumer_id,
            peer=self.sak_id,
            title=f"{exchange.evidence_type} anfragen",
        ):
            trace.step("0101 an den eigenen SAK übergeben (Zweck, Dienst-ID)")
            trace.attach("Nachweisanfrage (DE.EvidenceRequest.0101)", exchange.raw_request)
            exchange.last_status = None
            exchange.submissions += 1
            response = await self._sak(
                "POST",
                CONSUMER_REQUESTS_PATH,
                content=exchange.raw_request,
                headers={
                    "Content-Type": XML_MEDIA_TYPE,
                    Header.PURPOSE: encode_value(exchange.purpose),
                    Header.SERVICE_ID: encode_value(route.service_id),
                },
            )
            envelope_id = _uuid_header(response, Header.ENVELOPE_ID)
            if envelope_id is not None:
                exchange.envelope_ids.append(envelope_id)
                trace.note(envelope_id=str(envelope_id))
            trace.step("Antwort des SAK erhalten")
        status, content = response.status_code, response.content
        exchange.last_status = status
        log.info(
            "0101 %s → %s via %s: HTTP %d, %s, %d bytes",
            exchange.request.request_id,
            route.provider,
            self.sak_id,
            status,
            response.headers.get(Header.OUTCOME, "-"),
            len(content),
        )
        with trace.span(
            Hop.SAK_DC,
            self.consumer_id,
            peer=self.sak_id,
            title="Antwort prüfen",
            envelope_id=str(envelope_id) if envelope_id else None,
        ):
            trace.attach("Antwort (0102/0103)", content)
            answer = self._read(status, content, response.headers.get("content-type", ""))
            response_envelope = _uuid_header(response, Header.RESPONSE_ENVELOPE_ID)
            return _Answer(self._check(exchange, answer), content, response_envelope)

    def _read(self, status: int, content: bytes, media_type: str) -> Answer:
        """The XNachweis answer in a SAK's answer. A JSON problem (the SAK could not read or
        take the 0101) is the typed error of its code; no answer at all from a failing gateway
        is :class:`TransportFailed` (retried); anything else unreadable is refused as ours."""
        own = self.consumer_id
        if "json" in media_type.lower():
            raise read_problem(status, content, component=self.sak_id)
        trace.step("Antwort ist eine XNachweis-Nachricht")
        try:
            element = parse_xml(content)
        except XmlError as exc:
            if status >= 500 or not content:
                raise TransportFailed(
                    f"HTTP {status} without an answer", component=self.sak_id
                ) from exc
            raise _own(
                MalformedMessage(f"answer is not acceptable XML: {exc.message}"), own
            ) from None
        try:
            return read_answer(element)
        except NootsError as exc:
            if status >= 500:  # a failing gateway's page: no answer came
                raise TransportFailed(
                    f"HTTP {status} without an answer", component=self.sak_id
                ) from exc
            raise _own(
                MalformedMessage(f"answer is no XNachweis 0102/0103: {exc.message}"), own
            ) from None

    def _check(self, exchange: _Exchange, answer: Answer) -> messages.EvidenceResponse:
        """The XNachweis-level checks, before anything in the answer is used (DC-05)."""
        own = self.consumer_id
        request = exchange.request
        message = answer.message
        trace.step("Antwort zu genau dieser Anfrage (Request-ID, Anfragender)")
        if message.request_id != request.request_id:
            raise _own(ResponseBindingError("the answer echoes another request id"), own)
        if message.requester.identifier != self._agent.identifier:
            raise _own(ResponseBindingError("the answer names another requester"), own)
        if isinstance(message, messages.EvidenceErrorResponse):
            reporter = message.error_provider.identifier
            first = message.errors[0]
            code = answer.codes[0] if answer.codes else str(first.code)
            trace.check(f"Fehlerantwort {code} von {reporter}", False, first.detail or "")
            raise error_of_code(code, first.detail or "", component=reporter)
        provider = exchange.route.provider
        trace.step("Nachweis vom angefragten Datenhalter, Nachweistyp und Person wie angefragt")
        if message.provider.identifier != provider:
            raise _own(SenderMismatch(f"evidence of another provider than {provider!r}"), own)
        for evidence in message.evidences:
            if evidence.conformance.classification != request.evidence_type.classification:
                raise _own(ResponseBindingError("evidence of another type than requested"), own)
            subject = evidence.subject
            if exchange.idnr is not None and (
                not isinstance(subject, messages.NaturalPerson) or subject.idnr != exchange.idnr
            ):
                raise _own(
                    ResponseBindingError("evidence about another person than requested"), own
                )
        return message

    def _result(self, exchange: _Exchange, answer: _Answer) -> EvidenceResult:
        evidence = answer.response.evidence
        assert evidence is not None
        try:
            document = parse_xml(evidence.document)
        except XmlError as exc:
            raise _own(
                MalformedMessage(f"evidence document is not acceptable XML: {exc.message}"),
                self.consumer_id,
            ) from None
        return EvidenceResult(
            evidence_type=exchange.evidence_type,
            purpose=exchange.purpose,
            route=exchange.route,
            evidence=evidence,
            document=document,
            raw_request=exchange.raw_request,
            raw_response=answer.raw_response,
            request_id=exchange.request.request_id,
            message_uuid=exchange.request.message_uuid,
            envelope_ids=tuple(exchange.envelope_ids),
            response_envelope_id=answer.response_envelope_id,
            idnr=exchange.idnr,
            submissions=exchange.submissions,
        )

    # -- the subject and the IDA -------------------------------------------------------------

    async def _subject(
        self,
        kind: str,
        idnr: str | None,
        person: PersonQuery | None,
        company: messages.LegalPerson | None,
        born: date | None,
        purpose: str,
    ) -> tuple[messages.NaturalPerson | messages.LegalPerson, str | None]:
        if kind == "legal":
            if company is None:
                raise InvalidInput("this evidence type is about a company: pass company=")
            return company, None
        if company is not None:
            raise InvalidInput("this evidence type is about a natural person, not a company")
        if idnr is None:
            if person is None:
                raise InvalidInput("pass idnr= or person= to name the evidence subject")
            idnr = await self.lookup_idnr(person, purpose=purpose)
        # DC-04: never send an IDNr that breaks the rules; test numbers only in test mode.
        idnr = idnr_rules.validate(idnr, allow_test_numbers=self._test)
        if person is None:
            if born is None:
                raise InvalidInput(
                    "the 0101 carries basic data beside the IDNr: give the person or the date "
                    "of birth (the IDA supplies the rest)"
                )
            person = await self.basic_data(idnr, born, purpose=purpose)
        subject = messages.NaturalPerson(
            person.family_name,
            person.given_name,
            person.date_of_birth,
            idnr,
            place_of_birth=person.place_of_birth,
        )
        return subject, idnr

    async def lookup_idnr(self, person: PersonQuery, *, purpose: str | None = None) -> str:
        """The IDNr for basic data (IDA); :class:`NotFound` if none or several match."""
        result = await self._ida(
            ida.ByName(person.family_name, person.given_name, person.date_of_birth), purpose
        )
        return result.idnr

    async def basic_data(self, idnr: str, born: date, *, purpose: str | None = None) -> PersonQuery:
        """The basic data the IDA holds for an IDNr and date of birth."""
        result = await self._ida(ida.ByIdnr(idnr, born), purpose)
        data = result.basic_data
        if data is None or result.idnr != idnr:
            raise _own(
                UpstreamError("the IDA answered without the basic data asked for"), self.consumer_id
            )
        return PersonQuery(
            data.given_names, data.family_name, data.date_of_birth, data.place_of_birth
        )

    async def _ida(self, query: ida.LookupQuery, purpose: str | None) -> ida.LookupResult:
        """One IDA look-up; an IDNr received (or refused) is a transfer to log (§ 9 IDNrG).

        The IDA is reached directly, with the online service's IAM access token for it; the
        look-up's id (``Noots-Message-Id``) names the transfer in both protocol logs.
        """
        ida_id = self.topology.ida.participant_id
        asked = query.idnr if isinstance(query, ida.ByIdnr) else None
        look_up = uuid.uuid4()
        message = f"urn:uuid:{look_up}"
        with trace.span(
            Hop.DC_IDA,
            self.consumer_id,
            peer=ida_id,
            envelope_id=str(look_up),
            title="IDNr-Abfrage",
        ):
            with self._refusal_logged(ida_id, "IDNr", purpose, asked, message):
                result = await self._ida_call(query, ida_id, purpose, look_up)
                trace.step("IDNr eindeutig ermittelt")
            self._log(ida_id, "IDNr", purpose, result.idnr, message, "delivered")
            return result

    async def _ida_call(
        self,
        query: ida.LookupQuery,
        ida_id: str,
        purpose: str | None,
        look_up: uuid.UUID,
    ) -> ida.LookupResult:
        """One look-up at the IDA; its result (``env:Error`` → the typed error of its code)."""
        headers = {"Content-Type": XML_MEDIA_TYPE, Header.MESSAGE_ID: str(look_up)}
        if purpose:
            headers[Header.PURPOSE] = encode_value(purpose)
        if self._access is not None:
            headers.update(await self._access.authorization(ida_id))
        body = serialize(ida.build_query(query))
        trace.attach("IDNr-Anfrage", body)
        trace.step(f"{ida_id} erreichbar, Antwort erhalten")
        url = f"{self.endpoints.ida}{ida.LOOKUP_PATH}"
        try:
            response = await self._http.post(url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise TransportFailed(f"no answer in time from {url}", component=ida_id) from exc
        except httpx.HTTPError as exc:
            raise TransportFailed(
                f"{type(exc).__name__} talking to {url}", component=ida_id
            ) from exc
        status, content = response.status_code, response.content
        trace.attach("Antwort der IDA", content)
        log.info("IDA look-up %s → %s: HTTP %d", look_up, ida_id, status)
        trace.step("Antwort ist ein Ergebnis der IDA")
        try:
            root = parse_xml(content)
        except XmlError as exc:
            if status >= 500 or not content:
                raise TransportFailed(f"HTTP {status} without an answer", component=ida_id) from exc
            raise _own(
                MalformedMessage(f"the IDA's answer is not acceptable XML: {exc.message}"),
                self.consumer_id,
            ) from exc
        if root.tag == f"{{{ENV_NS}}}Error":
            code, detail, component = parse_error_body(root)
            raise error_for_code(code, detail, component=component)
        try:
            return ida.parse_result(root)
        except NootsError as exc:
            raise _own(
                MalformedMessage(f"unusable IDA answer: {exc.message}"), self.consumer_id
            ) from None

    def _record(self, exchange: _Exchange, outcome: str) -> None:
        """One protocol entry per outcome of the request (idempotent per outcome)."""
        self._log(
            exchange.route.provider,
            exchange.evidence_type,
            exchange.purpose,
            exchange.idnr,
            f"urn:uuid:{exchange.request.request_id}",
            outcome,
        )

    @contextlib.contextmanager
    def _refusal_logged(
        self,
        provider: str,
        evidence_type: str,
        purpose: str | None,
        idnr: str | None,
        message_id: str,
    ) -> Iterator[None]:
        """A refusal (any NootsError) inside is logged as ``refused:<code>`` and raised on."""
        try:
            yield
        except NootsError as exc:
            self._log(provider, evidence_type, purpose, idnr, message_id, f"refused:{exc.code}")
            raise

    def _log(
        self,
        provider: str,
        evidence_type: str,
        purpose: str | None,
        idnr: str | None,
        message_id: str,
        outcome: str,
    ) -> None:
        log.info(
            "transfer %s %s → %s %s: %s",
            message_id,
            self.consumer_id,
            provider,
            evidence_type,
            outcome,
        )
        if self.protocol_log is None:
            return
        self.protocol_log.append(
            consumer=self.consumer_id,
            provider=provider,
            evidence_type=evidence_type,
            purpose=purpose or "-",
            idnr=idnr,
            message_id=message_id,
            outcome=outcome,
        )


def _own(error: NootsError, own: str) -> NootsError:
    """Mark an error as found by this client's own checks (see noots.consumers._explain)."""
    error.component = own
    return error


def _uuid_header(response: httpx.Response, name: str) -> uuid.UUID | None:
    value = response.headers.get(name)
    if value is None:
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None


class Client:
    """The synchronous face of :class:`AsyncClient`: same arguments, same results.

    It owns a private event loop in a background thread, so it also works where the caller
    already runs one. Close it (or use it as a context manager) to stop that thread.
    """

    def __init__(
        self, participant: Participant, endpoints: Endpoints, topology: Topology, **options: Any
    ) -> None:
        self._start(partial(AsyncClient, participant, endpoints, topology, **options))

    @classmethod
    def from_landscape(
        cls,
        consumer_id: str,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        topology: str | os.PathLike[str] | None = None,
        **options: Any,
    ) -> Client:
        """See :meth:`AsyncClient.from_landscape`: the client of ``consumer_id`` in the running
        landscape of ``data_dir``, in one line."""
        client = cls.__new__(cls)
        client._start(
            partial(
                AsyncClient.from_landscape,
                consumer_id,
                data_dir=data_dir,
                topology=topology,
                **options,
            )
        )
        return client

    def _start(self, factory: Callable[[], AsyncClient]) -> None:
        self._portal_cm = start_blocking_portal()
        self._portal: BlockingPortal = self._portal_cm.__enter__()
        try:
            self._client: AsyncClient = self._portal.call(_make_async_client, factory)
        except BaseException:
            self._portal_cm.__exit__(None, None, None)
            raise

    @property
    def async_client(self) -> AsyncClient:
        return self._client

    def fetch_evidence(
        self,
        evidence_type: str,
        *,
        purpose: str,
        idnr: str | None = None,
        person: PersonQuery | None = None,
        company: messages.LegalPerson | None = None,
        region: str | None = None,
        legal_basis: str | None = None,
        born: date | None = None,
    ) -> EvidenceResult:
        """See :meth:`AsyncClient.fetch_evidence`."""
        call = partial(
            self._client.fetch_evidence,
            evidence_type,
            purpose=purpose,
            idnr=idnr,
            person=person,
            company=company,
            region=region,
            legal_basis=legal_basis,
            born=born,
        )
        return self._portal.call(call)

    def order_evidence(
        self,
        evidence_type: str,
        *,
        purpose: str,
        person: PersonQuery,
        country: str,
        requirement: str,
        requirement_name: str,
        back_url: str,
        procedure: str,
    ) -> OrderPlaced:
        """See :meth:`AsyncClient.order_evidence`."""
        call = partial(
            self._client.order_evidence,
            evidence_type,
            purpose=purpose,
            person=person,
            country=country,
            requirement=requirement,
            requirement_name=requirement_name,
            back_url=back_url,
            procedure=procedure,
        )
        return self._portal.call(call)

    def get_evidence(
        self,
        conversation: OrderPlaced | str,
        *,
        evidence_type: str | None = None,
        purpose: str | None = None,
    ) -> EuEvidence | EuEvidencePending:
        """See :meth:`AsyncClient.get_evidence`."""
        call = partial(
            self._client.get_evidence,
            conversation,
            evidence_type=evidence_type,
            purpose=purpose,
        )
        return self._portal.call(call)

    def lookup_idnr(self, person: PersonQuery, *, purpose: str | None = None) -> str:
        return self._portal.call(partial(self._client.lookup_idnr, person, purpose=purpose))

    def find_route(self, evidence_type: str, region: str | None = None) -> Route:
        return self._portal.call(self._client.find_route, evidence_type, region)

    def close(self) -> None:
        try:
            self._portal.call(self._client.aclose)
        finally:
            self._portal_cm.__exit__(None, None, None)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _make_async_client(factory: Callable[[], AsyncClient]) -> AsyncClient:
    # httpx binds its pool to the loop it is first used on: build the client on the portal's.
    return factory()
