"""The Personenstandsregister (Geburtenregister of the Standesämter): answers the
Geburtsurkunde of everyone born in Germany, also for a child named by basic data alone."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from noots.registers._service import create_register_app
from noots.registers.settings import RegisterSettings
from noots.settings import load_settings

__all__ = ["create_app"]


def create_app(settings: RegisterSettings | None = None, **options: Any) -> FastAPI:
    """The app of the Personenstandsregister; ``options`` as for ``create_register_app``."""
    return create_register_app(
        settings or load_settings(RegisterSettings), kind="personenstandsregister", **options
    )
