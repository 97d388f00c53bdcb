"""Finding the landscape an online service connects to, from a data directory.

``noots up`` writes ``<data_dir>/run/landscape.json`` while it runs: the topology it serves
(its ports) and whether it speaks mutual TLS. Without that file the topology file
(``NOOTS_TOPOLOGY``, else the project's ``landscape.yaml``) and ``NOOTS_TLS`` say where to go.
``NOOTS_DATA_DIR`` is the data directory when none is given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from noots.errors import ConfigurationError, NootsError

if TYPE_CHECKING:
    import httpx

    from noots.participant import Participant
    from noots.protocol import ProtocolLog
    from noots.settings import NootsSettings
    from noots.topology import Topology

__all__ = ["RunningLandscape", "find_landscape"]


@dataclass(frozen=True)
class RunningLandscape:
    """Where a landscape runs (topology, TLS) and the settings of its data directory."""

    settings: NootsSettings
    topology: Topology
    tls: bool

    @property
    def pki_dir(self) -> Path:
        return self.settings.data_dir / "pki"

    def check_consumer(self, consumer_id: str) -> None:
        """:class:`ConfigurationError` unless ``consumer_id`` is an online service here."""
        ids = [c.participant_id for c in self.topology.consumers]
        if consumer_id not in ids:
            raise ConfigurationError(
                f"{consumer_id!r} is not a data consumer of this landscape (wrong --as?); "
                f"consumers: {', '.join(ids)}"
            )

    def participant(self, consumer_id: str) -> Participant:
        """The online service's credential from the data directory's PKI."""
        from noots.participant import load_participant
        from noots.pki import UnknownParticipant

        self.check_consumer(consumer_id)
        try:
            return load_participant(self.pki_dir, consumer_id, clock=self.settings.clock())
        except (UnknownParticipant, FileNotFoundError):
            raise ConfigurationError(
                f"no credential for {consumer_id} under {self.pki_dir} (start the landscape "
                "once with `noots up`, or pass the right data directory)"
            ) from None

    def transport(self, consumer_id: str) -> httpx.AsyncBaseTransport | None:
        """With TLS: a transport that presents the online service's own certificate (its SAK
        accepts only its own online service); without: None (plain HTTP)."""
        if not self.tls:
            return None
        import httpx

        from noots.tls import TlsFiles, client_context

        files = TlsFiles.for_participant(self.pki_dir, consumer_id)
        return httpx.AsyncHTTPTransport(verify=client_context(files), trust_env=False)

    def protocol_log(self, consumer_id: str, participant: Participant) -> ProtocolLog:
        """The online service's protocol log where the landscape keeps them (§ 9 IDNrG)."""
        from noots.protocol import open_protocol_log

        return open_protocol_log(
            self.settings.protocol_log_target(consumer_id, self.topology),
            party=consumer_id,
            clock=participant.clock,
        )


def find_landscape(
    data_dir: str | os.PathLike[str] | None = None,
    topology: str | os.PathLike[str] | None = None,
) -> RunningLandscape:
    """The landscape ``noots up`` runs for ``data_dir`` (its run file), else the one the
    topology file and ``NOOTS_TLS`` describe; an explicit ``topology`` wins over the run
    file's (its TLS still counts). Problems are :class:`ConfigurationError`."""
    from noots.settings import load_settings
    from noots.supervisor import running_landscape
    from noots.topology import load_topology

    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = Path(data_dir)
    if topology is not None:
        overrides["topology"] = Path(topology)
    settings = load_settings(**overrides)
    info = running_landscape(settings.data_dir.resolve())
    if info is None:
        return RunningLandscape(settings, settings.load_topology(), settings.tls)
    if topology is not None:
        return RunningLandscape(settings, settings.load_topology(), info.tls)
    try:
        return RunningLandscape(settings, load_topology(Path(info.topology)), info.tls)
    except NootsError as exc:
        raise ConfigurationError(
            f"the running landscape's topology is unusable: {exc.message}"
        ) from None
