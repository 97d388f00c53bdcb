"""``noots demo``: the "Bewohnerparkausweis beantragen" pilot, end to end, hop by hop.

Uses the landscape running for the data dir, or starts one (as ``noots up`` does) and stops
it again at the end, unless ``--keep-running``. Exit codes: 0 the pilot completed; 1 the
landscape could not be started or used; 2 the pilot failed (the hop and the error are shown).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from noots.cli._app import app
from noots.cli._options import (
    DEFAULT_PEOPLE,
    DEFAULT_SEED,
    DataDirOption,
    PeopleOption,
    SeedOption,
    TlsOption,
    TopologyOption,
)
from noots.cli._up import load_cli_settings

if TYPE_CHECKING:
    from rich.console import Console

    from noots.pilot import PilotReport
    from noots.supervisor import RunInfo

EXIT_PILOT_FAILED = 2


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
    start_timeout: Annotated[float, typer.Option("--start-timeout")] = 120.0,
) -> None:
    """Play the Bewohnerparkausweis pilot end to end and show every hop with its checks."""
    from rich.console import Console

    from noots.cli._up import print_landscape, start_landscape, supervise
    from noots.supervisor import running_landscape, signals_ignored, signals_raise_interrupt

    console = Console()
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
    try:
        with signals_raise_interrupt():
            report = _play(console, info)
    except KeyboardInterrupt:
        report = None
    if report is not None:
        _print_report(console, report, info)
    completed = report is not None and report.completed
    if supervisor is None:
        _print_urls(console, info, "In the browser:")
        raise typer.Exit(0 if completed else EXIT_PILOT_FAILED)
    if keep_running and completed:
        print_landscape(console, info)
        console.print("[bold]The landscape keeps running; Ctrl-C stops it.[/bold]")
        code = supervise(console, supervisor)
        raise typer.Exit(code)
    _print_urls(
        console,
        info,
        "In the browser, while a landscape runs (`noots up`, or `noots demo --keep-running`):",
    )
    console.print("Stopping the landscape this demo started (keep it: --keep-running) …")
    with signals_ignored():
        supervisor.stop()
    raise typer.Exit(0 if completed else EXIT_PILOT_FAILED)


def _play(console: Console, info: RunInfo) -> PilotReport:
    import asyncio

    from noots.clock import SystemClock
    from noots.errors import NootsError
    from noots.participant import load_participant
    from noots.pilot import PILOT_KIND, play_pilot
    from noots.pki import UnknownParticipant
    from noots.topology import load_topology

    topology = load_topology(Path(info.topology))
    consumer = next((c for c in topology.consumers if c.kind == PILOT_KIND), None)
    if consumer is None:
        console.print(f"[red]error[/red] the topology has no {PILOT_KIND} online service")
        raise typer.Exit(1)
    pki = Path(info.data_dir) / "pki"
    try:
        participant = load_participant(pki, consumer.participant_id, clock=SystemClock())
    except (UnknownParticipant, FileNotFoundError, NootsError):
        console.print(f"[red]error[/red] no credential for {consumer.participant_id} in {pki}")
        raise typer.Exit(1) from None
    verify: Any = True
    if info.tls:
        from noots.tls import TlsFiles, client_context

        verify = client_context(TlsFiles.for_participant(pki, consumer.participant_id))
    if info.trace_url:
        # The pilot's own hops (the online service's side) appear on the dashboard too.
        from noots.components import dashboard_available

        if dashboard_available():
            from consumers.dashboard.sink import install_http_sink
            from noots.settings import NootsSettings, load_settings

            # Authenticated with the landscape's events key, which lives in its data dir.
            landscape = load_settings(
                NootsSettings, data_dir=Path(info.data_dir), topology=Path(info.topology)
            )
            install_http_sink(info.trace_url, verify=verify, settings=landscape)
    with console.status("Playing the pilot …"):
        return asyncio.run(
            play_pilot(
                participant, topology, tls=info.tls, data_dir=Path(info.data_dir), verify=verify
            )
        )


def _print_report(console: Console, report: PilotReport, info: RunInfo) -> None:
    from rich.rule import Rule
    from rich.table import Table

    console.print(Rule(f"[bold]Bewohnerparkausweis beantragen[/bold] — {report.consumer_name}"))
    if report.citizen:
        console.print(f"Bürgerin: [bold]{report.citizen}[/bold]  IDNr: {report.idnr or '—'}")
    for number, hop in enumerate(report.hops, 1):
        exchange = hop.exchange
        mark = "[green]✓[/green]" if hop.passed else "[red]✗[/red]"
        console.print(
            f"\n{mark} [bold]{number}. {hop.title}[/bold]  [dim]{hop.sender} → {hop.receiver}[/dim]"
        )
        console.print(
            f"   {exchange.method} {exchange.url} → HTTP {exchange.status} "
            f"({exchange.millis:.0f} ms, {len(exchange.request_body)} → "
            f"{len(exchange.response_body)} bytes)"
        )
        console.print(f"   {hop.summary}")
        for check in hop.checks:
            tick = "[green]✓[/green]" if check.passed else "[red]✗[/red]"
            detail = f" [dim]({check.detail})[/dim]" if check.detail else ""
            console.print(f"     {tick} {check.label}{detail}")
    for result in report.evidences:
        table = Table(
            title=f"Vorschau: {result.evidence_type} von {result.route.provider_name}",
            caption="die Bürgerin prüft die Daten und stimmt der Verwendung zu (DC-07)",
        )
        table.add_column("Feld", style="bold")
        table.add_column("Wert")
        for row in result.rows()[:14]:
            table.add_row(row.label, row.value)
        console.print(table)
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


def _print_urls(console: Console, info: RunInfo, heading: str) -> None:
    console.print(f"\n[bold]{heading}[/bold]")
    for title, url in info.demo_urls.items():
        console.print(f"  {title}: [link={url}]{url}[/link]")


def _print_dsc(console: Console, report: PilotReport) -> None:
    from rich.table import Table

    assert report.dsc is not None
    ids = {str(e.request_id) for e in report.evidences}
    table = Table(title="Datenschutzcockpit: Übermittlungen zu Ihrer IDNr (aus diesem Durchlauf)")
    table.add_column("Zeit (UTC)", no_wrap=True)
    table.add_column("Abruf durch", overflow="fold")
    table.add_column("Auskunft von", overflow="fold")
    table.add_column("Nachweis", overflow="fold")
    table.add_column("Zweck", overflow="fold")
    table.add_column("Ergebnis", overflow="fold")
    for transfer in report.dsc.get("transfers", []):
        if str(transfer.get("requestId", "")).removeprefix("urn:uuid:") not in ids:
            continue
        table.add_row(
            str(transfer.get("time", "")).replace("T", " ").removesuffix("Z"),
            transfer.get("consumer", {}).get("name", ""),
            transfer.get("provider", {}).get("name", ""),
            transfer.get("evidenceType", ""),
            transfer.get("purpose", ""),
            transfer.get("outcomeText", transfer.get("outcome", "")),
        )
    console.print(table)
