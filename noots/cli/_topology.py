"""``noots topology``: the JSON Schema of the landscape file and a check of a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from noots.cli._app import app

topology_app = typer.Typer(
    help="The landscape topology file (landscape.yaml).", no_args_is_help=True
)
app.add_typer(topology_app, name="topology")


@topology_app.command("schema")
def schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the JSON Schema of the topology file."""
    from noots.topology import render_json_schema

    text = render_json_schema()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@topology_app.command("check")
def check(
    file: Annotated[
        Path | None, typer.Argument(help="Topology file (default: the project's landscape.yaml).")
    ] = None,
) -> None:
    """Validate a topology file and summarise it; exit 1 with the problems if it is invalid."""
    from noots.cli._console import console as make_console
    from noots.errors import TopologyError
    from noots.topology import DEFAULT_TOPOLOGY_PATH, load_topology

    path = file or DEFAULT_TOPOLOGY_PATH
    try:
        topology = load_topology(path)
    except TopologyError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    console = make_console()
    console.print(
        f"[green]valid[/green] {path}: {len(topology.administrative_areas)} administrative areas, "
        f"{len(topology.evidence_types)} evidence types, {len(topology.registers)} registers, "
        f"{len(topology.consumers)} consumers, {len(topology.authorisations)} authorisations"
    )
