"""Write the seed corpora of the harnesses: ``python fuzz/make_corpus.py [directory]``.

One subdirectory per harness (``xml``, ``messages``, ``envelope``, ``tokens``, ``idnr``) with
valid documents built by noots itself (:mod:`noots.testing.corpus`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from noots.testing.corpus import write_corpus

KINDS = ("xml", "messages", "envelope", "tokens", "idnr")


def main(target: Path) -> None:
    for kind in KINDS:
        count = write_corpus(target / kind, kind)
        print(f"{target / kind}: {count} seeds")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "corpus")
