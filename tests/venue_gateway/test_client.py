"""The asyncio iLink 3 client's own obligations over real TCP (seed 004): persisting the UUID and
sequence numbers, re-binding after a restart, recovering what PreviousUUID/PreviousSeqNo reveal,
and the fault-tolerant group (I-077, I-147, I-216, I-266, I-286, I-289)."""

from __future__ import annotations

from pathlib import Path

from dropcopy.aio.ilink3 import FileSessionStore, SessionState, SessionTerminated
from dropcopy.fixp import events as ev
from dropcopy.ilink3 import messages as m

from .test_fault_tolerance import Pair
from .test_loopback import Venue, order

SECOND = 10**9
OWNER = ("ABC", "007")


def _publish_while_away(v: Venue, clordid: str) -> int:
    """The venue publishes a report for the customer while it is not connected (a GTC fill,
    a cancel on disconnect)."""
    now = v.clock()
    ((owner, msg),) = v.handler.on_business(OWNER, 84, order(clordid), now)
    return v.gateway.publish(owner, msg, now)


def test_file_session_store_round_trip_is_atomic(tmp_path: Path) -> None:
    store = FileSessionStore(tmp_path / "s.json")
    assert store.load() is None
    store.save(SessionState(7, 3, 9))
    store.save(SessionState(7, 4, 9))
    assert store.load() == SessionState(7, 4, 9)
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]  # no temp file left behind


async def test_I077_I216_restarted_client_re_binds_the_stored_uuid_and_continues(
    venue: Venue, tmp_path: Path
) -> None:
    store = FileSessionStore(tmp_path / "abc-84.json")
    c = venue.client(store=store)
    await c.connect(venue.host, venue.port)
    await c.logon()
    for i in range(2):
        c.send(order(f"A{i}"))
        await c.next_business()
    c.close()  # the process dies
    assert store.load() == SessionState(c.uuid, 3, 3)
    again = venue.client(store=FileSessionStore(tmp_path / "abc-84.json"))
    assert again.uuid == c.uuid
    await again.connect(venue.host, venue.port)
    ack = (await again.logon()).ack  # no Negotiate: intra-session binding
    assert (ack.UUID, ack.NextSeqNo) == (c.uuid, 3)
    assert again.send(order("A2")) == 3
    assert (await again.next_business()).seq_no == 3
    again.close()


async def test_AI06_stored_uuid_from_last_week_falls_back_to_a_new_negotiation(
    venue: Venue, tmp_path: Path
) -> None:
    store = FileSessionStore(tmp_path / "abc-84.json")
    c = venue.client(store=store)
    await c.connect(venue.host, venue.port)
    await c.logon()
    c.send(order("A1"))
    await c.next_business()
    await c.terminate()
    venue.clock.offset += 7 * 86_400 * SECOND  # next week: the venue reset every session
    again = venue.client(store=store)
    await again.connect(venue.host, venue.port)
    ack = (await again.logon()).ack
    assert ack.UUID != c.uuid and ack.NextSeqNo == 1
    assert store.load() == SessionState(again.uuid, 1, 1)
    again.close()


async def test_I065_I147_client_recovers_what_was_published_under_the_previous_uuid(
    venue: Venue, tmp_path: Path
) -> None:
    store = FileSessionStore(tmp_path / "abc-84.json")
    c = venue.client(store=store)
    await c.connect(venue.host, venue.port)
    await c.logon()
    c.send(order("A1"))
    await c.next_business()
    c.close()
    await c.protocol.closed.wait()  # type: ignore[union-attr]
    assert [_publish_while_away(venue, x) for x in ("F1", "F2")] == [2, 3]
    fresh = venue.client(store=store, uuid=c.uuid + 1)  # a new UUID: Negotiate
    await fresh.connect(venue.host, venue.port)
    ack = (await fresh.logon(negotiate=True)).ack
    assert (ack.PreviousUUID, ack.PreviousSeqNo) == (c.uuid, 3)
    got = [await fresh.next_business() for _ in range(2)]
    assert [(g.uuid, g.seq_no, g.possible_retransmission) for g in got] == [
        (c.uuid, 2, True),
        (c.uuid, 3, True),
    ]  # only what it had not seen: message 1 was processed before the restart
    fresh.close()


async def test_I064_first_logon_of_the_week_recovers_uuid_0_messages(venue: Venue) -> None:
    assert [_publish_while_away(venue, x) for x in ("G1", "G2", "G3")] == [1, 2, 3]
    c = venue.client()
    await c.connect(venue.host, venue.port)
    ack = (await c.logon()).ack
    assert (ack.PreviousUUID, ack.PreviousSeqNo) == (0, 3)
    got = [await c.next_business() for _ in range(3)]
    assert [(g.uuid, g.seq_no) for g in got] == [(0, 1), (0, 2), (0, 3)]
    c.close()


async def test_I289_promoted_backup_process_aligns_with_the_shared_store(
    pair: Pair,
    tmp_path: Path,
) -> None:
    shared = tmp_path / "group.json"
    prim = await pair.connect(pair.primary, pair.client(store=FileSessionStore(shared)))
    await prim.logon()
    for i in range(3):
        prim.send(order(f"A{i}"))
        await prim.next_business()
    back = await pair.connect(pair.backup, pair.client(backup=True, store=FileSessionStore(shared)))
    assert back.uuid == prim.uuid  # the group shares its UUID (I-268)
    await back.logon()
    await pair.primary.fail()
    promoted = await back._wait_for(ev.PromotedToPrimary)
    assert isinstance(promoted, ev.PromotedToPrimary) and promoted.next_seq_no == 4
    assert (back.machine.next_out, back.machine.next_in) == (4, 4)
    assert back.send(order("B1")) == 4  # no Terminate: the numbers continue
    ack = await back.next_business()
    assert (ack.seq_no, ack.possible_retransmission) == (4, False)
    back.close()


async def test_I285_I286_backup_process_takes_over_on_the_designated_primary(
    pair: Pair,
    tmp_path: Path,
) -> None:
    shared = tmp_path / "group.json"
    prim = await pair.connect(pair.primary, pair.client(store=FileSessionStore(shared)))
    await prim.logon()
    prim.send(order("A1"))
    await prim.next_business()
    back = await pair.connect(pair.backup, pair.client(backup=True, store=FileSessionStore(shared)))
    await back.logon()
    prim.close()  # the primary process fails and its socket closes
    try:
        await back._wait_for(ev.BusinessMessage, timeout=5)
    except SessionTerminated as t:
        assert t.event.code == 26
    else:
        raise AssertionError("the backup should have been terminated")
    assert pair.primary.address is not None
    ack = (await back.take_over(*pair.primary.address)).ack
    assert (ack.UUID, ack.NextSeqNo, ack.FaultToleranceIndicator) == (prim.uuid, 2, m.FTI.Primary)
    assert back.send(order("A2")) == 2
    assert (await back.next_business()).seq_no == 2
    back.close()
