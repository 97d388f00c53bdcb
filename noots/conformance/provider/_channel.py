"""How the provider suite, playing a register's SAK, hands the register a 0101.

- **push** (:class:`PushChannel`): the suite POSTs the bare 0101 with the metadata headers and
  its access token to the register's ``POST /provider/v1/requests`` and takes the body of the
  HTTP answer;
- **passive** (:class:`PassiveChannel`): the suite serves its SAK's half of the provider API
  (:func:`sak_double_app`): the register fetches from ``GET /provider/v1/requests`` and posts
  its answer to ``POST /provider/v1/requests/{delivery id}/answer``, each with an access token
  of the register for its SAK, as the real SAK requires. The same app serves what a register
  needs when the suite runs alone: the IAM's token endpoint (for the register only), the trust
  anchor and the CRL.

Both answer an :class:`~noots.conformance.answers.Exchange`; time is measured with the
injected ``timer`` so the suite's own tests need no real waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from noots.access import (
    CLIENT_ASSERTION_TYPE,
    GRANT_TYPE,
    TOKEN_PATH,
    AccessTokenVerifier,
    issue_access_token,
    verify_client_assertion,
)
from noots.clock import Clock
from noots.conformance.answers import Exchange, read_message
from noots.conformance.i18n import _
from noots.conformance.requests import Delivery
from noots.errors import NootsError
from noots.pki import CertificateValidator, IssuedCredential, Role
from noots.sak import PROVIDER_REQUESTS_PATH, XML_MEDIA_TYPE
from noots.sak import Header as SakHeader
from noots.tls import TlsPeer

__all__ = ["Channel", "PassiveChannel", "PushChannel", "SakDouble", "sak_double_app"]

log = logging.getLogger("noots.conformance.provider")

Timer = Callable[[], float]
_MAX_BODY = 6 * 1024 * 1024
_PEM = "application/x-pem-file"


class Channel:
    """Hands one 0101 to the register and returns what came back."""

    mode: str = ""

    async def deliver(
        self, name: str, delivery: Delivery, *, authorization: str | None, limit: float
    ) -> Exchange:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


def _exchange(
    name: str,
    delivery: Delivery,
    status: int | None,
    body: bytes,
    seconds: float,
    error: str | None = None,
) -> Exchange:
    return Exchange(
        name, delivery.raw, status, body, seconds, read_message(body), transport_error=error
    )


class PushChannel(Channel):
    """Push mode: POST to the register's ``/provider/v1/requests``."""

    mode = "push"

    def __init__(self, http: httpx.AsyncClient, base_url: str, *, timer: Timer) -> None:
        self.http = http
        self.url = base_url.rstrip("/") + PROVIDER_REQUESTS_PATH
        self.timer = timer

    async def deliver(
        self, name: str, delivery: Delivery, *, authorization: str | None, limit: float
    ) -> Exchange:
        headers = delivery.headers()
        if authorization is not None:
            headers["Authorization"] = authorization
        started = self.timer()
        try:
            response = await self.http.post(
                self.url, content=delivery.raw, headers=headers, timeout=limit
            )
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}".strip(": ")
            return _exchange(name, delivery, None, b"", self.timer() - started, error)
        return _exchange(
            name, delivery, response.status_code, response.content, self.timer() - started
        )


@dataclass(eq=False)
class _Pending:
    delivery: Delivery
    delivery_id: uuid.UUID
    answer: asyncio.Future[bytes]
    fetched: bool = False


@dataclass
class SakDouble:
    """The state of the suite's SAK for a passive register: deliveries waiting to be fetched,
    answers awaited, and every fetch or answer it refused (a register that presents no valid
    access token never gets its requests: the report says why)."""

    register: str
    sak_id: str
    iam_id: str
    iam: IssuedCredential = field(repr=False)
    validator: CertificateValidator = field(repr=False)
    clock: Clock
    trust_anchor: Path
    crl: Path
    wait_max: float = 20.0
    refused: list[str] = field(default_factory=list)
    _waiting: asyncio.Queue[_Pending] = field(default_factory=asyncio.Queue)
    _open: dict[uuid.UUID, _Pending] = field(default_factory=dict)
    _verifier: AccessTokenVerifier | None = None

    @property
    def verifier(self) -> AccessTokenVerifier:
        if self._verifier is None:
            self._verifier = AccessTokenVerifier(
                self.validator, iam_id=self.iam_id, audience=self.sak_id, clock=self.clock
            )
        return self._verifier

    def check_caller(self, authorization: str | None) -> None:
        """Only the register itself fetches and answers (its token for this SAK)."""
        self.verifier.verify_caller(authorization, role=Role.PROVIDER, subject=self.register)

    def offer(self, delivery: Delivery) -> _Pending:
        loop = asyncio.get_running_loop()
        delivery_id = uuid.uuid4()
        pending = _Pending(delivery, delivery_id, loop.create_future())
        self._open[delivery_id] = pending
        self._waiting.put_nowait(pending)
        return pending

    def withdraw(self, pending: _Pending) -> None:
        self._open.pop(pending.delivery_id, None)
        if not pending.answer.done():
            pending.answer.cancel()

    async def take(self, wait: float) -> _Pending | None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                while True:
                    pending = await self._waiting.get()
                    if pending.delivery_id in self._open:
                        pending.fetched = True
                        return pending
        return None

    def answer(self, delivery_id: uuid.UUID, body: bytes) -> int:
        pending = self._open.pop(delivery_id, None)
        if pending is None or not pending.fetched:
            return 404
        if not pending.answer.done():
            pending.answer.set_result(body)
        return 204


def _problem(error: NootsError, status: int | None = None) -> JSONResponse:
    return JSONResponse(
        {"code": error.code.value, "detail": error.message},
        status_code=status or error.code.http_status,
    )


def sak_double_app(double: SakDouble) -> Starlette:
    """The suite's SAK for a passive register: the provider API's SAK half, the IAM token
    endpoint (tokens for the register, for this SAK only), the trust anchor and the CRL.
    Served with TLS (behind :class:`~noots.tls.TlsPeerMiddleware`), the register's TLS
    certificate must be its own, as the real SAK requires."""

    async def fetch(request: Request) -> Response:
        try:
            double.check_caller(request.headers.get("authorization"))
            TlsPeer.of(request.scope).check(double.register, component=double.sak_id)
        except NootsError as error:
            double.refused.append(f"fetch refused: {error.message}")
            return _problem(error)
        try:
            wait = float(request.query_params.get("wait", "20"))
        except ValueError:
            wait = 20.0
        pending = await double.take(min(max(wait, 0.0), double.wait_max))
        if pending is None:
            return Response(status_code=204)
        metadata = pending.delivery.metadata
        headers = {**metadata.headers(), SakHeader.DELIVERY_ID: str(pending.delivery_id)}
        return Response(pending.delivery.raw, media_type=XML_MEDIA_TYPE, headers=headers)

    async def answer(request: Request) -> Response:
        try:
            double.check_caller(request.headers.get("authorization"))
            TlsPeer.of(request.scope).check(double.register, component=double.sak_id)
        except NootsError as error:
            double.refused.append(f"answer refused: {error.message}")
            return _problem(error)
        try:
            delivery_id = uuid.UUID(request.path_params["delivery_id"])
        except ValueError:
            return JSONResponse({"detail": "not a delivery id"}, status_code=404)
        body = await _limited_body(request)
        status = double.answer(delivery_id, body)
        if status == 404:
            return JSONResponse({"detail": "no open request with this delivery id"}, 404)
        return Response(status_code=status)

    async def token(request: Request) -> Response:
        text = (await _limited_body(request)).decode("ascii", "replace")
        form = dict(urllib.parse.parse_qsl(text))
        if form.get("grant_type") != GRANT_TYPE or (
            form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE
        ):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        try:
            verified = verify_client_assertion(
                form.get("client_assertion", ""),
                validator=double.validator,
                iam_id=double.iam_id,
                clock=double.clock,
            )
        except NootsError as error:
            double.refused.append(f"token refused: {error.message}")
            return JSONResponse(
                {"error": "invalid_client", "error_description": error.message}, status_code=401
            )
        client = verified.client
        if client.participant_id != double.register or form.get("audience") != double.sak_id:
            only = f"tokens here are only for {double.register} to call {double.sak_id}"
            return JSONResponse(
                {"error": "invalid_target", "error_description": only}, status_code=403
            )
        lifetime = timedelta(minutes=5)
        issued = issue_access_token(
            double.iam,
            client=client,
            audience=double.sak_id,
            acts_for=client.participant_id,
            clock=double.clock,
            lifetime=lifetime,
        )
        return JSONResponse(
            {
                "access_token": issued,
                "token_type": "Bearer",
                "expires_in": int(lifetime.total_seconds()),
                "audience": double.sak_id,
            },
            headers={"Cache-Control": "no-store"},
        )

    def file_response(path: Path, media_type: str) -> Callable[[Request], Any]:
        async def serve(_request: Request) -> Response:
            try:
                return Response(path.read_bytes(), media_type=media_type)
            except OSError:
                return JSONResponse({"detail": f"{path.name} is missing"}, status_code=404)

        return serve

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "healthy", "participant": double.sak_id})

    return Starlette(
        routes=[
            Route(PROVIDER_REQUESTS_PATH, fetch, methods=["GET"]),
            Route(PROVIDER_REQUESTS_PATH + "/{delivery_id}/answer", answer, methods=["POST"]),
            Route(TOKEN_PATH, token, methods=["POST"]),
            Route(
                "/pki/v1/trust-anchor", file_response(double.trust_anchor, _PEM), methods=["GET"]
            ),
            Route("/pki/v1/crl", file_response(double.crl, _PEM), methods=["GET"]),
            Route("/health", health, methods=["GET"]),
        ]
    )


async def _limited_body(request: Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > _MAX_BODY:
            break
        chunks.append(chunk)
    return b"".join(chunks)


class PassiveChannel(Channel):
    """Passive mode: queue the delivery at the suite's SAK and wait for the register to fetch
    it and post its answer (at most ``limit`` seconds)."""

    mode = "passive"

    def __init__(self, double: SakDouble, *, timer: Timer) -> None:
        self.double = double
        self.timer = timer

    async def deliver(
        self, name: str, delivery: Delivery, *, authorization: str | None, limit: float
    ) -> Exchange:
        # ``authorization`` is the SAK's token in push mode; in passive mode the register is the
        # caller and presents its own.
        started = self.timer()
        pending = self.double.offer(delivery)
        try:
            async with asyncio.timeout(limit):
                body = await asyncio.shield(pending.answer)
        except TimeoutError:
            self.double.withdraw(pending)
            if pending.fetched:
                reason = _(
                    f"das Register hat nicht innerhalb von {limit:g} s geantwortet",
                    f"the register did not answer within {limit:g} s",
                )
            else:
                reason = _(
                    f"das Register hat die Nachweisanfrage nicht innerhalb von {limit:g} s "
                    "abgeholt",
                    f"the register did not fetch the request within {limit:g} s",
                )
            if self.double.refused:
                reason += _(
                    f" (sein SAK lehnte ab: {self.double.refused[-1]})",
                    f" (its SAK refused: {self.double.refused[-1]})",
                )
            return _exchange(name, delivery, None, b"", self.timer() - started, reason)
        return _exchange(name, delivery, None, body, self.timer() - started)
