"""Demo online services (German UI) that fetch evidence through the client library."""

from __future__ import annotations

from noots.consumers.demo._app import DemoSettings, app_from_env, create_app
from noots.consumers.demo._services import SERVICES, EvidenceNeed, ServiceKind, service_kind

__all__ = [
    "SERVICES",
    "DemoSettings",
    "EvidenceNeed",
    "ServiceKind",
    "app_from_env",
    "create_app",
    "service_kind",
]
