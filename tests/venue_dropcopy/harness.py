"""A whole venue on loopback TCP for Drop Copy tests: iLink 3 gateways on two market segments with
matching engines and activity logs, the CGW Drop Copy gateway pair and one MSGW Drop Copy
gateway per segment, and a thin Drop Copy test client (the FIX 4.2 machine on the pump)."""

from __future__ import annotations

import asyncio
import base64
import datetime
import time
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from dropcopy.aio.ilink3 import ILink3Client
from dropcopy.aio.pump import MachineProtocol
from dropcopy.fix.codec import Message
from dropcopy.fix.encapsulation import decode_encapsulated
from dropcopy.fix42 import events as ev
from dropcopy.fix42.session import Fix42Session, SessionConfig
from dropcopy.ilink3 import messages as m
from dropcopy.journal import Journal
from dropcopy.journal.memory import MemoryJournal
from dropcopy.store.models import MessageTypes, SessionType
from dropcopy.venue.activity import ActivityLog
from dropcopy.venue.dropcopy import (
    DropCopyBook,
    DropCopyGateway,
    MemoryDropCopyKeys,
    MemoryTargetDirectory,
    SimpleKey,
    Target,
    instrument_lookup,
    pair,
)
from dropcopy.venue.orderentry.engine_handler import EngineOrderHandler
from dropcopy.venue.orderentry.gateway import AccessKey, MarketSegmentGateway, MemoryKeyDirectory
from dropcopy.venue.orderentry.instruments import DEFAULT_INSTRUMENTS
from dropcopy.venue.orderentry.matching import MatchingEngine

SECOND = 10**9
HOUR = 3600 * SECOND
CHICAGO = ZoneInfo("America/Chicago")
SECRET = base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode()
OTHER_SECRET = base64.urlsafe_b64encode(bytes(range(1, 33))).rstrip(b"=").decode()
SEGMENTS = (84, 80)
#: one instrument per segment (ZN, ES) and a price inside its band
SECURITY = {84: 204527, 80: 5602}
PRICE = {84: "139.203125", 80: "3801.25"}
BUYER = ("BUY", "001")
SELLER = ("SEL", "002")
OUTSIDER = ("OUT", "003")  # a source no target copies


def dc_key(session_id: str) -> str:
    return (session_id + "K" * 20)[:20]


#: target session -> (type, filter, sources)
TARGETS: dict[str, tuple[SessionType, MessageTypes, frozenset[tuple[str, str]]]] = {
    "CGWALL": (SessionType.CGW, MessageTypes.ALL, frozenset({BUYER, SELLER})),
    "CGWTWO": (SessionType.CGW, MessageTypes.ALL, frozenset({BUYER})),
    "CGWFIL": (SessionType.CGW, MessageTypes.TRADE_EXECUTION_REPORTS, frozenset({BUYER, SELLER})),
    "CGWACK": (
        SessionType.CGW,
        MessageTypes.ORDER_ENTRY_ACKNOWLEDGMENTS,
        frozenset({BUYER, SELLER}),
    ),
    "MSGALL": (SessionType.MSGW, MessageTypes.ALL, frozenset({BUYER, SELLER})),
}


class Clock:
    """Real time plus an offset tests can move."""

    def __init__(self, offset: int = 0) -> None:
        self.offset = offset

    @classmethod
    def at(cls, moment: str) -> Clock:
        """A clock that reads ``moment`` (ISO, Chicago time) now and runs on from there."""
        local = datetime.datetime.fromisoformat(moment).replace(tzinfo=CHICAGO)
        return cls(int(local.timestamp()) * SECOND - time.time_ns())

    def advance(self, seconds: float) -> None:
        self.offset += int(seconds * SECOND)

    def __call__(self) -> int:
        return time.time_ns() + self.offset


def nos(
    side: m.SideReq, qty: int, price: str, clordid: str, security_id: int = SECURITY[84]
) -> m.NewOrderSingle514:
    return m.NewOrderSingle514(
        Price=price, OrderQty=qty, SecurityID=security_id, Side=side, SeqNum=0, SenderID="TRADER1",
        ClOrdID=clordid, PartyDetailsListReqID=1, OrderRequestID=1, SendingTimeEpoch=0,
        Location="US,IL", OrdType=m.OrderTypeReq.Limit, ManualOrderIndicator=m.ManualOrdIndReq.Automated,
        TimeInForce=m.TimeInForce.Day,
    )  # fmt: skip


class DcClient:
    """A Drop Copy consumer for tests: the initiator machine on the pump, events in a queue."""

    def __init__(self, session_id: str, *, sub_id: str = "G", secret: str = SECRET,
                 key_id: str | None = None, next_out: int = 1, next_in: int = 1,
                 clock: Clock | None = None, heart_bt_int: int = 30) -> None:  # fmt: skip
        self.clock = clock or Clock()
        cfg = SessionConfig.initiator(
            sender_comp_id=session_id + "N",
            sender_sub_id="OPS",
            access_key_id=key_id or dc_key(session_id),
            secret_key=secret,
            target_sub_id=sub_id,
            heart_bt_int=heart_bt_int,
        )
        self.machine = Fix42Session(cfg, self.clock(), next_out=next_out, next_in=next_in)
        self.events: asyncio.Queue[Any] = asyncio.Queue()
        self.all: list[Any] = []
        self.protocol: MachineProtocol | None = None

    def _on(self, _proto: MachineProtocol, events: list[Any]) -> None:
        for e in events:
            self.all.append(e)
            self.events.put_nowait(e)

    async def connect(self, address: tuple[str, int]) -> None:
        loop = asyncio.get_running_loop()
        self.machine.logon(self.clock())
        _, proto = await loop.create_connection(
            lambda: MachineProtocol(self.machine, self._on, clock=self.clock), *address
        )
        self.protocol = proto

    async def wait(self, *kinds: type[Any], timeout: float = 5.0) -> Any:
        async def get() -> Any:
            while True:
                e = await self.events.get()
                if isinstance(e, kinds):
                    return e

        return await asyncio.wait_for(get(), timeout)

    async def logged_on(self) -> ev.LoggedOn:
        e = await self.wait(ev.LoggedOn, ev.Closed)
        assert isinstance(e, ev.LoggedOn), e
        return e

    async def closed(self) -> ev.Closed:
        e = await self.wait(ev.Closed)
        assert isinstance(e, ev.Closed)
        return e

    async def copies(self, n: int, timeout: float = 5.0) -> list[ev.BusinessMessage]:
        out = []
        for _ in range(n):
            e = await self.wait(ev.BusinessMessage, ev.Closed, timeout=timeout)
            assert isinstance(e, ev.BusinessMessage), e
            out.append(e)
        return out

    async def logout(self) -> None:
        self.machine.logout(self.clock(), "bye")
        if self.protocol is not None:
            self.protocol.flush()
        await self.closed()

    def close(self) -> None:
        if self.protocol is not None:
            self.protocol.close()


def inner(e: ev.BusinessMessage) -> Message:
    return decode_encapsulated(e.message)


def inner_summary(e: ev.BusinessMessage) -> tuple[str, str, str, str]:
    """(inner 35, inner 56 source, inner 50 segment, 11 ClOrdID)."""
    i = inner(e)
    return (
        i.msg_type or "",
        (i.get(56) or b"").decode(),
        (i.get(50) or b"").decode(),
        (i.get(11) or b"").decode(),
    )


class DcVenue:
    """iLink 3 on two segments + Drop Copy CGW (primary, backup) and MSGW per segment."""

    def __init__(
        self,
        journal: Journal | None = None,
        *,
        clock: Clock | None = None,
        targets: Iterable[Target] | None = None,
        in_flight_window: int = SECOND,
    ) -> None:
        self.clock = clock or Clock()
        self.journal = journal or MemoryJournal()
        self.ilink_keys = MemoryKeyDirectory()
        for session, firm in (BUYER, SELLER, OUTSIDER):
            self.ilink_keys.add(AccessKey(self.ilink_key(session), SECRET, session, firm))
        self.logs = {seg: ActivityLog(self.journal, seg) for seg in SEGMENTS}
        self.engines = {seg: MatchingEngine() for seg in SEGMENTS}
        self.ilink = {
            seg: MarketSegmentGateway(
                seg,
                keys=self.ilink_keys,
                journal=self.journal,
                handler=EngineOrderHandler(self.engines[seg]),
                clock=self.clock,
                activity=self.logs[seg],
            )
            for seg in SEGMENTS
        }
        if targets is None:
            targets = [Target(sid, t, f, s) for sid, (t, f, s) in TARGETS.items()]
        self.targets = MemoryTargetDirectory(targets)
        self.dc_keys = MemoryDropCopyKeys(
            {dc_key(t.session_id): SimpleKey(dc_key(t.session_id), SECRET, t.session_id)
             for t in self.targets.all(0)}
        )  # fmt: skip
        ref = instrument_lookup(DEFAULT_INSTRUMENTS)
        self.cgw_book = DropCopyBook(
            "G",
            self.journal,
            self.targets,
            clock=self.clock,
            in_flight_window=in_flight_window,
            instruments=ref,
        )
        self.cgw = DropCopyGateway(self.cgw_book, self.dc_keys, clock=self.clock)
        self.cgw_backup = DropCopyGateway(
            self.cgw_book, self.dc_keys, clock=self.clock, backup=True
        )
        pair(self.cgw, self.cgw_backup)
        self.msgw_books = {
            seg: DropCopyBook(
                str(seg), self.journal, self.targets, clock=self.clock, instruments=ref
            )
            for seg in SEGMENTS
        }
        all_segments = frozenset(str(s) for s in SEGMENTS)
        self.msgw = {
            seg: DropCopyGateway(book, self.dc_keys, clock=self.clock, market_segments=all_segments)
            for seg, book in self.msgw_books.items()
        }
        self.msgw_backup = {
            seg: DropCopyGateway(
                book, self.dc_keys, clock=self.clock, market_segments=all_segments, backup=True
            )
            for seg, book in self.msgw_books.items()
        }
        for seg in SEGMENTS:
            pair(self.msgw[seg], self.msgw_backup[seg])
        self.addresses: dict[str, tuple[str, int]] = {}
        self.traders: list[ILink3Client] = []

    @staticmethod
    def ilink_key(session: str) -> str:
        return (session + "I" * 20)[:20]

    async def start(self, *, attach: bool = True) -> DcVenue:
        for seg, gw in self.ilink.items():
            self.addresses[f"ilink{seg}"] = await gw.start()
        if attach:
            self.attach()
        self.addresses["cgw"] = await self.cgw.start()
        self.addresses["cgw-backup"] = await self.cgw_backup.start()
        for seg, gw in self.msgw.items():
            self.addresses[f"msgw{seg}"] = await gw.start()
            self.addresses[f"msgw{seg}-backup"] = await self.msgw_backup[seg].start()
        return self

    def attach(self) -> None:
        """The Drop Copy books start copying (catching up on activity they have not routed)."""
        now = self.clock()
        for seg in SEGMENTS:
            self.cgw_book.attach(self.logs[seg], now)
            self.msgw_books[seg].attach(self.logs[seg], now)

    async def stop(self) -> None:
        for t in self.traders:
            t.close()
        for gw in [self.cgw, self.cgw_backup, *self.msgw.values(), *self.msgw_backup.values()]:
            await gw.stop()
        for igw in self.ilink.values():
            await igw.stop()
        for book in [self.cgw_book, *self.msgw_books.values()]:
            book.close()

    async def trader(self, owner: tuple[str, str], segment: int = 84) -> ILink3Client:
        c = ILink3Client(
            secret_key=SECRET,
            access_key_id=self.ilink_key(owner[0]),
            session=owner[0],
            firm=owner[1],
            clock=self.clock,
        )
        await c.connect(*self.addresses[f"ilink{segment}"])
        await c.logon()
        self.traders.append(c)
        return c

    async def cross(self, segment: int = 84, qty: int = 1, tag: str = "1") -> None:
        """The buyer rests an order, the seller crosses it: 2 acks and 2 fills (4 activities)."""
        buyer = await self.trader(BUYER, segment)
        seller = await self.trader(SELLER, segment)
        sec, price = SECURITY[segment], PRICE[segment]
        buyer.send(nos(m.SideReq.Buy, qty, price, f"B{tag}", sec))
        await buyer.next_business()
        seller.send(nos(m.SideReq.Sell, qty, price, f"S{tag}", sec))
        await seller.next_business()
        await seller.next_business()
        await buyer.next_business()
        await buyer.terminate()
        await seller.terminate()

    async def dc(self, session_id: str, where: str = "cgw", **kw: Any) -> DcClient:
        sub = "G" if where.startswith("cgw") else where.removeprefix("msgw").split("-")[0]
        c = DcClient(session_id, sub_id=kw.pop("sub_id", sub), clock=self.clock, **kw)
        await c.connect(self.addresses[where])
        return c
