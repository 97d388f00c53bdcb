"""`noots up --tls` as a subprocess: every hop HTTPS with mutual TLS from the simulator PKI, the
TLS client must be the envelope's sender (a register's SAK) or the register's own SAK (a
register), an online service's SAK serves only that online service, a killed register is refused
clearly, Ctrl-C stops everything. A small landscape keeps it quick."""

from __future__ import annotations

import os
import re
import signal
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from lxml import etree
from typer.testing import CliRunner, Result

from noots.cli import app as cli
from noots.clock import SystemClock
from noots.consumers import Client, Endpoints, PersonQuery, RetryPolicy, parse_person
from noots.envelope import EnvelopeHeader, open_envelope, parse_error_body, seal
from noots.errors import AuthenticationError, NootsError
from noots.participant import load_participant
from noots.supervisor import RUN_FILE, pid_alive
from noots.testing.iam import landscape_token
from noots.testing.up import UpProcess, noots_up, write_landscape
from noots.tls import TlsFiles, client_context
from noots.topology import Topology, load_topology
from tests.e2e.conftest import copy_data_dir

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BPA = "08118079-BPA-87"
ELTERNGELD = "08-ELTERNGELD-79"
KBA = "991-01234ZFZR-41"
MELDE = "08118079-MELD-12"
ERIKA = "Erika Mustermann 1964-08-12"


@pytest.fixture(scope="module")
def landscape(
    bootstrapped: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[UpProcess, Topology]]:
    base = tmp_path_factory.mktemp("up-tls")
    data_dir = copy_data_dir(bootstrapped, base / "data")
    topology_path = write_landscape(base / "landscape.yaml", keep={BPA, ELTERNGELD, KBA, MELDE})
    with noots_up(data_dir, topology_path, tls=True) as up:
        yield up, load_topology(topology_path)


def tls_of(up: UpProcess, participant_id: str) -> ssl.SSLContext:
    return client_context(TlsFiles.for_participant(up.data_dir / "pki", participant_id))


def client(up: UpProcess, topology: Topology, *, tls_as: str = BPA) -> Client:
    """The Bewohnerparkausweis service; its TLS certificate is ``tls_as``'s."""
    participant = load_participant(up.data_dir / "pki", BPA, clock=SystemClock())
    return Client(
        participant,
        Endpoints.from_topology(topology, tls=True),
        topology,
        http=httpx.AsyncClient(verify=tls_of(up, tls_as), timeout=10, trust_env=False),
        retry=RetryPolicy(max_attempts=1),
    )


def sealed_by_bpas_sak(up: UpProcess, provider: str) -> bytes:
    """A correctly signed envelope of the Bewohnerparkausweis service's SAK to ``provider``'s
    SAK (its body is no 0101)."""
    sak = load_participant(up.data_dir / "pki", f"{BPA}.sak", clock=SystemClock())
    header = EnvelopeHeader(
        message_id=uuid.uuid4(),
        sender=f"{BPA}.sak",
        on_behalf_of=BPA,
        recipient=f"{provider}.sak",
        service_id=f"urn:noots:service:{provider}:Fahrzeughalterauskunft",
        created=datetime.now(UTC),
        purpose="Bewohnerparkausweis",
    )
    return seal(header, etree.Element("{urn:example:test}Nothing"), sak.signer)


def test_every_component_serves_https_with_client_certificates(
    landscape: tuple[UpProcess, Topology],
) -> None:
    """All components answer over HTTPS; registers and the IDA refuse clients without a
    certificate, the platform lets browsers in, and plain HTTP gets nowhere."""
    up, topology = landscape
    anonymous = ssl.create_default_context(cafile=str(up.data_dir / "pki" / "ca" / "root-cert.pem"))
    with (
        httpx.Client(verify=tls_of(up, "noots-simulator"), timeout=5, trust_env=False) as mtls,
        httpx.Client(verify=anonymous, timeout=5, trust_env=False) as browser,
        httpx.Client(timeout=5, trust_env=False) as plain,
    ):
        for component in up.info.components:
            assert component.url.startswith("https://"), component.name
            assert mtls.get(component.url + "/health").status_code == 200, component.name
            if component.kind in ("register", "ida"):
                with pytest.raises(httpx.TransportError):
                    browser.get(component.url + "/health")
        assert browser.get(topology.base_url("platform", tls=True) + "/health").status_code == 200
        with pytest.raises(httpx.TransportError):
            plain.get(topology.base_url(KBA) + "/health")


def test_evidence_over_mutual_tls(landscape: tuple[UpProcess, Topology]) -> None:
    """IDA, then the online service's SAK → the KBA's SAK → KBA over mutual TLS: the
    Fahrzeughalterauskunft arrives checked."""
    up, topology = landscape
    with client(up, topology) as dc:
        result = dc.fetch_evidence(
            "Fahrzeughalterauskunft", purpose="Bewohnerparkausweis", person=parse_person(ERIKA)
        )
    assert result.provider == KBA
    assert "LB-EM 1964" in [row.value for row in result.rows()]


def test_tls_client_other_than_the_online_service_is_refused_by_its_sak(
    landscape: tuple[UpProcess, Topology],
) -> None:
    """An online service presenting another participant's TLS certificate to its SAK is
    refused with EDM:ERR:0001 at its first call."""
    up, topology = landscape
    with client(up, topology, tls_as=ELTERNGELD) as dc, pytest.raises(AuthenticationError) as err:
        dc.fetch_evidence(
            "Fahrzeughalterauskunft",
            purpose="Bewohnerparkausweis",
            idnr="02476291358",
            person=PersonQuery("Erika", "Mustermann", datetime(1964, 8, 12).date()),
        )
    assert err.value.code.value == "EDM:ERR:0001"
    assert ELTERNGELD in err.value.message


def test_a_registers_sak_compares_tls_client_and_envelope_sender(
    landscape: tuple[UpProcess, Topology],
) -> None:
    """The KBA's SAK answers an envelope signed by the Bewohnerparkausweis service's SAK (with
    that SAK's access token) but sent over the Elterngeld service's SAK's TLS connection with a
    signed EDM:ERR:0001; the same bytes from the signer get past that check."""
    up, topology = landscape
    url = topology.base_url(f"{KBA}.sak", tls=True) + "/transport/v1/messages"
    raw = sealed_by_bpas_sak(up, KBA)
    token = landscape_token(up.data_dir / "pki", f"{BPA}.sak", f"{KBA}.sak")
    headers = {"Content-Type": "application/xml", "Authorization": f"Bearer {token}"}
    verifier = load_participant(up.data_dir / "pki", BPA, clock=SystemClock()).verifier
    codes = {}
    for tls_as in (f"{ELTERNGELD}.sak", f"{BPA}.sak"):
        with httpx.Client(verify=tls_of(up, tls_as), timeout=10, trust_env=False) as http:
            answer = http.post(url, content=raw, headers=headers)
        opened = open_envelope(answer.content, verifier)
        assert opened.signer.participant_id == f"{KBA}.sak"
        code, detail, _component = parse_error_body(opened.body)
        codes[tls_as] = (code.value, detail)
    assert codes[f"{ELTERNGELD}.sak"][0] == "EDM:ERR:0001"
    assert f"{ELTERNGELD}.sak" in codes[f"{ELTERNGELD}.sak"][1]
    assert codes[f"{BPA}.sak"][0] != "EDM:ERR:0001"


def test_register_accepts_only_its_own_sak(landscape: tuple[UpProcess, Topology]) -> None:
    """An online service that bypasses the SAKs and calls a register directly, even with the
    register's SAK's access token, is refused (0001) for its TLS certificate; the SAK itself
    gets past that check."""
    up, topology = landscape
    token = landscape_token(up.data_dir / "pki", f"{KBA}.sak", KBA)
    url = topology.base_url(KBA, tls=True) + "/provider/v1/requests"
    headers = {"Content-Type": "application/xml", "Authorization": f"Bearer {token}"}
    answers = {}
    for tls_as in (BPA, f"{KBA}.sak"):
        with httpx.Client(verify=tls_of(up, tls_as), timeout=10, trust_env=False) as http:
            answers[tls_as] = http.post(url, content=b"<x/>", headers=headers)
    assert answers[BPA].status_code == 401
    assert answers[BPA].json()["code"] == "EDM:ERR:0001"
    assert f"{KBA}.sak" in answers[BPA].json()["detail"]
    assert answers[f"{KBA}.sak"].status_code == 400  # past the check: no 0101 in the body


def test_demo_over_mutual_tls(landscape: tuple[UpProcess, Topology]) -> None:
    """`noots demo` finds the TLS landscape and completes the pilot over HTTPS."""
    up, topology = landscape
    result = subprocess.run(
        [sys.executable, "-m", "noots", "demo", "--data-dir", str(up.data_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, COLUMNS="160", NO_COLOR="1"),
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Pilot completed" in result.stdout
    sak = topology.base_url(topology.sak_id(BPA), tls=True)
    assert f"POST {sak}/consumer/v1/requests" in result.stdout


def test_fetch_command_over_mutual_tls(landscape: tuple[UpProcess, Topology]) -> None:
    """`noots fetch` takes ports and TLS from the run file (no --topology, no --tls) and
    presents the acting online service's certificate: its SAK accepts it."""
    up, _topology = landscape
    fetch = ["fetch", "--data-dir", str(up.data_dir), "--evidence", "Fahrzeughalterauskunft"]
    result = subprocess.run(
        [sys.executable, "-m", "noots", *fetch, "--person", ERIKA, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, COLUMNS="160", NO_COLOR="1"),
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"provider": "991-01234ZFZR-41"' in result.stdout
    assert "LB-EM 1964" in result.stdout


def provider_conformance(up: UpProcess, topology: Topology, *options: str) -> Result:
    """``noots conformance provider`` against the KBA register's https address."""
    target = topology.base_url(KBA, tls=True)
    return CliRunner().invoke(
        cli,
        [
            *("conformance", "provider", "--target", target, "--participant", KBA),
            *("--max-wait", "5"),
            *("--data-dir", str(up.data_dir), "--topology", up.info.topology, *options),
        ],
    )


def test_provider_conformance_reaches_an_https_register_as_its_sak(
    landscape: tuple[UpProcess, Topology], tmp_path: Path
) -> None:
    """`noots conformance provider` against an https register presents its SAK's certificate
    (on by default for https) and the register passes, also the probe with another
    participant's certificate; with --no-tls it cannot connect."""
    up, topology = landscape
    passed = provider_conformance(up, topology, "--report", str(tmp_path / "tls"))
    assert passed.exit_code == 0, passed.output
    assert "NICHT BESTANDEN" not in passed.output
    refused = provider_conformance(up, topology, "--no-tls", "--report", str(tmp_path / "plain"))
    assert refused.exit_code == 1, refused.output
    assert "does not answer" in refused.output


def test_provider_conformance_explains_missing_tls_files(
    landscape: tuple[UpProcess, Topology], tmp_path: Path
) -> None:
    """A --ca-file that does not exist is a usage error (64) naming it; nothing is sent."""
    up, topology = landscape
    result = provider_conformance(up, topology, "--ca-file", str(tmp_path / "absent.pem"))
    assert result.exit_code == 64
    # The error box wraps a long temporary path anywhere: read it without the box.
    assert "absent.pem" in re.sub(r"[\s│]", "", result.output)


def test_killed_register_is_refused_clearly(landscape: tuple[UpProcess, Topology]) -> None:
    """With TLS too, a register that is down is named in the EDM:ERR:0008 its SAKs answer."""
    up, topology = landscape
    os.kill(up.info.component(KBA).pid, signal.SIGKILL)
    with client(up, topology) as dc, pytest.raises(NootsError) as refused:
        dc.fetch_evidence(
            "Fahrzeughalterauskunft",
            purpose="Bewohnerparkausweis",
            idnr="02476291358",
            person=PersonQuery("Erika", "Mustermann", datetime(1964, 8, 12).date()),
        )
    assert refused.value.code.value == "EDM:ERR:0008"
    assert KBA in refused.value.message


def test_ctrl_c_stops_every_component(landscape: tuple[UpProcess, Topology]) -> None:
    """SIGINT stops all components and removes the run file (exit 3: one had died)."""
    up, _topology = landscape
    assert up.stop() == 3
    assert not [c.name for c in up.info.components if pid_alive(c.pid)]
    assert not (up.data_dir / "run" / RUN_FILE).exists()
