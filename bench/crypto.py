"""What XMLDSig costs, signxml against noots' narrow implementation, for one envelope.

Run: ``python3 bench/crypto.py [--rounds N]`` (or ``noots bench crypto``). Prints medians of CPU
time; never asserts. For each key type (RSA-2048, ECDSA P-256) and the sample envelope (the
official example 0101 in a transport envelope, about 6 kB):

- verify: ``XmlVerifier.verify`` (the narrow verifier of ``noots._dsig``, the default) and
  ``SignxmlVerifier.verify`` (the same policy checks and certificate path validation, then
  signxml) of a parsed document, both including the shape checks, the certificate path
  validation with the CRL check, and the parse of what was signed;
- sign: ``XmlSigner.sign`` (narrow) and ``SignxmlSigner.sign``;
- raw: one signature / verification of the same number of bytes with ``cryptography`` alone,
  with the same key (the floor);
- parse: ``noots.xml.parse`` of the signed bytes, which precedes every verification.
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
from noots.signing import SignxmlSigner, SignxmlVerifier, XmlSigner, XmlVerifier
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


def raw_sign_and_verify(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, data: bytes
) -> tuple[Callable[[], object], Callable[[], object]]:
    if isinstance(key, rsa.RSAPrivateKey):
        rsa_key = key
        rsa_signature = rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        rsa_public = rsa_key.public_key()
        return (
            lambda: rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA256()),
            lambda: rsa_public.verify(rsa_signature, data, padding.PKCS1v15(), hashes.SHA256()),
        )
    ec_key = key
    ec_signature = ec_key.sign(data, ec.ECDSA(hashes.SHA256()))
    ec_public = ec_key.public_key()
    return (
        lambda: ec_key.sign(data, ec.ECDSA(hashes.SHA256())),
        lambda: ec_public.verify(ec_signature, data, ec.ECDSA(hashes.SHA256())),
    )


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    rounds = parser.parse_args().rounds

    document = sample_envelope()
    unsigned = serialize(document)
    print(
        f"document: {len(unsigned)} bytes unsigned, {rounds} rounds, median CPU time per operation"
    )
    verify_rows: list[str] = []
    sign_rows: list[str] = []
    with TestPki() as pki:
        narrow_verifier = XmlVerifier(pki.validator())
        signxml_verifier = SignxmlVerifier(pki.validator())
        for key_type in (KeyType.RSA2048, KeyType.ECDSA_P256):
            credential = pki.credential("08118079-BPA-87", Role.CONSUMER, key_type=key_type)
            narrow_signer, signxml_signer = XmlSigner(credential), SignxmlSigner(credential)
            signed = serialize(narrow_signer.sign(document))
            received = parse(signed)  # verify() does not modify the tree it is given
            for verifier in (narrow_verifier, signxml_verifier):  # both must accept it at all
                verifier.verify(received, required_role=Role.CONSUMER)

            narrow_verify = median_seconds(
                lambda root=received: narrow_verifier.verify(root, required_role=Role.CONSUMER),
                rounds,
            )
            signxml_verify = median_seconds(
                lambda root=received: signxml_verifier.verify(root, required_role=Role.CONSUMER),
                rounds,
            )
            narrow_sign = median_seconds(lambda s=narrow_signer: s.sign(document), rounds)
            signxml_sign = median_seconds(lambda s=signxml_signer: s.sign(document), rounds)
            parse_time = median_seconds(lambda raw=signed: parse(raw), rounds)
            raw_sign, raw_verify = raw_sign_and_verify(credential.private_key, unsigned)
            sign_raw = median_seconds(raw_sign, rounds)
            verify_raw = median_seconds(raw_verify, rounds)
            verify_rows.append(
                f"{key_type.value:<11} {ms(signxml_verify):>11} {ms(narrow_verify):>11} "
                f"{signxml_verify / narrow_verify:>7.1f}x {ms(verify_raw):>10} "
                f"{narrow_verify / verify_raw:>9.1f}x {ms(parse_time):>9}"
            )
            sign_rows.append(
                f"{key_type.value:<11} {ms(signxml_sign):>11} {ms(narrow_sign):>11} "
                f"{signxml_sign / narrow_sign:>7.1f}x {ms(sign_raw):>10} "
                f"{narrow_sign / sign_raw:>9.1f}x {len(signed):>7} B"
            )
    for title, header, rows in (
        (
            "verify (of a parsed envelope)",
            f"{'key':<11} {'signxml':>11} {'narrow':>11} {'speed-up':>8} {'raw':>10} "
            f"{'narrow/raw':>10} {'parse':>9}",
            verify_rows,
        ),
        (
            "sign",
            f"{'key':<11} {'signxml':>11} {'narrow':>11} {'speed-up':>8} {'raw':>10} "
            f"{'narrow/raw':>10} {'signed':>9}",
            sign_rows,
        ),
    ):
        print()
        print(title)
        print(header)
        print("-" * len(header))
        for row in rows:
            print(row)
    print()
    print("verify = shape checks + certificate path validation (signature check cached, time and")
    print("CRL checked every call) + signature value + digest + parse of what was signed.")
    print("narrow = noots._dsig (the default); signxml = SignxmlVerifier / SignxmlSigner.")
    print("parse = noots.xml.parse of the signed bytes, done once per received message.")


if __name__ == "__main__":
    main()
