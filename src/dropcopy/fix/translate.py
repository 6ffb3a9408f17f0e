"""iLink 3 (SBE) business message -> the FIX 4.2 message Drop Copy 4.0 carries inside ``35=n``.

Theory of operation
-------------------
For MSGW targets with iLink 3 source sessions, Drop Copy 4.0 renders every copied SBE business
message as a FIX 4.2 tag=value message and wraps it in ``<RTRF>`` (wire notes §2.3: "the SBE
message is translated to FIX 4.2 ASCII"; the wrapping is :mod:`dropcopy.fix` encapsulation's job,
not this module's). :func:`translate` builds that inner message, 8/9/.../10 included;
:func:`translate_fields` returns its MsgType and ordered ``(tag, value)`` fields.

The SBE message alone does not carry everything CME shows: the source session's SenderCompID
(inner 56), the market segment (inner 50), the instrument's symbol, description and type
(55/107/167) and the party details registered under ``PartyDetailsListReqID`` (1 Account, ...).
They come from a :class:`TranslationContext`; missing reference data leaves the dependent tags
out, never invented.

Field rules, in order of precedence (the full map is in ``docs/translation.md`` and comes from
:func:`field_map`):

1. **Header**, in the order of CME's real sample (wire notes §2.2): 34 <- SeqNum (9726),
   369 <- context, 52 <- SendingTimeEpoch (5297), 43=Y when PossRetransFlag (9765) is 1,
   49=CME, 50 <- market segment, 56 <- source SenderCompID, 57 <- SenderID (5392),
   128 <- OrigOrderUser (9937), 143 <- Location (9537) (CME mapping, wire notes §2.3).
2. **Body**: every other SBE field whose id is a FIX tag goes under that tag (the schema's ids
   *are* FIX tags), null/empty values left out, formatted for FIX 4.2: prices as plain decimals,
   LocalMktDate as ``YYYYMMDD``, TransactTime as UTCTimestamp, Boolean enums as ``Y``/``N``,
   enums as their wire value. Session/transport fields are not carried (:data:`NOT_CARRIED`).
3. **Derived** body tags per message kind (:class:`_Kind`): 6=0, 20, 41=0, 9717, 14/151 when
   the template has none, 150 of fills, 442, 5979 RequestTime <- TransactTime.
4. Body fields in ascending tag order, as CME's sample; a repeating group is a block at the
   position of its NumInGroup tag, each entry starting with its delimiter (the entry's
   lowest-tag required field), then the rest ascending.

Pure: no clock, no I/O. Times come from the message.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Context, Decimal
from enum import Enum
from typing import Any, Final, NamedTuple

from dropcopy.ilink3 import messages
from dropcopy.sbe.runtime import FieldMeta, MessageBase

from .codec import encode

__all__ = [
    "NOT_CARRIED",
    "SUPPORTED_TEMPLATES",
    "FieldRule",
    "Instrument",
    "PartyDetails",
    "TranslationContext",
    "TranslationError",
    "UnsupportedTemplate",
    "field_map",
    "field_map_markdown",
    "format_local_mkt_date",
    "format_price",
    "format_utc_timestamp",
    "translate",
    "translate_fields",
    "translate_sbe",
]

#: Inner 49 SenderCompID (wire notes §2.2 sample: ``49=CME``).
CME_SENDER_COMP_ID: Final = "CME"


# --------------------------------------------------------------------------- errors


class TranslationError(Exception):
    """An SBE message cannot be rendered as a Drop Copy FIX 4.2 message (misuse, not a peer's)."""


class UnsupportedTemplate(TranslationError):
    """The template has no Drop Copy translation (e.g. session messages, client->CME messages)."""

    def __init__(self, template_id: int, name: str) -> None:
        super().__init__(
            f"no Drop Copy FIX 4.2 translation for iLink 3 template {name} (templateId {template_id})"
        )
        self.template_id = template_id
        self.name = name


# --------------------------------------------------------------------------- context


@dataclass(frozen=True, slots=True)
class Instrument:
    """Reference data of one instrument (from the venue's security definitions)."""

    #: 55 Symbol: the instrument's SecurityGroup (1151), e.g. ``ZN`` (CME mapping 55 <- 1151).
    symbol: str
    #: 107 SecurityDesc, e.g. ``ZNH1`` (golden sample).
    security_desc: str | None = None
    #: 167 SecurityType, e.g. ``FUT`` (golden sample), ``TNOTE`` (BrokerTec sample).
    security_type: str | None = None


@dataclass(frozen=True, slots=True)
class PartyDetails:
    """The party details registered under one PartyDetailsListReqID (1505), as far as CME shows them.

    Only the tags seen in CME's Drop Copy payloads are carried (wire notes §2.2/§2.3 and CME
    AutoCert BrokerTec "Receive and Process Encapsulated Message"); see docs/translation.md.
    """

    #: PartyDetailID with PartyDetailRole=24 (customer account) -> 1 Account, upper-cased
    #: (CME mapping: "This tag value is always uppercase").
    account: str | None = None
    #: PartyDetailID with PartyDetailRole=1000 (take-up account) -> 79 AllocAccount.
    take_up_account: str | None = None
    #: 819 AvgPxIndicator (BrokerTec sample ``819=0``).
    avg_px_indicator: int | None = None
    #: 1031 CustOrderHandlingInst (golden sample ``1031=Y``, BrokerTec ``1031=H``).
    cust_order_handling_inst: str | None = None
    #: 1598 ClearingTradePriceType (BrokerTec sample ``1598=1``).
    clearing_trade_price_type: int | None = None
    #: 5149 Memo (BrokerTec sample ``5149=Memo ACPOS``).
    memo: str | None = None


def _no_instrument(security_id: int) -> Instrument | None:
    return None


def _no_party_details(party_details_list_req_id: int) -> PartyDetails | None:
    return None


@dataclass(frozen=True, slots=True)
class TranslationContext:
    """What the Drop Copy router knows about the source of one SBE message."""

    #: The source iLink 3 session's SenderCompID: inner 56 TargetCompID (wire notes §1.1:
    #: "inner = source iLink session"; golden sample ``56=M2L000N``).
    sender_comp_id: str
    #: The market segment of the source MSGW: inner 50 SenderSubID (golden sample ``50=84``).
    market_segment_id: int
    #: Inner 369 LastMsgSeqNumProcessed: the last sequence number the MSGW processed from the
    #: source session (golden sample ``369=18623``); ``None`` leaves 369 out.
    last_msg_seq_num_processed: int | None = None
    #: SecurityID (48) -> reference data for 55/107/167; ``dict.get`` works.
    instruments: Callable[[int], Instrument | None] = _no_instrument
    #: PartyDetailsListReqID (1505) -> party details for 1/79/819/1031/1598/5149.
    party_details: Callable[[int], PartyDetails | None] = _no_party_details


# --------------------------------------------------------------------------- value formats

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DATE: Final = date(1970, 1, 1)
_DECIMAL_CONTEXT: Final = Context(prec=60)


def format_utc_timestamp(nanoseconds: int) -> str:
    """FIX UTCTimestamp ``YYYYMMDD-HH:MM:SS.sss`` of nanoseconds since the epoch (truncated).

    Truncation, not rounding: CME's sample has 60=...33.976 for 5979=...33.976364291
    (wire notes §2.2).
    """
    seconds, rest = divmod(nanoseconds, 1_000_000_000)
    moment = _EPOCH + timedelta(seconds=seconds)
    return (
        f"{moment.year:04d}{moment.month:02d}{moment.day:02d}-"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.{rest // 1_000_000:03d}"
    )


def format_local_mkt_date(days: int) -> str:
    """FIX LocalMktDate ``YYYYMMDD`` of an SBE LocalMktDate (days since 1970-01-01)."""
    day = _EPOCH_DATE + timedelta(days=days)
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def format_price(value: Decimal) -> str:
    """A price/decimal as plain text: no exponent, no trailing zeros (``139.203125``, ``130``)."""
    text = format(value.normalize(_DECIMAL_CONTEXT), "f")
    return "0" if text == "-0" else text


def _fmt_text(value: Any) -> str | None:
    return value if value else None  # empty / null char array -> absent


def _fmt_int(value: Any) -> str | None:
    return None if value is None else str(int(value))


def _fmt_enum(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Enum):
        value = value.value
    return str(value)  # unknown values come back raw (int or str) and pass through


def _fmt_bool(value: Any) -> str | None:
    if value is None:
        return None
    number = int(value)
    return "Y" if number == 1 else "N" if number == 0 else str(number)


def _fmt_decimal(value: Any) -> str | None:
    return None if value is None else format_price(value)


def _fmt_date(value: Any) -> str | None:
    return None if value is None else format_local_mkt_date(value)


def _fmt_timestamp(value: Any) -> str | None:
    return None if value is None else format_utc_timestamp(value)


#: ExecInst (18) bits -> FIX 4.2 ExecInst values. OB (Only Best) has no FIX 4.2 value and is
#: not carried (docs/translation.md, "Decisions").
_EXEC_INST: Final = ((int(messages.ExecInst.AON), "G"), (int(messages.ExecInst.NH), "1"))


def _fmt_exec_inst(value: Any) -> str | None:
    bits = int(value)
    text = " ".join(code for bit, code in _EXEC_INST if bits & bit)
    return text or None


_BOOLEAN_TYPES: Final = frozenset({"BooleanFlag", "BooleanNULL", "ManualOrdIndReq", "ManualOrdInd"})


def _formatter(meta: FieldMeta) -> tuple[Callable[[Any], str | None], str]:
    """How one SBE field's Python value becomes FIX text, and the rule in words."""
    if meta.id == 60:
        return _fmt_timestamp, "ns since epoch -> UTCTimestamp (ms, truncated)"
    if meta.type_name == "LocalMktDate":
        return _fmt_date, "LocalMktDate -> YYYYMMDD"
    if meta.type_name in _BOOLEAN_TYPES:
        return _fmt_bool, "1 -> Y, 0 -> N"
    if meta.kind in ("decimal", "decimalx"):
        return _fmt_decimal, "plain decimal"
    if meta.kind == "set" and meta.type_name == "ExecInst":
        return _fmt_exec_inst, "bits: AON -> G, NH -> 1 (space-separated); OB not carried"
    if meta.kind in ("chars", "char"):
        return _fmt_text, "as is"
    if meta.kind in ("enum", "cenum"):
        return _fmt_enum, "enum value"
    if meta.kind == "int":
        return _fmt_int, "as is"
    if meta.kind == "constant":
        constant = str(meta.constant)
        return (lambda _value: constant), f"constant {constant}"
    raise TranslationError(f"no FIX rendering for SBE field {meta.name} ({meta.kind})")


# --------------------------------------------------------------------------- per-kind rules

#: SBE fields that do not become a body tag of the same number, and where they go instead.
NOT_CARRIED: Final[dict[int, str]] = {
    9726: "header 34 MsgSeqNum (CME mapping 34 <- 9726)",
    39001: "not carried (FIXP session UUID)",
    5392: "header 57 TargetSubID (CME mapping 50/57 <- 5392)",
    1505: "key of the party-details lookup (1, 79, 819, 1031, 1598, 5149)",
    5297: "header 52 SendingTime (UTCTimestamp, ms)",
    9537: "header 143 TargetLocationID (CME mapping 143 <- 9537)",
    9765: "header 43 PossDupFlag=Y when 1, absent when 0 (CME mapping 43 <- 9765)",
    9553: "not carried (iLink 3 session-level split-message indicator)",
    5904: "not carried (iLink 3 latency-floor field)",
    7552: "not carried (iLink 3 latency-floor field)",
    2422: "not carried (absent from CME's payload samples although always set in SBE)",
    9937: "header 128 DeliverToCompID (CME mapping 128 <- 9937)",
    1506: "embedded in 17 ExecID (CME mapping 17 <- 1506); 17 = SideTradeID if ExecID is empty",
    1507: "19 ExecRefID when the SBE ExecRefID is empty (CME mapping 19 <- 1507)",
}

#: SBE field id -> FIX tag, where they differ (CME mapping 55 <- 1151 SecurityGroup).
_RETAGGED: Final[dict[int, int]] = {1151: 55}

_ORDER_QTY: Final = "OrderQty"


@dataclass(frozen=True, slots=True)
class _Kind:
    """Derived body tags of one message kind (docs/translation.md lists their sources)."""

    #: 35=8: 6 AvgPx=0, 20 ExecTransType, 41 OrigClOrdID=0, 9717 CorrelationClOrdID=ClOrdID.
    exec_report: bool = False
    #: 35=9: 41 OrigClOrdID=0, 9717 CorrelationClOrdID=ClOrdID.
    cancel_reject: bool = False
    #: 5979 RequestTime <- TransactTime (ns), on execution reports and rejects, not on 35=j.
    request_time: bool = True
    #: 14 CumQty when the template has none.
    cum_qty: str | None = None
    #: 151 LeavesQty when the template has none: a constant, or ``_ORDER_QTY``.
    leaves_qty: str | None = None
    #: Fill: 150 ExecType <- OrdStatus (FIX 4.2 has no ExecType F), 17 falls back to 1506.
    fill: bool = False
    #: 442 MultiLegReportingType (1 outright, 2 leg of a spread, 3 spread).
    multileg: str | None = None
    #: Trade cancel/correction: 20 ExecTransType 1/2 from ExecType H/G; 19 falls back to 1507.
    addendum: bool = False


_KINDS: Final[dict[type[MessageBase], _Kind]] = {
    messages.BusinessReject521: _Kind(request_time=False),
    messages.ExecutionReportNew522: _Kind(exec_report=True, cum_qty="0", leaves_qty=_ORDER_QTY),
    messages.ExecutionReportReject523: _Kind(exec_report=True, cum_qty="0", leaves_qty="0"),
    messages.ExecutionReportElimination524: _Kind(exec_report=True, leaves_qty="0"),
    messages.ExecutionReportTradeOutright525: _Kind(exec_report=True, fill=True, multileg="1"),
    messages.ExecutionReportTradeSpread526: _Kind(exec_report=True, fill=True, multileg="3"),
    messages.ExecutionReportTradeSpreadLeg527: _Kind(exec_report=True, fill=True, multileg="2"),
    messages.ExecutionReportModify531: _Kind(exec_report=True),
    messages.ExecutionReportStatus532: _Kind(exec_report=True),
    messages.ExecutionReportCancel534: _Kind(exec_report=True, leaves_qty="0"),
    messages.OrderCancelReject535: _Kind(cancel_reject=True),
    messages.OrderCancelReplaceReject536: _Kind(cancel_reject=True),
    messages.ExecutionReportTradeAddendumOutright548: _Kind(
        exec_report=True, addendum=True, multileg="1"
    ),
    messages.ExecutionReportTradeAddendumSpread549: _Kind(
        exec_report=True, addendum=True, multileg="3"
    ),
    messages.ExecutionReportTradeAddendumSpreadLeg550: _Kind(
        exec_report=True, addendum=True, multileg="2"
    ),
    messages.OrderMassActionReport562: _Kind(),
    messages.ExecutionReportPendingCancel564: _Kind(exec_report=True),
    messages.ExecutionReportPendingReplace565: _Kind(exec_report=True),
}

#: Template ids :func:`translate` accepts.
SUPPORTED_TEMPLATES: Final[frozenset[int]] = frozenset(cls.TEMPLATE_ID for cls in _KINDS)


# --------------------------------------------------------------------------- plans


class _Step(NamedTuple):
    tag: int
    name: str
    fmt: Callable[[Any], str | None]


class _GroupPlan(NamedTuple):
    tag: int
    name: str
    steps: tuple[_Step, ...]


class _Plan(NamedTuple):
    msg_type: str
    kind: _Kind
    names: frozenset[str]
    body: tuple[_Step, ...]
    groups: tuple[_GroupPlan, ...]


class FieldRule(NamedTuple):
    """One row of the field map: SBE source, FIX tag (``""`` when none), rule."""

    source: str
    tag: str
    rule: str


def _field_steps(
    fields: Sequence[FieldMeta], kind: _Kind, rows: list[FieldRule], prefix: str = ""
) -> tuple[_Step, ...]:
    steps: list[_Step] = []
    for meta in fields:
        source = f"{prefix}{meta.name} ({meta.id})"
        if meta.id in NOT_CARRIED:
            rows.append(FieldRule(source, "", NOT_CARRIED[meta.id]))
            continue
        if kind.fill and meta.id == 150:
            rows.append(FieldRule(source, "150", "replaced by OrdStatus (FIX 4.2 fills: 1 or 2)"))
            continue
        fmt, rule = _formatter(meta)
        tag = _RETAGGED.get(meta.id, meta.id)
        if tag != meta.id:
            rule = f"{rule} (CME mapping {tag} <- {meta.id})"
        rows.append(FieldRule(source, str(tag), rule))
        steps.append(_Step(tag, meta.name, fmt))
    return tuple(sorted(steps, key=lambda step: step.tag))


def _build_plan(cls: type[MessageBase]) -> tuple[_Plan, list[FieldRule]]:
    kind = _KINDS.get(cls)
    if kind is None:
        raise UnsupportedTemplate(cls.TEMPLATE_ID, cls.__name__)
    rows: list[FieldRule] = []
    fields: Sequence[FieldMeta] = cls.SBE_FIELDS
    body = _field_steps(fields, kind, rows)
    groups: list[_GroupPlan] = []
    for group in getattr(cls, "SBE_GROUPS", ()):
        entry_fields: Sequence[FieldMeta] = group.entry.SBE_FIELDS
        # Each entry starts with its delimiter, the lowest-tag *required* SBE field, then the
        # rest ascending. NoOrderEvents starts with 1797 because OrderEventType 1796 is nullable
        # (CME AutoCert also lists 1797 first); the other groups are plainly ascending. A
        # required char array (FillExecID 1363, OrigClOrdID 41) is always filled by CME.
        delimiter = min(
            _RETAGGED.get(meta.id, meta.id)
            for meta in entry_fields
            if not meta.nullable and meta.id not in NOT_CARRIED
        )
        rows.append(
            FieldRule(
                f"group {group.name} ({group.id})",
                str(group.id),
                f"NumInGroup, absent if 0; entries start with {delimiter}, rest ascending",
            )
        )
        steps = _field_steps(entry_fields, kind, rows, prefix="  - ")
        steps = tuple(sorted(steps, key=lambda step: (step.tag != delimiter, step.tag)))
        groups.append(_GroupPlan(group.id, group.name, steps))
    groups.sort(key=lambda plan: plan.tag)
    names = frozenset(meta.name for meta in fields)
    plan = _Plan(cls.SEMANTIC_TYPE, kind, names, body, tuple(groups))
    rows.extend(_derived_rows(plan))
    return plan, rows


def _derived_rows(plan: _Plan) -> list[FieldRule]:
    kind, names = plan.kind, plan.names
    rows: list[FieldRule] = []
    if "PartyDetailsListReqID" in names:
        rows += [
            FieldRule("party details: role 24", "1", "upper-cased (CME mapping 1 <- role 24)"),
            FieldRule("party details: role 1000", "79", "CME mapping 79 <- role 1000"),
            FieldRule("party details", "819, 1031, 1598, 5149", "as registered (CME samples)"),
        ]
    if kind.exec_report:
        rows.append(FieldRule("—", "6", "0 (CME sends AvgPx 0: golden sample, iLink 2 fills)"))
    if kind.cum_qty is not None and "CumQty" not in names:
        rows.append(FieldRule("—", "14", f"{kind.cum_qty} (template has no CumQty)"))
    if kind.fill:
        rows.append(
            FieldRule("ExecID (17) / SideTradeID (1506)", "17", "ExecID; SideTradeID if empty")
        )
    if kind.addendum:
        rows.append(FieldRule("OrigSideTradeID (1507)", "19", "when the SBE ExecRefID is empty"))
    if kind.exec_report:
        rule = "1 for ExecType H (cancel), 2 for G (correction)" if kind.addendum else "0 (New)"
        rows.append(FieldRule("—", "20", rule))
    if kind.exec_report or kind.cancel_reject:
        rows.append(FieldRule("—", "41", "0 (CME: deprecated, defaults to 0)"))
    if "SecurityID" in names:
        when = " when SecurityGroup is empty" if "SecurityGroup" in names else ""
        rows.append(FieldRule("instrument lookup by SecurityID", "55", f"symbol{when}"))
    if kind.fill:
        rows.append(FieldRule("OrdStatus (39)", "150", "same value: 1 partial fill, 2 fill"))
    if "SecurityID" in names:
        rows.append(
            FieldRule("instrument lookup by SecurityID", "107, 167", "SecurityDesc, SecurityType")
        )
    if kind.leaves_qty is not None and "LeavesQty" not in names:
        value = "OrderQty" if kind.leaves_qty == _ORDER_QTY else kind.leaves_qty
        rows.append(FieldRule("—", "151", f"{value} (template has no LeavesQty)"))
    if kind.multileg is not None:
        rows.append(FieldRule("template", "442", kind.multileg))
    if kind.request_time and "TransactTime" in names:
        rows.append(FieldRule("TransactTime (60)", "5979", "ns, as is (RequestTime)"))
    if kind.exec_report or kind.cancel_reject:
        rows.append(FieldRule("ClOrdID (11)", "9717", "CorrelationClOrdID (golden sample)"))
    return rows


_PLANS: dict[type[MessageBase], _Plan] = {}


def _plan_for(cls: type[MessageBase]) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        plan, _rows = _build_plan(cls)
        _PLANS[cls] = plan
    return plan


def field_map(cls: type[MessageBase]) -> list[FieldRule]:
    """The field map of one template: every SBE field and derived tag, with its rule."""
    return _build_plan(cls)[1]


def field_map_markdown() -> str:
    """The per-template field maps as Markdown (the generated part of docs/translation.md)."""
    out: list[str] = []
    for cls in sorted(_KINDS, key=lambda c: c.TEMPLATE_ID):
        out.append(f"### {cls.__name__} -> 35={cls.SEMANTIC_TYPE}\n")
        out.append("| SBE source | FIX tag | rule |")
        out.append("|---|---|---|")
        for row in field_map(cls):
            out.append(f"| {row.source} | {row.tag or '—'} | {row.rule} |")
        out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------- translation


def _header(msg: Any, plan: _Plan, ctx: TranslationContext) -> list[tuple[int, str]]:
    header: list[tuple[int, str]] = [(34, str(msg.SeqNum))]
    if ctx.last_msg_seq_num_processed is not None:
        header.append((369, str(ctx.last_msg_seq_num_processed)))
    header.append((52, format_utc_timestamp(msg.SendingTimeEpoch)))
    if int(msg.PossRetransFlag) == 1:
        header.append((43, "Y"))
    header += [
        (49, CME_SENDER_COMP_ID),
        (50, str(ctx.market_segment_id)),
        (56, ctx.sender_comp_id),
    ]
    if msg.SenderID:
        header.append((57, msg.SenderID))
    if "OrigOrderUser" in plan.names and msg.OrigOrderUser:
        header.append((128, msg.OrigOrderUser))
    if msg.Location:
        header.append((143, msg.Location))
    return header


def _derived(msg: Any, plan: _Plan, ctx: TranslationContext, body: list[tuple[int, str]]) -> None:
    kind, names = plan.kind, plan.names
    add = body.append
    if kind.exec_report:
        add((6, "0"))
        transact_type = "0"
        if kind.addendum:
            transact_type = {"H": "1", "G": "2"}.get(_fmt_enum(msg.ExecType) or "", "0")
        add((20, transact_type))
    if kind.exec_report or kind.cancel_reject:
        add((41, "0"))
        if msg.ClOrdID:
            add((9717, msg.ClOrdID))
    if kind.cum_qty is not None and "CumQty" not in names:
        add((14, kind.cum_qty))
    if kind.leaves_qty is not None and "LeavesQty" not in names:
        add((151, str(msg.OrderQty) if kind.leaves_qty == _ORDER_QTY else kind.leaves_qty))
    if kind.fill:
        add((150, _fmt_enum(msg.OrdStatus) or ""))
        if not msg.ExecID:
            add((17, str(msg.SideTradeID)))
    if kind.addendum and not msg.ExecRefID and msg.OrigSideTradeID is not None:
        add((19, str(msg.OrigSideTradeID)))
    if kind.multileg is not None:
        add((442, kind.multileg))
    if kind.request_time and "TransactTime" in names:
        add((5979, str(msg.TransactTime)))
    if "SecurityID" in names and msg.SecurityID is not None:
        instrument = ctx.instruments(msg.SecurityID)
        if instrument is not None:
            if not ("SecurityGroup" in names and msg.SecurityGroup):  # 55 <- 1151 wins
                add((55, instrument.symbol))
            if instrument.security_desc:
                add((107, instrument.security_desc))
            if instrument.security_type:
                add((167, instrument.security_type))
    if "PartyDetailsListReqID" in names and msg.PartyDetailsListReqID is not None:
        party = ctx.party_details(msg.PartyDetailsListReqID)
        if party is not None:
            if party.account:
                add((1, party.account.upper()))
            if party.take_up_account:
                add((79, party.take_up_account))
            if party.avg_px_indicator is not None:
                add((819, str(party.avg_px_indicator)))
            if party.cust_order_handling_inst:
                add((1031, party.cust_order_handling_inst))
            if party.clearing_trade_price_type is not None:
                add((1598, str(party.clearing_trade_price_type)))
            if party.memo:
                add((5149, party.memo))


def _render(steps: Sequence[_Step], source: Any, out: list[tuple[int, str]]) -> None:
    for step in steps:
        text = step.fmt(getattr(source, step.name))
        if text is not None:
            out.append((step.tag, text))


def translate_fields(
    msg: MessageBase, ctx: TranslationContext
) -> tuple[str, list[tuple[int, str]]]:
    """MsgType and the ordered fields after 35 (header, then body) of the inner FIX 4.2 message.

    Raises :class:`UnsupportedTemplate` for a template Drop Copy does not copy.
    """
    plan = _plan_for(type(msg))
    body: list[tuple[int, str]] = []
    _render(plan.body, msg, body)
    _derived(msg, plan, ctx, body)
    body.sort(key=lambda pair: pair[0])  # stable; every tag appears once outside the groups
    if plan.groups:
        tags = [tag for tag, _ in body]
        blocks: list[tuple[int, list[tuple[int, str]]]] = []
        for group in plan.groups:
            entries = getattr(msg, group.name)
            if not entries:
                continue
            block: list[tuple[int, str]] = [(group.tag, str(len(entries)))]
            for entry in entries:
                _render(group.steps, entry, block)
            blocks.append((bisect.bisect_left(tags, group.tag), block))
        for at, block in reversed(blocks):  # from the back, so earlier positions hold
            body[at:at] = block
    return plan.msg_type, _header(msg, plan, ctx) + body


def translate(msg: MessageBase, ctx: TranslationContext) -> bytes:
    """The inner FIX 4.2 message (8, 9, ..., 10) Drop Copy puts inside ``<RTRF>`` for ``msg``."""
    msg_type, fields = translate_fields(msg, ctx)
    return encode(msg_type, fields)


def translate_sbe(data: bytes, ctx: TranslationContext) -> bytes:
    """:func:`translate` of one SBE message given as bytes (message header first, no SOFH)."""
    return translate(messages.decode(data), ctx)
