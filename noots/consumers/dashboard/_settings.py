"""Settings of the dashboard (``NOOTS_*`` environment variables, see :class:`DashboardSettings`)
and of every process that reports flow events to it (:class:`ReportingSettings`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from noots.consumers.dashboard._door import host_of
from noots.settings import NootsSettings

__all__ = ["DashboardSettings", "ReportingSettings"]


class ReportingSettings(NootsSettings):
    """What a component needs to report flow events to the dashboard's collector."""

    events_key: SecretStr | None = Field(
        default=None,
        description="The landscape's key for reporting flow events to the dashboard "
        "(NOOTS_EVENTS_KEY, e.g. from a Kubernetes secret); default: the file "
        "<data_dir>/run/dashboard-events.key, created when missing, renewed by `noots up`.",
    )

    @field_validator("events_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters")
        return value


class DashboardSettings(ReportingSettings):
    """What the dashboard needs beyond the shared settings."""

    admin_token: SecretStr | None = Field(
        default=None,
        description="Bearer token of the registers' /admin/v1/faults (fault toggles); "
        "without it the dashboard offers no fault toggles.",
    )
    operator_token: SecretStr | None = Field(
        default=None,
        description="What an operator logs in with (NOOTS_OPERATOR_TOKEN); default: the file "
        "<data_dir>/run/dashboard-operator.token, created when missing, renewed and printed "
        "as a login link by `noots up`.",
    )
    dashboard_hosts: tuple[str, ...] = Field(
        default=(),
        description="Host names the dashboard answers to besides the topology's dashboard "
        "host, 127.0.0.1, localhost and [::1] (JSON list, e.g. a reverse proxy's name); any "
        "other Host header is refused (DNS rebinding).",
    )
    session_hours: float = Field(
        default=12.0, gt=0, le=24 * 7, description="How long an operator login lasts."
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

    @field_validator("operator_token")
    @classmethod
    def _token_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters")
        return value

    @field_validator("dashboard_hosts")
    @classmethod
    def _host_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for host in value:
            bare_ipv6 = ":" in host and not host.startswith("[")
            with_port = ":" in host.rpartition("]")[2] and not bare_ipv6
            if with_port or host_of(f"[{host}]" if bare_ipv6 else host) is None:
                raise ValueError(f"not a host name: {host!r} (no scheme, port or path)")
        return value

    def reports_path(self) -> Path:
        return self.reports_dir or self.data_dir / "reports"
