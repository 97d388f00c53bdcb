"""Moved to :mod:`noots.faults` (registers and SAKs share it); this name stays importable."""

from __future__ import annotations

from noots.faults import (
    Fault,
    FaultDecision,
    FaultInjector,
    FaultPlan,
    LogNormalLatency,
    corrupt_signature,
    expired_credential,
    strip_signature,
    truncate,
)

__all__ = [
    "Fault",
    "FaultDecision",
    "FaultInjector",
    "FaultPlan",
    "LogNormalLatency",
    "corrupt_signature",
    "expired_credential",
    "strip_signature",
    "truncate",
]
