"""A raw-socket Drop Copy 4.0 client whose every byte is built and parsed by simplefix.

simplefix (pure Python, independent of our codec) builds the signed Logon and the client's
session messages and parses everything our gateway writes over real TCP: the Logon ack, 35=n
with 212/213 as raw data, the answer to a Resend Request (43=Y with 122, gap fills 123=Y),
Heartbeats and Logouts. Seed 003 sections "Session Logon", "Encapsulated Payload", "Message
Recovery: Client to Drop Copy"; wire notes §1 and §2.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import simplefix  # type: ignore[import-untyped]

from dropcopy.fix import decode, encode
from dropcopy.fix.secure_logon import CANONICAL_TAGS, HMAC_VERSION, canonical_string, sign

from ..fix42.harness import CLIENT, KEY_ID, OPERATOR, SECRET
from .acceptor import TestAcceptor

INVALID_LOGON = b"Invalid logon. Logout forced."


def inner_report(n: int) -> bytes:
    return encode(
        "8",
        [
            (34, 200 + n),
            (49, "CME"),
            (50, "G"),
            (52, "20251124-15:00:00.000"),
            (56, "ABC007N"),
            (57, "TRADER1"),
            (17, f"X{n}"),
            (39, "1"),
            (150, "1"),
            (58, "a=b"),  # an '=' inside the payload: 213 must be read by its 212 length
        ],
    )


class SimplefixClient:
    """The Drop Copy consumer side, by hand: simplefix over an asyncio TCP stream."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.parser = simplefix.FixParser()
        self.seq = 1
        self.last_processed = 0

    @classmethod
    async def connect(cls, acc: TestAcceptor) -> SimplefixClient:
        reader, writer = await asyncio.open_connection(acc.host, acc.port)
        return cls(reader, writer)

    def message(self, msg_type: str, seq: int | None = None) -> simplefix.FixMessage:
        """A client message with the Drop Copy header (wire notes §1.2)."""
        if seq is None:
            seq, self.seq = self.seq, self.seq + 1
        msg = simplefix.FixMessage()
        msg.append_pair(8, "FIX.4.2", header=True)
        msg.append_pair(35, msg_type, header=True)
        msg.append_pair(34, seq, header=True)
        msg.append_pair(49, CLIENT, header=True)
        msg.append_pair(50, OPERATOR, header=True)
        msg.append_utc_timestamp(52, precision=3, header=True)
        msg.append_pair(56, "CME", header=True)
        msg.append_pair(57, "G", header=True)
        msg.append_pair(142, "US,IL", header=True)
        msg.append_pair(369, self.last_processed, header=True)
        return msg

    def logon(self, secret: str = SECRET) -> simplefix.FixMessage:
        """The secure Logon (wire notes §1.3), signed with our ``secure_logon`` helpers."""
        msg = self.message("A")
        msg.append_pair(108, 30)
        msg.append_pair(1603, "SIMPLEFIX")
        msg.append_pair(1604, "1.0.17")
        msg.append_pair(1605, "simplefix")
        values = {tag: msg.get(tag) for tag in CANONICAL_TAGS}
        signature = sign(canonical_string(values), secret)
        msg.append_data(354, 355, KEY_ID)
        msg.append_pair(1400, HMAC_VERSION)
        msg.append_data(1401, 1402, signature)
        return msg

    def send(self, msg: simplefix.FixMessage) -> bytes:
        raw: bytes = msg.encode()
        self.writer.write(raw)
        return raw

    async def receive(self, timeout: float = 5.0) -> simplefix.FixMessage:
        while True:
            msg = self.parser.get_message()
            if msg is not None:
                self.last_processed = int(msg.get(34))
                return msg
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                raise EOFError("the gateway closed the connection")
            self.parser.append_buffer(data)

    async def closed_by_peer(self, timeout: float = 5.0) -> bool:
        data = await asyncio.wait_for(self.reader.read(65536), timeout)
        return data == b""

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


@pytest.fixture
async def acceptor() -> AsyncIterator[TestAcceptor]:
    async with TestAcceptor({KEY_ID: SECRET}, sender_comp_ids=frozenset({CLIENT})) as acc:
        yield acc


def fields(msg: simplefix.FixMessage) -> dict[int, bytes]:
    return {int(tag): value for tag, value in msg.pairs}


def assert_cme_header(msg: simplefix.FixMessage, msg_type: bytes, seq: int) -> None:
    """CME -> client header (wire notes §1.1): 50 echoes our 57, 57 our 50."""
    got = fields(msg)
    assert got[35] == msg_type and got[34] == b"%d" % seq
    assert (got[49], got[50], got[56], got[57]) == (b"CME", b"G", CLIENT.encode(), b"OPS1")
    assert got[143] == b"US,IL" and got[52][8:9] == b"-" and len(got[52]) == 21


def assert_copy(msg: simplefix.FixMessage, inner: bytes) -> None:
    """35=n: 212 counts ``<RTRF>`` through ``</RTRF>``, 213 holds the inner message intact."""
    payload = msg.get(213)
    assert int(msg.get(212)) == len(payload) == len(inner) + 13
    assert payload == b"<RTRF>" + inner + b"</RTRF>"
    inner_parser = simplefix.FixParser()
    inner_parser.append_buffer(payload[6:-7])
    parsed = inner_parser.get_message()
    assert parsed is not None
    assert [(int(t), v) for t, v in parsed.pairs] == decode(inner).fields


async def test_simplefix_client_logs_on_gets_copies_and_recovers_a_gap(
    acceptor: TestAcceptor,
) -> None:
    """Logon ack, a 35=n, a lost copy, a Test Request answered in between, then a Resend
    Request answered with 43=Y/122 copies and a gap fill for the Heartbeat, then Logout."""
    fix = await SimplefixClient.connect(acceptor)
    try:
        fix.send(fix.logon())
        ack = await fix.receive()
        assert_cme_header(ack, b"A", 1)
        got = fields(ack)
        assert (got[108], got[369]) == (b"30", b"1")  # 369: the Logon's 34 (D-115)
        assert (got[1603], got[1604], got[1605]) == (b"SIMPLEFIX", b"1.0.17", b"simplefix")
        assert not {1402, 355, 98} & got.keys()
        assert acceptor.logons[0].signature_ok

        inners = [inner_report(n) for n in (1, 2, 3)]
        assert acceptor.push(inners[0]) == 2
        copy = await fix.receive()
        assert_cme_header(copy, b"n", 2)
        assert_copy(copy, inners[0])
        assert copy.get(43) is None and copy.get(122) is None

        acceptor.lose(1)
        assert acceptor.push(inners[1]) == 3  # never reaches us

        test_request = fix.message("1")
        test_request.append_pair(112, "PING")
        fix.send(test_request)
        heartbeat = await fix.receive()
        assert_cme_header(heartbeat, b"0", 4)
        assert heartbeat.get(112) == b"PING" and heartbeat.get(369) == b"2"

        assert acceptor.push(inners[2]) == 5
        copy = await fix.receive()
        assert_cme_header(copy, b"n", 5)  # 3 is missing: ask for it, Enhanced (16=0)
        resend_request = fix.message("2")
        resend_request.append_pair(7, 3)
        resend_request.append_pair(16, 0)
        fix.send(resend_request)

        journal = acceptor.journals[CLIENT]
        first_sent = {seq: decode(raw).get(52) for seq, raw in journal.items()}
        resent = await fix.receive()
        assert_cme_header(resent, b"n", 3)
        assert resent.get(43) == b"Y" and resent.get(122) == first_sent[3]
        assert resent.get(369) == b"3"
        assert_copy(resent, inners[1])
        gap_fill = await fix.receive()
        assert_cme_header(gap_fill, b"4", 4)  # the Heartbeat is not resent (D-159)
        assert (gap_fill.get(43), gap_fill.get(123), gap_fill.get(36)) == (b"Y", b"Y", b"5")
        assert gap_fill.get(122) is not None
        resent = await fix.receive()
        assert_cme_header(resent, b"n", 5)
        assert resent.get(43) == b"Y" and resent.get(122) == first_sent[5]
        assert_copy(resent, inners[2])

        fix.send(fix.message("5"))
        logout = await fix.receive()
        assert_cme_header(logout, b"5", 6)
        assert logout.get(789) == b"5"  # the next MsgSeqNum CME expects from us
        assert await fix.closed_by_peer()
    finally:
        await fix.close()
    assert [m.msg_type for m in acceptor.received] == ["A", "1", "2", "5"]


async def test_simplefix_client_with_a_wrong_signature_is_logged_out(
    acceptor: TestAcceptor,
) -> None:
    """AX-01: an HMAC made with another secret -> Logout 58 and the socket closes."""
    other = "A" * 42 + "E"
    fix = await SimplefixClient.connect(acceptor)
    try:
        fix.send(fix.logon(secret=other))
        logout = await fix.receive()
        assert_cme_header(logout, b"5", 1)
        assert logout.get(58) == INVALID_LOGON and logout.get(789) == b"1"
        assert await fix.closed_by_peer()
    finally:
        await fix.close()
    assert [c.signature_ok for c in acceptor.logons] == [False]
    assert not acceptor.written_of_type("A")
