"""The dashboard's two secrets in ``<data_dir>/run`` (mode 0600, like the admin token):

- ``dashboard-operator.token``: what an operator logs in with (``/login``); ``noots up`` prints
  it as a one-click link.
- ``dashboard-events.key``: the landscape's key for reporting flow events to the collector
  (:mod:`noots.consumers.dashboard.event_auth`); every component process reads it.

``noots up`` renews both before it starts the processes (a link of an earlier run stops
working). A process that finds one missing creates it, atomically, so that ``noots serve``
and docker compose (one shared data volume) work without ``noots up``: whoever comes first
writes it, everyone reads the same value.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from noots.consumers.dashboard._settings import DashboardSettings, ReportingSettings
from noots.errors import ConfigurationError

__all__ = [
    "EVENTS_KEY_FILE",
    "OPERATOR_TOKEN_FILE",
    "events_key",
    "events_key_path",
    "login_link",
    "operator_login_link",
    "operator_token",
    "operator_token_path",
    "read_or_create_secret",
    "renew_secret",
    "renew_secrets",
]

OPERATOR_TOKEN_FILE = "dashboard-operator.token"  # noqa: S105 - a file name
EVENTS_KEY_FILE = "dashboard-events.key"
#: A secret shorter than this (characters of its text) is refused: 32 random bytes in base64.
_MIN_LENGTH = 32
_MAX_LENGTH = 512


def operator_token_path(data_dir: Path) -> Path:
    return data_dir / "run" / OPERATOR_TOKEN_FILE


def events_key_path(data_dir: Path) -> Path:
    return data_dir / "run" / EVENTS_KEY_FILE


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def _write_private(path: Path, value: str) -> Path:
    """A new file beside ``path`` holding ``value``, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(value + "\n")
        out.flush()
        os.fsync(out.fileno())
    return temporary


def _read(path: Path) -> str:
    # Fail closed: a secret others can read is no secret (and would open the door to them).
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(
            f"{path} is readable by other users (mode {stat.filemode(mode)}): "
            f"`chmod 600 {path}` or delete it (noots up writes a new one)"
        )
    value = path.read_text(encoding="ascii", errors="replace").strip()
    if not _MIN_LENGTH <= len(value) <= _MAX_LENGTH or not value.isprintable():
        raise ConfigurationError(
            f"{path} holds no usable secret (need {_MIN_LENGTH} to {_MAX_LENGTH} printable "
            "characters): delete it, noots up writes a new one"
        )
    return value


def read_or_create_secret(path: Path) -> str:
    """The secret in ``path``; a new random one if there is none yet (created atomically, so
    processes starting at the same time all end up with the same value)."""
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    temporary = _write_private(path, _new_secret())
    try:
        with contextlib.suppress(FileExistsError):  # another process was first: use its secret
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return _read(path)


def renew_secret(path: Path) -> str:
    """Replace the secret in ``path`` with a new random one (``noots up``)."""
    value = _new_secret()
    os.replace(_write_private(path, value), path)
    return value


def events_key(settings: ReportingSettings) -> str:
    """The landscape's events key: ``NOOTS_EVENTS_KEY`` if set, else the data dir's file."""
    if settings.events_key is not None:
        return settings.events_key.get_secret_value()
    return read_or_create_secret(events_key_path(settings.data_dir))


def operator_token(settings: DashboardSettings) -> str:
    """What the operator logs in with: ``NOOTS_OPERATOR_TOKEN`` if set, else the data dir's."""
    if settings.operator_token is not None:
        return settings.operator_token.get_secret_value()
    return read_or_create_secret(operator_token_path(settings.data_dir))


def renew_secrets(data_dir: Path) -> None:
    """New operator token and events key for a landscape about to start (``noots up``)."""
    renew_secret(operator_token_path(data_dir))
    renew_secret(events_key_path(data_dir))


def operator_login_link(settings: DashboardSettings, dashboard_url: str) -> str:
    """The one-click login link of the dashboard at ``dashboard_url``."""
    return login_link(dashboard_url, operator_token(settings))


def login_link(dashboard_url: str, token: str) -> str:
    """The one-click login: the token travels in the fragment, which the browser never sends
    (no server log, no Referer); the login page posts it and forgets it."""
    return f"{dashboard_url.rstrip('/')}/login#token={token}"
