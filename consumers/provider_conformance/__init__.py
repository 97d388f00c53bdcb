"""Moved to :mod:`noots.conformance.provider` (the one conformance package).

Only :mod:`consumers.provider_conformance._answers` is left here, as a re-export for the
consumer suite until it imports :mod:`noots.conformance.answers` itself.
"""
