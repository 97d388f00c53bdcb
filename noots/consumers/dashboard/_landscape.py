"""The landscape view: every component with its address and health, the evidence each register
offers, and the authorisation matrix the Vermittlungsstelle checks."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx

from noots.components import Component, landscape_components
from noots.topology import Topology

__all__ = ["HealthResult", "check_health", "landscape_model"]

_KIND_DE = {
    "platform": "Plattform",
    "ida": "IDM für Personen",
    "register": "Register (Datenhalter)",
    "sak": "Sicherer Anschlussknoten (SAK)",
    "consumer": "Online-Dienst (Datenabrufer)",
    "ip": "Intermediäre Plattform (EU-OOTS)",
    "eu-common-services": "EU: gemeinsame Dienste (simuliert)",
    "eu-provider": "EU: Nachweislieferant (simuliert)",
    "eu-requester": "EU: Nachweisanfrager (simuliert)",
    "dashboard": "Dashboard",
}


#: The checks the registers and SAKs name in their /health.
_CHECK_DE = {"certificate": "eigenes Zertifikat", "population": "Bevölkerungsdaten"}
_MODE_DE = {
    "push": "Push: der SAK übergibt jede Anfrage an das Register",
    "passive": "passiv: das Register holt Anfragen beim SAK ab",
}


@dataclass(frozen=True)
class HealthResult:
    name: str
    status: str  # "healthy" | "degraded" | "unreachable"
    http_status: int | None
    millis: float
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "httpStatus": self.http_status,
            "millis": round(self.millis, 1),
            "detail": self.detail,
        }


def components(topology: Topology) -> list[Component]:
    return landscape_components(topology, dashboard=True)


def landscape_model(topology: Topology, *, tls: bool) -> dict[str, Any]:
    """What the Landschaft page renders (the health comes later, from the browser's polling)."""
    areas = {a.id: a.name for a in topology.administrative_areas}
    types = {t.name: t for t in topology.evidence_types}
    return {
        "components": [
            {
                "name": c.name,
                "kind": _KIND_DE[c.kind],
                "title": c.title,
                "participant_id": c.participant_id,
                "url": c.url(tls=tls),
            }
            for c in components(topology)
        ],
        "registers": [
            {
                "participant_id": r.participant_id,
                "name": r.name,
                "area": areas.get(r.area, r.area),
                "region": (
                    f"{r.municipality.name} (AGS {r.region})"
                    if r.municipality and r.region
                    else (r.region or "bundesweit")
                ),
                "evidence": [
                    {"name": name, "title": types[name].title, "regional": types[name].regional}
                    for name in r.evidence_types
                ],
            }
            for r in topology.registers
        ],
        "evidence_types": [
            {
                "name": t.name,
                "title": t.title,
                "subject": "natürliche Person" if t.subject == "natural" else "Unternehmen",
                "regional": t.regional,
                "providers": [r.name for r in topology.service_providers(t.name)],
            }
            for t in topology.evidence_types
        ],
        "saks": _saks(topology, tls=tls),
        "matrix": _matrix(topology),
    }


def _saks(topology: Topology, *, tls: bool) -> list[dict[str, Any]]:
    """Each Sicherer Anschlussknoten with the participant it connects (its own side)."""
    registers = {r.participant_id for r in topology.registers}
    rows = []
    for member in topology.members():
        sak = topology.sak_of(member.participant_id)
        is_register = member.participant_id in registers
        kind = (
            "Register (Datenhalter)"
            if is_register
            else "Intermediäre Plattform"
            if topology.is_platform(member.participant_id)
            else "Online-Dienst"
        )
        rows.append(
            {
                "participant_id": sak.participant_id,
                "url": topology.base_url(sak.participant_id, tls=tls),
                "serves_id": member.participant_id,
                "serves_name": member.name,
                "serves_kind": kind,
                "mode": _MODE_DE.get(member.sak.mode, member.sak.mode) if is_register else "",
            }
        )
    return rows


def _matrix(topology: Topology) -> dict[str, Any]:
    """Online services × evidence types; each cell the rows that allow the transfer."""
    columns = [t.name for t in topology.evidence_types]
    rows = []
    for consumer in topology.consumers:
        cells = []
        for name in columns:
            allowed = [
                {
                    "purpose": a.purpose,
                    "legal_basis": a.legal_basis,
                    "uses_idnr": a.uses_idnr,
                    "providers": (
                        "alle Datenhalter des Nachweistyps"
                        if a.providers == "*"
                        else ", ".join(topology.participant(p).name for p in a.providers)
                    ),
                }
                for a in topology.authorisations
                if a.consumer == consumer.participant_id and a.evidence_type == name
            ]
            cells.append({"evidence_type": name, "allowed": allowed})
        rows.append(
            {"participant_id": consumer.participant_id, "name": consumer.name, "cells": cells}
        )
    return {"columns": columns, "rows": rows}


def _problem_of(response: httpx.Response) -> str:
    """What an unhealthy component says about itself: the German half of each problem it
    names (``"Zertifikat von … gesperrt / certificate of … revoked"``), else the HTTP status."""
    try:
        body = response.json()
    except ValueError:
        body = None
    problems = body.get("problems") if isinstance(body, dict) else None
    if not problems and isinstance(body, dict) and isinstance(body.get("checks"), dict):
        problems = [
            f"{_CHECK_DE.get(k, k)} fehlgeschlagen ({str(v).removeprefix('failed: ')})"
            for k, v in body["checks"].items()
            if v != "ok"
        ]
    if isinstance(problems, list) and problems:
        texts = [str(p).split(" / ", 1)[0] for p in problems[:3]]
        return f"HTTP {response.status_code}: " + "; ".join(texts)
    return f"HTTP {response.status_code}"


async def check_health(
    http: httpx.AsyncClient,
    topology: Topology,
    *,
    tls: bool,
    timeout: float,
    own: str,
    own_problem: str | None = None,
) -> list[HealthResult]:
    """``GET /health`` of every component at once; ``own`` (the dashboard) answers itself,
    degraded with ``own_problem`` (its own certificate)."""

    async def probe(component: Component) -> HealthResult:
        if component.name == own:
            if own_problem is not None:
                return HealthResult(component.name, "degraded", 503, 0.0, own_problem)
            return HealthResult(component.name, "healthy", 200, 0.0, "dieses Dashboard")
        started = time.perf_counter()
        try:
            response = await http.get(component.url(tls=tls) + "/health", timeout=timeout)
        except httpx.HTTPError as exc:
            return HealthResult(
                component.name,
                "unreachable",
                None,
                (time.perf_counter() - started) * 1000,
                f"keine Antwort ({type(exc).__name__})",
            )
        millis = (time.perf_counter() - started) * 1000
        status = "healthy" if response.status_code == 200 else "degraded"
        detail = "gesund" if status == "healthy" else _problem_of(response)
        return HealthResult(component.name, status, response.status_code, millis, detail)

    return list(await asyncio.gather(*(probe(c) for c in components(topology))))
