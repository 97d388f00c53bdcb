"""An evidence document as rows a person can read (the CLI's table, the demo's preview)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lxml import etree

__all__ = ["DocumentRow", "document_rows", "document_to_dict", "label_of"]


@dataclass(frozen=True)
class DocumentRow:
    """One leaf of the document: ``path`` of element names, its German ``label``, ``value``."""

    path: tuple[str, ...]
    label: str
    value: str


# Element names are ASCII transliterations; the reader sees the real spelling.
_SPELLING = {
    "Strasse": "Straße",
    "Staatsangehoerigkeit": "Staatsangehörigkeit",
    "Meldebehoerde": "Meldebehörde",
    "Geschaeftsanschrift": "Geschäftsanschrift",
    "Gemeindeschluessel": "Gemeindeschlüssel",
    "Unternehmensgegenstand": "Unternehmensgegenstand",
    "FIN": "Fahrzeug-Identifizierungsnummer",
    "IDNr": "Identifikationsnummer",
}
_CAMEL = re.compile(r"(?<=[a-zäöüß])(?=[A-ZÄÖÜ])")


def label_of(name: str) -> str:
    """``ZugelassenSeit`` → ``Zugelassen seit``; transliterated names get their umlauts back."""
    if name in _SPELLING:
        return _SPELLING[name]
    words = _CAMEL.split(name)
    return " ".join([words[0], *(w.lower() for w in words[1:])])


def _local(element: etree._Element) -> str:
    return str(etree.QName(element).localname)


def document_rows(root: etree._Element) -> list[DocumentRow]:
    """Every leaf with text, in document order; repeated elements are numbered (``… 2``)."""
    rows: list[DocumentRow] = []

    def walk(element: etree._Element, path: tuple[str, ...], labels: tuple[str, ...]) -> None:
        children = [c for c in element if isinstance(c.tag, str)]
        if not children:
            text = (element.text or "").strip()
            if text:
                rows.append(DocumentRow(path, " › ".join(labels), text))
            return
        names = [_local(c) for c in children]
        seen: dict[str, int] = {}
        for child, name in zip(children, names, strict=True):
            seen[name] = seen.get(name, 0) + 1
            label = label_of(name)
            if names.count(name) > 1:
                label = f"{label} {seen[name]}"
            walk(child, (*path, name), (*labels, label))

    walk(root, (), ())
    return rows


def document_to_dict(root: etree._Element) -> dict[str, Any]:
    """The document as JSON-ready nesting; repeated elements become lists."""

    def convert(element: etree._Element) -> Any:
        children = [c for c in element if isinstance(c.tag, str)]
        if not children:
            return (element.text or "").strip()
        out: dict[str, Any] = {}
        for child in children:
            name = _local(child)
            value = convert(child)
            if name in out:
                if not isinstance(out[name], list):
                    out[name] = [out[name]]
                out[name].append(value)
            else:
                out[name] = value
        return out

    return {_local(root): convert(root)}
