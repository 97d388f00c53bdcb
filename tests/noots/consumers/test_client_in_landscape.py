"""The client library against the real apps of a landscape, wired in process: its SAK, the
RDN and the VS, the provider's SAK and the register (no sockets, real signatures)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from noots import messages
from noots.clock import read_shared_offset, write_shared_offset
from noots.consumers import AsyncClient, Endpoints, PersonQuery
from noots.errors import AuthorisationRefused, NotFound
from noots.participant import load_participant
from noots.protocol import open_protocol_log
from noots.settings import NootsSettings
from noots.testing.landscape import Landscape, bootstrap, landscape_in_process
from noots.xml import parse

BPA = "08118079-BPA-87"
MELD = "08118079-MELD-12"
KBA = "991-01234ZFZR-41"
ERIKA = PersonQuery("Erika", "Mustermann", date(1964, 8, 12))
CLARA = PersonQuery("Clara", "Später", date(1983, 9, 30))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("client-landscape")
    bootstrap(data_dir, people=150)
    return data_dir


@pytest.fixture
async def wired(template: Path, tmp_path: Path) -> AsyncIterator[tuple[Landscape, AsyncClient]]:
    """A copy of the landscape in process, and the Bewohnerparkausweis service's client; its
    sleep moves the landscape's shared clock instead of waiting."""
    data_dir = tmp_path / "data"
    shutil.copytree(template, data_dir)
    settings = NootsSettings(data_dir=data_dir, topology=data_dir / "landscape.yaml")
    clock_file = data_dir / "run" / "clock.json"

    async def sleep(seconds: float) -> None:
        offset = read_shared_offset(clock_file)
        write_shared_offset(clock_file, offset + timedelta(seconds=max(seconds, 0) + 0.01))

    async with (
        landscape_in_process(data_dir, consumers=False) as (landscape, routes),
        httpx.AsyncClient(transport=routes, timeout=60) as http,
    ):
        participant = load_participant(data_dir / "pki", BPA, clock=settings.clock())
        log = open_protocol_log(data_dir / "logs" / f"{BPA}.db", party=BPA, clock=settings.clock())
        try:
            client = AsyncClient(
                participant,
                Endpoints.from_topology(landscape.topology),
                landscape.topology,
                http=http,
                sleep=sleep,
                protocol_log=log,
            )
            yield landscape, client
        finally:
            log.close()


def _sent(raw: bytes) -> messages.EvidenceRequest:
    request = messages.parse(parse(raw))
    assert isinstance(request, messages.EvidenceRequest)
    return request


def _outcomes(landscape: Landscape, party: str) -> list[str]:
    path = landscape.data_dir / "logs" / f"{party}.db"
    if not path.exists():
        return []
    with open_protocol_log(path, party=party, clock=NootsSettings().clock()) as log:
        return [e.outcome for e in log.entries() if e.party == party]


async def test_evidence_across_areas_goes_through_the_sak_with_a_vs_token(
    wired: tuple[Landscape, AsyncClient],
) -> None:
    """Meldebescheinigung (verkehr → meldewesen, with IDNr): the SAK gets a VS token, the 0101
    carries it, the register delivers, both sides log the transfer."""
    landscape, client = wired
    result = await client.fetch_evidence(
        "Meldebescheinigung",
        purpose="Bewohnerparkausweis",
        idnr="02476291358",
        person=ERIKA,
        region="08118079",
    )
    assert result.provider == MELD
    assert _sent(result.raw_request).issued_token
    assert result.response_envelope_id is not None
    assert len(result.envelope_ids) == 1
    assert _outcomes(landscape, BPA) == ["delivered"]
    assert _outcomes(landscape, MELD) == ["delivered"]


async def test_evidence_within_one_area_needs_no_token(
    wired: tuple[Landscape, AsyncClient],
) -> None:
    """Fahrzeughalterauskunft (verkehr → verkehr): delivered without a VS token."""
    _landscape, client = wired
    result = await client.fetch_evidence(
        "Fahrzeughalterauskunft", purpose="Bewohnerparkausweis", idnr="02476291358", person=ERIKA
    )
    assert result.provider == KBA
    assert _sent(result.raw_request).issued_token == ""
    assert any(row.value == "LB-EM 1964" for row in result.rows())


async def test_a_refused_authorisation_sends_nothing(
    wired: tuple[Landscape, AsyncClient],
) -> None:
    """A purpose outside the matrix: the VS refuses through the SAK, the register sees
    nothing."""
    landscape, client = wired
    with pytest.raises(AuthorisationRefused) as caught:
        await client.fetch_evidence(
            "Meldebescheinigung",
            purpose="Neugier",
            idnr="02476291358",
            person=ERIKA,
            region="08118079",
        )
    assert caught.value.component == landscape.topology.platform.vs_id
    assert _outcomes(landscape, MELD) == []


async def test_an_unknown_person_is_the_registers_0004(
    wired: tuple[Landscape, AsyncClient],
) -> None:
    """An IDNr the register does not know: NotFound reported by the register."""
    _landscape, client = wired
    with pytest.raises(NotFound) as caught:
        await client.fetch_evidence(
            "Fahrzeughalterauskunft",
            purpose="Bewohnerparkausweis",
            idnr="01234567837",
            person=PersonQuery("Nils", "Niemand", date(1990, 1, 1)),
        )
    assert caught.value.component == KBA


async def test_an_announced_evidence_is_collected_when_due(
    wired: tuple[Landscape, AsyncClient],
) -> None:
    """Clara Später's vehicle data are announced for later: the client submits the same 0101
    again when due (the landscape clock moved instead of waiting) and gets them."""
    landscape, client = wired
    result = await client.fetch_evidence(
        "Fahrzeughalterauskunft", purpose="Bewohnerparkausweis", idnr="01234567907", person=CLARA
    )
    assert result.attempts == 2
    assert len(set(result.envelope_ids)) == 2
    assert _outcomes(landscape, BPA) == ["pending", "delivered"]
