"""The demo online services: what each one needs, and what it asks the citizen.

Three fetch national evidence (0101); the Zeugnisbewertung of the ZAB orders a degree from
another member state through the Intermediäre Plattform (use case 4: 0401, the citizen at
the IP and the member state's preview space, 0411)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "SERVICES",
    "ApplicationField",
    "EuOrder",
    "EvidenceNeed",
    "ServiceKind",
    "service_kind",
]

#: Whose evidence it is: the logged-in citizen, a person the citizen names (their child), or a
#: company the citizen names.
Subject = Literal["citizen", "child", "company"]


@dataclass(frozen=True)
class EuOrder:
    """Evidence from another member state, ordered through the Intermediäre Plattform: the
    requirement of the procedure (EU Semantic Repository), where the evidence is asked, and
    the procedure code (XNachweis code list ``procedures``)."""

    country: str
    requirement: str
    requirement_name: str
    procedure: str
    country_name: str


@dataclass(frozen=True)
class EvidenceNeed:
    """One evidence the service fetches, and why (shown on the consent page). ``eu``: an EU
    evidence the service orders through the IP (use case 4) instead of a national fetch."""

    evidence_type: str
    label: str
    reason: str
    subject: Subject = "citizen"
    eu: EuOrder | None = None


@dataclass(frozen=True)
class ApplicationField:
    """A field of the application form filled from an evidence.

    ``template`` names document paths in braces, e.g. ``"{Fahrzeug/Kennzeichen}"``; the field
    stays empty unless the evidence was accepted and has every path.
    """

    label: str
    evidence_type: str
    template: str


@dataclass(frozen=True)
class ServiceKind:
    """An online service; ``kind`` matches ``ConsumerSpec.kind`` in the topology."""

    kind: str
    title: str
    intro: str
    #: What happens next when every evidence arrived and was accepted.
    outcome: str
    needs: tuple[EvidenceNeed, ...]
    fields: tuple[ApplicationField, ...] = ()
    asks_residence: bool = False
    #: What happens next when something is missing (not fetched, rejected, or without the
    #: data a field needs, e.g. no vehicle in the Fahrzeughalterauskunft).
    incomplete: str = (
        "Ihr Antrag ist noch nicht vollständig. Wir bearbeiten ihn, sobald Sie die fehlenden "
        "Nachweise eingereicht haben."
    )

    @property
    def subjects(self) -> frozenset[Subject]:
        return frozenset(need.subject for need in self.needs)


SERVICES: dict[str, ServiceKind] = {
    "bewohnerparkausweis": ServiceKind(
        kind="bewohnerparkausweis",
        title="Bewohnerparkausweis beantragen",
        intro=(
            "Mit dem Bewohnerparkausweis parken Sie in Ihrem Wohngebiet. Wir prüfen, dass Sie "
            "hier mit Hauptwohnung gemeldet sind und ein Fahrzeug auf Sie zugelassen ist."
        ),
        outcome="Ihr Bewohnerparkausweis wird Ihnen per Post zugeschickt.",
        incomplete=(
            "Einen Bewohnerparkausweis können wir Ihnen noch nicht ausstellen: dafür müssen "
            "Ihre Wohnanschrift und das Kennzeichen eines auf Sie zugelassenen Fahrzeugs "
            "nachgewiesen sein. Bitte reichen Sie die fehlenden Nachweise ein."
        ),
        needs=(
            EvidenceNeed(
                "Meldebescheinigung",
                "Meldebescheinigung",
                "um Ihre Wohnanschrift im Bewohnerparkgebiet zu prüfen",
            ),
            EvidenceNeed(
                "Fahrzeughalterauskunft",
                "Fahrzeughalterauskunft",
                "um das Kennzeichen Ihres Fahrzeugs für den Ausweis zu übernehmen",
            ),
        ),
        fields=(
            ApplicationField(
                "Name", "Meldebescheinigung", "{Person/Vornamen} {Person/Familienname}"
            ),
            ApplicationField(
                "Wohnanschrift",
                "Meldebescheinigung",
                "{Wohnung/Anschrift/Strasse} {Wohnung/Anschrift/Hausnummer}, "
                "{Wohnung/Anschrift/Postleitzahl} {Wohnung/Anschrift/Wohnort}",
            ),
            ApplicationField("Kennzeichen", "Fahrzeughalterauskunft", "{Fahrzeug/Kennzeichen}"),
        ),
    ),
    "elterngeld": ServiceKind(
        kind="elterngeld",
        title="Elterngeld beantragen",
        intro=(
            "Elterngeld unterstützt Sie nach der Geburt Ihres Kindes. Wir benötigen die "
            "Geburtsurkunde Ihres Kindes und Ihre Meldebescheinigung."
        ),
        outcome="Ihr Antrag wird von der Elterngeldstelle bearbeitet; Sie erhalten einen Bescheid.",
        needs=(
            EvidenceNeed(
                "Geburtsurkunde",
                "Geburtsurkunde Ihres Kindes",
                "um die Geburt und Ihre Elternschaft nachzuweisen",
                subject="child",
            ),
            EvidenceNeed(
                "Meldebescheinigung",
                "Meldebescheinigung",
                "um Ihren Wohnsitz in Deutschland nachzuweisen",
            ),
        ),
        fields=(
            ApplicationField("Kind", "Geburtsurkunde", "{Kind/Vornamen} {Kind/Familienname}"),
            ApplicationField("Geburtsdatum des Kindes", "Geburtsurkunde", "{Kind/Geburtsdatum}"),
            ApplicationField(
                "Wohnanschrift",
                "Meldebescheinigung",
                "{Wohnung/Anschrift/Strasse} {Wohnung/Anschrift/Hausnummer}, "
                "{Wohnung/Anschrift/Postleitzahl} {Wohnung/Anschrift/Wohnort}",
            ),
        ),
        asks_residence=True,
    ),
    "gewerbeanmeldung": ServiceKind(
        kind="gewerbeanmeldung",
        title="Gewerbe anmelden",
        intro=(
            "Melden Sie Ihr Gewerbe an. Für eingetragene Unternehmen übernehmen wir die Angaben "
            "direkt aus dem Handelsregister."
        ),
        outcome="Sie erhalten die Empfangsbestätigung Ihrer Gewerbeanzeige per Post.",
        needs=(
            EvidenceNeed(
                "Handelsregisterauszug",
                "Handelsregisterauszug",
                "um Firma, Rechtsform und Sitz Ihres Unternehmens zu übernehmen",
                subject="company",
            ),
        ),
        fields=(
            ApplicationField("Firma", "Handelsregisterauszug", "{Firma}"),
            ApplicationField("Rechtsform", "Handelsregisterauszug", "{Rechtsform}"),
            ApplicationField(
                "Registereintrag",
                "Handelsregisterauszug",
                "{Registergericht} {Registerart} {Registernummer}",
            ),
            ApplicationField(
                "Betriebsstätte",
                "Handelsregisterauszug",
                "{Geschaeftsanschrift/Strasse} {Geschaeftsanschrift/Hausnummer}, "
                "{Geschaeftsanschrift/Postleitzahl} {Geschaeftsanschrift/Ort}",
            ),
        ),
    ),
    "zeugnisbewertung": ServiceKind(
        kind="zeugnisbewertung",
        title="Zeugnisbewertung für einen ausländischen Hochschulabschluss beantragen",
        intro=(
            "Die Zeugnisbewertung der ZAB beschreibt Ihren ausländischen Hochschulabschluss "
            "und stuft ihn ein. Ihren Abschluss holen wir mit Ihrer Zustimmung direkt bei "
            "Ihrer Hochschule in der EU ab: über die Intermediäre Plattform, mit Ihrer "
            "Anmeldung und Vorschau im Herkunftsland."
        ),
        outcome="Ihre Zeugnisbewertung wird erstellt und Ihnen zugeschickt.",
        needs=(
            EvidenceNeed(
                "Hochschulabschluss-EU",
                "Hochschulabschluss (Universität Wien, Österreich)",
                "um Ihren Abschluss für die Zeugnisbewertung zu prüfen",
                eu=EuOrder(
                    country="AT",
                    requirement=(
                        "https://sr.oots.tech.ec.europa.eu/requirements/"
                        "f8a6a284-34e9-42c7-9733-63b5c4f4aa42"
                    ),
                    requirement_name="Proof of tertiary education diploma/certificate/degree",
                    procedure="T3",
                    country_name="Österreich",
                ),
            ),
        ),
    ),
}


def service_kind(kind: str) -> ServiceKind:
    """The service for a topology ``kind``; ``KeyError`` names the known ones."""
    try:
        return SERVICES[kind]
    except KeyError:
        raise KeyError(f"unknown online service kind {kind!r}; known: {sorted(SERVICES)}") from None
