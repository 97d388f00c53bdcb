"""Tests of ``noots topology schema`` and ``noots topology check``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from noots.cli import app
from noots.topology import DEFAULT_TOPOLOGY_PATH, render_json_schema

runner = CliRunner()


def test_schema_prints_the_generated_schema() -> None:
    """`noots topology schema` prints exactly the generated JSON Schema."""
    result = runner.invoke(app, ["topology", "schema"])
    assert result.exit_code == 0
    assert result.stdout == render_json_schema()
    assert json.loads(result.stdout)["title"] == "Topology"


def test_check_default_file() -> None:
    """`noots topology check` accepts the committed landscape and summarises it."""
    result = runner.invoke(app, ["topology", "check"])
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout
    assert "registers" in result.stdout


def test_check_reports_the_line(tmp_path: Path) -> None:
    """`noots topology check FILE` exits 1 and names file, location and line of the problem."""
    text = DEFAULT_TOPOLOGY_PATH.read_text(encoding="utf-8").replace(
        "area: justiz", "area: unbekannt"
    )
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["topology", "check", str(path)])
    assert result.exit_code == 1
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "area: unbekannt" in row)
    assert f"{path}:{line}: registers[7].area: unknown administrative area" in result.stderr
