"""Tests of noots.settings: defaults, environment, validation errors and subclassing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from noots.errors import ConfigurationError
from noots.settings import Mode, NootsSettings, load_settings
from noots.topology import DEFAULT_TOPOLOGY_PATH


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "DATA_DIR",
        "TOPOLOGY",
        "MODE",
        "TLS",
        "CLOCK_OFFSET_SECONDS",
        "LOG_LEVEL",
        "DATABASE_URL",
    ):
        monkeypatch.delenv(f"NOOTS_{name}", raising=False)


def test_defaults() -> None:
    """Without environment the settings are the embedded test landscape's."""
    settings = load_settings()
    assert settings.data_dir == Path("./noots-data")
    assert settings.topology == DEFAULT_TOPOLOGY_PATH
    assert settings.mode is Mode.TEST
    assert not settings.strict
    assert settings.tls is False
    assert settings.log_level == "INFO"
    assert settings.load_topology().platform.port == 8400


def test_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """NOOTS_* variables set every field; the log level is case-insensitive."""
    monkeypatch.setenv("NOOTS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NOOTS_MODE", "strict")
    monkeypatch.setenv("NOOTS_TLS", "true")
    monkeypatch.setenv("NOOTS_CLOCK_OFFSET_SECONDS", "3600")
    monkeypatch.setenv("NOOTS_LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.data_dir == tmp_path
    assert settings.strict
    assert settings.tls
    assert settings.log_level == "DEBUG"
    shifted = settings.clock().now() - datetime.now(UTC)
    assert timedelta(minutes=59) < shifted < timedelta(minutes=61)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("NOOTS_MODE", "production"),
        ("NOOTS_TLS", "perhaps"),
        ("NOOTS_CLOCK_OFFSET_SECONDS", "nan"),
        ("NOOTS_CLOCK_OFFSET_SECONDS", "soon"),
        ("NOOTS_LOG_LEVEL", "chatty"),
        ("NOOTS_TOPOLOGY", "/nonexistent/landscape.yaml"),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    """A bad variable is a ConfigurationError that names the variable."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=variable):
        load_settings()


def test_data_dir_must_not_be_a_file(tmp_path: Path) -> None:
    """A data directory that is an existing file is refused."""
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(ConfigurationError, match="NOOTS_DATA_DIR"):
        load_settings(data_dir=afile)


def test_subclass_adds_its_own_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    """A service's settings class extends the shared one and reads its own NOOTS_* variable."""

    class RegisterSettings(NootsSettings):
        participant_id: str

    with pytest.raises(ConfigurationError, match="NOOTS_PARTICIPANT_ID"):
        load_settings(RegisterSettings)
    monkeypatch.setenv("NOOTS_PARTICIPANT_ID", "991-01234ZFZR-41")
    monkeypatch.setenv("NOOTS_MODE", "strict")
    settings = load_settings(RegisterSettings)
    assert settings.participant_id == "991-01234ZFZR-41"
    assert settings.strict


def test_settings_are_frozen() -> None:
    """Settings cannot be changed after the start checks."""
    settings = load_settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.tls = True  # type: ignore[misc]


def test_protocol_log_target_is_one_place_for_every_party(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """NOOTS_DATABASE_URL wins over the topology's platform.database; without either each party
    has its own SQLite file under <data_dir>/logs."""
    topology = load_settings().load_topology()
    in_topology = topology.model_copy(
        update={
            "platform": topology.platform.model_copy(
                update={"database": "postgresql://topology/db"}
            )
        }
    )
    local = load_settings(data_dir=tmp_path)
    assert local.protocol_database(topology) is None
    assert local.protocol_log_target("noots-vs", topology) == tmp_path / "logs" / "noots-vs.db"
    assert local.protocol_log_target("noots-vs", in_topology) == "postgresql://topology/db"
    monkeypatch.setenv("NOOTS_DATABASE_URL", "postgresql://env/db")
    shared = load_settings(data_dir=tmp_path)
    for party in ("noots-vs", "08118079-BPA-87"):
        assert shared.protocol_log_target(party, topology) == "postgresql://env/db"
        assert shared.protocol_log_target(party, in_topology) == "postgresql://env/db"
