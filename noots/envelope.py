"""The signed transport envelope every message between participants travels in.

Wire format: docs/PROTOCOL.md, section "Transport envelope"; schema ``xsd/noots-transport-1.xsd``.
:func:`seal` builds, signs and serialises an envelope once; :func:`open_envelope` parses untrusted
bytes, verifies the signature and the certificate, checks the *signed* element against the
schema and returns the typed header and the body taken from that signed element only.
:class:`ReplayGuard` refuses stale, future and repeated envelopes.
"""

from __future__ import annotations

import copy
import hashlib
import heapq
import hmac
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from lxml import etree

from noots import _xsd
from noots.clock import Clock, format_utc, parse_utc
from noots.errors import (
    EdmCode,
    MalformedMessage,
    ReplayDetected,
    ResponseBindingError,
    SenderMismatch,
    StaleMessage,
)
from noots.pki import Role, ValidatedCertificate
from noots.signing import XmlSigner, XmlVerifier
from noots.state import ReplayJournal
from noots.xml import DEFAULT_LIMITS, XmlLimits, parse, serialize

__all__ = [
    "ENV_NS",
    "EnvelopeHeader",
    "OpenedEnvelope",
    "ReplayGuard",
    "build_envelope",
    "check_binding",
    "check_fresh",
    "error_body",
    "open_envelope",
    "parse_error_body",
    "parse_header",
    "request_digest",
    "seal",
]

ENV_NS = "urn:noots:transport:1"
SCHEMA = "noots-transport-1.xsd"
VERSION = "1"

PARTICIPANT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:_-]{0,63}")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _q(local: str) -> str:
    return f"{{{ENV_NS}}}{local}"


@dataclass(frozen=True)
class EnvelopeHeader:
    """The header of a transport envelope.

    ``created`` is kept in UTC at millisecond precision, which is what the wire carries, so a
    header survives :func:`seal` / :func:`open_envelope` unchanged. Requests carry ``purpose``;
    responses carry ``in_response_to`` (:func:`request_digest` of the request's bytes) and, when
    known, ``request_message_id``.
    """

    message_id: uuid.UUID
    sender: str
    recipient: str
    service_id: str
    created: datetime
    purpose: str | None = None
    in_response_to: str | None = None
    request_message_id: uuid.UUID | None = None
    #: Between SAKs: the participant the signing SAK acts for (consumer in a request, provider
    #: in an answer). The receiver checks that the signer is that participant's SAK.
    on_behalf_of: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.message_id, uuid.UUID):
            raise MalformedMessage("envelope MessageId must be a UUID")
        if self.on_behalf_of is not None and not (
            isinstance(self.on_behalf_of, str) and PARTICIPANT_ID.fullmatch(self.on_behalf_of)
        ):
            raise MalformedMessage("envelope OnBehalfOf is not a participant id")
        for name in ("sender", "recipient"):
            value = getattr(self, name)
            if not isinstance(value, str) or not PARTICIPANT_ID.fullmatch(value):
                raise MalformedMessage(f"envelope {name} is not a participant id")
        if not self.service_id or len(self.service_id) > 512 or re.search(r"\s", self.service_id):
            raise MalformedMessage("envelope ServiceId must be 1 to 512 non-space characters")
        if not isinstance(self.created, datetime) or self.created.tzinfo is None:
            raise MalformedMessage("envelope Created must carry a time zone")
        created = self.created.astimezone(UTC)
        object.__setattr__(
            self, "created", created.replace(microsecond=created.microsecond // 1000 * 1000)
        )
        if self.purpose is not None and not _xsd.is_line(self.purpose):
            raise MalformedMessage("envelope Purpose must be one line of 1 to 256 characters")
        if self.in_response_to is not None and not SHA256_HEX.fullmatch(self.in_response_to):
            raise MalformedMessage("envelope InResponseTo must be 64 lowercase hex digits")
        if self.request_message_id is not None and not isinstance(
            self.request_message_id, uuid.UUID
        ):
            raise MalformedMessage("envelope RequestMessageId must be a UUID")


@dataclass(frozen=True)
class OpenedEnvelope:
    """A verified envelope: everything here comes from the signed element.

    ``body`` is the single message element inside ``Body``; ``raw`` the exact bytes received and
    ``digest`` their SHA-256 (what a response to this envelope must carry in ``InResponseTo``).
    """

    header: EnvelopeHeader
    body: etree._Element
    signer: ValidatedCertificate
    raw: bytes = field(repr=False)
    digest: str


def _header_element(header: EnvelopeHeader) -> etree._Element:
    element = etree.Element(_q("Header"), nsmap={"env": ENV_NS})
    values: list[tuple[str, str | None]] = [
        ("MessageId", str(header.message_id)),
        ("Sender", header.sender),
        ("OnBehalfOf", header.on_behalf_of),
        ("Recipient", header.recipient),
        ("ServiceId", header.service_id),
        ("Created", format_utc(header.created, millis=True)),
        ("Purpose", header.purpose),
        ("InResponseTo", header.in_response_to),
        (
            "RequestMessageId",
            None if header.request_message_id is None else str(header.request_message_id),
        ),
    ]
    for local, text in values:
        if text is not None:
            etree.SubElement(element, _q(local)).text = text
    return element


def build_envelope(header: EnvelopeHeader, body_element: etree._Element) -> etree._Element:
    """The unsigned ``env:TransportEnvelope`` around ``body_element``.

    A body that is the root of its own tree is moved in as it is; one that sits inside another
    tree is copied, so the caller's document is never changed.
    """
    if not isinstance(body_element.tag, str):
        raise MalformedMessage("the envelope body must be an element")
    if body_element.getparent() is not None:
        body_element = copy.deepcopy(body_element)
    # The env prefix is declared on the root only and no default namespace is ever declared:
    # XNachweis <code> elements have no namespace and must stay that way inside the body.
    root = etree.Element(_q("TransportEnvelope"), nsmap={"env": ENV_NS})
    root.set("version", VERSION)
    root.append(_header_element(header))
    body = etree.SubElement(root, _q("Body"))
    body.append(body_element)
    return root


def seal(header: EnvelopeHeader, body: etree._Element, signer: XmlSigner) -> bytes:
    """Build, sign (enveloped XMLDSig) and serialise an envelope; the bytes are final."""
    return serialize(signer.sign(build_envelope(header, body)))


def _text(parent: etree._Element, local: str) -> str | None:
    child = parent.find(_q(local))
    if child is None:
        return None
    return child.text or ""


def _required(parent: etree._Element, local: str) -> str:
    value = _text(parent, local)
    if value is None:
        raise MalformedMessage(f"envelope header lacks {local}")
    return value


def _uuid(text: str, local: str) -> uuid.UUID:
    if not _UUID.fullmatch(text):
        raise MalformedMessage(f"envelope {local} is not a lowercase UUID")
    return uuid.UUID(text)


def parse_header(header: etree._Element) -> EnvelopeHeader:
    """The typed header of an ``env:Header`` element (already schema-checked by the caller)."""
    try:
        created = parse_utc(_required(header, "Created"))
    except ValueError:
        raise MalformedMessage("envelope Created is not a date-time with a time zone") from None
    request_message_id = _text(header, "RequestMessageId")
    return EnvelopeHeader(
        message_id=_uuid(_required(header, "MessageId"), "MessageId"),
        sender=_required(header, "Sender"),
        on_behalf_of=_text(header, "OnBehalfOf"),
        recipient=_required(header, "Recipient"),
        service_id=_required(header, "ServiceId"),
        created=created,
        purpose=_text(header, "Purpose"),
        in_response_to=_text(header, "InResponseTo"),
        request_message_id=(
            None if request_message_id is None else _uuid(request_message_id, "RequestMessageId")
        ),
    )


def open_envelope(
    raw: bytes,
    verifier: XmlVerifier,
    *,
    required_role: Role | frozenset[Role] | None = None,
    limits: XmlLimits = DEFAULT_LIMITS,
) -> OpenedEnvelope:
    """Parse, verify and read an envelope received as ``raw`` bytes.

    Order: hardened parse → signature and certificate path (``required_role`` if given) →
    schema check of the signed element → ``Sender`` equals the certificate's participant id.
    Raises an :class:`~noots.errors.XmlError`, a signature or certificate error,
    :class:`MalformedMessage` or :class:`SenderMismatch`; never returns an unverified part.
    """
    root = parse(raw, limits)
    # Cheap refusal of anything that is not even shaped like an envelope, before any crypto;
    # the decision that counts is made again on the signed element below.
    if root.tag != _q("TransportEnvelope"):
        raise MalformedMessage("not a noots transport envelope")
    verified = verifier.verify(root, required_role=required_role)
    signed = verified.element
    if signed.tag != _q("TransportEnvelope"):
        raise MalformedMessage("the signed element is not a transport envelope")
    _xsd.check(SCHEMA, signed, "transport envelope")
    header_element = signed.find(_q("Header"))
    body_parent = signed.find(_q("Body"))
    if header_element is None or body_parent is None or len(body_parent) != 1:
        raise MalformedMessage("envelope needs one Header and one Body with one message")
    header = parse_header(header_element)
    if header.sender != verified.signer.participant_id:
        raise SenderMismatch(
            f"envelope sender {header.sender!r} is not the signer "
            f"{verified.signer.participant_id!r}"
        )
    return OpenedEnvelope(
        header=header,
        body=body_parent[0],
        signer=verified.signer,
        raw=bytes(raw),
        digest=request_digest(raw),
    )


def request_digest(raw: bytes) -> str:
    """SHA-256 (64 lowercase hex digits) of the exact bytes of an envelope as sent."""
    return hashlib.sha256(raw).hexdigest()


def check_binding(response: OpenedEnvelope, request_raw: bytes) -> None:
    """Refuse a response that does not answer the request whose bytes were ``request_raw``."""
    claimed = response.header.in_response_to
    if claimed is None:
        raise ResponseBindingError("response carries no InResponseTo")
    if not hmac.compare_digest(claimed, request_digest(request_raw)):
        raise ResponseBindingError("response is bound to a different request (InResponseTo)")


def check_fresh(created: datetime, now: datetime, window: timedelta, *, kind: str) -> None:
    """Refuse a signed instant outside ±``window`` of ``now`` (StaleMessage)."""
    if created < now - window:
        raise StaleMessage(f"{kind} created more than {window} before now")
    if created > now + window:
        raise StaleMessage(f"{kind} created more than {window} in the future")


class ReplayGuard:
    """Refuses envelopes whose ``Created`` lies outside ±``window`` of the clock (stale or from
    the future) and envelopes whose ``MessageId`` was already accepted. Thread-safe.

    Memory is bounded by ``max_entries``. The guard keeps a *horizon*: the newest ``Created`` of
    any id it has forgotten, and refuses every envelope created at or before it. An id is
    forgotten in two ways:

    - its ``Created`` has left the window: a replay would be stale anyway (the signed
      ``Created`` cannot change), and the horizon keeps it refused even if the clock is set back;
    - the cache is full: the entry with the oldest ``Created`` is evicted. Eviction alone would
      be unsafe (the evicted id may still be inside the window and its replay would pass); with
      the horizon its replay is refused as stale, because its ``Created`` is at or before it.

    So no envelope is ever accepted twice. The cost of a flood is fail-closed: the accepted
    window shrinks from its old end, and honest envelopes created before the horizon are
    refused as stale (the sender retries with a fresh envelope). An envelope older than every
    cached id is refused outright while the cache is full, rather than evicting a newer one.

    With a ``journal`` (:class:`noots.state.ReplayJournal`) this also holds across a restart:
    the guard starts from what the journal says it accepted and forgot, and writes each
    acceptance there before it takes effect. A journal that cannot be written refuses the
    envelope (the error propagates; nothing is accepted).
    """

    def __init__(
        self,
        clock: Clock,
        window: timedelta = timedelta(seconds=300),
        max_entries: int = 100_000,
        journal: ReplayJournal | None = None,
    ) -> None:
        if window <= timedelta(0):
            raise ValueError("the freshness window must be positive")
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._clock = clock
        self._window = window
        self._max_entries = max_entries
        self._journal = journal
        self._seen: dict[uuid.UUID, datetime] = {}
        self._by_age: list[tuple[datetime, uuid.UUID]] = []
        self._horizon: datetime | None = None
        self._lock = threading.Lock()
        # What the journal has not heard yet: ids forgotten (and the horizon moved) while
        # deciding on envelopes that were then refused.
        self._unjournaled: list[uuid.UUID] = []
        if journal is not None:
            seen, self._horizon = journal.load()
            self._by_age = list(seen)
            heapq.heapify(self._by_age)
            self._seen = {message_id: created for created, message_id in seen}
        self._journaled_horizon = self._horizon

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)

    @property
    def horizon(self) -> datetime | None:
        """Envelopes created at or before this instant are refused (None: nothing forgotten)."""
        with self._lock:
            return self._horizon

    def check(self, header: EnvelopeHeader) -> None:
        """Accept the envelope and remember its id; or raise StaleMessage / ReplayDetected."""
        self.admit(header.message_id, header.created)

    def admit(self, message_id: uuid.UUID, created: datetime, *, kind: str = "envelope") -> None:
        """Accept a single-use message by its id and its signed instant ``created``; or raise
        StaleMessage / ReplayDetected (``kind`` names the message in their text).

        :meth:`check` is this for an envelope header; the IAM uses it for client assertions
        (id derived from ``iss`` and ``jti``, instant = ``exp``).
        """
        now = self._clock.now()
        check_fresh(created, now, self._window, kind=kind)
        with self._lock:
            # Forgetting only ever moves the horizon forward, so it is safe even when the
            # envelope is then refused: the journal hears of it with the next acceptance.
            forgotten = self._unjournaled if self._journal is not None else []
            while self._by_age and (
                self._by_age[0][0] < now - self._window or len(self._seen) > self._max_entries
            ):
                forgotten.append(self._forget_oldest())
            if message_id in self._seen:
                raise ReplayDetected(f"{kind} {message_id} was already received")
            if self._horizon is not None and created <= self._horizon:
                raise StaleMessage(f"{kind} created before the replay cache's horizon")
            if len(self._seen) >= self._max_entries:
                if created <= self._by_age[0][0]:
                    # Admitting it would mean evicting a newer id for an older one: refuse.
                    raise StaleMessage(f"replay cache full: {kind} older than every cached id")
                while len(self._seen) >= self._max_entries:
                    forgotten.append(self._forget_oldest())
            if self._journal is not None:
                moved = self._horizon if self._horizon != self._journaled_horizon else None
                self._journal.record((created, message_id), forgotten, moved)
                self._journaled_horizon = self._horizon
                self._unjournaled = []
            self._seen[message_id] = created
            heapq.heappush(self._by_age, (created, message_id))

    def _forget_oldest(self) -> uuid.UUID:
        created, message_id = heapq.heappop(self._by_age)
        del self._seen[message_id]
        if self._horizon is None or created > self._horizon:
            self._horizon = created
        return message_id


def error_body(code: EdmCode, detail: str, component: str) -> etree._Element:
    """An ``env:Error`` body for answers that are not XNachweis (VS, IDA).

    ``detail`` is shown to the other party: it must never contain personal data.
    """
    code = EdmCode(code)
    if not PARTICIPANT_ID.fullmatch(component):
        raise ValueError("component must be a participant id")
    element = etree.Element(_q("Error"), nsmap={"env": ENV_NS})
    etree.SubElement(element, _q("Code")).text = code.value
    etree.SubElement(element, _q("Detail")).text = detail
    etree.SubElement(element, _q("Component")).text = component
    return element


def parse_error_body(element: etree._Element) -> tuple[EdmCode, str, str]:
    """``(code, detail, component)`` of an ``env:Error`` body, or :class:`MalformedMessage`."""
    if element.tag != _q("Error"):
        raise MalformedMessage("not an env:Error body")
    _xsd.check(SCHEMA, element, "error body")
    return (
        EdmCode(_required(element, "Code")),
        _required(element, "Detail"),
        _required(element, "Component"),
    )
