"""The SAK APIs as OpenAPI documents: what a SAK serves at ``/openapi.json``, committed under
``docs/openapi/`` (a test keeps both equal; ``python -m noots.intermediary.sak.openapi`` rewrites
them).

- ``sak-consumer-api.json``: the consumer API of an online service's SAK;
- ``sak-provider-api.json``: the provider API, both halves: what a register's SAK serves in
  passive mode, and the one endpoint a register serves in push mode (the SAK calls it);
- ``sak-transport.json``: the endpoint between two SAKs, for operators who run their own SAK.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.responses import Response

from noots import __version__
from noots.paths import PROJECT_ROOT
from noots.sak import PROVIDER_REQUESTS_PATH, PROVIDER_TRANSFERS_PATH, ProtocolExport
from noots.sak import Header as H

__all__ = ["DOCS_DIR", "openapi_documents", "render", "write_documents"]

DOCS_DIR = PROJECT_ROOT / "docs" / "openapi"

_OWN_CHOICE = (
    "The published SAK API description is not available to the simulator; paths, headers and "
    "JSON shapes here are noots' own choice, kept small and replaceable (docs/SAK.md). The "
    "messages themselves are XNachweis 1.2.0."
)


_OWN_SAK_AUTHORIZATION = (
    "Bearer <IAM access token> of the register's own SAK: issuer noots-iam, aud the register, "
    "role sak, sub <register>.sak, acts_for the register, certificate not on the CRL "
    "(docs/PROTOCOL.md, Checks at the resource)."
)
_NOT_OWN_SAK: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid access token (answer with WWW-Authenticate: Bearer)"},
    403: {"description": "A valid token, but not of the register's own SAK acting for it"},
}


def register_router() -> APIRouter:
    """The endpoint a register serves in push mode, as its SAK calls it (documentation of the
    contract; noots' own registers implement it in ``noots.registers._service``)."""
    router = APIRouter(tags=["Register"])

    @router.post(
        PROVIDER_REQUESTS_PATH,
        summary="Receive a DE.EvidenceRequest.0101 from the register's own SAK",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/xml": {"schema": {"type": "string"}}},
            }
        },
        responses={
            200: {
                "description": "DE.EvidenceResponse.0102",
                "content": {"application/xml": {"schema": {"type": "string"}}},
            },
            "4XX": {
                "description": "DE.EvidenceErrorResponse.0103 (status by its EDM code)",
                "content": {"application/xml": {"schema": {"type": "string"}}},
            },
            "5XX": {
                "description": "DE.EvidenceErrorResponse.0103 (EDM:ERR:0008)",
                "content": {"application/xml": {"schema": {"type": "string"}}},
            },
            **_NOT_OWN_SAK,
        },
    )
    async def receive(
        request: Request,
        authorization: Annotated[str, Header(description=_OWN_SAK_AUTHORIZATION)],
        consumer: Annotated[
            str, Header(alias=H.CONSUMER, description="The online service the request is for.")
        ],
        purpose: Annotated[
            str, Header(alias=H.PURPOSE, description="Declared purpose (percent-encoded UTF-8).")
        ],
        service_id: Annotated[
            str, Header(alias=H.SERVICE_ID, description="The service asked (percent-encoded).")
        ],
        message_id: Annotated[
            str, Header(alias=H.MESSAGE_ID, description="Id of the envelope between the SAKs.")
        ],
        vs_token_required: Annotated[
            str,
            Header(
                alias=H.VS_TOKEN_REQUIRED,
                description=(
                    "true where this transfer needs a Vermittlungsstelle token (§ 7 Abs. 2, "
                    "§ 12 Abs. 2 IDNrG): refuse it without one (EDM:ERR:0002). Check every "
                    "token you get against the content, before revealing what you provide."
                ),
            ),
        ],
    ) -> Response:
        """The register checks that the caller is its own SAK (access token; with TLS its
        certificate), the 0101 (requester = ``Noots-Consumer``, provider = itself, a service
        of its own), the VS token against the content, the IDNr and the person, and answers
        the bare 0102/0103 unsigned: its SAK signs it."""
        raise NotImplementedError  # documentation only; never mounted on a server

    @router.get(
        PROVIDER_TRANSFERS_PATH,
        response_model=ProtocolExport,
        summary="The protocol export: what the register logged for one request",
        responses=_NOT_OWN_SAK,
    )
    async def transfers(
        authorization: Annotated[str, Header(description=_OWN_SAK_AUTHORIZATION)],
        request_id: Annotated[
            str,
            Query(alias="requestId", min_length=1, max_length=128, description="The 0101's id."),
        ],
    ) -> ProtocolExport:
        """What the register logged for one request id (§ 9 IDNrG), for its own SAK only; an
        unknown id answers an empty list. The conformance suite (DP-12) reads it here; the
        Datenschutzcockpit does not (docs/SAK.md)."""
        raise NotImplementedError  # documentation only; never mounted on a server

    return router


def _document(title: str, routers: list[APIRouter], description: str) -> dict[str, Any]:
    app = FastAPI(title=title, version=__version__, description=description)
    for router in routers:
        app.include_router(router)
    return app.openapi()


def openapi_documents() -> dict[str, dict[str, Any]]:
    """Every committed document by file name."""
    from noots.intermediary.sak._app import consumer_router, provider_router, transport_router

    return {
        "sak-consumer-api.json": _document(
            "noots SAK consumer API",
            [consumer_router()],
            "What an online service's Sicherer Anschlussknoten offers it. " + _OWN_CHOICE,
        ),
        "sak-provider-api.json": _document(
            "noots SAK provider API",
            [provider_router(), register_router()],
            "Between a register and its Sicherer Anschlussknoten: passive mode (the register "
            "fetches from its SAK) and push mode (the SAK POSTs to the register). " + _OWN_CHOICE,
        ),
        "sak-transport.json": _document(
            "noots SAK-to-SAK transport",
            [transport_router()],
            "The signed transport envelope between two SAKs (docs/PROTOCOL.md). " + _OWN_CHOICE,
        ),
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write_documents(directory: Path = DOCS_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in openapi_documents().items():
        path = directory / name
        path.write_text(render(document), encoding="utf-8")
        written.append(path)
    return written
