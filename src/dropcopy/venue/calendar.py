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
