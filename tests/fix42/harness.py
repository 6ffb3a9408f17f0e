"""Fake wire, fake clock and a fake venue for Drop Copy 4.0 FIX 4.2 session tests."""

from __future__ import annotations

import base64
import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dropcopy.fix import FieldValue, FixFramer, Message, encode
from dropcopy.fix.secure_logon import SecretKey, sign_logon, verify_logon
from dropcopy.fix42 import events as ev
from dropcopy.fix42.session import SECOND, Fix42Session, SessionConfig

T0 = 1_763_900_000 * SECOND  # a Sunday evening in November 2025, in ns
SECRET = base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode()
KEY_ID = "AKIDAKIDAKIDAKIDAKID"
CLIENT = "ABCDEFN"  # 6-character Session ID + FTI N (D-079)
OPERATOR = "OPS1"
INNER = encode(
    "8",
    [
        (34, 7),
        (49, "CME"),
        (52, "20251123-22:00:00.000"),
        (56, "ABC007N"),
        (17, "E1"),
        (39, "2"),
        (150, "F"),
    ],
)


def parse_all(data: bytes) -> list[Message]:
    out = FixFramer().feed(data)
    assert all(isinstance(x, Message) for x in out), out
    return out  # type: ignore[return-value]


def seq_of(msg: Message) -> int:
    value = msg.get_int(34)
    assert value is not None
    return value


def of_type(msgs: Iterable[Message], msg_type: str) -> list[Message]:
    return [m for m in msgs if m.msg_type == msg_type]


def events_of(events: Iterable[ev.Event], cls: type[Any]) -> list[Any]:
    return [e for e in events if isinstance(e, cls)]


def client_config(**kw: Any) -> SessionConfig:
    return SessionConfig.initiator(
        sender_comp_id=kw.pop("sender_comp_id", CLIENT),
        sender_sub_id=kw.pop("sender_sub_id", OPERATOR),
        access_key_id=kw.pop("access_key_id", KEY_ID),
        secret_key=kw.pop("secret_key", SECRET),
        **kw,
    )


@dataclass
class Pair:
    """A Drop Copy client and a Drop Copy gateway joined by an in-memory wire.

    The fake venue accepts Logons signed with :data:`SECRET`, journals every business message
    the gateway sends, and answers Resend Requests from that journal with the first
    retrievable number ``first_retrievable`` (None: everything is retrievable).
    """

    target_sub_id: str = "G"
    heart_bt_int: int = 30
    now: int = T0
    gw_config: dict[str, Any] = field(default_factory=dict)
    client_kw: dict[str, Any] = field(default_factory=dict)
    auto_answer_resend: bool = True
    first_retrievable: int | None = None
    client: Fix42Session = field(init=False)
    gw: Fix42Session = field(init=False)
    client_events: list[ev.Event] = field(default_factory=list)
    gw_events: list[ev.Event] = field(default_factory=list)
    to_gw: list[Message] = field(default_factory=list)
    to_client: list[Message] = field(default_factory=list)
    #: MsgSeqNums CME sends that get lost on the way (first transmission only, not 43=Y).
    drop_to_client: set[int] = field(default_factory=set)
    #: The venue's journal: seq -> wire bytes as first sent.
    journal: dict[int, bytes] = field(default_factory=dict)
    resend_requests: list[ev.ResendRequested] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.client = Fix42Session(
            client_config(
                target_sub_id=self.target_sub_id, heart_bt_int=self.heart_bt_int, **self.client_kw
            ),
            self.now,
        )
        self.gw = Fix42Session(
            SessionConfig.acceptor(self.target_sub_id, **self.gw_config), self.now
        )

    # -- the fake venue -----------------------------------------------------------------------

    def venue(self, events: list[ev.Event]) -> None:
        for e in list(events):
            if isinstance(e, ev.LogonReceived):
                assert verify_logon(e.message, SECRET)
                if e.in_session:
                    self.journal.clear()  # D-033: a new epoch
                    out = self.gw.accept_logon(self.now)
                else:
                    out = self.gw.accept_logon(
                        self.now,
                        next_seq_num=self.gw.next_out,
                        expected_seq_num=self.gw.next_in,
                    )
                self.gw_events.extend(out)
                self.venue(out)
            elif isinstance(e, ev.ResendRequested):
                self.resend_requests.append(e)
                if self.auto_answer_resend:
                    self.answer(e)

    def answer(self, e: ev.ResendRequested) -> None:
        journal = self.journal

        def load(lo: int, hi: int) -> list[bytes]:
            return [journal[s] for s in sorted(journal) if lo <= s <= hi]

        out = self.gw.answer_resend(
            self.now, messages=load, first_retrievable=self.first_retrievable
        )
        self.gw_events.extend(out)

    def publish(self, count: int = 1, inner: bytes = INNER) -> list[int]:
        """The gateway sends ``count`` copies (35=n); returns their MsgSeqNums."""
        seqs = []
        for _ in range(count):
            sent = self.gw.send_encapsulated(self.now, inner)
            self.journal[sent.seq_num] = sent.data
            seqs.append(sent.seq_num)
        return seqs

    # -- the wire ------------------------------------------------------------------------------

    def pump(self) -> None:
        for _ in range(10_000):
            self.fire_due()
            a = self.client.data_to_send()
            b = self.gw.data_to_send()
            if not a and not b:
                return
            if a:
                self.to_gw.extend(parse_all(a))
                got = self.gw.receive_data(a, self.now)
                self.gw_events.extend(got)
                self.venue(got)
            if b:
                kept = bytearray()
                for msg in parse_all(b):
                    if seq_of(msg) in self.drop_to_client and msg.get(43) != b"Y":
                        continue
                    self.to_client.append(msg)
                    kept += msg.raw
                self.client_events.extend(self.client.receive_data(bytes(kept), self.now))
        raise AssertionError("the wire never went quiet")

    def fire_due(self) -> None:
        """Timers already due (e.g. the next batch of a resend answer) fire at once, as the
        asyncio pump's ``call_later(0)`` does."""
        for machine, sink in ((self.client, self.client_events), (self.gw, self.gw_events)):
            deadline = machine.next_deadline()
            if deadline is not None and deadline <= self.now:
                got = machine.on_timer(self.now)
                sink.extend(got)
                if machine is self.gw:
                    self.venue(got)

    def advance(self, ns: int) -> None:
        """Move the clock, firing every timer due on the way (and pumping)."""
        end = self.now + ns
        for _ in range(100_000):
            due = [
                d
                for d in (self.client.next_deadline(), self.gw.next_deadline())
                if d is not None and d <= end
            ]
            if not due:
                break
            self.now = max(self.now, min(due))
            self.client_events.extend(self.client.on_timer(self.now))
            got = self.gw.on_timer(self.now)
            self.gw_events.extend(got)
            self.venue(got)
            self.pump()
        self.now = end

    def logon(self) -> None:
        self.client_events.extend(self.client.logon(self.now))
        self.pump()

    def sent_by_gw(self, msg_type: str) -> list[Message]:
        return of_type(self.to_client, msg_type)

    def sent_by_client(self, msg_type: str) -> list[Message]:
        return of_type(self.to_gw, msg_type)

    def delivered(self) -> list[int]:
        return [e.msg_seq_num for e in events_of(self.client_events, ev.BusinessMessage)]


def cme_message(
    msg_type: str, seq: int, body: list[tuple[int, FieldValue]], poss_dup: bool = False
) -> bytes:
    fields: list[tuple[int, FieldValue]] = [(34, seq), (369, 0), (52, "20251123-12:13:20.000")]
    if poss_dup:
        fields.append((43, "Y"))
    fields += [(49, "CME"), (50, "G"), (56, CLIENT), (57, OPERATOR)]
    if poss_dup:
        fields.append((122, "20251123-12:13:20.000"))
    fields.append((143, "US,IL"))
    return encode(msg_type, fields + body)


# -- a gateway driven by hand-made client messages ----------------------------------------------


def client_fields(
    seq: int,
    now: int,
    *,
    sender: str = CLIENT,
    sub: str = OPERATOR,
    target_sub: str = "G",
    location: str | None = "US,IL",
    poss_dup: bool = False,
    orig: bool = False,
    last_processed: int = 0,
) -> list[tuple[int, FieldValue]]:
    stamp = Raw.stamp(now)
    fields: list[tuple[int, FieldValue]] = [(34, seq)]
    if poss_dup:
        fields.append((43, "Y"))
    fields += [(49, sender), (50, sub), (52, stamp), (56, "CME"), (57, target_sub)]
    if orig:
        fields.append((122, stamp))
    if location is not None:
        fields.append((142, location))
    fields.append((369, last_processed))
    return fields


class Raw:
    """An acceptor fed hand-made client messages (to send what a well-behaved client never
    would). ``send`` returns what the gateway answered, decoded."""

    def __init__(self, target_sub_id: str = "G", **cfg: Any) -> None:
        self.now = T0
        self.gw = Fix42Session(SessionConfig.acceptor(target_sub_id, **cfg), self.now)
        self.events: list[ev.Event] = []
        self.seq = 1  # the client's next MsgSeqNum
        self.target_sub_id = target_sub_id

    @staticmethod
    def stamp(now: int) -> str:
        sec = now // SECOND
        t = datetime.datetime.fromtimestamp(sec, datetime.UTC)
        return t.strftime("%Y%m%d-%H:%M:%S") + f".{(now % SECOND) // 1_000_000:03d}"

    def feed(self, data: bytes) -> list[Message]:
        got = self.gw.receive_data(data, self.now)
        self.events.extend(got)
        return parse_all(self.gw.data_to_send())

    def msg(
        self,
        msg_type: str,
        body: Iterable[tuple[int, FieldValue]] = (),
        *,
        seq: int | None = None,
        **header: Any,
    ) -> bytes:
        """A client message; without ``seq`` it takes the next number."""
        header.setdefault("target_sub", self.target_sub_id)
        if seq is None:
            seq = self.seq
            self.seq += 1
        return encode(msg_type, [*client_fields(seq, self.now, **header), *body])

    def send(
        self,
        msg_type: str,
        body: Iterable[tuple[int, FieldValue]] = (),
        *,
        seq: int | None = None,
        **header: Any,
    ) -> list[Message]:
        return self.feed(self.msg(msg_type, body, seq=seq, **header))

    def logon_msg(
        self,
        seq: int = 1,
        *,
        hb: FieldValue = 30,
        extra: Iterable[tuple[int, FieldValue]] = (),
        secret: str = SECRET,
        **header: Any,
    ) -> bytes:
        header.setdefault("target_sub", self.target_sub_id)
        fields = [*client_fields(seq, self.now, **header), (108, hb), *extra]
        fields += [(1603, "TEST"), (1604, "1.0"), (1605, "ACME")]
        return encode("A", sign_logon(fields, KEY_ID, SecretKey(secret)))

    def logon(
        self,
        *,
        next_seq_num: int = 1,
        expected: int = 1,
        seq: int | None = None,
        **kw: Any,
    ) -> list[Message]:
        """Log on and let the venue accept; returns everything the gateway wrote."""
        seq = expected if seq is None else seq
        out = self.feed(self.logon_msg(seq, **kw))
        assert not out, out
        got = self.gw.accept_logon(self.now, next_seq_num=next_seq_num, expected_seq_num=expected)
        self.events.extend(got)
        self.seq = seq + 1
        return parse_all(self.gw.data_to_send())

    def accept(self, **kw: Any) -> list[Message]:
        """The venue accepts the pending Logon; returns what the gateway wrote."""
        self.events.extend(self.gw.accept_logon(self.now, **kw))
        return parse_all(self.gw.data_to_send())

    def reject(self, *args: Any, **kw: Any) -> list[Message]:
        self.events.extend(self.gw.reject_logon(self.now, *args, **kw))
        return parse_all(self.gw.data_to_send())

    def timer(self, at: int) -> list[Message]:
        self.now = at
        self.events.extend(self.gw.on_timer(at))
        return parse_all(self.gw.data_to_send())

    def publish(self, count: int) -> dict[int, bytes]:
        out = {}
        for _ in range(count):
            sent = self.gw.send_encapsulated(self.now, INNER)
            out[sent.seq_num] = sent.data
        self.gw.data_to_send()
        return out

    def last(self, cls: type[Any]) -> Any:
        found = events_of(self.events, cls)
        assert found, f"no {cls.__name__} in {self.events}"
        return found[-1]


def fields_of(msg: Message) -> dict[int, bytes]:
    return dict(msg.body_fields)
