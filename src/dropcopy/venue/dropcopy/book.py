"""The Drop Copy wing's memory: target sequence streams, fed in order from the activity logs.

Theory of operation
-------------------
A :class:`DropCopyBook` serves one kind of Drop Copy gateway (seed 003 "Drop Copy 4.0 Session
Model", "Managing Sequence Numbers"):

* the **CGW** book (``sub_id = "G"``) listens to the activity logs of *every* market segment and
  keeps **one** sequence stream per target session: fills in two segments come out with
  consecutive MsgSeqNums on one connection (D-075, D-086, D-088);
* an **MSGW** book (``sub_id`` = the market segment ID) listens to *its* segment only and keeps
  one stream per target session on that segment; the same target logs on to every segment's
  gateway and each stream starts at 1 (D-003, D-071, D-076, D-083, D-087, D-089).

Both the primary and the backup gateway instance of a kind share the book (seed 003 "Fault
Tolerance": the promoted backup carries on the sequence streams, D-065).

**Routing.** Each activity record (an iLink 3 message as sent to its owner) goes to the active
target sessions that have its owner (Session, Firm) as a source (D-074, D-081), of the book's
kind (AD-19: a CGW target is served by the CGW book, an MSGW target by the segment books), whose
message-type filter accepts it (:mod:`.filters`, AD-21). The message is translated to FIX 4.2
once (:func:`dropcopy.fix.translate.translate_sbe`: inner 56 = the source session) and wrapped
in a 35=n per target (D-034). Nothing from an unattached source ever reaches a target.

**Streams and the journal.** Every copy takes the stream's next MsgSeqNum whether or not the
client is connected (store and forward: a client that logs on later sees the gap and asks for
it, D-029) and is journalled under stream ``dc/<session id>/<sub id>`` with UUID = the week's
start-up in seconds, so a new week starts again at 1 (D-050) and a resend works after a restart.
Numbers taken by session messages (heartbeats, Test Requests, rejects, Logouts) are recorded as
a high-water mark (``dc-mark/...``) and the client's next expected number at each disconnect
(``dc-in/...``), both in the same commit, so a restarted gateway continues both directions.
Which activity has been routed is check-pointed (``dc-cursor/<sub id>``) at each commit.

**PossResend (97=Y).** Seed 003 "Fault Tolerance" names three cases, all produced here:
activity the book catches up on at start (after a dual failure, D-067) or that was generated
before the week's start-up (D-067); activity the iLink gateway flags as possibly in flight during
its failover (D-069, :data:`~dropcopy.venue.activity.FLAG_POSS_RESEND`); and, when a backup Drop
Copy instance is promoted, the copies the failed primary wrote in its last
``in_flight_window`` (D-068), copied again as new messages. Consumers de-duplicate these by
the inner 5979 RequestTime and inner MsgSeqNum (wire notes §2.4).

**Durability.** Live copies are written by the connection's pump, whose ``before_write`` hook
calls :meth:`DropCopyBook.commit`; copies for disconnected targets are committed by a flush
scheduled once per event-loop turn. A copy is never written before it is durable.

**Batching.** Activity arrives in the publisher's turn (an iLink 3 read), which commits the same
journal before it writes. The first :data:`INLINE_ROUTES` records of a turn are routed there
and then, their cursor journalled with their copies, so that the publisher's commit holds
everything and the flush has nothing left to commit: a quiet market's copy waits for one fsync,
not two. The rest of a busy turn is queued and routed by the flush, in one loop: routing a few
hundred records together, rather than between the publisher's own steps, takes 40 % less CPU
(the code and data stay in the processor's caches), and the flush commits them with their cursor.
A crash before that commit loses nothing: the activity is journalled, the cursor is behind it,
and the restarted book copies it with 97=Y (D-067).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

from dropcopy.fix.encapsulation import encapsulate
from dropcopy.fix.translate import (
    Instrument,
    PartyDetails,
    TranslationContext,
    TranslationError,
    format_utc_timestamp,
    prepare_translations,
    translate_sbe,
)
from dropcopy.fix42.session import LOGGED_ON, Fix42Session
from dropcopy.ilink3.fields import template_of
from dropcopy.journal import Journal
from dropcopy.store.models import SessionType
from dropcopy.venue.activity import Activity, ActivityLog
from dropcopy.venue.calendar import Calendar

from .filters import accepts
from .targets import Owner, Target, TargetDirectory

if TYPE_CHECKING:
    from dropcopy.aio.pump import MachineProtocol

log = logging.getLogger("dropcopy.venue.dropcopy")

SECOND: Final = 1_000_000_000
#: Activity records of one event-loop turn routed as they are published (module docstring).
INLINE_ROUTES: Final = 32
HOUR: Final = 3600 * SECOND
#: Seed 003 "Message Resend Request Validation": only messages sent within 48 hours (D-051).
RESEND_WINDOW: Final = 48 * HOUR
_DAY: Final = 24 * HOUR
#: journal UUID of a stream = week start-up (s) * GENERATIONS + in-session Logons that week
GENERATIONS: Final = 1000

Scheduler = Callable[[Callable[[], None]], None]


def source_comp_id(owner: Owner) -> str:
    """The inner 56 of a copy: the source iLink 3 session, Session ID + Firm ID."""
    return owner[0] + owner[1]


@dataclass(eq=False)
class TargetStream:
    """One target session's sequence stream on one gateway kind, for one week."""

    target: Target
    sub_id: str
    week_start: int
    name: str
    next_seq: int = 1  # CME's next MsgSeqNum while no connection is logged on
    next_expected: int = 1  # the client's next MsgSeqNum
    #: False after a restart that found numbers of this week but no record of the client's
    #: next number: the next Logon's 34 is taken as it is
    expected_known: bool = True
    marked: int = 0  # highest MsgSeqNum recorded in the journal (copy or mark)
    in_marked: int = 0
    session: Fix42Session | None = None
    protocol: MachineProtocol | None = None
    # the client's identity from its last Logon, for copies written while it is away
    peer_sub_id: str = ""
    peer_location_id: str = ""
    #: in-session Logons (141=Y) this week: each restarts the numbers under a new journal UUID
    generation: int = 0

    @property
    def uuid(self) -> int:
        return (self.week_start // SECOND) * GENERATIONS + self.generation

    @property
    def live(self) -> bool:
        s = self.session
        return s is not None and s.state in LOGGED_ON

    @property
    def current_next_seq(self) -> int:
        s = self.session
        return s.next_out if s is not None and s.state in LOGGED_ON else self.next_seq


@dataclass
class BookStats:
    routed: int = 0  # activity records looked at
    copies: int = 0  # 35=n journalled
    filtered: int = 0  # copies a target's filter refused
    untranslatable: int = 0
    poss_resend: int = 0


class DropCopyBook:
    """Target streams of one Drop Copy gateway kind (CGW, or one MSGW segment)."""

    def __init__(
        self,
        sub_id: str,
        journal: Journal,
        directory: TargetDirectory,
        *,
        calendar: Calendar | None = None,
        instruments: Callable[[int], Instrument | None] | None = None,
        party_details: Callable[[Owner, int], PartyDetails | None] | None = None,
        schedule: Scheduler | None = None,
        clock: Callable[[], int] | None = None,
        in_flight_window: int = SECOND,
        segments: Iterable[int] = (),
    ) -> None:
        self.sub_id = sub_id
        self.kind = SessionType.CGW if sub_id == "G" else SessionType.MSGW
        self.segment = None if sub_id == "G" else int(sub_id)
        self.journal = journal
        self.directory = directory
        self.calendar = calendar or Calendar()
        self._instruments = instruments
        self._party_details = party_details
        self._contexts: dict[tuple[str, str, int], TranslationContext] = {}
        self.schedule = schedule
        self.clock = clock or time.time_ns
        self.in_flight_window = in_flight_window
        self.segments = sorted(set(segments))
        self.streams: dict[str, TargetStream] = {}
        self.stats = BookStats()
        self.cursor: dict[int, int] = {}  # segment -> last activity number routed
        self._cursor_stream = f"dc-cursor/{sub_id}"
        self._cursor_seq = journal.last_seq(self._cursor_stream, 0)
        self._cursor_dirty = False
        self._inline = INLINE_ROUTES
        self._queue: list[Activity] = []  # published, to be routed by the flush
        self._dirty_streams: set[TargetStream] = set()
        self._dirty_protocols: set[MachineProtocol] = set()
        self._flush_scheduled = False
        self.closed = False
        self._week = (0, 0)
        self.logs: dict[int, ActivityLog] = {}
        prepare_translations()

    @property
    def instruments(self) -> Callable[[int], Instrument | None] | None:
        return self._instruments

    @instruments.setter
    def instruments(self, lookup: Callable[[int], Instrument | None] | None) -> None:
        self._instruments = lookup
        self._contexts.clear()

    @property
    def party_details(self) -> Callable[[Owner, int], PartyDetails | None] | None:
        return self._party_details

    @party_details.setter
    def party_details(self, lookup: Callable[[Owner, int], PartyDetails | None] | None) -> None:
        self._party_details = lookup
        self._contexts.clear()

    # ----------------------------------------------------------------------------- calendar

    def week_start(self, now: int) -> int:
        start, end = self._week
        if not start <= now < end:
            start = self.calendar.week_start(now)
            end = self.calendar.week_start(start + 8 * _DAY)
            self._week = (start, end)
        return start

    # ------------------------------------------------------------------------------ streams

    def stream(self, target: Target, now: int) -> TargetStream:
        """The target's stream this week (restored from the journal the first time)."""
        week = self.week_start(now)
        s = self.streams.get(target.session_id)
        if s is None or s.week_start != week:
            if s is not None and s.session is not None and s.week_start != week:
                log.info("%s: weekly reset while logged on", target.session_id)
            s = TargetStream(
                target,
                self.sub_id,
                week,
                f"dc/{target.session_id}/{self.sub_id}",
            )
            self._restore(s)
            self.streams[target.session_id] = s
        elif s.target is not target:
            s.target = target  # the directory reloaded (filter or sources edited)
        return s

    def _restore(self, s: TargetStream) -> None:
        j = self.journal
        base = (s.week_start // SECOND) * GENERATIONS
        used = [
            info.uuid
            for name in (s.name, mark_stream(s.name))
            for info in j.uuids(name, since=s.week_start)
            if base <= info.uuid < base + GENERATIONS
        ]
        s.generation = max(used) - base if used else 0
        last_copy = j.last_seq(s.name, s.uuid)
        last_mark = j.last_seq(mark_stream(s.name), s.uuid)
        s.marked = max(last_copy, last_mark)
        s.next_seq = s.marked + 1
        s.in_marked = j.last_seq(in_stream(s.name), s.uuid)
        if s.in_marked:
            s.next_expected = s.in_marked
        elif s.marked:
            # numbers were used this week but the client's are unknown (a crash while it
            # was logged on): its next Logon's 34 is believed (like iLink 3 after a restart)
            s.expected_known = False

    def first_retrievable(self, s: TargetStream, now: int) -> int:
        """AD-02: the lowest MsgSeqNum sent at or after max(now - 48 h, the week's start-up),
        or the next number to be sent when there is none (D-050, D-051, D-161, 5024).

        Within 48 hours of the start-up everything this week (this generation) qualifies.
        Later, the earliest copy or session-message mark journalled since then is taken (a
        session message between the two is gap filled either way)."""
        since = max(now - RESEND_WINDOW, s.week_start)
        if since == s.week_start:
            return 1
        found = [
            first
            for name in (s.name, mark_stream(s.name))
            if (first := self.journal.first_seq_since(name, s.uuid, since)) is not None
        ]
        return min(found) if found else s.current_next_seq

    def load(self, s: TargetStream, first: int, last: int) -> list[bytes]:
        return [e.data for e in self.journal.read(s.name, s.uuid, first, last)]

    # ----------------------------------------------------------------------------- activity

    def attach(self, log_: ActivityLog, now: int) -> None:
        """Copy this segment's activity from now on, after catching up on what this book has
        not routed yet (after a restart: D-067, with 97=Y)."""
        if self.segment is not None and log_.segment != self.segment:
            raise ValueError(f"MSGW book {self.sub_id} cannot copy segment {log_.segment}")
        self.logs[log_.segment] = log_
        if log_.segment not in self.segments:
            self.segments.append(log_.segment)
        done = self._checkpointed(log_.segment)
        if done is None:
            # never routed: this week's activity so far (generated before this book started)
            first = self.journal.first_seq_since(log_.stream, 0, self.week_start(now))
            done = log_.last_number if first is None else first - 1
        self.cursor[log_.segment] = done
        if done < log_.last_number:
            for record in log_.read(done + 1):
                self.route(record, now, recovered=True)
        log_.listeners.append(self._on_activity)

    def _on_activity(self, record: Activity) -> None:
        now = record.sent_at  # the publishing gateway's now
        if self.schedule is None:  # no event loop to batch on
            self.route(record, now)
        elif self._inline and not self._queue:
            self._inline -= 1
            self.route(record, now)
            if self._cursor_dirty:  # into the publisher's commit, with the copies
                self._checkpoint(now)
        else:
            self._queue.append(record)
            self._schedule_flush()

    def route_queued(self) -> None:
        """Route the activity queued in this turn (the flush does it)."""
        queue, self._queue = self._queue, []
        for record in queue:
            self.route(record, record.sent_at)

    def _checkpointed(self, segment: int) -> int | None:
        last = self.journal.last_seq(self._cursor_stream, 0)
        if not last:
            return None
        entry = self.journal.read(self._cursor_stream, 0, last, last)
        if not entry:
            return None
        for item in entry[0].data.decode().split(","):
            seg, _, number = item.partition(":")
            if seg and int(seg) == segment:
                return int(number)
        return None

    def route(self, record: Activity, now: int, *, recovered: bool = False) -> int:
        """Copy one activity record to every target that receives it; returns how many."""
        self.stats.routed += 1
        seg = record.segment
        if record.number <= self.cursor.get(seg, 0):
            return 0  # already routed (a listener and a catch-up overlapping)
        self.cursor[seg] = record.number
        self._cursor_dirty = True
        targets = self.directory.targets_for(record.owner, now)
        if not targets:
            self._schedule_flush()
            return 0
        template = template_of(record.sbe)
        # D-067 (caught up after a restart or a dual failure), D-069 (iLink failover)
        poss_resend = recovered or record.poss_resend
        sent = 0
        inner: bytes | None = None
        for target in targets:
            if target.session_type is not self.kind:
                continue  # AD-19: each target type is served by its own gateways
            if not accepts(target.message_types, template):
                self.stats.filtered += 1
                continue
            if inner is None:
                inner = self._inner(record)
                if inner is None:
                    return 0
            self.deliver(self.stream(target, now), inner, now, poss_resend=poss_resend)
            sent += 1
        if not sent:
            self._schedule_flush()
        return sent

    def _inner(self, record: Activity) -> bytes | None:
        key = (record.session, record.firm, record.segment)
        ctx = self._contexts.get(key)
        if ctx is None:
            ctx = self._contexts[key] = self._context(record.owner, record.segment)
        try:
            inner = translate_sbe(record.sbe, ctx)
        except TranslationError as exc:
            self.stats.untranslatable += 1
            log.warning("activity %s/%s not copied: %s", record.segment, record.number, exc)
            inner = None
        return inner

    def _context(self, owner: Owner, segment: int) -> TranslationContext:
        party = self._party_details
        return TranslationContext(
            sender_comp_id=source_comp_id(owner),
            market_segment_id=segment,
            instruments=self._instruments or _none,
            party_details=(lambda pid: party(owner, pid)) if party is not None else _none,
        )

    # ------------------------------------------------------------------------------ sending

    def deliver(self, s: TargetStream, inner: bytes, now: int, *, poss_resend: bool = False) -> int:
        """Give the stream its next copy: written to the logged-on client (after the commit),
        or kept in the journal for its resend request. Returns the MsgSeqNum."""
        session = s.session
        if session is not None and session.state in LOGGED_ON:
            sent = session.send_encapsulated(now, inner, poss_resend=poss_resend)
            seq, data = sent.seq_num, sent.data
            if s.protocol is not None:
                self._dirty_protocols.add(s.protocol)
        else:
            seq = s.next_seq
            data = encapsulate(inner, self._offline_header(s, seq, now, poss_resend))
            s.next_seq = seq + 1
        self.journal.append(s.name, s.uuid, seq, now, data)
        s.marked = seq
        self.stats.copies += 1
        if poss_resend:
            self.stats.poss_resend += 1
        self._schedule_flush()
        return seq

    def _offline_header(
        self, s: TargetStream, seq: int, now: int, poss_resend: bool
    ) -> list[tuple[int, str | int]]:
        """The header the copy would have had on the connection (CME's order, wire notes
        §1.1); a resend sends it again with 43=Y and 122 = this 52."""
        h: list[tuple[int, str | int]] = [
            (34, seq),
            (369, s.next_expected - 1 if s.expected_known else 0),
            (52, format_utc_timestamp(now)),
            (49, "CME"),
            (50, self.sub_id),
            (56, s.target.sender_comp_id),
        ]
        if s.peer_sub_id:
            h.append((57, s.peer_sub_id))
        if s.peer_location_id:
            h.append((143, s.peer_location_id))
        if poss_resend:
            h.append((97, "Y"))
        return h

    # ----------------------------------------------------------------------- commit / flush

    def logged_on(self, s: TargetStream, session: Fix42Session, protocol: MachineProtocol) -> None:
        """``session`` was accepted for ``s``: copies go to it from now on."""
        s.session, s.protocol = session, protocol
        s.peer_sub_id = session.peer_sub_id
        s.peer_location_id = session.peer_location_id
        s.expected_known = True
        self._dirty_streams.add(s)

    def reset(self, s: TargetStream) -> None:
        """An in-session Logon (141=Y) restarted both directions at 1 (D-032, D-033): earlier
        copies become unrecoverable, the stream continues under a new journal generation."""
        s.generation += 1
        s.marked = s.in_marked = 0
        s.next_seq = s.next_expected = 1

    def disconnected(self, s: TargetStream, now: int) -> None:
        """The stream's connection ended: keep both numbers for the next Logon (D-026)."""
        session = s.session
        if session is None:
            return
        self._mark(s, now)
        s.next_seq = session.next_out
        s.next_expected = session.next_in
        s.session = s.protocol = None
        self._dirty_streams.discard(s)
        self._schedule_flush()

    def consumed(self, s: TargetStream, next_out: int, now: int) -> None:
        """A connection that is not the stream's (a refused Logon's Logout) used numbers of the
        stream up to ``next_out - 1``: record them so the next Logon ack follows on."""
        if next_out > s.next_seq:
            s.next_seq = next_out
            s.marked = next_out - 1
            self.journal.append(mark_stream(s.name), s.uuid, s.marked, now, b"o")
            self._schedule_flush()

    def note_written(self, s: TargetStream) -> None:
        """A connection of ``s`` is about to write: record numbers its session messages took."""
        self._dirty_streams.add(s)

    def _mark(self, s: TargetStream, now: int) -> None:
        session = s.session
        if session is None:
            return
        if session.next_out - 1 > s.marked:
            s.marked = session.next_out - 1
            self.journal.append(mark_stream(s.name), s.uuid, s.marked, now, b"o")
        if s.expected_known and session.next_in > s.in_marked:
            s.in_marked = session.next_in
            self.journal.append(in_stream(s.name), s.uuid, s.in_marked, now, b"i")

    def commit(self) -> None:
        """Make everything routed so far durable (the pumps' ``before_write``)."""
        now = 0
        if self._dirty_streams or self._cursor_dirty:
            now = self.clock()
        for s in self._dirty_streams:
            self._mark(s, now)
        self._dirty_streams.clear()
        if self._cursor_dirty:
            self._checkpoint(now)
        self.journal.commit()

    def _checkpoint(self, now: int) -> None:
        """Journal the cursor (``dc-cursor/<sub id>``: ``segment:number`` of each segment)."""
        self._cursor_dirty = False
        self._cursor_seq += 1
        cursor = self.cursor
        if len(cursor) == 1:
            data = b"%d:%d" % next(iter(cursor.items()))
        else:
            data = ",".join(f"{seg}:{n}" for seg, n in sorted(cursor.items())).encode()
        self.journal.append(self._cursor_stream, 0, self._cursor_seq, now, data)

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled and self.schedule is not None:
            self._flush_scheduled = True
            self.schedule(self.flush)

    def close(self) -> None:
        """Route and commit what is left; later scheduled flushes do nothing (the journal may
        close)."""
        if not self.closed:
            self.route_queued()
            self.commit()
            self.closed = True

    def flush(self) -> None:
        """Commit, then write every connection that has copies waiting (once per loop turn)."""
        self._flush_scheduled = False
        if self.closed:
            return
        self._inline = INLINE_ROUTES
        self.route_queued()
        self.commit()
        protocols, self._dirty_protocols = self._dirty_protocols, set()
        for proto in protocols:
            proto.flush()


class _Listed(Protocol):
    security_id: int
    symbol: str
    security_desc: str
    security_type: str


def instrument_lookup(instruments: Iterable[_Listed]) -> Callable[[int], Instrument | None]:
    """SecurityID -> the reference data of inner 55/107/167 (from the engine's instruments)."""
    table = {
        i.security_id: Instrument(i.symbol, i.security_desc, i.security_type) for i in instruments
    }
    return table.get


def _none(_key: int) -> None:
    return None


def mark_stream(name: str) -> str:
    return name.replace("dc/", "dc-mark/", 1)


def in_stream(name: str) -> str:
    return name.replace("dc/", "dc-in/", 1)
