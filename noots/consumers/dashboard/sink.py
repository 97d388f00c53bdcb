"""The trace sink every component of a landscape uses to report its hops to the dashboard.

:class:`HttpTraceSink` implements :class:`noots.trace.TraceSink`: ``emit`` only puts the event
into a bounded queue and returns; one background thread posts batches to the dashboard's
collector (``POST /events/v1``). A full queue drops events (counted), a collector that is down
costs one short timeout per batch (counted) — never the exchange that is being traced.

The collector takes events only from components of the landscape, each about itself: every
POST carries the headers an ``authorization`` callable gives for the reporting component
(:mod:`noots.consumers.dashboard.event_auth`); a batch holding events of several components (the
platform process reports for the VS and others) goes out as one POST per component.

``noots serve`` installs one when ``NOOTS_TRACE_URL`` is set (``noots up`` sets it to the
dashboard's collector), authenticated with the landscape's reporting tokens::

    install_http_sink("http://127.0.0.1:8402/events/v1", settings=settings)
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
from noots.consumers.dashboard._secrets import events_key
from noots.consumers.dashboard._settings import ReportingSettings
from noots.consumers.dashboard.event_auth import (
    ReporterAuthorization,
    ReportingKey,
    ReportingTokens,
)
from noots.settings import NootsSettings, load_settings
from noots.trace import FlowEvent

__all__ = [
    "MAX_BATCH",
    "EventBatch",
    "HttpTraceSink",
    "install_http_sink",
    "landscape_reporting",
]

log = logging.getLogger("noots.consumers.dashboard.sink")

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
        authorization: ReporterAuthorization | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url = url
        self.dropped = 0
        self.failed_batches = 0
        #: Batches the collector refused (401/403): a wrong key or a component it does not know.
        self.refused_batches = 0
        self.sent = 0
        self._authorization = authorization
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
        by_component: dict[str, list[FlowEvent]] = {}
        for event in batch:
            by_component.setdefault(event.component, []).append(event)
        for component, events in by_component.items():
            self._post_as(client, component, events)

    def _post_as(self, client: httpx.Client, component: str, batch: list[FlowEvent]) -> None:
        body = EventBatch(events=batch).model_dump_json()
        status: int | None = None
        try:
            headers = {"Content-Type": "application/json"}
            if self._authorization is not None:
                headers.update(self._authorization(component))
            response = client.post(self.url, content=body, headers=headers)
            status = response.status_code
        except Exception as exc:  # a sink never fails the exchange it observes
            if not isinstance(exc, httpx.HTTPError):
                log.debug("trace sink could not post", exc_info=True)
        if status is not None and status < 300:
            self.sent += len(batch)
            return
        self.failed_batches += 1
        refused = status in (401, 403)
        if refused:
            self.refused_batches += 1
        now = time.monotonic()
        if now - self._last_warning > 60:
            self._last_warning = now
            if refused:
                log.warning(
                    "dashboard collector %s refused the events of %s (HTTP %s): "
                    "is this process's events key the landscape's?",
                    self.url,
                    component,
                    status,
                )
            else:
                log.warning(
                    "dashboard collector %s unavailable: %d events lost", self.url, len(batch)
                )


def landscape_reporting(settings: NootsSettings | None = None) -> ReportingTokens:
    """Reporting tokens of the landscape ``settings`` names (its data dir and topology; the
    environment when None): the events key of ``NOOTS_EVENTS_KEY`` or ``<data_dir>/run``,
    for the dashboard of the topology (its participant id is the audience)."""
    if isinstance(settings, ReportingSettings):
        reporting = settings
    elif settings is None:
        reporting = load_settings(ReportingSettings)
    else:
        reporting = load_settings(
            ReportingSettings, data_dir=settings.data_dir, topology=settings.topology
        )
    audience = reporting.load_topology().platform.simulator_id
    return ReportingTokens(ReportingKey.from_secret(events_key(reporting)), audience=audience)


def install_http_sink(
    url: str,
    *,
    verify: ssl.SSLContext | bool = True,
    settings: NootsSettings | None = None,
    authorization: ReporterAuthorization | None = None,
) -> HttpTraceSink:
    """Install an :class:`HttpTraceSink` for this process (closed at exit). Without
    ``authorization`` it reports with the reporting tokens of the landscape ``settings``
    names (:func:`landscape_reporting`)."""
    if authorization is None:
        authorization = landscape_reporting(settings)
    sink = HttpTraceSink(url, verify=verify, authorization=authorization)
    trace.install(sink)
    atexit.register(sink.close)
    return sink
