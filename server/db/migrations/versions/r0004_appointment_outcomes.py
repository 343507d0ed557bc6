"""Appointment outcomes: what the specialist recorded when closing an appointment
(completed or no-show) and whether it needs a follow-up.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

Frozen: later changes go in new revisions, never here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appointment_outcomes",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("appointment_id", sa.String(36), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("follow_up", sa.Boolean(), nullable=False),
        # "staff:<account id>": who recorded it
        sa.Column("recorded_by", sa.String(128), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("appointment_id", name="pk_appointment_outcomes"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_appointment_outcomes_tenant_id_tenants"
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name="fk_appointment_outcomes_appointment_id_appointments",
        ),
        sa.CheckConstraint(
            "outcome IN ('completed', 'no_show')", name="ck_appointment_outcomes_outcome"
        ),
    )
    op.create_index(
        "ix_appointment_outcomes_tenant_id_recorded_at",
        "appointment_outcomes",
        ["tenant_id", "recorded_at"],
    )


def downgrade() -> None:
    op.drop_table("appointment_outcomes")
