"""An asyncio iLink 3 client: connect, Negotiate + Establish, send orders, receive reports.

The session rules (signing, keep-alive, gap detection and retransmission in batches of 2500,
in-order delivery, NotApplied gap fill, the Terminate handshake) live in the sans-IO
:class:`~dropcopy.fixp.FixpSession`; this class only moves bytes and hands events to an
``asyncio.Queue``.

```python
client = ILink3Client(secret_key=..., access_key_id=..., session="ABC", firm="007")
await client.connect("127.0.0.1", 9000)
await client.logon()                      # Negotiate + Establish (raises on reject)
seq = client.send(order)                  # stamps SeqNum and SendingTimeEpoch
event = await client.next_business()      # an ExecutionReport, in sequence
await client.terminate()
```
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from dropcopy.fixp import events as ev
from dropcopy.fixp.session import FixpSession, Role, SessionConfig
from dropcopy.sbe.runtime import MessageBase

from .pump import Clock, MachineProtocol


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
    ) -> None:
        self.secret_key = secret_key
        self.access_key_id = access_key_id
        self.session_id = session
        self.firm = firm
        self.clock = clock
        self.uuid = uuid if uuid is not None else clock() // 1000  # µs since the epoch (I-009)
        self.machine = FixpSession(
            SessionConfig(
                Role.INITIATOR, backup=backup, keep_alive_interval_ms=keep_alive_interval_ms
            )
        )
        self.events: asyncio.Queue[ev.Event] = asyncio.Queue()
        self.protocol: MachineProtocol | None = None

    async def connect(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(
            lambda: MachineProtocol(self.machine, self._on_events, clock=self.clock), host, port
        )
        assert isinstance(protocol, MachineProtocol)
        self.protocol = protocol

    def _on_events(self, _proto: MachineProtocol, events: list[Any]) -> None:
        for e in events:
            self.events.put_nowait(e)

    def _flush(self) -> None:
        if self.protocol is not None:
            self.protocol.flush()

    async def _wait_for(self, *kinds: type[ev.Event], timeout: float = 10.0) -> ev.Event:
        async def wait() -> ev.Event:
            while True:
                e = await self.events.get()
                if isinstance(e, kinds):
                    return e
                if isinstance(e, ev.Terminated):
                    raise SessionTerminated(e)

        return await asyncio.wait_for(wait(), timeout)

    async def logon(
        self, *, negotiate: bool = True, next_seq_no: int = 1, expected_seq_no: int = 1
    ) -> ev.Established:
        """Negotiate (unless re-binding the same UUID) and Establish (I-006, I-077)."""
        now = self.clock()
        if negotiate:
            self.machine.negotiate(
                now, secret_key=self.secret_key, access_key_id=self.access_key_id, uuid=self.uuid,
                session=self.session_id, firm=self.firm,
            )  # fmt: skip
            self._flush()
            got = await self._wait_for(ev.Negotiated, ev.NegotiationRejected)
            if isinstance(got, ev.NegotiationRejected):
                raise LogonRejected(got.reject)
        self.machine.establish(
            self.clock(), secret_key=self.secret_key, access_key_id=self.access_key_id, next_seq_no=next_seq_no,
            expected_seq_no=expected_seq_no, uuid=self.uuid, session=self.session_id, firm=self.firm,
        )  # fmt: skip
        self._flush()
        got = await self._wait_for(ev.Established, ev.EstablishmentRejected)
        if isinstance(got, ev.EstablishmentRejected):
            raise LogonRejected(got.reject)
        assert isinstance(got, ev.Established)
        return got

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
