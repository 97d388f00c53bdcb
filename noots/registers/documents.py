"""The evidence documents the registers issue, as typed values, XML and back.

Each register kind certifies one document in the project's own namespace, with its own schema
in ``xsd/``: a Melderegister the :class:`Meldebescheinigung`, a Personenstandsregister the
:class:`Geburtsurkunde`, the KBA the :class:`Fahrzeughalterauskunft`, the Handelsregister the
:class:`Handelsregisterauszug`. :func:`render` builds the XML and validates it against the
schema before anyone can send it: a document that does not validate is a register fault and
raises :class:`~noots.errors.QueryError` (``EDM:ERR:0008``), never a half-right evidence.
:func:`parse_document` reads a received document back (consumers preview it to the citizen);
it takes untrusted bytes through :func:`noots.xml.parse` and validates before reading.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, Literal, cast

from lxml import etree

from noots.clock import format_utc, parse_utc
from noots.errors import MalformedMessage, QueryError
from noots.paths import XSD_DIR
from noots.xml import parse as parse_xml

__all__ = [
    "DOCUMENT_NAMESPACES",
    "Address",
    "EvidenceDocument",
    "Fahrzeughalterauskunft",
    "Geburtsurkunde",
    "Handelsregisterauszug",
    "Meldebescheinigung",
    "Parent",
    "Representative",
    "Vehicle",
    "build",
    "parse_document",
    "render",
    "schema_errors",
]

Sex = Literal["m", "w", "d", "x"]
DwellingStatus = Literal["alleinige Wohnung", "Hauptwohnung", "Nebenwohnung"]
RegisterKind = Literal["HRA", "HRB"]

MB = "urn:noots:evidence:meldebescheinigung:1"
GU = "urn:noots:evidence:geburtsurkunde:1"
FZ = "urn:noots:evidence:fahrzeughalterauskunft:1"
HR = "urn:noots:evidence:handelsregisterauszug:1"

#: namespace → (root element, schema file in ``xsd/``)
DOCUMENT_NAMESPACES: dict[str, tuple[str, str]] = {
    MB: ("Meldebescheinigung", "evidence-meldebescheinigung-1.xsd"),
    GU: ("Geburtsurkunde", "evidence-geburtsurkunde-1.xsd"),
    FZ: ("Fahrzeughalterauskunft", "evidence-fahrzeughalterauskunft-1.xsd"),
    HR: ("Handelsregisterauszug", "evidence-handelsregisterauszug-1.xsd"),
}
_PREFIXES = {MB: "mb", GU: "gu", FZ: "fz", HR: "hr"}


@dataclass(frozen=True, slots=True)
class Address:
    street: str
    house_number: str
    postcode: str
    place: str


@dataclass(frozen=True, slots=True)
class Meldebescheinigung:
    """A certificate of registration (Meldebescheinigung, § 18 BMG)."""

    issued_at: datetime
    authority_name: str
    municipality: str
    idnr: str
    family_name: str
    given_names: str
    sex: Sex
    date_of_birth: date
    place_of_birth: str
    nationalities: tuple[str, ...]
    dwelling_status: DwellingStatus
    address: Address
    moved_in: date
    birth_name: str | None = None


@dataclass(frozen=True, slots=True)
class Parent:
    family_name: str
    given_names: str
    birth_name: str | None = None


@dataclass(frozen=True, slots=True)
class Geburtsurkunde:
    """A birth certificate from the Geburtenregister (§ 59 PStG). ``idnr`` is None in one
    issued for an EU evidence requester: the IDNr is never passed abroad."""

    issued_at: datetime
    registry_office: str
    entry: str
    idnr: str | None
    family_name: str
    given_names: str
    sex: Sex
    date_of_birth: date
    place_of_birth: str
    parents: tuple[Parent, ...] = ()


@dataclass(frozen=True, slots=True)
class Vehicle:
    """The data of one Zulassungsbescheinigung Teil I."""

    plate: str
    vin: str
    make: str
    model: str
    vehicle_class: str
    first_registered: date
    registered_to_keeper: date
    fuel: str | None = None


@dataclass(frozen=True, slots=True)
class Fahrzeughalterauskunft:
    """The vehicles a person keeps, from the Zentrales Fahrzeugregister (§ 31 StVG)."""

    issued_at: datetime
    idnr: str
    family_name: str
    given_names: str
    date_of_birth: date
    vehicles: tuple[Vehicle, ...]
    address: Address | None = None


@dataclass(frozen=True, slots=True)
class Representative:
    role: str
    family_name: str
    given_names: str
    date_of_birth: date | None = None
    place_of_residence: str | None = None


@dataclass(frozen=True, slots=True)
class Handelsregisterauszug:
    """An extract from the Handelsregister (§ 9 HGB) for one registered legal person."""

    issued_at: datetime
    court: str
    register: RegisterKind
    number: str
    firm: str
    legal_form: str
    seat: str
    address: Address
    first_entry: date
    business_object: str | None = None
    capital: Decimal | None = None
    currency: str = "EUR"
    representatives: tuple[Representative, ...] = ()


EvidenceDocument = (
    Meldebescheinigung | Geburtsurkunde | Fahrzeughalterauskunft | Handelsregisterauszug
)


# -- building --------------------------------------------------------------------------------


class _Writer:
    def __init__(self, namespace: str) -> None:
        self.ns = namespace

    def root(self, name: str) -> etree._Element:
        element = etree.Element(
            f"{{{self.ns}}}{name}", nsmap={_PREFIXES[self.ns]: self.ns}, version="1"
        )
        return element

    def add(self, parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
        child = etree.SubElement(parent, f"{{{self.ns}}}{name}")
        if text is not None:
            child.text = text
        return child

    def opt(self, parent: etree._Element, name: str, text: str | None) -> None:
        if text is not None:
            self.add(parent, name, text)

    def address(self, parent: etree._Element, name: str, address: Address, place: str) -> None:
        element = self.add(parent, name)
        self.add(element, "Strasse", address.street)
        self.add(element, "Hausnummer", address.house_number)
        self.add(element, "Postleitzahl", address.postcode)
        self.add(element, place, address.place)


def _stand(instant: datetime) -> str:
    return format_utc(instant)


def build(document: EvidenceDocument) -> etree._Element:
    """The document as an element tree (not yet validated: use :func:`render` to send it)."""
    match document:
        case Meldebescheinigung():
            return _build_meldebescheinigung(document)
        case Geburtsurkunde():
            return _build_geburtsurkunde(document)
        case Fahrzeughalterauskunft():
            return _build_fahrzeughalterauskunft(document)
        case Handelsregisterauszug():
            return _build_handelsregisterauszug(document)
    raise TypeError(f"not an evidence document: {type(document).__name__}")


def _build_meldebescheinigung(d: Meldebescheinigung) -> etree._Element:
    w = _Writer(MB)
    root = w.root("Meldebescheinigung")
    w.add(root, "Stand", _stand(d.issued_at))
    authority = w.add(root, "Meldebehoerde")
    w.add(authority, "Name", d.authority_name)
    w.add(authority, "Gemeindeschluessel", d.municipality)
    person = w.add(root, "Person")
    w.add(person, "IDNr", d.idnr)
    w.add(person, "Familienname", d.family_name)
    w.opt(person, "Geburtsname", d.birth_name)
    w.add(person, "Vornamen", d.given_names)
    w.add(person, "Geschlecht", d.sex)
    w.add(person, "Geburtsdatum", d.date_of_birth.isoformat())
    w.add(person, "Geburtsort", d.place_of_birth)
    for nationality in d.nationalities:
        w.add(person, "Staatsangehoerigkeit", nationality)
    dwelling = w.add(root, "Wohnung")
    w.add(dwelling, "Status", d.dwelling_status)
    w.address(dwelling, "Anschrift", d.address, "Wohnort")
    w.add(dwelling, "Einzugsdatum", d.moved_in.isoformat())
    return root


def _build_geburtsurkunde(d: Geburtsurkunde) -> etree._Element:
    w = _Writer(GU)
    root = w.root("Geburtsurkunde")
    w.add(root, "Stand", _stand(d.issued_at))
    w.add(root, "Standesamt", d.registry_office)
    w.add(root, "Registereintrag", d.entry)
    child = w.add(root, "Kind")
    if d.idnr is not None:
        w.add(child, "IDNr", d.idnr)
    w.add(child, "Familienname", d.family_name)
    w.add(child, "Vornamen", d.given_names)
    w.add(child, "Geschlecht", d.sex)
    w.add(child, "Geburtsdatum", d.date_of_birth.isoformat())
    w.add(child, "Geburtsort", d.place_of_birth)
    for parent in d.parents:
        element = w.add(root, "Elternteil")
        w.add(element, "Familienname", parent.family_name)
        w.opt(element, "Geburtsname", parent.birth_name)
        w.add(element, "Vornamen", parent.given_names)
    return root


def _build_fahrzeughalterauskunft(d: Fahrzeughalterauskunft) -> etree._Element:
    w = _Writer(FZ)
    root = w.root("Fahrzeughalterauskunft")
    w.add(root, "Stand", _stand(d.issued_at))
    keeper = w.add(root, "Halter")
    w.add(keeper, "IDNr", d.idnr)
    w.add(keeper, "Familienname", d.family_name)
    w.add(keeper, "Vornamen", d.given_names)
    w.add(keeper, "Geburtsdatum", d.date_of_birth.isoformat())
    if d.address is not None:
        w.address(keeper, "Anschrift", d.address, "Wohnort")
    for vehicle in d.vehicles:
        element = w.add(root, "Fahrzeug")
        w.add(element, "Kennzeichen", vehicle.plate)
        w.add(element, "FIN", vehicle.vin)
        w.add(element, "Marke", vehicle.make)
        w.add(element, "Handelsbezeichnung", vehicle.model)
        w.add(element, "Fahrzeugklasse", vehicle.vehicle_class)
        w.opt(element, "Kraftstoff", vehicle.fuel)
        w.add(element, "Erstzulassung", vehicle.first_registered.isoformat())
        w.add(element, "ZugelassenSeit", vehicle.registered_to_keeper.isoformat())
    return root


def _build_handelsregisterauszug(d: Handelsregisterauszug) -> etree._Element:
    w = _Writer(HR)
    root = w.root("Handelsregisterauszug")
    w.add(root, "Stand", _stand(d.issued_at))
    w.add(root, "Registergericht", d.court)
    w.add(root, "Registerart", d.register)
    w.add(root, "Registernummer", d.number)
    w.add(root, "Firma", d.firm)
    w.add(root, "Rechtsform", d.legal_form)
    w.add(root, "Sitz", d.seat)
    w.address(root, "Geschaeftsanschrift", d.address, "Ort")
    w.opt(root, "Unternehmensgegenstand", d.business_object)
    if d.capital is not None:
        capital = w.add(root, "Kapital", f"{d.capital:.2f}")
        capital.set("waehrung", d.currency)
    for representative in d.representatives:
        element = w.add(root, "Vertretung")
        w.add(element, "Funktion", representative.role)
        w.add(element, "Familienname", representative.family_name)
        w.add(element, "Vornamen", representative.given_names)
        if representative.date_of_birth is not None:
            w.add(element, "Geburtsdatum", representative.date_of_birth.isoformat())
        w.opt(element, "Wohnort", representative.place_of_residence)
    w.add(root, "Ersteintragung", d.first_entry.isoformat())
    return root


# -- validation ------------------------------------------------------------------------------


# An XMLSchema keeps its error log on itself: concurrent validations would mix their findings.
_SCHEMA_LOCK = threading.Lock()


@cache
def _schema(filename: str) -> etree.XMLSchema:
    # Our own self-contained schemas from xsd/: parsed with the hardened parser, no imports.
    return etree.XMLSchema(parse_xml((XSD_DIR / filename).read_bytes()))


def schema_errors(root: etree._Element) -> list[str]:
    """What is wrong with ``root`` as an evidence document; ``[]`` when it is valid."""
    namespace = etree.QName(root).namespace
    known = DOCUMENT_NAMESPACES.get(namespace or "")
    if known is None:
        return [f"not an evidence document namespace: {namespace!r}"]
    name, filename = known
    if etree.QName(root).localname != name:
        return [f"root element must be {name}"]
    schema = _schema(filename)
    with _SCHEMA_LOCK:
        if schema.validate(root):
            return []
        # lxml-stubs types the error log as opaque; it is a list of _LogEntry.
        entries: Any = schema.error_log
        return [f"line {e.line}: {e.message}" for e in entries]


def render(document: EvidenceDocument) -> bytes:
    """The document as UTF-8 XML bytes, validated against its schema.

    Raises :class:`QueryError` (``EDM:ERR:0008``) when the register's own data would produce an
    invalid document: the register then answers with an error rather than bad evidence.
    """
    root = build(document)
    errors = schema_errors(root)
    if errors:
        raise QueryError("the evidence document could not be produced in a valid form")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


# -- reading ---------------------------------------------------------------------------------


class _Reader:
    def __init__(self, root: etree._Element) -> None:
        self.ns = etree.QName(root).namespace

    def el(self, parent: etree._Element, name: str) -> etree._Element:
        child = parent.find(f"{{{self.ns}}}{name}")
        if child is None:
            raise MalformedMessage(f"evidence document lacks {name}")
        return child

    def text(self, parent: etree._Element, name: str) -> str:
        return self.el(parent, name).text or ""

    def opt(self, parent: etree._Element, name: str) -> str | None:
        child = parent.find(f"{{{self.ns}}}{name}")
        return None if child is None else (child.text or "")

    def all(self, parent: etree._Element, name: str) -> list[etree._Element]:
        return list(parent.iterfind(f"{{{self.ns}}}{name}"))

    def date(self, parent: etree._Element, name: str) -> date:
        return date.fromisoformat(self.text(parent, name))

    def address(self, element: etree._Element, place: str) -> Address:
        return Address(
            street=self.text(element, "Strasse"),
            house_number=self.text(element, "Hausnummer"),
            postcode=self.text(element, "Postleitzahl"),
            place=self.text(element, place),
        )


def parse_document(data: bytes) -> EvidenceDocument:
    """Read an evidence document received from a register (untrusted bytes).

    Raises an :class:`~noots.errors.XmlError` for hostile XML and :class:`MalformedMessage` for
    a document that is not one of the four kinds or does not validate against its schema.
    """
    root = parse_xml(data)
    errors = schema_errors(root)
    if errors:
        raise MalformedMessage("the evidence document does not validate against its schema")
    r = _Reader(root)
    issued_at = parse_utc(r.text(root, "Stand"))
    namespace = r.ns
    if namespace == MB:
        authority = r.el(root, "Meldebehoerde")
        person = r.el(root, "Person")
        dwelling = r.el(root, "Wohnung")
        return Meldebescheinigung(
            issued_at=issued_at,
            authority_name=r.text(authority, "Name"),
            municipality=r.text(authority, "Gemeindeschluessel"),
            idnr=r.text(person, "IDNr"),
            family_name=r.text(person, "Familienname"),
            birth_name=r.opt(person, "Geburtsname"),
            given_names=r.text(person, "Vornamen"),
            sex=_sex(r.text(person, "Geschlecht")),
            date_of_birth=r.date(person, "Geburtsdatum"),
            place_of_birth=r.text(person, "Geburtsort"),
            nationalities=tuple(e.text or "" for e in r.all(person, "Staatsangehoerigkeit")),
            dwelling_status=_dwelling(r.text(dwelling, "Status")),
            address=r.address(r.el(dwelling, "Anschrift"), "Wohnort"),
            moved_in=r.date(dwelling, "Einzugsdatum"),
        )
    if namespace == GU:
        child = r.el(root, "Kind")
        return Geburtsurkunde(
            issued_at=issued_at,
            registry_office=r.text(root, "Standesamt"),
            entry=r.text(root, "Registereintrag"),
            idnr=r.opt(child, "IDNr"),
            family_name=r.text(child, "Familienname"),
            given_names=r.text(child, "Vornamen"),
            sex=_sex(r.text(child, "Geschlecht")),
            date_of_birth=r.date(child, "Geburtsdatum"),
            place_of_birth=r.text(child, "Geburtsort"),
            parents=tuple(
                Parent(
                    family_name=r.text(e, "Familienname"),
                    birth_name=r.opt(e, "Geburtsname"),
                    given_names=r.text(e, "Vornamen"),
                )
                for e in r.all(root, "Elternteil")
            ),
        )
    if namespace == FZ:
        keeper = r.el(root, "Halter")
        address = keeper.find(f"{{{FZ}}}Anschrift")
        return Fahrzeughalterauskunft(
            issued_at=issued_at,
            idnr=r.text(keeper, "IDNr"),
            family_name=r.text(keeper, "Familienname"),
            given_names=r.text(keeper, "Vornamen"),
            date_of_birth=r.date(keeper, "Geburtsdatum"),
            address=None if address is None else r.address(address, "Wohnort"),
            vehicles=tuple(
                Vehicle(
                    plate=r.text(e, "Kennzeichen"),
                    vin=r.text(e, "FIN"),
                    make=r.text(e, "Marke"),
                    model=r.text(e, "Handelsbezeichnung"),
                    vehicle_class=r.text(e, "Fahrzeugklasse"),
                    fuel=r.opt(e, "Kraftstoff"),
                    first_registered=r.date(e, "Erstzulassung"),
                    registered_to_keeper=r.date(e, "ZugelassenSeit"),
                )
                for e in r.all(root, "Fahrzeug")
            ),
        )
    capital = root.find(f"{{{HR}}}Kapital")
    return Handelsregisterauszug(
        issued_at=issued_at,
        court=r.text(root, "Registergericht"),
        register=_register_kind(r.text(root, "Registerart")),
        number=r.text(root, "Registernummer"),
        firm=r.text(root, "Firma"),
        legal_form=r.text(root, "Rechtsform"),
        seat=r.text(root, "Sitz"),
        address=r.address(r.el(root, "Geschaeftsanschrift"), "Ort"),
        business_object=r.opt(root, "Unternehmensgegenstand"),
        capital=None if capital is None else Decimal(capital.text or "0"),
        currency="EUR" if capital is None else capital.get("waehrung", "EUR"),
        representatives=tuple(
            Representative(
                role=r.text(e, "Funktion"),
                family_name=r.text(e, "Familienname"),
                given_names=r.text(e, "Vornamen"),
                date_of_birth=(
                    None if (born := r.opt(e, "Geburtsdatum")) is None else date.fromisoformat(born)
                ),
                place_of_residence=r.opt(e, "Wohnort"),
            )
            for e in r.all(root, "Vertretung")
        ),
        first_entry=r.date(root, "Ersteintragung"),
    )


def _sex(value: str) -> Sex:
    if value not in ("m", "w", "d", "x"):
        raise MalformedMessage("unknown sex code")
    return cast(Sex, value)


def _dwelling(value: str) -> DwellingStatus:
    if value not in ("alleinige Wohnung", "Hauptwohnung", "Nebenwohnung"):
        raise MalformedMessage("unknown dwelling status")
    return cast(DwellingStatus, value)


def _register_kind(value: str) -> RegisterKind:
    if value not in ("HRA", "HRB"):
        raise MalformedMessage("unknown register kind")
    return cast(RegisterKind, value)
