"""The Zentrales Fahrzeugregister of the Kraftfahrt-Bundesamt: answers the
Fahrzeughalterauskunft (the Zulassungsbescheinigung Teil I data of every vehicle a person
keeps), the evidence of the "Bewohnerparkausweis" pilot. A person without a vehicle is not in
the register."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from noots.registers._service import create_register_app
from noots.registers.settings import RegisterSettings
from noots.settings import load_settings

__all__ = ["create_app"]


def create_app(settings: RegisterSettings | None = None, **options: Any) -> FastAPI:
    """The app of the KBA's register; ``options`` as for ``create_register_app``."""
    return create_register_app(settings or load_settings(RegisterSettings), kind="kba", **options)
