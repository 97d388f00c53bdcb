"""Fixed test identities that drive register behaviour, the same in every seeded population.

Each identity is a valid **test** IDNr (leading 0) that the random generator never hands out.
Scenario suites, the README and the conformance checks use them to provoke one behaviour each:
a normal answer, "not found", an information block, an ambiguous person, a slow or
asynchronous register, an internal error, a person without a vehicle, a deceased person and one
who moved away. :func:`noots.synthetic.population.seed_population` stores every identity that needs
data, whatever the number of people and the seed; the registers look up the behaviour with
:func:`behaviour_of`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

__all__ = [
    "BEHAVIOUR_IDENTITIES",
    "DEMO_COMPANY",
    "Behaviour",
    "BehaviourIdentity",
    "DemoCompany",
    "IdentityVehicle",
    "behaviour_of",
    "identity",
    "markdown_table",
    "reserved_idnrs",
    "reserved_plates",
]


class Behaviour(StrEnum):
    NORMAL = "normal"
    NOT_FOUND = "not_found"
    INFORMATION_BLOCK = "information_block"
    AMBIGUOUS = "ambiguous"
    SLOW = "slow"
    ASYNCHRONOUS = "asynchronous"
    INTERNAL_ERROR = "internal_error"
    NO_VEHICLE = "no_vehicle"
    DECEASED = "deceased"
    MOVED_AWAY = "moved_away"


@dataclass(frozen=True, slots=True)
class IdentityVehicle:
    plate: str
    make: str
    model: str
    vehicle_class: str
    fuel: str
    first_registered: date
    registered_to_keeper: date
    vin: str


@dataclass(frozen=True, slots=True)
class BehaviourIdentity:
    """One fixed test person. ``in_population`` is False only for the "not found" identity."""

    idnr: str
    given_names: str
    family_name: str
    date_of_birth: date
    sex: str  # "m" | "w" | "d" as in the evidence documents
    behaviour: Behaviour
    description: str  # German, shown in the README and the dashboard
    ags: str = "08118079"
    postcode: str = "70825"
    street: str = "Stuttgarter Straße"
    house_number: str = "1"
    birth_name: str | None = None
    place_of_birth: str = "Stuttgart"
    nationality: str = "DE"
    moved_in: date = date(2015, 4, 1)
    born_in_germany: bool = True
    mother: tuple[str, str] = ("Maria", "Muster")  # given names, birth name
    father_given_names: str = "Peter"
    date_of_death: date | None = None
    information_block: bool = False
    vehicles: tuple[IdentityVehicle, ...] = ()
    #: SLOW: the register answers after this long; ASYNCHRONOUS: the evidence is available
    #: (ResponseAvailableDateTime) this long after the request.
    delay: timedelta | None = None
    in_population: bool = True


BEHAVIOUR_IDENTITIES: tuple[BehaviourIdentity, ...] = (
    BehaviourIdentity(
        # The official example number of the BZSt check-digit documentation and the person of
        # the XNachweis example request; the data follow the specimen identity card.
        idnr="02476291358",
        given_names="Erika",
        family_name="Mustermann",
        birth_name="Gabler",
        date_of_birth=date(1964, 8, 12),
        sex="w",
        behaviour=Behaviour.NORMAL,
        description=(
            "Normalfall: vollständige Daten in Melderegister (Korntal-Münchingen), "
            "Personenstandsregister und Zentralem Fahrzeugregister (ein Pkw), "
            "Geschäftsführerin der Mustermann Digital GmbH."
        ),
        street="Heidestraße",
        house_number="17",
        place_of_birth="Berlin",
        moved_in=date(2011, 9, 1),
        mother=("Ingrid", "Kowalski"),
        father_given_names="Klaus",
        vehicles=(
            IdentityVehicle(
                plate="LB-EM 1964",
                make="Volkswagen",
                model="Golf",
                vehicle_class="M1",
                fuel="Benzin",
                first_registered=date(2019, 4, 1),
                registered_to_keeper=date(2019, 4, 1),
                vin="WVWZZZAUZKW123456",
            ),
        ),
    ),
    BehaviourIdentity(
        idnr="01234567812",
        given_names="Lena",
        family_name="Musterfrau",
        date_of_birth=date(1992, 3, 14),
        sex="w",
        behaviour=Behaviour.NORMAL,
        description=(
            "Normalfall für Elterngeld: Mutter von Paul Musterfrau, wohnt in Köln, kein Fahrzeug."
        ),
        ags="05315000",
        postcode="50667",
        street="Hohe Straße",
        house_number="52",
        place_of_birth="Köln",
        moved_in=date(2019, 6, 15),
        mother=("Heike", "Brandt"),
        father_given_names="Uwe",
    ),
    BehaviourIdentity(
        idnr="01234567829",
        given_names="Paul",
        family_name="Musterfrau",
        date_of_birth=date(2026, 6, 3),
        sex="m",
        behaviour=Behaviour.NORMAL,
        description=(
            "Normalfall für Elterngeld: Kind von Lena Musterfrau, Geburtsurkunde im "
            "Personenstandsregister, gemeldet bei der Mutter in Köln."
        ),
        ags="05315000",
        postcode="50667",
        street="Hohe Straße",
        house_number="52",
        place_of_birth="Köln",
        moved_in=date(2026, 6, 3),
        mother=("Lena", "Musterfrau"),
        father_given_names="Jonas",
    ),
    BehaviourIdentity(
        idnr="01234567837",
        given_names="Nils",
        family_name="Niemand",
        date_of_birth=date(1990, 1, 1),
        sex="m",
        behaviour=Behaviour.NOT_FOUND,
        description=(
            "Nicht gefunden: gültige Test-IDNr, aber in keinem Register gespeichert (EDM:ERR:0004)."
        ),
        in_population=False,
    ),
    BehaviourIdentity(
        idnr="01234567845",
        given_names="Sabine",
        family_name="Verborgen",
        date_of_birth=date(1975, 11, 2),
        sex="w",
        behaviour=Behaviour.INFORMATION_BLOCK,
        description=(
            "Auskunftssperre (§ 51 BMG): Daten vorhanden, aber jede Antwort muss genau wie "
            "„nicht gefunden“ aussehen."
        ),
        ags="09162000",
        postcode="80331",
        street="Sendlinger Straße",
        house_number="8",
        place_of_birth="München",
        information_block=True,
    ),
    BehaviourIdentity(
        idnr="01234567853",
        given_names="Max",
        family_name="Doppelmann",
        date_of_birth=date(1988, 7, 7),
        sex="m",
        behaviour=Behaviour.AMBIGUOUS,
        description=(
            "Mehrdeutig (1 von 2): gleicher Name, Geburtsdatum und Postleitzahl wie eine zweite "
            "Person; die IDA findet keinen eindeutigen Treffer und liefert keine IDNr."
        ),
        ags="02000000",
        postcode="20095",
        street="Mönckebergstraße",
        house_number="3",
        place_of_birth="Hamburg",
    ),
    BehaviourIdentity(
        idnr="01234567861",
        given_names="Max",
        family_name="Doppelmann",
        date_of_birth=date(1988, 7, 7),
        sex="m",
        behaviour=Behaviour.AMBIGUOUS,
        description="Mehrdeutig (2 von 2): der Namensvetter von 01234567853.",
        ags="02000000",
        postcode="20095",
        street="Spitalerstraße",
        house_number="11",
        place_of_birth="Lübeck",
    ),
    BehaviourIdentity(
        idnr="01234567870",
        given_names="Otto",
        family_name="Langsam",
        date_of_birth=date(1959, 2, 20),
        sex="m",
        behaviour=Behaviour.SLOW,
        description=(
            "Langsam: die Register antworten erst nach 8 Sekunden (Zeitüberschreitung beim "
            "Abrufer prüfen)."
        ),
        ags="11000000",
        postcode="10115",
        street="Chausseestraße",
        house_number="21",
        place_of_birth="Berlin",
        delay=timedelta(seconds=8),
        vehicles=(
            IdentityVehicle(
                plate="B-OL 59",
                make="Mercedes-Benz",
                model="E-Klasse",
                vehicle_class="M1",
                fuel="Diesel",
                first_registered=date(2017, 10, 12),
                registered_to_keeper=date(2020, 2, 3),
                vin="WDD2130041A234567",
            ),
        ),
    ),
    BehaviourIdentity(
        idnr="01234567907",
        given_names="Clara",
        family_name="Später",
        date_of_birth=date(1983, 9, 30),
        sex="w",
        behaviour=Behaviour.ASYNCHRONOUS,
        description=(
            "Asynchron: die Register antworten mit ResponseAvailableDateTime "
            "(Nachweis 2 Minuten später abholbar)."
        ),
        postcode="70825",
        street="Johannes-Daur-Straße",
        house_number="5",
        place_of_birth="Ludwigsburg",
        delay=timedelta(minutes=2),
        vehicles=(
            IdentityVehicle(
                plate="LB-CS 830",
                make="Opel",
                model="Corsa",
                vehicle_class="M1",
                fuel="Elektro",
                first_registered=date(2022, 5, 20),
                registered_to_keeper=date(2022, 5, 20),
                vin="W0V0XEP68N4123456",
            ),
        ),
    ),
    BehaviourIdentity(
        idnr="01987654302",
        given_names="Emil",
        family_name="Fehler",
        date_of_birth=date(1970, 4, 1),
        sex="m",
        behaviour=Behaviour.INTERNAL_ERROR,
        description="Interner Fehler: die Register antworten mit EDM:ERR:0008.",
        ags="05315000",
        postcode="50672",
        street="Ehrenstraße",
        house_number="40",
        place_of_birth="Köln",
    ),
    BehaviourIdentity(
        idnr="01987654319",
        given_names="Frieda",
        family_name="Fußgänger",
        date_of_birth=date(1995, 12, 24),
        sex="w",
        behaviour=Behaviour.NO_VEHICLE,
        description=(
            "Kein Fahrzeug: gemeldet in Korntal-Münchingen, aber im Zentralen Fahrzeugregister "
            "ist kein Fahrzeug auf sie zugelassen."
        ),
        street="Saalplatz",
        house_number="4",
        place_of_birth="Stuttgart",
    ),
    BehaviourIdentity(
        idnr="01987654335",
        given_names="Walter",
        family_name="Ewig",
        date_of_birth=date(1931, 5, 5),
        sex="m",
        behaviour=Behaviour.DECEASED,
        description=(
            "Verstorben am 10.10.2025: keine Meldebescheinigung mehr, die Geburtsurkunde "
            "bleibt abrufbar."
        ),
        ags="09162000",
        postcode="81667",
        street="Wörthstraße",
        house_number="12",
        place_of_birth="München",
        date_of_death=date(2025, 10, 10),
    ),
    BehaviourIdentity(
        idnr="01987654343",
        given_names="Jana",
        family_name="Umzug",
        date_of_birth=date(1990, 6, 15),
        sex="w",
        behaviour=Behaviour.MOVED_AWAY,
        description=(
            "Weggezogen: seit 01.03.2026 in München gemeldet; das Melderegister "
            "Korntal-Münchingen kennt sie nicht mehr."
        ),
        ags="09162000",
        postcode="80799",
        street="Türkenstraße",
        house_number="60",
        place_of_birth="Stuttgart",
        moved_in=date(2026, 3, 1),
    ),
)


@dataclass(frozen=True, slots=True)
class DemoCompany:
    court: str
    register: str  # "HRA" | "HRB"
    number: str
    name: str
    legal_form: str
    seat_ags: str
    street: str
    house_number: str
    postcode: str
    first_entry: date
    business_object: str
    capital_cents: int
    managing_director: str  # IDNr
    role: str


#: The company of the Gewerbeanmeldung demo: its managing director is Erika Mustermann.
DEMO_COMPANY = DemoCompany(
    court="Amtsgericht München",
    register="HRB",
    number="254871",
    name="Mustermann Digital GmbH",
    legal_form="Gesellschaft mit beschränkter Haftung",
    seat_ags="09162000",
    street="Leopoldstraße",
    house_number="31",
    postcode="80802",
    first_entry=date(2019, 2, 11),
    business_object="Entwicklung und Vertrieb von Software sowie damit verbundene Beratung.",
    capital_cents=2_500_000,
    managing_director="02476291358",
    role="Geschäftsführerin",
)


def identity(idnr: str) -> BehaviourIdentity | None:
    """The identity with this IDNr (the first one for the ambiguous pair), or None."""
    return _BY_IDNR.get(idnr)


def behaviour_of(idnr: str) -> Behaviour:
    """The behaviour a register shows for ``idnr``: NORMAL for everyone not listed."""
    found = _BY_IDNR.get(idnr)
    return found.behaviour if found is not None else Behaviour.NORMAL


def reserved_idnrs() -> frozenset[str]:
    """IDNrs the random generator must never hand out."""
    return frozenset(_BY_IDNR)


def reserved_plates() -> frozenset[str]:
    return frozenset(v.plate for i in BEHAVIOUR_IDENTITIES for v in i.vehicles)


_BY_IDNR = {i.idnr: i for i in BEHAVIOUR_IDENTITIES}


def markdown_table() -> str:
    """The identities as the Markdown table in ``docs/identities.md``."""
    rows = [
        "| IDNr | Name | Geburtsdatum | Verhalten | Beschreibung |",
        "|---|---|---|---|---|",
    ]
    for i in BEHAVIOUR_IDENTITIES:
        rows.append(
            f"| `{i.idnr}` | {i.given_names} {i.family_name} | {i.date_of_birth:%d.%m.%Y} "
            f"| `{i.behaviour.value}` | {i.description} |"
        )
    d = DEMO_COMPANY
    return (
        "# Test identities\n\n"
        "Fixed test persons that every seeded population contains (`noots seed`, any size and\n"
        "seed), each provoking one register behaviour. Generated from\n"
        "`noots/synthetic/identities.py` (`BEHAVIOUR_IDENTITIES`); a test keeps this file\n"
        "current.\n"
        "All IDNrs are test numbers (leading 0) that the random generator never hands out.\n\n"
        + "\n".join(rows)
        + "\n\n"
        f"Demo company for the Gewerbeanmeldung: **{d.name}**, {d.court}, "
        f"{d.register} {d.number}, represented by the normal person `{d.managing_director}`.\n"
    )
