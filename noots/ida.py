"""The IDNr look-up of the IDM für Personen (IDA, § 6 (3) IDNrG): the wire format.

A data consumer asks ``POST /ida/v1/lookup`` with an ``ida:LookupRequest`` (presenting its
IAM access token for the IDA) and gets an ``ida:LookupResult`` (or an ``env:Error``) back. Schema
``xsd/noots-ida-1.xsd``; the three query forms:

- :class:`ByAddress`: family name, date of birth, postcode and place of residence → IDNr;
- :class:`ByName`: family name, given name and date of birth (no address) → IDNr;
- :class:`ByIdnr`: IDNr and date of birth → the remaining basic data.

No unique match gives no data: ``EDM:ERR:0004`` with :data:`NOT_UNIQUE_DETAIL`, the same for
an unknown person, an ambiguous match and a person with an information block. The IDA app is
:mod:`noots.registers.ida`; consumers build queries and read results with the functions here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from lxml import etree

from noots import _xsd
from noots.errors import MalformedMessage

__all__ = [
    "IDA_NS",
    "LOOKUP_PATH",
    "LOOKUP_SERVICE",
    "NOT_UNIQUE_DETAIL",
    "BasicData",
    "ByAddress",
    "ByIdnr",
    "ByName",
    "LookupQuery",
    "LookupResult",
    "PostalAddress",
    "build_query",
    "build_result",
    "parse_query",
    "parse_result",
    "service_id",
]

IDA_NS = "urn:noots:ida:1"
SCHEMA = "noots-ida-1.xsd"
VERSION = "1"
LOOKUP_PATH = "/ida/v1/lookup"
#: The evidence-type part of the IDA's service id (``urn:noots:service:<ida id>:lookup``).
LOOKUP_SERVICE = "lookup"
#: The one detail text of every "no unique match" answer.
NOT_UNIQUE_DETAIL = "Keine eindeutige Zuordnung zu einer Identifikationsnummer möglich."

_LINE = re.compile(r"\S(?:.*\S)?")
_IDNR = re.compile(r"[0-9]{11}")
_POSTCODE = re.compile(r"[0-9]{5}")


def service_id(ida_participant_id: str) -> str:
    return f"urn:noots:service:{ida_participant_id}:{LOOKUP_SERVICE}"


def _q(local: str) -> str:
    return f"{{{IDA_NS}}}{local}"


def _line(value: object, what: str) -> str:
    if not isinstance(value, str) or len(value) > 256 or not _LINE.fullmatch(value):
        raise MalformedMessage(f"{what} must be one line of 1 to 256 characters")
    return value


def _date(value: object, what: str) -> date:
    if not isinstance(value, date):
        raise MalformedMessage(f"{what} must be a date")
    return value


def _pattern(value: object, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise MalformedMessage(f"{what} is not well-formed")
    return value


@dataclass(frozen=True, slots=True)
class ByAddress:
    family_name: str
    date_of_birth: date
    postcode: str
    place: str

    def __post_init__(self) -> None:
        _line(self.family_name, "family name")
        _date(self.date_of_birth, "date of birth")
        _pattern(self.postcode, _POSTCODE, "postcode")
        _line(self.place, "place")


@dataclass(frozen=True, slots=True)
class ByName:
    family_name: str
    given_name: str
    date_of_birth: date

    def __post_init__(self) -> None:
        _line(self.family_name, "family name")
        _line(self.given_name, "given name")
        _date(self.date_of_birth, "date of birth")


@dataclass(frozen=True, slots=True)
class ByIdnr:
    """The IDNr's format only: whether it is a *valid* IDNr is the IDA's check (0003)."""

    idnr: str
    date_of_birth: date

    def __post_init__(self) -> None:
        _pattern(self.idnr, _IDNR, "IDNr")
        _date(self.date_of_birth, "date of birth")


LookupQuery = ByAddress | ByName | ByIdnr


@dataclass(frozen=True, slots=True)
class PostalAddress:
    street: str
    house_number: str
    postcode: str
    place: str

    def __post_init__(self) -> None:
        _line(self.street, "street")
        _line(self.house_number, "house number")
        _pattern(self.postcode, _POSTCODE, "postcode")
        _line(self.place, "place")


@dataclass(frozen=True, slots=True)
class BasicData:
    """The basic data the IDA holds besides the IDNr (answer to :class:`ByIdnr`)."""

    family_name: str
    given_names: str
    date_of_birth: date
    place_of_birth: str
    sex: str
    address: PostalAddress
    birth_name: str | None = None

    def __post_init__(self) -> None:
        _line(self.family_name, "family name")
        _line(self.given_names, "given names")
        _date(self.date_of_birth, "date of birth")
        _line(self.place_of_birth, "place of birth")
        if self.sex not in ("m", "w", "d", "x"):
            raise MalformedMessage("sex must be m, w, d or x")
        if self.birth_name is not None:
            _line(self.birth_name, "birth name")


@dataclass(frozen=True, slots=True)
class LookupResult:
    idnr: str
    basic_data: BasicData | None = None

    def __post_init__(self) -> None:
        _pattern(self.idnr, _IDNR, "IDNr")


# -- building ---------------------------------------------------------------------------------


def _root(local: str) -> etree._Element:
    element = etree.Element(_q(local), nsmap={"ida": IDA_NS})
    element.set("version", VERSION)
    return element


def _add(parent: etree._Element, local: str, text: str) -> etree._Element:
    child = etree.SubElement(parent, _q(local))
    child.text = text
    return child


def build_query(query: LookupQuery) -> etree._Element:
    """The ``ida:LookupRequest`` element (the body of the envelope to the IDA)."""
    root = _root("LookupRequest")
    if isinstance(query, ByAddress):
        form = etree.SubElement(root, _q("ByAddress"))
        _add(form, "FamilyName", query.family_name)
        _add(form, "DateOfBirth", query.date_of_birth.isoformat())
        _add(form, "Postcode", query.postcode)
        _add(form, "Place", query.place)
    elif isinstance(query, ByName):
        form = etree.SubElement(root, _q("ByName"))
        _add(form, "FamilyName", query.family_name)
        _add(form, "GivenName", query.given_name)
        _add(form, "DateOfBirth", query.date_of_birth.isoformat())
    else:
        form = etree.SubElement(root, _q("ByIdnr"))
        _add(form, "IDNr", query.idnr)
        _add(form, "DateOfBirth", query.date_of_birth.isoformat())
    return root


def build_result(result: LookupResult) -> etree._Element:
    """The ``ida:LookupResult`` element (the body of the IDA's answer)."""
    root = _root("LookupResult")
    _add(root, "IDNr", result.idnr)
    data = result.basic_data
    if data is not None:
        element = etree.SubElement(root, _q("BasicData"))
        _add(element, "FamilyName", data.family_name)
        if data.birth_name is not None:
            _add(element, "BirthName", data.birth_name)
        _add(element, "GivenNames", data.given_names)
        _add(element, "DateOfBirth", data.date_of_birth.isoformat())
        _add(element, "PlaceOfBirth", data.place_of_birth)
        _add(element, "Sex", data.sex)
        address = etree.SubElement(element, _q("Address"))
        _add(address, "Street", data.address.street)
        _add(address, "HouseNumber", data.address.house_number)
        _add(address, "Postcode", data.address.postcode)
        _add(address, "Place", data.address.place)
    return root


# -- parsing ----------------------------------------------------------------------------------


def _text(parent: etree._Element, local: str) -> str:
    child = parent.find(_q(local))
    if child is None:
        raise MalformedMessage(f"IDA message lacks {local}")
    return child.text or ""


def _optional(parent: etree._Element, local: str) -> str | None:
    child = parent.find(_q(local))
    return None if child is None else (child.text or "")


def _iso_date(parent: etree._Element, local: str) -> date:
    try:
        return date.fromisoformat(_text(parent, local))
    except ValueError:
        raise MalformedMessage(f"IDA message {local} is not a date") from None


def parse_query(element: etree._Element) -> LookupQuery:
    """The typed query of an ``ida:LookupRequest``; :class:`MalformedMessage` if invalid."""
    if element.tag != _q("LookupRequest"):
        raise MalformedMessage("not an ida:LookupRequest")
    _xsd.check(SCHEMA, element, "IDA look-up request")
    form = element[0]
    if form.tag == _q("ByAddress"):
        return ByAddress(
            family_name=_text(form, "FamilyName"),
            date_of_birth=_iso_date(form, "DateOfBirth"),
            postcode=_text(form, "Postcode"),
            place=_text(form, "Place"),
        )
    if form.tag == _q("ByName"):
        return ByName(
            family_name=_text(form, "FamilyName"),
            given_name=_text(form, "GivenName"),
            date_of_birth=_iso_date(form, "DateOfBirth"),
        )
    return ByIdnr(idnr=_text(form, "IDNr"), date_of_birth=_iso_date(form, "DateOfBirth"))


def parse_result(element: etree._Element) -> LookupResult:
    """The typed result of an ``ida:LookupResult``; :class:`MalformedMessage` if invalid."""
    if element.tag != _q("LookupResult"):
        raise MalformedMessage("not an ida:LookupResult")
    _xsd.check(SCHEMA, element, "IDA look-up result")
    data = element.find(_q("BasicData"))
    basic: BasicData | None = None
    if data is not None:
        address = data.find(_q("Address"))
        if address is None:
            raise MalformedMessage("IDA basic data lack the address")
        basic = BasicData(
            family_name=_text(data, "FamilyName"),
            birth_name=_optional(data, "BirthName"),
            given_names=_text(data, "GivenNames"),
            date_of_birth=_iso_date(data, "DateOfBirth"),
            place_of_birth=_text(data, "PlaceOfBirth"),
            sex=_text(data, "Sex"),
            address=PostalAddress(
                street=_text(address, "Street"),
                house_number=_text(address, "HouseNumber"),
                postcode=_text(address, "Postcode"),
                place=_text(address, "Place"),
            ),
        )
    return LookupResult(idnr=_text(element, "IDNr"), basic_data=basic)
