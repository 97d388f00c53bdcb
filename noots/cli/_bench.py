"""``noots bench [e2e|crypto|overhead|scale|messages|state|profile|all]``: ``bench/``'s scripts.

Each runs as its own process (the scripts start their own server processes), prints its tables
and asserts nothing. Options after the name go to the script, e.g.
``noots bench e2e --key-types rsa2048 --concurrency 32`` (``python bench/e2e.py --help``
lists them).
The scripts ship with the source checkout, not with an installed wheel.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from noots.cli._app import app
from noots.paths import PROJECT_ROOT

BENCH_DIR = PROJECT_ROOT / "bench"

SCRIPTS = {
    "crypto": "crypto.py",
    "messages": "messages.py",
    "state": "state.py",
    "e2e": "e2e.py",
    "overhead": "overhead.py",
    "scale": "scale.py",
    "profile": "profile_exchange.py",
}
#: What ``all`` runs, in order: cheap first, so a broken setup shows early. ``profile`` needs
#: py-spy and ptrace, so it runs only when asked for.
ALL = ("crypto", "messages", "state", "e2e", "overhead", "scale")
#: ``--quick``: parameters small enough for a smoke run of every script in about a minute.
QUICK = {
    "crypto": ["--rounds", "20"],
    "messages": ["--rounds", "50"],
    "state": ["--checks", "200", "--ids", "1000"],
    "e2e": [
        "--concurrency",
        "1",
        "4",
        "--exchanges",
        "20",
        "--floor-rounds",
        "20",
        "--people",
        "300",
    ],
    "overhead": ["--concurrency", "4", "--exchanges", "20", "--people", "300"],
    "scale": [
        "--sizes",
        "300",
        "1000",
        "--lookups",
        "200",
        "--exchanges",
        "20",
        "--concurrency",
        "4",
    ],
    "profile": ["--concurrency", "4", "--exchanges", "40", "--people", "300"],
}


def script_path(name: str, bench_dir: Path | None = None) -> Path:
    path = (bench_dir or BENCH_DIR) / SCRIPTS[name]
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: the benchmarks ship with the source checkout of noots"
        )
    return path


def run_script(name: str, args: list[str], *, bench_dir: Path | None = None) -> int:
    """Run one benchmark script with ``args``; its exit code."""
    command = [sys.executable, str(script_path(name, bench_dir)), *args]
    return subprocess.run(command, check=False).returncode


@app.command(
    "bench",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def bench(
    ctx: typer.Context,
    which: Annotated[
        str,
        typer.Argument(
            help="e2e, crypto, overhead, scale, messages, state, profile (py-spy), or all (each "
            "in turn, without profile)."
        ),
    ] = "all",
    quick: Annotated[
        bool, typer.Option("--quick", help="Tiny parameters: checks that everything runs.")
    ] = False,
) -> None:
    """Run the benchmarks (bench/*.py); they print figures and never assert on time.

    docs/PERFORMANCE.md explains what each measures and holds the latest figures.
    """
    names = list(ALL) if which == "all" else [which]
    unknown = [n for n in names if n not in SCRIPTS]
    if unknown:
        typer.echo(
            f"error: unknown benchmark {which!r}; one of {', '.join(SCRIPTS)}, all", err=True
        )
        raise typer.Exit(2)
    if which == "all" and ctx.args:
        typer.echo("error: options go to one script: noots bench <name> [options]", err=True)
        raise typer.Exit(2)
    failed = []
    for name in names:
        args = [*(QUICK[name] if quick else []), *ctx.args]
        if len(names) > 1:
            typer.echo(f"\n### noots bench {name} {' '.join(args)}".rstrip(), err=True)
        started = time.monotonic()
        try:
            code = run_script(name, args)
        except FileNotFoundError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        if len(names) > 1:
            typer.echo(
                f"### {name}: exit {code} after {time.monotonic() - started:.0f} s", err=True
            )
        if code != 0:
            failed.append(name)
    if failed:
        typer.echo(f"error: failed: {', '.join(failed)}", err=True)
        raise typer.Exit(1)
