"""What every German page of the landscape shares: one stylesheet, and how times are written.

**The stylesheet** ``noots/web/static/noots.css`` is the one visual style of the browser pages:
the dashboard, the Datenschutzcockpit and the demo online services. An app serves the folder
with :func:`mount_assets` under :data:`ASSETS_PATH` and its pages link :data:`STYLESHEET`
(and :data:`FAVICON`); page-specific rules (the dashboard's sequence diagram) build on its
custom properties in a stylesheet of their own. Nothing comes from a CDN, nothing is inline:
the pages run under ``style-src 'self'``.

**Times** are shown as people in Germany read them, in Europe/Berlin and formatted by Babel
(locale ``de_DE``): ``06.12.2026, 06:12 Uhr`` (:func:`german_datetime`), ``06:12:52 Uhr``
(:func:`german_time`); never ISO UTC. Machine interfaces (JSON APIs, protocol logs, messages)
keep UTC; only what a page shows goes through here.

**Outcomes and error codes** of the protocol logs and messages have one German wording
(:func:`outcome_text`, :data:`ERROR_CODES_DE`): no page shows ``delivered`` or a bare code.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

__all__ = [
    "ASSETS_PATH",
    "ERROR_CODES_DE",
    "FAVICON",
    "LOCALE",
    "STYLESHEET",
    "TIMEZONE",
    "german_date",
    "german_datetime",
    "german_time",
    "mount_assets",
    "outcome_text",
    "parse_instant",
]

#: Where :func:`mount_assets` serves ``noots/web/static``.
ASSETS_PATH: Final = "/assets"
#: The one stylesheet every page links.
STYLESHEET: Final = f"{ASSETS_PATH}/noots.css"
FAVICON: Final = f"{ASSETS_PATH}/favicon.svg"
LOCALE: Final = "de_DE"
TIMEZONE: Final = ZoneInfo("Europe/Berlin")

#: What each error code of the EDM code list means, in German.
ERROR_CODES_DE: Final = {
    "EDM:ERR:0001": "Authentifizierung fehlgeschlagen",
    "EDM:ERR:0002": "nicht berechtigt",
    "EDM:ERR:0003": "ungültige Anfrage",
    "EDM:ERR:0004": "kein Nachweis vorhanden",
    "EDM:ERR:0005": "Zeitüberschreitung",
    "EDM:ERR:0006": "Empfänger unbekannt",
    "EDM:ERR:0007": "nicht unterstützt",
    "EDM:ERR:0008": "Verarbeitungsfehler",
}
_OUTCOMES_DE: Final = {
    "delivered": "übermittelt",
    "pending": "wird nachgereicht",
    "refused:EDM:ERR:0001": "abgelehnt: Authentifizierung fehlgeschlagen",
    "refused:EDM:ERR:0002": "abgelehnt: nicht berechtigt",
    "refused:EDM:ERR:0003": "abgelehnt: ungültige Anfrage",
    "refused:EDM:ERR:0004": "kein Nachweis vorhanden",
    "refused:EDM:ERR:0005": "abgebrochen: Zeitüberschreitung",
    "refused:EDM:ERR:0006": "abgelehnt: Empfänger unbekannt",
    "refused:EDM:ERR:0007": "abgelehnt: nicht unterstützt",
    "refused:EDM:ERR:0008": "fehlgeschlagen",
}


def outcome_text(outcome: str) -> str:
    """The German text of a protocol outcome (``delivered``, ``pending``, ``refused:<code>``);
    a code outside the list is named, never shown as a raw key."""
    known = _OUTCOMES_DE.get(outcome)
    if known is not None:
        return known
    if outcome.startswith("refused:"):
        return f"abgelehnt (Fehlercode {outcome.removeprefix('refused:')})"
    return f"unbekanntes Ergebnis ({outcome})"


def _aware(instant: datetime) -> datetime:
    # The landscape writes UTC everywhere; a naive value can only be UTC that lost its zone.
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def german_datetime(instant: datetime, *, seconds: bool = False) -> str:
    """``06.12.2026, 06:12 Uhr`` (with ``seconds``: ``06.12.2026, 06:12:52 Uhr``) in
    Europe/Berlin."""
    pattern = "dd.MM.yyyy, HH:mm:ss 'Uhr'" if seconds else "dd.MM.yyyy, HH:mm 'Uhr'"
    return format_datetime(_aware(instant), pattern, tzinfo=TIMEZONE, locale=LOCALE)


def german_time(instant: datetime, *, seconds: bool = True) -> str:
    """``06:12:52 Uhr`` (without ``seconds``: ``06:12 Uhr``) in Europe/Berlin."""
    pattern = "HH:mm:ss 'Uhr'" if seconds else "HH:mm 'Uhr'"
    return format_datetime(_aware(instant), pattern, tzinfo=TIMEZONE, locale=LOCALE)


def german_date(day: date) -> str:
    """``06.12.2026``."""
    return format_date(day, "dd.MM.yyyy", locale=LOCALE)


def parse_instant(text: object) -> datetime | None:
    """An ISO 8601 instant from a JSON answer (``Z`` allowed), None when it is not one."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return _aware(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


def mount_assets(app: Any) -> None:
    """Serve the shared assets (stylesheet, icon) of ``app`` (FastAPI or Starlette) under
    :data:`ASSETS_PATH`; found through the installed package, not the checkout."""
    from starlette.staticfiles import StaticFiles

    app.mount(ASSETS_PATH, StaticFiles(packages=[("noots.web", "static")]), name="noots-assets")
