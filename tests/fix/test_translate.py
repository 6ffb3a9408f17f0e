"""iLink 3 (SBE) -> FIX 4.2 inner message of Drop Copy 4.0 ``35=n`` (wire notes §2.2, §2.3).

Every translated message is parsed twice, by our decoder and by simplefix (an independent
parser), and every tag it carries is checked, in order.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import simplefix
from hypothesis import given, settings
from hypothesis import strategies as st

from dropcopy.fix import codec
from dropcopy.fix.translate import (
    NOT_CARRIED,
    SUPPORTED_TEMPLATES,
    Instrument,
    PartyDetails,
    TranslationContext,
    TranslationError,
    UnsupportedTemplate,
    field_map,
    field_map_markdown,
    format_local_mkt_date,
    format_price,
    format_utc_timestamp,
    translate,
    translate_fields,
    translate_sbe,
)
from dropcopy.ilink3 import messages as m
from dropcopy.sbe.runtime import MessageBase
from tests.ilink3.strategies import blocks

Fields = list[tuple[int, str]]

ROOT = Path(__file__).resolve().parents[2]


def days(d: date) -> int:
    return (d - date(1970, 1, 1)).days


# --------------------------------------------------------------------------- fixtures

TRANSACT = 1718900000123456789  # 2024-06-20 16:13:20.123456789 UTC
TRANSACT_TEXT = "20240620-16:13:20.123"
SENDING = 1718900000124000001
SENDING_TEXT = "20240620-16:13:20.124"
TODAY = days(date(2024, 6, 20))

ZN_FUTURE = 204527
ZN_SPREAD = 5001
ZN_LEG_2 = 204528

INSTRUMENTS = {
    ZN_FUTURE: Instrument("ZN", "ZNU4", "FUT"),
    ZN_LEG_2: Instrument("ZN", "ZNZ4", "FUT"),
    ZN_SPREAD: Instrument("ZN", "ZNU4-ZNZ4", "FUT"),
}
PARTIES = {
    1001: PartyDetails(account="acct42", cust_order_handling_inst="W"),
    1002: PartyDetails(
        account="Acct7",
        take_up_account="TU99",
        avg_px_indicator=0,
        cust_order_handling_inst="H",
        clearing_trade_price_type=1,
        memo="hedge book",
    ),
}
CTX = TranslationContext(
    sender_comp_id="ABC123N",
    market_segment_id=99,
    last_msg_seq_num_processed=4711,
    instruments=INSTRUMENTS.get,
    party_details=PARTIES.get,
)
BARE_CTX = TranslationContext(sender_comp_id="ABC123N", market_segment_id=99)

#: Root fields every CME->client business template has.
COMMON: dict[str, Any] = {
    "SeqNum": 812,
    "UUID": 1718899000000000,
    "SenderID": "TRADER1",
    "PartyDetailsListReqID": 1001,
    "SendingTimeEpoch": SENDING,
    "Location": "US,IL",
    "PossRetransFlag": m.BooleanFlag.False_,
    "ManualOrderIndicator": m.ManualOrdIndReq.Automated,
}


def header(seq: int = 812, *, poss_dup: bool = False, sender_id: str | None = "TRADER1") -> Fields:
    """The inner header in CME's order (wire notes §2.2 sample)."""
    fields: Fields = [(34, str(seq)), (369, "4711"), (52, SENDING_TEXT)]
    if poss_dup:
        fields.append((43, "Y"))
    fields += [(49, "CME"), (50, "99"), (56, "ABC123N")]
    if sender_id is not None:
        fields.append((57, sender_id))
    fields.append((143, "US,IL"))
    return fields


def parse(raw: bytes) -> tuple[str, Fields]:
    """MsgType and the fields between 35 and 10, read by our decoder and by simplefix."""
    ours = codec.decode(raw)
    parser = simplefix.FixParser()
    parser.append_buffer(raw)
    theirs = parser.get_message()
    assert theirs is not None
    assert parser.get_message() is None  # exactly one message
    our_pairs = [(tag, value.decode("ascii")) for tag, value in ours.fields]
    their_pairs = [(int(tag), value.decode("ascii")) for tag, value in theirs.pairs]
    assert our_pairs == their_pairs
    assert our_pairs[0] == (8, "FIX.4.2")
    assert our_pairs[1] == (9, str(len(raw) - raw.index(b"\x0135=") - 1 - len(b"10=xxx\x01")))
    assert our_pairs[-1] == (10, f"{codec.checksum(raw[: raw.rindex(b'10=')]):03d}")
    assert our_pairs[2][0] == 35
    return our_pairs[2][1], our_pairs[3:-1]


def translated(msg: MessageBase, ctx: TranslationContext = CTX) -> tuple[str, Fields]:
    raw = translate(msg, ctx)
    msg_type, fields = parse(raw)
    assert translate_fields(msg, ctx) == (msg_type, fields)
    assert translate_sbe(msg.encode(), ctx) == raw  # same result from the wire bytes
    return msg_type, fields


# --------------------------------------------------------------------------- golden sample


GOLDEN_INNER = (
    b"8=FIX.4.2|9=356|35=8|34=36027|369=18623|52=20200701-20:34:33.977|49=CME|50=84|"
    b"56=M2L000N|57=DUMMY|143=US,IL|1=00331|6=0|11=ACP1593635673935|14=0|17=84618:1342652|"
    b"20=0|37=84778833500|38=10|39=0|40=2|41=0|44=139.203125|48=204527|54=1|55=ZN|59=0|"
    b"60=20200701-20:34:33.976|107=ZNH1|150=0|151=10|167=FUT|432=20200701|1028=Y|1031=Y|"
    b"5979=1593635673976364291|9717=ACP1593635673935|10=124|"
).replace(b"|", b"\x01")


def test_golden_sample_order_ack_is_reproduced_byte_for_byte() -> None:
    """Wire notes §2.2: CME's real inner 35=8 (QuickFIX/n ReadXmlDataTest), from its SBE source.

    Header values CME took from its own state (56, 50, 369) come from the context; the rest,
    9=356 and 10=124 included, from the ExecutionReportNew522 alone.
    """
    msg = m.ExecutionReportNew522(
        SeqNum=36027,
        UUID=1593600000000000,
        ExecID="84618:1342652",
        SenderID="DUMMY",
        ClOrdID="ACP1593635673935",
        PartyDetailsListReqID=331,
        OrderID=84778833500,
        Price=Decimal("139.203125"),
        TransactTime=1593635673976364291,
        SendingTimeEpoch=1593635673977420000,
        OrderRequestID=1593635673935,
        Location="US,IL",
        SecurityID=204527,
        OrderQty=10,
        ExpireDate=days(date(2020, 7, 1)),
        OrdType=m.OrderType.Limit,
        Side=m.SideReq.Buy,
        TimeInForce=m.TimeInForce.Day,
        ManualOrderIndicator=m.ManualOrdIndReq.Manual,
        PossRetransFlag=m.BooleanFlag.False_,
    )
    ctx = TranslationContext(
        sender_comp_id="M2L000N",
        market_segment_id=84,
        last_msg_seq_num_processed=18623,
        instruments={204527: Instrument("ZN", "ZNH1", "FUT")}.get,
        party_details={331: PartyDetails(account="00331", cust_order_handling_inst="Y")}.get,
    )
    assert translate(msg, ctx) == GOLDEN_INNER
    parse(GOLDEN_INNER)


# --------------------------------------------------------------------------- order acks


def new_order(**overrides: Any) -> m.ExecutionReportNew522:
    values: dict[str, Any] = {
        **COMMON,
        "ExecID": "99612:100001",
        "ClOrdID": "ORD-0001",
        "OrderID": 6456123456,
        "Price": Decimal("110.515625"),
        "TransactTime": TRANSACT,
        "OrderRequestID": 77,
        "SecurityID": ZN_FUTURE,
        "OrderQty": 25,
        "OrdType": m.OrderType.Limit,
        "Side": m.SideReq.Sell,
        "TimeInForce": m.TimeInForce.Day,
    }
    values.update(overrides)
    return m.ExecutionReportNew522(**values)


def test_execution_report_new_522() -> None:
    assert translated(new_order()) == (
        "8",
        [
            *header(),
            (1, "ACCT42"),  # role 24, upper-cased
            (6, "0"),
            (11, "ORD-0001"),
            (14, "0"),
            (17, "99612:100001"),
            (20, "0"),
            (37, "6456123456"),
            (38, "25"),
            (39, "0"),
            (40, "2"),
            (41, "0"),
            (44, "110.515625"),
            (48, "204527"),
            (54, "2"),
            (55, "ZN"),
            (59, "0"),
            (60, TRANSACT_TEXT),
            (107, "ZNU4"),
            (150, "0"),
            (151, "25"),
            (167, "FUT"),
            (1028, "N"),
            (1031, "W"),
            (5979, str(TRANSACT)),
            (9717, "ORD-0001"),
        ],
    )


def test_execution_report_new_522_optional_fields_when_present() -> None:
    """Non-null optional SBE fields are carried under their own tag, in ascending order."""
    msg = new_order(
        OrdType=m.OrderType.StopLimit,
        StopPx=Decimal("110.5"),
        MinQty=5,
        DisplayQty=10,
        ExpireDate=days(date(2024, 9, 19)),
        TimeInForce=m.TimeInForce.GoodTillDate,
        CrossID=123456789012,
        HostCrossID=42,
        CrossType=3,
        ExecInst=m.ExecInst.AON | m.ExecInst.NH,
        ExecutionMode=m.ExecMode.Passive,
        LiquidityFlag=m.BooleanNULL.True_,
        ManagedOrder=m.BooleanNULL.False_,
        ShortSaleType=m.ShortSaleType.ShortSaleWithNoExemptionSESH,
        DiscretionPrice=Decimal("110.25"),
        ReservationPrice=Decimal("110.75"),
        PriorityIndicator=1,
        # not carried: latency floor / split message / request id
        DelayDuration=5,
        DelayToTime=1000,
        SplitMsg=m.SplitMsg.SplitMessageDelayed,
    )
    _, fields = translated(msg)
    body = dict(fields)
    assert body[18] == "G 1"
    assert body[40] == "4"
    assert body[59] == "6"
    assert body[99] == "110.5"
    assert body[110] == "5"
    assert body[1138] == "10"
    assert body[432] == "20240919"
    assert body[548] == "123456789012"  # CrossID is Int(20) on MSGW (wire notes §2.3)
    assert body[961] == "42"
    assert body[549] == "3"
    assert body[5906] == "P"
    assert body[9373] == "Y"
    assert body[6881] == "N"
    assert body[5409] == "1"
    assert body[845] == "110.25"
    assert body[9562] == "110.75"
    assert body[638] == "1"
    for tag in (5904, 7552, 9553, 2422, 39001, 9726, 5392, 1505, 5297, 9537, 9765):
        assert tag not in body
    body_tags = [tag for tag, _ in fields[len(header()) :]]
    assert body_tags == sorted(body_tags)


def test_exec_inst_only_best_has_no_fix42_value() -> None:
    _, fields = translated(new_order(ExecInst=m.ExecInst.OB))
    assert 18 not in dict(fields)
    _, fields = translated(new_order(ExecInst=m.ExecInst.OB | m.ExecInst.AON))
    assert dict(fields)[18] == "G"


def test_execution_report_modify_531() -> None:
    msg = m.ExecutionReportModify531(
        **COMMON,
        ExecID="99612:100002",
        ClOrdID="ORD-0002",
        OrderID=6456123456,
        Price=Decimal("110.53125"),
        TransactTime=TRANSACT,
        OrderRequestID=78,
        SecurityID=ZN_FUTURE,
        OrderQty=30,
        CumQty=5,
        LeavesQty=25,
        OrdType=m.OrderType.Limit,
        Side=m.SideReq.Buy,
        TimeInForce=m.TimeInForce.GoodTillCancel,
    )
    assert translated(msg) == (
        "8",
        [
            *header(),
            (1, "ACCT42"),
            (6, "0"),
            (11, "ORD-0002"),
            (14, "5"),
            (17, "99612:100002"),
            (20, "0"),
            (37, "6456123456"),
            (38, "30"),
            (39, "5"),
            (40, "2"),
            (41, "0"),
            (44, "110.53125"),
            (48, "204527"),
            (54, "1"),
            (55, "ZN"),
            (59, "1"),
            (60, TRANSACT_TEXT),
            (107, "ZNU4"),
            (150, "5"),
            (151, "25"),
            (167, "FUT"),
            (1028, "N"),
            (1031, "W"),
            (5979, str(TRANSACT)),
            (9717, "ORD-0002"),
        ],
    )


def test_execution_report_cancel_534_on_behalf_goes_to_128_and_2807() -> None:
    """CME mapping 128 <- 9937 OrigOrderUser (header); CancelText 2807 and 378 in the body."""
    msg = m.ExecutionReportCancel534(
        **{**COMMON, "ManualOrderIndicator": m.ManualOrdIndReq.Manual},
        ExecID="99612:100003",
        ClOrdID="ORD-0003",
        OrderID=6456123456,
        Price=Decimal("110.5"),
        TransactTime=TRANSACT,
        OrderRequestID=79,
        SecurityID=ZN_FUTURE,
        OrderQty=30,
        CumQty=5,
        OrdType=m.OrderType.Limit,
        Side=m.SideReq.Buy,
        TimeInForce=m.TimeInForce.Day,
        ExecRestatementReason=m.ExecReason.CancelOnDisconnect,
        OrigOrderUser="XYZ456N",
        CancelText="ABC123N",
    )
    hdr = header()
    hdr.insert(hdr.index((143, "US,IL")), (128, "XYZ456N"))
    assert translated(msg) == (
        "8",
        [
            *hdr,
            (1, "ACCT42"),
            (6, "0"),
            (11, "ORD-0003"),
            (14, "5"),
            (17, "99612:100003"),
            (20, "0"),
            (37, "6456123456"),
            (38, "30"),
            (39, "4"),
            (40, "2"),
            (41, "0"),
            (44, "110.5"),
            (48, "204527"),
            (54, "1"),
            (55, "ZN"),
            (59, "0"),
            (60, TRANSACT_TEXT),
            (107, "ZNU4"),
            (150, "4"),
            (151, "0"),
            (167, "FUT"),
            (378, "100"),
            (1028, "Y"),
            (1031, "W"),
            (2807, "ABC123N"),
            (5979, str(TRANSACT)),
            (9717, "ORD-0003"),
        ],
    )


def test_execution_report_elimination_524() -> None:
    msg = m.ExecutionReportElimination524(
        **COMMON,
        ExecID="99612:100004",
        ClOrdID="ORD-0004",
        OrderID=6456123457,
        Price=Decimal("110.5"),
        TransactTime=TRANSACT,
        OrderRequestID=80,
        SecurityID=ZN_FUTURE,
        CumQty=3,
        OrderQty=10,
        ExpireDate=TODAY,
        OrdType=m.OrderType.Limit,
        Side=m.SideReq.Sell,
        TimeInForce=m.TimeInForce.Day,
    )
    assert translated(msg) == (
        "8",
        [
            *header(),
            (1, "ACCT42"),
            (6, "0"),
            (11, "ORD-0004"),
            (14, "3"),
            (17, "99612:100004"),
            (20, "0"),
            (37, "6456123457"),
            (38, "10"),
            (39, "C"),
            (40, "2"),
            (41, "0"),
            (44, "110.5"),
            (48, "204527"),
            (54, "2"),
            (55, "ZN"),
            (59, "0"),
            (60, TRANSACT_TEXT),
            (107, "ZNU4"),
            (150, "C"),
            (151, "0"),
            (167, "FUT"),
            (432, "20240620"),
            (1028, "N"),
            (1031, "W"),
            (5979, str(TRANSACT)),
            (9717, "ORD-0004"),
        ],
    )


def test_execution_report_reject_523() -> None:
    msg = m.ExecutionReportReject523(
        **COMMON,
        Text="Order price is outside the price banding range",
        ExecID="99612:100005",
        ClOrdID="ORD-0005",
        OrderID=0,
        TransactTime=TRANSACT,
        OrderRequestID=81,
        SecurityID=ZN_FUTURE,
        OrderQty=10,
        OrdRejReason=2179,
        OrdType=m.OrderType.Limit,
        Side=m.SideReq.Buy,
        TimeInForce=m.TimeInForce.Day,
    )
    assert translated(msg) == (
        "8",
        [
            *header(),
            (1, "ACCT42"),
            (6, "0"),
            (11, "ORD-0005"),
            (14, "0"),
            (17, "99612:100005"),
            (20, "0"),
            (37, "0"),
            (38, "10"),
            (39, "8"),
            (40, "2"),
            (41, "0"),
            (48, "204527"),
            (54, "1"),
            (55, "ZN"),
            (58, "Order price is outside the price banding range"),
            (59, "0"),
            (60, TRANSACT_TEXT),
            (103, "2179"),
            (107, "ZNU4"),
            (150, "8"),
            (151, "0"),
            (167, "FUT"),
            (1028, "N"),
            (1031, "W"),
            (5979, str(TRANSACT)),
            (9717, "ORD-0005"),
        ],
    )


def test_execution_report_status_532() -> None:
    msg = m.ExecutionReportStatus532(
        **COMMON,
        ExecID="99612:100006",
        ClOrdID="ORD-0006",
        OrderID=6456123458,
        Price=Decimal("110.5"),
        TransactTime=TRANSACT,
        OrderRequestID=82,
        OrdStatusReqID=555,
        SecurityID=ZN_FUTURE,
        OrderQty=10,
        CumQty=4,
        LeavesQty=6,
        OrdStatus=m.OrderStatus.PartiallyFilled,
        OrdType=m.OrderType.Limit,
        Side=m.SideReq.Buy,
        TimeInForce=m.TimeInForce.Day,
        LastRptRequested=m.BooleanNULL.True_,
    )
    assert translated(msg) == (
        "8",
        [
            *header(),
            (1, "ACCT42"),
            (6, "0"),
            (11, "ORD-0006"),
            (14, "4"),
            (17, "99612:100006"),
            (20, "0"),
            (37, "6456123458"),
            (38, "10"),
            (39, "1"),
            (40, "2"),
            (41, "0"),
            (44, "110.5"),
            (48, "204527"),
            (54, "1"),
            (55, "ZN"),
            (59, "0"),
            (60, TRANSACT_TEXT),
            (107, "ZNU4"),
            (150, "I"),
            (151, "6"),
            (167, "FUT"),
            (790, "555"),
            (912, "Y"),
            (1028, "N"),
            (1031, "W"),
            (5979, str(TRANSACT)),
            (9717, "ORD-0006"),
        ],
    )


def test_pending_cancel_564_and_pending_replace_565() -> None:
    """EBS acks: 35=8 with 39=6 / 39=E (seed 003, "EBS-Specific Acknowledgments")."""
    common = {
        **COMMON,
        "ClOrdID": "EBS-1",
        "OrderID": 900001,
        "Price": Decimal("1.08235"),
        "TransactTime": TRANSACT,
        "OrderRequestID": 83,
        "SecurityID": ZN_FUTURE,
        "OrderQty": 1000000,
        "CumQty": 0,
        "LeavesQty": 1000000,
        "OrdType": m.OrderType.Limit,
        "Side": m.SideReq.Buy,
        "TimeInForce": m.TimeInForce.Day,
    }
    expected_body = [
        (1, "ACCT42"),
        (6, "0"),
        (11, "EBS-1"),
        (14, "0"),
        (17, "X"),
        (20, "0"),
        (37, "900001"),
        (38, "1000000"),
        (39, "X"),
        (40, "2"),
        (41, "0"),
        (44, "1.08235"),
        (48, "204527"),
        (54, "1"),
        (55, "ZN"),
        (59, "0"),
        (60, TRANSACT_TEXT),
        (107, "ZNU4"),
        (150, "X"),
        (151, "1000000"),
        (167, "FUT"),
        (1028, "N"),
        (1031, "W"),
        (5979, str(TRANSACT)),
        (9717, "EBS-1"),
    ]

    def expect(exec_id: str, status: str) -> Fields:
        values = {17: exec_id, 39: status, 150: status}
        return [*header(), *[(tag, values.get(tag, value)) for tag, value in expected_body]]

    cancel = m.ExecutionReportPendingCancel564(**common, ExecID="PC-1")
    assert translated(cancel) == ("8", expect("PC-1", "6"))
    replace = m.ExecutionReportPendingReplace565(**common, ExecID="PR-1")
    assert translated(replace) == ("8", expect("PR-1", "E"))


# --------------------------------------------------------------------------- fills


def outright_fill(**overrides: Any) -> m.ExecutionReportTradeOutright525:
    values: dict[str, Any] = {
        **COMMON,
        "PartyDetailsListReqID": 1002,
        "ExecID": "99612:100010TN0012345",
        "ClOrdID": "ORD-0010",
        "LastPx": Decimal("110.515625"),
        "OrderID": 6456123460,
        "Price": Decimal("110.53125"),
        "TransactTime": TRANSACT,
        "OrderRequestID": 90,
        "SecExecID": 645612346020240620,
        "SecurityID": ZN_FUTURE,
        "OrderQty": 10,
        "LastQty": 4,
        "CumQty": 4,
        "MDTradeEntryID": 1234567,
        "SideTradeID": 12345,
        "LeavesQty": 6,
        "TradeDate": TODAY,
        "OrdStatus": m.OrdStatusTrd.PartiallyFilled,
        "OrdType": m.OrderType.Limit,
        "Side": m.SideReq.Buy,
        "TimeInForce": m.TimeInForce.Day,
        "AggressorIndicator": m.BooleanFlag.True_,
        "Ownership": 1,
        "NoFills": (
            m.ExecutionReportTradeOutright525_NoFills(
                FillPx=Decimal("110.515625"), FillQty=3, FillExecID="1", FillYieldType=0
            ),
            m.ExecutionReportTradeOutright525_NoFills(
                FillPx=Decimal("110.515625"), FillQty=1, FillExecID="2", FillYieldType=1
            ),
        ),
        "NoOrderEvents": (
            m.ExecutionReportTradeOutright525_NoOrderEvents(
                OrderEventPx=Decimal("110.515625"),
                OrderEventExecID=1001,
                OrderEventQty=3,
                OrderEventType=m.OrderEventType.PartiallyFilled,
                OrderEventReason=100,
            ),
            m.ExecutionReportTradeOutright525_NoOrderEvents(
                OrderEventPx=Decimal("110.515625"),
                OrderEventText="FIRMX",
                OrderEventExecID=1002,
                OrderEventQty=1,
                OrderEventType=m.OrderEventType.PartiallyFilled,
                OrderEventReason=100,
            ),
        ),
    }
    values.update(overrides)
    return m.ExecutionReportTradeOutright525(**values)


OUTRIGHT_FILL_BODY: Fields = [
    (1, "ACCT7"),
    (6, "0"),
    (11, "ORD-0010"),
    (14, "4"),
    (17, "99612:100010TN0012345"),
    (20, "0"),
    (31, "110.515625"),
    (32, "4"),
    (37, "6456123460"),
    (38, "10"),
    (39, "1"),
    (40, "2"),
    (41, "0"),
    (44, "110.53125"),
    (48, "204527"),
    (54, "1"),
    (55, "ZN"),
    (59, "0"),
    (60, TRANSACT_TEXT),
    (75, "20240620"),
    (79, "TU99"),
    (107, "ZNU4"),
    (150, "1"),
    (151, "6"),
    (167, "FUT"),
    (442, "1"),
    (527, "645612346020240620"),
    (819, "0"),
    (1028, "N"),
    (1031, "H"),
    (1057, "Y"),
    # NoFills: count, then each entry in ascending tag order
    (1362, "2"),
    (1363, "1"),
    (1364, "110.515625"),
    (1365, "3"),
    (1622, "0"),
    (1363, "2"),
    (1364, "110.515625"),
    (1365, "1"),
    (1622, "1"),
    (1598, "1"),
    # NoOrderEvents (AutoCert: 1795 -> 1797/1799/1800/1802)
    (1795, "2"),
    (1797, "1001"),  # the delimiter: 1796 OrderEventType is nullable
    (1796, "4"),
    (1798, "100"),
    (1799, "110.515625"),
    (1800, "3"),
    (1797, "1002"),
    (1796, "4"),
    (1798, "100"),
    (1799, "110.515625"),
    (1800, "1"),
    (1802, "FIRMX"),
    (5149, "hedge book"),
    (5979, str(TRANSACT)),
    (7191, "1"),
    (9717, "ORD-0010"),
    (37711, "1234567"),
]


def test_execution_report_trade_outright_525_partial_fill_with_groups() -> None:
    assert translated(outright_fill()) == ("8", [*header(), *OUTRIGHT_FILL_BODY])


def test_trade_outright_groups_read_back_by_both_parsers() -> None:
    raw = translate(outright_fill(), CTX)
    ours = codec.decode(raw)
    fills = ours.group(1362, 1363, members={1363, 1364, 1365, 1622})
    assert fills == [
        [(1363, b"1"), (1364, b"110.515625"), (1365, b"3"), (1622, b"0")],
        [(1363, b"2"), (1364, b"110.515625"), (1365, b"1"), (1622, b"1")],
    ]
    events = ours.group(1795, 1797, members={1796, 1797, 1798, 1799, 1800, 1802, 5542, 5971})
    assert [dict(e)[1797] for e in events] == [b"1001", b"1002"]
    assert [dict(e).get(1802) for e in events] == [None, b"FIRMX"]
    parser = simplefix.FixParser()
    parser.append_buffer(raw)
    theirs = parser.get_message()
    assert theirs.get(1795) == b"2"
    assert [theirs.get(1797, n) for n in (1, 2)] == [b"1001", b"1002"]
    assert [theirs.get(1799, n) for n in (1, 2)] == [b"110.515625"] * 2
    assert [theirs.get(1800, n) for n in (1, 2)] == [b"3", b"1"]
    assert theirs.get(1802) == b"FIRMX"


def test_complete_fill_sets_exec_type_2_and_empty_groups_are_absent() -> None:
    """FIX 4.2 has no ExecType F: 150 follows OrdStatus (1 partial, 2 complete)."""
    msg = outright_fill(
        OrdStatus=m.OrdStatusTrd.Filled, LeavesQty=0, CumQty=10, NoFills=(), NoOrderEvents=()
    )
    _, fields = translated(msg)
    body = dict(fields)
    assert (body[39], body[150], body[151]) == ("2", "2", "0")
    assert 1362 not in body and 1795 not in body


def test_fill_exec_id_falls_back_to_side_trade_id() -> None:
    """CME mapping 17 <- 1506 SideTradeID, when the SBE ExecID is empty."""
    _, fields = translated(outright_fill(ExecID=""))
    assert dict(fields)[17] == "12345"


def test_execution_report_trade_spread_526_and_leg_527() -> None:
    spread = m.ExecutionReportTradeSpread526(
        **COMMON,
        ExecID="99612:100020TN0020001",
        ClOrdID="SPR-1",
        LastPx=Decimal("-0.015625"),
        OrderID=6456123470,
        Price=Decimal("-0.015625"),
        TransactTime=TRANSACT,
        OrderRequestID=91,
        SecExecID=645612347020240620,
        SecurityID=ZN_SPREAD,
        OrderQty=5,
        LastQty=5,
        CumQty=5,
        MDTradeEntryID=222,
        SideTradeID=20001,
        LeavesQty=0,
        TradeDate=TODAY,
        OrdStatus=m.OrdStatusTrd.Filled,
        OrdType=m.OrderType.Limit,
        Side=m.SideReq.Buy,
        TimeInForce=m.TimeInForce.Day,
        AggressorIndicator=m.BooleanFlag.False_,
        TotalNumSecurities=2,
        NoLegs=(
            m.ExecutionReportTradeSpread526_NoLegs(
                LegExecID=7001,
                LegLastPx=Decimal("110.5"),
                LegSecurityID=ZN_FUTURE,
                LegTradeID=20002,
                LegLastQty=5,
                LegSide=m.SideReq.Buy,
            ),
            m.ExecutionReportTradeSpread526_NoLegs(
                LegExecID=7002,
                LegLastPx=Decimal("110.515625"),
                LegSecurityID=ZN_LEG_2,
                LegTradeID=20003,
                LegLastQty=5,
                LegSide=m.SideReq.Sell,
            ),
        ),
    )
    assert translated(spread) == (
        "8",
        [
            *header(),
            (1, "ACCT42"),
            (6, "0"),
            (11, "SPR-1"),
            (14, "5"),
            (17, "99612:100020TN0020001"),
            (20, "0"),
            (31, "-0.015625"),
            (32, "5"),
            (37, "6456123470"),
            (38, "5"),
            (39, "2"),
            (40, "2"),
            (41, "0"),
            (44, "-0.015625"),
            (48, "5001"),
            (54, "1"),
            (55, "ZN"),
            (59, "0"),
            (60, TRANSACT_TEXT),
            (75, "20240620"),
            (107, "ZNU4-ZNZ4"),
            (150, "2"),
            (151, "0"),
            (167, "FUT"),
            (393, "2"),
            (442, "3"),
            (527, "645612347020240620"),
            (555, "2"),
            (602, "204527"),
            (624, "1"),
            (637, "110.5"),
            (1418, "5"),
            (1893, "7001"),
            (1894, "20002"),
            (602, "204528"),
            (624, "2"),
            (637, "110.515625"),
            (1418, "5"),
            (1893, "7002"),
            (1894, "20003"),
            (1028, "N"),
            (1031, "W"),
            (1057, "N"),
            (5979, str(TRANSACT)),
            (9717, "SPR-1"),
            (37711, "222"),
        ],
    )
    leg_common = {k: v for k, v in COMMON.items() if k != "ManualOrderIndicator"}  # not in 527
    leg = m.ExecutionReportTradeSpreadLeg527(
        **leg_common,
        ExecID="99612:100021TN0020002",
        ClOrdID="SPR-1",
        LastPx=Decimal("110.5"),
        OrderID=6456123470,
        TransactTime=TRANSACT,
        SecExecID=645612347020240620,
        SecurityID=ZN_FUTURE,
        LastQty=5,
        CumQty=5,
        SideTradeID=20002,
        TradeDate=TODAY,
        OrdStatus=m.OrdStatusTrd.Filled,
        OrdType=m.OrderType.Limit,
        Side=m.SideReq.Buy,
    )
    assert translated(leg) == (
        "8",
        [
            *header(),
            (1, "ACCT42"),
            (6, "0"),
            (11, "SPR-1"),
            (14, "5"),
            (17, "99612:100021TN0020002"),
            (20, "0"),
            (31, "110.5"),
            (32, "5"),
            (37, "6456123470"),
            (39, "2"),
            (40, "2"),
            (41, "0"),
            (48, "204527"),
            (54, "1"),
            (55, "ZN"),
            (60, TRANSACT_TEXT),
            (75, "20240620"),
            (107, "ZNU4"),
            (150, "2"),
            (167, "FUT"),
            (442, "2"),
            (527, "645612347020240620"),
            (1031, "W"),
            (5979, str(TRANSACT)),
            (9717, "SPR-1"),
        ],
    )


def test_trade_cancel_548_uses_exec_trans_type_and_exec_ref_id() -> None:
    """Trade bust: 150/39=H, FIX 4.2 20=1 (Cancel), 19 <- OrigSideTradeID when ExecRefID empty."""
    msg = m.ExecutionReportTradeAddendumOutright548(
        **COMMON,
        ExecID="99612:100030TN0012399",
        ClOrdID="ORD-0010",
        LastPx=Decimal("110.515625"),
        OrderID=6456123460,
        TransactTime=TRANSACT,
        SecExecID=645612346020240620,
        SecurityID=ZN_FUTURE,
        LastQty=4,
        SideTradeID=12399,
        OrigSideTradeID=12345,
        TradeDate=TODAY,
        OrdStatus=m.OrdStatusTrdCxl.TradeCancel,
        ExecType=m.ExecTypTrdCxl.TradeCancel,
        Side=m.SideReq.Buy,
        MDTradeEntryID=1234567,
    )
    assert translated(msg) == (
        "8",
        [
            *header(),
            (1, "ACCT42"),
            (6, "0"),
            (11, "ORD-0010"),
            (17, "99612:100030TN0012399"),
            (19, "12345"),
            (20, "1"),
            (31, "110.515625"),
            (32, "4"),
            (37, "6456123460"),
            (39, "H"),
            (41, "0"),
            (48, "204527"),
            (54, "1"),
            (55, "ZN"),
            (60, TRANSACT_TEXT),
            (75, "20240620"),
            (107, "ZNU4"),
            (150, "H"),
            (167, "FUT"),
            (442, "1"),
            (527, "645612346020240620"),
            (1028, "N"),
            (1031, "W"),
            (5979, str(TRANSACT)),
            (9717, "ORD-0010"),
            (37711, "1234567"),
        ],
    )
    correction = m.ExecutionReportTradeAddendumOutright548(
        **{**msg.to_dict(), "OrdStatus": "G", "ExecType": "G", "ExecRefID": "99612:1TN0012345"}
    )
    body = dict(translated(correction)[1])
    assert (body[19], body[20], body[39], body[150]) == ("99612:1TN0012345", "2", "G", "G")


# --------------------------------------------------------------------------- rejects


@pytest.mark.parametrize(
    ("cls", "response_to"),
    [(m.OrderCancelReject535, "1"), (m.OrderCancelReplaceReject536, "2")],
)
def test_order_cancel_reject_535_and_replace_reject_536(
    cls: type[MessageBase], response_to: str
) -> None:
    msg = cls(
        **COMMON,
        Text="Order not in book",
        ExecID="99612:100040",
        ClOrdID="ORD-0011",
        OrderID=6456123499,
        TransactTime=TRANSACT,
        OrderRequestID=92,
        CxlRejReason=2045,
    )
    assert translated(msg) == (
        "9",
        [
            *header(),
            (1, "ACCT42"),
            (11, "ORD-0011"),
            (17, "99612:100040"),
            (37, "6456123499"),
            (39, "U"),
            (41, "0"),
            (58, "Order not in book"),
            (60, TRANSACT_TEXT),
            (102, "2045"),
            (434, response_to),
            (1028, "N"),
            (1031, "W"),
            (5979, str(TRANSACT)),
            (9717, "ORD-0011"),
        ],
    )


def test_business_reject_521_has_no_request_time() -> None:
    """DC possible-resend page: 5979 is on every execution report and reject *except*
    business rejects (wire notes §2.4)."""
    msg = m.BusinessReject521(
        SeqNum=813,
        UUID=COMMON["UUID"],
        Text="Unknown security",
        SenderID="TRADER1",
        PartyDetailsListReqID=1001,
        SendingTimeEpoch=SENDING,
        BusinessRejectRefID=93,
        Location="US,IL",
        RefSeqNum=40,
        RefTagID=48,
        BusinessRejectReason=2,
        RefMsgType="D",
        PossRetransFlag=m.BooleanFlag.False_,
        ManualOrderIndicator=m.ManualOrdInd.Automated,
    )
    assert translated(msg) == (
        "j",
        [
            *header(813),
            (1, "ACCT42"),
            (45, "40"),
            (58, "Unknown security"),
            (371, "48"),
            (372, "D"),
            (379, "93"),
            (380, "2"),
            (1028, "N"),
            (1031, "W"),
        ],
    )


def test_business_reject_521_with_nulls_leaves_the_tags_out() -> None:
    msg = m.BusinessReject521(
        SeqNum=814,
        UUID=COMMON["UUID"],
        SendingTimeEpoch=SENDING,
        Location="US,IL",
        BusinessRejectReason=109,
        PossRetransFlag=m.BooleanFlag.False_,
        SenderID="",
        RefMsgType="",
    )
    assert translated(msg) == ("j", [*header(814, sender_id=None), (380, "109")])


def test_order_mass_action_report_562() -> None:
    """35=BZ: 55 <- SecurityGroup (1151); NoAffectedOrders 534 -> 41/84/535 entries."""
    msg = m.OrderMassActionReport562(
        **COMMON,
        TransactTime=TRANSACT,
        OrderRequestID=94,
        MassActionReportID=99612032508,
        SecurityGroup="ZN",
        MassActionResponse=m.MassActionResponse.Accepted,
        MassActionScope=m.MassActionScope.InstrumentGroup,
        TotalAffectedOrders=2,
        LastFragment=m.BooleanFlag.True_,
        MarketSegmentID=99,
        Side=m.SideNULL.Buy,
        NoAffectedOrders=(
            m.OrderMassActionReport562_NoAffectedOrders(
                OrigCIOrdID="ORD-0001", AffectedOrderID=6456123456, CxlQuantity=25
            ),
            m.OrderMassActionReport562_NoAffectedOrders(
                OrigCIOrdID="ORD-0002", AffectedOrderID=6456123457, CxlQuantity=7
            ),
        ),
    )
    assert translated(msg) == (
        "BZ",
        [
            *header(),
            (1, "ACCT42"),
            (54, "1"),
            (55, "ZN"),
            (60, TRANSACT_TEXT),
            (533, "2"),
            (534, "2"),
            (41, "ORD-0001"),
            (84, "25"),
            (535, "6456123456"),
            (41, "ORD-0002"),
            (84, "7"),
            (535, "6456123457"),
            (893, "Y"),
            (1028, "N"),
            (1031, "W"),
            (1300, "99"),
            (1369, "99612032508"),
            (1373, "3"),
            (1374, "10"),
            (1375, "1"),
            (5979, str(TRANSACT)),
        ],
    )
    raw = translate(msg, CTX)
    affected = codec.decode(raw).group(534, 41, members={41, 84, 535})
    assert [dict(entry)[535] for entry in affected] == [b"6456123456", b"6456123457"]


def test_mass_action_by_instrument_takes_55_107_167_from_the_instrument() -> None:
    msg = m.OrderMassActionReport562(
        **COMMON,
        TransactTime=TRANSACT,
        OrderRequestID=95,
        MassActionReportID=1,
        SecurityGroup="",
        SecurityID=ZN_FUTURE,
        MassActionResponse=m.MassActionResponse.Accepted,
        MassActionScope=m.MassActionScope.Instrument,
        TotalAffectedOrders=0,
        LastFragment=m.BooleanFlag.True_,
    )
    body = dict(translated(msg)[1])
    assert (body[48], body[55], body[107], body[167]) == ("204527", "ZN", "ZNU4", "FUT")
    assert 534 not in body


# --------------------------------------------------------------------------- header rules


def test_poss_retrans_flag_sets_poss_dup_flag_after_sending_time() -> None:
    """CME mapping 43 <- 9765: absent normally, 43=Y for a retransmitted source message."""
    msg = new_order(PossRetransFlag=m.BooleanFlag.True_)
    _, fields = translated(msg)
    assert fields[: len(header(poss_dup=True))] == header(poss_dup=True)
    assert 97 not in dict(fields)  # PossResend is the encapsulating message's business
    _, fields = translated(new_order())
    assert 43 not in dict(fields)


def test_missing_reference_data_leaves_dependent_tags_out() -> None:
    """No instrument / party details / 369: 1, 55, 107, 167, 369, 1031 are left out."""
    _, fields = translated(new_order(), BARE_CTX)
    tags = [tag for tag, _ in fields]
    assert tags[:8] == [34, 52, 49, 50, 56, 57, 143, 6]
    for tag in (1, 55, 79, 107, 167, 369, 819, 1031, 1598, 5149):
        assert tag not in tags
    assert dict(fields)[48] == "204527"


def test_unknown_party_details_id_and_unknown_security_are_ignored() -> None:
    _, fields = translated(new_order(PartyDetailsListReqID=9, SecurityID=1))
    tags = dict(fields)
    assert 1 not in tags and 55 not in tags and tags[48] == "1"


@pytest.mark.parametrize(
    "msg",
    [
        m.Sequence506(UUID=1, NextSeqNo=1, KeepAliveIntervalLapsed=m.KeepAliveLapsed.NotLapsed),
        m.NewOrderSingle514(
            Price=Decimal(1),
            OrderQty=1,
            SecurityID=1,
            Side=m.SideReq.Buy,
            SeqNum=1,
            SenderID="T",
            ClOrdID="C",
            PartyDetailsListReqID=1,
            OrderRequestID=1,
            SendingTimeEpoch=SENDING,
            Location="US,IL",
            OrdType=m.OrderTypeReq.Limit,
            ManualOrderIndicator=m.ManualOrdIndReq.Automated,
        ),
    ],
)
def test_template_without_translation_raises_a_typed_error(msg: MessageBase) -> None:
    with pytest.raises(UnsupportedTemplate) as info:
        translate(msg, CTX)
    assert isinstance(info.value, TranslationError)
    assert info.value.template_id == msg.TEMPLATE_ID
    assert info.value.name == type(msg).__name__
    assert msg.TEMPLATE_ID not in SUPPORTED_TEMPLATES


def test_supported_templates() -> None:
    assert sorted(SUPPORTED_TEMPLATES) == [
        521, 522, 523, 524, 525, 526, 527, 531, 532, 534, 535, 536, 548, 549, 550, 562, 564, 565,
    ]  # fmt: skip


# --------------------------------------------------------------------------- value formats


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("139.203125000"), "139.203125"),
        (Decimal("130.000000000"), "130"),
        (Decimal("0E-9"), "0"),
        (Decimal("-0.015625000"), "-0.015625"),
        (Decimal("1E+3"), "1000"),
        (Decimal("-9223372036.854775808"), "-9223372036.854775808"),
    ],
)
def test_format_price_is_a_plain_decimal(value: Decimal, text: str) -> None:
    assert format_price(value) == text


@given(st.integers(-(2**63), 2**63 - 1), st.integers(-20, 20))
def test_format_price_round_trips(mantissa: int, exponent: int) -> None:
    value = Decimal(mantissa).scaleb(exponent)
    text = format_price(value)
    assert "E" not in text and "e" not in text
    assert Decimal(text) == value
    assert not ("." in text and text.endswith("0"))


def test_timestamps_and_dates() -> None:
    assert format_utc_timestamp(1593635673976364291) == "20200701-20:34:33.976"
    assert format_utc_timestamp(0) == "19700101-00:00:00.000"
    assert format_utc_timestamp(999_999) == "19700101-00:00:00.000"  # truncated
    assert format_utc_timestamp(2**64 - 1) == "25540721-23:34:33.709"
    assert format_local_mkt_date(0) == "19700101"
    assert format_local_mkt_date(days(date(2020, 7, 1))) == "20200701"
    assert format_local_mkt_date(65534) == "21490605"


# --------------------------------------------------------------------------- any message


def _template_classes() -> list[type[MessageBase]]:
    return [m.TEMPLATES[t] for t in sorted(SUPPORTED_TEMPLATES)]


def _delimiter(entry_cls: Any) -> Any:
    """The lowest-tag required field of a group entry: what starts every emitted entry."""
    return min(
        (meta for meta in entry_cls.SBE_FIELDS if not meta.nullable and meta.id not in NOT_CARRIED),
        key=lambda meta: meta.id,
    )


def _with_delimiters(msg: MessageBase) -> MessageBase:
    """``msg`` with empty required char delimiters filled in (CME always fills them)."""
    cls = type(msg)
    kwargs = {
        meta.name: getattr(msg, meta.name) for meta in cls.SBE_FIELDS if meta.kind != "constant"
    }
    for group in cls.SBE_GROUPS:
        delimiter = _delimiter(group.entry)
        entries = []
        for entry in getattr(msg, group.name):
            values = {
                meta.name: getattr(entry, meta.name)
                for meta in group.entry.SBE_FIELDS
                if meta.kind != "constant"
            }
            if delimiter.kind == "chars" and not values[delimiter.name]:
                values[delimiter.name] = "1"
            entries.append(group.entry(**values))
        kwargs[group.name] = entries
    return cls(**kwargs)


@pytest.mark.parametrize("cls", _template_classes(), ids=lambda c: c.__name__)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_any_supported_message_translates_to_well_formed_fix(
    cls: type[MessageBase], data: st.DataObject
) -> None:
    """Any field values: both parsers read the result; header order is CME's; body tags are
    ascending and unique outside the groups; group counts and entries match the SBE groups."""
    msg = _with_delimiters(data.draw(blocks(cls)))
    raw = translate(msg, CTX)
    msg_type, fields = parse(raw)
    assert msg_type == cls.SEMANTIC_TYPE
    header_order = [34, 369, 52, 43, 49, 50, 56, 57, 128, 143]
    tags = [tag for tag, _ in fields]
    n_header = 0
    while n_header < len(tags) and tags[n_header] in header_order:
        n_header += 1
    head = tags[:n_header]
    assert head == [tag for tag in header_order if tag in head]
    assert {34, 52, 49, 50, 56} <= set(head)
    decoded = codec.decode(raw)
    for group in cls.SBE_GROUPS:
        members = {meta.id for meta in group.entry.SBE_FIELDS} - set(NOT_CARRIED)
        entries = getattr(msg, group.name)
        if not entries:
            assert group.id not in tags
            continue
        found = decoded.group(group.id, _delimiter(group.entry).id, members=members)
        assert len(found) == len(entries)
        start = tags.index(group.id)
        del tags[start + 1 : start + 1 + sum(len(entry) for entry in found)]
    body = tags[n_header:]
    assert body == sorted(body)
    assert len(body) == len(set(body))


# --------------------------------------------------------------------------- docs


def test_field_map_covers_every_sbe_field() -> None:
    for cls in _template_classes():
        sources = {row.source for row in field_map(cls)}
        for meta in cls.SBE_FIELDS:
            assert f"{meta.name} ({meta.id})" in sources
        for group in cls.SBE_GROUPS:
            for meta in group.entry.SBE_FIELDS:
                assert f"  - {meta.name} ({meta.id})" in sources


def test_docs_carry_the_current_field_map() -> None:
    """docs/translation.md embeds field_map_markdown(); regenerate it when this fails."""
    text = (ROOT / "docs" / "translation.md").read_text(encoding="utf-8")
    assert field_map_markdown() in text


def test_field_map_rejects_unsupported_templates() -> None:
    with pytest.raises(UnsupportedTemplate):
        field_map(m.Negotiate500)


# --- the hot path (generated per-template renderers) gives the reference path's bytes


def _reference(data: bytes, ctx: TranslationContext) -> bytes | type[Exception]:
    try:
        return translate(m.decode(data), ctx)
    except Exception as exc:  # the fast path must fail the same way
        return type(exc)


_FAST_CTX = TranslationContext(
    sender_comp_id="ABC007",
    market_segment_id=84,
    last_msg_seq_num_processed=7,
    instruments={204527: Instrument("ZN", "ZNH1", "FUT")}.get,
    party_details={1: PartyDetails(account="acct1", memo="m")}.get,
)


@pytest.mark.parametrize("template", sorted(SUPPORTED_TEMPLATES))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_translate_sbe_fast_path_equals_the_reference_path(
    template: int, data: st.DataObject
) -> None:
    cls = m.TEMPLATES[template]
    msg = data.draw(blocks(cls))
    try:
        raw = msg.encode()
    except Exception:
        return  # a value the encoder refuses is not a message the router can see
    expected = _reference(raw, _FAST_CTX)
    if isinstance(expected, bytes):
        assert translate_sbe(raw, _FAST_CTX) == expected
    else:
        with pytest.raises(expected):
            translate_sbe(raw, _FAST_CTX)
