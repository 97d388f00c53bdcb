"""noots.consumers.dashboard.sink: events posted to the collector over a real socket, streamed live;
and how `noots serve`/`noots up` wire it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from noots import trace
from noots.consumers.dashboard.sink import MAX_BATCH, HttpTraceSink, install_http_sink
from noots.testing.dashboard import ServedDashboard, operator_login
from noots.trace import FlowEvent, Hop

DP = "991-01234ZFZR-41"


def event(trace_id: str = "t-1", xml: bytes = b"") -> FlowEvent:
    now = datetime.now(UTC)
    documents = (trace.TracedDocument(label="Antwort", xml=xml),) if xml else ()
    return FlowEvent(
        trace_id=trace_id,
        hop=Hop.DP_SAK,
        component=DP,
        checks=(trace.Check(name="Antwort signiert", ok=True),),
        started_at=now,
        ended_at=now,
        documents=documents,
    )


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, object]]]:
    kind = ""
    for line in lines:
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield kind, json.loads(line.removeprefix("data: "))


def test_posted_events_reach_the_collector_and_the_live_stream(
    served_dashboard: ServedDashboard,
) -> None:
    """An event emitted in a component arrives at an open SSE stream, documents by reference."""
    signed = b"<?xml version='1.0' encoding='UTF-8'?>\n<a/>"
    sink = HttpTraceSink(
        served_dashboard.url + "/events/v1", authorization=served_dashboard.reporting
    )
    wanted = event("sse-live", signed)
    seen: list[dict[str, object]] = []
    ready = threading.Event()

    def listen() -> None:
        with httpx.Client(timeout=20) as client:
            operator_login(client, served_dashboard.url, served_dashboard.operator_token)
            with client.stream(
                "GET", served_dashboard.url + "/events/v1/stream?after=999999999"
            ) as r:
                lines = r.iter_lines()
                assert next(lines) == "retry: 2000"
                ready.set()
                for kind, data in sse_events(lines):
                    if kind == "flow" and data["traceId"] == "sse-live":
                        seen.append(data)
                        return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert ready.wait(20)
    sink.emit(wanted)
    assert sink.flush(10)
    listener.join(20)
    sink.close()
    assert sink.sent == 1
    [data] = seen
    assert data["eventId"] == wanted.event_id
    assert data["documents"] == [
        {"index": 0, "label": "Antwort", "size": len(signed), "omitted": False}
    ]
    stored = served_dashboard.app.state.events.event(wanted.event_id)
    assert stored.documents[0].xml == signed  # the exact bytes, kept for the detail panel


def test_a_reconnecting_stream_resumes_after_its_last_event(
    served_dashboard: ServedDashboard,
) -> None:
    """Last-Event-ID: the stream replays only what came after it."""
    log = served_dashboard.app.state.events
    first = log.add_event(event("resume-1"))
    log.add_event(event("resume-2"))
    with httpx.Client(timeout=20) as client:
        operator_login(client, served_dashboard.url, served_dashboard.operator_token)
        with client.stream(
            "GET",
            served_dashboard.url + "/events/v1/stream",
            headers={"Last-Event-ID": str(first.seq)},
        ) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            stream = sse_events(response.iter_lines())
            hello_kind, hello = next(stream)
            kind, data = next(stream)
    assert (hello_kind, hello) == ("hello", {"boot": log.boot})
    assert (kind, data["traceId"]) == ("flow", "resume-2")


def test_emit_never_blocks_or_raises_when_the_collector_is_down() -> None:
    """Nothing listens: events are counted as lost, the caller is never held up."""
    from noots.testing.landscape import free_port

    sink = HttpTraceSink(f"http://127.0.0.1:{free_port()}/events/v1", timeout=0.5)
    for n in range(20):
        sink.emit(event(f"down-{n}"))
    assert sink.flush(10)
    sink.close()
    assert sink.sent == 0
    assert sink.failed_batches >= 1


def test_a_full_queue_drops_and_batches_stay_bounded() -> None:
    """While the collector hangs, the bounded queue drops; then batches of at most MAX_BATCH."""
    release, entered = threading.Event(), threading.Event()
    sizes: list[int] = []

    def collector(request: httpx.Request) -> httpx.Response:
        entered.set()
        release.wait(10)
        sizes.append(len(json.loads(request.content)["events"]))
        return httpx.Response(202)

    sink = HttpTraceSink(
        "http://dashboard.test/events/v1",
        capacity=MAX_BATCH + 50,
        transport=httpx.MockTransport(collector),
    )
    sink.emit(event("first"))
    assert entered.wait(10)  # the thread holds the first event, blocked in the collector
    for n in range(MAX_BATCH + 80):
        sink.emit(event(f"e-{n}"))
    assert sink.dropped == 30
    release.set()
    assert sink.flush(10)
    sink.close()
    sink.emit(event("after close"))
    assert sizes[0] == 1
    assert max(sizes) == MAX_BATCH
    assert sum(sizes) == sink.sent == MAX_BATCH + 51


def test_each_component_posts_its_events_with_its_own_authorization() -> None:
    """A batch of two components' events goes out as two POSTs, each authenticated as the
    component whose events it carries."""
    posts: list[tuple[str, list[str]]] = []

    def collector(request: httpx.Request) -> httpx.Response:
        components = [e["component"] for e in json.loads(request.content)["events"]]
        posts.append((request.headers["authorization"], components))
        return httpx.Response(202)

    release = threading.Event()

    def authorization(component: str) -> dict[str, str]:
        release.wait(10)  # the sink waits here while the other events queue up: one batch
        return {"Authorization": f"Bearer for-{component}"}

    sink = HttpTraceSink(
        "http://dashboard.test/events/v1",
        transport=httpx.MockTransport(collector),
        authorization=authorization,
    )
    vs = event("vs").model_copy(update={"component": "noots-vs"})
    sink.emit(event("first"))
    for emitted in (event("a"), vs, event("b")):
        sink.emit(emitted)
    release.set()
    assert sink.flush(10)
    sink.close()
    assert sink.sent == 4
    assert ("Bearer for-noots-vs", ["noots-vs"]) in posts
    assert all(header == f"Bearer for-{c}" for header, components in posts for c in components)


def test_refused_batches_are_counted_never_raised() -> None:
    """A collector that refuses (401) costs the batch, counted apart; emit never raises."""
    sink = HttpTraceSink(
        "http://dashboard.test/events/v1",
        transport=httpx.MockTransport(lambda _r: httpx.Response(401)),
        authorization=lambda _c: {"Authorization": "Bearer wrong"},
    )
    sink.emit(event("refused"))
    assert sink.flush(10)
    sink.close()
    assert (sink.sent, sink.failed_batches, sink.refused_batches) == (0, 1, 1)


def test_a_sink_without_the_landscape_key_is_refused_one_with_it_accepted(
    served_dashboard: ServedDashboard,
) -> None:
    """Over a real socket: events without a token never reach the log, with one they do."""
    url = served_dashboard.url + "/events/v1"
    anonymous = HttpTraceSink(url)
    reporting = HttpTraceSink(url, authorization=served_dashboard.reporting)
    anonymous.emit(event("no-key"))
    reporting.emit(event("with-key"))
    assert anonymous.flush(10)
    assert reporting.flush(10)
    anonymous.close()
    reporting.close()
    traces = {
        json.loads(n.data)["traceId"]
        for n in served_dashboard.app.state.events.notices(after=0, kind="flow")
    }
    assert (anonymous.refused_batches, reporting.sent) == (1, 1)
    assert "with-key" in traces
    assert "no-key" not in traces


def test_only_http_urls_are_accepted() -> None:
    """A sink needs an http(s) URL."""
    with pytest.raises(ValueError, match="http"):
        HttpTraceSink("file:///tmp/events")


def test_install_http_sink_enables_tracing_for_the_process() -> None:
    """install_http_sink makes spans real; uninstalling turns them inert again."""
    previous = trace.install(None)
    try:
        sink = install_http_sink("http://127.0.0.1:9/events/v1", authorization=lambda _c: {})
        assert trace.enabled()
        with trace.span(Hop.SAK_DP, DP) as span:
            assert span is not trace.NULL_SPAN
        trace.install(None)
        sink.close()
        assert not trace.enabled()
    finally:
        trace.install(previous)


def test_noots_serve_installs_the_sink_for_every_component_but_the_dashboard(
    served_dashboard: ServedDashboard,
) -> None:
    """With NOOTS_TRACE_URL a served register reports to the collector; the dashboard does not."""
    from noots.landscape.server import build_app, plan_server

    landscape = served_dashboard.landscape
    overrides = {**landscape.settings_overrides, "trace_url": served_dashboard.url + "/events/v1"}
    previous = trace.install(None)
    try:
        build_app(plan_server("dashboard", overrides))
        assert not trace.enabled()
        build_app(plan_server(DP, overrides))
        sink = trace.install(None)
        assert isinstance(sink, HttpTraceSink)
        assert sink.url == served_dashboard.url + "/events/v1"
        sink.close()
    finally:
        trace.install(previous)


def test_noots_up_points_every_component_at_the_dashboard(tmp_path: Path) -> None:
    """The supervisor's child environment names the dashboard's collector."""
    from noots.supervisor import Supervisor
    from noots.testing.landscape import write_topology
    from noots.topology import load_topology

    topology_path = write_topology(tmp_path)
    supervisor = Supervisor(tmp_path / "data", topology_path)
    supervisor.run_dir.mkdir(parents=True)
    env = supervisor._child_env()
    port = load_topology(topology_path).dashboard.port
    assert env["NOOTS_TRACE_URL"] == f"http://127.0.0.1:{port}/events/v1"
