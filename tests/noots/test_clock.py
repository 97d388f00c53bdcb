"""Tests of the landscape's shared clock (noots.clock.LandscapeClock and its offset file)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from noots.clock import (
    LandscapeClock,
    SystemClock,
    advance_shared_offset,
    read_shared_offset,
    write_shared_offset,
)
from noots.settings import NootsSettings


def test_offset_written_by_one_party_is_seen_by_another(tmp_path: Path) -> None:
    """Two clocks on the same file agree on the moved time; removing the file moves back."""
    path = tmp_path / "run" / "clock.json"
    a, b = LandscapeClock(path), LandscapeClock(path)
    assert a.shared_offset == timedelta(0)
    write_shared_offset(path, timedelta(minutes=10))
    assert a.shared_offset == b.shared_offset == timedelta(minutes=10)
    wall = SystemClock().now()
    assert a.now() - wall >= timedelta(minutes=10) - timedelta(seconds=1)
    write_shared_offset(path, timedelta(0))
    assert not path.exists()
    assert b.shared_offset == timedelta(0)


def test_advancing_adds_to_the_offset_already_there(tmp_path: Path) -> None:
    """advance_shared_offset moves from where the clock stands (a first advance from zero)."""
    path = tmp_path / "run" / "clock.json"
    assert advance_shared_offset(path, timedelta(seconds=30)) == timedelta(seconds=30)
    assert advance_shared_offset(path, timedelta(minutes=2)) == timedelta(seconds=150)
    assert read_shared_offset(path) == timedelta(seconds=150)


def test_own_offset_adds_to_the_shared_one(tmp_path: Path) -> None:
    """A process's configured offset and the landscape's shared offset add up."""
    path = tmp_path / "clock.json"
    write_shared_offset(path, timedelta(hours=1))
    clock = LandscapeClock(path, timedelta(hours=2))
    assert clock.now() - SystemClock().now() > timedelta(hours=2, minutes=59)


def test_garbage_in_the_file_means_no_offset(tmp_path: Path) -> None:
    """An unreadable, absurd or NaN offset is ignored rather than moving time wildly."""
    path = tmp_path / "clock.json"
    for text in ("not json", '{"offsetSeconds": "x"}', '{"offsetSeconds": NaN}', "[]"):
        path.write_text(text, encoding="utf-8")
        assert read_shared_offset(path) == timedelta(0)
    path.write_text('{"offsetSeconds": 1e15}', encoding="utf-8")
    assert read_shared_offset(path) == timedelta(0)


@settings(max_examples=50)
@given(st.floats(min_value=-1e8, max_value=1e8, allow_nan=False))
def test_offset_round_trips(seconds: float) -> None:
    """Any offset written is read back to the microsecond."""
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "clock.json"
        write_shared_offset(path, timedelta(seconds=seconds))
        expected = timedelta(seconds=seconds)
        assert abs(read_shared_offset(path) - expected) <= timedelta(microseconds=1)


def test_settings_clock_follows_the_landscape_only_in_test_mode(tmp_path: Path) -> None:
    """In test mode the process clock reads <data_dir>/run/clock.json; strict mode never."""
    write_shared_offset(tmp_path / "run" / "clock.json", timedelta(days=1))
    test_clock = NootsSettings(data_dir=tmp_path).clock()
    strict_clock = NootsSettings(data_dir=tmp_path, mode="strict").clock()
    assert isinstance(test_clock, LandscapeClock)
    assert not isinstance(strict_clock, LandscapeClock)
    assert test_clock.now() - strict_clock.now() > timedelta(hours=23)
