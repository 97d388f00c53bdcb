"""`noots serve`, `noots status`, `noots down`: the answers when something is missing."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from noots.cli import app
from noots.clock import SystemClock
from noots.pki import CertificateAuthority

runner = CliRunner()


def test_serve_without_pki_says_what_to_run(tmp_path: Path) -> None:
    """A data dir that was never bootstrapped: exit 1, pointing to `noots bootstrap`."""
    result = runner.invoke(app, ["serve", "platform", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "noots bootstrap" in result.output


def test_serve_unknown_component_lists_the_known_ones(tmp_path: Path) -> None:
    """A typo in the component name: exit 1 with the components of the landscape."""
    CertificateAuthority.create(tmp_path / "pki", clock=SystemClock())
    result = runner.invoke(app, ["serve", "plattform", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "no component 'plattform'" in result.output
    assert "platform, ida, " in result.output
    assert "991-01234ZFZR-41" in result.output


def test_status_and_down_without_a_landscape(tmp_path: Path) -> None:
    """No landscape runs: status exits 1, down has nothing to do (exit 0)."""
    status = runner.invoke(app, ["status", "--data-dir", str(tmp_path)])
    assert status.exit_code == 1
    assert "no landscape runs" in status.output
    down = runner.invoke(app, ["down", "--data-dir", str(tmp_path)])
    assert down.exit_code == 0
    assert "no landscape runs" in down.output


def test_bootstrap_without_melderegister_explains(tmp_path: Path) -> None:
    """`noots bootstrap` with a topology that has no Melderegister: exit 1 with the reason
    instead of a traceback, and no population file."""
    from noots.testing.up import write_landscape

    topology = write_landscape(tmp_path / "kba-only.yaml", keep={"991-01234ZFZR-41"})
    data_dir = tmp_path / "data"
    result = runner.invoke(
        app,
        ["bootstrap", "--data-dir", str(data_dir), "--topology", str(topology), "--people", "10"],
    )
    assert result.exit_code == 1, result.output
    assert "no Melderegister" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (data_dir / "population.db").exists()
