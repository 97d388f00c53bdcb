"""The data model of the XNachweis 1.2.0 messages of use cases 3 and 4 (the EU border).

Private module of :mod:`noots.messages`. Use case 3: the Intermediäre Plattform (IP) asks a
German register on behalf of an EU evidence requester (``DE.EvidenceRequest.0301`` →
``DE.EvidenceResponse.0302`` / ``DE.EvidenceErrorResponse.0303``). Use case 4: a German online
service orders EU evidence from the IP (``DE.EvidenceOrder.0401`` →
``DE.EvidenceOrderResponse.0402`` with ``URLtoIP`` and ``ConversationID`` /
``DE.EvidenceOrderErrorResponse.0403``) and collects it (``DE.GetEvidence.0411`` →
``DE.GetEvidenceResponse.0412`` / ``DE.GetEvidenceErrorResponse.0413``).

Like the national model, every dataclass checks its invariants on construction, so what can
be built is what the official schema accepts.
"""

from __future__ import annotations

import re
from dataclasses import KW_ONLY, dataclass, replace
from datetime import datetime
from typing import TypeAlias, overload
from uuid import UUID, uuid4

from noots._messages_model import (
    DEFAULT_LANGUAGE,
    DEFAULT_PRODUCT,
    Agent,
    Authority,
    CodeList,
    ErrorCode,
    ErrorDetail,
    Evidence,
    EvidenceErrorResponse,
    EvidenceRequest,
    EvidenceResponse,
    EvidenceType,
    Product,
    Subject,
    _check_agent,
    _check_head,
    _check_subject,
    _identifier,
    _set,
    _text,
    _token,
    _uuid,
    instant,
)
from noots._messages_model import (
    answer_pending as _national_pending,
)
from noots._messages_model import (
    answer_with_error as _national_error,
)
from noots._messages_model import (
    answer_with_evidence as _national_evidence,
)
from noots.clock import Clock
from noots.errors import EdmCode

# --- fixed values -----------------------------------------------------------------------------

MESSAGE_TYPE_EU_REQUEST = "DE.EvidenceRequest.0301"
MESSAGE_TYPE_EU_RESPONSE = "DE.EvidenceResponse.0302"
MESSAGE_TYPE_EU_ERROR_RESPONSE = "DE.EvidenceErrorResponse.0303"
MESSAGE_TYPE_ORDER = "DE.EvidenceOrder.0401"
MESSAGE_TYPE_ORDER_RESPONSE = "DE.EvidenceOrderResponse.0402"
MESSAGE_TYPE_ORDER_ERROR_RESPONSE = "DE.EvidenceOrderErrorResponse.0403"
MESSAGE_TYPE_GET_EVIDENCE = "DE.GetEvidence.0411"
MESSAGE_TYPE_GET_EVIDENCE_RESPONSE = "DE.GetEvidenceResponse.0412"
MESSAGE_TYPE_GET_EVIDENCE_ERROR_RESPONSE = "DE.GetEvidenceErrorResponse.0413"

# Agent classification of an Intermediäre Plattform (EU code list AgentClassification).
CLASSIFICATION_PLATFORM = "IP"
# The procedure code list (a re-publication of the EU list "Procedures", e.g. T3); the
# version is illustrative like the other list versions until XRepository publishes it.
LIST_PROCEDURES = CodeList("urn:xoev-de:xnachweis:codeliste:procedures", "1.0")
REQUIREMENT_PREFIX = "https://sr.oots.tech.ec.europa.eu/requirements/"

_REQUIREMENT_ID = re.compile(
    re.escape(REQUIREMENT_PREFIX)
    + "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
# xs:ID is an NCName; noots writes and reads its ASCII subset.
_NCNAME = re.compile(r"[A-Za-z_][A-Za-z0-9._-]*")
# What libxml2 accepts as xs:anyURI here: no white space, every % a valid escape.
_URL = re.compile(r"https?://(?:[^\s%]|%[0-9A-Fa-f]{2})+")


def _url(value: object, what: str) -> str:
    """An ``xs:anyURI`` that noots hands to a browser: absolute http(s), no white space."""
    text = _identifier(value, what)
    if not _URL.fullmatch(text):
        raise ValueError(f"{what} must be an absolute http(s) URL without white space or bare %")
    return text


def conversation_id(value: object) -> str:
    """A ``ConversationID`` (``xs:ID``: an NCName, here its ASCII subset)."""
    if not isinstance(value, str):
        raise TypeError(f"conversation id must be a str, not {type(value).__name__}")
    if not _NCNAME.fullmatch(value):
        raise ValueError("conversation id must be an NCName (letter or _ first, no colon)")
    return value


def new_conversation_id() -> str:
    """A fresh ``ConversationID``: a UUID may start with a digit, an NCName may not."""
    return f"conversation-{uuid4()}"


def _check_agents(values: tuple[Agent, ...], what: str) -> None:
    for item in values:
        _check_agent(item, what)


def _check_errors(message: object, errors: tuple[ErrorDetail, ...]) -> None:
    _set(message, "errors", tuple(errors))
    if not errors:
        raise ValueError("an error response needs at least one error")
    for item in errors:
        if not isinstance(item, ErrorDetail):
            raise TypeError("errors must be ErrorDetail values")


def _check_evidences(message: object, evidences: tuple[Evidence, ...]) -> None:
    _set(message, "evidences", tuple(evidences))
    for item in tuple(evidences):
        if not isinstance(item, Evidence):
            raise TypeError("evidences must be Evidence values")


# --- use case 3: the IP asks a German register ------------------------------------------------


@dataclass(frozen=True, slots=True)
class EuEvidenceRequest:
    """``DE.EvidenceRequest.0301``: the IP asks a German register for an EU requester.

    The fields are those of the national 0101; on the wire ``IssuedToken`` stands before the
    requester. ``requester`` is the EU evidence requester, ``provider`` the German register;
    the XÖV head names the register as reader and the IP as author (see :meth:`new`).
    """

    request_id: UUID
    message_uuid: UUID
    created: datetime
    issue_datetime: datetime
    requester: Agent
    provider: Agent
    issued_token: str
    evidence_type: EvidenceType
    subject: Subject
    reader: Authority
    author: Authority
    _: KW_ONLY
    language: str = DEFAULT_LANGUAGE
    test: bool = False
    product: Product = DEFAULT_PRODUCT

    def __post_init__(self) -> None:
        _uuid(self.request_id, "request id")
        _check_head(self)
        _check_agent(self.requester, "requester")
        _check_agent(self.provider, "provider")
        _text(self.issued_token, "issued token")
        if not isinstance(self.evidence_type, EvidenceType):
            raise TypeError("evidence type must be an EvidenceType")
        _check_subject(self.subject)
        _token(self.language, "language")

    @classmethod
    def new(
        cls,
        *,
        requester: Agent,
        provider: Agent,
        evidence_type: EvidenceType,
        subject: Subject,
        platform: Authority,
        clock: Clock,
        issued_token: str = "",
        language: str = DEFAULT_LANGUAGE,
        test: bool = False,
        product: Product = DEFAULT_PRODUCT,
    ) -> EuEvidenceRequest:
        """A fresh request of the IP (``platform``, the author) to the register ``provider``."""
        now = instant(clock.now())
        return cls(
            uuid4(),
            uuid4(),
            now,
            now,
            requester,
            provider,
            issued_token,
            evidence_type,
            subject,
            Authority.of(provider),
            platform,
            language=language,
            test=test,
            product=product,
        )

    def with_token(self, issued_token: str) -> EuEvidenceRequest:
        """The same request carrying a Vermittlungsstelle token (identifiers unchanged)."""
        return replace(self, issued_token=issued_token)


@dataclass(frozen=True, slots=True)
class EuEvidenceResponse:
    """``DE.EvidenceResponse.0302``: the register's evidence (or when it will be available)."""

    request_id: UUID
    message_uuid: UUID
    response_id: UUID
    created: datetime
    issue_datetime: datetime
    provider: Agent
    requester: Agent
    reader: Authority
    author: Authority
    evidences: tuple[Evidence, ...] = ()
    available_at: datetime | None = None
    _: KW_ONLY
    test: bool = False
    product: Product = DEFAULT_PRODUCT

    def __post_init__(self) -> None:
        _uuid(self.request_id, "request id")
        _uuid(self.response_id, "response id")
        _check_head(self)
        _check_agent(self.provider, "provider")
        _check_agent(self.requester, "requester")
        _check_evidences(self, self.evidences)
        if self.available_at is not None:
            _set(self, "available_at", instant(self.available_at, "available at"))
        if bool(self.evidences) == (self.available_at is not None):
            raise ValueError("a response carries either evidence or available_at, exactly one")

    @property
    def evidence(self) -> Evidence | None:
        return self.evidences[0] if self.evidences else None

    @property
    def pending(self) -> bool:
        return self.available_at is not None


@dataclass(frozen=True, slots=True)
class EuEvidenceErrorResponse:
    """``DE.EvidenceErrorResponse.0303``: the register cannot provide the evidence."""

    request_id: UUID
    message_uuid: UUID
    response_id: UUID
    created: datetime
    issue_datetime: datetime
    error_provider: Agent
    requester: Agent
    errors: tuple[ErrorDetail, ...]
    reader: Authority
    author: Authority
    _: KW_ONLY
    test: bool = False
    product: Product = DEFAULT_PRODUCT

    def __post_init__(self) -> None:
        _uuid(self.request_id, "request id")
        _uuid(self.response_id, "response id")
        _check_head(self)
        _check_agent(self.error_provider, "error provider")
        _check_agent(self.requester, "requester")
        _check_errors(self, self.errors)

    @property
    def code(self) -> ErrorCode:
        return self.errors[0].code


# --- use case 4: a German online service orders EU evidence -----------------------------------


@dataclass(frozen=True, slots=True)
class Requirement:
    """A requirement of the procedure (``RequirementType_NOOTS``): the EU Semantic Repository
    identifier, its name and optionally the member state it is asked for."""

    identifier: str
    name: str
    country: str | None = None

    def __post_init__(self) -> None:
        _identifier(self.identifier, "requirement identifier")
        if not _REQUIREMENT_ID.fullmatch(self.identifier):
            raise ValueError(f"requirement identifier must be {REQUIREMENT_PREFIX}<uuid>")
        _text(self.name, "requirement name", single_line=True, required=True)
        if self.country is not None:
            _token(self.country, "requirement country")


@dataclass(frozen=True, slots=True)
class EvidenceOrder:
    """``DE.EvidenceOrder.0401``: a German online service orders EU evidence from the IP.

    ``platform`` is the IP (``EvidenceProvider`` with classification ``IP``), ``requester`` the
    online service. ``back_url`` is where the IP sends the citizen back when done.
    """

    order_id: UUID
    message_uuid: UUID
    created: datetime
    issue_datetime: datetime
    issued_token: str
    platform: Agent
    requester: Agent
    procedure: str
    requirements: tuple[Requirement, ...]
    evidence_type: EvidenceType
    subject: Subject
    back_url: str
    reader: Authority
    author: Authority
    _: KW_ONLY
    language: str = DEFAULT_LANGUAGE
    test: bool = False
    product: Product = DEFAULT_PRODUCT

    def __post_init__(self) -> None:
        _uuid(self.order_id, "order id")
        _check_head(self)
        _text(self.issued_token, "issued token")
        _check_agent(self.platform, "platform")
        _check_agent(self.requester, "requester")
        _token(self.procedure, "procedure")
        _set(self, "requirements", tuple(self.requirements))
        for item in self.requirements:
            if not isinstance(item, Requirement):
                raise TypeError("requirements must be Requirement values")
        if not isinstance(self.evidence_type, EvidenceType):
            raise TypeError("evidence type must be an EvidenceType")
        _check_subject(self.subject)
        _url(self.back_url, "back URL")
        _token(self.language, "language")

    @classmethod
    def new(
        cls,
        *,
        requester: Agent,
        platform: Agent,
        procedure: str,
        evidence_type: EvidenceType,
        subject: Subject,
        back_url: str,
        clock: Clock,
        requirements: tuple[Requirement, ...] = (),
        issued_token: str = "",
        language: str = DEFAULT_LANGUAGE,
        test: bool = False,
        product: Product = DEFAULT_PRODUCT,
    ) -> EvidenceOrder:
        """A fresh order: new ids, times from ``clock``; the IP reads, the service writes."""
        now = instant(clock.now())
        return cls(
            uuid4(),
            uuid4(),
            now,
            now,
            issued_token,
            platform,
            requester,
            procedure,
            requirements,
            evidence_type,
            subject,
            back_url,
            Authority.of(platform),
            Authority.of(requester),
            language=language,
            test=test,
            product=product,
        )


@dataclass(frozen=True, slots=True)
class EvidenceOrderResponse:
    """``DE.EvidenceOrderResponse.0402``: where to send the citizen (``URLtoIP``) and the
    ``ConversationID`` to collect the evidence with later (``DE.GetEvidence.0411``)."""

    order_id: UUID
    message_uuid: UUID
    response_id: UUID
    created: datetime
    issue_datetime: datetime
    url_to_ip: str
    conversation_id: str
    reader: Authority
    author: Authority
    _: KW_ONLY
    test: bool = False
    product: Product = DEFAULT_PRODUCT

    def __post_init__(self) -> None:
        _uuid(self.order_id, "order id")
        _uuid(self.response_id, "response id")
        _check_head(self)
        _url(self.url_to_ip, "URL to the IP")
        conversation_id(self.conversation_id)


@dataclass(frozen=True, slots=True)
class EvidenceOrderErrorResponse:
    """``DE.EvidenceOrderErrorResponse.0403``: the IP cannot take the order."""

    request_id: UUID
    message_uuid: UUID
    response_id: UUID
    created: datetime
    issue_datetime: datetime
    error_provider: Agent
    requester: Agent
    errors: tuple[ErrorDetail, ...]
    reader: Authority
    author: Authority
    _: KW_ONLY
    test: bool = False
    product: Product = DEFAULT_PRODUCT

    def __post_init__(self) -> None:
        _uuid(self.request_id, "request id")
        _uuid(self.response_id, "response id")
        _check_head(self)
        _check_agent(self.error_provider, "error provider")
        _check_agent(self.requester, "requester")
        _check_errors(self, self.errors)

    @property
    def code(self) -> ErrorCode:
        return self.errors[0].code


@dataclass(frozen=True, slots=True)
class GetEvidence:
    """``DE.GetEvidence.0411``: the online service collects the evidence of a conversation."""

    request_id: UUID
    message_uuid: UUID
    created: datetime
    issue_datetime: datetime
    conversation_id: str
    reader: Authority
    author: Authority
    _: KW_ONLY
    test: bool = False
    product: Product = DEFAULT_PRODUCT

    def __post_init__(self) -> None:
        _uuid(self.request_id, "request id")
        _check_head(self)
        conversation_id(self.conversation_id)

    @classmethod
    def new(
        cls,
        *,
        conversation_id: str,
        requester: Authority,
        platform: Authority,
        clock: Clock,
        test: bool = False,
        product: Product = DEFAULT_PRODUCT,
    ) -> GetEvidence:
        """A fresh collection request of ``requester`` to the IP ``platform``."""
        now = instant(clock.now())
        return cls(
            uuid4(),
            uuid4(),
            now,
            now,
            conversation_id,
            platform,
            requester,
            test=test,
            product=product,
        )


@dataclass(frozen=True, slots=True)
class GetEvidenceResponse:
    """``DE.GetEvidenceResponse.0412``: the EU evidence, or when it will be available.

    The wire names two evidence providers: ``provider`` (the EU authority that issued the
    evidence, classification ``EP``) and ``platform`` (the IP, classification ``IP``).
    """

    request_id: UUID
    message_uuid: UUID
    response_id: UUID
    created: datetime
    issue_datetime: datetime
    provider: Agent
    platform: Agent
    requester: Agent
    reader: Authority
    author: Authority
    evidences: tuple[Evidence, ...] = ()
    available_at: datetime | None = None
    _: KW_ONLY
    test: bool = False
    product: Product = DEFAULT_PRODUCT

    def __post_init__(self) -> None:
        _uuid(self.request_id, "request id")
        _uuid(self.response_id, "response id")
        _check_head(self)
        _check_agents((self.provider, self.platform, self.requester), "agent")
        _check_evidences(self, self.evidences)
        if self.available_at is not None:
            _set(self, "available_at", instant(self.available_at, "available at"))
        if bool(self.evidences) == (self.available_at is not None):
            raise ValueError("a response carries either evidence or available_at, exactly one")

    @property
    def evidence(self) -> Evidence | None:
        return self.evidences[0] if self.evidences else None

    @property
    def pending(self) -> bool:
        return self.available_at is not None


@dataclass(frozen=True, slots=True)
class GetEvidenceErrorResponse:
    """``DE.GetEvidenceErrorResponse.0413``: the IP cannot deliver the evidence."""

    request_id: UUID
    message_uuid: UUID
    response_id: UUID
    created: datetime
    issue_datetime: datetime
    error_provider: Agent
    requester: Agent
    errors: tuple[ErrorDetail, ...]
    reader: Authority
    author: Authority
    _: KW_ONLY
    test: bool = False
    product: Product = DEFAULT_PRODUCT

    def __post_init__(self) -> None:
        _uuid(self.request_id, "request id")
        _uuid(self.response_id, "response id")
        _check_head(self)
        _check_agent(self.error_provider, "error provider")
        _check_agent(self.requester, "requester")
        _check_errors(self, self.errors)

    @property
    def code(self) -> ErrorCode:
        return self.errors[0].code


EuMessage: TypeAlias = (
    EuEvidenceRequest
    | EuEvidenceResponse
    | EuEvidenceErrorResponse
    | EvidenceOrder
    | EvidenceOrderResponse
    | EvidenceOrderErrorResponse
    | GetEvidence
    | GetEvidenceResponse
    | GetEvidenceErrorResponse
)
ErrorResponse: TypeAlias = (
    EvidenceErrorResponse
    | EuEvidenceErrorResponse
    | EvidenceOrderErrorResponse
    | GetEvidenceErrorResponse
)


# --- answering --------------------------------------------------------------------------------


@overload
def answer_with_evidence(
    request: EvidenceRequest, *evidence: Evidence, clock: Clock
) -> EvidenceResponse: ...
@overload
def answer_with_evidence(
    request: EuEvidenceRequest, *evidence: Evidence, clock: Clock
) -> EuEvidenceResponse: ...
def answer_with_evidence(
    request: EvidenceRequest | EuEvidenceRequest, *evidence: Evidence, clock: Clock
) -> EvidenceResponse | EuEvidenceResponse:
    """The success answer: a 0102 to a 0101, a 0302 to a 0301 (echoes the request's id and
    parties, fresh UUIDs, now)."""
    if isinstance(request, EvidenceRequest):
        return _national_evidence(request, *evidence, clock=clock)
    if not evidence:
        raise ValueError("answer_with_evidence needs at least one evidence")
    return _eu_response(request, clock=clock, evidences=evidence)


@overload
def answer_pending(
    request: EvidenceRequest, available_at: datetime, *, clock: Clock
) -> EvidenceResponse: ...
@overload
def answer_pending(
    request: EuEvidenceRequest, available_at: datetime, *, clock: Clock
) -> EuEvidenceResponse: ...
def answer_pending(
    request: EvidenceRequest | EuEvidenceRequest, available_at: datetime, *, clock: Clock
) -> EvidenceResponse | EuEvidenceResponse:
    """The asynchronous answer (``ResponseAvailableDateTime``) to a 0101 or a 0301."""
    if isinstance(request, EvidenceRequest):
        return _national_pending(request, available_at, clock=clock)
    return _eu_response(request, clock=clock, available_at=available_at)


def _eu_response(
    request: EuEvidenceRequest,
    *,
    clock: Clock,
    evidences: tuple[Evidence, ...] = (),
    available_at: datetime | None = None,
) -> EuEvidenceResponse:
    now = instant(clock.now())
    return EuEvidenceResponse(
        request.request_id,
        uuid4(),
        uuid4(),
        now,
        now,
        request.provider,
        request.requester,
        request.author,
        request.reader,
        evidences=evidences,
        available_at=available_at,
        test=request.test,
    )


@overload
def answer_with_error(
    request: EvidenceRequest,
    code: EdmCode,
    detail: str | None,
    *,
    clock: Clock,
    error_provider: Agent | None = None,
) -> EvidenceErrorResponse: ...
@overload
def answer_with_error(
    request: EuEvidenceRequest,
    code: EdmCode,
    detail: str | None,
    *,
    clock: Clock,
    error_provider: Agent | None = None,
) -> EuEvidenceErrorResponse: ...
def answer_with_error(
    request: EvidenceRequest | EuEvidenceRequest,
    code: EdmCode,
    detail: str | None,
    *,
    clock: Clock,
    error_provider: Agent | None = None,
) -> EvidenceErrorResponse | EuEvidenceErrorResponse:
    """The error answer: a 0103 to a 0101, a 0303 to a 0301; ``error_provider`` defaults to
    the request's provider."""
    if isinstance(request, EvidenceRequest):
        return _national_error(request, code, detail, clock=clock, error_provider=error_provider)
    now = instant(clock.now())
    provider = error_provider or request.provider
    return EuEvidenceErrorResponse(
        request.request_id,
        uuid4(),
        uuid4(),
        now,
        now,
        provider,
        request.requester,
        (ErrorDetail(code, detail, now),),
        request.author,
        Authority.of(provider) if error_provider is not None else request.reader,
        test=request.test,
    )


def answer_order(
    order: EvidenceOrder, *, url_to_ip: str, conversation: str, clock: Clock
) -> EvidenceOrderResponse:
    """The IP's 0402 to ``order``: the citizen's link and the conversation to collect from."""
    now = instant(clock.now())
    return EvidenceOrderResponse(
        order.order_id,
        uuid4(),
        uuid4(),
        now,
        now,
        url_to_ip,
        conversation,
        order.author,
        order.reader,
        test=order.test,
    )


def refuse_order(
    order: EvidenceOrder, code: EdmCode, detail: str | None, *, clock: Clock
) -> EvidenceOrderErrorResponse:
    """The IP's 0403 to ``order`` (the IP is the error provider)."""
    now = instant(clock.now())
    return EvidenceOrderErrorResponse(
        order.order_id,
        uuid4(),
        uuid4(),
        now,
        now,
        order.platform,
        order.requester,
        (ErrorDetail(code, detail, now),),
        order.author,
        order.reader,
        test=order.test,
    )


def answer_get_evidence(
    request: GetEvidence,
    *evidence: Evidence,
    provider: Agent,
    platform: Agent,
    requester: Agent,
    clock: Clock,
    available_at: datetime | None = None,
) -> GetEvidenceResponse:
    """The IP's 0412: the EU evidence of the conversation (or when it will be available).

    0411 carries no agents: the IP passes the provider it asked, itself and the order's
    requester, which it kept with the conversation.
    """
    now = instant(clock.now())
    return GetEvidenceResponse(
        request.request_id,
        uuid4(),
        uuid4(),
        now,
        now,
        provider,
        platform,
        requester,
        request.author,
        request.reader,
        evidences=evidence,
        available_at=available_at,
        test=request.test,
    )


def refuse_get_evidence(
    request: GetEvidence,
    code: EdmCode,
    detail: str | None,
    *,
    platform: Agent,
    requester: Agent,
    clock: Clock,
) -> GetEvidenceErrorResponse:
    """The IP's 0413 to ``request`` (the IP is the error provider)."""
    now = instant(clock.now())
    return GetEvidenceErrorResponse(
        request.request_id,
        uuid4(),
        uuid4(),
        now,
        now,
        platform,
        requester,
        (ErrorDetail(code, detail, now),),
        request.author,
        request.reader,
        test=request.test,
    )
