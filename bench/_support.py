"""What the benchmark scripts share: the machine, process CPU and memory, percentiles, and a
landscape of real server processes on loopback.

Not a public API: the scripts in ``bench/`` import it as ``_support`` (they put their own folder
on ``sys.path``), the tests run the scripts.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: The register the end-to-end benchmarks talk to: the KBA (Bewohnerparkausweis pilot).
KBA = "991-01234ZFZR-41"
MELD = "08118079-MELD-12"
#: The online service that asks it.
BPA = "08118079-BPA-87"
EVIDENCE_TYPE = "Fahrzeughalterauskunft"
_TICKS = os.sysconf("SC_CLK_TCK")


# -- the machine -------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """nproc, CPU model, memory, load average, Python and key library versions."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    versions = []
    for name in ("cryptography", "lxml", "signxml", "uvicorn", "httpx"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions.append(f"{name} {version(name)}")
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "memory": memory,
        "load average": load,
        "python": platform.python_version(),
        "libraries": ", ".join(versions),
    }


def print_machine(title: str) -> None:
    print(f"== {title}")
    for key, value in machine().items():
        print(f"   {key:<13} {value}")
    print()


# -- processes ---------------------------------------------------------------------------------


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of a process (all its threads); ``None``: this process."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def memory_kib(pid: int | None = None) -> tuple[int, int]:
    """(resident set now, peak resident set) in KiB."""
    rss = hwm = 0
    for line in Path(f"/proc/{pid or 'self'}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
        elif line.startswith("VmHWM:"):
            hwm = int(line.split()[1])
    return rss, hwm


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1) of ``values``; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class Server:
    """One ``noots serve`` process (or any server command) with its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    url: str

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def memory(self) -> tuple[int, int]:
        return memory_kib(self.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_server(
    name: str, command: list[str], *, log: Path, url: str, env: dict[str, str] | None = None
) -> Server:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(  # the command is ours: sys.executable and fixed arguments
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=ROOT,
        )
    return Server(name, process, log, url)


def wait_healthy(
    servers: Sequence[Server], *, timeout: float = 60.0, path: str = "/health"
) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        for server in servers:
            while True:
                if server.process.poll() is not None:
                    tail = server.log.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"{server.name} exited:\n{tail}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(server.url + path).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{server.name} not healthy after {timeout:g} s")
                time.sleep(0.1)


# -- a landscape of real processes ------------------------------------------------------------


@dataclass
class BenchLandscape:
    """A data directory with its topology, and the processes of the path: the platform, the
    registers and the SAKs."""

    data_dir: Path
    topology_path: Path
    key_type: str
    servers: list[Server] = field(default_factory=list)

    def server(self, name: str) -> Server:
        return next(s for s in self.servers if s.name == name)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        self.servers.clear()


def prepare_data_dir(
    data_dir: Path,
    *,
    key_type: str,
    people: int,
    seed: int = 20261122,
    population: Path | None = None,
) -> Path:
    """Topology on free loopback ports, PKI of ``key_type``, population (or a link to a seeded
    ``population`` file); idempotent. Returns the topology path."""
    from noots.bootstrap import bootstrap_landscape
    from noots.pki import KeyType
    from noots.testing.landscape import write_topology
    from noots.topology import load_topology

    data_dir.mkdir(parents=True, exist_ok=True)
    topology_path = data_dir / "landscape.yaml"
    if not topology_path.exists():
        write_topology(data_dir)
    target = data_dir / "population.db"
    if population is not None and not target.exists():
        target.symlink_to(population.resolve())
    bootstrap_landscape(
        data_dir, load_topology(topology_path), people=people, seed=seed, key_type=KeyType(key_type)
    )
    return topology_path


@contextlib.contextmanager
def running_landscape(
    data_dir: Path | None,
    *,
    key_type: str,
    people: int,
    population: Path | None = None,
    registers: Sequence[str] = (KBA,),
    saks: Sequence[str] = (BPA, KBA),
    env: dict[str, str] | None = None,
) -> Iterator[BenchLandscape]:
    """Platform, ``registers`` and the SAKs of ``saks`` (participant ids) as ``python -m noots
    serve`` processes (uvloop, httptools, no access log), each on its own loopback port."""
    from noots.topology import load_topology

    owned = data_dir is None
    directory = data_dir or Path(tempfile.mkdtemp(prefix=f"noots-bench-{key_type}-"))
    landscape: BenchLandscape | None = None
    try:
        topology_path = prepare_data_dir(
            directory, key_type=key_type, people=people, population=population
        )
        topology = load_topology(topology_path)
        landscape = BenchLandscape(directory, topology_path, key_type)
        base = [sys.executable, "-m", "noots", "serve"]
        options = ["--data-dir", str(directory), "--topology", str(topology_path), "--no-tls"]
        quiet = {"NOOTS_LOG_LEVEL": "WARNING", **(env or {})}
        for name in ("platform", *registers, *(f"{p}.sak" for p in saks)):
            landscape.servers.append(
                start_server(
                    name,
                    [*base, name, *options],
                    log=directory / "run" / f"bench-{name}.log",
                    url=topology.base_url(name),
                    env=quiet,
                )
            )
        wait_healthy(landscape.servers)
        yield landscape
    finally:
        if landscape is not None:
            landscape.stop()
        if owned:
            shutil.rmtree(directory, ignore_errors=True)


# -- tables ------------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain text table, right-aligned numbers; also valid Markdown."""
    cells = [[str(h) for h in headers], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        lines.append("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if index == 0:
            lines.append("|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value != value:
            return "–"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value)
