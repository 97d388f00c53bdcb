"""Use case 3 through the SAKs, in process: the Mairie de Lyon asks the landscape's IP, which
finds the register through its SAK (RDN) and sends the 0301 through its SAK to the register's
SAK; real apps, real signatures, no sockets."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from noots import messages, trace
from noots.clock import SystemClock
from noots.protocol import open_protocol_log
from noots.testing.landscape import Landscape, bootstrap, landscape_in_process
from noots.testing.trace import RecordingSink
from noots.trace import Hop
from noots.xml import parse

Check = Callable[[bytes], list[str]]
PSTR = "992-00001PSTR-10"
ERIKA = {"familyName": "Mustermann", "givenName": "Erika", "dateOfBirth": "1964-08-12"}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("ip-landscape")
    bootstrap(data_dir, people=60)
    return data_dir


@pytest.fixture
async def land(
    template: Path, tmp_path: Path
) -> AsyncIterator[tuple[Landscape, httpx.AsyncClient, RecordingSink]]:
    data_dir = tmp_path / "data"
    shutil.copytree(template, data_dir)
    sink = RecordingSink()
    with trace.installed(sink):
        async with (
            landscape_in_process(data_dir, consumers=False) as (landscape, routes),
            httpx.AsyncClient(transport=routes, timeout=60) as http,
        ):
            yield landscape, http, sink


async def ask(land: tuple[Landscape, httpx.AsyncClient, RecordingSink], **body: Any) -> Any:
    landscape, http, _sink = land
    response = await http.post(landscape.url("eu-gw-fr") + "/requests", json={**ERIKA, **body})
    assert response.status_code == 200
    return response.json()


def documents(sink: RecordingSink, hop: Hop, label: str) -> list[bytes]:
    return [
        document.xml
        for event in sink.for_hop(hop)
        for document in event.documents
        if document.label.startswith(label)
    ]


async def test_evidence_from_the_german_register(
    land: tuple[Landscape, httpx.AsyncClient, RecordingSink], xnachweis_check: Check
) -> None:
    """The Lyon requester gets the Geburtsurkunde; the 0301 the IP sent and the 0302 it got
    validate against the official schema, the 0301 carries no IDNr and the document neither."""
    answer = await ask(land, preview=False)
    assert answer["outcome"] == "evidence", answer
    _landscape, _http, sink = land
    (sent,) = documents(sink, Hop.DC_SAK, "Nachweisanfrage (DE.EvidenceRequest.0301)")
    assert xnachweis_check(sent) == []
    request = messages.parse(parse(sent), messages.ANY)
    assert isinstance(request, messages.EuEvidenceRequest)
    assert request.subject.idnr is None  # type: ignore[union-attr]
    (received,) = documents(sink, Hop.SAK_DC, "Antwort (0302/0303)")
    assert xnachweis_check(received) == []
    response = messages.parse(parse(received), messages.ANY)
    assert isinstance(response, messages.EuEvidenceResponse)
    assert b"IDNr" not in response.evidences[0].document


async def test_one_trace_from_the_eu_to_the_register_and_back(
    land: tuple[Landscape, httpx.AsyncClient, RecordingSink],
) -> None:
    """Every hop of the exchange carries the 0301's request id: EU → IP, IP → its SAK, its
    SAK ⇄ RDN, the SAKs, the register, and the EDM answer back."""
    await ask(land, preview=False)
    _landscape, _http, sink = land
    (first,) = sink.for_hop(Hop.EU_IP)
    hops = {event.hop for event in sink.for_trace(first.trace_id or "")}
    assert {
        Hop.EU_IP,
        Hop.DC_SAK,
        Hop.SAK_RDN,
        Hop.SAK_SAK,
        Hop.SAK_DP,
        Hop.DP_SAK,
        Hop.SAK_SAK_ANSWER,
        Hop.SAK_DC,
        Hop.IP_EU,
    } <= hops


async def test_the_register_logs_the_eu_authority(
    land: tuple[Landscape, httpx.AsyncClient, RecordingSink],
) -> None:
    """§ 9 IDNrG: the register's protocol names the French authority as receiver, no IDNr."""
    await ask(land, preview=False)
    landscape, _http, _sink = land
    log = open_protocol_log(
        landscape.data_dir / "logs" / f"{PSTR}.db", party=PSTR, clock=SystemClock()
    )
    try:
        (entry,) = log.entries()
    finally:
        log.close()
    assert entry.consumer == "0009:21690123100011"
    assert entry.idnr is None
    assert entry.outcome == "delivered"


async def test_unknown_person_is_object_not_found(
    land: tuple[Landscape, httpx.AsyncClient, RecordingSink],
) -> None:
    """Nobody by these basic data: the register's 0303 becomes EDM:ERR:0004."""
    answer = await ask(
        land, familyName="Niemand", givenName="Nils", dateOfBirth="1990-01-01", preview=False
    )
    assert (answer["outcome"], answer["code"]) == ("error", "EDM:ERR:0004")


async def test_ambiguous_person_is_object_not_found(
    land: tuple[Landscape, httpx.AsyncClient, RecordingSink],
) -> None:
    """Two entries match the basic data: the same EDM:ERR:0004 as unknown."""
    answer = await ask(
        land, familyName="Doppelmann", givenName="Max", dateOfBirth="1988-07-07", preview=False
    )
    assert (answer["outcome"], answer["code"]) == ("error", "EDM:ERR:0004")


async def test_preview_then_evidence(
    land: tuple[Landscape, httpx.AsyncClient, RecordingSink],
) -> None:
    """With preview the IP answers PreviewRequired; after the user's approval the repeated
    request gets the evidence, the register asked once."""
    landscape, http, sink = land
    first = await ask(land, preview=True)
    assert first["outcome"] == "preview"
    location = first["previewLocation"]
    assert location.startswith(landscape.url("noots-ip") + "/ip/v1/preview/")
    decided = await http.post(location, data={"decision": "approve", "eid": "yes"})
    assert decided.status_code == 200
    again = await http.post(landscape.url("eu-gw-fr") + f"/requests/{first['id']}/continue")
    assert again.json()["outcome"] == "evidence"
    assert len(sink.for_hop(Hop.SAK_DP, component=PSTR)) == 1


async def test_an_eu_type_no_german_register_provides_is_unsupported(
    land: tuple[Landscape, httpx.AsyncClient, RecordingSink],
) -> None:
    """Asking Germany for the EU degree (the RDN routes it to the IP itself) or for a
    classification nobody knows: EDM:ERR:0007, no 0301 sent."""
    from noots.eu.edm import EdmEvidenceType, EdmNaturalPerson, QueryRequest
    from noots.testing.eu import DEGREE, FRENCH_AUTHORITY, GERMAN_IP

    landscape, _http, sink = land
    app = landscape.apps[landscape.url("eu-gw-fr").removeprefix("http://")]
    requester = app.state.requester
    unknown = EdmEvidenceType(
        DEGREE.identifier,
        DEGREE.classification.rpartition("/")[0] + "/00000000-0000-4000-8000-000000000000",
        "Unknown",
    )
    for kind in (DEGREE, unknown):
        request = QueryRequest.new(
            procedure="R1",
            requester=FRENCH_AUTHORITY,
            provider=GERMAN_IP,
            evidence_type=kind,
            subject=EdmNaturalPerson("Mustermann", "Erika", date(1964, 8, 12)),
            clock=requester.participant.clock,
        )
        outcome = await requester.send(request, "eu-gw-de")
        assert outcome.to_json()["code"] == "EDM:ERR:0007", outcome.answer.error.detail  # type: ignore[union-attr]
    assert documents(sink, Hop.DC_SAK, "Nachweisanfrage") == []
