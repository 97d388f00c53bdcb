"""The conformance package: is someone else's register, SAK or online service ready?

The public API, for the CLI and for anyone who runs the suites from Python::

    report = await run_provider_suite(target, topology=topology, pki_dir=pki, clock=clock)
    report = await run_sak_suite(target, topology=topology, pki_dir=pki, clock=clock)
    run = await run_scenarios(access, load_scenarios([Path("scenarios")]))
    report = await run_attacks(AttackTarget(topology, data_dir), clock=clock)
    report = await run_ip_suite(default_ip_target(topology), pki_dir=pki, clock=clock)
    report.statuses()   # {"DP-01": Status.PASSED, …}; report.exit_code: 0 passed, 2 failed

Inside, kept apart:

- the core of every report, without HTTP: the condition catalogue
  (:mod:`~noots.conformance.catalogue`), the report model (:mod:`~noots.conformance.report`),
  its HTML, JUnit XML and JSON forms (:mod:`~noots.conformance.render`) and the simulator's
  signature over report files (:mod:`~noots.conformance.signature`);
- the suites, which sit above the protocol core like :mod:`noots.testing` (they speak HTTP and
  use the landscape's test identities): the provider suite (:mod:`.provider`, plays a
  register's SAK), the SAK suite (:mod:`.sak`), the IP suite (:mod:`.ip`, plays a member
  state's eDelivery gateway towards an Intermediäre Plattform), the scenario runner
  (:mod:`.scenarios`), the attack kit against a running landscape (:mod:`.landscape_attacks`),
  the consumer suite (slotted in by the online-service side), and what they share: crafted
  requests (:mod:`.requests`, EDM ones in :mod:`.eu_requests`), the attacks (:mod:`.attacks`),
  reading answers (:mod:`.answers`), the consumer API as an online service calls it
  (:mod:`.consumer_api`), the certificates and tokens a run needs (:mod:`.credentials`), and
  registers, SAKs and IPs broken on purpose to prove the suites (:mod:`.broken`).

The suites are imported on first use, so reading a report pulls in no HTTP client. No suite
imports another's private modules; what two of them share lives in a public module here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from noots.conformance.catalogue import (
    CONDITIONS,
    CONSUMER_CONDITIONS,
    IP_CONDITIONS,
    PROVIDER_CONDITIONS,
    RETIRED,
    SAK_CONDITIONS,
    Condition,
    condition,
    conditions_of,
)
from noots.conformance.render import (
    ReportFiles,
    render_html,
    render_json,
    render_junit,
    write_report,
)
from noots.conformance.report import (
    EXIT_FAILED,
    EXIT_PASSED,
    EXIT_TOOL,
    Check,
    Report,
    Section,
    Status,
    Summary,
    excerpt,
    report_json_schema,
)
from noots.conformance.signature import (
    ReportSignature,
    sign_report_file,
    sign_report_files,
    signature_path,
    verify_report_file,
)

if TYPE_CHECKING:
    from noots.conformance.ip import run_ip_suite
    from noots.conformance.landscape_attacks import run_attacks
    from noots.conformance.provider import run_provider_suite
    from noots.conformance.sak import run_sak_suite
    from noots.conformance.scenarios import ScenarioRun, run_scenarios

__all__ = [
    "CONDITIONS",
    "CONSUMER_CONDITIONS",
    "EXIT_FAILED",
    "EXIT_PASSED",
    "EXIT_TOOL",
    "IP_CONDITIONS",
    "PROVIDER_CONDITIONS",
    "RETIRED",
    "SAK_CONDITIONS",
    "Check",
    "Condition",
    "Report",
    "ReportFiles",
    "ReportSignature",
    "ScenarioRun",
    "Section",
    "Status",
    "Summary",
    "condition",
    "conditions_of",
    "excerpt",
    "render_html",
    "render_json",
    "render_junit",
    "report_json_schema",
    "run_attacks",
    "run_ip_suite",
    "run_provider_suite",
    "run_sak_suite",
    "run_scenarios",
    "sign_report_file",
    "sign_report_files",
    "signature_path",
    "verify_report_file",
    "write_report",
]

# The suites and their entry points, imported on first use (see the module docstring). The
# consumer suite (``run_consumer_suite``) is added here by the online-service side.
_LAZY = {
    "ScenarioRun": "noots.conformance.scenarios",
    "run_attacks": "noots.conformance.landscape_attacks",
    "run_ip_suite": "noots.conformance.ip",
    "run_provider_suite": "noots.conformance.provider",
    "run_sak_suite": "noots.conformance.sak",
    "run_scenarios": "noots.conformance.scenarios",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
