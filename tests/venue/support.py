"""Builders shared by the venue tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dropcopy.ilink3.messages import OrderTypeReq, SideReq, TimeInForce
from dropcopy.venue.orderentry.instruments import DEFAULT_INSTRUMENTS, Instrument, price9
from dropcopy.venue.orderentry.matching import (
    Echo,
    Event,
    Filled,
    MatchingEngine,
    NewOrder,
    Owner,
)

NOW = 1_700_000_000_000_000_000
#: LocalMktDate of the test trading day (2023-11-14).
TRADE_DATE = 19_675

ES = 5602  # segment 80, tick 0.25, max 3000, protection 6
NQ = 5614  # segment 80
ZN = 204527  # segment 84, tick 1/64
#: A test instrument with price limits and a band (segment 80).
LIMITED = 99001
LIMITED_INSTRUMENT = Instrument(
    security_id=LIMITED,
    symbol="TL",
    security_desc="TLZ3",
    market_segment_id=80,
    min_price_increment=Decimal("0.5"),
    max_order_qty=100,
    protection_points=Decimal("2"),
    price_band=Decimal("5"),
    low_limit_price=Decimal("80"),
    high_limit_price=Decimal("120"),
    reference_price=Decimal("100"),
)
INSTRUMENTS = (*DEFAULT_INSTRUMENTS, LIMITED_INSTRUMENT)

A = Owner("AAA", "FIRMA", 80)
A_OTHER_SESSION = Owner("AA2", "FIRMA", 80)
B = Owner("BBB", "FIRMB", 80)
A_ZN = Owner("AAA", "FIRMA", 84)


def px(value: str | int) -> int:
    return price9(Decimal(value) if isinstance(value, str) else value)


def echo(cl_ord_id: str = "C1", request_id: int = 1, **kw: Any) -> Echo:
    return Echo(
        cl_ord_id, request_id, kw.pop("sender_id", "TRADER1"), "US,IL", 700 + request_id, **kw
    )


def engine(**kw: Any) -> MatchingEngine:
    kw.setdefault("trade_date", TRADE_DATE)
    return MatchingEngine(INSTRUMENTS, **kw)


_counter = [0]


def order(
    owner: Owner,
    side: SideReq,
    qty: int,
    price: str | int | None,
    *,
    security_id: int = ES,
    ord_type: OrderTypeReq = OrderTypeReq.Limit,
    tif: TimeInForce = TimeInForce.Day,
    cl_ord_id: str | None = None,
    **kw: Any,
) -> NewOrder:
    _counter[0] += 1
    n = _counter[0]
    return NewOrder(
        owner,
        echo(cl_ord_id or f"N{n}", n),
        security_id,
        side,
        qty,
        ord_type,
        None if price is None else px(price),
        tif,
        **kw,
    )


def buy(owner: Owner, qty: int, price: str | int | None, **kw: Any) -> NewOrder:
    return order(owner, SideReq.Buy, qty, price, **kw)


def sell(owner: Owner, qty: int, price: str | int | None, **kw: Any) -> NewOrder:
    return order(owner, SideReq.Sell, qty, price, **kw)


def rebuild(msg: Any) -> Any:
    """``msg`` made again by its class's keyword constructor from its field values: the
    reports' fast path must build exactly what the codec's constructor builds."""

    def kwargs(cls: Any, values: dict[str, Any]) -> dict[str, Any]:
        constants = {f.name for f in cls.SBE_FIELDS if f.kind == "constant"}
        out = {k: v for k, v in values.items() if k not in constants}
        for g in cls.SBE_GROUPS:
            out[g.name] = [g.entry(**kwargs(g.entry, d)) for d in values[g.name]]
        return out

    return type(msg)(**kwargs(type(msg), msg.to_dict()))


def fills(events: list[Event]) -> list[Filled]:
    return [e for e in events if isinstance(e, Filled)]


def kinds(events: list[Event]) -> list[str]:
    return [type(e).__name__ for e in events]


def order_id_of(events: list[Event]) -> int:
    """OrderID of the order a NewOrder's events acknowledged."""
    first = events[0]
    assert type(first).__name__ == "Accepted", events
    return first.order.order_id  # type: ignore[union-attr]
