"""iLink 3 requests → matching-engine commands, and engine events → the SBE messages CME sends.

Theory of operation
-------------------
Inbound, :func:`command_from_message` turns a decoded client business message
(NewOrderSingle514, OrderCancelReplaceRequest515, OrderCancelRequest516,
OrderMassActionRequest529, OrderStatusRequest533) into the engine command of
:mod:`.matching`, or — when the message cannot be processed at all — into a
:class:`~.matching.BusinessRejected` event (BusinessReject521): a value outside the enums the
venue supports is reason 115 "Enum Not Supported", a conditionally required field that is
absent is reason 5 "Required Field Missing", each with RefTagID naming the field; any other
client template is reason 3 "Unsupported Message Type". Business-rule checks (price, quantity,
time in force …) are the engine's, answered with ExecutionReportReject523 or the cancel/modify
rejects. SenderID is upper-cased, as CME does ("This tag value is always uppercase, regardless
of the case in the inbound message tag", iLink 3 Execution Report pages of CME's Client Systems
Wiki).

Outbound, :func:`to_messages` maps one event to the message(s) the owning session
(``event.owner``) receives:

=====================  ==============================================================
Accepted               ExecutionReportNew522
Modified               ExecutionReportModify531
Cancelled              ExecutionReportCancel534 (ExecRestatementReason 100 for CoD)
Filled                 ExecutionReportTradeOutright525 (NoFills 1 entry, NoOrderEvents
                       one entry per match)
Eliminated             ExecutionReportElimination524
Rejected               ExecutionReportReject523
CancelRejected         OrderCancelReject535
ModifyRejected         OrderCancelReplaceReject536
StatusReport           ExecutionReportStatus532
MassActionReport       OrderMassActionReport562 (fragments of ≤ 255 affected orders)
BusinessRejected       BusinessReject521
Triggered              nothing (CME sends no message when a stop triggers)
=====================  ==============================================================

Session-layer fields are the session's: messages are built with ``SeqNum=0``, ``UUID=0``,
``PossRetransFlag=False`` and ``SendingTimeEpoch=now``; the FIXP layer stamps the real ones.
TransactTime is the event's time. ExecID is ``"<MarketSegmentID>:<exec id>"`` (CME's sample
ExecIDs look like ``84618:1342652``); OrderID is the engine's number, 0 on a rejected new order
(no order was created).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from dropcopy.ilink3 import messages as m
from dropcopy.sbe.errors import EncodeError
from dropcopy.sbe.runtime import Block, MessageBase

from .matching import (
    Accepted,
    BusinessRejected,
    BusinessRejectReason,
    Cancelled,
    CancelOrder,
    CancelReason,
    CancelRejected,
    Command,
    Echo,
    Eliminated,
    Event,
    Filled,
    MassAction,
    MassActionReport,
    Modified,
    ModifyOrder,
    ModifyRejected,
    NewOrder,
    OrderTerms,
    Owner,
    Rejected,
    StatusReport,
    StatusRequest,
    Triggered,
)

__all__ = [
    "SUPPORTED_REQUESTS",
    "command_from_message",
    "exec_id_text",
    "to_messages",
]

_NULL_PRICE9: Final = 9223372036854775807


def exec_id_text(owner: Owner, exec_id: int) -> str:
    """ExecID (tag 17, String40) of an engine exec id: ``<MarketSegmentID>:<n>``."""
    return f"{owner.market_segment_id}:{exec_id}"


# --------------------------------------------------------------------------- events -> SBE
#
# Reports are built straight from wire values with the codec's ``Block.from_raw`` (no per-field
# conversion): a :class:`_Layout` knows, from the generated
# class's public field metadata (``SBE_FIELDS``: slot, null value), where each field goes and
# what its null is. The engine's values are already in wire form (PRICE9 mantissas, ints), so
# this skips the keyword constructors' per-field conversions — about five times faster, which
# matters at the gateway's rate (docs/matching.md, "Performance"). The tests check every report
# field by field, by an encode/decode round trip, and against the keyword constructor (the
# message rebuilt from its own values must be equal).


class _Layout:
    """Slots of one generated block (message root or group entry) and its all-null wire tuple."""

    __slots__ = ("cls", "null", "slots")

    def __init__(
        self, cls: type[Block], names: tuple[str, ...], fixed: dict[str, Any] | None = None
    ) -> None:
        fields = sorted((f for f in cls.SBE_FIELDS if f.slot >= 0), key=lambda f: f.slot)
        null: list[Any] = []
        for f in fields:
            if f.slot != len(null):  # pragma: no cover - a codec this module does not know
                raise TypeError(f"{cls.NAME}: unexpected slot layout at {f.name}")
            if f.nslots == 1:
                null.append(f.null)
            else:
                null.extend(f.null)
        where = {f.name: f.slot for f in fields}
        for name, value in (fixed or {}).items():
            null[where[name]] = value
        self.cls = cls
        self.null = null
        #: Slots of ``names``, the order :meth:`build` takes values in.
        self.slots = tuple(where[n] for n in names)

    def build(self, values: tuple[Any, ...], groups: tuple[Any, ...] | None = None) -> Any:
        """An instance whose ``names`` fields hold ``values`` (wire form; ``None``: null)."""
        raw = self.null.copy()
        for i, v in zip(self.slots, values, strict=True):
            if v is not None:
                raw[i] = v
        return self.cls.from_raw(raw, groups or ())


#: Session-layer fields stamped later by the FIXP layer (SeqNum, UUID, PossRetransFlag).
_SESSION_PLACEHOLDERS: Final = {"SeqNum": 0, "UUID": 0, "PossRetransFlag": 0}
_CHAR: Final[dict[str, bytes]] = {
    member: member.value.encode("latin-1")
    for enum in (m.OrderType, m.OrderTypeReq, m.MassActionOrdTyp)
    for member in enum
}


def _chars(text: str, width: int) -> bytes:
    """A char array's wire value (NUL-padded, as decoding gives it back)."""
    b = text.encode("latin-1")
    if len(b) > width:
        raise EncodeError(f"{text!r} does not fit in {width} characters")
    return b.ljust(width, b"\x00")


def _text(text: str) -> bytes | None:
    """Text (58, String256, optional): cut to fit; empty is null."""
    if not text:
        return None
    return text.encode("latin-1", "replace")[:256].ljust(256, b"\x00")


def _opt(v: int | None) -> int | None:
    return None if v is None else int(v)


def _u32(v: int) -> int:
    return 0 if v < 0 else (0xFFFFFFFF if v > 0xFFFFFFFF else v)


# Fields common to 522/524/531/534 (an accepted order's identity), in this order:
_ORDER_FIELDS: Final = (
    "ExecID", "SenderID", "ClOrdID", "PartyDetailsListReqID", "OrderID", "Price", "StopPx",
    "TransactTime", "SendingTimeEpoch", "OrderRequestID", "Location", "SecurityID", "OrderQty",
    "MinQty", "DisplayQty", "ExpireDate", "OrdType", "Side", "TimeInForce",
    "ManualOrderIndicator",
)  # fmt: skip


def _order_values(t: OrderTerms, echo: Echo, exec_id: int, time: int, now: int) -> tuple[Any, ...]:
    return (
        _chars(exec_id_text(t.owner, exec_id), 40),
        _chars(echo.sender_id, 20),
        _chars(echo.cl_ord_id, 20),
        echo.party_details_list_req_id,
        t.order_id,
        t.price,
        t.stop_px,
        time,
        now,
        echo.order_request_id,
        _chars(echo.location, 5),
        t.security_id,
        t.order_qty,
        t.min_qty,
        t.display_qty,
        t.expire_date,
        _CHAR[t.ord_type],
        int(t.side),
        int(t.time_in_force),
        int(echo.manual_order_indicator),
    )


_NEW: Final = _Layout(m.ExecutionReportNew522, _ORDER_FIELDS, _SESSION_PLACEHOLDERS)
_MODIFY: Final = _Layout(
    m.ExecutionReportModify531, (*_ORDER_FIELDS, "CumQty", "LeavesQty"), _SESSION_PLACEHOLDERS
)
_CANCEL: Final = _Layout(
    m.ExecutionReportCancel534,
    (*_ORDER_FIELDS, "CumQty", "ExecRestatementReason"),
    _SESSION_PLACEHOLDERS,
)
_ELIMINATION: Final = _Layout(
    m.ExecutionReportElimination524, (*_ORDER_FIELDS, "CumQty"), _SESSION_PLACEHOLDERS
)
_CANCEL_ON_DISCONNECT: Final = int(m.ExecReason.CancelOnDisconnect)


def _new(e: Accepted, now: int) -> list[MessageBase]:
    t = e.order
    return [_NEW.build(_order_values(t, t.echo, e.exec_id, e.transact_time, now))]


def _modify(e: Modified, now: int) -> list[MessageBase]:
    t = e.order
    values = _order_values(t, t.echo, e.exec_id, e.transact_time, now)
    return [_MODIFY.build((*values, e.cum_qty, e.leaves_qty))]


def _cancel(e: Cancelled, now: int) -> list[MessageBase]:
    values = _order_values(e.order, e.echo, e.exec_id, e.transact_time, now)
    # ExecRestatementReason (378) "used to communicate unsolicited cancels": CoD here.
    reason = _CANCEL_ON_DISCONNECT if e.reason is CancelReason.CANCEL_ON_DISCONNECT else None
    return [_CANCEL.build((*values, e.cum_qty, reason))]


def _eliminate(e: Eliminated, now: int) -> list[MessageBase]:
    t = e.order
    values = _order_values(t, t.echo, e.exec_id, e.transact_time, now)
    return [_ELIMINATION.build((*values, e.cum_qty))]


_TRADE: Final = _Layout(
    m.ExecutionReportTradeOutright525,
    (
        "ExecID", "SenderID", "ClOrdID", "PartyDetailsListReqID", "LastPx", "OrderID", "Price",
        "StopPx", "TransactTime", "SendingTimeEpoch", "OrderRequestID", "SecExecID", "Location",
        "SecurityID", "OrderQty", "LastQty", "CumQty", "MDTradeEntryID", "SideTradeID",
        "LeavesQty", "TradeDate", "ExpireDate", "OrdStatus", "OrdType", "Side", "TimeInForce",
        "ManualOrderIndicator", "AggressorIndicator",
    ),
    {**_SESSION_PLACEHOLDERS, "Ownership": 0},
)  # fmt: skip
_FILL: Final = _Layout(
    m.ExecutionReportTradeOutright525_NoFills,
    ("FillPx", "FillQty"),
    {"FillExecID": b"1\x00", "FillYieldType": 0},
)
_ORDER_EVENT: Final = _Layout(
    m.ExecutionReportTradeOutright525_NoOrderEvents,
    ("OrderEventPx", "OrderEventExecID", "OrderEventQty", "OrderEventType"),
    {"OrderEventReason": 0},
)
_FILLED: Final = int(m.OrdStatusTrd.Filled)
_PARTIAL: Final = int(m.OrdStatusTrd.PartiallyFilled)
_EVENT_FILLED: Final = int(m.OrderEventType.Filled)
_EVENT_PARTIAL: Final = int(m.OrderEventType.PartiallyFilled)


def _trade(e: Filled, now: int) -> list[MessageBase]:
    t = e.order
    echo = t.echo
    px = e.last_px
    done = e.leaves_qty == 0
    event_type = _EVENT_FILLED if done else _EVENT_PARTIAL
    fills = (_FILL.build((px, e.last_qty)),)
    order_events = tuple(_ORDER_EVENT.build((px, x.match_id, x.qty, event_type)) for x in e.matches)
    return [
        _TRADE.build(
            (
                _chars(exec_id_text(t.owner, e.exec_id), 40),
                _chars(echo.sender_id, 20),
                _chars(echo.cl_ord_id, 20),
                echo.party_details_list_req_id,
                px,
                t.order_id,
                t.price,
                t.stop_px,
                e.transact_time,
                now,
                echo.order_request_id,
                e.side_trade_id,
                _chars(echo.location, 5),
                t.security_id,
                t.order_qty,
                e.last_qty,
                e.cum_qty,
                e.md_trade_entry_id,
                e.side_trade_id,
                e.leaves_qty,
                e.trade_date,
                t.expire_date,
                _FILLED if done else _PARTIAL,
                _CHAR[t.ord_type],
                int(t.side),
                int(t.time_in_force),
                int(echo.manual_order_indicator),
                1 if e.aggressor else 0,
            ),
            (fills, order_events),
        )
    ]


_REJECT: Final = _Layout(
    m.ExecutionReportReject523,
    (*_ORDER_FIELDS, "Text", "OrdRejReason"),
    {**_SESSION_PLACEHOLDERS, "OrderID": 0},
)


def _reject(e: Rejected, now: int) -> list[MessageBase]:
    r = e.request
    echo = r.echo
    return [
        _REJECT.build(
            (
                _chars(exec_id_text(r.owner, e.exec_id), 40),
                _chars(echo.sender_id, 20),
                _chars(echo.cl_ord_id, 20),
                echo.party_details_list_req_id,
                0,  # no order was created
                r.price,
                r.stop_px,
                e.transact_time,
                now,
                echo.order_request_id,
                _chars(echo.location, 5),
                r.security_id,
                _u32(r.order_qty),
                _opt(r.min_qty),
                _opt(r.display_qty),
                r.expire_date,
                _CHAR.get(r.ord_type),
                int(r.side),
                int(r.time_in_force),
                int(echo.manual_order_indicator),
                _text(e.text),
                e.reason,
            )
        )
    ]


_CXL_REJECT_FIELDS: Final = (
    "Text", "ExecID", "SenderID", "ClOrdID", "PartyDetailsListReqID", "OrderID", "TransactTime",
    "SendingTimeEpoch", "OrderRequestID", "Location", "CxlRejReason", "ManualOrderIndicator",
)  # fmt: skip
_CANCEL_REJECT: Final = _Layout(m.OrderCancelReject535, _CXL_REJECT_FIELDS, _SESSION_PLACEHOLDERS)
_MODIFY_REJECT: Final = _Layout(
    m.OrderCancelReplaceReject536, _CXL_REJECT_FIELDS, _SESSION_PLACEHOLDERS
)


def _cxl_reject_values(e: CancelRejected | ModifyRejected, now: int) -> tuple[Any, ...]:
    echo = e.echo
    return (
        _text(e.text),
        _chars(exec_id_text(e.owner, e.exec_id), 40),
        _chars(echo.sender_id, 20),
        _chars(echo.cl_ord_id, 20),
        echo.party_details_list_req_id,
        e.order_id,
        e.transact_time,
        now,
        echo.order_request_id,
        _chars(echo.location, 5),
        e.reason,
        int(echo.manual_order_indicator),
    )


def _cancel_reject(e: CancelRejected, now: int) -> list[MessageBase]:
    return [_CANCEL_REJECT.build(_cxl_reject_values(e, now))]


def _modify_reject(e: ModifyRejected, now: int) -> list[MessageBase]:
    return [_MODIFY_REJECT.build(_cxl_reject_values(e, now))]


_STATUS: Final = _Layout(
    m.ExecutionReportStatus532,
    (*_ORDER_FIELDS, "CumQty", "LeavesQty", "OrdStatus", "OrdStatusReqID", "Text"),
    _SESSION_PLACEHOLDERS,
)
_NOT_FOUND: Final = _text("Order Status Not Found")


def _status(e: StatusReport, now: int) -> list[MessageBase]:
    req = e.echo
    status = e.ord_status.value.encode("latin-1")
    t = e.order
    if t is None:
        values: tuple[Any, ...] = (
            _chars(exec_id_text(e.owner, e.exec_id), 40),
            _chars(req.sender_id, 20),
            bytes(20),
            req.party_details_list_req_id,
            e.order_id,
            None,
            None,
            e.transact_time,
            now,
            0,
            _chars(req.location, 5),
            0,
            0,
            None,
            None,
            None,
            None,
            int(m.SideReq.Undisclosed),  # Side is required; the order is unknown
            None,
            int(req.manual_order_indicator),
        )
        return [_STATUS.build((*values, 0, 0, status, e.ord_status_req_id, _NOT_FOUND))]
    values = _order_values(t, t.echo, e.exec_id, e.transact_time, now)
    # SenderID, Location and ManualOrderIndicator answer the request; the rest is the order's.
    values = (
        values[0],
        _chars(req.sender_id, 20),
        *values[2:10],
        _chars(req.location, 5),
        *values[11:19],
        int(req.manual_order_indicator),
    )
    return [_STATUS.build((*values, e.cum_qty, e.leaves_qty, status, e.ord_status_req_id, None))]


#: NoAffectedOrders holds at most this many entries per message (schema: uint8 numInGroup).
_AFFECTED_PER_MESSAGE: Final = next(
    g.max_count for g in m.OrderMassActionReport562.SBE_GROUPS if g.name == "NoAffectedOrders"
)
_MASS: Final = _Layout(
    m.OrderMassActionReport562,
    (
        "SenderID", "PartyDetailsListReqID", "TransactTime", "SendingTimeEpoch",
        "OrderRequestID", "MassActionReportID", "SecurityGroup", "Location", "SecurityID",
        "MassActionResponse", "ManualOrderIndicator", "MassActionScope", "TotalAffectedOrders",
        "LastFragment", "MassActionRejectReason", "MarketSegmentID", "MassCancelRequestType",
        "Side", "OrdType", "TimeInForce",
    ),
    _SESSION_PLACEHOLDERS,
)  # fmt: skip
_AFFECTED: Final = _Layout(
    m.OrderMassActionReport562_NoAffectedOrders, ("OrigCIOrdID", "AffectedOrderID", "CxlQuantity")
)


def _mass_report(e: MassActionReport, now: int) -> list[MessageBase]:
    r = e.request
    echo = r.echo
    affected = [
        _AFFECTED.build((_chars(a.cl_ord_id, 20), a.order_id, a.cxl_qty)) for a in e.affected
    ]
    chunks = [
        tuple(affected[i : i + _AFFECTED_PER_MESSAGE])
        for i in range(0, len(affected), _AFFECTED_PER_MESSAGE)
    ] or [()]
    head = (
        _chars(echo.sender_id, 20),
        echo.party_details_list_req_id,
        e.transact_time,
        now,
        echo.order_request_id,
        e.mass_action_report_id,
        None if r.security_group is None else _chars(r.security_group, 6),
        _chars(echo.location, 5),
        r.security_id,
        int(m.MassActionResponse.Accepted if e.accepted else m.MassActionResponse.Rejected),
        int(echo.manual_order_indicator),
        int(r.scope),
        len(affected),
    )
    tail = (
        _opt(e.reject_reason),
        r.market_segment_id,
        _opt(r.mass_cancel_request_type),
        _opt(r.side),
        None if r.ord_type is None else _CHAR[r.ord_type],
        _opt(r.time_in_force),
    )
    last = len(chunks)
    return [
        _MASS.build((*head, 1 if n == last else 0, *tail), (chunk,))
        for n, chunk in enumerate(chunks, 1)
    ]


_BUSINESS_REJECT: Final = _Layout(
    m.BusinessReject521,
    (
        "Text", "SenderID", "PartyDetailsListReqID", "SendingTimeEpoch", "BusinessRejectRefID",
        "Location", "RefSeqNum", "RefTagID", "BusinessRejectReason", "RefMsgType",
        "ManualOrderIndicator",
    ),
    _SESSION_PLACEHOLDERS,
)  # fmt: skip


def _business_reject(e: BusinessRejected, now: int) -> list[MessageBase]:
    echo = e.echo
    return [
        _BUSINESS_REJECT.build(
            (
                _text(e.text),
                _chars(echo.sender_id, 20) if echo.sender_id else None,
                echo.party_details_list_req_id,
                now,
                e.ref_id,
                _chars(echo.location, 5) if echo.location else None,
                echo.seq_num or None,
                e.ref_tag_id,
                int(e.reason),
                _chars(e.ref_msg_type, 2),
                int(echo.manual_order_indicator),
            )
        )
    ]


def _nothing(e: Triggered, now: int) -> list[MessageBase]:
    return []


_MAPPERS: Final[dict[type, Callable[[Any, int], list[MessageBase]]]] = {
    Accepted: _new,
    Modified: _modify,
    Cancelled: _cancel,
    Filled: _trade,
    Eliminated: _eliminate,
    Rejected: _reject,
    CancelRejected: _cancel_reject,
    ModifyRejected: _modify_reject,
    StatusReport: _status,
    MassActionReport: _mass_report,
    BusinessRejected: _business_reject,
    Triggered: _nothing,
}


def to_messages(event: Event, now: int) -> list[MessageBase]:
    """The SBE message(s) ``event.owner`` receives for ``event`` (see the module table)."""
    return _MAPPERS[type(event)](event, now)


# --------------------------------------------------------------------------- SBE -> commands


def _slot(cls: type[MessageBase], name: str) -> int:
    for f in cls.SBE_FIELDS:
        if f.name == name:
            return f.slot
    raise LookupError(f"{cls.NAME} has no field {name}")  # pragma: no cover


# Prices are read as PRICE9 mantissas straight from the decoded wire tuple (no Decimal).
_NOS_PRICE: Final = _slot(m.NewOrderSingle514, "Price")
_NOS_STOP: Final = _slot(m.NewOrderSingle514, "StopPx")
_OCR_PRICE: Final = _slot(m.OrderCancelReplaceRequest515, "Price")
_OCR_STOP: Final = _slot(m.OrderCancelReplaceRequest515, "StopPx")

_SIDES: Final = {m.SideReq.Buy: m.SideReq.Buy, m.SideReq.Sell: m.SideReq.Sell}
_ORD_TYPES: Final = {t: t for t in m.OrderTypeReq}
_TIFS: Final = {t: t for t in m.TimeInForce}
_MANUAL: Final = {v: v for v in m.ManualOrdIndReq}
_NEEDS_PRICE: Final = frozenset({m.OrderTypeReq.Limit, m.OrderTypeReq.StopLimit})
_NEEDS_STOP: Final = frozenset({m.OrderTypeReq.StopLimit, m.OrderTypeReq.StopwithProtection})


class _Refused(Exception):
    def __init__(self, reason: BusinessRejectReason, tag: int, text: str) -> None:
        super().__init__(text)
        self.reason = reason
        self.tag = tag
        self.text = text


def _enum(table: dict[Any, Any], value: Any, tag: int, name: str) -> Any:
    found = table.get(value)
    if found is None or type(value) is not type(found):
        raise _Refused(
            BusinessRejectReason.ENUM_NOT_SUPPORTED, tag, f"Enum Not Supported: {name}={value!r}"
        )
    return found


def _required(value: Any, tag: int, name: str) -> None:
    if value is None:
        raise _Refused(
            BusinessRejectReason.REQUIRED_FIELD_MISSING,
            tag,
            f"Required Field Missing: {name} ({tag})",
        )


def _echo(msg: Any, cl_ord_id: str, request_id: int) -> Echo:
    manual = _MANUAL.get(msg.ManualOrderIndicator, m.ManualOrdIndReq.Automated)
    return Echo(
        cl_ord_id,
        request_id,
        msg.SenderID.upper(),
        msg.Location,
        msg.PartyDetailsListReqID,
        manual,
        msg.SeqNum,
    )


def _price(raw: int) -> int | None:
    return None if raw == _NULL_PRICE9 else raw


def _order_enums(
    msg: m.NewOrderSingle514 | m.OrderCancelReplaceRequest515,
) -> tuple[Any, Any, m.TimeInForce]:
    """Side, OrdType and TimeInForce of a new or replacing order (ManualOrderIndicator checked)."""
    side = _enum(_SIDES, msg.Side, 54, "Side")
    ord_type = _enum(_ORD_TYPES, msg.OrdType, 40, "OrdType")
    tif_raw = msg.TimeInForce
    tif = m.TimeInForce.Day if tif_raw is None else _enum(_TIFS, tif_raw, 59, "TimeInForce")
    _enum(_MANUAL, msg.ManualOrderIndicator, 1028, "ManualOrderIndicator")
    return side, ord_type, tif


def _order_prices(
    msg: m.NewOrderSingle514 | m.OrderCancelReplaceRequest515,
    ord_type: Any,
    tif: m.TimeInForce,
    price_slot: int,
    stop_slot: int,
) -> tuple[int | None, int | None, int | None]:
    """Price, StopPx and ExpireDate, each required where the order type or TIF needs it."""
    raw = msg.raw
    price = _price(raw[price_slot])
    stop = _price(raw[stop_slot])
    if ord_type in _NEEDS_PRICE:
        _required(price, 44, "Price")
    if ord_type in _NEEDS_STOP:
        _required(stop, 99, "StopPx")
    expire = msg.ExpireDate
    if tif is m.TimeInForce.GoodTillDate:
        _required(expire, 432, "ExpireDate")
    return price, stop, expire


def _new_order(msg: m.NewOrderSingle514, owner: Owner) -> NewOrder:
    side, ord_type, tif = _order_enums(msg)
    price, stop, expire = _order_prices(msg, ord_type, tif, _NOS_PRICE, _NOS_STOP)
    return NewOrder(
        owner,
        _echo(msg, msg.ClOrdID, msg.OrderRequestID),
        msg.SecurityID,
        side,
        msg.OrderQty,
        ord_type,
        price,
        tif,
        stop,
        expire,
        msg.MinQty,
        msg.DisplayQty,
    )


def _modify_order(msg: m.OrderCancelReplaceRequest515, owner: Owner) -> ModifyOrder:
    side, ord_type, tif = _order_enums(msg)
    ofm = _enum({v: v for v in m.OFMOverrideReq}, msg.OFMOverride, 9768, "OFMOverride")
    price, stop, expire = _order_prices(msg, ord_type, tif, _OCR_PRICE, _OCR_STOP)
    return ModifyOrder(
        owner,
        _echo(msg, msg.ClOrdID, msg.OrderRequestID),
        msg.OrderID,
        msg.SecurityID,
        side,
        msg.OrderQty,
        ord_type,
        price,
        tif,
        stop,
        expire,
        msg.MinQty,
        msg.DisplayQty,
        ofm is m.OFMOverrideReq.Enabled,
    )


def _cancel_order(msg: m.OrderCancelRequest516, owner: Owner) -> CancelOrder:
    side = _enum(_SIDES, msg.Side, 54, "Side")
    _enum(_MANUAL, msg.ManualOrderIndicator, 1028, "ManualOrderIndicator")
    return CancelOrder(
        owner, _echo(msg, msg.ClOrdID, msg.OrderRequestID), msg.OrderID, msg.SecurityID, side
    )


def _mass_action(msg: m.OrderMassActionRequest529, owner: Owner) -> MassAction:
    scope = _enum({v: v for v in m.MassActionScope}, msg.MassActionScope, 1374, "MassActionScope")
    _enum(_MANUAL, msg.ManualOrderIndicator, 1028, "ManualOrderIndicator")
    if scope is m.MassActionScope.Instrument:
        _required(msg.SecurityID, 48, "SecurityID")
    elif scope is m.MassActionScope.InstrumentGroup:
        _required(msg.SecurityGroup, 1151, "SecurityGroup")
    elif scope is m.MassActionScope.MarketSegmentID:
        _required(msg.MarketSegmentID, 1300, "MarketSegmentID")
    side = msg.Side
    if side is not None:
        side = _enum({v: v for v in m.SideNULL}, side, 54, "Side")
    ord_type = msg.OrdType
    if ord_type is not None:
        ord_type = _enum({v: v for v in m.MassActionOrdTyp}, ord_type, 40, "OrdType")
    tif = msg.TimeInForce
    if tif is not None:
        tif = _enum({v: v for v in m.MassCancelTIF}, tif, 59, "TimeInForce")
    kind = msg.MassCancelRequestType
    if kind is not None:
        kind = _enum({v: v for v in m.MassCxlReqTyp}, kind, 6115, "MassCancelRequestType")
    return MassAction(
        owner,
        _echo(msg, "", msg.OrderRequestID),
        scope,
        msg.SecurityID if scope is m.MassActionScope.Instrument else None,
        msg.SecurityGroup if scope is m.MassActionScope.InstrumentGroup else None,
        msg.MarketSegmentID if scope is m.MassActionScope.MarketSegmentID else None,
        side,
        ord_type,
        tif,
        kind,
    )


def _status_request(msg: m.OrderStatusRequest533, owner: Owner) -> StatusRequest:
    _enum(_MANUAL, msg.ManualOrderIndicator, 1028, "ManualOrderIndicator")
    return StatusRequest(owner, _echo(msg, "", 0), msg.OrderID, msg.OrdStatusReqID)


_CONVERTERS: Final[dict[type, tuple[Callable[[Any, Owner], Command], str]]] = {
    m.NewOrderSingle514: (_new_order, "OrderRequestID"),
    m.OrderCancelReplaceRequest515: (_modify_order, "OrderRequestID"),
    m.OrderCancelRequest516: (_cancel_order, "OrderRequestID"),
    m.OrderMassActionRequest529: (_mass_action, "OrderRequestID"),
    m.OrderStatusRequest533: (_status_request, "OrdStatusReqID"),
}

#: The client business templates the engine processes.
SUPPORTED_REQUESTS: Final = frozenset(_CONVERTERS)


def command_from_message(
    msg: MessageBase, owner: Owner, now: int = 0
) -> Command | BusinessRejected:
    """The engine command for a client request from ``owner``'s session, or the
    BusinessReject521 event answering a request that cannot be processed (``now`` is its
    TransactTime)."""
    entry = _CONVERTERS.get(type(msg))
    if entry is None:
        return BusinessRejected(
            now,
            owner,
            _loose_echo(msg),
            msg.SEMANTIC_TYPE,
            BusinessRejectReason.UNSUPPORTED_MESSAGE_TYPE,
            f"Unsupported Message Type: {msg.NAME}",
        )
    convert, id_field = entry
    try:
        return convert(msg, owner)
    except _Refused as refused:
        echo = _loose_echo(msg)
        return BusinessRejected(
            now,
            owner,
            echo,
            msg.SEMANTIC_TYPE,
            refused.reason,
            refused.text,
            refused.tag,
            getattr(msg, id_field, None),
        )


def business_reject(
    msg: MessageBase,
    owner: tuple[str, str],
    segment: int,
    reason: BusinessRejectReason,
    text: str,
    now: int,
) -> list[MessageBase]:
    """A BusinessReject521 refusing ``msg`` for a reason outside the engine (e.g. 131, a business
    message on the backup instance)."""
    who = Owner(owner[0], owner[1], segment)
    event = BusinessRejected(now, who, _loose_echo(msg), msg.SEMANTIC_TYPE, reason, text)
    return to_messages(event, now)


def _loose_echo(msg: MessageBase) -> Echo:
    """The echo fields a message has, whatever its template."""
    manual = getattr(msg, "ManualOrderIndicator", None)
    sender = getattr(msg, "SenderID", "")
    return Echo(
        getattr(msg, "ClOrdID", ""),
        getattr(msg, "OrderRequestID", 0),
        sender.upper() if isinstance(sender, str) else "",
        getattr(msg, "Location", ""),
        getattr(msg, "PartyDetailsListReqID", 0),
        _MANUAL.get(manual, m.ManualOrdIndReq.Automated)
        if manual is not None
        else m.ManualOrdIndReq.Automated,
        getattr(msg, "SeqNum", 0),
    )
