"""SQLite backend specifics: file format, durability settings, real crashes, lock failures."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dropcopy.journal import MAX_UUID, Entry, JournalError, SeqNotIncreasing, open_journal
from dropcopy.journal.memory import MemoryJournal
from dropcopy.journal.sqlite import APPLICATION_ID, SCHEMA_VERSION, SqliteJournal

S = "ilink3:ABC:74"
T0 = 1_773_612_000 * 1_000_000_000


def test_file_is_wal_with_the_schema_and_marks(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with SqliteJournal(path) as j:
        j.append(S, 1, 1, T0, b"x")
        j.commit()
        assert j._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        columns = [(r[1], r[2], r[5]) for r in db.execute("PRAGMA table_info(journal)")]
        assert columns == [
            ("stream", "TEXT", 1),
            ("uuid", "INTEGER", 2),
            ("seq", "INTEGER", 3),
            ("sent_at", "INTEGER", 0),
            ("data", "BLOB", 0),
        ]
        sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'journal'").fetchone()[0]
        assert "WITHOUT ROWID" in sql
        index = [r[2] for r in db.execute("PRAGMA index_info(journal_sent_at)")]
        assert index == ["stream", "uuid", "sent_at"]
        assert db.execute("SELECT * FROM journal").fetchall() == [(S, 1, 1, T0, b"x")]
    finally:
        db.close()


def test_normal_synchronous_is_available(tmp_path: Path) -> None:
    with SqliteJournal(tmp_path / "j.db", synchronous="NORMAL") as j:
        assert j._db.execute("PRAGMA synchronous").fetchone()[0] == 1
        j.append(S, 1, 1, T0, b"x")
        j.commit()
    with SqliteJournal(tmp_path / "j.db") as j:
        assert j.last_seq(S, 1) == 1
    with pytest.raises(ValueError):
        SqliteJournal(tmp_path / "k.db", synchronous="OFF")  # type: ignore[arg-type]


def test_uuids_below_2_63_are_stored_as_themselves(tmp_path: Path) -> None:
    """So that an operator reading the file with sqlite3 sees real UUIDs (microsecond stamps)."""
    path = tmp_path / "j.db"
    with SqliteJournal(path) as j:
        for uuid in (0, 1_773_612_000_000_000, 2**63 - 1, 2**63, MAX_UUID):
            j.append(S, uuid, 1, T0, b"x")
        j.commit()
    db = sqlite3.connect(path)
    stored = sorted(r[0] for r in db.execute("SELECT uuid FROM journal"))
    db.close()
    assert stored == [-(2**63), -1, 0, 1_773_612_000_000_000, 2**63 - 1]
    with SqliteJournal(path) as j:
        assert [i.uuid for i in j.uuids(S)] == [
            0,
            1_773_612_000_000_000,
            2**63 - 1,
            2**63,
            MAX_UUID,
        ]
        assert j.read(S, MAX_UUID, 1, 1) == [Entry(S, MAX_UUID, 1, T0, b"x")]
        with pytest.raises(SeqNotIncreasing):
            j.append(S, 2**63, 1, T0, b"y")


def test_refuses_files_that_are_not_journals(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("PRAGMA application_id = 1234")
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(JournalError, match="not a dropcopy journal"):
        SqliteJournal(other)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(JournalError):
        SqliteJournal(garbage)
    with pytest.raises(JournalError):
        SqliteJournal(tmp_path / "missing-dir" / "j.db")


def test_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    SqliteJournal(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(JournalError, match="newer"):
        SqliteJournal(path)


def test_a_journal_can_be_added_to_an_unmarked_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE unrelated (x)")
    db.commit()
    db.close()
    with SqliteJournal(path) as j:
        j.append(S, 1, 1, T0, b"x")
        j.commit()
    with SqliteJournal(path) as j:
        assert j.last_seq(S, 1) == 1


def test_appends_beyond_the_buffer_are_read_before_commit_and_committed_together(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    with SqliteJournal(path) as j:
        for seq in range(1, 5001):
            j.append(S, 1, seq, T0 + seq, b"m")
        assert j.last_seq(S, 1) == 5000
        assert len(j.read(S, 1, 1, 5000)) == 5000
        j.commit()
    with SqliteJournal(path) as j:
        assert j.last_seq(S, 1) == 5000


CRASHING_WRITER = textwrap.dedent(
    """
    import os, sys
    from dropcopy.journal.sqlite import SqliteJournal

    j = SqliteJournal(sys.argv[1])
    for seq in range(1, 101):
        j.append("s", 7, seq, 1000 + seq, b"committed\\x00%d" % seq)
    j.commit()
    for seq in range(101, 3001):
        j.append("s", 7, seq, 1000 + seq, b"never sent")
    j.append("t", 1, 1, 1, b"never sent")
    print("ready", flush=True)
    os._exit(0)  # no close, no commit: a crash
    """
)


def test_a_crashed_process_keeps_exactly_what_it_committed(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    out = subprocess.run(
        [sys.executable, "-c", CRASHING_WRITER, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == "ready"
    with SqliteJournal(path) as j:
        assert j.last_seq("s", 7) == 100
        entries = j.read("s", 7, 1, 5000)
        assert [e.seq for e in entries] == list(range(1, 101))
        assert entries[41].data == b"committed\x0042"
        assert j.uuids("t") == []
        j.append("s", 7, 101, 5000, b"after restart")
        j.commit()


def test_a_failed_commit_discards_the_batch_and_the_journal_goes_on(tmp_path: Path) -> None:
    """commit() failing (here: another connection holds the write lock) is like a crash:
    back to the last committed state, and the batch must not be sent."""
    path = tmp_path / "j.db"
    j = SqliteJournal(path, timeout=0.05)
    try:
        j.append(S, 1, 1, T0, b"one")
        j.commit()
        j.append(S, 1, 2, T0, b"two")
        j.append(S, 2, 1, T0, b"other uuid")
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(JournalError) as info:
                j.commit()
            assert isinstance(info.value.__cause__, sqlite3.OperationalError)
            assert j.last_seq(S, 1) == 1
            assert j.last_seq(S, 2) == 0
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert [e.data for e in j.read(S, 1, 1, 9)] == [b"one"]
        j.append(S, 1, 2, T0, b"two again")
        j.commit()
    finally:
        j.close()
    with SqliteJournal(path) as j:
        assert [e.data for e in j.read(S, 1, 1, 9)] == [b"one", b"two again"]


def test_a_second_writer_on_the_same_file_fails_instead_of_overwriting(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    first, second = SqliteJournal(path, timeout=0.5), SqliteJournal(path, timeout=0.5)
    try:
        second.append(S, 1, 1, T0, b"second")  # buffered, not yet inserted
        first.append(S, 1, 1, T0, b"first")
        first.commit()
        with pytest.raises(JournalError) as info:
            second.commit()
        assert isinstance(info.value.__cause__, sqlite3.IntegrityError)
        assert second.read(S, 1, 1, 1) == [Entry(S, 1, 1, T0, b"first")]
    finally:
        first.close()
        second.close()


def test_open_journal_spec() -> None:
    j = open_journal("memory:")
    assert isinstance(j, MemoryJournal)
    j.close()
    for bad in ("", "memory", "memory:x", "sqlite:", "postgresql://localhost/x", "file.db"):
        with pytest.raises(ValueError, match="unknown journal"):
            open_journal(bad)


def test_open_journal_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    j = open_journal(f"sqlite:{path}")
    assert isinstance(j, SqliteJournal) and j.path == str(path)
    assert j.synchronous == "FULL"
    j.close()


def test_background_checkpointer_keeps_the_wal_bounded_without_autocheckpoint(
    tmp_path: Path,
) -> None:
    import time

    from dropcopy.journal.sqlite import SqliteJournal

    path = tmp_path / "j.db"
    j = SqliteJournal(path, synchronous="NORMAL", checkpoint_interval=0.05)
    assert j._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    for seq in range(1, 3001):
        j.append("s", 1, seq, seq, b"x" * 300)
        if seq % 100 == 0:
            j.commit()
    j.commit()
    deadline = time.monotonic() + 5
    while j._checkpointer is not None and j._checkpointer.runs < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert j._checkpointer is not None and j._checkpointer.runs >= 2
    frames, done = j.checkpoint()
    assert done == frames  # nothing left behind by a writer-blocking checkpoint
    j.close()
    again = SqliteJournal(path)
    assert again.last_seq("s", 1) == 3000 and len(again.read("s", 1, 2990, 3000)) == 11
    again.close()
