"""An asyncio iLink 3 client: connect, Negotiate + Establish, send orders, receive reports.

The session rules (signing, keep-alive, gap detection and retransmission in batches of 2500,
in-order delivery, NotApplied gap fill, the Terminate handshake) live in the sans-IO
:class:`~dropcopy.fixp.FixpSession`; this class moves bytes, hands events to an
``asyncio.Queue`` and does what needs memory across connections:

* **persistence** (seed 004 "UUID Rules", "Intra-Session Binding"): with a
  :class:`FileSessionStore`, the UUID and both sequence numbers survive a restart, and
  :meth:`ILink3Client.logon` re-binds the same UUID without Negotiate, continuing the numbers
  (I-077, I-078). If the venue no longer knows the UUID (a new week, AI-06: Terminate 13) it
  negotiates a fresh one.
* **PreviousUUID / PreviousSeqNo** (I-065, I-147, AI-14): after a Negotiate the client asks for
  what was published under the previous UUID that it has not seen (cancel-on-disconnect cancels,
  GTC fills, UUID 0 at the start of the week), in batches of at most 2500, one at a time.
* **fault tolerance** ("Fault Tolerance", I-264..I-300): a primary and a backup process share one
  store. The backup Establishes on the backup gateway with NextSeqNo 0; when the backup gateway
  is promoted (Sequence with FaultToleranceIndicator=1) it aligns its numbers with the store
  (I-289); when it is told the primary is gone (Terminate 26) :meth:`ILink3Client.take_over`
  re-binds the same UUID on the designated primary (I-286).

```python
client = ILink3Client(secret_key=..., access_key_id=..., session="ABC", firm="007",
                      store=FileSessionStore("abc-84.json"))
await client.connect("127.0.0.1", 9000)
await client.logon()                      # Establish (resume) or Negotiate + Establish
seq = client.send(order)                  # stamps SeqNum and SendingTimeEpoch
event = await client.next_business()      # an ExecutionReport, in sequence
await client.terminate()
```
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from dropcopy.fixp import events as ev
from dropcopy.fixp.codes import TerminateCode
from dropcopy.fixp.session import FixpSession, Role, SessionConfig, State
from dropcopy.sbe.runtime import MessageBase

from .pump import Clock, MachineProtocol

MAX_BATCH = 2500  # seed 004 "Retransmission": at most 2500 messages per request (I-190)


class LogonRejected(Exception):
    def __init__(self, message: MessageBase) -> None:
        super().__init__(
            f"{message.NAME}: {message.to_dict().get('Reason')} (code {message.to_dict().get('ErrorCodes')})"
        )
        self.message = message


class SessionTerminated(Exception):
    def __init__(self, event: ev.Terminated) -> None:
        super().__init__(f"terminated: code {event.code} {event.reason}")
        self.event = event


@dataclass(frozen=True, slots=True)
class SessionState:
    """What a customer must remember about its FIXP session (I-216, I-266)."""

    uuid: int
    next_out: int  # the next SeqNum the customer sends
    next_in: int  # the next SeqNum the customer expects from CME


class SessionStore(Protocol):
    def load(self) -> SessionState | None: ...
    def save(self, state: SessionState) -> None: ...


class FileSessionStore:
    """One session's state on one segment in a small JSON file, replaced atomically on each
    change. ``fsync=True`` makes each save durable across a power loss (slower)."""

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.path = Path(path)
        self.fsync = fsync

    def load(self) -> SessionState | None:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        return SessionState(int(data["uuid"]), int(data["next_out"]), int(data["next_in"]))

    def save(self, state: SessionState) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w") as f:
            f.write(json.dumps(asdict(state)))
            if self.fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, self.path)


class ILink3Client:
    def __init__(
        self,
        *,
        secret_key: str,
        access_key_id: str,
        session: str,
        firm: str,
        uuid: int | None = None,
        keep_alive_interval_ms: int = 30_000,
        backup: bool = False,
        clock: Clock = time.time_ns,
        store: SessionStore | None = None,
    ) -> None:
        self.secret_key = secret_key
        self.access_key_id = access_key_id
        self.session_id = session
        self.firm = firm
        self.clock = clock
        self.store = store
        self.keep_alive_interval_ms = keep_alive_interval_ms
        self.resume = store.load() if store is not None else None
        if uuid is not None:
            self.uuid = uuid
        elif self.resume is not None:
            self.uuid = self.resume.uuid
        else:
            self.uuid = self._new_uuid()
        self.machine = self._machine(backup)
        self.events: asyncio.Queue[ev.Event] = asyncio.Queue()
        self._backlog: collections.deque[ev.Event] = collections.deque()
        self.protocol: MachineProtocol | None = None
        self.address: tuple[str, int] | None = None
        self.previous: tuple[int, int] = (0, 0)  # PreviousUUID, PreviousSeqNo of the last ack
        self._saved: SessionState | None = None

    def _new_uuid(self) -> int:
        return self.clock() // 1000  # µs since the epoch (I-009)

    def _machine(self, backup: bool) -> FixpSession:
        return FixpSession(
            SessionConfig(
                Role.INITIATOR, backup=backup, keep_alive_interval_ms=self.keep_alive_interval_ms
            )
        )

    # -- connection --------------------------------------------------------------------------

    async def connect(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        if self.machine.state is not State.IDLE:
            self.machine = self._machine(self.machine.backup)
        _, protocol = await loop.create_connection(
            lambda: MachineProtocol(
                self.machine, self._on_events, clock=self.clock, before_write=self._persist
            ),
            host,
            port,
        )
        assert isinstance(protocol, MachineProtocol)
        self.protocol = protocol
        self.address = (host, port)

    def _on_events(self, _proto: MachineProtocol, events: list[Any]) -> None:
        for e in events:
            if isinstance(e, ev.PromotedToPrimary):
                self._align_with_store()
            self.events.put_nowait(e)
        self._persist()

    def _persist(self) -> None:
        """Save UUID and numbers when they change (never from a backup process, whose numbers
        are not the group's)."""
        m = self.machine
        if self.store is None or m.backup or m.state is not State.ESTABLISHED:
            return
        state = SessionState(m.uuid, m.next_out, m.next_in)
        if state != self._saved:
            self.store.save(state)
            self._saved = state

    def _align_with_store(self) -> None:
        """I-289: the promoted backup continues from where the failed primary left off."""
        saved = self.store.load() if self.store is not None else None
        if saved is not None and saved.uuid == self.machine.uuid:
            self.machine.next_out = max(self.machine.next_out, saved.next_out)
            self.machine.next_in = max(self.machine.next_in, saved.next_in)

    def _flush(self) -> None:
        if self.protocol is not None:
            self.protocol.flush()

    async def _wait_for(self, *kinds: type[ev.Event], timeout: float = 10.0) -> ev.Event:
        """The next event of ``kinds``; business messages met on the way are kept for
        :meth:`next_business`, other events are dropped."""

        async def wait() -> ev.Event:
            while True:
                e = await self.events.get()
                if isinstance(e, kinds):
                    return e
                if isinstance(e, ev.Terminated):
                    raise SessionTerminated(e)
                if isinstance(e, ev.BusinessMessage):
                    self._backlog.append(e)

        return await asyncio.wait_for(wait(), timeout)

    # -- logon -------------------------------------------------------------------------------

    async def logon(
        self,
        *,
        negotiate: bool | None = None,
        next_seq_no: int | None = None,
        expected_seq_no: int | None = None,
        recover_previous: bool = True,
    ) -> ev.Established:
        """Negotiate (unless re-binding the same UUID) and Establish (I-006, I-077).

        ``negotiate=None`` decides by itself: re-bind the stored UUID if there is one (and fall
        back to a fresh UUID if the venue refuses it), else negotiate a new UUID. With
        ``recover_previous`` the messages published under PreviousUUID that this client has not
        seen are requested (I-065, I-147)."""
        auto = negotiate is None
        resume = self.resume if self.resume is not None and self.resume.uuid == self.uuid else None
        if negotiate is None:
            negotiate = resume is None
        if self.machine.backup:
            # I-273: NextSeqNo 0 on the backup; what it expects is the group's (I-289)
            nxt, exp = 0, (resume.next_in if resume is not None else 1)
        elif negotiate:
            nxt, exp = 1, 1  # I-012, I-029: a new UUID starts at 1 both ways
        else:
            nxt = resume.next_out if resume is not None else 1
            exp = resume.next_in if resume is not None else 1
        if next_seq_no is not None:
            nxt = next_seq_no
        if expected_seq_no is not None:
            exp = expected_seq_no
        try:
            got = await self._logon(negotiate, nxt, exp)
        except SessionTerminated as t:
            if not (auto and not negotiate and t.event.code == TerminateCode.InvalidUUID):
                raise
            # AI-06: the venue does not know the stored UUID (e.g. a new week): start afresh
            assert self.address is not None
            self.uuid = self._new_uuid()
            await self.connect(*self.address)
            return await self.logon(negotiate=True, recover_previous=recover_previous)
        ack = got.ack
        self.previous = (int(ack.PreviousUUID), int(ack.PreviousSeqNo))
        self._persist()
        if negotiate and recover_previous and not self.machine.backup:
            await self._recover_previous(resume or self.resume)
        return got

    async def _logon(self, negotiate: bool, nxt: int, exp: int) -> ev.Established:
        if negotiate:
            self.machine.negotiate(
                self.clock(), secret_key=self.secret_key, access_key_id=self.access_key_id, uuid=self.uuid,
                session=self.session_id, firm=self.firm,
            )  # fmt: skip
            self._flush()
            got = await self._wait_for(ev.Negotiated, ev.NegotiationRejected)
            if isinstance(got, ev.NegotiationRejected):
                raise LogonRejected(got.reject)
        self.machine.establish(
            self.clock(), secret_key=self.secret_key, access_key_id=self.access_key_id, next_seq_no=nxt,
            expected_seq_no=exp, uuid=self.uuid, session=self.session_id, firm=self.firm,
        )  # fmt: skip
        self._flush()
        est = await self._wait_for(ev.Established, ev.EstablishmentRejected)
        if isinstance(est, ev.EstablishmentRejected):
            raise LogonRejected(est.reject)
        assert isinstance(est, ev.Established)
        return est

    async def _recover_previous(self, before: SessionState | None) -> None:
        """Ask for PreviousUUID's messages after the last one seen (I-067, I-235)."""
        prev_uuid, prev_seq = self.previous
        if prev_seq <= 0 or prev_uuid == self.uuid:
            return
        first = before.next_in if before is not None and before.uuid == prev_uuid else 1
        while first <= prev_seq:
            count = min(MAX_BATCH, prev_seq - first + 1)
            await self._drain_retransmission()
            self.machine.request_retransmission(
                self.clock(), from_seq_no=first, count=count, last_uuid=prev_uuid
            )
            self._flush()
            got = await self._wait_for(ev.RetransmissionFinished, ev.RetransmitRejected)
            if isinstance(got, ev.RetransmitRejected):
                return  # e.g. the previous UUID is from an earlier week: nothing to recover
            first += count

    async def _drain_retransmission(self) -> None:
        """Wait for a retransmission the machine started by itself (a gap at Establish)."""
        while self.machine.retransmission_in_flight:
            await self._wait_for(ev.RetransmissionFinished, ev.RetransmitRejected)

    # -- fault tolerance -----------------------------------------------------------------------

    async def take_over(self, host: str, port: int) -> ev.Established:
        """The backup process becomes the primary on the designated primary gateway after its
        primary failed (Terminate 26, I-285, I-286): same UUID, the group's numbers, no
        Negotiate (I-077, I-289)."""
        self.close()
        self.machine = self._machine(False)
        self.resume = self.store.load() if self.store is not None else None
        if self.resume is not None:
            self.uuid = self.resume.uuid
        await self.connect(host, port)
        return await self.logon(negotiate=False)

    # -- business ------------------------------------------------------------------------------

    def send(self, msg: MessageBase) -> int:
        """Send a business message; returns its SeqNum."""
        seq = self.machine.next_out
        self.machine.send_business(msg, self.clock())
        self._flush()
        return seq

    def send_many(self, msgs: list[MessageBase]) -> None:
        """Send several business messages in one write."""
        now = self.clock()
        for msg in msgs:
            self.machine.send_business(msg, now)
        self._flush()

    async def next_business(self, timeout: float = 10.0) -> ev.BusinessMessage:
        if self._backlog:
            first = self._backlog.popleft()
            assert isinstance(first, ev.BusinessMessage)
            return first
        got = await self._wait_for(ev.BusinessMessage, timeout=timeout)
        assert isinstance(got, ev.BusinessMessage)
        return got

    async def terminate(self, timeout: float = 10.0) -> ev.Terminated:
        self.machine.terminate(self.clock())
        self._flush()
        if self.protocol is not None:
            await asyncio.wait_for(self.protocol.closed.wait(), timeout)
        term = self.machine.terminated
        assert term is not None
        return term

    def close(self) -> None:
        if self.protocol is not None:
            self.protocol.close()
