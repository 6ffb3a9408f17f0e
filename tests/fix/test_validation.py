"""Per-message validation of client -> Drop Copy messages, one test per seed 003 row.

Seed 003 sections: "Session Logon", "Messaging Integrity and Validation", "Tag 57-TargetSubID",
"Messaging", "Standard Header" (Missing Tag / Tag Value Null / Invalid Tag Value), "Logon",
"Heartbeat", "Test Request", "Message Resend Request Validation"; decisions AD-04, AD-07,
AD-08, AD-14..AD-17, AX-01 (reference/seed-rules.md).
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from dropcopy.fix import (
    FieldValue,
    InvalidLogon,
    InvalidTagValue,
    Message,
    MissingTag,
    MsgTypeMissing,
    NotLoggedOn,
    Outcome,
    TagValueNull,
    UnknownMsgType,
    ValidationContext,
    ValidationError,
    decode,
    validate_all,
    validate_inbound,
)
from dropcopy.fix.secure_logon import sign_logon
from dropcopy.fix.validation import GatewayKind, heart_bt_int, poss_dup, reset_seq_num_flag

from .samples import KAT_SECRET

LOGOUT = Outcome.LOGOUT
REJECT = Outcome.SESSION_REJECT

SEGMENTS = frozenset({"74", "80", "99"})
CGW = ValidationContext.cgw()
CGW_ON = ValidationContext.cgw(logged_on=True)
MSGW = ValidationContext.msgw("74", market_segments=SEGMENTS)
MSGW_ON = ValidationContext.msgw("74", logged_on=True, market_segments=SEGMENTS)

ACCESS_KEY_ID = "AbCdEfGhIjKlMnOpQrSt"
SENDER = "ABCDEFN"

BY_TYPE: dict[str, list[tuple[int, FieldValue]]] = {
    "0": [],
    "1": [(112, "TEST")],
    "2": [(7, 1), (16, 0)],
    "3": [(45, 2), (58, "bad")],
    "4": [(36, 10), (123, "Y")],
    "5": [(58, "bye")],
}


def make(
    msg_type: str,
    changes: dict[int, FieldValue | None] | None = None,
    *,
    target_sub_id: str = "G",
    seq: int = 5,
    extra: Iterable[tuple[int, FieldValue]] = (),
) -> Message:
    """A valid message of ``msg_type``; ``changes`` replace (None: remove) or append tags."""
    fields: list[tuple[int, FieldValue]] = [
        (34, seq),
        (49, SENDER),
        (50, "OPS"),
        (52, "20240312-14:03:07.123"),
        (56, "CME"),
        (57, target_sub_id),
        (142, "US,IL"),
        (369, 0),
    ]
    if msg_type == "A":
        fields += [(108, 30), (1603, "dropcopy"), (1604, "0.1"), (1605, "OSS")]
        fields = sign_logon(fields, ACCESS_KEY_ID, KAT_SECRET)
    else:
        fields += BY_TYPE.get(msg_type, [])
    fields += list(extra)
    changes = dict(changes or {})
    out: list[tuple[int, FieldValue]] = []
    for tag, value in fields:
        if tag in changes:
            new = changes.pop(tag)
            if new is not None:
                out.append((tag, new))
        else:
            out.append((tag, value))
    out += [(t, v) for t, v in changes.items() if v is not None]
    return Message.build(msg_type, out)


def check(
    msg: Message,
    ctx: ValidationContext,
    outcome: Outcome,
    text: str,
    rule: str,
    cls: type[ValidationError] = ValidationError,
) -> ValidationError:
    error = validate_inbound(msg, ctx)
    assert error is not None, "expected a violation"
    assert isinstance(error, cls)
    assert error.outcome is outcome
    assert error.text == text
    assert error.rule == rule
    return error


def ok(msg: Message, ctx: ValidationContext) -> None:
    assert validate_all(msg, ctx) == []
    assert validate_inbound(msg, ctx) is None


# --------------------------------------------------------------------------- valid messages


@pytest.mark.parametrize("msg_type", ["0", "1", "2", "3", "4", "5"])
def test_valid_session_messages_pass(msg_type: str) -> None:
    ok(make(msg_type), CGW_ON)
    ok(make(msg_type, target_sub_id="74"), MSGW_ON)


def test_valid_logons_pass() -> None:
    ok(make("A", seq=1), CGW)
    ok(make("A", target_sub_id="74"), MSGW)


def test_seed_example_logon_ZUB007N_is_valid_on_msgw_segment_74() -> None:
    # seed 003 "Tag 57-TargetSubID" example, client side: 35=A 49=ZUB007N 50=ATS 57=74
    ok(make("A", {49: "ZUB007N", 50: "ATS"}, target_sub_id="74"), MSGW)


def test_D105_cgw_uses_57_G() -> None:
    ok(make("0"), CGW_ON)
    assert CGW.gateway is GatewayKind.CGW
    assert MSGW.gateway is GatewayKind.MSGW


# --------------------------------------------------------------------------- message type


def test_D023_non_logon_message_before_logon_logs_out() -> None:
    for mt in ["0", "1", "2", "4", "5", "ZZ"]:
        check(
            make(mt),
            CGW,
            LOGOUT,
            "Non logon message received while not logged on.",
            "D-023",
            NotLoggedOn,
        )


def test_D061_unknown_msg_type_is_session_rejected() -> None:
    error = check(
        make("ZZ"),
        CGW_ON,
        REJECT,
        "UNKNOWN Message received. Message Type = ZZ",
        "D-061",
        UnknownMsgType,
    )
    assert error.reply_msg_type == "3"
    assert error.reply_fields() == [(45, "5"), (58, "UNKNOWN Message received. Message Type = ZZ")]


def test_D043_application_resend_request_BW_is_session_rejected() -> None:
    check(
        make("BW"),
        CGW_ON,
        REJECT,
        "UNKNOWN Message received. Message Type = BW",
        "D-043",
        UnknownMsgType,
    )


@pytest.mark.parametrize("msg_type", ["D", "F", "G"])
def test_D114_order_entry_is_session_rejected(msg_type: str) -> None:
    check(
        make(msg_type),
        CGW_ON,
        REJECT,
        f"UNKNOWN Message received. Message Type = {msg_type}",
        "D-114",
        UnknownMsgType,
    )


def test_msg_type_not_third_field_could_not_be_extracted() -> None:
    # wire notes §1.9 "Could not extract message type."
    raw = make("0").raw
    body = raw[raw.index(b"35=0\x01") + 5 : -7] + b"35=0\x01"
    moved = b"8=FIX.4.2\x019=%d\x01" % len(body) + body
    moved += b"10=%03d\x01" % (sum(moved) % 256)
    check(
        decode(moved),
        CGW_ON,
        REJECT,
        "Could not extract message type.",
        "notes-1.9-35",
        MsgTypeMissing,
    )


# --------------------------------------------------------------------------- header: missing


def test_D120_missing_MsgSeqNum_logs_out() -> None:
    error = check(
        make("5", {34: None}),
        CGW_ON,
        LOGOUT,
        "MsgSeqNum (34) tag is not present",
        "D-120",
        MissingTag,
    )
    assert error.reply_msg_type == "5"


def test_D121_missing_SenderCompID_logs_out() -> None:
    check(make("0", {49: None}), CGW_ON, LOGOUT, "SenderCompId (49) tag is not present", "D-121")


def test_D122_missing_TargetCompID_logs_out() -> None:
    check(make("0", {56: None}), CGW_ON, LOGOUT, "TargetCompId (56) tag is not present", "D-122")


def test_D123_missing_SendingTime_logs_out() -> None:
    check(make("0", {52: None}), CGW_ON, LOGOUT, "SendingTime (52) tag is not present", "D-123")


def test_D124_missing_TargetSubID_logs_out() -> None:
    check(make("0", {57: None}), CGW_ON, LOGOUT, "TargetSubId (57) tag is not present", "D-124")


def test_D125_missing_SenderLocationID_logs_out() -> None:
    for mt in ["0", "2", "4", "5"]:
        check(
            make(mt, {142: None}),
            CGW_ON,
            LOGOUT,
            "SenderLocationId (142) tag is not present",
            "D-125",
        )
    check(
        make("A", {142: None}),
        CGW,
        LOGOUT,
        "SenderLocationId (142) tag is not present",
        "D-125",
    )


# --------------------------------------------------------------------------- header: null


def test_D126_null_MsgSeqNum_logs_out() -> None:
    check(
        make("0", {34: ""}),
        CGW_ON,
        LOGOUT,
        "MsgSeqNum (34) tag is not present",
        "D-126",
        TagValueNull,
    )


def test_D127_null_PossDupFlag_logs_out() -> None:
    check(
        make("0", {43: ""}),
        CGW_ON,
        LOGOUT,
        "PossDupFlag (43) tag is not present",
        "D-127",
        TagValueNull,
    )


def test_D128_null_SenderCompID_logs_out() -> None:
    check(make("0", {49: ""}), CGW_ON, LOGOUT, "SenderCompId (49) tag is not present", "D-128")


def test_D129_null_SendingTime_logs_out() -> None:
    check(make("0", {52: ""}), CGW_ON, LOGOUT, "SendingTime (52) tag is not present", "D-129")


def test_D130_null_TargetSubID_logs_out() -> None:
    check(make("0", {57: ""}), CGW_ON, LOGOUT, "TargetSubId (57) tag is not present", "D-130")


def test_D131_null_SenderLocationID_logs_out() -> None:
    check(
        make("0", {142: ""}), CGW_ON, LOGOUT, "SenderLocationId (142) tag is not present", "D-131"
    )
    # the Test Request table names only a *missing* 142, so a null one follows the header table
    check(
        make("1", {142: ""}), CGW_ON, LOGOUT, "SenderLocationId (142) tag is not present", "D-131"
    )


# --------------------------------------------------------------------------- header: invalid


@pytest.mark.parametrize("value", ["abc", "0", "-1", "1234567890", "+5", " 5"])
def test_D132_invalid_MsgSeqNum_logs_out(value: str) -> None:
    check(
        make("0", {34: value}),
        CGW_ON,
        LOGOUT,
        f"MsgSeqNum (34) tag has an incorrect value: {value}",
        "D-132",
        InvalidTagValue,
    )


@pytest.mark.parametrize("value", ["X", "y", "YES", "1"])
def test_D133_invalid_PossDupFlag_is_acknowledged(value: str) -> None:
    msg = make("0", {43: value})
    ok(msg, CGW_ON)
    assert poss_dup(msg) is False
    assert poss_dup(make("0", {43: "Y"})) is True


@pytest.mark.parametrize("value", ["ABCDEF", "ABCDEFGN", "abcdefN", "ABC-EFN", "ABCDEFNN"])
def test_D134_malformed_SenderCompID_logs_out(value: str) -> None:
    check(
        make("0", {49: value}),
        CGW_ON,
        LOGOUT,
        "Invalid SenderCompID (49) tag. Logout forced.",
        "D-134",
    )


def test_D134_unknown_SenderCompID_logs_out() -> None:
    ctx = ValidationContext.cgw(logged_on=True, sender_comp_ids={"ZZZZZZN"})
    check(make("0"), ctx, LOGOUT, "Invalid SenderCompID (49) tag. Logout forced.", "D-134")
    ok(make("0", {49: "ZZZZZZN"}), ctx)


@pytest.mark.parametrize("fti", ["P", "B", "U", "Y"])
def test_AD17_fault_tolerance_indicator_other_than_N_logs_out(fti: str) -> None:
    # seed 003 "Drop Copy 4.0 Session Model" (D-079): 6-char Session ID + FTI 'N'
    check(
        make("A", {49: "ABCDEF" + fti}),
        CGW,
        LOGOUT,
        f"Received invalid fault tolerance indicator = {fti} Logout forced.",
        "AD-17",
    )


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        "20240312",
        "20240312-14:03",
        "20241312-14:03:07.123",
        "20240230-14:03:07.123",
        "20240312-24:00:00",
        "20240312-14:60:00",
        "20240312-14:03:07.12",
        "20240312 14:03:07.123",
    ],
)
def test_D135_invalid_SendingTime_logs_out(value: str) -> None:
    check(
        make("0", {52: value}),
        CGW_ON,
        LOGOUT,
        f"SendingTime (52) tag is not formatted properly {value}",
        "D-135",
        InvalidTagValue,
    )


@pytest.mark.parametrize(
    "value",
    [
        "20240312-14:03:07",
        "20240312-14:03:07.123",
        "20240312-14:03:07.123456",
        "20240312-14:03:07.123456789",
        "20240229-23:59:60",
    ],
)
def test_SendingTime_formats_accepted(value: str) -> None:
    ok(make("0", {52: value}), CGW_ON)


def test_D136_invalid_TargetSubID_on_cgw_logs_out() -> None:
    for value in ["74", "g", "GG", "X"]:
        check(make("0", {57: value}), CGW_ON, LOGOUT, "Invalid TargetSubID(tag 57)", "D-136")
    check(make("A", {57: "74"}), CGW, LOGOUT, "Invalid TargetSubID(tag 57)", "D-136")


def test_D136_malformed_TargetSubID_on_msgw_logs_out() -> None:
    # AD-08: non-numeric, or a segment that does not exist -> Logout
    for value in ["G", "abc", "55"]:
        check(
            make("0", {57: value}, target_sub_id="74"),
            MSGW_ON,
            LOGOUT,
            "Invalid TargetSubID(tag 57)",
            "D-136",
        )


def test_D103_msgw_logon_with_wrong_segment_logs_out() -> None:
    # seed 003 "Tag 57-TargetSubID": Logout with 58=Invalid TargetSubID(tag 57)
    check(
        make("A", target_sub_id="99"),
        MSGW,
        LOGOUT,
        "Invalid TargetSubID(tag 57)",
        "D-103",
        InvalidTagValue,
    )


def test_D104_msgw_admin_message_with_another_segment_is_rejected() -> None:
    # AD-08: actual values, no angle brackets
    error = check(
        make("0", target_sub_id="99"),
        MSGW_ON,
        REJECT,
        "TargetSubId (57) tag has an incorrect value: 99, should be: 74",
        "D-104",
        InvalidTagValue,
    )
    assert error.reply_fields() == [
        (45, "5"),
        (58, "TargetSubId (57) tag has an incorrect value: 99, should be: 74"),
    ]
    # without a segment list, any 1-3 digit number is taken as a segment ID
    check(
        make("1", target_sub_id="12"),
        ValidationContext.msgw("74", logged_on=True),
        REJECT,
        "TargetSubId (57) tag has an incorrect value: 12, should be: 74",
        "D-104",
    )


def test_TargetCompID_other_than_CME_logs_out() -> None:
    # wire notes §1.2 / §1.9 (not in the seed's tables: Logout, like 49)
    check(
        make("0", {56: "XYZ"}),
        CGW_ON,
        LOGOUT,
        "TargetCompId (56) tag has an incorrect value: XYZ should be CME",
        "notes-1.9-56",
    )


def test_SenderSubID_rules() -> None:
    # wire notes §1.2 / §1.9: not in the seed's tables; Logout on a Logon, 35=3 otherwise
    rule = "notes-1.9-50"
    check(make("0", {50: None}), CGW_ON, REJECT, "SenderSubId (50) tag is not present", rule)
    check(make("A", {50: None}), CGW, LOGOUT, "SenderSubId (50) tag is not present", rule)
    check(
        make("0", {50: "X"}),
        CGW_ON,
        REJECT,
        "Business Reject: Other '50 (SENDER_SUB_ID) length: 1 min: 2'",
        rule,
    )
    check(
        make("0", {50: "a b"}),
        CGW_ON,
        REJECT,
        "tag SenderSubID (50) can contain only alphanumeric values",
        rule,
    )
    ok(make("0", {50: "trader_1@desk.a-b:c"}), CGW_ON)


# --------------------------------------------------------------------------- Logon table


def test_D140_logon_without_EncryptMethod_is_acknowledged() -> None:
    msg = make("A")
    assert 98 not in msg
    ok(msg, CGW)


def test_D141_logon_without_HeartBtInt_logs_out() -> None:
    check(
        make("A", {108: None}),
        CGW,
        LOGOUT,
        "Error during logon. Heartbeat tag invalid.",
        "D-141",
        MissingTag,
    )


def test_D142_logon_without_MsgSeqNum_logs_out() -> None:
    check(make("A", {34: None}), CGW, LOGOUT, "MsgSeqNum (34) tag is not present", "D-142")


def test_D143_logon_with_null_RawData_logs_out() -> None:
    check(
        make("A", {96: b""}),
        CGW,
        LOGOUT,
        "Invalid logon. Logout forced.",
        "D-143",
        TagValueNull,
    )


def test_AD14_logon_with_legacy_RawData_password_is_ignored() -> None:
    ok(make("A", {96: b"secret"}), CGW)


def test_D144_logon_with_null_EncryptMethod_logs_out() -> None:
    check(make("A", {98: ""}), CGW, LOGOUT, "Invalid logon. Logout forced.", "D-144", TagValueNull)


def test_D145_logon_with_null_HeartBtInt_logs_out() -> None:
    check(
        make("A", {108: ""}),
        CGW,
        LOGOUT,
        "Error during logon. Heartbeat tag invalid.",
        "D-145",
        TagValueNull,
    )


@pytest.mark.parametrize("value", ["7", "X", "-1", "0"])
def test_D146_logon_with_invalid_EncryptMethod_is_acknowledged(value: str) -> None:
    ok(make("A", {98: value}), CGW)


@pytest.mark.parametrize("value", ["X", "y", "YES"])
def test_D147_logon_with_invalid_ResetSeqNumFlag_is_acknowledged_as_N(value: str) -> None:
    # AD-15: read as N
    msg = make("A", {141: value}, seq=1)
    ok(msg, CGW)
    assert reset_seq_num_flag(msg) is False
    assert reset_seq_num_flag(make("A", {141: "Y"})) is True


@pytest.mark.parametrize("value", ["4", "61", "0", "999"])
def test_D152_heartbeat_interval_outside_5_60_logs_out(value: str) -> None:
    # D-019 "will not be acted upon" vs D-152 Logout -> Logout with CME's text (AD-04)
    check(
        make("A", {108: value}),
        CGW,
        LOGOUT,
        f"Error during logon. Heartbeat value invalid. Received: {value}, "
        "expected value in range 5-60",
        "AD-04",
        InvalidTagValue,
    )


@pytest.mark.parametrize("value", ["5", "30", "60"])
def test_D019_heartbeat_interval_5_to_60_is_accepted(value: str) -> None:
    msg = make("A", {108: value})
    ok(msg, CGW)
    assert heart_bt_int(msg) == int(value)


def test_D152_non_numeric_heartbeat_interval_logs_out() -> None:
    check(
        make("A", {108: "thirty"}),
        CGW,
        LOGOUT,
        "Error during logon. Heartbeat tag invalid.",
        "D-152",
    )


def test_D027_in_session_logon_needs_34_1_and_141_Y() -> None:
    ok(make("A", {141: "Y"}, seq=1), CGW_ON)
    check(
        make("A", {141: "Y"}, seq=7),
        CGW_ON,
        LOGOUT,
        "In session logon message must have 34=1. Logout forced.",
        "D-027",
        InvalidLogon,
    )
    check(
        make("A", {141: "N"}, seq=1),
        CGW_ON,
        LOGOUT,
        "In session logon message must have 141=Y. Logout forced.",
        "D-027",
        InvalidLogon,
    )
    check(
        make("A", seq=1),
        CGW_ON,
        LOGOUT,
        "In session logon message must have 141=Y. Logout forced.",
        "D-027",
    )


def test_D028_logon_with_OrigSendingTime_logs_out() -> None:
    check(
        make("A", {122: "20240312-14:03:07.000"}),
        CGW,
        LOGOUT,
        "OrigSendingTime (122) tag is not allowed on logon. Logout forced.",
        "D-028",
    )


def test_AX01_unsigned_logon_logs_out() -> None:
    unsigned = make("A", {354: None, 355: None, 1400: None, 1401: None, 1402: None})
    error = check(unsigned, CGW, LOGOUT, "Invalid logon. Logout forced.", "AX-01", InvalidLogon)
    assert error.reply_fields() == [(58, "Invalid logon. Logout forced.")]
    ok(unsigned, ValidationContext.cgw(require_credentials=False))


def test_logout_carries_789_from_the_context() -> None:
    # the sequence checks that need 789 belong to the session machine; it passes the number in
    ctx = ValidationContext.cgw(next_expected_msg_seq_num=12)
    error = check(
        make("A", {108: "61"}),
        ctx,
        LOGOUT,
        "Error during logon. Heartbeat value invalid. Received: 61, expected value in range 5-60",
        "AD-04",
    )
    assert error.next_expected_msg_seq_num == 12
    assert error.reply_fields() == [
        (
            58,
            "Error during logon. Heartbeat value invalid. Received: 61, expected value in range 5-60",
        ),
        (789, "12"),
    ]


# --------------------------------------------------------------------------- Heartbeat table


def test_D153_heartbeat_without_MsgSeqNum_logs_out() -> None:
    check(make("0", {34: None}), CGW_ON, LOGOUT, "MsgSeqNum (34) tag is not present", "D-153")


# --------------------------------------------------------------------------- Test Request table


def test_D154_test_request_without_MsgSeqNum_logs_out() -> None:
    check(make("1", {34: None}), CGW_ON, LOGOUT, "MsgSeqNum (34) tag is not present", "D-154")


def test_D155_test_request_without_SenderCompID_logs_out() -> None:
    check(make("1", {49: None}), CGW_ON, LOGOUT, "SenderCompId (49) tag is not present", "D-155")


def test_D156_test_request_without_SenderLocationID_is_session_rejected() -> None:
    # AD-07: the Test Request table wins over the header table
    error = check(
        make("1", {142: None}),
        CGW_ON,
        REJECT,
        "SenderLocationId (142) tag is not present",
        "D-156",
        MissingTag,
    )
    assert error.reply_fields() == [(45, "5"), (58, "SenderLocationId (142) tag is not present")]


def test_D157_test_request_with_null_TestReqID_is_session_rejected() -> None:
    check(
        make("1", {112: ""}),
        CGW_ON,
        REJECT,
        "TestReqID (112) tag is not present",
        "D-157",
        TagValueNull,
    )


def test_AD07_test_request_without_TestReqID_is_session_rejected() -> None:
    check(
        make("1", {112: None}),
        CGW_ON,
        REJECT,
        "TestReqID (112) tag is not present",
        "AD-07",
        MissingTag,
    )


def test_AD07_a_logout_class_violation_wins_over_a_reject_class_one() -> None:
    msg = make("1", {142: None, 52: None})
    assert [e.rule for e in validate_all(msg, CGW_ON)] == ["D-123", "D-156"]
    check(msg, CGW_ON, LOGOUT, "SendingTime (52) tag is not present", "D-123")


# --------------------------------------------------------------------------- Resend Request


@pytest.mark.parametrize("value", ["0", "-3"])
def test_D060_resend_request_BeginSeqNo_must_be_above_0(value: str) -> None:
    check(
        make("2", {7: value}),
        CGW_ON,
        REJECT,
        "Invalid BeginSeqNum. Must be greater than 0",
        "D-060",
    )


def test_resend_request_EndSeqNo_must_be_an_integer() -> None:
    # wire notes §1.9: "Invalid EndSeqNum. Integer required"
    check(
        make("2", {16: "abc"}),
        CGW_ON,
        REJECT,
        "Invalid EndSeqNum. Integer required",
        "notes-1.9-16",
    )
    check(
        make("2", {7: "x"}),
        CGW_ON,
        REJECT,
        "Invalid BeginSeqNum. Integer required",
        "notes-1.9-7",
    )
    check(make("2", {7: None}), CGW_ON, REJECT, "BeginSeqNo (7) tag is not present", "notes-1.9-7")
    check(make("2", {16: None}), CGW_ON, REJECT, "EndSeqNo (16) tag is not present", "notes-1.9-16")


def test_sequence_reset_needs_an_integer_NewSeqNo() -> None:
    check(make("4", {36: None}), CGW_ON, REJECT, "NewSeqNo (36) tag is not present", "FIX-4.2-36")
    check(make("4", {36: "x"}), CGW_ON, REJECT, "Invalid NewSeqNo. Integer required", "FIX-4.2-36")
