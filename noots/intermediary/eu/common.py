"""The EU common services, simulated: Evidence Broker and Data Service Directory.

``GET /eb/rest/search?queryId=urn:fdc:oots:eb:ebxml-regrep:queries:evidence-types-by-
requirement-and-jurisdiction&requirement-id=…&country-code=DE`` and ``GET /dsd/rest/search?
queryId=urn:fdc:oots:dsd:ebxml-regrep:queries:dataservices-by-evidencetype-and-jurisdiction&
evidence-type-classification=…&country-code=AT`` answer RegRep ``query:QueryResponse``
documents (:mod:`noots.eu.registry`) from the catalogue (:mod:`noots.intermediary.eu.catalogue`).
Bad parameters are a ``Failure`` with an ``rs:InvalidRequestExceptionType`` (HTTP 400);
nothing found is ``rs:ObjectNotFoundExceptionType`` (HTTP 404), as the TDD's examples show.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import httpx
from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from lxml import etree
from pydantic_settings import BaseSettings, SettingsConfigDict

from noots import xml
from noots.errors import InvalidInput, UpstreamError, UpstreamTimeout
from noots.eu import registry
from noots.eu.edm import EdmRequirement
from noots.intermediary._edge import refuse_invalid_input
from noots.intermediary.eu.catalogue import Catalogue, default_catalogue
from noots.xml import serialize

__all__ = ["CommonServicesClient", "CommonServicesSettings", "create_app"]

XML = "application/xml"


class CommonServicesSettings(BaseSettings):
    """Settings of the simulated common services (``NOOTS_EU_CS_*``)."""

    model_config = SettingsConfigDict(env_prefix="NOOTS_EU_CS_", extra="ignore", frozen=True)


def _xml(element: etree._Element, status: int = 200) -> Response:
    return Response(serialize(element), status_code=status, media_type=XML)


def _invalid(exc: InvalidInput) -> Response:
    root = registry.build_not_found("CS:ERR:0003", exc.message)
    exception = root[-1]
    exception.set(
        "{http://www.w3.org/2001/XMLSchema-instance}type", "rs:InvalidRequestExceptionType"
    )
    return _xml(root, 400)


def _catalogue(request: Request) -> Catalogue:
    found: Catalogue = request.app.state.catalogue
    return found


CatalogueDep = Annotated[Catalogue, Depends(_catalogue)]


def create_app(
    settings: CommonServicesSettings | None = None, *, catalogue: Catalogue | None = None
) -> FastAPI:
    """The Evidence Broker and the Data Service Directory in one app."""
    settings = settings or CommonServicesSettings()
    app = FastAPI(title="noots EU common services (simulated)", docs_url=None, redoc_url=None)
    app.state.catalogue = catalogue or default_catalogue()
    refuse_invalid_input(app, component="eu-common-services")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "component": "eu-common-services"}

    @app.get("/eb/rest/search")
    async def evidence_broker(request: Request, catalogue: CatalogueDep) -> Response:
        try:
            requirement_id, country = registry.evidence_types_query(dict(request.query_params))
        except InvalidInput as exc:
            return _invalid(exc)
        requirement = catalogue.requirement(requirement_id) or EdmRequirement(
            requirement_id, "Unknown requirement"
        )
        offers = catalogue.offers_for(requirement_id, country)
        return _xml(registry.build_evidence_types(requirement, offers), 200 if offers else 404)

    @app.get("/dsd/rest/search")
    async def data_service_directory(request: Request, catalogue: CatalogueDep) -> Response:
        try:
            classification, country = registry.data_services_query(dict(request.query_params))
        except InvalidInput as exc:
            return _invalid(exc)
        services = catalogue.services_for(classification, country)
        return _xml(registry.build_data_services(services), 200 if services else 404)

    return app


class CommonServicesClient:
    """Asks the (simulated) Evidence Broker and Data Service Directory."""

    def __init__(self, base_url: str, client: httpx.AsyncClient, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client
        self.timeout = timeout

    async def _get(self, path: str, params: dict[str, str]) -> etree._Element:
        try:
            response = await asyncio.wait_for(
                self.client.get(self.base_url + path, params=params, timeout=self.timeout),
                timeout=self.timeout,
            )
        except (httpx.TimeoutException, TimeoutError):
            raise UpstreamTimeout("the EU common services did not answer in time") from None
        except httpx.HTTPError as exc:
            raise UpstreamError(f"EU common services unreachable: {type(exc).__name__}") from None
        return xml.parse(response.content)

    async def evidence_types(
        self, requirement: str, country: str
    ) -> list[registry.EvidenceTypeOffer]:
        """The Evidence Broker's evidence types for ``requirement`` in ``country``."""
        root = await self._get(
            "/eb/rest/search",
            {
                "queryId": registry.QUERY_EVIDENCE_TYPES,
                "requirement-id": requirement,
                "country-code": country,
            },
        )
        return registry.parse_evidence_types(root)

    async def data_services(self, classification: str, country: str) -> list[registry.DataService]:
        """The Data Service Directory's data services for an evidence type in ``country``."""
        root = await self._get(
            "/dsd/rest/search",
            {
                "queryId": registry.QUERY_DATA_SERVICES,
                "evidence-type-classification": classification,
                "country-code": country,
            },
        )
        return registry.parse_data_services(root)
