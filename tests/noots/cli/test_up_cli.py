"""`noots serve`, `noots status`, `noots down`: the answers when something is missing; `noots
up`'s help on stopping; a component's watch on its supervisor."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from typer.testing import CliRunner

from noots.cli import app
from noots.clock import SystemClock
from noots.pki import CertificateAuthority
from noots.supervisor import pid_alive

runner = CliRunner()


def test_serve_without_pki_says_what_to_run(tmp_path: Path) -> None:
    """A data dir that was never bootstrapped: exit 1, pointing to `noots bootstrap`."""
    result = runner.invoke(app, ["serve", "platform", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "noots bootstrap" in result.output


def test_serve_unknown_component_lists_the_known_ones(tmp_path: Path) -> None:
    """A typo in the component name: exit 1 with the components of the landscape."""
    CertificateAuthority.create(tmp_path / "pki", clock=SystemClock())
    result = runner.invoke(app, ["serve", "plattform", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "no component 'plattform'" in result.output
    assert "platform, ida, " in result.output
    assert "991-01234ZFZR-41" in result.output


def test_status_and_down_without_a_landscape(tmp_path: Path) -> None:
    """No landscape runs: status exits 1, down has nothing to do (exit 0)."""
    status = runner.invoke(app, ["status", "--data-dir", str(tmp_path)])
    assert status.exit_code == 1
    assert "no landscape runs" in status.output
    down = runner.invoke(app, ["down", "--data-dir", str(tmp_path)])
    assert down.exit_code == 0
    assert "no landscape runs" in down.output


def test_bootstrap_without_melderegister_explains(tmp_path: Path) -> None:
    """`noots bootstrap` with a topology that has no Melderegister: exit 1 with the reason
    instead of a traceback, and no population file."""
    from noots.testing.up import write_landscape

    topology = write_landscape(tmp_path / "kba-only.yaml", keep={"991-01234ZFZR-41"})
    data_dir = tmp_path / "data"
    result = runner.invoke(
        app,
        ["bootstrap", "--data-dir", str(data_dir), "--topology", str(topology), "--people", "10"],
    )
    assert result.exit_code == 1, result.output
    assert "no Melderegister" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (data_dir / "population.db").exists()


def test_up_help_states_the_bounded_stop() -> None:
    """`noots up --help` names the grace period option and the bound of a stop."""
    result = runner.invoke(app, ["up", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--grace-period" in result.output
    assert "SIGKILL" in result.output
    assert "grace + 5 s" in result.output


# A component (stand-in) that ignores SIGTERM and watches its parent as `noots serve
# --supervisor-pid` does; its parent (stand-in for `noots up`) starts it, prints its pid, and
# waits to be killed.
ORPHAN = textwrap.dedent(
    """
    import os, signal, sys, time
    from noots.cli._up import _exit_with
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _exit_with(os.getppid(), grace_period=0.5)
    print("watching", flush=True)
    time.sleep(3600)
    """
)
PARENT = textwrap.dedent(
    """
    import subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdout=subprocess.PIPE,
                             start_new_session=True)
    assert child.stdout.readline() == b"watching\\n"
    print(child.pid, flush=True)
    time.sleep(3600)
    """
)


def test_component_stops_itself_when_its_supervisor_is_killed_even_ignoring_sigterm() -> None:
    """A component whose `noots up` was killed and which does not end on SIGTERM kills itself
    after the grace period (an orphan never holds its port)."""
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, ORPHAN], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    orphan = 0
    try:
        assert parent.stdout is not None
        orphan = int(parent.stdout.readline())
        parent.kill()
        parent.wait(timeout=30)
        deadline = time.monotonic() + 60
        while pid_alive(orphan) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not pid_alive(orphan)
    finally:
        parent.kill()
        parent.wait(timeout=30)
        if orphan and pid_alive(orphan):
            os.kill(orphan, signal.SIGKILL)
