"""Moved to :mod:`noots.synthetic.population` (shared by IDA, eID and registers); this name stays
importable."""

from __future__ import annotations

from noots.synthetic.population import (
    GENERATOR_VERSION,
    PARALLEL_THRESHOLD,
    POPULATION_FILE,
    REFERENCE_DATE,
    BirthRecord,
    Company,
    Officer,
    Person,
    PopulationStore,
    PopulationSummary,
    ProgressCallback,
    Vehicle,
    default_path,
    seed_population,
)

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
