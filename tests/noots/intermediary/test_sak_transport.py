"""The transport between SAKs, at the SAKs: what the registers and the central hub checked in the
first design, now checked by a provider's SAK for its register and by an online service's SAK
for its online service (in process, real signatures, the real registers behind their SAKs).

The test plays the online service's SAK towards the KBA's SAK (``POST /transport/v1/messages``
with an IAM access token of the sending SAK), or the online service towards its own SAK (the
consumer API) where the consumer side is what is tested. Covered here: the signature and the
sender (DP-02), certificates (DP-03), signed answers bound to the request (DP-09), replay and
freshness also across a restart (DP-10), signature wrapping and hostile bodies (DP-11), the
addressing between SAKs, the register's wait and answers, the per-provider limits of an
online service's SAK, and the faults of a signed answer.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import re
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from cryptography import x509
from lxml import etree

from noots import messages, tokens
from noots.envelope import (
    ENV_NS,
    EnvelopeHeader,
    OpenedEnvelope,
    open_envelope,
    parse_error_body,
    request_digest,
    seal,
)
from noots.errors import EdmCode
from noots.faults import Fault, FaultPlan
from noots.intermediary.app import create_app as create_platform
from noots.intermediary.sak import create_app as create_sak
from noots.intermediary.sak._settings import SakSettings
from noots.participant import Participant, load_validator
from noots.pki import CertificateAuthority, Role, participant_id_of
from noots.sak import AUTHORISATIONS_PATH, CONSUMER_REQUESTS_PATH, ROUTES_PATH, TRANSPORT_PATH
from noots.signing import XmlSigner, XmlVerifier
from noots.testing.asgi import RoutingTransport
from noots.testing.iam import landscape_token
from noots.testing.pki import TestPki
from tests.noots.intermediary.support import (
    CONSUMER,
    ERIKA,
    GEWERBE,
    KBA,
    LENA,
    MELDEREGISTER,
    Consumer,
    Gate,
    Landscape,
    Tap,
    register_app,
)

PURPOSE = "Bewohnerparkausweis"
ADMIN = {"Authorization": "Bearer admin-secret"}
BPA_SAK = f"{CONSUMER}.sak"
KBA_SAK = f"{KBA}.sak"


@dataclass
class Wired:
    """The platform (RDN, IAM, VS, PKI), registers behind taps and the SAKs, in process."""

    landscape: Landscape
    routes: RoutingTransport
    http: httpx.AsyncClient
    registers: dict[str, Any]
    gates: dict[str, Gate]
    taps: dict[str, Tap]
    saks: dict[str, Any]

    @property
    def pki_dir(self) -> Any:
        return self.landscape.data_dir / "pki"

    def url(self, participant: str) -> str:
        return self.landscape.topology.base_url(participant)

    def token(self, client: str, audience: str) -> str:
        return landscape_token(self.pki_dir, client, audience, clock=self.landscape.clock)

    def sak(self, participant_id: str = BPA_SAK) -> Participant:
        return self.landscape.participant(participant_id)

    @property
    def verifier(self) -> XmlVerifier:
        """A verifier of the landscape (trust anchor, CRL, the test's clock)."""
        return XmlVerifier(load_validator(self.pki_dir, clock=self.landscape.clock))

    def request(
        self, provider: str = KBA, evidence_type: str = "Fahrzeughalterauskunft", **options: Any
    ) -> messages.EvidenceRequest:
        return Consumer(self.landscape).request(provider, evidence_type, **options)

    def envelope(
        self,
        body: etree._Element | messages.EvidenceRequest | None = None,
        *,
        signer: XmlSigner | None = None,
        **changes: Any,
    ) -> bytes:
        """A request envelope as the online service's SAK sends it to the KBA's SAK (a fresh
        0101 unless ``body``); ``changes`` replace header fields."""
        body = body if body is not None else self.request()
        if isinstance(body, messages.EvidenceRequest):
            body = messages.build(body)
        values: dict[str, Any] = {
            "message_id": uuid.uuid4(),
            "sender": BPA_SAK,
            "on_behalf_of": CONSUMER,
            "recipient": KBA_SAK,
            "service_id": self.landscape.topology.service_id(KBA, "Fahrzeughalterauskunft"),
            "created": self.landscape.clock.now(),
            "purpose": PURPOSE,
        }
        values.update(changes)
        return seal(EnvelopeHeader(**values), body, signer or self.sak().signer)

    async def send(
        self, raw: bytes, *, token: str | None = None, anonymous: bool = False
    ) -> httpx.Response:
        """POST an envelope to the KBA's SAK as the online service's SAK (its token)."""
        headers = {"Content-Type": "application/xml"}
        if not anonymous:
            headers["Authorization"] = f"Bearer {token or self.token(BPA_SAK, KBA_SAK)}"
        return await self.http.post(
            self.url(KBA_SAK) + TRANSPORT_PATH, content=raw, headers=headers
        )

    def answer(self, response: httpx.Response, raw: bytes) -> tuple[OpenedEnvelope, Any]:
        """The KBA's SAK's answer, verified: its signature, on behalf of the KBA, addressed
        back, bound to the exact request bytes; the body (0102/0103, or None for env:Error)."""
        opened = open_envelope(response.content, self.verifier, required_role=Role.SAK)
        assert opened.signer.participant_id == KBA_SAK
        assert opened.header.on_behalf_of == KBA
        assert opened.header.in_response_to == request_digest(raw)
        if opened.body.tag == f"{{{ENV_NS}}}Error":
            return opened, None
        return opened, messages.parse(opened.body)


def code_of(opened: OpenedEnvelope, parsed: Any) -> tuple[EdmCode, str, str]:
    """(code, detail, who reported it) of an env:Error or a 0103."""
    if parsed is None:
        code, detail, component = parse_error_body(opened.body)
        return code, detail, component
    assert isinstance(parsed, messages.EvidenceErrorResponse), parsed
    return parsed.errors[0].code, parsed.errors[0].detail or "", parsed.error_provider.identifier


@contextlib.asynccontextmanager
async def wired(
    landscape: Landscape,
    *,
    providers: tuple[str, ...] = (KBA,),
    consumers: tuple[str, ...] = (CONSUMER,),
    sak_settings: dict[str, dict[str, Any]] | None = None,
) -> AsyncIterator[Wired]:
    """The platform, the real registers ``providers`` (each behind a tap, with a gate as its
    ``sleep``) and the SAKs of ``providers`` and ``consumers``, wired through ASGI."""
    routes = RoutingTransport()
    topology, clock = landscape.topology, landscape.clock
    platform = create_platform(
        landscape.settings(),
        components=("rdn", "pki", "iam", "vs"),
        clock=clock,
        topology=topology,
    )
    apps: list[Any] = [platform]
    saks: dict[str, Any] = {}
    routes.add(landscape.host_port("platform"), httpx.ASGITransport(app=platform))
    gates = {pid: Gate() for pid in providers}
    registers = {pid: register_app(landscape, pid, gates[pid]) for pid in providers}
    taps = {pid: Tap(httpx.ASGITransport(app=app)) for pid, app in registers.items()}
    for pid in providers:
        routes.add(landscape.host_port(pid), taps[pid])
        apps.append(registers[pid])
    for pid in (*providers, *consumers):
        settings = SakSettings(
            data_dir=landscape.data_dir,
            participant_id=pid,
            admin_token="admin-secret",
            **(sak_settings or {}).get(pid, {}),
        )
        sak = create_sak(settings, transport=routes, clock=clock, topology=topology)
        saks[topology.sak_id(pid)] = sak
        routes.add(landscape.host_port(topology.sak_id(pid)), httpx.ASGITransport(app=sak))
        apps.append(sak)
    async with contextlib.AsyncExitStack() as stack:
        for app in apps:
            await stack.enter_async_context(app.router.lifespan_context(app))
        http = await stack.enter_async_context(httpx.AsyncClient(transport=routes, timeout=60))
        try:
            yield Wired(landscape, routes, http, registers, gates, taps, saks)
        finally:
            for gate in gates.values():
                gate.opened.set()


def register_log(w: Wired, provider: str = KBA) -> list[str]:
    return [e.outcome for e in w.registers[provider].state.register.protocol_log.entries()]


# -- the request envelope and its sender ---------------------------------------------------------


async def test_a_valid_envelope_reaches_the_register_as_a_bare_0101_and_comes_back_signed(
    landscape: Landscape,
) -> None:
    """The 0101 reaches the register bare, as signed; the answer is the register's 0102,
    signed by its SAK on its behalf and bound to the request bytes; the register logged it."""
    async with wired(landscape) as w:
        request = w.request()
        raw = w.envelope(request)
        response = await w.send(raw)
        assert response.status_code == 200, response.text
        _opened, answer = w.answer(response, raw)
        assert isinstance(answer, messages.EvidenceResponse)
        assert answer.request_id == request.request_id
        assert answer.evidence is not None
        [delivered] = w.taps[KBA].received
        assert messages.parse(etree.fromstring(delivered)) == request
        assert register_log(w) == ["delivered"]


async def test_every_answer_is_signed_by_the_sak_and_bound_to_the_bytes_received(
    landscape: Landscape,
) -> None:
    """DP-09 at the SAK: a delivery, a refusal of the register, and garbage all get an answer
    signed by the KBA's SAK whose InResponseTo is the SHA-256 of exactly what was posted."""
    async with wired(landscape) as w:
        unknown = w.request(person=("65929970489", "Niemand", "Nils", ERIKA[3]))
        for raw in (w.envelope(), w.envelope(unknown), b"this is not XML", b""):
            opened, _ = w.answer(await w.send(raw), raw)
            assert opened.header.sender == KBA_SAK


async def test_an_unsigned_envelope_is_refused_and_nothing_is_delivered(
    landscape: Landscape,
) -> None:
    """DP-02: no signature → a signed env:Error 0001 bound to the bytes; the register sees
    nothing."""
    async with wired(landscape) as w:
        signed = w.envelope()
        start = signed.index(b"<ds:Signature")
        raw = signed[:start] + signed[signed.index(b"</ds:Signature>") + 15 :]
        response = await w.send(raw)
        assert response.status_code == 401
        code, _detail, component = code_of(*w.answer(response, raw))
        assert (code, component) == (EdmCode.AUTHENTICATION, KBA_SAK)
        assert w.taps[KBA].received == []


async def test_a_tampered_envelope_is_refused(landscape: Landscape) -> None:
    """DP-02: a byte of the 0101 changed after signing (the family name) → 0001."""
    async with wired(landscape) as w:
        raw = w.envelope().replace(b"Mustermann", b"Musterfrau", 1)
        code, _detail, _ = code_of(*w.answer(await w.send(raw), raw))
        assert code is EdmCode.AUTHENTICATION
        assert w.taps[KBA].received == []


async def test_an_envelope_signed_by_an_online_service_itself_is_refused(
    landscape: Landscape,
) -> None:
    """DP-02: only a SAK sends to a SAK: an envelope signed with the online service's own
    certificate (role consumer) → 0001."""
    async with wired(landscape) as w:
        online_service = w.landscape.participant(CONSUMER)
        raw = w.envelope(signer=online_service.signer, sender=CONSUMER)
        code, detail, _ = code_of(*w.answer(await w.send(raw), raw))
        assert code is EdmCode.AUTHENTICATION
        assert "role" in detail
        assert w.taps[KBA].received == []


async def test_the_sender_must_be_the_certificates_participant(landscape: Landscape) -> None:
    """An envelope whose Sender names another SAK than its signer → 0001."""
    async with wired(landscape) as w:
        raw = w.envelope(signer=w.sak(f"{GEWERBE}.sak").signer)
        code, _detail, _ = code_of(*w.answer(await w.send(raw), raw))
        assert code is EdmCode.AUTHENTICATION
        assert w.taps[KBA].received == []


async def test_on_behalf_of_must_be_the_senders_own_participant(landscape: Landscape) -> None:
    """An envelope of the Bewohnerparkausweis service's SAK claiming to act for the
    Gewerbeamt → 0001 naming whose SAK the sender is."""
    async with wired(landscape) as w:
        raw = w.envelope(on_behalf_of=GEWERBE)
        code, detail, _ = code_of(*w.answer(await w.send(raw), raw))
        assert code is EdmCode.AUTHENTICATION
        assert f"the SAK of {CONSUMER}" in detail
        assert w.taps[KBA].received == []


async def test_a_token_issued_to_another_sak_than_the_signer_is_refused(
    landscape: Landscape,
) -> None:
    """The Gewerbeamt's SAK's access token with an envelope signed by the Bewohnerparkausweis
    service's SAK → 0001: the caller and the signer must be the same SAK."""
    async with wired(landscape) as w:
        raw = w.envelope()
        response = await w.send(raw, token=w.token(f"{GEWERBE}.sak", KBA_SAK))
        code, detail, _ = code_of(*w.answer(response, raw))
        assert code is EdmCode.AUTHENTICATION
        assert f"{GEWERBE}.sak" in detail
        assert w.taps[KBA].received == []


async def test_an_envelope_without_a_token_is_refused(landscape: Landscape) -> None:
    """No access token: 401, a signed env:Error 0001; nothing delivered."""
    async with wired(landscape) as w:
        raw = w.envelope()
        response = await w.send(raw, anonymous=True)
        assert response.status_code == 401
        assert code_of(*w.answer(response, raw))[0] is EdmCode.AUTHENTICATION
        assert w.taps[KBA].received == []


async def test_a_0101_of_another_requester_is_refused(landscape: Landscape) -> None:
    """A 0101 in the Gewerbeamt's name sent for the Bewohnerparkausweis service → a 0103
    of the SAK with 0001."""
    async with wired(landscape) as w:
        raw = w.envelope(w.request(requester=GEWERBE))
        response = await w.send(raw)
        assert response.status_code == 401
        code, detail, component = code_of(*w.answer(response, raw))
        assert (code, component) == (EdmCode.AUTHENTICATION, KBA_SAK)
        assert "requester" in detail
        assert w.taps[KBA].received == []


async def test_an_envelope_for_another_sak_is_refused(landscape: Landscape) -> None:
    """Recipient names another SAK than the one it reached → 0003, nothing delivered."""
    async with wired(landscape) as w:
        raw = w.envelope(recipient=f"{MELDEREGISTER}.sak")
        code, _detail, _ = code_of(*w.answer(await w.send(raw), raw))
        assert code is EdmCode.INVALID_REQUEST
        assert w.taps[KBA].received == []


async def test_an_unknown_service_id_is_0006_listing_the_services(landscape: Landscape) -> None:
    """A service id the KBA does not offer → 0006 naming its services."""
    async with wired(landscape) as w:
        raw = w.envelope(service_id=f"urn:noots:service:{KBA}:Reisepass")
        response = await w.send(raw)
        assert response.status_code == 404
        code, detail, _ = code_of(*w.answer(response, raw))
        assert code is EdmCode.UNRESOLVED_REFERENCE
        assert f"urn:noots:service:{KBA}:Fahrzeughalterauskunft" in detail
        assert w.taps[KBA].received == []


# -- certificates (DP-03) ------------------------------------------------------------------------


def _scratch_signer(w: Wired, **validity: Any) -> XmlSigner:
    """A second certificate of the online service's SAK (its first one stays valid, so the
    access token stays good): only the envelope's certificate is wrong."""
    authority = CertificateAuthority.open(w.pki_dir, clock=w.landscape.clock)
    return XmlSigner(authority.issue(BPA_SAK, Role.SAK, replace=False, **validity))


@pytest.mark.parametrize(
    ("case", "phrase"),
    [
        ("expired", "expired"),
        ("not yet valid", "not valid before"),
        ("revoked", "revoked"),
        ("foreign CA", "trust anchor"),
    ],
)
async def test_a_sak_certificate_that_is_not_good_is_refused(
    landscape: Landscape, case: str, phrase: str
) -> None:
    """DP-03: an envelope signed with an expired, a not yet valid, a revoked certificate of
    the sending SAK, or one of another CA in its name → 0001, nothing delivered."""
    async with wired(landscape) as w:
        token = w.token(BPA_SAK, KBA_SAK)
        now = w.landscape.clock.now()
        if case == "expired":
            signer = _scratch_signer(
                w, validity=timedelta(hours=1), not_before=now - timedelta(hours=2)
            )
        elif case == "not yet valid":
            signer = _scratch_signer(w, not_before=now + timedelta(days=1))
        elif case == "revoked":
            signer = _scratch_signer(w)
            authority = CertificateAuthority.open(w.pki_dir, clock=w.landscape.clock)
            authority.revoke(BPA_SAK)  # every certificate of the SAK, the token's one too …
            authority.issue(BPA_SAK, Role.SAK, replace=False)  # … so a fresh one for the token
            token = w.token(BPA_SAK, KBA_SAK)
        else:
            with TestPki() as foreign:
                signer = foreign.signer(BPA_SAK, Role.SAK)
        raw = w.envelope(signer=signer)
        response = await w.send(raw, token=token)
        assert response.status_code == 401
        code, detail, _ = code_of(*w.answer(response, raw))
        assert code is EdmCode.AUTHENTICATION
        assert phrase in detail.lower()
        assert w.taps[KBA].received == []


async def test_revoking_the_sending_sak_takes_effect_at_the_next_envelope(
    landscape: Landscape,
) -> None:
    """The first envelope is delivered; after POST /admin/v1/revoke of the online service's
    SAK its next one is refused (0001, revoked), without a restart."""
    async with wired(landscape) as w:
        assert (await w.send(w.envelope())).status_code == 200
        token = w.token(BPA_SAK, KBA_SAK)
        revoked = await w.http.post(
            w.url("platform") + "/admin/v1/revoke", json={"participantId": BPA_SAK}, headers=ADMIN
        )
        assert revoked.status_code == 200
        raw = w.envelope()
        response = await w.send(raw, token=token)
        code, detail, _ = code_of(*w.answer(response, raw))
        assert code is EdmCode.AUTHENTICATION
        assert "revoked" in detail.lower()
        assert len(w.taps[KBA].received) == 1


# -- freshness and replay (DP-10) ----------------------------------------------------------------


async def test_a_replayed_envelope_is_refused_without_data(landscape: Landscape) -> None:
    """The same envelope twice: the second gets 0003 ("already received"), no evidence, and
    the register sees and logs the request once."""
    async with wired(landscape) as w:
        raw = w.envelope()
        first = await w.send(raw)
        assert first.status_code == 200
        second = await w.send(raw)
        assert second.status_code == 400
        code, detail, _ = code_of(*w.answer(second, raw))
        assert code is EdmCode.INVALID_REQUEST
        assert "already received" in detail
        assert b"RepositoryItem" not in second.content
        assert len(w.taps[KBA].received) == 1
        assert register_log(w) == ["delivered"]


@pytest.mark.parametrize("skew", [timedelta(minutes=-10), timedelta(minutes=10)])
async def test_stale_and_future_envelopes_are_refused(
    landscape: Landscape, skew: timedelta
) -> None:
    """An envelope created outside ±300 s of the SAK's clock → 0003, nothing delivered."""
    async with wired(landscape) as w:
        raw = w.envelope(created=w.landscape.clock.now() + skew)
        code, _detail, _ = code_of(*w.answer(await w.send(raw), raw))
        assert code is EdmCode.INVALID_REQUEST
        assert w.taps[KBA].received == []


async def test_the_freshness_window_is_configurable(landscape: Landscape) -> None:
    """With a 30 s window a one-minute-old envelope is already stale."""
    async with wired(landscape, sak_settings={KBA: {"replay_window_seconds": 30}}) as w:
        raw = w.envelope(created=w.landscape.clock.now() - timedelta(minutes=1))
        code, _detail, _ = code_of(*w.answer(await w.send(raw), raw))
        assert code is EdmCode.INVALID_REQUEST


async def test_a_restarted_sak_still_refuses_a_replay(landscape: Landscape) -> None:
    """An envelope the KBA's SAK accepted is refused as a replay by the SAK started anew
    on the same state directory (its replay cache is journaled)."""
    async with wired(landscape) as before:
        raw = before.envelope()
        assert (await before.send(raw)).status_code == 200
    async with wired(landscape) as after:
        response = await after.send(raw)
        code, detail, _ = code_of(*after.answer(response, raw))
        assert code is EdmCode.INVALID_REQUEST
        assert "already received" in detail
        assert after.taps[KBA].received == []
        assert (await after.send(after.envelope())).status_code == 200  # fresh ones pass


# -- hostile bodies (DP-11) ----------------------------------------------------------------------

HOSTILE = {
    "empty": b"",
    "not xml": b"\x00\xff garbage",
    "entity bomb": b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>',
    "deep": b"<a>" * 200 + b"</a>" * 200,
    "other root": b'<env:Other xmlns:env="urn:noots:transport:1"/>',
    "html": b"<html><body>hello</body></html>",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_hostile_bodies_get_a_signed_refusal_and_go_nowhere(
    landscape: Landscape, name: str
) -> None:
    """Hostile or broken bodies get a 0003 signed by the SAK (never a crash), addressed to
    nobody in particular; nothing reaches the register."""
    async with wired(landscape) as w:
        raw = HOSTILE[name]
        response = await w.send(raw)
        assert response.status_code in (400, 401)
        opened, parsed = w.answer(response, raw)
        assert opened.header.recipient == "unknown"
        assert code_of(opened, parsed)[0] in (EdmCode.INVALID_REQUEST, EdmCode.AUTHENTICATION)
        assert w.taps[KBA].received == []


async def test_an_oversize_body_is_refused_unread(landscape: Landscape) -> None:
    """A body over 5 MiB gets a signed 0003 without being parsed (bound to nothing: the SAK
    did not keep the bytes)."""
    async with wired(landscape) as w:
        response = await w.send(b"<x>" + b"a" * (5 * 1024 * 1024) + b"</x>")
        assert response.status_code == 400
        opened = open_envelope(response.content, w.verifier)
        assert opened.signer.participant_id == KBA_SAK
        assert opened.body.findtext(f"{{{ENV_NS}}}Code") == "EDM:ERR:0003"


async def test_signature_wrapping_is_refused(landscape: Landscape) -> None:
    """A signed envelope whose body is swapped for another under a wrapper → 0001 or 0003."""
    async with wired(landscape) as w:
        root = etree.fromstring(w.envelope())
        body = root.find(f"{{{ENV_NS}}}Body")
        assert body is not None
        wrapper = etree.SubElement(root, f"{{{ENV_NS}}}Wrapper")
        wrapper.append(copy.deepcopy(body))
        body[0].find(".//{*}IDNr").text = LENA[0]  # type: ignore[union-attr]
        raw = etree.tostring(root)
        code, _detail, _ = code_of(*w.answer(await w.send(raw), raw))
        assert code in (EdmCode.AUTHENTICATION, EdmCode.INVALID_REQUEST)
        assert w.taps[KBA].received == []


async def test_a_bug_below_becomes_a_signed_refusal(
    landscape: Landscape, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception outside the error tree (a library bug) is answered with a 0008 signed by
    the SAK, never an unsigned 500, and nothing is delivered."""

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("library bug")

    async with wired(landscape) as w:
        raw = w.envelope()
        monkeypatch.setattr("noots.intermediary.sak._provider.open_envelope", broken)
        response = await w.send(raw)
        assert response.status_code == 500
        code, detail, _ = code_of(*w.answer(response, raw))
        assert code is EdmCode.QUERY_ERROR
        assert "internal error in the SAK" in detail
        assert w.taps[KBA].received == []


# -- the register behind the SAK -----------------------------------------------------------------


async def test_the_registers_refusal_comes_back_in_the_saks_envelope(landscape: Landscape) -> None:
    """A 0101 that needs a VS token and carries a garbled one: the register's own 0002
    comes back, signed by its SAK, with the register as the error provider."""
    async with wired(landscape) as w:
        raw = w.envelope(w.request().with_token("bm90LWEtdG9rZW4="))
        response = await w.send(raw)
        assert response.status_code == 403
        code, _detail, component = code_of(*w.answer(response, raw))
        assert (code, component) == (EdmCode.AUTHORISATION, KBA)
        assert register_log(w) == ["refused:EDM:ERR:0002"]


async def test_a_register_that_is_down_is_0008_naming_it(landscape: Landscape) -> None:
    """Nothing listens at the register's address → 502 with 0008 naming the register."""
    async with wired(landscape) as w:
        w.routes.add(w.landscape.host_port(KBA), httpx.MockTransport(_refuse_connection))
        raw = w.envelope()
        response = await w.send(raw)
        assert response.status_code == 502
        code, detail, _ = code_of(*w.answer(response, raw))
        assert code is EdmCode.QUERY_ERROR
        assert f"failed at {KBA}" in detail
        assert "unreachable" in detail


def _refuse_connection(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


async def test_a_register_too_slow_is_0005_naming_it(landscape: Landscape) -> None:
    """A register that does not answer within its SAK's wait → 504 with 0005 naming it."""
    async with wired(landscape, sak_settings={KBA: {"provider_timeout_seconds": 0.2}}) as w:
        w.registers[KBA].state.register.faults.set(FaultPlan(latency_ms=1))
        w.gates[KBA].closed = True
        raw = w.envelope()
        response = await w.send(raw)
        assert response.status_code == 504
        code, detail, _ = code_of(*w.answer(response, raw))
        assert code is EdmCode.TIMEOUT
        assert f"failed at {KBA}" in detail


@pytest.mark.parametrize(
    ("mode", "phrase"),
    [
        (Fault.MALFORMED, "XML"),
        (Fault.DROP, "failed"),
        ("http-500", "XML"),
        ("another-request", "another request id"),
        ("a-request", "does not answer"),
    ],
)
async def test_a_bad_answer_of_the_register_is_0008_naming_it(
    landscape: Landscape, mode: Fault | str, phrase: str
) -> None:
    """Garbage, a dropped connection, an empty 500, a 0103 answering another request id, the
    0101 sent back → 502 with 0008 from the SAK naming the register and why; no evidence."""
    async with wired(landscape) as w:
        if isinstance(mode, Fault):
            w.registers[KBA].state.register.faults.set(FaultPlan.always(mode))
        else:
            w.taps[KBA].mode = mode
        raw = w.envelope()
        response = await w.send(raw)
        assert response.status_code == 502
        code, detail, component = code_of(*w.answer(response, raw))
        assert (code, component) == (EdmCode.QUERY_ERROR, KBA_SAK)
        assert f"failed at {KBA}" in detail
        assert phrase.lower() in detail.lower()


# -- faults of the signed answer at the provider's SAK ------------------------------------------


async def test_the_expired_certificate_fault_is_genuine_but_expired(landscape: Landscape) -> None:
    """expired_certificate: the answer verifies as the SAK's, from the real CA, but expired:
    the online service's SAK refuses it as expired."""
    async with wired(landscape) as w:
        plan = FaultPlan.always(Fault.EXPIRED_CERTIFICATE).model_dump(mode="json")
        switched = await w.http.put(w.url(KBA_SAK) + "/admin/v1/faults", json=plan, headers=ADMIN)
        assert switched.status_code == 200, switched.text
        raw = w.envelope()
        response = await w.send(raw)
        with pytest.raises(Exception, match="expired"):
            open_envelope(response.content, w.verifier)
        # the certificate is the SAK's own, issued by the landscape's root
        text = re.search(rb"<ds:X509Certificate>([^<]+)<", response.content)
        assert text is not None
        certificate = x509.load_der_x509_certificate(base64.b64decode(text.group(1)))
        anchor = CertificateAuthority.open(w.pki_dir, clock=w.landscape.clock).trust_anchor
        certificate.verify_directly_issued_by(anchor)
        assert participant_id_of(certificate) == KBA_SAK
        assert certificate.not_valid_after_utc < w.landscape.clock.now()


async def test_the_expired_certificate_fault_needs_the_ca(
    landscape: Landscape, tmp_path: Any
) -> None:
    """Without the CA's key in the data dir the SAK refuses the expired-certificate fault
    (409) and changes nothing."""
    async with wired(landscape) as w:
        key = w.pki_dir / "ca" / "root-key.pem"
        shutil.move(key, tmp_path / "root-key.pem")
        try:
            plan = FaultPlan.always(Fault.EXPIRED_CERTIFICATE).model_dump(mode="json")
            response = await w.http.put(
                w.url(KBA_SAK) + "/admin/v1/faults", json=plan, headers=ADMIN
            )
        finally:
            shutil.move(tmp_path / "root-key.pem", key)
        assert response.status_code == 409
        shown = await w.http.get(w.url(KBA_SAK) + "/admin/v1/faults", headers=ADMIN)
        assert FaultPlan.model_validate(shown.json()) == FaultPlan()


async def test_a_fault_for_one_step(landscape: Landscape) -> None:
    """count=1 spoils exactly one answer of the SAK; the next one verifies again."""
    async with wired(landscape) as w:
        plan = FaultPlan.always(Fault.BAD_SIGNATURE, count=1).model_dump(mode="json")
        await w.http.put(w.url(KBA_SAK) + "/admin/v1/faults", json=plan, headers=ADMIN)
        first, second = w.envelope(), w.envelope()
        spoiled = await w.send(first)
        with pytest.raises(Exception, match="signature"):
            open_envelope(spoiled.content, w.verifier)
        w.answer(await w.send(second), second)


# -- an online service's SAK: per-provider limits ------------------------------------------------


async def _fetch(
    w: Wired,
    evidence_type: str,
    *,
    region: str | None = None,
    person: tuple[str, str, str, Any] = ERIKA,
) -> httpx.Response:
    """Route, authorisation and 0101 through the online service's SAK (consumer API)."""
    sak = w.url(BPA_SAK)
    auth = {"Authorization": f"Bearer {w.token(CONSUMER, BPA_SAK)}"}
    params = {"evidenceType": evidence_type, **({"region": region} if region else {})}
    route = (await w.http.get(sak + ROUTES_PATH, params=params, headers=auth)).json()
    request = w.request(route["provider"]["participantId"], evidence_type, person=person)
    if route["vs"]["withIdnr"]["required"]:
        provider = route["provider"]["participantId"]
        rows = w.landscape.topology.authorisations_for(CONSUMER, evidence_type, provider)
        asked = {
            "serviceId": route["serviceId"],
            "purpose": PURPOSE,
            "legalBasis": next(r.legal_basis for r in rows if r.purpose == PURPOSE),
            "usesIdnr": True,
            "requestHash": tokens.request_hash(messages.build(request)),
        }
        granted = await w.http.post(sak + AUTHORISATIONS_PATH, json=asked, headers=auth)
        assert granted.status_code == 200, granted.text
        request = request.with_token(granted.json()["token"])
    return await w.http.post(
        sak + CONSUMER_REQUESTS_PATH,
        content=messages.to_bytes(request),
        headers={
            **auth,
            "Content-Type": "application/xml",
            "Noots-Purpose": PURPOSE,
            "Noots-Service-Id": route["serviceId"],
        },
    )


async def test_a_slow_register_does_not_stall_the_others(landscape: Landscape) -> None:
    """With the KBA hanging and the one slot the online service's SAK keeps for it taken,
    fetches from the Melderegister complete, and a second fetch from the KBA waits for the
    slot without reaching the KBA's SAK."""
    settings = {CONSUMER: {"max_in_flight": 1}}
    async with wired(landscape, providers=(KBA, MELDEREGISTER), sak_settings=settings) as w:
        kba, gate = w.taps[KBA], w.gates[KBA]
        w.registers[KBA].state.register.faults.set(FaultPlan(latency_ms=1))
        gate.closed = True
        first = asyncio.create_task(_fetch(w, "Fahrzeughalterauskunft"))
        await asyncio.wait_for(gate.entered.wait(), timeout=30)
        second = asyncio.create_task(_fetch(w, "Fahrzeughalterauskunft"))
        for _ in range(3):
            melde = await _fetch(w, "Meldebescheinigung", region="08118079")
            assert melde.status_code == 200, melde.text
        assert not first.done()
        assert not second.done()
        assert len(kba.received) == 1  # the second waits for the one slot
        gate.closed = False
        gate.opened.set()
        answers = await asyncio.gather(first, second)
        assert [a.status_code for a in answers] == [200, 200]
        assert len(kba.received) == 2


async def test_the_wait_for_a_slot_counts_against_the_providers_timeout(
    landscape: Landscape,
) -> None:
    """0.3 s to wait for the KBA's SAK: a fetch whose slot stays taken ends as 0005 naming the
    KBA's SAK (504) without anything reaching it, and so does one the KBA never answers."""
    settings = {CONSUMER: {"max_in_flight": 1, "peer_timeouts": {KBA: 0.3}}}
    async with wired(landscape, sak_settings=settings) as w:
        side = w.saks[BPA_SAK].state.consumer_side
        slot = side._slots.setdefault(KBA, asyncio.Semaphore(1))
        async with slot:  # another fetch holds the one slot all along
            waiting = await _fetch(w, "Fahrzeughalterauskunft")
        assert w.taps[KBA].received == []
        w.registers[KBA].state.register.faults.set(FaultPlan(latency_ms=1))
        w.gates[KBA].closed = True
        hanging = await _fetch(w, "Fahrzeughalterauskunft")
        for response in (waiting, hanging):
            assert response.status_code == 504, response.text
            answer = messages.parse(etree.fromstring(response.content))
            assert isinstance(answer, messages.EvidenceErrorResponse)
            assert answer.errors[0].code is EdmCode.TIMEOUT
            assert f"failed at {KBA_SAK}" in (answer.errors[0].detail or "")
        assert len(w.taps[KBA].received) == 1
