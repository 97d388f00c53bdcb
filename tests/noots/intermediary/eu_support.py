"""An in-process EU landscape for tests: common services, the Austrian provider, the German IP
(with a fake national side) and the French requester, wired through one routing transport."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from uuid import UUID

import httpx
from fastapi import FastAPI

from noots import messages
from noots.clock import ManualClock
from noots.errors import EdmCode
from noots.intermediary.eu import common, provider, requester
from noots.intermediary.eu.catalogue import (
    AUSTRIAN_GATEWAY,
    BIRTH_CERTIFICATE,
    FRENCH_GATEWAY,
    GERMAN_GATEWAY,
)
from noots.intermediary.eu.gateway import Gateway
from noots.intermediary.ip import app as ip_app
from noots.messages import (
    Agent,
    EuEvidenceErrorResponse,
    EuEvidenceRequest,
    EuEvidenceResponse,
    Evidence,
    EvidenceType,
    NaturalPerson,
)
from noots.participant import load_participant
from noots.pki import Role
from noots.testing.pki import TestPki

START = datetime(2026, 11, 22, 9, 14, 5, tzinfo=UTC)
HOSTS = {
    "cs": "http://cs.test",
    "at": "https://at.test",
    "ip": "https://ip.test",
    "fr": "http://fr.test",
}
STANDESAMT = Agent("08111000-STA-01", "Standesamt Stuttgart")
GEBURTSURKUNDE = EvidenceType(
    BIRTH_CERTIFICATE.classification,
    "Geburtsurkunde",
    UUID(BIRTH_CERTIFICATE.identifier),
)
GEBURTSURKUNDE_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?><gu:Geburtsurkunde '
    b'xmlns:gu="urn:noots:evidence:geburtsurkunde:1"><gu:Name>Mustermann</gu:Name>'
    b"</gu:Geburtsurkunde>"
)


class Router(httpx.AsyncBaseTransport):
    """Routes each request to the in-process app serving its host."""

    def __init__(self) -> None:
        self.apps: dict[str, httpx.ASGITransport] = {}

    def add(self, base_url: str, app: FastAPI) -> None:
        self.apps[httpx.URL(base_url).host] = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self.apps.get(request.url.host)
        if transport is None:
            raise httpx.ConnectError(f"no host {request.url.host}", request=request)
        return await transport.handle_async_request(request)


@dataclass
class FakeNational:
    """The NOOTS side: one register (a Standesamt) that knows Erika Mustermann."""

    delay: float = 0.0
    asked: list[EuEvidenceRequest] = field(default_factory=list)
    clock: ManualClock = field(default_factory=lambda: ManualClock(START))

    async def find_register(self, classification: str) -> tuple[Agent, EvidenceType] | None:
        if classification == GEBURTSURKUNDE.classification:
            return STANDESAMT, GEBURTSURKUNDE
        return None

    async def ask_german_register(
        self, request: EuEvidenceRequest
    ) -> EuEvidenceResponse | EuEvidenceErrorResponse:
        self.asked.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        subject = request.subject
        if isinstance(subject, NaturalPerson) and (
            subject.family_name,
            subject.given_name,
            subject.date_of_birth,
        ) == ("Mustermann", "Erika", date(1964, 8, 12)):
            evidence = Evidence.new(
                GEBURTSURKUNDE_XML,
                issuing_authority=STANDESAMT,
                evidence_type=request.evidence_type,
                subject=subject,
                clock=self.clock,
            )
            return messages.answer_with_evidence(request, evidence, clock=self.clock)
        return messages.answer_with_error(
            request,
            EdmCode.NOT_FOUND,
            "Zum angegebenen Nachweissubjekt liegt kein Nachweis vor.",
            clock=self.clock,
        )


@dataclass
class EuLandscape:
    router: Router
    national: FakeNational
    pki: TestPki
    clock: ManualClock
    requester: requester.MemberStateRequester
    client: httpx.AsyncClient
    ip: FastAPI
    provider: FastAPI


@contextmanager
def eu_landscape(
    *,
    provider_delay: float = 0.0,
    national_delay: float = 0.0,
    eu_timeout: float = 10.0,
    national_timeout: float = 0.5,
    start: datetime = START,
) -> Iterator[EuLandscape]:
    clock = ManualClock(start)
    with TestPki(clock=clock) as pki:
        pki.credential(GERMAN_GATEWAY, Role.PLATFORM)
        pki.credential(AUSTRIAN_GATEWAY, Role.SIMULATOR)
        pki.credential(FRENCH_GATEWAY, Role.SIMULATOR)
        router = Router()
        access_points = {
            GERMAN_GATEWAY: HOSTS["ip"] + "/ip/v1",
            AUSTRIAN_GATEWAY: HOSTS["at"],
        }
        national = FakeNational(delay=national_delay, clock=clock)
        ip = ip_app.create_app(
            ip_app.IpSettings(
                pki_dir=pki.directory,
                public_url=HOSTS["ip"],
                common_services_url=HOSTS["cs"],
                access_points=access_points,
                eu_timeout_seconds=eu_timeout,
                national_timeout_seconds=national_timeout,
            ),
            national=national,
            clock=clock,
            transport=router,
        )
        provider_app = provider.create_app(
            provider.ProviderSettings(
                pki_dir=pki.directory,
                public_url=HOSTS["at"],
                answer_delay_seconds=provider_delay,
            ),
            clock=clock,
        )
        router.add(HOSTS["cs"], common.create_app())
        router.add(HOSTS["at"], provider_app)
        router.add(HOSTS["ip"], ip)
        client = httpx.AsyncClient(transport=router)
        french = load_participant(pki.directory, FRENCH_GATEWAY, clock=clock)
        member_state = requester.MemberStateRequester(
            french,
            Gateway(french, access_points, client=client, timeout=eu_timeout),
            common.CommonServicesClient(HOSTS["cs"], client),
        )
        yield EuLandscape(router, national, pki, clock, member_state, client, ip, provider_app)
