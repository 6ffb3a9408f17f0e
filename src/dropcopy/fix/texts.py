"""Tag 58 reason texts of Drop Copy 4.0.

Texts marked **CME** are copied exactly from CME's "Drop Copy 4.0 Session Layer Validation
Conditions" (reference/dropcopy-wire-notes.md §1.9) or from the seed (003); keep them byte for
byte, double spaces included. CME writes a placeholder ``( )`` where the offending value goes;
it is replaced by the bare value, as decision AD-17 spells one of them
(``Received invalid fault tolerance indicator = P Logout forced.``).

Texts marked **project** are ours: CME publishes no wording for that case. They follow CME's
style and are listed in docs/fix-codec.md.
"""

from __future__ import annotations

from typing import Final

# --- 8 BeginString (CME)
BEGIN_STRING_MISSING: Final = "BeginString (8) tag is not present"
BEGIN_STRING_INCORRECT: Final = "BeginString (8) tag has an incorrect value, should be FIX4.2"

# --- 9 BodyLength (CME)
BODY_LENGTH_MISSING: Final = "BodyLength (9) tag is not present"


def body_length_incorrect(expected: object) -> str:
    """CME: ``BodyLength (9) tag has an incorrect value: should be ( )``."""
    return f"BodyLength (9) tag has an incorrect value: should be {expected}"


# --- 35 MsgType (CME)
MSG_TYPE_MISSING: Final = "Could not extract message type."


def unknown_msg_type(msg_type: str) -> str:
    """CME: ``UNKNOWN Message received. Message Type = ( )``."""
    return f"UNKNOWN Message received. Message Type = {msg_type}"


# --- 34 MsgSeqNum
IN_SESSION_LOGON_SEQ_NUM: Final = "In session logon message must have 34=1. Logout forced."  # CME
MSG_SEQ_NUM_MISSING: Final = "MsgSeqNum (34) tag is not present"  # project


def msg_seq_num_invalid(value: str) -> str:
    """Project text (CME publishes none for a non-numeric 34)."""
    return f"MsgSeqNum (34) tag has an incorrect value: {value}"


# --- 43 PossDupFlag (project)
POSS_DUP_FLAG_MISSING: Final = "PossDupFlag (43) tag is not present"

# --- 49 SenderCompID (CME)
SENDER_COMP_ID_MISSING: Final = "SenderCompId (49) tag is not present"
SENDER_COMP_ID_INVALID: Final = "Invalid SenderCompID (49) tag. Logout forced."
#: Listed by CME under tag 49 with two spaces; not emitted by this project (AX-01 uses
#: :data:`INVALID_LOGON`), kept for reference.
INVALID_LOGON_DOUBLE_SPACE: Final = "Invalid logon.  Logout forced."
NOT_LOGGED_ON: Final = "Non logon message received while not logged on."


def invalid_fault_tolerance_indicator(value: str) -> str:
    """CME: ``Received invalid fault tolerance indicator = ( ) Logout forced.`` (AD-17)."""
    return f"Received invalid fault tolerance indicator = {value} Logout forced."


def initial_logon_primary_indication(value: str) -> str:
    """CME (iLink fault tolerance; unused by Drop Copy, whose FTI is always N)."""
    return f"Received initial logon message with Primary Indication = {value} Expected U or N"


def invalid_fault_tolerance_indicator_expected_b(value: str) -> str:
    """CME (iLink backup logon; unused by Drop Copy)."""
    return f"Received invalid fault tolerance indicator = {value}. Expected B"


# --- Logon (CME)
INVALID_LOGON: Final = "Invalid logon. Logout forced."
HEARTBEAT_TAG_INVALID: Final = "Error during logon. Heartbeat tag invalid."
BACKUP_NOT_ALLOWED: Final = "Backup session not allowed. Logout forced."


def heartbeat_value_invalid(value: str) -> str:
    """CME's text with Drop Copy's range, as decision AD-04 writes it."""
    return (
        f"Error during logon. Heartbeat value invalid. Received: {value}, "
        "expected value in range 5-60"
    )


IN_SESSION_LOGON_RESET_FLAG: Final = (
    "In session logon message must have 141=Y. Logout forced."  # project
)
ORIG_SENDING_TIME_ON_LOGON: Final = (
    "OrigSendingTime (122) tag is not allowed on logon. Logout forced."  # project
)

# --- 50 SenderSubID (CME)
SENDER_SUB_ID_MISSING: Final = "SenderSubId (50) tag is not present"
SENDER_SUB_ID_NOT_ALPHANUMERIC: Final = "tag SenderSubID (50) can contain only alphanumeric values"


def sender_sub_id_too_short(length: int) -> str:
    """CME: ``Business Reject: Other '50 (SENDER_SUB_ID) length: 1 min: 2'``."""
    return f"Business Reject: Other '50 (SENDER_SUB_ID) length: {length} min: 2'"


# --- 52 SendingTime (CME)
SENDING_TIME_MISSING: Final = "SendingTime (52) tag is not present"


def sending_time_invalid(value: str) -> str:
    """CME: ``SendingTime (52) tag is not formatted properly ( )``."""
    return f"SendingTime (52) tag is not formatted properly {value}"


# --- 56 TargetCompID (CME)
TARGET_COMP_ID_MISSING: Final = "TargetCompId (56) tag is not present"


def target_comp_id_incorrect(value: str) -> str:
    """CME: ``TargetCompId (56) tag has an incorrect value: ( ) should be CME``."""
    return f"TargetCompId (56) tag has an incorrect value: {value} should be CME"


# --- 57 TargetSubID (CME / seed 003)
TARGET_SUB_ID_MISSING: Final = "TargetSubId (57) tag is not present"
#: Seed 003 "Tag 57-TargetSubID": Logout on a Logon with a wrong Market Segment ID (D-103).
INVALID_TARGET_SUB_ID: Final = "Invalid TargetSubID(tag 57)"


def target_sub_id_incorrect(value: str, expected: str) -> str:
    """Seed 003 (D-104) as AD-08 spells it: actual values, no angle brackets."""
    return f"TargetSubId (57) tag has an incorrect value: {value}, should be: {expected}"


# --- 142 SenderLocationID (CME)
SENDER_LOCATION_ID_MISSING: Final = "SenderLocationId (142) tag is not present"

# --- 10 CheckSum
CHECKSUM_MISSING: Final = "Invalid FIX message. Checksum tag not found."  # CME
CHECKSUM_INCORRECT: Final = "Invalid FIX message. Checksum is incorrect."  # project (never sent)
CHECKSUM_GARBLED: Final = (
    "Invalid FIX message. Checksum is non-numeric and longer than 3 characters."  # project
)

# --- 112 TestReqID (project)
TEST_REQ_ID_MISSING: Final = "TestReqID (112) tag is not present"

# --- Resend Request 7 / 16
END_SEQ_NUM_INVALID: Final = "Invalid EndSeqNum. Integer required"  # CME
BEGIN_SEQ_NUM_INVALID: Final = "Invalid BeginSeqNum. Integer required"  # project
BEGIN_SEQ_NUM_MISSING: Final = "BeginSeqNo (7) tag is not present"  # project
END_SEQ_NUM_MISSING: Final = "EndSeqNo (16) tag is not present"  # project
BEGIN_SEQ_NUM_NOT_POSITIVE: Final = "Invalid BeginSeqNum. Must be greater than 0"  # project
#: Seed 003 (D-054), without the trailing period (AD-03).
RESEND_REQUEST_NOT_FULFILLED: Final = "Resend Request Could Not Be Fulfilled"

# --- Sequence Reset 36 (project)
NEW_SEQ_NO_MISSING: Final = "NewSeqNo (36) tag is not present"
NEW_SEQ_NO_INVALID: Final = "Invalid NewSeqNo. Integer required"

# --- codec (project; these messages are dropped, nothing is sent)
MALFORMED_FIELD: Final = "Invalid FIX message. Malformed field."
NON_PRINTABLE: Final = "Invalid FIX message. Only printable ASCII is allowed."
DATA_LENGTH_INCORRECT: Final = "Invalid FIX message. Data field length is incorrect."
MESSAGE_TOO_LARGE: Final = "Invalid FIX message. Message is too large."
TRUNCATED: Final = "Invalid FIX message. Stream ended inside a message."
