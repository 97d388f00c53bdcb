"""The Intermediäre Plattform (IP): the bridge between NOOTS and the EU-OOTS, without HTTP.

Use case 3 (:meth:`IntermediaryPlatform.handle_query`): an EDM ``QueryRequest`` from an EU
evidence requester → ``DE.EvidenceRequest.0301`` to the German register (through
:class:`NationalSide`) → ``QueryResponse`` or an ``rs:Exception``. With
``PossibilityForPreview`` the register's evidence is held and the answer is the
preview-required error pointing to the IP's preview page; the requester repeats its request
with that ``PreviewLocation`` after the user decided.

Use case 4 (:meth:`order`, :meth:`citizen_identified`, :meth:`citizen_back`,
:meth:`get_evidence`): ``DE.EvidenceOrder.0401`` → Evidence Broker and Data Service Directory
→ ``0402`` with ``URLtoIP`` and ``ConversationID``; the citizen identifies (simulated), the IP
asks the member state's provider over eDelivery, the citizen previews there and comes back,
the online service collects with ``DE.GetEvidence.0411`` → ``0412`` / ``0413``.

Every failure becomes the EDM or XNachweis error of its code; details never carry personal
data.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Protocol
from urllib.parse import quote
from uuid import UUID, uuid4

from noots import messages, trace
from noots.clock import Clock
from noots.errors import (
    AuthorisationError,
    EdmCode,
    InvalidInput,
    NootsError,
    NotFound,
    UnresolvedReference,
    UnsupportedCapability,
    UpstreamError,
    UpstreamTimeout,
)
from noots.eu import edm, mapping
from noots.eu.edm import EdmAgent, EdmError, EdmEvidence, QueryErrorResponse, QueryRequest
from noots.eu.registry import DataService
from noots.intermediary.eu.common import CommonServicesClient
from noots.intermediary.eu.gateway import Gateway, ReceivedRequest
from noots.messages import (
    Agent,
    Authority,
    EuEvidenceErrorResponse,
    EuEvidenceRequest,
    EuEvidenceResponse,
    EvidenceOrder,
    EvidenceOrderErrorResponse,
    EvidenceOrderResponse,
    EvidenceType,
    GetEvidence,
    GetEvidenceErrorResponse,
    GetEvidenceResponse,
)
from noots.trace import Hop

__all__ = ["Conversation", "IntermediaryPlatform", "NationalSide", "PlatformConfig"]


class NationalSide(Protocol):
    """What the IP needs from NOOTS (the lead wires it to the RDN and the SAK).

    ``find_register``: the German register and the German evidence type (classification as the
    0301 carries it) for an EU evidence type classification, or ``None`` when no German
    register provides it. ``ask_german_register``: send the 0301 through the IP's SAK and
    return the register's 0302 or 0303 (raise a :class:`~noots.errors.NootsError` for
    transport failures).
    """

    async def find_register(self, classification: str) -> tuple[Agent, EvidenceType] | None: ...

    async def ask_german_register(
        self, request: EuEvidenceRequest
    ) -> EuEvidenceResponse | EuEvidenceErrorResponse: ...


@dataclass(frozen=True)
class PlatformConfig:
    """Who the IP is and where it is reached."""

    platform: Agent
    public_url: str
    national_timeout: float = 20.0
    #: The EU common services as a trace peer (the landscape's component name).
    common_services_id: str = "eu-common-services"
    pending_retry: timedelta = timedelta(seconds=30)
    test: bool = False

    @property
    def edm_agent(self) -> EdmAgent:
        return mapping.edm_agent(self.platform)

    @property
    def authority(self) -> Authority:
        return Authority.of(self.platform)


@dataclass
class _HeldEvidence:
    """Use case 3 with preview: the register's evidence, waiting for the user's decision."""

    key: tuple[str, str, str]
    answer: EuEvidenceResponse
    decision: bool | None = None


@dataclass
class Conversation:
    """Use case 4: one order, from 0402 to 0412."""

    conversation_id: str
    order: EvidenceOrder
    service: DataService
    evidence_type: edm.EdmEvidenceType
    state: str = "ordered"  # ordered → asked → done | failed
    query: QueryRequest | None = None
    preview_location: str | None = None
    evidences: tuple[EdmEvidence, ...] = ()
    failure: EdmCode = EdmCode.QUERY_ERROR
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def _fingerprint(request: QueryRequest) -> tuple[str, str, str]:
    return (
        request.requester.identifier,
        request.evidence_type.classification,
        repr(request.subject),
    )


class IntermediaryPlatform:
    """The IP's logic; one instance per process, safe to call from concurrent requests."""

    def __init__(
        self,
        config: PlatformConfig,
        *,
        national: NationalSide,
        gateway: Gateway,
        common_services: CommonServicesClient,
        clock: Clock,
    ) -> None:
        self.config = config
        self.national = national
        self.gateway = gateway
        self.common_services = common_services
        self.clock = clock
        self._held: dict[str, _HeldEvidence] = {}
        self._conversations: dict[str, Conversation] = {}
        self._lock = threading.Lock()

    # --- use case 3 ---------------------------------------------------------------------------

    def preview_url(self, token: str) -> str:
        return f"{self.config.public_url.rstrip('/')}/ip/v1/preview/{token}"

    def citizen_url(self, conversation_id: str) -> str:
        return f"{self.config.public_url.rstrip('/')}/ip/v1/citizen/{conversation_id}"

    def _error(self, request: QueryRequest, code: EdmCode, detail: str) -> QueryErrorResponse:
        return mapping.error_for_code(
            request, code, detail, error_provider=self.config.edm_agent, clock=self.clock
        )

    def _preview_required(self, request: QueryRequest, token: str) -> QueryErrorResponse:
        error = EdmError(
            EdmCode.AUTHORISATION,
            "Missing Authorization",
            detail="The user must preview the evidence at the German Intermediary Platform",
            timestamp=self.clock.now(),
            preview_location=self.preview_url(token),
            preview_description="German Intermediary Platform: preview of the evidence",
            preview_method="GET",
        )
        return edm.answer_with_error(request, error, error_provider=self.config.edm_agent)

    async def handle_query(
        self, received: ReceivedRequest, *, national_id: UUID | None = None
    ) -> edm.EdmAnswer:
        """The EDM answer to an EU evidence request (use case 3). ``national_id``: the request
        id the 0301 will carry (the caller traces the exchange under it)."""
        request = received.request
        try:
            return await self._handle_query(request, national_id or uuid4())
        except NootsError as exc:
            trace.fail(exc)
            code = exc.code if isinstance(exc.code, EdmCode) else EdmCode.QUERY_ERROR
            return self._error(request, code, exc.message)

    async def _handle_query(self, request: QueryRequest, national_id: UUID) -> edm.EdmAnswer:
        if request.provider.identifier != self.config.platform.identifier:
            raise UnresolvedReference("this access point serves the German IP only")
        if request.preview_location is not None:
            return self._after_preview(request)
        found = await self.national.find_register(request.evidence_type.classification)
        if found is None:
            raise UnsupportedCapability("no German register provides this evidence type")
        register, evidence_type = found
        national_request = replace(
            mapping.request_0301(
                request,
                register=register,
                evidence_type=evidence_type,
                platform=self.config.authority,
                clock=self.clock,
                test=self.config.test,
            ),
            request_id=national_id,
        )
        try:
            answer = await asyncio.wait_for(
                self.national.ask_german_register(national_request),
                timeout=self.config.national_timeout,
            )
        except TimeoutError:
            raise UpstreamTimeout("the German register did not answer in time") from None
        if not isinstance(answer, EuEvidenceResponse | EuEvidenceErrorResponse):
            raise UpstreamError("the national side answered with something else than 0302/0303")
        if answer.request_id != national_request.request_id:
            raise UpstreamError("the register answered another request")
        if isinstance(answer, EuEvidenceErrorResponse):
            return mapping.error_from_0303(
                request, answer, error_provider=self.config.edm_agent, clock=self.clock
            )
        if answer.available_at is None and request.possibility_for_preview:
            token = secrets.token_urlsafe(18)
            with self._lock:
                self._held[token] = _HeldEvidence(_fingerprint(request), answer)
            return self._preview_required(request, token)
        return mapping.response_from_0302(
            request, answer, provider=self.config.edm_agent, clock=self.clock
        )

    def _after_preview(self, request: QueryRequest) -> edm.EdmAnswer:
        assert request.preview_location is not None
        prefix = self.preview_url("")
        token = request.preview_location[len(prefix) :].split("?")[0]
        with self._lock:
            held = self._held.get(token) if request.preview_location.startswith(prefix) else None
        if held is None or held.key != _fingerprint(request):
            raise InvalidInput("unknown preview location for this request")
        if held.decision is None:
            return self._preview_required(request, token)
        with self._lock:
            self._held.pop(token, None)
        if not held.decision:
            raise NotFound("the user did not agree to use the evidence")
        return mapping.response_from_0302(
            request, held.answer, provider=self.config.edm_agent, clock=self.clock
        )

    def held_request_id(self, request: QueryRequest) -> UUID | None:
        """The 0301's request id of the evidence a repeated request (``PreviewLocation``)
        refers to: the dashboard draws both requests as one exchange."""
        location = request.preview_location
        prefix = self.preview_url("")
        if location is None or not location.startswith(prefix):
            return None
        held = self.held_evidence(location[len(prefix) :].split("?")[0])
        return None if held is None else held.request_id

    def held_evidence(self, token: str) -> EuEvidenceResponse | None:
        """The evidence waiting for the user's decision (for the preview page)."""
        with self._lock:
            held = self._held.get(token)
        return None if held is None else held.answer

    def decide(self, token: str, *, approve: bool) -> bool:
        """Record the user's decision on held evidence; False for an unknown token."""
        with self._lock:
            held = self._held.get(token)
            if held is None:
                return False
            held.decision = approve
            return True

    # --- use case 4 ---------------------------------------------------------------------------

    async def order(
        self, order: EvidenceOrder
    ) -> EvidenceOrderResponse | EvidenceOrderErrorResponse:
        """Take a 0401: find the member state's data service, open a conversation, 0402."""
        try:
            conversation = await self._open_conversation(order)
        except NootsError as exc:
            code = exc.code if isinstance(exc.code, EdmCode) else EdmCode.QUERY_ERROR
            return messages.refuse_order(order, code, exc.message, clock=self.clock)
        return messages.answer_order(
            order,
            url_to_ip=self.citizen_url(conversation.conversation_id),
            conversation=conversation.conversation_id,
            clock=self.clock,
        )

    async def _open_conversation(self, order: EvidenceOrder) -> Conversation:
        if order.platform.identifier != self.config.platform.identifier:
            raise UnresolvedReference("the order names another intermediary platform")
        countries = sorted({item.country for item in order.requirements if item.country})
        if len(countries) != 1:
            raise InvalidInput("the order must name exactly one member state (Requirement/Country)")
        country = countries[0]
        classification = order.evidence_type.classification
        with trace.span(
            Hop.IP_CS,
            self.config.platform.identifier,
            peer=self.config.common_services_id,
            title=f"Evidence Broker und Data Service Directory ({country})",
        ):
            for requirement in order.requirements:
                trace.step("Evidence Broker: Nachweistyp erfüllt die Anforderung im Mitgliedstaat")
                try:
                    offers = await self.common_services.evidence_types(
                        requirement.identifier, country
                    )
                except NotFound:
                    offers = []
                if not any(offer.classification == classification for offer in offers):
                    raise UnsupportedCapability(
                        "the Evidence Broker lists no such evidence type for this requirement"
                    )
            trace.step("Data Service Directory: Datendienst des Mitgliedstaats gefunden")
            try:
                services = await self.common_services.data_services(classification, country)
            except NotFound:
                raise UnsupportedCapability("no data service provides this evidence type") from None
            service = services[0]
        conversation = Conversation(
            messages.new_conversation_id(), order, service, service.evidence_type
        )
        with self._lock:
            self._conversations[conversation.conversation_id] = conversation
        return conversation

    def conversation(self, conversation_id: str) -> Conversation | None:
        with self._lock:
            return self._conversations.get(conversation_id)

    def _query(self, conversation: Conversation, preview_location: str | None) -> QueryRequest:
        order = conversation.order
        return mapping.query_for_order(
            order,
            requester=mapping.edm_agent(order.requester).classified("ER"),
            platform=self.config.edm_agent.classified("IP"),
            provider=conversation.service.publisher.classified(None),
            evidence_type=conversation.evidence_type,
            clock=self.clock,
            preview_location=preview_location,
        )

    async def _ask_abroad(
        self, conversation: Conversation, preview_location: str | None
    ) -> edm.EdmAnswer:
        query = self._query(conversation, preview_location)
        conversation.query = query
        access_point = conversation.service.access_point
        with trace.span(
            Hop.IP_MS if preview_location is None else Hop.MS_IP,
            self.config.platform.identifier,
            peer=access_point,
            title=(
                f"EDM-Anfrage an {conversation.service.publisher.name}"
                if preview_location is None
                else f"EDM-Anfrage nach der Vorschau an {conversation.service.publisher.name}"
            ),
        ):
            trace.step("EDM-Anfrage im eDelivery-Umschlag signiert (Zugangspunkt der IP)")
            trace.attach("EDM QueryRequest", edm.to_bytes(query))
            answer = await self.gateway.ask(
                query,
                access_point=access_point,
                final_recipient=conversation.service.publisher,
                conversation_id=conversation.conversation_id,
            )
            trace.step("Antwort signiert vom Zugangspunkt des Mitgliedstaats, zur Anfrage")
            trace.attach("EDM-Antwort", edm.to_bytes(answer))
            if isinstance(answer, QueryErrorResponse):
                if answer.error.preview_required:
                    trace.check("Vorschau im Mitgliedstaat verlangt (PreviewRequired)", True)
                else:
                    trace.check(
                        "Nachweis geliefert", False, f"{answer.code.value} {answer.error.message}"
                    )
            else:
                trace.check("Nachweis geliefert", True)
            return answer

    def _settle(self, conversation: Conversation, answer: edm.EdmAnswer) -> str | None:
        """Apply an answer from abroad; the preview location when the user must go there."""
        if isinstance(answer, QueryErrorResponse):
            if answer.error.preview_required:
                conversation.preview_location = answer.error.preview_location
                conversation.state = "asked"
                return answer.error.preview_location
            conversation.state = "failed"
            edm_code = answer.error.code
            conversation.failure = (
                edm_code if isinstance(edm_code, EdmCode) else EdmCode.QUERY_ERROR
            )
            return None
        if answer.available_at is not None:
            conversation.state = "asked"
            return None
        conversation.evidences = answer.evidences
        conversation.state = "done"
        return None

    async def citizen_identified(self, conversation_id: str) -> str:
        """The citizen identified at the IP (simulated EU login): ask the member state.

        Returns where to send the citizen: the provider's preview space (with ``returnurl``
        back to the IP) or, when no preview is needed or the request failed, the online
        service's ``BackToEvidenceRequesterURL``.
        """
        conversation = self._known(conversation_id)
        try:
            answer = await self._ask_abroad(conversation, None)
        except NootsError as exc:
            conversation.state = "failed"
            conversation.failure = (
                exc.code if isinstance(exc.code, EdmCode) else EdmCode.QUERY_ERROR
            )
            return conversation.order.back_url
        location = self._settle(conversation, answer)
        if location is None:
            return conversation.order.back_url
        separator = "&" if "?" in location else "?"
        back = quote(self.citizen_url(conversation_id) + "/back", safe="")
        return f"{location}{separator}returnurl={back}"

    async def citizen_back(self, conversation_id: str) -> str:
        """The citizen came back from the preview space: repeat the request with the preview
        location; return the online service's ``BackToEvidenceRequesterURL``."""
        conversation = self._known(conversation_id)
        if conversation.preview_location is None or conversation.state != "asked":
            return conversation.order.back_url
        try:
            answer = await self._ask_abroad(conversation, conversation.preview_location)
        except NootsError as exc:
            conversation.state = "failed"
            conversation.failure = (
                exc.code if isinstance(exc.code, EdmCode) else EdmCode.QUERY_ERROR
            )
            return conversation.order.back_url
        self._settle(conversation, answer)
        return conversation.order.back_url

    def _known(self, conversation_id: str) -> Conversation:
        conversation = self.conversation(conversation_id)
        if conversation is None:
            raise UnresolvedReference("unknown conversation")
        return conversation

    def get_evidence(self, request: GetEvidence) -> GetEvidenceResponse | GetEvidenceErrorResponse:
        """Answer a 0411: the evidence (0412), its announced availability, or 0413."""
        conversation = self.conversation(request.conversation_id)
        platform = self.config.platform
        if conversation is None:
            requester = Agent(request.author.participant_id, request.author.name)
            return messages.refuse_get_evidence(
                request,
                EdmCode.UNRESOLVED_REFERENCE,
                "unknown conversation",
                platform=platform,
                requester=requester,
                clock=self.clock,
            )
        order = conversation.order
        if request.author.participant_id != order.requester.identifier:
            error = AuthorisationError("the conversation belongs to another online service")
            return messages.refuse_get_evidence(
                request,
                error.code,
                error.message,
                platform=platform,
                requester=Agent(request.author.participant_id, request.author.name),
                clock=self.clock,
            )
        if conversation.state == "failed":
            return messages.refuse_get_evidence(
                request,
                conversation.failure,
                "the evidence could not be obtained from the member state",
                platform=platform,
                requester=order.requester,
                clock=self.clock,
            )
        provider = mapping.agent_from_edm(conversation.service.publisher)
        if conversation.state != "done":
            return messages.answer_get_evidence(
                request,
                provider=provider,
                platform=platform,
                requester=order.requester,
                clock=self.clock,
                available_at=self.clock.now() + self.config.pending_retry,
            )
        evidences = tuple(
            mapping.evidence_for_0412(item, order, clock=self.clock)
            for item in conversation.evidences
        )
        return messages.answer_get_evidence(
            request,
            *evidences,
            provider=provider,
            platform=platform,
            requester=order.requester,
            clock=self.clock,
        )
