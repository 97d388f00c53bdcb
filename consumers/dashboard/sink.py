"""The trace sink every component of a landscape uses to report its hops to the dashboard.

:class:`HttpTraceSink` implements :class:`noots.trace.TraceSink`: ``emit`` only puts the event
into a bounded queue and returns; one background thread posts batches to the dashboard's
collector (``POST /events/v1``). A full queue drops events (counted), a collector that is down
costs one short timeout per batch (counted) — never the exchange that is being traced.

``noots serve`` installs one when ``NOOTS_TRACE_URL`` is set (``noots up`` sets it to the
dashboard's collector)::

    install_http_sink("http://127.0.0.1:8402/events/v1")
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import queue
import ssl
import threading
import time

import httpx
from pydantic import BaseModel, ConfigDict, Field

from noots import trace
from noots.trace import FlowEvent

__all__ = ["MAX_BATCH", "EventBatch", "HttpTraceSink", "install_http_sink"]

log = logging.getLogger("consumers.dashboard.sink")

#: Events per POST at most (the collector refuses larger batches).
MAX_BATCH = 100


class EventBatch(BaseModel):
    """The collector's request body."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    events: list[FlowEvent] = Field(max_length=MAX_BATCH)


class HttpTraceSink:
    """Posts events to ``url`` from a background thread; ``emit`` never blocks or raises."""

    def __init__(
        self,
        url: str,
        *,
        verify: ssl.SSLContext | bool = True,
        capacity: int = 5000,
        timeout: float = 2.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url = url
        self.dropped = 0
        self.failed_batches = 0
        self.sent = 0
        self._verify = verify
        self._timeout = timeout
        self._transport = transport
        self._queue: queue.Queue[FlowEvent | None] = queue.Queue(maxsize=capacity)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._last_warning = 0.0

    def emit(self, event: FlowEvent) -> None:
        if self._closed:
            return
        if self._thread is None:
            self._start()
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued event was posted (or given up); True if the queue drained."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def close(self, timeout: float = 2.0) -> None:
        """Post what is queued (within ``timeout``) and stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        if thread is None:
            return
        self.flush(timeout)
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        thread.join(timeout)

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._closed:
                return
            self._thread = threading.Thread(target=self._run, name="noots-trace-sink", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        with httpx.Client(
            verify=self._verify, timeout=self._timeout, transport=self._transport, trust_env=False
        ) as client:
            while True:
                first = self._queue.get()
                if first is None:
                    self._queue.task_done()
                    return
                batch = [first]
                stop = False
                while len(batch) < MAX_BATCH:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        stop = True
                        self._queue.task_done()
                        break
                    batch.append(more)
                self._post(client, batch)
                for _ in batch:
                    self._queue.task_done()
                if stop:
                    return

    def _post(self, client: httpx.Client, batch: list[FlowEvent]) -> None:
        body = EventBatch(events=batch).model_dump_json()
        try:
            response = client.post(
                self.url, content=body, headers={"Content-Type": "application/json"}
            )
            ok = response.status_code < 300
        except httpx.HTTPError:
            ok = False
        if ok:
            self.sent += len(batch)
            return
        self.failed_batches += 1
        now = time.monotonic()
        if now - self._last_warning > 60:
            self._last_warning = now
            log.warning("dashboard collector %s unavailable: %d events lost", self.url, len(batch))


def install_http_sink(url: str, *, verify: ssl.SSLContext | bool = True) -> HttpTraceSink:
    """Install an :class:`HttpTraceSink` for this process (closed at exit)."""
    sink = HttpTraceSink(url, verify=verify)
    trace.install(sink)
    atexit.register(sink.close)
    return sink
