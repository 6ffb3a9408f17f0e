"""CME AutoCert-style Drop Copy client scenarios against the venue, for a CGW and an MSGW target:
beginning-of-week and mid-week logon, mid-week key rotation, receiving a message stream,
responding to the gateway's resend request, bi-directional resend, real-time messages during a
resend response, and logon with failover (seed 003)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from dropcopy.fix.texts import INVALID_LOGON
from dropcopy.fix42 import events as ev
from dropcopy.venue.dropcopy import BACKUP_NOT_ALLOWED, SimpleKey

from .harness import HOUR, OTHER_SECRET, SECOND, Clock, DcVenue, inner

pytestmark = pytest.mark.asyncio

MONDAY = "2026-11-23T09:00:00"
#: (target session, primary endpoint, backup endpoint, the segment the trades happen on)
KINDS = {
    "CGW": ("CGWALL", "cgw", "cgw-backup"),
    "MSGW": ("MSGALL", "msgw84", "msgw84-backup"),
}


@pytest.fixture(params=sorted(KINDS))
def kind(request: pytest.FixtureRequest) -> tuple[str, str, str]:
    return KINDS[request.param]


@pytest.fixture
async def venue() -> AsyncIterator[DcVenue]:
    v = await DcVenue(clock=Clock.at(MONDAY)).start()
    yield v
    await v.stop()


async def test_beginning_of_week_then_midweek_logon(
    venue: DcVenue, kind: tuple[str, str, str]
) -> None:  # D-025, D-026
    session, where, _ = kind
    dc = await venue.dc(session, where)
    assert (await dc.logged_on()).msg_seq_num == 1
    await venue.cross(84)
    assert [c.msg_seq_num for c in await dc.copies(4)] == [2, 3, 4, 5]
    await dc.logout()
    again = await venue.dc(session, where, next_out=dc.machine.next_out, next_in=dc.machine.next_in)
    assert (await again.logged_on()).msg_seq_num == dc.machine.next_in
    await again.logout()


async def test_midweek_key_rotation(venue: DcVenue, kind: tuple[str, str, str]) -> None:
    """Two key pairs are valid during a rotation; the old one stops at its expiry (seed 000
    "Secure Key Rotation", AX-01)."""
    session, where, _ = kind
    now = venue.clock()
    old_id = next(k for k, v in venue.dc_keys.keys.items() if v.session_id == session)
    venue.dc_keys.keys[old_id] = SimpleKey(old_id, venue.dc_keys.keys[old_id].secret_key, session,
                                           expires_at=now + 2 * HOUR)  # fmt: skip
    new_id = session + "ROTATED" + "0" * (13 - len(session))
    venue.dc_keys.keys[new_id] = SimpleKey(new_id, OTHER_SECRET, session)
    first = await venue.dc(session, where)  # the old key, still valid
    await first.logged_on()
    await first.logout()
    nxt = dict(next_out=first.machine.next_out, next_in=first.machine.next_in)
    second = await venue.dc(session, where, key_id=new_id, secret=OTHER_SECRET, **nxt)
    await second.logged_on()
    await second.logout()
    venue.clock.advance(3 * HOUR / SECOND)  # the old pair has expired
    nxt = dict(next_out=second.machine.next_out, next_in=second.machine.next_in)
    stale = await venue.dc(session, where, **nxt)
    assert (await stale.closed()).logout_text == INVALID_LOGON


async def test_respond_to_the_gateways_resend_request_and_bidirectional_resend(
    venue: DcVenue, kind: tuple[str, str, str]
) -> None:  # D-029, seed "CME Group recommends ... a Sequence Reset - Gap Fill"
    session, where, _ = kind
    dc = await venue.dc(session, where)
    await dc.logged_on()
    await venue.cross(84)
    await dc.copies(4)
    # the client skips two of its numbers and asks CME for its copies 2..5 at the same time
    dc.machine.next_out += 2
    dc.machine.request_resend(venue.clock(), 2, 5)
    assert dc.protocol is not None
    dc.protocol.flush()
    # CME sees the gap, asks for 2..3 and gets the client's GapFill; it answers the client's
    # request with the four copies again (43=Y; the client ignores them as duplicates)
    await dc.wait(ev.ResendCompleted)
    filled = [e for e in dc.all if isinstance(e, ev.GapFillSent)]
    assert filled and filled[0].begin_seq_no == dc.machine.next_out - 3
    await venue.cross(84, tag="2")
    more = await dc.copies(4)
    assert [inner(c).get(11) for c in more] == [b"B2", b"S2", b"S2", b"B2"]
    book = venue.cgw_book if where == "cgw" else venue.msgw_books[84]
    stream = book.streams[session]
    assert stream.session is not None and stream.session.next_in == dc.machine.next_out
    await dc.logout()


async def test_real_time_copies_during_a_resend_response_come_in_order(
    venue: DcVenue, kind: tuple[str, str, str]
) -> None:  # D-046, D-049
    session, where, _ = kind
    for i in range(3):
        await venue.cross(84, tag=f"a{i}")  # 12 copies while the client is away
    dc = await venue.dc(session, where)
    await dc.logged_on()
    await venue.cross(84, tag="live")  # real-time copies while the resend is answered
    copies = await dc.copies(16)
    seqs = [c.msg_seq_num for c in copies]
    assert seqs == sorted(seqs) and len(set(seqs)) == 16
    assert [c.poss_dup for c in copies] == [True] * 12 + [False] * 4
    assert [inner(c).get(11) for c in copies[-4:]] == [b"Blive", b"Slive", b"Slive", b"Blive"]
    await dc.logout()


async def test_logon_with_failover(venue: DcVenue, kind: tuple[str, str, str]) -> None:
    """D-064: the backup refuses while the primary is up; after the primary fails and the backup
    is promoted the client resumes there with its next 34 (D-065, D-066)."""
    session, where, backup = kind
    refused = await venue.dc(session, backup)
    assert (await refused.closed()).logout_text == BACKUP_NOT_ALLOWED
    dc = await venue.dc(session, where)
    await dc.logged_on()
    await venue.cross(84)
    await dc.copies(4)
    primary = venue.cgw if where == "cgw" else venue.msgw[84]
    promoted = venue.cgw_backup if where == "cgw" else venue.msgw_backup[84]
    await primary.fail()
    await dc.closed()
    assert promoted.promote() >= 4  # the in-flight copies go again with 97=Y (D-068)
    resumed = await venue.dc(session, backup, next_out=dc.machine.next_out,
                             next_in=dc.machine.next_in)  # fmt: skip
    await resumed.logged_on()
    again = await resumed.copies(4)
    assert all(c.poss_resend for c in again)
    await venue.cross(84, tag="2")
    live = await resumed.copies(4)
    assert [inner(c).get(11) for c in live] == [b"B2", b"S2", b"S2", b"B2"]
    assert not any(c.poss_resend for c in live)
    await resumed.logout()
