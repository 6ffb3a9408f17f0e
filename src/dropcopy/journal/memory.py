"""In-memory journal: for tests, and the embedded default when persistence is off.

Nothing survives :meth:`MemoryJournal.close` or the process; :meth:`MemoryJournal.commit` is a
no-op. Per ``(stream, uuid)`` the entries sit in a list in ascending ``seq`` order (appends are
ascending by contract), so range reads are two bisections and a slice.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from types import TracebackType

from . import Entry, JournalClosed, SeqNotIncreasing, UuidInfo, check_entry, check_uuid

__all__ = ["MemoryJournal"]


class _Run:
    """The entries of one ``(stream, uuid)``, ascending by seq."""

    __slots__ = ("entries", "max_sent_at", "min_sent_at", "monotonic", "seqs")

    def __init__(self) -> None:
        self.seqs: list[int] = []
        self.entries: list[Entry] = []
        self.min_sent_at = 0
        self.max_sent_at = 0
        #: True while sent_at never went down with seq: enables bisection by time.
        self.monotonic = True

    def add(self, entry: Entry) -> None:
        sent_at = entry.sent_at
        if not self.entries:
            self.min_sent_at = self.max_sent_at = sent_at
        else:
            if sent_at < self.entries[-1].sent_at:
                self.monotonic = False
            if sent_at < self.min_sent_at:
                self.min_sent_at = sent_at
            if sent_at > self.max_sent_at:
                self.max_sent_at = sent_at
        self.seqs.append(entry.seq)
        self.entries.append(entry)


class MemoryJournal:
    """:class:`~dropcopy.journal.Journal` held in dicts and lists."""

    def __init__(self) -> None:
        self._streams: dict[str, dict[int, _Run]] = {}
        self._closed = False

    # -- writing ---------------------------------------------------------------------------

    def append(self, stream: str, uuid: int, seq: int, sent_at: int, data: bytes) -> None:
        if self._closed:
            raise JournalClosed()
        data = check_entry(stream, uuid, seq, sent_at, data)
        runs = self._streams.get(stream)
        if runs is None:
            runs = self._streams[stream] = {}
        run = runs.get(uuid)
        if run is None:
            run = runs[uuid] = _Run()
        elif seq <= run.seqs[-1]:
            raise SeqNotIncreasing(stream, uuid, seq, run.seqs[-1])
        run.add(Entry(stream, uuid, seq, sent_at, data))

    def commit(self) -> None:
        if self._closed:
            raise JournalClosed()

    def prune(self, before: int) -> int:
        if self._closed:
            raise JournalClosed()
        removed = 0
        for stream, runs in list(self._streams.items()):
            for uuid, run in list(runs.items()):
                if run.min_sent_at >= before:
                    continue
                kept = [e for e in run.entries if e.sent_at >= before]
                removed += len(run.entries) - len(kept)
                if not kept:
                    del runs[uuid]
                    continue
                fresh = _Run()
                for entry in kept:
                    fresh.add(entry)
                runs[uuid] = fresh
            if not runs:
                del self._streams[stream]
        return removed

    def close(self) -> None:
        self._closed = True
        self._streams = {}

    def __enter__(self) -> MemoryJournal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------

    def _run(self, stream: str, uuid: int) -> _Run | None:
        if self._closed:
            raise JournalClosed()
        check_uuid(uuid)
        runs = self._streams.get(stream)
        return None if runs is None else runs.get(uuid)

    def last_seq(self, stream: str, uuid: int) -> int:
        run = self._run(stream, uuid)
        return run.seqs[-1] if run is not None else 0

    def read(self, stream: str, uuid: int, from_seq: int, to_seq: int) -> list[Entry]:
        run = self._run(stream, uuid)
        if run is None:
            return []
        lo = bisect_left(run.seqs, from_seq)
        hi = bisect_right(run.seqs, to_seq)
        return run.entries[lo:hi]

    def first_seq_since(self, stream: str, uuid: int, since: int) -> int | None:
        run = self._run(stream, uuid)
        if run is None or run.max_sent_at < since:
            return None
        entries = run.entries
        if run.monotonic:
            return entries[bisect_left(entries, since, key=_sent_at)].seq
        return next(e.seq for e in entries if e.sent_at >= since)

    def uuids(self, stream: str, since: int = 0) -> list[UuidInfo]:
        if self._closed:
            raise JournalClosed()
        runs = self._streams.get(stream, {})
        return [
            UuidInfo(uuid, run.seqs[0], run.seqs[-1], run.min_sent_at, run.max_sent_at)
            for uuid, run in sorted(runs.items())
            if run.max_sent_at >= since
        ]

    def last_message(self, stream: str) -> Entry | None:
        if self._closed:
            raise JournalClosed()
        runs = self._streams.get(stream)
        if not runs:
            return None
        _, run = max(runs.items(), key=lambda item: (item[1].max_sent_at, item[0]))
        if run.monotonic:
            return run.entries[-1]
        top = run.max_sent_at
        return next(e for e in reversed(run.entries) if e.sent_at == top)


def _sent_at(entry: Entry) -> int:
    return entry.sent_at
