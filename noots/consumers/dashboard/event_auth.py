"""Who may report flow events to the dashboard's collector, and how a component proves it.

The collector (``POST /events/v1``) takes a batch only from a component of the landscape
that authenticates, and only events that component reports about itself (each event's
``component`` is the authenticated reporter). Two small interfaces keep the mechanism
replaceable:

- :class:`EventAuthenticator` (the dashboard's side): ``await authenticate(request)`` returns
  the reporting component's participant id, or raises
  :class:`~noots.errors.AuthenticationError` (answered 401) or
  :class:`~noots.errors.AuthorisationError` (403).
- :data:`ReporterAuthorization` (each component's sink): ``authorization(component)`` returns
  the headers that authenticate ``component`` (``{"Authorization": "Bearer …"}``).

What ships works without an IAM: :class:`ReportingTokens` issues short-lived bearer tokens
(``v1.<payload>.<HMAC-SHA256>``, payload ``{"sub", "aud", "iat", "exp"}``) under a key derived
from the landscape's events key (:mod:`noots.consumers.dashboard._secrets`), and
:class:`ReportingTokenAuthenticator` checks them. Every process of a landscape holds that key,
so this proves "a process of this landscape", not which one; the IAM's access tokens, one
per participant, will make the reporter's identity as strong as its credential::

    class AccessTokenAuthenticator:  # the dashboard: create_app(..., event_authenticator=)
        def __init__(self, verifier: AccessTokenVerifier) -> None:
            self.verifier = verifier

        async def authenticate(self, request: Request) -> str:
            header = request.headers.get("authorization")
            return self.verifier.verify_authorization(header, roles=...).subject

    # each component: install_http_sink(url, authorization=...)
    authorization = lambda component: sources[component].authorization(dashboard_id)

The tokens use the wall clock, not the landscape's simulated one: a scenario suite that moves
the simulated clock by a month must not cut the live view off.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol, runtime_checkable

from starlette.requests import Request

from noots.clock import Clock, SystemClock
from noots.errors import AuthenticationError, AuthorisationError

__all__ = [
    "EventAuthenticator",
    "ReporterAuthorization",
    "ReportingKey",
    "ReportingTokenAuthenticator",
    "ReportingTokens",
]

#: How long a reporting token is valid, and how early the sink replaces it.
TOKEN_LIFETIME = timedelta(minutes=5)
_RENEW_BEFORE = timedelta(minutes=1)
#: Clocks of two processes on one machine (or a few containers) may differ this much.
_SKEW = timedelta(seconds=60)
_VERSION = "v1"
_MAX_HEADER = 1024
_TOKEN = re.compile(r"v1\.[A-Za-z0-9_-]{1,700}\.[A-Za-z0-9_-]{43}")
_DERIVATION = b"noots dashboard: reporting flow events, v1"


@runtime_checkable
class EventAuthenticator(Protocol):
    """The collector's check of who posts: the reporting component's participant id."""

    async def authenticate(self, request: Request) -> str: ...


#: Headers that authenticate ``component`` at the collector (the sink calls it per batch).
ReporterAuthorization = Callable[[str], Mapping[str, str]]


@dataclass(frozen=True)
class ReportingKey:
    """The MAC key of the reporting tokens, derived from the landscape's events key."""

    mac_key: bytes = field(repr=False)

    @classmethod
    def from_secret(cls, secret: str) -> ReportingKey:
        # Derived, so that the stored secret is never used as a MAC key of anything else.
        return cls(hmac.new(secret.encode(), _DERIVATION, hashlib.sha256).digest())

    def mac(self, signed: bytes) -> bytes:
        return hmac.new(self.mac_key, signed, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class ReportingTokens:
    """The sink's side: a bearer token per reporting component, renewed before it expires.

    An instance is a :data:`ReporterAuthorization` (call it with the component's id).
    """

    def __init__(self, key: ReportingKey, *, audience: str, clock: Clock | None = None) -> None:
        self.key = key
        self.audience = audience
        self.clock = clock or SystemClock()
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def token(self, component: str) -> str:
        now = self.clock.now().timestamp()
        with self._lock:
            cached = self._tokens.get(component)
            if cached is not None and cached[1] - now > _RENEW_BEFORE.total_seconds():
                return cached[0]
            issued = int(now)
            expires = issued + int(TOKEN_LIFETIME.total_seconds())
            payload = json.dumps(
                {"sub": component, "aud": self.audience, "iat": issued, "exp": expires},
                separators=(",", ":"),
            ).encode()
            signed = f"{_VERSION}.{_b64(payload)}"
            token = f"{signed}.{_b64(self.key.mac(signed.encode()))}"
            self._tokens[component] = (token, float(expires))
            return token

    def __call__(self, component: str) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {self.token(component)}"}


class ReportingTokenAuthenticator:
    """The collector's side for :class:`ReportingTokens`: a valid token for this dashboard,
    issued to a participant of the landscape."""

    def __init__(
        self,
        key: ReportingKey,
        *,
        audience: str,
        reporters: Collection[str],
        clock: Clock | None = None,
    ) -> None:
        self.key = key
        self.audience = audience
        self.reporters = frozenset(reporters)
        self.clock = clock or SystemClock()

    async def authenticate(self, request: Request) -> str:
        return self.verify(request.headers.get("authorization"))

    def verify(self, authorization: str | None) -> str:
        """The reporter the header authenticates (raises; never says which part was wrong
        beyond what helps an honest caller)."""
        if not authorization:
            raise AuthenticationError(
                "no Authorization header: the collector takes events only from the landscape's "
                "components"
            )
        if len(authorization) > _MAX_HEADER:
            raise AuthenticationError("Authorization header too long")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or _TOKEN.fullmatch(token) is None:
            raise AuthenticationError("Authorization is not a reporting token (Bearer v1.…)")
        signed, _, mac = token.rpartition(".")
        if not hmac.compare_digest(_unb64(mac), self.key.mac(signed.encode("ascii"))):
            raise AuthenticationError("reporting token not issued with this landscape's key")
        claims = _claims(signed.partition(".")[2])
        if not hmac.compare_digest(claims.audience.encode(), self.audience.encode()):
            raise AuthenticationError("reporting token issued for another dashboard")
        now = self.clock.now().timestamp()
        lifetime = TOKEN_LIFETIME.total_seconds()
        skew = _SKEW.total_seconds()
        if not claims.issued_at - skew <= now < claims.expires + skew:
            raise AuthenticationError("reporting token expired or not yet valid")
        if not 0 < claims.expires - claims.issued_at <= lifetime:
            raise AuthenticationError("reporting token with an impossible lifetime")
        if claims.subject not in self.reporters:
            raise AuthorisationError(
                f"{claims.subject!r} is no component of this landscape: it may not report events"
            )
        return claims.subject


@dataclass(frozen=True)
class _Claims:
    subject: str
    audience: str
    issued_at: int
    expires: int


def _claims(encoded: str) -> _Claims:
    """The payload of a token whose MAC held (still checked: a key may issue nonsense)."""
    try:
        data = json.loads(_unb64(encoded))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise AuthenticationError("reporting token payload unreadable") from None
    if not isinstance(data, dict) or set(data) != {"sub", "aud", "iat", "exp"}:
        raise AuthenticationError("reporting token payload incomplete")
    sub, aud, iat, exp = data["sub"], data["aud"], data["iat"], data["exp"]
    if not (isinstance(sub, str) and isinstance(aud, str) and 0 < len(sub) <= 128):
        raise AuthenticationError("reporting token payload incomplete")
    if not all(type(value) is int for value in (iat, exp)):
        raise AuthenticationError("reporting token payload incomplete")
    return _Claims(sub, aud, iat, exp)
