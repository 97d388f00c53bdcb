"""Tests of noots.eid: the simulated eID's signed identity token."""

from __future__ import annotations

import base64
import dataclasses
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from noots import eid
from noots.clock import ManualClock
from noots.eid import (
    LEVELS,
    IdentityToken,
    Level,
    build_identity,
    issue_identity,
    verify_identity,
)
from noots.errors import (
    AuthenticationError,
    IdentityError,
    IdentityExpired,
    IdentityLevelTooLow,
    MalformedMessage,
    SignatureInvalid,
    WrongKeyUsage,
)
from noots.idnr import generate
from noots.paths import XSD_DIR
from noots.pki import Role
from noots.testing.pki import TestPki
from noots.xml import parse, serialize

EID = "noots-eid"
DSC = "noots-dsc"
T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pki() -> Iterator[TestPki]:
    # The CA exists a day before T0, so tests can move the clock back to before the token.
    clock = ManualClock(T0 - timedelta(days=1))
    with TestPki(clock=clock) as test_pki:
        test_pki.credential(EID, Role.EID)
        test_pki.credential("08118079-BPA-87", Role.CONSUMER)
        clock.set(T0)
        yield test_pki


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_DIR / "noots-eid-1.xsd")))


@pytest.fixture(autouse=True)
def _reset_clock(pki: TestPki) -> None:
    pki.clock.set(T0)


def identity(**changes: object) -> IdentityToken:
    values: dict[str, object] = {
        "idnr": "02476291358",
        "given_name": "Erika",
        "family_name": "Mustermann",
        "date_of_birth": date(1964, 8, 12),
        "level": "hoch",
        "issued_at": T0,
        "expires_at": T0 + timedelta(minutes=30),
        "audience": None,
    }
    values.update(changes)
    return IdentityToken(**values)  # type: ignore[arg-type]


def issued(pki: TestPki, **changes: object) -> str:
    return issue_identity(identity(**changes), pki.signer(EID, Role.EID))


names = (
    st.text(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    idnr=st.sampled_from(generate(50, seed=7)),
    given_name=names,
    family_name=names,
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 1, 1)),
    level=st.sampled_from(LEVELS),
    minutes=st.integers(min_value=1, max_value=24 * 60),
    audience=st.none() | st.just(DSC),
)
def test_issue_verify_round_trip(
    pki: TestPki,
    schema: etree.XMLSchema,
    idnr: str,
    given_name: str,
    family_name: str,
    born: date,
    level: Level,
    minutes: int,
    audience: str | None,
) -> None:
    """An issued identity verifies to the same identity; the signed document is schema-valid."""
    token = IdentityToken(
        idnr=idnr,
        given_name=given_name,
        family_name=family_name,
        date_of_birth=born,
        level=level,
        issued_at=pki.clock.now(),
        expires_at=pki.clock.now() + timedelta(minutes=minutes),
        audience=audience,
    )
    bearer = issue_identity(token, pki.signer(EID, Role.EID))
    assert re.fullmatch(r"[A-Za-z0-9_-]+", bearer)
    signed = parse(base64.urlsafe_b64decode(bearer + "=" * (-len(bearer) % 4)))
    schema.assertValid(signed)
    verified = verify_identity(bearer, pki.verifier(), clock=pki.clock, min_level=level)
    assert verified == token


def test_bearer_token_fits_an_http_header(pki: TestPki) -> None:
    """The token is unpadded base64url and small enough for an Authorization header."""
    bearer = issued(pki)
    assert "=" not in bearer
    assert len(bearer) < 8 * 1024  # common per-header limit of HTTP servers
    assert verify_identity(bearer, pki.verifier(), clock=pki.clock) == identity()


def test_unsigned_identity_element(schema: etree.XMLSchema) -> None:
    """The unsigned element has the documented order and validates; audience is optional."""
    element = build_identity(identity(audience=DSC))
    schema.assertValid(element)
    assert [etree.QName(child).localname for child in element] == [
        "IDNr",
        "GivenName",
        "FamilyName",
        "DateOfBirth",
        "Level",
        "IssuedAt",
        "ExpiresAt",
        "Audience",
    ]
    schema.assertValid(build_identity(identity()))
    element.find("{urn:noots:eid:1}Level").text = "hoch+"
    assert not schema.validate(element)


@pytest.mark.parametrize(
    ("level", "minimum", "accepted"),
    [
        ("hoch", "hoch", True),
        ("hoch", "normal", True),
        ("substantiell", "hoch", False),
        ("substantiell", "substantiell", True),
        ("normal", "substantiell", False),
        ("normal", "normal", True),
    ],
)
def test_level_of_assurance(pki: TestPki, level: Level, minimum: Level, accepted: bool) -> None:
    """An identity is accepted only at or above the required level of assurance."""
    bearer = issued(pki, level=level)
    if accepted:
        assert verify_identity(bearer, pki.verifier(), clock=pki.clock, min_level=minimum)
        return
    with pytest.raises(IdentityLevelTooLow, match=level):
        verify_identity(bearer, pki.verifier(), clock=pki.clock, min_level=minimum)


def test_default_minimum_is_hoch(pki: TestPki) -> None:
    """Without min_level, only level hoch is accepted."""
    with pytest.raises(IdentityLevelTooLow):
        verify_identity(issued(pki, level="substantiell"), pki.verifier(), clock=pki.clock)


def test_expiry(pki: TestPki) -> None:
    """Valid until just before ExpiresAt; expired from then on (an AuthenticationError)."""
    bearer = issued(pki)
    pki.clock.advance(timedelta(minutes=30) - timedelta(milliseconds=1))
    assert verify_identity(bearer, pki.verifier(), clock=pki.clock)
    pki.clock.advance(timedelta(milliseconds=1))
    with pytest.raises(IdentityExpired) as caught:
        verify_identity(bearer, pki.verifier(), clock=pki.clock)
    assert isinstance(caught.value, AuthenticationError)


def test_issued_in_the_future(pki: TestPki) -> None:
    """An identity issued further ahead than the clock skew is not valid yet."""
    bearer = issued(pki)
    pki.clock.set(T0 - timedelta(seconds=30))
    assert verify_identity(bearer, pki.verifier(), clock=pki.clock)
    pki.clock.set(T0 - timedelta(seconds=31))
    with pytest.raises(IdentityExpired, match="not valid before"):
        verify_identity(bearer, pki.verifier(), clock=pki.clock)


def test_identity_signed_by_non_eid_is_refused(pki: TestPki) -> None:
    """Only a participant with role eid can vouch for an identity."""
    bearer = issue_identity(identity(), pki.signer("08118079-BPA-87", Role.CONSUMER))
    with pytest.raises(IdentityError) as caught:
        verify_identity(bearer, pki.verifier(), clock=pki.clock)
    assert isinstance(caught.value.__cause__, WrongKeyUsage)


def test_tampered_identity_is_refused(pki: TestPki) -> None:
    """Changing the IDNr or the level in a signed identity breaks the signature."""
    raw = base64.urlsafe_b64decode(issued(pki, level="normal") + "===")
    for old, new in ((b">02476291358<", b">86095742719<"), (b">normal<", b">hoch<")):
        assert old in raw
        forged = base64.urlsafe_b64encode(raw.replace(old, new)).rstrip(b"=").decode()
        with pytest.raises(IdentityError) as caught:
            verify_identity(forged, pki.verifier(), clock=pki.clock, min_level="normal")
        assert isinstance(caught.value.__cause__, SignatureInvalid)


def test_audience(pki: TestPki) -> None:
    """A verifier that names itself accepts only identities meant for it."""
    verifier = pki.verifier()
    for_dsc = issued(pki, audience=DSC)
    assert verify_identity(for_dsc, verifier, clock=pki.clock, audience=DSC).audience == DSC
    with pytest.raises(IdentityError, match="another participant"):
        verify_identity(for_dsc, verifier, clock=pki.clock, audience="noots-other")
    with pytest.raises(IdentityError, match="another participant"):
        verify_identity(issued(pki), verifier, clock=pki.clock, audience=DSC)


@pytest.mark.parametrize(
    "bearer",
    [
        "",
        "abc=",  # padded
        "ab+c",  # standard alphabet
        "ab c",
        "a",  # impossible length
        "A" * 20_000,  # too long
        base64.urlsafe_b64encode(b"<x/>").rstrip(b"=").decode(),  # not an identity
        base64.urlsafe_b64encode(b"<eid:Identity xmlns:eid='urn:noots:eid:1' version='1'/>")
        .rstrip(b"=")
        .decode(),  # unsigned
    ],
)
def test_malformed_bearer_is_refused(pki: TestPki, bearer: str) -> None:
    """Anything but a signed identity in unpadded base64url is an IdentityError."""
    with pytest.raises(IdentityError):
        verify_identity(bearer, pki.verifier(), clock=pki.clock)


def test_signed_identity_with_invalid_content(pki: TestPki) -> None:
    """An eID-signed document breaking the schema is refused with the schema finding."""
    element = build_identity(identity())
    element.find("{urn:noots:eid:1}DateOfBirth").text = "1964-08-12Z"
    bearer = (
        base64.urlsafe_b64encode(serialize(pki.signer(EID, Role.EID).sign(element)))
        .rstrip(b"=")
        .decode()
    )
    with pytest.raises(IdentityError, match="noots-eid-1") as caught:
        verify_identity(bearer, pki.verifier(), clock=pki.clock)
    assert "1964" not in str(caught.value)  # schema findings never echo values


def test_identity_refuses_invalid_values() -> None:
    """Invalid IDNr, names, level, times and audience are refused at construction."""
    for change in (
        {"idnr": "02476291359"},  # wrong check digit
        {"given_name": " Erika"},
        {"family_name": "Muster\nmann"},
        {"level": "high"},
        {"issued_at": datetime(2026, 11, 22, 9, 0)},
        {"expires_at": T0},
        {"audience": "not a participant"},
        {"date_of_birth": T0},
    ):
        with pytest.raises(MalformedMessage):
            identity(**change)


def test_min_level_must_be_known(pki: TestPki) -> None:
    """A typo in min_level is a programming error, not a silent acceptance."""
    with pytest.raises(ValueError, match="min_level"):
        verify_identity(issued(pki), pki.verifier(), clock=pki.clock, min_level="high")  # type: ignore[arg-type]


def test_levels_match_the_type() -> None:
    """LEVELS lists exactly the Level literals, weakest first."""
    assert set(LEVELS) == set(get_args(Level))
    assert LEVELS[0] == "normal"
    assert LEVELS[-1] == "hoch"
    assert all(hasattr(eid, name) for name in eid.__all__)
    assert dataclasses.is_dataclass(IdentityToken)
