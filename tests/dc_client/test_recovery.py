"""The Drop Copy client's recovery obligations (seed 003 "Message Recovery", "Fault Tolerance"):
gap recovery with 43=Y tracked apart, real-time copies held until the resend is complete, one
Resend Request at a time, the Logout held while a resend is in flight, answering CME's Resend
Request with a GapFill, and 97=Y de-duplication by inner 5979 and 34 (wire notes §2.4)."""

from __future__ import annotations

import asyncio

from dropcopy.aio.dropcopy import Copy, DropCopyClient

from .fakevenue import FakeVenue, ack, client_for, execution_report, running


async def take(client: DropCopyClient, n: int) -> list[Copy]:
    return [await client.next_copy(timeout=2) for _ in range(n)]


async def test_D049_gap_is_resent_and_delivered_in_order_with_43_tracked() -> None:
    async with running(FakeVenue()) as (v,):
        c = client_for(v)
        await c.logon()
        v.publish(ack("A", 1))  # 2
        v.publish(ack("B", 2), drop=True)  # 3 lost on the way
        v.publish(ack("C", 3))  # 4
        v.publish(ack("D", 4))  # 5
        got = await take(c, 4)
        assert [(x.seq_num, x.cl_ord_id, x.poss_dup) for x in got] == [
            (2, "A", False),
            (3, "B", True),  # the resend response, 43=Y (D-048)
            (4, "C", False),
            (5, "D", False),
        ]
        assert got[1].orig_sending_time is not None  # 122 on a resend
        (rr,) = v.received("2")
        assert (rr.get(7), rr.get(16)) == (b"3", b"0")  # Enhanced (D-036)
        st = c.stats
        assert (st.real_time, st.resend_responses, st.gaps, st.resend_requests) == (3, 1, 1, 1)
        assert st.last_resend_seq == 3 and st.last_real_time_seq == 5
        assert not c.resend_in_progress
        await c.logout()


async def test_D047_D049_real_time_copies_during_a_resend_are_held_and_no_second_request() -> None:
    async with running(FakeVenue(hold_resends=True)) as (v,):
        c = client_for(v)
        await c.logon()
        v.publish(ack("A", 1))  # 2
        v.publish(ack("B", 2), drop=True)  # 3
        v.publish(ack("C", 3))  # 4: reveals the gap
        await v.wait_until(lambda: len(v.resend_requests) == 1)
        # D-046: CME publishes real-time copies while the resend is being processed
        v.publish(ack("D", 4))  # 5
        v.publish(ack("E", 5), drop=True)  # 6: another loss while the request is in flight
        v.publish(ack("F", 6))  # 7
        assert (await c.next_copy(timeout=2)).seq_num == 2
        await v.wait_until(lambda: c.stats.gaps == 2)  # 7 revealed the loss of 6
        assert c.pending == 0 and c.next_in == 3  # 4, 5, 7 are held (D-049)
        assert len(v.received("2")) == 1  # D-047: no second Resend Request meanwhile
        v.release_resends()
        got = await take(c, 3)
        # the loss of 6 is asked for only once the first request is fulfilled (D-047)
        await v.wait_until(lambda: len(v.resend_requests) == 2)
        assert v.resend_requests[1].begin_seq_no == 6
        first_answer = v.timeline.index("resend answered")
        second_request = [i for i, t in enumerate(v.timeline) if t.startswith("in 2 ")][1]
        assert first_answer < second_request
        v.release_resends()
        got += await take(c, 2)
        assert [(x.seq_num, x.cl_ord_id, x.poss_dup) for x in got] == [
            (3, "B", True),
            (4, "C", False),
            (5, "D", False),
            (6, "E", True),
            (7, "F", False),
        ]
        c.close()


async def test_D011_logout_is_held_until_the_resend_completes() -> None:
    async with running(FakeVenue(hold_resends=True)) as (v,):
        c = client_for(v)
        await c.logon()
        v.publish(ack("A", 1), drop=True)  # 2
        v.publish(ack("B", 2))  # 3
        await v.wait_until(lambda: len(v.resend_requests) == 1)
        logout = asyncio.create_task(c.logout("bye"))
        await v.wait_until(lambda: c.logout_held)
        assert not v.received("5")
        v.release_resends()
        closed = await asyncio.wait_for(logout, 2)
        assert closed is not None and closed.reason == "logout confirmed"
        answered = v.timeline.index("resend answered")
        (client_logout,) = [i for i, t in enumerate(v.timeline) if t.startswith("in 5 ")]
        assert answered < client_logout
        got = await take(c, 2)  # what arrived before the Logout is still there
        assert [(x.seq_num, x.poss_dup) for x in got] == [(2, True), (3, False)]


async def test_D037_client_answers_cme_resend_request_with_gap_fill() -> None:
    async with running(FakeVenue()) as (v,):
        c = client_for(v)
        await c.logon()  # 34=1
        v.lose_inbound()  # the gateway now expects 1 again
        v.publish(ack("A", 1), drop=True)  # 2
        v.publish(ack("B", 2))  # 3: the client's Resend Request (34=2) is above expected
        got = await take(c, 2)
        assert [x.seq_num for x in got] == [2, 3]
        await v.wait_until(lambda: bool(v.received("4")))
        (gap_fill,) = v.received("4")
        assert gap_fill.get(43) == b"Y" and gap_fill.get(123) == b"Y"  # D-037
        assert gap_fill.get(122) is not None and gap_fill.get(34) == b"1"
        assert gap_fill.get(36) == str(c.next_out).encode()
        assert c.stats.gap_fills_sent == 1
        v.publish(ack("C", 3))
        assert (await c.next_copy(timeout=2)).seq_num == 5  # 4 was CME's Resend Request
        await c.logout()
        assert v.closed_events[-1].reason == "logout"  # not a forced Logout


async def test_wire_notes_2_4_97Y_duplicates_dropped_by_5979_then_inner_34() -> None:
    t = 1_764_165_600_123_456_789
    async with running(FakeVenue()) as (v,):
        c = client_for(v)
        await c.logon()
        v.publish(execution_report("A", seq=11, request_time=t))  # 2
        v.publish(execution_report("A", seq=11, request_time=t), poss_resend=True)  # dup
        v.publish(execution_report("A2", seq=12, request_time=t), poss_resend=True)  # same 5979
        v.publish(execution_report("B", seq=13, request_time=t + 1), poss_resend=True)  # new
        v.publish(execution_report("C", seq=14, request_time=t + 2))  # 6
        got = await take(c, 4)
        assert [(x.seq_num, x.cl_ord_id, x.poss_resend) for x in got] == [
            (2, "A", False),
            (4, "A2", True),
            (5, "B", True),
            (6, "C", False),
        ]
        assert c.stats.duplicates_dropped == 1 and c.stats.poss_resend == 2
        assert got[0].request_time == t and got[0].source == "ABC007N"
        await c.logout()


async def test_a_copy_whose_payload_does_not_decode_is_delivered_with_its_error() -> None:
    async with running(FakeVenue()) as (v,):
        c = client_for(v)
        await c.logon()
        v.publish(b"not a FIX message")
        v.publish(ack("A", 1))
        bad, good = await take(c, 2)
        assert bad.inner is None and bad.error and bad.seq_num == 2 and not bad.is_fill
        assert good.cl_ord_id == "A" and c.stats.undecodable == 1
        await c.logout()
