"""The simulated eDelivery access point of a participant: send an EDM message, receive one.

Every simulated access point serves ``POST /as4`` (``application/soap+xml``): the body is a
sealed ebMS3 user message (:mod:`noots.eu.ebms`) and, unlike real AS4 (which answers with a
receipt and delivers the response as a message of its own), the HTTP response carries the
sealed answer message at once. Which URL serves an access point comes from a static map
(``access_points``: party id → base URL) in place of SML/SMP discovery.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs
from uuid import UUID, uuid4

import httpx
from fastapi import Request

from noots import xml
from noots.clock import Clock
from noots.errors import (
    EdmCode,
    MalformedMessage,
    NootsError,
    ResponseBindingError,
    RouteNotFound,
    SenderMismatch,
    UpstreamError,
    UpstreamTimeout,
)
from noots.eu import ebms, edm
from noots.eu.edm import EdmAgent, EdmAnswer, EdmMessage, QueryRequest
from noots.intermediary._edge import read_body
from noots.participant import Participant
from noots.pki import Role

__all__ = [
    "AS4_MEDIA_TYPE",
    "AS4_PATH",
    "GATEWAY_ROLES",
    "Gateway",
    "ReceivedRequest",
    "check_original_sender",
    "open_message",
    "open_request",
    "read_form",
    "read_query",
    "sealed_answer",
    "structural_detail",
    "unreadable_request_answer",
]

AS4_PATH = "/as4"
AS4_MEDIA_TYPE = "application/soap+xml"
# The simulated member states' gateways carry role simulator; the German IP's gateway the
# platform role.
GATEWAY_ROLES = frozenset({Role.SIMULATOR, Role.PLATFORM})


@dataclass(frozen=True)
class ReceivedRequest:
    """A verified incoming EDM request and the ebMS message that carried it."""

    message: ebms.UserMessage
    request: QueryRequest


def open_message(raw: bytes, participant: Participant) -> ebms.UserMessage:
    """Open a sealed request message addressed to ``participant``'s access point: signature,
    certificate path, sender = signer, ``To`` = this access point, action
    ``ExecuteQueryRequest`` (typed errors for anything else). The EDM document inside is not
    read yet (:func:`read_query`)."""
    opened = ebms.open_user_message(raw, participant.verifier, required_role=GATEWAY_ROLES)
    message = opened.message
    if message.to_party != participant.participant_id:
        raise MalformedMessage(f"message for {message.to_party!r}, not for this access point")
    if message.action != ebms.ACTION_REQUEST:
        raise MalformedMessage(f"expected {ebms.ACTION_REQUEST}, got {message.action}")
    return message


def read_query(message: ebms.UserMessage) -> QueryRequest:
    """The EDM ``QueryRequest`` a verified message carries (``MalformedMessage`` naming what
    is wrong, ``UnsupportedCapability`` for valid EDM noots does not implement)."""
    document = edm.parse(xml.parse(message.edm_document), message.attachments)
    if not isinstance(document, QueryRequest):
        raise MalformedMessage("the payload is not a QueryRequest")
    return document


def check_original_sender(message: ebms.UserMessage, request: QueryRequest) -> None:
    """The ebMS ``originalSender`` must be the request's evidence requester."""
    if message.original_sender != ebms.PartyProperty.of(request.requester):
        raise SenderMismatch("originalSender is not the request's evidence requester")


def open_request(raw: bytes, participant: Participant) -> ReceivedRequest:
    """Open a sealed message addressed to ``participant``'s access point and read its EDM
    ``QueryRequest`` (typed errors for anything else)."""
    message = open_message(raw, participant)
    document = read_query(message)
    check_original_sender(message, document)
    return ReceivedRequest(message, document)


def unreadable_request_answer(
    message: ebms.UserMessage,
    error: NootsError,
    participant: Participant,
    *,
    error_provider: EdmAgent,
    clock: Clock,
) -> bytes | None:
    """The sealed EDM error answer to a verified message whose ``QueryRequest`` could not be
    read (``error``: ``EDM:ERR:0003`` for a malformed request, ``0007`` for one noots does
    not implement), addressed by the request id the document carries; None when not even that
    can be read (the caller refuses without an EDM answer). The detail names what is wrong in
    the request's structure, never a value of it."""
    try:
        root = xml.parse(message.edm_document)
        request_id = UUID(str(root.get("id", "")).removeprefix("urn:uuid:"))
        requester = EdmAgent(
            message.original_sender.value,
            message.original_sender.type,
            message.original_sender.value,
        )
    except (NootsError, ValueError):
        return None
    code = error.code if isinstance(error.code, EdmCode) else EdmCode.INVALID_REQUEST
    answer = edm.QueryErrorResponse(
        request_id,
        uuid4(),
        error_provider.classified(edm.ERRP),
        requester,
        edm.EdmError.of(code, structural_detail(error.message), clock=clock),
    )
    return sealed_answer(message, answer, participant, clock=clock)


# The words of the EDM a refusal may quote back: slot and element names, never a value.
_VOCABULARY = re.compile(r"'(?:[A-Z][A-Za-z]*|rim:[A-Za-z]+|query:[A-Za-z]+|sdg:[A-Za-z]+)'")
_QUOTED = re.compile(r"'[^']*'")


def structural_detail(text: str) -> str:
    """``text`` (a parser's message) with every quoted value but the EDM's own names
    replaced by '…': the refusal goes abroad and must carry nothing of the person."""

    def keep(match: re.Match[str]) -> str:
        quoted = match.group(0)
        return quoted if _VOCABULARY.fullmatch(quoted) else "'…'"

    return _QUOTED.sub(keep, " ".join(text.split()))[:300]


def sealed_answer(
    received: ebms.UserMessage, answer: EdmAnswer, participant: Participant, *, clock: Clock
) -> bytes:
    """The sealed response message to ``received`` (same conversation, RefToMessageId)."""
    action = (
        ebms.ACTION_EXCEPTION
        if isinstance(answer, edm.QueryErrorResponse)
        else ebms.ACTION_RESPONSE
    )
    message = ebms.UserMessage.new(
        edm_document=edm.to_bytes(answer),
        attachments=edm.attachments_of(answer),
        from_party=participant.participant_id,
        to_party=received.from_party,
        action=action,
        original_sender=received.final_recipient,
        final_recipient=received.original_sender,
        clock=clock,
        conversation_id=received.conversation_id,
        ref_to_message_id=received.message_id,
    )
    return ebms.seal_user_message(message, participant.signer)


class Gateway:
    """Sends EDM requests through the simulated eDelivery network and checks the answers."""

    def __init__(
        self,
        participant: Participant,
        access_points: Mapping[str, str],
        *,
        client: httpx.AsyncClient,
        timeout: float = 10.0,
    ) -> None:
        self.participant = participant
        self.access_points = dict(access_points)
        self.client = client
        self.timeout = timeout

    async def ask(
        self,
        request: QueryRequest,
        *,
        access_point: str,
        final_recipient: EdmAgent,
        conversation_id: str | None = None,
    ) -> EdmAnswer:
        """Send ``request`` to ``access_point`` and return the verified answer.

        Raises ``RouteNotFound`` (unknown access point), ``UpstreamTimeout``, ``UpstreamError``
        (transport failure or an answer that is not one), or the typed error of a bad answer.
        """
        base = self.access_points.get(access_point)
        if base is None:
            raise RouteNotFound(f"no access point {access_point!r} is known")
        message = ebms.UserMessage.new(
            edm_document=edm.to_bytes(request),
            from_party=self.participant.participant_id,
            to_party=access_point,
            action=ebms.ACTION_REQUEST,
            original_sender=ebms.PartyProperty.of(request.requester),
            final_recipient=ebms.PartyProperty.of(final_recipient),
            clock=self.participant.clock,
            conversation_id=conversation_id,
        )
        body = ebms.seal_user_message(message, self.participant.signer)
        try:
            # wait_for as well as httpx's own timeout: httpx bounds each network phase, this
            # the whole exchange (a peer that trickles its answer never stalls the caller).
            response = await asyncio.wait_for(
                self.client.post(
                    base.rstrip("/") + AS4_PATH,
                    content=body,
                    headers={"content-type": AS4_MEDIA_TYPE},
                    timeout=self.timeout,
                ),
                timeout=self.timeout,
            )
        except (httpx.TimeoutException, TimeoutError):
            raise UpstreamTimeout(
                f"access point {access_point} did not answer in time", component=access_point
            ) from None
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"access point {access_point} unreachable: {type(exc).__name__}",
                component=access_point,
            ) from None
        return self._answer(response.content, message, access_point, request)

    def _answer(
        self, raw: bytes, sent: ebms.UserMessage, access_point: str, request: QueryRequest
    ) -> EdmAnswer:
        opened = ebms.open_user_message(raw, self.participant.verifier, required_role=GATEWAY_ROLES)
        message = opened.message
        if message.from_party != access_point or message.to_party != sent.from_party:
            raise ResponseBindingError("answer from another access point than the one asked")
        if message.ref_to_message_id != sent.message_id:
            raise ResponseBindingError("answer refers to another message")
        if message.conversation_id != sent.conversation_id:
            raise ResponseBindingError("answer belongs to another conversation")
        document: EdmMessage = edm.parse(xml.parse(message.edm_document), message.attachments)
        if isinstance(document, QueryRequest):
            raise MalformedMessage("answered with a request")
        if document.request_id != request.request_id:
            raise ResponseBindingError("answer names another request id")
        return document


async def read_form(request: Request, limit: int = 8192) -> dict[str, str]:
    """The urlencoded form of a POST (first value per name); a larger body raises
    :class:`~noots.errors.XmlTooLarge` (a 0003 problem at the edge)."""
    body = await read_body(request, limit)
    return {
        key: values[0]
        for key, values in parse_qs(body.decode("utf-8", "replace")).items()
        if values
    }
