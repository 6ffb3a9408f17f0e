"""Outbound message journal: what a gateway sent, kept for retransmission.

Theory of operation
-------------------
A gateway journals every outbound *business* message before the message reaches a socket, and
answers retransmission requests from the journal. Messages are keyed by

* ``stream`` -- one outbound sequence space owned by one writer, named by the caller, e.g.
  ``"ilink3:<session>:<segment>"`` or ``"dc:<target session>:<segment>"``;
* ``uuid`` -- the FIXP session UUID (iLink 3: 0 for messages generated before the week's first
  Negotiate, then each UUID the client negotiates) or, for Drop Copy's one stream per week, a
  week id or 0;
* ``seq`` -- the message's sequence number, strictly increasing per ``(stream, uuid)``. Holes
  are allowed (Drop Copy does not journal admin messages; it gap-fills them).

Each entry also carries ``sent_at`` (int nanoseconds since the epoch, passed in: there is no
clock in this package) and the message bytes exactly as sent.

The driver (never the sans-IO protocol core) calls :meth:`Journal.append` for each message of
a batch, then :meth:`Journal.commit` once -- the durability point -- and only then writes the
batch to its sockets. Group commit is what lets a durable backend take tens of thousands of
messages per second. Reads always see every append, committed or not. What survives a crash is
exactly what was committed; uncommitted appends were, by this contract, never sent. A backend
failure raises :class:`JournalError` (from ``commit``, or from any call that first writes
buffered appends) and discards the uncommitted changes, as a crash would.

The interface is deliberately narrow so that every backend (memory, SQLite; PostgreSQL and NATS
JetStream later) passes one contract suite, ``tests/journal/test_contract.py``. See
``docs/journal.md``.

Thread-safety: a journal belongs to one driver. It may be called from any thread (for example
an executor running :meth:`Journal.commit` off the event loop), but never from two at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

__all__ = [
    "MAX_SEQ",
    "MAX_TIME",
    "MAX_UUID",
    "Entry",
    "Gap",
    "Journal",
    "JournalClosed",
    "JournalError",
    "SeqNotIncreasing",
    "UuidInfo",
    "check_entry",
    "check_uuid",
    "fill_gaps",
    "open_journal",
]

#: UUIDs are unsigned 64-bit (iLink 3 ``uInt64``); 0 is the default UUID CME uses before the
#: client's first Negotiate of the week.
MAX_UUID = 2**64 - 1
#: Sequence numbers are 1 ... 2**63 - 1 (iLink 3 needs uInt32, FIX 4.2 Int(9); the limit is
#: what every backend stores natively).
MAX_SEQ = 2**63 - 1
#: ``sent_at`` and every time argument: int nanoseconds since the epoch, 0 ... 2**63 - 1.
MAX_TIME = 2**63 - 1


class Entry(NamedTuple):
    """One journalled message."""

    stream: str
    uuid: int
    seq: int
    #: int nanoseconds since the epoch.
    sent_at: int
    #: The message exactly as sent (any bytes, NULs included).
    data: bytes


class UuidInfo(NamedTuple):
    """What a stream holds for one UUID (over the entries still in the journal)."""

    uuid: int
    #: Lowest and highest journalled sequence numbers.
    first_seq: int
    last_seq: int
    #: Earliest and latest ``sent_at`` (those of ``first_seq`` / ``last_seq`` when the
    #: clock did not step back).
    first_sent_at: int
    last_sent_at: int


class Gap(NamedTuple):
    """Sequence numbers ``first_seq ... last_seq`` (inclusive) that have no journal entry.

    A Drop Copy gateway answers a gap with SequenceReset-GapFill (35=4 123=Y) carrying
    ``34=first_seq`` and ``36=next_seq``.
    """

    first_seq: int
    last_seq: int

    @property
    def next_seq(self) -> int:
        """The first sequence number after the gap (FIX tag 36 NewSeqNo of the gap fill)."""
        return self.last_seq + 1


class JournalError(Exception):
    """Base class of this package's errors."""


class SeqNotIncreasing(JournalError, ValueError):
    """``append`` with a sequence number not above the last one of its ``(stream, uuid)``.

    This is a bug in the caller (a sequence number would be reused on the wire); nothing was
    journalled.
    """

    def __init__(self, stream: str, uuid: int, seq: int, last_seq: int) -> None:
        super().__init__(
            f"seq {seq} for stream {stream!r} uuid {uuid} is not greater than the last "
            f"journalled seq {last_seq}"
        )
        self.stream = stream
        self.uuid = uuid
        self.seq = seq
        self.last_seq = last_seq


class JournalClosed(JournalError):
    """The journal was used after :meth:`Journal.close`."""

    def __init__(self) -> None:
        super().__init__("the journal is closed")


class Journal(Protocol):
    """The outbound journal every backend implements (see the module docstring).

    Time arguments and ``sent_at`` are int nanoseconds since the epoch.
    """

    def append(self, stream: str, uuid: int, seq: int, sent_at: int, data: bytes) -> None:
        """Journal one message; visible to reads at once, durable after :meth:`commit`.

        Raises :class:`SeqNotIncreasing` if ``seq`` is not greater than
        ``last_seq(stream, uuid)``, ``ValueError``/``TypeError`` for values out of range
        (``stream`` a non-empty str, ``0 <= uuid <= MAX_UUID``, ``1 <= seq <= MAX_SEQ``,
        ``0 <= sent_at <= MAX_TIME``, ``data`` bytes-like; a mutable buffer is copied).
        """
        ...

    def commit(self) -> None:
        """Make every append and prune so far durable. Cheap when there is nothing to commit.

        If it raises, the uncommitted changes are discarded, as after a crash: the journal is
        back at its last committed state and the batch must not be sent.
        """
        ...

    def last_seq(self, stream: str, uuid: int) -> int:
        """The highest journalled sequence number of ``(stream, uuid)``; 0 if none."""
        ...

    def read(self, stream: str, uuid: int, from_seq: int, to_seq: int) -> list[Entry]:
        """Entries with ``from_seq <= seq <= to_seq``, ascending; holes are simply absent.

        :func:`fill_gaps` turns the result into entries and :class:`Gap` runs.
        """
        ...

    def first_seq_since(self, stream: str, uuid: int, since: int) -> int | None:
        """The lowest sequence number whose ``sent_at >= since``; None if there is none.

        Drop Copy's 5024 StartSequenceNumber is ``first_seq_since(stream, week,
        max(now - 48 h, week start-up))`` (AD-02).
        """
        ...

    def uuids(self, stream: str, since: int = 0) -> list[UuidInfo]:
        """The UUIDs of ``stream`` with a message sent at or after ``since``, by UUID ascending.

        A UUID is listed when its latest ``sent_at >= since``; its figures cover all of its
        entries still in the journal.
        """
        ...

    def last_message(self, stream: str) -> Entry | None:
        """The stream's last message on any UUID: greatest ``(sent_at, uuid, seq)``; None if empty.

        Fills iLink 3 EstablishmentAck504 PreviousUUID / PreviousSeqNo (AI-14).
        """
        ...

    def prune(self, before: int) -> int:
        """Delete every entry with ``sent_at < before`` (all streams); return how many.

        Visible at once, durable at the next :meth:`commit`. A ``(stream, uuid)`` pruned empty
        starts again from ``last_seq == 0``.
        """
        ...

    def close(self) -> None:
        """Release the backend. Uncommitted changes are discarded. Idempotent; any other call
        afterwards raises :class:`JournalClosed`."""
        ...


def check_entry(stream: str, uuid: int, seq: int, sent_at: int, data: bytes) -> bytes:
    """Validate ``append``'s arguments and return ``data`` as immutable ``bytes``.

    Shared by the backends so that they all refuse the same values the same way.
    """
    if not isinstance(stream, str):
        raise TypeError(f"stream must be str, not {type(stream).__name__}")
    if not stream:
        raise ValueError("stream must not be empty")
    if not isinstance(uuid, int):
        raise TypeError(f"uuid must be int, not {type(uuid).__name__}")
    if not 0 <= uuid <= MAX_UUID:
        raise ValueError(f"uuid {uuid} out of range 0..2**64-1")
    if not isinstance(seq, int):
        raise TypeError(f"seq must be int, not {type(seq).__name__}")
    if not 1 <= seq <= MAX_SEQ:
        raise ValueError(f"seq {seq} out of range 1..2**63-1")
    if not isinstance(sent_at, int):
        raise TypeError(f"sent_at must be int nanoseconds, not {type(sent_at).__name__}")
    if not 0 <= sent_at <= MAX_TIME:
        raise ValueError(f"sent_at {sent_at} out of range 0..2**63-1")
    if type(data) is bytes:
        return data
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"data must be bytes, not {type(data).__name__}")


def check_uuid(uuid: int) -> int:
    """Validate a ``uuid`` argument of a query (same rule as :func:`check_entry`)."""
    if not isinstance(uuid, int):
        raise TypeError(f"uuid must be int, not {type(uuid).__name__}")
    if not 0 <= uuid <= MAX_UUID:
        raise ValueError(f"uuid {uuid} out of range 0..2**64-1")
    return uuid


def fill_gaps(entries: Sequence[Entry], from_seq: int, to_seq: int) -> list[Entry | Gap]:
    """Interleave ``read(stream, uuid, from_seq, to_seq)``'s entries with the holes between them.

    Every sequence number of ``from_seq ... to_seq`` is covered exactly once, by an entry or by
    a :class:`Gap`, in ascending order -- what a Drop Copy resend answers with (entries resent,
    gaps filled). ``entries`` must be ascending and inside the range.
    """
    out: list[Entry | Gap] = []
    expected = from_seq
    for entry in entries:
        seq = entry.seq
        if seq < expected or seq > to_seq:
            raise ValueError(f"entry seq {seq} is not ascending within {from_seq}..{to_seq}")
        if seq > expected:
            out.append(Gap(expected, seq - 1))
        out.append(entry)
        expected = seq + 1
    if expected <= to_seq:
        out.append(Gap(expected, to_seq))
    return out


def open_journal(spec: str) -> Journal:
    """Open a journal from a configuration string.

    * ``"memory:"`` -- :class:`~dropcopy.journal.memory.MemoryJournal` (nothing survives);
    * ``"sqlite:<path>"`` -- :class:`~dropcopy.journal.sqlite.SqliteJournal` on that file
      (created if missing), default durability (``synchronous=FULL``).
    """
    scheme, sep, rest = spec.partition(":")
    if sep and scheme == "memory" and not rest:
        from .memory import MemoryJournal

        return MemoryJournal()
    if sep and scheme == "sqlite" and rest:
        from .sqlite import SqliteJournal

        return SqliteJournal(rest)
    raise ValueError(f"unknown journal {spec!r}: expected 'memory:' or 'sqlite:<path>'")
