"""Tests of noots.envelope: the signed transport envelope, binding and replay protection."""

from __future__ import annotations

import hashlib
import re
import threading
import uuid
from collections.abc import Iterator
from copy import deepcopy
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from noots import envelope
from noots.clock import ManualClock
from noots.envelope import (
    ENV_NS,
    EnvelopeHeader,
    ReplayGuard,
    build_envelope,
    check_binding,
    error_body,
    open_envelope,
    parse_error_body,
    request_digest,
    seal,
)
from noots.errors import (
    CertificateUntrusted,
    EdmCode,
    MalformedMessage,
    ReplayDetected,
    ResponseBindingError,
    SenderMismatch,
    SignatureError,
    SignatureInvalid,
    SignatureMissing,
    SignatureWrapping,
    StaleMessage,
    WrongKeyUsage,
    XmlForbiddenConstruct,
)
from noots.paths import PROJECT_ROOT, XSD_DIR
from noots.pki import KeyType, Role
from noots.signing import DS_NS
from noots.testing.pki import TestPki
from noots.xml import parse, serialize

CONSUMER = "08118079-BPA-87"
PROVIDER = "991-01234ZFZR-41"
SERVICE = f"urn:noots:service:{PROVIDER}:Fahrzeughalterauskunft"
T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def q(local: str) -> str:
    return f"{{{ENV_NS}}}{local}"


@pytest.fixture(scope="module")
def pki() -> Iterator[TestPki]:
    with TestPki(clock=ManualClock(T0)) as test_pki:
        test_pki.credential(CONSUMER, Role.CONSUMER)
        test_pki.credential(PROVIDER, Role.PROVIDER)
        yield test_pki


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_DIR / "noots-transport-1.xsd")))


def header(**changes: object) -> EnvelopeHeader:
    values: dict[str, object] = {
        "message_id": uuid.UUID("9b0b0f5e-5b9c-4c55-9b4e-0c6f1a2b3c4d"),
        "sender": CONSUMER,
        "recipient": PROVIDER,
        "service_id": SERVICE,
        "created": T0,
        "purpose": "Bewohnerparkausweis",
    }
    values.update(changes)
    return EnvelopeHeader(**values)  # type: ignore[arg-type]


def message(text: str = "Hallo") -> etree._Element:
    element = etree.Element("{urn:example:message}Message", nsmap={"m": "urn:example:message"})
    etree.SubElement(element, "code").text = text  # no namespace, like XNachweis <code>
    return element


def sealed(pki: TestPki, head: EnvelopeHeader | None = None, signer: str = CONSUMER) -> bytes:
    role = Role.CONSUMER if signer == CONSUMER else Role.PROVIDER
    return seal(head or header(), message(), pki.signer(signer, role))


# --------------------------------------------------------------------------------------------
# Building and the schema


def test_build_envelope_writes_header_in_protocol_order(schema: etree.XMLSchema) -> None:
    """The header elements come in the documented order and the result is schema-valid."""
    head = header(
        in_response_to="ab" * 32,
        request_message_id=uuid.UUID("0b0b0f5e-5b9c-4c55-9b4e-0c6f1a2b3c4d"),
    )
    root = build_envelope(head, message())
    assert [etree.QName(child).localname for child in root[0]] == [
        "MessageId",
        "Sender",
        "Recipient",
        "ServiceId",
        "Created",
        "Purpose",
        "InResponseTo",
        "RequestMessageId",
    ]
    assert root[0].findtext(q("Created")) == "2026-11-22T09:00:00.000Z"
    assert root.get("version") == "1"
    schema.assertValid(root)


def test_build_envelope_exact_bytes() -> None:
    """The unsigned envelope serialises to exactly the bytes documented in PROTOCOL.md."""
    root = build_envelope(header(purpose=None, service_id="urn:x"), message("ok"))
    assert serialize(root) == (
        b"<?xml version='1.0' encoding='UTF-8'?>\n"
        b'<env:TransportEnvelope xmlns:env="urn:noots:transport:1" version="1"><env:Header>'
        b"<env:MessageId>9b0b0f5e-5b9c-4c55-9b4e-0c6f1a2b3c4d</env:MessageId>"
        b"<env:Sender>08118079-BPA-87</env:Sender><env:Recipient>991-01234ZFZR-41</env:Recipient>"
        b"<env:ServiceId>urn:x</env:ServiceId><env:Created>2026-11-22T09:00:00.000Z</env:Created>"
        b'</env:Header><env:Body><m:Message xmlns:m="urn:example:message"><code>ok</code>'
        b"</m:Message></env:Body></env:TransportEnvelope>"
    )


def test_sealed_envelope_is_schema_valid(pki: TestPki, schema: etree.XMLSchema) -> None:
    """A sealed envelope (with its ds:Signature as last child) validates against the schema."""
    root = parse(sealed(pki))
    assert root[-1].tag == f"{{{DS_NS}}}Signature"
    schema.assertValid(root)


def test_error_body_is_schema_valid(schema: etree.XMLSchema) -> None:
    """An env:Error body inside an envelope is validated by the schema (lax body)."""
    root = build_envelope(header(), error_body(EdmCode.AUTHORISATION, "refused", "noots-vs"))
    schema.assertValid(root)
    root[1][0][0].text = "EDM:ERR:0009"
    assert not schema.validate(root)


def test_schema_refuses_second_body_and_two_messages(schema: etree.XMLSchema) -> None:
    """The schema allows exactly one Body holding exactly one message."""
    root = build_envelope(header(), message())
    two_messages = deepcopy(root)
    two_messages[1].append(message())
    two_bodies = deepcopy(root)
    two_bodies.append(deepcopy(root[1]))
    empty_body = deepcopy(root)
    empty_body[1].remove(empty_body[1][0])
    for broken in (two_messages, two_bodies, empty_body):
        assert not schema.validate(broken)


def test_schema_refuses_time_without_zone(schema: etree.XMLSchema) -> None:
    """A Created without a time zone is not schema-valid."""
    root = build_envelope(header(), message())
    root[0].find(q("Created")).text = "2026-11-22T09:00:00"
    assert not schema.validate(root)
    root[0].find(q("Created")).text = "2026-11-22T10:00:00+01:00"
    assert schema.validate(root)


def test_schema_imports_nothing() -> None:
    """The schema is self-contained: no import, include or redefine of other schema files."""
    document = etree.parse(str(XSD_DIR / "noots-transport-1.xsd"))
    xs = "{http://www.w3.org/2001/XMLSchema}"
    assert not [e for e in document.iter() if e.tag in {xs + "import", xs + "include"}]


def test_build_envelope_leaves_a_nested_body_in_place() -> None:
    """A body element that sits inside another tree is copied, not moved."""
    container = etree.Element("container")
    body = etree.SubElement(container, "{urn:example:message}Message")
    before = etree.tostring(container)
    root = build_envelope(header(), body)
    assert etree.tostring(container) == before
    assert root[1][0] is not body


def test_header_refuses_invalid_values() -> None:
    """The header refuses values the wire cannot carry or the schema would refuse."""
    bad: list[dict[str, object]] = [
        {"created": datetime(2026, 11, 22, 9, 0)},
        {"sender": "bad sender"},
        {"recipient": "-leading-dash"},
        {"service_id": "has space"},
        {"service_id": ""},
        {"purpose": "two\nlines"},
        {"purpose": " padded"},
        {"purpose": ""},
        {"in_response_to": "AB" * 32},
        {"in_response_to": "ab" * 31},
        {"message_id": "9b0b0f5e-5b9c-4c55-9b4e-0c6f1a2b3c4d"},
    ]
    for change in bad:
        with pytest.raises(MalformedMessage):
            header(**change)


def test_header_normalises_created_to_utc_milliseconds() -> None:
    """Created is kept in UTC at millisecond precision, what the wire carries."""
    local = datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=UTC).astimezone(
        timezone(timedelta(hours=1))
    )
    assert header(created=local).created == datetime(2026, 11, 22, 10, 0, 0, 123000, tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# Sealing and opening

participant_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.:_-]{0,63}", fullmatch=True)
# One line of text as the schema's single-line types take it: no control characters (which
# include CR, LF, tab), no white space at either end.
lines = (
    st.text(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
        min_size=1,
        max_size=60,
    )
    .map(str.strip)
    .filter(bool)
)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2099, 12, 31),
    timezones=st.just(UTC),
)
xml_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    max_size=60,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    message_id=st.uuids(),
    recipient=participant_ids,
    service_id=st.from_regex(r"[!-~]{1,80}", fullmatch=True),
    created=instants,
    purpose=st.none() | lines,
    in_response_to=st.none() | st.binary(min_size=1).map(lambda b: hashlib.sha256(b).hexdigest()),
    request_message_id=st.none() | st.uuids(),
    on_behalf_of=st.none() | participant_ids,
    text=xml_text,
    signer=st.sampled_from([CONSUMER, PROVIDER]),
)
def test_seal_open_round_trip(
    pki: TestPki,
    schema: etree.XMLSchema,
    message_id: uuid.UUID,
    recipient: str,
    service_id: str,
    created: datetime,
    purpose: str | None,
    in_response_to: str | None,
    request_message_id: uuid.UUID | None,
    on_behalf_of: str | None,
    text: str,
    signer: str,
) -> None:
    """Whatever header and body text is sealed is schema-valid and comes back identical."""
    head = EnvelopeHeader(
        message_id=message_id,
        sender=signer,
        recipient=recipient,
        service_id=service_id,
        created=created,
        purpose=purpose,
        in_response_to=in_response_to,
        request_message_id=request_message_id,
        on_behalf_of=on_behalf_of,
    )
    role = Role.CONSUMER if signer == CONSUMER else Role.PROVIDER
    raw = seal(head, message(text), pki.signer(signer, role))
    schema.assertValid(parse(raw))
    opened = open_envelope(raw, pki.verifier(), required_role=role)
    assert opened.header == head
    assert opened.body.tag == "{urn:example:message}Message"
    assert opened.body.findtext("code") == text
    assert opened.signer.participant_id == signer
    assert opened.raw == raw
    assert opened.digest == hashlib.sha256(raw).hexdigest()


def test_on_behalf_of_follows_the_sender(pki: TestPki) -> None:
    """OnBehalfOf is written right after Sender and read back; a bad id is refused."""
    head = EnvelopeHeader(
        message_id=uuid.uuid4(),
        sender=CONSUMER,
        on_behalf_of="08118079-BPA-87",
        recipient=PROVIDER,
        service_id="urn:noots:service:x:y",
        created=pki.clock.now(),
    )
    raw = seal(head, message("x"), pki.signer(CONSUMER, Role.CONSUMER))
    assert b"</env:Sender><env:OnBehalfOf>08118079-BPA-87</env:OnBehalfOf><env:Recipient>" in raw
    assert open_envelope(raw, pki.verifier()).header.on_behalf_of == "08118079-BPA-87"
    with pytest.raises(MalformedMessage):
        EnvelopeHeader(
            message_id=uuid.uuid4(),
            sender=CONSUMER,
            on_behalf_of="not an id",
            recipient=PROVIDER,
            service_id="s",
            created=pki.clock.now(),
        )


def test_open_reads_the_signed_element(pki: TestPki) -> None:
    """The body returned is taken from the element the verifier returned as signed."""
    raw = sealed(pki)
    opened = open_envelope(raw, pki.verifier())
    received = parse(raw)
    assert opened.body.getroottree().getroot() is not received


def test_open_refuses_sender_mismatch(pki: TestPki) -> None:
    """An envelope whose Sender is not the signer's participant id is refused."""
    raw = seal(header(sender=PROVIDER), message(), pki.signer(CONSUMER, Role.CONSUMER))
    with pytest.raises(SenderMismatch):
        open_envelope(raw, pki.verifier())


def test_open_refuses_wrong_role(pki: TestPki) -> None:
    """With required_role the signer's certificate must carry that role."""
    with pytest.raises(WrongKeyUsage):
        open_envelope(sealed(pki), pki.verifier(), required_role=Role.PROVIDER)


def test_open_refuses_foreign_ca(pki: TestPki) -> None:
    """An envelope signed under another CA is refused as untrusted."""
    with TestPki(clock=ManualClock(T0)) as other:
        raw = seal(header(), message(), other.signer(CONSUMER, Role.CONSUMER))
    with pytest.raises(CertificateUntrusted):
        open_envelope(raw, pki.verifier())


def test_open_refuses_unsigned(pki: TestPki) -> None:
    """An envelope without signature is refused."""
    with pytest.raises(SignatureMissing):
        open_envelope(serialize(build_envelope(header(), message())), pki.verifier())


def test_open_refuses_hostile_xml(pki: TestPki) -> None:
    """A DTD is refused by the hardened parser before anything else."""
    raw = (
        b'<!DOCTYPE x [<!ENTITY e "boom">]>'
        b'<env:TransportEnvelope xmlns:env="urn:noots:transport:1"/>'
    )
    with pytest.raises(XmlForbiddenConstruct):
        open_envelope(raw, pki.verifier())


def test_open_refuses_other_root(pki: TestPki) -> None:
    """A signed document that is not an envelope is refused as malformed."""
    raw = serialize(pki.signer(CONSUMER, Role.CONSUMER).sign(message()))
    with pytest.raises(MalformedMessage):
        open_envelope(raw, pki.verifier())


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (f"<env:Recipient>{PROVIDER}</env:Recipient>", "<env:Recipient>991-0FAKE</env:Recipient>"),
        ("<env:Purpose>Bewohnerparkausweis</env:Purpose>", "<env:Purpose>Anything</env:Purpose>"),
        ("<code>Hallo</code>", "<code>Hallo!</code>"),
        ('version="1"', 'version="2"'),
    ],
)
def test_open_refuses_tampering(pki: TestPki, old: str, new: str) -> None:
    """Any change of header or body after signing breaks the signature."""
    raw = sealed(pki)
    assert raw.count(old.encode()) == 1
    with pytest.raises(SignatureInvalid):
        open_envelope(raw.replace(old.encode(), new.encode()), pki.verifier())


def test_open_accepts_insignificant_reformatting(pki: TestPki) -> None:
    """Changes C14N removes (space in a tag, quote style) keep the signature valid."""
    raw = sealed(pki)
    reformatted = raw.replace(b'version="1">', b"version='1' >")
    assert reformatted != raw
    assert open_envelope(reformatted, pki.verifier()).header == header()


def _forged_body(text: str = "forged") -> etree._Element:
    body = etree.Element(q("Body"))
    body.append(message(text))
    return body


def test_wrapping_body_moved_into_wrapper(pki: TestPki) -> None:
    """Moving the signed Body into a wrapper and putting a forged Body in its place fails."""
    root = parse(sealed(pki))
    original = root[1]
    wrapper = etree.Element(q("Wrapper"))
    root.replace(original, _forged_body())
    wrapper.append(original)
    root.insert(0, wrapper)
    with pytest.raises(SignatureError):
        open_envelope(serialize(root), pki.verifier())


def test_wrapping_second_body(pki: TestPki) -> None:
    """A second Body added to a signed envelope (before or after the first) is refused."""
    for position in (1, 2):
        root = parse(sealed(pki))
        root.insert(position, _forged_body())
        with pytest.raises(SignatureError):
            open_envelope(serialize(root), pki.verifier())


def test_wrapping_signed_envelope_inside_forged_one(pki: TestPki) -> None:
    """A forged envelope carrying the genuine signed one (and its signature) inside is refused."""
    genuine = parse(sealed(pki))
    forged = build_envelope(header(recipient="991-0FAKE"), message("forged"))
    forged[1].append(genuine)
    with pytest.raises(SignatureWrapping):
        open_envelope(serialize(forged), pki.verifier())
    # The genuine signature moved onto the forged root does not verify either.
    forged = build_envelope(header(recipient="991-0FAKE"), message("forged"))
    forged.append(genuine[-1])
    with pytest.raises(SignatureInvalid):
        open_envelope(serialize(forged), pki.verifier())


def test_validly_signed_but_malformed_envelope(pki: TestPki) -> None:
    """A participant signing an envelope with two Bodies gets a schema refusal, not a read."""
    root = build_envelope(header(), message())
    root.append(_forged_body())
    raw = serialize(pki.signer(CONSUMER, Role.CONSUMER).sign(root))
    with pytest.raises(MalformedMessage, match=r"noots-transport-1\.xsd"):
        open_envelope(raw, pki.verifier())


def test_validly_signed_created_without_zone(pki: TestPki) -> None:
    """A signed envelope whose Created has no time zone is refused as malformed."""
    root = build_envelope(header(), message())
    root[0].find(q("Created")).text = "2026-11-22T09:00:00"
    raw = serialize(pki.signer(CONSUMER, Role.CONSUMER).sign(root))
    with pytest.raises(MalformedMessage):
        open_envelope(raw, pki.verifier())


def test_open_with_xml_limits(pki: TestPki) -> None:
    """The XML limits passed to open_envelope apply to the raw bytes."""
    from noots.errors import XmlTooLarge
    from noots.xml import XmlLimits

    with pytest.raises(XmlTooLarge):
        open_envelope(sealed(pki), pki.verifier(), limits=XmlLimits(max_bytes=1000))


# --------------------------------------------------------------------------------------------
# Binding


def test_check_binding_accepts_the_answer_to_its_request(pki: TestPki) -> None:
    """A response whose InResponseTo is the digest of the request bytes is accepted."""
    request_raw = sealed(pki)
    response_header = header(
        message_id=uuid.uuid4(),
        sender=PROVIDER,
        recipient=CONSUMER,
        purpose=None,
        in_response_to=request_digest(request_raw),
    )
    response = open_envelope(sealed(pki, response_header, PROVIDER), pki.verifier())
    check_binding(response, request_raw)


def test_check_binding_refuses_other_request(pki: TestPki) -> None:
    """A response bound to other bytes, or to none, is refused."""
    request_raw = sealed(pki)
    other_raw = sealed(pki, header(message_id=uuid.uuid4()))
    assert request_digest(other_raw) != request_digest(request_raw)
    for bound_to in (request_digest(other_raw), None):
        response_header = header(
            sender=PROVIDER, recipient=CONSUMER, purpose=None, in_response_to=bound_to
        )
        response = open_envelope(sealed(pki, response_header, PROVIDER), pki.verifier())
        with pytest.raises(ResponseBindingError):
            check_binding(response, request_raw)


def test_request_digest_is_sha256_of_exact_bytes() -> None:
    """request_digest is the SHA-256 hex of the bytes as given (no parsing, no normalisation)."""
    raw = b"<a>x</a>"
    assert request_digest(raw) == hashlib.sha256(raw).hexdigest()
    assert request_digest(raw + b"\n") != request_digest(raw)


# --------------------------------------------------------------------------------------------
# Error body


@settings(max_examples=100, deadline=None)
@given(
    code=st.sampled_from(list(EdmCode)),
    detail=st.text(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
        max_size=200,
    ),
    component=participant_ids,
)
def test_error_body_round_trip(code: EdmCode, detail: str, component: str) -> None:
    """error_body and parse_error_body are inverse, also after serialising and parsing."""
    element = parse(serialize(error_body(code, detail, component)))
    assert parse_error_body(element) == (code, detail, component)


def test_parse_error_body_refuses_other_elements() -> None:
    """Anything but a valid env:Error is refused as malformed."""
    with pytest.raises(MalformedMessage):
        parse_error_body(message())
    broken = error_body(EdmCode.NOT_FOUND, "x", "noots-ida")
    broken.remove(broken[2])
    with pytest.raises(MalformedMessage):
        parse_error_body(broken)


# --------------------------------------------------------------------------------------------
# Replay guard


def _guard(clock: ManualClock, **kwargs: object) -> ReplayGuard:
    return ReplayGuard(clock, **kwargs)  # type: ignore[arg-type]


def test_replay_guard_accepts_fresh_and_refuses_replay() -> None:
    """A fresh envelope is accepted once; the same message id again is a replay."""
    clock = ManualClock(T0)
    guard = _guard(clock)
    guard.check(header())
    with pytest.raises(ReplayDetected):
        guard.check(header())
    clock.advance(timedelta(seconds=299))
    with pytest.raises(ReplayDetected):
        guard.check(header())


def test_replay_guard_admits_any_single_use_message_by_id_and_instant() -> None:
    """admit() is check() without an envelope: once per id, and the refusals name the kind."""
    clock = ManualClock(T0)
    guard = _guard(clock)
    message_id = uuid.uuid4()
    guard.admit(message_id, T0, kind="client assertion")
    with pytest.raises(ReplayDetected, match=r"^client assertion "):
        guard.admit(message_id, T0, kind="client assertion")
    with pytest.raises(ReplayDetected):
        guard.check(header(message_id=message_id, created=T0))
    with pytest.raises(StaleMessage, match=r"^client assertion "):
        guard.admit(uuid.uuid4(), T0 + timedelta(hours=1), kind="client assertion")


def test_replay_guard_refuses_stale_and_future() -> None:
    """Created more than the window before or after the clock is stale."""
    clock = ManualClock(T0)
    guard = _guard(clock, window=timedelta(seconds=300))
    with pytest.raises(StaleMessage):
        guard.check(header(message_id=uuid.uuid4(), created=T0 - timedelta(seconds=301)))
    with pytest.raises(StaleMessage):
        guard.check(header(message_id=uuid.uuid4(), created=T0 + timedelta(seconds=301)))
    guard.check(header(message_id=uuid.uuid4(), created=T0 - timedelta(seconds=300)))
    guard.check(header(message_id=uuid.uuid4(), created=T0 + timedelta(seconds=300)))


def test_replay_guard_replay_after_window_is_stale() -> None:
    """Once its Created has left the window, the id is forgotten and a replay is stale."""
    clock = ManualClock(T0)
    guard = _guard(clock)
    guard.check(header())
    clock.advance(timedelta(seconds=301))
    with pytest.raises(StaleMessage):
        guard.check(header())
    guard.check(header(message_id=uuid.uuid4(), created=clock.now()))
    assert len(guard) == 1


def test_replay_guard_clock_set_back_does_not_readmit() -> None:
    """Setting the clock back after the id was forgotten does not let its replay through."""
    clock = ManualClock(T0)
    guard = _guard(clock)
    guard.check(header())
    clock.advance(timedelta(seconds=400))
    guard.check(header(message_id=uuid.uuid4(), created=clock.now()))  # drops the first id
    clock.set(T0)
    with pytest.raises(StaleMessage):
        guard.check(header())
    assert guard.horizon == T0


def test_replay_guard_bounded_memory_fails_closed() -> None:
    """When full, the oldest id is evicted and everything not newer than it is refused."""
    clock = ManualClock(T0)
    guard = _guard(clock, max_entries=3)
    heads = [header(message_id=uuid.uuid4(), created=T0 + timedelta(seconds=i)) for i in range(4)]
    for head in heads:
        guard.check(head)
    assert len(guard) == 3
    assert guard.horizon == heads[0].created
    with pytest.raises(StaleMessage):  # the evicted id's replay
        guard.check(heads[0])
    for head in heads[1:]:
        with pytest.raises(ReplayDetected):
            guard.check(head)
    with pytest.raises(StaleMessage):  # older than every cached id while full
        guard.check(header(message_id=uuid.uuid4(), created=T0 + timedelta(milliseconds=500)))
    guard.check(header(message_id=uuid.uuid4(), created=T0 + timedelta(seconds=10)))
    assert len(guard) == 3


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=19),  # which message
            st.integers(min_value=-100, max_value=200),  # seconds the clock moves first
        ),
        max_size=60,
    ),
    offsets=st.lists(st.integers(min_value=-400, max_value=400), min_size=20, max_size=20),
    max_entries=st.integers(min_value=1, max_value=6),
)
def test_replay_guard_never_accepts_a_message_twice(
    steps: list[tuple[int, int]], offsets: list[int], max_entries: int
) -> None:
    """Whatever the order, timing (even a clock set back) and cache size, no envelope is
    ever accepted twice."""
    clock = ManualClock(T0)
    guard = _guard(clock, max_entries=max_entries)
    # A message's Created is fixed by its signature: each id has one Created forever.
    messages = [
        header(message_id=uuid.UUID(int=i + 1), created=T0 + timedelta(seconds=offset))
        for i, offset in enumerate(offsets)
    ]
    accepted: set[int] = set()
    for index, advance in steps:
        clock.advance(timedelta(seconds=advance))
        try:
            guard.check(messages[index])
        except (StaleMessage, ReplayDetected):
            continue
        assert index not in accepted
        accepted.add(index)
        assert len(guard) <= max_entries


def test_replay_guard_is_thread_safe() -> None:
    """Many threads presenting the same id at once: exactly one is accepted."""
    guard = _guard(ManualClock(T0))
    head = header()
    results: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(16)

    def attempt() -> None:
        barrier.wait()
        try:
            guard.check(head)
            ok = True
        except ReplayDetected:
            ok = False
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=attempt) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 15 + [True]


def test_replay_guard_refuses_bad_settings() -> None:
    """A non-positive window or cache size is a programming error."""
    with pytest.raises(ValueError, match="window"):
        ReplayGuard(ManualClock(T0), window=timedelta(0))
    with pytest.raises(ValueError, match="max_entries"):
        ReplayGuard(ManualClock(T0), max_entries=0)


def test_module_exports_exist() -> None:
    """Every name in the public API list exists."""
    assert all(hasattr(envelope, name) for name in envelope.__all__)


# --------------------------------------------------------------------------------------------
# The example in docs/PROTOCOL.md

EXAMPLE_T0 = datetime(2026, 11, 22, 9, 14, 5, 123000, tzinfo=UTC)
EXAMPLE_REQUEST_HASH = "61752633dcbe2f50845807598924affa28400d7d55dff0d38e7885d1c0de7305"
EXAMPLE_EVIDENCE_TYPE = (
    "https://sr.oots.tech.ec.europa.eu/evidencetypeclassifications/ec/"
    "d830ee7b-b480-43f0-bbde-4a0da769deeb"
)


def protocol_example(root_tag: str) -> str:
    """The ```xml block of docs/PROTOCOL.md that holds a document with this root."""
    text = (PROJECT_ROOT / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```xml\n(.*?)```", text, flags=re.DOTALL)
    found = [
        b for b in blocks if b.startswith(f"<?xml version='1.0' encoding='UTF-8'?>\n<{root_tag}")
    ]
    assert len(found) == 1, f"expected one example of {root_tag} in PROTOCOL.md"
    return found[0]


def comparable(document: str) -> str:
    """The document with the parts that depend on the key (certificate, signature) elided."""
    document = re.sub(
        r"<ds:X509Certificate>.*?</ds:X509Certificate>",
        "<ds:X509Certificate>…</ds:X509Certificate>",
        document,
        flags=re.DOTALL,
    )
    return re.sub(r"<ds:SignatureValue>.*?</ds:SignatureValue>", "<ds:SignatureValue/>", document)


def example_envelope(pki: TestPki) -> bytes:
    from noots.tokens import TokenRequest, build_token_request

    body = build_token_request(
        TokenRequest(
            consumer=CONSUMER,
            provider=PROVIDER,
            evidence_type=EXAMPLE_EVIDENCE_TYPE,
            purpose="Bewohnerparkausweis",
            legal_basis="§ 45 Abs. 1b StVO",
            uses_idnr=True,
            request_hash=EXAMPLE_REQUEST_HASH,
        )
    )
    head = EnvelopeHeader(
        message_id=uuid.UUID("9b0b0f5e-5b9c-4c55-9b4e-0c6f1a2b3c4d"),
        sender=CONSUMER,
        recipient="noots-vs",
        service_id="urn:noots:service:noots-vs:tokens",
        created=EXAMPLE_T0,
        purpose="Bewohnerparkausweis",
    )
    signer = pki.signer(CONSUMER, Role.CONSUMER, key_type=KeyType.ECDSA_P256)
    return seal(head, body, signer)


def test_protocol_example_envelope(pki: TestPki) -> None:
    """The signed envelope shown in PROTOCOL.md is what seal() produces, digest included."""
    documented = protocol_example("env:TransportEnvelope")
    assert comparable(example_envelope(pki).decode("utf-8")) == comparable(documented).rstrip("\n")
