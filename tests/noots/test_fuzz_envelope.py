"""Fuzzing noots.envelope.open_envelope: mutated envelopes open or fail with a typed error."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from noots.envelope import ENV_NS, OpenedEnvelope, open_envelope, parse_error_body
from noots.errors import NootsError, SignatureInvalid
from noots.pki import Role
from noots.signing import DS_NS
from noots.testing.corpus import CONSUMER, envelope_seeds
from noots.testing.mutations import hypothesis_chooser, mutate_bytes, mutate_tree
from noots.testing.pki import TestPki
from noots.xml import parse

fuzz = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_PKI = TestPki()
SEEDS = envelope_seeds(_PKI)


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> Iterator[None]:
    yield
    _PKI.close()


def open_or_refuse(raw: bytes) -> OpenedEnvelope | None:
    try:
        opened = open_envelope(raw, _PKI.verifier())
    except NootsError as error:
        refusal = error
    else:
        # An envelope that opens is well-formed where it counts.
        assert opened.header.sender == opened.signer.participant_id
        assert isinstance(opened.body.tag, str)
        return opened
    assert refusal.message
    return None


@fuzz
@given(st.sampled_from(SEEDS), st.data())
def test_byte_mutated_envelopes_are_refused_with_a_typed_error(
    seed: bytes, data: st.DataObject
) -> None:
    """Any byte change to a signed envelope: a NootsError (or, rarely, an unchanged meaning)."""
    mutated = mutate_bytes(seed, hypothesis_chooser(data), rounds=data.draw(st.integers(1, 3)))
    opened = open_or_refuse(mutated)
    if opened is not None:
        # Only changes outside the signed content can pass: the header is the seed's.
        original = open_envelope(seed, _PKI.verifier())
        assert opened.header == original.header


@fuzz
@given(st.sampled_from(SEEDS), st.data())
def test_structurally_mutated_envelopes_are_refused_with_a_typed_error(
    seed: bytes, data: st.DataObject
) -> None:
    """Element-level changes of a signed envelope (signature included) never crash."""
    mutated = mutate_tree(
        parse(seed), hypothesis_chooser(data), rounds=data.draw(st.integers(1, 3))
    )
    open_or_refuse(etree.tostring(mutated))


@settings(fuzz, max_examples=150)
@given(st.sampled_from(SEEDS), st.data())
def test_mutated_then_signed_envelopes_open_or_fail_the_schema(
    seed: bytes, data: st.DataObject
) -> None:
    """An insider signs a mutated envelope with a valid key: the schema and header checks
    refuse it with a typed error, or it opens with a consistent header."""
    root = parse(seed)
    signature = root.find(f"{{{DS_NS}}}Signature")
    assert signature is not None
    root.remove(signature)
    mutated = mutate_tree(root, hypothesis_chooser(data), rounds=data.draw(st.integers(1, 3)))
    if next(mutated.iter(f"{{{DS_NS}}}Signature"), None) is not None:
        return
    try:
        signed = _PKI.signer(CONSUMER, Role.CONSUMER).sign(mutated)
    except (ValueError, TypeError):
        return  # the signer refuses to sign it: nothing to send
    raw = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
    opened = open_or_refuse(raw)
    if opened is not None and opened.body.tag == f"{{{ENV_NS}}}Error":
        with contextlib.suppress(NootsError):
            parse_error_body(opened.body)


@fuzz
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_are_refused_with_a_typed_error(data: bytes) -> None:
    """Random bytes are never an envelope."""
    assert open_or_refuse(data) is None


def test_a_relative_namespace_uri_is_a_signature_error() -> None:
    """Found by the byte fuzzer: C14N cannot process a relative namespace URI; the verifier
    reports SignatureInvalid instead of letting lxml's C14NError escape."""
    seed = SEEDS[0]
    broken = seed.replace(b'xmlns:bn-beh="http://', b'xmlns:bn-beh="http;//', 1)
    assert broken != seed
    with pytest.raises(SignatureInvalid):
        open_envelope(broken, _PKI.verifier())
