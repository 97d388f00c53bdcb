"""The platform (and, behind it, the registers) as an online service under test sees them.

:class:`Gateway` is one ASGI app that answers on the platform's paths (hub, VS, RDN, IDA, PKI,
eID, DSC). Behind it run the simulator's real platform, IDA and mock registers in-process, so
a normal exchange is a real one. The suite sets a :class:`Mode` per round, and the gateway then
misbehaves on purpose the way that round needs: the VS refuses, an answer is tampered with,
unsigned, bound to another request or signed by the wrong register, a register announces its
answer for later, every error code comes back, the hub fails once or always. Every request and
answer is recorded for grading.

Served over mutual TLS (``noots conformance consumer --tls``, :class:`~noots.tls.TlsPeerMiddleware`
around the gateway), the hub and the VS answer only the online service itself, as the real
platform does: another TLS client certificate, or none, is refused with a signed
``EDM:ERR:0001``, and every event records which certificate the service presented.

A request the consumer did not sign correctly is re-signed with the consumer's own credential
(the simulator PKI issued it) and the answer bound again to the bytes the consumer sent, so
one signing fault fails DC-02 without hiding every other condition.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx

from noots import messages
from noots.clock import Clock
from noots.envelope import (
    ENV_NS,
    EnvelopeHeader,
    error_body,
    open_envelope,
    parse_header,
    request_digest,
    seal,
)
from noots.errors import EdmCode, NootsError, SenderMismatch
from noots.participant import load_credential
from noots.pki import Role
from noots.signing import DS_NS, XmlSigner, XmlVerifier
from noots.testing.requests import unverified_parts
from noots.tls import PEER_SCOPE_KEY, TlsPeer
from noots.topology import Topology
from noots.xml import parse, serialize

__all__ = ["Event", "Gateway", "Mode"]

_Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
_Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

HUB_PATH = "/transport/v1/messages"
VS_PATH = "/vs/v1/tokens"
RDN_PATH = "/rdn/v1/services"


class Mode(StrEnum):
    NORMAL = "normal"
    VS_REFUSES = "vs_refuses"
    TAMPERED = "tampered"
    UNSIGNED = "unsigned"
    UNBOUND = "unbound"
    WRONG_SIGNER = "wrong_signer"
    ASYNCHRONOUS = "asynchronous"
    ERROR = "error"
    TRANSIENT = "transient"
    ALWAYS_FAILING = "always_failing"


@dataclass
class Event:
    """One request the consumer made to the platform, and what it got."""

    kind: str  # "hub", "vs", "rdn", "ida", "other"
    request: bytes
    at: datetime
    monotonic: float
    response: bytes = b""
    status: int = 0
    path: str = ""
    query: str = ""
    note: str = ""
    repaired: bool = False
    #: Over mutual TLS: the participant whose certificate the client presented ("" for none).
    tls_client: str | None = None


@dataclass
class _Round:
    mode: Mode = Mode.NORMAL
    code: EdmCode | None = None
    events: list[Event] = field(default_factory=list)
    seen_requests: set[str] = field(default_factory=set)


class Gateway:
    """The platform for one consumer under test (see the module docstring)."""

    def __init__(
        self,
        topology: Topology,
        pki_dir: Path,
        *,
        consumer: str,
        clock: Clock,
        upstream: httpx.AsyncBaseTransport,
        verifier: XmlVerifier,
        async_delay: timedelta = timedelta(seconds=1.5),
    ) -> None:
        self.topology = topology
        self.pki_dir = pki_dir
        self.consumer = consumer
        self.clock = clock
        self.verifier = verifier
        self.async_delay = async_delay
        self._http = httpx.AsyncClient(transport=upstream, timeout=60.0)
        self._signers: dict[str, XmlSigner] = {}
        self.round = _Round()

    # -- control ------------------------------------------------------------------------------

    def start_round(self, mode: Mode, code: EdmCode | None = None) -> _Round:
        self.round = _Round(mode, code)
        return self.round

    def count(self, kind: str) -> int:
        return sum(1 for event in self.round.events if event.kind == kind)

    async def aclose(self) -> None:
        await self._http.aclose()

    def signer(self, participant_id: str) -> XmlSigner:
        if participant_id not in self._signers:
            self._signers[participant_id] = XmlSigner(load_credential(self.pki_dir, participant_id))
        return self._signers[participant_id]

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
        query = scope.get("query_string", b"").decode("latin-1")
        method: str = scope["method"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        event = Event(_kind(path), body, self.clock.now(), time.monotonic(), path=path, query=query)
        self.round.events.append(event)
        peer = scope.get(PEER_SCOPE_KEY)
        refused = None
        if isinstance(peer, TlsPeer) and peer.enforced:
            event.tls_client = peer.participant_id or ""
            if method == "POST" and path in (HUB_PATH, VS_PATH):
                refused = self._tls_refusal(event, peer)
        if refused is not None:
            status, content, media = refused
        elif method == "POST" and path == HUB_PATH:
            status, content, media = await self._hub(event)
        elif method == "POST" and path == VS_PATH and self.round.mode is Mode.VS_REFUSES:
            status, content, media = self._vs_refusal(event)
        else:
            status, content, media = await self._forward(method, path, query, body, headers)
        event.status, event.response = status, content
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", media.encode("latin-1")),
                    (b"content-length", str(len(content)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})

    async def _forward(
        self, method: str, path: str, query: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes, str]:
        base = self.topology.base_url("ida" if path.startswith("/ida/") else "platform")
        url = base + path + (f"?{query}" if query else "")
        keep = {
            k: v
            for k, v in headers.items()
            if k in ("content-type", "authorization", "cookie", "accept")
        }
        response = await self._http.request(method, url, content=body, headers=keep)
        return (
            response.status_code,
            response.content,
            response.headers.get("content-type", "application/octet-stream"),
        )

    # -- mutual TLS ---------------------------------------------------------------------------

    def _tls_refusal(self, event: Event, peer: TlsPeer) -> tuple[int, bytes, str] | None:
        """The platform's answer to a TLS client that is not the online service, or None."""
        platform = self.topology.platform
        answerer = platform.vs_id if event.path == VS_PATH else platform.hub_id
        try:
            peer.check(self.consumer, component=answerer)
        except SenderMismatch as exc:
            event.note = f"refused: {exc.message}"
            return self._signed_refusal(
                event, answerer, exc.code, exc.message, status=exc.code.http_status
            )
        return None

    def _signed_refusal(
        self, event: Event, answerer: str, code: EdmCode, detail: str, *, status: int
    ) -> tuple[int, bytes, str]:
        """A refusal as the platform signs it, bound to the request the consumer sent."""
        claimed = _claimed_header(event.request)
        endpoint = "tokens" if event.path == VS_PATH else "transport"
        service = f"urn:noots:service:{answerer}:{endpoint}"
        header = EnvelopeHeader(
            message_id=uuid.uuid4(),
            sender=answerer,
            recipient=claimed.sender if claimed else self.consumer,
            service_id=claimed.service_id if claimed else service,
            created=self.clock.now(),
            in_response_to=request_digest(event.request),
            request_message_id=claimed.message_id if claimed else None,
        )
        body = error_body(code, detail, answerer)
        return status, seal(header, body, self.signer(answerer)), "application/xml"

    # -- the VS -------------------------------------------------------------------------------

    def _vs_refusal(self, event: Event) -> tuple[int, bytes, str]:
        event.note = "VS refused"
        return self._signed_refusal(
            event,
            self.topology.platform.vs_id,
            EdmCode.AUTHORISATION,
            "no authorisation for this transfer (conformance suite: the VS refuses this round)",
            status=403,
        )

    # -- the hub ------------------------------------------------------------------------------

    async def _hub(self, event: Event) -> tuple[int, bytes, str]:
        raw = event.request
        parts = _unverified(raw)
        if parts is None:
            return await self._forward(
                "POST", HUB_PATH, "", raw, {"content-type": "application/xml"}
            )
        header, request = parts
        forwarded = raw
        try:
            opened = open_envelope(raw, self.verifier, required_role=Role.CONSUMER)
            signed_right = opened.signer.participant_id == self.consumer
        except NootsError:
            signed_right = False
        if not signed_right and header.sender == self.consumer:
            # Re-signed with the consumer's own key so the round goes on (DC-02 is graded on
            # the bytes the consumer sent, recorded in the event). The 0101 element is the one
            # the consumer wrote: its request hash, and so its token, stay valid.
            body = parse(raw).find(f"{{{ENV_NS}}}Body")
            if body is not None and len(body) == 1:
                forwarded = seal(header, body[0], self.signer(self.consumer))
                event.repaired = True
        mode, round_ = self.round.mode, self.round
        key = str(request.request_id)
        first = key not in round_.seen_requests
        round_.seen_requests.add(key)
        if mode is Mode.ERROR and round_.code is not None:
            event.note = f"answered {round_.code.value}"
            return self._crafted_error(raw, header, request, round_.code)
        if mode is Mode.ALWAYS_FAILING or (mode is Mode.TRANSIENT and first):
            event.note = "hub failure 0008 (502)"
            return self._hub_failure(raw, header, request)
        if mode is Mode.ASYNCHRONOUS and first:
            event.note = "announced for later"
            return self._pending(raw, header, request)
        status, answer, media = await self._forward(
            "POST", HUB_PATH, "", forwarded, {"content-type": "application/xml"}
        )
        if forwarded is not raw:
            answer = self._rebind(answer, raw)
        if mode is Mode.TAMPERED:
            event.note = "answer tampered with"
            answer = _flip(answer)
        elif mode is Mode.UNSIGNED:
            event.note = "signature removed"
            answer = _strip(answer)
        elif mode is Mode.UNBOUND:
            event.note = "bound to another request"
            answer = self._rebind(answer, b"another request " + uuid.uuid4().bytes)
        elif mode is Mode.WRONG_SIGNER:
            event.note = "signed by another register"
            answer = self._resign_as_other(answer, request.provider.identifier)
        return status, answer, media

    def _answer(
        self,
        raw: bytes,
        header: EnvelopeHeader,
        message: messages.EvidenceResponse | messages.EvidenceErrorResponse,
        sender: str,
    ) -> bytes:
        answer_header = EnvelopeHeader(
            message_id=uuid.uuid4(),
            sender=sender,
            recipient=header.sender,
            service_id=header.service_id,
            created=self.clock.now(),
            in_response_to=request_digest(raw),
            request_message_id=header.message_id,
        )
        return seal(answer_header, messages.build(message), self.signer(sender))

    def _crafted_error(
        self, raw: bytes, header: EnvelopeHeader, request: messages.EvidenceRequest, code: EdmCode
    ) -> tuple[int, bytes, str]:
        provider = request.provider
        message = messages.answer_with_error(
            request,
            code,
            f"conformance suite: {code.title}",
            clock=self.clock,
            error_provider=messages.Agent(provider.identifier, provider.name),
        )
        return (
            code.http_status,
            self._answer(raw, header, message, provider.identifier),
            "application/xml",
        )

    def _hub_failure(
        self, raw: bytes, header: EnvelopeHeader, request: messages.EvidenceRequest
    ) -> tuple[int, bytes, str]:
        hub = self.topology.platform.hub_id
        message = messages.answer_with_error(
            request,
            EdmCode.QUERY_ERROR,
            f"data provider {request.provider.identifier} is unreachable [failed at "
            f"{request.provider.identifier}; answered by {hub}]",
            clock=self.clock,
            error_provider=messages.Agent(hub, "NOOTS Transport-Hub"),
        )
        return 502, self._answer(raw, header, message, hub), "application/xml"

    def _pending(
        self, raw: bytes, header: EnvelopeHeader, request: messages.EvidenceRequest
    ) -> tuple[int, bytes, str]:
        available = self.clock.now() + self.async_delay
        message = messages.answer_pending(request, available, clock=self.clock)
        return (
            200,
            self._answer(raw, header, message, request.provider.identifier),
            "application/xml",
        )

    def _rebind(self, answer: bytes, request_raw: bytes) -> bytes:
        """The answer signed again by its own signer, bound to ``request_raw``."""
        parts = unverified_parts(answer)
        if parts is None:
            return answer
        header, body = parts
        rebound = dataclasses.replace(
            header, message_id=uuid.uuid4(), in_response_to=request_digest(request_raw)
        )
        return seal(rebound, body, self.signer(header.sender))

    def _resign_as_other(self, answer: bytes, provider: str) -> bytes:
        parts = unverified_parts(answer)
        if parts is None:
            return answer
        header, body = parts
        other = next(
            r.participant_id for r in self.topology.registers if r.participant_id != provider
        )
        return seal(
            dataclasses.replace(header, message_id=uuid.uuid4(), sender=other),
            body,
            self.signer(other),
        )


def _kind(path: str) -> str:
    return {HUB_PATH: "hub", VS_PATH: "vs", RDN_PATH: "rdn"}.get(
        path, "ida" if path.startswith("/ida/") else "other"
    )


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


def _claimed_header(raw: bytes) -> EnvelopeHeader | None:
    try:
        root = parse(raw)
        header = root.find(f"{{{ENV_NS}}}Header")
        return parse_header(header) if header is not None else None
    except NootsError:
        return None


def _unverified(raw: bytes) -> tuple[EnvelopeHeader, messages.EvidenceRequest] | None:
    """Header and 0101 as the consumer wrote them (read without trusting them: the suite only
    uses them to craft answers and to grade)."""
    try:
        parts = unverified_parts(raw)
        if parts is None:
            return None
        header, body = parts
        request = messages.parse(body)
    except (NootsError, ValueError):
        return None
    return (header, request) if isinstance(request, messages.EvidenceRequest) else None


def _flip(answer: bytes) -> bytes:
    """One character of the answer's longest text changed after signing."""
    try:
        root = parse(answer)
    except NootsError:
        return answer
    body = root.find(f"{{{ENV_NS}}}Body")
    if body is None:
        return answer
    texts = [e for e in body.iter() if isinstance(e.tag, str) and (e.text or "").strip()]
    if not texts:
        return answer
    target = max(texts, key=lambda e: len(e.text or ""))
    text = target.text or ""
    middle = len(text) // 2
    target.text = text[:middle] + ("B" if text[middle] != "B" else "C") + text[middle + 1 :]
    return serialize(root)


def _strip(answer: bytes) -> bytes:
    try:
        root = parse(answer)
    except NootsError:
        return answer
    for signature in root.findall(f"{{{DS_NS}}}Signature"):
        root.remove(signature)
    return serialize(root)
