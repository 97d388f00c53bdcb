"""The narrow verifier (noots._dsig behind XmlVerifier) against two independent XMLDSig
implementations: signxml with the same policy (SignxmlVerifier) and the xmlsec1 command-line
tool (libxmlsec1).

Properties, for valid signed documents of every kind and for mutations of them:

- the narrow verifier accepts only what signxml and xmlsec1 both accept, and reads exactly the
  signed content signxml reads;
- where the signature has exactly the profile's shape, all three agree;
- where it has not, the narrow verifier refuses, even when signxml or xmlsec1 accept: the
  cases where they do are listed in PROFILE_STRICTER, with what each of them says.

xmlsec1 runs once per document (it stops at the first failing file, so it cannot batch
refusals); the property that needs it draws fewer examples than the one that does not.
"""

from __future__ import annotations

import base64
import binascii
import copy
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from lxml import etree

from noots.clock import ManualClock
from noots.errors import NootsError, XmlError
from noots.pki import KeyType, Role
from noots.signing import (
    DS_NS,
    ECDSA_SHA256,
    ENVELOPED,
    EXC_C14N,
    RSA_SHA256,
    SHA256,
    SignxmlVerifier,
    XmlSigner,
    XmlVerifier,
)
from noots.testing.pki import TestPki
from noots.testing.signature_attacks import (
    C14N_1_0,
    EXC_C14N_WITH_COMMENTS,
    HMAC_SHA256,
    RSA_SHA1,
    SHA1,
    XPATH,
    SignedSample,
    algorithm_downgrades,
    harmless_rewrites,
    issuer_serial,
    key_value,
    keyinfo_and_chain_attacks,
    signed_samples,
    x509_data,
)
from noots.xml import parse, serialize

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
OTHER = "09162000-GEWA-65"
RANDOM_SIGNER = "08118079-BPA-87"


def ds(local: str) -> str:
    return f"{{{DS_NS}}}{local}"


@pytest.fixture(scope="module")
def xmlsec1() -> str:
    path = shutil.which("xmlsec1")
    if path is None:
        pytest.fail(
            "xmlsec1 is not installed: the differential tests need it "
            "(Debian/Ubuntu: apt-get install xmlsec1; CI installs it via .ci/install-system-deps)"
        )
    return path


@pytest.fixture(scope="module")
def pki() -> Iterator[TestPki]:
    with TestPki(clock=ManualClock(T0)) as test_pki:
        yield test_pki


@pytest.fixture(scope="module")
def samples(pki: TestPki) -> dict[tuple[str, KeyType], SignedSample]:
    return {
        (sample.kind, key_type): sample
        for key_type in (KeyType.RSA2048, KeyType.ECDSA_P256)
        for sample in signed_samples(pki, key_type)
    }


# --------------------------------------------------------------------------------------------
# The three verdicts


@dataclass(frozen=True)
class Verdict:
    """One implementation's answer: None for accepted, else the error's class name; and the
    canonical form of what it says was signed."""

    refused: str | None
    content: bytes | None = None

    @property
    def accepted(self) -> bool:
        return self.refused is None


def _run(verifier: XmlVerifier, root: etree._Element) -> Verdict:
    try:
        element = verifier.verify(root).element
    except NootsError as exc:
        return Verdict(type(exc).__name__)
    return Verdict(None, etree.tostring(element, method="c14n", exclusive=True))


def xmlsec1_accepts(xmlsec1: str, pki: TestPki, raw: bytes) -> bool:
    """``xmlsec1 --verify`` with the trust anchor at the PKI's clock, same-document URI="" only."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "signed.xml"
        path.write_bytes(raw)
        result = subprocess.run(
            [
                xmlsec1,
                "--verify",
                "--trusted-pem",
                str(pki.trust_anchor_path),
                "--verification-gmt-time",
                (pki.clock.now() + timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S"),
                "--enabled-reference-uris",
                "empty",
                str(path),
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )
    return result.returncode == 0


@dataclass(frozen=True)
class Verdicts:
    narrow: Verdict
    signxml: Verdict
    xmlsec1: bool | None  # None: not asked


def verdicts(pki: TestPki, raw: bytes, xmlsec1: str | None = None) -> Verdicts | None:
    """What each implementation says of ``raw``; None if noots.xml.parse refuses it (then no
    verifier ever sees it)."""
    try:
        root = parse(raw)
    except XmlError:
        return None
    validator = pki.validator()
    return Verdicts(
        narrow=_run(XmlVerifier(validator), root),
        signxml=_run(SignxmlVerifier(validator), root),
        xmlsec1=None if xmlsec1 is None else xmlsec1_accepts(xmlsec1, pki, raw),
    )


# --------------------------------------------------------------------------------------------
# The profile, written down once more (independently of noots._dsig) as the oracle


def _method_of(signature: etree._Element) -> str:
    method = signature.find(f"{ds('SignedInfo')}/{ds('SignatureMethod')}")
    return "" if method is None else method.get("Algorithm", "")


B64 = "base64"
Shape = tuple[str, dict[str, str], "list[Shape] | str"]


def _profile(method: str) -> Shape:
    def algorithm(local: str, uri: str) -> Shape:
        return (local, {"Algorithm": uri}, [])

    return (
        "Signature",
        {},
        [
            (
                "SignedInfo",
                {},
                [
                    algorithm("CanonicalizationMethod", EXC_C14N),
                    algorithm("SignatureMethod", method),
                    (
                        "Reference",
                        {"URI": ""},
                        [
                            (
                                "Transforms",
                                {},
                                [
                                    algorithm("Transform", ENVELOPED),
                                    algorithm("Transform", EXC_C14N),
                                ],
                            ),
                            algorithm("DigestMethod", SHA256),
                            ("DigestValue", {}, B64),
                        ],
                    ),
                ],
            ),
            ("SignatureValue", {}, B64),
            ("KeyInfo", {}, [("X509Data", {}, [("X509Certificate", {}, B64)])]),
        ],
    )


def _compact(text: str) -> str:
    return "".join(c for c in text if c not in " \t\r\n")


def _blank(text: str | None) -> bool:
    return not text or not text.strip(" \t\r\n")


def _matches(element: etree._Element, shape: Shape) -> bool:
    local, attributes, content = shape
    if element.tag != ds(local) or dict(element.attrib) != attributes:
        return False
    if content == B64:
        if len(element):
            return False
        try:
            base64.b64decode(_compact(element.text or ""), validate=True)
        except (binascii.Error, ValueError):
            return False
        return bool(_compact(element.text or ""))
    assert isinstance(content, list)
    children = list(element)
    return (
        len(children) == len(content)
        and _blank(element.text)
        and all(_blank(child.tail) for child in children)
        and all(_matches(c, s) for c, s in zip(children, content, strict=True))
    )


def has_profile_shape(raw: bytes) -> bool:
    """One signature, the root's last child, nothing but white space after it, and exactly the
    profile's elements, attributes and algorithms (prefixes and white space free)."""
    root = parse(raw)
    signatures = list(root.iter(ds("Signature")))
    if len(signatures) != 1 or len(root) == 0 or root[-1] is not signatures[0]:
        return False
    signature = signatures[0]
    if not _blank(signature.tail):
        return False
    method = _method_of(signature)
    return method in (RSA_SHA256, ECDSA_SHA256) and _matches(signature, _profile(method))


def check(found: Verdicts, raw: bytes, note: Callable[[str], object] | None = None) -> None:
    """The three properties of the module docstring (``note``: hypothesis' event, for the
    statistics of what the examples were)."""
    narrow, signxml = found.narrow, found.signxml
    shaped = has_profile_shape(raw)
    if note is not None:
        shape = "profile shape" if shaped else "other shape"
        note(f"{shape}, narrow: {narrow.refused or 'accepted'}")
    if narrow.accepted:
        assert signxml.accepted, f"narrow accepts, signxml refuses ({signxml.refused})"
        assert found.xmlsec1 in (True, None), "narrow accepts, xmlsec1 refuses"
        assert narrow.content == signxml.content, "narrow and signxml read different content"
    if shaped:
        assert narrow.accepted == signxml.accepted, (narrow, signxml)
        if found.xmlsec1 is not None:
            assert narrow.accepted == found.xmlsec1, (narrow, found.xmlsec1)
    else:
        assert not narrow.accepted, "narrow accepts a signature outside the profile"


# --------------------------------------------------------------------------------------------
# Documents and mutations

_NAMES = st.sampled_from(["a", "b", "Nachweis", "x-y", "z.1", "{urn:a}n", "{urn:noots:b}Body"])
_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    max_size=20,
)


@st.composite
def _trees(draw: st.DrawFn, depth: int = 0) -> etree._Element:
    element = etree.Element(draw(_NAMES))
    for name in draw(st.lists(_NAMES, max_size=3, unique=True)):
        element.set(name, draw(_TEXT))
    element.text = draw(_TEXT) or None
    if depth < 2:
        for child in draw(st.lists(_trees(depth + 1), max_size=3)):
            child.tail = draw(_TEXT) or None
            element.append(child)
    if depth == 0 and draw(st.booleans()):
        element.insert(0, etree.Comment(draw(_TEXT).replace("-", "") or "c"))
    return element


Mutation = Callable[[etree._Element, st.DataObject, TestPki], None]


def _content_elements(root: etree._Element) -> list[etree._Element]:
    signature = root.find(ds("Signature"))
    inside = set() if signature is None else set(signature.iter())
    return [e for e in root.iter(etree.Element) if e not in inside]


def _signature_elements(root: etree._Element) -> list[etree._Element]:
    signature = root.find(ds("Signature"))
    return [] if signature is None else list(signature.iter(etree.Element))


def _pick(data: st.DataObject, elements: list[etree._Element]) -> etree._Element | None:
    return data.draw(st.sampled_from(elements)) if elements else None


def _change_text(root: etree._Element, data: st.DataObject, pki: TestPki) -> None:
    element = _pick(data, _content_elements(root))
    if element is not None:
        element.text = (element.text or "") + data.draw(st.sampled_from(["x", " ", "\n", "ä"]))


def _swap_children(root: etree._Element, data: st.DataObject, pki: TestPki) -> None:
    parents = [e for e in _content_elements(root) if len(e) >= 2 and e is not root]
    parent = _pick(data, parents)
    if parent is not None:
        first = parent[0]
        parent.remove(first)
        parent.insert(1, first)


def _add_element(root: etree._Element, data: st.DataObject, pki: TestPki) -> None:
    element = _pick(data, _content_elements(root) + _signature_elements(root))
    if element is not None:
        tag = data.draw(st.sampled_from(["forged", ds("Object"), ds("KeyName"), "{urn:x}y"]))
        element.insert(data.draw(st.integers(0, len(element))), etree.Element(tag))


def _remove_element(root: etree._Element, data: st.DataObject, pki: TestPki) -> None:
    element = _pick(data, [e for e in root.iter(etree.Element) if e is not root])
    if element is not None:
        parent = element.getparent()
        assert parent is not None
        parent.remove(element)


def _change_attribute(root: etree._Element, data: st.DataObject, pki: TestPki) -> None:
    element = _pick(data, list(root.iter(etree.Element)))
    if element is None:
        return
    action = data.draw(st.sampled_from(["add", "remove", "change", "id"]))
    names = list(element.attrib)
    if action == "add":
        element.set("extra", "1")
    elif action == "id":
        element.set("Id", "x")
    elif names and action == "remove":
        del element.attrib[data.draw(st.sampled_from(names))]
    elif names:
        name = data.draw(st.sampled_from(names))
        element.set(name, element.get(name, "") + "x")


def _change_namespace(root: etree._Element, data: st.DataObject, pki: TestPki) -> None:
    element = _pick(data, list(root.iter(etree.Element)))
    if element is not None:
        element.tag = f"{{urn:noots:other}}{etree.QName(element).localname}"


def _declare_namespace(root: etree._Element, data: st.DataObject, pki: TestPki) -> None:
    """An unused namespace declaration somewhere (white space for canonicalisation)."""
    element = _pick(data, list(root.iter(etree.Element)))
    if element is not None:
        parent = element.getparent()
        replacement = etree.Element(
            element.tag, element.attrib, nsmap={**element.nsmap, "zz": "urn:zz"}
        )
        replacement.text, replacement.tail = element.text, element.tail
        replacement.extend(list(element))
        if parent is not None:
            parent.replace(element, replacement)


def _change_value(root: etree._Element, data: st.DataObject, pki: TestPki) -> None:
    local = data.draw(st.sampled_from(["SignatureValue", "DigestValue"]))
    element = root.find(f".//{ds(local)}")
    if element is None:
        return
    value = bytearray(base64.b64decode("".join((element.text or "").split())))
    if value:
        value[data.draw(st.integers(0, len(value) - 1))] ^= 1 << data.draw(st.integers(0, 7))
    element.text = base64.b64encode(bytes(value)).decode()


_ALGORITHMS = [SHA1, RSA_SHA1, HMAC_SHA256, C14N_1_0, EXC_C14N_WITH_COMMENTS, XPATH, "urn:x"]


def _change_algorithm(root: etree._Element, data: st.DataObject, pki: TestPki) -> None:
    element = _pick(data, [e for e in _signature_elements(root) if e.get("Algorithm")])
    if element is not None:
        element.set("Algorithm", data.draw(st.sampled_from(_ALGORITHMS)))


def _change_transforms(root: etree._Element, data: st.DataObject, pki: TestPki) -> None:
    transforms = root.find(f".//{ds('Transforms')}")
    if transforms is None:
        return
    action = data.draw(st.sampled_from(["drop", "add", "swap", "inclusive-namespaces"]))
    if action == "drop":
        transforms.remove(transforms[data.draw(st.integers(0, len(transforms) - 1))])
    elif action == "add":
        etree.SubElement(
            transforms, ds("Transform"), Algorithm=data.draw(st.sampled_from(_ALGORITHMS))
        )
    elif action == "swap":
        transforms.insert(0, transforms[-1])
    else:
        etree.SubElement(
            transforms[-1],
            "{http://www.w3.org/2001/10/xml-exc-c14n#}InclusiveNamespaces",
            PrefixList="",
        )


def _change_key_info(root: etree._Element, data: st.DataObject, pki: TestPki) -> None:
    key_info = root.find(f".//{ds('KeyInfo')}")
    if key_info is None:
        return
    certificate = key_info.find(f".//{ds('X509Certificate')}")
    other = pki.credential(OTHER, Role.CONSUMER)
    action = data.draw(
        st.sampled_from(
            ["duplicate", "key-value", "issuer-serial", "replace", "remove", "wrap", "white-space"]
        )
    )
    if certificate is None:
        return
    der = base64.b64decode("".join((certificate.text or "").split()))
    signer_certificate = x509.load_der_x509_certificate(der)
    if action == "duplicate":
        certificate.addnext(copy.deepcopy(certificate))
    elif action == "key-value":
        key_info.insert(0, key_value(signer_certificate.public_key()))  # type: ignore[arg-type]
    elif action == "issuer-serial":
        certificate.addprevious(issuer_serial(signer_certificate))
    elif action == "replace":
        key_info.replace(key_info[0], x509_data(other.certificate))
    elif action == "remove":
        root.find(ds("Signature")).remove(key_info)  # type: ignore[union-attr]
    elif action == "wrap":
        text = "".join((certificate.text or "").split())
        certificate.text = "\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    else:
        key_info.text = "\n  "
        key_info[0].tail = "\n"


def _insert_comment(root: etree._Element, data: st.DataObject, pki: TestPki) -> None:
    element = _pick(data, list(root.iter(etree.Element)))
    if element is not None:
        element.insert(data.draw(st.integers(0, len(element))), etree.Comment("c"))


def _after_signature(root: etree._Element, data: st.DataObject, pki: TestPki) -> None:
    signature = root.find(ds("Signature"))
    if signature is not None:
        signature.tail = data.draw(st.sampled_from(["\n", "x", " ", "\n\t"]))


def _white_space_in_signature(root: etree._Element, data: st.DataObject, pki: TestPki) -> None:
    element = _pick(data, _signature_elements(root))
    if element is not None and len(element):
        element.text = (element.text or "") + "\n"


def _nothing(root: etree._Element, data: st.DataObject, pki: TestPki) -> None:
    return None


MUTATIONS: list[Mutation] = [
    _nothing,
    _change_text,
    _swap_children,
    _add_element,
    _remove_element,
    _change_attribute,
    _change_namespace,
    _declare_namespace,
    _change_value,
    _change_algorithm,
    _change_transforms,
    _change_key_info,
    _insert_comment,
    _after_signature,
    _white_space_in_signature,
]


def _flip_byte(raw: bytes, data: st.DataObject) -> bytes:
    """One byte replaced by a printable one, after the root's start tag."""
    start = raw.index(b">", raw.index(b"<", raw.index(b"?>") + 2)) + 1
    position = data.draw(st.integers(start, len(raw) - 1))
    return raw[:position] + bytes([data.draw(st.integers(0x20, 0x7E))]) + raw[position + 1 :]


@st.composite
def _documents(
    draw: st.DrawFn, samples: dict[tuple[str, KeyType], SignedSample], pki: TestPki
) -> bytes:
    """A valid signed document: a sample of some kind, or a random tree signed by noots."""
    key_type = draw(st.sampled_from([KeyType.RSA2048, KeyType.ECDSA_P256]))
    kind = draw(st.sampled_from(["envelope", "vs-token", "identity-token", "random"]))
    if kind == "random":
        credential = pki.credential(RANDOM_SIGNER, Role.CONSUMER, key_type=key_type)
        return serialize(XmlSigner(credential).sign(draw(_trees())))
    return samples[(kind, key_type)].raw


def _mutated(raw: bytes, data: st.DataObject, pki: TestPki) -> bytes:
    if data.draw(st.integers(0, 9)) == 0:
        return _flip_byte(raw, data)
    root = parse(raw)
    for mutation in data.draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=2)):
        mutation(root, data, pki)
    return serialize(root)


# --------------------------------------------------------------------------------------------
# Properties

_SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


@settings(max_examples=300, **_SETTINGS)  # type: ignore[arg-type]
@given(data=st.data())
def test_property_narrow_and_signxml_agree(
    data: st.DataObject, pki: TestPki, samples: dict[tuple[str, KeyType], SignedSample]
) -> None:
    """On valid and mutated documents the narrow verifier accepts only what signxml accepts,
    reads what signxml reads, agrees with it on every profile-shaped signature, and refuses
    every other shape."""
    raw = _mutated(data.draw(_documents(samples, pki)), data, pki)
    found = verdicts(pki, raw)
    if found is None:
        event("refused by noots.xml.parse")
    else:
        check(found, raw, event)


@settings(max_examples=60, **_SETTINGS)  # type: ignore[arg-type]
@given(data=st.data())
def test_property_narrow_signxml_and_xmlsec1_agree(
    data: st.DataObject,
    pki: TestPki,
    samples: dict[tuple[str, KeyType], SignedSample],
    xmlsec1: str,
) -> None:
    """The same with xmlsec1 as the third voice (fewer examples: one process each)."""
    raw = _mutated(data.draw(_documents(samples, pki)), data, pki)
    found = verdicts(pki, raw, xmlsec1)
    if found is None:
        event("refused by noots.xml.parse")
    else:
        check(found, raw, event)


@pytest.mark.parametrize("key_type", [KeyType.RSA2048, KeyType.ECDSA_P256])
@pytest.mark.parametrize("kind", ["envelope", "vs-token", "identity-token"])
def test_valid_samples_are_accepted_by_all_three(
    pki: TestPki,
    samples: dict[tuple[str, KeyType], SignedSample],
    xmlsec1: str,
    kind: str,
    key_type: KeyType,
) -> None:
    """Every kind of signed document noots writes verifies everywhere, with equal content."""
    raw = samples[(kind, key_type)].raw
    found = verdicts(pki, raw, xmlsec1)
    assert found is not None
    assert found.narrow.accepted
    assert found.xmlsec1 is True
    check(found, raw)


def _pretty_template(key_type: KeyType, body: etree._Element) -> bytes:
    """``body`` with an indented, empty signature of the profile, for ``xmlsec1 --sign``."""
    root = copy.deepcopy(body)
    signature = etree.SubElement(root, ds("Signature"), nsmap={"ds": DS_NS})
    signed_info = etree.SubElement(signature, ds("SignedInfo"))
    etree.SubElement(signed_info, ds("CanonicalizationMethod"), Algorithm=EXC_C14N)
    method = ECDSA_SHA256 if key_type is KeyType.ECDSA_P256 else RSA_SHA256
    etree.SubElement(signed_info, ds("SignatureMethod"), Algorithm=method)
    reference = etree.SubElement(signed_info, ds("Reference"), URI="")
    transforms = etree.SubElement(reference, ds("Transforms"))
    etree.SubElement(transforms, ds("Transform"), Algorithm=ENVELOPED)
    etree.SubElement(transforms, ds("Transform"), Algorithm=EXC_C14N)
    etree.SubElement(reference, ds("DigestMethod"), Algorithm=SHA256)
    etree.SubElement(reference, ds("DigestValue"))
    etree.SubElement(signature, ds("SignatureValue"))
    etree.SubElement(etree.SubElement(signature, ds("KeyInfo")), ds("X509Data"))
    etree.indent(root)
    return serialize(root)


@pytest.mark.parametrize("key_type", [KeyType.RSA2048, KeyType.ECDSA_P256])
def test_a_pretty_printed_signature_by_xmlsec1_is_accepted_by_all_three(
    pki: TestPki, xmlsec1: str, key_type: KeyType, tmp_path: Path
) -> None:
    """xmlsec1 signs an indented template (white space inside the signature, a line break
    after it): the profile allows that white space, and all three accept the result."""
    credential = pki.credential(RANDOM_SIGNER, Role.CONSUMER, key_type=key_type)
    # The PKI's files hold the participant's latest key type only: write this one's.
    key_path, cert_path = tmp_path / "key.pem", tmp_path / "cert.pem"
    key_path.write_bytes(
        credential.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(credential.certificate.public_bytes(serialization.Encoding.PEM))
    template = tmp_path / "template.xml"
    template.write_bytes(_pretty_template(key_type, etree.fromstring(b"<r><a>1</a><b x='2'/></r>")))
    output = tmp_path / "signed.xml"
    signing = subprocess.run(
        [
            xmlsec1,
            "--sign",
            "--privkey-pem",
            f"{key_path},{cert_path}",
            "--output",
            str(output),
            str(template),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert signing.returncode == 0, signing.stderr
    raw = output.read_bytes()
    assert b"\n  <ds:Signature" in raw
    found = verdicts(pki, raw, xmlsec1)
    assert found is not None
    assert found.narrow.accepted
    assert found.narrow.content == b'<r>\n  <a>1</a>\n  <b x="2"></b>\n  \n</r>'
    check(found, raw)


# --------------------------------------------------------------------------------------------
# Where the profile is stricter: said explicitly

# attack name -> (signxml with the policy accepts, xmlsec1 accepts); the narrow verifier
# refuses all of them. Every other attack of the kit gets the same answer from all three.
PROFILE_STRICTER: dict[str, tuple[bool, bool]] = {
    # KeyInfo: xmlsec1 picks the certificate that works; signxml (noots passes it the one
    # certificate noots found) ignores KeyName, RetrievalMethod, IssuerSerial and a KeyValue
    # that matches the certificate.
    "two-certificates-signer-first": (False, True),
    "key-value-of-signer": (True, True),
    "issuer-serial-and-certificate": (True, True),
    "key-name": (True, True),
    "retrieval-method": (True, True),
    # xmlsec1 has no key-usage policy: the CA's own key may sign documents.
    "root-as-signer": (False, True),
    # xmlsec1 has no algorithm policy; signxml's comes from noots' VerificationPolicy.
    "sha1-digest": (False, True),
    "sha512-digest": (False, True),
    "rsa-sha1": (False, True),
    "rsa-sha512": (False, True),
    "ecdsa-sha1": (False, True),
    "exc-c14n-with-comments-signedinfo": (False, True),
    "inclusive-c14n-signedinfo": (False, True),
    "inclusive-c14n-transform": (False, True),
    "c14n-1.1-signedinfo": (False, True),
    "c14n-1.1-transform": (False, True),
    "xpath-instead-of-enveloped": (False, True),
    "xpath-added": (False, True),
    "xslt-added": (False, True),
    "enveloped-only": (False, True),
    # Comments inside the signature are outside its canonical form: both accept them (signxml
    # reads SignedInfo from its canonical form, but SignatureValue from the received tree).
    "comment-in-signedinfo": (True, True),
    "comment-in-digestvalue": (True, True),
    "comment-in-signaturevalue": (False, True),
}


@pytest.mark.parametrize("key_type", [KeyType.RSA2048, KeyType.ECDSA_P256])
def test_where_the_profile_is_stricter_than_signxml_and_xmlsec1(
    pki: TestPki,
    samples: dict[tuple[str, KeyType], SignedSample],
    xmlsec1: str,
    key_type: KeyType,
) -> None:
    """For every KeyInfo, algorithm and rewrite attack of the kit: the narrow verifier refuses
    what PROFILE_STRICTER lists (and signxml and xmlsec1 answer as listed there); for all
    other attacks the three implementations give the same answer."""
    sample = samples[("envelope", key_type)]
    kit = sample.kit(pki, pki.credential(OTHER, Role.CONSUMER, key_type=key_type))
    seen: set[str] = set()
    for generator in (keyinfo_and_chain_attacks, algorithm_downgrades, harmless_rewrites):
        for attack in generator(kit):
            found = verdicts(pki, attack.raw, xmlsec1)
            assert found is not None, attack.name
            answers = (found.signxml.accepted, found.xmlsec1)
            if attack.name in PROFILE_STRICTER:
                seen.add(attack.name)
                assert not found.narrow.accepted, attack.name
                assert answers == PROFILE_STRICTER[attack.name], attack.name
            else:
                assert answers == (found.narrow.accepted, found.narrow.accepted), attack.name
                check(found, attack.raw)
    expected = {
        n
        for n in PROFILE_STRICTER
        if not n.startswith("rsa-" if key_type is KeyType.ECDSA_P256 else "ecdsa-")
    }
    assert seen == expected
