"""The protocol log (§ 9 IDNrG): every party logs every transfer, the Datenschutzcockpit shows
a citizen the entries about their IDNr.

The log is append-only and hash-chained. Entry ``n`` stores the hash of entry ``n - 1``
(``prev_hash``) and its own ``entry_hash``::

    entry_hash = SHA-256( canonical(entry) ) as 64 lowercase hex digits

    canonical(entry) = UTF-8 of the JSON array, without any whitespace (separators "," ":"),
                       non-ASCII characters written as themselves (ensure_ascii=False):
        ["noots-protocol-log/1", sequence, recorded_at, party, consumer, provider,
         evidence_type, purpose, idnr, message_id, outcome, prev_hash]

``sequence`` is a JSON integer, ``idnr`` a string or ``null``, every other field a string
exactly as stored; ``recorded_at`` is UTC with microseconds, ``2026-11-22T09:14:05.123456Z``
(fixed width, so text order is time order). The first entry's ``prev_hash`` is 64 zeros.

Besides the entries the store keeps one *chain* row: the **anchor** (the sequence and hash of
the last purged entry; 0 and 64 zeros before any purge) and the **head** (the sequence and
hash of the last appended entry). :meth:`ProtocolLog.verify` walks from the anchor to the
head, so a changed, removed, reordered, inserted or truncated entry is found; only a rewrite of
the whole store including the chain row goes unnoticed, as with any self-contained log.

:meth:`ProtocolLog.append` is idempotent per (party, message_id, outcome): a retried transfer
returns the entry already logged. Callers pass the id that stays the same across retries (the
XNachweis request id, not the per-attempt envelope id). Parties that share one store share one
chain.

Storage: SQLite (a file path; WAL, ``synchronous=FULL``, writers serialised across processes
by ``BEGIN IMMEDIATE``) or PostgreSQL (a ``postgresql://`` URL; writers serialised by a row
lock on the chain row). The chain logic is shared; the backends differ only in connection and
transaction handling.

Inspection (``noots protocol verify|show``, the provider suite's ``--protocol-log``) opens a
store with :func:`open_protocol_log_read_only`: SQLite through a ``mode=ro`` URI, PostgreSQL
in read-only transactions only. It creates and changes nothing, and refuses with
:class:`~noots.errors.NotAProtocolLog` a store that is missing or has no log tables, instead
of creating an empty log that would verify as "valid: 0 entries".
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from noots import _sqlite
from noots.clock import Clock
from noots.errors import ChainBroken, NotAProtocolLog, ProtocolLogError

__all__ = [
    "DEFAULT_RETENTION",
    "GENESIS_HASH",
    "ProtocolEntry",
    "ProtocolLog",
    "canonical_bytes",
    "entry_hash",
    "open_protocol_log",
    "open_protocol_log_read_only",
]

DEFAULT_RETENTION = timedelta(days=730)
GENESIS_HASH = "0" * 64
_FORMAT_TAG = "noots-protocol-log/1"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_OUTCOME = re.compile(r"delivered|pending|refused:EDM:ERR:\d{4}")
_SELECT_ALL = (
    "SELECT sequence, recorded_at, party, consumer, provider, evidence_type, purpose, idnr,"
    " message_id, outcome, prev_hash, entry_hash FROM protocol_entries ORDER BY sequence"
)
_SELECT_BY_IDNR = (
    "SELECT sequence, recorded_at, party, consumer, provider, evidence_type, purpose, idnr,"
    " message_id, outcome, prev_hash, entry_hash FROM protocol_entries WHERE idnr = ?"
    " ORDER BY sequence"
)
_SELECT_UP_TO = (
    "SELECT sequence, recorded_at, party, consumer, provider, evidence_type, purpose, idnr,"
    " message_id, outcome, prev_hash, entry_hash FROM protocol_entries WHERE sequence <= ?"
    " ORDER BY sequence"
)
_SELECT_BY_MESSAGE = (
    "SELECT sequence, recorded_at, party, consumer, provider, evidence_type, purpose, idnr,"
    " message_id, outcome, prev_hash, entry_hash FROM protocol_entries"
    " WHERE party = ? AND message_id = ? ORDER BY sequence"
)
_SELECT_TRANSFER = (
    "SELECT sequence, recorded_at, party, consumer, provider, evidence_type, purpose, idnr,"
    " message_id, outcome, prev_hash, entry_hash FROM protocol_entries"
    " WHERE party = ? AND message_id = ? AND outcome = ?"
)
_INSERT = (
    "INSERT INTO protocol_entries (sequence, recorded_at, party, consumer, provider,"
    " evidence_type, purpose, idnr, message_id, outcome, prev_hash, entry_hash)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True, slots=True)
class ProtocolEntry:
    """One logged transfer, as stored."""

    sequence: int
    recorded_at: datetime
    party: str
    consumer: str
    provider: str
    evidence_type: str
    purpose: str
    idnr: str | None
    message_id: str
    outcome: str
    prev_hash: str
    entry_hash: str


_Row = tuple[Any, ...]


def canonical_bytes(row: Sequence[Any]) -> bytes:
    """The bytes an entry's hash covers: the row as stored, without ``entry_hash``."""
    sequence, recorded_at, *texts, prev_hash = row[:11]
    payload = [_FORMAT_TAG, sequence, recorded_at, *texts, prev_hash]
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def entry_hash(row: Sequence[Any]) -> str:
    """The SHA-256 (hex) of :func:`canonical_bytes` of the row."""
    return hashlib.sha256(canonical_bytes(row)).hexdigest()


def _entry(row: _Row) -> ProtocolEntry:
    recorded_at = datetime.strptime(row[1], _TIME_FORMAT).replace(tzinfo=UTC)
    return ProtocolEntry(row[0], recorded_at, *row[2:])


class _Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    def fetchone(self) -> _Row | None: ...
    def fetchmany(self, size: int) -> list[_Row]: ...


class _Backend(Protocol):
    """What differs between the stores: connections, transactions and SQL dialect."""

    def write(self) -> contextlib.AbstractContextManager[_Cursor]:
        """A transaction that holds the single-writer lock (chain row locked for update)."""
        ...

    def read(self) -> contextlib.AbstractContextManager[_Cursor]:
        """A transaction that reads one consistent snapshot."""
        ...

    def close(self) -> None: ...


#: Every column the log reads; a store without them is not a protocol log.
_PROBE = (
    "SELECT sequence, recorded_at, party, consumer, provider, evidence_type, purpose, idnr,"
    " message_id, outcome, prev_hash, entry_hash FROM protocol_entries WHERE 1 = 0",
    "SELECT anchor_sequence, anchor_hash, head_sequence, head_hash FROM protocol_chain WHERE 1 = 0",
)

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS protocol_entries (
        sequence BIGINT PRIMARY KEY,
        recorded_at TEXT NOT NULL,
        party TEXT NOT NULL,
        consumer TEXT NOT NULL,
        provider TEXT NOT NULL,
        evidence_type TEXT NOT NULL,
        purpose TEXT NOT NULL,
        idnr TEXT,
        message_id TEXT NOT NULL,
        outcome TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        entry_hash TEXT NOT NULL,
        UNIQUE (party, message_id, outcome)
    )""",
    "CREATE INDEX IF NOT EXISTS protocol_entries_idnr ON protocol_entries (idnr)",
    "CREATE INDEX IF NOT EXISTS protocol_entries_time ON protocol_entries (recorded_at)",
    """CREATE TABLE IF NOT EXISTS protocol_chain (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        anchor_sequence BIGINT NOT NULL,
        anchor_hash TEXT NOT NULL,
        head_sequence BIGINT NOT NULL,
        head_hash TEXT NOT NULL
    )""",
    "INSERT INTO protocol_chain VALUES (1, 0, ?, 0, ?) ON CONFLICT (id) DO NOTHING",
)


class _SqliteCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._cursor.execute(sql.replace(" FOR UPDATE", ""), params)

    def fetchone(self) -> _Row | None:
        row: _Row | None = self._cursor.fetchone()
        return row

    def fetchmany(self, size: int) -> list[_Row]:
        return self._cursor.fetchmany(size)


class _SqliteBackend:
    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        if read_only:
            self._connection = _sqlite.connect_read_only(path, timeout=60.0)
            return
        # One connection behind the log's lock; other processes wait for the file lock in
        # BEGIN IMMEDIATE. FULL: a transaction is on disk when COMMIT returns, so neither
        # kill -9 nor a power loss loses anything appended.
        self._connection = _sqlite.connect(path, synchronous="FULL", timeout=60.0)

    @contextlib.contextmanager
    def _transaction(self, begin: str) -> Iterator[_Cursor]:
        with _sqlite.transaction(self._connection, begin) as cursor:
            yield _SqliteCursor(cursor)

    def write(self) -> contextlib.AbstractContextManager[_Cursor]:
        return self._transaction("BEGIN IMMEDIATE")

    def read(self) -> contextlib.AbstractContextManager[_Cursor]:
        return self._transaction("BEGIN")

    def close(self) -> None:
        self._connection.close()


class _PostgresCursor:
    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._cursor.execute(sql.replace("?", "%s"), params)

    def fetchone(self) -> _Row | None:
        row: _Row | None = self._cursor.fetchone()
        return row

    def fetchmany(self, size: int) -> list[_Row]:
        rows: list[_Row] = self._cursor.fetchmany(size)
        return rows


class _PostgresBackend:
    def __init__(self, url: str, *, read_only: bool = False) -> None:
        import psycopg

        if read_only:
            # Every transaction of this session read-only, whatever a statement asks for.
            self._connection = psycopg.connect(
                url, autocommit=True, options="-c default_transaction_read_only=on"
            )
        else:
            self._connection = psycopg.connect(url, autocommit=True)

    @contextlib.contextmanager
    def _transaction(self, isolation: str) -> Iterator[_Cursor]:
        with self._connection.transaction(), self._connection.cursor() as cursor:
            cursor.execute(f"SET TRANSACTION ISOLATION LEVEL {isolation}")
            yield _PostgresCursor(cursor)

    def write(self) -> contextlib.AbstractContextManager[_Cursor]:
        # READ COMMITTED: after waiting for the chain row lock, the next statements see the
        # entries the previous writer committed.
        return self._transaction("READ COMMITTED")

    def read(self) -> contextlib.AbstractContextManager[_Cursor]:
        return self._transaction("REPEATABLE READ READ ONLY")

    def close(self) -> None:
        self._connection.close()


_LOCK_CHAIN = (
    "SELECT anchor_sequence, anchor_hash, head_sequence, head_hash FROM protocol_chain"
    " WHERE id = 1 FOR UPDATE"
)


class ProtocolLog:
    """The protocol log of one party; thread-safe. Use :func:`open_protocol_log`."""

    def __init__(
        self, backend: _Backend, *, party: str, clock: Clock, read_only: bool = False
    ) -> None:
        _check_text("party", party)
        self._backend = backend
        self._lock = threading.Lock()
        self.party = party
        self.clock = clock
        #: Opened for inspection: append and purge refuse, the store was not touched.
        self.read_only = read_only
        if read_only:
            return
        with self._lock, backend.write() as cursor:
            if isinstance(backend, _PostgresBackend):
                # Two processes creating the tables at once would collide in the catalog.
                cursor.execute("SELECT pg_advisory_xact_lock(?)", (0x6E6F6F7473,))
            for statement in _SCHEMA:
                params = (GENESIS_HASH, GENESIS_HASH) if "?" in statement else ()
                cursor.execute(statement, params)

    def append(
        self,
        *,
        consumer: str,
        provider: str,
        evidence_type: str,
        purpose: str,
        idnr: str | None,
        message_id: str,
        outcome: str,
    ) -> ProtocolEntry:
        """Log one transfer and return its entry; a transfer already logged (same party,
        message id and outcome) returns the existing entry and leaves the chain as it is."""
        fields = {
            "consumer": consumer,
            "provider": provider,
            "evidence_type": evidence_type,
            "purpose": purpose,
            "message_id": message_id,
            "outcome": outcome,
        }
        for name, value in fields.items():
            _check_text(name, value)
        if idnr is not None:
            _check_text("idnr", idnr)
        if not _OUTCOME.fullmatch(outcome):
            raise ValueError(
                f"outcome must be delivered, pending or refused:EDM:ERR:NNNN, not {outcome!r}"
            )
        self._check_writable()
        with self._lock, self._backend.write() as cursor:
            cursor.execute(_LOCK_CHAIN)
            chain = cursor.fetchone()
            if chain is None:
                raise ProtocolLogError("the protocol log has no chain row")
            cursor.execute(
                _SELECT_TRANSFER,
                (self.party, message_id, outcome),
            )
            existing = cursor.fetchone()
            if existing is not None:
                entry = _entry(existing)
                if (entry.consumer, entry.provider, entry.evidence_type, entry.purpose) != (
                    consumer,
                    provider,
                    evidence_type,
                    purpose,
                ) or entry.idnr != idnr:
                    raise ProtocolLogError(
                        "this message id and outcome are already logged for another transfer"
                    )
                return entry
            _anchor_sequence, _anchor_hash, head_sequence, head_hash = chain
            recorded_at = self.clock.now().astimezone(UTC).strftime(_TIME_FORMAT)
            row: _Row = (
                head_sequence + 1,
                recorded_at,
                self.party,
                consumer,
                provider,
                evidence_type,
                purpose,
                idnr,
                message_id,
                outcome,
                head_hash,
            )
            row = (*row, entry_hash(row))
            cursor.execute(
                _INSERT,
                row,
            )
            cursor.execute(
                "UPDATE protocol_chain SET head_sequence = ?, head_hash = ? WHERE id = 1",
                (row[0], row[11]),
            )
            return _entry(row)

    def entries(self, *, idnr: str | None = None) -> list[ProtocolEntry]:
        """The entries in chain order, all or only those about ``idnr`` (for the DSC)."""
        with self._lock, self._backend.read() as cursor:
            if idnr is None:
                cursor.execute(_SELECT_ALL)
            else:
                cursor.execute(
                    _SELECT_BY_IDNR,
                    (idnr,),
                )
            return [_entry(row) for row in _rows(cursor)]

    def transfer(self, message_id: str) -> list[ProtocolEntry]:
        """This party's entries for one request id (``urn:uuid:…``), in chain order: what a
        protocol export answers for one transfer (an index look-up, not a scan)."""
        with self._lock, self._backend.read() as cursor:
            cursor.execute(_SELECT_BY_MESSAGE, (self.party, message_id))
            return [_entry(row) for row in _rows(cursor)]

    def verify(self) -> int:
        """Check the whole chain; return the number of entries, or raise :class:`ChainBroken`
        naming the first bad sequence number."""
        with self._lock, self._backend.read() as cursor:
            cursor.execute(
                "SELECT anchor_sequence, anchor_hash, head_sequence, head_hash"
                " FROM protocol_chain WHERE id = 1"
            )
            chain = cursor.fetchone()
            if chain is None:
                raise ChainBroken("the chain row is missing", sequence=None)
            cursor.execute(_SELECT_ALL)
            return _walk(chain, _rows(cursor))

    def purge(self, retention: timedelta = DEFAULT_RETENTION) -> int:
        """Delete the entries older than ``retention`` and return how many went.

        Only a prefix of the chain can go: an old entry after a newer one (a clock step) stays
        until everything before it is old too. The last purged entry becomes the anchor, so
        the rest still verifies. The purged part is verified first: a broken chain is never
        laundered into a fresh anchor.
        """
        self._check_writable()
        cutoff = (self.clock.now() - retention).astimezone(UTC).strftime(_TIME_FORMAT)
        with self._lock, self._backend.write() as cursor:
            cursor.execute(_LOCK_CHAIN)
            chain = cursor.fetchone()
            if chain is None:
                raise ChainBroken("the chain row is missing", sequence=None)
            anchor_sequence, _anchor_hash, head_sequence, _head_hash = chain
            cursor.execute(
                "SELECT MIN(sequence) FROM protocol_entries WHERE recorded_at >= ?", (cutoff,)
            )
            first_kept = cursor.fetchone()
            last_purged = (
                head_sequence
                if first_kept is None or first_kept[0] is None
                else (first_kept[0] - 1)
            )
            if last_purged <= anchor_sequence:
                return 0
            cursor.execute(
                _SELECT_UP_TO,
                (last_purged,),
            )
            purged = list(_rows(cursor))
            _walk((*chain[:2], last_purged, None), iter(purged))
            cursor.execute("DELETE FROM protocol_entries WHERE sequence <= ?", (last_purged,))
            cursor.execute(
                "UPDATE protocol_chain SET anchor_sequence = ?, anchor_hash = ? WHERE id = 1",
                (last_purged, purged[-1][11]),
            )
            return len(purged)

    def _check_writable(self) -> None:
        if self.read_only:
            raise ProtocolLogError("this protocol log was opened read-only (for inspection)")

    def close(self) -> None:
        with self._lock:
            self._backend.close()

    def __enter__(self) -> ProtocolLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _rows(cursor: _Cursor) -> Iterator[_Row]:
    while batch := cursor.fetchmany(1000):
        yield from batch


def _walk(chain: Sequence[Any], rows: Iterator[_Row]) -> int:
    """Check ``rows`` (in sequence order) against the chain row; ``head_hash`` None: unknown."""
    anchor_sequence, anchor_hash, head_sequence, head_hash = chain
    expected, previous = anchor_sequence + 1, anchor_hash
    for row in rows:
        sequence = row[0]
        if sequence < expected:
            raise ChainBroken(f"entry {sequence} lies before the anchor", sequence=sequence)
        if sequence > expected:
            raise ChainBroken(f"entry {expected} is missing", sequence=expected)
        if sequence > head_sequence:
            raise ChainBroken(f"entry {sequence} lies beyond the head", sequence=sequence)
        if row[10] != previous:
            raise ChainBroken(
                f"entry {sequence} does not follow entry {sequence - 1}", sequence=sequence
            )
        if entry_hash(row) != row[11]:
            raise ChainBroken(f"entry {sequence} was changed", sequence=sequence)
        expected, previous = sequence + 1, row[11]
    if expected <= head_sequence:
        raise ChainBroken(f"entry {expected} is missing", sequence=expected)
    if head_hash is not None and previous != head_hash:
        raise ChainBroken(f"entry {head_sequence} is not the recorded head", sequence=head_sequence)
    return int(head_sequence - anchor_sequence)


def _check_text(name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    # NUL and lone surrogates cannot be stored by every backend (or hashed as UTF-8).
    if "\x00" in value:
        raise ValueError(f"{name} must not contain NUL")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{name} must be valid Unicode text") from None


def _is_url(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


def open_protocol_log(target: str | Path, *, party: str, clock: Clock) -> ProtocolLog:
    """Open (creating if needed) the log at a SQLite file path or a ``postgresql://`` URL."""
    text = str(target)
    backend: _Backend = _PostgresBackend(text) if _is_url(text) else _SqliteBackend(Path(target))
    return ProtocolLog(backend, party=party, clock=clock)


def open_protocol_log_read_only(
    target: str | Path, *, party: str = "noots-inspect", clock: Clock | None = None
) -> ProtocolLog:
    """Open an existing log for inspection (verify, entries) without creating or changing
    anything; raises :class:`NotAProtocolLog` when ``target`` is missing, cannot be opened or
    has no protocol log tables. ``party`` and ``clock`` only matter to a log that writes."""
    from noots.clock import SystemClock

    text = str(target)
    where = _redacted(text) if _is_url(text) else text
    if not _is_url(text):
        path = Path(target)
        if not path.exists():
            raise NotAProtocolLog(f"no protocol log at {where}: no such file")
        if not path.is_file():
            raise NotAProtocolLog(f"{where} is not a protocol log: not a file")
    if _is_url(text):
        import psycopg

        driver_errors: tuple[type[Exception], ...] = (psycopg.Error,)
    else:
        driver_errors = (sqlite3.Error,)
    try:
        backend: _Backend = (
            _PostgresBackend(text, read_only=True)
            if _is_url(text)
            else _SqliteBackend(Path(text), read_only=True)
        )
    except driver_errors as error:
        raise NotAProtocolLog(f"cannot open {where}: {_first_line(error)}") from None
    try:
        with backend.read() as cursor:
            for probe in _PROBE:
                cursor.execute(probe)
    except driver_errors as error:
        backend.close()
        raise NotAProtocolLog(
            f"{where} is not a noots protocol log ({_first_line(error)})"
        ) from None
    return ProtocolLog(backend, party=party, clock=clock or SystemClock(), read_only=True)


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _redacted(url: str) -> str:
    """A database URL without its password, fit for a message."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))
