"""The walk-in counter: one row per resident waiting at the counter without an appointment (or
with one due now), from arrival until served or gone, and one per purpose with a counter (its
opening hours and limits); no personal data.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

Frozen: later changes go in new revisions, never here. A new table only: nodes still on the
previous version never read it, so nodes upgrade one by one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "walkin_tickets",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("room_id", sa.String(64), nullable=True),
        sa.Column("note_sealed", sa.Text(), nullable=True),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("booked", sa.Boolean(), nullable=False),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=False),
        # SHA-256 of the verification id, never the id (a bearer secret)
        sa.Column("verification", sa.String(64), nullable=True),
        sa.Column("taken_by", sa.String(64), nullable=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("away_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_walkin_tickets"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "purpose"],
            ["purposes.tenant_id", "purposes.key"],
            name="fk_walkin_tickets_tenant_id_purpose_purposes",
        ),
        sa.CheckConstraint(
            "state IN ('waiting', 'away', 'taken', 'done', 'left')",
            name="ck_walkin_tickets_state",
        ),
        sa.CheckConstraint(
            "channel IN ('video', 'voice', 'chat')", name="ck_walkin_tickets_channel"
        ),
        sa.CheckConstraint(
            "state NOT IN ('taken', 'done') OR taken_by IS NOT NULL",
            name="ck_walkin_tickets_taker",
        ),
        sa.CheckConstraint(
            "state <> 'away' OR away_since IS NOT NULL", name="ck_walkin_tickets_away_since"
        ),
        sa.CheckConstraint("version >= 1", name="ck_walkin_tickets_version"),
        sa.CheckConstraint(
            "state NOT IN ('done', 'left') OR note_sealed IS NULL",
            name="ck_walkin_tickets_note_ends",
        ),
        sa.UniqueConstraint("room_id", name="uq_walkin_tickets_room_id"),
    )
    # "Volgende inwoner" reads the first entry at (tenant, purpose, 'waiting'): booked
    # first (DESC: true before false on both dialects), then arrival, then id.
    op.create_index(
        "ix_walkin_tickets_next",
        "walkin_tickets",
        ["tenant_id", "purpose", "state", sa.text("booked DESC"), "arrived_at", "id"],
    )
    op.create_index("ix_walkin_tickets_state_away_since", "walkin_tickets", ["state", "away_since"])
    op.create_index("ix_walkin_tickets_state_updated_at", "walkin_tickets", ["state", "updated_at"])

    op.create_table(
        "walkin_counters",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("max_waiting", sa.Integer(), nullable=True),
        sa.Column("max_wait_minutes", sa.Integer(), nullable=True),
        sa.Column("handling_minutes", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "purpose", name="pk_walkin_counters"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "purpose"],
            ["purposes.tenant_id", "purposes.key"],
            name="fk_walkin_counters_tenant_id_purpose_purposes",
        ),
        sa.CheckConstraint(
            "(max_waiting IS NULL OR max_waiting >= 0) AND "
            "(max_wait_minutes IS NULL OR max_wait_minutes >= 0) AND handling_minutes > 0",
            name="ck_walkin_counters_limits",
        ),
    )
    op.create_table(
        "walkin_callbacks",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        # sealed with the vault keys; NULL once the call-back is done
        sa.Column("phone_sealed", sa.Text(), nullable=True),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_walkin_callbacks"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "purpose"],
            ["purposes.tenant_id", "purposes.key"],
            name="fk_walkin_callbacks_tenant_id_purpose_purposes",
        ),
        sa.CheckConstraint(
            "state IN ('open', 'called', 'unreachable', 'expired')",
            name="ck_walkin_callbacks_state",
        ),
        sa.CheckConstraint(
            "state = 'open' OR phone_sealed IS NULL",
            name="ck_walkin_callbacks_phone_only_while_open",
        ),
        sa.CheckConstraint("window_end > window_start", name="ck_walkin_callbacks_window"),
    )
    op.create_index(
        "ix_walkin_callbacks_tenant_id_state_window_start",
        "walkin_callbacks",
        ["tenant_id", "state", "window_start"],
    )


def downgrade() -> None:
    op.drop_table("walkin_callbacks")
    op.drop_table("walkin_counters")
    op.drop_table("walkin_tickets")
