"""The supervisor of `noots up`: start, health, run file, deaths, stop — with stand-in servers
(a few lines of standard-library Python answering /health), so it runs in seconds. The real
components are started in tests/e2e."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from noots.cli import app
from noots.errors import ConfigurationError
from noots.supervisor import (
    RUN_FILE,
    ComponentExit,
    RunInfo,
    RunningComponent,
    Supervisor,
    demo_urls,
    log_tail,
    pid_alive,
    read_run_file,
    running_landscape,
)
from noots.testing.up import write_landscape
from noots.topology import load_topology

KBA = "991-01234ZFZR-41"
BPA = "08118079-BPA-87"

# Stands in for `python -m noots serve NAME --data-dir D --topology T ...`: serves /health on the
# component's port of the topology (200, or 503 when NAME is in $STANDIN_SICK) until SIGTERM
# (which it ignores, as a hung component would, when NAME is in $STANDIN_STUBBORN).
STANDIN = textwrap.dedent(
    """
    import http.server, os, signal, sys, yaml
    name = sys.argv[sys.argv.index("serve") + 1]
    if name in os.environ.get("STANDIN_FAIL", "").split(","):
        print(f"boom: {name} cannot start", flush=True)
        sys.exit(3)
    topology = yaml.safe_load(open(sys.argv[sys.argv.index("--topology") + 1]))
    if name in ("platform", "ida", "dashboard"):
        port = topology[name]["port"]
    elif name.endswith(".sak"):
        port = next(p["sak"]["port"] for s in ("registers", "consumers") for p in topology[s]
                    if p["participant_id"] + ".sak" == name)
    else:
        port = next(p["port"] for s in ("registers", "consumers") for p in topology[s]
                    if p["participant_id"] == name)
    sick = name in os.environ.get("STANDIN_SICK", "").split(",")

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(503 if sick else 200)
            self.end_headers()
            self.wfile.write(b'{"status": "ok"}')
        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", port), Health)
    stubborn = name in os.environ.get("STANDIN_STUBBORN", "").split(",")
    signal.signal(signal.SIGTERM, signal.SIG_IGN if stubborn else lambda *a: sys.exit(0))
    print(f"{name} listening on {port}", flush=True)
    server.serve_forever()
    """
)


@pytest.fixture
def standin(tmp_path: Path) -> Path:
    """An executable that behaves like `python` for the supervisor's command line."""
    script = tmp_path / "standin.py"
    script.write_text(STANDIN)
    wrapper = tmp_path / "python"
    wrapper.write_text(f'#!/bin/sh\nshift 2\nexec {sys.executable} {script} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


@pytest.fixture
def topology(tmp_path: Path) -> Path:
    return write_landscape(tmp_path / "landscape.yaml", keep={KBA, BPA})


def supervisor(tmp_path: Path, topology: Path, standin: Path, **options: object) -> Supervisor:
    return Supervisor(
        tmp_path / "data",
        topology,
        python=str(standin),
        start_timeout=float(options.pop("start_timeout", 30.0)),  # type: ignore[arg-type]
        grace_period=float(options.pop("grace_period", 5.0)),  # type: ignore[arg-type]
    )


def test_start_waits_for_health_and_writes_the_run_file(
    tmp_path: Path, topology: Path, standin: Path
) -> None:
    """Every component started, healthy, in the run file with its pid and URL; stop removes
    the processes and the file."""
    with supervisor(tmp_path, topology, standin) as sup:
        info = sup.start()
        assert [c.name for c in info.components] == [c.name for c in sup.components]
        assert all(pid_alive(c.pid) for c in info.components)
        found = running_landscape(tmp_path / "data")
        assert found == info
        assert found.component(KBA).url == load_topology(topology).base_url(KBA)
        pids = [c.pid for c in info.components]
    assert not any(pid_alive(pid) for pid in pids)
    assert not (tmp_path / "data" / "run" / RUN_FILE).exists()
    assert running_landscape(tmp_path / "data") is None


def test_component_that_exits_at_start_is_named_with_its_log(
    tmp_path: Path, topology: Path, standin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A component that exits before it is healthy fails the start with its name, exit code and
    the end of its log; nothing stays running."""
    monkeypatch.setenv("STANDIN_FAIL", KBA)
    sup = supervisor(tmp_path, topology, standin)
    with pytest.raises(ConfigurationError) as failed:
        sup.start()
    message = failed.value.message
    assert f"{KBA} did not start" in message
    assert "exited with code 3" in message
    assert f"boom: {KBA} cannot start" in message
    sup.stop()
    assert not [c for c in sup.children if c.process.poll() is None]


def test_unhealthy_component_times_out_with_what_it_said(
    tmp_path: Path, topology: Path, standin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A component that stays at 503 fails the start after the bound, naming it."""
    monkeypatch.setenv("STANDIN_SICK", BPA)
    sup = supervisor(tmp_path, topology, standin, start_timeout=3.0)
    try:
        with pytest.raises(ConfigurationError, match=rf"{BPA}: HTTP 503"):
            sup.start()
    finally:
        sup.stop()


def test_a_death_is_reported_once(tmp_path: Path, topology: Path, standin: Path) -> None:
    """poll() reports a component that died (and how), once; the others keep running."""
    with supervisor(tmp_path, topology, standin) as sup:
        info = sup.start()
        os.kill(info.component(KBA).pid, signal.SIGKILL)
        sup.children[[c.component.name for c in sup.children].index(KBA)].process.wait()
        exits = sup.poll()
        assert [(e.component.name, e.reason) for e in exits] == [(KBA, "killed by SIGKILL")]
        assert sup.poll() == []
        assert pid_alive(info.component(BPA).pid)
        assert sup.exited == [KBA]


def test_stop_kills_a_component_that_ignores_sigterm(
    tmp_path: Path, topology: Path, standin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A component that ignores SIGTERM is killed after the grace period; stop reports no
    survivor and removes the run file."""
    monkeypatch.setenv("STANDIN_STUBBORN", KBA)
    sup = supervisor(tmp_path, topology, standin, grace_period=0.5)
    try:
        info = sup.start()
        kba = next(c.process for c in sup.children if c.component.name == KBA)
        assert sup.stop() == []
        assert not any(pid_alive(c.pid) for c in info.components)
        assert kba.returncode == -signal.SIGKILL
        assert not (tmp_path / "data" / "run" / RUN_FILE).exists()
    finally:
        sup.stop()


def test_hurry_ends_the_grace_period_at_once(
    tmp_path: Path, topology: Path, standin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the hurry event set (what a second Ctrl-C does) a component that ignores SIGTERM
    is killed without waiting out a grace period of an hour."""
    monkeypatch.setenv("STANDIN_STUBBORN", KBA)
    sup = supervisor(tmp_path, topology, standin, grace_period=3600.0)
    hurry = threading.Event()
    hurry.set()
    try:
        info = sup.start()
        assert sup.stop(hurry) == []
        assert not any(pid_alive(c.pid) for c in info.components)
    finally:
        sup.grace_period = 0.0
        sup.stop()


def test_refuses_to_start_twice_for_one_data_dir(
    tmp_path: Path, topology: Path, standin: Path
) -> None:
    """A second `noots up` for a data dir with a live landscape is refused, naming the pid."""
    with supervisor(tmp_path, topology, standin) as first:
        first.start()
        second = supervisor(tmp_path, topology, standin)
        with pytest.raises(ConfigurationError, match=f"already runs.*pid {os.getpid()}"):
            second.check_free()


def test_refuses_ports_in_use(tmp_path: Path, topology: Path, standin: Path) -> None:
    """A port of the topology that something else holds is named before anything starts."""
    port = load_topology(topology).register(KBA).port
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        sup = supervisor(tmp_path, topology, standin)
        with pytest.raises(ConfigurationError, match=rf"127.0.0.1:{port} \({KBA}\)"):
            sup.check_free()
        assert sup.children == []


def test_stale_run_file_is_ignored(tmp_path: Path) -> None:
    """A run file whose supervisor is gone (killed) does not count as a running landscape."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    run = tmp_path / "run"
    run.mkdir()
    info = RunInfo(gone.pid, str(tmp_path), "t.yaml", False, "now", ())
    (run / RUN_FILE).write_text(info.to_json())
    assert running_landscape(tmp_path) is None


def test_run_info_round_trip() -> None:
    """The run file reads back to what was written."""
    info = RunInfo(
        supervisor_pid=1,
        data_dir="/d",
        topology="/t.yaml",
        tls=True,
        started_at="2026-11-22T09:00:00+00:00",
        components=(RunningComponent("ida", "ida", "noots-ida", "IDA", "https://x:1", 2, "/l"),),
        demo_urls={"Datenschutzcockpit": "https://x:0/dsc/"},
        trace_url="https://x:3/events/v1",
    )
    assert RunInfo.from_json(info.to_json()) == info
    assert json.loads(info.to_json())["components"][0]["participant_id"] == "noots-ida"


def test_demo_urls_point_to_the_browser_pages() -> None:
    """Every online service, the DSC page and the dashboard, with the scheme TLS asks for."""
    from noots.components import landscape_components

    topology = load_topology()
    urls = demo_urls(topology, landscape_components(topology, dashboard=True), tls=True)
    for consumer in topology.consumers:
        assert urls[consumer.name] == topology.base_url(consumer.participant_id, tls=True) + "/"
    assert urls["Datenschutzcockpit"] == topology.base_url("platform", tls=True) + "/dsc/"
    assert urls["Dashboard"] == topology.base_url("dashboard", tls=True) + "/"


def test_exit_reasons_and_log_tail(tmp_path: Path) -> None:
    """Exit codes and signals read as a person would say them; the log tail is the end."""
    from noots.components import Component

    component = Component("ida", "ida", "noots-ida", "IDA", "127.0.0.1", 1)
    assert ComponentExit(component, 1, tmp_path).reason == "exited with code 1"
    assert ComponentExit(component, -15, tmp_path).reason == "killed by SIGTERM"
    log = tmp_path / "x.log"
    log.write_text("\n".join(f"line {i}" for i in range(40)))
    assert log_tail(log, 3) == "line 37\nline 38\nline 39"
    assert log_tail(tmp_path / "missing.log") == "(no log)"


# -- noots up's Ctrl-C and noots down (noots/cli/_up.py), with stand-ins ---------------------

# What `noots up` does after it has started the landscape, with the stand-in components:
# argv: data dir, topology, stand-in "python", grace period.
DRIVER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from rich.console import Console
    from noots.cli._up import supervise
    from noots.supervisor import Supervisor

    data_dir, topology, python, grace = sys.argv[1:5]
    sup = Supervisor(Path(data_dir), Path(topology), python=python, grace_period=float(grace))
    sup.start()
    print("landscape up", flush=True)
    sys.exit(supervise(Console(), sup))
    """
)


@dataclass
class Driver:
    process: subprocess.Popen[bytes]
    output: Path
    data_dir: Path

    def text(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, needle: str) -> None:
        deadline = time.monotonic() + 60
        while needle not in self.text():
            assert self.process.poll() is None, self.text()
            assert time.monotonic() < deadline, self.text()
            time.sleep(0.05)

    @property
    def info(self) -> RunInfo:
        info = read_run_file(self.data_dir)
        assert info is not None
        return info


@pytest.fixture
def driver(
    tmp_path: Path, topology: Path, standin: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[float], Driver]]:
    """Starts the driver (KBA ignores SIGTERM); kills it and its components at the end."""
    monkeypatch.setenv("STANDIN_STUBBORN", KBA)
    started: list[Driver] = []
    pids: list[int] = []

    def start(grace: float) -> Driver:
        output = tmp_path / f"driver-{len(started)}.log"
        with output.open("wb") as out:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    DRIVER,
                    str(tmp_path / "data"),
                    str(topology),
                    str(standin),
                    str(grace),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append(Driver(process, output, tmp_path / "data"))
        started[-1].wait_for("landscape up")
        pids.extend(c.pid for c in started[-1].info.components)
        return started[-1]

    yield start
    for each in started:
        each.process.kill()
        each.process.wait(timeout=30)
    for pid in pids:
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


def wait_gone(pids: list[int]) -> list[int]:
    """The pids still alive after a generous deadline."""
    deadline = time.monotonic() + 60
    while any(pid_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [pid for pid in pids if pid_alive(pid)]


def test_ctrl_c_stops_a_landscape_with_a_component_that_ignores_sigterm(
    driver: Callable[[float], Driver],
) -> None:
    """SIGINT to `noots up`: the component that ignores SIGTERM is killed after the grace
    period, `noots up` exits 0 and removes the run file."""
    up = driver(0.5)
    pids = [c.pid for c in up.info.components]
    up.process.send_signal(signal.SIGINT)
    assert up.process.wait(timeout=60) == 0, up.text()
    assert wait_gone(pids) == []
    assert "stopped" in up.text()
    assert read_run_file(up.data_dir) is None


def test_second_ctrl_c_kills_at_once(driver: Callable[[float], Driver]) -> None:
    """A second SIGINT while `noots up` waits out a grace period of an hour for a component
    that ignores SIGTERM kills it now."""
    up = driver(3600.0)
    pids = [c.pid for c in up.info.components]
    up.process.send_signal(signal.SIGINT)
    up.wait_for("Ctrl-C again kills at once")
    up.process.send_signal(signal.SIGINT)
    assert up.process.wait(timeout=60) == 0, up.text()
    assert wait_gone(pids) == []


def test_down_kills_a_supervisor_that_does_not_stop(driver: Callable[[float], Driver]) -> None:
    """`noots down` against a `noots up` that does not react (stopped): after --timeout it
    kills it and stops its components itself, the one that ignores SIGTERM included; exit 0."""
    up = driver(0.5)
    pids = [c.pid for c in up.info.components]
    os.kill(up.process.pid, signal.SIGSTOP)
    result = CliRunner().invoke(app, ["down", "--data-dir", str(up.data_dir), "--timeout", "1"])
    assert result.exit_code == 0, result.output
    assert "did not stop in 1 s" in result.output
    assert up.process.wait(timeout=60) == -signal.SIGKILL
    assert wait_gone(pids) == []
    assert read_run_file(up.data_dir) is None


def test_down_stops_what_a_killed_supervisor_left_running(
    driver: Callable[[float], Driver],
) -> None:
    """`noots up` killed with SIGKILL leaves a component that ignores SIGTERM: `noots down`
    finds it through the run file, kills it and removes the file; exit 0."""
    up = driver(0.5)
    kba = up.info.component(KBA).pid
    up.process.kill()
    up.process.wait(timeout=60)
    assert pid_alive(kba)
    result = CliRunner().invoke(app, ["down", "--data-dir", str(up.data_dir)])
    assert result.exit_code == 0, result.output
    assert KBA in result.output
    assert wait_gone([kba]) == []
    assert read_run_file(up.data_dir) is None


def test_a_component_left_to_the_user_is_not_started(
    tmp_path: Path, topology: Path, standin: Path
) -> None:
    """--without KBA: every other component runs, the KBA is not started nor in the run file."""
    sup = Supervisor(tmp_path / "data", topology, python=str(standin), without=[KBA])
    assert KBA not in [c.name for c in sup.components]
    with sup:
        info = sup.start()
        assert KBA not in [c.name for c in info.components]
        assert f"{KBA}.sak" in [c.name for c in info.components]


def test_leaving_out_an_unknown_component_is_refused(tmp_path: Path, topology: Path) -> None:
    """--without names only components of the landscape."""
    with pytest.raises(ConfigurationError, match="no component"):
        Supervisor(tmp_path / "data", topology, without=["nobody"])
