"""Vermittlungsstelle: the abstract authorisation, the intra-area rule, the sealed token bound
to the request hash, signed refusals with a reason, the abstract log, and freshness and
replay protection (journaled)."""

from __future__ import annotations

import dataclasses
import sqlite3
import uuid
from datetime import timedelta
from typing import Any

import pytest

from noots import messages, tokens
from noots.envelope import ENV_NS, EnvelopeHeader, open_envelope, request_digest, seal
from noots.errors import AuthorisationRefused, TokenMismatch
from noots.intermediary.app import create_app
from noots.intermediary.vs import VS_SERVICE_ID, authorise
from noots.pki import Role
from noots.testing.asgi import running
from noots.topology import VsDecision, load_topology
from tests.noots.intermediary.support import (
    CONSUMER,
    ELTERNGELD,
    ERIKA,
    GEWERBE,
    HREG,
    KBA,
    MELDEREGISTER,
    PSTR,
    VS,
    Consumer,
    Landscape,
)

TOPOLOGY = load_topology()
BPA_MELDE_BASIS = "§ 45 Abs. 1b Satz 1 Nr. 2a StVO i. V. m. § 34 Abs. 1 BMG"


def ask(
    *,
    consumer: str = CONSUMER,
    provider: str = MELDEREGISTER,
    evidence_type: str = "Meldebescheinigung",
    purpose: str = "Bewohnerparkausweis",
    legal_basis: str = BPA_MELDE_BASIS,
    uses_idnr: bool = True,
) -> tokens.TokenRequest:
    return tokens.TokenRequest(
        consumer=consumer,
        provider=provider,
        evidence_type=TOPOLOGY.evidence_type(evidence_type).classification,
        purpose=purpose,
        legal_basis=legal_basis,
        uses_idnr=uses_idnr,
        request_hash="ab" * 32,
    )


def test_landscape_has_at_least_six_administrative_areas() -> None:
    """The intra-area rule is exercised over at least six areas of the landscape."""
    assert len(TOPOLOGY.administrative_areas) >= 6
    used = {r.area for r in TOPOLOGY.registers} | {c.area for c in TOPOLOGY.consumers}
    assert len(used) >= 6


def test_matrix_row_grants_a_cross_area_transfer() -> None:
    """Verkehr → Meldewesen with the matrix row's purpose and legal basis is granted."""
    grant = authorise(TOPOLOGY, ask(), signer=CONSUMER)
    assert grant.rule == "matrix"
    assert (grant.consumer_area, grant.provider_area) == ("verkehr", "meldewesen")


def test_same_area_needs_no_matrix_row() -> None:
    """Consumer and provider in one area (Verkehr): a token without a matrix entry."""
    request = ask(
        provider=KBA,
        evidence_type="Fahrzeughalterauskunft",
        purpose="Verkehrsüberwachung",
        legal_basis="§ 35 StVG",
    )
    assert not [
        a
        for a in TOPOLOGY.authorisations_for(CONSUMER, "Fahrzeughalterauskunft", KBA)
        if a.purpose == "Verkehrsüberwachung"
    ]
    grant = authorise(TOPOLOGY, request, signer=CONSUMER)
    assert grant.rule == "intra-area"
    assert grant.consumer_area == grant.provider_area == "verkehr"


def test_the_same_transfer_across_areas_needs_the_matrix() -> None:
    """The other side of the intra-area rule: from Familie to Verkehr the row is missing."""
    request = ask(
        consumer=ELTERNGELD,
        provider=KBA,
        evidence_type="Fahrzeughalterauskunft",
        purpose="Verkehrsüberwachung",
        legal_basis="§ 35 StVG",
    )
    with pytest.raises(AuthorisationRefused, match="evidence type not authorised"):
        authorise(TOPOLOGY, request, signer=ELTERNGELD)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"provider": PSTR, "evidence_type": "Geburtsurkunde"}, "evidence type not authorised"),
        ({"provider": "09162000-MELD-57"}, "provider not authorised"),
        ({"provider": KBA}, "wrong provider: 991-01234ZFZR-41 does not provide"),
        ({"purpose": "Kindergeld"}, "purpose not authorised"),
        ({"legal_basis": "§ 1 Phantasiegesetz"}, "legal basis not authorised"),
        ({"consumer": "noots-ida"}, "noots-ida is not a data consumer"),
        ({"provider": "noots-platform"}, "noots-platform is not a data provider"),
    ],
)
def test_refusals_name_the_rule_broken(changes: dict[str, str], reason: str) -> None:
    """Each refusal names the first rule broken (wrong type, provider, purpose, basis …)."""
    request = ask(**changes)  # type: ignore[arg-type]
    signer = changes.get("consumer", CONSUMER)
    with pytest.raises(AuthorisationRefused, match=reason) as caught:
        authorise(TOPOLOGY, request, signer=signer)
    if "not authorised" in reason:
        assert "Authorised for this consumer" in caught.value.message


def test_idnr_use_needs_a_row_that_allows_it() -> None:
    """A row with uses_idnr false allows the transfer without the IDNr, refuses it with."""
    row = {
        "consumer": GEWERBE,
        "provider": HREG,
        "evidence_type": "Handelsregisterauszug",
        "purpose": "Gewerbeanzeige",
        "legal_basis": "§ 14 Abs. 1 GewO i. V. m. § 9 Abs. 1 HGB",
    }
    assert authorise(TOPOLOGY, ask(**row, uses_idnr=False), signer=GEWERBE).rule == "matrix"
    with pytest.raises(AuthorisationRefused, match="IDNr use not authorised"):
        authorise(TOPOLOGY, ask(**row, uses_idnr=True), signer=GEWERBE)


def test_a_consumer_asks_only_for_itself() -> None:
    """A token request signed by one consumer for another is refused."""
    with pytest.raises(AuthorisationRefused, match="can ask only for itself"):
        authorise(TOPOLOGY, ask(), signer=ELTERNGELD)


# -- over HTTP ---------------------------------------------------------------------------------


async def test_granted_token_is_sealed_and_bound_to_the_request_hash(landscape: Landscape) -> None:
    """The answer is signed by the VS, bound to the request bytes, and carries a token
    sealed by the VS for exactly this 0101: another 0101 does not match it."""
    app = create_app(
        landscape.settings(), components=("vs",), clock=landscape.clock, topology=landscape.topology
    )
    dc = Consumer(landscape)
    request = dc.request(MELDEREGISTER, "Meldebescheinigung")
    asked = dc.token_request(request, "Bewohnerparkausweis")
    raw = dc.token_envelope(asked)
    async with running(app) as client:
        answer = await client.post("/vs/v1/tokens", content=raw)
    assert answer.status_code == 200
    opened = open_envelope(answer.content, dc.participant.verifier, required_role=Role.VS)
    assert opened.header.sender == VS
    assert opened.header.recipient == CONSUMER
    assert opened.header.in_response_to == request_digest(raw)
    issued = tokens.parse_issued_token_body(opened.body)
    token = tokens.verify_token(issued, dc.participant.verifier, clock=landscape.clock)
    assert token.request_hash == tokens.request_hash(messages.build(request))
    assert (token.consumer, token.provider, token.purpose) == (
        CONSUMER,
        MELDEREGISTER,
        "Bewohnerparkausweis",
    )
    # The token travels inside the request; the hash ignores the token text, so it matches …
    carried = request.with_token(issued)
    envelope = dc.evidence_envelope(carried, "Bewohnerparkausweis")
    opened_request = open_envelope(envelope, dc.participant.verifier)
    tokens.check_token_binding(
        token,
        request=carried,
        request_element=opened_request.body,
        consumer=opened_request.header.sender,
        purpose=opened_request.header.purpose,
        provider_id=MELDEREGISTER,
    )
    # … and a request about someone else does not.
    other = dataclasses.replace(
        carried, subject=messages.NaturalPerson("Musterfrau", "Lena", ERIKA[3], "01234567812")
    )
    with pytest.raises(TokenMismatch, match="request hash"):
        tokens.check_token_binding(
            token,
            request=other,
            request_element=messages.build(other),
            consumer=opened_request.header.sender,
            purpose=opened_request.header.purpose,
            provider_id=MELDEREGISTER,
        )


async def test_refusal_is_a_signed_0002_with_the_reason(landscape: Landscape) -> None:
    """A refused request gets 403 and a VS-signed env:Error EDM:ERR:0002 saying why."""
    app = create_app(
        landscape.settings(), components=("vs",), clock=landscape.clock, topology=landscape.topology
    )
    dc = Consumer(landscape)
    request = dc.request(MELDEREGISTER, "Meldebescheinigung")
    raw = dc.token_envelope(dc.token_request(request, "Kindergeld", BPA_MELDE_BASIS))
    async with running(app) as client:
        answer = await client.post("/vs/v1/tokens", content=raw)
    assert answer.status_code == 403
    opened = open_envelope(answer.content, dc.participant.verifier, required_role=Role.VS)
    assert opened.header.in_response_to == request_digest(raw)
    assert opened.body.findtext(f"{{{ENV_NS}}}Code") == "EDM:ERR:0002"
    assert "purpose not authorised" in opened.body.findtext(f"{{{ENV_NS}}}Detail")
    assert opened.body.findtext(f"{{{ENV_NS}}}Component") == VS


async def test_only_consumers_get_tokens(landscape: Landscape) -> None:
    """A register asking for a token, or an unsigned request, is refused with 0001."""
    app = create_app(
        landscape.settings(), components=("vs",), clock=landscape.clock, topology=landscape.topology
    )
    register = Consumer(landscape, participant_id=MELDEREGISTER)
    dc = Consumer(landscape)
    request = dc.request(MELDEREGISTER, "Meldebescheinigung")
    from_register = register.token_envelope(
        dc.token_request(request, "Bewohnerparkausweis", consumer=MELDEREGISTER)
    )
    unsigned = dc.token_envelope(dc.token_request(request, "Bewohnerparkausweis"))
    start = unsigned.index(b"<ds:Signature")
    unsigned = unsigned[:start] + unsigned[unsigned.index(b"</ds:Signature>") + 15 :]
    async with running(app) as client:
        answers = [
            await client.post("/vs/v1/tokens", content=raw) for raw in (from_register, unsigned)
        ]
    for answer in answers:
        assert answer.status_code == 401
        opened = open_envelope(answer.content, dc.participant.verifier, required_role=Role.VS)
        assert opened.body.findtext(f"{{{ENV_NS}}}Code") == "EDM:ERR:0001"


async def test_abstract_log_has_decisions_but_no_personal_data(landscape: Landscape) -> None:
    """Both decisions are logged (parties, purpose, decision); no IDNr, hash or content."""
    settings = landscape.settings()
    app = create_app(
        settings, components=("vs",), clock=landscape.clock, topology=landscape.topology
    )
    dc = Consumer(landscape)
    request = dc.request(MELDEREGISTER, "Meldebescheinigung")
    granted = dc.token_request(request, "Bewohnerparkausweis")
    refused = dc.token_request(dc.request(PSTR, "Geburtsurkunde"), "Bewohnerparkausweis")
    async with running(app) as client:
        for asked in (granted, refused):
            await client.post("/vs/v1/tokens", content=dc.token_envelope(asked))
        entries = app.state.vs.log.entries()
    assert [(e.provider, e.evidence_type, e.decision) for e in entries] == [
        (MELDEREGISTER, "Meldebescheinigung", "granted:matrix"),
        (PSTR, "Geburtsurkunde", "refused"),
    ]
    assert all(e.consumer == CONSUMER and e.purpose == "Bewohnerparkausweis" for e in entries)
    path = settings.data_dir / "vs" / "decisions.db"
    with sqlite3.connect(path) as db:
        dump = "\n".join(db.iterdump())
    for secret in (ERIKA[0], ERIKA[1], granted.request_hash, refused.request_hash):
        assert secret not in dump


async def test_a_bug_below_is_refused_without_a_token(
    landscape: Landscape, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception outside the error tree is a VS-signed 0008, never a token or a bare 500."""

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("library bug")

    app = create_app(
        landscape.settings(), components=("vs",), clock=landscape.clock, topology=TOPOLOGY
    )
    dc = Consumer(landscape)
    raw = dc.token_envelope(
        dc.token_request(dc.request(MELDEREGISTER, "Meldebescheinigung"), "Bewohnerparkausweis")
    )
    monkeypatch.setattr("noots.intermediary.vs.issue_token", broken)
    async with running(app) as client:
        answer = await client.post("/vs/v1/tokens", content=raw)
    assert answer.status_code == 500
    opened = open_envelope(answer.content, dc.participant.verifier, required_role=Role.VS)
    assert opened.body.findtext(f"{{{ENV_NS}}}Code") == "EDM:ERR:0008"


# -- freshness and replay ----------------------------------------------------------------------


def _token_envelope(dc: Consumer, *, created_shift: timedelta = timedelta(0)) -> bytes:
    """A granted token request (Bewohnerparkausweis → Melderegister) created ``created_shift``
    from now."""
    asked = dc.token_request(dc.request(MELDEREGISTER, "Meldebescheinigung"), "Bewohnerparkausweis")
    header = EnvelopeHeader(
        message_id=uuid.uuid4(),
        sender=dc.participant_id,
        recipient=VS,
        service_id=VS_SERVICE_ID,
        created=dc.landscape.clock.now() + created_shift,
        purpose=asked.purpose,
    )
    return seal(header, tokens.build_token_request(asked), dc.participant.signer)


def _code_and_detail(answer: Any, dc: Consumer) -> tuple[str | None, str | None]:
    opened = open_envelope(answer.content, dc.participant.verifier, required_role=Role.VS)
    if opened.body.tag != f"{{{ENV_NS}}}Error":
        return None, None
    return opened.body.findtext(f"{{{ENV_NS}}}Code"), opened.body.findtext(f"{{{ENV_NS}}}Detail")


async def test_a_replayed_token_request_gets_no_token_and_no_log_line(
    landscape: Landscape,
) -> None:
    """The same signed request again, at once or nine minutes later, is refused with a
    VS-signed 0003 before any decision: one token, one line in the decision log."""
    app = create_app(
        landscape.settings(), components=("vs",), clock=landscape.clock, topology=TOPOLOGY
    )
    dc = Consumer(landscape)
    raw = _token_envelope(dc)
    async with running(app) as client:
        first = await client.post("/vs/v1/tokens", content=raw)
        again = await client.post("/vs/v1/tokens", content=raw)
        landscape.clock.advance(timedelta(minutes=9))
        later = await client.post("/vs/v1/tokens", content=raw)
        entries = app.state.vs.log.entries()
    assert first.status_code == 200
    for answer in (again, later):
        assert answer.status_code == 400
        assert _code_and_detail(answer, dc)[0] == "EDM:ERR:0003"
        assert open_envelope(answer.content, dc.participant.verifier).header.in_response_to == (
            request_digest(raw)
        )
    assert "already received" in (_code_and_detail(again, dc)[1] or "")
    assert len(entries) == 1


@pytest.mark.parametrize(
    "created_shift", [timedelta(days=-30), timedelta(days=1), timedelta(minutes=-6)]
)
async def test_a_stale_token_request_gets_no_token_and_no_log_line(
    landscape: Landscape, created_shift: timedelta
) -> None:
    """A request created 30 days ago, a day ahead, or just outside the ±300 s window: 0003,
    no token, nothing in the decision log."""
    app = create_app(
        landscape.settings(), components=("vs",), clock=landscape.clock, topology=TOPOLOGY
    )
    dc = Consumer(landscape)
    async with running(app) as client:
        answer = await client.post(
            "/vs/v1/tokens", content=_token_envelope(dc, created_shift=created_shift)
        )
        entries = app.state.vs.log.entries()
    assert answer.status_code == 400
    code, detail = _code_and_detail(answer, dc)
    assert code == "EDM:ERR:0003"
    assert "envelope created more than" in (detail or "")
    assert entries == []


async def test_the_replay_cache_survives_a_restart(landscape: Landscape) -> None:
    """A request accepted before the VS restarts is still refused as a replay after it, from
    the journal in <data_dir>/state/<vs id>.db."""
    dc = Consumer(landscape)
    raw = _token_envelope(dc)
    answers = []
    for _start in range(2):
        app = create_app(
            landscape.settings(), components=("vs",), clock=landscape.clock, topology=TOPOLOGY
        )
        async with running(app) as client:
            answers.append(await client.post("/vs/v1/tokens", content=raw))
    assert [a.status_code for a in answers] == [200, 400]
    assert _code_and_detail(answers[1], dc)[0] == "EDM:ERR:0003"
    assert (landscape.data_dir / "state" / f"{VS}.db").is_file()


async def test_a_refused_decision_is_not_asked_twice(landscape: Landscape) -> None:
    """A request the matrix refuses (0002, logged once) and then replayed: 0003, no second
    line."""
    app = create_app(
        landscape.settings(), components=("vs",), clock=landscape.clock, topology=TOPOLOGY
    )
    dc = Consumer(landscape)
    request = dc.request(MELDEREGISTER, "Meldebescheinigung")
    raw = dc.token_envelope(dc.token_request(request, "Kindergeld", BPA_MELDE_BASIS))
    async with running(app) as client:
        codes = [
            _code_and_detail(await client.post("/vs/v1/tokens", content=raw), dc)[0]
            for _ in range(2)
        ]
        entries = app.state.vs.log.entries()
    assert codes == ["EDM:ERR:0002", "EDM:ERR:0003"]
    assert [e.decision for e in entries] == ["refused"]


# -- the SAK asks for its online service; § 12 Abs. 2 IDNrG decisions -------------------------


def _sak_envelope(
    landscape: Landscape, token_request: tokens.TokenRequest, *, sak: str, on_behalf_of: str | None
) -> bytes:
    signer = landscape.participant(sak)
    header = EnvelopeHeader(
        message_id=uuid.uuid4(),
        sender=sak,
        on_behalf_of=on_behalf_of,
        recipient=VS,
        service_id=VS_SERVICE_ID,
        created=landscape.clock.now(),
        purpose=token_request.purpose,
    )
    return seal(header, tokens.build_token_request(token_request), signer.signer)


async def test_a_sak_gets_the_token_of_the_online_service_it_connects(
    landscape: Landscape,
) -> None:
    """The Bewohnerparkausweis service's SAK, acting for it, is granted its token."""
    app = create_app(
        landscape.settings(), components=("vs",), clock=landscape.clock, topology=landscape.topology
    )
    dc = Consumer(landscape)
    asked = dc.token_request(dc.request(MELDEREGISTER, "Meldebescheinigung"), "Bewohnerparkausweis")
    raw = _sak_envelope(landscape, asked, sak=f"{CONSUMER}.sak", on_behalf_of=CONSUMER)
    async with running(app) as client:
        answer = await client.post("/vs/v1/tokens", content=raw)
    assert answer.status_code == 200
    opened = open_envelope(answer.content, dc.participant.verifier, required_role=Role.VS)
    assert opened.header.recipient == f"{CONSUMER}.sak"
    token = tokens.verify_token(
        tokens.parse_issued_token_body(opened.body), dc.participant.verifier, clock=landscape.clock
    )
    assert token.consumer == CONSUMER


@pytest.mark.parametrize(
    ("sak", "on_behalf_of"),
    [(f"{GEWERBE}.sak", CONSUMER), (f"{CONSUMER}.sak", None), (f"{KBA}.sak", CONSUMER)],
)
async def test_a_sak_cannot_ask_for_anybody_else(
    landscape: Landscape, sak: str, on_behalf_of: str | None
) -> None:
    """Another online service's SAK, a SAK that names nobody, a register's SAK: 0002."""
    app = create_app(
        landscape.settings(), components=("vs",), clock=landscape.clock, topology=landscape.topology
    )
    dc = Consumer(landscape)
    asked = dc.token_request(dc.request(MELDEREGISTER, "Meldebescheinigung"), "Bewohnerparkausweis")
    raw = _sak_envelope(landscape, asked, sak=sak, on_behalf_of=on_behalf_of)
    async with running(app) as client:
        answer = await client.post("/vs/v1/tokens", content=raw)
    assert answer.status_code == 403
    opened = open_envelope(answer.content, dc.participant.verifier, required_role=Role.VS)
    assert opened.body.findtext(f"{{{ENV_NS}}}Code") == "EDM:ERR:0002"


def test_a_decision_puts_the_matrix_between_two_bodies_of_one_area() -> None:
    """With a § 12 Abs. 2 decision for verkehr, BPA → KBA needs its matrix row: a purpose
    without one is refused, the row's own purpose is granted by the matrix."""
    decided = TOPOLOGY.model_copy(
        update={"vs_decisions": [VsDecision(area="verkehr", decision="Beschluss (simuliert)")]}
    )
    stray = ask(
        provider=KBA,
        evidence_type="Fahrzeughalterauskunft",
        purpose="Verkehrsüberwachung",
        legal_basis="§ 35 StVG",
    )
    with pytest.raises(AuthorisationRefused, match="purpose not authorised"):
        authorise(decided, stray, signer=CONSUMER)
    row = next(
        a
        for a in TOPOLOGY.authorisations_for(CONSUMER, "Fahrzeughalterauskunft", KBA)
        if a.purpose == "Bewohnerparkausweis"
    )
    proper = ask(
        provider=KBA,
        evidence_type="Fahrzeughalterauskunft",
        purpose=row.purpose,
        legal_basis=row.legal_basis,
    )
    assert authorise(decided, proper, signer=CONSUMER).rule == "matrix"
