"""What IAM access tokens cost (noots.access): issuing one, checking a client assertion, and a
resource's verification of a token, the first time (signature, IAM certificate, claims) and
from its cache (times, CRL look-up of the client's serial, audience).

Run: ``python3 bench/access.py [--tokens N]``. Prints the mean CPU time per operation (process
time, so other load on the machine does not inflate it) for RSA-2048 and ECDSA P-256; never
asserts. Compare with a register's CPU per exchange (~12 ms, docs/PERFORMANCE.md): a resource
verifies each client's token once per token lifetime (300 s) and reads it from the cache after.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from noots.access import verify_client_assertion
from noots.pki import KeyType, Role
from noots.testing.iam import TestIam
from noots.testing.pki import TestPki

CLIENT = "08118079-BPA-87.sak"
RESOURCE = "noots-rdn"


def cpu_per_call(function: Callable[[str], object], items: Sequence[str], rounds: int = 1) -> float:
    start = time.process_time()
    for _ in range(rounds):
        for item in items:
            function(item)
    return (time.process_time() - start) / (rounds * len(items))


def row(key_type: KeyType, count: int) -> str:
    """One table row: the costs with keys of ``key_type``, over ``count`` tokens."""
    with TestPki(key_type=key_type) as pki:
        iam = TestIam(pki)
        validator = pki.validator()
        verifier = iam.verifier(RESOURCE, cache_size=count)
        verifier.verify(iam.token("warm-up", RESOURCE))  # the IAM certificate's path, once

        def issue(_: str) -> str:
            return iam.token(CLIENT, RESOURCE, role=Role.SAK)

        def check(assertion: str) -> object:
            return verify_client_assertion(
                assertion, validator=validator, iam_id=iam.iam_id, clock=pki.clock
            )

        issued = cpu_per_call(issue, ["x"] * count)
        tokens = [issue("x") for _ in range(count)]
        checked = cpu_per_call(check, [iam.assertion(CLIENT, Role.SAK) for _ in range(count)])
        first = cpu_per_call(verifier.verify, tokens)
        cached = cpu_per_call(verifier.verify, tokens, rounds=10)
    return (
        f"| {key_type.value} | {issued * 1e3:.2f} ms | {checked * 1e3:.2f} ms "
        f"| {first * 1e3:.2f} ms | {cached * 1e6:.1f} µs | {len(tokens[0])} chars |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=400)
    options = parser.parse_args()
    print("| key type | issue | assertion check | verify (first) | verify (cached) | token |")
    print("|---|---:|---:|---:|---:|---:|")
    for key_type in (KeyType.RSA2048, KeyType.ECDSA_P256):
        print(row(key_type, options.tokens))


if __name__ == "__main__":
    main()
