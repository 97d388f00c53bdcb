"""Registers over real loopback sockets: `noots register run` as a process, and fault
injection as a real client sees it (uvicorn in a thread)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
import uvicorn

from noots.clock import SystemClock
from noots.conformance.requests import RequestFactory
from noots.faults import Fault, FaultPlan
from noots.messages import EvidenceResponse, NaturalPerson, parse, to_bytes
from noots.registers._service import create_register_app
from noots.registers.documents import Fahrzeughalterauskunft, parse_document
from noots.registers.settings import RegisterSettings
from noots.sak import PROVIDER_REQUESTS_PATH, XML_MEDIA_TYPE, ProviderMetadata
from noots.testing.iam import landscape_token
from noots.testing.landscape import bootstrap, free_port
from noots.topology import Topology
from noots.xml import parse as parse_xml

pytestmark = pytest.mark.e2e

ERIKA = NaturalPerson("Mustermann", "Erika", date(1964, 8, 12), "02476291358")
KBA = "991-01234ZFZR-41"
CONSUMER = "08118079-BPA-87"
TOKEN = "e2e-admin-token"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Topology]:
    """A bootstrapped landscape data directory (wall clock, free ports, small population)."""
    directory = tmp_path_factory.mktemp("landscape")
    return directory, bootstrap(directory, people=200)


def _delivery(directory: Path, topology: Topology) -> tuple[bytes, dict[str, str]]:
    """A 0101 of the Bewohnerparkausweis service to the KBA as the KBA's SAK hands it over:
    the bare bytes, the metadata headers and the SAK's access token for the KBA."""
    factory = RequestFactory.from_pki_dir(directory / "pki", topology, clock=SystemClock())
    request = factory.request(
        consumer=CONSUMER, provider=KBA, evidence_type="Fahrzeughalterauskunft", subject=ERIKA
    )
    metadata = ProviderMetadata(
        consumer=CONSUMER,
        purpose="Bewohnerparkausweis",
        service_id=topology.service_id(KBA, "Fahrzeughalterauskunft"),
        message_id=uuid.uuid4(),
        vs_token_required=False,  # both in the area verkehr
    )
    token = landscape_token(directory / "pki", f"{KBA}.sak", KBA)
    headers = {
        "Content-Type": XML_MEDIA_TYPE,
        "Authorization": f"Bearer {token}",
        **metadata.headers(),
    }
    return to_bytes(request), headers


def _wait_healthy(url: str, process: subprocess.Popen[bytes] | None = None) -> httpx.Response:
    deadline = time.monotonic() + 60
    while True:
        if process is not None and process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            pytest.fail(f"the register exited with {process.returncode}:\n{output}")
        with contextlib.suppress(httpx.TransportError):
            response = httpx.get(f"{url}/health", timeout=2)
            if response.status_code == 200:
                return response
        if time.monotonic() > deadline:
            pytest.fail(f"{url} did not become healthy")
        time.sleep(0.1)


@contextlib.contextmanager
def _cli(directory: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "NOOTS_LOG_LEVEL": "WARNING"}
    command = [
        sys.executable,
        "-c",
        "from noots.cli import main; main()",
        "register",
        "run",
        *args,
        "--data-dir",
        str(directory),
        "--topology",
        str(directory / "landscape.yaml"),
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_register_run_serves_evidence_to_its_sak_over_a_socket(
    data_dir: tuple[Path, Topology],
) -> None:
    """`noots register run kba` answers a 0101 its SAK pushes over TCP with the evidence, and
    refuses the same request without the SAK's access token (401)."""
    directory, topology = data_dir
    url = topology.base_url(KBA)
    with _cli(directory, "kba") as process:
        health = _wait_healthy(url, process).json()
        assert health["participant"] == KBA
        raw, headers = _delivery(directory, topology)
        anonymous = {k: v for k, v in headers.items() if k != "Authorization"}
        with httpx.Client(base_url=url, timeout=10) as client:
            response = client.post(PROVIDER_REQUESTS_PATH, content=raw, headers=headers)
            refusal = client.post(PROVIDER_REQUESTS_PATH, content=raw, headers=anonymous)
    assert response.status_code == 200, response.text
    message = parse(parse_xml(response.content))
    assert isinstance(message, EvidenceResponse)
    assert message.evidence is not None
    document = parse_document(message.evidence.document)
    assert isinstance(document, Fahrzeughalterauskunft)
    assert document.vehicles[0].plate == "LB-EM 1964"

    assert refusal.status_code == 401
    assert refusal.json()["code"] == "EDM:ERR:0001"


def test_register_run_picks_a_melderegister_by_region_and_port(
    data_dir: tuple[Path, Topology],
) -> None:
    """`noots register run melderegister --region 08118079 --port P` serves that municipality."""
    directory, _topology = data_dir
    port = free_port()
    with _cli(directory, "melderegister", "--region", "08118079", "--port", str(port)) as process:
        health = _wait_healthy(f"http://127.0.0.1:{port}", process).json()
    assert health["participant"] == "08118079-MELD-12"
    assert health["region"] == "08118079"


def test_register_run_refuses_an_ambiguous_kind(data_dir: tuple[Path, Topology]) -> None:
    """Several Melderegister and no --region: the command names the regions and exits 1."""
    directory, _topology = data_dir
    with _cli(directory, "melderegister") as process:
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    assert b"--region" in output
    assert b"08118079" in output


@contextlib.contextmanager
def _threaded(app: object, port: int) -> Iterator[str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="on")  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="register-e2e", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                pytest.fail("uvicorn did not start")
            time.sleep(0.02)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def test_drop_and_timeout_faults_over_a_real_socket(data_dir: tuple[Path, Topology]) -> None:
    """drop: the client sees the connection close mid-answer; timeout: the client times out
    and the register, once the fault is reset, answers normally again."""
    directory, topology = data_dir
    settings = RegisterSettings(
        data_dir=directory,
        topology=directory / "landscape.yaml",
        participant_id=KBA,
        admin_token=TOKEN,
    )
    app = create_register_app(settings, topology=topology)
    auth = {"Authorization": f"Bearer {TOKEN}"}

    def post(client: httpx.Client, **options: float) -> httpx.Response:
        raw, headers = _delivery(directory, topology)
        return client.post(PROVIDER_REQUESTS_PATH, content=raw, headers=headers, **options)

    with _threaded(app, free_port()) as url, httpx.Client(base_url=url, timeout=5) as client:
        drop = FaultPlan.always(Fault.DROP).model_dump(mode="json")
        assert client.put("/admin/v1/faults", json=drop, headers=auth).status_code == 200
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            post(client)

        hang = FaultPlan.always(Fault.TIMEOUT, hang_seconds=60).model_dump(mode="json")
        assert client.put("/admin/v1/faults", json=hang, headers=auth).status_code == 200
        with pytest.raises(httpx.ReadTimeout):
            post(client, timeout=0.5)

        assert client.delete("/admin/v1/faults", headers=auth).status_code == 200
        response = post(client)
        assert response.status_code == 200
        assert isinstance(parse(parse_xml(response.content)), EvidenceResponse)
