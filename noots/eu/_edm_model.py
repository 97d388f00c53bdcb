"""The data model of the OOTS Exchange Data Model 2.0 (private module of noots.eu.edm).

Frozen dataclasses that check their invariants on construction, like the XNachweis model:
what can be built is what the EDM rules accept.
"""

from __future__ import annotations

import re
from dataclasses import KW_ONLY, dataclass
from datetime import date, datetime
from typing import TypeAlias
from uuid import UUID, uuid4

from noots._messages_model import (
    ErrorCode,
    _date,
    _identifier,
    _optional_text,
    _set,
    _text,
    _token,
    _uuid,
    error_code,
    instant,
)
from noots.clock import Clock
from noots.errors import EdmCode

# --- namespaces and fixed values --------------------------------------------------------------

NS_QUERY = "urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0"
NS_RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:4.0"
NS_RS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:4.0"
NS_SDG = "http://data.europa.eu/p4s"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS_XLINK = "http://www.w3.org/1999/xlink"
NS_XML = "http://www.w3.org/XML/1998/namespace"

# Prefixes as in the TDD's examples; never a default namespace.
NSMAP: dict[str, str] = {
    "query": NS_QUERY,
    "rim": NS_RIM,
    "rs": NS_RS,
    "sdg": NS_SDG,
    "xsi": NS_XSI,
    "xlink": NS_XLINK,
}

SPECIFICATION_IDENTIFIER = "oots-edm:v2.0"
QUERY_DEFINITION = "DocumentQuery"
RETURN_TYPE = "LeafClassWithRepositoryItem"
COLLECTION_SET = "urn:oasis:names:tc:ebxml-regrep:CollectionType:Set"
STATUS_SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
STATUS_FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
STATUS_UNAVAILABLE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Unavailable"
SEVERITY_ERROR = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"
SEVERITY_PREVIEW_REQUIRED = (
    "urn:sr.oots.tech.ec.europa.eu:codes:ErrorSeverity:EDMErrorResponse:PreviewRequired"
)
CLASSIFICATION_SCHEME_EDM = "urn:fdc:oots:classification:edm"
MAIN_EVIDENCE = "MainEvidence"
EIDAS_SCHEME = "eidas"
EAS_SCHEME_PREFIX = "urn:cef.eu:names:identifier:EAS:"
UNREGISTERED_SCHEME_PREFIX = "urn:oasis:names:tc:ebcore:partyid-type:unregistered"

# Agent classifications (EU code list AgentClassification).
ER, EP, IP, ERRP = "ER", "EP", "IP", "ERRP"
AGENT_CLASSIFICATIONS = frozenset({ER, EP, IP, ERRP})

# eIDAS levels of assurance as the EDM writes them.
LOA_LOW, LOA_SUBSTANTIAL, LOA_HIGH = "Low", "Substantial", "High"
LEVELS_OF_ASSURANCE = frozenset({LOA_LOW, LOA_SUBSTANTIAL, LOA_HIGH})
GENDERS = frozenset({"Male", "Female", "Unspecified"})
PREVIEW_METHODS = frozenset({"GET", "POST"})

# The exception type of each EDM error code (TDD, evidence error response).
EXCEPTION_TYPES: dict[EdmCode, tuple[str, str]] = {
    EdmCode.AUTHENTICATION: (NS_RS, "AuthenticationExceptionType"),
    EdmCode.AUTHORISATION: (NS_RS, "AuthorizationExceptionType"),
    EdmCode.INVALID_REQUEST: (NS_RS, "InvalidRequestExceptionType"),
    EdmCode.NOT_FOUND: (NS_RS, "ObjectNotFoundExceptionType"),
    EdmCode.TIMEOUT: (NS_RS, "TimeoutExceptionType"),
    EdmCode.UNRESOLVED_REFERENCE: (NS_RS, "UnresolvedReferenceExceptionType"),
    EdmCode.UNSUPPORTED_CAPABILITY: (NS_RS, "UnsupportedCapabilityExceptionType"),
    EdmCode.QUERY_ERROR: (NS_QUERY, "QueryExceptionType"),
}
EXCEPTION_MESSAGES: dict[EdmCode, str] = {
    EdmCode.AUTHENTICATION: "Authentication failure",
    EdmCode.AUTHORISATION: "Missing Authorization",
    EdmCode.INVALID_REQUEST: "Invalid Request",
    EdmCode.NOT_FOUND: "Object not found",
    EdmCode.TIMEOUT: "Timeout",
    EdmCode.UNRESOLVED_REFERENCE: "Unresolved reference",
    EdmCode.UNSUPPORTED_CAPABILITY: "Unsupported capability",
    EdmCode.QUERY_ERROR: "Query error",
}

_HTTPS = re.compile(r"https://\S+")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")
_EIDAS_ID = re.compile(r"[A-Z]{2}/[A-Z]{2}/\S+")
_LANG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
_COUNTRY = re.compile(r"[A-Z]{2}")


def _line(value: object, what: str) -> str:
    return _text(value, what, single_line=True, required=True)


def _lang(value: object, what: str) -> str:
    text = _token(value, what)
    if not _LANG.fullmatch(text):
        raise ValueError(f"{what} must be a language code like EN or de")
    return text


def _uri(value: object, what: str) -> str:
    text = _identifier(value, what)
    if not _URI.fullmatch(text):
        raise ValueError(f"{what} must be an absolute URI without white space")
    return text


def _https(value: object, what: str) -> str:
    text = _identifier(value, what)
    if not _HTTPS.fullmatch(text):
        raise ValueError(f"{what} must be an https:// URL without white space")
    return text


_LOOPBACK_HTTP = re.compile(r"http://(127\.0\.0\.1|localhost)(:[0-9]{1,5})?/\S*")


def _preview_url(value: object, what: str) -> str:
    """A preview location: https:// as the EDM rules require, or, as a documented deviation
    of the simulator, plain http to a loopback address (a landscape run without TLS)."""
    text = _identifier(value, what)
    if not (_HTTPS.fullmatch(text) or _LOOPBACK_HTTP.fullmatch(text)):
        raise ValueError(f"{what} must be an https:// URL (or http:// on loopback)")
    return text


def _country(value: object, what: str) -> str:
    text = _token(value, what)
    if not _COUNTRY.fullmatch(text):
        raise ValueError(f"{what} must be an ISO 3166-1 alpha-2 code")
    return text


def _loa(value: object) -> str:
    if value not in LEVELS_OF_ASSURANCE:
        raise ValueError(f"level of assurance must be one of {sorted(LEVELS_OF_ASSURANCE)}")
    return str(value)


# --- building blocks --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EdmAgent:
    """An ``sdg:Agent``: identifier with its scheme, one name, country, classification."""

    identifier: str
    scheme_id: str
    name: str
    _: KW_ONLY
    name_lang: str = "EN"
    country: str | None = None
    classification: str | None = None

    def __post_init__(self) -> None:
        _identifier(self.identifier, "agent identifier")
        scheme = _identifier(self.scheme_id, "agent scheme id")
        if not (
            scheme.startswith(EAS_SCHEME_PREFIX) or scheme.startswith(UNREGISTERED_SCHEME_PREFIX)
        ):
            raise ValueError(
                f"agent scheme id must start with {EAS_SCHEME_PREFIX!r} or "
                f"{UNREGISTERED_SCHEME_PREFIX!r}"
            )
        _line(self.name, "agent name")
        _lang(self.name_lang, "agent name language")
        if self.country is not None:
            _country(self.country, "agent country")
        if self.classification is not None and self.classification not in AGENT_CLASSIFICATIONS:
            raise ValueError(f"agent classification must be one of {sorted(AGENT_CLASSIFICATIONS)}")

    def classified(self, classification: str | None) -> EdmAgent:
        """The same agent with another classification."""
        return EdmAgent(
            self.identifier,
            self.scheme_id,
            self.name,
            name_lang=self.name_lang,
            country=self.country,
            classification=classification,
        )


@dataclass(frozen=True, slots=True)
class EdmRequirement:
    """An ``sdg:Requirement`` of the procedure (Semantic Repository identifier and name)."""

    identifier: str
    name: str
    name_lang: str = "EN"

    def __post_init__(self) -> None:
        _https(self.identifier, "requirement identifier")
        _line(self.name, "requirement name")
        _lang(self.name_lang, "requirement name language")


@dataclass(frozen=True, slots=True)
class EdmEvidenceType:
    """The requested ``sdg:DataServiceEvidenceType`` (as the Data Service Directory gave it)."""

    identifier: str
    classification: str
    title: str
    _: KW_ONLY
    title_lang: str = "EN"
    description: str | None = None
    format: str = "application/pdf"
    language: str | None = None

    def __post_init__(self) -> None:
        _identifier(self.identifier, "evidence type identifier")
        _uri(self.classification, "evidence type classification")
        _line(self.title, "evidence type title")
        _lang(self.title_lang, "evidence type title language")
        if self.description is not None:
            _line(self.description, "evidence type description")
        _token(self.format, "evidence type format")
        if self.language is not None:
            _lang(self.language, "evidence type language")


@dataclass(frozen=True, slots=True)
class EdmNaturalPerson:
    """An ``sdg:Person`` (the eIDAS minimum data set and its optional attributes)."""

    family_name: str
    given_name: str
    date_of_birth: date
    _: KW_ONLY
    level_of_assurance: str = LOA_HIGH
    identifier: str | None = None
    birth_name: str | None = None
    place_of_birth: str | None = None
    gender: str | None = None

    def __post_init__(self) -> None:
        _line(self.family_name, "family name")
        _line(self.given_name, "given name")
        _date(self.date_of_birth, "date of birth")
        _loa(self.level_of_assurance)
        if self.identifier is not None and not _EIDAS_ID.fullmatch(
            _identifier(self.identifier, "eIDAS identifier")
        ):
            raise ValueError("eIDAS identifier must look like 'FR/DE/…'")
        _optional_text(self.birth_name, "birth name", single_line=True)
        _optional_text(self.place_of_birth, "place of birth", single_line=True)
        if self.gender is not None and self.gender not in GENDERS:
            raise ValueError(f"gender must be one of {sorted(GENDERS)}")


@dataclass(frozen=True, slots=True)
class EdmLegalPerson:
    """An ``sdg:LegalPerson``: legal name and the eIDAS legal person identifier."""

    legal_name: str
    _: KW_ONLY
    level_of_assurance: str = LOA_HIGH
    identifier: str | None = None

    def __post_init__(self) -> None:
        _line(self.legal_name, "legal name")
        _loa(self.level_of_assurance)
        if self.identifier is not None and not _EIDAS_ID.fullmatch(
            _identifier(self.identifier, "legal person identifier")
        ):
            raise ValueError("legal person identifier must look like 'DE/FR/…'")


EdmSubject: TypeAlias = EdmNaturalPerson | EdmLegalPerson


def _check_subject(value: object) -> None:
    if not isinstance(value, EdmNaturalPerson | EdmLegalPerson):
        raise TypeError("subject must be an EdmNaturalPerson or an EdmLegalPerson")


def _check_agent(value: object, what: str, classification: str | None) -> None:
    if not isinstance(value, EdmAgent):
        raise TypeError(f"{what} must be an EdmAgent")
    if classification is not None and value.classification not in (None, classification):
        raise ValueError(f"{what} must be classified {classification!r}")


# --- messages ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueryRequest:
    """The evidence request: ``query:QueryRequest`` with the EDM slots.

    ``requester`` is the evidence requester (``ER``); ``platform`` an intermediary platform
    acting for it (``IP``), if any. ``preview_location`` is set in the second request after the
    user previewed the evidence at the provider's preview space.
    """

    request_id: UUID
    issue_datetime: datetime
    procedure: str
    possibility_for_preview: bool
    explicit_request_given: bool
    requester: EdmAgent
    provider: EdmAgent
    evidence_type: EdmEvidenceType
    subject: EdmSubject
    _: KW_ONLY
    requirements: tuple[EdmRequirement, ...] = ()
    platform: EdmAgent | None = None
    preview_location: str | None = None

    def __post_init__(self) -> None:
        _uuid(self.request_id, "request id")
        _set(self, "issue_datetime", instant(self.issue_datetime, "issue date-time"))
        _token(self.procedure, "procedure")
        for name in ("possibility_for_preview", "explicit_request_given"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool")
        _check_agent(self.requester, "requester", ER)
        _check_agent(self.provider, "provider", None)
        if self.platform is not None:
            _check_agent(self.platform, "platform", IP)
        if not isinstance(self.evidence_type, EdmEvidenceType):
            raise TypeError("evidence type must be an EdmEvidenceType")
        _check_subject(self.subject)
        _set(self, "requirements", tuple(self.requirements))
        for item in self.requirements:
            if not isinstance(item, EdmRequirement):
                raise TypeError("requirements must be EdmRequirement values")
        if self.preview_location is not None:
            _preview_url(self.preview_location, "preview location")

    @classmethod
    def new(
        cls,
        *,
        procedure: str,
        requester: EdmAgent,
        provider: EdmAgent,
        evidence_type: EdmEvidenceType,
        subject: EdmSubject,
        clock: Clock,
        possibility_for_preview: bool = False,
        explicit_request_given: bool = True,
        requirements: tuple[EdmRequirement, ...] = (),
        platform: EdmAgent | None = None,
        preview_location: str | None = None,
    ) -> QueryRequest:
        """A fresh request: a new id, ``IssueDateTime`` from ``clock``."""
        return cls(
            uuid4(),
            instant(clock.now()),
            procedure,
            possibility_for_preview,
            explicit_request_given,
            requester,
            provider,
            evidence_type,
            subject,
            requirements=requirements,
            platform=platform,
            preview_location=preview_location,
        )


@dataclass(frozen=True, slots=True)
class EdmEvidence:
    """One evidence of a response: its ``sdg:Evidence`` metadata and the document itself,
    which travels as a separate payload (``RepositoryItemRef xlink:href="cid:…"``)."""

    identifier: UUID
    subject: EdmSubject
    issuing_authority: EdmAgent
    classification: str
    title: str
    issuing_date: date
    document: bytes
    _: KW_ONLY
    title_lang: str = "EN"
    format: str = "application/pdf"
    language: str | None = None
    package_id: UUID
    object_id: UUID
    content_id: str

    def __post_init__(self) -> None:
        _uuid(self.identifier, "evidence identifier")
        _check_subject(self.subject)
        _check_agent(self.issuing_authority, "issuing authority", None)
        _uri(self.classification, "evidence type classification")
        _line(self.title, "evidence title")
        _lang(self.title_lang, "evidence title language")
        _date(self.issuing_date, "issuing date")
        if not isinstance(self.document, bytes):
            raise TypeError("document must be bytes")
        _token(self.format, "evidence format")
        if self.language is not None:
            _lang(self.language, "evidence language")
        _uuid(self.package_id, "registry package id")
        _uuid(self.object_id, "extrinsic object id")
        text = _token(self.content_id, "content id")
        if "<" in text or ">" in text:
            raise ValueError("content id must not contain angle brackets")

    @classmethod
    def new(
        cls,
        document: bytes,
        *,
        subject: EdmSubject,
        issuing_authority: EdmAgent,
        evidence_type: EdmEvidenceType,
        clock: Clock,
        language: str | None = None,
    ) -> EdmEvidence:
        """A fresh evidence issued today (UTC), with new identifiers and content id."""
        return cls(
            uuid4(),
            subject,
            issuing_authority.classified(None),
            evidence_type.classification,
            evidence_type.title,
            instant(clock.now()).date(),
            document,
            title_lang=evidence_type.title_lang,
            format=evidence_type.format,
            language=language,
            package_id=uuid4(),
            object_id=uuid4(),
            content_id=f"{uuid4()}@noots.eu",
        )


@dataclass(frozen=True, slots=True)
class QueryResponse:
    """The evidence response: the evidence (one or more), or ``ResponseAvailableDateTime``
    when the evidence is issued later (status ``Unavailable``)."""

    request_id: UUID
    response_id: UUID
    issue_datetime: datetime
    provider: EdmAgent
    requester: EdmAgent
    evidences: tuple[EdmEvidence, ...] = ()
    available_at: datetime | None = None

    def __post_init__(self) -> None:
        _uuid(self.request_id, "request id")
        _uuid(self.response_id, "response id")
        _set(self, "issue_datetime", instant(self.issue_datetime, "issue date-time"))
        _check_agent(self.provider, "provider", EP)
        _check_agent(self.requester, "requester", None)
        _set(self, "evidences", tuple(self.evidences))
        for item in self.evidences:
            if not isinstance(item, EdmEvidence):
                raise TypeError("evidences must be EdmEvidence values")
        if len({item.content_id for item in self.evidences}) != len(self.evidences):
            raise ValueError("every evidence needs its own content id")
        if self.available_at is not None:
            _set(self, "available_at", instant(self.available_at, "available at"))
        if bool(self.evidences) == (self.available_at is not None):
            raise ValueError("a response carries either evidence or available_at, exactly one")

    @property
    def status(self) -> str:
        return STATUS_UNAVAILABLE if self.available_at is not None else STATUS_SUCCESS


@dataclass(frozen=True, slots=True)
class EdmError:
    """The ``rs:Exception`` of an error response.

    The exception type follows from the code (``EXCEPTION_TYPES``); an error with a
    ``preview_location`` is the "preview required" case (``EDM:ERR:0002``, severity
    ``…:PreviewRequired``): the user must preview the evidence there, after which the requester
    repeats its request with ``PreviewLocation``.
    """

    code: ErrorCode
    message: str
    _: KW_ONLY
    detail: str | None = None
    timestamp: datetime | None = None
    preview_location: str | None = None
    preview_description: str | None = None
    preview_method: str | None = None
    exception_type: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        _set(self, "code", error_code(self.code))
        _line(self.message, "exception message")
        _optional_text(self.detail, "exception detail", single_line=True)
        if self.timestamp is not None:
            _set(self, "timestamp", instant(self.timestamp, "exception timestamp"))
        if self.preview_location is not None:
            _preview_url(self.preview_location, "preview location")
            if self.code is not EdmCode.AUTHORISATION:
                raise ValueError("a preview location goes with EDM:ERR:0002 only")
        elif self.preview_description is not None or self.preview_method is not None:
            raise ValueError("preview description and method need a preview location")
        _optional_text(self.preview_description, "preview description", single_line=True)
        if self.preview_method is not None and self.preview_method not in PREVIEW_METHODS:
            raise ValueError("preview method must be GET or POST")
        if self.exception_type is None:
            edm = self.code if isinstance(self.code, EdmCode) else EdmCode.QUERY_ERROR
            _set(self, "exception_type", EXCEPTION_TYPES[edm])
        elif self.exception_type not in EXCEPTION_TYPES.values():
            raise ValueError("exception type must be one of the EDM exception types")

    @property
    def severity(self) -> str:
        return SEVERITY_PREVIEW_REQUIRED if self.preview_location is not None else SEVERITY_ERROR

    @property
    def preview_required(self) -> bool:
        return self.preview_location is not None

    @classmethod
    def of(
        cls, code: EdmCode, detail: str | None = None, *, clock: Clock | None = None
    ) -> EdmError:
        """The error for ``code`` with the TDD's message text and, given a clock, now."""
        return cls(
            code,
            EXCEPTION_MESSAGES[code],
            detail=detail,
            timestamp=None if clock is None else instant(clock.now()),
        )


@dataclass(frozen=True, slots=True)
class QueryErrorResponse:
    """The error response: ``query:QueryResponse`` with status ``Failure`` and one
    ``rs:Exception``."""

    request_id: UUID
    response_id: UUID
    error_provider: EdmAgent
    requester: EdmAgent
    error: EdmError

    def __post_init__(self) -> None:
        _uuid(self.request_id, "request id")
        _uuid(self.response_id, "response id")
        _check_agent(self.error_provider, "error provider", ERRP)
        _check_agent(self.requester, "requester", None)
        if not isinstance(self.error, EdmError):
            raise TypeError("error must be an EdmError")

    @property
    def code(self) -> ErrorCode:
        return self.error.code


EdmMessage: TypeAlias = QueryRequest | QueryResponse | QueryErrorResponse
EdmAnswer: TypeAlias = QueryResponse | QueryErrorResponse


# --- answering --------------------------------------------------------------------------------


def answer_with_evidence(
    request: QueryRequest, *evidence: EdmEvidence, clock: Clock, provider: EdmAgent | None = None
) -> QueryResponse:
    """The success response to ``request`` (the provider named in it unless given)."""
    if not evidence:
        raise ValueError("answer_with_evidence needs at least one evidence")
    return QueryResponse(
        request.request_id,
        uuid4(),
        instant(clock.now()),
        (provider or request.provider).classified(EP),
        request.requester.classified(None),
        evidences=evidence,
    )


def answer_pending(
    request: QueryRequest,
    available_at: datetime,
    *,
    clock: Clock,
    provider: EdmAgent | None = None,
) -> QueryResponse:
    """The response announcing when the evidence will be available."""
    return QueryResponse(
        request.request_id,
        uuid4(),
        instant(clock.now()),
        (provider or request.provider).classified(EP),
        request.requester.classified(None),
        available_at=available_at,
    )


def answer_with_error(
    request: QueryRequest,
    error: EdmError,
    *,
    error_provider: EdmAgent | None = None,
) -> QueryErrorResponse:
    """The error response to ``request`` (the provider named in it reports unless given)."""
    return QueryErrorResponse(
        request.request_id,
        uuid4(),
        (error_provider or request.provider).classified(ERRP),
        request.requester.classified(None),
        error,
    )
