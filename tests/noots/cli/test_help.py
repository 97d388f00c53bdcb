"""Every command's ``--help``: no Python type names, no raw backticks, help for every option."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from noots.cli import app

#: Commands whose files another part of the project owns; their help is checked when they are
#: wired to the shared options (the lead removes them from here).
ELSEWHERE: set[tuple[str, ...]] = set()

TYPE_NAME = re.compile(
    r"<(bool|str|int|float|path|file|directory|text|list\[[^\]]*\]|[a-z]+ range)>", re.I
)


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        if not sub.hidden:
            yield from _commands(sub, (*path, name))


COMMANDS = sorted(
    (path, command)
    for path, command in _commands(typer.main.get_command(app))
    if path not in ELSEWHERE
)
IDS = [" ".join(path) or "noots" for path, _ in COMMANDS]


def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_help_names_no_python_types(path: tuple[str, ...], command: Any) -> None:
    """The help shows metavars a person reads (FILE, N, the choices), no <bool> or <list[Path]>."""
    found = TYPE_NAME.findall(_help(path))
    assert not found, found


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_help_has_no_raw_backticks(path: tuple[str, ...], command: Any) -> None:
    """Markdown backticks do not reach the terminal."""
    assert "`" not in _help(path)


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_every_option_and_argument_has_help(path: tuple[str, ...], command: Any) -> None:
    """Every visible option and argument of the command says what it is for."""
    silent = [
        param.name
        for param in command.params
        if not getattr(param, "hidden", False) and not (getattr(param, "help", None) or "").strip()
    ]
    assert not silent, silent
