"""Tests for noots.protocol on SQLite and PostgreSQL: chain, tampering, idempotency, purge,
concurrency and durability."""

from __future__ import annotations

import hashlib
import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from noots.clock import ManualClock
from noots.errors import ChainBroken, ProtocolLogError
from noots.protocol import (
    GENESIS_HASH,
    ProtocolEntry,
    ProtocolLog,
    entry_hash,
    open_protocol_log,
)
from noots.testing.postgres import fresh_database

IDNR = "02476291358"
OTHER_IDNR = "86095742719"


@dataclass
class Store:
    """A protocol store under test with raw SQL access for tampering."""

    target: str

    @property
    def is_postgres(self) -> bool:
        return self.target.startswith("postgresql://")

    def execute(self, statement: str, params: tuple[Any, ...] = ()) -> None:
        if self.is_postgres:
            with psycopg.connect(self.target, autocommit=True) as connection:
                connection.execute(statement.replace("?", "%s"), params)
        else:
            connection = sqlite3.connect(self.target, isolation_level=None)
            try:
                connection.execute(statement, params)
            finally:
                connection.close()

    def reset(self) -> None:
        self.execute("DROP TABLE IF EXISTS protocol_entries")
        self.execute("DROP TABLE IF EXISTS protocol_chain")

    def open(self, clock: ManualClock | None = None, party: str = "noots-hub") -> ProtocolLog:
        return open_protocol_log(self.target, party=party, clock=clock or ManualClock())


@pytest.fixture(scope="module")
def postgres_database(postgres_url: str) -> str:
    return fresh_database(postgres_url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """An empty store: a new SQLite file, or the module's PostgreSQL database emptied."""
    if request.param == "sqlite":
        return Store(str(tmp_path / "protocol.db"))
    created = Store(request.getfixturevalue("postgres_database"))
    created.reset()
    return created


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 22, 9, 0, tzinfo=UTC))


@pytest.fixture
def log(store: Store, clock: ManualClock) -> Iterator[ProtocolLog]:
    with store.open(clock) as opened:
        yield opened


def transfer(number: int, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "consumer": "08118079-BPA-87",
        "provider": "991-01234ZFZR-41",
        "evidence_type": "Fahrzeughalterauskunft",
        "purpose": "Bewohnerparkausweis",
        "idnr": IDNR,
        "message_id": f"msg-{number}",
        "outcome": "delivered",
    }
    fields.update(overrides)
    return fields


def fill(log: ProtocolLog, count: int) -> list[ProtocolEntry]:
    return [log.append(**transfer(i)) for i in range(1, count + 1)]


def broken_at(log: ProtocolLog) -> int | None:
    with pytest.raises(ChainBroken) as caught:
        log.verify()
    return caught.value.sequence


def test_append_then_verify(log: ProtocolLog, clock: ManualClock) -> None:
    """Appended entries are numbered from 1, chained by hash, and verify."""
    entries = fill(log, 5)
    assert [e.sequence for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.entry_hash
    assert all(e.recorded_at == clock.now() and e.party == "noots-hub" for e in entries)
    assert log.entries() == entries
    assert log.verify() == 5


def test_empty_log_verifies(log: ProtocolLog) -> None:
    """A new log has no entries and verifies with count 0."""
    assert log.entries() == []
    assert log.verify() == 0


def test_hash_follows_the_documented_canonical_form(log: ProtocolLog) -> None:
    """entry_hash is SHA-256 of the JSON array the module docstring specifies."""
    entry = log.append(**transfer(1, purpose="Bewohnerparkausweis für Müller", idnr=None))
    canonical = (
        '["noots-protocol-log/1",1,"2026-11-22T09:00:00.000000Z","noots-hub",'
        '"08118079-BPA-87","991-01234ZFZR-41","Fahrzeughalterauskunft",'
        '"Bewohnerparkausweis für Müller",null,"msg-1","delivered","' + GENESIS_HASH + '"]'
    )
    assert entry.entry_hash == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_entries_survive_reopening(store: Store, clock: ManualClock) -> None:
    """A reopened log has the same entries and continues the same chain."""
    with store.open(clock) as first:
        written = fill(first, 3)
    with store.open(clock) as second:
        assert second.entries() == written
        fourth = second.append(**transfer(4))
        assert fourth.sequence == 4
        assert fourth.prev_hash == written[-1].entry_hash
        assert second.verify() == 4


def test_changed_field_is_detected_at_its_entry(store: Store, log: ProtocolLog) -> None:
    """An UPDATE of one field of entry 3 breaks the chain at 3."""
    fill(log, 5)
    store.execute("UPDATE protocol_entries SET purpose = ? WHERE sequence = 3", ("Werbung",))
    assert broken_at(log) == 3


def test_rehashed_change_is_detected_at_the_next_entry(store: Store, log: ProtocolLog) -> None:
    """A change with a recomputed hash no longer matches the next entry's prev_hash."""
    entries = fill(log, 5)
    row = _row(entries[2], idnr=OTHER_IDNR)
    store.execute(
        "UPDATE protocol_entries SET idnr = ?, entry_hash = ? WHERE sequence = 3",
        (OTHER_IDNR, entry_hash(row)),
    )
    assert broken_at(log) == 4


def test_removed_entry_is_detected(store: Store, log: ProtocolLog) -> None:
    """DELETE of entry 3 is reported as entry 3 missing."""
    fill(log, 5)
    store.execute("DELETE FROM protocol_entries WHERE sequence = 3")
    assert broken_at(log) == 3


def test_truncation_is_detected(store: Store, log: ProtocolLog) -> None:
    """Removing the newest entries is found through the recorded head."""
    fill(log, 5)
    store.execute("DELETE FROM protocol_entries WHERE sequence >= 4")
    assert broken_at(log) == 4


def test_swapped_entries_are_detected(store: Store, log: ProtocolLog) -> None:
    """Exchanging the places of entries 2 and 4 breaks the chain at 2."""
    fill(log, 5)
    store.execute("UPDATE protocol_entries SET sequence = -1 WHERE sequence = 2")
    store.execute("UPDATE protocol_entries SET sequence = 2 WHERE sequence = 4")
    store.execute("UPDATE protocol_entries SET sequence = 4 WHERE sequence = -1")
    assert broken_at(log) == 2


def test_entry_beyond_the_head_is_detected(store: Store, log: ProtocolLog) -> None:
    """A well-chained entry inserted behind the log's back is refused as beyond the head."""
    entries = fill(log, 2)
    extra = _row(entries[1], sequence=3, message_id="forged", prev_hash=entries[1].entry_hash)
    store.execute(
        "INSERT INTO protocol_entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (*extra, entry_hash(extra)),
    )
    assert broken_at(log) == 3


def test_append_is_idempotent(log: ProtocolLog) -> None:
    """Appending the same transfer again returns the first entry and does not extend the chain."""
    first = log.append(**transfer(1))
    fill(log, 0)
    again = log.append(**transfer(1))
    assert again == first
    assert log.verify() == 1
    pending = log.append(**transfer(1, outcome="pending"))
    assert pending.sequence == 2
    assert log.append(**transfer(1, outcome="pending")) == pending
    assert log.verify() == 2


def test_same_id_for_another_transfer_is_refused(log: ProtocolLog) -> None:
    """A message id and outcome already logged with other details is an error, not a no-op."""
    log.append(**transfer(1))
    with pytest.raises(ProtocolLogError, match="already logged"):
        log.append(**transfer(1, purpose="Gewerbeanmeldung"))
    assert log.verify() == 1


def test_idempotency_is_per_party(store: Store, clock: ManualClock) -> None:
    """Two parties logging the same transfer in one store get two entries."""
    with store.open(clock, party="noots-hub") as hub, store.open(clock, party="kba") as kba:
        assert hub.append(**transfer(1)).sequence == 1
        assert kba.append(**transfer(1)).sequence == 2
        assert hub.verify() == 2


def test_entries_filtered_by_idnr(log: ProtocolLog) -> None:
    """entries(idnr=...) returns only that citizen's entries, in chain order."""
    log.append(**transfer(1))
    log.append(**transfer(2, idnr=OTHER_IDNR))
    log.append(**transfer(3))
    log.append(**transfer(4, idnr=None))
    assert [e.sequence for e in log.entries(idnr=IDNR)] == [1, 3]
    assert [e.sequence for e in log.entries(idnr=OTHER_IDNR)] == [2]
    assert len(log.entries()) == 4


def test_transfer_lists_one_request_of_this_party(store: Store, clock: ManualClock) -> None:
    """transfer(message_id) returns this party's entries for that request, every outcome, in
    chain order, and nothing of another party or request."""
    with store.open(clock, party="kba") as kba, store.open(clock, party="hub") as hub:
        first = transfer(1)
        kba.append(**first)
        hub.append(**first)
        kba.append(**transfer(2))
        kba.append(**{**first, "outcome": "refused:EDM:ERR:0003"})
        found = kba.transfer(first["message_id"])
        assert [(e.party, e.outcome) for e in found] == [
            ("kba", "delivered"),
            ("kba", "refused:EDM:ERR:0003"),
        ]
        assert kba.transfer("urn:uuid:00000000-0000-0000-0000-000000000000") == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"outcome": "ok"}, "outcome must be"),
        ({"outcome": "refused:EDM:ERR:1"}, "outcome must be"),
        ({"purpose": ""}, "purpose must be a non-empty string"),
        ({"consumer": "a\x00b"}, "consumer must not contain NUL"),
        ({"provider": "\ud800"}, "provider must be valid Unicode"),
        ({"idnr": ""}, "idnr must be a non-empty string"),
    ],
)
def test_append_refuses_bad_fields(
    log: ProtocolLog, overrides: dict[str, Any], message: str
) -> None:
    """Fields that no backend could store faithfully, and unknown outcomes, are refused."""
    with pytest.raises(ValueError, match=message):
        log.append(**transfer(1, **overrides))
    assert log.verify() == 0


def test_refused_outcome_is_accepted(log: ProtocolLog) -> None:
    """An error outcome carries its EDM code."""
    assert log.append(**transfer(1, outcome="refused:EDM:ERR:0002")).outcome.endswith("0002")


def test_purge_removes_only_old_entries(log: ProtocolLog, clock: ManualClock) -> None:
    """Entries older than two years go; the rest stays and still verifies."""
    fill(log, 3)
    clock.advance(timedelta(days=400))
    newer = [log.append(**transfer(i)) for i in (4, 5)]
    clock.advance(timedelta(days=331))  # 731 days after the first three, 331 after the rest
    assert log.purge() == 3
    assert log.entries() == newer
    assert log.verify() == 2
    assert log.purge() == 0
    later = log.append(**transfer(6))
    assert later.sequence == 6
    assert log.verify() == 3


def test_purge_keeps_entries_exactly_at_the_limit(log: ProtocolLog, clock: ManualClock) -> None:
    """An entry exactly as old as the retention period is kept."""
    fill(log, 2)
    clock.advance(timedelta(days=730))
    assert log.purge() == 0
    clock.advance(timedelta(microseconds=1))
    assert log.purge() == 2
    assert log.verify() == 0
    assert log.append(**transfer(3)).sequence == 3
    assert log.verify() == 1


def test_purge_removes_only_a_prefix(log: ProtocolLog, clock: ManualClock) -> None:
    """An old entry behind a newer one (a clock step back) stays until the newer one goes."""
    log.append(**transfer(1))
    clock.advance(timedelta(days=100))
    log.append(**transfer(2))
    clock.advance(timedelta(days=-100))
    log.append(**transfer(3))
    clock.advance(timedelta(days=731))
    assert log.purge() == 1
    assert [e.sequence for e in log.entries()] == [2, 3]
    assert log.verify() == 2


def test_purge_with_custom_retention(log: ProtocolLog, clock: ManualClock) -> None:
    """The retention period is a parameter."""
    fill(log, 2)
    clock.advance(timedelta(days=2))
    assert log.purge(timedelta(days=1)) == 2


def test_purge_refuses_to_launder_a_broken_chain(
    store: Store, log: ProtocolLog, clock: ManualClock
) -> None:
    """A tampered entry in the part to purge stops the purge; nothing is deleted."""
    fill(log, 3)
    store.execute("UPDATE protocol_entries SET outcome = ? WHERE sequence = 2", ("pending",))
    clock.advance(timedelta(days=800))
    with pytest.raises(ChainBroken) as caught:
        log.purge()
    assert caught.value.sequence == 2
    assert len(log.entries()) == 3


def test_tampering_after_purge_is_detected(
    store: Store, log: ProtocolLog, clock: ManualClock
) -> None:
    """After a purge the first kept entry must still follow the anchor."""
    fill(log, 2)
    clock.advance(timedelta(days=800))
    fill_from = [log.append(**transfer(i)) for i in (3, 4)]
    assert log.purge() == 2
    store.execute(
        "UPDATE protocol_entries SET message_id = ? WHERE sequence = ?",
        ("x", fill_from[0].sequence),
    )
    assert broken_at(log) == 3


def test_open_dispatches_on_the_target(tmp_path: Path) -> None:
    """A path opens a SQLite file (created with its folder); the log is a context manager."""
    target = tmp_path / "deep" / "folder" / "log.db"
    with open_protocol_log(target, party="kba", clock=ManualClock()) as log:
        log.append(**transfer(1))
    assert target.is_file()
    connection = sqlite3.connect(target)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        connection.close()


_text = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=10
)
_transfers = st.lists(
    st.fixed_dictionaries(
        {
            "consumer": _text,
            "provider": _text,
            "evidence_type": _text,
            "purpose": _text,
            "idnr": st.none() | _text,
            "message_id": _text,
            "outcome": st.sampled_from(["delivered", "pending", "refused:EDM:ERR:0004"]),
        }
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda t: (t["message_id"], t["outcome"]),
)
_COLUMN_NAMES = (
    "sequence",
    "recorded_at",
    "party",
    "consumer",
    "provider",
    "evidence_type",
    "purpose",
    "idnr",
    "message_id",
    "outcome",
    "prev_hash",
    "entry_hash",
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(transfers=_transfers, data=st.data())
def test_any_appends_verify_and_any_single_change_breaks(
    store: Store, transfers: list[dict[str, Any]], data: st.DataObject
) -> None:
    """Any appends verify; changing any one stored field of any entry breaks at that entry."""
    store.reset()
    clock = ManualClock()
    with store.open(clock) as log:
        for item in transfers:
            log.append(**item)
            clock.advance(timedelta(seconds=data.draw(st.integers(0, 10**6))))
        assert log.verify() == len(transfers)
        sequence = data.draw(st.integers(1, len(transfers)))
        column = data.draw(st.sampled_from(_COLUMN_NAMES))
        # Longer than any drawn text, so the new value collides with no other entry.
        if column == "sequence":
            store.execute(
                "UPDATE protocol_entries SET sequence = sequence + 1000 WHERE sequence = ?",
                (sequence,),
            )
        else:
            store.execute(
                f"UPDATE protocol_entries SET {column} = COALESCE({column}, '') || ?"  # noqa: S608
                " WHERE sequence = ?",
                ("-tampered-x", sequence),
            )
        assert broken_at(log) == sequence


def test_concurrent_appends_from_threads(store: Store, clock: ManualClock) -> None:
    """Threads appending through one log and through separate connections keep one chain."""
    logs = [store.open(clock) for _ in range(3)]
    errors: list[BaseException] = []

    def work(log: ProtocolLog, worker: int) -> None:
        try:
            for i in range(15):
                log.append(**transfer(i, message_id=f"w{worker}-{i}"))
        except BaseException as error:  # surfaced in the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(logs[n % 3], n)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert logs[0].verify() == 90
    entries = logs[1].entries()
    assert [e.sequence for e in entries] == list(range(1, 91))
    assert {e.message_id for e in entries} == {f"w{w}-{i}" for w in range(6) for i in range(15)}
    for log in logs:
        log.close()


_WRITER = """
import sys
from noots.clock import ManualClock
from noots.protocol import open_protocol_log
with open_protocol_log(sys.argv[1], party="noots-hub", clock=ManualClock()) as log:
    for i in range(int(sys.argv[3])):
        log.append(consumer="c", provider="p", evidence_type="e", purpose="x",
                   idnr=None, message_id=f"{sys.argv[2]}-{i}", outcome="delivered")
"""


def test_concurrent_appends_from_processes(tmp_path: Path) -> None:
    """Three processes appending to one SQLite file lose no entry and keep one chain."""
    target = str(tmp_path / "shared.db")
    workers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, target, f"p{w}", "40"]) for w in range(3)
    ]
    assert [worker.wait(timeout=120) for worker in workers] == [0, 0, 0]
    with open_protocol_log(target, party="noots-hub", clock=ManualClock()) as log:
        assert log.verify() == 120
        assert {e.message_id for e in log.entries()} == {
            f"p{w}-{i}" for w in range(3) for i in range(40)
        }


_KILLED_WRITER = """
import sys
from noots.clock import ManualClock
from noots.protocol import open_protocol_log
log = open_protocol_log(sys.argv[1], party="kba", clock=ManualClock())
i = 0
while True:
    entry = log.append(consumer="c", provider="p", evidence_type="e", purpose="x",
                       idnr=None, message_id=f"k{i}", outcome="delivered")
    print(entry.message_id, flush=True)
    i += 1
"""


def test_kill_9_loses_no_returned_append(tmp_path: Path) -> None:
    """Every append that returned before a SIGKILL is in the file afterwards, chain intact."""
    target = str(tmp_path / "killed.db")
    writer = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, target], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    returned = [writer.stdout.readline().strip() for _ in range(40)]
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    returned += [line.strip() for line in writer.stdout.read().splitlines()]
    writer.stdout.close()
    with open_protocol_log(target, party="kba", clock=ManualClock()) as log:
        count = log.verify()
        stored = {e.message_id for e in log.entries()}
    assert set(returned) <= stored
    assert count >= len(returned)


def _fields(entry: ProtocolEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in _COLUMN_NAMES}


def _row(entry: ProtocolEntry, **changes: Any) -> tuple[Any, ...]:
    fields = {**_fields(entry), **changes}
    fields["recorded_at"] = fields["recorded_at"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return tuple(fields[name] for name in _COLUMN_NAMES[:11])
