"""Signature attacks: hostile variants of one valid signed document, each with the outcome a
correct receiver must produce.

The generators take a :class:`SignatureAttackKit` (a valid signed document as it travels, the
credential that signed it, a second valid participant, the trust anchor and, optionally, the
CA's key) and yield :class:`SignatureAttack` objects: the bytes an attacker would send, the
class of the attack and the typed errors a correct receiver refuses it with. They work on any
document signed in the noots profile; :func:`signed_samples` makes one of each kind (transport
envelope, VS token, eID identity token) with the reader of its receiver::

    for sample in signed_samples(pki, KeyType.ECDSA_P256):
        original = sample.read(sample.raw)
        for attack in signature_attacks(sample.kit(pki, other_credential)):
            problem = attack.judge(attempt(sample.read, attack.raw), original)
            assert problem is None, f"{sample.kind} {attack.name}: {problem}"

The classes (:class:`AttackClass`):

- **KeyInfo and chain tricks**: two certificates (the signer's and another participant's; a
  trusted one and the attacker's self-signed one whose key signed), two X509Data, a KeyValue
  (the attacker's key or the signer's own) beside or instead of the certificate, an
  X509IssuerSerial, a KeyName, a RetrievalMethod, no KeyInfo, the root CA as signer, a
  participant certificate used as a CA for a certificate in another participant's name, a
  self-made CA with the same name (and key identifier) as the noots root, a self-signed
  certificate with a forged role (OU), another participant's certificate under a valid
  signature. Refused with a certificate error or ``SignatureInvalid``.
- **Algorithm downgrades**: documents *correctly* signed by the signer's own key with a SHA-1
  digest, RSA-SHA1 / ECDSA-SHA1, RSA-SHA512, RSA-PSS, HMAC-SHA256 keyed with the certificate's
  public key (the classic confusion of a public key with a shared secret), comment-preserving
  or inclusive C14N (as the SignedInfo method or the reference transform), an XPath filter or
  XSLT transform (the digest computed as a verifier that skips unknown transforms computes
  it), missing transforms. Refused with ``SignatureInvalid``: the profile allows none of it,
  although a general verifier would accept several.
- **Harmless rewrites**: changes that leave the canonical form, and so the signature, intact:
  a comment in the middle of a text node (the SAML comment truncation attack: a reader that
  looks at the received tree sees the text up to the comment), character references, CDATA
  sections, unused and redundant namespace declarations, attribute order and quoting, white
  space inside tags, expanded empty elements, another XML declaration, comments inside the
  signature. A correct receiver accepts them with exactly the content of the original (it
  reads only the canonical signed bytes) or refuses them; it never reads them differently.
- **Re-encodings**: the valid document in UTF-16 (both byte orders), UTF-32, ISO-8859-1 and
  Windows-1252, declared or given away by a byte-order mark. Refused with an ``XmlError``
  (noots accepts UTF-8 only).

:func:`forge` (the attacker's signer) writes any of these signatures with ``cryptography``
and lxml alone, independently of the code under test.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Generic, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.x509.oid import NameOID
from lxml import etree

from noots.eid import IdentityToken, issue_identity, verify_identity
from noots.envelope import EnvelopeHeader, open_envelope, seal
from noots.errors import (
    CertificateUntrusted,
    NootsError,
    SignatureInvalid,
    WrongKeyUsage,
    XmlError,
)
from noots.pki import IssuedCredential, KeyType, PrivateKey, Role, participant_id_of, role_of
from noots.signing import XmlSigner, XmlVerifier
from noots.testing.pki import TestPki, sample_envelope
from noots.tokens import AuthorisationToken, TokenRequest, issue_token, verify_token
from noots.xml import parse, serialize

__all__ = [
    "C14N_1_0",
    "C14N_1_1",
    "DS_NS",
    "ECDSA_SHA1",
    "ECDSA_SHA256",
    "ENVELOPED",
    "EXC_C14N",
    "EXC_C14N_WITH_COMMENTS",
    "HMAC_SHA256",
    "RSA_PSS_SHA256",
    "RSA_SHA1",
    "RSA_SHA256",
    "RSA_SHA512",
    "SHA1",
    "SHA256",
    "SHA512",
    "XPATH",
    "XSLT",
    "AttackClass",
    "Outcome",
    "SignatureAttack",
    "SignatureAttackKit",
    "SignedSample",
    "algorithm_downgrades",
    "attempt",
    "forge",
    "harmless_rewrites",
    "keyinfo_and_chain_attacks",
    "re_encodings",
    "signature_attacks",
    "signed_samples",
    "unsigned",
]

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
DSIG11_NS = "http://www.w3.org/2009/xmldsig11#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
EXC_C14N_WITH_COMMENTS = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
C14N_1_0 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_1_0_WITH_COMMENTS = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
C14N_1_1 = "http://www.w3.org/2006/12/xml-c14n11"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
XPATH = "http://www.w3.org/TR/1999/REC-xpath-19991116"
XSLT = "http://www.w3.org/TR/1999/REC-xslt-19991116"
BASE64 = "http://www.w3.org/2000/09/xmldsig#base64"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
RSA_PSS_SHA256 = "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1"
ECDSA_SHA1 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
HMAC_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"

_SIGNATURE = f"{{{DS_NS}}}Signature"

# (exclusive, with comments) of each canonicalisation an attacker may name.
_CANONICALIZATIONS: dict[str, tuple[bool, bool]] = {
    EXC_C14N: (True, False),
    EXC_C14N_WITH_COMMENTS: (True, True),
    C14N_1_0: (False, False),
    C14N_1_0_WITH_COMMENTS: (False, True),
    # C14N 1.1 differs from 1.0 only for xml:id and xml:base, which these documents lack.
    C14N_1_1: (False, False),
}
_DIGESTS: dict[str, Callable[[bytes], bytes]] = {
    SHA1: lambda data: hashlib.sha1(data, usedforsecurity=False).digest(),
    SHA256: lambda data: hashlib.sha256(data).digest(),
    SHA512: lambda data: hashlib.sha512(data).digest(),
}
_HASHES: dict[str, hashes.HashAlgorithm] = {
    # SHA-1 is the point of the downgrade attacks that name it.
    RSA_SHA1: hashes.SHA1(),  # noqa: S303
    RSA_SHA256: hashes.SHA256(),
    RSA_SHA512: hashes.SHA512(),
    RSA_PSS_SHA256: hashes.SHA256(),
    ECDSA_SHA1: hashes.SHA1(),  # noqa: S303
    ECDSA_SHA256: hashes.SHA256(),
    HMAC_SHA256: hashes.SHA256(),
}


def _ds(local: str) -> str:
    return f"{{{DS_NS}}}{local}"


# --------------------------------------------------------------------------------------------
# The attacker's signer


@dataclass(frozen=True)
class Transform:
    """A ``ds:Transform``: its algorithm and, for XPath and XSLT, its content."""

    algorithm: str
    content: etree._Element | str | None = None


def unsigned(raw: bytes) -> etree._Element:
    """The document of ``raw`` with its ``ds:Signature`` taken out (a fresh tree)."""
    root = parse(raw)
    for signature in list(root.iter(_SIGNATURE)):
        parent = signature.getparent()
        assert parent is not None
        parent.remove(signature)
    return root


def x509_data(*certificates: x509.Certificate) -> etree._Element:
    """``ds:X509Data`` with one ``X509Certificate`` per certificate."""
    data = etree.Element(_ds("X509Data"))
    for certificate in certificates:
        der = certificate.public_bytes(serialization.Encoding.DER)
        etree.SubElement(data, _ds("X509Certificate")).text = base64.b64encode(der).decode()
    return data


def key_value(public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> etree._Element:
    """``ds:KeyValue`` of an RSA or EC public key."""
    value = etree.Element(_ds("KeyValue"))
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        rsa_value = etree.SubElement(value, _ds("RSAKeyValue"))
        for local, number in (("Modulus", numbers.n), ("Exponent", numbers.e)):
            raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
            etree.SubElement(rsa_value, _ds(local)).text = base64.b64encode(raw).decode()
        return value
    ec_value = etree.SubElement(value, f"{{{DSIG11_NS}}}ECKeyValue", nsmap={"dsig11": DSIG11_NS})
    etree.SubElement(ec_value, f"{{{DSIG11_NS}}}NamedCurve", URI="urn:oid:1.2.840.10045.3.1.7")
    point = public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    etree.SubElement(ec_value, f"{{{DSIG11_NS}}}PublicKey").text = base64.b64encode(point).decode()
    return value


def issuer_serial(certificate: x509.Certificate) -> etree._Element:
    """``ds:X509IssuerSerial`` naming ``certificate``."""
    element = etree.Element(_ds("X509IssuerSerial"))
    etree.SubElement(element, _ds("X509IssuerName")).text = certificate.issuer.rfc4514_string()
    etree.SubElement(element, _ds("X509SerialNumber")).text = str(certificate.serial_number)
    return element


def _canonical(element: etree._Element, algorithm: str) -> bytes:
    exclusive, with_comments = _CANONICALIZATIONS[algorithm]
    return etree.tostring(element, method="c14n", exclusive=exclusive, with_comments=with_comments)


def _content_canonicalization(transforms: Sequence[Transform]) -> str:
    """How a verifier that skips transforms it does not know canonicalises the reference: with
    the last canonicalisation among the transforms, or C14N 1.0 (signxml's default) if none."""
    named = [t.algorithm for t in transforms if t.algorithm in _CANONICALIZATIONS]
    return named[-1] if named else C14N_1_0


def _signature_value(key: PrivateKey | bytes, method: str, data: bytes) -> bytes:
    algorithm = _HASHES[method]
    if method == HMAC_SHA256:
        if not isinstance(key, bytes):
            raise TypeError("HMAC needs a byte string as its key")
        return hmac.new(key, data, hashlib.sha256).digest()
    if isinstance(key, rsa.RSAPrivateKey):
        if method == RSA_PSS_SHA256:
            pss = padding.PSS(mgf=padding.MGF1(algorithm), salt_length=algorithm.digest_size)
            return key.sign(data, pss, algorithm)
        return key.sign(data, padding.PKCS1v15(), algorithm)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = utils.decode_dss_signature(key.sign(data, ec.ECDSA(algorithm)))
        size = (key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    raise TypeError(f"cannot sign with {type(key).__name__}")


def default_method(key: PrivateKey) -> str:
    return ECDSA_SHA256 if isinstance(key, ec.EllipticCurvePrivateKey) else RSA_SHA256


def forge(
    document: etree._Element,
    key: PrivateKey | bytes,
    *,
    key_info: Sequence[etree._Element] | None,
    signature_method: str | None = None,
    canonicalization: str = EXC_C14N,
    transforms: Sequence[Transform] = (Transform(ENVELOPED), Transform(EXC_C14N)),
    digest_method: str = SHA256,
) -> bytes:
    """``document`` (unsigned; not modified) with an enveloped signature by ``key`` in any of
    the shapes above, serialised. ``key_info`` are the children of ``ds:KeyInfo`` (None: no
    KeyInfo). The digest is what a verifier that applies enveloped-signature and the last
    canonicalisation among ``transforms`` (and skips the rest) computes; for the profile's
    transforms that is exactly the protocol's digest."""
    root = copy.deepcopy(document)
    if signature_method is None and isinstance(key, bytes):
        raise TypeError("an HMAC key needs an explicit signature_method")
    method = signature_method or default_method(key)  # type: ignore[arg-type]
    content = _canonical(root, _content_canonicalization(transforms))
    digest = _DIGESTS[digest_method](content)
    signature = etree.SubElement(root, _ds("Signature"), nsmap={"ds": DS_NS})
    signed_info = etree.SubElement(signature, _ds("SignedInfo"))
    etree.SubElement(signed_info, _ds("CanonicalizationMethod"), Algorithm=canonicalization)
    etree.SubElement(signed_info, _ds("SignatureMethod"), Algorithm=method)
    reference = etree.SubElement(signed_info, _ds("Reference"), URI="")
    if transforms:
        transforms_element = etree.SubElement(reference, _ds("Transforms"))
        for transform in transforms:
            element = etree.SubElement(
                transforms_element, _ds("Transform"), Algorithm=transform.algorithm
            )
            if isinstance(transform.content, str):
                etree.SubElement(element, _ds("XPath")).text = transform.content
            elif transform.content is not None:
                element.append(copy.deepcopy(transform.content))
    etree.SubElement(reference, _ds("DigestMethod"), Algorithm=digest_method)
    etree.SubElement(reference, _ds("DigestValue")).text = base64.b64encode(digest).decode()
    value = etree.SubElement(signature, _ds("SignatureValue"))
    if key_info is not None:
        holder = etree.SubElement(signature, _ds("KeyInfo"))
        for child in key_info:
            holder.append(copy.deepcopy(child))
    value.text = base64.b64encode(
        _signature_value(key, method, _canonical(signed_info, canonicalization))
    ).decode()
    return serialize(root)


# --------------------------------------------------------------------------------------------
# Attacks and their judgement


class AttackClass(StrEnum):
    KEY_INFO = "keyinfo-and-chain"
    ALGORITHM = "algorithm-downgrade"
    REWRITE = "harmless-rewrite"
    ENCODING = "re-encoding"


T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a receiver did with a document: the content it read, or the error it raised."""

    content: T | None = None
    error: BaseException | None = None


def attempt(read: Callable[[bytes], T], raw: bytes) -> Outcome[T]:
    """Run ``read`` (the receiver: parse, verify, read) on ``raw`` and record what happened.
    Only exceptions are caught; a receiver that stalls stalls the caller."""
    try:
        return Outcome(content=read(raw))
    except Exception as exc:  # a test harness records every failure, typed or not
        return Outcome(error=exc)


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error and the errors it was explicitly raised from (``raise ... from``)."""
    seen: BaseException | None = error
    while seen is not None:
        yield seen
        seen = seen.__cause__


@dataclass(frozen=True)
class SignatureAttack:
    """One hostile document. ``refused_with`` empty means a harmless rewrite: accepted with the
    original's content, or refused with any typed error, but never read differently."""

    name: str
    attack_class: AttackClass
    description: str
    raw: bytes = field(repr=False)
    refused_with: tuple[type[NootsError], ...] = ()

    @property
    def harmless(self) -> bool:
        return not self.refused_with

    def judge(self, outcome: Outcome[Any], original: object) -> str | None:
        """None if the receiver did what this attack expects, else what went wrong.

        A refusal counts when the error, or an error it was raised from (the token and
        identity readers wrap signature errors in their own class), is one of
        ``refused_with``; every refusal must be a :class:`~noots.errors.NootsError`."""
        error = outcome.error
        if error is not None:
            if not isinstance(error, NootsError):
                return f"refused with an untyped {type(error).__name__}: {error}"
            if self.harmless or any(isinstance(e, self.refused_with) for e in _causes(error)):
                return None
            wanted = " or ".join(t.__name__ for t in self.refused_with)
            found = " <- ".join(type(e).__name__ for e in _causes(error))
            return f"refused with {found}, expected {wanted}"
        if self.harmless:
            return None if outcome.content == original else "accepted and read differently"
        return "accepted"


@dataclass(frozen=True)
class SignatureAttackKit:
    """What the generators build attacks from.

    ``document`` is a valid signed document (as it travels); ``signer`` the credential that
    signed it (algorithm downgrades are signed with it: a participant's own key under weak
    algorithms is what a lax verifier would accept); ``other`` another valid participant of
    the same landscape; ``trust_anchor`` the root certificate; ``root_key`` the CA's key, for
    the attack with the root as signer (skipped without it).
    """

    document: bytes
    signer: IssuedCredential
    other: IssuedCredential
    trust_anchor: x509.Certificate
    root_key: PrivateKey | None = None

    @property
    def content(self) -> etree._Element:
        return unsigned(self.document)

    def sign(self, key: PrivateKey | bytes | None = None, **options: Any) -> bytes:
        """The document re-signed (:func:`forge`); by default with the signer's key, its
        certificate as the only KeyInfo and the profile's algorithms."""
        options.setdefault("key_info", [x509_data(self.signer.certificate)])
        return forge(self.content, key if key is not None else self.signer.private_key, **options)


def signature_attacks(kit: SignatureAttackKit) -> Iterator[SignatureAttack]:
    """Every attack of every class."""
    yield from keyinfo_and_chain_attacks(kit)
    yield from algorithm_downgrades(kit)
    yield from harmless_rewrites(kit)
    yield from re_encodings(kit)


# --------------------------------------------------------------------------------------------
# Signed documents to attack


@dataclass(frozen=True)
class SignedSample:
    """A valid signed document of one kind, who signed it, and its reader: the receiver's
    function that turns bytes into what it acts on (raising a typed error if it will not)."""

    kind: str
    raw: bytes = field(repr=False)
    signer: IssuedCredential
    read: Callable[[bytes], object] = field(repr=False)

    def kit(self, pki: TestPki, other: IssuedCredential) -> SignatureAttackKit:
        root_key = serialization.load_pem_private_key(pki.ca.root_key_path.read_bytes(), None)
        assert isinstance(root_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
        return SignatureAttackKit(
            document=self.raw,
            signer=self.signer,
            other=other,
            trust_anchor=pki.ca.trust_anchor,
            root_key=root_key,
        )


def _opened(raw: bytes, verifier: XmlVerifier) -> tuple[object, ...]:
    """What a receiver of an envelope acts on: header, canonical body, signer."""
    opened = open_envelope(raw, verifier)
    body = etree.tostring(opened.body, method="c14n", exclusive=True)
    return opened.header, body, opened.signer.participant_id


def signed_samples(
    pki: TestPki, key_type: KeyType, verifier: XmlVerifier | None = None
) -> list[SignedSample]:
    """A transport envelope (with the official example 0101 as its body, when ../shared is
    there), a VS token and an eID identity token, signed in ``pki`` with ``key_type`` keys
    at its clock, each with the reader of its receiver: :func:`~noots.envelope.open_envelope`,
    :func:`~noots.tokens.verify_token`, :func:`~noots.eid.verify_identity` (with ``verifier``,
    by default ``pki.verifier()``)."""
    verifier = verifier or pki.verifier()
    clock = pki.clock
    now = clock.now()
    consumer = pki.credential("08118079-BPA-87", Role.CONSUMER, key_type=key_type)
    provider = pki.credential("991-01234ZFZR-41", Role.PROVIDER, key_type=key_type)
    vs = pki.credential("noots-vs", Role.VS, key_type=key_type)
    eid = pki.credential("noots-eid", Role.EID, key_type=key_type)
    header = EnvelopeHeader(
        message_id=uuid.UUID("9b0b0f5e-6d0a-4c1e-9f3b-2f1d8c6a7e01"),
        sender=consumer.participant_id,
        recipient=provider.participant_id,
        service_id=f"urn:noots:service:{provider.participant_id}:Fahrzeughalterauskunft",
        created=now,
        purpose="Bewohnerparkausweis",
    )
    body = sample_envelope()[1][0]  # the 0101 (or its stand-in) of the sample envelope
    envelope = seal(header, body, XmlSigner(consumer))
    token = AuthorisationToken.grant(
        TokenRequest(
            consumer=consumer.participant_id,
            provider=provider.participant_id,
            evidence_type=(
                "https://sr.oots.tech.ec.europa.eu/evidencetypeclassifications/ec/"
                "d830ee7b-b480-43f0-bbde-4a0da769deeb"
            ),
            purpose="Bewohnerparkausweis",
            legal_basis="§ 45 Abs. 1b StVO",
            uses_idnr=True,
            request_hash="61752633dcbe2f50845807598924affa28400d7d55dff0d38e7885d1c0de7305",
        ),
        issuer=vs.participant_id,
        clock=clock,
    )
    identity = IdentityToken(
        idnr="02476291358",
        given_name="Erika",
        family_name="Mustermann",
        date_of_birth=date(1964, 8, 12),
        level="hoch",
        issued_at=now,
        expires_at=now + timedelta(minutes=30),
    )
    bearer = issue_identity(identity, XmlSigner(eid))

    def read_token(raw: bytes) -> object:
        return verify_token(base64.b64encode(raw).decode("ascii"), verifier, clock=clock)

    def read_identity(raw: bytes) -> object:
        text = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
        return verify_identity(text, verifier, clock=clock)

    return [
        SignedSample("envelope", envelope, consumer, lambda raw: _opened(raw, verifier)),
        SignedSample(
            "vs-token", base64.b64decode(issue_token(token, XmlSigner(vs))), vs, read_token
        ),
        SignedSample(
            "identity-token",
            base64.urlsafe_b64decode(bearer + "=" * (-len(bearer) % 4)),
            eid,
            read_identity,
        ),
    ]


# --------------------------------------------------------------------------------------------
# KeyInfo and chain tricks


def _attacker_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _certificate(
    *,
    subject: x509.Name,
    issuer: x509.Name,
    public_key: Any,
    issuer_key: PrivateKey,
    template: x509.Certificate,
    ca: bool = False,
    authority_key_id: bytes | None = None,
) -> x509.Certificate:
    """A certificate valid when ``template`` is, shaped like a noots participant's (or CA's)."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(template.not_valid_before_utc - timedelta(days=1))
        .not_valid_after(template.not_valid_after_utc)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if authority_key_id is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier(authority_key_id, None, None), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _participant_name(participant_id: str, role: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role),
            x509.NameAttribute(NameOID.COMMON_NAME, participant_id),
        ]
    )


def keyinfo_and_chain_attacks(kit: SignatureAttackKit) -> Iterator[SignatureAttack]:
    """KeyInfo with more (or other) than the one signer certificate, and certificates that do
    not lead to the trust anchor although they look as if they did."""
    signer = kit.signer.certificate
    participant = participant_id_of(signer)
    role = role_of(signer).value
    organisation = signer.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    victim_name = _participant_name(participant, role, str(organisation))
    attacker = _attacker_key()
    self_signed = _certificate(
        subject=victim_name,
        issuer=victim_name,
        public_key=attacker.public_key(),
        issuer_key=attacker,
        template=signer,
    )

    def attack(
        name: str, description: str, raw: bytes, *errors: type[NootsError]
    ) -> SignatureAttack:
        return SignatureAttack(
            name, AttackClass.KEY_INFO, description, raw, errors or (SignatureInvalid,)
        )

    yield attack(
        "two-certificates-signer-first",
        "X509Data holds the signer's certificate, then another participant's",
        kit.sign(key_info=[x509_data(signer, kit.other.certificate)]),
    )
    yield attack(
        "two-certificates-trusted-first",
        "a trusted certificate first, then the attacker's self-signed one whose key signed",
        kit.sign(attacker, key_info=[x509_data(signer, self_signed)]),
    )
    yield attack(
        "two-x509data",
        "two X509Data elements, the signer's certificate in the second",
        kit.sign(key_info=[x509_data(kit.other.certificate), x509_data(signer)]),
    )
    yield attack(
        "key-value-of-attacker",
        "the attacker's KeyValue (whose key signed) beside the signer's certificate",
        kit.sign(attacker, key_info=[key_value(attacker.public_key()), x509_data(signer)]),
    )
    yield attack(
        "key-value-only",
        "only a KeyValue: a bare key that no certificate vouches for",
        kit.sign(attacker, key_info=[key_value(attacker.public_key())]),
    )
    yield attack(
        "key-value-of-signer",
        "the signer's own KeyValue beside its certificate (ambiguous KeyInfo)",
        kit.sign(key_info=[key_value(signer.public_key()), x509_data(signer)]),  # type: ignore[arg-type]
    )
    with_serial = x509_data(signer)
    with_serial.insert(0, issuer_serial(signer))
    yield attack(
        "issuer-serial-and-certificate",
        "X509IssuerSerial beside the certificate",
        kit.sign(key_info=[with_serial]),
    )
    serial_only = etree.Element(_ds("X509Data"))
    serial_only.append(issuer_serial(signer))
    yield attack(
        "issuer-serial-only",
        "only X509IssuerSerial: the verifier would have to look the certificate up",
        kit.sign(key_info=[serial_only]),
    )
    key_name = etree.Element(_ds("KeyName"))
    key_name.text = kit.other.participant_id
    yield attack(
        "key-name",
        "a KeyName naming another participant beside the certificate",
        kit.sign(key_info=[key_name, x509_data(signer)]),
    )
    retrieval = etree.Element(_ds("RetrievalMethod"), URI="file:///etc/passwd")
    yield attack(
        "retrieval-method",
        "a RetrievalMethod pointing at a local file, beside the certificate",
        kit.sign(key_info=[retrieval, x509_data(signer)]),
    )
    yield attack(
        "no-key-info",
        "no KeyInfo at all",
        kit.sign(key_info=None),
    )
    yield attack(
        "certificate-of-another-participant",
        "a valid signature, but another valid participant's certificate in KeyInfo",
        kit.sign(key_info=[x509_data(kit.other.certificate)]),
        SignatureInvalid,
        WrongKeyUsage,  # when the other participant lacks the role the receiver requires
    )
    if kit.root_key is not None:
        yield attack(
            "root-as-signer",
            "signed with the root CA's key, the root certificate in KeyInfo",
            kit.sign(kit.root_key, key_info=[x509_data(kit.trust_anchor)]),
            WrongKeyUsage,
            CertificateUntrusted,
        )
    yield attack(
        "root-certificate-in-key-info",
        "the root certificate in KeyInfo, signed by the participant's key",
        kit.sign(key_info=[x509_data(kit.trust_anchor)]),
        WrongKeyUsage,
        CertificateUntrusted,
        SignatureInvalid,
    )
    # A participant (kit.other) issues a certificate in the signer's name with its own key.
    issued_by_participant = _certificate(
        subject=victim_name,
        issuer=kit.other.certificate.subject,
        public_key=attacker.public_key(),
        issuer_key=kit.other.private_key,
        template=signer,
        authority_key_id=kit.other.certificate.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier
        ).value.digest,
    )
    yield attack(
        "participant-as-ca",
        "a certificate in the signer's name issued by another participant's key",
        kit.sign(attacker, key_info=[x509_data(issued_by_participant)]),
        CertificateUntrusted,
    )
    yield attack(
        "participant-as-ca-with-chain",
        "the same, with the issuing participant's certificate as a chain",
        kit.sign(attacker, key_info=[x509_data(issued_by_participant, kit.other.certificate)]),
        SignatureInvalid,
        CertificateUntrusted,
    )
    # A self-made CA with the noots root's name (and key identifier) issues a certificate.
    fake_root_key = _attacker_key()
    root_key_id = kit.trust_anchor.extensions.get_extension_for_class(
        x509.SubjectKeyIdentifier
    ).value.digest
    spoofed = _certificate(
        subject=victim_name,
        issuer=kit.trust_anchor.subject,
        public_key=attacker.public_key(),
        issuer_key=fake_root_key,
        template=signer,
        authority_key_id=root_key_id,
    )
    yield attack(
        "issuer-dn-spoofing",
        "a certificate in the signer's name from a self-made CA named like the noots root",
        kit.sign(attacker, key_info=[x509_data(spoofed)]),
        CertificateUntrusted,
    )
    forged_role = _participant_name(participant, "vs" if role != "vs" else "eid", str(organisation))
    yield attack(
        "forged-role",
        "a self-signed certificate with the signer's name and a forged role (OU)",
        kit.sign(
            attacker,
            key_info=[
                x509_data(
                    _certificate(
                        subject=forged_role,
                        issuer=forged_role,
                        public_key=attacker.public_key(),
                        issuer_key=attacker,
                        template=signer,
                    )
                )
            ],
        ),
        CertificateUntrusted,
    )
    yield attack(
        "self-signed-in-signers-name",
        "a self-signed certificate with exactly the signer's name and role",
        kit.sign(attacker, key_info=[x509_data(self_signed)]),
        CertificateUntrusted,
    )


# --------------------------------------------------------------------------------------------
# Algorithm downgrades

_XSLT_IDENTITY = etree.fromstring(
    b'<xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0">'
    b'<xsl:template match="@*|node()"><xsl:copy><xsl:apply-templates select="@*|node()"/>'
    b"</xsl:copy></xsl:template></xsl:stylesheet>"
)
_NOT_SIGNATURE = "not(ancestor-or-self::ds:Signature)"


def algorithm_downgrades(kit: SignatureAttackKit) -> Iterator[SignatureAttack]:
    """The document correctly signed by the signer's own key with algorithms and transforms
    outside the profile (a lax verifier would accept them)."""
    is_rsa = isinstance(kit.signer.private_key, rsa.RSAPrivateKey)
    public_key = kit.signer.certificate.public_key()

    def attack(name: str, description: str, raw: bytes) -> SignatureAttack:
        return SignatureAttack(name, AttackClass.ALGORITHM, description, raw, (SignatureInvalid,))

    yield attack("sha1-digest", "a SHA-1 reference digest", kit.sign(digest_method=SHA1))
    yield attack("sha512-digest", "a SHA-512 reference digest", kit.sign(digest_method=SHA512))
    if is_rsa:
        yield attack("rsa-sha1", "RSA-SHA1 signature", kit.sign(signature_method=RSA_SHA1))
        yield attack("rsa-sha512", "RSA-SHA512 signature", kit.sign(signature_method=RSA_SHA512))
        yield attack(
            "rsa-pss", "RSA-PSS (SHA-256, MGF1)", kit.sign(signature_method=RSA_PSS_SHA256)
        )
    else:
        yield attack("ecdsa-sha1", "ECDSA-SHA1 signature", kit.sign(signature_method=ECDSA_SHA1))
    for name, encoding in (
        ("pem", serialization.Encoding.PEM),
        ("der", serialization.Encoding.DER),
    ):
        secret = public_key.public_bytes(encoding, serialization.PublicFormat.SubjectPublicKeyInfo)
        yield attack(
            f"hmac-with-public-key-{name}",
            f"HMAC-SHA256 keyed with the certificate's public key ({name.upper()})",
            kit.sign(secret, signature_method=HMAC_SHA256),
        )
    certificate_pem = kit.signer.certificate.public_bytes(serialization.Encoding.PEM)
    yield attack(
        "hmac-with-certificate-pem",
        "HMAC-SHA256 keyed with the certificate itself (PEM)",
        kit.sign(certificate_pem, signature_method=HMAC_SHA256),
    )
    for c14n_name, c14n in (
        ("exc-c14n-with-comments", EXC_C14N_WITH_COMMENTS),
        ("inclusive-c14n", C14N_1_0),
        ("c14n-1.1", C14N_1_1),
    ):
        yield attack(
            f"{c14n_name}-signedinfo",
            f"SignedInfo canonicalised with {c14n}",
            kit.sign(canonicalization=c14n),
        )
        yield attack(
            f"{c14n_name}-transform",
            f"the reference canonicalised with {c14n}",
            kit.sign(transforms=(Transform(ENVELOPED), Transform(c14n))),
        )
    yield attack(
        "xpath-instead-of-enveloped",
        "an XPath filter that cuts the signature out, in place of enveloped-signature",
        kit.sign(transforms=(Transform(XPATH, _NOT_SIGNATURE), Transform(EXC_C14N))),
    )
    yield attack(
        "xpath-added",
        "an XPath transform between enveloped-signature and C14N",
        kit.sign(
            transforms=(Transform(ENVELOPED), Transform(XPATH, "true()"), Transform(EXC_C14N))
        ),
    )
    yield attack(
        "xslt-added",
        "an XSLT transform (identity stylesheet) between enveloped-signature and C14N",
        kit.sign(
            transforms=(
                Transform(ENVELOPED),
                Transform(XSLT, _XSLT_IDENTITY),
                Transform(EXC_C14N),
            )
        ),
    )
    yield attack(
        "base64-transform",
        "a base64 transform (the reference would be decoded, not canonicalised)",
        kit.sign(transforms=(Transform(ENVELOPED), Transform(BASE64), Transform(EXC_C14N))),
    )
    yield attack(
        "enveloped-only",
        "enveloped-signature alone: the verifier's default canonicalisation decides",
        kit.sign(transforms=(Transform(ENVELOPED),)),
    )
    yield attack(
        "no-transforms",
        "no Transforms: the signature itself would be part of the digest input",
        kit.sign(transforms=()),
    )
    yield attack(
        "c14n-then-enveloped",
        "the profile's transforms in the wrong order",
        kit.sign(transforms=(Transform(EXC_C14N), Transform(ENVELOPED))),
    )


# --------------------------------------------------------------------------------------------
# Harmless rewrites

_DECLARATION = re.compile(rb"^<\?xml[^>]*\?>\s*")
_NAME_END = re.compile(rb"[\s/>]")


def _without_declaration(raw: bytes) -> bytes:
    return _DECLARATION.sub(b"", raw, count=1)


def _tag_name_end(raw: bytes, start: int) -> int:
    """Where the name of the tag that starts at ``start`` ends."""
    found = _NAME_END.search(raw, start)
    assert found is not None
    return found.start()


def _signed_part(raw: bytes) -> tuple[bytes, bytes]:
    """``raw`` split before its signature: (signed content, signature and the rest)."""
    at = raw.rindex(b"<ds:Signature")
    return raw[:at], raw[at:]


def _text_elements(root: etree._Element) -> list[etree._Element]:
    """Elements outside the signature whose text has at least two characters."""
    return [
        element
        for element in root.iter(etree.Element)
        if element.tag != _SIGNATURE
        and not any(a.tag == _SIGNATURE for a in element.iterancestors())
        and element.text is not None
        and len(element.text.strip()) >= 2
    ]


def _same_element(tree: etree._Element, element: etree._Element) -> etree._Element:
    """The element of ``tree`` at the place of ``element`` (of another parse of the same bytes)."""
    position = list(element.getroottree().getroot().iter()).index(element)
    return list(tree.iter())[position]


def harmless_rewrites(kit: SignatureAttackKit) -> Iterator[SignatureAttack]:
    """Rewrites that keep the canonical form of the signed content (and so the signature)."""

    def attack(name: str, description: str, raw: bytes) -> SignatureAttack:
        return SignatureAttack(name, AttackClass.REWRITE, description, raw)

    raw = kit.document
    root = parse(raw)
    # The SAML comment truncation: for each text node, a comment in its middle.
    for index, element in enumerate(_text_elements(root)):
        tree = parse(raw)
        target = _same_element(tree, element)
        text = target.text or ""
        middle = len(text) // 2
        comment = etree.Comment(" truncated here ")
        comment.tail = text[middle:]
        target.text = text[:middle]
        target.insert(0, comment)
        yield attack(
            f"comment-in-text-{index}",
            f"a comment in the middle of the text of {etree.QName(element).localname}",
            serialize(tree),
        )
    tree = parse(raw)
    tree.insert(0, etree.Comment(" before "))
    yield attack("comment-between-elements", "a comment before the first child", serialize(tree))
    yield attack(
        "comments-around-root",
        "comments before and after the root element",
        _DECLARATION.sub(lambda m: m.group(0) + b"<!-- a -->", raw, count=1) + b"<!-- b -->",
    )
    signed, rest = _signed_part(raw)
    texts = [e.text for e in _text_elements(root) if e.text and e.text.strip().isascii()]
    if texts:
        sample = texts[0].encode()
        escaped = b"".join(b"&#x%x;" % byte for byte in sample)
        yield attack(
            "character-references",
            "a text written as character references",
            signed.replace(b">" + sample + b"<", b">" + escaped + b"<", 1) + rest,
        )
        yield attack(
            "cdata-section",
            "a text written as a CDATA section",
            signed.replace(b">" + sample + b"<", b"><![CDATA[" + sample + b"]]><", 1) + rest,
        )
    start = len(signed) - len(_without_declaration(signed))  # where the root's start tag is
    name_end = _tag_name_end(signed, start)
    yield attack(
        "unused-namespace-declaration",
        "an unused namespace declaration on the root",
        signed[:name_end] + b' xmlns:unused="urn:noots:unused"' + signed[name_end:] + rest,
    )
    if root.prefix is not None and len(root):
        prefix, uri = root.prefix.encode(), root.nsmap[root.prefix].encode()
        end = _tag_name_end(signed, signed.index(b"<", signed.index(b">", start) + 1))
        yield attack(
            "redundant-namespace-declaration",
            "the root's namespace declared again on its first child",
            signed[:end] + b" xmlns:" + prefix + b'="' + uri + b'"' + signed[end:] + rest,
        )
    quoted = re.compile(rb'(<[^!?/][^>]*?\s[\w:.-]+=)"([^"<]*)"')
    yield attack(
        "single-quoted-attributes",
        "attribute values in single quotes",
        quoted.sub(lambda m: m.group(1) + b"'" + m.group(2) + b"'", signed) + rest,
    )
    yield attack(
        "white-space-in-tags",
        "white space before the end of every start tag and around =",
        re.sub(rb'="([^"]*)"', rb' = "\1" ', signed) + rest,
    )
    tree = parse(raw)
    reordered = False
    for element in tree.iter(etree.Element):
        items = list(element.attrib.items())
        if len(items) >= 2 and element.tag != _SIGNATURE:
            element.attrib.clear()
            for name, value in reversed(items):
                element.set(name, value)
            reordered = True
    if reordered:
        yield attack("attribute-order", "attributes in reverse order", serialize(tree))
    yield attack(
        "expanded-empty-elements",
        "empty elements written with an end tag",
        re.sub(rb"<([\w:.-]+)((?:\s[^<>]*?)?)/>", rb"<\1\2></\1>", signed) + rest,
    )
    body = _without_declaration(raw)
    yield attack("no-declaration", "without the XML declaration", body)
    yield attack(
        "double-quoted-declaration",
        'a declaration with double quotes and standalone="yes"',
        b'<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n' + body,
    )
    yield attack("utf8-byte-order-mark", "a UTF-8 byte-order mark", b"\xef\xbb\xbf" + raw)
    tree = parse(raw)
    signature = tree.find(_SIGNATURE)
    assert signature is not None
    signature_value = signature.find(_ds("SignatureValue"))
    assert signature_value is not None
    encoded = signature_value.text or ""
    signature_value.text = "\n".join(encoded[i : i + 64] for i in range(0, len(encoded), 64)) + "\n"
    yield attack("wrapped-signature-value", "SignatureValue in lines of 64", serialize(tree))
    for local in ("SignedInfo", "DigestValue", "SignatureValue"):
        tree = parse(raw)
        holder = tree.find(f".//{_ds(local)}")
        assert holder is not None
        content = holder.text or ""
        comment = etree.Comment("x")
        if content.strip():
            comment.tail = content[len(content) // 2 :]
            holder.text = content[: len(content) // 2]
        holder.insert(0, comment)
        yield attack(
            f"comment-in-{local.lower()}",
            f"a comment inside {local} (outside its canonical form)",
            serialize(tree),
        )


# --------------------------------------------------------------------------------------------
# Re-encodings


def re_encodings(kit: SignatureAttackKit) -> Iterator[SignatureAttack]:
    """The valid document in encodings other than UTF-8."""
    body = _without_declaration(kit.document).decode("utf-8")

    def declared(encoding: str) -> str:
        return f"<?xml version='1.0' encoding='{encoding}'?>\n{body}"

    def attack(name: str, description: str, raw: bytes) -> SignatureAttack:
        return SignatureAttack(name, AttackClass.ENCODING, description, raw, (XmlError,))

    variants: Iterable[tuple[str, str, bytes]] = (
        (
            "utf-16-le-bom",
            "UTF-16 LE with byte-order mark",
            b"\xff\xfe" + declared("UTF-16").encode("utf-16-le"),
        ),
        (
            "utf-16-be-bom",
            "UTF-16 BE with byte-order mark",
            b"\xfe\xff" + declared("UTF-16").encode("utf-16-be"),
        ),
        (
            "utf-16-le-declared",
            "UTF-16 LE, declared, no byte-order mark",
            declared("UTF-16LE").encode("utf-16-le"),
        ),
        (
            "utf-16-undeclared",
            "UTF-16 with byte-order mark and no declaration",
            body.encode("utf-16"),
        ),
        ("utf-32-le-bom", "UTF-32 LE with byte-order mark", declared("UTF-32").encode("utf-32")),
        ("utf-32-be", "UTF-32 BE, declared", declared("UTF-32BE").encode("utf-32-be")),
        (
            "iso-8859-1",
            "ISO-8859-1, declared",
            declared("ISO-8859-1").encode("latin-1", "xmlcharrefreplace"),
        ),
        (
            "windows-1252",
            "Windows-1252, declared",
            declared("windows-1252").encode("cp1252", "xmlcharrefreplace"),
        ),
        (
            "latin-1-declared-utf-8-bytes",
            "UTF-8 bytes declared as ISO-8859-1",
            declared("ISO-8859-1").encode("utf-8"),
        ),
    )
    for name, description, raw in variants:
        yield attack(name, description, raw)
