"""``noots demo``: a pilot end to end, hop by hop: the "Bewohnerparkausweis beantragen"
(default), or across the EU border (``--pilot geburtsurkunde-eu``: the Mairie de Lyon asks
for a Geburtsurkunde, use case 3; ``--pilot hochschulabschluss-eu``: the ZAB orders an
Austrian degree, use case 4; ``--pilot all``: the three in turn).

Uses the landscape running for the data dir, or starts one (as ``noots up`` does) and stops
it again at the end, unless ``--keep-running``. Exit codes (noots.cli._exit): 0 the pilot
completed; 1 the landscape could not be started or used; 2 the pilot failed (the hop and the
error are shown); 64 a usage error (e.g. a --person that names nobody the eID can log in).

The output fits the terminal: at 80 columns the Datenschutzcockpit's transfers are stacked
instead of squeezed into columns, the evidence preview shows every row; output that is not a
terminal is not cut to 80 columns (noots.cli._console).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from noots.cli._app import app
from noots.cli._exit import CHECK_FAILED, OK, TOOL_FAILED, usage_error
from noots.cli._options import (
    DEFAULT_PEOPLE,
    DEFAULT_SEED,
    DataDirOption,
    PeopleOption,
    SeedOption,
    TlsOption,
    TopologyOption,
)
from noots.cli._person import FORMS
from noots.cli._up import load_cli_settings

if TYPE_CHECKING:
    from rich.console import Console

    from noots.landscape.pilot import Hop, PilotReport
    from noots.landscape.pilot_eu import EuPilotReport
    from noots.supervisor import RunInfo

EXIT_PILOT_FAILED = CHECK_FAILED


class DemoPilot(StrEnum):
    """The pilots ``noots demo`` plays (noots.landscape.pilot, noots.landscape.pilot_eu)."""

    BEWOHNERPARKAUSWEIS = "bewohnerparkausweis"
    GEBURTSURKUNDE_EU = "geburtsurkunde-eu"
    HOCHSCHULABSCHLUSS_EU = "hochschulabschluss-eu"
    ALL = "all"

    def kinds(self) -> tuple[DemoPilot, ...]:
        if self is DemoPilot.ALL:
            return (
                DemoPilot.BEWOHNERPARKAUSWEIS,
                DemoPilot.GEBURTSURKUNDE_EU,
                DemoPilot.HOCHSCHULABSCHLUSS_EU,
            )
        return (self,)


@app.command("demo")
def demo(
    data_dir: DataDirOption = None,
    topology: TopologyOption = None,
    tls: TlsOption = None,
    people: PeopleOption = DEFAULT_PEOPLE,
    seed: SeedOption = DEFAULT_SEED,
    keep_running: Annotated[
        bool,
        typer.Option(
            "--keep-running",
            help="Keep the landscape this command started running (for the browser) until Ctrl-C.",
        ),
    ] = False,
    start_timeout: Annotated[
        float,
        typer.Option(
            "--start-timeout",
            metavar="SECONDS",
            help="Seconds until every /health must be 200 (when the demo starts the landscape).",
        ),
    ] = 120.0,
    pilot: Annotated[
        DemoPilot,
        typer.Option(
            "--pilot",
            case_sensitive=False,
            help="Which pilot: the national Bewohnerparkausweis, the EU Geburtsurkunde for "
            "the Mairie de Lyon (use case 3), the EU degree for the ZAB (use case 4), or all.",
        ),
    ] = DemoPilot.BEWOHNERPARKAUSWEIS,
    person: Annotated[
        str | None,
        typer.Option(
            "--person",
            metavar="PERSON",
            help=f"The citizen who applies (default: Erika Mustermann): {FORMS}; the simulated "
            "eID logs in by IDNr, so basic data alone do not do.",
        ),
    ] = None,
) -> None:
    """Play a pilot (default: the Bewohnerparkausweis) end to end, every hop with its checks."""
    from noots.cli._console import console as make_console
    from noots.cli._up import print_landscape, start_landscape, supervise
    from noots.supervisor import running_landscape, signals_ignored, signals_raise_interrupt

    citizen = _citizen(person)
    console = make_console()
    settings = load_cli_settings(data_dir, topology, tls)
    info = running_landscape(settings.data_dir.resolve())
    supervisor = None
    if info is None:
        console.print(f"No landscape runs for {settings.data_dir}: starting one.")
        with signals_raise_interrupt():
            supervisor = start_landscape(
                console, settings, people=people, seed=seed, start_timeout=start_timeout
            )
        info = supervisor.info
        assert info is not None
    else:
        console.print(
            f"Using the landscape of {info.data_dir} (noots up pid {info.supervisor_pid}, "
            f"{'HTTPS' if info.tls else 'HTTP'})."
        )
    completed = True
    try:
        with signals_raise_interrupt():
            for kind in pilot.kinds():
                if kind == DemoPilot.BEWOHNERPARKAUSWEIS:
                    national = _play(console, info, citizen)
                    _print_report(console, national, info)
                    done = national.completed
                else:
                    abroad = _play_eu(console, info, kind)
                    _print_eu_report(console, abroad)
                    done = abroad.completed
                completed = completed and done
    except KeyboardInterrupt:
        completed = False
    if supervisor is None:
        _print_urls(console, info, "In the browser:")
        raise typer.Exit(OK if completed else EXIT_PILOT_FAILED)
    if keep_running and completed:
        print_landscape(console, info)
        console.print("[bold]The landscape keeps running; Ctrl-C stops it.[/bold]")
        code = supervise(console, supervisor)
        raise typer.Exit(code)
    _print_urls(
        console,
        info,
        "In the browser, while a landscape runs (noots up, or noots demo --keep-running):",
    )
    console.print("Stopping the landscape this demo started (keep it: --keep-running) …")
    with signals_ignored():
        supervisor.stop()
    raise typer.Exit(OK if completed else EXIT_PILOT_FAILED)


def _citizen(person: str | None) -> str:
    """The IDNr the citizen logs in with at the simulated eID."""
    from noots.cli._person import parse_person_option
    from noots.landscape.pilot import PILOT_CITIZEN

    if person is None:
        return PILOT_CITIZEN
    named = parse_person_option(person)
    if named.idnr is None:
        raise usage_error(
            "the citizen logs in with the simulated eID, which needs the IDNr: give an IDNr or "
            "a test person's name",
            option="--person",
        )
    return named.idnr


def _play(console: Console, info: RunInfo, citizen: str) -> PilotReport:
    import asyncio

    from noots.clock import SystemClock
    from noots.errors import NootsError
    from noots.landscape.pilot import PILOT_KIND, play_pilot
    from noots.participant import load_participant
    from noots.pki import UnknownParticipant
    from noots.topology import load_topology

    topology = load_topology(Path(info.topology))
    consumer = next((c for c in topology.consumers if c.kind == PILOT_KIND), None)
    if consumer is None:
        console.print(f"[red]error[/red] the topology has no {PILOT_KIND} online service")
        raise typer.Exit(TOOL_FAILED)
    pki = Path(info.data_dir) / "pki"
    try:
        participant = load_participant(pki, consumer.participant_id, clock=SystemClock())
    except (UnknownParticipant, FileNotFoundError, NootsError):
        console.print(f"[red]error[/red] no credential for {consumer.participant_id} in {pki}")
        raise typer.Exit(TOOL_FAILED) from None
    verify: Any = True
    if info.tls:
        from noots.tls import TlsFiles, client_context

        verify = client_context(TlsFiles.for_participant(pki, consumer.participant_id))
    if info.trace_url:
        # The pilot's own hops (the online service's side) appear on the dashboard too.
        from noots.components import dashboard_available

        if dashboard_available():
            from noots.consumers.dashboard.sink import install_http_sink
            from noots.settings import NootsSettings, load_settings

            # Authenticated with the landscape's events key, which lives in its data dir.
            landscape = load_settings(
                NootsSettings, data_dir=Path(info.data_dir), topology=Path(info.topology)
            )
            install_http_sink(info.trace_url, verify=verify, settings=landscape)
    # The client's retries and waits are part of the hops shown below; its log lines would
    # only interleave with the status line.
    with _quiet("noots.consumers"), console.status("Playing the pilot …"):
        return asyncio.run(
            play_pilot(
                participant,
                topology,
                tls=info.tls,
                data_dir=Path(info.data_dir),
                verify=verify,
                citizen_idnr=citizen,
            )
        )


@contextlib.contextmanager
def _quiet(name: str) -> Iterator[None]:
    """Keep the log records of logger ``name`` (below errors) off the terminal for a while."""
    import logging

    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _print_report(console: Console, report: PilotReport, info: RunInfo) -> None:
    from rich.rule import Rule

    console.print(Rule(f"[bold]Bewohnerparkausweis beantragen[/bold] — {report.consumer_name}"))
    if report.citizen:
        console.print(f"Bürgerin: [bold]{report.citizen}[/bold]  IDNr: {report.idnr or '—'}")
    _print_hops(console, report.hops)
    for result in report.evidences:
        _print_preview(console, result)
    if report.dsc is not None:
        _print_dsc(console, report)
    if report.error is not None:
        error = report.error
        where = f" at {error.component}" if error.component else ""
        console.print(
            f"\n[red bold]The pilot failed{where}: {error.code.value} {error.code.title}[/red bold]"
            f"\n{error.message}"
        )
    elif report.completed:
        console.print(
            "\n[green bold]Pilot completed:[/green bold] both evidences verified, "
            "both transfers in the Datenschutzcockpit."
        )
    else:
        console.print("\n[red bold]The pilot did not complete[/red bold]: see the ✗ above.")


def _print_hops(console: Console, hops: Sequence[Hop]) -> None:
    """Each hop: who to whom, the exchange, what it carried, its checks."""
    from rich.markup import escape

    for number, hop in enumerate(hops, 1):
        exchange = hop.exchange
        mark = "[green]✓[/green]" if hop.passed else "[red]✗[/red]"
        console.print(
            f"\n{mark} [bold]{number}. {escape(hop.title)}[/bold]  "
            f"[dim]{escape(hop.sender)} → {escape(hop.receiver)}[/dim]"
        )
        console.print(
            f"   {exchange.method} {exchange.url} → HTTP {exchange.status} "
            f"({exchange.millis:.0f} ms, {len(exchange.request_body)} → "
            f"{len(exchange.response_body)} bytes)"
        )
        console.print(f"   {escape(hop.summary)}")
        for check in hop.checks:
            tick = "[green]✓[/green]" if check.passed else "[red]✗[/red]"
            detail = f" [dim]({escape(check.detail)})[/dim]" if check.detail else ""
            console.print(f"     {tick} {escape(check.label)}{detail}")


def _play_eu(console: Console, info: RunInfo, pilot: DemoPilot) -> EuPilotReport:
    """Play an EU pilot against the running landscape: as the ZAB (use case 4), or driving
    the Mairie de Lyon's requester as the dashboard does, with the simulator's credential."""
    import asyncio

    from noots.clock import SystemClock
    from noots.errors import NootsError
    from noots.landscape.pilot_eu import DEGREE_KIND, EU_BIRTH_PILOT, EU_DEGREE_PILOT, play_eu_pilot
    from noots.participant import load_participant
    from noots.pki import UnknownParticipant
    from noots.topology import load_topology

    topology = load_topology(Path(info.topology))
    if pilot == DemoPilot.GEBURTSURKUNDE_EU:
        kind, party = EU_BIRTH_PILOT, topology.platform.simulator_id
    else:
        consumer = next((c for c in topology.consumers if c.kind == DEGREE_KIND), None)
        if consumer is None:
            console.print(f"[red]error[/red] the topology has no {DEGREE_KIND} online service")
            raise typer.Exit(TOOL_FAILED)
        kind, party = EU_DEGREE_PILOT, consumer.participant_id
    pki = Path(info.data_dir) / "pki"
    try:
        participant = load_participant(pki, party, clock=SystemClock())
    except (UnknownParticipant, FileNotFoundError, NootsError):
        console.print(f"[red]error[/red] no credential for {party} in {pki}")
        raise typer.Exit(TOOL_FAILED) from None
    verify: Any = True
    if info.tls:
        from noots.tls import TlsFiles, client_context

        verify = client_context(TlsFiles.for_participant(pki, party))
    with _quiet("noots.consumers"), console.status("Playing the pilot …"):
        return asyncio.run(
            play_eu_pilot(
                kind,
                participant,
                topology,
                tls=info.tls,
                data_dir=Path(info.data_dir),
                verify=verify,
            )
        )


def _print_eu_report(console: Console, report: EuPilotReport) -> None:
    from rich.markup import escape
    from rich.rule import Rule
    from rich.table import Table

    console.print(Rule(f"[bold]{escape(report.title)}[/bold] — {escape(report.party_name)}"))
    console.print(f"Bürgerin: [bold]{escape(report.citizen)}[/bold]  (ohne IDNr: EU-Grenze)")
    _print_hops(console, report.hops)
    if report.rows:
        table = Table(
            title=f"Nachweis bei {escape(report.party_name)}",
            caption="nach der Vorschau und der Zustimmung der Bürgerin",
        )
        table.add_column("Feld", style="bold")
        table.add_column("Wert")
        for label, value in report.rows:
            table.add_row(escape(label), escape(value))
        console.print(table)
    if report.error is not None:
        error = report.error
        where = f" at {error.component}" if error.component else ""
        console.print(
            f"\n[red bold]The pilot failed{escape(where)}: {error.code.value} "
            f"{escape(error.code.title)}[/red bold]\n{escape(error.message)}"
        )
    elif report.completed:
        console.print(
            "\n[green bold]Pilot completed:[/green bold] the evidence crossed the border through "
            "the Intermediäre Plattform, after the citizen's preview and consent."
        )
    else:
        console.print("\n[red bold]The pilot did not complete[/red bold]: see the ✗ above.")


def _print_preview(console: Console, result: Any) -> None:
    """Every row of the evidence (the citizen checks all of it, DC-07), values wrapped at
    spaces."""
    from rich.table import Table

    from noots.german import von

    table = Table(
        title=f"Vorschau: {result.evidence_type} {von(result.route.provider_name)}",
        caption="die Bürgerin prüft die Daten und stimmt der Verwendung zu (DC-07)",
    )
    table.add_column("Feld", style="bold")
    table.add_column("Wert")
    for row in result.rows():
        table.add_row(row.label, row.value)
    console.print(table)


def _print_urls(console: Console, info: RunInfo, heading: str) -> None:
    console.print(f"\n[bold]{heading}[/bold]")
    for title, url in info.demo_urls.items():
        # soft_wrap: a long link stays one line that the terminal wraps (copied whole)
        console.print(f"  {title}: [link={url}]{url}[/link]", soft_wrap=True)


#: The cockpit's columns, in the order of the table (and of a stacked transfer).
_DSC_FIELDS = ("Zeit", "Abruf durch", "Auskunft von", "Nachweis", "Zweck", "Ergebnis")


def _print_dsc(console: Console, report: PilotReport) -> None:
    """The transfers of this run in the Datenschutzcockpit: a table where its columns fit
    without breaking a word, else one block per transfer (field: value, wrapped at spaces)."""
    from rich.measure import Measurement
    from rich.table import Table

    assert report.dsc is not None
    title = "Datenschutzcockpit: Übermittlungen zu Ihrer IDNr (aus diesem Durchlauf)"
    rows = [_dsc_row(t) for t in _this_run(report)]
    table = Table(title=title)
    for name in _DSC_FIELDS:
        # no_wrap=False, overflow "ellipsis" is never reached: the table is only used when
        # every column fits its longest word (measured below).
        table.add_column(name, no_wrap=name == "Zeit")
    for row in rows:
        table.add_row(*row)
    # Measured without the console's width (which would clamp it): the width every column
    # needs for its longest word.
    needed = Measurement.get(console, console.options.update_width(10_000), table).minimum
    if needed <= console.width:
        console.print(table)
        return
    console.print(f"\n[bold]{title}[/bold]")
    for row in rows:
        block = Table.grid(padding=(0, 1))
        block.add_column(style="bold", no_wrap=True)
        block.add_column()
        for name, value in zip(_DSC_FIELDS, row, strict=True):
            block.add_row(f"{name}:", value)
        console.print(block)
        console.print()


def _this_run(report: PilotReport) -> list[dict[str, Any]]:
    assert report.dsc is not None
    ids = {str(e.request_id) for e in report.evidences}
    return [
        t
        for t in report.dsc.get("transfers", [])
        if str(t.get("requestId", "")).removeprefix("urn:uuid:") in ids
    ]


def _dsc_row(transfer: dict[str, Any]) -> tuple[str, ...]:
    from datetime import datetime

    from noots.german import berlin_time

    raw = str(transfer.get("time", ""))
    try:
        when = berlin_time(datetime.fromisoformat(raw.replace("Z", "+00:00")))
    except ValueError:
        when = raw
    return (
        when,
        str(transfer.get("consumer", {}).get("name", "")),
        str(transfer.get("provider", {}).get("name", "")),
        str(transfer.get("evidenceType", "")),
        str(transfer.get("purpose", "")),
        str(transfer.get("outcomeText", transfer.get("outcome", ""))),
    )
