"""Messages that arrive, and the municipality's own settings.

- ``outbox``: every e-mail, SMS and calendar write Balie owes someone, written in the same
  transaction as the change that causes it and delivered by a worker (server/messages/).
  No personal data: the address is read from the appointment when the message goes out.
- ``appointments.language`` and ``appointments.reminders``: the resident's language for the
  messages and whether they want reminders.
- ``purposes.reminder_day`` and ``purposes.reminder_hour``: which reminders a purpose sends.
- ``tenants.profile``: the municipality's contact details and statements (JSON);
  ``tenants.holidays``: which public holidays close booking (JSON; NULL: the defaults).
- ``earlier_requests``: residents who asked to hear of an earlier time for their booking.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

Frozen: later changes go in new revisions, never here. New tables, and new columns with
server defaults: nodes still on the previous version neither read nor write them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("template", sa.String(24), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_outbox_tenant_id_tenants"),
        sa.CheckConstraint("channel IN ('email', 'sms', 'calendar')", name="ck_outbox_channel"),
        sa.CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'failed', 'dropped')", name="ck_outbox_state"
        ),
        sa.CheckConstraint("state <> 'sending' OR lease_until IS NOT NULL", name="ck_outbox_lease"),
        sa.CheckConstraint("attempts >= 0", name="ck_outbox_attempts"),
        sa.UniqueConstraint(
            "tenant_id",
            "channel",
            "template",
            "subject_id",
            name="uq_outbox_tenant_id_channel_template_subject_id",
        ),
    )
    op.create_index("ix_outbox_state_not_before", "outbox", ["state", "not_before"])
    op.create_index("ix_outbox_tenant_id_state", "outbox", ["tenant_id", "state"])
    op.create_table(
        "earlier_requests",
        sa.Column("appointment_id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("purpose_key", sa.String(64), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("offer_id", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint("appointment_id", name="pk_earlier_requests"),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name="fk_earlier_requests_appointment_id_appointments",
        ),
    )
    op.create_index(
        "ix_earlier_requests_tenant_id_purpose_key_asked_at",
        "earlier_requests",
        ["tenant_id", "purpose_key", "asked_at"],
    )
    # Added columns only: SQLite adds them in place (a batch copy would lose the no-overlap
    # triggers of ``appointments``).
    op.add_column(
        "appointments", sa.Column("language", sa.String(2), nullable=False, server_default="nl")
    )
    op.add_column(
        "appointments",
        sa.Column("reminders", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column(
        "purposes",
        sa.Column("reminder_day", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column(
        "purposes",
        sa.Column("reminder_hour", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column("tenants", sa.Column("profile", sa.JSON(), nullable=True))
    op.add_column("tenants", sa.Column("holidays", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("holidays")
        batch.drop_column("profile")
    with op.batch_alter_table("purposes") as batch:
        batch.drop_column("reminder_hour")
        batch.drop_column("reminder_day")
    with op.batch_alter_table("appointments") as batch:
        batch.drop_column("reminders")
        batch.drop_column("language")
    op.drop_table("earlier_requests")
    op.drop_table("outbox")
