"""Initial schema: companies, users, sessions, key pairs, requests, audit, outbox, codes.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 22:24:22.964824
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "companies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companies")),
        sa.UniqueConstraint("name", name=op.f("uq_companies_name")),
    )
    op.create_table(
        "store_meta",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_store_meta")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("totp_secret_ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column(
            "two_factor_method",
            sa.Enum(
                "email",
                "authenticator",
                name="two_factor_method",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("operator", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_audit_events_company_id_companies"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_audit_events_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(
        op.f("ix_audit_events_company_id"), "audit_events", ["company_id"], unique=False
    )
    op.create_index(op.f("ix_audit_events_user_id"), "audit_events", ["user_id"], unique=False)

    op.create_table(
        "dropcopy_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column(
            "environment",
            sa.Enum(
                "CERT", "NEWRELEASE", name="environment", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_dropcopy_groups_company_id_companies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dropcopy_groups")),
    )
    op.create_index(
        op.f("ix_dropcopy_groups_company_id"), "dropcopy_groups", ["company_id"], unique=False
    )

    op.create_table(
        "globex_firm_ids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column(
            "environment",
            sa.Enum(
                "CERT", "NEWRELEASE", name="environment", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("firm_id", sa.String(length=5), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_globex_firm_ids_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_globex_firm_ids")),
        sa.UniqueConstraint(
            "company_id",
            "environment",
            "firm_id",
            name=op.f("uq_globex_firm_ids_company_id_environment_firm_id"),
        ),
        sa.UniqueConstraint(
            "environment", "firm_id", name=op.f("uq_globex_firm_ids_environment_firm_id")
        ),
    )
    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "administrator",
                "session_manager",
                "key_management",
                "viewer",
                name="role",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_memberships_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_memberships_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
        sa.UniqueConstraint(
            "user_id", "company_id", "role", name=op.f("uq_memberships_user_id_company_id_role")
        ),
    )
    op.create_index(op.f("ix_memberships_company_id"), "memberships", ["company_id"], unique=False)

    op.create_table(
        "security_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "purpose",
            sa.Enum("login", "download", name="purpose", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("code_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_security_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_codes")),
    )
    op.create_index(
        op.f("ix_security_codes_user_id_created_at"),
        "security_codes",
        ["user_id", "created_at"],
        unique=False,
    )

    op.create_table(
        "dropcopy_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column(
            "environment",
            sa.Enum(
                "CERT", "NEWRELEASE", name="environment", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column(
            "session_type",
            sa.Enum("CGW", "MSGW", name="session_type", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("session_id", sa.String(length=6), nullable=False),
        sa.Column("business_rationale", sa.Text(), nullable=False),
        sa.Column(
            "message_types",
            sa.Enum(
                "all",
                "trade_execution_reports",
                "order_entry_acknowledgments",
                name="message_types",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum("active", "disabled", name="status", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_dropcopy_sessions_company_id_companies")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["dropcopy_groups.id"],
            name=op.f("fk_dropcopy_sessions_group_id_dropcopy_groups"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dropcopy_sessions")),
        sa.UniqueConstraint(
            "environment", "session_id", name=op.f("uq_dropcopy_sessions_environment_session_id")
        ),
    )
    op.create_index(
        op.f("ix_dropcopy_sessions_company_id"), "dropcopy_sessions", ["company_id"], unique=False
    )
    op.create_index(
        op.f("ix_dropcopy_sessions_group_id"), "dropcopy_sessions", ["group_id"], unique=False
    )

    op.create_table(
        "ilink3_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column(
            "environment",
            sa.Enum(
                "CERT", "NEWRELEASE", name="environment", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("session_id", sa.String(length=3), nullable=False),
        sa.Column("firm_id", sa.String(length=5), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id", "environment", "firm_id"],
            [
                "globex_firm_ids.company_id",
                "globex_firm_ids.environment",
                "globex_firm_ids.firm_id",
            ],
            name="fk_ilink3_sessions_firm",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_ilink3_sessions_company_id_companies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ilink3_sessions")),
        sa.UniqueConstraint(
            "environment",
            "session_id",
            "firm_id",
            name=op.f("uq_ilink3_sessions_environment_session_id_firm_id"),
        ),
    )
    op.create_index(
        op.f("ix_ilink3_sessions_company_id"), "ilink3_sessions", ["company_id"], unique=False
    )

    op.create_table(
        "dropcopy_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dc_session_id", sa.Integer(), nullable=False),
        sa.Column("ilink3_session_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dc_session_id"],
            ["dropcopy_sessions.id"],
            name=op.f("fk_dropcopy_sources_dc_session_id_dropcopy_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ilink3_session_id"],
            ["ilink3_sessions.id"],
            name=op.f("fk_dropcopy_sources_ilink3_session_id_ilink3_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dropcopy_sources")),
        sa.UniqueConstraint(
            "dc_session_id",
            "ilink3_session_id",
            name=op.f("uq_dropcopy_sources_dc_session_id_ilink3_session_id"),
        ),
    )
    op.create_index(
        op.f("ix_dropcopy_sources_ilink3_session_id"),
        "dropcopy_sources",
        ["ilink3_session_id"],
        unique=False,
    )

    op.create_table(
        "key_pairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("access_key_id", sa.String(length=20), nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column(
            "environment",
            sa.Enum(
                "CERT", "NEWRELEASE", name="environment", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("ilink3_session_id", sa.Integer(), nullable=True),
        sa.Column("dc_session_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("superseded_at", sa.BigInteger(), nullable=True),
        sa.Column("deleted_at", sa.BigInteger(), nullable=True),
        sa.Column("expiry_warned_at", sa.BigInteger(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(ilink3_session_id IS NULL) <> (dc_session_id IS NULL)",
            name=op.f("ck_key_pairs_one_owner"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_key_pairs_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["dc_session_id"],
            ["dropcopy_sessions.id"],
            name=op.f("fk_key_pairs_dc_session_id_dropcopy_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ilink3_session_id"],
            ["ilink3_sessions.id"],
            name=op.f("fk_key_pairs_ilink3_session_id_ilink3_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_pairs")),
        sa.UniqueConstraint("access_key_id", name=op.f("uq_key_pairs_access_key_id")),
    )
    op.create_index(
        op.f("ix_key_pairs_dc_session_id"), "key_pairs", ["dc_session_id"], unique=False
    )
    op.create_index(
        op.f("ix_key_pairs_ilink3_session_id"), "key_pairs", ["ilink3_session_id"], unique=False
    )

    op.create_table(
        "requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "create_session",
                "manage_sources",
                name="kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "environment",
            sa.Enum(
                "CERT", "NEWRELEASE", name="environment", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("dc_session_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "In-Progress",
                "Completed",
                "Failed",
                name="status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("processed_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_requests_company_id_companies")
        ),
        sa.ForeignKeyConstraint(
            ["dc_session_id"],
            ["dropcopy_sessions.id"],
            name=op.f("fk_requests_dc_session_id_dropcopy_sessions"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_requests_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requests")),
    )
    op.create_index(op.f("ix_requests_company_id"), "requests", ["company_id"], unique=False)
    op.create_index(op.f("ix_requests_dc_session_id"), "requests", ["dc_session_id"], unique=False)
    op.create_index(
        op.f("ix_requests_status_created_at"), "requests", ["status", "created_at"], unique=False
    )
    op.create_index(op.f("ix_requests_user_id"), "requests", ["user_id"], unique=False)

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.id"],
            name=op.f("fk_notifications_request_id_requests"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notifications_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(op.f("ix_notifications_user_id"), "notifications", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_notifications_user_id"), table_name="notifications")

    op.drop_table("notifications")
    op.drop_index(op.f("ix_requests_user_id"), table_name="requests")
    op.drop_index(op.f("ix_requests_status_created_at"), table_name="requests")
    op.drop_index(op.f("ix_requests_dc_session_id"), table_name="requests")
    op.drop_index(op.f("ix_requests_company_id"), table_name="requests")

    op.drop_table("requests")
    op.drop_index(op.f("ix_key_pairs_ilink3_session_id"), table_name="key_pairs")
    op.drop_index(op.f("ix_key_pairs_dc_session_id"), table_name="key_pairs")

    op.drop_table("key_pairs")
    op.drop_index(op.f("ix_dropcopy_sources_ilink3_session_id"), table_name="dropcopy_sources")

    op.drop_table("dropcopy_sources")
    op.drop_index(op.f("ix_ilink3_sessions_company_id"), table_name="ilink3_sessions")

    op.drop_table("ilink3_sessions")
    op.drop_index(op.f("ix_dropcopy_sessions_group_id"), table_name="dropcopy_sessions")
    op.drop_index(op.f("ix_dropcopy_sessions_company_id"), table_name="dropcopy_sessions")

    op.drop_table("dropcopy_sessions")
    op.drop_index(op.f("ix_security_codes_user_id_created_at"), table_name="security_codes")

    op.drop_table("security_codes")
    op.drop_index(op.f("ix_memberships_company_id"), table_name="memberships")

    op.drop_table("memberships")
    op.drop_table("globex_firm_ids")
    op.drop_index(op.f("ix_dropcopy_groups_company_id"), table_name="dropcopy_groups")

    op.drop_table("dropcopy_groups")
    op.drop_index(op.f("ix_audit_events_user_id"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_company_id"), table_name="audit_events")

    op.drop_table("audit_events")
    op.drop_table("users")
    op.drop_table("store_meta")
    op.drop_table("companies")
