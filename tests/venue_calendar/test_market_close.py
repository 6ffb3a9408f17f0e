"""Market close (AX-04): 16:00 America/Chicago, Monday to Friday; used for key expiry (AP-02)."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from dropcopy.venue.calendar import Calendar, market_close_after

CT = ZoneInfo("America/Chicago")


def ns(y: int, mo: int, d: int, h: int, mi: int = 0) -> int:
    return int(datetime(y, mo, d, h, mi, tzinfo=CT).timestamp()) * 10**9


def test_AP02_market_close_is_the_next_1600_chicago_on_a_weekday() -> None:
    # Tuesday 2026-11-24
    assert market_close_after(ns(2026, 11, 24, 10)) == ns(2026, 11, 24, 16)
    assert market_close_after(ns(2026, 11, 24, 16)) == ns(2026, 11, 24, 16)  # at the close
    assert market_close_after(ns(2026, 11, 24, 16) + 1) == ns(2026, 11, 25, 16)
    # Friday after the weekly close, Saturday and Sunday: Monday's close
    assert market_close_after(ns(2026, 11, 27, 16, 1)) == ns(2026, 11, 30, 16)
    assert market_close_after(ns(2026, 11, 28, 12)) == ns(2026, 11, 30, 16)
    assert market_close_after(ns(2026, 11, 29, 17)) == ns(2026, 11, 30, 16)


def test_market_close_is_dst_correct() -> None:
    # 2027-03-14 DST begins: Friday 12 March closes at 22:00 UTC, Monday 15 March at 21:00 UTC
    friday, monday = ns(2027, 3, 12, 16), ns(2027, 3, 15, 16)
    assert market_close_after(ns(2027, 3, 12, 17)) == monday
    assert monday - friday == (3 * 24 - 1) * 3600 * 10**9
    assert datetime.fromtimestamp(monday / 10**9, ZoneInfo("UTC")).hour == 21


def test_calendar_method_and_other_settings() -> None:
    assert Calendar().market_close_after(ns(2026, 11, 24, 10)) == ns(2026, 11, 24, 16)
    london = ZoneInfo("Europe/London")
    at = int(datetime(2026, 11, 24, 10, tzinfo=london).timestamp()) * 10**9
    assert (
        Calendar(tz=london).market_close_after(at)
        == int(datetime(2026, 11, 24, 16, tzinfo=london).timestamp()) * 10**9
    )
    fridays = frozenset({4})
    assert market_close_after(
        ns(2026, 11, 24, 10), close_time=time(15, 15), close_weekdays=fridays
    ) == ns(2026, 11, 27, 15, 15)
    with pytest.raises(ValueError):
        market_close_after(0, close_weekdays=frozenset())
    with pytest.raises(ValueError):
        market_close_after(0, close_weekdays=frozenset({7}))
