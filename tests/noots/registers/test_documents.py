"""Evidence documents: typed values ↔ XML, validated against the project's own schemas."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from noots.errors import MalformedMessage, QueryError, XmlForbiddenConstruct
from noots.registers.documents import (
    Address,
    Fahrzeughalterauskunft,
    Geburtsurkunde,
    Handelsregisterauszug,
    Meldebescheinigung,
    Parent,
    Representative,
    Vehicle,
    build,
    parse_document,
    render,
    schema_errors,
)

NOW = datetime(2026, 11, 22, 9, 14, 6, tzinfo=UTC)
ADDRESS = Address("Hauptstraße", "12a", "70825", "Korntal-Münchingen")

MELDE = Meldebescheinigung(
    issued_at=NOW,
    authority_name="Stadt Korntal-Münchingen, Bürgeramt",
    municipality="08118079",
    idnr="02476291358",
    family_name="Mustermann",
    birth_name="Gabler",
    given_names="Erika",
    sex="w",
    date_of_birth=date(1964, 8, 12),
    place_of_birth="Berlin",
    nationalities=("DE",),
    dwelling_status="alleinige Wohnung",
    address=ADDRESS,
    moved_in=date(2019, 3, 1),
)
GEBURT = Geburtsurkunde(
    issued_at=NOW,
    registry_office="Standesamt Berlin-Mitte",
    entry="G 1234/1964",
    idnr="02476291358",
    family_name="Gabler",
    given_names="Erika",
    sex="w",
    date_of_birth=date(1964, 8, 12),
    place_of_birth="Berlin",
    parents=(Parent("Gabler", "Hans"), Parent("Gabler", "Anna", birth_name="Schmidt")),
)
KFZ = Fahrzeughalterauskunft(
    issued_at=NOW,
    idnr="02476291358",
    family_name="Mustermann",
    given_names="Erika",
    date_of_birth=date(1964, 8, 12),
    address=ADDRESS,
    vehicles=(
        Vehicle(
            plate="LB-EM 164",
            vin="WVWZZZ1JZXW000001",
            make="Volkswagen",
            model="Golf",
            vehicle_class="M1",
            fuel="Benzin",
            first_registered=date(2018, 5, 2),
            registered_to_keeper=date(2019, 3, 15),
        ),
    ),
)
HANDEL = Handelsregisterauszug(
    issued_at=NOW,
    court="Amtsgericht Stuttgart",
    register="HRB",
    number="723456",
    firm="Mustermann Software GmbH",
    legal_form="Gesellschaft mit beschränkter Haftung",
    seat="Stuttgart",
    address=Address("Königstraße", "1", "70173", "Stuttgart"),
    first_entry=date(2012, 4, 1),
    business_object="Entwicklung und Vertrieb von Software.",
    capital=Decimal("25000.00"),
    representatives=(
        Representative("Geschäftsführerin", "Mustermann", "Erika", date(1964, 8, 12)),
    ),
)
EXAMPLES = [MELDE, GEBURT, KFZ, HANDEL]


@pytest.mark.parametrize("document", EXAMPLES, ids=lambda d: type(d).__name__)
def test_render_produces_schema_valid_xml_that_reads_back(document: object) -> None:
    """Every document kind renders to valid XML and parses back to an equal value."""
    data = render(document)  # type: ignore[arg-type]
    assert data.startswith(b"<?xml")
    assert parse_document(data) == document


@pytest.mark.parametrize("document", EXAMPLES, ids=lambda d: type(d).__name__)
def test_documents_live_in_the_project_namespaces(document: object) -> None:
    """Each document's root is in its own urn:noots:evidence:…:1 namespace, version 1."""
    root = build(document)  # type: ignore[arg-type]
    namespace = etree.QName(root).namespace or ""
    assert namespace.startswith("urn:noots:evidence:")
    assert namespace.endswith(":1")
    assert root.get("version") == "1"


def test_render_fails_closed_with_a_query_error_on_invalid_data() -> None:
    """A document the register cannot produce validly is refused with 0008, not sent."""
    with pytest.raises(QueryError) as caught:
        render(replace(MELDE, address=replace(ADDRESS, postcode="7082")))
    assert caught.value.code == "EDM:ERR:0008"


def test_vehicle_document_needs_at_least_one_vehicle() -> None:
    """A keeper without vehicles is not a valid Fahrzeughalterauskunft."""
    with pytest.raises(QueryError):
        render(replace(KFZ, vehicles=()))


def test_utc_zone_is_required_in_stand() -> None:
    """The schema refuses a Stand without the UTC zone."""
    root = build(MELDE)
    root[0].text = "2026-11-22T09:14:06"
    assert schema_errors(root)


def test_unknown_namespace_is_reported() -> None:
    """schema_errors names a root that is not an evidence document."""
    assert schema_errors(etree.Element("{urn:example}Other")) != []


def test_parse_document_refuses_hostile_xml() -> None:
    """Received documents go through the hardened parser (no DTD, no entities)."""
    hostile = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'
    with pytest.raises(XmlForbiddenConstruct):
        parse_document(hostile)


def test_parse_document_refuses_invalid_documents() -> None:
    """A document that breaks its schema is refused as malformed."""
    data = render(MELDE).replace(b"70825", b"7082")
    with pytest.raises(MalformedMessage):
        parse_document(data)


def test_example_kba_document_round_trips_through_base64() -> None:
    """The bytes survive base64 transport unchanged (how RepositoryItem carries them)."""
    data = render(KFZ)
    assert parse_document(base64.b64decode(base64.b64encode(data))) == KFZ


_text = (
    st.text(
        alphabet=st.characters(
            whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters=" -.ßäöüÄÖÜ"
        ),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)
_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 1, 1))
_instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))
_idnr = st.from_regex(r"\A[0-9]{11}\Z")
_address = st.builds(
    Address,
    street=_text,
    house_number=st.from_regex(r"\A[1-9][0-9]{0,2}[a-c]?\Z"),
    postcode=st.from_regex(r"\A[0-9]{5}\Z"),
    place=_text,
)
_sex = st.sampled_from(["m", "w", "d", "x"])


@settings(max_examples=40, deadline=None)
@given(
    st.builds(
        Meldebescheinigung,
        issued_at=_instants,
        authority_name=_text,
        municipality=st.from_regex(r"\A(0[1-9]|1[0-6])[0-9]{6}\Z"),
        idnr=_idnr,
        family_name=_text,
        given_names=_text,
        sex=_sex,
        date_of_birth=_dates,
        place_of_birth=_text,
        nationalities=st.lists(st.from_regex(r"\A[A-Z]{2}\Z"), min_size=1, max_size=3).map(tuple),
        dwelling_status=st.sampled_from(["alleinige Wohnung", "Hauptwohnung", "Nebenwohnung"]),
        address=_address,
        moved_in=_dates,
        birth_name=st.none() | _text,
    )
)
def test_meldebescheinigung_round_trip(document: Meldebescheinigung) -> None:
    """Any well-formed Meldebescheinigung renders and parses back unchanged."""
    assert parse_document(render(document)) == document


@settings(max_examples=40, deadline=None)
@given(
    st.builds(
        Handelsregisterauszug,
        issued_at=_instants,
        court=_text,
        register=st.sampled_from(["HRA", "HRB"]),
        number=st.from_regex(r"\A[1-9][0-9]{0,6}( [A-Z])?\Z"),
        firm=_text,
        legal_form=_text,
        seat=_text,
        address=_address,
        first_entry=_dates,
        business_object=st.none() | _text,
        capital=st.none() | st.decimals(min_value=0, max_value=10**9, places=2),
        representatives=st.lists(
            st.builds(
                Representative,
                role=_text,
                family_name=_text,
                given_names=_text,
                date_of_birth=st.none() | _dates,
                place_of_residence=st.none() | _text,
            ),
            max_size=3,
        ).map(tuple),
    )
)
def test_handelsregisterauszug_round_trip(document: Handelsregisterauszug) -> None:
    """Any well-formed Handelsregisterauszug renders and parses back unchanged."""
    assert parse_document(render(document)) == document


@settings(max_examples=40, deadline=None)
@given(
    st.builds(
        Geburtsurkunde,
        issued_at=_instants,
        registry_office=_text,
        entry=st.from_regex(r"\AG [1-9][0-9]{0,5}/(19|20)[0-9][0-9]\Z"),
        idnr=_idnr,
        family_name=_text,
        given_names=_text,
        sex=_sex,
        date_of_birth=_dates,
        place_of_birth=_text,
        parents=st.lists(
            st.builds(Parent, family_name=_text, given_names=_text, birth_name=st.none() | _text),
            max_size=2,
        ).map(tuple),
    )
)
def test_geburtsurkunde_round_trip(document: Geburtsurkunde) -> None:
    """Any well-formed Geburtsurkunde renders and parses back unchanged."""
    assert parse_document(render(document)) == document
