"""noots._dsig: the narrow XMLDSig signer and verifier of the one signature profile."""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from noots import _dsig
from noots.clock import ManualClock
from noots.errors import NootsError, SignatureInvalid
from noots.pki import IssuedCredential, KeyType, Role
from noots.signing import (
    DS_NS,
    ECDSA_SHA256,
    ENVELOPED,
    EXC_C14N,
    RSA_SHA256,
    SHA256,
    SignxmlSigner,
    SignxmlVerifier,
    VerificationPolicy,
    XmlSigner,
    XmlVerifier,
)
from noots.testing.pki import TestPki, sample_envelope
from noots.xml import parse, serialize

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
CONSUMER = "08118079-BPA-87"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
C14N_1_0 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"


def ds(local: str) -> str:
    return f"{{{DS_NS}}}{local}"


@pytest.fixture(scope="module")
def pki() -> Iterator[TestPki]:
    with TestPki(clock=ManualClock(T0)) as test_pki:
        yield test_pki


@pytest.fixture(scope="module")
def verifier(pki: TestPki) -> XmlVerifier:
    return pki.verifier()


@pytest.fixture(scope="module", params=[KeyType.RSA2048, KeyType.ECDSA_P256])
def credential(request: pytest.FixtureRequest, pki: TestPki) -> IssuedCredential:
    return pki.credential(CONSUMER, Role.CONSUMER, key_type=request.param)


def signed(credential: IssuedCredential, document: etree._Element | None = None) -> bytes:
    return serialize(
        XmlSigner(credential).sign(document if document is not None else sample_envelope())
    )


def signature_of(root: etree._Element) -> etree._Element:
    found = root.find(ds("Signature"))
    assert found is not None
    return found


# -- the signer


_NAMES = st.sampled_from(["a", "b", "{urn:a}n", "{urn:noots:b}Body", f"{{{DS_NS}}}KeyName"])
_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    max_size=12,
)


@st.composite
def _trees(draw: st.DrawFn, depth: int = 0) -> etree._Element:
    prefixes = draw(st.sampled_from([None, {"ds": DS_NS}, {"ds": "urn:not-dsig"}, {None: "urn:d"}]))
    element = etree.Element(draw(_NAMES), nsmap=prefixes)
    for name in draw(st.lists(_NAMES, max_size=2, unique=True)):
        element.set(name, draw(_TEXT))
    element.text = draw(_TEXT) or None
    if depth < 2:
        for child in draw(st.lists(_trees(depth + 1), max_size=3)):
            child.tail = draw(_TEXT) or None
            element.append(child)
    return element


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tree=_trees())
def test_property_rsa_signature_is_byte_identical_to_signxml(
    tree: etree._Element, pki: TestPki
) -> None:
    """For RSA (deterministic) the narrow signer writes exactly the bytes signxml writes,
    whatever namespaces the document declares (a ds prefix of its own included)."""
    credential = pki.credential(CONSUMER, Role.CONSUMER, key_type=KeyType.RSA2048)
    assert serialize(XmlSigner(credential).sign(tree)) == serialize(
        SignxmlSigner(credential).sign(tree)
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tree=_trees())
def test_property_narrow_signatures_verify_with_signxml(tree: etree._Element, pki: TestPki) -> None:
    """What the narrow signer writes (RSA and ECDSA) verifies with signxml, with equal content."""
    for key_type in (KeyType.RSA2048, KeyType.ECDSA_P256):
        credential = pki.credential(CONSUMER, Role.CONSUMER, key_type=key_type)
        root = parse(serialize(XmlSigner(credential).sign(tree)))
        narrow = pki.verifier().verify(root).element
        reference = SignxmlVerifier(pki.validator()).verify(root).element
        assert etree.tostring(narrow, method="c14n") == etree.tostring(reference, method="c14n")


def test_signing_refuses_a_curve_outside_the_profile(pki: TestPki) -> None:
    """Only P-256 keys sign ECDSA-SHA256 in the profile."""
    from cryptography.hazmat.primitives.asymmetric import ec

    credential = pki.credential(CONSUMER, Role.CONSUMER, key_type=KeyType.ECDSA_P256)
    with pytest.raises(ValueError, match="P-256"):
        _dsig.sign(
            sample_envelope(), ec.generate_private_key(ec.SECP384R1()), credential.certificate
        )


# -- the policy can narrow the profile, never widen it


@pytest.mark.parametrize(
    "policy",
    [
        VerificationPolicy(digest_methods=frozenset({SHA256, SHA1})),
        VerificationPolicy(c14n_methods=frozenset({EXC_C14N, C14N_1_0})),
        VerificationPolicy(transforms=(ENVELOPED, C14N_1_0)),
        VerificationPolicy(transforms=(ENVELOPED,)),
    ],
)
def test_a_policy_wider_than_the_profile_is_refused(
    pki: TestPki, policy: VerificationPolicy
) -> None:
    """A verifier is not built for a policy that names what the profile does not implement."""
    with pytest.raises(ValueError, match="signature profile"):
        XmlVerifier(pki.validator(), policy)


def test_a_narrower_policy_is_accepted(pki: TestPki) -> None:
    """RSA only is a narrowing of the profile: allowed."""
    narrow = XmlVerifier(
        pki.validator(), VerificationPolicy(signature_methods=frozenset({RSA_SHA256}))
    )
    assert narrow.policy.signature_methods == {RSA_SHA256}


# -- the structure of the signature element


def _with(raw: bytes, change: str) -> etree._Element:
    """The signed document with one change to its signature element."""
    root = parse(raw)
    signature = signature_of(root)
    signed_info = signature.find(ds("SignedInfo"))
    assert signed_info is not None
    key_info = signature.find(ds("KeyInfo"))
    assert key_info is not None
    c14n, method, reference = list(signed_info)
    transforms = reference.find(ds("Transforms"))
    assert transforms is not None
    digest_value = reference.find(ds("DigestValue"))
    assert digest_value is not None
    value = signature.find(ds("SignatureValue"))
    assert value is not None
    exclusive = "{http://www.w3.org/2001/10/xml-exc-c14n#}InclusiveNamespaces"
    if change == "id-on-signature":
        signature.set("Id", "sig")
    elif change == "id-on-signed-info":
        signed_info.set("Id", "si")
    elif change == "id-on-reference":
        reference.set("Id", "ref")
    elif change == "type-on-reference":
        reference.set("Type", "http://www.w3.org/2000/09/xmldsig#Object")
    elif change == "id-on-signature-value":
        value.set("Id", "v")
    elif change == "inclusive-namespaces-in-method":
        etree.SubElement(c14n, exclusive, PrefixList="env")
    elif change == "inclusive-namespaces-in-transform":
        etree.SubElement(transforms[1], exclusive, PrefixList="env")
    elif change == "hmac-output-length":
        etree.SubElement(method, ds("HMACOutputLength")).text = "80"
    elif change == "text-in-signed-info":
        signed_info.text = "hello"
    elif change == "text-in-key-info":
        key_info.text = "hello"
    elif change == "comment-in-key-info":
        key_info.insert(0, etree.Comment("c"))
    elif change == "signature-value-not-base64":
        value.text = "!!" + (value.text or "")
    elif change == "signature-value-empty":
        value.text = None
    elif change == "element-in-signature-value":
        etree.SubElement(value, "x")
    elif change == "key-info-first":
        signature.insert(0, key_info)
    elif change == "three-transforms":
        transforms.append(copy.deepcopy(transforms[1]))
    elif change == "xml-lang-on-key-info":
        key_info.set("{http://www.w3.org/XML/1998/namespace}lang", "de")
    else:
        raise AssertionError(change)
    return root


@pytest.mark.parametrize(
    "change",
    [
        "id-on-signature",
        "id-on-signed-info",
        "id-on-reference",
        "type-on-reference",
        "id-on-signature-value",
        "inclusive-namespaces-in-method",
        "inclusive-namespaces-in-transform",
        "hmac-output-length",
        "text-in-signed-info",
        "text-in-key-info",
        "comment-in-key-info",
        "signature-value-not-base64",
        "signature-value-empty",
        "element-in-signature-value",
        "key-info-first",
        "three-transforms",
        "xml-lang-on-key-info",
    ],
)
def test_signature_outside_the_profile_is_refused(
    credential: IssuedCredential, verifier: XmlVerifier, change: str
) -> None:
    """Anything in the signature element beyond the profile's elements and attributes is
    SignatureInvalid, before any cryptography."""
    with pytest.raises(SignatureInvalid, match=r"profile|base64|empty|exactly one|not allowed"):
        verifier.verify(_with(signed(credential), change))


def test_read_signature_returns_the_parts(credential: IssuedCredential) -> None:
    """The parts of a profile signature, decoded."""
    parts = _dsig.read_signature(signature_of(parse(signed(credential))))
    assert parts.canonicalization == EXC_C14N
    assert parts.transforms == (ENVELOPED, EXC_C14N)
    assert parts.digest_method == SHA256
    assert len(parts.digest_value) == 32
    assert len(parts.signature_value) == (64 if credential.key_type is KeyType.ECDSA_P256 else 256)


def test_white_space_between_signature_elements_outside_signed_info_is_accepted(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """Line breaks in KeyInfo and in base64 values are not part of anything signed."""
    root = parse(signed(credential))
    signature = signature_of(root)
    key_info = signature.find(ds("KeyInfo"))
    assert key_info is not None
    key_info.text, key_info[0].tail = "\n  ", "\n"
    value = signature.find(ds("SignatureValue"))
    assert value is not None
    text = value.text or ""
    value.text = "\n" + "\n".join(text[i : i + 60] for i in range(0, len(text), 60)) + "\n"
    signature[1].tail = "\n"
    assert verifier.verify(parse(serialize(root))).signer.participant_id == CONSUMER


def test_text_after_the_signature_is_refused(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """Text after the signature (signed or not) is outside the profile."""
    root = parse(signed(credential))
    signature_of(root).tail = "after"
    with pytest.raises(SignatureInvalid, match="after the signature"):
        verifier.verify(root)


def test_white_space_after_the_signature_is_signed_content(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """enveloped-signature keeps the text after the signature: a line break there verifies if
    it was signed (here: signed before the signature, then moved behind it, which leaves the
    canonical form as it was), and fails the digest if it was added afterwards."""
    root = parse(signed(credential, etree.fromstring(b"<r><a/>\n</r>")))
    signature = signature_of(root)
    previous = signature.getprevious()
    assert previous is not None
    assert previous.tail == "\n"
    previous.tail, signature.tail = None, "\n"
    assert verifier.verify(parse(serialize(root))).element.tag == "r"
    added = parse(signed(credential, etree.fromstring(b"<r><a/></r>")))
    signature_of(added).tail = "\n"
    with pytest.raises(SignatureInvalid, match="digest"):
        verifier.verify(added)


@pytest.mark.parametrize("length", [63, 65, 0])
def test_ecdsa_signature_value_must_be_64_bytes(
    pki: TestPki, verifier: XmlVerifier, length: int
) -> None:
    """XMLDSig carries r || s; any other length is refused."""
    credential = pki.credential(CONSUMER, Role.CONSUMER, key_type=KeyType.ECDSA_P256)
    root = parse(signed(credential))
    value = signature_of(root).find(ds("SignatureValue"))
    assert value is not None
    value.text = base64.b64encode(bytes(length)).decode() or None
    with pytest.raises(SignatureInvalid):
        verifier.verify(root)


def test_method_must_fit_the_key(pki: TestPki, verifier: XmlVerifier) -> None:
    """ECDSA-SHA256 named for an RSA certificate (or the reverse) is refused."""
    for key_type, method in ((KeyType.RSA2048, ECDSA_SHA256), (KeyType.ECDSA_P256, RSA_SHA256)):
        credential = pki.credential(CONSUMER, Role.CONSUMER, key_type=key_type)
        root = parse(signed(credential))
        found = signature_of(root).find(f"{ds('SignedInfo')}/{ds('SignatureMethod')}")
        assert found is not None
        found.set("Algorithm", method)
        with pytest.raises(SignatureInvalid):
            verifier.verify(root)


# -- the canonical form of what was signed


def _amplifier(signature: etree._Element, tag: str, copies: int) -> bytes:
    """A document under root ``tag`` whose canonical form repeats one long namespace
    declaration on each of ``copies`` children, and ``signature`` at its end."""
    uri = "urn:" + "x" * 10_000
    root = etree.Element(tag, nsmap={"p": uri})
    for _ in range(copies):
        etree.SubElement(root, f"{{{uri}}}x")
    root.append(copy.deepcopy(signature))
    return serialize(root)


def test_canonical_form_is_bounded(credential: IssuedCredential, verifier: XmlVerifier) -> None:
    """A document of 40 KB whose canonical form would be 25 MB (a captured valid signature
    attached to it) is refused as soon as the canonical form passes the limit."""
    document = etree.Element("r")
    root = parse(signed(credential, document))
    raw = _amplifier(signature_of(root), "r", 2_500)
    assert len(raw) < 50_000
    with pytest.raises(SignatureInvalid, match="canonical form"):
        verifier.verify(parse(raw))


def test_content_is_canonicalised_only_under_a_valid_signed_info(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """With a signature value that does not verify, the (huge) content is never canonicalised:
    the refusal names the signature value."""
    root = parse(signed(credential, etree.Element("r")))
    signature = signature_of(root)
    value = signature.find(ds("SignatureValue"))
    assert value is not None
    value.text = "A" + (value.text or "")[1:]
    with pytest.raises(SignatureInvalid, match="signature value"):
        verifier.verify(parse(_amplifier(signature, "r", 2_500)))


def test_signed_content_is_the_canonical_form_parsed(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """What verify() returns is the canonical form of the document without its signature:
    comments gone, CDATA and character references resolved, its own document."""
    raw = signed(credential, etree.fromstring(b"<r><a>Erika</a></r>"))
    rewritten = raw.replace(b"<a>Erika</a>", b"<a>E<!--x-->r&#105;<![CDATA[ka]]></a>")
    root = parse(rewritten)
    result = verifier.verify(root)
    assert etree.tostring(result.element) == b"<r><a>Erika</a></r>"
    assert result.element.getroottree() is not root.getroottree()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_property_a_mangled_certificate_is_a_typed_refusal(
    data: st.DataObject, pki: TestPki, verifier: XmlVerifier
) -> None:
    """Any one byte of the signer's certificate changed: a typed refusal, never a crash
    (cryptography parses certificate fields lazily and raises ValueError, KeyError or
    InvalidVersion for hostile DER)."""
    key_type = data.draw(st.sampled_from([KeyType.RSA2048, KeyType.ECDSA_P256]))
    root = parse(signed(pki.credential(CONSUMER, Role.CONSUMER, key_type=key_type)))
    element = root.find(f".//{ds('X509Certificate')}")
    assert element is not None
    der = bytearray(base64.b64decode("".join((element.text or "").split())))
    position = data.draw(st.integers(0, len(der) - 1))
    der[position] = data.draw(st.integers(0, 255).filter(lambda b: b != der[position]))
    element.text = base64.b64encode(bytes(der)).decode()
    with pytest.raises(NootsError):
        verifier.verify(root)
