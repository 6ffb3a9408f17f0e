"""Two customers trade through the gateway and the matching engine over TCP (issue 3, seed 004)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from dropcopy.aio.ilink3 import ILink3Client
from dropcopy.ilink3 import messages as m
from dropcopy.ilink3.codec import decode_message
from dropcopy.journal.memory import MemoryJournal
from dropcopy.venue.activity import ActivityLog
from dropcopy.venue.orderentry.engine_handler import EngineOrderHandler
from dropcopy.venue.orderentry.gateway import AccessKey, MarketSegmentGateway, MemoryKeyDirectory
from dropcopy.venue.orderentry.matching import MatchingEngine

from .test_loopback import Clock

SECRET = base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode()


def nos(
    side: m.SideReq, qty: int, price: str, clordid: str, tif: m.TimeInForce = m.TimeInForce.Day
) -> m.NewOrderSingle514:
    return m.NewOrderSingle514(
        Price=price, OrderQty=qty, SecurityID=204527, Side=side, SeqNum=0, SenderID="TRADER1", ClOrdID=clordid,
        PartyDetailsListReqID=1, OrderRequestID=1, SendingTimeEpoch=0, Location="US,IL", OrdType=m.OrderTypeReq.Limit,
        ManualOrderIndicator=m.ManualOrdIndReq.Automated, TimeInForce=tif,
    )  # fmt: skip


class Venue:
    def __init__(self) -> None:
        self.clock = Clock()
        self.keys = MemoryKeyDirectory()
        self.keys.add(AccessKey("BUYERKEY000000000001", SECRET, "BUY", "001"))
        self.keys.add(AccessKey("SELLERKEY00000000001", SECRET, "SEL", "002"))
        self.engine = MatchingEngine()
        self.gw = MarketSegmentGateway(
            84,
            keys=self.keys,
            journal=MemoryJournal(),
            handler=EngineOrderHandler(self.engine),
            clock=self.clock,
        )

    async def client(self, session: str, firm: str, key: str) -> ILink3Client:
        c = ILink3Client(
            secret_key=SECRET, access_key_id=key, session=session, firm=firm, clock=self.clock
        )
        await c.connect(self.host, self.port)
        await c.logon()
        return c


@pytest.fixture
async def venue() -> AsyncIterator[Venue]:
    v = Venue()
    v.host, v.port = await v.gw.start()  # type: ignore[attr-defined]
    yield v
    await v.gw.stop()


async def test_a_cross_fills_both_sides_each_on_its_own_session(venue: Venue) -> None:
    buyer = await venue.client("BUY", "001", "BUYERKEY000000000001")
    seller = await venue.client("SEL", "002", "SELLERKEY00000000001")
    buyer.send(nos(m.SideReq.Buy, 5, "110.5", "B1"))
    ack = (await buyer.next_business()).message
    assert isinstance(ack, m.ExecutionReportNew522) and ack.ClOrdID == "B1"
    seller.send(nos(m.SideReq.Sell, 3, "110.5", "S1"))
    s_ack = (await seller.next_business()).message
    s_fill = (await seller.next_business()).message
    b_fill = (await buyer.next_business()).message
    assert isinstance(s_ack, m.ExecutionReportNew522)
    assert isinstance(s_fill, m.ExecutionReportTradeOutright525) and isinstance(
        b_fill, m.ExecutionReportTradeOutright525
    )
    assert (s_fill.LastQty, s_fill.LastPx, s_fill.LeavesQty) == (3, Decimal("110.5"), 0)
    assert (b_fill.LastQty, b_fill.CumQty, b_fill.LeavesQty) == (3, 3, 2)
    assert (
        s_fill.AggressorIndicator is m.BooleanFlag.True_
        and b_fill.AggressorIndicator is m.BooleanFlag.False_
    )
    assert b_fill.UUID == buyer.uuid and s_fill.UUID == seller.uuid
    await buyer.terminate()
    await seller.terminate()


async def test_I247_ungraceful_disconnect_cancels_working_day_orders_but_gtc_survives(
    venue: Venue,
) -> None:
    # I-115 (recoverable cancel-on-disconnect messages), I-246/I-248 (graceful leaves orders)
    buyer = await venue.client("BUY", "001", "BUYERKEY000000000001")
    buyer.send_many(
        [
            nos(m.SideReq.Buy, 1, "100", "DAY"),
            nos(m.SideReq.Buy, 1, "100", "GTC", m.TimeInForce.GoodTillCancel),
        ]
    )
    await buyer.next_business()
    await buyer.next_business()
    buyer.close()  # a hard disconnect, no Terminate (I-254)
    await buyer.protocol.closed.wait()  # type: ignore[union-attr]
    import asyncio

    for _ in range(50):
        if len(venue.engine.working_orders()) == 1:
            break
        await asyncio.sleep(0.01)
    working = venue.engine.working_orders()
    assert len(working) == 1
    back = ILink3Client(
        secret_key=SECRET,
        access_key_id="BUYERKEY000000000001",
        session="BUY",
        firm="001",
        clock=venue.clock,
        uuid=buyer.uuid,
    )
    await back.connect(venue.host, venue.port)  # type: ignore[attr-defined]
    est = await back.logon(negotiate=False, next_seq_no=3, expected_seq_no=3)
    assert est.ack.PreviousSeqNo == 3  # the cancel was sequenced while away
    got = await back.next_business()
    assert isinstance(got.message, m.ExecutionReportCancel534) and got.message.ClOrdID == "DAY"
    assert got.possible_retransmission
    await back.terminate()


async def test_every_published_report_reaches_the_segments_activity_log_in_order() -> None:
    v = Venue()
    journal = MemoryJournal()
    v.gw.journal = journal
    v.gw.activity = log = ActivityLog(journal, 84)
    v.host, v.port = await v.gw.start()  # type: ignore[attr-defined]
    try:
        buyer = await v.client("BUY", "001", "BUYERKEY000000000001")
        seller = await v.client("SEL", "002", "SELLERKEY00000000001")
        buyer.send(nos(m.SideReq.Buy, 5, "110.5", "B1"))
        await buyer.next_business()
        seller.send(nos(m.SideReq.Sell, 3, "110.5", "S1"))
        for c, n in ((seller, 2), (buyer, 1)):
            for _ in range(n):
                await c.next_business()
        records = log.read(1)
        assert [(a.number, a.owner, a.seq_num) for a in records] == [
            (1, ("BUY", "001"), 1),  # buyer's ack
            (2, ("SEL", "002"), 1),  # seller's ack
            (3, ("SEL", "002"), 2),  # seller's fill (aggressor first)
            (4, ("BUY", "001"), 2),  # buyer's fill
        ]
        assert records[0].uuid == buyer.uuid and records[1].uuid == seller.uuid
        kinds = [type(decode_message(a.sbe)).__name__ for a in records]
        assert kinds == [
            "ExecutionReportNew522",
            "ExecutionReportNew522",
            "ExecutionReportTradeOutright525",
            "ExecutionReportTradeOutright525",
        ]
    finally:
        await v.gw.stop()
