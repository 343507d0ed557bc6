"""Who holds a hold (keyed pseudonyms, to cap holds per client and per browser), and one
feedback answer per room and per appointment, enforced by unique indexes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05

Frozen: later changes go in new revisions, never here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # keyed pseudonyms (HMAC) of the client address and the browser that placed a hold;
    # cleared as soon as the hold is confirmed, released or lapses
    op.add_column("appointments", sa.Column("hold_client", sa.String(32), nullable=True))
    op.add_column("appointments", sa.Column("hold_browser", sa.String(32), nullable=True))
    op.create_index("ix_appointments_hold_client", "appointments", ["hold_client"])
    op.create_index("ix_appointments_hold_browser", "appointments", ["hold_browser"])
    op.add_column("feedback", sa.Column("room_id", sa.String(64), nullable=True))
    # Earlier rows may already hold a repeat for an appointment: keep the first answer only.
    op.execute(
        "DELETE FROM feedback WHERE appointment_id IS NOT NULL AND id NOT IN ("
        "SELECT MIN(id) FROM feedback WHERE appointment_id IS NOT NULL "
        "GROUP BY tenant_id, appointment_id)"
    )
    op.create_index(
        "ix_feedback_tenant_id_appointment_id",
        "feedback",
        ["tenant_id", "appointment_id"],
        unique=True,
    )
    op.create_index(
        "ix_feedback_tenant_id_room_id", "feedback", ["tenant_id", "room_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ix_feedback_tenant_id_room_id", "feedback")
    op.drop_index("ix_feedback_tenant_id_appointment_id", "feedback")
    op.drop_column("feedback", "room_id")
    op.drop_index("ix_appointments_hold_browser", "appointments")
    op.drop_index("ix_appointments_hold_client", "appointments")
    op.drop_column("appointments", "hold_browser")
    op.drop_column("appointments", "hold_client")
