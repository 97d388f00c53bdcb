"""The suite as a data provider's SAK, answering a consumer-side SAK on purpose wrongly.

The consumer-side SAK under test sends its envelopes to the provider's SAK at the address the
RDN gives for it; the suite serves :func:`provider_sak_app` there. Each envelope is answered
as the current :class:`Answering` says: correctly (the control), or tampered with, unsigned,
bound to other bytes, signed by another SAK, sent on behalf of another register, an hour old,
or answering another request. The consumer-side SAK must refuse every one of those and hand
its online service nothing of them (SAK-07).
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import StrEnum

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from noots import messages
from noots.clock import Clock
from noots.conformance.i18n import Text
from noots.conformance.requests import unverified_parts
from noots.envelope import EnvelopeHeader, build_envelope, request_digest, seal
from noots.errors import NootsError
from noots.sak import TRANSPORT_PATH, XML_MEDIA_TYPE
from noots.signing import XmlSigner
from noots.xml import serialize

__all__ = ["Answering", "ProviderSakDouble", "provider_sak_app"]

#: The evidence the suite delivers: a name a leak check can find.
EVIDENCE_DOCUMENT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<Testnachweis xmlns="urn:noots:conformance:evidence">'
    b"<Name>Konformitaetspruefung Mustermann</Name></Testnachweis>"
)
#: The marker of that evidence: it must never reach the online service from a bad answer.
EVIDENCE_MARKER = "Konformitaetspruefung"


class Answering(StrEnum):
    """How the suite answers the next envelope."""

    VALID = "valid"
    TAMPERED = "tampered after signing"
    UNSIGNED = "unsigned"
    UNBOUND = "bound to other request bytes"
    OTHER_SAK = "signed by another register's SAK"
    OTHER_PROVIDER = "sent on behalf of another register"
    STALE = "created an hour ago"
    OTHER_REQUEST = "answering another request id"

    @property
    def description(self) -> str:
        """How the answer is made, in the report language (the value is its English)."""
        return str(_DESCRIPTIONS[self])


_DESCRIPTIONS = {
    Answering.VALID: Text("gültig", "valid"),
    Answering.TAMPERED: Text("nach dem Signieren verändert", "tampered after signing"),
    Answering.UNSIGNED: Text("unsigniert", "unsigned"),
    Answering.UNBOUND: Text("an andere Anfragebytes gebunden", "bound to other request bytes"),
    Answering.OTHER_SAK: Text(
        "vom SAK eines anderen Registers signiert", "signed by another register's SAK"
    ),
    Answering.OTHER_PROVIDER: Text(
        "im Namen eines anderen Registers gesendet", "sent on behalf of another register"
    ),
    Answering.STALE: Text("vor einer Stunde erstellt", "created an hour ago"),
    Answering.OTHER_REQUEST: Text(
        "mit der Kennung einer anderen Nachweisanfrage", "answering another request id"
    ),
}


@dataclass
class ProviderSakDouble:
    """The provider's SAK the suite plays: its signer, the register it acts for, and another
    SAK's signer for the wrongly signed answer."""

    sak_id: str
    register: str
    signer: XmlSigner = field(repr=False)
    other_sak: str
    other_signer: XmlSigner = field(repr=False)
    clock: Clock
    answering: Answering = Answering.VALID
    received: list[bytes] = field(default_factory=list)

    def answer(self, raw: bytes) -> tuple[int, bytes]:
        """The answer envelope to ``raw`` as :attr:`answering` says."""
        self.received.append(raw)
        parts = unverified_parts(raw)
        if parts is None:
            return 400, b""
        header, body = parts
        try:
            request = messages.parse(body)
        except NootsError:
            return 400, b""
        if not isinstance(request, messages.EvidenceRequest):
            return 400, b""
        mode = self.answering
        if mode is Answering.OTHER_REQUEST:
            request = replace(request, request_id=uuid.uuid4())
        evidence = messages.Evidence.new(
            EVIDENCE_DOCUMENT,
            issuing_authority=request.provider,
            evidence_type=request.evidence_type,
            subject=request.subject,
            clock=self.clock,
        )
        answer = messages.build(messages.answer_with_evidence(request, evidence, clock=self.clock))
        created = self.clock.now() - (
            timedelta(hours=1) if mode is Answering.STALE else timedelta()
        )
        answer_header = EnvelopeHeader(
            message_id=uuid.uuid4(),
            sender=self.other_sak if mode is Answering.OTHER_SAK else self.sak_id,
            recipient=header.sender,
            service_id=header.service_id,
            created=created,
            in_response_to=request_digest(b"other bytes" + raw)
            if mode is Answering.UNBOUND
            else request_digest(raw),
            request_message_id=header.message_id,
            on_behalf_of="000-00000NONE-00" if mode is Answering.OTHER_PROVIDER else self.register,
        )
        if mode is Answering.UNSIGNED:
            return 200, serialize(build_envelope(answer_header, answer))
        signer = self.other_signer if mode is Answering.OTHER_SAK else self.signer
        sealed = seal(answer_header, answer, signer)
        if mode is Answering.TAMPERED:
            sealed = _tampered(sealed)
        return 200, sealed


def _tampered(sealed: bytes) -> bytes:
    """The signed answer with one word of the evidence's metadata changed."""
    with contextlib.suppress(ValueError):
        at = sealed.index(b"<xn-de:DE.EvidenceResponse.0102")
        marker = sealed.index(b"Mustermann", at) if b"Mustermann" in sealed[at:] else -1
        if marker >= 0:
            return sealed[:marker] + b"Musterfrau" + sealed[marker + len(b"Mustermann") :]
    # No name to change: flip a character of the requestid attribute's neighbour instead.
    index = sealed.index(b"requestid=") + len(b'requestid="urn:uuid:')
    flipped = b"0" if sealed[index : index + 1] != b"0" else b"1"
    return sealed[:index] + flipped + sealed[index + 1 :]


def provider_sak_app(double: ProviderSakDouble) -> Starlette:
    """``POST /transport/v1/messages`` answered by :class:`ProviderSakDouble`."""

    async def receive(request: Request) -> Response:
        raw = await request.body()
        status, body = double.answer(raw)
        return Response(body, status_code=status, media_type=XML_MEDIA_TYPE)

    async def health(_request: Request) -> Response:
        return Response(b'{"status":"healthy"}', media_type="application/json")

    return Starlette(
        routes=[
            Route(TRANSPORT_PATH, receive, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ]
    )
