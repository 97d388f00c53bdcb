"""RDN: responsible providers from the topology, and 0006 answers that help the developer."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from noots.errors import InvalidInput, RouteNotFound
from noots.intermediary.app import create_app
from noots.intermediary.rdn import find_services, resolve_service
from noots.testing.asgi import running
from noots.topology import load_topology
from tests.noots.intermediary.support import Landscape

TOPOLOGY = load_topology()


def test_regional_type_with_region_names_the_one_melderegister() -> None:
    """A regional evidence type and an AGS resolve to that municipality's register."""
    answer = find_services(TOPOLOGY, "Meldebescheinigung", "09162000")
    assert [s.participant_id for s in answer.services] == ["09162000-MELD-57"]
    service = answer.services[0]
    assert service.service_id == "urn:noots:service:09162000-MELD-57:Meldebescheinigung"
    assert service.sak_id == "09162000-MELD-57.sak"
    assert service.sak_url == TOPOLOGY.base_url("09162000-MELD-57.sak")
    assert "endpoint" not in service.to_json()  # nobody connects to the register itself


def test_nationwide_type_ignores_the_region_and_says_so() -> None:
    """A nationwide type is answered whatever the region, with a note that it was not needed."""
    answer = find_services(TOPOLOGY, "Fahrzeughalterauskunft", "08118079")
    assert [s.participant_id for s in answer.services] == ["991-01234ZFZR-41"]
    assert answer.note is not None
    assert "nationwide" in answer.note


@pytest.mark.parametrize(
    "asked",
    [
        "Geburtsurkunde",
        "geburtsurkunde",
        "https://sr.oots.tech.ec.europa.eu/evidencetypeclassifications/ec/12cf6fb9-4dcf-4419-933a-04d11f8eef36",
        "a35e06e3-0d75-4cdb-ade0-b3a2c582819f",
        "A35E06E3-0D75-4CDB-ADE0-B3A2C582819F",
    ],
)
def test_evidence_type_by_name_classification_or_identifier(asked: str) -> None:
    """The evidence type may be named as in the RDN, or as a 0101 names it."""
    answer = find_services(TOPOLOGY, asked)
    assert answer.evidence_type.name == "Geburtsurkunde"
    assert [s.participant_id for s in answer.services] == ["992-00001PSTR-10"]


def test_unknown_type_lists_what_exists_and_the_closest_name() -> None:
    """A typo gets 0006 naming the closest type and every known type with its regions."""
    with pytest.raises(RouteNotFound) as caught:
        find_services(TOPOLOGY, "Meldebescheinigng", "08118079")
    message = caught.value.message
    assert "'Meldebescheinigng'" in message
    assert "Did you mean 'Meldebescheinigung'?" in message
    for spec in TOPOLOGY.evidence_types:
        assert spec.name in message
    assert "08118079 (Korntal-Münchingen)" in message


def test_region_without_register_lists_the_served_regions() -> None:
    """A region nobody serves gets 0006 with the regions the type is served for."""
    with pytest.raises(RouteNotFound) as caught:
        find_services(TOPOLOGY, "Meldebescheinigung", "08111000")
    message = caught.value.message
    assert "region 08111000" in message
    assert "09162000 (München)" in message
    assert "11000000 (Berlin)" in message


def test_regional_type_without_region_is_refused_not_guessed() -> None:
    """A regional type without region is refused with the list, never answered with a pick."""
    with pytest.raises(RouteNotFound) as caught:
        find_services(TOPOLOGY, "Meldebescheinigung", None)
    assert "Give region=<AGS>" in caught.value.message


def test_malformed_region_and_missing_type_are_invalid_requests() -> None:
    """A region that is no AGS, or no evidence type at all, is 0003 with an example."""
    with pytest.raises(InvalidInput, match="Amtlicher Gemeindeschlüssel"):
        find_services(TOPOLOGY, "Meldebescheinigung", "Korntal")
    with pytest.raises(InvalidInput, match="evidenceType=<name>"):
        find_services(TOPOLOGY, "", None)


@settings(max_examples=100, deadline=None)
@given(asked=st.text(max_size=40), region=st.none() | st.text(max_size=12))
def test_any_query_is_answered_or_refused_with_a_typed_error(
    asked: str, region: str | None
) -> None:
    """Arbitrary query strings never crash the RDN: an answer, 0003 or 0006."""
    try:
        answer = find_services(TOPOLOGY, asked, region)
    except (InvalidInput, RouteNotFound) as exc:
        refusal = exc.message
        assert refusal
    else:
        assert answer.services


async def test_http_answer_and_0006_problem(landscape: Landscape) -> None:
    """Over HTTP: 200 with the service list, 404 with code EDM:ERR:0006 and the question."""
    app = create_app(
        landscape.settings(),
        components=("rdn",),
        clock=landscape.clock,
        topology=landscape.topology,
    )
    async with running(app) as client:
        ok = await client.get(
            "/rdn/v1/services", params={"evidenceType": "Meldebescheinigung", "region": "08118079"}
        )
        missing = await client.get(
            "/rdn/v1/services", params={"evidenceType": "Reisepass", "region": "08118079"}
        )
        catalogue = await client.get("/rdn/v1/evidence-types")
    assert ok.status_code == 200
    assert ok.json()["services"][0]["participantId"] == "08118079-MELD-12"
    assert missing.status_code == 404
    problem = missing.json()
    assert problem["code"] == "EDM:ERR:0006"
    assert problem["asked"] == {"evidenceType": "Reisepass", "region": "08118079"}
    assert "Known evidence types" in problem["detail"]
    names = {t["name"] for t in catalogue.json()["evidenceTypes"]}
    assert names == {spec.name for spec in landscape.topology.evidence_types}


def test_each_service_names_the_provider_s_sak() -> None:
    """Connection parameters: the provider's SAK (participant id and URL) a consumer's SAK
    sends to."""
    service = find_services(TOPOLOGY, "Fahrzeughalterauskunft").services[0]
    assert service.sak_id == "991-01234ZFZR-41.sak"
    assert service.sak_url == TOPOLOGY.base_url("991-01234ZFZR-41.sak")
    assert service.to_json()["sak"] == {
        "participantId": "991-01234ZFZR-41.sak",
        "url": "http://127.0.0.1:8516",
    }


def test_a_service_id_resolves_to_its_connection_parameters() -> None:
    """resolve_service answers the provider, its SAK and the evidence type of a service id."""
    entry = resolve_service(TOPOLOGY, "urn:noots:service:08118079-MELD-12:Meldebescheinigung")
    assert (entry.participant_id, entry.evidence_type, entry.sak_id) == (
        "08118079-MELD-12",
        "Meldebescheinigung",
        "08118079-MELD-12.sak",
    )


def test_an_unknown_service_id_names_the_provider_s_services() -> None:
    """A service id of a known provider but another evidence type lists what it has."""
    with pytest.raises(RouteNotFound) as caught:
        resolve_service(TOPOLOGY, "urn:noots:service:991-01234ZFZR-41:Geburtsurkunde")
    assert "urn:noots:service:991-01234ZFZR-41:Fahrzeughalterauskunft" in caught.value.message


async def test_the_service_endpoint_answers_json_or_a_0006_problem(landscape: Landscape) -> None:
    """GET /rdn/v1/services/{serviceId}: 200 with the entry, 404 EDM:ERR:0006 otherwise."""
    app = create_app(
        landscape.settings(), components=("rdn",), clock=landscape.clock, topology=TOPOLOGY
    )
    async with running(app) as client:
        found = await client.get(
            "/rdn/v1/services/urn:noots:service:991-01234ZFZR-41:Fahrzeughalterauskunft"
        )
        missing = await client.get("/rdn/v1/services/urn:noots:service:nobody:Nothing")
    assert found.status_code == 200
    assert found.json()["sak"]["participantId"] == "991-01234ZFZR-41.sak"
    assert missing.status_code == 404
    assert missing.json()["code"] == "EDM:ERR:0006"
