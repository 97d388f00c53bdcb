"""What ``noots demo`` prints: readable at 80 columns, complete in a file, and a killed
register shown as its typed failure (pilot played in process, rendered with rich)."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from noots.cli._demo import _print_report
from noots.landscape.pilot import PILOT_KIND, PilotReport, play_pilot
from noots.participant import load_participant
from noots.settings import NootsSettings
from noots.testing.landscape import landscape_in_process

MELDE_KORNTAL = "08118079-MELD-12"
KBA = "991-01234ZFZR-41"


def _play(directory: Path, registers: list[str]) -> PilotReport:
    async def play() -> PilotReport:
        async with landscape_in_process(
            directory, people=150, registers=registers, consumers=False
        ) as (landscape, routes):
            consumer = landscape.consumer(PILOT_KIND)
            settings = NootsSettings(**landscape.settings_overrides)
            return await play_pilot(
                load_participant(landscape.data_dir / "pki", consumer, clock=settings.clock()),
                landscape.topology,
                settings=settings,
                transport=routes,
            )

    return asyncio.run(play())


@pytest.fixture(scope="module")
def completed(tmp_path_factory: pytest.TempPathFactory) -> PilotReport:
    report = _play(tmp_path_factory.mktemp("demo"), [MELDE_KORNTAL, KBA])
    assert report.completed, report.error
    return report


@pytest.fixture(scope="module")
def kba_down(tmp_path_factory: pytest.TempPathFactory) -> PilotReport:
    """The pilot with the KBA's register not running (its SAK cannot reach it)."""
    return _play(tmp_path_factory.mktemp("demo-down"), [MELDE_KORNTAL])


def render(report: PilotReport, width: int) -> str:
    stream = io.StringIO()
    _print_report(Console(file=stream, width=width, no_color=True), report, None)  # type: ignore[arg-type]
    return stream.getvalue()


def _cockpit(text: str) -> str:
    return text[text.index("Datenschutzcockpit: Übermittlungen") :]


def test_cockpit_at_80_columns_breaks_no_word(completed: PilotReport) -> None:
    """At 80 columns every word of the Datenschutzcockpit's transfers is printed whole (the
    transfers are stacked rather than squeezed into six columns)."""
    text = _cockpit(render(completed, 80))
    assert max(len(line) for line in text.splitlines()) <= 80
    words = {"Bewohnerparkausweis", "Fahrzeughalterauskunft", "Meldebescheinigung"}
    words |= set(completed.consumer_name.replace(",", "").split())
    for word in words:
        assert re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text), word
    assert "Uhr" in text  # Europe/Berlin, "06.12.2026, 06:12 Uhr"
    assert not re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", text)


def test_cockpit_on_a_wide_terminal_is_one_table(completed: PilotReport) -> None:
    """Where the columns fit, the transfers are one table, a row each."""
    text = _cockpit(render(completed, 200))
    assert "┃ Zeit" in text
    assert "Zeit:" not in text


def test_preview_shows_every_row(completed: PilotReport) -> None:
    """The preview is not cut: Postleitzahl and Wohnort, which this pilot checks, are there,
    and every row of each evidence."""
    text = render(completed, 80)
    assert "Postleitzahl" in text
    assert "70825" in text
    assert "Wohnort" in text
    for result in completed.evidences:
        for row in result.rows():
            assert row.value in text, row.label
    assert "Vorschau: Meldebescheinigung von der Stadt Korntal-Münchingen" in text


def test_killed_register_is_its_typed_failure_and_nothing_else(kba_down: PilotReport) -> None:
    """A register that is down: one hop for the (retried) request with the refusal, the online
    service's log shows the refusal (no spurious ✗), no register-log check for a register that
    was never reached, and the panel names EDM:ERR:0008 and where; no traceback."""
    assert kba_down.error is not None
    text = render(kba_down, 80)
    assert "Traceback" not in text
    kba_hops = [h for h in kba_down.hops if h.receiver.endswith(KBA)]
    assert len(kba_hops) == 1
    failed = [c.label for h in kba_down.hops for c in h.checks if not c.passed]
    assert failed == ["evidence delivered"]
    assert "online service logged the refusal" in text
    assert "The pilot failed at 991-01234ZFZR-41.sak: EDM:ERR:0008" in text


@pytest.fixture
def not_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> pytest.CaptureFixture[str]:
    """stdout is pytest's capture (no terminal), and no COLUMNS says otherwise."""
    monkeypatch.delenv("COLUMNS", raising=False)
    return capsys


def test_output_to_a_file_is_not_cut_to_80_columns(
    not_a_terminal: pytest.CaptureFixture[str],
) -> None:
    """Not a terminal (noots up > log): the console is wide and a long URL stays one line."""
    from noots.cli._console import FILE_WIDTH, console

    out = console()
    assert out.width == FILE_WIDTH
    url = "http://127.0.0.1:8402/login#token=" + "x" * 120
    out.print(f"  Dashboard: {url}")
    assert url in not_a_terminal.readouterr().out.splitlines()[0]


def test_landscape_table_keeps_urls_whole_in_a_file(
    not_a_terminal: pytest.CaptureFixture[str],
) -> None:
    """The table noots up prints keeps every component name and URL whole in a file."""
    from noots.cli._console import console
    from noots.cli._up import print_landscape
    from noots.supervisor import RunInfo, RunningComponent

    components = tuple(
        RunningComponent(
            name=f"{n}-MELD-12.sak",
            kind="sak",
            participant_id=f"{n}-MELD-12.sak",
            log="/d/run/x.log",
            title="Sicherer Anschlussknoten: Land Berlin, Landesamt für Bürger- und "
            "Ordnungsangelegenheiten, Melderegister",
            url=f"https://very-long-host-name-of-the-deployment.example:85{n:02d}",
            pid=1000 + n,
        )
        for n in range(3)
    )
    info = RunInfo(
        supervisor_pid=1,
        data_dir="/d",
        topology="/t.yaml",
        tls=True,
        started_at="2026-12-06T05:12:52+00:00",
        components=components,
    )
    print_landscape(console(), info)
    text = not_a_terminal.readouterr().out
    for component in components:
        assert component.url in text
        assert component.name in text
