"""The wheel, built from the checkout and installed into a clean virtual environment outside it:
one top-level name (``noots``), everything it needs to run inside it (schemas, the default
topology, templates), and bootstrap, up and demo work from a folder that is not the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pytest

from noots.paths import PROJECT_ROOT
from noots.testing.up import noots_up, write_landscape

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BPA = "08118079-BPA-87"
MELD = "08118079-MELD-12"
KBA = "991-01234ZFZR-41"
#: What a checkout holds besides the tracked files (caches, state, other tools' folders).
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "node_modules",
    "noots-data",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
    ".setup-stamp",
)


def run(
    command: list[str], *, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 600
):
    """Run ``command``; its output in the assertion message when it fails."""
    done = subprocess.run(
        command,
        cwd=cwd,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stdout}{done.stderr}"
    return done


def outside_env() -> dict[str, str]:
    """This environment without what would lead the venv's Python back to the checkout or to
    this test run's landscape settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "PYTHONPATH" and not k.startswith(("NOOTS_", "PYTEST_"))
    }
    return dict(env, COLUMNS="160", NO_COLOR="1")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel pip builds from a copy of the checkout (the copy keeps build files out of it)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    shutil.copytree(PROJECT_ROOT, source, symlinks=True, ignore=NOT_SOURCE)
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(root / "dist"),
            str(source),
        ],
        cwd=root,
        env=outside_env(),
    )
    (built,) = (root / "dist").glob("noots-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A virtual environment without the system's packages, with the wheel and its
    dependencies installed by pip; its Python."""
    root = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", str(root)], cwd=root, env=outside_env())
    python = root / "bin" / "python"
    run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], cwd=root, env=outside_env())
    return python


def test_the_wheel_installs_nothing_but_noots_at_the_top_level(wheel: Path) -> None:
    """Every file of the wheel is below noots/ or its dist-info: no registers, intermediary or
    consumers module lands in site-packages."""
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"noots"}


def test_the_wheel_carries_the_schemas_the_topology_and_the_templates(wheel: Path) -> None:
    """Every schema, the default landscape.yaml and every page template of the checkout is in
    the wheel."""
    names = set(zipfile.ZipFile(wheel).namelist())
    package = PROJECT_ROOT / "noots"
    needed = {
        path.relative_to(PROJECT_ROOT).as_posix()
        for pattern in ("xsd/*.xsd", "landscape/landscape.yaml", "**/templates/*.html")
        for path in package.glob(pattern)
    }
    assert len(needed) > 10
    assert needed - names == set()


def test_the_installed_package_runs_from_the_venv_not_the_checkout(
    venv: Path, tmp_path: Path
) -> None:
    """In the venv, noots and its package data are below the venv; ``registers`` is no module."""
    probe = (
        "import importlib.util, noots, noots.paths as p; "
        "print(noots.__file__); print(p.XSD_DIR); print(p.DEFAULT_TOPOLOGY_PATH); "
        "print(importlib.util.find_spec('registers'))"
    )
    out = run([str(venv), "-c", probe], cwd=tmp_path, env=outside_env()).stdout.splitlines()
    prefix = str(venv.parent.parent)
    assert all(line.startswith(prefix) for line in out[:3]), out
    assert out[3] == "None"


def test_bootstrap_up_and_demo_run_from_the_installed_wheel(venv: Path, tmp_path: Path) -> None:
    """In a folder outside the checkout: bootstrap with the packaged topology into
    ./noots-data, up on free ports, and the demo plays the pilot against that landscape."""
    work = tmp_path / "work"
    work.mkdir()
    noots = [str(venv), "-m", "noots"]
    env = outside_env()
    run([*noots, "bootstrap", "--people", "300"], cwd=work, env=env)
    data_dir = work / "noots-data"
    assert (data_dir / "population.db").is_file()
    topology = write_landscape(work / "landscape.yaml", keep={BPA, MELD, KBA})
    with noots_up(data_dir, topology, python=venv, cwd=work, env=env) as up:
        demo = run(
            [*noots, "demo", "--data-dir", str(data_dir), "--topology", str(topology)],
            cwd=work,
            env=env,
        )
        assert up.returncode is None
    assert "Datenschutzcockpit: die Bürgerin sieht ihre Übermittlungen" in demo.stdout
    assert "register verified, answered and logged" in demo.stdout
    assert "✗" not in demo.stdout
