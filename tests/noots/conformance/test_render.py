"""Tests of the HTML, JUnit XML and JSON forms of a report (noots.conformance.render)."""

from __future__ import annotations

import json
from pathlib import Path

from lxml import etree

from noots.conformance import (
    Check,
    Report,
    Section,
    Status,
    condition,
    render_html,
    render_junit,
    write_report,
)
from tests.noots.conformance.test_report import START, sample_report


def test_junit_counts_match_the_report() -> None:
    """JUnit XML parses and its tests/failures/skipped counts equal the report's checks."""
    report = sample_report()
    root = etree.fromstring(render_junit(report))
    assert root.tag == "testsuites"
    checks = [c for s in report.sections for c in s.checks]
    assert int(root.get("tests")) == len(checks) == len(root.findall(".//testcase"))
    assert int(root.get("failures")) == 1 == len(root.findall(".//failure"))
    assert int(root.get("skipped")) == 1 == len(root.findall(".//skipped"))
    suites = root.findall("testsuite")
    assert [s.get("name").split()[0] for s in suites] == ["DP-01", "DP-04", "DP-12"]
    for suite, section in zip(suites, report.sections, strict=True):
        assert int(suite.get("tests")) == len(section.checks)
    failure = root.find(".//failure")
    assert failure.get("type") == "DP-04"
    assert "erwartet: EDM:ERR:0001" in failure.text
    assert "Hinweis:" in failure.text


def test_junit_survives_control_characters_in_excerpts() -> None:
    """A hostile payload's excerpt with NUL bytes still gives well-formed XML."""
    section = Section.for_condition(
        condition("DP-16"),
        [Check("utf-16", Status.FAILED, "0003", "crash\x00\x01", request="\x00<\x00!")],
    )
    report = Report("provider", "t", "x", START, START, (section,))
    root = etree.fromstring(render_junit(report))
    assert "\ufffd" in root.find(".//failure").text


def test_html_is_self_contained_and_escapes_content() -> None:
    """The page has no external references and shows markup from answers as text."""
    section = Section.for_condition(
        condition("DP-04"),
        [Check("x", Status.FAILED, "0001", "<script>alert(1)</script>", response="<b>x</b>")],
    )
    report = Report("provider", "Provider <conformance>", "t", START, START, (section,))
    html = render_html(report).decode("utf-8")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Provider &lt;conformance&gt;" in html
    for external in ('src="http', 'href="http', "@import", "url("):
        assert external not in html
    assert "So beheben Sie es:" in html


def test_write_report_writes_each_format_asked_for(tmp_path: Path) -> None:
    """write_report creates the directories and files for the formats given, no others."""
    report = sample_report()
    files = write_report(report, json=tmp_path / "a" / "r.json", junit=tmp_path / "b" / "r.xml")
    assert files.html is None
    assert [p.name for p in files.paths()] == ["r.json", "r.xml"]
    data = json.loads((tmp_path / "a" / "r.json").read_text("utf-8"))
    assert data["summary"]["failed"] == 1
    assert not (tmp_path / "r.html").exists()
