"""The register's protocol export (GET /provider/v1/transfers): what it logged for one
request, for its own SAK only."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from noots import messages
from noots.access import issue_access_token
from noots.clock import SystemClock
from noots.conformance.requests import RequestFactory
from noots.participant import load_credential, load_validator
from noots.registers._service import create_register_app
from noots.registers.settings import RegisterSettings
from noots.sak import (
    PROVIDER_REQUESTS_PATH,
    PROVIDER_TRANSFERS_PATH,
    ProtocolExport,
    ProviderMetadata,
)
from noots.testing.landscape import bootstrap
from noots.topology import Topology

KBA = "991-01234ZFZR-41"
BPA = "08118079-BPA-87"
ERIKA = messages.NaturalPerson("Mustermann", "Erika", date(1964, 8, 12), "02476291358")
CLOCK = SystemClock()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("export")
    bootstrap(directory, people=120)
    return directory


@pytest.fixture
async def kba(data_dir: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Topology]]:
    settings = RegisterSettings(
        data_dir=data_dir, topology=data_dir / "landscape.yaml", participant_id=KBA
    )
    app = create_register_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kba") as http,
    ):
        yield http, app.state.register.topology


def token(
    data_dir: Path, topology: Topology, client: str, audience: str = KBA, acts_for: str = ""
) -> str:
    pki = data_dir / "pki"
    validated = load_validator(pki, clock=CLOCK).validate(load_credential(pki, client).certificate)
    return issue_access_token(
        load_credential(pki, topology.platform.iam_id),
        client=validated,
        audience=audience,
        acts_for=acts_for or topology.acts_for(client),
        clock=CLOCK,
    )


async def test_the_export_lists_what_the_register_logged_for_one_request(
    kba: tuple[httpx.AsyncClient, Topology], data_dir: Path
) -> None:
    """After a delivery, the export answers that request's entry: consumer, type, purpose,
    IDNr and outcome; another request id has none."""
    http, topology = kba
    factory = RequestFactory.from_pki_dir(data_dir / "pki", topology, clock=CLOCK)
    request = factory.request(
        consumer=BPA, provider=KBA, evidence_type="Fahrzeughalterauskunft", subject=ERIKA
    )
    metadata = ProviderMetadata(
        consumer=BPA,
        purpose="Bewohnerparkausweis",
        service_id=topology.service_id(KBA, "Fahrzeughalterauskunft"),
        message_id=uuid.uuid4(),
        vs_token_required=False,
    )
    own = {"Authorization": f"Bearer {token(data_dir, topology, f'{KBA}.sak')}"}
    answer = await http.post(
        PROVIDER_REQUESTS_PATH,
        content=messages.to_bytes(request),
        headers={**metadata.headers(), **own},
    )
    assert answer.status_code == 200, answer.text
    request_id = f"urn:uuid:{request.request_id}"
    found = await http.get(PROVIDER_TRANSFERS_PATH, params={"requestId": request_id}, headers=own)
    assert found.status_code == 200
    [entry] = found.json()["transfers"]
    assert {k: entry[k] for k in ("consumer", "evidenceType", "purpose", "idnr", "outcome")} == {
        "consumer": BPA,
        "evidenceType": "Fahrzeughalterauskunft",
        "purpose": "Bewohnerparkausweis",
        "idnr": ERIKA.idnr,
        "outcome": "delivered",
    }
    assert entry["loggedAt"].endswith("Z")
    ProtocolExport.model_validate(found.json())  # the shape docs/openapi documents
    other = await http.get(
        PROVIDER_TRANSFERS_PATH, params={"requestId": f"urn:uuid:{uuid.uuid4()}"}, headers=own
    )
    assert other.json()["transfers"] == []


async def test_the_export_is_for_the_registers_own_sak_only(
    kba: tuple[httpx.AsyncClient, Topology], data_dir: Path
) -> None:
    """No token: 401; a valid token of another SAK: 403; nothing of the log in either."""
    http, topology = kba
    params = {"requestId": f"urn:uuid:{uuid.uuid4()}"}
    missing = await http.get(PROVIDER_TRANSFERS_PATH, params=params)
    other = token(data_dir, topology, "08118079-MELD-12.sak")
    foreign = await http.get(
        PROVIDER_TRANSFERS_PATH, params=params, headers={"Authorization": f"Bearer {other}"}
    )
    assert (missing.status_code, foreign.status_code) == (401, 403)
    assert "transfers" not in missing.json()
    assert "transfers" not in foreign.json()


async def test_a_token_of_its_own_sak_acting_for_another_is_refused(
    kba: tuple[httpx.AsyncClient, Topology], data_dir: Path
) -> None:
    """A token of the register's own SAK whose acts_for is not the register (docs/SAK.md:
    acts_for is your id) is refused with 403, as an operator's register must refuse it."""
    http, topology = kba
    params = {"requestId": f"urn:uuid:{uuid.uuid4()}"}
    sak = topology.sak_id(KBA)
    wrong = token(data_dir, topology, sak, acts_for=sak)
    refused = await http.get(
        PROVIDER_TRANSFERS_PATH, params=params, headers={"Authorization": f"Bearer {wrong}"}
    )
    assert refused.status_code == 403
    right = token(data_dir, topology, sak)
    taken = await http.get(
        PROVIDER_TRANSFERS_PATH, params=params, headers={"Authorization": f"Bearer {right}"}
    )
    assert taken.status_code == 200
