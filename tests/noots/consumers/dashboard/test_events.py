"""noots.consumers.dashboard._events: the bounded log, its replay and the live fan-out."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import UTC, datetime

import pytest

from noots import trace
from noots.consumers.dashboard._events import EventLog, LocalSink, event_summary
from noots.trace import FlowEvent, Hop, TracedDocument


def event(n: int, xml: bytes = b"") -> FlowEvent:
    now = datetime.now(UTC)
    return FlowEvent(
        trace_id=f"t-{n}",
        hop=Hop.SAK_DC,
        component="08118079-BPA-87",
        started_at=now,
        ended_at=now,
        documents=(TracedDocument(label="Antwort", xml=xml),) if xml else (),
    )


def test_the_ring_keeps_the_newest_entries_and_their_documents() -> None:
    """Beyond its capacity the log forgets the oldest notices and events."""
    log = EventLog(capacity=10)
    first = event(0, b"<a/>")
    log.add_event(first)
    for n in range(1, 15):
        log.add_event(event(n))
    notices = log.notices(after=0)
    assert [json.loads(n.data)["traceId"] for n in notices] == [f"t-{n}" for n in range(5, 15)]
    assert [n.seq for n in notices] == list(range(6, 16))
    assert log.event(first.event_id) is None
    assert log.notices(after=14)[0].seq == 15
    # a number from before a restart (higher than any here) replays the recent past
    assert [n.seq for n in log.notices(after=500)] == list(range(6, 16))


def test_summaries_carry_no_document_bytes() -> None:
    """The stream names documents by index, label and size only."""
    summary = event_summary(event(1, b"<secret-ish/>"))
    assert summary["documents"] == [{"index": 0, "label": "Antwort", "size": 13, "omitted": False}]
    assert "secret-ish" not in json.dumps(summary)


async def test_a_stream_replays_then_follows_events_from_other_threads() -> None:
    """Replay after the given seq, then live notices added by a worker thread, in order."""
    log = EventLog(capacity=100)
    log.add_event(event(1))
    log.add_run({"runId": "r1"})
    stream = log.stream(after=1)
    assert await anext(stream) == "retry: 2000\n\n"
    assert await anext(stream) == f'event: hello\ndata: {{"boot": "{log.boot}"}}\n\n'
    replayed = await anext(stream)
    assert replayed.startswith("id: 2\nevent: run\n")
    worker = threading.Thread(target=lambda: LocalSink(log).emit(event(3)))
    worker.start()
    worker.join()
    live = await asyncio.wait_for(anext(stream), 5)
    assert live.startswith("id: 3\nevent: flow\ndata: ")
    assert json.loads(live.split("data: ", 1)[1])["traceId"] == "t-3"
    log.close()
    await stream.aclose()


async def test_closing_the_log_ends_open_streams() -> None:
    """Shutdown: a waiting stream finishes instead of hanging."""
    log = EventLog(capacity=10)
    stream = log.stream(after=0)
    await anext(stream)
    await anext(stream)
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    log.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(waiting, 5)


async def test_a_stream_ends_with_its_operators_session() -> None:
    """After a logout the stream shows nothing more: it ends at the next notice."""
    log = EventLog(capacity=10)
    session = {"open": True}
    stream = log.stream(after=0, alive=lambda: session["open"])
    await anext(stream)
    await anext(stream)
    log.add_event(event(1))
    assert (await asyncio.wait_for(anext(stream), 5)).startswith("id: 1\n")
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    session["open"] = False
    log.add_event(event(2))
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(waiting, 5)


def test_local_sink_is_a_trace_sink() -> None:
    """The dashboard's pilots trace straight into the log."""
    log = EventLog(capacity=10)
    sink = LocalSink(log)
    assert isinstance(sink, trace.TraceSink)
    with trace.flow("run", sink=sink), trace.span(Hop.DC_SAK, "08118079-BPA-87"):
        trace.step("RDN erreichbar")
    [notice] = log.notices()
    assert json.loads(notice.data)["flowId"] == "run"


def test_summaries_are_german_with_berlin_time() -> None:
    """A simulated fault reads by its German name and is flagged as simulated, an outcome key
    in a title is German, an error code gets its meaning, the start is Berlin time."""
    from noots.trace import Check

    started = datetime(2026, 12, 6, 5, 12, 52, tzinfo=UTC)
    summary = event_summary(
        FlowEvent(
            trace_id="t",
            hop=Hop.DP_SAK,
            component="991-01234ZFZR-41",
            title="Antwort an den eigenen SAK (delivered)",
            checks=(
                Check(name="Register arbeitet ohne Störung", ok=False, detail="simuliert: drop"),
                Check(name="Signatur", ok=False, detail="EDM:ERR:0001: signature invalid"),
                Check(name="Antwort gebunden", ok=True),
            ),
            started_at=started,
            ended_at=started,
        )
    )
    assert summary["title"] == "Antwort an den eigenen SAK (übermittelt)"
    fault, signature, bound = summary["checks"]
    assert fault == {
        "name": "Register arbeitet ohne Störung",
        "ok": False,
        "detail": "simuliert: Verbindung bricht mitten in der Antwort ab",
        "simulated": True,
    }
    assert (
        signature["detail"] == "Authentifizierung fehlgeschlagen (EDM:ERR:0001): signature invalid"
    )
    assert not signature["simulated"]
    assert bound["ok"]
    assert summary["startedAtText"] == "06:12:52 Uhr"
    assert "bad_signature" not in json.dumps(summary)


@pytest.mark.parametrize(
    ("title", "german"),
    [
        ("Antwort signieren (refused:EDM:ERR:0004)", "Antwort signieren (kein Nachweis vorhanden)"),
        (
            "Antwort des Registers geprüft: pending",
            "Antwort des Registers geprüft: wird nachgereicht",
        ),
        ("Übermittlung protokolliert (§ 9 IDNrG)", "Übermittlung protokolliert (§ 9 IDNrG)"),
    ],
)
def test_outcome_keys_in_titles_are_german(title: str, german: str) -> None:
    """Components quote outcome keys in their titles; the page shows German."""
    from noots.consumers.dashboard._events import german_title

    assert german_title(title) == german
