"""The online service's SAK as the online service under test sees it: its consumer API.

:class:`Gateway` is one ASGI app that answers on the paths an online service calls: the SAK's
consumer API (routes, authorisations, requests, collection of asynchronous submissions) and,
passed through, the IDA, the eID and the platform's pages. Behind it run the simulator's real
landscape in process (the online service's own SAK, RDN, VS, the registers' SAKs and the mock
registers), so a normal exchange is a real one. The suite sets a :class:`Mode` per round, and
the gateway then answers the way that round needs: the authorisation is refused, an answer
does not answer the request (another request id, person or evidence type, or no valid
XNachweis), a register announces its answer for later, every error code comes back (also one
outside ``EDM:ERR:0001…0008``), the SAK fails once or always. Every call and answer is
recorded for grading.

Served over mutual TLS (``noots conformance consumer --tls``,
:class:`~noots.tls.TlsPeerMiddleware` around the gateway), the consumer API answers only the
online service itself, as a real SAK does: another TLS client certificate, or none, is refused
with an ``EDM:ERR:0001`` problem, and every event records which certificate was presented.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import httpx
from lxml import etree

from noots import messages
from noots.clock import Clock
from noots.errors import EdmCode, NootsError, SenderMismatch
from noots.sak import AUTHORISATIONS_PATH, CONSUMER_REQUESTS_PATH, ROUTES_PATH, Header
from noots.tls import PEER_SCOPE_KEY, TlsPeer
from noots.topology import Topology
from noots.xml import parse, serialize

__all__ = ["UNLISTED_CODE", "Event", "Gateway", "Mode", "request_0101"]

_Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
_Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

#: The code outside EDM:ERR:0001…0008 the "unlisted" round answers (the national code list is
#: not published; a partner may send any code).
UNLISTED_CODE = "NOOTS:ERR:1001"
_XML = "application/xml"
_PROBLEM = "application/problem+json"
#: A person no register knows, for the round whose evidence is about someone else.
_STRANGER = messages.NaturalPerson("Fremd", "Franz", date(1971, 5, 3), "86095742719")


class Mode(StrEnum):
    NORMAL = "normal"
    AUTHORISATION_REFUSED = "authorisation_refused"
    OTHER_REQUEST = "other_request"
    OTHER_PERSON = "other_person"
    OTHER_TYPE = "other_type"
    MALFORMED = "malformed"
    ASYNCHRONOUS = "asynchronous"
    ERROR = "error"
    UNLISTED = "unlisted"
    TRANSIENT = "transient"
    ALWAYS_FAILING = "always_failing"


#: The rounds whose answer does not answer the request (DC-05).
UNFIT = (Mode.OTHER_REQUEST, Mode.OTHER_PERSON, Mode.OTHER_TYPE, Mode.MALFORMED)


@dataclass
class Event:
    """One call the online service made to its SAK (or through it), and what it got."""

    kind: str  # "route", "authorisation", "request", "collect", "ida", "other"
    request: bytes
    at: datetime
    method: str = "GET"
    path: str = ""
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    response: bytes = b""
    status: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)
    note: str = ""
    #: The answer was a 0102 with evidence, passed on unchanged from the real exchange.
    delivered: bool = False
    #: Over mutual TLS: the participant whose certificate the client presented ("" for none).
    tls_client: str | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def request_json(self) -> dict[str, Any]:
        return _json_object(self.request)

    def response_json(self) -> dict[str, Any]:
        return _json_object(self.response)


@dataclass
class _Round:
    mode: Mode = Mode.NORMAL
    code: EdmCode | None = None
    events: list[Event] = field(default_factory=list)
    seen_requests: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    media_type: str
    headers: dict[str, str] = field(default_factory=dict)


class Gateway:
    """The SAK of one online service under test (see the module docstring)."""

    def __init__(
        self,
        topology: Topology,
        *,
        consumer: str,
        clock: Clock,
        upstream: httpx.AsyncBaseTransport,
        async_delay: timedelta = timedelta(seconds=1.5),
    ) -> None:
        self.topology = topology
        self.consumer = consumer
        self.sak_id = topology.sak_id(consumer)
        self.clock = clock
        self.async_delay = async_delay
        self._http = httpx.AsyncClient(transport=upstream, timeout=60.0)
        self._handles: dict[str, _Reply] = {}
        self.round = _Round()

    # -- control ------------------------------------------------------------------------------

    def start_round(self, mode: Mode, code: EdmCode | None = None) -> _Round:
        self.round = _Round(mode, code)
        return self.round

    def count(self, *kinds: str) -> int:
        return sum(1 for event in self.round.events if event.kind in kinds)

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- ASGI ---------------------------------------------------------------------------------

    async def __call__(
        self, scope: MutableMapping[str, Any], receive: _Receive, send: _Send
    ) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = await _body(receive)
        path: str = scope["path"]
        method: str = scope["method"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        event = Event(
            _kind(method, path),
            body,
            self.clock.now(),
            method=method,
            path=path,
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
        )
        self.round.events.append(event)
        peer = scope.get(PEER_SCOPE_KEY)
        refused = None
        if isinstance(peer, TlsPeer) and peer.enforced:
            event.tls_client = peer.participant_id or ""
            if path.startswith("/consumer/"):
                refused = self._tls_refusal(event, peer)
        if refused is not None:
            reply = refused
        elif event.kind == "authorisation" and self.round.mode is Mode.AUTHORISATION_REFUSED:
            event.note = "authorisation refused"
            reply = _problem(
                EdmCode.AUTHORISATION,
                "no authorisation for this transfer (conformance suite: the Vermittlungsstelle "
                "refuses this round)",
                self.topology.platform.vs_id,
                403,
            )
        elif event.kind == "request":
            reply = await self._submit(event)
        elif event.kind == "collect" and path.rsplit("/", 1)[-1] in self._handles:
            reply = self._handles.pop(path.rsplit("/", 1)[-1])
        else:
            reply = await self._forward(event)
        event.status, event.response = reply.status, reply.body
        event.response_headers = {k.lower(): v for k, v in reply.headers.items()}
        out = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers.items()]
        out += [
            (b"content-type", reply.media_type.encode("latin-1")),
            (b"content-length", str(len(reply.body)).encode()),
        ]
        await send({"type": "http.response.start", "status": reply.status, "headers": out})
        await send({"type": "http.response.body", "body": reply.body})

    def _base(self, path: str) -> str:
        if path.startswith("/consumer/"):
            return self.topology.base_url(self.sak_id)
        if path.startswith("/ida/"):
            return self.topology.base_url("ida")
        return self.topology.base_url("platform")

    async def _forward(self, event: Event, *, without: tuple[str, ...] = ()) -> _Reply:
        url = self._base(event.path) + event.path + (f"?{event.query}" if event.query else "")
        wanted = {
            "content-type",
            "authorization",
            "cookie",
            "accept",
            "prefer",
            Header.PURPOSE.lower(),
            Header.SERVICE_ID.lower(),
        } - set(without)
        keep = {k: v for k, v in event.headers.items() if k in wanted}
        response = await self._http.request(event.method, url, content=event.request, headers=keep)
        passed = {
            k: v
            for k, v in response.headers.items()
            if k.lower().startswith("noots-") or k.lower() in ("location", "retry-after")
        }
        return _Reply(
            response.status_code,
            response.content,
            response.headers.get("content-type", "application/octet-stream"),
            passed,
        )

    # -- mutual TLS ---------------------------------------------------------------------------

    def _tls_refusal(self, event: Event, peer: TlsPeer) -> _Reply | None:
        """The SAK's answer to a TLS client that is not its online service, or None."""
        try:
            peer.check(self.consumer, component=self.sak_id)
        except SenderMismatch as exc:
            event.note = f"refused: {exc.message}"
            return _problem(exc.code, exc.message, self.sak_id, exc.code.http_status)
        return None

    # -- a submitted 0101 ---------------------------------------------------------------------

    async def _submit(self, event: Event) -> _Reply:
        """The answer to one submitted 0101 as the round wants it; with ``Prefer:
        respond-async`` a handle to collect it from (as the SAK offers)."""
        reply = await self._answer(event)
        if "respond-async" not in (event.header("prefer") or "").lower():
            return reply
        handle = str(uuid.uuid4())
        self._handles[handle] = reply
        location = f"{CONSUMER_REQUESTS_PATH}/{handle}"
        body = json.dumps({"handle": handle, "location": location}).encode()
        return _Reply(202, body, "application/json", {"Location": location, "Retry-After": "1"})

    async def _answer(self, event: Event) -> _Reply:
        request = request_0101(event.request)
        if request is None:  # not a readable 0101: the real SAK says why
            return await self._forward(event, without=("prefer",))
        round_ = self.round
        mode = round_.mode
        key = str(request.request_id)
        first = key not in round_.seen_requests
        round_.seen_requests.add(key)
        provider = request.provider
        if mode is Mode.ERROR and round_.code is not None:
            event.note = f"answered {round_.code.value}"
            status = 502 if round_.code is EdmCode.QUERY_ERROR else round_.code.http_status
            return self._error(request, round_.code.value, provider, status)
        if mode is Mode.UNLISTED:
            event.note = f"answered {UNLISTED_CODE}"
            return self._error(request, UNLISTED_CODE, provider, 502)
        if mode is Mode.ALWAYS_FAILING or (mode is Mode.TRANSIENT and first):
            event.note = "SAK failure 0008 (502)"
            sak = messages.Agent(self.sak_id, "Sicherer Anschlussknoten")
            return self._error(request, EdmCode.QUERY_ERROR.value, sak, 502)
        if mode is Mode.ASYNCHRONOUS and first:
            event.note = "announced for later"
            later = self.clock.now() + self.async_delay
            pending = messages.answer_pending(request, later, clock=self.clock)
            return self._xml(200, messages.to_bytes(pending), "pending", provider.identifier)
        reply = await self._forward(event, without=("prefer",))
        answer = _delivery(reply.body)
        if answer is None:
            return reply
        if mode in UNFIT:
            changed = self._unfit(mode, answer)
            if changed is not None:
                event.note = f"answer changed: {mode.value}"
                return dataclasses.replace(reply, body=changed)
            return reply
        event.delivered = True
        return reply

    def _xml(self, status: int, body: bytes, outcome: str, answered_by: str) -> _Reply:
        return _Reply(
            status,
            body,
            _XML,
            {
                Header.OUTCOME: outcome,
                Header.ANSWERED_BY: answered_by,
                Header.ENVELOPE_ID: str(uuid.uuid4()),
                Header.RESPONSE_ENVELOPE_ID: str(uuid.uuid4()),
            },
        )

    def _error(
        self, request: messages.EvidenceRequest, code: str, reporter: messages.Agent, status: int
    ) -> _Reply:
        listed = code in {c.value for c in EdmCode}
        answer = messages.answer_with_error(
            request,
            EdmCode(code) if listed else EdmCode.QUERY_ERROR,
            f"conformance suite: error code {code}",
            clock=self.clock,
            error_provider=reporter,
        )
        body = messages.to_bytes(answer)
        if not listed:  # the model knows the EDM codes only: the code is put in as text
            body = body.replace(
                f"<code>{EdmCode.QUERY_ERROR.value}</code>".encode(),
                f"<code>{code}</code>".encode(),
            )
        fallback = code if listed else EdmCode.QUERY_ERROR.value
        return self._xml(status, body, f"refused:{fallback}", reporter.identifier)

    def _unfit(self, mode: Mode, answer: messages.EvidenceResponse) -> bytes | None:
        """The real 0102 changed so that it no longer answers the request; None where the
        change does not apply (no IDNr to change)."""
        if mode is Mode.OTHER_REQUEST:
            return messages.to_bytes(dataclasses.replace(answer, request_id=uuid.uuid4()))
        if mode is Mode.OTHER_PERSON:
            if not all(
                isinstance(e.subject, messages.NaturalPerson) and e.subject.idnr
                for e in answer.evidences
            ):
                return None
            evidences = tuple(dataclasses.replace(e, subject=_STRANGER) for e in answer.evidences)
            return messages.to_bytes(dataclasses.replace(answer, evidences=evidences))
        if mode is Mode.OTHER_TYPE:
            asked = answer.evidences[0].conformance.classification
            other = next(
                spec for spec in self.topology.evidence_types if spec.classification != asked
            )
            kind = messages.EvidenceType(other.classification, other.title, other.identifier)
            evidences = tuple(
                dataclasses.replace(e, conformance=kind.ref) for e in answer.evidences
            )
            return messages.to_bytes(dataclasses.replace(answer, evidences=evidences))
        root = messages.build(answer)
        etree.SubElement(root, f"{{{messages.NS_DE}}}Bemerkung").text = "nicht vorgesehen"
        return serialize(root)


def _kind(method: str, path: str) -> str:
    if path == ROUTES_PATH:
        return "route"
    if path == AUTHORISATIONS_PATH:
        return "authorisation"
    if path == CONSUMER_REQUESTS_PATH and method == "POST":
        return "request"
    if path.startswith(CONSUMER_REQUESTS_PATH + "/"):
        return "collect"
    return "ida" if path.startswith("/ida/") else "other"


def request_0101(raw: bytes) -> messages.EvidenceRequest | None:
    """The 0101 in a submitted body, or None (read without trusting it: the suite only uses it
    to craft answers and to grade)."""
    try:
        message = messages.parse(parse(raw))
    except (NootsError, ValueError):
        return None
    return message if isinstance(message, messages.EvidenceRequest) else None


def _delivery(raw: bytes) -> messages.EvidenceResponse | None:
    try:
        message = messages.parse(parse(raw))
    except (NootsError, ValueError):
        return None
    if isinstance(message, messages.EvidenceResponse) and message.evidences:
        return message
    return None


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _problem(code: EdmCode, detail: str, component: str, status: int) -> _Reply:
    body = {"code": code.value, "title": code.title, "detail": detail, "component": component}
    return _Reply(status, json.dumps(body, ensure_ascii=False).encode(), _PROBLEM)


async def _body(receive: _Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)
