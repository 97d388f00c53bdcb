"""The register's announced asynchronous answers (PendingRequests): bounded, and with a
journal kept across a restart."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from noots.registers._service import PendingRequests
from noots.state import AnnouncementJournal, StateFile

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
CONSUMER = "dc-00001-BPA-11"


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateFile]:
    file = StateFile(tmp_path / "p.db")
    yield file
    file.close()


def reopened(state: StateFile) -> StateFile:
    state.close()
    return StateFile(state.path)


def test_without_a_journal_the_oldest_announcement_is_forgotten_when_full() -> None:
    """At the limit, a new announcement pushes out the oldest; an update pushes out none."""
    pending = PendingRequests(2)
    keys = [(CONSUMER, uuid.uuid4()) for _ in range(3)]
    pending.put(keys[0], T0)
    pending.put(keys[1], T0)
    pending.put(keys[0], T0 + timedelta(minutes=1))
    assert (len(pending), pending.get(keys[0])) == (2, T0 + timedelta(minutes=1))
    pending.put(keys[2], T0)
    assert pending.get(keys[1]) is None
    assert len(pending) == 2


def test_announcements_survive_a_restart_in_their_order(state: StateFile) -> None:
    """Announced answers read back oldest first; a collected one is gone."""
    pending = PendingRequests(10, AnnouncementJournal(state))
    keys = [(CONSUMER, uuid.uuid4()) for _ in range(3)]
    for minutes, key in enumerate(keys):
        pending.put(key, T0 + timedelta(minutes=minutes))
    pending.discard(keys[1])
    state = reopened(state)
    again = PendingRequests(10, AnnouncementJournal(state))
    assert again.get(keys[0]) == T0
    assert again.get(keys[1]) is None
    assert again.get(keys[2]) == T0 + timedelta(minutes=2)
    assert AnnouncementJournal(state).load() == [
        (keys[0], T0),
        (keys[2], T0 + timedelta(minutes=2)),
    ]
    state.close()


def test_announcements_stay_bounded_in_the_file(state: StateFile) -> None:
    """The oldest announcement is forgotten in the file too, also when the limit shrinks."""
    pending = PendingRequests(2, AnnouncementJournal(state))
    keys = [(CONSUMER, uuid.uuid4()) for _ in range(3)]
    for key in keys:
        pending.put(key, T0)
    pending.put(keys[1], T0 + timedelta(minutes=5))  # an update, no eviction
    assert [k for k, _ in AnnouncementJournal(state).load()] == [keys[2], keys[1]]
    smaller = PendingRequests(1, AnnouncementJournal(state))
    assert len(smaller) == 1
    assert [k for k, _ in AnnouncementJournal(state).load()] == [keys[1]]
