"""Mutations of valid documents for fuzzing: byte-level and structure-aware.

Every mutation draws its decisions from a :data:`Chooser` (``choose(n)`` returns an integer in
``0 … n-1``), so the same code serves three drivers: hypothesis (``data.draw``, which shrinks
a failure to the smallest set of decisions), :class:`random.Random`, and atheris'
``FuzzedDataProvider`` (see ``fuzz/``)::

    @given(st.data())
    def test_parser(data):
        choose = hypothesis_chooser(data)
        hostile = mutate_bytes(valid_document, choose, rounds=3)

:func:`mutate_bytes` flips bits, deletes, duplicates and truncates ranges and inserts XML
syntax; :func:`mutate_tree` removes, duplicates, moves, renames and swaps elements and
rewrites texts and attributes with values parsers trip over (empty, huge, white space,
control characters, other scripts, almost-valid dates, ids and numbers).
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from typing import Any

from lxml import etree

__all__ = [
    "INTERESTING_TEXTS",
    "INTERESTING_TOKENS",
    "Chooser",
    "hypothesis_chooser",
    "mutate_bytes",
    "mutate_tree",
    "random_chooser",
]

#: ``choose(n)`` → an integer ``0 <= i < n`` (``n >= 1``).
Chooser = Callable[[int], int]

#: Byte strings inserted by :func:`mutate_bytes`: XML syntax that changes the structure.
INTERESTING_TOKENS: tuple[bytes, ...] = (
    b"<",
    b">",
    b"&",
    b"&amp;",
    b"&#0;",
    b"&#x110000;",
    b'"',
    b"'",
    b"</",
    b"/>",
    b"<![CDATA[x]]>",
    b"]]>",
    b"<!-- -->",
    b"<?pi x?>",
    b"<!DOCTYPE x>",
    b"<!ENTITY e 'x'>",
    b"&e;",
    b'xmlns="urn:x"',
    b'xmlns:ds="urn:x"',
    b"\x00",
    b"\xff\xfe",
    b"\xc3",
    b"\xf0\x9f\x98",
    b"\r\n",
    b" ",
    b"<x>",
)

#: Texts and attribute values written by :func:`mutate_tree`.
INTERESTING_TEXTS: tuple[str, ...] = (
    "",
    " ",
    "\t\n",
    "x" * 5000,
    "0",
    "-1",
    "99999999999999999999",
    "02476291358",
    "0247629135",
    "2476291358x",
    "2026-02-30",
    "2026-11-22T09:14:05",
    "2026-11-22T09:14:05Z ",
    "9999-12-31T23:59:59.999Z",
    "0001-01-01T00:00:00Z",
    "urn:uuid:not-a-uuid",
    "urn:uuid:00000000-0000-0000-0000-000000000000",
    "9b0b0f5e-5b9c-4c55-9b4e-0c6f1a2b3c4d",
    "EDM:ERR:9999",
    "true",
    "1",
    "\u202eevil",
    "Ümlaut ß 漢字 😀",
    "\ufeff",
    "a\u0085b",
    "noots:",
    "https://",
)


def random_chooser(rng: random.Random) -> Chooser:
    """Decisions from a seeded :class:`random.Random`."""
    return lambda upper: rng.randrange(max(upper, 1))


def hypothesis_chooser(data: Any) -> Chooser:
    """Decisions drawn from hypothesis' ``st.data()`` object (shrinkable)."""
    from hypothesis import strategies as st

    return lambda upper: int(data.draw(st.integers(min_value=0, max_value=max(upper, 1) - 1)))


# -- bytes ---------------------------------------------------------------------------------------


def _flip(data: bytearray, choose: Chooser) -> None:
    if data:
        data[choose(len(data))] ^= 1 << choose(8)


def _delete(data: bytearray, choose: Chooser) -> None:
    if data:
        start = choose(len(data))
        del data[start : start + 1 + choose(64)]


def _duplicate(data: bytearray, choose: Chooser) -> None:
    if data:
        start = choose(len(data))
        chunk = data[start : start + 1 + choose(256)]
        at = choose(len(data) + 1)
        data[at:at] = chunk


def _insert(data: bytearray, choose: Chooser) -> None:
    at = choose(len(data) + 1)
    data[at:at] = INTERESTING_TOKENS[choose(len(INTERESTING_TOKENS))]


def _truncate(data: bytearray, choose: Chooser) -> None:
    del data[choose(len(data) + 1) :]


def _overwrite(data: bytearray, choose: Chooser) -> None:
    if data:
        data[choose(len(data))] = choose(256)


_BYTE_MUTATIONS = (_flip, _delete, _duplicate, _insert, _truncate, _overwrite)


def mutate_bytes(data: bytes, choose: Chooser, *, rounds: int = 1) -> bytes:
    """``data`` after ``rounds`` byte-level mutations chosen by ``choose``."""
    buffer = bytearray(data)
    for _ in range(rounds):
        _BYTE_MUTATIONS[choose(len(_BYTE_MUTATIONS))](buffer, choose)
    return bytes(buffer)


# -- trees ---------------------------------------------------------------------------------------


def _elements(root: etree._Element) -> list[etree._Element]:
    return [e for e in root.iter() if isinstance(e.tag, str)]


def _pick(root: etree._Element, choose: Chooser, *, below_root: bool = False) -> etree._Element:
    elements = _elements(root)
    if below_root and len(elements) > 1:
        return elements[1 + choose(len(elements) - 1)]
    return elements[choose(len(elements))]


def _remove(root: etree._Element, choose: Chooser) -> None:
    element = _pick(root, choose, below_root=True)
    parent = element.getparent()
    if parent is not None:
        parent.remove(element)


def _duplicate_element(root: etree._Element, choose: Chooser) -> None:
    element = _pick(root, choose, below_root=True)
    if element.getparent() is not None:
        element.addnext(copy.deepcopy(element))


def _move(root: etree._Element, choose: Chooser) -> None:
    element = _pick(root, choose, below_root=True)
    if element.getparent() is None:
        return
    # An element cannot move into its own subtree.
    subtree = set(element.iter())
    targets = [e for e in _elements(root) if e not in subtree]
    if targets:
        target = targets[choose(len(targets))]
        target.insert(choose(len(target) + 1), element)


def _set_text(root: etree._Element, choose: Chooser) -> None:
    _pick(root, choose).text = INTERESTING_TEXTS[choose(len(INTERESTING_TEXTS))]


def _set_attribute(root: etree._Element, choose: Chooser) -> None:
    element = _pick(root, choose)
    names = list(element.attrib)
    value = INTERESTING_TEXTS[choose(len(INTERESTING_TEXTS))]
    if names and choose(4):
        name = names[choose(len(names))]
        if choose(3) == 0:
            del element.attrib[name]
        else:
            element.set(name, value)
    else:
        element.set(("id", "version", "listURI", "schemeID", "Id")[choose(5)], value)


def _rename(root: etree._Element, choose: Chooser) -> None:
    tags = sorted({e.tag for e in _elements(root)})
    _pick(root, choose).tag = tags[choose(len(tags))]


def _swap(root: etree._Element, choose: Chooser) -> None:
    element = _pick(root, choose, below_root=True)
    following = element.getnext()
    if following is not None and isinstance(following.tag, str):
        following.addnext(element)


_TREE_MUTATIONS = (
    _remove,
    _duplicate_element,
    _move,
    _set_text,
    _set_attribute,
    _rename,
    _swap,
)


def mutate_tree(root: etree._Element, choose: Chooser, *, rounds: int = 1) -> etree._Element:
    """A copy of ``root`` after ``rounds`` structure-aware mutations (the input stays as it is)."""
    mutated = copy.deepcopy(root)
    for _ in range(rounds):
        _TREE_MUTATIONS[choose(len(_TREE_MUTATIONS))](mutated, choose)
    return mutated
