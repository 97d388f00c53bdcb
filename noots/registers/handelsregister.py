"""The Handelsregister of the register courts: answers the Handelsregisterauszug of a legal
person named by register kind and number (and court), the evidence of the "Gewerbeanmeldung"
pilot."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from noots.registers._service import create_register_app
from noots.registers.settings import RegisterSettings
from noots.settings import load_settings

__all__ = ["create_app"]


def create_app(settings: RegisterSettings | None = None, **options: Any) -> FastAPI:
    """The app of the Handelsregister; ``options`` as for ``create_register_app``."""
    return create_register_app(
        settings or load_settings(RegisterSettings), kind="handelsregister", **options
    )
