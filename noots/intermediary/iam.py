"""IAM für Behörden: who is registered, and access tokens for them (AD-NOOTS-05).

- ``POST /iam/v1/token`` (``application/x-www-form-urlencoded``): the OAuth 2.0 client
  credentials grant with a signed client assertion (RFC 7523, ``private_key_jwt``)::

      grant_type=client_credentials
      &client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer
      &client_assertion=<JWT signed with the client's key, x5c = its certificate>
      &audience=<the resource's participant id>

  200 ``{"access_token", "token_type": "Bearer", "expires_in", "audience"}``; the token is a
  JWT in the RFC 9068 profile (:func:`noots.access.issue_access_token`). Refusals are RFC 6749
  §5.2 JSON ``{"error", "error_description"}``: ``invalid_request`` (400),
  ``unsupported_grant_type`` (400), ``invalid_client`` (401: the assertion or its certificate
  does not pass, or it was used before), ``unauthorized_client`` (403: the client is not
  registered, or not in the role its certificate names), ``invalid_target`` (400: no such
  resource; 403: the client is not registered to call it).
- ``GET /iam/v1/registrations``: every registered client, its role, for whom it acts and the
  audiences it may ask a token for (:func:`registrations`, derived from the topology).
- ``GET /iam/v1/jwks``: the IAM's public key as a JWK Set (the tokens also carry the IAM's
  certificate in ``x5c``; a resource checks that against the trust anchor and the CRL).

A client assertion is accepted once: its id (client and ``jti``) goes into a replay cache
(:class:`noots.envelope.ReplayGuard`) journaled in ``<data_dir>/state/<iam id>.db``, so that
holds across a restart too. A client whose certificate is on the CRL gets no token.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from noots.access import (
    CLIENT_ASSERTION_TYPE,
    GRANT_TYPE,
    MAX_ASSERTION_LIFETIME,
    TOKEN_PATH,
    issue_access_token,
    public_jwk,
    verify_client_assertion,
)
from noots.clock import Clock
from noots.envelope import ReplayGuard
from noots.errors import AuthenticationError, ReplayDetected, StaleMessage, XmlTooLarge
from noots.intermediary._edge import read_body
from noots.pki import CertificateValidator, IssuedCredential, Role
from noots.topology import ConsumerSpec, IntermediaryPlatformSpec, RegisterSpec, Topology

__all__ = [
    "REPLAY_WINDOW",
    "IamService",
    "OAuthError",
    "Registration",
    "registrations",
    "resources",
    "router",
]

#: How long the IAM remembers a used assertion after its ``exp`` (and refuses older ones).
REPLAY_WINDOW = MAX_ASSERTION_LIFETIME + timedelta(minutes=1)
_FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
_MAX_FORM_BYTES = 16 * 1024
_FORM_FIELDS = ("grant_type", "client_assertion_type", "client_assertion", "audience", "client_id")
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


# --------------------------------------------------------------------------------------------
# Registrations


@dataclass(frozen=True)
class Registration:
    """One client the IAM knows: its role, for whom it acts and which resources it may call."""

    client_id: str
    role: Role
    acts_for: str
    name: str
    audiences: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "clientId": self.client_id,
            "role": self.role.value,
            "actsFor": self.acts_for,
            "name": self.name,
            "audiences": list(self.audiences),
        }


def resources(topology: Topology) -> frozenset[str]:
    """Every audience a token can name: each participant, and the RDN and the DSC (which the
    platform runs under ids of their own, without certificates)."""
    ids = {participant.participant_id for participant in topology.participants()}
    return frozenset(ids | {topology.platform.rdn_id, topology.platform.dsc_id})


def registrations(topology: Topology) -> dict[str, Registration]:
    """Every participant of the topology as a client of the IAM (docs/PROTOCOL.md has the rules
    as a table):

    - an online service: its own SAK, the IDA, and the simulated eID (the demo services log a
      test citizen in there);
    - an online service's SAK: the RDN, the VS and every data provider's SAK;
    - a data provider's SAK: its own register, when the register runs in push mode;
    - a register: its own SAK, when it runs in passive mode (it fetches its requests there);
    - the Intermediäre Plattform: its own SAK; the IP's SAK: the RDN, the VS, every register's
      SAK (0301) and the IP itself (0401/0411 pushed to it); online services' SAKs may also
      call the IP's SAK;
    - the simulator (the dashboard): the DSC and the eID, which its pages call;
    - every participant but the dashboard itself: the dashboard's collector
      (``platform.simulator_id``), which receives the trace events.

    A SAK acts for the participant it serves, everyone else for itself.
    """
    platform = topology.platform
    collector = platform.simulator_id
    provider_saks = [topology.sak_id(register.participant_id) for register in topology.registers]
    ip = topology.intermediary_platform
    if ip is not None:
        # Online services order EU evidence at the IP's SAK (use case 4).
        provider_saks.append(topology.sak_id(ip.participant_id))
    found: dict[str, Registration] = {}
    for participant in topology.participants():
        client_id = participant.participant_id
        spec = participant.spec
        allowed: set[str] = set()
        if participant.role == "consumer":
            allowed |= {topology.sak_id(client_id), topology.ida.participant_id, platform.eid_id}
        elif participant.role == "platform" and isinstance(spec, IntermediaryPlatformSpec):
            allowed.add(topology.sak_id(client_id))
        elif participant.role == "provider" and isinstance(spec, RegisterSpec):
            if spec.sak.mode == "passive":
                allowed.add(topology.sak_id(client_id))
        elif participant.role == "sak" and isinstance(spec, ConsumerSpec):
            allowed |= {platform.rdn_id, platform.vs_id, *provider_saks}
        elif participant.role == "sak" and isinstance(spec, IntermediaryPlatformSpec):
            # Both sides: it asks the RDN (and the VS where required) and sends 0301 to the
            # registers' SAKs; it hands the online services' orders to the IP (push).
            allowed |= {platform.rdn_id, platform.vs_id, spec.participant_id}
            allowed |= {topology.sak_id(r.participant_id) for r in topology.registers}
        elif (
            participant.role == "sak" and isinstance(spec, RegisterSpec) and spec.sak.mode == "push"
        ):
            allowed.add(spec.participant_id)
        elif participant.role == "simulator":
            allowed |= {platform.dsc_id, platform.eid_id}
        if client_id != collector:
            allowed.add(collector)
        found[client_id] = Registration(
            client_id=client_id,
            role=Role(participant.role),
            acts_for=participant.serves or client_id,
            name=participant.name,
            audiences=tuple(sorted(allowed)),
        )
    return found


# --------------------------------------------------------------------------------------------
# The token endpoint


class OAuthError(Exception):
    """A refusal of the token endpoint, as RFC 6749 §5.2 puts it on the wire."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"error": self.error, "error_description": self.description},
            status_code=self.status,
            headers=_NO_STORE,
        )


class IamService:
    """Issues access tokens to registered clients that prove who they are."""

    def __init__(
        self,
        credential: IssuedCredential,
        validator: CertificateValidator,
        topology: Topology,
        replay: ReplayGuard,
        *,
        clock: Clock,
        lifetime: timedelta = timedelta(seconds=300),
    ) -> None:
        if credential.role is not Role.IAM:
            raise ValueError(f"{credential.participant_id} has no IAM certificate")
        self.credential = credential
        self.validator = validator
        self.topology = topology
        self.replay = replay
        self.clock = clock
        self.lifetime = lifetime
        self.registrations = registrations(topology)
        self.resources = resources(topology)

    @property
    def iam_id(self) -> str:
        return self.credential.participant_id

    def issue(self, form: Mapping[str, str]) -> dict[str, Any]:
        """The token answer for a token request's parameters, or :class:`OAuthError`."""
        grant_type = _required(form, "grant_type")
        if grant_type != GRANT_TYPE:
            raise OAuthError("unsupported_grant_type", f"only {GRANT_TYPE} is supported")
        if _required(form, "client_assertion_type") != CLIENT_ASSERTION_TYPE:
            raise OAuthError(
                "invalid_request", f"client_assertion_type must be {CLIENT_ASSERTION_TYPE}"
            )
        assertion = _required(form, "client_assertion")
        audience = _required(form, "audience")
        try:
            verified = verify_client_assertion(
                assertion, validator=self.validator, iam_id=self.iam_id, clock=self.clock
            )
        except AuthenticationError as exc:
            raise OAuthError("invalid_client", exc.message, 401) from None
        client = verified.client
        claimed = form.get("client_id")
        if claimed is not None and claimed != client.participant_id:
            raise OAuthError("invalid_client", "client_id is not the assertion's subject", 401)
        try:
            self.replay.admit(verified.replay_id, verified.expires_at, kind="client assertion")
        except ReplayDetected:
            raise OAuthError("invalid_client", "client assertion was already used", 401) from None
        except StaleMessage as exc:
            raise OAuthError("invalid_client", exc.message, 401) from None
        registration = self.registrations.get(client.participant_id)
        if registration is None:
            raise OAuthError(
                "unauthorized_client", f"{client.participant_id} is not registered at the IAM", 403
            )
        if registration.role is not client.role:
            raise OAuthError(
                "unauthorized_client",
                f"{client.participant_id} is registered as {registration.role.value}, "
                f"its certificate says {client.role.value}",
                403,
            )
        if audience not in self.resources:
            raise OAuthError("invalid_target", "audience is no resource of this landscape")
        if audience not in registration.audiences:
            raise OAuthError(
                "invalid_target",
                f"{client.participant_id} is not registered to call {audience}",
                403,
            )
        token = issue_access_token(
            self.credential,
            client=client,
            audience=audience,
            acts_for=registration.acts_for,
            clock=self.clock,
            lifetime=self.lifetime,
        )
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": int(self.lifetime.total_seconds()),
            "audience": audience,
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(self.credential.certificate)]}

    def registrations_json(self) -> dict[str, Any]:
        return {
            "issuer": self.iam_id,
            "tokenEndpoint": TOKEN_PATH,
            "tokenLifetimeSeconds": int(self.lifetime.total_seconds()),
            "registrations": [r.to_json() for r in self.registrations.values()],
        }


def _required(form: Mapping[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise OAuthError("invalid_request", f"{name} is required")
    return value


async def _read_form(request: Request) -> dict[str, str]:
    """The token request's parameters: form-encoded, bounded, each at most once (RFC 6749
    §3.2); parameters the endpoint does not know are ignored."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != _FORM_MEDIA_TYPE:
        raise OAuthError("invalid_request", f"the body must be {_FORM_MEDIA_TYPE}")
    try:
        body = await read_body(request, limit=_MAX_FORM_BYTES)
    except XmlTooLarge:
        raise OAuthError("invalid_request", f"the body exceeds {_MAX_FORM_BYTES} bytes") from None
    try:
        pairs = urllib.parse.parse_qsl(
            body.decode("ascii"), keep_blank_values=True, max_num_fields=32, errors="strict"
        )
    except ValueError:
        raise OAuthError("invalid_request", "the body is not a valid form") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name not in _FORM_FIELDS:
            continue
        if name in form:
            raise OAuthError("invalid_request", f"{name} is given more than once")
        form[name] = value
    return form


def get_iam(request: Request) -> IamService:
    service: IamService = request.app.state.iam
    return service


Iam = Annotated[IamService, Depends(get_iam)]

router = APIRouter(prefix="/iam/v1", tags=["IAM für Behörden"])


@router.post("/token")
async def token(request: Request, iam: Iam) -> JSONResponse:
    """An access token for a registered client (client credentials + signed assertion)."""
    try:
        form = await _read_form(request)
        answer = await run_in_threadpool(iam.issue, form)
    except OAuthError as refusal:
        return refusal.response()
    return JSONResponse(answer, headers=_NO_STORE)


@router.get("/registrations")
def registrations_endpoint(iam: Iam) -> JSONResponse:
    """Every registered client: role, for whom it acts, the audiences it may ask for."""
    return JSONResponse(iam.registrations_json())


@router.get("/jwks")
def jwks(iam: Iam) -> JSONResponse:
    """The IAM's public key as a JWK Set (RFC 7517)."""
    return JSONResponse(iam.jwks(), headers={"Cache-Control": "max-age=300"})
