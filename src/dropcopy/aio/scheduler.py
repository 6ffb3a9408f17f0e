"""The portal's daily request processing: every calendar day at 16:00 America/Chicago.

Theory of operation
-------------------
Requests submitted in the portal stay In-Progress until the daily processing "beginning at 4pm
CT" (seed 000, P-019). Decision AP-03: run every calendar day (weekends included) at 16:00
America/Chicago, DST-aware; a run processes every request submitted before it starts. AX-04
makes the time and zone configurable.

The pure functions compute batch times from ``now`` (int ns since the epoch): a batch time is
``at`` local time in ``tz`` on a calendar day, so it is 22:00 UTC in winter (CST) and 21:00 UTC
in summer (CDT), and the days around a DST change are 23 or 25 hours apart.

:class:`DailyBatch` is the loop. Each poll it reads ``clock()`` and computes the latest batch
time at or before now; if that is later than the last cut-off handled, it calls
``run(cut_off)`` once, with the *scheduled* batch time as the cut-off (requests submitted
before it are processed, later ones wait a day). Consequences:

* **restart-safe**: at start-up ``last_run()`` says which cut-off was handled last (the
  ``run`` callable must record it durably, ideally in the transaction that processes the
  requests). If a batch time passed while the service was down, the first poll runs at once
  with the latest missed cut-off. ``None`` (never run) counts as "missed".
* **several missed days run once**, with the latest missed cut-off: that run processes every
  request submitted before it, exactly what the missed runs together would have processed, so
  one run is equivalent to one per missed day and simpler (the same holds when an operator moves
  the venue's clock forward by days: "time travel").
* the loop sleeps at most ``poll_interval`` seconds and recomputes everything from ``clock()``
  after each sleep, so a clock jump takes effect within one poll.
* an exception from ``run`` is logged; that cut-off is tried again after ``retry_after``
  (unless a later batch time has come by then, which supersedes it) and the next day's run
  happens as usual. ``retry_after=None`` gives up on a failed cut-off until the next day.
* if the clock moves backwards, no batch runs again until the clock passes the next batch time
  after the last cut-off handled.

``run`` may be a coroutine function (awaited on the loop) or a plain function (run in a worker
thread, so the portal's synchronous SQLAlchemy code never blocks the event loop); ``last_run``
is plain and also runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "BATCH_TIME",
    "CHICAGO",
    "DailyBatch",
    "batch_times_between",
    "latest_batch_at",
    "next_batch_at",
]

logger = logging.getLogger(__name__)

NS = 1_000_000_000
CHICAGO = ZoneInfo("America/Chicago")
BATCH_TIME = time(16, 0)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_DAY = timedelta(days=1)


def _local_date(ns: int, tz: ZoneInfo) -> date:
    return (_EPOCH + timedelta(microseconds=ns // 1000)).astimezone(tz).date()


def _batch_on(day: date, at: time, tz: ZoneInfo) -> int:
    if at.tzinfo is not None:
        raise ValueError("the batch time must be a naive local time; give the zone as tz")
    return (datetime.combine(day, at, tzinfo=tz) - _EPOCH) // _US * 1000


def batch_times_between(
    after_ns: int, until_ns: int, *, at: time = BATCH_TIME, tz: ZoneInfo = CHICAGO
) -> list[int]:
    """Every batch time (``at`` local time in ``tz``, one per calendar day) ``t`` with
    ``after_ns < t <= until_ns``, ascending, in ns since the epoch."""
    if until_ns <= after_ns:
        return []
    times = []
    day, last = _local_date(after_ns, tz), _local_date(until_ns, tz)
    while day <= last:
        t = _batch_on(day, at, tz)
        if after_ns < t <= until_ns:
            times.append(t)
        day += _DAY
    return times


def next_batch_at(now_ns: int, *, at: time = BATCH_TIME, tz: ZoneInfo = CHICAGO) -> int:
    """The first batch time strictly after ``now_ns``."""
    day = _local_date(now_ns, tz) - _DAY
    while (t := _batch_on(day, at, tz)) <= now_ns:
        day += _DAY
    return t


def latest_batch_at(now_ns: int, *, at: time = BATCH_TIME, tz: ZoneInfo = CHICAGO) -> int:
    """The latest batch time at or before ``now_ns`` (the cut-off of a run due at ``now_ns``)."""
    day = _local_date(now_ns, tz) + _DAY
    while (t := _batch_on(day, at, tz)) > now_ns:
        day -= _DAY
    return t


class DailyBatch:
    """Calls ``run(cut_off_ns)`` once per batch time (see the module docstring).

    ``clock`` gives ns since the epoch; ``poll_interval`` (seconds) is the longest sleep;
    ``retry_after`` (ns, default 5 minutes) the delay before a failed cut-off is tried again.
    """

    def __init__(
        self,
        run: Callable[[int], Awaitable[None] | None],
        last_run: Callable[[], int | None],
        clock: Callable[[], int],
        *,
        at: time = BATCH_TIME,
        tz: ZoneInfo = CHICAGO,
        poll_interval: float = 1.0,
        retry_after: int | None = 300 * NS,
    ) -> None:
        if at.tzinfo is not None:
            raise ValueError("the batch time must be a naive local time; give the zone as tz")
        if poll_interval <= 0:
            raise ValueError("poll_interval must be positive")
        self._run = run
        self._last_run = last_run
        self.clock = clock
        self.at = at
        self.tz = tz
        self.poll_interval = poll_interval
        self.retry_after = retry_after
        self._loaded = False
        self._done: int | None = None  # the latest cut-off handled
        self._failed: int | None = None  # a cut-off whose run failed, to retry at _retry_at
        self._retry_at = 0
        self._stopping = False
        self._stop_event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def last_cut_off(self) -> int | None:
        """The latest cut-off handled (run successfully, or given up), if known."""
        return self._done

    def due(self, now: int) -> int | None:
        """The cut-off a poll at ``now`` would run, or ``None`` (needs ``last_run`` loaded)."""
        cut_off = latest_batch_at(now, at=self.at, tz=self.tz)
        if self._done is not None and cut_off <= self._done:
            return None
        if cut_off == self._failed and now < self._retry_at:
            return None
        return cut_off

    async def poll_once(self) -> int | None:
        """One step of the loop: run the due batch, if any, and return its cut-off (also when
        the run failed); ``None`` when nothing was due."""
        if not self._loaded:
            self._done = await asyncio.to_thread(self._last_run)
            self._loaded = True
        now = self.clock()
        cut_off = self.due(now)
        if cut_off is None:
            return None
        try:
            await self._invoke(cut_off)
        except Exception:
            logger.exception("daily batch with cut-off %s failed", self._label(cut_off))
            if self.retry_after is None:
                self._done = cut_off
            else:
                self._failed, self._retry_at = cut_off, now + self.retry_after
            return cut_off
        self._done, self._failed = cut_off, None
        return cut_off

    async def _invoke(self, cut_off: int) -> None:
        run = self._run
        # a coroutine function, or an object whose __call__ is one
        if inspect.iscoroutinefunction(run) or inspect.iscoroutinefunction(type(run).__call__):
            result = run(cut_off)
        else:
            result = await asyncio.to_thread(run, cut_off)
        if inspect.isawaitable(result):
            await result

    def _label(self, ns: int) -> str:
        return datetime.fromtimestamp(ns / NS, self.tz).isoformat()

    async def run_forever(self) -> None:
        """Poll until :meth:`stop`; never lets an exception out (they are logged)."""
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        self._stop_event.clear()
        while not self._stopping:
            try:
                await self.poll_once()
            except Exception:
                logger.exception("daily batch scheduler: poll failed")
            if self._stopping:
                break
            now = self.clock()
            until_next = (next_batch_at(now, at=self.at, tz=self.tz) - now) / NS
            delay = max(0.001, min(self.poll_interval, until_next))
            try:
                await asyncio.wait_for(self._stop_event.wait(), delay)
            except TimeoutError:
                pass

    def stop(self) -> None:
        """End :meth:`run_forever` (a run in progress completes first). Safe from any thread."""
        self._stopping = True
        loop = self._loop
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None or running is loop:
            self._stop_event.set()
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._stop_event.set)
