"""``noots seed``: build the synthetic population every register and the IDA answer from."""

from __future__ import annotations

from typing import Annotated

import typer

from noots.cli._app import app
from noots.cli._exit import TOOL_FAILED
from noots.cli._options import (
    DEFAULT_PEOPLE,
    DEFAULT_SEED,
    DataDirOption,
    PeopleOption,
    SeedOption,
    TopologyOption,
)


@app.command("seed")
def seed(
    people: PeopleOption = DEFAULT_PEOPLE,
    seed: SeedOption = DEFAULT_SEED,
    data_dir: DataDirOption = None,
    topology: TopologyOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Generate the synthetic population deterministically into <data dir>/population.db.

    The same seed (the default is the one noots up uses) gives the same people.
    """
    from noots.cli._up import cli_overrides
    from noots.errors import ConfigurationError
    from noots.settings import load_settings

    try:
        settings = load_settings(**cli_overrides(data_dir, topology))
        landscape = settings.load_topology()
    except ConfigurationError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(TOOL_FAILED) from None

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
        raise typer.Exit(TOOL_FAILED) from None
    typer.echo(
        f"{summary.path}: {summary.people:,} people, {summary.births:,} birth records, "
        f"{summary.vehicles:,} vehicles, {summary.companies:,} companies "
        f"in {summary.seconds:.1f} s"
    )
