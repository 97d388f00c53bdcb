"""Fuzzing noots.xml.parse: arbitrary and mutated bytes give an element or a typed XmlError."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from noots import messages
from noots.clock import ManualClock
from noots.errors import XmlError
from noots.testing.corpus import message_seeds
from noots.testing.mutations import INTERESTING_TOKENS, hypothesis_chooser, mutate_bytes
from noots.xml import XmlLimits, parse

fuzz = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEEDS = [messages.to_bytes(m) for m in message_seeds(ManualClock())]
SMALL = XmlLimits(max_bytes=4096, max_depth=8, max_elements=64)


def parse_or_refuse(data: bytes, limits: XmlLimits | None = None) -> etree._Element | None:
    """The parser's answer: an element, or None for a typed refusal; anything else escapes."""
    try:
        return parse(data) if limits is None else parse(data, limits)
    except XmlError:
        return None


@fuzz
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_give_an_element_or_an_xml_error(data: bytes) -> None:
    """Random bytes never crash the parser."""
    root = parse_or_refuse(data)
    assert root is None or isinstance(root.tag, str)


@fuzz
@given(st.lists(st.sampled_from([*INTERESTING_TOKENS, b"<a>", b"</a>", b"text"]), max_size=40))
def test_xml_shaped_noise_gives_an_element_or_an_xml_error(parts: list[bytes]) -> None:
    """Sequences of XML syntax fragments never crash the parser."""
    parse_or_refuse(b"".join(parts))


@fuzz
@given(st.sampled_from(SEEDS), st.data())
def test_mutated_messages_give_an_element_or_an_xml_error(seed: bytes, data: st.DataObject) -> None:
    """Byte-level mutations of valid XNachweis messages never crash the parser."""
    mutated = mutate_bytes(seed, hypothesis_chooser(data), rounds=data.draw(st.integers(1, 4)))
    root = parse_or_refuse(mutated)
    if root is not None:
        # Whatever it accepts obeys the limits and carries no DTD or entity.
        assert root.getroottree().docinfo.internalDTD is None
        assert not any(isinstance(node, etree._Entity) for node in root.iter())


@fuzz
@given(st.sampled_from(SEEDS), st.data())
def test_tight_limits_are_enforced_on_mutated_messages(seed: bytes, data: st.DataObject) -> None:
    """With small limits every accepted document is within them."""
    mutated = mutate_bytes(seed[:4000], hypothesis_chooser(data), rounds=2)
    root = parse_or_refuse(mutated, SMALL)
    if root is not None:
        assert len(mutated) <= SMALL.max_bytes
        assert sum(1 for _ in root.iter()) <= SMALL.max_elements


def test_processing_instructions_outside_the_root_are_refused() -> None:
    """A processing instruction next to the root element is refused like one inside it."""
    with pytest.raises(XmlError):
        parse(b'<?xml-stylesheet href="http://127.0.0.1:9/x.xsl"?><a/>')
    with pytest.raises(XmlError):
        parse(b"<a/><?trailing pi?>")
