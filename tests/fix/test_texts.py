"""Tag 58 texts are CME's, byte for byte (wire notes §1.9; seed 003; decisions AD-03, AD-04,
AD-08, AD-17)."""

from __future__ import annotations

from dropcopy.fix import texts


def test_cme_texts_are_exact() -> None:
    # reference/dropcopy-wire-notes.md §1.9, copied verbatim (double spaces included)
    assert texts.BEGIN_STRING_MISSING == "BeginString (8) tag is not present"
    assert texts.BEGIN_STRING_INCORRECT == (
        "BeginString (8) tag has an incorrect value, should be FIX4.2"
    )
    assert texts.BODY_LENGTH_MISSING == "BodyLength (9) tag is not present"
    assert texts.body_length_incorrect(356) == (
        "BodyLength (9) tag has an incorrect value: should be 356"
    )
    assert texts.MSG_TYPE_MISSING == "Could not extract message type."
    assert texts.unknown_msg_type("ZZ") == "UNKNOWN Message received. Message Type = ZZ"
    assert texts.IN_SESSION_LOGON_SEQ_NUM == (
        "In session logon message must have 34=1. Logout forced."
    )
    assert texts.SENDER_COMP_ID_MISSING == "SenderCompId (49) tag is not present"
    assert texts.SENDER_COMP_ID_INVALID == "Invalid SenderCompID (49) tag. Logout forced."
    assert texts.INVALID_LOGON_DOUBLE_SPACE == "Invalid logon.  Logout forced."
    assert texts.initial_logon_primary_indication("P") == (
        "Received initial logon message with Primary Indication = P Expected U or N"
    )
    assert texts.invalid_fault_tolerance_indicator_expected_b("P") == (
        "Received invalid fault tolerance indicator = P. Expected B"
    )
    assert texts.NOT_LOGGED_ON == "Non logon message received while not logged on."
    assert texts.SENDER_SUB_ID_MISSING == "SenderSubId (50) tag is not present"
    assert texts.sender_sub_id_too_short(1) == (
        "Business Reject: Other '50 (SENDER_SUB_ID) length: 1 min: 2'"
    )
    assert texts.SENDER_SUB_ID_NOT_ALPHANUMERIC == (
        "tag SenderSubID (50) can contain only alphanumeric values"
    )
    assert texts.SENDING_TIME_MISSING == "SendingTime (52) tag is not present"
    assert texts.sending_time_invalid("x") == "SendingTime (52) tag is not formatted properly x"
    assert texts.TARGET_COMP_ID_MISSING == "TargetCompId (56) tag is not present"
    assert texts.target_comp_id_incorrect("X") == (
        "TargetCompId (56) tag has an incorrect value: X should be CME"
    )
    assert texts.TARGET_SUB_ID_MISSING == "TargetSubId (57) tag is not present"
    assert texts.SENDER_LOCATION_ID_MISSING == "SenderLocationId (142) tag is not present"
    assert texts.CHECKSUM_MISSING == "Invalid FIX message. Checksum tag not found."
    assert texts.INVALID_LOGON == "Invalid logon. Logout forced."
    assert texts.HEARTBEAT_TAG_INVALID == "Error during logon. Heartbeat tag invalid."
    assert texts.END_SEQ_NUM_INVALID == "Invalid EndSeqNum. Integer required"
    assert texts.BACKUP_NOT_ALLOWED == "Backup session not allowed. Logout forced."


def test_AD17_fault_tolerance_indicator_text() -> None:
    assert texts.invalid_fault_tolerance_indicator("P") == (
        "Received invalid fault tolerance indicator = P Logout forced."
    )


def test_AD04_heartbeat_range_text_says_5_60() -> None:
    assert texts.heartbeat_value_invalid("61") == (
        "Error during logon. Heartbeat value invalid. Received: 61, expected value in range 5-60"
    )


def test_AD08_target_sub_id_texts() -> None:
    # seed 003 "Tag 57-TargetSubID" (D-103, D-104)
    assert texts.INVALID_TARGET_SUB_ID == "Invalid TargetSubID(tag 57)"
    assert texts.target_sub_id_incorrect("99", "74") == (
        "TargetSubId (57) tag has an incorrect value: 99, should be: 74"
    )


def test_AD03_resend_request_not_fulfilled_text_has_no_period() -> None:
    assert texts.RESEND_REQUEST_NOT_FULFILLED == "Resend Request Could Not Be Fulfilled"
