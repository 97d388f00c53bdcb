"""The simulated EU common services: Evidence Broker and Data Service Directory queries."""

from __future__ import annotations

import httpx
import pytest

from noots import xml
from noots.errors import NotFound
from noots.eu import registry
from noots.intermediary.eu import common
from noots.intermediary.eu.catalogue import AUSTRIAN_GATEWAY, DEGREE, DEGREE_REQUIREMENT


@pytest.fixture
def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=common.create_app()), base_url="http://cs.test"
    )


async def test_evidence_broker_lists_the_degree_for_austria(client: httpx.AsyncClient) -> None:
    """The EB query by requirement and jurisdiction answers the evidence types offered there."""
    response = await client.get(
        "/eb/rest/search",
        params={
            "queryId": registry.QUERY_EVIDENCE_TYPES,
            "requirement-id": DEGREE_REQUIREMENT.identifier,
            "country-code": "AT",
        },
    )
    assert response.status_code == 200
    assert b"<rim:Value>oots-cs:v2.0</rim:Value>" in response.content
    (offer,) = registry.parse_evidence_types(xml.parse(response.content))
    assert (offer.classification, offer.country) == (DEGREE.classification, "AT")


async def test_data_service_directory_names_the_access_point(client: httpx.AsyncClient) -> None:
    """The DSD query by evidence type and jurisdiction answers the data service with its
    access point and publisher."""
    response = await client.get(
        "/dsd/rest/search",
        params={
            "queryId": registry.QUERY_DATA_SERVICES,
            "evidence-type-classification": DEGREE.classification,
            "country-code": "AT",
        },
    )
    (service,) = registry.parse_data_services(xml.parse(response.content))
    assert service.access_point == AUSTRIAN_GATEWAY
    assert service.publisher.name == "Universität Wien"
    assert service.evidence_type == DEGREE


async def test_nothing_found_is_object_not_found(client: httpx.AsyncClient) -> None:
    """No data service in that country: 404 with DSD:ERR:0001 (ObjectNotFound)."""
    response = await client.get(
        "/dsd/rest/search",
        params={
            "queryId": registry.QUERY_DATA_SERVICES,
            "evidence-type-classification": DEGREE.classification,
            "country-code": "FR",
        },
    )
    assert response.status_code == 404
    assert b'code="DSD:ERR:0001"' in response.content
    with pytest.raises(NotFound):
        registry.parse_data_services(xml.parse(response.content))


@pytest.mark.parametrize(
    "params",
    [
        {"queryId": "urn:other"},
        {"queryId": registry.QUERY_DATA_SERVICES, "country-code": "AT"},
        {
            "queryId": registry.QUERY_DATA_SERVICES,
            "evidence-type-classification": DEGREE.classification,
            "country-code": "Austria",
        },
    ],
)
async def test_bad_queries_are_invalid_requests(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    """A wrong queryId, a missing parameter or a malformed country code: 400."""
    response = await client.get("/dsd/rest/search", params=params)
    assert response.status_code == 400
    assert b"InvalidRequestExceptionType" in response.content
