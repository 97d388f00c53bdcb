"""EDM 2.0 ↔ XNachweis 1.2.0: what the Intermediäre Plattform translates at the border.

Use case 3 (an EU evidence requester asks a German register):
``QueryRequest`` → ``DE.EvidenceRequest.0301`` (:func:`request_0301`), and the register's
``0302``/``0303`` back → ``QueryResponse`` / error response (:func:`answer_from_0302`,
:func:`error_from_0303`). Use case 4 (a German online service orders EU evidence):
``DE.EvidenceOrder.0401`` → ``QueryRequest`` (:func:`query_for_order`) and the member state's
evidence → the ``Evidence`` of a ``DE.GetEvidenceResponse.0412`` (:func:`evidence_for_0412`).

What does not fit the other side is refused with a typed error (mapped to an EDM code at the
edge), never silently dropped: an agent whose identifier scheme XNachweis cannot carry (only
EAS schemes), an evidence type classification outside the one XNachweis allows.
"""

from __future__ import annotations

from uuid import UUID

from noots.clock import Clock
from noots.errors import EdmCode, InvalidInput, UnsupportedCapability
from noots.eu._edm_model import EAS_SCHEME_PREFIX
from noots.eu.edm import (
    LOA_HIGH,
    LOA_LOW,
    LOA_SUBSTANTIAL,
    EdmAgent,
    EdmError,
    EdmEvidence,
    EdmEvidenceType,
    EdmLegalPerson,
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
from noots.messages import (
    LOA_HIGH as XN_LOA_HIGH,
)
from noots.messages import (
    LOA_LOW as XN_LOA_LOW,
)
from noots.messages import (
    LOA_SUBSTANTIAL as XN_LOA_SUBSTANTIAL,
)
from noots.messages import (
    Agent,
    Authority,
    EuEvidenceErrorResponse,
    EuEvidenceRequest,
    EuEvidenceResponse,
    Evidence,
    EvidenceOrder,
    EvidenceType,
    LegalPerson,
    NaturalPerson,
)

__all__ = [
    "agent_from_edm",
    "edm_agent",
    "edm_subject",
    "error_for_code",
    "error_from_0303",
    "evidence_for_0412",
    "evidence_type_from_edm",
    "query_for_order",
    "request_0301",
    "response_from_0302",
    "subject_from_edm",
]

_LOA_TO_XN = {LOA_LOW: XN_LOA_LOW, LOA_SUBSTANTIAL: XN_LOA_SUBSTANTIAL, LOA_HIGH: XN_LOA_HIGH}
_LOA_TO_EDM = {value: key for key, value in _LOA_TO_XN.items()}


def agent_from_edm(agent: EdmAgent) -> Agent:
    """An EDM agent as an XNachweis agent; only EAS identifier schemes can be carried."""
    if not agent.scheme_id.startswith(EAS_SCHEME_PREFIX):
        raise UnsupportedCapability(
            f"agent identifier scheme {agent.scheme_id!r} cannot be carried in XNachweis "
            "(only EAS schemes)"
        )
    try:
        return Agent(agent.identifier, agent.name, scheme_id=agent.scheme_id)
    except ValueError as exc:
        raise InvalidInput(f"agent: {exc}") from None


def edm_agent(agent: Agent, *, country: str | None = "DE", lang: str = "DE") -> EdmAgent:
    """An XNachweis agent as an EDM agent (German authorities by default)."""
    return EdmAgent(agent.identifier, agent.scheme_id, agent.name, name_lang=lang, country=country)


def evidence_type_from_edm(evidence_type: EdmEvidenceType) -> EvidenceType:
    """The XNachweis evidence type the EDM one asks for (same classification and title)."""
    try:
        identifier = UUID(evidence_type.identifier)
    except ValueError:
        raise InvalidInput("evidence type identifier is not a UUID") from None
    try:
        return EvidenceType(
            evidence_type.classification, evidence_type.title, identifier, evidence_type.format
        )
    except ValueError as exc:
        raise UnsupportedCapability(f"evidence type: {exc}") from None


def subject_from_edm(subject: EdmSubject) -> NaturalPerson | LegalPerson:
    """The evidence subject for the German register.

    A natural person is matched by the eIDAS minimum data set (names, date of birth, birth name,
    place of birth); the eIDAS person identifier (``FR/DE/…``) means nothing to a German
    register and is not passed on. A legal person keeps its eIDAS identifier.
    """
    try:
        if isinstance(subject, EdmNaturalPerson):
            return NaturalPerson(
                subject.family_name,
                subject.given_name,
                subject.date_of_birth,
                level_of_assurance=_LOA_TO_XN[subject.level_of_assurance],
                birth_name=subject.birth_name,
                place_of_birth=subject.place_of_birth,
            )
        return LegalPerson(
            subject.legal_name,
            legal_person_identifier=subject.identifier,
            level_of_assurance=_LOA_TO_XN[subject.level_of_assurance],
        )
    except ValueError as exc:
        raise InvalidInput(f"subject: {exc}") from None


def edm_subject(subject: NaturalPerson | LegalPerson) -> EdmSubject:
    """An XNachweis subject as an EDM subject (the IDNr is never passed abroad)."""
    if isinstance(subject, NaturalPerson):
        return EdmNaturalPerson(
            subject.family_name,
            subject.given_name,
            subject.date_of_birth,
            level_of_assurance=_LOA_TO_EDM[subject.level_of_assurance],
            birth_name=subject.birth_name,
            place_of_birth=subject.place_of_birth,
        )
    return EdmLegalPerson(
        subject.legal_name,
        level_of_assurance=_LOA_TO_EDM[subject.level_of_assurance],
        identifier=subject.legal_person_identifier,
    )


def request_0301(
    request: QueryRequest,
    *,
    register: Agent,
    evidence_type: EvidenceType,
    platform: Authority,
    clock: Clock,
    test: bool = False,
) -> EuEvidenceRequest:
    """The 0301 the IP sends to the German ``register`` for the EU ``request``.

    ``evidence_type`` is the German evidence type the national directory resolved for the
    requested classification. The preferred language is the requested distribution's, else
    German.
    """
    language = (request.evidence_type.language or "de").lower()[:2]
    return EuEvidenceRequest.new(
        requester=agent_from_edm(request.requester),
        provider=register,
        evidence_type=evidence_type,
        subject=subject_from_edm(request.subject),
        platform=platform,
        clock=clock,
        language=language,
        test=test,
    )


def response_from_0302(
    request: QueryRequest, answer: EuEvidenceResponse, *, provider: EdmAgent, clock: Clock
) -> QueryResponse:
    """The EDM response carrying the register's evidence (or its announced availability).

    ``provider`` is the evidence provider as the EU requester addressed it (the IP answers
    for the German register); the issuing authority of each evidence is the register.
    """
    if answer.available_at is not None:
        return answer_pending(request, answer.available_at, clock=clock, provider=provider)
    evidences = tuple(
        EdmEvidence.new(
            evidence.document,
            subject=request.subject,
            issuing_authority=edm_agent(evidence.issuing_authority),
            evidence_type=request.evidence_type,
            clock=clock,
            language=(evidence.language or "de").upper(),
        )
        for evidence in answer.evidences
    )
    return answer_with_evidence(request, *evidences, clock=clock, provider=provider)


def error_for_code(
    request: QueryRequest,
    code: EdmCode,
    detail: str | None,
    *,
    error_provider: EdmAgent,
    clock: Clock,
) -> QueryErrorResponse:
    """An EDM error response with ``code`` (the TDD's exception type and message)."""
    return answer_with_error(
        request, EdmError.of(code, detail, clock=clock), error_provider=error_provider
    )


def error_from_0303(
    request: QueryRequest,
    answer: EuEvidenceErrorResponse,
    *,
    error_provider: EdmAgent,
    clock: Clock,
) -> QueryErrorResponse:
    """The register's refusal as an EDM error: the same code (an unlisted one is passed on as
    it is, with the query exception type), the register's detail, now."""
    first = answer.errors[0]
    edm = first.edm
    error = EdmError(
        first.code,
        EdmError.of(edm or EdmCode.QUERY_ERROR).message,
        detail=None if first.detail is None else " ".join(first.detail.split()) or None,
        timestamp=clock.now(),
    )
    return answer_with_error(request, error, error_provider=error_provider)


def query_for_order(
    order: EvidenceOrder,
    *,
    requester: EdmAgent,
    platform: EdmAgent,
    provider: EdmAgent,
    evidence_type: EdmEvidenceType,
    clock: Clock,
    preview_location: str | None = None,
) -> QueryRequest:
    """The EDM request the IP sends abroad for a 0401 (use case 4): the online service as the
    evidence requester, the IP as intermediary platform, preview possible (the citizen previews
    at the member state's preview space)."""
    return QueryRequest.new(
        procedure=order.procedure,
        requester=requester,
        provider=provider,
        evidence_type=evidence_type,
        subject=edm_subject(order.subject),
        clock=clock,
        possibility_for_preview=True,
        explicit_request_given=True,
        requirements=tuple(
            EdmRequirement(item.identifier, item.name) for item in order.requirements
        ),
        platform=platform,
        preview_location=preview_location,
    )


def evidence_for_0412(evidence: EdmEvidence, order: EvidenceOrder, *, clock: Clock) -> Evidence:
    """One EU evidence as the ``Evidence`` of a 0412 (the order's evidence type and subject)."""
    issuer = agent_from_edm(evidence.issuing_authority)
    return Evidence.new(
        evidence.document,
        issuing_authority=issuer,
        evidence_type=order.evidence_type.ref,
        subject=order.subject,
        clock=clock,
        media_type=evidence.format,
        language=(evidence.language or "en").lower()[:2],
    )
