"""End-to-end fixtures: one bootstrapped data directory per session, copied for each
``noots up`` (PKI and population are the slow part of a first start)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from noots.bootstrap import bootstrap_landscape
from noots.clock import SystemClock
from noots.topology import load_topology

PEOPLE = 300
SEED = 20261122


@pytest.fixture(scope="session")
def bootstrapped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with a credential for every participant of landscape.yaml and a population."""
    data_dir = tmp_path_factory.mktemp("noots-template")
    bootstrap_landscape(data_dir, load_topology(), people=PEOPLE, seed=SEED, clock=SystemClock())
    return data_dir


def copy_data_dir(template: Path, target: Path) -> Path:
    """A fresh data dir with the template's PKI and population (no logs, no run files)."""
    shutil.copytree(template, target, ignore=shutil.ignore_patterns("run", "logs", "vs"))
    return target
