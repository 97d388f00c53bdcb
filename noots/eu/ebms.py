"""The eDelivery envelope of the simulated EU-OOTS: an ebMS3 user message, signed.

This is the one module that builds and reads what travels between (simulated) eDelivery
access points. The ebMS3 header carries exactly the OOTS profile's values (service
``QueryManager`` of type ``urn:oasis:names:tc:ebcore:ebrs:ebms:binding:1.0``, actions
``ExecuteQueryRequest`` / ``ExecuteQueryResponse`` / ``ExceptionResponse``, role
``http://sdg.europa.eu/edelivery/gateway`` for both gateways, ``originalSender`` and
``finalRecipient`` properties naming the authorities behind them, payload part MIME type
``application/x-ebrs+xml``). What is simulated, and therefore **not** AS4 on the wire:

- the payload parts are base64 inside the SOAP body (``as4sim:Part``), not MIME multipart
  attachments (SOAP with Attachments);
- the signature is one XMLDSig enveloped signature (noots.signing) over the whole envelope,
  appended as the last child of ``S12:Envelope``, not WS-Security 1.1 in the SOAP header; no
  encryption, no receipts, no reliability, no pull.

A real AS4 access point (Domibus, Harmony, …) therefore cannot exchange messages with it;
replacing this module (and the transport that posts its bytes) is the boundary for that.

Opening a message, in this order: hardened parse → root check → signature and certificate
path (role optional) → the signed element is read only → the header is checked strictly
(fixed values, every ``PartInfo`` has exactly one part and the other way round, the first part
is the EDM document) → ``From/PartyId`` must be the signer's participant id.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import datetime
from uuid import uuid4

from lxml import etree

from noots._messages_build import format_instant
from noots._messages_parse import _Children, _date_time
from noots.clock import Clock
from noots.errors import MalformedMessage, SenderMismatch
from noots.eu._edm_model import EdmAgent
from noots.eu._edm_xml import Attachment
from noots.pki import Role, ValidatedCertificate
from noots.signing import XmlSigner, XmlVerifier
from noots.xml import DEFAULT_LIMITS, XmlLimits, parse, serialize

__all__ = [
    "ACTION_EXCEPTION",
    "ACTION_REQUEST",
    "ACTION_RESPONSE",
    "EDM_MIME_TYPE",
    "GATEWAY_ROLE",
    "NS_EB",
    "NS_SIM",
    "NS_SOAP",
    "PARTY_TYPE",
    "SERVICE",
    "SERVICE_TYPE",
    "OpenedUserMessage",
    "PartyProperty",
    "UserMessage",
    "open_user_message",
    "seal_user_message",
    "unverified_message",
]

NS_SOAP = "http://www.w3.org/2003/05/soap-envelope"
NS_EB = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/"
NS_SIM = "urn:noots:as4-simulation:1"
_NSMAP = {"S12": NS_SOAP, "eb": NS_EB, "as4sim": NS_SIM}

SERVICE = "QueryManager"
SERVICE_TYPE = "urn:oasis:names:tc:ebcore:ebrs:ebms:binding:1.0"
ACTION_REQUEST = "ExecuteQueryRequest"
ACTION_RESPONSE = "ExecuteQueryResponse"
ACTION_EXCEPTION = "ExceptionResponse"
ACTIONS = frozenset({ACTION_REQUEST, ACTION_RESPONSE, ACTION_EXCEPTION})
GATEWAY_ROLE = "http://sdg.europa.eu/edelivery/gateway"
PARTY_TYPE = "urn:oasis:names:tc:ebcore:partyid-type:unregistered:oots"
EDM_MIME_TYPE = "application/x-ebrs+xml"
DEFAULT_MPC = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/defaultMPC"

_ID = re.compile(r"[^\s<>]{1,256}")


def _eb(local: str) -> str:
    return f"{{{NS_EB}}}{local}"


def _check_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise MalformedMessage(f"{what} must be 1 to 256 characters without space or <>")
    return value


@dataclass(frozen=True, slots=True)
class PartyProperty:
    """``originalSender`` / ``finalRecipient``: an authority's identifier and its scheme."""

    value: str
    type: str

    def __post_init__(self) -> None:
        _check_id(self.value, "party property value")
        _check_id(self.type, "party property type")

    @classmethod
    def of(cls, agent: EdmAgent) -> PartyProperty:
        return cls(agent.identifier, agent.scheme_id)


@dataclass(frozen=True, slots=True)
class UserMessage:
    """One ebMS3 user message: header values and the payload parts (the EDM document first,
    then the evidence documents it references by content id)."""

    message_id: str
    timestamp: datetime
    from_party: str
    to_party: str
    action: str
    conversation_id: str
    original_sender: PartyProperty
    final_recipient: PartyProperty
    parts: tuple[Attachment, ...]
    ref_to_message_id: str | None = None

    def __post_init__(self) -> None:
        _check_id(self.message_id, "MessageId")
        if not isinstance(self.timestamp, datetime) or self.timestamp.tzinfo is None:
            raise MalformedMessage("Timestamp must carry a time zone")
        _check_id(self.from_party, "From PartyId")
        _check_id(self.to_party, "To PartyId")
        if self.action not in ACTIONS:
            raise MalformedMessage(f"action must be one of {sorted(ACTIONS)}")
        _check_id(self.conversation_id, "ConversationId")
        if self.ref_to_message_id is not None:
            _check_id(self.ref_to_message_id, "RefToMessageId")
        if not self.parts or self.parts[0].mime_type != EDM_MIME_TYPE:
            raise MalformedMessage(f"the first payload part must be {EDM_MIME_TYPE}")
        ids = [part.content_id for part in self.parts]
        if len(set(ids)) != len(ids):
            raise MalformedMessage("payload parts need distinct content ids")
        for part in self.parts:
            _check_id(part.content_id, "content id")
            _check_id(part.mime_type, "MIME type")

    @classmethod
    def new(
        cls,
        *,
        edm_document: bytes,
        attachments: tuple[Attachment, ...] = (),
        from_party: str,
        to_party: str,
        action: str,
        original_sender: PartyProperty,
        final_recipient: PartyProperty,
        clock: Clock,
        conversation_id: str | None = None,
        ref_to_message_id: str | None = None,
    ) -> UserMessage:
        """A fresh message: new message id (and conversation id unless continuing one)."""
        payload = Attachment(f"{uuid4()}@noots.eu", EDM_MIME_TYPE, edm_document)
        return cls(
            f"{uuid4()}@noots.eu",
            clock.now(),
            from_party,
            to_party,
            action,
            conversation_id or str(uuid4()),
            original_sender,
            final_recipient,
            (payload, *attachments),
            ref_to_message_id,
        )

    @property
    def edm_document(self) -> bytes:
        return self.parts[0].data

    @property
    def attachments(self) -> dict[str, Attachment]:
        """The evidence parts by content id (what an EDM response references)."""
        return {part.content_id: part for part in self.parts[1:]}


@dataclass(frozen=True)
class OpenedUserMessage:
    """A verified message: read from the signed element only."""

    message: UserMessage
    signer: ValidatedCertificate
    raw: bytes = field(repr=False)


def _leaf(parent: etree._Element, local: str, text: str, **attributes: str) -> None:
    etree.SubElement(parent, _eb(local), dict(attributes)).text = text


def _party(parent: etree._Element, local: str, party_id: str) -> None:
    element = etree.SubElement(parent, _eb(local))
    _leaf(element, "PartyId", party_id, type=PARTY_TYPE)
    _leaf(element, "Role", GATEWAY_ROLE)


def _build(message: UserMessage) -> etree._Element:
    root = etree.Element(f"{{{NS_SOAP}}}Envelope", nsmap=_NSMAP)
    header = etree.SubElement(root, f"{{{NS_SOAP}}}Header")
    messaging = etree.SubElement(header, _eb("Messaging"))
    user = etree.SubElement(messaging, _eb("UserMessage"), mpc=DEFAULT_MPC)
    info = etree.SubElement(user, _eb("MessageInfo"))
    _leaf(info, "Timestamp", format_instant(message.timestamp))
    _leaf(info, "MessageId", message.message_id)
    if message.ref_to_message_id is not None:
        _leaf(info, "RefToMessageId", message.ref_to_message_id)
    parties = etree.SubElement(user, _eb("PartyInfo"))
    _party(parties, "From", message.from_party)
    _party(parties, "To", message.to_party)
    collaboration = etree.SubElement(user, _eb("CollaborationInfo"))
    _leaf(collaboration, "Service", SERVICE, type=SERVICE_TYPE)
    _leaf(collaboration, "Action", message.action)
    _leaf(collaboration, "ConversationId", message.conversation_id)
    properties = etree.SubElement(user, _eb("MessageProperties"))
    _leaf(
        properties,
        "Property",
        message.original_sender.value,
        name="originalSender",
        type=message.original_sender.type,
    )
    _leaf(
        properties,
        "Property",
        message.final_recipient.value,
        name="finalRecipient",
        type=message.final_recipient.type,
    )
    payload_info = etree.SubElement(user, _eb("PayloadInfo"))
    body = etree.SubElement(etree.SubElement(root, f"{{{NS_SOAP}}}Body"), f"{{{NS_SIM}}}Parts")
    for part in message.parts:
        info_element = etree.SubElement(
            payload_info, _eb("PartInfo"), href=f"cid:{part.content_id}"
        )
        part_properties = etree.SubElement(info_element, _eb("PartProperties"))
        _leaf(part_properties, "Property", part.mime_type, name="MimeType")
        data = etree.SubElement(body, f"{{{NS_SIM}}}Part", contentId=part.content_id)
        data.text = base64.b64encode(part.data).decode("ascii")
    return root


def seal_user_message(message: UserMessage, signer: XmlSigner) -> bytes:
    """The signed bytes of ``message`` (UTF-8, declaration, not indented)."""
    return serialize(signer.sign(_build(message)))


# --- reading ----------------------------------------------------------------------------------


def _text(element: etree._Element, path: str) -> str:
    for child in element:
        if isinstance(child.tag, str):
            raise MalformedMessage(f"{path}: unexpected child element")
    return "".join(str(part) for part in element.itertext()).strip()


def _fixed(element: etree._Element, path: str, expected: str) -> None:
    found = _text(element, path)
    if found != expected:
        raise MalformedMessage(f"{path} must be {expected!r}, not {found!r}")


def _read_party(element: etree._Element, path: str) -> str:
    children = _Children(element, path)
    party = children.take(_eb("PartyId"))
    if party.get("type") != PARTY_TYPE:
        raise MalformedMessage(f"{path}/PartyId type must be {PARTY_TYPE!r}")
    _fixed(children.take(_eb("Role")), path + "/Role", GATEWAY_ROLE)
    children.done()
    return _text(party, path + "/PartyId")


def _read(signed: etree._Element) -> UserMessage:
    root = _Children(signed, "Envelope")
    header = _Children(root.take(f"{{{NS_SOAP}}}Header"), "Header")
    body = _Children(root.take(f"{{{NS_SOAP}}}Body"), "Body")
    root.done()
    messaging = _Children(header.take(_eb("Messaging")), "Messaging")
    header.done()
    user = _Children(messaging.take(_eb("UserMessage")), "UserMessage")
    messaging.done()
    info = _Children(user.take(_eb("MessageInfo")), "MessageInfo")
    timestamp = _date_time(info.take(_eb("Timestamp")), "MessageInfo/Timestamp")
    message_id = _text(info.take(_eb("MessageId")), "MessageInfo/MessageId")
    ref = info.optional(_eb("RefToMessageId"))
    info.done()
    parties = _Children(user.take(_eb("PartyInfo")), "PartyInfo")
    from_party = _read_party(parties.take(_eb("From")), "PartyInfo/From")
    to_party = _read_party(parties.take(_eb("To")), "PartyInfo/To")
    parties.done()
    collaboration = _Children(user.take(_eb("CollaborationInfo")), "CollaborationInfo")
    service = collaboration.take(_eb("Service"))
    if service.get("type") != SERVICE_TYPE:
        raise MalformedMessage(f"CollaborationInfo/Service type must be {SERVICE_TYPE!r}")
    _fixed(service, "CollaborationInfo/Service", SERVICE)
    action = _text(collaboration.take(_eb("Action")), "CollaborationInfo/Action")
    conversation = _text(
        collaboration.take(_eb("ConversationId")), "CollaborationInfo/ConversationId"
    )
    collaboration.done()
    properties: dict[str, PartyProperty] = {}
    for element in _Children(user.take(_eb("MessageProperties")), "MessageProperties").all(
        _eb("Property")
    ):
        name = element.get("name") or ""
        if name in properties:
            raise MalformedMessage(f"MessageProperties: property {name!r} occurs twice")
        if name in ("originalSender", "finalRecipient"):
            properties[name] = PartyProperty(
                _text(element, f"Property[{name}]"), (element.get("type") or "").strip()
            )
    for name in ("originalSender", "finalRecipient"):
        if name not in properties:
            raise MalformedMessage(f"MessageProperties: missing property {name!r}")
    payload_info = _Children(user.take(_eb("PayloadInfo")), "PayloadInfo")
    user.done()
    declared: list[tuple[str, str]] = []
    for part_info in payload_info.some(_eb("PartInfo")):
        href = (part_info.get("href") or "").strip()
        if not href.startswith("cid:"):
            raise MalformedMessage("PayloadInfo/PartInfo href must be a cid: reference")
        mime = None
        part_children = _Children(part_info, "PartInfo")
        for prop in _Children(part_children.take(_eb("PartProperties")), "PartProperties").all(
            _eb("Property")
        ):
            if prop.get("name") == "MimeType":
                mime = _text(prop, "PartProperties/Property")
        part_children.done()
        if mime is None:
            raise MalformedMessage(f"PartInfo {href}: missing MimeType")
        declared.append((href[4:], mime))
    payload_info.done()
    carried: dict[str, bytes] = {}
    parts_element = _Children(body.take(f"{{{NS_SIM}}}Parts"), "Body/Parts")
    body.done()
    for element in parts_element.all(f"{{{NS_SIM}}}Part"):
        content_id = element.get("contentId") or ""
        if content_id in carried:
            raise MalformedMessage(f"payload part {content_id!r} occurs twice")
        try:
            carried[content_id] = base64.b64decode(
                "".join(_text(element, "Part").split()), validate=True
            )
        except (binascii.Error, ValueError):
            raise MalformedMessage(f"payload part {content_id!r} is not base64") from None
    parts_element.done()
    if sorted(carried) != sorted(cid for cid, _ in declared):
        raise MalformedMessage("the payload parts do not match PayloadInfo")
    parts = tuple(Attachment(cid, mime, carried[cid]) for cid, mime in declared)
    return UserMessage(
        message_id,
        timestamp,
        from_party,
        to_party,
        action,
        conversation,
        properties["originalSender"],
        properties["finalRecipient"],
        parts,
        None if ref is None else _text(ref, "MessageInfo/RefToMessageId"),
    )


def open_user_message(
    raw: bytes,
    verifier: XmlVerifier,
    *,
    required_role: Role | frozenset[Role] | None = None,
    limits: XmlLimits = DEFAULT_LIMITS,
) -> OpenedUserMessage:
    """Parse, verify and read a sealed user message (see the module docstring for the order).

    Raises an :class:`~noots.errors.XmlError`, a signature or certificate error,
    :class:`MalformedMessage` or :class:`SenderMismatch`; never returns an unverified part.
    """
    root = parse(raw, limits)
    if root.tag != f"{{{NS_SOAP}}}Envelope":
        raise MalformedMessage("not a SOAP 1.2 envelope")
    verified = verifier.verify(root, required_role=required_role)
    if verified.element.tag != root.tag:
        raise MalformedMessage("the signed element is not the envelope")
    try:
        message = _read(verified.element)
    except MalformedMessage:
        raise
    except (ValueError, TypeError) as exc:
        raise MalformedMessage(f"ebMS header: {exc}") from None
    if message.from_party != verified.signer.participant_id:
        raise SenderMismatch(
            f"From/PartyId {message.from_party!r} is not the signer "
            f"{verified.signer.participant_id!r}"
        )
    return OpenedUserMessage(message, verified.signer, bytes(raw))


def unverified_message(raw: bytes, limits: XmlLimits = DEFAULT_LIMITS) -> UserMessage | None:
    """The header and parts of a sealed message **without** checking its signature: for test
    doubles and reports that must say what a refused message claimed. Never act on it; None
    when it cannot be read at all."""
    from noots.errors import NootsError

    try:
        root = parse(raw, limits)
        if root.tag != f"{{{NS_SOAP}}}Envelope":
            return None
        for signature in root.findall("{http://www.w3.org/2000/09/xmldsig#}Signature"):
            root.remove(signature)
        return _read(root)
    except (NootsError, ValueError, TypeError):
        return None
