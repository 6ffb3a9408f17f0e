"""The Drop Copy gateway's session rules that need the venue's memory (seed 003 "Session Logon",
"Message Resend Request Validation", "Fault Tolerance and Fail-Over Management"), over TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dropcopy.fix.codec import decode
from dropcopy.fix.encapsulation import decode_encapsulated
from dropcopy.fix.texts import INVALID_LOGON, INVALID_TARGET_SUB_ID, SENDER_COMP_ID_INVALID
from dropcopy.fix42 import events as ev
from dropcopy.journal.sqlite import SqliteJournal
from dropcopy.venue.dropcopy import BACKUP_NOT_ALLOWED
from dropcopy.venue.dropcopy.gateway import ALREADY_LOGGED_ON
from dropcopy.venue.orderentry.gateway import MarketSegmentGateway

from .harness import HOUR, OTHER_SECRET, Clock, DcVenue, inner

pytestmark = pytest.mark.asyncio

#: a Monday morning, Chicago: the week started yesterday 16:00 (tests stay inside this week)
MONDAY = "2026-11-23T09:00:00"


@pytest.fixture
async def venue() -> AsyncIterator[DcVenue]:
    v = await DcVenue(clock=Clock.at(MONDAY)).start()
    yield v
    await v.stop()


# ------------------------------------------------------------------------------------ logon


async def test_AX01_wrong_secret_is_logged_out(venue: DcVenue) -> None:
    dc = await venue.dc("CGWALL", secret=OTHER_SECRET)
    closed = await dc.closed()
    assert closed.logout_text == INVALID_LOGON


async def test_AX01_another_sessions_key_is_logged_out(venue: DcVenue) -> None:
    dc = await venue.dc("CGWALL", key_id="CGWTWO" + "K" * 14)  # a valid key of CGWTWO
    assert (await dc.closed()).logout_text == INVALID_LOGON


async def test_D077_cgw_session_on_an_msgw_gateway_is_refused(venue: DcVenue) -> None:
    # AD-19: each target type is served by its own gateways
    dc = await venue.dc("CGWALL", "msgw84", sub_id="84")
    assert (await dc.closed()).logout_text == SENDER_COMP_ID_INVALID
    dc2 = await venue.dc("MSGALL", "cgw")
    assert (await dc2.closed()).logout_text == SENDER_COMP_ID_INVALID


async def test_D103_msgw_logon_with_another_segment_in_57_is_logged_out(venue: DcVenue) -> None:
    dc = await venue.dc("MSGALL", "msgw84", sub_id="80")
    assert (await dc.closed()).logout_text == INVALID_TARGET_SUB_ID


async def test_second_connection_of_a_logged_on_session_is_refused(venue: DcVenue) -> None:
    first = await venue.dc("CGWALL")
    await first.logged_on()
    second = await venue.dc("CGWALL")
    assert (await second.closed()).logout_text == ALREADY_LOGGED_ON
    await venue.cross(84)
    assert len(await first.copies(4)) == 4  # the first connection is unaffected
    await first.logout()


# ------------------------------------------------------------------- sequence numbers


async def test_D029_copies_made_while_away_are_recovered_by_resend(venue: DcVenue) -> None:
    # D-161: Monday morning, within 48 hours of Sunday's start-up: the week from 1 is served
    await venue.cross(84)  # four copies sequenced 1..4 while nobody is logged on
    dc = await venue.dc("CGWALL")
    ack = await dc.logged_on()
    assert ack.msg_seq_num == 5
    copies = await dc.copies(4)
    assert [c.msg_seq_num for c in copies] == [1, 2, 3, 4]
    assert all(c.poss_dup for c in copies)  # resent: 43=Y with 122
    assert all(c.message.get(122) is not None for c in copies)
    assert [inner(c).get(11) for c in copies] == [b"B1", b"S1", b"S1", b"B1"]
    assert copies[0].message.get(56) == b"CGWALLN"
    await dc.logout()


async def test_D026_midweek_logon_continues_both_streams(venue: DcVenue) -> None:
    dc = await venue.dc("CGWALL")
    await dc.logged_on()
    await venue.cross(84)
    await dc.copies(4)
    await dc.logout()
    nxt_out, nxt_in = dc.machine.next_out, dc.machine.next_in
    again = await venue.dc("CGWALL", next_out=nxt_out, next_in=nxt_in)
    ack = await again.logged_on()
    assert ack.msg_seq_num == nxt_in  # CME continues where it left off
    await venue.cross(84, tag="2")
    assert [c.msg_seq_num for c in await again.copies(4)] == list(range(nxt_in + 1, nxt_in + 5))
    await again.logout()


async def test_D026_D150_midweek_logon_with_a_wrong_number_gets_789(venue: DcVenue) -> None:
    dc = await venue.dc("CGWALL")
    await dc.logged_on()
    await dc.logout()
    expected = dc.machine.next_out
    wrong = await venue.dc("CGWALL", next_out=expected + 5, next_in=dc.machine.next_in)
    closed = await wrong.closed()
    assert closed.logout_text is not None and "too high" in closed.logout_text
    assert closed.next_expected_msg_seq_num == expected
    retry = await venue.dc("CGWALL", next_out=expected, next_in=dc.machine.next_in)
    await retry.logged_on()
    await retry.logout()


# --------------------------------------------------------------------- 48-hour window


async def test_D051_D054_resend_before_the_48_hour_window_is_rejected_with_5024() -> None:
    clock = Clock.at(MONDAY)
    v = await DcVenue(clock=clock).start()
    try:
        dc = await v.dc("CGWALL")
        await dc.logged_on()
        await v.cross(84, tag="1")  # 2..5 on Monday
        await dc.copies(4)
        await dc.logout()
        clock.advance(49 * HOUR / 10**9)  # Wednesday 10:00: Monday's copies are too old
        await v.cross(84, tag="2")
        dc2 = await v.dc("CGWALL", next_out=dc.machine.next_out, next_in=dc.machine.next_in)
        await dc2.logged_on()
        recent = await dc2.copies(4)  # the gap since the logout is inside the window
        assert [inner(c).get(11) for c in recent] == [b"B2", b"S2", b"S2", b"B2"]
        first_recent = recent[0].msg_seq_num
        dc2.machine.request_resend(clock(), 1, 0)
        assert dc2.protocol is not None
        dc2.protocol.flush()
        rejected = await dc2.wait(ev.ResendRejected)
        assert rejected.text == "Resend Request Could Not Be Fulfilled"
        assert rejected.start_sequence_number == first_recent  # 5024 (AD-02)
        await dc2.logout()
    finally:
        await v.stop()


async def test_D050_a_new_week_starts_every_stream_at_1() -> None:
    clock = Clock.at("2026-11-27T12:00:00")  # Friday
    v = await DcVenue(clock=clock).start()
    try:
        dc = await v.dc("CGWALL")
        await dc.logged_on()
        await v.cross(84)
        await dc.copies(4)
        await dc.logout()
        clock.advance(3 * 24 * 3600)  # Monday: the week's start-up happened on Sunday
        fresh = await v.dc("CGWALL")  # 34=1 again
        ack = await fresh.logged_on()
        assert ack.msg_seq_num == 1
        await v.cross(84, tag="2")
        copies = await fresh.copies(4)
        assert [c.msg_seq_num for c in copies] == [2, 3, 4, 5]
        stream = v.cgw_book.streams["CGWALL"]
        week = [decode_encapsulated(decode(x)).get(11) for x in v.cgw_book.load(stream, 1, 9)]
        assert week == [b"B2", b"S2", b"S2", b"B2"]  # last week's B1.. are out of reach
        await fresh.logout()
    finally:
        await v.stop()


# -------------------------------------------------------------------- fault tolerance


async def test_D064_backup_refuses_while_the_primary_is_up(venue: DcVenue) -> None:
    dc = await venue.dc("CGWALL", "cgw-backup")
    closed = await dc.closed()
    assert closed.logout_text == BACKUP_NOT_ALLOWED
    assert closed.next_expected_msg_seq_num == 1


async def test_D065_D068_failover_continues_and_resends_in_flight_with_97(
    venue: DcVenue,
) -> None:
    dc = await venue.dc("CGWALL")
    await dc.logged_on()
    await venue.cross(84)
    originals = await dc.copies(4)
    await venue.cgw.fail()
    await dc.closed()
    again = venue.cgw_backup.promote()
    # every copy written within the in-flight window (1 s) goes again: CGWALL's four, and
    # the other targets' (CGWTWO: the buyer's 2, CGWFIL: 2 fills, CGWACK: 2 acks)
    assert again == 10
    nxt_out, nxt_in = dc.machine.next_out, dc.machine.next_in
    dc2 = await venue.dc("CGWALL", "cgw-backup", next_out=nxt_out, next_in=nxt_in)
    await dc2.logged_on()  # D-065: the promoted primary expects the client's next 34
    resent = await dc2.copies(4)
    # 97=Y under new numbers; sent while no client was logged on, so they come back through
    # the client's resend request (43=Y as well)
    assert all(c.poss_resend and c.poss_dup for c in resent)
    assert [inner(c).get(5979) for c in resent] == [inner(c).get(5979) for c in originals]
    assert [c.msg_seq_num for c in resent] == list(range(nxt_in, nxt_in + 4))
    await venue.cross(84, tag="2")
    live = await dc2.copies(4)
    assert not any(c.poss_resend for c in live)
    await dc2.logout()


# ------------------------------------------------------------------------------ restart


async def test_D067_restart_continues_streams_and_copies_missed_activity_with_97(
    tmp_path: Path,
) -> None:
    path = tmp_path / "venue.db"
    clock = Clock.at(MONDAY)
    v1 = await DcVenue(SqliteJournal(path), clock=clock).start()
    dc = await v1.dc("CGWALL")
    await dc.logged_on()
    await v1.cross(84, tag="1")
    await dc.copies(4)
    await dc.logout()
    await v1.stop()
    v1.journal.close()
    # the venue restarts; order entry is up before Drop Copy copies anything (a dual failure)
    v2 = await DcVenue(SqliteJournal(path), clock=clock).start(attach=False)
    try:
        await v2.cross(84, tag="2")
        v2.attach()
        dc2 = await v2.dc("CGWALL", next_out=dc.machine.next_out, next_in=dc.machine.next_in)
        ack = await dc2.logged_on()
        assert ack.msg_seq_num == dc.machine.next_in + 4  # CME's numbers survived the restart
        recovered = await dc2.copies(4)
        assert [inner(c).get(11) for c in recovered] == [b"B2", b"S2", b"S2", b"B2"]
        assert all(c.poss_dup for c in recovered)  # fetched by the client's resend request
        assert all(c.message.get(97) == b"Y" for c in recovered)  # D-067: caught up
        stream = v2.cgw_book.streams["CGWALL"]
        old = [decode(x) for x in v2.cgw_book.load(stream, 2, 5)]  # Monday's, still journalled
        assert [decode_encapsulated(x).get(11) for x in old] == [b"B1", b"S1", b"S1", b"B1"]
        await dc2.logout()
    finally:
        await v2.stop()
        v2.journal.close()


async def test_D069_ilink_failover_copies_in_flight_messages_again_with_97() -> None:
    clock = Clock.at(MONDAY)
    v = DcVenue(clock=clock)
    # segment 84's iLink 3 gateway gets a designated backup sharing its book and activity log
    primary = v.ilink[84]
    backup = MarketSegmentGateway(
        84, keys=v.ilink_keys, journal=v.journal, handler=primary.handler, clock=clock,
        book=primary.book, activity=v.logs[84], backup=True,
    )  # fmt: skip
    MarketSegmentGateway.pair(primary, backup)
    await v.start()
    await backup.start()
    try:
        dc = await v.dc("CGWALL")
        await dc.logged_on()
        await v.cross(84)
        originals = await dc.copies(4)
        assert not any(c.poss_resend for c in originals)
        await primary.fail()  # the backup is promoted; the last second is in doubt
        again = await dc.copies(4)
        assert all(c.poss_resend and not c.poss_dup for c in again)  # live, 97=Y
        assert [inner(c).get(5979) for c in again] == [inner(c).get(5979) for c in originals]
        assert [inner(c).get(34) for c in again] == [inner(c).get(34) for c in originals]
        await dc.logout()
    finally:
        await backup.stop()
        await v.stop()
