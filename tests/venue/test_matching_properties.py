"""Invariants of the matching engine over random command sequences (Hypothesis).

* the book is never crossed after a command, and the engine's indexes agree
  (:meth:`MatchingEngine.check_invariants`);
* every trade is reported on both sides, with the same match id, quantity and price — the
  resting order's price;
* leaves + cum = OrderQty on every fill and modify; cum grows by exactly the fills;
* no order is acknowledged twice or reported after it finished;
* ids are unique; the same commands give the same events; a snapshot restored in a fresh engine
  behaves exactly like the original; every report round-trips through the SBE codec.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dropcopy.ilink3 import messages
from dropcopy.ilink3.messages import (
    MassActionOrdTyp,
    MassActionScope,
    MassCancelTIF,
    OrderTypeReq,
    SideNULL,
    SideReq,
    TimeInForce,
)
from dropcopy.venue.orderentry.matching import (
    Accepted,
    Cancelled,
    CancelOrder,
    Echo,
    Eliminated,
    Event,
    Filled,
    MassAction,
    MatchingEngine,
    Modified,
    ModifyOrder,
    NewOrder,
    StatusRequest,
)
from dropcopy.venue.orderentry.reports import to_messages

from .support import A_OTHER_SESSION, ES, NOW, NQ, TRADE_DATE, A, B, engine, rebuild

OWNERS = [A, A_OTHER_SESSION, B]
SECURITIES = [ES, NQ]
BASE = {ES: 4000 * 10**9, NQ: 12000 * 10**9}
TICK = 250_000_000  # 0.25 for both

owners = st.sampled_from(OWNERS)
securities = st.sampled_from(SECURITIES)
sides = st.sampled_from([SideReq.Buy, SideReq.Sell])
ticks = st.integers(-6, 6)
order_ids = st.integers(1, 15)


def _price(sid: int, k: int, off_tick: bool = False) -> int:
    return BASE[sid] + k * TICK + (100_000_000 if off_tick else 0)


@st.composite
def new_orders(draw: st.DrawFn) -> NewOrder:
    sid = draw(securities)
    ord_type = draw(
        st.sampled_from(
            [OrderTypeReq.Limit] * 8
            + [
                OrderTypeReq.MarketwithProtection,
                OrderTypeReq.MarketWithLeftoverAsLimit,
                OrderTypeReq.StopLimit,
                OrderTypeReq.StopLimit,
                OrderTypeReq.StopwithProtection,
            ]
        )
    )
    tif = draw(
        st.sampled_from(
            [TimeInForce.Day] * 4
            + [
                TimeInForce.GoodTillCancel,
                TimeInForce.GoodTillDate,
                TimeInForce.FillAndKill,
                TimeInForce.FillOrKill,
            ]
        )
    )
    qty = draw(st.sampled_from([1, 2, 3, 4, 5, 6, 7, 8] * 3 + [0, 3001]))
    has_price = draw(st.sampled_from([True] * 30 + [False]))
    off_tick = draw(st.sampled_from([False] * 30 + [True]))
    is_stop = ord_type in (OrderTypeReq.StopLimit, OrderTypeReq.StopwithProtection)
    return NewOrder(
        draw(owners),
        Echo(f"N{draw(st.integers(0, 5))}", draw(st.integers(0, 9)), "T1", "US", 1),
        sid,
        draw(sides),
        qty,
        ord_type,
        _price(sid, draw(ticks), off_tick) if has_price else None,
        tif,
        _price(sid, draw(ticks)) if is_stop else None,
        draw(st.integers(TRADE_DATE - 1, TRADE_DATE + 2)) if tif == TimeInForce.GoodTillDate else None,
        draw(st.none() | st.integers(1, 4)) if tif == TimeInForce.FillAndKill else None,
        None,
    )  # fmt: skip


@st.composite
def modifies(draw: st.DrawFn) -> ModifyOrder:
    sid = draw(securities)
    return ModifyOrder(
        draw(owners),
        Echo(f"M{draw(st.integers(0, 5))}", 7, "T1", "US", 1),
        draw(order_ids | st.none()),
        sid,
        draw(sides),
        draw(st.integers(1, 9)),
        draw(st.sampled_from([OrderTypeReq.Limit, OrderTypeReq.StopLimit])),
        draw(st.none() | ticks.map(lambda k: _price(sid, k))),
        draw(st.sampled_from([TimeInForce.Day, TimeInForce.GoodTillCancel])),
        draw(st.none() | ticks.map(lambda k: _price(sid, k))),
        None,
        None,
        None,
        draw(st.booleans()),
    )


cancels = st.builds(
    CancelOrder,
    owners,
    st.sampled_from(["N0", "N1", "X"]).map(Echo),
    order_ids | st.none(),
    securities,
    sides,
)
mass_actions = st.builds(
    MassAction,
    owners,
    st.just(Echo("", 9)),
    st.sampled_from(list(MassActionScope)),
    st.none() | securities,
    st.none() | st.sampled_from(["ES", "NQ", "ZN"]),
    st.none() | st.sampled_from([80, 84]),
    st.none() | st.sampled_from(list(SideNULL)),
    st.none() | st.sampled_from(list(MassActionOrdTyp)),
    st.none() | st.sampled_from(list(MassCancelTIF)),
)
statuses = st.builds(StatusRequest, owners, st.just(Echo()), order_ids, st.integers(1, 9))
# venue-side operations: ("cod", owner) and ("eod",)
venue_ops = st.tuples(st.just("cod"), owners) | st.tuples(st.just("eod"))

commands = st.one_of(
    new_orders(),
    new_orders(),
    new_orders(),
    new_orders(),
    modifies(),
    cancels,
    mass_actions,
    statuses,
    venue_ops,
)
sequences = st.lists(commands, min_size=10, max_size=60)


def apply(e: MatchingEngine, op: Any, now: int) -> list[Event]:
    if isinstance(op, tuple) and op and op[0] == "cod":
        return e.cancel_on_disconnect(op[1], now)
    if isinstance(op, tuple) and op and op[0] == "eod":
        return e.end_of_day(now, e.trade_date + 1)
    return e.handle(op, now)


def run(ops: list[Any], e: MatchingEngine | None = None, check: bool = False) -> list[Event]:
    e = engine() if e is None else e
    out: list[Event] = []
    for i, op in enumerate(ops):
        out.extend(apply(e, op, NOW + i))
        if check:
            e.check_invariants()
    return out


def _typed(events: list[Event]) -> list[tuple[str, Event]]:
    return [(type(x).__name__, x) for x in events]


def check_events(events: list[Event]) -> None:
    exec_ids = [
        getattr(x, "exec_id", None) or getattr(x, "mass_action_report_id", None) for x in events
    ]
    numbered = [n for n in exec_ids if n is not None]
    assert numbered == sorted(numbered) and len(set(numbered)) == len(numbered)

    sides_of: dict[int, list[tuple[Filled, int]]] = defaultdict(list)
    cum: dict[int, int] = {}
    finished: set[int] = set()
    for x in events:
        if isinstance(x, Accepted):
            oid = x.order.order_id
            assert oid not in cum, f"order {oid} acknowledged twice"
            cum[oid] = 0
            continue
        if not isinstance(x, Filled | Modified | Cancelled | Eliminated):
            continue
        oid = x.order.order_id
        assert oid in cum, f"event for unknown order {oid}"
        assert oid not in finished, f"order {oid} reported after it finished"
        if isinstance(x, Filled):
            cum[oid] += x.last_qty
            assert x.cum_qty == cum[oid]
            assert x.cum_qty + x.leaves_qty == x.order.order_qty
            assert x.last_qty == sum(m.qty for m in x.matches) > 0
            if not x.aggressor:
                assert len(x.matches) == 1
                assert x.last_px == x.order.price, "trade not at the resting price"
            for m in x.matches:
                sides_of[m.match_id].append((x, m.qty))
            if x.leaves_qty == 0:
                finished.add(oid)
        elif isinstance(x, Modified):
            assert x.cum_qty == cum[oid]
            assert x.cum_qty + x.leaves_qty == x.order.order_qty
        else:
            assert x.cum_qty == cum[oid]
            finished.add(oid)
    for match_id, pair in sides_of.items():
        assert len(pair) == 2, f"match {match_id} reported {len(pair)} times"
        (f1, q1), (f2, q2) = pair
        assert q1 == q2
        assert f1.aggressor != f2.aggressor
        assert f1.last_px == f2.last_px
        assert f1.order.side != f2.order.side
        assert f1.order.security_id == f2.order.security_id
        agg = f1 if f1.aggressor else f2
        limit = agg.order.price
        assert (limit >= agg.last_px) if agg.order.side == SideReq.Buy else (limit <= agg.last_px)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequences)
def test_invariants_hold_after_every_command(ops: list[Any]) -> None:
    events = run(ops, check=True)
    check_events(events)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequences)
def test_same_commands_give_the_same_events(ops: list[Any]) -> None:
    assert _typed(run(ops)) == _typed(run(ops))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequences, sequences.map(lambda ops: [o for o in ops if not isinstance(o, StatusRequest)]))
def test_restored_snapshot_behaves_like_the_original(before: list[Any], after: list[Any]) -> None:
    original = engine()
    run(before, original)
    restored = engine()
    restored.restore(json.loads(json.dumps(original.snapshot())))
    restored.check_invariants()
    assert restored.snapshot() == original.snapshot()
    assert _typed(run(after, restored)) == _typed(run(after, original))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequences)
def test_every_report_round_trips_through_the_codec(ops: list[Any]) -> None:
    for event in run(ops):
        for msg in to_messages(event, NOW):
            assert messages.decode(msg.encode()) == msg
            assert rebuild(msg) == msg
