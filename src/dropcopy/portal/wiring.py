"""The portal's background parts, wired to the store: the outbox of notification mails, the
daily 4pm processing and the MSGW configuration SFTP site (D-090..D-096).

The asyncio drivers live in :mod:`dropcopy.aio` (:class:`~dropcopy.aio.mail.OutboxSender`,
:class:`~dropcopy.aio.scheduler.DailyBatch`, :class:`~dropcopy.aio.sftp.MsgwConfigSftpServer`);
they take plain callables, which this module builds from a :class:`~.services.Portal`.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import or_, select

from dropcopy import msgwconfig
from dropcopy.aio.mail import OutboxItem
from dropcopy.store import Notification, Store, repo

from .services import Portal

__all__ = ["Outbox", "SftpUsers", "msgw_documents"]

log = logging.getLogger(__name__)


@dataclass
class Outbox:
    """``fetch`` / ``mark_sent`` / ``mark_failed`` of :class:`~dropcopy.aio.mail.OutboxSender`
    over the ``notifications`` table."""

    store: Store
    clock: Callable[[], int]
    max_attempts: int = 8

    def fetch(self, limit: int) -> Sequence[OutboxItem]:
        """Unsent items due now, oldest first, not yet given up."""
        now = self.clock()
        with self.store.session() as db:
            query = (
                select(Notification)
                .where(Notification.sent_at.is_(None))
                .where(Notification.attempts < self.max_attempts)
                .order_by(Notification.created_at, Notification.id)
                .where(
                    or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now)
                )
                .limit(limit)
            )
            return [
                OutboxItem(n.id, n.to_address, n.subject, n.body, n.attempts)
                for n in db.scalars(query)
            ]

    def mark_sent(self, note_id: int, sent_at: int) -> None:
        with self.store.session() as db:
            row = db.get(Notification, note_id)
            if row is not None:
                row.sent_at = sent_at
                row.attempts += 1

    def mark_failed(self, note_id: int, error: str, next_attempt_at: int) -> None:
        with self.store.session() as db:
            row = db.get(Notification, note_id)
            if row is not None:
                row.attempts += 1
                row.last_error = error[:2000]
                row.next_attempt_at = next_attempt_at


@dataclass
class SftpUsers:
    """Who may read the MSGW configuration over SFTP: the generic user (CME's is ``cmeconfig``,
    D-091; ours is configured, its real password is never reused) and every active portal user
    with their own email and password (D-095)."""

    store: Store
    generic_user: str = "dcconfig"
    generic_password: str = field(default="", repr=False)

    def __call__(self, username: str, password: str) -> bool:
        if self.generic_password and hmac.compare_digest(
            username.encode(), self.generic_user.encode()
        ):
            return hmac.compare_digest(password.encode(), self.generic_password.encode())
        with self.store.session() as db:
            user = repo.find_user(db, username)
            return user is not None and repo.verify_password(user, password)


def msgw_documents(portal: Portal) -> dict[str, str]:
    """SFTP path -> the MSGW configuration file, for every environment the venue serves."""
    out = {}
    for env in portal.gateways:
        _, text = portal.msgw_config(env)
        out[msgwconfig.sftp_path(env)] = text
    return out
