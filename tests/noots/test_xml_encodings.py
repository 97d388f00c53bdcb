"""noots.xml.parse: UTF-8 only, no DTD in any encoding, nothing external ever opened.

The attack these guard against: a document declared and encoded as UTF-16 (or any encoding
libxml2 decodes itself) slipped past an ASCII-only DOCTYPE check, and libxml2 then read the
internal subset, whose parameter entity named a file. ``/dev/zero`` froze the process; an
existing, a missing and a directory path answered differently.
"""

from __future__ import annotations

import codecs
import subprocess
import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from noots.errors import XmlError, XmlForbiddenConstruct, XmlSyntaxError, XmlTooLarge
from noots.xml import XmlLimits, parse

# The encodings libxml2 knows (its own and what iconv gives it) that Python can write too.
ENCODINGS = [
    "utf-8",
    "utf-8-sig",
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "utf-32",
    "utf-32-le",
    "utf-32-be",
    "utf-7",
    "latin-1",
    "iso-8859-2",
    "iso-8859-5",
    "iso-8859-7",
    "iso-8859-9",
    "iso-8859-15",
    "cp1252",
    "cp1251",
    "cp850",
    "koi8-r",
    "mac-roman",
    "ascii",
    "cp037",
    "cp500",
    "cp1140",
    "shift_jis",
    "euc-jp",
    "iso-2022-jp",
    "euc-kr",
    "gb2312",
    "gbk",
    "gb18030",
    "big5",
    "hz",
]

#: Paths whose existence an attacker would like to learn: an existing file, a missing one, a
#: directory, and the endless device (which must never be opened either).
PATHS = ["/etc/passwd", "/nonexistent/noots-probe", "/etc", "/dev/zero"]


def hostile(encoding: str, path: str, *, declared: str | None = None) -> bytes:
    name = declared or encoding.replace("-sig", "")
    text = (
        f'<?xml version="1.0" encoding="{name}"?>'
        f'<!DOCTYPE r [<!ENTITY % p SYSTEM "file://{path}"> %p;]><r>x</r>'
    )
    return text.encode(encoding)


def outcome(data: bytes) -> tuple[str, str]:
    try:
        parse(data)
    except XmlError as exc:
        return type(exc).__name__, exc.message
    return "accepted", ""


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_parameter_entity_document_is_refused_in_every_encoding(encoding: str) -> None:
    """The hostile document is refused in every encoding, whatever file it names."""
    for path in PATHS[:3]:
        assert outcome(hostile(encoding, path))[0] != "accepted"


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_the_answer_does_not_depend_on_whether_the_named_file_exists(encoding: str) -> None:
    """An existing file, a missing one and a directory get the very same refusal."""
    answers = {outcome(hostile(encoding, path)) for path in PATHS[:3]}
    assert len(answers) == 1


def test_the_endless_device_is_refused_at_once_in_a_separate_process() -> None:
    """The UTF-16 /dev/zero document is refused within seconds, in every encoding."""
    script = (
        "import sys; sys.path.insert(0, '.')\n"
        "from tests.noots.test_xml_encodings import ENCODINGS, hostile, outcome\n"
        "for e in ENCODINGS:\n"
        "    assert outcome(hostile(e, '/dev/zero'))[0] != 'accepted', e\n"
        "print('refused', len(ENCODINGS))\n"
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"refused {len(ENCODINGS)}"
    # Not a timing assertion on speed: a hang would have hit the 60 s timeout above.
    assert time.monotonic() - started < 60


@pytest.mark.parametrize(
    "encoding",
    [e for e in ENCODINGS if not codecs.lookup(e).name.startswith(("utf-8", "ascii"))],
)
def test_a_harmless_document_in_another_encoding_is_refused(encoding: str) -> None:
    """A well-formed document declared and encoded in anything but UTF-8 is refused."""
    text = f'<?xml version="1.0" encoding="{encoding}"?><r>Stra\u00dfe</r>'
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.replace("\u00df", "ss").encode(encoding)
    with pytest.raises(XmlError):
        parse(data)


@pytest.mark.parametrize("declared", ["UTF-8", "utf-8", "utf8", "UTF8"])
def test_utf8_declared_in_any_spelling_is_accepted(declared: str) -> None:
    """UTF-8, however the declaration spells it, parses."""
    assert parse(f'<?xml version="1.0" encoding="{declared}"?><r>ä</r>'.encode()).text == "ä"


def test_a_utf8_byte_order_mark_is_accepted() -> None:
    """UTF-8's own byte-order mark is allowed."""
    assert parse("\ufeff<r>ä</r>".encode()).text == "ä"


@pytest.mark.parametrize(
    "bom", [b"\xfe\xff", b"\xff\xfe", b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00", b"\x2b\x2f\x76"]
)
def test_a_foreign_byte_order_mark_is_refused(bom: bytes) -> None:
    """The byte-order marks of UTF-16, UTF-32 and UTF-7 are refused before parsing."""
    with pytest.raises(XmlForbiddenConstruct, match="byte-order mark"):
        parse(bom + b"<r/>")


def test_an_ascii_document_declared_latin1_is_refused() -> None:
    """A declaration naming another encoding is refused even when the bytes are ASCII."""
    with pytest.raises(XmlForbiddenConstruct, match="declaration names another encoding"):
        parse(b"<?xml version='1.0' encoding='ISO-8859-1'?><r/>")


def test_invalid_utf8_is_refused() -> None:
    """Bytes that are not UTF-8 (here Latin-1 without a declaration) are refused."""
    with pytest.raises(XmlSyntaxError, match="UTF-8"):
        parse("<r>Stra\u00dfe</r>".encode("latin-1"))


def test_xml_1_1_is_refused() -> None:
    """Only XML 1.0 is accepted."""
    with pytest.raises(XmlForbiddenConstruct, match=r"version 1\.0"):
        parse(b'<?xml version="1.1"?><r/>')


def test_a_parse_over_its_cpu_budget_fails() -> None:
    """A document that takes longer than max_parse_seconds is refused as too large."""
    big = b"<a>" + b"<b>t</b>" * 40_000 + b"</a>"
    with pytest.raises(XmlTooLarge, match="CPU time"):
        parse(big, XmlLimits(max_parse_seconds=0.0, max_elements=100_000))


def test_the_empty_document_is_a_syntax_error() -> None:
    """No bytes (or only white space) is not XML."""
    with pytest.raises(XmlSyntaxError, match="empty"):
        parse(b"  \n")


@settings(max_examples=300, deadline=None)
@given(
    encoding=st.sampled_from(ENCODINGS),
    path=st.sampled_from(PATHS[:3]),
    declared=st.sampled_from([None, "UTF-8", "UTF-16", "ISO-8859-1", "EBCDIC-US"]),
    bom=st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"]),
)
def test_property_no_dtd_document_is_ever_accepted(
    encoding: str, path: str, declared: str | None, bom: bytes
) -> None:
    """Whatever the encoding, declaration and byte-order mark, a DTD is never accepted."""
    try:
        data = bom + hostile(encoding, path, declared=declared)
    except UnicodeEncodeError:
        return
    assert outcome(data)[0] != "accepted"
