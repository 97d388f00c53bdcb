"""Flow tracing: what each hop of an exchange checked and how long it took, for the dashboard.

An exchange travels DC → IDA, then DC → its SAK (→ RDN, → VS) → the provider's SAK → DP and
back the same way. Each component records the part it sees as a :class:`Span` and reports it
as one :class:`FlowEvent`: the hop, the component, the checks it made in order (passed or
failed, with a detail), start and end, and optionally the signed XML of the message at that
hop. Events of one exchange share a **trace id**, the
XNachweis request id (``DE.EvidenceRequest.0101/@id`` without ``urn:uuid:``) — every party
reads it from the verified message, so nothing but the message itself has to travel. A client
that looks up the IDNr or the route before the request exists opens an :func:`exchange`: its
events wait there until :func:`bind` names the request id (or get a fresh id of their own).

Recording is one line per step, through the span that is current in this context::

    with trace.span(Hop.SAK_DP, "991-01234ZFZR-41"):
        trace.step("0101 vom eigenen SAK, an dieses Register")
        verified = accept_request(raw, metadata, ...)  # raises → this step is recorded as failed
        trace.bind(str(verified.request.request_id))
        trace.step("VS-Token gültig und gebunden")
        ...

A step passes when the next one starts or the span ends; an exception leaving the span (or
:func:`fail`) marks it failed with the error's code and message.

The events go to a :class:`TraceSink`: the one :func:`install`-ed for the process, or the one
a :func:`flow` names for its context (the dashboard runs its own pilots that way). No HTTP here:
the dashboard ships the sink that posts events to its collector. When no sink is installed,
:func:`span` returns an inert span and every helper returns at once (no allocation, no clock).
A sink must never block or raise; a failing sink is ignored, never the exchange.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import TracebackType
from typing import Annotated, Protocol, runtime_checkable

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from noots.errors import NootsError

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "NULL_SPAN",
    "Check",
    "FlowEvent",
    "Hop",
    "Span",
    "TraceSink",
    "TracedDocument",
    "attach",
    "bind",
    "check",
    "current_flow_id",
    "current_trace_id",
    "describe_error",
    "enabled",
    "exchange",
    "fail",
    "flow",
    "install",
    "installed",
    "note",
    "span",
    "step",
]

log = logging.getLogger("noots.trace")

#: Larger documents are announced by label only (an evidence with a big attachment).
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024
_MAX_CHECKS = 64
_MAX_DOCUMENTS = 4


class Hop(StrEnum):
    """The hops of one exchange, in the order they happen.

    Through the SAKs: the online service asks its SAK (route, authorisation, the 0101); the
    SAK asks the RDN and, where required, the VS; it sends the envelope to the provider's SAK,
    which hands the 0101 to the register and gets its answer; the answer travels back the same
    way.
    """

    DC_IDA = "dc→ida"
    DC_SAK = "dc→sak"
    SAK_RDN = "sak→rdn"
    SAK_VS = "sak→vs"
    SAK_SAK = "sak→sak"
    SAK_DP = "sak→dp"
    DP_SAK = "dp→sak"
    SAK_SAK_ANSWER = "sak←sak"
    SAK_DC = "sak→dc"
    #: The Intermediäre Plattform's EU side (docs/EU.md). Use case 3: a member state's access
    #: point sends the IP an EDM QueryRequest, the IP answers it (the 0301 in between travels
    #: the national hops, the IP in the online service's place). Use case 4: the IP asks the
    #: EU common services, the citizen comes to the IP, the IP asks the member state's
    #: provider (the first request, then the one after the preview).
    EU_IP = "eu→ip"
    IP_EU = "ip→eu"
    IP_CS = "ip→cs"
    CITIZEN_IP = "bürger→ip"
    IP_MS = "ip→ms"
    MS_IP = "ms→ip"


ShortText = Annotated[str, StringConstraints(max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=2000)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class Check(BaseModel):
    """One check a component made: its German name, whether it held, and why not."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: ShortText
    ok: bool
    detail: LongText = ""


class TracedDocument(BaseModel):
    """A message as it went over the wire at this hop (signed bytes, exactly)."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", ser_json_bytes="base64", val_json_bytes="base64"
    )

    label: ShortText
    xml: Annotated[bytes, Field(max_length=MAX_DOCUMENT_BYTES)] = b""
    omitted: int = Field(default=0, ge=0, description="Size of a document too large to carry.")


class FlowEvent(BaseModel):
    """What one component saw of one hop of one exchange."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", ser_json_bytes="base64", val_json_bytes="base64"
    )

    event_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")] = Field(
        default_factory=lambda: uuid.uuid4().hex
    )
    trace_id: Identifier | None = Field(
        default=None, description="The XNachweis request id, or a client-generated flow id."
    )
    flow_id: Identifier | None = Field(
        default=None, description="Groups the exchanges of one run (a pilot of the dashboard)."
    )
    hop: Hop
    component: Identifier = Field(description="Participant id of the component reporting.")
    peer: Identifier | None = Field(default=None, description="The other side of the hop.")
    envelope_id: Identifier | None = Field(
        default=None,
        description="MessageId of the request envelope: tells the attempts of a retry apart.",
    )
    title: ShortText = ""
    checks: tuple[Check, ...] = Field(default=(), max_length=_MAX_CHECKS)
    started_at: AwareDatetime
    ended_at: AwareDatetime
    documents: tuple[TracedDocument, ...] = Field(default=(), max_length=_MAX_DOCUMENTS)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def duration_ms(self) -> float:
        return max(0.0, (self.ended_at - self.started_at).total_seconds() * 1000)


@runtime_checkable
class TraceSink(Protocol):
    """Receives finished events. ``emit`` must return at once and never raise."""

    def emit(self, event: FlowEvent) -> None: ...


def describe_error(error: BaseException | str) -> str:
    """The detail of a failed check: EDM code and message of a noots error."""
    if isinstance(error, str):
        return error[:2000]
    if isinstance(error, NootsError):
        where = f" (bei {error.component})" if error.component else ""
        return f"{error.code.value}: {error.message}{where}"[:2000]
    return f"{type(error).__name__}: {error}"[:2000]


# -- where events go -----------------------------------------------------------------------

_installed: TraceSink | None = None
_install_lock = threading.Lock()


@dataclass(frozen=True)
class _Flow:
    flow_id: str | None
    sink: TraceSink | None


@dataclass
class _Exchange:
    """Events of a client exchange recorded before the request id was known."""

    trace_id: str | None = None
    waiting: list[tuple[TraceSink, FlowEvent]] = field(default_factory=list)

    def bind(self, trace_id: str) -> None:
        if self.trace_id is not None:
            return
        self.trace_id = trace_id
        self.release()

    def release(self) -> None:
        trace_id = self.trace_id or uuid.uuid4().hex
        waiting, self.waiting = self.waiting, []
        for sink, event in waiting:
            _deliver(sink, event.model_copy(update={"trace_id": trace_id}))


_flow: ContextVar[_Flow | None] = ContextVar("noots_trace_flow", default=None)
_exchange: ContextVar[_Exchange | None] = ContextVar("noots_trace_exchange", default=None)
_current: ContextVar[Span | None] = ContextVar("noots_trace_span", default=None)


def install(sink: TraceSink | None) -> TraceSink | None:
    """Make ``sink`` the process's sink (``None``: tracing off); returns the previous one."""
    global _installed
    with _install_lock:
        previous, _installed = _installed, sink
    return previous


@contextlib.contextmanager
def installed(sink: TraceSink) -> Iterator[TraceSink]:
    """``sink`` as the process's sink for the ``with`` block (tests)."""
    previous = install(sink)
    try:
        yield sink
    finally:
        install(previous)


def _sink() -> TraceSink | None:
    current = _flow.get()
    if current is not None and current.sink is not None:
        return current.sink
    return _installed


def enabled() -> bool:
    """Whether spans opened here are recorded."""
    return _sink() is not None


def current_trace_id() -> str | None:
    """The request id the current :func:`exchange` is bound to (None before :func:`bind`)."""
    pending = _exchange.get()
    return pending.trace_id if pending is not None else None


def current_flow_id() -> str | None:
    current = _flow.get()
    return current.flow_id if current is not None else None


@contextlib.contextmanager
def flow(flow_id: str | None = None, *, sink: TraceSink | None = None) -> Iterator[str]:
    """Tag every event of this context with ``flow_id`` (a fresh one if None) and, if given,
    send them to ``sink`` instead of the process's sink."""
    flow_id = flow_id or uuid.uuid4().hex
    token = _flow.set(_Flow(flow_id, sink))
    try:
        yield flow_id
    finally:
        _flow.reset(token)


@contextlib.contextmanager
def exchange() -> Iterator[None]:
    """Group the spans of one client exchange; their trace id is the one :func:`bind` names
    later. Events still waiting at the end get a generated id (a flow that never got as far
    as a request). Opened even when nothing is recorded here: the bound id travels on to
    components that do record (:func:`current_trace_id`)."""
    pending = _Exchange()
    token = _exchange.set(pending)
    try:
        yield
    finally:
        _exchange.reset(token)
        pending.release()


def _deliver(sink: TraceSink, event: FlowEvent) -> None:
    try:
        sink.emit(event)
    except Exception:  # a sink must not fail the exchange it observes
        log.debug("trace sink %r failed", sink, exc_info=True)


# -- spans ---------------------------------------------------------------------------------


class Span:
    """One component's part of one hop: checks in order, timing, documents."""

    def __init__(
        self,
        sink: TraceSink,
        hop: Hop,
        component: str,
        *,
        trace_id: str | None,
        flow_id: str | None,
        peer: str | None,
        envelope_id: str | None,
        title: str,
        pending: _Exchange | None,
    ) -> None:
        self._sink = sink
        self.hop = hop
        self.component = component
        self.trace_id = trace_id
        self.flow_id = flow_id
        self.peer = peer
        self.envelope_id = envelope_id
        self.title = title
        self._exchange = pending
        self._checks: list[Check] = []
        self._documents: list[TracedDocument] = []
        self._step: str | None = None
        self._started_at = datetime.now(UTC)
        self._started = time.perf_counter()
        self._token: Token[Span | None] | None = None
        self._done = False

    # recording

    def step(self, name: str) -> None:
        """``name`` starts; the step before it passed."""
        self._pass_pending()
        self._step = name

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        """A check that is decided right here (the pending step passed)."""
        self._pass_pending()
        self._add(_check(name, ok, detail))

    def fail(self, error: BaseException | str) -> None:
        """The pending step failed (or, with none pending, the span's work did)."""
        name = self._step or "Verarbeitung"
        self._step = None
        self._add(_check(name, False, describe_error(error)))

    def attach(self, label: str, xml: bytes) -> None:
        if len(self._documents) >= _MAX_DOCUMENTS:
            return
        if len(xml) > MAX_DOCUMENT_BYTES:
            self._documents.append(TracedDocument(label=label[:200], omitted=len(xml)))
        else:
            self._documents.append(TracedDocument(label=label[:200], xml=bytes(xml)))

    def bind(self, trace_id: str) -> None:
        if self.trace_id is None:
            self.trace_id = trace_id

    def note(
        self,
        *,
        title: str | None = None,
        peer: str | None = None,
        envelope_id: str | None = None,
    ) -> None:
        if title is not None:
            self.title = title[:200]
        if peer is not None:
            self.peer = peer
        if envelope_id is not None:
            self.envelope_id = envelope_id

    # lifecycle

    def __enter__(self) -> Span:
        self._token = _current.set(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            self.fail(exc)
        try:
            self.finish()
        finally:
            if self._token is not None:
                _current.reset(self._token)
                self._token = None

    def finish(self) -> None:
        """Report the span (once); a step still pending passed."""
        if self._done:
            return
        self._done = True
        self._pass_pending()
        elapsed = timedelta(seconds=time.perf_counter() - self._started)
        try:
            event = FlowEvent(
                trace_id=self.trace_id,
                flow_id=self.flow_id,
                hop=self.hop,
                component=self.component,
                peer=self.peer,
                envelope_id=self.envelope_id,
                title=self.title,
                checks=tuple(self._checks),
                started_at=self._started_at,
                ended_at=self._started_at + elapsed,
                documents=tuple(self._documents),
            )
        except ValueError:  # an id the model refuses: drop the event, never the exchange
            log.debug("trace event dropped", exc_info=True)
            return
        pending = self._exchange
        if event.trace_id is None and pending is not None:
            if pending.trace_id is None:
                pending.waiting.append((self._sink, event))
                return
            event = event.model_copy(update={"trace_id": pending.trace_id})
        _deliver(self._sink, event)

    def _pass_pending(self) -> None:
        if self._step is not None:
            self._add(_check(self._step, True, ""))
            self._step = None

    def _add(self, check: Check) -> None:
        if len(self._checks) < _MAX_CHECKS:
            self._checks.append(check)


def _check(name: str, ok: bool, detail: str) -> Check:
    # Built here from our own clipped strings: no validation needed on the hot path (the
    # collector validates whatever arrives from outside).
    return Check.model_construct(name=str(name)[:200], ok=bool(ok), detail=str(detail)[:2000])


class _NullSpan(Span):
    """The span when tracing is off: records nothing, costs nothing."""

    def __init__(self) -> None:  # no state: shared by every caller
        pass

    def step(self, name: str) -> None:
        return

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        return

    def fail(self, error: BaseException | str) -> None:
        return

    def attach(self, label: str, xml: bytes) -> None:
        return

    def bind(self, trace_id: str) -> None:
        return

    def note(
        self,
        *,
        title: str | None = None,
        peer: str | None = None,
        envelope_id: str | None = None,
    ) -> None:
        return

    def __enter__(self) -> Span:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return

    def finish(self) -> None:
        return


NULL_SPAN: Span = _NullSpan()


def span(
    hop: Hop,
    component: str,
    *,
    trace_id: str | None = None,
    peer: str | None = None,
    envelope_id: str | None = None,
    title: str = "",
) -> Span:
    """A span for ``component``'s part of ``hop``; use it as a context manager. Inert
    (:data:`NULL_SPAN`) when no sink is installed for this context."""
    sink = _sink()
    if sink is None:
        return NULL_SPAN
    current_flow = _flow.get()
    return Span(
        sink,
        hop,
        component,
        trace_id=trace_id,
        flow_id=current_flow.flow_id if current_flow is not None else None,
        peer=peer,
        envelope_id=envelope_id,
        title=title,
        pending=_exchange.get(),
    )


# -- one line per step: the current span of this context ------------------------------------


def step(name: str) -> None:
    """The current span's next step (no-op without one)."""
    current = _current.get()
    if current is not None:
        current.step(name)


def check(name: str, ok: bool, detail: str = "") -> None:
    current = _current.get()
    if current is not None:
        current.check(name, ok, detail)


def fail(error: BaseException | str) -> None:
    """The current span's pending step failed with ``error`` (caught and answered here)."""
    current = _current.get()
    if current is not None:
        current.fail(error)


def attach(label: str, xml: bytes) -> None:
    current = _current.get()
    if current is not None:
        current.attach(label, xml)


def bind(trace_id: str) -> None:
    """Name the exchange: the current span's trace id and that of the client exchange."""
    current = _current.get()
    if current is not None:
        current.bind(trace_id)
    pending = _exchange.get()
    if pending is not None:
        pending.bind(trace_id)


def note(
    *, title: str | None = None, peer: str | None = None, envelope_id: str | None = None
) -> None:
    current = _current.get()
    if current is not None:
        current.note(title=title, peer=peer, envelope_id=envelope_id)
