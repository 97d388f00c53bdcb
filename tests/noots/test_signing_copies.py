"""noots.signing: the copies signxml makes that noots skips change nothing observable.

The verifier hands signxml the caller's parsed root without copying it first and lets signxml
canonicalise its own private copy without copying that again; the signer takes the digest
input as a deep copy of its own re-parsed copy. These tests pin what must stay true.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lxml import etree

from noots.errors import SignatureInvalid
from noots.pki import IssuedCredential, KeyType, Role
from noots.signing import XmlSigner, XmlVerifier
from noots.testing.pki import TestPki, sample_envelope
from noots.xml import parse, serialize

CONSUMER = "08118079-BPA-87"


@pytest.fixture(scope="module")
def pki() -> Iterator[TestPki]:
    with TestPki() as pki:
        yield pki


@pytest.fixture(scope="module", params=[KeyType.RSA2048, KeyType.ECDSA_P256])
def credential(request: pytest.FixtureRequest, pki: TestPki) -> IssuedCredential:
    return pki.credential(CONSUMER, Role.CONSUMER, key_type=request.param)


@pytest.fixture(scope="module")
def verifier(pki: TestPki) -> XmlVerifier:
    return pki.verifier()


def test_verify_leaves_the_callers_tree_as_it_was(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """After verification the parsed document still serialises to the bytes received."""
    raw = serialize(XmlSigner(credential).sign(sample_envelope()))
    root = parse(raw)
    result = verifier.verify(root)
    assert serialize(root) == raw
    assert result.element is not root
    assert result.element.getroottree() is not root.getroottree()


def test_verifying_the_same_tree_twice_gives_the_same_answer(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """A tree that was verified once verifies again with an equal signed element."""
    root = parse(serialize(XmlSigner(credential).sign(sample_envelope())))
    first = etree.tostring(verifier.verify(root).element)
    assert etree.tostring(verifier.verify(root).element) == first


def test_comments_are_not_part_of_the_signed_element(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """A comment inserted after signing is absent from what verify() returns, and the
    caller's tree keeps it."""
    raw = serialize(XmlSigner(credential).sign(etree.fromstring(b"<r><a>1</a></r>")))
    tampered = raw.replace(b"<a>1</a>", b"<a>1<!-- not signed --></a>")
    root = parse(tampered)
    result = verifier.verify(root)
    assert b"not signed" not in etree.tostring(result.element)
    assert b"not signed" in etree.tostring(root)


def test_text_changed_after_signing_still_fails(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """The skipped copies do not weaken the digest: changed text is refused."""
    raw = serialize(XmlSigner(credential).sign(etree.fromstring(b"<r><a>1</a></r>")))
    with pytest.raises(SignatureInvalid):
        verifier.verify(parse(raw.replace(b"<a>1</a>", b"<a>2</a>")))


def test_in_memory_namespace_clash_is_signed_as_serialised(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """A tree built in memory whose generated prefixes clash signs what goes on the wire
    (the digest input is a copy of the re-parsed tree, not the in-memory one)."""
    root = etree.Element("a")
    root.set("{urn:a}n", "")
    child = etree.Element("{urn:noots:b}Body")
    child.set("{urn:a}n", "")  # lxml writes this with a prefix the element rebinds
    root.append(child)
    signed = serialize(XmlSigner(credential).sign(root))
    assert verifier.verify(parse(signed)).element.tag == "a"
