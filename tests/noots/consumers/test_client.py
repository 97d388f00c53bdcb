"""The client library against a scripted SAK consumer API: one test (or more) per DC condition."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from noots import messages, tokens
from noots.consumers import (
    AsyncClient,
    Client,
    Endpoints,
    EvidenceResult,
    ExchangeContext,
    PendingEvidence,
    PersonQuery,
    RetryPolicy,
    TransportFailed,
    UnlistedCodeError,
    explain,
)
from noots.errors import (
    AuthorisationRefused,
    EdmCode,
    EvidencePending,
    InvalidIdnr,
    MalformedMessage,
    NootsError,
    NotFound,
    QueryError,
    ResponseBindingError,
    SenderMismatch,
    UnresolvedReference,
    UpstreamTimeout,
    error_for_code,
)
from noots.protocol import ProtocolLog, open_protocol_log
from noots.testing.pki import TestPki
from noots.topology import Topology, load_topology
from noots.xml import parse
from tests.noots.consumers.fake_sak import (
    CONSUMER,
    IDNR,
    PROVIDER,
    REGION,
    SAK,
    UNLISTED,
    VS,
    FakeSak,
    Sleeps,
    StaticTokens,
    header_text,
    make_client,
    make_pki,
    make_sak,
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
def sak(pki: TestPki, topology: Topology) -> FakeSak:
    """A fresh scripted SAK (own counters and script) on the module's PKI."""
    return make_sak(pki, topology)


@pytest.fixture
def protocol(tmp_path: Path, sak: FakeSak) -> Iterator[ProtocolLog]:
    log = open_protocol_log(tmp_path / "consumer.db", party=CONSUMER, clock=sak.clock)
    yield log
    log.close()


async def fetch(client: AsyncClient, **overrides: object) -> EvidenceResult:
    return await client.fetch_evidence("Meldebescheinigung", **{**ASK, **overrides})  # type: ignore[arg-type]


# -- DC-01: a valid 0101 for the route the SAK named ------------------------------------------


async def test_dc01_request_is_valid_xnachweis_for_the_route(
    sak: FakeSak, xnachweis_check: Callable[[bytes], list[str]]
) -> None:
    """DC-01: the 0101 validates against XNachweis 1.2.0 and names the route's provider."""
    async with make_client(sak) as client:
        result = await fetch(client)
    (submitted,) = sak.submissions
    assert sak.routes == 1
    assert xnachweis_check(submitted.raw) == []
    assert submitted.request.provider.identifier == PROVIDER
    assert submitted.request.requester.identifier == CONSUMER
    kind = sak.topology.evidence_type("Meldebescheinigung")
    assert submitted.request.evidence_type.classification == kind.classification
    assert submitted.request.evidence_type.identifier == kind.identifier
    assert result.route.provider == PROVIDER
    assert result.route.provider_area == "meldewesen"


async def test_dc01_headers_name_the_routes_service_and_the_purpose(sak: FakeSak) -> None:
    """DC-01: Noots-Service-Id is the route's, Noots-Purpose the declared purpose (UTF-8,
    percent-encoded), the body is application/xml."""
    async with make_client(sak) as client:
        await fetch(client, purpose="Prüfung der Wohnanschrift")
    (submitted,) = sak.submissions
    service = f"urn:noots:service:{PROVIDER}:Meldebescheinigung"
    assert header_text(submitted, "Noots-Service-Id") == service
    assert header_text(submitted, "Noots-Purpose") == "Prüfung der Wohnanschrift"
    assert submitted.headers["noots-purpose"].isascii()
    assert submitted.headers["content-type"] == "application/xml"


async def test_dc01_a_problem_on_the_route_is_its_typed_error(sak: FakeSak) -> None:
    """DC-01: no unique provider is the SAK's 0006 problem: UnresolvedReference, nothing sent."""
    async with make_client(sak) as client:
        with pytest.raises(UnresolvedReference) as caught:
            await fetch(client, region=None)
    assert caught.value.component == SAK
    assert (sak.authorisations, sak.submissions) == ([], [])


# -- DC-02: the online service speaks as itself to its own SAK -------------------------------


async def test_dc02_every_sak_call_carries_the_access_token_of_the_sak(sak: FakeSak) -> None:
    """DC-02: with an access-token source, route, authorisation and 0101 all carry a bearer
    token for the audience of the online service's own SAK."""
    source = StaticTokens()
    async with make_client(sak, access_tokens=source) as client:
        await fetch(client)
    assert source.audiences == [SAK, SAK, SAK]
    sak_calls = [h for h in sak.headers_seen if "authorization" in h]
    assert len(sak_calls) == 3
    assert {h["authorization"] for h in sak_calls} == {f"Bearer token-for-{SAK}"}


async def test_every_sak_call_announces_the_0101s_request_id_for_tracing(sak: FakeSak) -> None:
    """Route and authorisation precede the 0101: each SAK call names its request id in
    Noots-Trace-Id, so the SAK traces them with the exchange."""
    async with make_client(sak) as client:
        result = await fetch(client)
    request = messages.parse(parse(result.raw_request))
    assert isinstance(request, messages.EvidenceRequest)
    assert len(sak.headers_seen) == 3
    assert {h.get("noots-trace-id") for h in sak.headers_seen} == {str(request.request_id)}


# -- DC-03: authorisation for exactly this 0101; nothing sent when refused --------------------


async def test_dc03_authorisation_is_asked_for_the_exact_request(sak: FakeSak) -> None:
    """DC-03: the request hash asked for is the sent 0101's, and the token granted for it is
    carried verbatim in IssuedToken."""
    async with make_client(sak) as client:
        await fetch(client)
    (asked,) = sak.authorisations
    (submitted,) = sak.submissions
    element = parse(submitted.raw)
    assert asked["requestHash"] == tokens.request_hash(element)
    assert asked == {
        "serviceId": f"urn:noots:service:{PROVIDER}:Meldebescheinigung",
        "purpose": "Bewohnerparkausweis",
        "legalBasis": asked["legalBasis"],
        "usesIdnr": True,
        "requestHash": asked["requestHash"],
    }
    assert "BMG" in asked["legalBasis"]  # the matrix row's legal basis
    assert submitted.request.issued_token == sak.granted[0]
    token = tokens.verify_token(submitted.request.issued_token, sak.verifier(), clock=sak.clock)
    tokens.check_token_binding(
        token,
        request=submitted.request,
        request_element=element,
        consumer=CONSUMER,
        purpose="Bewohnerparkausweis",
        provider_id=PROVIDER,
    )


async def test_dc03_no_token_when_the_sak_says_none_is_needed(sak: FakeSak) -> None:
    """DC-03: an authorisation without a token (same area) leaves IssuedToken empty."""
    sak.authorise = "none"
    async with make_client(sak) as client:
        await fetch(client)
    assert sak.submissions[0].request.issued_token == ""


async def test_dc03_nothing_is_sent_when_the_vs_refuses(
    sak: FakeSak, protocol: ProtocolLog
) -> None:
    """DC-03: the VS's refusal is AuthorisationRefused; no 0101 reaches the SAK."""
    sak.authorise = "refuse"
    async with make_client(sak, log=protocol) as client:
        with pytest.raises(AuthorisationRefused) as caught:
            await fetch(client)
    assert len(sak.authorisations) == 1
    assert sak.submissions == []
    assert caught.value.component == VS
    assert [e.outcome for e in protocol.entries()] == ["refused:EDM:ERR:0002"]


async def test_dc03_another_refusal_of_the_authorisation_sends_nothing(sak: FakeSak) -> None:
    """DC-03: any other problem answered for the authorisation (here 0008) also stops it."""
    sak.authorise = "problem:EDM:ERR:0008/502"
    async with make_client(sak) as client:
        with pytest.raises(QueryError):
            await fetch(client)
    assert sak.submissions == []


# -- DC-04: only valid IDNrs leave the client ------------------------------------------------


@pytest.mark.parametrize("bad", ["02476291359", "1234567890", "0247629135a", "11111111111"])
async def test_dc04_invalid_idnr_is_refused_before_anything_is_sent(sak: FakeSak, bad: str) -> None:
    """DC-04: an IDNr that breaks a rule raises InvalidIdnr; the SAK is never asked."""
    async with make_client(sak) as client:
        with pytest.raises(InvalidIdnr):
            await fetch(client, idnr=bad)
    assert sak.calls == 0


# -- DC-05: answers that do not answer this request are used for nothing ----------------------


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("other-request-id", ResponseBindingError),
        ("other-requester", ResponseBindingError),
        ("other-person", ResponseBindingError),
        ("other-type", ResponseBindingError),
        ("other-provider", SenderMismatch),
        ("not-xml", MalformedMessage),
        ("request-echo", MalformedMessage),
    ],
)
async def test_dc05_answers_that_do_not_answer_the_request_are_refused(
    sak: FakeSak, protocol: ProtocolLog, mode: str, error: type[NootsError]
) -> None:
    """DC-05: each raises its typed error found by the client itself, is not retried, and
    leaks nothing of the answer."""
    sak.modes.append(mode)
    async with make_client(sak, log=protocol) as client:
        with pytest.raises(error) as caught:
            await fetch(client)
    exc = caught.value
    assert exc.component == CONSUMER  # found by the client's own checks
    assert len(sak.submissions) == 1  # an answer that does not fit is never retried
    assert "Geheimname" not in str(exc)
    assert not any(isinstance(v, bytes) for v in vars(exc).values())
    assert [e.outcome for e in protocol.entries()] == [f"refused:{exc.code.value}"]


# -- DC-06: every error code, unknown codes, and asynchronous availability ------------------


@pytest.mark.parametrize("code", [c for c in EdmCode if c is not EdmCode.TIMEOUT])
async def test_dc06_each_error_code_raises_its_type_naming_the_reporter(
    sak: FakeSak, code: EdmCode
) -> None:
    """DC-06: a 0103 with any EDM code raises the class of that code, from the provider."""
    sak.modes.extend([f"error:{code.value}"] * 3)
    async with make_client(sak, retry=RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(NootsError) as caught:
            await fetch(client)
    assert caught.value.code == code
    assert type(caught.value) is type(error_for_code(code.value, "x"))
    assert caught.value.component == PROVIDER
    assert "scripted error" in caught.value.message


async def test_dc06_a_refusal_of_the_sak_names_the_sak(sak: FakeSak) -> None:
    """DC-06: a 0103 the SAK reports itself (here 0002: no token bound) names the SAK."""
    sak.modes.append("sak-error:EDM:ERR:0002")
    async with make_client(sak) as client:
        with pytest.raises(NootsError) as caught:
            await fetch(client)
    assert caught.value.code == EdmCode.AUTHORISATION
    assert caught.value.component == SAK


async def test_dc06_an_unlisted_code_is_accepted_and_raised_by_name(
    sak: FakeSak, protocol: ProtocolLog
) -> None:
    """DC-06: a code outside EDM:ERR:0001…0008 is read (not malformed), raised as
    UnlistedCodeError naming it and the provider, never retried, and shown by explain."""
    sak.modes.extend(["unlisted", "ok"])
    async with make_client(sak, log=protocol) as client:
        with pytest.raises(UnlistedCodeError) as caught:
            await fetch(client)
    exc = caught.value
    assert exc.reported_code == UNLISTED
    assert exc.component == PROVIDER
    assert UNLISTED in exc.message
    assert "register rule 17" in exc.message
    assert len(sak.submissions) == 1
    explained = explain(exc, ExchangeContext(CONSUMER, "Meldebescheinigung", "x"))
    assert explained.code == UNLISTED
    assert UNLISTED in explained.cause
    assert UNLISTED in explain(exc, ExchangeContext(CONSUMER, "M", "x"), language="de").cause
    # The protocol log knows EDM codes only: the EDM fallback of the refusal is logged.
    assert [e.outcome for e in protocol.entries()] == ["refused:EDM:ERR:0008"]


async def test_dc06_a_problem_for_the_0101_is_its_typed_error(sak: FakeSak) -> None:
    """DC-06: a JSON problem instead of a 0103 (the SAK could not take the 0101) becomes the
    typed error of its code, naming the SAK."""
    sak.modes.append("problem:EDM:ERR:0003/400")
    async with make_client(sak) as client:
        with pytest.raises(NootsError) as caught:
            await fetch(client)
    assert caught.value.code == EdmCode.INVALID_REQUEST
    assert caught.value.component == SAK


async def test_dc06_pending_answer_is_collected_at_the_announced_time(
    sak: FakeSak, protocol: ProtocolLog
) -> None:
    """DC-06: ResponseAvailableDateTime → wait until then, submit the same 0101 again (same
    bytes, same token: no second authorisation), get the data."""
    sak.modes.extend(["pending:40", "ok"])
    sleeps = Sleeps(sak.clock)
    async with make_client(sak, log=protocol, sleeps=sleeps) as client:
        result = await fetch(client)
    assert sleeps.delays == [pytest.approx(40, abs=0.01)]
    first, second = sak.submissions
    assert first.raw == second.raw
    assert first.request.request_id == second.request.request_id
    assert first.request.message_uuid == second.request.message_uuid
    assert len(sak.authorisations) == 1
    assert result.attempts == 2
    assert list(result.envelope_ids) == [first.envelope_id, second.envelope_id]
    assert [e.outcome for e in protocol.entries()] == ["pending", "delivered"]


async def test_dc06_pending_with_expiring_token_renews_the_authorisation(sak: FakeSak) -> None:
    """DC-06: collecting after the token expired asks the SAK again for the same request hash;
    the 0101 keeps its ids and carries the new token."""
    sak.token_lifetime = timedelta(seconds=30)
    sak.modes.extend(["pending:120", "ok"])
    async with make_client(sak) as client:
        await fetch(client)
    first_hash, second_hash = (a["requestHash"] for a in sak.authorisations)
    assert first_hash == second_hash
    first, second = sak.submissions
    assert first.request.issued_token != second.request.issued_token
    assert second.request.issued_token == sak.granted[1]
    assert first.request.request_id == second.request.request_id
    assert tokens.request_hash(parse(second.raw)) == first_hash


async def test_dc06_pending_beyond_the_wait_bound_times_out(sak: FakeSak) -> None:
    """DC-06: an announcement later than max_pending_wait raises UpstreamTimeout, no waiting."""
    sak.modes.append("pending:3600")
    sleeps = Sleeps(sak.clock)
    retry = RetryPolicy(max_pending_wait=timedelta(minutes=2))
    async with make_client(sak, retry=retry, sleeps=sleeps) as client:
        with pytest.raises(UpstreamTimeout):
            await fetch(client)
    assert sleeps.delays == []
    assert len(sak.submissions) == 1


async def test_dc06_repeated_pending_stops_after_max_collections(sak: FakeSak) -> None:
    """DC-06: a provider that keeps postponing is given up after max_collections collections."""
    sak.modes.extend(["pending:1"] * 10)
    retry = RetryPolicy(max_collections=3)
    async with make_client(sak, retry=retry) as client:
        with pytest.raises(UpstreamTimeout):
            await fetch(client)
    assert len(sak.submissions) == 4


async def test_dc06_each_wait_for_a_pending_answer_is_announced(sak: FakeSak) -> None:
    """on_pending hears of every announcement the client waits for: request id, provider,
    announced time and how long it waits (a progress display shows them)."""
    sak.modes.extend(["pending:40", "pending:5", "ok"])
    heard: list[PendingEvidence] = []
    async with make_client(sak, on_pending=heard.append) as client:
        result = await fetch(client)
    assert [round(p.wait_seconds) for p in heard] == [40, 5]
    assert {p.request_id for p in heard} == {result.request_id}
    assert {p.provider for p in heard} == {PROVIDER}
    assert heard[0].evidence_type == "Meldebescheinigung"


async def test_dc06_not_waiting_raises_evidence_pending_with_the_request(sak: FakeSak) -> None:
    """max_collections=0: the announcement is EvidencePending (an UpstreamTimeout) carrying the
    announced time and the 0101's request id; nothing is collected, nobody is told of a wait."""
    sak.modes.append("pending:40")
    heard: list[PendingEvidence] = []
    retry = RetryPolicy(max_collections=0)
    async with make_client(sak, retry=retry, on_pending=heard.append) as client:
        with pytest.raises(EvidencePending) as caught:
            await fetch(client)
    (submitted,) = sak.submissions
    assert caught.value.request_id == submitted.request.request_id
    assert caught.value.available_at == sak.clock.now() + timedelta(seconds=40)
    assert caught.value.component == PROVIDER
    assert isinstance(caught.value, UpstreamTimeout)
    assert heard == []
    assert "not collected (RetryPolicy.max_collections)" in caught.value.message


# -- DC-08: bounded retries that keep the XNachweis ids --------------------------------------


async def test_dc08_retries_keep_the_0101_and_its_ids(sak: FakeSak) -> None:
    """DC-08: a gateway page (no answer) and a 0005 are retried; the third attempt succeeds
    with the same 0101 bytes; the SAK's envelope ids are fresh and kept in the result."""
    sak.modes.extend(["http-502", "error:EDM:ERR:0005", "ok"])
    sleeps = Sleeps(sak.clock)
    retry = RetryPolicy(max_attempts=3, base_delay=0.5, jitter=0.0)
    async with make_client(sak, retry=retry, sleeps=sleeps) as client:
        result = await fetch(client)
    assert len({s.raw for s in sak.submissions}) == 1
    assert len({s.request.message_uuid for s in sak.submissions}) == 1
    assert len(sak.authorisations) == 1
    assert sleeps.delays == [0.5, 1.0]
    assert result.attempts == 3
    # The gateway page named no envelope: the ids are those the SAK reported.
    assert list(result.envelope_ids) == [s.envelope_id for s in sak.submissions[1:]]


async def test_dc08_a_gateway_query_error_is_retried(sak: FakeSak) -> None:
    """DC-08: a 0008 the SAK answers with 502 (a component behind it failed) is retried."""
    sak.modes.extend(["error:EDM:ERR:0008", "ok"])
    async with make_client(sak) as client:
        await fetch(client)
    assert len(sak.submissions) == 2


async def test_dc08_connection_failures_stop_after_the_bound(sak: FakeSak) -> None:
    """DC-08: no connection is retried max_attempts times in all, then TransportFailed."""
    sak.transport_failures = 10
    sleeps = Sleeps(sak.clock)
    async with make_client(sak, retry=RetryPolicy(max_attempts=4), sleeps=sleeps) as client:
        with pytest.raises(TransportFailed) as caught:
            await fetch(client)
    assert sak.transport_failures == 6  # exactly four attempts were made
    assert len(sleeps.delays) == 3
    assert caught.value.component == SAK


@pytest.mark.parametrize(
    "mode", ["sak-error:EDM:ERR:0008/500", "error:EDM:ERR:0004", "unlisted", "other-person"]
)
async def test_dc08_final_answers_are_not_retried(sak: FakeSak, mode: str) -> None:
    """DC-08: a 0008 answered with 500, a refusal, an unlisted code and an answer that failed
    the client's checks are final: one submission."""
    sak.modes.extend([mode, "ok"])
    async with make_client(sak) as client:
        with pytest.raises(NootsError):
            await fetch(client)
    assert len(sak.submissions) == 1


# -- DC-09: every transfer is logged ---------------------------------------------------------


async def test_dc09_delivered_transfer_is_logged(sak: FakeSak, protocol: ProtocolLog) -> None:
    """DC-09: a delivery is logged once with consumer, provider, type, purpose, IDNr, request id."""
    async with make_client(sak, log=protocol) as client:
        result = await fetch(client)
    (entry,) = protocol.entries(idnr=IDNR)
    assert entry.party == CONSUMER
    assert (entry.consumer, entry.provider) == (CONSUMER, PROVIDER)
    assert (entry.evidence_type, entry.purpose) == ("Meldebescheinigung", "Bewohnerparkausweis")
    assert entry.message_id == f"urn:uuid:{result.request_id}"
    assert entry.outcome == "delivered"
    assert protocol.verify() == 1


async def test_dc09_ida_lookups_are_logged_as_transfers(
    sak: FakeSak, protocol: ProtocolLog
) -> None:
    """DC-09: an IDNr received from the IDA is logged, and so is a refused look-up."""
    async with make_client(sak, log=protocol) as client:
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
    assert sak.ida_requests == 2
    assert len(sak.submissions) == 1  # nothing sent for the unknown person


# -- the result ------------------------------------------------------------------------------


async def test_result_keeps_the_exact_bytes_of_request_and_answer(sak: FakeSak) -> None:
    """raw_request is the 0101 handed to the SAK, raw_response the 0102 received; both parse
    back to the request and its answer."""
    async with make_client(sak) as client:
        result = await fetch(client)
    assert result.raw_request == sak.submissions[0].raw
    answer = messages.parse(parse(result.raw_response))
    assert isinstance(answer, messages.EvidenceResponse)
    assert answer.request_id == result.request_id
    assert result.response_envelope_id is not None
    assert [r.value for r in result.rows()] == [IDNR, "Geheimname"]
    data = result.to_json(include_raw=True)
    assert base64.b64decode(data["raw_response"]) == result.raw_response
    assert data["envelope_ids"] == [str(sak.submissions[0].envelope_id)]


def test_sync_client_shares_the_async_implementation(sak: FakeSak) -> None:
    """Client (sync) returns the same checked result through its private event loop."""
    async_client = make_client(sak)
    client = Client(
        async_client.participant,
        Endpoints("http://platform.test", "http://ida.test", "http://sak.test"),
        sak.topology,
        transport=async_client._http._transport,
        access_tokens=False,  # the fake SAK has no IAM
    )
    with client:
        result = client.fetch_evidence("Meldebescheinigung", **ASK)
    assert result.provider == PROVIDER
    assert len(sak.submissions) == 1


def test_without_a_sak_url_the_topology_names_the_consumers_sak(topology: Topology) -> None:
    """Endpoints without a SAK URL lead to the topology's SAK of the online service (HTTPS when
    the platform is)."""
    plain = Endpoints.from_topology(topology)
    tls = Endpoints.from_topology(topology, tls=True)
    sak_id = topology.sak_id(CONSUMER)
    assert plain.sak_for(topology, CONSUMER) == topology.base_url(sak_id)
    assert tls.sak_for(topology, CONSUMER) == topology.base_url(sak_id, tls=True)
    named = Endpoints.from_topology(topology, tls=True, consumer=CONSUMER)
    assert named.sak == topology.base_url(sak_id, tls=True)
