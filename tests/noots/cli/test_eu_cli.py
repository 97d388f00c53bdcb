"""Tests of ``noots eu send-query`` against an IP on a real loopback socket."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from typer.testing import CliRunner

from noots.cli import app
from noots.clock import ManualClock
from noots.eu import edm
from noots.eu.edm import EdmNaturalPerson
from noots.testing.eu import sample_query
from noots.testing.servers import serving
from tests.noots.intermediary.eu_support import eu_landscape

runner = CliRunner()


def write_query(path: Path, clock: ManualClock, *, family_name: str = "Mustermann") -> Path:
    query = sample_query(
        clock,
        subject=EdmNaturalPerson(family_name, "Erika", date(1964, 8, 12)),
    )
    path.write_bytes(edm.to_bytes(query))
    return path


def test_evidence_exits_0_and_writes_the_document(tmp_path: Path) -> None:
    """A query the German register answers: exit 0, the evidence listed and written."""
    with eu_landscape(start=datetime.now(UTC)) as land, serving(land.ip) as url:
        query = write_query(tmp_path / "query.xml", land.clock)
        result = runner.invoke(
            app,
            ["eu", "send-query", str(query), "--ip-url", url, "--pki-dir", str(land.pki.directory),
             "--out", str(tmp_path / "out")],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1 evidence(s)" in result.stdout
    assert (tmp_path / "out" / "evidence-1.xml").read_bytes().startswith(b"<?xml")


def test_unknown_person_exits_2_with_the_exception(tmp_path: Path) -> None:
    """A person the register does not know: exit 2, the rs:Exception printed."""
    with eu_landscape(start=datetime.now(UTC)) as land, serving(land.ip) as url:
        query = write_query(tmp_path / "query.xml", land.clock, family_name="Niemand")
        result = runner.invoke(
            app,
            ["eu", "send-query", str(query), "--ip-url", url, "--pki-dir", str(land.pki.directory)],
        )
    assert result.exit_code == 2, result.output
    assert "EDM:ERR:0004 (ObjectNotFoundExceptionType)" in result.stdout


def test_unreachable_ip_exits_1(tmp_path: Path) -> None:
    """No IP listening: exit 1 with a message, no traceback."""
    with eu_landscape(start=datetime.now(UTC)) as land:
        query = write_query(tmp_path / "query.xml", land.clock)
        result = runner.invoke(
            app,
            ["eu", "send-query", str(query), "--ip-url", "http://127.0.0.1:9",
             "--pki-dir", str(land.pki.directory), "--timeout", "2"],
        )  # fmt: skip
    assert result.exit_code == 1
    assert "could not send" in result.output


def test_file_without_a_query_exits_1(tmp_path: Path) -> None:
    """A file that is not an EDM QueryRequest: exit 1."""
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<a/>")
    result = runner.invoke(app, ["eu", "send-query", str(bad), "--ip-url", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "could not send" in result.output
