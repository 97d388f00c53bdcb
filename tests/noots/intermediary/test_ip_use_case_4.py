"""Use case 4 in process: a German online service orders an Austrian degree through the IP."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlparse

import httpx

from noots import messages, xml
from noots.errors import EdmCode
from noots.messages import (
    Agent,
    Authority,
    EvidenceOrder,
    EvidenceOrderErrorResponse,
    EvidenceOrderResponse,
    GetEvidence,
    GetEvidenceErrorResponse,
    GetEvidenceResponse,
    Requirement,
)
from noots.testing.eu import DEGREE, DEGREE_REQUIREMENT
from noots.testing.messages import sample_person
from tests.noots.intermediary.eu_support import HOSTS, EuLandscape, eu_landscape

Check = Callable[[bytes], list[str]]
ONLINE_SERVICE = Agent("08111000-ANE-07", "Stadt Stuttgart, Anerkennung ausländischer Abschlüsse")
PLATFORM = Agent("noots-ip", "Intermediäre Plattform")
BACK = "http://os.test/anerkennung/zurueck?vorgang=17"


def order(
    land: EuLandscape, *, country: str | None = "AT", evidence: str | None = None
) -> EvidenceOrder:
    evidence_type = messages.EvidenceType(
        evidence or DEGREE.classification,
        DEGREE.title,
        __import__("uuid").UUID(DEGREE.identifier),
        "application/pdf",
    )
    return EvidenceOrder.new(
        requester=ONLINE_SERVICE,
        platform=PLATFORM,
        procedure="T3",
        requirements=(
            Requirement(DEGREE_REQUIREMENT.identifier, DEGREE_REQUIREMENT.name, country),
        ),
        evidence_type=evidence_type,
        subject=sample_person(),
        back_url=BACK,
        clock=land.clock,
        test=True,
    )


async def post_national(
    land: EuLandscape, message: messages.Message
) -> tuple[int, messages.Message]:
    response = await land.client.post(
        HOSTS["ip"] + "/ip/v1/xnachweis", content=messages.to_bytes(message)
    )
    return response.status_code, messages.parse(xml.parse(response.content), messages.ANY)


def collect(land: EuLandscape, conversation: str) -> GetEvidence:
    return GetEvidence.new(
        conversation_id=conversation,
        requester=Authority.of(ONLINE_SERVICE),
        platform=Authority.of(PLATFORM),
        clock=land.clock,
        test=True,
    )


async def citizen_flow(
    land: EuLandscape, url_to_ip: str, *, approve: bool = True
) -> httpx.Response:
    """The citizen: identify at the IP, preview at the Austrian provider, come back."""
    page = await land.client.get(url_to_ip)
    assert page.status_code == 200
    assert "Universität Wien" in page.text
    to_preview = await land.client.post(url_to_ip + "/identify", data={"eid": "yes"})
    assert to_preview.status_code == 303
    preview = to_preview.headers["location"]
    assert preview.startswith(HOSTS["at"] + "/preview/")
    returnurl = parse_qs(urlparse(preview).query)["returnurl"][0]
    shown = await land.client.get(preview)
    assert "Magistra der Philosophie" in shown.text
    decided = await land.client.post(
        preview.split("?")[0],
        data={"decision": "approve" if approve else "decline", "returnurl": returnurl},
    )
    assert decided.headers["location"] == returnurl
    return await land.client.get(returnurl)


async def test_order_preview_collect(xnachweis_check: Check) -> None:
    """0401 → 0402 (URLtoIP, ConversationID); the citizen identifies, previews in Austria and
    returns to BackToEvidenceRequesterURL; 0411 → 0412 with the degree; all messages valid."""
    with eu_landscape() as land:
        the_order = order(land)
        assert xnachweis_check(messages.to_bytes(the_order)) == []
        status, answer = await post_national(land, the_order)
        assert status == 200
        assert isinstance(answer, EvidenceOrderResponse)
        assert xnachweis_check(messages.to_bytes(answer)) == []
        assert answer.order_id == the_order.order_id
        get = collect(land, answer.conversation_id)
        _, early = await post_national(land, get)
        assert isinstance(early, GetEvidenceResponse)
        assert early.pending
        back = await citizen_flow(land, answer.url_to_ip)
        assert back.status_code == 303
        assert back.headers["location"] == BACK
        status, collected = await post_national(land, collect(land, answer.conversation_id))
        assert status == 200
        assert isinstance(collected, GetEvidenceResponse)
        assert xnachweis_check(messages.to_bytes(collected)) == []
        (evidence,) = collected.evidences
        assert evidence.document.startswith(b"%PDF-1.4")
        assert evidence.media_type == "application/pdf"
        assert collected.provider.name == "Universität Wien"
        assert collected.platform == PLATFORM
        assert collected.requester == ONLINE_SERVICE


async def test_declined_preview_gives_0413() -> None:
    """When the citizen declines in Austria, the collection answers 0413 EDM:ERR:0004."""
    with eu_landscape() as land:
        _, answer = await post_national(land, order(land))
        assert isinstance(answer, EvidenceOrderResponse)
        await citizen_flow(land, answer.url_to_ip, approve=False)
        _, collected = await post_national(land, collect(land, answer.conversation_id))
        assert isinstance(collected, GetEvidenceErrorResponse)
        assert collected.code is EdmCode.NOT_FOUND


async def test_unknown_evidence_type_is_refused_with_0403(xnachweis_check: Check) -> None:
    """An evidence type the Evidence Broker does not list: 0403 EDM:ERR:0007."""
    with eu_landscape() as land:
        unknown = (
            messages.EVIDENCE_TYPE_CLASSIFICATION_PREFIX + "00000000-0000-4000-8000-000000000000"
        )
        status, answer = await post_national(land, order(land, evidence=unknown))
        assert isinstance(answer, EvidenceOrderErrorResponse)
        assert answer.code is EdmCode.UNSUPPORTED_CAPABILITY
        assert status == 422
        assert xnachweis_check(messages.to_bytes(answer)) == []


async def test_order_without_member_state_is_invalid() -> None:
    """An order that names no member state is refused 0403 EDM:ERR:0003."""
    with eu_landscape() as land:
        _, answer = await post_national(land, order(land, country=None))
        assert isinstance(answer, EvidenceOrderErrorResponse)
        assert answer.code is EdmCode.INVALID_REQUEST


async def test_unknown_conversation_and_foreign_collector() -> None:
    """0411 for an unknown conversation → 0413 EDM:ERR:0006; by another service → 0002."""
    with eu_landscape() as land:
        _, unknown = await post_national(land, collect(land, "conversation-unknown"))
        assert isinstance(unknown, GetEvidenceErrorResponse)
        assert unknown.code is EdmCode.UNRESOLVED_REFERENCE
        _, answer = await post_national(land, order(land))
        assert isinstance(answer, EvidenceOrderResponse)
        intruder = GetEvidence.new(
            conversation_id=answer.conversation_id,
            requester=Authority("08111000-XXX-99", "Andere Behörde"),
            platform=Authority.of(PLATFORM),
            clock=land.clock,
        )
        _, refused = await post_national(land, intruder)
        assert isinstance(refused, GetEvidenceErrorResponse)
        assert refused.code is EdmCode.AUTHORISATION


async def test_member_state_timeout_gives_0413_timeout() -> None:
    """A member state that does not answer in time: the citizen returns, 0413 EDM:ERR:0005."""
    with eu_landscape(provider_delay=2.0, eu_timeout=0.3) as land:
        _, answer = await post_national(land, order(land))
        assert isinstance(answer, EvidenceOrderResponse)
        identified = await land.client.post(answer.url_to_ip + "/identify", data={"eid": "yes"})
        assert identified.headers["location"] == BACK
        _, collected = await post_national(land, collect(land, answer.conversation_id))
        assert isinstance(collected, GetEvidenceErrorResponse)
        assert collected.code is EdmCode.TIMEOUT


async def test_national_endpoint_refuses_other_messages() -> None:
    """A 0101 sent to the IP's national endpoint is refused (HTTP 400)."""
    from noots.clock import ManualClock
    from noots.testing.messages import sample_request

    with eu_landscape() as land:
        response = await land.client.post(
            HOSTS["ip"] + "/ip/v1/xnachweis",
            content=messages.to_bytes(sample_request(ManualClock(land.clock.now()))),
        )
        assert response.status_code == 400


async def test_an_unknown_preview_link_is_not_found() -> None:
    """The Austrian preview page for a token it never issued answers 404, GET and POST."""
    with eu_landscape() as land:
        page = await land.client.get(HOSTS["at"] + "/preview/unknown")
        decided = await land.client.post(
            HOSTS["at"] + "/preview/unknown", data={"decision": "approve"}
        )
        assert (page.status_code, decided.status_code) == (404, 404)
