"""The project's own XML schemas (``xsd/``), loaded once, offline, and applied under a lock.

Private helper of :mod:`noots.envelope`, :mod:`noots.tokens` and :mod:`noots.eid`.
"""

from __future__ import annotations

import re
import threading
from functools import cache
from typing import Any

from lxml import etree

from noots.errors import MalformedMessage
from noots.paths import XSD_DIR

__all__ = ["check", "is_line", "schema"]

# What the schemas' single-line text types accept: no white space at either end, no line
# break inside, and no character XML 1.0 cannot carry.
_LINE = re.compile(r"\S(?:[^\r\n]*\S)?")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def is_line(value: object, max_length: int = 256) -> bool:
    """True for one line of 1 to ``max_length`` characters that XML can carry unchanged."""
    return (
        isinstance(value, str)
        and len(value) <= max_length
        and _LINE.fullmatch(value) is not None
        and _NOT_XML.search(value) is None
    )


# An XMLSchema object keeps its error log on itself, so concurrent validations would mix their
# findings; validation is fast enough to serialise.
_LOCK = threading.Lock()


@cache
def schema(name: str) -> etree.XMLSchema:
    """The compiled schema ``xsd/<name>`` (for example ``noots-transport-1.xsd``)."""
    path = XSD_DIR / name
    # The schema files are ours, but they are read with the same refusals as wire input.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    document = etree.parse(str(path), parser)
    return etree.XMLSchema(document)


def check(name: str, element: etree._Element, what: str) -> None:
    """Raise :class:`MalformedMessage` unless ``element`` is valid against ``xsd/<name>``.

    The message names the first finding (line and schema message) but never the content.
    """
    compiled = schema(name)
    with _LOCK:
        if compiled.validate(element):
            return
        # lxml-stubs types the error log as opaque; it is a list of _LogEntry.
        log: Any = compiled.error_log
        first = log[0]
    raise MalformedMessage(f"{what} does not match {name}: line {first.line}: {_safe(first)}")


# Findings about structure (missing or unexpected elements) name only element names; findings
# about values quote the value, which may be personal data, so only their kind is reported.
_STRUCTURAL = {"SCHEMAV_ELEMENT_CONTENT", "SCHEMAV_CVC_COMPLEX_TYPE_4", "SCHEMAV_CVC_ELT_1"}


def _safe(entry: Any) -> str:
    if entry.type_name in _STRUCTURAL:
        return str(entry.message)
    subject, _, _ = str(entry.message).partition("': ")
    return f"{subject}': {entry.type_name}"
