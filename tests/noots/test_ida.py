"""noots.ida: the IDA look-up messages build, validate and parse back."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from noots import ida
from noots.errors import MalformedMessage

_names = st.from_regex(r"\A[A-Za-zÄÖÜäöüß][A-Za-zÄÖÜäöüß' -]{0,30}[A-Za-zäöüß]\Z")
_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 1, 1))
_postcodes = st.from_regex(r"\A[0-9]{5}\Z")
_idnrs = st.from_regex(r"\A[0-9]{11}\Z")
_queries = st.one_of(
    st.builds(ida.ByAddress, _names, _dates, _postcodes, _names),
    st.builds(ida.ByName, _names, _names, _dates),
    st.builds(ida.ByIdnr, _idnrs, _dates),
)
_results = st.builds(
    ida.LookupResult,
    _idnrs,
    st.none()
    | st.builds(
        ida.BasicData,
        family_name=_names,
        given_names=_names,
        date_of_birth=_dates,
        place_of_birth=_names,
        sex=st.sampled_from(["m", "w", "d", "x"]),
        address=st.builds(
            ida.PostalAddress,
            _names,
            st.from_regex(r"\A[1-9][0-9]{0,2}[a-c]?\Z"),
            _postcodes,
            _names,
        ),
        birth_name=st.none() | _names,
    ),
)


@settings(max_examples=100, deadline=None)
@given(_queries)
def test_query_round_trip(query: ida.LookupQuery) -> None:
    """Every query builds into a schema-valid element that parses back unchanged."""
    element = etree.fromstring(etree.tostring(ida.build_query(query)))
    assert ida.parse_query(element) == query


@settings(max_examples=100, deadline=None)
@given(_results)
def test_result_round_trip(result: ida.LookupResult) -> None:
    """Every result builds into a schema-valid element that parses back unchanged."""
    element = etree.fromstring(etree.tostring(ida.build_result(result)))
    assert ida.parse_result(element) == result


def test_a_query_with_two_forms_is_malformed() -> None:
    """The schema allows exactly one query form."""
    element = ida.build_query(ida.ByName("Mustermann", "Erika", date(1964, 8, 12)))
    element.append(ida.build_query(ida.ByIdnr("02476291358", date(1964, 8, 12)))[0])
    with pytest.raises(MalformedMessage):
        ida.parse_query(element)


def test_other_elements_are_not_queries() -> None:
    """A result is not a request and vice versa."""
    with pytest.raises(MalformedMessage):
        ida.parse_query(ida.build_result(ida.LookupResult("02476291358")))
    with pytest.raises(MalformedMessage):
        ida.parse_result(ida.build_query(ida.ByIdnr("02476291358", date(1964, 8, 12))))


@pytest.mark.parametrize(
    "make",
    [
        lambda: ida.ByName(" Mustermann", "Erika", date(1964, 8, 12)),
        lambda: ida.ByAddress("Mustermann", date(1964, 8, 12), "7082", "Ort"),
        lambda: ida.ByIdnr("0247629135", date(1964, 8, 12)),
    ],
)
def test_invalid_values_are_refused_on_construction(make: object) -> None:
    """Values the schema would refuse cannot be built."""
    with pytest.raises(MalformedMessage):
        make()  # type: ignore[operator]


def test_service_id() -> None:
    """The IDA's service id follows the urn:noots:service scheme."""
    assert ida.service_id("noots-ida") == "urn:noots:service:noots-ida:lookup"
