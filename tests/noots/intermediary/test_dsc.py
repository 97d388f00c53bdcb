"""Datenschutzcockpit: a citizen at level "hoch" sees exactly the transfers about their own
IDNr, from every party's protocol log, as JSON and as the German HTML page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from noots.clock import ManualClock
from noots.eid import IdentityToken, issue_identity
from noots.intermediary.app import create_app
from noots.intermediary.dsc import group_transfers
from noots.protocol import ProtocolEntry, open_protocol_log
from noots.testing.asgi import running
from tests.noots.intermediary.support import (
    CONSUMER,
    ELTERNGELD,
    ERIKA,
    KBA,
    LENA,
    MELDEREGISTER,
    PSTR,
    VS,
    Landscape,
)

OTHER = "65929970489"  # a valid IDNr that is neither citizen's


def log_transfers(landscape: Landscape, plan: list[tuple[str, str, str, str, str, str]]) -> None:
    """Write (idnr, consumer, provider, evidence type, purpose, outcome) transfers into the
    online service's and the provider's logs, as the running landscape would."""
    for idnr, consumer, provider, evidence_type, purpose, outcome in plan:
        request_id = f"urn:uuid:{uuid.uuid4()}"
        for party in (consumer, provider):
            with open_protocol_log(
                landscape.data_dir / "logs" / f"{party}.db", party=party, clock=landscape.clock
            ) as log:
                log.append(
                    consumer=consumer,
                    provider=provider,
                    evidence_type=evidence_type,
                    purpose=purpose,
                    idnr=idnr,
                    message_id=request_id,
                    outcome=outcome,
                )
        landscape.clock.advance(timedelta(minutes=1))


PLAN = [
    (ERIKA[0], CONSUMER, MELDEREGISTER, "Meldebescheinigung", "Bewohnerparkausweis", "delivered"),
    (LENA[0], ELTERNGELD, PSTR, "Geburtsurkunde", "Elterngeld", "delivered"),
    (ERIKA[0], CONSUMER, KBA, "Fahrzeughalterauskunft", "Bewohnerparkausweis", "delivered"),
    (OTHER, CONSUMER, KBA, "Fahrzeughalterauskunft", "Bewohnerparkausweis", "delivered"),
    (
        LENA[0],
        ELTERNGELD,
        MELDEREGISTER,
        "Meldebescheinigung",
        "Elterngeld",
        "refused:EDM:ERR:0004",
    ),
]


async def login(client: Any, idnr: str, level: str = "hoch") -> str:
    answer = await client.post("/eid/v1/login", json={"idnr": idnr, "level": level})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["token"]
    return token


def test_group_transfers_joins_parties_and_keeps_the_latest_outcome() -> None:
    """Entries for one request id (bare or as urn:uuid) are one transfer; pending then
    delivered is delivered; the newest transfer comes first."""
    clock = ManualClock()
    with open_protocol_log(":memory:", party=CONSUMER, clock=clock) as log:
        first = str(uuid.uuid4())
        for outcome, message_id in (("pending", first), ("delivered", f"urn:uuid:{first}")):
            log.append(
                consumer=CONSUMER,
                provider=KBA,
                evidence_type="Fahrzeughalterauskunft",
                purpose="Bewohnerparkausweis",
                idnr=ERIKA[0],
                message_id=message_id,
                outcome=outcome,
            )
            clock.advance(timedelta(seconds=30))
        second = str(uuid.uuid4())
        log.append(
            consumer=CONSUMER,
            provider=MELDEREGISTER,
            evidence_type="Meldebescheinigung",
            purpose="Bewohnerparkausweis",
            idnr=ERIKA[0],
            message_id=second,
            outcome="refused:EDM:ERR:0004",
        )
        transfers = group_transfers(log.entries())
    assert [t.request_id for t in transfers] == [second, first]
    assert [t.outcome for t in transfers] == ["refused:EDM:ERR:0004", "delivered"]
    assert [e.outcome for e in transfers[1].records] == ["pending", "delivered"]


@pytest.mark.parametrize(("citizen", "count"), [(ERIKA, 2), (LENA, 2)])
async def test_citizen_sees_exactly_their_own_transfers(
    landscape: Landscape, citizen: tuple[Any, ...], count: int
) -> None:
    """Of five logged transfers about three people, each citizen sees exactly theirs, each
    joined from the online service's and the register's entries, and nobody else's."""
    log_transfers(landscape, PLAN)
    app = create_app(
        landscape.settings(),
        components=("dsc", "eid"),
        clock=landscape.clock,
        topology=landscape.topology,
    )
    async with running(app) as client:
        token = await login(client, citizen[0])
        answer = await client.get("/dsc/v1/transfers", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["citizen"]["idnr"] == citizen[0]
    expected = [(c, p, e, o) for i, c, p, e, _, o in reversed(PLAN) if i == citizen[0]]
    seen = [
        (
            t["consumer"]["participantId"],
            t["provider"]["participantId"],
            t["evidenceType"],
            t["outcome"],
        )
        for t in body["transfers"]
    ]
    assert seen == expected
    assert len(seen) == count
    for transfer in body["transfers"]:
        assert {r["party"] for r in transfer["records"]} == {
            transfer["consumer"]["participantId"],
            transfer["provider"]["participantId"],
        }
    text = answer.text
    for stranger in {ERIKA[0], LENA[0], OTHER} - {citizen[0]}:
        assert stranger not in text


async def test_authentication_failures_are_401_and_low_level_is_403(
    landscape: Landscape,
) -> None:
    """No token, garbage, a token not sealed by the eID, an expired one or one meant for
    another participant → 401; level "substantiell" → 403 saying "hoch" is needed."""
    log_transfers(landscape, PLAN)
    app = create_app(
        landscape.settings(),
        components=("dsc", "eid"),
        clock=landscape.clock,
        topology=landscape.topology,
    )
    now = landscape.clock.now()
    forged = issue_identity(
        IdentityToken(
            idnr=ERIKA[0],
            given_name=ERIKA[2],
            family_name=ERIKA[1],
            date_of_birth=ERIKA[3],
            level="hoch",
            issued_at=now,
            expires_at=now + timedelta(minutes=5),
        ),
        landscape.participant(VS).signer,
    )
    async with running(app) as client:
        substantial = await login(client, ERIKA[0], "substantiell")
        other_audience = (
            await client.post(
                "/eid/v1/login", json={"idnr": ERIKA[0], "audience": "08118079-BPA-87"}
            )
        ).json()["token"]
        expiring = await login(client, ERIKA[0])

        async def get(token: str | None) -> Any:
            headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
            return await client.get("/dsc/v1/transfers", headers=headers)

        answers = {
            "none": await get(None),
            "garbage": await get("not-a-token"),
            "forged": await get(forged),
            "audience": await get(other_audience),
            "low": await get(substantial),
        }
        landscape.clock.advance(timedelta(hours=1))
        answers["expired"] = await get(expiring)
    for name in ("none", "garbage", "forged", "audience", "expired"):
        assert answers[name].status_code == 401, name
        assert "not authenticated" in answers[name].json()["detail"]
        assert ERIKA[0] not in answers[name].text
    assert answers["low"].status_code == 403
    assert "hoch" in answers["low"].json()["detail"]


async def test_html_page_with_simulated_login(landscape: Landscape) -> None:
    """The German page logs in through the simulated eID and lists only the citizen's own
    transfers; a lower level of assurance is refused on the page."""
    log_transfers(landscape, PLAN)
    app = create_app(
        landscape.settings(),
        components=("dsc", "eid"),
        clock=landscape.clock,
        topology=landscape.topology,
    )
    async with running(app) as client:
        start = await client.get("/dsc/")
        signed_in = await client.post(
            "/dsc/anmelden",
            content=f"idnr={ERIKA[0]}&level=hoch",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        page = await client.get("/dsc/")
        await client.post("/dsc/abmelden")
        client.cookies.clear()
        low = await client.post(
            "/dsc/anmelden",
            content=f"idnr={LENA[0]}&level=normal",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert start.status_code == 200
    assert "Anmelden" in start.text
    assert "Simulation" in start.text
    assert signed_in.status_code == 303
    assert page.status_code == 200
    assert "Übermittlungen (2)" in page.text
    assert "Stadt Korntal-Münchingen, Bewohnerparkausweis" in page.text
    assert page.text.count('class="uebermittlung"') == 2
    assert LENA[0] not in page.text
    assert OTHER not in page.text
    assert "<script" not in page.text
    assert "<style" not in page.text
    assert "style=" not in page.text
    assert 'src="http' not in page.text
    assert 'href="http' not in page.text
    assert low.status_code == 403
    assert "Vertrauensniveau" in low.text
    assert "noots_dsc_identity" not in low.headers.get("set-cookie", "")


async def test_login_form_offers_test_people_at_level_hoch(landscape: Landscape) -> None:
    """The login form has no number to type: it offers the test people by name, level "hoch"
    preselected, so the first try of README step 3 succeeds; after a refused lower level the
    chosen person is still selected."""
    app = create_app(
        landscape.settings(),
        components=("dsc", "eid"),
        clock=landscape.clock,
        topology=landscape.topology,
    )
    async with running(app) as client:
        start = await client.get("/dsc/")
        refused = await client.post(
            "/dsc/anmelden",
            data={"idnr": LENA[0], "level": "substantiell"},
        )
    form = start.text[start.text.index('id="anmeldung"') :]
    form = form[: form.index("</form>")]
    assert '<input id="idnr"' not in form
    assert f'<option value="{ERIKA[0]}" selected>Erika Mustermann (IDNr {ERIKA[0]})' in form
    level = form[form.index('id="level"') :]
    assert level.index('value="hoch" selected') < level.index('value="normal"')
    assert "selected" not in level[level.index('value="substantiell"') :]
    assert refused.status_code == 403
    assert f'<option value="{LENA[0]}" selected>' in refused.text
    assert "Vertrauensniveau „hoch“" in refused.text


async def test_the_page_shows_german_times_outcomes_and_names(landscape: Landscape) -> None:
    """Times in Europe/Berlin written by Babel ("22.11.2026, 10:00 Uhr"), outcomes in German,
    every party by its name: no ISO UTC, no "delivered", no raw error key on the page."""
    landscape.clock.set(datetime(2026, 11, 22, 9, 0, tzinfo=UTC))
    log_transfers(landscape, PLAN)
    app = create_app(
        landscape.settings(),
        components=("dsc", "eid"),
        clock=landscape.clock,
        topology=landscape.topology,
    )
    async with running(app) as client:
        await client.post("/dsc/anmelden", data={"idnr": LENA[0], "level": "hoch"})
        page = await client.get("/dsc/")
        token = await login(client, LENA[0])
        answer = await client.get("/dsc/v1/transfers", headers={"Authorization": f"Bearer {token}"})
    text = page.text
    # PLAN: Lena's two transfers were logged at 09:01 and 09:04 UTC, 10:01 and 10:04 in Berlin.
    assert "22.11.2026, 10:04 Uhr" in text
    assert "22.11.2026, 10:01 Uhr" in text
    assert "T09:0" not in text
    assert "Z<" not in text
    for raw in ("delivered", "refused:", "EDM:ERR:0004<", ELTERNGELD + ":"):
        assert raw not in text, raw
    assert "übermittelt" in text
    assert "kein Nachweis vorhanden" in text
    elterngeld = landscape.topology.participant(ELTERNGELD).name
    assert f"{elterngeld}: übermittelt · 22.11.2026, 10:01:00 Uhr" in text
    transfers = answer.json()["transfers"]
    assert [t["timeText"] for t in transfers] == ["22.11.2026, 10:04 Uhr", "22.11.2026, 10:01 Uhr"]
    assert transfers[0]["time"] == "2026-11-22T09:04:00Z"  # the API keeps UTC


def test_an_unlisted_error_code_is_named_not_shown_raw() -> None:
    """An outcome with a code outside the EDM list reads "abgelehnt (Fehlercode …)"."""
    from noots.web import outcome_text

    assert outcome_text("refused:EDM:ERR:0004") == "kein Nachweis vorhanden"
    assert outcome_text("refused:urn:x:codes:42") == "abgelehnt (Fehlercode urn:x:codes:42)"
    assert outcome_text("delivered") == "übermittelt"


async def test_the_page_links_the_shared_stylesheet_it_can_load(landscape: Landscape) -> None:
    """The page links the landscape's one stylesheet, which the platform serves, under a
    policy that allows no inline style or script."""
    app = create_app(
        landscape.settings(),
        components=("dsc", "eid"),
        clock=landscape.clock,
        topology=landscape.topology,
    )
    async with running(app) as client:
        page = await client.get("/dsc/")
        css = await client.get("/assets/noots.css")
    assert '<link rel="stylesheet" href="/assets/noots.css">' in page.text
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    policy = page.headers["content-security-policy"]
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy


# -- the authoritative outcome of a transfer ---------------------------------------------------

REQUEST = str(uuid.uuid4())
START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
REFUSALS = [f"refused:EDM:ERR:000{n}" for n in range(1, 9)]
OUTCOMES = ["delivered", "pending", *REFUSALS]


def record(sequence: int, seconds: int, party: str, outcome: str) -> ProtocolEntry:
    """One party's protocol entry about REQUEST, ``seconds`` after START."""
    return ProtocolEntry(
        sequence,
        START + timedelta(seconds=seconds),
        party,
        CONSUMER,
        KBA,
        "Fahrzeughalterauskunft",
        "Bewohnerparkausweis",
        ERIKA[0],
        f"urn:uuid:{REQUEST}",
        outcome,
        "0" * 64,
        "0" * 64,
    )


#: A request's records: (seconds after START, party, outcome), in any order.
STORIES = st.lists(
    st.tuples(st.integers(0, 600), st.sampled_from([KBA, CONSUMER]), st.sampled_from(OUTCOMES)),
    min_size=1,
    max_size=8,
)


def records_of(story: list[tuple[int, str, str]], first: int = 1) -> list[ProtocolEntry]:
    return [record(first + i, s, party, outcome) for i, (s, party, outcome) in enumerate(story)]


@settings(max_examples=300, deadline=None)
@given(
    story=STORIES,
    answer=st.tuples(
        st.integers(0, 600),
        st.sampled_from([CONSUMER, KBA]),
        st.sampled_from(["delivered", "pending"]),
    ),
    later=st.lists(st.sampled_from(REFUSALS), min_size=1, max_size=4),
    data=st.data(),
)
def test_a_later_refusal_never_overwrites_a_delivery_or_an_announcement(
    story: list[tuple[int, str, str]],
    answer: tuple[int, str, str],
    later: list[str],
    data: st.DataObject,
) -> None:
    """Refusals logged after a transfer was delivered or announced (replays, repetitions),
    in any order the logs are read: the outcome stays what it was, and each of them is shown
    as a refused repetition with its own time."""
    story = [*story, answer]
    before = group_transfers(records_of(story))
    assert len(before) == 1
    assert before[0].outcome in ("delivered", "pending")
    replays = [record(100 + i, 700 + i, KBA, outcome) for i, outcome in enumerate(later)]
    entries = data.draw(st.permutations([*records_of(story), *replays]))
    (after,) = group_transfers(entries)
    assert after.outcome == before[0].outcome
    assert set(replays) <= set(after.refused_repetitions)
    assert sorted(after.records, key=lambda e: e.sequence) == sorted(
        entries, key=lambda e: e.sequence
    )


@settings(max_examples=300, deadline=None)
@given(story=STORIES, data=st.data())
def test_the_outcome_is_the_furthest_the_transfer_got(
    story: list[tuple[int, str, str]], data: st.DataObject
) -> None:
    """Whatever the order of the records: delivered if any party delivered, else pending if
    the answer was announced, else the latest refusal; the refused repetitions are exactly
    the refusals after the first delivery or announcement."""
    entries = data.draw(st.permutations(records_of(story)))
    (transfer,) = group_transfers(entries)
    ordered = sorted(entries, key=lambda e: (e.recorded_at, e.party, e.sequence))
    outcomes = [e.outcome for e in ordered]
    if "delivered" in outcomes:
        assert transfer.outcome == "delivered"
    elif "pending" in outcomes:
        assert transfer.outcome == "pending"
    else:
        assert transfer.outcome == ordered[-1].outcome
    answered = [i for i, o in enumerate(outcomes) if o in ("delivered", "pending")]
    expected = [] if not answered else [e for e in ordered[answered[0] :] if e.outcome in REFUSALS]
    assert list(transfer.refused_repetitions) == expected
    assert transfer.first_seen == ordered[0].recorded_at


def log_replayed_delivery(landscape: Landscape) -> None:
    """A Fahrzeughalterauskunft about Erika delivered (online service, KBA), then the same
    request replayed ten minutes later and refused by both with 0003, as issue 13 observed."""
    request_id = f"urn:uuid:{uuid.uuid4()}"
    for outcome in ("delivered", "refused:EDM:ERR:0003"):
        for party in (CONSUMER, KBA):
            with open_protocol_log(
                landscape.data_dir / "logs" / f"{party}.db", party=party, clock=landscape.clock
            ) as log:
                log.append(
                    consumer=CONSUMER,
                    provider=KBA,
                    evidence_type="Fahrzeughalterauskunft",
                    purpose="Bewohnerparkausweis",
                    idnr=ERIKA[0],
                    message_id=request_id,
                    outcome=outcome,
                )
        landscape.clock.advance(timedelta(minutes=10))


async def test_a_replay_does_not_turn_a_delivered_transfer_into_a_refused_one(
    landscape: Landscape,
) -> None:
    """After a replay of a delivered request was refused, the citizen still sees the
    transfer as delivered (JSON and page), and the refusals as refused repetitions with
    their own time ("Wiederholung abgewiesen")."""
    log_replayed_delivery(landscape)
    app = create_app(
        landscape.settings(),
        components=("dsc", "eid"),
        clock=landscape.clock,
        topology=landscape.topology,
    )
    async with running(app) as client:
        token = await login(client, ERIKA[0])
        answer = await client.get("/dsc/v1/transfers", headers={"Authorization": f"Bearer {token}"})
        await client.post(
            "/dsc/anmelden",
            content=f"idnr={ERIKA[0]}&level=hoch",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        page = await client.get("/dsc/")
    (transfer,) = answer.json()["transfers"]
    assert (transfer["outcome"], transfer["outcomeText"]) == ("delivered", "übermittelt")
    marked = [(r["party"], r["outcome"], r["refusedRepetition"]) for r in transfer["records"]]
    assert sorted(marked) == sorted(
        [
            (CONSUMER, "delivered", False),
            (KBA, "delivered", False),
            (CONSUMER, "refused:EDM:ERR:0003", True),
            (KBA, "refused:EDM:ERR:0003", True),
        ]
    )
    replayed = [r["time"] for r in transfer["records"] if r["refusedRepetition"]]
    assert all(time > transfer["time"] for time in replayed)
    assert '<span class="ausgang ok"><span aria-hidden="true">✓</span> übermittelt</span>' in (
        page.text
    )
    assert page.text.count("Wiederholung abgewiesen ·") == 2
    assert "abgelehnt: ungültige Anfrage" in page.text
    for record in transfer["records"]:
        if record["refusedRepetition"]:
            assert f"Wiederholung abgewiesen · {record['timeText']}" in page.text
