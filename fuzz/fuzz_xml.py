"""atheris harness: ``noots.xml.parse`` on arbitrary bytes.

Contract: an element, or a :class:`noots.errors.XmlError`; anything else is a finding.
Run: ``python fuzz/fuzz_xml.py fuzz/corpus/xml`` (see fuzz/README.md).
"""

from __future__ import annotations

import contextlib

from _harness import instrumented, run

with instrumented(__name__):
    from noots.errors import XmlError
    from noots.xml import parse


def TestOneInput(data: bytes) -> None:
    with contextlib.suppress(XmlError):
        parse(data)


if __name__ == "__main__":
    run(TestOneInput)
