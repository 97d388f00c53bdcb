"""Fixtures of the reliability tests: a landscape whose components run as real processes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from noots.testing.landscape import bootstrap
from noots.testing.processes import ProcessLandscape, component_processes
from tests.security.support import Armoury

ADMIN_TOKEN = "noots-security-admin"
KBA = "991-01234ZFZR-41"
MUENCHEN = "09162000-MELD-57"
#: The hub's wait for a register: long enough that a loaded machine answers in time, short
#: enough that a hanging register costs the tests little.
HUB_TIMEOUT = 5.0


@dataclass
class Running:
    processes: ProcessLandscape
    armoury: Armoury

    @property
    def hub_url(self) -> str:
        return self.processes["platform"].url + "/transport/v1/messages"


@pytest.fixture(scope="session")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """Platform, KBA and the Melderegister München as ``noots serve`` processes."""
    data_dir = tmp_path_factory.mktemp("processes")
    topology = bootstrap(data_dir, people=300)
    armoury = Armoury.prepare(data_dir, topology)
    env = {
        "NOOTS_ADMIN_TOKEN": ADMIN_TOKEN,
        "NOOTS_HUB_TIMEOUT_SECONDS": str(HUB_TIMEOUT),
        "NOOTS_LOG_LEVEL": "INFO",
    }
    with component_processes(data_dir, ["platform", KBA, MUENCHEN], env=env) as processes:
        yield Running(processes, armoury)
    armoury.foreign.close()
