"""atheris harness: ``noots.idnr.validate`` on arbitrary text.

Contract: the number unchanged (11 ASCII digits), or :class:`noots.errors.InvalidIdnr`.
Run: ``python fuzz/fuzz_idnr.py fuzz/corpus/idnr`` (see fuzz/README.md).
"""

from __future__ import annotations

from _harness import instrumented, run

with instrumented(__name__):
    from noots.errors import InvalidIdnr
    from noots.idnr import validate


def TestOneInput(data: bytes) -> None:
    text = data.decode("utf-8", errors="surrogateescape")
    for allow in (False, True):
        try:
            result = validate(text, allow_test_numbers=allow)
        except InvalidIdnr:
            continue
        if result != text or len(result) != 11 or not (result.isascii() and result.isdigit()):
            raise AssertionError(f"validate accepted {text!r} as {result!r}")


if __name__ == "__main__":
    run(TestOneInput)
