"""The dashboard beside a served test landscape, with the landscape's hops traced to it.

::

    with serve_landscape(tmp_path) as landscape, serve_dashboard(landscape) as dashboard:
        page.goto(dashboard.url + "/ablauf")

:func:`serve_dashboard` runs ``consumers.dashboard`` under uvicorn on the topology's
``dashboard`` address and, with ``trace=True``, installs an HTTP trace sink for this process,
so the components :func:`~noots.testing.landscape.serve_landscape` runs in threads here report
their hops to the dashboard's collector exactly as ``noots up`` processes do.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from noots import trace
from noots.testing.landscape import Landscape

__all__ = ["ServedDashboard", "serve_dashboard"]


@dataclass
class ServedDashboard:
    """The running dashboard: its base URL and app (``app.state.events`` is its event log)."""

    url: str
    app: Any
    landscape: Landscape


@contextlib.contextmanager
def serve_dashboard(
    landscape: Landscape, *, trace_landscape: bool = True, start_timeout: float = 30.0
) -> Iterator[ServedDashboard]:
    """Serve the dashboard for ``landscape`` until the block ends."""
    import uvicorn

    from consumers.dashboard import DashboardSettings, create_app
    from consumers.dashboard.sink import HttpTraceSink

    settings = DashboardSettings(
        **landscape.settings_overrides, admin_token=SecretStr(landscape.admin_token)
    )
    app = create_app(settings)
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
    sink = HttpTraceSink(url + "/events/v1") if trace_landscape else None
    previous = trace.install(sink) if sink is not None else None
    try:
        yield ServedDashboard(url, app, landscape)
    finally:
        if sink is not None:
            trace.install(previous)
            sink.close()
        app.state.events.close()  # open event streams end, so the server can stop
        server.should_exit = True
        thread.join(timeout=10)
