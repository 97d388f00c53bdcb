"""A register and an online service written from the documented SAK APIs alone (no noots
import) exchange evidence through a landscape of real processes: the contract carries."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from noots.testing.up import noots_up, write_landscape

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EXTERNAL = Path(__file__).parent / "external"
BPA = "08118079-BPA-87"
KBA = "991-01234ZFZR-41"


def test_the_external_participants_import_nothing_of_noots() -> None:
    """The scripts use public libraries only: no module of noots (nor of its tests)."""
    ours = {"noots", "tests"}
    for script in EXTERNAL.glob("*.py"):
        tree = ast.parse(script.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not {n.split(".")[0] for n in names} & ours, (script.name, names)


def _wait_healthy(url: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the external register exited with {process.returncode}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the external register did not answer /health")


def test_an_external_online_service_gets_evidence_from_an_external_register(
    tmp_path: Path,
) -> None:
    """noots up --without the KBA; the external register takes its place behind the KBA's SAK,
    the external online service asks its own SAK: a 0102 with the document comes back."""
    # A Melderegister stays: the synthetic population lives in its municipalities.
    topology = write_landscape(tmp_path / "landscape.yaml", keep={BPA, KBA, "08118079-MELD-12"})
    data_dir = tmp_path / "data"
    with noots_up(data_dir, topology, extra=["--without", KBA]) as up:
        names = [c.name for c in up.info.components]
        assert KBA not in names
        assert f"{KBA}.sak" in names
        import yaml

        raw = yaml.safe_load(topology.read_text(encoding="utf-8"))
        port = next(r["port"] for r in raw["registers"] if r["participant_id"] == KBA)
        register = subprocess.Popen(
            [sys.executable, "register.py", str(port), str(data_dir / "pki"), KBA],
            cwd=EXTERNAL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            _wait_healthy(f"http://127.0.0.1:{port}", register, time.monotonic() + 60)
            platform = up.info.component("platform").url
            sak = up.info.component(f"{BPA}.sak").url
            done = subprocess.run(
                [sys.executable, "online_service.py", platform, sak, str(data_dir / "pki"), BPA],
                cwd=EXTERNAL,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        finally:
            register.terminate()
            try:
                register.wait(timeout=10)
            except subprocess.TimeoutExpired:
                register.kill()
                register.wait()
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result == {
        "status": 200,
        "outcome": "delivered",
        "message": "DE.EvidenceResponse.0102",
        "echoes": True,
        "vs_required": False,
        "document": True,
    }
