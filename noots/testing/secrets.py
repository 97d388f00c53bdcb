"""Find private key material in text: logs, error messages, reports, reprs.

::

    keys = KeyMaterial.from_pki_dir(data_dir / "pki")     # the CA's and every participant's
    assert keys.leaks(caplog.text) == []
    assert keys.leaks(report_path.read_bytes()) == []

A key counts as leaked when any of its fragments appears: a line of its PEM body (PKCS#8 as
stored, and the traditional OpenSSL form), which also catches the DER in one-line base64; the
leading digits of its private scalar (RSA ``d``, the EC private value) in hex and in decimal;
the hex of its DER encoding. The marker ``PRIVATE KEY`` of any PEM header is a leak by itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from noots.pki import PrivateKey

__all__ = ["PEM_MARKER", "KeyMaterial", "fragments_of"]

#: Part of every PEM header of a private key (PKCS#8, RSA, EC, encrypted).
PEM_MARKER = "PRIVATE KEY"
_PEM_LINE = re.compile(r"^[A-Za-z0-9+/=]{40,}$")


def _pem_lines(pem: bytes) -> list[str]:
    return [line for line in pem.decode("ascii").splitlines() if _PEM_LINE.fullmatch(line)]


def fragments_of(key: PrivateKey) -> tuple[str, ...]:
    """The strings whose presence in a text shows that ``key`` leaked."""
    none = serialization.NoEncryption()
    pem = serialization.PrivateFormat
    encoding = serialization.Encoding
    fragments = [
        *_pem_lines(key.private_bytes(encoding.PEM, pem.PKCS8, none)),
        *_pem_lines(key.private_bytes(encoding.PEM, pem.TraditionalOpenSSL, none)),
    ]
    der = key.private_bytes(encoding.DER, pem.PKCS8, none)
    # The DER's tail holds the secret; the head is a fixed header shared by every key.
    fragments.append(der[len(der) // 2 :][:32].hex())
    if isinstance(key, rsa.RSAPrivateKey):
        secret = key.private_numbers().d
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        secret = key.private_numbers().private_value
    else:  # pragma: no cover - PrivateKey is RSA or EC
        raise TypeError(f"unsupported key type {type(key).__name__}")
    fragments.append(format(secret, "x")[:32])
    fragments.append(str(secret)[:40])
    return tuple(dict.fromkeys(fragments))


@dataclass(frozen=True)
class KeyMaterial:
    """Fragments of named private keys; :meth:`leaks` says which ones a text contains."""

    fragments: Mapping[str, tuple[str, ...]]

    @classmethod
    def of_keys(cls, keys: Mapping[str, PrivateKey]) -> KeyMaterial:
        return cls({name: fragments_of(key) for name, key in keys.items()})

    @classmethod
    def from_pki_dir(cls, pki_dir: str | Path) -> KeyMaterial:
        """The root CA's key and every participant's key of a simulator PKI directory."""
        directory = Path(pki_dir)
        paths = {"root CA": directory / "ca" / "root-key.pem"}
        for key_path in sorted((directory / "participants").glob("*/key.pem")):
            paths[key_path.parent.name] = key_path
        keys: dict[str, PrivateKey] = {}
        for name, path in paths.items():
            # Only fragments are derived: the (slow) RSA consistency check adds nothing here.
            key = serialization.load_pem_private_key(
                path.read_bytes(), password=None, unsafe_skip_rsa_key_validation=True
            )
            if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
                raise TypeError(f"{path}: unsupported key type {type(key).__name__}")
            keys[name] = key
        return cls.of_keys(keys)

    def leaks(self, text: str | bytes | Iterable[str | bytes]) -> list[str]:
        """The names of the keys found in ``text`` (and ``PRIVATE KEY`` for a PEM header)."""
        if isinstance(text, str | bytes):
            text = [text]
        found: list[str] = []
        for part in text:
            haystack = part.decode("utf-8", errors="replace") if isinstance(part, bytes) else part
            if PEM_MARKER in haystack and PEM_MARKER not in found:
                found.append(PEM_MARKER)
            for name, fragments in self.fragments.items():
                if name not in found and any(f in haystack for f in fragments):
                    found.append(name)
        return found
