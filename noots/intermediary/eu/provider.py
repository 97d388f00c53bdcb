"""A simulated member-state evidence provider: the Universität Wien, with its preview space.

``POST /as4`` is its (simulated) eDelivery access point (``eu-gw-at``): an EDM
``QueryRequest`` for the degree evidence type is answered

- ``EDM:ERR:0007`` for another evidence type, ``EDM:ERR:0004`` for a person without a degree
  (unknown and ambiguous look the same);
- with ``PossibilityForPreview`` and no ``PreviewLocation``: the preview-required error
  (``EDM:ERR:0002``, severity ``PreviewRequired``) pointing to its preview space
  ``GET /preview/{token}``, where the user sees the degree and decides; the preview space then
  sends the user back to ``returnurl``;
- the repeated request with that ``PreviewLocation``: the degree (a PDF) as a
  ``QueryResponse`` if the user agreed, ``EDM:ERR:0004`` if not, the preview error again while
  undecided;
- without ``PossibilityForPreview``: the degree at once.

``answer_delay_seconds`` delays every answer (to exercise the requester's timeout).
"""

from __future__ import annotations

import asyncio
import html
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from noots.clock import Clock, SystemClock
from noots.errors import EdmCode, NootsError
from noots.eu import edm
from noots.eu.edm import EdmError, EdmEvidence, EdmNaturalPerson, QueryRequest
from noots.intermediary._edge import read_body, refuse_invalid_input
from noots.intermediary.eu.catalogue import AUSTRIAN_GATEWAY, AUSTRIAN_UNIVERSITY, DEGREE
from noots.intermediary.eu.gateway import (
    AS4_MEDIA_TYPE,
    AS4_PATH,
    open_request,
    read_form,
    sealed_answer,
)
from noots.participant import Participant, load_participant

__all__ = ["Degree", "ProviderSettings", "create_app", "minimal_pdf"]


class ProviderSettings(BaseSettings):
    """Settings of the simulated Austrian evidence provider (``NOOTS_EU_AT_*``)."""

    model_config = SettingsConfigDict(env_prefix="NOOTS_EU_AT_", extra="ignore", frozen=True)

    pki_dir: Path = Field(description="The landscape's PKI directory (trust anchor, CRL, keys).")
    participant_id: str = Field(default=AUSTRIAN_GATEWAY, description="Its access point's id.")
    public_url: str = Field(
        default="http://127.0.0.1:8471", description="Where browsers reach its preview space."
    )
    answer_delay_seconds: float = Field(default=0.0, ge=0, description="Delay of every answer.")


@dataclass(frozen=True)
class Degree:
    """A degree the university has issued (synthetic population)."""

    family_name: str
    given_name: str
    date_of_birth: date
    title: str


DEFAULT_DEGREES = (
    Degree("Mustermann", "Erika", date(1964, 8, 12), "Magistra der Philosophie (Mag. phil.)"),
    Degree("Gabler", "Leopold", date(1991, 3, 3), "Diplom-Ingenieur (Dipl.-Ing.)"),
)


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF showing ``text`` (ASCII), small and valid enough for any viewer."""
    safe = re.sub(r"[^ -~]", "?", text).replace("\\", "\\\\").replace("(", "\\(")
    safe = safe.replace(")", "\\)")
    stream = f"BT /F1 14 Tf 50 750 Td ({safe}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


@dataclass
class _Preview:
    request_key: tuple[str, str, str]
    degree: Degree
    decision: bool | None = None


class _Provider:
    def __init__(
        self,
        settings: ProviderSettings,
        participant: Participant,
        degrees: tuple[Degree, ...],
    ) -> None:
        self.settings = settings
        self.participant = participant
        self.clock = participant.clock
        self.degrees = degrees
        self.previews: dict[str, _Preview] = {}
        self.lock = threading.Lock()

    def preview_url(self, token: str) -> str:
        return f"{self.settings.public_url.rstrip('/')}/preview/{token}"

    def _degree(self, request: QueryRequest) -> Degree | None:
        subject = request.subject
        if not isinstance(subject, EdmNaturalPerson):
            return None
        found = [
            degree
            for degree in self.degrees
            if (degree.family_name, degree.given_name, degree.date_of_birth)
            == (subject.family_name, subject.given_name, subject.date_of_birth)
        ]
        return found[0] if len(found) == 1 else None

    @staticmethod
    def _key(request: QueryRequest) -> tuple[str, str, str]:
        return (
            request.requester.identifier,
            request.evidence_type.classification,
            repr(request.subject),
        )

    def _error(self, request: QueryRequest, code: EdmCode, detail: str) -> edm.EdmAnswer:
        return edm.answer_with_error(
            request, EdmError.of(code, detail, clock=self.clock), error_provider=AUSTRIAN_UNIVERSITY
        )

    def _preview_required(self, request: QueryRequest, token: str) -> edm.EdmAnswer:
        error = EdmError(
            EdmCode.AUTHORISATION,
            "Missing Authorization",
            detail="The user must preview the evidence at the provider's preview space",
            timestamp=self.clock.now(),
            preview_location=self.preview_url(token),
            preview_description="Universität Wien: preview of the degree",
            preview_method="GET",
        )
        return edm.answer_with_error(request, error, error_provider=AUSTRIAN_UNIVERSITY)

    def _evidence(self, request: QueryRequest, degree: Degree) -> edm.EdmAnswer:
        document = minimal_pdf(
            f"Universitaet Wien - {degree.title} - {degree.given_name} {degree.family_name}, "
            f"born {degree.date_of_birth.isoformat()}"
        )
        evidence = EdmEvidence.new(
            document,
            subject=request.subject,
            issuing_authority=AUSTRIAN_UNIVERSITY,
            evidence_type=request.evidence_type,
            clock=self.clock,
            language="DE",
        )
        return edm.answer_with_evidence(
            request, evidence, clock=self.clock, provider=AUSTRIAN_UNIVERSITY
        )

    def answer(self, request: QueryRequest) -> edm.EdmAnswer:
        if request.evidence_type.classification != DEGREE.classification:
            return self._error(
                request, EdmCode.UNSUPPORTED_CAPABILITY, "evidence type not provided here"
            )
        degree = self._degree(request)
        if degree is None:
            return self._error(request, EdmCode.NOT_FOUND, "no evidence for this person")
        if request.preview_location is None:
            if not request.possibility_for_preview:
                return self._evidence(request, degree)
            token = secrets.token_urlsafe(18)
            with self.lock:
                self.previews[token] = _Preview(self._key(request), degree)
            return self._preview_required(request, token)
        prefix = self.preview_url("")
        token = request.preview_location[len(prefix) :].split("?")[0]
        with self.lock:
            preview = (
                self.previews.get(token) if request.preview_location.startswith(prefix) else None
            )
        if preview is None or preview.request_key != self._key(request):
            return self._error(request, EdmCode.INVALID_REQUEST, "unknown preview location")
        if preview.decision is None:
            return self._preview_required(request, token)
        if not preview.decision:
            return self._error(request, EdmCode.NOT_FOUND, "the user did not agree to use it")
        return self._evidence(request, preview.degree)


def _page(title: str, body: str, *, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang='de'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"{body}</body></html>",
        status_code=status,
    )


def _provider(request: Request) -> _Provider:
    found: _Provider = request.app.state.provider
    return found


ProviderDep = Annotated[_Provider, Depends(_provider)]


def create_app(
    settings: ProviderSettings,
    *,
    clock: Clock | None = None,
    degrees: tuple[Degree, ...] = DEFAULT_DEGREES,
) -> FastAPI:
    """The simulated Austrian evidence provider (access point and preview space)."""
    participant = load_participant(
        settings.pki_dir, settings.participant_id, clock=clock or SystemClock()
    )
    provider = _Provider(settings, participant, degrees)
    app = FastAPI(title="noots simulated EU provider (AT)", docs_url=None, redoc_url=None)
    app.state.provider = provider
    refuse_invalid_input(app, component=settings.participant_id)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "component": settings.participant_id}

    @app.post(AS4_PATH)
    async def inbox(request: Request, provider: ProviderDep) -> Response:
        try:
            raw = await read_body(request)
            received = await asyncio.to_thread(open_request, raw, provider.participant)
        except NootsError as exc:
            # Nothing verified to answer to: no EDM answer can be addressed; plain refusal.
            return Response(exc.message, status_code=400, media_type="text/plain")
        if settings.answer_delay_seconds:
            await asyncio.sleep(settings.answer_delay_seconds)
        answer = provider.answer(received.request)
        body = await asyncio.to_thread(
            sealed_answer, received.message, answer, provider.participant, clock=provider.clock
        )
        return Response(body, media_type=AS4_MEDIA_TYPE)

    @app.get("/preview/{token}")
    async def preview_page(token: str, provider: ProviderDep, returnurl: str = "") -> Response:
        with provider.lock:
            preview = provider.previews.get(token)
        if preview is None:
            return _page("Vorschau nicht gefunden", "<p>Dieser Link ist ungültig.</p>", status=404)
        degree = preview.degree
        form = (
            f"<form method='post'><input type='hidden' name='returnurl' "
            f"value='{html.escape(returnurl, quote=True)}'>"
            "<button name='decision' value='approve'>Nachweis verwenden</button> "
            "<button name='decision' value='decline'>Nicht verwenden</button></form>"
        )
        return _page(
            "Universität Wien – Vorschau Ihres Nachweises",
            f"<p>{html.escape(degree.title)}</p><p>{html.escape(degree.given_name)} "
            f"{html.escape(degree.family_name)}, geboren {degree.date_of_birth.isoformat()}</p>"
            + form,
        )

    @app.post("/preview/{token}")
    async def preview_decision(token: str, request: Request, provider: ProviderDep) -> Response:
        form = await read_form(request)
        decision, returnurl = form.get("decision", ""), form.get("returnurl", "")
        with provider.lock:
            preview = provider.previews.get(token)
            if preview is None or decision not in ("approve", "decline"):
                return _page(
                    "Vorschau nicht gefunden", "<p>Dieser Link ist ungültig.</p>", status=404
                )
            preview.decision = decision == "approve"
        if re.fullmatch(r"https?://[^\s]+", returnurl):
            return RedirectResponse(returnurl, status_code=303)
        return _page("Danke", "<p>Ihre Entscheidung wurde gespeichert.</p>")

    return app
