"""Fuzzing noots.messages.parse: mutated messages give a message or MalformedMessage."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from noots import messages
from noots.clock import ManualClock
from noots.errors import MalformedMessage, XmlError
from noots.testing.corpus import message_seeds
from noots.testing.mutations import hypothesis_chooser, mutate_bytes, mutate_tree
from noots.xml import parse

fuzz = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEEDS = [messages.build(m) for m in message_seeds(ManualClock())]
SEED_BYTES = [etree.tostring(seed) for seed in SEEDS]


def parse_or_refuse(element: etree._Element) -> messages.Message | None:
    try:
        return messages.parse(element)
    except MalformedMessage as error:
        refusal = error
    assert refusal.message
    return None


@fuzz
@given(st.sampled_from(SEEDS), st.data())
def test_structurally_mutated_messages_parse_or_are_refused(
    seed: etree._Element, data: st.DataObject
) -> None:
    """Removed, duplicated, moved, renamed elements and odd texts: a message or
    MalformedMessage, never another exception."""
    rounds = data.draw(st.integers(1, 3))
    mutated = mutate_tree(seed, hypothesis_chooser(data), rounds=rounds)
    message = parse_or_refuse(mutated)
    if message is not None:
        # What parses must build again: the model never holds what it cannot write.
        messages.build(message)


@fuzz
@given(st.sampled_from(SEED_BYTES), st.data())
def test_byte_mutated_messages_parse_or_are_refused(seed: bytes, data: st.DataObject) -> None:
    """Bytes as they come off the wire: the XML parser or the message parser refuses."""
    mutated = mutate_bytes(seed, hypothesis_chooser(data), rounds=data.draw(st.integers(1, 3)))
    try:
        element = parse(mutated)
    except XmlError:
        return
    parse_or_refuse(element)


def test_the_seeds_parse() -> None:
    """The fuzzers start from valid messages of every type."""
    kinds = {type(messages.parse(seed)).__name__ for seed in SEEDS}
    assert kinds == {"EvidenceRequest", "EvidenceResponse", "EvidenceErrorResponse"}
