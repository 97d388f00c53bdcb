"""The code docs/PROTOCOL.md gives to operators runs as written."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from cryptography import x509
from lxml import etree
from signxml.exceptions import InvalidDigest

from noots.paths import PROJECT_ROOT
from noots.pki import KeyType, Role
from noots.testing.pki import TestPki
from noots.xml import serialize

PROTOCOL = PROJECT_ROOT / "docs" / "PROTOCOL.md"


def _recipe() -> dict[str, Any]:
    text = PROTOCOL.read_text(encoding="utf-8")
    section = text[text.index("**Verifying with signxml**") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1), str(PROTOCOL), "exec"), namespace)  # noqa: S102 - our own docs
    return namespace


def _signed(pki: TestPki) -> bytes:
    """A small document signed by the Vermittlungsstelle's key (as a VS token is)."""
    return serialize(pki.signer("noots-vs", Role.VS).sign(etree.fromstring(b"<t><a>1</a></t>")))


def _signer_of(signed: bytes) -> x509.Certificate:
    value = etree.fromstring(signed).find(".//{*}X509Certificate")
    assert value is not None
    assert value.text
    body = "".join(value.text.split())
    return x509.load_der_x509_certificate(base64.b64decode(body))


@pytest.mark.parametrize("key_type", ["rsa", "ecdsa"])
def test_the_signxml_recipe_verifies_what_noots_signs(key_type: str) -> None:
    """A document noots signs (RSA or ECDSA) verifies with the recipe, which returns the
    signed content."""
    kind = KeyType.RSA2048 if key_type == "rsa" else KeyType.ECDSA_P256
    with TestPki(key_type=kind) as pki:
        signed = _signed(pki)
    recipe = _recipe()
    element = recipe["verify_noots_signature"](signed, _signer_of(signed))
    assert element.findtext("a") == "1"


def test_the_signxml_recipe_refuses_a_changed_document() -> None:
    """One changed character in the signed content: the recipe raises."""
    with TestPki() as pki:
        signed = _signed(pki)
    changed = signed.replace(b"<a>1</a>", b"<a>2</a>")
    with pytest.raises(InvalidDigest):
        _recipe()["verify_noots_signature"](changed, _signer_of(signed))
