"""Outbound journal benchmark: append throughput by commit batch size, and retransmission reads.

Run: ``.venv/bin/python bench/journal.py [--dir DIR]``. ``run()`` returns ``{label: figure}``.

What is measured, for each backend (memory; SQLite with ``synchronous=FULL``, the default, and
``NORMAL``):

* appends/s when the driver commits every 1, 100 and 1000 messages: ``append()`` of a
  360-byte message (an ExecutionReportTradeOutright525 with one fill and its SOFH) round-robin
  over 4 streams (one gateway, 4 sessions, one journal file), plus ``commit()`` every k
  messages -- the whole cost of making messages durable before they are sent;
* the time to read 2500 consecutive messages of one ``(stream, uuid)`` from a journal holding
  100,000 (25,000 per stream), and the same plus ``b"".join`` of their bytes (the buffer a
  retransmission writes);
* the other queries on that journal: ``first_seq_since`` (Drop Copy 5024, the window starting
  in the middle of the stream), ``uuids`` and ``last_message`` (EstablishmentAck504), and
  ``last_seq``.

Files go to a temporary directory under ``--dir`` (default: the system's), which must be on the
disk that would hold a real journal: on tmpfs an fsync costs nothing and FULL looks like NORMAL.
Each figure is the best of ROUNDS runs in this one process.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from dropcopy.journal import Journal
from dropcopy.journal.memory import MemoryJournal
from dropcopy.journal.sqlite import SqliteJournal

ROUNDS = 3
PAYLOAD = bytes(range(256)) + bytes(104)  # 360 bytes, NULs included
STREAMS = [f"ilink3:SES{n}:74" for n in range(4)]
UUID = 1_773_612_000_000_000
T0 = 1_773_612_000 * 1_000_000_000
BATCHES = (1, 100, 1000)
# messages appended per timed run, by commit batch size (FULL at batch 1 is one fsync each)
MESSAGES = {1: 3_000, 100: 40_000, 1000: 100_000}
READ_FILL = 100_000
READ_COUNT = 2500

Opener = Callable[[Path], Journal]
BACKENDS: dict[str, Opener] = {
    "memory": lambda d: MemoryJournal(),
    "sqlite FULL": lambda d: SqliteJournal(d / "journal.db", synchronous="FULL"),
    "sqlite NORMAL": lambda d: SqliteJournal(d / "journal.db", synchronous="NORMAL"),
}


def _fresh(opener: Opener, base: Path) -> tuple[Journal, Path]:
    d = Path(tempfile.mkdtemp(dir=base))
    return opener(d), d


def _appends_per_second(opener: Opener, base: Path, batch: int) -> float:
    best = 0.0
    n = MESSAGES[batch]
    for _ in range(ROUNDS):
        j, _d = _fresh(opener, base)
        append, commit = j.append, j.commit
        streams = STREAMS
        t = time.perf_counter()
        for i in range(n):
            append(streams[i & 3], UUID, (i >> 2) + 1, T0 + i, PAYLOAD)
            if (i + 1) % batch == 0:
                commit()
        commit()
        best = max(best, n / (time.perf_counter() - t))
        j.close()
    return best


def _best_ms(fn: Callable[[], object], rounds: int = 20) -> float:
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best * 1e3


def _queries(opener: Opener, base: Path) -> dict[str, float]:
    j, _d = _fresh(opener, base)
    for i in range(READ_FILL):
        j.append(STREAMS[i & 3], UUID, (i >> 2) + 1, T0 + i, PAYLOAD)
        if (i + 1) % 1000 == 0:
            j.commit()
    j.commit()
    s = STREAMS[1]
    per_stream = READ_FILL // 4
    lo = per_stream // 2
    entries = j.read(s, UUID, lo, lo + READ_COUNT - 1)
    assert len(entries) == READ_COUNT and entries[0].data == PAYLOAD
    window = T0 + 4 * lo  # the window starts half-way through the stream
    assert j.first_seq_since(s, UUID, window) == lo + 1
    out = {
        "read 2500 (ms)": _best_ms(lambda: j.read(s, UUID, lo, lo + READ_COUNT - 1)),
        "read 2500 + join bytes (ms)": _best_ms(
            lambda: b"".join([e.data for e in j.read(s, UUID, lo, lo + READ_COUNT - 1)])
        ),
        "first_seq_since, 12,500 in window (ms)": _best_ms(
            lambda: j.first_seq_since(s, UUID, window)
        ),
        "uuids (ms)": _best_ms(lambda: j.uuids(s)),
        "last_message (ms)": _best_ms(lambda: j.last_message(s)),
        "last_seq (ms)": _best_ms(lambda: j.last_seq(s, UUID)),
    }
    j.close()
    return out


def run(base: Path) -> dict[str, float]:
    results: dict[str, float] = {}
    for name, opener in BACKENDS.items():
        for batch in BATCHES:
            results[f"{name}: appends/s, commit every {batch}"] = _appends_per_second(
                opener, base, batch
            )
        for label, value in _queries(opener, base).items():
            results[f"{name}: {label}"] = value
    return results


def _filesystem(path: Path) -> str:
    """The mount type holding ``path`` (Linux), or ``?``."""
    try:
        mounts = [line.split() for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return "?"
    real = os.path.realpath(path)
    best = ("", "?")
    for fields in mounts:
        mount, fstype = fields[1], fields[2]
        inside = real == mount or real.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) > len(best[0]):
            best = (mount, fstype)
    return best[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    fs = _filesystem(args.dir)
    print(
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs, files in {args.dir} ({fs})"
    )
    if fs in ("tmpfs", "ramfs"):
        print("warning: tmpfs makes fsync free; use --dir on a real disk for FULL figures")
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="dropcopy-bench-") as base:
        results = run(Path(base))
    for label, value in results.items():
        figure = f"{value:>12,.0f}" if "/s" in label else f"{value:>12.3f}"
        print(f"{label:<60} {figure}")


if __name__ == "__main__":
    main()
