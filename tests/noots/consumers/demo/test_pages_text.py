"""What the demo online service's pages say: German grammar from the topology, the outcome only
when it is true, evidence announced for later, times in Europe/Berlin, the way to the
Datenschutzcockpit (real landscape on sockets, no browser)."""

from __future__ import annotations

import re

import httpx
import pytest

from noots.consumers.demo._app import shown_value
from noots.testing.landscape import Landscape
from tests.noots.consumers.demo.test_app import client, csrf_of

pytestmark = pytest.mark.e2e

OUTCOME = "Ihr Bewohnerparkausweis wird Ihnen per Post zugeschickt."
ERIKA = "02476291358"
FRIEDA_NO_VEHICLE = "01987654319"
NILS_NOT_FOUND = "01234567837"


def apply(http: httpx.Client, idnr: str, decision: str = "accepted") -> httpx.Response:
    """Log in as ``idnr``, consent, decide every previewed evidence, finish: the closing page."""
    token = csrf_of(http.post("/antrag").text)
    http.post("/anmelden", data={"csrf": token, "idnr": idnr})
    preview = http.post("/einwilligung", data={"csrf": token, "agree": "ja"})
    decisions = {
        name: decision for name in set(re.findall(r'name="(decision-[^"]+)"', preview.text))
    }
    return http.post("/vorschau", data={"csrf": token, **decisions})


def test_start_page_says_von_der_stadt(landscape: Landscape) -> None:
    """The article follows the authority's kind: "von der Stadt …", "vom Kraftfahrt-Bundesamt",
    never "vom Stadt"."""
    with client(landscape) as http:
        page = http.get("/").text
    assert "von der Stadt Korntal-Münchingen, Melderegister" in page
    assert "vom Kraftfahrt-Bundesamt" in page
    assert "vom Stadt" not in page


def test_complete_application_gets_the_outcome_and_the_cockpit_link(
    landscape: Landscape,
) -> None:
    """Every evidence accepted: the outcome, and a link to the Datenschutzcockpit at the
    platform's address from the topology."""
    with client(landscape) as http:
        done = apply(http, ERIKA)
    assert done.url.path == "/abschluss"
    assert OUTCOME in done.text
    assert f'href="{landscape.url("platform")}/dsc/"' in done.text


def test_no_vehicle_gets_no_parking_permit_promise(landscape: Landscape) -> None:
    """A person without a vehicle: the page does not promise the permit by post; it says what
    is missing."""
    with client(landscape) as http:
        done = apply(http, FRIEDA_NO_VEHICLE)
    assert done.url.path == "/abschluss"
    assert OUTCOME not in done.text
    assert "noch nicht ausstellen" in done.text


@pytest.mark.parametrize(("idnr", "decision"), [(NILS_NOT_FOUND, "accepted"), (ERIKA, "rejected")])
def test_without_evidence_there_is_no_promise(
    landscape: Landscape, idnr: str, decision: str
) -> None:
    """No evidence arrived, or the citizen rejected it: no "per Post zugeschickt"."""
    with client(landscape) as http:
        done = apply(http, idnr, decision)
    assert done.url.path == "/abschluss"
    assert OUTCOME not in done.text
    assert "Datenschutzcockpit" in done.text


def test_preview_shows_dates_and_times_for_people(landscape: Landscape) -> None:
    """Dates as 12.08.1964, the document's time as "…, HH:MM Uhr" (Europe/Berlin), no ISO."""
    with client(landscape) as http:
        token = csrf_of(http.post("/antrag").text)
        http.post("/anmelden", data={"csrf": token, "idnr": ERIKA})
        preview = http.post("/einwilligung", data={"csrf": token, "agree": "ja"}).text
    assert "12.08.1964" in preview
    assert "1964-08-12" not in preview
    assert re.search(r"\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2} Uhr", preview)
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", preview)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2026-12-06T05:12:52Z", "06.12.2026, 06:12 Uhr"),
        ("2026-07-06T05:12:52+00:00", "06.07.2026, 07:12 Uhr"),
        ("1964-08-12", "12.08.1964"),
        ("2026-13-40", "2026-13-40"),
        ("LB-EM 1964", "LB-EM 1964"),
    ],
)
def test_shown_value(value: str, shown: str) -> None:
    """Times in Europe/Berlin, dates German, anything else (and impossible dates) unchanged."""
    assert shown_value(value) == shown
