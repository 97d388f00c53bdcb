"""A throwaway PostgreSQL server for tests: initdb into a temporary directory, start it on a free
loopback port, yield its URL, stop it and delete everything.

PostgreSQL refuses to run as root, so when the tests run as root the server is initialised and
started as the ``postgres`` OS user (``runuser -u postgres --``) in a directory handed over to
it. Authentication is ``trust`` (loopback and the private socket directory only); fsync is off,
because a test server never needs to survive a crash of the machine.

    with postgres_server() as url:
        log = open_protocol_log(fresh_database(url), party="noots-vs", clock=clock)
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["PostgresUnavailable", "find_postgres_bin", "fresh_database", "postgres_server"]

_SEARCH = "/usr/lib/postgresql/*/bin"


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are not installed (or the server did not start)."""


def find_postgres_bin() -> Path:
    """The ``bin`` directory of the newest installed PostgreSQL (``NOOTS_PG_BIN`` overrides)."""
    override = os.environ.get("NOOTS_PG_BIN")
    candidates = (
        [Path(override)]
        if override
        else sorted(Path("/").glob(_SEARCH.lstrip("/")), key=_major_version, reverse=True)
    )
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    where = override or _SEARCH
    raise PostgresUnavailable(
        f"PostgreSQL server binaries (initdb, pg_ctl) not found in {where}; "
        "install the PostgreSQL server package (CI does) or set NOOTS_PG_BIN"
    )


def _major_version(directory: Path) -> int:
    match = re.fullmatch(r"\d+", directory.parent.name)
    return int(match.group()) if match else -1


def _free_port() -> int:
    from noots.testing.landscape import free_port

    return free_port()


@contextlib.contextmanager
def postgres_server(*, start_timeout: int = 60) -> Iterator[str]:
    """Run a PostgreSQL server for the duration of the ``with`` block; yields its URL."""
    bin_dir = find_postgres_bin()
    root = Path(tempfile.mkdtemp(prefix="noots-pg-"))
    data, sockets, log = root / "data", root / "sockets", root / "server.log"
    sockets.mkdir()
    prefix: list[str] = []
    if os.geteuid() == 0:
        # The server must not run as root: hand the directory to the postgres user.
        account = pwd.getpwnam("postgres")
        for path in (root, sockets):
            os.chown(path, account.pw_uid, account.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    started = False
    try:
        _run(
            [
                *prefix,
                str(bin_dir / "initdb"),
                "--pgdata",
                str(data),
                "--username",
                "postgres",
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            ]
        )
        for _attempt in range(3):
            port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={sockets}"
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                " -c max_connections=100"
            )
            start = [
                *prefix,
                str(bin_dir / "pg_ctl"),
                "--pgdata",
                str(data),
                "--log",
                str(log),
                "--wait",
                "--timeout",
                str(start_timeout),
                "--options",
                options,
                "start",
            ]
            if subprocess.run(start, capture_output=True, check=False).returncode == 0:
                started = True
                break
        if not started:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise PostgresUnavailable(f"PostgreSQL did not start:\n{tail}")
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            stop = [*prefix, str(bin_dir / "pg_ctl"), "--pgdata", str(data), "--mode", "immediate"]
            subprocess.run([*stop, "--wait", "stop"], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise PostgresUnavailable(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")


def fresh_database(url: str, *, prefix: str = "noots_test") -> str:
    """Create an empty database on the server at ``url`` and return the URL of it."""
    import psycopg
    from psycopg import sql

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"
