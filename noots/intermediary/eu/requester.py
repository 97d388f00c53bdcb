"""A simulated member-state evidence requester: the Mairie de Lyon asks for a German
Geburtsurkunde (use case 3), as a French online procedure portal would.

:class:`MemberStateRequester` finds the data service in the Data Service Directory, sends the
EDM ``QueryRequest`` through its access point (``eu-gw-fr``) and, after the user previewed
the evidence on the German side, repeats it with the ``PreviewLocation``. ``create_app`` serves
it over HTTP for the dashboard and demos: ``POST /requests`` (JSON: ``familyName``,
``givenName``, ``dateOfBirth``, ``preview``) and ``POST /requests/{id}/continue``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from noots.clock import Clock, SystemClock
from noots.errors import NootsError
from noots.eu import edm
from noots.eu.edm import EdmEvidenceType, EdmNaturalPerson, QueryRequest
from noots.intermediary._edge import refuse_invalid_input
from noots.intermediary.eu.catalogue import BIRTH_CERTIFICATE, FRENCH_AUTHORITY, FRENCH_GATEWAY
from noots.intermediary.eu.common import CommonServicesClient
from noots.intermediary.eu.gateway import Gateway
from noots.participant import Participant, load_participant

__all__ = ["MemberStateRequester", "Outcome", "RequesterSettings", "create_app"]


class RequesterSettings(BaseSettings):
    """Settings of the simulated French evidence requester (``NOOTS_EU_FR_*``)."""

    model_config = SettingsConfigDict(env_prefix="NOOTS_EU_FR_", extra="ignore", frozen=True)

    pki_dir: Path
    participant_id: str = FRENCH_GATEWAY
    common_services_url: str = "http://127.0.0.1:8472"
    access_points: dict[str, str] = Field(default_factory=dict)
    timeout_seconds: float = Field(default=30.0, gt=0)


@dataclass(frozen=True)
class Outcome:
    """What came back: evidence, a preview to do, an announced time, or an error."""

    answer: edm.EdmAnswer
    request: QueryRequest
    access_point: str

    @property
    def preview_location(self) -> str | None:
        answer = self.answer
        if isinstance(answer, edm.QueryErrorResponse) and answer.error.preview_required:
            return answer.error.preview_location
        return None

    def to_json(self) -> dict[str, Any]:
        answer = self.answer
        if isinstance(answer, edm.QueryErrorResponse):
            return {
                "outcome": "preview" if self.preview_location else "error",
                "code": answer.code.value,
                "message": answer.error.message,
                "previewLocation": self.preview_location,
            }
        if answer.available_at is not None:
            return {"outcome": "pending", "availableAt": answer.available_at.isoformat()}
        return {
            "outcome": "evidence",
            "evidences": [
                {"title": item.title, "format": item.format, "bytes": len(item.document)}
                for item in answer.evidences
            ],
        }


class MemberStateRequester:
    """The French requester's logic (DSD look-up, request, preview follow-up)."""

    def __init__(
        self, participant: Participant, gateway: Gateway, common_services: CommonServicesClient
    ) -> None:
        self.participant = participant
        self.gateway = gateway
        self.common_services = common_services

    async def ask(
        self,
        subject: EdmNaturalPerson,
        *,
        evidence_type: EdmEvidenceType = BIRTH_CERTIFICATE,
        country: str = "DE",
        preview: bool = True,
    ) -> Outcome:
        """Find the data service for ``evidence_type`` in ``country`` and ask it."""
        services = await self.common_services.data_services(evidence_type.classification, country)
        service = services[0]
        request = QueryRequest.new(
            procedure="R1",
            requester=FRENCH_AUTHORITY,
            provider=service.publisher.classified(None),
            evidence_type=service.evidence_type,
            subject=subject,
            clock=self.participant.clock,
            possibility_for_preview=preview,
        )
        return await self.send(request, service.access_point)

    async def send(self, request: QueryRequest, access_point: str) -> Outcome:
        answer = await self.gateway.ask(
            request, access_point=access_point, final_recipient=request.provider
        )
        return Outcome(answer, request, access_point)

    async def after_preview(self, outcome: Outcome) -> Outcome:
        """Repeat the request with the preview location the provider gave."""
        location = outcome.preview_location
        if location is None:
            return outcome
        previous = outcome.request
        request = QueryRequest.new(
            procedure=previous.procedure,
            requester=previous.requester,
            provider=previous.provider,
            evidence_type=previous.evidence_type,
            subject=previous.subject,
            clock=self.participant.clock,
            possibility_for_preview=True,
            preview_location=location,
        )
        return await self.send(request, outcome.access_point)


class _NewRequest(BaseModel):
    familyName: str
    givenName: str
    dateOfBirth: date
    preview: bool = True


def _requester(request: Request) -> MemberStateRequester:
    found: MemberStateRequester = request.app.state.requester
    return found


RequesterDep = Annotated[MemberStateRequester, Depends(_requester)]


def create_app(
    settings: RequesterSettings,
    *,
    clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The simulated French requester as a small JSON service."""
    participant = load_participant(
        settings.pki_dir, settings.participant_id, clock=clock or SystemClock()
    )
    client = httpx.AsyncClient(transport=transport)
    requester = MemberStateRequester(
        participant,
        Gateway(
            participant, settings.access_points, client=client, timeout=settings.timeout_seconds
        ),
        CommonServicesClient(settings.common_services_url, client),
    )
    app = FastAPI(title="noots simulated EU requester (FR)", docs_url=None, redoc_url=None)
    app.state.requester = requester
    refuse_invalid_input(app, component=settings.participant_id)
    app.state.outcomes = {}
    lock = threading.Lock()
    app.router.add_event_handler("shutdown", client.aclose)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "component": settings.participant_id}

    @app.post("/requests")
    async def new_request(body: _NewRequest, request: Request, requester: RequesterDep) -> Any:
        try:
            subject = EdmNaturalPerson(body.familyName, body.givenName, body.dateOfBirth)
            outcome = await requester.ask(subject, preview=body.preview)
        except (NootsError, ValueError) as exc:
            return JSONResponse({"outcome": "failed", "detail": str(exc)}, status_code=502)
        key = str(outcome.request.request_id)
        with lock:
            request.app.state.outcomes[key] = outcome
        return {"id": key, **outcome.to_json()}

    @app.post("/requests/{key}/continue")
    async def continue_request(key: str, request: Request, requester: RequesterDep) -> Any:
        with lock:
            outcome = request.app.state.outcomes.get(key)
        if outcome is None:
            return JSONResponse({"outcome": "unknown"}, status_code=404)
        try:
            outcome = await requester.after_preview(outcome)
        except NootsError as exc:
            return JSONResponse({"outcome": "failed", "detail": exc.message}, status_code=502)
        return {"id": key, **outcome.to_json()}

    return app
