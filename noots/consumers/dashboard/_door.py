"""The dashboard's door: which Host it answers to, which requests may change state, and the
operator's login session.

What is public, and why (nothing here carries personal data):

- ``/`` (Landschaft: components, registers, the authorisation matrix: all from the topology),
  ``/health``, ``/api/v1/health`` (each component's status), ``/static/*``, ``/login``.

Everything else needs an operator session, because it shows personal data of (test) persons
or changes the landscape: the live view and its event stream (hop checks, pilot results with
names, IDNr, address, number plate), the signed messages of each hop, pilots, fault toggles,
the Datenschutzcockpit view and the conformance reports (their checks quote what a tested
component answered).

Layers, outermost first: :class:`Door` refuses a foreign ``Host`` (DNS rebinding) before
anything else runs, refuses state-changing requests from another origin, and puts the
security headers on every answer. Routes then ask for an :class:`OperatorSession` (cookie:
HttpOnly, SameSite=Strict, Secure under TLS) and, when they change state, for the session's
CSRF token in the ``X-CSRF-Token`` header (or the ``csrf`` field of a form).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SAFE_METHODS",
    "SECURITY_HEADERS",
    "Door",
    "OperatorSession",
    "OperatorSessions",
    "allowed_hosts",
    "cookie_name",
    "host_of",
]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"
#: The pages run without inline script or style; nothing may frame them.
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Not no-referrer: with it a browser sends "Origin: null" on the page's own form posts
    # (login, logout), and the Origin check could not tell them from a sandboxed foreign page.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
_HOST = re.compile(r"[a-z0-9._-]{1,253}")
_IPV6 = re.compile(r"[0-9a-f:.]{2,45}")
_PORT = re.compile(r":[0-9]{1,5}")
#: Addresses a server listens on, never a name a browser asks for.
_LISTEN_ALL = frozenset({"0.0.0.0", "::"})  # noqa: S104 - compared with, never bound


def host_of(value: str) -> str | None:
    """The host of a ``Host`` header (lower case, an IPv6 address without brackets, no port);
    None when it is malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        host, bracket, port = value[1:].partition("]")
        if not bracket or _IPV6.fullmatch(host) is None:
            return None
    else:
        host, colon, port = value.partition(":")
        port = colon + port
        if _HOST.fullmatch(host) is None:
            return None
    if port and _PORT.fullmatch(port) is None:
        return None
    return host


def allowed_hosts(topology_host: str | None, configured: Iterable[str]) -> frozenset[str]:
    """Loopback, the topology's dashboard host and the configured names (normalised)."""
    names = {"127.0.0.1", "localhost", "::1", *configured}
    if topology_host:
        names.add(topology_host)
    allowed = set()
    for name in names:
        bare_ipv6 = ":" in name and not name.startswith("[")
        host = host_of(f"[{name}]" if bare_ipv6 else name)
        if host is not None and host not in _LISTEN_ALL:
            allowed.add(host)
    return frozenset(allowed)


def _cross_origin(headers: Headers) -> str | None:
    """Why a state-changing request comes from another origin, or None.

    Browsers send ``Origin`` (and ``Sec-Fetch-Site``) with every POST/PUT/DELETE; the
    landscape's components send neither and authenticate otherwise.
    """
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return "Anfrage von einer fremden Seite abgelehnt"
    origin = headers.get("origin")
    if origin is None:
        return None
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or parts.netloc != headers.get("host", "").lower():
        return "Anfrage von einem fremden Origin abgelehnt"
    return None


class Door:
    """ASGI middleware: Host allow-list, same-origin state changes, security headers."""

    def __init__(self, app: ASGIApp, *, hosts: frozenset[str]) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        hosts = headers.getlist("host")
        if len(hosts) != 1 or host_of(hosts[0]) not in self.hosts:
            # Before anything else: a page served under a foreign name (DNS rebinding) would
            # let that name's scripts read it.
            await _refuse(send, 400, "Host nicht erlaubt")
            return
        if scope["method"] not in SAFE_METHODS:
            problem = _cross_origin(headers)
            if problem is not None:
                await _refuse(send, 403, problem)
                return
        static = str(scope.get("path", "")).startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    response_headers.setdefault(name, value)
                if not static:  # pages and API answers may carry personal data
                    response_headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, with_headers)


async def _refuse(send: Send, status: int, text: str) -> None:
    body = (text + "\n").encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *((name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def cookie_name(*, tls: bool) -> str:
    """``__Host-`` under TLS: the browser then takes the cookie only Secure, for this host
    and path /, never from a sibling domain."""
    return "__Host-noots-operator" if tls else "noots-operator"


@dataclass(frozen=True)
class OperatorSession:
    """A logged-in operator: the cookie's id and the CSRF token of this session."""

    session_id: str
    csrf: str
    expires: float

    def csrf_matches(self, offered: str | None) -> bool:
        return offered is not None and hmac.compare_digest(offered.encode(), self.csrf.encode())


def _key(session_id: str) -> str:
    # Sessions are looked up by a hash of the cookie: no timing of a comparison with it.
    return hashlib.sha256(session_id.encode()).hexdigest()


class OperatorSessions:
    """Login with the operator token; the open sessions (in memory: a restarted dashboard
    asks to log in again, which the link of ``noots up`` does in one click)."""

    def __init__(
        self,
        token: str,
        *,
        lifetime: timedelta,
        capacity: int = 64,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._token = token.encode()
        self._lifetime = lifetime.total_seconds()
        self._capacity = capacity
        self._now = now
        self._sessions: OrderedDict[str, OperatorSession] = OrderedDict()
        self._lock = threading.Lock()

    def open(self, offered: str) -> OperatorSession | None:
        """A new session if ``offered`` is the operator token, else None."""
        if not hmac.compare_digest(offered.encode(), self._token):
            return None
        session = OperatorSession(
            secrets.token_urlsafe(32), secrets.token_urlsafe(32), self._now() + self._lifetime
        )
        with self._lock:
            self._sessions[_key(session.session_id)] = session
            while len(self._sessions) > self._capacity:
                self._sessions.popitem(last=False)
        return session

    def find(self, session_id: str | None) -> OperatorSession | None:
        if not session_id or len(session_id) > 128:
            return None
        key = _key(session_id)
        with self._lock:
            session = self._sessions.get(key)
            if session is not None and session.expires <= self._now():
                del self._sessions[key]
                return None
            return session

    def close(self, session_id: str | None) -> None:
        if session_id:
            with self._lock:
                self._sessions.pop(_key(session_id), None)
