"""Settings of one register process (``NOOTS_*`` environment variables).

The shared part (data directory, topology, mode, clock, protocol log) comes from
:class:`~noots.settings.NootsSettings`; what registers and the IDA share (the population they
answer from, where restart-safe state lives) from :class:`ProviderSettings`. Neither keeps a
replay cache: the SAK in front of a register has it, and the IDA takes access tokens. A
register is named by its participant id, or by its kind (and, for a Melderegister, the region
AGS) as the topology lists it.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from noots.errors import ConfigurationError
from noots.faults import FaultPlan
from noots.settings import StateSettings
from noots.topology import RegisterKind, RegisterSpec, Topology

__all__ = ["ProviderSettings", "RegisterSettings"]


class ProviderSettings(StateSettings):
    """What every process answering from the population has: registers and the IDA."""

    population: Path | None = Field(
        default=None, description="Population file; <data_dir>/population.db if unset."
    )

    @property
    def pki_dir(self) -> Path:
        return self.data_dir / "pki"

    @property
    def population_path(self) -> Path:
        return self.population or self.data_dir / "population.db"


class RegisterSettings(ProviderSettings):
    """Settings of a data provider; ``NOOTS_PARTICIPANT_ID``, ``NOOTS_KIND``, ``NOOTS_REGION``…"""

    participant_id: str | None = Field(
        default=None, description="The register's participant id (as in the topology)."
    )
    kind: RegisterKind | None = Field(
        default=None, description="Register kind; enough when the topology has one of it."
    )
    region: str | None = Field(
        default=None, description="AGS of the municipality (picks one of several Melderegister)."
    )
    admin_token: SecretStr | None = Field(
        default=None,
        description="Bearer token of /admin/v1/… (test mode only; unset = no admin endpoints).",
    )
    faults: FaultPlan = Field(
        default_factory=FaultPlan, description="Faults to inject from the start (JSON)."
    )
    pending_limit: int = Field(
        default=10_000, ge=1, description="Asynchronous requests kept until collected."
    )
    async_delay_seconds: float | None = Field(
        default=None,
        ge=0,
        description="Delay of asynchronous answers; unset: each behaviour identity's own.",
    )
    slow_delay_seconds: float | None = Field(
        default=None, ge=0, description="Delay of slow answers; unset: each identity's own."
    )

    def register_spec(self, topology: Topology, kind: RegisterKind | None = None) -> RegisterSpec:
        """The topology entry of this register (by participant id, else by kind and region)."""
        kind = kind or self.kind
        if self.participant_id is not None:
            spec = topology.register(self.participant_id)
            if kind is not None and spec.kind != kind:
                raise ConfigurationError(
                    f"participant {self.participant_id!r} is a {spec.kind}, not a {kind}"
                )
            return spec
        candidates = [
            r
            for r in topology.registers
            if (kind is None or r.kind == kind) and (self.region is None or r.region == self.region)
        ]
        if len(candidates) != 1:
            what = kind or "register"
            where = f" for region {self.region}" if self.region else ""
            raise ConfigurationError(
                f"{len(candidates)} {what} entries{where} in the topology: "
                "set NOOTS_PARTICIPANT_ID or NOOTS_REGION"
            )
        return candidates[0]
