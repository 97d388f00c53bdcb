"""Registers that are wrong on purpose: one per connection condition (online services:
:mod:`noots.testing.broken_consumers`).

The provider conformance suite is only worth something if it catches what it claims to catch.
Each variant here breaks **exactly one** condition of a correct mock register, so a run of the
suite against it must fail that condition and pass every other one (the tests prove it). The
variants are not copies of the register: they are the real app of :mod:`registers` with one
part configured differently (a lenient certificate validator, no protocol log, a replay guard
that lets everything through, a fault of :mod:`registers.faults`) or wrapped by a thin ASGI
layer that changes one thing in the request or the answer and signs again with the register's
own key.

::

    app = broken_register_app("DP-05", RegisterSettings(...))  # answers a bad IDNr with 0004
    report = await run_provider_suite(target, ..., transport=httpx.ASGITransport(app))
    assert failed sections of report == {"DP-05"}
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from cryptography import x509
from lxml import etree

from noots import idnr as idnr_rules
from noots import messages
from noots.envelope import EnvelopeHeader, request_digest, seal
from noots.errors import AuthorisationError, NootsError
from noots.participant import Participant, load_credential
from noots.pki import CertificateValidator, Role, StaticCrlSource, ValidatedCertificate
from noots.signing import DS_NS, XmlSigner, XmlVerifier
from noots.testing.requests import unverified_parts

if TYPE_CHECKING:
    from registers._service import RegisterService
    from registers.settings import RegisterSettings

__all__ = ["BROKEN_REGISTERS", "broken_register_app"]

#: Condition id → what the broken register does wrong.
BROKEN_REGISTERS: Mapping[str, str] = MappingProxyType(
    {
        "DP-01": "adds an element XNachweis does not allow to every 0102",
        "DP-02": "accepts a request without a signature (signs it itself)",
        "DP-03": "ignores certificate validity periods and the CRL",
        "DP-04": "ignores the Vermittlungsstelle token (mints its own)",
        "DP-05": "does not check the IDNr: an invalid one is 'not found' (0004)",
        "DP-06": "answers an unknown person with EDM:ERR:0008 instead of 0004",
        "DP-07": "says 'Auskunftssperre' when a blocked person is asked for",
        "DP-08": "reuses the request's nachrichtenUUID in its answers",
        "DP-09": "binds every answer to another request (fault wrong_binding)",
        "DP-10": "keeps no replay cache and accepts any timestamp",
        "DP-11": "crashes (HTTP 500, no answer) on a DOCTYPE or a UTF-16 document",
        "DP-12": "logs nothing",
        "DP-13": "takes longer than the time budget for every evidence",
        "DP-14": "answers an unsupported evidence type with EDM:ERR:0003",
        "DP-15": "has no /health endpoint",
    }
)

_Receive = Callable[[], Awaitable[dict[str, Any]]]
_Send = Callable[[dict[str, Any]], Awaitable[None]]
_App = Callable[[dict[str, Any], _Receive, _Send], Awaitable[None]]
_BLOCKED = "01234567845"  # the information-block identity of registers.identities


# -- configured parts ------------------------------------------------------------------------


class _TimelessValidator(CertificateValidator):
    """Checks issuer, key usage and role, but validates at a moment inside the certificate's
    validity and never consults a CRL: expired, not-yet-valid and revoked all pass."""

    def validate(
        self,
        cert: x509.Certificate,
        *,
        required_role: Role | frozenset[Role] | None = None,
        at: datetime | None = None,
    ) -> ValidatedCertificate:
        start = max(cert.not_valid_before_utc, self.trust_anchor.not_valid_before_utc)
        end = min(cert.not_valid_after_utc, self.trust_anchor.not_valid_after_utc)
        inside = start + (end - start) / 2 if end > start else start
        return super().validate(cert, required_role=required_role, at=inside)


def _timeless_participant(settings: RegisterSettings, participant_id: str) -> Participant:
    from noots.pki import load_certificate

    clock = settings.clock()
    credential = load_credential(settings.pki_dir, participant_id)
    anchor = load_certificate((settings.pki_dir / "ca" / "root-cert.pem").read_bytes())
    validator = _TimelessValidator(anchor, StaticCrlSource(None), clock, require_crl=False)
    return Participant(
        participant_id=participant_id,
        role=credential.role,
        credential=credential,
        signer=XmlSigner(credential),
        verifier=XmlVerifier(validator),
        validator=validator,
        clock=clock,
    )


class _NoReplayGuard:
    def check(self, header: EnvelopeHeader) -> None:
        return None


class _NoLog:
    def append(self, **_entry: object) -> None:
        return None

    def close(self) -> None:
        return None


# -- the wrapper -----------------------------------------------------------------------------


def _request_idnr(raw: bytes) -> str | None:
    parts = unverified_parts(raw)
    if parts is None:
        return None
    found = parts[1].find(".//{*}IDNr")
    return found.text.strip() if found is not None and found.text else None


def _error_code(body: etree._Element) -> etree._Element | None:
    return body.find("{*}Exception/{*}Code/code")


class _Broken:
    """Wraps the register app; ``request`` may replace the request bytes, ``answer`` the
    answer's body element (then the answer is signed again, bound to the original bytes)."""

    def __init__(
        self,
        inner: Any,
        service: RegisterService,
        *,
        request: Callable[[bytes], bytes] | None = None,
        answer: Callable[[bytes, etree._Element], bool] | None = None,
        crash: Callable[[bytes], bool] | None = None,
        delay: Callable[[etree._Element], float] | None = None,
        hide_health: bool = False,
    ) -> None:
        self.inner = inner
        self.service = service
        self.state = inner.state
        self._request = request
        self._answer = answer
        self._crash = crash
        self._delay = delay
        self._hide_health = hide_health

    async def __call__(self, scope: dict[str, Any], receive: _Receive, send: _Send) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        if scope["path"] == "/health" and self._hide_health:
            await _plain(send, 404, b'{"detail":"Not Found"}', b"application/json")
            return
        if scope["path"] != "/evidence/v1" or scope["method"] != "POST":
            await self.inner(scope, receive, send)
            return
        original = await _read_body(receive)
        if self._crash is not None and self._crash(original):
            await _plain(send, 500, b"", b"text/plain")
            return
        forwarded = self._request(original) if self._request is not None else original
        status, headers, answer = await _call(self.inner, scope, forwarded)
        parts = unverified_parts(answer)
        if parts is not None:
            header, body = parts
            changed = self._answer is not None and self._answer(original, body)
            if changed or forwarded != original:
                answer = seal(
                    dataclasses.replace(
                        header,
                        message_id=uuid.uuid4(),
                        in_response_to=request_digest(original),
                    ),
                    body,
                    self.service.participant.signer,
                )
            if self._delay is not None:
                await asyncio.sleep(self._delay(body))
        out = [(k, v) for k, v in headers if k.lower() != b"content-length"]
        out.append((b"content-length", str(len(answer)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": answer})


async def _read_body(receive: _Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _call(
    app: Any, scope: dict[str, Any], body: bytes
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    status = 500
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, headers, b"".join(chunks)


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


# -- the variants ----------------------------------------------------------------------------


def _resign_unsigned(service: RegisterService) -> Callable[[bytes], bytes]:
    """DP-02: an unsigned envelope is signed with the key of the participant it names."""

    def change(raw: bytes) -> bytes:
        if f"{{{DS_NS}}}Signature".encode() in raw or b"ds:Signature" in raw:
            return raw
        parts = unverified_parts(raw)
        if parts is None:
            return raw
        header, body = parts
        try:
            credential = load_credential(service.settings.pki_dir, header.sender)
        except Exception:
            return raw
        return seal(header, body, XmlSigner(credential))

    return change


def _mint_tokens(service: RegisterService) -> Callable[[bytes], bytes]:
    """DP-04: whatever token a verified request carries, a fresh one for it is put in."""
    from noots.tokens import AuthorisationToken, TokenRequest, issue_token, request_hash, uses_idnr
    from registers._pipeline import authorise, verify_request

    vs_id = service.topology.platform.vs_id
    signers: dict[str, XmlSigner] = {}

    def signer_of(participant_id: str) -> XmlSigner:
        if participant_id not in signers:
            credential = load_credential(service.settings.pki_dir, participant_id)
            signers[participant_id] = XmlSigner(credential)
        return signers[participant_id]

    def change(raw: bytes) -> bytes:
        try:
            verified = verify_request(
                raw, verifier=service.participant.verifier, register=service.register
            )
        except NootsError:
            return raw
        try:
            authorise(
                verified,
                verifier=service.participant.verifier,
                clock=service.clock,
                register=service.register,
            )
            return raw
        except AuthorisationError:
            pass
        except NootsError:
            return raw
        request = verified.request.with_token("")
        purpose = verified.header.purpose or "Test"
        token = AuthorisationToken.grant(
            TokenRequest(
                consumer=verified.header.sender,
                provider=service.register.participant_id,
                evidence_type=request.evidence_type.classification,
                purpose=purpose,
                legal_basis="Test",
                uses_idnr=uses_idnr(request),
                request_hash=request_hash(messages.build(request)),
            ),
            issuer=vs_id,
            clock=service.clock,
        )
        issued = issue_token(token, signer_of(vs_id))
        sender = signer_of(verified.header.sender)
        return seal(verified.header, messages.build(request.with_token(issued)), sender)

    return change


def _set_code(body: etree._Element, code: str, detail: str | None = None) -> bool:
    element = _error_code(body)
    if element is None:
        return False
    element.text = code
    if detail is not None:
        detail_element = body.find("{*}Exception/{*}Detail")
        if detail_element is not None:
            detail_element.text = detail
    return True


def _code_of(body: etree._Element) -> str | None:
    element = _error_code(body)
    return element.text.strip() if element is not None and element.text else None


def _is_delivery(body: etree._Element) -> bool:
    return body.find(".//{*}RepositoryItem/{*}RepositoryItem") is not None


def broken_register_app(
    condition_id: str,
    settings: RegisterSettings,
    *,
    delay: float = 2.5,
) -> Any:
    """The mock register of ``settings`` with condition ``condition_id`` broken (see
    :data:`BROKEN_REGISTERS`); ``delay`` is how late the DP-13 variant answers."""
    from registers._pipeline import NOT_FOUND_DETAIL
    from registers._service import create_register_app
    from registers.faults import Fault, FaultPlan

    if condition_id not in BROKEN_REGISTERS:
        raise KeyError(f"no broken register for {condition_id}; known: {sorted(BROKEN_REGISTERS)}")
    options: dict[str, Any] = {}
    if condition_id == "DP-03":
        topology = settings.load_topology()
        participant_id = settings.register_spec(topology).participant_id
        options["participant"] = _timeless_participant(settings, participant_id)
    if condition_id == "DP-09":
        settings = settings.model_copy(update={"faults": FaultPlan.always(Fault.WRONG_BINDING)})
    if condition_id == "DP-12":
        options["protocol_log"] = _NoLog()
    app = create_register_app(settings, **options)
    service: RegisterService = app.state.register
    if condition_id == "DP-10":
        service.replay = _NoReplayGuard()  # type: ignore[assignment]
    if condition_id in ("DP-03", "DP-09", "DP-10", "DP-12"):
        return app

    def rewrite(
        when: Callable[[bytes, etree._Element], bool], code: str, detail: str | None
    ) -> Callable[[bytes, etree._Element], bool]:
        def answer(raw: bytes, body: etree._Element) -> bool:
            return when(raw, body) and _set_code(body, code, detail)

        return answer

    if condition_id == "DP-01":

        def extra_element(_raw: bytes, body: etree._Element) -> bool:
            if not _is_delivery(body):
                return False
            etree.SubElement(body, f"{{{messages.NS_DE}}}Bemerkung").text = "nicht vorgesehen"
            return True

        return _Broken(app, service, answer=extra_element)
    if condition_id == "DP-02":
        return _Broken(app, service, request=_resign_unsigned(service))
    if condition_id == "DP-04":
        return _Broken(app, service, request=_mint_tokens(service))
    if condition_id == "DP-05":

        def invalid_idnr(raw: bytes, body: etree._Element) -> bool:
            number = _request_idnr(raw)
            return (
                number is not None
                and not idnr_rules.is_valid(number, allow_test_numbers=True)
                and _code_of(body) == "EDM:ERR:0003"
            )

        return _Broken(app, service, answer=rewrite(invalid_idnr, "EDM:ERR:0004", NOT_FOUND_DETAIL))
    if condition_id == "DP-06":
        return _Broken(
            app,
            service,
            answer=rewrite(lambda _r, b: _code_of(b) == "EDM:ERR:0004", "EDM:ERR:0008", None),
        )
    if condition_id == "DP-07":

        def blocked(raw: bytes, body: etree._Element) -> bool:
            return _request_idnr(raw) == _BLOCKED and _code_of(body) is not None

        return _Broken(
            app,
            service,
            answer=rewrite(blocked, "EDM:ERR:0004", "Auskunftssperre nach § 51 BMG"),
        )
    if condition_id == "DP-08":

        def reuse_uuid(raw: bytes, body: etree._Element) -> bool:
            parts = unverified_parts(raw)
            asked = parts[1].find(".//{*}nachrichtenUUID") if parts else None
            answered = body.find(".//{*}nachrichtenUUID")
            if asked is None or answered is None:
                return False
            answered.text = asked.text
            return True

        return _Broken(app, service, answer=reuse_uuid)
    if condition_id == "DP-11":

        def hostile(raw: bytes) -> bool:
            return b"<!DOCTYPE" in raw or raw[:2] in (b"\xff\xfe", b"\xfe\xff")

        return _Broken(app, service, crash=hostile)
    if condition_id == "DP-13":
        return _Broken(app, service, delay=lambda body: delay if _is_delivery(body) else 0.0)
    if condition_id == "DP-14":
        return _Broken(
            app,
            service,
            answer=rewrite(lambda _r, b: _code_of(b) == "EDM:ERR:0007", "EDM:ERR:0003", None),
        )
    return _Broken(app, service, hide_health=True)
