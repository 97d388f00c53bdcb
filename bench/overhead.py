"""What the security costs: the signed exchange with every check against a bare forwarding path.

    python bench/overhead.py                       # RSA-2048, concurrency 32
    python bench/overhead.py --key-type ecdsa-p256 --concurrency 8 32 --exchanges 2000

Both paths run the same stack and the same hops: uvicorn (uvloop, httptools) and FastAPI
processes on loopback, the online service's SAK forwarding to the provider's SAK and that one to
the register, each over an httpx connection pool, the client on httpx. The **checked** path is
the real landscape (``bench/e2e.py``: access token, route, check, seal, verify, replay cache,
look-up, evidence, log, seal, verify). The **bare** path is two forwarders in the places of the
SAKs that pass on the bytes they receive, and a register that answers with a fixed answer of the
same size: no parsing, no signatures, no tokens, no logs, no look-up. The ratios say how much of
an exchange is the work the system exists for. Prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import Response

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _exchange
import _support
import e2e

from noots import messages

# -- the bare servers (run as ``python bench/overhead.py --serve forward|register ...``) -------


def _bare_register(size: int):  # type: ignore[no-untyped-def]
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    answer = b"<answer>" + b"x" * max(0, size - 17) + b"</answer>"

    @app.post("/provider/v1/requests")
    async def evidence(request: Request) -> Response:
        await request.body()
        return Response(answer, media_type="application/xml")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "healthy"}

    return app


def _bare_forwarder(upstream: str):  # type: ignore[no-untyped-def]
    state: dict[str, httpx.AsyncClient] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # type: ignore[no-untyped-def]
        async with httpx.AsyncClient(
            timeout=60.0,
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
        ) as client:
            state["client"] = client
            yield

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)

    @app.post("/{path:path}")
    async def messages(request: Request) -> Response:
        body = await request.body()
        answer = await state["client"].post(
            upstream, content=body, headers={"Content-Type": "application/xml"}
        )
        return Response(
            answer.content, status_code=answer.status_code, media_type="application/xml"
        )

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "healthy"}

    return app


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    app = _bare_forwarder(args.upstream) if args.serve == "forward" else _bare_register(args.size)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        server_header=False,
    )


# -- the comparison ------------------------------------------------------------------------------


async def _bare_run(
    url: str,
    body: bytes,
    *,
    concurrency: int,
    exchanges: int,
    servers: dict[str, _support.Server],
) -> e2e.Row:
    async with _exchange.http_client(concurrency) as http:

        async def work(_: int) -> None:
            response = await http.post(url, content=body, headers=_exchange.XML)
            if response.status_code != 200:
                raise RuntimeError(f"HTTP {response.status_code}")
            response.content  # noqa: B018 - read, as the checked client does

        warmup = min(2 * concurrency, 64)
        await e2e._drive(concurrency, iter(range(warmup)), work, [])

        def cpu() -> dict[str, float]:
            cpu = {name: server.cpu() for name, server in servers.items()}
            cpu["DC"] = _support.cpu_seconds()
            return cpu

        latencies: list[float] = []
        before = cpu()
        started = time.perf_counter()
        errors, first = await e2e._drive(concurrency, iter(range(exchanges)), work, latencies)
        seconds = time.perf_counter() - started
        after = cpu()
    if first is not None:
        print(f"   first error: {type(first).__name__}: {first}", file=sys.stderr)
    return e2e.Row(
        "bare",
        "forward only",
        concurrency,
        len(latencies),
        errors,
        seconds,
        latencies,
        {k: after[k] - before[k] for k in before},
        float("nan"),
    )


def compare(args: argparse.Namespace) -> None:
    from noots.testing.landscape import free_port

    _support.print_machine("overhead of security: checked exchange vs bare forwarding")
    checked: list[e2e.Row] = []
    bare: list[e2e.Row] = []
    with _support.running_landscape(
        args.data_dir, key_type=args.key_type, people=args.people
    ) as landscape:
        consumer = _exchange.SakConsumer(landscape.data_dir, landscape.topology_path)
        subjects = _exchange.keepers(landscape.data_dir / "population.db", 200)
        for concurrency in args.concurrency:
            checked.append(
                asyncio.run(
                    e2e.run_sak(
                        landscape,
                        consumer,
                        subjects,
                        concurrency=concurrency,
                        exchanges=max(args.exchanges, 2 * concurrency),
                        floor=float("nan"),
                        token=False,
                    )
                )
            )

        async def sizes() -> tuple[bytes, int]:
            """The bare 0101 the online service posts, and the size of its answer."""
            async with _exchange.http_client(1) as http:
                await consumer.authorise(http)
                item = consumer.prepare(subjects, 1)[0]
                body = messages.to_bytes(item.request)
                response = await http.post(
                    consumer.sak_url + "/consumer/v1/requests",
                    content=body,
                    headers=consumer.headers(item),
                )
                consumer.check(item, response.status_code, response.content)
                return body, len(response.content)

        request, size = asyncio.run(sizes())
    ports = {name: free_port() for name in ("register", "DP-SAK", "DC-SAK")}
    script = [sys.executable, str(Path(__file__).resolve())]
    log_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="noots-bench-")) / "bench-bare"
    servers = {
        "DP": _support.start_server(
            "bare register",
            [*script, "--serve", "register", "--port", str(ports["register"]), "--size", str(size)],
            log=log_dir / "register.log",
            url=f"http://127.0.0.1:{ports['register']}",
        ),
    }
    for name, upstream in (
        ("DP-SAK", f"http://127.0.0.1:{ports['register']}/provider/v1/requests"),
        ("DC-SAK", f"http://127.0.0.1:{ports['DP-SAK']}/transport/v1/messages"),
    ):
        servers[name] = _support.start_server(
            f"bare {name}",
            [
                *script,
                "--serve",
                "forward",
                "--port",
                str(ports[name]),
                "--upstream",
                upstream,
            ],
            log=log_dir / f"{name}.log",
            url=f"http://127.0.0.1:{ports[name]}",
        )
    try:
        _support.wait_healthy(list(servers.values()))
        for concurrency in args.concurrency:
            bare.append(
                asyncio.run(
                    _bare_run(
                        f"http://127.0.0.1:{ports['DC-SAK']}/consumer/v1/requests",
                        request,
                        concurrency=concurrency,
                        exchanges=max(args.exchanges, 2 * concurrency),
                        servers=servers,
                    )
                )
            )
    finally:
        for server in servers.values():
            server.stop()

    headers = e2e.HEADERS[:13]
    print(_support.table(headers, [r.cells()[:13] for r in [*checked, *bare]]))
    print()
    rows = []
    for full, plain in zip(checked, bare, strict=True):
        rows.append(
            [
                full.concurrency,
                full.cpu_per_exchange * 1e3,
                plain.cpu_per_exchange * 1e3,
                full.cpu_per_exchange / plain.cpu_per_exchange,
                full.rate,
                plain.rate,
                plain.rate / full.rate,
                _support.percentile(full.latencies, 0.99) * 1e3,
                _support.percentile(plain.latencies, 0.99) * 1e3,
            ]
        )
    print(
        _support.table(
            [
                "conc",
                "CPU ms checked",
                "CPU ms bare",
                "CPU ratio",
                "exch/s checked",
                "exch/s bare",
                "rate ratio",
                "p99 ms checked",
                "p99 ms bare",
            ],
            rows,
        )
    )
    print(f"\n- {args.key_type}; answer size of the bare register: {size} B (as the real one)")
    print(f"- load average at the end: {_support.machine()['load average']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key-type", default="rsa2048", choices=["rsa2048", "ecdsa-p256"])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[32])
    parser.add_argument("--exchanges", type=int, default=1000)
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--data-dir", type=Path, help="keep the landscape here (reused)")
    parser.add_argument("--serve", choices=["forward", "register"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--upstream", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=9000, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args)
    else:
        compare(args)


if __name__ == "__main__":
    main()
