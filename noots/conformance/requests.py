"""Valid evidence requests for tests and suites, and ways to spoil them one property at a time.

Two forms: a **signed envelope** as one SAK sends it to another (:meth:`RequestFactory.signed`),
and a **delivery** as a register's SAK hands it to the register: the bare 0101 and the
metadata headers (:meth:`RequestFactory.delivery`).

::

    factory = RequestFactory.from_test_pki(pki, topology).between_saks()
    signed = factory.signed(
        consumer="08118079-BPA-87",
        provider="991-01234ZFZR-41",
        evidence_type="Fahrzeughalterauskunft",
        subject=NaturalPerson("Mustermann", "Erika", date(1964, 8, 12), "02476291358"),
    )
    response = await client.post("/transport/v1/messages", content=signed.raw, headers=token)

A request is built as a data consumer builds it: the 0101 from the topology's names, a token of
the Vermittlungsstelle (sealed by the VS credential) bound to the request hash, the 0101
carrying the token, all in a transport envelope signed by the consumer. Every keyword of
:meth:`RequestFactory.sign` changes one thing (the token's fields, who signs, the envelope
header), so a test can break exactly one rule. The same factory works against a landscape data
directory (:meth:`RequestFactory.from_pki_dir`), so the conformance suite can use it too.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from lxml import etree

from noots.clock import Clock
from noots.envelope import ENV_NS, EnvelopeHeader, parse_header, request_digest, seal
from noots.errors import NootsError
from noots.messages import Agent, EvidenceRequest, EvidenceType, Subject, build, to_bytes
from noots.participant import load_credential
from noots.pki import Role
from noots.sak import ProviderMetadata
from noots.signing import XmlSigner
from noots.testing.pki import TestPki
from noots.tokens import AuthorisationToken, TokenRequest, issue_token, request_hash, uses_idnr
from noots.topology import Topology
from noots.xml import parse

__all__ = ["Delivery", "RequestFactory", "SignedRequest", "unverified_parts"]

SignerFor = Callable[[str], XmlSigner]


def unverified_parts(raw: bytes) -> tuple[EnvelopeHeader, etree._Element] | None:
    """The header and the one message of an envelope, read *without* verifying it, or None if
    it is not shaped like one. For tools that craft or grade messages (broken participants, the
    conformance gateway); a decision about a received message uses ``open_envelope``."""
    try:
        root = parse(raw)
        header = root.find(f"{{{ENV_NS}}}Header")
        body = root.find(f"{{{ENV_NS}}}Body")
        if header is None or body is None or len(body) != 1:
            return None
        return parse_header(header), body[0]
    except NootsError:
        return None


@dataclass(frozen=True)
class SignedRequest:
    """A request as it goes on the wire, with the parts a test wants to look at."""

    raw: bytes
    request: EvidenceRequest
    header: EnvelopeHeader
    token: AuthorisationToken | None
    issued_token: str

    @property
    def digest(self) -> str:
        """What the answer's ``InResponseTo`` must be."""
        return request_digest(self.raw)


@dataclass(frozen=True)
class Delivery:
    """A 0101 as a register's SAK hands it over: the bare bytes and the metadata."""

    raw: bytes
    request: EvidenceRequest
    metadata: ProviderMetadata
    token: AuthorisationToken | None
    issued_token: str

    def headers(self) -> dict[str, str]:
        """The HTTP headers of the provider API (``Noots-*`` and the content type)."""
        return {"Content-Type": "application/xml", **self.metadata.headers()}


class RequestFactory:
    """Builds evidence requests of any consumer of ``topology`` to any register.

    ``consumer_signer`` gives the signer of a participant id (the consumer, or whoever a test
    wants to sign); ``vs_signer`` seals tokens as the Vermittlungsstelle ``vs_id``.
    """

    def __init__(
        self,
        topology: Topology,
        *,
        clock: Clock,
        consumer_signer: SignerFor,
        vs_signer: XmlSigner,
        vs_id: str | None = None,
        via_saks: bool = False,
    ) -> None:
        self.topology = topology
        self.clock = clock
        self.consumer_signer = consumer_signer
        self.vs_signer = vs_signer
        self.vs_id = vs_id or topology.platform.vs_id
        #: Envelopes as one SAK sends them to another: signed by the consumer's SAK on behalf
        #: of the consumer, addressed to the provider's SAK.
        self.via_saks = via_saks

    def between_saks(self) -> RequestFactory:
        """The same factory, building envelopes as the consumer's SAK sends them to the
        provider's SAK (``Sender``/signer ``<consumer>.sak``, ``OnBehalfOf`` the consumer,
        ``Recipient`` ``<provider>.sak``)."""
        twin = RequestFactory(
            self.topology,
            clock=self.clock,
            consumer_signer=self.consumer_signer,
            vs_signer=self.vs_signer,
            vs_id=self.vs_id,
            via_saks=True,
        )
        return twin

    @classmethod
    def from_test_pki(cls, pki: TestPki, topology: Topology) -> RequestFactory:
        """Credentials issued on demand by ``pki`` (consumers with role consumer)."""
        return cls(
            topology,
            clock=pki.clock,
            consumer_signer=lambda pid: pki.signer(pid, Role.CONSUMER),
            vs_signer=pki.signer(topology.platform.vs_id, Role.VS),
        )

    @classmethod
    def from_pki_dir(
        cls,
        pki_dir: str | os.PathLike[str],
        topology: Topology,
        *,
        clock: Clock,
        via_saks: bool = False,
    ) -> RequestFactory:
        """The credentials of a landscape data directory (``<data_dir>/pki``)."""
        directory = Path(pki_dir)

        # One signer per participant: loading and checking a key file per signature would
        # dominate attack and conformance runs.
        @functools.cache
        def consumer_signer(pid: str) -> XmlSigner:
            return XmlSigner(load_credential(directory, pid))

        return cls(
            topology,
            clock=clock,
            consumer_signer=consumer_signer,
            vs_signer=XmlSigner(load_credential(directory, topology.platform.vs_id)),
            via_saks=via_saks,
        )

    # -- the 0101

    def request(
        self,
        *,
        consumer: str,
        provider: str,
        evidence_type: str,
        subject: Subject,
        test: bool = True,
    ) -> EvidenceRequest:
        """A fresh 0101 (no token yet) with the names the topology gives the parties."""
        spec = self.topology.evidence_type(evidence_type)
        return EvidenceRequest.new(
            requester=Agent(consumer, self._name(consumer)),
            provider=Agent(provider, self._name(provider)),
            evidence_type=EvidenceType(spec.classification, spec.title, spec.identifier),
            subject=subject,
            clock=self.clock,
            test=test,
        )

    def _name(self, participant_id: str) -> str:
        try:
            return self.topology.participant(participant_id).name
        except Exception:  # a participant the topology does not know: tests of exactly that
            return participant_id

    def _authorisation(self, request: EvidenceRequest) -> tuple[str, str]:
        spec_name = self.evidence_type_name(request)
        rows = self.topology.authorisations_for(
            request.requester.identifier, spec_name, request.provider.identifier
        )
        if rows:
            return rows[0].purpose, rows[0].legal_basis
        return "Test", "Test"

    def evidence_type_name(self, request: EvidenceRequest) -> str:
        classification = request.evidence_type.classification
        for spec in self.topology.evidence_types:
            if spec.classification == classification:
                return spec.name
        return classification

    # -- token and envelope

    def token(
        self,
        request: EvidenceRequest,
        *,
        purpose: str,
        legal_basis: str,
        lifetime: timedelta = timedelta(minutes=5),
        changes: Mapping[str, object] | None = None,
        signer: XmlSigner | None = None,
    ) -> tuple[AuthorisationToken, str]:
        """The VS token for ``request`` (sealed): ``changes`` replaces token fields first."""
        token_request = TokenRequest(
            consumer=request.requester.identifier,
            provider=request.provider.identifier,
            evidence_type=request.evidence_type.classification,
            purpose=purpose,
            legal_basis=legal_basis,
            uses_idnr=uses_idnr(request),
            request_hash=request_hash(build(request)),
        )
        token = AuthorisationToken.grant(
            token_request, issuer=self.vs_id, clock=self.clock, lifetime=lifetime
        )
        if changes:
            token = dataclasses.replace(token, **changes)  # type: ignore[arg-type]
        return token, issue_token(token, signer or self.vs_signer)

    def sign(
        self,
        request: EvidenceRequest,
        *,
        purpose: str | None = None,
        legal_basis: str | None = None,
        issued_token: str | None = None,
        with_token: bool = True,
        token_lifetime: timedelta = timedelta(minutes=5),
        token_changes: Mapping[str, object] | None = None,
        token_signer: XmlSigner | None = None,
        signer: XmlSigner | None = None,
        sender: str | None = None,
        recipient: str | None = None,
        service_id: str | None = None,
        envelope_purpose: str | None = None,
        created: datetime | None = None,
        message_id: uuid.UUID | None = None,
        on_behalf_of: str | None = None,
    ) -> SignedRequest:
        """The request with its token, in an envelope signed by the consumer (or, from a
        factory :meth:`between_saks`, by the consumer's SAK on its behalf).

        ``issued_token`` is used verbatim instead of a fresh token; ``with_token=False`` sends
        none. ``purpose`` goes into token and envelope alike; ``envelope_purpose`` changes only
        the envelope's. ``created``/``message_id`` set the envelope header (stale, replayed).
        """
        default_purpose, default_basis = self._authorisation(request)
        purpose = purpose or default_purpose
        token: AuthorisationToken | None = None
        if issued_token is None and with_token:
            token, issued_token = self.token(
                request,
                purpose=purpose,
                legal_basis=legal_basis or default_basis,
                lifetime=token_lifetime,
                changes=token_changes,
                signer=token_signer,
            )
        final = request.with_token(issued_token or "")
        consumer = request.requester.identifier
        provider = request.provider.identifier
        if self.via_saks:
            sender = sender or self.topology.sak_id(consumer)
            recipient = recipient or self.topology.sak_id(provider)
        header = EnvelopeHeader(
            message_id=message_id or uuid.uuid4(),
            sender=sender or consumer,
            recipient=recipient or provider,
            service_id=service_id
            or self.topology.service_id(provider, self.evidence_type_name(request)),
            created=created or self.clock.now(),
            purpose=envelope_purpose or purpose,
            on_behalf_of=(on_behalf_of or consumer) if self.via_saks else on_behalf_of,
        )
        raw = seal(header, build(final), signer or self.consumer_signer(sender or consumer))
        return SignedRequest(raw, final, header, token, issued_token or "")

    def signed(
        self,
        *,
        consumer: str,
        provider: str,
        evidence_type: str,
        subject: Subject,
        **options: Any,
    ) -> SignedRequest:
        """:meth:`request` and :meth:`sign` in one call: ``test`` goes to :meth:`request`, every
        other option to :meth:`sign`."""
        request = self.request(
            consumer=consumer,
            provider=provider,
            evidence_type=evidence_type,
            subject=subject,
            test=bool(options.pop("test", True)),
        )
        return self.sign(request, **options)

    def resend(self, signed: SignedRequest, **options: Any) -> SignedRequest:
        """The same 0101 (same request id, same token) in a fresh envelope: a retry or the
        collection of an asynchronous answer."""
        base = dataclasses.replace(signed.request, issued_token="")
        purpose = options.pop("purpose", None) or signed.header.purpose
        return self.sign(base, issued_token=signed.issued_token, purpose=purpose, **options)

    # -- the provider API: what a register's SAK hands over

    def delivery(
        self,
        *,
        consumer: str,
        provider: str,
        evidence_type: str,
        subject: Subject,
        request: EvidenceRequest | None = None,
        purpose: str | None = None,
        legal_basis: str | None = None,
        issued_token: str | None = None,
        with_token: bool = True,
        token_changes: Mapping[str, object] | None = None,
        token_signer: XmlSigner | None = None,
        vs_token_required: bool = True,
        metadata_consumer: str | None = None,
        metadata_purpose: str | None = None,
        service_id: str | None = None,
        message_id: uuid.UUID | None = None,
        delivery_id: uuid.UUID | None = None,
    ) -> Delivery:
        """A fresh 0101 (or ``request``) with its token and the metadata its SAK established.

        ``purpose`` goes into token and ``Noots-Purpose`` alike; ``metadata_purpose`` and
        ``metadata_consumer`` change only the metadata; ``issued_token`` is used verbatim;
        ``with_token=False`` sends none. ``service_id`` defaults to the service of
        ``provider`` for ``evidence_type``.
        """
        base = request or self.request(
            consumer=consumer, provider=provider, evidence_type=evidence_type, subject=subject
        )
        default_purpose, default_basis = self._authorisation(base)
        purpose = purpose or default_purpose
        token: AuthorisationToken | None = None
        if issued_token is None and with_token:
            token, issued_token = self.token(
                base,
                purpose=purpose,
                legal_basis=legal_basis or default_basis,
                changes=token_changes,
                signer=token_signer,
            )
        final = base.with_token(issued_token or "")
        metadata = ProviderMetadata(
            consumer=metadata_consumer or consumer,
            purpose=metadata_purpose or purpose,
            service_id=service_id or self.topology.service_id(provider, evidence_type),
            message_id=message_id or uuid.uuid4(),
            vs_token_required=vs_token_required,
            delivery_id=delivery_id,
        )
        return Delivery(to_bytes(final), final, metadata, token, issued_token or "")

    def redeliver(self, delivery: Delivery) -> Delivery:
        """The same 0101 (same ids, same token) with a fresh envelope id: a retry, or the
        collection of an announced answer, as the register's SAK hands it over again."""
        metadata = dataclasses.replace(delivery.metadata, message_id=uuid.uuid4())
        return dataclasses.replace(delivery, metadata=metadata)
