"""Soak: steady load through a real landscape while one register fails every N seconds.

    python bench/soak.py                       # 150 s, KBA fails every 20 s for 5 s
    python bench/soak.py --seconds 600 --fail-every 30 --down 10 --workers 4

The platform, the KBA register, the Melderegister München and the SAKs of both and of the
two online services run as ``noots serve`` processes; this process is the two online services
fetching evidence through their SAKs with the real client library (``noots.testing.load``):
Fahrzeughalterauskunft from the KBA and Meldebescheinigung from München, ``--workers`` loops
each, ``--pause`` seconds apart. Every ``--fail-every`` seconds the KBA fails for ``--down``
seconds, alternating between ``kill -9`` followed by a restart, and a fault plan set through
its admin API (half the requests dropped mid-answer, a quarter hanging until its SAK gives up,
``--provider-timeout``).

At the end it prints:

- exchanges **attempted**, **succeeded** (evidence received and verified), **failed with a
  clear error** (a typed error with an EDM code, by code and class), **unclear** (anything
  else) and **lost**: delivered to the consumer but missing from its own or the register's
  protocol log (must be 0); plus whether every protocol log's hash chain verifies and holds
  no duplicate;
- the resident memory (RSS) of every process sampled over the run, and the change between
  the first and the last quarter of the samples (flat or not).

It never asserts and never judges times: the machine is shared, read the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import secrets
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from noots.errors import ChainBroken
from noots.testing.landscape import bootstrap
from noots.testing.load import (
    Tally,
    Target,
    consumer_clients,
    duplicates,
    lost,
    protocol_log_entries,
    worker,
)
from noots.testing.processes import ProcessLandscape, component_processes

KBA = "991-01234ZFZR-41"
MUENCHEN = "09162000-MELD-57"
ADMIN_TOKEN = secrets.token_urlsafe(16)
FAULT_PLAN = {"rates": {"drop": 0.5, "timeout": 0.25}}


def own_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class Sampler:
    """RSS samples per process incarnation (a restarted register starts a new series)."""

    def __init__(self, landscape: ProcessLandscape) -> None:
        self.landscape = landscape
        self.series: dict[str, list[tuple[float, int]]] = defaultdict(list)
        self.start = time.monotonic()

    def sample(self) -> None:
        at = time.monotonic() - self.start
        for name, component in self.landscape.components.items():
            rss = component.rss_kib()
            if rss is not None:
                self.series[f"{name} (start {component.starts})"].append((at, rss))
        self.series["consumers (this process)"].append((at, own_rss_kib()))


async def fail_register(landscape: ProcessLandscape, cycle: int, down: float) -> str:
    """One failure of the KBA: kill -9 and restart, or a fault plan, for ``down`` seconds."""
    register = landscape[KBA]
    loop = asyncio.get_running_loop()
    if cycle % 2 == 0:
        register.kill()
        await asyncio.sleep(down)
        await loop.run_in_executor(None, register.start)
        return "kill -9, restart"
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(timeout=10.0) as admin:
        url = register.url + "/admin/v1/faults"
        (await admin.put(url, json=FAULT_PLAN, headers=headers)).raise_for_status()
        await asyncio.sleep(down)
        (await admin.delete(url, headers=headers)).raise_for_status()
    return "faults (drop 50 %, hang 25 %)"


async def soak(args: argparse.Namespace, data_dir: Path) -> None:
    print(f"bootstrapping {data_dir} ({args.people} people) …", flush=True)
    topology = bootstrap(data_dir, people=args.people)
    env = {
        "NOOTS_ADMIN_TOKEN": ADMIN_TOKEN,
        "NOOTS_PROVIDER_TIMEOUT_SECONDS": str(args.provider_timeout),
        "NOOTS_LOG_LEVEL": "WARNING",
    }
    targets = [Target.of(data_dir, topology, topology.register(r)) for r in (KBA, MUENCHEN)]
    consumers = {t.consumer for t in targets}
    saks = [topology.sak_id(p) for p in (KBA, MUENCHEN, *sorted(consumers))]
    print("starting platform, KBA, Melderegister München and the SAKs …", flush=True)
    names = ["platform", KBA, MUENCHEN, *saks]
    with component_processes(data_dir, names, env=env) as landscape:
        per_register: dict[str, Tally] = {t.register.participant_id: Tally() for t in targets}
        sampler = Sampler(landscape)
        stop = asyncio.Event()
        failures: list[str] = []
        async with consumer_clients(data_dir, topology, consumers) as clients:
            tasks = [
                asyncio.create_task(
                    worker(
                        clients[t.consumer],
                        t,
                        per_register[t.register.participant_id],
                        stop,
                        pause=args.pause,
                    )
                )
                for t in targets
                for _ in range(args.workers)
            ]
            started = time.monotonic()
            next_failure = started + args.fail_every
            cycle = 0
            print(f"load for {args.seconds:g} s …", flush=True)
            while (now := time.monotonic()) < started + args.seconds:
                sampler.sample()
                if now >= next_failure:
                    what = await fail_register(landscape, cycle, args.down)
                    failures.append(f"{now - started:6.1f} s  {what}")
                    cycle += 1
                    next_failure += args.fail_every
                await asyncio.sleep(min(args.sample_every, max(0.0, next_failure - now)))
            stop.set()
            await asyncio.gather(*tasks)
            sampler.sample()
        report(args, data_dir, sorted(consumers), per_register, sampler, failures)


def report(
    args: argparse.Namespace,
    data_dir: Path,
    consumers: list[str],
    per_register: dict[str, Tally],
    sampler: Sampler,
    failures: list[str],
) -> None:
    total = Tally()
    for tally in per_register.values():
        total.attempted += tally.attempted
        total.delivered.update(tally.delivered)
        total.errors.update(tally.errors)
        total.unclear.extend(tally.unclear)
    missing = lost(total, data_dir, consumers)
    lost_count = len({rid for ids in missing.values() for rid in ids})
    print()
    print(f"soak: {args.seconds:g} s, KBA failing every {args.fail_every:g} s for {args.down:g} s")
    for line in failures:
        print(f"  {line}")
    print()
    print(f"{'':22} {'attempted':>9} {'succeeded':>9} {'failed':>7} {'unclear':>7}")
    for register, tally in [*per_register.items(), ("total", total)]:
        print(
            f"{register:22} {tally.attempted:9d} {len(tally.delivered):9d} "
            f"{tally.failed:7d} {len(tally.unclear):7d}"
        )
    print()
    print("failed with a clear error, by code and class:")
    for key, count in sorted(total.errors.items()):
        print(f"  {count:6d}  {key}")
    for text in total.unclear[:10]:
        print(f"  unclear: {text}")
    print()
    print(f"lost (delivered but not in the protocol logs): {lost_count}")
    for party, ids in missing.items():
        print(f"  {party}: {len(ids)} missing, e.g. {ids[:3]}")
    for party in (*consumers, *per_register):
        try:
            count, entries = protocol_log_entries(data_dir, party)
        except ChainBroken as error:
            print(f"  {party}: hash chain BROKEN: {error}")
            continue
        doubled = duplicates(entries)
        print(f"  {party}: {count} entries, chain verifies, {len(doubled)} duplicates")
    print()
    print(
        "RSS in MiB (first / median / last sample; change of the mean from the first quarter,"
        " and from the second quarter (after warm-up), to the last quarter):"
    )
    for name, samples in sampler.series.items():
        values = [rss / 1024 for _at, rss in samples]
        if len(values) < 4:
            print(f"  {name:36} {len(values)} samples: {', '.join(f'{v:.0f}' for v in values)}")
            continue
        quarter = max(1, len(values) // 4)
        first = statistics.mean(values[:quarter])
        second = statistics.mean(values[quarter : 2 * quarter])
        last = statistics.mean(values[-quarter:])
        print(
            f"  {name:36} {values[0]:6.1f} / {statistics.median(values):6.1f} / "
            f"{values[-1]:6.1f}   {(last - first) / first * 100:+5.1f} %, "
            f"{(last - second) / second * 100:+5.1f} % over {len(values)} samples"
        )
    load = os.getloadavg()
    print(f"\nload average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} CPUs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=150.0, help="load duration")
    parser.add_argument("--fail-every", type=float, default=20.0, help="seconds between failures")
    parser.add_argument("--down", type=float, default=5.0, help="seconds each failure lasts")
    parser.add_argument("--workers", type=int, default=2, help="loops per register")
    parser.add_argument("--pause", type=float, default=0.05, help="seconds between exchanges")
    parser.add_argument("--sample-every", type=float, default=2.0, help="RSS sampling period")
    parser.add_argument(
        "--provider-timeout", type=float, default=3.0, help="a register's SAK's wait (seconds)"
    )
    parser.add_argument("--people", type=int, default=300, help="population size")
    parser.add_argument("--data-dir", type=Path, help="keep the state here (default: temp)")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        data_dir = args.data_dir or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="noots-soak-"))
        )
        asyncio.run(soak(args, data_dir))


if __name__ == "__main__":
    main()
