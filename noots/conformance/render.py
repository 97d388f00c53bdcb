"""A :class:`~noots.conformance.report.Report` as files: HTML for a person, JUnit XML for CI,
JSON for tools.

The HTML page is self-contained (inline CSS, no scripts, no external assets), so it can be
archived as a CI artefact and opened anywhere. JUnit XML has one ``testsuite`` per section and
one ``testcase`` per check; a failed check is a ``failure`` whose text says what was expected,
what came back and how to fix it.

The frame (headings, labels, status words) is in the report's own language
(:attr:`Report.language <noots.conformance.report.Report.language>`), whatever language the
process renders in: a German report stays German when an English run renders it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import jinja2
from lxml import etree

from noots.conformance.i18n import Language, format_number, frame
from noots.conformance.report import Report, Status

__all__ = [
    "ReportFiles",
    "render_html",
    "render_json",
    "render_junit",
    "started_text",
    "status_label",
    "write_report",
]

# Characters XML 1.0 cannot carry (a hostile payload's excerpt may contain them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


_environment = jinja2.Environment(
    loader=jinja2.PackageLoader("noots.conformance", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters["clean"] = _clean


def status_label(status: Status, language: Language) -> str:
    """``bestanden`` / ``passed`` …: the status as a person reads it."""
    return frame(f"status.{status.value}", language)


def started_text(report: Report) -> str:
    """When the run started: German in Europe/Berlin (``22.11.2026, 10:00:00 Uhr``), English
    in UTC (``2026-11-22 09:00:00 UTC``)."""
    if report.language == "de":
        from noots.web import german_datetime

        return german_datetime(report.started_at, seconds=True)
    return report.started_at.strftime("%Y-%m-%d %H:%M:%S") + " UTC"


def render_html(report: Report) -> bytes:
    """The report as one self-contained HTML page (UTF-8), its frame in the report's
    language."""
    language = report.language
    template = _environment.get_template("report.html")
    text = template.render(
        report=report,
        summary=report.summary,
        Status=Status,
        language=language,
        started=started_text(report),
        t=lambda key: frame(key, language),
        label=lambda status: status_label(status, language),
        number=lambda value, digits=None: format_number(value, language, digits),
    )
    return text.encode("utf-8")


def render_json(report: Report) -> bytes:
    return report.to_json().encode("utf-8")


def _labelled(language: Language, rows: list[tuple[str, str]]) -> str:
    """``label: value`` lines with the values aligned, the labels from the frame."""
    labels = [frame(key, language) + ":" for key, _value in rows]
    width = max(len(label) for label in labels)
    return "\n".join(
        f"{label.ljust(width)} {value}" for label, (_key, value) in zip(labels, rows, strict=True)
    )


def _failure_text(
    language: Language, expected: str, actual: str, hint: str, request: str, response: str
) -> str:
    rows = [("expected", expected), ("actual", actual)]
    if hint:
        rows.append(("hint", hint))
    parts = [_labelled(language, rows)]
    if request:
        parts.append(f"--- {frame('request', language)} ---\n{request}")
    if response:
        parts.append(f"--- {frame('response', language)} ---\n{response}")
    return _clean("\n".join(parts))


def render_junit(report: Report) -> bytes:
    """The report as JUnit XML: ``testsuites`` → one ``testsuite`` per section → one
    ``testcase`` per check (``failure`` / ``skipped`` as the check's status says)."""
    summary = report.summary
    language = report.language
    root = etree.Element("testsuites")
    root.set("name", _clean(report.title))
    # Machine attributes in English like the rest of JUnit; the language of the texts beside.
    root.set("language", language)
    total = failures = skipped = 0
    for section in report.sections:
        checks = section.checks
        suite = etree.SubElement(root, "testsuite")
        suite.set("name", _clean(f"{section.id} {section.title}"))
        suite.set("timestamp", report.started_at.strftime("%Y-%m-%dT%H:%M:%S"))
        properties = etree.SubElement(suite, "properties")
        for name, value in (
            ("rule", section.rule),
            ("status", section.status.value),
            ("conditions", " ".join(section.conditions)),
        ):
            prop = etree.SubElement(properties, "property")
            prop.set("name", name)
            prop.set("value", _clean(value))
        suite_failures = suite_skipped = 0
        for check in checks:
            case = etree.SubElement(suite, "testcase")
            case.set("classname", _clean(f"noots.{report.kind}.{section.id}"))
            case.set("name", _clean(check.name))
            case.set("time", f"{check.seconds:.3f}")
            if check.status is Status.FAILED:
                suite_failures += 1
                failure = etree.SubElement(case, "failure")
                failure.set("type", section.id)
                failure.set(
                    "message", _clean(check.actual or frame("junit.failed", language))[:500]
                )
                failure.text = _failure_text(
                    language,
                    check.expected,
                    check.actual,
                    check.hint or section.hint,
                    check.request,
                    check.response,
                )
            elif check.status is Status.SKIPPED:
                suite_skipped += 1
                skip = etree.SubElement(case, "skipped")
                skip.set("message", _clean(check.actual or frame("junit.skipped", language))[:500])
            else:
                out = etree.SubElement(case, "system-out")
                rows = [("expected", check.expected), ("actual", check.actual)]
                out.text = _clean(_labelled(language, rows))
        suite.set("tests", str(len(checks)))
        suite.set("failures", str(suite_failures))
        suite.set("errors", "0")
        suite.set("skipped", str(suite_skipped))
        suite.set("time", f"{section.seconds:.3f}")
        total += len(checks)
        failures += suite_failures
        skipped += suite_skipped
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", "0")
    root.set("skipped", str(skipped))
    root.set("time", f"{report.seconds:.3f}")
    # Score and coverage travel as attributes CI tools ignore but people find in the file.
    root.set("score", f"{summary.score:g}")
    root.set("coverage", f"{summary.coverage:g}")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


@dataclass(frozen=True)
class ReportFiles:
    """Where a report was written (None: that format was not asked for)."""

    html: Path | None = None
    junit: Path | None = None
    json: Path | None = None

    def paths(self) -> list[Path]:
        return [p for p in (self.json, self.junit, self.html) if p is not None]


def write_report(
    report: Report,
    *,
    html: Path | None = None,
    junit: Path | None = None,
    json: Path | None = None,
) -> ReportFiles:
    """Write the formats asked for; parent directories are created."""
    for path, render in ((html, render_html), (junit, render_junit), (json, render_json)):
        if path is None:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(render(report))
    return ReportFiles(html=html, junit=junit, json=json)
