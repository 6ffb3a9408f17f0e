"""The Journal contract, run against every backend of conftest.BACKENDS.

Seed references: iLink 3 session layer (004) "Retransmission", "UUID Rules", "GTC and GTD
Orders", "Previous UUID and Previous Sequence Number" (AI-10, AI-11, AI-14); Drop Copy 4.0 (003)
"Message Resend Request Validation" and "FIX Resend Request" (AD-01, AD-02, AD-13).
"""

from __future__ import annotations

import copy
import shutil
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from dropcopy.journal import (
    MAX_SEQ,
    MAX_TIME,
    MAX_UUID,
    Entry,
    Gap,
    Journal,
    JournalClosed,
    JournalError,
    SeqNotIncreasing,
    UuidInfo,
    fill_gaps,
)

from .conftest import Backend

NS = 1_000_000_000
HOUR = 3600 * NS
T0 = 1_773_612_000 * NS  # Sun 2026-03-15 17:00 CT
S = "ilink3:ABC:74"
CT = ZoneInfo("America/Chicago")


def ct(day: int, hour: int, minute: int = 0) -> int:
    """ns since the epoch of 2026-03-<day> hour:minute America/Chicago (15 is a Sunday)."""
    return int(datetime(2026, 3, day, hour, minute, tzinfo=CT).timestamp()) * NS


def fill(j: Journal, stream: str, uuid: int, seqs: range | list[int], t: int = T0) -> None:
    for seq in seqs:
        j.append(stream, uuid, seq, t + seq, b"msg %d/%d" % (uuid, seq))


def seqs(entries: list[Entry]) -> list[int]:
    return [e.seq for e in entries]


# -- empty journal ------------------------------------------------------------------------


def test_empty_journal_answers_nothing(journal: Journal) -> None:
    assert journal.last_seq(S, 1) == 0
    assert journal.read(S, 1, 1, 2500) == []
    assert journal.first_seq_since(S, 1, 0) is None
    assert journal.uuids(S) == []
    assert journal.last_message(S) is None
    assert journal.prune(MAX_TIME) == 0
    journal.commit()


# -- append / read ------------------------------------------------------------------------


def test_read_returns_the_range_ascending_with_each_field(journal: Journal) -> None:
    fill(journal, S, 7, range(1, 11))
    got = journal.read(S, 7, 3, 7)
    assert got == [Entry(S, 7, n, T0 + n, b"msg 7/%d" % n) for n in range(3, 8)]
    assert isinstance(got[0], Entry)
    assert got[0].data == b"msg 7/3" and type(got[0].data) is bytes
    assert seqs(journal.read(S, 7, 1, 10)) == list(range(1, 11))
    assert seqs(journal.read(S, 7, 9, 2500)) == [9, 10]
    assert seqs(journal.read(S, 7, -5, 2)) == [1, 2]
    assert seqs(journal.read(S, 7, 5, 5)) == [5]
    assert journal.read(S, 7, 11, 20) == []
    assert journal.read(S, 7, 7, 3) == []
    assert seqs(journal.read(S, 7, 0, 2**70)) == list(range(1, 11))


def test_reads_see_appends_before_commit(journal: Journal) -> None:
    fill(journal, S, 1, range(1, 4))
    assert journal.last_seq(S, 1) == 3
    assert seqs(journal.read(S, 1, 1, 3)) == [1, 2, 3]
    journal.commit()
    fill(journal, S, 1, range(4, 6))
    assert seqs(journal.read(S, 1, 1, 10)) == [1, 2, 3, 4, 5]
    assert journal.uuids(S)[0].last_seq == 5
    journal.commit()
    journal.commit()  # nothing pending: a no-op


def test_holes_are_absent_from_reads_and_fill_gaps_reports_them(journal: Journal) -> None:
    """Drop Copy does not journal admin messages; a resend gap-fills them (AD-01, AD-13)."""
    fill(journal, S, 0, [2, 3, 6, 9])
    entries = journal.read(S, 0, 1, 10)
    assert seqs(entries) == [2, 3, 6, 9]
    assert journal.last_seq(S, 0) == 9
    by_seq = {e.seq: e for e in entries}
    assert fill_gaps(entries, 1, 10) == [
        Gap(1, 1),
        by_seq[2],
        by_seq[3],
        Gap(4, 5),
        by_seq[6],
        Gap(7, 8),
        by_seq[9],
        Gap(10, 10),
    ]
    assert Gap(4, 5).next_seq == 6  # 35=4 123=Y 34=4 36=6


def test_fill_gaps_edge_cases() -> None:
    e = Entry(S, 0, 5, T0, b"x")
    assert fill_gaps([], 3, 7) == [Gap(3, 7)]
    assert fill_gaps([], 7, 3) == []
    assert fill_gaps([e], 5, 5) == [e]
    assert fill_gaps([e], 1, 5) == [Gap(1, 4), e]
    with pytest.raises(ValueError):
        fill_gaps([e], 6, 9)
    with pytest.raises(ValueError):
        fill_gaps([e, e], 1, 9)


def test_first_seq_of_a_uuid_may_be_above_one(journal: Journal) -> None:
    journal.append(S, 3, 42, T0, b"x")
    assert journal.last_seq(S, 3) == 42
    assert seqs(journal.read(S, 3, 1, 100)) == [42]


# -- sequence numbers ---------------------------------------------------------------------


@pytest.mark.parametrize("bad", [5, 4, 1])
def test_seq_must_increase_per_stream_and_uuid(journal: Journal, bad: int) -> None:
    fill(journal, S, 9, [1, 5])
    journal.commit()
    with pytest.raises(SeqNotIncreasing) as info:
        journal.append(S, 9, bad, T0 + 99, b"dup")
    assert (info.value.stream, info.value.uuid, info.value.seq, info.value.last_seq) == (
        S,
        9,
        bad,
        5,
    )
    assert isinstance(info.value, ValueError) and isinstance(info.value, JournalError)
    assert "not greater than the last journalled seq 5" in str(info.value)
    assert seqs(journal.read(S, 9, 1, 10)) == [1, 5]  # nothing journalled
    assert journal.read(S, 9, 5, 5)[0].data == b"msg 9/5"
    journal.append(S, 9, 6, T0 + 99, b"six")  # and the stream goes on
    journal.commit()
    assert seqs(journal.read(S, 9, 1, 10)) == [1, 5, 6]


def test_seq_check_also_applies_before_commit(journal: Journal) -> None:
    journal.append(S, 1, 1, T0, b"a")
    with pytest.raises(SeqNotIncreasing):
        journal.append(S, 1, 1, T0, b"b")
    journal.commit()
    assert [e.data for e in journal.read(S, 1, 1, 1)] == [b"a"]


@pytest.mark.parametrize(
    ("stream", "uuid", "seq", "sent_at", "data", "error"),
    [
        (S, 1, 0, T0, b"x", ValueError),
        (S, 1, -1, T0, b"x", ValueError),
        (S, 1, MAX_SEQ + 1, T0, b"x", ValueError),
        (S, -1, 1, T0, b"x", ValueError),
        (S, MAX_UUID + 1, 1, T0, b"x", ValueError),
        (S, 1, 1, -1, b"x", ValueError),
        (S, 1, 1, MAX_TIME + 1, b"x", ValueError),
        ("", 1, 1, T0, b"x", ValueError),
        (b"s", 1, 1, T0, b"x", TypeError),
        (S, 1.0, 1, T0, b"x", TypeError),
        (S, 1, 1.0, T0, b"x", TypeError),
        (S, 1, 1, float(T0), b"x", TypeError),
        (S, 1, 1, T0, "text", TypeError),
        (S, 1, 1, T0, 5, TypeError),
        (S, 1, 1, T0, None, TypeError),
    ],
)
def test_out_of_range_values_are_refused(
    journal: Journal,
    stream: object,
    uuid: object,
    seq: object,
    sent_at: object,
    data: object,
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        journal.append(stream, uuid, seq, sent_at, data)  # type: ignore[arg-type]
    journal.commit()
    assert journal.uuids(S) == []


def test_limits_are_accepted(journal: Journal) -> None:
    journal.append(S, MAX_UUID, MAX_SEQ, MAX_TIME, b"max")
    journal.append(S, 0, 1, 0, b"min")
    journal.commit()
    assert journal.read(S, MAX_UUID, MAX_SEQ, MAX_SEQ) == [
        Entry(S, MAX_UUID, MAX_SEQ, MAX_TIME, b"max")
    ]
    assert journal.last_seq(S, MAX_UUID) == MAX_SEQ
    assert journal.read(S, 0, 1, 1) == [Entry(S, 0, 1, 0, b"min")]
    assert journal.first_seq_since(S, MAX_UUID, MAX_TIME) == MAX_SEQ
    assert journal.first_seq_since(S, 0, -(2**70)) == 1
    assert journal.first_seq_since(S, 0, 2**70) is None


def test_query_uuid_out_of_range_is_refused(journal: Journal) -> None:
    with pytest.raises(ValueError):
        journal.last_seq(S, -1)
    with pytest.raises(ValueError):
        journal.read(S, MAX_UUID + 1, 1, 2)


# -- isolation ----------------------------------------------------------------------------


def test_uuids_are_isolated(journal: Journal) -> None:
    """Business messages are recoverable per sequence number + UUID (004 "UUID")."""
    uuids = [0, 1, 2**63 - 1, 2**63, MAX_UUID]
    for n, uuid in enumerate(uuids):
        fill(journal, S, uuid, range(1, n + 2))
    journal.commit()
    for n, uuid in enumerate(uuids):
        assert journal.last_seq(S, uuid) == n + 1
        got = journal.read(S, uuid, 1, 100)
        assert [(e.uuid, e.seq, e.data) for e in got] == [
            (uuid, k, b"msg %d/%d" % (uuid, k)) for k in range(1, n + 2)
        ]
    assert journal.last_seq(S, 5) == 0
    journal.append(S, 2**63, 5, T0, b"x")  # each uuid's own last seq is what counts
    with pytest.raises(SeqNotIncreasing):
        journal.append(S, MAX_UUID, 5, T0, b"x")


def test_streams_are_isolated(journal: Journal) -> None:
    """Each (session, market segment) has its own sequence stream (003 D-002, D-003)."""
    other = "ilink3:ABC:76"
    fill(journal, S, 1, range(1, 4))
    journal.append(other, 1, 1, T0, b"other")
    journal.commit()
    assert journal.last_seq(other, 1) == 1
    assert journal.read(other, 1, 1, 10) == [Entry(other, 1, 1, T0, b"other")]
    assert seqs(journal.read(S, 1, 1, 10)) == [1, 2, 3]
    assert [i.uuid for i in journal.uuids(other)] == [1]
    last = journal.last_message(other)
    assert last is not None and last.data == b"other"
    assert journal.last_seq("ilink3:ABC:7", 1) == 0  # no prefix matching
    assert journal.uuids("ilink3:ABC:") == []


# -- uuids --------------------------------------------------------------------------------


def test_uuids_lists_every_uuid_used_since_with_its_figures(journal: Journal) -> None:
    """RetransmitRequest508 may name any UUID used this week (AI-10, 004 "Retransmission")."""
    u1, u2 = 1_773_612_000_000_000, 1_773_700_000_000_000  # microsecond timestamps
    fill(journal, S, 0, [1], t=T0)  # a GTC fill before the week's first Negotiate
    fill(journal, S, u1, range(1, 6), t=T0 + HOUR)
    fill(journal, S, u2, [1, 2, 7], t=T0 + 30 * HOUR)
    journal.commit()
    assert journal.uuids(S) == [
        UuidInfo(0, 1, 1, T0 + 1, T0 + 1),
        UuidInfo(u1, 1, 5, T0 + HOUR + 1, T0 + HOUR + 5),
        UuidInfo(u2, 1, 7, T0 + 30 * HOUR + 1, T0 + 30 * HOUR + 7),
    ]
    assert [i.uuid for i in journal.uuids(S, since=T0 + 2)] == [u1, u2]
    assert [i.uuid for i in journal.uuids(S, since=T0 + HOUR + 5)] == [u1, u2]
    assert [i.uuid for i in journal.uuids(S, since=T0 + HOUR + 6)] == [u2]
    assert journal.uuids(S, since=T0 + 31 * HOUR) == []


def test_uuids_are_listed_as_unsigned_ascending(journal: Journal) -> None:
    for uuid in [MAX_UUID, 2**63, 0, 2**63 - 1, 5]:
        journal.append(S, uuid, 1, T0, b"x")
    assert [i.uuid for i in journal.uuids(S)] == [0, 5, 2**63 - 1, 2**63, MAX_UUID]


def test_uuid_figures_are_min_and_max_when_the_clock_stepped_back(journal: Journal) -> None:
    journal.append(S, 1, 1, T0 + 50, b"a")
    journal.append(S, 1, 2, T0 + 10, b"b")  # clock stepped back
    journal.append(S, 1, 3, T0 + 30, b"c")
    assert journal.uuids(S) == [UuidInfo(1, 1, 3, T0 + 10, T0 + 50)]
    assert [i.uuid for i in journal.uuids(S, since=T0 + 50)] == [1]


# -- last_message -------------------------------------------------------------------------


def test_last_message_is_the_latest_sent_on_any_uuid(journal: Journal) -> None:
    """EstablishmentAck504 PreviousUUID/PreviousSeqNo = the last business message (AI-14)."""
    u1, u2 = 1000, 2000
    fill(journal, S, u1, range(1, 4), t=T0)
    fill(journal, S, u2, range(1, 3), t=T0 + HOUR)
    last = journal.last_message(S)
    assert last is not None and (last.uuid, last.seq) == (u2, 2)
    # the client renegotiated u2 then went away; a fill is published on u2 while it is away
    journal.append(S, u2, 3, T0 + 2 * HOUR, b"fill")
    journal.commit()
    assert journal.last_message(S) == Entry(S, u2, 3, T0 + 2 * HOUR, b"fill")


def test_last_message_ties_break_by_uuid_then_seq(journal: Journal) -> None:
    journal.append(S, 5, 1, T0, b"a")
    journal.append(S, 5, 2, T0, b"b")
    assert journal.last_message(S) == Entry(S, 5, 2, T0, b"b")
    journal.append(S, 3, 9, T0, b"c")  # same time, lower uuid: not last
    assert journal.last_message(S) == Entry(S, 5, 2, T0, b"b")
    journal.append(S, 2**63 + 1, 1, T0, b"d")  # same time, higher uuid (unsigned)
    assert journal.last_message(S) == Entry(S, 2**63 + 1, 1, T0, b"d")


def test_last_message_is_by_sent_at_even_when_the_clock_stepped_back(journal: Journal) -> None:
    journal.append(S, 1, 1, T0 + 100, b"a")
    journal.append(S, 1, 2, T0 + 50, b"b")
    journal.append(S, 1, 3, T0 + 100, b"c")
    journal.append(S, 1, 4, T0 + 70, b"d")
    assert journal.last_message(S) == Entry(S, 1, 3, T0 + 100, b"c")


def test_previous_uuid_is_zero_after_a_fill_before_the_first_negotiate(journal: Journal) -> None:
    """GTC fill before Start of Week initialization: PreviousUUID=0, PreviousSeqNo=1 (I-065)."""
    journal.append(S, 0, 1, T0 + 5 * NS, b"gtc fill")
    journal.commit()
    last = journal.last_message(S)
    assert last is not None and (last.uuid, last.seq) == (0, 1)
    assert journal.read(S, 0, 1, 1)[0].data == b"gtc fill"  # RetransmitRequest LastUUID=0


# -- first_seq_since ----------------------------------------------------------------------


def test_first_seq_since_gives_5024_for_the_48_hour_window(journal: Journal) -> None:
    """AD-02's re-timing of 003's example: 1-2500 Sun 17:00-Mon 12:00 CT, 2501-2600 Tue
    12:00-16:45 CT, requests at Wed 14:00 CT -> 5024 StartSequenceNumber = 2501."""
    dc = "dc:TGT1:74"
    week = 0
    start = ct(15, 17)
    first_end, second_start, second_end = ct(16, 12), ct(17, 12), ct(17, 16, 45)
    for seq in range(1, 2501):
        t = start + (first_end - start) * (seq - 1) // 2499
        journal.append(dc, week, seq, t, b"er %d" % seq)
    for seq in range(2501, 2601):
        if seq in (2550, 2551):
            continue  # a heartbeat and a test request: not journalled
        t = second_start + (second_end - second_start) * (seq - 2501) // 99
        journal.append(dc, week, seq, t, b"er %d" % seq)
    journal.commit()
    now = ct(18, 14)
    window_start = max(now - 48 * HOUR, start)
    assert journal.first_seq_since(dc, week, window_start) == 2501
    assert journal.first_seq_since(dc, week, start) == 1  # Monday: all retrievable
    assert journal.first_seq_since(dc, week, first_end) == 2500
    assert journal.first_seq_since(dc, week, first_end + 1) == 2501
    mid_tuesday = journal.first_seq_since(dc, week, ct(17, 14, 0))
    assert mid_tuesday is not None and 2501 < mid_tuesday < 2600
    assert journal.first_seq_since(dc, week, second_end) == 2600
    assert journal.first_seq_since(dc, week, second_end + 1) is None
    assert journal.first_seq_since(dc, 1, 0) is None  # another week id
    # holes: the first seq at or after a time lands on a journalled seq
    t_2550 = second_start + (second_end - second_start) * 49 // 99
    assert journal.first_seq_since(dc, week, t_2550) == 2552


def test_first_seq_since_is_the_lowest_seq_sent_at_or_after(journal: Journal) -> None:
    """AD-02: 5024 is the lowest sequence number in the retrievable set, clock steps or not."""
    for seq, t in [(1, 10), (2, 40), (3, 20), (4, 50), (5, 30)]:
        journal.append(S, 1, seq, T0 + t, b"x")
    assert journal.first_seq_since(S, 1, T0 + 25) == 2
    assert journal.first_seq_since(S, 1, T0 + 45) == 4
    assert journal.first_seq_since(S, 1, T0 + 15) == 2
    assert journal.first_seq_since(S, 1, T0 + 10) == 1
    assert journal.first_seq_since(S, 1, T0 + 51) is None


# -- prune --------------------------------------------------------------------------------


def test_prune_deletes_everything_sent_before_across_streams(journal: Journal) -> None:
    """Weekly reset: messages from previous weeks are not resent (004 "Retransmission")."""
    week2 = T0 + 7 * 24 * HOUR
    fill(journal, S, 1, range(1, 11), t=T0)  # last week
    fill(journal, "dc:TGT1:74", 0, range(1, 6), t=T0)
    fill(journal, S, 2, range(1, 4), t=T0)  # straddles the reset
    fill(journal, S, 2, range(4, 7), t=week2)
    fill(journal, S, 3, range(1, 4), t=week2)
    journal.commit()
    assert journal.prune(week2) == 10 + 5 + 3
    journal.commit()
    assert journal.uuids("dc:TGT1:74") == []
    assert journal.last_message("dc:TGT1:74") is None
    assert [i.uuid for i in journal.uuids(S)] == [2, 3]
    assert journal.last_seq(S, 1) == 0  # pruned empty: starts over
    assert journal.read(S, 1, 1, 100) == []
    assert journal.last_seq(S, 2) == 6
    assert seqs(journal.read(S, 2, 1, 100)) == [4, 5, 6]
    assert journal.first_seq_since(S, 2, 0) == 4
    with pytest.raises(SeqNotIncreasing):
        journal.append(S, 2, 6, week2 + 100, b"x")
    journal.append(S, 1, 1, week2 + 100, b"new week")
    journal.append(S, 2, 7, week2 + 100, b"x")
    assert journal.prune(week2) == 0
    assert journal.prune(week2 + 7) == 3 + 3  # u2 4..6 and u3 1..3; u1 1 and u2 7 remain
    assert seqs(journal.read(S, 2, 1, 100)) == [7]
    assert [i.uuid for i in journal.uuids(S)] == [1, 2]


def test_prune_keeps_entries_sent_exactly_at_the_bound(journal: Journal) -> None:
    journal.append(S, 1, 1, T0 - 1, b"a")
    journal.append(S, 1, 2, T0, b"b")
    assert journal.prune(T0) == 1
    assert seqs(journal.read(S, 1, 1, 2)) == [2]


def test_prune_with_pending_appends_and_stepped_clock(journal: Journal) -> None:
    journal.append(S, 1, 1, T0 + 10, b"a")
    journal.append(S, 1, 2, T0, b"b")  # stepped back
    journal.append(S, 1, 3, T0 + 20, b"c")
    assert journal.prune(T0 + 5) == 1
    assert seqs(journal.read(S, 1, 1, 3)) == [1, 3]
    assert journal.uuids(S) == [UuidInfo(1, 1, 3, T0 + 10, T0 + 20)]


# -- payloads -----------------------------------------------------------------------------


def test_binary_data_with_nuls_and_every_byte_round_trips(journal: Journal) -> None:
    payloads = [b"", b"\x00", b"\x00" * 100, bytes(range(256)), b"\xff\xfe\x00\x01SOH\x01"]
    for seq, data in enumerate(payloads, 1):
        journal.append(S, 1, seq, T0, data)
    journal.commit()
    assert [e.data for e in journal.read(S, 1, 1, 10)] == payloads
    last = journal.last_message(S)
    assert last is not None and last.data == payloads[-1]


def test_large_payloads_round_trip(journal: Journal) -> None:
    big = bytes(range(256)) * 4096  # 1 MiB
    journal.append(S, 1, 1, T0, big)
    journal.append(S, 1, 2, T0, big[:65_537])
    journal.commit()
    got = journal.read(S, 1, 1, 2)
    assert got[0].data == big and got[1].data == big[:65_537]


def test_mutable_buffers_are_copied(journal: Journal) -> None:
    buf = bytearray(b"original")
    journal.append(S, 1, 1, T0, buf)  # type: ignore[arg-type]
    journal.append(S, 1, 2, T0, memoryview(buf)[:4])  # type: ignore[arg-type]
    buf[:] = b"MUTATED!"
    journal.commit()
    got = journal.read(S, 1, 1, 2)
    assert [e.data for e in got] == [b"original", b"orig"]
    assert all(type(e.data) is bytes for e in got)


# -- volume -------------------------------------------------------------------------------


def test_a_2500_message_retransmission_from_a_larger_stream(journal: Journal) -> None:
    """RetransmitRequest508 for up to 2500 messages of the current or a previous UUID (AI-11)."""
    uuid = 1_773_612_000_000_000
    for seq in range(1, 6001):
        journal.append(S, uuid, seq, T0 + seq, b"\x00ER%06d" % seq + bytes(200))
        journal.append("other", uuid, seq, T0 + seq, b"o")
        if seq % 700 == 0:
            journal.commit()
    journal.commit()
    got = journal.read(S, uuid, 1001, 3500)
    assert seqs(got) == list(range(1001, 3501))
    assert got[-1].data.startswith(b"\x00ER003500")
    assert journal.last_seq(S, uuid) == 6000
    assert journal.read(S, uuid, journal.last_seq(S, uuid) + 1, 2**32) == []


# -- lifecycle ----------------------------------------------------------------------------


def test_closed_journal_refuses_every_call(journal: Journal) -> None:
    journal.append(S, 1, 1, T0, b"x")
    journal.commit()
    journal.close()
    journal.close()  # idempotent
    calls: list[Callable[[], object]] = [
        lambda: journal.append(S, 1, 2, T0, b"x"),
        journal.commit,
        lambda: journal.last_seq(S, 1),
        lambda: journal.read(S, 1, 1, 2),
        lambda: journal.read(S, 1, 2, 1),
        lambda: journal.first_seq_since(S, 1, 0),
        lambda: journal.uuids(S),
        lambda: journal.last_message(S),
        lambda: journal.prune(T0),
    ]
    for call in calls:
        with pytest.raises(JournalClosed):
            call()


# -- persistence (persistent backends) ----------------------------------------------------


def reopen(backend: Backend, journal: Journal, location: Path) -> Journal:
    journal.close()
    return backend.open(location)


def test_committed_entries_survive_reopen(backend: Backend, tmp_path: Path) -> None:
    """A gateway restart is a failover, not amnesia: the journal is durable."""
    if not backend.persistent:
        pytest.skip(f"{backend.name} is not persistent")
    j = backend.open(tmp_path)
    fill(j, S, 0, [1])
    fill(j, S, 1000, range(1, 2001))
    fill(j, "dc:TGT1:74", 0, [2, 5])
    j.commit()
    j = reopen(backend, j, tmp_path)
    try:
        assert j.last_seq(S, 1000) == 2000
        assert j.read(S, 1000, 1999, 2000) == [
            Entry(S, 1000, n, T0 + n, b"msg 1000/%d" % n) for n in (1999, 2000)
        ]
        assert seqs(j.read("dc:TGT1:74", 0, 1, 9)) == [2, 5]
        assert [i.uuid for i in j.uuids(S)] == [0, 1000]
        last = j.last_message(S)
        assert last is not None and (last.uuid, last.seq) == (1000, 2000)
        with pytest.raises(SeqNotIncreasing):
            j.append(S, 1000, 2000, T0, b"x")
        j.append(S, 1000, 2001, T0, b"x")
        j.commit()
    finally:
        j.close()


def test_uncommitted_entries_are_discarded_at_close(backend: Backend, tmp_path: Path) -> None:
    """A crash loses only what was not committed -- which, by contract, was never sent."""
    if not backend.persistent:
        pytest.skip(f"{backend.name} is not persistent")
    j = backend.open(tmp_path)
    fill(j, S, 1, range(1, 4))
    j.commit()
    fill(j, S, 1, range(4, 2000))  # more than any internal buffer
    j.append(S, 2, 1, T0, b"x")
    assert j.prune(T0 + 3) == 3  # uncommitted prune: undone too
    j = reopen(backend, j, tmp_path)
    try:
        assert j.last_seq(S, 1) == 3
        assert seqs(j.read(S, 1, 1, 5000)) == [1, 2, 3]
        assert [i.uuid for i in j.uuids(S)] == [1]
        fill(j, S, 1, [4])  # the stream continues from the committed state
        j.commit()
    finally:
        j.close()


def test_committed_prune_survives_reopen(backend: Backend, tmp_path: Path) -> None:
    if not backend.persistent:
        pytest.skip(f"{backend.name} is not persistent")
    j = backend.open(tmp_path)
    fill(j, S, 1, range(1, 6))
    j.commit()
    assert j.prune(T0 + 3) == 2
    j.commit()
    j = reopen(backend, j, tmp_path)
    try:
        assert seqs(j.read(S, 1, 1, 9)) == [3, 4, 5]
    finally:
        j.close()


# -- model-based ---------------------------------------------------------------------------

Key = tuple[str, int]
Model = dict[Key, dict[int, tuple[int, bytes]]]  # (stream, uuid) -> seq -> (sent_at, data)

STREAMS = st.sampled_from(["a", "b"])
UUIDS = st.sampled_from([0, 2**63, 0, 2**63, 1, 2**63 - 1, MAX_UUID])


class JournalMachine(RuleBasedStateMachine):
    """Drives a backend and a dict model with the same calls; every answer must agree.

    The clock wanders (it may step back) so that the sent_at-based queries see both the
    monotonic and the non-monotonic case. Persistent backends also get reopened and "crash"
    (close without commit): the model then returns to its last committed state.
    """

    def __init__(self, backend: Backend) -> None:
        super().__init__()
        self.backend = backend
        self.location = Path(tempfile.mkdtemp(prefix="journal-model-"))
        self.journal = backend.open(self.location)
        self.model: Model = {}
        self.committed: Model = {}
        self.clock = T0

    def teardown(self) -> None:
        self.journal.close()
        shutil.rmtree(self.location, ignore_errors=True)

    def model_last(self, key: Key) -> int:
        return max(self.model.get(key, {0: (0, b"")}))

    @rule(
        stream=STREAMS,
        uuid=UUIDS,
        step=st.sampled_from([1, 1, 1, 2, 3, 0, -1]),
        dt=st.sampled_from([0, 0, 0, 1, 1, 2, 7, -1, -3]),
        data=st.binary(max_size=12),
    )
    def append(self, stream: str, uuid: int, step: int, dt: int, data: bytes) -> None:
        key = (stream, uuid)
        last = self.model_last(key)
        seq = last + step
        self.clock += dt
        if seq < 1:
            with pytest.raises(ValueError):
                self.journal.append(stream, uuid, seq, self.clock, data)
        elif seq <= last:
            with pytest.raises(SeqNotIncreasing):
                self.journal.append(stream, uuid, seq, self.clock, data)
        else:
            self.journal.append(stream, uuid, seq, self.clock, data)
            self.model.setdefault(key, {})[seq] = (self.clock, data)

    @rule(
        stream=STREAMS,
        uuid=UUIDS,
        dts=st.lists(st.sampled_from([0, 0, 1, 1, 2, -2]), min_size=1, max_size=6),
    )
    def append_burst(self, stream: str, uuid: int, dts: list[int]) -> None:
        key = (stream, uuid)
        for dt in dts:
            seq = self.model_last(key) + 1
            self.clock += dt
            self.journal.append(stream, uuid, seq, self.clock, b"%d" % seq)
            self.model.setdefault(key, {})[seq] = (self.clock, b"%d" % seq)

    @rule()
    def commit(self) -> None:
        self.journal.commit()
        self.committed = copy.deepcopy(self.model)

    @precondition(lambda self: self.backend.persistent)
    @rule()
    def reopen(self) -> None:
        self.journal.commit()
        self.committed = copy.deepcopy(self.model)
        self.journal.close()
        self.journal = self.backend.open(self.location)

    @precondition(lambda self: self.backend.persistent)
    @rule()
    def crash(self) -> None:
        self.journal.close()
        self.journal = self.backend.open(self.location)
        self.model = copy.deepcopy(self.committed)

    def some_time(self, data: st.DataObject) -> int:
        """A time near the entries' own: an exact sent_at (+-1) or any time in their span."""
        times = sorted({t for entries in self.model.values() for t, _ in entries.values()})
        exact: bool = data.draw(st.booleans())
        if times and exact:
            return data.draw(st.sampled_from(times)) + data.draw(st.sampled_from([-1, 0, 0, 1]))
        return data.draw(st.integers(min(T0, self.clock) - 5, max(T0, self.clock) + 5))

    @rule(data=st.data())
    def prune(self, data: st.DataObject) -> None:
        before = self.some_time(data)
        removed = 0
        for key, entries in list(self.model.items()):
            for seq in [s for s, (t, _) in entries.items() if t < before]:
                del entries[seq]
                removed += 1
            if not entries:
                del self.model[key]
        assert self.journal.prune(before) == removed

    @rule(stream=STREAMS, uuid=UUIDS, a=st.integers(-1, 40), n=st.integers(-1, 40))
    def read(self, stream: str, uuid: int, a: int, n: int) -> None:
        entries = self.model.get((stream, uuid), {})
        expected = [
            Entry(stream, uuid, seq, *entries[seq]) for seq in sorted(entries) if a <= seq <= a + n
        ]
        assert self.journal.read(stream, uuid, a, a + n) == expected

    @rule(stream=STREAMS, uuid=UUIDS, data=st.data())
    def first_seq_since(self, stream: str, uuid: int, data: st.DataObject) -> None:
        since = self.some_time(data)
        entries = self.model.get((stream, uuid), {})
        expected = min((s for s, (t, _) in entries.items() if t >= since), default=None)
        assert self.journal.first_seq_since(stream, uuid, since) == expected

    @rule(stream=STREAMS, data=st.data())
    def uuids(self, stream: str, data: st.DataObject) -> None:
        since = self.some_time(data)
        expected = []
        for (s, uuid), entries in sorted(self.model.items()):
            times = [t for t, _ in entries.values()]
            if s == stream and max(times) >= since:
                expected.append(UuidInfo(uuid, min(entries), max(entries), min(times), max(times)))
        assert self.journal.uuids(stream, since) == expected

    @rule(stream=STREAMS)
    def last_message(self, stream: str) -> None:
        candidates = [
            (t, uuid, seq, data)
            for (s, uuid), entries in self.model.items()
            if s == stream
            for seq, (t, data) in entries.items()
        ]
        expected = None
        if candidates:
            t, uuid, seq, data = max(candidates)
            expected = Entry(stream, uuid, seq, t, data)
        assert self.journal.last_message(stream) == expected

    @invariant()
    def last_seqs_agree(self) -> None:
        for stream in ("a", "b"):
            for uuid in (0, 2**63):
                assert self.journal.last_seq(stream, uuid) == self.model_last((stream, uuid))


def test_backend_behaves_like_the_model(backend: Backend) -> None:
    class Machine(JournalMachine):
        def __init__(self) -> None:
            super().__init__(backend)

    run_state_machine_as_test(
        Machine,
        settings=settings(max_examples=100, stateful_step_count=50, deadline=None),
    )
