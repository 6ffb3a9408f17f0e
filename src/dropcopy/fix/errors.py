"""Errors of the FIX 4.2 codec, framer and validator, each carrying its wire consequence.

Every problem a peer's bytes can cause is an instance of :class:`FixError`. It is raised by
:func:`~dropcopy.fix.codec.decode` and returned (never raised) by the framer and the validator,
so a session machine can act on it without ``try``. Each instance says:

* :attr:`FixError.outcome` -- what Drop Copy does about it (:class:`Outcome`);
* :attr:`FixError.text` -- the tag 58 reason text (CME's exact wording where CME publishes one,
  see :mod:`dropcopy.fix.texts`);
* :attr:`FixError.rule` -- the seed row or decision that fixes the outcome (``D-120``,
  ``AD-06``...), for tests and ``docs/fix-codec.md``.

Misuse of our own API (encoding a value that cannot go on the wire) is not a peer problem and
raises :class:`FixEncodeError` instead.
"""

from __future__ import annotations

import enum


class Outcome(enum.Enum):
    """What the receiver does with a message that failed a check."""

    #: Answer with Session Level Reject (35=3) carrying 45 RefSeqNum and 58 Text; the message's
    #: sequence number is consumed and the session stays up.
    SESSION_REJECT = "session-reject"
    #: Answer with Logout (35=5) carrying 58 Text and, when known, 789 NextExpectedMsgSeqNum,
    #: then close the connection.
    LOGOUT = "logout"
    #: Ignore the message silently; its sequence number is not consumed, so the next good
    #: message exposes the gap (wire notes §1.9: "cannot be parsed ... gets no response").
    DROP = "drop"
    #: Close the socket at once, sending nothing (no Logout).
    DISCONNECT = "disconnect"


class FixError(Exception):
    """A peer's bytes broke a FIX 4.2 / Drop Copy 4.0 rule; see the module docstring."""

    #: Outcome used when the constructor is not given one.
    default_outcome: Outcome = Outcome.DROP

    def __init__(
        self,
        text: str,
        *,
        outcome: Outcome | None = None,
        rule: str = "",
        tag: int | None = None,
        msg_type: str | None = None,
        msg_seq_num: int | None = None,
        next_expected_msg_seq_num: int | None = None,
        session_reject_reason: int | None = None,
        data: bytes = b"",
    ) -> None:
        super().__init__(text)
        self.text = text
        self.outcome = outcome if outcome is not None else self.default_outcome
        self.rule = rule
        #: The offending tag, when there is one (FIX 371 RefTagID).
        self.tag = tag
        #: 35 and 34 of the offending message, when they could be read (35=3 uses 34 as 45).
        self.msg_type = msg_type
        self.msg_seq_num = msg_seq_num
        #: 789 for a Logout, when the caller's context knew it.
        self.next_expected_msg_seq_num = next_expected_msg_seq_num
        #: The standard FIX 373 value describing the problem (CME's 35=3 does not send it).
        self.session_reject_reason = session_reject_reason
        #: For framing errors: the bytes that were skipped (possibly truncated to a sample).
        self.data = data

    def __repr__(self) -> str:
        extra = f", tag={self.tag}" if self.tag is not None else ""
        return (
            f"{type(self).__name__}({self.text!r}, outcome={self.outcome.name}"
            f", rule={self.rule!r}{extra})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FixError):
            return NotImplemented
        return type(self) is type(other) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((type(self), self._key()))

    def _key(self) -> tuple[object, ...]:
        return (
            self.text,
            self.outcome,
            self.rule,
            self.tag,
            self.msg_type,
            self.msg_seq_num,
            self.next_expected_msg_seq_num,
            self.session_reject_reason,
            self.data,
        )

    @property
    def reply_msg_type(self) -> str | None:
        """``"3"`` for SESSION_REJECT, ``"5"`` for LOGOUT, ``None`` when nothing is sent."""
        if self.outcome is Outcome.SESSION_REJECT:
            return "3"
        if self.outcome is Outcome.LOGOUT:
            return "5"
        return None

    def reply_fields(self) -> list[tuple[int, str]]:
        """Body fields of the answer, in CME's order (no header fields).

        Session Level Reject: 45 RefSeqNum (0 when the 34 could not be read), 58 Text --
        CME's 35=3 carries neither 371 nor 373 for session problems (wire notes §1.9).
        Logout: 58 Text, then 789 when known. DROP / DISCONNECT: nothing.
        """
        if self.outcome is Outcome.SESSION_REJECT:
            return [(45, str(self.msg_seq_num or 0)), (58, self.text)]
        if self.outcome is Outcome.LOGOUT:
            fields: list[tuple[int, str]] = [(58, self.text)]
            if self.next_expected_msg_seq_num is not None:
                fields.append((789, str(self.next_expected_msg_seq_num)))
            return fields
        return []


# --------------------------------------------------------------------------- framing


class FramingError(FixError):
    """The byte stream does not hold a well-framed FIX message here (8 / 9 / 10 layer)."""


class GarbageData(FramingError):
    """Bytes that are not the start of a message (``8=FIX``); skipped up to the next one."""


class BeginStringIncorrect(FramingError):
    """A framed message whose 8 is not ``FIX.4.2``."""

    default_outcome = Outcome.LOGOUT


class BodyLengthMissing(FramingError):
    """``8=FIX...`` is not followed by ``9=``."""


class BodyLengthIncorrect(FramingError):
    """9 is not an integer, or ``10=`` is not where it says."""


class MessageTooLarge(FramingError):
    """9 announces a message larger than the framer's limit."""


class ChecksumMissing(FramingError):
    """No ``10=`` trailer after the body."""


class ChecksumIncorrect(FramingError):
    """10 is not three digits, or not the sum of the bytes (AD-06: dropped)."""


class ChecksumGarbled(FramingError):
    """10 is non-numeric *and* longer than three characters (AD-06, D-137: disconnect)."""

    default_outcome = Outcome.DISCONNECT


class TruncatedMessage(FramingError):
    """The stream ended inside a message."""


# --------------------------------------------------------------------------- fields


class DecodeError(FixError):
    """A framed message whose fields cannot be read (bad tag, missing ``=``, bad data length,
    a non-printable byte in a normal field). Such a message is dropped (wire notes §1.9)."""


class FieldFormatError(FixError, ValueError):
    """A field's value does not have the type a typed getter asked for (FIX 373=6)."""

    default_outcome = Outcome.SESSION_REJECT


class GroupCountMismatch(FixError, ValueError):
    """A repeating group's NumInGroup does not match its entries (FIX 373=16)."""

    default_outcome = Outcome.SESSION_REJECT


# --------------------------------------------------------------------------- validation


class ValidationError(FixError):
    """A decoded message breaks a Drop Copy 4.0 session-layer rule (seed 003 tables)."""

    default_outcome = Outcome.LOGOUT


class NotLoggedOn(ValidationError):
    """A non-Logon message before logon (D-023)."""


class MsgTypeMissing(ValidationError):
    """35 is absent, empty, or not the third field."""

    default_outcome = Outcome.SESSION_REJECT


class UnknownMsgType(ValidationError):
    """35 is not a session message Drop Copy accepts (D-061, D-043, D-114)."""

    default_outcome = Outcome.SESSION_REJECT


class MissingTag(ValidationError):
    """A required tag is absent (seed "Missing Tag" rows)."""


class TagValueNull(ValidationError):
    """A tag is present with an empty value (seed "Tag Value Null" rows, AD-16)."""


class InvalidTagValue(ValidationError):
    """A tag's value is malformed or not allowed (seed "Invalid Tag Value" rows)."""


class InvalidLogon(ValidationError):
    """A Logon that is not acted upon (credentials, HeartBtInt, in-session rules, 122...)."""


class FixEncodeError(ValueError):
    """Our own caller asked the encoder for something that cannot go on the wire."""
