"""The RegRep REST queries of the EU common services: Evidence Broker and Data Service Directory.

Both answer ``GET …/rest/search?queryId=…&…`` with a ``query:QueryResponse`` whose
``SpecificationIdentifier`` is ``oots-cs:v2.0``:

- Evidence Broker, ``urn:fdc:oots:eb:ebxml-regrep:queries:evidence-types-by-requirement-and-
  jurisdiction`` with ``requirement-id`` and ``country-code`` (optional
  ``jurisdiction-admin-l2``/``-l3``): one registry object per requirement, its slot
  ``Requirement`` holding an ``sdg:Requirement`` with ``sdg:EvidenceTypeList`` entries (each
  with its ``sdg:EvidenceType`` and ``sdg:Jurisdiction``).
- Data Service Directory, ``urn:fdc:oots:dsd:ebxml-regrep:queries:dataservices-by-evidencetype-
  and-jurisdiction`` with ``evidence-type-classification`` and ``country-code`` (optional
  ``jurisdiction-admin-l2``/``-l3``, ``jurisdiction-context-id``,
  ``EvidenceProviderClassification``, ``specification``): one registry object per data
  service, its slot ``DataServiceEvidenceType`` holding the evidence type, the access service
  (the provider's eDelivery access point) and its publisher (the evidence provider).

Nothing found is a ``Failure`` with an ``rs:ObjectNotFoundExceptionType`` (``EB:ERR:0001`` /
``DSD:ERR:0001``). Protocol code only: the services are in :mod:`noots.intermediary.eu`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from uuid import uuid4

from lxml import etree

from noots._messages_parse import _Children
from noots.errors import InvalidInput, MalformedMessage, NotFound
from noots.eu._edm_model import (
    LEVELS_OF_ASSURANCE,
    NS_RS,
    NSMAP,
    STATUS_FAILURE,
    STATUS_SUCCESS,
    EdmAgent,
    EdmEvidenceType,
    EdmRequirement,
    _country,
    _https,
    _line,
)
from noots.eu._edm_xml import (
    EXCEPTION,
    QUERY_RESPONSE,
    REGISTRY_OBJECT,
    REGISTRY_OBJECT_LIST,
    SLOT,
    STRING,
    _agent_of,
    _any_slot,
    _collapsed,
    _evidence_type_of,
    _leaf,
    _sdg,
    _Slots,
    _type,
    _value_slot,
    _xsi_type,
)

__all__ = [
    "CS_SPECIFICATION",
    "DSD_NOT_FOUND",
    "EB_NOT_FOUND",
    "QUERY_DATA_SERVICES",
    "QUERY_EVIDENCE_TYPES",
    "DataService",
    "EvidenceTypeOffer",
    "as_agent",
    "build_data_services",
    "build_evidence_types",
    "build_not_found",
    "data_services_query",
    "evidence_types_query",
    "parse_data_services",
    "parse_evidence_types",
]

QUERY_EVIDENCE_TYPES = (
    "urn:fdc:oots:eb:ebxml-regrep:queries:evidence-types-by-requirement-and-jurisdiction"
)
QUERY_DATA_SERVICES = (
    "urn:fdc:oots:dsd:ebxml-regrep:queries:dataservices-by-evidencetype-and-jurisdiction"
)
CS_SPECIFICATION = "oots-cs:v2.0"
EB_NOT_FOUND = "EB:ERR:0001"
DSD_NOT_FOUND = "DSD:ERR:0001"
EDM_SPECIFICATION = "oots-edm:v2.0"


@dataclass(frozen=True, slots=True)
class EvidenceTypeOffer:
    """An evidence type the Evidence Broker lists for a requirement in one jurisdiction."""

    classification: str
    title: str
    country: str
    list_identifier: str = ""

    def __post_init__(self) -> None:
        _https(self.classification, "evidence type classification")
        _line(self.title, "evidence type title")
        _country(self.country, "jurisdiction")


@dataclass(frozen=True, slots=True)
class DataService:
    """A data service of the Data Service Directory: the evidence type as the requester asks
    for it, the access point that serves it and the evidence provider (publisher)."""

    evidence_type: EdmEvidenceType
    access_point: str
    access_point_scheme: str
    publisher: EdmAgent
    level_of_assurance: str = "High"

    def __post_init__(self) -> None:
        if not isinstance(self.evidence_type, EdmEvidenceType):
            raise TypeError("evidence type must be an EdmEvidenceType")
        _line(self.access_point, "access point")
        _line(self.access_point_scheme, "access point scheme")
        if not isinstance(self.publisher, EdmAgent) or self.publisher.country is None:
            raise ValueError("the publisher needs its country (jurisdiction)")
        if self.level_of_assurance not in LEVELS_OF_ASSURANCE:
            raise ValueError("unknown level of assurance")


# --- query parameters -------------------------------------------------------------------------


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise InvalidInput(f"query parameter {name!r} is required")
    return value


def evidence_types_query(params: Mapping[str, str]) -> tuple[str, str]:
    """``(requirement id, country code)`` of an Evidence Broker query, checked."""
    if params.get("queryId") != QUERY_EVIDENCE_TYPES:
        raise InvalidInput("unknown queryId for the Evidence Broker")
    requirement = _required(params, "requirement-id")
    country = _required(params, "country-code")
    try:
        _https(requirement, "requirement-id")
        _country(country, "country-code")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return requirement, country


def data_services_query(params: Mapping[str, str]) -> tuple[str, str]:
    """``(evidence type classification, country code)`` of a Data Service Directory query."""
    if params.get("queryId") != QUERY_DATA_SERVICES:
        raise InvalidInput("unknown queryId for the Data Service Directory")
    classification = _required(params, "evidence-type-classification")
    country = _required(params, "country-code")
    try:
        _https(classification, "evidence-type-classification")
        _country(country, "country-code")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return classification, country


# --- responses --------------------------------------------------------------------------------


def _root(status: str) -> etree._Element:
    root = etree.Element(QUERY_RESPONSE, nsmap=NSMAP)
    root.set("status", status)
    _value_slot(root, "SpecificationIdentifier", STRING, CS_SPECIFICATION)
    return root


def build_evidence_types(
    requirement: EdmRequirement, offers: tuple[EvidenceTypeOffer, ...]
) -> etree._Element:
    """The Evidence Broker's answer: the requirement with its evidence type lists."""
    if not offers:
        return build_not_found(EB_NOT_FOUND, "No evidence types for this requirement")
    root = _root(STATUS_SUCCESS)
    objects = etree.SubElement(root, REGISTRY_OBJECT_LIST)
    item = etree.SubElement(objects, REGISTRY_OBJECT, id=f"urn:uuid:{uuid4()}")
    element = etree.SubElement(_any_slot(item, "Requirement"), _sdg("Requirement"))
    _leaf(element, "Identifier", requirement.identifier)
    _leaf(element, "Name", requirement.name, lang=requirement.name_lang)
    for offer in offers:
        listing = etree.SubElement(element, _sdg("EvidenceTypeList"))
        _leaf(listing, "Identifier", offer.list_identifier or str(uuid4()))
        _leaf(listing, "Name", offer.title, lang="EN")
        evidence_type = etree.SubElement(listing, _sdg("EvidenceType"))
        _leaf(evidence_type, "EvidenceTypeClassification", offer.classification)
        _leaf(evidence_type, "Title", offer.title, lang="EN")
        jurisdiction = etree.SubElement(listing, _sdg("Jurisdiction"))
        _leaf(jurisdiction, "AdminUnitLevel1", offer.country)
    return root


def build_data_services(services: tuple[DataService, ...]) -> etree._Element:
    """The Data Service Directory's answer: one registry object per data service."""
    if not services:
        return build_not_found(
            DSD_NOT_FOUND, "No Data Services were found based on the given parameters"
        )
    root = _root(STATUS_SUCCESS)
    objects = etree.SubElement(root, REGISTRY_OBJECT_LIST)
    for service in services:
        item = etree.SubElement(objects, REGISTRY_OBJECT, id=f"urn:uuid:{uuid4()}")
        element = etree.SubElement(
            _any_slot(item, "DataServiceEvidenceType"), _sdg("DataServiceEvidenceType")
        )
        evidence_type = service.evidence_type
        _leaf(element, "Identifier", evidence_type.identifier)
        _leaf(element, "EvidenceTypeClassification", evidence_type.classification)
        _leaf(element, "Title", evidence_type.title, lang=evidence_type.title_lang)
        distributed = etree.SubElement(element, _sdg("DistributedAs"))
        _leaf(distributed, "Format", evidence_type.format)
        if evidence_type.language is not None:
            _leaf(distributed, "Language", evidence_type.language)
        access = etree.SubElement(element, _sdg("AccessService"))
        _leaf(access, "Identifier", service.access_point, schemeID=service.access_point_scheme)
        _leaf(access, "Name", service.access_point, lang="EN")
        _leaf(access, "ConformsTo", EDM_SPECIFICATION)
        publisher = etree.SubElement(access, _sdg("Publisher"))
        _leaf(
            publisher,
            "Identifier",
            service.publisher.identifier,
            schemeID=service.publisher.scheme_id,
        )
        _leaf(publisher, "Name", service.publisher.name, lang=service.publisher.name_lang)
        assert service.publisher.country is not None  # checked by DataService
        address = etree.SubElement(publisher, _sdg("Address"))
        _leaf(address, "AdminUnitLevel1", service.publisher.country)
        jurisdiction = etree.SubElement(publisher, _sdg("Jurisdiction"))
        _leaf(jurisdiction, "AdminUnitLevel1", service.publisher.country)
        _leaf(element, "AuthenticationLevelOfAssurance", service.level_of_assurance)
    return root


def build_not_found(code: str, message: str) -> etree._Element:
    """A ``Failure`` with an ``rs:ObjectNotFoundExceptionType`` carrying ``code``."""
    root = _root(STATUS_FAILURE)
    exception = etree.SubElement(root, EXCEPTION)
    _type(exception, NS_RS, "ObjectNotFoundExceptionType")
    exception.set("severity", "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error")
    exception.set("message", message)
    exception.set("code", code)
    return root


def _objects(root: etree._Element, what: str) -> list[etree._Element]:
    if root.tag != QUERY_RESPONSE:
        raise MalformedMessage(f"{what}: not a query:QueryResponse")
    children = _Children(root, what)
    slots = _Slots(children.all(SLOT), what, frozenset({"SpecificationIdentifier"}))
    exceptions = children.all(EXCEPTION)
    listing = children.optional(REGISTRY_OBJECT_LIST)
    children.done()
    specification = slots.text("SpecificationIdentifier", STRING).strip()
    if specification != CS_SPECIFICATION:
        raise MalformedMessage(f"{what}: SpecificationIdentifier must be {CS_SPECIFICATION!r}")
    if root.get("status") == STATUS_FAILURE:
        for exception in exceptions:
            if _xsi_type(exception, what + "/Exception")[1] == "ObjectNotFoundExceptionType":
                raise NotFound(f"{what}: {exception.get('code', '')} nothing found")
        raise MalformedMessage(f"{what}: failure {exceptions[0].get('code') if exceptions else ''}")
    if root.get("status") != STATUS_SUCCESS or listing is None:
        raise MalformedMessage(f"{what}: neither a result nor an exception")
    return _Children(listing, what + "/RegistryObjectList").all(REGISTRY_OBJECT)


def _slot_element(item: etree._Element, path: str, name: str, local: str) -> etree._Element:
    children = _Children(item, path)
    slots = _Slots(children.all(SLOT), path, frozenset({name}))
    children.done()
    return slots.any(name, local)


def parse_evidence_types(root: etree._Element) -> list[EvidenceTypeOffer]:
    """The evidence types of an Evidence Broker answer (``NotFound`` for an empty one)."""
    offers = []
    for item in _objects(root, "Evidence Broker"):
        requirement = _slot_element(item, "Evidence Broker", "Requirement", "Requirement")
        for listing in requirement.iterchildren(_sdg("EvidenceTypeList")):
            countries = [
                _collapsed(level, "Jurisdiction")
                for jurisdiction in listing.iterchildren(_sdg("Jurisdiction"))
                for level in jurisdiction.iterchildren(_sdg("AdminUnitLevel1"))
            ]
            identifier = listing.find(_sdg("Identifier"))
            for evidence_type in listing.iterchildren(_sdg("EvidenceType")):
                classification = evidence_type.find(_sdg("EvidenceTypeClassification"))
                title = evidence_type.find(_sdg("Title"))
                if classification is None or title is None or not countries:
                    raise MalformedMessage("Evidence Broker: incomplete evidence type")
                try:
                    offers.append(
                        EvidenceTypeOffer(
                            _collapsed(classification, "EvidenceTypeClassification"),
                            _collapsed(title, "Title"),
                            countries[0],
                            "" if identifier is None else _collapsed(identifier, "Identifier"),
                        )
                    )
                except ValueError as exc:
                    raise MalformedMessage(f"Evidence Broker: {exc}") from None
    if not offers:
        raise NotFound("Evidence Broker: no evidence types")
    return offers


def parse_data_services(root: etree._Element) -> list[DataService]:
    """The data services of a Data Service Directory answer (``NotFound`` for none)."""
    services = []
    for item in _objects(root, "Data Service Directory"):
        path = "Data Service Directory/DataServiceEvidenceType"
        element = _slot_element(item, path, "DataServiceEvidenceType", "DataServiceEvidenceType")
        access = element.find(_sdg("AccessService"))
        if access is None:
            raise MalformedMessage(f"{path}: no AccessService")
        access_id = access.find(_sdg("Identifier"))
        publisher = access.find(_sdg("Publisher"))
        if access_id is None or publisher is None:
            raise MalformedMessage(f"{path}: incomplete AccessService")
        publisher_parts = [child for child in publisher if child.tag != _sdg("Description")]
        stripped = etree.Element(_sdg("Agent"), nsmap=NSMAP)
        for child in publisher_parts:
            stripped.append(_copy(child))
        level = element.find(_sdg("AuthenticationLevelOfAssurance"))
        evidence_type = _evidence_type_of(_without_access(element), path)
        try:
            services.append(
                DataService(
                    evidence_type,
                    _collapsed(access_id, path + "/AccessService/Identifier"),
                    (access_id.get("schemeID") or "").strip(),
                    _agent_of(stripped, path + "/Publisher"),
                    "High" if level is None else _collapsed(level, path),
                )
            )
        except ValueError as exc:
            raise MalformedMessage(f"{path}: {exc}") from None
    if not services:
        raise NotFound("Data Service Directory: no data services")
    return services


def _copy(element: etree._Element) -> etree._Element:
    return copy.deepcopy(element)


def _without_access(element: etree._Element) -> etree._Element:
    trimmed = _copy(element)
    for child in list(trimmed):
        if child.tag in (_sdg("AccessService"), _sdg("AuthenticationLevelOfAssurance")):
            trimmed.remove(child)
    return trimmed


def as_agent(service: DataService) -> EdmAgent:
    """The evidence provider of ``service`` as the request's ``EvidenceProvider``."""
    return service.publisher.classified(None)
