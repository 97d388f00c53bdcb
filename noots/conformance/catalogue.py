"""The connection conditions (Anschlussbedingungen) the conformance suites check.

Every condition has an id (``DP-01`` … ``DP-15`` for data providers, ``DC-01`` … ``DC-09`` for
data consumers), a one-line rule, and a hint that tells an operator where to look when their
system fails it. The texts follow the list in ARCHITECTURE.md; the suites
(:mod:`consumers.provider_conformance`, :mod:`registers.consumer_conformance`) and the scenario
files refer to conditions by id only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

__all__ = [
    "CONDITIONS",
    "CONSUMER_CONDITIONS",
    "PROVIDER_CONDITIONS",
    "Condition",
    "Side",
    "condition",
    "conditions_of",
]

Side = Literal["provider", "consumer"]


@dataclass(frozen=True)
class Condition:
    """One connection condition: ``rule`` is what must hold, ``hint`` how to fix a failure."""

    id: str
    side: Side
    title: str
    rule: str
    hint: str


PROVIDER_CONDITIONS: tuple[Condition, ...] = (
    Condition(
        "DP-01",
        "provider",
        "Valid XNachweis answers",
        "Answers a DE.EvidenceRequest.0101 with a 0102 or 0103 valid against XNachweis 1.2.0.",
        "Validate every outgoing 0102/0103 against xnachweis-de-noots.xsd before signing; "
        "carry the evidence document base64 in RepositoryItem.",
    ),
    Condition(
        "DP-02",
        "provider",
        "Signed requests only",
        "Refuses unsigned, tampered or wrongly signed requests with EDM:ERR:0001 and no data.",
        'Verify the envelope\'s XMLDSig (exclusive C14N, SHA-256, one Reference URI="") before '
        "reading anything, and require Sender = the participant of the signing certificate.",
    ),
    Condition(
        "DP-03",
        "provider",
        "Certificate checks",
        "Refuses expired, not-yet-valid, revoked or untrusted signer certificates (EDM:ERR:0001).",
        "Validate the signer's certificate against the NOOTS trust anchor at your clock and "
        "against the current CRL; fail closed when the CRL is missing or out of date.",
    ),
    Condition(
        "DP-04",
        "provider",
        "Vermittlungsstelle token",
        "Checks the VS token: seal, expiry, partners, purpose and request hash "
        "(EDM:ERR:0002, no data).",
        "Verify the token's signature (role vs) and ExpiresAt, then compare consumer, provider, "
        "purpose, evidence type, IDNr use and the request hash with the request itself.",
    ),
    Condition(
        "DP-05",
        "provider",
        "IDNr validation",
        "Refuses an invalid IDNr with EDM:ERR:0003.",
        "Check the 11 digits, the digit-repetition rules and the ISO/IEC 7064 MOD 11,10 check "
        "digit before looking anybody up.",
    ),
    Condition(
        "DP-06",
        "provider",
        "Unknown and ambiguous persons",
        "Answers an unknown person with EDM:ERR:0004 and an ambiguous match with no data.",
        "Deliver only on exactly one match; zero or several matches are EDM:ERR:0004 without "
        "any personal data in the answer.",
    ),
    Condition(
        "DP-07",
        "provider",
        "Information block",
        "An information block (Auskunftssperre) is indistinguishable from an unknown person.",
        "Answer a blocked person exactly like an unknown one: same code, same detail text, "
        "same HTTP status, same shape.",
    ),
    Condition(
        "DP-08",
        "provider",
        "Identifiers and times",
        "Echoes the request id, uses fresh UUIDs and UTC times with zone.",
        "Put the 0101's id into requestid, generate new nachrichtenUUID and response ids for "
        "every answer, and write times as UTC with 'Z'.",
    ),
    Condition(
        "DP-09",
        "provider",
        "Signed, bound answers",
        "Signs every response with the provider's certificate and binds it to its request.",
        "Sign the answer envelope with your provider credential and put the SHA-256 of the "
        "exact request bytes into InResponseTo, also for refusals.",
    ),
    Condition(
        "DP-10",
        "provider",
        "Replay and freshness",
        "Refuses replayed envelopes and stale or future timestamps (EDM:ERR:0003).",
        "Keep a bounded cache of envelope MessageIds seen within the freshness window "
        "(±300 s around Created) and refuse repeats and envelopes outside the window.",
    ),
    Condition(
        "DP-11",
        "provider",
        "Hostile XML",
        "Survives hostile XML (entities, oversize, deep nesting, signature wrapping) with an "
        "error answer, not a crash.",
        "Parse with DTDs and entities disabled and size/depth limits, read only the element "
        "the signature verifier returns, and answer every refusal with a signed 0103.",
    ),
    Condition(
        "DP-12",
        "provider",
        "Protocol log",
        "Logs every transfer for the Datenschutzcockpit (§ 9 IDNrG).",
        "Append one protocol entry per answered request (consumer, provider, evidence type, "
        "purpose, IDNr, request id, outcome) before the answer leaves.",
    ),
    Condition(
        "DP-13",
        "provider",
        "Answer in time",
        "Answers in time or announces ResponseAvailableDateTime.",
        "Answer within its SAK's timeout, or answer a 0102 with ResponseAvailableDateTime and "
        "deliver the evidence when the same request is sent again after that time.",
    ),
    Condition(
        "DP-14",
        "provider",
        "Unsupported evidence type",
        "Answers a request for an evidence type it does not provide with EDM:ERR:0007.",
        "Compare the requested EvidenceTypeClassification with the types you publish in the "
        "RDN and refuse others with EDM:ERR:0007.",
    ),
    Condition(
        "DP-15",
        "provider",
        "Health endpoint",
        "Offers GET /health (200 healthy, 503 degraded).",
        "Serve GET /health on the register's base URL: 200 with a JSON body when it can answer, "
        "503 when a dependency is down.",
    ),
)

CONSUMER_CONDITIONS: tuple[Condition, ...] = (
    Condition(
        "DC-01",
        "consumer",
        "Valid requests for the route",
        "Hands its SAK a valid DE.EvidenceRequest.0101 for the route the SAK named.",
        "Ask your SAK for the route (GET /consumer/v1/routes), put its provider and evidence "
        "type into the 0101 and its serviceId into Noots-Service-Id, declare Noots-Purpose, "
        "and validate the 0101 against XNachweis 1.2.0.",
    ),
    Condition(
        "DC-02",
        "consumer",
        "Own identity",
        "Speaks to its SAK as itself: names itself as requester, presents its own certificate.",
        "Put your own participant id into the 0101's requester and present your own "
        "certificate (mutual TLS) to your SAK; never act in another service's name.",
    ),
    Condition(
        "DC-03",
        "consumer",
        "Authorisation for the exact request",
        "Asks its SAK for the authorisation of the exact request and sends nothing when it is "
        "refused.",
        "Compute the request hash of the final 0101 (IssuedToken blanked), ask POST "
        "/consumer/v1/authorisations with it, the same purpose and IDNr use, carry the token "
        "verbatim, and stop when the authorisation is refused.",
    ),
    Condition(
        "DC-04",
        "consumer",
        "Valid IDNr",
        "Sends only valid IDNrs.",
        "Validate every IDNr (digits, repetition rules, check digit) before it leaves your "
        "service; never send a number the IDA or the citizen gave you unchecked.",
    ),
    Condition(
        "DC-05",
        "consumer",
        "Check answers",
        "Uses no data of an answer that does not answer its request.",
        "Before using an answer, check that it is valid XNachweis, echoes your request id and "
        "requester, and carries the evidence type and person (IDNr) you asked for; discard it "
        "otherwise.",
    ),
    Condition(
        "DC-06",
        "consumer",
        "Errors and asynchronous answers",
        "Handles every error code, codes outside the EDM list and asynchronous availability.",
        "Map every EDM:ERR code to a message for the citizen, show a code outside "
        "EDM:ERR:0001…0008 as it came (never as a malformed answer), and hand the same 0101 to "
        "your SAK again after ResponseAvailableDateTime instead of failing.",
    ),
    Condition(
        "DC-07",
        "consumer",
        "Preview and consent",
        "Asks for consent before fetching and shows a preview before using the evidence.",
        "Fetch only after the citizen has consented, show each evidence for acceptance, and "
        "use only what was accepted.",
    ),
    Condition(
        "DC-08",
        "consumer",
        "Bounded retries",
        "Retries transient failures a bounded number of times and keeps the XNachweis ids.",
        "Retry only when no answer came, for 0005, and for 0008 with 502/503/504, with backoff "
        "and a fixed limit; hand the same 0101 (its id and nachrichtenUUID) to your SAK again.",
    ),
    Condition(
        "DC-09",
        "consumer",
        "Protocol log",
        "Logs every transfer (§ 9 IDNrG).",
        "Append a protocol entry for every request you send and its outcome (delivered, "
        "pending, refused) with the request id.",
    ),
)

_ALL = {c.id: c for c in (*PROVIDER_CONDITIONS, *CONSUMER_CONDITIONS)}

#: Every condition by id.
CONDITIONS: Mapping[str, Condition] = MappingProxyType(_ALL)


def condition(condition_id: str) -> Condition:
    """The condition with this id; ``KeyError`` names the known ones."""
    try:
        return _ALL[condition_id.upper()]
    except KeyError:
        raise KeyError(
            f"unknown condition {condition_id!r}; known: {', '.join(sorted(_ALL))}"
        ) from None


def conditions_of(side: Side) -> tuple[Condition, ...]:
    return PROVIDER_CONDITIONS if side == "provider" else CONSUMER_CONDITIONS
