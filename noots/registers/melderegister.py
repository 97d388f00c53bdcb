"""The Melderegister of one municipality: answers the Meldebescheinigung of its residents.

The default landscape has several municipalities, one register each; pick one with
``NOOTS_REGION`` (its AGS) or ``NOOTS_PARTICIPANT_ID``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from noots.registers._service import create_register_app
from noots.registers.settings import RegisterSettings
from noots.settings import load_settings

__all__ = ["create_app"]


def create_app(settings: RegisterSettings | None = None, **options: Any) -> FastAPI:
    """The app of one Melderegister; ``options`` as for ``create_register_app``."""
    return create_register_app(
        settings or load_settings(RegisterSettings), kind="melderegister", **options
    )
