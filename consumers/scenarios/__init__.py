"""Run scenario suites (``scenarios/*.yaml``) against a landscape: ``noots scenario run``.

::

    access = LandscapeAccess.running(data_dir) or LandscapeAccess.attach(data_dir, topology)
    report = await ScenarioRunner(access).run(load_scenarios([Path("scenarios")]))

The runner acts as the consumers the steps name (it holds their credentials through the data
directory), so it lives with the consumers; reading and checking the files is the core's job
(:mod:`noots.scenarios`).
"""

from __future__ import annotations

from consumers.scenarios._access import LandscapeAccess
from consumers.scenarios._runner import ScenarioRunner, StepFailed
from consumers.scenarios._tamper import Tamper, TamperTransport, tamper_bytes

__all__ = [
    "LandscapeAccess",
    "ScenarioRunner",
    "StepFailed",
    "Tamper",
    "TamperTransport",
    "tamper_bytes",
]
