"""The SAK: an online service and registers connected only through their SAKs (in process).

Every test runs the whole landscape's apps (platform, IDA, registers, SAKs) wired through
``httpx.ASGITransport``; the test itself plays the online service and speaks only the
documented consumer API of its SAK.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from noots import messages
from noots.access import AccessTokenSource, BearerAuth
from noots.clock import ManualClock, SystemClock
from noots.envelope import open_envelope, parse_error_body
from noots.errors import EdmCode
from noots.intermediary.sak._openapi import DOCS_DIR, openapi_documents, render
from noots.participant import load_credential, load_validator
from noots.pki import CertificateAuthority
from noots.protocol import open_protocol_log
from noots.signing import XmlVerifier
from noots.testing.iam import landscape_token
from noots.testing.landscape import Landscape, bootstrap, landscape_in_process
from noots.xml import parse
from tests.noots.intermediary.sak_support import fetch, prepare, submit

BPA = "08118079-BPA-87"
KBA = "991-01234ZFZR-41"
MELD = "08118079-MELD-12"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("sak-landscape")
    bootstrap(data_dir, people=150)
    return data_dir


def _copy(template: Path, target: Path, *, passive: str | None = None) -> Path:
    shutil.copytree(template, target)
    if passive is not None:
        path = target / "landscape.yaml"
        data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        for entry in data["registers"]:
            if entry["participant_id"] == passive:
                entry["sak"]["mode"] = "passive"
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return target


@contextlib.asynccontextmanager
async def _online_service(
    data_dir: Path,
) -> AsyncIterator[tuple[Landscape, httpx.AsyncClient]]:
    """The landscape in process, and an HTTP client of the Bewohnerparkausweis service that
    presents its IAM access token to its SAK."""
    async with landscape_in_process(data_dir, consumers=False) as (landscape, routes):
        topology = landscape.topology
        credential = load_credential(data_dir / "pki", BPA)
        async with (
            httpx.AsyncClient(transport=routes) as http,
            AccessTokenSource(
                credential,
                iam_url=topology.base_url("platform"),
                iam_id=topology.platform.iam_id,
                clock=SystemClock(),
                http=http,
            ) as tokens,
            httpx.AsyncClient(
                transport=routes, auth=BearerAuth(tokens, topology.sak_id(BPA))
            ) as client,
        ):
            yield landscape, client


@pytest.fixture
async def wired(
    template: Path, tmp_path: Path
) -> AsyncIterator[tuple[Landscape, httpx.AsyncClient]]:
    async with _online_service(_copy(template, tmp_path / "data")) as wired:
        yield wired


@pytest.fixture
async def wired_passive(
    template: Path, tmp_path: Path
) -> AsyncIterator[tuple[Landscape, httpx.AsyncClient]]:
    async with _online_service(_copy(template, tmp_path / "data", passive=KBA)) as wired:
        yield wired


def _logged(landscape: Landscape, party: str) -> list[str]:
    log = open_protocol_log(
        landscape.data_dir / "logs" / f"{party}.db", party=party, clock=SystemClock()
    )
    try:
        return [e.outcome for e in log.entries()]
    finally:
        log.close()


async def test_evidence_within_one_area_needs_no_token(wired: Any) -> None:
    """Bewohnerparkausweis → KBA (both verkehr): no VS token, the 0102 comes back."""
    landscape, client = wired
    done = await fetch(client, landscape, BPA, "Fahrzeughalterauskunft")
    assert done.authorisation == {
        "required": False,
        "reason": done.authorisation["reason"],
        "status": 200,
    }
    assert done.response.status_code == 200, done.response.text
    answer = done.answer
    assert isinstance(answer, messages.EvidenceResponse)
    assert answer.request_id == done.request.request_id
    assert answer.evidence is not None
    assert done.response.headers["Noots-Outcome"] == "delivered"


async def test_every_hop_of_a_submission_carries_the_request_id(wired: Any) -> None:
    """The SAKs trace each hop of one submission under the 0101's id (the dashboard draws
    them as one exchange), the online service's SAK included."""
    from noots import trace
    from noots.testing.trace import RecordingSink

    landscape, client = wired
    with trace.installed(RecordingSink()) as sink:
        done = await fetch(client, landscape, BPA, "Fahrzeughalterauskunft")
    assert done.response.status_code == 200, done.response.text
    submitted = [e for e in sink.events if e.hop is not trace.Hop.SAK_RDN or e.trace_id]
    hops = {e.hop.value for e in submitted}
    assert {"dc→sak", "sak→sak", "sak→dp", "dp→sak", "sak←sak", "sak→dc"} <= hops
    assert {e.trace_id for e in submitted} == {str(done.request.request_id)}


async def test_a_route_look_up_is_traced_under_the_announced_request_id(wired: Any) -> None:
    """A route call with Noots-Trace-Id: the SAK's RDN hop carries that id."""
    from noots import trace
    from noots.testing.trace import RecordingSink

    landscape, client = wired
    announced = "0b6f8a1e-5b8c-4f3e-9a57-3c1d2e4f5a6b"
    with trace.installed(RecordingSink()) as sink:
        response = await client.get(
            landscape.topology.base_url(f"{BPA}.sak") + "/consumer/v1/routes",
            params={"evidenceType": "Fahrzeughalterauskunft"},
            headers={"Noots-Trace-Id": announced},
        )
    assert response.status_code == 200, response.text
    assert [e.trace_id for e in sink.events if e.hop is trace.Hop.SAK_RDN] == [announced]


async def test_a_trace_id_that_is_no_uuid_changes_nothing_but_the_tracing(wired: Any) -> None:
    """A malformed Noots-Trace-Id is ignored: the route is answered, traced without an id."""
    from noots import trace
    from noots.testing.trace import RecordingSink

    landscape, client = wired
    with trace.installed(RecordingSink()) as sink:
        response = await client.get(
            landscape.topology.base_url(f"{BPA}.sak") + "/consumer/v1/routes",
            params={"evidenceType": "Fahrzeughalterauskunft"},
            headers={"Noots-Trace-Id": "../../etc/passwd"},
        )
    assert response.status_code == 200, response.text
    assert [e.trace_id for e in sink.events if e.hop is trace.Hop.SAK_RDN] == [None]


async def test_evidence_across_areas_carries_a_vs_token(wired: Any) -> None:
    """Bewohnerparkausweis → Melderegister (verkehr → meldewesen) with IDNr: token, 0102."""
    landscape, client = wired
    done = await fetch(client, landscape, BPA, "Meldebescheinigung", region="08118079")
    assert done.authorisation["required"] is True
    assert "§ 7 Abs. 2 IDNrG" in done.authorisation["reason"]
    assert done.request.issued_token
    assert done.response.status_code == 200, done.response.text
    assert isinstance(done.answer, messages.EvidenceResponse)
    assert _logged(landscape, MELD) == ["delivered"]


async def test_a_passive_register_fetches_and_answers(wired_passive: Any) -> None:
    """A register in passive mode gets the 0101 from its SAK and posts the 0102 there."""
    landscape, client = wired_passive
    done = await fetch(client, landscape, BPA, "Fahrzeughalterauskunft")
    assert done.response.status_code == 200, done.response.text
    assert isinstance(done.answer, messages.EvidenceResponse)
    assert _logged(landscape, KBA) == ["delivered"]


async def test_nothing_is_sent_without_a_required_token(wired: Any) -> None:
    """A cross-area IDNr 0101 without its token is refused by the SAK; the register sees
    nothing."""
    landscape, client = wired
    request, route, _auth = await prepare(
        client, landscape, BPA, "Meldebescheinigung", region="08118079"
    )
    response = await submit(client, landscape, BPA, request.with_token(""), route["serviceId"])
    answer = messages.parse(parse(response.content))
    assert isinstance(answer, messages.EvidenceErrorResponse)
    assert answer.errors[0].code is EdmCode.AUTHORISATION
    assert "nothing was sent" in (answer.errors[0].detail or "")
    assert answer.error_provider.identifier == f"{BPA}.sak"
    assert (
        not (landscape.data_dir / "logs" / f"{MELD}.db").exists() or _logged(landscape, MELD) == []
    )


async def test_a_0101_for_another_requester_is_refused(wired: Any) -> None:
    """A SAK sends only 0101s of its own online service."""
    landscape, client = wired
    request, route, _auth = await prepare(client, landscape, BPA, "Fahrzeughalterauskunft")
    other = dataclasses.replace(request, requester=messages.Agent("09162000-GEWA-65", "X"))
    response = await submit(client, landscape, BPA, other, route["serviceId"])
    assert response.status_code == 401
    assert response.headers["Noots-Outcome"] == "refused:EDM:ERR:0001"


async def test_an_unknown_service_id_is_refused_with_what_exists(wired: Any) -> None:
    """A service id the RDN does not know is 0006 naming the provider's services."""
    landscape, client = wired
    request, _route, _auth = await prepare(client, landscape, BPA, "Fahrzeughalterauskunft")
    response = await submit(
        client, landscape, BPA, request, f"urn:noots:service:{KBA}:Geburtsurkunde"
    )
    assert response.status_code == 404
    assert b"Fahrzeughalterauskunft" in response.content


async def test_a_body_that_is_no_0101_is_a_problem(wired: Any) -> None:
    """Bytes that are not a readable 0101 get a JSON problem, not XNachweis."""
    landscape, client = wired
    sak = landscape.url(f"{BPA}.sak")
    response = await client.post(
        sak + "/consumer/v1/requests",
        content=b"<nope/>",
        headers={"Noots-Purpose": "x", "Noots-Service-Id": "y"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "EDM:ERR:0003"


async def test_an_asynchronous_submission_is_collected_by_handle(wired: Any) -> None:
    """Prefer: respond-async answers 202 with a handle; collecting gives the 0102."""
    landscape, client = wired
    request, route, _auth = await prepare(client, landscape, BPA, "Fahrzeughalterauskunft")
    started = await submit(
        client, landscape, BPA, request, route["serviceId"], Prefer="respond-async"
    )
    assert started.status_code == 202
    location = landscape.url(f"{BPA}.sak") + started.headers["Location"]
    for _ in range(400):  # a generous deadline, not a fixed sleep
        collected = await client.get(location)
        if collected.status_code != 202:
            break
        await asyncio.sleep(0.05)
    assert collected.status_code == 200, collected.text
    assert collected.headers["Noots-Outcome"] == "delivered"


# -- the committed OpenAPI documents -----------------------------------------------------------


def test_the_committed_openapi_documents_are_current() -> None:
    """docs/openapi/*.json are what the SAK's routers describe (python -m
    noots.intermediary.sak.openapi rewrites them)."""
    for name, document in openapi_documents().items():
        committed = (DOCS_DIR / name).read_text(encoding="utf-8")
        assert committed == render(document), f"{name} is stale"


#: The register's half of the provider API (push endpoint, protocol export).
_SERVED_BY_THE_REGISTER = {("post", "/provider/v1/requests"), ("get", "/provider/v1/transfers")}


async def test_each_sak_serves_what_is_committed(wired: Any) -> None:
    """An online service's SAK serves the consumer API document, a register's SAK the
    passive half of the provider API and the transport endpoint, operation for operation."""
    landscape, client = wired
    documents = openapi_documents()
    expected = {
        f"{BPA}.sak": [documents["sak-consumer-api.json"]],
        f"{KBA}.sak": [documents["sak-transport.json"], documents["sak-provider-api.json"]],
    }
    for sak, committed in expected.items():
        served = (await client.get(landscape.url(sak) + "/openapi.json")).json()["paths"]
        for document in committed:
            for path, operations in document["paths"].items():
                for method, operation in operations.items():
                    if (method, path) in _SERVED_BY_THE_REGISTER:
                        continue
                    assert served[path][method] == operation, (sak, path, method)


async def test_a_register_serves_the_endpoints_the_document_names(wired: Any) -> None:
    """The register's own app has the push endpoint and the protocol export, as
    sak-provider-api.json says."""
    landscape, client = wired
    served = (await client.get(landscape.url(KBA) + "/openapi.json")).json()["paths"]
    documented = openapi_documents()["sak-provider-api.json"]["paths"]
    for method, path in _SERVED_BY_THE_REGISTER:
        assert method in served[path], path
        assert method in documented[path], path


# -- who may call a SAK (IAM access tokens) ---------------------------------------------------


def _token(landscape: Landscape, client: str, audience: str, **options: Any) -> str:
    """An access token of the landscape's IAM, minted directly (no registration check)."""
    return landscape_token(landscape.data_dir / "pki", client, audience, **options)


async def _route_status(landscape: Landscape, authorization: str | None) -> httpx.Response:
    app = landscape.apps[_address(landscape, f"{BPA}.sak")]
    headers = {"Authorization": authorization} if authorization else {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sak"
    ) as raw:
        return await raw.get(
            "/consumer/v1/routes",
            params={"evidenceType": "Fahrzeughalterauskunft"},
            headers=headers,
        )


def _address(landscape: Landscape, participant: str) -> str:
    participant_spec = landscape.topology.participant(participant)
    return f"{participant_spec.host}:{participant_spec.port}"


async def test_the_consumer_api_refuses_a_caller_without_a_token(wired: Any) -> None:
    """No access token: 401 EDM:ERR:0001 with a Bearer challenge."""
    landscape, _client = wired
    response = await _route_status(landscape, None)
    assert response.status_code == 401
    assert response.json()["code"] == "EDM:ERR:0001"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_the_consumer_api_refuses_another_online_service(wired: Any) -> None:
    """A valid token of another online service for this SAK: 403, only its own may use it."""
    landscape, _client = wired
    token = _token(landscape, "09162000-GEWA-65", f"{BPA}.sak")
    response = await _route_status(landscape, f"Bearer {token}")
    assert response.status_code == 403
    assert response.json()["code"] == "EDM:ERR:0002"


async def test_the_consumer_api_refuses_a_token_for_another_resource(wired: Any) -> None:
    """The online service's own token, but for the IDA: 403 (wrong audience)."""
    landscape, _client = wired
    token = _token(landscape, BPA, landscape.topology.ida.participant_id)
    response = await _route_status(landscape, f"Bearer {token}")
    assert response.status_code == 403


async def test_the_consumer_api_refuses_an_expired_token(wired: Any) -> None:
    """A token that expired (issued an hour ago, valid five minutes): 401."""
    landscape, _client = wired
    then = ManualClock(SystemClock().now() - timedelta(hours=1))
    token = _token(landscape, BPA, f"{BPA}.sak", clock=then)
    response = await _route_status(landscape, f"Bearer {token}")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


async def test_a_revocation_takes_effect_at_once(wired: Any) -> None:
    """Revoking the online service's certificate refuses its next call, token or not."""
    landscape, _client = wired
    token = _token(landscape, BPA, f"{BPA}.sak")
    assert (await _route_status(landscape, f"Bearer {token}")).status_code == 200
    CertificateAuthority.open(landscape.data_dir / "pki", clock=SystemClock()).revoke(BPA)
    response = await _route_status(landscape, f"Bearer {token}")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


async def test_a_register_accepts_requests_only_from_its_own_sak(wired: Any) -> None:
    """The KBA's push endpoint refuses a request without a token, and one of another SAK."""
    landscape, _client = wired
    app = landscape.apps[_address(landscape, KBA)]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://kba"
    ) as raw:
        missing = await raw.post("/provider/v1/requests", content=b"<x/>")
        other = _token(landscape, f"{MELD}.sak", KBA)
        foreign = await raw.post(
            "/provider/v1/requests", content=b"<x/>", headers={"Authorization": f"Bearer {other}"}
        )
    assert missing.status_code == 401
    assert foreign.status_code == 403


async def test_the_transport_endpoint_refuses_an_envelope_without_a_token(wired: Any) -> None:
    """Between SAKs a token is required too: the refusal is a signed env:Error 0001."""
    landscape, _client = wired
    app = landscape.apps[_address(landscape, f"{KBA}.sak")]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sak"
    ) as raw:
        response = await raw.post("/transport/v1/messages", content=b"<x/>")
    assert response.status_code == 401
    opened = open_envelope(response.content, load_validator_verifier(landscape))
    code, _detail, component = parse_error_body(opened.body)
    assert code is EdmCode.AUTHENTICATION
    assert component == f"{KBA}.sak"


def load_validator_verifier(landscape: Landscape) -> XmlVerifier:
    return XmlVerifier(load_validator(landscape.data_dir / "pki", clock=SystemClock()))


# -- a provider's SAK spoiling its answers on purpose (noots.faults) -------------------------


@pytest.mark.parametrize(
    ("fault", "why"),
    [
        ("bad_signature", "signature"),
        ("missing_signature", "signature"),
        ("expired_certificate", "expired"),
        ("wrong_binding", "InResponseTo"),
        ("malformed", "XML"),
    ],
)
async def test_a_spoiled_answer_is_refused_and_nothing_reaches_the_online_service(
    wired: Any, fault: str, why: str
) -> None:
    """Each signature fault of the KBA's SAK makes the online service's SAK refuse the answer
    (0008 naming the KBA's SAK): the online service gets a 0103, no evidence."""
    landscape, client = wired
    admin = {"Authorization": f"Bearer {landscape.admin_token}"}
    sak = landscape.url(f"{KBA}.sak")
    switched = await client.put(
        sak + "/admin/v1/faults", json={"rates": {fault: 1.0}}, headers=admin, auth=None
    )
    assert switched.status_code == 200, switched.text
    done = await fetch(client, landscape, BPA, "Fahrzeughalterauskunft")
    answer = done.answer
    assert isinstance(answer, messages.EvidenceErrorResponse)
    assert answer.errors[0].code is EdmCode.QUERY_ERROR
    detail = answer.errors[0].detail or ""
    assert f"{KBA}.sak" in detail
    assert why.lower() in detail.lower()
    assert done.response.status_code == 502


async def test_the_fault_admin_needs_the_admin_token(wired: Any) -> None:
    """Without the admin token a SAK's faults cannot be switched."""
    landscape, client = wired
    response = await client.put(
        landscape.url(f"{KBA}.sak") + "/admin/v1/faults", json={"rates": {"drop": 1.0}}
    )
    assert response.status_code == 401
