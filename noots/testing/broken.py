"""Moved to :mod:`noots.conformance.broken` (the one conformance package); kept as a re-export
for the code that still imports it from here."""

from __future__ import annotations

from noots.conformance.broken import (
    BROKEN_CONSUMERS,
    BROKEN_REGISTERS,
    broken_client_class,
    broken_demo_app,
    broken_register_app,
    consumer_hook_app,
)

__all__ = [
    "BROKEN_CONSUMERS",
    "BROKEN_REGISTERS",
    "broken_client_class",
    "broken_demo_app",
    "broken_register_app",
    "consumer_hook_app",
]
