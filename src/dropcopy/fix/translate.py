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
from dropcopy.sbe.runtime import Block, FieldMeta, MessageBase

from .codec import encode, encode_body, field_value_bytes

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
    "prepare_translations",
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


_SECOND: Final = 1_000_000_000
#: The last second formatted, its text and bytes (a stream's timestamps share their seconds);
#: one tuple, replaced whole, so that threads never see a second with another's text.
_last_second: tuple[int | None, str, bytes] = (None, "", b"")


def _second_text(seconds: int) -> tuple[int | None, str, bytes]:
    global _last_second
    moment = _EPOCH + timedelta(seconds=seconds)
    text = (
        f"{moment.year:04d}{moment.month:02d}{moment.day:02d}-"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )
    _last_second = (seconds, text, text.encode())
    return _last_second


def _timestamp_bytes(nanoseconds: int) -> bytes:
    """``format_utc_timestamp(nanoseconds).encode()``."""
    seconds, rest = divmod(nanoseconds, _SECOND)
    last = _last_second
    if last[0] != seconds:
        last = _second_text(seconds)
    return b"%s.%03d" % (last[2], rest // 1_000_000)


def format_utc_timestamp(nanoseconds: int) -> str:
    """FIX UTCTimestamp ``YYYYMMDD-HH:MM:SS.sss`` of nanoseconds since the epoch (truncated).

    Truncation, not rounding: CME's sample has 60=...33.976 for 5979=...33.976364291
    (wire notes §2.2).
    """
    seconds, rest = divmod(nanoseconds, _SECOND)
    last = _last_second
    if last[0] != seconds:
        last = _second_text(seconds)
    return f"{last[1]}.{rest // 1_000_000:03d}"


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
    """:func:`translate` of one SBE message given as bytes (message header first, no SOFH).

    The router's hot path: rendered by the template's compiled function (below), same bytes.
    """
    msg = messages.decode(data)
    render = _COMPILED.get(type(msg))
    if render is None:
        if type(msg) not in _KINDS:
            return translate(msg, ctx)  # raises UnsupportedTemplate
        render = _compiled(type(msg))
    try:
        out = render(msg, ctx)
    except Exception:  # the reference path raises it, or the one it raises first
        out = None
    return out if out is not None else translate(msg, ctx)


# --------------------------------------------------------------------------- compiled path
#
# translate_sbe is the Drop Copy router's hot path: every copied message goes through it. It
# renders from the decoded message's wire values (``_raw``) with a function generated once per
# template from the same plan. The function writes the fields in the order translate_fields
# gives them (the header; body steps and derived tags merged by tag; each group block before
# the first tag above its NumInGroup tag: an order that depends only on which fields are
# present), each value as its formatter renders the decoded Python value:
#
# * one-byte fields (enums, Y/N flags, ExecInst, small ints, 1-character arrays): a table of
#   all 256 wire values, filled by the formatter itself through the class's own property;
# * integers: ``%d`` of the wire value (null: absent); timestamps through a per-second cache of
#   the UTCTimestamp text; prices by integer arithmetic (:func:`_price`, the same text as
#   :func:`format_price`); char arrays up to the first NUL (absent if empty);
# * anything else (and the derived tags of rarer templates) through the property and the
#   formatter, as translate_fields does.
#
# Every field is one expression giving ``\x01<tag>=<value>`` or ``b""`` (absent), so that
# everything outside the groups is one ``%`` format. encode refuses values that are not
# printable ASCII: the values that are not printable by construction (char arrays, the
# context's texts, formatter output) are checked together at the end, and a message that fails
# goes to the reference path, which raises the precise error. Tests compare both paths (every
# example of tests/fix/test_translate.py is translated both ways).

_Compiled = Callable[[Any, TranslationContext], bytes | None]
_COMPILED: dict[type[MessageBase], _Compiled] = {}
_PRINTABLE: Final = bytes(range(0x20, 0x7F))


def _price(mantissa: int, exponent: int) -> bytes:
    """``format_price(Decimal(mantissa).scaleb(exponent)).encode()`` in integer arithmetic."""
    if exponent >= 0:
        return b"%d" % (mantissa * 10**exponent)
    units, fraction = divmod(abs(mantissa), 10**-exponent)
    sign = b"-" if mantissa < 0 else b""
    if not fraction:
        return b"%s%d" % (sign, units)
    return b"%s%d.%s" % (sign, units, (b"%0*d" % (-exponent, fraction)).rstrip(b"0"))


_prices: dict[int, bytes] = {}


def _price9(mantissa: int) -> bytes:
    """``_price(mantissa, -9)`` (PRICE9, PRICENULL9), remembered: prices are on a tick grid."""
    text = _prices.get(mantissa)
    if text is None:
        if len(_prices) >= 65536:
            _prices.clear()
        text = _prices[mantissa] = _price(mantissa, -9)
    return text


_dates: dict[int, bytes] = {}


def _date(days: int) -> bytes:
    """``format_local_mkt_date(days).encode()``, remembered (few dates occur)."""
    text = _dates.get(days)
    if text is None:
        if len(_dates) >= 4096:
            _dates.clear()
        text = _dates[days] = format_local_mkt_date(days).encode()
    return text


def _wire(value: Any) -> bytes:
    """A value as :func:`~dropcopy.fix.codec.encode` puts it on the wire (not yet checked)."""
    cls = value.__class__
    if cls is str:
        return value.encode()  # type: ignore[no-any-return]
    if cls is int:
        return b"%d" % value
    return field_value_bytes(value)


def _encoded(text: str | None) -> bytes | None:
    return None if text is None else text.encode()


_BYTE_VALUES: Final[dict[str, list[Any]]] = {
    "uint8": list(range(256)),
    "int8": list(range(-128, 128)),
    "char": [bytes([i]) for i in range(256)],
}


def _byte_table(
    cls: type[Block], meta: FieldMeta, fmt: Callable[[Any], str | None]
) -> dict[Any, bytes | None] | None:
    """Wire value -> rendered text (``None``: absent) of a one-byte field, by asking its
    property and formatter about every value; ``None`` when that is not possible."""
    values = _BYTE_VALUES.get(meta.primitive)
    if values is None or meta.slot < 0 or meta.nslots != 1 or meta.size != 1:
        return None
    raw = list(cls._NULL_RAW)
    table: dict[Any, bytes | None] = {}
    probe = object.__new__(cls)
    try:
        for value in values:
            raw[meta.slot] = value
            probe._raw = tuple(raw)  # type: ignore[misc]
            text = fmt(getattr(probe, meta.name))
            table[value] = None if text is None else text.encode()
    except Exception:  # e.g. a value the formatter refuses: left to the property path
        return None
    return table


def _printable(text: bytes) -> bool:
    return not text.translate(None, _PRINTABLE)


class _Source:
    """A generated function under construction: its lines, the objects they name, and the
    names of the values still to be checked."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {
            "_ts": _timestamp_bytes,
            "_price": _price,
            "_price9": _price9,
            "_date": _date,
            "_wire": _wire,
            "_encoded": _encoded,
            "_fmt_enum": _fmt_enum,
            "_PRINTABLE": _PRINTABLE,
            "_frame": encode_body,
        }
        self.checks: list[str] = []  # names of values to check
        self.all_checks: list[str] = []

    def const(self, value: Any) -> str:
        name = f"_k{len(self.names)}"
        self.names[name] = value
        return name

    def check(self) -> str:
        """A new name for a value to check."""
        name = f"w{len(self.all_checks)}"
        self.checks.append(name)
        self.all_checks.append(name)
        return name

    def emit(self, indent: int, *lines: str) -> None:
        self.lines += ["    " * indent + line for line in lines]

    def emit_checks(self, indent: int) -> None:
        if self.checks:
            values = ", ".join(self.checks)
            self.emit(indent, f"if b''.join(({values},)).translate(None, _PRINTABLE):")
            self.emit(indent + 1, "return None")
            self.checks = []


class _Field(NamedTuple):
    """One field as generated code: ``fmt`` goes into the ``%`` format of its run, ``args``
    (expressions) fill it; ``guards`` are statements run first (they may return None)."""

    tag: int
    fmt: bytes
    args: tuple[str, ...] = ()
    guards: tuple[str, ...] = ()


def _prefix(tag: int) -> bytes:
    return b"\x01%d=" % tag


def _constant(src: _Source, tag: int, text: str | bytes) -> _Field:
    value = text.encode() if isinstance(text, str) else text
    if _printable(value):
        return _Field(tag, _prefix(tag) + value.replace(b"%", b"%%"))
    return _Field(tag, _prefix(tag) + b"%s", (f"({src.check()} := {src.const(value)})",))


def _value(tag: int, expr: str, spec: bytes = b"%s") -> _Field:
    """Always present, printable by construction."""
    return _Field(tag, _prefix(tag) + spec, (expr,))


def _checked(src: _Source, tag: int, expr: str) -> _Field:
    """Always present, to be checked."""
    return _Field(tag, _prefix(tag) + b"%s", (f"({src.check()} := {expr})",))


def _optional(tag: int, test: str, expr: str, spec: bytes = b"%s") -> _Field:
    """Present when ``test`` holds (evaluated first), printable by construction."""
    field = _prefix(tag) + spec
    return _Field(tag, b"%s", (f"({field!r} % {expr} if {test} else b'')",))


def _optional_checked(src: _Source, tag: int, test: str, expr: str) -> _Field:
    """Present when ``test`` holds (evaluated first), to be checked."""
    field = _prefix(tag) + b"%s"
    name = src.check()
    return _Field(tag, b"%s", (f"({field!r} % ({name} := {expr}) if {test} else b'')",))


def _chars(src: _Source, tag: int, v: str) -> _Field:
    """A char array's text up to the first NUL, absent when empty; checked."""
    field = _prefix(tag) + b"%s"
    name = src.check()
    test = f"({name} := {v}.partition(b'\\x00')[0])"
    return _Field(tag, b"%s", (f"({field!r} % {name} if {test} else b'')",))


def _table(src: _Source, tag: int, table: dict[Any, bytes | None], v: str) -> _Field:
    """A one-byte field by its table of complete fields (``b""`` when absent)."""
    fields = {raw: b"" if text is None else _prefix(tag) + text for raw, text in table.items()}
    bad = frozenset(raw for raw, text in table.items() if text is not None and not _printable(text))
    guards = (f"if {v} in {src.const(bad)}:", "    return None") if bad else ()
    return _Field(tag, b"%s", (f"{src.const(fields)}[{v}]",), guards)


def _meta(cls: type[Block], name: str) -> FieldMeta:
    return next(meta for meta in cls.SBE_FIELDS if meta.name == name)


def _simple(meta: FieldMeta, kind: str) -> bool:
    return meta.kind == kind and meta.nslots == 1 and meta.slot >= 0


def _step_field(src: _Source, cls: type[Block], step: _Step, row: str, obj: str) -> _Field:
    """One body or group-entry field (``row``: the wire values, ``obj``: the block)."""
    meta, fmt, tag = _meta(cls, step.name), step.fmt, step.tag
    v = f"{row}[{meta.slot}]"
    if meta.kind == "constant":
        text = fmt(None)
        assert text is not None
        return _constant(src, tag, text)
    table = _byte_table(cls, meta, fmt)
    if table is not None:
        return _table(src, tag, table, v)
    if _simple(meta, "chars") and fmt is _fmt_text:
        return _chars(src, tag, v)
    if (_simple(meta, "int") and fmt in (_fmt_int, _fmt_timestamp, _fmt_date)) or (
        _simple(meta, "decimal") and fmt is _fmt_decimal
    ):
        spec = b"%s"
        if fmt is _fmt_int:
            expr, spec = "{}", b"%d"
        elif fmt is _fmt_timestamp:
            expr = "_ts({})"
        elif fmt is _fmt_date:
            expr = "_date({})"
        elif meta.min == -9:
            expr = "_price9({})"
        else:
            expr = f"_price({{}}, {int(meta.min)})"
        if not meta.nullable:
            return _value(tag, expr.format(v), spec)
        return _optional(tag, f"(v := {v}) != {src.const(meta.null)}", expr.format("v"), spec)
    # the property and the formatter, as translate_fields does
    text = f"(t := _encoded({src.const(fmt)}(getattr({obj}, {meta.name!r})))) is not None"
    return _optional_checked(src, tag, text, "t")


def _text_if_any(src: _Source, cls: type[Block], name: str, tag: int) -> _Field:
    """``if msg.<name>: add((tag, msg.<name>))`` (a char array)."""
    meta = _meta(cls, name)
    if _simple(meta, "chars"):
        return _chars(src, tag, f"r[{meta.slot}]")
    return _optional_checked(src, tag, f"(t := o.{name})", "_wire(t)")


def _str_of(src: _Source, cls: type[Block], name: str, tag: int) -> _Field:
    """``str(msg.<name>)``."""
    meta = _meta(cls, name)
    if _simple(meta, "int") and not meta.nullable:
        return _value(tag, f"r[{meta.slot}]", b"%d")
    return _checked(src, tag, f"str(o.{name}).encode()")


def _derived_by(
    src: _Source, cls: type[Block], name: str, tag: int, fmt: Callable[[Any], str | None]
) -> _Field:
    """``fmt(msg.<name>)`` unless ``None``."""
    meta = _meta(cls, name)
    table = _byte_table(cls, meta, fmt)
    if table is not None:
        return _table(src, tag, table, f"r[{meta.slot}]")
    return _optional_checked(
        src, tag, f"(t := _encoded({src.const(fmt)}(o.{name}))) is not None", "t"
    )


def _fmt_enum_or_empty(value: Any) -> str:
    return _fmt_enum(value) or ""


def _fmt_poss_dup(value: Any) -> str | None:
    return "Y" if int(value) == 1 else None


def _header_fields(src: _Source, cls: type[MessageBase], plan: _Plan) -> list[_Field]:
    """:func:`_header`'s fields."""
    fields = [
        _str_of(src, cls, "SeqNum", 34),
        _optional_checked(
            src, 369, "(n := ctx.last_msg_seq_num_processed) is not None", "str(n).encode()"
        ),
    ]
    sending = _meta(cls, "SendingTimeEpoch")
    if _simple(sending, "int") and not sending.nullable:
        fields.append(_value(52, f"_ts(r[{sending.slot}])"))
    else:
        fmt = src.const(format_utc_timestamp)
        fields.append(_checked(src, 52, f"{fmt}(o.SendingTimeEpoch).encode()"))
    fields += [
        _derived_by(src, cls, "PossRetransFlag", 43, _fmt_poss_dup),
        _constant(src, 49, CME_SENDER_COMP_ID),
        _checked(src, 50, "str(ctx.market_segment_id).encode()"),
        _checked(src, 56, "_wire(ctx.sender_comp_id)"),
        _text_if_any(src, cls, "SenderID", 57),
    ]
    if "OrigOrderUser" in plan.names:
        fields.append(_text_if_any(src, cls, "OrigOrderUser", 128))
    fields.append(_text_if_any(src, cls, "Location", 143))
    return fields


def _derived_fields(src: _Source, cls: type[MessageBase], plan: _Plan) -> list[_Field]:
    """:func:`_derived`'s fields, in its order."""
    kind, names = plan.kind, plan.names
    out: list[_Field] = []

    def when(tag: int, test: str, expr: str) -> None:
        out.append(_optional_checked(src, tag, test, expr))

    if kind.exec_report:
        out.append(_constant(src, 6, "0"))
        if kind.addendum:
            codes = src.const({"H": b"1", "G": b"2"})
            out.append(_value(20, f'{codes}.get(_fmt_enum(o.ExecType) or "", b"0")'))
        else:
            out.append(_constant(src, 20, "0"))
    if kind.exec_report or kind.cancel_reject:
        out.append(_constant(src, 41, "0"))
        out.append(_text_if_any(src, cls, "ClOrdID", 9717))
    if kind.cum_qty is not None and "CumQty" not in names:
        out.append(_constant(src, 14, kind.cum_qty))
    if kind.leaves_qty is not None and "LeavesQty" not in names:
        if kind.leaves_qty == _ORDER_QTY:
            out.append(_str_of(src, cls, "OrderQty", 151))
        else:
            out.append(_constant(src, 151, kind.leaves_qty))
    if kind.fill:
        out.append(_derived_by(src, cls, "OrdStatus", 150, _fmt_enum_or_empty))
        side_trade_id = _meta(cls, "SideTradeID")
        if _simple(side_trade_id, "int") and not side_trade_id.nullable:
            out.append(_optional(17, "not o.ExecID", f"r[{side_trade_id.slot}]", b"%d"))
        else:
            when(17, "not o.ExecID", "str(o.SideTradeID).encode()")
    if kind.addendum:
        test = "not o.ExecRefID and o.OrigSideTradeID is not None"
        when(19, test, "str(o.OrigSideTradeID).encode()")
    if kind.multileg is not None:
        out.append(_constant(src, 442, kind.multileg))
    if kind.request_time and "TransactTime" in names:
        out.append(_str_of(src, cls, "TransactTime", 5979))
    if "SecurityID" in names:
        group_wins = " and not o.SecurityGroup" if "SecurityGroup" in names else ""
        when(55, f"inst is not None{group_wins}", "_wire(inst.symbol)")
        when(107, "inst is not None and inst.security_desc", "_wire(inst.security_desc)")
        when(167, "inst is not None and inst.security_type", "_wire(inst.security_type)")
    if "PartyDetailsListReqID" in names:
        when(1, "party is not None and party.account", "_wire(party.account.upper())")
        when(79, "party is not None and party.take_up_account", "_wire(party.take_up_account)")
        when(
            819,
            "party is not None and party.avg_px_indicator is not None",
            "_wire(str(party.avg_px_indicator))",
        )
        when(
            1031,
            "party is not None and party.cust_order_handling_inst",
            "_wire(party.cust_order_handling_inst)",
        )
        when(
            1598,
            "party is not None and party.clearing_trade_price_type is not None",
            "_wire(str(party.clearing_trade_price_type))",
        )
        when(5149, "party is not None and party.memo", "_wire(party.memo)")
    return out


def _write(src: _Source, indent: int, fields: Sequence[_Field], start: bytes, end: bytes) -> None:
    """``a(start + fields + end)``: one ``%`` format (guards first)."""
    for field in fields:
        src.emit(indent, *field.guards)
    fmt = start + b"".join(field.fmt for field in fields) + end
    args = [arg for field in fields for arg in field.args]
    if args:
        src.emit(indent, f"a({fmt!r} % ({', '.join(args)},))")
    elif fmt:
        src.emit(indent, f"a({fmt.replace(b'%%', b'%')!r})")


def _compile(cls: type[MessageBase]) -> _Compiled:
    """The rendering function of one template (its source is its ``__doc__``)."""
    plan = _plan_for(cls)
    src = _Source()
    # the body: steps, then derived tags, sorted by tag (stably, like translate_fields), and
    # each group before the first body tag not below its NumInGroup tag
    body: list[_Field | _GroupPlan] = [_step_field(src, cls, s, "r", "o") for s in plan.body]
    body += _derived_fields(src, cls, plan)
    body.sort(key=lambda item: item.tag)
    tags = [item.tag for item in body]
    for group in reversed(plan.groups):
        body.insert(bisect.bisect_left(tags, group.tag), group)
    header = _header_fields(src, cls, plan)
    # lookups first, then the header (CME's order) and the body
    lines = ["def render(o, ctx):", "    r = o._raw"]
    if "SecurityID" in plan.names:
        src.emit(1, "inst = None", "sid = o.SecurityID", "if sid is not None:")
        src.emit(2, "inst = ctx.instruments(sid)")
    if "PartyDetailsListReqID" in plan.names:
        src.emit(1, "party = None", "pid = o.PartyDetailsListReqID", "if pid is not None:")
        src.emit(2, "party = ctx.party_details(pid)")
    src.emit(1, "parts = []", "a = parts.append")
    run: list[_Field] = header
    start = b"35=" + plan.msg_type.encode()
    entries = {g.name: g.entry for g in cls.SBE_GROUPS}
    for item in body:
        if isinstance(item, _Field):
            run.append(item)
            continue
        _write(src, 1, run, start, b"")
        run, start = [], b""
        outer_checks, src.checks = src.checks, []
        fields = [_step_field(src, entries[item.name], s, "q", "e") for s in item.steps]
        src.emit(1, f"es = o.{item.name}", "if es:")
        src.emit(2, f"a(b'\\x01{item.tag}=%d' % len(es))", "for e in es:", "    q = e._raw")
        _write(src, 3, fields, b"", b"")
        src.emit_checks(3)
        src.checks = outer_checks
    _write(src, 1, run, start, b"\x01")
    src.emit_checks(1)
    src.emit(1, "return _frame(b''.join(parts))")
    if src.all_checks:  # names checked at the end must exist when their field is absent
        lines.append(f"    {' = '.join(src.all_checks)} = b''")
    code = "\n".join(lines + src.lines)
    namespace = dict(src.names)
    exec(compile(code, f"<translate_sbe {cls.__name__}>", "exec"), namespace)
    render: _Compiled = namespace["render"]
    render.__doc__ = code
    return render


def _compiled(cls: type[MessageBase]) -> _Compiled:
    render = _COMPILED.get(cls)
    if render is None:
        render = _COMPILED[cls] = _compile(cls)
    return render


def prepare_translations() -> None:
    """Compile every template's :func:`translate_sbe` function now (a few ms each), rather
    than when its first message is copied."""
    for cls in _KINDS:
        _compiled(cls)
