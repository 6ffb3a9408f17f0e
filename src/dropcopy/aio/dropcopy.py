"""An asyncio Drop Copy 4.0 consumer: log on, receive copies, keep the customer's obligations.

Theory of operation
-------------------
The session rules of one connection (secure logon, heartbeats, gap detection, Resend Requests
of at most 2500 messages one at a time, holding real-time messages until a gap is filled and
delivering in MsgSeqNum order, answering CME's Resend Requests with a GapFill, holding a
Logout while a resend is in flight) live in the sans-IO :class:`~dropcopy.fix42.Fix42Session`.
:class:`DropCopyClient` moves its bytes with :class:`~dropcopy.aio.pump.MachineProtocol` and
does what needs memory across connections, or a choice between gateways (seed 003):

* **sequence state** (D-084): the next outbound 34 and the next expected CME 34 are kept per
  (Session ID, 57 TargetSubID) in a :class:`DropCopyStore` (:class:`FileDropCopyStore`: one
  JSON file, replaced atomically), with the CME week they belong to. The first Logon of a week
  uses 34=1 (D-025); a later one continues the stored numbers (D-026). A copy counts as
  consumed once :meth:`DropCopyClient.next_copy` handed it out: the stored expected number never
  passes a copy the program has not taken, so after a crash those copies are asked for again.
* **789 on a refused Logon** (D-026, D-149, D-150): CME answers a Logon with the wrong 34 with a
  Logout carrying 789 NextExpectedMsgSeqNum; the client logs on again with 34 = 789, once.
* **primary and backup** (D-064..D-066): connect to the designated primary; when it refuses the
  connection, or the connection drops, go to the backup with the next outbound 34. A Logout
  ``Backup session not allowed. Logout forced.`` means the primary is up: go back to it. A
  graceful :meth:`~DropCopyClient.fail_over` or :meth:`~DropCopyClient.logout` waits for the
  in-flight resend first (D-011; the machine holds the Logout).
* **97=Y possible resends** (D-067..D-069, wire notes §2.4): a copy flagged 97=Y whose inner
  (56 source session, 5979 RequestTime, 34 MsgSeqNum) was already delivered is dropped and
  counted; a bounded memory of recent keys is kept, and saved with the state on close.
* **resend responses** (D-048): copies carrying 43=Y are flagged on :class:`Copy` and counted
  apart from real-time ones in :class:`DropCopyStats`.
* **MSGW** (D-002, D-085, D-099): :class:`DropCopyMsgwClient` runs one :class:`DropCopyClient`
  per configured market segment (57 = the segment's 1300 MarketSegmentID), each with its own
  sequence state -- the same 34 on two segments is neither a gap nor a duplicate -- and merges
  their copies, in arrival order, into one stream tagged with the segment.

```python
client = DropCopyClient.from_key_file(
    "keys.txt", "ABCDEF", endpoints=["10.0.0.1:9100", "10.0.0.2:9100"],  # primary, backup
    store=FileDropCopyStore("dc-state.json"),
)
async with client:                       # connect + secure Logon, graceful Logout at the end
    async for copy in client.copies():   # in 34 order, duplicates (97=Y) dropped
        print(copy.seq_num, copy.exec_type, copy.cl_ord_id, copy.last_qty, copy.last_px)
```
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import TracebackType
from typing import Any, Final, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from dropcopy import keyfile
from dropcopy.fix.codec import Message
from dropcopy.fix.encapsulation import decode_encapsulated
from dropcopy.fix.errors import FixError
from dropcopy.fix.secure_logon import SecretKey
from dropcopy.fix.texts import BACKUP_NOT_ALLOWED
from dropcopy.fix42 import events as ev
from dropcopy.fix42.session import SECOND, Fix42Session, SessionConfig, State

from .pump import Clock, MachineProtocol

__all__ = [
    "CHICAGO",
    "ConnectionFailed",
    "Copy",
    "DedupKey",
    "DropCopyClient",
    "DropCopyError",
    "DropCopyMsgwClient",
    "DropCopyState",
    "DropCopyStats",
    "DropCopyStore",
    "Endpoint",
    "FileDropCopyStore",
    "LogonRejected",
    "MemoryDropCopyStore",
    "Position",
    "Positions",
    "SessionClosed",
    "cme_week_start",
    "key_from_file",
]

CHICAGO: Final = ZoneInfo("America/Chicago")
#: The weekly start-up: Sunday 16:00 America/Chicago (seed 003 "Session Logon": the first Logon
#: of the week uses 34=1, D-025; the 48-hour resend window "begins at the Sunday start-up").
_STARTUP_WEEKDAY: Final = 6  # Sunday (Monday = 0)
_STARTUP_TIME: Final = time_of_day(16, 0)
#: Seed 003 "Connectivity Management": recommended HeartBtInt (D-020).
DEFAULT_HEART_BT_INT: Final = 30

#: A copy's identity for 97=Y de-duplication (wire notes §2.4): inner 56 (the source session),
#: 5979 RequestTime, inner 34 (the source MsgSeqNum).
DedupKey = tuple[str, int, int]


def cme_week_start(now: int) -> int:
    """The most recent weekly start-up (Sunday 16:00 America/Chicago, DST-aware) at or before
    ``now``; both in ns since the epoch."""
    seconds = now // SECOND
    local = datetime.fromtimestamp(seconds, CHICAGO)
    days_back = (local.weekday() - _STARTUP_WEEKDAY) % 7
    start = datetime.combine(local.date() - timedelta(days=days_back), _STARTUP_TIME, CHICAGO)
    if int(start.timestamp()) > seconds:
        start = datetime.combine(start.date() - timedelta(days=7), _STARTUP_TIME, CHICAGO)
    return int(start.timestamp()) * SECOND


# ============================================================================== endpoints


class Endpoint(NamedTuple):
    """A gateway address."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        """``host:port`` (``[v6]:port`` for IPv6). Raises ``ValueError``."""
        host, sep, port = text.strip().rpartition(":")
        host = host.strip("[]")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"not host:port: {text!r}")
        return cls(host, int(port))

    @classmethod
    def of(cls, value: Endpoint | tuple[str, int] | str) -> Endpoint:
        if isinstance(value, str):
            return cls.parse(value)
        return cls(value[0], int(value[1]))


# ============================================================================== errors


class DropCopyError(Exception):
    """Base of this module's errors. ``target_sub_id`` names the stream (57)."""

    target_sub_id: str = ""


class LogonRejected(DropCopyError):
    """CME refused the Logon (a Logout answered it), after the 789 retry where one applies."""

    def __init__(self, closed: ev.Closed, endpoint: Endpoint, target_sub_id: str = "") -> None:
        text = closed.logout_text or closed.reason
        extra = (
            f", 789={closed.next_expected_msg_seq_num}"
            if closed.next_expected_msg_seq_num is not None
            else ""
        )
        super().__init__(f"logon refused by {endpoint}: {text}{extra}")
        self.closed = closed
        self.endpoint = endpoint
        self.text = text
        self.next_expected_msg_seq_num = closed.next_expected_msg_seq_num
        self.target_sub_id = target_sub_id


class ConnectionFailed(DropCopyError):
    """No endpoint could be reached (or every connection dropped before the Logon ack)."""

    def __init__(self, errors: Sequence[str], target_sub_id: str = "") -> None:
        super().__init__("could not connect: " + "; ".join(errors) if errors else "no endpoint")
        self.errors = list(errors)
        self.target_sub_id = target_sub_id


class SessionClosed(DropCopyError):
    """The session ended: CME logged it out, CME broke a session rule, or this side logged out
    (``by_us``; :meth:`DropCopyClient.copies` then simply stops)."""

    def __init__(self, closed: ev.Closed | None, *, by_us: bool, target_sub_id: str = "") -> None:
        if closed is None:
            text = "closed"
        else:
            text = closed.logout_text or closed.reason
        super().__init__(f"session closed{' by this side' if by_us else ''}: {text}")
        self.closed = closed
        self.by_us = by_us
        self.target_sub_id = target_sub_id


# ============================================================================== state


@dataclass(frozen=True, slots=True)
class DropCopyState:
    """What a Drop Copy consumer must remember about one sequence stream (D-084)."""

    session_id: str
    target_sub_id: str
    #: The CME week (start-up, ns) the numbers belong to; another week starts at 1 (D-025).
    week_start: int
    next_out: int  # the next 34 the client sends
    next_in: int  # the next 34 expected from CME
    #: Recent 97=Y de-duplication keys of consumed copies (oldest first).
    recent: tuple[DedupKey, ...] = ()


class DropCopyStore(Protocol):
    def load(self, session_id: str, target_sub_id: str) -> DropCopyState | None: ...
    def save(self, state: DropCopyState) -> None: ...


def _stream_key(session_id: str, target_sub_id: str) -> str:
    return f"{session_id}/{target_sub_id}"


class MemoryDropCopyStore:
    """States in a dict (tests, or a program with its own persistence)."""

    def __init__(self) -> None:
        self.states: dict[str, DropCopyState] = {}

    def load(self, session_id: str, target_sub_id: str) -> DropCopyState | None:
        return self.states.get(_stream_key(session_id, target_sub_id))

    def save(self, state: DropCopyState) -> None:
        self.states[_stream_key(state.session_id, state.target_sub_id)] = state


class FileDropCopyStore:
    """Every stream of a session (one per 57: ``G``, or each market segment) in one small JSON
    file, keyed ``"<Session ID>/<57>"`` (D-084), replaced atomically on each save (read, update
    one stream, write a temporary file, ``os.replace``). ``fsync=True`` makes each save durable
    across a power loss (slower). One process per file."""

    VERSION: Final = 1

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.path = Path(path)
        self.fsync = fsync

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        if not isinstance(data, dict) or not isinstance(data.get("streams"), dict):
            raise ValueError(f"{self.path} is not a Drop Copy state file")
        streams: dict[str, Any] = data["streams"]
        return streams

    def load(self, session_id: str, target_sub_id: str) -> DropCopyState | None:
        row = self._read().get(_stream_key(session_id, target_sub_id))
        if row is None:
            return None
        recent = tuple((str(s), int(t), int(q)) for s, t, q in row.get("recent", ()))
        return DropCopyState(
            session_id,
            target_sub_id,
            int(row["week_start"]),
            int(row["next_out"]),
            int(row["next_in"]),
            recent,
        )

    def save(self, state: DropCopyState) -> None:
        streams = self._read()
        streams[_stream_key(state.session_id, state.target_sub_id)] = {
            "session_id": state.session_id,
            "target_sub_id": state.target_sub_id,
            "week_start": state.week_start,
            "next_out": state.next_out,
            "next_in": state.next_in,
            "recent": [list(k) for k in state.recent],
        }
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w") as f:
            f.write(json.dumps({"version": self.VERSION, "streams": streams}, indent=1))
            if self.fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, self.path)


# ============================================================================== copies


def _decimal(value: bytes | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value.decode("ascii"))
    except (InvalidOperation, UnicodeDecodeError):
        return None


def _int(value: bytes | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def _str(msg: Message | None, tag: int) -> str | None:
    return None if msg is None else msg.get_str(tag)


@dataclass(frozen=True, slots=True)
class Copy:
    """One copy of source-session activity (35=n), with the inner message decoded.

    ``seq_num``, ``poss_dup`` (43=Y: a resend response, D-048) and ``poss_resend`` (97=Y, a
    possible duplicate that passed de-duplication) belong to the outer message of the stream
    ``target_sub_id`` (``"G"`` on a Convenience Gateway, the market segment on MSGW). The other
    fields come from the inner message (None when absent); ``inner`` is None and ``error`` says
    why when the payload could not be decoded."""

    session_id: str
    target_sub_id: str
    seq_num: int
    poss_dup: bool
    poss_resend: bool
    sending_time: str | None  # outer 52
    orig_sending_time: str | None  # outer 122 (resend responses)
    msg_type: str | None  # inner 35
    source: str | None  # inner 56: the source session's SenderCompID
    source_seq_num: int | None  # inner 34
    cl_ord_id: str | None  # 11
    order_id: str | None  # 37
    exec_id: str | None  # 17
    exec_type: str | None  # 150
    ord_status: str | None  # 39
    symbol: str | None  # 55
    security_id: str | None  # 48
    side: str | None  # 54
    order_qty: Decimal | None  # 38
    price: Decimal | None  # 44
    last_qty: Decimal | None  # 32
    last_px: Decimal | None  # 31
    account: str | None  # 1
    transact_time: str | None  # 60
    request_time: int | None  # 5979 (ns)
    outer: Message = field(repr=False)
    inner: Message | None = field(repr=False)
    error: str | None = None
    #: Order of arrival across the streams of a :class:`DropCopyMsgwClient`.
    arrival: int = field(default=0, repr=False, compare=False)

    @property
    def segment(self) -> str:
        """The market segment (MSGW) or ``"G"`` (CGW): the stream's 57."""
        return self.target_sub_id

    @property
    def dedup_key(self) -> DedupKey | None:
        """(inner 56, 5979, inner 34), or None when 5979 or the inner 34 is missing."""
        if self.request_time is None or self.source_seq_num is None:
            return None
        return (self.source or "", self.request_time, self.source_seq_num)

    @property
    def is_fill(self) -> bool:
        """An execution report for a (partial) fill: 150 ExecType 1/2 (F as FIX 4.4 writes it),
        or 39 OrdStatus 1/2 without 150, with 32 LastQty > 0; trade cancels and corrections
        (20 ExecTransType 1/2) are not fills."""
        if self.msg_type != "8" or self.last_qty is None or self.last_qty <= 0:
            return False
        if self.inner is not None and self.inner.get(20) in (b"1", b"2"):
            return False
        if self.exec_type is not None:
            return self.exec_type in ("1", "2", "F")
        return self.ord_status in ("1", "2")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly record (decimals as strings, the inner fields as [tag, value])."""

        def dec(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {
            "session_id": self.session_id,
            "segment": self.target_sub_id,
            "seq_num": self.seq_num,
            "poss_dup": self.poss_dup,
            "poss_resend": self.poss_resend,
            "sending_time": self.sending_time,
            "orig_sending_time": self.orig_sending_time,
            "msg_type": self.msg_type,
            "source": self.source,
            "source_seq_num": self.source_seq_num,
            "cl_ord_id": self.cl_ord_id,
            "order_id": self.order_id,
            "exec_id": self.exec_id,
            "exec_type": self.exec_type,
            "ord_status": self.ord_status,
            "symbol": self.symbol,
            "security_id": self.security_id,
            "side": self.side,
            "order_qty": dec(self.order_qty),
            "price": dec(self.price),
            "last_qty": dec(self.last_qty),
            "last_px": dec(self.last_px),
            "account": self.account,
            "transact_time": self.transact_time,
            "request_time": self.request_time,
            "fill": self.is_fill,
            "error": self.error,
            "fields": (
                [[tag, value.decode("latin-1")] for tag, value in self.inner.fields]
                if self.inner is not None
                else None
            ),
        }

    @classmethod
    def from_event(
        cls, e: ev.BusinessMessage, session_id: str, target_sub_id: str, arrival: int = 0
    ) -> Copy:
        outer = e.message
        inner: Message | None
        error: str | None = None
        try:
            inner = decode_encapsulated(outer)
        except FixError as exc:
            inner, error = None, exc.text
        return cls(
            session_id=session_id,
            target_sub_id=target_sub_id,
            seq_num=e.msg_seq_num,
            poss_dup=e.poss_dup,
            poss_resend=e.poss_resend,
            sending_time=outer.get_str(52),
            orig_sending_time=outer.get_str(122),
            msg_type=None if inner is None else inner.msg_type,
            source=_str(inner, 56),
            source_seq_num=None if inner is None else _int(inner.get(34)),
            cl_ord_id=_str(inner, 11),
            order_id=_str(inner, 37),
            exec_id=_str(inner, 17),
            exec_type=_str(inner, 150),
            ord_status=_str(inner, 39),
            symbol=_str(inner, 55),
            security_id=_str(inner, 48),
            side=_str(inner, 54),
            order_qty=None if inner is None else _decimal(inner.get(38)),
            price=None if inner is None else _decimal(inner.get(44)),
            last_qty=None if inner is None else _decimal(inner.get(32)),
            last_px=None if inner is None else _decimal(inner.get(31)),
            account=_str(inner, 1),
            transact_time=_str(inner, 60),
            request_time=None if inner is None else _int(inner.get(5979)),
            outer=outer,
            inner=inner,
            error=error,
            arrival=arrival,
        )


@dataclass(slots=True)
class DropCopyStats:
    """Counters of one stream (since the client object was made)."""

    delivered: int = 0  # copies queued for the program
    real_time: int = 0  # ... without 43=Y
    resend_responses: int = 0  # ... with 43=Y (D-048)
    poss_resend: int = 0  # ... with 97=Y that were not duplicates
    duplicates_dropped: int = 0  # 97=Y copies already delivered (wire notes §2.4)
    undecodable: int = 0  # copies whose inner message could not be decoded
    last_real_time_seq: int = 0
    last_resend_seq: int = 0
    gaps: int = 0
    resend_requests: int = 0
    resend_rejects: int = 0
    unrecoverable: int = 0  # messages beyond the 48-hour window (5024, D-055)
    gap_fills_sent: int = 0  # answers to CME's Resend Requests (D-037, D-042)
    logons: int = 0
    logon_retries_789: int = 0  # D-026, D-149
    reconnects: int = 0
    failovers: int = 0  # logons on another endpoint than the previous one (D-066)


# ============================================================================== positions


_BUY: Final = frozenset({"1"})
_SELL: Final = frozenset({"2", "5", "6"})  # sell, sell short, sell short exempt


@dataclass(slots=True)
class Position:
    """Net filled position of one account in one instrument."""

    account: str
    instrument: str  # SecurityID 48 when present, else Symbol 55
    symbol: str | None = None
    security_id: str | None = None
    bought: Decimal = Decimal(0)
    sold: Decimal = Decimal(0)
    buy_value: Decimal = Decimal(0)
    sell_value: Decimal = Decimal(0)
    fills: int = 0

    @property
    def net(self) -> Decimal:
        return self.bought - self.sold

    @property
    def avg_buy_px(self) -> Decimal | None:
        return self.buy_value / self.bought if self.bought else None

    @property
    def avg_sell_px(self) -> Decimal | None:
        return self.sell_value / self.sold if self.sold else None

    def to_dict(self) -> dict[str, Any]:
        def s(v: Decimal | None) -> str | None:
            return None if v is None else f"{v.normalize():f}"

        return {
            "account": self.account,
            "instrument": self.instrument,
            "symbol": self.symbol,
            "security_id": self.security_id,
            "net": s(self.net),
            "bought": s(self.bought),
            "sold": s(self.sold),
            "avg_buy_px": s(self.avg_buy_px),
            "avg_sell_px": s(self.avg_sell_px),
            "fills": self.fills,
        }


class Positions:
    """Net positions per (Account 1, instrument) from fill copies (seed 003: "Trade Execution
    Reports ... can be used to determine a customer's filled positions")."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], Position] = {}

    def apply(self, copy: Copy) -> Position | None:
        """Count ``copy`` if it is a fill (:attr:`Copy.is_fill`); returns the position."""
        if not copy.is_fill or copy.last_qty is None:
            return None
        side = copy.side or ""
        if side not in _BUY and side not in _SELL:
            return None
        instrument = copy.security_id or copy.symbol or "?"
        account = copy.account or ""
        pos = self._by_key.get((account, instrument))
        if pos is None:
            pos = Position(account, instrument, copy.symbol, copy.security_id)
            self._by_key[(account, instrument)] = pos
        value = copy.last_qty * (copy.last_px or Decimal(0))
        if side in _BUY:
            pos.bought += copy.last_qty
            pos.buy_value += value
        else:
            pos.sold += copy.last_qty
            pos.sell_value += value
        pos.symbol = pos.symbol or copy.symbol
        pos.fills += 1
        return pos

    def __iter__(self) -> Iterator[Position]:
        return iter(sorted(self._by_key.values(), key=lambda p: (p.account, p.instrument)))

    def __len__(self) -> int:
        return len(self._by_key)

    def to_list(self) -> list[dict[str, Any]]:
        return [p.to_dict() for p in self]


# ============================================================================== the client


def key_from_file(
    path: str | os.PathLike[str],
    session_id: str,
    *,
    today: date | None = None,
    environment: str | None = None,
) -> keyfile.KeyFileEntry:
    """The key pair to log on with, from a Request Center key file (the newest unexpired entry
    of ``session_id``). Raises :class:`dropcopy.keyfile.KeyFileError` or ``OSError``."""
    entries = keyfile.load(Path(path))
    key = keyfile.current(
        entries, session_id, today or datetime.now(CHICAGO).date(), environment=environment
    )
    if key is None:
        raise keyfile.KeyFileError(f"no unexpired key for session {session_id!r} in {path}")
    return key


def _credentials(
    path: str | os.PathLike[str], session_id: str, today: date | None, environment: str | None
) -> dict[str, Any]:
    """The constructor arguments a key file gives: Session ID, Access Key ID and secret."""
    key = key_from_file(path, session_id, today=today, environment=environment)
    return {
        "session_id": session_id,
        "access_key_id": key.access_key_id,
        "secret_key": key.secret_key,
    }


def _recoverable(closed: ev.Closed) -> bool:
    """A close after which reconnecting (failing over) is the right answer: the transport
    dropped, or the peer went silent (D-022, AD-05) or never confirmed a Logout."""
    if closed.by_peer is None:
        return True
    return closed.by_peer is False and (
        closed.rule == "AD-05" or closed.reason in ("no Logon ack", "no Logout confirmation")
    )


class DropCopyClient:
    """One Drop Copy 4.0 target session stream (one TCP connection at a time).

    ``session_id`` is the 6-character Session ID; the SenderCompID is it plus the fault
    tolerance indicator ``N`` (D-079). ``target_sub_id`` is ``"G"`` on a Convenience Gateway
    (D-105) or the market segment ID on a Market Segment Gateway (D-099). ``endpoints`` lists
    the designated primary first, then the backup (D-064). ``week_start(now)`` gives the CME
    week start-up (Sunday 16:00 Chicago by default); ``clock`` the time in ns.
    """

    def __init__(
        self,
        *,
        session_id: str,
        access_key_id: str,
        secret_key: SecretKey | str,
        endpoints: Sequence[Endpoint | tuple[str, int] | str],
        target_sub_id: str = "G",
        sender_sub_id: str = "DROPCOPY",
        sender_location_id: str = "US,IL",
        heart_bt_int: int = DEFAULT_HEART_BT_INT,
        store: DropCopyStore | None = None,
        week_start: Callable[[int], int] = cme_week_start,
        clock: Clock = time.time_ns,
        dedup_window: int = 20_000,
        persist_dedup: int = 1_000,
        auto_reconnect: bool = True,
        reconnect_delay: float = 1.0,
        max_attempts: int = 6,
        connect_timeout: float = 5.0,
        logon_timeout: float = 10.0,
        application_system_name: str = "dropcopy",
        trading_system_version: str = "0.1",
        application_system_vendor: str = "dropcopy",
        on_event: Callable[[DropCopyClient, ev.Event], None] | None = None,
    ) -> None:
        if len(session_id) != 6 or not session_id.isalnum():
            raise ValueError(f"the Session ID is 6 alphanumeric characters (D-079): {session_id!r}")
        if not target_sub_id:
            raise ValueError("target_sub_id is 'G' (CGW) or a market segment ID (MSGW)")
        if not endpoints:
            raise ValueError("at least one endpoint (the designated primary) is needed")
        if not 5 <= heart_bt_int <= 60:
            raise ValueError("HeartBtInt must be 5..60 seconds (D-019)")
        self.session_id = session_id
        self.sender_comp_id = session_id + "N"  # D-079: FTI N (no fault tolerance)
        self.target_sub_id = target_sub_id
        self.endpoints = [Endpoint.of(e) for e in endpoints]
        self.store = store
        self.week_start = week_start
        self.clock = clock
        self.dedup_window = max(0, dedup_window)
        self.persist_dedup = max(0, persist_dedup)
        self.auto_reconnect = auto_reconnect
        self.reconnect_delay = reconnect_delay
        self.max_attempts = max(1, max_attempts)
        self.connect_timeout = connect_timeout
        self.logon_timeout = logon_timeout
        self.on_event = on_event
        self.config = SessionConfig.initiator(
            sender_comp_id=self.sender_comp_id,
            sender_sub_id=sender_sub_id,
            access_key_id=access_key_id,
            secret_key=secret_key,
            target_sub_id=target_sub_id,
            sender_location_id=sender_location_id,
            heart_bt_int=heart_bt_int,
            logon_timeout=int(logon_timeout * SECOND),
            application_system_name=application_system_name,
            trading_system_version=trading_system_version,
            application_system_vendor=application_system_vendor,
        )
        self.stats = DropCopyStats()
        self.machine: Fix42Session | None = None
        self.protocol: MachineProtocol | None = None
        self.endpoint: Endpoint | None = None
        self.logged_on_event: ev.LoggedOn | None = None
        # sequence state (loaded at the first logon)
        self._week: int | None = None
        self._next_out = 1
        self._next_in = 1
        self._index = 0  # the endpoint of the last logon
        self._last_logon_seq = 0
        self._saved: DropCopyState | None = None
        self._recent_saved: tuple[DedupKey, ...] = ()
        # delivery
        self._pending: deque[Copy] = deque()
        self._seen: dict[DedupKey, None] = {}
        self._wakeup = asyncio.Event()
        self._arrival: Iterator[int] = itertools.count()
        self._logon_waiter: asyncio.Future[ev.LoggedOn | ev.Closed] | None = None
        self._lost: ev.Closed | None = None
        self._error: DropCopyError | None = None
        self._stopping = False

    @classmethod
    def from_key_file(
        cls,
        path: str | os.PathLike[str],
        session_id: str,
        *,
        today: date | None = None,
        environment: str | None = None,
        **kw: Any,
    ) -> DropCopyClient:
        """A client whose access key id and secret come from a Request Center key file."""
        return cls(**_credentials(path, session_id, today, environment), **kw)

    # -- properties ---------------------------------------------------------------------------

    @property
    def next_out(self) -> int:
        """The next MsgSeqNum this client sends."""
        return self.machine.next_out if self.machine is not None else self._next_out

    @property
    def next_in(self) -> int:
        """The next MsgSeqNum expected from CME."""
        return self.machine.next_in if self.machine is not None else self._next_in

    @property
    def logged_on(self) -> bool:
        m = self.machine
        return m is not None and m.state in (State.ACTIVE, State.RESET_SENT)

    @property
    def resend_in_progress(self) -> bool:
        """This client's Resend Request is not fulfilled yet (D-011)."""
        return self.machine is not None and self.machine.resend_in_progress

    @property
    def logout_held(self) -> bool:
        """A Logout waits for the in-flight resend (D-011)."""
        return self.machine is not None and self.machine.logout_held

    @property
    def pending(self) -> int:
        """Copies received and not yet taken with :meth:`next_copy`."""
        return len(self._pending)

    # -- sequence state -----------------------------------------------------------------------

    def _refresh_week(self, now: int) -> None:
        """Load the stored numbers once; start at 1 when they belong to another week (D-025)."""
        week = self.week_start(now)
        if self._week is None:
            saved = (
                self.store.load(self.session_id, self.target_sub_id)
                if self.store is not None
                else None
            )
            if saved is not None and saved.week_start == week:
                # D-026: mid-week, continue the stored numbers
                self._next_out, self._next_in = saved.next_out, saved.next_in
                self._recent_saved = saved.recent
                for key in saved.recent:
                    self._remember(key)
                self._saved = saved
                self._week = week
                return
        if self._week != week:
            # D-025: the beginning-of-week Logon uses 34=1; CME's stream restarts at 1 too
            self._week = week
            self._next_out = self._next_in = 1
            self._seen.clear()
            self._recent_saved = ()

    def _sync(self) -> None:
        m = self.machine
        if m is not None:
            self._next_out, self._next_in = m.next_out, m.next_in

    def _persist(self, *, final: bool = False) -> None:
        """Save the numbers when they changed. The expected number never passes a copy not yet
        taken by the program. ``final`` also saves the recent 97=Y keys of consumed copies."""
        if self.store is None or self._week is None:
            return
        next_in = self._next_in
        if self._pending:
            next_in = min(next_in, self._pending[0].seq_num)
        recent = self._recent_saved
        if final and self.persist_dedup:
            unconsumed = {c.dedup_key for c in self._pending}
            keys = [k for k in self._seen if k not in unconsumed]
            recent = tuple(keys[-self.persist_dedup :])
        state = DropCopyState(
            self.session_id, self.target_sub_id, self._week, self._next_out, next_in, recent
        )
        if state != self._saved:
            self.store.save(state)
            self._saved = state
            self._recent_saved = recent

    def _remember(self, key: DedupKey) -> None:
        if not self.dedup_window:
            return
        seen = self._seen
        seen[key] = None
        while len(seen) > self.dedup_window:
            del seen[next(iter(seen))]

    # -- events -------------------------------------------------------------------------------

    def _on_events(self, proto: MachineProtocol, events: list[Any]) -> None:
        if proto.machine is not self.machine:
            return  # a connection this client has already given up
        wake = False
        for e in events:
            if isinstance(e, ev.BusinessMessage):
                wake = self._deliver(e) or wake
            elif isinstance(e, ev.LoggedOn):
                self.stats.logons += 1
                self.logged_on_event = e
                waiter = self._logon_waiter
                if waiter is not None and not waiter.done():
                    waiter.set_result(e)
            elif isinstance(e, ev.GapDetected):
                self.stats.gaps += 1
            elif isinstance(e, ev.ResendRequestSent):
                self.stats.resend_requests += 1
            elif isinstance(e, ev.ResendRejected):
                self.stats.resend_rejects += 1
            elif isinstance(e, ev.MessagesUnrecoverable):
                self.stats.unrecoverable += e.end_seq_no - e.begin_seq_no + 1
            elif isinstance(e, ev.GapFillSent):
                self.stats.gap_fills_sent += 1
            elif isinstance(e, ev.Closed):
                self._on_closed(e)
                wake = True
            if self.on_event is not None:
                self.on_event(self, e)
        self._sync()
        self._persist()
        if wake:
            self._wakeup.set()

    def _deliver(self, e: ev.BusinessMessage) -> bool:
        copy = Copy.from_event(e, self.session_id, self.target_sub_id, next(self._arrival))
        key = copy.dedup_key
        if copy.poss_resend and key is not None and key in self._seen:
            # wire notes §2.4: a 97=Y copy already delivered (same 5979, then same inner 34)
            self.stats.duplicates_dropped += 1
            return False
        if key is not None:
            self._remember(key)
        st = self.stats
        st.delivered += 1
        if copy.poss_dup:
            st.resend_responses += 1  # D-048: resend responses tracked apart
            st.last_resend_seq = max(st.last_resend_seq, copy.seq_num)
        else:
            st.real_time += 1
            st.last_real_time_seq = max(st.last_real_time_seq, copy.seq_num)
        if copy.poss_resend:
            st.poss_resend += 1
        if copy.inner is None:
            st.undecodable += 1
        self._pending.append(copy)
        return True

    def _on_closed(self, closed: ev.Closed) -> None:
        waiter = self._logon_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(closed)  # the Logon's outcome
            return
        if self._stopping:
            return
        if self.auto_reconnect and _recoverable(closed):
            self._lost = closed
        else:
            self._error = SessionClosed(closed, by_us=False, target_sub_id=self.target_sub_id)

    # -- connection and logon ----------------------------------------------------------------

    async def _connect_and_logon(self, endpoint: Endpoint) -> ev.LoggedOn | ev.Closed:
        now = self.clock()
        self._refresh_week(now)
        self._last_logon_seq = 0
        machine = Fix42Session(self.config, now, next_out=self._next_out, next_in=self._next_in)
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[ev.LoggedOn | ev.Closed] = loop.create_future()
        self.machine = machine
        self.protocol = None
        self._logon_waiter = waiter
        try:
            _, proto = await asyncio.wait_for(
                loop.create_connection(
                    lambda: MachineProtocol(machine, self._on_events, clock=self.clock),
                    endpoint.host,
                    endpoint.port,
                ),
                self.connect_timeout,
            )
            assert isinstance(proto, MachineProtocol)
            self.protocol = proto
            self.endpoint = endpoint
            # D-025 / D-026: 34 is 1 at the beginning of the week, else the stored next number
            self._last_logon_seq = machine.next_out
            machine.logon(self.clock())
            proto.flush()
            try:
                result = await asyncio.wait_for(waiter, self.logon_timeout + 1)
            except TimeoutError:
                proto.abort()
                raise
            if isinstance(result, ev.Closed):
                try:
                    await asyncio.wait_for(proto.closed.wait(), 1.0)
                except TimeoutError:
                    proto.abort()
            return result
        finally:
            self._logon_waiter = None
            self._sync()

    async def _establish(self, start: int) -> ev.LoggedOn:
        """Connect and log on, from endpoint ``start``: failover on refusal (D-066), back to the
        primary on a backup refusal (D-064), one retry with 34 = 789 (D-026, D-149). A pause of
        ``reconnect_delay`` each time the round comes back to ``start``."""
        n = len(self.endpoints)
        index = start
        retried_789 = False
        errors: list[str] = []
        immediate = True
        for _ in range(self.max_attempts):
            if not immediate and index == start and self.reconnect_delay > 0:
                await asyncio.sleep(self.reconnect_delay)
            immediate = False
            endpoint = self.endpoints[index]
            try:
                result = await self._connect_and_logon(endpoint)
            except (OSError, TimeoutError) as exc:
                errors.append(f"{endpoint}: {exc or type(exc).__name__}")
                self._unsent_logon()
                index = (index + 1) % n
                continue
            if isinstance(result, ev.LoggedOn):
                if index != self._index:
                    self.stats.failovers += 1
                self._index = index
                self._lost = None  # a close seen on the way belongs to an abandoned connection
                return result
            closed = result
            text = closed.logout_text or ""
            if text.startswith(BACKUP_NOT_ALLOWED.split(".")[0]):
                # D-064: the designated primary is available; its 789 is already adopted
                errors.append(f"{endpoint}: {text}")
                index = 0
                continue
            if _recoverable(closed):
                # dropped (or silent) before the Logon was answered: try the next gateway
                errors.append(f"{endpoint}: {closed.reason}")
                self._unsent_logon()
                index = (index + 1) % n
                continue
            nxt = closed.next_expected_msg_seq_num
            if (
                closed.by_peer
                and nxt is not None
                and nxt != self._last_logon_seq
                and not retried_789
            ):
                # D-026, D-149: log on again with 34 = the Logout's 789 (already adopted by the
                # machine). 789=1 means CME started a new week: its stream restarts at 1 too.
                retried_789 = True
                immediate = True
                self.stats.logon_retries_789 += 1
                if nxt == 1:
                    self._next_in = 1
                continue
            raise LogonRejected(closed, endpoint, self.target_sub_id)
        raise ConnectionFailed(errors, self.target_sub_id)

    def _unsent_logon(self) -> None:
        """The Logon got no answer: its 34 is used again (CME's 789 corrects it if CME did
        process it, D-149)."""
        if self._last_logon_seq:
            self._next_out = self._last_logon_seq
        self._last_logon_seq = 0

    async def logon(self) -> ev.LoggedOn:
        """Connect to the designated primary (the backup if the primary refuses the connection)
        and log on with the secure Logon. Raises :class:`LogonRejected` or
        :class:`ConnectionFailed`."""
        if self.logged_on:
            raise RuntimeError("already logged on")
        self._stopping = False
        self._error = None
        self._lost = None
        return await self._establish(0)

    connect = logon

    async def _recover(self) -> None:
        """After an unexpected close: fail over to the other gateway with the next outbound 34
        (D-065, D-066)."""
        if self._error is not None:
            raise self._error
        if self._lost is None:
            return
        self._lost = None
        self.stats.reconnects += 1
        try:
            await self._establish((self._index + 1) % len(self.endpoints))
        except DropCopyError as exc:
            self._error = exc
            raise

    async def fail_over(self, timeout: float = 10.0) -> ev.LoggedOn:
        """Leave the current gateway gracefully and log on at the other one. The Logout waits for
        the in-flight resend (D-011)."""
        await self._graceful_logout("", timeout)
        self._stopping = False
        self.stats.reconnects += 1
        return await self._establish((self._index + 1) % len(self.endpoints))

    # -- copies ------------------------------------------------------------------------------

    def _take(self) -> Copy:
        copy = self._pending.popleft()
        if not self._pending:
            self._persist()  # everything taken: the stored expected number catches up
        return copy

    def _check(self) -> bool:
        """True when :meth:`_recover` must run; raises a terminal error."""
        if self._error is not None:
            raise self._error
        if self._lost is not None:
            return True
        m = self.machine
        if self._stopping or m is None or m.closed:
            raise SessionClosed(
                None if m is None else m.closed_event, by_us=True, target_sub_id=self.target_sub_id
            )
        return False

    async def next_copy(self, timeout: float | None = None) -> Copy:
        """The next copy in sequence (D-049). Reconnects after an unexpected close. Raises
        ``TimeoutError`` after ``timeout`` seconds without one, :class:`SessionClosed` when the
        session is over."""
        return await _next_copy([self], self._wakeup, timeout)

    async def copies(self, timeout: float | None = None) -> AsyncIterator[Copy]:
        """Every copy, until this side logs out or closes."""
        while True:
            try:
                copy = await self.next_copy(timeout)
            except SessionClosed as exc:
                if exc.by_us:
                    return
                raise
            yield copy

    # -- ending ------------------------------------------------------------------------------

    async def _graceful_logout(self, text: str, timeout: float) -> ev.Closed | None:
        self._stopping = True
        m, proto = self.machine, self.protocol
        if m is None or proto is None:
            return None
        if m.state in (State.ACTIVE, State.RESET_SENT):
            # D-011: held by the machine while this side's resend is in flight
            m.logout(self.clock(), text)
            proto.flush()
        try:
            await asyncio.wait_for(proto.closed.wait(), timeout)
        except TimeoutError:
            proto.abort()
        self._sync()
        self._persist(final=True)
        return m.closed_event

    async def logout(self, text: str = "", timeout: float = 10.0) -> ev.Closed | None:
        """Log out gracefully (after the in-flight resend, D-011) and wait for the confirmation.
        Copies already received stay available to :meth:`next_copy`."""
        return await self._graceful_logout(text, timeout)

    def close(self) -> None:
        """Drop the connection without a Logout (the state is saved)."""
        self._stopping = True
        if self.protocol is not None:
            self.protocol.close()
        self._sync()
        self._persist(final=True)
        self._wakeup.set()

    async def __aenter__(self) -> DropCopyClient:
        await self.logon()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.logged_on:
            await self.logout(timeout=5.0)
        else:
            self.close()


async def _next_copy(
    clients: Sequence[DropCopyClient], wakeup: asyncio.Event, timeout: float | None
) -> Copy:
    """The oldest pending copy of ``clients``; recover lost connections; wait on ``wakeup``."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    while True:
        ready = [c for c in clients if c._pending]
        if ready:
            best = min(ready, key=lambda c: c._pending[0].arrival)
            return best._take()
        wakeup.clear()
        lost = [c for c in clients if c._check()]
        if lost:
            for c in lost:
                await c._recover()
            continue
        remaining = None if deadline is None else deadline - loop.time()
        if remaining is not None and remaining <= 0:
            raise TimeoutError("no copy within the timeout")
        await asyncio.wait_for(wakeup.wait(), remaining)


# ============================================================================== MSGW


class DropCopyMsgwClient:
    """One MSGW Drop Copy 4.0 target session across market segments: one connection per
    segment (D-089), 57 = the segment (D-099), one sequence stream each (D-002, D-084), from a
    configured ``segments`` map ``{segment: [primary, backup]}`` (D-085: nothing hard-coded;
    e.g. read from the daily MSGW configuration file, D-094). Other keyword arguments go to
    every :class:`DropCopyClient`."""

    def __init__(
        self,
        *,
        session_id: str,
        access_key_id: str,
        secret_key: SecretKey | str,
        segments: Mapping[str, Sequence[Endpoint | tuple[str, int] | str]],
        **kw: Any,
    ) -> None:
        if not segments:
            raise ValueError("at least one market segment")
        self._wakeup = asyncio.Event()
        arrival = itertools.count()
        self.clients: dict[str, DropCopyClient] = {}
        for segment, endpoints in segments.items():
            client = DropCopyClient(
                session_id=session_id,
                access_key_id=access_key_id,
                secret_key=secret_key,
                endpoints=endpoints,
                target_sub_id=segment,
                **kw,
            )
            client._wakeup = self._wakeup
            client._arrival = arrival
            self.clients[segment] = client

    @classmethod
    def from_key_file(
        cls,
        path: str | os.PathLike[str],
        session_id: str,
        *,
        today: date | None = None,
        environment: str | None = None,
        **kw: Any,
    ) -> DropCopyMsgwClient:
        """Clients whose access key id and secret come from a Request Center key file."""
        return cls(**_credentials(path, session_id, today, environment), **kw)

    @property
    def stats(self) -> dict[str, DropCopyStats]:
        return {seg: c.stats for seg, c in self.clients.items()}

    @property
    def logged_on(self) -> bool:
        """At least one segment is logged on."""
        return any(c.logged_on for c in self.clients.values())

    async def logon(self) -> dict[str, ev.LoggedOn]:
        """Log on to every segment at once; if one fails, close them all and raise its error."""
        results = await asyncio.gather(
            *(c.logon() for c in self.clients.values()), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                self.close()
                raise result
        return {
            seg: r
            for seg, r in zip(self.clients, results, strict=True)
            if isinstance(r, ev.LoggedOn)
        }

    connect = logon

    async def next_copy(self, timeout: float | None = None) -> Copy:
        """The next copy of any segment, in arrival order (each segment in its own 34 order)."""
        return await _next_copy(list(self.clients.values()), self._wakeup, timeout)

    async def copies(self, timeout: float | None = None) -> AsyncIterator[Copy]:
        while True:
            try:
                copy = await self.next_copy(timeout)
            except SessionClosed as exc:
                if exc.by_us:
                    return
                raise
            yield copy

    async def logout(self, text: str = "", timeout: float = 10.0) -> None:
        await asyncio.gather(*(c.logout(text, timeout) for c in self.clients.values()))

    def close(self) -> None:
        for c in self.clients.values():
            c.close()

    async def __aenter__(self) -> DropCopyMsgwClient:
        await self.logon()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.logged_on:
            await self.logout(timeout=5.0)
        self.close()
