"""``noots conformance attack``: the attack kit against a running landscape.

Every component that takes input gets the hostile requests of
:mod:`noots.conformance.landscape_attacks`; the table says, per component, how many attacks
were sent, how many were refused cleanly and how many found a problem.

Exit codes: 0 no problem; 1 the tool could not run (no landscape); 2 an attack found a problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from noots.cli._conformance import (
    ReportOption,
    _settings,
    conformance_app,
    default_report_dir,
    publish_report,
)
from noots.cli._exit import TOOL_FAILED
from noots.cli._options import ReportLanguageOption, writes_report


@conformance_app.command("attack")
@writes_report
def attack(
    components: Annotated[
        list[str] | None,
        typer.Option("--component", help="Only this component (repeatable; default: all)."),
    ] = None,
    report_dir: ReportOption = None,
    lang: ReportLanguageOption = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="The running landscape's data dir.")
    ] = None,
    topology: Annotated[
        Path | None, typer.Option("--topology", help="Topology of an attached landscape.")
    ] = None,
) -> None:
    """Attack every component of the running landscape; count clean refusals and problems."""
    import asyncio

    from rich.console import Console
    from rich.table import Table

    from noots.conformance import Status, run_attacks
    from noots.conformance.i18n import frame
    from noots.conformance.landscape_attacks import AttackTarget
    from noots.conformance.scenarios import LandscapeAccess

    console = Console(soft_wrap=True)
    settings = _settings(data_dir, topology)
    access = LandscapeAccess.running(settings.data_dir.resolve())
    if access is None:
        if not (settings.data_dir / "pki" / "ca" / "root-key.pem").is_file():
            console.print(
                f"[red]error[/red] no landscape runs for {settings.data_dir} and it holds no PKI: "
                "start one with `noots up`"
            )
            raise typer.Exit(TOOL_FAILED)
        access = LandscapeAccess.attach(settings.data_dir, settings.topology)
    target = AttackTarget(
        access.topology, access.data_dir, tuple(components) if components else None
    )
    report = asyncio.run(
        run_attacks(target, clock=access.clock(), on_progress=lambda t: console.print(f"  … {t}"))
    )
    language = report.language
    table = Table(title=frame("attack.title", language))
    for column in ("attack.component", "attack.sent", "attack.refused", "attack.problems"):
        table.add_column(frame(column, language))
    problems = 0
    for section in report.sections:
        failed = section.count(Status.FAILED)
        problems += failed
        colour = "red" if failed else "green"
        sent = section.count(Status.PASSED) + failed
        table.add_row(
            section.id,
            str(sent) if sent else frame("attack.not_running", language),
            str(section.count(Status.PASSED)),
            f"[{colour}]{failed}[/{colour}]",
        )
    console.print(table)
    publish_report(
        console,
        report,
        report_dir=report_dir or default_report_dir(settings, "attack"),
        pki_dir=access.pki_dir,
        simulator_id=access.topology.platform.simulator_id,
        clock=access.clock(),
    )
    raise typer.Exit(2 if problems else 0)
