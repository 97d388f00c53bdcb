"""The generated parts of README.md: what runs where, and the behaviour-driving test identities.

Each generated block sits between ``<!-- begin: NAME -->`` and ``<!-- end: NAME -->``; a test
checks the committed README equals :func:`refresh` of itself. After changing the topology or
the identities, run ``python -m noots.readme`` to rewrite the blocks in place.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable

from noots.components import landscape_components
from noots.paths import PROJECT_ROOT
from noots.topology import Topology, load_topology

__all__ = ["BLOCKS", "identities_table", "landscape_table", "refresh"]


def landscape_table(topology: Topology) -> str:
    """Component, what it is, default URL."""
    rows = ["| component | what | URL |", "|---|---|---|"]
    for component in landscape_components(topology, dashboard=True):
        rows.append(f"| `{component.name}` | {component.title} | {component.url()} |")
    return "\n".join(rows)


def identities_table() -> str:
    """The table of ``noots.synthetic.identities`` (the same rows as docs/identities.md)."""
    from noots.synthetic.identities import markdown_table

    return "\n".join(line for line in markdown_table().splitlines() if line.startswith("|"))


BLOCKS: dict[str, Callable[[], str]] = {
    "landscape": lambda: landscape_table(load_topology()),
    "identities": identities_table,
}


def refresh(text: str) -> str:
    """``text`` with every generated block replaced by its current content."""
    for name, render in BLOCKS.items():
        pattern = re.compile(
            rf"(<!-- begin: {name} [^\n]*-->\n)(.*?)(<!-- end: {name} -->)", re.DOTALL
        )
        if not pattern.search(text):
            raise ValueError(f"README has no generated block {name!r}")
        content = render()

        def replace(match: re.Match[str], content: str = content) -> str:
            return f"{match.group(1)}{content}\n{match.group(3)}"

        text = pattern.sub(replace, text)
    return text


def main() -> int:
    path = PROJECT_ROOT / "README.md"
    old = path.read_text(encoding="utf-8")
    new = refresh(old)
    if new != old:
        path.write_text(new, encoding="utf-8")
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
