"""The venue calendar (AX-04): weekly start-up Sunday 16:00 America/Chicago, DST-correct."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from dropcopy.venue.calendar import Calendar

CT = ZoneInfo("America/Chicago")


def ns(y: int, mo: int, d: int, h: int, mi: int = 0) -> int:
    return int(datetime(y, mo, d, h, mi, tzinfo=CT).timestamp()) * 10**9


def test_AX04_week_starts_sunday_1600_chicago() -> None:
    cal = Calendar()
    # Sunday 2026-11-22 16:00 CST = 22:00 UTC
    assert cal.week_start(ns(2026, 11, 25, 9)) == ns(2026, 11, 22, 16)
    assert cal.week_start(ns(2026, 11, 22, 16)) == ns(2026, 11, 22, 16)
    assert cal.week_start(ns(2026, 11, 22, 15, 59)) == ns(2026, 11, 15, 16)
    assert cal.week_start(ns(2026, 11, 28, 23)) == ns(2026, 11, 22, 16)


def test_week_start_is_dst_correct() -> None:
    cal = Calendar()
    # DST ends Sunday 2026-11-01 02:00: the start-up that day is 16:00 CST (22:00 UTC), the one
    # before at 16:00 CDT (21:00 UTC)
    assert cal.week_start(ns(2026, 11, 3, 12)) == ns(2026, 11, 1, 16)
    assert cal.week_start(ns(2026, 10, 28, 12)) == ns(2026, 10, 25, 16)
    assert ns(2026, 11, 1, 16) - ns(2026, 10, 25, 16) == (7 * 24 + 1) * 3600 * 10**9
    assert cal.same_week(ns(2026, 11, 2, 1), ns(2026, 11, 6, 15))
    assert not cal.same_week(ns(2026, 11, 1, 15), ns(2026, 11, 1, 17))


def test_session_book_caches_the_week_and_notices_the_next_one() -> None:
    from dropcopy.venue.orderentry.gateway import SessionBook

    book = SessionBook(84)
    a = book.get(("ABC", "007"), ns(2026, 11, 23, 9))
    a.last_uuid = 5
    assert book.get(("ABC", "007"), ns(2026, 11, 27, 15)) is a  # same week
    assert book.week_start(ns(2026, 11, 29, 15, 59)) == ns(2026, 11, 22, 16)
    b = book.get(("ABC", "007"), ns(2026, 11, 29, 16))  # Sunday start-up: a fresh week
    assert b is not a and b.last_uuid == 0
    assert book.week_start(ns(2026, 11, 23, 9)) == ns(2026, 11, 22, 16)  # going back still right
