"""Evidence from another EU member state, through the Intermediäre Plattform (use case 4).

An online service orders EU evidence with ``DE.EvidenceOrder.0401`` and gets a
``DE.EvidenceOrderResponse.0402``: the ``URLtoIP`` it sends the citizen to (the citizen
identifies there and previews the evidence in the member state) and the ``ConversationID`` it
collects the evidence with, ``DE.GetEvidence.0411`` → ``0412`` (the evidence, or when it will
be available) or ``0413``. Both travel through the online service's SAK like a 0101; the RDN
names the IP as the provider of the EU evidence types.

The readers here are pure: they turn what the SAK answered into :class:`OrderPlaced`,
:class:`EuEvidence` or :class:`EuEvidencePending`, or raise the typed error of the code
(the same classes :meth:`~noots.consumers.AsyncClient.fetch_evidence` raises).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from noots import messages
from noots.consumers._results import Route
from noots.consumers._sak import error_of_code
from noots.errors import MalformedMessage, ResponseBindingError, SenderMismatch
from noots.exchange import check_answer
from noots.messages import Evidence, EvidenceOrder, GetEvidence

__all__ = [
    "EuEvidence",
    "EuEvidencePending",
    "OrderPlaced",
    "read_collection",
    "read_order_answer",
]


@dataclass(frozen=True)
class OrderPlaced:
    """The IP took the order: send the citizen to ``url_to_ip``; collect with
    ``conversation_id`` (:meth:`~noots.consumers.AsyncClient.get_evidence`)."""

    evidence_type: str
    purpose: str
    route: Route
    conversation_id: str
    url_to_ip: str
    order_id: UUID
    raw_request: bytes = field(repr=False)
    raw_response: bytes = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "evidence_type": self.evidence_type,
            "purpose": self.purpose,
            "provider": self.route.provider,
            "service_id": self.route.service_id,
            "conversation_id": self.conversation_id,
            "url_to_ip": self.url_to_ip,
            "order_id": f"urn:uuid:{self.order_id}",
        }


@dataclass(frozen=True)
class EuEvidencePending:
    """The citizen is not done yet (or the member state not): ask again from ``available_at``."""

    conversation_id: str
    available_at: datetime


@dataclass(frozen=True)
class EuEvidence:
    """The evidence of a member state, as the IP delivered it (0412), checked.

    ``evidence.document`` is the member state's document (often a PDF: ``media_type``);
    ``issuer`` the authority that issued it abroad; ``raw_response`` the 0412 as received.
    """

    conversation_id: str
    evidence: Evidence
    issuer: str
    platform: str
    raw_request: bytes = field(repr=False)
    raw_response: bytes = field(repr=False)

    @property
    def document(self) -> bytes:
        return self.evidence.document

    @property
    def media_type(self) -> str:
        return self.evidence.media_type

    def rows(self) -> list[tuple[str, str]]:
        """What a person sees of it before deciding (label, value), in German."""
        evidence = self.evidence
        return [
            ("Nachweis", evidence.conformance.title),
            ("Ausgestellt von", evidence.issuing_authority.name),
            ("Ausgestellt am", evidence.issuing_date.isoformat()),
            ("Dokument", f"{evidence.media_type}, {len(evidence.document)} Bytes"),
            ("Übermittelt durch", self.platform),
        ]


def read_order_answer(
    order: EvidenceOrder,
    message: messages.Message,
    *,
    evidence_type: str,
    purpose: str,
    route: Route,
    raw_request: bytes,
    raw_response: bytes,
) -> OrderPlaced:
    """The 0402 to ``order``, or the typed error of its 0403."""
    answer = check_answer(order, message)
    if isinstance(answer, messages.EvidenceOrderErrorResponse):
        first = answer.errors[0]
        raise error_of_code(
            first.code.value, first.detail or "", component=answer.error_provider.identifier
        )
    assert isinstance(answer, messages.EvidenceOrderResponse)
    return OrderPlaced(
        evidence_type=evidence_type,
        purpose=purpose,
        route=route,
        conversation_id=answer.conversation_id,
        url_to_ip=answer.url_to_ip,
        order_id=order.order_id,
        raw_request=raw_request,
        raw_response=raw_response,
    )


def read_collection(
    request: GetEvidence,
    message: messages.Message,
    *,
    route: Route,
    classification: str | None,
    raw_request: bytes,
    raw_response: bytes,
) -> EuEvidence | EuEvidencePending:
    """The 0412 to ``request`` (the evidence, or when it will be available), or the typed
    error of its 0413. ``classification``: the evidence type ordered, when known."""
    answer = check_answer(request, message)
    if isinstance(answer, messages.GetEvidenceErrorResponse):
        first = answer.errors[0]
        raise error_of_code(
            first.code.value, first.detail or "", component=answer.error_provider.identifier
        )
    if not isinstance(answer, messages.GetEvidenceResponse):
        raise MalformedMessage("the answer is no 0412")
    if answer.platform.identifier != route.provider:
        raise SenderMismatch(f"evidence delivered by another platform than {route.provider!r}")
    if answer.available_at is not None:
        return EuEvidencePending(request.conversation_id, answer.available_at)
    evidence = answer.evidences[0]
    if classification is not None and evidence.conformance.classification != classification:
        raise ResponseBindingError("evidence of another type than ordered")
    return EuEvidence(
        conversation_id=request.conversation_id,
        evidence=evidence,
        issuer=answer.provider.name,
        platform=answer.platform.name,
        raw_request=raw_request,
        raw_response=raw_response,
    )
