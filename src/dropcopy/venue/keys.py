"""The gateways' view of the store's key pairs: who may log on with which Access Key ID.

:class:`StoreKeyDirectory` is the iLink 3 Market Segment Gateway's
:class:`~dropcopy.venue.orderentry.gateway.KeyDirectory` (seed 004 "Session Security": the
AccessKeyID must name a usable key of that very Session/Firm, I-045), and
:class:`StoreDropCopyKeyDirectory` its Drop Copy twin (AX-01: 355 carries the Access Key ID).
Each serves one environment (AP-09: environments are separate data spaces): a key of another
environment, or of the other protocol's sessions, is not found.

Every lookup reads the store afresh, so a key generated or deleted in the portal counts at the
next logon (AP-05). Deleted and expired keys are returned marked as such (their ``usable(now)``
is false) so the gateway answers them as it answers unknown keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from dropcopy.store.keys import reveal_secret
from dropcopy.store.models import (
    DropCopySession,
    DropCopySessionStatus,
    Environment,
    KeyPair,
    SessionType,
)
from dropcopy.store.repo import check_environment

from .orderentry.gateway import NS_PER_DAY, AccessKey

__all__ = ["DropCopyKey", "StoreDropCopyKeyDirectory", "StoreKeyDirectory"]

# notes §4: 20 characters [A-Za-z0-9]; anything else (NULs, padding, junk) cannot be a key
_ACCESS_KEY_ID = re.compile(r"[A-Za-z0-9]{20}")


@dataclass(frozen=True, slots=True)
class DropCopyKey:
    """A Drop Copy target session's key pair, as the DC gateway needs it. ``repr`` hides the
    secret."""

    access_key_id: str
    secret_key: str = field(repr=False)  # base64url, as Request Center delivers it
    session_id: str  # the 6-character Session ID (SenderCompID without the FTI, AD-17)
    session_type: SessionType
    environment: Environment
    expires_at: int | None = None
    deleted: bool = False
    #: False when an operator disabled the target session.
    session_active: bool = True

    def usable(self, now: int) -> bool:
        return (
            self.session_active
            and not self.deleted
            and (self.expires_at is None or now < self.expires_at)
        )

    def days_to_expiry(self, now: int) -> int | None:
        if self.expires_at is None:
            return None
        return max(0, (self.expires_at - now) // NS_PER_DAY)


class _Directory:
    def __init__(
        self, session_factory: Callable[[], Session], environment: Environment | str
    ) -> None:
        self._sessions = session_factory
        self.environment = check_environment(environment)

    def _find(self, db: Session, access_key_id: str) -> KeyPair | None:
        return db.scalar(
            select(KeyPair)
            .options(joinedload(KeyPair.ilink3_session), joinedload(KeyPair.dc_session))
            .where(
                KeyPair.access_key_id == access_key_id,
                KeyPair.environment == self.environment,
            )
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.environment})"


class StoreKeyDirectory(_Directory):
    """iLink 3 session keys of one environment, read from the store."""

    def lookup(self, access_key_id: str) -> AccessKey | None:
        if not _ACCESS_KEY_ID.fullmatch(access_key_id):
            return None
        with self._sessions() as db:
            k = self._find(db, access_key_id)
            if k is None or k.ilink3_session is None:
                return None
            deleted = k.deleted_at is not None
            return AccessKey(
                access_key_id=k.access_key_id,
                secret_key="" if deleted else reveal_secret(db, k),
                session=k.ilink3_session.session_id,
                firm=k.ilink3_session.firm_id,
                expires_at=k.expires_at,
                deleted=deleted,
            )


class StoreDropCopyKeyDirectory(_Directory):
    """Drop Copy target session keys of one environment, read from the store."""

    def lookup(self, access_key_id: str) -> DropCopyKey | None:
        if not _ACCESS_KEY_ID.fullmatch(access_key_id):
            return None
        with self._sessions() as db:
            k = self._find(db, access_key_id)
            if k is None or k.dc_session is None:
                return None
            session: DropCopySession = k.dc_session
            deleted = k.deleted_at is not None
            return DropCopyKey(
                access_key_id=k.access_key_id,
                secret_key="" if deleted else reveal_secret(db, k),
                session_id=session.session_id,
                session_type=session.session_type,
                environment=session.environment,
                expires_at=k.expires_at,
                deleted=deleted,
                session_active=session.status is DropCopySessionStatus.ACTIVE,
            )
