"""Options that several commands share: one name, one help text, one default for one thing.

- ``--data-dir DIR``: the landscape's data directory (PKI, population, logs, run file);
- ``--topology FILE``: the topology file;
- ``--pki-dir DIR``: the simulator PKI's directory (``ca/``, ``participants/``), by default
  ``<data dir>/pki``; only where a command works on a PKI directory as such;
- ``--people N``, ``--seed N``: the synthetic population (the same default seed everywhere, so
  ``noots seed`` and ``noots up`` build the same population);
- ``--lang de|en``: the language of conformance and scenario reports (German by default, or
  ``NOOTS_REPORT_LANG``), applied by :func:`writes_report`.

Renamed options stay as hidden aliases that still work and print a deprecation note on stderr
(:func:`renamed`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar, get_args, get_origin

import typer

__all__ = [
    "DEFAULT_PEOPLE",
    "DEFAULT_SEED",
    "DataDirOption",
    "PeopleOption",
    "PkiDirOption",
    "ReportLanguage",
    "ReportLanguageOption",
    "SeedOption",
    "TlsOption",
    "TopologyOption",
    "readable_help",
    "renamed",
    "writes_report",
]

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")

# The supervisor's defaults (noots.supervisor.DEFAULT_*; a test keeps them equal), repeated
# here because importing the supervisor would slow every command's start.
DEFAULT_PEOPLE = 10_000
DEFAULT_SEED = 20261122

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        metavar="DIR",
        help="The landscape's data directory (default: NOOTS_DATA_DIR or ./noots-data).",
    ),
]
TopologyOption = Annotated[
    Path | None,
    typer.Option(
        "--topology",
        metavar="FILE",
        help="Topology file (default: NOOTS_TOPOLOGY or the project's landscape.yaml).",
    ),
]
PkiDirOption = Annotated[
    Path | None,
    typer.Option(
        "--pki-dir",
        metavar="DIR",
        help="The simulator PKI, with ca/ and participants/ (default: <data dir>/pki).",
    ),
]
TlsOption = Annotated[
    bool | None,
    typer.Option("--tls/--no-tls", help="HTTPS with mutual TLS on every hop (default: NOOTS_TLS)."),
]
PeopleOption = Annotated[
    int,
    typer.Option(
        "--people",
        "-n",
        min=0,
        metavar="N",
        help="Size of the synthetic population (only when it is first created).",
    ),
]
SeedOption = Annotated[
    int,
    typer.Option(
        "--seed", metavar="N", help="Seed of the synthetic population: same seed, same people."
    ),
]


class ReportLanguage(StrEnum):
    """The languages of reports (noots.conformance.i18n.LANGUAGES; a test keeps them equal)."""

    DE = "de"
    EN = "en"


ReportLanguageOption = Annotated[
    ReportLanguage | None,
    typer.Option(
        "--lang",
        envvar="NOOTS_REPORT_LANG",
        case_sensitive=False,
        help="Language of the report and its summary: de (German) or en (English) "
        "(default: NOOTS_REPORT_LANG or de). Ids, codes and JSON keys stay as they are.",
    ),
]


def writes_report(command: Callable[P, R]) -> Callable[P, R]:
    """Run ``command`` with its reports in the language its ``lang`` option names (German when
    None): put it under the command decorator of a command with a :data:`ReportLanguageOption`
    named ``lang``."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        from noots.conformance.i18n import DEFAULT_LANGUAGE, parse_language, report_language

        choice = kwargs.get("lang")
        language = parse_language(str(choice)) if choice is not None else DEFAULT_LANGUAGE
        # Undone when the command ends, also by an error or typer.Exit: a command run
        # in-process (tests) leaves the language as it found it.
        with report_language(language):
            return command(*args, **kwargs)

    return run


def renamed(new: T | None, old: T | None, *, old_name: str, new_name: str) -> T | None:
    """The value of an option that was renamed from ``old_name`` to ``new_name``.

    The old name still works, with a note on stderr; both at once is a usage error.
    """
    if old is None:
        return new
    if new is not None:
        from noots.cli._exit import usage_error

        raise usage_error(f"{old_name} is the old name of {new_name}: give only {new_name}")
    typer.echo(f"note: {old_name} is deprecated, use {new_name}", err=True)
    return old


def deprecated_option(name: str, *aliases: str, metavar: str = "DIR") -> Any:
    """A hidden option under an option's old name (read it with :func:`renamed`)."""
    return typer.Option(name, *aliases, hidden=True, metavar=metavar, help=f"Old name of {name}.")


# -- help texts without Python type names -------------------------------------------------------

_METAVARS = {"int": "N", "float": "NUMBER", "str": "TEXT"}


def readable_help(command: Any) -> None:
    """Give every parameter of ``command`` (and its sub-commands) a metavar a person reads.

    Typer prints a parameter's Python type where no metavar is set (``<bool>``, ``<path>``,
    ``<list[str]>``), for ``--help`` itself too. Flags get none, the others a word (``FILE``,
    ``N``, the choices); arguments are named by their name alone. Explicit metavars stay.
    """
    params = list(getattr(command, "params", ()))
    get_help_option = getattr(command, "get_help_option", None)
    if get_help_option is not None:
        # Made on first use and kept; made here to give it no metavar too.
        help_option = get_help_option(typer.Context(command))
        if help_option is not None:
            params.append(help_option)
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None:  # a Typer without type descriptors prints click's own metavars
            continue
        if getattr(param, "param_type_name", "") == "argument":
            # The name column names an argument; a type column beside it would say "<str>".
            vars(param)["display_type_rich"] = _no_type
        elif param.metavar is None:
            param.metavar = _metavar(param, descriptor)
    for sub in getattr(command, "commands", {}).values():
        readable_help(sub)


def _no_type(ctx: Any = None) -> None:
    return None


def _metavar(param: Any, descriptor: Any) -> str:
    if getattr(param, "is_flag", False):
        return ""
    if descriptor.is_choice and descriptor.choices is not None:
        return "|".join(str(getattr(c, "value", c)) for c in descriptor.choices)
    if descriptor.is_path:
        return {"file": "FILE", "directory": "DIR"}.get(str(descriptor.path_type), "PATH")
    annotation = descriptor.annotation
    if get_origin(annotation) is list:  # a repeatable option: one value at a time
        (annotation,) = get_args(annotation)
    name = getattr(annotation, "__name__", "")
    return _METAVARS.get(name, "VALUE")
