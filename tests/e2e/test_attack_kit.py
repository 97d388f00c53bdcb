"""The attack kit against a real ``noots up`` (issue 13): the UTF-16 parameter-entity document
to every POST endpoint of every component stalls nothing, and the whole kit finds no problem.

A reduced landscape (platform, IDA, the KBA and the Melderegister Korntal-Münchingen, the
Bewohnerparkausweis service, the Intermediäre Plattform with the simulated EU side, their SAKs
and the dashboard) keeps the run short; every kind of component is in it. The counts are
printed (``-s`` shows them)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from noots.components import landscape_components
from noots.conformance.landscape_attacks import PARAMETER_ENTITY_UTF16, post_endpoints
from noots.testing.up import UpProcess, noots_up, write_landscape
from noots.topology import Topology, load_topology
from tests.e2e.conftest import copy_data_dir

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

KEEP = {"991-01234ZFZR-41", "08118079-MELD-12", "08118079-BPA-87", "noots-ip"}


@pytest.fixture(scope="module")
def landscape(
    bootstrapped: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[UpProcess, Topology]]:
    base = tmp_path_factory.mktemp("attack-kit")
    data_dir = copy_data_dir(bootstrapped, base / "data")
    topology_path = write_landscape(base / "landscape.yaml", keep=KEEP)
    with noots_up(data_dir, topology_path) as up:
        yield up, load_topology(topology_path)


async def _sweep(topology: Topology) -> tuple[dict[str, int], dict[str, float]]:
    """The document to every POST and PUT of every component; then each /health's time."""
    sent: dict[str, int] = {}
    async with httpx.AsyncClient(trust_env=False, timeout=30.0) as http:
        components = landscape_components(topology, dashboard=True)
        for component in components:
            endpoints = await post_endpoints(http, component.url())
            sent[component.name] = len(endpoints)
            for method, path, _xml in endpoints:
                await http.request(
                    method,
                    component.url() + path,
                    content=PARAMETER_ENTITY_UTF16,
                    headers={"Content-Type": "application/xml"},
                )
        health: dict[str, float] = {}
        for component in components:
            started = time.perf_counter()
            response = await http.get(component.url() + "/health", timeout=1.0)
            assert response.status_code == 200, (component.name, response.text)
            health[component.name] = time.perf_counter() - started
    return sent, health


def test_the_utf16_parameter_entity_stalls_no_component(
    landscape: tuple[UpProcess, Topology],
) -> None:
    """Issue 13: the UTF-16 document whose parameter entity names /dev/zero, POSTed to every
    endpoint of every component's /openapi.json, then every /health answers within 1 s."""
    _up, topology = landscape
    sent, health = asyncio.run(_sweep(topology))
    print(
        f"\nUTF-16 parameter entity: {sum(sent.values())} POST/PUT endpoints on {len(sent)} "
        f"components: {json.dumps(sent)}"
    )
    print(f"/health after it (s): {json.dumps({k: round(v, 3) for k, v in health.items()})}")
    assert sum(sent.values()) > 0
    assert all(seconds < 1.0 for seconds in health.values()), health


def test_the_attack_kit_finds_no_problem(
    landscape: tuple[UpProcess, Topology], tmp_path: Path
) -> None:
    """`noots conformance attack` against the running landscape: every component attacked,
    every attack refused cleanly (exit 0), the counts per component in the signed report."""
    up, _topology = landscape
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "noots",
            "conformance",
            "attack",
            "--data-dir",
            str(up.data_dir),
            "--report",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env=dict(os.environ, COLUMNS="200", NO_COLOR="1"),
        check=False,
    )
    print(result.stdout[-6000:])
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text("utf-8"))
    counts = {
        s["id"]: (
            len(s["checks"]),
            sum(c["status"] == "pass" for c in s["checks"]),
            sum(c["status"] == "fail" for c in s["checks"]),
        )
        for s in report["sections"]
    }
    print(f"attacks per component (sent, refused cleanly, problems): {json.dumps(counts)}")
    assert all(problems == 0 for _sent, _clean, problems in counts.values())
    assert all(sent > 1 for sent, _clean, _problems in counts.values()), counts
