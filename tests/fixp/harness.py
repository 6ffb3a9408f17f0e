"""Fake wire and fake clock for FIXP session tests."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from dropcopy.fixp import events as ev
from dropcopy.fixp.session import MS, SECOND, FixpSession, Role, SessionConfig
from dropcopy.ilink3 import messages as m
from dropcopy.ilink3 import signing
from dropcopy.ilink3.codec import Decoder, encode
from dropcopy.sbe.runtime import MessageBase

T0 = 1_763_900_000 * SECOND  # a Sunday evening in November 2026, in ns
SECRET = base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode()
KEY_ID = "AKIDAKIDAKIDAKIDAKID"
UUID = 1_763_900_000_000_000
SESSION, FIRM = "ABC", "007"


def decode_all(data: bytes) -> list[MessageBase]:
    out = Decoder().feed(data)
    assert all(isinstance(x, MessageBase) for x in out), out
    return out  # type: ignore[return-value]


@dataclass
class Pair:
    """A customer session and a gateway session joined by an in-memory wire."""

    backup: bool = False
    keep_alive_ms: int = 30_000
    now: int = T0
    client: FixpSession = field(init=False)
    gw: FixpSession = field(init=False)
    client_events: list[ev.Event] = field(default_factory=list)
    gw_events: list[ev.Event] = field(default_factory=list)
    to_gw: list[MessageBase] = field(default_factory=list)  # what crossed the wire, decoded
    to_client: list[MessageBase] = field(default_factory=list)
    drop_to_client: set[int] = field(default_factory=set)  # SeqNums lost on the way

    def __post_init__(self) -> None:
        self.client = FixpSession(
            SessionConfig(
                Role.INITIATOR, backup=self.backup, keep_alive_interval_ms=self.keep_alive_ms
            )
        )
        self.gw = FixpSession(SessionConfig(Role.ACCEPTOR, backup=self.backup))

    def pump(self) -> None:
        for _ in range(100):
            a = self.client.data_to_send()
            b = self.gw.data_to_send()
            if not a and not b:
                return
            if a:
                self.to_gw.extend(decode_all(a))
                self.gw_events.extend(self.gw.receive_data(a, self.now))
            if b:
                kept = bytearray()
                for msg in decode_all(b):
                    seq = getattr(msg, "SeqNum", None)
                    if seq in self.drop_to_client and not getattr(msg, "PossRetransFlag", 0):
                        continue
                    self.to_client.append(msg)
                    kept += encode(msg)
                self.client_events.extend(self.client.receive_data(bytes(kept), self.now))
        raise AssertionError("the wire never went quiet")

    def advance(self, ns: int) -> None:
        end = self.now + ns
        while True:
            due = [
                d
                for d in (self.client.next_deadline(), self.gw.next_deadline())
                if d is not None and d <= end
            ]
            if not due:
                break
            self.now = max(self.now, min(due))
            self.client_events.extend(self.client.on_timer(self.now))
            self.gw_events.extend(self.gw.on_timer(self.now))
            self.pump()
        self.now = end

    def negotiate(self, uuid: int = UUID) -> None:
        self.client_events.extend(
            self.client.negotiate(
                self.now,
                secret_key=SECRET,
                access_key_id=KEY_ID,
                uuid=uuid,
                session=SESSION,
                firm=FIRM,
            )
        )
        self.pump()
        got = [e for e in self.gw_events if isinstance(e, ev.NegotiateReceived)]
        assert got and signing.verify(SECRET, got[-1].message)
        self.gw_events.extend(self.gw.accept_negotiate(self.now, secret_key_expiration=28))
        self.pump()

    def establish(
        self,
        *,
        next_seq_no: int = 1,
        expected: int = 1,
        gw_next: int = 1,
        gw_expected: int = 1,
        **kw: Any,
    ) -> None:
        self.client_events.extend(
            self.client.establish(
                self.now,
                secret_key=SECRET,
                access_key_id=KEY_ID,
                next_seq_no=next_seq_no,
                expected_seq_no=expected,
                uuid=self.client.uuid or UUID,
                session=SESSION,
                firm=FIRM,
            )
        )
        self.pump()
        got = [e for e in self.gw_events if isinstance(e, ev.EstablishReceived)]
        assert got and signing.verify(SECRET, got[-1].message)
        self.gw_events.extend(
            self.gw.accept_establish(
                self.now, next_seq_no=gw_next, expected_seq_no=gw_expected, **kw
            )
        )
        self.pump()

    def logon(self) -> None:
        self.negotiate()
        self.establish()

    def sent_by_gw(self, cls: type[MessageBase]) -> list[Any]:
        return [x for x in self.to_client if isinstance(x, cls)]

    def sent_by_client(self, cls: type[MessageBase]) -> list[Any]:
        return [x for x in self.to_gw if isinstance(x, cls)]


def order(seq: int = 0, clordid: str = "C1") -> m.NewOrderSingle514:
    return m.NewOrderSingle514(
        Price="4512.25", OrderQty=1, SecurityID=204527, Side=m.SideReq.Buy, SeqNum=seq, SenderID="TRADER",
        ClOrdID=clordid, PartyDetailsListReqID=1, OrderRequestID=1, SendingTimeEpoch=0, Location="US,IL",
        OrdType=m.OrderTypeReq.Limit, ManualOrderIndicator=m.ManualOrdIndReq.Automated,
    )  # fmt: skip


def report(seq: int = 0, uuid: int = 0, exec_id: str = "E1") -> m.ExecutionReportNew522:
    return m.ExecutionReportNew522(
        SeqNum=seq, UUID=uuid, ExecID=exec_id, SenderID="TRADER", ClOrdID="C1", PartyDetailsListReqID=1, OrderID=7,
        Price="4512.25", TransactTime=0, SendingTimeEpoch=0, OrderRequestID=1, Location="US,IL", SecurityID=204527,
        OrderQty=1, OrdType=m.OrderTypeReq.Limit, Side=m.SideReq.Buy, ManualOrderIndicator=m.ManualOrdIndReq.Automated,
        PossRetransFlag=m.BooleanFlag.False_,
    )  # fmt: skip


class Raw:
    """A gateway session driven by hand-made customer messages (to send what a well-behaved
    client never would)."""

    def __init__(self, *, backup: bool = False) -> None:
        self.now = T0
        self.gw = FixpSession(SessionConfig(Role.ACCEPTOR, backup=backup))
        self.events: list[ev.Event] = []

    def send(self, msg: MessageBase | bytes) -> list[MessageBase]:
        data = msg if isinstance(msg, bytes) else encode(msg)
        self.events.extend(self.gw.receive_data(data, self.now))
        return decode_all(self.gw.data_to_send())

    def negotiate_msg(self, **over: Any) -> m.Negotiate500:
        kw: dict[str, Any] = dict(
            access_key_id=KEY_ID, uuid=UUID, request_timestamp=self.now, session=SESSION, firm=FIRM
        )
        msg = signing.sign_negotiate(SECRET, **kw)
        if not over:
            return msg
        fields = {f.name: getattr(msg, f.name) for f in msg.SBE_FIELDS if f.kind != "constant"}
        fields.update(over)
        return m.Negotiate500(**fields)

    def establish_msg(self, **over: Any) -> m.Establish503:
        msg = signing.sign_establish(
            SECRET, access_key_id=KEY_ID, uuid=UUID, request_timestamp=self.now, session=SESSION, firm=FIRM,
            trading_system_name="ts", trading_system_version="1", trading_system_vendor="v", next_seq_no=1,
            keep_alive_interval=30_000,
        )  # fmt: skip
        if not over:
            return msg
        fields = {f.name: getattr(msg, f.name) for f in msg.SBE_FIELDS if f.kind != "constant"}
        fields.update(over)
        return m.Establish503(**fields)

    def negotiated(self) -> None:
        self.send(self.negotiate_msg())
        self.events.extend(self.gw.accept_negotiate(self.now))
        self.gw.data_to_send()

    def established(self, *, next_seq_no: int = 1, expected: int = 1, gw_next: int = 1) -> None:
        self.negotiated()
        self.send(self.establish_msg(NextSeqNo=next_seq_no))
        self.events.extend(
            self.gw.accept_establish(self.now, next_seq_no=gw_next, expected_seq_no=expected)
        )
        self.gw.data_to_send()

    def seq(self, next_seq_no: int, lapsed: int = 0, uuid: int = UUID) -> m.Sequence506:
        return m.Sequence506(UUID=uuid, NextSeqNo=next_seq_no, KeepAliveIntervalLapsed=lapsed)


__all__ = ["MS", "SECOND"]
