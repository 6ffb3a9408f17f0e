"""The venue's activity stream: what the order entry wing published, for the Drop Copy wing.

Theory of operation
-------------------
Drop Copy 4.0 copies the iLink 3 messages CME sends to its customers (seed 003 "Introduction":
execution reports and acknowledgments) to drop copy target sessions. The order entry gateways
therefore append every outbound business message to one **activity log per market segment**:

* **ordered**: each record gets the next activity number of its segment (1, 2, 3, … without
  holes), in the order the gateway published them; Drop Copy MSGW target streams are per segment
  (D-003) and a CGW target merges segments;
* **durable**: records live in the same :class:`~dropcopy.journal.Journal` (and the same commit)
  as the customer's own copy, so a report is never sent to its owner without being in the
  activity log, and the log survives a restart; stream ``activity/<segment>``, UUID 0;
* **complete**: each record carries the owner (Session, Firm), the customer UUID and SeqNum the
  message went out under, the time, and the SBE bytes exactly as stamped for the owner.

The stored record is only a reference (owner, UUID, SeqNum, time, flags: 30 bytes): the SBE bytes
are already in the owner's journal stream, and storing them twice cost the gateway a third of its
throughput (the journal's per-row cost grows with the row). :meth:`ActivityLog.read` joins the two;
listeners get the full record as it is appended. Consumers read by activity number (from any
point kept this week) or register a listener (in-process). Scaled out, the full records go to a
NATS JetStream subject per segment (issue 6); :meth:`Activity.encode` is that payload.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import NamedTuple

from dropcopy.journal import Journal

_HEADER = struct.Struct("<3s5sQIQB")  # Session, Firm, UUID, SeqNum, SendingTime, flags
FLAG_POSS_RESEND = 1  # may have been in flight during an iLink failover (D-069)


class Activity(NamedTuple):
    """One message published by an order entry gateway."""

    segment: int
    #: position in the segment's activity log (1, 2, …)
    number: int
    session: str
    firm: str
    #: the customer UUID and SeqNum the message went out under
    uuid: int
    seq_num: int
    sent_at: int
    sbe: bytes
    poss_resend: bool = False

    @property
    def owner(self) -> tuple[str, str]:
        return (self.session, self.firm)

    def encode(self) -> bytes:
        """The record's payload (as stored and as published to other processes)."""
        return (
            _HEADER.pack(
                self.session.encode(),
                self.firm.encode(),
                self.uuid,
                self.seq_num,
                self.sent_at,
                FLAG_POSS_RESEND if self.poss_resend else 0,
            )
            + self.sbe
        )

    def reference(self) -> bytes:
        """The stored form: the record without its SBE bytes."""
        return self.encode()[: _HEADER.size]

    @classmethod
    def decode(cls, segment: int, number: int, data: bytes) -> Activity:
        session, firm, uuid, seq, sent_at, flags = _HEADER.unpack_from(data)
        return cls(
            segment,
            number,
            session.rstrip(b"\0").decode(),
            firm.rstrip(b"\0").decode(),
            uuid,
            seq,
            sent_at,
            bytes(data[_HEADER.size :]),
            bool(flags & FLAG_POSS_RESEND),
        )


Listener = Callable[[Activity], None]


def owner_stream(owner: tuple[str, str], segment: int) -> str:
    """The journal stream of one customer session's messages on one segment."""
    return f"ilink3/{owner[0]}{owner[1]}/{segment}"


class ActivityLog:
    """The activity log of one market segment, stored in a journal."""

    def __init__(self, journal: Journal, segment: int) -> None:
        self.journal = journal
        self.segment = segment
        self.stream = f"activity/{segment}"
        self.next_number = journal.last_seq(self.stream, 0) + 1
        self.listeners: list[Listener] = []

    def append(
        self,
        owner: tuple[str, str],
        uuid: int,
        seq_num: int,
        sent_at: int,
        sbe: bytes,
        *,
        poss_resend: bool = False,
    ) -> Activity:
        """Record a published message (durable with the journal's next commit)."""
        record = Activity(
            self.segment, self.next_number, owner[0], owner[1], uuid, seq_num, sent_at, sbe,
            poss_resend,
        )  # fmt: skip
        self.journal.append(self.stream, 0, record.number, sent_at, record.reference())
        self.next_number += 1
        for listener in self.listeners:
            listener(record)
        return record

    @property
    def last_number(self) -> int:
        return self.next_number - 1

    def since(self, sent_at: int) -> list[Activity]:
        """Records published at or after ``sent_at`` (ns) still kept."""
        first = self.journal.first_seq_since(self.stream, 0, sent_at)
        return [] if first is None else self.read(first)

    def read(self, from_number: int, to_number: int | None = None) -> list[Activity]:
        """Records ``from_number`` .. ``to_number`` (default: the latest) still kept."""
        last = self.last_number if to_number is None else min(to_number, self.last_number)
        if from_number > last:
            return []
        out = []
        for e in self.journal.read(self.stream, 0, max(1, from_number), last):
            ref = Activity.decode(self.segment, e.seq, e.data)
            stream = owner_stream(ref.owner, self.segment)
            found = self.journal.read(stream, ref.uuid, ref.seq_num, ref.seq_num)
            out.append(ref._replace(sbe=found[0].data) if found else ref)
        return out
