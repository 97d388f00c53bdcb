"""What the restart-safe replay cache costs (noots.state): a check with and without its journal,
and reading the journal back when a register starts.

Run: ``python3 bench/state.py [--checks N] [--ids N ...]``. Prints medians; never asserts. The
journal lives in a temporary directory next to this script's checkout (not ``/tmp``, which may
be a RAM disk and flatter the figure). Compare the check with a register's CPU per exchange
(~12 ms, docs/PERFORMANCE.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from noots.clock import SystemClock
from noots.envelope import EnvelopeHeader, ReplayGuard
from noots.state import ReplayJournal, StateFile

CLOCK = SystemClock()


def header() -> EnvelopeHeader:
    return EnvelopeHeader(
        message_id=uuid.uuid4(),
        sender="dc-00001-BPA-11",
        recipient="991-01234ZFZR-41",
        service_id="urn:noots:service:evidence-request",
        created=CLOCK.now(),
        purpose="Bewohnerparkausweis",
    )


def check_seconds(guard: ReplayGuard, checks: int) -> float:
    """Median wall time of one accepted check (the journal's write is I/O, not CPU)."""
    headers = [header() for _ in range(checks)]
    samples = []
    for head in headers:
        start = time.perf_counter()
        guard.check(head)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checks", type=int, default=5000)
    parser.add_argument("--ids", type=int, nargs="+", default=[10_000, 100_000])
    options = parser.parse_args()
    where = Path(__file__).resolve().parent
    with tempfile.TemporaryDirectory(dir=where, prefix=".state-") as directory:
        memory = check_seconds(ReplayGuard(CLOCK), options.checks)
        state = StateFile(Path(directory) / "check.db")
        journaled = check_seconds(ReplayGuard(CLOCK, journal=ReplayJournal(state)), options.checks)
        state.close()
        print("| replay guard check | median |")
        print("|---|---:|")
        print(f"| in memory | {memory * 1e6:.1f} µs |")
        print(f"| with journal | {journaled * 1e6:.1f} µs |")
        print()
        print("| ids in the journal | start (load) |")
        print("|---:|---:|")
        for count in options.ids:
            path = Path(directory) / f"load-{count}.db"
            state = StateFile(path)
            now = CLOCK.now()
            state.write(
                [
                    (
                        "INSERT INTO replay_seen (message_id, created_us) VALUES (?, ?)",
                        (str(uuid.uuid4()), int(now.timestamp() * 1e6)),
                    )
                    for _ in range(count)
                ]
            )
            state.close()
            state = StateFile(path)
            start = time.perf_counter()
            guard = ReplayGuard(CLOCK, max_entries=count, journal=ReplayJournal(state))
            loaded = time.perf_counter() - start
            state.close()
            print(f"| {len(guard):,} | {loaded * 1e3:.0f} ms |")


if __name__ == "__main__":
    main()
