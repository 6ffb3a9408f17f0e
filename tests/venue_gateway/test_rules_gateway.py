"""Seed 004 rules proved over real TCP against the Market Segment Gateway, with hand-made FIXP
messages (``Wire``), the asyncio iLink 3 client, the real matching engine, a lossy relay and the
venue's clock for time travel (seed-rules.md "Seed 004" and its AI- decisions)."""

from __future__ import annotations

import asyncio
import base64
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest

from dropcopy.aio.ilink3 import (
    FileSessionStore,
    ILink3Client,
    LogonRejected,
    SessionState,
    SessionTerminated,
)
from dropcopy.fixp import events as ev
from dropcopy.fixp.session import State
from dropcopy.ilink3 import fields, signing
from dropcopy.ilink3 import messages as m
from dropcopy.ilink3.codec import Decoder, encode
from dropcopy.ilink3.framing import frame
from dropcopy.journal.memory import MemoryJournal
from dropcopy.sbe.runtime import MessageBase
from dropcopy.venue.orderentry.engine_handler import EngineOrderHandler
from dropcopy.venue.orderentry.gateway import AccessKey, MarketSegmentGateway, MemoryKeyDirectory
from dropcopy.venue.orderentry.matching import MatchingEngine

from .test_fault_tolerance import Pair
from .test_loopback import KEY_ID, OTHER_SECRET, SECRET, AckHandler, Clock, Venue, order

SECOND = 10**9
DAY = 86_400 * SECOND
OWNER = ("ABC", "007")


# ============================================================================== helpers


class Wire:
    """A raw customer connection: hand-made messages out, every decoded message in."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.decoder = Decoder()
        self.inbox: deque[MessageBase] = deque()

    @classmethod
    async def open(cls, address: tuple[str, int]) -> Wire:
        reader, writer = await asyncio.open_connection(*address)
        return cls(reader, writer)

    def send(self, *msgs: MessageBase | bytes) -> None:
        for msg in msgs:
            self.writer.write(msg if isinstance(msg, bytes) else encode(msg))

    async def _read(self, timeout: float) -> bool:
        data = await asyncio.wait_for(self.reader.read(65536), timeout)
        if not data:
            return False
        for item in self.decoder.feed(data):
            assert isinstance(item, MessageBase), item
            self.inbox.append(item)
        return True

    async def recv(self, timeout: float = 5.0) -> Any:
        while not self.inbox:
            if not await self._read(timeout):
                raise EOFError("the gateway closed the connection")
        return self.inbox.popleft()

    async def closed_by_peer(self, timeout: float = 5.0) -> list[MessageBase]:
        """Read until the gateway closes the socket; returns what arrived meanwhile."""
        while await self._read(timeout):
            pass
        out = list(self.inbox)
        self.inbox.clear()
        return out

    async def quiet(self, wait: float = 0.3) -> bool:
        """True if nothing arrives within ``wait`` seconds."""
        if self.inbox:
            return False
        try:
            await self._read(wait)
        except TimeoutError:
            return True
        return not self.inbox

    def close(self) -> None:
        self.writer.close()


def negotiate(
    clock: Callable[[], int], uuid: int, *, secret: str = SECRET, key: str = KEY_ID,
    session: str = "ABC", firm: str = "007",
) -> m.Negotiate500:  # fmt: skip
    return signing.sign_negotiate(
        secret, access_key_id=key, uuid=uuid, request_timestamp=clock(), session=session, firm=firm
    )


def establish(
    clock: Callable[[], int], uuid: int, next_seq_no: int = 1, *, keep_alive: int = 30_000,
    secret: str = SECRET, key: str = KEY_ID, session: str = "ABC", firm: str = "007",
) -> m.Establish503:  # fmt: skip
    return signing.sign_establish(
        secret, access_key_id=key, uuid=uuid, request_timestamp=clock(), session=session, firm=firm,
        trading_system_name="raw", trading_system_version="1", trading_system_vendor="tests",
        next_seq_no=next_seq_no, keep_alive_interval=keep_alive,
    )  # fmt: skip


async def raw_logon(
    address: tuple[str, int], clock: Callable[[], int], uuid: int, *, next_seq_no: int = 1,
    negotiated: bool = True, keep_alive: int = 30_000,
) -> tuple[Wire, m.EstablishmentAck504]:  # fmt: skip
    w = await Wire.open(address)
    if negotiated:
        w.send(negotiate(clock, uuid))
        resp = await w.recv()
        assert isinstance(resp, m.NegotiationResponse501), resp
    w.send(establish(clock, uuid, next_seq_no, keep_alive=keep_alive))
    ack = await w.recv()
    assert isinstance(ack, m.EstablishmentAck504), ack
    return w, ack


def numbered(msg: MessageBase, seq: int) -> bytes:
    """A customer business message framed with SeqNum ``seq``."""
    return frame(fields.stamp(msg.encode(), seq, None, time.time_ns()))


def exec_new(clordid: str, now: int) -> m.ExecutionReportNew522:
    """A report the venue publishes on its own (a GTC fill, a cancel while away)."""
    return m.ExecutionReportNew522(
        SeqNum=0, UUID=0, ExecID=f"V-{clordid}", SenderID="TRADER1", ClOrdID=clordid,
        PartyDetailsListReqID=1, OrderID=99, Price="4512.25", TransactTime=now, SendingTimeEpoch=now,
        OrderRequestID=1, Location="US,IL", SecurityID=204527, OrderQty=2, OrdType=m.OrderTypeReq.Limit,
        Side=m.SideReq.Buy, ManualOrderIndicator=m.ManualOrdIndReq.Automated,
        PossRetransFlag=m.BooleanFlag.False_,
    )  # fmt: skip


def publish(v: Venue, clordid: str, owner: tuple[str, str] = OWNER) -> int:
    now = v.clock()
    return v.gateway.publish(owner, exec_new(clordid, now), now)


def uuid_now(clock: Callable[[], int]) -> int:
    return clock() // 1000


def next_week(gateway: MarketSegmentGateway) -> int:
    """The weekly start-up (Sunday 16:00 Chicago) after the current one, in ns."""
    return gateway.book.calendar.week_start(time.time_ns() + 7 * DAY)


def travel(clock: Clock, at: int) -> None:
    """Move the venue's (and its clients') clock to ``at``. Only between connections: an open
    connection would see its keep-alive interval lapse."""
    clock.offset = at - time.time_ns()


async def logon(v: Venue, **kw: Any) -> ILink3Client:
    c, _ = await logon_ack(v, **kw)
    return c


async def logon_ack(v: Venue, **kw: Any) -> tuple[ILink3Client, m.EstablishmentAck504]:
    """Connect an :class:`ILink3Client` and log on; returns it with its EstablishmentAck."""
    recover = kw.pop("recover_previous", True)
    logon_kw = {k: kw.pop(k) for k in ("negotiate", "next_seq_no", "expected_seq_no") if k in kw}
    c = v.client(**kw)
    await c.connect(v.host, v.port)
    est = await c.logon(recover_previous=recover, **logon_kw)
    return c, est.ack


def seen(v: Venue) -> list[str]:
    return [msg.ClOrdID for _, msg in v.handler.seen]  # type: ignore[attr-defined]


def gateway_machine(gw: MarketSegmentGateway) -> Any:
    (proto,) = [p for p in gw.connections if p.machine.state is State.ESTABLISHED]
    return proto


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "condition not met in time"
        await asyncio.sleep(0.005)


async def terminated(c: ILink3Client) -> ev.Terminated:
    """The Terminated event the client gets next (business messages on the way are skipped)."""
    with pytest.raises(SessionTerminated) as info:
        while True:
            await c._wait_for(ev.BusinessMessage, timeout=5)
    return info.value.event


def request(c: ILink3Client, from_seq_no: int, count: int, last_uuid: int | None = None) -> None:
    c.machine.request_retransmission(
        c.clock(), from_seq_no=from_seq_no, count=count, last_uuid=last_uuid
    )
    c._flush()


# ============================================================================== session life


async def test_I001_I152_I208_each_direction_is_one_ordered_series_of_its_own(
    venue: Venue,
) -> None:
    w, ack = await raw_logon((venue.host, venue.port), venue.clock, uuid_now(venue.clock))
    uuid = ack.UUID
    assert [publish(venue, x) for x in ("V1", "V2")] == [1, 2]
    assert [(await w.recv()).SeqNum for _ in range(2)] == [1, 2]
    w.send(*(numbered(order(f"O{i}"), i) for i in (1, 2, 3)))
    reports = [await w.recv() for _ in range(3)]
    # the customer's series 1..3 was applied in order; the exchange's own series went on 3..5
    assert seen(venue) == ["O1", "O2", "O3"]
    assert [(r.SeqNum, r.UUID, r.ClOrdID) for r in reports] == [
        (3, uuid, "O1"),
        (4, uuid, "O2"),
        (5, uuid, "O3"),
    ]
    # Sequence is used in both flows, each side naming its own next number (I-152)
    w.send(m.Sequence506(UUID=uuid, NextSeqNo=4, KeepAliveIntervalLapsed=1))
    seq = await w.recv()
    assert isinstance(seq, m.Sequence506)
    assert (seq.NextSeqNo, seq.KeepAliveIntervalLapsed) == (6, m.KeepAliveLapsed.NotLapsed)
    # only the exchange's business messages are recoverable (I-208)
    w.send(
        m.RetransmitRequest508(UUID=uuid, RequestTimestamp=venue.clock(), FromSeqNo=1, MsgCount=5)
    )
    head = await w.recv()
    assert isinstance(head, m.Retransmission509) and head.MsgCount == 5
    replays = [await w.recv() for _ in range(5)]
    assert [r.ClOrdID for r in replays] == ["V1", "V2", "O1", "O2", "O3"]
    assert all(isinstance(r, m.ExecutionReportNew522) for r in replays)
    assert await w.quiet()
    w.close()


async def test_I002_I069_I095_I097_negotiating_in_mid_week_is_accepted(venue: Venue) -> None:
    travel(venue.clock, next_week(venue.gateway) + 3 * DAY)  # Wednesday 16:00, first logon
    c, ack = await logon_ack(venue)
    assert (ack.NextSeqNo, ack.PreviousUUID, ack.PreviousSeqNo) == (1, 0, 0)
    c.send(order("W1"))
    assert (await c.next_business()).seq_no == 1
    term = await c.terminate()  # a graceful termination, no error code
    assert (term.code, term.by_peer) == (0, False)
    again, ack = await logon_ack(venue, uuid=c.uuid + 1, recover_previous=False)
    assert (ack.NextSeqNo, ack.PreviousUUID, ack.PreviousSeqNo) == (1, c.uuid, 1)
    assert again.send(order("W2")) == 1
    got = await again.next_business()
    assert (got.seq_no, got.uuid) == (1, again.uuid)
    await again.terminate()


async def test_I003_I236_the_venue_holds_uuid_0_for_a_customer_not_yet_connected(
    venue: Venue,
) -> None:
    assert publish(venue, "GTC") == 1  # a fill before the customer's first connection
    w = await Wire.open((venue.host, venue.port))
    w.send(negotiate(venue.clock, 0))  # UUID 0 is CME's own
    rej = await w.recv()
    assert isinstance(rej, m.NegotiationReject502) and rej.ErrorCodes == 2
    uuid = uuid_now(venue.clock)
    w.send(negotiate(venue.clock, uuid))
    resp = await w.recv()
    assert isinstance(resp, m.NegotiationResponse501)
    assert (resp.PreviousUUID, resp.PreviousSeqNo) == (0, 1)
    w.send(establish(venue.clock, uuid))
    ack = await w.recv()
    assert isinstance(ack, m.EstablishmentAck504)
    assert (ack.NextSeqNo, ack.PreviousUUID, ack.PreviousSeqNo) == (1, 0, 1)
    w.send(
        m.RetransmitRequest508(
            UUID=uuid, LastUUID=0, RequestTimestamp=venue.clock(), FromSeqNo=1, MsgCount=1
        )
    )
    head, replay = await w.recv(), await w.recv()
    assert isinstance(head, m.Retransmission509) and head.LastUUID == 0
    assert (replay.UUID, replay.SeqNum, replay.ClOrdID) == (0, 1, "GTC")
    assert replay.PossRetransFlag is m.BooleanFlag.True_
    w.close()


async def test_I004_I007_I059_I081_I094_negotiate_establish_terminate_many_times_in_a_week(
    venue: Venue,
) -> None:
    start = next_week(venue.gateway)
    travel(venue.clock, start + DAY // 10)  # Sunday evening: beginning of week (I-094)
    a, ack = await logon_ack(venue)
    assert (ack.NextSeqNo, ack.PreviousUUID, ack.PreviousSeqNo) == (1, 0, 0)
    a.send(order("A1"))
    assert (await a.next_business()).seq_no == 1
    await a.terminate()
    travel(venue.clock, start + DAY)  # Monday: intra-session binding, same UUID (I-081)
    a2, ack = await logon_ack(venue, uuid=a.uuid, negotiate=False, next_seq_no=2, expected_seq_no=2)
    assert (ack.NextSeqNo, ack.PreviousUUID, ack.PreviousSeqNo) == (2, a.uuid, 1)
    assert a2.send(order("A2")) == 2 and (await a2.next_business()).seq_no == 2
    await a2.terminate()
    travel(venue.clock, start + 3 * DAY)  # Wednesday: mid-week initialization, new UUID
    b, ack = await logon_ack(venue, recover_previous=False)
    assert b.uuid > a.uuid
    assert (ack.NextSeqNo, ack.PreviousUUID, ack.PreviousSeqNo) == (1, a.uuid, 2)
    assert b.send(order("B1")) == 1
    assert ((g := await b.next_business()).seq_no, g.uuid) == (1, b.uuid)
    await b.terminate()
    travel(venue.clock, start + 4 * DAY)  # Thursday: the Wednesday session binds again
    b2, ack = await logon_ack(venue, uuid=b.uuid, negotiate=False, next_seq_no=2, expected_seq_no=2)
    assert ack.NextSeqNo == 2
    assert b2.send(order("B2")) == 2
    assert ((g := await b2.next_business()).seq_no, g.uuid) == (2, b.uuid)
    await b2.terminate()
    assert seen(venue) == ["A1", "A2", "B1", "B2"]


async def test_I008_a_uuid_near_the_uint64_maximum_is_accepted(venue: Venue) -> None:
    big = 2**64 - 2  # the largest value that is not the null value
    c = await logon(venue, uuid=big)
    assert c.machine.uuid == big
    c.send(order("BIG"))
    got = await c.next_business()
    assert got.uuid == big and got.message.UUID == big  # type: ignore[attr-defined]
    await c.terminate()


async def test_I010_I022_I117_I250_each_uuids_stream_stays_recoverable_after_renegotiating(
    venue: Venue,
) -> None:
    a = await logon(venue)
    a.send(order("A1"))
    await a.next_business()
    await a.terminate()
    assert publish(venue, "AWAY") == 2  # published after the Termination, under UUID a
    b = await logon(venue, uuid=a.uuid + 1, recover_previous=False)
    assert b.previous == (a.uuid, 2)
    assert b.send(order("B1")) == 1
    assert (await b.next_business()).uuid == b.uuid
    # the previous session's messages: only through the previous UUID (LastUUID)
    request(b, 1, 2, last_uuid=a.uuid)
    got = [await b.next_business() for _ in range(2)]
    assert [(g.uuid, g.seq_no, g.possible_retransmission) for g in got] == [
        (a.uuid, 1, True),
        (a.uuid, 2, True),
    ]
    assert [g.message.ClOrdID for g in got] == ["A1", "AWAY"]  # type: ignore[attr-defined]
    await b._wait_for(ev.RetransmissionFinished)
    # the same sequence number under the current UUID is another message
    request(b, 1, 1)
    started = await b._wait_for(ev.RetransmissionStarted)
    assert isinstance(started, ev.RetransmissionStarted)
    assert (started.message.FromSeqNo, started.message.MsgCount) == (1, 1)
    await b._wait_for(ev.RetransmissionFinished)
    request(b, 2, 1)  # nothing published after the renegotiation lives under the new UUID
    rej = await b._wait_for(ev.RetransmitRejected)
    assert isinstance(rej, ev.RetransmitRejected) and rej.reject.ErrorCodes == 0
    await b.terminate()


async def test_I011_I088_I079_I083_the_negotiated_uuid_is_the_connections_for_its_lifetime(
    venue: Venue,
) -> None:
    address, clock = (venue.host, venue.port), venue.clock
    w = await Wire.open(address)
    uuid = uuid_now(clock)
    w.send(negotiate(clock, uuid))
    assert isinstance(await w.recv(), m.NegotiationResponse501)
    w.send(establish(clock, uuid + 1))  # not the negotiated UUID
    term = await w.recv()
    assert isinstance(term, m.Terminate507) and term.ErrorCodes == 13
    assert await w.closed_by_peer() == []
    # back to 1 in both directions only with a new UUID, Negotiated first (I-079, I-083)
    c = await logon(venue, uuid=uuid + 2)
    c.send_many([order("O1"), order("O2")])
    for _ in range(2):
        await c.next_business()
    await c.terminate()
    w = await Wire.open(address)
    w.send(establish(clock, c.uuid, 1))  # same UUID, numbers reset without Negotiate
    assert (await w.recv()).ErrorCodes == 10
    assert await w.closed_by_peer() == []
    w = await Wire.open(address)
    w.send(establish(clock, c.uuid + 1, 1))  # a new UUID without Negotiate
    assert (await w.recv()).ErrorCodes == 13
    assert await w.closed_by_peer() == []
    w, ack = await raw_logon(address, clock, c.uuid + 1)
    assert (ack.UUID, ack.NextSeqNo) == (c.uuid + 1, 1)
    w.send(numbered(order("N1"), 1))
    rep = await w.recv()
    assert (rep.SeqNum, rep.UUID, rep.ClOrdID) == (1, c.uuid + 1, "N1")
    w.close()


async def test_I012_I029_I146_I232_a_new_uuid_restarts_both_directions_at_1(
    venue: Venue,
) -> None:
    a = await logon(venue)
    a.send_many([order(f"A{i}") for i in range(3)])
    for _ in range(3):
        await a.next_business()
    await a.terminate()
    # Establish with NextSeqNo 1, lower than the 4 expected on the old UUID: fine on a new one
    w, ack = await raw_logon((venue.host, venue.port), venue.clock, a.uuid + 1, next_seq_no=1)
    assert (ack.NextSeqNo, ack.PreviousUUID, ack.PreviousSeqNo) == (1, a.uuid, 3)
    w.send(numbered(order("B1"), 1))
    rep = await w.recv()
    assert isinstance(rep, m.ExecutionReportNew522)
    assert (rep.SeqNum, rep.UUID, rep.ClOrdID) == (1, a.uuid + 1, "B1")
    assert seen(venue)[-1] == "B1" and await w.quiet()  # applied, no NotApplied
    w.close()


async def _segment(
    segment: int, keys: MemoryKeyDirectory, clock: Clock, handler: AckHandler
) -> MarketSegmentGateway:
    gw = MarketSegmentGateway(
        segment, keys=keys, journal=MemoryJournal(), handler=handler, clock=clock
    )
    await gw.start()
    return gw


@pytest.fixture
async def segments(
    venue: Venue,
) -> AsyncIterator[tuple[MarketSegmentGateway, MarketSegmentGateway]]:
    """Segment 84 (the ``venue`` gateway) and segment 85 (a second gateway, same keys)."""
    other = await _segment(85, venue.keys, venue.clock, venue.handler)
    yield venue.gateway, other
    await other.stop()


async def _client_on(v: Venue, gw: MarketSegmentGateway, **kw: Any) -> ILink3Client:
    c = v.client(**kw)
    assert gw.address is not None
    await c.connect(*gw.address)
    await c.logon(recover_previous=False)
    return c


async def test_I016_the_same_uuid_on_two_segments_at_the_same_time(
    venue: Venue, segments: tuple[MarketSegmentGateway, MarketSegmentGateway]
) -> None:
    seg84, seg85 = segments
    uuid = uuid_now(venue.clock)
    x = await _client_on(venue, seg84, uuid=uuid)
    y = await _client_on(venue, seg85, uuid=uuid)
    assert x.machine.state is y.machine.state is State.ESTABLISHED
    x.send(order("X1"))
    y.send(order("Y1"))
    gx, gy = await x.next_business(), await y.next_business()
    assert (gx.uuid, gx.seq_no, gy.uuid, gy.seq_no) == (uuid, 1, uuid, 1)
    assert (gx.message.ClOrdID, gy.message.ClOrdID) == ("X1", "Y1")  # type: ignore[attr-defined]
    await x.terminate()
    await y.terminate()


async def test_I017_two_customers_may_use_the_same_uuid(venue: Venue) -> None:
    venue.keys.add(AccessKey("AKIDDEFDEFDEFDEFDEF8", OTHER_SECRET, "DEF", "008"))
    uuid = uuid_now(venue.clock)
    one = await logon(venue, uuid=uuid)
    two = await logon(
        venue, uuid=uuid, session="DEF", firm="008", access_key_id="AKIDDEFDEFDEFDEFDEF8",
        secret_key=OTHER_SECRET,
    )  # fmt: skip
    one.send(order("ONE"))
    two.send(order("TWO"))
    g1, g2 = await one.next_business(), await two.next_business()
    assert (g1.uuid, g1.seq_no, g2.uuid, g2.seq_no) == (uuid, 1, uuid, 1)
    assert [o for o, _ in venue.handler.seen] == [("ABC", "007"), ("DEF", "008")]
    await one.terminate()
    await two.terminate()


async def test_I018_uuid_history_is_kept_per_segment(
    venue: Venue, segments: tuple[MarketSegmentGateway, MarketSegmentGateway]
) -> None:
    seg_x, seg_y = segments
    base = uuid_now(venue.clock)
    for gw, uuid in ((seg_x, base + 300), (seg_y, base + 100)):
        c = await _client_on(venue, gw, uuid=uuid)
        await c.terminate()
    # used on X, never on Y and higher than Y's latest: accepted on Y
    c = await _client_on(venue, seg_y, uuid=base + 300)
    assert c.machine.uuid == base + 300
    await c.terminate()
    # never used anywhere but lower than the latest on each segment: refused on both
    for gw in (seg_x, seg_y):
        c = venue.client(uuid=base + 250)
        assert gw.address is not None
        await c.connect(*gw.address)
        with pytest.raises(LogonRejected) as info:
            await c.logon()
        assert isinstance(info.value.message, m.NegotiationReject502)
        assert info.value.message.ErrorCodes == 2
        c.close()


async def test_I044_the_signature_goes_as_32_raw_bytes_not_as_text(venue: Venue) -> None:
    w = await Wire.open((venue.host, venue.port))
    uuid = uuid_now(venue.clock)
    good = negotiate(venue.clock, uuid)
    digest = good.HMACSignature
    for text in (digest.hex().encode()[:32], base64.urlsafe_b64encode(digest)[:32]):
        w.send(
            m.Negotiate500(
                HMACSignature=text,
                AccessKeyID=KEY_ID,
                UUID=uuid,
                RequestTimestamp=good.RequestTimestamp,
                Session="ABC",
                Firm="007",
            )
        )
        rej = await w.recv()
        assert isinstance(rej, m.NegotiationReject502) and rej.ErrorCodes == 0
    w.send(good)
    assert isinstance(await w.recv(), m.NegotiationResponse501)
    w.close()


async def test_I048_I049_I050_I051_initialization_and_binding_messages(venue: Venue) -> None:
    clock = venue.clock
    w = await Wire.open((venue.host, venue.port))
    uuid = uuid_now(clock)
    w.send(negotiate(clock, uuid, secret=OTHER_SECRET))
    rej = await w.recv()  # I-049: NegotiationReject rejects the connection
    assert isinstance(rej, m.NegotiationReject502) and (rej.UUID, rej.ErrorCodes) == (uuid, 0)
    neg = negotiate(clock, uuid)
    w.send(neg)
    resp = await w.recv()  # I-048: NegotiationResponse accepts it
    assert isinstance(resp, m.NegotiationResponse501)
    assert (resp.UUID, resp.RequestTimestamp) == (uuid, neg.RequestTimestamp)
    est = establish(clock, uuid)
    w.send(est)  # I-050: Establish binds the connection
    ack = await w.recv()  # I-051: EstablishmentAck accepts the binding
    assert isinstance(ack, m.EstablishmentAck504)
    assert (ack.UUID, ack.RequestTimestamp, ack.NextSeqNo) == (uuid, est.RequestTimestamp, 1)
    w.send(numbered(order("B1"), 1))
    assert (await w.recv()).ClOrdID == "B1"  # bound: business flows
    w.close()


async def test_I053_I054_I055_I056_I057_I058_transferring_and_unbinding_messages(
    venue: Venue,
) -> None:
    clock = venue.clock
    w, ack = await raw_logon((venue.host, venue.port), clock, uuid_now(clock))
    uuid = ack.UUID
    w.send(numbered(order("O1"), 1))
    assert (await w.recv()).SeqNum == 1
    w.send(m.Sequence506(UUID=uuid, NextSeqNo=2, KeepAliveIntervalLapsed=1))
    seq = await w.recv()  # I-053: Sequence both ways (keep-alive)
    assert isinstance(seq, m.Sequence506) and seq.NextSeqNo == 2
    w.send(m.RetransmitRequest508(UUID=uuid, RequestTimestamp=clock(), FromSeqNo=1, MsgCount=1))
    head, replay = await w.recv(), await w.recv()  # I-054, I-055
    assert isinstance(head, m.Retransmission509) and (head.FromSeqNo, head.MsgCount) == (1, 1)
    assert (replay.SeqNum, replay.PossRetransFlag) == (1, m.BooleanFlag.True_)
    w.send(m.RetransmitRequest508(UUID=uuid, RequestTimestamp=clock(), FromSeqNo=50, MsgCount=1))
    rej = await w.recv()  # I-056
    assert isinstance(rej, m.RetransmitReject510) and rej.ErrorCodes == 0
    w.send(numbered(order("O5"), 5))
    na = await w.recv()  # I-057: negative acknowledgment of the missed messages
    assert isinstance(na, m.NotApplied513) and (na.FromSeqNo, na.MsgCount) == (2, 4)
    ts = clock()
    w.send(m.Terminate507(UUID=uuid, RequestTimestamp=ts, ErrorCodes=0))
    conf = await w.recv()  # I-058: Terminate both ways
    assert isinstance(conf, m.Terminate507) and (conf.UUID, conf.RequestTimestamp) == (uuid, ts)
    assert await w.closed_by_peer() == []
    # AI-25: a message only CME sends, sent by a client -> Terminate 23
    w = await Wire.open((venue.host, venue.port))
    w.send(m.Retransmission509(UUID=uuid, RequestTimestamp=clock(), FromSeqNo=1, MsgCount=0))
    term = await w.recv()
    assert isinstance(term, m.Terminate507) and term.ErrorCodes == 23
    assert await w.closed_by_peer() == []


async def test_I084_I072_I070_a_refused_establish_leaves_the_expected_number_unchanged(
    venue: Venue, tmp_path: Path
) -> None:
    store = FileSessionStore(tmp_path / "abc-84.json")
    c = await logon(venue, store=store)
    c.send_many([order("O1"), order("O2")])
    for _ in range(2):
        await c.next_business()
    await c.terminate()
    assert store.load() == SessionState(c.uuid, 3, 3)
    wrong = venue.client(store=FileSessionStore(tmp_path / "abc-84.json"))
    await wrong.connect(venue.host, venue.port)
    with pytest.raises(SessionTerminated) as info:
        await wrong.logon(next_seq_no=1)  # same UUID, sequence reset: not allowed (I-071)
    assert info.value.event.code == 10
    wrong.close()
    # retry with the right number from the previous stream (I-072): the venue still expects 3
    right = venue.client(store=FileSessionStore(tmp_path / "abc-84.json"))
    await right.connect(venue.host, venue.port)
    await right.logon()
    assert (right.machine.uuid, right.machine.next_out) == (c.uuid, 3)  # continued (I-070)
    assert right.send(order("O3")) == 3
    assert (await right.next_business()).seq_no == 3
    assert seen(venue) == ["O1", "O2", "O3"]  # applied: no NotApplied
    await right.terminate()
    # or restart at 1 with a new UUID (I-070)
    fresh = venue.client(store=FileSessionStore(tmp_path / "abc-84.json"), uuid=c.uuid + 1)
    await fresh.connect(venue.host, venue.port)
    await fresh.logon(recover_previous=False)
    assert (fresh.machine.next_out, fresh.machine.next_in) == (1, 1)
    assert store.load() == SessionState(c.uuid + 1, 1, 1)
    await fresh.terminate()


async def test_I089_a_fixp_session_cannot_be_reset_only_a_new_uuid_starts_over(
    venue: Venue,
) -> None:
    c = await logon(venue)
    c.send(order("O1"))
    await c.next_business()
    await c.terminate()
    again = venue.client(uuid=c.uuid)
    await again.connect(venue.host, venue.port)
    with pytest.raises(LogonRejected) as info:
        await again.logon(negotiate=True)
    assert isinstance(info.value.message, m.NegotiationReject502)
    assert info.value.message.ErrorCodes == 2
    again.close()
    fresh = await logon(venue, uuid=c.uuid + 1, recover_previous=False)
    assert fresh.machine.next_in == 1 and fresh.send(order("N1")) == 1
    await fresh.terminate()


# ============================================================================== binding


async def test_I108_business_after_negotiate_but_before_establish_is_refused(venue: Venue) -> None:
    w = await Wire.open((venue.host, venue.port))
    w.send(negotiate(venue.clock, uuid_now(venue.clock)))
    assert isinstance(await w.recv(), m.NegotiationResponse501)
    w.send(numbered(order("EARLY"), 1))
    term = await w.recv()
    assert isinstance(term, m.Terminate507) and term.ErrorCodes == 3  # AI-24: not established
    assert await w.closed_by_peer() == []
    assert seen(venue) == []  # never applied, no sequence number assigned


async def test_I110_the_established_state_ends_with_the_tcp_connection(venue: Venue) -> None:
    address = (venue.host, venue.port)
    w, _ = await raw_logon(address, venue.clock, uuid_now(venue.clock))
    w.send(numbered(order("O1"), 1))
    assert (await w.recv()).ClOrdID == "O1"
    w.close()  # the transport goes: the binding goes with it
    await until(lambda: venue.gateway.book.sessions[OWNER].primary is None)
    w2 = await Wire.open(address)
    w2.send(numbered(order("O2"), 2))  # a business message on a new connection, no Establish
    term = await w2.recv()
    assert isinstance(term, m.Terminate507) and term.ErrorCodes == 2
    assert await w2.closed_by_peer() == []
    assert seen(venue) == ["O1"]


async def test_I112_I237_terminate_unbinds_the_transport_but_not_the_fixp_session(
    venue: Venue,
) -> None:
    address, clock = (venue.host, venue.port), venue.clock
    w, ack = await raw_logon(address, clock, uuid_now(clock))
    uuid = ack.UUID
    w.send(numbered(order("O1"), 1))
    await w.recv()
    ts = clock()
    w.send(m.Terminate507(UUID=uuid, RequestTimestamp=ts, ErrorCodes=0))
    conf = await w.recv()  # the Terminate is confirmed, then the sender of it closes
    assert isinstance(conf, m.Terminate507)
    assert (conf.ErrorCodes, conf.UUID, conf.RequestTimestamp) == (0, uuid, ts)
    assert await w.closed_by_peer() == []
    # the logical session lives on: no Negotiate needed, the numbers continue
    w2, ack2 = await raw_logon(address, clock, uuid, next_seq_no=2, negotiated=False)
    assert (ack2.UUID, ack2.NextSeqNo, ack2.PreviousUUID, ack2.PreviousSeqNo) == (uuid, 2, uuid, 1)
    w2.send(numbered(order("O2"), 2))
    rep = await w2.recv()
    assert (rep.SeqNum, rep.ClOrdID) == (2, "O2")
    w2.close()


async def test_I113_the_client_sends_terminate_before_it_disconnects(venue: Venue) -> None:
    c = await logon(venue)
    proto = gateway_machine(venue.gateway)
    term = await c.terminate()
    assert term.code == 0 and c.protocol is not None and c.protocol.closed.is_set()
    got = proto.machine.terminated
    assert got is not None and (got.code, got.by_peer) == (0, True)  # a Terminate came first
    assert venue.handler.disconnects == [(OWNER, True)]  # a graceful end, not a lost socket


async def test_I116_I119_I122_after_a_termination_same_uuid_or_new_uuid_are_both_allowed(
    venue: Venue,
) -> None:
    # AI-07: "must negotiate a new UUID" reads as "must, to restart at 1"
    a = await logon(venue)
    a.send(order("A1"))
    await a.next_business()
    await a.terminate()
    assert publish(venue, "AFTER") == 2  # e.g. a mass quote cancel after the Termination
    back, ack = await logon_ack(
        venue, uuid=a.uuid, negotiate=False, next_seq_no=2, expected_seq_no=2
    )
    assert (ack.NextSeqNo, ack.PreviousUUID, ack.PreviousSeqNo) == (3, a.uuid, 2)
    got = await back.next_business()  # recovered through the same UUID (I-119)
    assert (got.uuid, got.seq_no, got.possible_retransmission) == (a.uuid, 2, True)
    assert got.message.ClOrdID == "AFTER"  # type: ignore[attr-defined]
    assert back.send(order("A2")) == 2  # business continues (I-122)
    assert (await back.next_business()).seq_no == 3
    await back.terminate()
    fresh, ack = await logon_ack(venue, uuid=a.uuid + 1, recover_previous=False)
    assert (ack.UUID, ack.NextSeqNo) == (a.uuid + 1, 1)
    await fresh.terminate()


async def test_I123_establish_binds_the_session_to_the_connection_it_arrives_on(
    venue: Venue,
) -> None:
    address, clock = (venue.host, venue.port), venue.clock
    c = await logon(venue)
    w = await Wire.open(address)
    w.send(establish(clock, c.uuid, 1, secret=OTHER_SECRET))
    rej = await w.recv()
    assert isinstance(rej, m.EstablishmentReject505) and rej.ErrorCodes == 0
    w.send(establish(clock, c.uuid, 1))  # still bound to the first connection
    rej = await w.recv()
    assert isinstance(rej, m.EstablishmentReject505) and rej.ErrorCodes == 10
    c.close()
    await until(lambda: venue.gateway.book.sessions[OWNER].primary is None)
    w.send(establish(clock, c.uuid, 1))
    ack = await w.recv()
    assert isinstance(ack, m.EstablishmentAck504) and ack.UUID == c.uuid
    w.send(numbered(order("HERE"), 1))
    rep = await w.recv()  # the reports now come over this connection
    assert (rep.ClOrdID, rep.SeqNum) == ("HERE", 1)
    w.close()


async def test_I126_I127_I128_same_uuid_continues_after_disconnect_cme_or_customer_terminate(
    venue: Venue,
) -> None:
    address, clock = (venue.host, venue.port), venue.clock
    w, ack = await raw_logon(address, clock, uuid_now(clock))
    uuid = ack.UUID
    w.send(numbered(order("O1"), 1))
    await w.recv()
    w.close()  # I-126: a disconnection
    await until(lambda: venue.gateway.book.sessions[OWNER].primary is None)
    w, ack = await raw_logon(address, clock, uuid, next_seq_no=2, negotiated=False)
    assert (ack.NextSeqNo, ack.PreviousUUID) == (2, uuid)
    w.send(numbered(order("O2"), 2))
    assert (await w.recv()).SeqNum == 2
    w.send(m.NotApplied513(UUID=uuid, FromSeqNo=1, MsgCount=1))  # a violation: CME terminates
    term = await w.recv()
    assert isinstance(term, m.Terminate507) and term.ErrorCodes == 23
    await w.closed_by_peer()
    w, ack = await raw_logon(address, clock, uuid, next_seq_no=3, negotiated=False)  # I-127
    assert ack.NextSeqNo == 3
    w.send(numbered(order("O3"), 3))
    assert (await w.recv()).SeqNum == 3
    w.send(m.Terminate507(UUID=uuid, RequestTimestamp=clock(), ErrorCodes=0))  # the customer's
    assert (await w.recv()).ErrorCodes == 0
    await w.closed_by_peer()
    w, ack = await raw_logon(address, clock, uuid, next_seq_no=4, negotiated=False)  # I-128
    assert ack.NextSeqNo == 4
    w.send(numbered(order("O4"), 4))
    rep = await w.recv()
    assert (rep.SeqNum, rep.UUID) == (4, uuid)
    assert seen(venue) == ["O1", "O2", "O3", "O4"]
    w.close()


async def test_I096_I129_I130_a_new_uuid_after_any_termination_restarts_at_1(
    venue: Venue,
) -> None:
    address, clock = (venue.host, venue.port), venue.clock
    first = uuid_now(clock)
    w, _ = await raw_logon(address, clock, first)
    w.send(numbered(order("O1"), 1), numbered(order("O2"), 2))
    await w.recv()
    await w.recv()
    w.send(m.NotApplied513(UUID=first, FromSeqNo=1, MsgCount=1))  # CME terminates, code 23
    assert (await w.recv()).ErrorCodes == 23
    await w.closed_by_peer()
    w, ack = await raw_logon(address, clock, first + 1)  # I-096, I-130: Negotiate, new UUID
    assert (ack.NextSeqNo, ack.PreviousUUID, ack.PreviousSeqNo) == (1, first, 2)
    w.send(numbered(order("N1"), 1))
    assert ((rep := await w.recv()).SeqNum, rep.UUID) == (1, first + 1)
    w.send(m.Terminate507(UUID=first + 1, RequestTimestamp=clock(), ErrorCodes=0))
    assert (await w.recv()).ErrorCodes == 0
    await w.closed_by_peer()
    w, ack = await raw_logon(address, clock, first + 2)  # I-129: after the customer's Terminate
    assert (ack.NextSeqNo, ack.PreviousUUID, ack.PreviousSeqNo) == (1, first + 1, 1)
    w.send(numbered(order("M1"), 1))
    assert ((rep := await w.recv()).SeqNum, rep.UUID) == (1, first + 2)
    assert seen(venue) == ["O1", "O2", "N1", "M1"]
    w.close()


async def test_I234_establishment_ack_carries_previous_uuid_and_previous_seq_no(
    venue: Venue,
) -> None:
    # AI-14: the UUID and SeqNum of the last business message sent for the customer
    a, ack = await logon_ack(venue)
    assert (ack.PreviousUUID, ack.PreviousSeqNo) == (0, 0)  # nothing yet this week
    a.send_many([order("A1"), order("A2")])
    for _ in range(2):
        await a.next_business()
    a.close()
    await until(lambda: venue.gateway.book.sessions[OWNER].primary is None)
    assert publish(venue, "GONE") == 3  # while away
    b, ack = await logon_ack(venue, uuid=a.uuid, negotiate=False, next_seq_no=3, expected_seq_no=3)
    assert (ack.PreviousUUID, ack.PreviousSeqNo, ack.NextSeqNo) == (a.uuid, 3, 4)
    assert (await b.next_business()).seq_no == 3  # the gap it reveals is recovered
    await b.terminate()
    c, ack = await logon_ack(venue, uuid=a.uuid + 1, recover_previous=False)
    assert (ack.PreviousUUID, ack.PreviousSeqNo, ack.NextSeqNo) == (a.uuid, 3, 1)
    await c.terminate()


# ============================================================================== keep-alive


async def test_I153_I160_the_gateway_heartbeats_at_the_customers_keep_alive_interval(
    venue: Venue,
) -> None:
    clock = venue.clock
    w, ack = await raw_logon((venue.host, venue.port), clock, uuid_now(clock), keep_alive=7_000)
    assert ack.KeepAliveInterval == 7_000  # I-160: set by the customer in Establish, echoed
    proto = gateway_machine(venue.gateway)
    clock.offset += 6 * SECOND
    proto._fire()
    assert await w.quiet()  # one interval has not passed yet
    clock.offset += 1 * SECOND
    proto._fire()
    beat = await w.recv()  # I-153: a Sequence as the de facto heartbeat
    assert isinstance(beat, m.Sequence506)
    assert (beat.UUID, beat.NextSeqNo) == (ack.UUID, 1)
    assert beat.KeepAliveIntervalLapsed is m.KeepAliveLapsed.NotLapsed
    assert not proto.machine.closed
    w.close()


async def test_I161_keep_alive_interval_5_to_60_seconds_in_milliseconds(venue: Venue) -> None:
    # AI-01: the wire value is in ms; outside 5000..60000 -> EstablishmentReject 11
    address, clock = (venue.host, venue.port), venue.clock
    uuid = uuid_now(clock)
    w = await Wire.open(address)
    w.send(negotiate(clock, uuid))
    assert isinstance(await w.recv(), m.NegotiationResponse501)
    for interval in (4_999, 60_001, 30):  # 30: the seed's sample value read as seconds
        w.send(establish(clock, uuid, keep_alive=interval))
        rej = await w.recv()
        assert isinstance(rej, m.EstablishmentReject505) and rej.ErrorCodes == 11
    w.send(establish(clock, uuid, keep_alive=5_000))
    ack = await w.recv()
    assert isinstance(ack, m.EstablishmentAck504) and ack.KeepAliveInterval == 5_000
    w.send(m.Terminate507(UUID=uuid, RequestTimestamp=clock(), ErrorCodes=0))
    assert (await w.recv()).ErrorCodes == 0
    await w.closed_by_peer()
    w, ack = await raw_logon(address, clock, uuid, negotiated=False, keep_alive=60_000)
    assert ack.KeepAliveInterval == 60_000
    w.close()


# ============================================================================== sequencing


async def test_I093_I177_I213_I221_customer_gaps_get_not_applied_and_are_never_recovered(
    venue: Venue,
) -> None:
    w, _ = await raw_logon((venue.host, venue.port), venue.clock, uuid_now(venue.clock))
    w.send(numbered(order("O1"), 1))
    assert (await w.recv()).ClOrdID == "O1"
    w.send(numbered(order("O3"), 3))  # message 2 never arrives
    na = await w.recv()
    assert isinstance(na, m.NotApplied513) and (na.FromSeqNo, na.MsgCount) == (2, 2)
    w.send(numbered(order("O4"), 4))
    na = await w.recv()
    assert isinstance(na, m.NotApplied513) and (na.FromSeqNo, na.MsgCount) == (2, 3)
    # the exchange only tells: it never asks for the missing message, and applies nothing
    assert await w.quiet(0.5)
    assert seen(venue) == ["O1"]
    w.send(numbered(order("O2"), 2))  # up to the customer: here, it resends the missing one
    assert (await w.recv()).ClOrdID == "O2"
    w.close()


async def test_I174_I175_retransmit_request_names_the_current_uuid_and_the_first_number(
    venue: Venue,
) -> None:
    clock = venue.clock
    w, ack = await raw_logon((venue.host, venue.port), clock, uuid_now(clock))
    uuid = ack.UUID
    w.send(*(numbered(order(f"O{i}"), i) for i in range(1, 6)))
    for _ in range(5):
        await w.recv()
    w.send(m.RetransmitRequest508(UUID=uuid, RequestTimestamp=clock(), FromSeqNo=3, MsgCount=2))
    head = await w.recv()
    assert isinstance(head, m.Retransmission509)
    assert (head.UUID, head.LastUUID, head.FromSeqNo, head.MsgCount) == (uuid, None, 3, 2)
    replays = [await w.recv() for _ in range(2)]
    assert [(r.SeqNum, r.UUID, r.ClOrdID) for r in replays] == [(3, uuid, "O3"), (4, uuid, "O4")]
    # AI-10: UUID is the established one; another UUID there is refused
    w.send(m.RetransmitRequest508(UUID=uuid + 7, RequestTimestamp=clock(), FromSeqNo=1, MsgCount=1))
    rej = await w.recv()
    assert isinstance(rej, m.RetransmitReject510) and rej.ErrorCodes == 1
    w.close()


async def test_I184_a_retransmit_request_is_served_even_after_not_applied(venue: Venue) -> None:
    clock = venue.clock
    w, ack = await raw_logon((venue.host, venue.port), clock, uuid_now(clock))
    w.send(numbered(order("O1"), 1))
    await w.recv()
    w.send(numbered(order("O3"), 3))
    assert isinstance(await w.recv(), m.NotApplied513)
    w.send(m.RetransmitRequest508(UUID=ack.UUID, RequestTimestamp=clock(), FromSeqNo=1, MsgCount=1))
    head, replay = await w.recv(), await w.recv()
    assert isinstance(head, m.Retransmission509) and head.MsgCount == 1
    assert (replay.SeqNum, replay.ClOrdID, replay.PossRetransFlag) == (1, "O1", m.BooleanFlag.True_)
    w.close()


async def test_I189_I202_what_cannot_be_retransmitted_gets_retransmit_reject(venue: Venue) -> None:
    clock = venue.clock
    w, ack = await raw_logon((venue.host, venue.port), clock, uuid_now(clock))
    w.send(numbered(order("O1"), 1))
    await w.recv()
    for over, code in (({"FromSeqNo": 2}, 0), ({"LastUUID": ack.UUID - 10**6}, 1)):
        kw: dict[str, Any] = dict(UUID=ack.UUID, RequestTimestamp=clock(), FromSeqNo=1, MsgCount=1)
        kw.update(over)
        w.send(m.RetransmitRequest508(**kw))
        rej = await w.recv()
        assert isinstance(rej, m.RetransmitReject510) and rej.ErrorCodes == code
    # the session goes on: a servable request afterwards is answered
    w.send(m.RetransmitRequest508(UUID=ack.UUID, RequestTimestamp=clock(), FromSeqNo=1, MsgCount=1))
    assert isinstance(await w.recv(), m.Retransmission509)
    w.close()


class LossyRelay:
    """A TCP relay between a customer and the gateway that loses chosen exchange messages the
    first time they are sent (by SeqNum; retransmissions get through), and logs what it passed."""

    def __init__(self, target: tuple[str, int], lose: set[int]) -> None:
        self.target = target
        self.lose = set(lose)
        self.passed: list[tuple[int, bool]] = []  # (SeqNum, PossRetransFlag) of business messages
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> tuple[str, int]:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        host, port = self.server.sockets[0].getsockname()[:2]
        return host, port

    async def _serve(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        gr, gw = await asyncio.open_connection(*self.target)
        self.writers += [cw, gw]

        async def up() -> None:
            while data := await cr.read(65536):
                gw.write(data)
            gw.close()

        async def down() -> None:
            decoder = Decoder()
            while data := await gr.read(65536):
                out = bytearray()
                for msg in decoder.feed(data):
                    assert isinstance(msg, MessageBase)
                    seq = getattr(msg, "SeqNum", None)
                    replay = getattr(msg, "PossRetransFlag", None) is m.BooleanFlag.True_
                    if seq is not None:
                        if seq in self.lose and not replay:
                            self.lose.discard(seq)
                            continue
                        self.passed.append((seq, replay))
                    out += encode(msg)
                cw.write(bytes(out))
            cw.close()

        await asyncio.gather(up(), down(), return_exceptions=True)

    async def stop(self) -> None:
        for w in self.writers:
            w.close()
        if self.server is not None:
            self.server.close()


async def test_I092_I186_I201_lost_exchange_messages_are_recovered_exactly_once(
    venue: Venue,
) -> None:
    relay = LossyRelay((venue.host, venue.port), lose={2, 3})
    host, port = await relay.start()
    try:
        c = venue.client()
        await c.connect(host, port)
        await c.logon()
        c.send_many([order(f"O{i}") for i in range(1, 5)])
        got = [await c.next_business() for _ in range(4)]
        # delivered once each, in order, although 2 and 3 came after 4 (I-092)
        assert [(g.seq_no, g.possible_retransmission) for g in got] == [
            (1, False),
            (2, True),
            (3, True),
            (4, False),
        ]
        assert [g.message.ClOrdID for g in got] == ["O1", "O2", "O3", "O4"]  # type: ignore[attr-defined]
        # on the wire: the replays carried lower numbers than a real-time message already
        # received (I-186) and PossRetransFlag 1, the originals 0 (I-201)
        assert relay.passed == [(1, False), (4, False), (2, True), (3, True)]
        c.send(order("O5"))
        assert (await c.next_business()).seq_no == 5
        assert c.machine.next_in == 6
        await c.terminate()
    finally:
        await relay.stop()


# ============================================================================== GTC orders


class EngineVenue:
    """The gateway in front of the real matching engine, with a buyer and a seller."""

    KEYS: ClassVar[dict[str, tuple[str, str]]] = {
        "BUY": ("BUYERKEY000000000001", "001"),
        "SEL": ("SELLERKEY00000000001", "002"),
    }

    def __init__(self) -> None:
        self.clock = Clock()
        self.keys = MemoryKeyDirectory()
        for session, (key, firm) in self.KEYS.items():
            self.keys.add(AccessKey(key, SECRET, session, firm))
        self.engine = MatchingEngine()
        self.gw = MarketSegmentGateway(
            84, keys=self.keys, journal=MemoryJournal(), handler=EngineOrderHandler(self.engine),
            clock=self.clock,
        )  # fmt: skip

    def client(self, session: str, **kw: Any) -> ILink3Client:
        key, firm = self.KEYS[session]
        return ILink3Client(
            secret_key=SECRET, access_key_id=key, session=session, firm=firm, clock=self.clock, **kw
        )

    async def logon(self, session: str, **kw: Any) -> tuple[ILink3Client, m.EstablishmentAck504]:
        c = self.client(session, **kw)
        assert self.gw.address is not None
        await c.connect(*self.gw.address)
        return c, (await c.logon()).ack


@pytest.fixture
async def engine_venue() -> AsyncIterator[EngineVenue]:
    v = EngineVenue()
    await v.gw.start()
    yield v
    await v.gw.stop()


def nos(
    side: m.SideReq, clordid: str, tif: m.TimeInForce = m.TimeInForce.Day
) -> m.NewOrderSingle514:
    return m.NewOrderSingle514(
        Price="100", OrderQty=1, SecurityID=204527, Side=side, SeqNum=0, SenderID="TRADER1", ClOrdID=clordid,
        PartyDetailsListReqID=1, OrderRequestID=1, SendingTimeEpoch=0, Location="US,IL", OrdType=m.OrderTypeReq.Limit,
        ManualOrderIndicator=m.ManualOrdIndReq.Automated, TimeInForce=tif,
    )  # fmt: skip


async def test_I063_I068_gtc_order_of_last_week_fills_before_the_weeks_first_logon(
    engine_venue: EngineVenue,
) -> None:
    v = engine_venue
    start = next_week(v.gw)
    travel(v.clock, start + 4 * DAY)  # Thursday
    buyer, _ = await v.logon("BUY")
    buyer.send(nos(m.SideReq.Buy, "GTC1", m.TimeInForce.GoodTillCancel))
    assert isinstance((await buyer.next_business()).message, m.ExecutionReportNew522)
    await buyer.terminate()  # done for the week
    travel(v.clock, start + 7 * DAY + DAY // 2)  # the next week, before the buyer connects
    assert [o.terms.echo.cl_ord_id for o in v.engine.working_orders()] == ["GTC1"]  # still eligible
    seller, _ = await v.logon("SEL")
    seller.send(nos(m.SideReq.Sell, "S1"))
    await seller.next_business()
    fill = (await seller.next_business()).message
    assert isinstance(fill, m.ExecutionReportTradeOutright525) and fill.LastQty == 1
    # the buyer's fill went to UUID 0 (I-064); the client recovers it from the ack's
    # PreviousUUID/PreviousSeqNo and then carries on normally (I-068)
    buyer2, ack = await v.logon("BUY")
    assert (ack.NextSeqNo, ack.PreviousUUID, ack.PreviousSeqNo) == (1, 0, 1)
    got = await buyer2.next_business()
    assert (got.uuid, got.seq_no, got.possible_retransmission) == (0, 1, True)
    assert isinstance(got.message, m.ExecutionReportTradeOutright525)
    assert got.message.ClOrdID == "GTC1"
    assert not buyer2.machine.retransmission_in_flight
    assert buyer2.send(nos(m.SideReq.Buy, "NEXT")) == 1
    nxt = await buyer2.next_business()
    assert (nxt.uuid, nxt.seq_no, nxt.possible_retransmission) == (buyer2.uuid, 1, False)
    await buyer2.terminate()
    await seller.terminate()


async def test_I073_I074_I075_gtc_fill_while_away_mid_week_goes_to_the_last_uuid(
    engine_venue: EngineVenue, tmp_path: Path
) -> None:
    v = engine_venue
    start = next_week(v.gw)
    travel(v.clock, start + DAY)  # Monday
    store = FileSessionStore(tmp_path / "buy-84.json")
    buyer, _ = await v.logon("BUY", store=store)
    buyer.send(nos(m.SideReq.Buy, "GTC1", m.TimeInForce.GoodTillCancel))
    await buyer.next_business()
    await buyer.terminate()
    assert store.load() == SessionState(buyer.uuid, 2, 2)  # last known inbound number: 1
    travel(v.clock, start + 2 * DAY)  # the next trading day
    assert [o.terms.echo.cl_ord_id for o in v.engine.working_orders()] == ["GTC1"]  # I-073
    seller, _ = await v.logon("SEL")
    seller.send(nos(m.SideReq.Sell, "S1"))
    for _ in range(2):
        await seller.next_business()
    buyer2, ack = await v.logon("BUY", store=store, uuid=buyer.uuid + 1)  # a new UUID
    # I-074, I-075: sequenced under the last known UUID, PreviousSeqNo = last known + 1
    assert (ack.PreviousUUID, ack.PreviousSeqNo, ack.NextSeqNo) == (buyer.uuid, 2, 1)
    got = await buyer2.next_business()
    assert (got.uuid, got.seq_no, got.possible_retransmission) == (buyer.uuid, 2, True)
    assert isinstance(got.message, m.ExecutionReportTradeOutright525)
    assert got.message.ClOrdID == "GTC1"
    await buyer2.terminate()
    await seller.terminate()


# ============================================================================== client library


async def test_I005_I009_the_client_uuid_is_the_current_time_in_microseconds(
    venue: Venue,
) -> None:
    fixed = ILink3Client(
        secret_key=SECRET, access_key_id=KEY_ID, session="ABC", firm="007",
        clock=lambda: 1_763_900_000_123_456_789,
    )  # fmt: skip
    assert fixed.uuid == 1_763_900_000_123_456
    before = time.time_ns() // 1000
    c = venue.client()
    assert before <= c.uuid <= time.time_ns() // 1000 + 1
    later = venue.client(clock=lambda: venue.clock() + 1_000_000)
    assert later.uuid > c.uuid  # a later session gets a larger UUID: no duplicates in a week
    await c.connect(venue.host, venue.port)
    await c.logon()  # and the venue takes it
    assert c.machine.state is State.ESTABLISHED
    await c.terminate()


async def test_I013_I209_a_new_uuid_starts_both_client_numbers_at_1(
    venue: Venue, tmp_path: Path
) -> None:
    store = FileSessionStore(tmp_path / "abc-84.json")
    store.save(SessionState(uuid_now(venue.clock) - 10, 5, 7))  # an earlier session's numbers
    c = venue.client(store=store, uuid=uuid_now(venue.clock))
    await c.connect(venue.host, venue.port)
    ack = (await c.logon()).ack
    assert ack.NextSeqNo == 1
    assert (c.machine.next_out, c.machine.next_in) == (1, 1)
    assert store.load() == SessionState(c.uuid, 1, 1)
    assert gateway_machine(venue.gateway).machine.next_in == 1  # the Establish said 1
    assert c.send(order("O1")) == 1
    assert (await c.next_business()).seq_no == 1
    await c.terminate()


async def test_I025_I060_I209_the_client_starts_a_new_week_with_a_new_uuid_at_1(
    venue: Venue, tmp_path: Path
) -> None:
    start = next_week(venue.gateway)
    travel(venue.clock, start + 3 * DAY)
    store = FileSessionStore(tmp_path / "abc-84.json")
    c = await logon(venue, store=store)
    c.send(order("O1"))
    await c.next_business()
    await c.terminate()
    assert store.load() == SessionState(c.uuid, 2, 2)
    travel(venue.clock, start + 7 * DAY + DAY // 10)  # Sunday evening, after the start-up
    again = venue.client(store=store)
    await again.connect(venue.host, venue.port)
    ack = (await again.logon()).ack  # the stored UUID is unknown this week: a fresh one
    assert again.uuid > c.uuid and (ack.UUID, ack.NextSeqNo) == (again.uuid, 1)
    assert store.load() == SessionState(again.uuid, 1, 1)
    await again.terminate()


async def test_I062_after_terminate_for_no_reset_the_client_retries_at_1(venue: Venue) -> None:
    travel(venue.clock, next_week(venue.gateway) + DAY // 10)  # the week's first logon
    c = venue.client()
    await c.connect(venue.host, venue.port)
    with pytest.raises(SessionTerminated) as info:
        await c.logon(next_seq_no=7)  # did not reset its outbound number
    assert info.value.event.code == 10
    await c.connect(venue.host, venue.port)  # reconnect and retry with the reset numbers
    ack = (await c.logon()).ack
    assert (ack.UUID, ack.NextSeqNo) == (c.uuid, 1) and c.machine.next_out == 1
    await c.terminate()


async def test_I019_I021_I233_a_client_out_of_sync_recovers_with_a_new_uuid(
    venue: Venue, tmp_path: Path
) -> None:
    store = FileSessionStore(tmp_path / "abc-84.json")
    c = await logon(venue, store=store)
    c.send_many([order(f"O{i}") for i in range(3)])
    for _ in range(3):
        await c.next_business()
    c.close()  # the application fails and loses its numbers
    await until(lambda: venue.gateway.book.sessions[OWNER].primary is None)
    store.save(SessionState(c.uuid, 1, 1))
    broken = venue.client(store=store)
    await broken.connect(venue.host, venue.port)
    with pytest.raises(SessionTerminated) as info:
        await broken.logon()  # the library does not renegotiate by itself (I-021)
    assert info.value.event.code == 10
    # the customer resets the UUID on the same day to resynchronise (I-019, I-233)
    fresh = venue.client(store=store, uuid=c.uuid + 1)
    await fresh.connect(venue.host, venue.port)
    ack = (await fresh.logon()).ack
    assert (ack.NextSeqNo, ack.PreviousUUID, ack.PreviousSeqNo) == (1, c.uuid, 3)
    got = [await fresh.next_business() for _ in range(3)]  # what the old stream had sent
    assert [(g.uuid, g.seq_no) for g in got] == [(c.uuid, 1), (c.uuid, 2), (c.uuid, 3)]
    assert fresh.send(order("N1")) == 1
    assert (await fresh.next_business()).seq_no == 1
    await fresh.terminate()


async def test_I078_the_client_re_binds_the_same_uuid_by_default(
    venue: Venue, tmp_path: Path
) -> None:
    c = await logon(venue, store=FileSessionStore(tmp_path / "abc-84.json"))
    c.send(order("O1"))
    await c.next_business()
    c.close()
    await until(lambda: venue.gateway.book.sessions[OWNER].primary is None)
    again = venue.client(store=FileSessionStore(tmp_path / "abc-84.json"))
    await again.connect(venue.host, venue.port)
    ack = (await again.logon()).ack
    # a re-bind, not a Negotiate: same UUID, the numbers continue, the stream is contiguous
    assert (ack.UUID, ack.NextSeqNo, ack.PreviousUUID, ack.PreviousSeqNo) == (c.uuid, 2, c.uuid, 1)
    assert again.send(order("O2")) == 2
    assert (await again.next_business()).seq_no == 2
    await again.terminate()


async def test_I215_I222_one_process_resets_one_session_without_disturbing_another(
    venue: Venue, tmp_path: Path
) -> None:
    venue.keys.add(AccessKey("AKIDDEFDEFDEFDEFDEF8", OTHER_SECRET, "DEF", "008"))
    other = dict(
        session="DEF", firm="008", access_key_id="AKIDDEFDEFDEFDEFDEF8", secret_key=OTHER_SECRET
    )
    abc_store = FileSessionStore(tmp_path / "abc-84.json")
    def_store = FileSessionStore(tmp_path / "def-84.json")
    abc = await logon(venue, store=abc_store)
    dfx = await logon(venue, store=def_store, **other)
    for c in (abc, dfx):
        c.send_many([order("X1"), order("X2")])
        for _ in range(2):
            await c.next_business()
    assert abc_store.load() == SessionState(abc.uuid, 3, 3)
    assert def_store.load() == SessionState(dfx.uuid, 3, 3)
    await dfx.terminate()
    reset = await logon(venue, store=def_store, uuid=dfx.uuid + 1, recover_previous=False, **other)
    assert def_store.load() == SessionState(dfx.uuid + 1, 1, 1)
    # the other session never noticed: same connection, same UUID, its numbers go on
    assert abc.machine.state is State.ESTABLISHED
    assert abc.send(order("X3")) == 3
    got = await abc.next_business()
    assert (got.uuid, got.seq_no) == (abc.uuid, 3)
    assert abc_store.load() == SessionState(abc.uuid, 4, 4)
    assert reset.send(order("Y1")) == 1
    await reset.terminate()
    await abc.terminate()


async def test_I206_I020_I021_I181_I224_not_applied_is_gap_filled_and_reports_tell_what_was_applied(
    venue: Venue,
) -> None:
    c = await logon(venue)
    c.send(order("O1"))
    await c.next_business()
    c.machine.send_business(order("O2"), c.clock())
    c.machine.data_to_send()  # lost on the way
    c.send(order("O3"))
    na = await c._wait_for(ev.NotAppliedReceived)
    assert isinstance(na, ev.NotAppliedReceived)
    assert (na.message.FromSeqNo, na.message.MsgCount) == (2, 2)
    assert c.send(order("O4")) == 4  # the library skipped the gap with a Sequence (I-224)
    got = await c.next_business()
    # the recoverable stream says what was accepted: O1 and O4, not O2/O3 (I-206)
    assert got.message.ClOrdID == "O4" and got.seq_no == 2  # type: ignore[attr-defined]
    assert seen(venue) == ["O1", "O4"]
    # no new UUID, no termination: the same FIXP session goes on (I-020, I-021, I-181)
    assert c.machine.state is State.ESTABLISHED and c.machine.uuid == c.uuid
    assert venue.gateway.book.sessions[OWNER].last_uuid == c.uuid
    await c.terminate()


async def test_I288_the_client_closes_its_tcp_connection_when_its_session_fails(
    venue: Venue,
) -> None:
    c = await logon(venue)
    proto = gateway_machine(venue.gateway)
    assert c.protocol is not None and c.protocol.transport is not None
    c.protocol.transport.pause_reading()  # the gateway seems to fall silent
    venue.clock.offset += 70 * SECOND
    c.protocol._fire()
    assert c.machine.closed and c.machine.terminated is not None
    assert c.machine.terminated.code == 20
    await asyncio.wait_for(c.protocol.closed.wait(), 5)  # the socket is closed, not left open
    await until(lambda: proto.machine.closed)
    got = proto.machine.terminated
    assert got is not None and (got.code, got.by_peer) == (20, True)


# ============================================================================== fault tolerance


async def _group(p: Pair, **kw: Any) -> tuple[ILink3Client, ILink3Client]:
    """A fault-tolerant customer: primary process on the primary, backup on the backup."""
    prim = await p.connect(p.primary, p.client(**kw))
    await prim.logon()
    back = await p.connect(p.backup, p.client(backup=True, uuid=prim.uuid, **kw))
    await back.logon(negotiate=False, next_seq_no=0)
    return prim, back


async def _silence(gw: MarketSegmentGateway, c: ILink3Client, clock: Clock) -> Any:
    """The customer process ``c`` hangs: it reads nothing and answers nothing; the gateway's
    keep-alive timer runs on the venue clock."""
    (proto,) = [p for p in gw.connections]
    assert c.protocol is not None and c.protocol.transport is not None
    c.protocol.transport.pause_reading()
    for _ in range(8):
        clock.offset += 10 * SECOND
        proto._fire()
        if proto.machine.closed:
            break
    c.protocol.transport.resume_reading()
    return proto


async def test_I155_I281_I283_primary_gateway_failure_sends_the_failover_sequence(
    pair: Pair,
) -> None:
    prim = await pair.connect(pair.primary, pair.client())
    await prim.logon()
    prim.send_many([order("A1"), order("A2")])
    for _ in range(2):
        await prim.next_business()
    assert pair.backup.address is not None
    w, ack = await raw_logon(
        pair.backup.address, pair.clock, prim.uuid, next_seq_no=0, negotiated=False
    )
    assert (ack.NextSeqNo, ack.FaultToleranceIndicator) == (0, m.FTI.Backup)
    await pair.primary.fail()  # category 3: the primary gateway fails (I-281)
    seq = await w.recv()  # the controlled fail-over (I-283) is announced by a Sequence (I-155)
    assert isinstance(seq, m.Sequence506)
    assert (seq.UUID, seq.NextSeqNo, seq.FaultToleranceIndicator) == (prim.uuid, 3, m.FTI.Primary)
    w.send(numbered(order("A3"), 3))  # the backup process now trades where the primary stopped
    rep = await w.recv()
    assert (rep.SeqNum, rep.UUID, rep.ClOrdID) == (3, prim.uuid, "A3")
    w.close()


async def test_I264_I266_I294_the_fault_tolerant_group_shares_one_uuid_and_its_numbers(
    pair: Pair, tmp_path: Path
) -> None:
    shared = tmp_path / "group.json"
    prim = await pair.connect(pair.primary, pair.client(store=FileSessionStore(shared)))
    await prim.logon()
    prim.send_many([order("A1"), order("A2")])
    for _ in range(2):
        await prim.next_business()
    back = pair.client(backup=True, store=FileSessionStore(shared))
    assert back.uuid == prim.uuid  # I-294: the same UUID, from the group's state
    await pair.connect(pair.backup, back)
    ack = (await back.logon()).ack
    assert (ack.UUID, ack.NextSeqNo) == (prim.uuid, 0)
    # I-264: two processes, each with its own TCP stream, one per gateway
    assert len(pair.primary.connections) == 1 and len(pair.backup.connections) == 1
    assert prim.protocol is not back.protocol
    prim.close()  # the primary process dies
    assert (await terminated(back)).code == 26
    assert pair.primary.address is not None
    ack = (await back.take_over(*pair.primary.address)).ack
    # I-266: it carries on from the failed primary's state
    assert (ack.UUID, ack.NextSeqNo) == (prim.uuid, 3)
    assert (back.machine.next_out, back.machine.next_in) == (3, 3)
    assert back.send(order("A3")) == 3
    assert (await back.next_business()).seq_no == 3
    back.close()


async def test_I277_a_customer_without_fault_tolerance_uses_the_primary_only(pair: Pair) -> None:
    c = await pair.connect(pair.primary, pair.client())
    await c.logon()
    c.send(order("P1"))
    got = await c.next_business()
    assert (got.seq_no, got.message.ClOrdID) == (1, "P1")  # type: ignore[attr-defined]
    assert pair.backup.connections == set()
    term = await c.terminate()
    assert term.code == 0 and pair.handler.disconnects == [(OWNER, True)]


async def test_I279_I284_a_silent_primary_process_is_failed_with_its_backup(pair: Pair) -> None:
    prim, back = await _group(pair)
    proto = await _silence(pair.primary, prim, pair.clock)
    assert proto.machine.closed
    assert (await terminated(prim)).code == 20  # AI-29
    assert (await terminated(back)).code == 26


async def test_I280_I292_a_silent_backup_process_goes_alone(pair: Pair) -> None:
    prim, back = await _group(pair)
    proto = await _silence(pair.backup, back, pair.clock)
    assert proto.machine.closed
    assert (await terminated(back)).code == 20
    pair.clock.offset = 0
    assert prim.machine.state is State.ESTABLISHED
    prim.send(order("P1"))
    assert isinstance((await prim.next_business()).message, m.ExecutionReportNew522)
    prim.close()


async def test_I282_I299_backup_gateway_failure_leaves_the_primary_intact(pair: Pair) -> None:
    prim, back = await _group(pair)
    await pair.backup.fail()  # category 4
    with pytest.raises(SessionTerminated):
        await back._wait_for(ev.BusinessMessage, timeout=5)
    prim.send(order("P1"))
    assert (await prim.next_business()).seq_no == 1
    await pair.backup.restore()  # market operations bring it back
    again = await pair.connect(pair.backup, pair.client(backup=True, uuid=prim.uuid))
    ack = (await again.logon(negotiate=False, next_seq_no=0)).ack
    assert (ack.UUID, ack.NextSeqNo, ack.FaultToleranceIndicator) == (prim.uuid, 0, m.FTI.Backup)
    prim.send(order("P2"))
    assert (await prim.next_business()).seq_no == 2
    prim.close()
    again.close()


async def test_I290_new_primary_sequence_lower_for_the_same_uuid_is_terminated(
    pair: Pair,
) -> None:
    prim, back = await _group(pair)
    prim.send_many([order(f"A{i}") for i in range(3)])
    for _ in range(3):
        await prim.next_business()
    await pair.primary.fail()
    await back._wait_for(ev.PromotedToPrimary)
    back.machine.next_out = 4  # where the failed primary left off: accepted
    back.machine.send_sequence(pair.clock())
    back._flush()
    assert back.send(order("A4")) == 4
    got = [await back.next_business() for _ in range(4)]  # 1..3 recovered, then the report
    assert [(g.seq_no, g.possible_retransmission) for g in got] == [
        (1, True),
        (2, True),
        (3, True),
        (4, False),
    ]
    back.machine.next_out = 2  # lower than what the venue expects (5) for this UUID
    back.machine.send_sequence(pair.clock())
    back._flush()
    term = await terminated(back)
    assert (term.code, term.by_peer) == (10, True)


async def test_I291_AI09_after_failover_another_uuid_needs_negotiation_and_gets_not_applied(
    pair: Pair,
) -> None:
    prim, back = await _group(pair)
    prim.send_many([order(f"A{i}") for i in range(3)])
    for _ in range(3):
        await prim.next_business()
    await pair.primary.fail()
    await back._wait_for(ev.PromotedToPrimary)
    replays = [await back.next_business() for _ in range(3)]  # it recovers 1..3 first
    assert [r.seq_no for r in replays] == [1, 2, 3]
    # AI-09: a Sequence for a different UUID on the bound connection is refused
    back.machine.uuid = prim.uuid + 1
    back.machine.send_sequence(pair.clock())
    back._flush()
    term = await terminated(back)
    assert (term.code, term.by_peer) == (13, True)
    await until(lambda: pair.backup.book.sessions[OWNER].primary is None)
    # a new primary with a new UUID: Negotiate + Establish; NextSeqNo 3 (lower than the old
    # UUID's 4) is accepted and the perceived gap is reported with NotApplied
    fresh = await pair.connect(pair.backup, pair.client(uuid=prim.uuid + 2))
    ack = (await fresh.logon(next_seq_no=3, recover_previous=False)).ack
    assert (ack.UUID, ack.NextSeqNo) == (prim.uuid + 2, 1)
    na = await fresh._wait_for(ev.NotAppliedReceived)
    assert isinstance(na, ev.NotAppliedReceived)
    assert (na.message.FromSeqNo, na.message.MsgCount) == (1, 3)
    assert fresh.send(order("N1")) == 3
    assert (await fresh.next_business()).seq_no == 1
    await fresh.terminate()
    # and NextSeqNo 1 on a new UUID is simply accepted
    one = await pair.connect(pair.backup, pair.client(uuid=prim.uuid + 3))
    ack = (await one.logon(recover_previous=False)).ack
    assert ack.NextSeqNo == 1 and one.machine.next_out == 1
    assert one.send(order("M1")) == 1
    assert (await one.next_business()).seq_no == 1
    await one.terminate()


async def test_I293_AI08_a_backup_under_a_different_uuid_is_refused(pair: Pair) -> None:
    prim = await pair.connect(pair.primary, pair.client())
    await prim.logon()
    assert pair.backup.address is not None
    w = await Wire.open(pair.backup.address)
    w.send(negotiate(pair.clock, prim.uuid + 1))  # Negotiate on the backup: not allowed
    rej = await w.recv()
    assert isinstance(rej, m.NegotiationReject502) and rej.ErrorCodes == 28
    w.send(establish(pair.clock, prim.uuid + 1, 0))  # a different UUID than the primary's
    rej = await w.recv()
    assert isinstance(rej, m.EstablishmentReject505) and rej.ErrorCodes == 2
    w.send(establish(pair.clock, prim.uuid, 0))  # the primary's UUID: the supported path
    ack = await w.recv()
    assert isinstance(ack, m.EstablishmentAck504) and ack.FaultToleranceIndicator is m.FTI.Backup
    w.close()
    prim.close()


async def test_I090_a_session_assigned_to_other_segments_is_refused_here(
    venue: Venue, segments: tuple[MarketSegmentGateway, MarketSegmentGateway]
) -> None:
    seg84, seg85 = segments
    venue.keys.add(
        AccessKey("AKIDONLY84ONLY84ONLY", OTHER_SECRET, "ONE", "008", segments=frozenset({84}))
    )
    kw: dict[str, Any] = dict(session="ONE", firm="008", access_key_id="AKIDONLY84ONLY84ONLY",
                              secret_key=OTHER_SECRET)  # fmt: skip
    wrong = venue.client(**kw)
    assert seg85.address is not None
    await wrong.connect(*seg85.address)
    with pytest.raises(LogonRejected) as info:
        await wrong.logon()
    assert isinstance(info.value.message, m.NegotiationReject502)
    assert info.value.message.ErrorCodes == 10
    wrong.close()
    right = await _client_on(venue, seg84, **kw)  # its own segment's gateway accepts it
    assert right.machine.state is State.ESTABLISHED
    await right.terminate()
