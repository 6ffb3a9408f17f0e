"""The Request Center's web UI: server-rendered pages for the flows of seed 000.

Pages (``docs/portal-ui.md``): sign in (password, then the security code), Futures & Options -
Drop Copy Sessions (sort, filter, View IPs), Create New Session, Session Details with Manage
Source SenderComps, My Requests, iLink 3 Sessions, Manage Keys for Selected Session(s) (Generate,
Delete, Download) and the MSGW configuration download. Every action goes through
:class:`~.services.Portal`, exactly like the REST API, so the rules (roles, companies, limits)
live in one place; this module only turns forms into calls and views into HTML.

Plain HTML forms, ``<dialog>`` windows and a small script of our own (``static/portal.js``): no
third-party JavaScript or CSS. Pages are Jinja2 templates (autoescaped) shipped in the package
(``templates/``, ``static/``), found through the package loader, so a wheel or an editable
install serves them alike.

Security:

* the session cookie (``app.COOKIE``) is HttpOnly, SameSite=Strict and Secure unless
  ``cookie_secure=False``; the sign-in forms, before there is a session, carry a double-submit
  token (cookie :data:`LOGIN_CSRF` and a hidden field);
* every state-changing form of a signed-in user carries the session's CSRF token in the hidden
  field ``csrf_token``, compared in constant time: a mismatch answers a 403 page;
* the banner shown after a redirect (the "notification at the top of the screen", P-016, P-036,
  P-047, P-057) travels in a short-lived cookie signed with the session's CSRF token;
* every page is sent with a strict Content-Security-Policy (scripts and styles only from
  ``/static``; no inline script), ``Cache-Control: no-store`` and framing denied;
* secrets, key files and security codes are never logged; codes are sent by
  :meth:`PortalContext.deliver`, never shown.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from dropcopy.store import Environment

from .app import COOKIE, PortalContext, attachment
from .auth import Actor
from .errors import Forbidden, Invalid, NotFound, PortalError, Unauthenticated
from .services import (
    FIRM_ID_REQUIRED,
    SESSION_TYPE_LABELS,
    OwnerKeys,
    OwnerRef,
    RequestView,
    SessionView,
    SourceView,
    chicago_time,
)

__all__ = ["FLASH", "LOGIN_CSRF", "mount_static", "router"]

#: The banner carried across a redirect (signed with the session's CSRF token).
FLASH = "dropcopy_flash"
#: The double-submit token of the sign-in forms (there is no session yet).
LOGIN_CSRF = "dropcopy_login"

ENVIRONMENTS = tuple(e.value for e in Environment)
SESSION_TYPES = tuple((str(k), label) for k, label in SESSION_TYPE_LABELS.items())
GAM_NOTE = "If you are unsure which environment to select, contact Global Account Management (GAM)."
#: What a submitted request does next (P-018, P-019, P-038).
IN_PROGRESS_NOTE = "It is In-Progress until the daily processing that begins at 4pm CT."
SORTABLE = (
    ("session_id", "Session ID"),
    ("environment", "Environment"),
    ("session_type", "Session Type"),
    ("created_at", "Created"),
)
REQUEST_STATUSES = ("In-Progress", "Completed", "Failed")
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
_FLASH_MAX = 1500


# -- templates ------------------------------------------------------------------------------------


def _chicago(t: int | None) -> str:
    return "" if t is None else chicago_time(t)


def _jinja() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("dropcopy.portal", "templates"),
        autoescape=jinja2.select_autoescape(("html",), default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ct"] = _chicago
    env.globals.update(
        environments=ENVIRONMENTS,
        session_types=SESSION_TYPES,
        gam_note=GAM_NOTE,
        firm_note=FIRM_ID_REQUIRED,
    )
    return env


templates = Jinja2Templates(env=_jinja())


def mount_static(app: FastAPI) -> None:
    """Serve ``static/`` (our CSS and script) at ``/static``."""
    app.mount("/static", StaticFiles(packages=[("dropcopy.portal", "static")]), name="static")


# -- small helpers ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Flash:
    level: str  # "success" or "error"
    text: str


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _fields(form: FormData, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str) and v]


def _ints(values: Iterable[str], what: str) -> list[int]:
    out = []
    for v in values:
        if not v.isdigit():
            raise Invalid(f"{what}: {v!r} is not a number.")
        out.append(int(v))
    return out


def _refs(values: Iterable[str]) -> list[OwnerRef]:
    return list(dict.fromkeys(OwnerRef.parse(v) for v in values if v))


def _keys_url(refs: Sequence[OwnerRef], step: str = "") -> str:
    query = [("s", str(r)) for r in refs]
    if step:
        query.append(("step", step))
    return "/keys?" + urlencode(query)


def _mask(email: str) -> str:
    """``a***@acme.example``: enough for the user to recognise the address."""
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}" if domain else "your device"


def _sign(key: str, payload: str) -> str:
    return hmac.new(key.encode(), b"flash:" + payload.encode(), hashlib.sha256).hexdigest()


def _harden(response: Response) -> None:
    for name, value in PAGE_HEADERS.items():
        response.headers.setdefault(name, value)


class _Web:
    """The pages' shared plumbing: who is signed in, rendering, banners, CSRF."""

    def __init__(self, context: PortalContext) -> None:
        self.context = context
        self.portal = context.portal

    # -- cookies ------------------------------------------------------------------------------

    def set_cookie(self, response: Response, name: str, value: str) -> None:
        response.set_cookie(
            name,
            value,
            httponly=True,
            samesite="strict",
            secure=self.context.cookie_secure,
            path="/",
        )

    def clear_cookie(self, response: Response, name: str) -> None:
        response.delete_cookie(
            name, path="/", httponly=True, samesite="strict", secure=self.context.cookie_secure
        )

    def flash(self, response: Response, actor: Actor, text: str, level: str = "success") -> None:
        body = json.dumps({"l": level, "t": text[:_FLASH_MAX]}).encode()
        payload = base64.urlsafe_b64encode(body).decode().rstrip("=")
        self.set_cookie(response, FLASH, f"{payload}.{_sign(actor.csrf_token, payload)}")

    @staticmethod
    def take_flash(request: Request, actor: Actor | None) -> Flash | None:
        raw = request.cookies.get(FLASH)
        if not raw or actor is None:
            return None
        payload, _, mac = raw.partition(".")
        if not hmac.compare_digest(_sign(actor.csrf_token, payload), mac):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (binascii.Error, ValueError):
            return None
        if not isinstance(data, dict) or data.get("l") not in ("success", "error"):
            return None
        return Flash(str(data["l"]), str(data.get("t", "")))

    # -- who ----------------------------------------------------------------------------------

    async def actor(self, request: Request) -> Actor:
        """The signed-in actor (else :class:`Unauthenticated`: the route redirects to sign-in)
        and the Company drop-down, kept on ``request.state`` for the header."""
        token = request.cookies.get(COOKIE, "")
        if not token:
            raise Unauthenticated("Sign in first.")
        actor = await self.context.call(self.portal.actor, token, kind="web")
        request.state.actor = actor
        request.state.companies = await self.context.call(self.portal.companies, actor)
        return actor

    async def form(self, request: Request, actor: Actor) -> FormData:
        """The posted form, after checking its CSRF token (403 on a mismatch)."""
        form = await request.form()
        sent = _field(form, "csrf_token")
        if not sent or not hmac.compare_digest(sent.encode(), actor.csrf_token.encode()):
            raise Forbidden(
                "This form has expired or did not come from this site. Reload the page and "
                "try again."
            )
        return form

    async def login_form(self, request: Request) -> FormData:
        """A sign-in form, after checking its double-submit token."""
        form = await request.form()
        sent = _field(form, "csrf_token")
        cookie = request.cookies.get(LOGIN_CSRF, "")
        if not sent or not cookie or not hmac.compare_digest(sent.encode(), cookie.encode()):
            raise Forbidden("The sign-in form has expired. Reload the page and try again.")
        return form

    # -- rendering ----------------------------------------------------------------------------

    def render(
        self, request: Request, name: str, status_code: int = 200, **values: Any
    ) -> Response:
        actor: Actor | None = getattr(request.state, "actor", None)
        context: dict[str, Any] = {
            "actor": actor,
            "companies": getattr(request.state, "companies", []),
            "flash": self.take_flash(request, actor),
            "path": request.url.path,
            "error": None,
            "notice": None,
        }
        context.update(values)
        response = templates.TemplateResponse(request, name, context, status_code=status_code)
        if FLASH in request.cookies:
            self.clear_cookie(response, FLASH)
        return response

    def error_page(self, request: Request, error: PortalError) -> Response:
        return self.render(
            request, "error.html", error.status, error=error.message, status=error.status
        )

    def login_page(self, request: Request, name: str, status: int = 200, **values: Any) -> Response:
        token = request.cookies.get(LOGIN_CSRF) or secrets.token_urlsafe(24)
        response = self.render(request, name, status, login_csrf=token, **values)
        if request.cookies.get(LOGIN_CSRF) != token:
            self.set_cookie(response, LOGIN_CSRF, token)
        return response

    # -- pages used by several routes ---------------------------------------------------------

    async def create_page(
        self,
        request: Request,
        actor: Actor,
        *,
        status: int = 200,
        error: str | None = None,
        values: dict[str, Any] | None = None,
        selected: Sequence[int] = (),
    ) -> Response:
        if not actor.can_manage_sessions():
            raise Forbidden("Your role does not allow you to create Drop Copy sessions.")
        v = {"environment": "", "session_type": "", "number_of_sessions": "1", "rationale": ""}
        v.update(values or {})
        env = v["environment"] if v["environment"] in ENVIRONMENTS else ENVIRONMENTS[0]
        choices = await self.context.call(self.portal.source_choices, actor, env)
        by_id = {s.id: s for s in choices}
        fee = await self.context.call(self.portal.fee_notice, actor)
        return self.render(
            request,
            "session_new.html",
            status,
            error=error,
            values=v,
            choices=choices,
            selected=[by_id[i] for i in selected if i in by_id],
            fee=fee.text,
        )

    async def details_page(
        self,
        request: Request,
        actor: Actor,
        pk: int,
        *,
        status: int = 200,
        error: str | None = None,
        adding: Sequence[int] = (),
        removing: Sequence[int] = (),
    ) -> Response:
        view: SessionView = await self.context.call(self.portal.session, actor, pk)
        attached = {s.id for s in view.sources}
        choices: list[SourceView] = []
        if actor.can_manage_sessions():
            every = await self.context.call(self.portal.source_choices, actor, view.environment)
            choices = [s for s in every if s.id not in attached]
        by_id = {s.id: s for s in choices}
        return self.render(
            request,
            "session_detail.html",
            status,
            error=error,
            s=view,
            choices=choices,
            adding=[by_id[i] for i in adding if i in by_id],
            removing=set(removing) & attached,
        )

    async def keys_page(
        self,
        request: Request,
        actor: Actor,
        refs: Sequence[OwnerRef],
        *,
        step: str = "",
        status: int = 200,
        error: str | None = None,
    ) -> Response:
        owners: list[OwnerKeys] = await self.context.call(self.portal.key_overview, actor, refs)
        return self.render(
            request,
            "keys.html",
            status,
            owners=owners,
            refs=[str(o.ref) for o in owners],
            prompt=any(o.must_choose for o in owners),
            step=step if step in ("generate", "delete", "download", "code") else "",
            dialog_error=error,
            error=error,
            back=(
                "/ilink3" if owners and all(o.ref.kind == "ilink3" for o in owners) else "/sessions"
            ),
        )


def _sort_links(
    q: str, environment: str, session_type: str, sort: str, desc: bool
) -> list[dict[str, str]]:
    links = []
    for key, label in SORTABLE:
        toggle = not desc if key == sort else False
        query = {"q": q, "environment": environment, "session_type": session_type, "sort": key}
        if toggle:
            query["desc"] = "1"
        state = "none"
        if key == sort:
            state = "descending" if desc else "ascending"
        links.append(
            {
                "key": key,
                "label": label,
                "href": "/sessions?" + urlencode({k: v for k, v in query.items() if v}),
                "aria_sort": state,
            }
        )
    return links


def _request_label(r: RequestView) -> str:
    return "New Drop Copy session" if r.kind == "create_session" else "Manage Source SenderComps"


# -- the router -------------------------------------------------------------------------------------


def router(context: PortalContext) -> APIRouter:
    """The web UI's routes, mounted at ``/``."""
    web = _Web(context)
    portal = context.portal
    call = context.call

    class _PageRoute(APIRoute):
        """Errors become pages: not signed in -> the sign-in page; a :class:`PortalError` ->
        an error page with its status. Every answer gets the hardening headers."""

        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def page(request: Request) -> Response:
                try:
                    response = await handler(request)
                except Unauthenticated:
                    response = _redirect("/sign-in")
                except PortalError as e:
                    response = web.error_page(request, e)
                except RequestValidationError:
                    response = web.error_page(request, NotFound("No such page."))
                _harden(response)
                return response

            return page

    r = APIRouter(route_class=_PageRoute, include_in_schema=False)

    # -- signing in ---------------------------------------------------------------------------

    @r.get("/")
    async def home(request: Request) -> Response:
        if not request.cookies.get(COOKIE):
            return _redirect("/sign-in")
        await web.actor(request)
        return _redirect("/sessions")

    @r.get("/sign-in")
    async def sign_in_page(request: Request, signed_out: bool = False) -> Response:
        token = request.cookies.get(COOKIE, "")
        if token:
            try:
                await call(portal.actor, token)
                return _redirect("/sessions")
            except PortalError:
                pass
        notice = "You are signed out." if signed_out else None
        return web.login_page(request, "sign_in.html", notice=notice, email="")

    @r.post("/sign-in")
    async def sign_in(request: Request) -> Response:
        form = await web.login_form(request)
        email = _field(form, "email").strip()
        try:
            result = await call(portal.sign_in, email, _field(form, "password"), "web")
        except PortalError as e:
            return web.login_page(request, "sign_in.html", e.status, error=e.message, email=email)
        query = {"method": result.method}
        try:
            await context.deliver(result.code)
        except PortalError:
            query["unsent"] = "1"
        response = _redirect("/sign-in/code?" + urlencode(query))
        web.set_cookie(response, COOKIE, result.token)
        return response

    async def code_page(
        request: Request,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        notice: str | None = None,
    ) -> Response:
        email = await call(portal.pending_sign_in, request.cookies.get(COOKIE, ""))
        if email is None:
            return _redirect("/sign-in")
        return web.login_page(
            request,
            "code.html",
            status,
            error=error,
            notice=notice,
            to=_mask(email),
            method="authenticator" if method == "authenticator" else "email",
        )

    @r.get("/sign-in/code")
    async def code_form(request: Request, method: str = "email", unsent: bool = False) -> Response:
        error = "The security code could not be sent: select Resend Code." if unsent else None
        return await code_page(request, method, error=error)

    @r.post("/sign-in/code")
    async def verify(request: Request) -> Response:
        form = await web.login_form(request)
        method = _field(form, "method")
        try:
            await call(portal.verify_sign_in, request.cookies.get(COOKIE, ""), _field(form, "code"))
        except PortalError as e:
            if await call(portal.pending_sign_in, request.cookies.get(COOKIE, "")) is None:
                return _redirect("/sign-in")
            return await code_page(request, method, status=e.status, error=e.message)
        return _redirect("/sessions")

    @r.post("/sign-in/resend")
    async def resend(request: Request) -> Response:
        await web.login_form(request)
        try:
            code = await call(portal.resend_sign_in_code, request.cookies.get(COOKIE, ""))
            await context.deliver(code)
        except Unauthenticated:
            return _redirect("/sign-in")
        except PortalError as e:
            return await code_page(request, "email", status=e.status, error=e.message)
        return await code_page(
            request, "email", notice=f"A new security code was sent to {_mask(code.to)}."
        )

    @r.post("/sign-out")
    async def sign_out(request: Request) -> Response:
        actor = await web.actor(request)
        await web.form(request, actor)
        await call(portal.sign_out, request.cookies.get(COOKIE, ""))
        response = _redirect("/sign-in?signed_out=1")
        web.clear_cookie(response, COOKIE)
        return response

    @r.post("/company")
    async def choose_company(request: Request) -> Response:
        """The Company drop-down (P-008, P-025)."""
        actor = await web.actor(request)
        form = await web.form(request, actor)
        company_id = _ints([_field(form, "company_id")], "Company")[0]
        await call(portal.choose_company, request.cookies.get(COOKIE, ""), company_id)
        target = _field(form, "next")
        if target not in ("/sessions", "/requests", "/ilink3", "/msgw-config"):
            target = "/sessions"
        return _redirect(target)

    # -- Drop Copy sessions ------------------------------------------------------------------

    @r.get("/sessions")
    async def sessions(
        request: Request,
        q: str = "",
        sort: str = "session_id",
        desc: bool = False,
        environment: str = "",
        session_type: str = "",
    ) -> Response:
        """Futures & Options - Drop Copy Sessions, sorted and filtered (P-026, P-028)."""
        actor = await web.actor(request)
        environment = environment if environment in ENVIRONMENTS else ""
        session_type = session_type if session_type in ("CGW", "MSGW") else ""
        sort = sort if sort in dict(SORTABLE) else "session_id"
        rows = await call(
            portal.list_sessions,
            actor,
            environment=environment or None,
            session_type=session_type or None,
            search=q or None,
            sort=sort,
            descending=desc,
        )
        return web.render(
            request,
            "sessions.html",
            sessions=rows,
            q=q,
            sort=sort,
            desc=desc,
            environment=environment,
            session_type=session_type,
            columns=_sort_links(q, environment, session_type, sort, desc),
            gateways=portal.gateways,
            filtered=bool(q or environment or session_type),
        )

    @r.get("/sessions/new")
    async def new_session(request: Request) -> Response:
        actor = await web.actor(request)
        return await web.create_page(request, actor)

    @r.post("/sessions/new")
    async def create_session(request: Request) -> Response:
        """Create New Session -> Submit (P-006..P-016)."""
        actor = await web.actor(request)
        form = await web.form(request, actor)
        values = {
            "environment": _field(form, "environment"),
            "session_type": _field(form, "session_type"),
            "number_of_sessions": _field(form, "number_of_sessions"),
            "rationale": _field(form, "business_rationale"),
        }
        raw_sources = _fields(form, "source_ids")
        try:
            source_ids = _ints(raw_sources, "Source SenderComp")
            number = values["number_of_sessions"]
            if number not in ("1", "2"):
                raise Invalid("Number of Sessions must be 1 or 2.")
            req = await call(
                portal.submit_create,
                actor,
                environment=values["environment"],
                session_type=values["session_type"],
                number_of_sessions=int(number),
                business_rationale=values["rationale"],
                source_ids=source_ids,
            )
        except (Forbidden, Unauthenticated):
            raise
        except PortalError as e:
            kept = [int(v) for v in raw_sources if v.isdigit()]
            return await web.create_page(
                request, actor, status=e.status, error=e.message, values=values, selected=kept
            )
        response = _redirect("/sessions")
        web.flash(
            response,
            actor,
            f"Request #{req.id} submitted: {req.summary} ({req.environment}). {IN_PROGRESS_NOTE} "
            "The session then appears in this list. An email notification is sent to your "
            "registered email address.",
        )
        return response

    @r.get("/sources")
    async def sources(request: Request, environment: str = "CERT") -> Response:
        """The Add Source SenderComps dialog's choices: the company's own iLink 3 sessions in
        ``environment`` (P-014, AP-12)."""
        actor = await web.actor(request)
        rows = await call(portal.source_choices, actor, environment)
        return JSONResponse(
            [{"id": s.id, "label": s.label, "environment": s.environment} for s in rows]
        )

    @r.get("/sessions/{pk}")
    async def session_details(request: Request, pk: int) -> Response:
        """Session Details (P-027, P-029..P-033)."""
        actor = await web.actor(request)
        return await web.details_page(request, actor, pk)

    @r.post("/sessions/{pk}/sources")
    async def edit_sources(request: Request, pk: int) -> Response:
        """Manage Source SenderComps -> Submit (P-033..P-036)."""
        actor = await web.actor(request)
        form = await web.form(request, actor)
        raw_add, raw_remove = _fields(form, "add"), _fields(form, "remove")
        try:
            add = _ints(raw_add, "Source SenderComp")
            remove = _ints(raw_remove, "Source SenderComp")
            req = await call(portal.submit_sources, actor, pk, add=add, remove=remove)
        except (Forbidden, Unauthenticated, NotFound):
            raise
        except PortalError as e:
            return await web.details_page(
                request,
                actor,
                pk,
                status=e.status,
                error=e.message,
                adding=[int(v) for v in raw_add if v.isdigit()],
                removing=[int(v) for v in raw_remove if v.isdigit()],
            )
        response = _redirect(f"/sessions/{pk}")
        web.flash(
            response,
            actor,
            f"Request #{req.id} submitted: {req.summary}. {IN_PROGRESS_NOTE} An email "
            "notification is sent to your registered email address.",
        )
        return response

    @r.get("/sessions/{pk}/ips")
    async def view_ips(request: Request, pk: int, fragment: bool = False) -> Response:
        """View IPs: every segment's primary and backup address (P-026, AP-11)."""
        actor = await web.actor(request)
        view = await call(portal.session, actor, pk)
        ips = await call(portal.view_ips, actor, pk)
        name = "ips_fragment.html" if fragment else "ips.html"
        return web.render(request, name, s=view, gateways=ips["gateways"])

    # -- My Requests --------------------------------------------------------------------------

    @r.get("/requests")
    async def my_requests(request: Request, status: str = "") -> Response:
        """My Requests: status, and the reason of a Failed request (P-018, P-021, P-039)."""
        actor = await web.actor(request)
        rows = await call(portal.requests, actor)
        status = status if status in REQUEST_STATUSES else ""
        if status:
            rows = [x for x in rows if x.status == status]
        return web.render(
            request,
            "requests.html",
            requests=rows,
            status=status,
            statuses=REQUEST_STATUSES,
            label=_request_label,
        )

    # -- iLink 3 sessions and keys ----------------------------------------------------------

    @r.get("/ilink3")
    async def ilink3(request: Request) -> Response:
        """The company's iLink 3 sessions, whose keys are managed here too (AX-02)."""
        actor = await web.actor(request)
        rows = await call(portal.ilink3_sessions, actor)
        return web.render(request, "ilink3.html", sessions=rows)

    @r.get("/keys")
    async def manage_keys(request: Request, step: str = "") -> Response:
        """Manage Keys for Selected Session(s) (P-041, P-054, P-060)."""
        actor = await web.actor(request)
        refs = _refs(request.query_params.getlist("s"))
        return await web.keys_page(request, actor, refs, step=step)

    async def keys_form(request: Request) -> tuple[Actor, FormData, list[OwnerRef]]:
        actor = await web.actor(request)
        form = await web.form(request, actor)
        return actor, form, _refs(_fields(form, "s"))

    @r.post("/keys/generate")
    async def generate(request: Request) -> Response:
        """Generate Key(s), after choosing the key to delete when prompted (P-041..P-047)."""
        actor, form, refs = await keys_form(request)
        delete = {ref: _fields(form, f"delete.{ref}") for ref in refs}
        try:
            made = await call(
                portal.generate_keys, actor, refs, delete={k: v for k, v in delete.items() if v}
            )
        except Unauthenticated:
            raise
        except PortalError as e:
            return await web.keys_page(
                request, actor, refs, step="generate", status=e.status, error=e.message
            )
        parts = []
        for m in made:
            text = f"{m.session_id}: new Key ID {m.access_key_id}"
            if m.expiring:
                text += f" ({', '.join(m.expiring)} to be expired in 4 weeks)"
            if m.deleted:
                text += f" ({', '.join(m.deleted)} deleted immediately)"
            parts.append(text)
        response = _redirect(_keys_url(refs, "download"))
        web.flash(
            response,
            actor,
            "Key(s) generated: "
            + "; ".join(parts)
            + ". An email notification is sent to your registered email address.",
        )
        return response

    @r.post("/keys/code")
    async def send_download_code(request: Request) -> Response:
        """Download All Key(s) / Resend Code: a security code to the user's device (P-049,
        P-050, P-061, P-062)."""
        actor, _, refs = await keys_form(request)
        try:
            code = await call(portal.download_code, actor)
            await context.deliver(code)
        except Unauthenticated:
            raise
        except PortalError as e:
            return await web.keys_page(
                request, actor, refs, step="download", status=e.status, error=e.message
            )
        if code is None:
            text = "Enter the current security code of your authenticator app."
        else:
            text = f"A security code was sent to your device ({_mask(code.to)})."
        response = _redirect(_keys_url(refs, "code"))
        web.flash(response, actor, text)
        return response

    @r.post("/keys/download")
    async def download(request: Request) -> Response:
        """Download All Key(s) with the security code: the key file (P-051, P-052, P-063)."""
        actor, form, refs = await keys_form(request)
        try:
            name, text = await call(portal.download_keys, actor, refs, _field(form, "code"))
        except Unauthenticated:
            raise
        except PortalError as e:
            return await web.keys_page(
                request, actor, refs, step="code", status=e.status, error=e.message
            )
        return attachment(text, name)

    @r.post("/keys/delete")
    async def delete(request: Request) -> Response:
        """Delete Key(s), confirmed (P-054..P-057)."""
        actor, form, refs = await keys_form(request)
        choice: dict[OwnerRef, list[str]] = {}
        try:
            for value in _fields(form, "key"):
                ref_text, _, key_id = value.partition("|")
                ref = OwnerRef.parse(ref_text)
                if ref not in refs or not key_id:
                    raise Invalid("Keys to delete must belong to the selected sessions.")
                choice.setdefault(ref, []).append(key_id)
            if not choice:
                raise Invalid("Select the key(s) to delete.")
            gone = await call(portal.delete_keys, actor, choice)
        except Unauthenticated:
            raise
        except PortalError as e:
            return await web.keys_page(
                request, actor, refs, step="delete", status=e.status, error=e.message
            )
        response = _redirect(_keys_url(refs))
        web.flash(
            response,
            actor,
            f"Key(s) deleted: {', '.join(gone)}. They can no longer be used to log on. An email "
            "notification is sent to your registered email address.",
        )
        return response

    # -- MSGW configuration --------------------------------------------------------------------

    @r.get("/msgw-config")
    async def msgw_page(request: Request) -> Response:
        await web.actor(request)
        return web.render(request, "msgw.html")

    @r.get("/msgw-config/{environment}")
    async def msgw_file(request: Request, environment: str) -> Response:
        """The Drop Copy 4.0 MSGW configuration file of an environment (D-090)."""
        await web.actor(request)
        if environment not in ENVIRONMENTS:
            raise NotFound(f"No environment {environment!r}.")
        name, text = portal.msgw_config(environment)
        return attachment(text, name, "text/csv")

    return r
