"""The live dashboard of a landscape (German UI): components and their health, the
authorisation matrix, exchanges drawn hop by hop as they happen, pilot flows and register
faults started from the page, the Datenschutzcockpit of a test citizen and the conformance
reports.

``noots serve dashboard`` runs it on the topology's ``dashboard`` address; the other
components report their hops to its collector through :mod:`consumers.dashboard.sink`.
"""

from __future__ import annotations

from consumers.dashboard._app import app_from_env, create_app
from consumers.dashboard._settings import DashboardSettings

__all__ = ["DashboardSettings", "app_from_env", "create_app"]
