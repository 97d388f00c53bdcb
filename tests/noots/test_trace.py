"""noots.trace: spans, steps, exchanges, flows and the event model."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import anyio.to_thread
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from noots import trace
from noots.errors import PersonNotFound
from noots.testing.trace import RecordingSink
from noots.trace import MAX_DOCUMENT_BYTES, NULL_SPAN, Check, FlowEvent, Hop, TracedDocument

DP = "991-01234ZFZR-41"


@pytest.fixture
def sink() -> Iterator[RecordingSink]:
    with trace.installed(RecordingSink()) as installed:
        assert isinstance(installed, RecordingSink)
        yield installed


class ExplodingSink:
    def emit(self, event: FlowEvent) -> None:
        raise RuntimeError("collector down")


def test_without_a_sink_spans_are_inert() -> None:
    """No sink installed: span() hands out the shared null span and helpers do nothing."""
    assert not trace.enabled()
    with trace.span(Hop.SAK_DP, DP) as span:
        assert span is NULL_SPAN
        trace.step("Signatur gültig")
        trace.bind("abc")
        trace.attach("Anfrage", b"<x/>")
    with trace.exchange(), trace.span(Hop.DC_IDA, DP) as span:
        assert span is NULL_SPAN


def test_steps_pass_in_order_and_the_span_reports_once(sink: RecordingSink) -> None:
    """Each step passes when the next starts; the event carries hop, component and ids."""
    with trace.span(
        Hop.SAK_DP, DP, peer="991-01234ZFZR-41.sak", envelope_id="env-1", title="Anfrage"
    ):
        trace.step("Signatur gültig")
        trace.step("Token gültig")
        trace.check("Person gefunden", True, "eindeutig")
        trace.bind("req-1")
        trace.bind("req-2")  # the first name sticks
    [event] = sink.events
    assert event.hop is Hop.SAK_DP
    assert (event.component, event.peer, event.envelope_id) == (DP, "991-01234ZFZR-41.sak", "env-1")
    assert event.trace_id == "req-1"
    assert [(c.name, c.ok) for c in event.checks] == [
        ("Signatur gültig", True),
        ("Token gültig", True),
        ("Person gefunden", True),
    ]
    assert event.ok
    assert event.ended_at >= event.started_at


def test_an_exception_fails_the_pending_step_and_propagates(sink: RecordingSink) -> None:
    """The step in progress is recorded as failed with the EDM code; the error is re-raised."""

    def refuse() -> None:
        with trace.span(Hop.SAK_DP, DP):
            trace.step("IDNr gültig")
            trace.step("Person eindeutig gefunden")
            raise PersonNotFound("kein Nachweis", component=DP)

    with pytest.raises(PersonNotFound):
        refuse()
    [event] = sink.events
    assert [(c.name, c.ok) for c in event.checks] == [
        ("IDNr gültig", True),
        ("Person eindeutig gefunden", False),
    ]
    assert event.checks[1].detail == f"EDM:ERR:0004: kein Nachweis (bei {DP})"
    assert not event.ok


def test_fail_marks_a_caught_error_and_work_goes_on(sink: RecordingSink) -> None:
    """fail() records the caught error at the pending step; later steps are still recorded."""
    with trace.span(Hop.SAK_DP, DP):
        trace.step("VS-Token gültig")
        trace.fail(ValueError("purpose differs"))
        trace.step("Ablehnung protokolliert")
    [event] = sink.events
    assert [(c.name, c.ok, c.detail) for c in event.checks] == [
        ("VS-Token gültig", False, "ValueError: purpose differs"),
        ("Ablehnung protokolliert", True, ""),
    ]


def test_failure_without_a_pending_step_is_named_generically(sink: RecordingSink) -> None:
    """An error outside any step still turns the span red."""
    with pytest.raises(RuntimeError), trace.span(Hop.DC_SAK, "bpa"):
        raise RuntimeError("boom")
    [event] = sink.events
    assert event.checks == (Check(name="Verarbeitung", ok=False, detail="RuntimeError: boom"),)


def test_nested_spans_restore_the_outer_one(sink: RecordingSink) -> None:
    """Steps after an inner span go to the outer span again."""
    with trace.span(Hop.SAK_SAK, "08118079-BPA-87.sak"):
        trace.step("außen 1")
        with trace.span(Hop.SAK_DP, DP):
            trace.step("innen")
        trace.step("außen 2")
    inner, outer = sink.events
    assert [c.name for c in inner.checks] == ["innen"]
    assert [c.name for c in outer.checks] == ["außen 1", "außen 2"]


async def test_steps_in_a_worker_thread_reach_the_span(sink: RecordingSink) -> None:
    """run_in_threadpool copies the context: steps made in the worker land in the span."""

    def work() -> None:
        trace.step("im Thread")
        trace.bind("req-thread")

    with trace.span(Hop.SAK_DP, DP):
        await anyio.to_thread.run_sync(work)
    [event] = sink.events
    assert event.trace_id == "req-thread"
    assert [c.name for c in event.checks] == ["im Thread"]


def test_exchange_holds_events_until_the_request_id_is_known(sink: RecordingSink) -> None:
    """IDA and RDN spans before the 0101 exists get its id once bind() names it."""
    with trace.exchange():
        with trace.span(Hop.DC_IDA, "bpa"):
            trace.step("IDNr erhalten")
        with trace.span(Hop.DC_SAK, "bpa"):
            trace.step("Route gefunden")
        assert sink.events == []
        trace.bind("req-42")
        assert [e.trace_id for e in sink.events] == ["req-42", "req-42"]
        with trace.span(Hop.SAK_VS, "bpa"):
            trace.step("Token erhalten")
    assert [(e.hop, e.trace_id) for e in sink.events] == [
        (Hop.DC_IDA, "req-42"),
        (Hop.DC_SAK, "req-42"),
        (Hop.SAK_VS, "req-42"),
    ]


def test_exchange_that_never_reaches_a_request_gets_one_generated_id(
    sink: RecordingSink,
) -> None:
    """A lookup that fails before the 0101 still reaches the sink, under one fresh id."""

    def lookup() -> None:
        with trace.exchange():
            with trace.span(Hop.DC_SAK, "bpa"):
                trace.step("Route gefunden")
            with trace.span(Hop.DC_IDA, "bpa"):
                trace.step("IDNr eindeutig")
                raise PersonNotFound("keine eindeutige Person")

    with pytest.raises(PersonNotFound):
        lookup()
    first, second = sink.events
    assert first.trace_id is not None
    assert first.trace_id == second.trace_id
    assert not second.ok


def test_the_bound_request_id_is_known_in_the_exchange_even_without_a_sink() -> None:
    """current_trace_id names what bind() named, also where nothing is recorded (the id
    travels on to components that record); outside an exchange it is None."""
    assert trace.current_trace_id() is None
    with trace.exchange():
        assert trace.current_trace_id() is None
        trace.bind("4a1d6c3e-0000-4000-8000-000000000001")
        assert trace.current_trace_id() == "4a1d6c3e-0000-4000-8000-000000000001"
    assert trace.current_trace_id() is None


def test_flow_tags_events_and_may_route_them_elsewhere(sink: RecordingSink) -> None:
    """flow() adds its id to every event and sends them to its own sink when it names one."""
    own = RecordingSink()
    with trace.flow("run-1", sink=own) as flow_id:
        assert flow_id == "run-1"
        assert trace.current_flow_id() == "run-1"
        with trace.span(Hop.SAK_VS, "bpa"):
            trace.step("Token erhalten")
    with trace.flow() as generated, trace.span(Hop.SAK_VS, "bpa"):
        pass
    assert trace.current_flow_id() is None
    assert [e.flow_id for e in own.events] == ["run-1"]
    assert [e.flow_id for e in sink.events] == [generated]


def test_flow_sink_works_without_an_installed_sink() -> None:
    """A flow's own sink enables tracing in its context only."""
    own = RecordingSink()
    with trace.flow(sink=own), trace.span(Hop.SAK_SAK, "bpa"):
        trace.step("gesendet")
    with trace.span(Hop.SAK_SAK, "bpa") as outside:
        assert outside is NULL_SPAN
    assert len(own.events) == 1


def test_a_failing_sink_never_fails_the_exchange() -> None:
    """emit() raising is swallowed: the traced work completes normally."""
    with trace.installed(ExplodingSink()):
        with trace.span(Hop.SAK_DP, DP):
            trace.step("Signatur gültig")
        with trace.exchange():
            with trace.span(Hop.DC_IDA, "bpa"):
                pass
            trace.bind("req")


def test_documents_are_kept_exactly_and_oversize_ones_only_announced(
    sink: RecordingSink,
) -> None:
    """Signed bytes travel unchanged; a document above the limit is carried by size only."""
    signed = b"<?xml version='1.0' encoding='UTF-8'?>\n<a>\xc3\xa4</a>"
    with trace.span(Hop.DP_SAK, DP):
        trace.attach("Antwort", signed)
        trace.attach("riesig", b"x" * (MAX_DOCUMENT_BYTES + 1))
        for n in range(5):
            trace.attach(f"mehr {n}", b"<b/>")
    [event] = sink.events
    assert event.documents[0] == TracedDocument(label="Antwort", xml=signed)
    assert event.documents[1].xml == b""
    assert event.documents[1].omitted == MAX_DOCUMENT_BYTES + 1
    assert len(event.documents) == 4


def test_overlong_texts_are_cut_not_refused(sink: RecordingSink) -> None:
    """A very long detail is shortened so the event stays valid."""
    with trace.span(Hop.SAK_DP, DP):
        trace.check("x" * 500, False, "y" * 5000)
    [event] = sink.events
    assert len(event.checks[0].name) == 200
    assert len(event.checks[0].detail) == 2000


_text = st.text(max_size=60)
_ids = st.one_of(st.none(), st.text(min_size=1, max_size=40))


@settings(max_examples=100, deadline=None)
@given(
    hop=st.sampled_from(list(Hop)),
    trace_id=_ids,
    checks=st.lists(st.tuples(_text, st.booleans(), _text), max_size=6),
    xml=st.binary(max_size=300),
    millis=st.integers(min_value=0, max_value=10**7),
)
def test_events_round_trip_through_json(
    hop: Hop, trace_id: str | None, checks: list[tuple[str, bool, str]], xml: bytes, millis: int
) -> None:
    """model_dump_json → model_validate_json gives the same event, bytes included."""
    start = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    event = FlowEvent(
        trace_id=trace_id,
        hop=hop,
        component="991-01234ZFZR-41.sak",
        checks=tuple(Check(name=n, ok=o, detail=d) for n, o, d in checks),
        started_at=start,
        ended_at=start + timedelta(milliseconds=millis),
        documents=(TracedDocument(label="Nachricht", xml=xml),),
    )
    again = FlowEvent.model_validate_json(event.model_dump_json())
    assert again == event
    assert again.duration_ms == pytest.approx(millis)


@pytest.mark.parametrize(
    "change",
    [
        {"hop": "dc→nowhere"},
        {"hop": "hub→dp"},  # the central hub of the first design is gone
        {"surprise": 1},
        {"event_id": "not-hex"},
        {"started_at": "2026-11-22T09:00:00"},
        {"component": ""},
        {"checks": [{"name": "x", "ok": True}] * 65},
    ],
)
def test_the_collector_model_refuses_malformed_events(change: dict[str, object]) -> None:
    """Unknown hops and fields, naive times, empty ids and too many checks are refused."""
    data: dict[str, object] = {
        "event_id": uuid.uuid4().hex,
        "hop": "sak→dp",
        "component": DP,
        "started_at": "2026-11-22T09:00:00Z",
        "ended_at": "2026-11-22T09:00:01Z",
    }
    FlowEvent.model_validate(data)
    with pytest.raises(ValidationError):
        FlowEvent.model_validate({**data, **change})
