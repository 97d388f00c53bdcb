"""Crash safety of the protocol logs: kill -9 a register, its SAK and the platform under load,
restart them, and every transfer an online service got evidence for is in its log and the
register's, once, with hash chains that verify."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from noots.testing.load import (
    Tally,
    Target,
    consumer_clients,
    duplicates,
    lost,
    protocol_log_entries,
    worker,
)
from tests.security.conftest import KBA, MUENCHEN, Running

pytestmark = pytest.mark.e2e

WORKERS_PER_TARGET = 2
#: Deliveries to wait for between the crashes (a bound, not a time).
STEP = 8
STEP_TIMEOUT = 90.0


async def until(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition``; fail (with ``what``) if it is not met within STEP_TIMEOUT."""
    async with asyncio.timeout(STEP_TIMEOUT):
        while not condition():
            await asyncio.sleep(0.05)
    assert condition(), what


async def test_kill_9_of_register_sak_and_platform_under_load_loses_and_duplicates_nothing(
    running: Running,
) -> None:
    """Load through the SAKs to two registers; kill -9 KBA, restart; kill -9 KBA's SAK,
    restart; kill -9 the platform, restart; then every delivered request id is logged as
    delivered exactly once by the online service and by its register, every chain verifies,
    and no log holds a duplicate."""
    data_dir, topology = running.processes.data_dir, running.processes.topology
    targets = [Target.of(data_dir, topology, topology.register(r)) for r in (KBA, MUENCHEN)]
    consumers = sorted({t.consumer for t in targets})
    tally = Tally()
    stop = asyncio.Event()
    async with consumer_clients(data_dir, topology, {t.consumer for t in targets}) as by_consumer:
        tasks = [
            asyncio.create_task(worker(by_consumer[t.consumer], t, tally, stop))
            for t in targets
            for _ in range(WORKERS_PER_TARGET)
        ]
        try:
            loop = asyncio.get_running_loop()
            await until(lambda: len(tally.delivered) >= STEP, "no load before the first crash")
            running.processes[KBA].kill()
            await loop.run_in_executor(None, running.processes[KBA].start)
            await until(lambda: len(tally.delivered) >= 2 * STEP, "no deliveries after KBA")
            sak = running.processes[topology.sak_id(KBA)]
            sak.kill()
            await loop.run_in_executor(None, sak.start)
            await until(lambda: len(tally.delivered) >= 3 * STEP, "no deliveries after its SAK")
            running.processes["platform"].kill()
            await loop.run_in_executor(None, running.processes["platform"].start)
            await until(
                lambda: len(tally.delivered) >= 4 * STEP, "no deliveries after the platform"
            )
        finally:
            stop.set()
            await asyncio.gather(*tasks)
    print(  # shown with -rP: the numbers of this run
        f"attempted {tally.attempted}, delivered {len(tally.delivered)}, "
        f"failed {tally.failed} {dict(tally.errors)}"
    )
    assert tally.unclear == []
    assert tally.attempted == len(tally.delivered) + tally.failed
    assert tally.failed > 0  # the crashes did hit exchanges under way
    for party in (*consumers, KBA, MUENCHEN):
        count, entries = protocol_log_entries(data_dir, party)  # ChainBroken if not intact
        assert count == len(entries)
        assert duplicates(entries) == [], party
    assert set(tally.delivered.values()) == {KBA, MUENCHEN}
    assert lost(tally, data_dir, consumers) == {}
