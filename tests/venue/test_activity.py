"""The activity stream between the order entry and Drop Copy wings (venue/activity.py)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from dropcopy.journal import Journal
from dropcopy.journal.memory import MemoryJournal
from dropcopy.journal.sqlite import SqliteJournal
from dropcopy.venue.activity import Activity, ActivityLog, owner_stream


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


def _publish(
    j: Journal, log: ActivityLog, owner: tuple[str, str], uuid: int, seq: int, t: int,
    sbe: bytes,
) -> Activity:  # fmt: skip
    """What the gateway does: the owner's journal entry, then the activity record."""
    j.append(owner_stream(owner, log.segment), uuid, seq, t, sbe)
    return log.append(owner, uuid, seq, t, sbe)


def test_numbers_are_per_segment_gapless_and_in_publish_order() -> None:
    j = MemoryJournal()
    zn, es = ActivityLog(j, 84), ActivityLog(j, 98)
    got = [
        _publish(j, zn, ("ABC", "007"), 5, 1, 100, b"a"),
        _publish(j, es, ("ABC", "007"), 6, 1, 101, b"b"),
        _publish(j, zn, ("XYZ", "001"), 0, 1, 102, b"c"),
        _publish(j, zn, ("ABC", "007"), 5, 2, 103, b"d"),
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
    _publish(j, log, ("ABC", "007"), 1, 1, 10, b"one")
    j.commit()
    _publish(j, log, ("ABC", "007"), 1, 2, 11, b"lost")  # no commit
    j.close()
    j2 = SqliteJournal(path)
    again = ActivityLog(j2, 84)
    assert [(a.number, a.sbe) for a in again.read(1)] == [(1, b"one")]
    assert _publish(j2, again, ("ABC", "007"), 1, 2, 12, b"two").number == 2
    assert [a.sbe for a in again.read(1)] == [b"one", b"two"]


def test_the_stored_record_is_a_reference_not_a_second_copy() -> None:
    j = MemoryJournal()
    log = ActivityLog(j, 84)
    _publish(j, log, ("ABC", "007"), 9, 1, 5, b"x" * 300)
    (stored,) = j.read("activity/84", 0, 1, 1)
    assert len(stored.data) < 40 and b"x" * 10 not in stored.data
    assert log.read(1)[0].sbe == b"x" * 300
