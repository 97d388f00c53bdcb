"""Moved to :mod:`noots.conformance.broken` (the one conformance package); kept as a re-export
for the code that still imports it from here. The broken online services are in
:mod:`noots.testing.broken_consumers`."""

from __future__ import annotations

from noots.conformance.broken import (
    BROKEN_REGISTERS,
    BrokenRegister,
    broken_register_app,
    register_app,
)

__all__ = ["BROKEN_REGISTERS", "BrokenRegister", "broken_register_app", "register_app"]
