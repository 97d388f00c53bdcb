"""The dashboard in Debian chromium against the served landscape, its hops traced over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
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
from noots.testing.dashboard import ServedDashboard
from tests.noots.consumers.dashboard.conftest import ERIKA, KBA, fetch_through_sak

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

#: Every hop of a pilot's retrieval, in the order the live view draws them.
PILOT_HOPS = [
    "dc→ida",
    "dc→sak",
    "sak→rdn",
    "sak→vs",
    "sak→sak",
    "sak→dp",
    "dp→sak",
    "sak←sak",
    "sak→dc",
]
#: One retrieval through the SAKs, KBA for the Bewohnerparkausweis (one area: no VS token).
SAK_HOPS = ["dc→sak", "sak→sak", "sak→dp", "dp→sak", "sak←sak", "sak→dc"]
TIMEOUT = 45_000


RECORD_ROWS = """() => {
  window.__rows = [];
  new MutationObserver((records) => {
    const rows = new Set();
    for (const record of records)
      for (const node of record.addedNodes)
        if (node.nodeType === 1) {
          if (node.matches("li.schritt")) rows.add(node);
          for (const inner of node.querySelectorAll("li.schritt")) rows.add(inner);
        }
    if (rows.size) window.__rows.push([...rows].map((row) => row.dataset.hop));
  }).observe(document.getElementById("ablaeufe"), { childList: true, subtree: true });
}"""


@pytest.fixture
def page(browser: Any, traced: ServedDashboard) -> Iterator[Any]:
    context = browser.new_context(locale="de-DE", viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    log_in(page, traced)
    yield page
    context.close()
    # Leave no fault behind for the other tests of the session.
    landscape = traced.landscape
    httpx.delete(
        landscape.url(KBA) + "/admin/v1/faults",
        headers={"Authorization": f"Bearer {landscape.admin_token}"},
    )


def log_in(page: Any, dashboard: ServedDashboard) -> None:
    """The operator's one click: the link of `noots up` leads to the live view, logged in."""
    page.goto(dashboard.login_url)
    page.wait_for_url(dashboard.url + "/ablauf")


def open_live(page: Any, dashboard: ServedDashboard) -> None:
    page.goto(dashboard.url + "/ablauf")
    page.wait_for_selector("#verbindung[data-state='offen']")
    page.click("#leeren")


def start_pilot(page: Any, pilot: str, idnr: str) -> None:
    page.select_option("#pilot-wahl", pilot)
    page.select_option("#identitaet", idnr)
    page.click("#pilot-start")
    page.wait_for_selector("#lauf-zustand[data-state='fertig']")


def exchange(page: Any, evidence: str, *, state: str) -> Any:
    card = page.locator(f"article.austausch.{state}", has_text=evidence).first
    card.wait_for()
    return card


def test_the_login_link_opens_the_live_view_with_one_click(
    browser: Any, traced: ServedDashboard
) -> None:
    """Without a session the live view leads to the login; the link `noots up` prints logs in
    with one click, leaves no token in the address bar, and the live stream connects."""
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto(traced.url + "/ablauf")
    page.wait_for_url(traced.url + "/login?next=/ablauf")
    assert page.locator("#anmelde-form").is_visible()
    page.goto(traced.login_url)
    page.wait_for_url(traced.url + "/ablauf")
    page.wait_for_selector("#verbindung[data-state='offen']")
    assert "token" not in page.url
    assert page.evaluate("document.cookie") == ""  # HttpOnly: no script reads the session
    page.click("#abmelden")
    page.wait_for_url(traced.url + "/")
    page.goto(traced.url + "/ablauf")
    page.wait_for_url(traced.url + "/login?next=/ablauf")
    context.close()


def test_a_pilot_appears_hop_by_hop_with_every_check_green(
    page: Any, traced: ServedDashboard
) -> None:
    """Bewohnerparkausweis for Erika: two exchanges through the SAKs drawn one hop at a time,
    all green (the Meldebescheinigung across areas with the VS, the Fahrzeughalterauskunft
    within Verkehr without)."""
    open_live(page, traced)
    page.evaluate(RECORD_ROWS)
    start_pilot(page, "bewohnerparkausweis", ERIKA)
    expected = {
        "Meldebescheinigung": PILOT_HOPS,
        "Fahrzeughalterauskunft": [hop for hop in PILOT_HOPS if hop != "sak→vs"],
    }
    for evidence, hops in expected.items():
        card = exchange(page, evidence, state="ok")
        # Each process reports its own hops: the register's dp→sak may arrive after the SAK's
        # sak→dc, and the page files it in its place. Wait for all of them, then check the order.
        card.locator("li.schritt").nth(len(hops) - 1).wait_for()
        assert card.locator("li.schritt").evaluate_all("rows => rows.map(r => r.dataset.hop)") == (
            hops
        )
        assert card.locator("li.schritt.fehler").count() == 0
        assert card.locator(".pruefung.fehler").count() == 0
        assert "Bewohnerparkausweis" in card.locator(".bahn").first.inner_text()
        assert "alle Prüfungen bestanden" in card.locator(".gesamt").inner_text()
    kfz = exchange(page, "Fahrzeughalterauskunft", state="ok")
    assert "Kraftfahrt-Bundesamt" in kfz.locator(".bahn").last.inner_text()
    register_step = kfz.locator("li.schritt[data-hop='sak→dp']")
    assert "Person eindeutig gefunden" in register_step.inner_text()
    assert "✓" in register_step.locator(".ergebnis-text").inner_text()
    batches = page.evaluate("window.__rows")
    assert all(len(batch) == 1 for batch in batches), batches  # one hop at a time
    assert sorted(hop for [hop] in batches) == sorted(hop for h in expected.values() for hop in h)
    results = page.locator("#lauf .ergebnis.geliefert")
    results.nth(1).wait_for()  # the run's summary follows its last hop
    assert results.count() == 2
    assert "LB-EM 1964" in page.locator("#lauf").text_content()  # in "Übernommene Daten"
    page.locator("#ansage", has_text="Prüfungen bestanden").wait_for()  # the live region speaks


def test_a_hops_signed_xml_opens_with_signature_and_chain_explained(
    page: Any, traced: ServedDashboard
) -> None:
    """Clicking sak→sak shows the envelope the online service's SAK signed, with the 0101, its
    signature parts, the verified chain and the VS token inside (across areas)."""
    open_live(page, traced)
    start_pilot(page, "bewohnerparkausweis", ERIKA)
    card = exchange(page, "Meldebescheinigung", state="ok")
    step = card.locator("li.schritt[data-hop='sak→sak'] .schritt-knopf")
    step.click()
    assert step.get_attribute("aria-expanded") == "true"
    panel = page.locator("#details")
    panel.wait_for(state="visible")
    assert "SAK → SAK des Registers" in page.inner_text("#details-h")
    panel.locator(".dokument-knopf", has_text="signierter Umschlag mit 0101").click()
    xml = panel.locator("pre.xml").first
    xml.wait_for()
    assert "<xn-de:DE.EvidenceRequest.0101" in xml.inner_text()
    assert "<ds:SignatureValue>" in xml.inner_text()
    verdict = panel.locator(".urteil").first
    assert "ok" in verdict.get_attribute("class")
    assert "Signatur gültig: signiert von 08118079-BPA-87.sak" in verdict.inner_text()
    chain = panel.locator("ol.kette").first.inner_text()
    for step_name in ("Vertrauensanker", "Ausgestellt vom Vertrauensanker", "Sperrliste (CRL)"):
        assert step_name in chain
    assert panel.locator("ol.kette").first.locator("li.fehler").count() == 0
    assert "RSA mit SHA-256" in panel.locator("table.signatur").first.inner_text()
    panel.locator("details.verschachtelt summary", has_text="Berechtigungstoken").first.click()
    assert "noots-vs" in panel.locator("details.verschachtelt").first.inner_text()
    page.keyboard.press("Escape")
    panel.wait_for(state="hidden")
    assert page.evaluate("document.activeElement.classList.contains('schritt-knopf')")


def test_a_register_fault_shows_the_red_path(page: Any, traced: ServedDashboard) -> None:
    """A corrupted signature of the KBA's SAK in a pilot: sak←sak turns red at the online
    service's SAK's signature check, the online service fails, the Meldebescheinigung is
    delivered."""
    open_live(page, traced)
    row = page.locator(f"#stoerungen-tabelle tr[data-register='{KBA}']")
    row.locator("select.stoerung-wahl").select_option("bad_signature")
    row.locator(".stoerung-setzen").click()
    page.wait_for_function(
        "row => row.querySelector('.stoerung-zustand').textContent.includes('verfälscht')",
        arg=row.element_handle(),
    )
    start_pilot(page, "bewohnerparkausweis", ERIKA)
    card = exchange(page, "Fahrzeughalterauskunft", state="fehler")
    red = card.locator("li.schritt.fehler[data-hop='sak←sak']").first
    red.wait_for()
    # the SAK's own report (the simulated fault) and the online service's SAK's refusal
    red.locator(".pruefung.fehler", has_text="Signatur des SAK des Datenhalters").wait_for()
    simulated = red.locator(".pruefung.simuliert").first
    simulated.wait_for()
    assert simulated.inner_text() == "⚠ Störung simuliert: Antwortsignatur verfälscht"
    # the refusal reaches the online service a moment later: wait, not count
    card.locator("li.schritt.fehler[data-hop='sak→dc']").first.wait_for()
    badge = card.locator(".gesamt", has_text="nicht bestanden")
    badge.wait_for()
    assert badge.inner_text().startswith("✗ nicht bestanden: ")
    assert "Störung simuliert: Antwortsignatur verfälscht" in badge.inner_text()
    assert "arbeitet ohne Störung" not in badge.inner_text()  # a statement, not the error
    assert (
        exchange(page, "Meldebescheinigung", state="ok").locator("li.schritt.fehler").count() == 0
    )
    failed = page.locator("#lauf .ergebnis.fehlgeschlagen", has_text="Fahrzeughalterauskunft")
    failed.first.wait_for()
    assert failed.count() == 1
    row.locator("select.stoerung-wahl").select_option("")
    row.locator(".stoerung-setzen").click()
    page.wait_for_function(
        "row => row.querySelector('.stoerung-zustand').textContent === 'keine Störung'",
        arg=row.element_handle(),
    )


def test_the_path_through_the_saks_is_drawn_on_seven_lifelines(
    page: Any, traced: ServedDashboard
) -> None:
    """A retrieval through the SAKs is one exchange on the lifelines online service, IDA,
    its SAK, RDN, VS, the register's SAK and the register, each hop between the right two,
    every check green, the start times in Berlin time."""
    open_live(page, traced)
    request_id, status = fetch_through_sak(traced.landscape)
    assert status == 200
    card = page.locator(f"article.austausch[data-trace='{request_id}']")
    card.locator("li.schritt[data-hop='sak→dc']").wait_for()
    card.locator("li.schritt[data-hop='sak→dp'] .pruefung", has_text="Person eindeutig").wait_for()
    assert card.get_attribute("data-layout") == "sak"
    lanes = card.locator(".bahn .bahn-lang").all_inner_texts()
    assert lanes == [
        "Online-Dienst",
        "IDA",
        "SAK des Online-Dienstes",
        "RDN",
        "Vermittlungsstelle",
        "SAK des Registers",
        "Register",
    ]
    assert "Kraftfahrt-Bundesamt" in card.locator(".bahn").last.inner_text()
    drawn = card.locator("li.schritt").evaluate_all("rows => rows.map(r => r.dataset.hop)")
    assert [hop for hop in drawn if hop in SAK_HOPS] == SAK_HOPS
    arrows = {
        hop: card.locator(f"li.schritt[data-hop='{hop}'] .pfeil").get_attribute("class")
        for hop in SAK_HOPS
    }
    assert arrows["dc→sak"] == "pfeil von-1 bis-3 span-3 rechts"
    assert arrows["sak→sak"] == "pfeil von-3 bis-6 span-4 rechts"
    assert arrows["sak→dp"] == "pfeil von-6 bis-7 span-2 rechts"
    assert arrows["dp→sak"] == "pfeil von-6 bis-7 span-2 links"
    assert arrows["sak←sak"] == "pfeil von-3 bis-6 span-4 links"
    assert arrows["sak→dc"] == "pfeil von-1 bis-3 span-3 links"
    card.locator(".gesamt", has_text="alle Prüfungen bestanden").wait_for()
    assert card.locator(".pruefung.fehler").count() == 0
    card.locator("li.schritt[data-hop='sak→sak'] .schritt-knopf").click()
    started = page.locator("#details .teil .klein").first.inner_text()
    assert started.endswith(" Uhr")
    assert "T" not in started.rsplit("begonnen", 1)[1]


def test_a_fault_at_the_registers_sak_shows_as_simulated_not_as_an_error_statement(
    page: Any, traced: ServedDashboard
) -> None:
    """ "Antwortsignatur verfälscht" switched on the page reaches the KBA's SAK: its answer
    fails the check of the online service's SAK, the fault is shown as simulated, and the
    badge names the failed check, never "Fehler: … arbeitet ohne Störung"."""
    open_live(page, traced)
    row = page.locator(f"#stoerungen-tabelle tr[data-register='{KBA}']")
    row.locator("select.stoerung-wahl").select_option("bad_signature")
    row.locator(".stoerung-setzen").click()
    page.wait_for_function(
        "row => row.querySelector('.stoerung-zustand').textContent.includes('am SAK')",
        arg=row.element_handle(),
    )
    try:
        request_id, status = fetch_through_sak(traced.landscape)
    finally:
        httpx.delete(
            traced.landscape.url(f"{KBA}.sak") + "/admin/v1/faults",
            headers={"Authorization": f"Bearer {traced.landscape.admin_token}"},
        )
    assert status != 200
    card = page.locator(f"article.austausch[data-trace='{request_id}']")
    red = card.locator("li.schritt.fehler[data-hop='sak←sak']")
    red.locator(".pruefung.simuliert").wait_for()
    assert red.locator(".pruefung.simuliert").inner_text() == (
        "⚠ Störung simuliert: Antwortsignatur verfälscht"
    )
    red.locator(".pruefung.fehler:not(.simuliert)").first.wait_for()
    badge = card.locator(".gesamt.fehler")
    badge.wait_for()
    assert badge.inner_text().startswith("✗ nicht bestanden: ")
    assert "Störung simuliert: Antwortsignatur verfälscht" in badge.inner_text()
    assert "arbeitet ohne Störung" not in badge.inner_text()
    assert "bad_signature" not in card.inner_text()


def test_datenschutzcockpit_view_lists_the_citizens_transfers(
    page: Any, traced: ServedDashboard
) -> None:
    """Erika logs in with the simulated eID and sees who fetched which evidence about her."""
    open_live(page, traced)
    start_pilot(page, "bewohnerparkausweis", ERIKA)
    page.goto(traced.url + "/datenschutzcockpit")
    page.select_option("#dsc-person", ERIKA)
    page.click("#dsc-anmelden")
    page.locator("#dsc-tabelle tr.uebermittlung").first.wait_for()
    table = page.inner_text("#dsc-tabelle")
    assert "Fahrzeughalterauskunft aus dem Zentralen Fahrzeugregister" in table
    assert "Stadt Korntal-Münchingen, Bewohnerparkausweis" in table
    assert "Bewohnerparkausweis" in table
    assert "übermittelt" in table
    assert "delivered" not in table
    assert " Uhr" in table
    assert "Vertrauensniveau hoch" in page.inner_text("#dsc-person-info")


def test_landscape_view_shows_live_health(page: Any, traced: ServedDashboard) -> None:
    """The platform and every register turn healthy in the components table."""
    page.goto(traced.url + "/")
    page.wait_for_selector("tr[data-component='platform'] .zustand[data-status='healthy']")
    page.wait_for_selector(f"tr[data-component='{KBA}'] .zustand[data-status='healthy']")
    assert "gesund" in page.inner_text(f"tr[data-component='{KBA}'] .zustand")
    assert page.locator("#matrix td.erlaubt").count() >= 5


def test_reports_view_says_when_there_is_none_and_shows_a_new_one(
    page: Any, traced: ServedDashboard
) -> None:
    """No report yet: the page says so; after a suite writes one, it is listed and opens."""
    reports = traced.landscape.data_dir / "reports"
    page.goto(traced.url + "/berichte")
    if not any(reports.rglob("*.json")):
        assert "noch keine Berichte" in page.inner_text("#keine-berichte")
    start = datetime.now(UTC)
    report = Report(
        kind="provider",
        title="Anschlussprüfung KBA (Browser-Test)",
        target=traced.landscape.url(KBA),
        started_at=start,
        finished_at=start + timedelta(seconds=2),
        sections=(
            Section.for_condition(
                condition("DP-15"), [Check("GET /health", Status.PASSED, expected="200")]
            ),
        ),
        participant=KBA,
    )
    files = write_report(report, json=reports / "browser-kba.json")
    simulator = load_participant(
        traced.landscape.data_dir / "pki", "noots-simulator", clock=SystemClock()
    )
    sign_report_files(files, report, simulator.signer, clock=SystemClock())
    page.reload()
    link = page.locator("a", has_text="Anschlussprüfung KBA (Browser-Test)")
    assert "vom Simulator signiert" in page.locator("#berichte tr", has=link).inner_text()
    link.click()
    page.wait_for_selector("h1:has-text('Anschlussprüfung KBA (Browser-Test)')")
    assert "DP-15" in page.inner_text("main")


def test_the_eu_pilots_are_drawn_on_the_lifelines_of_the_ip(
    page: Any, traced: ServedDashboard
) -> None:
    """ "Geburtsurkunde für eine französische Behörde" is drawn from the EU authority through
    the IP and its SAK to the register and back; "Ausländischer Hochschulabschluss" from the
    online service through the SAKs to the IP, the common services and the member state."""
    open_live(page, traced)
    start_pilot(page, "eu-geburtsurkunde", ERIKA)
    lyon = page.locator("article.austausch[data-layout='eu3']").first
    lyon.wait_for()
    lyon.locator("li.schritt[data-hop='ip→eu']").wait_for()
    assert "Intermediäre Plattform" in lyon.locator(".bahnen").inner_text()
    # Each process reports its hops in the background: wait for every one, then count.
    for hop in ("eu→ip", "dc→sak", "sak→sak", "sak→dp", "bürger→ip", "ip→eu"):
        lyon.locator(f"li.schritt[data-hop='{hop}']").first.wait_for()
        assert lyon.locator(f"li.schritt[data-hop='{hop}']").count() == 1, hop
    start_pilot(page, "zeugnisbewertung", ERIKA)
    order = page.locator("article.austausch[data-layout='eu4']", has_text="bestellen").first
    order.wait_for()
    order.locator("li.schritt[data-hop='ms→ip']").wait_for()
    for hop in ("dc→sak", "sak→sak", "sak→dp", "ip→cs", "bürger→ip", "ip→ms", "ms→ip"):
        order.locator(f"li.schritt[data-hop='{hop}']").first.wait_for()
        assert order.locator(f"li.schritt[data-hop='{hop}']").count() == 1, hop
    assert "Universität Wien" in order.locator(".bahnen").inner_text()
