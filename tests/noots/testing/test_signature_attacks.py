"""noots.testing.signature_attacks against the receivers of signed documents (open_envelope,
verify_token, verify_identity), and proof that the kit has teeth: for every class of attack, a
deliberately weakened verifier (or parser) is caught by at least one attack of the class."""

from __future__ import annotations

import copy
import hashlib
import hmac
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from noots import _dsig, _sealed, envelope
from noots.clock import ManualClock
from noots.errors import CertificateUntrusted, SignatureInvalid
from noots.pki import (
    CertificateValidator,
    FileCrlSource,
    IssuedCredential,
    KeyType,
    Role,
    _read_static_facts,
)
from noots.signing import (
    EXC_C14N,
    SHA256,
    SignxmlVerifier,
    VerificationPolicy,
    VerifiedXml,
    XmlVerifier,
)
from noots.testing.pki import TestPki
from noots.testing.signature_attacks import (
    ECDSA_SHA1,
    EXC_C14N_WITH_COMMENTS,
    HMAC_SHA256,
    RSA_SHA1,
    SHA1,
    AttackClass,
    SignatureAttack,
    SignatureAttackKit,
    SignedSample,
    algorithm_downgrades,
    attempt,
    harmless_rewrites,
    keyinfo_and_chain_attacks,
    re_encodings,
    signature_attacks,
    signed_samples,
)
from noots.xml import DEFAULT_LIMITS, XmlLimits

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
OTHER = "09162000-GEWA-65"
KINDS = ["envelope", "vs-token", "identity-token"]
Generator = Callable[[SignatureAttackKit], Iterator[SignatureAttack]]
GENERATORS: dict[AttackClass, Generator] = {
    AttackClass.KEY_INFO: keyinfo_and_chain_attacks,
    AttackClass.ALGORITHM: algorithm_downgrades,
    AttackClass.REWRITE: harmless_rewrites,
    AttackClass.ENCODING: re_encodings,
}


@pytest.fixture(scope="module")
def pki() -> Iterator[TestPki]:
    with TestPki(clock=ManualClock(T0)) as test_pki:
        yield test_pki


@pytest.fixture(scope="module", params=[KeyType.RSA2048, KeyType.ECDSA_P256])
def key_type(request: pytest.FixtureRequest) -> KeyType:
    return KeyType(request.param)


def other(pki: TestPki, key_type: KeyType) -> IssuedCredential:
    return pki.credential(OTHER, Role.CONSUMER, key_type=key_type)


def sample(
    pki: TestPki, key_type: KeyType, kind: str, verifier: XmlVerifier | None = None
) -> SignedSample:
    (found,) = [s for s in signed_samples(pki, key_type, verifier) if s.kind == kind]
    return found


def problems(
    pki: TestPki,
    key_type: KeyType,
    kind: str,
    generator: Generator,
    verifier: XmlVerifier | None = None,
) -> dict[str, str]:
    """Attack name -> what the receiver did wrong, for every attack the receiver mishandles."""
    signed = sample(pki, key_type, kind, verifier)
    original = signed.read(signed.raw)
    found: dict[str, str] = {}
    for attack in generator(signed.kit(pki, other(pki, key_type))):
        problem = attack.judge(attempt(signed.read, attack.raw), original)
        if problem is not None:
            found[attack.name] = problem
    return found


# --------------------------------------------------------------------------------------------
# The receivers refuse every attack


@pytest.mark.parametrize("attack_class", list(AttackClass))
@pytest.mark.parametrize("kind", KINDS)
def test_receivers_handle_every_attack_of_the_class(
    pki: TestPki, key_type: KeyType, kind: str, attack_class: AttackClass
) -> None:
    """Each attack is refused with its typed error; a harmless rewrite reads as the original."""
    assert problems(pki, key_type, kind, GENERATORS[attack_class]) == {}


@pytest.mark.parametrize("kind", KINDS)
def test_every_class_has_attacks_with_unique_names(
    pki: TestPki, key_type: KeyType, kind: str
) -> None:
    """The kit yields attacks of all four classes, each name once."""
    signed = sample(pki, key_type, kind)
    attacks = list(signature_attacks(signed.kit(pki, other(pki, key_type))))
    names = [attack.name for attack in attacks]
    assert len(names) == len(set(names))
    counts = {c: sum(1 for a in attacks if a.attack_class is c) for c in AttackClass}
    assert counts[AttackClass.KEY_INFO] >= 19
    assert counts[AttackClass.ALGORITHM] >= 19
    assert counts[AttackClass.REWRITE] >= 20
    assert counts[AttackClass.ENCODING] >= 9


@pytest.mark.parametrize("kind", KINDS)
def test_harmless_rewrites_outside_the_signature_are_accepted(
    pki: TestPki, key_type: KeyType, kind: str
) -> None:
    """Rewrites of the signed content are accepted as the original; only comments inside the
    signature element are refused (the profile allows none there)."""
    signed = sample(pki, key_type, kind)
    refused = {
        attack.name
        for attack in harmless_rewrites(signed.kit(pki, other(pki, key_type)))
        if attempt(signed.read, attack.raw).error is not None
    }
    assert refused == {
        "comment-in-signedinfo",
        "comment-in-digestvalue",
        "comment-in-signaturevalue",
    }


@pytest.mark.parametrize("kind", KINDS)
def test_forge_with_the_profiles_algorithms_is_accepted(
    pki: TestPki, key_type: KeyType, kind: str
) -> None:
    """The kit's signer, with the profile's algorithms, writes a signature the receiver
    accepts as the original: each attack differs from a valid signature only where named."""
    signed = sample(pki, key_type, kind)
    kit = signed.kit(pki, other(pki, key_type))
    assert signed.read(kit.sign()) == signed.read(signed.raw)


def test_a_receiver_that_reads_nothing_fails_every_refusal(pki: TestPki) -> None:
    """The judgement itself: accepting a hostile document is a problem, a typed refusal of the
    wrong kind is one, an untyped error is one."""
    signed = sample(pki, KeyType.ECDSA_P256, "envelope")
    kit = signed.kit(pki, other(pki, KeyType.ECDSA_P256))
    attack = next(a for a in algorithm_downgrades(kit) if a.name == "sha1-digest")

    def accepts(raw: bytes) -> object:
        return "read"

    def wrong_error(raw: bytes) -> object:
        raise CertificateUntrusted("no")

    def crashes(raw: bytes) -> object:
        raise KeyError("x")

    assert attack.judge(attempt(accepts, attack.raw), "read") == "accepted"
    assert "expected SignatureInvalid" in (
        attack.judge(attempt(wrong_error, attack.raw), None) or ""
    )
    assert "untyped" in (attack.judge(attempt(crashes, attack.raw), None) or "")
    harmless = next(harmless_rewrites(kit))
    assert (
        harmless.judge(attempt(accepts, harmless.raw), "original")
        == "accepted and read differently"
    )


# --------------------------------------------------------------------------------------------
# The kit has teeth: weakened verifiers are caught


class _FirstCertificateKeyInfo:
    """KeyInfo read leniently: the first X509Certificate anywhere in it, the rest ignored."""

    @staticmethod
    def read(key_info: etree._Element) -> str:
        found = next(key_info.iter(f"{{{_dsig.DS_NS}}}X509Certificate"), None)
        if found is None:
            raise SignatureInvalid("no certificate")
        return found.text or ""


def test_kit_catches_a_verifier_that_ignores_extra_key_info(
    pki: TestPki, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Weakened: KeyInfo may hold more than the one certificate (its first is used)."""
    monkeypatch.setattr(_dsig, "_read_key_info", _FirstCertificateKeyInfo.read)
    found = problems(
        pki, KeyType.RSA2048, "envelope", keyinfo_and_chain_attacks, XmlVerifier(pki.validator())
    )
    assert found["two-certificates-signer-first"] == "accepted"
    assert found["issuer-serial-and-certificate"] == "accepted"
    assert found["key-value-of-signer"] == "accepted"


def test_kit_catches_the_signxml_path_accepting_key_info_extras(pki: TestPki) -> None:
    """The verifier before the narrow profile (signxml with noots' policy, kept as
    SignxmlVerifier) accepted KeyInfo extras beside the certificate: the kit reports them."""
    found = problems(
        pki,
        KeyType.ECDSA_P256,
        "envelope",
        keyinfo_and_chain_attacks,
        SignxmlVerifier(pki.validator()),
    )
    assert found == {
        "key-value-of-signer": "accepted",
        "issuer-serial-and-certificate": "accepted",
        "key-name": "accepted",
        "retrieval-method": "accepted",
    }


class _IssuerNameValidator(CertificateValidator):
    """Trusts a certificate whose issuer *name* is the trust anchor's, without checking that
    the anchor's key signed it (the weakness issuer-DN spoofing exploits)."""

    def _static_facts(self, cert: x509.Certificate):  # type: ignore[no-untyped-def]
        if cert.issuer != self.trust_anchor.subject:
            raise CertificateUntrusted("not issued by the trust anchor")
        return _read_static_facts(cert)


def test_kit_catches_a_validator_that_trusts_the_issuer_name(pki: TestPki) -> None:
    """Weakened: the certificate path is checked by issuer name only."""
    weak = _IssuerNameValidator(pki.ca.trust_anchor, FileCrlSource(pki.ca.crl_path), pki.clock)
    found = problems(
        pki, KeyType.ECDSA_P256, "envelope", keyinfo_and_chain_attacks, XmlVerifier(weak)
    )
    assert found == {"issuer-dn-spoofing": "accepted"}


def _verify_rsa_sha1(public_key: object, signature_value: bytes, data: bytes) -> None:
    assert isinstance(public_key, rsa.RSAPublicKey)
    try:
        public_key.verify(signature_value, data, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
    except InvalidSignature:
        raise SignatureInvalid("no") from None


def _verify_hmac_with_public_key(public_key: object, signature_value: bytes, data: bytes) -> None:
    secret = public_key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if not hmac.compare_digest(hmac.new(secret, data, hashlib.sha256).digest(), signature_value):
        raise SignatureInvalid("no")


def _any_transforms(transforms: etree._Element) -> tuple[str, ...]:
    return tuple(
        t.get("Algorithm") or "" for t in transforms.iterchildren(f"{{{_dsig.DS_NS}}}Transform")
    )


def _skip_unknown_transforms(transforms: tuple[str, ...]) -> _dsig.Canonicalization:
    return _dsig.CANONICALIZATIONS[EXC_C14N]  # the last canonicalisation, as signxml does


class _NoShapePolicy(XmlVerifier):
    """The policy's shape checks switched off (what is left is the narrow verifier's)."""

    def _check_shape(self, signature: etree._Element) -> None:
        return None


WEAKENINGS: dict[str, tuple[str, dict[str, object]]] = {
    # name: (the attack that must catch it, module attributes of noots._dsig to replace)
    "sha1-digest": (
        "sha1-digest",
        {"DIGEST_METHODS": {SHA256: hashlib.sha256, SHA1: hashlib.sha1}},
    ),
    "rsa-sha1": (
        "rsa-sha1",
        {"SIGNATURE_METHODS": {**_dsig.SIGNATURE_METHODS, RSA_SHA1: _verify_rsa_sha1}},
    ),
    "hmac-public-key": (
        "hmac-with-public-key-pem",
        {
            "SIGNATURE_METHODS": {
                **_dsig.SIGNATURE_METHODS,
                HMAC_SHA256: _verify_hmac_with_public_key,
            }
        },
    ),
    "comments-kept": (
        "exc-c14n-with-comments-signedinfo",
        {
            "CANONICALIZATIONS": {
                **_dsig.CANONICALIZATIONS,
                EXC_C14N_WITH_COMMENTS: _dsig.Canonicalization(exclusive=True, with_comments=True),
            }
        },
    ),
    "unknown-transforms-skipped": (
        "xslt-added",
        {
            "_read_transforms": _any_transforms,
            "_reference_canonicalization": _skip_unknown_transforms,
        },
    ),
}


@pytest.mark.parametrize("weakening", list(WEAKENINGS))
def test_kit_catches_a_verifier_that_accepts_a_weaker_algorithm(
    pki: TestPki, weakening: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Weakened: one algorithm or transform beyond the profile is implemented and allowed."""
    catcher, replacements = WEAKENINGS[weakening]
    for name, value in replacements.items():
        monkeypatch.setattr(_dsig, name, value)
    verifier = _NoShapePolicy(
        pki.validator(),
        VerificationPolicy(
            signature_methods=frozenset(_dsig.SIGNATURE_METHODS),
            digest_methods=frozenset(_dsig.DIGEST_METHODS),
            c14n_methods=frozenset(_dsig.CANONICALIZATIONS),
        ),
    )
    found = problems(pki, KeyType.RSA2048, "envelope", algorithm_downgrades, verifier)
    assert found.get(catcher) == "accepted"


def test_an_ecdsa_sha1_weakening_is_caught_with_ec_keys(
    pki: TestPki, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Weakened for EC keys: ECDSA-SHA1 accepted; the kit's ecdsa-sha1 attack notices."""
    from cryptography.hazmat.primitives.asymmetric import ec, utils

    def verify_ecdsa_sha1(public_key: object, signature_value: bytes, data: bytes) -> None:
        assert isinstance(public_key, ec.EllipticCurvePublicKey)
        r, s = (
            int.from_bytes(signature_value[:32], "big"),
            int.from_bytes(signature_value[32:], "big"),
        )
        try:
            public_key.verify(utils.encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA1()))  # noqa: S303
        except InvalidSignature:
            raise SignatureInvalid("no") from None

    monkeypatch.setattr(
        _dsig, "SIGNATURE_METHODS", {**_dsig.SIGNATURE_METHODS, ECDSA_SHA1: verify_ecdsa_sha1}
    )
    verifier = XmlVerifier(
        pki.validator(), VerificationPolicy(signature_methods=frozenset(_dsig.SIGNATURE_METHODS))
    )
    found = problems(pki, KeyType.ECDSA_P256, "envelope", algorithm_downgrades, verifier)
    assert found == {"ecdsa-sha1": "accepted"}


class _ReadsTheReceivedTree(XmlVerifier):
    """Verifies correctly, then hands back the received tree (minus the signature) instead of
    the canonical form of what was signed."""

    def verify(self, root: etree._Element, *, required_role: object = None) -> VerifiedXml:
        verified = super().verify(root, required_role=required_role)  # type: ignore[arg-type]
        received = copy.deepcopy(root)
        received.remove(received[-1])
        return VerifiedXml(element=received, signer=verified.signer)


@pytest.mark.parametrize("kind", KINDS)
def test_kit_catches_a_verifier_that_returns_the_received_tree(pki: TestPki, kind: str) -> None:
    """Weakened: the reader sees the received tree, so a comment cuts a text short (SAML)."""
    verifier = _ReadsTheReceivedTree(pki.validator())
    found = problems(pki, KeyType.ECDSA_P256, kind, harmless_rewrites, verifier)
    assert found
    assert all(name.startswith("comment-in-text-") for name in found)
    assert set(found.values()) == {"accepted and read differently"}


def _any_encoding(raw: bytes, limits: XmlLimits = DEFAULT_LIMITS) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(raw, parser)


@pytest.mark.parametrize("kind", KINDS)
def test_kit_catches_a_parser_that_accepts_other_encodings(
    pki: TestPki, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Weakened: the receivers parse any encoding libxml2 knows (as before issue 13)."""
    monkeypatch.setattr(envelope, "parse", _any_encoding)
    monkeypatch.setattr(_sealed, "parse", _any_encoding)
    found = problems(pki, KeyType.ECDSA_P256, kind, re_encodings)
    assert found["utf-16-le-bom"] == "accepted"
    assert found["utf-32-le-bom"] == "accepted"
    assert found["iso-8859-1"] == "accepted"
