"""Datenschutzcockpit (DSC, § 10 OZG): a citizen sees every transfer about their own IDNr.

``GET /dsc/v1/transfers`` with ``Authorization: Bearer <identity token>`` answers the transfers
logged about the token's IDNr: who asked whom, for which evidence type and purpose, when, and
the outcome, one row per transfer (the entries of the register and the online service for the
same request id are joined, each party's record kept). ``/dsc/`` is the same as a plain
HTML page in German, with a login form for the simulated eID (:mod:`noots.intermediary.eid`): the
citizen picks a test person (the simulated eID stands in for the online ID card, so there is
no number to type) at level "hoch", preselected. Times on the page are Europe/Berlin, written
by Babel (``06.12.2026, 06:12 Uhr``); the JSON keeps UTC (``time``) and adds the German text
(``timeText``), as it adds ``outcomeText`` to ``outcome``. The page links the landscape's one
stylesheet (:mod:`noots.web`) and runs without any script or inline style.

The outcome of a transfer is the authoritative one (:func:`group_transfers`): the furthest it
got, delivered before pending before refused. A refusal logged under the same request id
after the transfer was delivered or announced (a captured request replayed, a repetition)
never overwrites it: it is shown as what it is, a refused repetition with its own time
(``refusedRepetition`` in the JSON records, "Wiederholung abgewiesen" on the page).

Authentication: the token must be sealed by a participant of role ``eid`` under the landscape's
trust anchor, be valid now, be meant for the DSC (audience ``noots-dsc`` or none) and have the
level of assurance **hoch**. Missing, broken or expired → 401; a lower level → 403, each with a
message that says what is needed.

Where the entries come from (:class:`ProtocolSources`): every party of the landscape writes its
protocol log (§ 9 IDNrG) to ``<data_dir>/logs/<participant id>.db``, or, when a database URL is
configured, all parties write to the one PostgreSQL database. The DSC reads them all and asks
each log only for the entries with the citizen's IDNr; nothing else is ever read or shown.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

import jinja2
from fastapi import APIRouter, Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from noots.clock import Clock, format_utc
from noots.eid import IdentityToken, verify_identity
from noots.errors import (
    IdentityError,
    IdentityLevelTooLow,
    InvalidInput,
    NootsError,
    PersonNotFound,
    UnresolvedReference,
)
from noots.intermediary.eid import DSC_AUDIENCE, EidService
from noots.intermediary.settings import PlatformSettings
from noots.protocol import ProtocolEntry, ProtocolLog, open_protocol_log
from noots.signing import XmlVerifier
from noots.synthetic.identities import BEHAVIOUR_IDENTITIES
from noots.topology import Topology
from noots.web import FAVICON, STYLESHEET, german_datetime, outcome_text

__all__ = [
    "Datenschutzcockpit",
    "ProtocolSources",
    "Transfer",
    "group_transfers",
    "page_router",
    "router",
]

SESSION_COOKIE = "noots_dsc_identity"
DSC_PARTY = "noots-dsc"

#: How far a transfer got, by a record's outcome (every refusal: 0).
_REACHED = {"pending": 1, "delivered": 2}
#: The levels of assurance the page offers, the one the DSC needs first (and preselected).
LEVELS_DE: tuple[tuple[str, str], ...] = (
    ("hoch", "hoch (Online-Ausweisfunktion) – vom Datenschutzcockpit verlangt"),
    ("substantiell", "substantiell – wird abgelehnt"),
    ("normal", "normal – wird abgelehnt"),
)


def _outcome_class(outcome: str) -> str:
    """How the page marks an outcome (besides its text and symbol)."""
    return {"delivered": "ok", "pending": "offen"}.get(outcome, "abgelehnt")


class ProtocolSources:
    """The protocol logs the DSC reads: one database, or every SQLite file of a directory.

    New files (a register started later) are picked up on the next query. Logs are only read:
    the DSC appends nothing.
    """

    def __init__(self, *, database_url: str | None, log_dir: Path, clock: Clock) -> None:
        self._url = database_url
        self._dir = log_dir
        self._clock = clock
        self._logs: dict[str, ProtocolLog] = {}
        self._lock = threading.Lock()

    def _current(self) -> list[ProtocolLog]:
        targets = [self._url] if self._url else sorted(str(p) for p in self._dir.glob("*.db"))
        with self._lock:
            for target in targets:
                if target not in self._logs:
                    self._logs[target] = open_protocol_log(
                        target, party=DSC_PARTY, clock=self._clock
                    )
            return [self._logs[t] for t in targets]

    def entries(self, idnr: str) -> list[ProtocolEntry]:
        """Every logged entry about ``idnr``, from every source."""
        found: list[ProtocolEntry] = []
        for log in self._current():
            found.extend(e for e in log.entries(idnr=idnr) if e.idnr == idnr)
        return found

    def close(self) -> None:
        with self._lock:
            for log in self._logs.values():
                log.close()
            self._logs.clear()


@dataclass(frozen=True)
class Transfer:
    """One transfer as the citizen sees it; ``records`` are the parties' log entries."""

    request_id: str
    first_seen: datetime
    last_seen: datetime
    consumer: str
    provider: str
    evidence_type: str
    purpose: str
    outcome: str
    records: tuple[ProtocolEntry, ...]
    #: The refusals in ``records`` logged after the transfer was delivered or announced: a
    #: repeated (or replayed) request that was refused. They do not change ``outcome``.
    refused_repetitions: tuple[ProtocolEntry, ...] = ()


def group_transfers(entries: Iterable[ProtocolEntry]) -> list[Transfer]:
    """One :class:`Transfer` per (request id, consumer, provider), newest first (pure).

    The outcome is the authoritative one: ``delivered`` if any party logged a delivery, else
    ``pending`` if the answer was announced, else the latest refusal. A refusal after the first
    delivery or announcement is a refused repetition (:attr:`Transfer.refused_repetitions`),
    never the outcome; a refusal before it was an attempt that a retry overtook. Every party's
    record stays visible in ``records``.
    """
    groups: dict[tuple[str, str, str], list[ProtocolEntry]] = {}
    for entry in entries:
        # Parties log the 0101's id as "urn:uuid:…"; a bare UUID is the same request.
        request_id = entry.message_id.removeprefix("urn:uuid:")
        groups.setdefault((request_id, entry.consumer, entry.provider), []).append(entry)
    transfers = []
    for (request_id, consumer, provider), records in groups.items():
        records.sort(key=lambda e: (e.recorded_at, e.party, e.sequence))
        last = records[-1]
        reached = max(records, key=lambda e: _REACHED.get(e.outcome, 0))
        answered = next((i for i, e in enumerate(records) if e.outcome in _REACHED), None)
        transfers.append(
            Transfer(
                request_id=request_id,
                first_seen=records[0].recorded_at,
                last_seen=last.recorded_at,
                consumer=consumer,
                provider=provider,
                evidence_type=last.evidence_type,
                purpose=last.purpose,
                outcome=reached.outcome if answered is not None else last.outcome,
                records=tuple(records),
                refused_repetitions=()
                if answered is None
                else tuple(e for e in records[answered:] if e.outcome not in _REACHED),
            )
        )
    transfers.sort(key=lambda t: (t.first_seen, t.request_id), reverse=True)
    return transfers


class Datenschutzcockpit:
    """Authenticates citizens and shows them their own transfers."""

    def __init__(
        self,
        verifier: XmlVerifier,
        sources: ProtocolSources,
        topology: Topology,
        *,
        clock: Clock,
    ) -> None:
        self.verifier = verifier
        self.sources = sources
        self.topology = topology
        self.clock = clock

    def authenticate(self, token: str) -> IdentityToken:
        """The citizen behind ``token``; :class:`IdentityError` (401) or
        :class:`IdentityLevelTooLow` (403)."""
        identity = verify_identity(token, self.verifier, clock=self.clock, min_level="hoch")
        if identity.audience not in (None, DSC_AUDIENCE):
            raise IdentityError(
                f"this identity token is meant for {identity.audience}, not the DSC"
            )
        return identity

    def transfers(self, identity: IdentityToken) -> list[Transfer]:
        return group_transfers(self.sources.entries(identity.idnr))

    def _name(self, participant_id: str) -> str:
        try:
            return self.topology.participant(participant_id).name
        except UnresolvedReference:
            return participant_id

    def _evidence_title(self, name: str) -> str:
        for spec in self.topology.evidence_types:
            if name in (spec.name, spec.classification):
                return spec.title
        return name

    def to_json(self, identity: IdentityToken, transfers: list[Transfer]) -> dict[str, Any]:
        return {
            "citizen": {
                "idnr": identity.idnr,
                "givenName": identity.given_name,
                "familyName": identity.family_name,
                "level": identity.level,
            },
            "transfers": [
                {
                    "requestId": t.request_id,
                    "time": format_utc(t.first_seen),
                    "timeText": german_datetime(t.first_seen),
                    "consumer": {"participantId": t.consumer, "name": self._name(t.consumer)},
                    "provider": {"participantId": t.provider, "name": self._name(t.provider)},
                    "evidenceType": t.evidence_type,
                    "evidenceTitle": self._evidence_title(t.evidence_type),
                    "purpose": t.purpose,
                    "outcome": t.outcome,
                    "outcomeText": outcome_text(t.outcome),
                    "outcomeClass": _outcome_class(t.outcome),
                    "records": [
                        {
                            "party": e.party,
                            "partyName": self._name(e.party),
                            "time": format_utc(e.recorded_at, millis=True),
                            "timeText": german_datetime(e.recorded_at, seconds=True),
                            "outcome": e.outcome,
                            "outcomeText": outcome_text(e.outcome),
                            # A refused repetition (e.g. a replay) after the transfer was
                            # delivered or announced: its own time, no effect on the outcome.
                            "refusedRepetition": e in t.refused_repetitions,
                        }
                        for e in t.records
                    ],
                }
                for t in transfers
            ],
        }


def get_dsc(request: Request) -> Datenschutzcockpit:
    dsc: Datenschutzcockpit = request.app.state.dsc
    return dsc


DscDep = Annotated[Datenschutzcockpit, Depends(get_dsc)]


def _refusal(exc: NootsError) -> JSONResponse:
    if isinstance(exc, IdentityLevelTooLow):
        return JSONResponse(
            {
                "detail": f"{exc.message}: the Datenschutzcockpit needs an identification "
                "at level 'hoch' (online ID card)",
            },
            status_code=403,
        )
    return JSONResponse(
        {
            "detail": f"not authenticated: {exc.message}. Send Authorization: Bearer <identity "
            "token of the eID service, level 'hoch'>",
        },
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="noots-dsc"'},
    )


router = APIRouter(prefix="/dsc/v1", tags=["Datenschutzcockpit"])


@router.get("/transfers")
async def transfers(
    dsc: DscDep, authorization: Annotated[str | None, Header()] = None
) -> JSONResponse:
    """The transfers about the authenticated citizen's own IDNr, newest first."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _refusal(IdentityError("no bearer token"))

    def read() -> dict[str, Any]:
        identity = dsc.authenticate(token.strip())
        return dsc.to_json(identity, dsc.transfers(identity))

    try:
        return JSONResponse(await run_in_threadpool(read))
    except (IdentityError, IdentityLevelTooLow) as exc:
        return _refusal(exc)


# --------------------------------------------------------------------------------------------
# The HTML page

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("noots.intermediary", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)

page_router = APIRouter(prefix="/dsc", tags=["Datenschutzcockpit"], include_in_schema=False)

_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
_LEVELS = {value for value, _ in LEVELS_DE}
#: The people the simulated eID offers: the fixed test identities (noots.synthetic.identities).
_PEOPLE = [
    {"idnr": i.idnr, "name": f"{i.given_names} {i.family_name}"} for i in BEHAVIOUR_IDENTITIES
]
_TOO_LOW = (
    "Das Datenschutzcockpit verlangt eine Anmeldung mit dem Vertrauensniveau „hoch“ "
    "(Online-Ausweisfunktion). Bitte melden Sie sich mit diesem Niveau an."
)


def _page(status: int = 200, **values: Any) -> HTMLResponse:
    values.setdefault("citizen", None)
    values.setdefault("transfers", [])
    values.setdefault("message", None)
    values.setdefault("eid_available", False)
    values.setdefault("chosen", _PEOPLE[0]["idnr"])
    html = _templates.get_template("dsc.html").render(
        levels=LEVELS_DE, people=_PEOPLE, stylesheet=STYLESHEET, favicon=FAVICON, **values
    )
    return HTMLResponse(html, status_code=status, headers=_SECURITY_HEADERS)


def _login_failed(exc: NootsError) -> str:
    """Why the simulated login failed, in German (no personal data, no English message)."""
    if isinstance(exc, PersonNotFound):
        return "Der simulierte eID-Dienst kennt keine Testperson mit dieser Identifikationsnummer."
    if isinstance(exc, InvalidInput):
        return "Das ist keine gültige Identifikationsnummer einer Testperson."
    return "Die Anmeldung beim simulierten eID-Dienst ist fehlgeschlagen."


@page_router.get("/", response_class=HTMLResponse)
async def page(request: Request, dsc: DscDep) -> HTMLResponse:
    """The Datenschutzcockpit page: the login form, or the citizen's transfers."""
    eid_available = hasattr(request.app.state, "eid")
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return _page(eid_available=eid_available)

    def read() -> dict[str, Any]:
        identity = dsc.authenticate(token)
        return dsc.to_json(identity, dsc.transfers(identity))

    try:
        data = await run_in_threadpool(read)
    except IdentityLevelTooLow:
        return _page(403, eid_available=eid_available, message=_TOO_LOW)
    except IdentityError:
        return _page(
            401,
            eid_available=eid_available,
            message="Ihre Anmeldung ist abgelaufen oder ungültig. Bitte melden Sie sich an.",
        )
    return _page(citizen=data["citizen"], transfers=data["transfers"])


@page_router.post("/anmelden")
async def sign_in(request: Request, dsc: DscDep) -> Response:
    """The simulated login of the page: form fields ``idnr`` (a test person) and ``level``
    (default "hoch"), or ``token`` (an identity token of the eID service).

    A login the DSC would refuse (a lower level) is answered at once with the form, the
    person still chosen; no cookie is set for it."""
    form = parse_qs((await request.body())[:4096].decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0].strip()
    eid: EidService | None = getattr(request.app.state, "eid", None)
    idnr = (form.get("idnr") or [""])[0].strip()
    chosen = idnr if any(p["idnr"] == idnr for p in _PEOPLE) else _PEOPLE[0]["idnr"]
    if not token:
        level = (form.get("level") or ["hoch"])[0]
        if eid is None:
            return _page(400, message="Anmeldung nicht möglich: kein eID-Dienst verfügbar.")
        if level not in _LEVELS:
            return _page(400, eid_available=True, chosen=chosen, message=_TOO_LOW)
        try:
            citizen = await run_in_threadpool(eid.citizen, idnr=idnr)
            _, token = await run_in_threadpool(
                lambda: eid.login(citizen, level=level)  # type: ignore[arg-type]
            )
        except NootsError as exc:
            return _page(400, eid_available=True, chosen=chosen, message=_login_failed(exc))
    try:
        await run_in_threadpool(dsc.authenticate, token)
    except IdentityLevelTooLow:
        return _page(403, eid_available=eid is not None, chosen=chosen, message=_TOO_LOW)
    except IdentityError:
        return _page(
            401,
            eid_available=eid is not None,
            chosen=chosen,
            message="Dieses Identitäts-Token ist ungültig oder abgelaufen.",
        )
    settings: PlatformSettings = request.app.state.platform.settings
    response = RedirectResponse("/dsc/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=settings.tls,
        path="/dsc",
    )
    return response


@page_router.post("/abmelden")
async def sign_out() -> Response:
    response = RedirectResponse("/dsc/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/dsc")
    return response
