"""IAM access tokens (IAM für Behörden): client assertions, access tokens and their checks.

Every component of the landscape presents an access token that the IAM issued for the
resource it calls; the resource checks issuer, audience, expiry and role. Wire format:
docs/PROTOCOL.md, section "Access tokens (IAM für Behörden)". In short:

- A client authenticates at the IAM's token endpoint with the OAuth 2.0 client credentials
  grant and a signed **client assertion** (RFC 7523, ``private_key_jwt``):
  :func:`build_client_assertion` on the client, :func:`verify_client_assertion` at the IAM.
- The IAM answers with an **access token** in the JWT profile of RFC 9068 (``typ: at+jwt``),
  bound to the client's certificate (``cnf.x5t#S256``, RFC 8705): :func:`issue_access_token`.
- A resource checks it with an :class:`AccessTokenVerifier` and gets an :class:`AccessGrant`.
  The IAM's certificate travels in ``x5c`` and is checked against the landscape's trust anchor
  and CRL; the client's certificate serial is looked up in the current CRL on *every* call,
  so a revocation takes effect at once, although verified tokens are cached until they expire.
- A client gets (and caches) tokens from the IAM with an :class:`AccessTokenSource`.

JOSE is PyJWT's; every time check uses the injected :class:`~noots.clock.Clock` (PyJWT's own
``exp``/``iat``/``nbf`` checks read the wall clock and are switched off). Algorithms follow the
key of the certificate: RS256 for RSA, ES256 for ECDSA P-256; never ``none``, never HMAC.

Every failure is typed (:mod:`noots.errors`): :class:`~noots.errors.AccessTokenMissing`,
:class:`~noots.errors.AccessTokenInvalid`, :class:`~noots.errors.AccessTokenExpired`,
:class:`~noots.errors.AccessTokenRevoked` (HTTP 401), :class:`~noots.errors.AccessDenied`
(HTTP 403); at the IAM :class:`~noots.errors.ClientAssertionInvalid` or a
:class:`~noots.errors.CertificateError`; from the IAM :class:`~noots.errors.AccessTokenRefused`,
:class:`~noots.errors.AccessDenied`, :class:`~noots.errors.UpstreamError` or
:class:`~noots.errors.UpstreamTimeout`. No message quotes a token or carries personal data.
"""

from __future__ import annotations

import asyncio
import base64
import math
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, NamedTuple

import httpx
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from noots.clock import Clock
from noots.errors import (
    AccessDenied,
    AccessTokenError,
    AccessTokenExpired,
    AccessTokenInvalid,
    AccessTokenMissing,
    AccessTokenRefused,
    AccessTokenRevoked,
    CertificateError,
    CertificateRevoked,
    ClientAssertionInvalid,
    NootsError,
    UpstreamError,
    UpstreamTimeout,
)
from noots.pki import (
    PARTICIPANT_ID_PATTERN,
    CertificateValidator,
    IssuedCredential,
    Role,
    ValidatedCertificate,
)

__all__ = [
    "ACCESS_TOKEN_TYPE",
    "ASSERTION_LEEWAY",
    "CLIENT_ASSERTION_TYPE",
    "GRANT_TYPE",
    "MAX_ASSERTION_LIFETIME",
    "MAX_TOKEN_LENGTH",
    "TOKEN_PATH",
    "AccessGrant",
    "AccessTokenSource",
    "AccessTokenVerifier",
    "BearerAuth",
    "VerifiedAssertion",
    "bearer_challenge",
    "build_client_assertion",
    "certificate_thumbprint",
    "issue_access_token",
    "public_jwk",
    "verify_client_assertion",
]

#: ``typ`` header of an access token (RFC 9068 §2.1).
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 (a media type, not a secret)
_ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
#: ``client_assertion_type`` of a signed client assertion (RFC 7523 §2.2).
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
GRANT_TYPE = "client_credentials"
#: Where the IAM's token endpoint lives below the platform's base URL.
TOKEN_PATH = "/iam/v1/token"  # noqa: S105 (a path, not a secret)
#: Longer tokens are refused before any parsing (ours are about 2.5 KB with RSA keys).
MAX_TOKEN_LENGTH = 8192
#: A client assertion may be valid for at most this long (``exp`` − ``iat``).
MAX_ASSERTION_LIFETIME = timedelta(minutes=5)
#: Clock difference tolerated when the IAM checks a client assertion's times.
ASSERTION_LEEWAY = timedelta(seconds=30)

# Header parameters that would make the verifier fetch keys, trust a key the token brings
# along or interpret the payload differently: none of them has a use here, so they are refused.
_REFUSED_HEADERS = frozenset({"crit", "b64", "jku", "jwk", "x5u", "zip"})
_ACCESS_TOKEN_CLAIMS = (
    "iss",
    "sub",
    "client_id",
    "aud",
    "iat",
    "exp",
    "jti",
    "roles",
    "acts_for",
    "cnf",
    "cert_serial",
)
_ASSERTION_CLAIMS = ("iss", "sub", "aud", "iat", "exp", "jti")
_THUMBPRINT = re.compile(r"[A-Za-z0-9_-]{43}")
_SERIAL = re.compile(r"[0-9a-f]{1,40}")
_MAX_CLAIM_TEXT = 256
# The replay cache of the IAM keys assertions by this namespace, the client and its jti.
_JTI_NAMESPACE = uuid.UUID("6f1f6f2e-5c43-4a43-9d43-2a0a4c1f0b7e")


# --------------------------------------------------------------------------------------------
# Values


@dataclass(frozen=True)
class AccessGrant:
    """What a verified access token says: who calls (``subject``, the client id = participant
    id of the caller), in which ``roles``, for whom it acts (itself, or for a SAK the participant
    it serves), for which resource (``audience``), and the certificate it is bound to."""

    subject: str
    roles: frozenset[Role]
    acts_for: str
    audience: str
    token_id: str
    issued_at: datetime
    expires_at: datetime
    certificate_thumbprint: str
    certificate_serial: int


class VerifiedAssertion(NamedTuple):
    """A client assertion the IAM accepted: the client's certificate, ``jti`` and ``exp``."""

    client: ValidatedCertificate
    jti: str
    expires_at: datetime

    @property
    def replay_id(self) -> uuid.UUID:
        """The key of this assertion in a replay cache (one per client and ``jti``)."""
        return uuid.uuid5(_JTI_NAMESPACE, f"{self.client.participant_id}\n{self.jti}")


@dataclass(frozen=True)
class _Verified:
    """A cached verification: the grant and what must be re-checked on every call."""

    grant: AccessGrant
    iam_certificate: x509.Certificate
    not_before: datetime | None


# --------------------------------------------------------------------------------------------
# Keys, certificates, algorithms


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def certificate_thumbprint(certificate: x509.Certificate) -> str:
    """``x5t#S256``: base64url SHA-256 of the certificate's DER (RFC 8705 §3.1)."""
    return _b64url(certificate.fingerprint(hashes.SHA256()))


def _x5c(certificate: x509.Certificate) -> list[str]:
    # x5c entries are standard base64 of DER, not base64url (RFC 7515 §4.1.6).
    return [base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()]


def _algorithm_of(public_key: object) -> str | None:
    """The one algorithm the project allows for a key, or None for any other key."""
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size >= 2048:
        return "RS256"
    if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(
        public_key.curve, ec.SECP256R1
    ):
        return "ES256"
    return None


def _signing_algorithm(credential: IssuedCredential) -> str:
    algorithm = _algorithm_of(credential.certificate.public_key())
    if algorithm is None:
        raise ValueError(f"{credential.participant_id}: no JWS algorithm for this key")
    return algorithm


def public_jwk(certificate: x509.Certificate) -> dict[str, Any]:
    """The certificate's public key as a JWK (RFC 7517) with ``kid``, ``alg``, ``x5c``."""
    public_key = certificate.public_key()
    algorithm = _algorithm_of(public_key)
    if isinstance(public_key, rsa.RSAPublicKey) and algorithm is not None:
        jwk: dict[str, Any] = jwt.algorithms.RSAAlgorithm.to_jwk(public_key, as_dict=True)
    elif isinstance(public_key, ec.EllipticCurvePublicKey) and algorithm is not None:
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(public_key, as_dict=True)
    else:
        raise ValueError("no JWS algorithm for this certificate's key")
    thumbprint = certificate_thumbprint(certificate)
    return {
        **jwk,
        "kid": thumbprint,
        "use": "sig",
        "alg": algorithm,
        "x5c": _x5c(certificate),
        "x5t#S256": thumbprint,
    }


# --------------------------------------------------------------------------------------------
# Parsing untrusted JWTs (shared by assertions and access tokens)

_Error = Callable[[str], AccessTokenError]


def _check_shape(token: object, error: _Error, what: str) -> str:
    if not isinstance(token, str) or not token:
        raise error(f"{what} is empty")
    if len(token) > MAX_TOKEN_LENGTH:
        raise error(f"{what} is longer than {MAX_TOKEN_LENGTH} characters")
    if not token.isascii() or token.count(".") != 2:
        raise error(f"{what} is not a compact JWS (three base64url parts)")
    return token


def _unverified_header(token: str, error: _Error, what: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except (jwt.PyJWTError, ValueError, TypeError, RecursionError):
        raise error(f"{what} header is not valid base64url JSON") from None
    refused = sorted(_REFUSED_HEADERS.intersection(header))
    if refused:
        raise error(f"{what} header carries {', '.join(refused)}, which is not accepted")
    return header


def _certificate_of(header: Mapping[str, Any], error: _Error, what: str) -> x509.Certificate:
    """The signer's certificate: the first entry of ``x5c`` (others are ignored: the trust
    anchor is known and issues participant certificates directly)."""
    chain = header.get("x5c")
    if (
        not isinstance(chain, list)
        or not 1 <= len(chain) <= 3
        or not all(isinstance(entry, str) for entry in chain)
    ):
        raise error(f"{what} header needs x5c with the signer's certificate")
    try:
        der = base64.b64decode(chain[0], validate=True)
        certificate = x509.load_der_x509_certificate(der)
        # cryptography parses some fields only when first read, and raises ValueError then:
        # read everything path validation and verification use now, while it is still typed.
        _ = (certificate.issuer, certificate.subject, certificate.extensions)
        _ = (certificate.not_valid_before_utc, certificate.not_valid_after_utc)
        certificate.public_key()
    except Exception:
        # Hostile DER: cryptography raises ValueError, KeyError, InvalidVersion,
        # UnsupportedAlgorithm, DuplicateExtension…; each means "no certificate".
        raise error(f"{what} x5c is not a DER certificate in base64") from None
    return certificate


def _verified_claims(
    token: str,
    certificate: x509.Certificate,
    header: Mapping[str, Any],
    required: Iterable[str],
    error: _Error,
    what: str,
) -> dict[str, Any]:
    """The claims, after the signature verified with the certificate's key under the one
    algorithm that key allows (the header's ``alg`` must name it)."""
    public_key = certificate.public_key()
    algorithm = _algorithm_of(public_key)
    if algorithm is None:
        raise error(f"{what} signer's key is neither RSA (2048+) nor ECDSA P-256")
    if header.get("alg") != algorithm:
        raise error(f"{what} alg must be {algorithm} for the signer's key")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key=public_key,  # type: ignore[arg-type]
            algorithms=[algorithm],
            options={
                "verify_signature": True,
                # Times, issuer and audience are checked below, with the injected clock.
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_iss": False,
                "verify_aud": False,
                "verify_sub": False,
                "verify_jti": False,
                "require": list(required),
            },
        )
    except jwt.InvalidSignatureError:
        raise error(f"{what} signature does not verify") from None
    except jwt.MissingRequiredClaimError as exc:
        raise error(f"{what} lacks the claim {exc.claim}") from None
    except (jwt.PyJWTError, ValueError, TypeError, RecursionError):
        raise error(f"{what} is malformed") from None
    return claims


def _instant(claims: Mapping[str, Any], name: str, error: _Error, what: str) -> datetime:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise error(f"{what} claim {name} is not a NumericDate")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise error(f"{what} claim {name} is out of range") from None


def _optional_instant(
    claims: Mapping[str, Any], name: str, error: _Error, what: str
) -> datetime | None:
    return None if name not in claims else _instant(claims, name, error, what)


def _text(claims: Mapping[str, Any], name: str, error: _Error, what: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not 1 <= len(value) <= _MAX_CLAIM_TEXT:
        raise error(f"{what} claim {name} is not a string of 1 to {_MAX_CLAIM_TEXT} characters")
    return value


def _participant(claims: Mapping[str, Any], name: str, error: _Error, what: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not PARTICIPANT_ID_PATTERN.fullmatch(value):
        raise error(f"{what} claim {name} is not a participant id")
    return value


def _audiences(claims: Mapping[str, Any], error: _Error, what: str) -> list[str]:
    value = claims.get("aud")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return value
    raise error(f"{what} claim aud is neither a string nor a list of strings")


def _numeric_date(instant: datetime) -> int:
    # NumericDate in whole seconds; truncating keeps iat <= the issuer's now.
    return math.floor(instant.timestamp())


def _seconds(duration: timedelta) -> int:
    return math.ceil(duration.total_seconds())


# --------------------------------------------------------------------------------------------
# Client assertions (RFC 7523)


def build_client_assertion(
    credential: IssuedCredential,
    *,
    iam_id: str,
    clock: Clock,
    lifetime: timedelta = timedelta(seconds=60),
) -> str:
    """A signed, single-use client assertion for the IAM ``iam_id``.

    Header: ``alg`` (RS256 or ES256 by key type), ``typ: JWT``, ``x5c`` = [the client's
    certificate]. Claims: ``iss`` = ``sub`` = the client id, ``aud`` = ``iam_id``, ``iat``,
    ``exp``, ``jti`` (a fresh UUID).
    """
    if not timedelta(0) < lifetime <= MAX_ASSERTION_LIFETIME:
        raise ValueError(f"an assertion lives more than 0 and at most {MAX_ASSERTION_LIFETIME}")
    issued = _numeric_date(clock.now())
    client_id = credential.participant_id
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": iam_id,
        "iat": issued,
        "exp": issued + _seconds(lifetime),
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(
        claims,
        credential.private_key,
        algorithm=_signing_algorithm(credential),
        headers={"typ": "JWT", "x5c": _x5c(credential.certificate)},
    )


def verify_client_assertion(
    assertion: str,
    *,
    validator: CertificateValidator,
    iam_id: str,
    clock: Clock,
    leeway: timedelta = ASSERTION_LEEWAY,
) -> VerifiedAssertion:
    """Check a client assertion at the IAM; single use is the caller's job (replay cache keyed
    by :attr:`VerifiedAssertion.replay_id` until ``expires_at``).

    Order: shape and header → the ``x5c`` certificate's path (trust anchor, validity, CRL:
    a :class:`~noots.errors.CertificateError` propagates) → ``alg`` is the one the key allows →
    signature → ``iss`` = ``sub`` = the certificate's participant id → ``aud`` names the IAM
    → ``exp`` at most :data:`MAX_ASSERTION_LIFETIME` after ``iat``, neither in the future nor
    expired (± ``leeway``). Anything else is :class:`~noots.errors.ClientAssertionInvalid`.
    """
    what = "client assertion"
    error = ClientAssertionInvalid
    token = _check_shape(assertion, error, what)
    header = _unverified_header(token, error, what)
    typ = header.get("typ")
    if isinstance(typ, str) and typ.lower() in _ACCESS_TOKEN_TYPES:
        raise error("an access token is not a client assertion")
    certificate = _certificate_of(header, error, what)
    client = validator.validate(certificate)
    claims = _verified_claims(token, certificate, header, _ASSERTION_CLAIMS, error, what)
    issuer = _participant(claims, "iss", error, what)
    subject = _participant(claims, "sub", error, what)
    if issuer != client.participant_id or subject != client.participant_id:
        raise error("client assertion iss and sub must be the certificate's participant id")
    if iam_id not in _audiences(claims, error, what):
        raise error(f"client assertion is not addressed to {iam_id}")
    issued_at = _instant(claims, "iat", error, what)
    expires_at = _instant(claims, "exp", error, what)
    not_before = _optional_instant(claims, "nbf", error, what)
    jti = _text(claims, "jti", error, what)
    if expires_at <= issued_at:
        raise error("client assertion expires before it was issued")
    if expires_at - issued_at > MAX_ASSERTION_LIFETIME:
        raise error(f"client assertion lives longer than {MAX_ASSERTION_LIFETIME}")
    now = clock.now()
    if now + leeway < max(issued_at, not_before or issued_at):
        raise error("client assertion is not valid yet (check the client's clock)")
    if now - leeway >= expires_at:
        raise error("client assertion has expired")
    return VerifiedAssertion(client, jti, expires_at)


# --------------------------------------------------------------------------------------------
# Access tokens (RFC 9068)


def issue_access_token(
    iam: IssuedCredential,
    *,
    client: ValidatedCertificate,
    audience: str,
    acts_for: str,
    clock: Clock,
    lifetime: timedelta = timedelta(seconds=300),
    roles: Collection[Role] | None = None,
) -> str:
    """An access token of the IAM ``iam`` for ``client`` to call ``audience``.

    Header: ``alg``, ``typ: at+jwt``, ``x5c`` = [the IAM's certificate]. Claims: ``iss`` (the
    IAM's id), ``sub`` = ``client_id`` (the client), ``aud`` (one resource id), ``iat``,
    ``exp``, ``jti``, ``roles`` (default: the role of the client's certificate), ``acts_for``,
    ``cnf: {"x5t#S256": …}`` and ``cert_serial`` (hex) of the client's certificate.
    """
    if iam.role is not Role.IAM:
        raise ValueError(f"{iam.participant_id} is not the IAM (role {iam.role.value})")
    if lifetime <= timedelta(0):
        raise ValueError("an access token needs a positive lifetime")
    issued = _numeric_date(clock.now())
    granted = sorted(role.value for role in (roles if roles is not None else {client.role}))
    claims = {
        "iss": iam.participant_id,
        "sub": client.participant_id,
        "client_id": client.participant_id,
        "aud": audience,
        "iat": issued,
        "exp": issued + _seconds(lifetime),
        "jti": str(uuid.uuid4()),
        "roles": granted,
        "acts_for": acts_for,
        "cnf": {"x5t#S256": certificate_thumbprint(client.certificate)},
        "cert_serial": f"{client.certificate.serial_number:x}",
    }
    return jwt.encode(
        claims,
        iam.private_key,
        algorithm=_signing_algorithm(iam),
        headers={"typ": ACCESS_TOKEN_TYPE, "x5c": _x5c(iam.certificate)},
    )


class AccessTokenVerifier:
    """The check a resource (``audience``) makes of every access token it is shown.

    First verification of a token: shape and header (``typ`` at+jwt, no key-fetching
    parameters) → the ``x5c`` certificate is the IAM's (trust anchor, validity, CRL, role
    ``iam``, CN = ``iam_id``) → ``alg`` is the one its key allows → signature → required claims
    and their types → ``iss`` = ``iam_id``. Then, on every call, also for a cached token: ``iat``
    and ``nbf`` not in the future, ``exp`` not passed (± ``leeway``, by the injected clock), the
    IAM's certificate still valid and the client's certificate serial not on the current CRL,
    ``aud`` names this resource (:class:`~noots.errors.AccessDenied` otherwise) and, when
    ``roles`` are asked for, the token carries one of them (AccessDenied otherwise).

    Verified tokens are cached by their exact string until they expire (at most
    ``cache_size``, least recently used first out), so a resource pays for the signature once.
    Thread-safe.
    """

    def __init__(
        self,
        validator: CertificateValidator,
        *,
        iam_id: str,
        audience: str,
        clock: Clock,
        leeway: timedelta = timedelta(seconds=30),
        cache_size: int = 10_000,
    ) -> None:
        if leeway < timedelta(0):
            raise ValueError("leeway must not be negative")
        if cache_size < 0:
            raise ValueError("cache_size must not be negative")
        self.validator = validator
        self.iam_id = iam_id
        self.audience = audience
        self.clock = clock
        self.leeway = leeway
        self._cache_size = cache_size
        self._cache: OrderedDict[str, _Verified] = OrderedDict()
        self._lock = threading.Lock()
        self._checked_crl: x509.CertificateRevocationList | None = None

    def verify(self, token: str, *, roles: Collection[Role] | None = None) -> AccessGrant:
        """The grant of a valid token for this resource, or a typed error (see the class)."""
        if not isinstance(token, str) or not token:
            raise AccessTokenMissing("no access token presented")
        if len(token) > MAX_TOKEN_LENGTH:  # before it is even hashed for the cache
            raise AccessTokenInvalid(f"access token is longer than {MAX_TOKEN_LENGTH} characters")
        with self._lock:
            verified = self._cache.get(token)
            if verified is not None:
                self._cache.move_to_end(token)
        fresh = verified is None
        if verified is None:
            verified = self._verify_signed(token)
        try:
            self._check_current(verified)
        except AccessTokenError:
            if not fresh:
                with self._lock:
                    self._cache.pop(token, None)
            raise
        if fresh:
            self._remember(token, verified)
        grant = verified.grant
        if roles is not None and not grant.roles.intersection(roles):
            wanted = " or ".join(sorted(Role(role).value for role in roles))
            have = ", ".join(sorted(role.value for role in grant.roles))
            raise AccessDenied(f"{self.audience} needs the role {wanted}; the token has {have}")
        return grant

    def verify_authorization(
        self, header_value: str | None, *, roles: Collection[Role] | None = None
    ) -> AccessGrant:
        """:meth:`verify` of the token in an ``Authorization: Bearer <token>`` header value."""
        if header_value is None or not header_value.strip():
            raise AccessTokenMissing("no Authorization header with a Bearer access token")
        scheme, _, token = header_value.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise AccessTokenMissing("the Authorization header carries no Bearer access token")
        token = token.strip()
        if not token or " " in token:
            raise AccessTokenInvalid("the Authorization header is not 'Bearer <token>'")
        return self.verify(token, roles=roles)

    def verify_caller(
        self,
        header_value: str | None,
        *,
        role: Role,
        subject: str,
        acts_for: str | None = None,
    ) -> AccessGrant:
        """:meth:`verify_authorization` of a call only ``subject`` (in ``role``) may make, and,
        where ``acts_for`` is given, only acting for that participant (a SAK's token acts
        for the participant it serves); :class:`~noots.errors.AccessDenied` otherwise."""
        grant = self.verify_authorization(header_value, roles=(role,))
        if grant.subject != subject or (acts_for is not None and grant.acts_for != acts_for):
            who = subject if acts_for is None else f"{subject} acting for {acts_for}"
            raise AccessDenied(f"{self.audience} accepts this call only from {who}")
        return grant

    def __len__(self) -> int:
        """How many verified tokens are cached."""
        with self._lock:
            return len(self._cache)

    # -- the checks

    def _verify_signed(self, token: str) -> _Verified:
        what = "access token"
        error = AccessTokenInvalid
        token = _check_shape(token, error, what)
        header = _unverified_header(token, error, what)
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in _ACCESS_TOKEN_TYPES:
            raise error("not an access token (typ must be at+jwt)")
        certificate = _certificate_of(header, error, what)
        self._check_iam_certificate(certificate)
        claims = _verified_claims(token, certificate, header, _ACCESS_TOKEN_CLAIMS, error, what)
        if claims.get("iss") != self.iam_id:
            raise error(f"access token not issued by {self.iam_id}")
        subject = _participant(claims, "sub", error, what)
        if _participant(claims, "client_id", error, what) != subject:
            raise error("access token sub and client_id differ")
        audiences = _audiences(claims, error, what)
        issued_at = _instant(claims, "iat", error, what)
        expires_at = _instant(claims, "exp", error, what)
        not_before = _optional_instant(claims, "nbf", error, what)
        if expires_at <= issued_at:
            raise error("access token expires before it was issued")
        raw_roles = claims.get("roles")
        if not isinstance(raw_roles, list) or not raw_roles:
            raise error("access token claim roles is not a list of roles")
        try:
            roles = frozenset(Role(value) for value in raw_roles)
        except (ValueError, TypeError):
            raise error("access token claim roles names an unknown role") from None
        confirmation = claims.get("cnf")
        thumbprint = confirmation.get("x5t#S256") if isinstance(confirmation, dict) else None
        if not isinstance(thumbprint, str) or not _THUMBPRINT.fullmatch(thumbprint):
            raise error("access token claim cnf lacks x5t#S256")
        serial = claims.get("cert_serial")
        if not isinstance(serial, str) or not _SERIAL.fullmatch(serial):
            raise error("access token claim cert_serial is not a hexadecimal serial")
        grant = AccessGrant(
            subject=subject,
            roles=roles,
            acts_for=_participant(claims, "acts_for", error, what),
            # The resource's own id when it is among several audiences; else the first, which
            # the audience check then refuses.
            audience=self.audience if self.audience in audiences else audiences[0],
            token_id=_text(claims, "jti", error, what),
            issued_at=issued_at,
            expires_at=expires_at,
            certificate_thumbprint=thumbprint,
            certificate_serial=int(serial, 16),
        )
        return _Verified(grant, certificate, not_before)

    def _check_iam_certificate(self, certificate: x509.Certificate) -> None:
        try:
            signer = self.validator.validate(certificate, required_role=Role.IAM)
        except CertificateRevoked:
            raise AccessTokenRevoked("the IAM certificate of the access token is revoked") from None
        except CertificateError as exc:
            raise AccessTokenInvalid(f"access token not signed by the IAM: {exc.message}") from None
        if signer.participant_id != self.iam_id:
            raise AccessTokenInvalid(f"access token not signed by {self.iam_id}")

    def _check_current(self, verified: _Verified) -> None:
        """What can change while a token is cached: time, revocation; and the audience."""
        grant = verified.grant
        now = self.clock.now()
        starts = max(grant.issued_at, verified.not_before or grant.issued_at)
        if now + self.leeway < starts:
            raise AccessTokenInvalid("access token is not valid yet")
        if now - self.leeway >= grant.expires_at:
            raise AccessTokenExpired("access token has expired")
        self._check_iam_certificate(verified.iam_certificate)
        if self._revoked(grant.certificate_serial):
            raise AccessTokenRevoked(f"the certificate of {grant.subject} has been revoked")
        if grant.audience != self.audience:
            raise AccessDenied(f"access token is for another resource, not {self.audience}")

    def _revoked(self, serial: int) -> bool:
        """Whether the serial is on the current CRL. The IAM certificate's check just now
        required a fresh CRL signed by the trust anchor; the file may have changed since, so a
        CRL object not seen before is checked again before it is believed."""
        validator = self.validator
        crl = validator.crl_source.current()
        if crl is None:
            if validator.require_crl:
                raise AccessTokenInvalid("no certificate revocation list available")
            return False
        if crl is not self._checked_crl:
            anchor = validator.trust_anchor
            if crl.issuer != anchor.subject or not crl.is_signature_valid(
                anchor.public_key()  # type: ignore[arg-type]
            ):
                raise AccessTokenInvalid("revocation list not signed by the trust anchor")
            self._checked_crl = crl
        return crl.get_revoked_certificate_by_serial_number(serial) is not None

    def _remember(self, token: str, verified: _Verified) -> None:
        if self._cache_size == 0:
            return
        with self._lock:
            self._cache[token] = verified
            self._cache.move_to_end(token)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)


class BearerAuth(httpx.Auth):
    """httpx authentication that presents an access token of ``source`` for ``audience`` on
    every request (and fetches a fresh one once when the resource answers 401)."""

    def __init__(self, source: AccessTokenSource, audience: str) -> None:
        self.source = source
        self.audience = audience

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers.update(await self.source.authorization(self.audience))
        response = yield request
        if response.status_code == 401:
            self.source.invalidate(self.audience)
            request.headers.update(await self.source.authorization(self.audience))
            yield request


def bearer_challenge(error: NootsError) -> str:
    """The ``WWW-Authenticate`` value of a 401/403 for an access-token failure (RFC 6750 §3)."""
    if isinstance(error, AccessTokenMissing):
        return 'Bearer realm="noots"'
    code = "insufficient_scope" if isinstance(error, AccessDenied) else "invalid_token"
    detail = error.message.replace("\\", "\\\\").replace('"', "'")
    return f'Bearer realm="noots", error="{code}", error_description="{detail}"'


# --------------------------------------------------------------------------------------------
# The client side: tokens from the IAM


@dataclass(frozen=True)
class _CachedToken:
    token: str
    obtained_at: datetime
    refresh_at: datetime


_DENIED = frozenset({"unauthorized_client", "invalid_target", "access_denied", "invalid_scope"})
_MAX_RESPONSE_BYTES = 64 * 1024
_PRINTABLE = re.compile(r"[^\x20-\x7e]")


class AccessTokenSource:
    """Access tokens of one client (``credential``) from the IAM at ``iam_url``.

    ``await token(audience)`` returns a cached token until ``margin`` before it expires, else
    asks the IAM (client credentials grant, a fresh client assertion each time); concurrent
    callers for one audience share one request. ``await authorization(audience)`` is the header
    to send. ``invalidate(audience)`` forgets a token the resource refused (e.g. after the
    landscape's clock moved). Use from one event loop; close with :meth:`aclose` (or
    ``async with``) when the source made its own HTTP client.

    ``iam_url`` is the platform's base URL or the token endpoint itself (``…/iam/v1/token``).
    Errors: :class:`~noots.errors.AccessTokenRefused` (the IAM refused the client),
    :class:`~noots.errors.AccessDenied` (not registered for that audience),
    :class:`~noots.errors.UpstreamTimeout` / :class:`~noots.errors.UpstreamError` (IAM
    unreachable, slow or answering garbage); never a bare httpx exception.
    """

    def __init__(
        self,
        credential: IssuedCredential,
        *,
        iam_url: str,
        iam_id: str,
        clock: Clock,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        margin: timedelta = timedelta(seconds=30),
        timeout: float = 10.0,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.credential = credential
        self.iam_id = iam_id
        self.clock = clock
        self.margin = margin
        url = iam_url.rstrip("/")
        self.token_url = url if url.endswith(TOKEN_PATH) else url + TOKEN_PATH
        self._timeout = timeout
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=False,
            trust_env=False,
        )
        self._tokens: dict[str, _CachedToken] = {}
        self._pending: dict[str, asyncio.Task[str]] = {}

    async def token(self, audience: str) -> str:
        """A valid access token for ``audience`` (cached, or fetched from the IAM)."""
        cached = self._tokens.get(audience)
        if cached is not None:
            now = self.clock.now()
            if cached.obtained_at - self.margin <= now < cached.refresh_at:
                return cached.token
        task = self._pending.get(audience)
        if task is None:
            task = asyncio.ensure_future(self._fetch(audience))
            self._pending[audience] = task
            task.add_done_callback(lambda done: self._settled(audience, done))
        # Shielded: one caller giving up does not cancel the request the others wait for.
        return await asyncio.shield(task)

    async def authorization(self, audience: str) -> dict[str, str]:
        """``{"Authorization": "Bearer <token>"}`` for a request to ``audience``."""
        return {"Authorization": f"Bearer {await self.token(audience)}"}

    def invalidate(self, audience: str) -> None:
        """Forget the cached token for ``audience``; the next call asks the IAM."""
        self._tokens.pop(audience, None)

    async def aclose(self) -> None:
        for task in list(self._pending.values()):
            task.cancel()
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AccessTokenSource:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _settled(self, audience: str, task: asyncio.Task[str]) -> None:
        if self._pending.get(audience) is task:
            del self._pending[audience]
        if not task.cancelled():
            task.exception()  # retrieved: nobody may be waiting any more

    async def _fetch(self, audience: str) -> str:
        assertion = build_client_assertion(self.credential, iam_id=self.iam_id, clock=self.clock)
        form = {
            "grant_type": GRANT_TYPE,
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": assertion,
            "audience": audience,
        }
        obtained_at = self.clock.now()
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._http.post(
                    self.token_url,
                    data=form,
                    headers={"Accept": "application/json"},
                    timeout=httpx.Timeout(self._timeout, connect=min(self._timeout, 5.0)),
                )
        except (httpx.TimeoutException, TimeoutError):
            raise UpstreamTimeout(
                f"the IAM did not answer within {self._timeout:g} s", component=self.iam_id
            ) from None
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"the IAM is not reachable ({type(exc).__name__})", component=self.iam_id
            ) from None
        body = self._json(response)
        if response.status_code != 200:
            raise self._refusal(response.status_code, body)
        token, expires_in = self._read_answer(body, audience)
        lifetime = timedelta(seconds=expires_in)
        if lifetime > self.margin:
            self._tokens[audience] = _CachedToken(
                token, obtained_at, obtained_at + lifetime - self.margin
            )
        return token

    def _json(self, response: httpx.Response) -> dict[str, Any] | None:
        if len(response.content) > _MAX_RESPONSE_BYTES:
            raise UpstreamError("the IAM's answer is too large", component=self.iam_id)
        try:
            body = response.json()
        except (ValueError, RecursionError):
            body = None
        return body if isinstance(body, dict) else None

    def _refusal(self, status: int, body: dict[str, Any] | None) -> NootsError:
        code = body.get("error") if body is not None else None
        if status >= 500 or not isinstance(code, str):
            return UpstreamError(
                f"the IAM answered HTTP {status} without an OAuth error", component=self.iam_id
            )
        description = body.get("error_description") if body is not None else None
        text = _PRINTABLE.sub("?", str(description or "no description"))[:300]
        code = _PRINTABLE.sub("?", code)[:64]
        message = f"the IAM refused a token ({code}): {text}"
        if code in _DENIED:
            return AccessDenied(message, component=self.iam_id)
        return AccessTokenRefused(message, oauth_error=code, component=self.iam_id)

    def _read_answer(self, body: dict[str, Any] | None, audience: str) -> tuple[str, int]:
        if body is None:
            raise UpstreamError("the IAM's token answer is not JSON", component=self.iam_id)
        token = body.get("access_token")
        token_type = body.get("token_type")
        expires_in = body.get("expires_in")
        if (
            not isinstance(token, str)
            or not token
            or len(token) > MAX_TOKEN_LENGTH
            or not token.isascii()
            or any(c.isspace() for c in token)
            or not isinstance(token_type, str)
            or token_type.lower() != "bearer"
            or isinstance(expires_in, bool)
            or not isinstance(expires_in, int)
            or expires_in <= 0
        ):
            raise UpstreamError("the IAM's token answer is malformed", component=self.iam_id)
        if body.get("audience", audience) != audience:
            raise UpstreamError(
                "the IAM answered with a token for another audience", component=self.iam_id
            )
        return token, expires_in
