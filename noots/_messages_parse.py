"""Parsing XNachweis 1.2.0 messages into the model, strictly and without a schema at run time.

Private module of :mod:`noots.messages`. The structure is checked by walking each element's
children in schema order with a cursor (direct child access, precomputed names, no XPath), so
a missing, misplaced, extra or wrongly namespaced element is reported by name and path. On top
of what the schema checks, this module checks what it cannot: time zones, code values, the
message type against the root element, the UUID forms.

Valid XNachweis that noots does not model is refused with a clear message rather than silently
dropped when it would change what is asked or answered (``AuthorizedRepresentative``,
``RepositoryItemRef``, eIDAS person identifiers, sector-specific attributes, ``AnyContent``);
descriptive extras (further names and titles, ``Description``, ``ConformsTo``,
``Transformation``, further languages) are skipped.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, TypeVar
from uuid import UUID

from lxml import etree

from noots import _messages_tags as t
from noots._messages_model import (
    AUTHORITY_ID_PREFIX,
    CLASSIFICATION_ERROR_PROVIDER,
    CLASSIFICATION_PROVIDER,
    CLASSIFICATION_REQUESTER,
    DIRECTORY_SERVICE,
    EAS_SCHEME_PREFIX,
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
    ErrorDetail,
    Evidence,
    EvidenceErrorResponse,
    EvidenceRequest,
    EvidenceResponse,
    EvidenceType,
    EvidenceTypeRef,
    LegalIdentifier,
    LegalPerson,
    Message,
    NaturalPerson,
    Product,
    error_code,
    instant,
)
from noots.errors import MalformedMessage

__all__ = ["parse"]

_T = TypeVar("_T")

_PREFIX_OF = {namespace: prefix for prefix, namespace in NSMAP.items()}
_UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_BARE_UUID = re.compile(_UUID)
_URN_UUID = re.compile("urn:uuid:" + _UUID)
_DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?"
)
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(Z|[+-][0-9]{2}:[0-9]{2})?")
_IDNR = re.compile(r"[0-9]{11}")
_XML_SPACE = re.compile(r"[ \t\n\r]+")
_NORMALIZE = str.maketrans("\t\n\r", "   ")
_WHITESPACE = " \t\n\r"  # XML's whitespace; str.split() would take Unicode spaces as well
_DROP_WHITESPACE = str.maketrans("", "", _WHITESPACE)


def _name(tag: str) -> str:
    """``xn-bk:Identifier`` for ``{urn:…baukasten}Identifier`` (for error messages)."""
    if not tag.startswith("{"):
        return tag
    namespace, _, local = tag[1:].partition("}")
    prefix = _PREFIX_OF.get(namespace)
    return f"{prefix}:{local}" if prefix else tag


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _fail(path: str, problem: str) -> MalformedMessage:
    return MalformedMessage(f"{path}: {problem}")


class _Children:
    """A cursor over an element's child elements in document order (comments skipped)."""

    __slots__ = ("_items", "_next", "path")

    def __init__(self, element: etree._Element, path: str) -> None:
        self.path = path
        text = element.text
        if text and not text.isspace():
            raise _fail(path, "unexpected text content")
        items: list[etree._Element] = []
        for child in element:
            tail = child.tail
            if tail and not tail.isspace():
                raise _fail(path, "unexpected text content")
            if isinstance(child.tag, str):
                items.append(child)
        self._items = items
        self._next = 0

    def _peek(self) -> etree._Element | None:
        return self._items[self._next] if self._next < len(self._items) else None

    def at(self, tag: str) -> bool:
        found = self._peek()
        return found is not None and found.tag == tag

    def take(self, tag: str) -> etree._Element:
        """The next element, which must be ``tag``."""
        found = self._peek()
        if found is None or found.tag != tag:
            raise self._missing(tag, found)
        self._next += 1
        return found

    def optional(self, tag: str) -> etree._Element | None:
        if self.at(tag):
            return self.take(tag)
        return None

    def all(self, tag: str) -> list[etree._Element]:
        """Zero or more ``tag`` elements."""
        start = self._next
        while self.at(tag):
            self._next += 1
        return self._items[start : self._next]

    def some(self, tag: str) -> list[etree._Element]:
        """One or more ``tag`` elements."""
        first = self.take(tag)
        return [first, *self.all(tag)]

    def refuse(self, tag: str, what: str) -> None:
        """Valid XNachweis that noots does not support: refused, never silently dropped."""
        if self.at(tag):
            raise _fail(self.path, f"{_name(tag)} ({what}) is not supported by noots")

    def done(self) -> None:
        found = self._peek()
        if found is not None:
            raise _fail(self.path, f"unexpected element {_name(str(found.tag))}")

    def _missing(self, tag: str, found: etree._Element | None) -> MalformedMessage:
        want = _name(tag)
        if found is None:
            return _fail(self.path, f"missing element {want}")
        found_tag = str(found.tag)
        if _local(found_tag) == _local(tag):
            namespace = etree.QName(found_tag).namespace or "no namespace"
            expected = etree.QName(tag).namespace or "no namespace"
            return _fail(
                self.path,
                f"element {_local(tag)} is in {namespace}, expected {expected}",
            )
        return _fail(self.path, f"missing element {want} (found {_name(found_tag)} instead)")


# --- values -----------------------------------------------------------------------------------


def _text(element: etree._Element, path: str) -> str:
    """The text of a leaf element (``xs:string``: whitespace preserved)."""
    if len(element) == 0:
        return element.text or ""
    parts = [element.text or ""]
    for child in element:
        tag: object = child.tag  # comments and PIs have a function here, elements a str
        if isinstance(tag, str):
            raise _fail(path, f"unexpected child element {_name(tag)}")
        parts.append(child.tail or "")
    return "".join(parts)


def _normalized(element: etree._Element, path: str) -> str:
    """An ``xs:normalizedString``: tab, CR and LF read as spaces, as a validator does."""
    return _text(element, path).translate(_NORMALIZE)


def _collapsed(element: etree._Element, path: str) -> str:
    """An ``xs:token``-like value: surrounding whitespace dropped, runs collapsed."""
    text = _text(element, path).strip(_WHITESPACE)
    if _XML_SPACE.search(text) is None:  # the usual case: nothing to collapse
        return text
    return _XML_SPACE.sub(" ", text)


def _child_path(path: str, tag: str) -> str:
    return f"{path}/{_local(tag)}"


def _uuid(text: str, path: str) -> UUID:
    if not _BARE_UUID.fullmatch(text):
        raise _fail(path, "not a bare UUID")
    return UUID(text)


def _urn_uuid(text: str, path: str) -> UUID:
    if not _URN_UUID.fullmatch(text):
        raise _fail(path, "not a urn:uuid: UUID")
    return UUID(text[9:])


def _zone(text: str, path: str) -> timezone:
    if text == "Z":
        return UTC
    hours, minutes = int(text[1:3]), int(text[4:6])
    if minutes > 59 or hours * 60 + minutes > 14 * 60:
        raise _fail(path, "time zone offset out of range (at most ±14:00)")
    offset = timedelta(hours=hours, minutes=minutes)
    return timezone(-offset if text[0] == "-" else offset)


def _date_time(element: etree._Element, path: str) -> datetime:
    # No surrounding whitespace: XSD would collapse it, but libxml2 (the oracle) refuses it.
    text = _text(element, path)
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        raise _fail(path, "not an xs:dateTime")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if zone is None:
        raise _fail(path, "date-time without time zone (UTC with zone required)")
    try:
        value = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=_zone(zone, path),
        )
        return instant(value)
    except (ValueError, OverflowError):
        raise _fail(path, "not a valid date-time") from None


def _date(element: etree._Element, path: str) -> date:
    text = _text(element, path)  # no surrounding whitespace, as in _date_time
    match = _DATE.fullmatch(text)
    if match is None:
        raise _fail(path, "not an xs:date (YYYY-MM-DD)")
    year, month, day, zone = match.groups()
    if zone is not None:
        _zone(zone, path)  # a calendar date keeps its day; the zone only has to be well-formed
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise _fail(path, "not a valid calendar date") from None


def _code(
    element: etree._Element,
    path: str,
    codes: CodeList,
    *,
    fixed_uri: bool = True,
    fixed_version: bool = False,
) -> str:
    """The value of a code element (``code`` child without namespace, optional ``name``).

    ``fixed_uri``: the schema fixes ``listURI`` (optional, but if present it must match);
    otherwise ``listURI`` is required with any value. ``listVersionID`` is required unless
    ``fixed_version`` (then optional, but it must match).
    """
    uri = element.get("listURI")
    if fixed_uri:
        if uri is not None and uri != codes.uri:
            raise _fail(path, f"listURI must be {codes.uri!r}")
    elif not uri:
        raise _fail(path, "missing attribute listURI")
    version = element.get("listVersionID")
    if fixed_version:
        if version is not None and version != codes.version:
            raise _fail(path, f"listVersionID must be {codes.version!r}")
    elif version is None:
        raise _fail(path, "missing attribute listVersionID")
    children = _Children(element, path)
    code = children.take(t.CODE)
    children.optional(t.CODE_NAME)
    children.done()
    value = _collapsed(code, path + "/code")
    if not value:
        raise _fail(path, "empty code")
    return value


def _make(path: str, factory: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """Construct a model value; its invariant checks become MalformedMessage with a path."""
    try:
        return factory(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        raise _fail(path, str(exc)) from None


# --- building blocks --------------------------------------------------------------------------


def _multilingual(elements: list[etree._Element], path: str) -> str:
    """The first of the language variants of a ``String.Multilingual`` (noots writes one)."""
    element = elements[0]
    children = _Children(element, path)
    value = _normalized(children.take(t.VALUE), path)
    _code(children.take(t.LANG_BDT), path + "/lang", LIST_LANGUAGES)
    children.done()
    return value


def _eas_identifier(element: etree._Element, path: str) -> tuple[str, str]:
    scheme = element.get("schemeID")
    if scheme is None:
        raise _fail(path, "missing attribute schemeID")
    if not scheme.startswith(EAS_SCHEME_PREFIX):
        raise _fail(path, f"schemeID must start with {EAS_SCHEME_PREFIX!r}")
    return _normalized(element, path), scheme


def _agent(element: etree._Element, path: str, classification: str) -> Agent:
    children = _Children(element, path)
    identifier, scheme = _eas_identifier(
        children.take(t.IDENTIFIER), _child_path(path, t.IDENTIFIER)
    )
    name = _multilingual(children.some(t.NAME), _child_path(path, t.NAME))
    address_element = children.optional(t.ADDRESS)
    address = None if address_element is None else _address(address_element, path + "/Address")
    found = _code(
        children.take(t.CLASSIFICATION), path + "/Classification", LIST_AGENT_CLASSIFICATIONS
    )
    if found != classification:
        raise _fail(path, f"classification must be {classification!r}")
    children.refuse(t.ANY_CONTENT, "generic agent content")
    children.done()
    return _make(path, Agent, identifier, name, scheme_id=scheme, address=address)


def _agents(elements: list[etree._Element], path: str, classification: str) -> Agent:
    if len(elements) != 1:
        what = path.rpartition("/")[2]
        raise _fail(path, f"noots supports exactly one {what}, found {len(elements)}")
    return _agent(elements[0], path, classification)


_ADDRESS_TEXT = (
    (t.FULL_ADDRESS, "full_address"),
    (t.THOROUGHFARE, "thoroughfare"),
    (t.LOCATOR_DESIGNATOR, "locator_designator"),
)
_ADDRESS_CODES = (
    (t.ADMIN_UNIT_LEVEL_1, "country_code", LIST_COUNTRY_CODES),
    (t.ADMIN_UNIT_LEVEL_2, "nuts_code", LIST_NUTS),
)
_ADDRESS_TAIL = ((t.POST_CODE, "post_code"), (t.POST_CITY_NAME, "post_city_name"))


def _address(element: etree._Element, path: str) -> Address:
    children = _Children(element, path)
    parts: dict[str, str] = {}
    for tag, field in _ADDRESS_TEXT:
        found = children.optional(tag)
        if found is not None:
            parts[field] = _text(found, path)
    for tag, field, codes in _ADDRESS_CODES:
        found = children.optional(tag)
        if found is not None:
            parts[field] = _code(found, _child_path(path, tag), codes)
    for tag, field in _ADDRESS_TAIL:
        found = children.optional(tag)
        if found is not None:
            parts[field] = _text(found, path)
    children.done()
    return _make(path, Address, **parts)


def _authority(element: etree._Element, path: str) -> Authority:
    children = _Children(element, path)
    directory = _directory_code(children.take(t.VERZEICHNISDIENST), path + "/verzeichnisdienst")
    if directory != DIRECTORY_SERVICE:
        raise _fail(path, f"directory service must be {DIRECTORY_SERVICE!r}")
    kennung = _normalized(children.take(t.KENNUNG), path + "/kennung")
    if not kennung.startswith(AUTHORITY_ID_PREFIX):
        raise _fail(path, f"kennung must start with {AUTHORITY_ID_PREFIX!r}")
    name = _normalized(children.take(t.NAME_BEH), path + "/name")
    children.done()
    return _make(path, Authority, kennung[len(AUTHORITY_ID_PREFIX) :], name)


def _directory_code(element: etree._Element, path: str) -> str:
    # The Basisnachricht code list attributes are not modelled by XNachweis; only the value
    # matters here.
    children = _Children(element, path)
    code = _collapsed(children.take(t.CODE), path)
    children.optional(t.CODE_NAME)
    children.done()
    return code


def _head(
    root: etree._Element, children: _Children, message_type: str, path: str
) -> dict[str, Any]:
    """Root attributes and ``nachrichtenkopf``: what every message shares."""
    attributes = {}
    for attribute in ("produkt", "produkthersteller", "standard", "version"):
        value = root.get(attribute)
        if value is None:
            raise _fail(path, f"missing attribute {attribute}")
        attributes[attribute] = value
    if attributes["standard"] != STANDARD:
        raise _fail(path, f"standard must be {STANDARD!r}")
    if attributes["version"] != STANDARD_VERSION:
        raise _fail(path, f"version must be {STANDARD_VERSION!r}")
    test_flag = root.get("test")
    if test_flag not in (None, "true", "false"):
        raise _fail(path, "test must be 'true' or 'false'")
    product = _make(
        path,
        Product,
        attributes["produkt"],
        attributes["produkthersteller"],
        root.get("produktversion"),
    )

    head_path = path + "/nachrichtenkopf"
    head = _Children(children.take(t.NACHRICHTENKOPF), head_path)
    ident_path = head_path + "/identifikation.nachricht"
    ident = _Children(head.take(t.IDENTIFIKATION_NACHRICHT), ident_path)
    message_uuid = _uuid(
        _normalized(ident.take(t.NACHRICHTEN_UUID), ident_path),
        ident_path + "/nachrichtenUUID",
    )
    type_path = ident_path + "/nachrichtentyp"
    found_type = _code(
        ident.take(t.NACHRICHTENTYP), type_path, LIST_MESSAGE_TYPES, fixed_version=True
    )
    if found_type != message_type:
        raise _fail(type_path, f"message type must be {message_type!r} (the root element)")
    created = _date_time(ident.take(t.ERSTELLUNGSZEITPUNKT), ident_path + "/erstellungszeitpunkt")
    ident.done()
    reader = _authority(head.take(t.LESER), head_path + "/leser")
    author = _authority(head.take(t.AUTOR), head_path + "/autor")
    head.done()
    return {
        "message_uuid": message_uuid,
        "created": created,
        "reader": reader,
        "author": author,
        "test": test_flag == "true",
        "product": product,
    }


def _specification(children: _Children, path: str) -> None:
    value = _text(children.take(t.SPECIFICATION_IDENTIFIER), path)
    if value != SPECIFICATION_IDENTIFIER:
        raise _fail(
            path + "/SpecificationIdentifier",
            f"must be {SPECIFICATION_IDENTIFIER!r}",
        )


def _id_attribute(root: etree._Element, name: str, path: str) -> UUID:
    value = root.get(name)
    if value is None:
        raise _fail(path, f"missing attribute {name}")
    return _urn_uuid(value.translate(_NORMALIZE), f"{path}@{name}")


# --- persons ----------------------------------------------------------------------------------


def _subject(element: etree._Element, path: str) -> NaturalPerson | LegalPerson:
    children = _Children(element, path)
    if children.at(t.LEGAL_PERSON):
        subject: NaturalPerson | LegalPerson = _legal_person(
            children.take(t.LEGAL_PERSON), path + "/LegalPerson"
        )
    else:
        subject = _natural_person(children.take(t.NATURAL_PERSON), path + "/NaturalPerson")
    children.done()
    return subject


def _optional_text(children: _Children, tag: str, path: str) -> str | None:
    found = children.optional(tag)
    return None if found is None else _text(found, _child_path(path, tag))


def _natural_person(element: etree._Element, path: str) -> NaturalPerson:
    children = _Children(element, path)
    children.refuse(t.IDENTIFIER, "eIDAS person identifier")
    date_of_birth = _date(children.take(t.DATE_OF_BIRTH), path + "/DateOfBirth")
    family_name = _text(children.take(t.FAMILY_NAME), path + "/FamilyName")
    given_name = _text(children.take(t.GIVEN_NAME), path + "/GivenName")
    level = _code(
        children.take(t.LEVEL_OF_ASSURANCE), path + "/LevelOfAssurance", LIST_LEVELS_OF_ASSURANCE
    )
    birth_name = _optional_text(children, t.BIRTH_NAME, path)
    place_of_birth = _optional_text(children, t.PLACE_OF_BIRTH, path)
    address_element = children.optional(t.CURRENT_ADDRESS)
    address = (
        None if address_element is None else _address(address_element, path + "/CurrentAdress")
    )
    gender = _optional_text(children, t.GENDER, path)
    children.refuse(t.SECTOR_SPECIFIC_ATTRIBUTE, "sector-specific attribute")
    idnr = _optional_text(children, t.IDNR, path)
    if idnr is not None and not _IDNR.fullmatch(idnr):
        raise _fail(path + "/IDNr", "IDNr must be exactly 11 digits")
    children.done()
    return _make(
        path,
        NaturalPerson,
        family_name,
        given_name,
        date_of_birth,
        idnr,
        level_of_assurance=level,
        birth_name=birth_name,
        place_of_birth=place_of_birth,
        current_address=address,
        gender=gender,
    )


def _legal_person(element: etree._Element, path: str) -> LegalPerson:
    children = _Children(element, path)
    eidas_element = children.optional(t.LEGAL_PERSON_IDENTIFIER)
    eidas_id = None
    if eidas_element is not None:
        eidas_path = path + "/LegalPersonIdentifier"
        scheme = eidas_element.get("schemeID")
        if scheme != EIDAS_SCHEME:
            raise _fail(eidas_path, f"schemeID must be {EIDAS_SCHEME!r}")
        eidas_id = _normalized(eidas_element, eidas_path)
    legal_name = _text(children.take(t.LEGAL_NAME), path + "/LegalName")
    level = _code(
        children.take(t.LEVEL_OF_ASSURANCE), path + "/LevelOfAssurance", LIST_LEVELS_OF_ASSURANCE
    )
    identifiers = []
    for found in children.all(t.IDENTIFIER):
        item_path = path + "/Identifier"
        item = _Children(found, item_path)
        value = _normalized(item.take(t.VALUE), item_path)
        scheme_code = _code(
            item.take(t.SCHEME_ID), item_path + "/schemeID", LIST_IDENTIFIER_SCHEMES
        )
        item.done()
        identifiers.append(_make(item_path, LegalIdentifier, value, scheme_code))
    address_element = children.optional(t.REGISTERED_ADDRESS)
    address = (
        None if address_element is None else _address(address_element, path + "/RegisteredAddress")
    )
    children.refuse(t.SECTOR_SPECIFIC_ATTRIBUTE, "sector-specific attribute")
    children.done()
    return _make(
        path,
        LegalPerson,
        legal_name,
        identifiers=tuple(identifiers),
        legal_person_identifier=eidas_id,
        registered_address=address,
        level_of_assurance=level,
    )


# --- evidence types and evidence --------------------------------------------------------------


def _conformance(children: _Children, path: str) -> EvidenceTypeRef:
    classification = _normalized(
        children.take(t.EVIDENCE_TYPE_CLASSIFICATION), path + "/EvidenceTypeClassification"
    )
    title = _multilingual(children.some(t.TITLE), path + "/Title")
    children.all(t.DESCRIPTION)
    return _make(path, EvidenceTypeRef, classification, title)


def _requested_evidence_type(element: etree._Element, path: str) -> EvidenceType:
    children = _Children(element, path)
    ref = _conformance(children, path)
    identifier = _uuid(_normalized(children.take(t.IDENTIFIER), path), path + "/Identifier")
    distributed_path = path + "/DistributedAs"
    distributed = _Children(children.take(t.DISTRIBUTED_AS), distributed_path)
    media_type = _code(distributed.take(t.FORMAT), distributed_path + "/Format", LIST_MEDIA_TYPES)
    distributed.optional(t.CONFORMS_TO)
    distributed.optional(t.TRANSFORMATION)
    distributed.done()
    children.done()
    return _make(path, EvidenceType, ref.classification, ref.title, identifier, media_type)


def _evidence(element: etree._Element, path: str) -> Evidence:
    children = _Children(element, path)
    registry_object_id = _urn_uuid(_normalized(children.take(t.ID), path), path + "/id")

    meta_path = path + "/EvidenceMetadata"
    meta = _Children(children.take(t.EVIDENCE_METADATA), meta_path)
    issuing_date = _date(meta.take(t.ISSUING_DATE), meta_path + "/IssuingDate")
    validity_period = None
    period_element = meta.optional(t.VALIDITY_PERIOD)
    if period_element is not None:
        period_path = meta_path + "/ValidityPeriod"
        period = _Children(period_element, period_path)
        validity_period = (
            _date(period.take(t.START_DATE), period_path + "/StartDate"),
            _date(period.take(t.END_DATE), period_path + "/EndDate"),
        )
        period.done()
    authority_path = meta_path + "/IssuingAuthority"
    authority = _Children(meta.take(t.ISSUING_AUTHORITY), authority_path)
    issuer_id, issuer_scheme = _eas_identifier(
        authority.take(t.IDENTIFIER), authority_path + "/Identifier"
    )
    issuer_name = _multilingual(authority.some(t.NAME), authority_path + "/Name")
    authority.done()
    issuer = _make(authority_path, Agent, issuer_id, issuer_name, scheme_id=issuer_scheme)
    distribution_path = meta_path + "/Distribution"
    distribution = _Children(meta.take(t.DISTRIBUTION), distribution_path)
    media_type = _code(distribution.take(t.FORMAT), distribution_path + "/Format", LIST_MEDIA_TYPES)
    distribution.optional(t.CONFORMS_TO)
    distribution.optional(t.TRANSFORMATION)
    languages = distribution.all(t.LANGUAGE)
    language = (
        _code(languages[0], distribution_path + "/Language", LIST_LANGUAGES) if languages else None
    )
    distribution.done()
    conformant_path = meta_path + "/IsConformantTo"
    conformant = _Children(meta.take(t.IS_CONFORMANT_TO), conformant_path)
    conformance = _conformance(conformant, conformant_path)
    conformant.done()
    meta.done()

    item_path = path + "/RepositoryItem"
    item = _Children(children.take(t.REPOSITORY_ITEM), item_path)
    item.refuse(t.REPOSITORY_ITEM_REF, "evidence by reference")
    document = _base64(item.take(t.REPOSITORY_ITEM), item_path + "/RepositoryItem")
    item.done()
    subject = _subject(children.take(t.LEGAL_OR_NATURAL_PERSON), path + "/LegalOrNaturalPerson")
    children.done()
    return _make(
        path,
        Evidence,
        registry_object_id,
        issuing_date,
        issuer,
        conformance,
        document,
        subject,
        media_type=media_type,
        language=language,
        validity_period=validity_period,
    )


def _base64(element: etree._Element, path: str) -> bytes:
    # base64Binary may be wrapped over lines; the strict decoder wants the bare alphabet.
    data = _text(element, path).translate(_DROP_WHITESPACE).encode("ascii", "replace")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise _fail(path, "not valid base64") from None


# --- messages ---------------------------------------------------------------------------------


def _request(root: etree._Element) -> EvidenceRequest:
    path = MESSAGE_TYPE_REQUEST
    request_id = _id_attribute(root, "id", path)
    children = _Children(root, path)
    head = _head(root, children, MESSAGE_TYPE_REQUEST, path)
    language = _code(children.take(t.LANG), path + "/lang", LIST_LANGUAGES)
    _specification(children, path)
    issue_datetime = _date_time(children.take(t.ISSUE_DATE_TIME), path + "/IssueDateTime")
    requester = _agents(
        children.some(t.EVIDENCE_REQUESTER), path + "/EvidenceRequester", CLASSIFICATION_REQUESTER
    )
    provider = _agent(
        children.take(t.EVIDENCE_PROVIDER), path + "/EvidenceProvider", CLASSIFICATION_PROVIDER
    )
    issued_token = _text(children.take(t.ISSUED_TOKEN), path + "/IssuedToken")

    query_path = path + "/Query"
    query = _Children(children.take(t.QUERY), query_path)
    definition = _text(query.take(t.QUERY_DEFINITION), query_path + "/QueryDefinition")
    if definition not in ("", QUERY_DEFINITION):  # empty: the schema's default applies
        raise _fail(query_path + "/QueryDefinition", "unsupported query definition")
    evidence_type = _requested_evidence_type(
        query.take(t.REQUESTED_EVIDENCE_TYPE), query_path + "/RequestedEvidenceType"
    )
    query.refuse(t.AUTHORIZED_REPRESENTATIVE, "authorised representative")
    subject = _subject(query.take(t.LEGAL_OR_NATURAL_PERSON), query_path + "/LegalOrNaturalPerson")
    query.done()
    children.done()
    return _make(
        path,
        EvidenceRequest,
        request_id=request_id,
        issue_datetime=issue_datetime,
        requester=requester,
        provider=provider,
        issued_token=issued_token,
        evidence_type=evidence_type,
        subject=subject,
        language=language,
        **head,
    )


def _response_start(
    root: etree._Element, message_type: str, status_values: tuple[str, ...]
) -> tuple[_Children, dict[str, Any], str]:
    """What 0102 and 0103 share up to ``IssueDateTime``."""
    path = message_type
    request_id = _id_attribute(root, "requestid", path)
    children = _Children(root, path)
    head = _head(root, children, message_type, path)
    status = _code(children.take(t.STATUS), path + "/status", LIST_RESPONSE_STATUS, fixed_uri=False)
    if status not in status_values:
        raise _fail(path + "/status", f"status must be one of {status_values}")
    _specification(children, path)
    response_id = _uuid(
        _normalized(children.take(t.EVIDENCE_RESPONSE_IDENTIFIER), path),
        path + "/EvidenceResponseIdentifier",
    )
    issue_datetime = _date_time(children.take(t.ISSUE_DATE_TIME), path + "/IssueDateTime")
    head.update(request_id=request_id, response_id=response_id, issue_datetime=issue_datetime)
    return children, head, status


def _response(root: etree._Element) -> EvidenceResponse:
    path = MESSAGE_TYPE_RESPONSE
    children, fields, status = _response_start(
        root, MESSAGE_TYPE_RESPONSE, (STATUS_SUCCESS, STATUS_UNAVAILABLE)
    )
    provider = _agents(
        children.some(t.EVIDENCE_PROVIDER), path + "/EvidenceProvider", CLASSIFICATION_PROVIDER
    )
    requester = _agents(
        children.some(t.EVIDENCE_REQUESTER), path + "/EvidenceRequester", CLASSIFICATION_REQUESTER
    )
    availability_path = path + "/EvidenceAvailability"
    availability = _Children(children.take(t.EVIDENCE_AVAILABILITY), availability_path)
    available_at = None
    evidences: tuple[Evidence, ...] = ()
    if availability.at(t.RESPONSE_AVAILABLE_DATE_TIME):
        available_at = _date_time(
            availability.take(t.RESPONSE_AVAILABLE_DATE_TIME),
            availability_path + "/ResponseAvailableDateTime",
        )
        expected_status = STATUS_UNAVAILABLE
    else:
        evidences = tuple(
            _evidence(found, availability_path + "/RegistryObjectList")
            for found in availability.some(t.REGISTRY_OBJECT_LIST)
        )
        expected_status = STATUS_SUCCESS
    availability.done()
    children.done()
    if status != expected_status:
        raise _fail(
            path + "/status",
            f"status must be {expected_status!r} for this availability",
        )
    return _make(
        path,
        EvidenceResponse,
        provider=provider,
        requester=requester,
        evidences=evidences,
        available_at=available_at,
        **fields,
    )


def _error_response(root: etree._Element) -> EvidenceErrorResponse:
    path = MESSAGE_TYPE_ERROR_RESPONSE
    children, fields, _ = _response_start(root, MESSAGE_TYPE_ERROR_RESPONSE, (STATUS_FAILURE,))
    error_provider = _agent(
        children.take(t.ERROR_PROVIDER), path + "/ErrorProvider", CLASSIFICATION_ERROR_PROVIDER
    )
    requester = _agents(
        children.some(t.EVIDENCE_REQUESTER), path + "/EvidenceRequester", CLASSIFICATION_REQUESTER
    )
    errors = tuple(_exception(found, path + "/Exception") for found in children.some(t.EXCEPTION))
    children.done()
    return _make(
        path,
        EvidenceErrorResponse,
        error_provider=error_provider,
        requester=requester,
        errors=errors,
        **fields,
    )


def _exception(element: etree._Element, path: str) -> ErrorDetail:
    children = _Children(element, path)
    # Any code token is kept: the national code list is not published, so a code outside
    # EDM:ERR:0001…0008 is reported (UnlistedErrorCode), never refused as malformed.
    value = _code(children.take(t.ERROR_CODE), path + "/Code", LIST_ERROR_CODES)
    code = _make(path + "/Code", error_code, value)
    detail = _optional_text(children, t.DETAIL, path)
    timestamp_element = children.optional(t.TIMESTAMP)
    timestamp = (
        None if timestamp_element is None else _date_time(timestamp_element, path + "/Timestamp")
    )
    severity = _text(children.take(t.SEVERITY), path + "/Severity")
    if severity != SEVERITY_ERROR:
        raise _fail(path + "/Severity", f"must be {SEVERITY_ERROR!r}")
    children.done()
    return _make(path, ErrorDetail, code, detail, timestamp)


_PARSERS: dict[str, Callable[[etree._Element], Message]] = {
    t.REQUEST: _request,
    t.RESPONSE: _response,
    t.ERROR_RESPONSE: _error_response,
}
_EXPECTED_ROOTS = ", ".join(
    (MESSAGE_TYPE_REQUEST, MESSAGE_TYPE_RESPONSE, MESSAGE_TYPE_ERROR_RESPONSE)
)


def parse(element: etree._Element) -> Message:
    """The message ``element`` holds, or :class:`MalformedMessage` naming what is wrong.

    ``element`` may be a document root from :func:`noots.xml.parse` or an element inside
    another document (the transport envelope's body); nothing outside it is read.
    """
    if not isinstance(element, etree._Element):
        raise TypeError(f"parse() takes an lxml element, not {type(element).__name__}")
    tag = element.tag
    parser = _PARSERS.get(tag) if isinstance(tag, str) else None
    if parser is None:
        if not isinstance(tag, str):
            raise MalformedMessage("not an element: a comment or processing instruction")
        qname = etree.QName(tag)
        if qname.localname in (
            MESSAGE_TYPE_REQUEST,
            MESSAGE_TYPE_RESPONSE,
            MESSAGE_TYPE_ERROR_RESPONSE,
        ):
            raise MalformedMessage(
                f"{qname.localname}: root element in {qname.namespace or 'no namespace'}, "
                f"expected {etree.QName(t.REQUEST).namespace}"
            )
        raise MalformedMessage(
            f"unknown root element {_name(tag)}: expected one of {_EXPECTED_ROOTS}"
        )
    return parser(element)
