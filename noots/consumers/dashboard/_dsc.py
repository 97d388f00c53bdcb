"""The Datenschutzcockpit view: a test citizen logs in with the simulated eID at the platform
and the dashboard shows what the DSC answers (the transfers about their IDNr), prepared for
the page: times in Europe/Berlin, outcomes and parties in German (:mod:`noots.web`)."""

from __future__ import annotations

from typing import Any

import httpx

from noots.clock import Clock
from noots.eid import verify_identity
from noots.errors import NootsError
from noots.signing import XmlVerifier
from noots.web import german_datetime, outcome_text, parse_instant

__all__ = ["DSC_AUDIENCE", "cockpit"]

#: The audience the DSC accepts (noots.intermediary.eid.DSC_AUDIENCE).
DSC_AUDIENCE = "noots-dsc"
#: Why the DSC refused, by its status (its own detail is English, for developers).
_REFUSED_DE = {
    401: "Anmeldung ungültig oder abgelaufen",
    403: "es verlangt eine Anmeldung mit dem Vertrauensniveau „hoch“ (Online-Ausweisfunktion)",
}


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
        "expiresAtText": _when(answer.get("expiresAt")),
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
        identity["check"] = {
            "ok": False,
            "text": f"Identitätstoken ungültig ({exc.code.value}): {exc.message}",
        }
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
            "refused": {
                "status": response.status_code,
                "detail": detail,
                "text": _REFUSED_DE.get(response.status_code, f"HTTP {response.status_code}"),
            },
            "transfers": [],
        }
    data = response.json()
    transfers = [_transfer(t) for t in data.get("transfers", []) if isinstance(t, dict)]
    return 200, {"identity": identity, "refused": None, "transfers": transfers}


def _when(value: object, *, seconds: bool = False) -> str:
    instant = parse_instant(value)
    return german_datetime(instant, seconds=seconds) if instant is not None else "unbekannt"


def _transfer(transfer: dict[str, Any]) -> dict[str, Any]:
    """One transfer of the DSC's answer with German words (its own where it gives them)."""
    outcome = str(transfer.get("outcome", ""))
    records = [r for r in transfer.get("records", []) if isinstance(r, dict)]
    return {
        **transfer,
        "timeText": transfer.get("timeText") or _when(transfer.get("time")),
        "outcomeText": outcome_text(outcome),
        "delivered": outcome == "delivered",
        "records": [
            {
                **r,
                "partyName": str(r.get("partyName") or r.get("party", "")),
                "outcomeText": outcome_text(str(r.get("outcome", ""))),
                "timeText": r.get("timeText") or _when(r.get("time"), seconds=True),
                "refusedRepetition": bool(r.get("refusedRepetition")),
            }
            for r in records
        ],
    }
