"""atheris harness: ``noots.envelope.open_envelope`` on signed transport envelopes.

The first byte picks the mode: the input as raw envelope bytes; a byte-level mutation of a
valid signed seed; a structure-aware mutation of it; or a structure-aware mutation of the
unsigned envelope that is then signed with a valid consumer key (an insider), which drives
the input past the signature into the schema and header checks.
Contract: an opened envelope whose sender is its signer, or a
:class:`noots.errors.NootsError`; anything else is a finding.
Run: ``python fuzz/fuzz_envelope.py fuzz/corpus/envelope`` (see fuzz/README.md).
"""

from __future__ import annotations

import atexit

from _harness import bytes_chooser, instrumented, run

with instrumented(__name__):
    from lxml import etree

    from noots.envelope import open_envelope
    from noots.errors import NootsError
    from noots.pki import Role
    from noots.signing import DS_NS
    from noots.testing.corpus import CONSUMER, envelope_seeds
    from noots.testing.mutations import mutate_bytes, mutate_tree
    from noots.testing.pki import TestPki
    from noots.xml import parse

PKI = TestPki()
atexit.register(PKI.close)
SEEDS = envelope_seeds(PKI)
VERIFIER = PKI.verifier()
SIGNER = PKI.signer(CONSUMER, Role.CONSUMER)


def _resigned(seed: bytes, data: bytes) -> bytes | None:
    root = parse(seed)
    root.remove(root.find(f"{{{DS_NS}}}Signature"))
    mutated = mutate_tree(root, bytes_chooser(data), rounds=1 + len(data) % 3)
    if next(mutated.iter(f"{{{DS_NS}}}Signature"), None) is not None:
        return None
    try:
        signed = SIGNER.sign(mutated)
    except (ValueError, TypeError):
        return None
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))


def TestOneInput(data: bytes) -> None:
    mode, rest = (data[0] % 4, data[1:]) if data else (0, b"")
    raw: bytes | None = data
    if mode:
        choose = bytes_chooser(rest)
        seed = SEEDS[choose(len(SEEDS))]
        if mode == 1:
            raw = mutate_bytes(seed, choose, rounds=1 + choose(3))
        elif mode == 2:
            raw = etree.tostring(mutate_tree(parse(seed), choose, rounds=1 + choose(3)))
        else:
            raw = _resigned(seed, rest)
    if raw is None:
        return
    try:
        opened = open_envelope(raw, VERIFIER)
    except NootsError:
        return
    if opened.header.sender != opened.signer.participant_id:
        raise AssertionError("an envelope opened whose sender is not its signer")


if __name__ == "__main__":
    run(TestOneInput)
