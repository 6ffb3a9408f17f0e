"""Trading activity reaches Drop Copy target sessions over TCP (seed 003 "Drop Copy 4.0 Session
Model", "Managing Sequence Numbers", "Introduction"), CGW and MSGW."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from dropcopy.fix42 import events as ev
from dropcopy.ilink3 import messages as m

from .harness import OUTSIDER, SEGMENTS, DcVenue, inner, inner_summary, nos

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def venue() -> AsyncIterator[DcVenue]:
    v = await DcVenue().start()
    yield v
    await v.stop()


async def test_D074_D075_D088_cgw_one_stream_across_segments(venue: DcVenue) -> None:
    # also D-086 (a CGW Session ID has one stream), D-113 (real-time iLink messages as they
    # happen), D-014 (each one a 35=n), D-004 (copies of iLink order routing activity)
    dc = await venue.dc("CGWALL")
    ack = await dc.logged_on()
    assert ack.msg_seq_num == 1  # beginning of the week (D-025)
    await venue.cross(84, tag="1")
    await venue.cross(80, tag="2")
    copies = await dc.copies(8)
    # one connection, one sequence: consecutive MsgSeqNums across both segments
    assert [c.msg_seq_num for c in copies] == list(range(2, 10))
    summary = [inner_summary(c) for c in copies]
    assert [s[2] for s in summary] == ["84"] * 4 + ["80"] * 4  # inner 50: the segment
    assert [s[1] for s in summary[:4]] == ["BUY001", "SEL002", "SEL002", "BUY001"]  # inner 56
    assert [s[0] for s in summary[:4]] == ["8", "8", "8", "8"]
    outer = copies[0].message
    assert outer.get(49) == b"CME" and outer.get(50) == b"G" and outer.get(56) == b"CGWALLN"
    assert outer.get(57) == b"OPS"  # D-100: the client's 50 comes back in 57
    first = inner(copies[0])
    assert first.get(11) == b"B1" and first.get(55) == b"ZN" and first.get(107) == b"ZNH1"
    assert first.get(5979) is not None  # RequestTime for de-duplication (wire notes §2.4)
    await dc.logout()


async def test_D003_D071_D083_msgw_one_stream_per_segment(venue: DcVenue) -> None:
    # also D-076 / D-087 (streams per Session ID + segment), D-089 (one TCP connection per
    # segment gateway), D-097 (the same Session ID at every MSGW), D-072 (the same numbers on
    # several segments), D-017 (sequencing by market segment), D-073 / D-012 (CGW and MSGW
    # targets both log on: see the CGW test above)
    clients = {seg: await venue.dc("MSGALL", f"msgw{seg}") for seg in SEGMENTS}
    for c in clients.values():
        assert (await c.logged_on()).msg_seq_num == 1  # each segment's stream starts at 1
    await venue.cross(84, tag="1")
    await venue.cross(80, tag="2")
    for seg, c in clients.items():
        copies = await c.copies(4)
        assert [x.msg_seq_num for x in copies] == [2, 3, 4, 5]  # D-003: the same numbers
        assert {inner_summary(x)[2] for x in copies} == {str(seg)}  # only its segment (D-071)
        assert copies[0].message.get(50) == str(seg).encode()  # D-100
    for c in clients.values():
        await c.logout()


async def test_D006_trade_execution_reports_only_fills(venue: DcVenue) -> None:
    dc = await venue.dc("CGWFIL")
    await dc.logged_on()
    await venue.cross(84)
    copies = await dc.copies(2)
    assert [inner(c).get(39) for c in copies] == [b"2", b"2"]  # filled, both sides
    assert [inner(c).get(32) for c in copies] == [b"1", b"1"]
    await dc.logout()
    assert not [e for e in dc.all if isinstance(e, ev.BusinessMessage)][2:]


async def test_D007_order_entry_acknowledgments_only_acks(venue: DcVenue) -> None:
    dc = await venue.dc("CGWACK")
    await dc.logged_on()
    await venue.cross(84)
    copies = await dc.copies(2)
    assert [inner(c).get(39) for c in copies] == [b"0", b"0"]  # new-order acks
    await venue.cross(84, tag="2")
    more = await dc.copies(2)
    assert [inner(c).get(11) for c in more] == [b"B2", b"S2"]  # never the fills in between
    await dc.logout()


async def test_D081_two_targets_copy_one_source_in_parallel(venue: DcVenue) -> None:
    everyone = await venue.dc("CGWALL")
    buyer_only = await venue.dc("CGWTWO")
    await everyone.logged_on()
    await buyer_only.logged_on()
    await venue.cross(84)
    assert len(await everyone.copies(4)) == 4
    got = await buyer_only.copies(2)
    assert {inner_summary(c)[1] for c in got} == {"BUY001"}  # only its attached source
    await everyone.logout()
    await buyer_only.logout()
    assert sum(isinstance(e, ev.BusinessMessage) for e in buyer_only.all) == 2


async def test_unattached_source_never_reaches_a_target(venue: DcVenue) -> None:
    dc = await venue.dc("CGWALL")
    await dc.logged_on()
    outsider = await venue.trader(OUTSIDER)
    outsider.send(nos(m.SideReq.Buy, 1, "139.0", "X1"))  # rests below the cross
    await outsider.next_business()
    await venue.cross(84)
    copies = await dc.copies(4)
    assert all(inner_summary(c)[1] != "OUT003" for c in copies)
    assert copies[0].msg_seq_num == 2  # nothing was sequenced for the outsider's activity
    await dc.logout()
