"""Reading answers for grading: what they say, and whether they hold up.

A conformance suite has to look at answers that a real consumer would throw away, to say *why*
they are wrong. So each answer is read twice: leniently (hardened parse, then plain look-ups of
code, request id, evidence, times: what the answer claims) and strictly (the full XNachweis
parse and, for a signed envelope, signature, certificate and ``InResponseTo`` binding: whether
it could be accepted). The conditions are graded on the lenient reading; the ones about
validity and signatures grade the strict one. That way one fault shows in one condition only.

:func:`read_message` reads the bare 0102/0103 a register answers its SAK;
:func:`read_answer` reads a signed answer envelope as one SAK answers another.
"""

from __future__ import annotations

import re
import runpy
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from lxml import etree

from noots import messages
from noots.conformance.i18n import _
from noots.envelope import ENV_NS, check_binding, open_envelope
from noots.errors import NootsError
from noots.paths import shared_dir
from noots.pki import Role
from noots.signing import DS_NS, XmlVerifier
from noots.xml import parse

__all__ = [
    "Answer",
    "Exchange",
    "official_validator",
    "read_answer",
    "read_message",
    "time_zone_problems",
]

_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(Z|[+-]\d{2}:\d{2})?")


@dataclass(frozen=True)
class Answer:
    """What one answer body says (lenient) and whether it holds up (strict)."""

    kind: str  # "0102", "0103", "env:Error", "other", "not-xml", "empty"
    code: str | None = None
    detail: str | None = None
    request_id: str | None = None
    message_uuid: str | None = None
    response_id: str | None = None
    has_evidence: bool = False
    available_at: str | None = None
    sender: str | None = None
    in_response_to: str | None = None
    times: tuple[str, ...] = ()
    body_xml: bytes = field(default=b"", repr=False)
    structure: tuple[str, ...] = ()
    signed: bool = False
    signature_error: str | None = None
    binding_error: str | None = None
    parse_error: str | None = None
    message: messages.EvidenceResponse | messages.EvidenceErrorResponse | None = None

    @property
    def is_error(self) -> bool:
        return self.kind in ("0103", "env:Error")

    @property
    def verified(self) -> bool:
        """Signed by the target, trusted, and bound to its request."""
        return self.signed and self.signature_error is None and self.binding_error is None

    def describe(self) -> str:
        """What the answer is, for a report (in the report language; kinds and codes as
        they are)."""
        if self.kind == "empty":
            return _("leere Antwort", "empty answer")
        if self.kind == "not-xml":
            return _("Antwort ist kein XML", "not-xml answer")
        if self.kind == "other":
            return _("andere Antwort (keine 0102/0103)", "other answer")
        if self.kind == "0102":
            if self.available_at:
                return _(
                    f"0102 kündigt ResponseAvailableDateTime {self.available_at} an",
                    f"0102 announcing ResponseAvailableDateTime {self.available_at}",
                )
            if self.has_evidence:
                return _("0102 mit Nachweis", "0102 with evidence")
            return _("0102 ohne Nachweis", "0102 without evidence")
        return f"{self.kind} {self.code or _('(kein Code)', '(no code)')}"


@dataclass(frozen=True)
class Exchange:
    """One request sent to the target and what came back."""

    name: str
    raw: bytes = field(repr=False)
    status: int | None
    body: bytes = field(repr=False)
    seconds: float
    answer: Answer
    transport_error: str | None = None

    def describe(self) -> str:
        if self.transport_error:
            return _(f"keine Antwort: {self.transport_error}", f"no answer: {self.transport_error}")
        if self.status is None:
            return self.answer.describe()
        return f"HTTP {self.status}, {self.answer.describe()}"


def _text(element: etree._Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip()


def _first(root: etree._Element, path: str) -> etree._Element | None:
    found = root.find(path)
    return found


def _structure(element: etree._Element) -> tuple[str, ...]:
    """The element names in document order: the shape of an answer without its values."""
    return tuple(etree.QName(e).localname for e in element.iter() if isinstance(e.tag, str))


def _read_message(message: etree._Element, values: dict[str, object], times: list[str]) -> str:
    """The lenient reading of one answer message into ``values``; returns its kind."""
    kind = "other"
    local = etree.QName(message).localname
    if local == "DE.EvidenceResponse.0102":
        kind = "0102"
    elif local == "DE.EvidenceErrorResponse.0103":
        kind = "0103"
    elif message.tag == f"{{{ENV_NS}}}Error":
        kind = "env:Error"
        values["code"] = _text(message.find(f"{{{ENV_NS}}}Code"))
        values["detail"] = _text(message.find(f"{{{ENV_NS}}}Detail"))
    if kind in ("0102", "0103"):
        values["request_id"] = message.get("requestid")
        values["message_uuid"] = _text(_first(message, ".//{*}nachrichtenUUID"))
        values["response_id"] = _text(_first(message, "{*}EvidenceResponseIdentifier"))
        values["code"] = _text(_first(message, "{*}Exception/{*}Code/code"))
        values["detail"] = _text(_first(message, "{*}Exception/{*}Detail"))
        values["has_evidence"] = bool(
            _text(_first(message, ".//{*}RepositoryItem/{*}RepositoryItem"))
        )
        values["available_at"] = _text(_first(message, ".//{*}ResponseAvailableDateTime"))
        for element in message.iter():
            text = element.text if isinstance(element.tag, str) else None
            if text and _DATETIME.fullmatch(text.strip()):
                times.append(text.strip())
    values["body_xml"] = bytes(etree.tostring(message))
    values["structure"] = _structure(message)
    return kind


def _strict(
    kind: str, message: etree._Element | None
) -> tuple[messages.EvidenceResponse | messages.EvidenceErrorResponse | None, str | None]:
    """The full XNachweis parse of a 0102/0103 (whatever its signature says)."""
    if kind not in ("0102", "0103") or message is None:
        return None, None
    try:
        candidate = messages.parse(message)
    except NootsError as exc:
        return None, exc.message
    if isinstance(candidate, messages.EvidenceRequest):
        return None, _("die Antwort ist eine Nachweisanfrage", "the answer is a request")
    return candidate, None


def read_message(body: bytes) -> Answer:
    """Read a bare 0102/0103 (a register's answer to its SAK) leniently and strictly; an
    answer of a register is never signed (its SAK signs it)."""
    if not body:
        return Answer("empty")
    try:
        root = parse(body)
    except NootsError as exc:
        return Answer("not-xml", parse_error=exc.message)
    values: dict[str, object] = {}
    times: list[str] = []
    kind = _read_message(root, values, times)
    parsed, parse_error = _strict(kind, root)
    return Answer(
        kind,
        times=tuple(times),
        parse_error=parse_error,
        message=parsed,
        **values,  # type: ignore[arg-type]
    )


def read_answer(
    body: bytes,
    request_raw: bytes,
    *,
    verifier: XmlVerifier,
    participant: str,
    role: Role = Role.PROVIDER,
) -> Answer:
    """Read a signed answer envelope leniently and check it strictly: signed by
    ``participant`` in ``role`` under the trust anchor, bound to ``request_raw``."""
    if not body:
        return Answer("empty")
    try:
        root = parse(body)
    except NootsError as exc:
        return Answer("not-xml", parse_error=exc.message)
    values: dict[str, object] = {}
    header = root.find(f"{{{ENV_NS}}}Header")
    message: etree._Element | None
    if root.tag == f"{{{ENV_NS}}}TransportEnvelope" and header is not None:
        values["sender"] = _text(header.find(f"{{{ENV_NS}}}Sender"))
        values["in_response_to"] = _text(header.find(f"{{{ENV_NS}}}InResponseTo"))
        created = _text(header.find(f"{{{ENV_NS}}}Created"))
        body_parent = root.find(f"{{{ENV_NS}}}Body")
        message = body_parent[0] if body_parent is not None and len(body_parent) else None
    else:
        created = None
        message = root
    values["signed"] = root.find(f"{{{DS_NS}}}Signature") is not None
    times: list[str] = [created] if created else []
    kind = _read_message(message, values, times) if message is not None else "other"
    parsed, parse_error = _strict(kind, message)
    signature_error = binding_error = None
    try:
        opened = open_envelope(body, verifier, required_role=role)
        if opened.signer.participant_id != participant:
            signature_error = _(
                f"signiert von {opened.signer.participant_id}, nicht von {participant}",
                f"signed by {opened.signer.participant_id}, not by {participant}",
            )
        try:
            check_binding(opened, request_raw)
        except NootsError as exc:
            binding_error = exc.message
    except NootsError as exc:
        signature_error = f"{type(exc).__name__}: {exc.message}"
    return Answer(
        kind,
        times=tuple(times),
        signature_error=signature_error,
        binding_error=binding_error,
        parse_error=parse_error,
        message=parsed,
        **values,  # type: ignore[arg-type]
    )


@cache
def official_validator() -> Callable[[bytes], list[str]] | None:
    """The official XNachweis 1.2.0 validator from ``../shared`` if present (else None: the
    suite then checks the structure with :func:`noots.messages.parse` only)."""
    shared = shared_dir()
    if shared is None:
        return None
    tool = Path(shared) / "tools" / "xnachweis_check.py"
    if not tool.is_file():
        return None
    validate: Callable[[bytes], list[str]] = runpy.run_path(str(tool))["validate"]
    return validate


def time_zone_problems(times: tuple[str, ...]) -> list[str]:
    """The date-times of an answer that are not UTC with an explicit zone."""
    problems = []
    for value in times:
        match = _DATETIME.fullmatch(value)
        zone = match.group(1) if match else None
        if zone not in ("Z", "+00:00", "-00:00"):
            problems.append(value)
    return problems
