"""Fixtures of the platform tests: one bootstrapped landscape per session, copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from noots.bootstrap import bootstrap_landscape
from noots.clock import ManualClock
from noots.topology import load_topology
from tests.noots.intermediary.support import Landscape


@pytest.fixture(scope="session")
def landscape_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PKI for every participant and a small population, made once per session."""
    data_dir = tmp_path_factory.mktemp("landscape-template")
    bootstrap_landscape(data_dir, load_topology(), people=200, seed=7, clock=ManualClock())
    return data_dir


_TOPOLOGY = load_topology()
_KEYS: dict[bytes, Any] = {}


@pytest.fixture(autouse=True)
def _remember_parsed_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test copies the same key files; parse each PEM once (RSA key checks are slow)."""
    parse = serialization.load_pem_private_key

    def remembered(data: bytes, password: bytes | None = None, **options: Any) -> Any:
        if password is not None or options:
            return parse(data, password, **options)
        if data not in _KEYS:
            _KEYS[data] = parse(data, None)
        return _KEYS[data]

    monkeypatch.setattr(serialization, "load_pem_private_key", remembered)


@pytest.fixture
def landscape(landscape_template: Path, tmp_path: Path) -> Landscape:
    """A private copy of the landscape (revocations and logs stay in this test)."""
    data_dir = tmp_path / "data"
    shutil.copytree(landscape_template, data_dir)
    return Landscape(data_dir, _TOPOLOGY, ManualClock())
