"""``noots topology``: the shipped landscape file, its JSON Schema and a check of a file."""

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


@topology_app.command("show")
def show(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file instead of stdout."),
    ] = None,
) -> None:
    """Print the landscape.yaml noots ships (the default topology), to start your own from.

    An installed noots keeps it inside the package: noots topology show -o landscape.yaml
    copies it; --topology landscape.yaml or NOOTS_TOPOLOGY then uses your copy.
    """
    from noots.topology import DEFAULT_TOPOLOGY_PATH

    text = DEFAULT_TOPOLOGY_PATH.read_text(encoding="utf-8")
    if output is None:
        typer.echo(text, nl=False)
        return
    if output.exists():
        typer.echo(f"error: {output} exists; not overwritten", err=True)
        raise typer.Exit(1)
    output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output} (from {DEFAULT_TOPOLOGY_PATH})", err=True)


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
