"""noots.xml.parse: the limits on nodes and depth, processing instructions and entities.

The quick check in C and the node-by-node walk must agree on every document: the walk alone
decides which error a refused document gets.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from noots import xml as noots_xml
from noots.errors import XmlError, XmlForbiddenConstruct, XmlTooDeep, XmlTooLarge
from noots.xml import XmlLimits, parse


def nested(depth: int) -> bytes:
    return b"<e>" * depth + b"</e>" * depth


def test_depth_at_the_limit_is_accepted_and_one_more_refused() -> None:
    """A document exactly max_depth deep parses; one level more is XmlTooDeep."""
    limits = XmlLimits(max_depth=10)
    assert parse(nested(10), limits).tag == "e"
    with pytest.raises(XmlTooDeep):
        parse(nested(11), limits)


def test_a_comment_counts_as_a_level_and_a_node() -> None:
    """A comment below the deepest element is one level deeper and one node more."""
    with pytest.raises(XmlTooDeep):
        parse(b"<a><b><!-- x --></b></a>", XmlLimits(max_depth=2))
    with pytest.raises(XmlTooLarge):
        parse(b"<a><b/><!-- x --></a>", XmlLimits(max_elements=2))
    assert parse(b"<a><b/><!-- x --></a>", XmlLimits(max_elements=3, max_depth=2)).tag == "a"


def test_node_count_at_the_limit_is_accepted_and_one_more_refused() -> None:
    """max_elements nodes (root included) parse; one more is XmlTooLarge."""
    limits = XmlLimits(max_elements=5)
    assert parse(b"<a>" + b"<b/>" * 4 + b"</a>", limits).tag == "a"
    with pytest.raises(XmlTooLarge, match="more than 5 nodes"):
        parse(b"<a>" + b"<b/>" * 5 + b"</a>", limits)


def test_processing_instruction_inside_the_root_is_refused() -> None:
    """A processing instruction anywhere below the root is XmlForbiddenConstruct."""
    with pytest.raises(XmlForbiddenConstruct, match="processing instructions"):
        parse(b"<a><b><c><?evil x?></c></b></a>")


def test_wide_documents_are_counted_without_walking_them_all() -> None:
    """A document far above the node limit is refused as too large."""
    with pytest.raises(XmlTooLarge):
        parse(b"<a>" + b"<b/>" * 60_000 + b"</a>")


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
_PARTS = st.sampled_from([b"<a>", b"</a>", b"<b/>", b"<!--c-->", b"<?p q?>", b"t", b"<c>", b"</c>"])


def _outcome(check, root: etree._Element, limits: XmlLimits) -> tuple[type, str] | None:  # type: ignore[no-untyped-def]
    try:
        check(root, limits)
    except XmlError as exc:
        return type(exc), exc.message
    return None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    body=st.lists(_PARTS, max_size=40).map(b"".join),
    depth=st.integers(0, 8),
    count=st.integers(0, 30),
)
def test_property_quick_check_and_walk_agree(body: bytes, depth: int, count: int) -> None:
    """For any document and limits, the checked shape gives the walk's answer exactly."""
    try:
        root = etree.fromstring(b"<r>" + body + b"</r>", _PARSER)
    except etree.XMLSyntaxError:
        return
    for limits in (XmlLimits(max_depth=depth, max_elements=count), XmlLimits()):
        assert _outcome(noots_xml._check_shape, root, limits) == _outcome(
            noots_xml._find_shape_error, root, limits
        )
