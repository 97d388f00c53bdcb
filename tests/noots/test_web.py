"""noots.web: the shared stylesheet is served, times are German (Europe/Berlin, Babel)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import httpx
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette

from noots.web import (
    FAVICON,
    STYLESHEET,
    german_date,
    german_datetime,
    german_time,
    mount_assets,
    outcome_text,
    parse_instant,
)


def test_winter_time_is_utc_plus_one() -> None:
    """06.12.2026 05:12:52 UTC is 06:12 in Berlin."""
    instant = datetime(2026, 12, 6, 5, 12, 52, tzinfo=UTC)
    assert german_datetime(instant) == "06.12.2026, 06:12 Uhr"
    assert german_datetime(instant, seconds=True) == "06.12.2026, 06:12:52 Uhr"
    assert german_time(instant) == "06:12:52 Uhr"
    assert german_time(instant, seconds=False) == "06:12 Uhr"


def test_summer_time_is_utc_plus_two() -> None:
    """In July Berlin is two hours ahead; the date rolls over at 22:00 UTC."""
    assert german_datetime(datetime(2026, 7, 1, 22, 30, tzinfo=UTC)) == "02.07.2026, 00:30 Uhr"


def test_another_zone_is_converted_and_a_naive_value_is_utc() -> None:
    """An instant in another zone is shown in Berlin; a naive one is taken as UTC."""
    new_york = timezone(timedelta(hours=-5))
    assert german_datetime(datetime(2026, 12, 6, 0, 12, tzinfo=new_york)) == (
        "06.12.2026, 06:12 Uhr"
    )
    assert german_datetime(datetime(2026, 12, 6, 5, 12)) == "06.12.2026, 06:12 Uhr"


def test_dates_are_day_month_year() -> None:
    """A date of birth reads 12.08.1964."""
    assert german_date(date(1964, 8, 12)) == "12.08.1964"


def test_outcomes_are_german() -> None:
    """No page shows "delivered" or a bare key."""
    assert outcome_text("delivered") == "übermittelt"
    assert outcome_text("pending") == "wird nachgereicht"
    assert outcome_text("refused:EDM:ERR:0002") == "abgelehnt: nicht berechtigt"
    assert outcome_text("mystery") == "unbekanntes Ergebnis (mystery)"


@given(st.datetimes(timezones=st.just(UTC)))
def test_parse_instant_round_trips_iso_utc(instant: datetime) -> None:
    """What the JSON APIs write (ISO, with Z or +00:00) is read back as the same instant."""
    assert parse_instant(instant.isoformat()) == instant
    assert parse_instant(instant.isoformat().replace("+00:00", "Z")) == instant


@given(st.one_of(st.text(max_size=40), st.none(), st.integers()))
def test_parse_instant_never_raises(value: object) -> None:
    """Anything else is None or an aware datetime, never an exception."""
    parsed = parse_instant(value)
    assert parsed is None or parsed.tzinfo is not None


async def test_mount_assets_serves_the_stylesheet_and_the_icon() -> None:
    """Any app that mounts the assets serves the one stylesheet and the icon from the
    installed package."""
    app = Starlette()
    mount_assets(app)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://x"
    ) as client:
        css = await client.get(STYLESHEET)
        icon = await client.get(FAVICON)
        missing = await client.get("/assets/__init__.py")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "--akzent" in css.text
    assert icon.status_code == 200
    assert missing.status_code == 404
