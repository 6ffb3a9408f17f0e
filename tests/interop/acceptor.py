"""A minimal Drop Copy 4.0 gateway (CGW, 57=G) on 127.0.0.1 for interop tests.

Third-party clients (QuickFIX, a simplefix raw-socket client) test against a
:class:`DropCopyEndpoint`: where it listens, ``push`` to send an encapsulated copy (35=n) to
the logged-on client, what the client sent, ``close``. :class:`TestAcceptor` is the small
implementation built from the project's own pieces: :class:`~dropcopy.fix42.session.Fix42Session`
in the acceptor role driven by :class:`~dropcopy.aio.pump.MachineProtocol`. It checks the
secure logon signature with :func:`~dropcopy.fix.secure_logon.verify_logon`, journals every
copy it sends to answer Resend Requests, keeps the sequence numbers of each target session
across connections, and can *lose* the next k copies (journalled, never written) so that a
client sees a gap. The real venue gateway can later stand behind the same fixture.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from dropcopy.aio.pump import MachineProtocol, serve
from dropcopy.fix import FixFramer, Message
from dropcopy.fix.secure_logon import verify_logon
from dropcopy.fix42 import events as ev
from dropcopy.fix42.session import Fix42Session, SessionConfig

__all__ = ["DropCopyEndpoint", "LogonCheck", "TestAcceptor"]


class DropCopyEndpoint(Protocol):
    """What an interop test needs from a Drop Copy gateway (test double or the real venue)."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def received(self) -> list[Message]:
        """Every message the client sent, decoded, in arrival order."""
        ...

    async def wait_logged_on(self, timeout: float = 5.0) -> None:
        """Until a client session is logged on."""
        ...

    def push(self, inner: bytes) -> int:
        """Send ``inner`` (a complete FIX message) to the logged-on client as a 35=n; returns
        the copy's MsgSeqNum."""
        ...

    async def close(self) -> None: ...


def _parse(data: bytes) -> list[Message]:
    return [m for m in FixFramer().feed(data) if isinstance(m, Message)]


class _Recorder:
    """Wraps a session machine for the pump, recording what crosses the wire both ways."""

    def __init__(self, session: Fix42Session, owner: TestAcceptor) -> None:
        self.session = session
        self._owner = owner
        self._framer = FixFramer()

    def receive_data(self, data: bytes, now: int) -> list[Any]:
        self._owner.received.extend(m for m in self._framer.feed(data) if isinstance(m, Message))
        return self.session.receive_data(data, now)

    def data_to_send(self) -> bytes:
        data = self.session.data_to_send()
        if data:
            self._owner.written.extend(_parse(data))
        return data

    def next_deadline(self) -> int | None:
        return self.session.next_deadline()

    def on_timer(self, now: int) -> list[Any]:
        return self.session.on_timer(now)

    def connection_lost(self, now: int) -> list[Any]:
        return self.session.connection_lost(now)

    @property
    def closed(self) -> bool:
        return self.session.closed


@dataclass(frozen=True)
class LogonCheck:
    """One Logon the gateway decided on."""

    sender_comp_id: str
    access_key_id: str | None
    #: the HMAC verified with the secret behind the Access Key ID (an unknown key: False)
    signature_ok: bool


class TestAcceptor:
    """A Drop Copy CGW gateway for tests; see the module docstring.

    ``keys`` maps Access Key IDs to secret keys (base64url). Each connection gets its own
    :class:`Fix42Session`; the sequence numbers and the journal of a target session
    (SenderCompID) survive reconnection.
    """

    __test__ = False  # not a pytest class

    def __init__(
        self,
        keys: Mapping[str, str],
        *,
        target_sub_id: str = "G",
        sender_comp_ids: frozenset[str] | None = None,
    ) -> None:
        self.keys = dict(keys)
        self.target_sub_id = target_sub_id
        self.sender_comp_ids = sender_comp_ids
        self.received: list[Message] = []
        #: every message written to a client, decoded
        self.written: list[Message] = []
        #: copies sent but "lost on the way" (journalled, never written)
        self.lost: list[int] = []
        self.events: list[ev.Event] = []
        self.logons: list[LogonCheck] = []
        #: per SenderCompID: MsgSeqNum -> the copy as first sent
        self.journals: dict[str, dict[int, bytes]] = {}
        #: per SenderCompID: (CME's next MsgSeqNum, the client's next expected one)
        self.sequences: dict[str, tuple[int, int]] = {}
        self._server: asyncio.Server | None = None
        self._connections: set[MachineProtocol] = set()
        self._active: MachineProtocol | None = None
        self._logged_on = asyncio.Event()
        self._lose = 0

    # -- DropCopyEndpoint

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> TestAcceptor:
        self._server = await serve(self._connection, self.host, 0)
        return self

    async def wait_logged_on(self, timeout: float = 5.0) -> None:
        await asyncio.wait_for(self._logged_on.wait(), timeout)

    def push(self, inner: bytes) -> int:
        proto = self._require_active()
        recorder = proto.machine
        assert isinstance(recorder, _Recorder)
        session = recorder.session
        proto.flush()  # whatever is pending goes out first
        sent = session.send_encapsulated(time.time_ns(), inner)
        self.journals.setdefault(session.peer_comp_id, {})[sent.seq_num] = sent.data
        if self._lose > 0:
            self._lose -= 1
            session.data_to_send()  # lost on the way: journalled, never written
            self.lost.append(sent.seq_num)
        else:
            proto.flush()
        return sent.seq_num

    async def close(self) -> None:
        for proto in list(self._connections):
            proto.abort()  # Server.wait_closed() waits for open connections (Python 3.12+)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> TestAcceptor:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- test controls

    def lose(self, count: int) -> None:
        """The next ``count`` copies are journalled but never written (the client sees a gap)."""
        self._lose = count

    @property
    def session(self) -> Fix42Session | None:
        """The logged-on connection's machine, if any."""
        if self._active is None:
            return None
        recorder = self._active.machine
        assert isinstance(recorder, _Recorder)
        return recorder.session

    def written_of_type(self, msg_type: str) -> list[Message]:
        return [m for m in self.written if m.msg_type == msg_type]

    def received_of_type(self, msg_type: str) -> list[Message]:
        return [m for m in self.received if m.msg_type == msg_type]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Poll ``predicate()`` until true (the loop keeps serving meanwhile)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while not predicate():
            if loop.time() > end:
                raise TimeoutError("condition not reached")
            await asyncio.sleep(0.005)

    # -- the gateway

    def _require_active(self) -> MachineProtocol:
        proto = self._active
        if proto is None or proto.transport is None:
            raise RuntimeError("no client is logged on")
        return proto

    def _connection(self) -> MachineProtocol:
        session = Fix42Session(
            SessionConfig.acceptor(self.target_sub_id, sender_comp_ids=self.sender_comp_ids),
            time.time_ns(),
        )
        proto = MachineProtocol(_Recorder(session, self), self._on_events, on_close=self._closed)
        self._connections.add(proto)
        return proto

    def _on_events(self, proto: MachineProtocol, events: list[Any]) -> None:
        recorder = proto.machine
        assert isinstance(recorder, _Recorder)
        session = recorder.session
        for e in events:
            self.events.append(e)
            now = time.time_ns()
            if isinstance(e, ev.LogonReceived):
                self._on_events(proto, self._decide_logon(session, e, now))
            elif isinstance(e, ev.LoggedOn):
                self._active = proto
                self._logged_on.set()
            elif isinstance(e, ev.ResendRequested):
                journal = self.journals.get(session.peer_comp_id, {})
                wanted = range(e.begin_seq_no, e.end_seq_no + 1)
                stored = [journal[seq] for seq in sorted(journal) if seq in wanted]
                more = session.answer_resend(now, messages=stored)
                self._on_events(proto, more)
            elif isinstance(e, ev.SequenceNumbersReset):
                self.journals.pop(session.peer_comp_id, None)  # a new epoch (D-033)
            elif isinstance(e, ev.Closed) and session.peer_comp_id and session.next_in > 1:
                self.sequences[session.peer_comp_id] = (session.next_out, session.next_in)

    def _decide_logon(self, session: Fix42Session, e: ev.LogonReceived, now: int) -> list[Any]:
        secret = self.keys.get(e.access_key_id or "")
        ok = secret is not None and verify_logon(e.message, secret)
        self.logons.append(LogonCheck(e.sender_comp_id, e.access_key_id, ok))
        comp = e.sender_comp_id
        next_out, next_in = self.sequences.get(comp, (1, 1))
        if not ok:
            # 58=Invalid logon. Logout forced. (AX-01), numbered in the target's stream, with
            # 789 so the client knows which MsgSeqNum to log on with (seed 003 "Logon":
            # "leverage tag 789 ... when recovering from multiple unsuccessful logons attempts")
            out = session.reject_logon(
                now, next_expected_msg_seq_num=next_in, next_seq_num=next_out
            )
            if comp in self.sequences:
                self.sequences[comp] = (session.next_out, next_in)
            return out
        if e.in_session:
            return session.accept_logon(now)
        return session.accept_logon(now, next_seq_num=next_out, expected_seq_num=next_in)

    def _closed(self, proto: MachineProtocol) -> None:
        self._connections.discard(proto)
        if self._active is proto:
            self._active = None
            self._logged_on.clear()
