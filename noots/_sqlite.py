"""The SQLite connection and transaction of the files noots writes (protocol log, state)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Literal


def connect(
    path: Path, *, synchronous: Literal["FULL", "NORMAL"], timeout: float
) -> sqlite3.Connection:
    """A WAL connection shared by the threads of this process (callers serialise its use);
    other processes wait for the file lock up to ``timeout`` seconds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(
        path, timeout=timeout, isolation_level=None, check_same_thread=False
    )
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA synchronous={synchronous}")
    return connection


def connect_read_only(path: Path, *, timeout: float) -> sqlite3.Connection:
    """A connection that can neither create nor change anything (URI ``mode=ro``).

    A WAL file whose writers are all gone has no ``-wal``/``-shm`` beside it, and even a
    read-only connection would create both (and leave them behind). Then the file is complete
    as it is on disk and is read ``immutable``: no lock, no side file. With a ``-wal`` present
    (a writer is running, or one crashed) the reader shares the writer's WAL index as usual.
    Raises ``sqlite3.OperationalError`` for a path it cannot open (missing, a directory).
    """
    wal = path.with_name(path.name + "-wal")
    options = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
    return sqlite3.connect(
        f"{path.resolve().as_uri()}?{options}",
        uri=True,
        timeout=timeout,
        isolation_level=None,
        check_same_thread=False,
    )


@contextlib.contextmanager
def transaction(connection: sqlite3.Connection, begin: str) -> Iterator[sqlite3.Cursor]:
    """``begin`` … COMMIT, or ROLLBACK if the block raises."""
    cursor = connection.cursor()
    cursor.execute(begin)
    try:
        yield cursor
    except BaseException:
        cursor.execute("ROLLBACK")
        raise
    else:
        cursor.execute("COMMIT")
    finally:
        cursor.close()
