"""Matching-engine benchmark: prints commands/s for realistic order flows, and the cost of
turning the engine's events into encoded iLink 3 execution reports.

Run: ``.venv/bin/python bench/matching.py`` (figures go to docs/matching.md by hand).

Flows (commands are generated up front with a seeded RNG, so only the engine is timed):

* ``passive``  — new Day limit orders that rest (no trade): the cheapest path;
* ``mixed``    — a realistic flow over 4 instruments around a drifting mid price: 55% new limit
  orders (a quarter of them marketable), 25% cancels, 12% modifies (price or quantity),
  5% FAK, 3% market-with-protection; the book is kept a few hundred orders deep;
* ``reports``  — the ``mixed`` flow's events mapped to SBE and encoded (what the gateway adds).
"""

from __future__ import annotations

import platform
import random
import sys
import time
from collections.abc import Callable

from dropcopy.ilink3.messages import OrderTypeReq, SideReq, TimeInForce
from dropcopy.venue.orderentry.instruments import DEFAULT_INSTRUMENTS
from dropcopy.venue.orderentry.matching import (
    CancelOrder,
    Command,
    Echo,
    Event,
    MatchingEngine,
    ModifyOrder,
    NewOrder,
    Owner,
)
from dropcopy.venue.orderentry.reports import to_messages

ROUNDS = 5
NOW = 1_700_000_000_000_000_000
OWNERS = [Owner(f"S{i:02d}", "FIRM1", 80) for i in range(4)]
INSTRUMENTS = [i for i in DEFAULT_INSTRUMENTS if i.market_segment_id == 80] + [
    i for i in DEFAULT_INSTRUMENTS if i.market_segment_id == 84
][:2]
SEGMENT_OF = {i.security_id: i.market_segment_id for i in INSTRUMENTS}


def passive_flow(n: int) -> list[Command]:
    inst = INSTRUMENTS[0]
    tick = inst.tick9
    mid = 4_000 * 10**9
    out: list[Command] = []
    for k in range(n):
        buy = k % 2 == 0
        price = mid - (1 + k % 50) * tick if buy else mid + (1 + k % 50) * tick
        out.append(
            NewOrder(
                OWNERS[k % 4],
                Echo(f"C{k}", k, "TRADER1", "US,IL", 1),
                inst.security_id,
                SideReq.Buy if buy else SideReq.Sell,
                1 + k % 10,
                OrderTypeReq.Limit,
                price,
            )
        )
    return out


def mixed_flow(n: int, seed: int = 7) -> list[Command]:
    """Commands of a plausible trading day; order ids are predicted (the engine numbers
    accepted orders 1, 2, ...; a rejected order would not consume one)."""
    rnd = random.Random(seed)
    insts = [i for i in INSTRUMENTS if SEGMENT_OF[i.security_id] == 80]
    mids = {i.security_id: 4_000 * 10**9 for i in insts}
    live: list[tuple[int, int, int, SideReq, Owner, int]] = []  # id, sid, price, side, owner, qty
    out: list[Command] = []
    next_id = 1
    # deep liquidity far from the mid on both sides, so market orders always find a book
    for inst in insts:
        for side, sign in ((SideReq.Buy, -1), (SideReq.Sell, 1)):
            for lvl in range(40, 45):
                price = mids[inst.security_id] + sign * lvl * inst.tick9
                out.append(NewOrder(OWNERS[0], Echo("SEED"), inst.security_id, side, 1_000,
                                    OrderTypeReq.Limit, price, TimeInForce.GoodTillCancel))  # fmt: skip
                next_id += 1
    for k in range(n):
        inst = insts[k % len(insts)]
        sid, tick = inst.security_id, inst.tick9
        if rnd.random() < 0.002:
            mids[sid] += rnd.choice((-1, 1)) * tick
        mid = mids[sid]
        owner = rnd.choice(OWNERS)
        echo = Echo(f"C{k}", k, "TRADER1", "US,IL", 1)
        r = rnd.random()
        if r < 0.25 and live:
            oid, osid, _, side, o_owner, _ = live.pop(rnd.randrange(len(live)))
            out.append(CancelOrder(o_owner, echo, oid, osid, side))
            continue
        if r < 0.37 and live:
            j = rnd.randrange(len(live))
            oid, osid, price, side, o_owner, qty = live[j]
            if rnd.random() < 0.5:
                price += (-1 if side == SideReq.Buy else 1) * tick  # move away: no trade
            else:
                qty = max(1, qty - 1)
            live[j] = (oid, osid, price, side, o_owner, qty)
            out.append(ModifyOrder(o_owner, echo, oid, osid, side, qty, price=price))
            continue
        buy = rnd.random() < 0.5
        side = SideReq.Buy if buy else SideReq.Sell
        sign = 1 if buy else -1
        qty = rnd.randint(1, 10)
        if r < 0.42:
            out.append(
                NewOrder(owner, echo, sid, side, qty, OrderTypeReq.Limit, mid,
                         TimeInForce.FillAndKill)
            )  # fmt: skip
        elif r < 0.45:
            out.append(NewOrder(owner, echo, sid, side, qty, OrderTypeReq.MarketwithProtection,
                                time_in_force=TimeInForce.FillAndKill))  # fmt: skip
        else:
            marketable = rnd.random() < 0.25  # up to 3 ticks through the mid
            if marketable:
                price = mid + sign * rnd.randint(0, 3) * tick
            else:
                price = mid - sign * rnd.randint(1, 20) * tick
            out.append(NewOrder(owner, echo, sid, side, qty, OrderTypeReq.Limit, price))
            if not marketable:  # the client only cancels/modifies what it believes rests
                live.append((next_id, sid, price, side, owner, qty))
            if len(live) > 2_000:
                oid, osid, _, s2, o2, _ = live.pop(0)
                out.append(CancelOrder(o2, echo, oid, osid, s2))
        next_id += 1
    return out


def run(commands: list[Command]) -> tuple[float, list[Event]]:
    best = float("inf")
    events: list[Event] = []
    for _ in range(ROUNDS):
        engine = MatchingEngine(INSTRUMENTS)
        handle = engine.handle
        out: list[Event] = []
        extend = out.extend
        t0 = time.perf_counter()
        now = NOW
        for cmd in commands:
            now += 1_000
            extend(handle(cmd, now))
        best = min(best, time.perf_counter() - t0)
        events = out
    return len(commands) / best, events


def report_rate(events: list[Event]) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        for e in events:
            for msg in to_messages(e, NOW):
                msg.encode()
        best = min(best, time.perf_counter() - t0)
    return len(events) / best


def main() -> None:
    print(f"python {sys.version.split()[0]} on {platform.machine()} ({platform.system()})")
    flows: list[tuple[str, Callable[[int], list[Command]]]] = [
        ("passive", passive_flow),
        ("mixed", mixed_flow),
    ]
    mixed_events: list[Event] = []
    for name, make in flows:
        commands = make(200_000)
        rate, events = run(commands)
        kinds: dict[str, int] = {}
        for e in events:
            kinds[type(e).__name__] = kinds.get(type(e).__name__, 0) + 1
        print(f"{name:8s} {rate:>10,.0f} commands/s  ({len(events):,} events: {kinds})")
        if name == "mixed":
            mixed_events = events
    print(f"{'reports':8s} {report_rate(mixed_events):>10,.0f} events/s mapped to SBE and encoded")


if __name__ == "__main__":
    main()
