"""The provider conformance suite: the mock registers pass it, a register broken in one
condition fails exactly that one, and the CLI writes signed reports (one real-socket run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from noots.cli import app
from noots.clock import SystemClock
from noots.conformance import Status, report_json_schema, verify_report_file
from noots.conformance.answers import time_zone_problems
from noots.conformance.broken import BROKEN_REGISTERS, broken_register_app
from noots.conformance.provider import (
    SuiteCredentials,
    default_target,
    prepare_credentials,
    read_answer,
    run_provider_suite,
)
from noots.errors import ConfigurationError, UpstreamError
from noots.participant import load_validator
from noots.signing import XmlVerifier
from noots.testing.landscape import Landscape
from registers._service import create_register_app
from registers.settings import RegisterSettings

KBA = "991-01234ZFZR-41"
CLOCK = SystemClock()
runner = CliRunner()


@pytest.fixture(scope="module")
def credentials(landscape: Landscape) -> SuiteCredentials:
    """The suite's certificates, issued once for the module (key generation is slow)."""
    return prepare_credentials(
        landscape.data_dir / "pki",
        participant=KBA,
        consumer="08118079-BPA-87",
        vs_id=landscape.topology.platform.vs_id,
        clock=CLOCK,
    )


def register_settings(landscape: Landscape, participant: str) -> RegisterSettings:
    return RegisterSettings(
        **landscape.settings_overrides,
        participant_id=participant,
        async_delay_seconds=0.4,
        slow_delay_seconds=0,
    )


async def run_in_process(
    landscape: Landscape,
    participant: str,
    register_app: Any,
    credentials: SuiteCredentials | None,
    **options: Any,
) -> Any:
    target = default_target(
        landscape.topology,
        participant,
        "http://register.test",
        protocol_log=str(landscape.data_dir / "logs" / f"{participant}.db"),
        max_wait=5,
        **options,
    )
    return await run_provider_suite(
        target,
        topology=landscape.topology,
        pki_dir=landscape.data_dir / "pki",
        clock=CLOCK,
        transport=httpx.ASGITransport(app=register_app),
        credentials=credentials if participant == KBA else None,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "participant",
    [
        "08118079-MELD-12",
        "09162000-MELD-57",
        "11000000-MELD-35",
        "02000000-MELD-11",
        "05315000-MELD-47",
        "992-00001PSTR-10",
        "993-00001HREG-32",
    ],
)
async def test_mock_register_passes_every_condition(landscape: Landscape, participant: str) -> None:
    """Every mock register of the landscape fails no condition (in-process ASGI)."""
    register = create_register_app(register_settings(landscape, participant))
    report = await run_in_process(landscape, participant, register, None)
    failed = {
        s.id: [c.actual for c in s.checks if c.status is Status.FAILED]
        for s in report.sections
        if s.status is Status.FAILED
    }
    assert failed == {}
    assert [s.id for s in report.sections] == [f"DP-{i:02d}" for i in range(1, 16)]
    # Natural-person registers exercise every condition; the Handelsregister has no IDNr,
    # no information block.
    expected_skips = {"DP-05", "DP-07"} if participant == "993-00001HREG-32" else set()
    assert {s.id for s in report.sections if s.status is Status.SKIPPED} == expected_skips


@pytest.mark.slow
@pytest.mark.parametrize("condition_id", sorted(BROKEN_REGISTERS))
async def test_broken_register_fails_exactly_its_condition(
    landscape: Landscape, credentials: SuiteCredentials, condition_id: str
) -> None:
    """A register that violates one condition fails that condition and passes all others."""
    settings = register_settings(landscape, KBA)
    register = broken_register_app(condition_id, settings, delay=1.5)
    report = await run_in_process(landscape, KBA, register, credentials, time_budget=1.0)
    statuses = report.statuses()
    assert {cid for cid, status in statuses.items() if status is Status.FAILED} == {condition_id}
    assert Status.SKIPPED not in statuses.values()
    section = report.section(condition_id)
    failing = [c for c in section.checks if c.status is Status.FAILED]
    assert all(c.hint for c in failing), "every failed check says how to fix it"


@pytest.mark.slow
async def test_a_protocol_log_that_is_not_one_is_refused_and_left_as_it_was(
    landscape: Landscape, tmp_path: Path
) -> None:
    """--protocol-log naming a SQLite file that is not a protocol log: DP-12 fails saying so,
    and the file is neither given the log's tables nor changed at all."""
    import sqlite3

    other = tmp_path / "other.db"
    connection = sqlite3.connect(other)
    with connection:
        connection.execute("CREATE TABLE customers (name TEXT)")
    connection.close()
    before = other.read_bytes()
    register = create_register_app(register_settings(landscape, "08118079-MELD-12"))
    target = default_target(
        landscape.topology,
        "08118079-MELD-12",
        "http://register.test",
        protocol_log=str(other),
        max_wait=5,
    )
    report = await run_provider_suite(
        target,
        topology=landscape.topology,
        pki_dir=landscape.data_dir / "pki",
        clock=CLOCK,
        transport=httpx.ASGITransport(app=register),
    )
    section = report.section("DP-12")
    assert section.status is Status.FAILED
    assert [c.actual for c in section.checks] == [
        f"{other} is not a noots protocol log (no such table: protocol_entries)"
    ]
    assert other.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


async def test_unreachable_target_is_a_tool_failure(
    landscape: Landscape, credentials: SuiteCredentials
) -> None:
    """A register that does not answer at all raises UpstreamError (CLI: exit 1)."""
    target = default_target(landscape.topology, KBA, "http://127.0.0.1:9")
    with pytest.raises(UpstreamError, match="does not answer"):
        await run_provider_suite(
            target,
            topology=landscape.topology,
            pki_dir=landscape.data_dir / "pki",
            clock=CLOCK,
            credentials=credentials,
        )


def test_default_target_needs_the_evidence_type_of_a_stranger(landscape: Landscape) -> None:
    """A participant the topology does not know needs --evidence; with it defaults apply."""
    with pytest.raises(ConfigurationError, match="--evidence"):
        default_target(landscape.topology, "999-EXTERN-01", "http://x")
    target = default_target(
        landscape.topology, "999-EXTERN-01", "http://x", evidence_type="Geburtsurkunde"
    )
    assert target.consumer == "08-ELTERNGELD-79"
    assert target.endpoint == "http://x/evidence/v1"
    assert target.blocked is not None


def test_read_answer_of_garbage_is_graded_not_raised(landscape: Landscape) -> None:
    """Non-XML, empty and foreign answers are read as such, never as an exception."""
    verifier = XmlVerifier(load_validator(landscape.data_dir / "pki", clock=CLOCK))
    for body, kind in ((b"", "empty"), (b"<<<", "not-xml"), (b"<a/>", "other")):
        answer = read_answer(body, b"x", verifier=verifier, participant=KBA)
        assert answer.kind == kind
        assert not answer.verified


@settings(max_examples=100)
@given(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
)
def test_only_utc_times_pass_the_zone_check(value: str) -> None:
    """A time passes DP-08's zone check exactly when its offset is zero."""
    offset_zero = value.endswith(("+00:00", "-00:00"))
    assert (time_zone_problems((value,)) == []) == offset_zero


# -- the CLI, once over real sockets -----------------------------------------------------------


@pytest.fixture(scope="module")
def cli_report(landscape: Landscape, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``noots conformance provider`` against the served KBA register, report written."""
    report_dir = tmp_path_factory.mktemp("provider-report")
    result = runner.invoke(
        app,
        [
            "conformance",
            "provider",
            "--target",
            landscape.url(KBA),
            "--participant",
            KBA,
            "--data-dir",
            str(landscape.data_dir),
            "--topology",
            str(landscape.topology_path),
            "--report",
            str(report_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "What the register must have installed" in result.output
    assert "root-cert.pem" in result.output
    assert "PASSED" in result.output
    return report_dir


def test_cli_writes_signed_reports(cli_report: Path, landscape: Landscape) -> None:
    """The CLI writes HTML, JUnit and JSON; each verifies against the simulator PKI."""
    import jsonschema

    verifier = XmlVerifier(load_validator(landscape.data_dir / "pki", clock=CLOCK))
    for name in ("report.html", "report.xml", "report.json"):
        info = verify_report_file(cli_report / name, verifier)
        assert info.signer == "noots-simulator"
        assert info.passed
    data = json.loads((cli_report / "report.json").read_text("utf-8"))
    jsonschema.validate(data, report_json_schema())
    assert data["participant"] == KBA
    assert data["summary"]["failed"] == 0
    assert data["summary"]["coverage"] == 100.0
    assert any("root-cert.pem" in note for note in data["notes"])


def test_cli_report_verify_detects_an_edit(cli_report: Path, landscape: Landscape) -> None:
    """`noots report verify` accepts the CLI's report and exits 2 once it is edited."""
    path = cli_report / "report.xml"
    pki = ["--pki-dir", str(landscape.data_dir / "pki")]
    ok = runner.invoke(app, ["report", "verify", str(path), *pki])
    assert ok.exit_code == 0, ok.output
    path.write_text(path.read_text("utf-8").replace('failures="0"', 'failures="1"', 1), "utf-8")
    edited = runner.invoke(app, ["report", "verify", str(path), *pki])
    assert edited.exit_code == 2
    assert "changed after it was signed" in edited.output


@pytest.mark.browser
def test_html_report_in_chromium(cli_report: Path, browser: Any) -> None:
    """The HTML report renders in Debian chromium: verdict, every condition, no external loads."""
    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto((cli_report / "report.html").as_uri())
    assert page.locator("#verdict .value").inner_text() == "PASSED"
    assert page.locator("#coverage").inner_text() == "100.0 %"
    rows = page.locator("#overview tbody tr")
    assert rows.count() == 15
    assert page.locator("#overview tbody tr[data-section='DP-11'] .badge").inner_text() == "PASS"
    page.locator("#s-11 details").first.locator("summary").click()
    assert page.locator("#s-11 details").first.locator("dl").is_visible()
    assert [url for url in requests if not url.startswith("file://")] == []
    page.close()
