"""noots.consumers.dashboard._faults: which component a fault toggle switches."""

from __future__ import annotations

import json

import httpx
import pytest

from noots.consumers.dashboard._faults import FaultSwitch
from noots.topology import load_topology

KBA = "991-01234ZFZR-41"
TOPOLOGY = load_topology()


def recording_switch(*, sak_answers: bool = True) -> tuple[FaultSwitch, list[tuple[str, str]]]:
    """A switch whose admin calls are recorded (method, host:port) and answered 200 (the
    SAK's with a connection error when ``sak_answers`` is False)."""
    calls: list[tuple[str, str]] = []
    sak = TOPOLOGY.base_url(TOPOLOGY.sak_id(KBA)).removeprefix("http://")

    def answer(request: httpx.Request) -> httpx.Response:
        where = f"{request.url.host}:{request.url.port}"
        calls.append((request.method, where))
        if where == sak and not sak_answers:
            raise httpx.ConnectError("refused", request=request)
        plan = json.loads(request.content) if request.content else {}
        return httpx.Response(200, json=plan)

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    return FaultSwitch(http, TOPOLOGY, tls=False, token="t"), calls


REGISTER = TOPOLOGY.base_url(KBA).removeprefix("http://")
SAK = TOPOLOGY.base_url(TOPOLOGY.sak_id(KBA)).removeprefix("http://")


@pytest.mark.parametrize(
    "fault", ["bad_signature", "missing_signature", "expired_certificate", "wrong_binding"]
)
async def test_a_signature_fault_is_switched_at_the_registers_sak_only(fault: str) -> None:
    """The SAK signs the answer, the register answers unsigned (and refuses such a fault): the
    register is reset, the SAK gets the fault."""
    switch, calls = recording_switch()
    status, answer = await switch.set(KBA, fault)
    assert status == 200
    assert calls == [("DELETE", REGISTER), ("PUT", SAK)]
    assert answer["choice"] == fault
    assert answer["text"].endswith("(am SAK des Registers, der die Antwort signiert)")


async def test_a_register_fault_stays_at_the_register_and_a_reset_resets_both() -> None:
    """An internal error is the register's own (the SAK is reset); "keine Störung" clears
    register and SAK."""
    switch, calls = recording_switch()
    await switch.set(KBA, "error")
    assert calls == [("DELETE", SAK), ("PUT", REGISTER)]
    calls.clear()
    status, answer = await switch.set(KBA, None)
    assert status == 200
    assert [method for method, _ in calls] == ["DELETE", "DELETE"]
    assert answer == {"participantId": KBA, "choice": None, "text": "keine Störung"}


async def test_an_unreachable_sak_is_said_not_hidden() -> None:
    """Without the SAK a signature fault cannot be switched: 502 naming the SAK."""
    switch, _ = recording_switch(sak_answers=False)
    status, answer = await switch.set(KBA, "bad_signature")
    assert status == 502
    assert answer["detail"].startswith("SAK nicht erreichbar")
