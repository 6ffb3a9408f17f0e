"""A throwaway SMTP server for tests: ``aiosmtpd`` on 127.0.0.1, an ephemeral port.

How to use it
-------------
* In this directory the fixture ``smtp_sink`` comes from ``conftest.py``.
* Elsewhere (the portal's tests), re-export the fixture from your ``conftest.py``::

      from tests.portal_io.smtp_sink import smtp_sink as smtp_sink

  or use :class:`SmtpSink` directly as a context manager (e.g. for a sink that refuses some
  recipients or requires AUTH)::

      with SmtpSink(refuse={"bad@example.com"}, credentials=("user", "pw")) as sink:
          mailer = SmtpMailer(sink.host, sink.port, "noreply@example.com", ...)

The sink accepts every mail (except recipients in ``refuse``, answered ``550``), parses it with
``email.policy.default`` and appends a :class:`Received` to ``sink.messages`` *before* it
answers ``250``: once ``SmtpMailer.send`` has returned, the message is there. For mail sent by a
background task, wait with ``await sink.wait_for_async(n)`` (async tests) or ``sink.wait_for(n)``
(sync tests); both return the messages and fail after ``timeout`` seconds.

The server runs in its own thread (aiosmtpd's ``Controller``), so it works from sync and async
tests alike; one sink per test (function scope), stopped at teardown.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

__all__ = ["Received", "SmtpSink", "smtp_sink"]


@dataclass(frozen=True)
class Received:
    """One mail as the server saw it: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def to(self) -> str:
        return str(self.message["To"])

    @property
    def body(self) -> str:
        """The text/plain content, with the wire's CRLF line ends turned into ``\\n``."""
        part = self.message.get_body(("plain",))
        assert part is not None, "no text/plain part"
        return str(part.get_content()).replace("\r\n", "\n")


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(  # aiosmtpd hook
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.sink.refuse:
            return f"550 5.1.1 <{address}>: recipient address rejected: user unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content or envelope.content)
        message = BytesParser(policy=default_policy).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        self.sink._add(Received(envelope.mail_from, tuple(envelope.rcpt_tos), message, raw))
        return "250 Message accepted for delivery"


class _EphemeralController(Controller):
    """Binds port 0 and learns the real port before aiosmtpd's start-up probe connects."""

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class SmtpSink:
    """An SMTP server collecting what it receives (see the module docstring)."""

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        refuse: Iterable[str] = (),
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self.refuse = {a.lower() for a in refuse}
        self.credentials = credentials
        self.messages: list[Received] = []
        self.auth_attempts = 0
        self._cond = threading.Condition()
        kwargs: dict[str, Any] = {}
        if credentials is not None:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=False)
        self._controller = _EphemeralController(
            _Handler(self),
            hostname=self.host,
            port=0,
            server_hostname="sink.test",  # skips aiosmtpd's getfqdn() lookup
            enable_SMTPUTF8=True,
            **kwargs,
        )
        self.port = 0

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        self.auth_attempts += 1
        ok = (
            isinstance(auth_data, LoginPassword)
            and self.credentials is not None
            and (auth_data.login.decode(), auth_data.password.decode()) == self.credentials
        )
        return AuthResult(success=ok, handled=False)

    def _add(self, received: Received) -> None:
        with self._cond:
            self.messages.append(received)
            self._cond.notify_all()

    def start(self) -> SmtpSink:
        self._controller.start()
        self.port = self._controller.port
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def clear(self) -> None:
        with self._cond:
            self.messages.clear()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """Block until at least ``count`` messages arrived; return them all."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(f"expected {count} mail(s), got {len(self.messages)}")
            return list(self.messages)

    async def wait_for_async(self, count: int, timeout: float = 5.0) -> list[Received]:
        """Like :meth:`wait_for`, without blocking the event loop."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} mail(s), got {len(self.messages)}")
            await asyncio.sleep(0.005)
        with self._cond:
            return list(self.messages)


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A running :class:`SmtpSink` (accepts everything), stopped after the test."""
    with SmtpSink() as sink:
        yield sink
