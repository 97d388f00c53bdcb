"""Valid documents of every kind noots parses: the seeds the fuzzers mutate.

The hypothesis fuzz tests (``tests/noots/test_fuzz_*.py``) and the atheris harnesses
(``fuzz/``) start from the same seeds, built with the library itself so they are exactly what
noots sends: XNachweis messages (:func:`message_seeds`), signed transport envelopes
(:func:`envelope_seeds`), sealed VS tokens (:func:`token_seeds`) and IDNrs (:func:`idnr_seeds`).
:func:`write_corpus` stores them as files for a fuzzer's seed corpus directory.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path

from noots import messages
from noots.clock import Clock, ManualClock
from noots.envelope import EnvelopeHeader, seal
from noots.errors import EdmCode
from noots.messages import LegalIdentifier, LegalPerson, NaturalPerson
from noots.pki import Role
from noots.testing.messages import SAMPLE_DOCUMENT, sample_person, sample_request
from noots.testing.pki import TestPki
from noots.tokens import AuthorisationToken, TokenRequest, issue_token, request_hash

__all__ = [
    "CONSUMER",
    "PROVIDER",
    "VS",
    "envelope_seeds",
    "idnr_seeds",
    "message_seeds",
    "token_seeds",
    "write_corpus",
]

CONSUMER = "08118079-BPA-87"
PROVIDER = "991-01234ZFZR-41"
VS = "noots-vs"


def message_seeds(clock: Clock) -> list[messages.Message]:
    """A request about a person (with IDNr and address data) and about a company, an answer
    with evidence, an asynchronous answer and an error answer."""
    request = sample_request(clock, issued_token="UEQ5NGJXd2c=")  # noqa: S106 - not a secret
    person = NaturalPerson(
        "Mustermann",
        "Erika",
        date(1964, 8, 12),
        None,
        birth_name="Gabler",
        place_of_birth="Berlin",
        current_address=messages.Address(post_code="70825", post_city_name="Korntal"),
    )
    company = LegalPerson(
        "Mustermann Digital GmbH", identifiers=(LegalIdentifier("HRB 254871", "HRB"),)
    )
    evidence = messages.Evidence.new(
        SAMPLE_DOCUMENT,
        issuing_authority=request.provider,
        evidence_type=request.evidence_type,
        subject=request.subject,
        clock=clock,
    )
    return [
        request,
        messages.EvidenceRequest.new(
            requester=request.requester,
            provider=request.provider,
            evidence_type=request.evidence_type,
            subject=person,
            clock=clock,
        ),
        messages.EvidenceRequest.new(
            requester=request.requester,
            provider=request.provider,
            evidence_type=request.evidence_type,
            subject=company,
            clock=clock,
        ),
        messages.answer_with_evidence(request, evidence, clock=clock),
        messages.answer_pending(request, clock.now() + timedelta(minutes=5), clock=clock),
        messages.answer_with_error(request, EdmCode.NOT_FOUND, "kein Nachweis", clock=clock),
    ]


def envelope_seeds(pki: TestPki) -> list[bytes]:
    """Signed envelopes of the consumer carrying each message of :func:`message_seeds`, and
    a signed answer envelope (with ``InResponseTo``)."""
    signer = pki.signer(CONSUMER, Role.CONSUMER)
    seeds: list[bytes] = []
    for message in message_seeds(pki.clock):
        header = EnvelopeHeader(
            message_id=uuid.uuid4(),
            sender=CONSUMER,
            recipient=PROVIDER,
            service_id=f"urn:noots:service:{PROVIDER}:Fahrzeughalterauskunft",
            created=pki.clock.now(),
            purpose="Bewohnerparkausweis",
        )
        seeds.append(seal(header, messages.build(message), signer))
    answer = EnvelopeHeader(
        message_id=uuid.uuid4(),
        sender=PROVIDER,
        recipient=CONSUMER,
        service_id=f"urn:noots:service:{PROVIDER}:Fahrzeughalterauskunft",
        created=pki.clock.now(),
        in_response_to="0" * 64,
        request_message_id=uuid.uuid4(),
    )
    error = messages.answer_with_error(
        sample_request(pki.clock), EdmCode.AUTHORISATION, "kein Token", clock=pki.clock
    )
    seeds.append(seal(answer, messages.build(error), pki.signer(PROVIDER, Role.PROVIDER)))
    return seeds


def token_seeds(pki: TestPki) -> list[str]:
    """VS tokens (base64) sealed by ``noots-vs`` for a request with and without an IDNr."""
    signer = pki.signer(VS, Role.VS)
    tokens: list[str] = []
    for uses in (True, False):
        request = sample_request(pki.clock)
        token_request = TokenRequest(
            consumer=CONSUMER,
            provider=PROVIDER,
            evidence_type=request.evidence_type.classification,
            purpose="Bewohnerparkausweis",
            legal_basis="§ 45 Abs. 1b StVO",
            uses_idnr=uses,
            request_hash=request_hash(messages.build(request)),
        )
        token = AuthorisationToken.grant(token_request, issuer=VS, clock=pki.clock)
        tokens.append(issue_token(token, signer))
    return tokens


def idnr_seeds() -> list[str]:
    """The official valid examples, a test number and near misses of each rule."""
    return [
        "02476291358",
        "86095742719",
        "47036892816",
        "65929970489",
        "57549285017",
        "25768131411",
        sample_person().idnr or "",
        "12345678901",
        "11111111111",
        "0247629135",
        "024762913581",
        "02476291359",
        "1123456789",
    ]


def write_corpus(directory: Path, kind: str) -> int:
    """Write the seeds of ``kind`` (``xml``, ``envelope``, ``messages``, ``tokens``, ``idnr``)
    as files into ``directory``; returns how many."""
    directory.mkdir(parents=True, exist_ok=True)
    clock = ManualClock()
    blobs: list[bytes]
    if kind in ("xml", "messages"):
        blobs = [messages.to_bytes(m) for m in message_seeds(clock)]
    elif kind == "idnr":
        blobs = [n.encode() for n in idnr_seeds()]
    else:
        with TestPki(clock=clock) as pki:
            if kind == "envelope":
                blobs = envelope_seeds(pki)
            elif kind == "tokens":
                blobs = [t.encode() for t in token_seeds(pki)]
            else:
                raise ValueError(f"unknown corpus kind {kind!r}")
    for index, blob in enumerate(blobs):
        (directory / f"seed-{index:02d}").write_bytes(blob)
    return len(blobs)
