"""noots.signing: enveloped XMLDSig signing and the strict verifier (wrapping, algorithms, PKI)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.signer import XMLSigner
from signxml.verifier import XMLVerifier

from noots.errors import (
    CertificateExpired,
    CertificateRevoked,
    CertificateUntrusted,
    SignatureInvalid,
    SignatureMissing,
    SignatureWrapping,
    WrongKeyUsage,
)
from noots.pki import IssuedCredential, KeyType, Role
from noots.signing import (
    DS_NS,
    ECDSA_SHA256,
    ENVELOPED,
    EXC_C14N,
    RSA_SHA256,
    SHA256,
    VerificationPolicy,
    XmlSigner,
    XmlVerifier,
)
from noots.testing.pki import TestPki, sample_envelope
from noots.xml import parse, serialize

CONSUMER = "08118079-BPA-87"
PROVIDER = "991-01234ZFZR-41"
ENV = "urn:noots:transport:1"
NS = {"ds": DS_NS, "env": ENV}


@pytest.fixture(scope="module")
def pki() -> Iterator[TestPki]:
    with TestPki() as pki:
        yield pki


@pytest.fixture(scope="module")
def verifier(pki: TestPki) -> XmlVerifier:
    return pki.verifier()


@pytest.fixture(scope="module", params=[KeyType.RSA2048, KeyType.ECDSA_P256])
def credential(request: pytest.FixtureRequest, pki: TestPki) -> IssuedCredential:
    return pki.credential(CONSUMER, Role.CONSUMER, key_type=request.param)


def _signed_bytes(credential: IssuedCredential, document: etree._Element | None = None) -> bytes:
    return serialize(
        XmlSigner(credential).sign(document if document is not None else sample_envelope())
    )


def _c14n(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False)


class _LegacySigner(XMLSigner):
    """signxml refuses to create SHA-1 signatures; an attacker's tool would not."""

    def check_deprecated_methods(self) -> None:
        pass


def _foreign_sign(
    document: etree._Element,
    credential: IssuedCredential,
    *,
    algorithm: SignatureMethod = SignatureMethod.RSA_SHA256,
    digest: DigestAlgorithm = DigestAlgorithm.SHA256,
    c14n: CanonicalizationMethod = CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    reference_uri: str | None = None,
) -> etree._Element:
    signer = _LegacySigner(
        signature_algorithm=algorithm, digest_algorithm=digest, c14n_algorithm=c14n
    )
    signed: etree._Element = signer.sign(
        document,
        key=credential.private_key,
        cert=[credential.certificate],
        reference_uri=reference_uri,
    )
    return signed


# -- the shape of a noots signature


def test_signature_shape_follows_the_protocol(credential: IssuedCredential) -> None:
    """One enveloped Signature, last child, URI="", enveloped + exc-c14n, SHA-256, certificate."""
    root = parse(_signed_bytes(credential))
    signatures = root.findall(".//ds:Signature", NS)
    assert len(signatures) == 1
    assert root[-1] is signatures[0]
    signed_info = signatures[0].find("ds:SignedInfo", NS)
    assert signed_info is not None
    assert signed_info.find("ds:CanonicalizationMethod", NS).get("Algorithm") == EXC_C14N
    expected_method = ECDSA_SHA256 if credential.key_type is KeyType.ECDSA_P256 else RSA_SHA256
    assert signed_info.find("ds:SignatureMethod", NS).get("Algorithm") == expected_method
    (reference,) = signed_info.findall("ds:Reference", NS)
    assert reference.get("URI") == ""
    transforms = [t.get("Algorithm") for t in reference.findall("ds:Transforms/ds:Transform", NS)]
    assert transforms == [ENVELOPED, EXC_C14N]
    assert reference.find("ds:DigestMethod", NS).get("Algorithm") == SHA256
    (cert_element,) = signatures[0].findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS)
    assert "".join(cert_element.text.split()) in credential.certificate.public_bytes(
        Encoding.PEM
    ).decode().replace("\n", "")


def test_round_trip_returns_the_signed_document_and_signer(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """A signed envelope verifies after serialisation; the result is the unsigned document."""
    original = sample_envelope()
    result = verifier.verify(
        parse(_signed_bytes(credential, original)), required_role=Role.CONSUMER
    )
    assert _c14n(result.element) == _c14n(original)
    assert result.element.find(".//ds:Signature", NS) is None
    assert result.signer.participant_id == CONSUMER
    assert result.signer.role is Role.CONSUMER


def test_sign_leaves_the_input_unchanged(credential: IssuedCredential) -> None:
    """sign() returns a signed copy and does not modify the element it was given."""
    document = sample_envelope()
    before = _c14n(document)
    signed = XmlSigner(credential).sign(document)
    assert _c14n(document) == before
    assert signed is not document


def test_root_with_id_attribute_is_still_signed_whole(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """A root carrying an Id attribute is still referenced with URI="" (the whole document)."""
    document = etree.fromstring(b'<r Id="abc" ID="def"><a>1</a></r>')
    signed = XmlSigner(credential).sign(document)
    assert signed.find("ds:Signature/ds:SignedInfo/ds:Reference", NS).get("URI") == ""
    assert verifier.verify(parse(serialize(signed))).element.get("Id") == "abc"


def test_signing_an_element_with_a_tail_or_parent(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """Signing a sub-element (which has a tail text) signs just that element."""
    outer = etree.fromstring(b"<outer><inner>x</inner>tail text</outer>")
    signed = XmlSigner(credential).sign(outer[0])
    assert verifier.verify(parse(serialize(signed))).element.tag == "inner"


def test_signing_twice_is_refused(credential: IssuedCredential) -> None:
    """A document that already carries a ds:Signature is not signed again."""
    signed = XmlSigner(credential).sign(sample_envelope())
    with pytest.raises(ValueError, match="already"):
        XmlSigner(credential).sign(signed)


def test_from_key_refuses_a_certificate_of_another_key(
    pki: TestPki, credential: IssuedCredential
) -> None:
    """XmlSigner.from_key checks that certificate and key belong together."""
    other = pki.credential(PROVIDER, Role.PROVIDER)
    with pytest.raises(ValueError, match="does not belong"):
        XmlSigner.from_key(credential.private_key, other.certificate)
    signer = XmlSigner.from_key(credential.private_key, credential.certificate)
    assert signer.sign(sample_envelope()).find("ds:Signature", NS) is not None


def test_only_the_returned_element_is_signed_content(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """Comments are outside exclusive C14N: the returned element has them excised, text intact."""
    document = etree.fromstring(b"<r><name>Erika</name></r>")
    raw = _signed_bytes(credential, document).replace(b"<name>Erika", b"<name>Eri<!-- x -->ka")
    received = parse(raw)
    assert received.find("name").text == "Eri"  # what a naive reader of the input would see
    result = verifier.verify(received)
    assert result.element.find("name").text == "Erika"


# -- signature wrapping and tampering


def test_unsigned_document_is_signature_missing(verifier: XmlVerifier) -> None:
    """A document without any signature raises SignatureMissing."""
    with pytest.raises(SignatureMissing):
        verifier.verify(parse(serialize(sample_envelope())))


def test_removed_signature_is_signature_missing(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """Removing the signature from a signed document raises SignatureMissing."""
    root = parse(_signed_bytes(credential))
    root.remove(root.find("ds:Signature", NS))
    with pytest.raises(SignatureMissing):
        verifier.verify(root)


def test_one_changed_character_is_signature_invalid(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """Changing one character of signed content breaks the digest."""
    raw = _signed_bytes(credential)
    tampered = raw.replace(
        b"<env:Purpose>Bewohnerparkausweis", b"<env:Purpose>Bewohnerparkausweiz", 1
    )
    assert tampered != raw
    with pytest.raises(SignatureInvalid, match="digest"):
        verifier.verify(parse(tampered))


def test_second_body_added_before_signature_is_invalid(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """A sibling inserted among the signed children changes the digest."""
    root = parse(_signed_bytes(credential))
    forged = etree.Element(f"{{{ENV}}}Body")
    forged.text = "forged"
    root.insert(len(root) - 1, forged)
    with pytest.raises(SignatureInvalid):
        verifier.verify(root)


def test_sibling_added_after_signature_is_wrapping(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """A second body appended after the signature is refused (the signature must be last)."""
    root = parse(_signed_bytes(credential))
    etree.SubElement(root, f"{{{ENV}}}Body").text = "forged"
    with pytest.raises(SignatureWrapping, match="last child"):
        verifier.verify(root)


def test_signed_document_moved_under_wrapper_is_wrapping(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """The signed envelope moved into a wrapper of a forged envelope is refused (nested)."""
    original = parse(_signed_bytes(credential))
    forged = sample_envelope()
    forged.find("env:Header/env:Sender", NS).text = "attacker"
    wrapper = etree.SubElement(forged.find("env:Header", NS), f"{{{ENV}}}Extension")
    wrapper.append(original)
    with pytest.raises(SignatureWrapping, match="direct child"):
        verifier.verify(parse(serialize(forged)))


def test_signed_body_moved_to_wrapper_with_forged_body_in_place(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """Moving the signed body into a wrapper and putting a forged body in its place fails."""
    root = parse(_signed_bytes(credential))
    body = root.find("env:Body", NS)
    index = root.index(body)
    wrapper = etree.Element(f"{{{ENV}}}Wrapper")
    root.replace(body, wrapper)
    wrapper.append(body)
    forged = etree.Element(f"{{{ENV}}}Body")
    forged.text = "forged request"
    root.insert(index, forged)
    with pytest.raises(SignatureInvalid):
        verifier.verify(parse(serialize(root)))


def test_reference_to_an_id_is_wrapping(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """A Reference to an Id (not "") is refused, although signxml itself accepts it."""
    document = sample_envelope()
    document.find("env:Body", NS).set("Id", "body")
    signed = _foreign_sign(
        document, credential, reference_uri="#body", algorithm=_method(credential)
    )
    XMLVerifier().verify(
        signed, x509_cert=credential.certificate, expect_config=_lenient(credential)
    )
    with pytest.raises(SignatureWrapping, match='URI=""'):
        verifier.verify(parse(serialize(signed)))


def test_signature_over_header_only_is_wrapping(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """A valid signature over the header alone does not vouch for the body: refused."""
    document = sample_envelope()
    document.find("env:Header", NS).set("Id", "hdr")
    signed = _foreign_sign(document, credential, reference_uri="hdr", algorithm=_method(credential))
    result = XMLVerifier().verify(
        signed, x509_cert=credential.certificate, expect_config=_lenient(credential)
    )
    assert result.signed_xml.tag == f"{{{ENV}}}Header"  # signxml: valid, but over the header only
    signed.find("env:Body", NS).append(etree.Element("forged"))
    with pytest.raises(SignatureWrapping):
        verifier.verify(parse(serialize(signed)))


def test_two_signatures_are_wrapping(credential: IssuedCredential, verifier: XmlVerifier) -> None:
    """A second ds:Signature anywhere in the document is refused."""
    root = parse(_signed_bytes(credential))
    root.find("env:Header", NS).append(copy.deepcopy(root.find("ds:Signature", NS)))
    with pytest.raises(SignatureWrapping, match="2 signatures"):
        verifier.verify(root)


def test_signature_nested_below_the_root_is_wrapping(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """A signature that is not a direct child of the root is refused, even if it is valid."""
    body = sample_envelope().find("env:Body", NS)
    signed_body = XmlSigner(credential).sign(body)  # enveloped over the body only
    envelope = sample_envelope()
    envelope.replace(envelope.find("env:Body", NS), signed_body)
    with pytest.raises(SignatureWrapping, match="direct child"):
        verifier.verify(parse(serialize(envelope)))


def test_signature_as_root_is_wrapping(credential: IssuedCredential, verifier: XmlVerifier) -> None:
    """An enveloping signature (ds:Signature as the document root) is refused."""
    signature = parse(_signed_bytes(credential)).find("ds:Signature", NS)
    with pytest.raises(SignatureWrapping):
        verifier.verify(parse(etree.tostring(signature)))


def test_object_inside_signature_is_refused(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """A ds:Object (or comment) smuggled into the Signature element is refused."""
    root = parse(_signed_bytes(credential))
    obj = etree.SubElement(root.find("ds:Signature", NS), f"{{{DS_NS}}}Object")
    obj.append(sample_envelope())
    with pytest.raises(SignatureInvalid, match="unexpected content"):
        verifier.verify(parse(serialize(root)))


# -- algorithms


def _method(credential: IssuedCredential) -> SignatureMethod:
    if credential.key_type is KeyType.ECDSA_P256:
        return SignatureMethod.ECDSA_SHA256
    return SignatureMethod.RSA_SHA256


def _lenient(credential: IssuedCredential):  # type: ignore[no-untyped-def]
    from signxml.verifier import SignatureConfiguration

    return SignatureConfiguration(
        location=".//",
        signature_methods=frozenset(SignatureMethod),
        digest_algorithms=frozenset(DigestAlgorithm),
        verification_time=credential.certificate.not_valid_before_utc + timedelta(minutes=1),
    )


@pytest.mark.parametrize(
    ("rsa_method", "ec_method"),
    [
        (SignatureMethod.RSA_SHA1, SignatureMethod.ECDSA_SHA1),
        (SignatureMethod.RSA_SHA512, SignatureMethod.ECDSA_SHA512),
        (SignatureMethod.SHA256_RSA_MGF1, SignatureMethod.ECDSA_SHA384),
    ],
)
def test_disallowed_signature_algorithms_are_refused(
    credential: IssuedCredential,
    verifier: XmlVerifier,
    rsa_method: SignatureMethod,
    ec_method: SignatureMethod,
) -> None:
    """SHA-1 and other algorithms outside the policy are refused, though the signature is valid."""
    method = ec_method if credential.key_type is KeyType.ECDSA_P256 else rsa_method
    signed = _foreign_sign(sample_envelope(), credential, algorithm=method)
    with pytest.raises(SignatureInvalid, match="algorithm not allowed"):
        verifier.verify(parse(serialize(signed)))


def test_sha1_digest_is_refused(credential: IssuedCredential, verifier: XmlVerifier) -> None:
    """A SHA-1 reference digest is refused."""
    signed = _foreign_sign(
        sample_envelope(), credential, algorithm=_method(credential), digest=DigestAlgorithm.SHA1
    )
    with pytest.raises(SignatureInvalid, match="digest algorithm"):
        verifier.verify(parse(serialize(signed)))


def test_inclusive_canonicalisation_is_refused(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """A signature using C14N 1.1 instead of exclusive C14N is refused."""
    signed = _foreign_sign(
        sample_envelope(),
        credential,
        algorithm=_method(credential),
        c14n=CanonicalizationMethod.CANONICAL_XML_1_1,
    )
    with pytest.raises(SignatureInvalid, match="canonicalisation"):
        verifier.verify(parse(serialize(signed)))


def test_extra_transform_is_refused(credential: IssuedCredential, verifier: XmlVerifier) -> None:
    """A reference with transforms other than enveloped + exc-c14n is refused."""
    root = parse(_signed_bytes(credential))
    transforms = root.find("ds:Signature/ds:SignedInfo/ds:Reference/ds:Transforms", NS)
    etree.SubElement(
        transforms,
        f"{{{DS_NS}}}Transform",
        Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116",
    )
    with pytest.raises(SignatureInvalid, match="transforms"):
        verifier.verify(root)


def test_policy_can_be_narrowed(pki: TestPki, credential: IssuedCredential) -> None:
    """A verifier with an RSA-only policy refuses ECDSA signatures (and accepts RSA ones)."""
    rsa_only = XmlVerifier(
        pki.validator(), VerificationPolicy(signature_methods=frozenset({RSA_SHA256}))
    )
    root = parse(_signed_bytes(credential))
    if credential.key_type is KeyType.ECDSA_P256:
        with pytest.raises(SignatureInvalid, match="algorithm"):
            rsa_only.verify(root)
    else:
        assert rsa_only.verify(root).signer.participant_id == CONSUMER


# -- key info and the signer's certificate


def test_substituted_certificate_is_signature_invalid(
    pki: TestPki, credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """Another valid participant's certificate in KeyInfo does not verify the signature."""
    other = pki.credential(PROVIDER, Role.PROVIDER, key_type=credential.key_type)
    root = parse(_signed_bytes(credential))
    element = root.find("ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS)
    element.text = "".join(other.certificate.public_bytes(Encoding.PEM).decode().splitlines()[1:-1])
    with pytest.raises(SignatureInvalid):
        verifier.verify(root)


def test_missing_or_duplicate_certificate_is_refused(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """The signature must carry exactly one signer certificate."""
    root = parse(_signed_bytes(credential))
    x509_data = root.find("ds:Signature/ds:KeyInfo/ds:X509Data", NS)
    x509_data.append(copy.deepcopy(x509_data[0]))
    with pytest.raises(SignatureInvalid, match="exactly one"):
        verifier.verify(root)
    root.find("ds:Signature", NS).remove(root.find("ds:Signature/ds:KeyInfo", NS))
    with pytest.raises(SignatureInvalid, match="exactly one"):
        verifier.verify(root)


def test_garbage_certificate_is_signature_invalid(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """An unreadable X509Certificate is SignatureInvalid, not a crash."""
    root = parse(_signed_bytes(credential))
    root.find(
        "ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS
    ).text = "bm90IGEgY2VydA=="
    with pytest.raises(SignatureInvalid, match="cannot be read"):
        verifier.verify(root)


def test_untrusted_ca_is_refused(credential: IssuedCredential, verifier: XmlVerifier) -> None:
    """A document signed under another CA raises CertificateUntrusted."""
    with TestPki(root_key_type=KeyType.ECDSA_P256) as other:
        foreign = other.credential(CONSUMER, Role.CONSUMER, key_type=credential.key_type)
        raw = _signed_bytes(foreign)
    with pytest.raises(CertificateUntrusted):
        verifier.verify(parse(raw))


def test_revoked_participant_is_refused() -> None:
    """A document signed by a participant revoked afterwards raises CertificateRevoked."""
    with TestPki() as pki:
        raw = serialize(pki.signer(CONSUMER, Role.CONSUMER).sign(sample_envelope()))
        verifier = pki.verifier()
        verifier.verify(parse(raw))
        pki.revoke(CONSUMER)
        with pytest.raises(CertificateRevoked):
            verifier.verify(parse(raw))


def test_expired_signer_is_refused() -> None:
    """A document verified after the signer's certificate expired raises CertificateExpired."""
    with TestPki(key_type=KeyType.ECDSA_P256) as pki:
        raw = serialize(pki.signer(CONSUMER, Role.CONSUMER).sign(sample_envelope()))
        pki.clock.advance(timedelta(days=366))
        with pytest.raises(CertificateExpired):
            pki.verifier().verify(parse(raw))


def test_wrong_role_is_refused(credential: IssuedCredential, verifier: XmlVerifier) -> None:
    """A consumer's signature where a provider's is required raises WrongKeyUsage."""
    with pytest.raises(WrongKeyUsage):
        verifier.verify(parse(_signed_bytes(credential)), required_role=Role.PROVIDER)


def test_certificate_is_checked_before_the_signature(verifier: XmlVerifier) -> None:
    """An untrusted certificate is reported even when the signature is also broken."""
    with TestPki(root_key_type=KeyType.ECDSA_P256, key_type=KeyType.ECDSA_P256) as other:
        raw = serialize(other.signer(CONSUMER).sign(sample_envelope()))
    tampered = raw.replace(b"Bewohnerparkausweis", b"Bewohnerparkausweiz", 1)
    with pytest.raises(CertificateUntrusted):
        verifier.verify(parse(tampered))


# -- properties

_NAMES = st.sampled_from(["a", "b", "Nachweis", "x-y", "z.1", "{urn:a}n", "{urn:noots:b}Body"])
_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    max_size=30,
)


@st.composite
def _trees(draw: st.DrawFn, depth: int = 0) -> etree._Element:
    element = etree.Element(draw(_NAMES))
    for name in draw(st.lists(_NAMES, max_size=3, unique=True)):
        element.set(name, draw(_TEXT))
    element.text = draw(_TEXT) or None
    if depth < 3:
        for child in draw(st.lists(_trees(depth + 1), max_size=3)):
            child.tail = draw(_TEXT) or None
            element.append(child)
    return element


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tree=_trees())
def test_property_sign_then_verify_round_trips(
    tree: etree._Element, credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """Any element tree signed with RSA or ECDSA verifies and comes back with equal content."""
    result = verifier.verify(parse(serialize(XmlSigner(credential).sign(tree))))
    # Compared with the tree as it goes over the wire: lxml may rename generated prefixes.
    assert _c14n(result.element) == _c14n(parse(serialize(tree)))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.text(
        alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789 ", min_size=1, max_size=40
    ),
    data=st.data(),
)
def test_property_any_single_byte_change_in_text_fails(
    text: str, data: st.DataObject, credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """Changing any single byte of signed text content makes verification fail."""
    document = etree.fromstring(b"<doc><before>x</before><t/><after>y</after></doc>")
    document.find("t").text = text
    raw = _signed_bytes(credential, document)
    start = raw.index(b"<t>") + 3
    position = start + data.draw(st.integers(0, len(text) - 1))
    replacement = data.draw(st.sampled_from(b"abcXYZ019-_").filter(lambda b: b != raw[position]))
    tampered = raw[:position] + bytes([replacement]) + raw[position + 1 :]
    with pytest.raises(SignatureInvalid):
        verifier.verify(parse(tampered))


def test_verifier_is_usable_from_threads(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """One verifier serves concurrent verifications (per-thread parsers, per-call signxml state)."""
    from concurrent.futures import ThreadPoolExecutor

    raws = [
        _signed_bytes(credential, etree.fromstring(f"<d><n>{i}</n></d>".encode())) for i in range(8)
    ]
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(lambda raw: verifier.verify(parse(raw)).element.findtext("n"), raws * 3)
        )
    assert results == [str(i) for i in range(8)] * 3


def test_certificate_from_keyinfo_is_parsed_once(
    credential: IssuedCredential, verifier: XmlVerifier
) -> None:
    """The signer certificate of repeated messages is taken from the verifier's cache."""
    first = verifier.verify(parse(_signed_bytes(credential))).signer.certificate
    second = verifier.verify(parse(_signed_bytes(credential))).signer.certificate
    assert first is second
    assert isinstance(first, x509.Certificate)
