"""Vermittlungsstelle (VS, § 7 Abs. 2 IDNrG): the abstract authorisation of a transfer, sealed.

``POST /vs/v1/tokens`` takes a signed envelope with a ``vst:TokenRequest`` from a data consumer
and answers with a signed envelope carrying either the sealed ``vst:AuthorisationToken``
(``vst:IssuedToken``, base64) bound to the request hash, or ``env:Error`` ``EDM:ERR:0002``
whose detail says why.

The rule (:func:`authorise`), checked in this order; the first failure is the reason:

1. The envelope's signer (a certificate of role ``consumer``) asks for itself: the request's
   ``Consumer`` is the signer's participant id.
2. The consumer is a data consumer of the landscape; the evidence type (its classification URI)
   is known; the provider is a register of the landscape and provides that evidence type.
3. **Intra-area rule.** § 7 Abs. 2 IDNrG puts a Vermittlungsstelle between public bodies of
   *different* administrative areas (Bereiche). When the consumer and the provider belong to the
   same area, the abstract check does not apply: the VS issues the token without a matrix
   entry (decision ``granted:intra-area``), with or without IDNr. It still issues a token, because
   every provider checks one (DP-04) and the token is what binds purpose, partners and request
   hash; the provider remains responsible for its own legal basis inside its area.
4. **Across areas** a row of the authorisation matrix (``authorisations`` in the topology) must
   allow exactly this: consumer, evidence type, provider (``"*"`` or listed), purpose and legal
   basis as declared, and, if the request carries an IDNr, a row with ``uses_idnr: true``.
   A row with ``uses_idnr: false`` allows the same transfer without an IDNr only. noots applies
   the matrix to every cross-area transfer, not only to those with an IDNr: the law mandates
   the VS for the IDNr ones, and the simulator does not open an unchecked path for the others.

Before any of this, the request must be fresh and new: its envelope's ``Created`` within the
freshness window (±300 s by default) and its message id one the VS has not accepted before
(:class:`~noots.envelope.ReplayGuard`, journaled in ``<data_dir>/state/<vs id>.db`` so that it
holds across a restart). A replayed or stale request is refused with ``EDM:ERR:0003`` before
any decision is made and leaves no line in the decision log.

The refusal names the first rule broken and what the matrix does allow this consumer (its own
rows only). The VS logs abstractly (:class:`DecisionLog`): time, consumer, provider, evidence
type, purpose, legal basis, decision and reason; never an IDNr, a request hash or any content.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from lxml import etree

from noots import _sqlite
from noots.clock import Clock
from noots.envelope import ReplayGuard, error_body, open_envelope
from noots.errors import (
    AuthorisationRefused,
    InvalidInput,
    NootsError,
    QueryError,
    UnresolvedReference,
    UnsupportedEvidenceType,
)
from noots.intermediary._edge import XML_MEDIA_TYPE, http_status, read_body
from noots.intermediary._envelopes import Addressing, claimed_addressing, sign_answer
from noots.participant import Participant
from noots.pki import Role
from noots.tls import NO_TLS, TlsPeer
from noots.tokens import (
    AuthorisationToken,
    TokenRequest,
    build_issued_token_body,
    issue_token,
    parse_token_request,
)
from noots.topology import EvidenceTypeSpec, Topology

__all__ = [
    "VS_SERVICE_ID",
    "DecisionEntry",
    "DecisionLog",
    "Grant",
    "Vermittlungsstelle",
    "authorise",
    "router",
]

log = logging.getLogger("noots.intermediary.vs")

VS_SERVICE_ID = "urn:noots:service:noots-vs:tokens"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True)
class Grant:
    """Why the VS says yes: the rule that applied and the areas of the two parties."""

    rule: Literal["matrix", "intra-area"]
    evidence_type: EvidenceTypeSpec
    consumer_area: str
    provider_area: str

    @property
    def decision(self) -> str:
        return f"granted:{self.rule}"


def _allowed(topology: Topology, consumer: str) -> str:
    rows = [a for a in topology.authorisations if a.consumer == consumer]
    if not rows:
        return "The matrix has no row for this consumer."
    parts = []
    for row in rows:
        providers = "any provider" if row.providers == "*" else ", ".join(row.providers)
        idnr = "with IDNr" if row.uses_idnr else "without IDNr"
        parts.append(
            f"{row.evidence_type} from {providers} for purpose {row.purpose!r} "
            f"({row.legal_basis}; {idnr})"
        )
    return "Authorised for this consumer: " + "; ".join(parts) + "."


def authorise(topology: Topology, request: TokenRequest, *, signer: str) -> Grant:
    """The VS's decision on ``request`` signed by ``signer`` (pure: reads only the topology).

    Returns the :class:`Grant` or raises :class:`AuthorisationRefused` whose message is the
    reason (participant ids, evidence types and purposes only: never personal data).
    """
    if request.consumer != signer:
        raise AuthorisationRefused(
            f"token requested by {signer} for consumer {request.consumer}: "
            "a consumer can ask only for itself"
        )
    try:
        consumer = topology.consumer(request.consumer)
    except UnresolvedReference:
        raise AuthorisationRefused(
            f"{request.consumer} is not a data consumer of this landscape"
        ) from None
    try:
        spec = topology.evidence_type_by_classification(request.evidence_type)
    except UnsupportedEvidenceType:
        known = ", ".join(f"{s.name} ({s.classification})" for s in topology.evidence_types)
        raise AuthorisationRefused(
            f"unknown evidence type {request.evidence_type}; known: {known}"
        ) from None
    try:
        provider = topology.register(request.provider)
    except UnresolvedReference:
        raise AuthorisationRefused(
            f"{request.provider} is not a data provider of this landscape"
        ) from None
    if spec.name not in provider.evidence_types:
        providers = ", ".join(r.participant_id for r in topology.find_providers(spec.name))
        raise AuthorisationRefused(
            f"wrong provider: {provider.participant_id} does not provide {spec.name} "
            f"(providers of {spec.name}: {providers})"
        )
    decided = any(d.area == consumer.area for d in topology.vs_decisions)
    if consumer.area == provider.area and not decided:
        return Grant("intra-area", spec, consumer.area, provider.area)

    crossing = f"{consumer.area} → {provider.area}"
    allowed = _allowed(topology, consumer.participant_id)
    for_type = [
        a
        for a in topology.authorisations
        if a.consumer == consumer.participant_id and a.evidence_type == spec.name
    ]
    if not for_type:
        raise AuthorisationRefused(
            f"evidence type not authorised: the matrix does not allow {consumer.participant_id} "
            f"to receive {spec.name} across areas ({crossing}). {allowed}"
        )
    rows = [a for a in for_type if a.allows_provider(provider.participant_id)]
    if not rows:
        raise AuthorisationRefused(
            f"provider not authorised: the matrix does not allow {consumer.participant_id} to "
            f"receive {spec.name} from {provider.participant_id} ({crossing}). {allowed}"
        )
    rows = [a for a in rows if a.purpose == request.purpose]
    if not rows:
        raise AuthorisationRefused(
            f"purpose not authorised: {request.purpose!r} is not a purpose for which "
            f"{consumer.participant_id} may receive {spec.name} ({crossing}). {allowed}"
        )
    rows = [a for a in rows if a.legal_basis == request.legal_basis]
    if not rows:
        raise AuthorisationRefused(
            f"legal basis not authorised: {request.legal_basis!r} is not the legal basis of "
            f"the matrix row for {spec.name}, purpose {request.purpose!r}. {allowed}"
        )
    if request.uses_idnr and not any(a.uses_idnr for a in rows):
        raise AuthorisationRefused(
            f"IDNr use not authorised: {consumer.participant_id} may receive {spec.name} for "
            f"{request.purpose!r} only without the IDNr ({crossing})"
        )
    return Grant("matrix", spec, consumer.area, provider.area)


# --------------------------------------------------------------------------------------------
# The abstract log


@dataclass(frozen=True)
class DecisionEntry:
    """One line of the VS's abstract log."""

    sequence: int
    recorded_at: datetime
    consumer: str
    provider: str
    evidence_type: str
    purpose: str
    legal_basis: str
    decision: str  # granted:matrix | granted:intra-area | refused
    reason: str


_SQLITE_SCHEMA = """CREATE TABLE IF NOT EXISTS vs_decisions (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT, recorded_at TEXT NOT NULL,
    consumer TEXT NOT NULL, provider TEXT NOT NULL, evidence_type TEXT NOT NULL,
    purpose TEXT NOT NULL, legal_basis TEXT NOT NULL, decision TEXT NOT NULL,
    reason TEXT NOT NULL)"""
_POSTGRES_SCHEMA = """CREATE TABLE IF NOT EXISTS vs_decisions (
    sequence BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, recorded_at TEXT NOT NULL,
    consumer TEXT NOT NULL, provider TEXT NOT NULL, evidence_type TEXT NOT NULL,
    purpose TEXT NOT NULL, legal_basis TEXT NOT NULL, decision TEXT NOT NULL,
    reason TEXT NOT NULL)"""
_INSERT = (
    "INSERT INTO vs_decisions (recorded_at, consumer, provider, evidence_type, purpose,"
    " legal_basis, decision, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_SELECT = (
    "SELECT sequence, recorded_at, consumer, provider, evidence_type, purpose, legal_basis,"
    " decision, reason FROM vs_decisions ORDER BY sequence"
)


class DecisionLog:
    """The VS's abstract log: SQLite file or PostgreSQL (``postgresql://`` URL); thread-safe.

    It holds who asked to receive which evidence type from whom, for what purpose and on which
    legal basis, and the decision. It has no column for an IDNr, a request hash or content.
    """

    def __init__(self, target: str | Path, *, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        text = str(target)
        self._postgres = text.startswith(("postgresql://", "postgres://"))
        self._connection: Any
        if self._postgres:
            import psycopg

            self._connection = psycopg.connect(text, autocommit=True)
            with self._connection.transaction(), self._connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (0x6E6F6F7476,))
                cursor.execute(_POSTGRES_SCHEMA)
        else:
            # FULL is SQLite's own default, named so the choice is visible.
            self._connection = _sqlite.connect(Path(target), synchronous="FULL", timeout=60.0)
            self._connection.execute(_SQLITE_SCHEMA)

    @contextlib.contextmanager
    def _cursor(self) -> Iterator[Any]:
        with self._lock:
            cursor = self._connection.cursor()
            try:
                yield cursor
            finally:
                cursor.close()

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self._postgres else statement

    def record(
        self,
        *,
        consumer: str,
        provider: str,
        evidence_type: str,
        purpose: str,
        legal_basis: str,
        decision: str,
        reason: str,
    ) -> None:
        recorded_at = self._clock.now().astimezone(UTC).strftime(_TIME_FORMAT)
        values = (recorded_at, consumer, provider, evidence_type, purpose, legal_basis)
        with self._cursor() as cursor:
            cursor.execute(self._sql(_INSERT), (*values, decision, reason))

    def entries(self) -> list[DecisionEntry]:
        with self._cursor() as cursor:
            cursor.execute(_SELECT)
            rows = cursor.fetchall()
        return [
            DecisionEntry(
                int(row[0]),
                datetime.strptime(row[1], _TIME_FORMAT).replace(tzinfo=UTC),
                *row[2:],
            )
            for row in rows
        ]

    def close(self) -> None:
        with self._lock:
            self._connection.close()


# --------------------------------------------------------------------------------------------
# The service


@dataclass(frozen=True)
class VsAnswer:
    status: int
    body: bytes


class Vermittlungsstelle:
    """Verifies token requests, decides, seals tokens, logs abstractly."""

    def __init__(
        self,
        participant: Participant,
        topology: Topology,
        log: DecisionLog,
        *,
        replay: ReplayGuard,
        lifetime: timedelta = timedelta(minutes=5),
    ) -> None:
        self.participant = participant
        self.topology = topology
        self.log = log
        self.replay = replay
        self.lifetime = lifetime

    async def handle(self, raw: bytes, peer: TlsPeer = NO_TLS) -> VsAnswer:
        """One ``POST /vs/v1/tokens``: the signed answer, whatever happened.

        Checks, decision and signing run on the event loop (CPU work gains nothing from
        threads); only the replay journal and the decision log, which wait on a disk or a
        database, run in a worker thread."""
        addressing = claimed_addressing(raw, default_service=VS_SERVICE_ID)
        try:
            opened = open_envelope(
                raw, self.participant.verifier, required_role=frozenset({Role.CONSUMER, Role.SAK})
            )
            addressing = Addressing.of(opened.header)
            peer.check(opened.header.sender, component=self.participant.participant_id)
            acting_for = self._acting_for(
                opened.signer.participant_id, opened.signer.role, opened.header.on_behalf_of
            )
            if opened.header.recipient != self.participant.participant_id:
                raise InvalidInput(
                    f"envelope addressed to {opened.header.recipient}, "
                    f"not to the Vermittlungsstelle {self.participant.participant_id}"
                )
            # Fresh and never seen, before anything is decided or logged: a captured request
            # sent again (or one created long ago or ahead) gets no token (0003). Only after
            # the signature: unsigned ids never fill the cache.
            await run_in_threadpool(self.replay.check, opened.header)
            request = parse_token_request(opened.body)
            if opened.header.purpose is not None and opened.header.purpose != request.purpose:
                raise InvalidInput("envelope Purpose and token request Purpose differ")
            body = await self._decide(request, signer=acting_for)
        except NootsError as exc:
            body = error_body(exc.code, exc.message, self.participant.participant_id)
            status = http_status(exc.code)
        except Exception:
            # A failure outside the error tree (a bug in a library below) is refused, signed,
            # never answered with an unsigned 500 or a token.
            log.exception("unexpected failure in the Vermittlungsstelle")
            error = QueryError("internal error in the Vermittlungsstelle; no token issued")
            body = error_body(error.code, error.message, self.participant.participant_id)
            status = http_status(error.code)
        else:
            status = 200
        return VsAnswer(status, sign_answer(self.participant, addressing, raw, body))

    def _acting_for(self, signer: str, role: Role, on_behalf_of: str | None) -> str:
        """The data consumer a token request speaks for: a SAK speaks for the online service
        it connects (and must say so in ``OnBehalfOf``), an online service for itself."""
        if role is not Role.SAK:
            return signer
        try:
            served = self.topology.served_by(signer)
        except UnresolvedReference:
            raise AuthorisationRefused(f"{signer} is the SAK of no participant") from None
        if on_behalf_of != served.participant_id:
            raise AuthorisationRefused(
                f"{signer} is the SAK of {served.participant_id} and can ask only for it"
            )
        return served.participant_id

    def refuse_unread(self, error: NootsError) -> VsAnswer:
        """The answer to a body refused before it was read in full (too large)."""
        body = error_body(error.code, error.message, self.participant.participant_id)
        addressing = Addressing("unknown", VS_SERVICE_ID, None)
        return VsAnswer(
            http_status(error.code), sign_answer(self.participant, addressing, None, body)
        )

    async def _decide(self, request: TokenRequest, *, signer: str) -> etree._Element:
        evidence_type = request.evidence_type
        with contextlib.suppress(UnsupportedEvidenceType):
            evidence_type = self.topology.evidence_type_by_classification(evidence_type).name
        entry = {
            "consumer": request.consumer,
            "provider": request.provider,
            "evidence_type": evidence_type,
            "purpose": request.purpose,
            "legal_basis": request.legal_basis,
        }
        try:
            grant = authorise(self.topology, request, signer=signer)
        except AuthorisationRefused as exc:
            await run_in_threadpool(
                functools.partial(self.log.record, **entry, decision="refused", reason=exc.message)
            )
            raise
        token = AuthorisationToken.grant(
            request,
            issuer=self.participant.participant_id,
            clock=self.participant.clock,
            lifetime=self.lifetime,
        )
        issued = issue_token(token, self.participant.signer)
        reason = (
            f"same administrative area ({grant.consumer_area})"
            if grant.rule == "intra-area"
            else f"matrix row ({grant.consumer_area} → {grant.provider_area})"
        )
        await run_in_threadpool(
            functools.partial(self.log.record, **entry, decision=grant.decision, reason=reason)
        )
        return build_issued_token_body(issued)


def get_vs(request: Request) -> Vermittlungsstelle:
    vs: Vermittlungsstelle = request.app.state.vs
    return vs


VsDep = Annotated[Vermittlungsstelle, Depends(get_vs)]

router = APIRouter(prefix="/vs/v1", tags=["Vermittlungsstelle"])


@router.post("/tokens", response_class=Response)
async def tokens(request: Request, vs: VsDep) -> Response:
    """Authorise one transfer and answer with a sealed token or a signed refusal."""
    try:
        raw = await read_body(request)
    except NootsError as exc:
        answer = vs.refuse_unread(exc)
    else:
        answer = await vs.handle(raw, TlsPeer.of(request.scope))
    return Response(answer.body, status_code=answer.status, media_type=XML_MEDIA_TYPE)
