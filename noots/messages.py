"""The XNachweis 1.2.0 messages: the national ``DE.EvidenceRequest.0101``,
``DE.EvidenceResponse.0102`` and ``DE.EvidenceErrorResponse.0103``, and those of the EU border
(use case 3: ``DE.EvidenceRequest.0301`` → ``0302``/``0303``; use case 4:
``DE.EvidenceOrder.0401`` → ``0402``/``0403``, ``DE.GetEvidence.0411`` → ``0412``/``0413``).

Messages are frozen dataclasses; :func:`build` turns one into an lxml element, :func:`to_bytes`
into UTF-8 bytes, :func:`parse` reads an element (from :func:`noots.xml.parse`, or embedded in
the transport envelope) back, raising :class:`~noots.errors.MalformedMessage` with the path of
what is wrong. Parsing needs no schema at run time: it checks the structure itself, and also
what the schema cannot (time zones, code values, message type, UUID forms).

Answering a request::

    response = answer_with_evidence(request, Evidence.new(document, ..., clock=clock), clock=clock)
    error = answer_with_error(request, EdmCode.NOT_FOUND, "no such person", clock=clock)

Every answer echoes the request id and parties and gets fresh UUIDs and UTC times; a 0301 is
answered with a 0302/0303 by the same functions. Error codes outside ``EDM:ERR:0001…0008`` are
kept as :class:`UnlistedErrorCode` (the national list is not published), never refused.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Final, Literal, TypeAlias, TypeVar, overload

from lxml import etree

from noots._messages_build import format_date, format_instant
from noots._messages_eu_build import build
from noots._messages_eu_model import (
    CLASSIFICATION_PLATFORM,
    LIST_PROCEDURES,
    MESSAGE_TYPE_EU_ERROR_RESPONSE,
    MESSAGE_TYPE_EU_REQUEST,
    MESSAGE_TYPE_EU_RESPONSE,
    MESSAGE_TYPE_GET_EVIDENCE,
    MESSAGE_TYPE_GET_EVIDENCE_ERROR_RESPONSE,
    MESSAGE_TYPE_GET_EVIDENCE_RESPONSE,
    MESSAGE_TYPE_ORDER,
    MESSAGE_TYPE_ORDER_ERROR_RESPONSE,
    MESSAGE_TYPE_ORDER_RESPONSE,
    REQUIREMENT_PREFIX,
    ErrorResponse,
    EuEvidenceErrorResponse,
    EuEvidenceRequest,
    EuEvidenceResponse,
    EuMessage,
    EvidenceOrder,
    EvidenceOrderErrorResponse,
    EvidenceOrderResponse,
    GetEvidence,
    GetEvidenceErrorResponse,
    GetEvidenceResponse,
    Requirement,
    answer_get_evidence,
    answer_order,
    answer_pending,
    answer_with_error,
    answer_with_evidence,
    conversation_id,
    new_conversation_id,
    refuse_get_evidence,
    refuse_order,
)
from noots._messages_eu_parse import parse as _parse_any
from noots._messages_model import (
    AUTHORITY_ID_PREFIX,
    CLASSIFICATION_ERROR_PROVIDER,
    CLASSIFICATION_PROVIDER,
    CLASSIFICATION_REQUESTER,
    DEFAULT_LANGUAGE,
    DEFAULT_MEDIA_TYPE,
    DEFAULT_PRODUCT,
    DIRECTORY_SERVICE,
    EAS_0204,
    EAS_SCHEME_PREFIX,
    EIDAS_SCHEME,
    EVIDENCE_TYPE_CLASSIFICATION_PREFIX,
    LEVELS_OF_ASSURANCE,
    LIST_AGENT_CLASSIFICATIONS,
    LIST_COUNTRY_CODES,
    LIST_ERROR_CODES,
    LIST_IDENTIFIER_SCHEMES,
    LIST_LANGUAGES,
    LIST_LEVELS_OF_ASSURANCE,
    LIST_MEDIA_TYPES,
    LIST_MESSAGE_TYPES,
    LIST_NUTS,
    LIST_RESPONSE_STATUS,
    LOA_HIGH,
    LOA_LOW,
    LOA_SUBSTANTIAL,
    MESSAGE_TYPE_ERROR_RESPONSE,
    MESSAGE_TYPE_REQUEST,
    MESSAGE_TYPE_RESPONSE,
    NS_BDT,
    NS_BEH,
    NS_BK,
    NS_DE,
    NS_EDM,
    NS_G2G,
    NSMAP,
    QUERY_DEFINITION,
    SEVERITY_ERROR,
    SPECIFICATION_IDENTIFIER,
    STANDARD,
    STANDARD_VERSION,
    STATUS_FAILURE,
    STATUS_SUCCESS,
    STATUS_UNAVAILABLE,
    Address,
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
    EvidenceTypeRef,
    LegalIdentifier,
    LegalPerson,
    NaturalPerson,
    Product,
    Subject,
    UnlistedErrorCode,
    error_code,
)
from noots._messages_model import Message as NationalMessage
from noots.errors import MalformedMessage
from noots.xml import serialize

Message: TypeAlias = NationalMessage | EuMessage
"""Any XNachweis message noots models."""

__all__ = [
    "ANY",
    "AUTHORITY_ID_PREFIX",
    "CLASSIFICATION_ERROR_PROVIDER",
    "CLASSIFICATION_PLATFORM",
    "CLASSIFICATION_PROVIDER",
    "CLASSIFICATION_REQUESTER",
    "DEFAULT_LANGUAGE",
    "DEFAULT_MEDIA_TYPE",
    "DEFAULT_PRODUCT",
    "DIRECTORY_SERVICE",
    "EAS_0204",
    "EAS_SCHEME_PREFIX",
    "EIDAS_SCHEME",
    "EVIDENCE_TYPE_CLASSIFICATION_PREFIX",
    "LEVELS_OF_ASSURANCE",
    "LIST_AGENT_CLASSIFICATIONS",
    "LIST_COUNTRY_CODES",
    "LIST_ERROR_CODES",
    "LIST_IDENTIFIER_SCHEMES",
    "LIST_LANGUAGES",
    "LIST_LEVELS_OF_ASSURANCE",
    "LIST_MEDIA_TYPES",
    "LIST_MESSAGE_TYPES",
    "LIST_NUTS",
    "LIST_PROCEDURES",
    "LIST_RESPONSE_STATUS",
    "LOA_HIGH",
    "LOA_LOW",
    "LOA_SUBSTANTIAL",
    "MESSAGE_TYPE_ERROR_RESPONSE",
    "MESSAGE_TYPE_EU_ERROR_RESPONSE",
    "MESSAGE_TYPE_EU_REQUEST",
    "MESSAGE_TYPE_EU_RESPONSE",
    "MESSAGE_TYPE_GET_EVIDENCE",
    "MESSAGE_TYPE_GET_EVIDENCE_ERROR_RESPONSE",
    "MESSAGE_TYPE_GET_EVIDENCE_RESPONSE",
    "MESSAGE_TYPE_ORDER",
    "MESSAGE_TYPE_ORDER_ERROR_RESPONSE",
    "MESSAGE_TYPE_ORDER_RESPONSE",
    "MESSAGE_TYPE_REQUEST",
    "MESSAGE_TYPE_RESPONSE",
    "NATIONAL",
    "NSMAP",
    "NS_BDT",
    "NS_BEH",
    "NS_BK",
    "NS_DE",
    "NS_EDM",
    "NS_G2G",
    "QUERY_DEFINITION",
    "REQUIREMENT_PREFIX",
    "SEVERITY_ERROR",
    "SPECIFICATION_IDENTIFIER",
    "STANDARD",
    "STANDARD_VERSION",
    "STATUS_FAILURE",
    "STATUS_SUCCESS",
    "STATUS_UNAVAILABLE",
    "Address",
    "Agent",
    "Authority",
    "CodeList",
    "ErrorCode",
    "ErrorDetail",
    "ErrorResponse",
    "EuEvidenceErrorResponse",
    "EuEvidenceRequest",
    "EuEvidenceResponse",
    "EuMessage",
    "Evidence",
    "EvidenceErrorResponse",
    "EvidenceOrder",
    "EvidenceOrderErrorResponse",
    "EvidenceOrderResponse",
    "EvidenceRequest",
    "EvidenceResponse",
    "EvidenceType",
    "EvidenceTypeRef",
    "GetEvidence",
    "GetEvidenceErrorResponse",
    "GetEvidenceResponse",
    "LegalIdentifier",
    "LegalPerson",
    "Message",
    "NationalMessage",
    "NaturalPerson",
    "Product",
    "Requirement",
    "Subject",
    "UnlistedErrorCode",
    "answer_get_evidence",
    "answer_order",
    "answer_pending",
    "answer_with_error",
    "answer_with_evidence",
    "build",
    "conversation_id",
    "error_code",
    "format_date",
    "format_instant",
    "message_type",
    "new_conversation_id",
    "parse",
    "refuse_get_evidence",
    "refuse_order",
    "to_bytes",
]


def to_bytes(message: Message) -> bytes:
    """UTF-8 bytes of ``message`` with an XML declaration, never pretty-printed."""
    return serialize(build(message))


class _Expect(Enum):
    NATIONAL = "national"
    ANY = "any"


NATIONAL: Final = _Expect.NATIONAL
"""``parse(element)``: only the national 0101/0102/0103 (the default)."""
ANY: Final = _Expect.ANY
"""``parse(element, ANY)``: any of the twelve XNachweis 1.2.0 message types."""

_M = TypeVar("_M", bound=Message)
_NATIONAL_TYPES = (EvidenceRequest, EvidenceResponse, EvidenceErrorResponse)


@overload
def parse(
    element: etree._Element, expected: Literal[_Expect.NATIONAL] = ...
) -> NationalMessage: ...
@overload
def parse(element: etree._Element, expected: Literal[_Expect.ANY]) -> Message: ...
@overload
def parse(element: etree._Element, expected: type[_M]) -> _M: ...
def parse(element: etree._Element, expected: _Expect | type[Any] = NATIONAL) -> Message:
    """The message ``element`` holds, or :class:`~noots.errors.MalformedMessage` naming what
    is wrong. Any of the twelve message types is read; then the message must be what the caller
    ``expected``: by default a national 0101/0102/0103 (what every national participant
    handles, so a 03xx/04xx message reaching one is refused before it is used), ``ANY``, or one
    message class (``parse(element, EvidenceOrder)``).

    ``element`` may be a document root from :func:`noots.xml.parse` or an element inside
    another document (the transport envelope's body); nothing outside it is read.
    """
    message = _parse_any(element)
    if expected is ANY:
        return message
    if expected is NATIONAL:
        if isinstance(message, _NATIONAL_TYPES):
            return message
        raise MalformedMessage(
            f"{_MESSAGE_TYPE_OF[type(message)]} is a message of the EU use cases, "
            "not accepted here (expected DE.EvidenceRequest.0101, 0102 or 0103)"
        )
    if isinstance(expected, type) and isinstance(message, expected):
        found: Message = message
        return found
    wanted = _MESSAGE_TYPE_OF.get(expected, str(expected))
    raise MalformedMessage(f"{_MESSAGE_TYPE_OF[type(message)]}: expected {wanted}")


_MESSAGE_TYPE_OF: dict[type, str] = {
    EvidenceRequest: MESSAGE_TYPE_REQUEST,
    EvidenceResponse: MESSAGE_TYPE_RESPONSE,
    EvidenceErrorResponse: MESSAGE_TYPE_ERROR_RESPONSE,
    EuEvidenceRequest: MESSAGE_TYPE_EU_REQUEST,
    EuEvidenceResponse: MESSAGE_TYPE_EU_RESPONSE,
    EuEvidenceErrorResponse: MESSAGE_TYPE_EU_ERROR_RESPONSE,
    EvidenceOrder: MESSAGE_TYPE_ORDER,
    EvidenceOrderResponse: MESSAGE_TYPE_ORDER_RESPONSE,
    EvidenceOrderErrorResponse: MESSAGE_TYPE_ORDER_ERROR_RESPONSE,
    GetEvidence: MESSAGE_TYPE_GET_EVIDENCE,
    GetEvidenceResponse: MESSAGE_TYPE_GET_EVIDENCE_RESPONSE,
    GetEvidenceErrorResponse: MESSAGE_TYPE_GET_EVIDENCE_ERROR_RESPONSE,
}


def message_type(message: Message) -> str:
    """The XNachweis message type of ``message`` (``DE.EvidenceOrder.0401``, …)."""
    return _MESSAGE_TYPE_OF[type(message)]
