"""Shared fixtures. Helpers that others may need live in ``noots.testing`` (shipped with the
library), not here."""

from __future__ import annotations

import os
import runpy
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from noots.paths import shared_dir
from noots.testing.landscape import Landscape

if os.environ.get("PYTEST_XDIST_WORKER"):
    # pytest-xdist's workers (`make test` runs two) get COLUMNS=80 and LINES=24, which a serial
    # run does not: the commands' consoles would wrap their output at 80 columns where the
    # tests read it whole. The workers see the environment a serial run sees.
    for _name in ("COLUMNS", "LINES"):
        os.environ.pop(_name, None)


@pytest.fixture(scope="session")
def xnachweis_check() -> Callable[[bytes], list[str]]:
    """The official XNachweis 1.2.0 validator from ../shared (the oracle); [] means valid."""
    shared = shared_dir()
    if shared is None:
        pytest.fail("../shared/xnachweis is missing: the XNachweis oracle is required for tests")
    tool = Path(shared) / "tools" / "xnachweis_check.py"
    validate: Callable[[bytes], list[str]] = runpy.run_path(str(tool))["validate"]
    return validate


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server for the session (noots.testing.postgres); fails, never
    skips, when the server binaries are missing: CI installs them."""
    from noots.testing.postgres import PostgresUnavailable, find_postgres_bin, postgres_server

    try:
        find_postgres_bin()
    except PostgresUnavailable as error:
        pytest.fail(str(error))
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def landscape(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Landscape]:
    """The whole landscape (platform, IDA, registers, demo services) on loopback sockets,
    bootstrapped once per session (noots.testing.landscape)."""
    from noots.testing.landscape import serve_landscape

    with serve_landscape(tmp_path_factory.mktemp("landscape")) as served:
        yield served
