"""The provider conformance suite, playing each register's SAK in push and in passive mode:
the mock registers pass it, a register broken in one way fails exactly that condition, and
what could not be tested is skipped with the option that would test it (in process, with a
simulated clock: no real waiting)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from noots.clock import ManualClock, SystemClock
from noots.conformance import Report, Status, run_provider_suite
from noots.conformance.answers import official_validator, read_message, time_zone_problems
from noots.conformance.broken import BROKEN_REGISTERS, broken_register_app, register_app
from noots.conformance.provider import (
    ProviderTarget,
    default_target,
    parse_test_person,
    sak_double_app,
    sak_double_for,
)
from noots.errors import ConfigurationError, InvalidInput, UpstreamError
from noots.registers.settings import RegisterSettings
from noots.testing.asgi import RoutingTransport
from noots.testing.landscape import bootstrap
from noots.topology import load_topology

KBA = "991-01234ZFZR-41"
MELD = "08118079-MELD-12"
HREG = "993-00001HREG-32"
URL = "http://register.test"


class FakeTime:
    """A simulated clock for suite and register: ``sleep`` moves it, ``timer`` reads it."""

    def __init__(self) -> None:
        self.clock = ManualClock(SystemClock().now())
        self.seconds = 0.0

    def timer(self) -> float:
        return self.seconds

    async def sleep(self, seconds: float) -> None:
        self.seconds += seconds
        self.clock.advance(timedelta(seconds=seconds))
        await asyncio.sleep(0)


def _with_mode(template: Path, target: Path, mode: str) -> Path:
    shutil.copytree(template, target)
    path = target / "landscape.yaml"
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    for entry in data["registers"]:
        entry["sak"]["mode"] = mode
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return target


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("provider-landscape")
    bootstrap(data_dir, people=150)
    return data_dir


@pytest.fixture(scope="module", params=["push", "passive"])
def data_dir(
    request: pytest.FixtureRequest, template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The landscape's data dir with every register's SAK in push or in passive mode."""
    mode = str(request.param)
    return _with_mode(template, tmp_path_factory.mktemp(f"provider-{mode}") / "data", mode)


def register_settings(data_dir: Path, participant: str) -> RegisterSettings:
    return RegisterSettings(
        data_dir=data_dir,
        topology=data_dir / "landscape.yaml",
        participant_id=participant,
        slow_delay_seconds=0,
    )


@contextlib.asynccontextmanager
async def wired(
    data_dir: Path, participant: str, time: FakeTime, variant: str | None = None, **target: Any
) -> AsyncIterator[tuple[ProviderTarget, dict[str, Any]]]:
    """The register (mock or broken), running, and the suite's options to reach it: directly
    in push mode; in passive mode through the suite's SAK, which the register polls."""
    topology = load_topology(data_dir / "landscape.yaml")
    spec = default_target(topology, participant, URL, **target)
    routes = RoutingTransport()
    passive = None
    if spec.mode == "passive":
        passive = sak_double_for(spec, topology, data_dir / "pki", clock=time.clock)
        sak = httpx.ASGITransport(app=sak_double_app(passive))
        for component in (topology.sak_id(participant), "platform"):
            routes.add(topology.base_url(component).removeprefix("http://"), sak)
    settings = register_settings(data_dir, participant)
    if variant is None:
        app = register_app(settings, clock=time.clock, sleep=time.sleep, transport=routes)
    else:
        app = broken_register_app(
            variant, settings, clock=time.clock, sleep=time.sleep, transport=routes, delay=12.0
        )
    async with app.router.lifespan_context(app):
        yield (
            spec,
            {
                "topology": topology,
                "pki_dir": data_dir / "pki",
                "clock": time.clock,
                "transport": httpx.ASGITransport(app=app),
                "sleep": time.sleep,
                "timer": time.timer,
                "passive": passive,
            },
        )


async def run_against(
    data_dir: Path, participant: str, variant: str | None = None, **target: Any
) -> Report:
    time = FakeTime()
    async with wired(data_dir, participant, time, variant, **target) as (spec, options):
        return await run_provider_suite(spec, **options)


def failures(report: Report) -> dict[str, list[str]]:
    return {
        s.id: [f"{c.name}: {c.actual}" for c in s.checks if c.status is Status.FAILED]
        for s in report.sections
        if s.status is Status.FAILED
    }


ALL = [
    "DP-01",
    "DP-04",
    "DP-05",
    "DP-06",
    "DP-07",
    "DP-08",
    "DP-12",
    "DP-13",
    "DP-14",
    "DP-15",
    "DP-16",
    "DP-17",
]


@pytest.mark.slow
@pytest.mark.parametrize(
    "participant",
    [MELD, "09162000-MELD-57", "05315000-MELD-47", "992-00001PSTR-10", KBA, HREG],
)
async def test_mock_register_passes_every_condition(data_dir: Path, participant: str) -> None:
    """Every mock register fails no condition, in push and in passive mode; the only skips are
    what the register's test data cannot show (no IDNr or information block for companies, no
    asynchronous test person outside Korntal-Münchingen, the Personenstandsregister and the
    KBA)."""
    report = await run_against(data_dir, participant)
    assert failures(report) == {}
    assert [s.id for s in report.sections] == ALL
    skipped = {s.id for s in report.sections if s.status is Status.SKIPPED}
    expected = {"DP-05", "DP-06", "DP-07"} if participant == HREG else set()
    if participant not in (MELD, "992-00001PSTR-10", KBA):
        expected.add("DP-13")
    assert skipped == expected


@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(BROKEN_REGISTERS))
async def test_broken_register_fails_exactly_its_condition(data_dir: Path, variant: str) -> None:
    """A register that violates one condition fails that condition and passes all others,
    in push and in passive mode; every failed check says how to fix it."""
    report = await run_against(data_dir, KBA, variant, time_budget=5.0)
    condition_id = BROKEN_REGISTERS[variant].condition
    assert set(failures(report)) == {condition_id}, failures(report)
    assert Status.SKIPPED not in report.statuses().values()
    failing = [c for c in report.section(condition_id).checks if c.status is Status.FAILED]
    assert failing
    assert all(c.hint for c in failing), "every failed check says how to fix it"


@pytest.mark.slow
async def test_the_two_missed_mutations_fail_on_their_condition(data_dir: Path) -> None:
    """Issue 15: a register that takes any caller and one that reveals an unsupported type
    before the token check are caught, on DP-16 and DP-04, by the probes made for them."""
    any_caller = await run_against(data_dir, KBA, "DP-16")
    failed = [c.name for c in any_caller.section("DP-16").checks if c.status is Status.FAILED]
    assert any("Online-Dienstes" in name for name in failed)
    assert any("anderen SAK" in name for name in failed)
    type_first = await run_against(data_dir, KBA, "DP-04-type-first")
    failed = [c.name for c in type_first.section("DP-04").checks if c.status is Status.FAILED]
    assert failed
    assert all("nicht geliefert" in name for name in failed)
    assert type_first.section("DP-14").status is Status.PASSED


@pytest.mark.slow
async def test_an_announcement_beyond_max_wait_leaves_dp13_skipped(data_dir: Path) -> None:
    """The asynchronous person is announced 2 minutes ahead; waiting at most 30 s, the suite
    does not collect it, and DP-13 is skipped naming --max-wait, never passed."""
    report = await run_against(data_dir, KBA, max_wait=30)
    section = report.section("DP-13")
    assert section.status is Status.SKIPPED
    skipped = [c for c in section.checks if c.status is Status.SKIPPED]
    assert "--max-wait" in skipped[0].hint
    assert [c.status for c in section.checks if c.status is not Status.SKIPPED] == [
        Status.PASSED,
        Status.PASSED,
    ]


@pytest.mark.slow
async def test_own_people_without_special_cases_are_skipped_not_passed(data_dir: Path) -> None:
    """An operator who names only the person their register knows gets DP-06, DP-07 and
    DP-13 skipped (DP-13 grades the answer time only), each with the option that would test it."""
    erika = parse_test_person("Mustermann, Erika, 1964-08-12, 02476291358")
    report = await run_against(data_dir, KBA, subject=erika)
    assert failures(report) == {}
    assert report.section("DP-06").status is Status.SKIPPED
    assert report.section("DP-07").status is Status.SKIPPED
    hints = {
        s.id: [c.hint for c in s.checks if c.status is Status.SKIPPED] for s in report.sections
    }
    assert "--ambiguous" in hints["DP-06"][0]
    assert "--blocked" in hints["DP-07"][0]
    assert "--asynchronous" in hints["DP-13"][0]
    assert report.section("DP-13").status is Status.SKIPPED


@pytest.mark.slow
async def test_without_the_official_schemas_dp01_is_skipped_naming_the_setting(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the official XNachweis schemas are not at hand, DP-01 checks the structure but
    is skipped, not passed, and names NOOTS_SHARED_DIR."""
    monkeypatch.setenv("NOOTS_SHARED_DIR", str(tmp_path / "nothing-here"))
    official_validator.cache_clear()
    try:
        report = await run_against(data_dir, KBA)
    finally:
        official_validator.cache_clear()
    section = report.section("DP-01")
    assert section.status is Status.SKIPPED
    assert section.count(Status.PASSED) == 2
    assert any("NOOTS_SHARED_DIR" in c.hint for c in section.checks if c.status is Status.SKIPPED)


@pytest.mark.slow
async def test_a_register_refusing_its_own_sak_is_told_so_naming_the_token(data_dir: Path) -> None:
    """A register that refuses even its own SAK's valid token (as one checking acts_for
    against the SAK's id would) is told so, with the token's claims: on DP-16's first check in
    push mode, on the protocol export's checks (DP-12) in passive mode."""
    time = FakeTime()
    async with wired(data_dir, KBA, time) as (spec, options):
        register = options["transport"].app

        async def refusing(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "http" and scope["path"].startswith("/provider/v1/"):
                await send({"type": "http.response.start", "status": 403, "headers": []})
                await send({"type": "http.response.body", "body": b"refused"})
                return
            await register(scope, receive, send)

        options["transport"] = httpx.ASGITransport(app=refusing)
        report = await run_provider_suite(spec, **options)
    section = report.section("DP-12" if spec.mode == "passive" else "DP-16")
    failed = [c for c in section.checks if c.status is Status.FAILED]
    assert failed
    assert f"acts_for {KBA}" in failed[0].hint


@pytest.mark.slow
async def test_named_special_people_are_tested(data_dir: Path) -> None:
    """--blocked, --ambiguous and --asynchronous with the people of the register's data make
    DP-06, DP-07 and DP-13 run in full."""
    people = {
        "subject": parse_test_person("Mustermann, Erika, 1964-08-12, 02476291358"),
        "blocked": parse_test_person("Verborgen, Sabine, 1975-11-02, 01234567845"),
        "ambiguous": parse_test_person("Doppelmann, Max, 1988-07-07"),
        "async_subject": parse_test_person("Später, Clara, 1983-09-30, 01234567907"),
    }
    report = await run_against(data_dir, KBA, **people)
    assert failures(report) == {}
    for condition_id in ("DP-06", "DP-07", "DP-13"):
        assert report.section(condition_id).status is Status.PASSED


@pytest.mark.slow
async def test_an_export_that_is_not_served_skips_dp12_naming_the_option(data_dir: Path) -> None:
    """Without a protocol export at the given address DP-12 is skipped, saying what to serve
    and which option names another address."""
    report = await run_against(data_dir, KBA, protocol_export=URL + "/not-served")
    section = report.section("DP-12")
    assert section.status is Status.SKIPPED
    assert "--protocol-export" in section.checks[0].hint
    assert "/provider/v1/transfers" in section.checks[0].hint


async def test_unreachable_target_is_a_tool_failure(template: Path) -> None:
    """A register that does not answer at all raises UpstreamError (CLI: exit 1)."""
    topology = load_topology(template / "landscape.yaml")
    spec = default_target(topology, KBA, "http://127.0.0.1:9", mode="push")
    with pytest.raises(UpstreamError, match="does not answer"):
        await run_provider_suite(
            spec, topology=topology, pki_dir=template / "pki", clock=SystemClock()
        )


def test_default_target_needs_the_evidence_type_of_a_stranger(template: Path) -> None:
    """A participant the topology does not know needs --evidence; with it defaults apply
    (push mode, the simulator's test people)."""
    topology = load_topology(template / "landscape.yaml")
    with pytest.raises(ConfigurationError, match="--evidence"):
        default_target(topology, "999-EXTERN-01", "http://x")
    target = default_target(topology, "999-EXTERN-01", "http://x", evidence_type="Geburtsurkunde")
    assert target.consumer == "08-ELTERNGELD-79"
    assert target.mode == "push"
    assert target.blocked is not None
    assert target.sak_id == "999-EXTERN-01.sak"


def test_default_target_follows_the_topology_mode(template: Path, tmp_path: Path) -> None:
    """A register of the topology is reached in its SAK's mode unless --mode says otherwise."""
    passive = load_topology(_with_mode(template, tmp_path / "d", "passive") / "landscape.yaml")
    assert default_target(passive, KBA, URL).mode == "passive"
    assert default_target(passive, KBA, URL, mode="push").mode == "push"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Mustermann, Erika", "takes"),
        ("Mustermann, Erika, 12.08.1964", "YYYY-MM-DD"),
        ("Mustermann, Erika, 1964-02-30", "not a date"),
        ("Mustermann, Erika, 1964-08-12, 02476291359", "IDNr is not valid"),
    ],
)
def test_a_test_person_must_be_well_formed(text: str, problem: str) -> None:
    """--blocked and friends refuse what is not 'Family, Given, YYYY-MM-DD[, IDNr]'."""
    with pytest.raises(InvalidInput, match=problem):
        parse_test_person(text, what="blocked")


def test_read_message_of_garbage_is_graded_not_raised() -> None:
    """Non-XML, empty and foreign answers are read as such, never as an exception."""
    for body, kind in ((b"", "empty"), (b"<<<", "not-xml"), (b"<a/>", "other")):
        assert read_message(body).kind == kind


@settings(max_examples=100)
@given(st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()))
def test_only_utc_times_pass_the_zone_check(value: str) -> None:
    """A time passes DP-08's zone check exactly when its offset is zero."""
    offset_zero = value.endswith(("+00:00", "-00:00"))
    assert (time_zone_problems((value,)) == []) == offset_zero
