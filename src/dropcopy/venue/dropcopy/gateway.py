"""Drop Copy 4.0 gateways: CGW and MSGW instances, designated primary and backup.

Theory of operation
-------------------
Each TCP connection runs a :class:`~dropcopy.fix42.Fix42Session` in the acceptor role, driven
by the asyncio pump. The machine settles everything visible on the connection (header tables,
sequence numbers, heartbeats, the resend service's checks and batches); the gateway answers
what needs the venue's memory:

* **Logon** (seed 003 "Session Logon", AX-01, AD-17): the Access Key ID must name a usable key
  of this very target session, and the HMAC must verify (constant time), else ``Invalid logon.
  Logout forced.``; the 6-character Session ID must be an active target session of this
  gateway's kind (a CGW session on an MSGW port and vice versa is refused, D-077) else
  ``Invalid SenderCompID (49) tag. Logout forced.``; the designated backup refuses while the
  designated primary is up with ``Backup session not allowed. Logout forced.`` and 789 (D-064);
  a second connection of a session already logged on here is refused. Otherwise the stream's
  numbers go to ``accept_logon``: CME's next MsgSeqNum and the client's next expected one (1 at
  the beginning of the week, the last 789 mid-week: D-025, D-026). An in-session Logon (141=Y)
  restarts both at 1 (D-032).
* **Resend Request** (D-035..D-059): the journal's messages, the first still retrievable
  (:meth:`~.book.DropCopyBook.first_retrievable`: 48 hours, this week, D-050, D-051, AD-02).
* **fault tolerance** (seed 003 "Fault Tolerance", D-064..D-068, D-082): :func:`pair` makes two
  instances of one kind share a book; :meth:`DropCopyGateway.fail` drops an instance (its
  connections vanish), :meth:`~DropCopyGateway.promote` makes the backup the primary: it carries
  the streams on (D-065) and copies again, with 97=Y, what the failed primary wrote in its last
  ``in_flight_window`` (D-068); :meth:`~DropCopyGateway.restore` brings a failed instance back as
  the backup. For load balancing one process may host the primary of one kind and the backup
  of another (D-082): instances are independent objects.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from dropcopy.aio.pump import MachineProtocol, later, serve
from dropcopy.fix.codec import decode
from dropcopy.fix.encapsulation import unwrap_payload
from dropcopy.fix.secure_logon import verify_logon
from dropcopy.fix.texts import INVALID_LOGON, SENDER_COMP_ID_INVALID
from dropcopy.fix42 import events as ev
from dropcopy.fix42.session import (
    LOGGED_ON,
    Fix42Session,
    ResendWindowPolicy,
    SessionConfig,
)

from .book import DropCopyBook, TargetStream

log = logging.getLogger("dropcopy.venue.dropcopy")

#: Seed 003 "Fault Tolerance" (D-064), CME's text.
BACKUP_NOT_ALLOWED: Final = "Backup session not allowed. Logout forced."
#: Project text: the target session already has a connection logged on to this gateway kind.
ALREADY_LOGGED_ON: Final = "Session already logged on. Logout forced."


class KeyLike(Protocol):
    access_key_id: str
    secret_key: str
    session_id: str

    def usable(self, now: int) -> bool: ...


class DropCopyKeys(Protocol):
    def lookup(self, access_key_id: str) -> KeyLike | None: ...


@dataclass
class MemoryDropCopyKeys:
    """Keys for tests and benchmarks: Access Key ID -> key (``DropCopyKey`` or alike)."""

    keys: dict[str, KeyLike]

    def lookup(self, access_key_id: str) -> KeyLike | None:
        return self.keys.get(access_key_id)


@dataclass(frozen=True, slots=True)
class SimpleKey:
    access_key_id: str
    secret_key: str
    session_id: str
    expires_at: int | None = None

    def usable(self, now: int) -> bool:
        return self.expires_at is None or now < self.expires_at

    def __repr__(self) -> str:  # never show the secret
        return f"SimpleKey({self.access_key_id!r}, session_id={self.session_id!r})"


class _Connection:
    """One client connection: its machine, its pump and (once logged on) its stream."""

    __slots__ = ("book", "machine", "protocol", "stream")

    def __init__(self, book: DropCopyBook, machine: Fix42Session) -> None:
        self.book = book
        self.machine = machine
        self.protocol: MachineProtocol | None = None
        self.stream: TargetStream | None = None

    def before_write(self) -> None:
        if self.stream is not None and self.stream.session is self.machine:
            self.book.note_written(self.stream)
        self.book.commit()


class DropCopyGateway:
    """One Drop Copy gateway instance (CGW, or the MSGW of one segment)."""

    def __init__(
        self,
        book: DropCopyBook,
        keys: DropCopyKeys,
        *,
        clock: Callable[[], int] = time.time_ns,
        backup: bool = False,
        market_segments: frozenset[str] | None = None,
        resend_window_policy: ResendWindowPolicy = ResendWindowPolicy.REJECT,
        config: dict[str, Any] | None = None,
        name: str = "",
    ) -> None:
        self.book = book
        self.keys = keys
        self.clock = clock
        self.is_primary = not backup
        self.failed = False
        self.failed_at: int | None = None
        self.partner: DropCopyGateway | None = None
        self.name = name or f"dc-{book.sub_id}-{'backup' if backup else 'primary'}"
        segments = market_segments
        if segments is None and book.segments:
            segments = frozenset(str(s) for s in book.segments)
        self._config = SessionConfig.acceptor(
            book.sub_id,
            market_segments=segments,
            resend_window_policy=resend_window_policy,
            **(config or {}),
        )
        self.connections: dict[MachineProtocol, _Connection] = {}
        self._server: Any = None  # the asyncio server while listening
        self.address: tuple[str, int] | None = None
        if book.schedule is None:  # the asyncio default: once per loop turn
            book.schedule = later

    # ----------------------------------------------------------------------------- serving

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        self._server = await serve(self._protocol, host, port)
        sock = self._server.sockets[0].getsockname()
        self.address = (sock[0], sock[1])
        return self.address

    def _protocol(self) -> MachineProtocol:
        now = self.clock()
        machine = Fix42Session(self._config, now)
        conn = _Connection(self.book, machine)
        proto = MachineProtocol(
            machine,
            self._on_events,
            clock=self.clock,
            before_write=conn.before_write,
            on_close=self._on_close,
        )
        conn.protocol = proto
        self.connections[proto] = conn
        return proto

    def _on_close(self, proto: MachineProtocol) -> None:
        self.connections.pop(proto, None)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for proto in list(self.connections):
            proto.close()

    # ------------------------------------------------------------------------------ events

    def _on_events(self, proto: MachineProtocol, events: list[Any]) -> None:
        conn = self.connections.get(proto)
        if conn is None:
            return
        now = self.clock()
        for e in events:
            if isinstance(e, ev.LogonReceived):
                self._on_events(proto, self._logon(conn, e, now))
            elif isinstance(e, ev.ResendRequested):
                self._resend(conn, e, now)
            elif isinstance(e, ev.Closed):
                self._closed(conn, e, now)
            elif isinstance(e, (ev.SessionRejectSent, ev.MessageDropped)):
                log.info("%s %s: %s", self.name, conn.machine.peer_comp_id, e)

    def _logon(self, conn: _Connection, e: ev.LogonReceived, now: int) -> list[Any]:
        m = conn.machine
        book = self.book
        sid = e.session_id
        target = book.directory.target(sid, now)
        s = book.stream(target, now) if target is not None else None
        if e.in_session:
            if s is None or conn.stream is not s or s.session is not m:
                return self._refuse(conn, None, INVALID_LOGON, now, "D-027")
            events = m.accept_logon(now)
            book.reset(s)  # D-032, D-033
            assert conn.protocol is not None
            book.logged_on(s, m, conn.protocol)
            return events
        key = self.keys.lookup(e.access_key_id or "")
        if (
            key is None
            or not key.usable(now)
            or key.session_id != sid
            or not verify_logon(e.message, key.secret_key)
        ):
            # AX-01: unknown, expired, deleted or another session's key; a bad signature
            log.warning("%s: logon of %s refused: invalid credentials", self.name, e.sender_comp_id)
            return self._refuse(conn, s, INVALID_LOGON, now, "AX-01")
        if target is None or s is None or not target.active or target.session_type is not book.kind:
            log.warning("%s: logon of %s refused: not a %s target", self.name, sid, book.kind)
            return self._refuse(conn, None, SENDER_COMP_ID_INVALID, now, "D-077")
        if not self.is_primary:
            # D-064: the designated backup while the designated primary is available
            return self._refuse(conn, s, BACKUP_NOT_ALLOWED, now, "D-064")
        if s.live:
            return self._refuse(conn, s, ALREADY_LOGGED_ON, now, "project")
        expected = s.next_expected if s.expected_known else e.msg_seq_num
        events = m.accept_logon(
            now,
            next_seq_num=s.next_seq,
            expected_seq_num=expected,
            beginning_of_week=s.expected_known and expected == 1,
        )
        if m.state in LOGGED_ON:
            conn.stream = s
            assert conn.protocol is not None
            book.logged_on(s, m, conn.protocol)
            log.info(
                "%s: %s logged on (next out %d, next in %d)",
                self.name,
                e.sender_comp_id,
                m.next_out,
                m.next_in,
            )
        elif not s.live:
            book.consumed(s, m.next_out, now)  # the Logout (wrong 34) took a number
        return events

    def _refuse(
        self, conn: _Connection, s: TargetStream | None, text: str, now: int, rule: str
    ) -> list[Any]:
        """Logout for a refused Logon. For a known target session whose stream is not in use
        the Logout is numbered in that stream and carries 789 (the client's next expected
        number), so a client stays in step (wire notes §1.5); the number is then used."""
        m = conn.machine
        if s is None or s.live:
            return m.reject_logon(now, text, rule=rule)
        events = m.reject_logon(
            now,
            text,
            next_seq_num=s.next_seq,
            next_expected_msg_seq_num=s.next_expected if s.expected_known else None,
            rule=rule,
        )
        self.book.consumed(s, m.next_out, now)
        return events

    def _resend(self, conn: _Connection, e: ev.ResendRequested, now: int) -> None:
        s = conn.stream
        m = conn.machine
        if s is None:  # pragma: no cover - the machine only serves logged-on sessions
            return
        book = self.book
        events = m.answer_resend(
            now,
            messages=lambda first, last: book.load(s, first, last),
            first_retrievable=book.first_retrievable(s, now),
        )
        assert conn.protocol is not None
        self._on_events(conn.protocol, events)

    def _closed(self, conn: _Connection, e: ev.Closed, now: int) -> None:
        s = conn.stream
        if s is not None and s.session is conn.machine:
            self.book.disconnected(s, now)
        if e.violation:
            log.warning("%s %s: closed: %s (%s)", self.name, conn.machine.peer_comp_id,
                        e.reason, e.rule)  # fmt: skip

    # ------------------------------------------------------------------- fault tolerance

    async def fail(self) -> None:
        """This instance fails: its connections drop without a word, it accepts no more."""
        self.failed = True
        self.failed_at = now = self.clock()
        for proto, conn in list(self.connections.items()):
            if conn.stream is not None and conn.stream.session is conn.machine:
                self.book.disconnected(conn.stream, now)  # the streams live on in the book
            proto.abort()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def promote(self) -> int:
        """The backup takes over from its failed partner (D-065): it becomes the designated
        primary, and copies again with 97=Y what may have been in flight (D-068). Returns how
        many copies were sent again."""
        if self.is_primary:
            raise RuntimeError(f"{self.name} is already the primary")
        partner = self.partner
        if partner is not None and not partner.failed:
            raise RuntimeError("the primary is up; fail it first")
        self.is_primary = True
        if partner is not None:
            partner.is_primary = False
        now = self.clock()
        failed_at = partner.failed_at if partner is not None and partner.failed_at else now
        return self._resend_in_flight(failed_at - self.book.in_flight_window, now)

    def _resend_in_flight(self, since: int, now: int) -> int:
        book = self.book
        count = 0
        for s in list(book.streams.values()):
            first = book.journal.first_seq_since(s.name, s.uuid, since)
            if first is None:
                continue
            for entry in book.journal.read(s.name, s.uuid, first, s.current_next_seq - 1):
                inner = unwrap_payload(decode(entry.data))
                book.deliver(s, inner, now, poss_resend=True)  # D-068
                count += 1
        if count:
            log.info("%s: %d copies possibly in flight sent again with 97=Y", self.name, count)
            book.flush()
        return count

    async def restore(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        """A failed instance comes back, as the designated backup."""
        self.failed = False
        self.failed_at = None
        self.is_primary = False
        if self.address is not None:
            await self.start(host, self.address[1] if port is None else port)


def pair(primary: DropCopyGateway, backup: DropCopyGateway) -> None:
    """Make two instances of one kind the designated primary and backup of each other."""
    if primary.book is not backup.book:
        raise ValueError("a primary and its backup share one book")
    primary.partner, backup.partner = backup, primary
    primary.is_primary, backup.is_primary = True, False
