"""Codec benchmark: prints msgs/s for the iLink 3 SBE codec and the FIX 4.2 codec, and the same
FIX work done by simplefix and by QuickFIX's C++ parser (through its Python binding).

Run: ``.venv/bin/python bench/codecs.py`` (figures go to docs/performance.md by hand).
Each figure is the best of several timed loops of one operation in this one process.
"""

from __future__ import annotations

import platform
import sys
import timeit
from decimal import Decimal
from pathlib import Path

from dropcopy.ilink3 import codec, messages

ROUNDS = 5


def rate(stmt: str, number: int, **names: object) -> float:
    """Calls per second of ``stmt`` (a statement, so no wrapper frame is timed)."""
    best = min(timeit.repeat(stmt, number=number, repeat=ROUNDS, globals=names))
    return number / best


def new_order_single() -> messages.NewOrderSingle514:
    return messages.NewOrderSingle514(
        Price=Decimal("4512.25"), OrderQty=5, SecurityID=204527, Side=messages.SideReq.Buy, SeqNum=1001,
        SenderID="TRADER01", ClOrdID="ORD-000001", PartyDetailsListReqID=700001, OrderRequestID=1,
        SendingTimeEpoch=1_700_000_000_123_456_789, Location="US,IL", OrdType=messages.OrderTypeReq.Limit,
        ManualOrderIndicator=messages.ManualOrdIndReq.Automated, TimeInForce=messages.TimeInForce.Day,
    )  # fmt: skip


def trade_outright(fills: int) -> messages.ExecutionReportTradeOutright525:
    m = messages
    return m.ExecutionReportTradeOutright525(
        SeqNum=5001, UUID=1_700_000_000_000_000, ExecID="84618:1342652", SenderID="TRADER01", ClOrdID="ORD-000001",
        PartyDetailsListReqID=700001, LastPx=Decimal("4512.25"), OrderID=84778833500, Price=Decimal("4512.25"),
        TransactTime=1_700_000_000_123_000_000, SendingTimeEpoch=1_700_000_000_123_456_789, OrderRequestID=1,
        SecExecID=99, Location="US,IL", SecurityID=204527, OrderQty=5, LastQty=2, CumQty=2, MDTradeEntryID=1,
        SideTradeID=7, LeavesQty=3, OrdStatus=m.OrdStatusTrd.PartiallyFilled, Side=m.SideReq.Buy,
        ManualOrderIndicator=m.ManualOrdIndReq.Automated, PossRetransFlag=m.BooleanFlag.False_,
        AggressorIndicator=m.BooleanFlag.True_, Ownership=0, OrdType=m.OrderType.Limit,
        TimeInForce=m.TimeInForce.Day, TradeDate=20000,
        NoFills=[m.ExecutionReportTradeOutright525_NoFills(FillPx=Decimal("4512.25"), FillQty=2, FillExecID="F1", FillYieldType=0)] * fills,
        NoOrderEvents=[m.ExecutionReportTradeOutright525_NoOrderEvents(OrderEventPx=Decimal("4512.25"), OrderEventText="", OrderEventExecID=1, OrderEventQty=2, OrderEventType=m.TradeAddendum.PartiallyFilled, OrderEventReason=0)] * fills,
    )  # fmt: skip


def sbe_figures() -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    decode = messages.decode
    for label, msg in (
        ("NewOrderSingle514", new_order_single()),
        ("ExecutionReportTradeOutright525 (root only)", trade_outright(0)),
        ("ExecutionReportTradeOutright525 (+1 fill, 1 order event)", trade_outright(1)),
    ):
        wire = msg.encode()
        assert decode(wire) == msg
        out.append((f"SBE encode {label} [{len(wire)} B]", rate(msg.encode, 200_000)))
        out.append((f"SBE decode {label}", rate(lambda w=wire: decode(w), 200_000)))
    nos = new_order_single()
    framed = codec.encode(nos)
    out.append(("SBE encode+SOFH NewOrderSingle514", rate(lambda: codec.encode(nos), 200_000)))
    stream = framed * 1000
    dec = codec.Decoder()
    out.append(
        (
            "SBE split+decode NewOrderSingle514 (1000-message reads)",
            1000 * rate(lambda: dec.feed(stream), 200),
        )
    )
    return out


def main() -> int:
    sys.path.insert(0, str(Path(__file__).parent))
    print(
        f"python {platform.python_version()} on {platform.machine()}, {platform.processor() or 'cpu'}"
    )
    rows = sbe_figures()
    ratios: list[tuple[str, float]] = []
    try:
        import fix_codec  # bench/fix_codec.py

        fix_rows = fix_codec.run()
        rows.extend(fix_rows.items())
    except ImportError as exc:  # pragma: no cover - printed, not hidden
        print(f"(FIX figures unavailable: {exc})")
    width = max(len(k) for k, _ in rows)
    for name, value in rows:
        if name.startswith("ratio"):
            ratios.append((name, value))
            continue
        print(f"{name:<{width}}  {value:>12,.0f} msgs/s")
    for name, value in ratios:
        print(f"{name:<{width}}  {value:>12.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
