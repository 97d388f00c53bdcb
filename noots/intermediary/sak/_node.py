"""What both sides of a SAK share: its identity, the participant it connects, the landscape,
its outgoing HTTP client and the refusals it signs.

A SAK serves a register (provider side), an online service (consumer side) or the
Intermediäre Plattform (both sides: it sends 0301 to registers and receives the online
services' 0401/0411)."""

from __future__ import annotations

import logging

import httpx
from lxml import etree

from noots import messages
from noots.access import AccessGrant, AccessTokenSource, AccessTokenVerifier
from noots.clock import Clock
from noots.errors import (
    ConfigurationError,
    NootsError,
    UnresolvedReference,
)
from noots.exchange import RequestMessage, refusal
from noots.intermediary._edge import http_status
from noots.intermediary.sak._network import HttpxNetwork, Network
from noots.intermediary.sak._settings import SakSettings
from noots.participant import Participant, load_participant
from noots.pki import Role
from noots.topology import ConsumerSpec, IntermediaryPlatformSpec, Member, RegisterSpec, Topology
from noots.xml import serialize

__all__ = ["SakNode"]

log = logging.getLogger("noots.intermediary.sak")


class SakNode:
    """One SAK: the participant it connects (``served``), its own credential, the landscape."""

    def __init__(
        self,
        settings: SakSettings,
        *,
        topology: Topology,
        clock: Clock,
        http: httpx.AsyncClient,
        network: Network | None = None,
        participant: Participant | None = None,
    ) -> None:
        self.settings = settings
        self.topology = topology
        self.clock = clock
        self.http = http
        #: The hot path: envelopes to other SAKs, requests to the register (push mode).
        self.network: Network = network or HttpxNetwork(http)
        try:
            self.served: Member = next(
                m for m in topology.members() if m.participant_id == settings.participant_id
            )
        except StopIteration:
            raise ConfigurationError(
                f"{settings.participant_id!r} is neither a register, an online service nor the "
                "Intermediäre Plattform of the topology: it has no SAK"
            ) from None
        self.sak_id = topology.sak_id(self.served.participant_id)
        self.participant = participant or load_participant(
            settings.pki_dir, self.sak_id, clock=clock
        )
        if self.participant.participant_id != self.sak_id:
            raise ConfigurationError("the credential belongs to another participant")
        if self.participant.role is not Role.SAK:
            raise ConfigurationError(f"{self.sak_id} needs a certificate of role sak")
        self.agent = messages.Agent(self.sak_id, f"Sicherer Anschlussknoten ({self.served.name})")
        iam_id = topology.platform.iam_id
        # Every caller of this SAK presents an IAM access token for it; every call this SAK
        # makes presents one for the resource it calls (AD-NOOTS-05).
        self.access = AccessTokenVerifier(
            self.participant.validator, iam_id=iam_id, audience=self.sak_id, clock=clock
        )
        self.tokens = AccessTokenSource(
            self.participant.credential,
            iam_url=self.url("platform"),
            iam_id=iam_id,
            clock=clock,
            http=http,
        )

    @property
    def is_provider(self) -> bool:
        """Whether it serves a register."""
        return isinstance(self.served, RegisterSpec)

    @property
    def is_platform(self) -> bool:
        """Whether it serves the Intermediäre Plattform (both sides)."""
        return isinstance(self.served, IntermediaryPlatformSpec)

    @property
    def has_provider_side(self) -> bool:
        """Whether other SAKs send it envelopes for its participant (register or IP)."""
        return not isinstance(self.served, ConsumerSpec)

    @property
    def has_consumer_side(self) -> bool:
        """Whether its participant sends through it (online service or IP)."""
        return not isinstance(self.served, RegisterSpec)

    @property
    def served_role(self) -> Role:
        """The role of the certificate of the participant it connects."""
        if isinstance(self.served, RegisterSpec):
            return Role.PROVIDER
        if isinstance(self.served, IntermediaryPlatformSpec):
            return Role.PLATFORM
        return Role.CONSUMER

    @property
    def tls(self) -> bool:
        return self.settings.tls

    def url(self, participant_or_component: str) -> str:
        return self.topology.base_url(participant_or_component, tls=self.tls)

    def caller(self, authorization: str | None, *, role: Role, subject: str) -> AccessGrant:
        """The grant of the access token a caller presents: for this SAK, of ``role``, and
        issued to ``subject`` (:class:`~noots.errors.AccessDenied` for anybody else)."""
        return self.access.verify_caller(authorization, role=role, subject=subject)

    async def authorization(self, audience: str) -> dict[str, str]:
        """The ``Authorization`` header for a call to ``audience``."""
        return await self.tokens.authorization(audience)

    def consumer_of(self, sak_id: str) -> ConsumerSpec:
        """The online service whose SAK ``sak_id`` is; :class:`UnresolvedReference` otherwise."""
        served = self.topology.served_by(sak_id)
        if not isinstance(served, ConsumerSpec):
            raise UnresolvedReference(f"{sak_id} is not the SAK of an online service")
        return served

    def sender_of(self, sak_id: str) -> ConsumerSpec | IntermediaryPlatformSpec:
        """The participant whose SAK ``sak_id`` sends requests: an online service or the IP;
        :class:`UnresolvedReference` for a register's SAK or an unknown one."""
        served = self.topology.served_by(sak_id)
        if isinstance(served, RegisterSpec):
            raise UnresolvedReference(f"{sak_id} is the SAK of a register")
        return served

    def refusal_0103(self, request: RequestMessage, error: NootsError, detail: str) -> bytes:
        """The unsigned error answer to ``request`` (0103, 0303, 0403 or 0413), reported by
        this SAK."""
        answer = refusal(request, error.code, detail, clock=self.clock, error_provider=self.agent)
        return serialize(messages.build(answer))

    def status_of(self, error: NootsError) -> int:
        return http_status(error.code, behind=(error.component or self.sak_id) != self.sak_id)

    def element_bytes(self, element: etree._Element) -> bytes:
        return serialize(element)
