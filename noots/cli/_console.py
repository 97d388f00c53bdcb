"""The rich consoles of the commands: a terminal's own width, and no 80-column cut elsewhere.

Rich lays out for 80 columns when its output is not a terminal (``noots up > log``, a pipe,
CI): tables squeeze and cut their cells, long lines wrap inside URLs. Output that goes to a file
is read whole later, so it gets room for every table and lines as long as their content; a
terminal keeps its own width, and ``COLUMNS`` set by the caller wins in both cases.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["FILE_WIDTH", "console"]

#: Columns for output that is not a terminal: wide enough for every table of the commands.
FILE_WIDTH = 240


def console(*, stderr: bool = False) -> Console:
    """A console for stdout (or stderr) laid out for where the output goes."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    if _is_terminal(stream) or os.environ.get("COLUMNS"):
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=FILE_WIDTH, soft_wrap=True)


def _is_terminal(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except ValueError:  # closed
        return False
