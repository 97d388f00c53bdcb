"""How the suite makes the online service under test fetch, and learns what it did with it.

- :class:`DemoServiceDriver` goes through an online service shaped like the noots demo
  services (start → eID login → consent → preview with accept/reject → summary) over HTTP, as
  a citizen's browser would. It sees everything DC-07 is about: whether anything is fetched
  before consent, whether each evidence is previewed, whether a rejected one is used.
- :class:`HttpTriggerDriver` POSTs the case as JSON to a test hook of the service
  (``{"evidenceType", "idnr", "givenName", "familyName", "dateOfBirth", "round"}``) and reads
  ``{"received": [evidence types the service accepted], "shown": "what it showed"}``.
- :class:`ManualDriver` asks a person to start one retrieval and waits until the service has
  called its SAK (the suite) and gone quiet; what the service did with the answer stays
  unknown (those checks are skipped).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

import httpx

from noots.conformance.i18n import _
from noots.synthetic.identities import DEMO_COMPANY

__all__ = [
    "ConsumerDriver",
    "DemoServiceDriver",
    "DriverResult",
    "HttpTriggerDriver",
    "ManualDriver",
    "RetrievalCase",
]


@dataclass(frozen=True)
class RetrievalCase:
    """One retrieval the suite asks for: about whom, and which evidence to decline."""

    round: str
    idnr: str
    given_name: str
    family_name: str
    date_of_birth: date
    evidence_type: str | None = None
    reject: frozenset[str] = frozenset()


@dataclass
class DriverResult:
    """What the service did. ``None`` means the driver cannot tell."""

    received: frozenset[str] | None
    shown: str = ""
    used: frozenset[str] | None = None
    fetched_before_consent: bool | None = None
    previewed: bool | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)


class ConsumerDriver(Protocol):
    #: Whether the driver can hand the service an IDNr of the suite's choosing (DC-04 round).
    supports_idnr: bool

    async def retrieve(self, case: RetrievalCase, sak_calls: Callable[[], int]) -> DriverResult:
        """Make the service fetch; ``sak_calls`` counts its authorisations and 0101s so far."""
        ...


_CSRF = re.compile(r'name="csrf" value="([^"]*)"')


def _csrf(text: str) -> str:
    match = _CSRF.search(text)
    return match.group(1) if match else ""


class DemoServiceDriver:
    """Drives a noots-style demo online service through its German web flow."""

    supports_idnr = False

    def __init__(
        self,
        base_url: str,
        *,
        kind: str,
        region: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.kind = kind
        self.region = region
        self.transport = transport

    def _details(self) -> dict[str, str]:
        if self.kind == "elterngeld":
            return {
                "region": self.region or "05315000",
                "child_given_name": "Paul",
                "child_family_name": "Musterfrau",
                "child_date_of_birth": "2026-06-03",
            }
        if self.kind == "gewerbeanmeldung":
            return {
                "company_name": DEMO_COMPANY.name,
                "company_register_number": f"{DEMO_COMPANY.register} {DEMO_COMPANY.number}",
            }
        return {"region": self.region} if self.region else {}

    async def retrieve(self, case: RetrievalCase, sak_calls: Callable[[], int]) -> DriverResult:
        async with httpx.AsyncClient(
            base_url=self.base_url, transport=self.transport, timeout=120.0, trust_env=False
        ) as http:
            start = await http.post("/antrag")
            if start.status_code >= 500:
                return DriverResult(None, error=f"POST /antrag: HTTP {start.status_code}")
            login_page = await http.get("/anmelden")
            await http.post("/anmelden", data={"csrf": _csrf(login_page.text), "idnr": case.idnr})
            consent_page = await http.get("/einwilligung")
            if consent_page.status_code != 200 or 'name="agree"' not in consent_page.text:
                return DriverResult(
                    frozenset(),
                    shown=consent_page.text,
                    error=_(
                        f"die Anmeldung als {case.idnr} erreichte die Einwilligungsseite nicht",
                        f"login as {case.idnr} did not reach the consent page",
                    ),
                )
            before_consent = sak_calls()
            consent = await http.post(
                "/einwilligung",
                data={"csrf": _csrf(consent_page.text), "agree": "ja", **self._details()},
            )
            if consent.status_code >= 500:
                return DriverResult(None, error=f"POST /einwilligung: HTTP {consent.status_code}")
            preview = await http.get("/vorschau")
            if preview.status_code >= 500:
                return DriverResult(None, error=f"GET /vorschau: HTTP {preview.status_code}")
            fetched = frozenset(re.findall(r'id="accept-([^"]+)"', preview.text))
            decisions = {
                f"decision-{kind}": "rejected" if kind in case.reject else "accepted"
                for kind in fetched
            }
            await http.post("/vorschau", data={"csrf": _csrf(preview.text), **decisions})
            summary = await http.get("/abschluss")
            used = frozenset(re.findall(r'id="uebernommen-([^"]+)"', summary.text))
        return DriverResult(
            received=fetched,
            shown=preview.text + summary.text,
            used=used,
            fetched_before_consent=before_consent > 0,
            previewed=bool(fetched) and 'name="decision-' in preview.text,
        )


class HttpTriggerDriver:
    """Calls the service's test hook for every retrieval (see the module docstring)."""

    supports_idnr = True

    def __init__(
        self, url: str, *, evidence_type: str, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.url = url
        self.evidence_type = evidence_type
        self.transport = transport

    async def retrieve(self, case: RetrievalCase, sak_calls: Callable[[], int]) -> DriverResult:
        payload: dict[str, Any] = {
            "round": case.round,
            "evidenceType": case.evidence_type or self.evidence_type,
            "idnr": case.idnr,
            "givenName": case.given_name,
            "familyName": case.family_name,
            "dateOfBirth": case.date_of_birth.isoformat(),
        }
        async with httpx.AsyncClient(
            transport=self.transport, timeout=120.0, trust_env=False
        ) as http:
            try:
                response = await http.post(self.url, json=payload)
            except httpx.HTTPError as exc:
                return DriverResult(
                    None,
                    error=_(
                        f"Auslöser fehlgeschlagen: {type(exc).__name__}",
                        f"trigger failed: {type(exc).__name__}",
                    ),
                )
        if response.status_code >= 500:
            return DriverResult(
                None,
                error=_(
                    f"Auslöser antwortete HTTP {response.status_code}",
                    f"trigger answered HTTP {response.status_code}",
                ),
            )
        try:
            data = response.json()
        except ValueError:
            return DriverResult(
                None,
                shown=response.text,
                error=_("die Antwort des Auslösers ist kein JSON", "trigger answer is not JSON"),
            )
        received = data.get("received")
        return DriverResult(
            frozenset(str(r) for r in received) if isinstance(received, list) else None,
            shown=str(data.get("shown", "")),
        )


class ManualDriver:
    """Prints what to do and waits until the service has called its SAK and gone quiet.

    ``sleep`` waits one poll interval (tests inject one that waits on the person instead of
    the clock); the timeout and the quiet period count poll intervals.
    """

    supports_idnr = False

    def __init__(
        self,
        say: Callable[[str], None],
        *,
        timeout: float = 180.0,
        quiet_seconds: float = 5.0,
        poll_seconds: float = 0.5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.say = say
        self.timeout = timeout
        #: A round is over once the service has called its SAK and then stayed quiet this
        #: long (retries and collections included).
        self.quiet_seconds = quiet_seconds
        self.poll_seconds = poll_seconds
        self.sleep = sleep

    async def retrieve(self, case: RetrievalCase, sak_calls: Callable[[], int]) -> DriverResult:
        born = case.date_of_birth.isoformat()
        self.say(
            _(
                f"Runde {case.round}: starten Sie jetzt in Ihrem Dienst einen Abruf für "
                f"{case.given_name} {case.family_name} (IDNr {case.idnr}, geboren {born}).",
                f"Round {case.round}: start one retrieval for {case.given_name} "
                f"{case.family_name} (IDNr {case.idnr}, born {born}) in your service now.",
            )
        )
        step = self.poll_seconds
        waited, quiet, last = 0.0, 0.0, sak_calls()
        while waited < self.timeout:
            await self.sleep(step)
            waited += step
            now = sak_calls()
            quiet = quiet + step if now == last and now > 0 else 0.0
            last = now
            if quiet >= self.quiet_seconds:
                return DriverResult(None, notes=[_unknown_use()])
        return DriverResult(
            None,
            notes=[
                _(
                    f"der Dienst hat seinen SAK nicht innerhalb von {self.timeout:g} s aufgerufen",
                    f"the service did not call its SAK within {self.timeout:g} s",
                )
            ]
            if last == 0
            else [_unknown_use()],
        )


def _unknown_use() -> str:
    return _(
        "was der Dienst mit der Antwort gemacht hat, ist unbekannt",
        "what the service did with the answer is unknown",
    )
