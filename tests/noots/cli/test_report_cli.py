"""Tests of ``noots report verify``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from noots.cli import app
from noots.clock import ManualClock
from noots.conformance import ReportFiles, sign_report_files, write_report
from noots.pki import Role
from noots.testing.pki import TestPki
from tests.noots.conformance.test_report import sample_report

runner = CliRunner()


@pytest.fixture(scope="module")
def pki() -> Iterator[TestPki]:
    with TestPki(clock=ManualClock(datetime.now(UTC))) as test_pki:
        yield test_pki


@pytest.fixture
def files(tmp_path: Path, pki: TestPki) -> ReportFiles:
    report = sample_report()
    written = write_report(report, html=tmp_path / "r.html", json=tmp_path / "r.json")
    sign_report_files(
        written, report, pki.signer("noots-simulator", Role.SIMULATOR), clock=pki.clock
    )
    return written


def test_verify_ok_with_the_pki_dir(files: ReportFiles, pki: TestPki) -> None:
    """Unchanged files verify (exit 0) and the output names signer, verdict and score."""
    paths = [str(p) for p in files.paths()]
    result = runner.invoke(app, ["report", "verify", *paths, "--pki-dir", str(pki.directory)])
    assert result.exit_code == 0, result.output
    assert result.output.count("OK ") == 2
    assert "noots-simulator" in result.output
    assert "failed, score 50 %" in result.output


def test_verify_with_trust_anchor_and_crl(files: ReportFiles, pki: TestPki) -> None:
    """A third party with only the trust anchor and the CRL can verify."""
    assert files.json is not None
    ca = pki.directory / "ca"
    result = runner.invoke(
        app,
        [
            "report",
            "verify",
            str(files.json),
            "--trust-anchor",
            str(ca / "root-cert.pem"),
            "--crl",
            str(ca / "crl.pem"),
        ],
    )
    assert result.exit_code == 0, result.output


def test_edited_file_exits_two(files: ReportFiles, pki: TestPki) -> None:
    """An edited HTML report fails with exit 2 and a message saying it was changed."""
    assert files.html is not None
    text = files.html.read_text("utf-8")
    assert "NICHT BESTANDEN" in text
    files.html.write_text(text.replace("NICHT BESTANDEN", "BESTANDEN"), "utf-8")
    result = runner.invoke(
        app, ["report", "verify", str(files.html), "--pki-dir", str(pki.directory)]
    )
    assert result.exit_code == 2
    assert "changed after it was signed" in result.output


def test_without_trust_anchor_exits_one(files: ReportFiles, tmp_path: Path) -> None:
    """No PKI to trust is a tool failure (exit 1) with a hint what to pass."""
    assert files.json is not None
    result = runner.invoke(
        app, ["report", "verify", str(files.json), "--pki-dir", str(tmp_path / "none")]
    )
    assert result.exit_code == 1
    assert "--trust-anchor" in result.output
