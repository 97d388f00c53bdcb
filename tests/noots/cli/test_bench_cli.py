"""``noots bench``: runs the bench scripts, passes options through, reports failures."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from noots.cli import _bench, app

runner = CliRunner()


@pytest.fixture
def fake_bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A bench folder whose scripts append their name and arguments to a file."""
    log = tmp_path / "calls.txt"
    for name, script in _bench.SCRIPTS.items():
        code = 1 if name == "overhead" else 0
        (tmp_path / script).write_text(
            "import sys\n"
            f"open({str(log)!r}, 'a').write({name!r} + ' ' + ' '.join(sys.argv[1:]) + '\\n')\n"
            f"sys.exit({code})\n"
        )
    monkeypatch.setattr(_bench, "BENCH_DIR", tmp_path)
    return log


def test_one_script_gets_the_options_after_its_name(fake_bench: Path) -> None:
    """`noots bench e2e --concurrency 32` runs e2e.py with --concurrency 32."""
    result = runner.invoke(app, ["bench", "e2e", "--concurrency", "32"])
    assert result.exit_code == 0, result.output
    assert fake_bench.read_text() == "e2e --concurrency 32\n"


def test_quick_puts_the_tiny_parameters_first(fake_bench: Path) -> None:
    """--quick passes the smoke-run parameters, then the user's."""
    result = runner.invoke(app, ["bench", "crypto", "--quick", "--rounds", "7"])
    assert result.exit_code == 0, result.output
    assert fake_bench.read_text() == "crypto --rounds 20 --rounds 7\n"


def test_all_runs_every_script_and_fails_if_one_fails(fake_bench: Path) -> None:
    """`noots bench all` runs each script but the profiler in turn; a failing one exits 1."""
    result = runner.invoke(app, ["bench", "all"])
    assert result.exit_code == 1
    ran = [line.split()[0] for line in fake_bench.read_text().splitlines()]
    assert ran == ["crypto", "messages", "state", "e2e", "overhead", "scale"]
    assert "failed: overhead" in result.output


def test_unknown_benchmark_and_options_for_all_are_refused(fake_bench: Path) -> None:
    """An unknown name, or options with `all`, exit 2 without running anything."""
    assert runner.invoke(app, ["bench", "nonsense"]).exit_code == 2
    assert runner.invoke(app, ["bench", "all", "--rounds", "3"]).exit_code == 2
    assert not fake_bench.exists()


def test_missing_scripts_are_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the bench folder (an installed wheel) the command says where they come from."""
    monkeypatch.setattr(_bench, "BENCH_DIR", tmp_path / "absent")
    result = runner.invoke(app, ["bench", "crypto"])
    assert result.exit_code == 1
    assert "source checkout" in result.output
