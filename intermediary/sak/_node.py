"""What both sides of a SAK share: its identity, the participant it connects, the landscape,
its outgoing HTTP client and the refusals it signs."""

from __future__ import annotations

import logging

import httpx
from lxml import etree

from intermediary._edge import http_status
from intermediary.sak._network import HttpxNetwork, Network
from intermediary.sak._settings import SakSettings
from noots import messages
from noots.access import AccessGrant, AccessTokenSource, AccessTokenVerifier
from noots.clock import Clock
from noots.errors import (
    AccessDenied,
    ConfigurationError,
    NootsError,
    UnresolvedReference,
)
from noots.participant import Participant, load_participant
from noots.pki import Role
from noots.topology import ConsumerSpec, RegisterSpec, Topology
from noots.xml import serialize

__all__ = ["SakNode"]

log = logging.getLogger("intermediary.sak")


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
            self.served: RegisterSpec | ConsumerSpec = next(
                m for m in topology.members() if m.participant_id == settings.participant_id
            )
        except StopIteration:
            raise ConfigurationError(
                f"{settings.participant_id!r} is neither a register nor an online service of "
                "the topology: it has no SAK"
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
        return isinstance(self.served, RegisterSpec)

    @property
    def tls(self) -> bool:
        return self.settings.tls

    def url(self, participant_or_component: str) -> str:
        return self.topology.base_url(participant_or_component, tls=self.tls)

    def caller(self, authorization: str | None, *, role: Role, subject: str) -> AccessGrant:
        """The grant of the access token a caller presents: for this SAK, of ``role``, and
        issued to ``subject`` (:class:`~noots.errors.AccessDenied` for anybody else)."""
        grant = self.access.verify_authorization(authorization, roles=(role,))
        if grant.subject != subject:
            raise AccessDenied(f"{self.sak_id} accepts this call only from {subject}")
        return grant

    async def authorization(self, audience: str) -> dict[str, str]:
        """The ``Authorization`` header for a call to ``audience``."""
        return await self.tokens.authorization(audience)

    def consumer_of(self, sak_id: str) -> ConsumerSpec:
        """The online service whose SAK ``sak_id`` is; :class:`UnresolvedReference` otherwise."""
        served = self.topology.served_by(sak_id)
        if not isinstance(served, ConsumerSpec):
            raise UnresolvedReference(f"{sak_id} is not the SAK of an online service")
        return served

    def refusal_0103(
        self, request: messages.EvidenceRequest, error: NootsError, detail: str
    ) -> bytes:
        """An unsigned 0103 answering ``request``, reported by this SAK."""
        answer = messages.answer_with_error(
            request, error.code, detail, clock=self.clock, error_provider=self.agent
        )
        return serialize(messages.build(answer))

    def status_of(self, error: NootsError) -> int:
        return http_status(error.code, behind=(error.component or self.sak_id) != self.sak_id)

    def element_bytes(self, element: etree._Element) -> bytes:
        return serialize(element)
