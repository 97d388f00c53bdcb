"""When the client tries again, how long it waits, and for how long it waits at most (DC-06, DC-08).

A retry hands the *same* ``DE.EvidenceRequest.0101`` (same ``id``, same ``nachrichtenUUID``) to
the SAK again, which sends it in a fresh transport envelope: the provider's SAK keys its replay
guard on the envelope id, so the fresh envelope is accepted, while the unchanged XNachweis ids
let the provider and the protocol logs recognise the attempts as one request
(docs/PROTOCOL.md, "MessageId").
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from noots.consumers._sak import UnlistedCodeError
from noots.errors import EdmCode, NootsError, QueryError, UpstreamError

__all__ = ["AsyncSleeper", "RetryPolicy", "TransportFailed", "is_retryable", "real_sleep"]


class TransportFailed(UpstreamError):
    """No answer at all: connection refused or reset, read timeout, a failing gateway's page
    instead of an XNachweis answer.

    A subclass of :class:`~noots.errors.UpstreamError` (EDM:ERR:0008), so callers that only
    know the core tree still handle it; the client retries it.
    """


class AsyncSleeper(Protocol):
    """Waits; tests inject one that records the delays (and moves a manual clock)."""

    async def __call__(self, seconds: float) -> None: ...


async def real_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded attempts with exponential backoff and jitter.

    ``max_attempts`` counts every send of one request, the first included. ``max_pending_wait``
    bounds the total time spent waiting for an asynchronous answer (ResponseAvailableDateTime);
    ``max_collections`` bounds how often the client comes back for it.
    """

    max_attempts: int = 3
    base_delay: float = 0.2
    multiplier: float = 2.0
    max_delay: float = 5.0
    jitter: float = 0.25
    max_pending_wait: timedelta = timedelta(minutes=2)
    max_collections: int = 5

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.multiplier < 1:
            raise ValueError("delays must be non-negative and the multiplier at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter is a fraction between 0 and 1")
        if self.max_collections < 0 or self.max_pending_wait < timedelta(0):
            raise ValueError("the pending bounds must be non-negative")

    def delay(self, failed_attempts: int, rng: random.Random) -> float:
        """Seconds to wait after the ``failed_attempts``-th failure (1-based) before the next.

        The exponential part is capped at ``max_delay`` and then spread by ±``jitter`` so that
        many clients failing together do not come back in lockstep.
        """
        if failed_attempts < 1:
            raise ValueError("failed_attempts is 1-based")
        raw = min(self.max_delay, self.base_delay * self.multiplier ** (failed_attempts - 1))
        spread = raw * self.jitter
        return max(0.0, raw + rng.uniform(-spread, spread))


#: Codes that describe a passing condition. Everything else is an answer that the same request
#: would get again (refused authorisation, unknown person, ...), so repeating it is pointless.
_TRANSIENT_CODES = frozenset({EdmCode.TIMEOUT})


def is_retryable(error: NootsError, *, http_status: int | None = None) -> bool:
    """Whether sending the same request again could succeed.

    Retryable: transport failures (no answer, connection refused, timeout), an answer with
    ``EDM:ERR:0005``, and an ``EDM:ERR:0008`` the SAK answers with a gateway status
    (502/503/504: a component behind it failed). Never retryable: an answer that failed the
    client's checks, every other error code, and codes outside the EDM list (nothing is known
    about them).
    """
    if isinstance(error, TransportFailed) or error.code in _TRANSIENT_CODES:
        return True
    if isinstance(error, UnlistedCodeError):
        return False
    return isinstance(error, QueryError) and http_status in {502, 503, 504}
