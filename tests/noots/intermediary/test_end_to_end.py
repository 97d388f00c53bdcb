"""The landscape end to end through the SAKs, with the real registers and the real client
library (noots.consumers.AsyncClient): in process, with the protocol logs in a real PostgreSQL
server, and on real uvicorn servers over loopback sockets. Every transfer is logged by the
online service and by the register (there is no central party in between), and the
Datenschutzcockpit shows each citizen exactly their transfers from those logs."""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from noots.clock import SystemClock
from noots.consumers import AsyncClient, Endpoints, PersonQuery
from noots.errors import AuthorisationRefused, EdmCode, NootsError
from noots.participant import load_participant
from noots.protocol import ProtocolLog, open_protocol_log
from noots.testing.asgi import RoutingTransport
from noots.testing.landscape import (
    Landscape,
    bootstrap,
    landscape_in_process,
    serve_landscape,
    write_topology,
)
from noots.testing.postgres import fresh_database
from tests.noots.intermediary.support import (
    CONSUMER,
    ELTERNGELD,
    ERIKA,
    KBA,
    LENA,
    MELDEREGISTER,
    PSTR,
)

REGISTERS = (MELDEREGISTER, KBA, PSTR)


def person(citizen: tuple[Any, ...]) -> PersonQuery:
    return PersonQuery(citizen[2], citizen[1], citizen[3])


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bootstrapped landscape on free ports, copied per test."""
    data_dir = tmp_path_factory.mktemp("e2e-landscape")
    bootstrap(data_dir, people=200)
    return data_dir


def _copy(template: Path, target: Path, *, database: str | None = None) -> Path:
    shutil.copytree(template, target)
    if database is not None:
        path = target / "landscape.yaml"
        data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["platform"]["database"] = database
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return target


async def _no_sleep(_seconds: float) -> None:
    return None


@dataclass
class World:
    landscape: Landscape
    routes: httpx.AsyncBaseTransport | None
    database: str | None
    logs: list[ProtocolLog] = field(default_factory=list)

    def client(self, consumer: str) -> AsyncClient:
        """The client library of ``consumer`` with its own key, logging where the landscape
        logs (the landscape's database, or ``<data_dir>/logs/<consumer>.db``)."""
        data_dir = self.landscape.data_dir
        target = self.database or data_dir / "logs" / f"{consumer}.db"
        log = open_protocol_log(target, party=consumer, clock=SystemClock())
        self.logs.append(log)
        return AsyncClient(
            load_participant(data_dir / "pki", consumer, clock=SystemClock()),
            Endpoints.from_topology(self.landscape.topology),
            self.landscape.topology,
            transport=self.routes,
            protocol_log=log,
            sleep=_no_sleep,
        )

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.routes, timeout=60)


@contextlib.asynccontextmanager
async def in_process(data_dir: Path, database: str | None = None) -> AsyncIterator[World]:
    """The platform, the registers and every SAK wired through ASGI (no sockets)."""
    async with landscape_in_process(data_dir, registers=REGISTERS, consumers=False, ida=False) as (
        landscape,
        routes,
    ):
        world = World(landscape, routes, database)
        try:
            yield world
        finally:
            for log in world.logs:
                log.close()


async def dsc_transfers(http: httpx.AsyncClient, platform: str, idnr: str) -> list[dict[str, Any]]:
    login = await http.post(platform + "/eid/v1/login", json={"idnr": idnr, "level": "hoch"})
    token = login.json()["token"]
    answer = await http.get(
        platform + "/dsc/v1/transfers", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    transfers: list[dict[str, Any]] = answer.json()["transfers"]
    return transfers


async def exchange_for_two_citizens(world: World) -> None:
    """Erika: two transfers (one across areas with a VS token, one inside Verkehr without);
    Lena: one (Elterngeld → Personenstandsregister)."""
    async with world.client(CONSUMER) as bpa, world.client(ELTERNGELD) as elterngeld:
        for evidence_type, region in (
            ("Meldebescheinigung", "08118079"),
            ("Fahrzeughalterauskunft", None),
        ):
            await bpa.fetch_evidence(
                evidence_type,
                purpose="Bewohnerparkausweis",
                idnr=ERIKA[0],
                person=person(ERIKA),
                region=region,
            )
        await elterngeld.fetch_evidence(
            "Geburtsurkunde", purpose="Elterngeld", idnr=LENA[0], person=person(LENA)
        )


def parties_of(transfer: dict[str, Any]) -> set[str]:
    return {record["party"] for record in transfer["records"]}


async def test_the_client_library_fetches_through_the_saks_and_the_dsc_shows_it(
    template: Path, tmp_path: Path
) -> None:
    """Three evidences through the SAKs from the real registers; the DSC shows each citizen
    exactly their transfers, each logged by the online service and the register (nobody else);
    a transfer the VS refuses is logged by the online service only and reaches no register."""
    world_dir = _copy(template, tmp_path / "data")
    async with in_process(world_dir) as world:
        await exchange_for_two_citizens(world)
        async with world.client(CONSUMER) as bpa:
            with pytest.raises(AuthorisationRefused):
                await bpa.fetch_evidence(
                    "Geburtsurkunde",
                    purpose="Bewohnerparkausweis",
                    idnr=ERIKA[0],
                    person=person(ERIKA),
                )
        platform = world.landscape.url("platform")
        async with world.http() as http:
            erika = await dsc_transfers(http, platform, ERIKA[0])
            lena = await dsc_transfers(http, platform, LENA[0])
    assert sorted((t["provider"]["participantId"], t["outcome"]) for t in erika) == [
        (MELDEREGISTER, "delivered"),
        (KBA, "delivered"),
        (PSTR, "refused:EDM:ERR:0002"),  # the online service logged the attempt the VS refused
    ]
    assert [(t["consumer"]["participantId"], t["provider"]["participantId"]) for t in lena] == [
        (ELTERNGELD, PSTR)
    ]
    [refused] = [t for t in erika if t["provider"]["participantId"] == PSTR]
    assert parties_of(refused) == {CONSUMER}
    delivered = [t for t in [*erika, *lena] if t["outcome"] == "delivered"]
    assert len(delivered) == 3
    for transfer in delivered:
        assert parties_of(transfer) == {
            transfer["consumer"]["participantId"],
            transfer["provider"]["participantId"],
        }
    register_log = open_protocol_log(
        world_dir / "logs" / f"{PSTR}.db", party=PSTR, clock=SystemClock()
    )
    with register_log:
        assert [e.consumer for e in register_log.entries()] == [ELTERNGELD]  # the refused one
        assert register_log.verify() == 1  # never reached the register
    logged = {path.stem for path in (world_dir / "logs").glob("*.db")}
    assert logged == {CONSUMER, ELTERNGELD, *REGISTERS}  # no central party logs


@pytest.mark.postgres
async def test_postgresql_protocol_storage_for_online_services_registers_and_dsc(
    template: Path, tmp_path: Path, postgres_url: str
) -> None:
    """Every party logs to one real PostgreSQL database (the topology names it): the entries
    of online services and registers are there with an intact chain, no SQLite protocol log is
    written, and the DSC reads each citizen's own transfers from it."""
    database = fresh_database(postgres_url)
    world_dir = _copy(template, tmp_path / "data", database=database)
    async with in_process(world_dir, database) as world:
        await exchange_for_two_citizens(world)
        platform = world.landscape.url("platform")
        async with world.http() as http:
            erika = await dsc_transfers(http, platform, ERIKA[0])
            lena = await dsc_transfers(http, platform, LENA[0])
    assert len(erika) == 2
    assert len(lena) == 1
    assert parties_of(lena[0]) == {ELTERNGELD, PSTR}
    assert list((world_dir / "logs").glob("*.db")) == []
    with open_protocol_log(database, party="reader", clock=SystemClock()) as log:
        entries = log.entries()
        assert log.verify() == len(entries) == 6  # three transfers, two parties each
        assert {e.party for e in entries} == {CONSUMER, ELTERNGELD, MELDEREGISTER, KBA, PSTR}
        assert {e.idnr for e in entries} == {ERIKA[0], LENA[0]}
    import psycopg

    with psycopg.connect(database) as connection:
        rows = connection.execute("SELECT decision FROM vs_decisions ORDER BY sequence").fetchall()
    # The VS is asked where the law requires it: across areas with the IDNr (not within Verkehr).
    assert [row[0] for row in rows] == ["granted:matrix", "granted:matrix"]


@pytest.mark.postgres
async def test_demo_service_logs_where_the_dsc_reads(
    template: Path, tmp_path: Path, postgres_url: str
) -> None:
    """A demo online service given the landscape's database (as in docker compose) logs its
    transfers there, so the DSC shows the online service's own records beside the register's."""
    from noots.consumers.demo import DemoSettings
    from noots.consumers.demo import create_app as create_demo

    database = fresh_database(postgres_url)
    world_dir = _copy(template, tmp_path / "data", database=database)
    async with in_process(world_dir, database) as world:
        demo = create_demo(
            DemoSettings(
                data_dir=world_dir,
                topology=world.landscape.topology_path,
                consumer_id=CONSUMER,
                database_url=database,
            ),
            transport=world.routes,
        )
        assert isinstance(world.routes, RoutingTransport)
        async with (
            demo.router.lifespan_context(demo),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=demo),
                base_url=world.landscape.url(CONSUMER),
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
        async with world.http() as http:
            erika = await dsc_transfers(http, world.landscape.url("platform"), ERIKA[0])
    assert list((world_dir / "logs").glob("*.db")) == []
    assert sorted(t["provider"]["participantId"] for t in erika) == sorted([KBA, MELDEREGISTER])
    for transfer in erika:
        assert transfer["outcome"] == "delivered"
        assert parties_of(transfer) == {CONSUMER, transfer["provider"]["participantId"]}


# -- real servers on loopback sockets -----------------------------------------------------------


@contextlib.contextmanager
def served(data_dir: Path) -> Iterator[Landscape]:
    """Platform, the Melderegister Korntal-Münchingen and every SAK on real uvicorn servers."""
    with serve_landscape(
        data_dir, registers=[MELDEREGISTER], consumers=False, ida=False, people=200
    ) as landscape:
        yield landscape


@pytest.mark.e2e
async def test_real_servers_deliver_then_refuse_a_revoked_online_service(
    template: Path, tmp_path: Path
) -> None:
    """Over real sockets: the online service fetches a Meldebescheinigung through its SAK from
    the real Melderegister; the platform revokes the online service; its next fetch is refused
    at once (0001, revoked); the DSC shows the citizen the one delivered transfer."""
    world_dir = _copy(template, tmp_path / "data")
    write_topology(world_dir)  # ports free now, not when the template was made
    with served(world_dir) as landscape:
        world = World(landscape, None, None)
        try:
            async with world.client(CONSUMER) as bpa:
                delivered = await bpa.fetch_evidence(
                    "Meldebescheinigung",
                    purpose="Bewohnerparkausweis",
                    idnr=ERIKA[0],
                    person=person(ERIKA),
                    region="08118079",
                )
                assert delivered.provider == MELDEREGISTER
                async with world.http() as http:
                    revoked = await http.post(
                        landscape.url("platform") + "/admin/v1/revoke",
                        json={"participantId": CONSUMER},
                        headers={"Authorization": f"Bearer {landscape.admin_token}"},
                    )
                    assert revoked.status_code == 200, revoked.text
                with pytest.raises(NootsError) as caught:
                    await bpa.fetch_evidence(
                        "Meldebescheinigung",
                        purpose="Bewohnerparkausweis",
                        idnr=ERIKA[0],
                        person=person(ERIKA),
                        region="08118079",
                    )
            assert caught.value.code is EdmCode.AUTHENTICATION
            assert "revoked" in caught.value.message
            async with world.http() as http:
                transfers = await dsc_transfers(http, landscape.url("platform"), ERIKA[0])
        finally:
            for log in world.logs:
                log.close()
    assert [(t["provider"]["participantId"], t["outcome"]) for t in transfers] == [
        (MELDEREGISTER, "delivered")
    ]
