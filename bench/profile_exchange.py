"""Where an exchange's CPU goes: py-spy on the SAKs, the register and the consumer under load.

    python bench/profile_exchange.py                # RSA, concurrency 32, 1,500 exchanges
    python bench/profile_exchange.py --key-type ecdsa-p256 --out /tmp/profiles
    noots bench profile                             # the same
    pip install py-spy                              # needed (not a runtime dependency)

The landscape of ``bench/e2e.py`` (platform, the KBA register and the SAKs of the online service
and of the KBA as ``python -m noots serve`` processes, this process the online service) runs
exchanges through the SAKs at the given concurrency while ``py-spy record --gil`` samples the
two SAKs, the register and this process. ``--gil`` keeps only samples of
the thread holding the interpreter lock, i.e. CPU the process burns: without it, the event
loop's waits and fsync would show up as work.

Prints per process where the samples were, grouped by the package of the innermost Python frame
(time in C extensions such as lxml or OpenSSL counts for the Python function that called them),
and the project's functions with the largest share of samples below them (inclusive). Writes
each process's collapsed stacks to ``--out`` (``<process>.txt``): open them in speedscope
(https://www.speedscope.app) or feed them to ``flamegraph.pl``/``inferno-flamegraph`` for a
flame graph. Prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _exchange
import _support

#: Package groups by the path py-spy prints for a frame (first match wins). py-spy shortens
#: paths to what follows ``site-packages/`` or the project's root.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("noots: XNachweis messages", ("noots/_messages", "noots/messages")),
    ("noots: hardened XML parse", ("noots/xml.py",)),
    ("noots: signature checks", ("noots/signing.py", "noots/pki.py")),
    ("noots: protocol log", ("noots/protocol",)),
    ("platform (noots/intermediary/)", ("noots/intermediary/",)),
    ("noots/registers/", ("noots/registers/",)),
    (
        "noots/consumers/ and bench/",
        ("noots/consumers/", "bench/", "_exchange.py", "profile_exchange.py"),
    ),
    ("noots: envelope, token, other core", ("noots/",)),
    ("signxml", ("signxml/",)),
    ("cryptography", ("cryptography/",)),
    ("lxml", ("lxml/",)),
    ("httpx / httpcore / h11", ("httpx/", "httpcore/", "h11/")),
    ("uvicorn / Starlette / FastAPI", ("uvicorn/", "starlette/", "fastapi/", "httptools/")),
    ("pydantic", ("pydantic",)),
    ("anyio (thread hand-off)", ("anyio/",)),
    ("threads and queues", ("threading.py", "queue.py", "concurrent/")),
    ("event loop (asyncio, uvloop)", ("asyncio/", "uvloop/")),
    ("sqlite3", ("sqlite3/",)),
)
OTHER = "other (standard library, …)"
PROJECT = ("noots/",)
#: Frames under every sample of a server (its entry point): listing them says nothing.
ENTRY = (
    "noots/__main__.py",
    "noots/cli/",
    "noots/landscape/server.py run_server",
    "noots/landscape/server.py WorkerThreads.__call__",
)


@dataclass
class Profile:
    """Collapsed stacks of one process: ``frames`` innermost last, with their sample counts."""

    process: str
    stacks: list[tuple[tuple[str, ...], int]] = field(default_factory=list)

    @property
    def samples(self) -> int:
        return sum(count for _, count in self.stacks)


def parse_collapsed(process: str, lines: Iterable[str]) -> Profile:
    """py-spy's ``--format raw``: ``frame;frame;… count`` per line, a frame being
    ``function (path:line)``."""
    profile = Profile(process)
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            raise ValueError(f"not a collapsed stack line: {line[:120]!r}")
        profile.stacks.append((tuple(stack.split(";")), int(count)))
    return profile


def frame_path(frame: str) -> str:
    """``"verify (noots/signing.py:301)"`` → ``"noots/signing.py"``."""
    _, _, location = frame.rpartition(" (")
    return location.rstrip(")").rpartition(":")[0]


def frame_function(frame: str) -> str:
    """``"XmlVerifier.verify (noots/signing.py:301)"`` → ``"noots/signing.py XmlVerifier.verify"``
    (line numbers dropped: one function, one entry)."""
    function, _, _ = frame.rpartition(" (")
    return f"{frame_path(frame)} {function}"


def group_of(path: str) -> str:
    for name, markers in GROUPS:
        if any(marker in path for marker in markers):
            return name
    return OTHER


def by_group(profile: Profile) -> Counter[str]:
    """Samples per package group of the innermost Python frame (self time)."""
    groups: Counter[str] = Counter()
    for frames, count in profile.stacks:
        groups[group_of(frame_path(frames[-1]))] += count
    return groups


def inclusive_project_functions(profile: Profile) -> Counter[str]:
    """Samples with a project function anywhere on the stack (each stack counts once per
    function, recursion or not)."""
    functions: Counter[str] = Counter()
    for frames, count in profile.stacks:
        seen = {
            frame_function(f)
            for f in frames
            if frame_path(f).startswith(PROJECT) and not frame_function(f).startswith(ENTRY)
        }
        for function in seen:
            functions[function] += count
    return functions


def report(profile: Profile, *, top: int) -> str:
    total = profile.samples
    if not total:
        return f"{profile.process}: no samples"
    share = lambda n: f"{100 * n / total:.1f} %"  # noqa: E731
    lines = [f"## {profile.process}: {total} samples with the interpreter lock held", ""]
    lines.append(
        _support.table(
            ["innermost frame in", "samples", "share"],
            [[group, n, share(n)] for group, n in by_group(profile).most_common()],
        )
    )
    lines.append("")
    lines.append(
        _support.table(
            ["project function (inclusive)", "samples", "share"],
            [[fn, n, share(n)] for fn, n in inclusive_project_functions(profile).most_common(top)],
        )
    )
    return "\n".join(lines)


# -- recording --------------------------------------------------------------------------------


def py_spy() -> str:
    found = shutil.which("py-spy")
    if found is None:
        raise SystemExit("error: py-spy is not installed (pip install py-spy)")
    return found


def start_recording(pid: int, output: Path, rate: int) -> subprocess.Popen[bytes]:
    # The command is ours: py-spy's path and fixed arguments.
    return subprocess.Popen(
        [
            *(py_spy(), "record", "--gil", "--rate", str(rate), "--format", "raw"),
            *("--output", str(output), "--pid", str(pid)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def stop_recording(name: str, recorder: subprocess.Popen[bytes], output: Path) -> Profile:
    if recorder.poll() is None:
        recorder.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
    try:
        log, _ = recorder.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        recorder.kill()
        log, _ = recorder.communicate()
    if not output.exists():
        text = log.decode("utf-8", "replace").strip().splitlines()
        raise SystemExit(
            f"error: py-spy recorded nothing for {name} (exit {recorder.returncode}): "
            + (text[0] if text else "no output")
            + " — py-spy needs ptrace (root, or CAP_SYS_PTRACE in a container)"
        )
    return parse_collapsed(name, output.read_text().splitlines())


async def drive(
    consumer: _exchange.SakConsumer, prepared: list[_exchange.Prepared], conc: int
) -> int:
    items = iter(prepared)
    errors = 0
    async with _exchange.http_client(conc) as http:
        await consumer.authorise(http)

        async def worker() -> None:
            nonlocal errors
            for item in items:
                try:
                    await consumer.exchange(http, item)
                except Exception:
                    errors += 1

        await asyncio.gather(*(worker() for _ in range(conc)))
    return errors


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key-type", default="rsa2048", choices=["rsa2048", "ecdsa-p256"])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--exchanges", type=int, default=1500)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=15, help="project functions to list")
    parser.add_argument("--people", type=int, default=2000, help="population of a new data dir")
    parser.add_argument("--data-dir", type=Path, help="keep the landscape here (reused)")
    parser.add_argument("--out", type=Path, default=Path("bench-profiles"))
    args = parser.parse_args(argv)
    py_spy()

    _support.print_machine("profile: DC → its SAK → DP's SAK → DP and back under py-spy --gil")
    args.out.mkdir(parents=True, exist_ok=True)
    with _support.running_landscape(
        args.data_dir, key_type=args.key_type, people=args.people
    ) as landscape:
        consumer = _exchange.SakConsumer(landscape.data_dir, landscape.topology_path)
        subjects = _exchange.keepers(landscape.data_dir / "population.db", 200)
        warmup = consumer.prepare(subjects, min(2 * args.concurrency, 64))
        asyncio.run(drive(consumer, warmup, args.concurrency))
        prepared = consumer.prepare(subjects, args.exchanges)
        pids = {
            "consumer-sak": landscape.server(f"{_support.BPA}.sak").pid,
            "provider-sak": landscape.server(f"{_support.KBA}.sak").pid,
            "register": landscape.server(_support.KBA).pid,
            "consumer": os.getpid(),
        }
        outputs = {name: args.out / f"{name}.txt" for name in pids}
        for output in outputs.values():
            output.unlink(missing_ok=True)
        recorders = {
            name: start_recording(pid, outputs[name], args.rate) for name, pid in pids.items()
        }
        time.sleep(1.0)  # py-spy attaches before the timed part starts
        started = time.perf_counter()
        errors = asyncio.run(drive(consumer, prepared, args.concurrency))
        seconds = time.perf_counter() - started
        profiles = [stop_recording(name, recorders[name], outputs[name]) for name in pids]
    print(
        f"{args.exchanges} exchanges ({errors} failed) at concurrency {args.concurrency}, "
        f"{args.key_type}, in {seconds:.1f} s under the profiler "
        f"({args.exchanges / seconds:.1f} exchanges/s; py-spy slows the processes down)"
    )
    print()
    for profile in profiles:
        print(report(profile, top=args.top))
        print()
    print(
        f"- collapsed stacks: {', '.join(str(p) for p in outputs.values())} "
        "(speedscope, flamegraph.pl or inferno-flamegraph draw them)"
    )
    print(f"- load average at the end: {_support.machine()['load average']}")


if __name__ == "__main__":
    main()
