"""The FIX 4.2 machine plugs into the project's one asyncio pump (loopback TCP)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from dropcopy.aio.pump import MachineProtocol, serve
from dropcopy.fix.secure_logon import verify_logon
from dropcopy.fix42 import events as ev
from dropcopy.fix42.session import Fix42Session, SessionConfig, State

from .harness import INNER, SECRET, client_config


async def test_client_and_gateway_over_loopback_tcp() -> None:
    loop = asyncio.get_running_loop()
    gateways: list[Fix42Session] = []
    journal: dict[int, bytes] = {}

    def on_gateway_events(proto: MachineProtocol, events: list[Any]) -> None:
        gw = proto.machine
        assert isinstance(gw, Fix42Session)
        now = time.time_ns()
        for e in events:
            if isinstance(e, ev.LogonReceived):
                if verify_logon(e.message, SECRET):
                    more = gw.accept_logon(now)
                else:
                    more = gw.reject_logon(now)
                on_gateway_events(proto, more)
            elif isinstance(e, ev.LoggedOn):
                for _ in range(3):
                    sent = gw.send_encapsulated(now, INNER)
                    journal[sent.seq_num] = sent.data

    def gateway_factory() -> MachineProtocol:
        gw = Fix42Session(SessionConfig.acceptor(), time.time_ns())
        gateways.append(gw)
        return MachineProtocol(gw, on_gateway_events)

    server = await serve(gateway_factory, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    delivered: list[int] = []
    done = asyncio.Event()

    def on_client_events(proto: MachineProtocol, events: list[Any]) -> None:
        client = proto.machine
        assert isinstance(client, Fix42Session)
        for e in events:
            if isinstance(e, ev.BusinessMessage):
                delivered.append(e.msg_seq_num)
                if len(delivered) == 3:
                    client.logout(time.time_ns(), "done")
            elif isinstance(e, ev.Closed):
                done.set()

    client = Fix42Session(client_config(), time.time_ns())
    client.logon(time.time_ns())  # written when the connection is made
    try:
        await loop.create_connection(
            lambda: MachineProtocol(client, on_client_events), "127.0.0.1", port
        )
        await asyncio.wait_for(done.wait(), 5)
    finally:
        server.close()
        await server.wait_closed()
    assert delivered == [2, 3, 4] and sorted(journal) == [2, 3, 4]
    assert client.state is State.CLOSED and client.closed_event is not None
    assert client.closed_event.reason == "logout confirmed"
    assert gateways and gateways[0].closed
