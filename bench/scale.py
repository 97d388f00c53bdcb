"""Scale: evidence look-ups and exchanges at 10,000 and at 1,000,000 people, and memory.

    python bench/scale.py                                # 10,000 and 1,000,000 people
    python bench/scale.py --sizes 10000 100000 --dir /var/tmp/noots-pop --exchanges 1000

Three measurements per population size, with the populations seeded once into ``--dir`` and
reused by later runs (seeding a million people takes a few minutes):

1. the look-ups the registers and the IDA make (the queries of ``bench/population.py``: by
   IDNr, vehicles, birth record, by name, by address, an unknown IDNr), per CPU second of
   this process, best of nine rounds with the sizes taking turns;
2. signed exchanges end to end through the SAKs at ``--concurrency`` (as ``bench/e2e.py``: a
   landscape of real processes whose registers read that population file);
3. the resident memory of each process (current and peak) after the exchanges.

The ratios compare the largest size with the smallest. Prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _exchange
import _support
import e2e

from noots.synthetic.population import PopulationStore, seed_population

DEFAULT_DIR = Path(tempfile.gettempdir()) / "noots-bench-population"


def ensure_population(directory: Path, size: int, seed: int) -> Path:
    """``directory/population-<size>.db`` seeded with ``seed``, reused when it matches."""
    path = directory / f"population-{size}.db"
    if path.exists():
        with PopulationStore(path) as store:
            meta = store.meta()
        if meta.get("people") == str(size) and meta.get("seed") == str(seed):
            print(f"{size:>10,} people: reusing {path}", flush=True)
            return path
        path.unlink()
    directory.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    seed_population(path, people=size, seed=seed, show_progress=sys.stderr.isatty())
    print(f"{size:>10,} people: seeded in {time.monotonic() - started:.0f} s", flush=True)
    return path


def _rates(store: PopulationStore, idnrs: list[str], misses: list[str]) -> dict[str, float]:
    """Look-ups per CPU second of this process (page faults of the memory map included)."""
    people = [p for p in (store.person_by_idnr(i) for i in idnrs) if p is not None]
    runs: dict[str, tuple[Callable[[], object], int]] = {
        "person by IDNr (Melderegister, IDA)": (
            lambda: [store.person_by_idnr(i) for i in idnrs],
            len(idnrs),
        ),
        "vehicles by IDNr (KBA)": (lambda: [store.vehicles_of(i) for i in idnrs], len(idnrs)),
        "birth record by IDNr": (lambda: [store.birth_record(i) for i in idnrs], len(idnrs)),
        "person by name + birth date (IDA)": (
            lambda: [
                store.find_by_name(p.family_name, p.given_names.split()[0], p.date_of_birth)
                for p in people
            ],
            len(people),
        ),
        "person by address (IDA)": (
            lambda: [
                store.find_by_address(p.family_name, p.date_of_birth, p.postcode, p.city)
                for p in people
            ],
            len(people),
        ),
        "unknown IDNr": (lambda: [store.person_by_idnr(i) for i in misses], len(misses)),
    }
    rates = {}
    for name, (run, count) in runs.items():
        started = time.process_time()
        run()
        rates[name] = count / max(time.process_time() - started, 1e-9)
    return rates


_WARM_UP = (
    "SELECT count(*) FROM persons INDEXED BY persons_idnr WHERE idnr >= ''",
    "SELECT count(*) FROM persons INDEXED BY persons_name WHERE family_name >= ''",
    "SELECT count(*) FROM persons INDEXED BY persons_address WHERE family_name >= ''",
    "SELECT sum(length(family_name) + length(city)) FROM persons",
    "SELECT count(*) FROM vehicles INDEXED BY vehicles_holder WHERE holder_idnr >= ''",
    "SELECT sum(length(vin)) FROM vehicles",
    "SELECT count(*) FROM births INDEXED BY births_idnr WHERE idnr >= ''",
    "SELECT sum(length(registry_office)) FROM births",
)


def warm_up(store: PopulationStore) -> None:
    """Read every table and index once through the store's memory map, as a register that has
    been answering for a while has: the figures are then the steady state, not first-touch
    page faults (which a fresh process pays once, and more of for a larger file)."""
    db = store._db()
    for sql in _WARM_UP:
        db.execute(sql).fetchone()


def lookups(paths: dict[int, Path], count: int, rounds: int = 9) -> dict[int, dict[str, float]]:
    """Best of ``rounds`` per size after :func:`warm_up`; the sizes take turns, so a busy
    moment of the shared machine hits each alike; a fresh sample of people every round."""
    results: dict[int, dict[str, float]] = {size: {} for size in paths}
    stores = {size: PopulationStore(path) for size, path in paths.items()}
    try:
        for store in stores.values():
            warm_up(store)
        for round_ in range(rounds):
            for size, store in stores.items():
                idnrs = store.sample_idnrs(count, seed=round_)
                rng = random.Random(round_)
                misses = [f"0{rng.randrange(10**9, 10**10)}" for _ in range(count)]
                for name, rate in _rates(store, idnrs, misses).items():
                    results[size][name] = max(rate, results[size].get(name, 0.0))
    finally:
        for store in stores.values():
            store.close()
    return results


def exchanges(
    path: Path, *, key_type: str, concurrency: int, count: int
) -> tuple[e2e.Row, dict[str, tuple[int, int]]]:
    with _support.running_landscape(
        None, key_type=key_type, people=0, population=path
    ) as landscape:
        consumer = _exchange.SakConsumer(landscape.data_dir, landscape.topology_path)
        subjects = _exchange.keepers(landscape.data_dir / "population.db", 200)
        row = asyncio.run(
            e2e.run_sak(
                landscape,
                consumer,
                subjects,
                concurrency=concurrency,
                exchanges=count,
                floor=float("nan"),
                token=False,
            )
        )
        memory = {s.name: s.memory() for s in landscape.servers}
    return row, memory


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="seeded populations")
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--key-type", default="rsa2048", choices=["rsa2048", "ecdsa-p256"])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--exchanges", type=int, default=600)
    parser.add_argument("--no-exchanges", action="store_true", help="look-ups only")
    args = parser.parse_args(argv)

    _support.print_machine("scale: look-ups and exchanges by population size")
    paths = {size: ensure_population(args.dir, size, args.seed) for size in args.sizes}
    rates = lookups(paths, args.lookups)
    smallest, largest = min(paths), max(paths)
    names = list(rates[smallest])
    print()
    print(
        _support.table(
            ["look-ups per second", *[f"{s:,} people" for s in paths], "largest/smallest"],
            [
                [
                    name,
                    *[rates[s][name] for s in paths],
                    rates[largest][name] / rates[smallest][name],
                ]
                for name in names
            ],
        ),
        flush=True,
    )
    if args.no_exchanges:
        return
    rows = []
    memory_rows = []
    measured: dict[int, e2e.Row] = {}
    for size, path in paths.items():
        row, memory = exchanges(
            path, key_type=args.key_type, concurrency=args.concurrency, count=args.exchanges
        )
        measured[size] = row
        ms = [x * 1e3 for x in row.latencies]
        rows.append(
            [
                f"{size:,}",
                row.concurrency,
                row.exchanges,
                row.errors,
                row.rate,
                _support.percentile(ms, 0.5),
                _support.percentile(ms, 0.99),
                row.cpu_per_exchange * 1e3,
            ]
        )
        for name, (rss, peak) in memory.items():
            memory_rows.append([f"{size:,}", name, rss / 1024, peak / 1024])
        print(f"   {size:,} people: {row.rate:.1f} exchanges/s", flush=True)
    print()
    print(
        _support.table(
            ["people", "conc", "exchanges", "errors", "exch/s", "p50 ms", "p99 ms", "CPU ms/exch"],
            rows,
        )
    )
    print()
    print(_support.table(["people", "process", "RSS MiB", "peak RSS MiB"], memory_rows))
    rss, peak = _support.memory_kib()
    print(
        f"\n- this process (look-ups, consumer): RSS {rss / 1024:.0f} MiB, peak {peak / 1024:.0f}"
    )
    print(
        f"- exchanges/s at {largest:,} people / at {smallest:,}: "
        f"{measured[largest].rate / measured[smallest].rate:.2f}"
    )
    print(f"- load average at the end: {_support.machine()['load average']}")


if __name__ == "__main__":
    main()
