"""Access tokens of the IAM für Behörden: client assertions, tokens, the verifier, the source."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from noots import access
from noots.access import (
    ACCESS_TOKEN_TYPE,
    MAX_TOKEN_LENGTH,
    AccessTokenSource,
    bearer_challenge,
    build_client_assertion,
    certificate_thumbprint,
    issue_access_token,
    public_jwk,
    verify_client_assertion,
)
from noots.errors import (
    AccessDenied,
    AccessTokenError,
    AccessTokenExpired,
    AccessTokenInvalid,
    AccessTokenMissing,
    AccessTokenRefused,
    AccessTokenRevoked,
    CertificateError,
    CertificateRevoked,
    CertificateUntrusted,
    ClientAssertionInvalid,
    EdmCode,
    UpstreamError,
    UpstreamTimeout,
)
from noots.pki import KeyType, Role
from noots.testing.iam import TestIam, resign, unverified_parts, with_alg_none, with_hmac
from noots.testing.pki import TestPki

CONSUMER = "08118079-BPA-87"
SAK = "08118079-BPA-87.sak"
RDN = "noots-rdn"
IAM = "noots-iam"

_SHARED = TestPki()
_SHARED_IAM = TestIam(_SHARED)


@pytest.fixture
def pki() -> Iterator[TestPki]:
    with TestPki() as fresh:
        yield fresh


@pytest.fixture
def iam(pki: TestPki) -> TestIam:
    return TestIam(pki)


# --------------------------------------------------------------------------------------------
# Access tokens: what passes


def test_valid_token_gives_the_grant(iam: TestIam, pki: TestPki) -> None:
    """A token the IAM issued for this resource yields who calls, in which role, for whom."""
    token = iam.token(SAK, RDN, role=Role.SAK, acts_for=CONSUMER)
    grant = iam.verifier(RDN).verify(token)
    certificate = pki.credential(SAK, Role.SAK).certificate
    assert grant.subject == SAK
    assert grant.roles == frozenset({Role.SAK})
    assert grant.acts_for == CONSUMER
    assert grant.audience == RDN
    assert grant.expires_at - grant.issued_at == timedelta(minutes=5)
    assert grant.certificate_thumbprint == certificate_thumbprint(certificate)
    assert grant.certificate_serial == certificate.serial_number


def test_verify_caller_takes_only_the_subject_acting_for_whom_it_must(iam: TestIam) -> None:
    """verify_caller: the named subject acting for the named participant passes; another
    subject, or the subject acting for someone else, is AccessDenied."""
    verifier = iam.verifier(RDN)
    own = iam.token(SAK, RDN, role=Role.SAK, acts_for=CONSUMER)
    header = f"Bearer {own}"
    assert verifier.verify_caller(header, role=Role.SAK, subject=SAK).subject == SAK
    grant = verifier.verify_caller(header, role=Role.SAK, subject=SAK, acts_for=CONSUMER)
    assert grant.acts_for == CONSUMER
    with pytest.raises(AccessDenied, match=f"only from {CONSUMER}"):
        verifier.verify_caller(header, role=Role.SAK, subject=CONSUMER)
    with pytest.raises(AccessDenied, match=f"only from {SAK} acting for {RDN}"):
        verifier.verify_caller(header, role=Role.SAK, subject=SAK, acts_for=RDN)


def test_token_carries_the_rfc_9068_header_and_claims(iam: TestIam) -> None:
    """typ at+jwt, the IAM certificate in x5c, and the claims of RFC 9068 plus roles/acts_for."""
    header, claims = unverified_parts(iam.token(CONSUMER, RDN))
    assert header["typ"] == ACCESS_TOKEN_TYPE
    assert header["alg"] == "RS256"
    assert len(header["x5c"]) == 1
    assert set(claims) == {
        "iss", "sub", "client_id", "aud", "iat", "exp", "jti", "roles", "acts_for", "cnf",
        "cert_serial",
    }  # fmt: skip
    assert claims["iss"] == IAM
    assert claims["aud"] == RDN
    assert claims["roles"] == ["consumer"]


def test_ecdsa_iam_signs_es256_tokens() -> None:
    """With ECDSA P-256 keys the IAM signs ES256, and the verifier accepts exactly that."""
    with TestPki(key_type=KeyType.ECDSA_P256) as pki:
        iam = TestIam(pki)
        token = iam.token(CONSUMER, RDN)
        assert unverified_parts(token)[0]["alg"] == "ES256"
        assert iam.verifier(RDN).verify(token).subject == CONSUMER


def test_token_within_the_leeway_still_passes(iam: TestIam, pki: TestPki) -> None:
    """A token expired by less than the leeway (clock difference) is still accepted."""
    token = iam.token(CONSUMER, RDN)
    pki.clock.advance(timedelta(minutes=5, seconds=29))
    assert iam.verifier(RDN, leeway=timedelta(seconds=30)).verify(token).subject == CONSUMER


def test_one_of_the_asked_roles_is_enough(iam: TestIam) -> None:
    """roles= lists what the resource accepts; the token needs one of them."""
    token = iam.token(SAK, RDN, role=Role.SAK)
    grant = iam.verifier(RDN).verify(token, roles={Role.CONSUMER, Role.SAK})
    assert Role.SAK in grant.roles


def test_authorization_header_is_parsed(iam: TestIam) -> None:
    """verify_authorization takes the value of an Authorization: Bearer header."""
    header = iam.authorization(CONSUMER, RDN)["Authorization"]
    assert iam.verifier(RDN).verify_authorization(header).subject == CONSUMER
    lower = "bearer " + header.split(" ", 1)[1]
    assert iam.verifier(RDN).verify_authorization(lower).subject == CONSUMER


def test_verified_token_is_cached_and_the_signature_checked_once(
    iam: TestIam, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second verification of the same token does not decode it again."""
    calls = 0
    decode = jwt.decode

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return decode(*args, **kwargs)

    monkeypatch.setattr(access.jwt, "decode", counting)
    verifier = iam.verifier(RDN)
    token = iam.token(CONSUMER, RDN)
    verifier.verify(token)
    verifier.verify(token)
    verifier.verify(token)
    assert calls == 1
    assert len(verifier) == 1


def test_cache_is_bounded(iam: TestIam) -> None:
    """At most cache_size verified tokens are kept (least recently used out first)."""
    verifier = iam.verifier(RDN, cache_size=2)
    for _ in range(3):
        verifier.verify(iam.token(CONSUMER, RDN))
    assert len(verifier) == 2


# --------------------------------------------------------------------------------------------
# Access tokens: what is refused


def test_missing_header_is_refused(iam: TestIam) -> None:
    """No Authorization header: AccessTokenMissing (EDM:ERR:0001, HTTP 401)."""
    with pytest.raises(AccessTokenMissing) as caught:
        iam.verifier(RDN).verify_authorization(None)
    assert caught.value.code is EdmCode.AUTHENTICATION
    assert caught.value.code.http_status == 401


def test_other_authorization_scheme_is_missing_token(iam: TestIam) -> None:
    """Basic credentials are no bearer token."""
    with pytest.raises(AccessTokenMissing):
        iam.verifier(RDN).verify_authorization("Basic dXNlcjpwYXNz")


def test_empty_token_is_missing(iam: TestIam) -> None:
    """An empty string presented as token is no token."""
    with pytest.raises(AccessTokenMissing):
        iam.verifier(RDN).verify("")


def test_bearer_without_token_is_invalid(iam: TestIam) -> None:
    """'Bearer' followed by nothing usable is refused as invalid."""
    with pytest.raises(AccessTokenInvalid):
        iam.verifier(RDN).verify_authorization("Bearer a b")


@pytest.mark.parametrize(
    "token",
    ["abc", "a.b.c", "a.b", "....", "eyJhbGciOiJSUzI1NiJ9.e30.", "é.é.é"],
    ids=["one-part", "junk-parts", "two-parts", "empty-parts", "no-signature", "non-ascii"],
)
def test_malformed_token_is_invalid(iam: TestIam, token: str) -> None:
    """Anything that is not a compact JWS of the IAM is AccessTokenInvalid."""
    with pytest.raises(AccessTokenInvalid):
        iam.verifier(RDN).verify(token)


def test_oversized_token_is_refused_before_parsing(iam: TestIam) -> None:
    """A token longer than MAX_TOKEN_LENGTH is refused outright."""
    with pytest.raises(AccessTokenInvalid, match="longer than"):
        iam.verifier(RDN).verify("a." + "b" * MAX_TOKEN_LENGTH + ".c")


def test_expired_token_is_refused_by_the_injected_clock(iam: TestIam, pki: TestPki) -> None:
    """Once the clock passes exp + leeway the token is expired, also when it was cached."""
    verifier = iam.verifier(RDN)
    token = iam.token(CONSUMER, RDN)
    verifier.verify(token)
    pki.clock.advance(timedelta(minutes=5, seconds=31))
    with pytest.raises(AccessTokenExpired):
        verifier.verify(token)
    assert len(verifier) == 0


def test_token_minted_expired_is_refused(iam: TestIam) -> None:
    """A token whose exp lies an hour back is expired."""
    with pytest.raises(AccessTokenExpired):
        iam.verifier(RDN).verify(iam.expired_token(CONSUMER, RDN))


def test_token_not_yet_valid_is_refused(iam: TestIam) -> None:
    """A token issued an hour from now is not valid yet."""
    with pytest.raises(AccessTokenInvalid, match="not valid yet"):
        iam.verifier(RDN).verify(iam.future_token(CONSUMER, RDN))


def test_nbf_in_the_future_is_refused(iam: TestIam) -> None:
    """An nbf beyond the leeway keeps the token from being used yet."""
    token = iam.token(CONSUMER, RDN)
    later = unverified_parts(token)[1]["iat"] + 3600
    with pytest.raises(AccessTokenInvalid, match="not valid yet"):
        iam.verifier(RDN).verify(resign(token, iam.credential, claims={"nbf": later}))


def test_clock_set_back_makes_a_cached_token_not_yet_valid(iam: TestIam, pki: TestPki) -> None:
    """The cached path checks the times too: a clock moved back an hour refuses the token."""
    verifier = iam.verifier(RDN)
    token = iam.token(CONSUMER, RDN)
    verifier.verify(token)
    pki.clock.advance(timedelta(hours=-1))
    with pytest.raises(AccessTokenInvalid, match="not valid yet"):
        verifier.verify(token)


def test_wrong_audience_is_denied(iam: TestIam) -> None:
    """A valid token for another resource: AccessDenied (EDM:ERR:0002, HTTP 403)."""
    with pytest.raises(AccessDenied) as caught:
        iam.verifier(RDN).verify(iam.token(CONSUMER, "noots-vs"))
    assert caught.value.code.http_status == 403


def test_wrong_role_is_denied(iam: TestIam) -> None:
    """A valid token without any of the roles the resource asks for: AccessDenied."""
    token = iam.token(CONSUMER, RDN)
    with pytest.raises(AccessDenied, match="needs the role sak"):
        iam.verifier(RDN).verify(token, roles={Role.SAK})


def test_wrong_issuer_is_refused(iam: TestIam) -> None:
    """The IAM's signature over an iss that is not the IAM's id is refused."""
    token = resign(iam.token(CONSUMER, RDN), iam.credential, claims={"iss": "other-iam"})
    with pytest.raises(AccessTokenInvalid, match="not issued by"):
        iam.verifier(RDN).verify(token)


def test_token_signed_by_a_non_iam_certificate_is_refused(iam: TestIam) -> None:
    """A participant certificate of the same PKI (role consumer) cannot issue tokens."""
    with pytest.raises(AccessTokenInvalid, match="not signed by the IAM"):
        iam.verifier(RDN).verify(iam.forged_token(CONSUMER, RDN))


def test_token_signed_by_another_iam_id_is_refused(iam: TestIam, pki: TestPki) -> None:
    """An IAM certificate, but for another IAM id than the resource trusts."""
    other = TestIam(pki, iam_id="other-iam")
    with pytest.raises(AccessTokenInvalid, match="not signed by noots-iam"):
        iam.verifier(RDN).verify(other.token(CONSUMER, RDN))


def test_token_of_an_untrusted_pki_is_refused(iam: TestIam) -> None:
    """An IAM of another CA: its x5c certificate has no path to the trust anchor."""
    with TestPki() as foreign:
        token = TestIam(foreign).token(CONSUMER, RDN)
    with pytest.raises(AccessTokenInvalid, match="not issued by the trust anchor"):
        iam.verifier(RDN).verify(token)


def _der_with_broken_issuer(certificate: x509.Certificate) -> bytes:
    """The certificate's DER with one byte of its issuer name broken, such that cryptography
    still loads it and fails only when the issuer is read."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    issuer = certificate.issuer.public_bytes()
    start = der.find(issuer)
    for offset in range(start, start + len(issuer)):
        mutated = bytearray(der)
        mutated[offset] = 0xFF
        try:
            loaded = x509.load_der_x509_certificate(bytes(mutated))
        except ValueError:
            continue
        try:
            _ = loaded.issuer
        except ValueError:
            return bytes(mutated)
    raise AssertionError("no lazily failing mutation found")


def test_x5c_that_fails_only_when_read_is_invalid(iam: TestIam) -> None:
    """A certificate cryptography loads but cannot read the issuer of is a typed refusal."""
    broken = base64.b64encode(_der_with_broken_issuer(iam.credential.certificate)).decode()
    token = resign(iam.token(CONSUMER, RDN), iam.credential, header={"x5c": [broken]})
    with pytest.raises(AccessTokenInvalid, match="x5c is not a DER certificate"):
        iam.verifier(RDN).verify(token)


def test_alg_none_is_refused(iam: TestIam) -> None:
    """alg none with no signature is never accepted."""
    with pytest.raises(AccessTokenInvalid):
        iam.verifier(RDN).verify(with_alg_none(iam.token(CONSUMER, RDN)))


def test_hs256_with_the_public_key_is_refused(iam: TestIam) -> None:
    """Algorithm confusion: HMAC keyed with the IAM certificate's public key is refused."""
    public = iam.credential.certificate.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(AccessTokenInvalid, match="alg must be RS256"):
        iam.verifier(RDN).verify(with_hmac(iam.token(CONSUMER, RDN), public))


def test_alg_not_matching_the_key_is_refused(iam: TestIam) -> None:
    """An RSA certificate with a header claiming ES256 is refused before any verification."""
    token = iam.token(CONSUMER, RDN)
    header, payload, signature = token.split(".")
    decoded = json.loads(jwt.utils.base64url_decode(header))
    forged = jwt.utils.base64url_encode(json.dumps({**decoded, "alg": "ES256"}).encode()).decode()
    with pytest.raises(AccessTokenInvalid, match="alg must be RS256"):
        iam.verifier(RDN).verify(f"{forged}.{payload}.{signature}")


def test_client_assertion_is_not_an_access_token(iam: TestIam) -> None:
    """A JWT without typ at+jwt (here a client assertion) is refused by a resource."""
    with pytest.raises(AccessTokenInvalid, match="typ must be at\\+jwt"):
        iam.verifier(IAM).verify(iam.assertion(CONSUMER))


def test_key_fetching_header_is_refused(iam: TestIam) -> None:
    """jku, jwk, x5u and crit are refused: the verifier trusts only x5c against its anchor."""
    token = resign(iam.token(CONSUMER, RDN), iam.credential, header={"jku": "http://evil/"})
    with pytest.raises(AccessTokenInvalid, match="jku"):
        iam.verifier(RDN).verify(token)


@pytest.mark.parametrize("claim", ["cnf", "roles", "acts_for", "cert_serial", "jti", "exp"])
def test_token_without_a_required_claim_is_refused(iam: TestIam, claim: str) -> None:
    """Each claim of the profile is required."""
    token = resign(iam.token(CONSUMER, RDN), iam.credential, drop={claim})
    with pytest.raises(AccessTokenInvalid, match=f"lacks the claim {claim}"):
        iam.verifier(RDN).verify(token)


def test_unknown_role_is_refused(iam: TestIam) -> None:
    """roles must name roles of the PKI."""
    token = resign(iam.token(CONSUMER, RDN), iam.credential, claims={"roles": ["admin"]})
    with pytest.raises(AccessTokenInvalid, match="unknown role"):
        iam.verifier(RDN).verify(token)


def test_revocation_of_the_client_takes_effect_at_once(iam: TestIam, pki: TestPki) -> None:
    """Revoked through the CA, the very next verification of a cached token fails."""
    verifier = iam.verifier(RDN)
    token = iam.token(CONSUMER, RDN)
    verifier.verify(token)
    pki.revoke(CONSUMER)
    with pytest.raises(AccessTokenRevoked) as caught:
        verifier.verify(token)
    assert "02476291358" not in caught.value.message


def test_revocation_of_the_iam_takes_effect_at_once(iam: TestIam, pki: TestPki) -> None:
    """A revoked IAM certificate makes every token it signed unusable."""
    verifier = iam.verifier(RDN)
    token = iam.token(CONSUMER, RDN)
    verifier.verify(token)
    pki.revoke(IAM)
    with pytest.raises(AccessTokenRevoked):
        verifier.verify(token)


def test_bearer_challenge_names_the_error() -> None:
    """WWW-Authenticate: invalid_token for 401s, insufficient_scope for 403s, bare if missing."""
    assert bearer_challenge(AccessTokenMissing("x")) == 'Bearer realm="noots"'
    assert 'error="invalid_token"' in bearer_challenge(AccessTokenExpired("expired"))
    assert 'error="insufficient_scope"' in bearer_challenge(AccessDenied('a "b"'))
    assert "\"a 'b'\"" in bearer_challenge(AccessDenied('a "b"'))


def test_jwk_of_the_iam_verifies_its_tokens(iam: TestIam) -> None:
    """The published JWK is the IAM's key: PyJWT verifies a token with it."""
    jwk = jwt.PyJWK(public_jwk(iam.credential.certificate))
    claims = jwt.decode(
        iam.token(CONSUMER, RDN),
        jwk,
        algorithms=["RS256"],
        audience=RDN,
        options={"verify_exp": False, "verify_iat": False},  # the test clock is not the wall's
    )
    assert claims["sub"] == CONSUMER


def test_issuing_needs_the_iam_credential(pki: TestPki) -> None:
    """Only an IAM certificate issues tokens."""
    consumer = TestIam(pki).client(CONSUMER)
    with pytest.raises(ValueError, match="not the IAM"):
        issue_access_token(
            pki.credential(CONSUMER),
            client=consumer,
            audience=RDN,
            acts_for=CONSUMER,
            clock=pki.clock,
        )


# --------------------------------------------------------------------------------------------
# Mangled tokens (property tests)

_TOKEN = _SHARED_IAM.token(CONSUMER, RDN)
_TYPED = (AccessTokenError, AccessDenied)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    position=st.integers(min_value=0, max_value=len(_TOKEN) - 1),
    replacement=st.characters(codec="ascii"),
)
def test_a_changed_character_never_passes(position: int, replacement: str) -> None:
    """Any single character changed: never a grant, always a typed error."""
    mangled = _TOKEN[:position] + replacement + _TOKEN[position + 1 :]
    if mangled == _TOKEN:
        return
    with pytest.raises(_TYPED):
        _SHARED_IAM.verifier(RDN).verify(mangled)


@settings(max_examples=150, deadline=None)
@given(cut=st.integers(min_value=0, max_value=len(_TOKEN) - 1), tail=st.text(max_size=40))
def test_a_truncated_or_extended_token_never_passes(cut: int, tail: str) -> None:
    """Cut anywhere and followed by anything: never a grant, always a typed error."""
    mangled = _TOKEN[:cut] + tail
    if mangled == _TOKEN:
        return
    with pytest.raises(_TYPED):
        _SHARED_IAM.verifier(RDN).verify(mangled)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(claim=st.sampled_from(sorted(unverified_parts(_TOKEN)[1])), value=_JSON)
def test_any_claim_value_signed_by_the_iam_gives_a_grant_or_a_typed_error(
    claim: str, value: object
) -> None:
    """Even with the IAM's signature, odd claim values never cause anything but typed errors."""
    try:
        token = resign(_TOKEN, _SHARED_IAM.credential, claims={claim: value})
    except (TypeError, ValueError, jwt.PyJWTError):
        return  # PyJWT itself refuses to build it
    try:
        grant = _SHARED_IAM.verifier(RDN).verify(token)
    except _TYPED:
        return
    assert grant.audience == RDN


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.text(min_size=1, max_size=8), value=_JSON)
def test_any_header_value_gives_a_typed_error_or_the_genuine_grant(
    name: str, value: object
) -> None:
    """Extra or changed header parameters (re-signed by the IAM) never escape the error tree."""
    try:
        token = resign(_TOKEN, _SHARED_IAM.credential, header={name: value})
    except (TypeError, ValueError, jwt.PyJWTError):
        return  # PyJWT itself refuses to build it
    try:
        grant = _SHARED_IAM.verifier(RDN).verify(token)
    except _TYPED:
        return
    assert grant.subject == CONSUMER


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.hex()))
def test_arbitrary_text_is_a_typed_error(text: str) -> None:
    """Whatever a client sends as token, the verifier answers with a typed error."""
    with pytest.raises(_TYPED):
        _SHARED_IAM.verifier(RDN).verify_authorization(f"Bearer {text}")


# --------------------------------------------------------------------------------------------
# Client assertions


def _verify_assertion(pki: TestPki, assertion: str) -> access.VerifiedAssertion:
    return verify_client_assertion(
        assertion, validator=pki.validator(), iam_id=IAM, clock=pki.clock
    )


def test_valid_assertion_names_the_client(iam: TestIam, pki: TestPki) -> None:
    """A fresh assertion yields the client's certificate, its jti and exp."""
    verified = _verify_assertion(pki, iam.assertion(SAK, Role.SAK))
    assert verified.client.participant_id == SAK
    assert verified.client.role is Role.SAK
    assert verified.expires_at == pki.clock.now() + timedelta(seconds=60)
    header, claims = unverified_parts(iam.assertion(SAK, Role.SAK))
    assert claims["iss"] == claims["sub"] == SAK
    assert claims["aud"] == IAM
    assert header["alg"] == "RS256"


def test_two_assertions_have_different_replay_ids(iam: TestIam, pki: TestPki) -> None:
    """Each assertion has a fresh jti, so its replay id differs."""
    first = _verify_assertion(pki, iam.assertion(CONSUMER))
    second = _verify_assertion(pki, iam.assertion(CONSUMER))
    assert first.replay_id != second.replay_id


def test_assertion_for_another_audience_is_refused(iam: TestIam, pki: TestPki) -> None:
    """An assertion addressed to another IAM cannot be used here."""
    with pytest.raises(ClientAssertionInvalid, match="not addressed to noots-iam"):
        _verify_assertion(pki, iam.assertion(CONSUMER, iam_id="other-iam"))


def test_assertion_with_an_untrusted_x5c_is_refused(pki: TestPki) -> None:
    """A certificate of another CA in x5c: no path to the trust anchor."""
    with TestPki() as foreign:
        assertion = TestIam(foreign).assertion(CONSUMER)
    with pytest.raises(CertificateUntrusted):
        _verify_assertion(pki, assertion)


def test_assertion_of_a_revoked_client_is_refused(iam: TestIam, pki: TestPki) -> None:
    """A revoked certificate authenticates nobody."""
    assertion = iam.assertion(CONSUMER)
    pki.revoke(CONSUMER)
    with pytest.raises(CertificateRevoked):
        _verify_assertion(pki, assertion)


def test_assertion_of_an_expired_certificate_is_refused(pki: TestPki) -> None:
    """The x5c certificate must be valid now."""
    short = pki.credential("short-lived", validity=timedelta(days=1))
    pki.clock.advance(timedelta(days=2))
    assertion = build_client_assertion(short, iam_id=IAM, clock=pki.clock)
    with pytest.raises(CertificateError):
        _verify_assertion(pki, assertion)


def test_assertion_iss_must_be_the_certificate(iam: TestIam, pki: TestPki) -> None:
    """A client cannot assert another participant's id under its own certificate."""
    assertion = resign(
        iam.assertion(CONSUMER), pki.credential(CONSUMER), claims={"iss": SAK, "sub": SAK}
    )
    with pytest.raises(ClientAssertionInvalid, match="certificate's participant id"):
        _verify_assertion(pki, assertion)


def test_assertion_signed_with_another_key_is_refused(iam: TestIam, pki: TestPki) -> None:
    """x5c of the consumer, signature by another participant's key."""
    genuine = iam.assertion(CONSUMER)
    header = unverified_parts(genuine)[0]
    forged = resign(genuine, pki.credential("someone-else"), header={"x5c": header["x5c"]})
    with pytest.raises(ClientAssertionInvalid, match="signature does not verify"):
        _verify_assertion(pki, forged)


def test_expired_assertion_is_refused(iam: TestIam, pki: TestPki) -> None:
    """Past exp (+ leeway) by the injected clock the assertion is expired."""
    assertion = iam.assertion(CONSUMER)
    pki.clock.advance(timedelta(seconds=91))
    with pytest.raises(ClientAssertionInvalid, match="expired"):
        _verify_assertion(pki, assertion)


def test_long_lived_assertion_is_refused(iam: TestIam, pki: TestPki) -> None:
    """exp more than five minutes after iat is refused (assertions are short-lived)."""
    genuine = iam.assertion(CONSUMER)
    claims = unverified_parts(genuine)[1]
    longer = resign(genuine, pki.credential(CONSUMER), claims={"exp": claims["iat"] + 3600})
    with pytest.raises(ClientAssertionInvalid, match="lives longer"):
        _verify_assertion(pki, longer)


def test_future_assertion_is_refused(iam: TestIam, pki: TestPki) -> None:
    """An assertion issued beyond the leeway in the future is not valid yet."""
    assertion = iam.assertion(CONSUMER)
    pki.clock.advance(timedelta(minutes=-2))
    with pytest.raises(ClientAssertionInvalid, match="not valid yet"):
        _verify_assertion(pki, assertion)


def test_alg_none_assertion_is_refused(iam: TestIam, pki: TestPki) -> None:
    """An unsigned assertion authenticates nobody."""
    with pytest.raises(ClientAssertionInvalid):
        _verify_assertion(pki, with_alg_none(iam.assertion(CONSUMER)))


def test_access_token_is_not_a_client_assertion(iam: TestIam, pki: TestPki) -> None:
    """A token the IAM issued cannot be turned into a client assertion."""
    with pytest.raises(ClientAssertionInvalid, match="not a client assertion"):
        _verify_assertion(pki, iam.token(CONSUMER, IAM))


def test_assertion_lifetime_is_bounded_when_built(pki: TestPki) -> None:
    """build_client_assertion refuses lifetimes of zero or above five minutes."""
    for lifetime in (timedelta(0), timedelta(minutes=6)):
        with pytest.raises(ValueError, match="lives more than 0"):
            build_client_assertion(
                pki.credential(CONSUMER), iam_id=IAM, clock=pki.clock, lifetime=lifetime
            )


def test_ecdsa_client_signs_es256_assertions() -> None:
    """An ECDSA P-256 client signs ES256 and the IAM accepts it."""
    with TestPki(key_type=KeyType.ECDSA_P256) as pki:
        assertion = TestIam(pki).assertion(CONSUMER)
        assert unverified_parts(assertion)[0]["alg"] == "ES256"
        assert _verify_assertion(pki, assertion).client.participant_id == CONSUMER


_ASSERTION = _SHARED_IAM.assertion(CONSUMER, lifetime=timedelta(minutes=5))
_ASSERTION_ERRORS = (ClientAssertionInvalid, CertificateError)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    position=st.integers(min_value=0, max_value=len(_ASSERTION) - 1),
    replacement=st.characters(codec="ascii"),
)
def test_a_changed_character_in_an_assertion_never_passes(position: int, replacement: str) -> None:
    """Any single character of an assertion changed: refused with a typed error."""
    mangled = _ASSERTION[:position] + replacement + _ASSERTION[position + 1 :]
    if mangled == _ASSERTION:
        return
    with pytest.raises(_ASSERTION_ERRORS):
        _verify_assertion(_SHARED, mangled)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(claim=st.sampled_from(sorted(unverified_parts(_ASSERTION)[1])), value=_JSON)
def test_any_assertion_claim_value_is_accepted_or_a_typed_error(claim: str, value: object) -> None:
    """Odd claim values, even correctly signed, never escape the error tree."""
    try:
        token = resign(_ASSERTION, _SHARED.credential(CONSUMER), claims={claim: value})
    except (TypeError, ValueError, jwt.PyJWTError):
        return  # PyJWT itself refuses to build it
    try:
        verified = _verify_assertion(_SHARED, token)
    except _ASSERTION_ERRORS:
        return
    assert verified.client.participant_id == CONSUMER


# --------------------------------------------------------------------------------------------
# The token source (client side), against a stand-in IAM


class FakeIam:
    """Answers token requests like the IAM (or as told), and counts them."""

    def __init__(self, iam: TestIam) -> None:
        self.iam = iam
        self.requests: list[dict[str, str]] = []
        self.answer: httpx.Response | None = None
        self.gate: asyncio.Event | None = None

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        self.requests.append(form)
        if self.gate is not None:
            await self.gate.wait()
        if self.answer is not None:
            return self.answer
        verified = verify_client_assertion(
            form["client_assertion"],
            validator=self.iam.pki.validator(),
            iam_id=IAM,
            clock=self.iam.clock,
        )
        token = self.iam.token(verified.client.participant_id, form["audience"])
        return httpx.Response(
            200,
            json={
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": 300,
                "audience": form["audience"],
            },
        )


def _source(iam: TestIam, fake: FakeIam, **options: Any) -> AccessTokenSource:
    return AccessTokenSource(
        iam.pki.credential(CONSUMER),
        iam_url="http://platform.test",
        iam_id=IAM,
        clock=iam.clock,
        transport=httpx.MockTransport(fake),
        **options,
    )


async def test_source_asks_the_iam_with_a_client_assertion(iam: TestIam) -> None:
    """The request is the client credentials grant with an RFC 7523 assertion."""
    fake = FakeIam(iam)
    async with _source(iam, fake) as source:
        token = await source.token(RDN)
    assert iam.verifier(RDN).verify(token).subject == CONSUMER
    form = fake.requests[0]
    assert form["grant_type"] == "client_credentials"
    assert form["client_assertion_type"].endswith(":jwt-bearer")
    assert form["audience"] == RDN


async def test_source_caches_per_audience(iam: TestIam) -> None:
    """A second call for the same audience is served from the cache; another audience asks."""
    fake = FakeIam(iam)
    async with _source(iam, fake) as source:
        first = await source.token(RDN)
        assert await source.token(RDN) == first
        await source.token("noots-vs")
    assert [form["audience"] for form in fake.requests] == [RDN, "noots-vs"]


async def test_source_renews_a_margin_before_expiry(iam: TestIam) -> None:
    """Within margin of the expiry the source fetches a new token."""
    fake = FakeIam(iam)
    async with _source(iam, fake, margin=timedelta(seconds=30)) as source:
        await source.token(RDN)
        iam.pki.clock.advance(timedelta(seconds=269))
        await source.token(RDN)
        assert len(fake.requests) == 1
        iam.pki.clock.advance(timedelta(seconds=2))
        await source.token(RDN)
    assert len(fake.requests) == 2


async def test_source_concurrent_callers_share_one_request(iam: TestIam) -> None:
    """Ten callers at once for one audience cause one request to the IAM."""
    fake = FakeIam(iam)
    fake.gate = asyncio.Event()
    async with _source(iam, fake) as source:
        calls = [asyncio.ensure_future(source.token(RDN)) for _ in range(10)]
        await asyncio.sleep(0)
        fake.gate.set()
        tokens = await asyncio.gather(*calls)
    assert len(set(tokens)) == 1
    assert len(fake.requests) == 1


async def test_source_invalidate_forgets_the_token(iam: TestIam) -> None:
    """After invalidate the next call asks the IAM again."""
    fake = FakeIam(iam)
    async with _source(iam, fake) as source:
        await source.token(RDN)
        source.invalidate(RDN)
        headers = await source.authorization(RDN)
    assert headers["Authorization"].startswith("Bearer ey")
    assert len(fake.requests) == 2


async def test_source_refused_client_is_a_typed_error(iam: TestIam) -> None:
    """invalid_client from the IAM: AccessTokenRefused with the IAM's description."""
    fake = FakeIam(iam)
    fake.answer = httpx.Response(
        401, json={"error": "invalid_client", "error_description": "certificate has been revoked"}
    )
    async with _source(iam, fake) as source:
        with pytest.raises(AccessTokenRefused, match="certificate has been revoked") as caught:
            await source.token(RDN)
    assert caught.value.oauth_error == "invalid_client"
    assert caught.value.component == IAM


async def test_source_unregistered_audience_is_access_denied(iam: TestIam) -> None:
    """invalid_target from the IAM: AccessDenied (EDM:ERR:0002)."""
    fake = FakeIam(iam)
    fake.answer = httpx.Response(
        403, json={"error": "invalid_target", "error_description": "not registered"}
    )
    async with _source(iam, fake) as source:
        with pytest.raises(AccessDenied, match="invalid_target"):
            await source.token(RDN)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="not json"),
        httpx.Response(200, json={"access_token": "x y", "token_type": "Bearer", "expires_in": 1}),
        httpx.Response(200, json={"access_token": "a.b.c", "token_type": "mac", "expires_in": 1}),
        httpx.Response(
            200,
            json={
                "access_token": "a.b.c",
                "token_type": "Bearer",
                "expires_in": 300,
                "audience": "noots-vs",
            },
        ),
        httpx.Response(500, json={"error": "server_error"}),
        httpx.Response(502, text="bad gateway"),
    ],
    ids=["not-json", "space-in-token", "not-bearer", "other-audience", "500", "502"],
)
async def test_source_garbage_from_the_iam_is_upstream_error(
    iam: TestIam, answer: httpx.Response
) -> None:
    """An answer that is no usable token answer is UpstreamError, never a bare exception."""
    fake = FakeIam(iam)
    fake.answer = answer
    async with _source(iam, fake) as source:
        with pytest.raises(UpstreamError):
            await source.token(RDN)


async def test_source_unreachable_iam_is_upstream_error(iam: TestIam) -> None:
    """A refused connection is UpstreamError naming the IAM."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    source = AccessTokenSource(
        iam.pki.credential(CONSUMER),
        iam_url="http://platform.test",
        iam_id=IAM,
        clock=iam.clock,
        transport=httpx.MockTransport(refuse),
    )
    async with source:
        with pytest.raises(UpstreamError) as caught:
            await source.token(RDN)
    assert caught.value.component == IAM


async def test_source_slow_iam_is_upstream_timeout(iam: TestIam) -> None:
    """An IAM that does not answer within the timeout is UpstreamTimeout."""
    fake = FakeIam(iam)
    fake.gate = asyncio.Event()  # never set
    async with _source(iam, fake, timeout=0.05) as source:
        with pytest.raises(UpstreamTimeout):
            await source.token(RDN)
