"""Outgoing email: the SMTP transport and the outbox sender of the portal's notifications.

Theory of operation
-------------------
The portal never sends mail inside a request. It writes a row to its outbox (the store's
``notifications`` table) in the same transaction as the action, and :class:`OutboxSender`
delivers those rows afterwards, so a mail is sent if and only if its action was committed. This
module knows nothing of the store (``dropcopy.aio`` may not import it): the portal hands in
plain synchronous callables, which :class:`OutboxSender` runs in a worker thread
(``asyncio.to_thread``) so that a database round trip never blocks the event loop:

``fetch(limit) -> Sequence[OutboxItem]``
    up to ``limit`` unsent items that are due now, oldest first, excluding items that already
    had ``max_attempts`` attempts (they stay in the table, with their last error, for an
    operator: nothing is deleted, nothing is lost);
``mark_sent(id, sent_at_ns)``
    the item was accepted by the SMTP server;
``mark_failed(id, error_text, next_attempt_at_ns)``
    the attempt failed: count one more attempt, keep ``error_text`` and do not return the item
    from ``fetch`` before ``next_attempt_at_ns``.

Delivery is at-least-once: a crash between the server's ``250`` and ``mark_sent`` sends that
mail again on the next drain. Failures are retried with a growing delay
(:func:`exponential_backoff`) up to ``max_attempts``. :meth:`OutboxSender.wake` sends at once
after a commit; without it the loop polls every ``poll_interval`` seconds. The Notification
model needs somewhere to keep ``next_attempt_at_ns`` for ``fetch`` to honour.

:class:`SmtpMailer` sends one plain-text message per :class:`Email` through aiosmtplib
(implicit TLS, STARTTLS or plain; optional AUTH). Every failure becomes a :class:`MailError`
whose text says what went wrong and never contains the password. Mails must never carry secrets
or security codes either (decision AP-13): that is the caller's duty, this layer cannot tell.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Protocol

import aiosmtplib

__all__ = [
    "Backoff",
    "Email",
    "MailError",
    "Mailer",
    "MemoryMailer",
    "OutboxItem",
    "OutboxSender",
    "SmtpMailer",
    "exponential_backoff",
]

logger = logging.getLogger(__name__)

NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Email:
    """One plain-text mail to one recipient. ``sender`` overrides the mailer's From address."""

    to: str
    subject: str
    body: str
    sender: str | None = None


class MailError(Exception):
    """A mail could not be sent. ``str(error)`` is readable and never contains a password;
    ``code`` is the SMTP reply code when the server gave one."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message


class Mailer(Protocol):
    async def send(self, email: Email) -> None:
        """Deliver ``email`` to the next hop, or raise :class:`MailError`."""
        ...


class SmtpMailer:
    """Sends each :class:`Email` over a fresh SMTP connection (aiosmtplib).

    ``starttls``: ``None`` upgrades when the server offers STARTTLS, ``True`` requires it,
    ``False`` never upgrades. ``use_tls`` connects with implicit TLS (port 465); it excludes
    ``starttls=True``. ``timeout`` (seconds) bounds the connection and each reply. ``clock``
    (ns since the epoch) stamps the Date header.
    """

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        username: str | None = None,
        password: str | None = None,
        starttls: bool | None = None,
        use_tls: bool = False,
        timeout: float = 10.0,
        tls_context: ssl.SSLContext | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        if use_tls and starttls:
            raise ValueError("use_tls (implicit TLS) and starttls=True exclude each other")
        if (username is None) != (password is None):
            raise ValueError("username and password go together")
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self._password = password
        self.starttls = starttls
        self.use_tls = use_tls
        self.timeout = timeout
        self.tls_context = tls_context
        self.clock = clock

    def __repr__(self) -> str:
        auth = f", username={self.username!r}, password=***" if self.username else ""
        return f"SmtpMailer({self.host!r}, {self.port}, {self.sender!r}{auth})"

    def build_message(self, email: Email) -> EmailMessage:
        """The message :meth:`send` would send (From, To, Subject, Date, Message-ID, text body).

        Raises :class:`MailError` for an empty recipient or a header carrying a line break
        (header injection)."""
        sender = email.sender or self.sender
        if not parseaddr(email.to)[1]:
            raise MailError(f"invalid recipient address {email.to!r}")
        msg = EmailMessage()
        try:
            msg["From"] = sender
            msg["To"] = email.to
            msg["Subject"] = email.subject
            msg["Date"] = format_datetime(
                datetime.fromtimestamp(self.clock() / NS, UTC), usegmt=True
            )
            msg["Message-ID"] = make_msgid(domain=_domain_of(sender))
            msg.set_content(email.body)
        except (ValueError, TypeError) as exc:
            raise MailError(f"cannot build the message: {exc}") from None
        return msg

    async def send(self, email: Email) -> None:
        msg = self.build_message(email)
        try:
            errors, _ = await aiosmtplib.send(
                msg,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self._password,
                start_tls=self.starttls,
                use_tls=self.use_tls,
                timeout=self.timeout,
                tls_context=self.tls_context,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = "; ".join(f"{r.recipient} ({r.code} {r.message})" for r in exc.recipients)
            code = exc.recipients[0].code if exc.recipients else None
            raise MailError(
                self._scrub(f"{self._where()}: recipient refused: {refused}"), code=code
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise MailError(
                self._scrub(f"{self._where()}: {type(exc).__name__}: {exc.code} {exc.message}"),
                code=exc.code,
            ) from None
        except (aiosmtplib.SMTPException, OSError, ValueError) as exc:
            raise MailError(self._scrub(f"{self._where()}: {_describe(exc)}")) from None
        if errors:
            refused = "; ".join(f"{rcpt} ({r.code} {r.message})" for rcpt, r in errors.items())
            raise MailError(self._scrub(f"{self._where()}: recipient refused: {refused}"))

    def _where(self) -> str:
        return f"SMTP {self.host}:{self.port}"

    def _scrub(self, text: str) -> str:
        if self._password:
            text = text.replace(self._password, "***")
        return text


def _domain_of(address: str) -> str:
    addr = parseaddr(address)[1]
    domain = addr.rpartition("@")[2] if "@" in addr else ""
    return domain or "localhost"


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class MemoryMailer:
    """A :class:`Mailer` for tests: keeps every mail in :attr:`sent`; :meth:`fail_next` makes
    the next sends raise :class:`MailError`."""

    def __init__(self) -> None:
        self.sent: list[Email] = []
        self.attempts: list[Email] = []
        self._failures: list[str] = []

    def fail_next(self, count: int = 1, message: str = "451 4.3.0 try again later") -> None:
        self._failures.extend([message] * count)

    async def send(self, email: Email) -> None:
        self.attempts.append(email)
        if self._failures:
            raise MailError(self._failures.pop(0))
        self.sent.append(email)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One outbox row as :class:`OutboxSender` sees it; ``attempts`` = attempts already made."""

    id: int
    to: str
    subject: str
    body: str
    attempts: int = 0


#: failed attempts so far (1, 2, ...) -> delay in ns before the next attempt
Backoff = Callable[[int], int]


def exponential_backoff(first: int = 30 * NS, factor: float = 2.0, cap: int = 3600 * NS) -> Backoff:
    """``first`` after the first failure, times ``factor`` after each further one, at most
    ``cap`` (defaults: 30 s, 1 min, 2 min, ... 1 h)."""
    if first <= 0 or factor < 1 or cap < first:
        raise ValueError("need first > 0, factor >= 1 and cap >= first")

    def delay(failures: int) -> int:
        return int(min(cap, first * factor ** max(0, failures - 1)))

    return delay


class OutboxSender:
    """Delivers the outbox: :meth:`drain_once` for one batch, :meth:`run` as a service loop.

    See the module docstring for the contract of ``fetch``, ``mark_sent`` and ``mark_failed``
    (synchronous; called in a worker thread). ``clock`` gives ns since the epoch."""

    def __init__(
        self,
        fetch: Callable[[int], Sequence[OutboxItem]],
        mark_sent: Callable[[int, int], None],
        mark_failed: Callable[[int, str, int], None],
        mailer: Mailer,
        clock: Callable[[], int],
        *,
        batch: int = 50,
        max_attempts: int = 8,
        backoff: Backoff | None = None,
    ) -> None:
        if batch < 1 or max_attempts < 1:
            raise ValueError("batch and max_attempts must be at least 1")
        self._fetch = fetch
        self._mark_sent = mark_sent
        self._mark_failed = mark_failed
        self.mailer = mailer
        self.clock = clock
        self.batch = batch
        self.max_attempts = max_attempts
        self.backoff = backoff if backoff is not None else exponential_backoff()
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None

    async def drain_once(self) -> int:
        """Fetch one batch, send each item, mark it sent or failed. Returns how many were sent.

        An exception from a callable propagates (the items not yet marked stay in the outbox
        and are fetched again)."""
        async with self._lock:
            items = await asyncio.to_thread(self._fetch, self.batch)
            sent = 0
            for item in items:
                if item.attempts >= self.max_attempts:
                    logger.warning(
                        "outbox item %d already had %d attempts: skipped", item.id, item.attempts
                    )
                    continue
                try:
                    await self.mailer.send(Email(item.to, item.subject, item.body))
                except Exception as exc:
                    failures = item.attempts + 1
                    error = str(exc) if isinstance(exc, MailError) else _describe(exc)
                    due = self.clock() + self.backoff(failures)
                    await asyncio.to_thread(self._mark_failed, item.id, error, due)
                    if failures >= self.max_attempts:
                        logger.error(
                            "outbox item %d: giving up after %d attempts: %s",
                            item.id,
                            failures,
                            error,
                        )
                    else:
                        logger.warning(
                            "outbox item %d: attempt %d failed: %s", item.id, failures, error
                        )
                    continue
                await asyncio.to_thread(self._mark_sent, item.id, self.clock())
                sent += 1
            return sent

    async def run(self, *, poll_interval: float = 5.0) -> None:
        """Drain until :meth:`stop`: again at once while full batches go out, else after
        ``poll_interval`` seconds or a :meth:`wake`. Errors are logged, never fatal."""
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        while not self._stopping:
            self._wake.clear()
            try:
                sent = await self.drain_once()
            except Exception:
                logger.exception("outbox drain failed")
                sent = 0
            if self._stopping:
                break
            if sent >= self.batch:
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), poll_interval)
            except TimeoutError:
                pass

    def wake(self) -> None:
        """Send now (call after committing an outbox row). Safe from any thread."""
        _set_event(self._wake, self._loop)

    def stop(self) -> None:
        """End :meth:`run` after the current drain. Safe from any thread."""
        self._stopping = True
        _set_event(self._wake, self._loop)


def _set_event(event: asyncio.Event, loop: asyncio.AbstractEventLoop | None) -> None:
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if loop is None or running is loop:
        event.set()
    elif not loop.is_closed():
        loop.call_soon_threadsafe(event.set)
