"""Moved to :mod:`noots.conformance.requests` (the one conformance package); kept as a re-export
for the code that still imports it from here."""

from __future__ import annotations

from noots.conformance.requests import (
    RequestFactory,
    SignedRequest,
    unverified_parts,
)

__all__ = [
    "RequestFactory",
    "SignedRequest",
    "unverified_parts",
]
