"""noots.consumers.dashboard.event_auth: the reporting tokens a component posts its events with."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from noots.clock import ManualClock
from noots.consumers.dashboard.event_auth import (
    TOKEN_LIFETIME,
    EventAuthenticator,
    ReportingKey,
    ReportingTokenAuthenticator,
    ReportingTokens,
)
from noots.errors import AuthenticationError, AuthorisationError, NootsError

KEY = ReportingKey.from_secret("k" * 43)
DASHBOARD = "noots-simulator"
KBA = "991-01234ZFZR-41"


def pair(clock: ManualClock | None = None) -> tuple[ReportingTokens, ReportingTokenAuthenticator]:
    clock = clock or ManualClock()
    issuer = ReportingTokens(KEY, audience=DASHBOARD, clock=clock)
    checker = ReportingTokenAuthenticator(KEY, audience=DASHBOARD, reporters={KBA}, clock=clock)
    return issuer, checker


def test_a_token_names_its_component() -> None:
    """What the sink sends for a component, the collector reads back as that component."""
    issuer, checker = pair()
    assert checker.verify(issuer(KBA)["Authorization"]) == KBA


def test_the_shipped_authenticator_is_an_event_authenticator() -> None:
    """ReportingTokenAuthenticator fits the collector's EventAuthenticator interface."""
    assert isinstance(pair()[1], EventAuthenticator)


def test_a_changed_payload_is_refused() -> None:
    """Renaming the subject inside a token breaks its MAC."""
    issuer, checker = pair()
    version, payload, mac = issuer.token(KBA).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "noots-vs"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(AuthenticationError, match="key"):
        checker.verify(f"Bearer {version}.{forged}.{mac}")


def test_a_token_of_another_landscape_is_refused() -> None:
    """A token under another events key does not authenticate here."""
    clock = ManualClock()
    other = ReportingTokens(ReportingKey.from_secret("o" * 43), audience=DASHBOARD, clock=clock)
    with pytest.raises(AuthenticationError):
        pair(clock)[1].verify(other(KBA)["Authorization"])


def test_a_token_for_another_dashboard_is_refused() -> None:
    """The audience is the dashboard's participant id."""
    clock = ManualClock()
    other = ReportingTokens(KEY, audience="other-dashboard", clock=clock)
    with pytest.raises(AuthenticationError, match="another dashboard"):
        pair(clock)[1].verify(other(KBA)["Authorization"])


def test_a_token_expires() -> None:
    """After its lifetime (and the allowed skew) a captured token is worth nothing."""
    clock = ManualClock()
    issuer, checker = pair(clock)
    header = issuer(KBA)["Authorization"]
    clock.advance(TOKEN_LIFETIME + timedelta(seconds=59))
    assert checker.verify(header) == KBA
    clock.advance(timedelta(seconds=2))
    with pytest.raises(AuthenticationError, match="expired"):
        checker.verify(header)


def test_a_token_from_the_future_is_refused() -> None:
    """A token issued more than the skew ahead of the collector's clock is not yet valid."""
    clock = ManualClock()
    issuer = ReportingTokens(KEY, audience=DASHBOARD, clock=clock)
    header = issuer(KBA)["Authorization"]
    clock.advance(-timedelta(minutes=2))
    with pytest.raises(AuthenticationError, match="not yet valid"):
        pair(clock)[1].verify(header)


def test_the_sink_renews_its_token_before_it_expires() -> None:
    """The same token while it is fresh, a new one in its last minute."""
    clock = ManualClock()
    issuer = ReportingTokens(KEY, audience=DASHBOARD, clock=clock)
    first = issuer.token(KBA)
    clock.advance(TOKEN_LIFETIME - timedelta(seconds=61))
    assert issuer.token(KBA) == first
    clock.advance(timedelta(seconds=2))
    assert issuer.token(KBA) != first


def test_a_component_outside_the_landscape_is_not_authorised() -> None:
    """A valid token for an unknown participant: authenticated, but no reporter (403)."""
    issuer, checker = pair()
    with pytest.raises(AuthorisationError):
        checker.verify(issuer("evil")["Authorization"])


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Basic a2JhOnB3",
        "Bearer",
        "Bearer v1..",
        "Bearer v2.e30.abc",
        "Bearer " + "a" * 2000,
    ],
)
def test_headers_that_are_no_reporting_token_are_refused(header: str | None) -> None:
    """Missing, other schemes, malformed or oversized headers: AuthenticationError."""
    with pytest.raises(AuthenticationError):
        pair()[1].verify(header)


def test_the_key_never_shows_in_its_repr() -> None:
    """A logged key object does not reveal the key."""
    assert "k" * 10 not in repr(KEY)
    assert KEY.mac_key.hex() not in repr(KEY)


@given(st.text(max_size=1200))
def test_any_header_is_refused_with_a_typed_error(header: str) -> None:
    """Whatever arrives as Authorization: a noots error, never a crash (and never accepted)."""
    with pytest.raises(NootsError):
        pair()[1].verify(header)


@given(
    st.from_regex(r"[A-Za-z0-9_-]{1,200}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_-]{43}", fullmatch=True),
)
def test_any_well_formed_token_without_the_key_is_refused(payload: str, mac: str) -> None:
    """Token-shaped guesses are refused as AuthenticationError."""
    with pytest.raises(AuthenticationError):
        pair()[1].verify(f"Bearer v1.{payload}.{mac}")


@given(
    st.dictionaries(
        st.sampled_from(["sub", "aud", "iat", "exp", "x"]),
        st.from_type(object) | st.integers() | st.text(),
        max_size=5,
    )
)
def test_payloads_under_the_right_key_are_checked_too(claims: dict[str, object]) -> None:
    """Even a token with a valid MAC but odd claims is refused unless every claim is right."""
    try:
        raw = json.dumps(claims).encode()
    except (TypeError, ValueError):
        return
    signed = "v1." + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    mac = base64.urlsafe_b64encode(KEY.mac(signed.encode())).rstrip(b"=").decode()
    try:
        subject = pair()[1].verify(f"Bearer {signed}.{mac}")
    except NootsError:
        return
    assert subject == KBA
    assert claims["aud"] == DASHBOARD
