"""The receiving side of a SAK: envelopes from other SAKs, handed to its participant.

It serves a register (a ``DE.EvidenceRequest.0101`` from an online service's SAK, or a
``DE.EvidenceRequest.0301`` from the Intermediäre Plattform's SAK) or the IP itself
(``DE.EvidenceOrder.0401`` / ``DE.GetEvidence.0411`` from an online service's SAK); the
steps are the same for every pair (:mod:`noots.exchange` says who sends what to whom).

``POST /transport/v1/messages`` takes a signed envelope from an online service's SAK. In this
order (the first failure is the answer, signed by this SAK and bound to the request bytes):

1. the envelope: hardened parse, signature and certificate (chain, validity, CRL, role
   ``sak``), schema, ``Sender`` = the certificate's participant, with TLS also = the TLS
   client; ``OnBehalfOf`` names the online service whose SAK the sender is; ``Recipient`` is
   this SAK (``EDM:ERR:0001``/``0003``);
2. freshness and replay: ``Created`` within the window and a ``MessageId`` never accepted
   before, journaled so a restart forgets nothing (``EDM:ERR:0003``);
3. the body is a request of a type its sender may send to this participant, sent by the
   participant the envelope is sent for (the 0101's requester, the 0301's author), the
   envelope declares a ``Purpose``, and the service id names a service of this SAK's
   participant (``EDM:ERR:0006`` listing its services);
4. the 0101 goes to the register with :class:`~noots.sak.ProviderMetadata`: **push** (POST to
   the register's ``/provider/v1/requests``) or **passive** (queued until the register fetches
   it from this SAK and posts its answer), within ``provider_timeout_seconds``
   (``EDM:ERR:0005`` naming the register);
5. the answer must be one of the request's answer types (0102/0103, 0302/0303, 0402/0403,
   0412/0413) echoing its id (``EDM:ERR:0008`` naming the participant otherwise); it goes back
   signed by this SAK, ``OnBehalfOf`` the participant, ``InResponseTo`` the SHA-256 of the
   request bytes.

The register checks the Vermittlungsstelle token itself, against the content (the XNachweis
documentation of ``IssuedToken`` gives that duty to the data provider); the SAK only tells it
whether this transfer needs one.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
import uuid
from dataclasses import dataclass, field

from lxml import etree

from noots import messages, trace
from noots.envelope import OpenedEnvelope, ReplayGuard, error_body, open_envelope
from noots.errors import (
    ConfigurationError,
    InvalidInput,
    MalformedMessage,
    NootsError,
    QueryError,
    ResponseBindingError,
    RouteNotFound,
    SenderMismatch,
    UnresolvedReference,
    UpstreamError,
    UpstreamTimeout,
)
from noots.exchange import (
    AnswerMessage,
    RequestMessage,
    check_answer,
    refusal,
    refusal_code,
    request_id,
    sender,
)
from noots.faults import (
    Fault,
    FaultInjector,
    FaultPlan,
    corrupt_signature,
    expired_credential,
    strip_signature,
    truncate,
)
from noots.intermediary._edge import http_status
from noots.intermediary._envelopes import Addressing, claimed_addressing, sign_answer
from noots.intermediary.sak._network import PeerFailed, PeerTooLarge, PeerUnreachable
from noots.intermediary.sak._node import SakNode
from noots.pki import IssuedCredential, Role
from noots.sak import PROVIDER_REQUESTS_PATH, XML_MEDIA_TYPE, ProviderMetadata
from noots.signing import XmlSigner
from noots.tls import NO_TLS, TlsPeer
from noots.tokens import uses_idnr
from noots.topology import ConsumerSpec, IntermediaryPlatformSpec, RegisterSpec
from noots.trace import Hop
from noots.xml import DEFAULT_LIMITS, parse, serialize

__all__ = ["AnswerResult", "Delivery", "PassiveQueue", "ProviderSide", "SakAnswer"]

log = logging.getLogger("noots.intermediary.sak.provider")


@dataclass(frozen=True)
class SakAnswer:
    status: int
    body: bytes
    outcome: str


# -- passive mode --------------------------------------------------------------------------


@dataclass(eq=False)
class Delivery:
    """One request waiting for (or fetched by) a register in passive mode."""

    metadata: ProviderMetadata
    body: bytes
    answer: asyncio.Future[bytes]
    fetched: bool = False

    @property
    def delivery_id(self) -> uuid.UUID:
        assert self.metadata.delivery_id is not None
        return self.metadata.delivery_id


class AnswerResult:
    """What happened to an answer a passive register posted."""

    ACCEPTED = "accepted"
    UNKNOWN = "unknown"  # never delivered, or withdrawn after its timeout
    ANSWERED = "answered"  # already answered once


@dataclass
class PassiveQueue:
    """Requests for a register that fetches them itself, in arrival order, bounded.

    Runs on the SAK's event loop only. A request the register does not answer in time is
    withdrawn, so a late answer is refused as unknown instead of reaching nobody.
    """

    limit: int
    register: str
    _waiting: collections.deque[Delivery] = field(default_factory=collections.deque)
    _open: dict[uuid.UUID, Delivery] = field(default_factory=dict)
    _answered: collections.OrderedDict[uuid.UUID, None] = field(
        default_factory=collections.OrderedDict
    )
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def __len__(self) -> int:
        return len(self._open)

    def offer(self, metadata: ProviderMetadata, body: bytes) -> Delivery:
        if len(self._open) >= self.limit:
            raise UpstreamError(
                f"{len(self._open)} requests already wait for data provider {self.register} "
                "to fetch them",
                component=self.register,
            )
        loop = asyncio.get_running_loop()
        delivery = Delivery(metadata, body, loop.create_future())
        self._open[delivery.delivery_id] = delivery
        self._waiting.append(delivery)
        self._arrived.set()
        return delivery

    async def take(self, wait: float) -> Delivery | None:
        """The oldest request not yet fetched; None if none arrives within ``wait`` seconds."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                while True:
                    while self._waiting:
                        delivery = self._waiting.popleft()
                        if delivery.delivery_id in self._open:
                            delivery.fetched = True
                            return delivery
                    self._arrived.clear()
                    await self._arrived.wait()
        return None

    def answer(self, delivery_id: uuid.UUID, body: bytes) -> str:
        delivery = self._open.get(delivery_id)
        if delivery is None or not delivery.fetched:
            if delivery_id in self._answered:
                return AnswerResult.ANSWERED
            return AnswerResult.UNKNOWN
        del self._open[delivery_id]
        self._answered[delivery_id] = None
        while len(self._answered) > 4 * self.limit:
            self._answered.popitem(last=False)
        if not delivery.answer.done():
            delivery.answer.set_result(body)
        return AnswerResult.ACCEPTED

    def withdraw(self, delivery: Delivery) -> None:
        self._open.pop(delivery.delivery_id, None)
        if not delivery.answer.done():
            delivery.answer.cancel()


# -- the provider side -----------------------------------------------------------------------


@dataclass
class _Inbound:
    """What this SAK has established about one incoming envelope (verified facts only)."""

    raw: bytes
    addressing: Addressing | None = None
    opened: OpenedEnvelope | None = None
    request: RequestMessage | None = None


class ProviderSide:
    """The receiving side of a SAK (a register's, or the IP's): the transport endpoint and the
    provider API."""

    def __init__(self, node: SakNode, replay: ReplayGuard, queue: PassiveQueue) -> None:
        if not isinstance(node.served, RegisterSpec | IntermediaryPlatformSpec):
            raise TypeError("a provider side needs the SAK of a register or of the IP")
        self.node = node
        #: The participant it hands requests to (named ``register`` for the common case).
        self.register: RegisterSpec | IntermediaryPlatformSpec = node.served
        self.replay = replay
        self.queue = queue
        settings = node.settings
        # The faults of a signed answer belong here: the register answers unsigned.
        self.faults = FaultInjector(settings.faults if not settings.strict else FaultPlan())
        self._expired: IssuedCredential | None = None

    def check_plan(self, plan: FaultPlan) -> None:
        """Refuse a plan this SAK cannot carry out (an expired certificate needs the CA)."""
        if plan.rates.get(Fault.EXPIRED_CERTIFICATE, 0) > 0:
            self._expired_signer()

    def _expired_signer(self) -> XmlSigner:
        node = self.node
        if (
            self._expired is None
            or self._expired.certificate.not_valid_after_utc >= node.clock.now()
        ):
            try:
                self._expired = expired_credential(
                    node.settings.pki_dir, node.sak_id, Role.SAK, clock=node.clock
                )
            except FileNotFoundError:
                raise ConfigurationError(
                    "the expired-certificate fault needs the landscape's CA in the data dir"
                ) from None
        return XmlSigner(self._expired)

    @property
    def passive(self) -> bool:
        return self.register.sak.mode == "passive"

    async def receive(
        self,
        raw: bytes,
        peer: TlsPeer = NO_TLS,
        authorization: str | None = None,
        fault: Fault | None = None,
    ) -> SakAnswer:
        """One envelope from another SAK, end to end; always a signed answer.

        ``authorization`` is the caller's ``Authorization`` header: an IAM access token for
        this SAK, of role ``sak``, issued to the SAK that signed the envelope. ``fault`` (test
        mode) spoils the answer on purpose (:mod:`noots.faults`)."""
        node = self.node
        inbound = _Inbound(raw)
        try:
            with trace.span(Hop.SAK_SAK, node.sak_id, title="Umschlag annehmen und prüfen"):
                trace.step("Zugriffstoken des IAM für diesen SAK (Rolle sak)")
                grant = node.access.verify_authorization(authorization, roles=(Role.SAK,))
                metadata = self._inbound(inbound, peer, grant.subject)
            assert inbound.request is not None
            label = messages.message_type(inbound.request).rpartition(".")[2]
            with self._span(Hop.SAK_DP, inbound, f"{label} an den Teilnehmer übergeben"):
                content = await self._deliver(metadata, inbound)
            with self._span(Hop.DP_SAK, inbound, "Antwort des Registers prüfen"):
                answer, element = self._check_answer(inbound.request, content)
            if fault is Fault.ERROR:
                raise QueryError("fault injection: internal error of the SAK")
            with self._span(Hop.SAK_SAK_ANSWER, inbound, "Antwort signieren und zurücksenden"):
                if fault is not None:
                    trace.check("SAK arbeitet ohne Störung", False, f"simuliert: {fault.value}")
                trace.step("Antwort im Umschlag signiert und an die Anfrage gebunden")
                # The register's own element goes into the envelope: nothing is rebuilt.
                sealed = self._seal(inbound, element, fault)
                trace.attach("Antwort (signierter Umschlag des SAK)", sealed)
        except NootsError as exc:
            return self._refuse(inbound, exc)
        except Exception:
            # A failure outside the error tree (a bug in a library below) must not become an
            # unsigned 500: it is refused like any other, failing closed.
            log.exception("unexpected failure in the SAK %s", node.sak_id)
            return self._refuse(inbound, QueryError("internal error in the SAK"))
        refused = refusal_code(answer)
        if refused is not None:
            return SakAnswer(http_status(refused, behind=True), sealed, f"refused:{refused}")
        outcome = "pending" if getattr(answer, "available_at", None) is not None else "delivered"
        return SakAnswer(200, sealed, outcome)

    async def refuse_unread(self, error: NootsError) -> SakAnswer:
        """The answer to a body refused before it was read in full (too large)."""
        return self._refuse(_Inbound(b""), error, bind=False)

    def _span(self, hop: Hop, inbound: _Inbound, title: str) -> trace.Span:
        if not trace.enabled():
            return trace.NULL_SPAN
        assert inbound.opened is not None
        assert inbound.request is not None
        return trace.span(
            hop,
            self.node.sak_id,
            trace_id=str(request_id(inbound.request)),
            peer=self.register.participant_id
            if hop in (Hop.SAK_DP, Hop.DP_SAK)
            else inbound.opened.header.sender,
            envelope_id=str(inbound.opened.header.message_id),
            title=title,
        )

    # -- the steps ------------------------------------------------------------------------

    def _inbound(self, inbound: _Inbound, peer: TlsPeer, caller: str) -> ProviderMetadata:
        node = self.node
        trace.step("Signatur, Zertifikat (Kette, Gültigkeit, Sperrliste) des sendenden SAK")
        opened = open_envelope(inbound.raw, node.participant.verifier, required_role=Role.SAK)
        header = opened.header
        inbound.addressing = Addressing.of(header)
        peer.check(header.sender, component=node.sak_id)
        if caller != header.sender:
            raise SenderMismatch(
                f"the access token was issued to {caller}, the envelope is signed by "
                f"{header.sender}"
            )
        trace.note(peer=header.sender, envelope_id=str(header.message_id))
        trace.step("Absender ist der SAK des Teilnehmers, für den er handelt")
        if header.on_behalf_of is None:
            raise SenderMismatch("the envelope names no participant it is sent for (OnBehalfOf)")
        try:
            consumer = node.sender_of(header.sender)
        except UnresolvedReference:
            raise SenderMismatch(
                f"{header.sender} is not the SAK of an online service (or of the IP) of this "
                "landscape"
            ) from None
        if consumer.participant_id != header.on_behalf_of:
            raise SenderMismatch(
                f"{header.sender} is the SAK of {consumer.participant_id}, "
                f"not of {header.on_behalf_of}"
            )
        if header.recipient != node.sak_id:
            raise InvalidInput(f"envelope addressed to {header.recipient}, not to {node.sak_id}")
        inbound.opened = opened
        trace.step("Keine Wiederholung, Zeitstempel frisch")
        self.replay.check(header)
        trace.step("Nachricht ist eine XNachweis-Anfrage, die dieser Absender hierher senden darf")
        message = self._request_of(messages.parse(opened.body, messages.ANY), consumer)
        inbound.request = message
        trace.bind(str(request_id(message)))
        label = messages.message_type(message).rpartition(".")[2]
        if sender(message) != consumer.participant_id:
            raise SenderMismatch(
                f"the {label} names requester {sender(message)}, but the envelope is "
                f"sent for {consumer.participant_id}"
            )
        if header.purpose is None:
            raise InvalidInput("an evidence request envelope must declare its Purpose")
        trace.step("Dienst-ID gehört zum Teilnehmer dieses SAK")
        self._check_service(header.service_id)
        rule = node.topology.vs_rule(
            consumer.participant_id,
            self.register.participant_id,
            uses_idnr=uses_idnr(message)
            if isinstance(message, messages.EvidenceRequest | messages.EuEvidenceRequest)
            else False,
        )
        return ProviderMetadata(
            consumer=consumer.participant_id,
            purpose=header.purpose,
            service_id=header.service_id,
            message_id=header.message_id,
            vs_token_required=rule.required,
            delivery_id=uuid.uuid4() if self.passive else None,
        )

    def _request_of(
        self, message: messages.Message, sent_by: ConsumerSpec | IntermediaryPlatformSpec
    ) -> RequestMessage:
        """The request if its sender may send it to this SAK's participant: an online service
        sends a register 0101 and the IP 0401/0411; the IP sends a register 0301."""
        if isinstance(self.register, IntermediaryPlatformSpec):
            allowed: tuple[type, ...] = (messages.EvidenceOrder, messages.GetEvidence)
        elif isinstance(sent_by, IntermediaryPlatformSpec):
            allowed = (messages.EuEvidenceRequest,)
        else:
            allowed = (messages.EvidenceRequest,)
        if not isinstance(message, allowed):
            wanted = ", ".join(
                {
                    messages.EvidenceRequest: "DE.EvidenceRequest.0101",
                    messages.EuEvidenceRequest: "DE.EvidenceRequest.0301",
                    messages.EvidenceOrder: "DE.EvidenceOrder.0401",
                    messages.GetEvidence: "DE.GetEvidence.0411",
                }[kind]
                for kind in allowed
            )
            raise MalformedMessage(
                f"{sent_by.participant_id} sends {self.register.participant_id} {wanted}, not "
                f"{messages.message_type(message)}"
            )
        assert isinstance(
            message,
            messages.EvidenceRequest
            | messages.EuEvidenceRequest
            | messages.EvidenceOrder
            | messages.GetEvidence,
        )
        return message

    def _check_service(self, service_id: str) -> None:
        topology = self.node.topology
        own = [
            topology.service_id(self.register.participant_id, t)
            for t in self.register.evidence_types
        ]
        if service_id not in own:
            raise RouteNotFound(
                f"{service_id!r} is not a service of {self.register.participant_id}; its "
                f"services: {', '.join(own) or 'none'}"
            )

    async def _deliver(self, metadata: ProviderMetadata, inbound: _Inbound) -> bytes:
        assert inbound.opened is not None
        body = serialize(inbound.opened.body)
        trace.attach("Nachweisanfrage 0101 an das Register", body)
        timeout = self.node.settings.provider_timeout_seconds
        register = self.register.participant_id
        if self.passive:
            trace.step(f"Register holt die Anfrage ab und antwortet innerhalb von {timeout:g} s")
            delivery = self.queue.offer(metadata, body)
            try:
                async with asyncio.timeout(timeout):
                    return await asyncio.shield(delivery.answer)
            except TimeoutError:
                self.queue.withdraw(delivery)
                what = "answer" if delivery.fetched else "fetch the request"
                raise UpstreamTimeout(
                    f"data provider {register} did not {what} within {timeout:g} s",
                    component=register,
                ) from None
        trace.step(f"Register erreichbar, Antwort innerhalb von {timeout:g} s")
        url = self.node.url(register) + PROVIDER_REQUESTS_PATH
        headers = {
            "Content-Type": XML_MEDIA_TYPE,
            **metadata.headers(),
            **await self.node.authorization(register),
        }
        try:
            async with asyncio.timeout(timeout):
                return await self.node.network.post(
                    url, body, headers, limit=DEFAULT_LIMITS.max_bytes
                )
        except TimeoutError:
            raise UpstreamTimeout(
                f"data provider {register} did not answer within {timeout:g} s",
                component=register,
            ) from None
        except PeerUnreachable as exc:
            raise UpstreamError(
                f"data provider {register} is unreachable at {url} ({exc})", component=register
            ) from None
        except PeerTooLarge:
            raise UpstreamError(
                f"data provider {register} answered more than {DEFAULT_LIMITS.max_bytes} bytes",
                component=register,
            ) from None
        except PeerFailed as exc:
            log.warning("delivery to %s failed: %s", register, exc)
            raise UpstreamError(
                f"the delivery to data provider {register} at {url} failed ({exc})",
                component=register,
            ) from None

    def _check_answer(
        self, request: RequestMessage, content: bytes
    ) -> tuple[AnswerMessage, etree._Element]:
        """The participant's answer, read and checked, and its element as it came."""
        register = self.register.participant_id
        try:
            trace.step("Antwort ist eine XNachweis-Antwort zu genau dieser Anfrage")
            trace.attach("Antwort des Teilnehmers", content)
            element = parse(content)
            try:
                answer = check_answer(request, messages.parse(element, messages.ANY))
            except ResponseBindingError as exc:
                raise MalformedMessage(exc.message) from None
            if (
                isinstance(answer, messages.EvidenceResponse | messages.EuEvidenceResponse)
                and answer.provider.identifier != register
            ) or (
                isinstance(answer, messages.GetEvidenceResponse)
                and answer.platform.identifier != register
            ):
                raise MalformedMessage("the answer names another data provider")
        except NootsError as exc:
            raise UpstreamError(
                f"answer of data provider {register} refused by its SAK: {exc.message}",
                component=register,
            ) from exc
        return answer, element

    def _seal(self, inbound: _Inbound, body: etree._Element, fault: Fault | None = None) -> bytes:
        assert inbound.addressing is not None
        participant = self.node.participant
        if fault is Fault.EXPIRED_CERTIFICATE:
            participant = dataclasses.replace(participant, signer=self._expired_signer())
        raw = inbound.raw
        if fault is Fault.WRONG_BINDING:
            raw = b"another request" + uuid.uuid4().bytes
        sealed = sign_answer(
            participant,
            inbound.addressing,
            raw,
            body,
            on_behalf_of=self.register.participant_id,
        )
        if fault is Fault.BAD_SIGNATURE:
            return corrupt_signature(sealed)
        if fault is Fault.MISSING_SIGNATURE:
            return strip_signature(sealed)
        if fault is Fault.MALFORMED:
            return truncate(sealed)
        return sealed

    def _refuse(self, inbound: _Inbound, error: NootsError, bind: bool = True) -> SakAnswer:
        node = self.node
        trace.fail(error)
        addressing = inbound.addressing or claimed_addressing(
            inbound.raw, default_service=f"urn:noots:service:{node.sak_id}:transport"
        )
        component = error.component or node.sak_id
        detail = f"{error.message} [failed at {component}; answered by {node.sak_id}]"
        body: etree._Element
        if inbound.request is not None:
            body = messages.build(
                refusal(
                    inbound.request,
                    error.code,
                    detail,
                    clock=node.clock,
                    error_provider=node.agent,
                )
            )
        else:
            body = error_body(error.code, detail, node.sak_id)
        log.info(
            "refused %s: %s %s", addressing.request_message_id, error.code.value, error.message
        )
        sealed = sign_answer(
            node.participant,
            addressing,
            inbound.raw if bind else None,
            body,
            on_behalf_of=self.register.participant_id,
        )
        return SakAnswer(node.status_of(error), sealed, f"refused:{error.code.value}")
