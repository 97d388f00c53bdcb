"""The conformance report view: the JSON reports the suites wrote into ``<data_dir>/reports``
(any depth), each with the result of checking the simulator's signature beside it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from noots.conformance import Report, Status, verify_report_file
from noots.errors import NootsError
from noots.signing import XmlVerifier
from noots.web import german_datetime

__all__ = ["ReportEntry", "find_reports", "report_view"]

_MAX_BYTES = 32 * 1024 * 1024
_MAX_REPORTS = 200
_KIND_DE = {
    "provider": "Register (Datenhalter)",
    "consumer": "Online-Dienst (Datenabrufer)",
    "scenario": "Szenarien",
}
_STATUS_DE = {
    Status.PASSED: "bestanden",
    Status.FAILED: "nicht bestanden",
    Status.SKIPPED: "übersprungen",
}


@dataclass(frozen=True)
class ReportEntry:
    """One report file: its name below the reports directory, and the report or the problem."""

    name: str
    path: Path
    report: Report | None
    problem: str | None
    signature_ok: bool
    signature_text: str

    def summary(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": self.name,
            "problem": self.problem,
            "signatureOk": self.signature_ok,
            "signatureText": self.signature_text,
        }
        if self.report is not None:
            report, summary = self.report, self.report.summary
            entry.update(
                title=report.title,
                kind=_KIND_DE.get(report.kind, report.kind),
                target=report.target,
                participant=report.participant,
                startedAt=german_datetime(report.started_at),
                passed=report.passed,
                score=summary.score,
                coverage=summary.coverage,
                scoreDe=_percent(summary.score),
                coverageDe=_percent(summary.coverage),
                sectionsPassed=summary.passed,
                sectionsFailed=summary.failed,
                sectionsSkipped=summary.skipped,
            )
        return entry


def _percent(value: float) -> str:
    return f"{value:.1f} %".replace(".", ",")


def _load(path: Path, name: str, verifier: XmlVerifier) -> ReportEntry:
    try:
        if path.stat().st_size > _MAX_BYTES:
            raise ValueError("Datei zu groß")
        data = json.loads(path.read_bytes())
        if not isinstance(data, dict) or not str(data.get("format", "")).startswith(
            "noots-report/"
        ):
            raise ValueError("kein noots-Bericht")
        report: Report | None = Report.from_dict(data)
        problem = None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        report, problem = None, f"nicht lesbar: {type(exc).__name__}: {str(exc)[:200]}"
    except Exception as exc:  # jsonschema.ValidationError and friends
        report, problem = None, f"entspricht nicht dem Berichtsformat: {str(exc)[:200]}"
    try:
        signed = verify_report_file(path, verifier)
        ok, text = True, f"vom Simulator signiert ({signed.signer}), unverändert"
    except NootsError as exc:
        ok, text = False, f"Signatur nicht bestätigt: {exc.message}"
    return ReportEntry(name, path, report, problem, ok, text)


def find_reports(directory: Path, verifier: XmlVerifier) -> list[ReportEntry]:
    """Every ``*.json`` report below ``directory``, newest first."""
    if not directory.is_dir():
        return []
    files = sorted(
        (p for p in directory.rglob("*.json") if p.is_file()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )[:_MAX_REPORTS]
    return [_load(p, p.relative_to(directory).as_posix(), verifier) for p in files]


def report_view(entry: ReportEntry) -> dict[str, Any]:
    """One report with its sections and checks, for the detail page."""
    view = entry.summary()
    report = entry.report
    if report is None:
        return view
    view["notes"] = list(report.notes)
    view["tool"] = report.tool
    view["sections"] = [
        {
            "id": section.id,
            "title": section.title,
            "rule": section.rule,
            "hint": section.hint,
            "status": section.status.value,
            "statusDe": _STATUS_DE[section.status],
            "checks": [
                {
                    "name": check.name,
                    "status": check.status.value,
                    "statusDe": _STATUS_DE[check.status],
                    "expected": check.expected,
                    "actual": check.actual,
                    "hint": check.hint,
                    "request": check.request,
                    "response": check.response,
                }
                for check in section.checks
            ],
        }
        for section in report.sections
    ]
    return view
