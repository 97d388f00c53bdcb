"""IAM für Behörden and the landscape's PKI, as the platform publishes them.

- ``GET /pki/v1/trust-anchor``: the root certificate (PEM) every participant trusts.
- ``GET /pki/v1/crl``: the current certificate revocation list (PEM), re-signed when due.
- ``GET /pki/v1/participants``: the participant registry: every participant of the topology
  with its role, name, administrative area, address and the status of its certificates.
- ``GET /pki/v1/participants/{id}``: one participant, with its current certificate (PEM).
- ``POST /admin/v1/revoke`` ``{"participantId": "…"}`` (``Authorization: Bearer <admin
  token>``; absent in strict mode or without an admin token): revokes the participant's
  certificates through the certificate authority, which writes the CRL file at once. Every
  process of the landscape reads that file through a ``FileCrlSource``, so the SAKs, the VS,
  the IAM and the registers refuse the participant from their next check on.

Where the root key is at hand (``noots up``: ``<data_dir>/pki/ca``), the platform operates the
CA; no other component opens it. Where it is not (containers, Kubernetes: the CA is operated
apart, by the one-shot ``noots provision``), the platform serves what the CA published
(:class:`~noots.pki.PublishedPki`) and a revocation through the admin API is refused with
409 naming the command that revokes (``noots provision --revoke``).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated, Any

from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from noots.intermediary._context import Context
from noots.pki import CertificateAuthority, CertificateRecord, PublishedPki, UnknownParticipant
from noots.topology import Participant as TopologyParticipant
from noots.topology import Topology

__all__ = ["CaOperatedApart", "IdentityRegistry", "admin_router", "require_admin", "router"]

#: What the admin API answers when the CA is operated apart (docs/DEPLOYMENT.md).
REVOKE_APART = (
    "this platform serves the PKI the certificate authority published and holds no CA key; "
    "the CA's operator revokes: `noots provision --revoke PARTICIPANT` (compose: "
    "`docker compose run --rm bootstrap noots provision … --revoke PARTICIPANT`)"
)

PEM_MEDIA_TYPE = "application/x-pem-file"


@dataclass(frozen=True)
class IdentityRegistry:
    """The participant registry: the topology's participants joined with the CA's records
    (the CA itself, or what it published where it is operated apart)."""

    topology: Topology
    authority: CertificateAuthority | PublishedPki

    def _records(self) -> dict[str, list[CertificateRecord]]:
        by_participant: dict[str, list[CertificateRecord]] = {}
        for record in self.authority.records():
            by_participant.setdefault(record.participant_id, []).append(record)
        return by_participant

    @staticmethod
    def _entry(
        participant: TopologyParticipant, records: list[CertificateRecord], base_url: str
    ) -> dict[str, Any]:
        valid = [r for r in records if r.status == "valid"]
        return {
            "participantId": participant.participant_id,
            "role": participant.role,
            "name": participant.name,
            "area": participant.area,
            "baseUrl": base_url,
            "status": "active" if valid else ("revoked" if records else "no certificate"),
            "certificates": [
                {
                    "serial": f"{r.serial:x}",
                    "role": r.role.value,
                    "keyType": r.key_type.value,
                    "notBefore": r.not_before.isoformat(),
                    "notAfter": r.not_after.isoformat(),
                    "status": r.status,
                    "revokedAt": r.revoked_at.isoformat() if r.revoked_at else None,
                }
                for r in records
            ],
        }

    def participants(self, *, tls: bool = False) -> list[dict[str, Any]]:
        records = self._records()
        return [
            self._entry(
                p,
                records.get(p.participant_id, []),
                self.topology.base_url(p.participant_id, tls=tls),
            )
            for p in self.topology.participants()
        ]

    def participant(self, participant_id: str, *, tls: bool = False) -> dict[str, Any]:
        """One participant; :class:`UnknownParticipant` if the topology does not know it."""
        for p in self.topology.participants():
            if p.participant_id == participant_id:
                entry = self._entry(
                    p,
                    self._records().get(participant_id, []),
                    self.topology.base_url(participant_id, tls=tls),
                )
                try:
                    certificate = self.authority.certificate(participant_id)
                except UnknownParticipant:
                    entry["certificatePem"] = None
                else:
                    entry["certificatePem"] = certificate.public_bytes(
                        serialization.Encoding.PEM
                    ).decode("ascii")
                return entry
        raise UnknownParticipant(participant_id)

    def revoke(self, participant_id: str) -> None:
        """Revoke through the CA; :class:`CaOperatedApart` where this process does not hold it."""
        if participant_id not in {p.participant_id for p in self.topology.participants()}:
            raise UnknownParticipant(participant_id)
        if not isinstance(self.authority, CertificateAuthority):
            raise CaOperatedApart(participant_id)
        self.authority.revoke(participant_id)


class CaOperatedApart(Exception):
    """The platform serves the published PKI; the CA's operator revokes, not this process."""


def get_registry(request: Request) -> IdentityRegistry:
    registry: IdentityRegistry = request.app.state.registry
    return registry


Registry = Annotated[IdentityRegistry, Depends(get_registry)]

router = APIRouter(prefix="/pki/v1", tags=["IAM/PKI"])


@router.get("/trust-anchor", response_class=Response)
def trust_anchor(registry: Registry) -> Response:
    """The root certificate of the landscape (PEM)."""
    pem = registry.authority.trust_anchor.public_bytes(serialization.Encoding.PEM)
    return Response(pem, media_type=PEM_MEDIA_TYPE)


@router.get("/crl", response_class=Response)
def crl(registry: Registry) -> Response:
    """The current certificate revocation list (PEM)."""
    pem = registry.authority.crl().public_bytes(serialization.Encoding.PEM)
    return Response(pem, media_type=PEM_MEDIA_TYPE, headers={"Cache-Control": "no-store"})


@router.get("/participants")
def participants(registry: Registry, context: Context) -> JSONResponse:
    """Every participant: id, role, name, area, address, certificate status."""
    return JSONResponse({"participants": registry.participants(tls=context.settings.tls)})


@router.get("/participants/{participant_id}")
def participant(participant_id: str, registry: Registry, context: Context) -> JSONResponse:
    """One participant with its current certificate."""
    try:
        return JSONResponse(registry.participant(participant_id, tls=context.settings.tls))
    except UnknownParticipant:
        return JSONResponse(
            {"detail": f"no participant {participant_id!r} in this landscape"}, status_code=404
        )


def require_admin(context: Context, authorization: Annotated[str | None, Header()] = None) -> None:
    """The admin bearer token, compared in constant time."""
    expected = context.settings.admin_token
    scheme, _, token = (authorization or "").partition(" ")
    if (
        expected is None
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(token.encode(), expected.get_secret_value().encode())
    ):
        raise HTTPException(
            status_code=401,
            detail="admin endpoints need Authorization: Bearer <NOOTS_ADMIN_TOKEN>",
            headers={"WWW-Authenticate": "Bearer"},
        )


class RevokeRequest(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    participant_id: str = Field(alias="participantId", min_length=1, max_length=64)


admin_router = APIRouter(prefix="/admin/v1", tags=["admin"], dependencies=[Depends(require_admin)])


@admin_router.post("/revoke")
async def revoke(body: RevokeRequest, registry: Registry) -> JSONResponse:
    """Revoke a participant's certificates; the new CRL is published at once."""
    try:
        await run_in_threadpool(registry.revoke, body.participant_id)
    except UnknownParticipant:
        return JSONResponse(
            {"detail": f"no participant {body.participant_id!r} in this landscape"},
            status_code=404,
        )
    except CaOperatedApart:
        return JSONResponse({"detail": REVOKE_APART}, status_code=409)
    return JSONResponse({"revoked": body.participant_id, "crl": "/pki/v1/crl"})
