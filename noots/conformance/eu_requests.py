"""EDM requests to an Intermediäre Plattform's access point, as a member state's eDelivery
gateway sends them: valid ones, and each way the IP conformance suite (IP-05 … IP-09) and the
scenario runner's ``eu_query`` step spoil them.

::

    parties = ip_parties(topology)                       # the IP and the member state played
    factory = EuRequestFactory(parties, pki_dir=pki, clock=clock)
    query = factory.query(edm_evidence_type(topology, "Geburtsurkunde"), person)
    crafted = factory.craft("wrong_signer", query)       # crafted.raw goes to POST …/as4

The factory signs as the member state's access point with the landscape's PKI (the simulated
member states' credentials, role ``simulator``), and with a certificate of a CA of its own for
``untrusted_signer``; it never changes the PKI.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from noots.clock import Clock
from noots.conformance.credentials import ScratchIssuer
from noots.conformance.i18n import Text
from noots.errors import ConfigurationError
from noots.eu import ebms, edm
from noots.eu.edm import EdmAgent, EdmEvidenceType, EdmNaturalPerson, QueryRequest
from noots.faults import corrupt_signature, strip_signature
from noots.messages import EVIDENCE_TYPE_CLASSIFICATION_PREFIX, NaturalPerson
from noots.participant import load_credential
from noots.pki import Role
from noots.signing import XmlSigner
from noots.topology import Topology
from noots.xml import DEFAULT_LIMITS, parse, serialize

__all__ = [
    "EU_VARIANTS",
    "UNKNOWN_EVIDENCE_TYPE",
    "Crafted",
    "EuParties",
    "EuRequestFactory",
    "EuVariant",
    "edm_evidence_type",
    "ip_parties",
    "person_of",
]

_DS = "{http://www.w3.org/2000/09/xmldsig#}"
_RIM_SLOT = f"{{{edm.NS_RIM}}}Slot"
_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


@dataclass(frozen=True)
class EuVariant:
    """One way to send a request: the condition it probes and what it is."""

    condition: str
    description: Text


#: Variant → the condition it probes and what it sends. ``valid`` is the honest request;
#: ``replay`` is the valid message sent a second time (the caller sends it twice).
EU_VARIANTS: Mapping[str, EuVariant] = MappingProxyType(
    {
        "valid": EuVariant(
            "IP-01",
            Text("gültig signiert und adressiert", "validly signed and addressed"),
        ),
        "tampered": EuVariant(
            "IP-05",
            Text("nach dem Signieren verändert", "changed after signing"),
        ),
        "unsigned": EuVariant("IP-05", Text("ohne Signatur", "without a signature")),
        "untrusted_signer": EuVariant(
            "IP-05",
            Text(
                "signiert mit einem Zertifikat einer fremden CA",
                "signed with a certificate of a foreign CA",
            ),
        ),
        "wrong_signer": EuVariant(
            "IP-06",
            Text(
                "signiert von einem anderen Zugangspunkt als dem Absender (From)",
                "signed by another access point than the sender (From)",
            ),
        ),
        "wrong_recipient": EuVariant(
            "IP-06",
            Text(
                "an einen anderen Zugangspunkt adressiert (To)",
                "addressed to another access point (To)",
            ),
        ),
        "wrong_original_sender": EuVariant(
            "IP-06",
            Text(
                "originalSender ist nicht der EvidenceRequester der Anfrage",
                "originalSender is not the request's EvidenceRequester",
            ),
        ),
        "other_provider": EuVariant(
            "IP-06",
            Text(
                "EvidenceProvider ist nicht die Intermediäre Plattform",
                "EvidenceProvider is not the Intermediary Platform",
            ),
        ),
        "replay": EuVariant(
            "IP-07",
            Text("dieselbe Nachricht ein zweites Mal", "the same message a second time"),
        ),
        "stale": EuVariant("IP-07", Text("Timestamp vor einer Stunde", "Timestamp an hour ago")),
        "future": EuVariant("IP-07", Text("Timestamp in einer Stunde", "Timestamp an hour ahead")),
        "doctype": EuVariant(
            "IP-08",
            Text("mit DOCTYPE und internen Entitäten", "with a DOCTYPE and internal entities"),
        ),
        "external_entity": EuVariant(
            "IP-08",
            Text(
                "mit einer externen Entität (file:///etc/passwd)",
                "with an external entity (file:///etc/passwd)",
            ),
        ),
        "utf16": EuVariant(
            "IP-08",
            Text("die gültige Nachricht in UTF-16", "the valid message re-encoded as UTF-16"),
        ),
        "oversize": EuVariant(
            "IP-08",
            Text("größer als 5 MiB", "larger than 5 MiB"),
        ),
        "missing_slot": EuVariant(
            "IP-09",
            Text(
                "QueryRequest ohne den Slot IssueDateTime",
                "QueryRequest without the IssueDateTime slot",
            ),
        ),
        "wrong_slot_type": EuVariant(
            "IP-09",
            Text(
                "PossibilityForPreview als rim:StringValueType",
                "PossibilityForPreview as rim:StringValueType",
            ),
        ),
    }
)

#: An evidence type classification no German register provides.
UNKNOWN_EVIDENCE_TYPE = EdmEvidenceType(
    "00000000-0000-4000-8000-0000000000e7",
    EVIDENCE_TYPE_CLASSIFICATION_PREFIX + "00000000-0000-4000-8000-0000000000e7",
    "Certificate nobody issues",
)


@dataclass(frozen=True)
class EuParties:
    """Who is who at the border: the IP's access point and the IP as EDM agent, and the member
    state played (its access point, its authority, and another access point whose key signs
    what claims to come from the first)."""

    access_point: str
    platform: EdmAgent
    gateway: str
    authority: EdmAgent
    other_gateway: str


def ip_parties(topology: Topology) -> EuParties:
    """The landscape's IP and its French requester (the Austrian access point signs for the
    wrong-signer probe)."""
    from noots.intermediary.eu.catalogue import FRENCH_AUTHORITY, GERMAN_IP

    ip, eu = topology.intermediary_platform, topology.eu
    if ip is None or eu is None:
        raise ConfigurationError(
            "this landscape simulates no EU side (no `intermediary_platform` and `eu` sections)"
        )
    return EuParties(
        access_point=ip.access_point,
        platform=EdmAgent(ip.participant_id, GERMAN_IP.scheme_id, ip.name, name_lang="DE"),
        gateway=eu.requester.participant_id,
        authority=FRENCH_AUTHORITY,
        other_gateway=eu.provider.participant_id,
    )


def edm_evidence_type(topology: Topology, name: str) -> EdmEvidenceType:
    """The EDM evidence type an EU requester asks for to get the German type ``name``: the
    Data Service Directory's entry where it has one, else the German type's classification."""
    from noots.intermediary.eu.catalogue import BIRTH_CERTIFICATE

    spec = topology.evidence_type(name)
    if spec.classification == BIRTH_CERTIFICATE.classification:
        return BIRTH_CERTIFICATE
    return EdmEvidenceType(str(spec.identifier), spec.classification, spec.title, title_lang="DE")


def person_of(subject: EdmNaturalPerson) -> NaturalPerson:
    """The same person as XNachweis writes it (for
    :func:`noots.conformance.attacks.personal_data`)."""
    return NaturalPerson(subject.family_name, subject.given_name, subject.date_of_birth)


@dataclass(frozen=True)
class Crafted:
    """A request as sent: its EDM query, the ebMS message it claims to be, the bytes."""

    variant: str
    query: QueryRequest
    message: ebms.UserMessage
    raw: bytes


class EuRequestFactory:
    """Builds and seals requests as the member state's access point ``parties.gateway``."""

    def __init__(
        self,
        parties: EuParties,
        *,
        pki_dir: Path,
        clock: Clock,
        scratch: ScratchIssuer | None = None,
    ) -> None:
        self.parties = parties
        self.pki_dir = pki_dir
        self.clock = clock
        self._scratch = scratch
        self.signer = XmlSigner(load_credential(pki_dir, parties.gateway))
        self._other: XmlSigner | None = None
        self._foreign: XmlSigner | None = None

    def query(
        self,
        evidence_type: EdmEvidenceType,
        subject: EdmNaturalPerson,
        *,
        preview: bool = False,
        preview_location: str | None = None,
        provider: EdmAgent | None = None,
    ) -> QueryRequest:
        """A fresh EDM request of the member state's authority to the IP."""
        return QueryRequest.new(
            procedure="R1",
            requester=self.parties.authority,
            provider=provider or self.parties.platform,
            evidence_type=evidence_type,
            subject=subject,
            clock=self.clock,
            possibility_for_preview=preview or preview_location is not None,
            preview_location=preview_location,
        )

    def message(self, document: bytes, query: QueryRequest, **changes: Any) -> ebms.UserMessage:
        """A fresh ebMS user message carrying ``document`` to the IP's access point."""
        message = ebms.UserMessage.new(
            edm_document=document,
            from_party=self.parties.gateway,
            to_party=self.parties.access_point,
            action=ebms.ACTION_REQUEST,
            original_sender=ebms.PartyProperty.of(query.requester),
            final_recipient=ebms.PartyProperty.of(self.parties.platform),
            clock=self.clock,
        )
        return dataclasses.replace(message, **changes) if changes else message

    def _other_signer(self) -> XmlSigner:
        if self._other is None:
            self._other = XmlSigner(load_credential(self.pki_dir, self.parties.other_gateway))
        return self._other

    def _foreign_signer(self) -> XmlSigner:
        if self._foreign is None:
            if self._scratch is None:
                self._scratch = ScratchIssuer(self.pki_dir, clock=self.clock)
            credential = self._scratch.foreign(self.parties.gateway, Role.SIMULATOR)
            self._foreign = XmlSigner(credential)
        return self._foreign

    def close(self) -> None:
        if self._scratch is not None:
            self._scratch.close()
            self._scratch = None

    def craft(self, variant: str, query: QueryRequest) -> Crafted:
        """``query`` sent as ``variant`` says (:data:`EU_VARIANTS`; ``replay`` is ``valid``,
        to be sent twice)."""
        if variant not in EU_VARIANTS:
            raise KeyError(f"unknown variant {variant!r}; known: {', '.join(EU_VARIANTS)}")
        document = edm.to_bytes(query)
        changes: dict[str, Any] = {}
        signer = self.signer
        if variant == "other_provider":
            from noots.intermediary.eu.catalogue import AUSTRIAN_UNIVERSITY

            query = dataclasses.replace(query, provider=AUSTRIAN_UNIVERSITY.classified(None))
            document = edm.to_bytes(query)
        elif variant == "missing_slot":
            document = _edit_slots(document, "IssueDateTime", remove=True)
        elif variant == "wrong_slot_type":
            document = _edit_slots(document, "PossibilityForPreview", value_type="StringValueType")
        elif variant == "wrong_recipient":
            changes["to_party"] = self.parties.other_gateway
        elif variant == "wrong_original_sender":
            changes["original_sender"] = ebms.PartyProperty(
                "99999999999999", self.parties.authority.scheme_id
            )
        elif variant == "stale":
            changes["timestamp"] = self.clock.now() - timedelta(hours=1)
        elif variant == "future":
            changes["timestamp"] = self.clock.now() + timedelta(hours=1)
        elif variant == "wrong_signer":
            signer = self._other_signer()
        elif variant == "untrusted_signer":
            signer = self._foreign_signer()
        message = self.message(document, query, **changes)
        raw = ebms.seal_user_message(message, signer)
        if variant == "tampered":
            raw = corrupt_signature(raw)
        elif variant == "unsigned":
            raw = strip_signature(raw)
        elif variant in ("doctype", "external_entity"):
            raw = _with_doctype(raw, external=variant == "external_entity")
        elif variant == "utf16":
            text = raw.decode("utf-8").replace("encoding='UTF-8'", "encoding='UTF-16'", 1)
            raw = text.encode("utf-16")
        elif variant == "oversize":
            padding = b"<!--" + b"x" * (DEFAULT_LIMITS.max_bytes + 1024) + b"-->"
            raw = raw + padding
        return Crafted(variant, query, message, raw)


def _edit_slots(
    document: bytes, name: str, *, remove: bool = False, value_type: str | None = None
) -> bytes:
    root = parse(document)
    for slot in root.findall(_RIM_SLOT):
        if slot.get("name") != name:
            continue
        if remove:
            root.remove(slot)
        elif value_type is not None:
            for value in slot:
                value.set(_XSI_TYPE, f"rim:{value_type}")
    return serialize(root)


def _with_doctype(raw: bytes, *, external: bool) -> bytes:
    """The message with a document type declaration after its XML declaration; the entity is
    used in the ConversationId, so a parser that expands it changes what is signed."""
    head, separator, rest = raw.partition(b"?>")
    if not separator:
        head, rest = b"", raw
    else:
        head += separator
    if external:
        doctype = b'<!DOCTYPE S12:Envelope [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    else:
        doctype = (
            b'<!DOCTYPE S12:Envelope [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;'
            b'&a;&a;&a;&a;"><!ENTITY e "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        )
    conversation = b"<eb:ConversationId>"
    rest = rest.replace(conversation, conversation + b"&e;", 1)
    return head + doctype + rest
