"""The connection conditions DP-01…DP-15, checked for every register with real signed requests
over in-process ASGI."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from noots import messages
from noots.envelope import OpenedEnvelope, check_binding, open_envelope, request_digest
from noots.errors import EdmCode
from noots.messages import NaturalPerson
from noots.pki import Role
from noots.signing import XmlSigner
from noots.testing.pki import TestPki
from noots.xml import serialize
from registers.documents import parse_document, schema_errors
from registers.identities import identity
from tests.registers.support import Landscape, Running

REGISTERS = ["melderegister", "personenstandsregister", "kba", "handelsregister"]
NATURAL = ["melderegister", "personenstandsregister", "kba"]


def answer(
    landscape: Landscape, running: Running, response: httpx.Response, raw: bytes
) -> tuple[OpenedEnvelope, Any]:
    """Verify the register's answer as a consumer would: signature, signer, binding."""
    assert response.headers["content-type"].startswith("application/xml")
    opened = open_envelope(response.content, landscape.pki.verifier(), required_role=Role.PROVIDER)
    assert opened.signer.participant_id == running.case.register
    check_binding(opened, raw)
    return opened, messages.parse(opened.body)


def refused(
    landscape: Landscape, running: Running, response: httpx.Response, raw: bytes, code: EdmCode
) -> messages.EvidenceErrorResponse:
    _, message = answer(landscape, running, response, raw)
    assert isinstance(message, messages.EvidenceErrorResponse), message
    assert message.code is code, (message.code, message.errors[0].detail)
    expected_status = {
        EdmCode.AUTHENTICATION: 401,
        EdmCode.AUTHORISATION: 403,
        EdmCode.INVALID_REQUEST: 400,
        EdmCode.NOT_FOUND: 404,
        EdmCode.UNRESOLVED_REFERENCE: 404,
        EdmCode.UNSUPPORTED_CAPABILITY: 422,
        EdmCode.QUERY_ERROR: 500,
    }[code]
    assert response.status_code == expected_status
    return message


def no_personal_data(body: bytes, subject: messages.Subject) -> None:
    """Nothing that identifies the subject appears in the answer."""
    text = body.decode("utf-8")
    if isinstance(subject, NaturalPerson):
        values = [subject.family_name, subject.date_of_birth.isoformat()]
        if subject.idnr:
            values.append(subject.idnr)
    else:
        values = [subject.legal_name, *(i.value for i in subject.identifiers)]
    for value in values:
        assert value not in text, f"{value!r} leaked into the refusal"


def body_bytes(opened: OpenedEnvelope) -> bytes:
    return serialize(opened.body)


# -- DP-01 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REGISTERS)
async def test_dp01_valid_request_gets_a_valid_0102_with_a_valid_document(
    name: str, landscape: Landscape, start_register: Any, xnachweis_check: Callable[..., Any]
) -> None:
    """DP-01: a valid request is answered with a schema-valid 0102 carrying a valid document."""
    async with start_register(name) as running:
        signed = running.signed()
        response = await running.post(signed.raw)
        assert response.status_code == 200, response.text
        opened, message = answer(landscape, running, response, signed.raw)
        assert isinstance(message, messages.EvidenceResponse)
        assert xnachweis_check(body_bytes(opened)) == []
        evidence = message.evidence
        assert evidence is not None
        assert schema_errors(etree.fromstring(evidence.document)) == []
        document = parse_document(evidence.document)
        spec = landscape.topology.evidence_type(running.case.evidence_type)
        assert evidence.conformance.classification == spec.classification
        assert evidence.issuing_authority.identifier == running.case.register
        assert evidence.subject == signed.request.subject
        if isinstance(signed.request.subject, NaturalPerson):
            assert signed.request.subject.idnr in evidence.document.decode()
        else:
            assert getattr(document, "number", None) == "254871"


@pytest.mark.parametrize("name", REGISTERS)
async def test_dp01_every_refusal_is_a_schema_valid_0103(
    name: str, landscape: Landscape, start_register: Any, xnachweis_check: Callable[..., Any]
) -> None:
    """DP-01: refusals are valid 0103 messages too (here: not found)."""
    async with start_register(name) as running:
        signed = running.signed(running.case.unknown)
        response = await running.post(signed.raw)
        refused(landscape, running, response, signed.raw, EdmCode.NOT_FOUND)
        opened, _ = answer(landscape, running, response, signed.raw)
        assert xnachweis_check(body_bytes(opened)) == []


async def test_dp01_melderegister_korntal_answers_erika(
    landscape: Landscape, start_register: Any
) -> None:
    """DP-01: the Melderegister of Korntal-Münchingen certifies Erika Mustermann's address."""
    async with start_register("melderegister", participant_id="08118079-MELD-12") as running:
        erika = NaturalPerson(
            "Mustermann", "Erika", identity("02476291358").date_of_birth, "02476291358"
        )  # type: ignore[union-attr]
        signed = running.signed(erika, consumer="08118079-BPA-87", provider="08118079-MELD-12")
        response = await running.post(signed.raw)
        _, message = answer(landscape, running, response, signed.raw)
        document = parse_document(message.evidence.document)
        assert document.address.place == "Korntal-Münchingen"  # type: ignore[union-attr]
        assert document.municipality == "08118079"  # type: ignore[union-attr]


# -- DP-02 ----------------------------------------------------------------------------------


def _strip_signature(raw: bytes) -> bytes:
    return re.sub(rb"<ds:Signature.*</ds:Signature>", b"", raw, flags=re.DOTALL)


@pytest.mark.parametrize("name", REGISTERS)
async def test_dp02_unsigned_request_is_refused_without_data(
    name: str, landscape: Landscape, start_register: Any
) -> None:
    """DP-02: an envelope without signature gets 0001 and no personal data."""
    async with start_register(name) as running:
        signed = running.signed()
        raw = _strip_signature(signed.raw)
        assert b"Signature" not in raw
        response = await running.post(raw)
        message = refused(landscape, running, response, raw, EdmCode.AUTHENTICATION)
        no_personal_data(response.content, running.case.found)
        # Nothing of the unverified request is echoed.
        assert message.request_id.int == 0
        assert message.requester.identifier == "unknown"


@pytest.mark.parametrize("name", REGISTERS)
async def test_dp02_tampered_request_is_refused(
    name: str, landscape: Landscape, start_register: Any
) -> None:
    """DP-02: a request changed after signing gets 0001 and no personal data."""
    async with start_register(name) as running:
        signed = running.signed()
        raw = signed.raw.replace(b"<xn-bk:QueryDefinition>", b"<xn-bk:QueryDefinition> ", 1)
        assert raw != signed.raw
        response = await running.post(raw)
        refused(landscape, running, response, raw, EdmCode.AUTHENTICATION)
        no_personal_data(response.content, running.case.found)


async def test_dp02_request_signed_by_someone_else_is_refused(
    landscape: Landscape, start_register: Any
) -> None:
    """DP-02: a consumer signing in another consumer's name gets 0001 (sender mismatch)."""
    async with start_register("kba") as running:
        other = landscape.pki.signer("08-ELTERNGELD-79", Role.CONSUMER)
        signed = running.signed(signer=other)
        response = await running.post(signed.raw)
        refused(landscape, running, response, signed.raw, EdmCode.AUTHENTICATION)
        no_personal_data(response.content, running.case.found)


async def test_dp02_request_signed_by_a_provider_is_refused(
    landscape: Landscape, start_register: Any
) -> None:
    """DP-02: only consumers may ask: a register's certificate gets 0001."""
    async with start_register("kba") as running:
        provider = "992-00001PSTR-10"
        signed = running.signed(
            consumer=provider, signer=landscape.pki.signer(provider, Role.PROVIDER)
        )
        response = await running.post(signed.raw)
        refused(landscape, running, response, signed.raw, EdmCode.AUTHENTICATION)


# -- DP-03 ----------------------------------------------------------------------------------


async def test_dp03_expired_certificate_is_refused(
    landscape: Landscape, start_register: Any
) -> None:
    """DP-03: a consumer certificate that has expired at the register's clock gets 0001."""
    async with start_register("kba") as running:
        credential = landscape.pki.ca.issue(
            "TEST-EXPIRED-1",
            Role.CONSUMER,
            validity=timedelta(hours=1),
            not_before=running.clock.now() - timedelta(hours=2),
        )
        signed = running.signed(consumer="TEST-EXPIRED-1", signer=XmlSigner(credential))
        response = await running.post(signed.raw)
        message = refused(landscape, running, response, signed.raw, EdmCode.AUTHENTICATION)
        assert "expired" in (message.errors[0].detail or "")
        no_personal_data(response.content, running.case.found)


async def test_dp03_not_yet_valid_certificate_is_refused(
    landscape: Landscape, start_register: Any
) -> None:
    """DP-03: a consumer certificate valid only from tomorrow gets 0001."""
    async with start_register("personenstandsregister") as running:
        credential = landscape.pki.ca.issue(
            "TEST-FUTURE-1", Role.CONSUMER, not_before=running.clock.now() + timedelta(days=1)
        )
        signed = running.signed(consumer="TEST-FUTURE-1", signer=XmlSigner(credential))
        response = await running.post(signed.raw)
        message = refused(landscape, running, response, signed.raw, EdmCode.AUTHENTICATION)
        assert "not valid before" in (message.errors[0].detail or "")


async def test_dp03_revoked_certificate_is_refused(
    landscape: Landscape, start_register: Any
) -> None:
    """DP-03: a revoked consumer certificate gets 0001 as soon as the CRL is published."""
    async with start_register("melderegister") as running:
        credential = landscape.pki.ca.issue("TEST-REVOKED-1", Role.CONSUMER)
        signer = XmlSigner(credential)
        before = running.signed(consumer="TEST-REVOKED-1", signer=signer)
        response = await running.post(before.raw)
        assert response.status_code == 200  # the same credential works until revoked
        landscape.pki.revoke("TEST-REVOKED-1")
        after = running.signed(consumer="TEST-REVOKED-1", signer=signer)
        response = await running.post(after.raw)
        message = refused(landscape, running, response, after.raw, EdmCode.AUTHENTICATION)
        assert "revoked" in (message.errors[0].detail or "")


async def test_dp03_untrusted_certificate_is_refused(
    landscape: Landscape, start_register: Any
) -> None:
    """DP-03: a certificate from another CA, even in the right name, gets 0001."""
    async with start_register("handelsregister") as running:
        with TestPki() as foreign:
            signer = foreign.signer(running.case.consumer, Role.CONSUMER)
            signed = running.signed(signer=signer)
            response = await running.post(signed.raw)
        refused(landscape, running, response, signed.raw, EdmCode.AUTHENTICATION)
        no_personal_data(response.content, running.case.found)


# -- DP-04 ----------------------------------------------------------------------------------

TOKEN_FAULTS: dict[str, dict[str, Any]] = {
    "missing": {"with_token": False},
    "garbled": {"issued_token": "bm90IGEgdG9rZW4="},
    "not base64": {"issued_token": "not a token!"},
    "wrong consumer": {"token_changes": {"consumer": "08-ELTERNGELD-79"}},
    "wrong provider": {"token_changes": {"provider": "993-00001HREG-32"}},
    "wrong purpose": {"envelope_purpose": "Neugier"},
    "wrong hash": {"token_changes": {"request_hash": "0" * 64}},
    "wrong IDNr use": {"token_changes": {"uses_idnr": "flip"}},
}


@pytest.mark.parametrize("name", REGISTERS)
@pytest.mark.parametrize("fault", sorted(TOKEN_FAULTS))
async def test_dp04_token_faults_are_refused_without_data(
    name: str, fault: str, landscape: Landscape, start_register: Any
) -> None:
    """DP-04: a missing, garbled or mis-bound VS token gets 0002 and no personal data."""
    async with start_register(name) as running:
        options = {
            k: (dict(v) if isinstance(v, dict) else v) for k, v in TOKEN_FAULTS[fault].items()
        }
        changes = options.get("token_changes")
        if changes and changes.get("uses_idnr") == "flip":
            changes["uses_idnr"] = not isinstance(running.case.found, NaturalPerson)
        if changes and changes.get("provider") == running.case.register:
            changes["provider"] = "991-01234ZFZR-41"
        if changes and changes.get("consumer") == running.case.consumer:
            changes["consumer"] = "08118079-BPA-87"
        signed = running.signed(**options)
        response = await running.post(signed.raw)
        refused(landscape, running, response, signed.raw, EdmCode.AUTHORISATION)
        no_personal_data(response.content, running.case.found)


async def test_dp04_expired_token_is_refused(landscape: Landscape, start_register: Any) -> None:
    """DP-04: a token past its expiry at the register's clock gets 0002."""
    async with start_register("kba") as running:
        now = running.clock.now()
        signed = running.signed(
            token_changes={
                "issued_at": now - timedelta(minutes=10),
                "expires_at": now - timedelta(minutes=5),
            }
        )
        response = await running.post(signed.raw)
        message = refused(landscape, running, response, signed.raw, EdmCode.AUTHORISATION)
        assert "expired" in (message.errors[0].detail or "")


async def test_dp04_token_not_sealed_by_the_vs_is_refused(
    landscape: Landscape, start_register: Any
) -> None:
    """DP-04: a token sealed by the consumer itself gets 0002."""
    async with start_register("kba") as running:
        forged = landscape.pki.signer(running.case.consumer, Role.CONSUMER)
        signed = running.signed(token_signer=forged)
        response = await running.post(signed.raw)
        refused(landscape, running, response, signed.raw, EdmCode.AUTHORISATION)


async def test_dp04_token_of_another_request_is_refused(
    landscape: Landscape, start_register: Any
) -> None:
    """DP-04: a genuine token moved into another request gets 0002 (request hash)."""
    async with start_register("kba") as running:
        first = running.signed()
        second = running.factory.sign(
            running.factory.request(
                consumer=running.case.consumer,
                provider=running.case.register,
                evidence_type=running.case.evidence_type,
                subject=running.case.blocked,
            ),
            issued_token=first.issued_token,
        )
        response = await running.post(second.raw)
        refused(landscape, running, response, second.raw, EdmCode.AUTHORISATION)
        no_personal_data(response.content, running.case.blocked)


# -- DP-05 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NATURAL)
async def test_dp05_invalid_idnr_is_refused(
    name: str, landscape: Landscape, start_register: Any
) -> None:
    """DP-05: an IDNr with a wrong check digit gets 0003."""
    async with start_register(name) as running:
        signed = running.signed(running.case.invalid_idnr)
        response = await running.post(signed.raw)
        message = refused(landscape, running, response, signed.raw, EdmCode.INVALID_REQUEST)
        assert "check digit" in (message.errors[0].detail or "")
        no_personal_data(response.content, running.case.found)


async def test_dp05_test_numbers_are_refused_in_strict_mode(
    landscape: Landscape, start_register: Any
) -> None:
    """DP-05: in strict mode a test IDNr (leading 0) is an invalid IDNr."""
    async with start_register("kba", mode="strict") as running:
        signed = running.signed()
        response = await running.post(signed.raw)
        refused(landscape, running, response, signed.raw, EdmCode.INVALID_REQUEST)


async def test_dp05_subject_kind_must_fit_the_evidence_type(
    landscape: Landscape, start_register: Any
) -> None:
    """A Handelsregisterauszug about a natural person gets 0003."""
    async with start_register("handelsregister") as running:
        signed = running.signed(landscape.cases["kba"].found)
        response = await running.post(signed.raw)
        refused(landscape, running, response, signed.raw, EdmCode.INVALID_REQUEST)


# -- DP-06, DP-07 -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", REGISTERS)
async def test_dp06_unknown_and_ambiguous_get_not_found(
    name: str, landscape: Landscape, start_register: Any
) -> None:
    """DP-06: an unknown subject and an ambiguous one both get 0004 without data."""
    async with start_register(name) as running:
        for subject in (running.case.unknown, running.case.ambiguous):
            signed = running.signed(subject)
            response = await running.post(signed.raw)
            refused(landscape, running, response, signed.raw, EdmCode.NOT_FOUND)
            no_personal_data(response.content, subject)


_VARIABLE = [
    re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
    re.compile(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z"),
    re.compile(rb"[0-9a-f]{64}"),
    re.compile(rb"<ds:SignatureValue>[^<]*</ds:SignatureValue>"),
    re.compile(rb"<ds:DigestValue>[^<]*</ds:DigestValue>"),
]


def _masked(body: bytes) -> bytes:
    for pattern in _VARIABLE:
        body = pattern.sub(b"*", body)
    return body


@pytest.mark.parametrize("name", NATURAL)
async def test_dp07_information_block_is_indistinguishable_from_unknown(
    name: str, landscape: Landscape, start_register: Any
) -> None:
    """DP-07: blocked, unknown and ambiguous answers are byte-identical but for ids and times."""
    async with start_register(name) as running:
        answers = []
        for subject in (running.case.blocked, running.case.unknown, running.case.ambiguous):
            signed = running.signed(subject)
            response = await running.post(signed.raw)
            message = refused(landscape, running, response, signed.raw, EdmCode.NOT_FOUND)
            answers.append(
                (response.status_code, message.errors[0].detail, _masked(response.content))
            )
        assert answers[0] == answers[1] == answers[2]
        # The blocked person exists and would otherwise be found: the block is what hides them.
        blocked = running.case.blocked
        assert isinstance(blocked, NaturalPerson)
        assert running.service.population.person_by_idnr(blocked.idnr or "") is not None


# -- DP-08, DP-09 -----------------------------------------------------------------------------

_UTC = rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z"


@pytest.mark.parametrize("name", REGISTERS)
async def test_dp08_answer_echoes_the_request_id_with_fresh_ids_and_utc_times(
    name: str, landscape: Landscape, start_register: Any
) -> None:
    """DP-08: requestid echoes the request id; message, response and envelope ids are fresh;
    every time carries the UTC zone."""
    async with start_register(name) as running:
        for subject in (running.case.found, running.case.unknown):
            signed = running.signed(subject)
            response = await running.post(signed.raw)
            opened, message = answer(landscape, running, response, signed.raw)
            assert message.request_id == signed.request.request_id
            assert message.message_uuid != signed.request.message_uuid
            assert opened.header.message_id != signed.header.message_id
            assert opened.header.request_message_id == signed.header.message_id
            body = serialize(opened.body)
            assert f'requestid="urn:uuid:{signed.request.request_id}"'.encode() in body
            for tag in (b"erstellungszeitpunkt", b"IssueDateTime"):
                values = re.findall(rb"<[^>]*" + tag + rb">([^<]*)<", body)
                assert values
                assert all(re.fullmatch(_UTC, v) for v in values), values
        again = running.signed()
        first = answer(landscape, running, await running.post(again.raw), again.raw)[1]
        retry = running.factory.resend(again)
        second = answer(landscape, running, await running.post(retry.raw), retry.raw)[1]
        assert second.request_id == first.request_id
        assert second.response_id != first.response_id


@pytest.mark.parametrize("name", REGISTERS)
async def test_dp09_every_answer_is_signed_and_bound_to_the_bytes_received(
    name: str, landscape: Landscape, start_register: Any
) -> None:
    """DP-09: success, refusal and even garbage get a signed answer whose InResponseTo is the
    SHA-256 of the exact bytes posted."""
    async with start_register(name) as running:
        valid = running.signed().raw
        unknown = running.signed(running.case.unknown).raw
        for raw in (valid, unknown, b"this is not XML", b""):
            response = await running.post(raw)
            opened, _ = answer(landscape, running, response, raw)
            assert opened.header.in_response_to == request_digest(raw)
            assert opened.header.sender == running.case.register


# -- DP-10 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REGISTERS)
async def test_dp10_replay_is_refused(name: str, landscape: Landscape, start_register: Any) -> None:
    """DP-10: the same envelope sent twice is answered once; the replay gets 0003, no data."""
    async with start_register(name) as running:
        signed = running.signed()
        first = await running.post(signed.raw)
        assert first.status_code == 200
        second = await running.post(signed.raw)
        message = refused(landscape, running, second, signed.raw, EdmCode.INVALID_REQUEST)
        assert "already received" in (message.errors[0].detail or "")
        assert b"RepositoryItem" not in second.content


@pytest.mark.parametrize("skew", [timedelta(minutes=-10), timedelta(minutes=10)])
async def test_dp10_stale_and_future_envelopes_are_refused(
    skew: timedelta, landscape: Landscape, start_register: Any
) -> None:
    """DP-10: an envelope created outside ±300 s of the register's clock gets 0003."""
    async with start_register("kba") as running:
        signed = running.signed(created=running.clock.now() + skew)
        response = await running.post(signed.raw)
        refused(landscape, running, response, signed.raw, EdmCode.INVALID_REQUEST)
        no_personal_data(response.content, running.case.found)


async def test_dp10_replay_window_is_configurable(
    landscape: Landscape, start_register: Any
) -> None:
    """DP-10: with a 30 s window a one-minute-old envelope is already stale."""
    async with start_register("kba", replay_window_seconds=30) as running:
        signed = running.signed(created=running.clock.now() - timedelta(minutes=1))
        response = await running.post(signed.raw)
        refused(landscape, running, response, signed.raw, EdmCode.INVALID_REQUEST)


# -- DP-11 ----------------------------------------------------------------------------------

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    b"<lolz>&lol3;</lolz>"
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>'
)


def _deep(levels: int) -> bytes:
    return b"<a>" * levels + b"</a>" * levels


def _wrapped(raw: bytes, evil_subject: bytes) -> bytes:
    """Signature wrapping: the signed envelope moves into a wrapper, a forged body is added."""
    root = etree.fromstring(raw)
    ns = "urn:noots:transport:1"
    forged = etree.fromstring(raw)
    body = forged.find(f"{{{ns}}}Body")
    assert body is not None
    text = etree.tostring(body).replace(b"Mustermann Digital GmbH", evil_subject)
    forged.replace(body, etree.fromstring(text))
    signature = root.find("{http://www.w3.org/2000/09/xmldsig#}Signature")
    assert signature is not None
    forged.remove(forged.find("{http://www.w3.org/2000/09/xmldsig#}Signature"))  # type: ignore[arg-type]
    wrapper = etree.SubElement(forged, f"{{{ns}}}Wrapper")
    wrapper.append(root)
    return etree.tostring(forged)


@pytest.mark.parametrize("name", REGISTERS)
async def test_dp11_hostile_xml_gets_an_error_answer_not_a_crash(
    name: str, landscape: Landscape, start_register: Any, xnachweis_check: Callable[..., Any]
) -> None:
    """DP-11: entities, billion laughs, oversize and deep nesting get a signed, bound 0103;
    the register stays healthy."""
    async with start_register(name) as running:
        oversize = b"<a>" + b"x" * (6 * 1024 * 1024) + b"</a>"
        for raw in (BILLION_LAUGHS, EXTERNAL_ENTITY, oversize, _deep(200), b"<a><b></a>"):
            response = await running.post(raw)
            message = refused(landscape, running, response, raw, EdmCode.INVALID_REQUEST)
            opened, _ = answer(landscape, running, response, raw)
            assert xnachweis_check(body_bytes(opened)) == []
            assert message.request_id.int == 0
        assert (await running.client.get("/health")).status_code == 200


async def test_dp11_signature_wrapping_is_refused(
    landscape: Landscape, start_register: Any
) -> None:
    """DP-11: a forged body next to a wrapped signed envelope gets 0001 (or 0003), no data."""
    async with start_register("handelsregister") as running:
        signed = running.signed()
        raw = _wrapped(signed.raw, b"Evil GmbH")
        response = await running.post(raw)
        _, message = answer(landscape, running, response, raw)
        assert isinstance(message, messages.EvidenceErrorResponse)
        assert message.code in (EdmCode.AUTHENTICATION, EdmCode.INVALID_REQUEST)
        assert b"RepositoryItem" not in response.content


# -- DP-12 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REGISTERS)
async def test_dp12_every_transfer_is_logged(
    name: str, landscape: Landscape, start_register: Any
) -> None:
    """DP-12: deliveries and refusals of authenticated requests are in the protocol log."""
    async with start_register(name) as running:
        valid = running.signed()
        await running.post(valid.raw)
        unknown = running.signed(running.case.unknown)
        await running.post(unknown.raw)
        await running.post(b"garbage")  # unauthenticated: nobody to log it for
        entries = running.log.entries()
        assert [e.outcome for e in entries] == ["delivered", "refused:EDM:ERR:0004"]
        delivered = entries[0]
        assert delivered.consumer == running.case.consumer
        assert delivered.provider == running.case.register
        assert delivered.evidence_type == running.case.evidence_type
        assert delivered.message_id == f"urn:uuid:{valid.request.request_id}"
        assert delivered.purpose == valid.header.purpose
        subject = valid.request.subject
        assert delivered.idnr == (subject.idnr if isinstance(subject, NaturalPerson) else None)
        assert running.log.verify() == 2


async def test_dp12_a_delivery_that_cannot_be_logged_is_not_delivered(
    landscape: Landscape, start_register: Any
) -> None:
    """DP-12: when the protocol log fails, the register answers 0008 instead of the evidence."""
    async with start_register("kba") as running:
        running.log.close()
        signed = running.signed()
        response = await running.post(signed.raw)
        refused(landscape, running, response, signed.raw, EdmCode.QUERY_ERROR)
        assert b"RepositoryItem" not in response.content


# -- DP-13 ----------------------------------------------------------------------------------

CLARA = "01234567907"


def _identity_person(idnr: str) -> NaturalPerson:
    person = identity(idnr)
    assert person is not None
    return NaturalPerson(person.family_name, person.given_names, person.date_of_birth, idnr)


async def collect(landscape: Landscape, running: Running, signed: Any) -> Any:
    """DP-13: the same request in a fresh envelope, as a consumer collects it; the answer."""
    again = running.factory.resend(signed)
    return answer(landscape, running, await running.post(again.raw), again.raw)[1]


@pytest.mark.parametrize(
    ("name", "participant"),
    [
        ("kba", None),
        ("personenstandsregister", None),
        ("melderegister", "08118079-MELD-12"),
    ],
)
async def test_dp13_asynchronous_answer_and_later_collection(
    name: str, participant: str | None, landscape: Landscape, start_register: Any
) -> None:
    """DP-13: an asynchronous subject gets ResponseAvailableDateTime; the same request id in a
    fresh envelope is answered "still pending" before that time and with the evidence after."""
    overrides = {"participant_id": participant} if participant else {}
    async with start_register(name, **overrides) as running:
        signed = running.signed(_identity_person(CLARA))
        response = await running.post(signed.raw)
        assert response.status_code == 200
        _, first = answer(landscape, running, response, signed.raw)
        assert isinstance(first, messages.EvidenceResponse)
        assert first.pending
        assert first.available_at == running.clock.now() + timedelta(minutes=2)
        assert b"ResponseAvailableDateTime" in response.content

        running.clock.advance(timedelta(minutes=1))
        still = await collect(landscape, running, signed)
        assert still.pending
        assert still.available_at == first.available_at

        running.clock.advance(timedelta(minutes=1, seconds=1))
        final = await collect(landscape, running, signed)
        assert final.evidence is not None
        assert final.request_id == signed.request.request_id
        assert CLARA.encode() in final.evidence.document
        # One entry per outcome: the second "pending" answer is the same transfer, logged once.
        assert [e.outcome for e in running.log.entries()] == ["pending", "delivered"]


async def test_a_restarted_register_keeps_its_announcements_and_refuses_replays(
    landscape: Landscape, start_register: Any, tmp_path: Path
) -> None:
    """DP-10/DP-13 across a restart: the new process refuses an envelope the old one accepted,
    answers "still pending" with the old announced time, and delivers after it."""
    kept = {"state_dir": tmp_path / "kept"}
    async with start_register("kba", **kept) as before:
        signed = before.signed(_identity_person(CLARA))
        _, first = answer(landscape, before, await before.post(signed.raw), signed.raw)
        assert first.pending
    async with start_register("kba", **kept) as after:
        after.clock.advance(timedelta(minutes=1))
        replayed = await after.post(signed.raw)
        message = refused(landscape, after, replayed, signed.raw, EdmCode.INVALID_REQUEST)
        assert "already received" in (message.errors[0].detail or "")

        still = await collect(landscape, after, signed)
        assert still.pending
        assert still.available_at == first.available_at

        after.clock.advance(timedelta(minutes=1, seconds=1))
        final = await collect(landscape, after, signed)
        assert final.evidence is not None
        assert final.request_id == signed.request.request_id


async def test_dp13_async_delay_is_configurable(landscape: Landscape, start_register: Any) -> None:
    """DP-13: NOOTS_ASYNC_DELAY_SECONDS overrides the identity's delay."""
    async with start_register("kba", async_delay_seconds=30) as running:
        signed = running.signed(_identity_person(CLARA))
        _, first = answer(landscape, running, await running.post(signed.raw), signed.raw)
        assert first.available_at == running.clock.now() + timedelta(seconds=30)


async def test_dp13_slow_subject_is_answered_after_its_delay(
    landscape: Landscape, start_register: Any
) -> None:
    """DP-13: the slow identity is answered with the evidence after its 8 s delay."""
    async with start_register("kba") as running:
        signed = running.signed(_identity_person("01234567870"))
        response = await running.post(signed.raw)
        assert response.status_code == 200
        assert running.sleeps == [8.0]


async def test_internal_error_identity_gets_0008(landscape: Landscape, start_register: Any) -> None:
    """The internal-error identity gets 0008 (HTTP 500) and no data."""
    async with start_register("personenstandsregister") as running:
        signed = running.signed(_identity_person("01987654302"))
        response = await running.post(signed.raw)
        refused(landscape, running, response, signed.raw, EdmCode.QUERY_ERROR)
        no_personal_data(response.content, signed.request.subject)


# -- DP-14, DP-15 -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", REGISTERS)
async def test_dp14_unsupported_evidence_type_gets_0007(
    name: str, landscape: Landscape, start_register: Any
) -> None:
    """DP-14: a duly authorised request for an evidence type the register does not provide
    gets 0007."""
    async with start_register(name) as running:
        other = "Geburtsurkunde" if name != "personenstandsregister" else "Meldebescheinigung"
        subject = landscape.cases["kba"].found
        signed = running.signed(subject, evidence_type=other)
        response = await running.post(signed.raw)
        refused(landscape, running, response, signed.raw, EdmCode.UNSUPPORTED_CAPABILITY)
        no_personal_data(response.content, subject)


@pytest.mark.parametrize("name", REGISTERS)
async def test_dp15_health(name: str, landscape: Landscape, start_register: Any) -> None:
    """DP-15: /health answers 200 with JSON naming the register."""
    async with start_register(name) as running:
        response = await running.client.get("/health")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "healthy"
        assert body["participant"] == running.case.register
        assert body["checks"] == {"certificate": "ok", "population": "ok"}


async def test_dp15_health_is_degraded_when_the_certificate_expired(
    landscape: Landscape, start_register: Any
) -> None:
    """DP-15: with its own certificate expired the register reports 503 degraded."""
    async with start_register("kba") as running:
        running.clock.advance(timedelta(days=400))
        response = await running.client.get("/health")
        assert response.status_code == 503
        assert response.json()["status"] == "degraded"
        assert response.json()["checks"]["certificate"].startswith("failed")


async def test_service_id_of_another_register_is_unresolved(
    landscape: Landscape, start_register: Any
) -> None:
    """A service id that names another register gets 0006."""
    async with start_register("kba") as running:
        signed = running.signed(
            service_id="urn:noots:service:992-00001PSTR-10:Fahrzeughalterauskunft"
        )
        response = await running.post(signed.raw)
        refused(landscape, running, response, signed.raw, EdmCode.UNRESOLVED_REFERENCE)
