"""A signed message explained for people who do not read XML.

For one document of a hop: what kind of message it is, its header, the XML pretty-printed
(for display only — the signed bytes are never changed), the parts of its XMLDSig signature with
their algorithms, the result of verifying it now with the landscape's trust anchor and CRL,
and the signer's certificate path explained step by step. Documents carried inside (the
Vermittlungsstelle's token in ``IssuedToken``, the evidence document in ``RepositoryItem``) are
explained as well.

The bytes come from other processes: they are parsed only with :func:`noots.xml.parse` and
everything returned is plain text the page inserts with ``textContent``.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree

from noots.clock import Clock
from noots.errors import NootsError
from noots.pki import CertificateValidator, participant_id_of, role_of
from noots.signing import XmlVerifier
from noots.web import german_date, german_datetime, parse_instant
from noots.xml import parse

__all__ = ["ROLE_NAMES", "explain_document", "german_error"]

DS = "http://www.w3.org/2000/09/xmldsig#"
ENV = "urn:noots:transport:1"
VST = "urn:noots:vs-token:1"
XN_DE = "urn:xoev-de:bva:standard:xnachweis:schema:xnachweis-de-noots"

ROLE_NAMES = {
    "consumer": "Datenabrufer (Online-Dienst)",
    "provider": "Datenhalter (Register)",
    "central": "Plattform (zentrale Komponenten)",
    "sak": "Sicherer Anschlussknoten",
    "iam": "IAM für Behörden",
    "vs": "Vermittlungsstelle",
    "ida": "IDM für Personen (IDA)",
    "eid": "eID-Dienst",
    "platform": "Plattform",
    "simulator": "Simulator",
}

_ALGORITHMS = {
    "http://www.w3.org/2001/10/xml-exc-c14n#": "Exklusive XML-Kanonisierung 1.0",
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature": (
        "Enveloped: die Signatur steht im signierten Dokument und wird vor der Prüfung entfernt"
    ),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": "RSA mit SHA-256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256": "ECDSA mit SHA-256",
    "http://www.w3.org/2001/04/xmlenc#sha256": "SHA-256",
}

_ERRORS_DE = {
    "SignatureMissing": "Keine Signatur",
    "SignatureInvalid": "Signatur ungültig",
    "SignatureWrapping": "Signatur deckt nicht das gelesene Dokument (Signature Wrapping)",
    "CertificateUntrusted": "Zertifikat nicht vertrauenswürdig",
    "CertificateExpired": "Zertifikat abgelaufen",
    "CertificateNotYetValid": "Zertifikat noch nicht gültig",
    "CertificateRevoked": "Zertifikat gesperrt",
    "WrongKeyUsage": "Zertifikat nicht für diesen Zweck",
}

_MESSAGES = {
    f"{{{XN_DE}}}DE.EvidenceRequest.0101": "Nachweisanfrage (XNachweis DE.EvidenceRequest.0101)",
    f"{{{XN_DE}}}DE.EvidenceResponse.0102": "Nachweisantwort (XNachweis DE.EvidenceResponse.0102)",
    f"{{{XN_DE}}}DE.EvidenceErrorResponse.0103": (
        "Fehlerantwort (XNachweis DE.EvidenceErrorResponse.0103)"
    ),
    f"{{{VST}}}TokenRequest": "Token-Anfrage an die Vermittlungsstelle",
    f"{{{VST}}}IssuedToken": "Token der Vermittlungsstelle (base64)",
    f"{{{VST}}}AuthorisationToken": "Berechtigungstoken der Vermittlungsstelle",
    f"{{{ENV}}}Error": "Fehlermeldung",
    "{urn:noots:ida:1}LookupRequest": "IDNr-Abfrage",
}

_HEADER_LABELS = {
    "MessageId": "Umschlag-ID",
    "Sender": "Absender",
    "Recipient": "Empfänger",
    "ServiceId": "Dienst-ID",
    "Created": "Erstellt",
    "Purpose": "Zweck",
    "InResponseTo": "Antwort auf (SHA-256 der Anfrage)",
    "RequestMessageId": "Umschlag-ID der Anfrage",
}

_TOKEN_LABELS = {
    "TokenId": "Token-ID",
    "Issuer": "Aussteller",
    "IssuedAt": "Ausgestellt",
    "ExpiresAt": "Gültig bis",
    "Consumer": "Datenabrufer",
    "Provider": "Datenhalter",
    "EvidenceType": "Nachweistyp",
    "Purpose": "Zweck",
    "LegalBasis": "Rechtsgrundlage",
    "UsesIdnr": "Nutzt IDNr",
    "RequestHash": "Hash der Anfrage (SHA-256)",
}

#: Header fields that carry an instant: shown in Berlin time, the signed UTC value beside it.
_INSTANTS = frozenset({"Created", "IssuedAt", "ExpiresAt"})
_WRAP = 76
_MAX_DEPTH = 2


def german_error(error: NootsError) -> str:
    """A German headline for a verification error, with the technical reason."""
    headline = _ERRORS_DE.get(type(error).__name__, type(error).__name__)
    return f"{headline}: {error.message}"


@dataclass(frozen=True)
class _Context:
    verifier: XmlVerifier
    validator: CertificateValidator
    clock: Clock


def explain_document(
    xml: bytes,
    *,
    label: str,
    verifier: XmlVerifier,
    validator: CertificateValidator,
    clock: Clock,
) -> dict[str, Any]:
    """Everything the hop panel shows about one document (JSON-ready)."""
    return _explain(xml, label, _Context(verifier, validator, clock), depth=0)


def _explain(xml: bytes, label: str, ctx: _Context, *, depth: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "label": label,
        "size": len(xml),
        "sha256": hashlib.sha256(xml).hexdigest(),
    }
    try:
        root = parse(xml)
    except NootsError as exc:
        result.update(
            kind="Kein verarbeitbares XML",
            problem=f"{exc.message}",
            pretty=xml[:4000].decode("utf-8", errors="replace"),
            header=[],
            signature=None,
            verification=None,
            certificate=None,
            nested=[],
        )
        return result
    body = _body(root)
    result["kind"] = _kind(root, body)
    result["header"] = _header(root, body)
    result["pretty"] = _pretty(root)
    signature = root.find(f"{{{DS}}}Signature")
    result["signature"] = _signature(signature) if signature is not None else None
    result["verification"] = _verify(root, ctx) if signature is not None else None
    certificate = _certificate_of(signature)
    result["certificate"] = _certificate(certificate, ctx) if certificate is not None else None
    result["nested"] = _nested(root, body, ctx, depth) if depth < _MAX_DEPTH else []
    return result


def _body(root: etree._Element) -> etree._Element | None:
    if root.tag != f"{{{ENV}}}TransportEnvelope":
        return None
    body = root.find(f"{{{ENV}}}Body")
    if body is None or len(body) == 0:
        return None
    return body[0]


def _kind(root: etree._Element, body: etree._Element | None) -> str:
    if body is not None:
        inner = _MESSAGES.get(str(body.tag), etree.QName(body).localname)
        return f"Signierter Transportumschlag mit {inner}"
    return _MESSAGES.get(str(root.tag), f"XML-Dokument <{etree.QName(root).localname}>")


def _text(element: etree._Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _header(root: etree._Element, body: etree._Element | None) -> list[list[str]]:
    rows: list[list[str]] = []
    header = root.find(f"{{{ENV}}}Header")
    if header is not None:
        for child in header:
            name = etree.QName(child).localname
            rows.append([_HEADER_LABELS.get(name, name), _value(name, _text(child))])
    if root.tag == f"{{{VST}}}AuthorisationToken":
        for child in root:
            name = etree.QName(child).localname
            if name in _TOKEN_LABELS:
                rows.append([_TOKEN_LABELS[name], _value(name, _text(child))])
    message = body if body is not None else root
    if str(message.tag).startswith(f"{{{XN_DE}}}"):
        rows.extend(_xnachweis_rows(message))
    if message.tag == f"{{{ENV}}}Error":
        for child in message:
            rows.append([etree.QName(child).localname, _text(child)])
    return rows


def _value(name: str, text: str) -> str:
    """An instant as Berlin time with the signed value beside it; anything else as it is."""
    if name not in _INSTANTS:
        return text
    instant = parse_instant(text)
    return f"{german_datetime(instant, seconds=True)} ({text})" if instant is not None else text


def _xnachweis_rows(message: etree._Element) -> list[list[str]]:
    rows: list[list[str]] = []
    for attribute, title in (("id", "Anfrage-ID"), ("requestid", "Antwort auf Anfrage-ID")):
        if message.get(attribute):
            rows.append([title, str(message.get(attribute))])
    for local, role in (
        ("EvidenceRequester", "Abrufer"),
        ("EvidenceProvider", "Datenhalter"),
        ("ErrorProvider", "Fehlermelder"),
    ):
        agent = message.find(f".//{{*}}{local}")
        if agent is not None:
            identifier = _text(agent.find(".//{*}Identifier"))
            name = _text(agent.find(".//{*}Name"))
            rows.append([role, f"{name} ({identifier})" if name else identifier])
    evidence_title = message.find(".//{*}RequestedEvidenceType/{*}Title")
    if evidence_title is not None:
        rows.append(["Nachweistyp", _text(evidence_title)])
    person = message.find(".//{*}NaturalPerson")
    if person is not None:
        name = f"{_text(person.find('{*}GivenName'))} {_text(person.find('{*}FamilyName'))}"
        born = _text(person.find("{*}DateOfBirth"))
        rows.append(["Nachweissubjekt", f"{name}, geboren {_day(born)}" if born else name])
        idnr = person.find("{*}IDNr")
        if idnr is not None:
            rows.append(["IDNr des Nachweissubjekts", _text(idnr)])
    company = message.find(".//{*}LegalPerson/{*}LegalName")
    if company is not None:
        rows.append(["Nachweissubjekt (Unternehmen)", _text(company)])
    for exception in message.findall(".//{*}Exception"):
        rows.append(
            ["Fehler", f"{_text(exception.find('{*}Code'))}: {_text(exception.find('{*}Detail'))}"]
        )
    available = message.find(".//{*}ResponseAvailableDateTime")
    if available is not None:
        rows.append(["Nachweis abholbar ab", _value("Created", _text(available))])
    return rows


def _day(text: str) -> str:
    try:
        return german_date(date.fromisoformat(text))
    except ValueError:
        return text


def _pretty(root: etree._Element) -> str:
    """Indented, with long base64 values wrapped: for reading only."""
    shown = copy.deepcopy(root)
    for element in shown.iter():
        tag: object = element.tag
        if not isinstance(tag, str):  # comments and processing instructions
            continue
        text = element.text
        if text and len(text) > _WRAP and not any(c.isspace() for c in text.strip()):
            value = text.strip()
            lines = [value[i : i + _WRAP] for i in range(0, len(value), _WRAP)]
            element.text = "\n" + "\n".join(lines) + "\n"
    etree.indent(shown, space="  ")
    return etree.tostring(shown, encoding="unicode")


def _signature(signature: etree._Element) -> dict[str, Any]:
    signed_info = signature.find(f"{{{DS}}}SignedInfo")
    items: list[dict[str, str]] = []

    def algorithm(title: str, element: etree._Element | None, explain: str) -> None:
        uri = element.get("Algorithm", "") if element is not None else ""
        items.append(
            {"name": title, "value": uri, "meaning": _ALGORITHMS.get(uri, "nicht zulässig")}
            | {"explain": explain}
        )

    if signed_info is not None:
        algorithm(
            "Kanonisierung",
            signed_info.find(f"{{{DS}}}CanonicalizationMethod"),
            "wie SignedInfo vor dem Signieren in Bytes gefasst wird",
        )
        algorithm(
            "Signaturverfahren",
            signed_info.find(f"{{{DS}}}SignatureMethod"),
            "womit SignedInfo signiert ist",
        )
        reference = signed_info.find(f"{{{DS}}}Reference")
        if reference is not None:
            uri = reference.get("URI")
            items.append(
                {
                    "name": "Referenz",
                    "value": f'URI="{uri}"' if uri is not None else "(keine URI)",
                    "meaning": "das ganze Dokument" if uri == "" else "ein Teil des Dokuments",
                    "explain": "was die Signatur abdeckt",
                }
            )
            for transform in reference.findall(f"{{{DS}}}Transforms/{{{DS}}}Transform"):
                algorithm("Transformation", transform, "Schritt vor dem Hashen des Dokuments")
            algorithm(
                "Hashverfahren",
                reference.find(f"{{{DS}}}DigestMethod"),
                "Hash des kanonisierten Dokuments",
            )
            items.append(
                {
                    "name": "Hashwert (DigestValue)",
                    "value": _text(reference.find(f"{{{DS}}}DigestValue")),
                    "meaning": "base64",
                    "explain": "muss dem neu berechneten Hash des Dokuments gleichen",
                }
            )
    signature_value = _text(signature.find(f"{{{DS}}}SignatureValue"))
    shown = signature_value
    if len(shown) > 48:
        shown = f"{shown[:24]}…{shown[-16:]}"
    items.append(
        {
            "name": "Signaturwert",
            "value": shown,
            "meaning": f"{len(signature_value)} Zeichen base64",
            "explain": "mit dem öffentlichen Schlüssel aus dem Zertifikat geprüft",
        }
    )
    return {"items": items}


def _verify(root: etree._Element, ctx: _Context) -> dict[str, Any]:
    at = ctx.clock.now()
    try:
        verified = ctx.verifier.verify(root)
    except NootsError as exc:
        return {"ok": False, "text": german_error(exc), "at": german_datetime(at, seconds=True)}
    signer = verified.signer
    return {
        "ok": True,
        "text": (
            f"Signatur gültig: signiert von {signer.participant_id} – "
            f"{ROLE_NAMES.get(signer.role.value, signer.role.value)}; Zertifikatspfad bis "
            "zum Vertrauensanker geprüft"
        ),
        "at": german_datetime(at, seconds=True),
    }


def _certificate_of(signature: etree._Element | None) -> x509.Certificate | None:
    if signature is None:
        return None
    element = signature.find(f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate")
    if element is None or not element.text:
        return None
    try:
        der = base64.b64decode("".join(element.text.split()), validate=True)
        return x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError):
        return None


def _name(name: x509.Name) -> str:
    return ", ".join(f"{a.rfc4514_attribute_name}={a.value!s}" for a in name)


def _when(instant: datetime) -> str:
    return german_datetime(instant, seconds=True)


def _key(cert: x509.Certificate) -> str:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size} Bit"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"ECDSA {key.curve.name}"
    return type(key).__name__


def _certificate(cert: x509.Certificate, ctx: _Context) -> dict[str, Any]:
    anchor = ctx.validator.trust_anchor
    now = ctx.clock.now()
    try:
        participant = participant_id_of(cert)
    except NootsError as exc:
        participant = f"(unlesbar: {exc.message})"
    try:
        role_value = role_of(cert).value
    except NootsError:
        role_value = "?"
    details = [
        ["Teilnehmer-ID (CN)", participant],
        ["Rolle (OU)", f"{role_value} – {ROLE_NAMES.get(role_value, 'unbekannt')}"],
        ["Inhaber", _name(cert.subject)],
        ["Aussteller", _name(cert.issuer)],
        ["Seriennummer", format(cert.serial_number, "x")],
        ["Gültig von", _when(cert.not_valid_before_utc)],
        ["Gültig bis", _when(cert.not_valid_after_utc)],
        ["Schlüssel", _key(cert)],
        ["SHA-256-Fingerabdruck", cert.fingerprint(_sha256()).hex(":")],
    ]
    chain: list[dict[str, Any]] = [
        {
            "name": "Vertrauensanker",
            "ok": anchor.not_valid_before_utc <= now <= anchor.not_valid_after_utc,
            "text": f"{_name(anchor.subject)}, gültig bis {_when(anchor.not_valid_after_utc)}",
        }
    ]
    issued = cert.issuer == anchor.subject
    if issued:
        try:
            cert.verify_directly_issued_by(anchor)
        except (ValueError, TypeError, InvalidSignature):
            issued = False
    chain.append(
        {
            "name": "Ausgestellt vom Vertrauensanker",
            "ok": issued,
            "text": "Zertifikatssignatur mit dem Schlüssel der noots-Wurzel-CA geprüft"
            if issued
            else "nicht von der noots-Wurzel-CA ausgestellt",
        }
    )
    within = cert.not_valid_before_utc <= now <= cert.not_valid_after_utc
    chain.append(
        {
            "name": "Gültigkeitszeitraum",
            "ok": within,
            "text": f"{_when(cert.not_valid_before_utc)} bis {_when(cert.not_valid_after_utc)}"
            + ("" if within else " – jetzt nicht gültig"),
        }
    )
    chain.append(_crl_status(cert, ctx))
    try:
        ctx.validator.validate(cert, at=now)
        chain.append(
            {
                "name": "Gesamtprüfung",
                "ok": True,
                "text": f"vertrauenswürdig als {ROLE_NAMES.get(role_value, role_value)}",
            }
        )
    except NootsError as exc:
        chain.append({"name": "Gesamtprüfung", "ok": False, "text": german_error(exc)})
    return {"details": details, "chain": chain}


def _crl_status(cert: x509.Certificate, ctx: _Context) -> dict[str, Any]:
    crl = ctx.validator.crl_source.current()
    if crl is None:
        return {"name": "Sperrliste (CRL)", "ok": False, "text": "keine Sperrliste verfügbar"}
    try:
        number: int | None = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        number = None
    next_update = crl.next_update_utc
    about = f"CRL Nr. {number}" if number is not None else "CRL"
    if next_update is not None:
        about += f", nächste Aktualisierung {_when(next_update)}"
    revoked = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
    if revoked is not None:
        return {
            "name": "Sperrliste (CRL)",
            "ok": False,
            "text": f"gesperrt am {_when(revoked.revocation_date_utc)} ({about})",
        }
    return {"name": "Sperrliste (CRL)", "ok": True, "text": f"nicht gesperrt ({about})"}


def _sha256() -> Any:
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()


def _decode_base64(text: str, *, urlsafe: bool = False) -> bytes | None:
    value = "".join(text.split())
    if not value:
        return None
    try:
        if urlsafe:
            return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def _nested(
    root: etree._Element, body: etree._Element | None, ctx: _Context, depth: int
) -> list[dict[str, Any]]:
    message = body if body is not None else root
    found: list[dict[str, Any]] = []
    token = message.find(f"{{{XN_DE}}}IssuedToken")
    if token is None and message.tag == f"{{{VST}}}IssuedToken":
        token = message
    if token is not None and token.text:
        raw = _decode_base64(token.text)
        if raw is not None:
            found.append(
                _explain(raw, "Berechtigungstoken der Vermittlungsstelle", ctx, depth=depth + 1)
            )
    for item in message.findall(".//{*}RepositoryItem/{*}RepositoryItem"):
        raw = _decode_base64(item.text or "")
        if raw is not None:
            found.append(_explain(raw, "Nachweisdokument", ctx, depth=depth + 1))
    return found
