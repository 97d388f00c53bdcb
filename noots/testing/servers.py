"""One ASGI app on a real loopback socket, in a thread, for tests::

with serving(app, **uvicorn_tls_options(files)) as url:   # "https://127.0.0.1:53211"
    httpx.get(url + "/health", verify=client_context(other_files))
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["serving"]


@contextlib.contextmanager
def serving(
    app: Any, *, host: str = "127.0.0.1", port: int = 0, timeout: float = 15.0, **options: Any
) -> Iterator[str]:
    """Serve ``app`` with uvicorn until the block ends; yields the base URL.

    ``options`` go to ``uvicorn.Config`` (e.g. :func:`noots.tls.uvicorn_tls_options`); the
    scheme of the URL is https when they configure TLS. Port 0 lets the OS choose.
    """
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = int(sock.getsockname()[1])
    config = uvicorn.Config(app, log_level="warning", lifespan="on", **options)
    server = uvicorn.Server(config)
    # uvicorn installs signal handlers only in the main thread: in this one it stays quiet.
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"serving-{bound}", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the test server on port {bound} did not start")
            time.sleep(0.01)
        scheme = "https" if config.is_ssl else "http"
        yield f"{scheme}://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=timeout)
        sock.close()
