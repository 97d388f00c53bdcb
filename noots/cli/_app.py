"""The root ``noots`` command; each command group lives in its own module and registers here."""

from __future__ import annotations

import typer

from noots.cli._exit import NootsGroup

app = typer.Typer(
    cls=NootsGroup,
    name="noots",
    help="Simulator of the National Once-Only Technical System (NOOTS).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Simulator of the National Once-Only Technical System (NOOTS)."""


@app.command()
def version() -> None:
    """Print the noots version."""
    from noots import __version__

    typer.echo(__version__)
