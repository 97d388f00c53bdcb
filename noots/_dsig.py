"""XMLDSig for exactly one signature profile: the narrow signer and verifier behind noots.signing.

noots signs every message the same way (docs/PROTOCOL.md, "Signature profile"): one enveloped
``ds:Signature``, the last child of the root, one ``Reference URI=""`` with the transforms
enveloped-signature then exclusive C14N 1.0 without comments, SHA-256, RSA-SHA256 (PKCS#1 v1.5)
or ECDSA-SHA256 on P-256 (raw ``r || s``), exclusive C14N of ``SignedInfo``, and a ``KeyInfo``
that holds one ``X509Data`` with one ``X509Certificate``.

General libraries (signxml, xmlsec) implement all of XMLDSig and leave it to the caller to
narrow them down; this module implements the profile and nothing else, so anything outside it
is refused by construction rather than by a list of exclusions. It uses lxml's exclusive C14N
and ``cryptography`` directly and copies the document once (signxml serialises and re-parses it
four times): verification costs about two thirds of signxml's, signing about half to two
thirds (docs/PERFORMANCE.md, "XMLDSig").

Verification is split in two so that :mod:`noots.signing` can validate the signer's
certificate in between:

- :func:`read_signature` checks the structure of the ``ds:Signature`` element against the
  profile, element by element, and returns its parts (no cryptography);
- :func:`verify` checks the signature value over ``SignedInfo``, then the digest of the
  document with the signature cut out, and returns the canonical bytes of what was signed.
  Callers parse those bytes and read nothing else.

The tables :data:`CANONICALIZATIONS`, :data:`DIGEST_METHODS` and :data:`SIGNATURE_METHODS` are
the profile's algorithms; tests widen them on purpose to show that the attack kit notices a
weaker verifier (tests/noots/testing/test_signature_attacks.py).
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from lxml import etree

from noots.errors import SignatureInvalid
from noots.xml import DEFAULT_LIMITS

__all__ = [
    "CANONICALIZATIONS",
    "DIGEST_METHODS",
    "DS_NS",
    "ECDSA_SHA256",
    "ENVELOPED",
    "EXC_C14N",
    "MAX_CANONICAL_BYTES",
    "RSA_SHA256",
    "SHA256",
    "SIGNATURE_METHODS",
    "Canonicalization",
    "SignatureParts",
    "decode_base64",
    "read_signature",
    "sign",
    "verify",
]

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"

#: The canonical form of the signed content may be at most this long. Exclusive C14N repeats a
#: namespace declaration on every element that uses the prefix below an element that does not,
#: so 200 KB of XML (one long namespace URI, a few thousand sibling elements) canonicalise to
#: 400 MB. Four times the largest document noots accepts leaves honest documents (whose
#: canonical form is about as long as they are) far below the limit.
MAX_CANONICAL_BYTES = 4 * DEFAULT_LIMITS.max_bytes

_XML_WHITE_SPACE = " \t\r\n"
_WHITE_SPACE_RUN = re.compile(r"[ \t\r\n]+")

PublicKey = Any  # what x509.Certificate.public_key() returns (a union of key classes)


class SignatureCheck(Protocol):
    """Checks ``signature_value`` over ``data`` with the signer's key (SignatureInvalid if not)."""

    def __call__(self, public_key: PublicKey, signature_value: bytes, data: bytes) -> None: ...


@dataclass(frozen=True)
class Canonicalization:
    exclusive: bool
    with_comments: bool


def _ds(local: str) -> str:
    return f"{{{DS_NS}}}{local}"


def _verify_rsa_sha256(public_key: PublicKey, signature_value: bytes, data: bytes) -> None:
    if not isinstance(public_key, rsa.RSAPublicKey) or public_key.key_size < 2048:
        raise SignatureInvalid("RSA-SHA256 needs an RSA key of at least 2048 bits")
    try:
        public_key.verify(signature_value, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise SignatureInvalid("signature value does not verify") from None


def _verify_ecdsa_sha256(public_key: PublicKey, signature_value: bytes, data: bytes) -> None:
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
        public_key.curve, ec.SECP256R1
    ):
        raise SignatureInvalid("ECDSA-SHA256 needs a P-256 key")
    # XMLDSig carries r || s as two 32-byte big-endian integers, not DER (RFC 4050, 6931).
    if len(signature_value) != 64:
        raise SignatureInvalid("an ECDSA P-256 signature value is 64 bytes")
    r = int.from_bytes(signature_value[:32], "big")
    s = int.from_bytes(signature_value[32:], "big")
    try:
        public_key.verify(utils.encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise SignatureInvalid("signature value does not verify") from None


# The profile's algorithms (see the module docstring on why they are tables).
CANONICALIZATIONS: Mapping[str, Canonicalization] = {
    EXC_C14N: Canonicalization(exclusive=True, with_comments=False)
}
DIGEST_METHODS: Mapping[str, Callable[[], Any]] = {SHA256: hashlib.sha256}
SIGNATURE_METHODS: Mapping[str, SignatureCheck] = {
    RSA_SHA256: _verify_rsa_sha256,
    ECDSA_SHA256: _verify_ecdsa_sha256,
}


# --------------------------------------------------------------------------------------------
# Reading the signature element


@dataclass(frozen=True)
class SignatureParts:
    """What a ``ds:Signature`` of the profile says, checked for shape but not yet verified."""

    signed_info: etree._Element
    canonicalization: str
    signature_method: str
    transforms: tuple[str, ...]
    digest_method: str
    digest_value: bytes
    signature_value: bytes
    #: the text of X509Certificate: base64 of the DER certificate (not yet decoded)
    certificate: str


def _local(element: etree._Element) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else "a comment"


def _exactly(
    element: etree._Element, children: list[str], attributes: list[str] | None = None
) -> list[etree._Element]:
    """The children of ``element``, which must be exactly the elements ``children`` (full
    tags) in this order (no comment either), with only white space between them, and exactly
    the attributes ``attributes`` (in this order)."""
    if element.keys() != (attributes or []):
        raise SignatureInvalid(
            f"{_local(element)} carries attributes outside the signature profile"
        )
    nodes = list(element)
    if [node.tag for node in nodes] != children:
        expected = ", ".join(etree.QName(c).localname for c in children) or "no element"
        raise SignatureInvalid(
            f"{_local(element)} must contain exactly {expected} (signature profile)"
        )
    text = element.text
    if text and text.strip(_XML_WHITE_SPACE):
        raise SignatureInvalid(f"{_local(element)} contains text outside the signature profile")
    for node in nodes:
        text = node.tail
        if text and text.strip(_XML_WHITE_SPACE):
            raise SignatureInvalid(f"{_local(element)} contains text outside the signature profile")
    return nodes


def _algorithm(element: etree._Element) -> str:
    _exactly(element, [], _ALGORITHM)
    return element.get("Algorithm") or ""


def _text(element: etree._Element) -> str:
    """The text of a value element, which has nothing but text."""
    if element.attrib or len(element):
        raise SignatureInvalid(f"{_local(element)} must hold base64 text only")
    return element.text or ""


def decode_base64(text: str, what: str) -> bytes:
    """Strict base64 with XML white space anywhere (schema type base64Binary): other
    characters, missing padding or nothing at all are :class:`SignatureInvalid`."""
    compact = _WHITE_SPACE_RUN.sub("", text)
    try:
        value = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureInvalid(f"{what} is not base64") from None
    if not value:
        raise SignatureInvalid(f"{what} is empty")
    return value


_SIGNATURE_PARTS = [_ds("SignedInfo"), _ds("SignatureValue"), _ds("KeyInfo")]
_SIGNED_INFO_PARTS = [_ds("CanonicalizationMethod"), _ds("SignatureMethod"), _ds("Reference")]
_REFERENCE_PARTS = [_ds("Transforms"), _ds("DigestMethod"), _ds("DigestValue")]
_TWO_TRANSFORMS = [_ds("Transform"), _ds("Transform")]
_KEY_INFO_PARTS = [_ds("X509Data")]
_X509_DATA_PARTS = [_ds("X509Certificate")]
_ALGORITHM = ["Algorithm"]
_URI = ["URI"]
_ONE_CERTIFICATE = (
    "the signature must carry exactly one signer certificate "
    "(KeyInfo/X509Data/X509Certificate and nothing else)"
)


def _read_key_info(key_info: etree._Element) -> str:
    """The text of the one certificate of ``KeyInfo``: one X509Data with one X509Certificate,
    nothing else (no KeyValue, no X509IssuerSerial, no second certificate, no RetrievalMethod,
    no KeyName)."""
    try:
        (x509_data,) = _exactly(key_info, _KEY_INFO_PARTS)
        (certificate,) = _exactly(x509_data, _X509_DATA_PARTS)
        return _text(certificate)
    except SignatureInvalid:
        raise SignatureInvalid(_ONE_CERTIFICATE) from None


def _read_transforms(transforms: etree._Element) -> tuple[str, ...]:
    """The algorithms of the profile's two transforms (no XPath, stylesheet or
    InclusiveNamespaces inside them; which algorithms, is :func:`verify`'s question)."""
    return tuple(_algorithm(transform) for transform in _exactly(transforms, _TWO_TRANSFORMS))


def read_signature(signature: etree._Element) -> SignatureParts:
    """The parts of a ``ds:Signature`` whose structure is exactly the profile's, or
    :class:`SignatureInvalid` naming the first element that is not."""
    if len(list(signature.iterchildren(_ds("KeyInfo")))) != 1:
        raise SignatureInvalid(_ONE_CERTIFICATE)
    signed_info, signature_value, key_info = _exactly(signature, _SIGNATURE_PARTS)
    c14n, method, reference = _exactly(signed_info, _SIGNED_INFO_PARTS)
    transforms, digest_method, digest_value = _exactly(reference, _REFERENCE_PARTS, _URI)
    return SignatureParts(
        signed_info=signed_info,
        canonicalization=_algorithm(c14n),
        signature_method=_algorithm(method),
        transforms=_read_transforms(transforms),
        digest_method=_algorithm(digest_method),
        digest_value=decode_base64(_text(digest_value), "DigestValue"),
        signature_value=decode_base64(_text(signature_value), "SignatureValue"),
        certificate=_read_key_info(key_info),
    )


# --------------------------------------------------------------------------------------------
# Verifying


class _TooLarge(Exception):
    pass


class _DigestingWriter:
    """Receives the canonical form from libxml2 in chunks: hashes it, keeps it, and stops the
    canonicalisation as soon as it grows past :data:`MAX_CANONICAL_BYTES`."""

    __slots__ = ("chunks", "hash", "size")

    def __init__(self, hash_object: Any) -> None:
        self.hash = hash_object
        self.chunks: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > MAX_CANONICAL_BYTES:
            raise _TooLarge
        self.hash.update(data)
        self.chunks.append(data)


def _reference_canonicalization(transforms: tuple[str, ...]) -> Canonicalization:
    """The profile's transforms are enveloped-signature, then one canonicalisation."""
    if len(transforms) != 2 or transforms[0] != ENVELOPED or transforms[1] not in CANONICALIZATIONS:
        raise SignatureInvalid("reference transforms outside the signature profile")
    return CANONICALIZATIONS[transforms[1]]


def _cut_out(signature: etree._Element) -> None:
    """The enveloped-signature transform: remove the element, keep the text that followed it."""
    parent = signature.getparent()
    assert parent is not None
    tail = signature.tail
    if tail:
        previous = signature.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(signature)


def _signed_content(
    root: etree._Element,
    signature: etree._Element,
    canonicalization: Canonicalization,
    hash_factory: Callable[[], Any],
) -> tuple[bytes, bytes]:
    """The canonical bytes of ``root`` without ``signature`` (URI="" + enveloped + C14N) and
    their digest. Works on a copy: the caller's tree is never modified, not even briefly."""
    position = root.index(signature)
    document = copy.deepcopy(root)
    document.tail = None
    _cut_out(document[position])
    writer = _DigestingWriter(hash_factory())
    tree: Any = document.getroottree()  # lxml-stubs lack write_c14n's keyword arguments
    try:
        tree.write_c14n(
            writer,
            exclusive=canonicalization.exclusive,
            with_comments=canonicalization.with_comments,
        )
    except _TooLarge:
        raise SignatureInvalid(
            f"the canonical form of the signed content exceeds {MAX_CANONICAL_BYTES} bytes"
        ) from None
    except etree.LxmlError as exc:  # C14NError: a relative namespace URI, for example
        raise SignatureInvalid(f"signed content cannot be canonicalised: {exc}") from None
    return b"".join(writer.chunks), writer.hash.digest()


def _canonical(element: etree._Element, canonicalization: Canonicalization) -> bytes:
    try:
        return etree.tostring(
            element,
            method="c14n",
            exclusive=canonicalization.exclusive,
            with_comments=canonicalization.with_comments,
        )
    except etree.LxmlError as exc:
        raise SignatureInvalid(f"SignedInfo cannot be canonicalised: {exc}") from None


def verify(
    root: etree._Element,
    signature: etree._Element,
    parts: SignatureParts,
    public_key: PublicKey,
) -> bytes:
    """Verify ``parts`` (read from ``signature``, a direct child of ``root``) with the signer's
    ``public_key``; the canonical bytes of what was signed, or :class:`SignatureInvalid`.

    The signature value is checked first (over canonical ``SignedInfo``, a few hundred bytes),
    then the digest of the document, whose canonical form is only computed for a SignedInfo
    that the key holder really signed.
    """
    if signature.getparent() is not root:
        raise SignatureInvalid("the signature is not a child of the signed document")
    if signature.tail and signature.tail.strip(_XML_WHITE_SPACE):
        raise SignatureInvalid("text after the signature (signature profile)")
    signed_info_c14n = CANONICALIZATIONS.get(parts.canonicalization)
    check = SIGNATURE_METHODS.get(parts.signature_method)
    hash_factory = DIGEST_METHODS.get(parts.digest_method)
    if signed_info_c14n is None:
        raise SignatureInvalid("canonicalisation method outside the signature profile")
    if check is None:
        raise SignatureInvalid("signature algorithm outside the signature profile")
    if hash_factory is None:
        raise SignatureInvalid("digest algorithm outside the signature profile")
    content_c14n = _reference_canonicalization(parts.transforms)
    check(public_key, parts.signature_value, _canonical(parts.signed_info, signed_info_c14n))
    content, digest = _signed_content(root, signature, content_c14n, hash_factory)
    if not hmac.compare_digest(digest, parts.digest_value):
        raise SignatureInvalid("signed content was changed (digest mismatch)")
    return content


# --------------------------------------------------------------------------------------------
# Signing


def _pem_body(certificate: x509.Certificate) -> str:
    """The certificate as base64 in lines of 64 characters, each ending in a newline (what
    signxml writes, so both signers produce the same bytes)."""
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
    lines = pem.strip().splitlines()
    return "\n".join(lines[1:-1]) + "\n"


def sign(
    document: etree._Element,
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    certificate: x509.Certificate,
) -> None:
    """Append the profile's enveloped signature to ``document`` (a parentless root, parsed from
    the bytes that will be sent), with ``private_key`` and its ``certificate`` in KeyInfo.

    The elements are built in the order and with the namespace declarations signxml uses, so
    an RSA signature (deterministic) is byte for byte what signxml would produce.
    """
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise ValueError("ECDSA signatures of the profile use P-256")
        method = ECDSA_SHA256
    elif isinstance(private_key, rsa.RSAPrivateKey):
        method = RSA_SHA256
    else:
        raise TypeError(f"unsupported private key type {type(private_key).__name__}")
    content = etree.tostring(document, method="c14n", exclusive=True, with_comments=False)
    digest = hashlib.sha256(content).digest()
    namespaces = {"ds": DS_NS}
    signature = etree.Element(_ds("Signature"), nsmap=namespaces)
    document.append(signature)
    signed_info = etree.SubElement(signature, _ds("SignedInfo"), nsmap=namespaces)
    etree.SubElement(signed_info, _ds("CanonicalizationMethod"), Algorithm=EXC_C14N)
    etree.SubElement(signed_info, _ds("SignatureMethod"), Algorithm=method)
    reference = etree.SubElement(signed_info, _ds("Reference"), URI="")
    transforms = etree.SubElement(reference, _ds("Transforms"))
    etree.SubElement(transforms, _ds("Transform"), Algorithm=ENVELOPED)
    etree.SubElement(transforms, _ds("Transform"), Algorithm=EXC_C14N)
    etree.SubElement(reference, _ds("DigestMethod"), Algorithm=SHA256)
    etree.SubElement(reference, _ds("DigestValue")).text = base64.b64encode(digest).decode()
    signature_value = etree.SubElement(signature, _ds("SignatureValue"))
    x509_data = etree.SubElement(etree.SubElement(signature, _ds("KeyInfo")), _ds("X509Data"))
    etree.SubElement(x509_data, _ds("X509Certificate")).text = _pem_body(certificate)
    signed_info_c14n = etree.tostring(
        signed_info, method="c14n", exclusive=True, with_comments=False
    )
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        r, s = utils.decode_dss_signature(
            private_key.sign(signed_info_c14n, ec.ECDSA(hashes.SHA256()))
        )
        value = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        value = private_key.sign(signed_info_c14n, padding.PKCS1v15(), hashes.SHA256())
    signature_value.text = base64.b64encode(value).decode()
