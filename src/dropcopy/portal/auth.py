"""Signing in: passwords, the second factor, security codes, portal sessions, rate limits.

* **Second factor** (I-031): a sign-in is complete only after a security code -- emailed to the
  user's registered address, or the current code of the user's authenticator app (TOTP).
* **Security codes** (AP-06, notes §4): 6 digits, valid 10 minutes, single use, 5 attempts;
  "Resend Code" revokes the previous one; at most 10 codes a day per user (Chicago calendar day)
  for sign-in and download together. Only a salted hash is stored; codes are never logged and
  never put in a notification mail (AP-13).
* **Rate limits**: 5 failed passwords for an email within 15 minutes lock that email's sign-in
  until the window passes; failed authenticator codes count the same way.
* **Sessions**: a random 32-byte token (the cookie or the bearer token); the store keeps its
  SHA-256. Web sessions last 8 hours, API sessions 24 hours; sign-out revokes.

These functions take the SQLAlchemy session and ``now``; they never commit (the caller does,
also when a failure was recorded, so that failures count).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, time

import pyotp
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from dropcopy.store import (
    AuditEvent,
    Company,
    PortalSession,
    Role,
    SecurityCode,
    SecurityCodePurpose,
    TwoFactorMethod,
    User,
    repo,
)
from dropcopy.venue.calendar import CHICAGO

__all__ = [
    "Actor",
    "AuthSettings",
    "CodeToSend",
    "check_code",
    "hash_token",
    "issue_code",
    "new_session",
    "session_for_token",
]

NS = 1_000_000_000
MINUTE = 60 * NS
HOUR = 60 * MINUTE


@dataclass(frozen=True, slots=True)
class AuthSettings:
    web_session_ttl: int = 8 * HOUR
    api_session_ttl: int = 24 * HOUR
    #: Time to enter the second factor after the password.
    pending_ttl: int = 10 * MINUTE
    code_ttl: int = 10 * MINUTE
    code_attempts: int = 5
    codes_per_day: int = 10  # notes §4: "2FA tokens: at most 10 per day"
    login_failures: int = 5
    login_window: int = 15 * MINUTE


@dataclass(frozen=True, slots=True)
class CodeToSend:
    """A security code to deliver now, through its own channel (never the outbox)."""

    to: str
    purpose: SecurityCodePurpose
    code: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting, for which company, with which roles there (AP-10)."""

    user_id: int
    email: str
    display_name: str
    company_id: int | None
    company_name: str | None
    roles: frozenset[Role]
    operator: bool
    session_id: int
    csrf_token: str = field(repr=False)

    def can_view(self) -> bool:
        return self.operator or bool(self.roles)

    def can_manage_sessions(self) -> bool:
        return self.operator or bool(self.roles & {Role.ADMINISTRATOR, Role.SESSION_MANAGER})

    def can_manage_keys(self) -> bool:
        return self.operator or bool(self.roles & {Role.ADMINISTRATOR, Role.KEY_MANAGEMENT})


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _hash_code(code: str, salt: str) -> str:
    return salt + "$" + hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def _code_matches(code: str, stored: str) -> bool:
    salt, _, _ = stored.partition("$")
    return hmac.compare_digest(_hash_code(code, salt), stored)


def _chicago_midnight(now: int) -> int:
    day = datetime.fromtimestamp(now // NS, CHICAGO).date()
    return int(datetime.combine(day, time(0), CHICAGO).timestamp()) * NS


def failures_since(db: Session, action: str, subject: str, since: int) -> int:
    return int(
        db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == action, AuditEvent.subject == subject)
            .where(AuditEvent.at >= since)
        )
        or 0
    )


def codes_today(db: Session, user: User, now: int) -> int:
    return int(
        db.scalar(
            select(func.count())
            .select_from(SecurityCode)
            .where(SecurityCode.user_id == user.id)
            .where(SecurityCode.created_at >= _chicago_midnight(now))
        )
        or 0
    )


def issue_code(
    db: Session, user: User, purpose: SecurityCodePurpose, now: int, settings: AuthSettings
) -> CodeToSend | None:
    """A new code for ``purpose`` (revoking the previous unused one: "Resend Code", P-050), or
    ``None`` when the limit of the day is reached (the caller answers 429)."""
    if codes_today(db, user, now) >= settings.codes_per_day:
        return None
    db.execute(
        update(SecurityCode)
        .where(SecurityCode.user_id == user.id, SecurityCode.purpose == purpose)
        .where(SecurityCode.used_at.is_(None), SecurityCode.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    code = f"{secrets.randbelow(1_000_000):06d}"
    db.add(
        SecurityCode(
            user_id=user.id,
            purpose=purpose,
            code_hash=_hash_code(code, secrets.token_hex(8)),
            created_at=now,
            expires_at=now + settings.code_ttl,
            attempts=0,
        )
    )
    db.flush()
    return CodeToSend(user.email, purpose, code)


def check_code(
    db: Session,
    user: User,
    purpose: SecurityCodePurpose,
    code: str,
    now: int,
    settings: AuthSettings,
    totp_secret: bytes | None = None,
) -> str | None:
    """``None`` when ``code`` is right (the code is used up), else why not. Failures are
    recorded in the session: the caller commits before answering."""
    code = code.strip()
    if user.two_factor_method is TwoFactorMethod.AUTHENTICATOR and totp_secret is not None:
        subject = f"user:{user.id}"
        if failures_since(db, "code.failed", subject, now - settings.login_window) >= (
            settings.code_attempts
        ):
            return "Too many wrong codes: wait 15 minutes and try again."
        totp = pyotp.TOTP(totp_secret.decode())
        if code.isdigit() and totp.verify(code, for_time=now // NS, valid_window=1):
            return None
        repo.record_audit(db, "code.failed", now=now, user=user, subject=subject)
        return "The security code is not correct."
    row = db.scalar(
        select(SecurityCode)
        .where(SecurityCode.user_id == user.id, SecurityCode.purpose == purpose)
        .where(SecurityCode.used_at.is_(None), SecurityCode.revoked_at.is_(None))
        .order_by(SecurityCode.created_at.desc(), SecurityCode.id.desc())
        .limit(1)
    )
    if row is None or row.expires_at <= now:
        return "No valid security code: select Resend Code for a new one."
    row.attempts += 1
    if not (code.isdigit() and len(code) == 6 and _code_matches(code, row.code_hash)):
        if row.attempts >= settings.code_attempts:
            row.revoked_at = now
            return "Too many wrong codes: select Resend Code for a new one."
        return "The security code is not correct."
    row.used_at = now
    return None


def new_session(
    db: Session, user: User, kind: str, now: int, settings: AuthSettings
) -> tuple[str, PortalSession]:
    """A session waiting for its second factor; the token is returned once."""
    token = secrets.token_urlsafe(32)
    companies = repo.companies_of(db, user)
    row = PortalSession(
        token_hash=hash_token(token),
        user_id=user.id,
        company_id=companies[0].id if companies else None,
        kind=kind,
        csrf_token=secrets.token_urlsafe(24),
        created_at=now,
        expires_at=now + settings.pending_ttl,
        last_seen_at=now,
    )
    db.add(row)
    db.flush()
    return token, row


def complete_second_factor(row: PortalSession, now: int, settings: AuthSettings) -> None:
    row.second_factor_at = now
    ttl = settings.web_session_ttl if row.kind == "web" else settings.api_session_ttl
    row.expires_at = now + ttl


def session_for_token(db: Session, token: str, now: int) -> PortalSession | None:
    """The live session of ``token`` (not expired, not revoked, user active), else ``None``."""
    if not token:
        return None
    row = db.scalar(select(PortalSession).where(PortalSession.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if not row.user.active:
        return None
    row.last_seen_at = now
    return row


def actor_of(db: Session, row: PortalSession, company_id: int | None = None) -> Actor:
    """The actor of a signed-in session, for ``company_id`` (default: the chosen company)."""
    user = row.user
    cid = row.company_id if company_id is None else company_id
    company = db.get(Company, cid) if cid is not None else None
    roles = frozenset(repo.roles_of(db, user, company)) if company is not None else frozenset()
    if company is not None and not roles and not user.operator:
        company = None
    return Actor(
        user_id=user.id,
        email=user.email,
        display_name=user.display_name,
        company_id=company.id if company is not None else None,
        company_name=company.name if company is not None else None,
        roles=roles,
        operator=user.operator,
        session_id=row.id,
        csrf_token=row.csrf_token,
    )
