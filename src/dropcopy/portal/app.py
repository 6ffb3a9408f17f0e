"""The Request Center ASGI application: the web UI (``/``) and the REST API (``/api/v1``).

``create_app(context)`` builds a FastAPI app on a :class:`PortalContext`: the
:class:`~.services.Portal` (store, clock, settings, gateway addresses), the mailer that delivers
security codes at once, and ``wake_outbox`` which tells the outbox sender that notifications
were queued. Blocking store work runs in Starlette's thread pool; nothing here imports asyncio
(only ``dropcopy.aio`` does).

Security: the browser holds an HttpOnly, SameSite=Strict cookie (``Secure`` unless
``cookie_secure=False`` for plain-HTTP local runs) naming a server-side session; every state
changing form carries the session's CSRF token (synchronizer token, compared in constant time).
API clients send ``Authorization: Bearer <token>``; the API never reads the cookie, so it needs
no CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from dropcopy.aio.mail import Email, Mailer, MailError

from .auth import CodeToSend
from .errors import KeyChoiceNeeded, PortalError
from .services import Portal

__all__ = ["COOKIE", "PortalContext", "attachment", "create_app"]

COOKIE = "dropcopy_session"
_T = TypeVar("_T")


def attachment(
    text: str, name: str, media_type: str = "text/plain", headers: dict[str, str] | None = None
) -> Response:
    """A file download (the key file, the MSGW configuration) named ``name``."""
    return Response(
        text.encode(),
        media_type=f"{media_type}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', **(headers or {})},
    )


class CodeNotSent(PortalError):
    status = 503


@dataclass
class PortalContext:
    portal: Portal
    mailer: Mailer
    wake_outbox: Callable[[], None] = lambda: None
    cookie_secure: bool = True
    title: str = "Request Center"
    extra: dict[str, Any] = field(default_factory=dict)

    async def call(self, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """Run a blocking :class:`Portal` method in the thread pool; wake the outbox after."""
        try:
            return await run_in_threadpool(fn, *args, **kwargs)
        finally:
            self.wake_outbox()

    async def deliver(self, code: CodeToSend | None) -> None:
        """Send a security code to the user's device (email), now. Never logged (AP-06)."""
        if code is None:
            return
        what = "sign in" if code.purpose == "login" else "download your keys"
        minutes = self.portal.settings.code_ttl // 60_000_000_000
        try:
            await self.mailer.send(
                Email(
                    to=code.to,
                    subject="Your Request Center security code",
                    body=(
                        f"Your security code to {what} is {code.code}.\n"
                        f"It can be used once and expires in {minutes} minutes.\n"
                        "If you did not ask for it, change your password.\n"
                    ),
                )
            )
        except MailError as e:
            raise CodeNotSent(f"The security code could not be sent: {e}") from e


def create_app(context: PortalContext) -> FastAPI:
    from . import api, web

    app = FastAPI(
        title="Request Center API",
        version="1",
        description=(
            "Drop Copy sessions, source SenderComps, secure keys and requests, scoped to your "
            "companies. Sign in with POST /api/v1/auth/sign-in then POST "
            "/api/v1/auth/verify; send the token as `Authorization: Bearer <token>`."
        ),
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.context = context

    @app.exception_handler(PortalError)
    async def portal_error(request: Request, exc: PortalError) -> JSONResponse:
        body: dict[str, Any] = {"detail": exc.message}
        if isinstance(exc, KeyChoiceNeeded):
            body["existing"] = {k: list(v) for k, v in exc.existing.items()}
        return JSONResponse(body, status_code=exc.status)

    app.include_router(api.router(context), prefix="/api/v1")
    app.include_router(web.router(context))
    web.mount_static(app)
    return app
