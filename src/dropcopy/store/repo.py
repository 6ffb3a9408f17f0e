"""Repositories: create and find companies, firm IDs, users, roles, sessions, sources, requests.

Plain functions taking a :class:`~sqlalchemy.orm.Session` (the caller owns the transaction:
nothing here commits) and, where something is recorded, ``now`` (ns since the epoch). Values
are checked before anything is written; a duplicate raises
:class:`~dropcopy.store.errors.AlreadyExists` naming what exists -- found by a query first, so
the transaction stays usable, or, if a concurrent writer won the race, by the database's unique
constraint at flush (the transaction must then be rolled back).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .database import secret_box
from .errors import AlreadyExists, InvalidValue, LimitExceeded, NotFound
from .models import (
    AuditEvent,
    Base,
    Company,
    DropCopyGroup,
    DropCopySession,
    DropCopySource,
    Environment,
    GlobexFirmId,
    ILink3Session,
    Membership,
    MessageTypes,
    Notification,
    Request,
    RequestKind,
    RequestStatus,
    Role,
    SessionType,
    TwoFactorMethod,
    User,
)
from .passwords import hash_password, needs_rehash, verify_password_hash

__all__ = [
    "MAX_SOURCES",
    "add_globex_firm_id",
    "add_membership",
    "add_source",
    "check_dc_session_id",
    "check_environment",
    "check_firm_id",
    "check_ilink3_session_id",
    "companies_of",
    "complete_request",
    "create_company",
    "create_dc_group",
    "create_dc_session",
    "create_ilink3_session",
    "create_user",
    "fail_request",
    "find_company",
    "find_dc_session",
    "find_ilink3_session",
    "find_user",
    "free_dc_session_id",
    "pending_requests",
    "queue_notification",
    "record_audit",
    "remove_source",
    "roles_of",
    "set_password",
    "set_totp_secret",
    "submit_request",
    "totp_secret",
    "verify_password",
]

#: Sources per target session: up to 1000 on a CGW target, 5000 on an MSGW target
#: (dropcopy-wire-notes.md §0, Customer Center "Drop Copy Groups").
MAX_SOURCES = {SessionType.CGW: 1000, SessionType.MSGW: 5000}

_ILINK3_SESSION_ID = re.compile(r"[A-Z0-9]{3}")  # iLink 3 Session: String3Req (AX-05)
_FIRM_ID = re.compile(r"[A-Z0-9]{1,5}")  # iLink 3 Firm: String5Req, e.g. "007"
_DC_SESSION_ID = re.compile(r"[A-Z0-9]{6}")  # D-079, AD-17: 49 = these 6 + FTI "N"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

_T = TypeVar("_T", bound=Base)


# -- values -----------------------------------------------------------------------------------


def check_environment(value: Environment | str) -> Environment:
    """``CERT`` or ``NEWRELEASE``, exactly (P-009, AP-09)."""
    try:
        return Environment(value)
    except ValueError:
        allowed = " or ".join(e.value for e in Environment)
        raise InvalidValue(f"environment must be {allowed}, not {value!r}") from None


def check_ilink3_session_id(value: str) -> str:
    if not _ILINK3_SESSION_ID.fullmatch(value):
        raise InvalidValue(f"an iLink 3 Session ID is 3 characters A-Z 0-9, not {value!r}")
    return value


def check_firm_id(value: str) -> str:
    if not _FIRM_ID.fullmatch(value):
        raise InvalidValue(f"a Globex Firm ID is 1 to 5 characters A-Z 0-9, not {value!r}")
    return value


def check_dc_session_id(value: str) -> str:
    if not _DC_SESSION_ID.fullmatch(value):
        raise InvalidValue(
            f"a Drop Copy Session ID is 6 characters A-Z 0-9 (SenderCompID without its "
            f"fault tolerance indicator), not {value!r}"
        )
    return value


def _check_text(what: str, value: str, max_length: int) -> str:
    value = value.strip()
    if not value or len(value) > max_length:
        raise InvalidValue(f"{what} must be 1 to {max_length} characters")
    return value


def _normalize_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 320 or not _EMAIL.fullmatch(email):
        raise InvalidValue(f"{email!r} is not an email address")
    return email


def _insert(db: Session, obj: _T, what: str) -> _T:
    db.add(obj)
    try:
        db.flush()
    except IntegrityError as e:  # lost a race with another writer (the checks came first)
        raise AlreadyExists(f"{what} already exists (the transaction must be rolled back)") from e
    return obj


# -- companies, firm IDs ----------------------------------------------------------------------


def create_company(db: Session, name: str, *, now: int) -> Company:
    name = _check_text("a company name", name, 200)
    if find_company(db, name) is not None:
        raise AlreadyExists(f"company {name!r} already exists")
    return _insert(db, Company(name=name, created_at=now), f"company {name!r}")


def find_company(db: Session, name: str) -> Company | None:
    return db.scalar(select(Company).where(Company.name == name.strip()))


def add_globex_firm_id(
    db: Session, company: Company, firm_id: str, environment: Environment | str, *, now: int
) -> GlobexFirmId:
    """Give ``company`` the Globex Firm ID ``firm_id`` in ``environment`` (P-007). A firm ID
    has one owner per environment."""
    env = check_environment(environment)
    check_firm_id(firm_id)
    owner = db.scalar(
        select(GlobexFirmId).where(GlobexFirmId.environment == env, GlobexFirmId.firm_id == firm_id)
    )
    if owner is not None:
        raise AlreadyExists(
            f"Globex Firm ID {firm_id} already exists in {env} (company #{owner.company_id})"
        )
    row = GlobexFirmId(company=company, environment=env, firm_id=firm_id, created_at=now)
    return _insert(db, row, f"Globex Firm ID {firm_id} in {env}")


# -- users, roles ------------------------------------------------------------------------------


def create_user(
    db: Session,
    email: str,
    display_name: str,
    password: str,
    *,
    now: int,
    operator: bool = False,
    two_factor_method: TwoFactorMethod = TwoFactorMethod.EMAIL,
) -> User:
    """A new active user. The email is the login (stored lower-cased, unique); the password is
    kept only as an argon2id hash."""
    email = _normalize_email(email)
    if find_user(db, email) is not None:
        raise AlreadyExists(f"a user with email {email} already exists")
    user = User(
        email=email,
        display_name=_check_text("a display name", display_name, 200),
        password_hash=hash_password(password),
        two_factor_method=TwoFactorMethod(two_factor_method),
        operator=operator,
        active=True,
        created_at=now,
    )
    return _insert(db, user, f"user {email}")


def find_user(db: Session, email: str) -> User | None:
    return db.scalar(select(User).where(User.email == email.strip().lower()))


def set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)


def verify_password(user: User, password: str) -> bool:
    """Whether ``password`` is the user's (an inactive user never matches). A hash made with
    older parameters is replaced by a fresh one on success."""
    if not user.active or not verify_password_hash(user.password_hash, password):
        return False
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return True


def _totp_context(user: User) -> bytes:
    return f"users.totp:{user.id}".encode()


def set_totp_secret(db: Session, user: User, secret: bytes | None) -> None:
    """Store (encrypted) or clear the user's authenticator (TOTP) seed."""
    if secret is None:
        user.totp_secret_ciphertext = None
        return
    if user.id is None:
        db.flush()  # the ciphertext is bound to the user's id
    user.totp_secret_ciphertext = secret_box(db).encrypt(secret, _totp_context(user))


def totp_secret(db: Session, user: User) -> bytes | None:
    if user.totp_secret_ciphertext is None:
        return None
    return secret_box(db).decrypt(user.totp_secret_ciphertext, _totp_context(user))


def add_membership(
    db: Session, user: User, company: Company, role: Role | str, *, now: int
) -> Membership:
    """Give ``user`` the role ``role`` in ``company`` (AP-10; a user may hold several roles and
    belong to several companies, P-008)."""
    try:
        r = Role(role)
    except ValueError:
        raise InvalidValue(
            f"role must be one of {', '.join(x.value for x in Role)}, not {role!r}"
        ) from None
    exists = db.scalar(
        select(Membership).where(
            Membership.user_id == user.id,
            Membership.company_id == company.id,
            Membership.role == r,
        )
    )
    if exists is not None:
        raise AlreadyExists(f"{user.email} is already {r} of {company.name}")
    m = Membership(user=user, company=company, role=r, created_at=now)
    return _insert(db, m, f"membership {user.email} {r} of {company.name}")


def roles_of(db: Session, user: User, company: Company) -> set[Role]:
    rows = db.scalars(
        select(Membership.role).where(
            Membership.user_id == user.id, Membership.company_id == company.id
        )
    )
    return set(rows)


def companies_of(db: Session, user: User) -> list[Company]:
    """The companies ``user`` belongs to, by name (for the Company drop-down, P-008, P-025)."""
    return list(
        db.scalars(
            select(Company)
            .join(Membership)
            .where(Membership.user_id == user.id)
            .distinct()
            .order_by(Company.name)
        )
    )


# -- iLink 3 sessions ---------------------------------------------------------------------------


def create_ilink3_session(
    db: Session,
    company: Company,
    environment: Environment | str,
    session_id: str,
    firm_id: str,
    *,
    now: int,
) -> ILink3Session:
    """An iLink 3 session (source SenderComp) ``session_id``/``firm_id``; the firm must be one
    of the company's Globex Firm IDs in that environment."""
    env = check_environment(environment)
    check_ilink3_session_id(session_id)
    check_firm_id(firm_id)
    firm = db.scalar(
        select(GlobexFirmId).where(GlobexFirmId.environment == env, GlobexFirmId.firm_id == firm_id)
    )
    if firm is None or firm.company_id != company.id:
        raise NotFound(f"{company.name} has no Globex Firm ID {firm_id} in {env}")
    if find_ilink3_session(db, env, session_id, firm_id) is not None:
        raise AlreadyExists(f"iLink 3 session {session_id}/{firm_id} already exists in {env}")
    row = ILink3Session(
        company=company, environment=env, session_id=session_id, firm_id=firm_id, created_at=now
    )
    return _insert(db, row, f"iLink 3 session {session_id}/{firm_id} in {env}")


def find_ilink3_session(
    db: Session, environment: Environment | str, session_id: str, firm_id: str
) -> ILink3Session | None:
    return db.scalar(
        select(ILink3Session).where(
            ILink3Session.environment == check_environment(environment),
            ILink3Session.session_id == session_id,
            ILink3Session.firm_id == firm_id,
        )
    )


# -- Drop Copy sessions and sources -------------------------------------------------------------


def create_dc_group(
    db: Session, company: Company, environment: Environment | str, *, now: int
) -> DropCopyGroup:
    """A Drop Copy 4.0 group: the target sessions one request creates (AD-18)."""
    env = check_environment(environment)
    return _insert(db, DropCopyGroup(company=company, environment=env, created_at=now), "group")


def free_dc_session_id(db: Session, environment: Environment | str) -> str:
    """A random 6-character Session ID not used in ``environment`` (CME assigns them)."""
    env = check_environment(environment)
    while True:
        candidate = "".join(secrets.choice(_ID_ALPHABET) for _ in range(6))
        if find_dc_session(db, env, candidate) is None:
            return candidate


def create_dc_session(
    db: Session,
    company: Company,
    environment: Environment | str,
    session_type: SessionType | str,
    *,
    now: int,
    session_id: str | None = None,
    business_rationale: str = "",
    message_types: MessageTypes | str = MessageTypes.ALL,
    group: DropCopyGroup | None = None,
    sources: Iterable[ILink3Session] = (),
) -> DropCopySession:
    """A Drop Copy target session (P-006..P-022): ``session_id`` is assigned when not given;
    without ``group`` a new one-session group is made (AD-18). The company needs a Globex Firm
    ID in the environment (P-007)."""
    env = check_environment(environment)
    try:
        kind = SessionType(session_type)
    except ValueError:
        raise InvalidValue(f"session type must be CGW or MSGW, not {session_type!r}") from None
    try:
        types = MessageTypes(message_types)
    except ValueError:
        allowed = ", ".join(m.value for m in MessageTypes)
        raise InvalidValue(f"message types must be one of {allowed}") from None
    has_firm = db.scalar(
        select(func.count())
        .select_from(GlobexFirmId)
        .where(GlobexFirmId.company_id == company.id, GlobexFirmId.environment == env)
    )
    if not has_firm:
        raise NotFound(f"{company.name} has no Globex Firm ID in {env} (P-007)")
    if session_id is None:
        session_id = free_dc_session_id(db, env)
    check_dc_session_id(session_id)
    if find_dc_session(db, env, session_id) is not None:
        raise AlreadyExists(f"Drop Copy session {session_id} already exists in {env}")
    if group is None:
        group = create_dc_group(db, company, env, now=now)
    elif group.company_id != company.id or group.environment != env:
        raise InvalidValue("the group belongs to another company or environment")
    session = DropCopySession(
        company=company,
        group=group,
        environment=env,
        session_type=kind,
        session_id=session_id,
        business_rationale=business_rationale,
        message_types=types,
        created_at=now,
    )
    _insert(db, session, f"Drop Copy session {session_id} in {env}")
    for source in sources:
        add_source(db, session, source, now=now)
    return session


def find_dc_session(
    db: Session, environment: Environment | str, session_id: str
) -> DropCopySession | None:
    return db.scalar(
        select(DropCopySession).where(
            DropCopySession.environment == check_environment(environment),
            DropCopySession.session_id == session_id,
        )
    )


def add_source(
    db: Session,
    dc_session: DropCopySession,
    source: ILink3Session,
    *,
    now: int,
    any_company: bool = False,
) -> DropCopySource:
    """Attach the iLink 3 session ``source`` to ``dc_session`` (P-003, P-034). The source must
    be in the same environment and -- unless an operator says ``any_company`` -- belong to the
    same company (AP-04); it may not be attached twice; a target holds at most
    :data:`MAX_SOURCES` sources."""
    if source.environment != dc_session.environment:
        raise InvalidValue(
            f"source {source.label} is in {source.environment}, the session in "
            f"{dc_session.environment}"
        )
    if not any_company and source.company_id != dc_session.company_id:
        raise InvalidValue(f"source {source.label} belongs to another company")
    attached = db.scalar(
        select(DropCopySource).where(
            DropCopySource.dc_session_id == dc_session.id,
            DropCopySource.ilink3_session_id == source.id,
        )
    )
    if attached is not None:
        raise AlreadyExists(f"source {source.label} is already attached to {dc_session.session_id}")
    count = db.scalar(
        select(func.count())
        .select_from(DropCopySource)
        .where(DropCopySource.dc_session_id == dc_session.id)
    )
    limit = MAX_SOURCES[dc_session.session_type]
    if (count or 0) >= limit:
        raise LimitExceeded(
            f"a {dc_session.session_type} target session holds at most {limit} sources"
        )
    link = DropCopySource(dc_session=dc_session, ilink3_session=source, created_at=now)
    return _insert(db, link, f"source {source.label} of {dc_session.session_id}")


def remove_source(db: Session, dc_session: DropCopySession, source: ILink3Session) -> None:
    """Detach ``source`` (P-035); the last source may go (AP-12)."""
    link = db.scalar(
        select(DropCopySource).where(
            DropCopySource.dc_session_id == dc_session.id,
            DropCopySource.ilink3_session_id == source.id,
        )
    )
    if link is None:
        raise NotFound(f"source {source.label} is not attached to {dc_session.session_id}")
    dc_session.sources.remove(link)  # delete-orphan: the link row goes
    db.flush()


# -- requests -----------------------------------------------------------------------------------


def submit_request(
    db: Session,
    company: Company,
    user: User,
    kind: RequestKind | str,
    environment: Environment | str,
    payload: dict[str, Any],
    *,
    now: int,
    dc_session: DropCopySession | None = None,
) -> Request:
    """A new My Requests entry, In-Progress until the daily batch (P-015, P-018)."""
    try:
        k = RequestKind(kind)
    except ValueError:
        raise InvalidValue(f"unknown request kind {kind!r}") from None
    env = check_environment(environment)
    if (k is RequestKind.MANAGE_SOURCES) != (dc_session is not None):
        raise InvalidValue("a manage_sources request, and only it, names its Drop Copy session")
    if dc_session is not None and (
        dc_session.company_id != company.id or dc_session.environment != env
    ):
        raise InvalidValue("the Drop Copy session belongs to another company or environment")
    req = Request(
        company=company,
        user=user,
        kind=k,
        environment=env,
        dc_session=dc_session,
        payload=payload,
        status=RequestStatus.IN_PROGRESS,
        created_at=now,
    )
    return _insert(db, req, "request")


def pending_requests(db: Session, *, submitted_before: int) -> list[Request]:
    """In-Progress requests submitted before ``submitted_before`` (the batch's start, AP-03),
    oldest first."""
    return list(
        db.scalars(
            select(Request)
            .where(
                Request.status == RequestStatus.IN_PROGRESS,
                Request.created_at < submitted_before,
            )
            .order_by(Request.created_at, Request.id)
        )
    )


def _finish(req: Request, status: RequestStatus, now: int) -> None:
    if req.status is not RequestStatus.IN_PROGRESS:
        raise InvalidValue(f"request #{req.id} is already {req.status}")
    req.status = status
    req.processed_at = now


def complete_request(
    db: Session, req: Request, *, now: int, result: dict[str, Any] | None = None
) -> None:
    """Mark ``req`` Completed (P-020, P-022)."""
    _finish(req, RequestStatus.COMPLETED, now)
    req.result = result
    db.flush()


def fail_request(db: Session, req: Request, reason: str, *, now: int) -> None:
    """Mark ``req`` Failed with a readable reason for My Requests (P-021, P-039, AP-04)."""
    if not reason.strip():
        raise InvalidValue("a Failed request needs a reason (P-021)")
    _finish(req, RequestStatus.FAILED, now)
    req.reason = reason.strip()
    db.flush()


# -- audit and notifications --------------------------------------------------------------------


def record_audit(
    db: Session,
    action: str,
    *,
    now: int,
    company: Company | None = None,
    user: User | None = None,
    subject: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append to the audit trail. Never pass secrets or security codes in ``detail``."""
    event = AuditEvent(
        at=now,
        company_id=company.id if company is not None else None,
        user_id=user.id if user is not None else None,
        action=action,
        subject=subject,
        detail=detail or {},
    )
    db.add(event)
    return event


def queue_notification(
    db: Session,
    user: User,
    subject: str,
    body: str,
    *,
    now: int,
    request: Request | None = None,
) -> Notification:
    """Queue one email to ``user``'s registered address (AP-13: never secrets or codes)."""
    note = Notification(
        user_id=user.id,
        request_id=request.id if request is not None else None,
        to_address=user.email,
        subject=subject,
        body=body,
        created_at=now,
        attempts=0,
    )
    db.add(note)
    return note
