"""The one asyncio pump that drives every sans-IO protocol machine of this project.

Theory of operation
-------------------
A machine (FIXP today, FIX 4.2 tomorrow) has the same shape: ``receive_data(data, now)`` →
events, ``data_to_send()`` → bytes, ``next_deadline()`` / ``on_timer(now)``, and ``closed``.
:class:`MachineProtocol` is an ``asyncio.Protocol`` that feeds it every read, hands each event to
a handler (which may call the machine back — accept a Negotiate, send an execution report), and
then writes everything the machine produced in **one** ``transport.write`` per read or timer
(batched writes: loopback asyncio moves ~1.4M frames/s batched, ~200k/s one write per message).

Before each write the ``before_write`` hook runs: the venue commits its journal there, so every
business message is durable before its bytes leave (seed 004 "Retransmission" needs the messages
after a restart). Time comes from ``clock()`` (ns since the epoch, ``time.time_ns`` by default,
a venue clock with an offset for "time travel"); timers are scheduled on the loop from
``next_deadline()``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol


class Machine(Protocol):
    def receive_data(self, data: bytes, now: int) -> list[Any]: ...
    def data_to_send(self) -> bytes: ...
    def next_deadline(self) -> int | None: ...
    def on_timer(self, now: int) -> list[Any]: ...
    def connection_lost(self, now: int) -> list[Any]: ...
    @property
    def closed(self) -> bool: ...


Clock = Callable[[], int]
EventHandler = Callable[["MachineProtocol", list[Any]], None]


class MachineProtocol(asyncio.Protocol):
    """Drives one machine over one TCP connection."""

    def __init__(
        self,
        machine: Machine,
        on_events: EventHandler,
        *,
        clock: Clock = time.time_ns,
        before_write: Callable[[], None] | None = None,
        on_close: Callable[[MachineProtocol], None] | None = None,
    ) -> None:
        self.machine = machine
        self.on_events = on_events
        self.clock = clock
        self.before_write = before_write
        self.on_close = on_close
        self.transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._loop = asyncio.get_event_loop()
        self.closed = asyncio.Event()
        self.peer: Any = None

    # -- asyncio callbacks -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.peer = transport.get_extra_info("peername")
        sock = transport.get_extra_info("socket")
        if sock is not None:
            import socket

            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # pragma: no cover - not a TCP socket
                pass
        self.flush()

    def data_received(self, data: bytes) -> None:
        events = self.machine.receive_data(data, self.clock())
        if events:
            self.on_events(self, events)
        self.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        events = self.machine.connection_lost(self.clock())
        if events:
            self.on_events(self, events)
        self.transport = None
        self.closed.set()
        if self.on_close is not None:
            self.on_close(self)

    # -- output and timers -----------------------------------------------------------------

    def flush(self) -> None:
        """Write what the machine produced (after ``before_write``), re-arm the timer, and close
        the transport when the machine says the connection is over."""
        transport = self.transport
        if transport is None:
            return
        data = self.machine.data_to_send()
        if data:
            if self.before_write is not None:
                self.before_write()
            transport.write(data)
        if self.machine.closed:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            transport.close()
            return
        self._arm()

    def _arm(self) -> None:
        deadline = self.machine.next_deadline()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if deadline is None:
            return
        delay = max(0.0, (deadline - self.clock()) / 1e9)
        self._timer = self._loop.call_later(delay, self._fire)

    def _fire(self) -> None:
        self._timer = None
        events = self.machine.on_timer(self.clock())
        if events:
            self.on_events(self, events)
        self.flush()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Drop the connection at once, unsent data discarded (a failing process)."""
        if self.transport is not None:
            self.transport.abort()


async def serve(
    protocol_factory: Callable[[], asyncio.Protocol], host: str, port: int
) -> asyncio.Server:
    """Listen on ``host:port`` (port 0 picks a free one)."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(protocol_factory, host, port, reuse_address=True)


def later(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the current event-loop turn is done (batching writes and commits
    of many events into one)."""
    asyncio.get_running_loop().call_soon(callback)
