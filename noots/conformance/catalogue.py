"""The connection conditions (Anschlussbedingungen) the conformance suites check.

Every condition has an id, a one-line rule, the probes the suite sends, and a hint that tells
an operator where to look when their system fails it, each in German and English (reports are
German unless English is asked for, :mod:`noots.conformance.i18n`):

- ``DP-xx``: a register (data provider) behind its SAK, in push and in passive mode;
- ``SAK-xx``: a Sicherer Anschlussknoten, for operators who run their own implementation;
- ``DC-xx``: an online service (data consumer) behind its SAK;
- ``IP-xx``: the EU-facing side of an Intermediäre Plattform, as a member state's eDelivery
  gateway and evidence requester reach it (use case 3).

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

from noots.conformance.i18n import Language, Text, current_language

__all__ = [
    "CONDITIONS",
    "CONSUMER_CONDITIONS",
    "DOC_BLOCKS",
    "IP_CONDITIONS",
    "PROVIDER_CONDITIONS",
    "RETIRED",
    "SAK_CONDITIONS",
    "Condition",
    "ConditionText",
    "Side",
    "condition",
    "conditions_of",
    "markdown_table",
    "refresh_doc",
]

Side = Literal["provider", "consumer", "sak", "ip"]


@dataclass(frozen=True)
class ConditionText:
    """A condition in one language: ``rule`` is what must hold, ``hint`` how to fix a failure,
    ``probes`` what the suite sends to find out."""

    title: str
    rule: str
    hint: str
    probes: str = ""


@dataclass(frozen=True)
class Condition:
    """One connection condition, in German (``de``) and English (``en``). ``title``, ``rule``,
    ``hint`` and ``probes`` are in the language reports are being written in
    (:func:`~noots.conformance.i18n.report_language`); :meth:`text` gives either."""

    id: str
    side: Side
    de: ConditionText
    en: ConditionText

    def text(self, language: Language | None = None) -> ConditionText:
        """The texts in ``language`` (default: the current report language)."""
        return self.de if (language or current_language()) == "de" else self.en

    @property
    def title(self) -> str:
        return self.text().title

    @property
    def rule(self) -> str:
        return self.text().rule

    @property
    def hint(self) -> str:
        return self.text().hint

    @property
    def probes(self) -> str:
        return self.text().probes


PROVIDER_CONDITIONS: tuple[Condition, ...] = (
    Condition(
        "DP-01",
        "provider",
        de=ConditionText(
            title="Gültige XNachweis-Antworten",
            rule=(
                "Beantwortet jede DE.EvidenceRequest.0101, die sein SAK übergibt, mit einer "
                "0102 oder 0103, die gegen XNachweis 1.2.0 gültig ist, im Push- und im "
                "Passivmodus."
            ),
            hint=(
                "Jede ausgehende 0102/0103 gegen xnachweis-de-noots.xsd validieren; das "
                "Nachweisdokument base64-kodiert in RepositoryItem übertragen; die "
                "unsignierte Nachricht beantworten (Ihr SAK signiert sie)."
            ),
            probes=(
                "eine gültige Nachweisanfrage (0102 mit dem Nachweis des angefragten "
                "Nachweistyps) und eine unbekannte Person (0103), geprüft gegen die "
                "offiziellen XNachweis-1.2.0-Schemata, wenn ../shared vorhanden ist, sonst "
                "strukturell"
            ),
        ),
        en=ConditionText(
            title="Valid XNachweis answers",
            rule=(
                "Answers every DE.EvidenceRequest.0101 its SAK hands over with a 0102 or "
                "0103 valid against XNachweis 1.2.0, in push and in passive mode."
            ),
            hint=(
                "Validate every outgoing 0102/0103 against xnachweis-de-noots.xsd; carry the "
                "evidence document base64 in RepositoryItem; answer the bare message (your "
                "SAK signs it)."
            ),
            probes=(
                "a valid request (0102 with the evidence of the requested type) and an "
                "unknown person (0103), checked against the official XNachweis 1.2.0 schemas "
                "when ../shared is present, else structurally"
            ),
        ),
    ),
    Condition(
        "DP-04",
        "provider",
        de=ConditionText(
            title="Token der Vermittlungsstelle",
            rule=(
                "Prüft das VS-Token gegen den Inhalt (Siegel, Ablauf, Partner, Zweck, "
                "Nachweistyp, IDNr-Verwendung, Hash der Nachweisanfrage), bevor irgendetwas "
                "verrät, was das Register liefert, und lehnt mit EDM:ERR:0002 ohne Daten ab; "
                "beachtet Noots-Vs-Token-Required."
            ),
            hint=(
                "Wo Noots-Vs-Token-Required true ist oder ein Token mitkam: sein Siegel "
                "(Rolle vs) und ExpiresAt prüfen, Datennutzer (Noots-Consumer), Datenhalter, "
                "Zweck (Noots-Purpose), Nachweistyp, IDNr-Verwendung und den selbst "
                "berechneten Hash der Nachweisanfrage vergleichen; erst danach Nachweistyp "
                "und Person ansehen. Ohne erforderliches Token: 0002."
            ),
            probes=(
                "kein Token, wo Noots-Vs-Token-Required true ist; ein abgelaufenes Token; "
                "eines, das der Datennutzer gesiegelt hat; ein Token einer anderen "
                "Nachweisanfrage, eines anderen Datennutzers, eines anderen Datenhalters, "
                "einer anderen Person (IDNr); ein anderer Zweck in Noots-Purpose; ein "
                "ungültiges Token, wo keines erforderlich ist; ein Nachweistyp, den das "
                "Register nicht liefert, ohne gültiges Token (muss 0002 sein, nicht 0007); "
                "kein Token, wo keines erforderlich ist (muss beantwortet werden)"
            ),
        ),
        en=ConditionText(
            title="Vermittlungsstelle token",
            rule=(
                "Checks the VS token against the content (seal, expiry, partners, purpose, "
                "evidence type, IDNr use, request hash) before anything reveals what it "
                "provides, and refuses with EDM:ERR:0002 and no data; honours "
                "Noots-Vs-Token-Required."
            ),
            hint=(
                "Where Noots-Vs-Token-Required is true or a token came, verify its seal "
                "(role vs) and ExpiresAt, compare consumer (Noots-Consumer), provider, "
                "purpose (Noots-Purpose), evidence type, IDNr use and the request hash you "
                "compute yourself; only then look at the evidence type and the person. "
                "Without a required token: 0002."
            ),
            probes=(
                "no token where Noots-Vs-Token-Required is true; an expired token; one "
                "sealed by the consumer; a token of another request, another consumer, "
                "another provider, another person (IDNr); another purpose in Noots-Purpose; "
                "a bad token where none is required; an evidence type the register does not "
                "provide, without a valid token (must be 0002, not 0007); no token where "
                "none is required (must be answered)"
            ),
        ),
    ),
    Condition(
        "DP-05",
        "provider",
        de=ConditionText(
            title="Prüfung der IDNr",
            rule="Lehnt eine ungültige IDNr mit EDM:ERR:0003 ohne Daten ab.",
            hint=(
                "Die 11 Ziffern, die Regeln zur Ziffernwiederholung und die Prüfziffer nach "
                "ISO/IEC 7064 MOD 11,10 prüfen, bevor jemand gesucht wird."
            ),
            probes="die bekannte Person mit falscher Prüfziffer",
        ),
        en=ConditionText(
            title="IDNr validation",
            rule="Refuses an invalid IDNr with EDM:ERR:0003 and no data.",
            hint=(
                "Check the 11 digits, the digit-repetition rules and the ISO/IEC 7064 MOD "
                "11,10 check digit before looking anybody up."
            ),
            probes="the known person with a wrong check digit",
        ),
    ),
    Condition(
        "DP-06",
        "provider",
        de=ConditionText(
            title="Unbekannte und mehrdeutige Personen",
            rule=(
                "Beantwortet eine unbekannte Person mit EDM:ERR:0004 und einen mehrdeutigen "
                "Treffer ohne Daten."
            ),
            hint=(
                "Nur bei genau einem Treffer liefern; kein oder mehrere Treffer sind "
                "EDM:ERR:0004 ohne personenbezogene Daten in der Antwort."
            ),
            probes=(
                "eine unbekannte Person; eine mehrdeutige (mehrere Einträge passen zu ihren "
                "Grunddaten; --ambiguous benennt Ihre)"
            ),
        ),
        en=ConditionText(
            title="Unknown and ambiguous persons",
            rule=(
                "Answers an unknown person with EDM:ERR:0004 and an ambiguous match with no data."
            ),
            hint=(
                "Deliver only on exactly one match; zero or several matches are EDM:ERR:0004 "
                "without any personal data in the answer."
            ),
            probes=(
                "an unknown person; an ambiguous one (several entries match its basic data; "
                "--ambiguous names yours)"
            ),
        ),
    ),
    Condition(
        "DP-07",
        "provider",
        de=ConditionText(
            title="Auskunftssperre",
            rule=("Eine Auskunftssperre ist von einer unbekannten Person nicht zu unterscheiden."),
            hint=(
                "Eine gesperrte Person genau wie eine unbekannte beantworten: gleicher Code, "
                "gleicher Detailtext, gleicher HTTP-Status, gleiche Form, ungefähr gleiche "
                "Antwortzeit."
            ),
            probes=(
                "eine gesperrte Person (--blocked benennt Ihre) im Vergleich mit einer "
                "unbekannten: Code, Detailtext, HTTP-Status, Elemente, keine "
                "personenbezogenen Daten, Antwortzeit (je Median aus drei)"
            ),
        ),
        en=ConditionText(
            title="Information block",
            rule=(
                "An information block (Auskunftssperre) is indistinguishable from an unknown "
                "person."
            ),
            hint=(
                "Answer a blocked person exactly like an unknown one: same code, same detail "
                "text, same HTTP status, same shape, about the same time."
            ),
            probes=(
                "a blocked person (--blocked names yours) compared with an unknown one: "
                "code, detail, HTTP status, elements, no personal data, answer time (median "
                "of three each)"
            ),
        ),
    ),
    Condition(
        "DP-08",
        "provider",
        de=ConditionText(
            title="Kennungen und Zeiten",
            rule=(
                "Gibt die Kennung der Nachweisanfrage zurück, verwendet frische UUIDs und "
                "UTC-Zeiten mit Zone."
            ),
            hint=(
                "Die Kennung der 0101 in requestid übernehmen, für jede Antwort neue "
                "nachrichtenUUID und Antwortkennungen erzeugen und Zeiten als UTC mit 'Z' "
                "schreiben."
            ),
            probes=(
                "die Antworten auf die gültige Nachweisanfrage und die unbekannte Person: "
                "requestid, nachrichtenUUID, EvidenceResponseIdentifier, jede Zeitangabe"
            ),
        ),
        en=ConditionText(
            title="Identifiers and times",
            rule="Echoes the request id, uses fresh UUIDs and UTC times with zone.",
            hint=(
                "Put the 0101's id into requestid, generate new nachrichtenUUID and response "
                "ids for every answer, and write times as UTC with 'Z'."
            ),
            probes=(
                "the answers to the valid request and the unknown person: requestid, "
                "nachrichtenUUID, EvidenceResponseIdentifier, every date-time"
            ),
        ),
    ),
    Condition(
        "DP-12",
        "provider",
        de=ConditionText(
            title="Protokollierung",
            rule=(
                "Protokolliert jede Übermittlung (§ 9 IDNrG), bevor die Antwort hinausgeht, "
                "und meldet sie für das Datenschutzcockpit, lesbar über den Protokollexport."
            ),
            hint=(
                "Je beantworteter Nachweisanfrage einen Eintrag anhängen (Datennutzer, "
                "Datenhalter, Nachweistyp, Zweck, IDNr, Kennung der Nachweisanfrage, "
                "Ergebnis), bevor die Antwort hinausgeht, und ihn unter GET "
                "/provider/v1/transfers?requestId=… für Ihren SAK bereitstellen "
                "(docs/SAK.md)."
            ),
            probes=(
                "der Protokollexport (GET /provider/v1/transfers oder --protocol-export) für "
                "die gelieferte Nachweisanfrage des Laufs, ihre unbekannte Person (0004) und "
                "ihre ungültige IDNr (0003): Datennutzer, Nachweistyp, Zweck, IDNr, Ergebnis"
            ),
        ),
        en=ConditionText(
            title="Protocol log",
            rule=(
                "Logs every transfer (§ 9 IDNrG) before the answer leaves and reports it for "
                "the Datenschutzcockpit, readable through the protocol export."
            ),
            hint=(
                "Append one entry per answered request (consumer, provider, evidence type, "
                "purpose, IDNr, request id, outcome) before the answer leaves, and serve it "
                "at GET /provider/v1/transfers?requestId=… for your SAK (docs/SAK.md)."
            ),
            probes=(
                "the protocol export (GET /provider/v1/transfers, or --protocol-export) for "
                "the run's delivered request, its unknown person (0004) and its invalid IDNr "
                "(0003): consumer, evidence type, purpose, IDNr, outcome"
            ),
        ),
    ),
    Condition(
        "DP-13",
        "provider",
        de=ConditionText(
            title="Rechtzeitige Antwort",
            rule=(
                "Antwortet rechtzeitig oder kündigt ResponseAvailableDateTime an und liefert dann."
            ),
            hint=(
                "Innerhalb der Zeitgrenze Ihres SAK (10 s) antworten, oder eine 0102 mit "
                "ResponseAvailableDateTime senden und den Nachweis liefern, wenn dieselbe "
                "0101 nach dieser Zeit erneut kommt."
            ),
            probes=(
                "die Antwortzeit der gültigen Nachweisanfrage (--time-budget); eine "
                "asynchrone Person (--asynchronous benennt Ihre): angekündigt, dann mit "
                "derselben 0101 zum angekündigten Zeitpunkt abgeholt (die Suite wartet bis "
                "zu --max-wait, standardmäßig 150 s)"
            ),
        ),
        en=ConditionText(
            title="Answer in time",
            rule=("Answers in time, or announces ResponseAvailableDateTime and delivers then."),
            hint=(
                "Answer within your SAK's timeout (10 s), or answer a 0102 with "
                "ResponseAvailableDateTime and deliver the evidence when the same 0101 comes "
                "again after that time."
            ),
            probes=(
                "the answer time of the valid request (--time-budget); an asynchronous "
                "person (--asynchronous names yours): announced, then collected with the "
                "same 0101 when announced (the suite waits up to --max-wait, default 150 s)"
            ),
        ),
    ),
    Condition(
        "DP-14",
        "provider",
        de=ConditionText(
            title="Nicht unterstützter Nachweistyp oder Dienst",
            rule=(
                "Beantwortet eine berechtigte Nachweisanfrage für einen Nachweistyp, den es "
                "nicht liefert, mit EDM:ERR:0007 und eine Dienstkennung, die nicht zu seinen "
                "eigenen gehört, mit EDM:ERR:0006."
            ),
            hint=(
                "Die angefragte EvidenceTypeClassification mit den in der "
                "Registerdatennavigation veröffentlichten Nachweistypen vergleichen (0007, "
                "nach der Token-Prüfung), und Noots-Service-Id mit Ihren eigenen Diensten "
                "(0006)."
            ),
            probes=(
                "eine 0101 für einen anderen Nachweistyp der Landschaft mit einem gültigen "
                "Token dafür; eine Dienstkennung eines anderen Registers"
            ),
        ),
        en=ConditionText(
            title="Unsupported evidence type or service",
            rule=(
                "Answers an authorised request for an evidence type it does not provide with "
                "EDM:ERR:0007, and a service id that is not one of its own with "
                "EDM:ERR:0006."
            ),
            hint=(
                "Compare the requested EvidenceTypeClassification with the types you publish "
                "in the RDN (0007, after the token check), and Noots-Service-Id with your "
                "own services (0006)."
            ),
            probes=(
                "a 0101 for another evidence type of the landscape with a valid token for "
                "it; a service id of another register"
            ),
        ),
    ),
    Condition(
        "DP-15",
        "provider",
        de=ConditionText(
            title="Health-Endpunkt",
            rule="Bietet GET /health an (200 betriebsbereit, 503 eingeschränkt).",
            hint=(
                "GET /health unter der Basis-URL des Registers bereitstellen: 200 mit "
                "JSON-Inhalt, wenn es antworten kann, 503, wenn eine Abhängigkeit "
                "ausgefallen ist."
            ),
            probes="GET /health",
        ),
        en=ConditionText(
            title="Health endpoint",
            rule="Offers GET /health (200 healthy, 503 degraded).",
            hint=(
                "Serve GET /health on the register's base URL: 200 with a JSON body when it "
                "can answer, 503 when a dependency is down."
            ),
            probes="GET /health",
        ),
    ),
    Condition(
        "DP-16",
        "provider",
        de=ConditionText(
            title="Nur der eigene SAK",
            rule=(
                "Nimmt Nachweisanfragen nur von seinem eigenen SAK an: ein Zugriffstoken des "
                "IAM für <Register>.sak (Rolle sak) für das Register und, mit TLS, das "
                "Zertifikat dieses SAK; alle anderen erhalten 401/403 und keine Daten."
            ),
            hint=(
                "Das Bearer-Zugriffstoken prüfen (Signatur des IAM, Vertrauensanker, "
                "Zertifikatssperrliste, Ablauf, Zielgruppe = Ihre Teilnehmerkennung, Rolle "
                "sak) und verlangen, dass sein Subjekt Ihr eigener SAK ist und es für Ihr "
                "Register handelt (acts_for = Ihre Teilnehmerkennung); mit TLS auch das "
                "Client-Zertifikat. Ablehnen, bevor der Inhalt gelesen wird."
            ),
            probes=(
                "Im Push-Modus: das gültige Token Ihres SAK wird angenommen. POST "
                "/provider/v1/requests ohne Token; mit einem gültigen Token eines "
                "Online-Dienstes, des SAK eines anderen Registers, für eine andere "
                "Zielgruppe, abgelaufen, handelnd für einen anderen Teilnehmer; mit TLS: das "
                "Token Ihres SAK über dem Zertifikat eines anderen Teilnehmers. Im "
                "Passivmodus dasselbe (der Endpunkt darf auch fehlen)"
            ),
        ),
        en=ConditionText(
            title="Only its own SAK",
            rule=(
                "Accepts requests only from its own SAK: an IAM access token of "
                "<register>.sak (role sak) for the register and, with TLS, that SAK's "
                "certificate; anybody else gets 401/403 and no data."
            ),
            hint=(
                "Verify the Bearer access token (IAM signature, trust anchor, CRL, expiry, "
                "audience = your participant id, role sak) and require its subject to be "
                "your own SAK and that it acts for your register (acts_for = your "
                "participant id); with TLS also the client certificate. Refuse before "
                "reading the body."
            ),
            probes=(
                "In push mode: your SAK's valid token is accepted. POST "
                "/provider/v1/requests without a token; with a valid token of an online "
                "service, of another register's SAK, for another audience, expired, acting "
                "for another participant; with TLS: your SAK's token over another "
                "participant's certificate. In passive mode the same (the endpoint may also "
                "not exist)"
            ),
        ),
    ),
    Condition(
        "DP-17",
        "provider",
        de=ConditionText(
            title="Nachweisanfrage und Metadaten stimmen überein",
            rule=(
                "Beantwortet nur eine 0101, die mit dem übereinstimmt, was sein SAK "
                "festgestellt hat: Anfragender = Noots-Consumer, Datenhalter = das Register "
                "selbst; lehnt sonst ohne Daten ab."
            ),
            hint=(
                "Den Anfragenden der 0101 mit Noots-Consumer und ihren Datenhalter mit Ihrer "
                "eigenen Teilnehmerkennung vergleichen, vor allem anderen; mit einer "
                "Ablehnung (0103) ohne Daten antworten."
            ),
            probes=(
                "eine 0101 eines anderen Anfragenden als Noots-Consumer (mit einem Token "
                "dafür); eine 0101, die einen anderen Datenhalter nennt"
            ),
        ),
        en=ConditionText(
            title="Request and metadata agree",
            rule=(
                "Answers only a 0101 that agrees with what its SAK established: requester = "
                "Noots-Consumer, provider = itself; otherwise refuses without data."
            ),
            hint=(
                "Compare the 0101's requester with Noots-Consumer and its provider with your "
                "own participant id before anything else; answer a refusal (0103) without "
                "data."
            ),
            probes=(
                "a 0101 of another requester than Noots-Consumer (with a token for it); a "
                "0101 that names another provider"
            ),
        ),
    ),
)

SAK_CONDITIONS: tuple[Condition, ...] = (
    Condition(
        "SAK-01",
        "sak",
        de=ConditionText(
            title="Signatur",
            rule=(
                "Prüft die XMLDSig-Signatur jedes Umschlags und liest nur, was die Prüfung "
                "als signiert zurückgibt; lehnt unsignierte, veränderte und umhüllte "
                "Umschläge mit EDM:ERR:0001 ohne Daten ab."
            ),
            hint=(
                "Exklusive C14N, SHA-256, RSA-SHA256 oder ECDSA-P256, genau eine Reference "
                'URI="" mit der Enveloped- und der Exclusive-C14N-Transformation, das '
                "Zertifikat des Signierenden in KeyInfo; Header und Body aus dem Ergebnis "
                "der Prüfung lesen, nie aus dem empfangenen Baum."
            ),
            probes=(
                "unsigniert; nach dem Signieren verändert; der signierte Body verschoben, "
                "verdoppelt, in ein unbekanntes Element gehüllt oder in ds:Object versteckt; "
                "eine Referenz auf eine doppelte Id; eine Signatur nur über den Header; zwei "
                "Signaturen; ein nicht kanonisierbarer Namensraum; mit dem "
                "Signatur-Angriffsbaukasten: Tricks mit KeyInfo und Zertifikatskette, "
                "herabgestufte Algorithmen, harmlose Umformungen"
            ),
        ),
        en=ConditionText(
            title="Signature",
            rule=(
                "Verifies every envelope's XMLDSig and reads only what the verifier returns "
                "as signed; refuses unsigned, tampered and wrapped envelopes with "
                "EDM:ERR:0001 and no data."
            ),
            hint=(
                "Exclusive C14N, SHA-256, RSA-SHA256 or ECDSA-P256, exactly one Reference "
                'URI="" with the enveloped and exclusive C14N transforms, the signer '
                "certificate in KeyInfo; read the header and body from the verifier's "
                "result, never from the received tree."
            ),
            probes=(
                "unsigned; tampered after signing; the signed body moved, duplicated, "
                "wrapped in an unknown element or hidden in ds:Object; a reference to a "
                "duplicated id; a header-only signature; two signatures; an "
                "uncanonicalisable namespace; with the signature attack kit: KeyInfo and "
                "chain tricks, algorithm downgrades, harmless rewrites"
            ),
        ),
    ),
    Condition(
        "SAK-02",
        "sak",
        de=ConditionText(
            title="Zertifikate und Zertifikatssperrliste",
            rule=(
                "Lehnt Umschläge ab, die mit einem gesperrten, abgelaufenen, noch nicht "
                "gültigen oder nicht vertrauenswürdigen Zertifikat signiert sind oder mit "
                "einem, dessen Rolle nicht sak ist (EDM:ERR:0001)."
            ),
            hint=(
                "Das Zertifikat des Signierenden zu Ihrer Uhrzeit gegen den "
                "NOOTS-Vertrauensanker, seine Rolle (OU sak) und die aktuelle "
                "Zertifikatssperrliste prüfen; ablehnen, wenn die Sperrliste fehlt oder "
                "veraltet ist."
            ),
            probes=(
                "ein gesperrter Absender; ein abgelaufenes, ein noch nicht gültiges "
                "Zertifikat; ein Zertifikat einer anderen CA; ein Online-Dienst, der selbst "
                "signiert (Rolle consumer)"
            ),
        ),
        en=ConditionText(
            title="Certificates and CRL",
            rule=(
                "Refuses envelopes signed with a revoked, expired, not-yet-valid or "
                "untrusted certificate, or one whose role is not sak (EDM:ERR:0001)."
            ),
            hint=(
                "Validate the signer's certificate against the NOOTS trust anchor at your "
                "clock, its role (OU sak) and the current CRL; fail closed when the CRL is "
                "missing or out of date."
            ),
            probes=(
                "a revoked sender; an expired, a not-yet-valid certificate; a certificate of "
                "another CA; an online service signing itself (role consumer)"
            ),
        ),
    ),
    Condition(
        "SAK-03",
        "sak",
        de=ConditionText(
            title="Frische und Wiederholung",
            rule=(
                "Lehnt eine bereits angenommene MessageId und ein Created außerhalb seines "
                "Zeitfensters (±300 s) mit EDM:ERR:0003 ab."
            ),
            hint=(
                "Die innerhalb des Zeitfensters angenommenen MessageIds in einem "
                "Journal-Cache halten (er muss einen Neustart überstehen) und Wiederholungen "
                "sowie Umschläge außerhalb des Zeitfensters ablehnen."
            ),
            probes=(
                "derselbe Umschlag zweimal; ein Umschlag, vor einer Stunde erstellt; einer, "
                "eine Stunde in der Zukunft"
            ),
        ),
        en=ConditionText(
            title="Freshness and replay",
            rule=(
                "Refuses a MessageId it accepted before and a Created outside its window "
                "(±300 s) with EDM:ERR:0003."
            ),
            hint=(
                "Keep a journaled cache of the MessageIds accepted within the window (it "
                "must survive a restart) and refuse repeats and envelopes outside the "
                "window."
            ),
            probes=("the same envelope twice; an envelope created an hour ago; one an hour ahead"),
        ),
    ),
    Condition(
        "SAK-04",
        "sak",
        de=ConditionText(
            title="Feindseliges XML",
            rule=(
                "Nimmt nur UTF-8 an, keine DTD in irgendeiner Kodierung, innerhalb der "
                "Grenzen (5 MiB, Tiefe 64, 50.000 Elemente); lehnt alles andere sauber und "
                "ohne Daten ab und antwortet weiter."
            ),
            hint=(
                "Andere Kodierungen, andere Byte-Order-Marks als die von UTF-8 und jedes "
                "DOCTYPE ablehnen, bevor der Parser die Bytes sieht; nie etwas Externes "
                "laden; Größe, Tiefe, Knoten und Parse-Zeit begrenzen. Wo die Dokumentation "
                "den Code offenlässt, wird jede Ablehnung ohne Daten akzeptiert."
            ),
            probes=(
                "Entitäten (auch in UTF-16), externe DTDs, Parameter-Entitäten, eine "
                "Stylesheet-Anweisung, mehr als 5 MiB, tiefe Verschachtelung, zu viele "
                "Elemente, der gültige Umschlag umkodiert in UTF-16/UTF-32/ISO-8859-1; "
                "danach muss ein gültiger Umschlag noch beantwortet werden"
            ),
        ),
        en=ConditionText(
            title="Hostile XML",
            rule=(
                "Accepts UTF-8 only, no DTD in any encoding, within the limits (5 MiB, depth "
                "64, 50,000 elements); refuses anything else cleanly, without data, and "
                "keeps answering."
            ),
            hint=(
                "Refuse other encodings, byte-order marks other than UTF-8's and any DOCTYPE "
                "before the parser sees the bytes; never load anything external; bound size, "
                "depth, nodes and parse time. Where the documentation leaves the code open, "
                "any refusal without data is accepted."
            ),
            probes=(
                "entities (also in UTF-16), external DTDs, parameter entities, a stylesheet "
                "instruction, more than 5 MiB, deep nesting, too many elements, the valid "
                "envelope re-encoded as UTF-16/UTF-32/ISO-8859-1; then a valid envelope must "
                "still be answered"
            ),
        ),
    ),
    Condition(
        "SAK-05",
        "sak",
        de=ConditionText(
            title="Absender und Adressierung",
            rule=(
                "Nimmt einen Umschlag nur vom SAK eines Online-Dienstes an, der für diesen "
                "Dienst handelt: Sender = das signierende Zertifikat, OnBehalfOf = der "
                "Dienst, den er bedient, der Anfragende der 0101 = OnBehalfOf, Recipient = "
                "er selbst, eine Dienstkennung seines Registers (0006)."
            ),
            hint=(
                "Sender mit der Teilnehmerkennung des Zertifikats vergleichen, OnBehalfOf "
                "mit dem Online-Dienst, den der sendende SAK bedient "
                "(Registerdatennavigation/IAM), den Anfragenden der 0101 mit OnBehalfOf, "
                "Recipient mit Ihrer eigenen Kennung und die Dienstkennung mit den Diensten "
                "Ihres Registers."
            ),
            probes=(
                "Sender ein anderer SAK als der Signierende; OnBehalfOf ein anderer "
                "Online-Dienst; eine 0101 eines anderen Anfragenden; ein anderer Recipient; "
                "eine Dienstkennung eines anderen Registers; das eigene Zertifikat eines "
                "Online-Dienstes als Absender"
            ),
        ),
        en=ConditionText(
            title="Sender and addressing",
            rule=(
                "Accepts an envelope only from the SAK of an online service acting for that "
                "service: Sender = the signing certificate, OnBehalfOf = the service it "
                "serves, the 0101's requester = OnBehalfOf, Recipient = itself, a service id "
                "of its register (0006)."
            ),
            hint=(
                "Compare Sender with the certificate's participant id, OnBehalfOf with the "
                "online service the sending SAK serves (RDN/IAM), the 0101's requester with "
                "OnBehalfOf, Recipient with your own id and the service id with your "
                "register's services."
            ),
            probes=(
                "Sender another SAK than the signer; OnBehalfOf another online service; a "
                "0101 of another requester; another Recipient; a service id of another "
                "register; an online service's own certificate as sender"
            ),
        ),
    ),
    Condition(
        "SAK-06",
        "sak",
        de=ConditionText(
            title="Signierte, gebundene Antworten",
            rule=(
                "Signiert jede Antwort, auch Ablehnungen, als SAK des Registers im Namen des "
                "Registers, gebunden an die genauen Bytes der Nachweisanfrage (InResponseTo "
                "= SHA-256)."
            ),
            hint=(
                "Den Antwortumschlag mit dem Schlüsselmaterial Ihres SAK signieren, "
                "OnBehalfOf Ihr Register, und den SHA-256 der genauen Bytes der "
                "Nachweisanfrage in InResponseTo setzen, auch bei Ablehnungen."
            ),
            probes=(
                "jede Antwort des Laufs: Signatur des geprüften SAK (Rolle sak), OnBehalfOf, "
                "InResponseTo"
            ),
        ),
        en=ConditionText(
            title="Signed, bound answers",
            rule=(
                "Signs every answer, refusals too, as the register's SAK on behalf of the "
                "register, bound to the exact request bytes (InResponseTo = SHA-256)."
            ),
            hint=(
                "Sign the answer envelope with your SAK credential, OnBehalfOf your "
                "register, and put the SHA-256 of the exact request bytes into InResponseTo, "
                "also for refusals."
            ),
            probes=(
                "every answer of the run: signature of the target SAK (role sak), "
                "OnBehalfOf, InResponseTo"
            ),
        ),
    ),
    Condition(
        "SAK-07",
        "sak",
        de=ConditionText(
            title="Geprüfte Antworten",
            rule=(
                "Gibt seinem Online-Dienst nichts von einer Antwort weiter, die verändert, "
                "ungebunden, von jemand anderem als dem SAK des Datenhalters signiert, "
                "veraltet, wiederholt oder für eine andere Nachweisanfrage ist."
            ),
            hint=(
                "Den Antwortumschlag prüfen (Signatur, Zertifikat, Rolle sak, Sender = SAK "
                "des Datenhalters, OnBehalfOf = der Datenhalter, InResponseTo = SHA-256 "
                "Ihrer Anfragebytes, Frische) und dass er die Kennung Ihrer Nachweisanfrage "
                "zurückgibt, bevor irgendetwas weitergegeben wird."
            ),
            probes=(
                "Antworten der Suite als SAK des Datenhalters: gültig (muss weitergegeben "
                "werden), verändert, unsigniert, an eine andere Nachweisanfrage gebunden, "
                "von einem anderen SAK signiert, OnBehalfOf ein anderes Register, eine "
                "Stunde alt, eine andere Kennung der Nachweisanfrage"
            ),
        ),
        en=ConditionText(
            title="Answers checked",
            rule=(
                "Hands its online service nothing of an answer that is tampered with, "
                "unbound, signed by anybody but the provider's SAK, stale, replayed or for "
                "another request."
            ),
            hint=(
                "Verify the answer envelope (signature, certificate, role sak, Sender = the "
                "provider's SAK, OnBehalfOf = the provider, InResponseTo = SHA-256 of your "
                "request bytes, freshness) and that it echoes your request id, before "
                "handing anything on."
            ),
            probes=(
                "answers from the suite as the provider's SAK: valid (must be handed on), "
                "tampered, unsigned, bound to another request, signed by another SAK, "
                "OnBehalfOf another register, an hour old, another request id"
            ),
        ),
    ),
    Condition(
        "SAK-08",
        "sak",
        de=ConditionText(
            title="TLS-Gegenstelle = Absender",
            rule=(
                "Nimmt mit gegenseitigem TLS einen Umschlag nur an, wenn das "
                "TLS-Client-Zertifikat das des Absenders des Umschlags ist."
            ),
            hint=(
                "Die Teilnehmerkennung des TLS-Client-Zertifikats mit Sender vergleichen; "
                "bei Abweichung mit EDM:ERR:0001 ablehnen."
            ),
            probes=(
                "ein gültiger Umschlag über das TLS-Zertifikat eines anderen Teilnehmers (--tls)"
            ),
        ),
        en=ConditionText(
            title="TLS peer = sender",
            rule=(
                "With mutual TLS, accepts an envelope only when the TLS client certificate "
                "is the envelope's sender."
            ),
            hint=(
                "Compare the participant id of the TLS client certificate with Sender; "
                "refuse with EDM:ERR:0001 when they differ."
            ),
            probes=("a valid envelope sent over another participant's TLS certificate (--tls)"),
        ),
    ),
    Condition(
        "SAK-09",
        "sak",
        de=ConditionText(
            title="Zugriffstoken",
            rule=(
                "Nimmt einen Aufruf nur mit einem gültigen Zugriffstoken des IAM für sich "
                "selbst von der richtigen Stelle an: fehlend, abgelaufen, falsche "
                "Zielgruppe, falsche Rolle, gesperrt werden abgelehnt (401/403)."
            ),
            hint=(
                "Das Bearer-Token prüfen (Signatur und Zertifikat des IAM, Vertrauensanker, "
                "Zertifikatssperrliste, Ablauf, Zielgruppe = Ihre Kennung, Rolle) und dass "
                "sein Subjekt die Stelle ist, von der der Aufruf kommen muss (am "
                "Transport-Endpunkt: der SAK, der den Umschlag signiert hat)."
            ),
            probes=(
                "der Transport-Endpunkt ohne Token; mit einem abgelaufenen, einem für eine "
                "andere Zielgruppe, einem der Rolle consumer, einem mit gesperrtem "
                "Zertifikat, einem eines anderen SAK als des Signierenden"
            ),
        ),
        en=ConditionText(
            title="Access tokens",
            rule=(
                "Accepts a call only with a valid IAM access token for itself from the right "
                "party: missing, expired, wrong audience, wrong role, revoked are refused "
                "(401/403)."
            ),
            hint=(
                "Verify the Bearer token (IAM signature and certificate, trust anchor, CRL, "
                "expiry, audience = your id, role) and that its subject is the party the "
                "call must come from (on the transport endpoint: the SAK that signed the "
                "envelope)."
            ),
            probes=(
                "the transport endpoint without a token; with an expired one, one for "
                "another audience, one of role consumer, one whose certificate is revoked, "
                "one of another SAK than the signer"
            ),
        ),
    ),
    Condition(
        "SAK-10",
        "sak",
        de=ConditionText(
            title="Health-Endpunkt",
            rule="Bietet GET /health an (200 betriebsbereit, 503 eingeschränkt).",
            hint=(
                "GET /health bereitstellen: 200 mit JSON-Inhalt, solange Ihr Zertifikat gültig ist."
            ),
            probes="GET /health",
        ),
        en=ConditionText(
            title="Health endpoint",
            rule="Offers GET /health (200 healthy, 503 degraded).",
            hint="Serve GET /health: 200 with a JSON body while your certificate is valid.",
            probes="GET /health",
        ),
    ),
)

#: Register conditions that became the SAK's job: old id → (title, the SAK condition now).
RETIRED: Mapping[str, tuple[Text, str]] = MappingProxyType(
    {
        "DP-02": (Text("Nur signierte Nachweisanfragen", "Signed requests only"), "SAK-01"),
        "DP-03": (Text("Zertifikatsprüfung", "Certificate checks"), "SAK-02"),
        "DP-09": (Text("Signierte, gebundene Antworten", "Signed, bound answers"), "SAK-06"),
        "DP-10": (Text("Wiederholung und Frische", "Replay and freshness"), "SAK-03"),
        "DP-11": (Text("Feindseliges XML", "Hostile XML"), "SAK-04"),
    }
)

CONSUMER_CONDITIONS: tuple[Condition, ...] = (
    Condition(
        "DC-01",
        "consumer",
        de=ConditionText(
            title="Gültige Nachweisanfragen für die Route",
            rule=(
                "Übergibt seinem SAK eine gültige DE.EvidenceRequest.0101 für die Route, die "
                "der SAK genannt hat."
            ),
            hint=(
                "Ihren SAK nach der Route fragen (GET /consumer/v1/routes), ihren "
                "Datenhalter und Nachweistyp in die 0101 und ihre serviceId in "
                "Noots-Service-Id übernehmen, Noots-Purpose angeben und die 0101 gegen "
                "XNachweis 1.2.0 validieren."
            ),
        ),
        en=ConditionText(
            title="Valid requests for the route",
            rule=("Hands its SAK a valid DE.EvidenceRequest.0101 for the route the SAK named."),
            hint=(
                "Ask your SAK for the route (GET /consumer/v1/routes), put its provider and "
                "evidence type into the 0101 and its serviceId into Noots-Service-Id, "
                "declare Noots-Purpose, and validate the 0101 against XNachweis 1.2.0."
            ),
        ),
    ),
    Condition(
        "DC-02",
        "consumer",
        de=ConditionText(
            title="Eigene Identität",
            rule=(
                "Spricht mit seinem SAK als er selbst: nennt sich als Anfragenden, legt sein "
                "eigenes Zertifikat vor."
            ),
            hint=(
                "Ihre eigene Teilnehmerkennung als Anfragenden in die 0101 setzen und Ihrem "
                "SAK Ihr eigenes Zertifikat vorlegen (gegenseitiges TLS); nie im Namen eines "
                "anderen Dienstes handeln."
            ),
        ),
        en=ConditionText(
            title="Own identity",
            rule=(
                "Speaks to its SAK as itself: names itself as requester, presents its own "
                "certificate."
            ),
            hint=(
                "Put your own participant id into the 0101's requester and present your own "
                "certificate (mutual TLS) to your SAK; never act in another service's name."
            ),
        ),
    ),
    Condition(
        "DC-03",
        "consumer",
        de=ConditionText(
            title="Berechtigung für genau diese Nachweisanfrage",
            rule=(
                "Fragt seinen SAK nach der Berechtigung für genau diese Nachweisanfrage und "
                "sendet nichts, wenn sie verweigert wird."
            ),
            hint=(
                "Den Hash der endgültigen 0101 berechnen (IssuedToken geleert), damit POST "
                "/consumer/v1/authorisations mit demselben Zweck und derselben "
                "IDNr-Verwendung aufrufen, das Token unverändert mitsenden und abbrechen, "
                "wenn die Berechtigung verweigert wird."
            ),
        ),
        en=ConditionText(
            title="Authorisation for the exact request",
            rule=(
                "Asks its SAK for the authorisation of the exact request and sends nothing "
                "when it is refused."
            ),
            hint=(
                "Compute the request hash of the final 0101 (IssuedToken blanked), ask POST "
                "/consumer/v1/authorisations with it, the same purpose and IDNr use, carry "
                "the token verbatim, and stop when the authorisation is refused."
            ),
        ),
    ),
    Condition(
        "DC-04",
        "consumer",
        de=ConditionText(
            title="Gültige IDNr",
            rule="Sendet nur gültige IDNrn.",
            hint=(
                "Jede IDNr prüfen (Ziffern, Wiederholungsregeln, Prüfziffer), bevor sie "
                "Ihren Dienst verlässt; nie eine Nummer ungeprüft senden, die die IDA oder "
                "die Bürgerin oder der Bürger angegeben hat."
            ),
        ),
        en=ConditionText(
            title="Valid IDNr",
            rule="Sends only valid IDNrs.",
            hint=(
                "Validate every IDNr (digits, repetition rules, check digit) before it "
                "leaves your service; never send a number the IDA or the citizen gave you "
                "unchecked."
            ),
        ),
    ),
    Condition(
        "DC-05",
        "consumer",
        de=ConditionText(
            title="Antworten prüfen",
            rule=(
                "Verwendet keine Daten einer Antwort, die nicht seine Nachweisanfrage beantwortet."
            ),
            hint=(
                "Vor der Verwendung einer Antwort prüfen, dass sie gültiges XNachweis ist, "
                "die Kennung Ihrer Nachweisanfrage und den Anfragenden zurückgibt und den "
                "angefragten Nachweistyp und die angefragte Person (IDNr) enthält; sonst "
                "verwerfen."
            ),
        ),
        en=ConditionText(
            title="Check answers",
            rule="Uses no data of an answer that does not answer its request.",
            hint=(
                "Before using an answer, check that it is valid XNachweis, echoes your "
                "request id and requester, and carries the evidence type and person (IDNr) "
                "you asked for; discard it otherwise."
            ),
        ),
    ),
    Condition(
        "DC-06",
        "consumer",
        de=ConditionText(
            title="Fehler und asynchrone Antworten",
            rule=(
                "Behandelt jeden Fehlercode, Codes außerhalb der EDM-Liste und asynchrone "
                "Bereitstellung."
            ),
            hint=(
                "Jeden EDM:ERR-Code auf eine Meldung für die Bürgerin oder den Bürger "
                "abbilden, einen Code außerhalb von EDM:ERR:0001…0008 so zeigen, wie er kam "
                "(nie als fehlerhafte Antwort), und dieselbe 0101 nach "
                "ResponseAvailableDateTime erneut an Ihren SAK übergeben, statt abzubrechen."
            ),
        ),
        en=ConditionText(
            title="Errors and asynchronous answers",
            rule=(
                "Handles every error code, codes outside the EDM list and asynchronous "
                "availability."
            ),
            hint=(
                "Map every EDM:ERR code to a message for the citizen, show a code outside "
                "EDM:ERR:0001…0008 as it came (never as a malformed answer), and hand the "
                "same 0101 to your SAK again after ResponseAvailableDateTime instead of "
                "failing."
            ),
        ),
    ),
    Condition(
        "DC-07",
        "consumer",
        de=ConditionText(
            title="Vorschau und Einwilligung",
            rule=(
                "Holt vor dem Abruf die Einwilligung ein und zeigt vor der Verwendung des "
                "Nachweises eine Vorschau."
            ),
            hint=(
                "Erst abrufen, nachdem die Bürgerin oder der Bürger eingewilligt hat, jeden "
                "Nachweis zur Übernahme zeigen und nur das Übernommene verwenden."
            ),
        ),
        en=ConditionText(
            title="Preview and consent",
            rule=(
                "Asks for consent before fetching and shows a preview before using the evidence."
            ),
            hint=(
                "Fetch only after the citizen has consented, show each evidence for "
                "acceptance, and use only what was accepted."
            ),
        ),
    ),
    Condition(
        "DC-08",
        "consumer",
        de=ConditionText(
            title="Begrenzte Wiederholungen",
            rule=(
                "Wiederholt vorübergehende Fehlschläge begrenzt oft und behält die "
                "XNachweis-Kennungen bei."
            ),
            hint=(
                "Nur wiederholen, wenn keine Antwort kam, bei 0005 und bei 0008 mit "
                "502/503/504, mit Wartezeit und fester Obergrenze; dieselbe 0101 (ihre "
                "Kennung und nachrichtenUUID) erneut an Ihren SAK übergeben."
            ),
        ),
        en=ConditionText(
            title="Bounded retries",
            rule=(
                "Retries transient failures a bounded number of times and keeps the XNachweis ids."
            ),
            hint=(
                "Retry only when no answer came, for 0005, and for 0008 with 502/503/504, "
                "with backoff and a fixed limit; hand the same 0101 (its id and "
                "nachrichtenUUID) to your SAK again."
            ),
        ),
    ),
    Condition(
        "DC-09",
        "consumer",
        de=ConditionText(
            title="Protokollierung",
            rule="Protokolliert jede Übermittlung (§ 9 IDNrG).",
            hint=(
                "Für jede gesendete Nachweisanfrage und ihr Ergebnis (geliefert, ausstehend, "
                "abgelehnt) einen Protokolleintrag mit der Kennung der Nachweisanfrage "
                "anhängen."
            ),
        ),
        en=ConditionText(
            title="Protocol log",
            rule="Logs every transfer (§ 9 IDNrG).",
            hint=(
                "Append a protocol entry for every request you send and its outcome "
                "(delivered, pending, refused) with the request id."
            ),
        ),
    ),
)

IP_CONDITIONS: tuple[Condition, ...] = (
    Condition(
        "IP-01",
        "ip",
        de=ConditionText(
            title="Nachweis auf eine gültige EDM-Anfrage",
            rule=(
                "Beantwortet eine gültig signierte EDM-QueryRequest für einen Nachweistyp, den "
                "ein deutsches Register liefert, mit einer signierten ExecuteQueryResponse: "
                "QueryResponse mit Status Success, derselben requestId, genau einem "
                "EvidenceProvider (EP) und dem Nachweis als RepositoryItemRef auf einen "
                "Payload-Teil der Nachricht."
            ),
            hint=(
                "Die Antwort mit dem Zertifikat des eigenen Zugangspunkts signieren, "
                "RefToMessageId und ConversationId der Anfrage übernehmen, originalSender und "
                "finalRecipient tauschen; die 0302 des Registers als RegistryPackage → "
                "ExtrinsicObject (Klassifikation MainEvidence) mit RepositoryItemRef "
                'xlink:href="cid:…" abbilden und das Dokument als Payload-Teil mitsenden '
                "(docs/EU.md)."
            ),
            probes=(
                "eine gültige Anfrage ohne Vorschau für einen Nachweistyp eines deutschen "
                "Registers (Standard: Geburtsurkunde, Erika Mustermann): Signatur und "
                "Zertifikat der Antwort, ebMS-Kopf, EDM-Struktur, der Nachweis selbst"
            ),
        ),
        en=ConditionText(
            title="Evidence for a valid EDM request",
            rule=(
                "Answers a validly signed EDM QueryRequest for an evidence type a German "
                "register provides with a signed ExecuteQueryResponse: QueryResponse with "
                "status Success, the same requestId, exactly one EvidenceProvider (EP) and the "
                "evidence as a RepositoryItemRef to a payload part of the message."
            ),
            hint=(
                "Sign the answer with your access point's certificate, take RefToMessageId and "
                "ConversationId from the request, swap originalSender and finalRecipient; map "
                "the register's 0302 to RegistryPackage → ExtrinsicObject (classification "
                'MainEvidence) with RepositoryItemRef xlink:href="cid:…" and send the '
                "document as a payload part (docs/EU.md)."
            ),
            probes=(
                "a valid request without preview for an evidence type of a German register "
                "(default: Geburtsurkunde, Erika Mustermann): the answer's signature and "
                "certificate, ebMS header, EDM structure, the evidence itself"
            ),
        ),
    ),
    Condition(
        "IP-02",
        "ip",
        de=ConditionText(
            title="Nicht unterstützter Nachweistyp",
            rule=(
                "Beantwortet eine Anfrage für einen Nachweistyp, den kein deutsches Register "
                "liefert, mit rs:UnsupportedCapabilityExceptionType EDM:ERR:0007 und fragt "
                "niemanden."
            ),
            hint=(
                "Den Nachweistyp über die Registerdatennavigation nach seiner Klassifikation "
                "suchen; ohne deutschen Datenhalter mit 0007 antworten, ohne eine 0301 zu "
                "senden und ohne die Liste deutscher Nachweistypen preiszugeben."
            ),
            probes="eine Klassifikation, die kein Nachweistyp der Landschaft trägt",
        ),
        en=ConditionText(
            title="Unsupported evidence type",
            rule=(
                "Answers a request for an evidence type no German register provides with "
                "rs:UnsupportedCapabilityExceptionType EDM:ERR:0007 and asks nobody."
            ),
            hint=(
                "Look the evidence type up in the RDN by its classification; without a German "
                "provider answer 0007, send no 0301 and do not reveal the list of German "
                "evidence types."
            ),
            probes="a classification no evidence type of the landscape carries",
        ),
    ),
    Condition(
        "IP-03",
        "ip",
        de=ConditionText(
            title="Unbekannte Person",
            rule=(
                "Gibt die Ablehnung des Registers für eine unbekannte Person als "
                "rs:ObjectNotFoundExceptionType EDM:ERR:0004 weiter."
            ),
            hint=(
                "Die 0303 des Registers mit demselben Code abbilden (EDM:ERR:0004 → "
                "rs:ObjectNotFoundExceptionType, Nachricht 'Object not found')."
            ),
            probes="eine Person, die kein Register kennt (Standard: die Identität not_found)",
        ),
        en=ConditionText(
            title="Unknown person",
            rule=(
                "Passes the register's refusal for an unknown person on as "
                "rs:ObjectNotFoundExceptionType EDM:ERR:0004."
            ),
            hint=(
                "Map the register's 0303 with the same code (EDM:ERR:0004 → "
                "rs:ObjectNotFoundExceptionType, message 'Object not found')."
            ),
            probes="a person no register knows (default: the not_found identity)",
        ),
    ),
    Condition(
        "IP-04",
        "ip",
        de=ConditionText(
            title="Vorschau",
            rule=(
                "Antwortet mit PossibilityForPreview auf den Nachweis eines Registers mit "
                "EDM:ERR:0002, rs:AuthorizationExceptionType, Schweregrad PreviewRequired und "
                "PreviewLocation; liefert auf die wiederholte Anfrage mit PreviewLocation den "
                "Nachweis erst nach der Zustimmung der Person, bis dahin wieder die Vorschau, "
                "nach einer Ablehnung EDM:ERR:0004."
            ),
            hint=(
                "Den Nachweis des Registers halten, eine Vorschauseite unter https:// "
                "anbieten (PreviewMethod GET), die Entscheidung der Person dort aufnehmen und "
                "die Wiederholung derselben Anfrage (gleicher Anfragender, Nachweistyp, "
                "Person) mit PreviewLocation an dieser Entscheidung messen."
            ),
            probes=(
                "eine Anfrage mit Vorschau; GET der PreviewLocation; die Wiederholung vor der "
                "Entscheidung; Zustimmung auf der Vorschauseite (Formular decision=approve, "
                "eid=yes) und die Wiederholung; eine zweite Anfrage, abgelehnt, und ihre "
                "Wiederholung"
            ),
        ),
        en=ConditionText(
            title="Preview",
            rule=(
                "With PossibilityForPreview, answers a register's evidence with EDM:ERR:0002, "
                "rs:AuthorizationExceptionType, severity PreviewRequired and a "
                "PreviewLocation; delivers the evidence to the request repeated with the "
                "PreviewLocation only after the person agreed, the preview again until then, "
                "EDM:ERR:0004 after a refusal."
            ),
            hint=(
                "Hold the register's evidence, offer a preview page at https:// (PreviewMethod "
                "GET), record the person's decision there and judge the repetition of the same "
                "request (same requester, evidence type, person) with the PreviewLocation by "
                "that decision."
            ),
            probes=(
                "a request with preview; GET of the PreviewLocation; the repetition before the "
                "decision; approval on the preview page (form decision=approve, eid=yes) and "
                "the repetition; a second request, declined, and its repetition"
            ),
        ),
    ),
    Condition(
        "IP-05",
        "ip",
        de=ConditionText(
            title="Signatur und Zertifikat",
            rule=(
                "Lehnt eine eDelivery-Nachricht ohne gültige Signatur eines vertrauten "
                "Zugangspunkts ab (verändert, unsigniert, fremde CA), ohne Nachweis und ohne "
                "etwas an ein Register weiterzugeben."
            ),
            hint=(
                "Die Signatur über die ganze Nachricht prüfen, das Zertifikat gegen den "
                "Vertrauensanker, seine Rolle und die Sperrliste; nur lesen, was der Prüfer als "
                "signiert zurückgibt; erst danach irgendetwas fragen."
            ),
            probes=(
                "eine nach dem Signieren veränderte Nachricht, eine unsignierte, eine mit dem "
                "Zertifikat einer fremden CA signierte; danach das Protokoll des Registers: "
                "keine weitere Übermittlung"
            ),
        ),
        en=ConditionText(
            title="Signature and certificate",
            rule=(
                "Refuses an eDelivery message without a valid signature of a trusted access "
                "point (tampered, unsigned, foreign CA), with no evidence and without passing "
                "anything to a register."
            ),
            hint=(
                "Verify the signature over the whole message, the certificate against the "
                "trust anchor, its role and the CRL; read only what the verifier returns as "
                "signed; ask nothing before that."
            ),
            probes=(
                "a message changed after signing, an unsigned one, one signed with a "
                "certificate of a foreign CA; then the register's protocol: no further "
                "transfer"
            ),
        ),
    ),
    Condition(
        "IP-06",
        "ip",
        de=ConditionText(
            title="Absender und Adressierung",
            rule=(
                "Nimmt eine Nachricht nur an, wenn der Signierende der Absender (From) ist, "
                "sie an den eigenen Zugangspunkt (To) geht, originalSender der "
                "EvidenceRequester der Anfrage ist und der EvidenceProvider die IP; sonst "
                "Ablehnung ohne Nachweis, nichts weitergegeben."
            ),
            hint=(
                "From/PartyId mit dem Teilnehmer des Signaturzertifikats vergleichen, "
                "To/PartyId mit dem eigenen Zugangspunkt, originalSender mit dem "
                "EvidenceRequester der EDM-Anfrage, den EvidenceProvider mit der IP "
                "(EDM:ERR:0006)."
            ),
            probes=(
                "signiert von einem anderen Zugangspunkt als From; an einen anderen "
                "Zugangspunkt adressiert; originalSender einer anderen Behörde; eine Anfrage "
                "an einen anderen EvidenceProvider"
            ),
        ),
        en=ConditionText(
            title="Sender and addressing",
            rule=(
                "Accepts a message only when the signer is the sender (From), it is addressed "
                "to its own access point (To), originalSender is the request's "
                "EvidenceRequester and the EvidenceProvider is the IP; otherwise a refusal "
                "without evidence, nothing passed on."
            ),
            hint=(
                "Compare From/PartyId with the participant of the signing certificate, "
                "To/PartyId with your own access point, originalSender with the EDM request's "
                "EvidenceRequester, the EvidenceProvider with the IP (EDM:ERR:0006)."
            ),
            probes=(
                "signed by another access point than From; addressed to another access point; "
                "originalSender another authority; a request to another EvidenceProvider"
            ),
        ),
    ),
    Condition(
        "IP-07",
        "ip",
        de=ConditionText(
            title="Wiederholung und Aktualität",
            rule=(
                "Lehnt eine MessageId, die sie schon angenommen hat, und einen Timestamp "
                "außerhalb ihres Fensters (±300 s) ab, ohne etwas an ein Register "
                "weiterzugeben."
            ),
            hint=(
                "Die angenommenen MessageIds für die Dauer des Fensters merken (auch über einen "
                "Neustart) und Wiederholungen sowie Nachrichten außerhalb des Fensters vor "
                "jeder Weitergabe ablehnen."
            ),
            probes=(
                "dieselbe gültige Nachricht zweimal; eine mit Timestamp vor einer Stunde, eine "
                "in einer Stunde"
            ),
        ),
        en=ConditionText(
            title="Replay and freshness",
            rule=(
                "Refuses a MessageId it accepted before and a Timestamp outside its window "
                "(±300 s), without passing anything to a register."
            ),
            hint=(
                "Remember the accepted MessageIds for the window (also across a restart) and "
                "refuse repeats and messages outside the window before passing anything on."
            ),
            probes=(
                "the same valid message twice; one with a Timestamp an hour ago, one an hour ahead"
            ),
        ),
    ),
    Condition(
        "IP-08",
        "ip",
        de=ConditionText(
            title="Feindliches XML",
            rule=(
                "Nimmt nur UTF-8 ohne DTD innerhalb der Grenzen (5 MiB) an, lehnt alles andere "
                "sauber ab, ohne Nachweis und ohne Weitergabe, und antwortet danach weiter."
            ),
            hint=(
                "Andere Kodierungen und jeden DOCTYPE ablehnen, bevor der Parser die Bytes "
                "sieht; nie etwas Externes laden; Größe, Tiefe und Elemente begrenzen."
            ),
            probes=(
                "DOCTYPE mit internen Entitäten; eine externe Entität; die gültige Nachricht "
                "in UTF-16; mehr als 5 MiB; danach muss eine gültige Anfrage beantwortet "
                "werden"
            ),
        ),
        en=ConditionText(
            title="Hostile XML",
            rule=(
                "Accepts UTF-8 only, without a DTD, within the limits (5 MiB); refuses "
                "anything else cleanly, with no evidence and nothing passed on, and keeps "
                "answering."
            ),
            hint=(
                "Refuse other encodings and any DOCTYPE before the parser sees the bytes; "
                "never load anything external; bound size, depth and elements."
            ),
            probes=(
                "a DOCTYPE with internal entities; an external entity; the valid message "
                "re-encoded as UTF-16; more than 5 MiB; then a valid request must be answered"
            ),
        ),
    ),
    Condition(
        "IP-09",
        "ip",
        de=ConditionText(
            title="Fehlerhafte EDM-Anfrage",
            rule=(
                "Beantwortet eine verifizierte Nachricht, deren QueryRequest die EDM-Struktur "
                "verletzt, mit rs:InvalidRequestExceptionType EDM:ERR:0003 für die requestId "
                "der Anfrage und gibt nichts weiter."
            ),
            hint=(
                "Die EDM-Anfrage streng lesen (Slots nach Name, Typ und Anzahl) und bei einem "
                "Fehler mit 0003 antworten, adressiert an die id der Anfrage; die Details "
                "nennen den Slot, nie einen Wert."
            ),
            probes=(
                "eine QueryRequest ohne den Slot IssueDateTime; PossibilityForPreview als "
                "rim:StringValueType"
            ),
        ),
        en=ConditionText(
            title="Malformed EDM request",
            rule=(
                "Answers a verified message whose QueryRequest breaks the EDM structure with "
                "rs:InvalidRequestExceptionType EDM:ERR:0003 for the request's requestId and "
                "passes nothing on."
            ),
            hint=(
                "Read the EDM request strictly (slots by name, type and count) and answer a "
                "failure with 0003, addressed to the request's id; the detail names the slot, "
                "never a value."
            ),
            probes=(
                "a QueryRequest without the IssueDateTime slot; PossibilityForPreview as "
                "rim:StringValueType"
            ),
        ),
    ),
    Condition(
        "IP-10",
        "ip",
        de=ConditionText(
            title="Keine personenbezogenen Daten in Ablehnungen",
            rule=(
                "Keine Ablehnung und keine Vorschau-Aufforderung, die ins Ausland geht, nennt "
                "Namen oder Geburtsdatum der Person, nach der gefragt wurde."
            ),
            hint=(
                "In rs:Exception (message, detail) und in Ablehnungen auf eDelivery-Ebene nur "
                "Code, Grund und Beteiligte nennen; Details des Registers vor dem Weitergeben "
                "prüfen."
            ),
            probes=(
                "jede Ablehnung und jede Vorschau-Aufforderung des Durchlaufs (EDM-Dokument "
                "und ebMS-Nachricht) auf Familienname, Vorname und Geburtsdatum der Person"
            ),
        ),
        en=ConditionText(
            title="No personal data in refusals",
            rule=(
                "No refusal and no preview request that goes abroad names the name or date of "
                "birth of the person asked about."
            ),
            hint=(
                "Name only the code, the reason and the parties in rs:Exception (message, "
                "detail) and in refusals at the eDelivery level; check a register's detail "
                "before passing it on."
            ),
            probes=(
                "every refusal and preview request of the run (EDM document and ebMS message) "
                "for the person's family name, given name and date of birth"
            ),
        ),
    ),
)

_ALL = {
    c.id: c for c in (*PROVIDER_CONDITIONS, *SAK_CONDITIONS, *CONSUMER_CONDITIONS, *IP_CONDITIONS)
}

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
    if side == "ip":
        return IP_CONDITIONS
    return CONSUMER_CONDITIONS


def markdown_table(side: Side, language: Language = "en") -> str:
    """The conditions of ``side`` as the Markdown table of docs/CONFORMANCE.md (English, like
    the rest of the documentation; the German texts are in the reports)."""
    rows = ["| id | condition | rule | probes | fix |", "|---|---|---|---|---|"]
    for item in conditions_of(side):
        text = item.text(language)
        cells = (item.id, text.title, text.rule, text.probes or "see the suite", text.hint)
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    if side == "provider":
        for old, (title, now) in RETIRED.items():
            rows.append(
                f"| {old} | {title.in_language(language)} | retired: now the SAK's job, "
                f"see {now} | | |"
            )
    return "\n".join(rows)


#: The generated blocks of docs/CONFORMANCE.md, by name.
DOC_BLOCKS: Mapping[str, Side] = MappingProxyType(
    {"provider-conditions": "provider", "sak-conditions": "sak", "ip-conditions": "ip"}
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
