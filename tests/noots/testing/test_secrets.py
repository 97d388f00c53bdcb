"""noots.testing.secrets finds private key material in any encoding, and nothing public."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from noots.pki import KeyType, PrivateKey, Role
from noots.testing.pki import TestPki
from noots.testing.secrets import PEM_MARKER, KeyMaterial

NONE = serialization.NoEncryption()


@pytest.fixture(scope="module")
def pki() -> Iterator[TestPki]:
    with TestPki() as pki:
        pki.credential("08118079-BPA-87", Role.CONSUMER)
        pki.credential("noots-vs", Role.VS, key_type=KeyType.ECDSA_P256)
        yield pki


@pytest.fixture(scope="module")
def keys(pki: TestPki) -> KeyMaterial:
    return KeyMaterial.from_pki_dir(pki.directory)


def encodings(key: PrivateKey) -> dict[str, str]:
    """Ways a careless log line could carry a private key."""
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, NONE
    ).decode()
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, NONE)
    if isinstance(key, rsa.RSAPrivateKey):
        secret = key.private_numbers().d
    else:
        secret = key.private_numbers().private_value
    return {
        "pem without its header": "\n".join(pem.splitlines()[1:-1]),
        "one-line base64 of the DER": f"key={base64.b64encode(der).decode()}",
        "hex of the DER": der.hex(),
        "private scalar, decimal": f"d={secret}",
        "private scalar, hex": f"{secret:#x}",
    }


@pytest.mark.parametrize("participant", ["08118079-BPA-87", "noots-vs"])
def test_every_encoding_of_a_key_is_found(
    participant: str, pki: TestPki, keys: KeyMaterial
) -> None:
    """PEM lines, one-line base64, DER hex and the private scalar each name the key."""
    key = pki.ca.credential(participant).private_key
    for what, text in encodings(key).items():
        assert keys.leaks(f"log line: {text} end") == [participant], what


def test_a_pem_header_alone_is_a_leak(keys: KeyMaterial) -> None:
    """The marker of any private key PEM header is reported on its own."""
    assert keys.leaks("-----BEGIN RSA PRIVATE KEY-----") == [PEM_MARKER]


def test_public_material_is_not_a_leak(pki: TestPki, keys: KeyMaterial) -> None:
    """Certificates, public keys and the CRL (PEM, DER hex) are public: never flagged."""
    texts: list[str | bytes] = [pki.trust_anchor_path.read_bytes(), pki.ca.crl_path.read_bytes()]
    for participant in ("08118079-BPA-87", "noots-vs"):
        credential = pki.ca.credential(participant)
        certificate = credential.certificate
        texts.append(certificate.public_bytes(serialization.Encoding.PEM))
        texts.append(certificate.public_bytes(serialization.Encoding.DER).hex())
        texts.append(
            credential.private_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    assert keys.leaks(texts) == []


def test_keys_of_every_participant_and_the_ca_are_covered(keys: KeyMaterial) -> None:
    """from_pki_dir reads the root key and each participant's key."""
    assert set(keys.fragments) == {"root CA", "08118079-BPA-87", "noots-vs"}
    assert all(len(fragments) >= 5 for fragments in keys.fragments.values())
