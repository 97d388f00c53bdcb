"""The identity token of the simulated eID service (the citizen's online identification).

Wire format: docs/PROTOCOL.md, section "Identity token"; schema ``xsd/noots-eid-1.xsd``.
The eID service (a participant with role ``eid``) signs an ``eid:Identity`` document; the
browser presents it as ``Authorization: Bearer <token>``, where the token is the unpadded
base64url of the signed UTF-8 bytes. :func:`verify_identity` checks the seal, the validity
period and the level of assurance.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from lxml import etree

from noots import _xsd
from noots._sealed import open_sealed, text_of
from noots.clock import Clock, format_utc, parse_utc
from noots.envelope import PARTICIPANT_ID
from noots.errors import (
    IdentityError,
    IdentityExpired,
    IdentityLevelTooLow,
    InvalidIdnr,
    MalformedMessage,
)
from noots.idnr import validate as validate_idnr
from noots.pki import Role
from noots.signing import XmlSigner, XmlVerifier
from noots.xml import serialize

__all__ = [
    "EID_NS",
    "LEVELS",
    "IdentityPolicy",
    "IdentityToken",
    "Level",
    "build_identity",
    "issue_identity",
    "verify_identity",
]

EID_NS = "urn:noots:eid:1"
SCHEMA = "noots-eid-1.xsd"
VERSION = "1"

Level = Literal["hoch", "substantiell", "normal"]
# Weakest first: a level satisfies every requirement at or below its position.
LEVELS: tuple[Level, ...] = ("normal", "substantiell", "hoch")

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


def _q(local: str) -> str:
    return f"{{{EID_NS}}}{local}"


def _instant(value: object, what: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise MalformedMessage(f"{what} must be a datetime with a time zone")
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


@dataclass(frozen=True, kw_only=True)
class IdentityToken:
    """Who the citizen is, how sure the eID is of it, and for how long the statement holds.

    ``audience``, when set, names the one participant the token is meant for (for example the
    Datenschutzcockpit). Times are UTC at millisecond precision (what the wire carries).
    """

    idnr: str
    given_name: str
    family_name: str
    date_of_birth: date
    level: Level
    issued_at: datetime
    expires_at: datetime
    audience: str | None = None

    def __post_init__(self) -> None:
        try:
            validate_idnr(self.idnr, allow_test_numbers=True)
        except InvalidIdnr as exc:
            raise MalformedMessage(f"identity IDNr invalid: {exc.reason}") from None
        for name in ("given_name", "family_name"):
            value = getattr(self, name)
            if not _xsd.is_line(value):
                raise MalformedMessage(f"identity {name} must be one line of 1 to 256 characters")
        if not isinstance(self.date_of_birth, date) or isinstance(self.date_of_birth, datetime):
            raise MalformedMessage("identity date_of_birth must be a date")
        if self.level not in LEVELS:
            raise MalformedMessage(f"identity level must be one of {', '.join(LEVELS)}")
        object.__setattr__(self, "issued_at", _instant(self.issued_at, "identity issued_at"))
        object.__setattr__(self, "expires_at", _instant(self.expires_at, "identity expires_at"))
        if self.expires_at <= self.issued_at:
            raise MalformedMessage("identity expires before it is issued")
        if self.audience is not None and not PARTICIPANT_ID.fullmatch(self.audience):
            raise MalformedMessage("identity audience is not a participant id")


@dataclass(frozen=True)
class IdentityPolicy:
    """How strictly :func:`verify_identity` reads a token. Safe defaults."""

    # An identity issued this far in the future (clocks disagree) is still accepted.
    clock_skew: timedelta = timedelta(seconds=30)
    # Upper bound on the token text, checked before decoding anything.
    max_encoded_chars: int = 16 * 1024


def build_identity(identity: IdentityToken) -> etree._Element:
    """The unsigned ``eid:Identity`` element."""
    element = etree.Element(_q("Identity"), nsmap={"eid": EID_NS})
    element.set("version", VERSION)
    for local, text in (
        ("IDNr", identity.idnr),
        ("GivenName", identity.given_name),
        ("FamilyName", identity.family_name),
        ("DateOfBirth", identity.date_of_birth.isoformat()),
        ("Level", identity.level),
        ("IssuedAt", format_utc(identity.issued_at, millis=True)),
        ("ExpiresAt", format_utc(identity.expires_at, millis=True)),
        ("Audience", identity.audience),
    ):
        if text is not None:
            etree.SubElement(element, _q(local)).text = text
    return element


def issue_identity(identity: IdentityToken, signer: XmlSigner) -> str:
    """The signed identity as unpadded base64url, ready for ``Authorization: Bearer``."""
    signed = serialize(signer.sign(build_identity(identity)))
    return base64.urlsafe_b64encode(signed).rstrip(b"=").decode("ascii")


def _required(element: etree._Element, local: str) -> str:
    value = text_of(element, _q(local))
    if value is None:
        raise MalformedMessage(f"identity lacks {local}")
    return value


def _parse_identity(element: etree._Element) -> IdentityToken:
    try:
        date_of_birth = date.fromisoformat(_required(element, "DateOfBirth"))
        issued_at = parse_utc(_required(element, "IssuedAt"))
        expires_at = parse_utc(_required(element, "ExpiresAt"))
    except ValueError:
        raise MalformedMessage("identity carries an invalid date or time") from None
    level = _required(element, "Level")
    if level not in LEVELS:
        raise MalformedMessage("identity level unknown")
    return IdentityToken(
        idnr=_required(element, "IDNr"),
        given_name=_required(element, "GivenName"),
        family_name=_required(element, "FamilyName"),
        date_of_birth=date_of_birth,
        level=level,
        issued_at=issued_at,
        expires_at=expires_at,
        audience=text_of(element, _q("Audience")),
    )


def verify_identity(
    token: str,
    verifier: XmlVerifier,
    *,
    clock: Clock,
    min_level: Level = "hoch",
    audience: str | None = None,
    policy: IdentityPolicy = IdentityPolicy(),
) -> IdentityToken:
    """The identity sealed in ``token`` (the Bearer value), if it may be relied on now.

    Raises :class:`IdentityError` (not base64url, not an identity, bad XML, signature or
    certificate failure, a signer without role eid, or an audience other than ``audience``
    when that is given; the cause is chained), :class:`IdentityExpired` (expired or issued
    further in the future than the clock skew) or :class:`IdentityLevelTooLow`.
    """
    if min_level not in LEVELS:
        raise ValueError(f"min_level must be one of {', '.join(LEVELS)}")
    if len(token) > policy.max_encoded_chars:
        raise IdentityError("identity token is larger than allowed")
    if not _BASE64URL.fullmatch(token) or len(token) % 4 == 1:
        raise IdentityError("identity token is not unpadded base64url")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError) as exc:
        raise IdentityError("identity token is not unpadded base64url") from exc
    verified = open_sealed(
        raw,
        verifier,
        role=Role.EID,
        tag=_q("Identity"),
        schema=SCHEMA,
        what="identity token",
        error=IdentityError,
    )
    try:
        identity = _parse_identity(verified.element)
    except MalformedMessage as exc:
        raise IdentityError(f"identity token content invalid: {exc.message}") from exc
    now = clock.now()
    if now >= identity.expires_at:
        raise IdentityExpired(f"identity expired at {format_utc(identity.expires_at)}")
    if identity.issued_at > now + policy.clock_skew:
        raise IdentityExpired(f"identity not valid before {format_utc(identity.issued_at)}")
    if audience is not None and identity.audience != audience:
        raise IdentityError("identity token is meant for another participant")
    if LEVELS.index(identity.level) < LEVELS.index(min_level):
        raise IdentityLevelTooLow(
            f"level of assurance {identity.level!r} is below the required {min_level!r}"
        )
    return identity
