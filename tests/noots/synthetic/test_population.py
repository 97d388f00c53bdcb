"""Tests of noots.synthetic.population: determinism, consistency, identities, indexes, look-ups."""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import noots.synthetic.population as population
from noots.idnr import is_test_number, validate
from noots.synthetic.identities import BEHAVIOUR_IDENTITIES, DEMO_COMPANY, Behaviour, reserved_idnrs
from noots.synthetic.population import (
    PopulationStore,
    seed_population,
)
from noots.topology import DEFAULT_TOPOLOGY_PATH, load_topology, parse_topology

PEOPLE = 2_000
# The patterns of the evidence document schemas in xsd/ the registers validate against.
PLATE = re.compile(r"[A-ZÄÖÜ]{1,3}-[A-Z]{1,2} [1-9]\d{0,3}[EH]?")
VIN = re.compile(r"[A-HJ-NPR-Z0-9]{17}")
ENTRY = re.compile(r"G \d{1,6}/\d{4}")
HOUSE = re.compile(r"\d\S*( \S+)?")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pop") / "population.db"
    seed_population(path, people=PEOPLE, seed=7)
    return path


@pytest.fixture
def store(seeded: Path) -> Iterator[PopulationStore]:
    with PopulationStore(seeded) as opened:
        yield opened


def _rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


def test_counts(seeded: Path, store: PopulationStore) -> None:
    """--people counts everyone; births, vehicles and companies come in plausible shares."""
    assert store.count("persons") == PEOPLE
    births = store.count("births")
    vehicles = store.count("vehicles")
    assert 0.75 * PEOPLE < births < PEOPLE
    assert 0.25 * PEOPLE < vehicles < 0.7 * PEOPLE
    assert store.count("companies") == 1 + (PEOPLE - 12) // 40
    assert store.meta()["seed"] == "7"
    assert not seeded.with_name(seeded.name + ".partial").exists()


def test_same_seed_same_content(seeded: Path, tmp_path: Path) -> None:
    """The same seed yields byte-for-byte the same rows; another seed different ones."""
    again = seed_population(tmp_path / "again.db", people=PEOPLE, seed=7).path
    other = seed_population(tmp_path / "other.db", people=PEOPLE, seed=8).path
    digest = PopulationStore(seeded).digest()
    assert PopulationStore(again).digest() == digest
    assert PopulationStore(other).digest() != digest


def test_worker_process_gives_the_same_content(seeded: Path, tmp_path: Path) -> None:
    """Generating in a worker process (the path for large N) changes nothing in the content."""
    parallel = seed_population(tmp_path / "p.db", people=PEOPLE, seed=7, parallel=True).path
    assert PopulationStore(parallel).digest() == PopulationStore(seeded).digest()


def test_only_valid_unique_test_numbers(seeded: Path) -> None:
    """Every IDNr is a valid test number (leading 0) and belongs to one person."""
    idnrs = [r[0] for r in _rows(seeded, "SELECT idnr FROM persons")]
    assert len(idnrs) == len(set(idnrs)) == PEOPLE
    for idnr in idnrs:
        assert is_test_number(idnr)
        assert validate(idnr, allow_test_numbers=True) == idnr


def test_random_generator_skips_reserved_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reserved identity number coming out of the IDNr sequence is never handed out."""
    reserved = sorted(reserved_idnrs())

    def fake_iter(seed: int) -> Iterator[str]:
        yield reserved[0]
        yield "02476291358"
        yield "01234567888"
        yield reserved[1]
        yield "65929970489"

    monkeypatch.setattr(population, "iter_test_numbers", fake_iter)
    assert list(population._random_idnrs(1)) == ["01234567888", "65929970489"]


def test_same_person_in_every_register(seeded: Path) -> None:
    """Birth records, vehicles and officers refer to existing persons with the same data."""
    mismatched = _rows(
        seeded,
        "SELECT b.idnr FROM births b JOIN persons p ON p.idnr = b.idnr WHERE "
        "b.given_names != p.given_names OR b.date_of_birth != p.date_of_birth OR b.sex != p.sex"
        " OR b.place_of_birth != p.place_of_birth"
        " OR b.family_name != coalesce(p.birth_name, p.family_name)",
    )
    assert mismatched == []
    for table, column in (("births", "idnr"), ("vehicles", "holder_idnr"), ("officers", "idnr")):
        orphans = _rows(
            seeded,
            f"SELECT count(*) FROM {table} t LEFT JOIN persons p ON p.idnr = t.{column} "  # noqa: S608
            "WHERE p.idnr IS NULL",
        )
        assert orphans == [(0,)], table


def test_people_live_in_the_topologys_municipalities(seeded: Path) -> None:
    """Everyone lives in a Melderegister municipality with its name and one of its postcodes."""
    municipalities = {r.region: r.municipality for r in load_topology().municipalities()}
    for ags, city, postcode, house in _rows(
        seeded, "SELECT ags, city, postcode, house_number FROM persons"
    ):
        municipality = municipalities[ags]
        assert municipality is not None
        assert city == municipality.name
        assert postcode in municipality.postcodes
        assert HOUSE.fullmatch(house)


def test_vehicles_fit_holder_and_schema(seeded: Path) -> None:
    """Plates are unique and carry the holder's district; VINs and classes fit the schema."""
    topology = load_topology()
    prefixes = {
        r.region: r.municipality.plate_prefix for r in topology.municipalities() if r.municipality
    }
    rows = _rows(
        seeded,
        "SELECT v.plate, v.vin, v.vehicle_class, v.first_registered, v.registered_to_keeper,"
        " p.ags, p.date_of_birth FROM vehicles v JOIN persons p ON p.idnr = v.holder_idnr",
    )
    plates = [r[0] for r in rows]
    assert len(plates) == len(set(plates))
    for plate, vin, cls, first, keeper, ags, dob in rows:
        assert PLATE.fullmatch(plate), plate
        assert plate.split("-")[0] == prefixes[ags]
        assert VIN.fullmatch(vin), vin
        assert cls in {"M1", "L3e", "N1"}
        assert date.fromisoformat(dob) < date.fromisoformat(first) <= date.fromisoformat(keeper)
        assert date.fromisoformat(keeper) <= population.REFERENCE_DATE


def test_birth_entries_fit_schema(seeded: Path) -> None:
    """Registry entries look like "G 1234/1990" with the year of birth."""
    for entry, dob in _rows(seeded, "SELECT entry, date_of_birth FROM births"):
        assert ENTRY.fullmatch(entry)
        assert entry.endswith(f"/{dob[:4]}")


def test_companies_and_officers(seeded: Path, store: PopulationStore) -> None:
    """Companies have unique numbers per court, an adult representative and a fitting role."""
    keys = _rows(seeded, "SELECT court, register, number FROM companies")
    assert len(keys) == len(set(keys))
    for court, register, number in keys[:200]:
        company = store.company(court, number, register=register)
        assert company is not None
        assert company.officers
        assert register == ("HRA" if company.name.endswith(("e.K.", " KG")) else "HRB")
        suffix = next(k for k in population._ROLES if company.name.endswith(k))
        for officer in company.officers:
            person = store.person_by_idnr(officer.idnr)
            assert person is not None
            assert (population.REFERENCE_DATE - person.date_of_birth).days >= 18 * 365
            male, female = population._ROLES[suffix]
            assert officer.role == (female if person.sex == "w" else male)
            assert (court, register, number) in store.companies_of(officer.idnr)


@pytest.mark.parametrize("people", [0, 50])
def test_identities_present_whatever_n_and_seed(tmp_path: Path, people: int) -> None:
    """Every identity that needs data is seeded even for tiny N; "not found" never is."""
    path = seed_population(tmp_path / "tiny.db", people=people, seed=people + 99).path
    with PopulationStore(path) as store:
        for ident in BEHAVIOUR_IDENTITIES:
            person = store.person_by_idnr(ident.idnr)
            if not ident.in_population:
                assert person is None
                assert store.birth_record(ident.idnr) is None
                assert store.vehicles_of(ident.idnr) == []
                continue
            assert person is not None
            assert (person.family_name, person.given_names) == (
                ident.family_name,
                ident.given_names,
            )
            assert person.date_of_birth == ident.date_of_birth
            assert person.information_block == ident.information_block
            assert person.date_of_death == ident.date_of_death
            assert [v.plate for v in store.vehicles_of(ident.idnr)] == [
                v.plate for v in ident.vehicles
            ]


def test_identity_behaviours(store: PopulationStore) -> None:
    """The data behind each behaviour: vehicle and birth, block, ambiguity, death, move."""
    by = {i.behaviour: i for i in BEHAVIOUR_IDENTITIES}
    erika = store.person_by_idnr("02476291358")
    assert erika is not None
    assert erika.ags == "08118079"
    assert store.vehicles_of(erika.idnr)
    birth = store.birth_record(erika.idnr)
    assert birth is not None
    assert birth.family_name == "Gabler"
    ambiguous = by[Behaviour.AMBIGUOUS]
    twins = store.find_by_address(
        ambiguous.family_name, ambiguous.date_of_birth, ambiguous.postcode, "Hamburg"
    )
    assert len(twins) == 2
    assert len(store.find_by_name(ambiguous.family_name, "Max", ambiguous.date_of_birth)) == 2
    blocked = store.person_by_idnr(by[Behaviour.INFORMATION_BLOCK].idnr)
    assert blocked is not None
    assert blocked.information_block
    assert store.vehicles_of(by[Behaviour.NO_VEHICLE].idnr) == []
    assert store.birth_record(by[Behaviour.NO_VEHICLE].idnr) is not None
    dead = store.person_by_idnr(by[Behaviour.DECEASED].idnr)
    assert dead is not None
    assert dead.date_of_death is not None
    moved = store.person_by_idnr(by[Behaviour.MOVED_AWAY].idnr)
    assert moved is not None
    assert moved.ags != "08118079"
    paul = store.birth_record("01234567829")
    assert paul is not None
    assert (paul.mother_given_names, paul.mother_birth_name) == ("Lena", "Musterfrau")


def test_identity_names_never_drawn_at_random(seeded: Path) -> None:
    """No random person shares a family name with an identity, so none becomes ambiguous."""
    names = {i.family_name for i in BEHAVIOUR_IDENTITIES}
    reserved = reserved_idnrs()
    rows = _rows(seeded, "SELECT idnr, family_name, birth_name FROM persons")
    for idnr, family, birth in rows:
        if idnr not in reserved:
            assert family not in names
            assert birth not in names


def test_demo_company(store: PopulationStore) -> None:
    """The Gewerbeanmeldung demo company is found by "HRB 254871" and names Erika."""
    company = store.company(DEMO_COMPANY.court, f"HRB {DEMO_COMPANY.number}")
    assert company is not None
    assert company.name == DEMO_COMPANY.name
    assert [o.idnr for o in company.officers] == ["02476291358"]
    assert store.company(DEMO_COMPANY.court, DEMO_COMPANY.number, register="HRB") == company
    assert store.company(DEMO_COMPANY.court, f"HRA {DEMO_COMPANY.number}") is None
    assert store.company("Amtsgericht Nirgendwo", f"HRB {DEMO_COMPANY.number}") is None
    assert DEMO_COMPANY.court in store.register_courts()
    assert set(store.register_courts()) <= set(population._COURTS.values())


@given(court=st.sampled_from(["Amtsgericht München", "", "x"]), number=st.text(max_size=20))
@settings(max_examples=150, deadline=None)
def test_company_lookup_never_crashes(seeded: Path, court: str, number: str) -> None:
    """Any number text gives the company it names or None, never an exception."""
    with PopulationStore(seeded) as store:
        result = store.company(court, number)
    if result is not None:
        assert number.split() == [result.register, result.number]


def test_find_by_name_matches_first_or_full_given_names(store: PopulationStore) -> None:
    """A given name matches the full given names or the first of them, not a longer name."""
    rows = _rows(
        store.path,
        "SELECT family_name, given_names, date_of_birth FROM persons "
        "WHERE given_names LIKE '% %' LIMIT 20",
    )
    assert rows
    for family, given_names, dob in rows:
        first = given_names.split()[0]
        day = date.fromisoformat(dob)
        full = store.find_by_name(family, given_names, day)
        assert any(p.given_names == given_names for p in full)
        assert any(p.given_names == given_names for p in store.find_by_name(family, first, day))
        assert store.find_by_name(family, first[:-1], day) == [] or all(
            p.given_names.split()[0] == first[:-1]
            for p in store.find_by_name(family, first[:-1], day)
        )
    assert store.find_by_name("Mustermann", " ", date(1964, 8, 12)) == []


def test_find_by_address_place_filter(store: PopulationStore) -> None:
    """The place narrows an address match; a wrong place finds nobody."""
    day = date(1964, 8, 12)
    assert [p.idnr for p in store.find_by_address("Mustermann", day, "70825")] == ["02476291358"]
    assert store.find_by_address("Mustermann", day, "70825", "Korntal-Münchingen")
    assert store.find_by_address("Mustermann", day, "70825", "Stuttgart") == []
    assert store.find_by_address("Mustermann", day, "80331") == []


@pytest.mark.parametrize(
    ("query", "params", "index"),
    [
        (PopulationStore.Q_BY_IDNR, ("x",), "persons_idnr"),
        (PopulationStore.Q_BY_ADDRESS, ("x", "y", "z"), "persons_address"),
        (PopulationStore.Q_BY_NAME, ("x", "y", "a", "a!"), "persons_name"),
        (PopulationStore.Q_VEHICLES, ("x",), "vehicles_holder"),
        (PopulationStore.Q_BIRTH, ("x",), "births_idnr"),
        (PopulationStore.Q_COMPANY, ("x", "HRB", "1"), "companies_number"),
        (PopulationStore.Q_OFFICERS, (1,), "officers_company"),
        (PopulationStore.Q_COMPANIES_OF, ("x",), "officers_idnr"),
        ("SELECT count(*) FROM persons WHERE ags = ?", ("08118079",), "persons_ags"),
    ],
)
def test_lookups_search_an_index(
    seeded: Path, query: str, params: tuple[Any, ...], index: str
) -> None:
    """Each look-up is an index search (O(log n)), never a table scan."""
    plan = " | ".join(r[3] for r in _rows_params(seeded, f"EXPLAIN QUERY PLAN {query}", params))
    assert f"USING INDEX {index}" in plan or f"USING COVERING INDEX {index}" in plan, plan
    assert "SCAN" not in plan.replace("SCAN CONSTANT ROW", ""), plan


def _rows_params(path: Path, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(sql, params).fetchall()


def test_store_is_read_only(store: PopulationStore) -> None:
    """The store's connections cannot change the population."""
    with pytest.raises(sqlite3.OperationalError):
        store._db().execute("DELETE FROM persons")


def test_store_serves_several_threads(store: PopulationStore) -> None:
    """Look-ups from several threads at once all answer correctly."""
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(50):
                person = store.person_by_idnr("02476291358")
                assert person is not None
                assert person.family_name == "Mustermann"
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_missing_file(tmp_path: Path) -> None:
    """Opening a store without a population says how to make one."""
    with pytest.raises(FileNotFoundError, match="noots seed"):
        PopulationStore(tmp_path / "none.db")


def test_identities_follow_a_custom_topology(tmp_path: Path) -> None:
    """With other municipalities, identities move to the first one and everyone lives there."""
    data = yaml.safe_load(DEFAULT_TOPOLOGY_PATH.read_text(encoding="utf-8"))
    data["registers"][0]["region"] = "01001000"
    data["registers"][0]["municipality"] = {
        "name": "Flensburg",
        "postcodes": ["24937", "24939"],
        "plate_prefix": "FL",
        "inhabitants": 90_000,
    }
    data["registers"][1:5] = []
    data["consumers"][0]["region"] = "01001000"
    topology = parse_topology(yaml.safe_dump(data, allow_unicode=True))
    path = seed_population(tmp_path / "fl.db", people=300, seed=1, topology=topology).path
    assert _rows(path, "SELECT DISTINCT city, ags FROM persons") == [("Flensburg", "01001000")]
    with PopulationStore(path) as store:
        erika = store.person_by_idnr("02476291358")
        assert erika is not None
        assert erika.postcode == "24937"


@given(
    prefix=st.sampled_from(["B", "M", "LB", "HH", "FFB", "K"]),
    seed=st.integers(0, 2**32),
)
@settings(max_examples=40, deadline=None)
def test_plate_sequence_unique_and_well_formed(prefix: str, seed: int) -> None:
    """A district's plate sequence never repeats and every plate fits the schema and 8 signs."""
    import random

    plates = population._PlateSequence(prefix, random.Random(seed), frozenset({f"{prefix}-A 1"}))
    issued = [plates.next() for _ in range(3_000)]
    assert len(set(issued)) == len(issued)
    assert f"{prefix}-A 1" not in issued
    for plate in issued:
        assert PLATE.fullmatch(plate)
        assert len(plate.replace("-", "").replace(" ", "")) <= 8


def test_negative_people_refused(tmp_path: Path) -> None:
    """A negative population size is refused before anything is written."""
    with pytest.raises(ValueError, match="negative"):
        seed_population(tmp_path / "x.db", people=-1, seed=1)
    assert not (tmp_path / "x.db").exists()


def test_topology_without_melderegister_is_refused(tmp_path: Path) -> None:
    """Everyone lives in a Melderegister municipality: without one, seeding stops with a
    ConfigurationError that says so, before anything is written."""
    from noots.errors import ConfigurationError

    data = yaml.safe_load(DEFAULT_TOPOLOGY_PATH.read_text(encoding="utf-8"))
    data["registers"] = [r for r in data["registers"] if r["kind"] != "melderegister"]
    data["consumers"] = []
    data["authorisations"] = []
    topology = parse_topology(yaml.safe_dump(data, allow_unicode=True))
    assert topology.registers
    with pytest.raises(ConfigurationError, match="no Melderegister"):
        seed_population(tmp_path / "none.db", people=50, seed=1, topology=topology)
    assert list(tmp_path.iterdir()) == []
