"""iLink 3 Market Segment Gateway: the venue's answers to the FIXP machine's questions.

Theory of operation
-------------------
Each TCP connection runs a :class:`~dropcopy.fixp.FixpSession` in the acceptor role, driven by
the asyncio pump. The machine settles everything it can see on the connection; what needs the
venue's memory is answered here, from a :class:`SessionBook` shared by every connection of the
segment:

* **keys** (seed 004 "Session Security"): the AccessKeyID must name a usable key (not deleted,
  not expired) of this very session and firm, and the HMAC must verify (constant time) — else
  NegotiationReject / EstablishmentReject code 0. Two keys may be valid at once (rotation).
* **UUID rules** ("UUID Rules", AI-15): a Negotiate's UUID must be greater than the last UUID
  this customer used on this segment this week (else code 2); RequestTimestamp must grow (code 3).
  An Establish without Negotiate must name the current UUID (AI-06: else Terminate 13).
* **weekly reset** ("Weekly Reset"): at the week's start-up (Sunday 16:00 Chicago) a customer's
  UUIDs and sequence numbers restart; messages generated before its first initialization go to
  the default UUID 0 (I-064); the first Establish of the week must say NextSeqNo=1 (AI-02).
* **sequence streams** are per (session, firm, segment) and per UUID; every outbound business
  message is journalled (durable before it is written, the pump's ``before_write`` commits) so
  retransmission works for the current UUID or any UUID of the week, after a restart too.
* **PreviousUUID / PreviousSeqNo** (AI-14): the UUID and SeqNum of the last business message
  sent or generated for the customer before this acknowledgment.
* **fault tolerance** ("Fault Tolerance", AI-08): each segment has a designated primary and a
  designated backup instance sharing one book. A customer Negotiates and Establishes on the
  primary, then Establishes its backup process on the backup with the same UUID (NextSeqNo 0).
  Negotiate on the backup -> NegotiationReject 28 (27 while the primary is not established);
  Establish on the backup before the primary -> EstablishmentReject 27; a business message on
  the backup -> BusinessReject 131 on the primary stream. When the customer's primary connection
  ends for any reason, its backup connection gets Terminate 26 (I-251, I-284, AI-29). When the
  primary *instance* fails (:meth:`MarketSegmentGateway.fail`), :meth:`promote` makes the backup
  instance primary: every backup connection gets a Sequence with FaultToleranceIndicator=1 and
  the valid NextSeqNo, and the sequence streams continue (I-276, I-295). A failed instance comes
  back as the backup (:meth:`restore`).

Orders go to an :class:`OrderHandler` (the matching engine's adapter); whatever it returns is
published to the owning customer: sent at once if connected, else journalled for retransmission.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from dropcopy.aio.pump import MachineProtocol, serve
from dropcopy.fixp import events as ev
from dropcopy.fixp.codes import RejectCode, RetransmitRejectCode, TerminateCode
from dropcopy.fixp.session import FixpSession, Role, SessionConfig, State
from dropcopy.ilink3 import fields, signing
from dropcopy.ilink3 import messages as m
from dropcopy.journal import Journal
from dropcopy.sbe.runtime import MessageBase
from dropcopy.venue.activity import ActivityLog, owner_stream
from dropcopy.venue.calendar import Calendar

from . import reports
from .matching import BusinessRejectReason

NS_PER_DAY = 86_400_000_000_000
_AUTH_REASONS: dict[int, str] = {
    RejectCode.HMACNotAuthenticated: "HMAC not authenticated",
    RejectCode.SessionBlocked: "session not assigned to this gateway",
}

Owner = tuple[str, str]  # (Session, Firm)


@dataclass(frozen=True, slots=True)
class AccessKey:
    access_key_id: str
    secret_key: str = field(repr=False)  # base64url, as Request Center delivers it; never logged
    session: str
    firm: str
    expires_at: int | None = None
    deleted: bool = False
    #: the market segments whose gateways the session is assigned to (None: every segment)
    segments: frozenset[int] | None = None

    def usable(self, now: int) -> bool:
        return not self.deleted and (self.expires_at is None or now < self.expires_at)

    def days_to_expiry(self, now: int) -> int | None:
        """SecretKeySecureIDExpiration: in how many days the key expires."""
        if self.expires_at is None:
            return None
        return max(0, (self.expires_at - now) // NS_PER_DAY)


class KeyDirectory(Protocol):
    def lookup(self, access_key_id: str) -> AccessKey | None: ...


@dataclass
class MemoryKeyDirectory:
    keys: dict[str, AccessKey] = field(default_factory=dict)

    def add(self, key: AccessKey) -> None:
        self.keys[key.access_key_id] = key

    def lookup(self, access_key_id: str) -> AccessKey | None:
        return self.keys.get(access_key_id)


class OrderHandler(Protocol):
    def on_business(
        self, owner: Owner, segment: int, msg: MessageBase, now: int
    ) -> list[tuple[Owner, MessageBase]]:
        """Apply a customer's business message; return the messages to publish, each to its owner."""
        ...

    def on_disconnect(
        self, owner: Owner, segment: int, graceful: bool, now: int
    ) -> list[tuple[Owner, MessageBase]]:
        """The customer's primary connection ended (cancel on disconnect, I-115, AI-26)."""
        ...


@dataclass
class Streams:
    next_out: int = 1  # next SeqNum the venue sends on this UUID
    next_in: int = 1  # next SeqNum the venue expects from the customer on this UUID


@dataclass
class CustomerSession:
    """What the venue remembers about one customer session on one segment, for the week."""

    owner: Owner
    week_start: int
    last_uuid: int = 0
    last_request_timestamp: int = 0
    initialized: bool = False
    current_uuid: int = 0  # new outbound messages go here (0 until the first Establish, I-064)
    streams: dict[int, Streams] = field(default_factory=lambda: {0: Streams()})
    last_sent: tuple[int, int] = (0, 0)  # (uuid, seq) of the last business message published
    primary: FixpSession | None = None
    protocol: MachineProtocol | None = None
    #: rebuilt after a restart: the inbound numbers are not known until the next Establish
    inbound_unknown: bool = False
    #: the customer's backup connection, on the backup instance (seed 004 "Fault Tolerance")
    backup: FixpSession | None = None
    backup_protocol: MachineProtocol | None = None

    def stream(self, uuid: int) -> Streams:
        return self.streams.setdefault(uuid, Streams())


class SessionBook:
    """Per-customer state for one market segment (shared by the primary and backup gateway).

    With a ``journal``, a customer's state is rebuilt from it the first time the customer is
    seen after a restart: the UUIDs it established this week (stream ``ilink3-uuids/…``, one
    marker per UUID), the next outbound SeqNum of each UUID and the last message published
    (PreviousUUID/PreviousSeqNo). Inbound numbers are not journalled: after a restart the
    customer's NextSeqNo is taken as the expected number on its first re-Establish."""

    def __init__(
        self, segment: int, calendar: Calendar | None = None, journal: Journal | None = None
    ) -> None:
        self.segment = segment
        self.calendar = calendar or Calendar()
        self.journal = journal
        self.sessions: dict[Owner, CustomerSession] = {}
        self._week = (0, 0)  # [start, next start) of the week last looked up

    def week_start(self, now: int) -> int:
        start, end = self._week
        if not start <= now < end:  # the calendar (zoneinfo) only at a week boundary
            start = self.calendar.week_start(now)
            end = self.calendar.week_start(start + 8 * NS_PER_DAY)
            self._week = (start, end)
        return start

    def get(self, owner: Owner, now: int) -> CustomerSession:
        week = self.week_start(now)
        cs = self.sessions.get(owner)
        if cs is None or cs.week_start != week:
            # seed 004 "Weekly Reset": numbers restart at 1, UUID 0 until the customer initializes
            cs = CustomerSession(owner, week)
            if self.journal is not None:
                self._restore(cs)
            self.sessions[owner] = cs
        return cs

    def _restore(self, cs: CustomerSession) -> None:
        """Rebuild what this week's journal knows about the customer (after a restart)."""
        assert self.journal is not None
        out = self.journal.uuids(self.journal_stream(cs.owner), since=cs.week_start)
        est = self.journal.uuids(self.uuid_stream(cs.owner), since=cs.week_start)
        for info in out:
            cs.stream(info.uuid).next_out = info.last_seq + 1
        known = {i.uuid for i in est} | {i.uuid for i in out if i.uuid}
        if known:
            cs.initialized = True
            cs.last_uuid = cs.current_uuid = max(known)
            cs.inbound_unknown = True
        last = self.journal.last_message(self.journal_stream(cs.owner))
        if last is not None and last.sent_at >= cs.week_start:
            cs.last_sent = (last.uuid, last.seq)

    def journal_stream(self, owner: Owner) -> str:
        return owner_stream(owner, self.segment)

    def uuid_stream(self, owner: Owner) -> str:
        """One marker entry (seq 1) per UUID the customer established this week."""
        return f"ilink3-uuids/{owner[0]}{owner[1]}/{self.segment}"


class MarketSegmentGateway:
    """One gateway instance of one market segment: the designated primary, or (``backup=True``)
    the designated backup sharing the primary's :class:`SessionBook` and journal."""

    def __init__(
        self,
        segment: int,
        *,
        keys: KeyDirectory,
        journal: Journal,
        handler: OrderHandler,
        clock: Callable[[], int],
        book: SessionBook | None = None,
        environment_indicator: int | None = None,
        backup: bool = False,
        activity: ActivityLog | None = None,
        in_flight_window: int = 1_000_000_000,
    ) -> None:
        self.segment = segment
        #: every published business message also goes here, for Drop Copy (venue/activity.py)
        self.activity = activity
        #: on failover, what the failed primary published this long before is in doubt (D-069)
        self.in_flight_window = in_flight_window
        #: serving as the backup instance (until promoted)
        self.backup = backup
        #: failed (by :meth:`fail`): its connections are gone and it accepts none until restored
        self.failed = False
        self.address: tuple[str, int] | None = None
        #: the other instance of the segment (see :meth:`pair`)
        self.peer: MarketSegmentGateway | None = None
        self.keys = keys
        self.journal = journal
        self.handler = handler
        self.clock = clock
        self.book = book or SessionBook(segment, journal=journal)
        self.environment_indicator = environment_indicator
        self.connections: set[MachineProtocol] = set()
        self.server: Any = None
        self._in_events = False
        self._dirty: set[MachineProtocol] = set()

    # -- serving -----------------------------------------------------------------------------

    def protocol_factory(self) -> MachineProtocol:
        machine = FixpSession(
            SessionConfig(
                Role.ACCEPTOR, backup=self.backup, environment_indicator=self.environment_indicator
            )
        )
        proto = MachineProtocol(
            machine,
            self._on_events,
            clock=self.clock,
            before_write=self.journal.commit,
            on_close=self._closed,
        )
        self.connections.add(proto)
        return proto

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        self.server = await serve(self.protocol_factory, host, port)
        sock = self.server.sockets[0].getsockname()
        self.address = (sock[0], sock[1])
        return self.address

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        for proto in list(self.connections):
            proto.close()

    def _closed(self, proto: MachineProtocol) -> None:
        self.connections.discard(proto)

    # -- fault tolerance (seed 004 "Failover Processing") -----------------------------------------

    @staticmethod
    def pair(primary: MarketSegmentGateway, backup: MarketSegmentGateway) -> None:
        """Make two instances one segment's primary and backup: they must share the book."""
        if primary.book is not backup.book:
            raise ValueError("primary and backup must share one SessionBook")
        primary.peer, backup.peer = backup, primary

    async def fail(self) -> None:
        """This instance fails (an operator drill or a crash): it stops listening and its
        connections drop without a Terminate. Its customers' sequence state stays in the shared
        book so the other instance can continue the streams (I-295). No cancel on disconnect: the
        customer's session lives on at the backup."""
        self.failed = True
        for cs in self.book.sessions.values():
            if cs.primary is not None and cs.protocol in self.connections:
                self._remember(cs, cs.primary)
                cs.primary = cs.protocol = None
            if cs.backup is not None and cs.backup_protocol in self.connections:
                cs.backup = cs.backup_protocol = None  # I-299: the primary is unaffected
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for proto in list(self.connections):
            proto.abort()
        if not self.backup and self.peer is not None and not self.peer.failed:
            # I-295: the backup is elected primary; what this instance published just before
            # it failed may not have reached Drop Copy (seed 003 "Fault Tolerance", D-069)
            self.peer.promote(in_flight_since=self.clock() - self.in_flight_window)
            self.backup = True  # when restored, this instance serves as the backup

    def promote(self, in_flight_since: int | None = None) -> None:
        """The backup instance becomes primary (I-276, I-295, I-296): each established backup
        connection is told with a Sequence carrying FaultToleranceIndicator=1 and the NextSeqNo
        where the old primary left off, and becomes the customer's primary connection.

        ``in_flight_since``: the messages the failed primary published from then on are
        published to the activity log again flagged PossResend, so Drop Copy sends them with
        97=Y (seed 003 "Fault Tolerance", D-069); their owners already have them."""
        if not self.backup:
            return
        now = self.clock()
        self.backup = False
        if in_flight_since is not None and self.activity is not None:
            for record in self.activity.since(in_flight_since):
                if not record.poss_resend:
                    self.activity.append(
                        record.owner, record.uuid, record.seq_num, now, record.sbe,
                        poss_resend=True,
                    )  # fmt: skip
        for cs in self.book.sessions.values():
            machine, proto = cs.backup, cs.backup_protocol
            if machine is None or proto not in self.connections:
                continue
            if cs.primary is not None:  # the customer's primary is still up elsewhere
                continue
            streams = cs.stream(machine.uuid)
            machine.promote(now, next_seq_no=streams.next_out, expected_seq_no=streams.next_in)
            cs.primary, cs.protocol = machine, proto
            cs.backup = cs.backup_protocol = None
            proto.flush()
        # connections not yet established continue as connections to the primary
        for proto in self.connections:
            assert isinstance(proto.machine, FixpSession)
            if proto.machine.state is not State.ESTABLISHED and proto.machine.backup:
                proto.machine.backup = False

    async def restore(self, host: str | None = None, port: int | None = None) -> tuple[str, int]:
        """Market operations bring a failed instance back, as the backup (I-299)."""
        self.failed = False
        self.backup = True
        h, p = self.address or ("127.0.0.1", 0)
        return await self.start(host or h, p if port is None else port)

    @staticmethod
    def _remember(cs: CustomerSession, machine: FixpSession) -> None:
        streams = cs.stream(machine.uuid)
        streams.next_out = max(streams.next_out, machine.next_out)
        streams.next_in = max(streams.next_in, machine.next_in)

    # -- events from a connection --------------------------------------------------------------

    def _on_events(self, proto: MachineProtocol, events: list[Any]) -> None:
        self._in_events = True
        try:
            self._handle(proto, events)
        finally:
            self._in_events = False
        # other customers' connections that got messages (e.g. the resting side of a fill);
        # the pump flushes ``proto`` itself: one write and one journal commit per read
        dirty, self._dirty = self._dirty, set()
        for other in dirty:
            if other is not proto:
                other.flush()

    def _handle(self, proto: MachineProtocol, events: list[Any]) -> None:
        machine = proto.machine
        assert isinstance(machine, FixpSession)
        now = self.clock()
        for e in events:
            if isinstance(e, ev.NegotiateReceived):
                self._negotiate(machine, e.message, now)
            elif isinstance(e, ev.EstablishReceived):
                self._establish(proto, machine, e, now)
            elif isinstance(e, ev.BusinessMessage):
                cs = self.book.get((machine.session_id, machine.firm), now)
                cs.stream(machine.uuid).next_in = machine.next_in
                for owner, out in self.handler.on_business(cs.owner, self.segment, e.message, now):
                    self.publish(owner, out, now)
            elif isinstance(e, ev.BusinessMessageOnBackup):
                self._business_on_backup(machine, e, now)
            elif isinstance(e, ev.RetransmitRequested):
                self._retransmit(machine, e, now)
            elif isinstance(e, ev.Terminated):
                self._terminated(machine, e, now)

    def _authenticate(
        self, msg: m.Negotiate500 | m.Establish503, now: int
    ) -> tuple[int, AccessKey | None]:
        key = self.keys.lookup(msg.AccessKeyID)
        if key is None or not key.usable(now) or (key.session, key.firm) != (msg.Session, msg.Firm):
            return RejectCode.HMACNotAuthenticated, None  # unknown, deleted or expired key (I-030)
        expected = signing.signature(key.secret_key, signing.canonical_of(msg))
        if not hmac.compare_digest(expected, msg.HMACSignature):
            return RejectCode.HMACNotAuthenticated, None
        if key.segments is not None and self.segment not in key.segments:
            return RejectCode.SessionBlocked, None  # I-090: not this session's gateway
        return -1, key

    def _negotiate(self, machine: FixpSession, msg: m.Negotiate500, now: int) -> None:
        code, key = self._authenticate(msg, now)
        if key is None:
            machine.reject_negotiate(now, code, _AUTH_REASONS[code])
            return
        cs = self.book.get((msg.Session, msg.Firm), now)
        if self.backup:
            # I-267, AI-08: no Negotiate on the backup; 27 while the primary is not established
            if cs.primary is not None and cs.primary.state is State.ESTABLISHED:
                machine.reject_negotiate(
                    now, RejectCode.NegotiateNotAllowed, "Negotiate not allowed on the backup"
                )
            else:
                machine.reject_negotiate(
                    now, RejectCode.DesignatedBackup, "Negotiate with the designated primary first"
                )
            return
        if msg.UUID <= cs.last_uuid:
            machine.reject_negotiate(
                now, RejectCode.InvalidUUID, "UUID not greater than the last used"
            )  # I-014
            return
        if msg.RequestTimestamp <= cs.last_request_timestamp:
            machine.reject_negotiate(
                now, RejectCode.InvalidTimestamp, "RequestTimestamp not increasing"
            )  # AI-23
            return
        cs.last_request_timestamp = msg.RequestTimestamp
        prev_uuid, prev_seq = cs.last_sent
        machine.accept_negotiate(
            now,
            previous_uuid=prev_uuid,
            previous_seq_no=prev_seq,
            secret_key_expiration=key.days_to_expiry(now),
        )

    def _establish(
        self, proto: MachineProtocol, machine: FixpSession, e: ev.EstablishReceived, now: int
    ) -> None:
        msg = e.message
        code, key = self._authenticate(msg, now)
        if key is None:
            machine.reject_establish(now, code, _AUTH_REASONS[code])
            return
        cs = self.book.get((msg.Session, msg.Firm), now)
        if msg.RequestTimestamp <= cs.last_request_timestamp:
            machine.reject_establish(
                now, RejectCode.InvalidTimestamp, "RequestTimestamp not increasing"
            )
            return
        if self.backup:
            self._establish_backup(proto, machine, cs, msg, key, now)
            return
        if e.negotiated:
            if msg.UUID <= cs.last_uuid:
                machine.reject_establish(
                    now, RejectCode.InvalidUUID, "UUID not greater than the last used"
                )
                return
            first_of_week = not cs.initialized
            streams = cs.stream(msg.UUID)  # a new UUID starts at 1 both ways (I-012, I-029)
        else:
            # intra-session binding: only the current UUID can be re-bound (AI-06, I-083)
            if not cs.initialized or msg.UUID != cs.last_uuid:
                machine.terminate(
                    now,
                    TerminateCode.InvalidUUID,
                    "Establish without Negotiate for an unknown UUID",
                )
                return
            first_of_week = False
            streams = cs.stream(msg.UUID)
        if (
            cs.primary is not None
            and cs.primary is not machine
            and cs.primary.state is State.ESTABLISHED
        ):
            machine.reject_establish(
                now, RejectCode.SessionBlocked, "session already established on another connection"
            )
            return
        cs.last_request_timestamp = msg.RequestTimestamp
        prev_uuid, prev_seq = cs.last_sent
        if not e.negotiated and prev_uuid == msg.UUID:
            prev_uuid = (
                msg.UUID
            )  # AI-14: on a same-UUID re-establish PreviousUUID is the UUID itself
        expected = streams.next_in
        if cs.inbound_unknown and not e.negotiated and msg.UUID == cs.current_uuid:
            expected = max(1, msg.NextSeqNo)  # rebuilt after a restart: take the customer's word
        events = machine.accept_establish(
            now, next_seq_no=streams.next_out, expected_seq_no=expected, previous_uuid=prev_uuid,
            previous_seq_no=prev_seq, secret_key_expiration=key.days_to_expiry(now), first_of_week=first_of_week,
        )  # fmt: skip
        if machine.state is State.ESTABLISHED:
            if e.negotiated:  # remembered for a restart (one marker per UUID)
                self.journal.append(self.book.uuid_stream(cs.owner), msg.UUID, 1, now, b"")
            cs.inbound_unknown = False
            cs.initialized = True
            cs.last_uuid = msg.UUID
            cs.current_uuid = msg.UUID
            cs.primary = machine
            cs.protocol = proto
            streams.next_in = machine.next_in
        for extra in events:
            if isinstance(extra, ev.Terminated):
                self._terminated(machine, extra, now)

    def _establish_backup(
        self,
        proto: MachineProtocol,
        machine: FixpSession,
        cs: CustomerSession,
        msg: m.Establish503,
        key: AccessKey,
        now: int,
    ) -> None:
        """The customer's backup process binds to the backup instance (seed 004 "Fault
        Tolerance": Negotiate and Establish on the primary first, then Establish on the backup
        with the same UUID; I-265, I-268, I-278, AI-08)."""
        primary = cs.primary
        if primary is None or primary.state is not State.ESTABLISHED:
            machine.reject_establish(
                now, RejectCode.DesignatedBackup, "Establish with the designated primary first"
            )  # I-265
            return
        if msg.UUID != primary.uuid:
            machine.reject_establish(
                now, RejectCode.InvalidUUID, "backup must use the primary's UUID"
            )  # I-268, AI-08
            return
        if (
            cs.backup is not None
            and cs.backup is not machine
            and cs.backup.state is State.ESTABLISHED
        ):
            machine.reject_establish(
                now, RejectCode.SessionBlocked, "backup already established on another connection"
            )
            return
        cs.last_request_timestamp = msg.RequestTimestamp
        prev_uuid, prev_seq = cs.last_sent
        machine.accept_establish(
            now, next_seq_no=primary.next_out, expected_seq_no=primary.next_in, previous_uuid=prev_uuid,
            previous_seq_no=prev_seq, secret_key_expiration=key.days_to_expiry(now),
        )  # fmt: skip  # the ack says NextSeqNo=0 (I-272)
        if machine.state is State.ESTABLISHED:
            cs.backup, cs.backup_protocol = machine, proto

    def _business_on_backup(
        self, machine: FixpSession, e: ev.BusinessMessageOnBackup, now: int
    ) -> None:
        """I-275, AI-08: business messages go only on the primary stream; the refusal is a
        BusinessReject 131 published on the customer's (primary) stream."""
        owner = (machine.session_id, machine.firm)
        for out in reports.business_reject(
            e.message, owner, self.segment, BusinessRejectReason.NOT_SUPPORTED_ON_BACKUP,
            "Message type not supported on backup instance", now,
        ):  # fmt: skip
            self.publish(owner, out, now)

    def _wake(self, proto: MachineProtocol) -> None:
        """Write what ``proto``'s machine has queued: now, or after the current read."""
        if self._in_events:
            self._dirty.add(proto)
        else:
            proto.flush()

    # -- publishing -------------------------------------------------------------------------------

    def publish(self, owner: Owner, msg: MessageBase, now: int) -> int:
        """Send a business message to its owner (or keep it for retransmission if the owner is not
        established); returns its SeqNum. Journalled in every case (I-085, I-115, I-249)."""
        cs = self.book.get(owner, now)
        stream = self.book.journal_stream(owner)
        machine = cs.primary
        uuid = cs.current_uuid
        live = machine is not None and machine.state is State.ESTABLISHED and machine.uuid == uuid
        if live:
            assert machine is not None
            seq = machine.next_out
            sbe = machine.send_business(msg, now)
            cs.stream(uuid).next_out = machine.next_out
        else:
            streams = cs.stream(uuid)
            seq = streams.next_out
            sbe = fields.stamp(msg.encode(), seq, uuid, now)
            streams.next_out += 1
        self.journal.append(stream, uuid, seq, now, sbe)
        if self.activity is not None:  # same journal, same commit: never one without the other
            self.activity.append(owner, uuid, seq, now, sbe)
        if not live:
            self.journal.commit()
        elif cs.protocol is not None:
            self._wake(cs.protocol)  # the commit happens just before the write
        cs.last_sent = (cs.current_uuid, seq)
        return seq

    def _retransmit(self, machine: FixpSession, e: ev.RetransmitRequested, now: int) -> None:
        cs = self.book.get((machine.session_id, machine.firm), now)
        stream = self.book.journal_stream(cs.owner)
        week = [u.uuid for u in self.journal.uuids(stream, since=cs.week_start)]
        if e.uuid not in week and e.uuid not in cs.streams:
            machine.reject_retransmit(
                now, e.message, RetransmitRejectCode.InvalidUUID, "UUID not used this week"
            )  # I-183
            return
        last = self.journal.last_seq(stream, e.uuid)
        if e.from_seq_no > last:
            machine.reject_retransmit(
                now, e.message, RetransmitRejectCode.OutOfRange, f"last sequence number is {last}"
            )
            return
        count = e.count or (last - e.from_seq_no + 1)  # 0 = up to the latest (I-176, AI-11)
        if count > machine.config.max_retransmit:
            machine.reject_retransmit(
                now, e.message, RetransmitRejectCode.RequestLimitExceeded, "more than 2500 messages"
            )
            return
        to_seq = min(last, e.from_seq_no + count - 1)
        entries = self.journal.read(stream, e.uuid, e.from_seq_no, to_seq)
        machine.send_retransmission(now, e.message, [x.data for x in entries])

    def _terminated(self, machine: FixpSession, e: ev.Terminated, now: int) -> None:
        if not machine.session_id:
            return
        cs = self.book.sessions.get((machine.session_id, machine.firm))
        if cs is None:
            return
        if cs.backup is machine:  # I-292: the backup goes, the primary stays
            cs.backup = cs.backup_protocol = None
            return
        if cs.primary is not machine:
            return
        self._remember(cs, machine)
        cs.primary = None
        cs.protocol = None
        backup, backup_proto = cs.backup, cs.backup_protocol
        if backup is not None and not backup.closed:
            # I-251, I-284, I-285, I-287, AI-29: the primary's end takes the backup with it
            cs.backup = cs.backup_protocol = None
            backup.terminate(
                now, TerminateCode.DisconnectOrTerminateFromPrimary, "primary session ended"
            )
            if backup_proto is not None:
                self._wake(backup_proto)
        graceful = e.code == 0 and e.by_peer is not None
        for owner, out in self.handler.on_disconnect(cs.owner, self.segment, graceful, now):
            self.publish(owner, out, now)
