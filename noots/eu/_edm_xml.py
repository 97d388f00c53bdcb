"""EDM 2.0 messages as RegRep 4 XML: building and strict parsing (private to noots.eu.edm).

RegRep carries the EDM in named slots (``rim:Slot name=…`` with a typed ``rim:SlotValue``);
their order is free, their names, value types and cardinalities are the EDM rules checked here
(the structure rules ``R-EDM-REQ-S…``/``R-EDM-RESP-S…``/``R-EDM-ERR-S…`` of the TDD as far as
noots implements them, see docs/EU.md). ``xsi:type`` values are QNames and are resolved
against the namespaces in scope, so any prefix a partner chooses is read correctly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from lxml import etree

from noots._messages_build import format_date, format_instant
from noots._messages_parse import _Children, _date, _date_time, _make
from noots.errors import MalformedMessage, UnsupportedCapability
from noots.eu._edm_model import (
    CLASSIFICATION_SCHEME_EDM,
    COLLECTION_SET,
    EXCEPTION_TYPES,
    MAIN_EVIDENCE,
    NS_QUERY,
    NS_RIM,
    NS_RS,
    NS_SDG,
    NS_XLINK,
    NS_XML,
    NS_XSI,
    NSMAP,
    QUERY_DEFINITION,
    RETURN_TYPE,
    SEVERITY_ERROR,
    SEVERITY_PREVIEW_REQUIRED,
    SPECIFICATION_IDENTIFIER,
    STATUS_FAILURE,
    STATUS_SUCCESS,
    STATUS_UNAVAILABLE,
    EdmAgent,
    EdmError,
    EdmEvidence,
    EdmEvidenceType,
    EdmLegalPerson,
    EdmMessage,
    EdmNaturalPerson,
    EdmRequirement,
    EdmSubject,
    QueryErrorResponse,
    QueryRequest,
    QueryResponse,
)

__all__ = ["Attachment", "attachments_of", "build", "parse"]

_sub = etree.SubElement


def _q(namespace: str, local: str) -> str:
    return f"{{{namespace}}}{local}"


def _rim(local: str) -> str:
    return _q(NS_RIM, local)


def _sdg(local: str) -> str:
    return _q(NS_SDG, local)


QUERY_REQUEST = _q(NS_QUERY, "QueryRequest")
QUERY_RESPONSE = _q(NS_QUERY, "QueryResponse")
RESPONSE_OPTION = _q(NS_QUERY, "ResponseOption")
QUERY = _q(NS_QUERY, "Query")
EXCEPTION = _q(NS_RS, "Exception")
SLOT, SLOT_VALUE, VALUE, ELEMENT = _rim("Slot"), _rim("SlotValue"), _rim("Value"), _rim("Element")
LOCALIZED_STRING = _rim("LocalizedString")
REGISTRY_OBJECT_LIST, REGISTRY_OBJECT = _rim("RegistryObjectList"), _rim("RegistryObject")
CLASSIFICATION, REPOSITORY_ITEM_REF = _rim("Classification"), _rim("RepositoryItemRef")
XSI_TYPE = _q(NS_XSI, "type")
XML_LANG = _q(NS_XML, "lang")
HREF, TITLE = _q(NS_XLINK, "href"), _q(NS_XLINK, "title")

STRING, DATE_TIME, BOOLEAN = "StringValueType", "DateTimeValueType", "BooleanValueType"
ANY, COLLECTION, INTERNATIONAL = (
    "AnyValueType",
    "CollectionValueType",
    "InternationalStringValueType",
)


@dataclass(frozen=True, slots=True)
class Attachment:
    """A payload part that travels beside the RegRep document (the evidence itself)."""

    content_id: str
    mime_type: str
    data: bytes


def _fail(path: str, problem: str) -> MalformedMessage:
    return MalformedMessage(f"{path}: {problem}")


def _urn(value: UUID) -> str:
    return f"urn:uuid:{value}"


# --- building ---------------------------------------------------------------------------------


def _type(element: etree._Element, namespace: str, local: str) -> None:
    prefix = {value: key for key, value in NSMAP.items()}[namespace]
    element.set(XSI_TYPE, f"{prefix}:{local}")


def _slot(parent: etree._Element, name: str, value_type: str) -> etree._Element:
    slot = _sub(parent, SLOT, name=name)
    value = _sub(slot, SLOT_VALUE)
    _type(value, NS_RIM, value_type)
    return value


def _value_slot(parent: etree._Element, name: str, value_type: str, text: str) -> None:
    _sub(_slot(parent, name, value_type), VALUE).text = text


def _any_slot(parent: etree._Element, name: str) -> etree._Element:
    return _slot(parent, name, ANY)


def _set_slot(parent: etree._Element, name: str, count: int) -> list[etree._Element]:
    value = _slot(parent, name, COLLECTION)
    value.set("collectionType", COLLECTION_SET)
    elements = []
    for _ in range(count):
        element = _sub(value, ELEMENT)
        _type(element, NS_RIM, ANY)
        elements.append(element)
    return elements


def _leaf(parent: etree._Element, local: str, text: str, **attributes: str) -> None:
    _sub(parent, _sdg(local), dict(attributes)).text = text


def _agent(parent: etree._Element, agent: EdmAgent, local: str = "Agent") -> None:
    element = _sub(parent, _sdg(local))
    _leaf(element, "Identifier", agent.identifier, schemeID=agent.scheme_id)
    _leaf(element, "Name", agent.name, lang=agent.name_lang)
    if agent.country is not None:
        address = _sub(element, _sdg("Address"))
        _leaf(address, "AdminUnitLevel1", agent.country)
    if agent.classification is not None:
        _leaf(element, "Classification", agent.classification)


def _person(parent: etree._Element, subject: EdmSubject, local: str) -> None:
    element = _sub(parent, _sdg(local))
    _leaf(element, "LevelOfAssurance", subject.level_of_assurance)
    if isinstance(subject, EdmNaturalPerson):
        if subject.identifier is not None:
            _leaf(element, "Identifier", subject.identifier, schemeID="eidas")
        _leaf(element, "FamilyName", subject.family_name)
        _leaf(element, "GivenName", subject.given_name)
        _leaf(element, "DateOfBirth", format_date(subject.date_of_birth))
        if subject.birth_name is not None:
            _leaf(element, "BirthName", subject.birth_name)
        if subject.place_of_birth is not None:
            _leaf(element, "PlaceOfBirth", subject.place_of_birth)
        if subject.gender is not None:
            _leaf(element, "Gender", subject.gender)
    else:
        if subject.identifier is not None:
            _leaf(element, "LegalPersonIdentifier", subject.identifier, schemeID="eidas")
        _leaf(element, "LegalName", subject.legal_name)


def _header_slots(parent: etree._Element) -> None:
    _value_slot(parent, "SpecificationIdentifier", STRING, SPECIFICATION_IDENTIFIER)


def _build_request(message: QueryRequest) -> etree._Element:
    root = etree.Element(QUERY_REQUEST, nsmap=NSMAP)
    root.set("id", _urn(message.request_id))
    _header_slots(root)
    _value_slot(root, "IssueDateTime", DATE_TIME, format_instant(message.issue_datetime))
    _value_slot(root, "Procedure", STRING, message.procedure)
    if message.preview_location is not None:
        _value_slot(root, "PreviewLocation", STRING, message.preview_location)
    _value_slot(
        root, "PossibilityForPreview", BOOLEAN, str(message.possibility_for_preview).lower()
    )
    _value_slot(root, "ExplicitRequestGiven", BOOLEAN, str(message.explicit_request_given).lower())
    if message.requirements:
        for element, requirement in zip(
            _set_slot(root, "Requirements", len(message.requirements)),
            message.requirements,
            strict=True,
        ):
            item = _sub(element, _sdg("Requirement"))
            _leaf(item, "Identifier", requirement.identifier)
            _leaf(item, "Name", requirement.name, lang=requirement.name_lang)
    requesters = [message.requester] + ([message.platform] if message.platform else [])
    for element, agent in zip(
        _set_slot(root, "EvidenceRequester", len(requesters)), requesters, strict=True
    ):
        _agent(element, agent)
    _agent(_any_slot(root, "EvidenceProvider"), message.provider)
    _sub(root, RESPONSE_OPTION, returnType=RETURN_TYPE)
    query = _sub(root, QUERY, queryDefinition=QUERY_DEFINITION)
    evidence_type = message.evidence_type
    element = _sub(_any_slot(query, "EvidenceRequest"), _sdg("DataServiceEvidenceType"))
    _leaf(element, "Identifier", evidence_type.identifier)
    _leaf(element, "EvidenceTypeClassification", evidence_type.classification)
    _leaf(element, "Title", evidence_type.title, lang=evidence_type.title_lang)
    if evidence_type.description is not None:
        _leaf(element, "Description", evidence_type.description, lang=evidence_type.title_lang)
    distributed = _sub(element, _sdg("DistributedAs"))
    _leaf(distributed, "Format", evidence_type.format)
    if evidence_type.language is not None:
        _leaf(distributed, "Language", evidence_type.language)
    if isinstance(message.subject, EdmNaturalPerson):
        _person(_any_slot(query, "NaturalPerson"), message.subject, "Person")
    else:
        _person(_any_slot(query, "LegalPerson"), message.subject, "LegalPerson")
    return root


def _response_root(status: str, request_id: UUID, response_id: UUID) -> etree._Element:
    root = etree.Element(QUERY_RESPONSE, nsmap=NSMAP)
    root.set("status", status)
    root.set("requestId", _urn(request_id))
    _header_slots(root)
    _value_slot(root, "EvidenceResponseIdentifier", STRING, str(response_id))
    return root


def _build_response(message: QueryResponse) -> etree._Element:
    root = _response_root(message.status, message.request_id, message.response_id)
    _value_slot(root, "IssueDateTime", DATE_TIME, format_instant(message.issue_datetime))
    if message.available_at is not None:
        _value_slot(
            root, "ResponseAvailableDateTime", DATE_TIME, format_instant(message.available_at)
        )
    (provider_element,) = _set_slot(root, "EvidenceProvider", 1)
    _agent(provider_element, message.provider)
    _agent(_any_slot(root, "EvidenceRequester"), message.requester)
    objects = _sub(root, REGISTRY_OBJECT_LIST)
    for evidence in message.evidences:
        package = _sub(objects, REGISTRY_OBJECT, id=_urn(evidence.package_id))
        _type(package, NS_RIM, "RegistryPackageType")
        inner = _sub(_sub(package, REGISTRY_OBJECT_LIST), REGISTRY_OBJECT)
        _type(inner, NS_RIM, "ExtrinsicObjectType")
        inner.set("id", _urn(evidence.object_id))
        metadata = _sub(_any_slot(inner, "EvidenceMetadata"), _sdg("Evidence"))
        _leaf(metadata, "Identifier", str(evidence.identifier))
        about = _sub(metadata, _sdg("IsAbout"))
        local = "NaturalPerson" if isinstance(evidence.subject, EdmNaturalPerson) else "LegalPerson"
        _person(about, evidence.subject, local)
        _agent(metadata, evidence.issuing_authority, "IssuingAuthority")
        conformant = _sub(metadata, _sdg("IsConformantTo"))
        _leaf(conformant, "EvidenceTypeClassification", evidence.classification)
        _leaf(conformant, "Title", evidence.title, lang=evidence.title_lang)
        _leaf(metadata, "IssuingDate", format_date(evidence.issuing_date))
        distribution = _sub(metadata, _sdg("Distribution"))
        _leaf(distribution, "Format", evidence.format)
        if evidence.language is not None:
            _leaf(distribution, "Language", evidence.language)
        _sub(
            inner,
            CLASSIFICATION,
            # Derived from the object id: nothing reads it, and the build stays a function.
            id=_urn(uuid5(NAMESPACE_URL, _urn(evidence.object_id))),
            classificationScheme=CLASSIFICATION_SCHEME_EDM,
            classificationNode=MAIN_EVIDENCE,
        )
        _sub(inner, REPOSITORY_ITEM_REF, {HREF: f"cid:{evidence.content_id}", TITLE: "Evidence"})
    return root


def _build_error(message: QueryErrorResponse) -> etree._Element:
    root = _response_root(STATUS_FAILURE, message.request_id, message.response_id)
    _agent(_any_slot(root, "ErrorProvider"), message.error_provider)
    _agent(_any_slot(root, "EvidenceRequester"), message.requester)
    error = message.error
    exception = _sub(root, EXCEPTION)
    assert error.exception_type is not None  # set by the model
    _type(exception, *error.exception_type)
    exception.set("severity", error.severity)
    exception.set("message", error.message)
    if error.detail is not None:
        exception.set("detail", error.detail)
    exception.set("code", error.code.value)
    if error.timestamp is not None:
        _value_slot(exception, "Timestamp", DATE_TIME, format_instant(error.timestamp))
    if error.preview_location is not None:
        _value_slot(exception, "PreviewLocation", STRING, error.preview_location)
    if error.preview_description is not None:
        value = _sub(_slot(exception, "PreviewDescription", INTERNATIONAL), VALUE)
        _sub(value, LOCALIZED_STRING, {XML_LANG: "EN", "value": error.preview_description})
    if error.preview_method is not None:
        _value_slot(exception, "PreviewMethod", STRING, error.preview_method)
    return root


def build(message: EdmMessage) -> etree._Element:
    """The RegRep document of ``message`` (evidence documents travel as attachments)."""
    if isinstance(message, QueryRequest):
        return _build_request(message)
    if isinstance(message, QueryResponse):
        return _build_response(message)
    if isinstance(message, QueryErrorResponse):
        return _build_error(message)
    raise TypeError(f"not an EDM message: {type(message).__name__}")


def attachments_of(message: EdmMessage) -> tuple[Attachment, ...]:
    """The payload parts ``message`` needs beside its document (the evidence documents)."""
    if isinstance(message, QueryResponse):
        return tuple(
            Attachment(evidence.content_id, evidence.format, evidence.document)
            for evidence in message.evidences
        )
    return ()


# --- parsing ----------------------------------------------------------------------------------


def _xsi_type(element: etree._Element, path: str) -> tuple[str, str]:
    """``xsi:type`` resolved against the namespaces in scope (any prefix is fine)."""
    value = element.get(XSI_TYPE)
    if value is None:
        raise _fail(path, "missing xsi:type")
    prefix, _, local = value.strip().rpartition(":")
    namespace = element.nsmap.get(prefix or None)
    if namespace is None:
        raise _fail(path, f"xsi:type {value!r} uses an undeclared prefix")
    return namespace, local


def _leaf_text(element: etree._Element, path: str) -> str:
    if len(element):
        for child in element:
            if isinstance(child.tag, str):
                raise _fail(path, "unexpected child element")
    return "".join(str(part) for part in element.itertext())


def _collapsed(element: etree._Element, path: str) -> str:
    return " ".join(_leaf_text(element, path).split())


def _uuid_text(text: str, path: str, *, urn: bool) -> UUID:
    value = text.strip()
    if urn:
        if not value.startswith("urn:uuid:"):
            raise _fail(path, f"not a urn:uuid: identifier: {value!r}")
        value = value[9:]
    try:
        if len(value) != 36:
            raise ValueError
        return UUID(value)
    except ValueError:
        raise _fail(path, f"not a UUID: {value!r}") from None


class _Slots:
    """The ``rim:Slot`` children of an element by name; each name once, only known names."""

    def __init__(
        self,
        children: list[etree._Element],
        path: str,
        allowed: frozenset[str],
        unsupported: frozenset[str] = frozenset(),
    ) -> None:
        self.path = path
        self.values: dict[str, etree._Element] = {}
        for slot in children:
            name = slot.get("name")
            if name is None:
                raise _fail(path, "rim:Slot without a name")
            if name in unsupported:
                raise UnsupportedCapability(f"{path}: slot {name} is not supported by noots")
            if name not in allowed:
                raise _fail(path, f"unexpected slot {name!r}")
            if name in self.values:
                raise _fail(path, f"slot {name!r} occurs twice")
            slot_children = _Children(slot, f"{path}/Slot[{name}]")
            value = slot_children.take(SLOT_VALUE)
            slot_children.done()
            self.values[name] = value

    def has(self, name: str) -> bool:
        return name in self.values

    def value(self, name: str, value_type: str) -> etree._Element:
        """The ``rim:SlotValue`` of a required slot, which must have ``value_type``."""
        found = self.values.get(name)
        if found is None:
            raise _fail(self.path, f"missing slot {name!r}")
        path = f"{self.path}/Slot[{name}]"
        namespace, local = _xsi_type(found, path)
        if (namespace, local) != (NS_RIM, value_type):
            raise _fail(path, f"slot value must be rim:{value_type}, not {local}")
        return found

    def text(self, name: str, value_type: str) -> str:
        value = self.value(name, value_type)
        children = _Children(value, f"{self.path}/Slot[{name}]")
        text = _leaf_text(children.take(VALUE), f"{self.path}/Slot[{name}]/Value")
        children.done()
        return text

    def optional_text(self, name: str, value_type: str) -> str | None:
        return self.text(name, value_type) if self.has(name) else None

    def boolean(self, name: str) -> bool:
        text = self.text(name, BOOLEAN).strip()
        if text not in ("true", "false", "1", "0"):
            raise _fail(f"{self.path}/Slot[{name}]", f"not an xs:boolean: {text!r}")
        return text in ("true", "1")

    def date_time(self, name: str) -> datetime:
        value = self.value(name, DATE_TIME)
        children = _Children(value, f"{self.path}/Slot[{name}]")
        result = _date_time(children.take(VALUE), f"{self.path}/Slot[{name}]/Value")
        children.done()
        return result

    def any(self, name: str, local: str) -> etree._Element:
        """The one ``sdg:<local>`` element of an ``AnyValueType`` slot."""
        value = self.value(name, ANY)
        children = _Children(value, f"{self.path}/Slot[{name}]")
        element = children.take(_sdg(local))
        children.done()
        return element

    def collection(self, name: str, local: str) -> list[etree._Element]:
        """The ``sdg:<local>`` elements of a ``CollectionValueType`` set slot."""
        path = f"{self.path}/Slot[{name}]"
        value = self.value(name, COLLECTION)
        collection_type = value.get("collectionType")
        if collection_type not in (None, COLLECTION_SET):
            raise _fail(path, f"collectionType must be {COLLECTION_SET!r}")
        found = []
        for element in _Children(value, path).all(ELEMENT):
            if _xsi_type(element, path + "/Element") != (NS_RIM, ANY):
                raise _fail(path + "/Element", "element must be rim:AnyValueType")
            children = _Children(element, path + "/Element")
            found.append(children.take(_sdg(local)))
            children.done()
        if not found:
            raise _fail(path, "empty collection")
        return found

    def any_or_collection(self, name: str, local: str) -> list[etree._Element]:
        """Agents may come as one ``AnyValueType`` or as a set (implementations differ)."""
        value = self.values.get(name)
        if value is not None and _xsi_type(value, f"{self.path}/Slot[{name}]")[1] == COLLECTION:
            return self.collection(name, local)
        return [self.any(name, local)]


def _read(element: etree._Element, path: str, *names: str) -> dict[str, etree._Element]:
    """The ``sdg:`` children of ``element`` in the given order; optional ones marked ``?``,
    repeatable ones ``*`` (only the first is kept)."""
    children = _Children(element, path)
    found: dict[str, etree._Element] = {}
    for spec in names:
        local = spec.rstrip("?*")
        if spec.endswith("*"):
            items = children.all(_sdg(local))
            if items:
                found[local] = items[0]
        elif spec.endswith("?"):
            item = children.optional(_sdg(local))
            if item is not None:
                found[local] = item
        else:
            found[local] = children.take(_sdg(local))
    children.done()
    return found


def _agent_of(element: etree._Element, path: str) -> EdmAgent:
    parts = _read(
        element, path, "Identifier", "Name*", "Address?", "Jurisdiction?", "Classification?"
    )
    identifier = parts["Identifier"]
    scheme = identifier.get("schemeID")
    if scheme is None:
        raise _fail(path + "/Identifier", "missing schemeID")
    name_element = parts.get("Name")
    if name_element is None:
        raise _fail(path, "missing sdg:Name")
    country = None
    if "Address" in parts:
        address = _Children(parts["Address"], path + "/Address")
        for child in address.all(_sdg("FullAddress")) + address.all(_sdg("LocatorDesignator")):
            _leaf_text(child, path + "/Address")
        address.all(_sdg("PostCode"))
        address.all(_sdg("PostCityName"))
        address.all(_sdg("Thoroughfare"))
        level1 = address.optional(_sdg("AdminUnitLevel1"))
        address.all(_sdg("AdminUnitLevel2"))
        address.done()
        if level1 is not None:
            country = _collapsed(level1, path + "/Address/AdminUnitLevel1")
    classification = (
        _collapsed(parts["Classification"], path + "/Classification")
        if "Classification" in parts
        else None
    )
    return _make(
        path,
        EdmAgent,
        _collapsed(identifier, path + "/Identifier"),
        scheme.strip(),
        _collapsed(name_element, path + "/Name"),
        name_lang=(name_element.get("lang") or "EN").strip(),
        country=country,
        classification=classification,
    )


def _natural_person_of(element: etree._Element, path: str) -> EdmNaturalPerson:
    parts = _read(
        element,
        path,
        "LevelOfAssurance?",
        "Identifier?",
        "FamilyName",
        "GivenName",
        "DateOfBirth",
        "BirthName?",
        "PlaceOfBirth?",
        "CurrentAddress?",
        "Gender?",
        "SectorSpecificAttribute*",
    )
    if "SectorSpecificAttribute" in parts:
        raise UnsupportedCapability(f"{path}: sector-specific attributes are not supported")

    def optional(local: str) -> str | None:
        found = parts.get(local)
        return None if found is None else _collapsed(found, f"{path}/{local}")

    return _make(
        path,
        EdmNaturalPerson,
        _collapsed(parts["FamilyName"], path + "/FamilyName"),
        _collapsed(parts["GivenName"], path + "/GivenName"),
        _date(parts["DateOfBirth"], path + "/DateOfBirth"),
        level_of_assurance=optional("LevelOfAssurance") or "High",
        identifier=optional("Identifier"),
        birth_name=optional("BirthName"),
        place_of_birth=optional("PlaceOfBirth"),
        gender=optional("Gender"),
    )


def _legal_person_of(element: etree._Element, path: str) -> EdmLegalPerson:
    parts = _read(
        element,
        path,
        "LevelOfAssurance?",
        "Identifier*",
        "LegalPersonIdentifier?",
        "LegalName",
        "RegisteredAddress?",
        "SectorSpecificAttribute*",
    )
    identifier = parts.get("LegalPersonIdentifier")
    return _make(
        path,
        EdmLegalPerson,
        _collapsed(parts["LegalName"], path + "/LegalName"),
        level_of_assurance=(
            _collapsed(parts["LevelOfAssurance"], path) if "LevelOfAssurance" in parts else "High"
        ),
        identifier=None if identifier is None else _collapsed(identifier, path),
    )


def _evidence_type_of(element: etree._Element, path: str) -> EdmEvidenceType:
    children = _Children(element, path)
    identifier = _collapsed(children.take(_sdg("Identifier")), path + "/Identifier")
    classification = _collapsed(
        children.take(_sdg("EvidenceTypeClassification")), path + "/EvidenceTypeClassification"
    )
    titles = children.some(_sdg("Title"))
    descriptions = children.all(_sdg("Description"))
    distributed_path = path + "/DistributedAs"
    distributions = children.some(_sdg("DistributedAs"))
    children.all(_sdg("AccessService"))
    children.optional(_sdg("AuthenticationLevelOfAssurance"))
    children.done()
    distribution = _read(
        distributions[0], distributed_path, "Format", "ConformsTo?", "Transformation?", "Language?"
    )
    title = titles[0]
    return _make(
        path,
        EdmEvidenceType,
        identifier,
        classification,
        _collapsed(title, path + "/Title"),
        title_lang=(title.get("lang") or "EN").strip(),
        description=_collapsed(descriptions[0], path) if descriptions else None,
        format=_collapsed(distribution["Format"], distributed_path + "/Format"),
        language=(
            _collapsed(distribution["Language"], distributed_path + "/Language")
            if "Language" in distribution
            else None
        ),
    )


_REQUEST_SLOTS = frozenset(
    {
        "SpecificationIdentifier",
        "IssueDateTime",
        "Procedure",
        "PreviewLocation",
        "PossibilityForPreview",
        "ExplicitRequestGiven",
        "Requirements",
        "EvidenceRequester",
        "EvidenceProvider",
    }
)
_UNSUPPORTED_REQUEST_SLOTS = frozenset({"EvidenceProviderClassification"})
_QUERY_SLOTS = frozenset({"EvidenceRequest", "NaturalPerson", "LegalPerson"})


def _specification(slots: _Slots) -> None:
    value = slots.text("SpecificationIdentifier", STRING).strip()
    if value != SPECIFICATION_IDENTIFIER:
        raise _fail(
            slots.path,
            f"SpecificationIdentifier must be {SPECIFICATION_IDENTIFIER!r}, not {value!r}",
        )


def _procedure(slots: _Slots) -> str:
    """The procedure code: ``rim:StringValueType`` (EDM 2.0) or, as EDM 1.x wrote it,
    ``rim:InternationalStringValueType`` with the code in a ``LocalizedString``."""
    value = slots.values.get("Procedure")
    if value is None:
        raise _fail(slots.path, "missing slot 'Procedure'")
    path = slots.path + "/Slot[Procedure]"
    if _xsi_type(value, path)[1] == INTERNATIONAL:
        children = _Children(value, path)
        inner = _Children(children.take(VALUE), path + "/Value")
        strings = inner.some(LOCALIZED_STRING)
        inner.done()
        children.done()
        text = strings[0].get("value") or ""
    else:
        text = slots.text("Procedure", STRING)
    code = text.strip()
    if not code or any(char.isspace() for char in code):
        raise _fail(path, f"not a procedure code: {code!r}")
    return code


def _parse_request(root: etree._Element) -> QueryRequest:
    path = "QueryRequest"
    request_id = _uuid_text(root.get("id") or "", path + "@id", urn=True)
    children = _Children(root, path)
    slots = _Slots(children.all(SLOT), path, _REQUEST_SLOTS, _UNSUPPORTED_REQUEST_SLOTS)
    option = children.take(RESPONSE_OPTION)
    if option.get("returnType", RETURN_TYPE) != RETURN_TYPE:
        raise _fail(path + "/ResponseOption", f"returnType must be {RETURN_TYPE!r}")
    query = children.take(QUERY)
    children.done()
    if query.get("queryDefinition") != QUERY_DEFINITION:
        raise _fail(path + "/Query", f"queryDefinition must be {QUERY_DEFINITION!r}")
    query_children = _Children(query, path + "/Query")
    query_slots = _Slots(
        query_children.all(SLOT),
        path + "/Query",
        _QUERY_SLOTS,
        frozenset({"AuthorizedRepresentative"}),
    )
    query_children.done()
    _specification(slots)
    agents = [
        _agent_of(found, path + "/EvidenceRequester")
        for found in slots.collection("EvidenceRequester", "Agent")
    ]
    requesters = [agent for agent in agents if agent.classification in (None, "ER")]
    platforms = [agent for agent in agents if agent.classification == "IP"]
    if (
        len(requesters) != 1
        or len(platforms) > 1
        or len(agents) != len(requesters) + len(platforms)
    ):
        raise _fail(
            path + "/EvidenceRequester",
            "needs exactly one evidence requester (ER) and at most one platform (IP)",
        )
    requirements = []
    if slots.has("Requirements"):
        for found in slots.collection("Requirements", "Requirement"):
            parts = _read(found, path + "/Requirement", "Identifier", "Name*", "Description*")
            name = parts.get("Name")
            if name is None:
                raise _fail(path + "/Requirement", "missing sdg:Name")
            requirements.append(
                _make(
                    path + "/Requirement",
                    EdmRequirement,
                    _collapsed(parts["Identifier"], path),
                    _collapsed(name, path),
                    (name.get("lang") or "EN").strip(),
                )
            )
    if query_slots.has("NaturalPerson") == query_slots.has("LegalPerson"):
        raise _fail(path + "/Query", "needs exactly one of NaturalPerson and LegalPerson")
    subject: EdmSubject
    if query_slots.has("NaturalPerson"):
        subject = _natural_person_of(
            query_slots.any("NaturalPerson", "Person"), path + "/Query/NaturalPerson"
        )
    else:
        subject = _legal_person_of(
            query_slots.any("LegalPerson", "LegalPerson"), path + "/Query/LegalPerson"
        )
    preview = slots.optional_text("PreviewLocation", STRING)
    result: QueryRequest = _make(
        path,
        QueryRequest,
        request_id,
        slots.date_time("IssueDateTime"),
        _procedure(slots),
        slots.boolean("PossibilityForPreview"),
        slots.boolean("ExplicitRequestGiven"),
        requesters[0],
        _agent_of(slots.any("EvidenceProvider", "Agent"), path + "/EvidenceProvider"),
        _evidence_type_of(
            query_slots.any("EvidenceRequest", "DataServiceEvidenceType"),
            path + "/Query/EvidenceRequest",
        ),
        subject,
        requirements=tuple(requirements),
        platform=platforms[0] if platforms else None,
        preview_location=None if preview is None else preview.strip(),
    )
    return result


_RESPONSE_SLOTS = frozenset(
    {
        "SpecificationIdentifier",
        "EvidenceResponseIdentifier",
        "IssueDateTime",
        "ResponseAvailableDateTime",
        "EvidenceProvider",
        "EvidenceRequester",
        "ErrorProvider",
    }
)
_EXCEPTION_SLOTS = frozenset(
    {"Timestamp", "PreviewLocation", "PreviewDescription", "PreviewMethod"}
)


def _evidence_of(
    element: etree._Element, path: str, attachments: Mapping[str, Attachment]
) -> EdmEvidence:
    if _xsi_type(element, path) != (NS_RIM, "RegistryPackageType"):
        raise _fail(path, "registry object must be a rim:RegistryPackageType")
    package_id = _uuid_text(element.get("id") or "", path + "@id", urn=True)
    package = _Children(element, path)
    package.all(SLOT)
    inner_list = _Children(package.take(REGISTRY_OBJECT_LIST), path + "/RegistryObjectList")
    package.done()
    inner_path = path + "/RegistryObjectList/RegistryObject"
    objects = inner_list.some(REGISTRY_OBJECT)
    inner_list.done()
    main = []
    for candidate in objects:
        if _xsi_type(candidate, inner_path) != (NS_RIM, "ExtrinsicObjectType"):
            raise _fail(inner_path, "must be a rim:ExtrinsicObjectType")
        for classification in candidate.iterchildren(CLASSIFICATION):
            if (
                classification.get("classificationScheme") == CLASSIFICATION_SCHEME_EDM
                and classification.get("classificationNode") == MAIN_EVIDENCE
            ):
                main.append(candidate)
    if len(main) != 1:
        raise _fail(inner_path, "needs exactly one MainEvidence extrinsic object")
    extrinsic = main[0]
    object_id = _uuid_text(extrinsic.get("id") or "", inner_path + "@id", urn=True)
    children = _Children(extrinsic, inner_path)
    slots = _Slots(children.all(SLOT), inner_path, frozenset({"EvidenceMetadata"}))
    children.all(CLASSIFICATION)
    reference = children.take(REPOSITORY_ITEM_REF)
    children.done()
    href = (reference.get(HREF) or "").strip()
    if not href.startswith("cid:"):
        raise _fail(inner_path + "/RepositoryItemRef", "href must be a cid: reference")
    content_id = href[4:]
    attachment = attachments.get(content_id)
    if attachment is None:
        raise _fail(inner_path + "/RepositoryItemRef", f"no payload part {href!r}")
    metadata_path = inner_path + "/EvidenceMetadata"
    parts = _read(
        slots.any("EvidenceMetadata", "Evidence"),
        metadata_path,
        "Identifier",
        "IsAbout",
        "IssuingAuthority",
        "IsConformantTo",
        "IssuingDate",
        "Distribution*",
        "ValidityPeriod?",
    )
    about = _Children(parts["IsAbout"], metadata_path + "/IsAbout")
    subject: EdmSubject
    if about.at(_sdg("NaturalPerson")):
        subject = _natural_person_of(about.take(_sdg("NaturalPerson")), metadata_path + "/IsAbout")
    else:
        subject = _legal_person_of(about.take(_sdg("LegalPerson")), metadata_path + "/IsAbout")
    about.done()
    conformant = _read(
        parts["IsConformantTo"],
        metadata_path + "/IsConformantTo",
        "EvidenceTypeClassification",
        "Title*",
        "Description*",
    )
    title = conformant.get("Title")
    if title is None:
        raise _fail(metadata_path + "/IsConformantTo", "missing sdg:Title")
    distribution_element = parts.get("Distribution")
    if distribution_element is None:
        raise _fail(metadata_path, "missing sdg:Distribution")
    distribution = _read(
        distribution_element,
        metadata_path + "/Distribution",
        "Format",
        "Language*",
        "ConformsTo?",
        "Transformation?",
    )
    return _make(
        metadata_path,
        EdmEvidence,
        _uuid_text(_collapsed(parts["Identifier"], metadata_path), metadata_path, urn=False),
        subject,
        _agent_of(parts["IssuingAuthority"], metadata_path + "/IssuingAuthority"),
        _collapsed(conformant["EvidenceTypeClassification"], metadata_path),
        _collapsed(title, metadata_path),
        _date(parts["IssuingDate"], metadata_path + "/IssuingDate"),
        attachment.data,
        title_lang=(title.get("lang") or "EN").strip(),
        format=_collapsed(distribution["Format"], metadata_path + "/Distribution/Format"),
        language=(
            _collapsed(distribution["Language"], metadata_path)
            if "Language" in distribution
            else None
        ),
        package_id=package_id,
        object_id=object_id,
        content_id=content_id,
    )


def _parse_response(
    root: etree._Element, attachments: Mapping[str, Attachment]
) -> QueryResponse | QueryErrorResponse:
    path = "QueryResponse"
    status = root.get("status")
    request_id = _uuid_text(root.get("requestId") or "", path + "@requestId", urn=True)
    children = _Children(root, path)
    slots = _Slots(children.all(SLOT), path, _RESPONSE_SLOTS)
    exceptions = children.all(EXCEPTION)
    objects = children.optional(REGISTRY_OBJECT_LIST)
    children.done()
    _specification(slots)
    response_id = _uuid_text(
        slots.text("EvidenceResponseIdentifier", STRING),
        path + "/EvidenceResponseIdentifier",
        urn=False,
    )
    requester = _agent_of(
        slots.any_or_collection("EvidenceRequester", "Agent")[0], path + "/EvidenceRequester"
    )
    if status == STATUS_FAILURE:
        if len(exceptions) != 1:
            raise _fail(path, "a failure carries exactly one rs:Exception")
        if objects is not None and len(objects):
            raise _fail(path, "a failure carries no registry objects")
        error_provider = _agent_of(
            slots.any_or_collection("ErrorProvider", "Agent")[0], path + "/ErrorProvider"
        )
        result: QueryErrorResponse = _make(
            path,
            QueryErrorResponse,
            request_id,
            response_id,
            error_provider,
            requester,
            _exception_of(exceptions[0], path + "/Exception"),
        )
        return result
    if status not in (STATUS_SUCCESS, STATUS_UNAVAILABLE):
        raise _fail(path, f"unknown status {status!r}")
    if exceptions:
        raise _fail(path, "an rs:Exception needs status Failure")
    providers = slots.any_or_collection("EvidenceProvider", "Agent")
    if len(providers) != 1:
        raise _fail(path + "/EvidenceProvider", "noots supports exactly one evidence provider")
    provider = _agent_of(providers[0], path + "/EvidenceProvider")
    evidences: list[EdmEvidence] = []
    available_at = None
    if status == STATUS_UNAVAILABLE:
        available_at = slots.date_time("ResponseAvailableDateTime")
        if objects is not None and len(objects):
            raise _fail(path, "an unavailable response carries no registry objects")
    else:
        if slots.has("ResponseAvailableDateTime"):
            raise _fail(path, "ResponseAvailableDateTime needs status Unavailable")
        if objects is None:
            raise _fail(path, "missing rim:RegistryObjectList")
        found = _Children(objects, path + "/RegistryObjectList").some(REGISTRY_OBJECT)
        evidences = [
            _evidence_of(element, path + "/RegistryObjectList/RegistryObject", attachments)
            for element in found
        ]
    response: QueryResponse = _make(
        path,
        QueryResponse,
        request_id,
        response_id,
        slots.date_time("IssueDateTime"),
        provider,
        requester,
        evidences=tuple(evidences),
        available_at=available_at,
    )
    return response


def _exception_of(element: etree._Element, path: str) -> EdmError:
    namespace, local = _xsi_type(element, path)
    if (namespace, local) not in EXCEPTION_TYPES.values():
        raise _fail(path, f"unknown exception type {local!r}")
    code = (element.get("code") or "").strip()
    message = element.get("message")
    if message is None:
        raise _fail(path, "missing attribute message")
    severity = (element.get("severity") or "").strip()
    if severity not in (SEVERITY_ERROR, SEVERITY_PREVIEW_REQUIRED):
        raise _fail(path, f"unknown severity {severity!r}")
    children = _Children(element, path)
    slots = _Slots(children.all(SLOT), path, _EXCEPTION_SLOTS)
    children.done()
    description = None
    if slots.has("PreviewDescription"):
        value = slots.value("PreviewDescription", INTERNATIONAL)
        strings = list(value.iter(LOCALIZED_STRING))
        description = (strings[0].get("value") or "").strip() if strings else None
    location = slots.optional_text("PreviewLocation", STRING)
    if (severity == SEVERITY_PREVIEW_REQUIRED) != (location is not None):
        raise _fail(path, "a PreviewLocation goes with severity PreviewRequired, and only then")
    method = slots.optional_text("PreviewMethod", STRING)
    detail = element.get("detail")
    result: EdmError = _make(
        path,
        EdmError,
        code,
        " ".join(message.split()),
        detail=None if detail is None else " ".join(detail.split()),
        timestamp=slots.date_time("Timestamp") if slots.has("Timestamp") else None,
        preview_location=None if location is None else location.strip(),
        preview_description=description or None,
        preview_method=None if method is None else method.strip(),
        exception_type=(namespace, local),
    )
    return result


def parse(
    element: etree._Element, attachments: Mapping[str, Attachment] | None = None
) -> EdmMessage:
    """The EDM message ``element`` holds (a ``QueryRequest`` or ``QueryResponse``); the
    evidence documents are taken from ``attachments`` by content id. Raises
    :class:`MalformedMessage` (or :class:`UnsupportedCapability` for valid EDM that noots does
    not implement) naming what is wrong."""
    if not isinstance(element, etree._Element) or not isinstance(element.tag, str):
        raise MalformedMessage("not an element")
    if element.tag == QUERY_REQUEST:
        return _parse_request(element)
    if element.tag == QUERY_RESPONSE:
        return _parse_response(element, attachments or {})
    raise MalformedMessage(
        f"unknown root element {element.tag}: expected query:QueryRequest or query:QueryResponse"
    )
