"""``noots compose``: the docker compose file of a topology."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from noots.cli._app import app


@app.command("compose")
def compose(
    topology: Annotated[
        Path | None,
        typer.Option("--topology", help="Topology file (default: the project's landscape.yaml)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write here (e.g. docker-compose.yml), not stdout."),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Only compare with --output; exit 1 if it differs.")
    ] = False,
    people: Annotated[
        int, typer.Option("--people", min=0, help="Population the bootstrap service seeds.")
    ] = 10_000,
) -> None:
    """Generate docker-compose.yml from the topology: one service per component."""
    from noots.compose import render_compose
    from noots.errors import NootsError
    from noots.topology import DEFAULT_TOPOLOGY_PATH, load_topology

    path = topology or DEFAULT_TOPOLOGY_PATH
    base = (output.parent if output is not None else Path.cwd()).resolve()
    relative = Path(os.path.relpath(path.resolve(), base)).as_posix()
    mount = relative if relative.startswith("../") else f"./{relative}"
    try:
        text = render_compose(load_topology(path), topology_file=mount, people=people)
    except NootsError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    if check:
        if output is None:
            typer.echo("error: --check needs --output", err=True)
            raise typer.Exit(1)
        current = output.read_text(encoding="utf-8") if output.is_file() else None
        if current != text:
            typer.echo(f"{output} is not current: run `noots compose -o {output}`", err=True)
            raise typer.Exit(1)
        typer.echo(f"{output} is current")
        return
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)
