"""Shared parts of the register tests: the registers under test and the subjects planted in
the session's population (used by ``conftest.py`` and the test modules)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from noots.clock import ManualClock
from noots.idnr import generate
from noots.messages import LegalIdentifier, LegalPerson, NaturalPerson, Subject
from noots.protocol import ProtocolLog
from noots.testing.pki import TestPki
from noots.testing.requests import RequestFactory
from noots.topology import Topology
from registers._service import RegisterService

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


@dataclass
class Running:
    """One register app under test, with everything a test needs to talk to it."""

    client: httpx.AsyncClient
    app: Any
    service: RegisterService
    clock: ManualClock
    factory: RequestFactory
    log: ProtocolLog
    case: Case
    sleeps: list[float]

    def signed(self, subject: Subject | None = None, **options: Any) -> Any:
        """A valid signed request of the case's consumer (``options`` as for sign())."""
        return self.factory.signed(
            consumer=options.pop("consumer", self.case.consumer),
            provider=options.pop("provider", self.case.register),
            evidence_type=options.pop("evidence_type", self.case.evidence_type),
            subject=subject if subject is not None else self.case.found,
            **options,
        )

    async def post(self, raw: bytes) -> httpx.Response:
        return await self.client.post(
            "/evidence/v1", content=raw, headers={"content-type": "application/xml"}
        )
