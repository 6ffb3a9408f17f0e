"""The matching engine's behaviour, one rule per test (docs/matching.md)."""

from __future__ import annotations

import json

import pytest

from dropcopy.ilink3.messages import (
    MassActionOrdTyp,
    MassActionScope,
    MassCancelTIF,
    MassCxlReqTyp,
    OrderStatus,
    OrderType,
    OrderTypeReq,
    SideNULL,
    SideReq,
    TimeInForce,
)
from dropcopy.venue.orderentry.matching import (
    COD_ALL_WORKING,
    Accepted,
    BusinessRejected,
    BusinessRejectReason,
    Cancelled,
    CancelOrder,
    CancelReason,
    CancelRejected,
    Eliminated,
    EliminationReason,
    MassAction,
    MassActionRejectReason,
    MassActionReport,
    MatchingEngine,
    Modified,
    ModifyOrder,
    ModifyRejected,
    Rejected,
    StatusReport,
    StatusRequest,
    Triggered,
)

from .support import (
    A_OTHER_SESSION,
    A_ZN,
    ES,
    LIMITED,
    NOW,
    NQ,
    TRADE_DATE,
    ZN,
    A,
    B,
    buy,
    echo,
    engine,
    fills,
    kinds,
    order_id_of,
    px,
    sell,
)


def modify(owner, order_id, qty, price, *, side=SideReq.Buy, security_id=ES, **kw):  # type: ignore[no-untyped-def]
    return ModifyOrder(
        owner, echo("M" + str(order_id), 900), order_id, security_id, side, qty,
        kw.pop("ord_type", OrderTypeReq.Limit), None if price is None else px(price), **kw,
    )  # fmt: skip


def cancel(owner, order_id, *, side=SideReq.Buy, security_id=ES, cl_ord_id="X1"):  # type: ignore[no-untyped-def]
    return CancelOrder(owner, echo(cl_ord_id, 901), order_id, security_id, side)


# --------------------------------------------------------------------------- acceptance


def test_limit_order_rests_and_is_acknowledged() -> None:
    e = engine()
    events = e.new_order(buy(A, 5, "4000.25"), NOW)
    assert kinds(events) == ["Accepted"]
    ack = events[0]
    assert isinstance(ack, Accepted)
    assert ack.transact_time == NOW
    assert ack.order.order_id == 1 and ack.order.price == px("4000.25")
    assert ack.order.ord_type is OrderType.Limit
    assert e.depth(ES) == ([(px("4000.25"), 5, 1)], [])
    e.check_invariants()


def test_order_ids_and_exec_ids_come_from_counters() -> None:
    e = engine(first_order_id=84_000_000_001)
    a = e.new_order(buy(A, 1, "4000"), NOW)[0]
    b = e.new_order(buy(A, 1, "4000"), NOW)[0]
    assert isinstance(a, Accepted) and isinstance(b, Accepted)
    assert (a.order.order_id, b.order.order_id) == (84_000_000_001, 84_000_000_002)
    assert b.exec_id == a.exec_id + 1


# --------------------------------------------------------------------------- priority and fills


def test_price_priority_better_price_trades_first() -> None:
    e = engine()
    e.new_order(sell(B, 1, "4001"), NOW)
    better = order_id_of(e.new_order(sell(B, 1, "4000.75"), NOW))
    events = e.new_order(buy(A, 1, "4001"), NOW)
    (agg, rest) = fills(events)
    assert rest.order.order_id == better
    assert agg.last_px == px("4000.75")


def test_time_priority_within_a_level() -> None:
    e = engine()
    first = order_id_of(e.new_order(sell(B, 2, "4001"), NOW))
    second = order_id_of(e.new_order(sell(B, 2, "4001"), NOW + 1))
    events = e.new_order(buy(A, 3, "4001"), NOW + 2)
    agg, r1, r2 = fills(events)
    assert [r1.order.order_id, r2.order.order_id] == [first, second]
    assert (r1.last_qty, r1.leaves_qty, r2.last_qty, r2.leaves_qty) == (2, 0, 1, 1)
    assert agg.last_qty == 3 and agg.leaves_qty == 0


def test_trade_price_is_the_resting_orders_price() -> None:
    e = engine()
    e.new_order(sell(B, 1, "4000"), NOW)
    agg, rest = fills(e.new_order(buy(A, 1, "4005"), NOW))
    assert agg.last_px == rest.last_px == px("4000")
    assert agg.order.price == px("4005")  # the aggressor keeps its own limit


def test_partial_fill_reports_both_sides_with_the_same_match_id() -> None:
    e = engine()
    resting = order_id_of(e.new_order(sell(B, 10, "4000"), NOW))
    events = e.new_order(buy(A, 4, "4000"), NOW + 5)
    assert kinds(events) == ["Accepted", "Filled", "Filled"]
    agg, rest = fills(events)
    assert agg.aggressor and not rest.aggressor
    assert agg.owner == A and rest.owner == B
    assert (agg.cum_qty, agg.leaves_qty) == (4, 0)
    assert (rest.cum_qty, rest.leaves_qty) == (4, 6)
    assert agg.matches[0].match_id == rest.matches[0].match_id
    assert agg.matches[0].contra_order_id == resting
    assert rest.matches[0].contra_order_id == agg.order.order_id
    assert agg.side_trade_id != rest.side_trade_id
    assert agg.md_trade_entry_id == rest.md_trade_entry_id
    assert agg.trade_date == rest.trade_date == TRADE_DATE
    assert e.depth(ES) == ([], [(px("4000"), 6, 1)])


def test_complete_fill_of_both_sides_empties_the_book() -> None:
    e = engine()
    e.new_order(sell(B, 3, "4000"), NOW)
    agg, rest = fills(e.new_order(buy(A, 3, "4000"), NOW))
    assert agg.leaves_qty == rest.leaves_qty == 0
    assert agg.cum_qty == rest.cum_qty == 3
    assert e.depth(ES) == ([], [])
    assert e.working_orders() == []
    e.check_invariants()


def test_aggressor_gets_one_fill_per_price_level_listing_each_match() -> None:
    e = engine()
    r1 = order_id_of(e.new_order(sell(B, 1, "4000"), NOW))
    r2 = order_id_of(e.new_order(sell(B, 2, "4000"), NOW))
    r3 = order_id_of(e.new_order(sell(B, 5, "4000.25"), NOW))
    events = e.new_order(buy(A, 6, "4000.25"), NOW)
    assert kinds(events) == ["Accepted", "Filled", "Filled", "Filled", "Filled", "Filled"]
    agg1, f1, f2, agg2, f3 = fills(events)
    assert (agg1.last_px, agg1.last_qty, agg1.cum_qty) == (px("4000"), 3, 3)
    assert [(m.contra_order_id, m.qty) for m in agg1.matches] == [(r1, 1), (r2, 2)]
    assert (agg2.last_px, agg2.last_qty, agg2.cum_qty, agg2.leaves_qty) == (px("4000.25"), 3, 6, 0)
    assert [(m.contra_order_id, m.qty) for m in agg2.matches] == [(r3, 3)]
    assert {f1.md_trade_entry_id, f2.md_trade_entry_id} == {agg1.md_trade_entry_id}
    assert f3.md_trade_entry_id == agg2.md_trade_entry_id != agg1.md_trade_entry_id


def test_unfilled_remainder_of_a_day_limit_order_rests() -> None:
    e = engine()
    e.new_order(sell(B, 2, "4000"), NOW)
    events = e.new_order(buy(A, 5, "4000.5"), NOW)
    assert fills(events)[0].leaves_qty == 3
    assert e.depth(ES) == ([(px("4000.5"), 3, 1)], [])


def test_orders_of_one_firm_can_trade_with_each_other() -> None:
    # self-match prevention is not modelled (docs/matching.md)
    e = engine()
    e.new_order(sell(A, 1, "4000"), NOW)
    assert len(fills(e.new_order(buy(A, 1, "4000"), NOW))) == 2


# --------------------------------------------------------------------------- time in force


def test_fak_remainder_is_eliminated() -> None:
    e = engine()
    e.new_order(sell(B, 2, "4000"), NOW)
    events = e.new_order(buy(A, 5, "4000", tif=TimeInForce.FillAndKill), NOW)
    assert kinds(events) == ["Accepted", "Filled", "Filled", "Eliminated"]
    elim = events[-1]
    assert isinstance(elim, Eliminated)
    assert elim.reason is EliminationReason.FILL_AND_KILL and elim.cum_qty == 2
    assert e.depth(ES) == ([], [])


def test_fak_with_nothing_to_trade_is_eliminated_whole() -> None:
    e = engine()
    events = e.new_order(buy(A, 5, "4000", tif=TimeInForce.FillAndKill), NOW)
    assert kinds(events) == ["Accepted", "Eliminated"]


def test_fak_min_qty_not_reachable_is_eliminated_without_a_fill() -> None:
    e = engine()
    e.new_order(sell(B, 2, "4000"), NOW)
    events = e.new_order(buy(A, 5, "4000", tif=TimeInForce.FillAndKill, min_qty=3), NOW)
    assert kinds(events) == ["Accepted", "Eliminated"]
    assert events[-1].reason is EliminationReason.MIN_QTY  # type: ignore[union-attr]
    assert e.depth(ES) == ([], [(px("4000"), 2, 1)])


def test_fak_min_qty_reachable_trades() -> None:
    e = engine()
    e.new_order(sell(B, 4, "4000"), NOW)
    events = e.new_order(buy(A, 5, "4000", tif=TimeInForce.FillAndKill, min_qty=3), NOW)
    assert kinds(events) == ["Accepted", "Filled", "Filled", "Eliminated"]


def test_min_qty_is_only_allowed_on_fak() -> None:
    e = engine()
    (rej,) = e.new_order(buy(A, 5, "4000", min_qty=3), NOW)
    assert isinstance(rej, Rejected) and rej.reason == 1013


def test_fok_that_cannot_fill_completely_does_not_trade_at_all() -> None:
    e = engine()
    e.new_order(sell(B, 4, "4000"), NOW)
    events = e.new_order(buy(A, 5, "4000", tif=TimeInForce.FillOrKill), NOW)
    assert kinds(events) == ["Accepted", "Eliminated"]
    assert events[-1].reason is EliminationReason.FILL_OR_KILL  # type: ignore[union-attr]
    assert e.depth(ES) == ([], [(px("4000"), 4, 1)])


def test_fok_that_can_fill_completely_fills_over_several_levels() -> None:
    e = engine()
    e.new_order(sell(B, 2, "4000"), NOW)
    e.new_order(sell(B, 3, "4000.25"), NOW)
    events = e.new_order(buy(A, 5, "4000.25", tif=TimeInForce.FillOrKill), NOW)
    assert kinds(events).count("Eliminated") == 0
    assert fills(events)[-2].cum_qty == 5  # the aggressor's last fill


def test_day_order_expires_at_end_of_day_and_gtc_survives() -> None:
    e = engine()
    day = order_id_of(e.new_order(buy(A, 1, "3990"), NOW))
    gtc = order_id_of(e.new_order(buy(A, 1, "3990", tif=TimeInForce.GoodTillCancel), NOW))
    events = e.end_of_day(NOW + 10, next_trade_date=TRADE_DATE + 1)
    assert kinds(events) == ["Eliminated"]
    assert events[0].order.order_id == day  # type: ignore[union-attr]
    assert events[0].reason is EliminationReason.DAY_EXPIRY  # type: ignore[union-attr]
    assert [s.terms.order_id for s in e.working_orders()] == [gtc]
    assert e.trade_date == TRADE_DATE + 1


def test_gtd_works_through_its_expire_date_then_is_eliminated() -> None:
    e = engine()
    gtd = order_id_of(
        e.new_order(
            buy(A, 1, "3990", tif=TimeInForce.GoodTillDate, expire_date=TRADE_DATE + 1), NOW
        )
    )
    assert e.end_of_day(NOW, TRADE_DATE + 1) == []
    assert e.order(gtd) is not None
    events = e.end_of_day(NOW + 1, TRADE_DATE + 2)
    assert kinds(events) == ["Eliminated"]
    assert events[0].reason is EliminationReason.GTD_EXPIRY  # type: ignore[union-attr]
    assert e.order(gtd) is None


def test_gtd_with_an_expire_date_in_the_past_is_rejected_2019() -> None:
    e = engine()
    (rej,) = e.new_order(
        buy(A, 1, "3990", tif=TimeInForce.GoodTillDate, expire_date=TRADE_DATE - 1), NOW
    )
    assert isinstance(rej, Rejected) and rej.reason == 2019
    (rej,) = e.new_order(buy(A, 1, "3990", tif=TimeInForce.GoodTillDate), NOW)
    assert isinstance(rej, Rejected) and rej.reason == 2019


def test_good_for_session_is_treated_as_a_day_order() -> None:
    e = engine()
    e.new_order(buy(A, 1, "3990", tif=TimeInForce.GoodForSession), NOW)
    assert kinds(e.end_of_day(NOW)) == ["Eliminated"]


# --------------------------------------------------------------------------- market orders


def test_market_with_protection_trades_up_to_the_protection_price_and_rests_there() -> None:
    e = engine()  # ES protection points: 6
    e.new_order(sell(B, 1, "4000"), NOW)
    e.new_order(sell(B, 1, "4005"), NOW)
    e.new_order(sell(B, 1, "4006.25"), NOW)  # beyond 4000 + 6
    events = e.new_order(buy(A, 5, None, ord_type=OrderTypeReq.MarketwithProtection), NOW)
    ack = events[0]
    assert isinstance(ack, Accepted)
    assert ack.order.ord_type is OrderType.MarketWithProtection
    assert ack.order.price == px("4006")
    assert [f.last_px for f in fills(events) if f.aggressor] == [px("4000"), px("4005")]
    assert e.depth(ES) == ([(px("4006"), 3, 1)], [(px("4006.25"), 1, 1)])
    e.check_invariants()


def test_market_with_protection_fak_remainder_is_eliminated() -> None:
    e = engine()
    e.new_order(sell(B, 1, "4000"), NOW)
    events = e.new_order(
        buy(A, 3, None, ord_type=OrderTypeReq.MarketwithProtection, tif=TimeInForce.FillAndKill),
        NOW,
    )
    assert kinds(events) == ["Accepted", "Filled", "Filled", "Eliminated"]


def test_market_order_without_an_opposite_limit_is_rejected_2013() -> None:
    e = engine()
    e.new_order(buy(B, 1, "4000"), NOW)
    (rej,) = e.new_order(buy(A, 1, None, ord_type=OrderTypeReq.MarketwithProtection), NOW)
    assert isinstance(rej, Rejected) and rej.reason == 2013


def test_market_limit_order_trades_at_the_best_price_only_and_rests_there() -> None:
    e = engine()
    e.new_order(sell(B, 1, "4000"), NOW)
    e.new_order(sell(B, 1, "4000.25"), NOW)
    events = e.new_order(buy(A, 3, None, ord_type=OrderTypeReq.MarketWithLeftoverAsLimit), NOW)
    assert events[0].order.ord_type is OrderType.MarketWithLeftoverAsLimit  # type: ignore[union-attr]
    assert [f.last_px for f in fills(events)] == [px("4000")] * 2
    assert e.depth(ES) == ([(px("4000"), 2, 1)], [(px("4000.25"), 1, 1)])


def test_market_protection_price_stays_inside_the_price_limits() -> None:
    e = engine()  # LIMITED: high limit 120, protection 2
    e.new_order(sell(B, 1, "119.5", security_id=LIMITED), NOW)
    events = e.new_order(
        buy(A, 2, None, security_id=LIMITED, ord_type=OrderTypeReq.MarketwithProtection), NOW
    )
    assert events[0].order.price == px("120")  # type: ignore[union-attr]


# --------------------------------------------------------------------------- stop orders


def _trade_at(e: MatchingEngine, price: str) -> None:
    e.new_order(sell(B, 1, price), NOW)
    assert fills(e.new_order(buy(B, 1, price), NOW))


def test_buy_stop_limit_triggers_when_a_trade_reaches_the_stop_price() -> None:
    e = engine()
    _trade_at(e, "4000")
    stop = e.new_order(buy(A, 2, "4002", ord_type=OrderTypeReq.StopLimit, stop_px=px("4001")), NOW)
    assert kinds(stop) == ["Accepted"]
    sid = order_id_of(stop)
    assert e.depth(ES) == ([], [])  # waiting stops are not on the book
    e.new_order(sell(B, 5, "4001.5"), NOW)
    e.new_order(sell(B, 1, "4001"), NOW)
    events = e.new_order(buy(B, 1, "4001"), NOW)  # trade at 4001 triggers the stop
    assert "Triggered" in kinds(events)
    trig = next(x for x in events if isinstance(x, Triggered))
    assert trig.order.order_id == sid
    stop_fill = [f for f in fills(events) if f.order.order_id == sid]
    assert stop_fill and stop_fill[0].aggressor and stop_fill[0].last_px == px("4001.5")
    e.check_invariants()


def test_sell_stop_triggers_on_a_trade_at_or_below_the_stop() -> None:
    e = engine()
    _trade_at(e, "4000")
    sid = order_id_of(
        e.new_order(sell(A, 1, "3990", ord_type=OrderTypeReq.StopLimit, stop_px=px("3995")), NOW)
    )
    e.new_order(buy(B, 1, "3994"), NOW)
    events = e.new_order(sell(B, 1, "3994"), NOW)  # trade at 3994 <= 3995
    assert any(isinstance(x, Triggered) for x in events)
    state = e.order(sid)
    assert state is not None and not state.waiting_stop  # now a working limit order
    assert e.depth(ES)[1] == [(px("3990"), 1, 1)]


def test_stop_with_protection_is_acknowledged_as_a_stop_limit_at_the_protection_price() -> None:
    e = engine()
    _trade_at(e, "4000")
    events = e.new_order(
        buy(A, 1, None, ord_type=OrderTypeReq.StopwithProtection, stop_px=px("4001")), NOW
    )
    ack = events[0]
    assert isinstance(ack, Accepted)
    assert ack.order.ord_type is OrderType.StopLimit
    assert (ack.order.stop_px, ack.order.price) == (px("4001"), px("4007"))


def test_triggered_stops_cascade_in_time_priority() -> None:
    e = engine()
    _trade_at(e, "4000")
    s1 = order_id_of(
        e.new_order(buy(A, 1, "4003", ord_type=OrderTypeReq.StopLimit, stop_px=px("4001")), NOW)
    )
    s2 = order_id_of(
        e.new_order(buy(A, 1, "4003", ord_type=OrderTypeReq.StopLimit, stop_px=px("4002")), NOW)
    )
    e.new_order(sell(B, 1, "4002"), NOW)
    e.new_order(sell(B, 1, "4003"), NOW)
    e.new_order(sell(B, 1, "4001"), NOW)
    events = e.new_order(buy(B, 1, "4001"), NOW)  # 4001 triggers s1, which trades at 4002 -> s2
    triggered = [x.order.order_id for x in events if isinstance(x, Triggered)]
    assert triggered == [s1, s2]
    assert e.depth(ES) == ([], [])
    e.check_invariants()


@pytest.mark.parametrize(
    ("side", "price", "stop", "code"),
    [
        (SideReq.Buy, "4000.5", "4001", 2058),  # buy stop-limit: limit below trigger
        (SideReq.Sell, "3999.5", "3999", 2059),  # sell stop-limit: limit above trigger
        (SideReq.Sell, "4000", "4000", 2060),  # sell stop not below last trade
        (SideReq.Buy, "4000", "4000", 2061),  # buy stop not above last trade
    ],
)
def test_stop_order_rejects(side: SideReq, price: str, stop: str, code: int) -> None:
    e = engine()
    _trade_at(e, "4000")
    from .support import order

    (rej,) = e.new_order(
        order(A, side, 1, price, ord_type=OrderTypeReq.StopLimit, stop_px=px(stop)), NOW
    )
    assert isinstance(rej, Rejected) and rej.reason == code


def test_stop_orders_cannot_be_fak() -> None:
    e = engine()
    (rej,) = e.new_order(
        buy(A, 1, "4003", ord_type=OrderTypeReq.StopLimit, stop_px=px("4001"),
            tif=TimeInForce.FillAndKill), NOW,
    )  # fmt: skip
    assert isinstance(rej, Rejected) and rej.reason == 1013


# --------------------------------------------------------------------------- new order rejects


@pytest.mark.parametrize("qty", [0, 3001])
def test_quantity_outside_the_allowed_range_is_rejected_2115(qty: int) -> None:
    (rej,) = engine().new_order(buy(A, qty, "4000"), NOW)
    assert isinstance(rej, Rejected) and rej.reason == 2115
    assert rej.text.startswith("Order quantity is outside of the allowable range")


def test_price_off_the_tick_is_rejected_1011() -> None:
    (rej,) = engine().new_order(buy(A, 1, "4000.1"), NOW)
    assert isinstance(rej, Rejected) and rej.reason == 1011
    assert "tick" in rej.text


def test_limit_order_without_a_price_is_rejected_1011() -> None:
    (rej,) = engine().new_order(buy(A, 1, None), NOW)
    assert isinstance(rej, Rejected) and rej.reason == 1011


def test_undisclosed_side_is_rejected_1011() -> None:
    from .support import order

    (rej,) = engine().new_order(order(A, SideReq.Undisclosed, 1, "4000"), NOW)
    assert isinstance(rej, Rejected) and rej.reason == 1011


@pytest.mark.parametrize(("price", "side"), [("121", SideReq.Buy), ("79.5", SideReq.Sell)])
def test_price_outside_the_daily_limits_is_rejected_2137(price: str, side: SideReq) -> None:
    from .support import order

    (rej,) = engine().new_order(order(A, side, 1, price, security_id=LIMITED), NOW)
    assert isinstance(rej, Rejected) and rej.reason == 2137


def test_aggressive_price_outside_the_band_is_rejected_2179() -> None:
    e = engine()  # LIMITED: reference 100, band 5
    (rej,) = e.new_order(buy(A, 1, "105.5", security_id=LIMITED), NOW)
    assert isinstance(rej, Rejected) and rej.reason == 2179
    (rej,) = e.new_order(sell(A, 1, "94.5", security_id=LIMITED), NOW)
    assert isinstance(rej, Rejected) and rej.reason == 2179
    # a passive price far from the reference is fine
    assert kinds(e.new_order(buy(A, 1, "90", security_id=LIMITED), NOW)) == ["Accepted"]


def test_band_follows_the_last_trade_price() -> None:
    e = engine()
    e.new_order(sell(B, 1, "104", security_id=LIMITED), NOW)
    e.new_order(buy(B, 1, "104", security_id=LIMITED), NOW)
    assert kinds(e.new_order(buy(A, 1, "108.5", security_id=LIMITED), NOW)) == ["Accepted"]


def test_display_qty_larger_than_order_qty_is_rejected_2046() -> None:
    (rej,) = engine().new_order(buy(A, 2, "4000", display_qty=3), NOW)
    assert isinstance(rej, Rejected) and rej.reason == 2046


def test_unknown_security_is_a_business_reject() -> None:
    (rej,) = engine().new_order(buy(A, 1, "4000", security_id=123), NOW)
    assert isinstance(rej, BusinessRejected)
    assert rej.reason is BusinessRejectReason.UNKNOWN_SECURITY
    assert (rej.ref_msg_type, rej.ref_tag_id) == ("D", 48)


def test_security_of_another_market_segment_is_a_business_reject() -> None:
    # ZN trades on segment 84; owner A is a session on segment 80
    (rej,) = engine().new_order(buy(A, 1, "130", security_id=ZN), NOW)
    assert isinstance(rej, BusinessRejected)
    assert kinds(engine().new_order(buy(A_ZN, 1, "130", security_id=ZN), NOW)) == ["Accepted"]


def test_a_rejected_order_does_not_consume_an_order_id() -> None:
    e = engine()
    e.new_order(buy(A, 0, "4000"), NOW)
    assert order_id_of(e.new_order(buy(A, 1, "4000"), NOW)) == 1


# --------------------------------------------------------------------------- modify


def test_modify_price_loses_time_priority() -> None:
    e = engine()
    first = order_id_of(e.new_order(buy(A, 1, "4000"), NOW))
    second = order_id_of(e.new_order(buy(A, 1, "4000"), NOW))
    e.modify_order(modify(A, first, 1, "3999.75"), NOW)
    (mod,) = e.modify_order(modify(A, first, 1, "4000"), NOW)
    assert isinstance(mod, Modified) and mod.lost_priority
    e.new_order(sell(B, 1, "4000"), NOW)
    assert e.order(second) is None and e.order(first) is not None


def test_modify_quantity_increase_loses_time_priority() -> None:
    e = engine()
    first = order_id_of(e.new_order(buy(A, 1, "4000"), NOW))
    second = order_id_of(e.new_order(buy(A, 1, "4000"), NOW))
    (mod,) = e.modify_order(modify(A, first, 2, "4000"), NOW)
    assert isinstance(mod, Modified) and mod.lost_priority and mod.leaves_qty == 2
    _agg, rest = fills(e.new_order(sell(B, 1, "4000"), NOW))
    assert rest.order.order_id == second


def test_modify_quantity_decrease_keeps_time_priority() -> None:
    e = engine()
    first = order_id_of(e.new_order(buy(A, 5, "4000"), NOW))
    e.new_order(buy(A, 1, "4000"), NOW)
    (mod,) = e.modify_order(modify(A, first, 3, "4000"), NOW)
    assert isinstance(mod, Modified) and not mod.lost_priority
    assert (mod.order.order_qty, mod.leaves_qty) == (3, 3)
    _agg, rest = fills(e.new_order(sell(B, 1, "4000"), NOW))
    assert rest.order.order_id == first
    assert e.depth(ES) == ([(px("4000"), 3, 2)], [])


def test_modify_order_qty_is_total_quantity_leaves_is_qty_minus_cum() -> None:
    e = engine()
    oid = order_id_of(e.new_order(buy(A, 10, "4000"), NOW))
    e.new_order(sell(B, 4, "4000"), NOW)  # cum 4, leaves 6
    (mod,) = e.modify_order(modify(A, oid, 8, "4000"), NOW)
    assert isinstance(mod, Modified)
    assert (mod.order.order_qty, mod.cum_qty, mod.leaves_qty) == (8, 4, 4)
    assert not mod.lost_priority
    e.check_invariants()


def test_modify_to_at_or_below_the_filled_quantity_cancels_the_order() -> None:
    e = engine()
    oid = order_id_of(e.new_order(buy(A, 10, "4000"), NOW))
    e.new_order(sell(B, 4, "4000"), NOW)
    m = modify(A, oid, 4, "4000")
    (cxl,) = e.modify_order(m, NOW)
    assert isinstance(cxl, Cancelled)
    assert cxl.reason is CancelReason.MODIFY_AT_OR_BELOW_FILLED
    assert cxl.echo == m.echo and cxl.cum_qty == 4
    assert e.order(oid) is None and e.depth(ES) == ([], [])


def test_modify_without_in_flight_mitigation_sets_the_open_quantity() -> None:
    e = engine()
    oid = order_id_of(e.new_order(buy(A, 10, "4000"), NOW))
    e.new_order(sell(B, 4, "4000"), NOW)
    (mod,) = e.modify_order(modify(A, oid, 3, "4000", ofm_override=False), NOW)
    assert isinstance(mod, Modified)
    assert (mod.order.order_qty, mod.cum_qty, mod.leaves_qty) == (7, 4, 3)


def test_modify_to_a_crossing_price_trades_as_aggressor() -> None:
    e = engine()
    oid = order_id_of(e.new_order(buy(A, 2, "3999"), NOW))
    e.new_order(sell(B, 1, "4000"), NOW)
    events = e.modify_order(modify(A, oid, 2, "4000"), NOW)
    assert kinds(events) == ["Modified", "Filled", "Filled"]
    agg = fills(events)[0]
    assert agg.aggressor and agg.order.order_id == oid and agg.leaves_qty == 1
    assert e.depth(ES) == ([(px("4000"), 1, 1)], [])


def test_modify_echoes_the_new_clordid_and_keeps_the_order_id() -> None:
    e = engine()
    oid = order_id_of(e.new_order(buy(A, 2, "3999"), NOW))
    m = modify(A, oid, 1, "3999")
    (mod,) = e.modify_order(m, NOW)
    assert isinstance(mod, Modified)
    assert mod.order.order_id == oid and mod.order.echo == m.echo


def test_modify_by_clordid_when_order_id_is_absent() -> None:
    e = engine()
    oid = order_id_of(e.new_order(buy(A, 2, "3999", cl_ord_id="MINE"), NOW))
    m = ModifyOrder(A, echo("MINE", 5), None, ES, SideReq.Buy, 1, price=px("3999"))
    (mod,) = e.modify_order(m, NOW)
    assert isinstance(mod, Modified) and mod.order.order_id == oid


def test_modify_keeps_the_price_when_none_is_given() -> None:
    e = engine()
    oid = order_id_of(e.new_order(buy(A, 2, "3999"), NOW))
    (mod,) = e.modify_order(modify(A, oid, 1, None), NOW)
    assert isinstance(mod, Modified) and mod.order.price == px("3999")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"order_id": 999}, 7016),
        ({"owner": A_OTHER_SESSION}, 2102),
        ({"owner": B}, 7016),
        ({"security_id": NQ}, 2100),
        ({"side": SideReq.Sell}, 2051),
        ({"qty": 0}, 2115),
        ({"price": "3999.1"}, 1011),
        ({"time_in_force": TimeInForce.FillAndKill}, 1013),
        ({"ord_type": OrderTypeReq.StopLimit}, 7000),
        ({"display_qty": 5}, 2046),
        ({"time_in_force": TimeInForce.GoodTillDate, "expire_date": TRADE_DATE - 1}, 2019),
    ],
)
def test_modify_rejects(change: dict[str, object], code: int) -> None:
    e = engine()
    oid = order_id_of(e.new_order(buy(A, 2, "3999"), NOW))
    args: dict[str, object] = {"owner": A, "order_id": oid, "qty": 2, "price": "3999"}
    args.update(change)
    m = modify(args.pop("owner"), args.pop("order_id"), args.pop("qty"), args.pop("price"), **args)
    (rej,) = e.modify_order(m, NOW)
    assert isinstance(rej, ModifyRejected) and rej.reason == code
    assert rej.echo == m.echo
    assert e.order(oid) is not None and e.order(oid).terms.order_qty == 2  # type: ignore[union-attr]


def test_modify_of_a_waiting_stop_changes_its_trigger() -> None:
    e = engine()
    _trade_at(e, "4000")
    sid = order_id_of(
        e.new_order(buy(A, 1, "4003", ord_type=OrderTypeReq.StopLimit, stop_px=px("4001")), NOW)
    )
    (mod,) = e.modify_order(
        modify(A, sid, 1, "4004", ord_type=OrderTypeReq.StopLimit, stop_px=px("4002")), NOW
    )
    assert isinstance(mod, Modified) and mod.order.stop_px == px("4002")
    state = e.order(sid)
    assert state is not None and state.waiting_stop
    e.check_invariants()


# --------------------------------------------------------------------------- cancel


def test_cancel_removes_the_order_and_echoes_the_request() -> None:
    e = engine()
    oid = order_id_of(e.new_order(buy(A, 2, "3999"), NOW))
    c = cancel(A, oid)
    (cxl,) = e.cancel_order(c, NOW + 7)
    assert isinstance(cxl, Cancelled)
    assert cxl.reason is CancelReason.REQUESTED and cxl.echo == c.echo
    assert cxl.transact_time == NOW + 7
    assert e.depth(ES) == ([], []) and e.working_orders() == []


def test_cancel_of_a_partially_filled_order_reports_its_cum_qty() -> None:
    e = engine()
    oid = order_id_of(e.new_order(buy(A, 5, "4000"), NOW))
    e.new_order(sell(B, 2, "4000"), NOW)
    (cxl,) = e.cancel_order(cancel(A, oid), NOW)
    assert isinstance(cxl, Cancelled) and cxl.cum_qty == 2 and cxl.order.order_qty == 5


@pytest.mark.parametrize(
    ("owner", "side", "security_id", "code"),
    [
        (A_OTHER_SESSION, SideReq.Buy, ES, 2048),
        (B, SideReq.Buy, ES, 2045),
        (A, SideReq.Sell, ES, 2051),
        (A, SideReq.Buy, NQ, 2045),
    ],
)
def test_cancel_rejects(owner, side, security_id, code) -> None:  # type: ignore[no-untyped-def]
    e = engine()
    oid = order_id_of(e.new_order(buy(A, 2, "3999"), NOW))
    (rej,) = e.cancel_order(cancel(owner, oid, side=side, security_id=security_id), NOW)
    assert isinstance(rej, CancelRejected) and rej.reason == code and rej.order_id == oid
    assert e.order(oid) is not None


def test_cancel_of_an_unknown_or_finished_order_is_rejected_2045() -> None:
    e = engine()
    (rej,) = e.cancel_order(cancel(A, 42), NOW)
    assert isinstance(rej, CancelRejected) and rej.reason == 2045
    assert rej.text == "This order is not on the book"
    oid = order_id_of(e.new_order(buy(A, 1, "4000"), NOW))
    e.new_order(sell(B, 1, "4000"), NOW)
    (rej,) = e.cancel_order(cancel(A, oid), NOW)
    assert isinstance(rej, CancelRejected) and rej.reason == 2045


def test_cancel_by_clordid_when_order_id_is_absent() -> None:
    e = engine()
    oid = order_id_of(e.new_order(buy(A, 1, "3999", cl_ord_id="ABC"), NOW))
    (cxl,) = e.cancel_order(CancelOrder(A, echo("ABC", 3), None, ES, SideReq.Buy), NOW)
    assert isinstance(cxl, Cancelled) and cxl.order.order_id == oid


def test_cancel_of_an_unknown_security_is_a_business_reject() -> None:
    (rej,) = engine().cancel_order(cancel(A, 1, security_id=7), NOW)
    assert isinstance(rej, BusinessRejected) and rej.ref_msg_type == "F"


# --------------------------------------------------------------------------- mass action


def _book_for_mass_action(e: MatchingEngine) -> dict[str, int]:
    ids = {
        "es_buy_day": order_id_of(e.new_order(buy(A, 1, "3990"), NOW)),
        "es_sell_gtc": order_id_of(
            e.new_order(sell(A, 2, "4010", tif=TimeInForce.GoodTillCancel), NOW)
        ),
        "nq_buy_day": order_id_of(e.new_order(buy(A, 3, "12000", security_id=NQ), NOW)),
        "es_other_session": order_id_of(e.new_order(buy(A_OTHER_SESSION, 1, "3990"), NOW)),
        "es_other_firm": order_id_of(e.new_order(buy(B, 1, "3990"), NOW)),
    }
    _trade_at(e, "4000")
    ids["es_stop"] = order_id_of(
        e.new_order(buy(A, 1, "4003", ord_type=OrderTypeReq.StopLimit, stop_px=px("4001")), NOW)
    )
    return ids


def _mass(scope: MassActionScope, **kw: object) -> MassAction:
    return MassAction(A, echo("", 77), scope, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("request_kw", "cancelled"),
    [
        ({"scope": MassActionScope.All}, {"es_buy_day", "es_sell_gtc", "nq_buy_day", "es_stop"}),
        (
            {"scope": MassActionScope.Instrument, "security_id": ES},
            {"es_buy_day", "es_sell_gtc", "es_stop"},
        ),
        ({"scope": MassActionScope.InstrumentGroup, "security_group": "NQ"}, {"nq_buy_day"}),
        (
            {"scope": MassActionScope.MarketSegmentID, "market_segment_id": 80},
            {"es_buy_day", "es_sell_gtc", "nq_buy_day", "es_stop"},
        ),
        ({"scope": MassActionScope.All, "side": SideNULL.Sell}, {"es_sell_gtc"}),
        (
            {"scope": MassActionScope.All, "ord_type": MassActionOrdTyp.Limit},
            {"es_buy_day", "es_sell_gtc", "nq_buy_day"},
        ),
        ({"scope": MassActionScope.All, "ord_type": MassActionOrdTyp.StopLimit}, {"es_stop"}),
        (
            {"scope": MassActionScope.All, "time_in_force": MassCancelTIF.Day},
            {"es_buy_day", "nq_buy_day", "es_stop"},
        ),
        (
            {"scope": MassActionScope.All, "time_in_force": MassCancelTIF.GoodTillCancel},
            {"es_sell_gtc"},
        ),
    ],
)
def test_mass_cancel_scopes_and_filters(request_kw: dict[str, object], cancelled: set[str]) -> None:
    e = engine()
    ids = _book_for_mass_action(e)
    scope = request_kw.pop("scope")
    events = e.mass_action(_mass(scope, **request_kw), NOW)  # type: ignore[arg-type]
    report = events[0]
    assert isinstance(report, MassActionReport) and report.accepted
    expected = {ids[k] for k in cancelled}
    assert {a.order_id for a in report.affected} == expected
    assert all(
        isinstance(x, Cancelled) and x.reason is CancelReason.MASS_ACTION for x in events[1:]
    )
    assert {x.order.order_id for x in events[1:]} == expected  # type: ignore[union-attr]
    # other sessions' and firms' orders are never touched
    assert e.order(ids["es_other_session"]) is not None
    assert e.order(ids["es_other_firm"]) is not None
    e.check_invariants()


def test_mass_cancel_reports_each_order_with_its_clordid_and_open_quantity() -> None:
    e = engine()
    oid = order_id_of(e.new_order(buy(A, 5, "4000", cl_ord_id="KEEPME"), NOW))
    e.new_order(sell(B, 2, "4000"), NOW)
    report, cxl = e.mass_action(_mass(MassActionScope.All), NOW)
    assert isinstance(report, MassActionReport)
    assert report.affected[0] == (("KEEPME", oid, 3))
    assert isinstance(cxl, Cancelled) and cxl.echo.cl_ord_id == "KEEPME"
    assert cxl.echo.order_request_id == 77  # the mass action's OrderRequestID


def test_mass_cancel_by_sender_or_account_within_the_session() -> None:
    e = engine()
    mine = order_id_of(e.new_order(buy(A, 1, "3990"), NOW))
    from .support import echo as mk_echo

    other = e.new_order(buy(A, 1, "3990")._replace(echo=mk_echo("Z", 50, sender_id="TRADER2")), NOW)
    report, *_ = e.mass_action(
        MassAction(A, mk_echo("", 51, sender_id="TRADER2"), MassActionScope.All,
                   mass_cancel_request_type=MassCxlReqTyp.SenderSubID), NOW,
    )  # fmt: skip
    assert isinstance(report, MassActionReport)
    assert [a.order_id for a in report.affected] == [order_id_of(other)]
    assert e.order(mine) is not None


def test_mass_cancel_with_nothing_to_cancel_is_accepted_with_zero_orders() -> None:
    (report,) = engine().mass_action(_mass(MassActionScope.All), NOW)
    assert isinstance(report, MassActionReport) and report.accepted and report.affected == ()


@pytest.mark.parametrize(
    ("request_kw", "reason"),
    [
        (
            {"scope": MassActionScope.Instrument, "security_id": 1},
            MassActionRejectReason.INVALID_OR_UNKNOWN_SECURITY,
        ),
        (
            {"scope": MassActionScope.Instrument, "security_id": ZN},
            MassActionRejectReason.INVALID_OR_UNKNOWN_SECURITY,
        ),
        (
            {"scope": MassActionScope.InstrumentGroup, "security_group": "ZZ"},
            MassActionRejectReason.INVALID_OR_UNKNOWN_SECURITY_GROUP,
        ),
        (
            {"scope": MassActionScope.MarketSegmentID, "market_segment_id": 84},
            MassActionRejectReason.INVALID_OR_UNKNOWN_MARKET_SEGMENT,
        ),
        ({"scope": MassActionScope.QuoteSetID}, MassActionRejectReason.MASS_ACTION_NOT_SUPPORTED),
    ],
)
def test_mass_action_rejects(request_kw: dict[str, object], reason: MassActionRejectReason) -> None:
    e = engine()
    oid = order_id_of(e.new_order(buy(A, 1, "3990"), NOW))
    scope = request_kw.pop("scope")
    (report,) = e.mass_action(_mass(scope, **request_kw), NOW)  # type: ignore[arg-type]
    assert isinstance(report, MassActionReport)
    assert not report.accepted and report.reject_reason is reason
    assert e.order(oid) is not None


# --------------------------------------------------------------------------- status


def _status(e: MatchingEngine, order_id: int, owner=A) -> StatusReport:  # type: ignore[no-untyped-def]
    (rep,) = e.order_status(StatusRequest(owner, echo("", 0), order_id, 4242), NOW)
    assert isinstance(rep, StatusReport) and rep.ord_status_req_id == 4242
    return rep


def test_order_status_of_working_orders() -> None:
    e = engine()
    new = order_id_of(e.new_order(buy(A, 5, "3999"), NOW))
    partial = order_id_of(e.new_order(buy(A, 5, "4000"), NOW))
    e.new_order(sell(B, 2, "4000"), NOW)
    replaced = order_id_of(e.new_order(buy(A, 5, "3998"), NOW))
    e.modify_order(modify(A, replaced, 4, "3998"), NOW)
    assert _status(e, new).ord_status is OrderStatus.New
    rep = _status(e, partial)
    assert (rep.ord_status, rep.cum_qty, rep.leaves_qty) == (OrderStatus.PartiallyFilled, 2, 3)
    assert _status(e, replaced).ord_status is OrderStatus.Replaced


def test_order_status_of_finished_orders() -> None:
    e = engine()
    filled = order_id_of(e.new_order(buy(A, 1, "4000"), NOW))
    e.new_order(sell(B, 1, "4000"), NOW)
    cancelled = order_id_of(e.new_order(buy(A, 1, "3999"), NOW))
    e.cancel_order(cancel(A, cancelled), NOW)
    fak = order_id_of(e.new_order(buy(A, 1, "3999", tif=TimeInForce.FillAndKill), NOW))
    assert _status(e, filled).ord_status is OrderStatus.Filled
    assert _status(e, cancelled).ord_status is OrderStatus.Cancelled
    assert _status(e, fak).ord_status is OrderStatus.Expired


def test_order_status_of_an_unknown_or_foreign_order_is_undefined() -> None:
    e = engine()
    theirs = order_id_of(e.new_order(buy(B, 1, "3999"), NOW))
    for oid in (12345, theirs):
        rep = _status(e, oid)
        assert rep.ord_status is OrderStatus.Undefined and rep.order is None
        assert rep.order_id == oid


def test_order_status_of_another_session_of_the_same_firm_is_reported() -> None:
    e = engine()
    oid = order_id_of(e.new_order(buy(A_OTHER_SESSION, 1, "3999"), NOW))
    assert _status(e, oid).ord_status is OrderStatus.New


# --------------------------------------------------------------------------- cancel on disconnect


def test_cancel_on_disconnect_cancels_day_orders_only_by_default() -> None:
    e = engine()
    day = order_id_of(e.new_order(buy(A, 1, "3990"), NOW))
    gtc = order_id_of(e.new_order(buy(A, 1, "3990", tif=TimeInForce.GoodTillCancel), NOW))
    gtd = order_id_of(
        e.new_order(buy(A, 1, "3990", tif=TimeInForce.GoodTillDate, expire_date=TRADE_DATE), NOW)
    )
    other = order_id_of(e.new_order(buy(A_OTHER_SESSION, 1, "3990"), NOW))
    events = e.cancel_on_disconnect(A, NOW + 3)
    assert [x.order.order_id for x in events] == [day]  # type: ignore[union-attr]
    (cxl,) = events
    assert isinstance(cxl, Cancelled) and cxl.reason is CancelReason.CANCEL_ON_DISCONNECT
    assert cxl.transact_time == NOW + 3
    assert {s.terms.order_id for s in e.working_orders()} == {gtc, gtd, other}


def test_cancel_on_disconnect_scope_is_configurable_ai_26() -> None:
    # AI-26 (seed-rules.md): every working order, GTC/GTD included
    e = engine(cod_time_in_force=COD_ALL_WORKING)
    e.new_order(buy(A, 1, "3990"), NOW)
    e.new_order(buy(A, 1, "3990", tif=TimeInForce.GoodTillCancel), NOW)
    assert len(e.cancel_on_disconnect(A, NOW)) == 2
    e2 = engine()
    e2.new_order(buy(A, 1, "3990", tif=TimeInForce.GoodTillCancel), NOW)
    assert len(e2.cancel_on_disconnect(A, NOW, COD_ALL_WORKING)) == 1


def test_cancel_on_disconnect_of_a_session_without_orders_does_nothing() -> None:
    assert engine().cancel_on_disconnect(B, NOW) == []


# --------------------------------------------------------------------------- snapshot / restore


def test_snapshot_restore_keeps_gtc_gtd_orders_their_fills_and_priority() -> None:
    e = engine()
    g1 = order_id_of(e.new_order(buy(A, 5, "4000", tif=TimeInForce.GoodTillCancel), NOW))
    g2 = order_id_of(
        e.new_order(
            buy(B, 2, "4000", tif=TimeInForce.GoodTillDate, expire_date=TRADE_DATE + 5), NOW
        )
    )
    e.new_order(buy(A, 1, "3999"), NOW)  # Day: not persistent
    e.new_order(sell(B, 1, "4000"), NOW)  # g1 cum 1
    e.end_of_day(NOW, TRADE_DATE + 1)
    data = json.loads(json.dumps(e.snapshot(persistent_only=True)))
    fresh = engine()
    fresh.restore(data)
    fresh.check_invariants()
    assert fresh.trade_date == TRADE_DATE + 1
    assert [(s.terms.order_id, s.cum_qty, s.leaves_qty) for s in fresh.working_orders()] == [
        (g1, 1, 4),
        (g2, 0, 2),
    ]
    # priority kept: g1 trades first; ids continue after the old ones
    events = fresh.new_order(sell(B, 5, "4000"), NOW)
    assert order_id_of(events) > g2
    assert [f.order.order_id for f in fills(events) if not f.aggressor] == [g1, g2]
    assert fresh.last_trade_price(ES) == px("4000")


def test_snapshot_of_everything_equals_the_original_engine() -> None:
    e = engine()
    e.new_order(buy(A, 5, "4000"), NOW)
    e.new_order(sell(A, 5, "4001", tif=TimeInForce.GoodTillCancel), NOW)
    _trade_at(e, "4000.5")
    e.new_order(buy(A, 1, "4003", ord_type=OrderTypeReq.StopLimit, stop_px=px("4001")), NOW)
    fresh = engine()
    fresh.restore(e.snapshot())
    assert fresh.snapshot() == e.snapshot()
    follow = [sell(B, 7, "3999"), buy(B, 3, "4001")]
    assert [fresh.handle(c, NOW) for c in follow] == [e.handle(c, NOW) for c in follow]


def test_restore_refuses_an_engine_with_working_orders() -> None:
    e = engine()
    e.new_order(buy(A, 5, "4000"), NOW)
    with pytest.raises(ValueError, match="without working orders"):
        e.restore(e.snapshot())


def test_gtd_expired_while_the_venue_was_down_is_eliminated_after_restore() -> None:
    e = engine()
    e.new_order(buy(A, 1, "3990", tif=TimeInForce.GoodTillDate, expire_date=TRADE_DATE), NOW)
    data = e.snapshot()
    fresh = engine(trade_date=TRADE_DATE + 3)
    fresh.restore(data)
    fresh.trade_date = TRADE_DATE + 3
    events = fresh.expire_gtd(NOW)
    assert kinds(events) == ["Eliminated"]
    assert events[0].reason is EliminationReason.GTD_EXPIRY  # type: ignore[union-attr]


# --------------------------------------------------------------------------- handle()


def test_handle_dispatches_every_command_type() -> None:
    e = engine()
    oid = order_id_of(e.handle(buy(A, 2, "3999"), NOW))
    assert kinds(e.handle(modify(A, oid, 1, "3999"), NOW)) == ["Modified"]
    assert kinds(e.handle(StatusRequest(A, echo(), oid, 1), NOW)) == ["StatusReport"]
    assert kinds(e.handle(cancel(A, oid), NOW)) == ["Cancelled"]
    assert kinds(e.handle(_mass(MassActionScope.All), NOW)) == ["MassActionReport"]


def test_an_aggressor_fill_lists_at_most_255_matches() -> None:
    # NoOrderEvents (uint8 numInGroup) holds 255 entries: a longer sweep of one level is split
    from dropcopy.venue.orderentry.matching import MAX_MATCHES_PER_FILL
    from dropcopy.venue.orderentry.reports import to_messages

    assert MAX_MATCHES_PER_FILL == 255
    e = engine()
    for _ in range(300):
        e.new_order(sell(B, 1, "4000"), NOW)
    events = e.new_order(buy(A, 300, "4000"), NOW)
    aggressor = [f for f in fills(events) if f.aggressor]
    assert [len(f.matches) for f in aggressor] == [255, 45]
    assert [(f.last_qty, f.cum_qty, f.leaves_qty) for f in aggressor] == [
        (255, 255, 45),
        (45, 300, 0),
    ]
    assert aggressor[0].md_trade_entry_id == aggressor[1].md_trade_entry_id
    assert len(fills(events)) == 302
    for msg in to_messages(aggressor[0], NOW):
        assert len(msg.NoOrderEvents) == 255  # type: ignore[attr-defined]
        msg.encode()
    e.check_invariants()
