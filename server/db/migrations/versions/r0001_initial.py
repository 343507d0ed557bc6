"""Initial schema: tenants, purposes, staff, availability, appointments, idempotency keys,
audit events, feedback; and the no-overlap guarantee on each dialect.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Frozen: later changes go in new revisions, never here. The tables are spelled out rather
than taken from server/db/schema.py, which moves on with the code.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ACTIVE = "('held', 'booked', 'checked_in', 'in_call')"
STATES = (
    "('held', 'booked', 'checked_in', 'in_call', 'completed', 'no_show', 'cancelled', "
    "'expired', 'released')"
)


def _instant() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", _instant(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tenants"),
    )
    op.create_table(
        "purposes",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("skill", sa.String(64), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("buffer_before_minutes", sa.Integer(), nullable=False),
        sa.Column("buffer_after_minutes", sa.Integer(), nullable=False),
        sa.Column("min_notice_minutes", sa.Integer(), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("slot_interval_minutes", sa.Integer(), nullable=True),
        sa.Column("daily_cap", sa.Integer(), nullable=True),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column("disclosure", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "key", name="pk_purposes"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_purposes_tenant_id_tenants"
        ),
        sa.CheckConstraint("duration_minutes > 0", name="ck_purposes_duration"),
        sa.CheckConstraint(
            "buffer_before_minutes >= 0 AND buffer_after_minutes >= 0 AND min_notice_minutes >= 0",
            name="ck_purposes_non_negative",
        ),
        sa.CheckConstraint("horizon_days BETWEEN 1 AND 366", name="ck_purposes_horizon"),
    )
    op.create_table(
        "staff",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("daily_cap", sa.Integer(), nullable=True),
        sa.Column("calendar_source", sa.Text(), nullable=True),
        sa.Column("calendar_failure", sa.String(8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_staff"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_staff_tenant_id_tenants"),
        sa.CheckConstraint(
            "calendar_failure IN ('hide', 'ignore')", name="ck_staff_calendar_failure"
        ),
    )
    op.create_table(
        "availability_rules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_availability_rules"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "staff_id"],
            ["staff.tenant_id", "staff.id"],
            name="fk_availability_rules_tenant_id_staff_id_staff",
        ),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="ck_availability_rules_weekday"),
        sa.CheckConstraint("start_time < end_time", name="ck_availability_rules_hours"),
    )
    op.create_index(
        "ix_availability_rules_tenant_id_staff_id",
        "availability_rules",
        ["tenant_id", "staff_id"],
    )
    op.create_table(
        "availability_exceptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=True),
        sa.Column("end_time", sa.Time(), nullable=True),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_availability_exceptions"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "staff_id"],
            ["staff.tenant_id", "staff.id"],
            name="fk_availability_exceptions_tenant_id_staff_id_staff",
        ),
        sa.CheckConstraint("kind IN ('closed', 'extra')", name="ck_availability_exceptions_kind"),
    )
    op.create_index(
        "ix_availability_exceptions_tenant_id_staff_id_day",
        "availability_exceptions",
        ["tenant_id", "staff_id", "day"],
    )
    op.create_table(
        "appointments",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("purpose_key", sa.String(64), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("starts_at", _instant(), nullable=False),
        sa.Column("ends_at", _instant(), nullable=False),
        sa.Column("buffered_start", _instant(), nullable=False),
        sa.Column("buffered_end", _instant(), nullable=False),
        sa.Column("hold_expires_at", _instant(), nullable=True),
        sa.Column("room_id", sa.String(64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rescheduled_from", sa.String(36), nullable=True),
        sa.Column("contact_email", sa.String(320), nullable=True),
        sa.Column("contact_phone", sa.String(32), nullable=True),
        sa.Column("created_at", _instant(), nullable=False),
        sa.Column("updated_at", _instant(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_appointments"),
        sa.UniqueConstraint("tenant_id", "reference", name="uq_appointments_tenant_id_reference"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "purpose_key"],
            ["purposes.tenant_id", "purposes.key"],
            name="fk_appointments_tenant_id_purpose_key_purposes",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "staff_id"],
            ["staff.tenant_id", "staff.id"],
            name="fk_appointments_tenant_id_staff_id_staff",
        ),
        sa.CheckConstraint(f"state IN {STATES}", name="ck_appointments_state"),
        sa.CheckConstraint(
            "buffered_start <= starts_at AND starts_at < ends_at AND ends_at <= buffered_end",
            name="ck_appointments_period",
        ),
        sa.CheckConstraint(
            "state <> 'held' OR hold_expires_at IS NOT NULL", name="ck_appointments_hold_expiry"
        ),
        sa.CheckConstraint("version >= 1", name="ck_appointments_version"),
    )
    op.create_index(
        "ix_appointments_tenant_id_staff_id_buffered_start",
        "appointments",
        ["tenant_id", "staff_id", "buffered_start"],
    )
    op.create_index(
        "ix_appointments_state_hold_expires_at", "appointments", ["state", "hold_expires_at"]
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("operation", sa.String(32), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("appointment_id", sa.String(36), nullable=True),
        sa.Column("created_at", _instant(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "key", name="pk_idempotency_keys"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_idempotency_keys_tenant_id_tenants"
        ),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("at", _instant(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_audit_events_tenant_id_tenants"
        ),
    )
    op.create_index("ix_audit_events_tenant_id_at", "audit_events", ["tenant_id", "at"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("appointment_id", sa.String(36), nullable=True),
        sa.Column("purpose_key", sa.String(64), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("at", _instant(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_feedback_tenant_id_tenants"
        ),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name="ck_feedback_score"),
    )
    op.create_index("ix_feedback_tenant_id_at", "feedback", ["tenant_id", "at"])

    if op.get_bind().dialect.name == "postgresql":
        _no_overlap_postgresql()
    else:
        _no_overlap_sqlite()


def _no_overlap_postgresql() -> None:
    # btree_gist lets one GiST index combine equality on text with overlap on ranges.
    # '[)' ranges: touching periods (10:00-11:00, 11:00-12:00) do not overlap.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(
        "ALTER TABLE appointments ADD CONSTRAINT appointments_no_overlap EXCLUDE USING gist ("
        " tenant_id WITH =, staff_id WITH =,"
        " tstzrange(buffered_start, buffered_end, '[)') WITH &&"
        f") WHERE (state IN {ACTIVE})"
    )


def _no_overlap_sqlite() -> None:
    # Instants are stored as fixed-width UTC strings (server.db.schema.UTCDateTime), so string
    # comparison is time comparison. SQLite has one writer at a time: the check cannot race.
    overlap = (
        "EXISTS (SELECT 1 FROM appointments AS a"
        " WHERE a.tenant_id = NEW.tenant_id AND a.staff_id = NEW.staff_id"
        " AND a.state IN ('held', 'booked', 'checked_in', 'in_call') AND a.id <> NEW.id"
        " AND a.buffered_start < NEW.buffered_end AND NEW.buffered_start < a.buffered_end)"
    )
    refuse = "BEGIN SELECT RAISE(ABORT, 'appointments_no_overlap'); END"
    op.execute(
        "CREATE TRIGGER appointments_no_overlap_insert BEFORE INSERT ON appointments"
        f" WHEN NEW.state IN {ACTIVE} AND {overlap} {refuse}"
    )
    op.execute(
        "CREATE TRIGGER appointments_no_overlap_update"
        " BEFORE UPDATE OF state, staff_id, tenant_id, buffered_start, buffered_end"
        f" ON appointments WHEN NEW.state IN {ACTIVE} AND {overlap} {refuse}"
    )


def downgrade() -> None:
    for table in (
        "feedback",
        "audit_events",
        "idempotency_keys",
        "appointments",
        "availability_exceptions",
        "availability_rules",
        "staff",
        "purposes",
        "tenants",
    ):
        op.drop_table(table)
