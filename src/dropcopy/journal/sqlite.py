"""SQLite journal (stdlib ``sqlite3``): the embedded default's durable backend.

Schema (one table, clustered on its primary key; ``PRAGMA user_version = 1``)::

    CREATE TABLE journal (
        stream  TEXT    NOT NULL,
        uuid    INTEGER NOT NULL,  -- uint64 stored as two's-complement int64
        seq     INTEGER NOT NULL,
        sent_at INTEGER NOT NULL,  -- ns since the epoch
        data    BLOB    NOT NULL,
        PRIMARY KEY (stream, uuid, seq)
    ) WITHOUT ROWID;
    CREATE INDEX journal_sent_at ON journal (stream, uuid, sent_at);  -- + seq, implicitly

``WITHOUT ROWID`` stores rows in ``(stream, uuid, seq)`` order, so a retransmission range is
one contiguous b-tree scan. The ``sent_at`` index (which carries ``seq`` as the primary key's
tail) answers ``first_seq_since``, ``uuids`` and ``last_message`` without touching the rows.

Writes: :meth:`SqliteJournal.append` checks the sequence number against a per-``(stream,
uuid)`` cache of the last seq and buffers the row in Python; :meth:`SqliteJournal.commit`
inserts the buffer with one ``executemany`` (statements are prepared once and kept in
``sqlite3``'s statement cache) inside one transaction, then ``COMMIT`` -- one WAL append and,
with ``synchronous=FULL``, one fsync per batch. Any read first inserts the buffer (in the open
transaction, not committed), so reads see every append.

Durability: WAL journal mode; ``synchronous=FULL`` by default, so a returned ``commit()`` has
been fsynced and survives a power loss or OS crash, not only a process crash. ``NORMAL`` (only
process crashes are survived; a power cut may lose the last commits, whose messages were
already sent -- a sequence number could then be reused) is available for tests and
throwaway venues. See ``docs/journal.md``.

One :class:`SqliteJournal` per file: the last-seq cache assumes it is the only writer (the
primary key still refuses a duplicate if that assumption is broken). The file should be the
journal's own, not shared with other stores, so that its group commits never wait for
another writer's lock.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from types import TracebackType
from typing import Any, Literal

from . import (
    MAX_SEQ,
    MAX_TIME,
    Entry,
    JournalClosed,
    JournalError,
    SeqNotIncreasing,
    UuidInfo,
    check_entry,
    check_uuid,
)

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "SqliteJournal"]

#: ``PRAGMA application_id`` of a journal file: "DCJ1".
APPLICATION_ID = 0x44434A31
#: ``PRAGMA user_version`` of the schema below.
SCHEMA_VERSION = 1

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS journal (
        stream  TEXT    NOT NULL,
        uuid    INTEGER NOT NULL,
        seq     INTEGER NOT NULL,
        sent_at INTEGER NOT NULL,
        data    BLOB    NOT NULL,
        PRIMARY KEY (stream, uuid, seq)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX IF NOT EXISTS journal_sent_at ON journal (stream, uuid, sent_at)",
    f"PRAGMA application_id = {APPLICATION_ID}",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)

_INSERT = "INSERT INTO journal (stream, uuid, seq, sent_at, data) VALUES (?, ?, ?, ?, ?)"
_LAST_SEQ = "SELECT MAX(seq) FROM journal WHERE stream = ? AND uuid = ?"
_READ = (
    "SELECT seq, sent_at, data FROM journal"
    " WHERE stream = ? AND uuid = ? AND seq BETWEEN ? AND ? ORDER BY seq"
)
_FIRST_SINCE = (
    "SELECT MIN(seq) FROM journal INDEXED BY journal_sent_at"
    " WHERE stream = ? AND uuid = ? AND sent_at >= ?"
)
# A loose index scan: one index seek per distinct UUID, then four MIN/MAX seeks each.
_UUIDS = """
    WITH RECURSIVE u(uuid) AS (
        SELECT (SELECT MIN(uuid) FROM journal WHERE stream = :stream)
        UNION ALL
        SELECT (SELECT MIN(uuid) FROM journal WHERE stream = :stream AND uuid > u.uuid)
        FROM u WHERE u.uuid IS NOT NULL
    )
    SELECT uuid, first_seq, last_seq, first_sent_at, last_sent_at FROM (
        SELECT uuid,
            (SELECT MIN(seq) FROM journal WHERE stream = :stream AND uuid = u.uuid)
                AS first_seq,
            (SELECT MAX(seq) FROM journal WHERE stream = :stream AND uuid = u.uuid)
                AS last_seq,
            (SELECT MIN(sent_at) FROM journal WHERE stream = :stream AND uuid = u.uuid)
                AS first_sent_at,
            (SELECT MAX(sent_at) FROM journal WHERE stream = :stream AND uuid = u.uuid)
                AS last_sent_at
        FROM u WHERE u.uuid IS NOT NULL
    ) WHERE last_sent_at >= :since
"""
_LAST_AT = (
    "SELECT seq, data FROM journal INDEXED BY journal_sent_at"
    " WHERE stream = ? AND uuid = ? AND sent_at = ? ORDER BY seq DESC LIMIT 1"
)
_PRUNE = "DELETE FROM journal WHERE sent_at < ?"

#: Buffered appends are inserted (not committed) once this many are waiting.
_FLUSH_AT = 1024

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


def _to_db(uuid: int) -> int:
    """uint64 -> int64, two's complement (UUIDs below 2**63 are stored as themselves)."""
    return uuid - 2**64 if uuid > _INT64_MAX else uuid


def _from_db(value: int) -> int:
    return value + 2**64 if value < 0 else value


def _clamp(value: int, lo: int, hi: int) -> int:
    return lo if value < lo else hi if value > hi else value


class SqliteJournal:
    """:class:`~dropcopy.journal.Journal` in one SQLite file (created if missing).

    ``synchronous``: ``"FULL"`` (default; committed means fsynced) or ``"NORMAL"`` (committed
    survives a process crash, not necessarily a power loss). ``timeout``: seconds to wait for a
    lock held by another connection before failing.

    ``checkpoint_interval``: when set (seconds), SQLite's automatic WAL checkpoint — which runs
    inside whichever commit crosses 1000 pages and costs that commit milliseconds — is turned
    off, and a background thread with its own connection runs a PASSIVE checkpoint that often
    instead. The gateway's latency tail depends on it (docs/performance.md).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        timeout: float = 5.0,
        checkpoint_interval: float | None = None,
    ) -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be 'FULL' or 'NORMAL', not {synchronous!r}")
        self.path = os.fspath(path)
        self.synchronous = synchronous
        self._closed = True
        try:
            db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=timeout
            )
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open journal {self.path!r}: {exc}") from exc
        try:
            self._setup(db)
        except BaseException:
            db.close()
            raise
        self._db = db
        #: Rows appended but not yet inserted, in append order.
        self._pending: list[tuple[str, int, int, int, bytes]] = []
        #: Last seq per (stream, uuid) as seen by appends; covers every pending row.
        self._last: dict[tuple[str, int], int] = {}
        self._in_tx = False
        self._closed = False
        self._checkpointer: _Checkpointer | None = None
        if checkpoint_interval is not None:
            db.execute("PRAGMA wal_autocheckpoint = 0")
            self._checkpointer = _Checkpointer(self.path, checkpoint_interval, timeout)

    def _setup(self, db: sqlite3.Connection) -> None:
        try:
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise JournalError(f"journal {self.path!r} cannot use WAL (journal_mode={mode})")
            db.execute(f"PRAGMA synchronous = {self.synchronous}")
            app_id = db.execute("PRAGMA application_id").fetchone()[0]
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if app_id not in (0, APPLICATION_ID):
                raise JournalError(f"{self.path!r} is not a dropcopy journal")
            if version > SCHEMA_VERSION:
                raise JournalError(
                    f"journal {self.path!r} has schema version {version}, newer than "
                    f"this dropcopy's {SCHEMA_VERSION}"
                )
            if app_id != APPLICATION_ID or version != SCHEMA_VERSION:
                db.execute("BEGIN IMMEDIATE")
                for statement in _SCHEMA:
                    db.execute(statement)
                db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open journal {self.path!r}: {exc}") from exc

    # -- writing ---------------------------------------------------------------------------

    def append(self, stream: str, uuid: int, seq: int, sent_at: int, data: bytes) -> None:
        if self._closed:
            raise JournalClosed()
        data = check_entry(stream, uuid, seq, sent_at, data)
        key = (stream, uuid)
        last = self._last.get(key)
        if last is None:
            last = self._last[key] = self._stored_last_seq(stream, uuid)
        if seq <= last:
            raise SeqNotIncreasing(stream, uuid, seq, last)
        self._last[key] = seq
        pending = self._pending
        pending.append((stream, _to_db(uuid), seq, sent_at, data))
        if len(pending) >= _FLUSH_AT:
            self._flush()

    def commit(self) -> None:
        if self._closed:
            raise JournalClosed()
        if self._pending:
            self._flush()
        if self._in_tx:
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._abort()
                raise JournalError(f"journal commit failed: {exc}") from exc
            self._in_tx = False

    def prune(self, before: int) -> int:
        if self._closed:
            raise JournalClosed()
        self._flush()
        try:
            self._begin()
            removed = self._db.execute(_PRUNE, (_clamp(before, 0, MAX_TIME),)).rowcount
        except sqlite3.Error as exc:
            self._abort()
            raise JournalError(f"journal prune failed: {exc}") from exc
        self._last.clear()
        return removed

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._pending = []
        self._last = {}
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self._db.close()  # rolls back an open transaction

    def checkpoint(self) -> tuple[int, int]:
        """Run a PASSIVE WAL checkpoint now: (WAL frames, frames checkpointed)."""
        row = self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(row[1]), int(row[2])

    def __enter__(self) -> SqliteJournal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _begin(self) -> None:
        if not self._in_tx:
            self._db.execute("BEGIN")
            self._in_tx = True

    def _flush(self) -> None:
        """Insert the buffered rows into the open transaction (no commit)."""
        if not self._pending:
            return
        try:
            self._begin()
            self._db.executemany(_INSERT, self._pending)
        except sqlite3.Error as exc:
            self._abort()
            raise JournalError(f"journal write failed: {exc}") from exc
        self._pending = []

    def _abort(self) -> None:
        """Back to the last committed state, as after a crash."""
        self._pending = []
        self._last.clear()
        if self._in_tx:
            self._in_tx = False
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # SQLite may already have rolled the transaction back itself

    # -- reading ---------------------------------------------------------------------------

    def _query(self, sql: str, params: tuple[object, ...] | dict[str, object]) -> list[Any]:
        if self._closed:
            raise JournalClosed()
        self._flush()
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise JournalError(f"journal read failed: {exc}") from exc

    def _stored_last_seq(self, stream: str, uuid: int) -> int:
        try:
            row = self._db.execute(_LAST_SEQ, (stream, _to_db(uuid))).fetchone()
        except sqlite3.Error as exc:
            raise JournalError(f"journal read failed: {exc}") from exc
        value = row[0]
        return int(value) if value is not None else 0

    def last_seq(self, stream: str, uuid: int) -> int:
        if self._closed:
            raise JournalClosed()
        last = self._last.get((stream, check_uuid(uuid)))
        if last is None:
            last = self._stored_last_seq(stream, uuid)
        return last

    def read(self, stream: str, uuid: int, from_seq: int, to_seq: int) -> list[Entry]:
        if self._closed:
            raise JournalClosed()
        check_uuid(uuid)
        lo = max(from_seq, 1)
        hi = min(to_seq, MAX_SEQ)
        if lo > hi:
            return []
        rows = self._query(_READ, (stream, _to_db(uuid), lo, hi))
        return [Entry(stream, uuid, seq, sent_at, data) for seq, sent_at, data in rows]

    def first_seq_since(self, stream: str, uuid: int, since: int) -> int | None:
        if self._closed:
            raise JournalClosed()
        check_uuid(uuid)
        since = _clamp(since, _INT64_MIN, _INT64_MAX)
        seq = self._query(_FIRST_SINCE, (stream, _to_db(uuid), since))[0][0]
        return int(seq) if seq is not None else None

    def uuids(self, stream: str, since: int = 0) -> list[UuidInfo]:
        rows = self._query(
            _UUIDS, {"stream": stream, "since": _clamp(since, _INT64_MIN, _INT64_MAX)}
        )
        infos = [
            UuidInfo(_from_db(uuid), first_seq, last_seq, first_at, last_at)
            for uuid, first_seq, last_seq, first_at, last_at in rows
        ]
        infos.sort()
        return infos

    def last_message(self, stream: str) -> Entry | None:
        infos = self.uuids(stream)
        if not infos:
            return None
        info = max(infos, key=lambda i: (i.last_sent_at, i.uuid))
        rows = self._query(_LAST_AT, (stream, _to_db(info.uuid), info.last_sent_at))
        seq, data = rows[0]
        return Entry(stream, info.uuid, seq, info.last_sent_at, data)


class _Checkpointer:
    """A daemon thread that checkpoints the WAL every ``interval`` seconds on its own connection
    (a PASSIVE checkpoint never blocks the writer)."""

    def __init__(self, path: str, interval: float, timeout: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._db = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=timeout
        )
        self.runs = 0
        self._thread = threading.Thread(
            target=self._run, name=f"journal-checkpoint {path}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        # copying WAL pages is CPU work that must not delay the gateway's own thread: on Linux a
        # thread has its own nice value, so this one yields the core to the writer when contended
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        while not self._stop.wait(self.interval):
            try:
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                self.runs += 1
            except sqlite3.Error:  # busy or closing: the next round tries again
                pass

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._db.close()
