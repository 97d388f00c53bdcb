"""How a scenario run reaches a landscape: its data directory, topology, admin token, clock.

A landscape started by ``noots up`` is found through ``<data_dir>/run/landscape.json``
(:func:`noots.supervisor.running_landscape`), which names the topology and the file with the
admin token. Any other landscape (``noots.testing.landscape``, containers) is attached with an
explicit topology and admin token. The run needs the data directory itself: it signs as the
consumers it acts for, seals crafted tokens as the VS, reads the parties' protocol logs and
moves the landscape's shared clock.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from noots.clock import LandscapeClock
from noots.errors import ConfigurationError
from noots.settings import CLOCK_FILE, NootsSettings
from noots.topology import Topology, load_topology

__all__ = ["LandscapeAccess"]


@dataclass
class LandscapeAccess:
    """Everything a scenario run needs to act on one landscape.

    ``transport`` replaces the network (in-process landscapes in tests).
    """

    data_dir: Path
    topology: Topology
    topology_path: Path
    admin_token: str | None = None
    transport: httpx.AsyncBaseTransport | None = field(default=None, repr=False)

    @property
    def pki_dir(self) -> Path:
        return self.data_dir / "pki"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def clock_file(self) -> Path:
        return self.data_dir / "run" / CLOCK_FILE

    def clock(self) -> LandscapeClock:
        """The landscape's simulated clock, as every component of it reads it."""
        return LandscapeClock(self.clock_file)

    def url(self, participant_or_component: str) -> str:
        return self.topology.base_url(participant_or_component)

    def protocol_target(self, party: str) -> str:
        """Where ``party`` keeps its protocol log, as the landscape's components resolve it
        (``NOOTS_DATABASE_URL``, the topology's database, else SQLite)."""
        settings = NootsSettings(data_dir=self.data_dir, topology=self.topology_path)
        return str(settings.protocol_log_target(party, self.topology))

    @classmethod
    def running(cls, data_dir: Path) -> LandscapeAccess | None:
        """The landscape ``noots up`` runs for ``data_dir``, if one does."""
        from noots.supervisor import running_landscape

        info = running_landscape(data_dir.resolve())
        if info is None:
            return None
        token = None
        if info.admin_token_file:
            try:
                token = Path(info.admin_token_file).read_text(encoding="ascii").strip()
            except OSError:
                token = None
        topology_path = Path(info.topology)
        return cls(Path(info.data_dir), load_topology(topology_path), topology_path, token)

    @classmethod
    def attach(
        cls, data_dir: Path, topology_path: Path, *, admin_token: str | None = None
    ) -> LandscapeAccess:
        """A landscape described by ``topology_path`` whose state is in ``data_dir``."""
        if not (data_dir / "pki" / "ca" / "root-cert.pem").is_file():
            raise ConfigurationError(
                f"{data_dir} holds no landscape PKI: pass the data dir the landscape runs on"
            )
        token = admin_token or os.environ.get("NOOTS_ADMIN_TOKEN")
        return cls(data_dir, load_topology(topology_path), topology_path, token)
