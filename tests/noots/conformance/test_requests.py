"""noots.conformance.requests: reading an envelope's parts without verifying them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from lxml import etree

from noots.conformance.requests import unverified_parts
from noots.envelope import EnvelopeHeader, build_envelope
from noots.xml import serialize

HEADER = EnvelopeHeader(
    message_id=uuid.uuid4(),
    sender="08118079-BPA-87",
    recipient="991-01234ZFZR-41",
    service_id="urn:noots:service:991-01234ZFZR-41:Fahrzeughalterauskunft",
    created=datetime(2026, 11, 22, 8, 0, tzinfo=UTC),
    purpose="Bewohnerparkausweis",
)


def test_an_unsigned_envelope_gives_its_header_and_message() -> None:
    """No signature is needed: the header and the one message come back as written."""
    raw = serialize(build_envelope(HEADER, etree.Element("{urn:example:test}Message")))
    parts = unverified_parts(raw)
    assert parts is not None
    header, message = parts
    assert header == HEADER
    assert message.tag == "{urn:example:test}Message"


def test_anything_not_shaped_like_an_envelope_gives_none() -> None:
    """Not XML, another document, or an envelope without its message: None, no exception."""
    envelope = build_envelope(HEADER, etree.Element("{urn:example:test}Message"))
    body = envelope[-1]
    body.remove(body[0])
    for raw in (b"not xml", b"<other/>", serialize(envelope)):
        assert unverified_parts(raw) is None
