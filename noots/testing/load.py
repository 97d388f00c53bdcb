"""Steady load through a running landscape with the real client library, every exchange
tallied: what the crash-safety test and ``bench/soak.py`` drive.

::

    targets = [Target.of(data_dir, topology, topology.register(KBA))]
    tally = Tally()
    async with consumer_clients(data_dir, topology, {t.consumer for t in targets}) as clients:
        await asyncio.gather(*(worker(clients[t.consumer], t, tally, stop) for t in targets))
    # then check the protocol logs: protocol_log_entries(data_dir, party), duplicates(...)

An exchange either delivers evidence (its 0101 request id is kept), fails with a *clear*
error (a typed :class:`~noots.errors.NootsError`, counted by code and class), or fails in any
other way (``unclear``, which is a finding). A delivered exchange must be in the protocol logs
of the online service that fetched it and of its register; :func:`lost` names the ones that are
not.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from noots.clock import SystemClock
from noots.consumers import AsyncClient, Endpoints, PersonQuery, RetryPolicy
from noots.errors import NootsError
from noots.messages import LegalIdentifier, LegalPerson, NaturalPerson, Subject
from noots.participant import load_participant
from noots.protocol import ProtocolEntry, ProtocolLog, open_protocol_log
from noots.topology import RegisterSpec, Topology

__all__ = [
    "LOAD_RETRY",
    "Tally",
    "Target",
    "consumer_clients",
    "consumer_for",
    "duplicates",
    "lost",
    "protocol_log_entries",
    "subject_of",
    "worker",
]

#: Fewer, shorter retries than the client's default: a load test wants to see failures.
LOAD_RETRY = RetryPolicy(max_attempts=2, base_delay=0.1)

# Fixed queries: people a register holds who are not blocked and alive.
_HOLDS = {
    "melderegister": (
        "SELECT p.* FROM persons p WHERE p.information_block = 0 AND p.date_of_death IS NULL"
        " AND p.ags = ? ORDER BY p.idnr"
    ),
    "personenstandsregister": (
        "SELECT p.* FROM persons p WHERE p.information_block = 0 AND p.date_of_death IS NULL"
        " AND EXISTS (SELECT 1 FROM births b WHERE b.idnr = p.idnr) ORDER BY p.idnr"
    ),
    "kba": (
        "SELECT p.* FROM persons p WHERE p.information_block = 0 AND p.date_of_death IS NULL"
        " AND EXISTS (SELECT 1 FROM vehicles v WHERE v.holder_idnr = p.idnr) ORDER BY p.idnr"
    ),
}


def _person(row: sqlite3.Row) -> NaturalPerson:
    return NaturalPerson(
        row["family_name"],
        row["given_names"].split()[0],
        date.fromisoformat(row["date_of_birth"]),
        row["idnr"],
    )


def subject_of(db: sqlite3.Connection, register: RegisterSpec) -> Subject:
    """Someone (or a company) ``register`` holds and discloses, from the population file:
    a request about them is answered with evidence."""
    from noots.synthetic.identities import Behaviour, behaviour_of

    if register.kind == "handelsregister":
        company = db.execute("SELECT * FROM companies ORDER BY id LIMIT 1").fetchone()
        return LegalPerson(
            company["name"],
            identifiers=(LegalIdentifier(company["number"], company["register"]),),
        )
    query = _HOLDS[register.kind]
    rows = db.execute(query, (register.region,) if "?" in query else ())
    for found in rows:
        # Behaviour identities are slow, asynchronous or failing on purpose: not a baseline.
        if behaviour_of(found["idnr"]) is Behaviour.NORMAL:
            return _person(found)
    raise LookupError(f"the population has nobody for {register.participant_id}")


def consumer_for(topology: Topology, register: RegisterSpec) -> tuple[str, str]:
    """An authorised consumer of one of the register's evidence types, and that type."""
    for row in topology.authorisations:
        if row.evidence_type in register.evidence_types and (
            row.providers == "*" or register.participant_id in row.providers
        ):
            return row.consumer, row.evidence_type
    return topology.consumers[0].participant_id, register.evidence_types[0]


@dataclass(frozen=True)
class Target:
    """Who asks which register for what, why, and about whom."""

    register: RegisterSpec
    consumer: str
    evidence_type: str
    purpose: str
    subject: NaturalPerson

    @classmethod
    def of(cls, data_dir: Path, topology: Topology, register: RegisterSpec) -> Target:
        """An authorised consumer asking about a person the register holds."""
        consumer, evidence_type = consumer_for(topology, register)
        rows = topology.authorisations_for(consumer, evidence_type, register.participant_id)
        db = sqlite3.connect(f"file:{data_dir / 'population.db'}?mode=ro", uri=True)
        db.row_factory = sqlite3.Row
        try:
            subject = subject_of(db, register)
        finally:
            db.close()
        if not isinstance(subject, NaturalPerson):
            raise ValueError(f"{register.participant_id} holds companies, not persons")
        purpose = rows[0].purpose if rows else "Test"
        return cls(register, consumer, evidence_type, purpose, subject)


@dataclass
class Tally:
    """Every exchange's outcome."""

    attempted: int = 0
    #: request id (``urn:uuid:…``) → the register that delivered
    delivered: dict[str, str] = field(default_factory=dict)
    #: clear errors by ``"<EDM code> <class>"``
    errors: Counter[str] = field(default_factory=Counter)
    #: anything that was neither evidence nor a typed error
    unclear: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(self.errors.values())


async def worker(
    client: AsyncClient,
    target: Target,
    tally: Tally,
    stop: asyncio.Event,
    *,
    pause: float = 0.0,
    backoff: float = 0.2,
) -> None:
    """Fetch evidence until ``stop`` is set, ``pause`` seconds between exchanges and
    ``backoff`` after a failure (as a real online service would); never raises."""
    person = target.subject
    query = PersonQuery(person.given_name, person.family_name, person.date_of_birth)
    while not stop.is_set():
        tally.attempted += 1
        wait = pause
        try:
            result = await client.fetch_evidence(
                target.evidence_type,
                purpose=target.purpose,
                idnr=person.idnr,
                person=query,
                region=target.register.region,
            )
        except NootsError as error:
            tally.errors[f"{error.code.value} {type(error).__name__}"] += 1
            wait = max(pause, backoff)
        except Exception as error:  # untyped: a finding, not a clear error
            tally.unclear.append(f"{type(error).__name__}: {error}")
            wait = max(pause, backoff)
        else:
            tally.delivered[f"urn:uuid:{result.request_id}"] = result.provider
        if wait:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)


@contextlib.asynccontextmanager
async def consumer_clients(
    data_dir: Path,
    topology: Topology,
    consumers: Iterable[str],
    *,
    retry: RetryPolicy = LOAD_RETRY,
    timeout: float = 20.0,
) -> AsyncIterator[dict[str, AsyncClient]]:
    """One client per consumer, with the consumer's credential from the data directory; each
    logs its transfers (§ 9 IDNrG) to ``<data_dir>/logs/<consumer>.db``."""
    endpoints = Endpoints.from_topology(topology)
    opened: dict[str, AsyncClient] = {}
    logs: list[ProtocolLog] = []
    try:
        for consumer in consumers:
            participant = load_participant(data_dir / "pki", consumer, clock=SystemClock())
            log = open_protocol_log(
                data_dir / "logs" / f"{consumer}.db", party=consumer, clock=SystemClock()
            )
            logs.append(log)
            opened[consumer] = AsyncClient(
                participant, endpoints, topology, retry=retry, timeout=timeout, protocol_log=log
            )
        yield opened
    finally:
        for client in opened.values():
            await client.aclose()
        for log in logs:
            log.close()


def protocol_log_entries(data_dir: Path, party: str) -> tuple[int, list[ProtocolEntry]]:
    """``party``'s protocol log under ``<data_dir>/logs``: its verified length and entries
    (raises :class:`~noots.errors.ChainBroken` when the chain does not verify)."""
    log = open_protocol_log(data_dir / "logs" / f"{party}.db", party=party, clock=SystemClock())
    try:
        return log.verify(), log.entries()
    finally:
        log.close()


def duplicates(entries: Iterable[ProtocolEntry]) -> list[tuple[str, str]]:
    """(message id, outcome) pairs logged more than once."""
    counts = Counter((e.message_id, e.outcome) for e in entries)
    return sorted(key for key, n in counts.items() if n > 1)


def lost(tally: Tally, data_dir: Path, consumers: Iterable[str]) -> dict[str, list[str]]:
    """Delivered request ids missing from the logs of the online services that fetched them
    (``consumers``) or of their register, by party."""
    missing: dict[str, list[str]] = {}
    logged: set[str] = set()
    parties = sorted(consumers)
    for consumer in parties:
        _count, entries = protocol_log_entries(data_dir, consumer)
        logged |= {e.message_id for e in entries if e.outcome == "delivered"}
    if absent := sorted(set(tally.delivered) - logged):
        missing[" or ".join(parties)] = absent
    for register in sorted(set(tally.delivered.values())):
        _count, entries = protocol_log_entries(data_dir, register)
        logged = {e.message_id for e in entries if e.outcome == "delivered"}
        ours = {rid for rid, provider in tally.delivered.items() if provider == register}
        if absent := sorted(ours - logged):
            missing[register] = absent
    return missing
