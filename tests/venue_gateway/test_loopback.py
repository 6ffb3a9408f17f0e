"""The Market Segment Gateway over real TCP sockets with the asyncio iLink 3 client (seed 004)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dropcopy.aio.ilink3 import ILink3Client, LogonRejected, SessionTerminated
from dropcopy.fixp import events as ev
from dropcopy.ilink3 import messages as m
from dropcopy.journal.memory import MemoryJournal
from dropcopy.journal.sqlite import SqliteJournal
from dropcopy.sbe.runtime import MessageBase
from dropcopy.venue.orderentry.gateway import (
    AccessKey,
    MarketSegmentGateway,
    MemoryKeyDirectory,
    Owner,
)

SECOND = 10**9
SECRET = base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode()
OTHER_SECRET = base64.urlsafe_b64encode(bytes(range(1, 33))).rstrip(b"=").decode()
KEY_ID = "AKIDAKIDAKIDAKIDAKI1"


class Clock:
    """Real time plus an offset tests can move (the venue's "time travel")."""

    def __init__(self) -> None:
        import time

        self._time = time
        self.offset = 0

    def __call__(self) -> int:
        return self._time.time_ns() + self.offset


@dataclass
class AckHandler:
    """Stands in for the matching engine: acknowledges every order (ExecutionReportNew522)."""

    seen: list[tuple[Owner, MessageBase]] = field(default_factory=list)
    disconnects: list[tuple[Owner, bool]] = field(default_factory=list)

    def on_business(
        self, owner: Owner, segment: int, msg: MessageBase, now: int
    ) -> list[tuple[Owner, MessageBase]]:
        self.seen.append((owner, msg))
        assert isinstance(msg, m.NewOrderSingle514)
        ack = m.ExecutionReportNew522(
            SeqNum=0, UUID=0, ExecID=f"X{len(self.seen)}", SenderID=msg.SenderID, ClOrdID=msg.ClOrdID,
            PartyDetailsListReqID=msg.PartyDetailsListReqID, OrderID=len(self.seen), Price=msg.Price or 0,
            TransactTime=now, SendingTimeEpoch=now, OrderRequestID=msg.OrderRequestID, Location=msg.Location,
            SecurityID=msg.SecurityID, OrderQty=msg.OrderQty, OrdType=msg.OrdType, Side=msg.Side,
            ManualOrderIndicator=msg.ManualOrderIndicator, PossRetransFlag=m.BooleanFlag.False_,
        )  # fmt: skip
        return [(owner, ack)]

    def on_disconnect(
        self, owner: Owner, segment: int, graceful: bool, now: int
    ) -> list[tuple[Owner, MessageBase]]:
        self.disconnects.append((owner, graceful))
        return []


def order(clordid: str) -> m.NewOrderSingle514:
    return m.NewOrderSingle514(
        Price="4512.25", OrderQty=2, SecurityID=204527, Side=m.SideReq.Buy, SeqNum=0, SenderID="TRADER1",
        ClOrdID=clordid, PartyDetailsListReqID=1, OrderRequestID=1, SendingTimeEpoch=0, Location="US,IL",
        OrdType=m.OrderTypeReq.Limit, ManualOrderIndicator=m.ManualOrdIndReq.Automated,
    )  # fmt: skip


@dataclass
class Venue:
    gateway: MarketSegmentGateway
    keys: MemoryKeyDirectory
    handler: AckHandler
    clock: Clock
    host: str
    port: int

    def client(self, **kw: object) -> ILink3Client:
        args: dict[str, object] = dict(
            secret_key=SECRET, access_key_id=KEY_ID, session="ABC", firm="007", clock=self.clock
        )
        args.update(kw)
        return ILink3Client(**args)  # type: ignore[arg-type]


@pytest.fixture
async def venue() -> AsyncIterator[Venue]:
    clock = Clock()
    keys = MemoryKeyDirectory()
    keys.add(AccessKey(KEY_ID, SECRET, "ABC", "007", expires_at=clock() + 27 * 86_400 * SECOND))
    handler = AckHandler()
    gw = MarketSegmentGateway(84, keys=keys, journal=MemoryJournal(), handler=handler, clock=clock)
    host, port = await gw.start()
    yield Venue(gw, keys, handler, clock, host, port)
    await gw.stop()


async def _logon(v: Venue, **kw: object) -> ILink3Client:
    c = v.client(**kw)
    await c.connect(v.host, v.port)
    await c.logon()
    return c


async def test_I006_logon_order_and_acknowledgment_over_tcp(
    venue: Venue,
) -> None:  # I-105, I-143, I-109
    c = await _logon(venue)
    assert c.machine.next_in == 1
    seq = c.send(order("O1"))
    assert seq == 1
    got = await c.next_business()
    assert isinstance(got.message, m.ExecutionReportNew522)
    assert (got.seq_no, got.uuid, got.message.ClOrdID, got.message.UUID) == (
        1,
        c.uuid,
        "O1",
        c.uuid,
    )
    assert venue.handler.seen[0][0] == ("ABC", "007")
    term = await c.terminate()  # I-241: confirmed by the gateway
    assert term.code == 0 and not term.by_peer


async def test_I030_wrong_secret_is_rejected_code_0(venue: Venue) -> None:
    c = venue.client(secret_key=OTHER_SECRET)
    await c.connect(venue.host, venue.port)
    with pytest.raises(LogonRejected) as info:
        await c.logon()
    assert (
        isinstance(info.value.message, m.NegotiationReject502)
        and info.value.message.ErrorCodes == 0
    )
    c.close()


async def test_expired_or_deleted_key_is_refused_and_a_rotated_second_key_works(
    venue: Venue,
) -> None:
    now = venue.clock()
    venue.keys.add(AccessKey("EXPIREDKEY0000000000", SECRET, "ABC", "007", expires_at=now - 1))
    venue.keys.add(AccessKey("DELETEDKEY0000000000", SECRET, "ABC", "007", deleted=True))
    venue.keys.add(
        AccessKey(
            "ROTATEDKEY0000000000", OTHER_SECRET, "ABC", "007", expires_at=now + 86_400 * SECOND
        )
    )
    for key_id in ("EXPIREDKEY0000000000", "DELETEDKEY0000000000"):
        c = venue.client(access_key_id=key_id)
        await c.connect(venue.host, venue.port)
        with pytest.raises(LogonRejected):
            await c.logon()
        c.close()
    c = await _logon(
        venue, access_key_id="ROTATEDKEY0000000000", secret_key=OTHER_SECRET
    )  # two valid pairs
    await c.terminate()


async def test_I014_negotiate_with_a_uuid_not_greater_than_the_last_is_rejected(
    venue: Venue,
) -> None:  # AI-15
    first = await _logon(venue)
    await first.terminate()
    again = venue.client(uuid=first.uuid)
    await again.connect(venue.host, venue.port)
    with pytest.raises(LogonRejected) as info:
        await again.logon()
    assert info.value.message.ErrorCodes == 2  # type: ignore[attr-defined]
    again.close()


async def test_I118_same_uuid_re_establish_continues_and_recovers_what_was_published_meanwhile(
    venue: Venue,
) -> None:
    # I-077, I-080, I-085, I-086, I-114, I-145, I-249
    c = await _logon(venue)
    c.send(order("O1"))
    await c.next_business()
    await c.terminate()
    owner = ("ABC", "007")
    gtc_fill = venue.handler.on_business(owner, 84, order("FILLED-WHILE-AWAY"), venue.clock())[0][1]
    assert venue.gateway.publish(owner, gtc_fill, venue.clock()) == 2  # sequenced while away
    back = venue.client(uuid=c.uuid)
    await back.connect(venue.host, venue.port)
    est = await back.logon(negotiate=False, next_seq_no=2, expected_seq_no=2)
    assert est.ack.NextSeqNo == 3 and (est.ack.PreviousUUID, est.ack.PreviousSeqNo) == (c.uuid, 2)
    got = await back.next_business()  # recovered by the client's own RetransmitRequest
    assert (got.seq_no, got.possible_retransmission) == (2, True)
    assert got.message.ClOrdID == "FILLED-WHILE-AWAY"  # type: ignore[attr-defined]
    await back.terminate()


async def test_I064_I065_messages_before_the_weeks_first_logon_go_to_uuid_0(
    venue: Venue,
) -> None:  # I-067
    owner = ("ABC", "007")
    fill = venue.handler.on_business(owner, 84, order("GTC"), venue.clock())[0][1]
    venue.gateway.publish(owner, fill, venue.clock())
    c = venue.client()
    await c.connect(venue.host, venue.port)
    est = await c.logon()
    assert (est.ack.PreviousUUID, est.ack.PreviousSeqNo, est.ack.NextSeqNo) == (0, 1, 1)
    c.machine.request_retransmission(venue.clock(), from_seq_no=1, count=1, last_uuid=0)
    c._flush()
    got = await c.next_business()
    assert (got.uuid, got.seq_no, got.possible_retransmission) == (0, 1, True)
    await c.terminate()


async def test_AI06_establish_without_negotiate_for_an_unknown_uuid_is_terminated(
    venue: Venue,
) -> None:
    c = venue.client()
    await c.connect(venue.host, venue.port)
    with pytest.raises(SessionTerminated) as info:
        await c.logon(negotiate=False)
    assert info.value.event.code == 13 and info.value.event.by_peer


async def test_retransmission_after_a_gateway_restart_reads_the_sqlite_journal(
    tmp_path: Path,
) -> None:
    # "Journal": durable before sent, so a restarted gateway still retransmits (I-220)
    clock = Clock()
    keys = MemoryKeyDirectory()
    keys.add(AccessKey(KEY_ID, SECRET, "ABC", "007"))
    path = tmp_path / "journal.db"
    gw = MarketSegmentGateway(
        84, keys=keys, journal=SqliteJournal(str(path)), handler=AckHandler(), clock=clock
    )
    host, port = await gw.start()
    c = ILink3Client(
        secret_key=SECRET, access_key_id=KEY_ID, session="ABC", firm="007", clock=clock
    )
    await c.connect(host, port)
    await c.logon()
    c.send_many([order(f"O{i}") for i in range(5)])
    for _ in range(5):
        await c.next_business()
    await c.terminate()
    await gw.stop()
    gw.journal.close()
    # a new gateway process on the same journal file: the session book is rebuilt from it
    gw2 = MarketSegmentGateway(
        84, keys=keys, journal=SqliteJournal(str(path)), handler=AckHandler(), clock=clock
    )
    host, port = await gw2.start()
    c2 = ILink3Client(
        secret_key=SECRET, access_key_id=KEY_ID, session="ABC", firm="007", clock=clock
    )
    await c2.connect(host, port)
    ack = (await c2.logon()).ack  # a new UUID: PreviousUUID/PreviousSeqNo come from the journal
    assert (ack.PreviousUUID, ack.PreviousSeqNo) == (c.uuid, 5)
    got = [await c2.next_business() for _ in range(5)]  # the client recovers them by itself
    assert [g.seq_no for g in got] == [1, 2, 3, 4, 5] and all(g.uuid == c.uuid for g in got)
    assert [g.message.ClOrdID for g in got] == [f"O{i}" for i in range(5)]  # type: ignore[attr-defined]
    await c2.terminate()
    await gw2.stop()


async def test_I077_I014_session_book_is_rebuilt_from_the_journal_after_a_restart(
    tmp_path: Path,
) -> None:
    clock = Clock()
    keys = MemoryKeyDirectory()
    keys.add(AccessKey(KEY_ID, SECRET, "ABC", "007"))
    path = str(tmp_path / "journal.db")

    def gateway() -> MarketSegmentGateway:
        return MarketSegmentGateway(
            84, keys=keys, journal=SqliteJournal(path), handler=AckHandler(), clock=clock
        )

    gw = gateway()
    host, port = await gw.start()
    c = ILink3Client(
        secret_key=SECRET, access_key_id=KEY_ID, session="ABC", firm="007", clock=clock
    )
    await c.connect(host, port)
    await c.logon()
    c.send_many([order(f"O{i}") for i in range(3)])
    for _ in range(3):
        await c.next_business()
    await c.terminate()
    # then a later UUID that is established but publishes nothing before the gateway crashes
    quiet = ILink3Client(secret_key=SECRET, access_key_id=KEY_ID, session="ABC", firm="007",
                         clock=clock, uuid=c.uuid + 10)  # fmt: skip
    await quiet.connect(host, port)
    await quiet.logon()
    quiet.close()
    await quiet.protocol.closed.wait()  # type: ignore[union-attr]
    await gw.stop()
    gw.journal.close()
    gw2 = gateway()
    host, port = await gw2.start()
    again = ILink3Client(secret_key=SECRET, access_key_id=KEY_ID, session="ABC", firm="007",
                         clock=clock, uuid=quiet.uuid)  # fmt: skip
    await again.connect(host, port)
    ack = (await again.logon(negotiate=False, next_seq_no=1, expected_seq_no=1)).ack
    assert (ack.UUID, ack.NextSeqNo) == (quiet.uuid, 1)  # re-bound: the UUID was remembered
    assert (ack.PreviousUUID, ack.PreviousSeqNo) == (c.uuid, 3)
    again.send(order("Q1"))
    assert (await again.next_business()).seq_no == 1
    await again.terminate()
    # I-014 survives the restart: a UUID not above the last one is still refused
    old = ILink3Client(secret_key=SECRET, access_key_id=KEY_ID, session="ABC", firm="007",
                       clock=clock, uuid=c.uuid + 1)  # fmt: skip
    await old.connect(host, port)
    with pytest.raises(LogonRejected) as info:
        await old.logon(negotiate=True)
    assert info.value.message.ErrorCodes == 2
    old.close()
    # and the earlier UUID's stream is still retransmittable
    fresh = ILink3Client(secret_key=SECRET, access_key_id=KEY_ID, session="ABC", firm="007",
                         clock=clock, uuid=quiet.uuid + 1)  # fmt: skip
    await fresh.connect(host, port)
    await fresh.logon()
    fresh.machine.request_retransmission(clock(), from_seq_no=2, count=2, last_uuid=c.uuid)
    fresh._flush()
    got = [await fresh.next_business() for _ in range(3)]  # Q1 (PreviousUUID), then O1, O2
    assert [(g.uuid, g.seq_no) for g in got] == [(quiet.uuid, 1), (c.uuid, 2), (c.uuid, 3)]
    fresh.close()
    await gw2.stop()


async def test_AI11_open_ended_retransmit_covering_more_than_2500_is_rejected_code_2(
    venue: Venue,
) -> None:
    # I-176 (count 0 = up to the latest), I-190 (more than 2500 -> RetransmitReject 2)
    c = await _logon(venue)
    owner = ("ABC", "007")
    ack = venue.handler.on_business(owner, 84, order("bulk"), venue.clock())[0][1]
    for _ in range(2600):
        venue.gateway.publish(owner, ack, venue.clock())
    for _ in range(2600):
        await c.next_business()
    c.machine.request_retransmission(venue.clock(), from_seq_no=1, count=0)
    c._flush()
    rej = await c._wait_for(ev.RetransmitRejected)
    assert isinstance(rej, ev.RetransmitRejected) and rej.reject.ErrorCodes == 2
    c.machine.request_retransmission(
        venue.clock(), from_seq_no=101, count=0
    )  # 2500 exactly: served
    c._flush()
    started = await c._wait_for(ev.RetransmissionStarted)
    assert isinstance(started, ev.RetransmissionStarted) and started.message.MsgCount == 2500
    await c.terminate()


async def test_I024_I028_weekly_reset_restarts_numbers_and_a_client_that_does_not_reset_is_terminated(
    venue: Venue,
) -> None:
    # I-061, I-066, AI-02: after the Sunday start-up the venue is back at 1 / UUID 0
    c = await _logon(venue)
    c.send(order("O1"))
    await c.next_business()
    await c.terminate()
    cal = venue.gateway.book.calendar
    now = venue.clock()
    venue.clock.offset = (
        cal.week_start(now) + 7 * 86_400 * SECOND + SECOND - now
    )  # just after next start-up
    stale = venue.client()  # a new UUID, but it keeps counting from 2
    await stale.connect(venue.host, venue.port)
    with pytest.raises(SessionTerminated) as info:
        await stale.logon(next_seq_no=2)
    assert info.value.event.code == 10
    fresh = venue.client()
    await fresh.connect(venue.host, venue.port)
    est = await fresh.logon()
    assert est.ack.NextSeqNo == 1 and (est.ack.PreviousUUID, est.ack.PreviousSeqNo) == (0, 0)
    await fresh.terminate()


def test_an_access_key_never_shows_its_secret() -> None:
    key = AccessKey(KEY_ID, SECRET, "ABC", "007")
    assert SECRET not in repr(key) and SECRET not in str(key) and KEY_ID in repr(key)
