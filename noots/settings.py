"""Settings every noots process shares, read from ``NOOTS_*`` environment variables.

Each service extends :class:`NootsSettings` with what only it needs (a register its
participant id, for example) and is built from it by ``create_app(settings)``. Settings are
checked at start: :func:`load_settings` turns every problem into one
:class:`~noots.errors.ConfigurationError` that names the variable.
"""

from __future__ import annotations

import math
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar, overload

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from noots.clock import Clock, LandscapeClock, SystemClock
from noots.errors import ConfigurationError
from noots.topology import DEFAULT_TOPOLOGY_PATH, Topology, load_topology

if TYPE_CHECKING:
    from noots.envelope import ReplayGuard
    from noots.state import StateFile

__all__ = [
    "CLOCK_FILE",
    "Mode",
    "NootsSettings",
    "ReplaySettings",
    "StateSettings",
    "load_settings",
]

#: The shared clock offset of a landscape, below ``<data_dir>/run``.
CLOCK_FILE = "clock.json"


class Mode(StrEnum):
    """``test`` accepts test IDNrs and offers admin/fault endpoints; ``strict`` does neither."""

    TEST = "test"
    STRICT = "strict"


LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class NootsSettings(BaseSettings):
    """Shared settings; environment variables ``NOOTS_DATA_DIR``, ``NOOTS_MODE``, …"""

    model_config = SettingsConfigDict(
        env_prefix="NOOTS_", extra="ignore", frozen=True, validate_default=True
    )

    data_dir: Path = Field(
        default=Path("./noots-data"), description="State: PKI, population, protocol logs."
    )
    topology: Path = Field(default=DEFAULT_TOPOLOGY_PATH, description="The landscape file.")
    mode: Mode = Field(
        default=Mode.TEST, description="strict = production-like: no test IDNrs, no admin API."
    )
    tls: bool = Field(default=False, description="Serve and call over HTTPS.")
    clock_offset_seconds: float = Field(
        default=0.0, description="Shift of the simulated clock against the wall clock."
    )
    log_level: LogLevel = "INFO"
    worker_threads: int = Field(
        default=4,
        ge=1,
        le=256,
        description=(
            "Threads a server runs its blocking steps on (signatures, XML, protocol log). More "
            "than a few only make CPU-bound Python threads fight over the interpreter lock."
        ),
    )
    hosts: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Hosts that replace the topology's for some components (JSON: component name or "
            "participant id → host), e.g. the service names inside docker compose."
        ),
    )
    trace_url: str | None = Field(
        default=None,
        description=(
            "The dashboard's collector (…/events/v1) this process reports each hop of an "
            "exchange to (noots.trace); `noots up` sets it. Unset or empty: no tracing."
        ),
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "Where every party keeps its protocol log: a postgresql:// URL. Unset: the "
            "topology's platform.database, else SQLite files under <data_dir>/logs."
        ),
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("trace_url", mode="before")
    @classmethod
    def _trace_url(cls, value: object) -> object:
        if value == "":
            return None
        if isinstance(value, str) and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("clock_offset_seconds")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number of seconds")
        return value

    @field_validator("data_dir")
    @classmethod
    def _directory(cls, value: Path) -> Path:
        if value.exists() and not value.is_dir():
            raise ValueError(f"{value} exists and is not a directory")
        return value

    @field_validator("topology")
    @classmethod
    def _file(cls, value: Path) -> Path:
        if not value.is_file():
            raise ValueError(f"no topology file at {value}")
        return value

    @property
    def strict(self) -> bool:
        return self.mode is Mode.STRICT

    def clock(self) -> SystemClock:
        """The process clock: the wall clock shifted by ``clock_offset_seconds`` and, in test
        mode, by the landscape's shared offset (``<data_dir>/run/clock.json``, moved by
        scenario suites; see :class:`~noots.clock.LandscapeClock`)."""
        offset = timedelta(seconds=self.clock_offset_seconds)
        if self.strict:
            return SystemClock(offset)
        return LandscapeClock(self.data_dir / "run" / CLOCK_FILE, offset)

    def protocol_database(self, topology: Topology) -> str | None:
        """The one database every party of the landscape logs to, if it has one.

        All parties must agree on it: the Datenschutzcockpit reads only there (or, without
        one, every SQLite file under ``<data_dir>/logs``).
        """
        return self.database_url or topology.platform.database

    def protocol_log_target(self, party: str, topology: Topology) -> str | Path:
        """Where ``party`` keeps its protocol log (for :func:`noots.protocol.open_protocol_log`)."""
        from noots.paths import LandscapePaths

        return self.protocol_database(topology) or LandscapePaths(self.data_dir).protocol_log(party)

    def load_topology(self) -> Topology:
        """The landscape this process belongs to (raises ``TopologyError``), with ``hosts``
        applied."""
        topology = load_topology(self.topology)
        if not self.hosts:
            return topology
        from noots.components import with_hosts

        return with_hosts(topology, self.hosts)


class StateSettings(NootsSettings):
    """Where a process keeps what must survive a restart (:mod:`noots.state`)."""

    state_dir: Path | None = Field(
        default=None,
        description="Restart-safe state (replay cache, announced answers); <data_dir>/state.",
    )

    def state_path(self, participant_id: str) -> Path:
        """This participant's state file (:mod:`noots.state`)."""
        from noots.paths import LandscapePaths

        if self.state_dir is not None:
            return self.state_dir / f"{participant_id}.db"
        return LandscapePaths(self.data_dir).state_file(participant_id)


class ReplaySettings(StateSettings):
    """What every process that accepts signed envelopes needs against replays: the freshness
    window, the size of the replay cache and where it is journaled (:mod:`noots.state`)."""

    replay_window_seconds: float = Field(
        default=300.0, gt=0, le=86_400, description="Accepted age of an envelope's Created (±)."
    )
    replay_cache_size: int = Field(
        default=100_000, ge=1, description="Envelope ids remembered against replay."
    )

    @property
    def replay_window(self) -> timedelta:
        return timedelta(seconds=self.replay_window_seconds)

    def replay_guard(self, clock: Clock, state: StateFile) -> ReplayGuard:
        """A replay cache journaled in ``state``, so no envelope is accepted twice across a
        restart."""
        from noots.envelope import ReplayGuard
        from noots.state import ReplayJournal

        return ReplayGuard(
            clock,
            window=self.replay_window,
            max_entries=self.replay_cache_size,
            journal=ReplayJournal(state),
        )


SettingsT = TypeVar("SettingsT", bound=NootsSettings)


@overload
def load_settings(**overrides: object) -> NootsSettings: ...


@overload
def load_settings(cls: type[SettingsT], /, **overrides: object) -> SettingsT: ...


def load_settings(
    cls: type[NootsSettings] = NootsSettings, /, **overrides: object
) -> NootsSettings:
    """Build ``cls`` from the environment and ``overrides``; problems become one
    :class:`ConfigurationError` naming each ``NOOTS_*`` variable."""
    try:
        return cls(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        prefix = str(cls.model_config.get("env_prefix", ""))
        lines = []
        for error in exc.errors(include_url=False):
            field = ".".join(str(part) for part in error["loc"])
            lines.append(f"{prefix}{field.upper()} ({field}): {error['msg']}")
        raise ConfigurationError("invalid settings:\n  " + "\n  ".join(lines)) from None
