"""What the online service's SAK answers on its consumer API, read strictly.

Pure functions (read a route, an authorisation, a problem, an XNachweis answer); the HTTP
calls are in :mod:`noots.consumers._client`. Every reader returns a checked value or raises a typed
error of :mod:`noots.errors`, whatever arrives.

Error codes: the BVA code list ``…:codeliste:nootserrorcodes`` is not published, so a
``DE.EvidenceErrorResponse.0103`` may carry a code outside ``EDM:ERR:0001…0008``. Such an
answer is accepted and read like any other; the code becomes :class:`UnlistedCodeError`,
which names it, never a "malformed answer".
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree

from noots import messages
from noots.consumers._results import Route
from noots.errors import (
    AuthorisationError,
    AuthorisationRefused,
    EdmCode,
    MalformedMessage,
    NootsError,
    QueryError,
    RouteNotFound,
    UpstreamError,
    error_for_code,
)

__all__ = [
    "Answer",
    "Authorisation",
    "UnlistedCodeError",
    "error_of_code",
    "read_answer",
    "read_authorisation",
    "read_problem",
    "read_route",
]

#: A code outside the EDM list as the client keeps it: an ``xs:token`` of reasonable length.
_CODE = re.compile(r"[^\s\x00-\x1f]+(?: [^\s\x00-\x1f]+)*")
_MAX_CODE = 256
_LISTED = frozenset(code.value for code in EdmCode)


class UnlistedCodeError(QueryError):
    """A refusal whose error code is outside ``EDM:ERR:0001…0008`` (``reported_code``).

    The national code list is not published: such a code is accepted and shown, never taken
    for a malformed answer. Its EDM fallback is ``EDM:ERR:0008`` (``code``), so callers that
    only know the EDM codes still handle it; it is never retried.
    """

    def __init__(self, reported_code: str, detail: str, *, component: str | None = None) -> None:
        text = f"error code {reported_code} (outside EDM:ERR:0001…0008)"
        super().__init__(f"{text}: {detail}" if detail else text, component=component)
        self.reported_code = reported_code
        self.detail = detail


def error_of_code(code: str, detail: str, *, component: str | None) -> NootsError:
    """The typed error for an error code found in an answer: the class of an EDM code, or
    :class:`UnlistedCodeError` for any other code."""
    if code in _LISTED:
        return error_for_code(code, detail, component=component)
    return UnlistedCodeError(code, detail, component=component)


# -- JSON answers -------------------------------------------------------------------------------


def _json(status: int, content: bytes, *, component: str) -> Any:
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError):
        raise UpstreamError(
            f"the SAK answered HTTP {status} without JSON", component=component
        ) from None


def read_problem(status: int, content: bytes, *, component: str) -> NootsError:
    """The typed error of a JSON problem (``code``, ``detail``, ``component``) the SAK
    answered; a body that is no problem is an :class:`UpstreamError` naming the status."""
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        data = None
    if isinstance(data, dict):
        code, detail, where = data.get("code"), data.get("detail"), data.get("component")
        if isinstance(code, str) and code.strip() and len(code) <= _MAX_CODE:
            reporter = where if isinstance(where, str) and where.strip() else component
            text = detail if isinstance(detail, str) else ""
            return error_of_code(code.strip(), text[:2000], component=reporter[:256])
    return UpstreamError(f"the SAK answered HTTP {status} without a problem", component=component)


def _text(data: dict[str, Any], key: str, *, component: str, what: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise UpstreamError(f"the SAK's {what} lacks {key}", component=component)
    return value.strip()


def read_route(status: int, content: bytes, evidence_type: str, *, component: str) -> Route:
    """The route of ``GET /consumer/v1/routes``: the one responsible provider and the evidence
    type as the RDN describes it; a problem becomes its typed error (``RouteNotFound`` when
    no provider or several answer)."""
    if status >= 400:
        error = read_problem(status, content, component=component)
        if status == 404 and type(error) is UpstreamError:
            raise RouteNotFound(
                f"the SAK knows no provider for {evidence_type}", component=component
            )
        raise error
    data = _json(status, content, component=component)
    if not isinstance(data, dict):
        raise UpstreamError("the SAK's route is no JSON object", component=component)
    provider = data.get("provider")
    kind = data.get("evidenceType")
    if not isinstance(provider, dict) or not isinstance(kind, dict):
        raise UpstreamError("the SAK's route lacks provider or evidenceType", component=component)
    service_id = _text(data, "serviceId", component=component, what="route")
    participant = _text(provider, "participantId", component=component, what="route provider")
    name = provider.get("name")
    area = provider.get("area")
    classification = _text(kind, "classification", component=component, what="route")
    title = _text(kind, "title", component=component, what="route")
    try:
        identifier = uuid.UUID(_text(kind, "identifier", component=component, what="route"))
        evidence = messages.EvidenceType(classification, title, identifier)
    except (ValueError, TypeError, NootsError):
        raise UpstreamError(
            "the SAK's route names an unusable evidence type", component=component
        ) from None
    return Route(
        provider=participant,
        provider_name=name.strip() if isinstance(name, str) and name.strip() else participant,
        service_id=service_id,
        provider_area=area.strip() if isinstance(area, str) else "",
        evidence_type=evidence,
    )


@dataclass(frozen=True)
class Authorisation:
    """What the SAK answered for one transfer: whether a Vermittlungsstelle token is needed
    (``required``, ``reason``), and if so the sealed ``token`` and when it expires."""

    required: bool
    reason: str
    token: str = ""
    expires_at: datetime | None = None


def read_authorisation(status: int, content: bytes, *, component: str) -> Authorisation:
    """The answer of ``POST /consumer/v1/authorisations``. The VS's "no" (``EDM:ERR:0002``)
    is :class:`AuthorisationRefused`: the transfer must not happen (nothing is sent)."""
    if status >= 400:
        error = read_problem(status, content, component=component)
        if isinstance(error, AuthorisationError) and not isinstance(error, AuthorisationRefused):
            raise AuthorisationRefused(error.message, component=error.component) from None
        raise error
    data = _json(status, content, component=component)
    if not isinstance(data, dict) or not isinstance(data.get("required"), bool):
        raise UpstreamError("the SAK's authorisation lacks required", component=component)
    reason = data.get("reason")
    reason_text = reason if isinstance(reason, str) else ""
    if not data["required"]:
        return Authorisation(False, reason_text)
    token = _text(data, "token", component=component, what="authorisation")
    expires = _text(data, "expiresAt", component=component, what="authorisation")
    try:
        expires_at = datetime.fromisoformat(expires.replace("Z", "+00:00"))
    except ValueError:
        expires_at = None
    if expires_at is None or expires_at.tzinfo is None:
        raise UpstreamError(
            "the SAK's authorisation has no expiresAt with a time zone", component=component
        )
    return Authorisation(True, reason_text, token, expires_at)


# -- XNachweis answers -------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """A 0102/0103 as the client read it; ``codes`` are the error codes of a 0103 exactly as
    sent (one per ``Exception``), also those outside the EDM list."""

    message: messages.EvidenceResponse | messages.EvidenceErrorResponse
    codes: tuple[str, ...] = ()


def _code_elements(element: etree._Element) -> list[etree._Element]:
    return list(element.iterfind("{*}Exception/{*}Code/code"))


def read_answer(element: etree._Element) -> Answer:
    """The 0102/0103 in ``element``; :class:`MalformedMessage` for anything else.

    Error codes outside the EDM list are kept as they came (the national code list is not
    published); one that no code list would use (not a short token) makes the answer unusable.
    """
    message = messages.parse(element)
    if isinstance(message, messages.EvidenceRequest):
        raise MalformedMessage("the answer is a request, not a response")
    codes: tuple[str, ...] = ()
    if isinstance(message, messages.EvidenceErrorResponse):
        codes = tuple(e.code.value for e in message.errors)
        for code in codes:
            if len(code) > _MAX_CODE or not _CODE.fullmatch(code):
                raise MalformedMessage("an error code of the answer is no usable code")
    return Answer(message, codes)
