"""The client library's EU calls (use case 4): order_evidence (0401 → 0402) and get_evidence
(0411 → 0412 / pending / typed error), against a scripted SAK and against the in-process
landscape (the real IP, its SAK, the EU side)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from noots import messages
from noots.clock import SystemClock
from noots.consumers import (
    AsyncClient,
    Endpoints,
    EuEvidence,
    EuEvidencePending,
    OrderPlaced,
    PersonQuery,
    RetryPolicy,
    UnlistedCodeError,
)
from noots.errors import (
    EdmCode,
    InvalidInput,
    MalformedMessage,
    NootsError,
    NotFound,
    ResponseBindingError,
    UnresolvedReference,
    UpstreamTimeout,
    error_for_code,
)
from noots.participant import Participant, load_participant
from noots.pki import Role
from noots.protocol import ProtocolLog, open_protocol_log
from noots.signing import XmlSigner, XmlVerifier
from noots.testing.landscape import Landscape, bootstrap, landscape_in_process
from noots.testing.pki import TestPki
from noots.topology import Topology, load_topology
from noots.xml import parse

Check = Callable[[bytes], list[str]]
ZAB = "991-00001ZAB-89"
IP = "noots-ip"
DEGREE = "Hochschulabschluss-EU"
ERIKA = PersonQuery("Erika", "Mustermann", date(1964, 8, 12))
NILS = PersonQuery("Nils", "Niemand", date(1990, 1, 1))
ORDER = {
    "purpose": "Zeugnisbewertung",
    "country": "AT",
    "requirement": (
        "https://sr.oots.tech.ec.europa.eu/requirements/f8a6a284-34e9-42c7-9733-63b5c4f4aa42"
    ),
    "requirement_name": "Proof of tertiary education diploma/certificate/degree",
    "back_url": "https://zab.example/zurueck",
    "procedure": "T3",
}
PDF = b"%PDF-1.4 degree"


# -- a scripted SAK ----------------------------------------------------------------------------


@dataclass
class ScriptedSak:
    """Answers the route to the IP and each 0401/0411 as ``script`` says."""

    topology: Topology
    clock: object
    script: list[str] = field(default_factory=list)
    received: list[messages.Message] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/consumer/v1/routes")
        async def routes(evidenceType: str) -> JSONResponse:
            kind = self.topology.evidence_type(evidenceType)
            return JSONResponse(
                {
                    "serviceId": self.topology.service_id(IP, kind.name),
                    "provider": {"participantId": IP, "name": "IP", "area": "eu-grenze"},
                    "evidenceType": {
                        "name": kind.name,
                        "classification": kind.classification,
                        "identifier": str(kind.identifier),
                        "title": kind.title,
                        "subject": kind.subject,
                    },
                    "vs": {
                        "withIdnr": {"required": True, "reason": "x"},
                        "withoutIdnr": {"required": False, "reason": "x"},
                    },
                }
            )

        @app.post("/consumer/v1/requests")
        async def requests(request: Request) -> Response:
            message = messages.parse(parse(await request.body()), messages.ANY)
            self.received.append(message)
            return self.answer(self.script.pop(0) if self.script else "ok", message)

        return app

    def answer(self, mode: str, message: messages.Message) -> Response:
        clock = self.clock
        ip = messages.Agent(IP, "IP")
        if mode.startswith("problem:"):
            return JSONResponse({"code": mode.removeprefix("problem:"), "detail": "x"}, 404)
        if isinstance(message, messages.EvidenceOrder):
            answer: messages.Message
            if mode == "ok":
                answer = messages.answer_order(
                    message,
                    url_to_ip="https://ip.example/ip/v1/citizen/conversation-1",
                    conversation="conversation-1",
                    clock=clock,  # type: ignore[arg-type]
                )
            else:
                answer = messages.refuse_order(message, EdmCode(mode), "scripted", clock=clock)  # type: ignore[arg-type]
            return Response(messages.to_bytes(answer), media_type="application/xml")
        assert isinstance(message, messages.GetEvidence)
        requester = messages.Agent(ZAB, "ZAB")
        provider = messages.Agent(
            "ATU37586901", "Universität Wien", scheme_id="urn:cef.eu:names:identifier:EAS:9914"
        )
        if mode in ("ok", "other-type"):
            kind = self.topology.evidence_type(DEGREE if mode == "ok" else "Geburtsurkunde")
            evidence = messages.Evidence.new(
                PDF,
                issuing_authority=provider,
                evidence_type=messages.EvidenceTypeRef(kind.classification, kind.title),
                subject=messages.NaturalPerson("Mustermann", "Erika", date(1964, 8, 12)),
                clock=clock,  # type: ignore[arg-type]
                media_type="application/pdf",
            )
            answer = messages.answer_get_evidence(
                message,
                evidence,
                provider=provider,
                platform=ip,
                requester=requester,
                clock=clock,  # type: ignore[arg-type]
            )
        elif mode == "pending":
            answer = messages.answer_get_evidence(
                message,
                provider=provider,
                platform=ip,
                requester=requester,
                clock=clock,  # type: ignore[arg-type]
                available_at=clock.now() + timedelta(seconds=30),  # type: ignore[attr-defined]
            )
        elif mode == "unlisted":
            refused = messages.refuse_get_evidence(
                message,
                EdmCode.QUERY_ERROR,
                "x",
                platform=ip,
                requester=requester,
                clock=clock,  # type: ignore[arg-type]
            )
            raw = messages.to_bytes(refused).replace(b"EDM:ERR:0008", b"NOOTS:ERR:4711")
            return Response(raw, media_type="application/xml")
        else:
            answer = messages.refuse_get_evidence(
                message,
                EdmCode(mode),
                "scripted",
                platform=ip,
                requester=requester,
                clock=clock,  # type: ignore[arg-type]
            )
        return Response(messages.to_bytes(answer), media_type="application/xml")


@pytest.fixture(scope="module")
def pki() -> Iterator[TestPki]:
    pki = TestPki()
    pki.credential(ZAB, Role.CONSUMER)
    yield pki
    pki.close()


@pytest.fixture
def sak(pki: TestPki) -> ScriptedSak:
    return ScriptedSak(load_topology(), pki.clock)


@pytest.fixture
def client(pki: TestPki, sak: ScriptedSak, tmp_path: Path) -> Iterator[AsyncClient]:
    credential = pki.credential(ZAB, Role.CONSUMER)
    validator = pki.validator()
    me = Participant(
        participant_id=ZAB,
        role=Role.CONSUMER,
        credential=credential,
        signer=XmlSigner(credential),
        verifier=XmlVerifier(validator),
        validator=validator,
        clock=pki.clock,
    )
    log = open_protocol_log(tmp_path / "zab.db", party=ZAB, clock=pki.clock)
    yield AsyncClient(
        me,
        Endpoints("http://platform.test", "http://ida.test", "http://sak.test"),
        sak.topology,
        transport=httpx.ASGITransport(app=sak.app()),
        retry=RetryPolicy(),
        rng=random.Random(7),
        protocol_log=log,
        access_tokens=None,
    )
    log.close()


async def test_an_order_names_the_ip_and_the_member_state(
    client: AsyncClient, sak: ScriptedSak, xnachweis_check: Check
) -> None:
    """order_evidence sends a valid 0401 to the IP the RDN named (no IDNr, one requirement
    with its country) and returns the citizen's link and the conversation."""
    placed = await client.order_evidence(DEGREE, person=ERIKA, **ORDER)
    assert placed.conversation_id == "conversation-1"
    assert placed.url_to_ip.startswith("https://ip.example/")
    (sent,) = sak.received
    assert isinstance(sent, messages.EvidenceOrder)
    assert sent.platform.identifier == IP
    assert [(r.identifier, r.country) for r in sent.requirements] == [(ORDER["requirement"], "AT")]
    assert isinstance(sent.subject, messages.NaturalPerson)
    assert sent.subject.idnr is None
    assert xnachweis_check(placed.raw_request) == []


@pytest.mark.parametrize("code", ["EDM:ERR:0007", "EDM:ERR:0005", "EDM:ERR:0003"])
async def test_a_refused_order_is_the_typed_error(
    client: AsyncClient, sak: ScriptedSak, code: str
) -> None:
    """A 0403 raises the error class of its code, as fetch_evidence would."""
    sak.script = [code]
    with pytest.raises(NootsError) as info:
        await client.order_evidence(DEGREE, person=ERIKA, **ORDER)
    assert type(info.value) is type(error_for_code(code, ""))
    assert info.value.code.value == code


async def test_collecting_delivers_the_evidence(
    client: AsyncClient, sak: ScriptedSak, xnachweis_check: Check
) -> None:
    """get_evidence sends a valid 0411 for the conversation and returns the document."""
    sak.script = ["ok", "ok"]
    placed = await client.order_evidence(DEGREE, person=ERIKA, **ORDER)
    found = await client.get_evidence(placed)
    assert isinstance(found, EuEvidence)
    assert found.document == PDF
    assert found.media_type == "application/pdf"
    assert ("Ausgestellt von", "Universität Wien") in found.rows()
    sent = sak.received[-1]
    assert isinstance(sent, messages.GetEvidence)
    assert sent.conversation_id == "conversation-1"
    assert xnachweis_check(found.raw_request) == []


async def test_collecting_too_early_is_pending(client: AsyncClient, sak: ScriptedSak) -> None:
    """While the citizen is not done, the 0412 announces a time: EuEvidencePending."""
    sak.script = ["ok", "pending"]
    placed = await client.order_evidence(DEGREE, person=ERIKA, **ORDER)
    found = await client.get_evidence(placed)
    assert isinstance(found, EuEvidencePending)
    assert found.available_at > sak.clock.now()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("EDM:ERR:0004", NotFound),
        ("EDM:ERR:0006", UnresolvedReference),
        ("EDM:ERR:0005", UpstreamTimeout),
        ("unlisted", UnlistedCodeError),
        ("other-type", ResponseBindingError),
        ("problem:EDM:ERR:0003", InvalidInput),
    ],
)
async def test_a_failed_collection_is_the_typed_error(
    client: AsyncClient, sak: ScriptedSak, mode: str, error: type[Exception]
) -> None:
    """A 0413 (declined: 0004, unknown conversation: 0006, …), an unlisted code, evidence of
    another type or a JSON problem raise the typed error; nothing is returned."""
    sak.script = ["ok", mode]
    placed = await client.order_evidence(DEGREE, person=ERIKA, **ORDER)
    with pytest.raises(error):
        await client.get_evidence(placed)


async def test_a_conversation_id_alone_needs_its_evidence_type(client: AsyncClient) -> None:
    """Collecting by id without the evidence type and purpose is refused before anything
    is sent."""
    with pytest.raises(Exception, match="evidence type"):
        await client.get_evidence("conversation-1")


async def test_a_request_echoed_is_no_answer(client: AsyncClient, sak: ScriptedSak) -> None:
    """An answer of the wrong type (here: a 0401 echoed) is refused as malformed."""

    def echo(mode: str, message: messages.Message) -> Response:
        return Response(messages.to_bytes(message), media_type="application/xml")

    sak.answer = echo  # type: ignore[method-assign]
    with pytest.raises(MalformedMessage):
        await client.order_evidence(DEGREE, person=ERIKA, **ORDER)


async def test_every_order_and_collection_is_logged(
    client: AsyncClient, sak: ScriptedSak, tmp_path: Path
) -> None:
    """§ 9 IDNrG logging by the online service: the order and each collection, no IDNr."""
    sak.script = ["ok", "pending", "ok"]
    placed = await client.order_evidence(DEGREE, person=ERIKA, **ORDER)
    await client.get_evidence(placed)
    await client.get_evidence(placed)
    log: ProtocolLog = client.protocol_log  # type: ignore[assignment]
    outcomes = [(e.provider, e.outcome, e.idnr) for e in log.entries()]
    assert outcomes == [(IP, "delivered", None), (IP, "pending", None), (IP, "delivered", None)]


# -- against the in-process landscape -----------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("eu-landscape")
    bootstrap(data_dir, people=60)
    return data_dir


@pytest.fixture
async def landscape(
    template: Path, tmp_path: Path
) -> AsyncIterator[tuple[Landscape, httpx.AsyncBaseTransport, AsyncClient]]:
    import shutil

    data_dir = tmp_path / "data"
    shutil.copytree(template, data_dir)
    async with landscape_in_process(data_dir, consumers=False) as (land, routes):
        me = load_participant(data_dir / "pki", ZAB, clock=SystemClock())
        async with AsyncClient(
            me,
            Endpoints.from_topology(land.topology, consumer=ZAB),
            land.topology,
            transport=routes,
        ) as client:
            yield land, routes, client


async def _citizen(routes: httpx.AsyncBaseTransport, placed: OrderPlaced, decision: str) -> str:
    """The citizen: the IP's page, the simulated EU login, the Austrian preview space, back
    through the IP to the online service (the last redirect's target)."""
    async with httpx.AsyncClient(transport=routes) as browser:
        assert (await browser.get(placed.url_to_ip)).status_code == 200
        identified = await browser.post(placed.url_to_ip + "/identify", data={"eid": "yes"})
        preview = identified.headers["location"]
        assert (await browser.get(preview)).status_code == 200
        path, _, query = preview.partition("?")
        back = unquote(query.removeprefix("returnurl="))
        decided = await browser.post(path, data={"decision": decision, "returnurl": back})
        returned = await browser.get(decided.headers["location"])
        return str(returned.headers["location"])


async def test_use_case_4_through_the_saks(
    landscape: tuple[Landscape, httpx.AsyncBaseTransport, AsyncClient],
) -> None:
    """Order through the SAKs, the citizen at the IP and in Vienna, collect: the degree."""
    _land, routes, client = landscape
    placed = await client.order_evidence(DEGREE, person=ERIKA, **ORDER)
    assert isinstance(await client.get_evidence(placed), EuEvidencePending)
    assert await _citizen(routes, placed, "approve") == ORDER["back_url"]
    found = await client.get_evidence(placed)
    assert isinstance(found, EuEvidence)
    assert found.document.startswith(b"%PDF")
    assert found.issuer == "Universität Wien"


async def test_use_case_4_declined_is_not_found(
    landscape: tuple[Landscape, httpx.AsyncBaseTransport, AsyncClient],
) -> None:
    """When the citizen declines in the preview space, collecting is EDM:ERR:0004."""
    _land, routes, client = landscape
    placed = await client.order_evidence(DEGREE, person=ERIKA, **ORDER)
    await _citizen(routes, placed, "decline")
    with pytest.raises(NotFound):
        await client.get_evidence(placed)


async def test_an_unknown_conversation_is_refused_by_the_ip(
    landscape: tuple[Landscape, httpx.AsyncBaseTransport, AsyncClient],
) -> None:
    """Collecting a conversation the IP never opened: EDM:ERR:0006 from the IP."""
    _land, _routes, client = landscape
    with pytest.raises(UnresolvedReference) as info:
        await client.get_evidence(
            "conversation-unknown", evidence_type=DEGREE, purpose="Zeugnisbewertung"
        )
    assert info.value.component == IP
