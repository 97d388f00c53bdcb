"""``noots up``: start every component of a landscape as its own process and look after them.

:class:`Supervisor` bootstraps the data directory (PKI, population), starts one
``noots serve <component>`` process per component (each in its own process group, its output
in ``<data_dir>/run/<component>.log``), waits until every ``/health`` answers 200, and writes
``<data_dir>/run/landscape.json`` (:class:`RunInfo`) so that ``noots demo``, ``noots fetch``
and ``noots status`` find the running landscape. A component that exits is reported with the
end of its log; the others keep running (the supervisor does not restart anything: a register
that is down is a situation worth seeing). :meth:`Supervisor.stop` ends every process and
removes the run file.

Stopping always completes, in bounded time (:func:`shutdown_bound`): SIGTERM to every
component, up to a grace period for them to end (a second SIGINT/SIGTERM ends it at once),
SIGKILL to every component still running, and at most :data:`KILL_TIMEOUT` for the killed ones
to be gone. A component that hangs or ignores SIGTERM never holds the landscape. ``noots down``
uses the same steps (:func:`stop_leftovers`) on the components of a supervisor that does not
stop, or that was killed and left them behind.

Each child watches its supervisor: if ``noots up`` itself is killed, the children stop by
themselves (SIGTERM, then SIGKILL after the grace period) instead of holding the ports.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from noots.components import Component, landscape_components
from noots.errors import ConfigurationError
from noots.topology import Topology

__all__ = [
    "DEFAULT_PEOPLE",
    "DEFAULT_SEED",
    "GRACE_PERIOD",
    "KILL_TIMEOUT",
    "RUN_FILE",
    "ComponentExit",
    "ProcessGroup",
    "RunInfo",
    "RunningComponent",
    "Supervisor",
    "component_process_alive",
    "demo_urls",
    "log_tail",
    "pid_alive",
    "read_run_file",
    "run_dir",
    "running_landscape",
    "shutdown_bound",
    "signals_hurry",
    "signals_ignored",
    "signals_raise_interrupt",
    "stop_leftovers",
    "terminate",
]

RUN_FILE = "landscape.json"
DEFAULT_PEOPLE = 10_000
DEFAULT_SEED = 20261122
#: How long every component together may take to become healthy.
START_TIMEOUT = 120.0
#: How long the components get to stop after SIGTERM before they are killed (seconds). Their
#: own graceful shutdown gives open requests 5 s (noots.landscape.server), so a healthy
#: component is gone well before this.
GRACE_PERIOD = 10.0
#: How long killed (SIGKILL) processes may take to be gone before stopping gives up on them.
KILL_TIMEOUT = 5.0
#: How often a stop looks whether the processes have ended.
_POLL_SECONDS = 0.05


def shutdown_bound(grace_period: float) -> float:
    """The longest a stop with this grace period takes: grace, then the kill and its reaping."""
    return grace_period + KILL_TIMEOUT


def run_dir(data_dir: Path) -> Path:
    return data_dir / "run"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (and is not a zombie of ours)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


@dataclass(frozen=True)
class RunningComponent:
    name: str
    kind: str
    participant_id: str
    title: str
    url: str
    pid: int
    log: str


@dataclass(frozen=True)
class RunInfo:
    """The contents of ``<data_dir>/run/landscape.json``."""

    supervisor_pid: int
    data_dir: str
    topology: str
    tls: bool
    started_at: str
    components: tuple[RunningComponent, ...]
    demo_urls: dict[str, str] = field(default_factory=dict)
    admin_token_file: str | None = None
    #: The dashboard's event collector the components report their hops to, if any.
    trace_url: str | None = None
    #: Seconds the components get after SIGTERM before SIGKILL (``noots up --grace-period``).
    grace_period: float = GRACE_PERIOD

    def component(self, name: str) -> RunningComponent:
        for component in self.components:
            if component.name == name:
                return component
        raise KeyError(name)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> RunInfo:
        data: dict[str, Any] = json.loads(text)
        data["components"] = tuple(RunningComponent(**c) for c in data["components"])
        return cls(**data)


def read_run_file(data_dir: Path) -> RunInfo | None:
    """What ``<data_dir>/run/landscape.json`` says, whether its supervisor still lives or not."""
    path = run_dir(data_dir) / RUN_FILE
    try:
        return RunInfo.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def running_landscape(data_dir: Path) -> RunInfo | None:
    """The landscape running for ``data_dir``, if its supervisor is alive."""
    info = read_run_file(data_dir)
    return info if info is not None and pid_alive(info.supervisor_pid) else None


def demo_urls(topology: Topology, components: list[Component], *, tls: bool) -> dict[str, str]:
    """Where a person points the browser: the online services, the DSC, the dashboard."""
    urls: dict[str, str] = {}
    for component in components:
        if component.kind == "consumer":
            urls[component.title] = component.url(tls=tls) + "/"
    platform = next(c for c in components if c.kind == "platform")
    urls["Datenschutzcockpit"] = platform.url(tls=tls) + "/dsc/"
    urls["Plattform-API (OpenAPI)"] = platform.url(tls=tls) + "/docs"
    for component in components:
        if component.kind == "dashboard":
            urls["Dashboard"] = component.url(tls=tls) + "/"
    return urls


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.rstrip().splitlines()[-lines:]) or "(empty log)"


@dataclass(frozen=True)
class ComponentExit:
    """A component process that ended while it should have been running."""

    component: Component
    returncode: int
    log: Path

    @property
    def reason(self) -> str:
        if self.returncode < 0:
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(-self.returncode).name}"
        return f"exited with code {self.returncode}"


@dataclass
class _Child:
    component: Component
    process: subprocess.Popen[bytes]
    log: Path
    reported: bool = False


class Supervisor:
    """Starts, watches and stops the processes of one landscape (see the module docstring)."""

    def __init__(
        self,
        data_dir: Path,
        topology_path: Path,
        *,
        tls: bool = False,
        start_timeout: float = START_TIMEOUT,
        grace_period: float = GRACE_PERIOD,
        log_level: str = "INFO",
        python: str = sys.executable,
        without: Collection[str] = (),
    ) -> None:
        from noots.topology import load_topology

        self.data_dir = data_dir.resolve()
        self.topology_path = topology_path.resolve()
        self.topology = load_topology(self.topology_path)
        self.tls = tls
        self.start_timeout = start_timeout
        self.grace_period = grace_period
        self.log_level = log_level
        self.python = python
        every = landscape_components(self.topology)
        unknown = sorted(set(without) - {c.name for c in every})
        if unknown:
            raise ConfigurationError(
                f"--without names no component of this landscape: {', '.join(unknown)}"
            )
        #: What runs: every component but those the user runs themselves (their own register
        #: in place of the mock, listening where the topology says).
        self.components = [c for c in every if c.name not in set(without)]
        self.without = tuple(without)
        self.children: list[_Child] = []
        self.info: RunInfo | None = None

    @property
    def run_dir(self) -> Path:
        return run_dir(self.data_dir)

    @property
    def run_file(self) -> Path:
        return self.run_dir / RUN_FILE

    # -- start ------------------------------------------------------------------------------

    def check_free(self) -> None:
        """Refuse to start over a running landscape or on ports that are taken."""
        running = running_landscape(self.data_dir)
        if running is not None:
            raise ConfigurationError(
                f"a landscape already runs for {self.data_dir} (noots up, pid "
                f"{running.supervisor_pid}); stop it with Ctrl-C there or `noots down`"
            )
        self.run_file.unlink(missing_ok=True)  # left behind by a supervisor that was killed
        taken = [c for c in self.components if not _port_free(c.host, c.port)]
        if taken:
            names = ", ".join(f"{c.host}:{c.port} ({c.name})" for c in taken)
            raise ConfigurationError(
                f"address already in use: {names}. Another landscape or program listens there; "
                "stop it, or start with another --topology"
            )

    def start(self, on_progress: Callable[[str, int, int], None] | None = None) -> RunInfo:
        """Start every component and wait until all are healthy; raises ConfigurationError
        (naming the component and quoting its log) if one exits or stays unhealthy."""
        self.check_free()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        env = self._child_env()
        for component in self.components:
            self.children.append(self._spawn(component, env))
        self._wait_healthy(on_progress)
        self.info = RunInfo(
            supervisor_pid=os.getpid(),
            data_dir=str(self.data_dir),
            topology=str(self.topology_path),
            tls=self.tls,
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            components=tuple(
                RunningComponent(
                    c.component.name,
                    c.component.kind,
                    c.component.participant_id,
                    c.component.title,
                    c.component.url(tls=self.tls),
                    c.process.pid,
                    str(c.log),
                )
                for c in self.children
            ),
            demo_urls=demo_urls(self.topology, self.components, tls=self.tls),
            admin_token_file=str(self.run_dir / "admin-token"),
            trace_url=env.get("NOOTS_TRACE_URL"),
            grace_period=self.grace_period,
        )
        tmp = self.run_file.with_suffix(".tmp")
        tmp.write_text(self.info.to_json(), encoding="utf-8")
        os.replace(tmp, self.run_file)
        return self.info

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        env["NOOTS_LOG_LEVEL"] = self.log_level
        token = env.get("NOOTS_ADMIN_TOKEN") or secrets.token_urlsafe(24)
        env["NOOTS_ADMIN_TOKEN"] = token
        dashboard = next((c for c in self.components if c.kind == "dashboard"), None)
        if dashboard is not None and "NOOTS_TRACE_URL" not in env:
            env["NOOTS_TRACE_URL"] = dashboard.url(tls=self.tls) + "/events/v1"
        for component in self.components:
            if component.kind == "dashboard":  # every component reports its hops there
                env.setdefault("NOOTS_TRACE_URL", component.url(tls=self.tls) + "/events/v1")
        token_file = self.run_dir / "admin-token"
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(token + "\n")
        return env

    def _spawn(self, component: Component, env: dict[str, str]) -> _Child:
        log = self.run_dir / f"{component.name}.log"
        command = [
            self.python,
            "-m",
            "noots",
            "serve",
            component.name,
            "--data-dir",
            str(self.data_dir),
            "--topology",
            str(self.topology_path),
            "--supervisor-pid",
            str(os.getpid()),
            "--grace-period",
            f"{self.grace_period:g}",
        ]
        if self.tls:
            command.append("--tls")
        with open(log, "ab") as out:
            out.write(f"--- {datetime.now(UTC).isoformat(timespec='seconds')} start\n".encode())
            out.flush()
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # Ctrl-C reaches the supervisor only; it stops them
            )
        return _Child(component, process, log)

    def _wait_healthy(self, on_progress: Callable[[str, int, int], None] | None) -> None:
        deadline = time.monotonic() + self.start_timeout
        pending = {c.component.name: c for c in self.children}
        last: dict[str, str] = {}
        total = len(self.children)
        with self.health_client() as client:
            while pending:
                for name, child in list(pending.items()):
                    code = child.process.poll()
                    if code is not None:
                        child.reported = True
                        exit_ = ComponentExit(child.component, code, child.log)
                        raise ConfigurationError(
                            f"{name} did not start: it {exit_.reason}. End of {child.log}:\n"
                            + log_tail(child.log)
                        )
                    status = _probe(client, child.component.url(tls=self.tls) + "/health")
                    if status == "healthy":
                        del pending[name]
                        if on_progress is not None:
                            on_progress(name, total - len(pending), total)
                    else:
                        last[name] = status
                if not pending:
                    break
                if time.monotonic() > deadline:
                    waiting = "; ".join(f"{n}: {last.get(n, 'no answer')}" for n in pending)
                    raise ConfigurationError(
                        f"not healthy after {self.start_timeout:g} s: {waiting}. "
                        f"Logs: {self.run_dir}"
                    )
                time.sleep(0.2)

    def health_client(self) -> Any:
        """An HTTP client for the components' ``/health``; with TLS it shows the simulator's
        certificate (registers accept no connection without one)."""
        import httpx

        verify: Any = True
        if self.tls:
            from noots.tls import TlsFiles, client_context

            files = TlsFiles.for_participant(
                self.data_dir / "pki", self.topology.platform.simulator_id
            )
            verify = client_context(files)
        return httpx.Client(timeout=3.0, verify=verify, trust_env=False)

    # -- run --------------------------------------------------------------------------------

    def poll(self) -> list[ComponentExit]:
        """Components that ended since the last call (each reported once)."""
        exits = []
        for child in self.children:
            code = child.process.poll()
            if code is not None and not child.reported:
                child.reported = True
                exits.append(ComponentExit(child.component, code, child.log))
        return exits

    @property
    def exited(self) -> list[str]:
        return [c.component.name for c in self.children if c.process.poll() is not None]

    # -- stop -------------------------------------------------------------------------------

    def stop(self, hurry: threading.Event | None = None) -> list[str]:
        """Stop every component (online services first) within :func:`shutdown_bound`, then
        remove the run file; the names of components that could not be ended (normally none).

        SIGTERM to each, up to the grace period for them to end, SIGKILL to the rest. On the
        main thread a SIGINT or SIGTERM while it waits ends the grace period at once (a second
        Ctrl-C kills), as does ``hurry`` being set. Safe to call more than once.
        """
        children = [c for c in reversed(self.children) if c.process.poll() is None]
        groups = [
            ProcessGroup(c.process.pid, c.component.name, _popen_alive(c.process)) for c in children
        ]
        with signals_hurry(hurry) as hurried:
            survivors = terminate(groups, grace_period=self.grace_period, hurry=hurried)
        if self.info is not None or self.children:
            self.run_file.unlink(missing_ok=True)
        self.children = [c for c in self.children if c.process.poll() is None]
        return [group.name for group in survivors]

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class ProcessGroup:
    """A process that leads its own process group (a component: ``start_new_session``)."""

    pid: int
    name: str
    #: Whether the leader still runs (for a child of ours, this also reaps it).
    alive: Callable[[], bool]


def _popen_alive(process: subprocess.Popen[bytes]) -> Callable[[], bool]:
    # poll() never blocks (it only tries the Popen's wait lock), unlike wait() without timeout.
    return lambda: process.poll() is None


def terminate(
    groups: Sequence[ProcessGroup],
    *,
    grace_period: float,
    hurry: threading.Event | None = None,
) -> list[ProcessGroup]:
    """SIGTERM to every group, up to ``grace_period`` for all to end (less once ``hurry`` is
    set), SIGKILL to every group still running, up to :data:`KILL_TIMEOUT` for those to be gone.

    Returns the groups whose leader is still alive after all that (normally none: only a
    process stuck in the kernel outlives SIGKILL). Never takes longer than
    :func:`shutdown_bound` (plus one poll); nothing here waits without a deadline.
    """
    running = [g for g in groups if g.alive()]
    _signal_groups(running, signal.SIGTERM)
    running = _wait_gone(running, time.monotonic() + grace_period, hurry)
    if not running:
        return []
    _signal_groups(running, signal.SIGKILL)
    return _wait_gone(running, time.monotonic() + KILL_TIMEOUT, None)


def _signal_groups(groups: Sequence[ProcessGroup], sig: signal.Signals) -> None:
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group.pid, sig)


def _wait_gone(
    groups: list[ProcessGroup], deadline: float, hurry: threading.Event | None
) -> list[ProcessGroup]:
    while True:
        groups = [g for g in groups if g.alive()]
        if not groups or time.monotonic() >= deadline:
            return groups
        if hurry is not None and hurry.is_set():
            return groups
        time.sleep(_POLL_SECONDS)


def component_process_alive(info: RunInfo, component: RunningComponent) -> bool:
    """Whether ``component.pid`` is still that component of that landscape (and not an
    unrelated process that got its pid after it ended)."""
    if not pid_alive(component.pid):
        return False
    try:
        with open(f"/proc/{component.pid}/cmdline", "rb") as cmdline:
            argv = cmdline.read().decode("utf-8", errors="replace").split("\0")
    except OSError:
        return False
    try:
        at = argv.index("serve")
        return argv[at + 1] == component.name and argv[argv.index("--data-dir") + 1] == str(
            info.data_dir
        )
    except (ValueError, IndexError):
        return False


def stop_leftovers(info: RunInfo, hurry: threading.Event | None = None) -> list[str]:
    """Stop the components of a landscape whose supervisor is gone (killed, or killed by
    ``noots down`` because it did not stop), as :meth:`Supervisor.stop` would, and remove the
    run file; the names of components that could not be ended (normally none)."""
    groups = [
        ProcessGroup(c.pid, c.name, functools.partial(component_process_alive, info, c))
        for c in reversed(info.components)
    ]
    survivors = terminate(groups, grace_period=info.grace_period, hurry=hurry)
    if not pid_alive(info.supervisor_pid):
        (run_dir(Path(info.data_dir)) / RUN_FILE).unlink(missing_ok=True)
    return [group.name for group in survivors]


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _probe(client: Any, url: str) -> str:
    """``healthy``, or what the health endpoint said instead."""
    import httpx

    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        return f"no answer ({type(exc).__name__})"
    if response.status_code == 200:
        return "healthy"
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    problems = body.get("problems") or body.get("checks") if isinstance(body, dict) else None
    return f"HTTP {response.status_code} {problems or ''}".strip()


@contextlib.contextmanager
def signals_raise_interrupt() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C (KeyboardInterrupt) inside the block."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def signals_hurry(hurry: threading.Event | None = None) -> Iterator[threading.Event]:
    """Inside the block SIGINT and SIGTERM set the event instead of interrupting (so a stop in
    progress is never cut in half, but a second Ctrl-C can tell it to kill now). Off the main
    thread, where handlers cannot be installed, the event only reflects ``hurry``."""
    event = hurry if hurry is not None else threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield event
        return

    def hurry_up(_signum: int, _frame: object) -> None:
        event.set()

    previous = {sig: signal.signal(sig, hurry_up) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield event
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """SIGINT and SIGTERM are ignored inside the block (a bounded shutdown runs to its end)."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
