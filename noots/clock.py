"""Injectable time: every check that depends on "now" takes a :class:`Clock`.

Tests and scenarios move time with :class:`ManualClock` instead of sleeping or patching.
All instants are timezone-aware UTC.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "SystemClock", "format_utc", "parse_utc", "utcnow"]


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real wall clock, optionally shifted by a fixed offset (the simulated clock of a
    running landscape moves this offset, so every check in that process sees the same time)."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


class ManualClock:
    """A clock that only moves when told to; thread-safe."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("ManualClock.set needs a timezone-aware instant")
        with self._lock:
            self._now = instant.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def format_utc(instant: datetime, *, millis: bool = False) -> str:
    """``2026-11-22T09:14:05Z`` (or with ``.123`` milliseconds): UTC with an explicit zone."""
    if instant.tzinfo is None:
        raise ValueError("refusing to format a naive datetime: the zone would be lost")
    instant = instant.astimezone(UTC)
    if millis:
        return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(text: str) -> datetime:
    """Parse an ``xs:dateTime`` that carries a zone; a value without zone is refused."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"date-time without time zone: {text!r}")
    return value.astimezone(UTC)
