"""Tests of noots.synthetic.identities: the fixed behaviour-driving test identities."""

from __future__ import annotations

from noots.idnr import is_test_number, validate
from noots.synthetic.identities import (
    BEHAVIOUR_IDENTITIES,
    DEMO_COMPANY,
    Behaviour,
    behaviour_of,
    identity,
    reserved_idnrs,
    reserved_plates,
)
from noots.topology import load_topology


def test_numbers_are_valid_unique_test_numbers() -> None:
    """Every identity has its own valid test IDNr (leading 0)."""
    numbers = [i.idnr for i in BEHAVIOUR_IDENTITIES]
    assert len(numbers) == len(set(numbers))
    for number in numbers:
        assert is_test_number(number)
        assert validate(number, allow_test_numbers=True) == number
    assert reserved_idnrs() == frozenset(numbers)


def test_every_behaviour_has_an_identity() -> None:
    """Each behaviour of the enum is reachable through at least one identity."""
    assert {i.behaviour for i in BEHAVIOUR_IDENTITIES} == set(Behaviour)
    ambiguous = [i for i in BEHAVIOUR_IDENTITIES if i.behaviour is Behaviour.AMBIGUOUS]
    assert len(ambiguous) == 2
    first, second = ambiguous
    assert (first.family_name, first.given_names, first.date_of_birth, first.postcode) == (
        second.family_name,
        second.given_names,
        second.date_of_birth,
        second.postcode,
    )


def test_behaviour_of() -> None:
    """Listed numbers show their behaviour; everyone else is normal."""
    assert behaviour_of("01234567837") is Behaviour.NOT_FOUND
    assert behaviour_of("01234567845") is Behaviour.INFORMATION_BLOCK
    assert behaviour_of("06947815317") is Behaviour.NORMAL
    assert identity("02476291358") is not None
    assert identity("06947815317") is None


def test_behaviour_parameters() -> None:
    """Slow and asynchronous identities carry their delay; the normal person has a vehicle."""
    for ident in BEHAVIOUR_IDENTITIES:
        assert ident.description
        if ident.behaviour in (Behaviour.SLOW, Behaviour.ASYNCHRONOUS):
            assert ident.delay is not None
            assert ident.delay.total_seconds() > 0
        if ident.behaviour is Behaviour.NO_VEHICLE:
            assert ident.vehicles == ()
    erika = identity("02476291358")
    assert erika is not None
    assert erika.vehicles
    assert erika.born_in_germany


def test_identities_live_in_default_municipalities() -> None:
    """In the default landscape every identity's AGS and postcode belong to a Melderegister."""
    municipalities = {r.region: r.municipality for r in load_topology().municipalities()}
    for ident in BEHAVIOUR_IDENTITIES:
        municipality = municipalities.get(ident.ags)
        assert municipality is not None, ident.idnr
        assert ident.postcode in municipality.postcodes, ident.idnr
        for vehicle in ident.vehicles:
            assert vehicle.plate.startswith(municipality.plate_prefix + "-")
            assert vehicle.plate in reserved_plates()
    seat = municipalities[DEMO_COMPANY.seat_ags]
    assert seat is not None
    assert DEMO_COMPANY.postcode in seat.postcodes
    assert DEMO_COMPANY.managing_director in reserved_idnrs()


def test_docs_table_is_current() -> None:
    """docs/identities.md is the table generated from BEHAVIOUR_IDENTITIES."""
    from noots.paths import PROJECT_ROOT
    from noots.synthetic.identities import markdown_table

    committed = (PROJECT_ROOT / "docs" / "identities.md").read_text(encoding="utf-8")
    assert committed == markdown_table(), "regenerate docs/identities.md from markdown_table()"
    for ident in BEHAVIOUR_IDENTITIES:
        assert ident.idnr in committed
