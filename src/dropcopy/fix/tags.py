"""FIX 4.2 tag numbers and message types used by CME Drop Copy 4.0, under their spec names.

Only the subset the Drop Copy session layer, the secure logon and the ``35=n`` payload need is
named here; any other tag number is still a valid ``int`` everywhere in :mod:`dropcopy.fix`.
"""

from __future__ import annotations

import enum
from typing import Final


class Tag(enum.IntEnum):
    """FIX 4.2 tags (plus CME's custom tags) by their FIX/CME field names."""

    Account = 1
    AvgPx = 6
    BeginSeqNo = 7
    BeginString = 8
    BodyLength = 9
    CheckSum = 10
    ClOrdID = 11
    CumQty = 14
    EndSeqNo = 16
    ExecID = 17
    ExecTransType = 20
    LastPx = 31
    LastShares = 32
    MsgSeqNum = 34
    MsgType = 35
    NewSeqNo = 36
    OrderID = 37
    OrderQty = 38
    OrdStatus = 39
    OrdType = 40
    OrigClOrdID = 41
    PossDupFlag = 43
    Price = 44
    RefSeqNum = 45
    SecurityID = 48
    SenderCompID = 49
    SenderSubID = 50
    SendingTime = 52
    Side = 54
    Symbol = 55
    TargetCompID = 56
    TargetSubID = 57
    Text = 58
    TimeInForce = 59
    TransactTime = 60
    Signature = 89
    SecureDataLen = 90
    SecureData = 91
    SignatureLength = 93
    RawDataLength = 95
    RawData = 96
    PossResend = 97
    EncryptMethod = 98
    SecurityDesc = 107
    HeartBtInt = 108
    TestReqID = 112
    OrigSendingTime = 122
    GapFillFlag = 123
    ResetSeqNumFlag = 141
    SenderLocationID = 142
    TargetLocationID = 143
    ExecType = 150
    LeavesQty = 151
    SecurityType = 167
    XmlDataLen = 212
    XmlData = 213
    EncodedTextLen = 354
    EncodedText = 355
    LastMsgSeqNumProcessed = 369
    RefTagID = 371
    RefMsgType = 372
    SessionRejectReason = 373
    NextExpectedMsgSeqNum = 789
    ManualOrderIndicator = 1028
    EncryptedPasswordMethod = 1400
    EncryptedPasswordLen = 1401
    EncryptedPassword = 1402
    ApplicationSystemName = 1603
    TradingSystemVersion = 1604
    ApplicationSystemVendor = 1605
    StartSequenceNumber = 5024
    RequestTime = 5979
    SplitMsg = 9553


class MsgType(enum.StrEnum):
    """Values of tag 35 that the Drop Copy 4.0 session layer knows."""

    Heartbeat = "0"
    TestRequest = "1"
    ResendRequest = "2"
    Reject = "3"
    SequenceReset = "4"
    Logout = "5"
    ExecutionReport = "8"
    OrderCancelReject = "9"
    Logon = "A"
    BusinessMessageReject = "j"
    XmlNonFix = "n"
    ApplicationMessageRequest = "BW"
    OrderMassActionReport = "BZ"


#: Length-prefixed data fields: data tag -> the length tag that must immediately precede it.
#: A data field's value is read by that length, so it may contain SOH and ``=``.
DATA_LENGTH_TAG: Final[dict[int, int]] = {
    213: 212,  # XmlData <- XmlDataLen (the 35=n payload)
    355: 354,  # EncodedText <- EncodedTextLen (Access Key ID in the secure logon)
    96: 95,  # RawData <- RawDataLength
    1402: 1401,  # EncryptedPassword <- EncryptedPasswordLen (HMAC signature)
    91: 90,  # SecureData <- SecureDataLen
    89: 93,  # Signature <- SignatureLength (trailer)
}

#: Length tag -> the data tag it announces.
DATA_TAG_FOR_LENGTH: Final[dict[int, int]] = {v: k for k, v in DATA_LENGTH_TAG.items()}

#: Message types a client may send to Drop Copy (the FIX 4.2 session messages).
SESSION_MSG_TYPES: Final[frozenset[str]] = frozenset({"0", "1", "2", "3", "4", "5", "A"})

#: Tag number -> spec name, for display (``dropcopy decode``).
TAG_NAMES: Final[dict[int, str]] = {int(t): t.name for t in Tag}
