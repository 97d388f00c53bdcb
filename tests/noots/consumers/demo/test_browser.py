"""The three demo services in a real browser against the real landscape (DC-07 end to end)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from noots.clock import SystemClock
from noots.paths import LandscapePaths
from noots.protocol import open_protocol_log
from noots.testing.landscape import Landscape

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

ERIKA = "02476291358"
FRIEDA_NO_VEHICLE = "01987654319"
LENA = "01234567812"


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    page.set_default_timeout(45_000)  # the machine is shared: be patient, never flaky
    yield page
    context.close()


def start(page: Any, landscape: Landscape, kind: str, idnr: str) -> None:
    """Open the service, start an application and log in with the simulated eID."""
    page.goto(landscape.url(landscape.consumer(kind)) + "/")
    page.click("#starten")
    page.wait_for_url("**/anmelden")
    page.select_option("#idnr", idnr)
    page.click("#eid-login")
    page.wait_for_url("**/einwilligung")


def consent(page: Any) -> None:
    page.check("#agree")
    page.click("#abrufen")
    page.wait_for_url("**/vorschau")


def transfers(landscape: Landscape, kind: str) -> list[Any]:
    consumer = landscape.consumer(kind)
    log = open_protocol_log(
        LandscapePaths(landscape.data_dir).protocol_log(consumer),
        party=consumer,
        clock=SystemClock(),
    )
    try:
        return log.entries()
    finally:
        log.close()


def test_parking_permit_accept_path(page: Any, landscape: Landscape) -> None:
    """Bewohnerparkausweis: login, consent, preview of both evidences, accept both, completed."""
    start(page, landscape, "bewohnerparkausweis", ERIKA)
    assert "Guten Tag Erika Mustermann" in page.inner_text("main")
    assert "Stadt Korntal-Münchingen, Melderegister" in page.inner_text("table.abruf")
    consent(page)
    melde = page.inner_text("#nachweis-Meldebescheinigung")
    kfz = page.inner_text("#nachweis-Fahrzeughalterauskunft")
    assert "Heidestraße" in melde
    assert "LB-EM 1964" in kfz
    page.check("#accept-Meldebescheinigung")
    page.check("#accept-Fahrzeughalterauskunft")
    page.click("#absenden")
    page.wait_for_url("**/abschluss")
    assert "Ihr Antrag ist eingegangen" in page.inner_text("h1")
    assert page.inner_text("#aktenzeichen").startswith("BEW-")
    assert "LB-EM 1964" in page.inner_text("#uebernommen-Fahrzeughalterauskunft")
    assert "Heidestraße" in page.inner_text("#uebernommen-Meldebescheinigung")
    form = page.inner_text("#antragsdaten")
    assert "Heidestraße 17, 70825 Korntal-Münchingen" in form
    assert "LB-EM 1964" in form


def test_parking_permit_reject_path_uses_accepted_data_only(
    page: Any, landscape: Landscape
) -> None:
    """A rejected evidence is not in the completed application; the citizen hands it in."""
    start(page, landscape, "bewohnerparkausweis", ERIKA)
    consent(page)
    page.check("#accept-Meldebescheinigung")
    page.check("#reject-Fahrzeughalterauskunft")
    page.click("#absenden")
    page.wait_for_url("**/abschluss")
    summary = page.inner_text("main")
    assert "Heidestraße" in summary
    assert "LB-EM 1964" not in summary
    assert page.locator("#uebernommen-Fahrzeughalterauskunft").count() == 0
    assert "abgelehnt" in page.inner_text("#nachreichen-Fahrzeughalterauskunft")
    form = page.inner_text("#antragsdaten")
    assert "Heidestraße 17, 70825 Korntal-Münchingen" in form
    assert "nicht übernommen" in form


def test_preview_requires_a_decision_for_each_evidence(page: Any, landscape: Landscape) -> None:
    """Submitting the preview without deciding keeps the citizen there with a plain message."""
    start(page, landscape, "bewohnerparkausweis", ERIKA)
    consent(page)
    page.check("#accept-Meldebescheinigung")
    page.click("#absenden")
    assert page.url.endswith("/vorschau")
    assert "Bitte entscheiden Sie" in page.inner_text("#nachweis-Fahrzeughalterauskunft")


def test_error_is_shown_in_plain_language(page: Any, landscape: Landscape) -> None:
    """No vehicle registered: the preview says so in plain German, the rest still works."""
    start(page, landscape, "bewohnerparkausweis", FRIEDA_NO_VEHICLE)
    consent(page)
    problem = page.inner_text("#nachweis-Fahrzeughalterauskunft .problem")
    assert "kein passender Eintrag" in problem
    assert "EDM:ERR" not in page.inner_text("main")
    page.check("#accept-Meldebescheinigung")
    page.click("#absenden")
    page.wait_for_url("**/abschluss")
    assert "kein passender Eintrag" in page.inner_text("#nachreichen-Fahrzeughalterauskunft")


def test_without_consent_nothing_is_fetched(page: Any, landscape: Landscape) -> None:
    """DC-07: submitting the consent page unticked fetches nothing and asks again."""
    before = len(transfers(landscape, "gewerbeanmeldung"))
    start(page, landscape, "gewerbeanmeldung", ERIKA)
    page.fill("#company_name", "Mustermann Digital GmbH")
    page.fill("#company_register_number", "HRB 254871")
    page.click("#abrufen")
    assert page.url.endswith("/einwilligung")
    assert "Bitte willigen Sie" in page.inner_text("main")
    page.goto(landscape.url(landscape.consumer("gewerbeanmeldung")) + "/vorschau")
    assert page.url.endswith("/einwilligung")
    assert len(transfers(landscape, "gewerbeanmeldung")) == before


def test_business_registration_fetches_the_commercial_register(
    page: Any, landscape: Landscape
) -> None:
    """Gewerbe anmelden: the Handelsregister extract of the named company, accepted."""
    start(page, landscape, "gewerbeanmeldung", ERIKA)
    page.fill("#company_name", "Mustermann Digital GmbH")
    page.fill("#company_register_number", "Amtsgericht München HRB 254871")
    consent(page)
    extract = page.inner_text("#nachweis-Handelsregisterauszug")
    assert "Mustermann Digital GmbH" in extract
    page.check("#accept-Handelsregisterauszug")
    page.click("#absenden")
    page.wait_for_url("**/abschluss")
    assert "Mustermann Digital GmbH" in page.inner_text("#uebernommen-Handelsregisterauszug")
    assert transfers(landscape, "gewerbeanmeldung")[-1].outcome == "delivered"


def test_parental_allowance_finds_the_child_through_the_ida(
    page: Any, landscape: Landscape
) -> None:
    """Elterngeld: the child's birth certificate via IDA lookup, the parent's registration."""
    start(page, landscape, "elterngeld", LENA)
    page.select_option("#region", "05315000")
    page.fill("#child_given_name", "Paul")
    page.fill("#child_family_name", "Musterfrau")
    page.fill("#child_date_of_birth", "2026-06-03")
    consent(page)
    assert "Paul" in page.inner_text("#nachweis-Geburtsurkunde")
    assert "Hohe Straße" in page.inner_text("#nachweis-Meldebescheinigung")
    page.check("#accept-Geburtsurkunde")
    page.check("#reject-Meldebescheinigung")
    page.click("#absenden")
    page.wait_for_url("**/abschluss")
    summary = page.inner_text("main")
    assert "Paul" in page.inner_text("#uebernommen-Geburtsurkunde")
    assert "Hohe Straße" not in summary


def test_zeugnisbewertung_with_the_degree_from_vienna(page: Any, landscape: Landscape) -> None:
    """Use case 4 in the browser: the ZAB's consent sends Erika to the Intermediäre Plattform,
    she logs in there (EU identification, simulated), previews her degree at the Universität
    Wien, comes back, and the service shows and takes over the degree."""
    start(page, landscape, "zeugnisbewertung", ERIKA)
    assert "über die Intermediäre Plattform" in page.inner_text("table.abruf")
    page.check("#agree")
    page.click("#abrufen")
    page.wait_for_url("**/ip/v1/citizen/**")
    assert "Universität Wien" in page.inner_text("body")
    page.check("input[name=eid]")
    page.click("text=Weiter zum Nachweis")
    page.wait_for_url("**/preview/**")
    assert "Magistra der Philosophie" in page.inner_text("body")
    page.click("text=Nachweis verwenden")
    page.wait_for_url("**/vorschau")
    degree = page.inner_text("#nachweis-Hochschulabschluss-EU")
    assert "Universität Wien" in degree
    assert "application/pdf" in degree
    page.check("#accept-Hochschulabschluss-EU")
    page.click("#absenden")
    page.wait_for_url("**/abschluss")
    assert "Ihr Antrag ist eingegangen" in page.inner_text("h1")
    assert ("Hochschulabschluss-EU", "delivered") in {
        (entry.evidence_type, entry.outcome) for entry in transfers(landscape, "zeugnisbewertung")
    }
