"""The connection conditions (Anschlussbedingungen) the conformance suites check.

Every condition has an id, a one-line rule, the probes the suite sends, and a hint that tells
an operator where to look when their system fails it:

- ``DP-xx``: a register (data provider) behind its SAK, in push and in passive mode;
- ``SAK-xx``: a Sicherer Anschlussknoten, for operators who run their own implementation;
- ``DC-xx``: an online service (data consumer) behind its SAK.

The ids are stable: a condition keeps its id as long as its meaning stays. The register
conditions that became the SAK's job when every participant got one (signatures,
certificates, signed answers, replay, hostile XML) are :data:`RETIRED`, each naming the SAK
condition that took it over. docs/CONFORMANCE.md has the table (generated from this module:
``python -m noots.conformance``; a test keeps it current). The suites and the
scenario files refer to conditions by id only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

__all__ = [
    "CONDITIONS",
    "CONSUMER_CONDITIONS",
    "DOC_BLOCKS",
    "PROVIDER_CONDITIONS",
    "RETIRED",
    "SAK_CONDITIONS",
    "Condition",
    "Side",
    "condition",
    "conditions_of",
    "markdown_table",
    "refresh_doc",
]

Side = Literal["provider", "consumer", "sak"]


@dataclass(frozen=True)
class Condition:
    """One connection condition: ``rule`` is what must hold, ``hint`` how to fix a failure,
    ``probes`` what the suite sends to find out."""

    id: str
    side: Side
    title: str
    rule: str
    hint: str
    probes: str = ""


PROVIDER_CONDITIONS: tuple[Condition, ...] = (
    Condition(
        "DP-01",
        "provider",
        "Valid XNachweis answers",
        "Answers every DE.EvidenceRequest.0101 its SAK hands over with a 0102 or 0103 valid "
        "against XNachweis 1.2.0, in push and in passive mode.",
        "Validate every outgoing 0102/0103 against xnachweis-de-noots.xsd; carry the evidence "
        "document base64 in RepositoryItem; answer the bare message (your SAK signs it).",
        "a valid request (0102 with the evidence of the requested type) and an unknown person "
        "(0103), checked against the official XNachweis 1.2.0 schemas when ../shared is "
        "present, else structurally",
    ),
    Condition(
        "DP-04",
        "provider",
        "Vermittlungsstelle token",
        "Checks the VS token against the content (seal, expiry, partners, purpose, evidence "
        "type, IDNr use, request hash) before anything reveals what it provides, and refuses "
        "with EDM:ERR:0002 and no data; honours Noots-Vs-Token-Required.",
        "Where Noots-Vs-Token-Required is true or a token came, verify its seal (role vs) and "
        "ExpiresAt, compare consumer (Noots-Consumer), provider, purpose (Noots-Purpose), "
        "evidence type, IDNr use and the request hash you compute yourself; only then look "
        "at the evidence type and the person. Without a required token: 0002.",
        "no token where Noots-Vs-Token-Required is true; an expired token; one sealed by the "
        "consumer; a token of another request, another consumer, another provider, another "
        "person (IDNr); another purpose in Noots-Purpose; a bad token where none is required; "
        "an evidence type the register does not provide, without a valid token (must be 0002, "
        "not 0007); no token where none is required (must be answered)",
    ),
    Condition(
        "DP-05",
        "provider",
        "IDNr validation",
        "Refuses an invalid IDNr with EDM:ERR:0003 and no data.",
        "Check the 11 digits, the digit-repetition rules and the ISO/IEC 7064 MOD 11,10 check "
        "digit before looking anybody up.",
        "the known person with a wrong check digit",
    ),
    Condition(
        "DP-06",
        "provider",
        "Unknown and ambiguous persons",
        "Answers an unknown person with EDM:ERR:0004 and an ambiguous match with no data.",
        "Deliver only on exactly one match; zero or several matches are EDM:ERR:0004 without "
        "any personal data in the answer.",
        "an unknown person; an ambiguous one (several entries match its basic data; "
        "--ambiguous names yours)",
    ),
    Condition(
        "DP-07",
        "provider",
        "Information block",
        "An information block (Auskunftssperre) is indistinguishable from an unknown person.",
        "Answer a blocked person exactly like an unknown one: same code, same detail text, "
        "same HTTP status, same shape, about the same time.",
        "a blocked person (--blocked names yours) compared with an unknown one: code, detail, "
        "HTTP status, elements, no personal data, answer time (median of three each)",
    ),
    Condition(
        "DP-08",
        "provider",
        "Identifiers and times",
        "Echoes the request id, uses fresh UUIDs and UTC times with zone.",
        "Put the 0101's id into requestid, generate new nachrichtenUUID and response ids for "
        "every answer, and write times as UTC with 'Z'.",
        "the answers to the valid request and the unknown person: requestid, nachrichtenUUID, "
        "EvidenceResponseIdentifier, every date-time",
    ),
    Condition(
        "DP-12",
        "provider",
        "Protocol log",
        "Logs every transfer (§ 9 IDNrG) before the answer leaves and reports it for the "
        "Datenschutzcockpit, readable through the protocol export.",
        "Append one entry per answered request (consumer, provider, evidence type, purpose, "
        "IDNr, request id, outcome) before the answer leaves, and serve it at GET "
        "/provider/v1/transfers?requestId=… for your SAK (docs/SAK.md).",
        "the protocol export (GET /provider/v1/transfers, or --protocol-export) for the run's "
        "delivered request, its unknown person (0004) and its invalid IDNr (0003): consumer, "
        "evidence type, purpose, IDNr, outcome",
    ),
    Condition(
        "DP-13",
        "provider",
        "Answer in time",
        "Answers in time, or announces ResponseAvailableDateTime and delivers then.",
        "Answer within your SAK's timeout (10 s), or answer a 0102 with "
        "ResponseAvailableDateTime and deliver the evidence when the same 0101 comes again "
        "after that time.",
        "the answer time of the valid request (--time-budget); an asynchronous person "
        "(--asynchronous names yours): announced, then collected with the same 0101 when "
        "announced (the suite waits up to --max-wait, default 150 s)",
    ),
    Condition(
        "DP-14",
        "provider",
        "Unsupported evidence type or service",
        "Answers an authorised request for an evidence type it does not provide with "
        "EDM:ERR:0007, and a service id that is not one of its own with EDM:ERR:0006.",
        "Compare the requested EvidenceTypeClassification with the types you publish in the "
        "RDN (0007, after the token check), and Noots-Service-Id with your own services "
        "(0006).",
        "a 0101 for another evidence type of the landscape with a valid token for it; a "
        "service id of another register",
    ),
    Condition(
        "DP-15",
        "provider",
        "Health endpoint",
        "Offers GET /health (200 healthy, 503 degraded).",
        "Serve GET /health on the register's base URL: 200 with a JSON body when it can answer, "
        "503 when a dependency is down.",
        "GET /health",
    ),
    Condition(
        "DP-16",
        "provider",
        "Only its own SAK",
        "Accepts requests only from its own SAK: an IAM access token of <register>.sak (role "
        "sak) for the register and, with TLS, that SAK's certificate; anybody else gets "
        "401/403 and no data.",
        "Verify the Bearer access token (IAM signature, trust anchor, CRL, expiry, audience = "
        "your participant id, role sak) and require its subject to be your own SAK; with TLS "
        "also the client certificate. Refuse before reading the body.",
        "POST /provider/v1/requests without a token; with a valid token of an online service, "
        "of another register's SAK, for another audience, expired; with TLS: your SAK's token "
        "over another participant's certificate. In passive mode the same (the endpoint may "
        "also not exist)",
    ),
    Condition(
        "DP-17",
        "provider",
        "Request and metadata agree",
        "Answers only a 0101 that agrees with what its SAK established: requester = "
        "Noots-Consumer, provider = itself; otherwise refuses without data.",
        "Compare the 0101's requester with Noots-Consumer and its provider with your own "
        "participant id before anything else; answer a refusal (0103) without data.",
        "a 0101 of another requester than Noots-Consumer (with a token for it); a 0101 that "
        "names another provider",
    ),
)

SAK_CONDITIONS: tuple[Condition, ...] = (
    Condition(
        "SAK-01",
        "sak",
        "Signature",
        "Verifies every envelope's XMLDSig and reads only what the verifier returns as signed; "
        "refuses unsigned, tampered and wrapped envelopes with EDM:ERR:0001 and no data.",
        'Exclusive C14N, SHA-256, RSA-SHA256 or ECDSA-P256, exactly one Reference URI="" '
        "with the enveloped and exclusive C14N transforms, the signer certificate in KeyInfo; "
        "read the header and body from the verifier's result, never from the received tree.",
        "unsigned; tampered after signing; the signed body moved, duplicated, wrapped in an "
        "unknown element or hidden in ds:Object; a reference to a duplicated id; a header-only "
        "signature; two signatures; an uncanonicalisable namespace; with the signature attack "
        "kit: KeyInfo and chain tricks, algorithm downgrades, harmless rewrites",
    ),
    Condition(
        "SAK-02",
        "sak",
        "Certificates and CRL",
        "Refuses envelopes signed with a revoked, expired, not-yet-valid or untrusted "
        "certificate, or one whose role is not sak (EDM:ERR:0001).",
        "Validate the signer's certificate against the NOOTS trust anchor at your clock, its "
        "role (OU sak) and the current CRL; fail closed when the CRL is missing or out of date.",
        "a revoked sender; an expired, a not-yet-valid certificate; a certificate of another "
        "CA; an online service signing itself (role consumer)",
    ),
    Condition(
        "SAK-03",
        "sak",
        "Freshness and replay",
        "Refuses a MessageId it accepted before and a Created outside its window (±300 s) "
        "with EDM:ERR:0003.",
        "Keep a journaled cache of the MessageIds accepted within the window (it must survive "
        "a restart) and refuse repeats and envelopes outside the window.",
        "the same envelope twice; an envelope created an hour ago; one an hour ahead",
    ),
    Condition(
        "SAK-04",
        "sak",
        "Hostile XML",
        "Accepts UTF-8 only, no DTD in any encoding, within the limits (5 MiB, depth 64, "
        "50,000 elements); refuses anything else cleanly, without data, and keeps answering.",
        "Refuse other encodings, byte-order marks other than UTF-8's and any DOCTYPE before the "
        "parser sees the bytes; never load anything external; bound size, depth, nodes and "
        "parse time. Where the documentation leaves the code open, any refusal without data "
        "is accepted.",
        "entities (also in UTF-16), external DTDs, parameter entities, a stylesheet "
        "instruction, more than 5 MiB, deep nesting, too many elements, the valid envelope "
        "re-encoded as UTF-16/UTF-32/ISO-8859-1; then a valid envelope must still be answered",
    ),
    Condition(
        "SAK-05",
        "sak",
        "Sender and addressing",
        "Accepts an envelope only from the SAK of an online service acting for that service: "
        "Sender = the signing certificate, OnBehalfOf = the service it serves, the 0101's "
        "requester = OnBehalfOf, Recipient = itself, a service id of its register (0006).",
        "Compare Sender with the certificate's participant id, OnBehalfOf with the online "
        "service the sending SAK serves (RDN/IAM), the 0101's requester with OnBehalfOf, "
        "Recipient with your own id and the service id with your register's services.",
        "Sender another SAK than the signer; OnBehalfOf another online service; a 0101 of "
        "another requester; another Recipient; a service id of another register; an online "
        "service's own certificate as sender",
    ),
    Condition(
        "SAK-06",
        "sak",
        "Signed, bound answers",
        "Signs every answer, refusals too, as the register's SAK on behalf of the register, "
        "bound to the exact request bytes (InResponseTo = SHA-256).",
        "Sign the answer envelope with your SAK credential, OnBehalfOf your register, and put "
        "the SHA-256 of the exact request bytes into InResponseTo, also for refusals.",
        "every answer of the run: signature of the target SAK (role sak), OnBehalfOf, InResponseTo",
    ),
    Condition(
        "SAK-07",
        "sak",
        "Answers checked",
        "Hands its online service nothing of an answer that is tampered with, unbound, signed "
        "by anybody but the provider's SAK, stale, replayed or for another request.",
        "Verify the answer envelope (signature, certificate, role sak, Sender = the provider's "
        "SAK, OnBehalfOf = the provider, InResponseTo = SHA-256 of your request bytes, "
        "freshness) and that it echoes your request id, before handing anything on.",
        "answers from the suite as the provider's SAK: valid (must be handed on), tampered, "
        "unsigned, bound to another request, signed by another SAK, OnBehalfOf another "
        "register, an hour old, another request id",
    ),
    Condition(
        "SAK-08",
        "sak",
        "TLS peer = sender",
        "With mutual TLS, accepts an envelope only when the TLS client certificate is the "
        "envelope's sender.",
        "Compare the participant id of the TLS client certificate with Sender; refuse with "
        "EDM:ERR:0001 when they differ.",
        "a valid envelope sent over another participant's TLS certificate (--tls)",
    ),
    Condition(
        "SAK-09",
        "sak",
        "Access tokens",
        "Accepts a call only with a valid IAM access token for itself from the right party: "
        "missing, expired, wrong audience, wrong role, revoked are refused (401/403).",
        "Verify the Bearer token (IAM signature and certificate, trust anchor, CRL, expiry, "
        "audience = your id, role) and that its subject is the party the call must come from "
        "(on the transport endpoint: the SAK that signed the envelope).",
        "the transport endpoint without a token; with an expired one, one for another "
        "audience, one of role consumer, one whose certificate is revoked, one of another SAK "
        "than the signer",
    ),
    Condition(
        "SAK-10",
        "sak",
        "Health endpoint",
        "Offers GET /health (200 healthy, 503 degraded).",
        "Serve GET /health: 200 with a JSON body while your certificate is valid.",
        "GET /health",
    ),
)

#: Register conditions that became the SAK's job: old id → (title, the SAK condition now).
RETIRED: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "DP-02": ("Signed requests only", "SAK-01"),
        "DP-03": ("Certificate checks", "SAK-02"),
        "DP-09": ("Signed, bound answers", "SAK-06"),
        "DP-10": ("Replay and freshness", "SAK-03"),
        "DP-11": ("Hostile XML", "SAK-04"),
    }
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

_ALL = {c.id: c for c in (*PROVIDER_CONDITIONS, *SAK_CONDITIONS, *CONSUMER_CONDITIONS)}

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
    if side == "provider":
        return PROVIDER_CONDITIONS
    if side == "sak":
        return SAK_CONDITIONS
    return CONSUMER_CONDITIONS


def markdown_table(side: Side) -> str:
    """The conditions of ``side`` as the Markdown table of docs/CONFORMANCE.md."""
    rows = ["| id | condition | rule | probes | fix |", "|---|---|---|---|---|"]
    for item in conditions_of(side):
        cells = (item.id, item.title, item.rule, item.probes or "see the suite", item.hint)
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    if side == "provider":
        for old, (title, now) in RETIRED.items():
            rows.append(f"| {old} | {title} | retired: now the SAK's job, see {now} | | |")
    return "\n".join(rows)


#: The generated blocks of docs/CONFORMANCE.md, by name.
DOC_BLOCKS: Mapping[str, Side] = MappingProxyType(
    {"provider-conditions": "provider", "sak-conditions": "sak"}
)


def refresh_doc(text: str) -> str:
    """``text`` (docs/CONFORMANCE.md) with every generated condition table replaced by the
    current one; a block that is missing is an error."""
    import re

    for name, side in DOC_BLOCKS.items():
        pattern = re.compile(
            rf"(<!-- begin: {name} [^\n]*-->\n)(.*?)(<!-- end: {name} -->)", re.DOTALL
        )
        if not pattern.search(text):
            raise ValueError(f"docs/CONFORMANCE.md has no generated block {name!r}")
        table = markdown_table(side)

        def replace(match: re.Match[str], table: str = table) -> str:
            return f"{match.group(1)}{table}\n{match.group(3)}"

        text = pattern.sub(replace, text)
    return text


def main() -> int:
    """Rewrite the condition tables of docs/CONFORMANCE.md in place."""
    from noots.paths import PROJECT_ROOT

    path = PROJECT_ROOT / "docs" / "CONFORMANCE.md"
    old = path.read_text(encoding="utf-8")
    new = refresh_doc(old)
    if new != old:
        path.write_text(new, encoding="utf-8")
        print(f"updated {path}")
    return 0
