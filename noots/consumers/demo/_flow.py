"""The state of one application (Antrag) and the server-side session store.

The browser holds only a signed session id; everything else stays here. Each step of the flow
is a method that checks the application is in the right state for it (DC-07: no preview
before consent, no use of data before the citizen accepted it).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal

from noots.consumers._document import DocumentRow
from noots.consumers._eu import OrderPlaced
from noots.consumers._explain import Explanation
from noots.consumers.demo._services import ApplicationField, EvidenceNeed, ServiceKind

__all__ = [
    "Application",
    "Citizen",
    "FlowError",
    "Retrieval",
    "SessionStore",
    "Step",
    "sign_session_id",
    "unsign_session_id",
]


class FlowError(Exception):
    """A step was attempted out of order; ``step`` is where the application really is."""

    def __init__(self, message: str, step: Step) -> None:
        super().__init__(message)
        self.step = step


class Step(StrEnum):
    LOGIN = "login"
    CONSENT = "consent"
    PREVIEW = "preview"
    DONE = "done"


@dataclass(frozen=True)
class Citizen:
    """Who logged in with the (simulated) eID; only what the identity token asserted."""

    idnr: str
    given_name: str
    family_name: str
    date_of_birth: date
    level: str


Decision = Literal["accepted", "rejected"]


@dataclass
class Retrieval:
    """One evidence of the application: fetched (rows to preview), failed (explanation), or
    announced by the register for later (``pending_until``, ``request_id``)."""

    need: EvidenceNeed
    provider_name: str | None = None
    rows: list[DocumentRow] = field(default_factory=list)
    error: Explanation | None = None
    decision: Decision | None = None
    request_id: str | None = None
    pending_until: datetime | None = None
    #: EU evidence (use case 4): the order the Intermediäre Plattform took; the citizen goes to
    #: its ``url_to_ip`` and comes back before the service collects.
    order: OrderPlaced | None = None

    @property
    def fetched(self) -> bool:
        return self.error is None and self.pending_until is None and bool(self.rows)

    @property
    def pending(self) -> bool:
        return self.pending_until is not None


@dataclass
class Application:
    """One citizen's application to one service, from login to completion."""

    id: str
    service: ServiceKind
    created_at: datetime
    citizen: Citizen | None = None
    details: dict[str, str] = field(default_factory=dict)
    consent_at: datetime | None = None
    retrievals: list[Retrieval] = field(default_factory=list)
    completed_at: datetime | None = None
    reference: str | None = None

    @property
    def step(self) -> Step:
        if self.citizen is None:
            return Step.LOGIN
        if self.consent_at is None:
            return Step.CONSENT
        if self.completed_at is None:
            return Step.PREVIEW
        return Step.DONE

    def _require(self, step: Step, action: str) -> None:
        if self.step is not step:
            raise FlowError(f"cannot {action} in step {self.step}", self.step)

    def log_in(self, citizen: Citizen) -> None:
        self._require(Step.LOGIN, "log in")
        self.citizen = citizen

    def give_consent(self, at: datetime, details: dict[str, str]) -> None:
        """Record consent; the retrieval may only start after this."""
        self._require(Step.CONSENT, "consent")
        self.details = dict(details)
        self.consent_at = at
        self.retrievals = [Retrieval(need) for need in self.service.needs]

    def decide(self, decisions: dict[str, Decision]) -> None:
        """Record accept/reject for every fetched evidence (all of them, in one go)."""
        self._require(Step.PREVIEW, "decide")
        fetched = [r for r in self.retrievals if r.fetched]
        missing = [r.need.evidence_type for r in fetched if r.need.evidence_type not in decisions]
        if missing:
            raise FlowError(f"no decision for {', '.join(missing)}", Step.PREVIEW)
        for retrieval in fetched:
            retrieval.decision = decisions[retrieval.need.evidence_type]

    def complete(self, at: datetime) -> None:
        """Finish the application with the accepted evidence only."""
        self._require(Step.PREVIEW, "complete")
        undecided = [r for r in self.retrievals if r.fetched and r.decision is None]
        if undecided:
            raise FlowError("every previewed evidence needs a decision", Step.PREVIEW)
        self.completed_at = at
        self.reference = f"{self.service.kind[:3].upper()}-{at:%Y%m%d}-{self.id[:6].upper()}"

    def accepted(self) -> list[Retrieval]:
        """The evidence the application may use: fetched, previewed and accepted."""
        return [r for r in self.retrievals if r.fetched and r.decision == "accepted"]

    def form(self) -> list[tuple[str, str | None]]:
        """The application's fields, filled from accepted evidence only (``None``: not proven)."""
        accepted = {r.need.evidence_type: r for r in self.accepted()}
        out: list[tuple[str, str | None]] = []
        for field_ in self.service.fields:
            retrieval = accepted.get(field_.evidence_type)
            out.append((field_.label, None if retrieval is None else _fill(field_, retrieval)))
        return out

    def pending(self) -> list[Retrieval]:
        """Evidence the register announced for later (not there when the citizen went on)."""
        return [r for r in self.retrievals if r.pending]

    def complete_evidence(self) -> bool:
        """Every evidence arrived and was accepted, and every field of the form is proven: only
        then does the service's outcome ("… per Post zugeschickt") apply."""
        return (
            bool(self.retrievals)
            and len(self.accepted()) == len(self.retrievals)
            and all(value is not None for _label, value in self.form())
        )

    def not_used(self) -> list[Retrieval]:
        """Rejected or failed evidence: the citizen hands these in themselves."""
        return [r for r in self.retrievals if not (r.fetched and r.decision == "accepted")]


_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def _fill(field_: ApplicationField, retrieval: Retrieval) -> str | None:
    values = {"/".join(row.path): row.value for row in retrieval.rows}
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        found = values.get(match.group(1))
        if found is None:
            missing = True
            return ""
        return found

    text = _PLACEHOLDER.sub(value, field_.template)
    return None if missing else text


class SessionStore:
    """Applications by session id, bounded in size and age (oldest are dropped first)."""

    def __init__(self, *, max_sessions: int = 10_000, max_age: timedelta = timedelta(hours=1)):
        self._items: OrderedDict[str, Application] = OrderedDict()
        self._max_sessions = max_sessions
        self._max_age = max_age
        self._lock = threading.Lock()

    def create(self, service: ServiceKind, now: datetime) -> Application:
        application = Application(secrets.token_hex(16), service, now)
        with self._lock:
            self._expire(now)
            self._items[application.id] = application
            while len(self._items) > self._max_sessions:
                self._items.popitem(last=False)
        return application

    def get(self, session_id: str, now: datetime) -> Application | None:
        with self._lock:
            self._expire(now)
            return self._items.get(session_id)

    def _expire(self, now: datetime) -> None:
        while self._items:
            oldest = next(iter(self._items.values()))
            if now - oldest.created_at <= self._max_age:
                break
            self._items.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def _mac(secret: bytes, purpose: str, value: str) -> str:
    return hmac.new(secret, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def sign_session_id(secret: bytes, session_id: str, purpose: str = "session") -> str:
    """``<id>.<mac>``: the cookie value (or, with another purpose, a form token)."""
    return f"{session_id}.{_mac(secret, purpose, session_id)}"


def unsign_session_id(secret: bytes, value: str, purpose: str = "session") -> str | None:
    """The id if the MAC is right, else ``None`` (a forged or foreign cookie)."""
    session_id, _, mac = value.partition(".")
    if not session_id or not mac:
        return None
    if not hmac.compare_digest(mac, _mac(secret, purpose, session_id)):
        return None
    return session_id
