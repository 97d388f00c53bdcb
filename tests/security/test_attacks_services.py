"""Every attack of noots.conformance.attacks against the SAK of every register, as the asking
online service's SAK (in-process ASGI): refused with the right code, signed and bound, and
without personal data; what the register itself checks (the VS token) it refuses behind its
SAK."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from noots.clock import SystemClock
from noots.conformance.attacks import ATTACKS, AttackKit, leaked_personal_data
from noots.envelope import request_digest
from noots.errors import EdmCode
from noots.protocol import open_protocol_log
from noots.testing.landscape import Landscape, bootstrap, landscape_in_process
from noots.tokens import uses_idnr
from noots.topology import RegisterSpec, load_topology
from tests.security.support import Armoury, read_answer

# One in-process landscape (platform, every register and SAK) serves every test of the module.
in_module_loop = pytest.mark.asyncio(loop_scope="module")
pytestmark = pytest.mark.slow

STATUS = {EdmCode.AUTHENTICATION: 401, EdmCode.AUTHORISATION: 403, EdmCode.INVALID_REQUEST: 400}
TOPOLOGY = load_topology()
REGISTERS = [r.participant_id for r in TOPOLOGY.registers]


@pytest.fixture(scope="module")
def armoury(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Armoury]:
    data_dir = tmp_path_factory.mktemp("attacks")
    topology = bootstrap(data_dir, people=300)
    armoury = Armoury.prepare(data_dir, topology)
    yield armoury
    armoury.foreign.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def wired(armoury: Armoury) -> AsyncIterator[tuple[Landscape, httpx.AsyncClient]]:
    async with (
        landscape_in_process(armoury.data_dir, consumers=False, ida=False) as (landscape, routes),
        httpx.AsyncClient(transport=routes) as client,
    ):
        yield landscape, client


def token_needed(kit: AttackKit) -> bool:
    """Whether the kit's transfer needs a VS token (else one missing is no attack at all)."""
    request = kit.fresh().request
    return TOPOLOGY.vs_rule(kit.consumer, kit.provider, uses_idnr=uses_idnr(request)).required


def applicable(kit: AttackKit) -> list[str]:
    """The attacks that apply to ``kit``: all but the IDNr one without a natural subject, and
    ``no_token`` only where the transfer needs a token (§ 7 Abs. 2, § 12 Abs. 2 IDNrG)."""
    return [
        name
        for name, attack in ATTACKS.items()
        if attack.applies_to(kit) and (name != "no_token" or token_needed(kit))
    ]


async def run_attacks(
    client: httpx.AsyncClient, url: str, kit: AttackKit, armoury: Armoury, token: str
) -> tuple[list[str], int]:
    """Send every applicable attack; return the problems found and how many attacks ran."""
    problems: list[str] = []
    ran = 0
    headers = {"Content-Type": "application/xml", "Authorization": f"Bearer {token}"}
    for name in applicable(kit):
        attack = ATTACKS[name]
        ran += 1
        hostile = attack.build(kit)
        for raw in hostile.prelude:
            first = await client.post(url, content=raw, headers=headers)
            if first.status_code != 200:
                problems.append(f"{attack.name}: prelude answered {first.status_code}")
        response = await client.post(url, content=hostile.raw, headers=headers)
        where = f"{attack.name}: HTTP {response.status_code}"
        try:
            answer = read_answer(response.content, armoury.verifier)
        except Exception as error:  # an unsigned or unreadable answer is itself the finding
            problems.append(f"{where}: answer unusable ({type(error).__name__}: {error})")
            continue
        if answer.code is not hostile.code:
            problems.append(f"{where}: code {answer.code}, expected {hostile.code}")
        if response.status_code != STATUS[hostile.code]:
            problems.append(f"{where}: expected HTTP {STATUS[hostile.code]}")
        if answer.delivered:
            problems.append(f"{where}: evidence delivered")
        bound = answer.envelope.header.in_response_to
        if bound not in (request_digest(hostile.raw), None):
            problems.append(f"{where}: answer bound to other bytes")
        if leaked := leaked_personal_data(response.content, kit):
            problems.append(f"{where}: personal data in the answer: {leaked}")
    return problems, ran


def delivered_in_log(data_dir: Path, party: str) -> int:
    log = open_protocol_log(data_dir / "logs" / f"{party}.db", party=party, clock=SystemClock())
    try:
        log.verify()
        return sum(1 for e in log.entries() if e.outcome == "delivered")
    finally:
        log.close()


@in_module_loop
@pytest.mark.parametrize("register", REGISTERS)
async def test_every_attack_on_a_registers_sak_is_refused_without_data(
    register: str, armoury: Armoury, wired: tuple[Landscape, httpx.AsyncClient]
) -> None:
    """POST /transport/v1/messages of each register's SAK refuses each attack with its code
    and no data, itself (envelope, certificates, replay, hostile XML) or by passing on the
    register's own refusal (the VS token); only the replay's original is delivered and logged
    by the register."""
    landscape, client = wired
    spec: RegisterSpec = armoury.topology.register(register)
    kit = armoury.kit(spec)
    before = delivered_in_log(armoury.data_dir, register)
    url = landscape.url(armoury.topology.sak_id(register)) + "/transport/v1/messages"
    problems, ran = await run_attacks(client, url, kit, armoury, armoury.token(spec))
    assert problems == []
    assert ran == len(applicable(kit)) >= len(ATTACKS) - 2
    assert delivered_in_log(armoury.data_dir, register) - before == 1


def test_the_kits_cover_natural_and_legal_subjects(armoury: Armoury) -> None:
    """Every register gets a kit; the IDNr attack applies wherever the subject has an IDNr."""
    for register in armoury.topology.registers:
        kit = armoury.kit(register)
        applies = ATTACKS["idnr_of_another_person"].applies_to(kit)
        assert applies is (register.kind != "handelsregister")
