"""The contracts of the Sicherer Anschlussknoten (SAK): paths, headers and metadata.

Every register and online service connects to the landscape only through its own SAK. Two
APIs face the participant (docs/SAK.md has them in full, with the OpenAPI documents):

- the **consumer API** of an online service's SAK: find the route for an evidence type,
  get the authorisation (a Vermittlungsstelle token where the law requires one), submit a
  ``DE.EvidenceRequest.0101`` and get the ``0102``/``0103``;
- the **provider API** between a register and its SAK, in one of two modes: **push** (the
  SAK POSTs each request to the register's :data:`PROVIDER_REQUESTS_PATH`) or **passive**
  (the register fetches pending requests from the same path of its SAK and posts its answer
  to :data:`PROVIDER_ANSWER_PATH`).

Between two SAKs travels the signed transport envelope (:mod:`noots.envelope`) at
:data:`TRANSPORT_PATH`. The register receives the bare 0101 and the little metadata it needs
(:class:`ProviderMetadata`) as HTTP headers; it answers with the bare 0102/0103, which its SAK
signs. Header values are percent-encoded UTF-8 (RFC 3986), so non-ASCII purposes survive HTTP.

This module is protocol only: no HTTP client, no server.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import quote, unquote

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from noots.envelope import PARTICIPANT_ID
from noots.errors import InvalidInput

__all__ = [
    "AUTHORISATIONS_PATH",
    "CONSUMER_REQUESTS_PATH",
    "PROVIDER_ANSWER_PATH",
    "PROVIDER_REQUESTS_PATH",
    "PROVIDER_TRANSFERS_PATH",
    "ROUTES_PATH",
    "TRANSPORT_PATH",
    "XML_MEDIA_TYPE",
    "AuthorisationAnswer",
    "AuthorisationRequest",
    "ExportedTransfer",
    "Header",
    "Problem",
    "ProtocolExport",
    "ProviderMetadata",
    "RouteAnswer",
    "RouteEvidenceType",
    "RouteProvider",
    "SubmissionHandle",
    "VsRuleInfo",
    "VsRules",
    "decode_value",
    "encode_value",
]

XML_MEDIA_TYPE = "application/xml"

#: Consumer API (an online service's SAK).
ROUTES_PATH = "/consumer/v1/routes"
AUTHORISATIONS_PATH = "/consumer/v1/authorisations"
CONSUMER_REQUESTS_PATH = "/consumer/v1/requests"
#: Provider API: the register serves it in push mode (POST), its SAK in passive mode (GET).
PROVIDER_REQUESTS_PATH = "/provider/v1/requests"
#: Provider API, passive mode: the register posts its answer to a delivery here.
PROVIDER_ANSWER_PATH = "/provider/v1/requests/{delivery_id}/answer"
#: Provider API: a register's protocol export, what it logged for one request (§ 9 IDNrG),
#: read with the same access rule as the push endpoint (its own SAK only).
PROVIDER_TRANSFERS_PATH = "/provider/v1/transfers"
#: Between SAKs: the signed transport envelope.
TRANSPORT_PATH = "/transport/v1/messages"


class Header:
    """The HTTP header names of the SAK APIs."""

    PURPOSE = "Noots-Purpose"
    SERVICE_ID = "Noots-Service-Id"
    CONSUMER = "Noots-Consumer"
    MESSAGE_ID = "Noots-Message-Id"
    VS_TOKEN_REQUIRED = "Noots-Vs-Token-Required"  # noqa: S105 - a header name
    DELIVERY_ID = "Noots-Delivery-Id"
    OUTCOME = "Noots-Outcome"
    ANSWERED_BY = "Noots-Answered-By"
    ENVELOPE_ID = "Noots-Envelope-Id"
    RESPONSE_ENVELOPE_ID = "Noots-Response-Envelope-Id"
    #: Simulator only: the request id the online service will give its 0101, sent with the
    #: route and authorisation calls that precede it, so the dashboard draws them with the
    #: exchange. Optional; it changes nothing but the tracing.
    TRACE_ID = "Noots-Trace-Id"


_SERVICE_ID = re.compile(r"\S{1,512}")


def encode_value(text: str) -> str:
    """A header value: UTF-8, percent-encoded (spaces stay readable)."""
    return quote(text, safe=" !#$&'()*+,/:;=?@[]~")


def decode_value(text: str) -> str:
    """The text of a percent-encoded header value (refuses what is not UTF-8)."""
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise InvalidInput("a Noots-* header is not percent-encoded UTF-8") from None


def _line(text: str, what: str) -> str:
    if not text or text != text.strip() or len(text) > 256 or any(c < " " for c in text):
        raise InvalidInput(f"{what} must be one line of 1 to 256 characters")
    return text


@dataclass(frozen=True)
class ProviderMetadata:
    """What a register learns besides the 0101, established by its SAK.

    ``consumer`` is the online service the verified envelope was sent for, ``purpose`` the
    purpose it declared, ``service_id`` the service it asked, ``message_id`` the envelope's id
    (for the register's own records), and ``vs_token_required`` whether this transfer needs a
    Vermittlungsstelle token (§ 7 Abs. 2 / § 12 Abs. 2 IDNrG): the register refuses a request
    without one where it is required, and checks every token it gets against the content.
    ``delivery_id`` names a request in passive mode.
    """

    consumer: str
    purpose: str
    service_id: str
    message_id: uuid.UUID
    vs_token_required: bool
    delivery_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        if not PARTICIPANT_ID.fullmatch(self.consumer):
            raise InvalidInput(f"{Header.CONSUMER} is not a participant id")
        _line(self.purpose, Header.PURPOSE)
        if not _SERVICE_ID.fullmatch(self.service_id):
            raise InvalidInput(f"{Header.SERVICE_ID} must be 1 to 512 non-space characters")

    def headers(self) -> dict[str, str]:
        headers = {
            Header.CONSUMER: self.consumer,
            Header.PURPOSE: encode_value(self.purpose),
            Header.SERVICE_ID: encode_value(self.service_id),
            Header.MESSAGE_ID: str(self.message_id),
            Header.VS_TOKEN_REQUIRED: "true" if self.vs_token_required else "false",
        }
        if self.delivery_id is not None:
            headers[Header.DELIVERY_ID] = str(self.delivery_id)
        return headers

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> ProviderMetadata:
        """Read the metadata from HTTP headers (case-insensitive mapping); a missing or
        malformed one is :class:`InvalidInput`."""

        def value(name: str) -> str:
            found = headers.get(name)
            if found is None:
                raise InvalidInput(f"header {name} is missing")
            return found

        required = value(Header.VS_TOKEN_REQUIRED).strip().lower()
        if required not in ("true", "false"):
            raise InvalidInput(f"{Header.VS_TOKEN_REQUIRED} must be true or false")
        delivery = headers.get(Header.DELIVERY_ID)
        return cls(
            consumer=value(Header.CONSUMER).strip(),
            purpose=decode_value(value(Header.PURPOSE)),
            service_id=decode_value(value(Header.SERVICE_ID)).strip(),
            message_id=_uuid(value(Header.MESSAGE_ID), Header.MESSAGE_ID),
            vs_token_required=required == "true",
            delivery_id=None if delivery is None else _uuid(delivery, Header.DELIVERY_ID),
        )


def _uuid(text: str, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        raise InvalidInput(f"{name} is not a UUID") from None


# -- the JSON documents of the consumer API ---------------------------------------------------


class _Json(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )


class Problem(_Json):
    """A refusal as JSON (RFC 9457 in spirit): the EDM code, a German/English detail that
    never carries personal data, and the component where it failed."""

    model_config = ConfigDict(extra="allow")

    code: str = Field(description="EDM:ERR:0001 … 0008 (or another code of the national list).")
    title: str = ""
    detail: str = ""
    component: str = Field(default="", description="Participant id where it failed.")


class VsRuleInfo(_Json):
    required: bool = Field(description="Whether a Vermittlungsstelle token is needed.")
    reason: str = Field(description="Why (German, with the legal basis).")


class VsRules(_Json):
    with_idnr: VsRuleInfo
    without_idnr: VsRuleInfo


class RouteProvider(_Json):
    participant_id: str
    name: str
    area: str = Field(description="The provider's administrative area.")


class RouteEvidenceType(_Json):
    name: str
    classification: str = Field(description="EvidenceTypeClassification URI (0101).")
    identifier: str = Field(description="RequestedEvidenceType/Identifier (0101).")
    title: str
    subject: Literal["natural", "legal"]


class RouteAnswer(_Json):
    """``GET /consumer/v1/routes``: the one provider responsible, and the VS rule for it."""

    service_id: str
    provider: RouteProvider
    evidence_type: RouteEvidenceType
    vs: VsRules


class AuthorisationRequest(_Json):
    """``POST /consumer/v1/authorisations``: one transfer, without content."""

    service_id: str = Field(min_length=1, max_length=512, description="From the route.")
    purpose: str = Field(min_length=1, max_length=256)
    legal_basis: str = Field(default="nicht angegeben", min_length=1, max_length=256)
    uses_idnr: bool = Field(description="Whether the 0101 carries the IDNr.")
    request_hash: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the exclusive C14N of the 0101 with an empty IssuedToken.",
    )


class AuthorisationAnswer(_Json):
    """The authorisation: the sealed token for ``IssuedToken``, or why none is needed."""

    required: bool
    reason: str
    token: str | None = Field(default=None, description="Base64 of the sealed VS token.")
    expires_at: datetime | None = None


class SubmissionHandle(_Json):
    """``Prefer: respond-async``: where to collect the answer."""

    handle: uuid.UUID
    location: str


class ExportedTransfer(_Json):
    """One protocol entry of a register, as its protocol export shows it (§ 9 IDNrG)."""

    request_id: str
    logged_at: str = Field(description="UTC, millisecond precision, e.g. 2026-11-22T09:14:05.123Z")
    consumer: str
    provider: str
    evidence_type: str = Field(description="Name, or the classification URI if refused early.")
    purpose: str
    idnr: str | None = Field(description="None where the request carried none or an invalid one.")
    outcome: str = Field(description="delivered, pending or refused:EDM:ERR:000N")


class ProtocolExport(_Json):
    """``GET /provider/v1/transfers?requestId=…``: what a register logged for one request."""

    request_id: str
    transfers: list[ExportedTransfer]
