"""Registers, SAKs and Intermediäre Plattformen that are wrong on purpose: one per connection
condition (the online services wrong on purpose are the consumer suite's,
:mod:`noots.testing.broken_consumers`).

The conformance suites are only worth something if they catch what they claim to catch. Each
broken register here breaks **exactly one** condition of a correct mock register, so a run of
the provider suite against it, in push or in passive mode, must fail that condition and pass
every other one (the tests prove it). The variants are not copies of the register: they are
the real app of :mod:`registers`, created through its public factory with one part configured
differently (no protocol log) or wrapped where a register meets its SAK: an ASGI layer in
front of the app (push mode, ``/health``, the push endpoint's caller check) and an HTTP
transport between the register and its SAK (passive mode). Each variant changes the 0101 and
its headers on the way in, or the bare 0102/0103 on the way out, and nothing else.

::

    app = broken_register_app("DP-05", RegisterSettings(...))   # answers a bad IDNr with 0004
    report = await run_provider_suite(target, ..., transport=httpx.ASGITransport(app))
    assert failed sections of report == {"DP-05"}

Waiting is done with the injected ``sleep`` (tests pass one that moves a simulated clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import httpx
from lxml import etree

from noots import idnr as idnr_rules
from noots import messages
from noots.access import AccessTokenVerifier, issue_access_token
from noots.conformance.requests import unverified_parts
from noots.errors import EdmCode, NootsError
from noots.participant import load_credential
from noots.pki import CertificateAuthority, Role, UnknownParticipant, ValidatedCertificate
from noots.sak import PROVIDER_ANSWER_PATH, PROVIDER_REQUESTS_PATH
from noots.sak import Header as SakHeader
from noots.signing import XmlSigner
from noots.testing.asgi import call_app, read_request_body
from noots.xml import parse, serialize

if TYPE_CHECKING:
    from noots.registers._service import RegisterService  # the type of app.state.register
    from noots.registers.settings import RegisterSettings

__all__ = [
    "BROKEN_IPS",
    "BROKEN_REGISTERS",
    "BROKEN_SAKS",
    "BrokenRegister",
    "broken_ip_app",
    "broken_register_app",
    "broken_sak_app",
    "credulous_transport",
    "register_app",
]


@dataclass(frozen=True)
class BrokenRegister:
    """One broken register: the condition it fails and what it does wrong."""

    condition: str
    description: str


#: Variant → the condition it fails and what it does wrong. Two variants fail DP-04: one
#: ignores the token, one answers "unsupported evidence type" before checking it (so an
#: unauthorised caller learns what the register provides). Two fail DP-16: one accepts any
#: caller, one does not check whom its own SAK's token acts for.
BROKEN_REGISTERS: Mapping[str, BrokenRegister] = MappingProxyType(
    {
        "DP-01": BrokenRegister("DP-01", "adds an element XNachweis does not allow to every 0102"),
        "DP-04": BrokenRegister(
            "DP-04",
            "ignores the Vermittlungsstelle token (treats every transfer as one that needs none)",
        ),
        "DP-04-type-first": BrokenRegister(
            "DP-04",
            "answers an evidence type it does not provide with 0007 before checking the token",
        ),
        "DP-05": BrokenRegister("DP-05", "does not check the IDNr: an invalid one is 0004"),
        "DP-06": BrokenRegister("DP-06", "answers an unknown person with 0008 instead of 0004"),
        "DP-07": BrokenRegister("DP-07", "says 'Auskunftssperre' when a blocked person is asked"),
        "DP-08": BrokenRegister("DP-08", "reuses the request's nachrichtenUUID in its answers"),
        "DP-12": BrokenRegister("DP-12", "logs nothing"),
        "DP-13": BrokenRegister("DP-13", "takes longer than the time budget for every evidence"),
        "DP-14": BrokenRegister("DP-14", "answers an unsupported evidence type with 0003"),
        "DP-15": BrokenRegister("DP-15", "has no /health endpoint"),
        "DP-16": BrokenRegister(
            "DP-16",
            "accepts any participant with a valid access token as caller, not only its own SAK",
        ),
        "DP-16-acts-for": BrokenRegister(
            "DP-16", "takes its own SAK's token whomever it acts for (acts_for not checked)"
        ),
        "DP-17": BrokenRegister(
            "DP-17", "takes the 0101's requester as the consumer instead of Noots-Consumer"
        ),
    }
)

_Receive = Callable[[], Awaitable[dict[str, Any]]]
_Send = Callable[[dict[str, Any]], Awaitable[None]]
_BLOCKED = "01234567845"  # the information-block identity of noots.synthetic.identities
_AUSKUNFTSSPERRE = "Auskunftssperre nach § 51 BMG"
Sleep = Callable[[float], Awaitable[None]]


class _NoLog:
    """A protocol log that keeps nothing (DP-12)."""

    def append(self, **_entry: object) -> None:
        return None

    def transfer(self, _message_id: str) -> list[object]:
        return []

    def close(self) -> None:
        return None


# -- what a variant changes -------------------------------------------------------------------

Headers = dict[str, str]


@dataclass(frozen=True)
class _Change:
    """What one variant changes where the register meets its SAK."""

    #: The delivery on its way in: new body and headers.
    request: Callable[[bytes, Headers], tuple[bytes, Headers]] | None = None
    #: The answer on its way out (request bytes, answer bytes → new answer bytes).
    answer: Callable[[bytes, bytes], bytes] | None = None
    #: Extra seconds before the answer leaves.
    delay: Callable[[bytes], float] | None = None
    hide_health: bool = False
    #: The push endpoint's caller check: any valid token of anybody is taken as its SAK's.
    any_caller: bool = False
    #: The push endpoint's caller check: its own SAK's token counts whomever it acts for.
    any_acts_for: bool = False


def _request_of(raw: bytes) -> messages.EvidenceRequest | None:
    with contextlib.suppress(NootsError):
        parsed = messages.parse(parse(raw))
        if isinstance(parsed, messages.EvidenceRequest):
            return parsed
    return None


def _code_of(body: bytes) -> str | None:
    with contextlib.suppress(NootsError):
        found = parse(body).find("{*}Exception/{*}Code/code")
        if found is not None and found.text:
            return found.text.strip()
    return None


def _is_delivery(body: bytes) -> bool:
    with contextlib.suppress(NootsError):
        return parse(body).find(".//{*}RepositoryItem/{*}RepositoryItem") is not None
    return False


def _edit(body: bytes, change: Callable[[etree._Element], bool]) -> bytes:
    """``body`` with ``change`` applied to its tree (unchanged when ``change`` says False)."""
    try:
        root = parse(body)
    except NootsError:
        return body
    return serialize(root) if change(root) else body


def _set_code(code: str, detail: str | None = None) -> Callable[[etree._Element], bool]:
    def change(root: etree._Element) -> bool:
        element = root.find("{*}Exception/{*}Code/code")
        if element is None:
            return False
        element.text = code
        if detail is not None:
            detail_element = root.find("{*}Exception/{*}Detail")
            if detail_element is not None:
                detail_element.text = detail
        return True

    return change


def _variant(name: str, service: RegisterService) -> _Change:
    register = service.register
    provided = {spec.classification for spec in register.evidence_types}
    if name == "DP-01":

        def extra_element(_raw: bytes, body: bytes) -> bytes:
            def change(root: etree._Element) -> bool:
                if root.find(".//{*}RepositoryItem/{*}RepositoryItem") is None:
                    return False
                etree.SubElement(root, f"{{{messages.NS_DE}}}Bemerkung").text = "nicht vorgesehen"
                return True

            return _edit(body, change)

        return _Change(answer=extra_element)
    if name == "DP-04":

        def no_token(raw: bytes, headers: Headers) -> tuple[bytes, Headers]:
            request = _request_of(raw)
            if request is None:
                return raw, headers
            changed = {k: v for k, v in headers.items() if k.lower() != "noots-vs-token-required"}
            changed[SakHeader.VS_TOKEN_REQUIRED] = "false"
            return messages.to_bytes(request.with_token("")), changed

        return _Change(request=no_token)
    if name == "DP-04-type-first":

        def type_first(raw: bytes, body: bytes) -> bytes:
            request = _request_of(raw)
            if request is None or request.evidence_type.classification in provided:
                return body
            answer = messages.answer_with_error(
                request,
                EdmCode.UNSUPPORTED_CAPABILITY,
                "this register does not provide the requested evidence type",
                clock=service.clock,
                error_provider=register.agent,
            )
            return messages.to_bytes(answer)

        return _Change(answer=type_first)
    if name == "DP-05":

        def invalid_idnr(raw: bytes, body: bytes) -> bytes:
            request = _request_of(raw)
            number = getattr(request.subject, "idnr", None) if request is not None else None
            if number is None or idnr_rules.is_valid(number, allow_test_numbers=True):
                return body
            if _code_of(body) != EdmCode.INVALID_REQUEST.value:
                return body
            return _edit(body, _set_code(EdmCode.NOT_FOUND.value))

        return _Change(answer=invalid_idnr)
    if name == "DP-06":

        def unknown_is_error(_raw: bytes, body: bytes) -> bytes:
            if _code_of(body) != EdmCode.NOT_FOUND.value:
                return body
            return _edit(body, _set_code(EdmCode.QUERY_ERROR.value))

        return _Change(answer=unknown_is_error)
    if name == "DP-07":

        def says_blocked(raw: bytes, body: bytes) -> bytes:
            request = _request_of(raw)
            if request is None or getattr(request.subject, "idnr", None) != _BLOCKED:
                return body
            return _edit(body, _set_code(EdmCode.NOT_FOUND.value, _AUSKUNFTSSPERRE))

        return _Change(answer=says_blocked)
    if name == "DP-08":

        def reuse_uuid(raw: bytes, body: bytes) -> bytes:
            request = _request_of(raw)
            if request is None:
                return body

            def change(root: etree._Element) -> bool:
                answered = root.find(".//{*}nachrichtenUUID")
                if answered is None:
                    return False
                answered.text = str(request.message_uuid)
                return True

            return _edit(body, change)

        return _Change(answer=reuse_uuid)
    if name == "DP-14":

        def wrong_code(_raw: bytes, body: bytes) -> bytes:
            if _code_of(body) != EdmCode.UNSUPPORTED_CAPABILITY.value:
                return body
            return _edit(body, _set_code(EdmCode.INVALID_REQUEST.value))

        return _Change(answer=wrong_code)
    if name == "DP-15":
        return _Change(hide_health=True)
    if name == "DP-16":
        return _Change(any_caller=True)
    if name == "DP-16-acts-for":
        return _Change(any_acts_for=True)
    if name == "DP-17":

        def requester_is_consumer(raw: bytes, headers: Headers) -> tuple[bytes, Headers]:
            request = _request_of(raw)
            if request is None:
                return raw, headers
            changed = {k: v for k, v in headers.items() if k.lower() != "noots-consumer"}
            changed[SakHeader.CONSUMER] = request.requester.identifier
            return raw, changed

        return _Change(request=requester_is_consumer)
    return _Change()  # DP-12 (configured) and DP-13 (delay) are set up by the caller


# -- where the register meets its SAK ---------------------------------------------------------


class _CallerCheck:
    """DP-16's faults: a valid access token of *anybody* for this register counts as its own
    SAK's, or (``own_sak_only``) its own SAK's token counts whomever it acts for. The real
    check is bypassed by presenting a proper token of the SAK instead."""

    def __init__(self, service: RegisterService, *, own_sak_only: bool = False) -> None:
        self.service = service
        self.own_sak_only = own_sak_only
        self.verifier = AccessTokenVerifier(
            service.participant.validator,
            iam_id=service.topology.platform.iam_id,
            audience=service.register.participant_id,
            clock=service.clock,
        )
        pki = service.settings.pki_dir
        authority = CertificateAuthority.open(pki, clock=service.clock)
        self.iam = authority.credential(service.topology.platform.iam_id)
        self.sak = load_credential(pki, service.sak_id)

    def authorization(self, header: str | None) -> str | None:
        try:
            grant = self.verifier.verify_authorization(header)
        except NootsError:
            return header
        if self.own_sak_only and grant.subject != self.service.sak_id:
            return header
        token = issue_access_token(
            self.iam,
            client=ValidatedCertificate(self.service.sak_id, Role.SAK, self.sak.certificate),
            audience=self.service.register.participant_id,
            acts_for=self.service.register.participant_id,
            clock=self.service.clock,
        )
        return f"Bearer {token}"


class _BrokenApp:
    """The register app behind an ASGI layer that applies the variant's change in push mode
    (and hides ``/health`` or lets any caller in, in both modes)."""

    def __init__(self, inner: Any, service: RegisterService, change: _Change, sleep: Sleep) -> None:
        self.inner = inner
        self.service = service
        self.state = inner.state
        self.router = inner.router
        self.change = change
        self.sleep = sleep
        self.callers = (
            _CallerCheck(service, own_sak_only=change.any_acts_for)
            if change.any_caller or change.any_acts_for
            else None
        )

    async def __call__(self, scope: dict[str, Any], receive: _Receive, send: _Send) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        if scope["path"] == "/health" and self.change.hide_health:
            await _plain(send, 404, b'{"detail":"Not Found"}', b"application/json")
            return
        if scope["path"] != PROVIDER_REQUESTS_PATH or scope["method"] != "POST":
            await self.inner(scope, receive, send)
            return
        raw = await read_request_body(receive)
        headers: Headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if self.callers is not None:
            authorization = self.callers.authorization(_header(headers, "authorization"))
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            if authorization is not None:
                headers["authorization"] = authorization
        if self.change.request is not None:
            raw, headers = self.change.request(raw, headers)
        inner_scope = {
            **scope,
            "headers": [
                (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
            ],
        }
        status, answer_headers, answer = await call_app(self.inner, inner_scope, raw)
        if answer.lstrip().startswith(b"<"):  # a 0102/0103, not a refusal of the caller
            answer = _answered(self.change, raw, answer)
            if self.change.delay is not None:
                await self.sleep(self.change.delay(answer))
        out = [(k, v) for k, v in answer_headers if k.lower() != b"content-length"]
        out.append((b"content-length", str(len(answer)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": answer})


def _header(headers: Headers, name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


def _answered(change: _Change, raw: bytes, answer: bytes) -> bytes:
    return change.answer(raw, answer) if change.answer is not None else answer


class _BrokenTransport(httpx.AsyncBaseTransport):
    """Between a passive register and its SAK: the variant's change applied to each fetched
    delivery and to each answer posted back."""

    def __init__(self, inner: httpx.AsyncBaseTransport, change: _Change, sleep: Sleep) -> None:
        self.inner = inner
        self.change = change
        self.sleep = sleep
        self.fetched: dict[str, bytes] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        answer_prefix = PROVIDER_ANSWER_PATH.split("{", 1)[0]
        if request.method == "POST" and path.startswith(answer_prefix):
            delivery_id = path[len(answer_prefix) :].split("/", 1)[0]
            raw = self.fetched.pop(delivery_id, b"")
            body = _answered(self.change, raw, await request.aread())
            if self.change.delay is not None:
                await self.sleep(self.change.delay(body))
            request = httpx.Request(
                request.method,
                request.url,
                headers=[
                    (k, v) for k, v in request.headers.items() if k.lower() != "content-length"
                ],
                content=body,
            )
            return await self.inner.handle_async_request(request)
        response = await self.inner.handle_async_request(request)
        if request.method != "GET" or path != PROVIDER_REQUESTS_PATH or response.status_code != 200:
            return response
        raw = await response.aread()
        headers: Headers = dict(response.headers.items())
        if self.change.request is not None:
            raw, headers = self.change.request(raw, headers)
        delivery_id = _header(headers, SakHeader.DELIVERY_ID.lower()) or ""
        self.fetched[delivery_id] = raw
        headers = {
            k: v
            for k, v in headers.items()
            if k.lower() not in ("content-length", "content-encoding")
        }
        return httpx.Response(200, headers=headers, content=raw, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def broken_register_app(
    variant: str,
    settings: RegisterSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Sleep = asyncio.sleep,
    delay: float = 2.5,
    **options: Any,
) -> Any:
    """The mock register of ``settings`` broken as ``variant`` says (:data:`BROKEN_REGISTERS`).

    ``transport`` carries a passive register's calls to its SAK (the variant's change sits in
    it); ``sleep`` waits where the variant is slow (``delay`` seconds, DP-13); ``options`` go
    to the register's factory (a test's clock, for instance)."""
    if variant not in BROKEN_REGISTERS:
        raise KeyError(f"no broken register {variant!r}; known: {sorted(BROKEN_REGISTERS)}")
    if variant == "DP-12":
        options["protocol_log"] = _NoLog()
    wrapped: httpx.AsyncBaseTransport | None = None
    if transport is not None:
        wrapped = _BrokenTransport(transport, _Change(), sleep)
    app = register_app(settings, transport=wrapped, sleep=sleep, **options)
    service: RegisterService = app.state.register
    change = _variant(variant, service)
    if variant == "DP-13":
        change = _Change(delay=lambda body: delay if _is_delivery(body) else 0.0)
    if isinstance(wrapped, _BrokenTransport):
        wrapped.change = change
    return _BrokenApp(app, service, change, sleep)


def register_app(settings: RegisterSettings, **options: Any) -> Any:
    """The mock register of ``settings`` through the public factory of its kind
    (``registers.<kind>.create_app``); ``options`` as that factory takes them."""
    import importlib

    spec = settings.register_spec(settings.load_topology())
    factory = importlib.import_module(f"noots.registers.{spec.kind}").create_app
    return factory(settings, **options)


async def _plain(send: _Send, status: int, body: bytes, media_type: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", media_type),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# -- SAKs that are wrong on purpose ------------------------------------------------------------

#: Variant → the SAK condition it fails and what the SAK does wrong. All but SAK-07 wrap a
#: register's SAK (an ASGI layer in front of the real app); SAK-07 is an online service's SAK
#: whose answers are repaired in transit before it checks them (as if it did not check).
BROKEN_SAKS: Mapping[str, BrokenRegister] = MappingProxyType(
    {
        "SAK-01": BrokenRegister(
            "SAK-01", "takes an envelope whose signature does not verify (signs it itself)"
        ),
        "SAK-03": BrokenRegister("SAK-03", "keeps no replay cache and takes any Created"),
        "SAK-04": BrokenRegister("SAK-04", "crashes (HTTP 500, no answer) on a DOCTYPE or UTF-16"),
        "SAK-05": BrokenRegister(
            "SAK-05", "takes OnBehalfOf as given, not as the online service its sender serves"
        ),
        "SAK-06": BrokenRegister("SAK-06", "binds every answer to other bytes"),
        "SAK-07": BrokenRegister("SAK-07", "hands on answers it has not verified"),
        "SAK-09": BrokenRegister("SAK-09", "takes an envelope without a valid access token"),
        "SAK-10": BrokenRegister("SAK-10", "has no /health endpoint"),
    }
)


@dataclass
class _SakParts:
    """What a broken SAK double needs from the landscape's PKI (a simulated landscape)."""

    pki_dir: Any
    topology: Any
    clock: Any
    sak_id: str

    def credential(self, participant_id: str) -> Any:
        return load_credential(self.pki_dir, participant_id)

    def verifier(self) -> Any:
        from noots.participant import load_validator
        from noots.signing import XmlVerifier

        return XmlVerifier(load_validator(self.pki_dir, clock=self.clock))

    def token(self, subject: str, audience: str) -> str:
        authority = CertificateAuthority.open(self.pki_dir, clock=self.clock)
        iam = authority.credential(self.topology.platform.iam_id)
        client = self.credential(subject)
        return "Bearer " + issue_access_token(
            iam,
            client=ValidatedCertificate(subject, Role.SAK, client.certificate),
            audience=audience,
            acts_for=self.topology.acts_for(subject),
            clock=self.clock,
        )


def _opened(raw: bytes, parts: _SakParts) -> Any:
    from noots.envelope import open_envelope

    try:
        return open_envelope(raw, parts.verifier(), required_role=Role.SAK)
    except NootsError as error:
        return error


class _BrokenSak:
    """A register's SAK with one thing wrong, in front of the real app."""

    def __init__(self, inner: Any, variant: str, parts: _SakParts) -> None:
        self.inner = inner
        self.state = getattr(inner, "state", None)
        self.router = getattr(inner, "router", None)
        self.variant = variant
        self.parts = parts

    async def __call__(self, scope: dict[str, Any], receive: _Receive, send: _Send) -> None:
        from noots.sak import TRANSPORT_PATH

        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        if scope["path"] == "/health" and self.variant == "SAK-10":
            await _plain(send, 404, b'{"detail":"Not Found"}', b"application/json")
            return
        if scope["path"] != TRANSPORT_PATH or scope["method"] != "POST":
            await self.inner(scope, receive, send)
            return
        original = await read_request_body(receive)
        if self.variant == "SAK-04" and (
            b"<!DOCTYPE" in original
            or original[:2]
            in (
                b"\xff\xfe",
                b"\xfe\xff",
            )
        ):
            await _plain(send, 500, b"", b"text/plain")
            return
        headers: Headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        forwarded = self._request(original, headers)
        inner_scope = {
            **scope,
            "headers": [
                (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
            ],
        }
        status, answer_headers, answer = await call_app(self.inner, inner_scope, forwarded)
        if forwarded != original or self.variant == "SAK-06":
            answer = self._rebind(answer, original)
        out = [(k, v) for k, v in answer_headers if k.lower() != b"content-length"]
        out.append((b"content-length", str(len(answer)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": answer})

    def _request(self, raw: bytes, headers: Headers) -> bytes:
        """The envelope the real SAK gets (and, for SAK-09, the token it sees)."""
        import dataclasses as dc

        from noots.envelope import seal
        from noots.errors import SignatureError

        parts = self.parts
        unverified = unverified_parts(raw)
        if unverified is None:
            return raw
        header, body = unverified
        if self.variant == "SAK-09":
            try:
                token = parts.token(header.sender, parts.sak_id)
            except (UnknownParticipant, OSError, ValueError):
                return raw  # a sender the PKI does not know gets no token of its own
            for key in [k for k in headers if k.lower() == "authorization"]:
                del headers[key]
            headers["authorization"] = token
            return raw
        opened = _opened(raw, parts)
        try:
            signer = XmlSigner(parts.credential(header.sender))
        except (UnknownParticipant, OSError, ValueError):
            return raw  # a sender the PKI does not know: nothing to sign as
        if self.variant == "SAK-01" and isinstance(opened, SignatureError):
            try:
                return seal(header, body, signer)
            except Exception:  # a body canonicalisation cannot sign (an attack of its own)
                return raw
        if isinstance(opened, NootsError):
            return raw
        if self.variant == "SAK-03":
            fresh = dc.replace(header, message_id=uuid.uuid4(), created=parts.clock.now())
            return seal(fresh, body, signer)
        if self.variant == "SAK-05":
            served = parts.topology.served_by(header.sender).participant_id
            if header.on_behalf_of != served:
                return seal(dc.replace(header, on_behalf_of=served), body, signer)
        return raw

    def _rebind(self, answer: bytes, original: bytes) -> bytes:
        """The answer signed again by the SAK, bound to ``original`` (or, SAK-06, to other
        bytes)."""
        import dataclasses as dc

        from noots.envelope import request_digest, seal

        unverified = unverified_parts(answer)
        if unverified is None:
            return answer
        header, body = unverified
        bound = request_digest(b"other bytes" + original if self.variant == "SAK-06" else original)
        signer = XmlSigner(self.parts.credential(self.parts.sak_id))
        return seal(dc.replace(header, message_id=uuid.uuid4(), in_response_to=bound), body, signer)


def broken_sak_app(variant: str, inner: Any, *, pki_dir: Any, topology: Any, clock: Any) -> Any:
    """The register's SAK app ``inner`` broken as ``variant`` says (:data:`BROKEN_SAKS`, all
    but SAK-07); ``pki_dir`` is the simulated landscape's PKI (the double signs with it)."""
    if variant not in BROKEN_SAKS or variant == "SAK-07":
        raise KeyError(f"no broken register SAK {variant!r}; known: {sorted(BROKEN_SAKS)}")
    sak_id = inner.state.sak.sak_id
    return _BrokenSak(inner, variant, _SakParts(pki_dir, topology, clock, sak_id))


class _Credulous(httpx.AsyncBaseTransport):
    """Between an online service's SAK and a provider's SAK: every answer that would not
    verify is signed again properly (as the provider's SAK, bound to the request): the online
    service's SAK then hands on what it should have refused (SAK-07)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, parts: _SakParts) -> None:
        self.inner = inner
        self.parts = parts

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import dataclasses as dc
        from datetime import timedelta

        from noots.envelope import check_binding, check_fresh, request_digest, seal
        from noots.sak import TRANSPORT_PATH

        response = await self.inner.handle_async_request(request)
        if request.method != "POST" or not request.url.path.endswith(TRANSPORT_PATH):
            return response
        raw_request = await request.aread()
        answer = await response.aread()
        opened = _opened(answer, self.parts)
        good = not isinstance(opened, NootsError)
        if good:
            try:
                check_binding(opened, raw_request)
                # A stale answer is one to repair too (it is signed again with a fresh time).
                check_fresh(
                    opened.header.created,
                    self.parts.clock.now(),
                    timedelta(seconds=300),
                    kind="answer envelope",
                )
                good = opened.header.sender == self.parts.sak_id
            except NootsError:
                good = False
        unverified = unverified_parts(answer)
        if good or unverified is None:
            return httpx.Response(response.status_code, headers=response.headers, content=answer)
        header, body = unverified
        request_parts = unverified_parts(raw_request)
        register = self.parts.topology.served_by(self.parts.sak_id).participant_id
        fixed = dc.replace(
            header,
            sender=self.parts.sak_id,
            on_behalf_of=register,
            recipient=request_parts[0].sender if request_parts else header.recipient,
            created=self.parts.clock.now(),
            in_response_to=request_digest(raw_request),
        )
        sealed = seal(fixed, body, XmlSigner(self.parts.credential(self.parts.sak_id)))
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        return httpx.Response(response.status_code, headers=headers, content=sealed)

    async def aclose(self) -> None:
        await self.inner.aclose()


def credulous_transport(
    inner: httpx.AsyncBaseTransport, *, provider_sak: str, pki_dir: Any, topology: Any, clock: Any
) -> httpx.AsyncBaseTransport:
    """SAK-07's double: the transport to ``provider_sak`` repairs every answer the online
    service's SAK would have to refuse (see :class:`_Credulous`)."""
    return _Credulous(inner, _SakParts(pki_dir, topology, clock, provider_sak))


# -- Intermediäre Plattformen that are wrong on purpose ----------------------------------------

#: Variant → the IP condition it fails and what the IP does wrong. Each wraps the real IP app
#: (an ASGI layer in front of its access point ``…/as4``) in a simulated landscape, whose PKI
#: it signs with.
BROKEN_IPS: Mapping[str, BrokenRegister] = MappingProxyType(
    {
        "IP-04": BrokenRegister(
            "IP-04", "answers with the evidence at once when the requester asks for a preview"
        ),
        "IP-05": BrokenRegister(
            "IP-05",
            "passes on a message whose signature does not verify (signs it again as its sender)",
        ),
        "IP-10": BrokenRegister(
            "IP-10", "names the person (name, date of birth) in the detail of every rs:Exception"
        ),
    }
)


class _BrokenIp:
    """The IP with one thing wrong at its access point, in front of the real app."""

    def __init__(self, inner: Any, variant: str, pki_dir: Any, clock: Any) -> None:
        self.inner = inner
        self.state = getattr(inner, "state", None)
        self.router = getattr(inner, "router", None)
        self.variant = variant
        self.pki_dir = pki_dir
        self.clock = clock

    def _signer(self, participant_id: str) -> XmlSigner | None:
        try:
            return XmlSigner(load_credential(self.pki_dir, participant_id))
        except (UnknownParticipant, OSError, ValueError):
            return None

    async def __call__(self, scope: dict[str, Any], receive: _Receive, send: _Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not scope["path"].endswith("/as4")
        ):
            await self.inner(scope, receive, send)
            return
        original = await read_request_body(receive)
        forwarded = await asyncio.to_thread(self._request, original)
        status, headers, answer = await call_app(self.inner, scope, forwarded)
        if self.variant == "IP-10":
            answer = await asyncio.to_thread(self._leak, original, answer)
        out = [(k, v) for k, v in headers if k.lower() != b"content-length"]
        out.append((b"content-length", str(len(answer)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": answer})

    def _request(self, raw: bytes) -> bytes:
        """What the real IP gets: a repaired signature (IP-05), no preview asked (IP-04)."""
        import dataclasses as dc

        from noots.eu import ebms, edm
        from noots.participant import load_validator
        from noots.signing import XmlVerifier

        message = ebms.unverified_message(raw)
        if message is None:
            return raw
        signer = self._signer(message.from_party)
        if signer is None:
            return raw
        if self.variant == "IP-05":
            try:
                verifier = XmlVerifier(load_validator(self.pki_dir, clock=self.clock))
                verifier.verify(parse(raw))
            except NootsError:
                return ebms.seal_user_message(message, signer)
            return raw
        if self.variant == "IP-04":
            try:
                query = edm.parse(parse(message.edm_document))
            except NootsError:
                return raw
            if (
                isinstance(query, edm.QueryRequest)
                and query.possibility_for_preview
                and query.preview_location is None
            ):
                plain = dc.replace(query, possibility_for_preview=False)
                document = dc.replace(message.parts[0], data=edm.to_bytes(plain))
                return ebms.seal_user_message(
                    dc.replace(message, parts=(document, *message.parts[1:])), signer
                )
        return raw

    def _leak(self, request: bytes, answer: bytes) -> bytes:
        """The answer's rs:Exception with the person's name and date of birth in its detail,
        sealed again as the IP's access point (IP-10)."""
        import dataclasses as dc

        from noots.eu import ebms, edm

        asked, message = ebms.unverified_message(request), ebms.unverified_message(answer)
        if asked is None or message is None or message.action != ebms.ACTION_EXCEPTION:
            return answer
        signer = self._signer(message.from_party)
        try:
            root = parse(asked.edm_document)
            document = edm.parse(parse(message.edm_document))
        except NootsError:
            return answer
        sdg = "{http://data.europa.eu/p4s}"
        names = [
            (element.text or "").strip()
            for local in ("GivenName", "FamilyName", "DateOfBirth")
            for element in root.iter(sdg + local)
        ]
        if signer is None or not isinstance(document, edm.QueryErrorResponse) or not any(names):
            return answer
        error = dc.replace(document.error, detail=f"person {' '.join(names)}")
        leaky = edm.to_bytes(dc.replace(document, error=error))
        part = dc.replace(message.parts[0], data=leaky)
        return ebms.seal_user_message(dc.replace(message, parts=(part, *message.parts[1:])), signer)


def broken_ip_app(variant: str, inner: Any, *, pki_dir: Any, clock: Any) -> Any:
    """The IP app ``inner`` broken as ``variant`` says (:data:`BROKEN_IPS`); ``pki_dir`` is
    the simulated landscape's PKI (the double signs with it)."""
    if variant not in BROKEN_IPS:
        raise KeyError(f"no broken IP {variant!r}; known: {sorted(BROKEN_IPS)}")
    return _BrokenIp(inner, variant, pki_dir, clock)
