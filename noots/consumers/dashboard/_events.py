"""The dashboard's memory of what happened: a bounded ring of flow events and pilot notices,
fanned out to every open server-sent-event stream.

Events arrive from the collector endpoint (other processes), and from the dashboard's own
pilot runs through :class:`LocalSink` — possibly from worker threads, so appending is guarded
by a lock and subscribers are woken on their event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import uuid
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Literal

from noots.consumers.dashboard._faults import FAULT_CHOICES
from noots.trace import Check, FlowEvent
from noots.web import ERROR_CODES_DE, german_time, outcome_text

__all__ = ["EventLog", "LocalSink", "Notice", "event_summary", "german_check", "german_title"]

Kind = Literal["flow", "run"]
#: How many entries a new stream replays when the browser names no last id.
DEFAULT_REPLAY = 400
_SUBSCRIBER_QUEUE = 2000
_KEEPALIVE_SECONDS = 15.0


@dataclass(frozen=True)
class Notice:
    """One entry of the log as streamed: sequence number, kind and JSON data."""

    seq: int
    kind: Kind
    data: str

    def sse(self) -> str:
        return f"id: {self.seq}\nevent: {self.kind}\ndata: {self.data}\n\n"


#: A protocol outcome quoted in a component's title ("Antwort an den Online-Dienst (delivered)").
_OUTCOME = re.compile(r"\b(?:delivered|pending|refused:[A-Za-z0-9:._-]*[A-Za-z0-9])\b")
#: A fault a component reports it simulated (noots.faults): "simuliert: bad_signature".
_SIMULATED = re.compile(r"^simuliert: ([a-z_]+)$")
#: A noots error as noots.trace.describe_error writes it: "EDM:ERR:0002: message (bei x)".
_CODED = re.compile(r"^(EDM:ERR:\d{4}): (.*)$", re.DOTALL)


def german_title(title: str) -> str:
    """``title`` with every protocol outcome key in German."""
    return _OUTCOME.sub(lambda m: outcome_text(m.group(0)), title)


def german_check(check: Check) -> dict[str, Any]:
    """A check for the page: a simulated fault by its German name (``simulated``: the page
    says "Störung simuliert", not "Fehler"), an error code with its German meaning."""
    detail, simulated = check.detail, False
    fault = _SIMULATED.match(detail)
    if fault is not None and fault.group(1) in FAULT_CHOICES:
        detail, simulated = f"simuliert: {FAULT_CHOICES[fault.group(1)]}", True
    else:
        coded = _CODED.match(detail)
        if coded is not None and coded.group(1) in ERROR_CODES_DE:
            code, rest = coded.groups()
            detail = f"{ERROR_CODES_DE[code]} ({code}): {rest}"
    return {"name": check.name, "ok": check.ok, "detail": detail, "simulated": simulated}


def event_summary(event: FlowEvent) -> dict[str, Any]:
    """An event for the browser: everything but the document bytes (fetched on demand), the
    words German (:func:`german_title`, :func:`german_check`), the time as Berlin time."""
    return {
        "eventId": event.event_id,
        "traceId": event.trace_id,
        "flowId": event.flow_id,
        "hop": event.hop.value,
        "component": event.component,
        "peer": event.peer,
        "envelopeId": event.envelope_id,
        "title": german_title(event.title),
        "ok": event.ok,
        "checks": [german_check(c) for c in event.checks],
        "startedAt": event.started_at.isoformat(),
        "startedAtText": german_time(event.started_at),
        "endedAt": event.ended_at.isoformat(),
        "durationMs": round(event.duration_ms, 1),
        "documents": [
            {
                "index": i,
                "label": d.label,
                "size": len(d.xml) or d.omitted,
                "omitted": d.omitted > 0,
            }
            for i, d in enumerate(event.documents)
        ],
    }


#: What the stream yields when nothing happened for a while (not a notice).
_KEEPALIVE = Notice(0, "flow", "")


class _Subscriber:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[Notice | None] = asyncio.Queue(_SUBSCRIBER_QUEUE)

    def offer(self, notice: Notice | None) -> None:
        try:
            self.queue.put_nowait(notice)
        except asyncio.QueueFull:
            # A browser that does not keep up is cut off; it reconnects with Last-Event-ID
            # and catches up from the ring.
            self.queue = asyncio.Queue(1)
            self.queue.put_nowait(None)


class EventLog:
    """Ring buffer of :class:`Notice` plus the flow events by id (for their documents)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._notices: deque[Notice] = deque(maxlen=capacity)
        self._events: OrderedDict[str, FlowEvent] = OrderedDict()
        self._seq = 0
        self._lock = threading.Lock()
        self._subscribers: set[_Subscriber] = set()
        self._closed = False
        #: Names this log: sequence numbers start again when the dashboard restarts.
        self.boot = uuid.uuid4().hex

    # -- writing (any thread)

    def add_event(self, event: FlowEvent) -> Notice:
        with self._lock:
            self._events[event.event_id] = event
            while len(self._events) > self.capacity:
                self._events.popitem(last=False)
        return self._append("flow", event_summary(event))

    def add_run(self, data: dict[str, Any]) -> Notice:
        return self._append("run", data)

    def _append(self, kind: Kind, data: dict[str, Any]) -> Notice:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            self._seq += 1
            notice = Notice(self._seq, kind, text)
            self._notices.append(notice)
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            self._wake(subscriber, notice)
        return notice

    @staticmethod
    def _wake(subscriber: _Subscriber, notice: Notice | None) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is subscriber.loop:
            subscriber.offer(notice)
        else:
            # A closed loop means the stream is gone already.
            with contextlib.suppress(RuntimeError):
                subscriber.loop.call_soon_threadsafe(subscriber.offer, notice)

    # -- reading

    def event(self, event_id: str) -> FlowEvent | None:
        with self._lock:
            return self._events.get(event_id)

    def notices(self, *, after: int | None = None, kind: Kind | None = None) -> list[Notice]:
        with self._lock:
            items = list(self._notices)
            if after is not None and after > self._seq:
                after = None  # a number from before a restart: start with the recent past
        if after is not None:
            items = [n for n in items if n.seq > after]
        else:
            items = items[-DEFAULT_REPLAY:]
        return [n for n in items if kind is None or n.kind == kind]

    async def stream(
        self, *, after: int | None, alive: Callable[[], bool] | None = None
    ) -> AsyncIterator[str]:
        """The replay after ``after`` (or the recent past), then live notices; keep-alive
        comments in between. Ends when the log closes, this subscriber falls behind, or
        ``alive`` says no more (the operator's session has ended)."""
        subscriber = _Subscriber(asyncio.get_running_loop())
        with self._lock:
            self._subscribers.add(subscriber)
        try:
            yield "retry: 2000\n\n"
            yield f"event: hello\ndata: {json.dumps({'boot': self.boot})}\n\n"
            last = 0
            for notice in self.notices(after=after):
                last = notice.seq
                yield notice.sse()
            while not self._closed:
                try:
                    live = await asyncio.wait_for(subscriber.queue.get(), _KEEPALIVE_SECONDS)
                except TimeoutError:
                    live = _KEEPALIVE
                if live is None or (alive is not None and not alive()):
                    return
                if live is _KEEPALIVE:
                    yield ": keep-alive\n\n"
                    continue
                if live.seq > last:
                    last = live.seq
                    yield live.sse()
        finally:
            with self._lock:
                self._subscribers.discard(subscriber)

    def close(self) -> None:
        """End every open stream (shutdown)."""
        self._closed = True
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            self._wake(subscriber, None)


class LocalSink:
    """The dashboard's own pilots report straight into its log (no HTTP round trip)."""

    def __init__(self, log: EventLog) -> None:
        self._log = log

    def emit(self, event: FlowEvent) -> None:
        self._log.add_event(event)
