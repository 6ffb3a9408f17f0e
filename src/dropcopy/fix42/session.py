"""The Drop Copy 4.0 FIX 4.2 session machine, sans-IO, for both roles.

Theory of operation
-------------------
One :class:`Fix42Session` drives one TCP connection of a Drop Copy 4.0 target session (seed
003), as the client consuming copies (``Role.INITIATOR``) or as the CME Drop Copy gateway
(``Role.ACCEPTOR``). Bytes go in through :meth:`~Fix42Session.receive_data` with the current
time; events come out; bytes to write collect in :meth:`~Fix42Session.data_to_send`. Time only
enters as ``now`` (int nanoseconds since the epoch), the connection's start included (the
constructor's ``now``): :meth:`~Fix42Session.next_deadline` says when
:meth:`~Fix42Session.on_timer` must be called. The machine never reads a clock, a socket or a
database, so :class:`dropcopy.aio.pump.MachineProtocol` drives it like the FIXP machine.

Input path. The stream is cut by :class:`~dropcopy.fix.framing.FixFramer`; a framing error
carries its outcome (AD-06: a bad checksum is dropped without consuming a number, a garbled one
closes the socket). The acceptor runs every message through
:func:`~dropcopy.fix.validation.validate_inbound` first, which owns seed 003's header, Logon,
Test Request and Resend Request tables: a Logout-class error forces a Logout (with 789 once
logged on), a reject-class error a Session Level Reject once the message's sequence number is
admitted. What remains is looked up in one transition table keyed by ``(role, state, MsgType)``
(:data:`TRANSITIONS`); a pair that is not in the table is a protocol error with its wire answer
(Session Level Reject once logged on, Logout before).

Sequence numbers, both directions (seed 003 "Sequence Number Management", AD-09..AD-11). A
message whose 34 is the expected one is processed and consumed; a higher one reveals a gap and
is answered with a Resend Request, while its content is still acted upon where that needs no
order (a Test Request is answered, a Resend Request served, a Logout honoured); a lower one is a
duplicate to ignore when it carries 43=Y, otherwise a forced Logout with 789. A Sequence Reset
in Reset mode ignores 34 and may only raise the expected number; a GapFill obeys the normal 34
checks. The initiator keeps every message above a gap, delivers 35=n strictly in order once the
gap is filled (D-049), asks for at most 2500 messages at a time, one request at a time (D-047),
and holds a Logout until its request is fulfilled (D-011).

Decisions that need the venue's stored state are asked for with events and answered by
methods: :class:`~dropcopy.fix42.events.LogonReceived` (keys, session, primary/backup) with
``accept_logon`` / ``reject_logon``; :class:`~dropcopy.fix42.events.ResendRequested` with
``answer_resend(now, first_retrievable=..., messages=...)`` / ``reject_resend``. In the answer
the venue gives the first sequence number still retrievable (the 48-hour window, AD-02) and the
journalled business messages (or a loader called only when the request is served); the machine
applies the window (``ResendWindowPolicy``, AD-01) and the 2500 limit in AD-13's order, gap
fills admin messages and unrecoverable numbers, and resends business messages with 43=Y and
122. The answer is written in batches (``SessionConfig.resend_batch``) between which real-time
messages go out (D-046); until the last batch is written the request is "being processed"
(AD-22): another Resend Request is rejected (D-044), an in-session Logon logged out (D-045).
"""

from __future__ import annotations

import datetime
import enum
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple

from dropcopy.fix import texts as fix_texts
from dropcopy.fix.codec import FieldValue, Message, decode, encode
from dropcopy.fix.encapsulation import encapsulate
from dropcopy.fix.errors import FixError, Outcome
from dropcopy.fix.framing import FixFramer, FramerLimits
from dropcopy.fix.secure_logon import SecretKey, access_key_id, sign_logon
from dropcopy.fix.validation import (
    ValidationContext,
    heart_bt_int,
    poss_dup,
    reset_seq_num_flag,
    validate_inbound,
)

from . import events as ev
from . import texts

__all__ = [
    "LOGON_TIMEOUT",
    "MAX_RESEND",
    "SECOND",
    "TRANSITIONS",
    "Fix42Session",
    "LocalProtocolError",
    "ResendWindowPolicy",
    "Role",
    "SentMessage",
    "SessionConfig",
    "State",
]

SECOND: Final = 1_000_000_000  # ns
#: Seed 003 "Session Logon": Logon within 60 s of the TCP connect, or disconnect (D-024).
LOGON_TIMEOUT: Final = 60 * SECOND
#: Seed 003 "Message Resend Request Validation": at most 2500 messages per request (D-058).
MAX_RESEND: Final = 2500
#: Seed 003 "Connectivity Management": recommended HeartBtInt (D-020).
DEFAULT_HEART_BT_INT: Final = 30
#: SenderCompID of every message from CME (wire notes §1.1), TargetCompID of the client's.
CME: Final = "CME"
#: TestReqID of this side's Test Requests (a real Drop Copy Test Request carries 112=TEST).
TEST_REQ_ID: Final = "TEST"


class Role(enum.Enum):
    INITIATOR = "initiator"  # the Drop Copy consumer (client system)
    ACCEPTOR = "acceptor"  # the CME Drop Copy gateway


class State(enum.Enum):
    CONNECTED = "connected"  # transport up, no Logon yet
    LOGON_SENT = "logon sent"  # initiator waits for the Logon ack
    LOGON_PENDING = "logon pending"  # acceptor: the venue decides on a Logon; input is held
    ACTIVE = "active"  # logged on
    RESET_SENT = "reset sent"  # initiator: in-session Logon (141=Y) sent, ack awaited
    RESET_PENDING = "reset pending"  # acceptor: the venue decides on an in-session Logon
    LOGOUT_SENT = "logout sent"  # this side's Logout is out; the peer's is awaited
    CLOSED = "closed"  # close the transport


#: States in which the session is logged on (heartbeats run, messages are sequenced).
LOGGED_ON: Final = frozenset(
    {State.ACTIVE, State.RESET_SENT, State.RESET_PENDING, State.LOGOUT_SENT}
)


class ResendWindowPolicy(enum.Enum):
    """What a Resend Request reaching before the first retrievable message gets (AD-01)."""

    #: Session Level Reject with 58 and 5024 (D-054, D-162, the worked example D-165..D-167).
    REJECT = "reject"
    #: Gap fill the unrecoverable part and resend the rest (D-053); all outside -> reject.
    PARTIAL = "partial"


class LocalProtocolError(Exception):
    """Misuse of this API (e.g. answering a Logon nobody sent, sending 35=n before logon)."""


class SentMessage(NamedTuple):
    """A business message as written: journal ``data`` under ``seq_num`` at ``sent_at``."""

    seq_num: int
    sent_at: int
    data: bytes


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """Configuration of one connection. Use :meth:`acceptor` / :meth:`initiator`."""

    role: Role
    #: Acceptor: the 57 TargetSubID clients must send -- ``"G"`` on a Convenience Gateway, the
    #: market segment ID on a Market Segment Gateway (D-099, D-105). Initiator: the 57 it sends.
    target_sub_id: str = "G"
    # --- acceptor
    #: Market segments that exist (AD-08: another existing segment in 57 -> reject, not Logout).
    market_segments: frozenset[str] | None = None
    #: SenderCompIDs this gateway serves (None: any well-formed one; the venue decides).
    sender_comp_ids: frozenset[str] | None = None
    #: The Logon must carry the secure logon credentials (AX-01).
    require_credentials: bool = True
    resend_window_policy: ResendWindowPolicy = ResendWindowPolicy.REJECT
    max_resend: int = MAX_RESEND
    #: Acceptor: disconnect without Logout when no Logon came within this time (D-024).
    #: Initiator: give up when the Logon ack does not come within this time.
    logon_timeout: int = LOGON_TIMEOUT
    #: Acceptor: resend answers are written this many messages at a time, real-time messages
    #: in between (D-046); the request counts as being processed until the last is written.
    resend_batch: int = 500
    #: Acceptor: messaging controls (D-138, AD-20): at most this many client messages per
    #: second (None: off). Each message over the limit gets a Session Level Reject; the
    #: ``rate_breaches_before_logout``-th second with a breach gets a Logout instead.
    inbound_rate_limit: int | None = None
    rate_breaches_before_logout: int = 3
    # --- initiator
    sender_comp_id: str = ""
    sender_sub_id: str = ""
    sender_location_id: str = "US,IL"
    access_key_id: str = ""
    secret_key: SecretKey | None = None
    heart_bt_int: int = DEFAULT_HEART_BT_INT
    application_system_name: str = "dropcopy"
    trading_system_version: str = "0.1"
    application_system_vendor: str = "dropcopy"
    #: Use Enhanced Resend Requests (16=0) when the gap fits in one request (D-036).
    enhanced_resend: bool = True
    #: After CME rejected a Resend Request without 5024, wait this long before asking again.
    resend_retry_delay: int = SECOND
    # --- both
    #: Receive-side heartbeat checks allow this fraction of the interval for the peer's
    #: heartbeat to cross the network (a Heartbeat sent exactly on time is not a silence).
    receive_grace: float = 0.1
    #: How long this side waits for the peer's Logout after sending its own.
    logout_timeout: int = 10 * SECOND
    framer_limits: FramerLimits | None = None

    @classmethod
    def acceptor(cls, target_sub_id: str = "G", **kw: object) -> SessionConfig:
        """A Drop Copy gateway connection: CGW (``"G"``) or MSGW (the segment ID)."""
        return cls(Role.ACCEPTOR, target_sub_id, **kw)  # type: ignore[arg-type]

    @classmethod
    def initiator(
        cls,
        *,
        sender_comp_id: str,
        sender_sub_id: str,
        access_key_id: str,
        secret_key: SecretKey | str,
        target_sub_id: str = "G",
        **kw: object,
    ) -> SessionConfig:
        """A Drop Copy consumer connection for target session ``sender_comp_id`` (7 chars)."""
        secret = secret_key if isinstance(secret_key, SecretKey) else SecretKey(secret_key)
        return cls(
            Role.INITIATOR,
            target_sub_id,
            sender_comp_id=sender_comp_id,
            sender_sub_id=sender_sub_id,
            access_key_id=access_key_id,
            secret_key=secret,
            **kw,  # type: ignore[arg-type]
        )


class _Admit(enum.Enum):
    IN_SEQUENCE = "in sequence"  # 34 == expected: process and consume
    HIGH = "high"  # 34 > expected: a gap (Resend Request); act on content, do not consume
    IGNORE = "ignore"  # a PossDup duplicate, or the session was just logged out


@dataclass(slots=True)
class _OwnResend:
    """Initiator: the Resend Request in flight."""

    msg_seq_num: int
    begin: int
    end: int  # 0 = Enhanced
    target: int  # the request is fulfilled once next_in > target


_EPOCH: Final = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_HEADER_TAGS: Final = frozenset({34, 369, 52, 43, 49, 50, 56, 57, 97, 122, 142, 143})
# Everything the client may send that is not a session message is rejected by validation.
_KEYS: Final = ("A", "0", "1", "2", "3", "4", "5", "n")
_OTHER: Final = "*"  # table key standing for any other MsgType

Handler = Callable[["Fix42Session", Message, int], None]
#: A loader the venue passes to ``answer_resend``: (first, last) -> stored wire messages.
Loader = Callable[[int, int], Iterable[bytes]]


def _int(value: bytes | None, digits: int = 9) -> int | None:
    if value is None or not value.isdigit() or len(value) > digits:
        return None
    return int(value)


def _text(value: bytes | None) -> str:
    return "" if value is None else value.decode("latin-1")


class Fix42Session:
    """One Drop Copy 4.0 FIX 4.2 connection; see the module docstring.

    ``now`` is the time the transport connected (the acceptor's 60 s Logon timer starts there).
    ``next_out`` / ``next_in`` restore persisted sequence numbers (the initiator's next
    outbound and next expected CME MsgSeqNum); the acceptor learns them in ``accept_logon``.
    Both stay readable (and current) for persistence.
    """

    def __init__(
        self, config: SessionConfig, now: int, *, next_out: int = 1, next_in: int = 1
    ) -> None:
        if next_out < 1 or next_in < 1:
            raise LocalProtocolError("sequence numbers start at 1")
        self.config = config
        self.role = config.role
        self.state = State.CONNECTED
        self.next_out = next_out
        self.next_in = next_in
        self.heart_bt_int = config.heart_bt_int
        self._framer = FixFramer(config.framer_limits)
        self._out: list[bytes] = []
        self._events: list[ev.Event] = []
        self.closed_event: ev.Closed | None = None
        # timing
        self._now = now
        self._connected_at = now
        self._last_sent = now
        self._last_received = now
        self._test_request_sent = False
        self._deadline: int | None = None  # logon / logout wait
        self._ts_second = -1
        self._ts_prefix = ""
        # 369 LastMsgSeqNumProcessed: 34 of the last message acted upon (D-115..D-119)
        self.last_processed = 0
        # the peer's identity, echoed in CME's header (D-100, D-101)
        self.peer_comp_id = ""
        self.peer_sub_id = ""
        self.peer_location_id = ""
        # acceptor
        self._pending_logon: Message | None = None
        self._held: list[Message] = []
        self._serving: ev.ResendRequested | None = None
        self._resend_queue: deque[bytes] = deque()
        self._gap_requested = False  # acceptor sent an Enhanced Resend Request
        # both: the highest MsgSeqNum seen from the peer
        self._highest_seen = 0
        # acceptor: messaging controls (AD-20)
        self._rate_second = -1
        self._rate_count = 0
        self._rate_breached = False
        self._rate_breaches = 0
        # initiator
        self._queued: dict[int, Message | int | None] = {}
        self._resend: _OwnResend | None = None
        self._resend_retry_at: int | None = None
        self._force_basic = False
        self._logout_held: str | None = None
        self._logon_sent_seq = 0

    # ================================================================================ plumbing

    @property
    def closed(self) -> bool:
        """True once the transport should be closed (after flushing ``data_to_send``)."""
        return self.state is State.CLOSED

    @property
    def resend_in_progress(self) -> bool:
        """Acceptor: a client Resend Request is being processed. Initiator: this side's Resend
        Request is not fulfilled yet (D-011: do not log out or fail over meanwhile)."""
        if self.role is Role.ACCEPTOR:
            return self._serving is not None
        return self._resend is not None

    @property
    def logout_held(self) -> bool:
        """Initiator: a Logout waits for the in-flight resend (D-011)."""
        return self._logout_held is not None

    def data_to_send(self) -> bytes:
        out = b"".join(self._out)
        self._out.clear()
        return out

    def _take_events(self) -> list[ev.Event]:
        out = self._events
        self._events = []
        return out

    def _timestamp(self, now: int) -> str:
        """52 SendingTime, UTCTimestamp with milliseconds (wire notes §1.1)."""
        second, ns = divmod(now, SECOND)
        if second != self._ts_second:
            moment = _EPOCH + datetime.timedelta(seconds=second)
            self._ts_prefix = moment.strftime("%Y%m%d-%H:%M:%S")
            self._ts_second = second
        return f"{self._ts_prefix}.{ns // 1_000_000:03d}"

    def _header(
        self, seq: int, now: int, poss_dup: bool, orig_sending_time: str | None
    ) -> list[tuple[int, FieldValue]]:
        h: list[tuple[int, FieldValue]]
        if self.role is Role.ACCEPTOR:
            # CME's order (wire notes §1.1, §1.7 sample): 34 369 52 [43] 49 50 56 57 [122] 143.
            # 50 returns the client's 57 and 57 the client's 50 (D-100, D-101).
            h = [(34, seq), (369, self.last_processed), (52, self._timestamp(now))]
            if poss_dup:
                h.append((43, "Y"))
            h.append((49, CME))
            h.append((50, self.config.target_sub_id))
            if self.peer_comp_id:
                h.append((56, self.peer_comp_id))
            if self.peer_sub_id:
                h.append((57, self.peer_sub_id))
            if orig_sending_time is not None:
                h.append((122, orig_sending_time))
            if self.peer_location_id:
                h.append((143, self.peer_location_id))
            return h
        cfg = self.config
        # client -> CME header (wire notes §1.2): 142 and 369 on every message
        h = [(34, seq)]
        if poss_dup:
            h.append((43, "Y"))
        h += [
            (49, cfg.sender_comp_id),
            (50, cfg.sender_sub_id),
            (52, self._timestamp(now)),
            (56, CME),
            (57, cfg.target_sub_id),
        ]
        if orig_sending_time is not None:
            h.append((122, orig_sending_time))
        h += [(142, cfg.sender_location_id), (369, self.last_processed)]
        return h

    def _send(
        self,
        msg_type: str,
        body: Sequence[tuple[int, FieldValue]],
        now: int,
        *,
        seq: int | None = None,
        poss_dup: bool = False,
        orig_sending_time: str | None = None,
    ) -> bytes:
        """Encode and queue a message; a new one takes ``next_out`` (``seq`` re-uses one)."""
        if seq is None:
            seq = self.next_out
            self.next_out += 1
        data = encode(msg_type, [*self._header(seq, now, poss_dup, orig_sending_time), *body])
        self._out.append(data)
        self._last_sent = now
        return data

    # =================================================================================== input

    def receive_data(self, data: bytes, now: int) -> list[ev.Event]:
        """Feed bytes read from the transport; returns the events they cause."""
        self._now = now
        if self.state is State.CLOSED:
            return []
        for item in self._framer.feed(data):
            if self.closed:
                break
            if isinstance(item, FixError):
                self._framing_error(item, now)
            else:
                self._receive(item, now)
        return self._take_events()

    def receive_message(self, msg: Message, now: int) -> list[ev.Event]:
        """Process one decoded message (``receive_data`` does this for each frame)."""
        self._now = now
        if self.state is not State.CLOSED:
            self._receive(msg, now)
        return self._take_events()

    def _framing_error(self, err: FixError, now: int) -> None:
        if err.outcome is Outcome.DISCONNECT:
            # seed 003 "Standard Trailer" (D-137, AD-06): close, send nothing
            self._close(ev.Closed(err.text, by_peer=False, violation=True, rule=err.rule))
        elif err.outcome is Outcome.LOGOUT:
            self._forced_logout(err.text, now, rule=err.rule or "notes-1.9-8")
        else:
            # D-062, AD-06 and wire notes §1.9: not acted upon, no sequence number consumed
            self._events.append(ev.MessageDropped(err.text, err.rule or "notes-1.9"))

    def _receive(self, msg: Message, now: int) -> None:
        self._last_received = now
        self._test_request_sent = False
        state = self.state
        if state is State.LOGON_PENDING or state is State.RESET_PENDING:
            self._held.append(msg)  # processed once the venue decided on the Logon
            return
        if self.role is Role.ACCEPTOR:
            limit = self.config.inbound_rate_limit
            if limit is not None and state in LOGGED_ON and self._over_rate(limit, now):
                self._rate_breach(msg, limit, now)
                return
            err = validate_inbound(msg, self._validation_context())
            if err is not None:
                if err.outcome is Outcome.LOGOUT:
                    if state is State.CONNECTED:
                        self._remember_peer(msg)
                    self._forced_logout(
                        err.text,
                        now,
                        rule=err.rule,
                        next_expected=err.next_expected_msg_seq_num,
                    )
                    return
                # Session Level Reject (D-043, D-061, D-104, D-114, D-156, D-157, D-060...)
                # a bad 34 was already a Logout-class error
                self._reject_message(msg, err.text, now, rule=err.rule)
                return
        mt = msg.msg_type or ""
        key = mt if mt in _KEYS else _OTHER
        handler = _TABLE.get((self.role, state, key))
        if handler is None:
            self._unexpected(msg, now)
        else:
            handler(self, msg, now)

    def _over_rate(self, limit: int, now: int) -> bool:
        second = now // SECOND
        if second != self._rate_second:
            self._rate_second, self._rate_count, self._rate_breached = second, 0, False
        self._rate_count += 1
        return self._rate_count > limit

    def _rate_breach(self, msg: Message, limit: int, now: int) -> None:
        """Seed 003 "Administrative Messages": messaging controls (D-138, AD-20). The message
        is not acted upon; its MsgSeqNum is consumed like any rejected message's."""
        if not self._rate_breached:
            self._rate_breached = True
            self._rate_breaches += 1
        if self._rate_breaches >= self.config.rate_breaches_before_logout:
            self._forced_logout(texts.MESSAGING_CONTROLS_LOGOUT, now, rule="AD-20")
            return
        self._reject_message(msg, texts.messaging_controls(limit), now, rule="AD-20")

    def _reject_message(self, msg: Message, text: str, now: int, *, rule: str) -> None:
        """Session Level Reject of a message not acted upon; its MsgSeqNum is consumed (or
        reveals a gap) like any other's."""
        taken = self._take(msg, now)
        if taken is None:
            return
        seq, admit = taken
        self.last_processed = seq
        self._send_reject(seq, text, now, rule=rule)
        self._after(admit, seq, now)

    def _validation_context(self) -> ValidationContext:
        cfg = self.config
        logged_on = self.state in LOGGED_ON
        return ValidationContext(
            cfg.target_sub_id,
            logged_on=logged_on,
            market_segments=cfg.market_segments,
            sender_comp_ids=frozenset({self.peer_comp_id}) if logged_on else cfg.sender_comp_ids,
            next_expected_msg_seq_num=self.next_in if logged_on else None,
            require_credentials=cfg.require_credentials,
        )

    def _remember_peer(self, msg: Message) -> None:
        """Take the client's 49/50/142 for the header of CME's answers (acceptor)."""
        self.peer_comp_id = _text(msg.get(49))
        self.peer_sub_id = _text(msg.get(50))
        self.peer_location_id = _text(msg.get(142))

    # ---------------------------------------------------------------------- sequence numbers

    def _seq(self, msg: Message, now: int) -> int | None:
        """34 of an inbound message; a missing or bad one logs out (D-120, D-126, D-132)."""
        seq = _int(msg.get(34))
        if seq is None or seq == 0:
            value = msg.get(34)
            text = (
                fix_texts.MSG_SEQ_NUM_MISSING
                if not value
                else fix_texts.msg_seq_num_invalid(_text(value))
            )
            self._forced_logout(text, now, rule="D-120")
            return None
        return seq

    def _take(self, msg: Message, now: int) -> tuple[int, _Admit] | None:
        """The message's MsgSeqNum and how it is admitted; None when it is not to be
        processed (a bad 34 already answered, or a message to ignore)."""
        seq = self._seq(msg, now)
        if seq is None:
            return None
        admit = self._admit(msg, seq, now)
        return None if admit is _Admit.IGNORE else (seq, admit)

    def _admit(self, msg: Message, seq: int, now: int) -> _Admit:
        """Seed 003 "Sequence Number Management" for a message whose 34 is ``seq``."""
        if seq == self.next_in:
            return _Admit.IN_SEQUENCE
        if seq > self.next_in:
            self._high(seq, now)
            return _Admit.HIGH
        if poss_dup(msg):
            # AD-10: a flagged duplicate is ignored (FIX 4.2), e.g. an Enhanced duplicate
            # Resend Request on the same 34 (wire notes §1.7)
            self._events.append(ev.PossDupIgnored(seq, msg.msg_type or ""))
            return _Admit.IGNORE
        # D-030, AD-10: lower than expected without 43=Y
        self._forced_logout(
            texts.msg_seq_num_too_low(self.next_in, seq),
            now,
            rule="D-030",
            next_expected=self.next_in,
        )
        return _Admit.IGNORE

    def _high(self, seq: int, now: int) -> None:
        """A message above the expected number: a gap (D-029)."""
        low = max(self.next_in, self._highest_seen + 1)
        if low <= seq - 1:
            self._events.append(ev.GapDetected(low, seq - 1))
        self._highest_seen = max(self._highest_seen, seq)
        if self.role is Role.ACCEPTOR and not self._gap_requested:
            # seed 003 "Sequence Number Management" (D-029): Drop Copy sends a Resend Request
            # from the expected number; Enhanced (16=0) so later messages need no new one
            self._gap_requested = True
            self._send_resend_request(self.next_in, 0, now)

    def _after(self, admit: _Admit, seq: int, now: int, item: Message | int | None = None) -> None:
        """Consume an in-sequence message; keep a high one (initiator) until the gap fills."""
        if admit is _Admit.IN_SEQUENCE:
            self._advance(seq + 1 if item is None or isinstance(item, Message) else item, now)
        elif admit is _Admit.HIGH and self.role is Role.INITIATOR:
            self._queued[seq] = item
            self._check_gap(now)

    def _advance(self, new_next: int, now: int) -> None:
        # an in-sequence GapFill may jump over numbers already kept above the gap
        jumped = new_next > self.next_in + 1
        if new_next > self.next_in:
            self.next_in = new_next
        if self.role is Role.ACCEPTOR:
            if self._gap_requested and self.next_in > self._highest_seen:
                self._gap_requested = False
            return
        self._drain(now, jumped)

    def _drain(self, now: int, jumped: bool = False) -> None:
        """Initiator: deliver what was kept above a gap, in order (D-049). Anything kept below
        the new expected number after a GapFill jumped over it is dropped (it was filled)."""
        queued = self._queued
        while self.next_in in queued:
            seq = self.next_in
            item = queued.pop(seq)
            if item is None:  # an admin message
                self.next_in = seq + 1
            elif isinstance(item, int):  # a GapFill kept above the gap
                self.next_in = max(item, seq + 1)
                jumped = True
            else:
                self._deliver(item, seq)
                self.next_in = seq + 1
        if jumped:
            for stale in [s for s in queued if s < self.next_in]:
                del queued[stale]
        resend = self._resend
        if resend is not None and self.next_in > resend.target:
            self._resend = None
            self._force_basic = False
            self._events.append(ev.ResendCompleted(resend.begin, resend.target))
            if self._logout_held is not None and self.state is State.ACTIVE:
                text, self._logout_held = self._logout_held, None
                self._send_logout(text, now)
                return
        self._check_gap(now)

    def _deliver(self, msg: Message, seq: int) -> None:
        self._events.append(ev.BusinessMessage(msg, seq, poss_dup(msg), msg.get(97) == b"Y"))

    def _check_gap(self, now: int) -> None:
        """Initiator: request the next part of a gap, one request at a time (D-047, D-058)."""
        if self._resend_retry_at is not None:
            if now < self._resend_retry_at:
                return
            self._resend_retry_at = None  # due: never left in the past as a deadline
        if (
            self._resend is not None
            or self._logout_held is not None
            or self.state not in (State.ACTIVE, State.RESET_SENT)
            or not self._queued
            or self.next_in in self._queued
        ):
            return
        begin = self.next_in
        last_missing = self._highest_seen - 1
        limit = self.config.max_resend
        if self.config.enhanced_resend and not self._force_basic and last_missing - begin < limit:
            # D-036: Enhanced (16=0); CME resends through its last sent message
            self._request(now, begin, 0, last_missing)
        else:
            end = min(last_missing, begin + limit - 1)
            self._request(now, begin, end, end)

    def _request(self, now: int, begin: int, end: int, target: int) -> None:
        seq = self._send_resend_request(begin, end, now)
        self._resend = _OwnResend(seq, begin, end, target)

    def _send_resend_request(self, begin: int, end: int, now: int) -> int:
        seq = self.next_out
        self._send("2", [(7, begin), (16, end)], now)
        self._events.append(ev.ResendRequestSent(seq, begin, end))
        return seq

    # =============================================================================== closing

    def _close(self, event: ev.Closed) -> None:
        self.state = State.CLOSED
        self.closed_event = event
        self._deadline = None
        self._held.clear()
        self._resend_queue.clear()
        self._pending_logon = None
        self._serving = None
        self._events.append(event)

    def _logout_fields(
        self, text: str | None, next_expected: int | None
    ) -> list[tuple[int, FieldValue]]:
        body: list[tuple[int, FieldValue]] = []
        if text:
            body.append((58, text))
        if next_expected is not None and self.role is Role.ACCEPTOR:
            body.append((789, next_expected))  # wire notes §1.5, D-150
        return body

    def _forced_logout(
        self, text: str, now: int, *, rule: str, next_expected: int | None = None
    ) -> None:
        """Logout for the peer's violation, then close at once (no confirmation awaited)."""
        if self.state is State.CLOSED:
            return
        if next_expected is None and self.state in LOGGED_ON:
            next_expected = self.next_in
        self._send("5", self._logout_fields(text, next_expected), now)
        self._close(
            ev.Closed(
                text,
                by_peer=False,
                logout_text=text,
                next_expected_msg_seq_num=next_expected if self.role is Role.ACCEPTOR else None,
                violation=True,
                rule=rule,
            )
        )

    def _send_logout(self, text: str, now: int) -> None:
        """A graceful Logout: wait ``logout_timeout`` for the peer's."""
        next_expected = self.next_in if self.role is Role.ACCEPTOR else None
        self._send("5", self._logout_fields(text, next_expected), now)
        self.state = State.LOGOUT_SENT
        self._deadline = now + self.config.logout_timeout

    def logout(self, now: int, text: str = "") -> list[ev.Event]:
        """Log out gracefully. The initiator holds the Logout while its Resend Request is in
        flight (D-011) and sends it when the resend completes (:class:`~.events.LogoutHeld`)."""
        self._now = now
        if self.state not in (State.ACTIVE, State.RESET_SENT):
            raise LocalProtocolError(f"cannot log out in state {self.state.value}")
        if self.role is Role.INITIATOR and self._resend is not None:
            self._logout_held = text
            self._events.append(ev.LogoutHeld(text))
            return self._take_events()
        self._send_logout(text, now)
        return self._take_events()

    def connection_lost(self, now: int) -> list[ev.Event]:
        """The transport closed under us."""
        self._now = now
        if self.state is not State.CLOSED:
            self._close(ev.Closed("connection lost", by_peer=None))
        return self._take_events()

    def _logout_received(self, msg: Message, now: int) -> None:
        """The peer's Logout: confirm it (unless it confirms ours) and close (wire notes §1.5)."""
        text = msg.get_str(58)
        nxt = _int(msg.get(789))
        if self.role is Role.INITIATOR and nxt is not None:
            # D-149: CME's 789 is the MsgSeqNum to log on with next time
            self.next_out = nxt
        seq = _int(msg.get(34))
        if self.state in LOGGED_ON and seq is not None:
            if self.state is not State.LOGOUT_SENT and seq < self.next_in:
                # a flagged duplicate is ignored (AD-10); otherwise "a client Logout whose 34 is
                # lower than expected makes CME log the client out" (wire notes §1.5)
                self._admit(msg, seq, now)
                return
            self.last_processed = seq
            if seq == self.next_in:
                self.next_in = seq + 1  # consumed: what both sides persist agrees
        if self.state is State.LOGOUT_SENT:
            self._close(ev.Closed("logout confirmed", False, text, nxt))
            return
        if self.state in LOGGED_ON:
            next_expected = self.next_in if self.role is Role.ACCEPTOR else None
            self._send("5", self._logout_fields(None, next_expected), now)
        self._close(ev.Closed("logout", True, text, nxt))

    # ================================================================================ timers

    def _receive_limit(self, intervals: int) -> int:
        hb = self.heart_bt_int * SECOND
        return self._last_received + intervals * hb + int(hb * self.config.receive_grace)

    def next_deadline(self) -> int | None:
        """When ``on_timer`` must next be called (ns since the epoch), or None."""
        state = self.state
        if state is State.CLOSED:
            return None
        candidates: list[int] = []
        if self._resend_queue:
            candidates.append(self._now)  # write the next batch of a resend answer at once
        if state is State.CONNECTED:
            if self.role is Role.ACCEPTOR:
                candidates.append(self._connected_at + self.config.logon_timeout)
        elif state is State.LOGON_SENT or state is State.LOGOUT_SENT:
            if self._deadline is not None:
                candidates.append(self._deadline)
        if state in LOGGED_ON and state is not State.LOGOUT_SENT:
            candidates.append(self._last_sent + self.heart_bt_int * SECOND)
            candidates.append(self._receive_limit(2 if self._test_request_sent else 1))
            if self._resend_retry_at is not None:
                candidates.append(self._resend_retry_at)
        return min(candidates) if candidates else None

    def on_timer(self, now: int) -> list[ev.Event]:
        self._now = now
        state = self.state
        if state is State.CLOSED:
            return []
        if self._resend_queue:
            self._release_resend(now)
        if state is State.CONNECTED:
            if self.role is Role.ACCEPTOR and now >= self._connected_at + self.config.logon_timeout:
                # seed 003 "Session Logon" (D-024, D-139): ungraceful disconnect, no Logout
                self._close(
                    ev.Closed("no Logon within 60 seconds", False, violation=True, rule="D-024")
                )
        elif state is State.LOGON_SENT:
            if self._deadline is not None and now >= self._deadline:
                self._close(ev.Closed("no Logon ack", by_peer=False))
        elif state is State.LOGOUT_SENT:
            if self._deadline is not None and now >= self._deadline:
                self._close(ev.Closed("no Logout confirmation", by_peer=False))
        elif state in LOGGED_ON:
            self._heartbeat_timers(now)
        return self._take_events()

    def _heartbeat_timers(self, now: int) -> None:
        if now >= self._receive_limit(2):
            # D-022, D-151, AD-05: Test Request unanswered -> Logout, then close
            self._forced_logout(texts.HEARTBEAT_TIMEOUT, now, rule="AD-05")
            return
        if not self._test_request_sent and now >= self._receive_limit(1):
            # D-021: one interval of silence -> Test Request
            self._test_request_sent = True
            self._send("1", [(112, TEST_REQ_ID)], now)
            self._events.append(ev.TestRequestSent(TEST_REQ_ID))
        if now >= self._last_sent + self.heart_bt_int * SECOND:
            self._send("0", [], now)
        if self._resend_retry_at is not None and now >= self._resend_retry_at:
            self._check_gap(now)

    # ========================================================================= both: handlers

    def _on_heartbeat(self, msg: Message, now: int) -> None:
        taken = self._take(msg, now)
        if taken is None:
            return
        seq, admit = taken
        self.last_processed = seq
        self._after(admit, seq, now)

    def _on_test_request(self, msg: Message, now: int) -> None:
        taken = self._take(msg, now)
        if taken is None:
            return
        seq, admit = taken
        # D-117, D-119: the Heartbeat carries 369 = the Test Request's 34, and echoes 112
        self.last_processed = seq
        test_req_id = msg.get(112)
        self._send("0", [(112, test_req_id)] if test_req_id else [], now)
        self._after(admit, seq, now)

    def _on_reject(self, msg: Message, now: int) -> None:
        taken = self._take(msg, now)
        if taken is None:
            return
        seq, admit = taken
        self.last_processed = seq
        ref = _int(msg.get(45))
        text = msg.get_str(58, "") or ""
        own = self._resend
        if self.role is Role.INITIATOR and own is not None and ref == own.msg_seq_num:
            self._resend_rejected(own, msg, text, now)
        else:
            self._events.append(ev.SessionRejectReceived(ref, text, msg))
        self._after(admit, seq, now)

    def _on_sequence_reset(self, msg: Message, now: int) -> None:
        new = _int(msg.get(36))
        if new is None or new == 0:
            # the acceptor's validation already rejected a bad 36 (reject-class)
            self._forced_logout(fix_texts.NEW_SEQ_NO_INVALID, now, rule="FIX-4.2-36")
            return
        if msg.get(123) != b"Y":
            # Reset mode (AD-11): 34 is ignored; 36 may only raise the expected number
            if new < self.next_in:
                self._forced_logout(texts.new_seq_no_too_low(self.next_in, new), now, rule="AD-11")
                return
            self._events.append(ev.SequenceResetReceived(_int(msg.get(34)) or 0, new, False))
            if self.role is Role.INITIATOR:
                for stale in [s for s in self._queued if s < new]:
                    del self._queued[stale]
            self._advance(new, now)  # D-031
            return
        taken = self._take(msg, now)
        if taken is None:
            return
        seq, admit = taken
        if new <= seq:
            # AD-11, D-039: a GapFill's 36 must be above its 34 and not below the expected
            self._forced_logout(texts.new_seq_no_too_low(seq + 1, new), now, rule="D-039")
            return
        self.last_processed = seq
        if admit is _Admit.IN_SEQUENCE:
            self._events.append(ev.SequenceResetReceived(seq, new, True))  # D-038
        self._after(admit, seq, now, new)

    def _on_logout_confirmed(self, msg: Message, now: int) -> None:
        self._logout_received(msg, now)

    def _unexpected(self, msg: Message, now: int) -> None:
        """A (role, state, MsgType) the table has no transition for."""
        mt = msg.msg_type or ""
        state = self.state
        if state not in LOGGED_ON:
            # before logon: Logout (D-023 for the acceptor; the initiator mirrors it)
            if self.role is Role.ACCEPTOR and state is State.CONNECTED:
                self._remember_peer(msg)
            self._forced_logout(texts.unexpected_message(mt, state.value), now, rule="D-023")
            return
        # D-061: an invalid message type -> Session Level Reject
        self._reject_message(msg, fix_texts.unknown_msg_type(mt), now, rule="D-061")

    def _send_reject(
        self,
        ref_seq: int,
        text: str,
        now: int,
        *,
        rule: str,
        start_sequence_number: int | None = None,
    ) -> None:
        # CME's 35=3: 45 RefSeqNum and 58 Text, no 371/373 (wire notes §1.9); 5024 (D-055)
        body: list[tuple[int, FieldValue]] = [(45, ref_seq), (58, text)]
        if start_sequence_number is not None:
            body.append((5024, start_sequence_number))
        self._send("3", body, now)
        self._events.append(ev.SessionRejectSent(ref_seq, text, rule))

    # ============================================================================== acceptor

    def _a_logon(self, msg: Message, now: int) -> None:
        """A Logon that passed validation: ask the venue (keys, session, primary/backup)."""
        self._remember_peer(msg)
        seq = _int(msg.get(34))
        assert seq is not None  # validated (D-142)
        hb = heart_bt_int(msg)
        assert hb is not None  # validated (D-141, D-145, D-152)
        self._pending_logon = msg
        self.state = State.LOGON_PENDING
        self._events.append(
            ev.LogonReceived(
                msg,
                self.peer_comp_id,
                self.peer_comp_id[:6],
                access_key_id(msg),
                hb,
                seq,
                reset_seq_num_flag(msg),
                in_session=False,
            )
        )

    def _a_in_session_logon(self, msg: Message, now: int) -> None:
        """An in-session Logon (validation checked 34=1 and 141=Y, D-027)."""
        if self._serving is not None:
            # D-045, AD-22: while a resend request is being processed -> Logout
            self._forced_logout(texts.IN_SESSION_LOGON_DURING_RESEND, now, rule="D-045")
            return
        hb = heart_bt_int(msg)
        assert hb is not None
        self._pending_logon = msg
        self.state = State.RESET_PENDING
        self._events.append(
            ev.LogonReceived(
                msg,
                self.peer_comp_id,
                self.peer_comp_id[:6],
                access_key_id(msg),
                hb,
                1,
                True,
                in_session=True,
            )
        )

    def accept_logon(
        self,
        now: int,
        *,
        next_seq_num: int = 1,
        expected_seq_num: int = 1,
        beginning_of_week: bool = False,
    ) -> list[ev.Event]:
        """Accept the pending Logon after the venue's checks.

        ``next_seq_num`` is CME's next outbound MsgSeqNum for this target stream and
        ``expected_seq_num`` the client's next expected one (1 at the beginning of the week,
        D-025; the last Logout's 789 mid-week, D-026). The machine then applies the sequence
        rules: 141=Y (not in-session) or a 34 other than expected -> Logout with 789 (AD-09,
        AD-15); otherwise the Logon ack. An in-session Logon resets both sides to 1 (D-032) and
        ignores the numbers given. Held messages are processed afterwards.
        """
        self._now = now
        if self.state is State.CLOSED:
            return []  # the connection went away while the venue decided
        msg = self._pending_logon
        if msg is None or self.state not in (State.LOGON_PENDING, State.RESET_PENDING):
            raise LocalProtocolError("no Logon is waiting for a decision")
        if beginning_of_week and expected_seq_num != 1:
            raise LocalProtocolError("the beginning-of-week Logon expects 34=1 (D-025)")
        if next_seq_num < 1 or expected_seq_num < 1:
            raise LocalProtocolError("sequence numbers start at 1")
        self._pending_logon = None
        seq = _int(msg.get(34))
        hb = heart_bt_int(msg)
        assert seq is not None and hb is not None
        self.last_processed = seq  # D-115: 369 of the answer is the Logon's 34
        in_session = self.state is State.RESET_PENDING
        if in_session:
            # D-032, D-033: both sides restart at 1; earlier CME messages are unrecoverable
            self.next_out = 1
            self.next_in = 1
            self._highest_seen = 0
            self._gap_requested = False
            self._events.append(ev.SequenceNumbersReset(by_peer=True))
        else:
            self.next_out = next_seq_num
            self.next_in = expected_seq_num
            rule = "D-025" if beginning_of_week else "D-026"
            if reset_seq_num_flag(msg):
                # D-025, AD-15: 141=Y is only for the in-session Logon
                self.state = State.CONNECTED
                self._forced_logout(
                    texts.RESET_FLAG_NOT_ALLOWED, now, rule=rule, next_expected=expected_seq_num
                )
                return self._take_events()
            if seq != expected_seq_num:
                # D-025, D-026, D-150, AD-09: wrong 34 -> Logout carrying 789, no Resend Request
                text = (
                    texts.msg_seq_num_too_low(expected_seq_num, seq)
                    if seq < expected_seq_num
                    else texts.msg_seq_num_too_high(expected_seq_num, seq)
                )
                self.state = State.CONNECTED
                self._forced_logout(text, now, rule=rule, next_expected=expected_seq_num)
                return self._take_events()
        self.state = State.ACTIVE
        self.heart_bt_int = hb
        self.last_processed = seq  # D-115: the ack's 369 is the Logon's 34
        self.next_in = seq + 1
        body: list[tuple[int, FieldValue]] = [(108, hb)]
        flag = msg.get(141)
        if in_session or flag == b"N":
            body.append((141, "Y" if in_session else "N"))  # echoed (wire notes §1.4)
        for tag in (1603, 1604, 1605):
            value = msg.get(tag)
            if value:
                body.append((tag, value))
        ack_seq = self.next_out
        self._send("A", body, now)
        self._last_received = now
        self._test_request_sent = False
        self._events.append(ev.LoggedOn(hb, ack_seq, in_session, msg))
        self._process_held(now)
        return self._take_events()

    def reject_logon(
        self,
        now: int,
        text: str = texts.INVALID_LOGON,
        *,
        next_expected_msg_seq_num: int | None = None,
        next_seq_num: int | None = None,
        rule: str = "AX-01",
    ) -> list[ev.Event]:
        """Refuse the pending Logon: Logout with ``text`` (e.g. ``Invalid logon. Logout
        forced.`` for a bad signature, AX-01; ``Backup session not allowed. Logout forced.``
        with the primary's 789, D-064) and close. ``next_seq_num``: CME's MsgSeqNum for it."""
        self._now = now
        if self.state is State.CLOSED:
            return []
        if self._pending_logon is None or self.state not in (
            State.LOGON_PENDING,
            State.RESET_PENDING,
        ):
            raise LocalProtocolError("no Logon is waiting for a decision")
        seq = _int(self._pending_logon.get(34))
        if seq is not None:
            self.last_processed = seq  # D-119: 369 is the 34 of the message answered
        self._pending_logon = None
        if next_seq_num is not None:
            self.next_out = next_seq_num
        if self.state is State.RESET_PENDING and next_expected_msg_seq_num is None:
            next_expected_msg_seq_num = self.next_in
        self.state = State.CONNECTED
        self._forced_logout(text, now, rule=rule, next_expected=next_expected_msg_seq_num)
        return self._take_events()

    def _process_held(self, now: int) -> None:
        held, self._held = self._held, []
        for msg in held:
            if self.state is State.CLOSED:
                break
            self._receive(msg, now)

    def _a_resend_request(self, msg: Message, now: int) -> None:
        """A client Resend Request (seed 003 "Message Resend Request Validation")."""
        seq = _int(msg.get(34))
        assert seq is not None
        admit = self._admit(msg, seq, now)  # AD-10/AD-22: an Enhanced duplicate is ignored
        if admit is _Admit.IGNORE:
            return
        self.last_processed = seq
        if self._serving is not None:
            # D-044, AD-22: one at a time; a new one during processing is rejected
            self._send_reject(seq, texts.RESEND_IN_PROGRESS, now, rule="D-044")
            self._after(admit, seq, now)
            return
        begin = int(msg[7])  # validated: an integer > 0 (D-060)
        requested_end = int(msg[16])  # validated: an integer >= 0
        last_sent = self.next_out - 1
        if begin > last_sent:
            # D-059, AD-12: a request for messages that do not exist -> forced Logout
            self._after(admit, seq, now)
            self._forced_logout(texts.begin_seq_no_too_high(begin, last_sent), now, rule="D-059")
            return
        if requested_end != 0 and requested_end < begin:
            self._send_reject(
                seq, texts.end_seq_no_below_begin(begin, requested_end), now, rule="notes-1.9-16"
            )
            self._after(admit, seq, now)
            return
        # D-035: Basic (explicit 16) and Enhanced (16=0); 16 beyond the last sent = 0 (AD-12)
        end = last_sent if requested_end == 0 or requested_end > last_sent else requested_end
        request = ev.ResendRequested(msg, seq, begin, end, requested_end)
        self._serving = request
        self._after(admit, seq, now)
        self._events.append(request)

    def answer_resend(
        self,
        now: int,
        *,
        messages: Iterable[bytes] | Loader,
        first_retrievable: int | None = None,
    ) -> list[ev.Event]:
        """Answer the pending :class:`~.events.ResendRequested`.

        ``first_retrievable``: the lowest MsgSeqNum still retrievable (sending time within
        max(now - 48 h, the week's start-up), or the next number to be sent when none is --
        AD-02); None means everything is. ``messages``: the journalled business messages of
        the range, as written (wire bytes), or a loader ``(first, last) -> messages`` that is
        called only when the request is served. Checks in AD-13's order: the window (reject
        with 5024, or gap fill under ``PARTIAL``), then the 2500 limit; then gap fills for
        every number without a stored message (admin messages, D-159) and the stored ones
        resent with 43=Y, 122 and their original 34 (D-169).
        """
        self._now = now
        if self.state is State.CLOSED:
            return []  # the connection went away while the journal was read
        request = self._serving
        if request is None:
            raise LocalProtocolError("no Resend Request is being answered")
        begin, end = request.begin_seq_no, request.end_seq_no
        first = begin if first_retrievable is None else max(first_retrievable, 1)
        serve_from = begin
        if begin < first:
            policy = self.config.resend_window_policy
            if policy is ResendWindowPolicy.REJECT or end < first:
                # D-054, D-055, D-162, D-165..D-167, AD-01: reject with 5024
                self._serving = None
                self._send_reject(
                    request.ref_seq_num,
                    texts.RESEND_REQUEST_NOT_FULFILLED,
                    now,
                    rule="D-054",
                    start_sequence_number=first,
                )
                return self._take_events()
            serve_from = first  # D-053 (PARTIAL): gap fill begin .. first - 1
        if request.count > self.config.max_resend:
            # D-058, AD-13: over the limit -> Session Level Reject
            self._serving = None
            self._send_reject(
                request.ref_seq_num,
                texts.resend_limit_exceeded(self.config.max_resend),
                now,
                rule="D-058",
            )
            return self._take_events()
        stored: dict[int, Message] = {}
        loaded = messages(serve_from, end) if callable(messages) else messages
        for raw in loaded:
            try:
                stored_msg = decode(raw)
            except FixError as exc:
                raise LocalProtocolError(f"a stored message does not decode: {exc.text}") from None
            seq = _int(stored_msg.get(34))
            if seq is not None and serve_from <= seq <= end:
                stored[seq] = stored_msg
        frames: list[bytes] = []
        stamp = self._timestamp(now)
        gap_from: int | None = None
        for seq in range(begin, end + 1):
            original = stored.get(seq)
            if original is None:
                if gap_from is None:
                    gap_from = seq
                continue
            if gap_from is not None:
                frames.append(self._gap_fill_frame(gap_from, seq, now, stamp))
                gap_from = None
            frames.append(self._resend_frame(original, now, stamp))
        if gap_from is not None:
            frames.append(self._gap_fill_frame(gap_from, end + 1, now, stamp))
        self._resend_queue.extend(frames)
        self._release_resend(now)
        return self._take_events()

    def _gap_fill_frame(self, seq: int, new_seq: int, now: int, stamp: str) -> bytes:
        # D-159: 43=Y and 123=Y; 122 on every message answering a Resend Request (notes §1.1)
        return encode(
            "4",
            [*self._header(seq, now, True, stamp), (123, "Y"), (36, new_seq)],
        )

    def _resend_frame(self, original: Message, now: int, stamp: str) -> bytes:
        """A stored message again: same 34 and body, 52 now, 43=Y, 122 = its first 52."""
        fields = original.body_fields  # from 35
        msg_type = fields[0][1]
        get = original.get
        header: list[tuple[int, FieldValue]] = [
            (34, get(34) or b"0"),
            (369, self.last_processed),
            (52, self._timestamp(now)),
            (43, "Y"),
        ]
        for tag in (49, 50, 56, 57):
            value = get(tag)
            if value is not None:
                header.append((tag, value))
        header.append((122, get(52) or stamp))
        for tag in (143, 97):
            value = get(tag)
            if value is not None:
                header.append((tag, value))
        body = [(t, v) for t, v in fields[1:] if t not in _HEADER_TAGS]
        return encode(msg_type, [*header, *body])

    def _release_resend(self, now: int) -> None:
        queue = self._resend_queue
        for _ in range(min(len(queue), max(self.config.resend_batch, 1))):
            self._out.append(queue.popleft())
        self._last_sent = now
        if not queue and self._serving is not None:
            request, self._serving = self._serving, None
            self._events.append(ev.ResendCompleted(request.begin_seq_no, request.end_seq_no))

    def reject_resend(
        self,
        now: int,
        text: str = texts.RESEND_REQUEST_NOT_FULFILLED,
        *,
        start_sequence_number: int | None = None,
        rule: str = "D-164",
    ) -> list[ev.Event]:
        """Refuse the pending Resend Request with a Session Level Reject (e.g. after a
        failover the journal cannot serve, D-164); ``start_sequence_number`` adds 5024."""
        self._now = now
        if self.state is State.CLOSED:
            return []
        request = self._serving
        if request is None:
            raise LocalProtocolError("no Resend Request is being answered")
        self._serving = None
        self._send_reject(
            request.ref_seq_num,
            text,
            now,
            rule=rule,
            start_sequence_number=start_sequence_number,
        )
        return self._take_events()

    def send_encapsulated(
        self, now: int, inner: bytes | Message, *, poss_resend: bool = False
    ) -> SentMessage:
        """Send a copy: the 35=n with ``inner`` (a complete FIX message) in ``<RTRF>`` (D-034).
        It takes the next MsgSeqNum; journal the returned message before the bytes leave."""
        self._now = now
        self._check_can_send()
        seq = self.next_out
        header = self._header(seq, now, False, None)
        if poss_resend:
            header.append((97, "Y"))  # D-066..D-068: possible resend
        data = encapsulate(inner, header)
        self.next_out += 1
        self._out.append(data)
        self._last_sent = now
        return SentMessage(seq, now, data)

    def send_application(
        self,
        now: int,
        msg_type: str,
        fields: Iterable[tuple[int, FieldValue]],
        *,
        poss_resend: bool = False,
    ) -> SentMessage:
        """Send any other business message with CME's header (journalled like 35=n)."""
        self._now = now
        self._check_can_send()
        if msg_type in _KEYS[:-1]:
            raise LocalProtocolError(f"35={msg_type} is a session message")
        seq = self.next_out
        extra: list[tuple[int, FieldValue]] = [(97, "Y")] if poss_resend else []
        data = self._send(msg_type, [*extra, *fields], now)
        return SentMessage(seq, now, data)

    def _check_can_send(self) -> None:
        if self.role is not Role.ACCEPTOR:
            raise LocalProtocolError("only the Drop Copy gateway sends business messages")
        if self.state not in LOGGED_ON:
            raise LocalProtocolError(f"cannot send business messages in state {self.state.value}")

    # ============================================================================= initiator

    def _logon_fields(self, seq: int, now: int, reset: bool) -> list[tuple[int, FieldValue]]:
        cfg = self.config
        if cfg.secret_key is None:
            raise LocalProtocolError("the initiator needs a secret key (AX-01)")
        fields = self._header(seq, now, False, None)
        fields.append((108, self.heart_bt_int))
        if reset:
            fields.append((141, "Y"))
        fields += [
            (1603, cfg.application_system_name),
            (1604, cfg.trading_system_version),
            (1605, cfg.application_system_vendor),
        ]
        return sign_logon(fields, cfg.access_key_id, cfg.secret_key)

    def logon(self, now: int) -> list[ev.Event]:
        """Send the signed Logon (AX-01) with MsgSeqNum ``next_out``: 1 at the beginning of the
        week (D-025), the next expected number mid-week (D-026)."""
        self._now = now
        if self.role is not Role.INITIATOR or self.state is not State.CONNECTED:
            raise LocalProtocolError(f"cannot log on in state {self.state.value}")
        if not 5 <= self.heart_bt_int <= 60:
            raise LocalProtocolError("HeartBtInt must be 5..60 seconds (D-019)")
        seq = self.next_out
        self._out.append(encode("A", self._logon_fields(seq, now, False)))
        self._logon_sent_seq = seq
        self.next_out += 1
        self._last_sent = now
        self.state = State.LOGON_SENT
        self._deadline = now + self.config.logon_timeout
        return self._take_events()

    def reset_sequence_numbers(self, now: int) -> list[ev.Event]:
        """In-session Logon (141=Y, 34=1) resetting both sides (D-027, D-032). Refused while
        this side's Resend Request is in flight (D-045)."""
        self._now = now
        if self.role is not Role.INITIATOR or self.state is not State.ACTIVE:
            raise LocalProtocolError(f"cannot reset in state {self.state.value}")
        if self._resend is not None:
            raise LocalProtocolError("a Resend Request is in flight (D-045)")
        self._out.append(encode("A", self._logon_fields(1, now, True)))
        self.next_out = 2
        self._last_sent = now
        self.state = State.RESET_SENT
        return self._take_events()

    def request_resend(self, now: int, begin_seq_no: int, end_seq_no: int = 0) -> list[ev.Event]:
        """Ask CME for messages by hand (at most ``max_resend``, one request at a time)."""
        self._now = now
        if self.role is not Role.INITIATOR or self.state not in (State.ACTIVE, State.RESET_SENT):
            raise LocalProtocolError(f"cannot request a resend in state {self.state.value}")
        if self._resend is not None:
            raise LocalProtocolError("a Resend Request is already in flight (D-047)")
        if begin_seq_no < 1 or (end_seq_no and end_seq_no < begin_seq_no):
            raise LocalProtocolError("invalid range")
        if end_seq_no and end_seq_no - begin_seq_no + 1 > self.config.max_resend:
            raise LocalProtocolError(f"at most {self.config.max_resend} messages (D-058)")
        target = end_seq_no if end_seq_no else max(begin_seq_no, self._highest_seen - 1)
        self._request(now, begin_seq_no, end_seq_no, target)
        return self._take_events()

    def _i_logon_ack(self, msg: Message, now: int) -> None:
        seq = self._seq(msg, now)
        if seq is None:
            return
        in_session = self.state is State.RESET_SENT
        if in_session:
            # D-032: CME's ack of the in-session Logon starts again at 1
            self.next_in = 1
            self._queued.clear()
            self._highest_seen = 0
            self._resend = None
            self._events.append(ev.SequenceNumbersReset(by_peer=False))
        admit = self._admit(msg, seq, now)
        if admit is _Admit.IGNORE:
            return
        self.state = State.ACTIVE
        self._deadline = None
        self.last_processed = seq
        hb = heart_bt_int(msg)
        self._events.append(
            ev.LoggedOn(hb if hb is not None else self.heart_bt_int, seq, in_session, msg)
        )
        self._after(admit, seq, now)

    def _i_resend_request(self, msg: Message, now: int) -> None:
        """CME asks for this side's messages: Sequence Reset-GapFill (D-037, D-042)."""
        taken = self._take(msg, now)
        if taken is None:
            return
        seq, admit = taken
        self.last_processed = seq
        begin = _int(msg.get(7))
        if begin is not None and 0 < begin < self.next_out:
            stamp = self._timestamp(now)
            self._send(
                "4",
                [(123, "Y"), (36, self.next_out)],
                now,
                seq=begin,
                poss_dup=True,
                orig_sending_time=stamp,
            )
            self._events.append(ev.GapFillSent(begin, self.next_out))
        self._after(admit, seq, now)

    def _i_business(self, msg: Message, now: int) -> None:
        taken = self._take(msg, now)
        if taken is None:
            return
        seq, admit = taken
        self.last_processed = seq
        if admit is _Admit.IN_SEQUENCE:
            self._deliver(msg, seq)
        self._after(admit, seq, now, msg)

    def _resend_rejected(self, own: _OwnResend, msg: Message, text: str, now: int) -> None:
        self._resend = None
        start = _int(msg.get(5024))
        self._events.append(ev.ResendRejected(own.msg_seq_num, text, start))
        if start is not None and start > self.next_in:
            # D-055: the messages before 5024 are beyond the window; move past them
            self._events.append(ev.MessagesUnrecoverable(self.next_in, start - 1))
            for stale in [s for s in self._queued if s < start]:
                del self._queued[stale]
            self.next_in = start
            self._drain(now)
            return
        # Without 5024 the cause is not machine-readable: the Enhanced range may have grown over
        # 2500, or CME may still be writing an earlier answer (D-044) that fills the gap anyway.
        # Ask again, with an explicit range, after a pause (D-047: do not trigger resends).
        self._force_basic = True
        self._resend_retry_at = now + self.config.resend_retry_delay


# ================================================================================ the table

_A, _I = Role.ACCEPTOR, Role.INITIATOR
_S = State
_TABLE: dict[tuple[Role, State, str], Handler] = {}


def _on(role: Role, states: Sequence[State], keys: Sequence[str], handler: Handler) -> None:
    for st in states:
        for key in keys:
            _TABLE[(role, st, key)] = handler


_ACTIVE = [_S.ACTIVE, _S.RESET_SENT, _S.LOGOUT_SENT]
_SHARED: list[tuple[str, Handler]] = [
    ("0", Fix42Session._on_heartbeat),
    ("1", Fix42Session._on_test_request),
    ("3", Fix42Session._on_reject),
    ("4", Fix42Session._on_sequence_reset),
]
# acceptor (the Drop Copy gateway); validation has already rejected every other MsgType
_on(_A, [_S.CONNECTED], ["A"], Fix42Session._a_logon)
_on(_A, [_S.ACTIVE], ["A"], Fix42Session._a_in_session_logon)
_on(_A, [_S.ACTIVE, _S.LOGOUT_SENT], ["2"], Fix42Session._a_resend_request)
_on(_A, [_S.ACTIVE], ["5"], Fix42Session._logout_received)
_on(_A, [_S.LOGOUT_SENT], ["5"], Fix42Session._on_logout_confirmed)
for _key, _handler in _SHARED:
    _on(_A, [_S.ACTIVE, _S.LOGOUT_SENT], [_key], _handler)
# initiator (the Drop Copy consumer)
_on(_I, [_S.LOGON_SENT, _S.RESET_SENT], ["A"], Fix42Session._i_logon_ack)
_on(_I, [_S.LOGON_SENT, _S.ACTIVE, _S.RESET_SENT], ["5"], Fix42Session._logout_received)
_on(_I, [_S.LOGOUT_SENT], ["5"], Fix42Session._on_logout_confirmed)
_on(_I, _ACTIVE, ["2"], Fix42Session._i_resend_request)
_on(_I, _ACTIVE, ["n"], Fix42Session._i_business)
for _key, _handler in _SHARED:
    _on(_I, _ACTIVE, [_key], _handler)

#: The transition table, read-only, for documentation and tests: ``(role, state, MsgType)``
#: -> handler; ``"*"`` stands for any other MsgType. A missing pair is a protocol error.
TRANSITIONS: Final = dict(_TABLE)
