"""What XMLDSig costs on top of the raw cryptography, for one envelope-sized document.

Run: ``python3 bench/crypto.py [--rounds N]``. Prints medians; never asserts. For each key type
(RSA-2048, ECDSA P-256) it measures noots sign (``XmlSigner.sign``) and noots verify
(``XmlVerifier.verify`` of a parsed document, including the signature shape checks, the
certificate path validation and the CRL check), and one raw signature / verification of the
same number of bytes with ``cryptography`` alone, with the same key. The hardened parse
(``noots.xml.parse``) that precedes every verification is timed on its own.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from noots.pki import KeyType, Role
from noots.signing import XmlSigner
from noots.testing.pki import TestPki, sample_envelope
from noots.xml import parse, serialize


def median_seconds(action: Callable[[], object], rounds: int) -> float:
    for _ in range(max(3, rounds // 10)):  # warm caches (certificate, schema, key objects)
        action()
    samples = []
    for _ in range(rounds):
        # CPU time of this process: on a shared machine wall-clock medians mostly measure the
        # neighbours; what noots costs is the CPU it burns.
        start = time.process_time()
        action()
        samples.append(time.process_time() - start)
    return statistics.median(samples)


def raw_sign_and_verify(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, data: bytes):  # type: ignore[no-untyped-def]
    if isinstance(key, rsa.RSAPrivateKey):
        rsa_key = key

        def sign() -> bytes:
            return rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA256())

        signature = sign()
        public = rsa_key.public_key()

        def verify() -> None:
            public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())

        return sign, verify
    ec_key = key

    def sign_ec() -> bytes:
        return ec_key.sign(data, ec.ECDSA(hashes.SHA256()))

    signature = sign_ec()
    ec_public = ec_key.public_key()

    def verify_ec() -> None:
        ec_public.verify(signature, data, ec.ECDSA(hashes.SHA256()))

    return sign_ec, verify_ec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    rounds = parser.parse_args().rounds

    document = sample_envelope()
    unsigned = serialize(document)
    print(
        f"document: {len(unsigned)} bytes unsigned, {rounds} rounds, median CPU time per operation"
    )
    print()
    header = (
        f"{'key':<11} {'noots sign':>11} {'raw sign':>10} {'ratio':>7}   "
        f"{'noots verify':>12} {'raw verify':>10} {'ratio':>7}   {'parse':>8} {'signed size':>11}"
    )
    print(header)
    print("-" * len(header))
    with TestPki() as pki:
        verifier = pki.verifier()
        for key_type in (KeyType.RSA2048, KeyType.ECDSA_P256):
            credential = pki.credential("08118079-BPA-87", Role.CONSUMER, key_type=key_type)
            signer = XmlSigner(credential)
            signed = serialize(signer.sign(document))
            verifier.verify(parse(signed), required_role=Role.CONSUMER)  # it must verify at all

            noots_sign = median_seconds(lambda s=signer: s.sign(document), rounds)
            received = parse(signed)  # verify() does not modify the tree it is given
            noots_verify = median_seconds(
                lambda root=received: verifier.verify(root, required_role=Role.CONSUMER), rounds
            )
            parse_time = median_seconds(lambda raw=signed: parse(raw), rounds)
            raw_sign, raw_verify = raw_sign_and_verify(credential.private_key, unsigned)
            sign_raw = median_seconds(raw_sign, rounds)
            verify_raw = median_seconds(raw_verify, rounds)
            print(
                f"{key_type.value:<11} {noots_sign * 1e3:>9.3f}ms {sign_raw * 1e3:>8.3f}ms "
                f"{noots_sign / sign_raw:>6.1f}x   {noots_verify * 1e3:>10.3f}ms "
                f"{verify_raw * 1e3:>8.3f}ms {noots_verify / verify_raw:>6.1f}x   "
                f"{parse_time * 1e3:>6.3f}ms {len(signed):>9} B"
            )
    print()
    print("noots verify = shape checks + certificate path validation (signature check cached,")
    print("time and CRL checked every call) + signxml (which copies the tree several times).")
    print("parse = noots.xml.parse of the signed bytes, done once per received message.")


if __name__ == "__main__":
    main()
