"""The ``noots`` command line. Command groups are added in :func:`_register`."""

from __future__ import annotations

from noots.cli._app import app

__all__ = ["app", "main"]


def _register() -> None:
    # One line per command group; each module adds its commands to ``app`` on import.
    # Imports of heavy parts (servers, population) happen inside the commands themselves.
    import noots.cli._bench
    import noots.cli._compose
    import noots.cli._conformance
    import noots.cli._conformance_attack
    import noots.cli._conformance_eu
    import noots.cli._conformance_provider
    import noots.cli._conformance_sak
    import noots.cli._demo
    import noots.cli._eu
    import noots.cli._fetch
    import noots.cli._iam
    import noots.cli._idnr
    import noots.cli._pki
    import noots.cli._protocol
    import noots.cli._register
    import noots.cli._report
    import noots.cli._scenario
    import noots.cli._seed
    import noots.cli._topology
    import noots.cli._up  # noqa: F401


_register()


def main() -> None:
    app()
