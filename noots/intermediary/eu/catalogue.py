"""The simulated EU landscape: who provides which evidence type in which member state.

One place for what the Evidence Broker, the Data Service Directory, the simulated member
states and the Intermediäre Plattform must agree on: the two pilots.

- Use case 3: a French authority (Mairie de Lyon) asks Germany for a birth certificate
  (``Geburtsurkunde``); Germany's data service is the Intermediäre Plattform behind the German
  access point ``eu-gw-de``.
- Use case 4: a German online service orders an Austrian university degree; Austria's data
  service is the Universität Wien behind ``eu-gw-at``, with its preview space.
"""

from __future__ import annotations

from dataclasses import dataclass

from noots.eu.edm import EdmAgent, EdmEvidenceType, EdmRequirement
from noots.eu.registry import DataService, EvidenceTypeOffer
from noots.messages import EVIDENCE_TYPE_CLASSIFICATION_PREFIX

__all__ = [
    "AUSTRIAN_GATEWAY",
    "AUSTRIAN_UNIVERSITY",
    "BIRTH_CERTIFICATE",
    "BIRTH_REQUIREMENT",
    "DEGREE",
    "DEGREE_REQUIREMENT",
    "FRENCH_AUTHORITY",
    "FRENCH_GATEWAY",
    "GERMAN_GATEWAY",
    "GERMAN_IP",
    "Catalogue",
    "default_catalogue",
]

GERMAN_GATEWAY = "eu-gw-de"
FRENCH_GATEWAY = "eu-gw-fr"
AUSTRIAN_GATEWAY = "eu-gw-at"
ACCESS_POINT_SCHEME = "urn:oasis:names:tc:ebcore:partyid-type:unregistered:oots"

FRENCH_AUTHORITY = EdmAgent(
    "21690123100011",
    "urn:cef.eu:names:identifier:EAS:0009",
    "Mairie de Lyon, État civil",
    name_lang="FR",
    country="FR",
    classification="ER",
)
GERMAN_IP = EdmAgent(
    "noots-ip", "urn:cef.eu:names:identifier:EAS:0204", "Intermediäre Plattform", name_lang="DE"
)
AUSTRIAN_UNIVERSITY = EdmAgent(
    "ATU37586901",
    "urn:cef.eu:names:identifier:EAS:9914",
    "Universität Wien",
    name_lang="DE",
    country="AT",
)
BIRTH_REQUIREMENT = EdmRequirement(
    "https://sr.oots.tech.ec.europa.eu/requirements/1b2c3d4e-0000-4000-8000-0000000000b1",
    "Proof of birth",
)
DEGREE_REQUIREMENT = EdmRequirement(
    "https://sr.oots.tech.ec.europa.eu/requirements/f8a6a284-34e9-42c7-9733-63b5c4f4aa42",
    "Proof of tertiary education diploma/certificate/degree",
)
BIRTH_CERTIFICATE = EdmEvidenceType(
    "0f1b6c56-2b1c-4d8f-9f3e-6c5f1d2a7b11",
    # The classification the German RDN knows the Geburtsurkunde by (landscape.yaml): the IP
    # routes an EU request to the register by it.
    EVIDENCE_TYPE_CLASSIFICATION_PREFIX + "12cf6fb9-4dcf-4419-933a-04d11f8eef36",
    "Certificate of Birth",
    format="application/xml",
)
DEGREE = EdmEvidenceType(
    "5d0c2e9a-8e7b-4f7b-a0b4-2c8f3d5e6a77",
    EVIDENCE_TYPE_CLASSIFICATION_PREFIX + "7c1e9a52-4f0b-4a43-8c6e-2d6a7b3f9e01",
    "Proof of tertiary education degree",
    format="application/pdf",
    language="EN",
)


@dataclass(frozen=True)
class Catalogue:
    """Requirements, the evidence types offered for them, and the data services."""

    requirements: tuple[EdmRequirement, ...]
    offers: dict[str, tuple[EvidenceTypeOffer, ...]]
    services: tuple[DataService, ...]

    def requirement(self, identifier: str) -> EdmRequirement | None:
        return next((item for item in self.requirements if item.identifier == identifier), None)

    def offers_for(self, requirement: str, country: str) -> tuple[EvidenceTypeOffer, ...]:
        return tuple(
            offer for offer in self.offers.get(requirement, ()) if offer.country == country
        )

    def services_for(self, classification: str, country: str) -> tuple[DataService, ...]:
        return tuple(
            service
            for service in self.services
            if service.evidence_type.classification == classification
            and service.publisher.country == country
        )


def default_catalogue(
    *,
    german_ip: EdmAgent = GERMAN_IP,
    german_gateway: str = GERMAN_GATEWAY,
    austrian_gateway: str = AUSTRIAN_GATEWAY,
) -> Catalogue:
    """The two pilots' entries; the landscape passes its IP and access point ids."""
    german_provider = EdmAgent(
        german_ip.identifier,
        german_ip.scheme_id,
        german_ip.name,
        name_lang=german_ip.name_lang,
        country="DE",
    )
    birth: EdmEvidenceType = BIRTH_CERTIFICATE
    degree: EdmEvidenceType = DEGREE
    return Catalogue(
        requirements=(BIRTH_REQUIREMENT, DEGREE_REQUIREMENT),
        offers={
            BIRTH_REQUIREMENT.identifier: (
                EvidenceTypeOffer(birth.classification, birth.title, "DE"),
            ),
            DEGREE_REQUIREMENT.identifier: (
                EvidenceTypeOffer(degree.classification, degree.title, "AT"),
            ),
        },
        services=(
            DataService(birth, german_gateway, ACCESS_POINT_SCHEME, german_provider),
            DataService(degree, austrian_gateway, ACCESS_POINT_SCHEME, AUSTRIAN_UNIVERSITY),
        ),
    )
