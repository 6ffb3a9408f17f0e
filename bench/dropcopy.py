"""Drop Copy benchmark: prints, in one run,

* Drop Copy messages/s delivered end to end: orders into iLink 3 -> matching (acks and fills)
  -> activity log -> CGW Drop Copy gateway (SBE -> FIX 4.2 translation, 35=n, journal) -> a
  consumer that has received every 35=n; journals on (SQLite, one file for both wings);
* p50 / p99 latency from sending an order to receiving its 35=n copy at 5,000 orders/s;
* the time to answer a 2,500-message resend request (consumer logs on 2,500 copies behind, its
  Resend Request goes out -> the 2,500th resent copy is delivered).

The venue (iLink 3 gateway + Drop Copy gateway) runs in a child process; the trader and the
Drop Copy consumer run in this one. Run: ``.venv/bin/python bench/dropcopy.py``.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# this script is named like the package: keep its folder from shadowing ``dropcopy``
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

from dropcopy.aio.ilink3 import ILink3Client
from dropcopy.aio.pump import MachineProtocol
from dropcopy.fix.encapsulation import decode_encapsulated
from dropcopy.fix42 import events as fev
from dropcopy.fix42.session import Fix42Session, SessionConfig
from dropcopy.fixp import events as ev
from dropcopy.ilink3 import messages as m

SECRET = base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode()
KEY = "BENCHKEY000000000001"
DC_KEY = "BENCHDCKEY0000000001"
DC_SESSION = "BENCH1"
PAIRS = 10_000  # buy + crossing sell: 4 reports, so 4 copies, per pair
RATE = 5_000
LATENCY_SECONDS = 4


def order(i: int, side: m.SideReq, price: str) -> m.NewOrderSingle514:
    return m.NewOrderSingle514(
        Price=price, OrderQty=1, SecurityID=204527, Side=side, SeqNum=0, SenderID="BENCH", ClOrdID=f"C{i}",
        PartyDetailsListReqID=1, OrderRequestID=i, SendingTimeEpoch=0, Location="US,IL",
        OrdType=m.OrderTypeReq.Limit, ManualOrderIndicator=m.ManualOrdIndReq.Automated, TimeInForce=m.TimeInForce.Day,
    )  # fmt: skip


def serve_venue(port_q: mp.Queue[tuple[int, int]], journal_path: str, synchronous: str) -> None:
    from dropcopy.journal.sqlite import SqliteJournal
    from dropcopy.store.models import SessionType
    from dropcopy.venue.activity import ActivityLog
    from dropcopy.venue.dropcopy import (
        DropCopyBook,
        DropCopyGateway,
        MemoryDropCopyKeys,
        MemoryTargetDirectory,
        SimpleKey,
        Target,
        instrument_lookup,
    )
    from dropcopy.venue.orderentry.engine_handler import EngineOrderHandler
    from dropcopy.venue.orderentry.gateway import (
        AccessKey,
        MarketSegmentGateway,
        MemoryKeyDirectory,
    )
    from dropcopy.venue.orderentry.instruments import DEFAULT_INSTRUMENTS
    from dropcopy.venue.orderentry.matching import MatchingEngine

    async def main() -> None:
        keys = MemoryKeyDirectory()
        keys.add(AccessKey(KEY, SECRET, "BEN", "001"))
        journal = SqliteJournal(journal_path, synchronous=synchronous, checkpoint_interval=1.0)
        log = ActivityLog(journal, 84)
        gw = MarketSegmentGateway(
            84, keys=keys, journal=journal, handler=EngineOrderHandler(MatchingEngine()),
            clock=time.time_ns, activity=log,
        )  # fmt: skip
        targets = MemoryTargetDirectory(
            [Target(DC_SESSION, SessionType.CGW, sources=frozenset({("BEN", "001")}))]
        )
        book = DropCopyBook(
            "G", journal, targets, instruments=instrument_lookup(DEFAULT_INSTRUMENTS)
        )
        book.attach(log, time.time_ns())
        dc = DropCopyGateway(
            book, MemoryDropCopyKeys({DC_KEY: SimpleKey(DC_KEY, SECRET, DC_SESSION)})
        )
        _, port = await gw.start()
        _, dc_port = await dc.start()
        # A server freezes what start-up allocated (modules, SQLAlchemy's tables: ~90k objects)
        # out of the cyclic collector's reach: a full collection of them stops the loop for
        # ~50 ms on this machine, which is a latency tail by itself.
        gc.freeze()
        port_q.put((port, dc_port))
        await asyncio.Event().wait()

    asyncio.run(main())


class Consumer:
    """A Drop Copy consumer: the FIX 4.2 initiator on the pump, timing each 35=n's arrival."""

    def __init__(self, next_out: int = 1, next_in: int = 1) -> None:
        cfg = SessionConfig.initiator(
            sender_comp_id=DC_SESSION + "N",
            sender_sub_id="BENCH",
            access_key_id=DC_KEY,
            secret_key=SECRET,
        )
        self.machine = Fix42Session(cfg, time.time_ns(), next_out=next_out, next_in=next_in)
        self.count = 0
        self.want = 0
        self.done = asyncio.Event()
        self.logged_on = asyncio.Event()
        self.logged_on_at = 0.0
        self.arrivals: dict[bytes, int] | None = None
        self.proto: MachineProtocol | None = None

    def on_events(self, _p: MachineProtocol, events: list[Any]) -> None:
        t = time.perf_counter_ns()
        for e in events:
            if isinstance(e, fev.BusinessMessage):
                self.count += 1
                if self.arrivals is not None:
                    clordid = decode_encapsulated(e.message).get(11)
                    if clordid is not None:
                        self.arrivals[clordid] = t
                if self.count >= self.want:
                    self.done.set()
            elif isinstance(e, fev.LoggedOn):
                self.logged_on_at = time.perf_counter()
                self.logged_on.set()
            elif isinstance(e, fev.Closed) and not self.logged_on.is_set():
                raise SystemExit(f"Drop Copy logon failed: {e}")

    async def connect(self, port: int) -> None:
        self.machine.logon(time.time_ns())
        loop = asyncio.get_running_loop()
        _, self.proto = await loop.create_connection(
            lambda: MachineProtocol(self.machine, self.on_events), "127.0.0.1", port
        )
        await self.logged_on.wait()

    async def wait_for(self, n: int) -> None:
        self.want = n
        if self.count < n:
            self.done.clear()
            await self.done.wait()

    async def logout(self) -> None:
        self.machine.logout(time.time_ns(), "bench done")
        assert self.proto is not None
        self.proto.flush()
        await self.proto.closed.wait()


async def trader(port: int) -> ILink3Client:
    c = ILink3Client(secret_key=SECRET, access_key_id=KEY, session="BEN", firm="001")
    await c.connect("127.0.0.1", port)
    await c.logon()
    return c


async def drain(c: ILink3Client) -> None:
    while True:
        e = await c.events.get()
        if isinstance(e, ev.Terminated):
            return


async def throughput(port: int, dc_port: int, consumer: Consumer) -> float:
    c = await trader(port)
    drainer = asyncio.ensure_future(drain(c))
    msgs: list[m.NewOrderSingle514] = []
    for i in range(PAIRS):
        price = f"{139 + (i % 32) * 0.015625:.6f}"
        msgs += [order(2 * i, m.SideReq.Buy, price), order(2 * i + 1, m.SideReq.Sell, price)]
    copies = 4 * PAIRS
    base = consumer.count
    t0 = time.perf_counter()
    for i in range(0, len(msgs), 200):
        c.send_many(msgs[i : i + 200])
        await asyncio.sleep(0)
        while (
            c.protocol is not None
            and c.protocol.transport is not None
            and c.protocol.transport.get_write_buffer_size() > 1 << 20
        ):
            await asyncio.sleep(0.001)
    await consumer.wait_for(base + copies)
    elapsed = time.perf_counter() - t0
    await c.terminate()
    drainer.cancel()
    return copies / elapsed


async def latency(port: int, consumer: Consumer) -> tuple[float, float, int]:
    c = await trader(port)
    drainer = asyncio.ensure_future(drain(c))
    consumer.arrivals = {}
    sent: dict[bytes, int] = {}
    total = RATE * LATENCY_SECONDS
    base = consumer.count
    loop = asyncio.get_running_loop()
    start_t = loop.time()
    for i in range(total):
        await asyncio.sleep(max(0.0, start_t + i / RATE - loop.time()))
        # passive sells far from the market: one acknowledgment, one copy each
        msg = order(50_000_000 + i, m.SideReq.Sell, f"{139.5 + (i % 16) * 0.015625:.6f}")
        sent[msg.ClOrdID.encode()] = time.perf_counter_ns()
        c.send(msg)
    await consumer.wait_for(base + total)
    arrivals = consumer.arrivals
    consumer.arrivals = None
    await c.terminate()
    drainer.cancel()
    lat = [arrivals[k] - t for k, t in sent.items() if k in arrivals]
    q = statistics.quantiles(lat, n=100)
    return q[49] / 1000, q[98] / 1000, len(lat)


async def resend(dc_port: int, consumer: Consumer) -> float:
    """Log on again 2,500 copies behind: the gap's Resend Request -> the 2,500th copy delivered.

    The gap also holds CME's Logout (the last number before the new Logon ack), so the client
    is 2,501 numbers behind: its first Resend Request asks for exactly the 2,500 copies (a gap
    of 2,500 numbers would miss a copy, and an Enhanced request for it would also count the
    Logon ack: 2,501 messages, over the limit, D-058); the Logout is gap filled afterwards.
    """
    await consumer.logout()
    behind = Consumer(next_out=consumer.machine.next_out, next_in=consumer.machine.next_in - 2501)
    behind.want = 2500
    await behind.connect(dc_port)
    t0 = behind.logged_on_at  # the Resend Request goes out as the Logon ack is processed
    await behind.wait_for(2500)
    elapsed = time.perf_counter() - t0
    await behind.logout()
    return elapsed * 1000


async def run(synchronous: str, port: int, dc_port: int) -> None:
    consumer = Consumer()
    await consumer.connect(dc_port)
    rate = await throughput(port, dc_port, consumer)
    print(
        f"[journal SQLite {synchronous:6}] Drop Copy messages delivered end to end"
        f"  {rate:>10,.0f} msgs/s ({4 * PAIRS:,} copies of {2 * PAIRS:,} orders)"
    )
    p50, p99, n = await latency(port, consumer)
    print(
        f"[journal SQLite {synchronous:6}] order -> 35=n at {RATE:,} orders/s"
        f" ({n:,} orders)  p50 {p50:,.0f} µs  p99 {p99:,.0f} µs"
    )
    ms = await resend(dc_port, consumer)
    print(f"[journal SQLite {synchronous:6}] resend request of 2,500 messages  {ms:>10.1f} ms")


def main() -> int:
    gc.freeze()  # the trader and consumer too (see serve_venue)
    print(
        f"python {sys.version.split()[0]}; venue (iLink 3 + Drop Copy CGW) in a child process,"
        " trader and Drop Copy consumer here"
    )
    for synchronous in ("FULL", "NORMAL"):
        with tempfile.TemporaryDirectory() as tmp:
            q: mp.Queue[tuple[int, int]] = mp.Queue()
            p = mp.Process(
                target=serve_venue, args=(q, str(Path(tmp) / "venue.db"), synchronous), daemon=True
            )
            p.start()
            port, dc_port = q.get(timeout=30)
            try:
                asyncio.run(run(synchronous, port, dc_port))
            finally:
                p.terminate()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
