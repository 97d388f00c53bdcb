"""Bring a data directory to life for a topology: a PKI with a credential for every
participant, and the synthetic population.

Idempotent: what already exists is reused, only what is missing is created, so ``noots up``
can call it on every start and state persists between runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from noots.clock import Clock, SystemClock
from noots.paths import LandscapePaths
from noots.pki import CertificateAuthority, KeyType, Role
from noots.topology import Topology

__all__ = ["BootstrapReport", "bootstrap_landscape", "ensure_pki"]


@dataclass
class BootstrapReport:
    issued: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    population_seeded: bool = False


def ensure_pki(
    pki_dir: str | os.PathLike[str],
    topology: Topology,
    *,
    clock: Clock,
    key_type: KeyType = KeyType.RSA2048,
    report: BootstrapReport | None = None,
    on_issue: Callable[[str], None] | None = None,
) -> CertificateAuthority:
    """Open (or create) the CA and issue a credential to every participant that has none."""
    report = report if report is not None else BootstrapReport()
    authority = CertificateAuthority.open_or_create(Path(pki_dir), clock=clock)
    existing = set(authority.participants())
    for participant in topology.participants():
        if participant.participant_id in existing:
            report.reused.append(participant.participant_id)
            continue
        authority.issue(participant.participant_id, Role(participant.role), key_type=key_type)
        report.issued.append(participant.participant_id)
        if on_issue is not None:
            on_issue(participant.participant_id)
    return authority


def bootstrap_landscape(
    data_dir: str | os.PathLike[str],
    topology: Topology,
    *,
    people: int,
    seed: int,
    clock: Clock | None = None,
    key_type: KeyType = KeyType.RSA2048,
    show_progress: bool = False,
) -> BootstrapReport:
    """PKI and population for ``topology`` under ``data_dir``; returns what was done."""
    paths = LandscapePaths(Path(data_dir))
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    paths.logs_dir.mkdir(exist_ok=True)
    report = BootstrapReport()
    ensure_pki(
        paths.pki_dir, topology, clock=clock or SystemClock(), key_type=key_type, report=report
    )
    if not paths.population_db.exists():
        # The population generator lives with the registers; imported here so the core
        # library does not load faker unless a landscape is being created.
        from noots.synthetic.population import seed_population

        seed_population(
            paths.population_db,
            people=people,
            seed=seed,
            topology=topology,
            show_progress=show_progress,
        )
        report.population_seeded = True
    return report
