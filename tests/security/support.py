"""Shared parts of the reliability and security tests: subjects each register holds, attack
kits for every register (envelopes as an online service's SAK sends them to the register's
SAK), and reading signed answers."""

from __future__ import annotations

import functools
import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from noots import messages
from noots.clock import SystemClock
from noots.conformance.attacks import AttackKit
from noots.conformance.requests import RequestFactory
from noots.envelope import ENV_NS, OpenedEnvelope, open_envelope, parse_error_body
from noots.errors import EdmCode
from noots.messages import NaturalPerson, Subject
from noots.participant import load_credential, load_validator
from noots.pki import CertificateAuthority, Role
from noots.signing import XmlSigner, XmlVerifier
from noots.testing.iam import landscape_token
from noots.testing.load import consumer_for, subject_of
from noots.testing.pki import TestPki
from noots.topology import RegisterSpec, Topology

REVOKED_CONSUMER = "attacker-revoked-1"


def person(row: sqlite3.Row) -> NaturalPerson:
    return NaturalPerson(
        row["family_name"],
        row["given_names"].split()[0],
        date.fromisoformat(row["date_of_birth"]),
        row["idnr"],
    )


def other_person(db: sqlite3.Connection, subject: Subject) -> NaturalPerson:
    exclude = subject.idnr if isinstance(subject, NaturalPerson) else ""
    row = db.execute(
        "SELECT * FROM persons WHERE idnr != ? ORDER BY idnr DESC LIMIT 1",
        (exclude,),
    ).fetchone()
    return person(row)


@dataclass
class Armoury:
    """Everything the attack tests need for one landscape data directory."""

    data_dir: Path
    topology: Topology
    factory: RequestFactory
    revoked: XmlSigner
    foreign: TestPki
    verifier: XmlVerifier

    @classmethod
    def prepare(cls, data_dir: Path, topology: Topology) -> Armoury:
        """Revoke a dedicated consumer credential in the landscape's own CA (the services
        follow the CRL file) and make a CA the landscape does not trust. The request factory
        builds envelopes between SAKs, signed with the SAKs' credentials."""
        clock = SystemClock()
        pki_dir = data_dir / "pki"
        authority = CertificateAuthority.open(pki_dir, clock=clock)
        if REVOKED_CONSUMER not in authority.participants():
            authority.issue(REVOKED_CONSUMER, Role.CONSUMER)
            authority.revoke(REVOKED_CONSUMER)
        revoked = XmlSigner(authority.credential(REVOKED_CONSUMER))
        # from_pki_dir reads (and checks) the key file on every call; a cache keeps the
        # attacks cheap.
        signers = functools.cache(lambda pid: XmlSigner(load_credential(pki_dir, pid)))
        factory = RequestFactory(
            topology,
            clock=clock,
            consumer_signer=signers,
            vs_signer=signers(topology.platform.vs_id),
            via_saks=True,
        )
        verifier = XmlVerifier(load_validator(pki_dir, clock=clock))
        return cls(data_dir, topology, factory, revoked, TestPki(), verifier)

    def token(self, register: RegisterSpec) -> str:
        """An access token of the asking online service's SAK for ``register``'s SAK."""
        consumer, _evidence_type = consumer_for(self.topology, register)
        sak = self.topology.sak_id
        return landscape_token(self.data_dir / "pki", sak(consumer), sak(register.participant_id))

    def kit(self, register: RegisterSpec) -> AttackKit:
        consumer, evidence_type = consumer_for(self.topology, register)
        others = [c.participant_id for c in self.topology.consumers if c.participant_id != consumer]
        db = sqlite3.connect(f"file:{self.data_dir / 'population.db'}?mode=ro", uri=True)
        db.row_factory = sqlite3.Row
        try:
            subject = subject_of(db, register)
            other = other_person(db, subject)
        finally:
            db.close()
        return AttackKit(
            self.factory,
            consumer=consumer,
            provider=register.participant_id,
            evidence_type=evidence_type,
            subject=subject,
            other_subject=other,
            other_consumer=others[0],
            revoked_signer=self.revoked,
            untrusted_signer=self.foreign.signer(consumer, Role.CONSUMER),
        )


@dataclass(frozen=True)
class Answer:
    """A signed answer as a consumer reads it."""

    envelope: OpenedEnvelope
    code: EdmCode | None
    delivered: bool


def read_answer(raw: bytes, verifier: XmlVerifier) -> Answer:
    """Verify the answer's signature and read its code (None for a 0102)."""
    opened = open_envelope(raw, verifier)
    body = opened.body
    if body.tag == f"{{{ENV_NS}}}Error":
        code, _detail, _component = parse_error_body(body)
        return Answer(opened, code, False)
    message = messages.parse(body)
    if isinstance(message, messages.EvidenceErrorResponse):
        return Answer(opened, message.errors[0].code, False)
    assert isinstance(message, messages.EvidenceResponse)
    return Answer(opened, None, message.evidences != ())
