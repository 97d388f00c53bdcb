"""The shared data-provider pipeline: one evidence request from received bytes to an answer.

Every step is a function of its inputs (no network, no database, no sleeping) and either
returns the next typed value or raises a :class:`~noots.errors.NootsError`::

    0101 from the SAK ──accept_request──▶ VerifiedRequest  0101 and metadata agree (its
                                                           SAK checked signature, certificate,
                                                           freshness and replay)
              ──authorise──────▶ AuthorisedRequest        DP-04, DP-14
              ──subject_query──▶ SubjectQuery             DP-05
    (edge: source.candidates(query), the one read of register data)
              ──match_subject──▶ MatchedSubject           DP-06, DP-07
              ──decide─────────▶ Deliver | Pending        DP-13 (behaviour identities)
              ──answer_with_document / answer_pending ─▶ EvidenceResponse   DP-01, DP-08
    any NootsError ──refusal──▶ EvidenceErrorResponse     every refusal is a 0103

The edge (``noots.registers._service``) checks that the caller is its own SAK, reads the body, runs
these steps and logs the transfer (DP-12); its SAK signs the answer and binds it to the
request. Because an information block, an ambiguous match and an unknown person all raise the
same :class:`PersonNotFound` with the same text, the three are indistinguishable on the wire
(DP-07).
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal, TypeAlias

from lxml import etree

from noots import idnr as idnr_rules
from noots import messages
from noots.clock import Clock
from noots.errors import (
    AuthorisationError,
    EdmCode,
    InvalidInput,
    MalformedMessage,
    NootsError,
    NotFound,
    PersonNotFound,
    QueryError,
    RouteNotFound,
    SenderMismatch,
    UnsupportedEvidenceType,
)
from noots.exchange import sender
from noots.sak import ProviderMetadata
from noots.signing import XmlVerifier
from noots.tokens import AuthorisationToken, check_token_binding, verify_token
from noots.topology import SERVICE_ID_PREFIX, EvidenceTypeSpec
from noots.xml import parse as parse_xml

__all__ = [
    "NOT_FOUND_DETAIL",
    "AuthorisedRequest",
    "Deliver",
    "LegalCandidate",
    "LegalQuery",
    "MatchedSubject",
    "NationalOrEuRequest",
    "NaturalCandidate",
    "NaturalQuery",
    "Pending",
    "Register",
    "RegisterAnswer",
    "SubjectQuery",
    "VerifiedRequest",
    "accept_request",
    "answer_pending",
    "answer_with_document",
    "authorise",
    "decide",
    "error_detail",
    "http_status",
    "match_subject",
    "refusal",
    "subject_query",
]

#: What a register answers: the national 0101, and the 0301 the Intermediäre Plattform sends
#: for an EU evidence requester (answered alike, with 0302/0303).
NationalOrEuRequest: TypeAlias = messages.EvidenceRequest | messages.EuEvidenceRequest
#: Its answers.
RegisterAnswer: TypeAlias = (
    messages.EvidenceResponse
    | messages.EvidenceErrorResponse
    | messages.EuEvidenceResponse
    | messages.EuEvidenceErrorResponse
)

#: The one text every "not found" answer carries: unknown, ambiguous and blocked alike.
NOT_FOUND_DETAIL = "Zum angegebenen Nachweissubjekt liegt kein Nachweis vor."
_INTERNAL_DETAIL = "Der Nachweis kann derzeit nicht erstellt werden."


@dataclass(frozen=True)
class Register:
    """What the steps need to know about the register they run in."""

    participant_id: str
    name: str
    evidence_types: tuple[EvidenceTypeSpec, ...]
    allow_test_numbers: bool = True

    @property
    def agent(self) -> messages.Agent:
        return messages.Agent(self.participant_id, self.name)

    def evidence_type(self, classification: str) -> EvidenceTypeSpec:
        for spec in self.evidence_types:
            if spec.classification == classification:
                return spec
        raise UnsupportedEvidenceType("this register does not provide the requested evidence type")


# -- typed values between the steps ---------------------------------------------------------


@dataclass(frozen=True)
class VerifiedRequest:
    """A well-formed 0101 (or 0301 from the Intermediäre Plattform) for this register and who
    verifiably sent it.

    ``consumer``, ``purpose``, ``service_id``, ``message_id`` (the envelope's) and
    ``vs_token_required`` are what the register's SAK established from the verified envelope
    (the provider API's metadata); the register's own SAK is the only caller it accepts, so
    they are safe to echo.
    """

    request: NationalOrEuRequest
    #: The ``DE.EvidenceRequest.0101`` (0301) element as received (what the request hash covers).
    element: etree._Element
    consumer: str
    purpose: str | None
    service_id: str
    message_id: uuid.UUID
    vs_token_required: bool = True


@dataclass(frozen=True)
class AuthorisedRequest:
    """A verified request whose VS token is sealed, valid and bound to exactly this transfer,
    for an evidence type this register provides."""

    verified: VerifiedRequest
    #: None where the transfer needs no token (§ 7 Abs. 2, § 12 Abs. 2 IDNrG) and none came.
    token: AuthorisationToken | None
    evidence_type: EvidenceTypeSpec

    @property
    def request(self) -> NationalOrEuRequest:
        return self.verified.request


@dataclass(frozen=True)
class NaturalQuery:
    """How the request names a natural person: by IDNr (checked) or by basic data."""

    family_name: str
    given_name: str
    date_of_birth: date
    idnr: str | None = None
    birth_name: str | None = None
    place_of_birth: str | None = None
    postcode: str | None = None


@dataclass(frozen=True)
class LegalQuery:
    """How the request names a registered legal person: register kind and number, optionally
    the register court, and the name (which only narrows a number found at several courts)."""

    register: Literal["HRA", "HRB"]
    number: str
    legal_name: str
    court: str | None = None


SubjectQuery = NaturalQuery | LegalQuery


@dataclass(frozen=True)
class NaturalCandidate:
    """A person as the register holds them; ``record`` is the source's own data."""

    idnr: str | None
    family_name: str
    given_names: str
    date_of_birth: date
    birth_name: str | None = None
    place_of_birth: str | None = None
    postcode: str | None = None
    blocked: bool = False
    record: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class LegalCandidate:
    register: str
    number: str
    court: str
    legal_name: str
    blocked: bool = False
    record: object = field(default=None, compare=False, repr=False)


Candidate = NaturalCandidate | LegalCandidate


@dataclass(frozen=True)
class MatchedSubject:
    """Exactly one register entry matches the request and may be disclosed."""

    authorised: AuthorisedRequest
    candidate: Candidate

    @property
    def idnr(self) -> str | None:
        return self.candidate.idnr if isinstance(self.candidate, NaturalCandidate) else None


@dataclass(frozen=True)
class Deliver:
    """Answer now with the evidence."""


@dataclass(frozen=True)
class Pending:
    """Answer with ``ResponseAvailableDateTime``: the evidence can be fetched from then on."""

    available_at: datetime


# -- the steps --------------------------------------------------------------------------------


def _check_service(service_id: str, register: Register) -> None:
    if not service_id.startswith(f"{SERVICE_ID_PREFIX}{register.participant_id}:"):
        raise RouteNotFound("the service id does not name a service of this register")


def accept_request(
    raw: bytes, metadata: ProviderMetadata, *, register: Register
) -> VerifiedRequest:
    """A 0101 (or 0301) handed over by this register's SAK (provider API, push or passive).

    The SAK has verified the envelope (signature, certificates, replay, the sender acting for
    ``metadata.consumer``); here: hardened parse, a well-formed 0101 or 0301 (0003) sent by
    that consumer (0001: the 0101's requester, the 0301's author, the Intermediäre Plattform,
    whose requester is the EU authority) and whose provider is this register (0003), for a
    service of this register (0006).
    """
    element = parse_xml(raw)
    message = messages.parse(element, messages.ANY)
    if not isinstance(message, messages.EvidenceRequest | messages.EuEvidenceRequest):
        raise MalformedMessage("the body is not a DE.EvidenceRequest.0101 (or 0301)")
    if sender(message) != metadata.consumer:
        raise SenderMismatch("the request's sender is not the consumer its SAK names")
    if message.provider.identifier != register.participant_id:
        raise InvalidInput("the request names another data provider")
    _check_service(metadata.service_id, register)
    return VerifiedRequest(
        message,
        element,
        consumer=metadata.consumer,
        purpose=metadata.purpose,
        service_id=metadata.service_id,
        message_id=metadata.message_id,
        vs_token_required=metadata.vs_token_required,
    )


def authorise(
    verified: VerifiedRequest,
    *,
    verifier: XmlVerifier,
    clock: Clock,
    register: Register,
) -> AuthorisedRequest:
    """DP-04 then DP-14: the VS token's seal and expiry, its binding to partners, purpose,
    evidence type, IDNr use and request hash (0002); then the evidence type must be one this
    register provides (0007) and the one the service id names (0003).

    A transfer that needs no token (``vs_token_required`` False: § 7 Abs. 2 / § 12 Abs. 2
    IDNrG) may come without one; a token that comes is checked all the same. The token comes
    first, so a party without authorisation learns nothing about the register.
    """
    request = verified.request
    token: AuthorisationToken | None = None
    if request.issued_token or verified.vs_token_required:
        if not request.issued_token:
            raise AuthorisationError("this transfer needs a token of the Vermittlungsstelle")
        token = verify_token(request.issued_token, verifier, clock=clock)
        check_token_binding(
            token,
            request=request,
            request_element=verified.element,
            consumer=verified.consumer,
            purpose=verified.purpose,
            provider_id=register.participant_id,
        )
    spec = register.evidence_type(request.evidence_type.classification)
    service_type = verified.service_id.rpartition(":")[2]
    if service_type != spec.name:
        raise MalformedMessage("the service id names another evidence type than the request")
    return AuthorisedRequest(verified, token, spec)


def subject_query(authorised: AuthorisedRequest, *, register: Register) -> SubjectQuery:
    """DP-05: the subject as a query; an IDNr must pass every rule (0003), and the subject kind
    must fit the evidence type (a Handelsregisterauszug is about a legal person)."""
    subject = authorised.request.subject
    wanted = authorised.evidence_type.subject
    if isinstance(subject, messages.NaturalPerson):
        if wanted != "natural":
            raise InvalidInput("this evidence type is about a legal person")
        idnr = None
        if subject.idnr is not None:
            idnr = idnr_rules.validate(subject.idnr, allow_test_numbers=register.allow_test_numbers)
        address = subject.current_address
        return NaturalQuery(
            family_name=subject.family_name,
            given_name=subject.given_name,
            date_of_birth=subject.date_of_birth,
            idnr=idnr,
            birth_name=subject.birth_name,
            place_of_birth=subject.place_of_birth,
            postcode=address.post_code if address is not None else None,
        )
    if wanted != "legal":
        raise InvalidInput("this evidence type is about a natural person")
    return _legal_query(subject)


def _legal_query(subject: messages.LegalPerson) -> LegalQuery:
    """Reads ``LegalIdentifier(value, scheme)`` with scheme ``HRA`` or ``HRB`` and value
    ``"<number>"``, ``"<HRA|HRB> <number>"`` or ``"<court> <HRA|HRB> <number>"``."""
    for identifier in subject.identifiers:
        scheme = identifier.scheme.upper()
        if scheme not in ("HRA", "HRB"):
            continue
        words = " ".join(identifier.value.split())
        court: str | None = None
        number = words
        for kind in ("HRA", "HRB"):
            head, sep, tail = words.rpartition(f"{kind} ")
            if sep:
                if kind != scheme:
                    raise InvalidInput("the register identifier contradicts its scheme")
                court = head.strip() or None
                number = tail.strip()
                break
        if not number or not number[0].isdigit() or number[0] == "0":
            raise InvalidInput("the register number is not a Handelsregister number")
        return LegalQuery(
            register="HRA" if scheme == "HRA" else "HRB",
            number=number,
            legal_name=subject.legal_name,
            court=court,
        )
    raise InvalidInput("a legal person needs a Handelsregister identifier (scheme HRA or HRB)")


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def _natural_matches(query: NaturalQuery, candidate: NaturalCandidate) -> bool:
    if query.idnr is not None:
        # The IDNr is the key; the date of birth guards against a mistyped but valid number.
        return candidate.idnr == query.idnr and candidate.date_of_birth == query.date_of_birth
    if candidate.date_of_birth != query.date_of_birth:
        return False
    family_names = {_norm(candidate.family_name)}
    if candidate.birth_name:
        family_names.add(_norm(candidate.birth_name))
    if _norm(query.family_name) not in family_names:
        return False
    # "Erika" names the person whose given names are "Erika Maria"; every given word must fit.
    if not set(_norm(query.given_name).split()) <= set(_norm(candidate.given_names).split()):
        return False
    optional = (
        (query.birth_name, candidate.birth_name),
        (query.place_of_birth, candidate.place_of_birth),
        (query.postcode, candidate.postcode),
    )
    # Further data narrow the match only where both sides know them.
    return all(_norm(asked) == _norm(held) for asked, held in optional if asked and held)


def _legal_matches(query: LegalQuery, candidate: LegalCandidate) -> bool:
    if (candidate.register, _norm(candidate.number)) != (query.register, _norm(query.number)):
        return False
    return query.court is None or _norm(query.court) == _norm(candidate.court)


def match_subject(
    authorised: AuthorisedRequest, query: SubjectQuery, candidates: Sequence[Candidate]
) -> MatchedSubject:
    """DP-06, DP-07: exactly one entry must match, and it must not be blocked.

    Unknown, ambiguous and blocked all raise the same :class:`PersonNotFound` with
    :data:`NOT_FOUND_DETAIL`, so the answer cannot tell them apart.
    """
    found: list[Candidate] = []
    if isinstance(query, NaturalQuery):
        found = [
            c for c in candidates if isinstance(c, NaturalCandidate) and _natural_matches(query, c)
        ]
    else:
        found = [
            c for c in candidates if isinstance(c, LegalCandidate) and _legal_matches(query, c)
        ]
        if len(found) > 1:
            named = [
                c
                for c in found
                if isinstance(c, LegalCandidate) and _norm(c.legal_name) == _norm(query.legal_name)
            ]
            found = list(named)
    if len(found) != 1 or found[0].blocked:
        raise PersonNotFound(NOT_FOUND_DETAIL)
    return MatchedSubject(authorised, found[0])


def decide(
    matched: MatchedSubject,
    *,
    now: datetime,
    announced: datetime | None,
    delay: timedelta | None,
) -> Deliver | Pending:
    """DP-13: deliver now, or announce when the evidence will be available.

    ``delay`` is how long this subject's evidence takes (an asynchronous identity), ``announced``
    the time already promised for this request (a collection attempt), if any.
    """
    if announced is not None:
        return Deliver() if now >= announced else Pending(announced)
    if delay is None or delay <= timedelta(0):
        return Deliver()
    return Pending(now + delay)


def answer_with_document(
    matched: MatchedSubject, document: bytes, *, register: Register, clock: Clock
) -> messages.EvidenceResponse | messages.EuEvidenceResponse:
    """DP-01, DP-08: the 0102 (0302) with the (already schema-validated) evidence document."""
    authorised = matched.authorised
    spec = authorised.evidence_type
    evidence = messages.Evidence.new(
        document,
        issuing_authority=register.agent,
        evidence_type=messages.EvidenceTypeRef(spec.classification, spec.title),
        subject=authorised.request.subject,
        clock=clock,
    )
    return messages.answer_with_evidence(authorised.request, evidence, clock=clock)


def answer_pending(
    matched: MatchedSubject, pending: Pending, *, clock: Clock
) -> messages.EvidenceResponse | messages.EuEvidenceResponse:
    """DP-13: the 0102 (0302) that announces ``ResponseAvailableDateTime``."""
    return messages.answer_pending(matched.authorised.request, pending.available_at, clock=clock)


# -- refusals ---------------------------------------------------------------------------------

# Stand-ins for an answer to bytes that are no readable 0101: nothing of them is echoed, so the
# answer reveals nothing about them and cannot be steered by them.
UNKNOWN_REQUEST_ID = uuid.UUID(int=0)
UNKNOWN_PARTY = "unknown"


def error_detail(error: NootsError) -> str:
    """The ``Detail`` text of a refusal: fixed for "not found" (DP-07) and for internal errors
    (which may carry anything), the error's own safe message otherwise."""
    if isinstance(error, NotFound):
        return NOT_FOUND_DETAIL
    if type(error) in (NootsError, QueryError) or error.code is EdmCode.QUERY_ERROR:
        return _INTERNAL_DETAIL
    return error.message


def http_status(message: RegisterAnswer) -> int:
    if isinstance(message, messages.EvidenceErrorResponse | messages.EuEvidenceErrorResponse):
        return message.code.http_status
    return 200


def refusal(
    error: NootsError,
    *,
    verified: VerifiedRequest | None,
    register: Register,
    clock: Clock,
    request: NationalOrEuRequest | None = None,
) -> messages.EvidenceErrorResponse | messages.EuEvidenceErrorResponse:
    """The 0103 for ``error``: echoes the request when it was accepted (or at least read:
    ``request``), never personal data (the detail is
    :func:`error_detail`)."""
    detail = error_detail(error)
    answered = verified.request if verified is not None else request
    if answered is not None:
        return messages.answer_with_error(
            answered, error.code, detail, clock=clock, error_provider=register.agent
        )
    unknown = messages.Agent(UNKNOWN_PARTY, "unbekannt")
    instant = clock.now()
    return messages.EvidenceErrorResponse(
        UNKNOWN_REQUEST_ID,
        uuid.uuid4(),
        uuid.uuid4(),
        instant,
        instant,
        register.agent,
        unknown,
        (messages.ErrorDetail(error.code, detail, instant),),
        messages.Authority.of(unknown),
        messages.Authority.of(register.agent),
    )
