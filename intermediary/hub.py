"""The transport hub: ``POST /transport/v1/messages``.

One request travels DC → hub → DP → hub → DC. The hub, in this order:

1. reads the body (5 MiB at most) and opens the envelope: hardened parse, the DC's signature
   and certificate (chain to the trust anchor, validity at the hub's clock, CRL, role
   ``consumer``), the signed element's schema, ``Sender`` = the certificate's participant
   (and, with TLS, = the participant of the TLS client certificate);
2. parses the ``DE.EvidenceRequest.0101`` from the verified body and checks that its requester
   is the sender, that the envelope declares a ``Purpose``, and that the service id names a
   register of the landscape (unknown → ``EDM:ERR:0006`` listing the services that exist) which
   is both the envelope's recipient and the 0101's provider, for the evidence type the 0101 asks;
3. forwards the **exact bytes** it received to the register's ``/evidence/v1`` (the DC's
   signature stays end to end), through one shared connection pool, with at most
   ``hub_max_in_flight`` requests open per register and a per-register timeout that also covers
   the wait for a free slot; one slow register therefore never takes the slots, connections or
   threads the others need;
4. verifies the answer: the register's signature and certificate (role ``provider``, signer =
   the register it was sent to), ``InResponseTo`` = SHA-256 of the request bytes, a 0102 or
   0103 answering this 0101;
5. logs the transfer (§ 9 IDNrG: consumer, provider, evidence type, purpose, IDNr, the 0101's
   ``id`` as ``urn:uuid:…`` — the id consumer and register log too, and which stays the same
   across retries — and the outcome) and returns the register's bytes unchanged.

Whatever fails is answered by the hub itself: an envelope signed by the hub and bound to the
request bytes, with a ``DE.EvidenceErrorResponse.0103`` when the 0101 was read (error provider:
the hub) and an ``env:Error`` otherwise. The detail names the component where it failed. A
register that does not answer in time → ``EDM:ERR:0005`` (504); one that is down, answers
garbage, an unsigned, wrongly signed or unbound envelope → ``EDM:ERR:0008`` (502).

Only verified requests are logged: a request whose signature fails names nobody reliably, and
a forged one must never put an entry into a citizen's Datenschutzcockpit. The log write
happens before the answer is returned; if it fails, the data is not delivered (0008).
The hub keeps no replay cache: retries carry fresh envelope ids, and replay protection is the
register's job (DP-10), which a hub-side cache would hide from the conformance suite.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from lxml import etree

from intermediary._edge import XML_MEDIA_TYPE, http_status, read_body
from intermediary._envelopes import Addressing, claimed_addressing, sign_answer
from noots import messages, trace
from noots.envelope import OpenedEnvelope, check_binding, error_body, open_envelope
from noots.errors import (
    InvalidInput,
    MalformedMessage,
    NootsError,
    ProtocolLogError,
    QueryError,
    RouteNotFound,
    SenderMismatch,
    UpstreamError,
    UpstreamTimeout,
)
from noots.participant import Participant
from noots.pki import Role
from noots.protocol import ProtocolLog
from noots.tls import NO_TLS, TlsPeer
from noots.topology import EvidenceTypeSpec, RegisterSpec, Topology
from noots.trace import Hop
from noots.xml import DEFAULT_LIMITS

__all__ = ["HUB_SERVICE_ID", "HubAnswer", "HubPolicy", "TransportHub", "router"]

log = logging.getLogger("intermediary.hub")

HUB_SERVICE_ID = "urn:noots:service:noots-hub:transport"
EVIDENCE_PATH = "/evidence/v1"
HUB_NAME = "NOOTS Transport-Hub"


@dataclass(frozen=True)
class HubPolicy:
    """Limits of the hub; safe defaults."""

    timeout: float = 10.0
    provider_timeouts: Mapping[str, float] = field(default_factory=dict)
    max_in_flight: int = 32
    max_response_bytes: int = DEFAULT_LIMITS.max_bytes

    def timeout_for(self, provider: str) -> float:
        return self.provider_timeouts.get(provider, self.timeout)


@dataclass(frozen=True)
class HubAnswer:
    status: int
    body: bytes
    outcome: str


@dataclass
class _Transfer:
    """What the hub has established about one request so far (verified facts only)."""

    raw: bytes
    #: Set once the envelope is verified; until then a refusal reads the claimed one (parsing
    #: the bytes only when something failed, not for every request).
    addressing: Addressing | None = None
    opened: OpenedEnvelope | None = None
    request: messages.EvidenceRequest | None = None
    register: RegisterSpec | None = None
    evidence_type: EvidenceTypeSpec | None = None


class TransportHub:
    """Routes verified evidence requests to registers and verified answers back."""

    def __init__(
        self,
        participant: Participant,
        topology: Topology,
        protocol_log: ProtocolLog,
        client: httpx.AsyncClient,
        policy: HubPolicy = HubPolicy(),
        *,
        tls: bool = False,
    ) -> None:
        self.participant = participant
        self.topology = topology
        self.protocol_log = protocol_log
        self.client = client
        self.policy = policy
        self.tls = tls
        self._slots: dict[str, asyncio.Semaphore] = {}

    @property
    def hub_id(self) -> str:
        return self.participant.participant_id

    async def handle(self, raw: bytes, peer: TlsPeer = NO_TLS) -> HubAnswer:
        """One request, end to end; always a signed answer. ``peer`` is the TLS client."""
        transfer = _Transfer(raw)
        # Checking a message is CPU-bound Python and runs on the event loop: worker threads
        # would add hand-offs and lock convoys, no parallelism (docs/PERFORMANCE.md). What
        # waits (the protocol log's fsync or database, refusals that log) runs in a thread.
        try:
            with trace.span(Hop.DC_HUB, self.hub_id, title="Anfrage annehmen und prüfen"):
                self._inbound(transfer, peer)
            assert transfer.register is not None
            with self._span(Hop.HUB_DP, transfer, "Weiterleitung an das Register"):
                content = await self._forward(transfer.register, raw)
            with self._span(Hop.DP_HUB, transfer, "Antwort des Registers prüfen"):
                answer = self._outbound(transfer, content)
                trace.step("Übermittlung protokolliert (§ 9 IDNrG)")
                await run_in_threadpool(self._log, transfer, answer.outcome)
        except NootsError as exc:
            return await run_in_threadpool(self._refuse, transfer, exc)
        except Exception:
            # A failure outside the error tree (a bug in a library below) must not become an
            # unsigned 500: it is logged and refused like any other, failing closed.
            log.exception("unexpected failure in the hub")
            error = QueryError("internal error in the hub; the request was not completed")
            return await run_in_threadpool(self._refuse, transfer, error)
        return answer

    def _span(self, hop: Hop, transfer: _Transfer, title: str) -> trace.Span:
        """The hub's part of a hop after the request was verified (noots.trace)."""
        if not trace.enabled():
            return trace.NULL_SPAN
        assert transfer.opened is not None
        assert transfer.request is not None
        return trace.span(
            hop,
            self.hub_id,
            trace_id=str(transfer.request.request_id),
            peer=transfer.register.participant_id if transfer.register else None,
            envelope_id=str(transfer.opened.header.message_id),
            title=title,
        )

    async def refuse_unread(self, error: NootsError) -> HubAnswer:
        """The answer to a body refused before it was read in full (too large)."""
        transfer = _Transfer(b"", Addressing("unknown", HUB_SERVICE_ID, None))
        return await run_in_threadpool(self._refuse, transfer, error, False)

    # -- the steps ------------------------------------------------------------------------

    def _inbound(self, transfer: _Transfer, peer: TlsPeer) -> None:
        trace.step("Signatur, Zertifikat (Kette, Gültigkeit, Sperrliste) und Absender des DC")
        opened = open_envelope(transfer.raw, self.participant.verifier, required_role=Role.CONSUMER)
        transfer.addressing = Addressing.of(opened.header)
        # With TLS the connecting participant must be the one that signed (noots.tls).
        peer.check(opened.header.sender, component=self.hub_id)
        transfer.opened = opened
        trace.note(peer=opened.header.sender, envelope_id=str(opened.header.message_id))
        trace.step("Nachricht ist eine XNachweis-Anfrage 0101")
        message = messages.parse(opened.body)
        if not isinstance(message, messages.EvidenceRequest):
            raise MalformedMessage(
                f"the hub carries DE.EvidenceRequest.0101 only, not {type(message).__name__}"
            )
        transfer.request = message
        trace.bind(str(message.request_id))
        header = opened.header
        trace.step("Anfragender im 0101 = Absender, Zweck angegeben")
        if message.requester.identifier != header.sender:
            raise SenderMismatch(
                f"the 0101 names requester {message.requester.identifier}, but the envelope "
                f"is sent and signed by {header.sender}"
            )
        if header.purpose is None:
            raise InvalidInput("an evidence request envelope must declare its Purpose")
        trace.step("Route: Dienst-ID, Empfänger und Nachweistyp gehören zum Register")
        register, spec = self._route(header.service_id, header.recipient)
        transfer.register, transfer.evidence_type = register, spec
        if header.recipient != register.participant_id:
            raise InvalidInput(
                f"envelope recipient {header.recipient} is not the provider of service id "
                f"{header.service_id} ({register.participant_id})"
            )
        if message.provider.identifier != register.participant_id:
            raise InvalidInput(
                f"the 0101 names provider {message.provider.identifier}, but service id "
                f"{header.service_id} belongs to {register.participant_id}"
            )
        if message.evidence_type.classification != spec.classification:
            raise InvalidInput(
                f"the 0101 asks for evidence type {message.evidence_type.classification}, but "
                f"service id {header.service_id} is for {spec.name} ({spec.classification})"
            )

    def _route(self, service_id: str, recipient: str) -> tuple[RegisterSpec, EvidenceTypeSpec]:
        try:
            provider, spec = self.topology.resolve_service(service_id)
            if isinstance(provider, RegisterSpec):  # the hub never carried the IP's traffic
                return provider, spec
        except RouteNotFound:
            pass
        known = [
            self.topology.service_id(r.participant_id, name)
            for r in self.topology.registers
            if r.participant_id == recipient
            for name in r.evidence_types
        ]
        hint = (
            f"Services of {recipient}: {', '.join(known)}."
            if known
            else f"{recipient} is not a data provider of this landscape; "
            "ask the RDN (GET /rdn/v1/services?evidenceType=…&region=…) for the service id."
        )
        raise RouteNotFound(f"the hub knows no service {service_id!r}. {hint}")

    async def _forward(self, register: RegisterSpec, raw: bytes) -> bytes:
        provider = register.participant_id
        slots = self._slots.get(provider)
        if slots is None:
            slots = self._slots.setdefault(provider, asyncio.Semaphore(self.policy.max_in_flight))
        timeout = self.policy.timeout_for(provider)
        url = self.topology.base_url(provider, tls=self.tls) + EVIDENCE_PATH
        trace.step(f"Register erreichbar, Antwort innerhalb von {timeout:g} s")
        try:
            async with (
                asyncio.timeout(timeout),
                slots,
                self.client.stream(
                    "POST", url, content=raw, headers={"Content-Type": XML_MEDIA_TYPE}
                ) as response,
            ):
                return await self._read_limited(response, provider)
        except (TimeoutError, httpx.TimeoutException):
            raise UpstreamTimeout(
                f"data provider {provider} did not answer within {timeout:g} s",
                component=provider,
            ) from None
        except httpx.ConnectError as exc:
            raise UpstreamError(
                f"data provider {provider} is unreachable at {url} ({type(exc).__name__})",
                component=provider,
            ) from None
        except NootsError:
            raise
        except Exception as exc:
            # A connection dropped mid-answer, a protocol error, or whatever else an in-process
            # transport passes through from the register: that register's failure, not ours.
            log.warning("exchange with %s failed: %r", provider, exc)
            raise UpstreamError(
                f"the exchange with data provider {provider} at {url} failed "
                f"({type(exc).__name__})",
                component=provider,
            ) from None

    async def _read_limited(self, response: httpx.Response, provider: str) -> bytes:
        limit = self.policy.max_response_bytes
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise UpstreamError(
                    f"data provider {provider} answered more than {limit} bytes",
                    component=provider,
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _outbound(self, transfer: _Transfer, content: bytes) -> HubAnswer:
        assert transfer.register is not None
        assert transfer.request is not None
        provider = transfer.register.participant_id
        try:
            trace.step("Signatur und Zertifikat des Registers gültig (Rolle provider)")
            opened = open_envelope(content, self.participant.verifier, required_role=Role.PROVIDER)
            if opened.signer.participant_id != provider:
                raise SenderMismatch(
                    f"answer signed by {opened.signer.participant_id}, not by {provider}"
                )
            trace.step("Antwort an die Anfrage gebunden (InResponseTo = SHA-256 der Anfrage)")
            check_binding(opened, transfer.raw)
            trace.step("Antwort 0102/0103 zu genau dieser Anfrage")
            answer = messages.parse(opened.body)
            if isinstance(answer, messages.EvidenceRequest):
                raise MalformedMessage("answered with a request instead of a 0102 or 0103")
            if answer.request_id != transfer.request.request_id:
                raise MalformedMessage("answer echoes another request id than the 0101's")
        except NootsError as exc:
            raise UpstreamError(
                f"answer of data provider {provider} refused by the hub: {exc.message}",
                component=provider,
            ) from exc
        if isinstance(answer, messages.EvidenceErrorResponse):
            code = answer.errors[0].code
            outcome, status = f"refused:{code.value}", http_status(code)
        elif answer.available_at is not None:
            outcome, status = "pending", 200
        else:
            outcome, status = "delivered", 200
        trace.note(title=f"Antwort des Registers geprüft: {outcome}")
        return HubAnswer(status, content, outcome)

    def _log(self, transfer: _Transfer, outcome: str) -> None:
        opened, request = transfer.opened, transfer.request
        if opened is None or request is None or opened.header.purpose is None:
            return  # nothing verified names a transfer: see the module docstring
        subject = request.subject
        idnr = subject.idnr if isinstance(subject, messages.NaturalPerson) else None
        provider = (
            transfer.register.participant_id if transfer.register else request.provider.identifier
        )
        evidence_type = (
            transfer.evidence_type.name
            if transfer.evidence_type
            else request.evidence_type.classification
        )
        try:
            self.protocol_log.append(
                consumer=opened.header.sender,
                provider=provider,
                evidence_type=evidence_type,
                purpose=opened.header.purpose,
                idnr=idnr,
                message_id=f"urn:uuid:{request.request_id}",
                outcome=outcome,
            )
        except (ProtocolLogError, ValueError) as exc:
            raise ProtocolLogError(
                f"the hub could not log the transfer ({type(exc).__name__}); nothing delivered",
                component=self.hub_id,
            ) from exc

    def _refuse(self, transfer: _Transfer, error: NootsError, bind: bool = True) -> HubAnswer:
        addressing = transfer.addressing or claimed_addressing(
            transfer.raw, default_service=HUB_SERVICE_ID
        )
        component = error.component or self.hub_id
        detail = f"{error.message} [failed at {component}; answered by {self.hub_id}]"
        outcome = f"refused:{error.code.value}"
        if not isinstance(error, ProtocolLogError):
            try:
                self._log(transfer, outcome)
            except ProtocolLogError:
                log.exception("protocol log unavailable while refusing a request")
        body: etree._Element
        if transfer.request is not None:
            body = messages.build(
                messages.answer_with_error(
                    transfer.request,
                    error.code,
                    detail,
                    clock=self.participant.clock,
                    error_provider=messages.Agent(self.hub_id, HUB_NAME),
                )
            )
        else:
            body = error_body(error.code, detail, self.hub_id)
        log.info(
            "refused %s from %s: %s %s",
            addressing.request_message_id,
            addressing.recipient,
            error.code.value,
            error.message,
        )
        raw = transfer.raw if bind else None
        signed = sign_answer(self.participant, addressing, raw, body)
        status = http_status(error.code, behind=component != self.hub_id)
        return HubAnswer(status, signed, outcome)


def get_hub(request: Request) -> TransportHub:
    hub: TransportHub = request.app.state.hub
    return hub


HubDep = Annotated[TransportHub, Depends(get_hub)]

router = APIRouter(prefix="/transport/v1", tags=["Transport hub"])


@router.post("/messages", response_class=Response)
async def messages_endpoint(request: Request, hub: HubDep) -> Response:
    """Carry one signed evidence request to its register and the verified answer back."""
    try:
        raw = await read_body(request)
    except NootsError as exc:
        answer = await hub.refuse_unread(exc)
    else:
        answer = await hub.handle(raw, TlsPeer.of(request.scope))
    return Response(answer.body, status_code=answer.status, media_type=XML_MEDIA_TYPE)
