"""Declarative scenario suites: YAML files of steps against a running landscape.

This part of the core only reads and checks scenario files (:mod:`noots.scenarios.model`);
the runner that talks HTTP to a landscape is :mod:`consumers.scenarios`, and the suites that
ship with noots are in ``scenarios/`` at the project root.
"""

from __future__ import annotations

from noots.scenarios.model import (
    ACTIONS,
    Scenario,
    Step,
    find_scenario_files,
    load_scenario,
    load_scenarios,
    parse_duration,
    parse_scenario,
    scenario_json_schema,
)

__all__ = [
    "ACTIONS",
    "Scenario",
    "Step",
    "find_scenario_files",
    "load_scenario",
    "load_scenarios",
    "parse_duration",
    "parse_scenario",
    "scenario_json_schema",
]
