"""Fixtures of the reliability tests: a landscape whose components run as real processes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from noots.testing.landscape import bootstrap
from noots.testing.load import consumer_for
from noots.testing.processes import ProcessLandscape, component_processes
from tests.security.support import Armoury

ADMIN_TOKEN = "noots-security-admin"
KBA = "991-01234ZFZR-41"
MUENCHEN = "09162000-MELD-57"
#: How long a register's SAK waits for it: long enough that a loaded machine answers in time,
#: short enough that a hanging register costs the tests little.
PROVIDER_TIMEOUT = 5.0


@dataclass
class Running:
    processes: ProcessLandscape
    armoury: Armoury

    def sak_url(self, participant: str) -> str:
        """The base URL of ``participant``'s SAK."""
        return self.processes.topology.base_url(self.processes.topology.sak_id(participant))


@pytest.fixture(scope="session")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """Platform, KBA and the Melderegister München, their SAKs and the SAKs of the online
    services that ask them, as ``noots serve`` processes."""
    data_dir = tmp_path_factory.mktemp("processes")
    topology = bootstrap(data_dir, people=300)
    armoury = Armoury.prepare(data_dir, topology)
    consumers = {consumer_for(topology, topology.register(r))[0] for r in (KBA, MUENCHEN)}
    saks = [topology.sak_id(p) for p in (KBA, MUENCHEN, *sorted(consumers))]
    env = {
        "NOOTS_ADMIN_TOKEN": ADMIN_TOKEN,
        "NOOTS_PROVIDER_TIMEOUT_SECONDS": str(PROVIDER_TIMEOUT),
        "NOOTS_LOG_LEVEL": "INFO",
    }
    names = ["platform", KBA, MUENCHEN, *saks]
    with component_processes(data_dir, names, env=env) as processes:
        yield Running(processes, armoury)
    armoury.foreign.close()
