"""Tests of noots.tokens: the request hash, the VS token's seal, expiry and binding."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import uuid
from collections.abc import Iterator
from copy import deepcopy
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from noots import messages, tokens
from noots.clock import ManualClock
from noots.envelope import EnvelopeHeader, open_envelope, seal
from noots.errors import (
    CertificateRevoked,
    MalformedMessage,
    SignatureInvalid,
    SignatureMissing,
    TokenExpired,
    TokenMismatch,
    TokenSealInvalid,
    WrongKeyUsage,
    XmlForbiddenConstruct,
    XmlSyntaxError,
)
from noots.messages import (
    EVIDENCE_TYPE_CLASSIFICATION_PREFIX,
    NS_DE,
    Agent,
    EvidenceRequest,
    EvidenceType,
    LegalPerson,
    NaturalPerson,
)
from noots.paths import PROJECT_ROOT, XSD_DIR, shared_dir
from noots.pki import KeyType, Role
from noots.signing import XmlSigner
from noots.testing.pki import TestPki
from noots.tokens import (
    AuthorisationToken,
    TokenRequest,
    build_issued_token_body,
    build_token,
    build_token_request,
    check_token_binding,
    issue_token,
    parse_issued_token_body,
    parse_token_request,
    request_hash,
    verify_token,
)
from noots.xml import parse, serialize

CONSUMER = "08118079-BPA-87"
PROVIDER = "991-01234ZFZR-41"
VS = "noots-vs"
IDNR = "02476291358"
T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
KFZ = EvidenceType(
    classification=EVIDENCE_TYPE_CLASSIFICATION_PREFIX + "d830ee7b-b480-43f0-bbde-4a0da769deeb",
    title="Fahrzeughalterauskunft aus dem Zentralen Fahrzeugregister",
    identifier=uuid.UUID("beb79032-2088-4061-a834-ca8f0e244ac1"),
)
ERIKA = NaturalPerson("Mustermann", "Erika", date(1964, 8, 12), IDNR)


@pytest.fixture(scope="module")
def pki() -> Iterator[TestPki]:
    with TestPki(clock=ManualClock(T0)) as test_pki:
        test_pki.credential(CONSUMER, Role.CONSUMER)
        test_pki.credential(PROVIDER, Role.PROVIDER)
        test_pki.credential(VS, Role.VS)
        yield test_pki


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_DIR / "noots-vs-token-1.xsd")))


def evidence_request(subject: object = ERIKA, **changes: object) -> EvidenceRequest:
    request = EvidenceRequest.new(
        requester=Agent(CONSUMER, "Stadt Korntal-Münchingen, Bewohnerparkausweis"),
        provider=Agent(PROVIDER, "Kraftfahrt-Bundesamt, Zentrales Fahrzeugregister"),
        evidence_type=KFZ,
        subject=subject,  # type: ignore[arg-type]
        clock=ManualClock(T0),
        test=True,
    )
    return dataclasses.replace(request, **changes)  # type: ignore[arg-type]


def transfer(request_0101: etree._Element, **changes: object) -> TokenRequest:
    values: dict[str, object] = {
        "consumer": CONSUMER,
        "provider": PROVIDER,
        "evidence_type": KFZ.classification,
        "purpose": "Bewohnerparkausweis",
        "legal_basis": "§ 45 Abs. 1b StVO",
        "uses_idnr": True,
        "request_hash": request_hash(request_0101),
    }
    values.update(changes)
    return TokenRequest(**values)  # type: ignore[arg-type]


def grant(
    request_0101: etree._Element, clock: ManualClock, **changes: object
) -> AuthorisationToken:
    return AuthorisationToken.grant(transfer(request_0101, **changes), issuer=VS, clock=clock)


def vs_signer(pki: TestPki) -> XmlSigner:
    return pki.signer(VS, Role.VS)


# --------------------------------------------------------------------------------------------
# Request hash


def test_request_hash_of_the_official_example() -> None:
    """The hash is exclusive C14N of the 0101 with IssuedToken blanked, without comments."""
    shared = shared_dir()
    assert shared is not None
    element = parse((shared / "xnachweis/examples/DE.EvidenceRequest.0101.xml").read_bytes())
    blanked = deepcopy(element)
    blanked.find(f"{{{NS_DE}}}IssuedToken").text = None
    expected = etree.tostring(blanked, method="c14n", exclusive=True, with_comments=False)
    assert b"<!--" not in expected
    assert b"IssuedToken></xn-de:IssuedToken>" in expected
    assert request_hash(element) == hashlib.sha256(expected).hexdigest()


def test_request_hash_ignores_token_text_and_comments() -> None:
    """The token text (the one thing the hash cannot cover) and comments do not change it."""
    request = evidence_request()
    unsigned = messages.build(request)
    with_token = messages.build(request.with_token("QUJD"))
    assert request_hash(with_token) == request_hash(unsigned)
    commented = deepcopy(unsigned)
    commented.insert(0, etree.Comment("a note"))
    assert request_hash(commented) == request_hash(unsigned)


def test_request_hash_does_not_mutate_input() -> None:
    """The hash is computed on a copy: the caller's element keeps its token."""
    element = messages.build(evidence_request().with_token("QUJD"))
    before = etree.tostring(element)
    request_hash(element)
    assert etree.tostring(element) == before


def test_request_hash_changes_with_any_change_of_the_0101() -> None:
    """Changing any text or attribute of the 0101 (but the token) changes the hash."""
    original = messages.build(evidence_request().with_token("QUJD"))
    reference = request_hash(original)
    token_tag = f"{{{NS_DE}}}IssuedToken"
    changed = 0
    for index, node in enumerate(original.iter()):
        if not isinstance(node.tag, str) or node.tag == token_tag:
            continue
        if node.text is not None and node.text.strip():
            copy = deepcopy(original)
            target = list(copy.iter())[index]
            target.text = target.text + "x"
            assert request_hash(copy) != reference, etree.QName(node).localname
            changed += 1
        for name in node.attrib:
            copy = deepcopy(original)
            target = list(copy.iter())[index]
            target.set(name, target.get(name, "") + "x")
            assert request_hash(copy) != reference, name
            changed += 1
    assert changed > 30  # every leaf of a real 0101 was tried


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    family=st.text(st.characters(min_codepoint=65, max_codepoint=0x17F), min_size=1, max_size=20),
    given_name=st.text(st.characters(min_codepoint=65, max_codepoint=0x17F), min_size=1),
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)),
    token=st.from_regex(r"[A-Za-z0-9+/]{0,40}", fullmatch=True),
)
def test_request_hash_stable_under_serialisation_and_envelope(
    pki: TestPki, family: str, given_name: str, born: date, token: str
) -> None:
    """The hash is the same for the 0101 alone, re-parsed, and inside a signed envelope."""
    request = evidence_request(NaturalPerson(family, given_name, born, IDNR))
    element = messages.build(request.with_token(token))
    reference = request_hash(messages.build(request))
    assert request_hash(element) == reference
    assert request_hash(parse(serialize(element))) == reference
    header = EnvelopeHeader(
        message_id=uuid.uuid4(),
        sender=CONSUMER,
        recipient=PROVIDER,
        service_id="urn:x",
        created=T0,
        purpose="p",
    )
    raw = seal(header, element, pki.signer(CONSUMER, Role.CONSUMER))
    assert request_hash(open_envelope(raw, pki.verifier()).body) == reference
    assert request_hash(parse(raw)[1][0]) == reference


def test_request_hash_refuses_other_elements() -> None:
    """Only a DE.EvidenceRequest.0101 has a request hash."""
    with pytest.raises(MalformedMessage):
        request_hash(etree.Element(f"{{{NS_DE}}}DE.EvidenceResponse.0102"))


# --------------------------------------------------------------------------------------------
# Token request and token elements

participant_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.:_-]{0,63}", fullmatch=True)
lines = (
    st.text(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
        min_size=1,
        max_size=60,
    )
    .map(str.strip)
    .filter(bool)
)
transfers = st.builds(
    TokenRequest,
    consumer=participant_ids,
    provider=participant_ids,
    evidence_type=st.from_regex(r"https://[!-~]{1,80}", fullmatch=True),
    purpose=lines,
    legal_basis=lines,
    uses_idnr=st.booleans(),
    request_hash=st.binary().map(lambda b: hashlib.sha256(b).hexdigest()),
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(request=transfers)
def test_token_request_round_trip(schema: etree.XMLSchema, request: TokenRequest) -> None:
    """build_token_request and parse_token_request are inverse; the element is schema-valid."""
    element = parse(serialize(build_token_request(request)))
    schema.assertValid(element)
    assert parse_token_request(element) == request


def test_token_request_element_order() -> None:
    """The token request serialises to exactly the documented bytes."""
    request = TokenRequest(
        consumer=CONSUMER,
        provider=PROVIDER,
        evidence_type="https://example/x",
        purpose="Bewohnerparkausweis",
        legal_basis="§ 45 StVO",
        uses_idnr=True,
        request_hash="0" * 64,
    )
    assert etree.tostring(build_token_request(request), encoding="unicode") == (
        '<vst:TokenRequest xmlns:vst="urn:noots:vs-token:1" version="1">'
        "<vst:Consumer>08118079-BPA-87</vst:Consumer><vst:Provider>991-01234ZFZR-41</vst:Provider>"
        "<vst:EvidenceType>https://example/x</vst:EvidenceType>"
        "<vst:Purpose>Bewohnerparkausweis</vst:Purpose><vst:LegalBasis>§ 45 StVO</vst:LegalBasis>"
        f"<vst:UsesIdnr>true</vst:UsesIdnr><vst:RequestHash>{'0' * 64}</vst:RequestHash>"
        "</vst:TokenRequest>"
    )


def test_parse_token_request_refuses_invalid(schema: etree.XMLSchema) -> None:
    """A token request with a missing field, a 1 for true or another root is malformed."""
    element = build_token_request(transfer(messages.build(evidence_request())))
    missing = deepcopy(element)
    missing.remove(missing[0])
    numeric = deepcopy(element)
    numeric[5].text = "1"
    for broken in (missing, numeric, etree.Element("{urn:noots:vs-token:1}Other")):
        with pytest.raises(MalformedMessage):
            parse_token_request(broken)


def test_token_dataclasses_refuse_invalid_values() -> None:
    """Invalid fields are refused at construction (participant ids, hash, times)."""
    request_0101 = messages.build(evidence_request())
    for change in (
        {"consumer": "bad id"},
        {"request_hash": "A" * 64},
        {"purpose": "line\nbreak"},
        {"legal_basis": ""},
        {"evidence_type": "has space"},
        {"uses_idnr": "true"},
    ):
        with pytest.raises(MalformedMessage):
            transfer(request_0101, **change)
    with pytest.raises(MalformedMessage, match="expires before"):
        dataclasses.replace(grant(request_0101, ManualClock(T0)), expires_at=T0)
    with pytest.raises(MalformedMessage, match="time zone"):
        dataclasses.replace(grant(request_0101, ManualClock(T0)), issued_at=datetime(2026, 1, 1))


def test_issued_token_body_round_trip(schema: etree.XMLSchema) -> None:
    """The VS's vst:IssuedToken body carries the base64 token text unchanged."""
    body = build_issued_token_body("QUJDRA==")
    schema.assertValid(body)
    assert parse_issued_token_body(parse(serialize(body))) == "QUJDRA=="
    with pytest.raises(ValueError, match="base64"):
        build_issued_token_body("not base64!")
    with pytest.raises(MalformedMessage):
        parse_issued_token_body(build_token_request(transfer(messages.build(evidence_request()))))


# --------------------------------------------------------------------------------------------
# Seal and expiry


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(request=transfers, lifetime=st.integers(min_value=1, max_value=3600))
def test_issue_verify_round_trip(
    pki: TestPki, schema: etree.XMLSchema, request: TokenRequest, lifetime: int
) -> None:
    """A sealed token verifies to the same token; the signed document is schema-valid."""
    token = AuthorisationToken.grant(
        request, issuer=VS, clock=pki.clock, lifetime=timedelta(seconds=lifetime)
    )
    issued = issue_token(token, vs_signer(pki))
    signed = parse(base64.b64decode(issued, validate=True))
    schema.assertValid(signed)
    assert signed[-1].tag == "{http://www.w3.org/2000/09/xmldsig#}Signature"
    assert verify_token(issued, pki.verifier(), clock=pki.clock) == token


def test_unsigned_token_element_order(schema: etree.XMLSchema) -> None:
    """The token's elements come in the documented order and validate."""
    token = grant(messages.build(evidence_request()), ManualClock(T0))
    element = build_token(token)
    schema.assertValid(element)
    assert [etree.QName(child).localname for child in element] == [
        "TokenId",
        "Issuer",
        "IssuedAt",
        "ExpiresAt",
        "Consumer",
        "Provider",
        "EvidenceType",
        "Purpose",
        "LegalBasis",
        "UsesIdnr",
        "RequestHash",
    ]


def test_token_signed_by_a_consumer_is_refused(pki: TestPki) -> None:
    """Only a participant with role VS can seal a token; the certificate error is the cause."""
    token = dataclasses.replace(
        grant(messages.build(evidence_request()), pki.clock), issuer=CONSUMER
    )
    issued = issue_token(token, pki.signer(CONSUMER, Role.CONSUMER))
    with pytest.raises(TokenSealInvalid) as caught:
        verify_token(issued, pki.verifier(), clock=pki.clock)
    assert isinstance(caught.value.__cause__, WrongKeyUsage)


def test_token_issuer_must_be_the_sealer(pki: TestPki) -> None:
    """A token naming another issuer than the VS that sealed it is refused."""
    token = dataclasses.replace(grant(messages.build(evidence_request()), pki.clock), issuer="vs2")
    with pytest.raises(TokenSealInvalid, match="issuer"):
        verify_token(issue_token(token, vs_signer(pki)), pki.verifier(), clock=pki.clock)


def test_tampered_token_is_refused(pki: TestPki) -> None:
    """Changing any signed field of a sealed token breaks the seal."""
    issued = issue_token(grant(messages.build(evidence_request()), pki.clock), vs_signer(pki))
    raw = base64.b64decode(issued)
    for old, new in (
        (b"<vst:Purpose>Bewohnerparkausweis<", b"<vst:Purpose>Anything<"),
        (b"<vst:UsesIdnr>true<", b"<vst:UsesIdnr>false<"),
        (f"<vst:Consumer>{CONSUMER}<".encode(), b"<vst:Consumer>someone-else<"),
    ):
        assert old in raw
        forged = base64.b64encode(raw.replace(old, new)).decode()
        with pytest.raises(TokenSealInvalid) as caught:
            verify_token(forged, pki.verifier(), clock=pki.clock)
        assert isinstance(caught.value.__cause__, SignatureInvalid)


def test_revoked_vs_certificate_is_refused() -> None:
    """A token sealed with a since revoked VS certificate is refused."""
    with TestPki(clock=ManualClock(T0)) as own:
        issued = issue_token(
            grant(messages.build(evidence_request()), own.clock), own.signer(VS, Role.VS)
        )
        own.revoke(VS)
        with pytest.raises(TokenSealInvalid) as caught:
            verify_token(issued, own.verifier(), clock=own.clock)
        assert isinstance(caught.value.__cause__, CertificateRevoked)


@pytest.mark.parametrize(
    "issued",
    [
        "",
        "QUJD\n",
        "QUJD RA==",
        "QUJDRA",  # padding missing
        "-_-_",  # URL alphabet
        "PGE+PC9hPg==" + "A" * 70_000,  # too long
    ],
)
def test_token_that_is_not_base64_is_refused(pki: TestPki, issued: str) -> None:
    """Only strict standard base64 (no white space, no URL alphabet) is read."""
    with pytest.raises(TokenSealInvalid):
        verify_token(issued, pki.verifier(), clock=pki.clock)


@pytest.mark.parametrize(
    ("document", "cause"),
    [
        (b"not xml", XmlSyntaxError),
        (b'<!DOCTYPE x [<!ENTITY e "e">]><x xmlns="urn:noots:vs-token:1"/>', XmlForbiddenConstruct),
        (b'<vst:TokenRequest xmlns:vst="urn:noots:vs-token:1" version="1"/>', type(None)),
        (
            b'<vst:AuthorisationToken xmlns:vst="urn:noots:vs-token:1" version="1"/>',
            SignatureMissing,
        ),
    ],
)
def test_token_that_is_not_a_sealed_token_is_refused(
    pki: TestPki, document: bytes, cause: type[BaseException]
) -> None:
    """Broken XML, a DTD, another element or an unsigned token: all TokenSealInvalid."""
    with pytest.raises(TokenSealInvalid) as caught:
        verify_token(base64.b64encode(document).decode(), pki.verifier(), clock=pki.clock)
    assert isinstance(caught.value.__cause__, cause)


def test_signed_token_with_invalid_content_is_refused(pki: TestPki) -> None:
    """A VS-signed document that breaks the token schema is refused, with the schema finding."""
    element = build_token(grant(messages.build(evidence_request()), pki.clock))
    element.find("{urn:noots:vs-token:1}UsesIdnr").text = "yes"
    issued = base64.b64encode(serialize(vs_signer(pki).sign(element))).decode()
    with pytest.raises(TokenSealInvalid, match="noots-vs-token-1") as caught:
        verify_token(issued, pki.verifier(), clock=pki.clock)
    assert isinstance(caught.value.__cause__, MalformedMessage)


def test_token_expiry_at_the_clock() -> None:
    """Valid until just before ExpiresAt, expired from it; issued in the future is refused."""
    clock = ManualClock(T0 - timedelta(days=1))  # the CA is made a day before the token
    with TestPki(clock=clock) as own:
        clock.set(T0)
        token = AuthorisationToken.grant(
            transfer(messages.build(evidence_request())),
            issuer=VS,
            clock=clock,
            lifetime=timedelta(minutes=5),
        )
        issued = issue_token(token, own.signer(VS, Role.VS))
        verifier = own.verifier()
        clock.advance(timedelta(minutes=5) - timedelta(milliseconds=1))
        assert verify_token(issued, verifier, clock=clock) == token
        clock.advance(timedelta(milliseconds=1))
        with pytest.raises(TokenExpired):
            verify_token(issued, verifier, clock=clock)
        clock.set(T0 - timedelta(seconds=30))
        assert verify_token(issued, verifier, clock=clock) == token  # within the clock skew
        clock.set(T0 - timedelta(seconds=31))
        with pytest.raises(TokenExpired, match="not valid before"):
            verify_token(issued, verifier, clock=clock)


# --------------------------------------------------------------------------------------------
# Binding


class Transfer:
    """One consistent transfer: 0101, envelope header, token; tests change one part."""

    def __init__(self, subject: object = ERIKA, **token_changes: object) -> None:
        self.request = evidence_request(subject)
        self.element = messages.build(self.request)
        self.token = grant(self.element, ManualClock(T0), **token_changes)
        self.header = EnvelopeHeader(
            message_id=uuid.uuid4(),
            sender=CONSUMER,
            recipient=PROVIDER,
            service_id="urn:x",
            created=T0,
            purpose="Bewohnerparkausweis",
        )

    def check(self, provider_id: str = PROVIDER) -> None:
        check_token_binding(
            self.token,
            request=self.request,
            request_element=self.element,
            consumer=self.header.sender,
            purpose=self.header.purpose,
            provider_id=provider_id,
        )


def test_binding_accepts_the_matching_transfer(pki: TestPki) -> None:
    """The full flow: hash, token, 0101 with token, envelope, provider side checks pass."""
    request = evidence_request()
    token = grant(messages.build(request), pki.clock)
    issued = issue_token(token, vs_signer(pki))
    header = Transfer().header
    raw = seal(header, messages.build(request.with_token(issued)), pki.signer(CONSUMER))
    opened = open_envelope(raw, pki.verifier(), required_role=Role.CONSUMER)
    received = messages.parse(opened.body)
    assert isinstance(received, EvidenceRequest)
    verified = verify_token(received.issued_token, pki.verifier(), clock=pki.clock)
    check_token_binding(
        verified,
        request=received,
        request_element=opened.body,
        consumer=opened.header.sender,
        purpose=opened.header.purpose,
        provider_id=PROVIDER,
    )


def _mismatch(transfer_: Transfer, field: str, provider_id: str = PROVIDER) -> None:
    with pytest.raises(TokenMismatch, match=field) as caught:
        transfer_.check(provider_id)
    assert IDNR not in str(caught.value)
    assert "Mustermann" not in str(caught.value)


def test_binding_consumer() -> None:
    """Token for another consumer, or an envelope sender other than the 0101 requester."""
    _mismatch(Transfer(consumer="other-consumer"), "consumer")
    moved = Transfer()
    moved.header = dataclasses.replace(moved.header, sender="other-consumer")
    _mismatch(moved, "consumer")
    other_requester = Transfer()
    other_requester.request = dataclasses.replace(
        other_requester.request, requester=Agent("other-consumer", "Andere Stadt")
    )
    _mismatch(other_requester, "consumer")


def test_binding_provider() -> None:
    """Token for another provider, checked by another provider, or a 0101 naming another."""
    _mismatch(Transfer(provider="other-provider"), "provider")
    _mismatch(Transfer(), "provider", provider_id="other-provider")
    other = Transfer()
    other.request = dataclasses.replace(other.request, provider=Agent("other-provider", "X"))
    _mismatch(other, "provider")


def test_binding_purpose() -> None:
    """The envelope's Purpose must equal the token's; a missing Purpose never matches."""
    _mismatch(Transfer(purpose="Something else"), "purpose")
    missing = Transfer()
    missing.header = dataclasses.replace(missing.header, purpose=None)
    _mismatch(missing, "purpose")


def test_binding_evidence_type() -> None:
    """A token for another evidence type does not authorise this one."""
    _mismatch(Transfer(evidence_type=EVIDENCE_TYPE_CLASSIFICATION_PREFIX + "other"), "evidence")


def test_binding_idnr_use() -> None:
    """UsesIdnr must say whether the 0101 carries an IDNr."""
    _mismatch(Transfer(uses_idnr=False), "IDNr use")
    without = NaturalPerson("Mustermann", "Erika", date(1964, 8, 12))
    _mismatch(Transfer(without, uses_idnr=True), "IDNr use")
    Transfer(without, uses_idnr=False).check()
    company = LegalPerson("Muster GmbH")
    _mismatch(Transfer(company, uses_idnr=True), "IDNr use")
    Transfer(company, uses_idnr=False).check()


def test_binding_request_hash() -> None:
    """A token bound to another 0101 (another person) does not authorise this one."""
    other = Transfer()
    other.token = Transfer(NaturalPerson("Muster", "Max", date(1970, 1, 1), "86095742719")).token
    _mismatch(other, "request hash")
    changed = Transfer()
    changed.element.find(f"{{{NS_DE}}}IssueDateTime").text = "2026-11-22T09:00:01Z"
    _mismatch(changed, "request hash")


def test_module_exports_exist() -> None:
    """Every name in the public API list exists."""
    assert all(hasattr(tokens, name) for name in tokens.__all__)


def example_token(pki: TestPki) -> str:
    """The token shown in PROTOCOL.md, for the official example 0101."""
    shared = shared_dir()
    assert shared is not None
    example = parse((shared / "xnachweis/examples/DE.EvidenceRequest.0101.xml").read_bytes())
    t0 = datetime(2026, 11, 22, 9, 14, 5, 123000, tzinfo=UTC)
    token = AuthorisationToken(
        token_id=uuid.UUID("5f0c6f52-3c1e-4b7a-9d51-2b8e7c0a4f13"),
        issuer=VS,
        issued_at=t0,
        expires_at=t0 + timedelta(minutes=5),
        consumer=CONSUMER,
        provider=PROVIDER,
        evidence_type=KFZ.classification,
        purpose="Bewohnerparkausweis",
        legal_basis="§ 45 Abs. 1b StVO",
        uses_idnr=True,
        request_hash=request_hash(example),
    )
    return issue_token(token, pki.signer(VS, Role.VS, key_type=KeyType.ECDSA_P256))


def test_protocol_example_token(pki: TestPki) -> None:
    """The signed token shown in PROTOCOL.md is what issue_token() produces, digest included."""
    from tests.noots.test_envelope import comparable, protocol_example

    issued = example_token(pki)
    documented = protocol_example("vst:AuthorisationToken")
    decoded = base64.b64decode(issued).decode("utf-8")
    assert comparable(decoded) == comparable(documented).rstrip("\n")
    # The documented TokenRequest body and the IssuedToken prefix are the same values.
    text = (PROJECT_ROOT / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")
    assert issued[:80] in text
