"""Tests of ``noots protocol verify`` and ``noots protocol show``."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from noots.cli import app
from noots.cli._exit import CHECK_FAILED, USAGE
from noots.clock import ManualClock
from noots.protocol import open_protocol_log
from noots.testing.postgres import fresh_database

runner = CliRunner()
IDNR = "02476291358"


def make_log(target: str | Path, count: int = 3) -> None:
    with open_protocol_log(target, party="991-01234ZFZR-41", clock=ManualClock()) as log:
        for i in range(count):
            log.append(
                consumer="08118079-BPA-87",
                provider="991-01234ZFZR-41",
                evidence_type="Fahrzeughalterauskunft",
                purpose="Bewohnerparkausweis",
                idnr=IDNR if i % 2 == 0 else "86095742719",
                message_id=f"msg-{i}",
                outcome="delivered",
            )


def test_verify_intact_log(tmp_path: Path) -> None:
    """An intact log exits 0 and reports its entry count."""
    target = tmp_path / "log.db"
    make_log(target)
    result = runner.invoke(app, ["protocol", "verify", "--db", str(target)])
    assert result.exit_code == 0, result.output
    assert result.stdout == "valid: 3 entries\n"


def test_verify_tampered_log_names_the_first_bad_entry(tmp_path: Path) -> None:
    """A changed entry exits 2 (a check failed) and names the entry."""
    target = tmp_path / "log.db"
    make_log(target)
    connection = sqlite3.connect(target)
    with connection:
        connection.execute("UPDATE protocol_entries SET purpose = 'x' WHERE sequence = 2")
    connection.close()
    result = runner.invoke(app, ["protocol", "verify", "--db", str(target)])
    assert result.exit_code == CHECK_FAILED
    lines = result.stdout.splitlines()
    assert lines[0] == "chain broken: entry 2 was changed"
    assert lines[1].startswith("entry 2: ")
    assert "message msg-1" in lines[1]


def test_verify_missing_file_is_not_created(tmp_path: Path) -> None:
    """A path without a log is a usage error (64) and creates nothing."""
    target = tmp_path / "typo.db"
    result = runner.invoke(app, ["protocol", "verify", "--db", str(target)])
    assert result.exit_code == USAGE
    assert "no protocol log" in result.output
    assert not target.exists()


def test_show_table_and_filter(tmp_path: Path) -> None:
    """show prints a table of all entries, or only those about one IDNr."""
    target = tmp_path / "log.db"
    make_log(target)
    everything = runner.invoke(app, ["protocol", "show", "--db", str(target)])
    assert everything.exit_code == 0
    assert "3 logged transfers" in everything.stdout
    assert "msg-0" in everything.stdout
    assert "msg-1" in everything.stdout
    filtered = runner.invoke(app, ["protocol", "show", "--db", str(target), "--idnr", IDNR])
    assert "2 logged transfers" in filtered.stdout
    assert "msg-1" not in filtered.stdout


def test_show_json(tmp_path: Path) -> None:
    """--json prints every stored field of each entry."""
    target = tmp_path / "log.db"
    make_log(target, count=2)
    result = runner.invoke(app, ["protocol", "show", "--db", str(target), "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert [r["sequence"] for r in rows] == [1, 2]
    assert rows[0]["recorded_at"] == "2026-11-22T09:00:00+00:00"
    assert rows[1]["prev_hash"] == rows[0]["entry_hash"]


@pytest.mark.postgres
def test_verify_postgres_url(postgres_url: str) -> None:
    """verify and show take a postgresql:// URL as well."""
    url = fresh_database(postgres_url)
    make_log(url, count=4)
    result = runner.invoke(app, ["protocol", "verify", "--db", url])
    assert result.exit_code == 0, result.output
    assert result.stdout == "valid: 4 entries\n"
    shown = runner.invoke(app, ["protocol", "show", "--db", url, "--json"])
    assert len(json.loads(shown.stdout)) == 4


def snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of the directory with its bytes and modification time."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in directory.iterdir()}


def other_database(target: Path) -> None:
    connection = sqlite3.connect(target)
    with connection:
        connection.execute("CREATE TABLE customers (name TEXT)")
        connection.execute("INSERT INTO customers VALUES ('Erika')")
    connection.close()


NOT_LOGS = {
    "another SQLite database": other_database,
    "an empty file": lambda target: target.write_bytes(b""),
    "a text file": lambda target: target.write_text("not a database\n" * 100),
}


@pytest.mark.parametrize("command", ["verify", "show"])
@pytest.mark.parametrize("kind", sorted(NOT_LOGS))
def test_a_file_that_is_not_a_log_is_refused_and_left_as_it_was(
    tmp_path: Path, command: str, kind: str
) -> None:
    """verify and show refuse a file that is not a protocol log as a usage error, 64 (not 0
    "valid: 0 entries", not 2 "chain broken"), and create or change nothing in its directory."""
    target = tmp_path / "other.db"
    NOT_LOGS[kind](target)
    before = snapshot(tmp_path)
    result = runner.invoke(app, ["protocol", command, "--db", str(target)])
    assert result.exit_code == USAGE, result.output
    assert "is not a noots protocol log" in result.output
    assert "valid" not in result.output
    assert snapshot(tmp_path) == before


def test_a_directory_is_refused(tmp_path: Path) -> None:
    """A directory given as --db: exit 64, nothing created in it."""
    result = runner.invoke(app, ["protocol", "verify", "--db", str(tmp_path)])
    assert result.exit_code == USAGE
    assert "not a protocol log" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["verify", "show"])
def test_inspecting_a_log_changes_nothing(tmp_path: Path, command: str) -> None:
    """verify and show of a closed log leave every file as it was (no -wal, no -shm)."""
    target = tmp_path / "log.db"
    make_log(target)
    before = snapshot(tmp_path)
    result = runner.invoke(app, ["protocol", command, "--db", str(target)])
    assert result.exit_code == 0, result.output
    assert snapshot(tmp_path) == before


def test_inspecting_a_log_that_is_being_written(tmp_path: Path) -> None:
    """verify sees the entries a running writer has committed (in its WAL) and does not
    disturb it: the writer appends afterwards, and the chain still verifies."""
    target = tmp_path / "log.db"
    with open_protocol_log(target, party="991-01234ZFZR-41", clock=ManualClock()) as log:
        log.append(
            consumer="08118079-BPA-87",
            provider="991-01234ZFZR-41",
            evidence_type="Fahrzeughalterauskunft",
            purpose="Bewohnerparkausweis",
            idnr=IDNR,
            message_id="live-1",
            outcome="delivered",
        )
        result = runner.invoke(app, ["protocol", "verify", "--db", str(target)])
        assert result.stdout == "valid: 1 entries\n", result.output
        log.append(
            consumer="08118079-BPA-87",
            provider="991-01234ZFZR-41",
            evidence_type="Fahrzeughalterauskunft",
            purpose="Bewohnerparkausweis",
            idnr=IDNR,
            message_id="live-2",
            outcome="delivered",
        )
        assert log.verify() == 2


def test_read_only_log_refuses_to_write(tmp_path: Path) -> None:
    """A log opened for inspection refuses append and purge (typed error)."""
    from noots.errors import ProtocolLogError
    from noots.protocol import open_protocol_log_read_only

    target = tmp_path / "log.db"
    make_log(target)
    with open_protocol_log_read_only(target) as log:
        assert log.verify() == 3
        with pytest.raises(ProtocolLogError, match="read-only"):
            log.purge()
        with pytest.raises(ProtocolLogError, match="read-only"):
            log.append(
                consumer="a",
                provider="b",
                evidence_type="c",
                purpose="d",
                idnr=None,
                message_id="e",
                outcome="delivered",
            )


@pytest.mark.postgres
def test_postgres_database_without_a_log_is_refused_and_left_empty(postgres_url: str) -> None:
    """A PostgreSQL database without the log's tables: exit 64, and no table was created."""
    import psycopg

    url = fresh_database(postgres_url)
    result = runner.invoke(app, ["protocol", "verify", "--db", url])
    assert result.exit_code == USAGE, result.output
    assert "is not a noots protocol log" in result.output
    with psycopg.connect(url) as connection:
        tables = connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    assert tables == []
