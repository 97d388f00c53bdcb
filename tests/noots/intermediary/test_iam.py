"""IAM für Behörden: registrations from the topology, the token endpoint, JWKS, health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from noots.access import (
    CLIENT_ASSERTION_TYPE,
    AccessTokenSource,
    AccessTokenVerifier,
    build_client_assertion,
)
from noots.clock import ManualClock
from noots.envelope import ReplayGuard
from noots.errors import AccessDenied, AccessTokenRevoked
from noots.intermediary.app import create_app
from noots.intermediary.iam import IamService, OAuthError, registrations
from noots.participant import load_credential, load_validator
from noots.pki import CertificateAuthority, KeyType, Role
from noots.testing.asgi import running
from noots.testing.iam import TestIam, resign, unverified_parts
from noots.testing.pki import TestPki
from noots.topology import DEFAULT_TOPOLOGY_PATH, Topology, load_topology, parse_topology
from tests.noots.intermediary.support import CONSUMER, KBA, MELDEREGISTER, Landscape

IAM = "noots-iam"
RDN = "noots-rdn"
VS = "noots-vs"
IDA = "noots-ida"
COLLECTOR = "noots-simulator"
ADMIN = {"Authorization": "Bearer admin-secret"}
TOPOLOGY = load_topology()


def _app(landscape: Landscape, **overrides: Any) -> Any:
    return create_app(
        landscape.settings(**overrides),
        components=("iam", "pki"),
        clock=landscape.clock,
        topology=landscape.topology,
    )


def _assertion(landscape: Landscape, participant_id: str, **options: Any) -> str:
    credential = load_credential(landscape.data_dir / "pki", participant_id)
    return build_client_assertion(credential, clock=landscape.clock, **{"iam_id": IAM, **options})


def _form(assertion: str, audience: str, **extra: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion,
        "audience": audience,
        **extra,
    }


def _verifier(landscape: Landscape, audience: str) -> AccessTokenVerifier:
    return AccessTokenVerifier(
        load_validator(landscape.data_dir / "pki", clock=landscape.clock),
        iam_id=IAM,
        audience=audience,
        clock=landscape.clock,
    )


@pytest.fixture
async def iam(landscape: Landscape) -> AsyncIterator[httpx.AsyncClient]:
    async with running(_app(landscape)) as client:
        yield client


async def _ask(
    client: httpx.AsyncClient, landscape: Landscape, participant_id: str, audience: str
) -> httpx.Response:
    return await client.post(
        "/iam/v1/token", data=_form(_assertion(landscape, participant_id), audience)
    )


# --------------------------------------------------------------------------------------------
# The token endpoint: what is issued


async def test_registered_online_service_gets_a_token_for_its_sak(
    iam: httpx.AsyncClient, landscape: Landscape
) -> None:
    """An online service asks for its own SAK and gets a Bearer token that SAK accepts."""
    sak = Topology.sak_id(CONSUMER)
    answer = await _ask(iam, landscape, CONSUMER, sak)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["token_type"], body["expires_in"], body["audience"]) == ("Bearer", 300, sak)
    assert answer.headers["cache-control"] == "no-store"
    grant = _verifier(landscape, sak).verify(body["access_token"])
    assert (grant.subject, grant.acts_for, grant.roles) == (
        CONSUMER,
        CONSUMER,
        frozenset({Role.CONSUMER}),
    )


async def test_sak_token_acts_for_the_participant_it_serves(
    iam: httpx.AsyncClient, landscape: Landscape
) -> None:
    """The online service's SAK gets a token for the RDN, acting for the online service."""
    answer = await _ask(iam, landscape, Topology.sak_id(CONSUMER), RDN)
    assert answer.status_code == 200, answer.text
    grant = _verifier(landscape, RDN).verify(answer.json()["access_token"])
    assert grant.subject == Topology.sak_id(CONSUMER)
    assert grant.acts_for == CONSUMER
    assert grant.roles == frozenset({Role.SAK})


async def test_token_lifetime_follows_the_setting(landscape: Landscape) -> None:
    """NOOTS_IAM_TOKEN_LIFETIME_SECONDS sets expires_in and exp − iat."""
    async with running(_app(landscape, iam_token_lifetime_seconds=60)) as client:
        answer = await _ask(client, landscape, CONSUMER, IDA)
    assert answer.json()["expires_in"] == 60
    claims = unverified_parts(answer.json()["access_token"])[1]
    assert claims["exp"] - claims["iat"] == 60


async def test_token_source_gets_tokens_from_the_real_iam(
    iam: httpx.AsyncClient, landscape: Landscape
) -> None:
    """AccessTokenSource speaks the endpoint's protocol: token, cache, typed refusal."""
    source = AccessTokenSource(
        load_credential(landscape.data_dir / "pki", CONSUMER),
        iam_url=str(iam.base_url),
        iam_id=IAM,
        clock=landscape.clock,
        http=iam,
    )
    token = await source.token(IDA)
    assert await source.token(IDA) == token
    assert _verifier(landscape, IDA).verify(token).subject == CONSUMER
    with pytest.raises(AccessDenied, match="not registered to call noots-vs"):
        await source.token(VS)


# --------------------------------------------------------------------------------------------
# The token endpoint: what is refused


async def test_replayed_assertion_is_refused(iam: httpx.AsyncClient, landscape: Landscape) -> None:
    """A client assertion is single-use: the second use is invalid_client."""
    form = _form(_assertion(landscape, CONSUMER), IDA)
    assert (await iam.post("/iam/v1/token", data=form)).status_code == 200
    again = await iam.post("/iam/v1/token", data=form)
    assert again.status_code == 401
    assert again.json() == {
        "error": "invalid_client",
        "error_description": "client assertion was already used",
    }


async def test_replay_cache_survives_a_restart(landscape: Landscape) -> None:
    """The used assertion is journaled in <data_dir>/state/noots-iam.db: refused after restart."""
    form = _form(_assertion(landscape, CONSUMER), IDA)
    async with running(_app(landscape)) as client:
        assert (await client.post("/iam/v1/token", data=form)).status_code == 200
    assert (landscape.data_dir / "state" / f"{IAM}.db").is_file()
    async with running(_app(landscape)) as client:
        again = await client.post("/iam/v1/token", data=form)
    assert again.json()["error"] == "invalid_client"


async def test_assertion_for_another_iam_is_invalid_client(
    iam: httpx.AsyncClient, landscape: Landscape
) -> None:
    """An assertion whose aud is not this IAM is refused (401)."""
    form = _form(_assertion(landscape, CONSUMER, iam_id="other-iam"), IDA)
    answer = await iam.post("/iam/v1/token", data=form)
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert "not addressed to noots-iam" in answer.json()["error_description"]


async def test_assertion_with_an_untrusted_x5c_is_invalid_client(
    iam: httpx.AsyncClient,
) -> None:
    """A certificate of another CA authenticates nobody here."""
    with TestPki(clock=ManualClock()) as foreign:
        assertion = TestIam(foreign).assertion(CONSUMER)
    answer = await iam.post("/iam/v1/token", data=_form(assertion, IDA))
    assert answer.status_code == 401
    assert "trust anchor" in answer.json()["error_description"]


async def test_audience_the_client_is_not_registered_for_is_forbidden(
    iam: httpx.AsyncClient, landscape: Landscape
) -> None:
    """An online service may not call the VS itself (its SAK does): invalid_target, 403."""
    answer = await _ask(iam, landscape, CONSUMER, VS)
    assert answer.status_code == 403
    assert answer.json() == {
        "error": "invalid_target",
        "error_description": f"{CONSUMER} is not registered to call {VS}",
    }


async def test_unknown_audience_is_invalid_target(
    iam: httpx.AsyncClient, landscape: Landscape
) -> None:
    """An audience that is no resource of the landscape: invalid_target, 400."""
    answer = await _ask(iam, landscape, CONSUMER, "nobody-at-all")
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_target"


async def test_client_unknown_to_the_topology_is_unauthorized(
    iam: httpx.AsyncClient, landscape: Landscape
) -> None:
    """A valid certificate of the landscape's CA, but no registration: unauthorized_client."""
    authority = CertificateAuthority.open(landscape.data_dir / "pki", clock=landscape.clock)
    authority.issue("stranger-01", Role.CONSUMER, key_type=KeyType.ECDSA_P256)
    answer = await _ask(iam, landscape, "stranger-01", IDA)
    assert answer.status_code == 403
    assert answer.json()["error"] == "unauthorized_client"


async def test_certificate_in_another_role_than_registered_is_unauthorized(
    iam: httpx.AsyncClient, landscape: Landscape
) -> None:
    """A consumer re-issued a provider certificate is not the registered consumer."""
    authority = CertificateAuthority.open(landscape.data_dir / "pki", clock=landscape.clock)
    authority.issue(CONSUMER, Role.PROVIDER, key_type=KeyType.ECDSA_P256)
    answer = await _ask(iam, landscape, CONSUMER, IDA)
    assert answer.status_code == 403
    assert "registered as consumer" in answer.json()["error_description"]


async def test_revocation_through_the_admin_endpoint_takes_effect_at_once(
    iam: httpx.AsyncClient, landscape: Landscape
) -> None:
    """After POST /admin/v1/revoke the issued token fails at the resource's next check and the
    IAM issues no new one."""
    verifier = _verifier(landscape, IDA)
    token = (await _ask(iam, landscape, CONSUMER, IDA)).json()["access_token"]
    verifier.verify(token)
    revoked = await iam.post("/admin/v1/revoke", json={"participantId": CONSUMER}, headers=ADMIN)
    assert revoked.status_code == 200
    with pytest.raises(AccessTokenRevoked):
        verifier.verify(token)
    again = await _ask(iam, landscape, CONSUMER, IDA)
    assert again.status_code == 401
    assert again.json()["error_description"] == "certificate has been revoked"


async def test_other_grant_type_is_unsupported(
    iam: httpx.AsyncClient, landscape: Landscape
) -> None:
    """Only client_credentials is supported."""
    form = _form(_assertion(landscape, CONSUMER), IDA, grant_type="password")
    answer = await iam.post("/iam/v1/token", data=form)
    assert (answer.status_code, answer.json()["error"]) == (400, "unsupported_grant_type")


@pytest.mark.parametrize(
    "missing", ["grant_type", "client_assertion_type", "client_assertion", "audience"]
)
async def test_missing_parameter_is_invalid_request(
    iam: httpx.AsyncClient, landscape: Landscape, missing: str
) -> None:
    """Each of the four parameters is required."""
    form = _form(_assertion(landscape, CONSUMER), IDA)
    del form[missing]
    answer = await iam.post("/iam/v1/token", data=form)
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "invalid_request",
        "error_description": f"{missing} is required",
    }


async def test_other_assertion_type_is_invalid_request(
    iam: httpx.AsyncClient, landscape: Landscape
) -> None:
    """client_assertion_type must be the JWT bearer type of RFC 7523."""
    form = _form(_assertion(landscape, CONSUMER), IDA, client_assertion_type="urn:x")
    answer = await iam.post("/iam/v1/token", data=form)
    assert answer.json()["error"] == "invalid_request"


async def test_json_body_is_invalid_request(iam: httpx.AsyncClient, landscape: Landscape) -> None:
    """The token request is form-encoded (RFC 6749 §4.4.2), not JSON."""
    answer = await iam.post("/iam/v1/token", json=_form(_assertion(landscape, CONSUMER), IDA))
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")


async def test_repeated_parameter_is_invalid_request(
    iam: httpx.AsyncClient, landscape: Landscape
) -> None:
    """A parameter given twice is refused (RFC 6749 §3.2)."""
    body = httpx.QueryParams(_form(_assertion(landscape, CONSUMER), IDA)).add("audience", RDN)
    answer = await iam.post(
        "/iam/v1/token",
        content=str(body),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.json() == {
        "error": "invalid_request",
        "error_description": "audience is given more than once",
    }


async def test_oversized_body_is_refused(iam: httpx.AsyncClient) -> None:
    """More than 16 KiB is refused before parsing."""
    answer = await iam.post("/iam/v1/token", data={"client_assertion": "a" * 20_000})
    assert answer.status_code == 400
    assert "exceeds" in answer.json()["error_description"]


async def test_client_id_must_be_the_assertions_subject(
    iam: httpx.AsyncClient, landscape: Landscape
) -> None:
    """A client_id parameter that names someone else is invalid_client."""
    form = _form(_assertion(landscape, CONSUMER), IDA, client_id=KBA)
    answer = await iam.post("/iam/v1/token", data=form)
    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")


# --------------------------------------------------------------------------------------------
# Mangled requests (property test, without HTTP)


def _service(landscape: Landscape) -> IamService:
    return IamService(
        load_credential(landscape.data_dir / "pki", IAM),
        load_validator(landscape.data_dir / "pki", clock=landscape.clock),
        landscape.topology,
        ReplayGuard(landscape.clock),
        clock=landscape.clock,
    )


_FIELDS = ("grant_type", "client_assertion_type", "client_assertion", "audience", "client_id")


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_mangled_token_requests_are_always_refused(landscape: Landscape, data: Any) -> None:
    """A changed assertion character, a changed claim or any field value: an OAuth refusal,
    never a token and never another exception."""
    service = _service(landscape)
    credential = load_credential(landscape.data_dir / "pki", CONSUMER)
    genuine = build_client_assertion(credential, iam_id=IAM, clock=landscape.clock)
    how = data.draw(st.sampled_from(["character", "claim", "field"]))
    form = _form(genuine, IDA)
    if how == "character":
        position = data.draw(st.integers(min_value=0, max_value=len(genuine) - 1))
        replacement = data.draw(st.characters(codec="ascii"))
        if genuine[position] == replacement:
            return
        form["client_assertion"] = genuine[:position] + replacement + genuine[position + 1 :]
    elif how == "claim":
        claim = data.draw(st.sampled_from(["iss", "sub", "aud", "iat", "exp", "jti"]))
        value = data.draw(st.none() | st.integers() | st.text(max_size=20) | st.just([IAM, 1]))
        try:
            form["client_assertion"] = resign(genuine, credential, claims={claim: value})
        except (TypeError, ValueError, jwt.PyJWTError):
            return
        if claim in ("jti", "iat") or (claim == "exp" and isinstance(value, int)):
            return  # these may still be acceptable values
    else:
        field = data.draw(st.sampled_from(_FIELDS))
        form[field] = data.draw(st.text(max_size=60))
        if field in ("client_assertion", "client_id") and form[field] in (genuine, CONSUMER):
            return
        if field == "audience" and form[field] in (IDA, Topology.sak_id(CONSUMER), COLLECTOR):
            return
        if field in ("grant_type", "client_assertion_type") and form[field] == _form("", "")[field]:
            return
    with pytest.raises(OAuthError) as caught:
        service.issue(form)
    assert caught.value.error in {
        "invalid_request",
        "invalid_client",
        "unsupported_grant_type",
        "invalid_target",
        "unauthorized_client",
    }


# --------------------------------------------------------------------------------------------
# Registrations


def test_online_service_may_call_its_sak_the_ida_and_the_eid() -> None:
    """An online service's own calls: its SAK, the IDA, the eID, the collector."""
    entry = registrations(TOPOLOGY)[CONSUMER]
    assert entry.role is Role.CONSUMER
    assert entry.acts_for == CONSUMER
    assert set(entry.audiences) == {Topology.sak_id(CONSUMER), IDA, "noots-eid", COLLECTOR}


def test_online_service_sak_may_call_rdn_vs_and_every_provider_sak() -> None:
    """The consumer's SAK: RDN, VS and the SAK of each register and of the IP, acting for
    the service."""
    entry = registrations(TOPOLOGY)[Topology.sak_id(CONSUMER)]
    provider_saks = {Topology.sak_id(r.participant_id) for r in TOPOLOGY.registers}
    provider_saks.add(Topology.sak_id("noots-ip"))
    assert entry.role is Role.SAK
    assert entry.acts_for == CONSUMER
    assert set(entry.audiences) == {RDN, VS, COLLECTOR, *provider_saks}


def test_push_provider_sak_may_call_its_register_only() -> None:
    """A push-mode register's SAK delivers to its own register, to no other."""
    entry = registrations(TOPOLOGY)[Topology.sak_id(MELDEREGISTER)]
    assert entry.acts_for == MELDEREGISTER
    assert set(entry.audiences) == {MELDEREGISTER, COLLECTOR}
    assert set(registrations(TOPOLOGY)[MELDEREGISTER].audiences) == {COLLECTOR}


def test_passive_register_may_call_its_sak() -> None:
    """In passive mode the register fetches from its SAK, and the SAK calls nobody's register."""
    data = yaml.safe_load(DEFAULT_TOPOLOGY_PATH.read_text(encoding="utf-8"))
    for register in data["registers"]:
        if register["participant_id"] == MELDEREGISTER:
            register["sak"]["mode"] = "passive"
    topology = parse_topology(yaml.safe_dump(data))
    found = registrations(topology)
    assert set(found[MELDEREGISTER].audiences) == {Topology.sak_id(MELDEREGISTER), COLLECTOR}
    assert set(found[Topology.sak_id(MELDEREGISTER)].audiences) == {COLLECTOR}


def test_every_participant_may_report_to_the_collector() -> None:
    """Trace events: everybody but the dashboard itself may call the collector."""
    found = registrations(TOPOLOGY)
    assert set(found) == {p.participant_id for p in TOPOLOGY.participants()}
    for client_id, entry in found.items():
        assert (COLLECTOR in entry.audiences) == (client_id != COLLECTOR)


def test_simulator_may_call_the_dsc_and_the_eid() -> None:
    """The dashboard's pages log a test citizen in at the eID and ask the DSC."""
    entry = registrations(TOPOLOGY)[COLLECTOR]
    assert set(entry.audiences) == {"noots-dsc", "noots-eid"}


async def test_registrations_are_served(iam: httpx.AsyncClient, landscape: Landscape) -> None:
    """GET /iam/v1/registrations lists every client with role, actsFor and audiences."""
    body = (await iam.get("/iam/v1/registrations")).json()
    assert body["issuer"] == IAM
    assert body["tokenEndpoint"] == "/iam/v1/token"
    served = {entry["clientId"]: entry for entry in body["registrations"]}
    expected = registrations(landscape.topology)
    assert set(served) == set(expected)
    assert served[CONSUMER] == expected[CONSUMER].to_json()


# --------------------------------------------------------------------------------------------
# JWKS and health


async def test_jwks_holds_the_key_that_signs_the_tokens(
    iam: httpx.AsyncClient, landscape: Landscape
) -> None:
    """A token verifies with the JWK published at /iam/v1/jwks."""
    (key,) = (await iam.get("/iam/v1/jwks")).json()["keys"]
    token = (await _ask(iam, landscape, CONSUMER, IDA)).json()["access_token"]
    header = jwt.get_unverified_header(token)
    assert key["alg"] == header["alg"]
    claims = jwt.decode(
        token,
        jwt.PyJWK(key),
        algorithms=[header["alg"]],
        audience=IDA,
        options={"verify_exp": False, "verify_iat": False},  # the test clock is not the wall's
    )
    assert claims["iss"] == IAM


async def test_health_reports_the_iam(iam: httpx.AsyncClient) -> None:
    """/health lists the iam component and is healthy when it started."""
    answer = await iam.get("/health")
    assert answer.status_code == 200
    assert "iam" in answer.json()["components"]


def test_an_iam_needs_an_iam_certificate(landscape: Landscape) -> None:
    """The service refuses to start with a credential that is not the IAM's."""
    with pytest.raises(ValueError, match="no IAM certificate"):
        IamService(
            load_credential(landscape.data_dir / "pki", CONSUMER),
            load_validator(landscape.data_dir / "pki", clock=landscape.clock),
            landscape.topology,
            ReplayGuard(landscape.clock),
            clock=landscape.clock,
        )


def test_token_lifetime_is_validated() -> None:
    """A lifetime below 10 s or above a day is refused at start."""
    from noots.intermediary.settings import PlatformSettings

    for seconds in (1, 100_000):
        with pytest.raises(ValueError, match="iam_token_lifetime_seconds"):
            PlatformSettings(iam_token_lifetime_seconds=seconds)
    assert PlatformSettings().iam_token_lifetime_seconds == 300


def test_the_ip_may_call_its_own_sak_only() -> None:
    """The Intermediäre Plattform (role platform) calls its own SAK and the collector."""
    entry = registrations(TOPOLOGY)["noots-ip"]
    assert entry.role is Role.PLATFORM
    assert set(entry.audiences) == {Topology.sak_id("noots-ip"), COLLECTOR}


def test_the_ip_sak_works_both_sides() -> None:
    """The IP's SAK asks RDN and VS, sends 0301 to every register's SAK and pushes the online
    services' orders to the IP; it calls no online service's SAK."""
    entry = registrations(TOPOLOGY)[Topology.sak_id("noots-ip")]
    register_saks = {Topology.sak_id(r.participant_id) for r in TOPOLOGY.registers}
    assert entry.acts_for == "noots-ip"
    assert set(entry.audiences) == {RDN, VS, COLLECTOR, "noots-ip", *register_saks}
