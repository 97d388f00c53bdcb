"""The IDA (IDM für Personen): § 6 (3) IDNrG look-ups over in-process ASGI with real
signatures."""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from noots import ida
from noots.clock import ManualClock
from noots.envelope import (
    EnvelopeHeader,
    OpenedEnvelope,
    check_binding,
    open_envelope,
    parse_error_body,
    seal,
)
from noots.pki import Role
from noots.protocol import ProtocolLog, open_protocol_log
from noots.signing import XmlSigner
from registers.ida import IdaSettings, create_ida_app
from registers.identities import BehaviourIdentity, identity
from registers.population import PopulationStore
from tests.registers.support import Landscape

CONSUMER = "08118079-BPA-87"
IDA_ID = "noots-ida"


@dataclass
class Ida:
    client: httpx.AsyncClient
    clock: ManualClock
    log: ProtocolLog
    landscape: Landscape

    def envelope(
        self,
        query: ida.LookupQuery,
        *,
        signer: XmlSigner | None = None,
        sender: str = CONSUMER,
        service_id: str | None = None,
        created_shift: timedelta = timedelta(0),
    ) -> bytes:
        header = EnvelopeHeader(
            message_id=uuid.uuid4(),
            sender=sender,
            recipient=IDA_ID,
            service_id=service_id or ida.service_id(IDA_ID),
            created=self.clock.now() + created_shift,
            purpose="Bewohnerparkausweis",
        )
        signer = signer or self.landscape.pki.signer(sender, Role.CONSUMER)
        return seal(header, ida.build_query(query), signer)

    async def post(self, raw: bytes) -> httpx.Response:
        return await self.client.post(ida.LOOKUP_PATH, content=raw)

    def open(self, response: httpx.Response, raw: bytes) -> OpenedEnvelope:
        opened = open_envelope(
            response.content, self.landscape.pki.verifier(), required_role=Role.IDA
        )
        check_binding(opened, raw)
        assert opened.header.sender == IDA_ID
        return opened

    async def lookup(self, query: ida.LookupQuery) -> ida.LookupResult:
        raw = self.envelope(query)
        response = await self.post(raw)
        assert response.status_code == 200, response.text
        return ida.parse_result(self.open(response, raw).body)

    async def refused(self, raw: bytes, code: str, status: int) -> tuple[str, bytes]:
        response = await self.post(raw)
        assert response.status_code == status
        opened = self.open(response, raw)
        found_code, detail, component = parse_error_body(opened.body)
        assert (found_code, component) == (code, IDA_ID)
        return detail, response.content


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
    raw = running_ida.envelope(ida.ByName("Gabler", "Erika", ERIKA.date_of_birth))
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


_MASK = [
    re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
    re.compile(rb"\d{4}-\d{2}-\d{2}T[\d:.]+Z"),
    re.compile(rb"[0-9a-f]{64}"),
    re.compile(rb"<ds:(SignatureValue|DigestValue)>[^<]*</ds:\1>"),
]


def _masked(body: bytes) -> bytes:
    for pattern in _MASK:
        body = pattern.sub(b"*", body)
    return body


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
        detail, body = await running_ida.refused(running_ida.envelope(query), "EDM:ERR:0004", 404)
        assert detail == ida.NOT_UNIQUE_DETAIL
        answers.append(_masked(body))
    assert len(set(answers)) == 1


async def test_the_ambiguous_pair_is_unique_by_address(running_ida: Ida) -> None:
    """The two Max Doppelmann share a postcode; with the place they still collide, so no IDNr,
    while each is found by IDNr."""
    query = ida.ByAddress(MAX.family_name, MAX.date_of_birth, MAX.postcode, "Hamburg")
    await running_ida.refused(running_ida.envelope(query), "EDM:ERR:0004", 404)
    result = await running_ida.lookup(ida.ByIdnr(MAX.idnr, MAX.date_of_birth))
    assert result.idnr == MAX.idnr


async def test_invalid_idnr_is_refused(running_ida: Ida) -> None:
    """An IDNr with a wrong check digit gets 0003."""
    raw = running_ida.envelope(ida.ByIdnr("02476291359", ERIKA.date_of_birth))
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
    from lxml import etree

    query = ida.build_query(ida.ByName("Mustermann", "Erika", ERIKA.date_of_birth))
    next(e for e in query.iter() if etree.QName(e).localname == field).text = value
    header = EnvelopeHeader(
        message_id=uuid.uuid4(),
        sender=CONSUMER,
        recipient=IDA_ID,
        service_id=ida.service_id(IDA_ID),
        created=running_ida.clock.now(),
        purpose="Bewohnerparkausweis",
    )
    raw = seal(header, query, running_ida.landscape.pki.signer(CONSUMER, Role.CONSUMER))
    detail, _ = await running_ida.refused(raw, "EDM:ERR:0003", 400)
    assert field in detail
    for part in value.split():
        assert part not in detail


async def test_only_consumers_may_ask(running_ida: Ida) -> None:
    """A register's certificate gets 0001: the IDA answers data consumers only."""
    provider = "991-01234ZFZR-41"
    raw = running_ida.envelope(
        ida.ByName("Mustermann", "Erika", ERIKA.date_of_birth),
        sender=provider,
        signer=running_ida.landscape.pki.signer(provider, Role.PROVIDER),
    )
    _, body = await running_ida.refused(raw, "EDM:ERR:0001", 401)
    assert b"02476291358" not in body


async def test_unsigned_and_garbage_get_a_signed_bound_error(running_ida: Ida) -> None:
    """Unsigned envelopes get 0001, garbage and hostile XML 0003; every answer is signed
    and bound to the exact bytes."""
    raw = running_ida.envelope(ida.ByName("Mustermann", "Erika", ERIKA.date_of_birth))
    unsigned = re.sub(rb"<ds:Signature.*</ds:Signature>", b"", raw, flags=re.DOTALL)
    await running_ida.refused(unsigned, "EDM:ERR:0001", 401)
    await running_ida.refused(b"<<not xml", "EDM:ERR:0003", 400)
    hostile = b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'
    await running_ida.refused(hostile, "EDM:ERR:0003", 400)


async def test_replay_and_stale_envelopes_are_refused(running_ida: Ida) -> None:
    """The IDA refuses a repeated envelope and one created ten minutes ago."""
    raw = running_ida.envelope(ida.ByName("Mustermann", "Erika", ERIKA.date_of_birth))
    assert (await running_ida.post(raw)).status_code == 200
    await running_ida.refused(raw, "EDM:ERR:0003", 400)
    stale = running_ida.envelope(
        ida.ByName("Mustermann", "Erika", ERIKA.date_of_birth),
        created_shift=-timedelta(minutes=10),
    )
    await running_ida.refused(stale, "EDM:ERR:0003", 400)


async def test_a_restarted_ida_still_refuses_the_replay(
    running_ida: Ida, population: PopulationStore, tmp_path: Path
) -> None:
    """An envelope the IDA answered before a restart is refused as a replay after it."""
    raw = running_ida.envelope(ida.ByName("Mustermann", "Erika", ERIKA.date_of_birth))
    assert (await running_ida.post(raw)).status_code == 200
    ida_again = running_ida.landscape, population, running_ida.clock, running_ida.log
    async with _client(*ida_again, tmp_path / "state") as client:
        restarted = dataclasses.replace(running_ida, client=client)
        await restarted.refused(raw, "EDM:ERR:0003", 400)


async def test_wrong_service_id_is_unresolved(running_ida: Ida) -> None:
    """An envelope for another service gets 0006."""
    raw = running_ida.envelope(
        ida.ByName("Mustermann", "Erika", ERIKA.date_of_birth),
        service_id="urn:noots:service:noots-ida:other",
    )
    await running_ida.refused(raw, "EDM:ERR:0006", 404)


async def test_lookups_are_logged_abstractly(running_ida: Ida) -> None:
    """A delivered IDNr is logged with it; a refusal without any IDNr."""
    await running_ida.lookup(ida.ByName("Mustermann", "Erika", ERIKA.date_of_birth))
    await running_ida.refused(
        running_ida.envelope(ida.ByName("Niemand", "Nils", date(1990, 1, 1))),
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
