"""SQLAlchemy models: the Request Center's data and the credentials every gateway checks.

Times are ``int`` nanoseconds since the Unix epoch (UTC), in ``BIGINT`` columns, as everywhere
else in the project (DESIGN.md "Time is an argument"): no time zone is stored, nothing is lost in
a round trip, and SQLite and PostgreSQL behave alike. Columns named ``*_at`` hold such values.

Secrets never appear in clear: ``KeyPair.secret_ciphertext`` and ``User.totp_secret_ciphertext``
hold AES-GCM ciphertexts (see :mod:`dropcopy.store.crypto`), ``User.password_hash`` an argon2id
hash, ``SecurityCode.code_hash`` a hash of the code; ``repr`` of every model leaves those out.

The entities (reference notes "What the seeds leave unsaid": companies, users, roles, Globex
Firm IDs, iLink 3 sessions, Drop Copy target sessions, groups, filters and source links, keys):

* :class:`Company` -- a registered entity; :class:`GlobexFirmId` -- its firm IDs per environment
  (P-007: they must exist before sessions can be requested);
* :class:`User`, :class:`Membership` -- people, their roles per company (AP-10; P-008: a user may
  belong to several companies) and the venue-operator flag;
* :class:`ILink3Session` -- an iLink 3 "source SenderComp", Session (3) + Firm (<= 5) (AX-05);
* :class:`DropCopyGroup`, :class:`DropCopySession`, :class:`DropCopySource` -- Drop Copy target
  sessions (6-character Session ID, AD-17), the group one request creates (AD-18), their
  message-type filter (AD-21) and their source iLink 3 sessions (P-003, P-033);
* :class:`KeyPair` -- a secure key pair of one iLink 3 or Drop Copy session (notes §4);
* :class:`Request` -- a My Requests entry, processed by the daily 4pm CT batch (P-018..P-022);
* :class:`AuditEvent`, :class:`Notification`, :class:`SecurityCode` -- the audit trail, the
  email outbox (AP-13) and the one-time security codes (AP-06);
* :class:`StoreMeta` -- the store's own facts (the master-key check value).
"""

from __future__ import annotations

import enum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    inspect,
)
from sqlalchemy import Enum as SqlEnum
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "AuditEvent",
    "Base",
    "Company",
    "DropCopyGroup",
    "DropCopySession",
    "DropCopySessionStatus",
    "DropCopySource",
    "Environment",
    "GlobexFirmId",
    "ILink3Session",
    "KeyPair",
    "Membership",
    "MessageTypes",
    "Notification",
    "PortalSession",
    "Request",
    "RequestKind",
    "RequestStatus",
    "Role",
    "SecurityCode",
    "SecurityCodePurpose",
    "SessionType",
    "StoreMeta",
    "TwoFactorMethod",
    "User",
]

# Constraint names: stable (migrations refer to them) and short (PostgreSQL's 63-byte limit).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Environment(enum.StrEnum):
    """The portal's environments: exactly these two (P-009, AP-09)."""

    CERT = "CERT"
    NEWRELEASE = "NEWRELEASE"


class Role(enum.StrEnum):
    """A user's role in one company (AP-10). ``administrator`` may do everything;
    ``session_manager`` sessions, sources and filters; ``key_management`` keys (CME's "Key
    Management User" entitlement, notes §4); ``viewer`` reads."""

    ADMINISTRATOR = "administrator"
    SESSION_MANAGER = "session_manager"
    KEY_MANAGEMENT = "key_management"
    VIEWER = "viewer"


class TwoFactorMethod(enum.StrEnum):
    """Where a user's security codes come from (I-031, AP-06)."""

    EMAIL = "email"
    AUTHENTICATOR = "authenticator"


class SessionType(enum.StrEnum):
    """Drop Copy target session type (P-011): Convenience Gateway or Market Segment Gateway."""

    CGW = "CGW"
    MSGW = "MSGW"


class MessageTypes(enum.StrEnum):
    """Message-type filter of a Drop Copy target session (D-005..D-007, AD-21)."""

    ALL = "all"
    TRADE_EXECUTION_REPORTS = "trade_execution_reports"
    ORDER_ENTRY_ACKNOWLEDGMENTS = "order_entry_acknowledgments"


class DropCopySessionStatus(enum.StrEnum):
    """A target session exists once its request is Completed (P-022); an operator may disable
    it (it then cannot log on) without losing its history."""

    ACTIVE = "active"
    DISABLED = "disabled"


class RequestKind(enum.StrEnum):
    CREATE_SESSION = "create_session"  # P-006..P-022
    MANAGE_SOURCES = "manage_sources"  # P-033..P-040


class RequestStatus(enum.StrEnum):
    """The seed's own words (P-018, P-020)."""

    IN_PROGRESS = "In-Progress"
    COMPLETED = "Completed"
    FAILED = "Failed"


class SecurityCodePurpose(enum.StrEnum):
    LOGIN = "login"  # I-031: the portal logon's second factor
    DOWNLOAD = "download"  # P-049, P-061: Download Keys


def _enum(cls: type[enum.StrEnum], name: str) -> SqlEnum:
    """A string column holding one of the enum's values, checked by the database."""
    return SqlEnum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in cls),
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


def _ns(nullable: bool = False) -> Any:
    return mapped_column(BigInteger, nullable=nullable)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    #: Columns ``repr`` never shows (secrets, hashes, ciphertexts).
    __secret_columns__: ClassVar[frozenset[str]] = frozenset()

    def __repr__(self) -> str:
        loaded = inspect(self).dict  # only what is loaded: repr never queries the database
        shown = [
            f"{c.key}={loaded[c.key]!r}"
            for c in self.__table__.columns
            if c.key in loaded and c.key not in self.__secret_columns__
        ]
        return f"{type(self).__name__}({', '.join(shown)})"


class Company(Base):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[int] = _ns()

    firm_ids: Mapped[list[GlobexFirmId]] = relationship(back_populates="company")
    memberships: Mapped[list[Membership]] = relationship(back_populates="company")


class GlobexFirmId(Base):
    """A Globex Firm ID (iLink 3 ``Firm``, String5) of a company in one environment."""

    __tablename__ = "globex_firm_ids"
    __table_args__ = (
        UniqueConstraint("environment", "firm_id"),  # one owner per firm ID and environment
        UniqueConstraint("company_id", "environment", "firm_id"),  # target of ilink3_sessions
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    environment: Mapped[Environment] = mapped_column(_enum(Environment, "environment"))
    firm_id: Mapped[str] = mapped_column(String(5))
    created_at: Mapped[int] = _ns()

    company: Mapped[Company] = relationship(back_populates="firm_ids")


class User(Base):
    __tablename__ = "users"
    __secret_columns__ = frozenset({"password_hash", "totp_secret_ciphertext"})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-cased
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id, PHC string
    totp_secret_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    two_factor_method: Mapped[TwoFactorMethod] = mapped_column(
        _enum(TwoFactorMethod, "two_factor_method"), default=TwoFactorMethod.EMAIL
    )
    active: Mapped[bool] = mapped_column(default=True)
    #: A venue operator (runs the exchange: every company, the batch, admin commands).
    operator: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[int] = _ns()

    memberships: Mapped[list[Membership]] = relationship(back_populates="user")


class Membership(Base):
    """A user's role in a company; several roles in one company are several rows."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "company_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    created_at: Mapped[int] = _ns()

    user: Mapped[User] = relationship(back_populates="memberships")
    company: Mapped[Company] = relationship(back_populates="memberships")


class ILink3Session(Base):
    """An iLink 3 session (a Drop Copy "source SenderComp"): Session (3) + Firm (<= 5), unique
    per environment (AX-05, seed 004 Negotiate ``Session``/``Firm``). Its firm must be one of
    the company's Globex Firm IDs in the same environment (a composite foreign key)."""

    __tablename__ = "ilink3_sessions"
    __table_args__ = (
        UniqueConstraint("environment", "session_id", "firm_id"),
        ForeignKeyConstraint(
            ["company_id", "environment", "firm_id"],
            [
                "globex_firm_ids.company_id",
                "globex_firm_ids.environment",
                "globex_firm_ids.firm_id",
            ],
            name="fk_ilink3_sessions_firm",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    environment: Mapped[Environment] = mapped_column(_enum(Environment, "environment"))
    session_id: Mapped[str] = mapped_column(String(3))
    firm_id: Mapped[str] = mapped_column(String(5))
    created_at: Mapped[int] = _ns()

    company: Mapped[Company] = relationship(foreign_keys=[company_id])
    key_pairs: Mapped[list[KeyPair]] = relationship(
        back_populates="ilink3_session", order_by="KeyPair.id"
    )

    @property
    def label(self) -> str:
        """How the portal names it, e.g. ``ABC/007``."""
        return f"{self.session_id}/{self.firm_id}"


class DropCopyGroup(Base):
    """The target sessions one create request made (AD-18: 1 or 2 sessions; a company's first
    group is free, each further one is priced)."""

    __tablename__ = "dropcopy_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    environment: Mapped[Environment] = mapped_column(_enum(Environment, "environment"))
    created_at: Mapped[int] = _ns()

    company: Mapped[Company] = relationship()
    sessions: Mapped[list[DropCopySession]] = relationship(back_populates="group")


class DropCopySession(Base):
    """A Drop Copy 4.0 target session. ``session_id`` is the 6-character Session ID; on the
    wire SenderCompID (49) is it plus the fault-tolerance indicator ``N`` (D-079, AD-17)."""

    __tablename__ = "dropcopy_sessions"
    __table_args__ = (UniqueConstraint("environment", "session_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("dropcopy_groups.id"), index=True)
    environment: Mapped[Environment] = mapped_column(_enum(Environment, "environment"))
    session_type: Mapped[SessionType] = mapped_column(_enum(SessionType, "session_type"))
    session_id: Mapped[str] = mapped_column(String(6))
    business_rationale: Mapped[str] = mapped_column(Text, default="")  # P-013, P-032
    message_types: Mapped[MessageTypes] = mapped_column(
        _enum(MessageTypes, "message_types"), default=MessageTypes.ALL
    )
    status: Mapped[DropCopySessionStatus] = mapped_column(
        _enum(DropCopySessionStatus, "status"), default=DropCopySessionStatus.ACTIVE
    )
    created_at: Mapped[int] = _ns()

    company: Mapped[Company] = relationship()
    group: Mapped[DropCopyGroup] = relationship(back_populates="sessions")
    sources: Mapped[list[DropCopySource]] = relationship(
        back_populates="dc_session", cascade="all, delete-orphan", order_by="DropCopySource.id"
    )
    key_pairs: Mapped[list[KeyPair]] = relationship(
        back_populates="dc_session", order_by="KeyPair.id"
    )


class DropCopySource(Base):
    """A source iLink 3 session attached to a target session (P-003, P-014, P-034)."""

    __tablename__ = "dropcopy_sources"
    __table_args__ = (UniqueConstraint("dc_session_id", "ilink3_session_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dc_session_id: Mapped[int] = mapped_column(
        ForeignKey("dropcopy_sessions.id", ondelete="CASCADE")
    )
    ilink3_session_id: Mapped[int] = mapped_column(ForeignKey("ilink3_sessions.id"), index=True)
    created_at: Mapped[int] = _ns()

    dc_session: Mapped[DropCopySession] = relationship(back_populates="sources")
    ilink3_session: Mapped[ILink3Session] = relationship()


class KeyPair(Base):
    """A secure key pair (notes §4) of exactly one iLink 3 or Drop Copy session.

    ``expires_at`` is 12 months after creation, or earlier once a newer pair superseded this one
    (4 weeks later at market close). A deleted pair keeps its row for the record but loses its
    secret (``secret_ciphertext`` is cleared): it can never authenticate or be downloaded again.
    """

    __tablename__ = "key_pairs"
    __secret_columns__ = frozenset({"secret_ciphertext"})
    __table_args__ = (
        CheckConstraint("(ilink3_session_id IS NULL) <> (dc_session_id IS NULL)", name="one_owner"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    access_key_id: Mapped[str] = mapped_column(String(20), unique=True)
    secret_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    environment: Mapped[Environment] = mapped_column(_enum(Environment, "environment"))
    ilink3_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("ilink3_sessions.id", ondelete="CASCADE"), index=True
    )
    dc_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("dropcopy_sessions.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[int] = _ns()
    expires_at: Mapped[int] = _ns()
    #: When a newer pair was generated and this one was given its 4-week expiry (P-044).
    superseded_at: Mapped[int | None] = _ns(nullable=True)
    deleted_at: Mapped[int | None] = _ns(nullable=True)
    #: When the expiry warning went to the administrators (notes §4), so it goes once.
    expiry_warned_at: Mapped[int | None] = _ns(nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )

    ilink3_session: Mapped[ILink3Session | None] = relationship(back_populates="key_pairs")
    dc_session: Mapped[DropCopySession | None] = relationship(back_populates="key_pairs")

    def usable(self, now: int) -> bool:
        """Authenticates a logon at ``now``: not deleted and not yet expired."""
        return self.deleted_at is None and now < self.expires_at


class Request(Base):
    """A My Requests entry: submitted In-Progress, processed by the daily batch at 4pm CT into
    Completed or Failed with a reason (P-018..P-022, P-038, P-039, AP-03, AP-04)."""

    __tablename__ = "requests"
    __table_args__ = (Index(None, "status", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[RequestKind] = mapped_column(_enum(RequestKind, "kind"))
    environment: Mapped[Environment] = mapped_column(_enum(Environment, "environment"))
    #: The session a manage_sources request edits (none for create_session).
    dc_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("dropcopy_sessions.id"), nullable=True, index=True
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[RequestStatus] = mapped_column(
        _enum(RequestStatus, "status"), default=RequestStatus.IN_PROGRESS
    )
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: What processing produced, e.g. the Session IDs a create_session request made.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[int] = _ns()
    processed_at: Mapped[int | None] = _ns(nullable=True)

    company: Mapped[Company] = relationship()
    user: Mapped[User] = relationship()
    dc_session: Mapped[DropCopySession | None] = relationship()


class AuditEvent(Base):
    """Who did what, when (an audit trail, "What the seeds leave unsaid"). ``detail`` never
    holds a secret or a security code: Access Key IDs, Session IDs, request IDs only."""

    __tablename__ = "audit_events"
    #: Rate limits count recent failures by action and subject (e.g. logins per email).
    __table_args__ = (Index(None, "action", "subject", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[int] = _ns()
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), nullable=True, index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Notification(Base):
    """An email to send (the outbox): one per action to the acting user's registered address,
    never carrying secrets or codes (P-017, P-037, P-048, P-058, AP-13)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("requests.id", ondelete="SET NULL"), nullable=True
    )
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = _ns()
    sent_at: Mapped[int | None] = _ns(nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: After a failed attempt: not before this time (the sender's backoff).
    next_attempt_at: Mapped[int | None] = _ns(nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class SecurityCode(Base):
    """A one-time security code (AP-06): short-lived, single use, limited attempts, revoked by
    "Resend Code"; counting a user's codes of the day enforces CME's 10 per day."""

    __tablename__ = "security_codes"
    __secret_columns__ = frozenset({"code_hash"})
    __table_args__ = (Index(None, "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[SecurityCodePurpose] = mapped_column(_enum(SecurityCodePurpose, "purpose"))
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[int] = _ns()
    expires_at: Mapped[int] = _ns()
    used_at: Mapped[int | None] = _ns(nullable=True)
    revoked_at: Mapped[int | None] = _ns(nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class PortalSession(Base):
    """A signed-in portal user: a browser session (cookie) or an API client (bearer token).

    Only a hash of the token is stored. A session is fully signed in once its second factor
    was checked (``second_factor_at``, I-031); before that it may only enter the code. The
    company is the one picked in the Company drop-down (P-008, P-025)."""

    __tablename__ = "portal_sessions"
    __secret_columns__ = frozenset({"token_hash", "csrf_token"})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(8))  # "web" or "api"
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = _ns()
    expires_at: Mapped[int] = _ns()
    last_seen_at: Mapped[int] = _ns()
    second_factor_at: Mapped[int | None] = _ns(nullable=True)
    revoked_at: Mapped[int | None] = _ns(nullable=True)

    user: Mapped[User] = relationship()


class StoreMeta(Base):
    """Facts about the store itself, by name (e.g. the master-key check value)."""

    __tablename__ = "store_meta"
    __secret_columns__ = frozenset({"value"})

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
