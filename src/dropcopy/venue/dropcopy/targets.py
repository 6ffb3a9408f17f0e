"""Drop Copy target sessions and the source iLink 3 sessions attached to them.

The router asks one question per copied message: which target sessions receive activity of
this source (Session, Firm)? (seed 003 "Drop Copy 4.0 Session Model", D-074..D-076, D-081:
several targets may copy the same source at once; nothing from an unattached source ever
reaches a target). :class:`MemoryTargetDirectory` answers from a dict (tests, benchmarks);
:class:`StoreTargetDirectory` from the store, reloading every ``refresh_interval`` of venue
time so that a session created or edited in Request Center is picked up without a restart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from dropcopy.store.models import (
    DropCopySession,
    DropCopySessionStatus,
    DropCopySource,
    Environment,
    MessageTypes,
    SessionType,
)
from dropcopy.store.repo import check_environment

Owner = tuple[str, str]  # an iLink 3 source: (Session ID, Firm ID)

__all__ = ["MemoryTargetDirectory", "StoreTargetDirectory", "Target", "TargetDirectory"]


@dataclass(frozen=True, slots=True)
class Target:
    """One Drop Copy 4.0 target session as the gateways need it."""

    session_id: str  # 6 characters; SenderCompID is it + "N" (D-079, AD-17)
    session_type: SessionType
    message_types: MessageTypes = MessageTypes.ALL
    sources: frozenset[Owner] = field(default_factory=frozenset)
    active: bool = True

    @property
    def sender_comp_id(self) -> str:
        return self.session_id + "N"


class TargetDirectory(Protocol):
    def target(self, session_id: str, now: int) -> Target | None:
        """The target session with this 6-character Session ID (None if unknown)."""
        ...

    def targets_for(self, owner: Owner, now: int) -> tuple[Target, ...]:
        """The active target sessions that copy this source."""
        ...

    def all(self, now: int) -> tuple[Target, ...]: ...


class _Index:
    def __init__(self, targets: Iterable[Target]) -> None:
        self.by_id = {t.session_id: t for t in targets}
        by_owner: dict[Owner, list[Target]] = {}
        for t in self.by_id.values():
            if t.active:
                for owner in sorted(t.sources):
                    by_owner.setdefault(owner, []).append(t)
        self.by_owner = {o: tuple(ts) for o, ts in by_owner.items()}


class MemoryTargetDirectory:
    def __init__(self, targets: Iterable[Target] = ()) -> None:
        self._index = _Index(targets)

    def add(self, target: Target) -> None:
        self._index = _Index([*self._index.by_id.values(), target])

    def target(self, session_id: str, now: int) -> Target | None:
        return self._index.by_id.get(session_id)

    def targets_for(self, owner: Owner, now: int) -> tuple[Target, ...]:
        return self._index.by_owner.get(owner, ())

    def all(self, now: int) -> tuple[Target, ...]:
        return tuple(self._index.by_id.values())


class StoreTargetDirectory:
    """The target sessions of one environment, read from the store (AP-09: one data space per
    environment) and cached for ``refresh_interval`` ns of venue time."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        environment: Environment | str,
        *,
        refresh_interval: int = 5_000_000_000,
    ) -> None:
        self._sessions = session_factory
        self.environment = check_environment(environment)
        self.refresh_interval = refresh_interval
        self._index: _Index | None = None
        self._loaded_at = 0

    def refresh(self, now: int) -> None:
        with self._sessions() as db:
            rows = db.scalars(
                select(DropCopySession)
                .options(
                    selectinload(DropCopySession.sources).selectinload(
                        DropCopySource.ilink3_session
                    )
                )
                .where(DropCopySession.environment == self.environment)
            ).all()
            targets = [
                Target(
                    session_id=s.session_id,
                    session_type=s.session_type,
                    message_types=s.message_types,
                    sources=frozenset(
                        (src.ilink3_session.session_id, src.ilink3_session.firm_id)
                        for src in s.sources
                    ),
                    active=s.status is DropCopySessionStatus.ACTIVE,
                )
                for s in rows
            ]
        self._index = _Index(targets)
        self._loaded_at = now

    def _current(self, now: int) -> _Index:
        index = self._index
        if index is None or not 0 <= now - self._loaded_at < self.refresh_interval:
            self.refresh(now)
            index = self._index
            assert index is not None
        return index

    def target(self, session_id: str, now: int) -> Target | None:
        return self._current(now).by_id.get(session_id)

    def targets_for(self, owner: Owner, now: int) -> tuple[Target, ...]:
        return self._current(now).by_owner.get(owner, ())

    def all(self, now: int) -> tuple[Target, ...]:
        return tuple(self._current(now).by_id.values())

    def __repr__(self) -> str:
        return f"StoreTargetDirectory({self.environment})"
