"""noots.bootstrap: one call makes a data directory ready for a topology, and is idempotent."""

from __future__ import annotations

from noots.bootstrap import bootstrap_landscape
from noots.clock import ManualClock
from noots.participant import load_participant
from noots.paths import LandscapePaths
from noots.pki import Role
from noots.topology import load_topology


def test_bootstrap_issues_every_participant_and_seeds_once(tmp_path):
    """Every topology participant gets a credential; a second run reuses everything."""
    topology = load_topology()
    clock = ManualClock()
    first = bootstrap_landscape(tmp_path, topology, people=300, seed=7, clock=clock)
    ids = {p.participant_id for p in topology.participants()}
    assert set(first.issued) == ids
    assert first.population_seeded
    paths = LandscapePaths(tmp_path)
    assert paths.population_db.exists()
    for participant in topology.participants():
        loaded = load_participant(paths.pki_dir, participant.participant_id, clock=clock)
        assert loaded.role is Role(participant.role)

    second = bootstrap_landscape(tmp_path, topology, people=300, seed=7, clock=clock)
    assert second.issued == []
    assert set(second.reused) == ids
    assert not second.population_seeded
