"""A small fake Drop Copy 4.0 gateway over real loopback TCP, for the client library's tests.

It is the project's :class:`~dropcopy.fix42.Fix42Session` in the acceptor role, driven by the
one asyncio pump, plus what a venue decides: it verifies the secure logon, accepts with the
stream's stored numbers (a fresh stream is a beginning-of-week one), refuses as a backup while
the primary is up (D-064), journals every copy it sends and answers Resend Requests from that
journal. Test controls: drop chosen copies on the way out (a gap), hold Resend Requests until
released, publish while a resend is pending, lose inbound numbers (CME asks the client for a
resend), crash (stop listening and cut every connection).

Every inbound message and every venue decision is recorded in ``timeline`` in order.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from dropcopy import keyfile
from dropcopy.aio.dropcopy import DropCopyClient, DropCopyStore
from dropcopy.aio.pump import MachineProtocol, serve
from dropcopy.fix import FieldValue, FixFramer, Message, encode
from dropcopy.fix.secure_logon import verify_logon
from dropcopy.fix.texts import BACKUP_NOT_ALLOWED, INVALID_LOGON
from dropcopy.fix42 import events as ev
from dropcopy.fix42.session import Fix42Session, SessionConfig

SESSION = "ABCDEF"
SENDER = SESSION + "N"
SECRET = base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode()
OTHER_SECRET = base64.urlsafe_b64encode(bytes(range(1, 33))).rstrip(b"=").decode()
KEY_ID = "AKIDAKIDAKIDAKIDAKID"

#: A venue's logon policy: None accepts, (text, 789 or None) refuses.
LogonPolicy = Callable[[ev.LogonReceived], "tuple[str, int | None] | None"]


def execution_report(
    cl_ord_id: str,
    *,
    seq: int,
    request_time: int | None,
    exec_type: str = "0",
    ord_status: str = "0",
    side: str = "1",
    qty: int = 10,
    price: str = "100.25",
    last_qty: int | None = None,
    last_px: str | None = None,
    account: str = "ACC1",
    symbol: str = "ES",
    security_id: str = "12345",
    source: str = "ABC007N",
    extra: Iterable[tuple[int, FieldValue]] = (),
) -> bytes:
    """An inner iLink execution report as Drop Copy carries it in 35=n (wire notes §2.2)."""
    fields: list[tuple[int, FieldValue]] = [
        (34, seq),
        (49, "CME"),
        (50, "G"),
        (52, "20251126-14:00:00.000"),
        (56, source),
        (57, "TRADER1"),
        (1, account),
        (11, cl_ord_id),
        (17, f"E{seq}"),
        (37, f"O{cl_ord_id}"),
        (38, qty),
        (39, ord_status),
        (44, price),
        (48, security_id),
        (54, side),
        (55, symbol),
        (60, "20251126-14:00:00.000"),
        (150, exec_type),
    ]
    if last_qty is not None:
        fields += [(31, last_px or price), (32, last_qty)]
    if request_time is not None:
        fields.append((5979, request_time))
    return encode("8", [*fields, *extra])


def fill(cl_ord_id: str, *, seq: int, side: str, last_qty: int, last_px: str, **kw: Any) -> bytes:
    return execution_report(
        cl_ord_id,
        seq=seq,
        request_time=1_764_165_600_000_000_000 + seq,
        exec_type="2",
        ord_status="2",
        side=side,
        qty=last_qty,
        last_qty=last_qty,
        last_px=last_px,
        **kw,
    )


def ack(cl_ord_id: str, seq: int) -> bytes:
    return execution_report(cl_ord_id, seq=seq, request_time=1_764_165_600_000_000_000 + seq)


def key_file_text(secret: str = SECRET, session: str = SESSION) -> str:
    today = date.today()
    entry = keyfile.KeyFileEntry(
        session, KEY_ID, secret, today - timedelta(days=1), today + timedelta(days=30), "CERT"
    )
    return keyfile.render([entry])


@dataclass
class Stream:
    """The venue's stored state of one (Session ID, 57) stream, shared by the primary and the
    backup gateway instance (D-065: the sequence state carries over)."""

    next_out: int = 1  # CME's next MsgSeqNum
    next_in: int = 1  # the client's next expected MsgSeqNum
    fresh: bool = True  # no logon yet this week
    journal: dict[int, bytes] = field(default_factory=dict)


class _Recording(MachineProtocol):
    """The pump, recording every inbound message in the venue's timeline first."""

    def __init__(self, venue: FakeVenue, machine: Fix42Session) -> None:
        super().__init__(machine, venue._on_events)
        self.venue = venue
        self.framer = FixFramer()
        self.decided = False  # accept_logon / reject_logon ran: the numbers are the stream's

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        v = self.venue
        v.connections += 1
        if v.drop_connections > 0:
            v.drop_connections -= 1
            v.timeline.append("dropped connection")
            self.abort()
            return
        v.protocols.append(self)

    def data_received(self, data: bytes) -> None:
        for item in self.framer.feed(data):
            if isinstance(item, Message):
                self.venue.inbound.append(item)
                self.venue.timeline.append(f"in {item.msg_type} {item.get_str(34)}")
        super().data_received(data)
        self.venue._changed()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self in self.venue.protocols:
            self.venue.protocols.remove(self)
        self.venue._changed()


class FakeVenue:
    """One Drop Copy gateway instance (CGW ``"G"`` or an MSGW segment) on 127.0.0.1."""

    def __init__(
        self,
        target_sub_id: str = "G",
        *,
        stream: Stream | None = None,
        backup: bool = False,
        primary_alive: Callable[[], bool] = lambda: True,
        secret: str = SECRET,
        policy: LogonPolicy | None = None,
        hold_resends: bool = False,
        publish_on_logon: Iterable[bytes] = (),
        **config: Any,
    ) -> None:
        self.target_sub_id = target_sub_id
        self.stream = stream if stream is not None else Stream()
        self.backup = backup
        self.primary_alive = primary_alive
        self.secret = secret
        self.policy = policy
        self.hold_resends = hold_resends
        self.publish_on_logon = list(publish_on_logon)
        self.config = config
        self.host = "127.0.0.1"
        self.port = 0
        self.server: asyncio.Server | None = None
        self.protocols: list[_Recording] = []
        self.active: _Recording | None = None
        self.connections = 0
        self.drop_connections = 0
        self.logons: list[Message] = []
        self.inbound: list[Message] = []
        self.timeline: list[str] = []
        self.resend_requests: list[ev.ResendRequested] = []
        self.held: list[tuple[_Recording, ev.ResendRequested]] = []
        self.closed_events: list[ev.Closed] = []
        self.changed = asyncio.Event()

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> FakeVenue:
        self.server = await serve(self._factory, self.host, self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    @property
    def endpoint(self) -> tuple[str, int]:
        return (self.host, self.port)

    async def crash(self) -> None:
        """The gateway process dies: stop listening, cut every connection (no Logout)."""
        if self.server is not None:
            self.server.close()
        for proto in list(self.protocols):
            proto.abort()
        if self.server is not None:
            await self.server.wait_closed()
            self.server = None
        self.timeline.append("crash")

    async def stop(self) -> None:
        await self.crash()

    def _factory(self) -> MachineProtocol:
        cfg = SessionConfig.acceptor(self.target_sub_id, **self.config)
        return _Recording(self, Fix42Session(cfg, time.time_ns()))

    def _changed(self) -> None:
        self.changed.set()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 2.0) -> None:
        """Wait until ``predicate()`` holds: re-checked on every venue change, and every
        millisecond for conditions on the client's side."""

        async def wait() -> None:
            while not predicate():
                self.changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.changed.wait(), 0.001)

        await asyncio.wait_for(wait(), timeout)

    # -- the venue's decisions ---------------------------------------------------------------

    def _on_events(self, proto: MachineProtocol, events: list[Any]) -> None:
        assert isinstance(proto, _Recording)
        gw = proto.machine
        assert isinstance(gw, Fix42Session)
        now = time.time_ns()
        for e in events:
            if isinstance(e, ev.LogonReceived):
                self._logon(proto, gw, e, now)
            elif isinstance(e, ev.LoggedOn):
                self.stream.fresh = False
                self.active = proto
                self.timeline.append(f"logged on {e.msg_seq_num}")
                for inner in self.publish_on_logon:
                    self._send(proto, gw, inner, False, now)
            elif isinstance(e, ev.ResendRequested):
                self.resend_requests.append(e)
                self.timeline.append(f"resend requested {e.begin_seq_no}-{e.end_seq_no}")
                if self.hold_resends:
                    self.held.append((proto, e))
                else:
                    self._answer(proto, gw, now)
            elif isinstance(e, ev.Closed):
                self.closed_events.append(e)
                self.timeline.append(f"closed {e.reason}")
        if proto.decided:
            self.stream.next_out, self.stream.next_in = gw.next_out, gw.next_in
        self._changed()

    def _logon(self, proto: _Recording, gw: Fix42Session, e: ev.LogonReceived, now: int) -> None:
        self.logons.append(e.message)
        stream = self.stream
        refusal: tuple[str, int | None] | None = None
        if e.access_key_id != KEY_ID or not verify_logon(e.message, self.secret):
            refusal = (INVALID_LOGON, None)  # AX-01
        elif self.backup and self.primary_alive():
            refusal = (BACKUP_NOT_ALLOWED, stream.next_in)  # D-064, with the primary's 789
        elif self.policy is not None:
            refusal = self.policy(e)
        # a backup refusing has no say on the stream's numbers (its Logout is not sequenced)
        proto.decided = not (
            self.backup and refusal is not None and refusal[0] == BACKUP_NOT_ALLOWED
        )
        if refusal is not None:
            text, nxt = refusal
            self.timeline.append(f"refused {text}")
            gw.next_in = stream.next_in  # the stream's numbers stay as they are
            more = gw.reject_logon(
                now, text, next_expected_msg_seq_num=nxt, next_seq_num=stream.next_out
            )
        else:
            more = gw.accept_logon(
                now,
                next_seq_num=stream.next_out,
                expected_seq_num=stream.next_in,
                beginning_of_week=stream.fresh,
            )
        self._on_events(proto, more)

    def _answer(self, proto: _Recording, gw: Fix42Session, now: int) -> None:
        journal = self.stream.journal

        def load(lo: int, hi: int) -> list[bytes]:
            return [journal[s] for s in sorted(journal) if lo <= s <= hi]

        self.timeline.append("resend answered")
        more = gw.answer_resend(now, messages=load)
        self._on_events(proto, more)
        proto.flush()

    def release_resends(self) -> None:
        held, self.held = self.held, []
        for proto, _ in held:
            gw = proto.machine
            assert isinstance(gw, Fix42Session)
            self._answer(proto, gw, time.time_ns())

    def _send(
        self, proto: _Recording, gw: Fix42Session, inner: bytes, poss_resend: bool, now: int
    ) -> int:
        sent = gw.send_encapsulated(now, inner, poss_resend=poss_resend)
        self.stream.journal[sent.seq_num] = sent.data  # journalled before the bytes leave
        self.stream.next_out = gw.next_out
        return sent.seq_num

    # -- test controls ------------------------------------------------------------------------

    def publish(self, inner: bytes, *, poss_resend: bool = False, drop: bool = False) -> int:
        """Send a copy on the active connection; ``drop`` journals it but loses it on the way
        (the client sees a gap). Returns its MsgSeqNum."""
        proto = self.active
        assert proto is not None and proto.transport is not None, "no client logged on"
        gw = proto.machine
        assert isinstance(gw, Fix42Session)
        proto.flush()  # nothing else may be in the buffer a dropped copy is taken from
        seq = self._send(proto, gw, inner, poss_resend, time.time_ns())
        if drop:
            gw.data_to_send()
            self.timeline.append(f"dropped {seq}")
        else:
            self.timeline.append(f"out n {seq}")
        proto.flush()
        return seq

    def lose_inbound(self, count: int = 1) -> None:
        """The gateway forgets the client's last ``count`` messages: the client's next message
        is above the expected number and CME asks the client for a resend (D-029)."""
        proto = self.active
        assert proto is not None
        gw = proto.machine
        assert isinstance(gw, Fix42Session)
        gw.next_in -= count

    def received(self, msg_type: str) -> list[Message]:
        return [m for m in self.inbound if m.msg_type == msg_type]

    def logon_seqs(self) -> list[int]:
        return [int(m[34]) for m in self.logons]


class VenueThread:
    """A :class:`FakeVenue` on its own event loop in a thread, for command-line tests (the CLI
    runs its own loop with ``asyncio.run``)."""

    def __init__(self, venue_factory: Callable[[], FakeVenue]) -> None:
        self._factory = venue_factory
        self.loop = asyncio.new_event_loop()
        self.venue: FakeVenue | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def start() -> None:
            self.venue = await self._factory().start()

        self.loop.run_until_complete(start())
        self._ready.set()
        self.loop.run_forever()

    def __enter__(self) -> FakeVenue:
        self._thread.start()
        assert self._ready.wait(5)
        assert self.venue is not None
        return self.venue

    def __exit__(self, *exc: object) -> None:
        venue = self.venue
        if venue is not None:
            asyncio.run_coroutine_threadsafe(venue.stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


@contextlib.asynccontextmanager
async def running(*venues: FakeVenue) -> AsyncIterator[list[FakeVenue]]:
    """Start ``venues``; stop them at the end."""
    try:
        for v in venues:
            await v.start()
        yield list(venues)
    finally:
        for v in venues:
            await v.stop()


def client_for(*venues: FakeVenue, store: DropCopyStore | None = None, **kw: Any) -> DropCopyClient:
    """A client of ``venues`` (the first is the designated primary) with the test key."""
    kw.setdefault("reconnect_delay", 0.0)
    kw.setdefault("target_sub_id", venues[0].target_sub_id)
    return DropCopyClient(
        session_id=SESSION,
        access_key_id=KEY_ID,
        secret_key=SECRET,
        endpoints=[v.endpoint for v in venues],
        store=store,
        **kw,
    )
