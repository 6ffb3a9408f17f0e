"""The venue's business calendar, computed from ``now`` (decision AX-04, all configurable):
weekly start-up (sequence reset) Sunday 16:00, trading-day rollover 17:00, weekly close Friday
16:00 and the portal batch daily 16:00 — in America/Chicago, DST-correct (zoneinfo)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

CHICAGO = ZoneInfo("America/Chicago")
NS = 1_000_000_000


def _ns(dt: datetime) -> int:
    return int(dt.timestamp()) * NS


@dataclass(frozen=True, slots=True)
class Calendar:
    tz: ZoneInfo = CHICAGO
    startup_weekday: int = 6  # Sunday (Monday = 0)
    startup_time: time = time(16, 0)

    def week_start(self, now: int) -> int:
        """The most recent weekly start-up at or before ``now`` (ns since the epoch)."""
        local = datetime.fromtimestamp(now / NS, self.tz)
        days_back = (local.weekday() - self.startup_weekday) % 7
        candidate = datetime.combine(
            local.date() - timedelta(days=days_back), self.startup_time, self.tz
        )
        if _ns(candidate) > now:
            candidate = datetime.combine(
                candidate.date() - timedelta(days=7), self.startup_time, self.tz
            )
        return _ns(candidate)

    def same_week(self, a: int, b: int) -> bool:
        return self.week_start(a) == self.week_start(b)

    def market_close_after(self, now: int) -> int:
        """The first daily market close (16:00, Monday to Friday, in this calendar's time zone)
        at or after ``now``: see :func:`market_close_after`."""
        return market_close_after(now, tz=self.tz)


#: Weekdays (Monday = 0) that end with a daily market close: Globex halts at 16:00 Chicago
#: Monday to Thursday (daily maintenance) and closes for the week on Friday at 16:00 (AX-04).
CLOSE_WEEKDAYS = frozenset({0, 1, 2, 3, 4})
CLOSE_TIME = time(16, 0)


def market_close_after(
    now: int,
    *,
    tz: ZoneInfo = CHICAGO,
    close_time: time = CLOSE_TIME,
    close_weekdays: frozenset[int] = CLOSE_WEEKDAYS,
) -> int:
    """The first market close at or after ``now`` (ns since the epoch): ``close_time`` in ``tz``
    on one of ``close_weekdays`` -- by default 16:00 America/Chicago, Monday to Friday, so a
    Saturday or Sunday rolls on to Monday's close. Exchange holidays are not modelled.

    Used for key rotation: the older key pair "expires four weeks later, at market close"
    (dropcopy-wire-notes.md §4; AP-02 accepts this refinement of "in 4 weeks")."""
    if not close_weekdays or not close_weekdays <= frozenset(range(7)):
        raise ValueError(f"close_weekdays must be a non-empty set of 0..6, not {close_weekdays}")
    day = datetime.fromtimestamp(now // NS, tz).date()
    while True:
        if day.weekday() in close_weekdays:
            close = _ns(datetime.combine(day, close_time, tz))
            if close >= now:
                return close
        day += timedelta(days=1)
