"""The synthetic population every register and the IDA answer from.

One SQLite file (``<data dir>/population.db``) holds the people of the landscape, so one person
is the same person everywhere: in the IDA, in the Melderegister of their municipality, in the
Personenstandsregister (if born in Germany) and in the KBA's Zentrales Fahrzeugregister
(if they keep a vehicle); companies of the Handelsregister name persons as representatives.

:func:`seed_population` builds the file deterministically from ``(people, seed, topology)``:
names, streets and places are drawn once into pools from faker's ``de_DE`` data with the seed,
then combined by a seeded :class:`random.Random` (calling faker per person is far too slow for
a million people). Only test IDNrs (leading 0) are used, from :func:`noots.idnr.iter_test_numbers`,
never one of the reserved :mod:`noots.synthetic.identities`; those identities are always added.

:class:`PopulationStore` is the one place the registers and the IDA read from: pure queries,
each an index search (the cost is the same at ten thousand and at a million people), over
read-only connections that may be used from several threads.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import math
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

from noots.errors import ConfigurationError
from noots.idnr import iter_test_numbers
from noots.synthetic.identities import (
    BEHAVIOUR_IDENTITIES,
    DEMO_COMPANY,
    reserved_idnrs,
    reserved_plates,
)
from noots.topology import RegisterSpec, Topology, load_topology

__all__ = [
    "GENERATOR_VERSION",
    "PARALLEL_THRESHOLD",
    "POPULATION_FILE",
    "REFERENCE_DATE",
    "BirthRecord",
    "Company",
    "Officer",
    "Person",
    "PopulationStore",
    "PopulationSummary",
    "ProgressCallback",
    "Vehicle",
    "default_path",
    "seed_population",
]

POPULATION_FILE = "population.db"
#: Bump when the same (people, seed) would produce different content.
GENERATOR_VERSION = 1
#: The population is a snapshot "as of" this day (not the wall clock: seeding is reproducible).
REFERENCE_DATE = date(2026, 11, 1)

ProgressCallback = Callable[[str, int, int], None]
"""``(stage, done, total)``; stages: ``persons``, ``companies``, ``indexes``."""

_CHUNK = 25_000

# -- records ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    """A resident as the Melderegister and the IDA know them."""

    idnr: str
    family_name: str
    given_names: str
    birth_name: str | None  # None: same as the family name
    sex: str  # "m" | "w" | "d"
    date_of_birth: date
    place_of_birth: str
    nationality: str  # ISO 3166-1 alpha-2
    street: str
    house_number: str
    postcode: str
    city: str
    ags: str
    moved_in: date
    information_block: bool
    date_of_death: date | None


@dataclass(frozen=True, slots=True)
class BirthRecord:
    """An entry of the Geburtenregister; the parents share the child's family name at birth."""

    idnr: str
    given_names: str
    family_name: str
    sex: str
    date_of_birth: date
    place_of_birth: str
    registry_office: str
    entry: str  # "G 1234/1990"
    mother_given_names: str
    mother_birth_name: str
    father_given_names: str


@dataclass(frozen=True, slots=True)
class Vehicle:
    """The data of a Zulassungsbescheinigung Teil I."""

    holder_idnr: str
    plate: str
    vin: str
    make: str
    model: str
    vehicle_class: str  # M1 | L3e | N1
    fuel: str
    first_registered: date
    registered_to_keeper: date


@dataclass(frozen=True, slots=True)
class Officer:
    idnr: str
    role: str


@dataclass(frozen=True, slots=True)
class Company:
    """A Handelsregister entry."""

    court: str
    register: str  # HRA | HRB
    number: str
    name: str
    legal_form: str
    seat: str
    street: str
    house_number: str
    postcode: str
    city: str
    first_entry: date
    business_object: str
    capital_cents: int | None
    officers: tuple[Officer, ...]


@dataclass(frozen=True, slots=True)
class PopulationSummary:
    path: Path
    people: int
    births: int
    vehicles: int
    companies: int
    seconds: float


# -- schema ----------------------------------------------------------------------------------

_TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE persons (
    id INTEGER PRIMARY KEY,
    idnr TEXT NOT NULL,
    family_name TEXT NOT NULL,
    given_names TEXT NOT NULL,
    birth_name TEXT,
    sex TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    place_of_birth TEXT NOT NULL,
    nationality TEXT NOT NULL,
    street TEXT NOT NULL,
    house_number TEXT NOT NULL,
    postcode TEXT NOT NULL,
    city TEXT NOT NULL,
    ags TEXT NOT NULL,
    moved_in TEXT NOT NULL,
    information_block INTEGER NOT NULL,
    date_of_death TEXT
);
CREATE TABLE births (
    id INTEGER PRIMARY KEY,
    idnr TEXT NOT NULL,
    given_names TEXT NOT NULL,
    family_name TEXT NOT NULL,
    sex TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    place_of_birth TEXT NOT NULL,
    registry_office TEXT NOT NULL,
    entry TEXT NOT NULL,
    mother_given_names TEXT NOT NULL,
    mother_birth_name TEXT NOT NULL,
    father_given_names TEXT NOT NULL
);
CREATE TABLE vehicles (
    id INTEGER PRIMARY KEY,
    holder_idnr TEXT NOT NULL,
    plate TEXT NOT NULL,
    vin TEXT NOT NULL,
    make TEXT NOT NULL,
    model TEXT NOT NULL,
    vehicle_class TEXT NOT NULL,
    fuel TEXT NOT NULL,
    first_registered TEXT NOT NULL,
    registered_to_keeper TEXT NOT NULL
);
CREATE TABLE companies (
    id INTEGER PRIMARY KEY,
    court TEXT NOT NULL,
    register TEXT NOT NULL,
    number TEXT NOT NULL,
    name TEXT NOT NULL,
    legal_form TEXT NOT NULL,
    seat TEXT NOT NULL,
    street TEXT NOT NULL,
    house_number TEXT NOT NULL,
    postcode TEXT NOT NULL,
    city TEXT NOT NULL,
    first_entry TEXT NOT NULL,
    business_object TEXT NOT NULL,
    capital_cents INTEGER
);
CREATE TABLE officers (
    company_id INTEGER NOT NULL REFERENCES companies(id),
    idnr TEXT NOT NULL,
    role TEXT NOT NULL
);
"""

# Created after the bulk load: building a B-tree once is much cheaper than keeping it sorted
# during a million random-order inserts.
_INDEXES = (
    "CREATE UNIQUE INDEX persons_idnr ON persons (idnr)",
    "CREATE INDEX persons_address ON persons (family_name, date_of_birth, postcode)",
    "CREATE INDEX persons_name ON persons (family_name, date_of_birth, given_names)",
    "CREATE INDEX persons_ags ON persons (ags)",
    "CREATE UNIQUE INDEX births_idnr ON births (idnr)",
    "CREATE INDEX vehicles_holder ON vehicles (holder_idnr)",
    "CREATE UNIQUE INDEX vehicles_plate ON vehicles (plate)",
    "CREATE UNIQUE INDEX companies_number ON companies (court, register, number)",
    "CREATE INDEX officers_company ON officers (company_id)",
    "CREATE INDEX officers_idnr ON officers (idnr)",
)

_TABLE_ORDER = ("meta", "persons", "births", "vehicles", "companies", "officers")

# -- fixed reference data --------------------------------------------------------------------

# Age bands of ten years with weights after the German age structure (Destatis, rounded).
_AGE_BAND_WEIGHTS = (9.6, 9.2, 11.2, 13.3, 12.0, 15.2, 13.4, 9.0, 5.8, 1.3)
_NATIONALITIES: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("TR", 1.7, ("Istanbul", "Ankara", "Izmir", "Kayseri")),
    ("UA", 1.4, ("Kyjiw", "Charkiw", "Odessa", "Lwiw")),
    ("SY", 1.1, ("Damaskus", "Aleppo", "Homs")),
    ("PL", 1.0, ("Warschau", "Krakau", "Breslau", "Danzig")),
    ("RO", 1.0, ("Bukarest", "Cluj-Napoca", "Timișoara", "Iași")),
    ("IT", 0.8, ("Rom", "Mailand", "Neapel", "Palermo")),
    ("HR", 0.5, ("Zagreb", "Split", "Rijeka")),
    ("BG", 0.5, ("Sofia", "Plowdiw", "Warna")),
    ("GR", 0.4, ("Athen", "Thessaloniki", "Patras")),
    ("AF", 0.4, ("Kabul", "Herat", "Masar-e Scharif")),
    ("IN", 0.3, ("Bengaluru", "Mumbai", "Neu-Delhi")),
    ("AT", 0.3, ("Wien", "Graz", "Linz", "Salzburg")),
    ("RU", 0.3, ("Moskau", "Sankt Petersburg", "Nowosibirsk")),
    ("FR", 0.2, ("Paris", "Lyon", "Straßburg")),
    ("ES", 0.2, ("Madrid", "Barcelona", "Valencia")),
    ("VN", 0.2, ("Hanoi", "Ho-Chi-Minh-Stadt")),
    ("US", 0.2, ("New York", "Chicago", "Los Angeles")),
)
_GERMAN_SHARE = 100.0 - sum(w for _, w, _ in _NATIONALITIES)

# (class, weight, [(make, model, WMI, weight)], [(fuel, weight)])
_VEHICLES: tuple[
    tuple[str, float, tuple[tuple[str, str, str], ...], tuple[tuple[str, float], ...]], ...
] = (
    (
        "M1",
        86.0,
        (
            ("Volkswagen", "Golf", "WVW"),
            ("Volkswagen", "Polo", "WVW"),
            ("Volkswagen", "Passat", "WVW"),
            ("Volkswagen", "Tiguan", "WVG"),
            ("Mercedes-Benz", "A-Klasse", "WDD"),
            ("Mercedes-Benz", "C-Klasse", "WDD"),
            ("BMW", "1er", "WBA"),
            ("BMW", "3er", "WBA"),
            ("Audi", "A3", "WAU"),
            ("Audi", "A4", "WAU"),
            ("Opel", "Corsa", "W0V"),
            ("Opel", "Astra", "W0V"),
            ("Ford", "Fiesta", "WF0"),
            ("Ford", "Focus", "WF0"),
            ("Skoda", "Octavia", "TMB"),
            ("Seat", "Leon", "VSS"),
            ("Toyota", "Yaris", "VNK"),
            ("Hyundai", "i30", "TMA"),
            ("Renault", "Clio", "VF1"),
            ("Fiat", "500", "ZFA"),
            ("Dacia", "Sandero", "UU1"),
            ("Tesla", "Model Y", "XP7"),
        ),
        (("Benzin", 58.0), ("Diesel", 28.0), ("Hybrid", 8.0), ("Elektro", 6.0)),
    ),
    (
        "L3e",
        9.0,
        (
            ("BMW", "R 1250 GS", "WB1"),
            ("Honda", "CB500F", "JH2"),
            ("Kawasaki", "Z900", "JKA"),
            ("Yamaha", "MT-07", "JYA"),
            ("KTM", "390 Duke", "VBK"),
        ),
        (("Benzin", 97.0), ("Elektro", 3.0)),
    ),
    (
        "N1",
        5.0,
        (
            ("Volkswagen", "Transporter", "WV2"),
            ("Mercedes-Benz", "Sprinter", "WDB"),
            ("Ford", "Transit", "WF0"),
            ("Renault", "Kangoo", "VF1"),
        ),
        (("Diesel", 85.0), ("Elektro", 10.0), ("Benzin", 5.0)),
    ),
)
_VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # ISO 3779: no I, O, Q
_VIN_YEARS = "ABCDEFGHJKLMNPRSTVWXY123456789"  # model year codes from 1980, 30-year cycle


def _vehicle_table() -> tuple[
    list[tuple[str, str, str, str, str, tuple[str, ...], list[float]]], list[float]
]:
    """One flat table of (class, make, model, WMI+VDS, plant, fuels, fuel weights)."""
    table = []
    weights = []
    for cls, class_weight, models, fuels in _VEHICLES:
        fuel_names = tuple(f for f, _ in fuels)
        fuel_cum = list(_cumulative([w for _, w in fuels]))
        for make, model, wmi in models:
            digest = hashlib.sha256(f"{make} {model}".encode()).digest()
            vds = "".join(_VIN_ALPHABET[b % len(_VIN_ALPHABET)] for b in digest[:6])
            plant = _VIN_ALPHABET[digest[6] % len(_VIN_ALPHABET)]
            table.append((cls, make, model, wmi + vds, plant, fuel_names, fuel_cum))
            weights.append(class_weight / len(models))
    return table, list(_cumulative(weights))


_FORBIDDEN_PLATE_LETTERS = frozenset({"KZ", "SA", "SS", "NS", "HJ"})

# (firm suffix, legal form, register, weight, capital range in EUR or None)
_LEGAL_FORMS: tuple[tuple[str, str, str, float, tuple[int, int] | None], ...] = (
    ("GmbH", "Gesellschaft mit beschränkter Haftung", "HRB", 55.0, (25_000, 250_000)),
    ("UG (haftungsbeschränkt)", "Unternehmergesellschaft (haftungsbeschränkt)", "HRB", 15.0,
     (1, 5_000)),
    ("e.K.", "eingetragener Kaufmann", "HRA", 15.0, None),
    ("KG", "Kommanditgesellschaft", "HRA", 8.0, None),
    ("AG", "Aktiengesellschaft", "HRB", 7.0, (50_000, 2_000_000)),
)  # fmt: skip
_BRANCHES: tuple[tuple[str, str], ...] = (
    ("Bau", "Ausführung von Hoch- und Tiefbauarbeiten."),
    ("Logistik", "Transport und Lagerung von Gütern aller Art."),
    ("Software", "Entwicklung und Vertrieb von Software."),
    ("Elektrotechnik", "Planung und Installation elektrotechnischer Anlagen."),
    ("Immobilien", "Erwerb, Verwaltung und Vermietung von Immobilien."),
    ("Consulting", "Unternehmensberatung."),
    ("Gastronomie", "Betrieb von Gaststätten und Cateringdienstleistungen."),
    ("Handel", "Groß- und Einzelhandel mit Waren aller Art."),
    ("Medien", "Herstellung und Vertrieb von Medienprodukten."),
    ("Haustechnik", "Installation von Sanitär-, Heizungs- und Klimaanlagen."),
    ("Automobile", "Handel mit und Reparatur von Kraftfahrzeugen."),
    ("Reisen", "Vermittlung und Veranstaltung von Reisen."),
    ("Design", "Gestaltung von Produkten und Kommunikationsmitteln."),
    ("Maschinenbau", "Herstellung von Maschinen und Anlagen."),
    ("Energie", "Planung und Betrieb von Anlagen zur Erzeugung erneuerbarer Energie."),
)
_COURTS = {
    "08118079": "Amtsgericht Stuttgart",
    "09162000": "Amtsgericht München",
    "11000000": "Amtsgericht Charlottenburg",
    "02000000": "Amtsgericht Hamburg",
    "05315000": "Amtsgericht Köln",
}
_ROLES = {
    "GmbH": ("Geschäftsführer", "Geschäftsführerin"),
    "UG (haftungsbeschränkt)": ("Geschäftsführer", "Geschäftsführerin"),
    "AG": ("Vorstand", "Vorständin"),
    "e.K.": ("Inhaber", "Inhaberin"),
    "KG": ("persönlich haftender Gesellschafter", "persönlich haftende Gesellschafterin"),
}


# -- pools -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pools:
    family_names: tuple[str, ...]
    female_names: tuple[str, ...]
    male_names: tuple[str, ...]
    streets: tuple[str, ...]
    cities: tuple[str, ...]


@functools.cache
def _pools(seed: int) -> _Pools:
    """Names and places drawn once from faker's de_DE data with the seed (cached: immutable)."""
    from faker import Faker

    fake = Faker("de_DE")
    fake.seed_instance(seed)
    reserved = {i.family_name for i in BEHAVIOUR_IDENTITIES}
    reserved.add(DEMO_COMPANY.name.split()[0])
    # Unique and sorted, so the pools do not depend on faker's draw order, only its data.
    family = sorted({fake.last_name() for _ in range(6_000)} - reserved)
    rng = random.Random(f"noots-population:{seed}:pools")  # noqa: S311 - seeded test data
    # A share of double names widens the 400-odd surnames of the de_DE data.
    doubles = {
        f"{a}-{b}"
        for a, b in zip(rng.choices(family, k=800), rng.choices(family, k=800), strict=True)
        if a != b
    }
    return _Pools(
        family_names=tuple(family) + tuple(sorted(doubles)),
        female_names=tuple(sorted({fake.first_name_female() for _ in range(8_000)})),
        male_names=tuple(sorted({fake.first_name_male() for _ in range(8_000)})),
        streets=tuple(sorted({fake.street_name() for _ in range(4_000)})),
        cities=tuple(sorted({fake.city_name() for _ in range(3_000)})),
    )


# -- generation ------------------------------------------------------------------------------


@dataclass
class _Municipality:
    ags: str
    name: str
    postcodes: tuple[str, ...]
    plate_prefix: str
    weight: float
    plates: _PlateSequence


class _PlateSequence:
    """Unique registration plates of one district, in a seeded order without repetition.

    An affine permutation of the index space (letter group x number) gives every plate at most
    once without remembering the plates already issued.
    """

    def __init__(self, prefix: str, rng: random.Random, reserved: frozenset[str]) -> None:
        self.prefix = prefix
        letters = [chr(c) for c in range(65, 91)]
        groups = letters + [a + b for a in letters for b in letters]
        self.groups = [g for g in groups if g not in _FORBIDDEN_PLATE_LETTERS]
        # At most eight letters and digits on a plate, the district included.
        self.digits = 9_999 if len(prefix) <= 2 else 999
        self.size = len(self.groups) * self.digits
        step = rng.randrange(self.size // 3, self.size)
        while math.gcd(step, self.size) != 1:
            step += 1
        self.step = step
        self.offset = rng.randrange(self.size)
        self.issued = 0
        self.reserved = reserved

    def next(self) -> str:
        while True:
            if self.issued >= self.size:
                raise RuntimeError(f"no plates left for district {self.prefix}")
            index = (self.offset + self.step * self.issued) % self.size
            self.issued += 1
            group, number = divmod(index, self.digits)
            plate = f"{self.prefix}-{self.groups[group]} {number + 1}"
            if plate not in self.reserved:
                return plate


def _residences(topology: Topology) -> list[RegisterSpec]:
    """The Melderegister whose municipalities people live in; there must be one at least."""
    registers = topology.municipalities()
    if not registers:
        raise ConfigurationError(
            f"the topology {topology.name!r} has no Melderegister: every synthetic person "
            "lives in a Melderegister's municipality, so no population can be seeded. Add a "
            "register of kind melderegister (with region and municipality) to the topology"
        )
    return registers


def _municipalities(
    topology: Topology, rng: random.Random, plates: frozenset[str]
) -> list[_Municipality]:
    out = []
    for register in _residences(topology):
        m = register.municipality
        # The topology guarantees both for a Melderegister.
        assert m is not None
        assert register.region is not None
        out.append(
            _Municipality(
                ags=register.region,
                name=m.name,
                postcodes=tuple(m.postcodes),
                plate_prefix=m.plate_prefix,
                weight=float(m.inhabitants),
                plates=_PlateSequence(m.plate_prefix, rng, plates),
            )
        )
    return out


class _Generator:
    def __init__(self, seed: int, topology: Topology) -> None:
        self.seed = seed
        self.rng = random.Random(f"noots-population:{seed}:people")  # noqa: S311
        self.pools = _pools(seed)
        self.reserved_plates = reserved_plates()
        self.munis = _municipalities(
            topology,
            random.Random(f"noots-population:{seed}:plates"),  # noqa: S311
            self.reserved_plates,
        )
        self.muni_cum = list(_cumulative([m.weight for m in self.munis]))
        self.ref = REFERENCE_DATE.toordinal()
        # Every date the generator writes lies in these 110 years: format each once.
        self.first_ordinal = self.ref - 110 * 366
        days = [date.fromordinal(o) for o in range(self.first_ordinal, self.ref + 1)]
        self.iso = [d.isoformat() for d in days]
        self.year_of = [d.year for d in days]
        self.vin_serial = 0
        self.adults: list[tuple[str, str, int]] = []  # idnr, sex, municipality index

    # Persons, births and vehicles of one chunk; the columns are drawn in bulk (one call per
    # column and chunk) because that is several times faster than per-person calls.
    def chunk(
        self, idnrs: Sequence[str]
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        rng, pools, n, ref = self.rng, self.pools, len(idnrs), self.ref
        rand = rng.random
        choices = rng.choices
        sexes = choices(("w", "m", "d"), cum_weights=(50.6, 99.9, 100.0), k=n)
        female = choices(pools.female_names, k=n)
        male = choices(pools.male_names, k=n)
        second_f = choices(pools.female_names, k=n)
        second_m = choices(pools.male_names, k=n)
        family = choices(pools.family_names, k=n)
        other_family = choices(pools.family_names, k=n)
        mothers = choices(pools.female_names, k=n)
        mother_names = choices(pools.family_names, k=n)
        fathers = choices(pools.male_names, k=n)
        bands = choices(range(10), cum_weights=tuple(_cumulative(_AGE_BAND_WEIGHTS)), k=n)
        munis = choices(range(len(self.munis)), cum_weights=self.muni_cum, k=n)
        streets = choices(pools.streets, k=n)
        birth_cities = choices(pools.cities, k=n)
        nats = choices(
            range(len(_NATIONALITIES) + 1),
            cum_weights=tuple(_cumulative([_GERMAN_SHARE] + [w for _, w, _ in _NATIONALITIES])),
            k=n,
        )
        persons: list[tuple[Any, ...]] = []
        births: list[tuple[Any, ...]] = []
        vehicles: list[tuple[Any, ...]] = []
        iso, year_of, base = self.iso, self.year_of, self.first_ordinal
        for i in range(n):
            idnr = idnrs[i]
            sex = sexes[i]
            feminine = sex == "w" or (sex == "d" and rand() < 0.5)
            given = female[i] if feminine else male[i]
            if rand() < 0.25:
                second = second_f[i] if feminine else second_m[i]
                if second != given:
                    given = f"{given} {second}"
            age_days = bands[i] * 3_652 + int(rand() * 3_652)
            dob = ref - age_days
            adult = age_days >= 18 * 366
            birth_family = family[i]
            current = birth_family
            if adult and sex == "w" and rand() < 0.45:
                current = other_family[i]  # took the spouse's name
            muni_index = munis[i]
            muni = self.munis[muni_index]
            nat = nats[i]
            if nat == 0:
                nationality = "DE"
                abroad = rand() < 0.04
                if abroad:
                    place = rng.choice(_NATIONALITIES[int(rand() * len(_NATIONALITIES))][2])
                else:
                    place = muni.name if rand() < 0.35 else birth_cities[i]
            else:
                nationality, _, foreign_cities = _NATIONALITIES[nat - 1]
                abroad = rand() < 0.85
                place = rng.choice(foreign_cities) if abroad else birth_cities[i]
            house = str(int(rand() * 180) + 1)
            if rand() < 0.06:
                house += "abc"[int(rand() * 3)]
            moved_in = dob + int(rand() * (ref - dob))
            persons.append(
                (
                    idnr,
                    current,
                    given,
                    birth_family if current != birth_family else None,
                    sex,
                    iso[dob - base],
                    place,
                    nationality,
                    streets[i],
                    house,
                    muni.postcodes[int(rand() * len(muni.postcodes))],
                    muni.name,
                    muni.ags,
                    iso[moved_in - base],
                    1 if rand() < 0.005 else 0,
                    None,
                )
            )
            birth_year = year_of[dob - base]
            if not abroad:
                births.append(
                    (
                        idnr,
                        given,
                        birth_family,
                        sex,
                        iso[dob - base],
                        place,
                        f"Standesamt {place}",
                        f"G {int(rand() * 2_400) + 1}/{birth_year}",
                        mothers[i],
                        mother_names[i],
                        fathers[i],
                    )
                )
            if adult:
                self.adults.append((idnr, sex, muni_index))
                owned = 0
                if rand() < 0.46:
                    owned = 2 if rand() < 0.15 else 1
                for _ in range(owned):
                    vehicles.append(self._vehicle(idnr, dob, muni))
        return persons, births, vehicles

    def _vehicle(self, holder: str, dob: int, muni: _Municipality) -> tuple[Any, ...]:
        rand = self.rng.random
        entry = _VEHICLE_TABLE[bisect.bisect(_VEHICLE_CUM, rand() * _VEHICLE_CUM[-1])]
        cls, make, model, vin_prefix, plant, fuels, fuel_cum = entry
        fuel = fuels[bisect.bisect(fuel_cum, rand() * fuel_cum[-1])]
        earliest = max(dob + 18 * 366, self.ref - 25 * 365)
        first = earliest + int(rand() * (self.ref - earliest))
        to_keeper = first + int(rand() * (self.ref - first)) if rand() < 0.4 else first
        self.vin_serial += 1
        year = self.year_of[first - self.first_ordinal]
        # WMI + VDS, model year, plant, serial: unique because the serial is.
        vin = (
            f"{vin_prefix}{_VIN_YEARS[(year - 1980) % 30]}{plant}{self.vin_serial % 1_000_000:06d}"
        )
        iso = self.iso
        base = self.first_ordinal
        return (
            holder,
            muni.plates.next(),
            vin,
            make,
            model,
            cls,
            fuel,
            iso[first - base],
            iso[to_keeper - base],
        )

    def companies(self, count: int) -> tuple[list[tuple[Any, ...]], list[tuple[int, str, str]]]:
        """``count`` companies with representatives drawn from the adults generated so far."""
        rng = random.Random(f"noots-population:{self.seed}:companies")  # noqa: S311
        rand = rng.random
        companies: list[tuple[Any, ...]] = []
        officers: list[tuple[int, str, str]] = []
        counters: dict[tuple[str, str], int] = {}
        demo_key = (DEMO_COMPANY.court, DEMO_COMPANY.register, DEMO_COMPANY.number)
        form_cum = tuple(_cumulative([f[3] for f in _LEGAL_FORMS]))
        if not self.adults:
            return companies, officers
        # Company ids start after the demo company, which is always id 1.
        for company_id in range(2, count + 2):
            suffix, legal_form, register, _, capital_range = _LEGAL_FORMS[
                _pick(rand() * form_cum[-1], form_cum)
            ]
            first_idnr, first_sex, muni_index = self.adults[int(rand() * len(self.adults))]
            muni = self.munis[muni_index] if rand() < 0.8 else rng.choice(self.munis)
            court = _COURTS.get(muni.ags, f"Amtsgericht {muni.name}")
            key = (court, register)
            while True:
                number = counters.get(key, 10_000 + int(rand() * 90_000)) + 1 + int(rand() * 25)
                counters[key] = number
                if (court, register, str(number)) != demo_key:
                    break
            branch, purpose = _BRANCHES[int(rand() * len(_BRANCHES))]
            surname = self.pools.family_names[int(rand() * len(self.pools.family_names))]
            if suffix == "e.K.":
                legal = "eingetragene Kauffrau" if first_sex == "w" else legal_form
                name = f"{surname} {branch} e.K."
            else:
                legal = legal_form
                name = f"{surname} {branch} {suffix}"
            capital = None
            if capital_range is not None:
                low, high = capital_range
                capital = (low + int(rand() * (high - low))) * 100
            start = max(self.ref - 36 * 365, date(1990, 1, 1).toordinal())
            companies.append(
                (
                    company_id,
                    court,
                    register,
                    str(number),
                    name,
                    legal,
                    muni.name,
                    self.pools.streets[int(rand() * len(self.pools.streets))],
                    str(int(rand() * 120) + 1),
                    muni.postcodes[int(rand() * len(muni.postcodes))],
                    muni.name,
                    self.iso[start + int(rand() * (self.ref - start)) - self.first_ordinal],
                    purpose,
                    capital,
                )
            )
            male_role, female_role = _ROLES[suffix]
            people = [(first_idnr, first_sex)]
            extra = 0
            if suffix in ("GmbH", "AG"):
                extra = 1 if rand() < (0.3 if suffix == "GmbH" else 0.8) else 0
            for _ in range(extra):
                idnr, sex, _ = self.adults[int(rand() * len(self.adults))]
                if idnr != first_idnr:
                    people.append((idnr, sex))
            for idnr, sex in people:
                officers.append((company_id, idnr, female_role if sex == "w" else male_role))
        return companies, officers


def _cumulative(weights: Sequence[float]) -> Iterator[float]:
    total = 0.0
    for weight in weights:
        total += weight
        yield total


_VEHICLE_TABLE, _VEHICLE_CUM = _vehicle_table()


def _pick(value: float, cum_weights: Sequence[float]) -> int:
    for index, bound in enumerate(cum_weights):
        if value < bound:
            return index
    return len(cum_weights) - 1


def _identity_rows(
    topology: Topology,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Rows of the behaviour identities; moved to the first municipality if theirs is absent."""
    residences = _residences(topology)
    munis = {r.region: r for r in residences}
    fallback = residences[0]
    persons, births, vehicles = [], [], []
    for ident in BEHAVIOUR_IDENTITIES:
        if not ident.in_population:
            continue
        register: RegisterSpec = munis.get(ident.ags, fallback)
        assert register.municipality is not None
        assert register.region is not None
        postcode = ident.postcode
        if register.region != ident.ags or postcode not in register.municipality.postcodes:
            postcode = register.municipality.postcodes[0]
        persons.append(
            (
                ident.idnr,
                ident.family_name,
                ident.given_names,
                ident.birth_name,
                ident.sex,
                ident.date_of_birth.isoformat(),
                ident.place_of_birth,
                ident.nationality,
                ident.street,
                ident.house_number,
                postcode,
                register.municipality.name,
                register.region,
                ident.moved_in.isoformat(),
                1 if ident.information_block else 0,
                ident.date_of_death.isoformat() if ident.date_of_death else None,
            )
        )
        if ident.born_in_germany:
            mother_given, mother_birth = ident.mother
            births.append(
                (
                    ident.idnr,
                    ident.given_names,
                    ident.birth_name or ident.family_name,
                    ident.sex,
                    ident.date_of_birth.isoformat(),
                    ident.place_of_birth,
                    f"Standesamt {ident.place_of_birth}",
                    f"G {100 + int(ident.idnr[-4:]) % 900}/{ident.date_of_birth.year}",
                    mother_given,
                    mother_birth,
                    ident.father_given_names,
                )
            )
        for v in ident.vehicles:
            vehicles.append(
                (
                    ident.idnr,
                    v.plate,
                    v.vin,
                    v.make,
                    v.model,
                    v.vehicle_class,
                    v.fuel,
                    v.first_registered.isoformat(),
                    v.registered_to_keeper.isoformat(),
                )
            )
    return persons, births, vehicles


def _demo_company_rows(
    topology: Topology,
) -> tuple[tuple[Any, ...], tuple[int, str, str]]:
    d = DEMO_COMPANY
    residences = _residences(topology)
    munis = {r.region: r for r in residences}
    register = munis.get(d.seat_ags, residences[0])
    assert register.municipality is not None
    city = register.municipality.name
    postcode = (
        d.postcode
        if d.postcode in register.municipality.postcodes
        else (register.municipality.postcodes[0])
    )
    company = (
        1,
        d.court,
        d.register,
        d.number,
        d.name,
        d.legal_form,
        city,
        d.street,
        d.house_number,
        postcode,
        city,
        d.first_entry.isoformat(),
        d.business_object,
        d.capital_cents,
    )
    return company, (1, d.managing_director, d.role)


# -- seeding ---------------------------------------------------------------------------------

_PERSON_INSERT = "INSERT INTO persons VALUES (NULL" + ", ?" * 16 + ")"
_BIRTH_INSERT = "INSERT INTO births VALUES (NULL" + ", ?" * 11 + ")"
_VEHICLE_INSERT = "INSERT INTO vehicles VALUES (NULL" + ", ?" * 9 + ")"
_COMPANY_INSERT = "INSERT INTO companies VALUES (?" + ", ?" * 13 + ")"
_OFFICER_INSERT = "INSERT INTO officers VALUES (?, ?, ?)"


Rows = list[tuple[Any, ...]]
# A batch from the generator: ("people", persons, births, vehicles) per chunk, then one
# ("companies", companies, officers, []).
_Batch = tuple[str, Rows, Rows, Rows]


def _batches(
    seed: int, topology: Topology, random_people: int, companies_wanted: int
) -> Iterator[_Batch]:
    """Everything random, in insertion order; pure function of its arguments."""
    generator = _Generator(seed, topology)
    numbers = _random_idnrs(seed)
    done = 0
    while done < random_people:
        size = min(_CHUNK, random_people - done)
        idnrs = [next(numbers) for _ in range(size)]
        yield ("people", *generator.chunk(idnrs))
        done += size
    companies, officers = generator.companies(companies_wanted)
    yield ("companies", companies, list(officers), [])


def _produce(queue: Any, args: tuple[int, Topology, int, int]) -> None:
    """Worker process: generate batches while the parent writes them to SQLite."""
    try:
        for batch in _batches(*args):
            queue.put(batch)
        queue.put(None)
    except BaseException as exc:  # the parent must learn why, not wait forever
        queue.put(("error", repr(exc)))
        raise


def _batches_in_worker(args: tuple[int, Topology, int, int]) -> Iterator[_Batch]:
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    # fork where there is one: the child inherits the loaded faker data instead of re-importing.
    context: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    queue = context.Queue(maxsize=4)
    worker = context.Process(target=_produce, args=(queue, args), daemon=True)
    worker.start()
    try:
        while True:
            item = queue.get()
            if item is None:
                break
            if item[0] == "error":
                raise RuntimeError(f"population generator failed: {item[1]}")
            yield item
    finally:
        if worker.is_alive():
            worker.terminate()
        worker.join()


#: From this many people on, generation runs in a second process beside the SQLite writer.
PARALLEL_THRESHOLD = 100_000


def seed_population(
    path: str | os.PathLike[str],
    *,
    people: int,
    seed: int,
    topology: Topology | None = None,
    show_progress: bool = False,
    progress: ProgressCallback | None = None,
    parallel: bool | None = None,
) -> PopulationSummary:
    """Build the population file at ``path`` (replacing it atomically when done).

    ``people`` counts everyone, the behaviour identities included (they are always there, so
    a smaller ``people`` still yields them). Same ``(people, seed, topology)`` and generator
    version → the same content, whether generated in a worker process (``parallel``; by
    default from :data:`PARALLEL_THRESHOLD` people on) or not.

    Everyone lives in a municipality of the topology's Melderegister (the other registers
    describe the same people), so a topology without one is refused with a
    :class:`~noots.errors.ConfigurationError` before anything is written.
    """
    if people < 0:
        raise ValueError("people must not be negative")
    started = time.perf_counter()
    topology = topology or load_topology()
    _residences(topology)  # refuse before anything is written
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)

    if show_progress and progress is None:
        with _RichProgress() as rich_progress:
            return seed_population(
                path,
                people=people,
                seed=seed,
                topology=topology,
                progress=rich_progress,
                parallel=parallel,
            )
    report = progress or (lambda stage, done, total: None)

    id_persons, id_births, id_vehicles = _identity_rows(topology)
    random_people = max(people - len(id_persons), 0)
    companies_wanted = random_people // 40
    args = (seed, topology, random_people, companies_wanted)
    if parallel is None:
        parallel = random_people >= PARALLEL_THRESHOLD
    batches = _batches_in_worker(args) if parallel else _batches(*args)

    db = sqlite3.connect(partial, isolation_level=None)
    try:
        # Nothing to protect during the load: a crash leaves only the .partial file behind.
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA cache_size=-131072")
        db.execute("PRAGMA temp_store=MEMORY")
        db.execute("PRAGMA threads=2")  # helper threads sort for CREATE INDEX
        db.executescript(_TABLES)
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [
                ("generator_version", str(GENERATOR_VERSION)),
                ("seed", str(seed)),
                ("people", str(people)),
                ("reference_date", REFERENCE_DATE.isoformat()),
                ("topology", topology.name),
            ],
        )
        db.executemany(_PERSON_INSERT, id_persons)
        db.executemany(_BIRTH_INSERT, id_births)
        db.executemany(_VEHICLE_INSERT, id_vehicles)
        demo_company, demo_officer = _demo_company_rows(topology)
        db.execute(_COMPANY_INSERT, demo_company)
        db.execute(_OFFICER_INSERT, demo_officer)
        counts = [len(id_persons), len(id_births), len(id_vehicles), 1]
        report("persons", 0, random_people)
        done = 0
        for kind, first, second, third in batches:
            if kind == "people":
                db.executemany(_PERSON_INSERT, first)
                db.executemany(_BIRTH_INSERT, second)
                db.executemany(_VEHICLE_INSERT, third)
                done += len(first)
                counts[0] += len(first)
                counts[1] += len(second)
                counts[2] += len(third)
                report("persons", done, random_people)
            else:
                report("companies", 0, companies_wanted)
                db.executemany(_COMPANY_INSERT, first)
                db.executemany(_OFFICER_INSERT, second)
                counts[3] += len(first)
                report("companies", companies_wanted, companies_wanted)
        db.execute("COMMIT")

        report("indexes", 0, len(_INDEXES) + 1)
        for done_indexes, statement in enumerate(_INDEXES, 1):
            db.execute(statement)
            report("indexes", done_indexes, len(_INDEXES) + 1)
        db.execute("ANALYZE")
        report("indexes", len(_INDEXES) + 1, len(_INDEXES) + 1)
    finally:
        db.close()
    os.replace(partial, target)
    return PopulationSummary(
        path=target,
        people=counts[0],
        births=counts[1],
        vehicles=counts[2],
        companies=counts[3],
        seconds=time.perf_counter() - started,
    )


def _random_idnrs(seed: int) -> Iterator[str]:
    reserved = reserved_idnrs()
    for number in iter_test_numbers(seed):
        if number not in reserved:
            yield number


class _RichProgress:
    """A rich progress bar per stage, used by ``noots seed`` and ``noots up``."""

    _LABELS: ClassVar[dict[str, str]] = {
        "persons": "Personen, Geburten, Fahrzeuge",
        "companies": "Unternehmen",
        "indexes": "Indizes",
    }

    def __enter__(self) -> _RichProgress:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]{task.description:<32}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        self.tasks: dict[str, Any] = {}
        self.progress.__enter__()
        return self

    def __call__(self, stage: str, done: int, total: int) -> None:
        task = self.tasks.get(stage)
        if task is None:
            task = self.tasks[stage] = self.progress.add_task(
                self._LABELS.get(stage, stage), total=total
            )
        self.progress.update(task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)


# -- reading ---------------------------------------------------------------------------------

_PERSON_COLUMNS = (
    "idnr, family_name, given_names, birth_name, sex, date_of_birth, place_of_birth, "
    "nationality, street, house_number, postcode, city, ags, moved_in, information_block, "
    "date_of_death"
)


def _person(row: tuple[Any, ...]) -> Person:
    return Person(
        idnr=row[0],
        family_name=row[1],
        given_names=row[2],
        birth_name=row[3],
        sex=row[4],
        date_of_birth=date.fromisoformat(row[5]),
        place_of_birth=row[6],
        nationality=row[7],
        street=row[8],
        house_number=row[9],
        postcode=row[10],
        city=row[11],
        ags=row[12],
        moved_in=date.fromisoformat(row[13]),
        information_block=bool(row[14]),
        date_of_death=date.fromisoformat(row[15]) if row[15] else None,
    )


class PopulationStore:
    """Read-only queries on a population file; safe to share between threads.

    Each thread gets its own read-only SQLite connection on first use. Every look-up is one
    index search. Names and dates match exactly (the callers normalise); a given name matches
    the person's full given names or their first given name.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no population at {self.path} (run `noots seed`)")
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
            )
            db.execute("PRAGMA query_only=ON")
            # Reads through a memory map skip a system call per page: look-ups stay fast when
            # the file is far larger than SQLite's own page cache.
            db.execute("PRAGMA mmap_size=1073741824")
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    def close(self) -> None:
        with self._lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
        self._local = threading.local()

    def __enter__(self) -> PopulationStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Queries are module constants so tests can EXPLAIN exactly what runs.
    Q_BY_IDNR = f"SELECT {_PERSON_COLUMNS} FROM persons WHERE idnr = ?"  # noqa: S608
    Q_BY_ADDRESS = (
        f"SELECT {_PERSON_COLUMNS} FROM persons "  # noqa: S608
        "WHERE family_name = ? AND date_of_birth = ? AND postcode = ? ORDER BY idnr"
    )
    # [given, given + "!") holds exactly "given" and "given <more names>" (" " < "!").
    Q_BY_NAME = (
        f"SELECT {_PERSON_COLUMNS} FROM persons INDEXED BY persons_name "  # noqa: S608
        "WHERE family_name = ? AND date_of_birth = ? AND given_names >= ? AND given_names < ? "
        "ORDER BY idnr"
    )
    Q_VEHICLES = (
        "SELECT holder_idnr, plate, vin, make, model, vehicle_class, fuel, first_registered, "
        "registered_to_keeper FROM vehicles WHERE holder_idnr = ? ORDER BY id"
    )
    Q_BIRTH = (
        "SELECT idnr, given_names, family_name, sex, date_of_birth, place_of_birth, "
        "registry_office, entry, mother_given_names, mother_birth_name, father_given_names "
        "FROM births WHERE idnr = ?"
    )
    Q_COMPANY = (
        "SELECT id, court, register, number, name, legal_form, seat, street, house_number, "
        "postcode, city, first_entry, business_object, capital_cents FROM companies "
        "WHERE court = ? AND register = ? AND number = ?"
    )
    Q_OFFICERS = "SELECT idnr, role FROM officers WHERE company_id = ? ORDER BY rowid"
    Q_COMPANIES_OF = (
        "SELECT c.court, c.register, c.number FROM officers o JOIN companies c "
        "ON c.id = o.company_id WHERE o.idnr = ? ORDER BY c.id"
    )

    def person_by_idnr(self, idnr: str) -> Person | None:
        row = self._db().execute(self.Q_BY_IDNR, (idnr,)).fetchone()
        return _person(row) if row else None

    def find_by_address(
        self, family_name: str, date_of_birth: date, postcode: str, place: str | None = None
    ) -> list[Person]:
        """Everyone with this family name and date of birth at this postcode (and place)."""
        rows = self._db().execute(
            self.Q_BY_ADDRESS, (family_name, date_of_birth.isoformat(), postcode)
        )
        found = [_person(row) for row in rows]
        if place is not None:
            found = [p for p in found if p.city == place]
        return found

    def find_by_name(self, family_name: str, given_name: str, date_of_birth: date) -> list[Person]:
        """Everyone with this family name, date of birth and (first or full) given name."""
        given_name = given_name.strip()
        if not given_name:
            return []
        rows = self._db().execute(
            self.Q_BY_NAME,
            (family_name, date_of_birth.isoformat(), given_name, given_name + "!"),
        )
        return [
            p
            for p in map(_person, rows)
            if p.given_names == given_name or p.given_names.startswith(given_name + " ")
        ]

    def vehicles_of(self, idnr: str) -> list[Vehicle]:
        return [
            Vehicle(
                holder_idnr=r[0],
                plate=r[1],
                vin=r[2],
                make=r[3],
                model=r[4],
                vehicle_class=r[5],
                fuel=r[6],
                first_registered=date.fromisoformat(r[7]),
                registered_to_keeper=date.fromisoformat(r[8]),
            )
            for r in self._db().execute(self.Q_VEHICLES, (idnr,))
        ]

    def birth_record(self, idnr: str) -> BirthRecord | None:
        r = self._db().execute(self.Q_BIRTH, (idnr,)).fetchone()
        if r is None:
            return None
        return BirthRecord(
            idnr=r[0],
            given_names=r[1],
            family_name=r[2],
            sex=r[3],
            date_of_birth=date.fromisoformat(r[4]),
            place_of_birth=r[5],
            registry_office=r[6],
            entry=r[7],
            mother_given_names=r[8],
            mother_birth_name=r[9],
            father_given_names=r[10],
        )

    def company(
        self, register_court: str, number: str, register: str | None = None
    ) -> Company | None:
        """The company under ``number`` at ``register_court``.

        ``number`` may carry the register (``"HRB 254871"``) or it is given as ``register``.
        """
        parts = number.split()
        if register is None:
            if len(parts) < 2 or parts[0] not in ("HRA", "HRB"):
                return None
            register, number = parts[0], " ".join(parts[1:])
        db = self._db()
        r = db.execute(self.Q_COMPANY, (register_court, register, number)).fetchone()
        if r is None:
            return None
        officers = tuple(Officer(idnr, role) for idnr, role in db.execute(self.Q_OFFICERS, (r[0],)))
        return Company(
            court=r[1],
            register=r[2],
            number=r[3],
            name=r[4],
            legal_form=r[5],
            seat=r[6],
            street=r[7],
            house_number=r[8],
            postcode=r[9],
            city=r[10],
            first_entry=date.fromisoformat(r[11]),
            business_object=r[12],
            capital_cents=r[13],
            officers=officers,
        )

    def companies_of(self, idnr: str) -> list[tuple[str, str, str]]:
        """``(court, register, number)`` of the companies ``idnr`` represents."""
        return [(r[0], r[1], r[2]) for r in self._db().execute(self.Q_COMPANIES_OF, (idnr,))]

    def register_courts(self) -> list[str]:
        """Every register court that holds at least one company."""
        return [
            r[0] for r in self._db().execute("SELECT DISTINCT court FROM companies ORDER BY court")
        ]

    def count(self, table: str = "persons") -> int:
        if table not in _TABLE_ORDER:
            raise ValueError(f"unknown table {table!r}")
        return int(self._db().execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608

    def meta(self) -> dict[str, str]:
        return dict(self._db().execute("SELECT key, value FROM meta"))

    def sample_idnrs(self, count: int, *, seed: int = 0) -> list[str]:
        """``count`` IDNrs spread over the file (for benchmarks and load tests)."""
        total = self.count()
        rng = random.Random(seed)  # noqa: S311 - a sample, not a secret
        ids = [rng.randrange(1, total + 1) for _ in range(count)]
        db = self._db()
        return [
            db.execute("SELECT idnr FROM persons WHERE id = ?", (i,)).fetchone()[0] for i in ids
        ]

    def digest(self) -> str:
        """SHA-256 over every row of every table in a fixed order (determinism checks)."""
        h = hashlib.sha256()
        db = self._db()
        for table in _TABLE_ORDER:
            h.update(f"\x00{table}\x00".encode())
            for row in db.execute(f"SELECT * FROM {table} ORDER BY rowid"):  # noqa: S608
                h.update(repr(row).encode())
        return h.hexdigest()


def default_path(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir) / POPULATION_FILE
