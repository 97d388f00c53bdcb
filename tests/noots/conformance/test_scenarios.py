"""Scenario suites against a served landscape: every shipped suite passes on one landscape,
failing expectations and tool failures give the right exit codes, tampering works."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import Result
from lxml import etree
from typer.testing import CliRunner

from noots.cli import app
from noots.clock import Clock, read_shared_offset
from noots.conformance import verify_report_file
from noots.conformance.scenarios import Tamper, tamper_bytes
from noots.participant import load_validator
from noots.paths import PROJECT_ROOT
from noots.settings import NootsSettings
from noots.signing import XmlVerifier
from noots.testing.landscape import Landscape, serve_landscape
from noots.testing.pki import TestPki, sample_envelope
from noots.xml import serialize

runner = CliRunner()
SCENARIOS = PROJECT_ROOT / "scenarios"
KBA = "991-01234ZFZR-41"


@pytest.fixture(scope="module")
def scenario_landscape(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Landscape]:
    """A landscape of its own: the suites revoke certificates and move the shared clock."""
    with serve_landscape(tmp_path_factory.mktemp("scenario-landscape"), people=200) as served:
        yield served


def run(landscape: Landscape, *args: str) -> Result:
    return runner.invoke(
        app,
        [
            "scenario",
            "run",
            *args,
            "--data-dir",
            str(landscape.data_dir),
            "--topology",
            str(landscape.topology_path),
            "--admin-token",
            landscape.admin_token,
            "--no-start",
        ],
    )


@pytest.mark.slow
def test_every_shipped_suite_passes(scenario_landscape: Landscape, tmp_path: Path) -> None:
    """All pilot and condition suites pass on one landscape; the reports are complete, signed
    and cover every connection condition a landscape can show (SAK-07 and SAK-08 need the SAK
    suite); the landscape is left as it was found."""
    reports = tmp_path / "reports"
    result = run(
        scenario_landscape,
        str(SCENARIOS),
        "--junit",
        str(reports / "junit.xml"),
        "--html",
        str(reports / "report.html"),
        "--json",
        str(reports / "report.json"),
    )
    assert result.exit_code == 0, result.output[-4000:]
    data = json.loads((reports / "report.json").read_text("utf-8"))
    assert data["summary"]["failed"] == 0
    assert data["summary"]["uncovered"] == ["SAK-07", "SAK-08"]
    assert len(data["sections"]) == len(list(SCENARIOS.rglob("*.yaml")))
    junit = etree.parse(str(reports / "junit.xml")).getroot()
    checks = sum(len(s["checks"]) for s in data["sections"])
    assert int(junit.get("tests")) == checks
    assert junit.get("failures") == "0"
    verifier = XmlVerifier(
        load_validator(scenario_landscape.data_dir / "pki", clock=_clock(scenario_landscape))
    )
    for name in ("junit.xml", "report.html", "report.json"):
        assert verify_report_file(reports / name, verifier).passed
    # Undone after each scenario: the clock and the fault plans.
    assert (
        read_shared_offset(scenario_landscape.data_dir / "run" / "clock.json").total_seconds() == 0
    )
    faults = httpx.get(
        scenario_landscape.url(KBA) + "/admin/v1/faults",
        headers={"Authorization": f"Bearer {scenario_landscape.admin_token}"},
    ).json()
    assert faults["rates"] == {}


def test_a_wrong_eu_expectation_fails_at_its_line(
    scenario_landscape: Landscape, tmp_path: Path
) -> None:
    """eu_query steps are graded: a refusal expected to reach the register, and the wrong
    exception type, fail (exit 2) naming what came back."""
    path = tmp_path / "eu.yaml"
    path.write_text(
        "name: eu wrong\nsteps:\n"
        "  - eu_query: {as: eu-gw-fr, evidence: Geburtsurkunde, identity: normal, "
        "variant: tampered}\n"
        "    expect: {outcome: refused, forwarded: true}\n"
        "  - eu_query: {as: eu-gw-fr, evidence: Geburtsurkunde, identity: not_found}\n"
        "    expect: {outcome: refused, exception_type: UnsupportedCapabilityExceptionType}\n",
        encoding="utf-8",
    )
    result = run(scenario_landscape, str(path), "--json", str(tmp_path / "r.json"), "--lang", "en")
    assert result.exit_code == 2, result.output
    checks = json.loads((tmp_path / "r.json").read_text("utf-8"))["sections"][0]["checks"]
    assert [c["status"] for c in checks] == ["fail", "fail"]
    assert "0 transfer(s) in the register's protocol, expected one" in checks[0]["actual"]
    assert "expected UnsupportedCapabilityExceptionType" in checks[1]["actual"]
    assert "ObjectNotFoundExceptionType" in checks[1]["actual"]


def _clock(landscape: Landscape) -> Clock:
    return NootsSettings(data_dir=landscape.data_dir).clock()


def test_a_failed_expectation_exits_two(scenario_landscape: Landscape, tmp_path: Path) -> None:
    """A wrong expectation fails its scenario (exit 2) and names the file and line."""
    path = tmp_path / "wrong.yaml"
    path.write_text(
        "name: wrong\nsteps:\n"
        "  - fetch: {as: 08118079-BPA-87, evidence: Fahrzeughalterauskunft, identity: not_found}\n"
        "    expect: {outcome: delivered}\n",
        encoding="utf-8",
    )
    result = run(scenario_landscape, str(path), "--json", str(tmp_path / "r.json"))
    assert result.exit_code == 2, result.output
    assert f"{path}:3" in result.output
    data = json.loads((tmp_path / "r.json").read_text("utf-8"))
    check = data["sections"][0]["checks"][0]
    assert check["status"] == "fail"
    assert "outcome refused, erwartet delivered" in check["actual"]
    assert "EDM:ERR:0004" in check["actual"]


def test_a_step_that_cannot_run_is_a_tool_failure(
    scenario_landscape: Landscape, tmp_path: Path
) -> None:
    """Without the admin token a fault step cannot be carried out: exit 1, later steps skipped."""
    path = tmp_path / "fault.yaml"
    path.write_text(
        "name: fault\nsteps:\n"
        f"  - fault: {{register: {KBA}, always: error}}\n"
        "  - fetch: {as: 08118079-BPA-87, evidence: Fahrzeughalterauskunft, identity: normal}\n",
        encoding="utf-8",
    )
    result = runner.invoke(
        app,
        [
            "scenario",
            "run",
            str(path),
            "--data-dir",
            str(scenario_landscape.data_dir),
            "--topology",
            str(scenario_landscape.topology_path),
            "--no-start",
            "--json",
            str(tmp_path / "r.json"),
        ],
        env={"NOOTS_ADMIN_TOKEN": ""},
    )
    assert result.exit_code == 1, result.output
    assert "no admin token" in result.output
    steps = json.loads((tmp_path / "r.json").read_text("utf-8"))["sections"][0]["checks"]
    assert [s["status"] for s in steps] == ["fail", "skip"]


def test_check_reports_file_and_line(tmp_path: Path) -> None:
    """`noots scenario check` refuses a bad file with file:line and exits 1."""
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nsteps:\n  - clock: {advance: soon}\n", encoding="utf-8")
    result = runner.invoke(app, ["scenario", "check", str(path)])
    assert result.exit_code == 1
    assert f"{path}:3" in result.output
    good = runner.invoke(app, ["scenario", "check", str(SCENARIOS)])
    assert good.exit_code == 0, good.output


def test_schema_command_prints_the_schema() -> None:
    """`noots scenario schema` prints the JSON Schema."""
    result = runner.invoke(app, ["scenario", "schema"])
    assert result.exit_code == 0
    assert json.loads(result.output)["$id"] == "urn:noots:schema:scenario:1"


def test_no_landscape_and_no_start_exits_one(tmp_path: Path) -> None:
    """Nothing running and --no-start: a clear tool failure."""
    result = runner.invoke(
        app, ["scenario", "run", str(SCENARIOS), "--data-dir", str(tmp_path), "--no-start"]
    )
    assert result.exit_code == 1
    assert "no landscape runs" in result.output


@pytest.mark.parametrize("action", ["flip", "strip_signature", "truncate", "replace"])
def test_tampering_changes_a_signed_envelope(action: str) -> None:
    """Every tamper action changes the bytes; flip and strip keep them well-formed XML."""
    with TestPki() as pki:
        raw = serialize(pki.signer("08118079-BPA-87").sign(sample_envelope()))
    changed = tamper_bytes(raw, Tamper("response", action, old="Mustermann", new="Musterfrau"))
    assert changed != raw
    if action in ("flip", "strip_signature"):
        root = etree.fromstring(changed)
        has_signature = root.find("{http://www.w3.org/2000/09/xmldsig#}Signature") is not None
        assert has_signature is (action == "flip")


def test_reports_go_to_the_data_dir_by_default(
    scenario_landscape: Landscape, tmp_path: Path
) -> None:
    """Without --junit/--html/--json the report lands in <data_dir>/reports (the dashboard's
    folder), signed."""
    path = tmp_path / "health.yaml"
    path.write_text("name: health\nsteps:\n  - health: {component: platform}\n", encoding="utf-8")
    before = set((scenario_landscape.data_dir / "reports").glob("scenarios-*"))
    result = run(scenario_landscape, str(path))
    assert result.exit_code == 0, result.output
    [written] = set((scenario_landscape.data_dir / "reports").glob("scenarios-*")) - before
    verifier = XmlVerifier(
        load_validator(scenario_landscape.data_dir / "pki", clock=_clock(scenario_landscape))
    )
    assert verify_report_file(written / "report.json", verifier).passed


@pytest.mark.postgres
def test_protocol_target_follows_the_landscape_database(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scenario run reads a party's protocol log where the components write it:
    NOOTS_DATABASE_URL first, then the topology's database, else SQLite under the data dir."""
    from noots.clock import SystemClock
    from noots.conformance.scenarios._access import LandscapeAccess
    from noots.protocol import open_protocol_log
    from noots.testing.postgres import fresh_database
    from noots.topology import DEFAULT_TOPOLOGY_PATH, load_topology

    topology = load_topology(DEFAULT_TOPOLOGY_PATH)
    monkeypatch.delenv("NOOTS_DATABASE_URL", raising=False)
    access = LandscapeAccess(tmp_path, topology, DEFAULT_TOPOLOGY_PATH)
    assert access.protocol_target(KBA) == str(tmp_path / "logs" / f"{KBA}.db")
    platform = topology.platform.model_copy(update={"database": "postgresql://topology/db"})
    with_database = topology.model_copy(update={"platform": platform})
    assert (
        LandscapeAccess(tmp_path, with_database, DEFAULT_TOPOLOGY_PATH).protocol_target(KBA)
        == "postgresql://topology/db"
    )
    database = fresh_database(postgres_url)
    monkeypatch.setenv("NOOTS_DATABASE_URL", database)
    target = LandscapeAccess(tmp_path, with_database, DEFAULT_TOPOLOGY_PATH).protocol_target(KBA)
    assert target == database
    # What a register logs to the URL is what the run reads back from its target.
    with open_protocol_log(database, party=KBA, clock=SystemClock()) as register:
        register.append(
            consumer="08118079-BPA-87",
            provider=KBA,
            evidence_type="Fahrzeughalterauskunft",
            purpose="Bewohnerparkausweis",
            idnr="02476291358",
            message_id="urn:uuid:4f9b2a1e-0000-4000-8000-000000000001",
            outcome="delivered",
        )
    with open_protocol_log(target, party="scenario", clock=SystemClock()) as read:
        assert [e.party for e in read.entries(idnr="02476291358")] == [KBA]
