"""Events a Drop Copy 4.0 FIX 4.2 session machine reports to the program driving it."""

from __future__ import annotations

from dataclasses import dataclass

from dropcopy.fix.codec import Message

__all__ = [
    "BusinessMessage",
    "Closed",
    "Event",
    "GapDetected",
    "GapFillSent",
    "LoggedOn",
    "LogonReceived",
    "LogoutHeld",
    "MessageDropped",
    "MessagesUnrecoverable",
    "PossDupIgnored",
    "ResendCompleted",
    "ResendRejected",
    "ResendRequestSent",
    "ResendRequested",
    "SequenceNumbersReset",
    "SequenceResetReceived",
    "SessionRejectReceived",
    "SessionRejectSent",
    "TestRequestSent",
]


class Event:
    """Base of every event."""

    __slots__ = ()


# -- acceptor (Drop Copy gateway): decisions the venue must take -------------------------------


@dataclass(frozen=True, slots=True)
class LogonReceived(Event):
    """A Logon passed the session-layer checks (header, 108, 122, 96/98, credential format).

    The venue verifies the HMAC (:func:`dropcopy.fix.secure_logon.verify_logon` with the secret
    behind ``access_key_id``), that ``session_id`` is a known Drop Copy target, primary/backup
    rules (D-064), and then calls ``accept_logon(now, next_seq_num=..., expected_seq_num=...)``
    -- the machine applies the sequence rules D-025/D-026 itself -- or ``reject_logon(now,
    text)``. Messages arriving meanwhile are held. ``in_session`` is True for an in-session
    Logon (141=Y, 34=1, D-027), which resets both sides when accepted (D-032)."""

    message: Message
    sender_comp_id: str
    #: The 6-character Session ID (the first 6 characters of 49, D-079).
    session_id: str
    #: 355 EncodedText: the Access Key ID that selects the secret key (AX-01).
    access_key_id: str | None
    heart_bt_int: int
    msg_seq_num: int
    reset_seq_num_flag: bool
    in_session: bool


@dataclass(frozen=True, slots=True)
class ResendRequested(Event):
    """A client Resend Request passed the checks the machine can make alone (7 > 0, 7 not
    beyond the last sent, not while another is processed). Answer with ``answer_resend(now,
    first_retrievable=..., messages=...)`` -- the machine then applies the 48-hour window
    (AD-01/AD-02) and the 2500 limit (AD-13) -- or ``reject_resend(now, text)``.

    ``end_seq_no`` is resolved: 16=0 (Enhanced) or a 16 beyond the last sent means the last
    message sent when the request arrived (AD-12)."""

    message: Message
    #: 34 of the Resend Request (45 RefSeqNum of a reject).
    ref_seq_num: int
    begin_seq_no: int
    end_seq_no: int
    #: 16 EndSeqNo as received.
    requested_end_seq_no: int

    @property
    def count(self) -> int:
        """Messages in the range (the number checked against the 2500 limit, AD-13)."""
        return self.end_seq_no - self.begin_seq_no + 1


# -- both roles ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoggedOn(Event):
    """The Logon ack was sent (acceptor) or received (initiator)."""

    heart_bt_int: int
    #: 34 of the Logon ack.
    msg_seq_num: int
    #: An in-session Logon reset both sides to 1 (D-032).
    in_session: bool
    message: Message


@dataclass(frozen=True, slots=True)
class SequenceNumbersReset(Event):
    """An in-session Logon reset both directions to 1 (D-032); earlier messages from CME can no
    longer be recovered (D-033): the venue starts a new journal epoch, the client forgets
    queued messages. ``by_peer`` is True when the other side asked for the reset."""

    by_peer: bool


@dataclass(frozen=True, slots=True)
class BusinessMessage(Event):
    """An encapsulated 35=n, delivered strictly in MsgSeqNum order (D-049). ``poss_dup`` is 43=Y
    (a resend response), ``poss_resend`` 97=Y (a possible duplicate of a message already
    received, to be checked by the inner 5979, wire notes §2.4)."""

    message: Message
    msg_seq_num: int
    poss_dup: bool
    poss_resend: bool


@dataclass(frozen=True, slots=True)
class GapDetected(Event):
    """Messages ``begin_seq_no`` .. ``end_seq_no`` from the peer are missing."""

    begin_seq_no: int
    end_seq_no: int


@dataclass(frozen=True, slots=True)
class ResendRequestSent(Event):
    """This side sent a Resend Request (35=2); ``end_seq_no`` 0 is an Enhanced request."""

    msg_seq_num: int
    begin_seq_no: int
    end_seq_no: int


@dataclass(frozen=True, slots=True)
class ResendCompleted(Event):
    """Acceptor: the last resent message or gap fill of a client request was written.
    Initiator: the gap its Resend Request covered is filled."""

    begin_seq_no: int
    end_seq_no: int


@dataclass(frozen=True, slots=True)
class ResendRejected(Event):
    """Initiator: CME answered its Resend Request with a Session Level Reject. With 5024
    (``start_sequence_number``) the messages before it are beyond the 48-hour window."""

    ref_seq_num: int
    text: str
    start_sequence_number: int | None


@dataclass(frozen=True, slots=True)
class MessagesUnrecoverable(Event):
    """Initiator: messages ``begin_seq_no`` .. ``end_seq_no`` can no longer be retrieved
    (5024 on a reject, D-055); the machine moved past them."""

    begin_seq_no: int
    end_seq_no: int


@dataclass(frozen=True, slots=True)
class GapFillSent(Event):
    """Initiator: it answered CME's Resend Request with Sequence Reset-GapFill (D-037, D-042)."""

    begin_seq_no: int
    new_seq_no: int


@dataclass(frozen=True, slots=True)
class SequenceResetReceived(Event):
    """A Sequence Reset moved the expected number to ``new_seq_no`` (D-031, D-038)."""

    msg_seq_num: int
    new_seq_no: int
    gap_fill: bool


@dataclass(frozen=True, slots=True)
class SessionRejectSent(Event):
    """This side answered a message with Session Level Reject (35=3)."""

    ref_seq_num: int
    text: str
    rule: str


@dataclass(frozen=True, slots=True)
class SessionRejectReceived(Event):
    """The peer rejected one of this side's messages (35=3)."""

    ref_seq_num: int | None
    text: str
    message: Message


@dataclass(frozen=True, slots=True)
class PossDupIgnored(Event):
    """A message below the expected number with 43=Y was ignored (AD-10): a duplicate, e.g. an
    Enhanced duplicate Resend Request on the same 34."""

    msg_seq_num: int
    msg_type: str


@dataclass(frozen=True, slots=True)
class MessageDropped(Event):
    """Bytes that are not a usable message were not acted upon and consumed no sequence number
    (bad checksum D-062/AD-06, garbage, malformed fields)."""

    reason: str
    rule: str


@dataclass(frozen=True, slots=True)
class TestRequestSent(Event):
    """The peer was silent for one heartbeat interval: a Test Request went out (D-021)."""

    __test__ = False  # not a pytest class

    test_req_id: str


@dataclass(frozen=True, slots=True)
class LogoutHeld(Event):
    """Initiator: ``logout()`` was called while a Resend Request is in flight; the Logout goes
    out when the resend completes (D-011)."""

    text: str


@dataclass(frozen=True, slots=True)
class Closed(Event):
    """The connection is over: close the transport once ``data_to_send()`` is flushed.

    ``by_peer``: True when the peer's Logout ended it, False when this side did (its Logout, a
    timeout it enforced), None when the transport went away. ``logout_text`` /
    ``next_expected_msg_seq_num`` are the 58 / 789 of the Logout that ended the session (sent or
    received); ``violation`` is True when this side closed because the peer broke a rule,
    ``rule`` names it (seed row or decision id).
    """

    reason: str
    by_peer: bool | None
    logout_text: str | None = None
    next_expected_msg_seq_num: int | None = None
    violation: bool = False
    rule: str = ""
