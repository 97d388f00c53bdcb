"""Transport hub: DC → hub → DP → hub → DC with every check, each refusal, and isolation of a
slow register from the others. In-process: the hub reaches the registers through ASGI."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from lxml import etree

from intermediary.app import create_app
from noots import messages
from noots.envelope import ENV_NS, open_envelope
from noots.pki import CertificateAuthority, Role
from noots.testing.asgi import RoutingTransport, running
from noots.testing.pki import TestPki
from registers.faults import Fault, FaultPlan
from tests.intermediary.support import (
    CONSUMER,
    ELTERNGELD,
    ERIKA,
    HUB,
    KBA,
    LENA,
    MELDEREGISTER,
    Consumer,
    Gate,
    Landscape,
    Tap,
    error_of,
    register_app,
)

PURPOSE = "Bewohnerparkausweis"
XML = {"Content-Type": "application/xml"}
ADMIN = {"Authorization": "Bearer admin-secret"}


@dataclass
class Wired:
    client: httpx.AsyncClient
    app: Any
    taps: dict[str, Tap]
    gates: dict[str, Gate]
    registers: dict[str, Any]
    dc: Consumer

    async def send(self, raw: bytes) -> httpx.Response:
        return await self.client.post("/transport/v1/messages", content=raw, headers=XML)

    def hub_entries(self) -> list[Any]:
        return list(self.app.state.hub.protocol_log.entries())

    def fault(self, provider: str, fault: Fault) -> None:
        self.registers[provider].state.register.faults.set(FaultPlan.always(fault))

    def register_entries(self, provider: str) -> list[Any]:
        return list(self.registers[provider].state.register.protocol_log.entries())


@contextlib.asynccontextmanager
async def wired(
    landscape: Landscape, *, providers: tuple[str, ...] = (MELDEREGISTER, KBA), **settings: Any
) -> AsyncIterator[Wired]:
    """The platform (VS, hub, PKI) and the real registers for ``providers``, in-process, with
    a tap between the hub and each register."""
    gates = {pid: Gate() for pid in providers}
    registers = {pid: register_app(landscape, pid, gates[pid]) for pid in providers}
    taps = {
        pid: Tap(httpx.ASGITransport(app=app), landscape, pid) for pid, app in registers.items()
    }
    routes = RoutingTransport({landscape.host_port(pid): tap for pid, tap in taps.items()})
    app = create_app(
        landscape.settings(**settings),
        components=("vs", "hub", "pki"),
        transport=routes,
        clock=landscape.clock,
        topology=landscape.topology,
    )
    async with contextlib.AsyncExitStack() as stack:
        for register in registers.values():
            await stack.enter_async_context(register.router.lifespan_context(register))
        try:
            client = await stack.enter_async_context(running(app))
            yield Wired(client, app, taps, gates, registers, Consumer(landscape))
        finally:
            for gate in gates.values():
                gate.opened.set()


def drop_signature(raw: bytes) -> bytes:
    start = raw.index(b"<ds:Signature")
    return raw[:start] + raw[raw.index(b"</ds:Signature>") + len(b"</ds:Signature>") :]


async def test_request_travels_dc_hub_dp_hub_dc(landscape: Landscape, xnachweis_check: Any) -> None:
    """A valid request reaches the register byte for byte; the register's signed, bound
    answer comes back unchanged; hub and register log the transfer (§ 9 fields)."""
    async with wired(landscape) as w:
        request, raw = await w.dc.prepared(w.client, MELDEREGISTER, "Meldebescheinigung", PURPOSE)
        answer = await w.send(raw)
        assert w.taps[MELDEREGISTER].received == [raw]
        assert answer.status_code == 200
        opened, parsed = w.dc.open_answer(answer.content, raw)
        assert opened.signer.participant_id == MELDEREGISTER
        assert isinstance(parsed, messages.EvidenceResponse)
        assert parsed.request_id == request.request_id
        assert b"Mustermann" in parsed.evidences[0].document
        assert xnachweis_check(messages.to_bytes(parsed)) == []
        [entry] = w.hub_entries()
        assert (entry.party, entry.consumer, entry.provider) == (HUB, CONSUMER, MELDEREGISTER)
        assert (entry.evidence_type, entry.purpose, entry.idnr) == (
            "Meldebescheinigung",
            PURPOSE,
            ERIKA[0],
        )
        assert (entry.message_id, entry.outcome) == (f"urn:uuid:{request.request_id}", "delivered")
        [logged] = w.register_entries(MELDEREGISTER)
        assert (logged.message_id, logged.idnr, logged.outcome) == (
            entry.message_id,
            ERIKA[0],
            "delivered",
        )


async def test_unsigned_request_is_refused_before_routing(landscape: Landscape) -> None:
    """No signature → hub-signed env:Error 0001 bound to the bytes; nothing forwarded."""
    async with wired(landscape) as w:
        _, raw = await w.dc.prepared(w.client, MELDEREGISTER, "Meldebescheinigung", PURPOSE)
        unsigned = drop_signature(raw)
        answer = await w.send(unsigned)
        assert answer.status_code == 401
        opened, parsed = w.dc.open_answer(answer.content, unsigned)
        assert opened.signer.participant_id == HUB
        code, detail = error_of(opened, parsed)
        assert code == "EDM:ERR:0001"
        assert HUB in detail
        assert w.taps[MELDEREGISTER].received == []
        assert w.hub_entries() == []


async def test_tampered_request_is_refused(landscape: Landscape) -> None:
    """A byte changed after signing (the family name) → 0001, nothing forwarded or logged."""
    async with wired(landscape) as w:
        _, raw = await w.dc.prepared(w.client, MELDEREGISTER, "Meldebescheinigung", PURPOSE)
        tampered = raw.replace(b"Mustermann", b"Musterfrau")
        assert tampered != raw
        answer = await w.send(tampered)
        code, _ = error_of(*w.dc.open_answer(answer.content, tampered))
        assert code == "EDM:ERR:0001"
        assert w.taps[MELDEREGISTER].received == []
        assert w.hub_entries() == []


async def test_certificate_of_another_ca_is_untrusted(landscape: Landscape) -> None:
    """Signed with a key certified by a foreign CA under the consumer's name → 0001."""
    async with wired(landscape) as w:
        request = w.dc.request(MELDEREGISTER, "Meldebescheinigung")
        with TestPki(clock=landscape.clock) as foreign:
            w.dc.participant = dataclass_replace_signer(
                w.dc.participant, foreign.signer(CONSUMER, Role.CONSUMER)
            )
            raw = w.dc.evidence_envelope(request, PURPOSE)
        answer = await w.send(raw)
        code, detail = error_of(*w.dc.open_answer(answer.content, raw))
        assert code == "EDM:ERR:0001"
        assert "trust" in detail.lower() or "issued" in detail.lower()
        assert w.taps[MELDEREGISTER].received == []


def dataclass_replace_signer(participant: Any, signer: Any) -> Any:
    import dataclasses

    return dataclasses.replace(participant, signer=signer)


@pytest.mark.parametrize(
    ("issue", "advance", "word"),
    [
        ({"validity": timedelta(hours=1)}, timedelta(hours=2), "expired"),
        ({"not_before_in": timedelta(days=1)}, timedelta(0), "not valid before"),
    ],
)
async def test_expired_and_not_yet_valid_certificates_are_refused(
    landscape: Landscape, issue: dict[str, timedelta], advance: timedelta, word: str
) -> None:
    """The consumer's certificate outside its validity at the hub's clock → 0001."""
    authority = CertificateAuthority.open(landscape.data_dir / "pki", clock=landscape.clock)
    if "validity" in issue:
        authority.issue(CONSUMER, Role.CONSUMER, validity=issue["validity"])
    else:
        authority.issue(
            CONSUMER, Role.CONSUMER, not_before=landscape.clock.now() + issue["not_before_in"]
        )
    landscape.clock.advance(advance)
    async with wired(landscape) as w:
        request = w.dc.request(MELDEREGISTER, "Meldebescheinigung")
        raw = w.dc.evidence_envelope(request, PURPOSE)
        answer = await w.send(raw)
        code, detail = error_of(*w.dc.open_answer(answer.content, raw))
        assert code == "EDM:ERR:0001"
        assert word in detail.lower()
        assert w.taps[MELDEREGISTER].received == []


async def test_revoking_a_consumer_takes_effect_at_the_next_request(landscape: Landscape) -> None:
    """End to end: the DC's first request is delivered; after POST /admin/v1/revoke the
    hub refuses its next one with 0001 (revoked), without a restart."""
    async with wired(landscape) as w:
        _, first = await w.dc.prepared(w.client, MELDEREGISTER, "Meldebescheinigung", PURPOSE)
        assert (await w.send(first)).status_code == 200
        _, second = await w.dc.prepared(w.client, MELDEREGISTER, "Meldebescheinigung", PURPOSE)
        revoked = await w.client.post(
            "/admin/v1/revoke",
            json={"participantId": CONSUMER},
            headers={"Authorization": "Bearer admin-secret"},
        )
        assert revoked.status_code == 200
        answer = await w.send(second)
        assert answer.status_code == 401
        code, detail = error_of(*w.dc.open_answer(answer.content, second))
        assert code == "EDM:ERR:0001"
        assert "revoked" in detail.lower()
        assert w.taps[MELDEREGISTER].received == [first]


async def test_revoking_a_register_makes_the_hub_refuse_its_answer(landscape: Landscape) -> None:
    """End to end: after the register is revoked the hub refuses its (signed) answer with
    0008/502 naming the register and the revocation; the data does not reach the DC."""
    async with wired(landscape) as w:
        _, raw = await w.dc.prepared(w.client, MELDEREGISTER, "Meldebescheinigung", PURPOSE)
        revoked = await w.client.post(
            "/admin/v1/revoke",
            json={"participantId": MELDEREGISTER},
            headers={"Authorization": "Bearer admin-secret"},
        )
        assert revoked.status_code == 200
        answer = await w.send(raw)
        assert w.taps[MELDEREGISTER].received == [raw]
        assert answer.status_code == 502
        opened, parsed = w.dc.open_answer(answer.content, raw)
        assert opened.signer.participant_id == HUB
        assert isinstance(parsed, messages.EvidenceErrorResponse)
        code, detail = error_of(opened, parsed)
        assert code == "EDM:ERR:0008"
        assert MELDEREGISTER in detail
        assert "revoked" in detail.lower()
        assert [e.outcome for e in w.hub_entries()] == ["refused:EDM:ERR:0008"]


async def test_admin_revoke_needs_the_admin_token(landscape: Landscape) -> None:
    """Without the bearer token the revocation endpoint refuses (401) and revokes nothing."""
    async with wired(landscape) as w:
        answer = await w.client.post("/admin/v1/revoke", json={"participantId": CONSUMER})
        assert answer.status_code == 401
        _, raw = await w.dc.prepared(w.client, MELDEREGISTER, "Meldebescheinigung", PURPOSE)
        assert (await w.send(raw)).status_code == 200


async def test_sender_must_be_the_certificates_participant(landscape: Landscape) -> None:
    """An envelope whose Sender names another participant than its signer → 0001."""
    async with wired(landscape) as w:
        request = w.dc.request(MELDEREGISTER, "Meldebescheinigung")
        impostor = Consumer(landscape, participant_id=ELTERNGELD)
        w.dc.participant = dataclass_replace_signer(w.dc.participant, impostor.participant.signer)
        raw = w.dc.evidence_envelope(request, PURPOSE)
        answer = await w.send(raw)
        code, detail = error_of(*w.dc.open_answer(answer.content, raw))
        assert code == "EDM:ERR:0001"
        assert ELTERNGELD in detail
        assert w.taps[MELDEREGISTER].received == []


async def test_sender_must_be_the_requester_named_in_the_0101(
    landscape: Landscape, xnachweis_check: Any
) -> None:
    """A consumer sending a 0101 in another consumer's name → hub-signed 0103 with 0001."""
    async with wired(landscape) as w:
        impostor = Consumer(landscape, participant_id=ELTERNGELD)
        request = impostor.request(MELDEREGISTER, "Meldebescheinigung", requester=CONSUMER)
        raw = impostor.evidence_envelope(request, PURPOSE)
        answer = await w.send(raw)
        assert answer.status_code == 401
        opened, parsed = impostor.open_answer(answer.content, raw)
        assert opened.signer.participant_id == HUB
        assert opened.header.recipient == ELTERNGELD
        assert isinstance(parsed, messages.EvidenceErrorResponse)
        assert parsed.error_provider.identifier == HUB
        code, detail = error_of(opened, parsed)
        assert code == "EDM:ERR:0001"
        assert "requester" in detail
        assert xnachweis_check(messages.to_bytes(parsed)) == []
        assert w.taps[MELDEREGISTER].received == []


async def test_unknown_service_id_is_0006_listing_the_services(landscape: Landscape) -> None:
    """A service id nobody offers → 0006 from the hub naming the recipient's services."""
    async with wired(landscape) as w:
        request, _ = await w.dc.prepared(w.client, MELDEREGISTER, "Meldebescheinigung", PURPOSE)
        raw = w.dc.evidence_envelope(
            request, PURPOSE, service_id="urn:noots:service:08118079-MELD-12:Reisepass"
        )
        answer = await w.send(raw)
        assert answer.status_code == 404
        code, detail = error_of(*w.dc.open_answer(answer.content, raw))
        assert code == "EDM:ERR:0006"
        assert "urn:noots:service:08118079-MELD-12:Meldebescheinigung" in detail
        assert w.taps[MELDEREGISTER].received == []


async def test_register_down_is_0008_502_naming_it(landscape: Landscape) -> None:
    """Nothing listens at the register's address → 502 with 0008 naming the register."""
    async with wired(landscape, providers=(KBA,)) as w:
        _, raw = await w.dc.prepared(w.client, MELDEREGISTER, "Meldebescheinigung", PURPOSE)
        answer = await w.send(raw)
        assert answer.status_code == 502
        code, detail = error_of(*w.dc.open_answer(answer.content, raw))
        assert code == "EDM:ERR:0008"
        assert f"failed at {MELDEREGISTER}" in detail
        assert "unreachable" in detail


async def test_register_too_slow_is_0005(landscape: Landscape) -> None:
    """A register that does not answer within its timeout → 504 with 0005 naming it."""
    async with wired(landscape, hub_provider_timeouts={MELDEREGISTER: 0.2}) as w:
        w.registers[MELDEREGISTER].state.register.faults.set(FaultPlan(latency_ms=1))
        w.gates[MELDEREGISTER].closed = True
        _, raw = await w.dc.prepared(w.client, MELDEREGISTER, "Meldebescheinigung", PURPOSE)
        answer = await w.send(raw)
        assert answer.status_code == 504
        code, detail = error_of(*w.dc.open_answer(answer.content, raw))
        assert code == "EDM:ERR:0005"
        assert MELDEREGISTER in detail
        assert [e.outcome for e in w.hub_entries()] == ["refused:EDM:ERR:0005"]


@pytest.mark.parametrize(
    ("mode", "phrase"),
    [
        (Fault.MALFORMED, "not well-formed"),
        (Fault.MISSING_SIGNATURE, "signature"),
        (Fault.BAD_SIGNATURE, "signature"),
        (Fault.EXPIRED_CERTIFICATE, "expired"),
        (Fault.WRONG_BINDING, "different request"),
        (Fault.DROP, "failed (ConnectionDropped)"),
        ("http-500", "not well-formed"),
        ("wrong-signer", "not by 08118079-MELD-12"),
    ],
)
async def test_bad_answers_are_refused_by_the_hub(
    landscape: Landscape, mode: Fault | str, phrase: str
) -> None:
    """Garbage, a dropped connection, an empty 500, an unsigned, tampered, expired-signed,
    unbound or foreign-signed answer → hub-signed 0008/502 naming the register and why."""
    async with wired(landscape) as w:
        if isinstance(mode, Fault):
            w.fault(MELDEREGISTER, mode)
        else:
            w.taps[MELDEREGISTER].mode = mode
        _, raw = await w.dc.prepared(w.client, MELDEREGISTER, "Meldebescheinigung", PURPOSE)
        answer = await w.send(raw)
        assert answer.status_code == 502
        opened, parsed = w.dc.open_answer(answer.content, raw)
        assert opened.signer.participant_id == HUB
        code, detail = error_of(opened, parsed)
        assert code == "EDM:ERR:0008"
        assert MELDEREGISTER in detail
        assert phrase in detail
        assert [e.outcome for e in w.hub_entries()] == ["refused:EDM:ERR:0008"]


async def test_register_refusal_passes_back_unchanged(landscape: Landscape) -> None:
    """A request without VS token: the register's own 0002 comes back as it signed it."""
    async with wired(landscape) as w:
        request = w.dc.request(MELDEREGISTER, "Meldebescheinigung").with_token("bm90LWEtdG9rZW4=")
        raw = w.dc.evidence_envelope(request, PURPOSE)
        answer = await w.send(raw)
        assert answer.status_code == 403
        opened, parsed = w.dc.open_answer(answer.content, raw)
        assert opened.signer.participant_id == MELDEREGISTER
        assert error_of(opened, parsed)[0] == "EDM:ERR:0002"
        assert [e.outcome for e in w.hub_entries()] == ["refused:EDM:ERR:0002"]


async def test_vs_refusal_means_nothing_is_sent(landscape: Landscape) -> None:
    """End to end: the VS refuses a purpose the matrix lacks; the DC has no token, and the
    same request sent anyway is refused by the register (0002) with nothing delivered."""
    async with wired(landscape) as w:
        request = w.dc.request(MELDEREGISTER, "Meldebescheinigung")
        answer = await w.client.post(
            "/vs/v1/tokens",
            content=w.dc.token_envelope(w.dc.token_request(request, "Neugier", "keine")),
        )
        assert answer.status_code == 403
        opened = open_envelope(answer.content, w.dc.participant.verifier)
        assert opened.body.findtext(f"{{{ENV_NS}}}Code") == "EDM:ERR:0002"
        raw = w.dc.evidence_envelope(request.with_token("bm8tdG9rZW4="), "Neugier")
        refused = await w.send(raw)
        assert error_of(*w.dc.open_answer(refused.content, raw))[0] == "EDM:ERR:0002"
        assert all(e.outcome != "delivered" for e in w.hub_entries())


async def test_slow_register_does_not_stall_the_others(landscape: Landscape) -> None:
    """With one register hanging (and its one slot taken), requests to another register
    complete, and a second request to the hanging one waits for a slot without reaching it."""
    async with wired(landscape, hub_max_in_flight=1) as w:
        kba, gate = w.taps[KBA], w.gates[KBA]
        w.registers[KBA].state.register.faults.set(FaultPlan(latency_ms=1))
        gate.closed = True
        _, slow_1 = await w.dc.prepared(w.client, KBA, "Fahrzeughalterauskunft", PURPOSE)
        _, slow_2 = await w.dc.prepared(w.client, KBA, "Fahrzeughalterauskunft", PURPOSE)
        first = asyncio.create_task(w.send(slow_1))
        await asyncio.wait_for(gate.entered.wait(), timeout=5)
        second = asyncio.create_task(w.send(slow_2))
        for _ in range(3):
            _, fast = await w.dc.prepared(w.client, MELDEREGISTER, "Meldebescheinigung", PURPOSE)
            assert (await w.send(fast)).status_code == 200
        assert not first.done()
        assert not second.done()
        assert kba.received == [slow_1]  # the second waits for the one slot
        gate.closed = False
        gate.opened.set()
        answers = await asyncio.gather(first, second)
        assert [a.status_code for a in answers] == [200, 200]
        assert kba.received == [slow_1, slow_2]


async def test_oversized_body_is_refused_unread(landscape: Landscape) -> None:
    """A body over 5 MiB gets a hub-signed 0003 without being parsed."""
    async with wired(landscape) as w:
        answer = await w.send(b"<x>" + b"a" * (5 * 1024 * 1024) + b"</x>")
        assert answer.status_code == 400
        opened = open_envelope(answer.content, w.dc.participant.verifier)
        assert opened.signer.participant_id == HUB
        assert opened.body.findtext(f"{{{ENV_NS}}}Code") == "EDM:ERR:0003"


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
    """Hostile or broken bodies are refused with a hub-signed 0003 (never a crash) and
    nothing reaches a register or the log."""
    async with wired(landscape) as w:
        raw = HOSTILE[name]
        answer = await w.send(raw)
        assert answer.status_code == 400
        opened = open_envelope(answer.content, w.dc.participant.verifier)
        assert opened.signer.participant_id == HUB
        assert opened.header.recipient == "unknown"
        assert opened.body.findtext(f"{{{ENV_NS}}}Code") == "EDM:ERR:0003"
        assert all(tap.received == [] for tap in w.taps.values())
        assert w.hub_entries() == []


async def test_signature_wrapping_is_refused(landscape: Landscape) -> None:
    """A signed envelope whose body is swapped for another under a wrapper → 0001."""
    async with wired(landscape) as w:
        _, genuine = await w.dc.prepared(w.client, MELDEREGISTER, "Meldebescheinigung", PURPOSE)
        root = etree.fromstring(genuine)
        body = root.find(f"{{{ENV_NS}}}Body")
        assert body is not None
        wrapper = etree.SubElement(root, f"{{{ENV_NS}}}Wrapper")
        wrapper.append(copy.deepcopy(body))
        body[0].find(".//{*}IDNr").text = LENA[0]
        raw = etree.tostring(root)
        answer = await w.send(raw)
        assert answer.status_code in (400, 401)
        opened, parsed = w.dc.open_answer(answer.content, raw)
        assert opened.signer.participant_id == HUB
        assert error_of(opened, parsed)[0] in ("EDM:ERR:0001", "EDM:ERR:0003")
        assert w.taps[MELDEREGISTER].received == []


async def test_revoked_consumer_is_refused_by_the_register_too(landscape: Landscape) -> None:
    """The platform's revocation reaches the registers at once: the revoked DC's request,
    sent to the register directly, is refused there with 0001."""
    async with wired(landscape) as w:
        _, raw = await w.dc.prepared(w.client, MELDEREGISTER, "Meldebescheinigung", PURPOSE)
        revoked = await w.client.post(
            "/admin/v1/revoke", json={"participantId": CONSUMER}, headers=ADMIN
        )
        assert revoked.status_code == 200
        register = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=w.registers[MELDEREGISTER]), base_url="http://dp"
        )
        async with register:
            answer = await register.post("/evidence/v1", content=raw, headers=XML)
        assert answer.status_code == 401
        opened, parsed = w.dc.open_answer(answer.content, raw)
        assert opened.signer.participant_id == MELDEREGISTER
        assert error_of(opened, parsed)[0] == "EDM:ERR:0001"


async def test_a_bug_below_becomes_a_signed_refusal(
    landscape: Landscape, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception outside the error tree (a library bug) is answered with a hub-signed
    0008, never an unsigned 500, and nothing is forwarded."""

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("library bug")

    async with wired(landscape) as w:
        _, raw = await w.dc.prepared(w.client, MELDEREGISTER, "Meldebescheinigung", PURPOSE)
        monkeypatch.setattr("intermediary.hub.open_envelope", broken)
        answer = await w.send(raw)
        assert answer.status_code == 500
        opened, parsed = w.dc.open_answer(answer.content, raw)
        assert opened.signer.participant_id == HUB
        code, detail = error_of(opened, parsed)
        assert code == "EDM:ERR:0008"
        assert "internal error in the hub" in detail
        assert w.taps[MELDEREGISTER].received == []
