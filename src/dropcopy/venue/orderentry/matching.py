"""The venue's matching engine: pure, deterministic, price-time priority, CME Globex-like.

Theory of operation
-------------------
One :class:`MatchingEngine` holds one central limit order book per instrument
(:mod:`.instruments`) and executes *commands* that mirror the iLink 3 business requests —
:class:`NewOrder` (NewOrderSingle514), :class:`ModifyOrder` (OrderCancelReplaceRequest515),
:class:`CancelOrder` (OrderCancelRequest516), :class:`MassAction` (OrderMassActionRequest529),
:class:`StatusRequest` (OrderStatusRequest533) — plus the venue's own entry points:
:meth:`~MatchingEngine.cancel_on_disconnect`, :meth:`~MatchingEngine.end_of_day` and
:meth:`~MatchingEngine.expire_gtd`. Each returns the list of *events* it caused, in the order
they happened: :class:`Accepted`, :class:`Modified`, :class:`Cancelled`, :class:`Filled` (one per
side of a match), :class:`Eliminated`, :class:`Rejected`, :class:`CancelRejected`,
:class:`ModifyRejected`, :class:`StatusReport`, :class:`MassActionReport`,
:class:`BusinessRejected` and :class:`Triggered`. :mod:`.reports` turns each into the iLink 3
SBE message the owning session receives; every event names that session (``event.owner``).

The engine is a plain object: no clock (``now``, int nanoseconds since the epoch, is an argument
and becomes TransactTime), no I/O, no randomness. Identifiers come from counters (OrderID,
ExecID, match/trade ids), and every container it iterates is insertion-ordered, so the same
command sequence always gives the same events (a test replays random sequences twice).

Book model. Prices are PRICE9 mantissas (``int``). Each side keeps ``keys`` — a sorted list of
its price levels, best first (bids are stored negated so both sides sort ascending) — and a dict
``key -> level``; a level is a dict ``OrderID -> order`` whose insertion order *is* time
priority. Adding, cancelling and filling an order are O(1) dict operations plus an O(log n)
``bisect`` when a level appears or disappears. An incoming order (or a modify that moves price,
or a triggered stop) is the *aggressor*: it matches the opposite side's best level while its
limit allows, against resting orders oldest first, each trade at the resting order's price.

Fill reporting (CME "fill aggregation", see docs/matching.md): per price level swept, the
aggressor gets one :class:`Filled` whose ``matches`` list every resting order it traded with
(the SBE NoOrderEvents group), and each resting order gets its own :class:`Filled` with one
match. Both sides of a match share its ``match_id`` (OrderEventExecID). The aggressor's fill
comes first, then the resting fills in priority order.

Priority rules on modify (CME Globex): a price change, or a quantity increase, loses time
priority (the order goes to the back of its new level, and may trade if the new price crosses);
a quantity decrease keeps it. ``OrderQty`` on a modify is the *total* quantity (in-flight fill
mitigation, OFMOverride=Enabled): leaves = OrderQty − CumQty, and a new OrderQty at or below
CumQty cancels the order. With OFMOverride=Disabled the new OrderQty is the new open quantity.

Order types: limit; market with protection (executes up to the best opposite price ± the
instrument's protection points, the rest works as a limit order at that protection price — it is
acknowledged as such); market-limit (OrdType K: trades at the best opposite price only, the rest
works at that price); stop-limit and stop with protection (the latter is converted to a stop-limit
whose limit is the stop price ± protection points, as CME acknowledges it). Stops trigger on the
last trade price (buy: last ≥ stop; sell: last ≤ stop) and are released in time priority.
Time in force: Day (and GoodForSession, treated as Day), GTC, GTD (ExpireDate, a LocalMktDate),
FAK (MinQty allowed), FOK. Not modelled: iceberg hidden quantity (DisplayQty is validated and
echoed, the whole quantity is displayed), self-match prevention, market states, implied prices.

Validation answers with CME's own codes (see :class:`RejectCode`, docs/matching.md): a request
the engine cannot place in its books (unknown SecurityID, or one of another market segment than
the session's) is a :class:`BusinessRejected` (BusinessRejectReason 2 "Unknown Security").
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Collection, Iterable, Mapping
from enum import IntEnum
from typing import Any, Final, NamedTuple

from dropcopy.ilink3.messages import (
    ExecutionReportTradeOutright525,
    ManualOrdIndReq,
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

from .instruments import DEFAULT_INSTRUMENTS, Instrument, decimal_of, price9

# Enum members bound once: attribute access on an Enum class is slow on the hot path.
_DAY: Final = TimeInForce.Day
_GTC: Final = TimeInForce.GoodTillCancel
_GTD: Final = TimeInForce.GoodTillDate
_FAK: Final = TimeInForce.FillAndKill
_FOK: Final = TimeInForce.FillOrKill
_GFS: Final = TimeInForce.GoodForSession
_REQ_LIMIT: Final = OrderTypeReq.Limit
_REQ_MARKET: Final = OrderTypeReq.MarketwithProtection
_REQ_MARKET_LIMIT: Final = OrderTypeReq.MarketWithLeftoverAsLimit
_REQ_STOP_LIMIT: Final = OrderTypeReq.StopLimit
_REQ_STOP_PROTECTION: Final = OrderTypeReq.StopwithProtection
_LIMIT: Final = OrderType.Limit
_MARKET: Final = OrderType.MarketWithProtection
_MARKET_LIMIT: Final = OrderType.MarketWithLeftoverAsLimit
_STOP_LIMIT: Final = OrderType.StopLimit
_ST_NEW: Final = OrderStatus.New
_ST_PARTIAL: Final = OrderStatus.PartiallyFilled
_ST_FILLED: Final = OrderStatus.Filled
_ST_CANCELLED: Final = OrderStatus.Cancelled
_ST_REPLACED: Final = OrderStatus.Replaced
_ST_EXPIRED: Final = OrderStatus.Expired
_ST_UNDEFINED: Final = OrderStatus.Undefined
_BUY: Final = SideReq.Buy
_SELL: Final = SideReq.Sell

__all__ = [
    "COD_ALL_WORKING",
    "COD_DAY_ONLY",
    "MAX_MATCHES_PER_FILL",
    "Accepted",
    "Affected",
    "BusinessRejectReason",
    "BusinessRejected",
    "CancelOrder",
    "CancelReason",
    "CancelRejected",
    "Cancelled",
    "Command",
    "Echo",
    "Eliminated",
    "EliminationReason",
    "Event",
    "Filled",
    "InvariantError",
    "MassAction",
    "MassActionRejectReason",
    "MassActionReport",
    "Match",
    "MatchingEngine",
    "Modified",
    "ModifyOrder",
    "ModifyRejected",
    "NewOrder",
    "OrderState",
    "OrderTerms",
    "Owner",
    "RejectCode",
    "Rejected",
    "StatusReport",
    "StatusRequest",
    "Triggered",
    "reject_text",
]


# --------------------------------------------------------------------------- codes


class RejectCode(IntEnum):
    """OrdRejReason (103) / CxlRejReason (102) values used by the engine.

    Source: CME Client Systems Wiki, "Futures and Options Reject Codes" (EPICSANDBOX, page
    457324354), which lists the code and its tag 58 text; the same table appears in public
    iLink 3 client code (e.g. Katana Financial's ``SessErrors.cpp``). Texts: :func:`reject_text`.
    """

    FIELD_INCORRECT = 1011
    INVALID_ORDER_QUALIFIER = 1013
    NO_OPPOSITE_LIMIT = 2013
    GTD_EXPIRE_DATE = 2019
    NOT_ON_BOOK = 2045
    DISPLAY_QTY_TOO_LARGE = 2046
    DIFFERENT_SESSION_CANCEL = 2048
    DIFFERENT_SIDE = 2051
    STOP_LIMIT_BELOW_TRIGGER = 2058
    STOP_LIMIT_ABOVE_TRIGGER = 2059
    SELL_STOP_NOT_BELOW_LAST = 2060
    BUY_STOP_NOT_ABOVE_LAST = 2061
    MODIFY_DIFFERENT_PRODUCT = 2100
    MODIFY_DIFFERENT_SESSION = 2102
    QTY_OUT_OF_RANGE = 2115
    PRICE_OUTSIDE_LIMITS = 2137
    PRICE_OUTSIDE_BANDS = 2179
    ORDER_REJECTED = 7000
    MODIFY_NOT_ON_BOOK = 7016
    DISPLAY_QTY_BELOW_MIN_QTY = 7613


_REJECT_TEXT: Final[Mapping[int, str]] = {
    1011: "FIX field incorrect",
    1013: "Invalid order qualifier",
    2013: "Market price orders not supported by opposite limit",
    2019: (
        "Order's GTD Expire Date is before the current (or next, if not currently in a "
        "session) trading session end date"
    ),
    2045: "This order is not on the book",
    2046: "Disclosed Quantity cannot be greater than total or remaining qty",
    2048: "The order was submitted with a different SenderCompID than the requesting cancel",
    2051: "The Order was submitted with a different side than the requesting Cancel",
    2058: "Stop price maxi-mini must be greater than or equal to trigger price",
    2059: "Stop price maxi-mini must be smaller than or equal to trigger price",
    2060: "Sell order stop price must be below last trade price",
    2061: "Buy order stop price must be above last trade price",
    2100: "The modify was submitted on a different product than the original order",
    2102: "Attempt to modify an order with a different SenderCompID than the original order",
    2115: "Order quantity is outside of the allowable range",
    2137: "Order price is outside the limits",
    2179: "Order price is outside bands",
    7000: "Order rejected",
    7016: "This order is not on the book",
    7613: "Disclosed quantity cannot be smaller than the minimum quantity",
}


def reject_text(code: int, detail: str = "") -> str:
    """CME's tag 58 text for ``code``, with our ``detail`` appended in quotes as CME does."""
    base = _REJECT_TEXT.get(code, "Order rejected")
    return f"{base} '{detail}'" if detail else base


class BusinessRejectReason(IntEnum):
    """BusinessRejectReason (380) values used by the venue (CME list, schema notes)."""

    OTHER = 0
    UNKNOWN_ID = 1
    UNKNOWN_SECURITY = 2
    UNSUPPORTED_MESSAGE_TYPE = 3
    REQUIRED_FIELD_MISSING = 5
    NOT_AUTHORIZED = 6
    VALUE_OUT_OF_RANGE = 100
    INCORRECT_DATA_FORMAT = 101
    ENUM_NOT_SUPPORTED = 115
    NOT_SUPPORTED_ON_BACKUP = 131


class MassActionRejectReason(IntEnum):
    """MassActionRejectReason (1376): the FIX enumeration CME uses on OrderMassActionReport562."""

    MASS_ACTION_NOT_SUPPORTED = 0
    INVALID_OR_UNKNOWN_SECURITY = 1
    INVALID_OR_UNKNOWN_MARKET_SEGMENT = 8
    INVALID_OR_UNKNOWN_SECURITY_GROUP = 9
    OTHER = 99


class CancelReason(IntEnum):
    """Why a working order was cancelled (ExecutionReportCancel534)."""

    #: OrderCancelRequest516 from the owner.
    REQUESTED = 0
    #: OrderMassActionRequest529.
    MASS_ACTION = 1
    #: The owning session disconnected or was terminated for an error (ExecRestatementReason 100).
    CANCEL_ON_DISCONNECT = 2
    #: A modify (OFMOverride=Enabled) set OrderQty at or below the quantity already filled.
    MODIFY_AT_OR_BELOW_FILLED = 3


class EliminationReason(IntEnum):
    """Why an order left the book without a cancel request (ExecutionReportElimination524)."""

    #: The unfilled rest of a Fill-and-Kill order.
    FILL_AND_KILL = 0
    #: A Fill-or-Kill order that could not be filled in full.
    FILL_OR_KILL = 1
    #: A Fill-and-Kill order whose MinQty could not be filled.
    MIN_QTY = 2
    #: A Day (or GoodForSession) order at the end of the trading day.
    DAY_EXPIRY = 3
    #: A GTD order after its ExpireDate.
    GTD_EXPIRY = 4


#: Cancel-on-Disconnect scope as the issue puts it: working Day orders only (GTC/GTD survive,
#: per seed 004 "GTC and GTD Orders"). This is the engine's default.
COD_DAY_ONLY: Final[frozenset[TimeInForce]] = frozenset(
    {TimeInForce.Day, TimeInForce.GoodForSession}
)
#: Cancel-on-Disconnect scope of decision AI-26 (seed-rules.md): every working order, GTC/GTD too.
COD_ALL_WORKING: Final[frozenset[TimeInForce]] = frozenset(
    {
        TimeInForce.Day,
        TimeInForce.GoodForSession,
        TimeInForce.GoodTillCancel,
        TimeInForce.GoodTillDate,
    }
)

#: Most matches one aggressor fill lists: the schema's limit for the NoOrderEvents group of
#: ExecutionReportTradeOutright525 (uint8 numInGroup).
MAX_MATCHES_PER_FILL: Final = next(
    g.max_count for g in ExecutionReportTradeOutright525.SBE_GROUPS if g.name == "NoOrderEvents"
)

_DAY_TIFS: Final = frozenset({_DAY, _GFS})
_IMMEDIATE_TIFS: Final = frozenset({_FAK, _FOK})
_SUPPORTED_TIFS: Final = frozenset(TimeInForce)


# --------------------------------------------------------------------------- value types


class Owner(NamedTuple):
    """Who an order belongs to: the iLink 3 session (Session ID + Firm ID, as in Negotiate500)
    on one market segment's gateway. Reports for the order go to this session."""

    session: str
    firm: str
    market_segment_id: int


class Echo(NamedTuple):
    """Request fields CME echoes on its answer (the engine stores, never interprets them —
    except ``cl_ord_id``, used to find an order when a request carries no OrderID)."""

    cl_ord_id: str = ""
    order_request_id: int = 0
    sender_id: str = ""
    location: str = ""
    party_details_list_req_id: int = 0
    manual_order_indicator: ManualOrdIndReq = ManualOrdIndReq.Automated
    #: SeqNum of the request (RefSeqNum of a BusinessReject521).
    seq_num: int = 0


class OrderTerms(NamedTuple):
    """What an order is, as of its last accepted request (immutable; replaced on modify).

    ``price`` is the working price (PRICE9): for market orders the protection price they work
    at, for stop orders the limit once triggered. ``ord_type`` is as CME reports it
    (ExecutionReport's OrderType enum: a stop with protection is a StopLimit).
    """

    order_id: int
    owner: Owner
    echo: Echo
    security_id: int
    side: SideReq
    ord_type: OrderType
    time_in_force: TimeInForce
    order_qty: int
    price: int
    stop_px: int | None
    expire_date: int | None
    min_qty: int | None
    display_qty: int | None


class OrderState(NamedTuple):
    """A working order as :meth:`MatchingEngine.working_orders` shows it."""

    terms: OrderTerms
    cum_qty: int
    leaves_qty: int
    #: True while a stop order waits for its trigger (it is not on the book yet).
    waiting_stop: bool
    #: Time priority stamp (smaller = earlier); meaningful within one price level.
    priority: int


# --------------------------------------------------------------------------- commands


class NewOrder(NamedTuple):
    """NewOrderSingle514. Prices are PRICE9 mantissas (:func:`.instruments.price9`)."""

    owner: Owner
    echo: Echo
    security_id: int
    side: SideReq
    order_qty: int
    ord_type: OrderTypeReq = OrderTypeReq.Limit
    price: int | None = None
    time_in_force: TimeInForce = TimeInForce.Day
    stop_px: int | None = None
    expire_date: int | None = None
    min_qty: int | None = None
    display_qty: int | None = None


class ModifyOrder(NamedTuple):
    """OrderCancelReplaceRequest515. ``order_id=None``: find the session's order by ClOrdID.
    ``price``/``stop_px`` ``None`` keep the current ones."""

    owner: Owner
    echo: Echo
    order_id: int | None
    security_id: int
    side: SideReq
    order_qty: int
    ord_type: OrderTypeReq = OrderTypeReq.Limit
    price: int | None = None
    time_in_force: TimeInForce = TimeInForce.Day
    stop_px: int | None = None
    expire_date: int | None = None
    min_qty: int | None = None
    display_qty: int | None = None
    #: OFMOverride (9768) Enabled: OrderQty is the total quantity (in-flight fill mitigation).
    ofm_override: bool = True


class CancelOrder(NamedTuple):
    """OrderCancelRequest516. ``order_id=None``: find the session's order by ClOrdID."""

    owner: Owner
    echo: Echo
    order_id: int | None
    security_id: int
    side: SideReq


class MassAction(NamedTuple):
    """OrderMassActionRequest529 (MassActionType is always 3, cancel)."""

    owner: Owner
    echo: Echo
    scope: MassActionScope
    security_id: int | None = None
    security_group: str | None = None
    market_segment_id: int | None = None
    side: SideNULL | None = None
    ord_type: MassActionOrdTyp | None = None
    time_in_force: MassCancelTIF | None = None
    mass_cancel_request_type: MassCxlReqTyp | None = None


class StatusRequest(NamedTuple):
    """OrderStatusRequest533."""

    owner: Owner
    echo: Echo
    order_id: int
    ord_status_req_id: int


Command = NewOrder | ModifyOrder | CancelOrder | MassAction | StatusRequest


# --------------------------------------------------------------------------- events


class Accepted(NamedTuple):
    """The order is working (ExecutionReportNew522); CumQty 0, LeavesQty = OrderQty."""

    exec_id: int
    transact_time: int
    order: OrderTerms

    @property
    def owner(self) -> Owner:
        return self.order.owner


class Modified(NamedTuple):
    """A modify was applied (ExecutionReportModify531). ``order.echo`` is the modify's."""

    exec_id: int
    transact_time: int
    order: OrderTerms
    cum_qty: int
    leaves_qty: int
    lost_priority: bool

    @property
    def owner(self) -> Owner:
        return self.order.owner


class Cancelled(NamedTuple):
    """A working order was cancelled (ExecutionReportCancel534). ``echo`` is what the report
    echoes: the cancel/modify request's, the mass action's (with the order's ClOrdID), or the
    order's own for an unsolicited cancel."""

    exec_id: int
    transact_time: int
    order: OrderTerms
    cum_qty: int
    reason: CancelReason
    echo: Echo

    @property
    def owner(self) -> Owner:
        return self.order.owner


class Match(NamedTuple):
    """One trade between two orders, as seen from one of them (an SBE NoOrderEvents entry)."""

    #: Shared by both sides of the trade (OrderEventExecID).
    match_id: int
    qty: int
    #: The other order (not sent on the wire; for the venue's own use and tests).
    contra_order_id: int


class Filled(NamedTuple):
    """A (partial) fill of one order (ExecutionReportTradeOutright525)."""

    exec_id: int
    transact_time: int
    order: OrderTerms
    cum_qty: int
    leaves_qty: int
    #: Trade price: the resting order's price (LastPx).
    last_px: int
    last_qty: int
    #: AggressorIndicator: the incoming order (True) or the resting one.
    aggressor: bool
    #: SideTradeID: unique per fill report.
    side_trade_id: int
    #: MDTradeEntryID: one per aggressor sweep of one price level.
    md_trade_entry_id: int
    #: TradeDate (LocalMktDate).
    trade_date: int
    matches: tuple[Match, ...]

    @property
    def owner(self) -> Owner:
        return self.order.owner


class Eliminated(NamedTuple):
    """An order left the book without a cancel request (ExecutionReportElimination524)."""

    exec_id: int
    transact_time: int
    order: OrderTerms
    cum_qty: int
    reason: EliminationReason

    @property
    def owner(self) -> Owner:
        return self.order.owner


class Rejected(NamedTuple):
    """A new order was refused (ExecutionReportReject523, OrdRejReason ``reason``)."""

    exec_id: int
    transact_time: int
    request: NewOrder
    reason: int
    text: str

    @property
    def owner(self) -> Owner:
        return self.request.owner


class CancelRejected(NamedTuple):
    """A cancel was refused (OrderCancelReject535, CxlRejReason ``reason``)."""

    exec_id: int
    transact_time: int
    owner: Owner
    echo: Echo
    order_id: int
    reason: int
    text: str


class ModifyRejected(NamedTuple):
    """A modify was refused (OrderCancelReplaceReject536, CxlRejReason ``reason``)."""

    exec_id: int
    transact_time: int
    owner: Owner
    echo: Echo
    order_id: int
    reason: int
    text: str


class StatusReport(NamedTuple):
    """Answer to a StatusRequest (ExecutionReportStatus532). ``order`` is ``None`` and
    ``ord_status`` Undefined when the order is unknown to the requester."""

    exec_id: int
    transact_time: int
    owner: Owner
    echo: Echo
    ord_status_req_id: int
    #: The OrderID the request asked about.
    order_id: int
    order: OrderTerms | None
    cum_qty: int
    leaves_qty: int
    ord_status: OrderStatus


class Affected(NamedTuple):
    """One order cancelled by a mass action (NoAffectedOrders entry)."""

    cl_ord_id: str
    order_id: int
    cxl_qty: int


class MassActionReport(NamedTuple):
    """Answer to a MassAction (OrderMassActionReport562); the cancels follow as events."""

    mass_action_report_id: int
    transact_time: int
    request: MassAction
    accepted: bool
    reject_reason: MassActionRejectReason | None
    text: str
    affected: tuple[Affected, ...]

    @property
    def owner(self) -> Owner:
        return self.request.owner


class BusinessRejected(NamedTuple):
    """A request that could not be processed at all (BusinessReject521)."""

    transact_time: int
    owner: Owner
    echo: Echo
    #: MsgType of the refused request: D, G, F, CA, H.
    ref_msg_type: str
    reason: BusinessRejectReason
    text: str
    ref_tag_id: int | None = None
    #: BusinessRejectRefID: the request's business id (OrderRequestID / OrdStatusReqID).
    ref_id: int | None = None


class Triggered(NamedTuple):
    """A stop order was triggered and now works as a limit order (no message of its own)."""

    transact_time: int
    order: OrderTerms

    @property
    def owner(self) -> Owner:
        return self.order.owner


Event = (
    Accepted
    | Modified
    | Cancelled
    | Filled
    | Eliminated
    | Rejected
    | CancelRejected
    | ModifyRejected
    | StatusReport
    | MassActionReport
    | BusinessRejected
    | Triggered
)


class InvariantError(AssertionError):
    """:meth:`MatchingEngine.check_invariants` found an inconsistent book (a bug)."""


# --------------------------------------------------------------------------- internals


class _Reject(NamedTuple):
    code: int
    text: str


class _Order:
    """A working order (mutable; the engine's own)."""

    __slots__ = (
        "book",
        "cum_qty",
        "is_buy",
        "leaves_qty",
        "modified",
        "order_id",
        "owner",
        "price",
        "priority",
        "stop_px",
        "terms",
    )

    def __init__(self, terms: OrderTerms, book: _Book, stop_px: int | None) -> None:
        self.terms = terms
        self.order_id = terms.order_id
        self.owner = terms.owner
        self.is_buy = terms.side == _BUY
        self.price = terms.price
        #: Not None while waiting for the trigger.
        self.stop_px = stop_px
        self.cum_qty = 0
        self.leaves_qty = terms.order_qty
        self.priority = 0
        self.book = book
        self.modified = False


class _Book:
    """One instrument's book."""

    __slots__ = (
        "ask_keys",
        "asks",
        "band",
        "bid_keys",
        "bids",
        "high",
        "instrument",
        "last_px",
        "low",
        "max_qty",
        "protection",
        "reference",
        "security_id",
        "segment",
        "stops",
        "symbol",
        "tick",
    )

    def __init__(self, inst: Instrument) -> None:
        self.instrument = inst
        self.security_id = inst.security_id
        self.segment = inst.market_segment_id
        self.symbol = inst.symbol
        self.tick = inst.tick9
        self.max_qty = inst.max_order_qty
        self.protection = inst.protection9
        self.band = None if inst.price_band is None else price9(inst.price_band)
        self.low = None if inst.low_limit_price is None else price9(inst.low_limit_price)
        self.high = None if inst.high_limit_price is None else price9(inst.high_limit_price)
        self.reference = None if inst.reference_price is None else price9(inst.reference_price)
        #: Sorted level keys, best first: bids negated, asks as is.
        self.bid_keys: list[int] = []
        self.ask_keys: list[int] = []
        #: key -> level (OrderID -> order, in time priority).
        self.bids: dict[int, dict[int, _Order]] = {}
        self.asks: dict[int, dict[int, _Order]] = {}
        #: Waiting stop orders, in time priority.
        self.stops: list[_Order] = []
        self.last_px: int | None = None

    def best_bid(self) -> int | None:
        return -self.bid_keys[0] if self.bid_keys else None

    def best_ask(self) -> int | None:
        return self.ask_keys[0] if self.ask_keys else None


_Done = tuple[OrderTerms, int, OrderStatus]

_SNAPSHOT_FORMAT: Final = 1


# --------------------------------------------------------------------------- the engine


class MatchingEngine:
    """Price-time matching over a set of instruments. See the module docstring."""

    def __init__(
        self,
        instruments: Iterable[Instrument] = DEFAULT_INSTRUMENTS,
        *,
        trade_date: int = 0,
        cod_time_in_force: Collection[TimeInForce] = COD_DAY_ONLY,
        first_order_id: int = 1,
        done_capacity: int = 100_000,
    ) -> None:
        """``trade_date``: the current trading day (LocalMktDate, days since 1970-01-01), used
        for TradeDate and GTD checks; the venue's calendar advances it (:meth:`end_of_day`).
        ``cod_time_in_force``: which working orders :meth:`cancel_on_disconnect` cancels.
        ``done_capacity``: how many finished orders :class:`StatusRequest` can still report."""
        self._books: dict[int, _Book] = {}
        for inst in instruments:
            if inst.security_id in self._books:
                raise ValueError(f"SecurityID {inst.security_id} is listed twice")
            self._books[inst.security_id] = _Book(inst)
        #: (market segment, SecurityGroup) pairs, for mass actions by group.
        self._groups = {(b.segment, b.symbol) for b in self._books.values()}
        self.trade_date = trade_date
        self.cod_time_in_force = frozenset(cod_time_in_force)
        self._done_capacity = done_capacity
        # counters: each holds the last value handed out
        self._order_id = first_order_id - 1
        self._exec_id = 0
        self._match_id = 0
        self._side_trade_id = 0
        self._md_entry_id = 0
        self._seq = 0
        #: Working orders (resting or waiting stops), in creation order.
        self._live: dict[int, _Order] = {}
        self._by_owner: dict[Owner, dict[int, _Order]] = {}
        self._done: dict[int, _Done] = {}
        self._handlers: dict[type, Callable[[Any, int], list[Event]]] = {
            NewOrder: self.new_order,
            ModifyOrder: self.modify_order,
            CancelOrder: self.cancel_order,
            MassAction: self.mass_action,
            StatusRequest: self.order_status,
        }

    # -- entry points ------------------------------------------------------------------------

    def handle(self, command: Command, now: int) -> list[Event]:
        """Execute one command; the events it caused, in order."""
        return self._handlers[type(command)](command, now)

    def new_order(self, cmd: NewOrder, now: int) -> list[Event]:
        book = self._books.get(cmd.security_id)
        if book is None or book.segment != cmd.owner.market_segment_id:
            return [_unknown_security(cmd.owner, cmd.echo, "D", cmd.security_id, now)]
        prep = self._prepare_new(cmd, book)
        if isinstance(prep, _Reject):
            self._exec_id += 1
            return [Rejected(self._exec_id, now, cmd, prep.code, prep.text)]
        ord_type, price, stop = prep
        tif = cmd.time_in_force
        self._order_id += 1
        terms = OrderTerms(
            self._order_id,
            cmd.owner,
            cmd.echo,
            cmd.security_id,
            cmd.side,
            ord_type,
            tif,
            cmd.order_qty,
            price,
            stop,
            cmd.expire_date if tif == _GTD else None,
            cmd.min_qty,
            cmd.display_qty,
        )
        o = _Order(terms, book, stop)
        self._exec_id += 1
        events: list[Event] = [Accepted(self._exec_id, now, terms)]
        if stop is not None:
            self._add_stop(o)
            return events
        if tif == _FOK:
            if not _available(book, o.is_buy, price, cmd.order_qty):
                self._eliminate(o, EliminationReason.FILL_OR_KILL, now, events)
                return events
        elif cmd.min_qty is not None and not _available(book, o.is_buy, price, cmd.min_qty):
            self._eliminate(o, EliminationReason.MIN_QTY, now, events)
            return events
        self._aggress(o, book, now, events)
        return events

    def modify_order(self, cmd: ModifyOrder, now: int) -> list[Event]:
        book = self._books.get(cmd.security_id)
        if book is None or book.segment != cmd.owner.market_segment_id:
            return [_unknown_security(cmd.owner, cmd.echo, "G", cmd.security_id, now)]
        o = self._find(cmd.owner, cmd.order_id, cmd.echo.cl_ord_id)
        prep: _Reject | tuple[int, int | None, int, int]
        if o is None:
            prep = _Reject(RejectCode.MODIFY_NOT_ON_BOOK, reject_text(7016))
        elif o.owner != cmd.owner:
            prep = _Reject(RejectCode.MODIFY_DIFFERENT_SESSION, reject_text(2102))
        elif o.terms.security_id != cmd.security_id:
            prep = _Reject(RejectCode.MODIFY_DIFFERENT_PRODUCT, reject_text(2100))
        elif o.terms.side != cmd.side:
            prep = _Reject(RejectCode.DIFFERENT_SIDE, reject_text(2051))
        else:
            prep = self._prepare_modify(cmd, o, book)
        if isinstance(prep, _Reject):
            self._exec_id += 1
            oid = cmd.order_id if o is None else o.order_id
            return [
                ModifyRejected(
                    self._exec_id, now, cmd.owner, cmd.echo, oid or 0, prep.code, prep.text
                )
            ]
        assert o is not None
        price, stop, order_qty, leaves = prep
        events: list[Event] = []
        terms = o.terms
        if leaves <= 0:
            # OrderQty at or below CumQty: nothing left to work -> the order is cancelled.
            self._unlink(o)
            self._exec_id += 1
            events.append(
                Cancelled(
                    self._exec_id,
                    now,
                    terms,
                    o.cum_qty,
                    CancelReason.MODIFY_AT_OR_BELOW_FILLED,
                    cmd.echo,
                )
            )
            self._retire(o, _ST_CANCELLED)
            return events
        tif = cmd.time_in_force
        new_terms = terms._replace(
            echo=cmd.echo,
            order_qty=order_qty,
            price=price,
            stop_px=terms.stop_px if stop is None else stop,
            time_in_force=tif,
            expire_date=cmd.expire_date if tif == _GTD else None,
            display_qty=cmd.display_qty,
        )
        price_changed = price != o.price
        lost = price_changed or leaves > o.leaves_qty or stop != o.stop_px
        self._exec_id += 1
        events.append(Modified(self._exec_id, now, new_terms, o.cum_qty, leaves, lost))
        o.modified = True
        if not lost:
            o.terms = new_terms
            o.leaves_qty = leaves
            return events
        self._unlink(o)
        o.terms = new_terms
        o.price = price
        o.leaves_qty = leaves
        if o.stop_px is not None:
            o.stop_px = stop
            self._add_stop(o)
        elif price_changed:
            self._aggress(o, book, now, events)
        else:
            self._rest(o, book)
        return events

    def cancel_order(self, cmd: CancelOrder, now: int) -> list[Event]:
        book = self._books.get(cmd.security_id)
        if book is None or book.segment != cmd.owner.market_segment_id:
            return [_unknown_security(cmd.owner, cmd.echo, "F", cmd.security_id, now)]
        o = self._find(cmd.owner, cmd.order_id, cmd.echo.cl_ord_id)
        code = 0
        if o is None or o.terms.security_id != cmd.security_id:
            code = RejectCode.NOT_ON_BOOK
        elif o.owner != cmd.owner:
            code = RejectCode.DIFFERENT_SESSION_CANCEL
        elif o.terms.side != cmd.side:
            code = RejectCode.DIFFERENT_SIDE
        self._exec_id += 1
        if code:
            oid = cmd.order_id if o is None else o.order_id
            return [
                CancelRejected(
                    self._exec_id, now, cmd.owner, cmd.echo, oid or 0, code, reject_text(code)
                )
            ]
        assert o is not None
        self._unlink(o)
        event = Cancelled(self._exec_id, now, o.terms, o.cum_qty, CancelReason.REQUESTED, cmd.echo)
        self._retire(o, _ST_CANCELLED)
        return [event]

    def mass_action(self, cmd: MassAction, now: int) -> list[Event]:
        owner = cmd.owner
        scope = cmd.scope
        reject: MassActionRejectReason | None = None
        text = ""
        if scope == MassActionScope.Instrument:
            book = None if cmd.security_id is None else self._books.get(cmd.security_id)
            if book is None or book.segment != owner.market_segment_id:
                reject = MassActionRejectReason.INVALID_OR_UNKNOWN_SECURITY
                text = f"Unknown SecurityID {cmd.security_id}"
        elif scope == MassActionScope.InstrumentGroup:
            if (owner.market_segment_id, cmd.security_group) not in self._groups:
                reject = MassActionRejectReason.INVALID_OR_UNKNOWN_SECURITY_GROUP
                text = f"Unknown SecurityGroup {cmd.security_group!r}"
        elif scope == MassActionScope.MarketSegmentID:
            if cmd.market_segment_id != owner.market_segment_id:
                reject = MassActionRejectReason.INVALID_OR_UNKNOWN_MARKET_SEGMENT
                text = f"Unknown MarketSegmentID {cmd.market_segment_id}"
        elif scope != MassActionScope.All:
            reject = MassActionRejectReason.MASS_ACTION_NOT_SUPPORTED
            text = f"MassActionScope {int(scope)} not supported"
        self._exec_id += 1
        if reject is not None:
            return [MassActionReport(self._exec_id, now, cmd, False, reject, text, ())]
        selected = [o for o in self._by_owner.get(owner, {}).values() if _mass_match(cmd, o)]
        report = MassActionReport(
            self._exec_id,
            now,
            cmd,
            True,
            None,
            "",
            tuple(Affected(o.terms.echo.cl_ord_id, o.order_id, o.leaves_qty) for o in selected),
        )
        events: list[Event] = [report]
        for o in selected:
            self._unlink(o)
            self._exec_id += 1
            echo = cmd.echo._replace(
                cl_ord_id=o.terms.echo.cl_ord_id,
                party_details_list_req_id=o.terms.echo.party_details_list_req_id,
            )
            events.append(
                Cancelled(self._exec_id, now, o.terms, o.cum_qty, CancelReason.MASS_ACTION, echo)
            )
            self._retire(o, _ST_CANCELLED)
        return events

    def order_status(self, cmd: StatusRequest, now: int) -> list[Event]:
        owner = cmd.owner
        terms: OrderTerms | None = None
        cum = leaves = 0
        status = _ST_UNDEFINED
        o = self._live.get(cmd.order_id)
        if o is not None and _same_firm(o.owner, owner):
            terms, cum, leaves = o.terms, o.cum_qty, o.leaves_qty
            if cum:
                status = _ST_PARTIAL
            elif o.modified:
                status = _ST_REPLACED
            else:
                status = _ST_NEW
        else:
            done = self._done.get(cmd.order_id)
            if done is not None and _same_firm(done[0].owner, owner):
                terms, cum, status = done
        self._exec_id += 1
        return [
            StatusReport(
                self._exec_id, now, owner, cmd.echo, cmd.ord_status_req_id, cmd.order_id, terms,
                cum, leaves, status,
            )
        ]  # fmt: skip

    def cancel_on_disconnect(
        self, owner: Owner, now: int, time_in_force: Collection[TimeInForce] | None = None
    ) -> list[Event]:
        """Cancel the session's working orders whose TimeInForce is in ``time_in_force``
        (default: the engine's ``cod_time_in_force``, Day orders only — see docs/matching.md
        for the conflict with AI-26). Reports carry ExecRestatementReason 100."""
        tifs = self.cod_time_in_force if time_in_force is None else frozenset(time_in_force)
        events: list[Event] = []
        victims = [
            o for o in self._by_owner.get(owner, {}).values() if o.terms.time_in_force in tifs
        ]
        for o in victims:
            self._unlink(o)
            self._exec_id += 1
            events.append(
                Cancelled(
                    self._exec_id,
                    now,
                    o.terms,
                    o.cum_qty,
                    CancelReason.CANCEL_ON_DISCONNECT,
                    o.terms.echo,
                )
            )
            self._retire(o, _ST_CANCELLED)
        return events

    def end_of_day(self, now: int, next_trade_date: int | None = None) -> list[Event]:
        """Close the current trading day: eliminate every working Day (and GoodForSession)
        order and every GTD order whose ExpireDate is at or before :attr:`trade_date`; then,
        if given, move to ``next_trade_date``. GTC orders and later GTDs keep working, with
        their time priority. Finished-order status is forgotten with the day."""
        td = self.trade_date
        events: list[Event] = []
        for o in [o for o in self._live.values() if _expires(o.terms, td)]:
            reason = (
                EliminationReason.GTD_EXPIRY
                if o.terms.time_in_force == _GTD
                else EliminationReason.DAY_EXPIRY
            )
            self._unlink(o)
            self._eliminate(o, reason, now, events)
        self._done.clear()
        if next_trade_date is not None:
            self.trade_date = next_trade_date
        return events

    def expire_gtd(self, now: int, through_date: int | None = None) -> list[Event]:
        """Eliminate working GTD orders whose ExpireDate is at or before ``through_date``
        (default: the day before :attr:`trade_date`), e.g. after restoring a snapshot taken
        before the expiry."""
        last = self.trade_date - 1 if through_date is None else through_date
        events: list[Event] = []
        for o in [
            o
            for o in self._live.values()
            if o.terms.time_in_force == _GTD
            and o.terms.expire_date is not None
            and o.terms.expire_date <= last
        ]:
            self._unlink(o)
            self._eliminate(o, EliminationReason.GTD_EXPIRY, now, events)
        return events

    # -- inspection --------------------------------------------------------------------------

    @property
    def instruments(self) -> tuple[Instrument, ...]:
        return tuple(b.instrument for b in self._books.values())

    def instrument(self, security_id: int) -> Instrument | None:
        book = self._books.get(security_id)
        return None if book is None else book.instrument

    def best_bid(self, security_id: int) -> int | None:
        return self._books[security_id].best_bid()

    def best_ask(self, security_id: int) -> int | None:
        return self._books[security_id].best_ask()

    def last_trade_price(self, security_id: int) -> int | None:
        return self._books[security_id].last_px

    def depth(
        self, security_id: int
    ) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
        """``(bids, asks)``, best first, each level ``(price, total leaves qty, order count)``."""
        book = self._books[security_id]
        bids = [
            (-k, sum(o.leaves_qty for o in book.bids[k].values()), len(book.bids[k]))
            for k in book.bid_keys
        ]
        asks = [
            (k, sum(o.leaves_qty for o in book.asks[k].values()), len(book.asks[k]))
            for k in book.ask_keys
        ]
        return bids, asks

    def order(self, order_id: int) -> OrderState | None:
        o = self._live.get(order_id)
        return None if o is None else _state(o)

    def working_orders(self, owner: Owner | None = None) -> list[OrderState]:
        """Working orders (resting and waiting stops) in creation order."""
        src = self._live if owner is None else self._by_owner.get(owner, {})
        return [_state(o) for o in src.values()]

    def check_invariants(self) -> None:
        """Raise :class:`InvariantError` if the books are inconsistent (for tests)."""
        seen: dict[int, _Order] = {}
        for book in self._books.values():
            for keys, levels, sign in (
                (book.bid_keys, book.bids, -1),
                (book.ask_keys, book.asks, 1),
            ):
                if keys != sorted(keys) or len(set(keys)) != len(keys):
                    raise InvariantError(f"{book.security_id}: level keys not sorted/unique")
                if set(keys) != set(levels):
                    raise InvariantError(f"{book.security_id}: level keys != levels")
                for k, level in levels.items():
                    if not level:
                        raise InvariantError(f"{book.security_id}: empty level {k}")
                    prev = -1
                    for oid, o in level.items():
                        if oid in seen:
                            raise InvariantError(f"order {oid} appears twice")
                        seen[oid] = o
                        if o.order_id != oid or o.book is not book or o.stop_px is not None:
                            raise InvariantError(f"order {oid} misplaced")
                        if o.price * sign != k or o.is_buy != (sign == -1):
                            raise InvariantError(f"order {oid} at the wrong level")
                        if o.priority <= prev:
                            raise InvariantError(f"level {k} not in time priority")
                        prev = o.priority
            prev = -1
            for o in book.stops:
                if o.order_id in seen or o.stop_px is None or o.book is not book:
                    raise InvariantError(f"stop {o.order_id} misplaced")
                if o.priority <= prev:
                    raise InvariantError(f"{book.security_id}: stops not in time priority")
                prev = o.priority
                seen[o.order_id] = o
            bid, ask = book.best_bid(), book.best_ask()
            if bid is not None and ask is not None and bid >= ask:
                raise InvariantError(f"{book.security_id}: book crossed {bid} >= {ask}")
        if seen.keys() != self._live.keys():
            raise InvariantError("working orders and books disagree")
        indexed = {oid for d in self._by_owner.values() for oid in d}
        if indexed != set(self._live):
            raise InvariantError("owner index and working orders disagree")
        for oid, o in self._live.items():
            if self._by_owner[o.owner].get(oid) is not o:
                raise InvariantError(f"order {oid} indexed under the wrong owner")
            if o.leaves_qty <= 0 or o.cum_qty < 0:
                raise InvariantError(f"order {oid}: leaves {o.leaves_qty} cum {o.cum_qty}")
            if o.leaves_qty + o.cum_qty != o.terms.order_qty:
                raise InvariantError(f"order {oid}: leaves + cum != OrderQty")

    # -- persistence ---------------------------------------------------------------------------

    def snapshot(self, *, persistent_only: bool = False) -> dict[str, Any]:
        """The engine's state as plain data (JSON-compatible): counters, trading day, last
        trade prices and the working orders in time priority. ``persistent_only`` keeps only
        GTC and GTD orders (what survives a restart at the end of the day)."""
        keep = {_GTC, _GTD} if persistent_only else None
        orders = sorted(
            (o for o in self._live.values() if keep is None or o.terms.time_in_force in keep),
            key=lambda o: o.priority,
        )
        return {
            "format": _SNAPSHOT_FORMAT,
            "trade_date": self.trade_date,
            "counters": {
                "order_id": self._order_id,
                "exec_id": self._exec_id,
                "match_id": self._match_id,
                "side_trade_id": self._side_trade_id,
                "md_trade_entry_id": self._md_entry_id,
                "priority": self._seq,
            },
            "last_trade_prices": {
                str(sid): b.last_px for sid, b in self._books.items() if b.last_px is not None
            },
            "orders": [_order_to_dict(o) for o in orders],
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Load a :meth:`snapshot` into this engine, which must have no working orders. The
        orders keep their OrderIDs, fills and time priority; counters continue where they were
        (never lower than this engine's own)."""
        if self._live:
            raise ValueError("restore needs an engine without working orders")
        if data.get("format") != _SNAPSHOT_FORMAT:
            raise ValueError(f"unknown snapshot format {data.get('format')!r}")
        counters = data["counters"]
        self.trade_date = int(data["trade_date"])
        for sid_text, px in data.get("last_trade_prices", {}).items():
            book = self._books.get(int(sid_text))
            if book is not None:
                book.last_px = int(px)
        for entry in data["orders"]:  # in time priority: levels fill in the right order
            o = _order_from_dict(entry, self._books)
            if o.order_id in self._live:
                raise ValueError(f"snapshot lists order {o.order_id} twice")
            if o.stop_px is not None:
                self._add_stop(o)
            else:
                self._rest(o, o.book)
        # the working-order indexes iterate in creation (OrderID) order, as in the original
        self._live = dict(sorted(self._live.items()))
        self._by_owner = {
            owner: dict(sorted(orders.items())) for owner, orders in self._by_owner.items()
        }
        self._order_id = max(self._order_id, int(counters["order_id"]))
        self._exec_id = max(self._exec_id, int(counters["exec_id"]))
        self._match_id = max(self._match_id, int(counters["match_id"]))
        self._side_trade_id = max(self._side_trade_id, int(counters["side_trade_id"]))
        self._md_entry_id = max(self._md_entry_id, int(counters["md_trade_entry_id"]))
        self._seq = max(self._seq, int(counters["priority"]))

    # -- validation ----------------------------------------------------------------------------

    def _prepare_new(
        self, cmd: NewOrder, book: _Book
    ) -> _Reject | tuple[OrderType, int, int | None]:
        """Validate a new order; its reported OrdType, working price and (stop) trigger."""
        qty = cmd.order_qty
        if not 0 < qty <= book.max_qty:
            return _Reject(2115, reject_text(2115, f"Quantity: {qty} Max: {book.max_qty}"))
        side = cmd.side
        if side != _BUY and side != _SELL:
            return _Reject(1011, reject_text(1011, f"Side (54) {int(side)} not supported"))
        is_buy = side == _BUY
        tif = cmd.time_in_force
        if tif not in _SUPPORTED_TIFS:
            return _Reject(1013, reject_text(1013, f"TimeInForce {tif!r}"))
        if tif == _GTD:
            if cmd.expire_date is None:
                return _Reject(2019, reject_text(2019, "ExpireDate (432) required for GTD"))
            if cmd.expire_date < self.trade_date:
                return _Reject(2019, reject_text(2019))
        if cmd.min_qty is not None:
            if tif != _FAK:
                return _Reject(1013, reject_text(1013, "MinQty is only allowed on FAK orders"))
            if not 0 < cmd.min_qty <= qty:
                return _Reject(1013, reject_text(1013, f"MinQty {cmd.min_qty}"))
        bad = _check_display(cmd.display_qty, qty, cmd.min_qty)
        if bad is not None:
            return bad
        t = cmd.ord_type
        tick = book.tick
        if t == _REQ_LIMIT:
            price = cmd.price
            if price is None:
                return _Reject(1011, reject_text(1011, "Price (44) required for a limit order"))
            if price % tick:
                return _off_tick("Price", price, tick)
            bad = _check_limits(book, price) or _check_band(book, is_buy, price)
            if bad is not None:
                return bad
            return _LIMIT, price, None
        if t == _REQ_MARKET or t == _REQ_MARKET_LIMIT:
            best = book.best_ask() if is_buy else book.best_bid()
            if best is None:
                return _Reject(2013, reject_text(2013))
            if t == _REQ_MARKET_LIMIT:
                return _MARKET_LIMIT, best, None
            return _MARKET, _protect(book, is_buy, best), None
        if t == _REQ_STOP_LIMIT or t == _REQ_STOP_PROTECTION:
            if tif in _IMMEDIATE_TIFS:
                return _Reject(1013, reject_text(1013, "stop orders cannot be FAK/FOK"))
            stop = cmd.stop_px
            if stop is None:
                return _Reject(1011, reject_text(1011, "StopPx (99) required for a stop order"))
            if stop % tick:
                return _off_tick("StopPx", stop, tick)
            if t == _REQ_STOP_LIMIT:
                price = cmd.price
                if price is None:
                    return _Reject(1011, reject_text(1011, "Price (44) required for stop-limit"))
                if price % tick:
                    return _off_tick("Price", price, tick)
                bad = _check_stop_limit(is_buy, price, stop) or _check_limits(book, price)
                if bad is not None:
                    return bad
            else:
                price = _protect(book, is_buy, stop)
            bad = _check_stop_vs_last(book, is_buy, stop)
            if bad is not None:
                return bad
            return _STOP_LIMIT, price, stop
        return _Reject(1011, reject_text(1011, f"OrdType (40) {t!r} not supported"))

    def _prepare_modify(
        self, cmd: ModifyOrder, o: _Order, book: _Book
    ) -> _Reject | tuple[int, int | None, int, int]:
        """Validate a modify of ``o``: new working price, new trigger (waiting stops only),
        new OrderQty and new leaves quantity (<= 0: the order is to be cancelled)."""
        terms = o.terms
        t = cmd.ord_type
        waiting = o.stop_px is not None
        if terms.ord_type == _STOP_LIMIT:
            allowed = (
                (_REQ_STOP_LIMIT, _REQ_STOP_PROTECTION)
                if waiting
                else (_REQ_STOP_LIMIT, _REQ_LIMIT)
            )
        else:
            allowed = (_REQ_LIMIT, OrderTypeReq(terms.ord_type.value))
        if t not in allowed:
            return _Reject(7000, reject_text(7000, f"OrdType cannot change to {t.value!r}"))
        tif = cmd.time_in_force
        if tif not in _SUPPORTED_TIFS or tif in _IMMEDIATE_TIFS:
            return _Reject(1013, reject_text(1013, f"TimeInForce {tif!r} on modify"))
        if cmd.min_qty is not None:
            return _Reject(1013, reject_text(1013, "MinQty is only allowed on FAK orders"))
        qty = cmd.order_qty
        if not 0 < qty <= book.max_qty:
            return _Reject(2115, reject_text(2115, f"Quantity: {qty} Max: {book.max_qty}"))
        if tif == _GTD:
            if cmd.expire_date is None:
                return _Reject(2019, reject_text(2019, "ExpireDate (432) required for GTD"))
            if cmd.expire_date < self.trade_date:
                return _Reject(2019, reject_text(2019))
        if cmd.ofm_override:
            order_qty, leaves = qty, qty - o.cum_qty
        else:
            order_qty, leaves = o.cum_qty + qty, qty
        bad = _check_display(cmd.display_qty, qty, None)
        if bad is not None:
            return bad
        is_buy = o.is_buy
        tick = book.tick
        stop: int | None = None
        if waiting:
            stop = o.stop_px if cmd.stop_px is None else cmd.stop_px
            assert stop is not None
            if stop % tick:
                return _off_tick("StopPx", stop, tick)
            if t == _REQ_STOP_PROTECTION:
                price = _protect(book, is_buy, stop)
            else:
                price = o.price if cmd.price is None else cmd.price
                if price % tick:
                    return _off_tick("Price", price, tick)
                bad = _check_stop_limit(is_buy, price, stop) or _check_limits(book, price)
                if bad is not None:
                    return bad
            bad = _check_stop_vs_last(book, is_buy, stop)
            if bad is not None:
                return bad
        else:
            price = o.price if cmd.price is None else cmd.price
            if price % tick:
                return _off_tick("Price", price, tick)
            if price != o.price:
                bad = _check_limits(book, price) or _check_band(book, is_buy, price)
                if bad is not None:
                    return bad
        return price, stop, order_qty, leaves

    # -- book mechanics ------------------------------------------------------------------------

    def _find(self, owner: Owner, order_id: int | None, cl_ord_id: str) -> _Order | None:
        """The working order a request names: by OrderID within the firm and segment, or (no
        OrderID) by ClOrdID among the session's own orders (the newest wins)."""
        if order_id is not None:
            o = self._live.get(order_id)
            if o is None or not _same_firm(o.owner, owner):
                return None
            return o
        found = None
        for o in self._by_owner.get(owner, {}).values():
            if o.terms.echo.cl_ord_id == cl_ord_id:
                found = o
        return found

    def _aggress(self, o: _Order, book: _Book, now: int, events: list[Event]) -> None:
        """``o`` enters the book: trade what crosses, then rest or eliminate the remainder;
        then release any stops the trades triggered."""
        traded = self._match(o, book, now, events)
        if o.leaves_qty:
            tif = o.terms.time_in_force
            if tif == _FAK or tif == _FOK:
                self._eliminate(o, EliminationReason.FILL_AND_KILL, now, events)
            else:
                self._rest(o, book)
        else:
            self._retire(o, _ST_FILLED)
        if traded and book.stops:
            self._trigger_stops(book, now, events)

    def _match(self, o: _Order, book: _Book, now: int, events: list[Event]) -> bool:
        if o.is_buy:
            keys, levels, bound, sign = book.ask_keys, book.asks, o.price, 1
        else:
            keys, levels, bound, sign = book.bid_keys, book.bids, -o.price, -1
        if not keys or keys[0] > bound:
            return False
        remaining = o.leaves_qty
        terms = o.terms
        trade_date = self.trade_date
        oid = o.order_id
        while remaining and keys and keys[0] <= bound:
            key = keys[0]
            level = levels[key]
            px = key * sign
            self._md_entry_id += 1
            md = self._md_entry_id
            done: list[_Order] = []
            # One aggressor fill per level, split every MAX_MATCHES_PER_FILL matches (the
            # NoOrderEvents group of one report holds no more).
            matches: list[Match] = []
            resting: list[Event] = []
            chunk_qty = agg_exec = agg_side_trade = 0
            for r in level.values():
                if not matches:
                    self._exec_id += 1
                    agg_exec = self._exec_id
                    self._side_trade_id += 1
                    agg_side_trade = self._side_trade_id
                q = r.leaves_qty if r.leaves_qty < remaining else remaining
                remaining -= q
                chunk_qty += q
                r.leaves_qty -= q
                r.cum_qty += q
                self._match_id += 1
                mid = self._match_id
                matches.append(Match(mid, q, r.order_id))
                self._exec_id += 1
                self._side_trade_id += 1
                resting.append(
                    Filled(
                        self._exec_id, now, r.terms, r.cum_qty, r.leaves_qty, px, q, False,
                        self._side_trade_id, md, trade_date, (Match(mid, q, oid),),
                    )
                )  # fmt: skip
                if not r.leaves_qty:
                    done.append(r)
                if not remaining or len(matches) == MAX_MATCHES_PER_FILL:
                    o.cum_qty += chunk_qty
                    events.append(
                        Filled(
                            agg_exec, now, terms, o.cum_qty, remaining, px, chunk_qty, True,
                            agg_side_trade, md, trade_date, tuple(matches),
                        )
                    )  # fmt: skip
                    events.extend(resting)
                    matches = []
                    resting = []
                    chunk_qty = 0
                    if not remaining:
                        break
            if matches:
                o.cum_qty += chunk_qty
                events.append(
                    Filled(
                        agg_exec, now, terms, o.cum_qty, remaining, px, chunk_qty, True,
                        agg_side_trade, md, trade_date, tuple(matches),
                    )
                )  # fmt: skip
                events.extend(resting)
            for r in done:
                del level[r.order_id]
                self._retire(r, _ST_FILLED)
            if not level:
                del levels[key]
                del keys[0]
            o.leaves_qty = remaining
            book.last_px = px
        return True

    def _trigger_stops(self, book: _Book, now: int, events: list[Event]) -> None:
        """Release stops the last trade price reached, oldest first, until none is left."""
        while book.stops:
            last = book.last_px
            assert last is not None
            hit = None
            for s in book.stops:
                assert s.stop_px is not None
                if (last >= s.stop_px) if s.is_buy else (last <= s.stop_px):
                    hit = s
                    break
            if hit is None:
                return
            book.stops.remove(hit)
            hit.stop_px = None
            events.append(Triggered(now, hit.terms))
            self._match(hit, book, now, events)
            if hit.leaves_qty:
                self._rest(hit, book)
            else:
                self._retire(hit, _ST_FILLED)

    def _rest(self, o: _Order, book: _Book) -> None:
        if o.is_buy:
            key, keys, levels = -o.price, book.bid_keys, book.bids
        else:
            key, keys, levels = o.price, book.ask_keys, book.asks
        level = levels.get(key)
        if level is None:
            level = levels[key] = {}
            insort(keys, key)
        oid = o.order_id
        level[oid] = o
        self._seq += 1
        o.priority = self._seq
        self._live[oid] = o
        mine = self._by_owner.get(o.owner)
        if mine is None:
            mine = self._by_owner[o.owner] = {}
        mine[oid] = o

    def _add_stop(self, o: _Order) -> None:
        o.book.stops.append(o)
        self._seq += 1
        o.priority = self._seq
        self._live[o.order_id] = o
        mine = self._by_owner.get(o.owner)
        if mine is None:
            mine = self._by_owner[o.owner] = {}
        mine[o.order_id] = o

    def _unlink(self, o: _Order) -> None:
        """Take a working order off its book (it stays in the working-order index)."""
        book = o.book
        if o.stop_px is not None:
            book.stops.remove(o)
            return
        if o.is_buy:
            key, keys, levels = -o.price, book.bid_keys, book.bids
        else:
            key, keys, levels = o.price, book.ask_keys, book.asks
        level = levels[key]
        del level[o.order_id]
        if not level:
            del levels[key]
            del keys[bisect_left(keys, key)]

    def _retire(self, o: _Order, status: OrderStatus) -> None:
        """The order is finished: forget it as working, remember its final state."""
        oid = o.order_id
        if self._live.pop(oid, None) is not None:
            mine = self._by_owner[o.owner]
            del mine[oid]
            if not mine:
                del self._by_owner[o.owner]
        if self._done_capacity:
            done = self._done
            done[oid] = (o.terms, o.cum_qty, status)
            if len(done) > self._done_capacity:
                del done[next(iter(done))]

    def _eliminate(
        self, o: _Order, reason: EliminationReason, now: int, events: list[Event]
    ) -> None:
        self._exec_id += 1
        events.append(Eliminated(self._exec_id, now, o.terms, o.cum_qty, reason))
        self._retire(o, _ST_EXPIRED)


# --------------------------------------------------------------------------- helpers


def _unknown_security(
    owner: Owner, echo: Echo, msg_type: str, security_id: int, now: int
) -> BusinessRejected:
    return BusinessRejected(
        now,
        owner,
        echo,
        msg_type,
        BusinessRejectReason.UNKNOWN_SECURITY,
        f"Unknown Security: SecurityID {security_id} is not traded on market segment "
        f"{owner.market_segment_id}",
        48,
        echo.order_request_id,
    )


def _same_firm(a: Owner, b: Owner) -> bool:
    return a.firm == b.firm and a.market_segment_id == b.market_segment_id


def _off_tick(field: str, price: int, tick: int) -> _Reject:
    return _Reject(
        1011,
        reject_text(
            1011, f"{field} {decimal_of(price)} is not a multiple of tick {decimal_of(tick)}"
        ),
    )


def _check_limits(book: _Book, price: int) -> _Reject | None:
    if book.high is not None and price > book.high:
        return _Reject(2137, reject_text(2137, f"{decimal_of(price)} violates High Limit"))
    if book.low is not None and price < book.low:
        return _Reject(2137, reject_text(2137, f"{decimal_of(price)} violates Low Limit"))
    return None


def _check_band(book: _Book, is_buy: bool, price: int) -> _Reject | None:
    if book.band is None:
        return None
    ref = book.last_px if book.last_px is not None else book.reference
    if ref is None:
        return None
    if is_buy and price > ref + book.band:
        return _Reject(2179, reject_text(2179, f"Bid of {decimal_of(price)} violates High Band"))
    if not is_buy and price < ref - book.band:
        return _Reject(2179, reject_text(2179, f"Ask of {decimal_of(price)} violates Low Band"))
    return None


def _check_stop_limit(is_buy: bool, price: int, stop: int) -> _Reject | None:
    if is_buy and price < stop:
        return _Reject(2058, reject_text(2058))
    if not is_buy and price > stop:
        return _Reject(2059, reject_text(2059))
    return None


def _check_stop_vs_last(book: _Book, is_buy: bool, stop: int) -> _Reject | None:
    last = book.last_px
    if last is None:
        return None
    if is_buy and stop <= last:
        return _Reject(2061, reject_text(2061))
    if not is_buy and stop >= last:
        return _Reject(2060, reject_text(2060))
    return None


def _check_display(display: int | None, qty: int, min_qty: int | None) -> _Reject | None:
    if display is None:
        return None
    if display <= 0:
        return _Reject(1013, reject_text(1013, f"DisplayQty {display}"))
    if display > qty:
        return _Reject(2046, reject_text(2046))
    if min_qty is not None and display < min_qty:
        return _Reject(7613, reject_text(7613))
    return None


def _protect(book: _Book, is_buy: bool, base: int) -> int:
    """Protection price: ``base`` ± protection points, kept inside the price limits."""
    if is_buy:
        p = base + book.protection
        return p if book.high is None or p <= book.high else book.high
    p = base - book.protection
    return p if book.low is None or p >= book.low else book.low


def _available(book: _Book, is_buy: bool, limit: int, need: int) -> bool:
    """Whether at least ``need`` can trade against the opposite side up to ``limit``."""
    if is_buy:
        keys, levels, bound = book.ask_keys, book.asks, limit
    else:
        keys, levels, bound = book.bid_keys, book.bids, -limit
    total = 0
    for key in keys:
        if key > bound:
            return False
        for r in levels[key].values():
            total += r.leaves_qty
            if total >= need:
                return True
    return False


def _expires(terms: OrderTerms, trade_date: int) -> bool:
    tif = terms.time_in_force
    if tif in _DAY_TIFS:
        return True
    return tif == _GTD and terms.expire_date is not None and terms.expire_date <= trade_date


_MASS_TIF: Final[Mapping[int, frozenset[TimeInForce]]] = {
    MassCancelTIF.Day: _DAY_TIFS,
    MassCancelTIF.GoodTillCancel: frozenset({_GTC}),
    MassCancelTIF.GoodTillDate: frozenset({_GTD}),
}


def _mass_match(cmd: MassAction, o: _Order) -> bool:
    terms = o.terms
    scope = cmd.scope
    if scope == MassActionScope.Instrument and terms.security_id != cmd.security_id:
        return False
    if scope == MassActionScope.InstrumentGroup and o.book.symbol != cmd.security_group:
        return False
    if cmd.side is not None and int(terms.side) != int(cmd.side):
        return False
    if cmd.ord_type is not None:
        is_stop = terms.ord_type == _STOP_LIMIT
        if is_stop != (cmd.ord_type == MassActionOrdTyp.StopLimit):
            return False
    if cmd.time_in_force is not None:
        tifs = _MASS_TIF.get(int(cmd.time_in_force))
        if tifs is None or terms.time_in_force not in tifs:
            return False
    kind = cmd.mass_cancel_request_type
    if kind == MassCxlReqTyp.SenderSubID and terms.echo.sender_id != cmd.echo.sender_id:
        return False
    return not (
        kind == MassCxlReqTyp.Account
        and terms.echo.party_details_list_req_id != cmd.echo.party_details_list_req_id
    )


def _state(o: _Order) -> OrderState:
    return OrderState(o.terms, o.cum_qty, o.leaves_qty, o.stop_px is not None, o.priority)


def _order_to_dict(o: _Order) -> dict[str, Any]:
    t = o.terms
    e = t.echo
    return {
        "order_id": t.order_id,
        "session": t.owner.session,
        "firm": t.owner.firm,
        "market_segment_id": t.owner.market_segment_id,
        "cl_ord_id": e.cl_ord_id,
        "order_request_id": e.order_request_id,
        "sender_id": e.sender_id,
        "location": e.location,
        "party_details_list_req_id": e.party_details_list_req_id,
        "manual_order_indicator": int(e.manual_order_indicator),
        "seq_num": e.seq_num,
        "security_id": t.security_id,
        "side": int(t.side),
        "ord_type": t.ord_type.value,
        "time_in_force": int(t.time_in_force),
        "order_qty": t.order_qty,
        "price": t.price,
        "stop_px": t.stop_px,
        "expire_date": t.expire_date,
        "min_qty": t.min_qty,
        "display_qty": t.display_qty,
        "cum_qty": o.cum_qty,
        "leaves_qty": o.leaves_qty,
        "waiting_stop_px": o.stop_px,
        "modified": o.modified,
    }


def _opt_int(v: Any) -> int | None:
    return None if v is None else int(v)


def _order_from_dict(d: Mapping[str, Any], books: Mapping[int, _Book]) -> _Order:
    book = books.get(int(d["security_id"]))
    if book is None:
        raise ValueError(f"snapshot order {d.get('order_id')}: unknown SecurityID")
    owner = Owner(str(d["session"]), str(d["firm"]), int(d["market_segment_id"]))
    echo = Echo(
        str(d["cl_ord_id"]),
        int(d["order_request_id"]),
        str(d["sender_id"]),
        str(d["location"]),
        int(d["party_details_list_req_id"]),
        ManualOrdIndReq(int(d["manual_order_indicator"])),
        int(d.get("seq_num", 0)),
    )
    terms = OrderTerms(
        int(d["order_id"]),
        owner,
        echo,
        book.security_id,
        SideReq(int(d["side"])),
        OrderType(str(d["ord_type"])),
        TimeInForce(int(d["time_in_force"])),
        int(d["order_qty"]),
        int(d["price"]),
        _opt_int(d.get("stop_px")),
        _opt_int(d.get("expire_date")),
        _opt_int(d.get("min_qty")),
        _opt_int(d.get("display_qty")),
    )
    o = _Order(terms, book, _opt_int(d.get("waiting_stop_px")))
    o.cum_qty = int(d["cum_qty"])
    o.leaves_qty = int(d["leaves_qty"])
    o.modified = bool(d.get("modified", False))
    if o.leaves_qty <= 0 or o.cum_qty + o.leaves_qty != terms.order_qty:
        raise ValueError(f"snapshot order {terms.order_id}: inconsistent quantities")
    return o
