"""Shared parts of the register tests: the registers under test, the subjects planted in
the session's population, and what a register's own SAK hands it (used by ``conftest.py`` and
the test modules)."""

from __future__ import annotations

import dataclasses
import sqlite3
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from noots.clock import ManualClock
from noots.conformance.requests import RequestFactory
from noots.idnr import generate
from noots.messages import (
    EvidenceRequest,
    LegalIdentifier,
    LegalPerson,
    NaturalPerson,
    Subject,
    to_bytes,
)
from noots.pki import Role
from noots.protocol import ProtocolLog
from noots.registers._service import RegisterService
from noots.sak import PROVIDER_REQUESTS_PATH, XML_MEDIA_TYPE, ProviderMetadata
from noots.signing import XmlSigner
from noots.testing.iam import TestIam
from noots.testing.pki import TestPki
from noots.tokens import AuthorisationToken, uses_idnr
from noots.topology import Topology

PEOPLE = 600
SEED = 7
ADMIN_TOKEN = "test-admin-token"


@dataclass(frozen=True)
class Case:
    """One register under test: whom to ask, and subjects that are found, unknown, ambiguous
    and (for natural persons) blocked."""

    register: str
    kind: str
    consumer: str
    evidence_type: str
    found: Subject
    unknown: Subject
    ambiguous: Subject
    blocked: Subject | None
    #: A found subject whose IDNr is invalid (natural persons only).
    invalid_idnr: Subject | None = None
    found_idnr: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Landscape:
    data_dir: Path
    topology: Topology
    pki: TestPki
    cases: dict[str, Case]


def _person(row: sqlite3.Row, *, with_idnr: bool = True) -> NaturalPerson:
    return NaturalPerson(
        row["family_name"],
        row["given_names"].split()[0],
        date.fromisoformat(row["date_of_birth"]),
        row["idnr"] if with_idnr else None,
    )


def _insert(db: sqlite3.Connection, table: str, row: dict[str, Any]) -> None:
    # Table and column names come from the population's own schema, never from input.
    sql = f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})"  # noqa: S608
    db.execute(sql, list(row.values()))


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in db.execute(f"PRAGMA table_info({table})")][1:]


def plant(db_path: Path) -> dict[str, Any]:
    """Choose and plant the subjects the tests need, in the real population file.

    Three people of München who keep a vehicle and have a birth record: A is asked by IDNr
    (found), B gets a twin with the same name, date of birth and address (asked without IDNr:
    ambiguous), C gets an information block.
    """
    db = sqlite3.connect(db_path)
    db.row_factory = sqlite3.Row
    rows = db.execute(
        "SELECT p.* FROM persons p WHERE p.ags = '09162000' AND p.information_block = 0 "
        "AND p.date_of_death IS NULL AND p.idnr NOT LIKE '01%' AND p.idnr != '02476291358' "
        "AND EXISTS (SELECT 1 FROM vehicles v WHERE v.holder_idnr = p.idnr) "
        "AND EXISTS (SELECT 1 FROM births b WHERE b.idnr = p.idnr) ORDER BY p.idnr LIMIT 3"
    ).fetchall()
    assert len(rows) == 3, "the seeded population lacks München vehicle keepers born in Germany"
    found, twin_of, blocked = rows
    taken = {r[0] for r in db.execute("SELECT idnr FROM persons")}
    fresh = [n for n in generate(50, seed=99) if n not in taken]
    twin, unknown = fresh[0], fresh[1]
    _insert(
        db, "persons", {c: twin if c == "idnr" else twin_of[c] for c in _columns(db, "persons")}
    )
    for table, key, unique in (
        ("vehicles", "holder_idnr", {"plate": "M-ZZ 9999", "vin": "WVWZZZ1KZ9W999999"}),
        ("births", "idnr", {"entry": "G 9999/1999"}),
    ):
        query = f"SELECT * FROM {table} WHERE {key} = ?"  # noqa: S608 - fixed names
        source = db.execute(query, (twin_of["idnr"],)).fetchone()
        _insert(
            db,
            table,
            {c: twin if c == key else unique.get(c, source[c]) for c in _columns(db, table)},
        )
    db.execute("UPDATE persons SET information_block = 1 WHERE idnr = ?", (blocked["idnr"],))
    company = db.execute(
        "SELECT * FROM companies WHERE number != '254871' ORDER BY id LIMIT 1"
    ).fetchone()
    other_court = (
        "Amtsgericht Hamburg" if company["court"] != "Amtsgericht Hamburg" else "Amtsgericht Köln"
    )
    _insert(
        db,
        "companies",
        {c: other_court if c == "court" else company[c] for c in _columns(db, "companies")},
    )
    db.commit()
    db.close()
    return {
        "found": _person(found),
        "ambiguous": _person(twin_of, with_idnr=False),
        "blocked": _person(blocked),
        "unknown": NaturalPerson(
            found["family_name"], "Unbekannt", date.fromisoformat("1970-01-01"), unknown
        ),
        "invalid_idnr": NaturalPerson(
            found["family_name"],
            found["given_names"].split()[0],
            date.fromisoformat(found["date_of_birth"]),
            found["idnr"][:10] + str((int(found["idnr"][10]) + 1) % 10),
        ),
        "company": LegalPerson(
            "Mustermann Digital GmbH", identifiers=(LegalIdentifier("254871", "HRB"),)
        ),
        "company_ambiguous": LegalPerson(
            company["name"], identifiers=(LegalIdentifier(company["number"], company["register"]),)
        ),
        "company_unknown": LegalPerson(
            "Niemand GmbH", identifiers=(LegalIdentifier("9999999", "HRB"),)
        ),
    }


@dataclass(frozen=True)
class Delivery:
    """A 0101 as a register's SAK hands it over (provider API): the bare bytes and the
    metadata the SAK established from the verified envelope."""

    raw: bytes
    request: EvidenceRequest
    metadata: ProviderMetadata
    token: AuthorisationToken | None
    issued_token: str

    def headers(self) -> dict[str, str]:
        """The HTTP headers of the provider API (``Noots-*`` and the content type)."""
        return {"Content-Type": XML_MEDIA_TYPE, **self.metadata.headers()}


@dataclass
class Running:
    """One register app under test, with everything a test needs to talk to it as its SAK."""

    client: httpx.AsyncClient
    app: Any
    service: RegisterService
    clock: ManualClock
    factory: RequestFactory
    log: ProtocolLog
    case: Case
    sleeps: list[float]
    pki: TestPki

    @property
    def sak_id(self) -> str:
        return f"{self.case.register}.sak"

    def sak_token(self, client: str | None = None, audience: str | None = None) -> str:
        """An IAM access token of the register's own SAK (or of ``client``, a SAK) for the
        register (or for ``audience``), issued at the register's clock."""
        return TestIam(self.pki).token(
            client or self.sak_id,
            audience or self.case.register,
            role=Role.SAK,
            issued_at=self.clock.now(),
        )

    def delivered(
        self,
        subject: Subject | None = None,
        *,
        request: EvidenceRequest | None = None,
        consumer: str | None = None,
        provider: str | None = None,
        evidence_type: str | None = None,
        purpose: str | None = None,
        legal_basis: str | None = None,
        issued_token: str | None = None,
        with_token: bool = True,
        token_changes: Mapping[str, object] | None = None,
        token_signer: XmlSigner | None = None,
        vs_token_required: bool | None = None,
        metadata_consumer: str | None = None,
        metadata_purpose: str | None = None,
        service_id: str | None = None,
    ) -> Delivery:
        """A fresh 0101 of the case's consumer (or ``request``) with its VS token, and the
        metadata its SAK would send. ``purpose`` goes into token and ``Noots-Purpose`` alike;
        ``metadata_*`` change only the metadata; ``vs_token_required`` defaults to
        :meth:`~noots.topology.Topology.vs_rule` for the transfer."""
        factory = self.factory
        consumer = consumer or self.case.consumer
        provider = provider or self.case.register
        evidence_type = evidence_type or self.case.evidence_type
        base = request or factory.request(
            consumer=consumer,
            provider=provider,
            evidence_type=evidence_type,
            subject=subject if subject is not None else self.case.found,
        )
        topology = factory.topology
        rows = topology.authorisations_for(
            base.requester.identifier,
            factory.evidence_type_name(base),
            base.provider.identifier,
        )
        purpose = purpose or (rows[0].purpose if rows else "Test")
        basis = legal_basis or (rows[0].legal_basis if rows else "Test")
        token: AuthorisationToken | None = None
        if issued_token is None and with_token:
            token, issued_token = factory.token(
                base,
                purpose=purpose,
                legal_basis=basis,
                changes=token_changes,
                signer=token_signer,
            )
        final = base.with_token(issued_token or "")
        if vs_token_required is None:
            vs_token_required = topology.vs_rule(
                base.requester.identifier, self.case.register, uses_idnr=uses_idnr(base)
            ).required
        metadata = ProviderMetadata(
            consumer=metadata_consumer or base.requester.identifier,
            purpose=metadata_purpose or purpose,
            service_id=service_id
            or topology.service_id(provider, factory.evidence_type_name(base)),
            message_id=uuid.uuid4(),
            vs_token_required=vs_token_required,
        )
        return Delivery(to_bytes(final), final, metadata, token, issued_token or "")

    def redelivered(self, delivery: Delivery) -> Delivery:
        """The same 0101 (same ids, same token) in a fresh envelope, as the register's SAK
        hands it over again: a retry, or the collection of an announced answer."""
        metadata = dataclasses.replace(delivery.metadata, message_id=uuid.uuid4())
        return dataclasses.replace(delivery, metadata=metadata)

    async def post(
        self,
        delivery: Delivery | bytes,
        *,
        token: str | None = None,
        anonymous: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """POST to the register's push endpoint as its SAK: ``delivery`` (its bytes and
        metadata) or bare bytes with ``headers``, with the own SAK's access token (or
        ``token``; ``anonymous`` sends no Authorization)."""
        if isinstance(delivery, Delivery):
            raw, sent = delivery.raw, {**delivery.headers(), **(headers or {})}
        else:
            raw, sent = delivery, {"Content-Type": XML_MEDIA_TYPE, **(headers or {})}
        if not anonymous:
            sent["Authorization"] = f"Bearer {token or self.sak_token()}"
        return await self.client.post(PROVIDER_REQUESTS_PATH, content=raw, headers=sent)
