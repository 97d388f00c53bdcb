"""Opening a small self-contained signed document (the VS token, the eID identity token).

Private helper of :mod:`noots.tokens` and :mod:`noots.eid`: the same pipeline as the envelope
(hardened parse → signature and certificate path with a required role → schema check of the
signed element), but every failure becomes the caller's one error class, with the cause chained.
"""

from __future__ import annotations

from lxml import etree

from noots import _xsd
from noots.errors import AuthenticationError, MalformedMessage, NootsError, XmlError
from noots.pki import Role
from noots.signing import VerifiedXml, XmlVerifier
from noots.xml import XmlLimits, parse

__all__ = ["TOKEN_LIMITS", "open_sealed", "text_of"]

# Tokens are a dozen short elements and one signature: anything much larger is an attack.
TOKEN_LIMITS = XmlLimits(max_bytes=64 * 1024, max_depth=16, max_elements=200)


def open_sealed(
    raw: bytes,
    verifier: XmlVerifier,
    *,
    role: Role,
    tag: str,
    schema: str,
    what: str,
    error: type[NootsError],
) -> VerifiedXml:
    """The verified element of ``raw``, a document with root ``tag`` signed by ``role``."""
    try:
        root = parse(raw, TOKEN_LIMITS)
    except XmlError as exc:
        raise error(f"{what} is not acceptable XML: {exc.message}") from exc
    if root.tag != tag:
        raise error(f"not a {what}")
    try:
        verified = verifier.verify(root, required_role=role)
    except AuthenticationError as exc:  # signature and certificate errors alike
        raise error(f"{what} seal invalid: {exc.message}") from exc
    if verified.element.tag != tag:
        raise error(f"the signed element is not a {what}")
    try:
        _xsd.check(schema, verified.element, what)
    except MalformedMessage as exc:
        raise error(exc.message) from exc
    return verified


def text_of(parent: etree._Element, tag: str) -> str | None:
    """The text of the child ``tag`` ("" when empty), or None when there is no such child."""
    child = parent.find(tag)
    if child is None:
        return None
    return child.text or ""
