"""The noots pytest plugin: a whole landscape on loopback for an online service's own tests.

Installed with noots (entry point ``pytest11``), so a project that depends on noots gets the
fixture without configuration::

    def test_the_application_gets_the_holders_vehicle(noots_landscape):
        client = noots_landscape.client("08118079-BPA-87")
        result = client.fetch_evidence(
            "Fahrzeughalterauskunft",
            purpose="Bewohnerparkausweis",
            person=parse_person("Erika Mustermann 1964-08-12"),
        )
        assert result.rows()

``noots_landscape`` (session scope) bootstraps a data directory (PKI, a small synthetic
population), starts every component of the topology — platform (RDN, VS, IAM, DSC, eID), IDA,
registers, their SAKs and the online services' SAKs — as real servers on free loopback ports in
this process, and stops them after the session. Your own online service talks to its SAK at
``noots_landscape.sak_url(<its participant id>)`` with an access token from
``noots_landscape.token(…)``, exactly as it will to the real one (docs/SAK.md).

Options (command line, or ini ``noots_topology``, ``noots_people``, ``noots_data_dir``):
``--noots-topology`` (default: noots' landscape.yaml),
``--noots-people`` (300), ``--noots-data-dir`` (default: a temporary directory; a directory
given here is reused across runs, which saves the bootstrap).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from noots.consumers import AsyncClient, Client
    from noots.testing.landscape import Landscape
    from noots.topology import Topology

__all__ = ["NootsLandscape", "noots_landscape", "pytest_addoption"]

_DEFAULT_PEOPLE = 300


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("noots", "a noots landscape for your tests (noots_landscape)")
    group.addoption(
        "--noots-topology",
        default=None,
        help="topology file of the landscape (default: noots' landscape.yaml)",
    )
    group.addoption(
        "--noots-people",
        type=int,
        default=None,
        help=f"size of the synthetic population (default {_DEFAULT_PEOPLE})",
    )
    group.addoption(
        "--noots-data-dir",
        default=None,
        help="data directory to bootstrap and reuse (default: a temporary one)",
    )
    parser.addini("noots_topology", "topology file of noots_landscape", default=None)
    parser.addini("noots_people", "population size of noots_landscape", default=None)
    parser.addini("noots_data_dir", "data directory of noots_landscape", default=None)


@dataclass
class NootsLandscape:
    """A running landscape: where each component listens, and clients of its online services."""

    landscape: Landscape
    _clients: list[Any] = field(default_factory=list, repr=False)

    @property
    def topology(self) -> Topology:
        return self.landscape.topology

    @property
    def data_dir(self) -> Path:
        return self.landscape.data_dir

    @property
    def topology_path(self) -> Path:
        return self.landscape.topology_path

    @property
    def clock_file(self) -> Path:
        """The shared clock every component of the landscape follows (``run/clock.json``)."""
        from noots.settings import CLOCK_FILE

        return self.data_dir / "run" / CLOCK_FILE

    def advance_clock(self, seconds: float) -> None:
        """Move the clock of every component forward by ``seconds`` (never back: replay
        caches would refuse what then looks older than what they have forgotten)."""
        from datetime import timedelta

        from noots.clock import advance_shared_offset

        if seconds < 0:
            raise ValueError("the landscape's clock only moves forward")
        advance_shared_offset(self.clock_file, timedelta(seconds=seconds))

    async def sleep(self, seconds: float) -> None:
        """For a client's ``sleep=``: move the landscape's clock instead of waiting, so an
        announced evidence is collected at once."""
        self.advance_clock(max(seconds, 0.0) + 0.01)

    def url(self, component: str) -> str:
        """Base URL of ``platform``, ``ida``, ``dashboard`` or any participant id (SAKs too:
        ``<participant id>.sak``)."""
        return self.landscape.url(component)

    def sak_url(self, participant_id: str) -> str:
        """The base URL of ``participant_id``'s SAK (its consumer or provider API)."""
        return self.url(self.topology.sak_id(participant_id))

    def client(self, consumer_id: str, **options: Any) -> Client:
        """The client library of online service ``consumer_id`` (closed after the session)."""
        from noots.consumers import Client

        client = Client.from_landscape(
            consumer_id, data_dir=self.data_dir, topology=self.topology_path, **options
        )
        self._clients.append(client)
        return client

    def async_client(self, consumer_id: str, **options: Any) -> AsyncClient:
        """The asynchronous client of ``consumer_id``; close it yourself (``async with``)."""
        from noots.consumers import AsyncClient

        return AsyncClient.from_landscape(
            consumer_id, data_dir=self.data_dir, topology=self.topology_path, **options
        )

    def token(self, participant_id: str, audience: str) -> str:
        """An IAM access token of ``participant_id`` for ``audience`` (e.g. your online
        service for its SAK ``<id>.sak``), minted with the landscape's IAM credential."""
        from noots.testing.iam import landscape_token

        return landscape_token(
            self.data_dir / "pki",
            participant_id,
            audience,
            iam_id=self.topology.platform.iam_id,
        )

    def close(self) -> None:
        for client in self._clients:
            with contextlib.suppress(Exception):
                client.close()
        self._clients.clear()


def _option(config: pytest.Config, name: str) -> Any:
    value = config.getoption(f"--noots-{name.replace('_', '-')}")
    if value is None:
        value = config.getini(f"noots_{name}") or None
    return value


@pytest.fixture(scope="session")
def noots_landscape(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NootsLandscape]:
    """Every component of the topology on loopback for the session (see the module doc)."""
    from noots.testing.landscape import serve_landscape
    from noots.topology import DEFAULT_TOPOLOGY_PATH

    config = request.config
    topology = _option(config, "topology")
    people = _option(config, "people")
    data_dir = _option(config, "data_dir")
    directory = Path(data_dir) if data_dir else tmp_path_factory.mktemp("noots-landscape")
    with serve_landscape(
        directory,
        source=Path(topology) if topology else DEFAULT_TOPOLOGY_PATH,
        people=int(people) if people else _DEFAULT_PEOPLE,
        start_timeout=120.0,
    ) as landscape:
        running = NootsLandscape(landscape)
        try:
            yield running
        finally:
            running.close()
