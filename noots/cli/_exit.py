"""The exit codes of every ``noots`` command, in one place (README "Exit codes").

A script that runs ``noots`` must be able to tell "I called it wrong" from "it ran and found a
problem": a usage error (unknown option, bad value, a file named on the command line that does
not exist) exits with :data:`USAGE`, never with :data:`CHECK_FAILED`. Click reports its own usage
errors with 2; :class:`NootsGroup`, the root command's group, turns them into :data:`USAGE`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

__all__ = [
    "CHECK_FAILED",
    "COMPONENT_DIED",
    "INTERRUPTED",
    "NOT_STOPPED",
    "OK",
    "TOOL_FAILED",
    "USAGE",
    "NootsGroup",
    "UsageError",
    "existing_file",
    "usage_error",
]

#: Done: the evidence was delivered and checked, every expectation held, the landscape ran.
OK = 0
#: The tool could not do its job: no landscape running, a data dir without PKI, a component
#: unreachable, a landscape that would not start.
TOOL_FAILED = 1
#: It ran and the answer is "no": an exchange was refused, a check, condition or scenario
#: expectation failed, a signature or chain did not verify, a component is unhealthy.
CHECK_FAILED = 2
#: ``noots up``: stopped after a component had died while the landscape ran.
COMPONENT_DIED = 3
#: ``noots up``: a component survived SIGKILL.
NOT_STOPPED = 4
#: Called wrongly: unknown option, bad value, a missing required option, a file named on the
#: command line that does not exist (EX_USAGE of sysexits.h).
USAGE = 64
#: Interrupted with Ctrl-C before it finished (128 + SIGINT).
INTERRUPTED = 130

# Typer ships its own copy of click in newer versions (typer._click) and uses the real one in
# older ones; its public BadParameter is a UsageError of whichever copy is in use.
UsageError: Any = next(base for base in typer.BadParameter.__mro__ if base.__name__ == "UsageError")
_UsageError = UsageError


class NootsGroup(TyperGroup):
    """The root group: click's usage errors (exit 2) leave with :data:`USAGE` instead.

    Sub-commands and sub-groups are parsed inside the root's :meth:`invoke`, so catching here
    covers every command, and ``typer.BadParameter`` raised by a command's own checks too.
    Its help pages name no Python types (:func:`noots.cli._options.readable_help`).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from noots.cli._options import readable_help

        readable_help(self)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: Any = None,
        **extra: Any,
    ) -> Any:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except _UsageError as error:
            error.exit_code = USAGE
            raise

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _UsageError as error:
            error.exit_code = USAGE
            raise


def usage_error(message: str, *, option: str | None = None) -> Exception:
    """A usage error to ``raise`` from a command body: printed like click's own, exit USAGE.

    ``option`` names the parameter at fault (``--csr``), as click names it in its messages.
    """
    if option is not None:
        return typer.BadParameter(message, param_hint=f"'{option}'")
    error: Exception = _UsageError(message)
    return error


def existing_file(path: Path, option: str) -> Path:
    """``path`` if it is a readable file; else a usage error naming ``option``."""
    if not path.is_file():
        raise usage_error(f"{path}: no such file", option=option)
    return path
