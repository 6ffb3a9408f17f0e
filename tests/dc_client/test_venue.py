"""The client against the project's own Drop Copy venue (iLink 3 gateways, matching engines,
CGW primary/backup and MSGW gateways over loopback TCP): real copies of real trades."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from dropcopy.aio.dropcopy import (
    DropCopyClient,
    DropCopyMsgwClient,
    MemoryDropCopyStore,
    Positions,
)
from tests.venue_dropcopy.harness import SECRET, Clock, DcVenue, dc_key

#: a Monday morning, Chicago: the week started yesterday 16:00
MONDAY = "2026-11-23T09:00:00"


@pytest.fixture
async def venue() -> AsyncIterator[DcVenue]:
    v = await DcVenue(clock=Clock.at(MONDAY)).start()
    yield v
    await v.stop()


def client(v: DcVenue, session_id: str, endpoints: list[Any], **kw: Any) -> DropCopyClient:
    return DropCopyClient(
        session_id=session_id,
        access_key_id=dc_key(session_id),
        secret_key=SECRET,
        endpoints=endpoints,
        clock=v.clock,
        reconnect_delay=0.0,
        **kw,
    )


async def test_D066_D068_cgw_copies_fills_then_fails_over_and_drops_97Y_duplicates(
    venue: DcVenue,
) -> None:
    store = MemoryDropCopyStore()
    c = client(
        venue, "CGWALL", [venue.addresses["cgw"], venue.addresses["cgw-backup"]], store=store
    )
    await c.logon()
    await venue.cross(84)  # 2 acks, 2 fills
    got = [await c.next_copy(timeout=3) for _ in range(4)]
    assert [(x.cl_ord_id, x.exec_type, x.is_fill) for x in got] == [
        ("B1", "0", False),
        ("S1", "0", False),
        ("S1", "2", True),
        ("B1", "2", True),
    ]
    positions = Positions()
    for x in got:
        positions.apply(x)
    (pos,) = positions
    assert (pos.bought, pos.sold, pos.net, pos.instrument) == (1, 1, 0, "204527")
    next_out = c.next_out
    await venue.cgw.fail()
    venue.cgw_backup.promote()  # D-068: what may have been in flight again, with 97=Y
    await venue.cross(84, tag="2")
    again = [await c.next_copy(timeout=3) for _ in range(4)]
    assert [x.cl_ord_id for x in again] == ["B2", "S2", "S2", "B2"]
    assert c.endpoint == venue.addresses["cgw-backup"] and c.stats.failovers == 1
    assert c.stats.duplicates_dropped == 4  # the first trade's copies, flagged 97=Y
    assert c.stats.resend_requests >= 1 and all(x.poss_dup for x in again)
    await c.logout()
    saved = store.load("CGWALL", "G")
    assert saved is not None and saved.next_out > next_out


async def test_D002_msgw_segments_each_have_their_own_stream(venue: DcVenue) -> None:
    m = DropCopyMsgwClient(
        session_id="MSGALL",
        access_key_id=dc_key("MSGALL"),
        secret_key=SECRET,
        segments={"84": [venue.addresses["msgw84"]], "80": [venue.addresses["msgw80"]]},
        clock=venue.clock,
        reconnect_delay=0.0,
    )
    await m.logon()
    await venue.cross(84, tag="A")
    await venue.cross(80, tag="B")
    got = [await m.next_copy(timeout=3) for _ in range(8)]
    per_segment = {seg: [(x.seq_num, x.cl_ord_id) for x in got if x.segment == seg]
                   for seg in ("84", "80")}  # fmt: skip
    assert [s for s, _ in per_segment["84"]] == [s for s, _ in per_segment["80"]]  # same 34s
    assert {c for _, c in per_segment["84"]} == {"BA", "SA"}
    assert {c for _, c in per_segment["80"]} == {"BB", "SB"}
    assert all(st.resend_requests == 0 for st in m.stats.values())
    await m.logout()
