"""Use case 3 in process: a French authority asks the German IP for a Geburtsurkunde."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import urlparse

import pytest

from noots import messages
from noots.errors import EdmCode
from noots.eu import ebms, edm
from noots.eu.edm import EdmNaturalPerson, QueryErrorResponse, QueryResponse
from noots.pki import Role
from noots.signing import XmlSigner
from noots.testing.eu import BIRTH_CERTIFICATE, DEGREE, GERMAN_IP, sample_query
from noots.xml import parse
from tests.noots.intermediary.eu_support import HOSTS, EuLandscape, eu_landscape

Check = Callable[[bytes], list[str]]
ERIKA = EdmNaturalPerson("Mustermann", "Erika", date(1964, 8, 12))


async def test_evidence_without_preview(xnachweis_check: Check) -> None:
    """Without PossibilityForPreview the answer carries the register's evidence, and the
    0301 the IP sent is valid against the official XNachweis schema."""
    with eu_landscape() as land:
        outcome = await land.requester.ask(ERIKA, preview=False)
        answer = outcome.answer
        assert isinstance(answer, QueryResponse)
        (evidence,) = answer.evidences
        assert evidence.document.startswith(b"<?xml")
        assert evidence.classification == BIRTH_CERTIFICATE.classification
        assert evidence.issuing_authority.name == "Standesamt Stuttgart"
        (sent,) = land.national.asked
        assert xnachweis_check(messages.to_bytes(sent)) == []
        assert sent.requester.identifier == "21690123100011"
        assert sent.subject.idnr is None  # type: ignore[union-attr]


async def test_preview_then_evidence() -> None:
    """With PossibilityForPreview the IP first answers PreviewRequired; after the user agreed
    on the German preview page the repeated request gets the evidence."""
    with eu_landscape() as land:
        first = await land.requester.ask(ERIKA, preview=True)
        location = first.preview_location
        assert location is not None
        assert location.startswith(HOSTS["ip"] + "/ip/v1/preview/")
        waiting = await land.requester.after_preview(first)
        assert waiting.preview_location == location  # undecided: preview still required
        page = await land.client.get(location)
        assert page.status_code == 200
        assert "Geburtsurkunde" in page.text
        path = urlparse(location).path
        decided = await land.client.post(
            HOSTS["ip"] + path,
            data={"decision": "approve", "eid": "yes", "returnurl": "http://fr.test/back"},
        )
        assert decided.status_code == 303
        assert decided.headers["location"] == "http://fr.test/back"
        final = await land.requester.after_preview(first)
        assert isinstance(final.answer, QueryResponse)
        assert len(land.national.asked) == 1  # the register was asked once


async def test_declined_preview_is_object_not_found() -> None:
    """When the user declines, the repeated request is answered EDM:ERR:0004."""
    with eu_landscape() as land:
        first = await land.requester.ask(ERIKA, preview=True)
        assert first.preview_location is not None
        await land.client.post(
            first.preview_location, data={"decision": "decline", "returnurl": ""}
        )
        final = await land.requester.after_preview(first)
        assert isinstance(final.answer, QueryErrorResponse)
        assert final.answer.code is EdmCode.NOT_FOUND


async def test_unknown_person_is_object_not_found() -> None:
    """A person the register does not know: the register's 0303 becomes EDM:ERR:0004 with
    the ObjectNotFound exception type."""
    with eu_landscape() as land:
        outcome = await land.requester.ask(
            EdmNaturalPerson("Niemand", "Nemo", date(1990, 1, 1)), preview=False
        )
        answer = outcome.answer
        assert isinstance(answer, QueryErrorResponse)
        assert answer.code is EdmCode.NOT_FOUND
        assert answer.error.exception_type == (edm.NS_RS, "ObjectNotFoundExceptionType")
        assert answer.error_provider.classification == "ERRP"


async def test_unknown_evidence_type_is_unsupported() -> None:
    """An evidence type no German register provides is EDM:ERR:0007, the register untouched."""
    with eu_landscape() as land:
        request = edm.QueryRequest.new(
            procedure="T3",
            requester=sample_query(land.clock).requester,
            provider=GERMAN_IP,
            evidence_type=DEGREE,
            subject=ERIKA,
            clock=land.clock,
        )
        outcome = await land.requester.send(request, "eu-gw-de")
        assert isinstance(outcome.answer, QueryErrorResponse)
        assert outcome.answer.code is EdmCode.UNSUPPORTED_CAPABILITY
        assert land.national.asked == []


async def test_register_timeout_is_edm_timeout() -> None:
    """A register slower than the IP's national timeout: EDM:ERR:0005."""
    with eu_landscape(national_delay=2.0) as land:
        outcome = await land.requester.ask(ERIKA, preview=False)
        assert isinstance(outcome.answer, QueryErrorResponse)
        assert outcome.answer.code is EdmCode.TIMEOUT


async def test_tampered_message_is_refused_unread() -> None:
    """A message changed after signing is refused (HTTP 400) and never reaches the register."""
    with eu_landscape() as land:
        message = ebms.UserMessage.new(
            edm_document=edm.to_bytes(sample_query(land.clock)),
            from_party="eu-gw-fr",
            to_party="eu-gw-de",
            action=ebms.ACTION_REQUEST,
            original_sender=ebms.PartyProperty.of(sample_query(land.clock).requester),
            final_recipient=ebms.PartyProperty.of(GERMAN_IP),
            clock=land.clock,
        )
        signer = XmlSigner(land.pki.credential("eu-gw-fr", Role.SIMULATOR))
        body = ebms.seal_user_message(message, signer)
        tampered = body.replace(b"ExecuteQueryRequest", b"ExecuteQueryRequesT", 1)
        response = await land.client.post(HOSTS["ip"] + "/ip/v1/as4", content=tampered)
        assert response.status_code == 400
        assert land.national.asked == []


@pytest.mark.parametrize("field", ["to", "sender"])
async def test_misaddressed_message_is_refused(field: str) -> None:
    """A message for another access point, or whose originalSender is not the requester, is
    refused before anything is asked."""
    with eu_landscape() as land:
        query = sample_query(land.clock)
        message = ebms.UserMessage.new(
            edm_document=edm.to_bytes(query),
            from_party="eu-gw-fr",
            to_party="eu-gw-at" if field == "to" else "eu-gw-de",
            action=ebms.ACTION_REQUEST,
            original_sender=ebms.PartyProperty.of(
                GERMAN_IP if field == "sender" else query.requester
            ),
            final_recipient=ebms.PartyProperty.of(GERMAN_IP),
            clock=land.clock,
        )
        body = ebms.seal_user_message(
            message, XmlSigner(land.pki.credential("eu-gw-fr", Role.SIMULATOR))
        )
        response = await land.client.post(HOSTS["ip"] + "/ip/v1/as4", content=body)
        assert response.status_code == 400
        assert land.national.asked == []


def _sealed(land: EuLandscape, query: edm.QueryRequest | bytes, **changes: Any) -> bytes:
    """``query`` (or EDM bytes) in a message from the French access point, sealed."""
    import dataclasses

    document = query if isinstance(query, bytes) else edm.to_bytes(query)
    message = ebms.UserMessage.new(
        edm_document=document,
        from_party="eu-gw-fr",
        to_party="eu-gw-de",
        action=ebms.ACTION_REQUEST,
        original_sender=ebms.PartyProperty.of(sample_query(land.clock).requester),
        final_recipient=ebms.PartyProperty.of(GERMAN_IP),
        clock=land.clock,
    )
    message = dataclasses.replace(message, **changes)
    signer = XmlSigner(land.pki.credential("eu-gw-fr", Role.SIMULATOR))
    return ebms.seal_user_message(message, signer)


def _opened_answer(land: EuLandscape, raw: bytes) -> edm.EdmMessage:
    from noots.participant import load_participant

    french = load_participant(land.pki.directory, "eu-gw-fr", clock=land.clock)
    opened = ebms.open_user_message(raw, french.verifier)
    return edm.parse(parse(opened.message.edm_document), opened.message.attachments)


async def test_a_replayed_message_is_refused_and_not_asked_again() -> None:
    """The same ebMS message twice: answered once, the second refused before anything is
    asked (the register is asked once)."""
    with eu_landscape() as land:
        body = _sealed(land, sample_query(land.clock))
        first = await land.client.post(HOSTS["ip"] + "/ip/v1/as4", content=body)
        again = await land.client.post(HOSTS["ip"] + "/ip/v1/as4", content=body)
        assert first.status_code == 200
        assert again.status_code == 400
        assert b"already received" in again.content
        assert len(land.national.asked) == 1


@pytest.mark.parametrize("minutes", [-60, 60])
async def test_a_stale_or_future_timestamp_is_refused(minutes: int) -> None:
    """An ebMS Timestamp an hour old (or ahead) is outside the window: refused, not asked."""
    from datetime import timedelta

    with eu_landscape() as land:
        body = _sealed(
            land,
            sample_query(land.clock),
            timestamp=land.clock.now() + timedelta(minutes=minutes),
        )
        response = await land.client.post(HOSTS["ip"] + "/ip/v1/as4", content=body)
        assert response.status_code == 400
        assert land.national.asked == []


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (
            lambda text: text.replace(
                b'<rim:Slot name="Procedure">', b'<rim:Slot name="Procedur">', 1
            ),
            EdmCode.INVALID_REQUEST,
        ),
        (
            lambda text: text.replace(
                b'<rim:Slot name="PossibilityForPreview"><rim:SlotValue '
                b'xsi:type="rim:BooleanValueType">',
                b'<rim:Slot name="PossibilityForPreview"><rim:SlotValue '
                b'xsi:type="rim:StringValueType">',
                1,
            ),
            EdmCode.INVALID_REQUEST,
        ),
    ],
    ids=["unknown-slot", "wrong-slot-type"],
)
async def test_a_malformed_edm_request_is_an_invalid_request_exception(
    change: Callable[[bytes], bytes], code: EdmCode
) -> None:
    """A verified message whose QueryRequest breaks the EDM structure: a signed
    ExceptionResponse with EDM:ERR:0003 (rs:InvalidRequestExceptionType) for the request id
    it carries, without personal data, and nothing asked."""
    with eu_landscape() as land:
        query = sample_query(land.clock)
        document = edm.to_bytes(query)
        broken = change(document)
        assert broken != document
        response = await land.client.post(HOSTS["ip"] + "/ip/v1/as4", content=_sealed(land, broken))
        assert response.status_code == 200
        answer = _opened_answer(land, response.content)
        assert isinstance(answer, QueryErrorResponse)
        assert answer.request_id == query.request_id
        assert answer.code is code
        assert answer.error.exception_type is not None
        assert answer.error.exception_type[1] == "InvalidRequestExceptionType"
        assert b"Mustermann" not in response.content
        assert land.national.asked == []


def test_structural_detail_keeps_names_and_drops_values() -> None:
    """A parser message quoted back abroad keeps the EDM's names, never a value."""
    from noots.intermediary.eu.gateway import structural_detail

    assert structural_detail("QueryRequest: missing slot 'Procedure'") == (
        "QueryRequest: missing slot 'Procedure'"
    )
    assert structural_detail("DateOfBirth: not a date: '1964-13-12'") == (
        "DateOfBirth: not a date: '…'"
    )
