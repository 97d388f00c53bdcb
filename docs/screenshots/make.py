"""Regenerate the dashboard screenshots in this folder.

    python3 docs/screenshots/make.py [--out docs/screenshots] [--chromium /usr/bin/chromium]

Starts a small landscape on free loopback ports (a temporary data directory, 300 people), the
dashboard beside it with every component reporting its hops, drives Debian chromium through
the main views and saves one PNG per view (1600 × 1000, the size of a projector image; the
``telefon-*`` ones 375 px wide, a phone): the dashboard (logged in first, as the link of
`noots up` does), a retrieval through the SAKs and one spoiled by a fault at the register's
SAK, and the citizen's Datenschutzcockpit of the platform.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

from noots import messages
from noots.access import AccessTokenSource
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
from noots.conformance.requests import RequestFactory
from noots.participant import load_credential, load_participant
from noots.synthetic.identities import identity
from noots.testing.browser import CHROMIUM, CHROMIUM_ARGS
from noots.testing.dashboard import ServedDashboard, serve_dashboard
from noots.testing.landscape import Landscape, serve_landscape

HERE = Path(__file__).resolve().parent
KBA = "991-01234ZFZR-41"
BPA = "08118079-BPA-87"
ERIKA = "02476291358"


def through_the_saks(landscape: Landscape) -> str:
    """The Bewohnerparkausweis service asks its SAK for Erika's Fahrzeughalterauskunft
    (consumer API with its IAM access token); the request id."""
    topology, pki_dir, clock = landscape.topology, landscape.data_dir / "pki", SystemClock()
    erika = identity(ERIKA)
    assert erika is not None
    request = RequestFactory.from_pki_dir(pki_dir, topology, clock=clock).request(
        consumer=BPA,
        provider=KBA,
        evidence_type="Fahrzeughalterauskunft",
        subject=messages.NaturalPerson(
            erika.family_name, erika.given_names, erika.date_of_birth, erika.idnr
        ),
    )

    async def submit() -> None:
        async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
            token = AccessTokenSource(
                load_credential(pki_dir, BPA),
                iam_url=topology.base_url("platform"),
                iam_id=topology.platform.iam_id,
                clock=clock,
                http=http,
            )
            await http.post(
                topology.base_url(topology.sak_id(BPA)) + "/consumer/v1/requests",
                content=messages.to_bytes(request),
                headers={
                    "Content-Type": "application/xml",
                    **await token.authorization(topology.sak_id(BPA)),
                    "Noots-Purpose": "Bewohnerparkausweis",
                    "Noots-Service-Id": topology.service_id(KBA, "Fahrzeughalterauskunft"),
                },
            )

    # Playwright's sync API runs an event loop in this thread: the client gets its own.
    with ThreadPoolExecutor(1) as worker:
        worker.submit(asyncio.run, submit()).result(timeout=60)
    return str(request.request_id)


def run_pilot(page: Any, idnr: str = ERIKA) -> None:
    page.select_option("#pilot-wahl", "bewohnerparkausweis")
    page.select_option("#identitaet", idnr)
    page.click("#pilot-start")
    page.wait_for_selector("#lauf-zustand[data-state='fertig']")
    page.wait_for_timeout(2500)  # let the last hops of the SAKs and the register arrive


def show(page: Any, locator: Any) -> None:
    """Scroll ``locator`` to the top of the window."""
    locator.evaluate("node => node.scrollIntoView({block: 'start'})")
    page.evaluate("window.scrollBy(0, -12)")


def sample_report(dashboard: ServedDashboard) -> None:
    start = datetime.now(UTC)
    checks = {
        "DP-01": [Check("0101 → 0102 gültig nach XNachweis 1.2.0", Status.PASSED)],
        "DP-16": [Check("Anfrage ohne Zugriffstoken des SAK → 401", Status.PASSED)],
        "DP-04": [Check("fremder Zweck im Token → EDM:ERR:0002", Status.PASSED)],
        "DP-05": [
            Check(
                "ungültige IDNr → EDM:ERR:0003",
                Status.FAILED,
                expected="EDM:ERR:0003",
                actual="EDM:ERR:0004",
                hint="Prüfziffer und Ziffernregeln vor der Suche prüfen.",
            )
        ],
        "DP-15": [Check("GET /health → 200", Status.PASSED)],
    }
    report = Report(
        kind="provider",
        title="Anschlussprüfung Melderegister Korntal-Münchingen",
        target=dashboard.landscape.url("08118079-MELD-12"),
        started_at=start,
        finished_at=start + timedelta(seconds=4),
        sections=tuple(Section.for_condition(condition(c), rows) for c, rows in checks.items()),
        participant="08118079-MELD-12",
    )
    reports = dashboard.landscape.data_dir / "reports"
    files = write_report(report, json=reports / "melderegister-korntal.json")
    simulator = load_participant(
        dashboard.landscape.data_dir / "pki", "noots-simulator", clock=SystemClock()
    )
    sign_report_files(files, report, simulator.signer, clock=SystemClock())


def shoot(dashboard: ServedDashboard, out: Path, chromium: str) -> list[Path]:
    written: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="de-DE", viewport={"width": 1600, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)

        def save(name: str, **options: Any) -> None:
            path = out / name
            page.screenshot(path=str(path), **options)
            written.append(path)

        page.goto(dashboard.login_url)  # the operator's one-click login of `noots up`
        page.wait_for_url(dashboard.url + "/ablauf")
        page.goto(dashboard.url + "/")
        page.wait_for_selector("tr[data-component='platform'] .zustand[data-status='healthy']")
        page.wait_for_timeout(1500)
        save("landschaft.png")
        show(page, page.locator("#matrix-h"))
        save("berechtigungsmatrix.png")

        page.goto(dashboard.url + "/ablauf")
        page.wait_for_selector("#verbindung[data-state='offen']")
        page.uncheck("#zeitlupe")
        run_pilot(page)
        page.evaluate("window.scrollTo(0, 0)")
        save("pilot-starten.png")
        show(page, page.locator("article.austausch").first)
        save("live-ablauf.png")

        card = page.locator("article.austausch", has_text="Fahrzeughalterauskunft").first
        card.locator("li.schritt[data-hop='sak→sak'] .schritt-knopf").click()
        page.locator("#details .dokument-knopf", has_text="signierter Umschlag mit 0101").click()
        page.locator("#details pre.xml").first.wait_for()
        save("hop-signatur.png")
        page.locator("#details ol.kette").first.scroll_into_view_if_needed()
        save("hop-zertifikatskette.png")
        page.locator("#details pre.xml").first.scroll_into_view_if_needed()
        save("hop-xml.png")
        page.keyboard.press("Escape")

        page.click("#leeren")
        request_id = through_the_saks(dashboard.landscape)
        sak_card = page.locator(f"article.austausch[data-trace='{request_id}']")
        sak_card.locator("li.schritt[data-hop='sak→dc']").wait_for()
        page.wait_for_timeout(1500)
        show(page, sak_card)
        save("live-ablauf-sak.png")

        row = page.locator(f"#stoerungen-tabelle tr[data-register='{KBA}']")
        row.locator("select.stoerung-wahl").select_option("bad_signature")
        row.locator(".stoerung-setzen").click()
        page.wait_for_function(
            "row => row.querySelector('.stoerung-zustand').textContent.includes('verfälscht')",
            arg=row.element_handle(),
        )
        page.click("#leeren")
        request_id = through_the_saks(dashboard.landscape)
        red = page.locator(f"article.austausch.fehler[data-trace='{request_id}']")
        red.locator(".pruefung.simuliert").first.wait_for()
        page.wait_for_timeout(1500)
        show(page, red.locator("li.schritt[data-hop='sak→sak']").first)
        save("stoerung-roter-pfad.png")
        row.locator("select.stoerung-wahl").select_option("")
        row.locator(".stoerung-setzen").click()
        page.wait_for_function(
            "row => row.querySelector('.stoerung-zustand').textContent === 'keine Störung'",
            arg=row.element_handle(),
        )

        page.goto(dashboard.url + "/datenschutzcockpit")
        page.select_option("#dsc-person", ERIKA)
        page.click("#dsc-anmelden")
        page.locator("#dsc-tabelle tr.uebermittlung").first.wait_for()
        save("datenschutzcockpit.png")

        page.goto(dashboard.url + "/berichte")
        save("konformitaetsberichte.png")
        page.locator("#berichte a").first.click()
        page.wait_for_selector("section.abschnitt")
        save("konformitaetsbericht.png")

        # The citizen's own Datenschutzcockpit at the platform (no operator login).
        citizen = browser.new_context(locale="de-DE", viewport={"width": 1600, "height": 1000})
        page = citizen.new_page()
        page.goto(dashboard.landscape.url("platform") + "/dsc/")
        save("dsc-anmeldung.png")
        page.click("#eid-anmelden")
        page.locator("#uebermittlungen tr.uebermittlung").first.wait_for()
        save("dsc-uebermittlungen.png")
        citizen.close()

        # A phone: the same pages, one column, no sideways scrolling.
        phone = browser.new_context(
            locale="de-DE", viewport={"width": 375, "height": 812}, device_scale_factor=2
        )
        page = phone.new_page()
        page.goto(dashboard.login_url)
        page.wait_for_url(dashboard.url + "/ablauf")
        page.wait_for_selector("#verbindung[data-state='offen']")
        card = page.locator("article.austausch[data-layout='sak']").first
        card.locator("li.schritt").first.wait_for()
        page.wait_for_timeout(1000)
        show(page, card)
        save("telefon-live-ablauf.png")
        page.goto(dashboard.landscape.url("platform") + "/dsc/")
        page.click("#eid-anmelden")
        page.locator("#uebermittlungen tr.uebermittlung").first.wait_for()
        save("telefon-dsc.png")
        phone.close()
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--chromium", default=str(CHROMIUM))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="noots-screenshots-") as scratch,
        serve_landscape(Path(scratch) / "data") as landscape,
        serve_dashboard(landscape) as dashboard,
    ):
        sample_report(dashboard)
        try:
            for path in shoot(dashboard, args.out, args.chromium):
                print(path)
        finally:
            for target in (KBA, f"{KBA}.sak"):
                httpx.delete(
                    landscape.url(target) + "/admin/v1/faults",
                    headers={"Authorization": f"Bearer {landscape.admin_token}"},
                )


if __name__ == "__main__":
    main()
