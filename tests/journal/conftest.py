"""The journal backends every contract test runs against.

A new backend is one line in BACKENDS. ``open(location)`` opens -- or, for a persistent
backend, reopens -- the journal kept at ``location``, a fresh per-test directory: file backends
store under it; server backends (PostgreSQL, NATS JetStream) derive a unique schema or stream
name from it, and call ``pytest.skip`` with a reason when their server is unreachable (unless
``DROPCOPY_REQUIRE_SERVICES=1``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dropcopy.journal import Journal
from dropcopy.journal.memory import MemoryJournal
from dropcopy.journal.sqlite import SqliteJournal


@dataclass(frozen=True)
class Backend:
    name: str
    open: Callable[[Path], Journal]
    #: True if committed entries survive close() and a later open() of the same location.
    persistent: bool


BACKENDS = [
    Backend("memory", lambda location: MemoryJournal(), persistent=False),
    Backend("sqlite", lambda location: SqliteJournal(location / "journal.db"), persistent=True),
]


@pytest.fixture(params=BACKENDS, ids=lambda backend: backend.name)
def backend(request: pytest.FixtureRequest) -> Backend:
    result: Backend = request.param
    return result


@pytest.fixture
def journal(backend: Backend, tmp_path: Path) -> Iterator[Journal]:
    j = backend.open(tmp_path)
    yield j
    j.close()
