"""Components of a landscape as real processes that a test can kill and restart::

    with component_processes(data_dir, ["platform", KBA], env={...}) as landscape:
        landscape["platform"].url            # http://127.0.0.1:<port>
        landscape[KBA].kill()                # SIGKILL to its own process group, then reaped
        landscape[KBA].start()               # same port, same data directory
        landscape[KBA].rss_kib()             # resident memory, from /proc

Each component runs as ``python -m noots serve <name>`` (what ``noots up`` starts) in its own
session, so :meth:`ComponentProcess.kill` reaches exactly that process and whatever it
started, and nothing else. Output goes to ``<data_dir>/run/<name>.<n>.log`` (one file per
start), which :meth:`ComponentProcess.output` reads back. The data directory must have been
bootstrapped (:func:`noots.testing.landscape.bootstrap`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from noots.supervisor import ProcessGroup, terminate
from noots.topology import Topology, load_topology

__all__ = ["ComponentProcess", "ProcessLandscape", "component_processes"]


@dataclass
class ComponentProcess:
    """One ``noots serve`` process; restartable."""

    name: str
    url: str
    data_dir: Path
    topology_path: Path
    env: Mapping[str, str]
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    logs: list[Path] = field(default_factory=list)

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, *, wait: bool = True, timeout: float = 90.0) -> None:
        """Start the process (it must not be running) and, with ``wait``, until /health is 200."""
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        self.starts += 1
        log_path = self.data_dir / "run" / f"{self.name}.{self.starts}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.logs.append(log_path)
        command = [
            sys.executable,
            "-m",
            "noots",
            "serve",
            self.name,
            "--data-dir",
            str(self.data_dir),
            "--topology",
            str(self.topology_path),
        ]
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(self.env),
                start_new_session=True,
            )
        if wait:
            self.wait_healthy(timeout=timeout)

    def wait_healthy(self, *, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if not self.running:
                raise RuntimeError(f"{self.name} exited:\n{self.output()[-4000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/health", timeout=2.0).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} not healthy after {timeout:g} s")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL (``kill -9``) the process group this component leads, and reap it."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, *, timeout: float = 15.0) -> None:
        """SIGTERM (graceful), then SIGKILL if it does not end in time."""
        terminate(self._groups(), grace_period=timeout)

    def _groups(self) -> list[ProcessGroup]:
        process = self.process
        if process is None or process.poll() is not None:
            return []
        return [ProcessGroup(process.pid, self.name, lambda: process.poll() is None)]

    def restart(self, *, timeout: float = 90.0) -> None:
        self.stop()
        self.start(timeout=timeout)

    def rss_kib(self) -> int | None:
        """Resident set size in KiB (None when not running)."""
        if not self.running or self.pid is None:
            return None
        try:
            status = Path(f"/proc/{self.pid}/status").read_text(encoding="ascii")
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return None

    def output(self) -> str:
        """Everything every start of this component wrote."""
        return "".join(p.read_text(encoding="utf-8", errors="replace") for p in self.logs)


@dataclass
class ProcessLandscape:
    """The started components by name, with the topology they share."""

    data_dir: Path
    topology: Topology
    components: dict[str, ComponentProcess]

    def __getitem__(self, name: str) -> ComponentProcess:
        return self.components[name]

    def output(self) -> str:
        return "".join(c.output() for c in self.components.values())


@contextlib.contextmanager
def component_processes(
    data_dir: Path,
    names: Iterable[str],
    *,
    env: Mapping[str, str] | None = None,
    topology_path: Path | None = None,
) -> Iterator[ProcessLandscape]:
    """Start ``names`` (``platform``, ``ida`` or participant ids) and stop them at the end.

    ``env`` is added to this process's environment (e.g. ``NOOTS_ADMIN_TOKEN``,
    ``NOOTS_PROVIDER_TIMEOUT_SECONDS``).
    """
    path = topology_path or data_dir / "landscape.yaml"
    topology = load_topology(path)
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    components = {
        name: ComponentProcess(name, topology.base_url(name), data_dir, path, environment)
        for name in names
    }
    landscape = ProcessLandscape(data_dir, topology, components)
    try:
        for component in components.values():
            component.start(wait=False)
        for component in components.values():
            component.wait_healthy()
        yield landscape
    finally:
        # All at once, with one deadline: a component that hangs costs one grace period, not
        # one per component.
        terminate(
            [group for component in components.values() for group in component._groups()],
            grace_period=15.0,
        )
