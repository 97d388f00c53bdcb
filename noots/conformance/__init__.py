"""Conformance of someone else's register or online service to the connection conditions.

The core part, without HTTP: the condition catalogue (:mod:`~noots.conformance.catalogue`),
the report model (:mod:`~noots.conformance.report`), its HTML, JUnit XML and JSON forms
(:mod:`~noots.conformance.render`) and the simulator's signature over report files
(:mod:`~noots.conformance.signature`). The suites that send requests live beside the parts
they play: :mod:`consumers.provider_conformance` acts as a data consumer against a register,
:mod:`registers.consumer_conformance` plays platform and registers for an online service, and
:mod:`consumers.scenarios` runs scenario files against a landscape.
"""

from __future__ import annotations

from noots.conformance.catalogue import (
    CONDITIONS,
    CONSUMER_CONDITIONS,
    PROVIDER_CONDITIONS,
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

__all__ = [
    "CONDITIONS",
    "CONSUMER_CONDITIONS",
    "EXIT_FAILED",
    "EXIT_PASSED",
    "EXIT_TOOL",
    "PROVIDER_CONDITIONS",
    "Check",
    "Condition",
    "Report",
    "ReportFiles",
    "ReportSignature",
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
    "sign_report_file",
    "sign_report_files",
    "signature_path",
    "verify_report_file",
    "write_report",
]
