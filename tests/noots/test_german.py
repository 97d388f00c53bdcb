"""noots.german: dative articles for authority names, times for people in Europe/Berlin."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from noots.german import berlin_time, dative, von
from noots.topology import load_topology


@pytest.mark.parametrize(
    ("name", "phrase"),
    [
        ("Stadt Korntal-Münchingen, Melderegister", "von der Stadt Korntal-Münchingen"),
        ("Landeshauptstadt München, Melderegister", "von der Landeshauptstadt München"),
        ("Land Berlin, Landesamt für Bürger- und Ordnungsangelegenheiten", "vom Land Berlin"),
        ("Freie und Hansestadt Hamburg, Melderegister", "von der Freien und Hansestadt Hamburg"),
        ("Kraftfahrt-Bundesamt, Zentrales Fahrzeugregister", "vom Kraftfahrt-Bundesamt"),
        ("Personenstandsregister der Standesämter (Simulation)", "vom Personenstandsregister der"),
        ("Registergerichte der Länder, Handelsregister", "von den Registergerichten der Länder"),
        ("L-Bank, Elterngeldstelle Baden-Württemberg", "von der L-Bank"),
        ("zuständiges Register", "vom zuständigen Register"),
    ],
)
def test_von_takes_the_article_of_the_authoritys_kind(name: str, phrase: str) -> None:
    """ "von" + dative with the article of the head noun's gender and number."""
    assert von(name).startswith(phrase)


def test_every_provider_of_the_default_topology_gets_an_article() -> None:
    """No provider name of the shipped topology is left without its article (never "vom Stadt")."""
    for register in load_topology().registers:
        phrase = von(register.name)
        assert phrase.startswith(("vom ", "von der ", "von den ")), phrase
        assert "vom Stadt" not in phrase


@given(st.text(max_size=80))
def test_dative_never_fails(name: str) -> None:
    """Any name gives a phrase; an unknown head keeps the name unchanged."""
    phrase = dative(name)
    assert phrase == name or phrase.split(" ", 1)[0] in {"der", "dem", "den"}


def test_berlin_time_in_winter_and_summer() -> None:
    """UTC instants read in Europe/Berlin: +1 h in winter, +2 h in summer, German format."""
    assert berlin_time(datetime(2026, 12, 6, 5, 12, 52, tzinfo=UTC)) == "06.12.2026, 06:12 Uhr"
    assert berlin_time(datetime(2026, 7, 6, 5, 12, tzinfo=UTC)) == "06.07.2026, 07:12 Uhr"
    assert berlin_time(datetime(2026, 12, 6, 5, 12, 52), seconds=True) == "06.12.2026, 06:12:52 Uhr"
