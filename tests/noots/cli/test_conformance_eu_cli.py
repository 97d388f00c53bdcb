"""``noots conformance eu`` against the served landscape's Intermediäre Plattform (real
sockets): exit codes, signed reports of kind ip, usage errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from noots.cli import app
from noots.clock import SystemClock
from noots.conformance import verify_report_file
from noots.participant import load_validator
from noots.signing import XmlVerifier
from noots.testing.landscape import Landscape, bootstrap

runner = CliRunner()


def _options(data_dir: Path, topology: Path) -> list[str]:
    return ["--data-dir", str(data_dir), "--topology", str(topology)]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("eu-cli")
    bootstrap(data_dir, people=60)
    return data_dir


def test_the_landscapes_ip_passes_with_signed_reports(landscape: Landscape, tmp_path: Path) -> None:
    """Against the served landscape's IP (its default address): exit 0, every IP condition
    passed, English with --lang en, the report files signed by the simulator."""
    result = runner.invoke(
        app,
        [
            "conformance",
            "eu",
            "--report",
            str(tmp_path),
            "--lang",
            "en",
            *_options(landscape.data_dir, landscape.topology_path),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "report.json").read_text("utf-8"))
    assert data["kind"] == "ip"
    assert data["language"] == "en"
    assert [s["id"] for s in data["sections"]] == [f"IP-{n:02d}" for n in range(1, 11)]
    assert {s["status"] for s in data["sections"]} == {"pass"}
    assert data["summary"]["uncovered"] == []
    verifier = XmlVerifier(load_validator(landscape.data_dir / "pki", clock=SystemClock()))
    assert verify_report_file(tmp_path / "report.json", verifier).passed


def test_an_unreachable_access_point_is_exit_1(fresh: Path, tmp_path: Path) -> None:
    """Nothing listens at --target: exit 1 (the tool could not run), no report."""
    result = runner.invoke(
        app,
        [
            "conformance",
            "eu",
            "--target",
            "http://127.0.0.1:9/ip/v1",
            "--report",
            str(tmp_path / "r"),
            *_options(fresh, fresh / "landscape.yaml"),
        ],
    )
    assert result.exit_code == 1, result.output
    assert "does not answer" in result.output
    assert not (tmp_path / "r" / "report.json").exists()


def test_a_landscape_without_an_eu_side_is_exit_1(fresh: Path, tmp_path: Path) -> None:
    """A topology without `intermediary_platform` and `eu`: exit 1, saying so."""
    data = yaml.safe_load((fresh / "landscape.yaml").read_text("utf-8"))
    data.pop("intermediary_platform", None)
    data.pop("eu", None)
    eu_types = {"Hochschulabschluss-EU"}
    data["evidence_types"] = [t for t in data["evidence_types"] if t["name"] not in eu_types]
    data["authorisations"] = [
        a for a in data["authorisations"] if a["evidence_type"] not in eu_types
    ]
    topology = tmp_path / "landscape.yaml"
    topology.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    data_dir = tmp_path / "data"
    shutil.copytree(fresh, data_dir)
    result = runner.invoke(app, ["conformance", "eu", *_options(data_dir, topology)])
    assert result.exit_code == 1, result.output
    assert "no EU side" in result.output


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--evidence", "Einhornlizenz"], "--evidence"),
        (["--ca-file", "/nonexistent/ca.pem"], "--ca-file"),
        (["--lang", "fr"], "--lang"),
    ],
)
def test_a_usage_error_exits_64_naming_the_option(
    fresh: Path, options: list[str], named: str
) -> None:
    """Called wrongly: exit 64, the message names the option at fault."""
    result = runner.invoke(
        app,
        [
            "conformance",
            "eu",
            "--target",
            "http://127.0.0.1:9/ip/v1",
            *options,
            *_options(fresh, fresh / "landscape.yaml"),
        ],
    )
    assert result.exit_code == 64, result.output
    assert named in result.output
