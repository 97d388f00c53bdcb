"""Parsing the XNachweis messages of use cases 3 and 4 (private module of noots.messages).

The same strict cursor walk as :mod:`noots._messages_parse` (whose building blocks it uses):
every element in schema order, and on top what the schema cannot check (time zones, code
values, the message type against the root, UUID forms, the agents' classifications).
:func:`parse` dispatches all twelve message types.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree

from noots import _messages_tags as t
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
    Requirement,
)
from noots._messages_model import (
    CLASSIFICATION_ERROR_PROVIDER,
    CLASSIFICATION_PROVIDER,
    CLASSIFICATION_REQUESTER,
    LIST_AGENT_CLASSIFICATIONS,
    LIST_COUNTRY_CODES,
    LIST_LANGUAGES,
    LIST_RESPONSE_STATUS,
    MESSAGE_TYPE_ERROR_RESPONSE,
    MESSAGE_TYPE_REQUEST,
    MESSAGE_TYPE_RESPONSE,
    QUERY_DEFINITION,
    STATUS_FAILURE,
    STATUS_SUCCESS,
    STATUS_UNAVAILABLE,
    Agent,
    Evidence,
    Message,
)
from noots._messages_parse import (
    _PARSERS,
    _agent,
    _agents,
    _Children,
    _code,
    _date_time,
    _evidence,
    _exception,
    _fail,
    _head,
    _id_attribute,
    _make,
    _multilingual,
    _name,
    _normalized,
    _requested_evidence_type,
    _specification,
    _subject,
    _text,
    _uuid,
)
from noots.errors import MalformedMessage

__all__ = ["parse"]


def _request_start(
    root: etree._Element, message_type: str, id_attribute: str
) -> tuple[_Children, dict[str, Any]]:
    """Root attributes, id and ``nachrichtenkopf``."""
    request_id = _id_attribute(root, id_attribute, message_type)
    children = _Children(root, message_type)
    head = _head(root, children, message_type, message_type)
    head["request_id"] = request_id
    return children, head


def _status(children: _Children, path: str, allowed: tuple[str, ...]) -> str:
    status = _code(children.take(t.STATUS), path + "/status", LIST_RESPONSE_STATUS, fixed_uri=False)
    if status not in allowed:
        raise _fail(path + "/status", f"status must be one of {allowed}, not {status!r}")
    return status


def _query(children: _Children, path: str) -> dict[str, Any]:
    query_path = path + "/Query"
    query = _Children(children.take(t.QUERY), query_path)
    definition = _text(query.take(t.QUERY_DEFINITION), query_path + "/QueryDefinition")
    if definition not in ("", QUERY_DEFINITION):
        raise _fail(query_path + "/QueryDefinition", f"unsupported query {definition!r}")
    evidence_type = _requested_evidence_type(
        query.take(t.REQUESTED_EVIDENCE_TYPE), query_path + "/RequestedEvidenceType"
    )
    query.refuse(t.AUTHORIZED_REPRESENTATIVE, "authorised representative")
    subject = _subject(query.take(t.LEGAL_OR_NATURAL_PERSON), query_path + "/LegalOrNaturalPerson")
    query.done()
    return {"evidence_type": evidence_type, "subject": subject}


def _classification_of(element: etree._Element, path: str) -> str:
    """The classification code of an agent element (read before the agent is parsed)."""
    for child in element:
        if child.tag == t.CLASSIFICATION:
            return _code(child, path + "/Classification", LIST_AGENT_CLASSIFICATIONS)
    raise _fail(path, f"missing element {_name(t.CLASSIFICATION)}")


def _availability(children: _Children, path: str, status: str) -> dict[str, Any]:
    availability_path = path + "/EvidenceAvailability"
    availability = _Children(children.take(t.EVIDENCE_AVAILABILITY), availability_path)
    available_at = None
    evidences: tuple[Evidence, ...] = ()
    if availability.at(t.RESPONSE_AVAILABLE_DATE_TIME):
        times = availability.all(t.RESPONSE_AVAILABLE_DATE_TIME)
        if len(times) != 1:
            raise _fail(
                availability_path,
                f"noots supports exactly one ResponseAvailableDateTime, found {len(times)}",
            )
        available_at = _date_time(times[0], availability_path + "/ResponseAvailableDateTime")
        expected = STATUS_UNAVAILABLE
    else:
        evidences = tuple(
            _evidence(found, availability_path + "/RegistryObjectList")
            for found in availability.some(t.REGISTRY_OBJECT_LIST)
        )
        expected = STATUS_SUCCESS
    availability.done()
    if status != expected:
        raise _fail(
            path + "/status",
            f"status {status!r} does not fit the availability (expected {expected!r})",
        )
    return {"evidences": evidences, "available_at": available_at}


def _response_head(
    root: etree._Element,
    message_type: str,
    id_attribute: str,
    identifier_tag: str,
    statuses: tuple[str, ...],
) -> tuple[_Children, dict[str, Any], str]:
    children, fields = _request_start(root, message_type, id_attribute)
    status = _status(children, message_type, statuses)
    _specification(children, message_type)
    fields["response_id"] = _uuid(
        _normalized(children.take(identifier_tag), message_type),
        f"{message_type}/{etree.QName(identifier_tag).localname}",
    )
    fields["issue_datetime"] = _date_time(
        children.take(t.ISSUE_DATE_TIME), message_type + "/IssueDateTime"
    )
    return children, fields, status


def _error_response(root: etree._Element, message_type: str, factory: Callable[..., Any]) -> Any:
    path = message_type
    children, fields, _ = _response_head(
        root, message_type, "requestid", t.EVIDENCE_RESPONSE_IDENTIFIER, (STATUS_FAILURE,)
    )
    error_provider = _agent(
        children.take(t.ERROR_PROVIDER), path + "/ErrorProvider", CLASSIFICATION_ERROR_PROVIDER
    )
    requester = _agents(
        children.some(t.EVIDENCE_REQUESTER), path + "/EvidenceRequester", CLASSIFICATION_REQUESTER
    )
    errors = tuple(_exception(found, path + "/Exception") for found in children.some(t.EXCEPTION))
    children.done()
    return _make(
        path, factory, error_provider=error_provider, requester=requester, errors=errors, **fields
    )


# --- use case 3 -------------------------------------------------------------------------------


def _eu_request(root: etree._Element) -> EuEvidenceRequest:
    path = MESSAGE_TYPE_EU_REQUEST
    children, fields = _request_start(root, path, "id")
    language = _code(children.take(t.LANG), path + "/lang", LIST_LANGUAGES)
    _specification(children, path)
    issue_datetime = _date_time(children.take(t.ISSUE_DATE_TIME), path + "/IssueDateTime")
    issued_token = _text(children.take(t.ISSUED_TOKEN), path + "/IssuedToken")
    requester = _agents(
        children.some(t.EVIDENCE_REQUESTER), path + "/EvidenceRequester", CLASSIFICATION_REQUESTER
    )
    provider = _agent(
        children.take(t.EVIDENCE_PROVIDER), path + "/EvidenceProvider", CLASSIFICATION_PROVIDER
    )
    query = _query(children, path)
    children.done()
    return _make(
        path,
        EuEvidenceRequest,
        issue_datetime=issue_datetime,
        requester=requester,
        provider=provider,
        issued_token=issued_token,
        language=language,
        **query,
        **fields,
    )


def _eu_response(root: etree._Element) -> EuEvidenceResponse:
    path = MESSAGE_TYPE_EU_RESPONSE
    children, fields, status = _response_head(
        root,
        path,
        "requestid",
        t.EVIDENCE_RESPONSE_IDENTIFIER,
        (STATUS_SUCCESS, STATUS_UNAVAILABLE),
    )
    provider = _agents(
        children.some(t.EVIDENCE_PROVIDER), path + "/EvidenceProvider", CLASSIFICATION_PROVIDER
    )
    requester = _agents(
        children.some(t.EVIDENCE_REQUESTER), path + "/EvidenceRequester", CLASSIFICATION_REQUESTER
    )
    availability = _availability(children, path, status)
    children.done()
    return _make(
        path, EuEvidenceResponse, provider=provider, requester=requester, **availability, **fields
    )


def _eu_error_response(root: etree._Element) -> EuEvidenceErrorResponse:
    result: EuEvidenceErrorResponse = _error_response(
        root, MESSAGE_TYPE_EU_ERROR_RESPONSE, EuEvidenceErrorResponse
    )
    return result


# --- use case 4 -------------------------------------------------------------------------------


def _requirement(element: etree._Element, path: str) -> Requirement:
    children = _Children(element, path)
    identifier = _normalized(children.take(t.REQUIREMENT_IDENTIFIER), path + "/Identifier")
    name = _multilingual([children.take(t.REQUIREMENT_NAME)], path + "/Name")
    country_element = children.optional(t.COUNTRY)
    country = (
        None
        if country_element is None
        else _code(country_element, path + "/Country", LIST_COUNTRY_CODES)
    )
    children.done()
    return _make(path, Requirement, identifier, name, country)


def _order(root: etree._Element) -> EvidenceOrder:
    path = MESSAGE_TYPE_ORDER
    children, fields = _request_start(root, path, "id")
    fields["order_id"] = fields.pop("request_id")
    language = _code(children.take(t.LANG), path + "/lang", LIST_LANGUAGES)
    _specification(children, path)
    issue_datetime = _date_time(children.take(t.ISSUE_DATE_TIME), path + "/IssueDateTime")
    issued_token = _text(children.take(t.ISSUED_TOKEN), path + "/IssuedToken")
    platform = _agent(
        children.take(t.EVIDENCE_PROVIDER), path + "/EvidenceProvider", CLASSIFICATION_PLATFORM
    )
    requester = _agents(
        children.some(t.EVIDENCE_REQUESTER), path + "/EvidenceRequester", CLASSIFICATION_REQUESTER
    )
    procedure = _code(children.take(t.PROCEDURE), path + "/Procedure", LIST_PROCEDURES)
    requirements = tuple(
        _requirement(found, path + "/Requirement") for found in children.all(t.REQUIREMENT)
    )
    query = _query(children, path)
    back_url = _normalized(
        children.take(t.BACK_TO_EVIDENCE_REQUESTER_URL), path + "/BackToEvidenceRequesterURL"
    ).strip(" ")
    children.done()
    return _make(
        path,
        EvidenceOrder,
        issue_datetime=issue_datetime,
        issued_token=issued_token,
        platform=platform,
        requester=requester,
        procedure=procedure,
        requirements=requirements,
        back_url=back_url,
        language=language,
        **query,
        **fields,
    )


def _order_response(root: etree._Element) -> EvidenceOrderResponse:
    path = MESSAGE_TYPE_ORDER_RESPONSE
    children, fields = _request_start(root, path, "orderid")
    fields["order_id"] = fields.pop("request_id")
    _specification(children, path)
    response_id = _uuid(
        _normalized(children.take(t.ORDER_RESPONSE_IDENTIFIER), path),
        path + "/OrderResponseIdentifier",
    )
    issue_datetime = _date_time(children.take(t.ISSUE_DATE_TIME), path + "/IssueDateTime")
    url_to_ip = _normalized(children.take(t.URL_TO_IP), path + "/URLtoIP").strip(" ")
    conversation = _normalized(children.take(t.CONVERSATION_ID), path + "/ConversationID")
    children.done()
    return _make(
        path,
        EvidenceOrderResponse,
        response_id=response_id,
        issue_datetime=issue_datetime,
        url_to_ip=url_to_ip,
        conversation_id=conversation.strip(" "),
        **fields,
    )


def _order_error_response(root: etree._Element) -> EvidenceOrderErrorResponse:
    result: EvidenceOrderErrorResponse = _error_response(
        root, MESSAGE_TYPE_ORDER_ERROR_RESPONSE, EvidenceOrderErrorResponse
    )
    return result


def _get_evidence(root: etree._Element) -> GetEvidence:
    path = MESSAGE_TYPE_GET_EVIDENCE
    children, fields = _request_start(root, path, "id")
    _specification(children, path)
    issue_datetime = _date_time(children.take(t.ISSUE_DATE_TIME), path + "/IssueDateTime")
    conversation = _normalized(children.take(t.CONVERSATION_ID), path + "/ConversationID")
    children.done()
    return _make(
        path,
        GetEvidence,
        issue_datetime=issue_datetime,
        conversation_id=conversation.strip(" "),
        **fields,
    )


def _get_evidence_response(root: etree._Element) -> GetEvidenceResponse:
    path = MESSAGE_TYPE_GET_EVIDENCE_RESPONSE
    children, fields, status = _response_head(
        root,
        path,
        "getevidenceid",
        t.GET_EVIDENCE_RESPONSE_IDENTIFIER,
        (STATUS_SUCCESS, STATUS_UNAVAILABLE),
    )
    provider_path = path + "/EvidenceProvider"
    by_classification: dict[str, Agent] = {}
    for element in children.some(t.EVIDENCE_PROVIDER):
        classification = _classification_of(element, provider_path)
        if classification not in (CLASSIFICATION_PROVIDER, CLASSIFICATION_PLATFORM):
            raise _fail(
                provider_path, f"classification must be 'EP' or 'IP', not {classification!r}"
            )
        if classification in by_classification:
            raise _fail(provider_path, f"classification {classification!r} occurs twice")
        by_classification[classification] = _agent(element, provider_path, classification)
    if len(by_classification) != 2:
        raise _fail(provider_path, "needs the evidence provider (EP) and the platform (IP)")
    requester = _agents(
        children.some(t.EVIDENCE_REQUESTER), path + "/EvidenceRequester", CLASSIFICATION_REQUESTER
    )
    availability = _availability(children, path, status)
    children.done()
    return _make(
        path,
        GetEvidenceResponse,
        provider=by_classification[CLASSIFICATION_PROVIDER],
        platform=by_classification[CLASSIFICATION_PLATFORM],
        requester=requester,
        **availability,
        **fields,
    )


def _get_evidence_error_response(root: etree._Element) -> GetEvidenceErrorResponse:
    result: GetEvidenceErrorResponse = _error_response(
        root, MESSAGE_TYPE_GET_EVIDENCE_ERROR_RESPONSE, GetEvidenceErrorResponse
    )
    return result


_EU_PARSERS: dict[str, Callable[[etree._Element], EuMessage]] = {
    t.EU_REQUEST: _eu_request,
    t.EU_RESPONSE: _eu_response,
    t.EU_ERROR_RESPONSE: _eu_error_response,
    t.ORDER: _order,
    t.ORDER_RESPONSE: _order_response,
    t.ORDER_ERROR_RESPONSE: _order_error_response,
    t.GET_EVIDENCE: _get_evidence,
    t.GET_EVIDENCE_RESPONSE: _get_evidence_response,
    t.GET_EVIDENCE_ERROR_RESPONSE: _get_evidence_error_response,
}
_ALL_PARSERS: dict[str, Callable[[etree._Element], Message | EuMessage]] = {
    **_PARSERS,
    **_EU_PARSERS,
}
_MESSAGE_TYPES = (
    MESSAGE_TYPE_REQUEST,
    MESSAGE_TYPE_RESPONSE,
    MESSAGE_TYPE_ERROR_RESPONSE,
    MESSAGE_TYPE_EU_REQUEST,
    MESSAGE_TYPE_EU_RESPONSE,
    MESSAGE_TYPE_EU_ERROR_RESPONSE,
    MESSAGE_TYPE_ORDER,
    MESSAGE_TYPE_ORDER_RESPONSE,
    MESSAGE_TYPE_ORDER_ERROR_RESPONSE,
    MESSAGE_TYPE_GET_EVIDENCE,
    MESSAGE_TYPE_GET_EVIDENCE_RESPONSE,
    MESSAGE_TYPE_GET_EVIDENCE_ERROR_RESPONSE,
)


def parse(element: etree._Element) -> Message | EuMessage:
    """The message ``element`` holds (any of the twelve XNachweis 1.2.0 message types), or
    :class:`MalformedMessage` naming what is wrong. Nothing outside ``element`` is read."""
    if not isinstance(element, etree._Element):
        raise TypeError(f"parse() takes an lxml element, not {type(element).__name__}")
    tag = element.tag
    if not isinstance(tag, str):
        raise MalformedMessage("not an element: a comment or processing instruction")
    parser = _ALL_PARSERS.get(tag)
    if parser is None:
        qname = etree.QName(tag)
        if qname.localname in _MESSAGE_TYPES:
            raise MalformedMessage(
                f"{qname.localname}: root element in {qname.namespace or 'no namespace'}, "
                f"expected {etree.QName(t.REQUEST).namespace}"
            )
        raise MalformedMessage(
            f"unknown root element {_name(tag)}: expected one of {', '.join(_MESSAGE_TYPES)}"
        )
    return parser(element)
