"""The dashboard's pages and API, wired in-process to the real landscape (no sockets)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from noots.clock import SystemClock
from noots.conformance import (
    Check,
    Report,
    Section,
    Status,
    condition,
    sign_report_files,
    write_report,
)
from noots.participant import load_participant
from noots.testing.landscape import Landscape
from noots.trace import FlowEvent, Hop
from tests.noots.consumers.dashboard.conftest import ERIKA, KBA, MELDE_KORNTAL, wired_dashboard

pytestmark = pytest.mark.e2e

BPA_REGISTERS = [MELDE_KORNTAL, KBA]
NILS_NOT_FOUND = "01234567837"
SABINE_BLOCKED = "01234567845"
BPA = "08118079-BPA-87"
BPA_SAK = f"{BPA}.sak"


def by_trace(events: list[dict[str, Any]], trace_id: str) -> list[dict[str, Any]]:
    return [e for e in events if e["traceId"] == trace_id]


def failed(event: dict[str, Any]) -> list[str]:
    return [c["name"] for c in event["checks"] if not c["ok"]]


async def test_pages_render_in_german_with_every_asset_shipped(landscape: Landscape) -> None:
    """Every page answers in German under a strict CSP and links only to its own assets."""
    async with wired_dashboard(landscape, registers=[]) as dash:
        for path, heading in (
            ("/", "Landschaft"),
            ("/ablauf", "Live-Ablauf"),
            ("/datenschutzcockpit", "Datenschutzcockpit"),
            ("/berichte", "Konformitätsberichte"),
        ):
            page = await dash.client.get(path)
            assert page.status_code == 200
            assert '<html lang="de">' in page.text
            assert f"<h1>{heading}" in page.text
            assert "script-src 'self'" in page.headers["content-security-policy"]
            links = re.findall(r'(?:src|href)="([^"]*)"', page.text)
            assert links
            assert all(link.startswith(("/", "#")) for link in links), links
            for asset in (link for link in links if link.startswith(("/static/", "/assets/"))):
                assert (await dash.client.get(asset)).status_code == 200


async def test_landscape_page_shows_components_evidence_and_matrix(landscape: Landscape) -> None:
    """Landschaft lists every component and register offer and each row of the matrix."""
    async with wired_dashboard(landscape, registers=[]) as dash:
        page = (await dash.client.get("/")).text
        topology = dash.landscape.topology
    for register in topology.registers:
        assert f'data-register="{register.participant_id}"' in page
        for name in register.evidence_types:
            assert f"<strong>{name}</strong>" in page
    for consumer in topology.consumers:
        assert f'data-consumer="{consumer.participant_id}"' in page
    assert page.count("Zweck „") == len(topology.authorisations)
    assert "nicht erlaubt" in page  # e.g. the Gewerbeamt may not fetch a Geburtsurkunde


async def test_health_api_reports_each_component(landscape: Landscape) -> None:
    """Wired components are healthy, the ones not running are reported unreachable."""
    async with wired_dashboard(landscape, registers=[KBA]) as dash:
        health = (await dash.client.get("/api/v1/health")).json()["components"]
    status = {c["name"]: c["status"] for c in health}
    assert status["platform"] == status["ida"] == status[KBA] == status["dashboard"] == "healthy"
    assert status[MELDE_KORNTAL] == "unreachable"
    assert status["08118079-BPA-87"] == "unreachable"  # demo services are not wired here


async def test_pilot_draws_every_hop_of_both_exchanges_green(landscape: Landscape) -> None:
    """Bewohnerparkausweis for Erika: both evidences delivered, every hop reported and passed."""
    async with wired_dashboard(landscape, registers=BPA_REGISTERS) as dash:
        run = await dash.run_pilot("bewohnerparkausweis", ERIKA)
        events = await dash.flow_events()
    assert run["state"] == "fertig"
    assert [r["state"] for r in run["results"]] == ["geliefert", "geliefert"]
    kfz = run["results"][1]
    assert ["Kennzeichen", "LB-EM 1964"] in kfz["rows"] or any(
        "LB-EM 1964" in value for _label, value in kfz["rows"]
    )
    for result in run["results"]:
        exchange = by_trace(events, result["requestId"])
        hops = {(e["hop"], e["component"]) for e in exchange}
        provider = MELDE_KORNTAL if result["evidenceType"] == "Meldebescheinigung" else KBA
        provider_sak = f"{provider}.sak"
        expected = {
            ("dc→ida", BPA),
            ("dc→sak", BPA),
            ("dc→sak", BPA_SAK),
            ("sak→rdn", BPA_SAK),
            ("sak→sak", BPA_SAK),
            ("sak→sak", provider_sak),
            ("sak→dp", provider_sak),
            ("sak→dp", provider),
            ("dp→sak", provider),
            ("dp→sak", provider_sak),
            ("sak←sak", provider_sak),
            ("sak←sak", BPA_SAK),
            ("sak→dc", BPA_SAK),
            ("sak→dc", BPA),
        }
        if provider == MELDE_KORNTAL:  # across areas with the IDNr: the SAK asks the VS
            expected.add(("sak→vs", BPA_SAK))
        assert hops == expected
        assert all(e["ok"] for e in exchange), [(e["hop"], failed(e)) for e in exchange]
        client_events = [e for e in exchange if e["component"] == BPA]
        assert {e["flowId"] for e in client_events} == {run["runId"]}
        [dp_checks] = [
            [c["name"] for c in e["checks"]]
            for e in exchange
            if e["hop"] == "sak→dp" and e["component"] == provider
        ]
        assert dp_checks[0].startswith("0101 vom eigenen SAK")
        assert any(name.startswith("VS-Token") for name in dp_checks)
        assert any(name.startswith("Person eindeutig gefunden") for name in dp_checks)
        assert dp_checks[-1] == "Übermittlung protokolliert (§ 9 IDNrG)"
        # both SAKs and the register name the same attempt: the envelope id of the request
        between = {"sak→sak", "sak→dp", "sak←sak"}
        assert len({e["envelopeId"] for e in exchange if e["hop"] in between}) == 1


async def test_register_fault_turns_the_path_red_until_reset(landscape: Landscape) -> None:
    """A corrupted signature of the KBA's SAK: the online service's SAK refuses the answer, the
    online service gets 0008, the rest stays green."""
    async with wired_dashboard(landscape, registers=BPA_REGISTERS) as dash:
        switched = await dash.client.put(f"/api/v1/faults/{KBA}", json={"fault": "bad_signature"})
        assert switched.status_code == 200
        assert switched.json()["choice"] == "bad_signature"
        listed = (await dash.client.get("/api/v1/faults")).json()["registers"]
        assert {r["participantId"]: r["choice"] for r in listed}[KBA] == "bad_signature"
        run = await dash.run_pilot("bewohnerparkausweis", ERIKA, via_ida=False)
        events = await dash.flow_events()
        reset = await dash.client.put(f"/api/v1/faults/{KBA}", json={"fault": None})
        after = await dash.run_pilot("bewohnerparkausweis", ERIKA, via_ida=False)
    melde, kfz = run["results"]
    assert melde["state"] == "geliefert"
    assert kfz["state"] == "fehlgeschlagen"
    assert kfz["code"] == "EDM:ERR:0008"
    [kfz_trace] = {e["traceId"] for e in events if e["component"] == KBA}
    exchange = by_trace(events, kfz_trace)
    checked = [e for e in exchange if e["hop"] == "sak←sak" and e["component"] == BPA_SAK]
    assert checked
    assert all(
        failed(e) == ["Signatur des SAK des Datenhalters, an die Anfrage gebunden"] for e in checked
    )
    spoiled = [e for e in exchange if e["hop"] == "sak←sak" and e["component"] == f"{KBA}.sak"]
    assert all(failed(e) == ["SAK arbeitet ohne Störung"] for e in spoiled)
    assert any(e["hop"] == "sak→dc" and not e["ok"] for e in exchange)  # the DC sees the 0008
    assert all(e["ok"] for e in by_trace(events, melde["requestId"]))
    assert reset.json() == {"participantId": KBA, "choice": None, "text": "keine Störung"}
    assert [r["state"] for r in after["results"]] == ["geliefert", "geliefert"]


async def test_unknown_person_stops_at_the_ida(landscape: Landscape) -> None:
    """Nils Niemand is in no register: the IDA finds no IDNr, nothing reaches a SAK."""
    async with wired_dashboard(landscape, registers=BPA_REGISTERS) as dash:
        run = await dash.run_pilot("bewohnerparkausweis", NILS_NOT_FOUND)
        events = await dash.flow_events()
    assert {r["state"] for r in run["results"]} == {"fehlgeschlagen"}
    mine = [e for e in events if e["flowId"] == run["runId"]]
    assert {e["hop"] for e in mine} == {"dc→ida"}
    assert all(failed(e) == ["Antwort ist ein Ergebnis der IDA"] for e in mine)
    assert all(e["traceId"] for e in mine)  # a generated flow id: no request ever existed


async def test_information_block_fails_at_the_register_like_not_found(
    landscape: Landscape,
) -> None:
    """Sabine Verborgen (Auskunftssperre) by IDNr: the register's person step fails with 0004."""
    async with wired_dashboard(landscape) as dash:
        run = await dash.run_pilot("elterngeld", SABINE_BLOCKED, via_ida=False)
        events = await dash.flow_events()
    melde = next(r for r in run["results"] if r["evidenceType"] == "Meldebescheinigung")
    assert melde["state"] == "fehlgeschlagen"
    assert melde["code"] == "EDM:ERR:0004"
    register_steps = [
        e
        for e in events
        if e["hop"] == "sak→dp" and e["component"] == "09162000-MELD-57" and not e["ok"]
    ]
    assert [failed(e) for e in register_steps] == [
        ["Person eindeutig gefunden (sonst: kein Nachweis, wie bei Auskunftssperre)"]
    ]


async def test_hop_document_is_explained_with_signature_and_chain(landscape: Landscape) -> None:
    """The signed envelope of the sak→sak hop across areas: verified, its parts named, the VS
    token inside."""
    async with wired_dashboard(landscape, registers=BPA_REGISTERS) as dash:
        await dash.client.put(f"/api/v1/faults/{KBA}", json={"fault": None})
        await dash.runner.wait(
            (
                await dash.client.post(
                    "/api/v1/runs",
                    json={"pilot": "bewohnerparkausweis", "idnr": ERIKA, "viaIda": False},
                )
            ).json()["runId"],
            timeout=60,
        )
        events = await dash.flow_events()
        melde = {e["traceId"] for e in events if e["component"] == MELDE_KORNTAL}
        request = next(
            e
            for e in events
            if e["hop"] == "sak→sak"
            and e["component"] == BPA_SAK
            and e["documents"]
            and e["traceId"] in melde
        )
        doc = (await dash.client.get(f"/api/v1/events/{request['eventId']}/documents/0")).json()
        answer = next(
            e for e in events if e["hop"] == "dp→sak" and e["component"] == KBA and e["documents"]
        )
        evidence = (await dash.client.get(f"/api/v1/events/{answer['eventId']}/documents/0")).json()
        missing = await dash.client.get(f"/api/v1/events/{'0' * 32}/documents/0")
    assert "DE.EvidenceRequest.0101" in doc["kind"]
    assert doc["verification"]["ok"], doc["verification"]
    assert BPA_SAK in doc["verification"]["text"]
    header = dict(doc["header"])
    assert header["Absender"] == BPA_SAK
    assert header["Zweck"] == "Bewohnerparkausweis"
    names = [item["name"] for item in doc["signature"]["items"]]
    assert names[:3] == ["Kanonisierung", "Signaturverfahren", "Referenz"]
    assert any(item["meaning"] == "SHA-256" for item in doc["signature"]["items"])
    chain = {step["name"]: step["ok"] for step in doc["certificate"]["chain"]}
    assert chain == {
        "Vertrauensanker": True,
        "Ausgestellt vom Vertrauensanker": True,
        "Gültigkeitszeitraum": True,
        "Sperrliste (CRL)": True,
        "Gesamtprüfung": True,
    }
    assert "<xn-de:DE.EvidenceRequest.0101" in doc["pretty"]
    assert "\n  <" in doc["pretty"]  # indented for reading
    [token] = doc["nested"]
    assert token["kind"] == "Berechtigungstoken der Vermittlungsstelle"
    assert token["verification"]["ok"]
    assert dict(token["header"])["Aussteller"] == "noots-vs"
    assert "DE.EvidenceResponse.0102" in evidence["kind"]
    assert [n["label"] for n in evidence["nested"]] == ["Nachweisdokument"]
    assert missing.status_code == 404


async def test_collector_accepts_valid_batches_only(landscape: Landscape) -> None:
    """/events/v1 stores a component's valid events and refuses other content types, bad JSON
    and oversize."""
    now = datetime.now(UTC)
    event = FlowEvent(
        trace_id="abc",
        hop=Hop.SAK_DP,
        component=KBA,
        started_at=now,
        ended_at=now + timedelta(milliseconds=5),
    )
    body = '{"events": [' + event.model_dump_json() + "]}"
    async with wired_dashboard(landscape, registers=[]) as dash:
        as_kba = {**dash.reporting(KBA), "Content-Type": "application/json"}
        accepted = await dash.anonymous.post("/events/v1", content=body, headers=as_kba)
        as_form = await dash.anonymous.post(
            "/events/v1", content=body, headers={**as_kba, "Content-Type": "text/plain"}
        )
        broken = await dash.anonymous.post(
            "/events/v1", content='{"events": [{"hop": "nowhere"}]}', headers=as_kba
        )
        huge = await dash.anonymous.post(
            "/events/v1", content=b" " * (17 * 1024 * 1024), headers=as_kba
        )
        stored = await dash.flow_events()
    assert accepted.status_code == 202
    assert accepted.json() == {"accepted": 1}
    assert (as_form.status_code, broken.status_code, huge.status_code) == (415, 422, 413)
    assert [(e["eventId"], e["traceId"], e["hop"]) for e in stored] == [
        (event.event_id, "abc", "sak→dp")
    ]


async def test_datenschutzcockpit_shows_the_pilot_transfers(landscape: Landscape) -> None:
    """After a pilot the DSC view lists Erika's transfers; a lower eID level is refused."""
    async with wired_dashboard(landscape, registers=BPA_REGISTERS) as dash:
        run = await dash.run_pilot("bewohnerparkausweis", ERIKA, via_ida=False)
        cockpit = await dash.client.post("/api/v1/dsc", json={"idnr": ERIKA, "level": "hoch"})
        lower = await dash.client.post("/api/v1/dsc", json={"idnr": ERIKA, "level": "substantiell"})
    assert cockpit.status_code == 200
    data = cockpit.json()
    assert data["identity"]["name"] == "Erika Mustermann"
    assert data["identity"]["check"]["ok"]
    request_ids = {t["requestId"].removeprefix("urn:uuid:") for t in data["transfers"]}
    assert {r["requestId"] for r in run["results"]} <= request_ids
    assert lower.json()["refused"]["status"] == 403
    assert lower.json()["transfers"] == []


async def test_datenschutzcockpit_view_is_german(landscape: Landscape) -> None:
    """The DSC view's data are ready to show: Berlin time written by Babel, outcomes and
    parties in German, a refusal explained in German."""
    async with wired_dashboard(landscape, registers=BPA_REGISTERS) as dash:
        run = await dash.run_pilot("bewohnerparkausweis", ERIKA, via_ida=False)
        cockpit = (await dash.client.post("/api/v1/dsc", json={"idnr": ERIKA})).json()
        lower = await dash.client.post("/api/v1/dsc", json={"idnr": ERIKA, "level": "normal"})
    german_time = re.compile(r"^\d\d\.\d\d\.\d{4}, \d\d:\d\d Uhr$")
    assert german_time.match(cockpit["identity"]["expiresAtText"])
    ours = {r["requestId"] for r in run["results"]}
    transfers = [
        t for t in cockpit["transfers"] if t["requestId"].removeprefix("urn:uuid:") in ours
    ]
    assert len(transfers) == 2
    for transfer in transfers:
        assert german_time.match(transfer["timeText"]), transfer["timeText"]
        assert transfer["outcomeText"] == "übermittelt"
        for record in transfer["records"]:
            assert record["outcomeText"] == "übermittelt"
            assert record["partyName"] != record["party"]  # a name, not an id
            assert record["timeText"].endswith(" Uhr")
    for transfer in cockpit["transfers"]:  # earlier tests' refusals too: never a raw key
        assert not transfer["outcomeText"].startswith(("refused", "delivered", "pending"))
    assert "Vertrauensniveau „hoch“" in lower.json()["refused"]["text"]


async def test_dashboard_health_names_its_own_revoked_certificate(
    landscape: Landscape, tmp_path: Path
) -> None:
    """The dashboard's /health is 503 once the CA revoked its own certificate, and its own
    row on the Landschaft turns degraded, naming the certificate."""
    from noots.consumers.dashboard import DashboardSettings, create_app
    from noots.pki import Role
    from noots.testing.pki import TestPki

    with TestPki(tmp_path / "pki") as pki:
        pki.credential("noots-simulator", Role.SIMULATOR)
        me = load_participant(tmp_path / "pki", "noots-simulator", clock=SystemClock())
        app = create_app(DashboardSettings(**landscape.settings_overrides), participant=me)
        async with app.router.lifespan_context(app):
            import httpx

            base = landscape.url("dashboard")
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=base
            ) as client:
                before = await client.get("/health")
                pki.revoke("noots-simulator")
                after = await client.get("/health")
                rows = (await client.get("/api/v1/health")).json()
    assert before.status_code == 200
    assert after.status_code == 503
    [problem] = after.json()["problems"]
    assert problem.startswith("Zertifikat von noots-simulator (Simulator (Dashboard)) gesperrt / ")
    [own] = [c for c in rows["components"] if c["name"] == "dashboard"]
    assert own["status"] == "degraded"
    assert "gesperrt" in own["detail"]
    assert rows["checkedAt"].endswith(" Uhr")


async def test_landscape_lists_each_sak_with_the_participant_it_connects(
    landscape: Landscape,
) -> None:
    """Every register and online service has its SAK on the Landschaft, beside its name."""
    async with wired_dashboard(landscape, registers=[]) as dash:
        page = (await dash.client.get("/")).text
        topology = dash.landscape.topology
    section = page[page.index('id="saks"') :]
    section = section[: section.index("</table>")]
    for member in topology.members():
        row = section[section.index(f'data-sak="{member.participant_id}.sak"') :]
        row = row[: row.index("</tr>")]
        assert f'data-serves="{member.participant_id}"' in row
        assert member.name in row


@pytest.mark.postgres
async def test_pilot_consumer_logs_to_the_landscape_database(
    landscape: Landscape, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With NOOTS_DATABASE_URL set (docker compose) the dashboard's online service logs to that
    database beside the register, so the DSC shows the consumer's own records."""
    from noots.testing.postgres import fresh_database

    monkeypatch.setenv("NOOTS_DATABASE_URL", fresh_database(postgres_url))
    async with wired_dashboard(landscape, registers=BPA_REGISTERS) as dash:
        run = await dash.run_pilot("bewohnerparkausweis", ERIKA, via_ida=False)
        cockpit = await dash.client.post("/api/v1/dsc", json={"idnr": ERIKA, "level": "hoch"})
    consumer = landscape.consumer("bewohnerparkausweis")
    ours = {r["requestId"] for r in run["results"]}
    transfers = [
        t for t in cockpit.json()["transfers"] if t["requestId"].removeprefix("urn:uuid:") in ours
    ]
    assert len(transfers) == len(ours) == 2
    for transfer in transfers:
        assert consumer in {r["party"] for r in transfer["records"]}, transfer


def _report(target: str) -> Report:
    start = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    return Report(
        kind="provider",
        title="Anschlussprüfung Melderegister",
        target=target,
        started_at=start,
        finished_at=start + timedelta(seconds=3),
        sections=(
            Section.for_condition(
                condition("DP-15"), [Check("GET /health", Status.PASSED, expected="200")]
            ),
            Section.for_condition(
                condition("DP-05"),
                [Check("invalid IDNr", Status.FAILED, expected="0003", actual="0004")],
            ),
        ),
        participant=MELDE_KORNTAL,
    )


async def test_reports_view_lists_signed_reports_and_flags_changed_ones(
    landscape: Landscape, tmp_path: Path
) -> None:
    """No reports: the page says so; a signed one is listed and rendered; a changed one flagged."""
    reports = tmp_path / "reports"
    async with wired_dashboard(landscape, registers=[], reports_dir=reports) as dash:
        empty = (await dash.client.get("/berichte")).text
        simulator = load_participant(
            landscape.data_dir / "pki", "noots-simulator", clock=SystemClock()
        )
        files = write_report(_report("http://127.0.0.1:8410"), json=reports / "melde.json")
        sign_report_files(files, _report("x"), simulator.signer, clock=SystemClock())
        listed = (await dash.client.get("/api/v1/reports")).json()["reports"]
        detail = (await dash.client.get("/berichte/melde.json")).text
        (reports / "melde.json").write_text(
            (reports / "melde.json").read_text(encoding="utf-8").replace("3.0", "4.0"),
            encoding="utf-8",
        )
        changed = (await dash.client.get("/api/v1/reports")).json()["reports"]
        unknown = await dash.client.get("/berichte/nichts.json")
    assert 'id="keine-berichte"' in empty
    [entry] = listed
    assert entry["title"] == "Anschlussprüfung Melderegister"
    assert entry["passed"] is False
    assert (entry["sectionsPassed"], entry["sectionsFailed"]) == (1, 1)
    assert entry["signatureOk"], entry["signatureText"]
    assert "DP-05" in detail
    assert "nicht bestanden" in detail
    assert changed[0]["signatureOk"] is False
    assert unknown.status_code == 404


async def test_run_requests_are_checked(landscape: Landscape) -> None:
    """Unknown pilots and identities are refused; state changes need JSON."""
    async with wired_dashboard(landscape, registers=[]) as dash:
        pilot = await dash.client.post("/api/v1/runs", json={"pilot": "hundesteuer", "idnr": ERIKA})
        person = await dash.client.post(
            "/api/v1/runs", json={"pilot": "bewohnerparkausweis", "idnr": "02476291358x"}
        )
        form = await dash.client.post(
            "/api/v1/runs",
            content="pilot=bewohnerparkausweis&idnr=02476291358",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        fault = await dash.client.put(f"/api/v1/faults/{KBA}", json={"fault": "meteor"})
        listed = (await dash.client.get("/api/v1/pilots")).json()
    assert (pilot.status_code, person.status_code, form.status_code) == (422, 422, 415)
    assert fault.status_code == 422
    assert [p["kind"] for p in listed["pilots"]] == [
        "bewohnerparkausweis",
        "elterngeld",
        "gewerbeanmeldung",
        "zeugnisbewertung",
        "eu-geburtsurkunde",
    ]
    assert {i["behaviour"] for i in listed["identities"]} >= {"normal", "not_found", "slow"}


async def test_pilot_foreign_degree_draws_the_eu_hops(landscape: Landscape) -> None:
    """ "Ausländischer Hochschulabschluss": the ZAB orders, the citizen (simulated) goes
    through the IP and Vienna, the ZAB collects; the order's card carries the common
    services, the citizen and both requests to the member state, all passed."""
    async with wired_dashboard(landscape, registers=[]) as dash:
        run = await dash.run_pilot("zeugnisbewertung", ERIKA)
        events = await dash.flow_events()
    assert run["title"] == "Ausländischer Hochschulabschluss"
    (result,) = run["results"]
    assert result["state"] == "geliefert", result
    assert ["Ausgestellt von", "Universität Wien"] in result["rows"]
    order = by_trace(events, result["requestId"])
    hops = {(e["hop"], e["component"]) for e in order}
    assert {
        ("ip→cs", "noots-ip"),
        ("bürger→ip", "noots-ip"),
        ("ip→ms", "noots-ip"),
        ("ms→ip", "noots-ip"),
        ("sak→dp", "noots-ip.sak"),
        ("sak→dp", "noots-ip"),
    } <= hops
    assert all(e["ok"] for e in order if e["hop"] != "ip→ms"), [
        (e["hop"], failed(e)) for e in order
    ]


async def test_pilot_birth_certificate_for_lyon_draws_the_eu_hops(landscape: Landscape) -> None:
    """ "Geburtsurkunde für eine französische Behörde": Lyon asks, the user approves the
    preview at the IP, Lyon gets the evidence; the IP's exchange runs to the register."""
    async with wired_dashboard(landscape, registers=["992-00001PSTR-10"]) as dash:
        run = await dash.run_pilot("eu-geburtsurkunde", ERIKA)
        events = await dash.flow_events()
    assert run["consumer"] == "eu-gw-fr"
    (result,) = run["results"]
    assert result["state"] == "geliefert", result
    hops = {(e["hop"], e["component"]) for e in events}
    assert {
        ("eu→ip", "noots-ip"),
        ("dc→sak", "noots-ip"),
        ("sak→sak", "noots-ip.sak"),
        ("sak→dp", "992-00001PSTR-10"),
        ("bürger→ip", "noots-ip"),
        ("ip→eu", "noots-ip"),
    } <= hops
