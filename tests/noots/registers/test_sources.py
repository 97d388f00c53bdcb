"""noots.registers._sources: the Handelsregister looks at every court the population has."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import yaml

from noots.registers._pipeline import LegalCandidate, LegalQuery
from noots.registers._sources import HandelsregisterSource
from noots.synthetic.population import PopulationStore, seed_population
from noots.topology import DEFAULT_TOPOLOGY_PATH, parse_topology


def test_company_without_court_is_found_at_a_court_of_a_custom_topology(tmp_path: Path) -> None:
    """A request without a register court finds a company at a court only a custom topology
    has (Flensburg): the courts come from the population, not from a list of their own."""
    data = yaml.safe_load(DEFAULT_TOPOLOGY_PATH.read_text(encoding="utf-8"))
    data["registers"][0]["region"] = "01001000"
    data["registers"][0]["municipality"] = {
        "name": "Flensburg",
        "postcodes": ["24937"],
        "plate_prefix": "FL",
        "inhabitants": 90_000,
    }
    data["registers"][1:5] = []
    data["consumers"][0]["region"] = "01001000"
    topology = parse_topology(yaml.safe_dump(data, allow_unicode=True))
    path = seed_population(tmp_path / "fl.db", people=300, seed=1, topology=topology).path
    with sqlite3.connect(path) as db:
        register, number, name = db.execute(
            "SELECT register, number, name FROM companies WHERE court = 'Amtsgericht Flensburg'"
        ).fetchone()
    with PopulationStore(path) as store:
        source = HandelsregisterSource(store)
        assert "Amtsgericht Flensburg" in source.courts
        [found] = source.candidates(LegalQuery(register, number, name))
    assert isinstance(found, LegalCandidate)
    assert (found.court, found.number, found.legal_name) == ("Amtsgericht Flensburg", number, name)
