"""The data consumer's client: one call fetches one evidence for one person, end to end.

IDA (basic data → IDNr) → RDN (evidence type, region → provider and service id) → VS (a token
for this exact request) → signed ``DE.EvidenceRequest.0101`` via the transport hub → verify the
answer → :class:`~consumers.EvidenceResult` or a typed error of :mod:`noots.errors`.

:class:`AsyncClient` does the work; :class:`Client` runs it on a private event loop for
synchronous callers (no second implementation).
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from typing import Any, TypeVar

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal
from lxml import etree

from consumers import _platform
from consumers._person import PersonQuery
from consumers._results import EvidenceResult, Route
from consumers._retry import AsyncSleeper, RetryPolicy, TransportFailed, is_retryable, real_sleep
from noots import ida, messages, tokens, trace
from noots import idnr as idnr_rules
from noots.envelope import (
    ENV_NS,
    EnvelopeHeader,
    OpenedEnvelope,
    check_binding,
    open_envelope,
    parse_error_body,
    seal,
)
from noots.errors import (
    AuthenticationError,
    AuthorisationError,
    AuthorisationRefused,
    ConfigurationError,
    InvalidInput,
    MalformedMessage,
    NootsError,
    ResponseBindingError,
    SenderMismatch,
    UpstreamError,
    UpstreamTimeout,
    XmlError,
    error_for_code,
)
from noots.participant import Participant
from noots.protocol import ProtocolLog
from noots.topology import Topology
from noots.trace import Hop
from noots.xml import parse as parse_xml

__all__ = ["AsyncClient", "Client", "Endpoints"]

log = logging.getLogger("consumers.client")
DEFAULT_RETRY = RetryPolicy()

T = TypeVar("T")

_XML = {"Content-Type": "application/xml"}
# A token is fetched again when it would expire within this margin: a request that arrives at
# the provider with an expired token is refused (EDM:ERR:0002), which no retry can repair.
_TOKEN_MARGIN = timedelta(seconds=5)


@dataclass(frozen=True)
class Endpoints:
    """Base URLs: the platform (hub, RDN, VS) and the IDA."""

    platform: str
    ida: str

    @classmethod
    def from_topology(cls, topology: Topology, *, tls: bool = False) -> Endpoints:
        return cls(topology.base_url("platform", tls=tls), topology.base_url("ida", tls=tls))


@dataclass
class _Exchange:
    """The state of one retrieval while it is in flight (never leaves this module)."""

    evidence_type: str
    purpose: str
    legal_basis: str
    route: Route
    request: messages.EvidenceRequest
    idnr: str | None
    token: _platform.Token | None = None
    element: etree._Element | None = None
    envelope_ids: list[uuid.UUID] = field(default_factory=list)
    #: HTTP status of the last answer (None: no answer); it tells a gateway failure (502) from
    #: a provider's own query error (500), see consumers._retry.is_retryable.
    last_status: int | None = None


@dataclass(frozen=True)
class _Answer:
    """A verified answer: either the evidence or the time it will be available."""

    opened: OpenedEnvelope
    response: messages.EvidenceResponse
    raw_request: bytes


class AsyncClient:
    """Fetch evidence as ``participant`` through the platform at ``endpoints``.

    ``http`` (or ``transport``) lets tests wire the client to in-process apps; ``sleep`` and
    ``rng`` make waiting and jitter observable; ``protocol_log`` records every transfer (DC-09).
    ``timeout`` is per HTTP request and longer than the hub's wait for a register (10 s by
    default), so a slow register is reported by the hub (``0005``) rather than cut off here.
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
        timeout: float = 30.0,
        test: bool = True,
    ) -> None:
        self.participant = participant
        self.endpoints = endpoints
        self.topology = topology
        self.retry = retry
        self._sleep = sleep
        self._rng = rng or random.SystemRandom()
        self.protocol_log = protocol_log
        self._test = test
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(transport=transport, timeout=timeout)
        try:
            spec = topology.consumer(participant.participant_id)
        except NootsError:
            raise ConfigurationError(
                f"{participant.participant_id!r} is not a data consumer of this landscape"
            ) from None
        self._agent = messages.Agent(spec.participant_id, spec.name)

    @property
    def consumer_id(self) -> str:
        return self.participant.participant_id

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

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
        """One evidence for one subject, verified; or a typed :class:`NootsError`.

        The subject is a natural person by ``idnr`` with ``person`` (basic data) or ``born``
        (the IDA supplies the rest), by ``person`` alone (the IDA finds the IDNr), or a legal
        person by ``company``.
        """
        with trace.exchange():  # the hops before the 0101 exists get its id (noots.trace)
            spec = self.topology.evidence_type(evidence_type)
            subject, subject_idnr = await self._subject(
                spec.subject, idnr, person, company, born, purpose
            )
            route = await self.find_route(evidence_type, region)
            request = messages.EvidenceRequest.new(
                requester=self._agent,
                provider=messages.Agent(route.provider, route.provider_name),
                evidence_type=messages.EvidenceType(
                    spec.classification, spec.title, spec.identifier
                ),
                subject=subject,
                clock=self.participant.clock,
                test=self._test,
            )
            trace.bind(str(request.request_id))
            legal_basis = legal_basis or self._legal_basis(evidence_type, route.provider, purpose)
            exchange = _Exchange(evidence_type, purpose, legal_basis, route, request, subject_idnr)
            try:
                return await self._run(exchange)
            except NootsError as exc:
                self._record(exchange, f"refused:{exc.code}")
                raise

    def _legal_basis(self, evidence_type: str, provider: str, purpose: str) -> str:
        """The legal basis of the matrix row this request claims; the VS decides about it."""
        rows = self.topology.authorisations_for(self.consumer_id, evidence_type, provider)
        for row in rows:
            if row.purpose == purpose:
                return row.legal_basis
        return "nicht angegeben"  # no row: the VS will refuse, and nothing is sent (DC-03)

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
        """One IDA look-up; an IDNr received (or refused) is a transfer to log (§ 9 IDNrG)."""
        ida_id = self.topology.ida.participant_id
        asked = query.idnr if isinstance(query, ida.ByIdnr) else None
        envelope_id = uuid.uuid4()
        message = f"urn:uuid:{envelope_id}"  # the look-up's request envelope names the transfer
        with trace.span(
            Hop.DC_IDA,
            self.consumer_id,
            peer=ida_id,
            envelope_id=str(envelope_id),
            title="IDNr-Abfrage",
        ):
            try:
                opened, _raw = await self._platform_call(
                    f"{self.endpoints.ida}{ida.LOOKUP_PATH}",
                    ida_id,
                    ida.service_id(ida_id),
                    ida.build_query(query),
                    purpose=purpose,
                    message_id=envelope_id,
                )
                trace.step("IDNr eindeutig ermittelt")
                result = self._ida_result(opened)
            except NootsError as exc:
                self._log(ida_id, "IDNr", purpose, asked, message, f"refused:{exc.code}")
                raise
            self._log(ida_id, "IDNr", purpose, result.idnr, message, "delivered")
            return result

    def _ida_result(self, opened: OpenedEnvelope) -> ida.LookupResult:
        try:
            return ida.parse_result(opened.body)
        except NootsError as exc:
            raise _own(
                MalformedMessage(f"unusable IDA answer: {exc.message}"), self.consumer_id
            ) from None

    async def find_route(self, evidence_type: str, region: str | None) -> Route:
        """The one provider the RDN names for ``evidence_type`` in ``region``."""
        with trace.span(Hop.DC_RDN, self.consumer_id, title=f"{evidence_type}: Datenhalter finden"):
            trace.step("RDN erreichbar")
            url = f"{self.endpoints.platform}{_platform.RDN_PATH}"
            params = {"evidenceType": evidence_type}
            if region:
                params["region"] = region
            try:
                response = await self._http.get(url, params=params)
            except httpx.HTTPError as exc:
                raise TransportFailed(
                    f"RDN unreachable: {type(exc).__name__}", component="rdn"
                ) from exc
            trace.step("Genau ein zuständiger Datenhalter")
            return _platform.read_rdn_answer(response.status_code, response.content, evidence_type)

    # -- steps -------------------------------------------------------------------------------

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

    async def _fresh_token(self, exchange: _Exchange) -> None:
        """Get (or renew) the VS token for this exact request and put it into the 0101.

        Renewing keeps the request identical: the token binds the hash of the 0101 without the
        token text, so every token for this request carries the same hash.
        """
        now = self.participant.clock.now()
        if exchange.token is not None and exchange.token.expires_at - _TOKEN_MARGIN > now:
            return
        unsigned = messages.build(exchange.request.with_token(""))
        vs_id = self.topology.platform.vs_id
        asked = tokens.TokenRequest(
            consumer=self.consumer_id,
            provider=exchange.route.provider,
            evidence_type=exchange.request.evidence_type.classification,
            purpose=exchange.purpose,
            legal_basis=exchange.legal_basis,
            uses_idnr=exchange.idnr is not None,
            request_hash=tokens.request_hash(unsigned),
        )
        with trace.span(
            Hop.DC_VS, self.consumer_id, peer=vs_id, title=f"Token für {exchange.evidence_type}"
        ):
            try:
                opened, _raw = await self._platform_call(
                    f"{self.endpoints.platform}{_platform.VS_PATH}",
                    vs_id,
                    _platform.VS_SERVICE,
                    tokens.build_token_request(asked),
                    purpose=exchange.purpose,
                )
            except AuthorisationError as exc:
                # The VS's "no" is a refusal of the transfer itself (DC-03): nothing is sent.
                raise AuthorisationRefused(exc.message, component=exc.component or vs_id) from None
            trace.step("Token von der VS versiegelt und an genau diese Anfrage gebunden (Hash)")
            exchange.token = _platform.read_token_answer(
                opened.body,
                self.participant.verifier,
                clock=self.participant.clock,
                expected=asked,
                component=vs_id,
            )
        exchange.element = messages.build(exchange.request.with_token(exchange.token.issued))

    async def _run(self, exchange: _Exchange) -> EvidenceResult:
        """Send, retry, wait for asynchronous answers, and return the verified evidence."""
        waited = timedelta(0)
        collections = 0
        while True:
            answer = await self._send_with_retries(exchange)
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
                raise UpstreamTimeout(
                    f"evidence announced for {available_at.isoformat()} is beyond the wait bound",
                    component=exchange.route.provider,
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

    async def _send_with_retries(self, exchange: _Exchange) -> _Answer:
        failures = 0
        while True:
            await self._fresh_token(exchange)
            try:
                return await self._send_once(exchange)
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

    async def _send_once(self, exchange: _Exchange) -> _Answer:
        assert exchange.element is not None  # set by _fresh_token
        route = exchange.route
        header = EnvelopeHeader(
            message_id=uuid.uuid4(),  # fresh per envelope; the 0101 ids stay (PROTOCOL.md)
            sender=self.consumer_id,
            recipient=route.provider,
            service_id=route.service_id,
            created=self.participant.clock.now(),
            purpose=exchange.purpose,
        )
        hub_id = self.topology.platform.hub_id
        hop = {"peer": hub_id, "envelope_id": str(header.message_id)}
        with trace.span(
            Hop.DC_HUB, self.consumer_id, title=f"{exchange.evidence_type} anfragen", **hop
        ):
            trace.step("0101 mit VS-Token im Umschlag signiert (eigener Schlüssel)")
            raw_request = seal(header, exchange.element, self.participant.signer)
            trace.attach("Nachweisanfrage (signierter Transportumschlag mit 0101)", raw_request)
            exchange.envelope_ids.append(header.message_id)
            url = f"{self.endpoints.platform}{_platform.HUB_PATH}"
            exchange.last_status = None
            trace.step("Transport-Hub erreichbar, Antwort erhalten")
            status, raw_response = await self._post(url, raw_request, component=hub_id)
        log.info(
            "0101 %s envelope %s → %s via hub: HTTP %d, %d bytes",
            exchange.request.request_id,
            header.message_id,
            route.provider,
            status,
            len(raw_response),
        )
        exchange.last_status = status
        with trace.span(Hop.HUB_DC, self.consumer_id, title="Antwort prüfen", **hop):
            trace.attach("Antwort (signierter Transportumschlag)", raw_response)
            opened = self._open_answer(
                raw_response,
                raw_request,
                status,
                allowed={route.provider, hub_id},
                sent_id=header.message_id,
                peer=self.topology.platform.hub_id,
            )
            return self._read_evidence_answer(exchange, opened, raw_request, status)

    # -- talking HTTP ------------------------------------------------------------------------

    async def _post(self, url: str, body: bytes, *, component: str) -> tuple[int, bytes]:
        try:
            response = await self._http.post(url, content=body, headers=_XML)
        except httpx.TimeoutException as exc:
            raise TransportFailed(f"no answer in time from {url}", component=component) from exc
        except httpx.HTTPError as exc:
            raise TransportFailed(
                f"{type(exc).__name__} talking to {url}", component=component
            ) from exc
        return response.status_code, response.content

    async def _platform_call(
        self,
        url: str,
        recipient: str,
        service_id: str,
        body: etree._Element,
        *,
        purpose: str | None = None,
        message_id: uuid.UUID | None = None,
    ) -> tuple[OpenedEnvelope, bytes]:
        """One signed request to a platform service (VS, IDA); its verified answer.

        An ``env:Error`` answer becomes the typed error of its code.
        """
        header = EnvelopeHeader(
            message_id=message_id or uuid.uuid4(),
            sender=self.consumer_id,
            recipient=recipient,
            service_id=service_id,
            created=self.participant.clock.now(),
            purpose=purpose,
        )
        trace.note(envelope_id=str(header.message_id))
        trace.step("Anfrage im Umschlag signiert (eigener Schlüssel)")
        raw_request = seal(header, body, self.participant.signer)
        trace.attach("Anfrage (signierter Transportumschlag)", raw_request)
        trace.step(f"{recipient} erreichbar, Antwort erhalten")
        status, raw_response = await self._post(url, raw_request, component=recipient)
        trace.attach("Antwort (signierter Transportumschlag)", raw_response)
        log.info("%s envelope %s → %s: HTTP %d", service_id, header.message_id, recipient, status)
        opened = self._open_answer(
            raw_response,
            raw_request,
            status,
            allowed={recipient},
            sent_id=header.message_id,
            peer=recipient,
        )
        trace.step("Antwort ohne Fehlermeldung")
        if opened.body.tag == f"{{{ENV_NS}}}Error":
            code, detail, component = parse_error_body(opened.body)
            raise error_for_code(code, detail, component=component)
        return opened, raw_request

    def _open_answer(
        self,
        raw_response: bytes,
        raw_request: bytes,
        status: int,
        *,
        allowed: set[str],
        sent_id: uuid.UUID,
        peer: str,
    ) -> OpenedEnvelope:
        """Verify an answer completely before anything in it is read (DC-05).

        A body that is not even XML is a transport failure when the status says a gateway
        failed; anything that claims to be an envelope and fails a check is refused for good.
        """
        own = self.consumer_id
        trace.step("Antwort ist ein XML-Transportumschlag")
        try:
            root = parse_xml(raw_response)
        except XmlError as exc:
            if status >= 500 or not raw_response:
                raise TransportFailed(f"HTTP {status} without an envelope", component=peer) from exc
            raise _own(
                MalformedMessage(f"answer is not acceptable XML: {exc.message}"), own
            ) from exc
        if root.tag != f"{{{ENV_NS}}}TransportEnvelope" and status >= 500:
            raise TransportFailed(f"HTTP {status} without an envelope", component=peer)
        try:
            trace.step("Signatur und Zertifikat der Antwort (Kette, Gültigkeit, Sperrliste)")
            opened = open_envelope(raw_response, self.participant.verifier)
            trace.step("Absender und Empfänger der Antwort")
            if opened.header.sender not in allowed:
                raise SenderMismatch(
                    f"answer signed by {opened.header.sender!r}, expected one of {sorted(allowed)}"
                )
            if opened.header.recipient != own:
                raise SenderMismatch(f"answer addressed to {opened.header.recipient!r}, not to us")
            trace.step("Antwort an die eigene Anfrage gebunden (InResponseTo)")
            check_binding(opened, raw_request)
            if opened.header.request_message_id not in (None, sent_id):
                raise ResponseBindingError("answer names another request envelope")
        except (AuthenticationError, InvalidInput) as exc:
            raise _own(exc, own) from None
        return opened

    def _read_evidence_answer(
        self, exchange: _Exchange, opened: OpenedEnvelope, raw_request: bytes, status: int
    ) -> _Answer:
        own = self.consumer_id
        hub_id = self.topology.platform.hub_id
        provider = exchange.route.provider
        trace.step("Antwort ohne Fehlermeldung der Plattform")
        if opened.body.tag == f"{{{ENV_NS}}}Error":
            code, detail, component = parse_error_body(opened.body)
            raise error_for_code(code, detail, component=component)
        trace.step("Antwort ist eine gültige XNachweis-Antwort zu dieser Anfrage")
        try:
            message = messages.parse(opened.body)
        except NootsError as exc:
            raise _own(
                MalformedMessage(f"answer is no XNachweis message: {exc.message}"), own
            ) from None
        request = exchange.request
        if isinstance(message, messages.EvidenceRequest):
            raise _own(MalformedMessage("answer is a request, not a response"), own)
        if message.request_id != request.request_id:
            raise _own(ResponseBindingError("answer echoes another request id"), own)
        if message.requester.identifier != own:
            raise _own(ResponseBindingError("answer names another requester"), own)
        trace.step("Antwort enthält den Nachweis (keine Fehlerantwort 0103)")
        if isinstance(message, messages.EvidenceErrorResponse):
            reporter = message.error_provider.identifier
            if reporter not in {provider, hub_id} or reporter != opened.header.sender:
                raise _own(SenderMismatch("error provider is not the signer of the answer"), own)
            first = message.errors[0]
            raise error_for_code(first.code, first.detail or first.code.title, component=reporter)
        # Evidence (or its announcement) only ever comes from the provider that was asked.
        trace.step("Nachweis vom angefragten Datenhalter signiert")
        if opened.header.sender != provider or message.provider.identifier != provider:
            raise _own(
                SenderMismatch(f"evidence not signed by the addressed provider {provider!r}"), own
            )
        trace.step("Nachweistyp und Person (IDNr) wie angefragt")
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
        return _Answer(opened, message, raw_request)

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
            raw_request=answer.raw_request,
            raw_response=answer.opened.raw,
            request_id=exchange.request.request_id,
            message_uuid=exchange.request.message_uuid,
            envelope_ids=tuple(exchange.envelope_ids),
            response_envelope_id=answer.opened.header.message_id,
            idnr=exchange.idnr,
        )

    def _record(self, exchange: _Exchange, outcome: str) -> None:
        """DC-09: one protocol entry per outcome of the request (idempotent per outcome)."""
        self._log(
            exchange.route.provider,
            exchange.evidence_type,
            exchange.purpose,
            exchange.idnr,
            f"urn:uuid:{exchange.request.request_id}",
            outcome,
        )

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
    """Mark an error as found by this client's own checks (see consumers._explain)."""
    error.component = own
    return error


class Client:
    """The synchronous face of :class:`AsyncClient`: same arguments, same results.

    It owns a private event loop in a background thread, so it also works where the caller
    already runs one. Close it (or use it as a context manager) to stop that thread.
    """

    def __init__(
        self, participant: Participant, endpoints: Endpoints, topology: Topology, **options: Any
    ) -> None:
        self._portal_cm = start_blocking_portal()
        self._portal: BlockingPortal = self._portal_cm.__enter__()
        try:
            self._client: AsyncClient = self._portal.call(
                _make_async_client,
                partial(AsyncClient, participant, endpoints, topology, **options),
            )
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
