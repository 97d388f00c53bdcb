"""The dashboard beside a served test landscape, with the landscape's hops traced to it.

::

    with serve_landscape(tmp_path) as landscape, serve_dashboard(landscape) as dashboard:
        page.goto(dashboard.login_url)          # the one-click login of `noots up`
        page.goto(dashboard.url + "/ablauf")

:func:`serve_dashboard` runs ``noots.consumers.dashboard`` under uvicorn on the topology's
``dashboard`` address and, with ``trace=True``, installs an HTTP trace sink for this process,
authenticated with the landscape's reporting tokens, so the components
:func:`~noots.testing.landscape.serve_landscape` runs in threads here report their hops to the
dashboard's collector exactly as ``noots up`` processes do. :func:`operator_login` logs an
HTTP client in as the operator.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from noots import trace
from noots.testing.landscape import Landscape

__all__ = ["ServedDashboard", "operator_login", "operator_token", "serve_dashboard"]


@dataclass
class ServedDashboard:
    """The running dashboard: its base URL and app (``app.state.events`` is its event log)."""

    url: str
    app: Any
    landscape: Landscape
    #: What the operator logs in with.
    operator_token: str
    #: Headers that authenticate a component at the collector (``reporting(component)``).
    reporting: Callable[[str], Mapping[str, str]]

    @property
    def login_url(self) -> str:
        """The one-click login link ``noots up`` prints."""
        return f"{self.url}/login#token={self.operator_token}"


def operator_token(data_dir: Path) -> str:
    """The operator token of the landscape in ``data_dir`` (``NOOTS_OPERATOR_TOKEN`` aside)."""
    from noots.consumers.dashboard import operator_token_path
    from noots.consumers.dashboard._secrets import read_or_create_secret

    return read_or_create_secret(operator_token_path(data_dir))


def operator_login(client: httpx.Client, dashboard_url: str, token: str) -> Mapping[str, str]:
    """Log ``client`` in as the operator (its cookie jar keeps the session); the headers a
    state-changing call needs besides the cookie (the session's CSRF token)."""
    answer = client.post(
        dashboard_url + "/login", data={"token": token, "next": "/ablauf"}, follow_redirects=False
    )
    if answer.status_code != 303:
        raise RuntimeError(f"operator login refused: HTTP {answer.status_code}")
    session = client.get(dashboard_url + "/api/v1/session")
    session.raise_for_status()
    return {"X-CSRF-Token": str(session.json()["csrf"])}


@contextlib.contextmanager
def serve_dashboard(
    landscape: Landscape, *, trace_landscape: bool = True, start_timeout: float = 30.0
) -> Iterator[ServedDashboard]:
    """Serve the dashboard for ``landscape`` until the block ends."""
    import uvicorn

    from noots.consumers.dashboard import DashboardSettings, create_app
    from noots.consumers.dashboard.sink import HttpTraceSink, landscape_reporting

    settings = DashboardSettings(
        **landscape.settings_overrides, admin_token=SecretStr(landscape.admin_token)
    )
    app = create_app(settings)
    reporting = landscape_reporting(settings)
    url = landscape.url("dashboard")
    host, _, port = url.removeprefix("http://").rpartition(":")
    config = uvicorn.Config(
        app, host=host, port=int(port), log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="noots-dashboard", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the dashboard did not start")
        time.sleep(0.02)
    sink = HttpTraceSink(url + "/events/v1", authorization=reporting) if trace_landscape else None
    previous = trace.install(sink) if sink is not None else None
    try:
        yield ServedDashboard(url, app, landscape, operator_token(landscape.data_dir), reporting)
    finally:
        if sink is not None:
            trace.install(previous)
            sink.close()
        app.state.events.close()  # open event streams end, so the server can stop
        server.should_exit = True
        thread.join(timeout=10)
