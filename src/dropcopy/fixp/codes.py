"""iLink 3 FIXP error codes (ErrorCodes, tag 39012), as CME publishes them.

Source: ilink3-schema-notes.md "Error / reason codes" (CME Client Systems Wiki), chosen by
decision AI-04. The seed itself names only Terminate 1 and 26.
"""

from __future__ import annotations

from enum import IntEnum


class TerminateCode(IntEnum):
    Finished = 0
    EstablishmentTimeout = 1
    Unnegotiated = 2
    NotEstablished = 3
    AlreadyNegotiated = 4
    NegotiationInProgress = 5
    AlreadyEstablished = 6
    EstablishInProgress = 7
    CMEAdministeredPortClosure = 8
    VolumeControls = 9
    InvalidNextSeqNo = 10
    InvalidMsgSeqNo = 11
    InvalidLastSeqNo = 12
    InvalidUUID = 13
    InvalidTimestamp = 14
    RequiredUUIDMissing = 15
    RequiredRequestTimestampMissing = 16
    RequiredCodeMissing = 17
    InvalidSOFH = 18
    DecodingError = 19
    KeepAliveIntervalLapsed = 20
    RequiredNextSeqNoMissing = 21
    RequiredKeepAliveIntervalLapsedMissing = 22
    Other = 23
    TerminateInProgress = 24
    DisconnectOrTerminateFromPrimary = 26


class RejectCode(IntEnum):
    """NegotiationReject502 / EstablishmentReject505 ErrorCodes."""

    HMACNotAuthenticated = 0
    HMACNotAvailable = 1
    InvalidUUID = 2  # older CME lists; decision AI-15
    InvalidTimestamp = 3
    RequiredHMACSignatureMissing = 4
    RequiredAccessKeyIDMissing = 5
    RequiredSessionMissing = 6
    RequiredFirmMissing = 7
    RequiredUUIDMissing = 8
    RequiredRequestTimestampMissing = 9
    SessionBlocked = 10
    InvalidKeepAliveInterval = 11
    InvalidAccessKeyID = 12
    InvalidSession = 13
    InvalidFirm = 14
    VolumeControls = 15
    RequiredTradingSystemNameMissing = 18
    RequiredTradingSystemVersionMissing = 19
    RequiredTradingSystemVendorMissing = 20
    RequiredKeepAliveIntervalMissing = 21
    RequiredNextSeqNoMissing = 22
    InvalidTradingSystemName = 23
    InvalidTradingSystemVersion = 24
    InvalidTradingSystemVendor = 25
    DesignatedBackup = 27
    NegotiateNotAllowed = 28


class RetransmitRejectCode(IntEnum):
    OutOfRange = 0
    InvalidUUID = 1
    RequestLimitExceeded = 2
    RetransmitAlreadyInProgress = 3
    InvalidTimestamp = 4
    InvalidFromSeqNo = 5
    RequiredUUIDMissing = 6
    RequiredRequestTimestampMissing = 7
    RequiredFromSeqNoMissing = 8
    RequiredMsgCountMissing = 9


#: Reason texts sent with each code (Reason is a String48 on the wire).
TERMINATE_REASONS: dict[int, str] = {
    0: "Finished",
    1: "Establish not received within 60 seconds",
    2: "Message received before Negotiate",
    3: "Message received before Establish",
    4: "Already negotiated",
    5: "Negotiation in progress",
    6: "Already established",
    7: "Establishment in progress",
    10: "Invalid NextSeqNo",
    11: "Invalid MsgSeqNo: lower than expected",
    13: "Invalid UUID",
    14: "Invalid RequestTimestamp",
    15: "UUID missing",
    16: "RequestTimestamp missing",
    17: "Code missing",
    18: "Invalid message length or encoding type",
    19: "Message could not be decoded",
    20: "KeepAliveInterval lapsed",
    21: "NextSeqNo missing",
    22: "KeepAliveIntervalLapsed missing",
    23: "Protocol violation",
    26: "Backup session terminated as well",
}
