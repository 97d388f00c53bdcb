"""The one place noots parses XML.

Every byte string that arrives from outside goes through :func:`parse` before anything reads
it. What it accepts is deliberately narrow, because libxml2 is not: given a document in another
encoding it decodes it itself, and it reads a DTD's internal subset (parameter entities that
name a ``file:`` URI included) even with ``load_dtd`` off. So, in this order and before libxml2
sees a byte:

1. size: at most ``max_bytes``;
2. encoding: **UTF-8 only**. No byte-order mark but UTF-8's, no NUL byte (which is how UTF-16
   and UTF-32 look to a UTF-8 reader), the bytes decode strictly as UTF-8, and an XML
   declaration, if there is one, says version 1.0 and (if it names one) the encoding UTF-8;
3. no DTD: ``<!DOCTYPE`` and ``<!ENTITY`` are refused. Because step 2 fixed the encoding, the
   ASCII search finds every spelling there is.

Only then does libxml2 parse, with the encoding forced to UTF-8, no network, no DTD, no entity
expansion and a resolver that refuses every external resource, in chunks against a CPU budget
(``max_parse_seconds``), so a document never holds the thread longer than that. The tree must
then have no DTD, no processing instruction, at most ``max_elements`` nodes and at most
``max_depth`` levels. Every refusal is an :class:`~noots.errors.XmlError`; none depends on the
file system (nothing external is ever opened), so answers cannot tell which files exist.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from lxml import etree

from noots.errors import XmlForbiddenConstruct, XmlSyntaxError, XmlTooDeep, XmlTooLarge

__all__ = ["DEFAULT_LIMITS", "XmlLimits", "parse", "serialize"]


@dataclass(frozen=True)
class XmlLimits:
    """Safe defaults; loosen only on purpose (docs/PROTOCOL.md states them)."""

    max_bytes: int = 5 * 1024 * 1024
    max_depth: int = 64
    max_elements: int = 50_000
    #: CPU seconds libxml2 may spend on one document (checked between chunks of ``_CHUNK``
    #: bytes). A 5 MiB document of small elements takes about 0.15 s on the reference machine.
    max_parse_seconds: float = 1.0


DEFAULT_LIMITS = XmlLimits()

_UTF8_BOM = b"\xef\xbb\xbf"
# Byte-order marks (and signatures) of the encodings libxml2 would otherwise switch to.
_FOREIGN_BOMS = (
    b"\x00\x00\xfe\xff",  # UTF-32 BE
    b"\xff\xfe\x00\x00",  # UTF-32 LE (test before UTF-16 LE, which it starts with)
    b"\xfe\xff",  # UTF-16 BE
    b"\xff\xfe",  # UTF-16 LE
    b"\x2b\x2f\x76",  # UTF-7
    b"\xdd\x73\x66\x73",  # UTF-EBCDIC
    b"\x0e\xfe\xff",  # SCSU
    b"\xfb\xee\x28",  # BOCU-1
    b"\x84\x31\x95\x33",  # GB 18030
)
_DECLARATION = re.compile(rb"<\?xml(?=[\s?])(?P<attributes>[^>]*?)\?>")
_PSEUDO_ATTRIBUTE = re.compile(rb"""(\w+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_UTF8_NAMES = frozenset({b"utf-8", b"utf8"})
_CHUNK = 64 * 1024


class _RefuseEverything(etree.Resolver):
    """Whatever libxml2 would load (a DTD, an entity, an XInclude): refused, never opened."""

    def resolve(self, system_url: str, public_id: str, context: Any = None) -> Any:
        raise XmlForbiddenConstruct("external resources are never loaded")


def _parser() -> etree.XMLParser:
    # lxml parsers are not thread-safe (one per thread), and a feed parser keeps state between
    # calls (a fresh one per large document). The options make any DTD inert; the checks
    # before parsing make sure there never is one.
    parser = etree.XMLParser(
        encoding="utf-8",
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
        remove_pis=False,
        collect_ids=False,
    )
    parser.resolvers.add(_RefuseEverything())
    return parser


def _check_encoding(data: bytes) -> None:
    """UTF-8 and XML 1.0, or :class:`XmlForbiddenConstruct` / :class:`XmlSyntaxError`."""
    if data.startswith(_FOREIGN_BOMS):
        raise XmlForbiddenConstruct("XML must be UTF-8: the byte-order mark names another encoding")
    if b"\x00" in data:
        raise XmlForbiddenConstruct("XML must be UTF-8: the document contains NUL bytes")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise XmlSyntaxError(f"XML must be UTF-8: invalid UTF-8 at byte {exc.start}") from None
    start = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    declaration = _DECLARATION.match(data, start)
    if declaration is None:
        return
    pseudo = {
        match.group(1).lower(): (match.group(2) if match.group(2) is not None else match.group(3))
        for match in _PSEUDO_ATTRIBUTE.finditer(declaration.group("attributes"))
    }
    if pseudo.get(b"version") != b"1.0":
        raise XmlForbiddenConstruct("only XML version 1.0 is accepted")
    encoding = pseudo.get(b"encoding")
    if encoding is not None and encoding.lower() not in _UTF8_NAMES:
        raise XmlForbiddenConstruct("XML must be UTF-8: the declaration names another encoding")


_local = threading.local()


def _parse_within_budget(data: bytes, limits: XmlLimits) -> etree._Element:
    try:
        if len(data) <= _CHUNK:
            # One chunk is bounded work (no DTD, no entities: linear in its 64 KiB): parsed at
            # once with this thread's parser. The clock is read only for larger documents:
            # reading the thread's CPU clock is a system call that costs more than parsing a
            # message of a few kilobytes.
            parser: etree.XMLParser | None = getattr(_local, "parser", None)
            if parser is None:
                parser = _local.parser = _parser()
            root: etree._Element = etree.fromstring(data, parser)
            return root
        parser = _parser()
        started = time.thread_time()
        for offset in range(0, len(data), _CHUNK):
            parser.feed(data[offset : offset + _CHUNK])
            if time.thread_time() - started > limits.max_parse_seconds:
                raise XmlTooLarge(
                    f"parsing took more than {limits.max_parse_seconds:g} s of CPU time"
                )
        root = parser.close()
    except etree.XMLSyntaxError as exc:
        raise XmlSyntaxError(f"not well-formed XML: {exc.msg}") from None
    except (ValueError, TypeError) as exc:
        raise XmlSyntaxError(f"not well-formed XML: {exc}") from None
    return root


def parse(data: bytes, limits: XmlLimits = DEFAULT_LIMITS) -> etree._Element:
    """Parse untrusted bytes into an element tree, or raise a :class:`~noots.errors.XmlError`."""
    if not isinstance(data, bytes | bytearray):
        raise TypeError("parse() takes bytes: decoding is the parser's job, not the caller's")
    data = bytes(data)
    if len(data) > limits.max_bytes:
        raise XmlTooLarge(f"document of {len(data)} bytes exceeds the limit of {limits.max_bytes}")
    if not data.strip():
        raise XmlSyntaxError("not well-formed XML: the document is empty")
    _check_encoding(data)
    # A DOCTYPE is never legitimate in this protocol: refuse it before libxml2 reads it.
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise XmlForbiddenConstruct("DTDs and entity declarations are not allowed")
    root = _parse_within_budget(data, limits)
    # Any: the stubs know neither that internalDTD may be None nor DocInfo.system_url.
    docinfo: Any = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.system_url or docinfo.public_id:
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
