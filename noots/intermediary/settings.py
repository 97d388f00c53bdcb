"""Settings of the platform process (``NOOTS_*`` environment variables).

Everything the landscape shares (data directory, topology, mode, clock) comes from
:class:`~noots.settings.NootsSettings`; this class adds what only the platform needs: the
admin token and the lifetimes of what it issues (where the protocol logs live is shared:
:meth:`~noots.settings.NootsSettings.protocol_log_target`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from noots.settings import ReplaySettings

__all__ = ["PlatformSettings"]


class PlatformSettings(ReplaySettings):
    """Settings of the platform (RDN, VS, IAM für Behörden, PKI, DSC, simulated eID).

    The replay settings (:class:`~noots.settings.ReplaySettings`, the same ``NOOTS_*``
    variables as every receiver of signed requests) apply to the VS's token requests.
    """

    admin_token: SecretStr | None = Field(
        default=None,
        description="Bearer token of /admin/v1/… (test mode only; unset = no admin endpoints).",
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
