"""The README's Python example for online-service developers, run verbatim against a served
landscape (real sockets: the online service's SAK, the RDN, the VS, the register's SAK)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from noots.paths import PROJECT_ROOT
from noots.testing.landscape import Landscape

pytestmark = pytest.mark.e2e

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def _example() -> str:
    """The Python block of the section 'Five minutes for online-service developers'."""
    section = README.split("## Five minutes for online-service developers", 1)[1]
    section = section.split("\n## ", 1)[0]
    (block,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    return block


def test_the_example_is_one_line_plus_the_fetch() -> None:
    """The example finds the landscape with Client.from_landscape: no topology, no PKI code."""
    code = _example()
    assert "Client.from_landscape(" in code
    assert "load_participant" not in code
    assert "load_topology" not in code


def test_the_readme_example_fetches_through_the_running_landscape(
    landscape: Landscape,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Run as written in a directory whose noots-data holds the landscape's PKI, with
    NOOTS_TOPOLOGY naming where the landscape listens: it prints the vehicle data and logs."""
    data_dir = tmp_path / "noots-data"
    data_dir.mkdir()
    (data_dir / "pki").symlink_to(landscape.data_dir / "pki")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NOOTS_DATA_DIR", raising=False)
    monkeypatch.delenv("NOOTS_DATABASE_URL", raising=False)
    monkeypatch.setenv("NOOTS_TOPOLOGY", str(landscape.topology_path))
    exec(compile(_example(), "README.md", "exec"), {"__name__": "readme_example"})  # noqa: S102
    printed = capsys.readouterr().out
    assert "LB-EM 1964" in printed
    assert "Halter" in printed
    assert (data_dir / "logs" / "08118079-BPA-87.db").is_file()
