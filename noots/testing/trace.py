"""A trace sink that keeps every event in memory, for tests of traced code paths.

::

    sink = RecordingSink()
    with trace.installed(sink):
        ...
    [event] = sink.for_hop(Hop.SAK_DP)
    assert [c.name for c in event.checks if not c.ok] == []
"""

from __future__ import annotations

import threading

from noots.trace import FlowEvent, Hop

__all__ = ["RecordingSink"]


class RecordingSink:
    """Collects events in the order they were emitted; thread-safe."""

    def __init__(self) -> None:
        self._events: list[FlowEvent] = []
        self._lock = threading.Lock()

    def emit(self, event: FlowEvent) -> None:
        with self._lock:
            self._events.append(event)

    @property
    def events(self) -> list[FlowEvent]:
        with self._lock:
            return list(self._events)

    def for_hop(self, hop: Hop, *, component: str | None = None) -> list[FlowEvent]:
        return [
            e
            for e in self.events
            if e.hop is hop and (component is None or e.component == component)
        ]

    def for_trace(self, trace_id: str) -> list[FlowEvent]:
        return [e for e in self.events if e.trace_id == trace_id]

    def clear(self) -> None:
        with self._lock:
            self._events.clear()
