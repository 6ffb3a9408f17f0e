"""dropcopy.aio.mail: SMTP round trips through a real server (aiosmtpd), and the outbox."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
from dataclasses import dataclass

import pytest

from dropcopy.aio.mail import (
    Email,
    MailError,
    MemoryMailer,
    OutboxItem,
    OutboxSender,
    SmtpMailer,
    exponential_backoff,
)
from tests.portal_io.smtp_sink import SmtpSink

SECOND = 10**9
T0 = 1_780_000_000 * SECOND  # 2026-05-28 20:26:40 UTC
SENDER = "Request Center <noreply@portal.test>"


class Clock:
    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def mailer_for(sink: SmtpSink, **kwargs: object) -> SmtpMailer:
    return SmtpMailer(sink.host, sink.port, SENDER, timeout=5.0, **kwargs)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- SmtpMailer ----------------------------------------------------------------------------


async def test_round_trip_headers_envelope_and_body(smtp_sink: SmtpSink) -> None:
    mailer = mailer_for(smtp_sink, clock=Clock())
    await mailer.send(Email("alice@firm.test", "Request 42 submitted", "Session ABC123\n"))

    (got,) = smtp_sink.messages
    assert got.mail_from == "noreply@portal.test"
    assert got.rcpt_tos == ("alice@firm.test",)
    msg = got.message
    assert msg["From"] == SENDER
    assert msg["To"] == "alice@firm.test"
    assert msg["Subject"] == "Request 42 submitted"
    assert msg["Date"].datetime.timestamp() == T0 // SECOND
    assert msg["Message-ID"].startswith("<") and msg["Message-ID"].endswith("@portal.test>")
    assert msg.get_content_type() == "text/plain"
    assert got.body == "Session ABC123\n"


async def test_message_ids_differ_and_sender_override(smtp_sink: SmtpSink) -> None:
    mailer = mailer_for(smtp_sink)
    await mailer.send(Email("a@firm.test", "one", "1"))
    await mailer.send(Email("a@firm.test", "two", "2", sender="ops@other.test"))

    first, second = smtp_sink.messages
    assert first.message["Message-ID"] != second.message["Message-ID"]
    assert second.message["From"] == "ops@other.test"
    assert second.mail_from == "ops@other.test"
    assert second.message["Message-ID"].endswith("@other.test>")


async def test_utf8_subject_and_body(smtp_sink: SmtpSink) -> None:
    body = "Société Générale — clé supprimée ✓\nZürich 東京\n"
    await mailer_for(smtp_sink).send(Email("b@firm.test", "Clé générée – ABC123", body))

    (got,) = smtp_sink.messages
    assert got.subject == "Clé générée – ABC123"
    assert got.body == body
    assert got.message.get_content_charset() == "utf-8"
    assert b"=?utf-8?" in got.raw  # the header is RFC 2047-encoded, not raw 8-bit


async def test_refused_recipient_raises_mail_error() -> None:
    with SmtpSink(refuse={"nobody@firm.test"}) as sink:
        with pytest.raises(MailError) as err:
            await mailer_for(sink).send(Email("nobody@firm.test", "s", "b"))
        assert err.value.code == 550
        assert "nobody@firm.test" in str(err.value) and "550" in str(err.value)
        assert sink.messages == []


async def test_server_down_raises_mail_error() -> None:
    port = free_port()
    mailer = SmtpMailer("127.0.0.1", port, SENDER, timeout=2.0)
    with pytest.raises(MailError) as err:
        await mailer.send(Email("a@firm.test", "s", "b"))
    assert f"127.0.0.1:{port}" in str(err.value)


async def test_auth_ok_and_bad_password_never_shows_the_password() -> None:
    password = "s3cr3t-Passw0rd"
    with SmtpSink(credentials=("mailer", password)) as sink:
        await mailer_for(sink, username="mailer", password=password).send(
            Email("a@firm.test", "s", "b")
        )
        assert len(sink.messages) == 1

        wrong = "wr0ng-" + password
        bad = mailer_for(sink, username="mailer", password=wrong)
        with pytest.raises(MailError) as err:
            await bad.send(Email("a@firm.test", "s", "b"))
        assert err.value.code == 535
        for text in (str(err.value), repr(err.value), repr(bad)):
            assert wrong not in text and password not in text
        assert err.value.__cause__ is None and err.value.__suppress_context__
        assert len(sink.messages) == 1


async def test_starttls_required_but_not_offered_raises_mail_error(smtp_sink: SmtpSink) -> None:
    with pytest.raises(MailError, match="STARTTLS"):
        await mailer_for(smtp_sink, starttls=True).send(Email("a@firm.test", "s", "b"))
    assert smtp_sink.messages == []


@pytest.mark.parametrize(
    "email",
    [
        Email("a@firm.test", "hi\r\nBcc: victim@evil.test", "b"),
        Email("a@firm.test\r\nBcc: victim@evil.test", "s", "b"),
        Email("", "s", "b"),
    ],
)
async def test_header_injection_and_empty_recipient_are_refused(
    smtp_sink: SmtpSink, email: Email
) -> None:
    with pytest.raises(MailError):
        await mailer_for(smtp_sink).send(email)
    assert smtp_sink.messages == []


def test_option_conflicts() -> None:
    with pytest.raises(ValueError):
        SmtpMailer("h", 465, SENDER, use_tls=True, starttls=True)
    with pytest.raises(ValueError):
        SmtpMailer("h", 25, SENDER, username="u")


async def test_memory_mailer_keeps_mails_and_fails_on_demand() -> None:
    mailer = MemoryMailer()
    mailer.fail_next(1, "421 busy")
    with pytest.raises(MailError, match="421 busy"):
        await mailer.send(Email("a@x.test", "s", "b"))
    await mailer.send(Email("a@x.test", "s", "b"))
    assert mailer.sent == [Email("a@x.test", "s", "b")]
    assert len(mailer.attempts) == 2


def test_exponential_backoff() -> None:
    backoff = exponential_backoff(first=10 * SECOND, factor=3, cap=100 * SECOND)
    assert [backoff(n) // SECOND for n in range(1, 6)] == [10, 30, 90, 100, 100]
    default = exponential_backoff()
    assert default(1) == 30 * SECOND and default(20) == 3600 * SECOND


# -- OutboxSender --------------------------------------------------------------------------


@dataclass
class Row:
    id: int
    to: str
    subject: str
    body: str
    attempts: int = 0
    sent_at: int | None = None
    last_error: str | None = None
    next_attempt_at: int = 0


class FakeOutbox:
    """The portal's side of the contract, in memory (the notifications table)."""

    def __init__(self, clock: Clock, max_attempts: int = 8) -> None:
        self.clock = clock
        self.max_attempts = max_attempts
        self.rows: dict[int, Row] = {}
        self.fetch_limits: list[int] = []
        self.threads: set[int] = set()
        self.fail_fetch = 0

    def add(self, to: str = "a@firm.test", subject: str = "s", body: str = "b") -> int:
        row_id = len(self.rows) + 1
        self.rows[row_id] = Row(row_id, to, subject, body, next_attempt_at=self.clock())
        return row_id

    def fetch(self, limit: int) -> list[OutboxItem]:
        self.threads.add(threading.get_ident())
        self.fetch_limits.append(limit)
        if self.fail_fetch:
            self.fail_fetch -= 1
            raise RuntimeError("database is locked")
        due = [
            r
            for r in self.rows.values()
            if r.sent_at is None
            and r.attempts < self.max_attempts
            and r.next_attempt_at <= self.clock()
        ]
        return [OutboxItem(r.id, r.to, r.subject, r.body, r.attempts) for r in due[:limit]]

    def mark_sent(self, row_id: int, sent_at: int) -> None:
        self.threads.add(threading.get_ident())
        row = self.rows[row_id]
        assert row.sent_at is None, "sent twice"
        row.sent_at = sent_at

    def mark_failed(self, row_id: int, error: str, next_attempt_at: int) -> None:
        self.threads.add(threading.get_ident())
        row = self.rows[row_id]
        row.attempts += 1
        row.last_error = error
        row.next_attempt_at = next_attempt_at


def sender_for(
    outbox: FakeOutbox, mailer: object, *, batch: int = 50, backoff_s: int = 60
) -> OutboxSender:
    return OutboxSender(
        outbox.fetch,
        outbox.mark_sent,
        outbox.mark_failed,
        mailer,  # type: ignore[arg-type]
        outbox.clock,
        batch=batch,
        max_attempts=outbox.max_attempts,
        backoff=lambda n: backoff_s * SECOND * n,
    )


async def test_drain_once_sends_and_marks_in_a_worker_thread() -> None:
    clock = Clock()
    outbox = FakeOutbox(clock)
    for i in range(3):
        outbox.add(to=f"u{i}@firm.test", subject=f"subject {i}")
    mailer = MemoryMailer()
    sender = sender_for(outbox, mailer, batch=10)

    assert await sender.drain_once() == 3
    assert [m.to for m in mailer.sent] == ["u0@firm.test", "u1@firm.test", "u2@firm.test"]
    assert all(r.sent_at == T0 for r in outbox.rows.values())
    assert outbox.fetch_limits == [10]
    assert threading.get_ident() not in outbox.threads  # never on the event loop's thread
    assert await sender.drain_once() == 0


async def test_failure_is_retried_after_the_backoff() -> None:
    clock = Clock()
    outbox = FakeOutbox(clock)
    row_id = outbox.add()
    mailer = MemoryMailer()
    mailer.fail_next(2, "451 4.3.0 mailbox busy")
    sender = sender_for(outbox, mailer, backoff_s=60)

    assert await sender.drain_once() == 0
    row = outbox.rows[row_id]
    assert (row.attempts, row.last_error) == (1, "451 4.3.0 mailbox busy")
    assert row.next_attempt_at == T0 + 60 * SECOND

    clock.now += 59 * SECOND
    assert await sender.drain_once() == 0
    assert len(mailer.attempts) == 1  # not due yet: not tried

    clock.now += 1 * SECOND
    assert await sender.drain_once() == 0
    assert (row.attempts, row.next_attempt_at) == (2, clock.now + 120 * SECOND)

    clock.now += 120 * SECOND
    assert await sender.drain_once() == 1
    assert row.sent_at == clock.now and row.attempts == 2
    assert len(mailer.sent) == 1


async def test_gives_up_after_max_attempts_and_keeps_the_item() -> None:
    clock = Clock()
    outbox = FakeOutbox(clock, max_attempts=3)
    row_id = outbox.add()
    mailer = MemoryMailer()
    mailer.fail_next(100, "550 5.1.1 user unknown")
    sender = sender_for(outbox, mailer)

    for _ in range(10):
        await sender.drain_once()
        clock.now += 3600 * SECOND
    row = outbox.rows[row_id]
    assert len(mailer.attempts) == 3
    assert (row.attempts, row.sent_at, row.last_error) == (3, None, "550 5.1.1 user unknown")


async def test_an_item_fetched_with_max_attempts_is_not_sent() -> None:
    mailer = MemoryMailer()
    sender = OutboxSender(
        lambda limit: [OutboxItem(1, "a@firm.test", "s", "b", attempts=8)],
        lambda i, t: None,
        lambda i, e, t: None,
        mailer,
        Clock(),
        max_attempts=8,
    )
    assert await sender.drain_once() == 0
    assert mailer.attempts == []


async def test_never_loses_an_item_under_random_failures() -> None:
    rng = random.Random(7)

    class FlakyMailer(MemoryMailer):
        async def send(self, email: Email) -> None:
            if rng.random() < 0.4:
                self.attempts.append(email)
                raise MailError("421 4.7.0 try again")
            await super().send(email)

    clock = Clock()
    outbox = FakeOutbox(clock, max_attempts=4)
    for i in range(40):
        outbox.add(subject=f"#{i}")
    mailer = FlakyMailer()
    sender = sender_for(outbox, mailer, batch=7)

    for _ in range(60):
        await sender.drain_once()
        clock.now += 600 * SECOND
    rows = list(outbox.rows.values())
    assert len(rows) == 40
    assert all(r.sent_at is not None or r.attempts == 4 for r in rows)
    sent_subjects = sorted(m.subject for m in mailer.sent)
    assert sent_subjects == sorted(r.subject for r in rows if r.sent_at is not None)
    assert len(set(sent_subjects)) == len(sent_subjects)  # nothing sent twice
    assert any(r.sent_at is None for r in rows) and any(r.attempts > 0 for r in rows)
    assert max(outbox.fetch_limits) == 7


async def test_outbox_over_real_smtp_marks_the_refused_recipient_failed() -> None:
    clock = Clock()
    outbox = FakeOutbox(clock)
    ok1 = outbox.add(to="one@firm.test")
    bad = outbox.add(to="gone@firm.test")
    ok2 = outbox.add(to="two@firm.test", body="zwei ✓")
    with SmtpSink(refuse={"gone@firm.test"}) as sink:
        sender = sender_for(outbox, mailer_for(sink, clock=clock))
        assert await sender.drain_once() == 2
        assert sorted(m.to for m in sink.messages) == ["one@firm.test", "two@firm.test"]
    assert outbox.rows[ok1].sent_at == T0 and outbox.rows[ok2].sent_at == T0
    failed = outbox.rows[bad]
    assert failed.sent_at is None and failed.attempts == 1
    assert failed.last_error is not None and "550" in failed.last_error


async def _until(predicate: object, timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.002)


async def test_run_drains_full_batches_at_once_then_wake_sends_immediately(
    smtp_sink: SmtpSink,
) -> None:
    clock = Clock()
    outbox = FakeOutbox(clock)
    for i in range(5):
        outbox.add(to=f"u{i}@firm.test")
    sender = sender_for(outbox, mailer_for(smtp_sink), batch=2)
    task = asyncio.create_task(sender.run(poll_interval=30))
    try:
        await smtp_sink.wait_for_async(5, timeout=2)  # 2 + 2 + 1 without waiting to poll

        outbox.add(to="late@firm.test")
        sender.wake()
        await smtp_sink.wait_for_async(6, timeout=1)

        outbox.add(to="threaded@firm.test")
        waker = threading.Thread(target=sender.wake)  # e.g. after a commit in a worker thread
        waker.start()
        waker.join()
        await smtp_sink.wait_for_async(7, timeout=1)
    finally:
        sender.stop()
        await asyncio.wait_for(task, 1)
    assert all(r.sent_at is not None for r in outbox.rows.values())


async def test_run_survives_a_failing_fetch() -> None:
    clock = Clock()
    outbox = FakeOutbox(clock)
    outbox.add()
    outbox.fail_fetch = 2
    mailer = MemoryMailer()
    sender = sender_for(outbox, mailer)
    task = asyncio.create_task(sender.run(poll_interval=0.005))
    try:
        await _until(lambda: len(mailer.sent) == 1)
    finally:
        sender.stop()
        await asyncio.wait_for(task, 1)
    assert len(outbox.fetch_limits) >= 3
