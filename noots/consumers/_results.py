"""What one successful retrieval returns: the evidence, its document, and the exact bytes."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from lxml import etree

from noots.consumers._document import DocumentRow, document_rows, document_to_dict
from noots.messages import Evidence, EvidenceType

__all__ = ["EvidenceResult", "PendingEvidence", "Route"]


@dataclass(frozen=True)
class Route:
    """Where an evidence type (for a region) is answered, as the SAK found it in the RDN.

    ``evidence_type`` is the type as the RDN describes it (classification, title, identifier;
    the 0101 names it so); ``provider_area`` is the provider's administrative area.
    """

    provider: str
    provider_name: str
    service_id: str
    provider_area: str = ""
    evidence_type: EvidenceType | None = None


@dataclass(frozen=True)
class PendingEvidence:
    """A provider announced the evidence for later (``ResponseAvailableDateTime``); the client
    waits ``wait_seconds`` and then collects it with the same 0101 (``request_id``)."""

    request_id: UUID
    evidence_type: str
    provider: str
    available_at: datetime
    wait_seconds: float


@dataclass(frozen=True)
class EvidenceResult:
    """A checked evidence.

    The online service's SAK verified the transport (the provider's SAK's signature, the
    binding to the exact request); the client checked the 0102 against its 0101 (request id
    echoed, requester, provider, evidence type, IDNr). ``raw_request`` is the
    ``DE.EvidenceRequest.0101`` handed to the SAK, ``raw_response`` the ``0102`` received,
    byte for byte, kept for audit. ``envelope_ids`` are the transport envelopes the SAK sent
    for this request (one per submission, as its ``Noots-Envelope-Id`` said), and
    ``response_envelope_id`` the envelope the evidence came in.
    """

    evidence_type: str
    purpose: str
    route: Route
    evidence: Evidence
    document: etree._Element = field(repr=False)
    raw_request: bytes = field(repr=False)
    raw_response: bytes = field(repr=False)
    request_id: UUID
    message_uuid: UUID
    envelope_ids: tuple[UUID, ...]
    response_envelope_id: UUID | None
    idnr: str | None = None
    submissions: int = 0

    @property
    def provider(self) -> str:
        return self.route.provider

    @property
    def attempts(self) -> int:
        """How often the 0101 was handed to the SAK (retries and collections included)."""
        return max(self.submissions, len(self.envelope_ids))

    def rows(self) -> list[DocumentRow]:
        return document_rows(self.document)

    def to_json(self, *, include_raw: bool = False) -> dict[str, Any]:
        """A JSON-ready summary; ``include_raw`` adds the exact bytes (base64) for audit."""
        data: dict[str, Any] = {
            "evidence_type": self.evidence_type,
            "purpose": self.purpose,
            "provider": self.route.provider,
            "provider_name": self.route.provider_name,
            "service_id": self.route.service_id,
            "request_id": f"urn:uuid:{self.request_id}",
            "message_uuid": str(self.message_uuid),
            "envelope_ids": [str(e) for e in self.envelope_ids],
            "response_envelope_id": (
                str(self.response_envelope_id) if self.response_envelope_id else None
            ),
            "issuing_date": self.evidence.issuing_date.isoformat(),
            "issuing_authority": self.evidence.issuing_authority.name,
            "document": document_to_dict(self.document),
        }
        if include_raw:
            data["raw_request"] = base64.b64encode(self.raw_request).decode("ascii")
            data["raw_response"] = base64.b64encode(self.raw_response).decode("ascii")
        return data
