"""What one successful retrieval returns: the evidence, its document, and the signed bytes."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from lxml import etree

from consumers._document import DocumentRow, document_rows, document_to_dict
from noots.messages import Evidence

__all__ = ["EvidenceResult", "Route"]


@dataclass(frozen=True)
class Route:
    """Where the RDN says an evidence type (for a region) is answered."""

    provider: str
    provider_name: str
    service_id: str


@dataclass(frozen=True)
class EvidenceResult:
    """A verified evidence.

    Everything here comes from the response envelope that passed every check (signature of the
    addressed provider, binding to ``raw_request``, 0101/0102 consistency). ``raw_request`` and
    ``raw_response`` are the exact bytes of the last exchange, kept for audit: the response's
    signature can be verified again from them at any time.
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
    response_envelope_id: UUID
    idnr: str | None = None

    @property
    def provider(self) -> str:
        return self.route.provider

    @property
    def attempts(self) -> int:
        """How many envelopes carried this request (retries and collections included)."""
        return len(self.envelope_ids)

    def rows(self) -> list[DocumentRow]:
        return document_rows(self.document)

    def to_json(self, *, include_raw: bool = False) -> dict[str, Any]:
        """A JSON-ready summary; ``include_raw`` adds the signed bytes (base64) for audit."""
        data: dict[str, Any] = {
            "evidence_type": self.evidence_type,
            "purpose": self.purpose,
            "provider": self.route.provider,
            "provider_name": self.route.provider_name,
            "service_id": self.route.service_id,
            "request_id": f"urn:uuid:{self.request_id}",
            "message_uuid": str(self.message_uuid),
            "envelope_ids": [str(e) for e in self.envelope_ids],
            "response_envelope_id": str(self.response_envelope_id),
            "issuing_date": self.evidence.issuing_date.isoformat(),
            "issuing_authority": self.evidence.issuing_authority.name,
            "document": document_to_dict(self.document),
        }
        if include_raw:
            data["raw_request"] = base64.b64encode(self.raw_request).decode("ascii")
            data["raw_response"] = base64.b64encode(self.raw_response).decode("ascii")
        return data
