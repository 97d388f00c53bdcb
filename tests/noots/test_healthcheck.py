"""The container health check against a real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from noots.healthcheck import check, main
from noots.testing.landscape import free_port
from noots.testing.servers import serving


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
