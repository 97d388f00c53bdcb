"""Building the XNachweis messages of use cases 3 and 4 (private module of noots.messages).

The parts every message shares (head, agents, persons, evidence) come from
:mod:`noots._messages_build`; only the element order of each message is written here, in the
order of ``xnachweis-de-noots.xsd``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree

from noots import _messages_tags as t
from noots._messages_build import (
    _agent,
    _code,
    _evidence,
    _evidence_type,
    _leaf,
    _multilingual,
    _root,
    _sub,
    _subject,
    format_instant,
)
from noots._messages_build import (
    build as _build_national,
)
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
)
from noots._messages_model import (
    CLASSIFICATION_ERROR_PROVIDER,
    CLASSIFICATION_PROVIDER,
    CLASSIFICATION_REQUESTER,
    LIST_COUNTRY_CODES,
    LIST_ERROR_CODES,
    LIST_LANGUAGES,
    LIST_RESPONSE_STATUS,
    QUERY_DEFINITION,
    SEVERITY_ERROR,
    SPECIFICATION_IDENTIFIER,
    STATUS_FAILURE,
    STATUS_SUCCESS,
    STATUS_UNAVAILABLE,
    Agent,
    ErrorDetail,
    Message,
)

__all__ = ["build"]


def build(message: Message | EuMessage) -> etree._Element:
    """The XML element of any XNachweis message noots models (a fresh tree)."""
    builder = _BUILDERS.get(type(message))
    if builder is None:
        return _build_national(message)  # type: ignore[arg-type]
    return builder(message)


def _status(root: etree._Element, value: str) -> None:
    _code(root, t.STATUS, LIST_RESPONSE_STATUS, value)


def _specification(root: etree._Element) -> None:
    _leaf(root, t.SPECIFICATION_IDENTIFIER, SPECIFICATION_IDENTIFIER)


def _exceptions(root: etree._Element, errors: tuple[ErrorDetail, ...]) -> None:
    for error in errors:
        exception = _sub(root, t.EXCEPTION)
        _code(exception, t.ERROR_CODE, LIST_ERROR_CODES, error.code.value)
        if error.detail is not None:
            _leaf(exception, t.DETAIL, error.detail)
        if error.timestamp is not None:
            _leaf(exception, t.TIMESTAMP, format_instant(error.timestamp))
        _leaf(exception, t.SEVERITY, SEVERITY_ERROR)


def _query(root: etree._Element, message: EuEvidenceRequest | EvidenceOrder) -> None:
    query = _sub(root, t.QUERY)
    _leaf(query, t.QUERY_DEFINITION, QUERY_DEFINITION)
    _evidence_type(query, message.evidence_type)
    _subject(query, message.subject)


def _error_response(
    tag: str,
    message_type: str,
    message: EuEvidenceErrorResponse | EvidenceOrderErrorResponse | GetEvidenceErrorResponse,
) -> etree._Element:
    root = _root(tag, "requestid", message.request_id, message, message_type)
    _status(root, STATUS_FAILURE)
    _specification(root)
    _leaf(root, t.EVIDENCE_RESPONSE_IDENTIFIER, str(message.response_id))
    _leaf(root, t.ISSUE_DATE_TIME, format_instant(message.issue_datetime))
    _agent(root, t.ERROR_PROVIDER, message.error_provider, CLASSIFICATION_ERROR_PROVIDER)
    _agent(root, t.EVIDENCE_REQUESTER, message.requester, CLASSIFICATION_REQUESTER)
    _exceptions(root, message.errors)
    return root


def _availability(root: etree._Element, message: EuEvidenceResponse | GetEvidenceResponse) -> None:
    availability = _sub(root, t.EVIDENCE_AVAILABILITY)
    if message.available_at is not None:
        _leaf(availability, t.RESPONSE_AVAILABLE_DATE_TIME, format_instant(message.available_at))
    for evidence in message.evidences:
        _evidence(availability, evidence)


def _response_status(message: EuEvidenceResponse | GetEvidenceResponse) -> str:
    return STATUS_UNAVAILABLE if message.available_at is not None else STATUS_SUCCESS


# --- messages ---------------------------------------------------------------------------------


def _eu_request(message: EuEvidenceRequest) -> etree._Element:
    root = _root(t.EU_REQUEST, "id", message.request_id, message, MESSAGE_TYPE_EU_REQUEST)
    _code(root, t.LANG, LIST_LANGUAGES, message.language)
    _specification(root)
    _leaf(root, t.ISSUE_DATE_TIME, format_instant(message.issue_datetime))
    # Unlike the 0101, the token stands before the parties.
    _leaf(root, t.ISSUED_TOKEN, message.issued_token)
    _agent(root, t.EVIDENCE_REQUESTER, message.requester, CLASSIFICATION_REQUESTER)
    _agent(root, t.EVIDENCE_PROVIDER, message.provider, CLASSIFICATION_PROVIDER)
    _query(root, message)
    return root


def _eu_response(message: EuEvidenceResponse) -> etree._Element:
    root = _root(t.EU_RESPONSE, "requestid", message.request_id, message, MESSAGE_TYPE_EU_RESPONSE)
    _status(root, _response_status(message))
    _specification(root)
    _leaf(root, t.EVIDENCE_RESPONSE_IDENTIFIER, str(message.response_id))
    _leaf(root, t.ISSUE_DATE_TIME, format_instant(message.issue_datetime))
    _agent(root, t.EVIDENCE_PROVIDER, message.provider, CLASSIFICATION_PROVIDER)
    _agent(root, t.EVIDENCE_REQUESTER, message.requester, CLASSIFICATION_REQUESTER)
    _availability(root, message)
    return root


def _eu_error_response(message: EuEvidenceErrorResponse) -> etree._Element:
    return _error_response(t.EU_ERROR_RESPONSE, MESSAGE_TYPE_EU_ERROR_RESPONSE, message)


def _order(message: EvidenceOrder) -> etree._Element:
    root = _root(t.ORDER, "id", message.order_id, message, MESSAGE_TYPE_ORDER)
    _code(root, t.LANG, LIST_LANGUAGES, message.language)
    _specification(root)
    _leaf(root, t.ISSUE_DATE_TIME, format_instant(message.issue_datetime))
    _leaf(root, t.ISSUED_TOKEN, message.issued_token)
    _agent(root, t.EVIDENCE_PROVIDER, message.platform, CLASSIFICATION_PLATFORM)
    _agent(root, t.EVIDENCE_REQUESTER, message.requester, CLASSIFICATION_REQUESTER)
    _code(root, t.PROCEDURE, LIST_PROCEDURES, message.procedure)
    for requirement in message.requirements:
        element = _sub(root, t.REQUIREMENT)
        _leaf(element, t.REQUIREMENT_IDENTIFIER, requirement.identifier)
        _multilingual(element, t.REQUIREMENT_NAME, requirement.name)
        if requirement.country is not None:
            _code(element, t.COUNTRY, LIST_COUNTRY_CODES, requirement.country)
    _query(root, message)
    _leaf(root, t.BACK_TO_EVIDENCE_REQUESTER_URL, message.back_url)
    return root


def _order_response(message: EvidenceOrderResponse) -> etree._Element:
    root = _root(
        t.ORDER_RESPONSE, "orderid", message.order_id, message, MESSAGE_TYPE_ORDER_RESPONSE
    )
    _specification(root)
    _leaf(root, t.ORDER_RESPONSE_IDENTIFIER, str(message.response_id))
    _leaf(root, t.ISSUE_DATE_TIME, format_instant(message.issue_datetime))
    _leaf(root, t.URL_TO_IP, message.url_to_ip)
    _leaf(root, t.CONVERSATION_ID, message.conversation_id)
    return root


def _order_error_response(message: EvidenceOrderErrorResponse) -> etree._Element:
    return _error_response(t.ORDER_ERROR_RESPONSE, MESSAGE_TYPE_ORDER_ERROR_RESPONSE, message)


def _get_evidence(message: GetEvidence) -> etree._Element:
    root = _root(t.GET_EVIDENCE, "id", message.request_id, message, MESSAGE_TYPE_GET_EVIDENCE)
    _specification(root)
    _leaf(root, t.ISSUE_DATE_TIME, format_instant(message.issue_datetime))
    _leaf(root, t.CONVERSATION_ID, message.conversation_id)
    return root


def _get_evidence_response(message: GetEvidenceResponse) -> etree._Element:
    root = _root(
        t.GET_EVIDENCE_RESPONSE,
        "getevidenceid",
        message.request_id,
        message,
        MESSAGE_TYPE_GET_EVIDENCE_RESPONSE,
    )
    _status(root, _response_status(message))
    _specification(root)
    _leaf(root, t.GET_EVIDENCE_RESPONSE_IDENTIFIER, str(message.response_id))
    _leaf(root, t.ISSUE_DATE_TIME, format_instant(message.issue_datetime))
    providers: tuple[tuple[Agent, str], ...] = (
        (message.provider, CLASSIFICATION_PROVIDER),
        (message.platform, CLASSIFICATION_PLATFORM),
    )
    for agent, classification in providers:
        _agent(root, t.EVIDENCE_PROVIDER, agent, classification)
    _agent(root, t.EVIDENCE_REQUESTER, message.requester, CLASSIFICATION_REQUESTER)
    _availability(root, message)
    return root


def _get_evidence_error_response(message: GetEvidenceErrorResponse) -> etree._Element:
    return _error_response(
        t.GET_EVIDENCE_ERROR_RESPONSE, MESSAGE_TYPE_GET_EVIDENCE_ERROR_RESPONSE, message
    )


_BUILDERS: dict[type, Callable[[Any], etree._Element]] = {
    EuEvidenceRequest: _eu_request,
    EuEvidenceResponse: _eu_response,
    EuEvidenceErrorResponse: _eu_error_response,
    EvidenceOrder: _order,
    EvidenceOrderResponse: _order_response,
    EvidenceOrderErrorResponse: _order_error_response,
    GetEvidence: _get_evidence,
    GetEvidenceResponse: _get_evidence_response,
    GetEvidenceErrorResponse: _get_evidence_error_response,
}
