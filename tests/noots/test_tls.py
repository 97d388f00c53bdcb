"""Mutual TLS with the simulator PKI: handshakes over real sockets, the peer in the scope."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI, Request

from noots.clock import ManualClock
from noots.errors import SenderMismatch
from noots.pki import Role
from noots.testing.pki import TestPki
from noots.testing.servers import serving
from noots.tls import (
    NO_TLS,
    ClientCertificates,
    TlsFiles,
    TlsPeer,
    TlsPeerMiddleware,
    client_context,
    uvicorn_tls_options,
)

PLATFORM = "noots-platform"
CONSUMER = "08118079-BPA-87"
OTHER = "08-ELTERNGELD-79"
REGISTER = "991-01234ZFZR-41"


@pytest.fixture(scope="module")
def pki() -> Iterator[TestPki]:
    # OpenSSL checks validity against the wall clock: the CA must live in the real present.
    with TestPki(clock=ManualClock(datetime.now(UTC))) as pki:
        for pid, role in (
            (PLATFORM, Role.CENTRAL),
            (CONSUMER, Role.CONSUMER),
            (OTHER, Role.CONSUMER),
            (REGISTER, Role.PROVIDER),
        ):
            pki.credential(pid, role)
        yield pki


def files(pki: TestPki, pid: str) -> TlsFiles:
    return TlsFiles.for_participant(pki.directory, pid)


def peer_app(pki: TestPki) -> TlsPeerMiddleware:
    app = FastAPI()

    @app.get("/peer")
    def peer(request: Request) -> dict[str, object]:
        found = TlsPeer.of(request.scope)
        return {
            "enforced": found.enforced,
            "participant": found.participant_id,
            "problem": found.problem,
        }

    return TlsPeerMiddleware(app, pki.validator())


@pytest.fixture(scope="module")
def register_server(pki: TestPki) -> Iterator[str]:
    """A server that requires client certificates (like a register)."""
    options = uvicorn_tls_options(files(pki, REGISTER))
    with serving(peer_app(pki), **options) as url:
        yield url


@pytest.fixture(scope="module")
def platform_server(pki: TestPki) -> Iterator[str]:
    """A server that asks for, but does not require, client certificates (browser pages)."""
    options = uvicorn_tls_options(
        files(pki, PLATFORM), client_certificates=ClientCertificates.OPTIONAL
    )
    with serving(peer_app(pki), **options) as url:
        yield url


def test_peer_participant_reaches_the_app(pki: TestPki, register_server: str) -> None:
    """The participant id of the client certificate is what the app sees as the TLS peer."""
    with httpx.Client(verify=client_context(files(pki, PLATFORM))) as client:
        answer = client.get(register_server + "/peer").json()
    assert answer == {"enforced": True, "participant": PLATFORM, "problem": None}


def test_localhost_name_is_in_the_certificate(pki: TestPki, register_server: str) -> None:
    """The server name check passes for localhost as well as for 127.0.0.1."""
    url = register_server.replace("127.0.0.1", "localhost")
    with httpx.Client(verify=client_context(files(pki, PLATFORM))) as client:
        assert client.get(url + "/peer").json()["participant"] == PLATFORM


def test_required_client_certificate_refuses_anonymous_clients(
    pki: TestPki, register_server: str
) -> None:
    """Without a client certificate a register accepts no connection at all."""
    anonymous = ssl.create_default_context(cafile=str(pki.trust_anchor_path))
    with httpx.Client(verify=anonymous) as client, pytest.raises(httpx.TransportError):
        client.get(register_server + "/peer")


def test_optional_client_certificate_lets_browsers_in(pki: TestPki, platform_server: str) -> None:
    """A browser without a certificate gets the page; the app knows nobody is authenticated."""
    anonymous = ssl.create_default_context(cafile=str(pki.trust_anchor_path))
    with httpx.Client(verify=anonymous) as client:
        answer = client.get(platform_server + "/peer").json()
    assert answer == {"enforced": True, "participant": None, "problem": "no client certificate"}


def test_client_refuses_a_server_of_another_ca(pki: TestPki, register_server: str) -> None:
    """A client trusts only its landscape's root: another CA's server is refused."""
    with TestPki(clock=ManualClock(datetime.now(UTC))) as stranger:
        stranger.credential(PLATFORM, Role.CENTRAL)
        with (
            httpx.Client(verify=client_context(files(stranger, PLATFORM))) as client,
            pytest.raises(httpx.TransportError),
        ):
            client.get(register_server + "/peer")


def test_revoked_client_certificate_is_no_peer(pki: TestPki, platform_server: str) -> None:
    """A revoked certificate completes the handshake but is not accepted as the peer (CRL)."""
    pki.credential("08-REVOKED-11", Role.CONSUMER)
    context = client_context(files(pki, "08-REVOKED-11"))
    pki.revoke("08-REVOKED-11")
    with httpx.Client(verify=context) as client:
        answer = client.get(platform_server + "/peer").json()
    assert answer["participant"] is None
    assert "revoked" in answer["problem"]


def test_check_accepts_the_expected_participant() -> None:
    """The peer check passes when the TLS client is the participant expected."""
    TlsPeer(enforced=True, participant_id=CONSUMER).check(CONSUMER)
    TlsPeer(enforced=True, participant_id=PLATFORM).check({PLATFORM, "noots-vs"})


def test_check_refuses_another_participant_with_0001() -> None:
    """A TLS client that is not the envelope's sender is an authentication failure."""
    with pytest.raises(SenderMismatch) as caught:
        TlsPeer(enforced=True, participant_id=OTHER).check(CONSUMER, component=PLATFORM)
    assert caught.value.code.value == "EDM:ERR:0001"
    assert OTHER in caught.value.message
    assert caught.value.component == PLATFORM


def test_check_refuses_an_unauthenticated_client() -> None:
    """No (valid) client certificate under TLS is refused, with the reason."""
    with pytest.raises(SenderMismatch, match="certificate revoked"):
        TlsPeer(enforced=True, problem="certificate revoked").check(CONSUMER)


def test_without_tls_there_is_nothing_to_check() -> None:
    """Plain HTTP (no middleware): the check does nothing, the scope yields NO_TLS."""
    peer = TlsPeer.of({"type": "http"})
    assert peer is NO_TLS
    peer.check(CONSUMER)
