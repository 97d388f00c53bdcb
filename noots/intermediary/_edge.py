"""The edge of the platform: domain errors become HTTP answers here and nowhere else."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from noots.errors import EdmCode, InvalidInput, NootsError, XmlTooLarge
from noots.xml import DEFAULT_LIMITS

__all__ = ["XML_MEDIA_TYPE", "http_status", "problem", "read_body", "refuse_invalid_input"]

XML_MEDIA_TYPE = "application/xml"


def http_status(code: EdmCode | str, *, behind: bool = False) -> int:
    """The HTTP status docs/PROTOCOL.md gives an EDM code; 0008 is 502 when a component
    behind the answering one failed."""
    try:
        edm = EdmCode(code)
    except ValueError:
        # A code outside the EDM list (kept from a partner's 0103): a failure behind us.
        return 502 if behind else EdmCode.QUERY_ERROR.http_status
    if edm is EdmCode.QUERY_ERROR and behind:
        return 502
    return edm.http_status


def problem(
    error: NootsError, *, component: str, status: int | None = None, **extra: Any
) -> JSONResponse:
    """A JSON problem for the JSON endpoints (RDN, IAM/PKI, DSC, eID, the SAK APIs)."""
    body: dict[str, Any] = {
        "code": error.code.value,
        "title": error.code.title,
        "detail": error.message,
        "component": error.component or component,
        **extra,
    }
    return JSONResponse(
        body,
        status_code=status or http_status(error.code),
        media_type="application/problem+json",
    )


def invalid_input(exc: RequestValidationError) -> InvalidInput:
    """EDM:ERR:0003 naming the first field that did not validate, never the input."""
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()))
    return InvalidInput(f"{where}: {first.get('msg', 'invalid')}")


def refuse_invalid_input(app: FastAPI, *, component: str) -> None:
    """Answer a body or query that does not validate, and a body over the size limit that a
    route did not catch itself, with a JSON problem (EDM:ERR:0003, 400) instead of a 500.

    FastAPI's default handler echoes the input and fails on bytes that are not UTF-8: a 500
    and a dropped keep-alive connection for a UTF-16 body (issue 13's attack kit).
    """

    async def invalid(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return problem(invalid_input(exc), component=component)

    async def too_large(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, XmlTooLarge)
        return problem(exc, component=component)

    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(XmlTooLarge, too_large)


async def read_body(request: Request, limit: int = DEFAULT_LIMITS.max_bytes) -> bytes:
    """The request body, read in chunks and refused as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise XmlTooLarge(f"body of {declared} bytes exceeds the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise XmlTooLarge(f"body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
