"""The client library against a scripted platform: one test (or more) per DC condition."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from consumers import (
    AsyncClient,
    Client,
    Endpoints,
    EvidenceResult,
    PersonQuery,
    RetryPolicy,
    TransportFailed,
)
from noots import tokens
from noots.envelope import open_envelope
from noots.errors import (
    AuthenticationError,
    AuthorisationRefused,
    EdmCode,
    InvalidIdnr,
    NootsError,
    NotFound,
    QueryError,
    ResponseBindingError,
    SenderMismatch,
    SignatureError,
    UpstreamTimeout,
    error_for_code,
)
from noots.pki import Role
from noots.protocol import ProtocolLog, open_protocol_log
from noots.testing.pki import TestPki
from noots.topology import Topology, load_topology
from tests.consumers.fake_platform import (
    CONSUMER,
    IDNR,
    PROVIDER,
    REGION,
    FakePlatform,
    Sleeps,
    issued_token_of,
    make_client,
    make_pki,
    make_platform,
)

ERIKA = PersonQuery("Erika", "Mustermann", date(1964, 8, 12))
ASK = {
    "idnr": IDNR,
    "person": ERIKA,
    "region": REGION,
    "purpose": "Bewohnerparkausweis",
}


@pytest.fixture(scope="module")
def pki() -> Iterator[TestPki]:
    pki = make_pki()
    yield pki
    pki.close()


@pytest.fixture(scope="module")
def topology() -> Topology:
    return load_topology()


@pytest.fixture
def platform(pki: TestPki, topology: Topology) -> FakePlatform:
    """A fresh scripted platform (own counters and script) on the module's PKI."""
    return make_platform(pki, topology)


@pytest.fixture
def protocol(tmp_path: Path, platform: FakePlatform) -> Iterator[ProtocolLog]:
    log = open_protocol_log(tmp_path / "consumer.db", party=CONSUMER, clock=platform.clock)
    yield log
    log.close()


async def fetch(client: AsyncClient, **overrides: object) -> EvidenceResult:
    return await client.fetch_evidence("Meldebescheinigung", **{**ASK, **overrides})  # type: ignore[arg-type]


# -- DC-01 / DC-02: a valid 0101 with the RDN's ids, signed with the consumer's own key -------


async def test_dc01_request_is_valid_xnachweis_with_rdn_ids(
    platform: FakePlatform, xnachweis_check: Callable[[bytes], list[str]]
) -> None:
    """DC-01: the 0101 validates against XNachweis 1.2.0 and uses the RDN's provider/service id."""
    async with make_client(platform) as client:
        result = await fetch(client)
    (received,) = platform.hub_requests
    assert platform.rdn_requests == 1
    body = received.opened.body
    from noots.xml import serialize

    assert xnachweis_check(serialize(body)) == []
    assert received.request.provider.identifier == PROVIDER
    assert received.opened.header.service_id == f"urn:noots:service:{PROVIDER}:Meldebescheinigung"
    assert received.opened.header.recipient == PROVIDER
    assert received.request.requester.identifier == CONSUMER
    assert result.route.provider == PROVIDER


async def test_dc02_envelope_is_signed_with_the_consumers_own_key(platform: FakePlatform) -> None:
    """DC-02: the request envelope verifies as signed by the consumer's certificate."""
    async with make_client(platform) as client:
        await fetch(client)
    raw = platform.hub_requests[0].raw
    opened = open_envelope(raw, platform.verifier(), required_role=Role.CONSUMER)
    assert opened.signer.participant_id == CONSUMER
    assert opened.header.sender == CONSUMER
    assert opened.signer.certificate == platform.pki.credential(CONSUMER).certificate


# -- DC-03: a VS token for exactly this request; nothing sent when refused --------------------


async def test_dc03_token_binds_the_exact_request(platform: FakePlatform) -> None:
    """DC-03: the 0101 carries a VS-sealed token whose hash is the 0101's request hash."""
    async with make_client(platform) as client:
        await fetch(client)
    received = platform.hub_requests[0]
    token = tokens.verify_token(
        issued_token_of(received.raw), platform.verifier(), clock=platform.clock
    )
    tokens.check_token_binding(
        token,
        request=received.request,
        request_element=received.opened.body,
        consumer=received.opened.header.sender,
        purpose=received.opened.header.purpose,
        provider_id=PROVIDER,
    )
    assert token.purpose == "Bewohnerparkausweis"
    assert token.uses_idnr is True


async def test_dc03_nothing_is_sent_when_the_vs_refuses(
    platform: FakePlatform, protocol: ProtocolLog
) -> None:
    """DC-03: a VS refusal raises AuthorisationError and the hub receives no request at all."""
    platform.refuse_tokens = True
    async with make_client(platform, log=protocol) as client:
        with pytest.raises(AuthorisationRefused) as caught:
            await fetch(client)
    assert len(platform.vs_requests) == 1
    assert platform.hub_requests == []
    assert caught.value.component == "noots-vs"
    assert [e.outcome for e in protocol.entries()] == ["refused:EDM:ERR:0002"]


# -- DC-04: only valid IDNrs leave the client ------------------------------------------------


@pytest.mark.parametrize("bad", ["02476291359", "1234567890", "0247629135a", "11111111111"])
async def test_dc04_invalid_idnr_is_refused_before_anything_is_sent(
    platform: FakePlatform, bad: str
) -> None:
    """DC-04: an IDNr that breaks a rule raises InvalidIdnr; RDN, VS and hub see nothing."""
    async with make_client(platform) as client:
        with pytest.raises(InvalidIdnr):
            await fetch(client, idnr=bad)
    assert (platform.rdn_requests, platform.vs_requests, platform.hub_requests) == (0, [], [])


# -- DC-05: tampered, unsigned, unbound or foreign answers are refused, none of their data ---


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("tampered", SignatureError),
        ("unsigned", SignatureError),
        ("unbound", ResponseBindingError),
        ("wrong-signer", SenderMismatch),
        ("hub-signed-evidence", SenderMismatch),
        ("other-request-id", ResponseBindingError),
        ("other-person", ResponseBindingError),
    ],
)
async def test_dc05_bad_answers_are_refused_without_data(
    platform: FakePlatform, protocol: ProtocolLog, mode: str, error: type[NootsError]
) -> None:
    """DC-05: each forged answer raises its typed error, is not retried, and leaks no content."""
    platform.modes.append(mode)
    async with make_client(platform, log=protocol) as client:
        with pytest.raises(error) as caught:
            await fetch(client)
    exc = caught.value
    assert isinstance(exc, AuthenticationError)
    assert exc.component == CONSUMER  # found by the client's own checks
    assert len(platform.hub_requests) == 1  # a forged answer is never retried
    assert "Geheimname" not in str(exc)
    assert not any(isinstance(v, bytes) for v in vars(exc).values())
    assert [e.outcome for e in protocol.entries()] == ["refused:EDM:ERR:0001"]


# -- DC-06: every error code, and asynchronous availability ---------------------------------


@pytest.mark.parametrize("code", [c for c in EdmCode if c is not EdmCode.TIMEOUT])
async def test_dc06_each_provider_error_code_raises_its_type(
    platform: FakePlatform, code: EdmCode
) -> None:
    """DC-06: a signed 0103 with any EDM code raises the class of that code, from the provider."""
    platform.modes.append(f"error:{code.value}")
    async with make_client(platform) as client:
        with pytest.raises(NootsError) as caught:
            await fetch(client)
    assert caught.value.code == code
    assert type(caught.value) is type(error_for_code(code.value, "x"))
    assert caught.value.component == PROVIDER
    assert len(platform.hub_requests) == 1  # a final answer: no retry


async def test_dc06_hub_error_is_accepted_from_the_hub(platform: FakePlatform) -> None:
    """DC-06: an env:Error signed by the hub raises its code with the hub as component."""
    platform.modes.append("hub-error:EDM:ERR:0006/404")
    async with make_client(platform) as client:
        with pytest.raises(NootsError) as caught:
            await fetch(client)
    assert caught.value.code == EdmCode.UNRESOLVED_REFERENCE
    assert caught.value.component == "noots-hub"


async def test_dc06_pending_answer_is_collected_at_the_announced_time(
    platform: FakePlatform, protocol: ProtocolLog
) -> None:
    """DC-06: ResponseAvailableDateTime → wait until then, re-send the same 0101, get the data."""
    platform.modes.extend(["pending:40", "ok"])
    sleeps = Sleeps(platform.clock)
    async with make_client(platform, log=protocol, sleeps=sleeps) as client:
        result = await fetch(client)
    assert sleeps.delays == [pytest.approx(40, abs=0.01)]
    first, second = platform.hub_requests
    assert first.request.request_id == second.request.request_id
    assert first.request.message_uuid == second.request.message_uuid
    assert first.opened.header.message_id != second.opened.header.message_id
    assert result.attempts == 2
    assert [e.outcome for e in protocol.entries()] == ["pending", "delivered"]


async def test_dc06_pending_with_expired_token_fetches_a_fresh_one(platform: FakePlatform) -> None:
    """DC-06: collecting after the token expired gets a new token for the same request hash."""
    platform.token_lifetime = timedelta(seconds=30)
    platform.modes.extend(["pending:120", "ok"])
    async with make_client(platform) as client:
        await fetch(client)
    assert len(platform.vs_requests) == 2
    assert platform.vs_requests[0].request_hash == platform.vs_requests[1].request_hash
    first, second = (issued_token_of(r.raw) for r in platform.hub_requests)
    assert first != second


async def test_dc06_pending_beyond_the_wait_bound_times_out(platform: FakePlatform) -> None:
    """DC-06: an announcement later than max_pending_wait raises UpstreamTimeout, no waiting."""
    platform.modes.append("pending:3600")
    sleeps = Sleeps(platform.clock)
    retry = RetryPolicy(max_pending_wait=timedelta(minutes=2))
    async with make_client(platform, retry=retry, sleeps=sleeps) as client:
        with pytest.raises(UpstreamTimeout):
            await fetch(client)
    assert sleeps.delays == []
    assert len(platform.hub_requests) == 1


async def test_dc06_repeated_pending_stops_after_max_collections(platform: FakePlatform) -> None:
    """DC-06: a provider that keeps postponing is given up after max_collections collections."""
    platform.modes.extend(["pending:1"] * 10)
    retry = RetryPolicy(max_collections=3)
    async with make_client(platform, retry=retry) as client:
        with pytest.raises(UpstreamTimeout):
            await fetch(client)
    assert len(platform.hub_requests) == 4


# -- DC-08: bounded retries that keep the message UUID ---------------------------------------


async def test_dc08_retries_keep_xnachweis_ids_with_fresh_envelopes(platform: FakePlatform) -> None:
    """DC-08: after two failures the third attempt succeeds; ids kept, envelope ids fresh."""
    platform.modes.extend(["http-502", "hub-error:EDM:ERR:0005/504", "ok"])
    sleeps = Sleeps(platform.clock)
    retry = RetryPolicy(max_attempts=3, base_delay=0.5, jitter=0.0)
    async with make_client(platform, retry=retry, sleeps=sleeps) as client:
        result = await fetch(client)
    requests = [r.request for r in platform.hub_requests]
    assert len({r.request_id for r in requests}) == 1
    assert len({r.message_uuid for r in requests}) == 1
    envelope_ids = [r.opened.header.message_id for r in platform.hub_requests]
    assert len(set(envelope_ids)) == 3
    assert list(result.envelope_ids) == envelope_ids
    assert sleeps.delays == [0.5, 1.0]


async def test_dc08_transport_failures_stop_after_the_bound(platform: FakePlatform) -> None:
    """DC-08: connection failures are retried max_attempts times in all, then TransportFailed."""
    platform.transport_failures = 10
    sleeps = Sleeps(platform.clock)
    async with make_client(platform, retry=RetryPolicy(max_attempts=4), sleeps=sleeps) as client:
        with pytest.raises(TransportFailed):
            await fetch(client)
    assert platform.transport_failures == 6  # exactly four attempts were made
    assert len(sleeps.delays) == 3


async def test_dc08_provider_query_error_is_not_retried(platform: FakePlatform) -> None:
    """DC-08: a provider's own 0008 (HTTP 500-class answer, not a gateway) is final."""
    platform.modes.extend(["hub-error:EDM:ERR:0008/500", "ok"])
    async with make_client(platform) as client:
        with pytest.raises(QueryError):
            await fetch(client)
    assert len(platform.hub_requests) == 1


# -- DC-09: every transfer is logged ---------------------------------------------------------


async def test_dc09_delivered_transfer_is_logged(
    platform: FakePlatform, protocol: ProtocolLog
) -> None:
    """DC-09: a delivery is logged once with consumer, provider, type, purpose, IDNr, request id."""
    async with make_client(platform, log=protocol) as client:
        result = await fetch(client)
    (entry,) = protocol.entries(idnr=IDNR)
    assert entry.party == CONSUMER
    assert (entry.consumer, entry.provider) == (CONSUMER, PROVIDER)
    assert (entry.evidence_type, entry.purpose) == ("Meldebescheinigung", "Bewohnerparkausweis")
    assert entry.message_id == f"urn:uuid:{result.request_id}"
    assert entry.outcome == "delivered"
    assert protocol.verify() == 1


async def test_dc09_ida_lookups_are_logged_as_transfers(
    platform: FakePlatform, protocol: ProtocolLog
) -> None:
    """DC-09: an IDNr received from the IDA is logged, and so is a refused look-up."""
    async with make_client(platform, log=protocol) as client:
        await fetch(client, idnr=None)
        with pytest.raises(NotFound):
            await fetch(client, idnr=None, person=PersonQuery("Nils", "Niemand", date(1990, 1, 1)))
    entries = protocol.entries()
    ida_entries = [e for e in entries if e.provider == "noots-ida"]
    assert [(e.evidence_type, e.idnr, e.outcome) for e in ida_entries] == [
        ("IDNr", IDNR, "delivered"),
        ("IDNr", None, "refused:EDM:ERR:0004"),
    ]
    assert [e.outcome for e in entries if e.provider == PROVIDER] == ["delivered"]
    assert platform.ida_requests == 2
    assert len(platform.hub_requests) == 1  # nothing sent for the unknown person


# -- the result ------------------------------------------------------------------------------


async def test_result_keeps_verifiable_signed_bytes(platform: FakePlatform) -> None:
    """The result's raw_response verifies again later and is bound to raw_request."""
    from noots.envelope import check_binding

    async with make_client(platform) as client:
        result = await fetch(client)
    opened = open_envelope(result.raw_response, platform.verifier())
    check_binding(opened, result.raw_request)
    assert [r.value for r in result.rows()] == [IDNR, "Geheimname"]
    data = result.to_json(include_raw=True)
    assert base64.b64decode(data["raw_response"]) == result.raw_response


def test_sync_client_shares_the_async_implementation(platform: FakePlatform) -> None:
    """Client (sync) returns the same verified result through its private event loop."""
    async_client = make_client(platform)
    client = Client(
        async_client.participant,
        Endpoints("http://platform", "http://ida"),
        platform.topology,
        transport=async_client._http._transport,
    )
    with client:
        result = client.fetch_evidence("Meldebescheinigung", **ASK)
    assert result.provider == PROVIDER
    assert len(platform.hub_requests) == 1
