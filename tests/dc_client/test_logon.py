"""The Drop Copy client's logon obligations (seed 003 "Session Logon", "Managing Sequence
Numbers"): beginning-of-week and mid-week logons, persisted numbers keyed by (Session ID, 57),
and the 789 NextExpectedMsgSeqNum retry."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dropcopy.aio.dropcopy import (
    DropCopyState,
    FileDropCopyStore,
    LogonRejected,
    MemoryDropCopyStore,
    cme_week_start,
)
from dropcopy.fix.secure_logon import verify_logon
from dropcopy.fix.texts import INVALID_LOGON

from .fakevenue import (
    OTHER_SECRET,
    SECRET,
    SENDER,
    SESSION,
    FakeVenue,
    Stream,
    ack,
    client_for,
    running,
)

WEEK = 7 * 86_400 * 10**9


def ns(text: str) -> int:
    return int(datetime.fromisoformat(text).astimezone(UTC).timestamp()) * 10**9


def test_cme_week_start_is_sunday_1600_chicago_in_winter_and_summer() -> None:
    # 2025-11-23 is a Sunday; 16:00 CST = 22:00 UTC. In July, 16:00 CDT = 21:00 UTC.
    assert cme_week_start(ns("2025-11-26T12:00:00+00:00")) == ns("2025-11-23T22:00:00+00:00")
    assert cme_week_start(ns("2025-11-23T22:00:00+00:00")) == ns("2025-11-23T22:00:00+00:00")
    assert cme_week_start(ns("2025-11-23T21:59:59+00:00")) == ns("2025-11-16T22:00:00+00:00")
    assert cme_week_start(ns("2025-07-18T20:00:00+00:00")) == ns("2025-07-13T21:00:00+00:00")


def test_D084_file_store_keys_streams_by_session_and_57_and_replaces_atomically(
    tmp_path: Path,
) -> None:
    store = FileDropCopyStore(tmp_path / "dc.json")
    assert store.load(SESSION, "G") is None
    store.save(DropCopyState(SESSION, "74", 5, 3, 9, (("ABC007N", 11, 2),)))
    store.save(DropCopyState(SESSION, "99", 5, 4, 1))
    store.save(DropCopyState(SESSION, "74", 5, 6, 10, (("ABC007N", 11, 2),)))
    assert store.load(SESSION, "74") == DropCopyState(
        SESSION, "74", 5, 6, 10, (("ABC007N", 11, 2),)
    )
    assert store.load(SESSION, "99") == DropCopyState(SESSION, "99", 5, 4, 1)
    assert store.load("ZZZZZZ", "74") is None
    assert sorted(json.loads((tmp_path / "dc.json").read_text())["streams"]) == [
        "ABCDEF/74",
        "ABCDEF/99",
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["dc.json"]  # no temporary file left


async def test_D025_beginning_of_week_logon_uses_34_1_despite_last_weeks_numbers() -> None:
    store = MemoryDropCopyStore()
    last_week = cme_week_start(time.time_ns()) - WEEK
    store.save(DropCopyState(SESSION, "G", last_week, 57, 40))
    async with running(FakeVenue()) as (v,):
        c = client_for(v, store=store)
        await c.logon()
        (logon,) = v.logons
        assert logon.get(34) == b"1" and logon.get(141) in (None, b"N")
        assert logon.get(49) == SENDER.encode() and logon.get(57) == b"G"  # D-079, D-105
        assert verify_logon(logon, SECRET)  # secure logon (AX-01)
        assert logon.get(122) is None  # D-028
        assert logon.get(108) == b"30"  # D-020: the recommended heartbeat interval
        assert c.next_out == 2 and c.next_in == 2
        saved = store.load(SESSION, "G")
        assert saved is not None and saved.week_start == cme_week_start(time.time_ns())
        assert (saved.next_out, saved.next_in) == (2, 2)
        await c.logout()


async def test_D026_midweek_logon_continues_the_persisted_numbers() -> None:
    store = MemoryDropCopyStore()
    store.save(DropCopyState(SESSION, "G", cme_week_start(time.time_ns()), 12, 30))
    async with running(FakeVenue(stream=Stream(next_out=30, next_in=12, fresh=False))) as (v,):
        c = client_for(v, store=store)
        ack_event = await c.logon()
        assert v.logon_seqs() == [12] and ack_event.msg_seq_num == 30
        v.publish(ack("A1", 1))
        copy = await c.next_copy(timeout=2)
        assert copy.seq_num == 31 and not copy.poss_dup
        assert c.stats.resend_requests == 0 and not v.received("2")  # no false gap
        await c.logout()
        saved = store.load(SESSION, "G")
        assert saved is not None and (saved.next_out, saved.next_in) == (14, 33)


async def test_D084_restarted_client_continues_from_the_state_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    async with running(FakeVenue()) as (v,):
        first = client_for(v, store=FileDropCopyStore(path))
        await first.logon()
        for i in range(3):
            v.publish(ack(f"A{i}", i + 1))
        seqs = [(await first.next_copy(timeout=2)).seq_num for _ in range(3)]
        assert seqs == [2, 3, 4]
        await first.logout()
        again = client_for(v, store=FileDropCopyStore(path))  # a new process
        await again.logon()
        assert v.logon_seqs() == [1, 3]  # mid-week: the next 34 after the Logout (D-026)
        v.publish(ack("A3", 4))
        copy = await again.next_copy(timeout=2)
        assert copy.seq_num == 7  # 5 and 6 were the Logout confirmation and the Logon ack
        assert again.stats.resend_requests == 0
        await again.logout()


async def test_D049_copies_not_taken_before_a_crash_are_recovered_after_restart(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    async with running(FakeVenue()) as (v,):
        first = client_for(v, store=FileDropCopyStore(path))
        await first.logon()
        for i in range(3):
            v.publish(ack(f"A{i}", i + 1))
        assert (await first.next_copy(timeout=2)).seq_num == 2
        await v.wait_until(lambda: first.pending == 2)  # 3 and 4 received, not taken
        first.close()  # the process dies without a Logout
        saved = FileDropCopyStore(path).load(SESSION, "G")
        assert saved is not None and saved.next_in == 3
        again = client_for(v, store=FileDropCopyStore(path))
        await again.logon()
        got = [await again.next_copy(timeout=2) for _ in range(2)]
        assert [(c.seq_num, c.cl_ord_id, c.poss_dup) for c in got] == [
            (3, "A1", True),
            (4, "A2", True),
        ]
        await again.logout()


async def test_D026_midweek_logon_uses_789_after_logout() -> None:
    store = MemoryDropCopyStore()
    store.save(DropCopyState(SESSION, "G", cme_week_start(time.time_ns()), 5, 20))
    stream = Stream(next_out=20, next_in=9, fresh=False)
    async with running(FakeVenue(stream=stream)) as (v,):
        c = client_for(v, store=store)
        await c.logon()
        assert v.logon_seqs() == [5, 9]  # D-149: again with 34 = the Logout's 789
        first_logout = v.timeline.index("closed MsgSeqNum too low, expecting 9 but received 5")
        assert first_logout < v.timeline.index("logged on 21")
        assert c.stats.logon_retries_789 == 1
        v.publish(ack("A1", 1))
        copy = await c.next_copy(timeout=2)
        # CME's Logout took 20: the client asks for it and the venue gap-fills it
        assert copy.seq_num == 22 and v.resend_requests[0].begin_seq_no == 20
        c.close()


async def test_D026_gap_at_logon_filled_by_one_gap_fill_ends_the_resend() -> None:
    store = MemoryDropCopyStore()
    store.save(DropCopyState(SESSION, "G", cme_week_start(time.time_ns()), 5, 20))
    async with running(FakeVenue(stream=Stream(next_out=20, next_in=9, fresh=False))) as (v,):
        c = client_for(v, store=store)
        await c.logon()  # the ack is 21; CME's Logout (20) is missing
        await v.wait_until(lambda: c.next_in == 22)  # the GapFill 20 -> 22 was processed
        assert not c.resend_in_progress and c.logged_on
        assert len(v.received("2")) == 1
        c.close()


async def test_D149_a_second_refusal_with_789_raises_logon_rejected() -> None:
    async with running(FakeVenue(policy=lambda e: ("MsgSeqNum too low", 100))) as (v,):
        c = client_for(v)
        with pytest.raises(LogonRejected) as info:
            await c.logon()
        assert v.logon_seqs() == [1, 100]  # once with 789, then give up
        assert info.value.next_expected_msg_seq_num == 100
        assert "MsgSeqNum too low" in str(info.value)


async def test_AX01_wrong_secret_is_refused_without_retry() -> None:
    async with running(FakeVenue(secret=OTHER_SECRET)) as (v,):
        c = client_for(v)
        with pytest.raises(LogonRejected) as info:
            await c.logon()
        assert info.value.text == INVALID_LOGON and v.logon_seqs() == [1]
