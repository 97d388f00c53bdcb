"""noots.testing.landscape: the landscape served on sockets and wired in-process."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import httpx
import pytest
import yaml

from noots.clock import SystemClock
from noots.consumers import AsyncClient, Endpoints, PersonQuery
from noots.participant import load_participant
from noots.testing import landscape
from noots.testing.landscape import Landscape, landscape_in_process, write_topology

pytestmark = pytest.mark.e2e


def test_write_topology_moves_every_component_to_a_free_port(tmp_path: Path) -> None:
    """The copied topology keeps the participants and gives each component its own new port."""
    path = write_topology(tmp_path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    ports = [data[s]["port"] for s in ("platform", "ida", "dashboard")]
    ports += [e["port"] for s in ("registers", "consumers") for e in data[s]]
    assert len(ports) == len(set(ports))
    assert 8400 not in ports
    assert data["consumers"][0]["participant_id"] == "08118079-BPA-87"


def test_served_landscape_answers_health_everywhere(landscape: Landscape) -> None:
    """Every served component answers /health with 200."""
    for address in landscape.apps:
        assert httpx.get(f"http://{address}/health", timeout=10).status_code == 200


async def test_in_process_landscape_delivers_evidence(landscape: Landscape) -> None:
    """The same apps wired through ASGI transports deliver a verified evidence, no sockets."""
    async with landscape_in_process(landscape.data_dir) as (wired, routes):
        consumer = wired.consumer("bewohnerparkausweis")
        participant = load_participant(wired.data_dir / "pki", consumer, clock=SystemClock())
        async with AsyncClient(
            participant, Endpoints.from_topology(wired.topology), wired.topology, transport=routes
        ) as client:
            result = await client.fetch_evidence(
                "Fahrzeughalterauskunft",
                person=PersonQuery("Erika", "Mustermann", date(1964, 8, 12)),
                purpose="Bewohnerparkausweis",
            )
    assert result.provider == "991-01234ZFZR-41"
    assert "LB-EM 1964" in [row.value for row in result.rows()]


def test_test_servers_get_ports_below_the_ephemeral_range(monkeypatch: pytest.MonkeyPatch) -> None:
    """free_port stays below the OS's ephemeral ports (where outgoing connections take theirs)
    and inside the band of this xdist worker; two workers' bands do not overlap."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    second = landscape._port_band()
    port = landscape.free_port()
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    first = landscape._port_band()
    assert port in second
    assert max(first) < min(second)
    assert max(second) < low
