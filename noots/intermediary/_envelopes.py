"""Signed answers of the envelope endpoints (a provider's SAK, the VS).

Every answer is signed by the answering participant and bound to the exact bytes of
the request it answers (``InResponseTo`` = SHA-256 of those bytes), also when the request could
not be verified: then its claimed sender and ids are used only to address the answer, never
to decide anything.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from lxml import etree

from noots.envelope import ENV_NS, PARTICIPANT_ID, EnvelopeHeader, request_digest, seal
from noots.errors import NootsError
from noots.participant import Participant
from noots.xml import parse

__all__ = ["Addressing", "claimed_addressing", "sign_answer"]

UNKNOWN_PARTICIPANT = "unknown"


@dataclass(frozen=True)
class Addressing:
    """Where an answer goes: the party that asked, the service, the request's envelope id."""

    recipient: str
    service_id: str
    request_message_id: uuid.UUID | None

    @classmethod
    def of(cls, header: EnvelopeHeader) -> Addressing:
        return cls(header.sender, header.service_id, header.message_id)


def claimed_addressing(raw: bytes, *, default_service: str) -> Addressing:
    """Best-effort addressing of an answer to a request that failed verification.

    Reads the *unverified* header only to address the error (what a forger writes there
    changes nothing but the label on the refusal), and falls back to neutral values.
    """
    recipient, service_id, message_id = UNKNOWN_PARTICIPANT, default_service, None
    try:
        root = parse(raw)
    except NootsError:
        return Addressing(recipient, service_id, message_id)
    header = root.find(f"{{{ENV_NS}}}Header")
    if header is None:
        return Addressing(recipient, service_id, message_id)
    sender = (header.findtext(f"{{{ENV_NS}}}Sender") or "").strip()
    if PARTICIPANT_ID.fullmatch(sender):
        recipient = sender
    service = (header.findtext(f"{{{ENV_NS}}}ServiceId") or "").strip()
    if service and len(service) <= 512 and not any(c.isspace() for c in service):
        service_id = service
    try:
        message_id = uuid.UUID((header.findtext(f"{{{ENV_NS}}}MessageId") or "").strip())
    except ValueError:
        message_id = None
    return Addressing(recipient, service_id, message_id)


def sign_answer(
    participant: Participant,
    addressing: Addressing,
    request_raw: bytes | None,
    body: etree._Element,
    *,
    on_behalf_of: str | None = None,
) -> bytes:
    """The answer envelope: signed by ``participant``, bound to ``request_raw``.

    ``request_raw`` is ``None`` only when the request was refused before it was read in full
    (too large): there are no bytes to bind to, and the answer says so by carrying no
    ``InResponseTo``.
    """
    header = EnvelopeHeader(
        message_id=uuid.uuid4(),
        sender=participant.participant_id,
        recipient=addressing.recipient,
        service_id=addressing.service_id,
        created=participant.clock.now(),
        in_response_to=None if request_raw is None else request_digest(request_raw),
        request_message_id=addressing.request_message_id,
        on_behalf_of=on_behalf_of,
    )
    return seal(header, body, participant.signer)
