"""iLink 3 gateway benchmark: prints, in one run,

* orders/s acknowledged end to end (client -> gateway -> matching -> ExecutionReportNew522 back),
  journal on (SQLite, synchronous=FULL, group commit per read);
* round-trip p50 / p99 at a fixed 5,000 orders/s;
* the time to retransmit 2,500 messages (RetransmitRequest sent -> 2,500th replay delivered);
* as the limit: a plain asyncio loopback echo of the same frame sizes.

The gateway (or the echo server) runs in its own process, the client in this one, so each gets a
core of this 2-core machine. Run: ``.venv/bin/python bench/ilink3.py``.
"""

from __future__ import annotations

import asyncio
import base64
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path

from dropcopy.aio.ilink3 import ILink3Client
from dropcopy.fixp import events as ev
from dropcopy.ilink3 import messages as m
from dropcopy.ilink3.codec import encode

SECRET = base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode()
KEY = "BENCHKEY000000000001"
N_THROUGHPUT = 60_000
RATE = 5_000
LATENCY_SECONDS = 4


def order(i: int, side: m.SideReq = m.SideReq.Buy) -> m.NewOrderSingle514:
    # passive limit orders on distinct prices: every one is acknowledged, none trades
    price = (
        f"{100 + (i % 5000) * 0.005:.3f}"
        if side is m.SideReq.Buy
        else f"{200 + (i % 5000) * 0.005:.3f}"
    )
    return m.NewOrderSingle514(
        Price=price, OrderQty=1, SecurityID=204527, Side=side, SeqNum=0, SenderID="BENCH", ClOrdID=f"C{i}",
        PartyDetailsListReqID=1, OrderRequestID=i, SendingTimeEpoch=0, Location="US,IL",
        OrdType=m.OrderTypeReq.Limit, ManualOrderIndicator=m.ManualOrdIndReq.Automated, TimeInForce=m.TimeInForce.Day,
    )  # fmt: skip


def serve_gateway(
    port_q: mp.Queue[int], journal_path: str, synchronous: str, activity: bool = True
) -> None:
    from dropcopy.journal.sqlite import SqliteJournal
    from dropcopy.venue.activity import ActivityLog
    from dropcopy.venue.orderentry.engine_handler import EngineOrderHandler
    from dropcopy.venue.orderentry.gateway import (
        AccessKey,
        MarketSegmentGateway,
        MemoryKeyDirectory,
    )
    from dropcopy.venue.orderentry.matching import MatchingEngine

    async def main() -> None:
        keys = MemoryKeyDirectory()
        keys.add(AccessKey(KEY, SECRET, "BEN", "001"))
        journal = SqliteJournal(journal_path, synchronous=synchronous, checkpoint_interval=1.0)
        gw = MarketSegmentGateway(
            84, keys=keys, journal=journal, handler=EngineOrderHandler(MatchingEngine()),
            clock=time.time_ns, activity=ActivityLog(journal, 84) if activity else None,
        )  # fmt: skip
        _, port = await gw.start()
        port_q.put(port)
        await asyncio.Event().wait()

    asyncio.run(main())


def serve_echo(port_q: mp.Queue[int]) -> None:
    class Echo(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.t = transport

        def data_received(self, data: bytes) -> None:
            self.t.write(data)  # type: ignore[attr-defined]

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Echo, "127.0.0.1", 0)
        port_q.put(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    asyncio.run(main())


def start(target: object, *args: object) -> tuple[mp.Process, int]:
    q: mp.Queue[int] = mp.Queue()
    p = mp.Process(target=target, args=(q, *args), daemon=True)  # type: ignore[arg-type]
    p.start()
    return p, q.get(timeout=30)


async def logon(port: int) -> ILink3Client:
    c = ILink3Client(secret_key=SECRET, access_key_id=KEY, session="BEN", firm="001")
    await c.connect("127.0.0.1", port)
    await c.logon()
    return c


async def drain(c: ILink3Client, n: int) -> None:
    got = 0
    while got < n:
        e = await c.events.get()
        if isinstance(e, ev.BusinessMessage):
            got += 1


async def throughput(port: int) -> float:
    c = await logon(port)
    batch = 200
    msgs = [order(i) for i in range(N_THROUGHPUT)]
    t0 = time.perf_counter()
    waiter = asyncio.ensure_future(drain(c, N_THROUGHPUT))
    for i in range(0, N_THROUGHPUT, batch):
        c.send_many(msgs[i : i + batch])
        await asyncio.sleep(0)
        while (
            c.protocol is not None
            and c.protocol.transport is not None
            and c.protocol.transport.get_write_buffer_size() > 1 << 20
        ):
            await asyncio.sleep(0.001)
    await waiter
    elapsed = time.perf_counter() - t0
    await c.terminate()
    return N_THROUGHPUT / elapsed


async def latency(port: int) -> tuple[float, float, int]:
    c = await logon(port)
    sent_at: dict[str, int] = {}
    rtts: list[int] = []
    total = RATE * LATENCY_SECONDS
    done = asyncio.Event()
    proto = c.protocol
    assert proto is not None
    forward = proto.on_events

    def on_events(p: object, events: list[object]) -> None:
        t = time.perf_counter_ns()  # when the bytes were read, not when a coroutine gets to run
        for e in events:
            if isinstance(e, ev.BusinessMessage):
                rtts.append(t - sent_at[e.message.ClOrdID])  # type: ignore[attr-defined]
        if len(rtts) >= total:
            done.set()
        forward(p, events)  # type: ignore[arg-type]

    proto.on_events = on_events  # type: ignore[assignment]
    loop = asyncio.get_running_loop()
    start_t = loop.time()
    interval = 1 / RATE
    for i in range(total):
        await asyncio.sleep(max(0.0, start_t + i * interval - loop.time()))
        msg = order(10_000_000 + i, m.SideReq.Sell)
        sent_at[msg.ClOrdID] = time.perf_counter_ns()
        c.send(msg)
    await done.wait()
    await c.terminate()
    q = statistics.quantiles(rtts, n=100)
    return q[49] / 1000, q[98] / 1000, len(rtts)


async def retransmit(port: int) -> float:
    first = await logon(port)
    first.send_many([order(20_000_000 + i, m.SideReq.Sell) for i in range(2500)])
    await drain(first, 2500)
    await first.terminate()
    second = ILink3Client(
        secret_key=SECRET, access_key_id=KEY, session="BEN", firm="001", uuid=first.uuid + 1
    )
    await second.connect("127.0.0.1", port)
    await second.logon()
    t0 = time.perf_counter()
    second.machine.request_retransmission(
        second.clock(), from_seq_no=1, count=2500, last_uuid=first.uuid
    )
    second._flush()
    await drain(second, 2500)  # the earlier UUID's messages, replayed
    elapsed = time.perf_counter() - t0
    await second.terminate()
    return elapsed * 1000


async def echo(port: int) -> float:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    frame = encode(order(1))
    n = 200_000
    batch = 500
    payload = frame * batch
    expected = len(frame) * n
    t0 = time.perf_counter()

    async def read_all() -> None:
        got = 0
        while got < expected:
            got += len(await reader.read(1 << 20))

    rx = asyncio.ensure_future(read_all())
    for _ in range(n // batch):
        writer.write(payload)
        await writer.drain()
    await rx
    elapsed = time.perf_counter() - t0
    writer.close()
    return n / elapsed


def main() -> int:
    # every report also goes to the segment's activity log for Drop Copy, unless --no-activity
    activity = "--no-activity" not in sys.argv
    print(
        f"python {sys.version.split()[0]}; gateway (or echo server) in a child process, client"
        f" here; activity log {'on' if activity else 'off'}"
    )
    for synchronous in ("FULL", "NORMAL"):
        with tempfile.TemporaryDirectory() as tmp:
            gw, port = start(serve_gateway, str(Path(tmp) / "journal.db"), synchronous, activity)
            try:
                ops = asyncio.run(throughput(port))
                print(
                    f"[journal SQLite {synchronous:6}] orders acknowledged end to end  {ops:>10,.0f} orders/s"
                )
                p50, p99, n = asyncio.run(latency(port))
                print(
                    f"[journal SQLite {synchronous:6}] round trip at {RATE:,}/s ({n:,} orders)  p50 {p50:,.0f} µs  p99 {p99:,.0f} µs"
                )
                ms = asyncio.run(retransmit(port))
                print(
                    f"[journal SQLite {synchronous:6}] retransmission of 2,500 messages  {ms:>10.1f} ms"
                )
            finally:
                gw.terminate()
    srv, port = start(serve_echo)
    try:
        fps = asyncio.run(echo(port))
        print(
            f"limit: asyncio loopback echo of {len(encode(order(1)))}-byte frames      {fps:>12,.0f} frames/s"
        )
    finally:
        srv.terminate()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
