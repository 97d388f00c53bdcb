"""Evidence exchanges end to end over real loopback sockets: through the SAKs (DC → its SAK →
DP's SAK → DP and back).

    python bench/e2e.py                                   # RSA and ECDSA, concurrency 1 8 32 128
    python bench/e2e.py --key-types rsa2048 --concurrency 32 --exchanges 2000
    python bench/e2e.py --token                           # also a flow with a VS token
    python bench/e2e.py --full                            # also the client library's whole flow

The platform (RDN, VS, IAM, …), the KBA register and the SAKs of the Bewohnerparkausweis
service and of the KBA run as real ``python -m noots serve`` processes (uvicorn on uvloop and
httptools, the same as ``noots up``); this process is the online service: it posts each
prepared 0101 to its SAK's consumer API with its (cached) access token and checks the bare
answer as the client library does. What one exchange is, and its cryptographic floor, is
defined in ``bench/_exchange.py`` (``SakConsumer``: 2 signatures + 2 verifications; with a VS
token 2 + 4). ``--full`` adds rows of the client library (``noots.consumers.AsyncClient``) doing
each fetch whole: route, authorisation, 0101 (the route cached by the SAK as in production).

Per row: exchanges per second, latency percentiles, and CPU per exchange summed over every
process of the path (process CPU times over the timed part divided by exchanges), next to the
floor measured in this run with ``cryptography`` alone, and their ratio. Prints numbers,
asserts nothing. The machine is shared: compare medians, and read the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _exchange
import _support

from noots import messages


@dataclass
class Row:
    key_type: str
    flow: str
    concurrency: int
    exchanges: int
    errors: int
    seconds: float
    latencies: list[float]
    cpu: dict[str, float]  # CPU seconds over the timed part, per process
    floor: float

    @property
    def rate(self) -> float:
        return self.exchanges / self.seconds if self.seconds else float("nan")

    @property
    def cpu_per_exchange(self) -> float:
        return sum(self.cpu.values()) / self.exchanges if self.exchanges else float("nan")

    def cells(self) -> list[object]:
        ms = [x * 1e3 for x in self.latencies]
        per = {k: v / max(self.exchanges, 1) * 1e3 for k, v in self.cpu.items()}
        return [
            self.key_type,
            self.flow,
            self.concurrency,
            self.exchanges,
            self.errors,
            self.rate,
            _support.percentile(ms, 0.50),
            _support.percentile(ms, 0.95),
            _support.percentile(ms, 0.99),
            self.cpu_per_exchange * 1e3,
            " / ".join(f"{name} {value:.1f}" for name, value in per.items()),
            self.floor * 1e3,
            self.cpu_per_exchange / self.floor if self.floor else float("nan"),
        ]


HEADERS = [
    "key",
    "flow",
    "conc",
    "exchanges",
    "errors",
    "exch/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "CPU ms/exch",
    "by process (ms)",
    "floor ms",
    "CPU/floor",
]


async def _drive(
    concurrency: int,
    items: Iterator[object],
    work,
    latencies: list[float],  # type: ignore[no-untyped-def]
) -> tuple[int, BaseException | None]:
    errors = 0
    first: BaseException | None = None

    async def worker() -> None:
        nonlocal errors, first
        for item in items:
            started = time.perf_counter()
            try:
                await work(item)
            except Exception as exc:
                errors += 1
                first = first or exc
                continue
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return errors, first


def _cpu(landscape: _support.BenchLandscape) -> dict[str, float]:
    """CPU seconds so far of every process of the path (this one is the online service)."""
    names = {
        "platform": "platform",
        _support.KBA: "DP",
        _support.MELD: "DP2",
        f"{_support.BPA}.sak": "DC-SAK",
        f"{_support.KBA}.sak": "DP-SAK",
        f"{_support.MELD}.sak": "DP2-SAK",
    }
    cpu = {names.get(s.name, s.name): s.cpu() for s in landscape.servers}
    cpu["DC"] = _support.cpu_seconds()
    return cpu


async def _timed_row(
    landscape: _support.BenchLandscape,
    flow: str,
    concurrency: int,
    items: Iterator[object],
    work,  # type: ignore[no-untyped-def]
    floor: float,
) -> Row:
    """Drive ``items`` through ``work`` and measure the row: latencies, wall time, and the CPU
    each process spent meanwhile."""
    latencies: list[float] = []
    before = _cpu(landscape)
    started = time.perf_counter()
    errors, first = await _drive(concurrency, items, work, latencies)
    seconds = time.perf_counter() - started
    after = _cpu(landscape)
    if first is not None:
        print(f"   first error: {type(first).__name__}: {first}", file=sys.stderr)
    cpu = {k: after[k] - before[k] for k in before}
    count = len(latencies)
    return Row(landscape.key_type, flow, concurrency, count, errors, seconds, latencies, cpu, floor)


async def run_sak(
    landscape: _support.BenchLandscape,
    consumer: _exchange.SakConsumer,
    subjects: list,  # type: ignore[type-arg]
    *,
    concurrency: int,
    exchanges: int,
    floor: float,
    token: bool,
) -> Row:
    warmup = min(2 * concurrency, 64)
    if token:
        prepared = consumer.prepare(
            subjects,
            exchanges + warmup,
            provider=_support.MELD,
            evidence_type="Meldebescheinigung",
            token=True,
        )
    else:
        prepared = consumer.prepare(subjects, exchanges + warmup)
    async with _exchange.http_client(concurrency) as http:
        await consumer.authorise(http)

        async def work(item: _exchange.Prepared) -> None:
            await consumer.exchange(http, item)

        await _drive(concurrency, iter(prepared[:warmup]), work, [])
        flow = "SAK, VS token" if token else "SAK"
        return await _timed_row(landscape, flow, concurrency, iter(prepared[warmup:]), work, floor)


async def run_full(
    landscape: _support.BenchLandscape,
    consumer: _exchange.SakConsumer,
    subjects: list,  # type: ignore[type-arg]
    *,
    concurrency: int,
    exchanges: int,
    floor: float,
) -> Row:
    """Route → authorisation → 0101 through the online service's SAK, by the client library
    (noots.consumers.AsyncClient) with its access token, as an online service fetches evidence."""
    from noots.consumers import AsyncClient, Endpoints, PersonQuery
    from noots.participant import load_participant

    participant = load_participant(landscape.data_dir / "pki", _support.BPA, clock=consumer.clock)
    http = _exchange.http_client(concurrency)
    client = AsyncClient(
        participant, Endpoints.from_topology(consumer.topology), consumer.topology, http=http
    )

    async def work(index: int) -> None:
        idnr, subject = subjects[index % len(subjects)]
        await client.fetch_evidence(
            _support.EVIDENCE_TYPE,
            purpose=_exchange.PURPOSE,
            idnr=idnr,
            person=PersonQuery(subject.given_name, subject.family_name, subject.date_of_birth),
        )

    try:
        warmup = min(2 * concurrency, 64)
        await _drive(concurrency, iter(range(warmup)), work, [])
        items = iter(range(warmup, warmup + exchanges))
        return await _timed_row(landscape, "client library", concurrency, items, work, floor)
    finally:
        await client.aclose()
        await http.aclose()


def bench_sak(args: argparse.Namespace, key_type: str) -> tuple[list[Row], list[str]]:
    """The rows of the path through the SAKs for one key type."""
    data_dir = args.data_dir / key_type if args.data_dir else None
    notes: list[str] = []
    rows: list[Row] = []
    registers = (_support.KBA, _support.MELD) if args.token else (_support.KBA,)
    saks = (_support.BPA, *registers)
    with _support.running_landscape(
        data_dir,
        key_type=key_type,
        people=args.people,
        population=args.population,
        registers=registers,
        saks=saks,
    ) as landscape:
        consumer = _exchange.SakConsumer(landscape.data_dir, landscape.topology_path)
        subjects = _exchange.keepers(landscape.data_dir / "population.db", 200)
        # The token flow asks the Melderegister of Korntal-Münchingen: its residents.
        residents = (
            _exchange.keepers(landscape.data_dir / "population.db", 50, ags="08118079")
            if args.token
            else subjects
        )
        probe = consumer.prepare(subjects, 1, token=False)[0]

        async def once() -> tuple[int, int]:
            async with _exchange.http_client(1) as http:
                await consumer.authorise(http)
                body = messages.to_bytes(probe.request)
                response = await http.post(
                    consumer.sak_url + "/consumer/v1/requests",
                    content=body,
                    headers=consumer.headers(probe),
                )
                consumer.check(probe, response.status_code, response.content)
                return len(body) + 2500, len(response.content) + 2500  # + envelope, signature

        request_bytes, response_bytes = asyncio.run(once())
        token_bytes = 4200 if key_type == "rsa2048" else 3500
        floors = {
            token: _exchange.measure_sak_floor(
                landscape.data_dir,
                request_bytes=request_bytes,
                response_bytes=response_bytes,
                token_bytes=token_bytes,
                token=token,
                rounds=args.floor_rounds,
            )
            for token in ((False, True) if args.token else (False,))
        }
        for token, floor in floors.items():
            notes.append(
                f"{key_type}{' with VS token' if token else ''}: request envelope about "
                f"{request_bytes} B, answer envelope about {response_bytes} B; floor "
                f"{floor.signatures} sign + {floor.verifications} verify = "
                f"{floor.seconds * 1e3:.3f} ms ("
                + ", ".join(f"{w} {c}×{e * 1e3:.3f}" for w, c, e in floor.operations)
                + ")"
            )
        for token, floor in floors.items():
            for concurrency in args.concurrency:
                row = asyncio.run(
                    run_sak(
                        landscape,
                        consumer,
                        residents if token else subjects,
                        concurrency=concurrency,
                        exchanges=max(args.exchanges, 2 * concurrency),
                        floor=floor.seconds,
                        token=token,
                    )
                )
                rows.append(row)
                print(_support.table(HEADERS, [row.cells()]).splitlines()[-1], flush=True)
        if args.full:
            for concurrency in args.concurrency:
                row = asyncio.run(
                    run_full(
                        landscape,
                        consumer,
                        subjects,
                        concurrency=concurrency,
                        exchanges=max(args.exchanges, 2 * concurrency),
                        floor=floors[False].seconds,
                    )
                )
                rows.append(row)
                print(_support.table(HEADERS, [row.cells()]).splitlines()[-1], flush=True)
        memory = {s.name: s.memory() for s in landscape.servers}
        memory["online service (this process)"] = _support.memory_kib()
        notes.append(
            f"{key_type} memory (RSS now / peak): "
            + ", ".join(f"{k} {r / 1024:.0f}/{p / 1024:.0f} MiB" for k, (r, p) in memory.items())
        )
    return rows, notes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--key-types",
        nargs="+",
        default=["rsa2048", "ecdsa-p256"],
        choices=["rsa2048", "ecdsa-p256"],
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 128])
    parser.add_argument("--exchanges", type=int, default=600, help="timed exchanges per row")
    parser.add_argument("--people", type=int, default=2000, help="population of a new data dir")
    parser.add_argument("--population", type=Path, help="use this seeded population.db")
    parser.add_argument("--data-dir", type=Path, help="keep the landscapes here (reused)")
    parser.add_argument("--token", action="store_true", help="also a flow with a VS token")
    parser.add_argument(
        "--full", action="store_true", help="also the client library's whole flow per fetch"
    )
    parser.add_argument("--floor-rounds", type=int, default=300)
    args = parser.parse_args(argv)

    _support.print_machine("end to end: DC → its SAK → DP's SAK → DP and back, on loopback")
    print(_support.table(HEADERS, []), flush=True)
    rows: list[Row] = []
    notes: list[str] = []
    for key_type in args.key_types:
        more, text = bench_sak(args, key_type)
        rows += more
        notes += text
    print()
    print(_support.table(HEADERS, [row.cells() for row in rows]))
    print()
    for note in notes:
        print(f"- {note}")
    print(f"- load average at the end: {_support.machine()['load average']}")
    print(
        "- CPU ms/exch = (the CPU of every process of the path over the timed part) / "
        "exchanges; CPU/floor = that divided by the floor's raw cryptography (same keys, "
        "same sizes)."
    )


if __name__ == "__main__":
    main()
