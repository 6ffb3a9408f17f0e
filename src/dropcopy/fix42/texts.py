"""Tag 58 texts the Drop Copy 4.0 session machine sends beyond the per-message validation.

The validation texts (header tags, Logon tags, Test Request, Resend Request 7/16) live in
:mod:`dropcopy.fix.texts`; this module adds what only the session machine can decide: sequence
numbers, the resend service, timeouts. Texts marked **decision** are worded in a seed-rules
decision; **seed** come from seed 003; **project** are ours (CME publishes none) and are listed in
docs/fix42.md.
"""

from __future__ import annotations

from typing import Final

from dropcopy.fix.texts import (
    IN_SESSION_LOGON_SEQ_NUM,
    INVALID_LOGON,
    NOT_LOGGED_ON,
    RESEND_REQUEST_NOT_FULFILLED,
    unknown_msg_type,
)

__all__ = [
    "HEARTBEAT_TIMEOUT",
    "INVALID_LOGON",
    "IN_SESSION_LOGON_DURING_RESEND",
    "IN_SESSION_LOGON_SEQ_NUM",
    "MESSAGING_CONTROLS_LOGOUT",
    "NOT_LOGGED_ON",
    "RESEND_IN_PROGRESS",
    "RESEND_REQUEST_NOT_FULFILLED",
    "RESET_FLAG_NOT_ALLOWED",
    "begin_seq_no_too_high",
    "end_seq_no_below_begin",
    "messaging_controls",
    "msg_seq_num_too_high",
    "msg_seq_num_too_low",
    "new_seq_no_too_low",
    "resend_limit_exceeded",
    "unexpected_message",
    "unknown_msg_type",
]


def msg_seq_num_too_low(expected: int, received: int) -> str:
    """Decision AD-10's wording (D-030), also used on a Logon (AD-09)."""
    return f"MsgSeqNum too low, expecting {expected} but received {received}"


def msg_seq_num_too_high(expected: int, received: int) -> str:
    """Project text in AD-10's style: a Logon whose 34 is above the expected number (AD-09)."""
    return f"MsgSeqNum too high, expecting {expected} but received {received}"


def new_seq_no_too_low(expected: int, received: int) -> str:
    """Project text: a Sequence Reset whose 36 would lower the expected number (AD-11)."""
    return f"NewSeqNo too low, expecting {expected} but received {received}"


#: Project text: 141=Y on a beginning-of-week or mid-week Logon (D-025, AD-15).
RESET_FLAG_NOT_ALLOWED: Final = (
    "ResetSeqNumFlag (141)=Y is only allowed on an in session logon. Logout forced."
)
#: Project text: D-045, an in-session Logon while a resend request is being processed (AD-22).
IN_SESSION_LOGON_DURING_RESEND: Final = (
    "In session logon received while a resend request is being processed. Logout forced."
)
#: Decision AD-22's wording: a second Resend Request while one is processed (D-044).
RESEND_IN_PROGRESS: Final = "Resend request already in progress"
#: Project text: messaging controls breached once too often (D-138, AD-20).
MESSAGING_CONTROLS_LOGOUT: Final = "Messaging controls exceeded. Logout forced."


def messaging_controls(limit: int) -> str:
    """Project text: a client message over the messaging-controls limit (D-138, AD-20)."""
    return f"Messaging controls exceeded: more than {limit} messages per second"


#: Decision AD-05's wording: nothing answered the Test Request (D-022, D-151).
HEARTBEAT_TIMEOUT: Final = "Heartbeat timeout"


def resend_limit_exceeded(limit: int) -> str:
    """Decision AD-13's wording: more than 2500 messages requested (D-058)."""
    return f"Resend request exceeds maximum of {limit} messages"


def begin_seq_no_too_high(begin: int, last_sent: int) -> str:
    """Project text: 7 BeginSeqNo beyond the last MsgSeqNum sent (D-059, AD-12)."""
    return (
        f"BeginSeqNo (7) {begin} is higher than the last MsgSeqNum sent {last_sent}. Logout forced."
    )


def end_seq_no_below_begin(begin: int, end: int) -> str:
    """Project text in CME's ``Invalid EndSeqNum`` style: 0 < 16 < 7."""
    return f"Invalid EndSeqNum. {end} is lower than BeginSeqNo {begin}"


def unexpected_message(msg_type: str, state: str) -> str:
    """Project text: a message type the transition table has no entry for in this state."""
    return f"Unexpected message received. Message Type = {msg_type} in state {state}"
