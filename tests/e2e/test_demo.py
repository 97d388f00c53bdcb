"""`noots demo` on a machine where no landscape runs: it starts one, plays the
Bewohnerparkausweis pilot end to end, shows each hop and the Datenschutzcockpit entry, and
stops what it started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from noots.supervisor import RUN_FILE
from noots.testing.up import write_landscape
from tests.e2e.conftest import copy_data_dir

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def processes_using(path: Path) -> list[str]:
    """Command lines of running processes that name ``path``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(path) in cmdline and "pytest" not in cmdline:
            found.append(cmdline)
    return found


def test_demo_starts_plays_and_stops(bootstrapped: Path, tmp_path: Path) -> None:
    """Exit 0 after the pilot completed; every hop shown with its checks; nothing left running."""
    data_dir = copy_data_dir(bootstrapped, tmp_path / "data")
    topology = write_landscape(
        tmp_path / "landscape.yaml",
        keep={"08118079-BPA-87", "08118079-MELD-12", "991-01234ZFZR-41"},
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "noots",
            "demo",
            "--data-dir",
            str(data_dir),
            "--topology",
            str(topology),
            "--people",
            "300",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, COLUMNS="160", NO_COLOR="1"),
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "No landscape runs" in out
    for hop in (
        "eID (Simulation)",
        "IDA: IDNr zu den Grunddaten",
        "SAK → RDN: wer liefert Meldebescheinigung",
        "SAK: Berechtigung (Vermittlungsstelle, wo nötig)",
        "08118079-BPA-87.sak → Vermittlungsstelle",
        "SAK → SAK → Stadt Korntal-Münchingen, Melderegister und zurück",
        "08118079-BPA-87.sak → 08118079-MELD-12.sak → 08118079-MELD-12",
        "SAK → SAK → Kraftfahrt-Bundesamt, Zentrales Fahrzeugregister und zurück",
        "Datenschutzcockpit: die Bürgerin sieht ihre Übermittlungen",
    ):
        assert hop in out, hop
    assert "✗" not in out
    assert "register verified, answered and logged" in out
    assert "online service received, checked and logged" in out
    assert "Transport-Hub" not in out
    assert "Pilot completed" in out
    assert "/dsc/" in out
    assert "Stopping the landscape this demo started" in out
    assert not (data_dir / "run" / RUN_FILE).exists()
    assert processes_using(data_dir) == []
