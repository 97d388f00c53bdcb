"""The platform with the real registers (registers._service) and the real consumer client
(consumers.AsyncClient): in-process, on real uvicorn servers over loopback sockets, and with
the protocol logs in a real PostgreSQL server."""

from __future__ import annotations

import contextlib
import re
import shutil
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from consumers import AsyncClient, Endpoints, PersonQuery
from intermediary.app import create_app
from intermediary.settings import PlatformSettings
from noots.clock import ManualClock
from noots.errors import AuthorisationRefused
from noots.protocol import open_protocol_log
from noots.testing.asgi import RoutingTransport, running
from noots.testing.landscape import write_topology
from noots.testing.postgres import fresh_database
from noots.topology import Topology, load_topology
from registers._service import create_register_app
from registers.settings import RegisterSettings
from tests.intermediary.support import (
    CONSUMER,
    ELTERNGELD,
    ERIKA,
    HUB,
    KBA,
    LENA,
    MELDEREGISTER,
    PSTR,
    Consumer,
    Landscape,
    error_of,
)

REGISTERS = (MELDEREGISTER, KBA, PSTR, "05315000-MELD-47")
ADMIN = {"Authorization": "Bearer admin-secret"}


def person(citizen: tuple[Any, ...]) -> PersonQuery:
    return PersonQuery(citizen[2], citizen[1], citizen[3])


@dataclass
class InProcess:
    landscape: Landscape
    routes: RoutingTransport
    platform: httpx.AsyncClient
    logs: Any

    def client(self, consumer: str) -> AsyncClient:
        """The consumer library of ``consumer``, logging to where the landscape's logs are."""
        return AsyncClient(
            self.landscape.participant(consumer),
            Endpoints.from_topology(self.landscape.topology),
            self.landscape.topology,
            transport=self.routes,
            protocol_log=self.logs(consumer),
            sleep=_no_sleep,
        )


async def _no_sleep(_seconds: float) -> None:
    return None


@contextlib.asynccontextmanager
async def in_process(
    landscape: Landscape, database_url: str | None = None
) -> AsyncIterator[InProcess]:
    """Platform and registers wired through ASGI; every party logs to SQLite files under the
    data directory, or all of them to ``database_url``."""
    routes = RoutingTransport()
    opened: list[Any] = []

    def logs(party: str) -> Any:
        target = database_url or landscape.data_dir / "logs" / f"{party}.db"
        log = open_protocol_log(target, party=party, clock=landscape.clock)
        opened.append(log)
        return log

    platform = create_app(
        landscape.settings(database_url=database_url),
        transport=routes,
        clock=landscape.clock,
        topology=landscape.topology,
    )
    async with contextlib.AsyncExitStack() as stack:
        for pid in REGISTERS:
            register = create_register_app(
                RegisterSettings(
                    data_dir=landscape.data_dir, participant_id=pid, database_url=database_url
                ),
                clock=landscape.clock,
                topology=landscape.topology,
            )
            await stack.enter_async_context(register.router.lifespan_context(register))
            routes.add(landscape.host_port(pid), httpx.ASGITransport(app=register))
        client = await stack.enter_async_context(
            running(platform, base_url=landscape.topology.base_url("platform"))
        )
        routes.add(landscape.host_port("platform"), httpx.ASGITransport(app=platform))
        try:
            yield InProcess(landscape, routes, client, logs)
        finally:
            for log in opened:
                log.close()


async def dsc_transfers(platform: httpx.AsyncClient, idnr: str) -> list[dict[str, Any]]:
    login = await platform.post("/eid/v1/login", json={"idnr": idnr, "level": "hoch"})
    token = login.json()["token"]
    answer = await platform.get("/dsc/v1/transfers", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    transfers: list[dict[str, Any]] = answer.json()["transfers"]
    return transfers


async def exchange_for_two_citizens(world: InProcess) -> dict[str, set[str]]:
    """Erika: two transfers (one across areas, one inside Verkehr); Lena: one. Returns the
    request ids per IDNr as the consumer saw them."""
    seen: dict[str, set[str]] = {ERIKA[0]: set(), LENA[0]: set()}
    async with world.client(CONSUMER) as bpa, world.client(ELTERNGELD) as elterngeld:
        for evidence_type, region in (
            ("Meldebescheinigung", "08118079"),
            ("Fahrzeughalterauskunft", None),
        ):
            result = await bpa.fetch_evidence(
                evidence_type,
                purpose="Bewohnerparkausweis",
                idnr=ERIKA[0],
                person=person(ERIKA),
                region=region,
            )
            seen[ERIKA[0]].add(str(result.evidence.registry_object_id))
        result = await elterngeld.fetch_evidence(
            "Geburtsurkunde", purpose="Elterngeld", idnr=LENA[0], person=person(LENA)
        )
        seen[LENA[0]].add(str(result.evidence.registry_object_id))
    return seen


async def test_consumer_library_through_platform_to_real_registers(landscape: Landscape) -> None:
    """The real DC client fetches three evidences through RDN, VS and hub from the real
    registers; the DSC shows each citizen exactly their transfers, each logged by consumer,
    hub and register; a transfer the VS refuses never reaches the hub."""
    async with in_process(landscape) as world:
        await exchange_for_two_citizens(world)
        async with world.client(CONSUMER) as bpa:
            with pytest.raises(AuthorisationRefused):
                await bpa.fetch_evidence(
                    "Geburtsurkunde",
                    purpose="Bewohnerparkausweis",
                    idnr=ERIKA[0],
                    person=person(ERIKA),
                )
        erika = await dsc_transfers(world.platform, ERIKA[0])
        lena = await dsc_transfers(world.platform, LENA[0])
    assert sorted((t["provider"]["participantId"], t["outcome"]) for t in erika) == [
        (MELDEREGISTER, "delivered"),
        (KBA, "delivered"),
        (PSTR, "refused:EDM:ERR:0002"),  # the consumer logged the attempt the VS refused
    ]
    assert [(t["consumer"]["participantId"], t["provider"]["participantId"]) for t in lena] == [
        (ELTERNGELD, PSTR)
    ]
    [refused] = [t for t in erika if t["provider"]["participantId"] == PSTR]
    assert {r["party"] for r in refused["records"]} == {CONSUMER}
    delivered = [t for t in [*erika, *lena] if t["outcome"] == "delivered"]
    assert len(delivered) == 3
    for transfer in delivered:
        parties = {r["party"] for r in transfer["records"]}
        assert parties == {
            transfer["consumer"]["participantId"],
            HUB,
            transfer["provider"]["participantId"],
        }
    hub_log = open_protocol_log(
        landscape.data_dir / "logs" / f"{HUB}.db", party=HUB, clock=landscape.clock
    )
    with hub_log:
        assert [e.provider for e in hub_log.entries()].count(
            PSTR
        ) == 1  # the refused one never came
        assert hub_log.verify() == 3


@pytest.mark.postgres
async def test_postgresql_protocol_storage_for_hub_registers_and_dsc(
    landscape: Landscape, postgres_url: str
) -> None:
    """All parties log to one real PostgreSQL database: the hub's entries are there with an
    intact chain, and the DSC reads each citizen's own transfers from it."""
    database = fresh_database(postgres_url)
    async with in_process(landscape, database_url=database) as world:
        await exchange_for_two_citizens(world)
        erika = await dsc_transfers(world.platform, ERIKA[0])
        lena = await dsc_transfers(world.platform, LENA[0])
    assert len(erika) == 2
    assert len(lena) == 1
    assert {r["party"] for r in lena[0]["records"]} == {ELTERNGELD, HUB, PSTR}
    assert not (landscape.data_dir / "logs" / f"{HUB}.db").exists()
    with open_protocol_log(database, party="reader", clock=landscape.clock) as log:
        entries = log.entries()
        assert log.verify() == len(entries) == 9  # three transfers, three parties each
        assert {e.party for e in entries} == {CONSUMER, ELTERNGELD, HUB, MELDEREGISTER, KBA, PSTR}
        assert {e.idnr for e in entries} == {ERIKA[0], LENA[0]}
    import psycopg

    with psycopg.connect(database) as connection:
        rows = connection.execute("SELECT decision FROM vs_decisions ORDER BY sequence").fetchall()
    assert [row[0] for row in rows] == ["granted:matrix", "granted:intra-area", "granted:matrix"]


@pytest.mark.postgres
async def test_demo_service_logs_where_the_dsc_reads(
    landscape: Landscape, postgres_url: str
) -> None:
    """A demo online service given the landscape's database URL (as in docker compose) logs
    its transfers there, so the DSC shows the consumer's own records beside hub and register."""
    from consumers.demo import DemoSettings
    from consumers.demo import create_app as create_demo

    database = fresh_database(postgres_url)
    async with in_process(landscape, database_url=database) as world:
        demo = create_demo(
            DemoSettings(data_dir=landscape.data_dir, consumer_id=CONSUMER, database_url=database),
            transport=world.routes,
            participant=landscape.participant(CONSUMER),
        )
        async with (
            demo.router.lifespan_context(demo),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=demo),
                base_url=landscape.topology.base_url(CONSUMER),
                follow_redirects=True,
            ) as browser,
        ):
            page = await browser.post("/antrag")
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert csrf is not None
            form = {"csrf": csrf.group(1)}
            await browser.post("/anmelden", data={**form, "idnr": ERIKA[0]})
            preview = await browser.post("/einwilligung", data={**form, "agree": "ja"})
            assert preview.url.path == "/vorschau", preview.text
        erika = await dsc_transfers(world.platform, ERIKA[0])
    assert not (landscape.data_dir / "logs" / f"{CONSUMER}.db").exists()
    assert sorted(t["provider"]["participantId"] for t in erika) == sorted([KBA, MELDEREGISTER])
    for transfer in erika:
        assert transfer["outcome"] == "delivered"
        assert {r["party"] for r in transfer["records"]} == {
            CONSUMER,
            HUB,
            transfer["provider"]["participantId"],
        }


# -- real servers on loopback sockets -----------------------------------------------------------


@contextlib.contextmanager
def serve(apps: dict[str, Any], timeout: float = 30.0) -> Iterator[None]:
    """Each app on its ``host:port`` with a real uvicorn server in its own thread."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []
    try:
        for address, app in apps.items():
            host, _, port = address.rpartition(":")
            server = uvicorn.Server(
                uvicorn.Config(app, host=host, port=int(port), log_level="warning", lifespan="on")
            )
            thread = threading.Thread(target=server.run, name=address, daemon=True)
            thread.start()
            servers.append((server, thread))
        deadline = time.monotonic() + timeout
        for server, thread in servers:
            while not server.started:
                assert thread.is_alive(), f"{thread.name} did not start"
                assert time.monotonic() < deadline, f"{thread.name} did not start in time"
                time.sleep(0.02)
        yield
    finally:
        for server, _ in servers:
            server.should_exit = True
        for _, thread in servers:
            thread.join(timeout=10)


@pytest.mark.e2e
async def test_real_servers_deliver_then_refuse_a_revoked_consumer(
    landscape_template: Path, tmp_path: Path
) -> None:
    """Over real sockets: a DC's request is delivered through the hub from the real
    Melderegister; the platform revokes the DC; its next request is refused by the hub
    (0001) at once; the DSC shows the citizen the one delivered transfer."""
    data_dir = tmp_path / "data"
    shutil.copytree(landscape_template, data_dir)
    topology_path = write_topology(data_dir)
    topology: Topology = load_topology(topology_path)
    clock = ManualClock()
    world = Landscape(data_dir, topology, clock)
    common = {"data_dir": data_dir, "topology": topology_path}
    platform = create_app(
        PlatformSettings(**common, admin_token=SecretStr("admin-secret")), clock=clock
    )
    register = create_register_app(
        RegisterSettings(**common, participant_id=MELDEREGISTER), clock=clock
    )
    apps = {
        world.host_port("platform"): platform,
        world.host_port(MELDEREGISTER): register,
    }
    dc = Consumer(world)
    with serve(apps):
        async with httpx.AsyncClient(base_url=topology.base_url("platform"), timeout=30) as http:
            _, first = await dc.prepared(
                http, MELDEREGISTER, "Meldebescheinigung", "Bewohnerparkausweis"
            )
            delivered = await http.post("/transport/v1/messages", content=first)
            assert delivered.status_code == 200
            opened, _ = dc.open_answer(delivered.content, first)
            assert opened.signer.participant_id == MELDEREGISTER

            _, second = await dc.prepared(
                http, MELDEREGISTER, "Meldebescheinigung", "Bewohnerparkausweis"
            )
            revoked = await http.post(
                "/admin/v1/revoke", json={"participantId": CONSUMER}, headers=ADMIN
            )
            assert revoked.status_code == 200
            refused = await http.post("/transport/v1/messages", content=second)
            assert refused.status_code == 401
            code, detail = error_of(*dc.open_answer(refused.content, second))
            assert code == "EDM:ERR:0001"
            assert "revoked" in detail.lower()

            transfers = await dsc_transfers(http, ERIKA[0])
    assert [(t["provider"]["participantId"], t["outcome"]) for t in transfers] == [
        (MELDEREGISTER, "delivered")
    ]
