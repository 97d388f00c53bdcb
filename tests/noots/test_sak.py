"""noots.sak: the provider API's metadata headers, read back exactly and refused when broken."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from noots.errors import InvalidInput
from noots.sak import Header, ProviderMetadata, decode_value, encode_value

PARTICIPANTS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.:_-]{0,63}", fullmatch=True)
LINES = (
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=80)
    .map(str.strip)
    .filter(bool)
)


def _metadata(**changes: object) -> ProviderMetadata:
    values: dict[str, object] = {
        "consumer": "08118079-BPA-87",
        "purpose": "Bewohnerparkausweis",
        "service_id": "urn:noots:service:991-01234ZFZR-41:Fahrzeughalterauskunft",
        "message_id": uuid.uuid4(),
        "vs_token_required": False,
    }
    values.update(changes)
    return ProviderMetadata(**values)  # type: ignore[arg-type]


@given(
    consumer=PARTICIPANTS,
    purpose=LINES,
    service_id=st.from_regex(r"[!-~]{1,100}", fullmatch=True),
    message_id=st.uuids(),
    required=st.booleans(),
    delivery=st.none() | st.uuids(),
)
def test_property_metadata_survives_headers(
    consumer: str,
    purpose: str,
    service_id: str,
    message_id: uuid.UUID,
    required: bool,
    delivery: uuid.UUID | None,
) -> None:
    """Whatever metadata is written as headers is read back identical (HTTP-safe values)."""
    sent = ProviderMetadata(consumer, purpose, service_id, message_id, required, delivery)
    headers = sent.headers()
    assert all(value.isascii() for value in headers.values())
    assert ProviderMetadata.from_headers(headers) == sent


def test_a_german_purpose_is_percent_encoded() -> None:
    """Umlauts travel as percent-encoded UTF-8."""
    headers = _metadata(purpose="Anerkennung ausländischer Abschlüsse").headers()
    assert headers[Header.PURPOSE] == "Anerkennung ausl%C3%A4ndischer Abschl%C3%BCsse"
    assert decode_value(headers[Header.PURPOSE]) == "Anerkennung ausländischer Abschlüsse"


@pytest.mark.parametrize(
    "header", [Header.CONSUMER, Header.PURPOSE, Header.SERVICE_ID, Header.MESSAGE_ID]
)
def test_a_missing_header_is_refused(header: str) -> None:
    """Each of the four headers is required."""
    headers = _metadata().headers()
    del headers[header]
    with pytest.raises(InvalidInput, match=header):
        ProviderMetadata.from_headers(headers)


@pytest.mark.parametrize(
    ("header", "value"),
    [
        (Header.CONSUMER, "bad id!"),
        (Header.MESSAGE_ID, "no-uuid"),
        (Header.VS_TOKEN_REQUIRED, "yes"),
        (Header.PURPOSE, "%FF%FE"),
        (Header.PURPOSE, "two%0Alines"),
        (Header.DELIVERY_ID, "x"),
    ],
)
def test_a_malformed_header_is_refused(header: str, value: str) -> None:
    """A value of the wrong shape is InvalidInput naming the header, never echoing it."""
    headers = {**_metadata().headers(), header: value}
    with pytest.raises(InvalidInput) as refused:
        ProviderMetadata.from_headers(headers)
    assert value not in refused.value.message


@given(st.text(max_size=60))
def test_property_encoding_round_trips(text: str) -> None:
    """encode_value then decode_value is the identity for any text."""
    encoded = encode_value(text)
    assert encoded.isascii()
    assert decode_value(encoded) == text
