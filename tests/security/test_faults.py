"""Faults with real processes: a register that hangs, drops connections, answers slowly or with
garbage, or whose SAK spoils the signature of its answers, does not affect exchanges with
other registers, and the path recovers when it comes back (also after kill -9 and a restart of
the register or of its SAK). The online services fetch with the real client library through
their own SAKs."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from noots.consumers import AsyncClient, PersonQuery
from noots.errors import EdmCode, NootsError
from noots.faults import SIGNATURE_FAULTS, Fault
from noots.sak import TRANSPORT_PATH
from noots.testing.load import Target, consumer_clients
from tests.security.conftest import ADMIN_TOKEN, KBA, MUENCHEN, Running
from tests.security.support import read_answer

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
#: What the online service gets when the register (or its SAK) shows the fault: the register's
#: own 0008, or its SAK's (drop, garbage) or the online service's SAK's (a spoiled signature)
#: 0008 naming who failed (docs/PROTOCOL.md).
EXPECTED: dict[Fault, EdmCode] = {fault: EdmCode.QUERY_ERROR for fault in Fault}
FAULTS = [f for f in Fault if f is not Fault.TIMEOUT]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def clients(running: Running) -> AsyncIterator[dict[str, tuple[AsyncClient, Target]]]:
    """The client library of each online service that asks KBA or München, by register."""
    data_dir, topology = running.processes.data_dir, running.processes.topology
    targets = {r: Target.of(data_dir, topology, topology.register(r)) for r in (KBA, MUENCHEN)}
    async with consumer_clients(data_dir, topology, {t.consumer for t in targets.values()}) as by:
        yield {register: (by[t.consumer], t) for register, t in targets.items()}


async def exchange(clients: dict[str, tuple[AsyncClient, Target]], register: str) -> Any:
    """One fetch from ``register``: the request id delivered, or the typed error."""
    client, target = clients[register]
    person = target.subject
    try:
        result = await client.fetch_evidence(
            target.evidence_type,
            purpose=target.purpose,
            idnr=person.idnr,
            person=PersonQuery(person.given_name, person.family_name, person.date_of_birth),
            region=target.register.region,
        )
    except NootsError as error:
        return error
    return result.request_id


def admin_url(running: Running, fault: Fault) -> str:
    """Where a fault of the KBA is switched: at its SAK for the faults of a signed answer."""
    if fault in SIGNATURE_FAULTS:
        return running.sak_url(KBA) + "/admin/v1/faults"
    return running.processes[KBA].url + "/admin/v1/faults"


async def set_fault(running: Running, fault: Fault | None, plan: dict[str, Any]) -> None:
    """Switch ``plan`` on where ``fault`` belongs (None: a delay, at the register)."""
    url = admin_url(running, fault) if fault is not None else admin_url(running, Fault.ERROR)
    async with httpx.AsyncClient(timeout=10.0) as admin:
        response = await admin.put(url, json=plan, headers=ADMIN)
        assert response.status_code == 200, response.text


async def clear_faults(running: Running) -> None:
    async with httpx.AsyncClient(timeout=10.0) as admin:
        for url in (running.processes[KBA].url, running.sak_url(KBA)):
            assert (await admin.delete(url + "/admin/v1/faults", headers=ADMIN)).status_code == 200


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_faulty_register_fails_clearly_and_the_others_are_unaffected(
    fault: Fault, running: Running, clients: dict[str, tuple[AsyncClient, Target]]
) -> None:
    """With the fault on KBA (or its SAK): KBA's fetches fail with the documented code,
    München's, sent at the same time, all deliver; after the fault is lifted KBA delivers
    again."""
    await set_fault(running, fault, {"rates": {fault.value: 1.0}})
    try:
        results = await asyncio.gather(
            *(exchange(clients, KBA) for _ in range(4)),
            *(exchange(clients, MUENCHEN) for _ in range(4)),
        )
    finally:
        await clear_faults(running)
    for result in results[:4]:
        assert isinstance(result, NootsError), result
        assert result.code is EXPECTED[fault]
    assert all(isinstance(result, uuid.UUID) for result in results[4:]), results[4:]
    assert isinstance(await exchange(clients, KBA), uuid.UUID)


async def test_a_hanging_register_holds_no_resources_the_others_need(
    running: Running, clients: dict[str, tuple[AsyncClient, Target]]
) -> None:
    """40 fetches hang at KBA (more than the 32 slots its online service's SAK keeps for it):
    München still answers every fetch while they hang; each hung one ends as 0005."""
    await set_fault(running, Fault.TIMEOUT, {"rates": {"timeout": 1.0}})
    try:
        hanging = [asyncio.create_task(exchange(clients, KBA)) for _ in range(40)]
        meanwhile = [await exchange(clients, MUENCHEN)]
        still_hanging = sum(not task.done() for task in hanging)  # after one, as above
        meanwhile += [await exchange(clients, MUENCHEN) for _ in range(4)]
        hung = await asyncio.gather(*hanging)
    finally:
        await clear_faults(running)
    assert all(isinstance(result, uuid.UUID) for result in meanwhile), meanwhile
    assert still_hanging > 0  # München answered while KBA's fetches were still open
    assert {getattr(result, "code", None) for result in hung} == {EdmCode.TIMEOUT}
    assert isinstance(await exchange(clients, KBA), uuid.UUID)


async def test_a_slow_register_delivers_and_does_not_slow_the_others(
    running: Running, clients: dict[str, tuple[AsyncClient, Target]]
) -> None:
    """KBA answers after 2.5 s (within its SAK's 5 s wait): its fetches deliver, and a
    München fetch started after KBA's finishes before them."""
    await set_fault(running, None, {"latency_ms": 2500})
    try:
        slow = [asyncio.create_task(exchange(clients, KBA)) for _ in range(4)]
        # Counted after the first München fetch only: three in a row can take longer than
        # KBA's delay on a loaded CI machine, and that would say nothing about the SAKs.
        fast = [await exchange(clients, MUENCHEN)]
        overtaken = sum(not task.done() for task in slow)
        fast += [await exchange(clients, MUENCHEN) for _ in range(2)]
        slow_results = await asyncio.gather(*slow)
    finally:
        await clear_faults(running)
    assert all(isinstance(result, uuid.UUID) for result in fast + slow_results)
    assert overtaken > 0


async def test_the_path_recovers_when_a_killed_register_is_restarted(
    running: Running, clients: dict[str, tuple[AsyncClient, Target]]
) -> None:
    """kill -9 KBA: its fetches fail as 0008 (its SAK finds it unreachable), München
    delivers; after a restart of the KBA process its very next fetch delivers again."""
    assert isinstance(await exchange(clients, KBA), uuid.UUID)  # a pooled connection
    register = running.processes[KBA]
    register.kill()
    try:
        down = [await exchange(clients, KBA) for _ in range(3)]
        others = [await exchange(clients, MUENCHEN) for _ in range(3)]
    finally:
        register.start()
    assert {getattr(result, "code", None) for result in down} == {EdmCode.QUERY_ERROR}
    assert all(isinstance(result, uuid.UUID) for result in others)
    assert isinstance(await exchange(clients, KBA), uuid.UUID)


async def test_a_replay_after_kill_9_and_restart_of_the_registers_sak_is_refused(
    running: Running, clients: dict[str, tuple[AsyncClient, Target]]
) -> None:
    """An envelope the KBA's SAK accepted, sent again after kill -9 and a restart of that
    SAK, is refused as a replay (0003, no data): its replay cache outlived the process."""
    _client, target = clients[KBA]
    armoury = running.armoury
    topology = armoury.topology
    kit = armoury.kit(topology.register(KBA))
    original = kit.fresh().raw
    url = running.sak_url(KBA) + TRANSPORT_PATH
    headers = {
        "Content-Type": "application/xml",
        "Authorization": f"Bearer {armoury.token(topology.register(KBA))}",
    }
    async with httpx.AsyncClient(timeout=60.0) as http:
        first = await http.post(url, content=original, headers=headers)
        assert read_answer(first.content, armoury.verifier).delivered
        sak = running.processes[topology.sak_id(KBA)]
        sak.kill()
        sak.start()
        again = await http.post(url, content=original, headers=headers)
    answer = read_answer(again.content, armoury.verifier)
    assert (answer.code, again.status_code) == (EdmCode.INVALID_REQUEST, 400)
    assert not answer.delivered
    assert isinstance(await exchange(clients, KBA), uuid.UUID)  # and it serves fresh ones
    assert target.consumer == kit.consumer
