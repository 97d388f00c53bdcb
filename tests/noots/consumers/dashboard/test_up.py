"""The dashboard in a real `noots up --tls`: every component a process of its own, the hops
reported over HTTPS to the dashboard's collector."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from noots.testing.dashboard import operator_login, operator_token
from noots.testing.up import noots_up, write_landscape
from noots.tls import TlsFiles, client_context
from tests.noots.consumers.dashboard.conftest import ERIKA, KBA, MELDE_KORNTAL

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BPA = "08118079-BPA-87"


def run(client: httpx.Client, url: str) -> dict[str, Any]:
    started = client.post(
        url + "/api/v1/runs", json={"pilot": "bewohnerparkausweis", "idnr": ERIKA}
    ).json()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state: dict[str, Any] = client.get(f"{url}/api/v1/runs/{started['runId']}").json()
        if state["state"] == "fertig":
            return state
        time.sleep(0.2)
    raise AssertionError("the pilot did not finish")


def events_of(client: httpx.Client, url: str, trace_id: str, *, wanted: int) -> list[Any]:
    """The flow events of one exchange, once ``wanted`` of them have arrived."""
    deadline = time.monotonic() + 20
    found: list[Any] = []
    while time.monotonic() < deadline:
        notices = client.get(url + "/events/v1", params={"after": 0}).json()["notices"]
        found = [
            n["data"] for n in notices if n["kind"] == "flow" and n["data"]["traceId"] == trace_id
        ]
        if len(found) >= wanted:
            return found
        time.sleep(0.2)
    return found


def answers_checked(client: httpx.Client, url: str) -> list[Any]:
    """The online service's SAK's checks of the answers of the KBA's SAK (sak←sak), once a
    refused one has arrived."""
    deadline = time.monotonic() + 20
    found: list[Any] = []
    while time.monotonic() < deadline:
        notices = client.get(url + "/events/v1", params={"after": 0}).json()["notices"]
        found = [
            n["data"]
            for n in notices
            if n["kind"] == "flow"
            and n["data"]["hop"] == "sak←sak"
            and n["data"]["component"] == f"{BPA}.sak"
        ]
        if any(not e["ok"] for e in found):
            return found
        time.sleep(0.2)
    return found


def test_noots_up_with_tls_traces_every_process_to_the_dashboard(tmp_path: Path) -> None:
    """A pilot through real processes: the SAKs' and the register's hops arrive, authenticated
    with the key `noots up` wrote; a fault turns them red; the operator logs in with the printed
    link."""
    topology = write_landscape(tmp_path / "landscape.yaml", keep={BPA, MELDE_KORNTAL, KBA})
    data_dir = tmp_path / "data"
    with noots_up(data_dir, topology, tls=True) as up:
        url = up.info.component("dashboard").url
        assert url.startswith("https://")
        up.output_with(f"{url}/login#token={operator_token(data_dir)}")  # one click
        verify = client_context(TlsFiles.for_participant(data_dir / "pki", "noots-simulator"))
        with httpx.Client(verify=verify, timeout=30) as client:
            client.headers.update(operator_login(client, url, operator_token(data_dir)))
            health = client.get(url + "/api/v1/health").json()["components"]
            every = ("platform", "ida", MELDE_KORNTAL, KBA, BPA, "dashboard")
            saks = tuple(f"{p}.sak" for p in (MELDE_KORNTAL, KBA, BPA))
            assert {c["name"]: c["status"] for c in health} == {
                name: "healthy" for name in (*every, *saks)
            }
            green = run(client, url)
            assert [r["state"] for r in green["results"]] == ["geliefert", "geliefert"]
            kfz = green["results"][1]["requestId"]
            components = {
                (e["hop"], e["component"]) for e in events_of(client, url, kfz, wanted=10)
            }
            assert {
                ("sak→sak", f"{BPA}.sak"),
                ("sak→sak", f"{KBA}.sak"),
                ("sak→dp", KBA),
                ("sak←sak", f"{BPA}.sak"),
            } <= components

            switched = client.put(url + f"/api/v1/faults/{KBA}", json={"fault": "wrong_binding"})
            assert switched.json()["choice"] == "wrong_binding"
            red = run(client, url)
            client.put(url + f"/api/v1/faults/{KBA}", json={"fault": None})
            refused = [
                [c["name"] for c in e["checks"] if not c["ok"]]
                for e in answers_checked(client, url)
                if not e["ok"]
            ]
    binding = "Signatur des SAK des Datenhalters, an die Anfrage gebunden"
    assert refused
    assert all(names == [binding] for names in refused)
    assert [r["state"] for r in red["results"]] == ["geliefert", "fehlgeschlagen"]
    assert up.returncode == 0
