"""The activity stream between the order entry and Drop Copy wings (venue/activity.py)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from dropcopy.journal.memory import MemoryJournal
from dropcopy.journal.sqlite import SqliteJournal
from dropcopy.venue.activity import Activity, ActivityLog


@given(
    session=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=3),
    firm=st.text("0123456789ABC", min_size=1, max_size=5),
    uuid=st.integers(0, 2**64 - 1),
    seq=st.integers(1, 2**32 - 1),
    sent_at=st.integers(0, 2**63 - 1),
    sbe=st.binary(max_size=200),
    flag=st.booleans(),
)
def test_record_round_trips(
    session: str, firm: str, uuid: int, seq: int, sent_at: int, sbe: bytes, flag: bool
) -> None:
    a = Activity(84, 7, session, firm, uuid, seq, sent_at, sbe, flag)
    assert Activity.decode(84, 7, a.encode()) == a


def test_numbers_are_per_segment_gapless_and_in_publish_order() -> None:
    j = MemoryJournal()
    zn, es = ActivityLog(j, 84), ActivityLog(j, 98)
    got = [
        zn.append(("ABC", "007"), 5, 1, 100, b"a"),
        es.append(("ABC", "007"), 6, 1, 101, b"b"),
        zn.append(("XYZ", "001"), 0, 1, 102, b"c"),
        zn.append(("ABC", "007"), 5, 2, 103, b"d"),
    ]
    assert [(a.segment, a.number) for a in got] == [(84, 1), (98, 1), (84, 2), (84, 3)]
    assert [a.sbe for a in zn.read(1)] == [b"a", b"c", b"d"]
    assert [a.sbe for a in zn.read(2, 2)] == [b"c"]
    assert zn.read(4) == [] and es.last_number == 1


def test_listeners_see_each_record_once_as_appended() -> None:
    log = ActivityLog(MemoryJournal(), 84)
    seen: list[int] = []
    log.listeners.append(lambda a: seen.append(a.number))
    for i in range(3):
        log.append(("ABC", "007"), 1, i + 1, i, b"x")
    assert seen == [1, 2, 3]


def test_durable_with_the_journal_commit_and_numbering_resumes_after_restart(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    j = SqliteJournal(path)
    log = ActivityLog(j, 84)
    log.append(("ABC", "007"), 1, 1, 10, b"one")
    j.commit()
    log.append(("ABC", "007"), 1, 2, 11, b"never committed")  # a crash before the commit
    j.close()
    again = ActivityLog(SqliteJournal(path), 84)
    assert [a.sbe for a in again.read(1)] == [b"one"]
    assert again.append(("ABC", "007"), 1, 2, 12, b"two").number == 2
