"""Fixtures of the conformance tests: the real browser of the consumer tests (HTML reports)."""

from __future__ import annotations

from tests.noots.consumers.conftest import browser

__all__ = ["browser"]
