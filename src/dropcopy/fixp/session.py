"""The iLink 3 FIXP session machine, sans-IO, for both roles.

Theory of operation
-------------------
One :class:`FixpSession` drives one TCP connection of an iLink 3 FIXP session (seed 004), as
the customer (``Role.INITIATOR``) or as the Market Segment Gateway (``Role.ACCEPTOR``). Bytes go
in through :meth:`receive_data` with the current time; events come out; bytes to write collect
in :meth:`data_to_send`. Time only enters as ``now`` (int nanoseconds since the epoch):
:meth:`next_deadline` says when :meth:`on_timer` must be called. The machine never reads a
clock, a socket or a database.

States follow the seed's stages — Initialization (Negotiate), Binding (Establish), Transferring,
Unbinding (Terminate). Every received message is looked up in one transition table keyed by
``(role, state, template)``; what is not in the table is a protocol violation answered on the
wire with the code decision AI-24/AI-25 gives (Terminate 2 before Negotiate, 3 before
Establish, 4/6 when already negotiated/established, 5/7 while one is in progress, 23 for a
message only the other role may send).

Decisions that need the venue's stored state — the secret key behind an AccessKeyID, the UUIDs a
customer used this week, the journal — are asked for with an event (``NegotiateReceived``,
``EstablishReceived``, ``RetransmitRequested``) and answered by calling ``accept_*`` /
``reject_*`` / ``send_retransmission``; until then a second Negotiate/Establish/RetransmitRequest
is "in progress". Field checks (empty or non-printable strings, null integers, KeepAliveInterval
range, a RequestTimestamp more than 5 s from ``now``) and all sequence-number rules are the
machine's own.

Sequence numbers: the customer → exchange flow is idempotent (a gap gets NotApplied and the
message is not applied, decision AI-05); the exchange → customer flow is recoverable (the
initiator detects gaps, asks for retransmission in batches of at most 2500, one at a time, and
delivers business messages strictly in order, queueing real-time ones meanwhile).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dropcopy.ilink3 import fields, framing, signing
from dropcopy.ilink3 import messages as m
from dropcopy.ilink3.codec import Decoder
from dropcopy.ilink3.errors import DecodingError, InvalidSOFH
from dropcopy.sbe.runtime import MessageBase

from . import events as ev
from .codes import TERMINATE_REASONS, RejectCode, RetransmitRejectCode, TerminateCode

MS = 1_000_000  # ns
SECOND = 1_000_000_000
#: Seed 004 "Session Establishment": Establish within 60 s of NegotiationResponse, else code 1.
ESTABLISH_TIMEOUT = 60 * SECOND
#: Decision AI-23: RequestTimestamp within ±5 s of the venue's time.
TIMESTAMP_TOLERANCE = 5 * SECOND
#: Decision AI-01: KeepAliveInterval is in ms on the wire, 5000..60000.
MIN_KEEP_ALIVE_MS = 5_000
MAX_KEEP_ALIVE_MS = 60_000
#: Seed 004 "Retransmit Request": at most 2500 messages per request.
MAX_RETRANSMIT = 2500

U32_NULL = 0xFFFFFFFF
U64_NULL = 0xFFFFFFFFFFFFFFFF


class Role(enum.Enum):
    INITIATOR = "initiator"  # the customer
    ACCEPTOR = "acceptor"  # the Market Segment Gateway


class State(enum.Enum):
    IDLE = "idle"  # transport up, nothing negotiated on it
    NEGOTIATE_SENT = "negotiate sent"  # initiator waits for NegotiationResponse
    NEGOTIATING = "negotiating"  # acceptor waits for the venue's decision
    NEGOTIATED = "negotiated"  # Establish expected
    ESTABLISH_SENT = "establish sent"  # initiator waits for EstablishmentAck
    ESTABLISHING = "establishing"  # acceptor waits for the venue's decision
    ESTABLISHED = "established"
    TERMINATE_SENT = "terminate sent"  # graceful Terminate sent, waiting for the peer's
    CLOSED = "closed"  # close the transport


class NotAppliedPolicy(enum.Enum):
    """What the initiator does on NotApplied (seed 004 "NotApplied"; I-178, I-214)."""

    GAP_FILL = "gap fill"  # send Sequence with the next number (recommended)
    REPORT = "report"  # only report it; the program resends or gap fills itself


class LocalProtocolError(Exception):
    """Misuse of this API (e.g. sending a business message before Establish)."""


@dataclass(frozen=True, slots=True)
class SessionConfig:
    role: Role
    #: Connected to (initiator) or serving as (acceptor) the designated backup gateway.
    backup: bool = False
    #: Initiator: the KeepAliveInterval it asks for (ms); also the pre-Establish wait (AI-28).
    keep_alive_interval_ms: int = 30_000
    establish_timeout: int = ESTABLISH_TIMEOUT
    timestamp_tolerance: int = TIMESTAMP_TOLERANCE
    max_retransmit: int = MAX_RETRANSMIT
    #: Acceptor: EnvironmentIndicator sent in responses (v9), None to leave it null.
    environment_indicator: int | None = None
    not_applied_policy: NotAppliedPolicy = NotAppliedPolicy.GAP_FILL
    #: Initiator: request retransmission of gaps by itself.
    auto_retransmit: bool = True
    #: Receive-side keep-alive checks allow this fraction of the interval for the peer's
    #: heartbeat to cross the network: a Sequence sent exactly one interval after the peer's last
    #: message is on time, not a lapse.
    receive_grace: float = 0.1


_SESSION_TEMPLATES = fields.SESSION_TEMPLATES
_KNOWN_TERMINATE_CODES = frozenset(int(c) for c in TerminateCode)
_FROM_CUSTOMER = frozenset({500, 503, 508}) | fields.CUSTOMER_TEMPLATES
_FROM_EXCHANGE = frozenset({501, 502, 504, 505, 509, 510, 513}) | fields.EXCHANGE_TEMPLATES
_BOTH = frozenset({506, 507})
_BUSINESS = -1  # table key standing for every business template

Handler = Callable[["FixpSession", MessageBase, int], None]


def _printable(text: str) -> bool:
    return all(" " <= ch <= "~" for ch in text)


class FixpSession:
    """One FIXP connection; see the module docstring."""

    def __init__(self, config: SessionConfig) -> None:
        self.config = config
        self.role = config.role
        self.backup = config.backup
        self.state = State.IDLE
        self._decoder = Decoder()
        self._out: list[bytes] = []
        self._events: list[ev.Event] = []
        # identity of the bound FIXP session
        self.uuid = 0
        self.session_id = ""
        self.firm = ""
        self.negotiated_uuid: int | None = None
        self._pending: MessageBase | None = None  # Negotiate/Establish awaiting a decision
        self._pending_state = State.IDLE
        # sequence numbers of business messages, per direction
        self.next_out = 1  # SeqNum of the next business message this side sends
        self.next_in = 1  # SeqNum expected next from the peer
        # timing
        self.keep_alive_ns = config.keep_alive_interval_ms * MS
        self._last_sent = 0
        self._last_received = 0
        self._warned = False
        self._deadline_kind: str | None = None
        self._deadline: int | None = None
        # retransmission
        self._retransmit_in_flight = False  # acceptor: request being served
        self._retx_uuid = 0  # initiator: request in flight for this UUID
        self._retx_remaining = 0
        self._retx_requested = False
        self._queued: dict[int, MessageBase] = {}  # initiator: real-time messages above a gap
        self._gap_reported_to = 0
        self.terminated: ev.Terminated | None = None

    # ----------------------------------------------------------------------------- plumbing

    def data_to_send(self) -> bytes:
        out = b"".join(self._out)
        self._out.clear()
        return out

    @property
    def closed(self) -> bool:
        """True once the transport should be closed (after flushing ``data_to_send``)."""
        return self.state is State.CLOSED

    def _send(self, msg: MessageBase, now: int) -> None:
        self._out.append(framing.frame(msg.encode()))
        self._last_sent = now

    def _send_raw(self, sbe: bytes, now: int) -> None:
        self._out.append(framing.frame(sbe))
        self._last_sent = now

    def _take_events(self) -> list[ev.Event]:
        out = self._events
        self._events = []
        return out

    def _fti(self) -> m.FTI:
        return m.FTI.Backup if self.backup else m.FTI.Primary

    # ----------------------------------------------------------------------------- input

    def receive_data(self, data: bytes, now: int) -> list[ev.Event]:
        """Feed bytes read from the transport; returns the events they cause."""
        if self.state is State.CLOSED:
            return []  # AI-19: anything after the end is ignored
        for item in self._decoder.feed(data):
            if self.closed:
                break
            if isinstance(item, InvalidSOFH):
                # AI-18: the stream cannot be resynchronised
                self._terminate_for(TerminateCode.InvalidSOFH, now, item.reason)
                break
            if isinstance(item, DecodingError):
                # I-256: disregarded, no sequence number consumed
                self._last_received = now
                self._events.append(ev.MessageDisregarded(item.reason))
                continue
            self._receive(item, now)
        return self._take_events()

    def receive_message(self, msg: MessageBase, now: int) -> list[ev.Event]:
        """Process one decoded message (``receive_data`` does this for each frame)."""
        self._receive(msg, now)
        return self._take_events()

    def _receive(self, msg: MessageBase, now: int) -> None:
        if self.state is State.CLOSED:
            return
        self._last_received = now
        self._warned = False
        tid = msg.TEMPLATE_ID
        if self.state is State.TERMINATE_SENT and tid != 507:
            return  # after our Terminate only the peer's Terminate matters (I-240)
        allowed = _FROM_CUSTOMER if self.role is Role.ACCEPTOR else _FROM_EXCHANGE
        if tid not in allowed and tid not in _BOTH:
            # AI-25: the frame decodes, but only the other role may send it
            self._terminate_for(
                TerminateCode.Other, now, f"{msg.NAME} may not be sent by this side"
            )
            return
        key = _BUSINESS if tid not in _SESSION_TEMPLATES else tid
        handler = _TABLE.get((self.role, self.state, key))
        if handler is None:
            self._violation(msg, now)
        else:
            handler(self, msg, now)

    def _violation(self, msg: MessageBase, now: int) -> None:
        """A message the table has no transition for (decision AI-24)."""
        st = self.state
        tid = msg.TEMPLATE_ID
        if st is State.TERMINATE_SENT:
            return  # in-flight traffic after our Terminate: nothing more is processed
        if self.role is Role.INITIATOR:
            self._terminate_for(
                TerminateCode.Other, now, f"unexpected {msg.NAME} in state {st.value}"
            )
            return
        if st is State.NEGOTIATING:
            code = TerminateCode.NegotiationInProgress
        elif st is State.ESTABLISHING:
            code = TerminateCode.EstablishInProgress
        elif tid == 500:
            code = (
                TerminateCode.AlreadyEstablished
                if st is State.ESTABLISHED
                else TerminateCode.AlreadyNegotiated
            )
        elif tid == 503:
            code = TerminateCode.AlreadyEstablished
        elif st is State.IDLE:
            code = TerminateCode.Unnegotiated
        else:
            code = TerminateCode.NotEstablished
        self._terminate_for(code, now, f"{msg.NAME} in state {st.value}")

    # ----------------------------------------------------------------------------- terminate

    def _terminate_for(self, code: int, now: int, detail: str = "") -> None:
        """Terminate because of an error (no confirmation awaited, I-242) and close."""
        reason = TERMINATE_REASONS.get(code, "Protocol violation")
        self._send(
            m.Terminate507(
                Reason=reason[:48], UUID=self.uuid, RequestTimestamp=now, ErrorCodes=int(code)
            ),
            now,
        )
        self._close(ev.Terminated(int(code), detail or reason, by_peer=False, violation=code != 0))

    def _close(self, event: ev.Terminated) -> None:
        self.state = State.CLOSED
        self.terminated = event
        self._deadline = None
        self._deadline_kind = None
        self._events.append(event)

    def terminate(self, now: int, code: int = 0, reason: str = "") -> list[ev.Event]:
        """Send Terminate. Code 0 is graceful: wait (one KeepAliveInterval) for the peer's
        Terminate before closing (I-240, I-241); any other code closes at once (I-242)."""
        if self.state is State.CLOSED:
            raise LocalProtocolError("the connection is closed")
        if code != 0:
            self._terminate_for(code, now, reason)
            return self._take_events()
        self._send(
            m.Terminate507(
                Reason=(reason or "Finished")[:48],
                UUID=self.uuid,
                RequestTimestamp=now,
                ErrorCodes=0,
            ),
            now,
        )
        self.state = State.TERMINATE_SENT
        self._set_deadline("terminate", now + self.keep_alive_ns)
        return self._take_events()

    def connection_lost(self, now: int) -> list[ev.Event]:
        """The transport closed under us (a hard disconnect, I-254)."""
        if self.state is not State.CLOSED:
            self._close(ev.Terminated(int(TerminateCode.Other), "connection lost", by_peer=None))
        return self._take_events()

    def _on_terminate(self, msg: MessageBase, now: int) -> None:
        assert isinstance(msg, m.Terminate507)
        code = msg.ErrorCodes
        reason = msg.Reason or ""
        if self.state is State.TERMINATE_SENT:
            self._close(ev.Terminated(code, reason, by_peer=False))
            return
        if self.role is Role.ACCEPTOR:
            violation = self._check_terminate(msg, now)
            if violation is not None:
                self._terminate_for(violation[0], now, violation[1])
                return
        if code == 0:
            # I-240 / AI-20: confirm with code 0, echoing UUID and RequestTimestamp
            self._send(
                m.Terminate507(
                    Reason="Finished",
                    UUID=msg.UUID,
                    RequestTimestamp=msg.RequestTimestamp,
                    ErrorCodes=0,
                ),
                now,
            )
        self._close(ev.Terminated(code, reason, by_peer=True))

    def _check_terminate(self, msg: m.Terminate507, now: int) -> tuple[int, str] | None:
        """Boundary checks of a customer's Terminate (I-261, I-262, I-263, AI-13): a violation
        is answered with the matching Terminate code instead of a confirmation."""
        if msg.UUID in (0, U64_NULL):
            return TerminateCode.RequiredUUIDMissing, "Terminate without UUID"
        if self.uuid and msg.UUID != self.uuid:
            return TerminateCode.InvalidUUID, f"Terminate for UUID {msg.UUID}, bound to {self.uuid}"
        if msg.RequestTimestamp in (0, U64_NULL):
            return (
                TerminateCode.RequiredRequestTimestampMissing,
                "Terminate without RequestTimestamp",
            )
        if abs(msg.RequestTimestamp - now) > self.config.timestamp_tolerance:
            return TerminateCode.InvalidTimestamp, "Terminate RequestTimestamp out of tolerance"
        if msg.ErrorCodes == 0xFFFF:
            return TerminateCode.RequiredCodeMissing, "Terminate without Code"
        if msg.ErrorCodes not in _KNOWN_TERMINATE_CODES:
            return TerminateCode.Other, f"unknown Terminate code {msg.ErrorCodes}"
        return None

    # ----------------------------------------------------------------------------- timers

    def _set_deadline(self, kind: str | None, at: int | None) -> None:
        self._deadline_kind = kind
        self._deadline = at

    def _receive_limit(self, intervals: int) -> int:
        ka = self.keep_alive_ns
        return self._last_received + intervals * ka + int(ka * self.config.receive_grace)

    def next_deadline(self) -> int | None:
        """When ``on_timer`` must next be called (ns since the epoch), or None."""
        if self.state is State.ESTABLISHED:
            return min(
                self._last_sent + self.keep_alive_ns, self._receive_limit(2 if self._warned else 1)
            )
        return self._deadline

    def on_timer(self, now: int) -> list[ev.Event]:
        if self.state is State.ESTABLISHED:
            ka = self.keep_alive_ns
            if now >= self._receive_limit(2):
                # I-163, I-255: two intervals of silence -> Terminate 20
                self._terminate_for(TerminateCode.KeepAliveIntervalLapsed, now)
                return self._take_events()
            if not self._warned and now >= self._receive_limit(1):
                # I-167 / I-168: warn with KeepAliveIntervalLapsed=1
                self._warned = True
                self._send_sequence(now, lapsed=True)
                self._events.append(ev.KeepAliveWarning())
            if now >= self._last_sent + ka:
                self._send_sequence(now, lapsed=False)  # I-165 / I-166: heartbeat
            return self._take_events()
        if self._deadline is None or now < self._deadline:
            return []
        kind = self._deadline_kind
        self._set_deadline(None, None)
        if kind == "establish":
            self._terminate_for(TerminateCode.EstablishmentTimeout, now)  # I-131
        elif kind == "negotiate-response":
            self.state = State.IDLE
            self._events.append(ev.NegotiationTimeout())
        elif kind == "establish-response":
            self._events.append(ev.EstablishTimeout())
        elif kind == "terminate":
            self._close(
                ev.Terminated(
                    0, "no Terminate confirmation within KeepAliveInterval", by_peer=False
                )
            )
        return self._take_events()

    def _send_sequence(self, now: int, *, lapsed: bool) -> None:
        nxt = 0 if self.backup else self.next_out
        fti = self._fti() if self.role is Role.ACCEPTOR else None
        lapse = m.KeepAliveLapsed.Lapsed if lapsed else m.KeepAliveLapsed.NotLapsed
        self._send(
            m.Sequence506(
                UUID=self.uuid,
                NextSeqNo=nxt,
                FaultToleranceIndicator=fti,
                KeepAliveIntervalLapsed=lapse,
            ),
            now,
        )

    # ============================================================================= acceptor

    def _check_strings(
        self, checks: Sequence[tuple[str | bytes, RejectCode, RejectCode | None]]
    ) -> RejectCode | None:
        for value, missing, invalid in checks:
            if isinstance(value, bytes):
                if not value.strip(b"\x00"):
                    return missing  # AI-12: all NUL means absent
                continue
            if not value:
                return missing
            if invalid is not None and not _printable(value):
                return invalid
        return None

    def _check_times(self, uuid: int, request_timestamp: int, now: int) -> RejectCode | None:
        if uuid == U64_NULL:
            return RejectCode.RequiredUUIDMissing
        if uuid == 0:
            return RejectCode.InvalidUUID  # I-236: UUID 0 is CME's
        if request_timestamp in (0, U64_NULL):
            return RejectCode.RequiredRequestTimestampMissing
        if abs(request_timestamp - now) > self.config.timestamp_tolerance:
            return RejectCode.InvalidTimestamp  # I-015, AI-23
        return None

    def _a_negotiate(self, msg: MessageBase, now: int) -> None:
        assert isinstance(msg, m.Negotiate500)
        code = self._check_strings(
            [
                (msg.HMACSignature, RejectCode.RequiredHMACSignatureMissing, None),  # I-098
                (
                    msg.AccessKeyID,
                    RejectCode.RequiredAccessKeyIDMissing,
                    RejectCode.InvalidAccessKeyID,
                ),  # I-099
                (
                    msg.Session,
                    RejectCode.RequiredSessionMissing,
                    RejectCode.InvalidSession,
                ),  # I-100
                (msg.Firm, RejectCode.RequiredFirmMissing, RejectCode.InvalidFirm),  # I-101
            ]
        ) or self._check_times(msg.UUID, msg.RequestTimestamp, now)  # I-102, I-103
        if code is not None:
            self._send_negotiation_reject(msg, code, now)
            return
        self._pending = msg
        self._pending_state = self.state
        self.state = State.NEGOTIATING
        self._events.append(ev.NegotiateReceived(msg))

    def _send_negotiation_reject(
        self, msg: m.Negotiate500, code: int, now: int, reason: str = ""
    ) -> None:
        self._send(
            m.NegotiationReject502(
                Reason=(reason or RejectCode(code).name)[:48], UUID=msg.UUID, RequestTimestamp=msg.RequestTimestamp,
                ErrorCodes=int(code), FaultToleranceIndicator=self._fti(),
                EnvironmentIndicator=self.config.environment_indicator,
            ),
            now,
        )  # fmt: skip

    def accept_negotiate(
        self,
        now: int,
        *,
        previous_seq_no: int = 0,
        previous_uuid: int = 0,
        secret_key_expiration: int | None = None,
    ) -> list[ev.Event]:
        """Send NegotiationResponse (I-105); Establish must follow within 60 s (I-131)."""
        msg = self._pending
        if self.state is not State.NEGOTIATING or not isinstance(msg, m.Negotiate500):
            raise LocalProtocolError("no Negotiate is waiting for a decision")
        self._pending = None
        self._send(
            m.NegotiationResponse501(
                UUID=msg.UUID, RequestTimestamp=msg.RequestTimestamp, SecretKeySecureIDExpiration=secret_key_expiration,
                FaultToleranceIndicator=self._fti(), PreviousSeqNo=previous_seq_no, PreviousUUID=previous_uuid,
                EnvironmentIndicator=self.config.environment_indicator,
            ),
            now,
        )  # fmt: skip
        self.negotiated_uuid = msg.UUID
        self.uuid = msg.UUID
        self.session_id, self.firm = msg.Session, msg.Firm
        self.state = State.NEGOTIATED
        self._set_deadline("establish", now + self.config.establish_timeout)
        return self._take_events()

    def reject_negotiate(self, now: int, code: int, reason: str = "") -> list[ev.Event]:
        """Send NegotiationReject (I-106) with the venue's code (0 HMAC, 2 UUID, 10 blocked…)."""
        msg = self._pending
        if self.state is not State.NEGOTIATING or not isinstance(msg, m.Negotiate500):
            raise LocalProtocolError("no Negotiate is waiting for a decision")
        self._pending = None
        self.state = self._pending_state
        self._send_negotiation_reject(msg, code, now, reason)
        return self._take_events()

    def _a_establish(self, msg: MessageBase, now: int) -> None:
        assert isinstance(msg, m.Establish503)
        negotiated = self.state is State.NEGOTIATED
        code = self._check_strings(
            [
                (msg.HMACSignature, RejectCode.RequiredHMACSignatureMissing, None),  # I-132
                (msg.AccessKeyID, RejectCode.RequiredAccessKeyIDMissing, RejectCode.InvalidAccessKeyID),  # I-133
                (msg.Session, RejectCode.RequiredSessionMissing, RejectCode.InvalidSession),  # I-134
                (msg.Firm, RejectCode.RequiredFirmMissing, RejectCode.InvalidFirm),  # I-135
                (msg.TradingSystemName, RejectCode.RequiredTradingSystemNameMissing, RejectCode.InvalidTradingSystemName),  # I-136
                (msg.TradingSystemVersion, RejectCode.RequiredTradingSystemVersionMissing, RejectCode.InvalidTradingSystemVersion),  # I-137
                (msg.TradingSystemVendor, RejectCode.RequiredTradingSystemVendorMissing, RejectCode.InvalidTradingSystemVendor),  # I-138
            ]
        ) or self._check_times(msg.UUID, msg.RequestTimestamp, now)  # I-139, I-140  # fmt: skip
        if code is None:
            if msg.KeepAliveInterval in (0, 0xFFFF):
                code = RejectCode.RequiredKeepAliveIntervalMissing
            elif not MIN_KEEP_ALIVE_MS <= msg.KeepAliveInterval <= MAX_KEEP_ALIVE_MS:
                code = RejectCode.InvalidKeepAliveInterval  # I-141, AI-01
            elif msg.NextSeqNo == U32_NULL:
                code = RejectCode.RequiredNextSeqNoMissing  # I-142
        if code is not None:
            self._send_establishment_reject(msg, code, now)
            return
        if negotiated and msg.UUID != self.negotiated_uuid:
            # AI-06 / I-253: an Establish with a UUID that was not negotiated
            self._terminate_for(
                TerminateCode.InvalidUUID, now, "Establish UUID differs from the negotiated UUID"
            )
            return
        if msg.NextSeqNo == 0 and not self.backup:
            self._terminate_for(
                TerminateCode.InvalidNextSeqNo, now, "NextSeqNo 0 on the primary"
            )  # I-274
            return
        if msg.NextSeqNo != 0 and self.backup:
            self._terminate_for(
                TerminateCode.InvalidNextSeqNo, now, "NextSeqNo must be 0 on the backup"
            )  # I-273
            return
        self._pending = msg
        self._pending_state = self.state
        self.state = State.ESTABLISHING
        self._set_deadline(None, None)
        self._events.append(ev.EstablishReceived(msg, negotiated))

    def _send_establishment_reject(
        self, msg: m.Establish503, code: int, now: int, reason: str = ""
    ) -> None:
        self._send(
            m.EstablishmentReject505(
                Reason=(reason or RejectCode(code).name)[:48], UUID=msg.UUID, RequestTimestamp=msg.RequestTimestamp,
                NextSeqNo=0 if self.backup else self.next_out, ErrorCodes=int(code),
                FaultToleranceIndicator=self._fti(), EnvironmentIndicator=self.config.environment_indicator,
            ),
            now,
        )  # fmt: skip

    def accept_establish(
        self,
        now: int,
        *,
        next_seq_no: int,
        expected_seq_no: int,
        previous_seq_no: int = 0,
        previous_uuid: int = 0,
        secret_key_expiration: int | None = None,
        first_of_week: bool = False,
    ) -> list[ev.Event]:
        """Bind the session: check the customer's NextSeqNo, then EstablishmentAck (I-143).

        ``next_seq_no`` is the venue's next outbound SeqNum for this UUID (1 after Negotiate,
        I-146; last sent + 1 otherwise, I-145); ``expected_seq_no`` the next inbound SeqNum the
        venue expects (1 for a newly negotiated UUID). ``first_of_week``: this is the week's
        first initialization for the session (AI-02). Sequence errors Terminate (AI-03).
        """
        msg = self._pending
        if self.state is not State.ESTABLISHING or not isinstance(msg, m.Establish503):
            raise LocalProtocolError("no Establish is waiting for a decision")
        self._pending = None
        if not self.backup:
            if first_of_week and msg.NextSeqNo != 1:
                # I-028, I-061, AI-02: the customer did not reset to 1 at week start
                self._terminate_for(
                    TerminateCode.InvalidNextSeqNo,
                    now,
                    "NextSeqNo must be 1 at the start of the week",
                )
                return self._take_events()
            if msg.NextSeqNo < expected_seq_no:
                # I-071, I-082, I-231: lower than expected for the same UUID
                self._terminate_for(
                    TerminateCode.InvalidNextSeqNo,
                    now,
                    f"NextSeqNo {msg.NextSeqNo} lower than expected {expected_seq_no}",
                )
                return self._take_events()
        self.uuid = msg.UUID
        self.session_id, self.firm = msg.Session, msg.Firm
        self.next_out = next_seq_no
        self.next_in = expected_seq_no
        self.keep_alive_ns = msg.KeepAliveInterval * MS  # AI-30: both sides use the agreed value
        ack = m.EstablishmentAck504(
            UUID=msg.UUID, RequestTimestamp=msg.RequestTimestamp, NextSeqNo=0 if self.backup else next_seq_no,
            PreviousSeqNo=previous_seq_no, PreviousUUID=previous_uuid, KeepAliveInterval=msg.KeepAliveInterval,
            SecretKeySecureIDExpiration=secret_key_expiration, FaultToleranceIndicator=self._fti(),
            EnvironmentIndicator=self.config.environment_indicator,
        )  # fmt: skip
        self._send(ack, now)
        self.state = State.ESTABLISHED
        self._last_received = now
        self._warned = False
        self._events.append(ev.Established(ack))
        if not self.backup and msg.NextSeqNo > expected_seq_no:
            # I-023, I-124, AI-05: adopt the higher number, tell the customer what was skipped
            self._send_not_applied(expected_seq_no, msg.NextSeqNo - expected_seq_no + 1, now)
            self.next_in = msg.NextSeqNo
        return self._take_events()

    def reject_establish(self, now: int, code: int, reason: str = "") -> list[ev.Event]:
        """Send EstablishmentReject (I-149): authentication or entitlement failures (AI-03)."""
        msg = self._pending
        if self.state is not State.ESTABLISHING or not isinstance(msg, m.Establish503):
            raise LocalProtocolError("no Establish is waiting for a decision")
        self._pending = None
        self.state = self._pending_state
        if self.state is State.NEGOTIATED:
            self._set_deadline("establish", now + self.config.establish_timeout)
        self._send_establishment_reject(msg, code, now, reason)
        return self._take_events()

    def _send_not_applied(self, from_seq: int, count: int, now: int) -> None:
        self._send(m.NotApplied513(UUID=self.uuid, FromSeqNo=from_seq, MsgCount=count), now)
        self._events.append(ev.NotAppliedSent(from_seq, count))

    def _a_business(self, msg: MessageBase, now: int) -> None:
        if self.backup:
            self._events.append(ev.BusinessMessageOnBackup(msg))  # I-275, AI-08
            return
        seq = int(msg.SeqNum)  # type: ignore[attr-defined]
        if seq == self.next_in:
            self.next_in += 1
            self._events.append(ev.BusinessMessage(msg, seq, self.uuid))
        elif seq > self.next_in:
            # I-203, I-223, I-225, AI-05: not applied; expected stays put
            self._send_not_applied(self.next_in, seq - self.next_in + 1, now)
        else:
            # AI-17: lower than expected
            self._terminate_for(
                TerminateCode.InvalidMsgSeqNo,
                now,
                f"SeqNum {seq} lower than expected {self.next_in}",
            )

    def _a_sequence(self, msg: MessageBase, now: int) -> None:
        assert isinstance(msg, m.Sequence506)
        if msg.UUID != self.uuid:
            self._terminate_for(
                TerminateCode.InvalidUUID, now, "Sequence UUID is not the established UUID"
            )  # AI-09
            return
        lapsed = msg.KeepAliveIntervalLapsed
        if lapsed not in (0, 1):
            self._terminate_for(TerminateCode.RequiredKeepAliveIntervalLapsedMissing, now)  # I-171
            return
        if msg.FaultToleranceIndicator not in (None, 0, 1):
            # I-172, AI-13: FTI is 0 or 1 (or absent); anything else is a protocol violation
            self._terminate_for(
                TerminateCode.Other,
                now,
                f"invalid FaultToleranceIndicator {msg.FaultToleranceIndicator}",
            )
            return
        nxt = msg.NextSeqNo
        if nxt == U32_NULL:
            self._terminate_for(TerminateCode.RequiredNextSeqNoMissing, now)  # I-170
            return
        if self.backup:
            if nxt != 0:
                self._terminate_for(
                    TerminateCode.InvalidNextSeqNo, now, "NextSeqNo must be 0 on the backup"
                )  # I-273
                return
        elif nxt == 0:
            self._terminate_for(
                TerminateCode.InvalidNextSeqNo, now, "NextSeqNo 0 on the primary"
            )  # I-274
            return
        elif nxt < self.next_in:
            self._terminate_for(
                TerminateCode.InvalidNextSeqNo,
                now,
                f"NextSeqNo {nxt} lower than expected {self.next_in}",
            )  # I-230
            return
        else:
            self.next_in = nxt  # I-156, I-157, I-158: gap fill
        if lapsed == 1:
            self._send_sequence(now, lapsed=False)  # I-154: answer the ping

    def _a_retransmit_request(self, msg: MessageBase, now: int) -> None:
        assert isinstance(msg, m.RetransmitRequest508)
        code: RetransmitRejectCode | None = None
        if msg.UUID in (0, U64_NULL):
            code = RetransmitRejectCode.RequiredUUIDMissing
        elif msg.UUID != self.uuid:
            code = RetransmitRejectCode.InvalidUUID  # AI-10: UUID is the established one
        elif msg.RequestTimestamp in (0, U64_NULL):
            code = RetransmitRejectCode.RequiredRequestTimestampMissing
        elif abs(msg.RequestTimestamp - now) > self.config.timestamp_tolerance:
            code = RetransmitRejectCode.InvalidTimestamp
        elif msg.FromSeqNo in (0, U32_NULL):
            code = (
                RetransmitRejectCode.RequiredFromSeqNoMissing
                if msg.FromSeqNo
                else RetransmitRejectCode.InvalidFromSeqNo
            )
        elif msg.MsgCount == 0xFFFF:
            code = RetransmitRejectCode.RequiredMsgCountMissing
        elif self._retransmit_in_flight:
            code = RetransmitRejectCode.RetransmitAlreadyInProgress  # I-192
        elif msg.MsgCount > self.config.max_retransmit:
            code = RetransmitRejectCode.RequestLimitExceeded  # I-190
        if code is not None:
            self._send_retransmit_reject(msg, code, now)
            return
        self._retransmit_in_flight = True
        target = msg.LastUUID if msg.LastUUID is not None else msg.UUID
        self._events.append(ev.RetransmitRequested(msg, target, msg.FromSeqNo, msg.MsgCount))

    def _send_retransmit_reject(
        self, msg: m.RetransmitRequest508, code: int, now: int, reason: str = ""
    ) -> None:
        self._send(
            m.RetransmitReject510(
                Reason=(reason or RetransmitRejectCode(code).name)[:48], UUID=msg.UUID, LastUUID=msg.LastUUID,
                RequestTimestamp=msg.RequestTimestamp, ErrorCodes=int(code),
            ),
            now,
        )  # fmt: skip

    def send_retransmission(
        self, now: int, request: m.RetransmitRequest508, messages: Sequence[bytes]
    ) -> list[ev.Event]:
        """Answer a RetransmitRequest: Retransmission509, then the stored business messages (SBE
        bytes, as journalled) with PossRetransFlag=1 (I-182, I-187, I-199); a Sequence when none
        are replayed (I-200). Real-time messages may be sent before and after."""
        if not self._retransmit_in_flight:
            raise LocalProtocolError("no RetransmitRequest is being served")
        self._retransmit_in_flight = False
        first = fields.seq_num_of(messages[0]) if messages else request.FromSeqNo
        self._send(
            m.Retransmission509(
                UUID=request.UUID, LastUUID=request.LastUUID, RequestTimestamp=request.RequestTimestamp,
                FromSeqNo=first if first is not None else request.FromSeqNo, MsgCount=len(messages),
            ),
            now,
        )  # fmt: skip
        for sbe in messages:
            self._send_raw(fields.with_poss_retrans(sbe), now)
        if not messages:
            self._send_sequence(now, lapsed=False)
        return self._take_events()

    def reject_retransmit(
        self, now: int, request: m.RetransmitRequest508, code: int, reason: str = ""
    ) -> list[ev.Event]:
        """RetransmitReject (I-189, I-202): e.g. 0 out of range, 1 unknown UUID, 2 over 2500."""
        if not self._retransmit_in_flight:
            raise LocalProtocolError("no RetransmitRequest is being served")
        self._retransmit_in_flight = False
        self._send_retransmit_reject(request, code, now, reason)
        return self._take_events()

    def promote(self, now: int, *, next_seq_no: int, expected_seq_no: int) -> list[ev.Event]:
        """The backup gateway takes over (I-276): Sequence with FTI=1 and the valid NextSeqNo."""
        if self.role is not Role.ACCEPTOR or not self.backup:
            raise LocalProtocolError("only a backup acceptor can be promoted")
        self.backup = False
        self.next_out = next_seq_no
        self.next_in = expected_seq_no
        if self.state is State.ESTABLISHED:
            self._send_sequence(now, lapsed=False)
        return self._take_events()

    # ============================================================================= both: sending

    def send_business(self, msg: MessageBase, now: int) -> bytes:
        """Send a business message: it gets the next SeqNum (and, from the exchange, the UUID)
        and SendingTimeEpoch=now. Returns the stamped SBE bytes (to journal before the write)."""
        if self.state is not State.ESTABLISHED:
            raise LocalProtocolError(f"cannot send business messages in state {self.state.value}")
        if self.backup and self.role is Role.INITIATOR:
            raise LocalProtocolError("business messages go only to the primary (I-275)")
        own = fields.EXCHANGE_TEMPLATES if self.role is Role.ACCEPTOR else fields.CUSTOMER_TEMPLATES
        if msg.TEMPLATE_ID not in own:
            raise LocalProtocolError(f"{msg.NAME} is not sent by the {self.role.value}")
        sbe = fields.stamp(msg.encode(), self.next_out, self.uuid, now)
        self.next_out += 1
        self._send_raw(sbe, now)
        return sbe

    def send_sequence(self, now: int) -> list[ev.Event]:
        """Send a Sequence now (a gap fill after NotApplied, I-164, or a heartbeat)."""
        if self.state is not State.ESTABLISHED:
            raise LocalProtocolError("not established")
        self._send_sequence(now, lapsed=False)
        return self._take_events()

    # ============================================================================= initiator

    def negotiate(
        self, now: int, *, secret_key: str, access_key_id: str, uuid: int, session: str, firm: str
    ) -> list[ev.Event]:
        """Send a signed Negotiate (I-033) and wait for the answer (I-104, I-107)."""
        if self.role is not Role.INITIATOR or self.state is not State.IDLE:
            raise LocalProtocolError(f"cannot Negotiate in state {self.state.value}")
        msg = signing.sign_negotiate(
            secret_key,
            access_key_id=access_key_id,
            uuid=uuid,
            request_timestamp=now,
            session=session,
            firm=firm,
        )
        self.uuid, self.session_id, self.firm = uuid, session, firm
        self._send(msg, now)
        self.state = State.NEGOTIATE_SENT
        self._set_deadline("negotiate-response", now + 2 * self.config.keep_alive_interval_ms * MS)
        return self._take_events()

    def establish(
        self,
        now: int,
        *,
        secret_key: str,
        access_key_id: str,
        next_seq_no: int,
        expected_seq_no: int,
        uuid: int | None = None,
        session: str | None = None,
        firm: str | None = None,
        trading_system_name: str = "dropcopy",
        trading_system_version: str = "0.1",
        trading_system_vendor: str = "dropcopy",
    ) -> list[ev.Event]:
        """Send a signed Establish: after Negotiate, or alone to re-bind the same UUID
        (intra-session binding, I-077). ``next_seq_no`` is the customer's next outbound SeqNum
        (0 on the backup, I-273); ``expected_seq_no`` the next SeqNum it expects from CME."""
        if self.role is not Role.INITIATOR or self.state not in (
            State.IDLE,
            State.NEGOTIATED,
            State.ESTABLISH_SENT,
        ):
            raise LocalProtocolError(f"cannot Establish in state {self.state.value}")
        if uuid is not None:
            self.uuid = uuid
        if session is not None:
            self.session_id = session
        if firm is not None:
            self.firm = firm
        msg = signing.sign_establish(
            secret_key, access_key_id=access_key_id, uuid=self.uuid, request_timestamp=now, session=self.session_id,
            firm=self.firm, trading_system_name=trading_system_name, trading_system_version=trading_system_version,
            trading_system_vendor=trading_system_vendor, next_seq_no=0 if self.backup else next_seq_no,
            keep_alive_interval=self.config.keep_alive_interval_ms,
        )  # fmt: skip
        self.next_out = next_seq_no
        self.next_in = expected_seq_no
        self._send(msg, now)
        self.state = State.ESTABLISH_SENT
        self._set_deadline(
            "establish-response", now + self.config.keep_alive_interval_ms * MS
        )  # I-121
        return self._take_events()

    def _i_negotiation_response(self, msg: MessageBase, now: int) -> None:
        assert isinstance(msg, m.NegotiationResponse501)
        if msg.UUID != self.uuid:
            self._terminate_for(
                TerminateCode.InvalidUUID, now, "NegotiationResponse for another UUID"
            )
            return
        self.negotiated_uuid = msg.UUID
        self.state = State.NEGOTIATED
        self._set_deadline(None, None)
        self._events.append(ev.Negotiated(msg))

    def _i_negotiation_reject(self, msg: MessageBase, now: int) -> None:
        assert isinstance(msg, m.NegotiationReject502)
        self.state = State.IDLE
        self._set_deadline(None, None)
        self._events.append(ev.NegotiationRejected(msg))

    def _i_establishment_ack(self, msg: MessageBase, now: int) -> None:
        assert isinstance(msg, m.EstablishmentAck504)
        if msg.UUID != self.uuid:
            self._terminate_for(TerminateCode.InvalidUUID, now, "EstablishmentAck for another UUID")
            return
        self.state = State.ESTABLISHED
        self._set_deadline(None, None)
        self.keep_alive_ns = msg.KeepAliveInterval * MS
        self._last_received = now
        self._events.append(ev.Established(msg))
        if self.backup:
            return
        if msg.NextSeqNo < self.next_in:
            self._terminate_for(
                TerminateCode.InvalidNextSeqNo,
                now,
                f"CME NextSeqNo {msg.NextSeqNo} lower than expected {self.next_in}",
            )
        elif msg.NextSeqNo > self.next_in:
            # I-148: messages were published while we were away
            self._gap(self.next_in, msg.NextSeqNo - 1, now)

    def _i_establishment_reject(self, msg: MessageBase, now: int) -> None:
        assert isinstance(msg, m.EstablishmentReject505)
        self.state = State.NEGOTIATED if self.negotiated_uuid == self.uuid else State.IDLE
        self._set_deadline(None, None)
        self._events.append(ev.EstablishmentRejected(msg))

    def _i_sequence(self, msg: MessageBase, now: int) -> None:
        assert isinstance(msg, m.Sequence506)
        nxt = msg.NextSeqNo
        if self.backup:
            if msg.FaultToleranceIndicator == m.FTI.Primary and nxt != 0:
                self.backup = False  # I-276, I-296
                self._events.append(ev.PromotedToPrimary(nxt))
            else:
                if msg.KeepAliveIntervalLapsed == 1:
                    self._send_sequence(now, lapsed=False)
                return
        if nxt < self.next_in:
            self._terminate_for(
                TerminateCode.InvalidNextSeqNo,
                now,
                f"CME NextSeqNo {nxt} lower than expected {self.next_in}",
            )
            return
        if nxt > self.next_in:
            self._gap(self.next_in, nxt - 1, now)  # I-157: a gap revealed by CME's Sequence
        if msg.KeepAliveIntervalLapsed == 1:
            self._send_sequence(now, lapsed=False)

    def _gap(self, first: int, last: int, now: int) -> None:
        """Messages ``first``..``last`` of the bound UUID are missing (I-173, I-226)."""
        if last < first:
            return
        if last > self._gap_reported_to:
            start = max(first, self._gap_reported_to + 1)
            self._gap_reported_to = last
            self._events.append(ev.GapDetected(self.uuid, start, last - start + 1))
        if self.config.auto_retransmit and not self._retx_requested:
            self._request(
                now,
                self.uuid,
                first,
                min(last - first + 1, self.config.max_retransmit),
                last_uuid=None,
            )

    def _request(
        self, now: int, uuid: int, from_seq: int, count: int, last_uuid: int | None
    ) -> None:
        self._send(
            m.RetransmitRequest508(
                UUID=self.uuid,
                LastUUID=last_uuid,
                RequestTimestamp=now,
                FromSeqNo=from_seq,
                MsgCount=count,
            ),
            now,
        )
        self._retx_requested = True
        self._retx_uuid = uuid
        self._retx_remaining = count

    @property
    def retransmission_in_flight(self) -> bool:
        """Initiator: a RetransmitRequest is waiting for its messages (one at a time, I-192)."""
        return self._retx_requested

    def request_retransmission(
        self, now: int, *, from_seq_no: int, count: int, last_uuid: int | None = None
    ) -> list[ev.Event]:
        """Ask for messages of the bound UUID, or of ``last_uuid`` (an earlier UUID of this week,
        e.g. the EstablishmentAck's PreviousUUID, I-067, I-235). One request at a time (I-192)."""
        if self.state is not State.ESTABLISHED:
            raise LocalProtocolError("not established")
        if self._retx_requested:
            raise LocalProtocolError("a retransmission is already in flight")
        if not 0 <= count <= self.config.max_retransmit:  # 0 = up to the latest (I-176)
            raise LocalProtocolError(f"count must be 0..{self.config.max_retransmit}")
        self._request(
            now, last_uuid if last_uuid is not None else self.uuid, from_seq_no, count, last_uuid
        )
        return self._take_events()

    def _i_retransmission(self, msg: MessageBase, now: int) -> None:
        assert isinstance(msg, m.Retransmission509)
        self._retx_remaining = msg.MsgCount
        self._events.append(ev.RetransmissionStarted(msg))
        if msg.MsgCount == 0:
            self._finish_retransmission(now)

    def _i_retransmit_reject(self, msg: MessageBase, now: int) -> None:
        assert isinstance(msg, m.RetransmitReject510)
        self._retx_requested = False
        self._retx_remaining = 0
        self._events.append(ev.RetransmitRejected(msg))

    def _finish_retransmission(self, now: int) -> None:
        self._retx_requested = False
        self._retx_remaining = 0
        self._events.append(ev.RetransmissionFinished(self._retx_uuid))
        if self.next_in <= self._gap_reported_to:
            # I-188, I-191: request the rest of the gap, one batch of at most 2500 at a time
            self._gap(self.next_in, self._gap_reported_to, now)

    def _i_business(self, msg: MessageBase, now: int) -> None:
        seq = int(msg.SeqNum)  # type: ignore[attr-defined]
        uuid = int(msg.UUID)  # type: ignore[attr-defined]
        replay = msg.PossRetransFlag == m.BooleanFlag.True_  # type: ignore[attr-defined]
        if replay and self._retx_requested and self._retx_remaining > 0:
            self._retx_remaining -= 1
            if uuid != self.uuid:  # a replay of an earlier UUID (I-067): delivered as is
                self._events.append(ev.BusinessMessage(msg, seq, uuid, True))
                if self._retx_remaining == 0:
                    self._finish_retransmission(now)
                return
        if uuid != self.uuid:
            self._terminate_for(TerminateCode.InvalidUUID, now, f"business message for UUID {uuid}")
            return
        if seq == self.next_in:
            self._deliver(msg, seq, replay)
        elif seq > self.next_in:
            # I-185, I-229: keep it for in-order processing; recover the gap
            self._queued[seq] = msg
            self._gap(self.next_in, seq - 1, now)
        elif not replay:
            self._terminate_for(
                TerminateCode.InvalidMsgSeqNo,
                now,
                f"CME SeqNum {seq} lower than expected {self.next_in}",
            )
            return
        if replay and self._retx_requested and self._retx_remaining == 0:
            self._finish_retransmission(now)

    def _deliver(self, msg: MessageBase, seq: int, replay: bool) -> None:
        self._events.append(ev.BusinessMessage(msg, seq, self.uuid, replay))
        self.next_in = seq + 1
        while self.next_in in self._queued:
            queued = self._queued.pop(self.next_in)
            flag = queued.PossRetransFlag  # type: ignore[attr-defined]
            self._events.append(
                ev.BusinessMessage(queued, self.next_in, self.uuid, flag == m.BooleanFlag.True_)
            )
            self.next_in += 1

    def _i_not_applied(self, msg: MessageBase, now: int) -> None:
        assert isinstance(msg, m.NotApplied513)
        self._events.append(ev.NotAppliedReceived(msg))
        if self.config.not_applied_policy is NotAppliedPolicy.GAP_FILL:
            self._send_sequence(now, lapsed=False)  # I-164, I-214: skip the gap


# ================================================================================ the table

_A, _I = Role.ACCEPTOR, Role.INITIATOR
_S = State
_TABLE: dict[tuple[Role, State, int], Handler] = {}


def _on(role: Role, states: Sequence[State], templates: Sequence[int], handler: Handler) -> None:
    for st in states:
        for t in templates:
            _TABLE[(role, st, t)] = handler


_LIVE = [s for s in State if s is not State.CLOSED]
# acceptor (Market Segment Gateway)
_on(_A, [_S.IDLE], [500], FixpSession._a_negotiate)
_on(_A, [_S.IDLE, _S.NEGOTIATED], [503], FixpSession._a_establish)
_on(_A, [_S.ESTABLISHED], [_BUSINESS], FixpSession._a_business)
_on(_A, [_S.ESTABLISHED], [506], FixpSession._a_sequence)
_on(_A, [_S.ESTABLISHED], [508], FixpSession._a_retransmit_request)
_on(_A, _LIVE, [507], FixpSession._on_terminate)
# initiator (customer)
_on(_I, [_S.NEGOTIATE_SENT], [501], FixpSession._i_negotiation_response)
_on(_I, [_S.NEGOTIATE_SENT], [502], FixpSession._i_negotiation_reject)
_on(_I, [_S.ESTABLISH_SENT], [504], FixpSession._i_establishment_ack)
_on(_I, [_S.ESTABLISH_SENT], [505], FixpSession._i_establishment_reject)
_on(_I, [_S.ESTABLISHED], [506], FixpSession._i_sequence)
_on(_I, [_S.ESTABLISHED], [_BUSINESS], FixpSession._i_business)
_on(_I, [_S.ESTABLISHED], [509], FixpSession._i_retransmission)
_on(_I, [_S.ESTABLISHED], [510], FixpSession._i_retransmit_reject)
_on(_I, [_S.ESTABLISHED], [513], FixpSession._i_not_applied)
_on(_I, _LIVE, [507], FixpSession._on_terminate)

TRANSITIONS = dict(_TABLE)  # read-only view for documentation and tests
