"""The consumer conformance suite (it plays the online service's SAK): the demo services and a
correct client pass it, an online service broken in one condition fails exactly that one, and
the CLI runs over real sockets. Waiting for announced evidence moves the landscape's shared
clock instead of sleeping."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from noots.cli import app as cli
from noots.clock import read_shared_offset, write_shared_offset
from noots.conformance import Report, Status, verify_report_file
from noots.consumers.demo import DemoSettings
from noots.consumers.demo import create_app as create_demo
from noots.participant import load_validator
from noots.registers.consumer_conformance import (
    ConsumerTarget,
    DemoServiceDriver,
    Gateway,
    HttpTriggerDriver,
    conformance_sak,
    run_consumer_suite,
)
from noots.settings import NootsSettings
from noots.signing import XmlVerifier
from noots.testing.asgi import RoutingTransport
from noots.testing.broken_consumers import (
    BROKEN_CONSUMERS,
    broken_client_class,
    broken_demo_app,
    consumer_hook_app,
)
from noots.testing.iam import landscape_token
from noots.testing.landscape import bootstrap, free_port
from noots.topology import Topology

BPA = "08118079-BPA-87"
GATEWAY = "gateway.test:8999"
runner = CliRunner()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A landscape data dir of its own: the suite's landscape writes protocol logs."""
    directory = tmp_path_factory.mktemp("consumer-conformance")
    bootstrap(directory, people=150)
    return directory


@pytest.fixture(scope="module")
def settings(data_dir: Path) -> NootsSettings:
    return NootsSettings(data_dir=data_dir, topology=data_dir / "landscape.yaml")


@contextlib.asynccontextmanager
async def sak(settings: NootsSettings, consumer: str) -> AsyncIterator[Gateway]:
    topology = settings.load_topology()
    async with conformance_sak(
        settings.data_dir, topology, settings.topology, consumer=consumer, clock=settings.clock()
    ) as gateway:
        yield gateway


def routes(gateway: Gateway) -> RoutingTransport:
    return RoutingTransport({GATEWAY: httpx.ASGITransport(app=gateway)})


def clock_sleep(settings: NootsSettings) -> Any:
    """The online service's sleep: moves the landscape's shared clock (every component and the
    suite read it) instead of waiting."""
    clock_file = settings.data_dir / "run" / "clock.json"

    async def sleep(seconds: float) -> None:
        offset = read_shared_offset(clock_file)
        write_shared_offset(clock_file, offset + timedelta(seconds=max(seconds, 0) + 0.01))

    return sleep


async def suite(
    settings: NootsSettings, gateway: Gateway, driver: Any, consumer: str, *, log: bool = True
) -> Report:
    topology: Topology = settings.load_topology()
    target = ConsumerTarget(
        consumer,
        kind=topology.consumer(consumer).kind,
        protocol_log=str(settings.data_dir / "logs" / f"{consumer}.db") if log else None,
    )
    return await run_consumer_suite(
        target, gateway=gateway, driver=driver, topology=topology, clock=settings.clock()
    )


def demo_settings(settings: NootsSettings, consumer: str) -> DemoSettings:
    return DemoSettings(
        data_dir=settings.data_dir,
        topology=settings.topology,
        consumer_id=consumer,
        session_secret=secrets.token_hex(16),
        platform_url=f"http://{GATEWAY}",
        ida_url=f"http://{GATEWAY}",
        sak_url=f"http://{GATEWAY}",
    )


def failed(report: Report) -> dict[str, list[str]]:
    return {
        s.id: [f"{c.name}: {c.actual}" for c in s.checks if c.status is Status.FAILED]
        for s in report.sections
        if s.status is Status.FAILED
    }


@pytest.mark.slow
@pytest.mark.parametrize("consumer", [BPA, "08-ELTERNGELD-79", "09162000-GEWA-65"])
async def test_demo_service_passes_every_condition(settings: NootsSettings, consumer: str) -> None:
    """Each demo online service, driven through its web flow, fails no condition."""
    async with sak(settings, consumer) as gateway:
        demo = create_demo(
            demo_settings(settings, consumer),
            transport=routes(gateway),
            sleep=clock_sleep(settings),
        )
        async with demo.router.lifespan_context(demo):
            kind = settings.load_topology().consumer(consumer).kind
            driver = DemoServiceDriver(
                "http://demo.test", kind=kind, transport=httpx.ASGITransport(app=demo)
            )
            report = await suite(settings, gateway, driver, consumer)
    assert failed(report) == {}
    statuses = report.statuses()
    assert statuses["DC-07"] is Status.PASSED
    assert statuses["DC-05"] is Status.PASSED
    # Legal persons carry no IDNr: the Gewerbeamt's DC-04 has nothing to look at.
    expected = Status.SKIPPED if consumer == "09162000-GEWA-65" else Status.PASSED
    assert statuses["DC-04"] is expected


@pytest.mark.slow
@pytest.mark.parametrize("condition_id", [None, *sorted(BROKEN_CONSUMERS)])
async def test_broken_consumer_fails_exactly_its_condition(
    settings: NootsSettings, condition_id: str | None
) -> None:
    """A service violating one condition fails that condition only; the correct client none."""
    async with sak(settings, BPA) as gateway:
        if condition_id == "DC-07":
            app: Any = broken_demo_app(
                demo_settings(settings, BPA),
                transport=routes(gateway),
                sleep=clock_sleep(settings),
            )
            driver: Any = DemoServiceDriver(
                "http://demo.test",
                kind="bewohnerparkausweis",
                transport=httpx.ASGITransport(app=app),
            )
        else:
            app = consumer_hook_app(
                BPA,
                settings,
                sak_url=f"http://{GATEWAY}",
                transport=routes(gateway),
                client_class=broken_client_class(condition_id) if condition_id else None,
                protocol_log=condition_id != "DC-09",
                sleep=clock_sleep(settings),
            )
            driver = HttpTriggerDriver(
                "http://hook.test/retrieve",
                evidence_type="Fahrzeughalterauskunft",
                transport=httpx.ASGITransport(app=app),
            )
        async with app.router.lifespan_context(app):
            report = await suite(settings, gateway, driver, BPA)
    assert set(failed(report)) == ({condition_id} if condition_id else set()), failed(report)
    if condition_id != "DC-07":
        # The test hook cannot show consent pages: DC-07 is skipped. A service that names
        # another requester is refused by its SAK every time: no answer reaches it that DC-05
        # could change. Nothing else is skipped.
        skipped = {s.id for s in report.sections if s.status is Status.SKIPPED}
        assert skipped == {"DC-07"} | ({"DC-05"} if condition_id == "DC-02" else set())
    # Served without TLS, the certificate part of DC-02 cannot be graded: it says so.
    dc02 = next(s for s in report.sections if s.id == "DC-02")
    assert [c.status for c in dc02.checks][-1] is Status.SKIPPED


async def test_by_hand_driver_waits_for_the_person_at_the_service(
    settings: NootsSettings,
) -> None:
    """The by-hand driver prints whom to fetch for, then waits until the service has called its
    SAK and gone quiet; a person following its prompts in the demo service fails nothing.

    The driver's polls wait on the person (the browser task) instead of the wall clock, and
    the demo service's waits move the landscape clock: no real sleeping."""
    import re
    from datetime import date

    from noots.registers.consumer_conformance import ManualDriver, RetrievalCase

    prompts: list[str] = []
    pending: list[asyncio.Task[Any]] = []

    async def poll(_seconds: float) -> None:
        """A poll interval passes once the person has finished what they started."""
        busy = [t for t in pending if not t.done()]
        if busy:
            await asyncio.wait(busy)
        else:
            await asyncio.sleep(0)

    async with sak(settings, BPA) as gateway:
        demo = create_demo(
            demo_settings(settings, BPA), transport=routes(gateway), sleep=clock_sleep(settings)
        )
        browser = DemoServiceDriver(
            "http://demo.test", kind="bewohnerparkausweis", transport=httpx.ASGITransport(app=demo)
        )

        def person_at_the_service(text: str) -> None:
            """Reads the prompt and does what it says, in the demo service's web flow."""
            prompts.append(text)
            found = re.search(
                r"Runde (.+?): starten Sie jetzt in Ihrem Dienst einen Abruf für (\S+) (\S+) "
                r"\(IDNr (\d{11}), geboren (\d{4}-\d{2}-\d{2})\)",
                text,
            )
            assert found, text
            round_, given, family, idnr, born = found.groups()
            case = RetrievalCase(round_, idnr, given, family, date.fromisoformat(born))
            pending.append(asyncio.create_task(browser.retrieve(case, lambda: 0)))

        # Quiet for longer than the announced wait of an asynchronous answer (1.5 s), as 5 s is.
        driver = ManualDriver(
            person_at_the_service, quiet_seconds=2.5, poll_seconds=0.1, sleep=poll
        )
        async with demo.router.lifespan_context(demo):
            report = await suite(settings, gateway, driver, BPA)
            await asyncio.gather(*pending)
    assert len(prompts) >= 5
    assert failed(report) == {}
    # By hand the suite cannot see the service's pages (what it kept of an answer, consent).
    skipped = {s.id for s in report.sections if s.status is Status.SKIPPED}
    assert skipped == {"DC-05", "DC-07"}
    assert report.statuses()["DC-06"] is Status.PASSED  # it came back for announced evidence


async def test_by_hand_driver_quieter_than_the_announced_wait_is_refused(
    settings: NootsSettings,
) -> None:
    """A quiet period not longer than the asynchronous wait (1.5 s) is refused before any
    round: the round would end while the service still waits for the announced time."""
    from noots.errors import ConfigurationError
    from noots.registers.consumer_conformance import ManualDriver

    said: list[str] = []
    async with sak(settings, BPA) as gateway:
        with pytest.raises(ConfigurationError, match=r"quiet period \(1\.5 s\)"):
            await suite(settings, gateway, ManualDriver(said.append, quiet_seconds=1.5), BPA)
        assert gateway.count("authorisation", "request") == 0
    assert said == []


async def test_by_hand_driver_gives_up_when_the_service_never_calls() -> None:
    """Nobody starts the retrieval: the round ends after the timeout and says so."""
    from datetime import date

    from noots.registers.consumer_conformance import ManualDriver, RetrievalCase

    said: list[str] = []
    polls: list[float] = []

    async def poll(seconds: float) -> None:
        polls.append(seconds)

    driver = ManualDriver(said.append, timeout=0.3, poll_seconds=0.1, sleep=poll)
    case = RetrievalCase("normal", "02476291358", "Erika", "Mustermann", date(1964, 8, 12))
    result = await driver.retrieve(case, lambda: 0)
    assert result.received is None
    assert "hat seinen SAK nicht innerhalb von 0.3 s aufgerufen" in result.notes[0]
    assert "Erika Mustermann (IDNr 02476291358, geboren 1964-08-12)" in said[0]
    assert len(polls) == 3


async def test_gateway_records_and_refuses_the_authorisation(settings: NootsSettings) -> None:
    """The gateway records each call; in the refusal round the authorisation is a 403 problem
    EDM:ERR:0002 naming the Vermittlungsstelle, and the SAK's routes pass through."""
    from noots.registers.consumer_conformance import Mode

    async with sak(settings, BPA) as gateway:
        gateway.start_round(Mode.AUTHORISATION_REFUSED)
        token = landscape_token(settings.data_dir / "pki", BPA, f"{BPA}.sak")
        async with httpx.AsyncClient(
            transport=routes(gateway),
            base_url=f"http://{GATEWAY}",
            headers={"Authorization": f"Bearer {token}"},
        ) as http:
            route = await http.get(
                "/consumer/v1/routes", params={"evidenceType": "Fahrzeughalterauskunft"}
            )
            refused = await http.post("/consumer/v1/authorisations", json={"serviceId": "x"})
        assert route.status_code == 200
        assert route.json()["provider"]["participantId"] == "991-01234ZFZR-41"
        assert refused.status_code == 403
        assert refused.json()["code"] == "EDM:ERR:0002"
        assert refused.json()["component"] == "noots-vs"
        assert [e.kind for e in gateway.round.events] == ["route", "authorisation"]
        assert gateway.count("authorisation") == 1


async def test_gateway_answers_an_unlisted_code_the_client_names(
    settings: NootsSettings,
) -> None:
    """In the unlisted round the 0103 carries a code outside EDM:ERR:0001…0008; the client
    library reads it and raises UnlistedCodeError naming it."""
    from datetime import date

    from noots.consumers import AsyncClient, Endpoints, PersonQuery, UnlistedCodeError
    from noots.participant import load_participant
    from noots.registers.consumer_conformance import UNLISTED_CODE, Mode

    url = f"http://{GATEWAY}"
    participant = load_participant(settings.data_dir / "pki", BPA, clock=settings.clock())
    async with (
        sak(settings, BPA) as gateway,
        AsyncClient(
            participant,
            Endpoints(url, url, url),
            settings.load_topology(),
            transport=routes(gateway),
        ) as client,
    ):
        gateway.start_round(Mode.UNLISTED)
        with pytest.raises(UnlistedCodeError) as caught:
            await client.fetch_evidence(
                "Fahrzeughalterauskunft",
                purpose="Bewohnerparkausweis",
                idnr="02476291358",
                person=PersonQuery("Erika", "Mustermann", date(1964, 8, 12)),
            )
        assert UNLISTED_CODE.encode() in gateway.round.events[-1].response
    assert caught.value.reported_code == UNLISTED_CODE
    assert caught.value.component == "991-01234ZFZR-41"


async def test_gateway_over_tls_answers_only_the_service(settings: NootsSettings) -> None:
    """Behind TLS the consumer API refuses another participant's certificate, or none, with an
    EDM:ERR:0001 problem and records who connected; the service's own certificate goes
    through."""
    from noots.tls import PEER_SCOPE_KEY, TlsPeer

    def as_peer(app: Any, peer: TlsPeer) -> Any:
        async def wrapped(scope: Any, receive: Any, send: Any) -> None:
            scope[PEER_SCOPE_KEY] = peer
            await app(scope, receive, send)

        return wrapped

    other = TlsPeer(enforced=True, participant_id="08-ELTERNGELD-79")
    nobody = TlsPeer(enforced=True, problem="no client certificate")
    itself = TlsPeer(enforced=True, participant_id=BPA)
    params = {"evidenceType": "Fahrzeughalterauskunft"}
    token = landscape_token(settings.data_dir / "pki", BPA, f"{BPA}.sak")
    async with sak(settings, BPA) as gateway:
        answers = {}
        for name, peer in (("other", other), ("nobody", nobody), ("itself", itself)):
            transport = httpx.ASGITransport(app=as_peer(gateway, peer))
            async with httpx.AsyncClient(
                transport=transport,
                base_url="https://gw",
                headers={"Authorization": f"Bearer {token}"},
            ) as http:
                answers[name] = (
                    await http.get("/consumer/v1/routes", params=params),
                    await http.post("/consumer/v1/requests", content=b"<x/>"),
                )
    for name in ("other", "nobody"):
        for answer in answers[name]:
            assert answer.status_code == 401, name
            assert answer.json()["code"] == "EDM:ERR:0001"
    route, request = answers["itself"]
    assert route.status_code == 200
    assert request.json()["code"] == "EDM:ERR:0003"  # passed on: the bytes are no 0101
    events = gateway.round.events
    assert [e.tls_client for e in events] == ["08-ELTERNGELD-79"] * 2 + [""] * 2 + [BPA] * 2
    assert "not to 08118079-BPA-87" in events[0].note or events[0].note.startswith("refused")


# -- the CLI over real sockets ------------------------------------------------------------------


@contextlib.contextmanager
def serve(app: Any, port: int) -> Iterator[None]:
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "server thread died"
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def served_demo(
    settings: NootsSettings, gateway_url: str, transport: httpx.AsyncBaseTransport | None = None
) -> Any:
    """The Bewohnerparkausweis demo service with the suite (its SAK) at ``gateway_url``."""
    return create_demo(
        DemoSettings(
            data_dir=settings.data_dir,
            topology=settings.topology,
            consumer_id=BPA,
            session_secret=secrets.token_hex(16),
            platform_url=gateway_url,
            ida_url=gateway_url,
            sak_url=gateway_url,
        ),
        transport=transport,
        sleep=clock_sleep(settings),
    )


def consumer_cli(
    settings: NootsSettings, gateway_port: int, demo_port: int, report: Path, *options: str
) -> Result:
    """`noots conformance consumer` listening on ``gateway_port``, driving the demo service."""
    data_dir = settings.data_dir
    return runner.invoke(
        cli,
        [
            *("conformance", "consumer", "--listen", f"127.0.0.1:{gateway_port}", *options),
            *("--participant", BPA, "--demo-url", f"http://127.0.0.1:{demo_port}"),
            *("--protocol-log", str(data_dir / "logs" / f"{BPA}.db")),
            *("--data-dir", str(data_dir), "--topology", str(settings.topology)),
            *("--report", str(report)),
        ],
    )


@pytest.mark.slow
def test_cli_against_a_demo_service_over_sockets(
    settings: NootsSettings, data_dir: Path, tmp_path: Path
) -> None:
    """`noots conformance consumer` listens, drives a served demo service, writes a signed
    report, and exits 0."""
    gateway_port, demo_port = free_port(), free_port()
    with serve(served_demo(settings, f"http://127.0.0.1:{gateway_port}"), demo_port):
        result = consumer_cli(settings, gateway_port, demo_port, tmp_path)
    assert result.exit_code == 0, result.output
    assert "Die SAK-URL des Dienstes auf" in result.output
    verifier = XmlVerifier(load_validator(data_dir / "pki", clock=settings.clock()))
    for name in ("report.html", "report.xml", "report.json"):
        assert verify_report_file(tmp_path / name, verifier).passed


@pytest.mark.slow
@pytest.mark.parametrize(("tls_as", "exit_code"), [(BPA, 0), ("08-ELTERNGELD-79", 2)])
def test_cli_over_mutual_tls_grades_the_certificate_a_service_presents(
    settings: NootsSettings, data_dir: Path, tmp_path: Path, tls_as: str, exit_code: int
) -> None:
    """With --tls the suite serves HTTPS as the service's SAK: a demo service presenting its own
    certificate passes every condition; one presenting another participant's is refused."""
    from noots.tls import TlsFiles, client_context

    gateway_port, demo_port = free_port(), free_port()
    gateway_url = f"https://127.0.0.1:{gateway_port}"
    own = client_context(TlsFiles.for_participant(data_dir / "pki", tls_as))
    demo = served_demo(settings, gateway_url, httpx.AsyncHTTPTransport(verify=own))
    with serve(demo, demo_port):
        result = consumer_cli(settings, gateway_port, demo_port, tmp_path, "--tls")
    assert result.exit_code == exit_code, result.output
    assert gateway_url in result.output
    assert "Gegenseitiges TLS" in result.output


def test_cli_refuses_a_participant_outside_the_topology(settings: NootsSettings) -> None:
    """An online service the topology does not know is a tool failure (exit 1)."""
    result = runner.invoke(
        cli,
        [
            "conformance",
            "consumer",
            "--listen",
            "127.0.0.1:1",
            "--participant",
            "999-NOBODY-00",
            "--data-dir",
            str(settings.data_dir),
            "--topology",
            str(settings.topology),
        ],
    )
    assert result.exit_code == 1
    assert "not an online service" in result.output


async def test_error_rounds_answer_with_the_http_status_of_each_edm_code(
    settings: NootsSettings,
) -> None:
    """In an error round the gateway answers the 0101 with the code's HTTP status as the SAK
    does (EdmCode.http_status; 0008 from behind the SAK is 502), for every EDM code."""
    from datetime import date

    from noots.consumers import AsyncClient, Endpoints, PersonQuery
    from noots.consumers._retry import RetryPolicy
    from noots.errors import EdmCode, NootsError
    from noots.participant import load_participant
    from noots.registers.consumer_conformance import Mode

    async def no_sleep(_seconds: float) -> None:
        return None

    topology = settings.load_topology()
    participant = load_participant(settings.data_dir / "pki", BPA, clock=settings.clock())
    url = f"http://{GATEWAY}"
    erika = PersonQuery("Erika", "Mustermann", date(1964, 8, 12))
    seen: dict[EdmCode, list[int]] = {}
    async with (
        sak(settings, BPA) as gateway,
        AsyncClient(
            participant,
            Endpoints(url, url, url),
            topology,
            transport=routes(gateway),
            retry=RetryPolicy(max_attempts=1),
            sleep=no_sleep,
        ) as client,
    ):
        for code in EdmCode:
            gateway.start_round(Mode.ERROR, code)
            with pytest.raises(NootsError):
                await client.fetch_evidence(
                    "Fahrzeughalterauskunft",
                    purpose="Bewohnerparkausweis",
                    idnr="02476291358",
                    person=erika,
                )
            seen[code] = [e.status for e in gateway.round.events if e.kind == "request"]
    expected = {code: [code.http_status] for code in EdmCode}
    expected[EdmCode.QUERY_ERROR] = [502]
    assert seen == expected
    assert seen[EdmCode.NOT_FOUND] == [404]  # docs/PROTOCOL.md
