"""The data model of the national XNachweis 1.2.0 messages: constants and frozen dataclasses.

Private module of :mod:`noots.messages` (which re-exports the public names). The dataclasses
check their invariants on construction, so a message that can be built is one the official
schema accepts: the builder never needs to second-guess its input.
"""

from __future__ import annotations

import re
from dataclasses import KW_ONLY, dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, NamedTuple, TypeAlias
from uuid import UUID, uuid4

from noots import __version__
from noots.clock import Clock
from noots.errors import EdmCode

# --- namespaces -------------------------------------------------------------------------------

NS_DE = "urn:xoev-de:bva:standard:xnachweis:schema:xnachweis-de-noots"
NS_BK = "urn:xoev-de:bva:standard:xnachweis:schema:xnachweis-baukasten"
NS_BDT = "urn:xoev-de:bva:standard:xnachweis:schema:xnachweis-basisdatentypen"
NS_EDM = "urn:xoev-de:bva:standard:xnachweis:schema:xnachweis-eu-edm"
NS_G2G = "http://xoev.de/schemata/basisnachricht/g2g/1_1"
NS_BEH = "http://xoev.de/schemata/basisnachricht/behoerde/1_1"

# Prefixes as in the official examples; never a default namespace, because the ``code``
# element inside every code type has no namespace at all.
NSMAP: dict[str, str] = {
    "xn-de": NS_DE,
    "xn-bk": NS_BK,
    "xn-bdt": NS_BDT,
    "xn-eu-edm": NS_EDM,
    "bn-g2g": NS_G2G,
    "bn-beh": NS_BEH,
}

# --- fixed values -----------------------------------------------------------------------------

MESSAGE_TYPE_REQUEST = "DE.EvidenceRequest.0101"
MESSAGE_TYPE_RESPONSE = "DE.EvidenceResponse.0102"
MESSAGE_TYPE_ERROR_RESPONSE = "DE.EvidenceErrorResponse.0103"

STANDARD = "XNachweis"
STANDARD_VERSION = "1.2.0"
SPECIFICATION_IDENTIFIER = "urn:xoev-de:bva:standard:xnachweis_1.2.0"
# "ebxmlregrep" without the hyphen the status codes have: that is the schema's fixed value.
SEVERITY_ERROR = "urn:oasis:names:tc:ebxmlregrep:ErrorSeverityType:Error"
STATUS_SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
STATUS_FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
# ebRS 4.0: the actual response is not yet available (asynchronous issuance).
STATUS_UNAVAILABLE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Unavailable"
QUERY_DEFINITION = "DocumentQuery"

EAS_SCHEME_PREFIX = "urn:cef.eu:names:identifier:EAS:"
EAS_0204 = EAS_SCHEME_PREFIX + "0204"
EIDAS_SCHEME = "eidas"
EVIDENCE_TYPE_CLASSIFICATION_PREFIX = (
    "https://sr.oots.tech.ec.europa.eu/evidencetypeclassifications/ec/"
)

LOA_LOW = "http://eidas.europa.eu/LoA/low"
LOA_SUBSTANTIAL = "http://eidas.europa.eu/LoA/substantial"
LOA_HIGH = "http://eidas.europa.eu/LoA/high"
LEVELS_OF_ASSURANCE = frozenset({LOA_LOW, LOA_SUBSTANTIAL, LOA_HIGH})

# Agent classifications (code list agentclassification).
CLASSIFICATION_REQUESTER = "ER"
CLASSIFICATION_PROVIDER = "EP"
CLASSIFICATION_ERROR_PROVIDER = "ERRP"

# The leser/autor directory service and the prefix noots puts before a participant id.
DIRECTORY_SERVICE = "DVDV"
AUTHORITY_ID_PREFIX = "noots:"


class CodeList(NamedTuple):
    """A code list as written on a code element: ``listURI`` and ``listVersionID``."""

    uri: str
    version: str


# Only the message type's version is fixed by the schema; the other versions are illustrative
# (the XSD only requires a listVersionID) until the lists are published in XRepository.
LIST_MESSAGE_TYPES = CodeList("urn:xoev-de:xnachweis:codeliste:messagetypes", "1.2.0")
LIST_LANGUAGES = CodeList("urn:xoev-de:xnachweis:codeliste:sprachen-iso-639-1", "1.0")
LIST_AGENT_CLASSIFICATIONS = CodeList("urn:xoev-de:xnachweis:codeliste:agentclassification", "1.0")
LIST_MEDIA_TYPES = CodeList("urn:xoev-de:xnachweis:codeliste:ootsmediatypes", "1.0")
LIST_LEVELS_OF_ASSURANCE = CodeList("urn:xoev-de:xnachweis:codeliste:loa", "1.0")
LIST_ERROR_CODES = CodeList("urn:xoev-de:xnachweis:codeliste:nootserrorcodes", "1.0")
LIST_RESPONSE_STATUS = CodeList("urn:oasis:names:tc:ebxml-regrep:ResponseStatusType", "4.0")
LIST_IDENTIFIER_SCHEMES = CodeList("urn:xoev-de:xnachweis:codeliste:identifierschemes", "1.0")
LIST_COUNTRY_CODES = CodeList("urn:xoev-de:kosit:codeliste:country-codes", "1.0")
LIST_NUTS = CodeList("urn:xoev-de:xnachweis:codeliste:nuts", "1.0")
DIRECTORY_SERVICE_LIST_VERSION = "3"

DEFAULT_LANGUAGE = "de"
DEFAULT_MEDIA_TYPE = "application/xml"

# --- invariants -------------------------------------------------------------------------------

# Characters XML 1.0 cannot carry (lxml would refuse them, or a parser would change them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TOKEN = re.compile(r"\S+")
_CODE_TOKEN = re.compile(r"[^ \t\n\r]+(?: [^ \t\n\r]+)*")
_IDNR = re.compile(r"[0-9]{11}")
_EIDAS_ID = re.compile(r".{2}/.{2}/.*")


def _text(value: object, what: str, *, single_line: bool = False, required: bool = False) -> str:
    """An ``xs:string`` (or, with ``single_line``, an ``xs:normalizedString``) value."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if _NOT_XML.search(value):
        raise ValueError(f"{what} contains a character XML cannot carry")
    if single_line and ("\n" in value or "\t" in value or "\r" in value):
        # normalizedString: a validator would silently turn these into spaces.
        raise ValueError(f"{what} must be on one line (no tab, CR or LF)")
    if required and not value.strip():
        raise ValueError(f"{what} must not be empty")
    return value


def _token(value: object, what: str) -> str:
    """A code value: one ``xs:token`` without inner spaces (all codes here are such)."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if not _TOKEN.fullmatch(value) or _NOT_XML.search(value):
        raise ValueError(f"{what} must be a non-empty code without whitespace")
    return value


def _identifier(value: object, what: str) -> str:
    """An identifier: on one line, not empty, no surrounding whitespace."""
    text = _text(value, what, single_line=True, required=True)
    if text != text.strip():
        raise ValueError(f"{what} must not start or end with whitespace")
    return text


def _optional_text(value: object, what: str, *, single_line: bool = False) -> str | None:
    return None if value is None else _text(value, what, single_line=single_line)


def _uuid(value: object, what: str) -> UUID:
    if not isinstance(value, UUID):
        raise TypeError(f"{what} must be a uuid.UUID, not {type(value).__name__}")
    return value


def _date(value: object, what: str) -> date:
    # datetime is a subclass of date; a datetime here would serialise as an invalid xs:date.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime.date, not {type(value).__name__}")
    return value


def instant(value: object, what: str = "instant") -> datetime:
    """``value`` in UTC at millisecond precision (what the wire carries); naive is refused."""
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} has no time zone: every time on the wire is UTC with its zone")
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond - value.microsecond % 1000)


def _set(obj: object, name: str, value: object) -> None:
    # The dataclasses are frozen; normalising in __post_init__ is the one permitted write.
    object.__setattr__(obj, name, value)


# --- building blocks --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address (XNachweis ``AddressType``); every part is optional."""

    full_address: str | None = None
    thoroughfare: str | None = None
    locator_designator: str | None = None
    country_code: str | None = None
    nuts_code: str | None = None
    post_code: str | None = None
    post_city_name: str | None = None

    def __post_init__(self) -> None:
        for name in (
            "full_address",
            "thoroughfare",
            "locator_designator",
            "post_code",
            "post_city_name",
        ):
            _optional_text(getattr(self, name), f"address {name}")
        for name in ("country_code", "nuts_code"):
            value = getattr(self, name)
            if value is not None:
                _token(value, f"address {name}")


@dataclass(frozen=True, slots=True)
class Agent:
    """A participating authority (``AgentType_NOOTS``): an EAS identifier and a German name.

    ``identifier`` is the participant id (EAS scheme 0204, Leitweg-ID style); its
    classification (requester, provider, error provider) follows from where it stands.
    """

    identifier: str
    name: str
    _: KW_ONLY
    scheme_id: str = EAS_0204
    address: Address | None = None

    def __post_init__(self) -> None:
        _identifier(self.identifier, "agent identifier")
        _text(self.name, "agent name", single_line=True, required=True)
        _identifier(self.scheme_id, "agent scheme id")
        if not self.scheme_id.startswith(EAS_SCHEME_PREFIX):
            raise ValueError(f"agent scheme id must start with {EAS_SCHEME_PREFIX!r}")
        if self.address is not None and not isinstance(self.address, Address):
            raise TypeError("agent address must be an Address")


@dataclass(frozen=True, slots=True)
class Authority:
    """An authority in the XÖV message head (``leser``: the reader, ``autor``: the author).

    On the wire: directory service ``DVDV``, ``kennung`` = ``noots:<participant id>``, name.
    """

    participant_id: str
    name: str

    def __post_init__(self) -> None:
        _identifier(self.participant_id, "authority participant id")
        _text(self.name, "authority name", single_line=True, required=True)

    @classmethod
    def of(cls, agent: Agent) -> Authority:
        """The head entry for ``agent``."""
        return cls(agent.identifier, agent.name)


@dataclass(frozen=True, slots=True)
class Product:
    """The software that wrote a message (root attributes ``produkt``…)."""

    name: str = "noots-simulator"
    manufacturer: str = "noots project"
    version: str | None = __version__

    def __post_init__(self) -> None:
        _text(self.name, "product name", required=True)
        _text(self.manufacturer, "product manufacturer", required=True)
        _optional_text(self.version, "product version")


DEFAULT_PRODUCT = Product()


@dataclass(frozen=True, slots=True)
class EvidenceTypeRef:
    """An evidence type as an evidence names it (``IsConformantTo``): classification and title.

    The wire carries neither the type's identifier nor its format here, hence a type of its own.
    """

    classification: str
    title: str

    def __post_init__(self) -> None:
        _identifier(self.classification, "evidence type classification")
        if not self.classification.startswith(EVIDENCE_TYPE_CLASSIFICATION_PREFIX):
            raise ValueError(
                f"evidence type classification must start with "
                f"{EVIDENCE_TYPE_CLASSIFICATION_PREFIX!r}"
            )
        if _TOKEN.fullmatch(self.classification) is None:
            raise ValueError("evidence type classification must not contain whitespace")
        _text(self.title, "evidence type title", single_line=True, required=True)


@dataclass(frozen=True, slots=True)
class EvidenceType:
    """The requested evidence type (``RequestedEvidenceType``); values come from the topology."""

    classification: str
    title: str
    identifier: UUID
    format: str = DEFAULT_MEDIA_TYPE

    def __post_init__(self) -> None:
        EvidenceTypeRef(self.classification, self.title)
        _uuid(self.identifier, "evidence type identifier")
        _token(self.format, "evidence type format")

    @property
    def ref(self) -> EvidenceTypeRef:
        """How an evidence of this type names it (``IsConformantTo``)."""
        return EvidenceTypeRef(self.classification, self.title)


@dataclass(frozen=True, slots=True)
class NaturalPerson:
    """The evidence subject as a natural person (``PersonType``).

    The schema requires the basic data even when the IDNr is given; the optional parts help a
    register match the person (birth name, place of birth, address).
    """

    family_name: str
    given_name: str
    date_of_birth: date
    idnr: str | None = None
    _: KW_ONLY
    level_of_assurance: str = LOA_HIGH
    birth_name: str | None = None
    place_of_birth: str | None = None
    current_address: Address | None = None
    gender: str | None = None

    def __post_init__(self) -> None:
        _text(self.family_name, "family name")
        _text(self.given_name, "given name")
        _date(self.date_of_birth, "date of birth")
        if self.idnr is not None and (
            not isinstance(self.idnr, str) or not _IDNR.fullmatch(self.idnr)
        ):
            raise ValueError("IDNr must be 11 digits")
        _check_loa(self.level_of_assurance)
        _optional_text(self.birth_name, "birth name")
        _optional_text(self.place_of_birth, "place of birth")
        _optional_text(self.gender, "gender")
        if self.current_address is not None and not isinstance(self.current_address, Address):
            raise TypeError("current address must be an Address")


@dataclass(frozen=True, slots=True)
class LegalIdentifier:
    """A register identifier of a legal person (``Identifier``: value and scheme code).

    For the Handelsregister, for example, the register court and number as value.
    """

    value: str
    scheme: str

    def __post_init__(self) -> None:
        _text(self.value, "legal identifier value", single_line=True, required=True)
        _token(self.scheme, "legal identifier scheme")


@dataclass(frozen=True, slots=True)
class LegalPerson:
    """The evidence subject as a legal person (``LegalPersonType``)."""

    legal_name: str
    _: KW_ONLY
    identifiers: tuple[LegalIdentifier, ...] = ()
    legal_person_identifier: str | None = None
    registered_address: Address | None = None
    level_of_assurance: str = LOA_HIGH

    def __post_init__(self) -> None:
        _text(self.legal_name, "legal name", required=True)
        _set(self, "identifiers", tuple(self.identifiers))
        for item in self.identifiers:
            if not isinstance(item, LegalIdentifier):
                raise TypeError("identifiers must be LegalIdentifier values")
        if self.legal_person_identifier is not None:
            value = _identifier(self.legal_person_identifier, "legal person identifier")
            if not _EIDAS_ID.fullmatch(value):
                raise ValueError("legal person identifier must look like 'DE/DE/…' (eIDAS)")
        if self.registered_address is not None and not isinstance(self.registered_address, Address):
            raise TypeError("registered address must be an Address")
        _check_loa(self.level_of_assurance)


Subject: TypeAlias = NaturalPerson | LegalPerson


def _check_loa(value: object) -> None:
    if value not in LEVELS_OF_ASSURANCE:
        raise ValueError("unknown level of assurance")


def _check_subject(value: object) -> None:
    if not isinstance(value, NaturalPerson | LegalPerson):
        raise TypeError("subject must be a NaturalPerson or a LegalPerson")


def _check_agent(value: object, what: str) -> None:
    if not isinstance(value, Agent):
        raise TypeError(f"{what} must be an Agent")


def _check_authority(value: object, what: str) -> None:
    if not isinstance(value, Authority):
        raise TypeError(f"{what} must be an Authority")


@dataclass(frozen=True, slots=True)
class Evidence:
    """One evidence (one ``RegistryObjectList``): its metadata, the document and its subject."""

    registry_object_id: UUID
    issuing_date: date
    issuing_authority: Agent
    conformance: EvidenceTypeRef
    document: bytes
    subject: Subject
    _: KW_ONLY
    media_type: str = DEFAULT_MEDIA_TYPE
    language: str | None = DEFAULT_LANGUAGE
    validity_period: tuple[date, date] | None = None

    def __post_init__(self) -> None:
        _uuid(self.registry_object_id, "registry object id")
        _date(self.issuing_date, "issuing date")
        _check_agent(self.issuing_authority, "issuing authority")
        if self.issuing_authority.address is not None:
            raise ValueError("the issuing authority has no address on the wire")
        if not isinstance(self.conformance, EvidenceTypeRef):
            raise TypeError("conformance must be an EvidenceTypeRef (EvidenceType.ref)")
        if not isinstance(self.document, bytes):
            raise TypeError("document must be bytes")
        _check_subject(self.subject)
        _token(self.media_type, "media type")
        if self.language is not None:
            _token(self.language, "language")
        if self.validity_period is not None:
            start, end = self.validity_period
            _date(start, "validity start")
            _date(end, "validity end")
            if end < start:
                raise ValueError("validity period ends before it starts")

    @classmethod
    def new(
        cls,
        document: bytes,
        *,
        issuing_authority: Agent,
        evidence_type: EvidenceType | EvidenceTypeRef,
        subject: Subject,
        clock: Clock,
        media_type: str | None = None,
        language: str | None = DEFAULT_LANGUAGE,
        validity_period: tuple[date, date] | None = None,
    ) -> Evidence:
        """A fresh evidence issued today (UTC) with a new registry object id."""
        if isinstance(evidence_type, EvidenceType):
            ref = evidence_type.ref
            media_type = media_type or evidence_type.format
        else:
            ref = evidence_type
        return cls(
            uuid4(),
            instant(clock.now()).date(),
            issuing_authority,
            ref,
            document,
            subject,
            media_type=media_type or DEFAULT_MEDIA_TYPE,
            language=language,
            validity_period=validity_period,
        )


class UnlistedErrorCode(str):
    """An error code outside ``EDM:ERR:0001``…``0008``, kept exactly as it was sent.

    The BVA code list ``…:codeliste:nootserrorcodes`` is not published, so a partner may send
    codes noots does not know: they are accepted, kept and reported (``value``, ``title``,
    ``http_status`` as on :class:`~noots.errors.EdmCode`), never refused as malformed.
    """

    __slots__ = ()

    @property
    def value(self) -> str:
        return str(self)

    @property
    def title(self) -> str:  # type: ignore[override]
        return "error code outside the EDM list"

    @property
    def http_status(self) -> int:
        # Nothing is known about it: the generic query error's status.
        return EdmCode.QUERY_ERROR.http_status

    def __repr__(self) -> str:
        return f"UnlistedErrorCode({str(self)!r})"


ErrorCode: TypeAlias = EdmCode | UnlistedErrorCode


def error_code(value: object) -> ErrorCode:
    """``value`` as an :class:`EdmCode` when it is one, else as an :class:`UnlistedErrorCode`
    (any non-empty ``xs:token``: no white space at either end, single inner spaces)."""
    if isinstance(value, EdmCode | UnlistedErrorCode):
        return value
    if not isinstance(value, str):
        raise TypeError(f"error code must be a str, not {type(value).__name__}")
    # An xs:token as a validator reads it: no white space at either end, single inner spaces.
    text = value
    if not _CODE_TOKEN.fullmatch(text) or _NOT_XML.search(text):
        raise ValueError(f"error code must be a non-empty xs:token: {text!r}")
    try:
        return EdmCode(text)
    except ValueError:
        return UnlistedErrorCode(text)


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """One ``Exception`` of an error response: error code, optional detail text and time.

    ``code`` is an :class:`EdmCode`, or an :class:`UnlistedErrorCode` for a code outside the
    EDM list (a plain string is converted to whichever fits); :attr:`edm` is the EDM code or
    ``None``.
    """

    code: ErrorCode
    detail: str | None = None
    timestamp: datetime | None = None

    def __post_init__(self) -> None:
        _set(self, "code", error_code(self.code))
        _optional_text(self.detail, "error detail")
        if self.timestamp is not None:
            _set(self, "timestamp", instant(self.timestamp, "error timestamp"))

    @property
    def edm(self) -> EdmCode | None:
        """The EDM code, or ``None`` when the code is outside the EDM list."""
        return self.code if isinstance(self.code, EdmCode) else None


def _check_head(message: Any) -> None:
    """The parts every message has: message UUID, times, XÖV head, flags."""
    _uuid(message.message_uuid, "message UUID")
    _set(message, "created", instant(message.created, "created"))
    _set(message, "issue_datetime", instant(message.issue_datetime, "issue date-time"))
    _check_authority(message.reader, "reader")
    _check_authority(message.author, "author")
    if not isinstance(message.test, bool):
        raise TypeError("test must be a bool")
    if not isinstance(message.product, Product):
        raise TypeError("product must be a Product")


# --- messages ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvidenceRequest:
    """``DE.EvidenceRequest.0101``: a data consumer asks a data provider for one evidence.

    ``reader``/``author`` fill the XÖV head (``leser`` = the provider, ``autor`` = the requester
    when made by :meth:`new`). ``issued_token`` is the Vermittlungsstelle token (base64), empty
    until the token is fetched (see :meth:`with_token`).
    """

    request_id: UUID
    message_uuid: UUID
    created: datetime
    issue_datetime: datetime
    requester: Agent
    provider: Agent
    issued_token: str
    evidence_type: EvidenceType
    subject: Subject
    reader: Authority
    author: Authority
    _: KW_ONLY
    language: str = DEFAULT_LANGUAGE
    test: bool = False
    product: Product = DEFAULT_PRODUCT

    def __post_init__(self) -> None:
        _uuid(self.request_id, "request id")
        _check_head(self)
        _check_agent(self.requester, "requester")
        _check_agent(self.provider, "provider")
        _text(self.issued_token, "issued token")
        if not isinstance(self.evidence_type, EvidenceType):
            raise TypeError("evidence type must be an EvidenceType")
        _check_subject(self.subject)
        _token(self.language, "language")

    @classmethod
    def new(
        cls,
        *,
        requester: Agent,
        provider: Agent,
        evidence_type: EvidenceType,
        subject: Subject,
        clock: Clock,
        issued_token: str = "",
        language: str = DEFAULT_LANGUAGE,
        test: bool = False,
        reader: Authority | None = None,
        author: Authority | None = None,
        product: Product = DEFAULT_PRODUCT,
        request_id: UUID | None = None,
    ) -> EvidenceRequest:
        """A fresh request: new request id (or ``request_id``, chosen before the request
        could be built) and message UUID, times from ``clock``."""
        now = instant(clock.now())
        return cls(
            request_id or uuid4(),
            uuid4(),
            now,
            now,
            requester,
            provider,
            issued_token,
            evidence_type,
            subject,
            reader or Authority.of(provider),
            author or Authority.of(requester),
            language=language,
            test=test,
            product=product,
        )

    def with_token(self, issued_token: str) -> EvidenceRequest:
        """The same request carrying the Vermittlungsstelle token (identifiers unchanged)."""
        return replace(self, issued_token=issued_token)


@dataclass(frozen=True, slots=True)
class EvidenceResponse:
    """``DE.EvidenceResponse.0102``: the evidence, or when it will be available.

    Exactly one of ``evidences`` (one or more, one ``RegistryObjectList`` each) and
    ``available_at`` (``ResponseAvailableDateTime``, asynchronous issuance) is set.
    """

    request_id: UUID
    message_uuid: UUID
    response_id: UUID
    created: datetime
    issue_datetime: datetime
    provider: Agent
    requester: Agent
    reader: Authority
    author: Authority
    evidences: tuple[Evidence, ...] = ()
    available_at: datetime | None = None
    _: KW_ONLY
    test: bool = False
    product: Product = DEFAULT_PRODUCT

    def __post_init__(self) -> None:
        _uuid(self.request_id, "request id")
        _uuid(self.response_id, "response id")
        _check_head(self)
        _check_agent(self.provider, "provider")
        _check_agent(self.requester, "requester")
        _set(self, "evidences", tuple(self.evidences))
        for item in self.evidences:
            if not isinstance(item, Evidence):
                raise TypeError("evidences must be Evidence values")
        if self.available_at is not None:
            _set(self, "available_at", instant(self.available_at, "available at"))
        if bool(self.evidences) == (self.available_at is not None):
            raise ValueError("a response carries either evidence or available_at, exactly one")

    @property
    def evidence(self) -> Evidence | None:
        """The first (usually the only) evidence; ``None`` for an asynchronous answer."""
        return self.evidences[0] if self.evidences else None

    @property
    def pending(self) -> bool:
        """True when the evidence is announced for later (``ResponseAvailableDateTime``)."""
        return self.available_at is not None


@dataclass(frozen=True, slots=True)
class EvidenceErrorResponse:
    """``DE.EvidenceErrorResponse.0103``: the evidence cannot be provided, and why."""

    request_id: UUID
    message_uuid: UUID
    response_id: UUID
    created: datetime
    issue_datetime: datetime
    error_provider: Agent
    requester: Agent
    errors: tuple[ErrorDetail, ...]
    reader: Authority
    author: Authority
    _: KW_ONLY
    test: bool = False
    product: Product = DEFAULT_PRODUCT

    def __post_init__(self) -> None:
        _uuid(self.request_id, "request id")
        _uuid(self.response_id, "response id")
        _check_head(self)
        _check_agent(self.error_provider, "error provider")
        _check_agent(self.requester, "requester")
        _set(self, "errors", tuple(self.errors))
        if not self.errors:
            raise ValueError("an error response needs at least one error")
        for item in self.errors:
            if not isinstance(item, ErrorDetail):
                raise TypeError("errors must be ErrorDetail values")

    @property
    def code(self) -> ErrorCode:
        """The code of the first error (an :class:`UnlistedErrorCode` outside the EDM list)."""
        return self.errors[0].code


Message: TypeAlias = EvidenceRequest | EvidenceResponse | EvidenceErrorResponse


# --- answering a request ----------------------------------------------------------------------


def answer_with_evidence(
    request: EvidenceRequest, *evidence: Evidence, clock: Clock
) -> EvidenceResponse:
    """The success answer to ``request``: echoes its id and parties, fresh UUIDs, now."""
    if not evidence:
        raise ValueError("answer_with_evidence needs at least one evidence")
    return _response_to(request, clock=clock, evidences=evidence)


def answer_pending(
    request: EvidenceRequest, available_at: datetime, *, clock: Clock
) -> EvidenceResponse:
    """The asynchronous answer: the evidence can be fetched from ``available_at`` on."""
    return _response_to(request, clock=clock, available_at=available_at)


def _response_to(
    request: EvidenceRequest,
    *,
    clock: Clock,
    evidences: tuple[Evidence, ...] = (),
    available_at: datetime | None = None,
) -> EvidenceResponse:
    """A 0102 answering ``request``: its id and parties (the reader is the request's author),
    fresh UUIDs, now."""
    now = instant(clock.now())
    return EvidenceResponse(
        request.request_id,
        uuid4(),
        uuid4(),
        now,
        now,
        request.provider,
        request.requester,
        request.author,
        request.reader,
        evidences=evidences,
        available_at=available_at,
        test=request.test,
    )


def answer_with_error(
    request: EvidenceRequest,
    code: EdmCode,
    detail: str | None,
    *,
    clock: Clock,
    error_provider: Agent | None = None,
) -> EvidenceErrorResponse:
    """The error answer to ``request``; ``error_provider`` defaults to the request's provider
    (a SAK passes itself when it answers on a provider's behalf)."""
    now = instant(clock.now())
    provider = error_provider or request.provider
    return EvidenceErrorResponse(
        request.request_id,
        uuid4(),
        uuid4(),
        now,
        now,
        provider,
        request.requester,
        (ErrorDetail(code, detail, now),),
        request.author,
        Authority.of(provider) if error_provider is not None else request.reader,
        test=request.test,
    )
