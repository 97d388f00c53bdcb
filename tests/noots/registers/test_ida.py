"""The IDA (IDM für Personen): § 6 (3) IDNrG look-ups over in-process ASGI, by online
services that present their IAM access token."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from lxml import etree

from noots import ida
from noots.clock import ManualClock
from noots.envelope import parse_error_body
from noots.pki import Role
from noots.protocol import ProtocolLog, open_protocol_log
from noots.registers.ida import IdaSettings, create_ida_app
from noots.synthetic.identities import BehaviourIdentity, identity
from noots.synthetic.population import PopulationStore
from noots.testing.iam import TestIam
from noots.xml import parse, serialize
from tests.noots.registers.support import Landscape

CONSUMER = "08118079-BPA-87"
IDA_ID = "noots-ida"


@dataclass
class Ida:
    client: httpx.AsyncClient
    clock: ManualClock
    log: ProtocolLog
    landscape: Landscape

    @property
    def iam(self) -> TestIam:
        return TestIam(self.landscape.pki)

    def authorization(self, participant: str = CONSUMER, **options: object) -> dict[str, str]:
        """A valid access token of ``participant`` for the IDA (options as TestIam.token)."""
        token = self.iam.token(participant, IDA_ID, **options)  # type: ignore[arg-type]
        return {"Authorization": f"Bearer {token}"}

    async def post(
        self,
        body: bytes,
        headers: dict[str, str] | None = None,
        *,
        message_id: uuid.UUID | None = None,
    ) -> httpx.Response:
        sent = self.authorization() if headers is None else headers
        sent = {
            **sent,
            "Noots-Purpose": "Bewohnerparkausweis",
            "Noots-Message-Id": str(message_id or uuid.uuid4()),
        }
        return await self.client.post(ida.LOOKUP_PATH, content=body, headers=sent)

    async def lookup(self, query: ida.LookupQuery) -> ida.LookupResult:
        response = await self.post(body(query))
        assert response.status_code == 200, response.text
        return ida.parse_result(parse(response.content))

    async def refused(
        self, raw: bytes, code: str, status: int, headers: dict[str, str] | None = None
    ) -> tuple[str, bytes]:
        response = await self.post(raw, headers)
        assert response.status_code == status, response.text
        found_code, detail, component = parse_error_body(parse(response.content))
        assert (found_code, component) == (code, IDA_ID)
        return detail, response.content


def body(query: ida.LookupQuery) -> bytes:
    return serialize(ida.build_query(query))


@pytest.fixture
async def running_ida(
    landscape: Landscape, population: PopulationStore, tmp_path: Path
) -> AsyncIterator[Ida]:
    landscape.pki.credential(IDA_ID, Role.IDA)
    clock = ManualClock(landscape.pki.clock.now())
    log = open_protocol_log(tmp_path / "ida.db", party=IDA_ID, clock=clock)
    async with _client(landscape, population, clock, log, tmp_path / "state") as client:
        yield Ida(client, clock, log, landscape)
    log.close()


@asynccontextmanager
async def _client(
    landscape: Landscape,
    population: PopulationStore,
    clock: ManualClock,
    log: ProtocolLog,
    state_dir: Path,
) -> AsyncIterator[httpx.AsyncClient]:
    """An IDA process (in-process ASGI) keeping its restart-safe state in ``state_dir``."""
    app = create_ida_app(
        IdaSettings(data_dir=landscape.data_dir, state_dir=state_dir),
        topology=landscape.topology,
        clock=clock,
        population=population,
        protocol_log=log,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ida") as client:
        yield client
    app.state.ida.close()


def _identity(idnr: str) -> BehaviourIdentity:
    found = identity(idnr)
    assert found is not None
    return found


ERIKA = _identity("02476291358")
SABINE = _identity("01234567845")
MAX = _identity("01234567853")


async def test_lookup_by_name_gives_only_the_idnr(running_ida: Ida) -> None:
    """Surname, given name and date of birth find Erika's IDNr, and nothing else."""
    result = await running_ida.lookup(ida.ByName("Mustermann", "Erika", ERIKA.date_of_birth))
    assert result == ida.LookupResult("02476291358")


async def test_lookup_by_address_gives_the_idnr(running_ida: Ida) -> None:
    """Surname, date of birth, postcode and place of residence find the IDNr."""
    query = ida.ByAddress("Mustermann", ERIKA.date_of_birth, "70825", "Korntal-Münchingen")
    assert (await running_ida.lookup(query)).idnr == "02476291358"


async def test_lookup_by_name_uses_the_current_family_name(running_ida: Ida) -> None:
    """§ 6 (3) IDNrG names the family name: the birth name alone does not find Erika."""
    raw = body(ida.ByName("Gabler", "Erika", ERIKA.date_of_birth))
    await running_ida.refused(raw, "EDM:ERR:0004", 404)


async def test_lookup_by_idnr_gives_the_basic_data(running_ida: Ida) -> None:
    """IDNr and date of birth give the remaining basic data."""
    result = await running_ida.lookup(ida.ByIdnr("02476291358", ERIKA.date_of_birth))
    data = result.basic_data
    assert data is not None
    assert (data.family_name, data.given_names, data.birth_name) == (
        "Mustermann",
        "Erika",
        "Gabler",
    )
    assert data.address.place == "Korntal-Münchingen"


async def test_unknown_ambiguous_and_blocked_are_indistinguishable(running_ida: Ida) -> None:
    """No unique match gives no data: unknown, ambiguous and blocked answer identically."""
    queries = [
        ida.ByName("Niemand", "Nils", date(1990, 1, 1)),
        ida.ByName(MAX.family_name, MAX.given_names, MAX.date_of_birth),
        ida.ByName(SABINE.family_name, SABINE.given_names, SABINE.date_of_birth),
        ida.ByIdnr(SABINE.idnr, SABINE.date_of_birth),
        ida.ByIdnr("02476291358", date(1964, 8, 13)),  # the date of birth does not fit
    ]
    answers = []
    for query in queries:
        detail, answer = await running_ida.refused(body(query), "EDM:ERR:0004", 404)
        assert detail == ida.NOT_UNIQUE_DETAIL
        answers.append(answer)
    assert len(set(answers)) == 1


async def test_the_ambiguous_pair_is_unique_by_address(running_ida: Ida) -> None:
    """The two Max Doppelmann share a postcode; with the place they still collide, so no IDNr,
    while each is found by IDNr."""
    query = ida.ByAddress(MAX.family_name, MAX.date_of_birth, MAX.postcode, "Hamburg")
    await running_ida.refused(body(query), "EDM:ERR:0004", 404)
    result = await running_ida.lookup(ida.ByIdnr(MAX.idnr, MAX.date_of_birth))
    assert result.idnr == MAX.idnr


async def test_invalid_idnr_is_refused(running_ida: Ida) -> None:
    """An IDNr with a wrong check digit gets 0003."""
    raw = body(ida.ByIdnr("02476291359", ERIKA.date_of_birth))
    detail, _ = await running_ida.refused(raw, "EDM:ERR:0003", 400)
    assert "check digit" in detail
    assert "02476291359" not in detail
    assert "expected" not in detail  # the right digit would give the number away


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("DateOfBirth", "1964-13-45"),
        ("DateOfBirth", "12.08.1964"),
        ("FamilyName", "Muster\nmann"),
        ("GivenName", "Erika" * 60),
    ],
)
async def test_refusal_names_the_field_not_the_value(
    running_ida: Ida, field: str, value: str
) -> None:
    """A look-up with a malformed personal field gets 0003 whose detail names the field and
    the rule, never the value."""
    query = ida.build_query(ida.ByName("Mustermann", "Erika", ERIKA.date_of_birth))
    next(e for e in query.iter() if etree.QName(e).localname == field).text = value
    raw = serialize(query)
    detail, _ = await running_ida.refused(raw, "EDM:ERR:0003", 400)
    assert field in detail
    for part in value.split():
        assert part not in detail


async def test_only_consumers_may_ask(running_ida: Ida) -> None:
    """A register's token gets 0002: the IDA answers data consumers only, with no data."""
    provider = "991-01234ZFZR-41"
    headers = running_ida.authorization(provider, role=Role.PROVIDER)
    raw = body(ida.ByName("Mustermann", "Erika", ERIKA.date_of_birth))
    _, answer = await running_ida.refused(raw, "EDM:ERR:0002", 403, headers)
    assert b"02476291358" not in answer


@pytest.mark.parametrize("which", ["missing", "expired", "another audience", "another issuer"])
async def test_a_look_up_without_a_valid_token_is_refused(running_ida: Ida, which: str) -> None:
    """No token, an expired one, one for another resource, one not signed by the IAM: 0001 or
    0002 with a Bearer challenge, before anything is read."""
    iam = running_ida.iam
    tokens = {
        "missing": None,
        "expired": iam.token(
            CONSUMER, IDA_ID, issued_at=running_ida.clock.now() - timedelta(hours=1)
        ),
        "another audience": iam.token(CONSUMER, "noots-rdn"),
        "another issuer": TestIam(running_ida.landscape.pki, iam_id="noots-other-iam").token(
            CONSUMER, IDA_ID
        ),
    }
    token = tokens[which]
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    raw = body(ida.ByName("Mustermann", "Erika", ERIKA.date_of_birth))
    response = await running_ida.post(raw, headers)
    assert response.status_code in (401, 403)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert b"02476291358" not in response.content
    assert running_ida.log.entries() == []  # nobody authenticated: nothing to log


async def test_a_revoked_consumer_is_refused_at_once(running_ida: Ida) -> None:
    """A token issued before the consumer's certificate was revoked no longer works."""
    doomed = "TEST-IDA-REVOKED"  # a consumer of its own: the session's PKI is shared
    running_ida.landscape.pki.credential(doomed, Role.CONSUMER)
    headers = running_ida.authorization(doomed)
    raw = body(ida.ByName("Mustermann", "Erika", ERIKA.date_of_birth))
    assert (await running_ida.post(raw, headers)).status_code == 200
    running_ida.landscape.pki.revoke(doomed)
    response = await running_ida.post(raw, headers)
    assert response.status_code == 401


async def test_garbage_and_hostile_xml_are_refused(running_ida: Ida) -> None:
    """Garbage and hostile XML get 0003, like any other unusable query."""
    await running_ida.refused(b"<<not xml", "EDM:ERR:0003", 400)
    hostile = b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'
    await running_ida.refused(hostile, "EDM:ERR:0003", 400)


async def test_lookups_are_logged_abstractly(running_ida: Ida) -> None:
    """A delivered IDNr is logged with it, under the look-up's own id; a refusal without any
    IDNr."""
    look_up = uuid.uuid4()
    response = await running_ida.post(
        body(ida.ByName("Mustermann", "Erika", ERIKA.date_of_birth)), message_id=look_up
    )
    assert response.status_code == 200
    await running_ida.refused(
        body(ida.ByName("Niemand", "Nils", date(1990, 1, 1))),
        "EDM:ERR:0004",
        404,
    )
    entries = running_ida.log.entries()
    assert [(e.outcome, e.idnr) for e in entries] == [
        ("delivered", "02476291358"),
        ("refused:EDM:ERR:0004", None),
    ]
    assert {e.consumer for e in entries} == {CONSUMER}
    assert {e.evidence_type for e in entries} == {"IDNr"}
    assert entries[0].message_id == f"urn:uuid:{look_up}"


async def test_health(running_ida: Ida) -> None:
    """The IDA reports healthy with its checks."""
    response = await running_ida.client.get("/health")
    assert response.status_code == 200
    assert response.json()["checks"] == {"certificate": "ok", "population": "ok"}


@pytest.mark.parametrize("spoiled", ["revoked", "expired"])
async def test_health_is_503_naming_its_own_spoiled_certificate(
    landscape: Landscape, population: PopulationStore, tmp_path: Path, spoiled: str
) -> None:
    """An IDA whose own certificate the CA revoked (or which expired) answers /health with
    503 and names the certificate in German and English; before, it is healthy."""
    from noots.participant import load_participant
    from noots.testing.pki import TestPki

    with TestPki(tmp_path / "pki") as pki:
        pki.credential(IDA_ID, Role.IDA, validity=timedelta(days=30))
        clock = ManualClock(pki.clock.now())
        participant = load_participant(tmp_path / "pki", IDA_ID, clock=clock)
        with open_protocol_log(tmp_path / "ida.db", party=IDA_ID, clock=clock) as log:
            app = create_ida_app(
                IdaSettings(data_dir=landscape.data_dir, state_dir=tmp_path / "state"),
                topology=landscape.topology,
                clock=clock,
                participant=participant,
                population=population,
                protocol_log=log,
            )
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://ida") as client:
                before = await client.get("/health")
                if spoiled == "revoked":
                    pki.revoke(IDA_ID)
                else:
                    clock.advance(timedelta(days=31))
                after = await client.get("/health")
            app.state.ida.close()
    assert before.status_code == 200
    assert after.status_code == 503
    body = after.json()
    word = {"revoked": "gesperrt", "expired": "abgelaufen"}[spoiled]
    assert body["status"] == "degraded"
    assert body["problems"] == [
        f"Zertifikat von {IDA_ID} (IDM für Personen) {word} / {body['certificates'][0]['en']}"
    ]
    assert body["certificates"][0]["participant"] == IDA_ID
    assert body["certificates"][0]["reason"] == spoiled
