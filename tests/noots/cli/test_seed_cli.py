"""Tests of ``noots seed``."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from noots.cli import app
from noots.synthetic.population import PopulationStore

runner = CliRunner()


def test_seed_writes_the_population(tmp_path: Path) -> None:
    """`noots seed` builds population.db in the data directory and summarises it."""
    result = runner.invoke(
        app, ["seed", "--people", "300", "--seed", "5", "--data-dir", str(tmp_path), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert "300 people" in result.stdout
    with PopulationStore(tmp_path / "population.db") as store:
        assert store.count() == 300
        assert store.meta()["seed"] == "5"


def test_seed_uses_noots_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --data-dir the population goes to NOOTS_DATA_DIR."""

    monkeypatch.setenv("NOOTS_DATA_DIR", str(tmp_path / "env"))
    result = runner.invoke(app, ["seed", "-n", "20", "-q"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "env" / "population.db").is_file()


def test_seed_refuses_a_bad_topology(tmp_path: Path) -> None:
    """A broken topology file stops `noots seed` with exit code 1 (as `noots up`) and the
    reason."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: [\n", encoding="utf-8")
    result = runner.invoke(
        app, ["seed", "-n", "10", "--data-dir", str(tmp_path), "--topology", str(bad), "-q"]
    )
    assert result.exit_code == 1
    assert "bad.yaml" in result.stderr
    assert not (tmp_path / "population.db").exists()


def test_seed_refuses_a_topology_without_melderegister(tmp_path: Path) -> None:
    """No Melderegister, nowhere to live: exit 1 naming the missing register, nothing written."""
    from noots.testing.up import write_landscape

    topology = write_landscape(tmp_path / "kba-only.yaml", keep={"991-01234ZFZR-41"})
    result = runner.invoke(
        app, ["seed", "-n", "10", "--data-dir", str(tmp_path), "--topology", str(topology), "-q"]
    )
    assert result.exit_code == 1
    assert "no Melderegister" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "population.db").exists()


def test_seed_and_up_default_to_the_same_population() -> None:
    """noots seed and noots up (and bootstrap, demo) default to the same seed and size, the
    supervisor's, so both build the same people."""
    import inspect

    from noots.cli._options import DEFAULT_PEOPLE, DEFAULT_SEED
    from noots.cli._seed import seed
    from noots.cli._up import bootstrap, up
    from noots.supervisor import DEFAULT_PEOPLE as SUPERVISOR_PEOPLE
    from noots.supervisor import DEFAULT_SEED as SUPERVISOR_SEED

    assert (DEFAULT_SEED, DEFAULT_PEOPLE) == (SUPERVISOR_SEED, SUPERVISOR_PEOPLE)
    for command in (seed, up, bootstrap):
        parameters = inspect.signature(command).parameters
        assert parameters["seed"].default == DEFAULT_SEED, command
        assert parameters["people"].default == DEFAULT_PEOPLE, command
