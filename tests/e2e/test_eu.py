"""The EU border over real sockets: `noots up` (a subprocess) runs the Intermediäre Plattform,
its SAK and the simulated EU side beside the Personenstandsregister and the ZAB.

Use case 3: the French requester's access point (`noots eu send-query`, the Mairie de Lyon's
JSON service) asks the IP; the IP finds the register through its SAK and sends the 0301 to
the register's SAK. Use case 4: the ZAB orders the Austrian degree through its SAK, the
citizen goes through the IP and the Austrian preview space, the ZAB collects. Every national
message of the IP's exchanges is read from the dashboard's trace and validated against the
official XNachweis schemas.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from lxml import etree

from noots import messages
from noots.clock import SystemClock
from noots.consumers import Client, EuEvidence, EuEvidencePending, OrderPlaced, PersonQuery
from noots.errors import NotFound
from noots.eu import ebms, edm
from noots.eu.edm import EdmEvidenceType, EdmNaturalPerson
from noots.faults import corrupt_signature
from noots.participant import load_participant
from noots.testing.dashboard import operator_login, operator_token
from noots.testing.eu import BIRTH_CERTIFICATE, sample_query
from noots.testing.up import UpProcess, noots_up, write_landscape
from noots.topology import Topology, load_topology
from noots.xml import parse
from tests.e2e.conftest import copy_data_dir

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

Check = Callable[[bytes], list[str]]
PSTR = "992-00001PSTR-10"
ZAB = "991-00001ZAB-89"
IP = "noots-ip"
ERIKA = EdmNaturalPerson("Mustermann", "Erika", date(1964, 8, 12))
ORDER = {
    "purpose": "Zeugnisbewertung",
    "country": "AT",
    "requirement": (
        "https://sr.oots.tech.ec.europa.eu/requirements/f8a6a284-34e9-42c7-9733-63b5c4f4aa42"
    ),
    "requirement_name": "Proof of tertiary education diploma/certificate/degree",
    "back_url": "https://zab.example/zurueck",
    "procedure": "T3",
}


@pytest.fixture(scope="module")
def landscape(
    bootstrapped: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[UpProcess, Topology]]:
    base = tmp_path_factory.mktemp("up-eu")
    data_dir = copy_data_dir(bootstrapped, base / "data")
    topology_path = write_landscape(base / "landscape.yaml", keep={PSTR, ZAB, IP})
    with pytest.MonkeyPatch.context() as patch:
        # The register's SAK waits 3 s for its register (the timeout test needs no 10 s).
        patch.setenv("NOOTS_PROVIDER_TIMEOUT_SECONDS", "3")
        with noots_up(data_dir, topology_path) as up:
            yield up, load_topology(topology_path)


def noots(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "noots", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(os.environ, COLUMNS="160", NO_COLOR="1"),
        check=False,
    )


def query_file(tmp_path: Path, **options: Any) -> Path:
    path = tmp_path / "query.xml"
    path.write_bytes(edm.to_bytes(sample_query(SystemClock(), **options)))
    return path


def traced_documents(
    up: UpProcess, topology: Topology, *, component: str, label: str, wanted: int = 1
) -> list[bytes]:
    """The documents labelled ``label`` that ``component`` reported to the dashboard (waiting
    for them: the components report in the background)."""
    url = topology.base_url("dashboard")
    deadline = time.monotonic() + 30
    with httpx.Client(timeout=30, trust_env=False) as http:
        operator_login(http, url, operator_token(up.data_dir))
        while True:
            notices = http.get(url + "/events/v1").json()["notices"]
            found = [
                _unindented(http.get(f"{url}/api/v1/events/{event}/documents/{index}").json())
                for event, index in (
                    (n["data"]["eventId"], d["index"])
                    for n in notices
                    if n["kind"] == "flow" and n["data"]["component"] == component
                    for d in n["data"]["documents"]
                    if d["label"].startswith(label)
                )
            ]
            if len(found) >= wanted or time.monotonic() > deadline:
                return found
            time.sleep(0.5)


def _unindented(explained: dict[str, Any]) -> bytes:
    """The document as sent, from the dashboard's reading form (``pretty``): its indentation
    removed and the values it wrapped (long texts without spaces) joined again."""
    root = etree.fromstring(str(explained["pretty"]).encode())
    for element in root.iter():
        text = element.text
        if text is not None and not text.strip():
            element.text = None
        elif text is not None and text.startswith("\n"):
            element.text = "".join(text.split())
        if element.tail is not None and not element.tail.strip():
            element.tail = None
    return bytes(etree.tostring(root, encoding="UTF-8", xml_declaration=True))


# -- the landscape ------------------------------------------------------------------------------


def test_the_ip_and_the_eu_side_run_and_are_healthy(
    landscape: tuple[UpProcess, Topology],
) -> None:
    """The IP, its SAK and the EU components are processes of `noots up`; `noots status`
    reports each healthy."""
    up, _topology = landscape
    names = {c.name for c in up.info.components}
    assert {IP, f"{IP}.sak", "eu-common-services", "eu-gw-at", "eu-gw-fr"} <= names
    result = noots("status", "--data-dir", str(up.data_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("healthy") == len(up.info.components)
    assert "noots-ip" in result.stdout


# -- use case 3 ---------------------------------------------------------------------------------


def test_send_query_gets_the_geburtsurkunde(
    landscape: tuple[UpProcess, Topology], tmp_path: Path, xnachweis_check: Check
) -> None:
    """`noots eu send-query` finds the running IP by itself: exit 0, the evidence written; the
    0301 and the 0302 the IP exchanged through the SAKs are valid XNachweis, without IDNr."""
    up, topology = landscape
    out = tmp_path / "out"
    result = noots(
        "eu", "send-query", str(query_file(tmp_path)), "--data-dir", str(up.data_dir),
        "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 evidence(s)" in result.stdout
    document = (out / "evidence-1.xml").read_bytes()
    assert b"Geburtsurkunde" in document
    assert b"IDNr" not in document
    (request,) = traced_documents(
        up, topology, component=IP, label="Nachweisanfrage (DE.EvidenceRequest.0301)"
    )
    (answer,) = traced_documents(up, topology, component=IP, label="Antwort (0302/0303)")
    assert xnachweis_check(request) == []
    assert xnachweis_check(answer) == []
    sent = messages.parse(parse(request), messages.ANY)
    assert isinstance(sent, messages.EuEvidenceRequest)
    assert sent.subject.idnr is None  # type: ignore[union-attr]
    assert sent.provider.identifier == PSTR


def test_unknown_person_exits_2_with_object_not_found(
    landscape: tuple[UpProcess, Topology], tmp_path: Path
) -> None:
    """Nobody by these basic data in the register: rs:Exception EDM:ERR:0004, exit 2."""
    up, _topology = landscape
    query = query_file(tmp_path, subject=EdmNaturalPerson("Niemand", "Nils", date(1990, 1, 1)))
    result = noots("eu", "send-query", str(query), "--data-dir", str(up.data_dir))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "EDM:ERR:0004 (ObjectNotFoundExceptionType)" in result.stdout


def test_unknown_evidence_type_exits_2_with_unsupported_capability(
    landscape: tuple[UpProcess, Topology], tmp_path: Path
) -> None:
    """An evidence type no German register provides: EDM:ERR:0007, exit 2."""
    up, _topology = landscape
    unknown = EdmEvidenceType(
        BIRTH_CERTIFICATE.identifier,
        BIRTH_CERTIFICATE.classification.rpartition("/")[0]
        + "/00000000-0000-4000-8000-000000000000",
        "Unknown",
    )
    query = tmp_path / "unknown.xml"
    request = sample_query(SystemClock())
    query.write_bytes(
        edm.to_bytes(
            edm.QueryRequest.new(
                procedure=request.procedure,
                requester=request.requester,
                provider=request.provider,
                evidence_type=unknown,
                subject=ERIKA,
                clock=SystemClock(),
            )
        )
    )
    result = noots("eu", "send-query", str(query), "--data-dir", str(up.data_dir))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "EDM:ERR:0007 (UnsupportedCapabilityExceptionType)" in result.stdout


def test_send_query_that_cannot_run_exits_1(
    landscape: tuple[UpProcess, Topology], tmp_path: Path
) -> None:
    """A sender without a credential in the landscape: exit 1, nothing sent."""
    up, _topology = landscape
    result = noots(
        "eu", "send-query", str(query_file(tmp_path)), "--data-dir", str(up.data_dir),
        "--as", "eu-gw-xx",
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "could not send" in result.stderr


def test_preview_at_the_ip_then_evidence(landscape: tuple[UpProcess, Topology]) -> None:
    """The Mairie de Lyon asks with preview: the IP holds the evidence, the user approves on
    the IP's preview page, the repeated request gets it."""
    _up, topology = landscape
    lyon = topology.base_url("eu-gw-fr")
    with httpx.Client(timeout=60, trust_env=False) as http:
        first = http.post(
            lyon + "/requests",
            json={"familyName": "Mustermann", "givenName": "Erika", "dateOfBirth": "1964-08-12"},
        ).json()
        assert first["outcome"] == "preview", first
        location = first["previewLocation"]
        assert location.startswith(topology.base_url(IP) + "/ip/v1/preview/")
        assert "Geburtsurkunde" in http.get(location).text
        waiting = http.post(f"{lyon}/requests/{first['id']}/continue").json()
        assert waiting["outcome"] == "preview"
        assert http.post(location, data={"decision": "approve", "eid": "yes"}).status_code == 200
        final = http.post(f"{lyon}/requests/{first['id']}/continue").json()
    assert final["outcome"] == "evidence", final


def test_a_register_that_hangs_is_a_timeout(
    landscape: tuple[UpProcess, Topology], tmp_path: Path
) -> None:
    """The register does not answer: its SAK answers 0005 after its wait, the IP passes it on
    as rs:TimeoutExceptionType."""
    up, topology = landscape
    assert up.info.admin_token_file is not None
    token = Path(up.info.admin_token_file).read_text(encoding="utf-8").strip()
    admin = topology.base_url(PSTR) + "/admin/v1/faults"
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=30, trust_env=False) as http:
        plan = {"rates": {"timeout": 1.0}, "hang_seconds": 30, "count": 1}
        assert http.put(admin, json=plan, headers=headers).status_code == 200
        try:
            result = noots(
                "eu", "send-query", str(query_file(tmp_path)), "--data-dir", str(up.data_dir)
            )
        finally:
            http.delete(admin, headers=headers)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "EDM:ERR:0005 (TimeoutExceptionType)" in result.stdout


def test_a_tampered_ebms_message_is_refused(landscape: tuple[UpProcess, Topology]) -> None:
    """The same signed message the IP accepts is refused once a byte of its signature changed:
    nothing verified, nothing answered in EDM."""
    up, topology = landscape
    sender = load_participant(up.data_dir / "pki", "eu-gw-fr", clock=SystemClock())
    request = sample_query(SystemClock())

    def sealed() -> bytes:
        message = ebms.UserMessage.new(
            edm_document=edm.to_bytes(request),
            from_party="eu-gw-fr",
            to_party="eu-gw-de",
            action=ebms.ACTION_REQUEST,
            original_sender=ebms.PartyProperty.of(request.requester),
            final_recipient=ebms.PartyProperty.of(request.provider),
            clock=sender.clock,
        )
        return ebms.seal_user_message(message, sender.signer)

    inbox = topology.base_url(IP) + "/ip/v1/as4"
    headers = {"content-type": "application/soap+xml"}
    with httpx.Client(timeout=60, trust_env=False) as http:
        accepted = http.post(inbox, content=sealed(), headers=headers)
        refused = http.post(inbox, content=corrupt_signature(sealed()), headers=headers)
    assert accepted.status_code == 200
    assert refused.status_code == 400
    assert b"ExecuteQueryResponse" not in refused.content


# -- use case 4 ---------------------------------------------------------------------------------


def _citizen(placed: OrderPlaced, decision: str) -> str:
    """The citizen in a browser-like client: the IP's page, the EU login, the Austrian preview
    space and back; where the IP finally sends her."""
    with httpx.Client(timeout=60, trust_env=False) as browser:
        assert browser.get(placed.url_to_ip).status_code == 200
        identified = browser.post(placed.url_to_ip + "/identify", data={"eid": "yes"})
        preview = identified.headers["location"]
        page = browser.get(preview)
        assert "Universität Wien" in page.text
        path, _, query = preview.partition("?")
        back = unquote(query.removeprefix("returnurl="))
        decided = browser.post(path, data={"decision": decision, "returnurl": back})
        returned = browser.get(decided.headers["location"])
        return str(returned.headers["location"])


def test_the_zab_orders_and_collects_the_degree(
    landscape: tuple[UpProcess, Topology], xnachweis_check: Check
) -> None:
    """0401 through the ZAB's SAK to the IP's SAK and the IP, the citizen through the IP and
    Vienna, 0411: the degree; every message of the exchange valid XNachweis."""
    up, _topology = landscape
    person = PersonQuery("Erika", "Mustermann", date(1964, 8, 12))
    with Client.from_landscape(ZAB, data_dir=up.data_dir) as client:
        placed = client.order_evidence("Hochschulabschluss-EU", person=person, **ORDER)
        early = client.get_evidence(placed)
        assert isinstance(early, EuEvidencePending)
        assert _citizen(placed, "approve") == ORDER["back_url"]
        found = client.get_evidence(placed)
    assert isinstance(found, EuEvidence)
    assert found.document.startswith(b"%PDF")
    for raw in (placed.raw_request, placed.raw_response, found.raw_request, found.raw_response):
        assert xnachweis_check(raw) == []


def test_declined_in_vienna_is_object_not_found(landscape: tuple[UpProcess, Topology]) -> None:
    """The citizen declines in the Austrian preview space: collecting is EDM:ERR:0004."""
    up, _topology = landscape
    person = PersonQuery("Erika", "Mustermann", date(1964, 8, 12))
    with Client.from_landscape(ZAB, data_dir=up.data_dir) as client:
        placed = client.order_evidence("Hochschulabschluss-EU", person=person, **ORDER)
        _citizen(placed, "decline")
        with pytest.raises(NotFound):
            client.get_evidence(placed)


# -- the EU commands against the running landscape ------------------------------------------------


def test_conformance_eu_passes_against_the_running_ip(
    landscape: tuple[UpProcess, Topology], tmp_path: Path
) -> None:
    """`noots conformance eu` finds the running IP: every IP condition passes (exit 0), the
    signed report names them."""
    up, _topology = landscape
    result = noots("conformance", "eu", "--data-dir", str(up.data_dir), "--report", str(tmp_path))
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text("utf-8"))
    checks = [c for s in report["sections"] for c in s["checks"]]
    assert checks
    assert all(c["status"] in ("pass", "skip") for c in checks)
    assert {s["id"] for s in report["sections"]} >= {"IP-01", "IP-05", "IP-07"}


@pytest.mark.parametrize("pilot", ["geburtsurkunde-eu", "hochschulabschluss-eu"])
def test_demo_plays_the_eu_pilot_through_the_processes(
    landscape: tuple[UpProcess, Topology], pilot: str
) -> None:
    """`noots demo --pilot …` against the running landscape: exit 0, every hop ✓."""
    up, _topology = landscape
    result = noots("demo", "--data-dir", str(up.data_dir), "--pilot", pilot)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "Pilot completed" in result.stdout
    assert "✗" not in result.stdout


def test_the_shipped_eu_scenarios_pass(
    landscape: tuple[UpProcess, Topology], tmp_path: Path
) -> None:
    """`noots scenario run scenarios/pilots/eu-*.yaml` against the running landscape: exit 0."""
    up, _topology = landscape
    suites = sorted(str(p) for p in (ROOT / "scenarios" / "pilots").glob("eu-*.yaml"))
    assert len(suites) == 2
    result = noots(
        "scenario",
        "run",
        *suites,
        "--data-dir",
        str(up.data_dir),
        "--no-start",
        "--json",
        str(tmp_path / "run.json"),
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
