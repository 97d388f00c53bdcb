"""Tests for noots.consumers._retry: backoff bounds and which failures are retried (DC-08)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from noots.consumers._retry import RetryPolicy, TransportFailed, is_retryable
from noots.consumers._sak import UnlistedCodeError
from noots.errors import (
    AuthorisationRefused,
    NotFound,
    PersonNotFound,
    QueryError,
    SignatureInvalid,
    UpstreamTimeout,
    error_for_code,
)


@given(attempt=st.integers(min_value=1, max_value=40), seed=st.integers(0, 2**32))
def test_delay_stays_within_jittered_cap(attempt: int, seed: int) -> None:
    """Every delay is non-negative and at most max_delay plus the jitter spread."""
    policy = RetryPolicy(base_delay=0.1, multiplier=2.0, max_delay=3.0, jitter=0.25)
    delay = policy.delay(attempt, random.Random(seed))
    assert 0 <= delay <= 3.0 * 1.25


def test_delay_grows_exponentially_without_jitter() -> None:
    """Without jitter the delays double until the cap."""
    policy = RetryPolicy(base_delay=0.5, multiplier=2.0, max_delay=3.0, jitter=0.0)
    rng = random.Random(1)
    assert [policy.delay(n, rng) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_jitter_spreads_clients_apart() -> None:
    """Two clients with different random streams do not wait the same time."""
    policy = RetryPolicy(base_delay=1.0, jitter=0.5)
    assert policy.delay(2, random.Random(1)) != policy.delay(2, random.Random(2))


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"jitter": 1.5}, {"multiplier": 0.5}, {"base_delay": -1}],
)
def test_policy_refuses_unsafe_values(kwargs: dict[str, float]) -> None:
    """A policy that could loop forever or wait negatively is refused at construction."""
    with pytest.raises(ValueError, match=r"must|fraction"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_transport_failures_and_timeouts_are_retried() -> None:
    """No answer at all, and EDM:ERR:0005 answers, are worth another attempt."""
    assert is_retryable(TransportFailed("connection refused"))
    assert is_retryable(UpstreamTimeout("late"))
    assert is_retryable(error_for_code("EDM:ERR:0005", "late"), http_status=504)


def test_gateway_query_errors_are_retried_but_not_provider_query_errors() -> None:
    """A 0008 reported with 502 (component behind failed) is retried; with 500 it is not."""
    assert is_retryable(QueryError("register down"), http_status=502)
    assert not is_retryable(QueryError("broken"), http_status=500)


def test_codes_outside_the_edm_list_are_never_retried() -> None:
    """Nothing is known about an unlisted code: not retried, even behind a gateway status."""
    assert not is_retryable(UnlistedCodeError("NOOTS:ERR:4711", "x"), http_status=502)


@pytest.mark.parametrize(
    "error",
    [
        AuthorisationRefused("no"),
        NotFound("nothing"),
        PersonNotFound("nobody"),
        SignatureInvalid("forged"),
    ],
)
def test_final_answers_are_not_retried(error: Exception) -> None:
    """Refusals, unknown persons and forged answers would come again: no retry."""
    assert not is_retryable(error, http_status=502)  # type: ignore[arg-type]
