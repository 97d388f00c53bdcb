"""The connection conditions of a register (DP-01, DP-04…DP-08, DP-11…DP-15) and the provider
API it speaks with its own SAK, for every register, over in-process ASGI.

Each test plays the register's SAK: it POSTs the bare ``DE.EvidenceRequest.0101`` to
``/provider/v1/requests`` with the metadata headers and an IAM access token of that SAK. What
moved to the SAK with the transport (signatures, certificates, signed and bound answers,
freshness and replay, signature wrapping: DP-02, DP-03, DP-09, DP-10) is tested against a
SAK in ``tests/noots/intermediary/test_sak_transport.py``.
"""

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
from noots.errors import EdmCode
from noots.messages import NaturalPerson
from noots.pki import Role
from noots.registers.documents import parse_document, schema_errors
from noots.sak import Header
from noots.synthetic.identities import identity
from noots.testing.iam import TestIam
from noots.xml import parse as parse_xml
from tests.noots.registers.support import Landscape, Running

REGISTERS = ["melderegister", "personenstandsregister", "kba", "handelsregister"]
NATURAL = ["melderegister", "personenstandsregister", "kba"]


def answer(response: httpx.Response) -> Any:
    """The register's bare answer (0102 or 0103), as its SAK reads it."""
    assert response.headers["content-type"].startswith("application/xml")
    return messages.parse(parse_xml(response.content))


def refused(response: httpx.Response, code: EdmCode) -> messages.EvidenceErrorResponse:
    message = answer(response)
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


# -- DP-01 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REGISTERS)
async def test_dp01_valid_request_gets_a_valid_0102_with_a_valid_document(
    name: str, landscape: Landscape, start_register: Any, xnachweis_check: Callable[..., Any]
) -> None:
    """DP-01: a valid request is answered with a schema-valid 0102 carrying a valid document."""
    async with start_register(name) as running:
        delivery = running.delivered()
        response = await running.post(delivery)
        assert response.status_code == 200, response.text
        message = answer(response)
        assert isinstance(message, messages.EvidenceResponse)
        assert xnachweis_check(response.content) == []
        evidence = message.evidence
        assert evidence is not None
        assert schema_errors(etree.fromstring(evidence.document)) == []
        document = parse_document(evidence.document)
        spec = landscape.topology.evidence_type(running.case.evidence_type)
        assert evidence.conformance.classification == spec.classification
        assert evidence.issuing_authority.identifier == running.case.register
        assert evidence.subject == delivery.request.subject
        if isinstance(delivery.request.subject, NaturalPerson):
            assert delivery.request.subject.idnr in evidence.document.decode()
        else:
            assert getattr(document, "number", None) == "254871"


@pytest.mark.parametrize("name", REGISTERS)
async def test_dp01_every_refusal_is_a_schema_valid_0103(
    name: str, start_register: Any, xnachweis_check: Callable[..., Any]
) -> None:
    """DP-01: refusals are valid 0103 messages too (here: not found)."""
    async with start_register(name) as running:
        response = await running.post(running.delivered(running.case.unknown))
        refused(response, EdmCode.NOT_FOUND)
        assert xnachweis_check(response.content) == []


async def test_dp01_melderegister_korntal_answers_erika(start_register: Any) -> None:
    """DP-01: the Melderegister of Korntal-Münchingen certifies Erika Mustermann's address."""
    async with start_register("melderegister", participant_id="08118079-MELD-12") as running:
        erika = NaturalPerson(
            "Mustermann", "Erika", identity("02476291358").date_of_birth, "02476291358"
        )  # type: ignore[union-attr]
        delivery = running.delivered(erika, consumer="08118079-BPA-87", provider="08118079-MELD-12")
        message = answer(await running.post(delivery))
        document = parse_document(message.evidence.document)
        assert document.address.place == "Korntal-Münchingen"  # type: ignore[union-attr]
        assert document.municipality == "08118079"  # type: ignore[union-attr]


# -- only its own SAK (the provider API's access token) ---------------------------------------


@pytest.mark.parametrize("name", REGISTERS)
async def test_a_request_without_the_sak_token_is_refused_and_not_logged(
    name: str, start_register: Any
) -> None:
    """No access token: 401 with a Bearer challenge, no answer of XNachweis, nothing logged."""
    async with start_register(name) as running:
        response = await running.post(running.delivered(), anonymous=True)
        assert response.status_code == 401
        assert response.json()["code"] == "EDM:ERR:0001"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert running.log.entries() == []


async def test_a_request_with_another_saks_token_is_refused_and_not_logged(
    start_register: Any,
) -> None:
    """A valid token for this register, but of another register's SAK: 403, nothing logged."""
    async with start_register("kba") as running:
        other = running.sak_token(client="992-00001PSTR-10.sak")
        response = await running.post(running.delivered(), token=other)
        assert response.status_code == 403
        assert response.json()["code"] == "EDM:ERR:0002"
        assert b"Fahrzeug" not in response.content
        assert running.log.entries() == []


async def test_a_token_of_the_own_sak_for_another_audience_is_refused_and_not_logged(
    start_register: Any,
) -> None:
    """The own SAK's token, but issued for another register: refused, nothing logged."""
    async with start_register("kba") as running:
        elsewhere = running.sak_token(audience="992-00001PSTR-10")
        response = await running.post(running.delivered(), token=elsewhere)
        assert response.status_code in (401, 403)
        assert response.json()["code"] in ("EDM:ERR:0001", "EDM:ERR:0002")
        assert running.log.entries() == []


async def test_a_token_of_an_online_service_is_refused(start_register: Any) -> None:
    """An online service with a token for the register (role consumer) is no SAK: refused."""
    async with start_register("kba") as running:
        consumer = TestIam(running.pki).token(
            running.case.consumer, running.case.register, issued_at=running.clock.now()
        )
        response = await running.post(running.delivered(), token=consumer)
        assert response.status_code in (401, 403)
        assert running.log.entries() == []


async def test_an_expired_sak_token_is_refused(start_register: Any) -> None:
    """The own SAK's token, expired at the register's clock: 401."""
    async with start_register("kba") as running:
        token = running.sak_token()
        running.clock.advance(timedelta(hours=1))
        response = await running.post(running.delivered(), token=token)
        assert response.status_code == 401
        assert "expired" in response.json()["detail"]
        assert running.log.entries() == []


async def test_the_requester_must_be_the_consumer_its_sak_names(start_register: Any) -> None:
    """A 0101 of another requester than Noots-Consumer: 0001, nothing delivered."""
    async with start_register("kba") as running:
        delivery = running.delivered(metadata_consumer="08-ELTERNGELD-79")
        response = await running.post(delivery)
        refused(response, EdmCode.AUTHENTICATION)
        assert b"RepositoryItem" not in response.content


@pytest.mark.parametrize("header", [Header.CONSUMER, Header.PURPOSE, Header.MESSAGE_ID])
async def test_missing_metadata_is_0003_and_not_logged(header: str, start_register: Any) -> None:
    """A 0101 without the metadata its SAK must send: 0003, nothing logged."""
    async with start_register("kba") as running:
        delivery = running.delivered()
        headers = {k: v for k, v in delivery.headers().items() if k != header}
        response = await running.post(delivery.raw, headers=headers)
        refused(response, EdmCode.INVALID_REQUEST)
        assert running.log.entries() == []


# -- DP-04 ----------------------------------------------------------------------------------

TOKEN_FAULTS: dict[str, dict[str, Any]] = {
    "missing": {"with_token": False},
    "garbled": {"issued_token": "bm90IGEgdG9rZW4="},
    "not base64": {"issued_token": "not a token!"},
    "wrong consumer": {"token_changes": {"consumer": "08-ELTERNGELD-79"}},
    "wrong provider": {"token_changes": {"provider": "993-00001HREG-32"}},
    "wrong purpose": {"metadata_purpose": "Neugier"},
    "wrong hash": {"token_changes": {"request_hash": "0" * 64}},
    "wrong IDNr use": {"token_changes": {"uses_idnr": "flip"}},
}


@pytest.mark.parametrize("name", REGISTERS)
@pytest.mark.parametrize("fault", sorted(TOKEN_FAULTS))
async def test_dp04_token_faults_are_refused_without_data(
    name: str, fault: str, start_register: Any
) -> None:
    """DP-04: for a transfer that needs a VS token, a missing, garbled or mis-bound token gets
    0002 and no personal data."""
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
        delivery = running.delivered(vs_token_required=True, **options)
        response = await running.post(delivery)
        refused(response, EdmCode.AUTHORISATION)
        no_personal_data(response.content, running.case.found)


async def test_dp04_expired_token_is_refused(start_register: Any) -> None:
    """DP-04: a token past its expiry at the register's clock gets 0002."""
    async with start_register("kba") as running:
        now = running.clock.now()
        delivery = running.delivered(
            token_changes={
                "issued_at": now - timedelta(minutes=10),
                "expires_at": now - timedelta(minutes=5),
            }
        )
        message = refused(await running.post(delivery), EdmCode.AUTHORISATION)
        assert "expired" in (message.errors[0].detail or "")


async def test_dp04_token_not_sealed_by_the_vs_is_refused(
    landscape: Landscape, start_register: Any
) -> None:
    """DP-04: a token sealed by the consumer itself gets 0002."""
    async with start_register("kba") as running:
        forged = landscape.pki.signer(running.case.consumer, Role.CONSUMER)
        delivery = running.delivered(token_signer=forged)
        refused(await running.post(delivery), EdmCode.AUTHORISATION)


async def test_dp04_token_of_another_request_is_refused(start_register: Any) -> None:
    """DP-04: a genuine token moved into another request gets 0002 (request hash)."""
    async with start_register("kba") as running:
        first = running.delivered()
        second = running.delivered(running.case.blocked, issued_token=first.issued_token)
        response = await running.post(second)
        refused(response, EdmCode.AUTHORISATION)
        no_personal_data(response.content, running.case.blocked)


@pytest.mark.parametrize("name", REGISTERS)
async def test_dp04_a_transfer_that_needs_no_token_is_answered_without_one(
    name: str, start_register: Any
) -> None:
    """DP-04: where the SAK says no token is needed (§ 7 Abs. 2, § 12 Abs. 2 IDNrG), the 0101
    without IssuedToken gets the evidence."""
    async with start_register(name) as running:
        delivery = running.delivered(with_token=False, vs_token_required=False)
        assert delivery.metadata.headers()[Header.VS_TOKEN_REQUIRED] == "false"
        response = await running.post(delivery)
        assert response.status_code == 200, response.text
        assert isinstance(answer(response), messages.EvidenceResponse)


async def test_dp04_a_token_that_comes_is_checked_even_when_none_is_needed(
    start_register: Any,
) -> None:
    """DP-04: no token needed, but one that is not bound to this 0101 comes: 0002, no data."""
    async with start_register("kba") as running:
        delivery = running.delivered(
            vs_token_required=False, token_changes={"request_hash": "0" * 64}
        )
        response = await running.post(delivery)
        refused(response, EdmCode.AUTHORISATION)
        no_personal_data(response.content, running.case.found)


def test_the_vs_rule_decides_the_default_metadata(landscape: Landscape) -> None:
    """Noots-Vs-Token-Required follows the topology's VS rule: across areas with the IDNr
    yes, within one area no (the cases below are both)."""
    topology = landscape.topology
    kba, melde = landscape.cases["kba"], landscape.cases["melderegister"]
    assert topology.vs_rule(kba.consumer, kba.register, uses_idnr=True).required is False
    assert topology.vs_rule(melde.consumer, melde.register, uses_idnr=True).required is True


# -- DP-05 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NATURAL)
async def test_dp05_invalid_idnr_is_refused(name: str, start_register: Any) -> None:
    """DP-05: an IDNr with a wrong check digit gets 0003."""
    async with start_register(name) as running:
        response = await running.post(running.delivered(running.case.invalid_idnr))
        message = refused(response, EdmCode.INVALID_REQUEST)
        assert "check digit" in (message.errors[0].detail or "")
        no_personal_data(response.content, running.case.found)


async def test_dp05_test_numbers_are_refused_in_strict_mode(start_register: Any) -> None:
    """DP-05: in strict mode a test IDNr (leading 0) is an invalid IDNr."""
    async with start_register("kba", mode="strict") as running:
        refused(await running.post(running.delivered()), EdmCode.INVALID_REQUEST)


async def test_dp05_subject_kind_must_fit_the_evidence_type(
    landscape: Landscape, start_register: Any
) -> None:
    """A Handelsregisterauszug about a natural person gets 0003."""
    async with start_register("handelsregister") as running:
        delivery = running.delivered(landscape.cases["kba"].found)
        refused(await running.post(delivery), EdmCode.INVALID_REQUEST)


# -- DP-06, DP-07 -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", REGISTERS)
async def test_dp06_unknown_and_ambiguous_get_not_found(name: str, start_register: Any) -> None:
    """DP-06: an unknown subject and an ambiguous one both get 0004 without data."""
    async with start_register(name) as running:
        for subject in (running.case.unknown, running.case.ambiguous):
            response = await running.post(running.delivered(subject))
            refused(response, EdmCode.NOT_FOUND)
            no_personal_data(response.content, subject)


_VARIABLE = [
    re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
    re.compile(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z"),
]


def _masked(body: bytes) -> bytes:
    for pattern in _VARIABLE:
        body = pattern.sub(b"*", body)
    return body


@pytest.mark.parametrize("name", NATURAL)
async def test_dp07_information_block_is_indistinguishable_from_unknown(
    name: str, start_register: Any
) -> None:
    """DP-07: blocked, unknown and ambiguous answers are byte-identical but for ids and times."""
    async with start_register(name) as running:
        answers = []
        for subject in (running.case.blocked, running.case.unknown, running.case.ambiguous):
            response = await running.post(running.delivered(subject))
            message = refused(response, EdmCode.NOT_FOUND)
            answers.append(
                (response.status_code, message.errors[0].detail, _masked(response.content))
            )
        assert answers[0] == answers[1] == answers[2]
        # The blocked person exists and would otherwise be found: the block is what hides them.
        blocked = running.case.blocked
        assert isinstance(blocked, NaturalPerson)
        assert running.service.population.person_by_idnr(blocked.idnr or "") is not None


# -- DP-08 ----------------------------------------------------------------------------------

_UTC = rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z"


@pytest.mark.parametrize("name", REGISTERS)
async def test_dp08_answer_echoes_the_request_id_with_fresh_ids_and_utc_times(
    name: str, start_register: Any
) -> None:
    """DP-08: requestid echoes the request id; message and response ids are fresh; every time
    carries the UTC zone."""
    async with start_register(name) as running:
        for subject in (running.case.found, running.case.unknown):
            delivery = running.delivered(subject)
            response = await running.post(delivery)
            message = answer(response)
            assert message.request_id == delivery.request.request_id
            assert message.message_uuid != delivery.request.message_uuid
            body = response.content
            assert f'requestid="urn:uuid:{delivery.request.request_id}"'.encode() in body
            for tag in (b"erstellungszeitpunkt", b"IssueDateTime"):
                values = re.findall(rb"<[^>]*" + tag + rb">([^<]*)<", body)
                assert values
                assert all(re.fullmatch(_UTC, v) for v in values), values
        again = running.delivered()
        first = answer(await running.post(again))
        second = answer(await running.post(running.redelivered(again)))
        assert second.request_id == first.request_id
        assert second.response_id != first.response_id


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


@pytest.mark.parametrize("name", REGISTERS)
async def test_dp11_hostile_xml_gets_an_error_answer_not_a_crash(
    name: str, start_register: Any, xnachweis_check: Callable[..., Any]
) -> None:
    """DP-11: entities, billion laughs, oversize and deep nesting from its own SAK get a valid
    0103 that echoes nothing; the register stays healthy and logs nothing."""
    async with start_register(name) as running:
        headers = running.delivered().headers()
        oversize = b"<a>" + b"x" * (6 * 1024 * 1024) + b"</a>"
        for raw in (BILLION_LAUGHS, EXTERNAL_ENTITY, oversize, _deep(200), b"<a><b></a>"):
            response = await running.post(raw, headers=headers)
            message = refused(response, EdmCode.INVALID_REQUEST)
            assert xnachweis_check(response.content) == []
            assert message.request_id.int == 0
        assert (await running.client.get("/health")).status_code == 200
        assert running.log.entries() == []


# -- DP-12 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REGISTERS)
async def test_dp12_every_transfer_is_logged(name: str, start_register: Any) -> None:
    """DP-12: deliveries and refusals of accepted requests are in the protocol log."""
    async with start_register(name) as running:
        valid = running.delivered()
        await running.post(valid)
        await running.post(running.delivered(running.case.unknown))
        await running.post(b"garbage", headers=valid.headers())  # no 0101: nobody to log for
        entries = running.log.entries()
        assert [e.outcome for e in entries] == ["delivered", "refused:EDM:ERR:0004"]
        delivered = entries[0]
        assert delivered.consumer == running.case.consumer
        assert delivered.provider == running.case.register
        assert delivered.evidence_type == running.case.evidence_type
        assert delivered.message_id == f"urn:uuid:{valid.request.request_id}"
        assert delivered.purpose == valid.metadata.purpose
        subject = valid.request.subject
        assert delivered.idnr == (subject.idnr if isinstance(subject, NaturalPerson) else None)
        assert running.log.verify() == 2


async def test_dp12_a_delivery_that_cannot_be_logged_is_not_delivered(
    start_register: Any,
) -> None:
    """DP-12: when the protocol log fails, the register answers 0008 instead of the evidence."""
    async with start_register("kba") as running:
        running.log.close()
        response = await running.post(running.delivered())
        refused(response, EdmCode.QUERY_ERROR)
        assert b"RepositoryItem" not in response.content


# -- DP-13 ----------------------------------------------------------------------------------

CLARA = "01234567907"


def _identity_person(idnr: str) -> NaturalPerson:
    person = identity(idnr)
    assert person is not None
    return NaturalPerson(person.family_name, person.given_names, person.date_of_birth, idnr)


async def collect(running: Running, delivery: Any) -> Any:
    """DP-13: the same request handed over again, as the SAK does when the consumer collects
    it; the answer."""
    return answer(await running.post(running.redelivered(delivery)))


@pytest.mark.parametrize(
    ("name", "participant"),
    [
        ("kba", None),
        ("personenstandsregister", None),
        ("melderegister", "08118079-MELD-12"),
    ],
)
async def test_dp13_asynchronous_answer_and_later_collection(
    name: str, participant: str | None, start_register: Any
) -> None:
    """DP-13: an asynchronous subject gets ResponseAvailableDateTime; the same request id
    handed over again is answered "still pending" before that time and with the evidence
    after."""
    overrides = {"participant_id": participant} if participant else {}
    async with start_register(name, **overrides) as running:
        delivery = running.delivered(_identity_person(CLARA))
        response = await running.post(delivery)
        assert response.status_code == 200
        first = answer(response)
        assert isinstance(first, messages.EvidenceResponse)
        assert first.pending
        assert first.available_at == running.clock.now() + timedelta(minutes=2)
        assert b"ResponseAvailableDateTime" in response.content

        running.clock.advance(timedelta(minutes=1))
        still = await collect(running, delivery)
        assert still.pending
        assert still.available_at == first.available_at

        running.clock.advance(timedelta(minutes=1, seconds=1))
        final = await collect(running, delivery)
        assert final.evidence is not None
        assert final.request_id == delivery.request.request_id
        assert CLARA.encode() in final.evidence.document
        # One entry per outcome: the second "pending" answer is the same transfer, logged once.
        assert [e.outcome for e in running.log.entries()] == ["pending", "delivered"]


async def test_a_restarted_register_keeps_its_announcements(
    start_register: Any, tmp_path: Path
) -> None:
    """DP-13 across a restart: the new process answers "still pending" with the old announced
    time, and delivers after it (its SAK's replay cache survives a restart on its own:
    tests/noots/intermediary/test_sak_transport.py)."""
    kept = {"state_dir": tmp_path / "kept"}
    async with start_register("kba", **kept) as before:
        delivery = before.delivered(_identity_person(CLARA))
        first = answer(await before.post(delivery))
        assert first.pending
    async with start_register("kba", **kept) as after:
        after.clock.advance(timedelta(minutes=1))
        still = await collect(after, delivery)
        assert still.pending
        assert still.available_at == first.available_at

        after.clock.advance(timedelta(minutes=1, seconds=1))
        final = await collect(after, delivery)
        assert final.evidence is not None
        assert final.request_id == delivery.request.request_id


async def test_dp13_async_delay_is_configurable(start_register: Any) -> None:
    """DP-13: NOOTS_ASYNC_DELAY_SECONDS overrides the identity's delay."""
    async with start_register("kba", async_delay_seconds=30) as running:
        first = answer(await running.post(running.delivered(_identity_person(CLARA))))
        assert first.available_at == running.clock.now() + timedelta(seconds=30)


async def test_dp13_slow_subject_is_answered_after_its_delay(start_register: Any) -> None:
    """DP-13: the slow identity is answered with the evidence after its 8 s delay."""
    async with start_register("kba") as running:
        response = await running.post(running.delivered(_identity_person("01234567870")))
        assert response.status_code == 200
        assert running.sleeps == [8.0]


async def test_internal_error_identity_gets_0008(start_register: Any) -> None:
    """The internal-error identity gets 0008 (HTTP 500) and no data."""
    async with start_register("personenstandsregister") as running:
        delivery = running.delivered(_identity_person("01987654302"))
        response = await running.post(delivery)
        refused(response, EdmCode.QUERY_ERROR)
        no_personal_data(response.content, delivery.request.subject)


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
        delivery = running.delivered(subject, evidence_type=other, provider=running.case.register)
        response = await running.post(delivery)
        refused(response, EdmCode.UNSUPPORTED_CAPABILITY)
        no_personal_data(response.content, subject)


@pytest.mark.parametrize("name", REGISTERS)
async def test_dp14_the_token_is_checked_before_the_evidence_type(
    name: str, landscape: Landscape, start_register: Any
) -> None:
    """DP-04 before DP-14: an unsupported evidence type without the token the transfer needs
    gets 0002, and without the SAK's access token 401: nobody learns what the register provides
    before they are authorised."""
    async with start_register(name) as running:
        other = "Geburtsurkunde" if name != "personenstandsregister" else "Meldebescheinigung"
        delivery = running.delivered(
            landscape.cases["kba"].found,
            evidence_type=other,
            with_token=False,
            vs_token_required=True,
        )
        refused(await running.post(delivery), EdmCode.AUTHORISATION)
        unauthenticated = await running.post(delivery, anonymous=True)
        assert unauthenticated.status_code == 401
        assert b"0007" not in unauthenticated.content


@pytest.mark.parametrize("name", REGISTERS)
async def test_dp15_health(name: str, start_register: Any) -> None:
    """DP-15: /health answers 200 with JSON naming the register."""
    async with start_register(name) as running:
        response = await running.client.get("/health")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "healthy"
        assert body["participant"] == running.case.register
        assert body["checks"] == {"certificate": "ok", "population": "ok"}


async def test_dp15_health_is_degraded_when_the_certificate_expired(start_register: Any) -> None:
    """DP-15: with its own certificate expired the register reports 503 degraded."""
    async with start_register("kba") as running:
        running.clock.advance(timedelta(days=400))
        response = await running.client.get("/health")
        assert response.status_code == 503
        assert response.json()["status"] == "degraded"
        assert response.json()["checks"]["certificate"].startswith("failed")


async def test_service_id_of_another_register_is_unresolved(start_register: Any) -> None:
    """A service id that names another register gets 0006."""
    async with start_register("kba") as running:
        delivery = running.delivered(
            service_id="urn:noots:service:992-00001PSTR-10:Fahrzeughalterauskunft"
        )
        refused(await running.post(delivery), EdmCode.UNRESOLVED_REFERENCE)
