"""The portal's mail and SFTP, end to end: notifications leave through the outbox over real SMTP
(aiosmtpd), security codes go straight to the user's device, and the MSGW configuration is read
over real SFTP with the generic user or a portal user's own credentials (D-095)."""

from __future__ import annotations

from pathlib import Path

import asyncssh
import pytest
from sqlalchemy import select

from dropcopy import msgwconfig
from dropcopy.aio.mail import OutboxSender, SmtpMailer
from dropcopy.aio.sftp import MsgwConfigSftpServer
from dropcopy.portal import Portal
from dropcopy.portal.app import PortalContext
from dropcopy.portal.wiring import Outbox, SftpUsers, msgw_documents
from dropcopy.store import Notification, Store
from tests.portal_io.smtp_sink import SmtpSink

from .conftest import GATEWAYS, PASSWORD, FakeClock, sign_in

pytestmark = pytest.mark.asyncio


async def test_P017_P048_notifications_and_codes_over_real_smtp(
    portal: Portal, store: Store, clock: FakeClock, world: dict[str, int], smtp_sink: SmtpSink
) -> None:
    mailer = SmtpMailer(smtp_sink.host, smtp_sink.port, "request-center@venue.example")
    outbox = Outbox(store, clock)
    sender = OutboxSender(outbox.fetch, outbox.mark_sent, outbox.mark_failed, mailer, clock)
    context = PortalContext(portal, mailer, wake_outbox=sender.wake, cookie_secure=False)
    signed = portal.sign_in("admin@acme.example", PASSWORD)
    await context.deliver(signed.code)  # the code goes straight to the device (AP-06)
    (code_mail,) = await smtp_sink.wait_for_async(1)
    assert code_mail.to == "admin@acme.example" and signed.code is not None
    assert signed.code.code in code_mail.body
    actor = portal.verify_sign_in(signed.token, signed.code.code)
    rid = portal.submit_create(
        actor,
        environment="CERT",
        session_type="CGW",
        number_of_sessions=1,
        business_rationale="mail test",
        source_ids=[world["abc"]],
    ).id
    assert await sender.drain_once() == 1  # P-017: exactly one mail for the submit
    _, note = await smtp_sink.wait_for_async(2)
    assert note.to == "admin@acme.example" and f"#{rid}" in note.subject
    assert signed.code.code not in note.body  # AP-13
    with store.session() as db:
        (row,) = db.scalars(select(Notification)).all()
        assert row.sent_at == clock.now and row.attempts == 1
    assert await sender.drain_once() == 0  # sent once only


async def test_outbox_retries_later_and_loses_nothing(
    portal: Portal, store: Store, clock: FakeClock, world: dict[str, int]
) -> None:
    with SmtpSink(refuse={"admin@acme.example"}) as sink:
        mailer = SmtpMailer(sink.host, sink.port, "request-center@venue.example")
        outbox = Outbox(store, clock)
        sender = OutboxSender(outbox.fetch, outbox.mark_sent, outbox.mark_failed, mailer, clock)
        actor = portal.actor(sign_in(portal, "admin@acme.example"))
        portal.submit_create(
            actor,
            environment="CERT",
            session_type="CGW",
            number_of_sessions=1,
            business_rationale="retry",
            source_ids=[world["abc"]],
        )
        assert await sender.drain_once() == 0
        with store.session() as db:
            (row,) = db.scalars(select(Notification)).all()
            assert row.sent_at is None and row.attempts == 1 and row.last_error
            assert row.next_attempt_at is not None and row.next_attempt_at > clock.now
        assert outbox.fetch(10) == []  # not due yet
        clock.advance(3600)
        assert len(outbox.fetch(10)) == 1


async def test_D091_D095_msgw_configuration_over_sftp(
    portal: Portal, store: Store, tmp_path: Path
) -> None:
    server = MsgwConfigSftpServer(
        lambda: msgw_documents(portal),
        SftpUsers(store, generic_user="dcconfig", generic_password="generic-secret"),
        host_key_path=tmp_path / "host_key",
        auth_failure_delay=0.0,
    )
    await server.start()
    try:
        for user, password in (
            ("dcconfig", "generic-secret"),
            ("admin@acme.example", PASSWORD),
        ):
            async with (
                asyncssh.connect(
                    "127.0.0.1",
                    server.port,
                    username=user,
                    password=password,
                    known_hosts=None,
                    client_keys=None,
                ) as conn,
                conn.start_sftp_client() as sftp,
            ):
                async with sftp.open(msgwconfig.sftp_path("CERT"), "rb") as f:
                    data = await f.read()
                segments = msgwconfig.parse(data.decode())
                assert segments == sorted(GATEWAYS["CERT"].msgw, key=lambda s: s.segment_id)
                listing = await sftp.listdir("/DCMSGW/NRCert/Configuration")
                assert msgwconfig.file_name("NEWRELEASE") in listing
        with pytest.raises(asyncssh.PermissionDenied):
            await asyncssh.connect(
                "127.0.0.1",
                server.port,
                username="admin@acme.example",
                password="wrong password",
                known_hosts=None,
                client_keys=None,
            )
    finally:
        await server.stop()
