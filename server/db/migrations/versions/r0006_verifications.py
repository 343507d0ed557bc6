"""Identity verifications in flight move from one process's memory to the database, so a
result is consumed once across nodes and a restart loses none.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05

Frozen: later changes go in new revisions, never here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verifications",
        sa.Column("id_digest", sa.String(64), nullable=False),
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("browser", sa.String(64), nullable=False),
        sa.Column("purpose_key", sa.String(64), nullable=False),
        sa.Column("verifier", sa.String(32), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id_digest", name="pk_verifications"),
    )
    op.create_index("ix_verifications_expires_at", "verifications", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_verifications_expires_at", "verifications")
    op.drop_table("verifications")
