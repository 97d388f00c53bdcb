"""noots.state: the replay cache and the announcements survive a restart (a new process
reading the same file), and a guard that restarts decides exactly like one that never did."""

from __future__ import annotations

import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from noots.clock import ManualClock
from noots.envelope import EnvelopeHeader, ReplayGuard
from noots.errors import ReplayDetected, StaleMessage
from noots.state import AnnouncementJournal, ReplayJournal, StateFile

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
CONSUMER = "bpa-berlin-01"


def header(number: int, created: datetime) -> EnvelopeHeader:
    return EnvelopeHeader(
        message_id=uuid.UUID(int=number + 1),
        sender="dc-00001-BPA-11",
        recipient="991-01234ZFZR-41",
        service_id="urn:noots:service:evidence-request",
        created=created,
        purpose="Bewohnerparkausweis",
    )


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateFile]:
    file = StateFile(tmp_path / "state" / "p.db")
    yield file
    file.close()


def reopened(state: StateFile) -> StateFile:
    """The same file as a restarted process opens it."""
    state.close()
    return StateFile(state.path)


def test_the_replay_journal_reads_back_what_was_recorded(state: StateFile) -> None:
    """Accepted ids, forgotten ids and the horizon read back after a reopen."""
    journal = ReplayJournal(state)
    first, second = uuid.uuid4(), uuid.uuid4()
    journal.record((T0, first))
    journal.record((T0 + timedelta(seconds=1), second), forgotten=[first], horizon=T0)
    state = reopened(state)
    assert ReplayJournal(state).load() == ([(T0 + timedelta(seconds=1), second)], T0)
    state.close()


def test_a_restarted_guard_refuses_the_replay_of_an_accepted_envelope(state: StateFile) -> None:
    """An envelope accepted before the restart is a replay after it."""
    clock = ManualClock(T0)
    ReplayGuard(clock, journal=ReplayJournal(state)).check(header(1, T0))
    state = reopened(state)
    clock.advance(timedelta(seconds=60))
    with pytest.raises(ReplayDetected):
        ReplayGuard(clock, journal=ReplayJournal(state)).check(header(1, T0))
    state.close()


def test_a_restarted_guard_keeps_its_horizon(state: StateFile) -> None:
    """An id evicted from a full cache stays refused (as stale) after the restart."""
    clock = ManualClock(T0)
    guard = ReplayGuard(clock, max_entries=1, journal=ReplayJournal(state))
    guard.check(header(1, T0))
    guard.check(header(2, T0 + timedelta(seconds=1)))  # evicts 1
    state = reopened(state)
    guard = ReplayGuard(clock, max_entries=1, journal=ReplayJournal(state))
    assert guard.horizon == T0
    with pytest.raises(StaleMessage):
        guard.check(header(1, T0))
    with pytest.raises(ReplayDetected):
        guard.check(header(2, T0 + timedelta(seconds=1)))
    state.close()


def test_a_journal_that_cannot_be_written_accepts_nothing(state: StateFile) -> None:
    """A failing write refuses the envelope (the error propagates) and remembers nothing."""
    guard = ReplayGuard(ManualClock(T0), journal=ReplayJournal(state))
    state.close()
    with pytest.raises(sqlite3.ProgrammingError):
        guard.check(header(1, T0))
    assert len(guard) == 0


def test_the_announcement_journal_reads_back_oldest_first(state: StateFile) -> None:
    """Announcements read back in the order they were made; an update moves one to the end,
    a discarded or evicted one is gone."""
    journal = AnnouncementJournal(state)
    keys = [(CONSUMER, uuid.uuid4()) for _ in range(4)]
    for minutes, key in enumerate(keys):
        journal.put(key, T0 + timedelta(minutes=minutes))
    journal.put(keys[0], T0 + timedelta(minutes=9), evicted=[keys[1]])
    journal.discard(keys[2])
    state = reopened(state)
    assert AnnouncementJournal(state).load() == [
        (keys[3], T0 + timedelta(minutes=3)),
        (keys[0], T0 + timedelta(minutes=9)),
    ]
    state.close()


def steps(advance: st.SearchStrategy[int]) -> st.SearchStrategy[list[tuple[int, int, bool]]]:
    """(which of six messages, seconds the clock moves first, restart before this step)."""
    return st.lists(
        st.tuples(st.integers(min_value=0, max_value=5), advance, st.booleans()), max_size=40
    )


OFFSETS = st.lists(st.integers(min_value=-300, max_value=300), min_size=6, max_size=6)


def _decide(guard: ReplayGuard, message: EnvelopeHeader) -> str:
    try:
        guard.check(message)
    except StaleMessage:
        return "stale"
    except ReplayDetected:
        return "replay"
    return "accepted"


def journaled_run(
    clock: ManualClock, steps: list[tuple[int, int, bool]], offsets: list[int], max_entries: int
) -> Iterator[tuple[ReplayGuard, int, EnvelopeHeader]]:
    """Walk ``steps`` with a journaled guard, restarting it where a step says so: yields the
    guard, the message's index and the message once the clock has moved."""
    messages = [header(i, T0 + timedelta(seconds=o)) for i, o in enumerate(offsets)]
    with tempfile.TemporaryDirectory() as directory:
        state = StateFile(Path(directory) / "p.db")
        guard = ReplayGuard(clock, max_entries=max_entries, journal=ReplayJournal(state))
        for index, advance, restart in steps:
            clock.advance(timedelta(seconds=advance))
            if restart:
                state = reopened(state)
                guard = ReplayGuard(clock, max_entries=max_entries, journal=ReplayJournal(state))
            yield guard, index, messages[index]
        state.close()


@settings(max_examples=100, deadline=None)
@given(
    steps=steps(st.integers(min_value=0, max_value=200)),
    offsets=OFFSETS,
    max_entries=st.integers(min_value=1, max_value=3),
)
def test_a_restarting_guard_decides_like_one_that_never_restarts(
    steps: list[tuple[int, int, bool]], offsets: list[int], max_entries: int
) -> None:
    """With the clock moving forward, restarts anywhere change no decision."""
    clock = ManualClock(T0)
    steady = ReplayGuard(clock, max_entries=max_entries)
    for restarting, _index, message in journaled_run(clock, steps, offsets, max_entries):
        assert _decide(restarting, message) == _decide(steady, message)


@settings(max_examples=100, deadline=None)
@given(
    steps=steps(st.integers(min_value=-300, max_value=300)),  # the clock also goes back
    offsets=OFFSETS,
    max_entries=st.integers(min_value=1, max_value=3),
)
# The horizon's case: 0 and 1 leave the window, 2 is accepted (the journal learns the horizon),
# then a restart with the clock set back brings 0 inside the window again.
@example(
    steps=[(0, 0, False), (1, 250, False), (1, 250, False), (2, 0, False), (0, -300, True)],
    offsets=[0, 0, 300, 0, 0, 0],
    max_entries=3,
)
def test_a_restarting_guard_never_accepts_a_message_twice(
    steps: list[tuple[int, int, bool]], offsets: list[int], max_entries: int
) -> None:
    """Whatever the timing, restarts and cache size, no envelope is accepted twice."""
    accepted: set[int] = set()
    for guard, index, message in journaled_run(ManualClock(T0), steps, offsets, max_entries):
        if _decide(guard, message) == "accepted":
            assert index not in accepted
            accepted.add(index)
