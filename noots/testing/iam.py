"""Access tokens for tests, without HTTP: the IAM of a :class:`~noots.testing.pki.TestPki`.

::

    pki = TestPki()
    iam = TestIam(pki)
    verifier = iam.verifier("noots-rdn")
    grant = verifier.verify(iam.token("08118079-BPA-87.sak", "noots-rdn", role=Role.SAK))
    verifier.verify(iam.expired_token("08118079-BPA-87", "noots-rdn"))    # AccessTokenExpired
    headers = iam.authorization("08118079-BPA-87", "noots-ida")            # for an HTTP test

Tokens are minted with :func:`noots.access.issue_access_token` and the TestPki's IAM
credential, so they are exactly what the real IAM issues; the broken ones (expired, not yet
valid, another audience or role, signed by a non-IAM certificate, ``alg: none``, HMAC with the
public key) are what a resource must refuse. Minting does not check the client's certificate:
a token for a revoked participant can be made, and must then be refused by the verifier.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization

from noots.access import AccessTokenVerifier, build_client_assertion, issue_access_token
from noots.clock import Clock
from noots.pki import IssuedCredential, Role, ValidatedCertificate
from noots.testing.pki import TestPki
from noots.topology import Topology

__all__ = [
    "TestIam",
    "landscape_token",
    "resign",
    "unverified_parts",
    "with_alg_none",
    "with_hmac",
]


@dataclass(frozen=True)
class _At:
    """A clock stopped at one instant (to mint a token "issued" then)."""

    instant: datetime

    def now(self) -> datetime:
        return self.instant


class TestIam:
    """Mints access tokens and client assertions for the participants of ``pki``."""

    __test__ = False  # not a pytest test class despite the name

    def __init__(
        self,
        pki: TestPki,
        *,
        iam_id: str = "noots-iam",
        lifetime: timedelta = timedelta(minutes=5),
    ) -> None:
        self.pki = pki
        self.iam_id = iam_id
        self.lifetime = lifetime

    @property
    def clock(self) -> Clock:
        return self.pki.clock

    @property
    def credential(self) -> IssuedCredential:
        """The IAM's credential (issued on first use)."""
        return self.pki.credential(self.iam_id, Role.IAM)

    def client(self, participant_id: str, role: Role = Role.CONSUMER) -> ValidatedCertificate:
        """The participant's certificate as the IAM would have validated it."""
        credential = self.pki.credential(participant_id, role)
        return ValidatedCertificate(participant_id, credential.role, credential.certificate)

    def token(
        self,
        participant_id: str,
        audience: str,
        *,
        role: Role = Role.CONSUMER,
        acts_for: str | None = None,
        issued_at: datetime | None = None,
        lifetime: timedelta | None = None,
        roles: Collection[Role] | None = None,
    ) -> str:
        """A valid token of ``participant_id`` (with a certificate in ``role``) for
        ``audience``, issued now (or at ``issued_at``)."""
        return issue_access_token(
            self.credential,
            client=self.client(participant_id, role),
            audience=audience,
            acts_for=acts_for or Topology.acts_for(participant_id),
            clock=_At(issued_at or self.clock.now()),
            lifetime=lifetime or self.lifetime,
            roles=roles,
        )

    def expired_token(
        self, participant_id: str, audience: str, *, role: Role = Role.CONSUMER
    ) -> str:
        """A token that expired an hour ago."""
        issued = self.clock.now() - self.lifetime - timedelta(hours=1)
        return self.token(participant_id, audience, role=role, issued_at=issued)

    def future_token(
        self, participant_id: str, audience: str, *, role: Role = Role.CONSUMER
    ) -> str:
        """A token issued an hour from now (not valid yet)."""
        issued = self.clock.now() + timedelta(hours=1)
        return self.token(participant_id, audience, role=role, issued_at=issued)

    def forged_token(
        self,
        participant_id: str,
        audience: str,
        *,
        role: Role = Role.CONSUMER,
        signer_id: str = "noots-forger",
        signer_role: Role = Role.CONSUMER,
    ) -> str:
        """A token with the IAM's claims, signed by another participant's certificate (valid
        in the PKI, but not the IAM's)."""
        genuine = self.token(participant_id, audience, role=role)
        return resign(genuine, self.pki.credential(signer_id, signer_role))

    def authorization(
        self, participant_id: str, audience: str, *, role: Role = Role.CONSUMER
    ) -> dict[str, str]:
        """``{"Authorization": "Bearer <valid token>"}``."""
        return {"Authorization": f"Bearer {self.token(participant_id, audience, role=role)}"}

    def verifier(self, audience: str, **options: Any) -> AccessTokenVerifier:
        """The verifier a resource ``audience`` of this PKI uses (options as the class)."""
        return AccessTokenVerifier(
            self.pki.validator(),
            iam_id=self.iam_id,
            audience=audience,
            clock=self.clock,
            **options,
        )

    def assertion(
        self,
        participant_id: str,
        role: Role = Role.CONSUMER,
        *,
        iam_id: str | None = None,
        lifetime: timedelta = timedelta(seconds=60),
    ) -> str:
        """A client assertion of ``participant_id`` for this IAM (or for ``iam_id``)."""
        return build_client_assertion(
            self.pki.credential(participant_id, role),
            iam_id=iam_id or self.iam_id,
            clock=self.clock,
            lifetime=lifetime,
        )


# --------------------------------------------------------------------------------------------
# Taking tokens apart and putting them together wrongly


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(header, claims)`` of a token, without any check (to build a variant of it)."""
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    return header, claims


def resign(
    token: str,
    signer: IssuedCredential,
    *,
    header: Mapping[str, Any] | None = None,
    claims: Mapping[str, Any] | None = None,
    drop: Collection[str] = (),
    algorithm: str | None = None,
) -> str:
    """``token`` with ``claims`` changed (``drop`` removed), signed anew by ``signer``, whose
    certificate goes into ``x5c`` unless ``header`` says otherwise."""
    old_header, old_claims = unverified_parts(token)
    new_claims = {k: v for k, v in {**old_claims, **(claims or {})}.items() if k not in drop}
    der = signer.certificate.public_bytes(serialization.Encoding.DER)
    new_header = {
        "typ": old_header.get("typ", "JWT"),
        "x5c": [base64.b64encode(der).decode("ascii")],
        **(header or {}),
    }
    chosen = algorithm or ("ES256" if signer.key_type.value.startswith("ecdsa") else "RS256")
    return jwt.encode(new_claims, signer.private_key, algorithm=chosen, headers=new_header)


def with_alg_none(token: str) -> str:
    """The same header and claims with ``alg: none`` and no signature."""
    header, claims = unverified_parts(token)
    return _compact({**header, "alg": "none"}, claims, b"")


def with_hmac(token: str, secret: bytes) -> str:
    """The same header and claims, "signed" HS256 with ``secret`` (e.g. the public key's PEM:
    the algorithm confusion attack). Built by hand, since PyJWT rightly refuses such a key."""
    header, claims = unverified_parts(token)
    header = {**header, "alg": "HS256"}
    signing_input = _signing_input(header, claims)
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


def _signing_input(header: Mapping[str, Any], claims: Mapping[str, Any]) -> str:
    def part(value: Mapping[str, Any]) -> str:
        return _b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))

    return f"{part(header)}.{part(claims)}"


def _compact(header: Mapping[str, Any], claims: Mapping[str, Any], signature: bytes) -> str:
    return f"{_signing_input(header, claims)}.{_b64url(signature)}"


def landscape_token(
    pki_dir: Path,
    client: str,
    audience: str,
    *,
    iam_id: str = "noots-iam",
    clock: Clock | None = None,
    **options: Any,
) -> str:
    """An access token for ``client`` to call ``audience``, minted with the IAM credential of a
    bootstrapped landscape's PKI (``<data_dir>/pki``), without HTTP and without the IAM's
    registration check (so a test can also make one the IAM would refuse to issue).
    ``options`` as for :func:`noots.access.issue_access_token` (``lifetime``, ``roles``)."""
    from noots.clock import SystemClock
    from noots.participant import load_credential, load_validator

    # The client's certificate is valid now; ``clock`` only dates the token (an expired one
    # is "issued" in the past).
    validated = load_validator(pki_dir, clock=SystemClock()).validate(
        load_credential(pki_dir, client).certificate
    )
    return issue_access_token(
        load_credential(pki_dir, iam_id),
        client=validated,
        audience=audience,
        acts_for=Topology.acts_for(client),
        clock=clock or SystemClock(),
        **options,
    )
