"""Engine events → iLink 3 SBE reports, and iLink 3 requests → engine commands."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from dropcopy.ilink3 import messages as m
from dropcopy.sbe.runtime import MessageBase
from dropcopy.venue.orderentry.matching import (
    BusinessRejected,
    BusinessRejectReason,
    CancelOrder,
    Event,
    MassAction,
    MatchingEngine,
    ModifyOrder,
    NewOrder,
    Owner,
    StatusRequest,
    Triggered,
)
from dropcopy.venue.orderentry.reports import (
    SUPPORTED_REQUESTS,
    command_from_message,
    exec_id_text,
    to_messages,
)

from .support import ES, NOW, TRADE_DATE, A, B, buy, echo, engine, order_id_of, px, rebuild, sell

SENT = NOW + 999


def one(event: Event) -> Any:
    """The single message of ``event``, after checking it round-trips and carries the
    placeholders the session layer stamps."""
    (msg,) = to_messages(event, SENT)
    assert m.decode(msg.encode()) == msg
    assert rebuild(msg) == msg
    assert (msg.SeqNum, msg.UUID, msg.PossRetransFlag) == (0, 0, m.BooleanFlag.False_)
    assert msg.SendingTimeEpoch == SENT
    return msg


def assert_echo(msg: Any, e: Any) -> None:
    assert msg.SenderID == e.sender_id
    assert msg.Location == e.location
    assert msg.PartyDetailsListReqID == e.party_details_list_req_id
    assert msg.ManualOrderIndicator == e.manual_order_indicator


# --------------------------------------------------------------------------- events -> SBE


def test_accepted_is_execution_report_new_522() -> None:
    e = engine()
    cmd = buy(A, 5, "4000.25", tif=m.TimeInForce.GoodTillCancel)
    (ack,) = e.new_order(cmd, NOW)
    msg = one(ack)
    assert isinstance(msg, m.ExecutionReportNew522)
    assert msg.ExecID == exec_id_text(A, ack.exec_id) == f"80:{ack.exec_id}"  # type: ignore[union-attr]
    assert msg.OrderID == 1 and msg.ClOrdID == cmd.echo.cl_ord_id
    assert msg.OrderRequestID == cmd.echo.order_request_id
    assert_echo(msg, cmd.echo)
    assert msg.Price == Decimal("4000.25") and msg.StopPx is None
    assert (msg.SecurityID, msg.OrderQty, msg.Side) == (ES, 5, m.SideReq.Buy)
    assert msg.OrdType is m.OrderType.Limit
    assert msg.TimeInForce is m.TimeInForce.GoodTillCancel
    assert msg.TransactTime == NOW


def test_modified_is_execution_report_modify_531() -> None:
    e = engine()
    oid = order_id_of(e.new_order(buy(A, 5, "4000"), NOW))
    e.new_order(sell(B, 2, "4000"), NOW)
    mod_cmd = ModifyOrder(A, echo("NEWCL", 42), oid, ES, m.SideReq.Buy, 4, price=px("3999.75"))
    (mod,) = e.modify_order(mod_cmd, NOW)
    msg = one(mod)
    assert isinstance(msg, m.ExecutionReportModify531)
    assert (msg.ClOrdID, msg.OrderRequestID, msg.OrderID) == ("NEWCL", 42, oid)
    assert (msg.OrderQty, msg.CumQty, msg.LeavesQty) == (4, 2, 2)
    assert msg.Price == Decimal("3999.75")


def test_cancelled_is_execution_report_cancel_534() -> None:
    e = engine()
    oid = order_id_of(e.new_order(buy(A, 5, "4000"), NOW))
    c = CancelOrder(A, echo("CXL1", 43), oid, ES, m.SideReq.Buy)
    msg = one(e.cancel_order(c, NOW)[0])
    assert isinstance(msg, m.ExecutionReportCancel534)
    assert (msg.ClOrdID, msg.OrderRequestID, msg.OrderID) == ("CXL1", 43, oid)
    assert (msg.OrderQty, msg.CumQty) == (5, 0)
    assert msg.ExecRestatementReason is None


def test_cancel_on_disconnect_carries_exec_restatement_reason_100() -> None:
    e = engine()
    cmd = buy(A, 5, "4000")
    e.new_order(cmd, NOW)
    msg = one(e.cancel_on_disconnect(A, NOW)[0])
    assert isinstance(msg, m.ExecutionReportCancel534)
    assert msg.ExecRestatementReason is m.ExecReason.CancelOnDisconnect
    assert msg.ClOrdID == cmd.echo.cl_ord_id  # unsolicited: the order's own ClOrdID


def test_fills_are_trade_outright_525_for_both_sides() -> None:
    e = engine(trade_date=TRADE_DATE)
    r1 = e.new_order(sell(B, 2, "4000"), NOW)
    e.new_order(sell(B, 2, "4000"), NOW)
    events = e.new_order(buy(A, 3, "4000.5"), NOW + 1)
    agg, rest1, rest2 = (one(x) for x in events[1:])
    for msg in (agg, rest1, rest2):
        assert isinstance(msg, m.ExecutionReportTradeOutright525)
        assert msg.LastPx == Decimal("4000") and msg.TradeDate == TRADE_DATE
        assert msg.TransactTime == NOW + 1
        assert len(msg.NoFills) == 1
        assert msg.NoFills[0].FillPx == msg.LastPx and msg.NoFills[0].FillQty == msg.LastQty
    assert agg.AggressorIndicator is m.BooleanFlag.True_
    assert rest1.AggressorIndicator is m.BooleanFlag.False_
    assert (agg.LastQty, agg.CumQty, agg.LeavesQty, agg.OrdStatus) == (
        3, 3, 0, m.OrdStatusTrd.Filled,
    )  # fmt: skip
    assert agg.Price == Decimal("4000.5")  # the aggressor's own limit
    assert (rest1.LastQty, rest1.LeavesQty, rest1.OrdStatus) == (2, 0, m.OrdStatusTrd.Filled)
    assert (rest2.LastQty, rest2.LeavesQty, rest2.OrdStatus) == (
        1, 1, m.OrdStatusTrd.PartiallyFilled,
    )  # fmt: skip
    assert rest1.OrderID == order_id_of(r1)
    # NoOrderEvents pair the two sides of each match
    assert [x.OrderEventExecID for x in agg.NoOrderEvents] == [
        rest1.NoOrderEvents[0].OrderEventExecID,
        rest2.NoOrderEvents[0].OrderEventExecID,
    ]
    assert [x.OrderEventQty for x in agg.NoOrderEvents] == [2, 1]
    assert len({agg.SideTradeID, rest1.SideTradeID, rest2.SideTradeID}) == 3
    assert agg.MDTradeEntryID == rest1.MDTradeEntryID == rest2.MDTradeEntryID
    assert len({agg.ExecID, rest1.ExecID, rest2.ExecID}) == 3


def test_eliminated_is_execution_report_elimination_524() -> None:
    e = engine()
    e.new_order(sell(B, 1, "4000"), NOW)
    events = e.new_order(buy(A, 3, "4000", tif=m.TimeInForce.FillAndKill), NOW)
    msg = one(events[-1])
    assert isinstance(msg, m.ExecutionReportElimination524)
    assert (msg.OrderQty, msg.CumQty) == (3, 1)
    assert msg.TimeInForce is m.TimeInForce.FillAndKill


def test_rejected_is_execution_report_reject_523() -> None:
    cmd = buy(A, 1, "4000.1")
    msg = one(engine().new_order(cmd, NOW)[0])
    assert isinstance(msg, m.ExecutionReportReject523)
    assert msg.OrdRejReason == 1011 and msg.Text and msg.Text.startswith("FIX field incorrect")
    assert msg.OrderID == 0 and msg.ClOrdID == cmd.echo.cl_ord_id
    assert msg.Price == Decimal("4000.1")
    assert_echo(msg, cmd.echo)


def test_rejected_stop_with_protection_keeps_its_request_ord_type() -> None:
    cmd = buy(A, 1, None, ord_type=m.OrderTypeReq.StopwithProtection)  # no StopPx
    msg = one(engine().new_order(cmd, NOW)[0])
    assert msg.OrdType == "3"  # not in ExecutionReport's OrderType enum: raw char


def test_cancel_and_modify_rejects_are_535_and_536() -> None:
    e = engine()
    c = CancelOrder(A, echo("C9", 44), 77, ES, m.SideReq.Buy)
    msg = one(e.cancel_order(c, NOW)[0])
    assert isinstance(msg, m.OrderCancelReject535)
    assert (msg.CxlRejReason, msg.OrderID, msg.ClOrdID, msg.OrderRequestID) == (2045, 77, "C9", 44)
    mod = ModifyOrder(A, echo("M9", 45), 77, ES, m.SideReq.Buy, 1, price=px("4000"))
    msg = one(e.modify_order(mod, NOW)[0])
    assert isinstance(msg, m.OrderCancelReplaceReject536)
    assert (msg.CxlRejReason, msg.OrderID, msg.ClOrdID) == (7016, 77, "M9")
    assert msg.Text == "This order is not on the book"


def test_status_report_is_execution_report_status_532() -> None:
    e = engine()
    cmd = buy(A, 5, "4000")
    oid = order_id_of(e.new_order(cmd, NOW))
    e.new_order(sell(B, 2, "4000"), NOW)
    msg = one(e.order_status(StatusRequest(A, echo("", 0), oid, 31337), NOW)[0])
    assert isinstance(msg, m.ExecutionReportStatus532)
    assert msg.OrdStatusReqID == 31337 and msg.OrdStatus is m.OrderStatus.PartiallyFilled
    assert (msg.OrderID, msg.ClOrdID, msg.CumQty, msg.LeavesQty) == (oid, cmd.echo.cl_ord_id, 2, 3)
    unknown = one(e.order_status(StatusRequest(A, echo("", 0), 999, 1), NOW)[0])
    assert unknown.OrdStatus is m.OrderStatus.Undefined and unknown.OrderID == 999


def test_mass_action_report_is_562_and_lists_affected_orders() -> None:
    e = engine()
    ids = [order_id_of(e.new_order(buy(A, 1, "3990", cl_ord_id=f"K{i}"), NOW)) for i in range(3)]
    events = e.mass_action(MassAction(A, echo("", 55), m.MassActionScope.All), NOW)
    msg = one(events[0])
    assert isinstance(msg, m.OrderMassActionReport562)
    assert msg.MassActionResponse is m.MassActionResponse.Accepted
    assert msg.TotalAffectedOrders == 3 and msg.LastFragment is m.BooleanFlag.True_
    assert [(a.OrigCIOrdID, a.AffectedOrderID, a.CxlQuantity) for a in msg.NoAffectedOrders] == [
        (f"K{i}", oid, 1) for i, oid in enumerate(ids)
    ]
    assert msg.OrderRequestID == 55
    for x in events[1:]:
        assert isinstance(one(x), m.ExecutionReportCancel534)


def test_large_mass_action_report_is_fragmented() -> None:
    e = engine()
    for _ in range(300):
        e.new_order(buy(A, 1, "3990"), NOW)
    events = e.mass_action(MassAction(A, echo("", 56), m.MassActionScope.All), NOW)
    msgs = to_messages(events[0], SENT)
    assert [len(x.NoAffectedOrders) for x in msgs] == [255, 45]  # type: ignore[attr-defined]
    assert [x.LastFragment for x in msgs] == [m.BooleanFlag.False_, m.BooleanFlag.True_]  # type: ignore[attr-defined]
    assert {x.TotalAffectedOrders for x in msgs} == {300}  # type: ignore[attr-defined]
    assert len({x.MassActionReportID for x in msgs}) == 1  # type: ignore[attr-defined]
    for x in msgs:
        assert m.decode(x.encode()) == x
        assert rebuild(x) == x


def test_rejected_mass_action_report_carries_the_reason() -> None:
    e = engine()
    req = MassAction(A, echo("", 57), m.MassActionScope.Instrument, security_id=1)
    msg = one(e.mass_action(req, NOW)[0])
    assert msg.MassActionResponse is m.MassActionResponse.Rejected
    assert msg.MassActionRejectReason == 1 and msg.TotalAffectedOrders == 0
    assert msg.SecurityID == 1


def test_business_reject_is_521() -> None:
    cmd = buy(A, 1, "4000", security_id=4242)._replace(echo=echo("C1", 60, seq_num=17))
    msg = one(engine().new_order(cmd, NOW)[0])
    assert isinstance(msg, m.BusinessReject521)
    assert (msg.BusinessRejectReason, msg.RefMsgType, msg.RefTagID) == (2, "D", 48)
    assert (msg.RefSeqNum, msg.BusinessRejectRefID) == (17, 60)
    assert msg.Text and "Unknown Security" in msg.Text


def test_a_triggered_stop_sends_no_message() -> None:
    assert to_messages(Triggered(NOW, buy_terms()), SENT) == []


def buy_terms() -> Any:
    e = engine()
    return e.new_order(buy(A, 1, "3990"), NOW)[0].order  # type: ignore[union-attr]


# --------------------------------------------------------------------------- SBE -> commands


def nos(**kw: Any) -> m.NewOrderSingle514:
    base: dict[str, Any] = dict(
        Price=Decimal("4000.25"), OrderQty=5, SecurityID=ES, Side=m.SideReq.Buy, SeqNum=12,
        SenderID="trader1", ClOrdID="ABC", PartyDetailsListReqID=700, OrderRequestID=33,
        SendingTimeEpoch=NOW, Location="US,IL", OrdType=m.OrderTypeReq.Limit,
        ManualOrderIndicator=m.ManualOrdIndReq.Manual, TimeInForce=m.TimeInForce.Day,
    )  # fmt: skip
    base.update(kw)
    return m.decode(m.NewOrderSingle514(**base).encode())  # type: ignore[return-value]


def test_new_order_single_becomes_a_new_order_command() -> None:
    cmd = command_from_message(nos(), A)
    assert isinstance(cmd, NewOrder)
    assert cmd.price == px("4000.25") and cmd.stop_px is None
    assert (cmd.security_id, cmd.side, cmd.order_qty) == (ES, m.SideReq.Buy, 5)
    assert cmd.echo.sender_id == "TRADER1"  # CME upper-cases SenderID
    assert (cmd.echo.cl_ord_id, cmd.echo.order_request_id, cmd.echo.seq_num) == ("ABC", 33, 12)
    assert cmd.echo.manual_order_indicator is m.ManualOrdIndReq.Manual
    assert cmd.owner == A


def test_new_order_without_time_in_force_is_a_day_order() -> None:
    cmd = command_from_message(nos(TimeInForce=None), A)
    assert isinstance(cmd, NewOrder) and cmd.time_in_force is m.TimeInForce.Day


@pytest.mark.parametrize(
    ("fields", "reason", "tag"),
    [
        ({"Price": None}, BusinessRejectReason.REQUIRED_FIELD_MISSING, 44),
        ({"OrdType": m.OrderTypeReq.StopLimit}, BusinessRejectReason.REQUIRED_FIELD_MISSING, 99),
        (
            {"TimeInForce": m.TimeInForce.GoodTillDate},
            BusinessRejectReason.REQUIRED_FIELD_MISSING,
            432,
        ),
        ({"Side": m.SideReq.Undisclosed}, BusinessRejectReason.ENUM_NOT_SUPPORTED, 54),
        ({"Side": 9}, BusinessRejectReason.ENUM_NOT_SUPPORTED, 54),
        ({"OrdType": "Z"}, BusinessRejectReason.ENUM_NOT_SUPPORTED, 40),
        ({"TimeInForce": 42}, BusinessRejectReason.ENUM_NOT_SUPPORTED, 59),
        ({"ManualOrderIndicator": 5}, BusinessRejectReason.ENUM_NOT_SUPPORTED, 1028),
    ],
)
def test_unprocessable_new_order_is_a_business_reject(
    fields: dict[str, Any], reason: BusinessRejectReason, tag: int
) -> None:
    rej = command_from_message(nos(**fields), A, NOW)
    assert isinstance(rej, BusinessRejected)
    assert (rej.reason, rej.ref_tag_id, rej.ref_msg_type) == (reason, tag, "D")
    assert (rej.ref_id, rej.echo.seq_num, rej.echo.cl_ord_id) == (33, 12, "ABC")
    msg = one(rej)
    assert isinstance(msg, m.BusinessReject521) and msg.RefTagID == tag


def test_cancel_replace_request_becomes_a_modify_command() -> None:
    msg = m.OrderCancelReplaceRequest515(
        Price=Decimal("3999"), OrderQty=2, SecurityID=ES, Side=m.SideReq.Sell, SeqNum=3,
        SenderID="T", ClOrdID="R1", PartyDetailsListReqID=1, OrderRequestID=9,
        SendingTimeEpoch=NOW, Location="US", OrdType=m.OrderTypeReq.Limit,
        ManualOrderIndicator=m.ManualOrdIndReq.Automated, OFMOverride=m.OFMOverrideReq.Disabled,
        OrderID=None, TimeInForce=m.TimeInForce.GoodTillCancel,
    )  # fmt: skip
    cmd = command_from_message(m.decode(msg.encode()), A)
    assert isinstance(cmd, ModifyOrder)
    assert cmd.order_id is None and cmd.price == px("3999") and not cmd.ofm_override
    assert cmd.time_in_force is m.TimeInForce.GoodTillCancel
    enabled = command_from_message(
        msg.__class__(**{**msg.to_dict(), "OFMOverride": 1, "OrderID": 5}), A
    )  # type: ignore[arg-type]
    assert isinstance(enabled, ModifyOrder) and enabled.ofm_override and enabled.order_id == 5


def test_cancel_request_becomes_a_cancel_command() -> None:
    msg = m.OrderCancelRequest516(
        PartyDetailsListReqID=1, ManualOrderIndicator=m.ManualOrdIndReq.Automated, SeqNum=4,
        SenderID="T", ClOrdID="X", OrderRequestID=10, SendingTimeEpoch=NOW, Location="US",
        SecurityID=ES, Side=m.SideReq.Buy, OrderID=8,
    )  # fmt: skip
    cmd = command_from_message(msg, A)
    assert cmd == CancelOrder(A, cmd.echo, 8, ES, m.SideReq.Buy)  # type: ignore[union-attr]


def mass_msg(**kw: Any) -> m.OrderMassActionRequest529:
    base: dict[str, Any] = dict(
        PartyDetailsListReqID=1, OrderRequestID=11, ManualOrderIndicator=0, SeqNum=5,
        SenderID="T", SendingTimeEpoch=NOW, Location="US",
        MassActionScope=m.MassActionScope.Instrument, SecurityID=ES, SecurityGroup="ES",
    )  # fmt: skip
    base.update(kw)
    return m.OrderMassActionRequest529(**base)


def test_mass_action_request_becomes_a_mass_action_command() -> None:
    cmd = command_from_message(mass_msg(Side=m.SideNULL.Sell, TimeInForce=1), A)
    assert isinstance(cmd, MassAction)
    assert (cmd.scope, cmd.security_id, cmd.security_group) == (
        m.MassActionScope.Instrument,
        ES,
        None,
    )
    assert cmd.side is m.SideNULL.Sell and cmd.time_in_force is m.MassCancelTIF.GoodTillCancel


@pytest.mark.parametrize(
    ("fields", "tag"),
    [
        ({"SecurityID": None}, 48),
        ({"MassActionScope": m.MassActionScope.InstrumentGroup, "SecurityGroup": None}, 1151),
        ({"MassActionScope": m.MassActionScope.MarketSegmentID}, 1300),
        ({"MassActionScope": 3}, 1374),
        ({"OrdType": "1"}, 40),
    ],
)
def test_unprocessable_mass_action_is_a_business_reject(fields: dict[str, Any], tag: int) -> None:
    rej = command_from_message(mass_msg(**fields), A)
    assert isinstance(rej, BusinessRejected) and rej.ref_tag_id == tag and rej.ref_msg_type == "CA"


def test_order_status_request_becomes_a_status_command() -> None:
    msg = m.OrderStatusRequest533(
        PartyDetailsListReqID=1, OrdStatusReqID=77, ManualOrderIndicator=0, SeqNum=6,
        SenderID="T", OrderID=12, SendingTimeEpoch=NOW, Location="US",
    )  # fmt: skip
    cmd = command_from_message(msg, A)
    assert isinstance(cmd, StatusRequest) and (cmd.order_id, cmd.ord_status_req_id) == (12, 77)


def test_other_client_templates_are_unsupported_message_types() -> None:
    msg = m.PartyDetailsListRequest537(PartyDetailsListReqID=1, SendingTimeEpoch=NOW, SeqNum=7)
    rej = command_from_message(msg, A)
    assert isinstance(rej, BusinessRejected)
    assert rej.reason is BusinessRejectReason.UNSUPPORTED_MESSAGE_TYPE and rej.ref_msg_type == "CF"
    assert m.OrderStatusRequest533 in SUPPORTED_REQUESTS


def test_request_to_report_end_to_end() -> None:
    """Wire bytes in, wire bytes out: what a gateway does with the three pieces."""
    e = MatchingEngine(trade_date=TRADE_DATE)
    seller, buyer = Owner("SEL", "FIRMS", 80), Owner("BUY", "FIRMB", 80)
    out: list[tuple[Owner, MessageBase]] = []
    for owner, side in ((seller, m.SideReq.Sell), (buyer, m.SideReq.Buy)):
        request = m.decode(nos(Side=side).encode())
        cmd = command_from_message(request, owner, NOW)
        events = [cmd] if isinstance(cmd, BusinessRejected) else e.handle(cmd, NOW)
        out += [(x.owner, msg) for x in events for msg in to_messages(x, NOW)]
    assert [(o.session, type(x).__name__) for o, x in out] == [
        ("SEL", "ExecutionReportNew522"),
        ("BUY", "ExecutionReportNew522"),
        ("BUY", "ExecutionReportTradeOutright525"),
        ("SEL", "ExecutionReportTradeOutright525"),
    ]
