"""``noots idnr``: check an identification number, generate test numbers."""

from __future__ import annotations

from typing import Annotated

import typer

from noots.cli._app import app
from noots.cli._exit import usage_error

idnr_app = typer.Typer(
    help="Identification numbers (IDNr): check and generate.", no_args_is_help=True
)
app.add_typer(idnr_app, name="idnr")


@idnr_app.command("check")
def check(
    number: Annotated[str, typer.Argument(help="The 11-digit IDNr.")],
    test_numbers: Annotated[
        bool,
        typer.Option("--test-numbers", help="Accept test numbers (leading 0), as in test mode."),
    ] = False,
) -> None:
    """Print "valid" and exit 0, or print the reason and exit 1."""
    from noots.errors import InvalidIdnr
    from noots.idnr import validate

    try:
        validate(number, allow_test_numbers=test_numbers)
    except InvalidIdnr as error:
        typer.echo(error.diagnosis)  # the person's own number, on their own terminal
        raise typer.Exit(1) from None
    typer.echo("valid")


@idnr_app.command("generate")
def generate(
    count: Annotated[int, typer.Option("--count", "-n", min=0, help="How many numbers.")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same numbers.")] = 0,
) -> None:
    """Print COUNT distinct valid test numbers (leading 0), one per line."""
    import itertools
    import sys

    from noots.idnr import TEST_NUMBER_SPACE, iter_test_numbers

    if count > TEST_NUMBER_SPACE:
        raise usage_error(f"at most {TEST_NUMBER_SPACE} test numbers exist", option="--count")
    out = sys.stdout
    for number in itertools.islice(iter_test_numbers(seed), count):
        out.write(number + "\n")
