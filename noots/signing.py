"""XMLDSig for noots: enveloped signatures over the whole document, in one narrow profile.

The wire rules (docs/PROTOCOL.md, "Signature profile"): one ``ds:Signature``, the last child of
the root, with one ``Reference URI=""``, the transforms enveloped-signature + exclusive C14N, a
SHA-256 digest, RSA-SHA256 (or ECDSA-SHA256 for P-256 keys) and the signer's certificate as the
only content of ``KeyInfo/X509Data``.

:class:`XmlVerifier` enforces the policy's shape of the signature and the profile's exact
structure before any cryptography, validates the signer's certificate path first, then checks
the signature value and the digest (:mod:`noots._dsig`), and returns the canonical bytes of what
was signed, parsed by :func:`noots.xml.parse`. Callers read only that element: whatever else the
document carries is never looked at. :class:`XmlSigner` writes exactly that profile.

:class:`SignxmlVerifier` and :class:`SignxmlSigner` do the same on signxml, as before the narrow
implementation: the reference the differential tests compare with, and the baseline of
``bench/crypto.py``. Services use :class:`XmlVerifier` and :class:`XmlSigner`.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree
from signxml.algorithms import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    SignatureMethod,
)
from signxml.exceptions import InvalidDigest, SignXMLException
from signxml.signer import SignatureReference, XMLSigner
from signxml.verifier import SignatureConfiguration, XMLVerifier

from noots import _dsig
from noots.errors import SignatureInvalid, SignatureMissing, SignatureWrapping, XmlError
from noots.pki import (
    CertificateValidator,
    IssuedCredential,
    PrivateKey,
    Role,
    ValidatedCertificate,
)
from noots.xml import XmlLimits, parse

__all__ = [
    "DS_NS",
    "ECDSA_SHA256",
    "ENVELOPED",
    "EXC_C14N",
    "RSA_SHA256",
    "SHA256",
    "SignxmlSigner",
    "SignxmlVerifier",
    "VerificationPolicy",
    "VerifiedXml",
    "XmlSigner",
    "XmlVerifier",
]

DS_NS = _dsig.DS_NS
RSA_SHA256 = _dsig.RSA_SHA256
ECDSA_SHA256 = _dsig.ECDSA_SHA256
SHA256 = _dsig.SHA256
EXC_C14N = _dsig.EXC_C14N
ENVELOPED = _dsig.ENVELOPED

_SIGNATURE = f"{{{DS_NS}}}Signature"
_SIGNATURE_CHILDREN = frozenset(
    f"{{{DS_NS}}}{n}" for n in ("SignedInfo", "SignatureValue", "KeyInfo")
)

# What was signed is re-read from its canonical form, which noots produced itself from a tree
# that already passed the caller's limits (same shape, minus the signature). The byte limit is
# the one _dsig puts on canonical forms; the shape limits only keep libxml2's own.
_SIGNED_CONTENT_LIMITS = XmlLimits(
    max_bytes=_dsig.MAX_CANONICAL_BYTES,
    max_depth=256,
    max_elements=10_000_000,
    max_parse_seconds=4.0,
)


def _hardened_parser() -> etree.XMLParser:
    # signxml re-parses its own serialisations internally; give it the same hardened options
    # as noots.xml so even those copies never resolve entities or touch the network.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        collect_ids=False,
    )


_PARSERS = threading.local()


def _local_parser() -> etree.XMLParser:
    parser: etree.XMLParser | None = getattr(_PARSERS, "parser", None)
    if parser is None:  # lxml parsers must not be shared between threads
        parser = _hardened_parser()
        _PARSERS.parser = parser
    return parser


# --------------------------------------------------------------------------------------------
# Signing


class _WholeDocumentSigner(XMLSigner):
    """signxml would reference a root carrying an ``Id``/``ID`` attribute as ``#id``; the
    protocol always signs the whole document with ``URI=""``.

    signxml copies the input twice by serialising and parsing it: once for the tree that
    receives the signature, once more for the canonicalisation input of the digest. The
    second copy is taken from the first (still unchanged at that point) with lxml's deep copy,
    which keeps the re-parsed tree's namespaces exactly and costs half as much. (The first
    must stay a re-parse: an element tree built in memory can carry namespace declarations
    that only serialising makes consistent.)
    """

    _input: Any = None
    _copy: Any = None

    def get_root(self, data: Any) -> Any:
        if data is self._input and self._copy is not None:
            return copy.deepcopy(self._copy)
        base: Any = super()  # signxml's methods are untyped
        root = base.get_root(data)
        if isinstance(data, etree._Element) and root.getparent() is None:
            self._input, self._copy = data, root
        return root

    def _unpack(self, data: Any, references: Any) -> Any:
        sig_root, doc_root, c14n_inputs, _ = super()._unpack(data, references)
        return sig_root, doc_root, c14n_inputs, [SignatureReference(URI="")]


class XmlSigner:
    """Signs documents with one participant's key in the protocol's signature profile (the key
    object is reused, never re-parsed). Thread-safe."""

    def __init__(self, credential: IssuedCredential) -> None:
        self._init(credential.private_key, credential.certificate, credential.participant_id)

    @classmethod
    def from_key(cls, private_key: PrivateKey, certificate: x509.Certificate) -> XmlSigner:
        signer = cls.__new__(cls)
        signer._init(private_key, certificate, None)
        return signer

    def _init(
        self, private_key: PrivateKey, certificate: x509.Certificate, participant_id: str | None
    ) -> None:
        if isinstance(private_key, ec.EllipticCurvePrivateKey):
            if not isinstance(private_key.curve, ec.SECP256R1):
                raise ValueError(f"unsupported curve {private_key.curve.name}: only P-256")
            self.signature_method = SignatureMethod.ECDSA_SHA256
        elif isinstance(private_key, rsa.RSAPrivateKey):
            self.signature_method = SignatureMethod.RSA_SHA256
        else:
            raise TypeError(f"unsupported private key type {type(private_key).__name__}")
        if certificate.public_key() != private_key.public_key():
            raise ValueError("the certificate does not belong to the private key")
        self.private_key = private_key
        self.certificate = certificate
        self.participant_id = participant_id

    def sign(self, root: etree._Element) -> etree._Element:
        """A signed copy of ``root``: enveloped signature over the whole document, appended as
        the last child. ``root`` itself is left unchanged."""
        if root.tag == _SIGNATURE or next(root.iter(_SIGNATURE), None) is not None:
            raise ValueError("the document already carries a ds:Signature")
        # Sign what goes on the wire: a tree built in memory can carry namespace declarations
        # that only serialising makes consistent, so the digest is taken of the re-parsed copy
        # (which is also the copy the signature is appended to).
        document = etree.fromstring(etree.tostring(root, with_tail=False), _local_parser())
        _dsig.sign(document, self.private_key, self.certificate)
        return document


class SignxmlSigner(XmlSigner):
    """:class:`XmlSigner` on signxml (how noots signed before :mod:`noots._dsig`): the
    reference of the differential tests and of ``bench/crypto.py``. Same profile, same bytes
    for RSA keys."""

    def sign(self, root: etree._Element) -> etree._Element:
        if root.tag == _SIGNATURE or next(root.iter(_SIGNATURE), None) is not None:
            raise ValueError("the document already carries a ds:Signature")
        if root.tail is not None:
            # signxml serialises the element with its tail; a copy without it keeps that sane.
            root = etree.fromstring(etree.tostring(root, with_tail=False), _hardened_parser())
        # signxml keeps per-call state on the signer object: one per call is thread-safe.
        signer = _WholeDocumentSigner(
            method=SignatureConstructionMethod.enveloped,
            signature_algorithm=self.signature_method,
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        )
        signed: etree._Element = signer.sign(root, key=self.private_key, cert=[self.certificate])
        return signed


# --------------------------------------------------------------------------------------------
# Verification


def _children(element: etree._Element, name: str) -> list[etree._Element]:
    # iterchildren filters in C; ElementPath find() with a prefix map costs ~10x more per call.
    return list(element.iterchildren(f"{{{DS_NS}}}{name}"))


def _one(element: etree._Element, name: str) -> etree._Element | None:
    found = _children(element, name)
    return found[0] if len(found) == 1 else None


class _Reuse:
    """What :meth:`_WholeDocumentVerifier._tostring` hands back instead of bytes for a tree
    that verifier parsed itself: signxml only ever feeds it straight to ``_fromstring``."""

    __slots__ = ("root",)

    def __init__(self, root: etree._Element) -> None:
        self.root = root


class _WholeDocumentVerifier(XMLVerifier):
    """signxml's verifier, minus copies that protect nothing here (one instance per call).

    signxml serialises and re-parses the whole document four times per verification (the
    input, the copy the enveloped signature is cut from, that copy again before
    canonicalising, and the canonical bytes it returns as what was signed). Two of them are
    redundant for a document root that :func:`noots.xml.parse` produced:

    - the input copy: signxml only reads the input (it cuts the signature from its own copy),
      and a root has no parent whose namespaces could leak into canonicalisation;
    - the re-copy of its own private, parentless copy right before canonicalising it.

    The copy the signature is cut from and the parse of the canonical bytes (``signed_xml``,
    the only thing noots reads) stay. ``_get_cert_description`` skips formatting the subject
    DN on every call: it only labels signxml's own error messages, which noots never shows.
    """

    def __init__(self) -> None:
        super().__init__()
        self._own: list[etree._Element] = []

    def get_root(self, data: Any) -> Any:
        if isinstance(data, etree._Element) and data.getparent() is None:
            return data
        base: Any = super()  # signxml's methods are untyped
        return base.get_root(data)

    def _tostring(self, xml_node: Any, **kwargs: Any) -> Any:
        if not kwargs and any(xml_node is own for own in self._own):
            return _Reuse(xml_node)
        base: Any = super()
        return base._tostring(xml_node, **kwargs)

    def _fromstring(self, xml_string: Any, **kwargs: Any) -> Any:
        if isinstance(xml_string, _Reuse):
            return xml_string.root
        base: Any = super()
        root = base._fromstring(xml_string, **kwargs)
        self._own.append(root)
        return root

    def _get_cert_description(self, cert: Any, cert_source: str) -> str:
        return f"{cert_source} (serial={cert.serial_number})"


@dataclass(frozen=True)
class VerificationPolicy:
    """What a signature may look like. The defaults are the protocol's signature profile; a
    policy can narrow it (for example to RSA only) but not widen it: :class:`XmlVerifier`
    refuses a policy that names an algorithm the profile does not implement.

    Always enforced, whatever the policy: exactly one ``ds:Signature``, a direct child of the
    root, exactly one ``Reference`` with ``URI=""``, the signer's certificate as the only
    content of KeyInfo, and the exact structure of the profile (noots._dsig).
    """

    signature_methods: frozenset[str] = frozenset({RSA_SHA256, ECDSA_SHA256})
    digest_methods: frozenset[str] = frozenset({SHA256})
    c14n_methods: frozenset[str] = frozenset({EXC_C14N})
    transforms: tuple[str, ...] = (ENVELOPED, EXC_C14N)
    signature_last: bool = True


@dataclass(frozen=True)
class VerifiedXml:
    """What was signed (the canonical form of the document without its signature, comments
    dropped, parsed again), and who signed it. Read only ``element``."""

    element: etree._Element
    signer: ValidatedCertificate


def _read_fields(certificate: x509.Certificate) -> None:
    """Parse now every field the certificate path validation reads, so that a malformed one
    fails here, as an unreadable certificate, and not later with an untyped error."""
    for name in (
        "issuer",
        "subject",
        "extensions",
        "not_valid_before_utc",
        "not_valid_after_utc",
        "serial_number",
        "signature_hash_algorithm",
    ):
        getattr(certificate, name)


def _check_policy_is_implemented(policy: VerificationPolicy) -> None:
    """A policy can narrow the profile, never widen it: the narrow verifier has no code for
    anything else, and a policy that names more would promise what is not checked."""
    outside = sorted(
        (policy.signature_methods - _dsig.SIGNATURE_METHODS.keys())
        | (policy.digest_methods - _dsig.DIGEST_METHODS.keys())
        | (policy.c14n_methods - _dsig.CANONICALIZATIONS.keys())
    )
    transforms = policy.transforms
    if (
        len(transforms) != 2
        or transforms[0] != ENVELOPED
        or transforms[1] not in _dsig.CANONICALIZATIONS
    ):
        outside.append("transforms " + " + ".join(transforms))
    if outside:
        raise ValueError(f"the policy allows what the signature profile does not: {outside}")


class XmlVerifier:
    """Verifies signed documents against one trust anchor (through its validator) and one
    policy. Thread-safe; keep one per service so its caches pay off."""

    def __init__(
        self,
        validator: CertificateValidator,
        policy: VerificationPolicy = VerificationPolicy(),
        *,
        certificate_cache_size: int = 1024,
    ) -> None:
        _check_policy_is_implemented(policy)
        self.validator = validator
        self.policy = policy
        # Parsing a DER certificate is cheap but not free; a landscape sees few distinct ones.
        self._certificates: OrderedDict[str, tuple[x509.Certificate, Any]] = OrderedDict()
        self._cache_size = certificate_cache_size
        self._lock = threading.Lock()

    def verify(
        self,
        root: etree._Element,
        *,
        required_role: Role | frozenset[Role] | None = None,
    ) -> VerifiedXml:
        """Verify the enveloped signature of a document parsed by :func:`noots.xml.parse`.

        Raises ``SignatureMissing``, ``SignatureWrapping`` (the signature is not where and
        what the protocol says, so what it covers might not be what would be read),
        ``SignatureInvalid`` (anything outside the signature profile, no certificate, digest
        or value wrong) or a :class:`~noots.errors.CertificateError` from the signer's
        certificate path, which is validated before any signature arithmetic.
        """
        signature = self._locate_signature(root)
        self._check_shape(signature)
        parts = _dsig.read_signature(signature)
        certificate, public_key = self._load_certificate(parts.certificate)
        signer = self.validator.validate(
            certificate, required_role=required_role, at=self.validator.clock.now()
        )
        content = _dsig.verify(root, signature, parts, public_key)
        try:
            signed = parse(content, _SIGNED_CONTENT_LIMITS)
        except XmlError as exc:
            raise SignatureInvalid(f"signed content cannot be read: {exc.message}") from None
        if signed.tag != root.tag:  # URI="" covers the root; anything else is not what we read
            raise SignatureWrapping("the signed element is not the document root")
        return VerifiedXml(element=signed, signer=signer)

    @staticmethod
    def _locate_signature(root: etree._Element) -> etree._Element:
        signatures = list(root.iter(_SIGNATURE))
        if not signatures:
            raise SignatureMissing("the document carries no signature")
        if len(signatures) > 1:
            raise SignatureWrapping(f"the document carries {len(signatures)} signatures, not one")
        signature = signatures[0]
        if signature is root or signature.getparent() is not root:
            raise SignatureWrapping("the signature is not a direct child of the document root")
        return signature

    def _check_shape(self, signature: etree._Element) -> None:
        policy = self.policy
        if policy.signature_last and signature.getnext() is not None:
            raise SignatureWrapping("the signature is not the last child of the document root")
        for child in signature:
            if child.tag not in _SIGNATURE_CHILDREN:
                # ds:Object and friends could smuggle content that looks signed but is not.
                raise SignatureInvalid("unexpected content in the signature element")
        signed_info = _one(signature, "SignedInfo")
        if signed_info is None:
            raise SignatureInvalid("signature without exactly one SignedInfo")
        c14n = _one(signed_info, "CanonicalizationMethod")
        if c14n is None or c14n.get("Algorithm") not in policy.c14n_methods:
            raise SignatureInvalid("canonicalisation method not allowed")
        method = _one(signed_info, "SignatureMethod")
        if method is None or method.get("Algorithm") not in policy.signature_methods:
            raise SignatureInvalid("signature algorithm not allowed")
        references = _children(signed_info, "Reference")
        if len(references) != 1:
            raise SignatureWrapping(f"{len(references)} references, exactly one is allowed")
        reference = references[0]
        if reference.get("URI") != "":
            raise SignatureWrapping('the reference does not cover the whole document (URI="")')
        transforms = tuple(
            t.get("Algorithm") or ""
            for container in _children(reference, "Transforms")
            for t in _children(container, "Transform")
        )
        if transforms != policy.transforms:
            raise SignatureInvalid("reference transforms not allowed")
        digest = _one(reference, "DigestMethod")
        if digest is None or digest.get("Algorithm") not in policy.digest_methods:
            raise SignatureInvalid("digest algorithm not allowed")

    def _load_certificate(self, text: str) -> tuple[x509.Certificate, Any]:
        """The certificate whose base64 is ``text``, and its key (cached by the text)."""
        with self._lock:
            cached = self._certificates.get(text)
            if cached is not None:
                self._certificates.move_to_end(text)
                return cached
        try:
            der = _dsig.decode_base64(text, "the signer certificate")
            certificate = x509.load_der_x509_certificate(der)
            loaded = (certificate, certificate.public_key())
            _read_fields(certificate)
        except Exception:
            # cryptography parses a certificate's fields lazily and, for hostile DER, raises
            # ValueError, KeyError, InvalidVersion or UnsupportedAlgorithm: whatever it raises,
            # the certificate is unreadable (found by tests/noots/test_dsig_differential.py).
            raise SignatureInvalid("the signer certificate cannot be read") from None
        with self._lock:
            self._certificates[text] = loaded
            if len(self._certificates) > self._cache_size:
                self._certificates.popitem(last=False)
        return loaded


class SignxmlVerifier(XmlVerifier):
    """:class:`XmlVerifier` with signxml in place of the narrow verifier (how noots verified
    before :mod:`noots._dsig`): the same policy checks and certificate path validation, then
    signxml's verification. The reference of the differential tests and the baseline of
    ``bench/crypto.py``; it does not enforce the profile's exact structure (KeyInfo extras,
    attributes, comments in the signature), which is what the narrow verifier adds."""

    def __init__(
        self,
        validator: CertificateValidator,
        policy: VerificationPolicy = VerificationPolicy(),
        *,
        certificate_cache_size: int = 1024,
    ) -> None:
        super().__init__(validator, policy, certificate_cache_size=certificate_cache_size)
        self._config_base = SignatureConfiguration(
            require_x509=True,
            location="./",
            expect_references=1,
            signature_methods=frozenset(SignatureMethod(m) for m in policy.signature_methods),
            digest_algorithms=frozenset(DigestAlgorithm(d) for d in policy.digest_methods),
        )
        self._local = threading.local()

    def verify(
        self,
        root: etree._Element,
        *,
        required_role: Role | frozenset[Role] | None = None,
    ) -> VerifiedXml:
        signature = self._locate_signature(root)
        self._check_shape(signature)
        certificate = self._certificate(signature)
        now = self.validator.clock.now()
        signer = self.validator.validate(certificate, required_role=required_role, at=now)
        config = replace(self._config_base, verification_time=now)
        try:
            result = _WholeDocumentVerifier().verify(
                root,
                x509_cert=certificate,
                parser=self._parser(),
                expect_config=config,
            )
        except InvalidDigest:
            raise SignatureInvalid("signed content was changed (digest mismatch)") from None
        except (SignXMLException, etree.LxmlError, ValueError) as exc:
            # LxmlError covers DocumentInvalid and C14NError (a relative namespace URI makes
            # canonicalisation itself fail): an untyped error here would crash the receiver.
            raise SignatureInvalid(f"signature does not verify: {type(exc).__name__}") from None
        if isinstance(result, list) or result.signed_xml is None:
            raise SignatureInvalid("signature does not cover one XML document")
        signed = result.signed_xml
        if signed.tag != root.tag:
            raise SignatureWrapping("the signed element is not the document root")
        return VerifiedXml(element=signed, signer=signer)

    def _parser(self) -> etree.XMLParser:
        parser: etree.XMLParser | None = getattr(self._local, "parser", None)
        if parser is None:  # lxml parsers must not be shared between threads
            parser = _hardened_parser()
            self._local.parser = parser
        return parser

    def _certificate(self, signature: etree._Element) -> x509.Certificate:
        found = [
            cert
            for key_info in _children(signature, "KeyInfo")
            for data in _children(key_info, "X509Data")
            for cert in _children(data, "X509Certificate")
        ]
        if len(found) != 1:
            raise SignatureInvalid("the signature must carry exactly one signer certificate")
        return self._load_certificate(found[0].text or "")[0]
