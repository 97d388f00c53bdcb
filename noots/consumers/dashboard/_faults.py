"""Fault toggles: switch one fault on for a register through its ``/admin/v1/faults``.

A fault of the signed answer (bad or missing signature, expired certificate, wrong binding)
is the signer's: the register answers unsigned and its SAK signs, so such a fault is switched
at the register's SAK (the register refuses it). Every other fault is the register's own.
Switching one side on resets the other, so the page's one choice per register is what is in
force."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from noots.faults import SIGNATURE_FAULTS, Fault
from noots.topology import RegisterSpec, Topology

__all__ = ["FAULT_CHOICES", "FaultSwitch"]

#: What the page offers, in German: value → label. ``latency`` is a delay, not a fault.
FAULT_CHOICES: dict[str, str] = {
    Fault.ERROR.value: "Interner Fehler (EDM:ERR:0008)",
    Fault.BAD_SIGNATURE.value: "Antwortsignatur verfälscht",
    Fault.MISSING_SIGNATURE.value: "Antwort ohne Signatur",
    Fault.EXPIRED_CERTIFICATE.value: "Antwort mit abgelaufenem Zertifikat",
    Fault.WRONG_BINDING.value: "Antwort an eine andere Anfrage gebunden",
    Fault.MALFORMED.value: "Kaputte Antwort (kein gültiges XML)",
    Fault.DROP.value: "Verbindung bricht mitten in der Antwort ab",
    Fault.TIMEOUT.value: "Keine Antwort (Zeitüberschreitung)",
    "latency": "Verzögerung um 3 Sekunden",
}
_LATENCY_MS = 3000
# The register stops hanging a little after its SAK has given up (its wait is 10 s).
_HANG_SECONDS = 15


def _plan(choice: str) -> dict[str, Any]:
    if choice == "latency":
        return {"latency_ms": _LATENCY_MS}
    fault = Fault(choice)
    plan: dict[str, Any] = {"rates": {fault.value: 1.0}}
    if fault is Fault.TIMEOUT:
        plan["hang_seconds"] = _HANG_SECONDS
    return plan


def describe_plan(plan: dict[str, Any]) -> tuple[str | None, str]:
    """The page's choice for a plan the register reports, and a German description."""
    rates = {k: v for k, v in (plan.get("rates") or {}).items() if v}
    if rates:
        names = ", ".join(
            FAULT_CHOICES.get(k, k) + ("" if v >= 1 else f" ({v:.0%})") for k, v in rates.items()
        )
        return (next(iter(rates)) if len(rates) == 1 else None), names
    if plan.get("latency_ms") or plan.get("latency_lognormal"):
        return "latency", f"Verzögerung {float(plan.get('latency_ms') or 0) / 1000:g} s"
    return None, "keine Störung"


class FaultSwitch:
    """Reads and sets the fault plan of each register (needs the landscape's admin token)."""

    def __init__(
        self, http: httpx.AsyncClient, topology: Topology, *, tls: bool, token: str | None
    ) -> None:
        self.http = http
        self.topology = topology
        self.tls = tls
        self.token = token

    @property
    def available(self) -> bool:
        return self.token is not None

    def _url(self, participant_id: str) -> str:
        return self.topology.base_url(participant_id, tls=self.tls) + "/admin/v1/faults"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def register(self, participant_id: str) -> RegisterSpec:
        return self.topology.register(participant_id)

    async def _plan_of(self, participant_id: str) -> tuple[dict[str, Any] | None, str | None]:
        """The fault plan in force at ``participant_id``, or why it could not be read."""
        try:
            response = await self.http.get(self._url(participant_id), headers=self._headers())
        except httpx.HTTPError as exc:
            return None, f"nicht erreichbar ({type(exc).__name__})"
        if response.status_code != 200:
            return None, f"Admin-Schnittstelle antwortet HTTP {response.status_code}"
        plan: dict[str, Any] = response.json()
        return plan, None

    async def status(self) -> list[dict[str, Any]]:
        async def one(register: RegisterSpec) -> dict[str, Any]:
            entry: dict[str, Any] = {
                "participantId": register.participant_id,
                "name": register.name,
                "choice": None,
                "text": "unbekannt",
                "reachable": False,
            }
            if self.token is None:
                entry["text"] = "kein Admin-Token konfiguriert"
                return entry
            plan, problem = await self._plan_of(register.participant_id)
            if plan is None:
                entry["text"] = problem
                return entry
            sak_plan, _ = await self._plan_of(self.topology.sak_id(register.participant_id))
            if sak_plan is not None and _has_fault(sak_plan) and not _has_fault(plan):
                plan = sak_plan  # a signature fault switched at the SAK alone
            entry["choice"], entry["text"] = describe_plan(plan)
            entry["reachable"] = True
            return entry

        return list(await asyncio.gather(*(one(r) for r in self.topology.registers)))

    async def _switch(self, participant_id: str, choice: str | None) -> httpx.Response:
        url, headers = self._url(participant_id), self._headers()
        if choice is None:
            return await self.http.delete(url, headers=headers)
        return await self.http.put(url, json=_plan(choice), headers=headers)

    async def set(self, participant_id: str, choice: str | None) -> tuple[int, dict[str, Any]]:
        """Switch ``choice`` on (None: back to no fault) where it belongs, the register or its
        SAK, and the other side back to no fault; the register's status and plan."""
        register = self.register(participant_id)
        if self.token is None:
            return 503, {"detail": "kein Admin-Token konfiguriert (NOOTS_ADMIN_TOKEN)"}
        sak_id = self.topology.sak_id(register.participant_id)
        at_sak = choice is not None and choice in {f.value for f in SIGNATURE_FAULTS}
        owner, other = (
            (sak_id, register.participant_id) if at_sak else (register.participant_id, sak_id)
        )
        plan: dict[str, Any] = {}
        for target, wanted in ((other, None), (owner, choice)):
            where = "SAK" if target == sak_id else "Register"
            try:
                response = await self._switch(target, wanted)
            except httpx.HTTPError as exc:
                return 502, {"detail": f"{where} nicht erreichbar ({type(exc).__name__})"}
            if response.status_code != 200:
                return 502, {"detail": f"{where} antwortet HTTP {response.status_code}"}
            plan = response.json()
        selected, text = describe_plan(plan)
        if at_sak:
            text += " (am SAK des Registers, der die Antwort signiert)"
        return 200, {"participantId": participant_id, "choice": selected, "text": text}


def _has_fault(plan: dict[str, Any]) -> bool:
    rates = plan.get("rates") or {}
    return any(rates.values()) or bool(plan.get("latency_ms") or plan.get("latency_lognormal"))
