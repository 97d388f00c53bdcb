"""In transit between the scenario's client and a SAK (the consumer API's
``POST /consumer/v1/requests``, and ``POST /transport/v1/messages`` of a provider's SAK for the
envelopes a ``send`` step crafts): record every exchange, and change the next ones on purpose
when a ``tamper`` step asks for it.

The change happens on the wire, after the request was made (the SAK must refuse what no longer
holds) or after the answer was made (the consumer must refuse it): exactly what a man in the
middle could do.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import httpx
from lxml import etree

from noots.envelope import ENV_NS
from noots.errors import XmlError
from noots.sak import CONSUMER_REQUESTS_PATH, TRANSPORT_PATH
from noots.signing import DS_NS
from noots.xml import parse as parse_xml

__all__ = ["Exchange", "Tamper", "TamperTransport", "tamper_bytes"]

#: The paths whose exchanges are recorded and tampered with.
PATHS = (TRANSPORT_PATH, CONSUMER_REQUESTS_PATH)


@dataclass
class Tamper:
    """A pending change: ``direction`` request or response, ``action`` flip,
    strip_signature, truncate or replace (``old`` → ``new``), for the next ``times``
    exchanges."""

    direction: str
    action: str
    old: str = ""
    new: str = ""
    times: int = 1


@dataclass
class Exchange:
    request: bytes
    response: bytes = b""
    status: int | None = None
    tampered: str = ""
    request_id: str | None = None


def _flip_char(text: str) -> str:
    middle = len(text) // 2
    for index in [*range(middle, len(text)), *range(0, middle)]:
        char = text[index]
        if char.isdigit():
            swapped = "1" if char != "1" else "2"
        elif char.isalpha():
            swapped = "B" if char not in "Bb" else "C"
        else:
            continue
        return text[:index] + swapped + text[index + 1 :]
    return text + "X"


def tamper_bytes(raw: bytes, tamper: Tamper) -> bytes:
    """``raw`` changed as ``tamper`` says (the signature, if any, no longer matches)."""
    if tamper.action == "truncate":
        return raw[: max(1, len(raw) // 2)]
    if tamper.action == "replace":
        return raw.replace(tamper.old.encode(), tamper.new.encode(), 1)
    try:
        root = parse_xml(raw)
    except XmlError:
        return raw[:-1] + bytes([raw[-1] ^ 0x01]) if raw else raw
    if tamper.action == "other_request":
        # The answer now claims to answer another request (its signature, if any, breaks).
        body = root.find(f"{{{ENV_NS}}}Body")
        message = body[0] if body is not None and len(body) else root
        message.set("requestid", f"urn:uuid:{uuid.uuid4()}")
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    if tamper.action == "strip_signature":
        for signature in root.findall(f"{{{DS_NS}}}Signature"):
            root.remove(signature)
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    # flip: one character of the longest text inside the body (the document, a name, a code)
    body = root.find(f"{{{ENV_NS}}}Body")
    scope = body if body is not None else root
    candidates = [e for e in scope.iter() if isinstance(e.tag, str) and (e.text or "").strip()]
    if not candidates:
        return raw[:-1] + bytes([raw[-1] ^ 0x01])
    target = max(candidates, key=lambda e: len(e.text or ""))
    target.text = _flip_char(target.text or "")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _request_id(raw: bytes) -> str | None:
    try:
        root = parse_xml(raw)
    except XmlError:
        return None
    body = root.find(f"{{{ENV_NS}}}Body")
    message = body[0] if body is not None and len(body) else root
    value = message.get("id")
    return value.lower().removeprefix("urn:uuid:") if value else None


@dataclass
class _State:
    pending: list[Tamper] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)


class TamperTransport(httpx.AsyncBaseTransport):
    """Passes everything to ``inner``; records the exchanges and applies pending tampering."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, owns_inner: bool = True) -> None:
        self.inner = inner
        self.owns_inner = owns_inner
        self.state = _State()

    def add(self, tamper: Tamper) -> None:
        self.state.pending.append(tamper)

    @property
    def exchanges(self) -> list[Exchange]:
        return self.state.exchanges

    def _take(self, direction: str) -> Tamper | None:
        for tamper in self.state.pending:
            if tamper.direction == direction:
                tamper.times -= 1
                if tamper.times <= 0:
                    self.state.pending.remove(tamper)
                return tamper
        return None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or not request.url.path.endswith(PATHS):
            return await self.inner.handle_async_request(request)
        raw = await request.aread()
        exchange = Exchange(raw, request_id=_request_id(raw))
        self.state.exchanges.append(exchange)
        tamper = self._take("request")
        if tamper is not None:
            raw = tamper_bytes(raw, tamper)
            exchange.tampered = f"request {tamper.action}"
            exchange.request = raw
        headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"content-length"]
        forwarded = httpx.Request(request.method, request.url, headers=headers, content=raw)
        response = await self.inner.handle_async_request(forwarded)
        body = await response.aread()
        await response.aclose()
        tamper = self._take("response")
        if tamper is not None:
            body = tamper_bytes(body, tamper)
            exchange.tampered = (exchange.tampered + f" response {tamper.action}").strip()
        exchange.response, exchange.status = body, response.status_code
        out_headers = [
            (k, v)
            for k, v in response.headers.raw
            if k.lower() not in (b"content-length", b"content-encoding", b"transfer-encoding")
        ]
        return httpx.Response(response.status_code, headers=out_headers, content=body)

    async def aclose(self) -> None:
        if self.owns_inner:  # a shared in-process transport outlives one client
            await self.inner.aclose()
