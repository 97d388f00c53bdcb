"""``Client.from_landscape``: the online service's client of a data dir's landscape in one line
(the run file of ``noots up``, else NOOTS_TOPOLOGY), and its set-up errors."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from noots.consumers import AsyncClient, find_landscape
from noots.errors import ConfigurationError
from noots.supervisor import RUN_FILE, RunInfo
from noots.testing.landscape import bootstrap

BPA = "08118079-BPA-87"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("from-landscape")
    bootstrap(directory, people=20)
    return directory


@pytest.fixture
def shifted(data_dir: Path, tmp_path: Path) -> Path:
    """A copy of the data dir's topology with the BPA's SAK on another port."""
    data = yaml.safe_load((data_dir / "landscape.yaml").read_text(encoding="utf-8"))
    for entry in data["consumers"]:
        if entry["participant_id"] == BPA:
            entry["sak"]["port"] = 18999
    path = tmp_path / "shifted.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NOOTS_DATA_DIR", "NOOTS_TOPOLOGY", "NOOTS_TLS", "NOOTS_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def _run_file(data_dir: Path, topology: Path, *, tls: bool) -> None:
    info = RunInfo(
        supervisor_pid=os.getpid(),  # alive: the landscape counts as running
        data_dir=str(data_dir),
        topology=str(topology),
        tls=tls,
        started_at=datetime.now(UTC).isoformat(),
        components=(),
    )
    (data_dir / "run").mkdir(parents=True, exist_ok=True)
    (data_dir / "run" / RUN_FILE).write_text(info.to_json(), encoding="utf-8")


def _copy(data_dir: Path, tmp_path: Path) -> Path:
    """A data dir that shares the PKI (read only) and has its own run and log directories."""
    copy = tmp_path / "data"
    copy.mkdir()
    (copy / "pki").symlink_to(data_dir / "pki")
    return copy


async def test_the_run_file_says_where_the_sak_listens_and_whether_tls(
    data_dir: Path, shifted: Path, tmp_path: Path
) -> None:
    """With a run file of `noots up`, its topology (ports) and TLS decide the SAK's URL."""
    copy = _copy(data_dir, tmp_path)
    _run_file(copy, shifted, tls=True)
    client = AsyncClient.from_landscape(BPA, data_dir=copy)
    try:
        assert client.sak_url == "https://127.0.0.1:18999"
        assert client.sak_id == f"{BPA}.sak"
    finally:
        await client.aclose()


async def test_without_a_run_file_noots_topology_is_honoured(
    data_dir: Path, shifted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No landscape runs: NOOTS_TOPOLOGY and NOOTS_DATA_DIR say where to go (plain HTTP)."""
    copy = _copy(data_dir, tmp_path)
    monkeypatch.setenv("NOOTS_TOPOLOGY", str(shifted))
    monkeypatch.setenv("NOOTS_DATA_DIR", str(copy))
    client = AsyncClient.from_landscape(BPA)
    try:
        assert client.sak_url == "http://127.0.0.1:18999"
    finally:
        await client.aclose()


def test_an_explicit_topology_wins_over_the_run_files(
    data_dir: Path, shifted: Path, tmp_path: Path
) -> None:
    """An explicit topology replaces the run file's; the run file's TLS still counts."""
    copy = _copy(data_dir, tmp_path)
    _run_file(copy, data_dir / "landscape.yaml", tls=True)
    found = find_landscape(copy, shifted)
    assert found.tls is True
    assert found.topology.consumer(BPA).sak.port == 18999


async def test_the_protocol_log_is_opened_in_the_data_dir_and_closed_with_the_client(
    data_dir: Path, tmp_path: Path
) -> None:
    """The client logs where the landscape keeps the logs, and closes what it opened."""
    copy = _copy(data_dir, tmp_path)
    _run_file(copy, data_dir / "landscape.yaml", tls=False)
    client = AsyncClient.from_landscape(BPA, data_dir=copy)
    log = client.protocol_log
    assert log is not None
    await client.aclose()
    assert (copy / "logs" / f"{BPA}.db").is_file()
    with pytest.raises(Exception, match=r"(?i)closed"):
        log.entries()


def test_a_participant_that_is_no_online_service_is_refused(data_dir: Path, tmp_path: Path) -> None:
    """A register or unknown id is a ConfigurationError that lists the online services."""
    copy = _copy(data_dir, tmp_path)
    _run_file(copy, data_dir / "landscape.yaml", tls=False)
    with pytest.raises(ConfigurationError, match=r"not a data consumer.*08118079-BPA-87"):
        AsyncClient.from_landscape("991-01234ZFZR-41", data_dir=copy)


def test_a_data_dir_without_credentials_is_explained(data_dir: Path, tmp_path: Path) -> None:
    """A data dir that was never bootstrapped: a ConfigurationError that says `noots up`."""
    empty = tmp_path / "empty"
    empty.mkdir()
    _run_file(empty, data_dir / "landscape.yaml", tls=False)
    with pytest.raises(ConfigurationError, match="noots up"):
        AsyncClient.from_landscape(BPA, data_dir=empty)
