"""Signed answers of an envelope endpoint (a provider's SAK, the VS): addressing read from
unverified bytes never fails and never produces a header the envelope refuses; every answer is
bound to the request bytes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from noots.envelope import ENV_NS, EnvelopeHeader, error_body, open_envelope, request_digest
from noots.errors import EdmCode
from noots.intermediary._envelopes import claimed_addressing, sign_answer
from tests.noots.intermediary.support import CONSUMER, VS, Landscape

DEFAULT = "urn:noots:service:noots-vs:tokens"
XML_TEXT = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff")


def envelope_bytes(sender: str, service: str, message_id: str) -> bytes:
    root = etree.Element(f"{{{ENV_NS}}}TransportEnvelope", nsmap={"env": ENV_NS})
    header = etree.SubElement(root, f"{{{ENV_NS}}}Header")
    for local, text in (("MessageId", message_id), ("Sender", sender), ("ServiceId", service)):
        etree.SubElement(header, f"{{{ENV_NS}}}{local}").text = text
    return bytes(etree.tostring(root))


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.builds(
            envelope_bytes,
            st.text(alphabet=XML_TEXT, max_size=70),
            st.text(alphabet=XML_TEXT, max_size=600),
            st.one_of(st.uuids().map(str), st.text(alphabet=XML_TEXT, max_size=40)),
        ),
    )
)
def test_claimed_addressing_always_yields_a_valid_header(raw: bytes) -> None:
    """Whatever the bytes, the addressing is usable in an answer header (no exception)."""
    addressing = claimed_addressing(raw, default_service=DEFAULT)
    EnvelopeHeader(
        message_id=uuid.uuid4(),
        sender=VS,
        recipient=addressing.recipient,
        service_id=addressing.service_id,
        created=datetime(2026, 11, 22, tzinfo=UTC),
        in_response_to=request_digest(raw),
        request_message_id=addressing.request_message_id,
    )


def test_claimed_addressing_reads_a_well_formed_header() -> None:
    """A readable header addresses the answer to its sender, service and message id."""
    message_id = uuid.uuid4()
    raw = envelope_bytes(CONSUMER, "urn:noots:service:x:y", str(message_id))
    addressing = claimed_addressing(raw, default_service=DEFAULT)
    assert (addressing.recipient, addressing.service_id, addressing.request_message_id) == (
        CONSUMER,
        "urn:noots:service:x:y",
        message_id,
    )


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=200))
def test_answers_are_signed_and_bound_to_the_request_bytes(
    landscape: Landscape, raw: bytes
) -> None:
    """An answer to any bytes verifies as the answerer's and carries their SHA-256."""
    vs = landscape.participant(VS)
    answer = sign_answer(
        vs,
        claimed_addressing(raw, default_service=DEFAULT),
        raw,
        error_body(EdmCode.INVALID_REQUEST, "not an envelope", VS),
    )
    opened = open_envelope(answer, vs.verifier)
    assert opened.signer.participant_id == VS
    assert opened.header.in_response_to == request_digest(raw)
