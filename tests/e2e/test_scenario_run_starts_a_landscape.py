"""`noots scenario run` without a running landscape starts one (noots up's machinery), runs
the pilot suites against it over real sockets, and stops it again."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from noots.paths import PROJECT_ROOT
from noots.supervisor import running_landscape
from noots.testing.up import write_landscape


@pytest.mark.e2e
@pytest.mark.slow
def test_scenario_run_starts_and_stops_its_own_landscape(tmp_path: Path) -> None:
    """Exit 0, every pilot passed, and no landscape is left running for the data dir."""
    data_dir = tmp_path / "data"
    topology = write_landscape(tmp_path / "landscape.yaml")
    report = tmp_path / "report.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "noots",
            "scenario",
            "run",
            str(PROJECT_ROOT / "scenarios" / "pilots"),
            "--data-dir",
            str(data_dir),
            "--topology",
            str(topology),
            "--people",
            "150",
            "--json",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "starting one" in result.stdout
    assert "Stopping the landscape started for this run" in result.stdout
    data = json.loads(report.read_text("utf-8"))
    suites = list((PROJECT_ROOT / "scenarios" / "pilots").glob("*.yaml"))
    assert [s["status"] for s in data["sections"]] == ["pass"] * len(suites)
    assert running_landscape(data_dir) is None
