"""The attribute vault: verified identities, sealed, bound to a room, a browser and a purpose.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Frozen: later changes go in new revisions, never here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vault_entries",
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("verification_id", sa.String(64), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=True),
        # SHA-256 of the browser-session cookie: the binding, without the cookie itself
        sa.Column("browser", sa.String(64), nullable=True),
        sa.Column("purpose_key", sa.String(64), nullable=True),
        # AES-256-GCM under the vault key ring; the key id is inside the sealed text
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("kid", sa.String(32), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        # unix seconds after which the application deletes the row
        sa.Column("delete_after", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "verification_id", name="pk_vault_entries"),
    )
    op.create_index("ix_vault_entries_delete_after", "vault_entries", ["delete_after"])
    op.create_index("ix_vault_entries_kid", "vault_entries", ["kid"])


def downgrade() -> None:
    op.drop_table("vault_entries")
