"""bench/_load.py and bench/locustfile.py: the pilot mix against a served landscape."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from noots.testing.landscape import Landscape

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import _load  # noqa: E402 - bench/ is not a package

pytestmark = [pytest.mark.e2e]


@pytest.fixture(scope="module")
def services(landscape: Landscape) -> dict[str, _load.OnlineService]:
    return _load.online_services(landscape.data_dir, subjects=20)


def test_the_mix_has_each_pilot_with_citizens(services: dict[str, _load.OnlineService]) -> None:
    """Every pilot of the mix has an online service with its own key and citizens to serve."""
    assert set(services) == set(_load.PILOT_MIX)
    for name, service in services.items():
        assert service.subjects, name
        assert service.participant.participant_id == service.pilot.consumer


def test_every_pilot_delivers_both_evidences(services: dict[str, _load.OnlineService]) -> None:
    """One case of each pilot fetches both of its evidences, every answer verified."""
    with httpx.Client(timeout=30.0, trust_env=False) as client:
        session = _load.HttpxSession(client)
        for service in services.values():
            assert service.run(session) == 2


def test_a_refused_answer_fails_the_case(services: dict[str, _load.OnlineService]) -> None:
    """A case whose VS token is refused (a purpose outside the matrix) raises."""
    service = services["Elterngeld"]
    pilot = service.pilot
    refused = _load.OnlineService(
        service.participant,
        service.topology,
        _load.Pilot(pilot.name, pilot.consumer, "Werbung", pilot.steps, pilot.people),
        service.subjects,
        service.platform,
    )
    with (
        httpx.Client(timeout=30.0, trust_env=False) as client,
        pytest.raises(_load.FlowFailed, match="EDM:ERR:0002"),
    ):
        refused.run(_load.HttpxSession(client))


def test_locust_runs_the_mix_headless(landscape: Landscape, tmp_path: Path) -> None:
    """A few seconds of Locust with two users: cases succeed, none fail."""
    # Only look: importing locust here would monkey-patch this process (gevent) under the
    # landscape's server threads.
    if importlib.util.find_spec("locust") is None:
        pytest.skip("Locust is the optional extra [load]")
    csv = tmp_path / "run"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(BENCH / "locustfile.py"),
            "--headless",
            "-u",
            "2",
            "-r",
            "2",
            "-t",
            "6s",
            "--noots-data-dir",
            str(landscape.data_dir),
            "--csv",
            str(csv),
            "--exit-code-on-error",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    stats = (tmp_path / "run_stats.csv").read_text()
    cases = [line for line in stats.splitlines() if line.startswith("CASE,")]
    assert cases, stats
    for line in cases:
        fields = line.split(",")  # Type, Name, Request Count, Failure Count, ...
        assert int(fields[2]) > 0, line
        assert int(fields[3]) == 0, line
