"""Events a FIXP session machine reports to the program driving it."""

from __future__ import annotations

from dataclasses import dataclass

from dropcopy.ilink3 import messages as m
from dropcopy.sbe.runtime import MessageBase


class Event:
    """Base of every event."""

    __slots__ = ()


# -- acceptor (exchange) side: decisions the gateway must take --------------------------------


@dataclass(frozen=True, slots=True)
class NegotiateReceived(Event):
    """A well-formed Negotiate arrived. Answer with ``accept_negotiate`` or ``reject_negotiate``
    after checking the keys (HMAC), the UUID history and the session's entitlement."""

    message: m.Negotiate500


@dataclass(frozen=True, slots=True)
class EstablishReceived(Event):
    """A well-formed Establish arrived. ``negotiated`` is False for intra-session binding (an
    Establish without Negotiate on this connection). Answer with ``accept_establish`` or
    ``reject_establish``."""

    message: m.Establish503
    negotiated: bool


@dataclass(frozen=True, slots=True)
class RetransmitRequested(Event):
    """A RetransmitRequest passed the session-level checks. ``uuid`` is the UUID whose messages
    are wanted (LastUUID, or the bound UUID when LastUUID is null); ``count`` 0 means "up to the
    latest". Answer with ``send_retransmission`` or ``reject_retransmit``."""

    message: m.RetransmitRequest508
    uuid: int
    from_seq_no: int
    count: int


@dataclass(frozen=True, slots=True)
class BusinessMessageOnBackup(Event):
    """A business message arrived on a backup connection (only session messages may, I-275)."""

    message: MessageBase


@dataclass(frozen=True, slots=True)
class NotAppliedSent(Event):
    """The customer's sequence jumped; NotApplied was sent and the message was not applied."""

    from_seq_no: int
    count: int


# -- initiator (customer) side ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Negotiated(Event):
    response: m.NegotiationResponse501


@dataclass(frozen=True, slots=True)
class NegotiationRejected(Event):
    reject: m.NegotiationReject502


@dataclass(frozen=True, slots=True)
class NegotiationTimeout(Event):
    """No answer to Negotiate within twice the KeepAliveInterval (I-107): retry or inquire."""


@dataclass(frozen=True, slots=True)
class Established(Event):
    """EstablishmentAck received (initiator) or sent (acceptor)."""

    ack: m.EstablishmentAck504


@dataclass(frozen=True, slots=True)
class EstablishmentRejected(Event):
    reject: m.EstablishmentReject505


@dataclass(frozen=True, slots=True)
class EstablishTimeout(Event):
    """No answer to Establish within KeepAliveInterval (I-121): send Establish again, once."""


@dataclass(frozen=True, slots=True)
class GapDetected(Event):
    """Messages ``from_seq_no`` .. ``from_seq_no + count - 1`` of ``uuid`` are missing."""

    uuid: int
    from_seq_no: int
    count: int


@dataclass(frozen=True, slots=True)
class RetransmissionStarted(Event):
    message: m.Retransmission509


@dataclass(frozen=True, slots=True)
class RetransmissionFinished(Event):
    """Every message of the answered RetransmitRequest for ``uuid`` has arrived."""

    uuid: int


@dataclass(frozen=True, slots=True)
class RetransmitRejected(Event):
    reject: m.RetransmitReject510


@dataclass(frozen=True, slots=True)
class NotAppliedReceived(Event):
    """The exchange did not apply ``from_seq_no`` .. (NotApplied513)."""

    message: m.NotApplied513


@dataclass(frozen=True, slots=True)
class PromotedToPrimary(Event):
    """A Sequence with FaultToleranceIndicator=1 and a non-zero NextSeqNo arrived on the backup
    connection: the backup gateway has taken over (I-276, I-296)."""

    next_seq_no: int


# -- both sides --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BusinessMessage(Event):
    """An in-sequence business message, delivered in order. ``possible_retransmission`` is the
    message's PossRetransFlag; ``uuid`` the stream it belongs to (a replay may be for an earlier
    UUID)."""

    message: MessageBase
    seq_no: int
    uuid: int
    possible_retransmission: bool = False


@dataclass(frozen=True, slots=True)
class MessageDisregarded(Event):
    """A framed message that could not be decoded was dropped without consuming a sequence
    number (I-256)."""

    reason: str


@dataclass(frozen=True, slots=True)
class KeepAliveWarning(Event):
    """One KeepAliveInterval passed with nothing received: a Sequence with
    KeepAliveIntervalLapsed=1 was sent (I-167, I-168)."""


@dataclass(frozen=True, slots=True)
class Terminated(Event):
    """The connection is over: close the transport once ``data_to_send()`` is flushed.

    ``by_peer`` tells who sent the first Terminate (or ``None`` when the peer vanished without
    one); ``code``/``reason`` are that Terminate's; ``violation`` is True when this side
    terminated because of the peer's protocol violation.
    """

    code: int
    reason: str
    by_peer: bool | None
    violation: bool = False
