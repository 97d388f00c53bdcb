"""Building XNachweis 1.2.0 messages from the model: one ``SubElement`` call per element.

Private module of :mod:`noots.messages`. No template is parsed per message; the element names
are precomputed in :mod:`noots._messages_tags`. The model has checked its invariants already,
so nothing here validates.
"""

from __future__ import annotations

import base64
from datetime import date, datetime
from typing import Any
from uuid import UUID

from lxml import etree

from noots import _messages_tags as t
from noots._messages_model import (
    AUTHORITY_ID_PREFIX,
    CLASSIFICATION_ERROR_PROVIDER,
    CLASSIFICATION_PROVIDER,
    CLASSIFICATION_REQUESTER,
    DEFAULT_LANGUAGE,
    DIRECTORY_SERVICE,
    DIRECTORY_SERVICE_LIST_VERSION,
    EIDAS_SCHEME,
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
    MESSAGE_TYPE_ERROR_RESPONSE,
    MESSAGE_TYPE_REQUEST,
    MESSAGE_TYPE_RESPONSE,
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
    Evidence,
    EvidenceErrorResponse,
    EvidenceRequest,
    EvidenceResponse,
    EvidenceType,
    LegalPerson,
    Message,
    NaturalPerson,
    Product,
)

__all__ = ["build", "format_date", "format_instant"]

_sub = etree.SubElement


def format_instant(value: datetime) -> str:
    """``xs:dateTime`` in UTC with ``Z``; milliseconds only when there are any.

    Written by hand: ``strftime("%Y")`` drops the leading zeros of years before 1000.
    """
    text = (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )
    if value.microsecond:
        text += f".{value.microsecond // 1000:03d}"
    return text + "Z"


def format_date(value: date) -> str:
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def build(message: Message) -> etree._Element:
    """The XML element of ``message`` (a fresh tree, its own root)."""
    if isinstance(message, EvidenceRequest):
        return _request(message)
    if isinstance(message, EvidenceResponse):
        return _response(message)
    if isinstance(message, EvidenceErrorResponse):
        return _error_response(message)
    raise TypeError(f"not an XNachweis message: {type(message).__name__}")


# --- small parts ------------------------------------------------------------------------------


def _leaf(parent: etree._Element, tag: str, text: str) -> None:
    _sub(parent, tag).text = text


def _code(parent: etree._Element, tag: str, codes: CodeList, value: str) -> None:
    element = _sub(parent, tag, listURI=codes.uri, listVersionID=codes.version)
    _sub(element, t.CODE).text = value


def _multilingual(parent: etree._Element, tag: str, value: str) -> None:
    element = _sub(parent, tag)
    _sub(element, t.VALUE).text = value
    _code(element, t.LANG_BDT, LIST_LANGUAGES, DEFAULT_LANGUAGE)


def _urn(value: UUID) -> str:
    return f"urn:uuid:{value}"


def _root(
    tag: str,
    id_attribute: str,
    id_value: UUID,
    message: Any,
    message_type: str,
) -> etree._Element:
    product: Product = message.product
    root = etree.Element(tag, nsmap=NSMAP)
    root.set(id_attribute, _urn(id_value))
    root.set("produkt", product.name)
    root.set("produkthersteller", product.manufacturer)
    if product.version is not None:
        root.set("produktversion", product.version)
    root.set("standard", STANDARD)
    root.set("version", STANDARD_VERSION)
    if message.test:
        root.set("test", "true")
    head = _sub(root, t.NACHRICHTENKOPF)
    identification = _sub(head, t.IDENTIFIKATION_NACHRICHT)
    _leaf(identification, t.NACHRICHTEN_UUID, str(message.message_uuid))
    _code(identification, t.NACHRICHTENTYP, LIST_MESSAGE_TYPES, message_type)
    _leaf(identification, t.ERSTELLUNGSZEITPUNKT, format_instant(message.created))
    _authority(head, t.LESER, message.reader)
    _authority(head, t.AUTOR, message.author)
    return root


def _authority(parent: etree._Element, tag: str, authority: Authority) -> None:
    element = _sub(parent, tag)
    directory = _sub(element, t.VERZEICHNISDIENST, listVersionID=DIRECTORY_SERVICE_LIST_VERSION)
    _sub(directory, t.CODE).text = DIRECTORY_SERVICE
    _leaf(element, t.KENNUNG, AUTHORITY_ID_PREFIX + authority.participant_id)
    _leaf(element, t.NAME_BEH, authority.name)


def _agent(parent: etree._Element, tag: str, agent: Agent, classification: str) -> None:
    element = _sub(parent, tag)
    _sub(element, t.IDENTIFIER, schemeID=agent.scheme_id).text = agent.identifier
    _multilingual(element, t.NAME, agent.name)
    if agent.address is not None:
        _address(element, t.ADDRESS, agent.address)
    _code(element, t.CLASSIFICATION, LIST_AGENT_CLASSIFICATIONS, classification)


def _address(parent: etree._Element, tag: str, address: Address) -> None:
    element = _sub(parent, tag)
    if address.full_address is not None:
        _leaf(element, t.FULL_ADDRESS, address.full_address)
    if address.thoroughfare is not None:
        _leaf(element, t.THOROUGHFARE, address.thoroughfare)
    if address.locator_designator is not None:
        _leaf(element, t.LOCATOR_DESIGNATOR, address.locator_designator)
    if address.country_code is not None:
        _code(element, t.ADMIN_UNIT_LEVEL_1, LIST_COUNTRY_CODES, address.country_code)
    if address.nuts_code is not None:
        _code(element, t.ADMIN_UNIT_LEVEL_2, LIST_NUTS, address.nuts_code)
    if address.post_code is not None:
        _leaf(element, t.POST_CODE, address.post_code)
    if address.post_city_name is not None:
        _leaf(element, t.POST_CITY_NAME, address.post_city_name)


def _subject(parent: etree._Element, subject: NaturalPerson | LegalPerson) -> None:
    wrapper = _sub(parent, t.LEGAL_OR_NATURAL_PERSON)
    if isinstance(subject, NaturalPerson):
        _natural_person(wrapper, subject)
    else:
        _legal_person(wrapper, subject)


def _natural_person(parent: etree._Element, person: NaturalPerson) -> None:
    element = _sub(parent, t.NATURAL_PERSON)
    _leaf(element, t.DATE_OF_BIRTH, format_date(person.date_of_birth))
    _leaf(element, t.FAMILY_NAME, person.family_name)
    _leaf(element, t.GIVEN_NAME, person.given_name)
    _code(element, t.LEVEL_OF_ASSURANCE, LIST_LEVELS_OF_ASSURANCE, person.level_of_assurance)
    if person.birth_name is not None:
        _leaf(element, t.BIRTH_NAME, person.birth_name)
    if person.place_of_birth is not None:
        _leaf(element, t.PLACE_OF_BIRTH, person.place_of_birth)
    if person.current_address is not None:
        _address(element, t.CURRENT_ADDRESS, person.current_address)
    if person.gender is not None:
        _leaf(element, t.GENDER, person.gender)
    if person.idnr is not None:
        _leaf(element, t.IDNR, person.idnr)


def _legal_person(parent: etree._Element, person: LegalPerson) -> None:
    element = _sub(parent, t.LEGAL_PERSON)
    if person.legal_person_identifier is not None:
        identifier = _sub(element, t.LEGAL_PERSON_IDENTIFIER, schemeID=EIDAS_SCHEME)
        identifier.text = person.legal_person_identifier
    _leaf(element, t.LEGAL_NAME, person.legal_name)
    _code(element, t.LEVEL_OF_ASSURANCE, LIST_LEVELS_OF_ASSURANCE, person.level_of_assurance)
    for item in person.identifiers:
        identifier = _sub(element, t.IDENTIFIER)
        _leaf(identifier, t.VALUE, item.value)
        _code(identifier, t.SCHEME_ID, LIST_IDENTIFIER_SCHEMES, item.scheme)
    if person.registered_address is not None:
        _address(element, t.REGISTERED_ADDRESS, person.registered_address)


def _evidence_type(parent: etree._Element, evidence_type: EvidenceType) -> None:
    element = _sub(parent, t.REQUESTED_EVIDENCE_TYPE)
    _leaf(element, t.EVIDENCE_TYPE_CLASSIFICATION, evidence_type.classification)
    _multilingual(element, t.TITLE, evidence_type.title)
    _leaf(element, t.IDENTIFIER, str(evidence_type.identifier))
    distributed_as = _sub(element, t.DISTRIBUTED_AS)
    _code(distributed_as, t.FORMAT, LIST_MEDIA_TYPES, evidence_type.format)


def _evidence(parent: etree._Element, evidence: Evidence) -> None:
    element = _sub(parent, t.REGISTRY_OBJECT_LIST)
    _leaf(element, t.ID, _urn(evidence.registry_object_id))
    metadata = _sub(element, t.EVIDENCE_METADATA)
    _leaf(metadata, t.ISSUING_DATE, format_date(evidence.issuing_date))
    if evidence.validity_period is not None:
        period = _sub(metadata, t.VALIDITY_PERIOD)
        _leaf(period, t.START_DATE, format_date(evidence.validity_period[0]))
        _leaf(period, t.END_DATE, format_date(evidence.validity_period[1]))
    authority = _sub(metadata, t.ISSUING_AUTHORITY)
    issuer = evidence.issuing_authority
    _sub(authority, t.IDENTIFIER, schemeID=issuer.scheme_id).text = issuer.identifier
    _multilingual(authority, t.NAME, issuer.name)
    distribution = _sub(metadata, t.DISTRIBUTION)
    _code(distribution, t.FORMAT, LIST_MEDIA_TYPES, evidence.media_type)
    if evidence.language is not None:
        _code(distribution, t.LANGUAGE, LIST_LANGUAGES, evidence.language)
    conformant = _sub(metadata, t.IS_CONFORMANT_TO)
    _leaf(conformant, t.EVIDENCE_TYPE_CLASSIFICATION, evidence.conformance.classification)
    _multilingual(conformant, t.TITLE, evidence.conformance.title)
    item = _sub(element, t.REPOSITORY_ITEM)
    _leaf(item, t.REPOSITORY_ITEM, base64.b64encode(evidence.document).decode("ascii"))
    _subject(element, evidence.subject)


# --- messages ---------------------------------------------------------------------------------


def _request(message: EvidenceRequest) -> etree._Element:
    root = _root(t.REQUEST, "id", message.request_id, message, MESSAGE_TYPE_REQUEST)
    _code(root, t.LANG, LIST_LANGUAGES, message.language)
    _leaf(root, t.SPECIFICATION_IDENTIFIER, SPECIFICATION_IDENTIFIER)
    _leaf(root, t.ISSUE_DATE_TIME, format_instant(message.issue_datetime))
    _agent(root, t.EVIDENCE_REQUESTER, message.requester, CLASSIFICATION_REQUESTER)
    _agent(root, t.EVIDENCE_PROVIDER, message.provider, CLASSIFICATION_PROVIDER)
    _leaf(root, t.ISSUED_TOKEN, message.issued_token)
    query = _sub(root, t.QUERY)
    _leaf(query, t.QUERY_DEFINITION, QUERY_DEFINITION)
    _evidence_type(query, message.evidence_type)
    _subject(query, message.subject)
    return root


def _response(message: EvidenceResponse) -> etree._Element:
    root = _root(t.RESPONSE, "requestid", message.request_id, message, MESSAGE_TYPE_RESPONSE)
    status = STATUS_UNAVAILABLE if message.available_at is not None else STATUS_SUCCESS
    _code(root, t.STATUS, LIST_RESPONSE_STATUS, status)
    _leaf(root, t.SPECIFICATION_IDENTIFIER, SPECIFICATION_IDENTIFIER)
    _leaf(root, t.EVIDENCE_RESPONSE_IDENTIFIER, str(message.response_id))
    _leaf(root, t.ISSUE_DATE_TIME, format_instant(message.issue_datetime))
    # In the response the provider comes first (the request has it the other way round).
    _agent(root, t.EVIDENCE_PROVIDER, message.provider, CLASSIFICATION_PROVIDER)
    _agent(root, t.EVIDENCE_REQUESTER, message.requester, CLASSIFICATION_REQUESTER)
    availability = _sub(root, t.EVIDENCE_AVAILABILITY)
    if message.available_at is not None:
        _leaf(availability, t.RESPONSE_AVAILABLE_DATE_TIME, format_instant(message.available_at))
    for evidence in message.evidences:
        _evidence(availability, evidence)
    return root


def _error_response(message: EvidenceErrorResponse) -> etree._Element:
    root = _root(
        t.ERROR_RESPONSE, "requestid", message.request_id, message, MESSAGE_TYPE_ERROR_RESPONSE
    )
    _code(root, t.STATUS, LIST_RESPONSE_STATUS, STATUS_FAILURE)
    _leaf(root, t.SPECIFICATION_IDENTIFIER, SPECIFICATION_IDENTIFIER)
    _leaf(root, t.EVIDENCE_RESPONSE_IDENTIFIER, str(message.response_id))
    _leaf(root, t.ISSUE_DATE_TIME, format_instant(message.issue_datetime))
    _agent(root, t.ERROR_PROVIDER, message.error_provider, CLASSIFICATION_ERROR_PROVIDER)
    _agent(root, t.EVIDENCE_REQUESTER, message.requester, CLASSIFICATION_REQUESTER)
    for error in message.errors:
        exception = _sub(root, t.EXCEPTION)
        _code(exception, t.ERROR_CODE, LIST_ERROR_CODES, error.code.value)
        if error.detail is not None:
            _leaf(exception, t.DETAIL, error.detail)
        if error.timestamp is not None:
            _leaf(exception, t.TIMESTAMP, format_instant(error.timestamp))
        _leaf(exception, t.SEVERITY, SEVERITY_ERROR)
    return root
