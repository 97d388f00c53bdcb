"""``noots seed``: build the synthetic population every register and the IDA answer from."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from noots.cli._app import app


@app.command("seed")
def seed(
    people: Annotated[
        int,
        typer.Option("--people", "-n", min=0, help="How many people (fixed identities included)."),
    ] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same population.")] = 1,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Where population.db goes (default: NOOTS_DATA_DIR)."),
    ] = None,
    topology: Annotated[
        Path | None,
        typer.Option("--topology", help="Landscape file (default: NOOTS_TOPOLOGY)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Generate the synthetic population deterministically into <data dir>/population.db."""
    from noots.cli._up import cli_overrides
    from noots.errors import ConfigurationError
    from noots.settings import load_settings

    try:
        settings = load_settings(**cli_overrides(data_dir, topology))
        landscape = settings.load_topology()
    except ConfigurationError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None

    # The generator lives with the registers and pulls in faker: import it only here.
    from noots.synthetic.population import POPULATION_FILE, seed_population

    try:
        summary = seed_population(
            settings.data_dir / POPULATION_FILE,
            people=people,
            seed=seed,
            topology=landscape,
            show_progress=not quiet,
        )
    except ConfigurationError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"{summary.path}: {summary.people:,} people, {summary.births:,} birth records, "
        f"{summary.vehicles:,} vehicles, {summary.companies:,} companies "
        f"in {summary.seconds:.1f} s"
    )
