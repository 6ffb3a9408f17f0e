"""The Request Center's actions, shared by the web UI and the REST API.

:class:`Portal` owns the store, the clock and the settings. Each method is one action of
seed 000 (or of what a real Request Center needs around it), runs in its own transaction and
returns plain views (dataclasses). Every action checks who acts (:class:`~.auth.Actor`): a user
sees and changes only the sessions, keys and requests of the company chosen in the Company
drop-down (P-008, P-024), with the rights of its role there (P-001, AP-10). Another company's
rows answer :class:`~.errors.NotFound`, exactly like rows that do not exist.

Every change is audited (``audit_events``) and queues one notification mail to the acting
user's registered address (P-017, P-037, P-048, P-058, AP-13), never carrying a secret or a
code. Security codes are returned as :class:`~.auth.CodeToSend` for the caller to deliver at
once through their own channel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from dropcopy import msgwconfig
from dropcopy.msgwconfig import SegmentGateways
from dropcopy.store import (
    AuditEvent,
    Company,
    DropCopyGroup,
    DropCopySession,
    DropCopySource,
    Environment,
    GlobexFirmId,
    ILink3Session,
    KeyPair,
    Request,
    RequestKind,
    RequestStatus,
    SecurityCodePurpose,
    SessionType,
    Store,
    TwoFactorMethod,
    User,
    keys,
    repo,
)
from dropcopy.store import errors as store_errors
from dropcopy.venue.calendar import CHICAGO, market_close_after

from . import auth
from .auth import Actor, AuthSettings, CodeToSend
from .errors import (
    Forbidden,
    Invalid,
    KeyChoiceNeeded,
    NotFound,
    PortalError,
    RateLimited,
    Unauthenticated,
    from_store_error,
)

__all__ = [
    "FIRM_ID_REQUIRED",
    "MONTHLY_GROUP_FEE_USD",
    "SESSION_TYPE_LABELS",
    "EnvironmentGateways",
    "FeeNotice",
    "GeneratedKey",
    "KeyView",
    "OwnerKeys",
    "OwnerRef",
    "Portal",
    "RequestView",
    "SessionView",
    "SignIn",
    "SourceView",
    "chicago_time",
    "has_firm_id",
]

NS = 1_000_000_000
#: The seed's note (P-007), shown when a company without a Globex Firm ID asks for a session.
FIRM_ID_REQUIRED = "Globex Firm IDs must be created before requesting Futures & Options sessions."
MONTHLY_GROUP_FEE_USD = 500  # D-110, D-111, AD-18: the first group is free
#: The seed's words for the two session types (P-011).
SESSION_TYPE_LABELS = {
    SessionType.CGW: "Convenience Gateway",
    SessionType.MSGW: "Market Segment Gateway (iLink 3)",
}
_T = TypeVar("_T")


# -- views ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceView:
    id: int
    session_id: str
    firm_id: str
    environment: str

    @property
    def label(self) -> str:
        return f"{self.session_id}/{self.firm_id}"


@dataclass(frozen=True, slots=True)
class KeyView:
    access_key_id: str
    created_at: int
    expires_at: int
    #: A newer pair exists: this one expires at the end of the 4-week overlap (P-044).
    superseded: bool


@dataclass(frozen=True, slots=True)
class SessionView:
    id: int
    session_id: str
    environment: str
    session_type: str
    session_type_label: str
    business_rationale: str
    message_types: str
    status: str
    created_at: int
    sources: tuple[SourceView, ...]
    keys: tuple[KeyView, ...]
    pending_requests: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RequestView:
    id: int
    kind: str
    environment: str
    status: str
    reason: str | None
    created_at: int
    processed_at: int | None
    submitted_by: str
    dc_session_id: str | None
    summary: str
    payload: dict[str, Any]
    result: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class FeeNotice:
    """What Submit will cost (D-110, D-111, AD-18), shown before submitting."""

    existing_groups: int
    monthly_fee_usd: int

    @property
    def text(self) -> str:
        if self.monthly_fee_usd == 0:
            return (
                "Your company's first Drop Copy group is free. Each further group costs "
                f"${MONTHLY_GROUP_FEE_USD}/month."
            )
        return (
            f"Your company has {self.existing_groups} Drop Copy group(s): this new group will "
            f"cost ${self.monthly_fee_usd}/month (the first group is free)."
        )


@dataclass(frozen=True, slots=True)
class OwnerRef:
    """A session whose keys are managed: a Drop Copy target or an iLink 3 session (AX-02)."""

    kind: Literal["dropcopy", "ilink3"]
    id: int

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> OwnerRef:
        kind, _, number = text.partition(":")
        if kind not in ("dropcopy", "ilink3") or not number.isdigit():
            raise Invalid(f"{text!r} is not a session reference (dropcopy:<id> or ilink3:<id>)")
        return cls(kind, int(number))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class OwnerKeys:
    """One selected session in the Manage Keys windows (P-041, P-043, P-054)."""

    ref: OwnerRef
    session_id: str
    environment: str
    keys: tuple[KeyView, ...]

    @property
    def must_choose(self) -> bool:
        """Generate Keys prompts for a key to delete at once (P-042, AP-01)."""
        return len(self.keys) >= keys.MAX_USABLE_PAIRS


@dataclass(frozen=True, slots=True)
class GeneratedKey:
    ref: OwnerRef
    session_id: str
    access_key_id: str
    expires_at: int
    deleted: tuple[str, ...]
    expiring: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SignIn:
    token: str = field(repr=False)
    method: str
    code: CodeToSend | None


@dataclass(frozen=True, slots=True)
class EnvironmentGateways:
    """Where an environment's Drop Copy gateways listen ("View IPs", P-026, AP-11)."""

    cgw_primary: str
    cgw_backup: str | None
    msgw: tuple[SegmentGateways, ...]


# -- the portal -------------------------------------------------------------------------------------


def chicago_time(t: int) -> str:
    """``t`` (ns) as Chicago wall-clock time, e.g. ``2026-11-24 16:00 CST``."""
    return datetime.fromtimestamp(t // NS, CHICAGO).strftime("%Y-%m-%d %H:%M %Z")


class Portal:
    def __init__(
        self,
        store: Store,
        clock: Callable[[], int],
        *,
        gateways: Mapping[str, EnvironmentGateways] | None = None,
        settings: AuthSettings | None = None,
        close_after: Callable[[int], int] = market_close_after,
    ) -> None:
        self.store = store
        self.clock = clock
        self.gateways = dict(gateways or {})
        self.settings = settings or AuthSettings()
        self._close_after = close_after

    # -- plumbing ----------------------------------------------------------------------------

    def _tx(self, fn: Callable[[Session, int], _T]) -> _T:
        """Run ``fn(db, now)`` in one transaction; store errors become portal errors. A
        :class:`_Refusal` commits what was recorded (failed attempts) and then raises."""
        now = self.clock()
        try:
            with self.store.session() as db:
                try:
                    return fn(db, now)
                except _Refusal as r:
                    db.commit()
                    raise r.error from None
        except store_errors.KeyChoiceRequired as e:
            raise KeyChoiceNeeded(str(e), {"": e.existing}) from e
        except store_errors.StoreError as e:
            raise from_store_error(e) from e

    def _notify(
        self, db: Session, user_id: int, subject: str, body: str, now: int, request: Request | None
    ) -> None:
        user = db.get(User, user_id)
        assert user is not None
        repo.queue_notification(db, user, subject, body, now=now, request=request)

    def _check_code(
        self, db: Session, user: User, purpose: SecurityCodePurpose, code: str, now: int
    ) -> str | None:
        totp = repo.totp_secret(db, user)
        return auth.check_code(db, user, purpose, code, now, self.settings, totp_secret=totp)

    @staticmethod
    def _company(db: Session, actor: Actor) -> Company:
        if actor.company_id is None:
            raise Forbidden("Choose a company first (Company drop-down).")
        company = db.get(Company, actor.company_id)
        if company is None:
            raise NotFound("No such company.")
        return company

    @staticmethod
    def _need(allowed: bool, what: str) -> None:
        if not allowed:
            raise Forbidden(f"Your role does not allow you to {what}.")

    @staticmethod
    def _dc_session(db: Session, actor: Actor, pk: int) -> DropCopySession:
        row = db.get(DropCopySession, pk)
        if row is None or row.company_id != actor.company_id:
            raise NotFound(f"No Drop Copy session #{pk}.")
        return row

    @staticmethod
    def _owner(db: Session, actor: Actor, ref: OwnerRef) -> DropCopySession | ILink3Session:
        row: DropCopySession | ILink3Session | None
        if ref.kind == "dropcopy":
            row = db.get(DropCopySession, ref.id)
        else:
            row = db.get(ILink3Session, ref.id)
        if row is None or row.company_id != actor.company_id:
            raise NotFound(f"No session {ref}.")
        return row

    # -- signing in (I-031) ------------------------------------------------------------------

    def sign_in(self, email: str, password: str, kind: str = "web") -> SignIn:
        """Step one: the password. Answers a session waiting for its second factor and, for
        email users, the code to send."""
        if kind not in ("web", "api"):
            raise Invalid("kind must be web or api")
        settings = self.settings

        def run(db: Session, now: int) -> SignIn:
            subject = f"email:{email.strip().lower()}"
            since = now - settings.login_window
            if auth.failures_since(db, "login.failed", subject, since) >= settings.login_failures:
                raise RateLimited("Too many failed sign-ins: wait 15 minutes and try again.")
            user = repo.find_user(db, email)
            if user is None or not repo.verify_password(user, password):
                repo.record_audit(db, "login.failed", now=now, user=user, subject=subject)
                raise _Refusal(Unauthenticated("Invalid email or password."))
            token, _ = auth.new_session(db, user, kind, now, settings)
            code = None
            if user.two_factor_method is TwoFactorMethod.EMAIL:
                code = auth.issue_code(db, user, SecurityCodePurpose.LOGIN, now, settings)
                if code is None:
                    raise RateLimited("At most 10 security codes a day: try again tomorrow.")
            repo.record_audit(db, "login.password_ok", now=now, user=user, subject=subject)
            return SignIn(token, str(user.two_factor_method), code)

        return self._tx(run)

    def resend_sign_in_code(self, token: str) -> CodeToSend:
        def run(db: Session, now: int) -> CodeToSend:
            row = auth.session_for_token(db, token, now)
            if row is None or row.second_factor_at is not None:
                raise Unauthenticated("Sign in again.")
            code = auth.issue_code(db, row.user, SecurityCodePurpose.LOGIN, now, self.settings)
            if code is None:
                raise RateLimited("At most 10 security codes a day: try again tomorrow.")
            return code

        return self._tx(run)

    def verify_sign_in(self, token: str, code: str) -> Actor:
        """Step two: the security code (email or authenticator)."""

        def run(db: Session, now: int) -> Actor:
            row = auth.session_for_token(db, token, now)
            if row is None or row.second_factor_at is not None:
                raise Unauthenticated("Sign in again.")
            user = row.user
            why = self._check_code(db, user, SecurityCodePurpose.LOGIN, code, now)
            if why is not None:
                repo.record_audit(db, "login.code_failed", now=now, user=user)
                raise _Refusal(Unauthenticated(why))
            auth.complete_second_factor(row, now, self.settings)
            repo.record_audit(db, "login.signed_in", now=now, user=user, subject=row.kind)
            return auth.actor_of(db, row)

        return self._tx(run)

    def actor(self, token: str, company_id: int | None = None, *, kind: str | None = None) -> Actor:
        """The signed-in actor of ``token`` (for ``company_id``, default the chosen one); with
        ``kind`` only a session of that kind ("web" cookie or "api" bearer) is accepted."""

        def run(db: Session, now: int) -> Actor:
            row = auth.session_for_token(db, token, now)
            if row is None or row.second_factor_at is None:
                raise Unauthenticated("Sign in first.")
            if kind is not None and row.kind != kind:
                raise Unauthenticated(f"This is not a {kind} session: sign in for it.")
            actor = auth.actor_of(db, row, company_id)
            if company_id is not None and actor.company_id != company_id:
                raise NotFound(f"No company #{company_id}.")
            return actor

        return self._tx(run)

    def pending_sign_in(self, token: str) -> str | None:
        """The email of a session still waiting for its second factor, else ``None``."""

        def run(db: Session, now: int) -> str | None:
            row = auth.session_for_token(db, token, now)
            if row is None or row.second_factor_at is not None:
                return None
            return row.user.email

        return self._tx(run)

    def sign_out(self, token: str) -> None:
        def run(db: Session, now: int) -> None:
            row = auth.session_for_token(db, token, now)
            if row is not None:
                row.revoked_at = now
                repo.record_audit(db, "login.signed_out", now=now, user=row.user)

        self._tx(run)

    def companies(self, actor: Actor) -> list[tuple[int, str]]:
        """The Company drop-down (P-008, P-025)."""

        def run(db: Session, now: int) -> list[tuple[int, str]]:
            user = db.get(User, actor.user_id)
            assert user is not None
            return [(c.id, c.name) for c in repo.companies_of(db, user)]

        return self._tx(run)

    def choose_company(self, token: str, company_id: int) -> Actor:
        def run(db: Session, now: int) -> Actor:
            row = auth.session_for_token(db, token, now)
            if row is None or row.second_factor_at is None:
                raise Unauthenticated("Sign in first.")
            actor = auth.actor_of(db, row, company_id)
            if actor.company_id != company_id:
                raise NotFound(f"No company #{company_id}.")
            row.company_id = company_id
            return actor

        return self._tx(run)

    # -- Drop Copy sessions (P-024..P-033) ---------------------------------------------------

    @staticmethod
    def _pending(db: Session, session_ids: Iterable[int]) -> dict[int, list[int]]:
        """In-Progress request ids per Drop Copy session, in one query."""
        out: dict[int, list[int]] = {}
        rows = db.execute(
            select(Request.dc_session_id, Request.id)
            .where(Request.dc_session_id.in_(list(session_ids)))
            .where(Request.status == RequestStatus.IN_PROGRESS)
            .order_by(Request.id)
        )
        for sid, rid in rows:
            if sid is not None:
                out.setdefault(sid, []).append(rid)
        return out

    def _session_view(
        self, db: Session, row: DropCopySession, now: int, pending: Iterable[int] | None = None
    ) -> SessionView:
        if pending is None:
            pending = self._pending(db, [row.id]).get(row.id, [])
        return SessionView(
            id=row.id,
            session_id=row.session_id,
            environment=str(row.environment),
            session_type=str(row.session_type),
            session_type_label=SESSION_TYPE_LABELS[row.session_type],
            business_rationale=row.business_rationale,
            message_types=str(row.message_types),
            status=str(row.status),
            created_at=row.created_at,
            sources=tuple(_source_view(s.ilink3_session) for s in row.sources),
            keys=tuple(
                _key_view(k)
                for k in sorted(row.key_pairs, key=lambda k: (k.created_at, k.id))
                if k.usable(now)
            ),
            pending_requests=tuple(pending),
        )

    def list_sessions(
        self,
        actor: Actor,
        *,
        environment: str | None = None,
        session_type: str | None = None,
        search: str | None = None,
        sort: str = "session_id",
        descending: bool = False,
    ) -> list[SessionView]:
        """The Drop Copy Sessions page, with its sort and filter (P-028)."""
        sort_keys: dict[str, Callable[[SessionView], Any]] = {
            "session_id": lambda s: s.session_id,
            "environment": lambda s: (s.environment, s.session_id),
            "session_type": lambda s: (s.session_type, s.session_id),
            "created_at": lambda s: (s.created_at, s.session_id),
        }
        if sort not in sort_keys:
            raise Invalid(f"sort must be one of {', '.join(sort_keys)}")

        def run(db: Session, now: int) -> list[SessionView]:
            self._need(actor.can_view(), "view sessions")
            company = self._company(db, actor)
            query = select(DropCopySession).where(DropCopySession.company_id == company.id)
            if environment:
                query = query.where(
                    DropCopySession.environment == repo.check_environment(environment)
                )
            if session_type:
                query = query.where(DropCopySession.session_type == _session_type(session_type))
            query = query.options(
                selectinload(DropCopySession.sources).joinedload(DropCopySource.ilink3_session),
                selectinload(DropCopySession.key_pairs),
            )
            rows = list(db.scalars(query))
            pending = self._pending(db, [r.id for r in rows])
            views = [self._session_view(db, r, now, pending.get(r.id, [])) for r in rows]
            if search:
                needle = search.strip().upper()
                views = [
                    v
                    for v in views
                    if needle in v.session_id
                    or needle in v.business_rationale.upper()
                    or any(needle in s.label for s in v.sources)
                ]
            return sorted(views, key=sort_keys[sort], reverse=descending)

        return self._tx(run)

    def session(self, actor: Actor, pk: int) -> SessionView:
        """A session's Details page (P-027, P-029..P-033)."""

        def run(db: Session, now: int) -> SessionView:
            self._need(actor.can_view(), "view sessions")
            return self._session_view(db, self._dc_session(db, actor, pk), now)

        return self._tx(run)

    def source_choices(self, actor: Actor, environment: str) -> list[SourceView]:
        """The Add Source SenderComps dialog: the company's own iLink 3 sessions in the
        environment, never another company's (P-014, AP-12)."""

        def run(db: Session, now: int) -> list[SourceView]:
            self._need(actor.can_view(), "view sessions")
            company = self._company(db, actor)
            env = repo.check_environment(environment)
            rows = db.scalars(
                select(ILink3Session)
                .where(ILink3Session.company_id == company.id, ILink3Session.environment == env)
                .order_by(ILink3Session.session_id, ILink3Session.firm_id)
            )
            return [_source_view(r) for r in rows]

        return self._tx(run)

    def ilink3_sessions(self, actor: Actor) -> list[SourceView]:
        """The company's iLink 3 sessions in every environment (their keys: AX-02)."""

        def run(db: Session, now: int) -> list[SourceView]:
            self._need(actor.can_view(), "view sessions")
            company = self._company(db, actor)
            rows = db.scalars(
                select(ILink3Session)
                .where(ILink3Session.company_id == company.id)
                .order_by(ILink3Session.environment, ILink3Session.session_id)
            )
            return [_source_view(r) for r in rows]

        return self._tx(run)

    def fee_notice(self, actor: Actor) -> FeeNotice:
        def run(db: Session, now: int) -> FeeNotice:
            self._need(actor.can_view(), "view sessions")
            company = self._company(db, actor)
            groups = int(
                db.scalar(
                    select(func.count())
                    .select_from(DropCopyGroup)
                    .where(DropCopyGroup.company_id == company.id)
                )
                or 0
            )
            return FeeNotice(groups, 0 if groups == 0 else MONTHLY_GROUP_FEE_USD)

        return self._tx(run)

    def view_ips(self, actor: Actor, pk: int) -> dict[str, Any]:
        """ "View IPs" (P-026, AP-11): for an MSGW session the primary and backup address of
        every market segment gateway; for a CGW session the CGW pair."""

        def run(db: Session, now: int) -> dict[str, Any]:
            self._need(actor.can_view(), "view sessions")
            row = self._dc_session(db, actor, pk)
            gw = self.gateways.get(str(row.environment))
            if gw is None:
                return {"session_type": str(row.session_type), "gateways": []}
            if row.session_type is SessionType.CGW:
                entries = [{"segment": "G", "primary": gw.cgw_primary, "backup": gw.cgw_backup}]
            else:
                entries = [
                    {
                        "segment": str(s.segment_id),
                        "name": s.name,
                        "primary": f"{s.primary[0]}:{s.primary[1]}",
                        "backup": f"{s.backup[0]}:{s.backup[1]}" if s.backup else None,
                    }
                    for s in sorted(gw.msgw, key=lambda s: s.segment_id)
                ]
            return {"session_type": str(row.session_type), "gateways": entries}

        return self._tx(run)

    def msgw_config(self, environment: str) -> tuple[str, str]:
        """The Drop Copy 4.0 MSGW configuration file of ``environment`` (D-090): its file name
        and text, as served over SFTP."""
        try:
            env = (
                environment if environment == "Production" else repo.check_environment(environment)
            )
        except store_errors.StoreError as e:
            raise from_store_error(e) from e
        gw = self.gateways.get(str(env))
        segments = gw.msgw if gw is not None else ()
        return msgwconfig.file_name(str(env)), msgwconfig.render(str(env), segments)

    # -- requests (P-006..P-022, P-034..P-040) -------------------------------------------------

    def submit_create(
        self,
        actor: Actor,
        *,
        environment: str,
        session_type: str,
        number_of_sessions: int,
        business_rationale: str,
        source_ids: Sequence[int],
    ) -> RequestView:
        """Create New Session -> Submit (P-006..P-018): a request, In-Progress until the
        daily processing; the notification mail is queued."""

        def run(db: Session, now: int) -> RequestView:
            self._need(actor.can_manage_sessions(), "create Drop Copy sessions")
            company = self._company(db, actor)
            env = repo.check_environment(environment)
            kind = _session_type(session_type)
            if number_of_sessions not in (1, 2):
                raise Invalid("Number of Sessions must be 1 or 2.")
            rationale = business_rationale.strip()
            if not rationale:
                raise Invalid("Business Rationale/Background is required.")
            if len(rationale) > 2000:
                raise Invalid("Business Rationale/Background is at most 2000 characters.")
            if not has_firm_id(db, company, env):
                raise Invalid(FIRM_ID_REQUIRED)
            sources = self._own_sources(db, company, env, source_ids)
            if not sources:
                raise Invalid("Add at least one source SenderComp (Add Source SenderComps).")
            limit = repo.MAX_SOURCES[kind]
            if len(sources) > limit:
                raise Invalid(f"A {kind} target session holds at most {limit} source SenderComps.")
            user = db.get(User, actor.user_id)
            assert user is not None
            payload: dict[str, Any] = {
                "session_type": str(kind),
                "number_of_sessions": number_of_sessions,
                "business_rationale": rationale,
                "sources": [s.id for s in sources],
                "source_labels": [s.label for s in sources],
            }
            req = repo.submit_request(
                db, company, user, RequestKind.CREATE_SESSION, env, payload, now=now
            )
            repo.record_audit(
                db,
                "request.submitted",
                now=now,
                company=company,
                user=user,
                subject=f"request #{req.id}",
                detail={"kind": str(req.kind), "environment": str(env)},
            )
            self._notify(
                db,
                user.id,
                f"Request #{req.id} submitted: new Drop Copy session",
                _mail(
                    user,
                    f"Your request #{req.id} for {number_of_sessions} new "
                    f"{SESSION_TYPE_LABELS[kind]} Drop Copy session(s) in {env} for "
                    f"{company.name} was submitted on {chicago_time(now)}.\n"
                    f"Source SenderComps: {', '.join(s.label for s in sources)}.\n"
                    "It is In-Progress until the daily processing that begins at 4pm CT.",
                ),
                now,
                req,
            )
            return _request_view(req)

        return self._tx(run)

    def submit_sources(
        self, actor: Actor, pk: int, *, add: Sequence[int] = (), remove: Sequence[int] = ()
    ) -> RequestView:
        """Manage Source SenderComps -> Submit (P-033..P-039)."""

        def run(db: Session, now: int) -> RequestView:
            self._need(actor.can_manage_sessions(), "edit Drop Copy sessions")
            company = self._company(db, actor)
            row = self._dc_session(db, actor, pk)
            adding = self._own_sources(db, company, row.environment, add)
            attached = {s.ilink3_session_id for s in row.sources}
            removing = list(dict.fromkeys(remove))
            for sid in removing:
                if sid not in attached:
                    raise Invalid(f"Source #{sid} is not attached to {row.session_id}.")
            for s in adding:
                if s.id in attached:
                    raise Invalid(f"Source {s.label} is already attached to {row.session_id}.")
            if set(removing) & {s.id for s in adding}:
                raise Invalid("A source cannot be added and removed in one request.")
            if not adding and not removing:
                raise Invalid("Add or remove at least one source SenderComp.")
            user = db.get(User, actor.user_id)
            assert user is not None
            labels = {s.ilink3_session_id: s.ilink3_session.label for s in row.sources}
            payload: dict[str, Any] = {
                "add": [s.id for s in adding],
                "remove": removing,
                "add_labels": [s.label for s in adding],
                "remove_labels": [labels[i] for i in removing],
            }
            req = repo.submit_request(
                db,
                company,
                user,
                RequestKind.MANAGE_SOURCES,
                row.environment,
                payload,
                now=now,
                dc_session=row,
            )
            repo.record_audit(
                db,
                "request.submitted",
                now=now,
                company=company,
                user=user,
                subject=f"request #{req.id}",
                detail={"kind": str(req.kind), "session_id": row.session_id},
            )
            left = len(attached) - len(removing) + len(adding)
            warning = (
                "\nAfter this change the session has no source SenderComp and receives nothing."
                if left == 0
                else ""
            )
            self._notify(
                db,
                user.id,
                f"Request #{req.id} submitted: source SenderComps of {row.session_id}",
                _mail(
                    user,
                    f"Your request #{req.id} to change the source SenderComps of Drop Copy "
                    f"session {row.session_id} ({row.environment}) was submitted on "
                    f"{chicago_time(now)}.\n"
                    f"Add: {', '.join(payload['add_labels']) or '-'}; "
                    f"remove: {', '.join(payload['remove_labels']) or '-'}.{warning}\n"
                    "It is In-Progress until the daily processing that begins at 4pm CT.",
                ),
                now,
                req,
            )
            return _request_view(req)

        return self._tx(run)

    @staticmethod
    def _own_sources(
        db: Session, company: Company, env: Environment, ids: Iterable[int]
    ) -> list[ILink3Session]:
        out = []
        for sid in dict.fromkeys(ids):
            row = db.get(ILink3Session, sid)
            if row is None or row.company_id != company.id:
                raise NotFound(f"No source SenderComp #{sid} in your company.")
            if row.environment != env:
                raise Invalid(f"Source SenderComp {row.label} is in {row.environment}, not {env}.")
            out.append(row)
        return out

    def requests(self, actor: Actor) -> list[RequestView]:
        """My Requests (P-018, P-021): the company's requests, newest first."""

        def run(db: Session, now: int) -> list[RequestView]:
            self._need(actor.can_view(), "view requests")
            company = self._company(db, actor)
            rows = db.scalars(
                select(Request)
                .where(Request.company_id == company.id)
                .order_by(Request.created_at.desc(), Request.id.desc())
            )
            return [_request_view(r) for r in rows]

        return self._tx(run)

    def request(self, actor: Actor, request_id: int) -> RequestView:
        def run(db: Session, now: int) -> RequestView:
            self._need(actor.can_view(), "view requests")
            row = db.get(Request, request_id)
            if row is None or row.company_id != actor.company_id:
                raise NotFound(f"No request #{request_id}.")
            return _request_view(row)

        return self._tx(run)

    # -- keys (P-041..P-063) -----------------------------------------------------------------

    def key_overview(self, actor: Actor, refs: Sequence[OwnerRef]) -> list[OwnerKeys]:
        """Manage Keys for Selected Session(s): each session's usable pairs (P-043)."""
        if not refs:
            raise Invalid("Select at least one session.")

        def run(db: Session, now: int) -> list[OwnerKeys]:
            self._need(actor.can_manage_keys(), "manage keys")
            return [self._owner_keys(db, actor, r, now) for r in dict.fromkeys(refs)]

        return self._tx(run)

    def _owner_keys(self, db: Session, actor: Actor, ref: OwnerRef, now: int) -> OwnerKeys:
        owner = self._owner(db, actor, ref)
        return OwnerKeys(
            ref,
            owner.session_id if isinstance(owner, DropCopySession) else owner.label,
            str(owner.environment),
            tuple(_key_view(k) for k in keys.usable_key_pairs(db, owner, now)),
        )

    def generate_keys(
        self,
        actor: Actor,
        refs: Sequence[OwnerRef],
        *,
        delete: Mapping[OwnerRef, Sequence[str]] | None = None,
    ) -> list[GeneratedKey]:
        """Generate Key(s) (P-041..P-048): one new pair per selected session, all or none.
        A session holding two pairs needs one named in ``delete`` (P-042) -- otherwise
        :class:`KeyChoiceNeeded` lists them and nothing changes."""
        if not refs:
            raise Invalid("Select at least one session.")
        chosen = {r: list(v) for r, v in (delete or {}).items()}

        def run(db: Session, now: int) -> list[GeneratedKey]:
            self._need(actor.can_manage_keys(), "manage keys")
            user = db.get(User, actor.user_id)
            assert user is not None
            owners = [(r, self._owner(db, actor, r)) for r in dict.fromkeys(refs)]
            stray = set(chosen) - {r for r, _ in owners}
            if stray:
                raise Invalid("Keys to delete must belong to the selected sessions.")
            needs: dict[str, tuple[str, ...]] = {}
            for r, owner in owners:
                usable = keys.usable_key_pairs(db, owner, now)
                unknown = set(chosen.get(r, [])) - {k.access_key_id for k in usable}
                if unknown:
                    raise NotFound(
                        f"{', '.join(sorted(unknown))}: not a usable key of {_owner_label(owner)}."
                    )
                remaining = [k for k in usable if k.access_key_id not in chosen.get(r, [])]
                if len(remaining) >= keys.MAX_USABLE_PAIRS:
                    needs[str(r)] = tuple(k.access_key_id for k in usable)
            if needs:
                raise KeyChoiceNeeded(
                    "Select a key to be deleted immediately for: "
                    + ", ".join(needs)
                    + " (Delete Selected Key(s) and Proceed).",
                    needs,
                )
            made = []
            for r, owner in owners:
                g = keys.generate_key_pair(
                    db,
                    owner,
                    now=now,
                    market_close_after=self._close_after,
                    delete=chosen.get(r, ()),
                    user=user,
                )
                made.append(
                    GeneratedKey(
                        r,
                        _owner_label(owner),
                        g.access_key_id,
                        g.key_pair.expires_at,
                        g.deleted,
                        g.expiring,
                    )
                )
            lines = []
            for m in made:
                line = f"{m.session_id}: new key {m.access_key_id}"
                if m.expiring:
                    line += f"; {', '.join(m.expiring)} to be expired in 4 weeks"
                if m.deleted:
                    line += f"; {', '.join(m.deleted)} deleted immediately"
                lines.append(line)
            self._notify(
                db,
                user.id,
                "Secure keys generated",
                _mail(
                    user,
                    f"On {chicago_time(now)} new secure key pairs were generated:\n"
                    + "\n".join(lines)
                    + "\nDownload them from Manage Keys with a security code.",
                ),
                now,
                None,
            )
            return made

        return self._tx(run)

    def delete_keys(self, actor: Actor, choice: Mapping[OwnerRef, Sequence[str]]) -> list[str]:
        """Delete Key(s), confirmed (P-054..P-058): the named pairs go at once. A session with
        one pair may name none (that pair goes); with several the user picks (P-055)."""
        if not choice:
            raise Invalid("Select at least one session.")

        def run(db: Session, now: int) -> list[str]:
            self._need(actor.can_manage_keys(), "manage keys")
            user = db.get(User, actor.user_id)
            assert user is not None
            gone: list[str] = []
            for ref, names in choice.items():
                owner = self._owner(db, actor, ref)
                listed = keys.key_pairs(db, owner)
                wanted = list(names)
                if not wanted:
                    if len(listed) == 1:
                        wanted = [listed[0].access_key_id]
                    elif not listed:
                        raise Invalid(f"{_owner_label(owner)} has no keys.")
                    else:
                        raise Invalid(
                            f"{_owner_label(owner)} has {len(listed)} keys: select the key(s) "
                            "to delete."
                        )
                for k in keys.delete_key_pairs(db, owner, wanted, now=now, user=user):
                    gone.append(k.access_key_id)
            self._notify(
                db,
                user.id,
                "Secure keys deleted",
                _mail(
                    user,
                    f"On {chicago_time(now)} these secure keys were deleted: {', '.join(gone)}.\n"
                    "They can no longer be used to log on.",
                ),
                now,
                None,
            )
            return gone

        return self._tx(run)

    def download_code(self, actor: Actor) -> CodeToSend | None:
        """Download All Key(s) asks for a security code (P-049, P-061); "Resend Code" asks
        again and revokes the previous one (P-050, P-062). ``None``: the user's codes come
        from an authenticator app."""

        def run(db: Session, now: int) -> CodeToSend | None:
            self._need(actor.can_manage_keys(), "manage keys")
            user = db.get(User, actor.user_id)
            assert user is not None
            if user.two_factor_method is TwoFactorMethod.AUTHENTICATOR:
                return None
            code = auth.issue_code(db, user, SecurityCodePurpose.DOWNLOAD, now, self.settings)
            if code is None:
                raise RateLimited("At most 10 security codes a day: try again tomorrow.")
            repo.record_audit(db, "code.sent", now=now, user=user, subject="download")
            return code

        return self._tx(run)

    def download_keys(self, actor: Actor, refs: Sequence[OwnerRef], code: str) -> tuple[str, str]:
        """Download All Key(s) with the security code (P-049..P-052, P-060..P-063): the file
        name and CME's key file of the selected sessions' usable pairs (AP-07)."""
        if not refs:
            raise Invalid("Select at least one session.")

        def run(db: Session, now: int) -> tuple[str, str]:
            self._need(actor.can_manage_keys(), "manage keys")
            user = db.get(User, actor.user_id)
            assert user is not None
            owners = [self._owner(db, actor, r) for r in dict.fromkeys(refs)]
            why = self._check_code(db, user, SecurityCodePurpose.DOWNLOAD, code, now)
            if why is not None:
                repo.record_audit(db, "keys.download_refused", now=now, user=user)
                raise _Refusal(Forbidden(why))
            text = keys.key_file(db, owners, now=now)
            labels = [_owner_label(o) for o in owners]
            company = self._company(db, actor)
            repo.record_audit(
                db,
                "keys.downloaded",
                now=now,
                company=company,
                user=user,
                subject=", ".join(labels),
            )
            self._notify(
                db,
                user.id,
                "Secure keys downloaded",
                _mail(
                    user, f"On {chicago_time(now)} you downloaded the keys of {', '.join(labels)}."
                ),
                now,
                None,
            )
            stamp = datetime.fromtimestamp(now // NS, CHICAGO).strftime("%Y%m%d-%H%M%S")
            return f"keys-{stamp}.txt", text

        return self._tx(run)

    # -- the daily processing (P-019, AP-03) --------------------------------------------------

    def run_batch(self, cutoff: int | None = None) -> dict[str, Any]:
        """Process the requests submitted before ``cutoff`` (default: now, an operator's "run
        now"). The scheduler passes each day's 16:00 CT."""
        from .batch import process_requests

        def run(db: Session, now: int) -> dict[str, Any]:
            report = process_requests(db, now if cutoff is None else cutoff, now)
            return report.as_dict()

        return self._tx(run)

    def run_batch_at(self, cutoff: int) -> None:
        """The scheduler's call at each day's 16:00 CT (the cut-off)."""
        self.run_batch(cutoff)

    def last_batch_cutoff(self) -> int | None:
        from .batch import last_cutoff

        return self._tx(lambda db, now: last_cutoff(db))

    # -- audit --------------------------------------------------------------------------------

    def audit(self, actor: Actor, limit: int = 200) -> list[dict[str, Any]]:
        """The company's audit trail (administrators)."""

        def run(db: Session, now: int) -> list[dict[str, Any]]:
            self._need(actor.operator or "administrator" in actor.roles, "read the audit log")
            company = self._company(db, actor)
            rows = db.scalars(
                select(AuditEvent)
                .where(AuditEvent.company_id == company.id)
                .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                .limit(limit)
            )
            return [
                {
                    "at": r.at,
                    "action": r.action,
                    "subject": r.subject,
                    "user_id": r.user_id,
                    "detail": r.detail,
                }
                for r in rows
            ]

        return self._tx(run)


class _Refusal(Exception):
    """Raised inside a transaction to commit what was recorded, then answer ``error``."""

    def __init__(self, error: PortalError) -> None:
        super().__init__(error.message)
        self.error = error


def _session_type(value: str) -> SessionType:
    """``CGW``/``MSGW`` or the seed's labels (P-011)."""
    for kind, label in SESSION_TYPE_LABELS.items():
        if value in (kind.value, label):
            return kind
    raise Invalid(
        "Session Type must be Convenience Gateway or Market Segment Gateway (iLink 3), "
        f"not {value!r}."
    )


def has_firm_id(db: Session, company: Company, env: Environment) -> bool:
    return bool(
        db.scalar(
            select(func.count())
            .select_from(GlobexFirmId)
            .where(GlobexFirmId.company_id == company.id, GlobexFirmId.environment == env)
        )
    )


def _source_view(row: ILink3Session) -> SourceView:
    return SourceView(row.id, row.session_id, row.firm_id, str(row.environment))


def _key_view(k: KeyPair) -> KeyView:
    return KeyView(k.access_key_id, k.created_at, k.expires_at, k.superseded_at is not None)


def _owner_label(owner: DropCopySession | ILink3Session) -> str:
    return owner.session_id if isinstance(owner, DropCopySession) else owner.label


def _request_view(r: Request) -> RequestView:
    p = r.payload
    if r.kind is RequestKind.CREATE_SESSION:
        kind = SessionType(p["session_type"])
        summary = (
            f"Create {p['number_of_sessions']} {SESSION_TYPE_LABELS[kind]} session(s); sources "
            f"{', '.join(p.get('source_labels', []))}"
        )
    else:
        summary = (
            f"Sources of {r.dc_session.session_id if r.dc_session else '?'}: add "
            f"{', '.join(p.get('add_labels', [])) or '-'}; remove "
            f"{', '.join(p.get('remove_labels', [])) or '-'}"
        )
    return RequestView(
        id=r.id,
        kind=str(r.kind),
        environment=str(r.environment),
        status=str(r.status),
        reason=r.reason,
        created_at=r.created_at,
        processed_at=r.processed_at,
        submitted_by=r.user.email,
        dc_session_id=r.dc_session.session_id if r.dc_session else None,
        summary=summary,
        payload=dict(p),
        result=dict(r.result) if r.result else None,
    )


def _mail(user: User, text: str) -> str:
    return (
        f"Hello {user.display_name},\n\n{text}\n\n"
        "This is an automatic notification from Request Center. It never contains secret keys "
        "or security codes.\n"
    )
