"""Fuzzing noots.tokens.verify_token: arbitrary and mutated tokens verify or raise TokenError."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from noots.errors import TokenError
from noots.pki import Role
from noots.testing.corpus import VS, token_seeds
from noots.testing.mutations import hypothesis_chooser, mutate_bytes, mutate_tree
from noots.testing.pki import TestPki
from noots.tokens import AuthorisationToken, verify_token
from noots.xml import parse, serialize

fuzz = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_PKI = TestPki()
SEEDS = token_seeds(_PKI)


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> Iterator[None]:
    yield
    _PKI.close()


def verify_or_refuse(issued: str) -> AuthorisationToken | None:
    try:
        return verify_token(issued, _PKI.verifier(), clock=_PKI.clock)
    except TokenError as error:
        refusal = error
    assert refusal.message
    return None


@fuzz
@given(st.text(max_size=512))
def test_arbitrary_text_is_refused_with_a_token_error(text: str) -> None:
    """Any text that is not a sealed token: TokenError, never another exception."""
    assert verify_or_refuse(text) is None


@fuzz
@given(st.binary(max_size=2048))
def test_base64_of_arbitrary_bytes_is_refused_with_a_token_error(data: bytes) -> None:
    """Well-formed base64 of garbage: TokenError."""
    assert verify_or_refuse(base64.b64encode(data).decode()) is None


@fuzz
@given(st.sampled_from(SEEDS), st.data())
def test_mutated_base64_is_refused_or_unchanged(seed: str, data: st.DataObject) -> None:
    """Mutations of the base64 text: TokenError, or a token equal to the seed's."""
    mutated = mutate_bytes(seed.encode(), hypothesis_chooser(data), rounds=2)
    token = verify_or_refuse(mutated.decode("utf-8", errors="replace"))
    if token is not None:
        assert token == verify_token(seed, _PKI.verifier(), clock=_PKI.clock)


@settings(fuzz, max_examples=150)
@given(st.sampled_from(SEEDS), st.data())
def test_mutated_and_resealed_tokens_verify_or_are_refused(seed: str, data: st.DataObject) -> None:
    """The VS seals a mutated token (worst case: a VS bug): schema and content checks
    refuse it with TokenError, or it verifies as a consistent token."""
    root = parse(base64.b64decode(seed))
    root.remove(root[-1])  # the seal
    mutated = mutate_tree(root, hypothesis_chooser(data), rounds=data.draw(st.integers(1, 3)))
    try:
        sealed = serialize(_PKI.signer(VS, Role.VS).sign(mutated))
    except (ValueError, TypeError):
        return
    token = verify_or_refuse(base64.b64encode(sealed).decode())
    if token is not None:
        assert token.issuer == VS
        assert token.expires_at > token.issued_at
