"""Settings of the dashboard (``NOOTS_*`` environment variables, see :class:`DashboardSettings`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from noots.settings import NootsSettings

__all__ = ["DashboardSettings"]


class DashboardSettings(NootsSettings):
    """What the dashboard needs beyond the shared settings."""

    admin_token: SecretStr | None = Field(
        default=None,
        description="Bearer token of the registers' /admin/v1/faults (fault toggles); "
        "without it the dashboard offers no fault toggles.",
    )
    participant_id: str | None = Field(
        default=None,
        description="Whose credential verifies signatures for display (default: the "
        "topology's simulator id).",
    )
    event_capacity: int = Field(
        default=2000, ge=10, le=100_000, description="Flow events kept for the live view."
    )
    reports_dir: Path | None = Field(
        default=None, description="Conformance reports (default: <data_dir>/reports)."
    )
    health_timeout_seconds: float = Field(
        default=2.0, gt=0, le=30, description="How long one component's /health may take."
    )
    pilot_attempts: int = Field(
        default=2, ge=1, le=5, description="Attempts per evidence when a pilot runs (retries)."
    )

    def reports_path(self) -> Path:
        return self.reports_dir or self.data_dir / "reports"
