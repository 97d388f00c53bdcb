"""Scenario files against the topology: unknown names, and expectations a step cannot meet,
are problems with file and line."""

from __future__ import annotations

import pytest

from noots.conformance.scenarios import check_references, parse_scenario, reference_problems
from noots.errors import ScenarioError
from noots.paths import PROJECT_ROOT
from noots.topology import Topology, load_topology

GOOD = """\
name: sample
steps:
  - fetch: {as: 08118079-BPA-87, evidence: Meldebescheinigung, identity: normal}
    expect: {outcome: delivered, provider: 08118079-MELD-12}
  - fault: {register: 991-01234ZFZR-41, always: error, count: 1}
  - revoke: {participant: 08118079-BPA-87}
  - expect_protocol: {party: 08118079-MELD-12, outcome: delivered}
  - expect_dsc: {identity: normal, parties: [08118079-BPA-87, 991-01234ZFZR-41]}
  - health: {component: platform}
  - visit: {service: 08118079-BPA-87, decline: [Fahrzeughalterauskunft]}
  - eu_query: {as: eu-gw-fr, evidence: Geburtsurkunde, identity: normal, preview: true}
    expect: {outcome: delivered}
  - eu_order: {as: 991-00001ZAB-89, evidence: Hochschulabschluss-EU}
    expect: {outcome: delivered}
  - send: {as: 08-ELTERNGELD-79, evidence: Fahrzeughalterauskunft, identity: normal}
    expect: {outcome: delivered, signed_by: 08118079-MELD-12.sak}
"""


@pytest.fixture(scope="module")
def topology() -> Topology:
    return load_topology(PROJECT_ROOT / "landscape.yaml")


def test_a_scenario_naming_only_what_exists_has_no_problems(topology: Topology) -> None:
    """Every kind of reference, all present in the topology: nothing to report."""
    assert reference_problems(parse_scenario(GOOD, source="good.yaml"), topology) == []


@pytest.mark.parametrize(
    ("change", "location", "line"),
    [
        (("as: 08118079-BPA-87", "as: 99-NOBODY-1"), "steps[0].fetch.as", 3),
        (("evidence: Meldebescheinigung", "evidence: Einhornlizenz"), "steps[0].fetch.evidence", 3),
        (("provider: 08118079-MELD-12", "provider: 08-X-1"), "steps[0].expect.provider", 4),
        (("register: 991-01234ZFZR-41", "register: 991-NOPE"), "steps[1].fault.register", 5),
        (("party: 08118079-MELD-12", "party: noots-hub"), "steps[3].expect_protocol.party", 7),
        (("991-01234ZFZR-41]", "991-NOPE]"), "steps[4].expect_dsc.parties[1]", 8),
        (("component: platform", "component: hub"), "steps[5].health.component", 9),
        (("[Fahrzeughalterauskunft]", "[Zulassung]"), "steps[6].visit.decline[0]", 10),
        (("as: eu-gw-fr", "as: eu-gw-xx"), "steps[7].eu_query.as", 11),
        (("evidence: Geburtsurkunde", "evidence: Acte"), "steps[7].eu_query.evidence", 11),
        (("as: 991-00001ZAB-89", "as: 991-NOPE"), "steps[8].eu_order.as", 13),
        (
            ("signed_by: 08118079-MELD-12.sak", "signed_by: 08-X.sak"),
            "steps[9].expect.signed_by",
            16,
        ),
    ],
)
def test_an_unknown_name_is_a_problem_at_its_line(
    topology: Topology, change: tuple[str, str], location: str, line: int
) -> None:
    """A participant, evidence type or component the topology lacks: one problem, its
    location and line, and the names that do exist."""
    scenario = parse_scenario(GOOD.replace(*change), source="bad.yaml")
    [(found, text, at)] = reference_problems(scenario, topology)
    assert (found, at) == (location, line)
    assert "known:" in text


def test_problems_of_several_files_are_reported_together(topology: Topology) -> None:
    """check_references raises one error naming every file with its own problems."""
    first = parse_scenario(GOOD.replace("as: 08118079-BPA-87", "as: X-1"), source="a.yaml")
    second = parse_scenario(GOOD.replace("component: platform", "component: Y"), source="b.yaml")
    with pytest.raises(ScenarioError) as caught:
        check_references([first, second], topology)
    assert [line.split(": ")[0] for line in caught.value.lines()] == ["a.yaml:3", "b.yaml:9"]


@pytest.mark.parametrize(
    ("change", "location", "line"),
    [
        (
            ("provider: 08118079-MELD-12}", "signed_by: 08118079-MELD-12.sak}"),
            "steps[0].expect.signed_by",
            4,
        ),
        (
            ("{outcome: delivered, provider: 08118079-MELD-12}", "{status: 200}"),
            "steps[0].expect.status",
            4,
        ),
        (("signed_by: 08118079-MELD-12.sak}", "attempts: 1}"), "steps[9].expect.attempts", 16),
        (
            (
                "identity: normal}\n    expect: {outcome: delivered, signed",
                "identity: normal, to: register}\n    expect: {outcome: delivered, signed",
            ),
            "steps[9].expect.signed_by",
            16,
        ),
    ],
)
def test_an_expectation_the_step_cannot_meet_is_a_problem_at_its_line(
    topology: Topology, change: tuple[str, str], location: str, line: int
) -> None:
    """signed_by or status on a fetch (it sees only the bare 0102), attempts on a send,
    signed_by on a send straight to the register: a problem naming the steps that can meet
    it, instead of a failure on every run."""
    scenario = parse_scenario(GOOD.replace(*change), source="bad.yaml")
    [(found, text, at)] = reference_problems(scenario, topology)
    assert (found, at) == (location, line)
    assert "cannot meet" in text
