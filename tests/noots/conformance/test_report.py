"""Tests of the condition catalogue and the report model (noots.conformance)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from noots.conformance import (
    CONSUMER_CONDITIONS,
    PROVIDER_CONDITIONS,
    RETIRED,
    SAK_CONDITIONS,
    Check,
    Report,
    Section,
    Status,
    condition,
    excerpt,
    report_json_schema,
)

START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def sample_report() -> Report:
    """Three sections: one passed, one failed, one skipped."""
    sections = (
        Section.for_condition(
            condition("DP-01"),
            [Check("valid request", Status.PASSED, "0102", "0102", seconds=0.1)],
        ),
        Section.for_condition(
            condition("DP-04"),
            [
                Check("unsigned", Status.FAILED, "EDM:ERR:0001", "0102 with evidence", "<a/>"),
                Check("tampered", Status.PASSED, "EDM:ERR:0001", "EDM:ERR:0001"),
            ],
        ),
        Section.for_condition(
            condition("DP-12"), [Check("protocol log", Status.SKIPPED, actual="no log given")]
        ),
    )
    return Report(
        "provider",
        "Provider conformance",
        "http://127.0.0.1:8416",
        START,
        START + timedelta(seconds=3),
        sections,
        participant="991-01234ZFZR-41",
    )


def test_catalogue_lists_every_condition_once() -> None:
    """The register conditions keep their ids where the meaning stayed (DP-02, 03, 09, 10, 11
    went to the SAK), the SAK has SAK-01…SAK-10; each condition has a rule and a hint, and
    the register's and the SAK's their probes."""
    kept = [1, 4, 5, 6, 7, 8, 12, 13, 14, 15, 16, 17]
    assert [c.id for c in PROVIDER_CONDITIONS] == [f"DP-{i:02d}" for i in kept]
    assert [c.id for c in SAK_CONDITIONS] == [f"SAK-{i:02d}" for i in range(1, 11)]
    assert [c.id for c in CONSUMER_CONDITIONS] == [f"DC-{i:02d}" for i in range(1, 10)]
    assert set(RETIRED) == {"DP-02", "DP-03", "DP-09", "DP-10", "DP-11"}
    assert {now for _title, now in RETIRED.values()} <= {c.id for c in SAK_CONDITIONS}
    for item in (*PROVIDER_CONDITIONS, *SAK_CONDITIONS, *CONSUMER_CONDITIONS):
        for text in (item.de, item.en):
            assert text.rule.endswith(".")
            assert text.hint
            assert text.title
    for item in (*PROVIDER_CONDITIONS, *SAK_CONDITIONS):
        assert item.de.probes
        assert item.en.probes


def test_a_section_that_needs_every_check_is_skipped_by_one_skip() -> None:
    """requires_all: a passed and a skipped check leave the section skipped (not tested in
    full), a failed one still fails it; it survives the JSON round trip."""
    passed = Check("a", Status.PASSED)
    skipped = Check("b", Status.SKIPPED, actual="not configured")
    failed = Check("c", Status.FAILED)
    dp06 = condition("DP-06")
    assert Section.for_condition(dp06, [passed, skipped]).status is Status.PASSED
    strict = Section.for_condition(dp06, [passed, skipped], requires_all=True)
    assert strict.status is Status.SKIPPED
    assert Section.for_condition(dp06, [failed, skipped], requires_all=True).status is (
        Status.FAILED
    )
    assert Section.from_dict(strict.to_dict()).status is Status.SKIPPED


def test_unknown_condition_names_the_known_ones() -> None:
    """Asking for an unknown id fails with a message listing the catalogue."""
    with pytest.raises(KeyError, match="DP-01"):
        condition("DP-99")
    assert condition("dp-04").id == "DP-04"
    assert condition("sak-01").id == "SAK-01"


def test_section_status_follows_its_checks() -> None:
    """One failed check fails a section; otherwise one passed check passes it; else skipped."""
    report = sample_report()
    assert report.statuses() == {
        "DP-01": Status.PASSED,
        "DP-04": Status.FAILED,
        "DP-12": Status.SKIPPED,
    }
    assert Section("x", "x", "", "").status is Status.SKIPPED


def test_summary_score_and_coverage() -> None:
    """Score counts passed sections among those that ran; coverage the exercised conditions."""
    summary = sample_report().summary
    assert (summary.total, summary.passed, summary.failed, summary.skipped) == (3, 1, 1, 1)
    assert summary.checks == 4
    assert summary.score == 50.0
    assert summary.covered == ("DP-01", "DP-04")
    assert summary.coverage == round(100 * 2 / 12, 1)
    assert "DP-12" in summary.uncovered


def test_exit_code_is_two_when_a_section_failed() -> None:
    """A failed section makes the run fail (exit 2); skipped sections do not."""
    report = sample_report()
    assert report.exit_code == 2
    assert not report.passed
    passing = Report(
        "provider",
        "t",
        "x",
        START,
        START,
        tuple(s for s in report.sections if s.status is not Status.FAILED),
    )
    assert passing.exit_code == 0


def test_json_form_matches_its_schema_and_reads_back() -> None:
    """to_dict is valid against the published schema and from_dict restores the report."""
    report = sample_report()
    data = report.to_dict()
    jsonschema.validate(data, report_json_schema())
    assert Report.from_dict(data) == report


def test_schema_refuses_an_unknown_status() -> None:
    """The schema is strict: a check with an invented status is refused."""
    data = sample_report().to_dict()
    data["sections"][0]["checks"][0]["status"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, report_json_schema())


@settings(max_examples=100)
@given(st.text(max_size=5000), st.integers(min_value=50, max_value=2000))
def test_excerpt_keeps_both_ends_within_the_limit(text: str, limit: int) -> None:
    """An excerpt is the text itself when short, else its start and end with a marker."""
    result = excerpt(text, limit)
    if len(text) <= limit:
        assert result == text
    else:
        assert result.startswith(text[: limit * 2 // 3])
        assert result.endswith(text[len(text) - (limit - limit * 2 // 3) :])
        assert "characters omitted" in result


def test_excerpt_of_bytes_survives_invalid_utf8() -> None:
    """Bytes that are not UTF-8 become replacement characters, never an exception."""
    assert excerpt(b"\xff\xfe<a/>") == "\ufffd\ufffd<a/>"
    assert excerpt(None) == ""
