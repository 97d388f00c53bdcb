"""Mutual TLS between the components of a landscape, with the simulator PKI's certificates.

With ``--tls`` every component serves HTTPS with its participant's certificate and key
(``<pki>/participants/<id>/{cert,key}.pem``; the certificates carry ``localhost`` and
``127.0.0.1`` as alternative names and both TLS key purposes) and every outgoing client presents
its own participant's certificate. Both sides trust only the landscape's root CA.

The envelope's ``Sender`` is the participant that *signed* the message; the TLS client
certificate names the participant that *connected*. Uvicorn does not hand the peer certificate
to the application, so this module does:

- :class:`PeerCertificateProtocol` (uvicorn's httptools protocol) puts the peer certificate
  into ``scope["extensions"]["tls"]`` as the ASGI TLS extension describes
  (``client_cert_chain``: PEM strings);
- :class:`TlsPeerMiddleware` validates it with the landscape's
  :class:`~noots.pki.CertificateValidator` (trust anchor, validity, the CRL as it is *now*: a
  revocation takes effect without a restart) and stores a :class:`TlsPeer` under
  ``scope["noots.tls_peer"]``;
- the services read it with :meth:`TlsPeer.of` and call :meth:`TlsPeer.check` with the
  participant they expect: a provider's SAK with the envelope's sender, a register with its own
  SAK, a SAK with its own participant. Without TLS :meth:`TlsPeer.check` does nothing, so the
  call can stay in the code unconditionally::

      peer = TlsPeer.of(request.scope)
      ...
      peer.check(opened.header.sender)   # SenderMismatch (EDM:ERR:0001) on a difference
"""

from __future__ import annotations

import ssl
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from noots.errors import NootsError, SenderMismatch
from noots.pki import CertificateValidator

__all__ = [
    "NO_TLS",
    "PEER_SCOPE_KEY",
    "ClientCertificates",
    "PeerCertificateProtocol",
    "TlsFiles",
    "TlsPeer",
    "TlsPeerMiddleware",
    "client_context",
    "server_context",
    "uvicorn_tls_options",
]

#: Where :class:`TlsPeerMiddleware` leaves the :class:`TlsPeer` of a request.
PEER_SCOPE_KEY: Final = "noots.tls_peer"


class ClientCertificates(StrEnum):
    """What a server asks of its clients during the handshake."""

    #: No certificate, no connection: registers and the IDA (only participants call them).
    REQUIRED = "required"
    #: Asked for, checked if sent: servers that also have pages for browsers (platform, demo
    #: services, dashboard); the application decides per request with :class:`TlsPeer`.
    OPTIONAL = "optional"


@dataclass(frozen=True)
class TlsFiles:
    """A participant's certificate and key, and the landscape's trust anchor."""

    certificate: Path
    key: Path
    trust_anchor: Path

    @classmethod
    def for_participant(cls, pki_dir: str | Path, participant_id: str) -> TlsFiles:
        pki = Path(pki_dir)
        participant = pki / "participants" / participant_id
        return cls(participant / "cert.pem", participant / "key.pem", pki / "ca" / "root-cert.pem")


def server_context(
    files: TlsFiles, *, client_certificates: ClientCertificates = ClientCertificates.REQUIRED
) -> ssl.SSLContext:
    """The server side: our certificate, TLS 1.2 or newer, client certificates from our CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(files.certificate, files.key)
    context.load_verify_locations(cafile=files.trust_anchor)
    context.verify_mode = (
        ssl.CERT_REQUIRED
        if client_certificates is ClientCertificates.REQUIRED
        else ssl.CERT_OPTIONAL
    )
    return context


def client_context(files: TlsFiles) -> ssl.SSLContext:
    """The client side: trust only our CA, check the server's name, present our certificate."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(files.trust_anchor))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(files.certificate, files.key)
    return context


def uvicorn_tls_options(
    files: TlsFiles, *, client_certificates: ClientCertificates = ClientCertificates.REQUIRED
) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.Config``: HTTPS with ``files`` and the peer certificate
    in the scope (wrap the app in :class:`TlsPeerMiddleware` to have it checked)."""
    context = server_context(files, client_certificates=client_certificates)

    def ssl_context_factory(_config: Any, _default: Any) -> ssl.SSLContext:
        return context

    return {"ssl_context_factory": ssl_context_factory, "http": PeerCertificateProtocol}


class PeerCertificateProtocol(HttpToolsProtocol):
    """Uvicorn's httptools protocol, adding the ASGI TLS extension to every request scope."""

    _tls_extension: dict[str, Any] | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return
        der = ssl_object.getpeercert(binary_form=True)
        chain: list[str] = []
        if der:
            certificate = x509.load_der_x509_certificate(der)
            chain.append(certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"))
        cipher = ssl_object.cipher()
        self._tls_extension = {
            "server_cert": None,
            "client_cert_chain": chain,
            "client_cert_name": None,
            "client_cert_error": None,
            "tls_version": None,
            "cipher_suite": None,
            "noots_protocol": ssl_object.version(),
            "noots_cipher": cipher[0] if cipher else None,
        }

    def shutdown(self) -> None:
        # An idle TLS connection closed politely waits for the peer's close_notify, which a
        # pooled client rarely sends: the server would sit out its whole graceful-shutdown
        # bound. Nothing is in flight, so the connection is dropped at once.
        if self._tls_extension is not None and (self.cycle is None or self.cycle.response_complete):
            self.transport.abort()
        else:
            super().shutdown()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._tls_extension is not None:
            scope: Any = self.scope
            scope.setdefault("extensions", {})["tls"] = self._tls_extension


@dataclass(frozen=True)
class TlsPeer:
    """Who is on the other end of the TLS connection of one request.

    ``enforced`` is False when the request did not come through :class:`TlsPeerMiddleware`
    (plain HTTP, in-process tests): then there is nothing to compare. ``participant_id`` is
    None when the client sent no certificate or one that failed validation (``problem``).
    """

    enforced: bool
    participant_id: str | None = None
    problem: str | None = None

    @classmethod
    def of(cls, scope: Scope) -> TlsPeer:
        peer = scope.get(PEER_SCOPE_KEY)
        return peer if isinstance(peer, TlsPeer) else NO_TLS

    def check(self, expected: str | Collection[str], *, component: str | None = None) -> None:
        """Raise :class:`SenderMismatch` unless the TLS client is ``expected`` (one of them)."""
        if not self.enforced:
            return
        allowed = {expected} if isinstance(expected, str) else set(expected)
        if self.participant_id in allowed:
            return
        wanted = " or ".join(sorted(allowed))
        if self.participant_id is None:
            why = self.problem or "no client certificate"
            raise SenderMismatch(
                f"TLS client not authenticated ({why}); expected {wanted}", component=component
            )
        raise SenderMismatch(
            f"TLS client certificate belongs to {self.participant_id}, not to {wanted}",
            component=component,
        )


NO_TLS: Final = TlsPeer(enforced=False)


class TlsPeerMiddleware:
    """Validates the TLS client certificate of each request and stores a :class:`TlsPeer`."""

    def __init__(self, app: ASGIApp, validator: CertificateValidator) -> None:
        self.app = app
        self.validator = validator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope[PEER_SCOPE_KEY] = self.peer(scope)
        await self.app(scope, receive, send)

    def peer(self, scope: Scope) -> TlsPeer:
        tls = (scope.get("extensions") or {}).get("tls")
        chain = tls.get("client_cert_chain") if isinstance(tls, dict) else None
        if not chain:
            return TlsPeer(enforced=True, problem="no client certificate")
        try:
            certificate = x509.load_pem_x509_certificate(chain[0].encode("ascii"))
            validated = self.validator.validate(certificate)
        except NootsError as exc:
            return TlsPeer(enforced=True, problem=exc.message)
        except ValueError:
            return TlsPeer(enforced=True, problem="unreadable client certificate")
        return TlsPeer(enforced=True, participant_id=validated.participant_id)
