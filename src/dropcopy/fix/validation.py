"""Per-message validation of client -> Drop Copy 4.0 messages (the venue's inbound checks).

Theory of operation
-------------------
:func:`validate_inbound` is a pure function of one decoded message and the few facts about the
session it needs (:class:`ValidationContext`). It returns ``None`` when the message may be
processed, or the :class:`~dropcopy.fix.errors.ValidationError` to act on: its ``outcome``
(SESSION_REJECT / LOGOUT), its tag 58 ``text`` and the seed ``rule`` it comes from. Sequence
number rules (too low / too high, beginning-of-week and mid-week logons, 789), resend windows
and timers belong to the session machine, which calls this first.

Sources: seed 003 (Drop Copy 4.0 Functional Specification) sections "Session Logon",
"Messaging Integrity and Validation", "Tag 57-TargetSubID", "Messaging", "Standard Header"
(Missing Tag / Tag Value Null / Invalid Tag Value), "Logon", "Heartbeat", "Test Request",
"Message Resend Request Validation"; decisions AD-04, AD-07, AD-08, AD-14..AD-17, AX-01 of
reference/seed-rules.md; texts from reference/dropcopy-wire-notes.md §1.9.

When a message breaks several rules, the first Logout-class violation (checks run in the order
of :func:`validate_all`) wins; otherwise the first Session-Level-Reject-class one. So a Test
Request missing both 52 and 142 is logged out (D-123), not rejected (D-156).

Rows whose seed outcome is "Acknowledgment" produce no error: invalid 43 (D-133), missing or
invalid 98 (D-140, D-146), invalid 141 (D-147; read it with :func:`reset_seq_num_flag`, which
treats it as N -- AD-15), a non-empty 96 (AD-14).
"""

from __future__ import annotations

import datetime
import enum
import re
from collections.abc import Container
from dataclasses import dataclass
from typing import Final

from . import texts
from .codec import Message
from .errors import (
    InvalidLogon,
    InvalidTagValue,
    MissingTag,
    MsgTypeMissing,
    NotLoggedOn,
    Outcome,
    TagValueNull,
    UnknownMsgType,
    ValidationError,
)
from .secure_logon import check_credentials
from .tags import SESSION_MSG_TYPES

__all__ = [
    "GatewayKind",
    "ValidationContext",
    "heart_bt_int",
    "poss_dup",
    "reset_seq_num_flag",
    "validate_all",
    "validate_inbound",
]

LOGOUT: Final = Outcome.LOGOUT
REJECT: Final = Outcome.SESSION_REJECT

#: Order-entry message types a client might try on Drop Copy (seed 003 "Messaging", D-114).
ORDER_ENTRY_MSG_TYPES: Final = frozenset({"D", "F", "G", "H", "q", "AB", "AC", "s"})
#: HeartBtInt range in seconds (seed 003 "Connectivity Management", D-019; AX-03).
HEART_BT_INT_MIN: Final = 5
HEART_BT_INT_MAX: Final = 60

_SENDER_COMP_ID: Final = re.compile(rb"[A-Z0-9]{6}")
_SENDER_SUB_ID_CHARS: Final = re.compile(rb"[A-Za-z0-9_\-:@.]+")
_SENDING_TIME: Final = re.compile(
    rb"([0-9]{4})([0-9]{2})([0-9]{2})-([0-9]{2}):([0-9]{2}):([0-9]{2})"
    rb"(?:\.(?:[0-9]{3}|[0-9]{6}|[0-9]{9}))?"
)
_SIGNED_INT: Final = re.compile(rb"-?[0-9]{1,18}")


class GatewayKind(enum.Enum):
    """Drop Copy 4.0 target gateway kinds (seed 003 "Drop Copy 4.0 Session Model")."""

    #: Convenience Gateway: one stream for all segments; clients send 57=G (D-105).
    CGW = "CGW"
    #: Market Segment Gateway: one stream per segment; 57 = the segment's ID (D-099).
    MSGW = "MSGW"


@dataclass(frozen=True, slots=True)
class ValidationContext:
    """What :func:`validate_inbound` needs to know about the session."""

    #: Expected 57 TargetSubID: ``"G"`` on a CGW, this gateway's market segment ID on an MSGW.
    target_sub_id: str
    #: True once the session's Logon was acknowledged.
    logged_on: bool = False
    #: Market segment IDs that exist (MSGW); a 57 naming another existing segment after logon
    #: is rejected rather than logged out (AD-08). ``None``: any 1-3 digit number counts.
    market_segments: frozenset[str] | None = None
    #: 49 values accepted (the bound session after logon, the known sessions before);
    #: ``None`` checks the format only (AD-17).
    sender_comp_ids: Container[str] | None = None
    #: Copied into a Logout's 789 NextExpectedMsgSeqNum (D-150).
    next_expected_msg_seq_num: int | None = None
    #: Logon must carry well-formed secure logon credentials (AX-01); the signature itself is
    #: checked by the caller with :func:`~dropcopy.fix.secure_logon.verify_logon`.
    require_credentials: bool = True

    @classmethod
    def cgw(
        cls,
        *,
        logged_on: bool = False,
        sender_comp_ids: Container[str] | None = None,
        next_expected_msg_seq_num: int | None = None,
        require_credentials: bool = True,
    ) -> ValidationContext:
        """Context of a Convenience Gateway session (57=G)."""
        return cls(
            "G",
            logged_on=logged_on,
            sender_comp_ids=sender_comp_ids,
            next_expected_msg_seq_num=next_expected_msg_seq_num,
            require_credentials=require_credentials,
        )

    @classmethod
    def msgw(
        cls,
        segment: str,
        *,
        logged_on: bool = False,
        market_segments: frozenset[str] | None = None,
        sender_comp_ids: Container[str] | None = None,
        next_expected_msg_seq_num: int | None = None,
        require_credentials: bool = True,
    ) -> ValidationContext:
        """Context of a Market Segment Gateway session for ``segment`` (e.g. ``"74"``)."""
        return cls(
            segment,
            logged_on=logged_on,
            market_segments=market_segments,
            sender_comp_ids=sender_comp_ids,
            next_expected_msg_seq_num=next_expected_msg_seq_num,
            require_credentials=require_credentials,
        )

    @property
    def gateway(self) -> GatewayKind:
        return GatewayKind.CGW if self.target_sub_id == "G" else GatewayKind.MSGW


# --------------------------------------------------------------------------- helpers


def poss_dup(msg: Message) -> bool:
    """43 PossDupFlag; an invalid value is ignored (D-133), i.e. read as N."""
    return msg.get(43) == b"Y"


def reset_seq_num_flag(msg: Message) -> bool:
    """141 ResetSeqNumFlag; a value other than Y/N is read as N (D-147, AD-15)."""
    return msg.get(141) == b"Y"


def heart_bt_int(msg: Message) -> int | None:
    """108 HeartBtInt in seconds, or None when absent or not a number."""
    value = msg.get(108)
    return int(value) if value is not None and value.isdigit() and len(value) <= 9 else None


def _valid_sending_time(value: bytes) -> bool:
    m = _SENDING_TIME.fullmatch(value)
    if m is None:
        return False
    year, month, day, hour, minute, second = (int(g) for g in m.groups())
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return hour <= 23 and minute <= 59 and second <= 60  # 60: leap second (FIX)


def _segment_like(value: str, ctx: ValidationContext) -> bool:
    if ctx.market_segments is not None:
        return value in ctx.market_segments
    return value.isdigit() and len(value) <= 3


# --------------------------------------------------------------------------- validation


class _Checker:
    __slots__ = ("ctx", "errors", "msg", "msg_type", "seq")

    def __init__(self, msg: Message, ctx: ValidationContext) -> None:
        self.msg = msg
        self.ctx = ctx
        self.msg_type = msg.msg_type
        seq = msg.get(34)
        self.seq = int(seq) if seq is not None and seq.isdigit() and len(seq) <= 18 else None
        self.errors: list[ValidationError] = []

    def fail(
        self,
        cls: type[ValidationError],
        text: str,
        rule: str,
        tag: int | None,
        outcome: Outcome,
        reason: int | None = None,
    ) -> None:
        self.errors.append(
            cls(
                text,
                outcome=outcome,
                rule=rule,
                tag=tag,
                msg_type=self.msg_type,
                msg_seq_num=self.seq,
                next_expected_msg_seq_num=(
                    self.ctx.next_expected_msg_seq_num if outcome is LOGOUT else None
                ),
                session_reject_reason=reason,
            )
        )

    def text_of(self, value: bytes) -> str:
        return value.decode("latin-1")

    # --- header (seed 003 "Standard Header" tables)

    def header(self) -> None:
        msg, mt = self.msg, self.msg_type
        # 34 MsgSeqNum: D-120 (and the per-message rows D-142 Logon, D-153 Heartbeat,
        # D-154 Test Request), D-126, D-132
        value = msg.get(34)
        if value is None:
            rule = {"A": "D-142", "0": "D-153", "1": "D-154"}.get(mt or "", "D-120")
            self.fail(MissingTag, texts.MSG_SEQ_NUM_MISSING, rule, 34, LOGOUT, 1)
        elif not value:
            self.fail(TagValueNull, texts.MSG_SEQ_NUM_MISSING, "D-126", 34, LOGOUT, 4)
        elif self.seq is None or self.seq == 0 or len(value) > 9:
            text = texts.msg_seq_num_invalid(self.text_of(value))
            self.fail(InvalidTagValue, text, "D-132", 34, LOGOUT, 6)
        # 43 PossDupFlag: null -> Logout (D-127); invalid -> acknowledged (D-133)
        if msg.get(43) == b"":
            self.fail(TagValueNull, texts.POSS_DUP_FLAG_MISSING, "D-127", 43, LOGOUT, 4)
        # 49 SenderCompID: D-121 (D-155 on Test Request), D-128, D-134 / AD-17
        value = msg.get(49)
        if value is None:
            rule = "D-155" if mt == "1" else "D-121"
            self.fail(MissingTag, texts.SENDER_COMP_ID_MISSING, rule, 49, LOGOUT, 1)
        elif not value:
            self.fail(TagValueNull, texts.SENDER_COMP_ID_MISSING, "D-128", 49, LOGOUT, 4)
        else:
            self.sender_comp_id(value)
        # 50 SenderSubID: not in the seed tables; CME texts (wire notes §1.2, §1.9).
        self.sender_sub_id(msg.get(50))
        # 52 SendingTime: D-123, D-129, D-135
        value = msg.get(52)
        if value is None:
            self.fail(MissingTag, texts.SENDING_TIME_MISSING, "D-123", 52, LOGOUT, 1)
        elif not value:
            self.fail(TagValueNull, texts.SENDING_TIME_MISSING, "D-129", 52, LOGOUT, 4)
        elif not _valid_sending_time(value):
            text = texts.sending_time_invalid(self.text_of(value))
            self.fail(InvalidTagValue, text, "D-135", 52, LOGOUT, 6)
        # 56 TargetCompID: D-122; must be CME (wire notes §1.2, §1.9)
        value = msg.get(56)
        if value is None:
            self.fail(MissingTag, texts.TARGET_COMP_ID_MISSING, "D-122", 56, LOGOUT, 1)
        elif value != b"CME":
            text = texts.target_comp_id_incorrect(self.text_of(value))
            cls = TagValueNull if not value else InvalidTagValue
            self.fail(cls, text, "notes-1.9-56", 56, LOGOUT, 9)
        # 57 TargetSubID: D-124, D-130, D-136 / D-103 / D-104 (AD-08)
        value = msg.get(57)
        if value is None:
            self.fail(MissingTag, texts.TARGET_SUB_ID_MISSING, "D-124", 57, LOGOUT, 1)
        elif not value:
            self.fail(TagValueNull, texts.TARGET_SUB_ID_MISSING, "D-130", 57, LOGOUT, 4)
        else:
            self.target_sub_id(self.text_of(value))
        # 142 SenderLocationID: D-125 (Logout), but D-156 on a Test Request (AD-07); D-131
        value = msg.get(142)
        if value is None:
            if mt == "1":
                self.fail(MissingTag, texts.SENDER_LOCATION_ID_MISSING, "D-156", 142, REJECT, 1)
            else:
                self.fail(MissingTag, texts.SENDER_LOCATION_ID_MISSING, "D-125", 142, LOGOUT, 1)
        elif not value:
            self.fail(TagValueNull, texts.SENDER_LOCATION_ID_MISSING, "D-131", 142, LOGOUT, 4)

    def sender_comp_id(self, value: bytes) -> None:
        # seed 003 "Drop Copy 4.0 Session Model" (D-079), decision AD-17
        if len(value) == 7 and _SENDER_COMP_ID.fullmatch(value, 0, 6):
            fti = value[6:]
            if fti != b"N":
                text = texts.invalid_fault_tolerance_indicator(self.text_of(fti))
                self.fail(InvalidTagValue, text, "AD-17", 49, LOGOUT, 9)
                return
            ids = self.ctx.sender_comp_ids
            if ids is None or self.text_of(value) in ids:
                return
        self.fail(InvalidTagValue, texts.SENDER_COMP_ID_INVALID, "D-134", 49, LOGOUT, 9)

    def sender_sub_id(self, value: bytes | None) -> None:
        outcome = LOGOUT if self.msg_type == "A" else REJECT
        rule = "notes-1.9-50"
        if value is None:
            self.fail(MissingTag, texts.SENDER_SUB_ID_MISSING, rule, 50, outcome, 1)
        elif not value:
            self.fail(TagValueNull, texts.SENDER_SUB_ID_MISSING, rule, 50, outcome, 4)
        elif _SENDER_SUB_ID_CHARS.fullmatch(value) is None:
            self.fail(InvalidTagValue, texts.SENDER_SUB_ID_NOT_ALPHANUMERIC, rule, 50, outcome, 6)
        elif len(value) < 2:
            text = texts.sender_sub_id_too_short(len(value))
            self.fail(InvalidTagValue, text, rule, 50, outcome, 5)

    def target_sub_id(self, value: str) -> None:
        # seed 003 "Tag 57-TargetSubID" (D-103, D-104, D-105), "Standard Header" (D-136), AD-08
        ctx = self.ctx
        expected = ctx.target_sub_id
        if value == expected:
            return
        if ctx.gateway is GatewayKind.CGW:
            self.fail(InvalidTagValue, texts.INVALID_TARGET_SUB_ID, "D-136", 57, LOGOUT, 5)
        elif self.msg_type == "A":
            self.fail(InvalidTagValue, texts.INVALID_TARGET_SUB_ID, "D-103", 57, LOGOUT, 5)
        elif _segment_like(value, ctx):
            text = texts.target_sub_id_incorrect(value, expected)
            self.fail(InvalidTagValue, text, "D-104", 57, REJECT, 5)
        else:
            self.fail(InvalidTagValue, texts.INVALID_TARGET_SUB_ID, "D-136", 57, LOGOUT, 5)

    # --- message type (seed 003 "Messaging Integrity and Validation", "Messaging")

    def message_type(self) -> None:
        mt = self.msg_type
        if not self.ctx.logged_on and mt != "A":
            # seed 003 "Session Logon" (D-023)
            self.fail(NotLoggedOn, texts.NOT_LOGGED_ON, "D-023", 35, LOGOUT)
            return
        if not mt:
            self.fail(MsgTypeMissing, texts.MSG_TYPE_MISSING, "notes-1.9-35", 35, REJECT, 11)
        elif mt not in SESSION_MSG_TYPES:
            if mt == "BW":
                rule = "D-043"  # Application Resend Request no longer supported
            elif mt in ORDER_ENTRY_MSG_TYPES:
                rule = "D-114"  # no order entry on Drop Copy
            else:
                rule = "D-061"
            self.fail(UnknownMsgType, texts.unknown_msg_type(mt), rule, 35, REJECT, 11)

    # --- per message type

    def logon(self) -> None:
        msg, ctx = self.msg, self.ctx
        if ctx.logged_on:
            # seed 003 "Session Logon": in-session Logon needs 34=1 and 141=Y (D-027)
            if self.seq != 1:
                self.fail(InvalidLogon, texts.IN_SESSION_LOGON_SEQ_NUM, "D-027", 34, LOGOUT)
            if msg.get(141) != b"Y":
                self.fail(InvalidLogon, texts.IN_SESSION_LOGON_RESET_FLAG, "D-027", 141, LOGOUT)
        # seed 003 "Session Logon": 122 on any Logon -> logged out (D-028)
        if 122 in msg:
            self.fail(InvalidLogon, texts.ORIG_SENDING_TIME_ON_LOGON, "D-028", 122, LOGOUT)
        # 108 HeartBtInt: missing D-141, null D-145, range D-019 / D-152 (AD-04)
        value = msg.get(108)
        if value is None:
            self.fail(MissingTag, texts.HEARTBEAT_TAG_INVALID, "D-141", 108, LOGOUT, 1)
        elif not value:
            self.fail(TagValueNull, texts.HEARTBEAT_TAG_INVALID, "D-145", 108, LOGOUT, 4)
        elif not value.isdigit() or len(value) > 9:
            self.fail(InvalidTagValue, texts.HEARTBEAT_TAG_INVALID, "D-152", 108, LOGOUT, 6)
        elif not HEART_BT_INT_MIN <= int(value) <= HEART_BT_INT_MAX:
            text = texts.heartbeat_value_invalid(self.text_of(value))
            self.fail(InvalidTagValue, text, "AD-04", 108, LOGOUT, 5)
        # 96 RawData: null -> Logout (D-143); a non-empty 96 is ignored (AD-14)
        if msg.get(96) == b"":
            self.fail(TagValueNull, texts.INVALID_LOGON, "D-143", 96, LOGOUT, 4)
        # 98 EncryptMethod: null -> Logout (D-144); missing / invalid acknowledged (D-140, D-146)
        if msg.get(98) == b"":
            self.fail(TagValueNull, texts.INVALID_LOGON, "D-144", 98, LOGOUT, 4)
        # secure logon credentials (AX-01)
        if ctx.require_credentials:
            bad = check_credentials(msg)
            if bad is not None:
                self.fail(InvalidLogon, bad.text, "AX-01", 1402, LOGOUT)

    def test_request(self) -> None:
        # seed 003 "Test Request": null 112 -> Session Level Reject (D-157); missing 112 too
        # (AD-07). 142 is handled with the header (D-156).
        value = self.msg.get(112)
        if value is None:
            self.fail(MissingTag, texts.TEST_REQ_ID_MISSING, "AD-07", 112, REJECT, 1)
        elif not value:
            self.fail(TagValueNull, texts.TEST_REQ_ID_MISSING, "D-157", 112, REJECT, 4)

    def resend_request(self) -> None:
        # seed 003 "Message Resend Request Validation": 7 must be > 0 (D-060); 16 must be an
        # integer (wire notes §1.9 "Invalid EndSeqNum. Integer required").
        msg = self.msg
        value = msg.get(7)
        if value is None:
            self.fail(MissingTag, texts.BEGIN_SEQ_NUM_MISSING, "notes-1.9-7", 7, REJECT, 1)
        elif _SIGNED_INT.fullmatch(value) is None:
            self.fail(InvalidTagValue, texts.BEGIN_SEQ_NUM_INVALID, "notes-1.9-7", 7, REJECT, 6)
        elif int(value) <= 0:
            self.fail(InvalidTagValue, texts.BEGIN_SEQ_NUM_NOT_POSITIVE, "D-060", 7, REJECT, 5)
        value = msg.get(16)
        if value is None:
            self.fail(MissingTag, texts.END_SEQ_NUM_MISSING, "notes-1.9-16", 16, REJECT, 1)
        elif _SIGNED_INT.fullmatch(value) is None or int(value) < 0:
            self.fail(InvalidTagValue, texts.END_SEQ_NUM_INVALID, "notes-1.9-16", 16, REJECT, 6)

    def sequence_reset(self) -> None:
        value = self.msg.get(36)
        if value is None:
            self.fail(MissingTag, texts.NEW_SEQ_NO_MISSING, "FIX-4.2-36", 36, REJECT, 1)
        elif not value.isdigit() or len(value) > 9:
            self.fail(InvalidTagValue, texts.NEW_SEQ_NO_INVALID, "FIX-4.2-36", 36, REJECT, 6)


_BY_TYPE: Final = {
    "A": _Checker.logon,
    "1": _Checker.test_request,
    "2": _Checker.resend_request,
    "4": _Checker.sequence_reset,
}


def validate_all(msg: Message, ctx: ValidationContext) -> list[ValidationError]:
    """Every rule ``msg`` breaks, in check order: message type / logon state, header tags
    (34, 43, 49, 50, 52, 56, 57, 142), then the message type's own table."""
    checker = _Checker(msg, ctx)
    checker.message_type()
    checker.header()
    check = _BY_TYPE.get(checker.msg_type or "")
    if check is not None and (ctx.logged_on or checker.msg_type == "A"):
        check(checker)
    return checker.errors


def validate_inbound(msg: Message, ctx: ValidationContext) -> ValidationError | None:
    """The violation to act on, or ``None`` if ``msg`` may be processed.

    The first Logout-class violation wins over Session Level Reject-class ones.
    """
    errors = validate_all(msg, ctx)
    for error in errors:
        if error.outcome is LOGOUT:
            return error
    return errors[0] if errors else None
