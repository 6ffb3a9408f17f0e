"""Serving Request Center: the ASGI app under uvicorn, with its background services (the
notification outbox, the daily 4pm processing, the MSGW configuration SFTP site) on one loop.
Ctrl-C (SIGINT) or SIGTERM stops everything cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import uvicorn

from .mail import OutboxSender
from .scheduler import DailyBatch
from .sftp import MsgwConfigSftpServer

__all__ = ["serve_portal"]

log = logging.getLogger(__name__)


async def serve_portal(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    outbox: OutboxSender | None = None,
    batch: DailyBatch | None = None,
    sftp: MsgwConfigSftpServer | None = None,
    on_ready: Callable[[dict[str, str]], None] | None = None,
) -> None:
    """Serve until interrupted. ``on_ready`` gets the listening addresses once all are up."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    tasks: list[asyncio.Task[None]] = []
    if sftp is not None:
        await sftp.start()
    if outbox is not None:
        tasks.append(asyncio.create_task(outbox.run(poll_interval=5.0), name="outbox"))
    if batch is not None:
        tasks.append(asyncio.create_task(batch.run_forever(), name="daily-batch"))

    async def announce() -> None:
        while not server.started:
            await asyncio.sleep(0.05)
        bound = port
        for s in server.servers:
            for sock in s.sockets:
                bound = sock.getsockname()[1]
        where = {"portal": f"http://{host}:{bound}/", "api": f"http://{host}:{bound}/api/v1"}
        if sftp is not None:
            where["sftp"] = f"sftp://{host}:{sftp.port}/DCMSGW"
        if on_ready is not None:
            on_ready(where)

    announcer = asyncio.create_task(announce())
    try:
        await server.serve()
    finally:
        announcer.cancel()
        if outbox is not None:
            outbox.stop()
        if batch is not None:
            batch.stop()
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        if sftp is not None:
            await sftp.stop()
        log.info("portal stopped")
