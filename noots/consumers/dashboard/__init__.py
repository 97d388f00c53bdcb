"""The live dashboard of a landscape (German UI): components and their health, the
authorisation matrix, exchanges drawn hop by hop as they happen, pilot flows and register
faults started from the page, the Datenschutzcockpit of a test citizen and the conformance
reports.

``noots serve dashboard`` runs it on the topology's ``dashboard`` address; the other
components report their hops to its collector through :mod:`noots.consumers.dashboard.sink`,
authenticated (:mod:`noots.consumers.dashboard.event_auth`). Everything but the Landschaft and the
components' health needs an operator login; ``noots up`` prints a one-click login link
(:func:`operator_login_link`).
"""

from __future__ import annotations

from noots.consumers.dashboard._app import app_from_env, create_app
from noots.consumers.dashboard._secrets import (
    events_key_path,
    operator_login_link,
    operator_token,
    operator_token_path,
    renew_secrets,
)
from noots.consumers.dashboard._settings import DashboardSettings, ReportingSettings

__all__ = [
    "DashboardSettings",
    "ReportingSettings",
    "app_from_env",
    "create_app",
    "events_key_path",
    "operator_login_link",
    "operator_token",
    "operator_token_path",
    "renew_secrets",
]
