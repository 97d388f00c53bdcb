"""Tests of scenario files: schema, loading, and errors that point at the line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from noots.conformance.catalogue import (
    CONSUMER_CONDITIONS,
    IP_CONDITIONS,
    PROVIDER_CONDITIONS,
    SAK_CONDITIONS,
)
from noots.conformance.scenarios import (
    find_scenario_files,
    load_scenarios,
    parse_duration,
    parse_scenario,
    scenario_json_schema,
)
from noots.errors import ScenarioError
from noots.paths import PROJECT_ROOT

GOOD = """\
name: sample
conditions: [DP-01]
steps:
  - name: first
    fetch: {as: 08118079-BPA-87, evidence: Meldebescheinigung, identity: normal}
    expect: {outcome: delivered, fields: {Person.Familienname: Mustermann}}
  - fault: {register: 991-01234ZFZR-41, always: error, count: 1}
  - clock: {advance: 6m}
  - expect_protocol: {party: 991-01234ZFZR-41, outcome: delivered}
"""


def problems_of(text: str) -> list[tuple[str, str, int | None]]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, source="bad.yaml")
    return caught.value.problems


def test_schema_is_a_valid_json_schema() -> None:
    """The published schema is itself valid draft 2020-12."""
    jsonschema.Draft202012Validator.check_schema(scenario_json_schema())


def test_a_good_file_loads_with_its_steps_and_lines() -> None:
    """Actions, parameters, expectations and the line of each step are kept."""
    scenario = parse_scenario(GOOD)
    assert [s.action for s in scenario.steps] == ["fetch", "fault", "clock", "expect_protocol"]
    assert [s.line for s in scenario.steps] == [4, 7, 8, 9]
    assert scenario.steps[0].expect["fields"] == {"Person.Familienname": "Mustermann"}
    assert scenario.steps[0].title == "first"
    assert scenario.conditions == ("DP-01",)


def test_unknown_field_names_its_line() -> None:
    """A typo in a step's parameters is reported at that line with the field's name."""
    text = GOOD.replace("always: error", "alway: error")
    found = problems_of(text)
    assert any(line == 7 and "alway" in message for _, message, line in found), found


def test_two_actions_in_one_step() -> None:
    """A step with fetch and clock is refused with a message naming both."""
    text = GOOD.replace(
        "  - clock: {advance: 6m}", "  - clock: {advance: 6m}\n    revoke: {participant: x}"
    )
    location, message, line = problems_of(text)[0]
    assert location == "steps[2]"
    assert "exactly one action" in message
    assert "clock" in message
    assert "revoke" in message
    assert line == 8


def test_expect_only_on_fetch_and_send() -> None:
    """An expect block on a fault step is refused."""
    text = GOOD.replace(
        "  - clock: {advance: 6m}", "  - clock: {advance: 6m}\n    expect: {outcome: delivered}"
    )
    assert "'expect' belongs to fetch, send, eu_query and eu_order" in problems_of(text)[0][1]


def test_fetch_without_subject() -> None:
    """A fetch that names nobody is refused at the fetch's line."""
    text = GOOD.replace(", identity: normal}", "}")
    location, message, line = problems_of(text)[0]
    assert location == "steps[0].fetch"
    assert "name the subject" in message
    assert line == 5


def test_bad_code_and_duration() -> None:
    """A malformed EDM code and an unreadable duration are both reported with lines."""
    text = GOOD.replace("outcome: delivered, fields", "code: EDM:ERR:9, fields").replace(
        "advance: 6m", "advance: soon"
    )
    found = problems_of(text)
    assert {line for _, _, line in found} >= {6, 8}


def test_yaml_syntax_error_has_a_line() -> None:
    """Broken YAML is reported as such with the line of the problem."""
    _location, message, line = problems_of("name: x\nsteps:\n  - fetch: {as: [\n")[0]
    assert "not valid YAML" in message
    assert line is not None


def test_message_format_is_file_line_location() -> None:
    """The exception's text is one 'file:line: location: message' per problem."""
    with pytest.raises(ScenarioError, match=r"bad\.yaml:7: steps\[1\]\.fault"):
        parse_scenario(GOOD.replace("always: error", "always: nonsense"), source="bad.yaml")


def test_load_scenarios_reports_every_bad_file(tmp_path: Path) -> None:
    """Loading a directory checks every file and reports all problems at once."""
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.yaml").write_text("name: b\nsteps: []\n", encoding="utf-8")
    (tmp_path / "c.yml").write_text("- just a list\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenarios([tmp_path])
    text = str(caught.value)
    assert "b.yaml" in text
    assert "c.yml" in text
    assert len(find_scenario_files([tmp_path])) == 3


def test_each_problem_of_several_files_names_its_own_file(tmp_path: Path) -> None:
    """With two bad files every problem line starts with its own file and line, never with
    a label like '2 scenario files:3'."""
    bad = GOOD.replace("always: error", "always: nonsense")
    (tmp_path / "a.yaml").write_text(bad, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(bad, encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenarios([tmp_path])
    lines = caught.value.lines()
    assert [line.split(": ")[0] for line in lines] == [
        f"{tmp_path / 'a.yaml'}:7",
        f"{tmp_path / 'b.yaml'}:7",
    ]


def test_a_wrong_value_is_reported_once_not_also_as_unexpected() -> None:
    """An identity outside the list is one problem at its line; the property is not also
    called 'unevaluated' (the schema branch that knows it failed)."""
    problems = problems_of(GOOD.replace("identity: normal", "identity: nobody"))
    assert [(loc, line) for loc, _text, line in problems] == [("steps[0].fetch.identity", 5)]


def test_every_shipped_scenario_is_valid() -> None:
    """The suites under scenarios/ load, and together name every connection condition a
    landscape can show, the IP's included: all but SAK-07 and SAK-08, which need a SAK played
    wrongly or TLS (the SAK suite tests them)."""
    scenarios = load_scenarios([PROJECT_ROOT / "scenarios"])
    ids = {s.id for s in scenarios}
    assert {
        "bewohnerparkausweis",
        "elterngeld",
        "gewerbeanmeldung",
        "eu-geburtsurkunde-lyon",
        "eu-hochschulabschluss",
    } <= ids
    covered = {c for s in scenarios for c in s.conditions}
    catalogue = {
        c.id for c in (*PROVIDER_CONDITIONS, *SAK_CONDITIONS, *CONSUMER_CONDITIONS, *IP_CONDITIONS)
    }
    assert covered == catalogue - {"SAK-07", "SAK-08"}


@settings(max_examples=100)
@given(
    st.integers(min_value=-10_000, max_value=10_000),
    st.sampled_from(["ms", "s", "m", "h", "d", ""]),
)
def test_durations(amount: int, unit: str) -> None:
    """'<n><unit>' is n times the unit; a bare number is seconds."""
    factor = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "": 1}[unit]
    assert parse_duration(f"{amount}{unit}") == timedelta(seconds=amount * factor)
    assert parse_duration(amount) == timedelta(seconds=amount)


def test_eu_steps_take_expectations_and_their_variants() -> None:
    """eu_query and eu_order carry an expect block; an unknown eu_query variant is refused at
    its line."""
    text = (
        "name: eu\nsteps:\n"
        "  - eu_query: {as: eu-gw-fr, evidence: Geburtsurkunde, variant: replay}\n"
        "    expect: {outcome: refused, forwarded: false}\n"
        "  - eu_order: {as: 991-00001ZAB-89, evidence: Hochschulabschluss-EU, decide: decline}\n"
        "    expect: {outcome: refused, code: 'EDM:ERR:0004'}\n"
    )
    scenario = parse_scenario(text, source="eu.yaml")
    assert [step.action for step in scenario.steps] == ["eu_query", "eu_order"]
    assert scenario.steps[0].expect["forwarded"] is False
    bad = text.replace("variant: replay", "variant: teleport")
    [(location, _message, line)] = problems_of(bad)
    assert (location, line) == ("steps[0].eu_query.variant", 3)
