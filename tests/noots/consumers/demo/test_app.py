"""The demo app over HTTP (no browser): sessions, step order and form tokens."""

from __future__ import annotations

import re

import httpx
import pytest

from noots.consumers.demo import SERVICES
from noots.consumers.demo._app import cookie_name
from noots.testing.landscape import Landscape

pytestmark = pytest.mark.e2e


def client(landscape: Landscape, kind: str = "bewohnerparkausweis") -> httpx.Client:
    base = landscape.url(landscape.consumer(kind))
    return httpx.Client(base_url=base, follow_redirects=True, timeout=20)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match is not None
    return match.group(1)


def test_pages_are_german_and_ship_their_own_css(landscape: Landscape) -> None:
    """The start page is German, names the evidence and loads only local assets."""
    with client(landscape) as http:
        page = http.get("/")
        css = http.get("/static/style.css")
    assert page.status_code == 200
    assert '<html lang="de">' in page.text
    assert "Bewohnerparkausweis beantragen" in page.text
    assert "Fahrzeughalterauskunft" in page.text
    assert css.status_code == 200
    assert not re.search(r'(src|href)="https?://', page.text)


def test_forged_cookie_starts_over(landscape: Landscape) -> None:
    """A session cookie with a wrong MAC is ignored: the consent page sends back to the start."""
    with client(landscape) as http:
        http.post("/antrag")
        name = cookie_name(SERVICES["bewohnerparkausweis"])
        value = http.cookies[name]
        http.cookies.set(name, value[:-1] + ("0" if value[-1] != "0" else "1"))
        answer = http.get("/einwilligung")
    assert answer.url.path == "/"


def test_steps_cannot_be_skipped(landscape: Landscape) -> None:
    """Before login, preview and summary redirect to the login page."""
    with client(landscape) as http:
        http.post("/antrag")
        assert http.get("/vorschau").url.path == "/anmelden"
        assert http.get("/abschluss").url.path == "/anmelden"


def test_form_token_of_another_session_is_refused(landscape: Landscape) -> None:
    """A login form posted with another session's token does not log in."""
    with client(landscape) as first, client(landscape) as second:
        first.post("/antrag")
        foreign = csrf_of(second.post("/antrag").text)
        answer = first.post("/anmelden", data={"csrf": foreign, "idnr": "02476291358"})
    assert answer.url.path == "/anmelden"
    assert "Guten Tag" not in answer.text


def test_unknown_test_person_cannot_log_in(landscape: Landscape) -> None:
    """An IDNr the simulated eID does not know leaves the citizen on the login page."""
    with client(landscape) as http:
        token = csrf_of(http.post("/antrag").text)
        answer = http.post("/anmelden", data={"csrf": token, "idnr": "86095742719"})
    assert answer.url.path == "/anmelden"
    assert "Die Anmeldung hat nicht geklappt" in answer.text


def test_elterngeld_asks_for_residence_and_child(landscape: Landscape) -> None:
    """Missing residence and child data are asked for in German; nothing is fetched."""
    with client(landscape, "elterngeld") as http:
        token = csrf_of(http.post("/antrag").text)
        http.post("/anmelden", data={"csrf": token, "idnr": "01234567812"})
        answer = http.post("/einwilligung", data={"csrf": token, "agree": "ja"})
    assert answer.url.path == "/einwilligung"
    assert "Bitte wählen Sie Ihren Wohnort." in answer.text
    assert "Geburtsdatum Ihres Kindes" in answer.text


def test_health(landscape: Landscape) -> None:
    """/health answers 200 with the service kind."""
    with client(landscape, "gewerbeanmeldung") as http:
        assert http.get("/health").json() == {"status": "ok", "service": "gewerbeanmeldung"}


def test_evidence_announced_for_later_gets_its_own_page(landscape: Landscape) -> None:
    """A register that announces the evidence for in 2 minutes: its own page says when (in
    Europe/Berlin), not that the register failed to answer in time."""
    with client(landscape) as http:
        token = csrf_of(http.post("/antrag").text)
        http.post("/anmelden", data={"csrf": token, "idnr": "01234567907"})
        answer = http.post("/einwilligung", data={"csrf": token, "agree": "ja"})
        preview = http.get("/vorschau")
    assert answer.url.path == "/spaeter"
    assert "Ein Nachweis folgt später" in answer.text
    assert re.search(r"\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2} Uhr", answer.text)
    assert "nicht rechtzeitig" not in answer.text
    assert 'href="/vorschau"' in answer.text
    assert "nicht rechtzeitig" not in preview.text
    assert preview.text.count("angekündigt") == 2


def _to_the_ip(landscape: Landscape, http: httpx.Client) -> httpx.Response:
    """Erika applies for a Zeugnisbewertung: login, consent; the service sends her to the IP."""
    token = csrf_of(http.post("/antrag").text)
    http.post("/anmelden", data={"csrf": token, "idnr": "02476291358"})
    page = http.post("/einwilligung", data={"csrf": token, "agree": "ja"})
    assert str(page.url).startswith(landscape.url("noots-ip") + "/ip/v1/citizen/")
    return page


def _through_the_ip(http: httpx.Client, page: httpx.Response, decision: str) -> httpx.Response:
    """At the IP: the simulated EU login; in Vienna: the preview and the decision."""
    preview = http.post(str(page.url) + "/identify", data={"eid": "yes"})
    assert "Universität Wien" in preview.text
    returnurl = re.search(r"name='returnurl' value='([^']+)'", preview.text)
    assert returnurl is not None
    path = str(preview.url).split("?")[0]
    return http.post(path, data={"decision": decision, "returnurl": returnurl.group(1)})


def test_zeugnisbewertung_orders_the_degree_through_the_ip(landscape: Landscape) -> None:
    """Use case 4 in the demo: order, the citizen at the IP and in the Austrian preview space,
    back to the service, which collects the degree and shows it in the preview."""
    with client(landscape, "zeugnisbewertung") as http:
        back = _through_the_ip(http, _to_the_ip(landscape, http), "approve")
    assert back.url.path == "/vorschau"
    assert "Universität Wien über die Intermediäre Plattform" in back.text
    assert "application/pdf" in back.text


def test_zeugnisbewertung_declined_in_vienna(landscape: Landscape) -> None:
    """The citizen declines in the preview space: the service gets no degree and says so."""
    with client(landscape, "zeugnisbewertung") as http:
        back = _through_the_ip(http, _to_the_ip(landscape, http), "decline")
    assert back.url.path == "/vorschau"
    assert "application/pdf" not in back.text
    assert 'role="alert"' in back.text
