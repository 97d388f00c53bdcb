"""Seeding time and look-up throughput of the synthetic population at two sizes.

    python bench/population.py                      # 10,000 and 1,000,000 people
    python bench/population.py --sizes 10000 100000 --dir /tmp/popbench

Prints the seconds each seeding took and the look-ups per second at each size; the issue asks
for the same look-up cost at 10,000 and 1,000,000 people (every look-up is an index search).
Reports numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from noots.synthetic.population import PopulationStore, seed_population


def _lookups(store: PopulationStore, count: int) -> dict[str, float]:
    idnrs = store.sample_idnrs(count, seed=42)
    people = [store.person_by_idnr(i) for i in idnrs]
    rates: dict[str, float] = {}

    started = time.perf_counter()
    for idnr in idnrs:
        store.person_by_idnr(idnr)
    rates["person_by_idnr"] = count / (time.perf_counter() - started)

    started = time.perf_counter()
    for p in people:
        if p is not None:
            store.find_by_name(p.family_name, p.given_names.split()[0], p.date_of_birth)
    rates["find_by_name"] = count / (time.perf_counter() - started)

    started = time.perf_counter()
    for p in people:
        if p is not None:
            store.find_by_address(p.family_name, p.date_of_birth, p.postcode, p.city)
    rates["find_by_address"] = count / (time.perf_counter() - started)

    started = time.perf_counter()
    for idnr in idnrs:
        store.vehicles_of(idnr)
        store.birth_record(idnr)
    rates["vehicles_of+birth_record"] = count / (time.perf_counter() - started)

    rng = random.Random(1)
    misses = [f"0{rng.randrange(10**9, 10**10)}" for _ in range(count)]
    started = time.perf_counter()
    for idnr in misses:
        store.person_by_idnr(idnr)
    rates["person_by_idnr (miss)"] = count / (time.perf_counter() - started)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--dir", type=Path, default=None, help="keep the files here")
    parser.add_argument(
        "--reuse", action="store_true", help="keep a file in --dir seeded with the same N and seed"
    )
    args = parser.parse_args()

    workdir = args.dir or Path(tempfile.mkdtemp(prefix="noots-popbench-"))
    paths = {}
    for size in args.sizes:
        path = workdir / f"population-{size}.db"
        paths[size] = path
        if args.reuse and path.exists():
            with PopulationStore(path) as old:
                meta = old.meta()
            if meta.get("people") == str(size) and meta.get("seed") == str(args.seed):
                print(f"{size:>10,} people: reusing {path}")
                continue
        cpu = time.process_time()
        summary = seed_population(path, people=size, seed=args.seed, show_progress=True)
        print(
            f"{size:>10,} people: seeded in {summary.seconds:6.1f} s wall "
            f"({time.process_time() - cpu:.1f} s CPU in this process), "
            f"{path.stat().st_size / 2**20:,.0f} MiB, {summary.vehicles:,} vehicles, "
            f"{summary.births:,} birth records, {summary.companies:,} companies"
        )

    # The sizes take turns, best of three rounds each: other load on the machine then hits
    # both sizes alike instead of whichever happened to run during a busy moment.
    results: dict[int, dict[str, float]] = {size: {} for size in paths}
    stores = {size: PopulationStore(path) for size, path in paths.items()}
    for _ in range(3):
        for size, store in stores.items():
            for name, rate in _lookups(store, args.lookups).items():
                results[size][name] = max(rate, results[size].get(name, 0.0))
    for store in stores.values():
        store.close()

    names = list(next(iter(results.values())))
    print(f"\n{'look-ups per second':<28}" + "".join(f"{s:>14,}" for s in results))
    for name in names:
        print(f"{name:<28}" + "".join(f"{results[s][name]:>14,.0f}" for s in results))
    print(f"\nfiles in {workdir}")


if __name__ == "__main__":
    main()
