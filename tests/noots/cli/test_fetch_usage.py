"""``noots fetch`` called wrongly, and its progress display: no landscape needed."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from noots.cli import app
from noots.cli._exit import USAGE
from noots.cli._fetch import _Progress
from noots.consumers import PendingEvidence


def fetch(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["fetch", *args])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["-e", "Meldebescheinigung"], "name the subject"),
        (["-e", "Meldebescheinigung", "--person", "Erika"], "date of birth"),
        (["-e", "Meldebescheinigung", "--person", "Max Doppelmann"], "01234567853"),
        (["-e", "Meldebescheinigung", "--person", "Erika Mustermann 1964-13-40"], "date"),
        (["-e", "Meldebescheinigung", "--idnr", "02476291358", "--person", "Nils Niemand"], ""),
        (["-e", "Meldebescheinigung", "--idnr", "02476291358", "--born", "yesterday"], "date"),
        (["-e", "Meldebescheinigung", "--bogus"], "No such option"),
        (["--person", "Erika Mustermann"], "Missing option"),
    ],
    ids=[
        "no-subject",
        "no-date",
        "ambiguous-name",
        "impossible-date",
        "idnr-contradicts-person",
        "bad-born",
        "unknown-option",
        "no-evidence",
    ],
)
def test_usage_errors_exit_64(args: list[str], said: str) -> None:
    """A wrong call exits 64 (not 2, a refused exchange) and says what is wrong."""
    code, output = fetch(*args)
    assert code == USAGE, output
    assert said in output


def test_missing_topology_file_is_a_usage_error(tmp_path: Path) -> None:
    """--topology naming no file: 64, named."""
    code, output = fetch(
        "-e", "Meldebescheinigung", "--idnr", "02476291358", "--born", "1964-08-12",
        "--topology", str(tmp_path / "nope.yaml"),
    )  # fmt: skip
    assert code == USAGE
    # The error box wraps a long temporary path anywhere: read it without the box.
    assert "nope.yaml" in re.sub(r"[\s│]", "", output)


def _pending() -> PendingEvidence:
    return PendingEvidence(
        uuid.UUID(int=5),
        "Meldebescheinigung",
        "08118079-MELD-12",
        datetime(2026, 12, 6, 5, 12, 52, tzinfo=UTC),
        120.0,
    )


def test_progress_in_a_file_is_one_plain_line_per_announcement() -> None:
    """Not a terminal: each announcement is one line naming the time (Europe/Berlin), the wait
    and the request; no spinner, no control characters."""
    stream = io.StringIO()
    progress = _Progress(Console(file=stream, width=80))
    progress.pending(_pending())
    progress.stop()
    text = stream.getvalue()
    assert text.count("\n") == 1
    assert "06.12.2026, 06:12:52 Uhr" in text
    assert "waiting 120 s" in text
    assert f"urn:uuid:{uuid.UUID(int=5)}" in text
    assert "\x1b" not in text


def test_progress_on_a_terminal_is_a_status_that_ends() -> None:
    """On a terminal the wait is a live status line, updated per announcement and gone after."""
    stream = io.StringIO()
    progress = _Progress(Console(file=stream, force_terminal=True, width=100))
    progress.pending(_pending())
    status = progress._status
    assert status is not None
    progress.pending(_pending())
    assert progress._status is status
    progress.stop()
    assert progress._status is None
    assert "Meldebescheinigung" in stream.getvalue()
