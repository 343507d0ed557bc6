"""Staff sign-in: accounts per tenant (argon2id password, sealed TOTP secret, roles,
lockout) and server-side sessions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

Frozen: later changes go in new revisions, never here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _instant() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staff_accounts",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("login", sa.String(128), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=True),
        sa.Column("roles", sa.JSON(), nullable=False),
        # argon2id; NULL for accounts that sign in elsewhere (OpenID Connect)
        sa.Column("password_hash", sa.String(255), nullable=True),
        # AES-256-GCM under the vault key ring
        sa.Column("totp_sealed", sa.Text(), nullable=True),
        sa.Column("totp_last_step", sa.Integer(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", _instant(), nullable=True),
        sa.Column("created_at", _instant(), nullable=False),
        sa.Column("updated_at", _instant(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_staff_accounts"),
        sa.UniqueConstraint("tenant_id", "login", name="uq_staff_accounts_tenant_id_login"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_staff_accounts_tenant_id_tenants"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "staff_id"],
            ["staff.tenant_id", "staff.id"],
            name="fk_staff_accounts_tenant_id_staff_id_staff",
        ),
        sa.CheckConstraint("failed_attempts >= 0", name="ck_staff_accounts_failed_attempts"),
    )
    op.create_table(
        "staff_sessions",
        # SHA-256 of the cookie value: the table never holds a usable session id
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=True),
        sa.Column("account_id", sa.String(36), nullable=True),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("method", sa.String(32), nullable=True),
        sa.Column("csrf_secret", sa.String(64), nullable=False),
        sa.Column("created_at", _instant(), nullable=False),
        sa.Column("last_seen", _instant(), nullable=False),
        sa.Column("expires_at", _instant(), nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name="pk_staff_sessions"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "account_id"],
            ["staff_accounts.tenant_id", "staff_accounts.id"],
            name="fk_staff_sessions_tenant_id_account_id_staff_accounts",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "stage IN ('anonymous', 'password', 'active')", name="ck_staff_sessions_stage"
        ),
    )
    op.create_index(
        "ix_staff_sessions_tenant_id_account_id", "staff_sessions", ["tenant_id", "account_id"]
    )
    op.create_index("ix_staff_sessions_expires_at", "staff_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_table("staff_sessions")
    op.drop_table("staff_accounts")
