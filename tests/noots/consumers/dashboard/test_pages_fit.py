"""Every page of the dashboard and of the Datenschutzcockpit (served by the platform) fits a
phone, a tablet and a laptop without horizontal scrolling, and axe-core finds no accessibility
violation: measured in Debian chromium, each page in the state a user sees it in (exchanges
drawn, a hop's signed XML open, transfers listed, a login refused)."""

from __future__ import annotations

import time
from collections.abc import Callable
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
from noots.testing.browser import WIDTHS, axe_path, check_page
from noots.testing.dashboard import ServedDashboard, operator_login
from tests.noots.consumers.dashboard.conftest import ERIKA, KBA
from tests.noots.consumers.dashboard.test_browser import fetch_through_sak

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

TIMEOUT = 45_000


@pytest.fixture(scope="module")
def shown(traced: ServedDashboard) -> ServedDashboard:
    """The landscape after what a demo does: a pilot and a retrieval through the SAKs, a signed
    conformance report."""
    with httpx.Client(timeout=30) as client:
        headers = operator_login(client, traced.url, traced.operator_token)
        started = client.post(
            traced.url + "/api/v1/runs",
            json={"pilot": "bewohnerparkausweis", "idnr": ERIKA},
            headers=headers,
        ).json()
        deadline = time.monotonic() + 60
        while client.get(f"{traced.url}/api/v1/runs/{started['runId']}").json()["state"] != (
            "fertig"
        ):
            assert time.monotonic() < deadline, "the pilot did not finish"
            time.sleep(0.1)
    _, status = fetch_through_sak(traced.landscape)
    assert status == 200
    start = datetime.now(UTC)
    report = Report(
        kind="provider",
        title="Anschlussprüfung Kraftfahrt-Bundesamt (Seitenprüfung)",
        target=traced.landscape.url(KBA),
        started_at=start,
        finished_at=start + timedelta(seconds=3),
        sections=(
            Section.for_condition(
                condition("DP-05"),
                [
                    Check(
                        "ungültige IDNr → EDM:ERR:0003",
                        Status.FAILED,
                        expected="EDM:ERR:0003",
                        actual="EDM:ERR:0004",
                        hint="Prüfziffer und Ziffernregeln vor der Suche prüfen.",
                    )
                ],
            ),
        ),
        participant=KBA,
    )
    files = write_report(report, json=traced.landscape.data_dir / "reports" / "seiten-kba.json")
    simulator = load_participant(
        traced.landscape.data_dir / "pki", "noots-simulator", clock=SystemClock()
    )
    sign_report_files(files, report, simulator.signer, clock=SystemClock())
    return traced


# -- the pages, each brought into the state a user sees -----------------------------------------


def _logged_in(page: Any, dashboard: ServedDashboard) -> None:
    page.goto(dashboard.login_url)
    page.wait_for_url(dashboard.url + "/ablauf")


def login(page: Any, dashboard: ServedDashboard) -> None:
    page.goto(dashboard.url + "/login")


def landscape(page: Any, dashboard: ServedDashboard) -> None:
    page.goto(dashboard.url + "/")
    page.wait_for_selector(f"tr[data-component='{KBA}'] .zustand[data-status='healthy']")


def live(page: Any, dashboard: ServedDashboard) -> None:
    _logged_in(page, dashboard)
    page.wait_for_selector("#verbindung[data-state='offen']")
    page.wait_for_selector("article.austausch[data-layout='sak'] li.schritt[data-hop='sak→dc']")


def live_with_xml(page: Any, dashboard: ServedDashboard) -> None:
    live(page, dashboard)
    page.locator("li.schritt[data-hop='sak→sak'] .schritt-knopf").first.click()
    page.locator("#details .dokument-knopf").first.click()
    page.locator("#details pre.xml").first.wait_for()


def cockpit_view(page: Any, dashboard: ServedDashboard) -> None:
    _logged_in(page, dashboard)
    page.goto(dashboard.url + "/datenschutzcockpit")
    page.select_option("#dsc-person", ERIKA)
    page.click("#dsc-anmelden")
    page.locator("#dsc-tabelle tr.uebermittlung").first.wait_for()


def reports(page: Any, dashboard: ServedDashboard) -> None:
    _logged_in(page, dashboard)
    page.goto(dashboard.url + "/berichte")
    page.locator("#berichte a").first.wait_for()


def report(page: Any, dashboard: ServedDashboard) -> None:
    _logged_in(page, dashboard)
    page.goto(dashboard.url + "/berichte/seiten-kba.json")
    page.wait_for_selector("section.abschnitt")


def dsc_login(page: Any, dashboard: ServedDashboard) -> None:
    page.goto(dashboard.landscape.url("platform") + "/dsc/")
    page.wait_for_selector("#anmeldung")


def dsc_refused(page: Any, dashboard: ServedDashboard) -> None:
    dsc_login(page, dashboard)
    page.select_option("#level", "normal")
    page.click("#eid-anmelden")
    page.wait_for_selector("#meldung")


def dsc_transfers(page: Any, dashboard: ServedDashboard) -> None:
    dsc_login(page, dashboard)
    page.select_option("#idnr", ERIKA)
    page.click("#eid-anmelden")
    page.locator("#uebermittlungen tr.uebermittlung").first.wait_for()


PAGES: dict[str, Callable[[Any, ServedDashboard], None]] = {
    "Anmelden": login,
    "Landschaft": landscape,
    "Live-Ablauf": live,
    "Live-Ablauf mit signierter Nachricht": live_with_xml,
    "Datenschutzcockpit-Ansicht": cockpit_view,
    "Konformitätsberichte": reports,
    "Konformitätsbericht": report,
    "DSC: Anmeldung": dsc_login,
    "DSC: Anmeldung abgelehnt": dsc_refused,
    "DSC: Übermittlungen": dsc_transfers,
}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(PAGES))
def test_the_page_fits_the_window_and_passes_axe(
    browser: Any, shown: ServedDashboard, name: str, width: int
) -> None:
    """No horizontal scrolling (scrollWidth <= innerWidth) and no axe-core violation."""
    context = browser.new_context(locale="de-DE", viewport={"width": width, "height": 900})
    context.add_init_script(path=str(axe_path()))
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT)
        PAGES[name](page, shown)
        result = check_page(page)
    finally:
        context.close()
    assert result.inner_width == width
    assert result.problems() == []
