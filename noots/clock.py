"""Injectable time: every check that depends on "now" takes a :class:`Clock`.

Tests and scenarios move time with :class:`ManualClock` instead of sleeping or patching.
All instants are timezone-aware UTC.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = [
    "Clock",
    "LandscapeClock",
    "ManualClock",
    "SystemClock",
    "advance_shared_offset",
    "format_utc",
    "parse_utc",
    "read_shared_offset",
    "utcnow",
    "write_shared_offset",
]


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


def read_shared_offset(path: Path) -> timedelta:
    """The shared offset stored at ``path`` (zero when there is none or it is unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        seconds = float(data["offsetSeconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return timedelta(0)
    if seconds != seconds or abs(seconds) > 100 * 365 * 86400:  # NaN or absurd: ignore
        return timedelta(0)
    return timedelta(seconds=seconds)


def write_shared_offset(path: Path, offset: timedelta) -> None:
    """Move the clock of every process that reads ``path`` (atomically; zero removes it)."""
    if offset == timedelta(0):
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"offsetSeconds": offset.total_seconds()}), encoding="utf-8")
    os.replace(tmp, path)


def advance_shared_offset(path: Path, delta: timedelta) -> timedelta:
    """Move the shared clock at ``path`` forward by ``delta``; the new offset. What a test or
    a scenario does instead of sleeping (readers of the file follow at once)."""
    offset = read_shared_offset(path) + delta
    write_shared_offset(path, offset)
    return offset


class LandscapeClock(SystemClock):
    """The simulated clock of a running landscape: the wall clock, shifted by ``offset`` and by
    the offset every process of the landscape reads from one shared file.

    Scenario suites move time for the whole landscape at once by rewriting that file
    (:func:`write_shared_offset`; ``<data_dir>/run/clock.json``): registers, platform, online
    services and the suite itself then agree on "now" without restarts or admin calls. The file
    is checked on every call (one ``stat``) and re-read only when it changed.
    """

    def __init__(self, path: Path, offset: timedelta = timedelta(0)) -> None:
        super().__init__(offset)
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._shared = timedelta(0)

    @property
    def shared_offset(self) -> timedelta:
        try:
            info = os.stat(self.path)
        except OSError:
            return timedelta(0)
        stamp = (info.st_mtime_ns, info.st_ino)
        with self._lock:
            if stamp != self._stamp:
                self._shared = read_shared_offset(self.path)
                self._stamp = stamp
            return self._shared

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset + self.shared_offset


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
