"""dropcopy.aio.scheduler: the daily 16:00 America/Chicago batch, driven by a fake clock."""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from dropcopy.aio.scheduler import (
    DailyBatch,
    batch_times_between,
    latest_batch_at,
    next_batch_at,
)

CT = ZoneInfo("America/Chicago")
SECOND = 10**9
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def ct(month: int, day: int, hour: int = 16, minute: int = 0, year: int = 2026) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=CT).timestamp()) * SECOND


def utc(month: int, day: int, hour: int, year: int = 2026) -> int:
    return int(datetime(year, month, day, hour, tzinfo=UTC).timestamp()) * SECOND


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


class Runs:
    """An async ``run`` callable recording its cut-offs; the first ``fail`` calls raise."""

    def __init__(self, fail: int = 0) -> None:
        self.cut_offs: list[int] = []
        self.fail = fail

    async def __call__(self, cut_off: int) -> None:
        self.cut_offs.append(cut_off)
        if self.fail:
            self.fail -= 1
            raise RuntimeError("database unavailable")


def batch(runs: Runs, clock: Clock, last: int | None, **kwargs: object) -> DailyBatch:
    return DailyBatch(runs, lambda: last, clock, **kwargs)  # type: ignore[arg-type]


# -- the calendar --------------------------------------------------------------------------


def test_batch_times_across_the_march_2026_dst_change() -> None:
    # 2026-03-08 02:00 CST -> 03:00 CDT: 16:00 moves from 22:00 UTC to 21:00 UTC
    times = batch_times_between(ct(3, 6, 12), ct(3, 10, 12))
    assert times == [utc(3, 6, 22), utc(3, 7, 22), utc(3, 8, 21), utc(3, 9, 21)]
    assert [b - a for a, b in itertools.pairwise(times)] == [DAY, DAY - HOUR, DAY]


def test_batch_times_across_the_november_2026_dst_change() -> None:
    # 2026-11-01 02:00 CDT -> 01:00 CST: 16:00 moves from 21:00 UTC to 22:00 UTC
    times = batch_times_between(ct(10, 30, 12), ct(11, 3, 12))
    assert times == [utc(10, 30, 21), utc(10, 31, 21), utc(11, 1, 22), utc(11, 2, 22)]
    assert [b - a for a, b in itertools.pairwise(times)] == [DAY, DAY + HOUR, DAY]


def test_batch_times_interval_is_open_at_the_start_closed_at_the_end() -> None:
    t = ct(5, 4)
    assert batch_times_between(t, t) == []
    assert batch_times_between(t - 1, t) == [t]
    assert batch_times_between(t, t + DAY - 1) == []
    assert batch_times_between(t + DAY, t) == []


def test_one_batch_time_per_calendar_day_all_year_at_1600_local() -> None:
    times = batch_times_between(ct(1, 1, 0), ct(1, 1, 0, year=2027))
    assert len(times) == 365
    locals_ = [datetime.fromtimestamp(t / SECOND, CT) for t in times]
    assert {(d.hour, d.minute, d.second) for d in locals_} == {(16, 0, 0)}
    assert len({d.date() for d in locals_}) == 365


def test_next_and_latest_batch_at() -> None:
    today = ct(3, 7)
    assert next_batch_at(today - 1) == today
    assert latest_batch_at(today - 1) == ct(3, 6)
    assert latest_batch_at(today) == today
    assert next_batch_at(today) == ct(3, 8) == utc(3, 8, 21)  # strictly after; DST day
    assert next_batch_at(ct(3, 7, 0, 5)) == today
    assert latest_batch_at(ct(11, 1, 1, 30)) == utc(10, 31, 21)  # in the repeated hour


def test_batch_time_and_zone_are_configurable() -> None:
    london = ZoneInfo("Europe/London")
    at = time(9, 30)
    start = int(datetime(2026, 3, 28, 12, tzinfo=london).timestamp()) * SECOND
    times = batch_times_between(start, start + 2 * DAY, at=at, tz=london)
    # 2026-03-29: GMT -> BST
    assert times == [
        int(datetime(2026, 3, 29, 8, 30, tzinfo=UTC).timestamp()) * SECOND,
        int(datetime(2026, 3, 30, 8, 30, tzinfo=UTC).timestamp()) * SECOND,
    ]
    with pytest.raises(ValueError):
        batch_times_between(0, DAY, at=time(16, tzinfo=UTC))
    with pytest.raises(ValueError):
        DailyBatch(Runs(), lambda: None, Clock(0), at=time(16, tzinfo=UTC))


# -- DailyBatch ----------------------------------------------------------------------------


async def test_p019_no_run_before_1600_ct_then_one_run_with_the_1600_cut_off() -> None:
    clock = Clock(ct(3, 3, 15))
    runs = Runs()
    daily = batch(runs, clock, last=ct(3, 2))

    assert await daily.poll_once() is None
    clock.now = ct(3, 3) - 1  # 15:59:59.999999999
    assert await daily.poll_once() is None
    assert runs.cut_offs == []

    clock.now = ct(3, 3)
    assert await daily.poll_once() == ct(3, 3)
    clock.now = ct(3, 3, 16, 5)
    assert await daily.poll_once() is None
    assert runs.cut_offs == [ct(3, 3)]
    assert daily.last_cut_off == ct(3, 3)


async def test_ap03_exactly_one_run_every_calendar_day_weekends_and_dst_included() -> None:
    start, end = ct(3, 5, 0), ct(3, 12, 0)  # Thu 5 .. Thu 12 March 2026, DST on Sun 8
    clock = Clock(start)
    runs = Runs()
    daily = batch(runs, clock, last=ct(3, 4))
    while clock.now < end:
        await daily.poll_once()
        clock.now += 7 * MINUTE
    assert runs.cut_offs == batch_times_between(start, end)
    days = [datetime.fromtimestamp(t / SECOND, CT) for t in runs.cut_offs]
    assert [d.day for d in days] == [5, 6, 7, 8, 9, 10, 11]  # Sat 7 and Sun 8 included
    assert {(d.hour, d.minute) for d in days} == {(16, 0)}


async def test_missed_batch_runs_at_once_on_restart_with_the_missed_cut_off() -> None:
    clock = Clock(ct(3, 5, 10))  # down since before Tue 3 16:00; restarted Thu 5 10:00
    runs = Runs()
    daily = batch(runs, clock, last=ct(3, 2))

    assert await daily.poll_once() == ct(3, 4)  # once, with the latest missed cut-off
    assert await daily.poll_once() is None
    clock.now = ct(3, 5)
    assert await daily.poll_once() == ct(3, 5)
    assert runs.cut_offs == [ct(3, 4), ct(3, 5)]


async def test_restart_after_the_day_s_run_does_not_run_it_again() -> None:
    runs = Runs()
    daily = batch(runs, Clock(ct(3, 5, 18)), last=ct(3, 5))
    assert await daily.poll_once() is None
    assert runs.cut_offs == []


async def test_never_run_before_counts_as_missed() -> None:
    runs = Runs()
    daily = batch(runs, Clock(ct(3, 5, 10)), last=None)
    assert await daily.poll_once() == ct(3, 4)
    assert await daily.poll_once() is None


async def test_clock_jump_of_three_days_runs_once_with_the_latest_cut_off() -> None:
    """Documented choice: the missed days are covered by one run whose cut-off is the latest
    missed batch time (it processes everything submitted before it)."""
    clock = Clock(ct(3, 3, 12))
    runs = Runs()
    daily = batch(runs, clock, last=ct(3, 2))
    assert await daily.poll_once() is None

    clock.now += 3 * DAY  # Fri 6 12:00: the batches of Tue 3, Wed 4 and Thu 5 were skipped
    assert await daily.poll_once() == ct(3, 5)
    assert await daily.poll_once() is None
    assert runs.cut_offs == [ct(3, 5)]


async def test_failing_run_is_logged_retried_and_does_not_stop_the_next_day(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock(ct(3, 3))
    runs = Runs(fail=1)
    daily = batch(runs, clock, last=ct(3, 2), retry_after=5 * MINUTE)

    with caplog.at_level(logging.ERROR, logger="dropcopy.aio.scheduler"):
        assert await daily.poll_once() == ct(3, 3)
    assert "failed" in caplog.text and "database unavailable" in caplog.text

    clock.now += 4 * MINUTE
    assert await daily.poll_once() is None  # not yet: retry_after
    clock.now += 1 * MINUTE
    assert await daily.poll_once() == ct(3, 3)  # retried with the same cut-off, succeeds
    clock.now = ct(3, 4)
    assert await daily.poll_once() == ct(3, 4)
    assert runs.cut_offs == [ct(3, 3), ct(3, 3), ct(3, 4)]


async def test_without_retry_a_failed_day_is_skipped_and_the_next_day_runs() -> None:
    clock = Clock(ct(3, 3))
    runs = Runs(fail=1)
    daily = batch(runs, clock, last=ct(3, 2), retry_after=None)
    assert await daily.poll_once() == ct(3, 3)
    clock.now += HOUR
    assert await daily.poll_once() is None
    clock.now = ct(3, 4)
    assert await daily.poll_once() == ct(3, 4)
    assert runs.cut_offs == [ct(3, 3), ct(3, 4)]


async def test_a_later_batch_time_supersedes_a_pending_retry() -> None:
    clock = Clock(ct(3, 3))
    runs = Runs(fail=1)
    daily = batch(runs, clock, last=ct(3, 2), retry_after=3 * DAY)
    assert await daily.poll_once() == ct(3, 3)
    clock.now = ct(3, 4)
    assert await daily.poll_once() == ct(3, 4)
    assert runs.cut_offs == [ct(3, 3), ct(3, 4)]


async def test_plain_run_and_last_run_callables_run_in_a_worker_thread() -> None:
    threads: list[int] = []
    cut_offs: list[int] = []

    def last_run() -> int:
        threads.append(threading.get_ident())
        return ct(3, 2)

    def run(cut_off: int) -> None:
        threads.append(threading.get_ident())
        cut_offs.append(cut_off)

    daily = DailyBatch(run, last_run, Clock(ct(3, 3, 17)))
    assert await daily.poll_once() == ct(3, 3)
    assert cut_offs == [ct(3, 3)]
    assert len(threads) == 2 and threading.get_ident() not in threads


async def _until(predicate: Callable[[], bool], timeout: float = 1.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.002)


async def test_run_forever_follows_clock_jumps_survives_errors_and_stops() -> None:
    clock = Clock(ct(3, 3, 15))
    runs = Runs(fail=1)
    loads = 0

    def last_run() -> int:
        nonlocal loads
        loads += 1
        if loads == 1:
            raise RuntimeError("store not ready")
        return ct(3, 2)

    daily = DailyBatch(runs, last_run, clock, poll_interval=0.005, retry_after=None)
    task = asyncio.create_task(daily.run_forever())
    try:
        await _until(lambda: loads >= 2)
        await asyncio.sleep(0.02)
        assert runs.cut_offs == []  # 15:00: nothing due

        clock.now = ct(3, 3)  # 16:00: runs (and fails; logged, the loop goes on)
        await _until(lambda: len(runs.cut_offs) == 1)

        clock.now = ct(3, 6, 16, 30)  # an operator moves the clock three days forward
        await _until(lambda: len(runs.cut_offs) == 2)
        await asyncio.sleep(0.02)
        assert runs.cut_offs == [ct(3, 3), ct(3, 6)]
        assert not task.done()
    finally:
        daily.stop()
        await asyncio.wait_for(task, 1)
