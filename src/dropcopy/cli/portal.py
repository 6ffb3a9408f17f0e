"""``dropcopy portal serve``: Request Center (web UI, REST API, outbox, daily 4pm processing and
the MSGW configuration SFTP site) on the store."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Annotated

import typer

from dropcopy import msgwconfig
from dropcopy.aio import run
from dropcopy.aio.mail import MemoryMailer, OutboxSender, SmtpMailer
from dropcopy.aio.portal import serve_portal
from dropcopy.aio.scheduler import DailyBatch
from dropcopy.aio.sftp import MsgwConfigSftpServer
from dropcopy.portal import EnvironmentGateways, Portal
from dropcopy.portal.app import PortalContext, create_app
from dropcopy.portal.wiring import Outbox, SftpUsers, msgw_documents
from dropcopy.store import default_data_dir, open_store

app = typer.Typer(help="Request Center: the portal that manages Drop Copy sessions and keys.")


def _gateways(cgw: list[str], msgw: list[str]) -> dict[str, EnvironmentGateways]:
    envs: dict[str, tuple[str, str | None]] = {}
    for item in cgw:
        env, _, where = item.partition("=")
        first, _, second = where.partition(",")
        envs[env] = (first, second or None)
    segments: dict[str, tuple[msgwconfig.SegmentGateways, ...]] = {}
    for item in msgw:
        env, _, path = item.partition("=")
        segments[env] = tuple(msgwconfig.parse(Path(path).read_text()))
    out = {}
    for env in sorted(set(envs) | set(segments)):
        pair = envs.get(env, ("", None))
        out[env] = EnvironmentGateways(pair[0], pair[1], segments.get(env, ()))
    return out


@app.command("serve")
def serve(
    data_dir: Annotated[Path | None, typer.Option("--data-dir")] = None,
    db: Annotated[str | None, typer.Option("--db", help="database URL")] = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    sftp_port: Annotated[int, typer.Option(help="MSGW configuration SFTP port; -1: off")] = 8022,
    smtp_host: Annotated[
        str | None, typer.Option(help="SMTP server; unset: mails are kept")
    ] = None,
    smtp_port: int = 25,
    smtp_from: str = "request-center@localhost",
    cgw: Annotated[
        list[str], typer.Option(help="ENV=HOST:PORT[,HOST:PORT] Drop Copy CGW primary,backup")
    ] = [],  # noqa: B006
    msgw: Annotated[list[str], typer.Option(help="ENV=FILE MSGW configuration CSV")] = [],  # noqa: B006
    insecure_cookies: Annotated[
        bool, typer.Option(help="cookies without Secure (plain HTTP on a non-local host)")
    ] = False,
) -> None:
    """Serve Request Center until Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    directory = data_dir or default_data_dir()
    store = open_store(db, data_dir=directory)
    clock = time.time_ns
    portal = Portal(store, clock, gateways=_gateways(cgw, msgw))
    mailer = (
        SmtpMailer(smtp_host, smtp_port, smtp_from) if smtp_host is not None else MemoryMailer()
    )
    outbox = Outbox(store, clock)
    sender = OutboxSender(outbox.fetch, outbox.mark_sent, outbox.mark_failed, mailer, clock)
    context = PortalContext(
        portal, mailer, wake_outbox=sender.wake, cookie_secure=not insecure_cookies
    )
    batch = DailyBatch(portal.run_batch_at, portal.last_batch_cutoff, clock)
    sftp = None
    if sftp_port >= 0:
        sftp = MsgwConfigSftpServer(
            lambda: msgw_documents(portal),
            SftpUsers(store, generic_password=os.environ.get("DROPCOPY_SFTP_PASSWORD", "")),
            host_key_path=directory / "sftp_host_key",
            host=host,
            port=sftp_port,
        )

    def ready(where: dict[str, str]) -> None:
        typer.echo(json.dumps(where))

    try:
        run(
            serve_portal(
                create_app(context),
                host=host,
                port=port,
                outbox=sender,
                batch=batch,
                sftp=sftp,
                on_ready=ready,
            )
        )
    finally:
        store.close()
