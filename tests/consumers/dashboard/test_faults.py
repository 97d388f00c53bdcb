"""consumers.dashboard._faults: which component a fault toggle switches."""

from __future__ import annotations

import json

import httpx
import pytest

from consumers.dashboard._faults import FaultSwitch
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


@pytest.mark.parametrize("fault", ["bad_signature", "missing_signature", "wrong_binding"])
async def test_a_signature_fault_is_switched_at_the_register_and_its_sak(fault: str) -> None:
    """The SAK signs the answer on the path through the SAKs: it gets the fault too."""
    switch, calls = recording_switch()
    status, answer = await switch.set(KBA, fault)
    register = TOPOLOGY.base_url(KBA).removeprefix("http://")
    sak = TOPOLOGY.base_url(TOPOLOGY.sak_id(KBA)).removeprefix("http://")
    assert status == 200
    assert calls == [("PUT", register), ("PUT", sak)]
    assert answer["choice"] == fault
    assert answer["text"].endswith("(am Register und an seinem SAK)")


async def test_a_register_fault_stays_at_the_register_and_a_reset_resets_both() -> None:
    """An internal error is the register's own; "keine Störung" clears register and SAK."""
    switch, calls = recording_switch()
    await switch.set(KBA, "error")
    assert [method for method, _ in calls] == ["PUT"]
    calls.clear()
    status, answer = await switch.set(KBA, None)
    assert status == 200
    assert [method for method, _ in calls] == ["DELETE", "DELETE"]
    assert answer == {"participantId": KBA, "choice": None, "text": "keine Störung"}


async def test_an_unreachable_sak_is_said_not_hidden() -> None:
    """Without the SAK the fault holds at the register only, and the text says so."""
    switch, _ = recording_switch(sak_answers=False)
    status, answer = await switch.set(KBA, "bad_signature")
    assert status == 200
    assert answer["text"].endswith("(nur am Register: sein SAK ist nicht erreichbar)")
