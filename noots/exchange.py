"""Which XNachweis answer belongs to which request, across the national and the EU use cases.

A SAK carries four request types between participants: the national ``DE.EvidenceRequest.0101``
(online service → register), ``DE.EvidenceRequest.0301`` (the Intermediäre Plattform →
register, for an EU evidence requester), ``DE.EvidenceOrder.0401`` and ``DE.GetEvidence.0411``
(online service → the IP). This module says, for each, who sends it through NOOTS, whom it
addresses, which answers are valid, and builds the refusal a SAK answers when it stops one:

======  =====================================  ==================  ====================
type    sent through NOOTS by                  addressed to        answers
======  =====================================  ==================  ====================
0101    ``EvidenceRequester`` (online service)  ``EvidenceProvider``  0102 / 0103
0301    ``autor`` (the IP; the requester is     ``EvidenceProvider``  0302 / 0303
        the EU authority)
0401    ``EvidenceRequester`` (online service)  ``EvidenceProvider``  0402 / 0403
                                                (the IP)
0411    ``autor`` (online service)              ``leser`` (the IP)    0412 / 0413
======  =====================================  ==================  ====================

Protocol only: no HTTP, no signatures.
"""

from __future__ import annotations

from typing import TypeAlias
from uuid import UUID, uuid4

from noots._messages_model import instant
from noots.clock import Clock
from noots.errors import EdmCode, MalformedMessage, ResponseBindingError
from noots.messages import (
    Agent,
    Authority,
    ErrorDetail,
    EuEvidenceErrorResponse,
    EuEvidenceRequest,
    EuEvidenceResponse,
    EvidenceErrorResponse,
    EvidenceOrder,
    EvidenceOrderErrorResponse,
    EvidenceOrderResponse,
    EvidenceRequest,
    EvidenceResponse,
    GetEvidence,
    GetEvidenceErrorResponse,
    GetEvidenceResponse,
    Message,
    answer_with_error,
    message_type,
)

__all__ = [
    "REQUEST_TYPES",
    "AnswerMessage",
    "RequestMessage",
    "addressee",
    "check_answer",
    "is_refusal",
    "refusal",
    "refusal_code",
    "request_id",
    "sender",
]

#: A request a SAK carries.
RequestMessage: TypeAlias = EvidenceRequest | EuEvidenceRequest | EvidenceOrder | GetEvidence
#: An answer a SAK carries back.
AnswerMessage: TypeAlias = (
    EvidenceResponse
    | EvidenceErrorResponse
    | EuEvidenceResponse
    | EuEvidenceErrorResponse
    | EvidenceOrderResponse
    | EvidenceOrderErrorResponse
    | GetEvidenceResponse
    | GetEvidenceErrorResponse
)
REQUEST_TYPES = (EvidenceRequest, EuEvidenceRequest, EvidenceOrder, GetEvidence)

_ANSWERS: dict[type, tuple[type, ...]] = {
    EvidenceRequest: (EvidenceResponse, EvidenceErrorResponse),
    EuEvidenceRequest: (EuEvidenceResponse, EuEvidenceErrorResponse),
    EvidenceOrder: (EvidenceOrderResponse, EvidenceOrderErrorResponse),
    GetEvidence: (GetEvidenceResponse, GetEvidenceErrorResponse),
}
_REFUSALS = (
    EvidenceErrorResponse,
    EuEvidenceErrorResponse,
    EvidenceOrderErrorResponse,
    GetEvidenceErrorResponse,
)


def sender(request: RequestMessage) -> str:
    """The participant that sends ``request`` through NOOTS (its SAK acts for it)."""
    if isinstance(request, EvidenceRequest | EvidenceOrder):
        return request.requester.identifier
    # 0301: the requester is the EU authority; the IP wrote the message. 0411: no agents.
    return request.author.participant_id


def addressee(request: RequestMessage) -> str:
    """The participant ``request`` is for (a register, or the IP)."""
    if isinstance(request, EvidenceRequest | EuEvidenceRequest):
        return request.provider.identifier
    if isinstance(request, EvidenceOrder):
        return request.platform.identifier
    return request.reader.participant_id


def request_id(message: Message) -> UUID:
    """The id that ties an answer to its request (the 0401/0402's is the order id)."""
    if isinstance(message, EvidenceOrder | EvidenceOrderResponse):
        return message.order_id
    return message.request_id


def is_refusal(answer: AnswerMessage) -> bool:
    return isinstance(answer, _REFUSALS)


def refusal_code(answer: AnswerMessage) -> str | None:
    """The first error code of a refusal (as sent), None for any other answer."""
    if isinstance(answer, _REFUSALS):
        return answer.errors[0].code.value
    return None


def check_answer(request: RequestMessage, answer: Message) -> AnswerMessage:
    """``answer`` if it is a valid answer type for ``request`` and echoes its id.

    :class:`MalformedMessage` for another message type, :class:`ResponseBindingError` for
    another request id.
    """
    expected = _ANSWERS[type(request)]
    if isinstance(answer, REQUEST_TYPES) or not isinstance(answer, expected):
        names = " or ".join(_name(kind) for kind in expected)
        raise MalformedMessage(
            f"{message_type(answer)} does not answer {message_type(request)} (expected {names})"
        )
    if request_id(answer) != request_id(request):
        raise ResponseBindingError("the answer echoes another request id")
    return answer


def _name(kind: type) -> str:
    return {
        EvidenceResponse: "0102",
        EvidenceErrorResponse: "0103",
        EuEvidenceResponse: "0302",
        EuEvidenceErrorResponse: "0303",
        EvidenceOrderResponse: "0402",
        EvidenceOrderErrorResponse: "0403",
        GetEvidenceResponse: "0412",
        GetEvidenceErrorResponse: "0413",
    }[kind]


def refusal(
    request: RequestMessage,
    code: EdmCode,
    detail: str | None,
    *,
    clock: Clock,
    error_provider: Agent,
) -> AnswerMessage:
    """The error answer to ``request`` reported by ``error_provider`` (a SAK, a register, the
    IP): 0103, 0303, 0403 or 0413. The detail must carry no personal data."""
    if isinstance(request, EvidenceRequest | EuEvidenceRequest):
        return answer_with_error(request, code, detail, clock=clock, error_provider=error_provider)
    now = instant(clock.now())
    errors = (ErrorDetail(code, detail, now),)
    if isinstance(request, EvidenceOrder):
        return EvidenceOrderErrorResponse(
            request.order_id,
            uuid4(),
            uuid4(),
            now,
            now,
            error_provider,
            request.requester,
            errors,
            request.author,
            Authority.of(error_provider),
            test=request.test,
        )
    requester = Agent(request.author.participant_id, request.author.name)
    return GetEvidenceErrorResponse(
        request.request_id,
        uuid4(),
        uuid4(),
        now,
        now,
        error_provider,
        requester,
        errors,
        request.author,
        Authority.of(error_provider),
        test=request.test,
    )
