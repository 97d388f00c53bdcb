"""Where in a YAML document a problem is: a path of keys and indices, its text, its line.

Shared by the loaders that report problems as ``file:line: location: message`` (the
topology, the scenario files).
"""

from __future__ import annotations

from collections.abc import Sequence

import yaml

__all__ = ["Location", "format_location", "line_of"]

#: Keys and sequence indices from the document root, e.g. ``("registers", 2, "port")``.
Location = tuple[str | int, ...]


def format_location(loc: Sequence[str | int]) -> str:
    """``("registers", 2, "port")`` → ``registers[2].port``; the root is ``(document)``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "(document)"


def line_of(root: yaml.Node | None, loc: Location) -> int | None:
    """The 1-based line of the node at ``loc`` (or of its deepest existing ancestor)."""
    node = root
    if node is None:
        return None
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == part:
                    child = value
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
        if child is None:
            break  # a missing field: report its parent
        node = child
    return int(node.start_mark.line) + 1
