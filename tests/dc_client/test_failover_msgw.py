"""Fault tolerance and market segments (seed 003 "Fault Tolerance and Fail-Over Management",
"Managing Sequence Numbers", "Tag 57-TargetSubID"): failover to the backup with the next 34,
back to the primary when the backup refuses, no failover during a resend, and one sequence
stream per market segment."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from dropcopy.aio.dropcopy import (
    ConnectionFailed,
    DropCopyMsgwClient,
    FileDropCopyStore,
    SessionClosed,
)
from dropcopy.fix.texts import BACKUP_NOT_ALLOWED

from .fakevenue import KEY_ID, SECRET, SESSION, FakeVenue, Stream, ack, client_for, running


def pair(**primary_kw: object) -> tuple[FakeVenue, FakeVenue]:
    """A designated primary and backup sharing the stream state (D-065); the backup refuses
    while the primary is listening (D-064)."""
    stream = Stream()
    primary = FakeVenue(stream=stream, **primary_kw)  # type: ignore[arg-type]
    backup = FakeVenue(stream=stream, backup=True, primary_alive=lambda: primary.server is not None)
    return primary, backup


async def test_D066_failover_to_the_backup_after_the_primary_drops_resumes_with_next_34() -> None:
    primary, backup = pair()
    async with running(primary, backup):
        c = client_for(primary, backup)
        await c.logon()
        primary.publish(ack("A", 1))
        primary.publish(ack("B", 2))
        got = [await c.next_copy(timeout=2) for _ in range(2)]
        assert [x.seq_num for x in got] == [2, 3]
        next_out, next_in = c.next_out, c.next_in
        await primary.crash()  # the gateway dies; the backup is promoted
        waiting = asyncio.create_task(c.next_copy(timeout=2))
        await backup.wait_until(lambda: backup.active is not None)
        assert backup.logon_seqs() == [next_out]  # D-066: the next outbound 34
        # D-068: the tail that may have been in flight is sent again with 97=Y
        backup.publish(ack("B", 2), poss_resend=True)
        backup.publish(ack("C", 3))
        copy = await waiting
        assert (copy.seq_num, copy.cl_ord_id) == (next_in + 2, "C")  # after the ack and the dup
        assert c.stats.duplicates_dropped == 1 and c.stats.failovers == 1
        assert c.stats.reconnects == 1 and c.endpoint == backup.endpoint
        assert not backup.received("2")  # the numbers carried over: no gap
        await c.logout()


async def test_D064_backup_refusal_sends_the_client_back_to_the_primary() -> None:
    primary, backup = pair()
    primary.drop_connections = 1  # the first connection drops before the Logon is answered
    async with running(primary, backup):
        c = client_for(primary, backup)
        await c.logon()
        assert backup.logon_seqs() == [1]  # the unanswered Logon's 34 is used again
        assert f"refused {BACKUP_NOT_ALLOWED}" in backup.timeline
        assert primary.connections == 2 and primary.logon_seqs() == [1]
        assert c.endpoint == primary.endpoint and c.logged_on
        primary.publish(ack("A", 1))
        assert (await c.next_copy(timeout=2)).seq_num == 2
        await c.logout()


async def test_D066_primary_refusing_connections_at_logon_means_the_backup() -> None:
    primary, backup = pair()
    async with running(primary, backup):
        await primary.crash()
        c = client_for(primary, backup)
        await c.logon()
        assert backup.logon_seqs() == [1] and c.endpoint == backup.endpoint
        await c.logout()


async def test_nothing_listening_raises_connection_failed() -> None:
    primary, backup = pair()
    async with running(primary, backup):
        await primary.crash()
        await backup.crash()
        c = client_for(primary, backup, max_attempts=3)
        with pytest.raises(ConnectionFailed) as info:
            await c.logon()
        assert len(info.value.errors) == 3


async def test_D011_no_failover_while_the_resend_is_in_flight() -> None:
    primary, backup = pair(hold_resends=True)
    going_down = False
    backup.primary_alive = lambda: not going_down
    async with running(primary, backup):
        c = client_for(primary, backup)
        await c.logon()
        primary.publish(ack("A", 1), drop=True)  # 2
        primary.publish(ack("B", 2))  # 3
        await primary.wait_until(lambda: len(primary.resend_requests) == 1)
        moving = asyncio.create_task(c.fail_over())
        await primary.wait_until(lambda: c.logout_held)
        assert not primary.received("5") and not backup.logons
        going_down = True
        primary.release_resends()
        await asyncio.wait_for(moving, 2)
        answered = primary.timeline.index("resend answered")
        (logout,) = [i for i, t in enumerate(primary.timeline) if t.startswith("in 5 ")]
        assert answered < logout
        (left,) = primary.received("5")
        assert backup.logon_seqs() == [int(left[34]) + 1]  # D-066: the next 34
        assert c.endpoint == backup.endpoint
        got = [await c.next_copy(timeout=2) for _ in range(2)]
        assert [(x.seq_num, x.poss_dup) for x in got] == [(2, True), (3, False)]
        await c.logout()


async def test_a_cme_logout_ends_the_session_without_reconnecting() -> None:
    async with running(FakeVenue()) as (v,):
        c = client_for(v)
        await c.logon()
        assert v.active is not None
        gw = v.active.machine
        gw.logout(time.time_ns(), "Weekly close")  # type: ignore[attr-defined]
        v.active.flush()
        with pytest.raises(SessionClosed) as info:
            await c.next_copy(timeout=2)
        assert not info.value.by_us and "Weekly close" in str(info.value)
        assert v.connections == 1


async def test_D002_D099_msgw_segments_each_start_at_1_without_false_gap(tmp_path: Path) -> None:
    segments = frozenset({"74", "99"})
    a = FakeVenue("74", market_segments=segments)
    b = FakeVenue("99", market_segments=segments)
    async with running(a, b):
        store = FileDropCopyStore(tmp_path / "msgw.json")
        m = DropCopyMsgwClient(
            session_id=SESSION,
            access_key_id=KEY_ID,
            secret_key=SECRET,
            segments={"74": [a.endpoint], "99": [b.endpoint]},  # D-085: from configuration
            store=store,
            reconnect_delay=0.0,
        )
        acks = await m.logon()
        assert acks["74"].msg_seq_num == acks["99"].msg_seq_num == 1
        assert (a.logons[0].get(57), b.logons[0].get(57)) == (b"74", b"99")  # D-099
        assert a.logons[0].get(34) == b.logons[0].get(34) == b"1"
        for i in range(3):
            a.publish(ack(f"A{i}", i + 1))
            b.publish(ack(f"B{i}", i + 1))
        got = [await m.next_copy(timeout=2) for _ in range(6)]
        per_segment = {
            seg: [(x.seq_num, x.cl_ord_id) for x in got if x.segment == seg] for seg in ("74", "99")
        }
        assert per_segment == {
            "74": [(2, "A0"), (3, "A1"), (4, "A2")],
            "99": [(2, "B0"), (3, "B1"), (4, "B2")],
        }
        for st in m.stats.values():
            assert (st.resend_requests, st.duplicates_dropped, st.delivered) == (0, 0, 3)
        await m.logout()
        saved_a, saved_b = store.load(SESSION, "74"), store.load(SESSION, "99")
        assert saved_a is not None and saved_b is not None  # D-084: one state per segment
        assert (saved_a.next_out, saved_a.next_in) == (saved_b.next_out, saved_b.next_in) == (3, 6)
        async for _ in m.copies():  # logged out: the iteration ends
            raise AssertionError("no more copies")
