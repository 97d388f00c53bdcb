"""The one place noots parses XML.

Every byte string that arrives from outside goes through :func:`parse` before anything reads
it. The parser never loads a DTD, never expands an entity, never touches the network, and
refuses oversized or deeply nested documents with a typed error before doing any other work.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

from lxml import etree

from noots.errors import XmlForbiddenConstruct, XmlSyntaxError, XmlTooDeep, XmlTooLarge

__all__ = ["DEFAULT_LIMITS", "XmlLimits", "parse", "serialize"]


@dataclass(frozen=True)
class XmlLimits:
    """Safe defaults; loosen only on purpose."""

    max_bytes: int = 5 * 1024 * 1024
    max_depth: int = 64
    max_elements: int = 50_000


DEFAULT_LIMITS = XmlLimits()


# One parser per thread is what lxml recommends; these options make a DTD inert, and the
# explicit DOCTYPE check below refuses it outright so nothing downstream ever sees one.
def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
        remove_pis=False,
        collect_ids=False,
    )


def parse(data: bytes, limits: XmlLimits = DEFAULT_LIMITS) -> etree._Element:
    """Parse untrusted bytes into an element tree, or raise a :class:`~noots.errors.XmlError`."""
    if not isinstance(data, bytes | bytearray):
        raise TypeError("parse() takes bytes: decoding is the parser's job, not the caller's")
    if len(data) > limits.max_bytes:
        raise XmlTooLarge(f"document of {len(data)} bytes exceeds the limit of {limits.max_bytes}")
    # Cheap pre-check: a DOCTYPE is never legitimate in this protocol, refuse before parsing.
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise XmlForbiddenConstruct("DTDs and entity declarations are not allowed")
    try:
        root = etree.fromstring(bytes(data), _parser())
    except etree.XMLSyntaxError as exc:
        raise XmlSyntaxError(f"not well-formed XML: {exc.msg}") from None
    except ValueError as exc:  # e.g. unicode strings with an encoding declaration
        raise XmlSyntaxError(f"not well-formed XML: {exc}") from None
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.system_url or tree.docinfo.public_id:
        raise XmlForbiddenConstruct("DTDs are not allowed")
    # Siblings of the root (before or after it) are outside the subtree walked below.
    for sibling in (*root.itersiblings(preceding=True), *root.itersiblings()):
        if isinstance(sibling, etree._ProcessingInstruction):
            raise XmlForbiddenConstruct("processing instructions are not allowed")
    _check_shape(root, limits)
    return root


def _check_shape(root: etree._Element, limits: XmlLimits) -> None:
    if _within_limits(root, limits):
        return
    _find_shape_error(root, limits)


@functools.lru_cache(maxsize=8)
def _deeper_than(depth: int) -> etree.XPath:
    # A node deeper than ``depth`` exists iff some element at exactly ``depth`` has a child
    # node other than text; each step visits one level once, so this is linear in C.
    steps = "/".join(["*"] * (depth - 1) + ["node()[not(self::text())]"])
    return etree.XPath(f"boolean({steps})")


def _within_limits(root: etree._Element, limits: XmlLimits) -> bool:
    """The quick answer, in C: True when the subtree of ``root`` has no entity reference, no
    processing instruction, at most ``max_elements`` nodes and no node deeper than
    ``max_depth``. False sends the document through :func:`_find_shape_error`, which finds
    the same problems one node at a time and names the first exactly as it always has."""
    if limits.max_depth < 1 or limits.max_elements < 1:
        return False
    if next(root.iter(etree.Entity, etree.ProcessingInstruction), None) is not None:
        return False
    # iter() yields the nodes the walk counts (elements, comments, PIs, entities), root first.
    nodes = sum(1 for _ in itertools.islice(root.iter(), limits.max_elements + 1))
    if nodes > limits.max_elements:
        return False
    return not _deeper_than(limits.max_depth)(root)


def _find_shape_error(root: etree._Element, limits: XmlLimits) -> None:
    count = 0
    # iterwalk-free depth check: an explicit stack, so deep documents cannot exhaust recursion.
    stack: list[tuple[etree._Element, int]] = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        count += 1
        if count > limits.max_elements:
            raise XmlTooLarge(f"more than {limits.max_elements} nodes")
        if depth > limits.max_depth:
            raise XmlTooDeep(f"nesting deeper than {limits.max_depth} levels")
        if isinstance(element, etree._Entity):
            raise XmlForbiddenConstruct("entity references are not allowed")
        if isinstance(element, etree._ProcessingInstruction):
            raise XmlForbiddenConstruct("processing instructions are not allowed")
        for child in element:
            stack.append((child, depth + 1))


def serialize(element: etree._Element) -> bytes:
    """UTF-8 bytes with an XML declaration; never pretty-printed (signed content must not move)."""
    return bytes(etree.tostring(element, xml_declaration=True, encoding="UTF-8"))
