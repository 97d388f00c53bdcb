"""``--person``: the one parser behind noots fetch and noots demo."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from noots.cli import app
from noots.cli._exit import USAGE, UsageError
from noots.cli._person import parse_person_option
from noots.synthetic.identities import BEHAVIOUR_IDENTITIES


@pytest.mark.parametrize(
    "text", ["02476291358", "Erika Mustermann", "mustermann, erika", " Erika   Mustermann "]
)
def test_a_test_person_gives_idnr_and_basic_data(text: str) -> None:
    """A test person by IDNr or name (either order, any case and spacing): IDNr and data."""
    named = parse_person_option(text)
    assert named.idnr == "02476291358"
    assert named.basic is not None
    assert (named.basic.family_name, named.basic.date_of_birth) == ("Mustermann", date(1964, 8, 12))


def test_a_behaviour_names_its_one_test_person() -> None:
    """A behaviour shared by no other test person names that person."""
    assert parse_person_option("asynchronous").idnr == "01234567907"


def test_an_unknown_idnr_is_taken_as_it_is() -> None:
    """An IDNr that is no test person's: the number alone (the IDA supplies the rest)."""
    named = parse_person_option("12345678901")
    assert (named.idnr, named.basic) == ("12345678901", None)


@pytest.mark.parametrize("text", ["Erika Mustermann 1964-08-12", "Mustermann, Erika, 12.08.1964"])
def test_basic_data_are_looked_up_by_the_ida(text: str) -> None:
    """Basic data with a date of birth: no IDNr (the IDA finds it)."""
    named = parse_person_option(text)
    assert named.idnr is None
    assert named.basic is not None
    assert named.basic.given_name == "Erika"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("ambiguous", "01234567853, 01234567861"),
        ("Max Doppelmann", "give the IDNr"),
        ("Erika", "date of birth"),
        ("", "empty"),
    ],
)
def test_what_names_nobody_or_several_is_a_usage_error(text: str, said: str) -> None:
    """Several test persons, or no person at all: a usage error listing the choices or forms."""
    with pytest.raises(UsageError) as caught:
        parse_person_option(text)
    assert said in str(caught.value.format_message())


@given(st.text(max_size=60))
def test_any_text_is_a_person_or_a_usage_error(text: str) -> None:
    """Whatever is typed, the parser answers with a person or a usage error, nothing else."""
    try:
        named = parse_person_option(text)
    except UsageError:
        return
    assert named.idnr is not None or named.basic is not None


def test_every_test_person_is_reachable_by_idnr() -> None:
    """Each identity of docs/identities.md is found by its IDNr with its own data."""
    for identity in BEHAVIOUR_IDENTITIES:
        named = parse_person_option(identity.idnr)
        assert named.basic is not None
        assert named.basic.date_of_birth == identity.date_of_birth


@pytest.mark.parametrize(
    "args",
    [
        ["demo", "--person", "Erika Mustermann 1964-08-12"],
        ["demo", "--person", "Nobody Known"],
        ["demo", "--bogus"],
        ["demo", "--people", "many"],
    ],
    ids=["basic-data-without-idnr", "nobody", "unknown-option", "bad-value"],
)
def test_demo_usage_errors_exit_64_before_anything_starts(
    args: list[str], tmp_path: object
) -> None:
    """noots demo called wrongly exits 64 before it looks for or starts a landscape."""
    result = CliRunner().invoke(app, [*args, "--data-dir", str(tmp_path)])
    assert result.exit_code == USAGE, result.output
    assert "No landscape runs" not in result.output
