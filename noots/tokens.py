"""The Vermittlungsstelle's sealed token, and the request hash it binds.

Wire format: docs/PROTOCOL.md, sections "Request hash" and "Vermittlungsstelle token"; schema
``xsd/noots-vs-token-1.xsd``. A data consumer sends a :class:`TokenRequest` (in a signed
envelope) to the VS; the VS answers with an :class:`AuthorisationToken` sealed by itself
(:func:`issue_token`), which the consumer puts verbatim into the ``IssuedToken`` of its
``DE.EvidenceRequest.0101``. The data provider checks the seal and expiry
(:func:`verify_token`) and that the token is for exactly this transfer
(:func:`check_token_binding`).
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lxml import etree

from noots import _xsd
from noots._sealed import open_sealed, text_of
from noots.clock import Clock, format_utc, parse_utc
from noots.envelope import PARTICIPANT_ID, SHA256_HEX
from noots.errors import (
    MalformedMessage,
    TokenExpired,
    TokenMismatch,
    TokenSealInvalid,
    UpstreamError,
)
from noots.messages import NS_DE, EuEvidenceRequest, EvidenceRequest, NaturalPerson
from noots.pki import Role
from noots.signing import XmlSigner, XmlVerifier
from noots.xml import serialize

__all__ = [
    "VST_NS",
    "AuthorisationToken",
    "TokenGrant",
    "TokenPolicy",
    "TokenRequest",
    "build_issued_token_body",
    "build_token",
    "build_token_request",
    "check_token_binding",
    "issue_token",
    "parse_issued_token_body",
    "parse_token_request",
    "read_token_grant",
    "request_hash",
    "uses_idnr",
    "verify_token",
]

VST_NS = "urn:noots:vs-token:1"
SCHEMA = "noots-vs-token-1.xsd"
VERSION = "1"

_REQUEST_0101 = f"{{{NS_DE}}}DE.EvidenceRequest.0101"
#: The 0301 (the IP asks a register for an EU requester) is hashed the same way.
_REQUEST_0301 = f"{{{NS_DE}}}DE.EvidenceRequest.0301"
_ISSUED_TOKEN = f"{{{NS_DE}}}IssuedToken"
_URI = re.compile(r"\S{1,512}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Standard base64 with padding, nothing else: no white space, no URL alphabet.
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def _q(local: str) -> str:
    return f"{{{VST_NS}}}{local}"


# --------------------------------------------------------------------------------------------
# The request hash


def request_hash(request_0101: etree._Element) -> str:
    """SHA-256 hex of the exclusive C14N (without comments) of the ``DE.EvidenceRequest.0101``
    element with the text of its ``IssuedToken`` replaced by the empty string.

    Works on a copy (the input is never changed) and wherever the element stands: exclusive C14N
    emits only the namespaces the element uses, so the value is the same for the 0101 alone,
    inside an envelope, or re-parsed from the bytes of either.
    """
    if not isinstance(request_0101.tag, str) or request_0101.tag not in (
        _REQUEST_0101,
        _REQUEST_0301,
    ):
        raise MalformedMessage(
            "the request hash is defined for DE.EvidenceRequest.0101 (and 0301) only"
        )
    blanked = copy.deepcopy(request_0101)
    blanked.tail = None
    for token in blanked.findall(_ISSUED_TOKEN):
        token.text = ""
    canonical = etree.tostring(blanked, method="c14n", exclusive=True, with_comments=False)
    return hashlib.sha256(canonical).hexdigest()


# --------------------------------------------------------------------------------------------
# The data


def _check_line(value: object, what: str) -> None:
    if not _xsd.is_line(value):
        raise MalformedMessage(f"{what} must be one line of 1 to 256 characters")


def _check_transfer(fields: _Transfer) -> None:
    for name in ("consumer", "provider"):
        value = getattr(fields, name)
        if not isinstance(value, str) or not PARTICIPANT_ID.fullmatch(value):
            raise MalformedMessage(f"token {name} is not a participant id")
    if not isinstance(fields.evidence_type, str) or not _URI.fullmatch(fields.evidence_type):
        raise MalformedMessage("token evidence type must be a URI without spaces")
    _check_line(fields.purpose, "token purpose")
    _check_line(fields.legal_basis, "token legal basis")
    if not isinstance(fields.uses_idnr, bool):
        raise MalformedMessage("token uses_idnr must be a bool")
    if not isinstance(fields.request_hash, str) or not SHA256_HEX.fullmatch(fields.request_hash):
        raise MalformedMessage("token request hash must be 64 lowercase hex digits")


def _instant(value: object, what: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise MalformedMessage(f"{what} must be a datetime with a time zone")
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


@dataclass(frozen=True, kw_only=True)
class _Transfer:
    """The fields request and token share, in wire order."""

    consumer: str
    provider: str
    evidence_type: str  # the EvidenceTypeClassification URI
    purpose: str
    legal_basis: str
    uses_idnr: bool
    request_hash: str


@dataclass(frozen=True, kw_only=True)
class TokenRequest(_Transfer):
    """What a data consumer asks the VS to authorise (``vst:TokenRequest``).

    ``evidence_type`` is the requested type's ``EvidenceTypeClassification`` URI;
    ``request_hash`` is :func:`request_hash` of the 0101 the token will travel in.
    """

    def __post_init__(self) -> None:
        _check_transfer(self)


@dataclass(frozen=True, kw_only=True)
class AuthorisationToken(_Transfer):
    """The VS's authorisation of one transfer (``vst:AuthorisationToken``).

    Times are UTC at millisecond precision (what the wire carries).
    """

    token_id: uuid.UUID
    issuer: str
    issued_at: datetime
    expires_at: datetime

    def __post_init__(self) -> None:
        _check_transfer(self)
        if not isinstance(self.token_id, uuid.UUID):
            raise MalformedMessage("token id must be a UUID")
        if not isinstance(self.issuer, str) or not PARTICIPANT_ID.fullmatch(self.issuer):
            raise MalformedMessage("token issuer is not a participant id")
        object.__setattr__(self, "issued_at", _instant(self.issued_at, "token issued_at"))
        object.__setattr__(self, "expires_at", _instant(self.expires_at, "token expires_at"))
        if self.expires_at <= self.issued_at:
            raise MalformedMessage("token expires before it is issued")

    @classmethod
    def grant(
        cls,
        request: TokenRequest,
        *,
        issuer: str,
        clock: Clock,
        lifetime: timedelta = timedelta(minutes=5),
    ) -> AuthorisationToken:
        """A fresh token for ``request``: new id, issued now, valid for ``lifetime``."""
        now = clock.now()
        return cls(
            consumer=request.consumer,
            provider=request.provider,
            evidence_type=request.evidence_type,
            purpose=request.purpose,
            legal_basis=request.legal_basis,
            uses_idnr=request.uses_idnr,
            request_hash=request.request_hash,
            token_id=uuid.uuid4(),
            issuer=issuer,
            issued_at=now,
            expires_at=now + lifetime,
        )


@dataclass(frozen=True)
class TokenPolicy:
    """How strictly :func:`verify_token` reads a token. Safe defaults."""

    # A token issued this far in the future (clocks of VS and provider disagree) is accepted.
    clock_skew: timedelta = timedelta(seconds=30)
    # Upper bound on the base64 text, checked before decoding anything.
    max_encoded_chars: int = 64 * 1024


# --------------------------------------------------------------------------------------------
# Elements


def _add_transfer(element: etree._Element, fields: _Transfer) -> None:
    for local, text in (
        ("Consumer", fields.consumer),
        ("Provider", fields.provider),
        ("EvidenceType", fields.evidence_type),
        ("Purpose", fields.purpose),
        ("LegalBasis", fields.legal_basis),
        ("UsesIdnr", "true" if fields.uses_idnr else "false"),
        ("RequestHash", fields.request_hash),
    ):
        etree.SubElement(element, _q(local)).text = text


def _root(local: str) -> etree._Element:
    element = etree.Element(_q(local), nsmap={"vst": VST_NS})
    element.set("version", VERSION)
    return element


def build_token_request(request: TokenRequest) -> etree._Element:
    """The ``vst:TokenRequest`` element (the body of the envelope to ``POST /vs/v1/tokens``)."""
    element = _root("TokenRequest")
    _add_transfer(element, request)
    return element


def build_token(token: AuthorisationToken) -> etree._Element:
    """The unsigned ``vst:AuthorisationToken`` element."""
    element = _root("AuthorisationToken")
    for local, text in (
        ("TokenId", str(token.token_id)),
        ("Issuer", token.issuer),
        ("IssuedAt", format_utc(token.issued_at, millis=True)),
        ("ExpiresAt", format_utc(token.expires_at, millis=True)),
    ):
        etree.SubElement(element, _q(local)).text = text
    _add_transfer(element, token)
    return element


def _required(element: etree._Element, local: str) -> str:
    value = text_of(element, _q(local))
    if value is None:
        raise MalformedMessage(f"token lacks {local}")
    return value


def _time(element: etree._Element, local: str) -> datetime:
    try:
        return parse_utc(_required(element, local))
    except ValueError:
        raise MalformedMessage(f"token {local} is not a date-time with a time zone") from None


def _transfer_values(element: etree._Element) -> dict[str, object]:
    return {
        "consumer": _required(element, "Consumer"),
        "provider": _required(element, "Provider"),
        "evidence_type": _required(element, "EvidenceType"),
        "purpose": _required(element, "Purpose"),
        "legal_basis": _required(element, "LegalBasis"),
        "uses_idnr": _required(element, "UsesIdnr") == "true",
        "request_hash": _required(element, "RequestHash"),
    }


def parse_token_request(element: etree._Element) -> TokenRequest:
    """The typed request of a ``vst:TokenRequest`` element; :class:`MalformedMessage` if invalid."""
    if element.tag != _q("TokenRequest"):
        raise MalformedMessage("not a vst:TokenRequest")
    _xsd.check(SCHEMA, element, "token request")
    return TokenRequest(**_transfer_values(element))  # type: ignore[arg-type]


def _parse_token(element: etree._Element) -> AuthorisationToken:
    token_id = _required(element, "TokenId")
    if not _UUID.fullmatch(token_id):
        raise MalformedMessage("token id is not a lowercase UUID")
    return AuthorisationToken(
        token_id=uuid.UUID(token_id),
        issuer=_required(element, "Issuer"),
        issued_at=_time(element, "IssuedAt"),
        expires_at=_time(element, "ExpiresAt"),
        **_transfer_values(element),  # type: ignore[arg-type]
    )


def build_issued_token_body(issued: str) -> etree._Element:
    """``vst:IssuedToken``: how the VS returns a token inside its answer envelope.

    The token keeps its own seal; as base64 text it does not put a second ``ds:Signature``
    into the envelope (which allows exactly one), and the consumer copies the text verbatim.
    """
    if not issued or len(issued) > 65536 or not _BASE64.fullmatch(issued):
        raise ValueError("an issued token is standard base64 of at most 64 KiB")
    element = etree.Element(_q("IssuedToken"), nsmap={"vst": VST_NS})
    element.text = issued
    return element


def parse_issued_token_body(element: etree._Element) -> str:
    """The base64 token text of a ``vst:IssuedToken`` body (not verified: see verify_token)."""
    if element.tag != _q("IssuedToken"):
        raise MalformedMessage("not a vst:IssuedToken")
    _xsd.check(SCHEMA, element, "issued token")
    return element.text or ""


# --------------------------------------------------------------------------------------------
# Sealing and verification


def issue_token(token: AuthorisationToken, signer: XmlSigner) -> str:
    """The token sealed by the VS: base64 of the signed UTF-8 bytes (the ``IssuedToken`` text)."""
    signed = serialize(signer.sign(build_token(token)))
    return base64.b64encode(signed).decode("ascii")


def verify_token(
    issued: str,
    verifier: XmlVerifier,
    *,
    clock: Clock,
    policy: TokenPolicy = TokenPolicy(),
) -> AuthorisationToken:
    """The token sealed in ``issued``, if the seal holds and it has not expired at ``clock``.

    Raises :class:`TokenSealInvalid` (not base64, not a token, bad XML, signature or certificate
    failure, a signer without role VS, or an issuer that is not the signer; the cause is chained)
    or :class:`TokenExpired` (expired, or issued further in the future than the clock skew).
    """
    if len(issued) > policy.max_encoded_chars:
        raise TokenSealInvalid("token is larger than allowed")
    if not issued or not _BASE64.fullmatch(issued):
        raise TokenSealInvalid("token is not standard base64")
    try:
        raw = base64.b64decode(issued, validate=True)
    except binascii.Error as exc:  # pragma: no cover - the pattern above already refuses it
        raise TokenSealInvalid("token is not standard base64") from exc
    verified = open_sealed(
        raw,
        verifier,
        role=Role.VS,
        tag=_q("AuthorisationToken"),
        schema=SCHEMA,
        what="VS token",
        error=TokenSealInvalid,
    )
    try:
        token = _parse_token(verified.element)
    except MalformedMessage as exc:
        raise TokenSealInvalid(f"VS token content invalid: {exc.message}") from exc
    if token.issuer != verified.signer.participant_id:
        raise TokenSealInvalid("token issuer is not the participant that sealed it")
    now = clock.now()
    if now >= token.expires_at:
        raise TokenExpired(f"token expired at {format_utc(token.expires_at, millis=True)}")
    if token.issued_at > now + policy.clock_skew:
        raise TokenExpired(f"token not valid before {format_utc(token.issued_at, millis=True)}")
    return token


# --------------------------------------------------------------------------------------------
# Binding


def uses_idnr(request: EvidenceRequest | EuEvidenceRequest) -> bool:
    """Whether the 0101 (or 0301) carries an IDNr (what ``UsesIdnr`` of its token must say).
    A 0301 never does: EU requesters have no IDNr."""
    return isinstance(request.subject, NaturalPerson) and request.subject.idnr is not None


def check_token_binding(
    token: AuthorisationToken,
    *,
    request: EvidenceRequest | EuEvidenceRequest,
    request_element: etree._Element,
    consumer: str,
    purpose: str | None,
    provider_id: str,
) -> None:
    """Refuse a token that is not for exactly this transfer (:class:`TokenMismatch`).

    Checked: consumer = ``consumer`` (the online service the request verifiably comes from) =
    0101 requester; provider = ``provider_id`` (the checking provider itself) = 0101 provider;
    purpose = the declared ``purpose``; evidence type = the 0101's classification; IDNr use =
    whether the 0101 carries an IDNr; request hash = :func:`request_hash` of
    ``request_element``. The message names the field, never a value (values may be personal
    data).
    """
    # The 0301's requester is the EU authority; the IP that sends it is its author.
    sender = (
        request.author.participant_id
        if isinstance(request, EuEvidenceRequest)
        else request.requester.identifier
    )
    checks: list[tuple[str, bool]] = [
        ("consumer", token.consumer == consumer == sender),
        ("provider", token.provider == provider_id == request.provider.identifier),
        ("purpose", purpose is not None and token.purpose == purpose),
        ("evidence type", token.evidence_type == request.evidence_type.classification),
        ("IDNr use", token.uses_idnr == uses_idnr(request)),
        ("request hash", token.request_hash == request_hash(request_element)),
    ]
    for field, agrees in checks:
        if not agrees:
            raise TokenMismatch(f"token does not match the request: {field} differs")


@dataclass(frozen=True)
class TokenGrant:
    """A VS token as a consumer holds it: the base64 text for ``IssuedToken``, and the token."""

    issued: str
    token: AuthorisationToken

    @property
    def expires_at(self) -> datetime:
        return self.token.expires_at


def read_token_grant(
    body: etree._Element,
    verifier: XmlVerifier,
    *,
    clock: Clock,
    expected: TokenRequest,
    component: str,
) -> TokenGrant:
    """The token from the VS's answer body (``vst:IssuedToken``), checked against what was
    asked for: sealed by the VS, valid now, and for exactly the transfer of ``expected``.

    The provider checks the token again; checking it here means a wrong token is caught before
    anything is sent. An unusable answer is :class:`UpstreamError` naming ``component``.
    """
    try:
        issued = parse_issued_token_body(body)
        token = verify_token(issued, verifier, clock=clock)
    except (MalformedMessage, TokenSealInvalid) as exc:
        raise UpstreamError(
            f"the VS answered with an unusable token: {exc.message}", component=component
        ) from exc
    fields = ("consumer", "provider", "evidence_type", "purpose", "uses_idnr", "request_hash")
    if any(getattr(token, f) != getattr(expected, f) for f in fields):
        raise UpstreamError(
            "the VS token is for another transfer than requested", component=component
        )
    return TokenGrant(issued, token)
