"""The result of a conformance or scenario run, as data.

A :class:`Report` holds one :class:`Section` per connection condition (conformance suites) or
per scenario (scenario suites). A section is made of :class:`Check` rows: what was sent, what
was expected, what came back, and a hint how to fix it. The section's status follows from its
checks: one failed check fails it, otherwise one passed check passes it, otherwise it was
skipped.

The summary counts sections, gives a **score** (passed sections among those that ran, in
percent) and the **coverage** (the catalogue conditions exercised by a section that ran, in
percent of the conditions of the report's side). :func:`report_json_schema` describes the JSON
form (:meth:`Report.to_dict`), which :meth:`Report.from_dict` reads back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any, Literal

from noots import __version__
from noots.clock import format_utc, parse_utc
from noots.conformance.catalogue import (
    CONSUMER_CONDITIONS,
    IP_CONDITIONS,
    PROVIDER_CONDITIONS,
    SAK_CONDITIONS,
    Condition,
)
from noots.conformance.i18n import LANGUAGES, Language, _, current_language

__all__ = [
    "EXIT_FAILED",
    "EXIT_PASSED",
    "EXIT_TOOL",
    "REPORT_FORMAT",
    "REPORT_KINDS",
    "Check",
    "Report",
    "ReportKind",
    "Section",
    "Status",
    "Summary",
    "excerpt",
    "report_json_schema",
]

REPORT_FORMAT = "noots-report/1"

#: Exit codes every suite command uses.
EXIT_PASSED = 0
EXIT_TOOL = 1
EXIT_FAILED = 2

ReportKind = Literal["provider", "consumer", "scenario", "sak", "attack", "ip"]
REPORT_KINDS: tuple[ReportKind, ...] = ("provider", "consumer", "scenario", "sak", "attack", "ip")


class Status(StrEnum):
    PASSED = "pass"
    FAILED = "fail"
    SKIPPED = "skip"


def excerpt(data: bytes | str | None, limit: int = 1500) -> str:
    """``data`` as text for a report, shortened in the middle when longer than ``limit``."""
    if data is None:
        return ""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head
    omitted = len(text) - head - tail
    gap = _(f"[{omitted} Zeichen ausgelassen]", f"[{omitted} characters omitted]")
    return f"{text[:head]}\n… {gap} …\n{text[-tail:]}"


@dataclass(frozen=True)
class Check:
    """One probe: what was expected, what came back, and the exchange it is based on."""

    name: str
    status: Status
    expected: str = ""
    actual: str = ""
    request: str = ""
    response: str = ""
    hint: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "expected": self.expected,
            "actual": self.actual,
            "request": self.request,
            "response": self.response,
            "hint": self.hint,
            "seconds": round(self.seconds, 4),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Check:
        return cls(
            name=str(data["name"]),
            status=Status(data["status"]),
            expected=str(data.get("expected", "")),
            actual=str(data.get("actual", "")),
            request=str(data.get("request", "")),
            response=str(data.get("response", "")),
            hint=str(data.get("hint", "")),
            seconds=float(data.get("seconds", 0.0)),
        )


@dataclass(frozen=True)
class Section:
    """The checks of one condition (or one scenario). ``conditions`` are the catalogue ids the
    section exercises: its own id for a conformance section, the declared ones for a
    scenario."""

    id: str
    title: str
    rule: str
    hint: str
    checks: tuple[Check, ...] = ()
    conditions: tuple[str, ...] = ()
    source: str = ""
    #: Every check is needed to pass the condition: a skipped one (what could not be tested)
    #: leaves the section skipped, never passed on the strength of the others.
    requires_all: bool = False

    @classmethod
    def for_condition(
        cls, condition: Condition, checks: Iterable[Check], *, requires_all: bool = False
    ) -> Section:
        return cls(
            condition.id,
            condition.title,
            condition.rule,
            condition.hint,
            tuple(checks),
            (condition.id,),
            requires_all=requires_all,
        )

    @property
    def status(self) -> Status:
        statuses = {check.status for check in self.checks}
        if Status.FAILED in statuses:
            return Status.FAILED
        if self.requires_all and Status.SKIPPED in statuses:
            return Status.SKIPPED
        if Status.PASSED in statuses:
            return Status.PASSED
        return Status.SKIPPED

    @property
    def seconds(self) -> float:
        return sum(check.seconds for check in self.checks)

    def count(self, status: Status) -> int:
        return sum(1 for check in self.checks if check.status is status)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "rule": self.rule,
            "hint": self.hint,
            "status": self.status.value,
            "conditions": list(self.conditions),
            "source": self.source,
            "requiresAll": self.requires_all,
            "seconds": round(self.seconds, 4),
            "checks": [check.to_dict() for check in self.checks],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Section:
        return cls(
            id=str(data["id"]),
            title=str(data["title"]),
            rule=str(data.get("rule", "")),
            hint=str(data.get("hint", "")),
            checks=tuple(Check.from_dict(c) for c in data.get("checks", ())),
            conditions=tuple(str(c) for c in data.get("conditions", ())),
            source=str(data.get("source", "")),
            requires_all=bool(data.get("requiresAll", False)),
        )


@dataclass(frozen=True)
class Summary:
    """Counts of sections, the score and the coverage of the catalogue (both in percent)."""

    total: int
    passed: int
    failed: int
    skipped: int
    checks: int
    score: float
    coverage: float
    covered: tuple[str, ...]
    uncovered: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "passed": self.passed,
            "failed": self.failed,
            "skipped": self.skipped,
            "checks": self.checks,
            "score": self.score,
            "coverage": self.coverage,
            "covered": list(self.covered),
            "uncovered": list(self.uncovered),
        }


def _catalogue(kind: ReportKind) -> tuple[Condition, ...]:
    if kind == "provider":
        return PROVIDER_CONDITIONS
    if kind == "consumer":
        return CONSUMER_CONDITIONS
    if kind == "sak":
        return SAK_CONDITIONS
    if kind == "ip":
        return IP_CONDITIONS
    if kind == "attack":
        return ()  # sections per component, not per condition
    return (*PROVIDER_CONDITIONS, *SAK_CONDITIONS, *CONSUMER_CONDITIONS, *IP_CONDITIONS)


@dataclass(frozen=True)
class Report:
    """A whole run: what was tested (``target``, ``participant``), when, and the sections.

    ``language`` is the language of its texts, the one the run wrote them in (by default the
    current report language, :func:`~noots.conformance.i18n.report_language`); the rendered
    forms put their frame in it too."""

    kind: ReportKind
    title: str
    target: str
    started_at: datetime
    finished_at: datetime
    sections: tuple[Section, ...]
    participant: str | None = None
    notes: tuple[str, ...] = ()
    tool: str = field(default=f"noots {__version__}")
    language: Language = field(default_factory=current_language)

    @property
    def summary(self) -> Summary:
        statuses = [section.status for section in self.sections]
        passed = statuses.count(Status.PASSED)
        failed = statuses.count(Status.FAILED)
        ran = passed + failed
        catalogue = [c.id for c in _catalogue(self.kind)]
        exercised = {
            condition
            for section in self.sections
            if section.status is not Status.SKIPPED
            for condition in section.conditions
        }
        covered = tuple(c for c in catalogue if c in exercised)
        uncovered = tuple(c for c in catalogue if c not in exercised)
        return Summary(
            total=len(self.sections),
            passed=passed,
            failed=failed,
            skipped=statuses.count(Status.SKIPPED),
            checks=sum(len(section.checks) for section in self.sections),
            score=round(100.0 * passed / ran, 1) if ran else 0.0,
            coverage=round(100.0 * len(covered) / len(catalogue), 1) if catalogue else 0.0,
            covered=covered,
            uncovered=uncovered,
        )

    @property
    def passed(self) -> bool:
        """No section failed (skipped sections do not fail a run)."""
        return all(section.status is not Status.FAILED for section in self.sections)

    @property
    def exit_code(self) -> int:
        return EXIT_PASSED if self.passed else EXIT_FAILED

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def section(self, section_id: str) -> Section:
        for section in self.sections:
            if section.id == section_id:
                return section
        raise KeyError(section_id)

    def statuses(self) -> dict[str, Status]:
        """Section id → status: what the tests of the suites compare."""
        return {section.id: section.status for section in self.sections}

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": REPORT_FORMAT,
            "kind": self.kind,
            "title": self.title,
            "target": self.target,
            "participant": self.participant,
            "tool": self.tool,
            "language": self.language,
            "startedAt": format_utc(self.started_at, millis=True),
            "finishedAt": format_utc(self.finished_at, millis=True),
            "seconds": round(self.seconds, 3),
            "passed": self.passed,
            "summary": self.summary.to_dict(),
            "notes": list(self.notes),
            "sections": [section.to_dict() for section in self.sections],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        """Read the JSON form back (after checking it against :func:`report_json_schema`)."""
        import jsonschema

        jsonschema.validate(dict(data), report_json_schema())
        kind = data["kind"]
        if kind not in REPORT_KINDS:
            raise ValueError(f"unknown report kind {kind!r}")
        # Reports written before they recorded a language were English.
        language = data.get("language", "en")
        if language not in LANGUAGES:
            raise ValueError(f"unknown report language {language!r}")
        return cls(
            kind=kind,
            title=str(data["title"]),
            target=str(data["target"]),
            started_at=parse_utc(str(data["startedAt"])),
            finished_at=parse_utc(str(data["finishedAt"])),
            sections=tuple(Section.from_dict(s) for s in data["sections"]),
            participant=data.get("participant"),
            notes=tuple(str(n) for n in data.get("notes", ())),
            tool=str(data.get("tool", "")),
            language=language,
        )


@cache
def report_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of :meth:`Report.to_dict`."""
    text = resources.files("noots.conformance").joinpath("report.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
