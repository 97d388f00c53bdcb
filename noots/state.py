"""Restart-safe state of a receiving participant, in one SQLite file per participant.

A register or the IDA keeps two things in memory that must survive ``kill -9`` and a restart:

- the replay cache (:class:`~noots.envelope.ReplayGuard`): without it, an envelope accepted
  shortly before a crash would be accepted again after the restart, within its freshness window;
- the asynchronous answers a register announced (``ResponseAvailableDateTime``): without them,
  a consumer collecting at the announced time would be told to wait again.

Both are journals next to the in-memory structure, which stays the one that answers: the
journal is written before the decision takes effect and read only when the process starts.

Storage: WAL with ``synchronous=NORMAL``. A committed transaction survives the process being
killed (it is in the WAL, which the OS holds); only a power loss could drop the last ones. That
is the right trade here, unlike the protocol log (``synchronous=FULL``): an fsync per request
would double the cost of the log's, for state that matters for at most the replay window.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from noots import _sqlite

__all__ = ["AnnouncementJournal", "ReplayJournal", "StateFile"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS replay_seen (
    message_id TEXT PRIMARY KEY,
    created_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS replay_seen_created ON replay_seen (created_us);
CREATE TABLE IF NOT EXISTS replay_horizon (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    horizon_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS announcements (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    consumer TEXT NOT NULL,
    request_id TEXT NOT NULL,
    available_us INTEGER NOT NULL,
    UNIQUE (consumer, request_id)
);
"""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _to_us(instant: datetime) -> int:
    return (instant - _EPOCH) // timedelta(microseconds=1)


def _from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


class StateFile:
    """One participant's state file; thread-safe (one connection behind a lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._connection = _sqlite.connect(path, synchronous="NORMAL", timeout=30.0)
        self._connection.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def write(self, statements: Iterable[tuple[str, tuple[object, ...]]]) -> None:
        with self._lock, _sqlite.transaction(self._connection, "BEGIN IMMEDIATE") as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)

    def read(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._connection.execute(sql, params))


class ReplayJournal:
    """What a :class:`~noots.envelope.ReplayGuard` accepted and forgot, kept across restarts."""

    def __init__(self, state: StateFile) -> None:
        self._state = state

    def load(self) -> tuple[list[tuple[datetime, uuid.UUID]], datetime | None]:
        """The accepted ids (with their ``Created``) and the horizon, as last written."""
        rows = self._state.read("SELECT created_us, message_id FROM replay_seen")
        horizon = self._state.read("SELECT horizon_us FROM replay_horizon")
        seen = [(_from_us(c), uuid.UUID(m)) for c, m in rows]
        return seen, (_from_us(horizon[0][0]) if horizon else None)

    def record(
        self,
        accepted: tuple[datetime, uuid.UUID],
        forgotten: Iterable[uuid.UUID] = (),
        horizon: datetime | None = None,
    ) -> None:
        """One decision of the guard, in one transaction: the id it accepts, the ids it forgot
        to make room or because they left the window, and its horizon if that moved."""
        created, message_id = accepted
        statements: list[tuple[str, tuple[object, ...]]] = [
            ("DELETE FROM replay_seen WHERE message_id = ?", (str(m),)) for m in forgotten
        ]
        if horizon is not None:
            statements.append(
                (
                    "INSERT INTO replay_horizon (one, horizon_us) VALUES (1, ?) "
                    "ON CONFLICT (one) DO UPDATE SET horizon_us = excluded.horizon_us",
                    (_to_us(horizon),),
                )
            )
        statements.append(
            (
                "INSERT INTO replay_seen (message_id, created_us) VALUES (?, ?)",
                (str(message_id), _to_us(created)),
            )
        )
        self._state.write(statements)


class AnnouncementJournal:
    """The asynchronous answers a register announced and nobody collected yet."""

    def __init__(self, state: StateFile) -> None:
        self._state = state

    def load(self) -> list[tuple[tuple[str, uuid.UUID], datetime]]:
        """``((consumer, request id), available at)``, oldest announcement first."""
        rows = self._state.read(
            "SELECT consumer, request_id, available_us FROM announcements ORDER BY seq"
        )
        return [((c, uuid.UUID(r)), _from_us(a)) for c, r, a in rows]

    def put(
        self,
        key: tuple[str, uuid.UUID],
        available_at: datetime,
        evicted: Iterable[tuple[str, uuid.UUID]] = (),
    ) -> None:
        consumer, request_id = key
        statements = [_forget_announcement(k) for k in [key, *evicted]]
        statements.append(
            (
                "INSERT INTO announcements (consumer, request_id, available_us) VALUES (?, ?, ?)",
                (consumer, str(request_id), _to_us(available_at)),
            )
        )
        self._state.write(statements)

    def discard(self, key: tuple[str, uuid.UUID]) -> None:
        self._state.write([_forget_announcement(key)])


def _forget_announcement(key: tuple[str, uuid.UUID]) -> tuple[str, tuple[object, ...]]:
    consumer, request_id = key
    return (
        "DELETE FROM announcements WHERE consumer = ? AND request_id = ?",
        (consumer, str(request_id)),
    )
