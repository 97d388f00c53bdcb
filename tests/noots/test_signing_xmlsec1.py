"""Interop of noots.signing with the xmlsec1 command-line tool (libxmlsec1, an independent
XMLDSig implementation): each side verifies what the other signed."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from lxml import etree

from noots.errors import SignatureInvalid
from noots.pki import IssuedCredential, KeyType, Role
from noots.signing import DS_NS, ECDSA_SHA256, ENVELOPED, EXC_C14N, RSA_SHA256, SHA256, XmlSigner
from noots.testing.pki import TestPki, sample_envelope
from noots.xml import parse, serialize

CONSUMER = "08118079-BPA-87"


@pytest.fixture(scope="module")
def xmlsec1() -> str:
    path = shutil.which("xmlsec1")
    if path is None:
        pytest.fail(
            "xmlsec1 is not installed: the XMLDSig interop tests need it "
            "(Debian/Ubuntu: apt-get install xmlsec1; CI installs it via .ci/install-system-deps)"
        )
    return path


@pytest.fixture(scope="module")
def pki() -> Iterator[TestPki]:
    with TestPki() as pki:
        yield pki


@pytest.fixture(scope="module", params=[KeyType.RSA2048, KeyType.ECDSA_P256])
def credential(request: pytest.FixtureRequest, pki: TestPki) -> IssuedCredential:
    return pki.credential(CONSUMER, Role.CONSUMER, key_type=request.param)


def _gmt(pki: TestPki) -> str:
    # xmlsec1 checks the certificate at this time, which is the TestPki's (manual) clock.
    return (pki.clock.now() + timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S")


def _xmlsec_verify(xmlsec1: str, pki: TestPki, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            xmlsec1,
            "--verify",
            "--trusted-pem",
            str(pki.trust_anchor_path),
            "--verification-gmt-time",
            _gmt(pki),
            "--enabled-reference-uris",
            "empty",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_xmlsec1_verifies_a_noots_signed_envelope(
    xmlsec1: str, pki: TestPki, credential: IssuedCredential, tmp_path: Path
) -> None:
    """An envelope signed by noots verifies with xmlsec1 against the root certificate."""
    signed = tmp_path / "signed.xml"
    signed.write_bytes(serialize(XmlSigner(credential).sign(sample_envelope())))
    result = _xmlsec_verify(xmlsec1, pki, signed)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stderr + result.stdout


def test_xmlsec1_refuses_a_tampered_noots_envelope(
    xmlsec1: str, pki: TestPki, credential: IssuedCredential, tmp_path: Path
) -> None:
    """The same check fails once one character of the signed envelope changed."""
    raw = serialize(XmlSigner(credential).sign(sample_envelope()))
    tampered = tmp_path / "tampered.xml"
    tampered.write_bytes(raw.replace(b"Bewohnerparkausweis", b"Bewohnerparkausweiz", 1))
    result = _xmlsec_verify(xmlsec1, pki, tampered)
    assert result.returncode != 0


def test_xmlsec1_refuses_a_noots_envelope_from_another_ca(
    xmlsec1: str, pki: TestPki, tmp_path: Path
) -> None:
    """xmlsec1 with our trust anchor refuses a signature under a different CA."""
    with TestPki(clock=pki.clock, root_key_type=KeyType.ECDSA_P256) as other:
        raw = serialize(other.signer(CONSUMER, key_type=KeyType.ECDSA_P256).sign(sample_envelope()))
    foreign = tmp_path / "foreign.xml"
    foreign.write_bytes(raw)
    assert _xmlsec_verify(xmlsec1, pki, foreign).returncode != 0


def _template(credential: IssuedCredential) -> bytes:
    envelope = sample_envelope()
    ds = f"{{{DS_NS}}}"
    signature = etree.SubElement(envelope, ds + "Signature", nsmap={"ds": DS_NS})
    signed_info = etree.SubElement(signature, ds + "SignedInfo")
    etree.SubElement(signed_info, ds + "CanonicalizationMethod", Algorithm=EXC_C14N)
    method = ECDSA_SHA256 if credential.key_type is KeyType.ECDSA_P256 else RSA_SHA256
    etree.SubElement(signed_info, ds + "SignatureMethod", Algorithm=method)
    reference = etree.SubElement(signed_info, ds + "Reference", URI="")
    transforms = etree.SubElement(reference, ds + "Transforms")
    etree.SubElement(transforms, ds + "Transform", Algorithm=ENVELOPED)
    etree.SubElement(transforms, ds + "Transform", Algorithm=EXC_C14N)
    etree.SubElement(reference, ds + "DigestMethod", Algorithm=SHA256)
    etree.SubElement(reference, ds + "DigestValue")
    etree.SubElement(signature, ds + "SignatureValue")
    etree.SubElement(etree.SubElement(signature, ds + "KeyInfo"), ds + "X509Data")
    return serialize(envelope)


def _xmlsec_sign(xmlsec1: str, credential: IssuedCredential, tmp_path: Path) -> bytes:
    template = tmp_path / "template.xml"
    template.write_bytes(_template(credential))
    output = tmp_path / "xmlsec-signed.xml"
    result = subprocess.run(
        [
            xmlsec1,
            "--sign",
            "--privkey-pem",
            f"{credential.key_path},{credential.cert_path}",
            "--output",
            str(output),
            str(template),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return output.read_bytes()


def test_noots_verifies_an_envelope_signed_by_xmlsec1(
    xmlsec1: str, pki: TestPki, credential: IssuedCredential, tmp_path: Path
) -> None:
    """A template signed by xmlsec1 with a noots-issued key and certificate verifies with noots."""
    raw = _xmlsec_sign(xmlsec1, credential, tmp_path)
    result = pki.verifier().verify(parse(raw), required_role=Role.CONSUMER)
    assert result.signer.participant_id == CONSUMER
    assert result.element.findtext(
        "{urn:noots:transport:1}Header/{urn:noots:transport:1}Sender"
    ) == (CONSUMER)


def test_noots_refuses_a_tampered_envelope_signed_by_xmlsec1(
    xmlsec1: str, pki: TestPki, credential: IssuedCredential, tmp_path: Path
) -> None:
    """One changed character in the xmlsec1-signed envelope fails noots verification."""
    raw = _xmlsec_sign(xmlsec1, credential, tmp_path)
    tampered = raw.replace(b"Bewohnerparkausweis", b"Bewohnerparkausweiz", 1)
    assert tampered != raw
    with pytest.raises(SignatureInvalid):
        pki.verifier().verify(parse(tampered))
