"""Regenerate the dashboard screenshots in this folder.

    python3 docs/screenshots/make.py [--out docs/screenshots] [--chromium /usr/bin/chromium]

Starts a small landscape on free loopback ports (a temporary data directory, 300 people), the
dashboard beside it with every component reporting its hops, drives Debian chromium through
the main views and saves one PNG per view (1600 × 1000, the size of a projector image).
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

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
from noots.testing.browser import CHROMIUM, CHROMIUM_ARGS
from noots.testing.dashboard import ServedDashboard, serve_dashboard
from noots.testing.landscape import serve_landscape

HERE = Path(__file__).resolve().parent
KBA = "991-01234ZFZR-41"
ERIKA = "02476291358"


def run_pilot(page: Any, idnr: str = ERIKA) -> None:
    page.select_option("#pilot-wahl", "bewohnerparkausweis")
    page.select_option("#identitaet", idnr)
    page.click("#pilot-start")
    page.wait_for_selector("#lauf-zustand[data-state='fertig']")
    page.wait_for_timeout(2500)  # let the last hops of the hub and the register arrive


def show(page: Any, locator: Any) -> None:
    """Scroll ``locator`` to the top of the window."""
    locator.evaluate("node => node.scrollIntoView({block: 'start'})")
    page.evaluate("window.scrollBy(0, -12)")


def sample_report(dashboard: ServedDashboard) -> None:
    start = datetime.now(UTC)
    checks = {
        "DP-01": [Check("0101 → 0102 gültig nach XNachweis 1.2.0", Status.PASSED)],
        "DP-02": [Check("unsignierte Anfrage → EDM:ERR:0001", Status.PASSED)],
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
        card.locator("li.schritt[data-hop='dc→hub'] .schritt-knopf").click()
        page.locator("#details .dokument-knopf", has_text="Nachweisanfrage").click()
        page.locator("#details pre.xml").first.wait_for()
        save("hop-signatur.png")
        page.locator("#details ol.kette").first.scroll_into_view_if_needed()
        save("hop-zertifikatskette.png")
        page.locator("#details pre.xml").first.scroll_into_view_if_needed()
        save("hop-xml.png")
        page.keyboard.press("Escape")

        row = page.locator(f"#stoerungen-tabelle tr[data-register='{KBA}']")
        row.locator("select.stoerung-wahl").select_option("bad_signature")
        row.locator(".stoerung-setzen").click()
        page.wait_for_function(
            "row => row.querySelector('.stoerung-zustand').textContent.includes('verfälscht')",
            arg=row.element_handle(),
        )
        page.click("#leeren")
        run_pilot(page)
        red = page.locator("article.austausch.fehler", has_text="Fahrzeughalterauskunft").first
        show(page, red.locator("li.schritt[data-hop='hub→dp']").first)
        save("stoerung-roter-pfad.png")
        row.locator("select.stoerung-wahl").select_option("")
        row.locator(".stoerung-setzen").click()

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
            httpx.delete(
                landscape.url(KBA) + "/admin/v1/faults",
                headers={"Authorization": f"Bearer {landscape.admin_token}"},
            )


if __name__ == "__main__":
    main()
