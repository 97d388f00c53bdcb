"""Re-export of :func:`noots.conformance.answers.official_validator` (moved there)."""

from __future__ import annotations

from noots.conformance.answers import official_validator

__all__ = ["official_validator"]
