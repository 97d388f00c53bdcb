"""The Datenschutzcockpit view: a test citizen logs in with the simulated eID at the platform
and the dashboard shows what the DSC answers (the transfers about their IDNr)."""

from __future__ import annotations

from typing import Any

import httpx

from noots.clock import Clock
from noots.eid import verify_identity
from noots.errors import NootsError
from noots.signing import XmlVerifier

__all__ = ["DSC_AUDIENCE", "cockpit"]

#: The audience the DSC accepts (intermediary.eid.DSC_AUDIENCE).
DSC_AUDIENCE = "noots-dsc"


async def cockpit(
    http: httpx.AsyncClient,
    platform_url: str,
    idnr: str,
    *,
    level: str,
    verifier: XmlVerifier,
    clock: Clock,
) -> tuple[int, dict[str, Any]]:
    """Log in as ``idnr`` at ``level`` and fetch the transfers; (HTTP status, JSON for the page)."""
    try:
        login = await http.post(
            f"{platform_url}/eid/v1/login",
            json={"idnr": idnr, "level": level, "audience": DSC_AUDIENCE},
        )
    except httpx.HTTPError as exc:
        return 502, {"detail": f"eID-Dienst nicht erreichbar ({type(exc).__name__})"}
    if login.status_code != 200:
        return 502, {"detail": f"eID-Anmeldung abgelehnt (HTTP {login.status_code})"}
    answer = login.json()
    token = str(answer.get("token", ""))
    identity: dict[str, Any] = {
        "name": f"{answer.get('givenName', '')} {answer.get('familyName', '')}".strip(),
        "idnr": answer.get("idnr"),
        "level": answer.get("level"),
        "expiresAt": answer.get("expiresAt"),
    }
    try:
        checked = verify_identity(
            token, verifier, clock=clock, min_level="normal", audience=DSC_AUDIENCE
        )
        identity["check"] = {
            "ok": True,
            "text": f"Identitätstoken von noots-eid signiert, Vertrauensniveau {checked.level}",
        }
    except NootsError as exc:
        identity["check"] = {"ok": False, "text": f"Identitätstoken ungültig: {exc.message}"}
    try:
        response = await http.get(
            f"{platform_url}/dsc/v1/transfers", headers={"Authorization": f"Bearer {token}"}
        )
    except httpx.HTTPError as exc:
        return 502, {"detail": f"Datenschutzcockpit nicht erreichbar ({type(exc).__name__})"}
    if response.status_code != 200:
        detail = response.json().get("detail", "") if response.content else ""
        return 200, {
            "identity": identity,
            "refused": {"status": response.status_code, "detail": detail},
            "transfers": [],
        }
    data = response.json()
    return 200, {"identity": identity, "refused": None, "transfers": data.get("transfers", [])}
