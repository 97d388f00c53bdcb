"""Faults with real processes: a register that hangs, drops connections, answers slowly, with
garbage or with a broken signature does not affect exchanges with other registers, and the hub
recovers when it comes back (also after kill -9 and a restart)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from noots.errors import EdmCode
from noots.testing.attacks import AttackKit
from registers.faults import Fault
from tests.security.conftest import ADMIN_TOKEN, KBA, MUENCHEN, Running
from tests.security.support import read_answer

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
#: What the hub answers when the register behind it shows the fault (docs/PROTOCOL.md).
EXPECTED: dict[Fault, tuple[EdmCode, int]] = {
    Fault.ERROR: (EdmCode.QUERY_ERROR, 500),
    Fault.DROP: (EdmCode.QUERY_ERROR, 502),
    Fault.MALFORMED: (EdmCode.QUERY_ERROR, 502),
    Fault.BAD_SIGNATURE: (EdmCode.QUERY_ERROR, 502),
    Fault.MISSING_SIGNATURE: (EdmCode.QUERY_ERROR, 502),
    Fault.EXPIRED_CERTIFICATE: (EdmCode.QUERY_ERROR, 502),
    Fault.WRONG_BINDING: (EdmCode.QUERY_ERROR, 502),
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=60.0) as http:
        yield http


def kits(running: Running) -> tuple[AttackKit, AttackKit]:
    topology = running.armoury.topology
    return (
        running.armoury.kit(topology.register(KBA)),
        running.armoury.kit(topology.register(MUENCHEN)),
    )


async def exchange(client: httpx.AsyncClient, running: Running, kit: AttackKit) -> Any:
    """One fresh request through the hub; the verified answer and its HTTP status."""
    response = await client.post(running.hub_url, content=kit.fresh().raw)
    return read_answer(response.content, running.armoury.verifier), response.status_code


async def set_fault(client: httpx.AsyncClient, running: Running, plan: dict[str, Any]) -> None:
    url = running.processes[KBA].url + "/admin/v1/faults"
    response = await client.put(url, json=plan, headers=ADMIN)
    assert response.status_code == 200, response.text


async def clear_faults(client: httpx.AsyncClient, running: Running) -> None:
    url = running.processes[KBA].url + "/admin/v1/faults"
    assert (await client.delete(url, headers=ADMIN)).status_code == 200


@pytest.mark.parametrize("fault", list(EXPECTED))
async def test_a_faulty_register_fails_clearly_and_the_others_are_unaffected(
    fault: Fault, running: Running, client: httpx.AsyncClient
) -> None:
    """With the fault on KBA: KBA's exchanges fail with the documented code, München's,
    sent at the same time, all deliver; after the fault is lifted KBA delivers again."""
    faulty, healthy = kits(running)
    await set_fault(client, running, {"rates": {fault.value: 1.0}})
    try:
        results = await asyncio.gather(
            *(exchange(client, running, faulty) for _ in range(4)),
            *(exchange(client, running, healthy) for _ in range(4)),
        )
    finally:
        await clear_faults(client, running)
    code, status = EXPECTED[fault]
    for answer, http_status in results[:4]:
        assert (answer.code, http_status) == (code, status)
        assert not answer.delivered
    for answer, http_status in results[4:]:
        assert (answer.delivered, http_status) == (True, 200)
    answer, http_status = await exchange(client, running, faulty)
    assert (answer.delivered, http_status) == (True, 200)


async def test_a_hanging_register_holds_no_resources_the_others_need(
    running: Running, client: httpx.AsyncClient
) -> None:
    """40 requests hang at KBA (more than the hub's 32 slots per register): München still
    answers every request while they hang; each hung one ends as 0005 (504)."""
    faulty, healthy = kits(running)
    await set_fault(client, running, {"rates": {"timeout": 1.0}})
    try:
        hanging = [asyncio.create_task(exchange(client, running, faulty)) for _ in range(40)]
        meanwhile = [await exchange(client, running, healthy)]
        still_hanging = sum(not task.done() for task in hanging)  # after one, as above
        meanwhile += [await exchange(client, running, healthy) for _ in range(4)]
        hung = await asyncio.gather(*hanging)
    finally:
        await clear_faults(client, running)
    assert [(a.delivered, s) for a, s in meanwhile] == [(True, 200)] * 5
    assert still_hanging > 0  # München answered while KBA's requests were still open
    assert {(a.code, s) for a, s in hung} == {(EdmCode.TIMEOUT, 504)}
    answer, http_status = await exchange(client, running, faulty)
    assert (answer.delivered, http_status) == (True, 200)


async def test_a_slow_register_delivers_and_does_not_slow_the_others(
    running: Running, client: httpx.AsyncClient
) -> None:
    """KBA answers after 2.5 s (within the hub's 5 s wait): its exchanges deliver, and a
    München exchange started after KBA's finishes before them."""
    faulty, healthy = kits(running)
    await set_fault(client, running, {"latency_ms": 2500})
    try:
        slow = [asyncio.create_task(exchange(client, running, faulty)) for _ in range(4)]
        # Counted after the first München exchange only: three in a row can take longer than
        # KBA's delay on a loaded CI machine, and that would say nothing about the hub.
        fast = [await exchange(client, running, healthy)]
        overtaken = sum(not task.done() for task in slow)
        fast += [await exchange(client, running, healthy) for _ in range(2)]
        slow_results = await asyncio.gather(*slow)
    finally:
        await clear_faults(client, running)
    assert all(a.delivered for a, _ in fast + slow_results)
    assert overtaken > 0


async def test_the_hub_recovers_when_a_killed_register_is_restarted(
    running: Running, client: httpx.AsyncClient
) -> None:
    """kill -9 KBA: its exchanges fail as 0008 (502, unreachable), München delivers; after a
    restart of the KBA process its very next exchange delivers again."""
    faulty, healthy = kits(running)
    assert (await exchange(client, running, faulty))[0].delivered  # a pooled connection
    register = running.processes[KBA]
    register.kill()
    try:
        down = [await exchange(client, running, faulty) for _ in range(3)]
        others = [await exchange(client, running, healthy) for _ in range(3)]
    finally:
        register.start()
    assert {(a.code, s) for a, s in down} == {(EdmCode.QUERY_ERROR, 502)}
    assert all(a.delivered for a, _ in others)
    answer, http_status = await exchange(client, running, faulty)
    assert (answer.delivered, http_status) == (True, 200)


async def test_a_replay_after_kill_9_and_restart_of_the_register_is_refused(
    running: Running, client: httpx.AsyncClient
) -> None:
    """An envelope KBA accepted, sent again through the hub after kill -9 and a restart of
    KBA, is refused as a replay (0003, no data): the replay cache outlived the process."""
    faulty, _healthy = kits(running)
    original = faulty.fresh().raw
    first = await client.post(running.hub_url, content=original)
    assert read_answer(first.content, running.armoury.verifier).delivered
    register = running.processes[KBA]
    register.kill()
    register.start()
    again = await client.post(running.hub_url, content=original)
    answer = read_answer(again.content, running.armoury.verifier)
    assert (answer.code, again.status_code) == (EdmCode.INVALID_REQUEST, 400)
    assert not answer.delivered
    assert (await exchange(client, running, faulty))[0].delivered  # and it serves fresh ones
