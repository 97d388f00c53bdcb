"""What every harness shares: turning fuzzer bytes into decisions, and running under atheris.

The harnesses import atheris only when run as a script, so they (and their ``TestOneInput``)
import and run without it: ``tests/fuzz/test_harnesses.py`` replays the seed corpus through
each one. Only the ``noots`` modules are instrumented for coverage (:func:`instrumented`):
instrumenting every loaded module (``atheris.instrument_all``) takes minutes.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # importing noots here would load it before the instrumentation
    from noots.testing.mutations import Chooser


def instrumented(module_name: str) -> contextlib.AbstractContextManager[Any]:
    """Imports inside this block are instrumented when the harness runs as a script."""
    if module_name != "__main__":
        return contextlib.nullcontext()
    try:
        import atheris  # type: ignore[import-not-found]
    except ImportError:
        return contextlib.nullcontext()
    return atheris.instrument_imports(include=["noots"])  # type: ignore[no-any-return]


def bytes_chooser(data: bytes) -> Chooser:
    """Decisions read from ``data`` two bytes at a time (zeros once it is used up), so the
    fuzzer's byte mutations become mutations of the document."""
    position = 0

    def choose(upper: int) -> int:
        nonlocal position
        chunk = data[position : position + 2]
        position += 2
        return int.from_bytes(chunk.ljust(2, b"\0"), "big") % max(upper, 1)

    return choose


def run(test_one_input: Callable[[bytes], None]) -> None:
    """Fuzz ``test_one_input`` with atheris (libFuzzer options from the command line)."""
    try:
        import atheris  # type: ignore[import-not-found]
    except ImportError:
        sys.exit("atheris is not installed: pip install atheris (see fuzz/README.md)")
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
