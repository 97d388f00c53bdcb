"""`noots up` as a subprocess, plain HTTP, the whole default landscape on free ports: every
component healthy, evidence fetched over real sockets (library, `noots fetch`, `noots demo`),
a killed register reported and refused clearly, Ctrl-C stops everything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from noots.clock import SystemClock
from noots.components import landscape_components
from noots.consumers import Client, Endpoints, PersonQuery, RetryPolicy
from noots.errors import NootsError
from noots.participant import load_participant
from noots.supervisor import RUN_FILE, pid_alive
from noots.testing.dashboard import operator_login, operator_token
from noots.testing.up import UpProcess, noots_up, write_landscape
from noots.topology import Topology, load_topology
from tests.e2e.conftest import copy_data_dir

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BPA = "08118079-BPA-87"
KBA = "991-01234ZFZR-41"
MELDE = "08118079-MELD-12"
ERIKA = PersonQuery("Erika", "Mustermann", date(1964, 8, 12))


@pytest.fixture(scope="module")
def landscape(
    bootstrapped: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[UpProcess, Topology, Path]]:
    base = tmp_path_factory.mktemp("up-http")
    data_dir = copy_data_dir(bootstrapped, base / "data")
    topology_path = write_landscape(base / "landscape.yaml")
    with noots_up(data_dir, topology_path) as up:
        yield up, load_topology(topology_path), topology_path


def noots(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "noots", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(os.environ, COLUMNS="160", NO_COLOR="1"),
        check=False,
    )


def client(up: UpProcess, topology: Topology) -> Client:
    participant = load_participant(up.data_dir / "pki", BPA, clock=SystemClock())
    return Client(
        participant,
        Endpoints.from_topology(topology),
        topology,
        retry=RetryPolicy(max_attempts=1),
    )


def test_every_component_runs_and_is_healthy(
    landscape: tuple[UpProcess, Topology, Path],
) -> None:
    """The run file lists every component of the topology; each answers /health with 200."""
    up, topology, _path = landscape
    expected = [c.name for c in landscape_components(topology)]
    assert [c.name for c in up.info.components] == expected
    with httpx.Client(timeout=5, trust_env=False) as http:
        for component in up.info.components:
            assert pid_alive(component.pid), component.name
            assert http.get(component.url + "/health").status_code == 200, component.name
    output = up.output_with(f"{topology.base_url('platform')}/dsc/")
    assert "components healthy" in output


def test_status_reports_the_running_landscape(
    landscape: tuple[UpProcess, Topology, Path],
) -> None:
    """`noots status` finds the landscape through the run file and probes every component."""
    up, _topology, _path = landscape
    result = noots("status", "--data-dir", str(up.data_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("healthy") == len(up.info.components)


def test_evidence_through_the_running_landscape(
    landscape: tuple[UpProcess, Topology, Path],
) -> None:
    """The client library fetches a Meldebescheinigung over the landscape's real sockets,
    through the online service's SAK (a VS token across areas) and the register's SAK."""
    up, topology, _path = landscape
    with client(up, topology) as dc:
        result = dc.fetch_evidence(
            "Meldebescheinigung",
            purpose="Bewohnerparkausweis",
            idnr="02476291358",
            person=ERIKA,
            region="08118079",
        )
    assert result.provider == MELDE
    assert result.response_envelope_id is not None  # the SAKs' envelopes
    assert ("Person › Identifikationsnummer", "02476291358") in [
        (row.label, row.value) for row in result.rows()
    ]


def test_fetch_command_uses_the_landscape(landscape: tuple[UpProcess, Topology, Path]) -> None:
    """`noots fetch` (IDA look-up by basic data, then the KBA) works against it, finding its
    shifted ports through the run file alone (no --topology)."""
    up, _topology, _path = landscape
    result = noots(
        "fetch",
        "--data-dir",
        str(up.data_dir),
        "--evidence",
        "Fahrzeughalterauskunft",
        "--person",
        "Erika Mustermann 1964-08-12",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "LB-EM 1964" in result.stdout


def test_demo_plays_the_pilot_on_the_running_landscape(
    landscape: tuple[UpProcess, Topology, Path],
) -> None:
    """`noots demo` uses the running landscape, completes the pilot and leaves it running."""
    up, topology, _path = landscape
    result = noots("demo", "--data-dir", str(up.data_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Pilot completed" in result.stdout
    assert "Datenschutzcockpit" in result.stdout
    assert "Kraftfahrt-Bundesamt" in result.stdout
    assert f"{topology.base_url(BPA)}/" in result.stdout
    assert up.returncode is None
    assert all(pid_alive(c.pid) for c in up.info.components)
    dashboard = up.info.component("dashboard").url
    with httpx.Client(timeout=5, trust_env=False) as http:
        operator_login(http, dashboard, operator_token(up.data_dir))
        notices = http.get(dashboard + "/events/v1").json()["notices"]
    assert any(n["kind"] == "flow" for n in notices), "no hop reached the dashboard"


def test_killed_register_is_reported_and_refused_clearly(
    landscape: tuple[UpProcess, Topology, Path],
) -> None:
    """A register that dies is reported by `noots up` (the others keep running), and a request
    for its evidence is answered by the SAKs with EDM:ERR:0008 naming the register."""
    up, topology, _path = landscape
    kba = up.info.component(KBA)
    os.kill(kba.pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while "killed by SIGKILL" not in up.output():
        assert time.monotonic() < deadline, up.output()
        time.sleep(0.2)
    assert "keep running" in up.output()
    with client(up, topology) as dc, pytest.raises(NootsError) as refused:
        dc.fetch_evidence(
            "Fahrzeughalterauskunft",
            purpose="Bewohnerparkausweis",
            idnr="02476291358",
            person=ERIKA,
        )
    assert refused.value.code.value == "EDM:ERR:0008"
    assert KBA in refused.value.message
    assert "unreachable" in refused.value.message
    demo = noots("demo", "--data-dir", str(up.data_dir))
    assert demo.returncode == 2, demo.stdout + demo.stderr
    assert "The pilot failed" in demo.stdout
    assert KBA in demo.stdout
    status = noots("status", "--data-dir", str(up.data_dir))
    assert status.returncode == 2
    assert "exited" in status.stdout
    assert up.returncode is None
    assert pid_alive(up.info.component(MELDE).pid)


def test_ctrl_c_stops_every_component(landscape: tuple[UpProcess, Topology, Path]) -> None:
    """SIGINT stops all components and removes the run file; the exit code says one had died."""
    up, _topology, _path = landscape
    assert up.stop() == 3
    assert "stopped" in up.output()
    for component in up.info.components:
        assert not pid_alive(component.pid), component.name
    assert not (up.data_dir / "run" / RUN_FILE).exists()
