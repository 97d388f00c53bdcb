"""Tests of ``noots topology show``, ``schema`` and ``check``."""

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


def test_show_prints_the_shipped_topology() -> None:
    """`noots topology show` prints the packaged landscape.yaml byte for byte."""
    result = runner.invoke(app, ["topology", "show"])
    assert result.exit_code == 0
    assert result.stdout == DEFAULT_TOPOLOGY_PATH.read_text(encoding="utf-8")


def test_show_writes_a_copy_and_never_overwrites(tmp_path: Path) -> None:
    """`noots topology show -o FILE` writes a copy that checks valid; an existing FILE is
    left alone with exit 1."""
    target = tmp_path / "landscape.yaml"
    assert runner.invoke(app, ["topology", "show", "-o", str(target)]).exit_code == 0
    assert runner.invoke(app, ["topology", "check", str(target)]).exit_code == 0
    target.write_text("mine", encoding="utf-8")
    again = runner.invoke(app, ["topology", "show", "-o", str(target)])
    assert again.exit_code == 1
    assert target.read_text(encoding="utf-8") == "mine"
