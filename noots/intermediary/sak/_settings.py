"""Settings of one SAK process (``NOOTS_*`` environment variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from noots.faults import FaultPlan
from noots.settings import ReplaySettings

__all__ = ["SakSettings"]


class SakSettings(ReplaySettings):
    """A Sicherer Anschlussknoten: the participant it connects, and its limits.

    The replay settings (window, cache size, state directory) apply to the requests a data
    provider's SAK receives from other SAKs.
    """

    participant_id: str = Field(
        description="The register or online service this SAK connects (its topology id)."
    )
    provider_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long a data provider's SAK waits for its register's answer.",
    )
    peer_timeout_seconds: float = Field(
        default=20.0,
        gt=0,
        description=(
            "How long an online service's SAK waits for the provider's SAK; longer than the "
            "provider's own wait, so a slow register is reported by its SAK (EDM:ERR:0005)."
        ),
    )
    peer_timeouts: dict[str, float] = Field(
        default_factory=dict,
        description="Per-provider waits in seconds (provider participant id → seconds), JSON.",
    )
    max_in_flight: int = Field(
        default=32, ge=1, description="Requests open to one provider's SAK at a time."
    )
    passive_wait_max_seconds: float = Field(
        default=25.0,
        gt=0,
        le=300,
        description="Longest wait of one fetch by a register in passive mode (long poll).",
    )
    passive_queue_limit: int = Field(
        default=1000, ge=1, description="Requests waiting for a passive register at most."
    )
    async_handle_limit: int = Field(
        default=10_000, ge=1, description="Asynchronous submissions kept for collection."
    )
    async_handle_seconds: float = Field(
        default=600.0, gt=0, description="How long a finished asynchronous answer is kept."
    )
    route_cache_seconds: float = Field(
        default=60.0, ge=0, description="How long the SAK reuses an RDN answer."
    )
    admin_token: SecretStr | None = Field(
        default=None,
        description="Bearer token of /admin/v1/faults (test mode only; unset = no admin API).",
    )
    faults: FaultPlan = Field(
        default_factory=FaultPlan,
        description="A data provider's SAK: faults of its answers from the start (JSON).",
    )

    @field_validator("peer_timeouts")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        for provider, seconds in value.items():
            if not seconds > 0:
                raise ValueError(f"timeout for {provider!r} must be positive")
        return value

    @property
    def pki_dir(self) -> Path:
        return self.data_dir / "pki"

    def peer_timeout(self, provider: str) -> float:
        return self.peer_timeouts.get(provider, self.peer_timeout_seconds)
