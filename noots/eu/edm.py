"""The OOTS Exchange Data Model 2.0 on OASIS ebXML RegRep 4: evidence request, response and
error response, as typed values with a builder and a strict parser.

::

    request = QueryRequest.new(procedure="T3", requester=..., provider=..., evidence_type=...,
                               subject=EdmNaturalPerson(...), clock=clock)
    element = build(request)                     # query:QueryRequest
    parsed = parse(noots.xml.parse(data))        # back to the model, or MalformedMessage
    response = answer_with_evidence(request, EdmEvidence.new(pdf, ...), clock=clock)
    parts = attachments_of(response)             # the evidence travels beside the document

Parse only what :func:`noots.xml.parse` produced. What is checked (and what is not, since the
official EDM schemas are not shipped with noots) is listed in docs/EU.md.
"""

from __future__ import annotations

from noots.eu._edm_model import (
    AGENT_CLASSIFICATIONS,
    CLASSIFICATION_SCHEME_EDM,
    EP,
    ER,
    ERRP,
    EXCEPTION_MESSAGES,
    EXCEPTION_TYPES,
    IP,
    LEVELS_OF_ASSURANCE,
    LOA_HIGH,
    LOA_LOW,
    LOA_SUBSTANTIAL,
    NS_QUERY,
    NS_RIM,
    NS_RS,
    NS_SDG,
    NSMAP,
    SEVERITY_ERROR,
    SEVERITY_PREVIEW_REQUIRED,
    SPECIFICATION_IDENTIFIER,
    STATUS_FAILURE,
    STATUS_SUCCESS,
    STATUS_UNAVAILABLE,
    EdmAgent,
    EdmAnswer,
    EdmError,
    EdmEvidence,
    EdmEvidenceType,
    EdmLegalPerson,
    EdmMessage,
    EdmNaturalPerson,
    EdmRequirement,
    EdmSubject,
    QueryErrorResponse,
    QueryRequest,
    QueryResponse,
    answer_pending,
    answer_with_error,
    answer_with_evidence,
)
from noots.eu._edm_xml import Attachment, attachments_of, build, parse
from noots.xml import serialize

__all__ = [
    "AGENT_CLASSIFICATIONS",
    "CLASSIFICATION_SCHEME_EDM",
    "EP",
    "ER",
    "ERRP",
    "EXCEPTION_MESSAGES",
    "EXCEPTION_TYPES",
    "IP",
    "LEVELS_OF_ASSURANCE",
    "LOA_HIGH",
    "LOA_LOW",
    "LOA_SUBSTANTIAL",
    "NSMAP",
    "NS_QUERY",
    "NS_RIM",
    "NS_RS",
    "NS_SDG",
    "SEVERITY_ERROR",
    "SEVERITY_PREVIEW_REQUIRED",
    "SPECIFICATION_IDENTIFIER",
    "STATUS_FAILURE",
    "STATUS_SUCCESS",
    "STATUS_UNAVAILABLE",
    "Attachment",
    "EdmAgent",
    "EdmAnswer",
    "EdmError",
    "EdmEvidence",
    "EdmEvidenceType",
    "EdmLegalPerson",
    "EdmMessage",
    "EdmNaturalPerson",
    "EdmRequirement",
    "EdmSubject",
    "QueryErrorResponse",
    "QueryRequest",
    "QueryResponse",
    "answer_pending",
    "answer_with_error",
    "answer_with_evidence",
    "attachments_of",
    "build",
    "parse",
    "to_bytes",
]


def to_bytes(message: EdmMessage) -> bytes:
    """UTF-8 bytes of the RegRep document of ``message`` (declaration, not indented)."""
    return serialize(build(message))
