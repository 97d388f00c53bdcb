"""noots.consumers.dashboard._secrets: the operator token and the events key in <data_dir>/run."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from noots.consumers.dashboard._secrets import (
    events_key_path,
    login_link,
    operator_token_path,
    read_or_create_secret,
    renew_secret,
    renew_secrets,
)
from noots.errors import ConfigurationError


def test_a_missing_secret_is_created_private_and_then_kept(tmp_path: Path) -> None:
    """The first read creates a random secret (mode 0600); later reads return the same."""
    path = tmp_path / "run" / "x.key"
    first = read_or_create_secret(path)
    assert len(first) >= 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_or_create_secret(path) == first
    assert [p.name for p in path.parent.iterdir()] == ["x.key"]  # no temporary left behind


def test_processes_starting_together_agree_on_one_secret(tmp_path: Path) -> None:
    """Many creators at once: every one reads the value the first one wrote."""
    path = tmp_path / "run" / "shared.key"
    results: list[str] = []
    start = threading.Barrier(8)

    def create() -> None:
        start.wait()
        results.append(read_or_create_secret(path))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(results) == 8
    assert len(set(results)) == 1


def test_renewing_replaces_the_secret(tmp_path: Path) -> None:
    """noots up renews both secrets: new values, still private."""
    old_token = read_or_create_secret(operator_token_path(tmp_path))
    old_key = read_or_create_secret(events_key_path(tmp_path))
    renew_secrets(tmp_path)
    assert read_or_create_secret(operator_token_path(tmp_path)) != old_token
    assert read_or_create_secret(events_key_path(tmp_path)) != old_key
    assert operator_token_path(tmp_path).stat().st_mode & 0o777 == 0o600


def test_a_secret_others_can_read_is_refused(tmp_path: Path) -> None:
    """Fail closed: a group- or world-readable secret file is not used."""
    path = tmp_path / "open.key"
    renew_secret(path)
    path.chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        read_or_create_secret(path)


def test_a_short_secret_is_refused(tmp_path: Path) -> None:
    """A file with a few characters is no secret."""
    path = tmp_path / "short.key"
    path.write_text("1234\n")
    path.chmod(0o600)
    with pytest.raises(ConfigurationError, match="no usable secret"):
        read_or_create_secret(path)


def test_the_login_link_carries_the_token_in_the_fragment() -> None:
    """The token goes after '#': browsers never send it to a server."""
    link = login_link("http://127.0.0.1:8402/", "t" * 43)
    assert link == "http://127.0.0.1:8402/login#token=" + "t" * 43
