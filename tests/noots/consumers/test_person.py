"""Tests for noots.consumers._person: reading a person from one line of text."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from noots.consumers._person import PersonQuery, parse_person
from noots.errors import InvalidInput


def test_space_form_reads_given_family_date_place() -> None:
    """Given names first, the last word before the date is the family name."""
    person = parse_person("Erika Anna Mustermann 1964-08-12 Bad Homburg")
    assert person == PersonQuery("Erika Anna", "Mustermann", date(1964, 8, 12), "Bad Homburg")


def test_german_date_and_comma_form() -> None:
    """The comma form allows family names with spaces and German dates."""
    person = parse_person("von Bülow, Vicco, 12.11.1923")
    assert person == PersonQuery("Vicco", "von Bülow", date(1923, 11, 12), None)


@pytest.mark.parametrize(
    "text",
    ["Erika Mustermann", "Mustermann 1964-08-12", "Erika Mustermann 1964-02-30", "a, b", ""],
)
def test_incomplete_or_impossible_people_are_refused(text: str) -> None:
    """No date, a single name or an impossible date is refused with InvalidInput."""
    with pytest.raises(InvalidInput):
        parse_person(text)


_word = st.text(alphabet=st.characters(whitelist_categories=("Lu", "Ll")), min_size=1, max_size=12)


@given(
    given_names=st.lists(_word, min_size=1, max_size=3),
    family=st.lists(_word, min_size=1, max_size=2),
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31)),
    place=st.none() | st.lists(_word, min_size=1, max_size=2).map(" ".join),
)
def test_describe_round_trips(
    given_names: list[str], family: list[str], born: date, place: str | None
) -> None:
    """parse_person(p.describe()) == p for any names, dates and places."""
    person = PersonQuery(" ".join(given_names), " ".join(family), born, place)
    assert parse_person(person.describe()) == person
