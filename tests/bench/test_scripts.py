"""bench/*.py: every benchmark script runs with tiny parameters and prints its table.

Smoke tests only, so the scripts do not rot: no figure is checked against a time.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"

pytestmark = [pytest.mark.slow]


def run(script: str, *args: str, timeout: float = 300) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def table_row(output: str, first_cell: str) -> list[str]:
    """The cells of the last table row whose first cell is ``first_cell``."""
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in output.splitlines()
        if line.startswith("|")
    ]
    matching = [row for row in rows if row[0] == first_cell]
    assert matching, output
    return matching[-1]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One landscape data directory (ECDSA keys: bootstrapped in a second) for the scripts."""
    return tmp_path_factory.mktemp("bench")


def test_crypto_prints_sign_and_verify_per_key_type() -> None:
    """bench/crypto.py prints a row per key type."""
    output = run("crypto.py", "--rounds", "3")
    assert re.search(r"^rsa2048 .*x", output, re.MULTILINE)
    assert re.search(r"^ecdsa-p256 .*x", output, re.MULTILINE)


def test_messages_prints_a_row_per_message_kind() -> None:
    """bench/messages.py prints build and parse times for the four message kinds."""
    output = run("messages.py", "--rounds", "5")
    for kind in ("0101 request", "0102 evidence", "0102 pending", "0103 error"):
        assert kind in output


def test_state_prints_the_journal_cost_and_the_load_at_start() -> None:
    """bench/state.py prints a check with and without the journal, and the load of N ids."""
    output = run("state.py", "--checks", "50", "--ids", "300")
    assert table_row(output, "in memory")[1].endswith("µs")
    assert table_row(output, "with journal")[1].endswith("µs")
    assert table_row(output, "300")[1].endswith("ms")


def test_access_prints_the_cost_of_tokens_per_key_type() -> None:
    """bench/access.py prints issue, assertion check and verification (first, cached)."""
    output = run("access.py", "--tokens", "5")
    for key_type in ("rsa2048", "ecdsa-p256"):
        row = table_row(output, key_type)
        assert row[3].endswith("ms")
        assert row[4].endswith("µs")


@pytest.mark.e2e
def test_e2e_prints_rate_latency_cpu_and_floor(data_dir: Path) -> None:
    """bench/e2e.py runs real exchanges through the SAKs and prints rate, percentiles, CPU (per
    process of the path) and the floor."""
    output = run(
        "e2e.py",
        "--key-types",
        "ecdsa-p256",
        "--concurrency",
        "1",
        "2",
        "--exchanges",
        "4",
        "--floor-rounds",
        "3",
        "--people",
        "200",
        "--data-dir",
        str(data_dir),
    )
    row = table_row(output, "ecdsa-p256")
    headers = table_row(output, "key")
    cells = dict(zip(headers, row, strict=True))
    assert cells["errors"] == "0"
    assert cells["exchanges"] == "4"
    assert float(cells["exch/s"]) > 0
    assert float(cells["CPU/floor"]) > 1  # the floor is part of what the processes burn
    assert "floor 2 sign + 2 verify" in output
    assert {"DC-SAK", "DP-SAK", "DP", "DC"} <= {
        part.split()[0] for part in cells["by process (ms)"].split(" / ")
    }


@pytest.mark.e2e
def test_overhead_compares_checked_and_bare(data_dir: Path) -> None:
    """bench/overhead.py prints both paths and their ratios."""
    output = run(
        "overhead.py",
        "--key-type",
        "ecdsa-p256",
        "--concurrency",
        "2",
        "--exchanges",
        "4",
        "--data-dir",
        str(data_dir),
    )
    assert table_row(output, "bare")[4] == "0"  # no errors on the bare path
    ratio = table_row(output, "2")[3]
    assert float(ratio) > 1  # checks cost CPU


def test_scale_prints_look_ups_per_size(tmp_path: Path) -> None:
    """bench/scale.py seeds two tiny populations and compares their look-up rates."""
    output = run(
        "scale.py",
        "--sizes",
        "150",
        "300",
        "--lookups",
        "30",
        "--dir",
        str(tmp_path),
        "--no-exchanges",
    )
    row = table_row(output, "person by IDNr (Melderegister, IDA)")
    assert len(row) == 4
    assert float(row[-1]) > 0
    assert (tmp_path / "population-300.db").exists()
