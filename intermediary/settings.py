"""Settings of the platform process (``NOOTS_*`` environment variables).

Everything the landscape shares (data directory, topology, mode, clock) comes from
:class:`~noots.settings.NootsSettings`; this class adds what only the platform needs: where
the admin token and the transport hub's limits (where the protocol logs live is shared:
:meth:`~noots.settings.NootsSettings.protocol_log_target`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from noots.settings import ReplaySettings

__all__ = ["PlatformSettings"]


class PlatformSettings(ReplaySettings):
    """Settings of the platform (hub, RDN, VS, IAM für Behörden, PKI, DSC, simulated eID).

    The replay settings (:class:`~noots.settings.ReplaySettings`, the same ``NOOTS_*``
    variables as every receiver of signed requests) apply to the VS's token requests.
    """

    admin_token: SecretStr | None = Field(
        default=None,
        description="Bearer token of /admin/v1/… (test mode only; unset = no admin endpoints).",
    )
    hub_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long the hub waits for a data provider's answer."
    )
    hub_provider_timeouts: dict[str, float] = Field(
        default_factory=dict,
        description="Per-provider timeouts in seconds (participant id → seconds), as JSON.",
    )
    hub_max_in_flight: int = Field(
        default=32, ge=1, description="Requests the hub has open to one provider at a time."
    )
    vs_token_lifetime_seconds: float = Field(
        default=300.0, gt=0, description="How long a Vermittlungsstelle token is valid."
    )
    iam_token_lifetime_seconds: float = Field(
        default=300.0,
        ge=10,
        le=86_400,
        description="How long an access token of the IAM für Behörden is valid.",
    )
    eid_identity_lifetime_seconds: float = Field(
        default=900.0, gt=0, description="How long an identity token of the simulated eID lasts."
    )

    @field_validator("hub_provider_timeouts")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        for provider, seconds in value.items():
            if not seconds > 0:
                raise ValueError(f"timeout for {provider!r} must be positive")
        return value

    @property
    def pki_dir(self) -> Path:
        return self.data_dir / "pki"

    @property
    def log_dir(self) -> Path:
        """Where every party of the landscape keeps its SQLite protocol log."""
        return self.data_dir / "logs"

    @property
    def vs_log_path(self) -> Path:
        """The Vermittlungsstelle's abstract log (SQLite), apart from the § 9 protocol logs."""
        return self.data_dir / "vs" / "decisions.db"

    def timeout_for(self, provider: str) -> float:
        return self.hub_provider_timeouts.get(provider, self.hub_timeout_seconds)
