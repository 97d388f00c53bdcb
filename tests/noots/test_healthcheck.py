"""The container health check against a real server, over plain HTTP and mutual TLS."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from noots.clock import ManualClock
from noots.healthcheck import check, main
from noots.pki import Role
from noots.testing.landscape import free_port
from noots.testing.pki import TestPki
from noots.testing.servers import serving
from noots.tls import TlsFiles, uvicorn_tls_options

REGISTER = "991-01234ZFZR-41"
OTHER = "08-ELTERNGELD-79"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    app = FastAPI()

    @app.get("/health")
    def health() -> JSONResponse:
        return JSONResponse({"status": "healthy"})

    @app.get("/degraded")
    def degraded() -> JSONResponse:
        return JSONResponse({"status": "degraded"}, status_code=503)

    with serving(app) as url:
        yield url


def test_healthy_component_exits_zero(server: str) -> None:
    """200 from /health: exit code 0."""
    assert main([server + "/health"]) == 0


def test_degraded_component_exits_one(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    """503 (degraded): exit code 1 and the URL on stderr."""
    assert main([server + "/degraded"]) == 1
    assert "/degraded" in capsys.readouterr().err


def test_nothing_listening_is_unhealthy() -> None:
    """A refused connection is unhealthy, not a crash."""
    assert check(f"http://127.0.0.1:{free_port()}/health", timeout=2) is False


def test_url_from_the_environment(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an argument NOOTS_HEALTH_URL is probed."""
    monkeypatch.setenv("NOOTS_HEALTH_URL", server + "/health")
    assert main([]) == 0


def test_only_http_urls() -> None:
    """file: and other schemes are refused before any request."""
    with pytest.raises(ValueError, match="http"):
        check("file:///etc/passwd")


@pytest.fixture(scope="module")
def tls_server() -> Iterator[tuple[str, TestPki]]:
    """A health endpoint that, like a register, accepts only clients with a certificate."""
    app = FastAPI()

    @app.get("/health")
    def health() -> JSONResponse:
        return JSONResponse({"status": "healthy"})

    with TestPki(clock=ManualClock(datetime.now(UTC))) as pki:
        for pid, role in ((REGISTER, Role.PROVIDER), (OTHER, Role.CONSUMER)):
            pki.credential(pid, role)
        with serving(app, **uvicorn_tls_options(_files(pki, REGISTER))) as url:
            yield url, pki


def _files(pki: TestPki, pid: str) -> TlsFiles:
    return TlsFiles.for_participant(pki.directory, pid)


def test_tls_probe_presents_the_own_certificate(tls_server: tuple[str, TestPki]) -> None:
    """With --ca, --cert and --key the probe trusts the landscape's root and is let in."""
    url, pki = tls_server
    own = _files(pki, REGISTER)
    argv = ["--ca", str(own.trust_anchor), "--cert", str(own.certificate), "--key", str(own.key)]
    assert main([*argv, url + "/health"]) == 0


def test_tls_probe_without_certificate_is_unhealthy(tls_server: tuple[str, TestPki]) -> None:
    """Without a client certificate a register's handshake fails: unhealthy, not a crash."""
    url, pki = tls_server
    assert main(["--ca", str(_files(pki, REGISTER).trust_anchor), url + "/health"]) == 1


def test_tls_probe_trusts_only_the_given_root(tls_server: tuple[str, TestPki]) -> None:
    """A server whose certificate another root issued is unhealthy to the probe."""
    url, pki = tls_server
    own = _files(pki, REGISTER)
    with TestPki(clock=ManualClock(datetime.now(UTC))) as other:
        other.credential(OTHER, Role.CONSUMER)
        stranger = _files(other, OTHER)
        argv = [
            "--ca",
            str(stranger.trust_anchor),
            "--cert",
            str(own.certificate),
            "--key",
            str(own.key),
        ]
        assert main([*argv, url + "/health"]) == 1


def test_unreadable_tls_files_are_unhealthy(tmp_path: Path) -> None:
    """A missing certificate file is reported as unhealthy (exit 1), not a traceback."""
    missing = tmp_path / "missing.pem"
    argv = ["--cert", str(missing), "--key", str(missing), "https://127.0.0.1:1/health"]
    assert main(argv) == 1


def test_cert_without_key_is_refused() -> None:
    """--cert and --key go together."""
    with pytest.raises(SystemExit):
        main(["--cert", "c.pem", "https://127.0.0.1:1/health"])
