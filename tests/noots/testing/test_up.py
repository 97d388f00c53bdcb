"""noots.testing.up: a test's `noots up` never outlives the test, even when it hangs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from noots.supervisor import RunInfo, RunningComponent
from noots.testing.up import UpProcess

KBA = "991-01234ZFZR-41"

# Stand-ins that ignore the signal a graceful stop sends: `noots up` ignores SIGINT, the
# component SIGTERM. Each says "ready" once its handler is in place.
DEAF = "import signal, time; signal.signal(signal.{}, signal.SIG_IGN); print('ready', flush=True); time.sleep(3600)"  # noqa: E501
DEAF_UP = DEAF.format("SIGINT")
DEAF_COMPONENT = DEAF.format("SIGTERM")


def start(code: str, *args: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, start_new_session=True
    )
    assert process.stdout is not None
    assert process.stdout.readline() == b"ready\n"
    return process


def test_stop_kills_a_hung_noots_up_and_its_components(tmp_path: Path) -> None:
    """`noots up` ignores SIGINT and its component SIGTERM: after the timeout both are killed
    and the stop raises TimeoutExpired (the test sees that the stop hung)."""
    data_dir = tmp_path / "data"
    up = start(DEAF_UP)
    component = start(DEAF_COMPONENT, "serve", KBA, "--data-dir", str(data_dir))
    info = RunInfo(
        supervisor_pid=up.pid,
        data_dir=str(data_dir),
        topology=str(tmp_path / "landscape.yaml"),
        tls=False,
        started_at="2026-11-22T09:00:00+00:00",
        components=(RunningComponent(KBA, "register", KBA, "KBA", "http://x", component.pid, "l"),),
        grace_period=0.5,
    )
    try:
        with tempfile.NamedTemporaryFile() as log, pytest.raises(subprocess.TimeoutExpired):
            UpProcess(up, data_dir, log, info).stop(timeout=0.5)
        assert up.poll() == -signal.SIGKILL
        assert component.wait(timeout=60) == -signal.SIGKILL
    finally:
        for process in (up, component):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
