"""Declarative scenario suites: YAML files of steps against a running landscape.

Reading and checking the files (:mod:`~noots.conformance.scenarios.model`) needs nothing but
the core; the runner that talks HTTP to a landscape acts as the consumers the steps name and
is imported only when asked for (``run_scenarios``, ``LandscapeAccess``)::

    access = LandscapeAccess.running(data_dir) or LandscapeAccess.attach(data_dir, topology)
    run = await run_scenarios(access, load_scenarios([Path("scenarios")]))
    run.report, run.tool_failures, run.exit_code

The suites that ship with noots are in ``scenarios/`` at the project root.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from noots.conformance.scenarios._references import check_references, reference_problems
from noots.conformance.scenarios.model import (
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

if TYPE_CHECKING:
    from noots.conformance.scenarios._access import LandscapeAccess
    from noots.conformance.scenarios._runner import (
        ScenarioRun,
        ScenarioRunner,
        StepFailed,
        run_scenarios,
    )
    from noots.conformance.scenarios._tamper import Tamper, TamperTransport, tamper_bytes

__all__ = [
    "ACTIONS",
    "LandscapeAccess",
    "Scenario",
    "ScenarioRun",
    "ScenarioRunner",
    "Step",
    "StepFailed",
    "Tamper",
    "TamperTransport",
    "check_references",
    "find_scenario_files",
    "load_scenario",
    "load_scenarios",
    "parse_duration",
    "parse_scenario",
    "reference_problems",
    "run_scenarios",
    "scenario_json_schema",
    "tamper_bytes",
]

_RUNNER = {
    "LandscapeAccess": "noots.conformance.scenarios._access",
    "ScenarioRun": "noots.conformance.scenarios._runner",
    "ScenarioRunner": "noots.conformance.scenarios._runner",
    "run_scenarios": "noots.conformance.scenarios._runner",
    "StepFailed": "noots.conformance.scenarios._runner",
    "Tamper": "noots.conformance.scenarios._tamper",
    "TamperTransport": "noots.conformance.scenarios._tamper",
    "tamper_bytes": "noots.conformance.scenarios._tamper",
}


def __getattr__(name: str) -> Any:
    """The runner's names, imported on first use (they pull in the HTTP client side)."""
    module = _RUNNER.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
