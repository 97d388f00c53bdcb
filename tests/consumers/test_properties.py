"""Property tests of the client's parsers: whatever arrives, a typed error or a checked value."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers import AsyncClient, company
from consumers._platform import read_rdn_answer
from noots.errors import InvalidInput, NootsError
from noots.testing.pki import TestPki
from tests.consumers.fake_platform import (
    CONSUMER,
    HUB,
    PROVIDER,
    make_client,
    make_pki,
    make_platform,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(status=st.sampled_from([200, 404, 500, 502]), value=json_values)
@settings(max_examples=150)
def test_rdn_answer_is_a_route_or_a_typed_error(status: int, value: object) -> None:
    """Any JSON (or garbage) from the RDN yields a Route or a NootsError, nothing else."""
    for content in (json.dumps(value).encode(), json.dumps(value).encode()[:-1]):
        try:
            route = read_rdn_answer(status, content, "Meldebescheinigung")
        except NootsError:
            continue
        assert status < 400
        assert route.provider
        assert route.service_id


def test_rdn_services_entry_is_read() -> None:
    """A well-formed single-service answer gives that provider and service id."""
    body = {"services": [{"participantId": "p-1", "name": "P", "serviceId": "urn:s"}]}
    route = read_rdn_answer(200, json.dumps(body).encode(), "X")
    assert (route.provider, route.provider_name, route.service_id) == ("p-1", "P", "urn:s")


@given(
    scheme=st.sampled_from(["HRA", "HRB", "hrb"]),
    number=st.integers(min_value=1, max_value=999_999),
    court=st.none() | st.sampled_from(["Amtsgericht München", "Amtsgericht Köln"]),
)
@settings(max_examples=100)
def test_company_register_numbers_normalise(scheme: str, number: int, court: str | None) -> None:
    """'[court] HRx n' becomes a LegalIdentifier with the scheme and a normalised value."""
    text = f"{court} {scheme}  {number}" if court else f"{scheme}{number}"
    subject = company("  Beispiel  GmbH ", text)
    (identifier,) = subject.identifiers
    assert identifier.scheme == scheme.upper()
    expected = f"{scheme.upper()} {number}"
    assert identifier.value == (f"{court} {expected}" if court else expected)
    assert subject.legal_name == "Beispiel GmbH"


@pytest.mark.parametrize("text", ["12345", "HRC 1", "", "HRB"])
def test_company_without_register_number_is_refused(text: str) -> None:
    """Without 'HRA n' or 'HRB n' no company subject is made."""
    with pytest.raises(InvalidInput):
        company("Beispiel GmbH", text)


@pytest.fixture(scope="module")
def pki() -> Iterator[TestPki]:
    pki = make_pki()
    yield pki
    pki.close()


@pytest.fixture(scope="module")
def client(pki: TestPki) -> AsyncClient:
    return make_client(make_platform(pki))


@given(raw=st.binary(max_size=400), status=st.sampled_from([200, 400, 502]))
@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_bytes_as_answer_are_refused_with_a_typed_error(
    client: AsyncClient, raw: bytes, status: int
) -> None:
    """DC-05: arbitrary bytes never pass as an answer and never raise an untyped exception."""
    with pytest.raises(NootsError):
        client._open_answer(
            raw, b"request", status, allowed={PROVIDER, HUB}, sent_id=uuid.uuid4(), peer=HUB
        )


def test_component_of_own_refusals_is_the_consumer(client: AsyncClient) -> None:
    """A refused answer names the consumer as the component that found the problem."""
    with pytest.raises(NootsError) as caught:
        client._open_answer(
            b"<env:TransportEnvelope xmlns:env='urn:noots:transport:1'/>",
            b"request",
            200,
            allowed={PROVIDER},
            sent_id=uuid.uuid4(),
            peer=HUB,
        )
    assert caught.value.component == CONSUMER
