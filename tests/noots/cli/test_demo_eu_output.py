"""What ``noots demo --pilot geburtsurkunde-eu|hochschulabschluss-eu`` prints: both EU pilots
played in process through the IP, drawn hop by hop, readable at 80 columns and whole in a
file."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from noots.cli._demo import DemoPilot, _print_eu_report
from noots.landscape.pilot_eu import (
    DEGREE_KIND,
    EU_BIRTH_PILOT,
    EU_DEGREE_PILOT,
    EuPilot,
    EuPilotReport,
    play_eu_pilot,
)
from noots.participant import load_participant
from noots.settings import NootsSettings
from noots.testing.landscape import landscape_in_process

PSTR = "992-00001PSTR-10"


def _play(directory: Path, pilots: list[EuPilot]) -> dict[str, EuPilotReport]:
    async def play() -> dict[str, EuPilotReport]:
        async with landscape_in_process(
            directory, people=60, registers=[PSTR], consumers=False
        ) as (landscape, routes):
            settings = NootsSettings(**landscape.settings_overrides)
            topology = landscape.topology
            reports = {}
            for pilot in pilots:
                party = (
                    topology.platform.simulator_id
                    if pilot == EU_BIRTH_PILOT
                    else landscape.consumer(DEGREE_KIND)
                )
                reports[pilot] = await play_eu_pilot(
                    pilot,
                    load_participant(landscape.data_dir / "pki", party, clock=settings.clock()),
                    topology,
                    settings=settings,
                    transport=routes,
                )
            return reports

    return asyncio.run(play())


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> dict[str, EuPilotReport]:
    return _play(tmp_path_factory.mktemp("demo-eu"), [EU_BIRTH_PILOT, EU_DEGREE_PILOT])


def render(report: EuPilotReport, width: int) -> str:
    stream = io.StringIO()
    _print_eu_report(Console(file=stream, width=width, no_color=True), report)
    return stream.getvalue()


def test_the_birth_certificate_for_lyon_completes_hop_by_hop(
    played: dict[str, EuPilotReport],
) -> None:
    """Use case 3: Lyon asks, the IP asks for the preview, the citizen sees it and agrees,
    Lyon asks again and gets the Geburtsurkunde; every check passes, the register logged one
    transfer to the French authority."""
    report = played[EU_BIRTH_PILOT]
    assert report.completed, (report.error, [(h.title, h.checks) for h in report.hops])
    titles = [hop.title for hop in report.hops]
    assert titles == [
        "Mairie de Lyon → IP: EDM-Anfrage (Geburtsurkunde, Vorschau erbeten)",
        "Bürgerin sieht die Vorschau an der IP",
        "Bürgerin stimmt zu (Online-Ausweis, simuliert)",
        "Mairie de Lyon → IP: dieselbe Anfrage mit PreviewLocation",
    ]
    labels = {check.label for hop in report.hops for check in hop.checks}
    assert "register answered the 0301 and logged it (receiver: the French authority)" in labels
    assert "the register was asked once" in labels
    assert ("Nachweis", "Certificate of Birth") in report.rows


def test_the_foreign_degree_for_the_zab_completes_hop_by_hop(
    played: dict[str, EuPilotReport],
) -> None:
    """Use case 4: route to the IP, the 0401 → 0402, the citizen's four pages through the IP
    and Vienna, the 0411 → 0412 with the degree issued in Vienna."""
    report = played[EU_DEGREE_PILOT]
    assert report.completed, (report.error, [(h.title, h.checks) for h in report.hops])
    titles = [hop.title for hop in report.hops]
    assert titles[0] == "SAK → RDN: wer liefert Hochschulabschluss-EU?"
    assert titles[1] == "ZAB → SAK → SAK → IP: DE.EvidenceOrder.0401 (bestellen)"
    assert titles[-1] == "ZAB → SAK → SAK → IP: DE.GetEvidence.0411 (abholen)"
    assert len([t for t in titles if t.startswith("Bürgerin") or t.startswith("zurück")]) == 4
    assert any("Universität Wien" in value for _label, value in report.rows)


@pytest.mark.parametrize("pilot", [EU_BIRTH_PILOT, EU_DEGREE_PILOT])
def test_at_80_columns_no_line_is_longer_and_no_word_is_broken(
    played: dict[str, EuPilotReport], pilot: str
) -> None:
    """At 80 columns every line fits and the names of the parties are printed whole."""
    text = render(played[pilot], 80)
    assert max(len(line) for line in text.splitlines()) <= 80
    for word in ("Intermediäre", "Bürgerin", "Pilot completed"):
        assert word in text
    assert "Traceback" not in text
    if pilot == EU_BIRTH_PILOT:
        assert re.search(r"(?<![\w-])Lyon(?![\w-])", text)
    else:
        assert "Universität Wien" in text


def test_a_file_gets_the_hops_whole(
    played: dict[str, EuPilotReport],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Not a terminal: the console is wide, every hop's exchange line (URL included) stays
    one line."""
    from noots.cli._console import console

    monkeypatch.delenv("COLUMNS", raising=False)
    report = played[EU_DEGREE_PILOT]
    _print_eu_report(console(), report)
    lines = capsys.readouterr().out.splitlines()
    for hop in report.hops:
        assert any(hop.exchange.url in line for line in lines), hop.exchange.url


def test_a_landscape_without_the_register_fails_the_birth_pilot_cleanly(
    tmp_path: Path,
) -> None:
    """Without the Personenstandsregister the IP answers Lyon with its refusal: the pilot
    is not completed, the failure is typed and shown, no traceback."""

    async def play() -> EuPilotReport:
        async with landscape_in_process(
            tmp_path / "data", people=60, registers=[], consumers=False
        ) as (landscape, routes):
            settings = NootsSettings(**landscape.settings_overrides)
            return await play_eu_pilot(
                EU_BIRTH_PILOT,
                load_participant(
                    landscape.data_dir / "pki",
                    landscape.topology.platform.simulator_id,
                    clock=settings.clock(),
                ),
                landscape.topology,
                settings=settings,
                transport=routes,
            )

    report = asyncio.run(play())
    assert not report.completed
    assert report.error is not None
    text = render(report, 80)
    assert "The pilot failed" in text
    assert "Traceback" not in text


def test_all_plays_the_three_pilots_in_order() -> None:
    """--pilot all: the national pilot first, then use case 3, then use case 4."""
    assert DemoPilot.ALL.kinds() == (
        DemoPilot.BEWOHNERPARKAUSWEIS,
        DemoPilot.GEBURTSURKUNDE_EU,
        DemoPilot.HOCHSCHULABSCHLUSS_EU,
    )
    assert DemoPilot("geburtsurkunde-eu").kinds() == (DemoPilot.GEBURTSURKUNDE_EU,)
