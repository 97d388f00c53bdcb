"""atheris harness: ``noots.tokens.verify_token`` on arbitrary strings and mutated tokens.

The first byte picks the mode: the input as token text, or a byte-level mutation of a sealed
seed token. Contract: a token, or a :class:`noots.errors.TokenError`.
Run: ``python fuzz/fuzz_tokens.py fuzz/corpus/tokens`` (see fuzz/README.md).
"""

from __future__ import annotations

import atexit
import contextlib

from _harness import bytes_chooser, instrumented, run

with instrumented(__name__):
    from noots.errors import TokenError
    from noots.testing.corpus import token_seeds
    from noots.testing.mutations import mutate_bytes
    from noots.testing.pki import TestPki
    from noots.tokens import verify_token

PKI = TestPki()
atexit.register(PKI.close)
SEEDS = token_seeds(PKI)
VERIFIER = PKI.verifier()


def TestOneInput(data: bytes) -> None:
    if data[:1] == b"\x00":
        choose = bytes_chooser(data[1:])
        seed = SEEDS[choose(len(SEEDS))].encode()
        text = mutate_bytes(seed, choose, rounds=1 + choose(3)).decode("latin-1")
    else:
        text = data.decode("utf-8", errors="surrogateescape")
    with contextlib.suppress(TokenError):
        verify_token(text, VERIFIER, clock=PKI.clock)


if __name__ == "__main__":
    run(TestOneInput)
