# Longer than 500 lines: the whole durable schema in one place, as Alembic sees it.
"""The durable schema: one SQLAlchemy Core :class:`MetaData` for SQLite and PostgreSQL.

Every table carries ``tenant_id`` and every foreign key includes it, so a row can only point
at rows of its own tenant: a shared deployment (one service organisation, several
municipalities) cannot link one tenant's appointment to another tenant's staff even by
mistake. The DDL itself lives in the versioned migrations (``server/db/migrations``); this
module is what queries are written against, and a test checks the two agree.

Double booking is refused by the database, not only by the service's checks:

- PostgreSQL: the exclusion constraint :data:`NO_OVERLAP` over ``(tenant_id, staff_id,
  tstzrange(buffered_start, buffered_end))`` for rows in an :data:`ACTIVE_STATES` state.
- SQLite: triggers of the same name refuse an insert or update that would make two active
  rows of one staff member overlap; SQLite runs one writer at a time, so the check inside
  the write cannot race.

A constraint predicate must be immutable, so it cannot say "hold not yet expired". A lapsed
hold therefore keeps blocking until a write moves it to ``expired``; the booking service does
that inside the same transaction, just before it inserts an overlapping row.

Personal data in clear: ``appointments.contact_email`` and ``contact_phone``, feedback
comments, staff names and logins. Sealed with the vault keys: the verified attributes
(``vault_entries``), staff TOTP secrets, call-back phone numbers (``walkin_callbacks``) and
notes handed on with a walk-in resident. Audit events hold attribute *names*, never values.
``docs/privacy.md`` says where each is deleted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    true,
)

#: the name of the no-overlap exclusion constraint (PostgreSQL) and triggers (SQLite)
NO_OVERLAP: Final = "appointments_no_overlap"

#: states in which an appointment occupies its staff member's time
ACTIVE_STATES: Final = ("held", "booked", "checked_in", "in_call")
#: every state an appointment can be in; see server/booking/appointment.py for the machine
ALL_STATES: Final = (
    *ACTIVE_STATES,
    "completed",
    "no_show",
    "cancelled",
    "expired",
    "released",
)

# Named constraints make later migrations (and SQLite batch rebuilds) able to refer to them.
NAMING: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: aware datetimes in, aware UTC datetimes out, on both dialects.

    PostgreSQL stores ``timestamptz``. SQLite has no time type: SQLAlchemy stores a fixed-width
    ``YYYY-MM-DD HH:MM:SS.ffffff`` string, and this type makes it always UTC, so that string
    order is time order; the SQLite no-overlap triggers compare these strings.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError(f"{value.isoformat()} has no time zone; instants must be aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_ID = 64  # tenant, purpose and staff keys: short slugs chosen by the admin
_UUID = 36


def _json() -> JSON:
    return JSON()


tenants = Table(
    "tenants",
    metadata,
    Column("id", String(_ID), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    #: the municipality's contact details and statements (server/municipality/profile.py's
    #: stored form); NULL: not filled in yet
    Column("profile", _json(), nullable=True),
    #: which Dutch public holidays close booking (server/core/holidays.py's stored form);
    #: NULL: the defaults
    Column("holidays", _json(), nullable=True),
    PrimaryKeyConstraint("id"),
)

purposes = Table(
    "purposes",
    metadata,
    Column("tenant_id", String(_ID), nullable=False),
    Column("key", String(_ID), nullable=False),
    Column("name", String(200), nullable=False),
    Column("skill", String(_ID), nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    Column("buffer_before_minutes", Integer, nullable=False, default=0),
    Column("buffer_after_minutes", Integer, nullable=False, default=0),
    Column("min_notice_minutes", Integer, nullable=False, default=0),
    Column("horizon_days", Integer, nullable=False, default=28),
    #: NULL: slots start every ``duration``
    Column("slot_interval_minutes", Integer, nullable=True),
    #: most appointments of this purpose per staff member per local date; NULL: no cap
    Column("daily_cap", Integer, nullable=True),
    #: how long verified attributes are kept after the call; NULL: deleted at call end
    Column("retention_days", Integer, nullable=True),
    #: semantic attribute tags the resident discloses, e.g. ["bsn", "full_name"]
    Column("disclosure", _json(), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    #: the reminders its appointments get: the day before, and an hour before
    Column("reminder_day", Boolean, nullable=False, default=True, server_default=true()),
    Column("reminder_hour", Boolean, nullable=False, default=True, server_default=true()),
    PrimaryKeyConstraint("tenant_id", "key"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
    CheckConstraint("duration_minutes > 0", name="duration"),
    CheckConstraint(
        "buffer_before_minutes >= 0 AND buffer_after_minutes >= 0 AND min_notice_minutes >= 0",
        name="non_negative",
    ),
    CheckConstraint("horizon_days BETWEEN 1 AND 366", name="horizon"),
)

staff = Table(
    "staff",
    metadata,
    Column("tenant_id", String(_ID), nullable=False),
    Column("id", String(_ID), nullable=False),
    Column("name", String(200), nullable=False),
    Column("skills", _json(), nullable=False),  #: ["wmo", "participatiewet"]
    Column("roles", _json(), nullable=False),  #: ["specialist", "planner", "admin"]
    #: most appointments (all purposes) per local date; NULL: no cap
    Column("daily_cap", Integer, nullable=True),
    #: where busy time is read (opaque to booking; the calendar connector parses it)
    Column("calendar_source", Text, nullable=True),
    #: when that calendar cannot be read: hide the staff member's slots, or ignore the calendar
    Column("calendar_failure", String(8), nullable=False, default="hide"),
    Column("active", Boolean, nullable=False, default=True),
    PrimaryKeyConstraint("tenant_id", "id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
    CheckConstraint("calendar_failure IN ('hide', 'ignore')", name="calendar_failure"),
)

availability_rules = Table(
    "availability_rules",
    metadata,
    Column("id", Integer, nullable=False, autoincrement=True),
    Column("tenant_id", String(_ID), nullable=False),
    Column("staff_id", String(_ID), nullable=False),
    Column("weekday", Integer, nullable=False),  #: 0 = Monday
    Column("start_time", Time, nullable=False),  #: wall clock, Europe/Amsterdam
    Column("end_time", Time, nullable=False),
    PrimaryKeyConstraint("id"),
    ForeignKeyConstraint(["tenant_id", "staff_id"], ["staff.tenant_id", "staff.id"]),
    CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
    CheckConstraint("start_time < end_time", name="hours"),
    Index(None, "tenant_id", "staff_id"),
)

availability_exceptions = Table(
    "availability_exceptions",
    metadata,
    Column("id", Integer, nullable=False, autoincrement=True),
    Column("tenant_id", String(_ID), nullable=False),
    Column("staff_id", String(_ID), nullable=False),
    Column("day", Date, nullable=False),  #: local date
    Column("kind", String(8), nullable=False),  #: closed | extra
    Column("start_time", Time, nullable=True),  #: both NULL: the whole day
    Column("end_time", Time, nullable=True),
    Column("reason", String(200), nullable=False, default=""),
    PrimaryKeyConstraint("id"),
    ForeignKeyConstraint(["tenant_id", "staff_id"], ["staff.tenant_id", "staff.id"]),
    CheckConstraint("kind IN ('closed', 'extra')", name="kind"),
    Index(None, "tenant_id", "staff_id", "day"),
)

appointments = Table(
    "appointments",
    metadata,
    Column("id", String(_UUID), nullable=False),
    Column("tenant_id", String(_ID), nullable=False),
    #: short code a resident can read out on the phone; not a secret
    Column("reference", String(16), nullable=False),
    Column("purpose_key", String(_ID), nullable=False),
    Column("staff_id", String(_ID), nullable=False),
    Column("state", String(16), nullable=False),
    Column("starts_at", UTCDateTime(), nullable=False),
    Column("ends_at", UTCDateTime(), nullable=False),
    #: the period widened by the purpose's buffers: what the no-overlap guarantee compares
    Column("buffered_start", UTCDateTime(), nullable=False),
    Column("buffered_end", UTCDateTime(), nullable=False),
    #: holds only: after this instant the hold no longer blocks and cannot be confirmed
    Column("hold_expires_at", UTCDateTime(), nullable=True),
    Column("room_id", String(_ID), nullable=True),
    #: compare-and-swap: every change increments it; writers name the version they read
    Column("version", Integer, nullable=False),
    #: the appointment this one replaced (reschedule)
    Column("rescheduled_from", String(_UUID), nullable=True),
    Column("contact_email", String(320), nullable=True),  # personal data: never logged
    Column("contact_phone", String(32), nullable=True),  # personal data: never logged
    #: the language of the resident's messages: nl | en
    Column("language", String(2), nullable=False, default="nl", server_default="nl"),
    #: False: the resident opted out of reminders (confirmations and notices still go)
    Column("reminders", Boolean, nullable=False, default=True, server_default=true()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    #: holds only: keyed pseudonyms of the client address and the browser that placed it
    #: (caps per client and per browser); cleared once the hold is confirmed, released or lapses
    Column("hold_client", String(32), nullable=True),
    Column("hold_browser", String(32), nullable=True),
    PrimaryKeyConstraint("id"),
    UniqueConstraint("tenant_id", "reference"),
    ForeignKeyConstraint(["tenant_id", "purpose_key"], ["purposes.tenant_id", "purposes.key"]),
    ForeignKeyConstraint(["tenant_id", "staff_id"], ["staff.tenant_id", "staff.id"]),
    CheckConstraint(
        "state IN (" + ", ".join(f"'{s}'" for s in ALL_STATES) + ")",
        name="state",
    ),
    CheckConstraint(
        "buffered_start <= starts_at AND starts_at < ends_at AND ends_at <= buffered_end",
        name="period",
    ),
    CheckConstraint("state <> 'held' OR hold_expires_at IS NOT NULL", name="hold_expiry"),
    CheckConstraint("version >= 1", name="version"),
    # The overlap check and the availability loads look up one staff member's periods.
    Index(None, "tenant_id", "staff_id", "buffered_start"),
    # The hold sweeper.
    Index(None, "state", "hold_expires_at"),
    # The caps on holds per client and per browser.
    Index(None, "hold_client"),
    Index(None, "hold_browser"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("tenant_id", String(_ID), nullable=False),
    Column("key", String(128), nullable=False),
    #: hold | confirm | release | cancel | reschedule | ...
    Column("operation", String(32), nullable=False),
    #: SHA-256 of the canonical request: same key + other request is refused
    Column("request_hash", String(64), nullable=False),
    #: the appointment the operation returned; NULL only inside the claiming transaction
    Column("appointment_id", String(_UUID), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "key"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
    Index(None, "created_at"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, nullable=False, autoincrement=True),
    Column("tenant_id", String(_ID), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    #: who: "resident", "staff:<id>", "system", ...
    Column("actor", String(128), nullable=False),
    #: what: "appointment.hold", "appointment.cancel", ...
    Column("action", String(64), nullable=False),
    #: on what: "appointment:<id>"
    Column("subject", String(128), nullable=False),
    #: names of the personal attributes involved, e.g. ["contact_email"]; never values
    Column("attributes", _json(), nullable=False),
    PrimaryKeyConstraint("id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
    Index(None, "tenant_id", "at"),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, nullable=False, autoincrement=True),
    Column("tenant_id", String(_ID), nullable=False),
    Column("appointment_id", String(_UUID), nullable=True),
    Column("purpose_key", String(_ID), nullable=True),
    Column("score", Integer, nullable=False),  #: 1 (bad) to 5 (good)
    Column("comment", Text, nullable=True),
    Column("at", UTCDateTime(), nullable=False),
    #: the call the answer is about; one answer per room (and per appointment)
    Column("room_id", String(_ID), nullable=True),
    PrimaryKeyConstraint("id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
    CheckConstraint("score BETWEEN 1 AND 5", name="score"),
    Index(None, "tenant_id", "at"),
    Index(None, "tenant_id", "appointment_id", unique=True),
    Index(None, "tenant_id", "room_id", unique=True),
)

#: verified identities, sealed (identity/vault.py); the application deletes each row at call
#: end or when ``delete_after`` passes. ``browser`` is a SHA-256 of the browser-session cookie.
vault_entries = Table(
    "vault_entries",
    metadata,
    Column("room_id", String(_ID), nullable=False),
    Column("verification_id", String(_ID), nullable=False),
    Column("tenant_id", String(_ID), nullable=True),
    Column("browser", String(64), nullable=True),
    Column("purpose_key", String(_ID), nullable=True),
    Column("sealed", Text, nullable=False),
    Column("kid", String(32), nullable=False),
    Column("created_at", Float, nullable=False),  #: unix seconds
    Column("delete_after", Float, nullable=False),  #: unix seconds
    PrimaryKeyConstraint("room_id", "verification_id"),
    Index(None, "delete_after"),
    Index(None, "kid"),
)

#: identity verifications in flight (identity/sessions.py, server/verification/): their state,
#: changed only by compare-and-set on ``state``, so a result is consumed once on any node and
#: survives a restart. The browser holds the id; the row is keyed by its SHA-256, and the
#: browser-session cookie is stored as a SHA-256 too. ``reference`` (the verifier's secret
#: session token) is sealed with the vault key ring.
verifications = Table(
    "verifications",
    metadata,
    Column("id_digest", String(64), nullable=False),
    Column("room_id", String(_ID), nullable=False),
    Column("browser", String(64), nullable=False),
    Column("purpose_key", String(_ID), nullable=False),
    Column("verifier", String(32), nullable=False),
    Column("reference", Text, nullable=False),
    Column("policy", JSON, nullable=False),
    Column("demo", Boolean, nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", String(32), nullable=True),
    Column("tags", Text, nullable=False),  #: tags proven, comma-separated (names, no values)
    Column("created_at", Float, nullable=False),  #: unix seconds
    Column("expires_at", Float, nullable=False),  #: unix seconds
    PrimaryKeyConstraint("id_digest"),
    Index(None, "expires_at"),
)

#: OpenID4VP transactions (identity/openid4vp/, server/verification/openid4vp_store.py): one
#: presentation request to an EU or NL wallet, changed only by compare-and-set on ``state``
#: (the request object served once, a response taken once, on any node). Keyed by the SHA-256
#: of the secret transaction id; ``request_id`` is the public id in the wallet's URLs. The rest
#: of the transaction (nonce, query, response key and verified identity, themselves sealed) is
#: in ``sealed``, sealed with the vault key ring and bound to the row's key.
openid4vp_transactions = Table(
    "openid4vp_transactions",
    metadata,
    Column("transaction_digest", String(64), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("sealed", Text, nullable=False),
    Column("created_at", Float, nullable=False),  #: unix seconds
    Column("expires_at", Float, nullable=False),  #: unix seconds
    PrimaryKeyConstraint("transaction_digest"),
    UniqueConstraint("request_id"),
    Index(None, "expires_at"),
)

#: staff sign-in (server/staff/): one account per person per tenant. ``password_hash`` is
#: argon2id; ``totp_sealed`` is the TOTP secret sealed with the vault key ring
#: (identity/vault.py), so a copy of the database alone does not give away second factors.
#: Both are NULL-able so an account that signs in through the municipality's identity
#: provider (OpenID Connect, later) needs neither.
staff_accounts = Table(
    "staff_accounts",
    metadata,
    Column("tenant_id", String(_ID), nullable=False),
    Column("id", String(_UUID), nullable=False),
    #: what the person types; stored lower-case, unique per tenant
    Column("login", String(128), nullable=False),
    Column("display_name", String(200), nullable=False),
    #: the bookable staff member this account acts as (specialists); NULL for others
    Column("staff_id", String(_ID), nullable=True),
    Column("roles", _json(), nullable=False),  #: ["specialist", "planner", "admin"]
    Column("password_hash", String(255), nullable=True),
    Column("totp_sealed", Text, nullable=True),
    #: the last TOTP time step accepted: a code is good once (replay guard)
    Column("totp_last_step", Integer, nullable=True),
    Column("disabled", Boolean, nullable=False, default=False),
    #: failed sign-in steps since the last success; drives the lockout backoff
    Column("failed_attempts", Integer, nullable=False, default=0),
    Column("locked_until", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    UniqueConstraint("tenant_id", "login"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
    ForeignKeyConstraint(["tenant_id", "staff_id"], ["staff.tenant_id", "staff.id"]),
    CheckConstraint("failed_attempts >= 0", name="failed_attempts"),
)

#: server-side staff sessions; the cookie holds a random id, this table its SHA-256, so a
#: database read does not hand out live sessions. ``stage``: ``anonymous`` (a sign-in form
#: was shown; holds only its CSRF secret), ``password`` (first factor passed, waiting for the
#: code), ``active`` (signed in). ``method`` records how the person authenticated.
staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("id_hash", String(64), nullable=False),
    Column("tenant_id", String(_ID), nullable=True),
    Column("account_id", String(_UUID), nullable=True),
    Column("stage", String(16), nullable=False),
    Column("method", String(32), nullable=True),
    Column("csrf_secret", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_seen", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),  #: the absolute limit
    PrimaryKeyConstraint("id_hash"),
    ForeignKeyConstraint(
        ["tenant_id", "account_id"],
        ["staff_accounts.tenant_id", "staff_accounts.id"],
        ondelete="CASCADE",
    ),
    CheckConstraint("stage IN ('anonymous', 'password', 'active')", name="stage"),
    Index(None, "tenant_id", "account_id"),
    Index(None, "expires_at"),
)

#: what the specialist recorded when closing an appointment (server/staff/desk/pages.py):
#: ``completed`` or ``no_show`` (mirrors the appointment's final state) and whether it needs a
#: follow-up.
#: ``recorded_by`` is an actor as in ``audit_events`` (``staff:<account id>``).
appointment_outcomes = Table(
    "appointment_outcomes",
    metadata,
    Column("tenant_id", String(_ID), nullable=False),
    Column("appointment_id", String(_UUID), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("follow_up", Boolean, nullable=False, default=False),
    Column("recorded_by", String(128), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("appointment_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
    ForeignKeyConstraint(["appointment_id"], ["appointments.id"]),
    CheckConstraint("outcome IN ('completed', 'no_show')", name="outcome"),
    Index(None, "tenant_id", "recorded_at"),
)

#: the walk-in queue (server/walkin/): one row per resident who came without an appointment
#: (or with one that is due now), from arrival until served or gone. No personal data: the
#: identity result stays in the vault, and ``verification`` is the SHA-256 of the verification
#: id (the row key of ``verifications``), never the id, which is a bearer secret. State changes
#: are compare-and-set on ``state`` and ``version`` (server/walkin/store.py).
walkin_tickets = Table(
    "walkin_tickets",
    metadata,
    Column("id", String(_UUID), nullable=False),
    Column("tenant_id", String(_ID), nullable=False),
    Column("purpose", String(_ID), nullable=False),
    Column("channel", String(8), nullable=False),  #: video | voice | chat
    #: the call the resident waits in (a walk-in room; its resident token carries ``walkin``)
    Column("room_id", String(_ID), nullable=True),
    #: a specialist's note for the next one (hand back, hand over), sealed with the vault keys
    #: and bound to the ticket; NULL once the ticket ends
    Column("note_sealed", Text, nullable=True),
    #: waiting | away | taken | done | left (server/walkin/queue.py draws the machine)
    Column("state", String(8), nullable=False),
    #: a booked appointment that is due now: served before walk-ins of its purpose
    Column("booked", Boolean, nullable=False, default=False),
    #: the order of the queue; kept when a ticket goes away and back, or is handed back
    Column("arrived_at", UTCDateTime(), nullable=False),
    Column("verification", String(64), nullable=True),
    #: the staff member serving the ticket (taken, done); an actor id, like audit's
    Column("taken_by", String(_ID), nullable=True),
    Column("taken_at", UTCDateTime(), nullable=True),
    #: when the connection was lost (away): the grace period counts from here
    Column("away_since", UTCDateTime(), nullable=True),
    #: compare-and-set: every change increments it
    Column("version", Integer, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("id"),
    ForeignKeyConstraint(["tenant_id", "purpose"], ["purposes.tenant_id", "purposes.key"]),
    CheckConstraint(
        "state IN ('waiting', 'away', 'taken', 'done', 'left')",
        name="state",
    ),
    CheckConstraint("channel IN ('video', 'voice', 'chat')", name="channel"),
    CheckConstraint("state NOT IN ('taken', 'done') OR taken_by IS NOT NULL", name="taker"),
    CheckConstraint("state <> 'away' OR away_since IS NOT NULL", name="away_since"),
    CheckConstraint("version >= 1", name="version"),
    CheckConstraint("state NOT IN ('done', 'left') OR note_sealed IS NULL", name="note_ends"),
    # The sweeper that lets tickets away past the grace period go.
    Index(None, "state", "away_since"),
    # Purging ended tickets.
    Index(None, "state", "updated_at"),
    # One ticket per walk-in room: the resident's page finds its ticket by its room.
    UniqueConstraint("room_id"),
)

#: "bel mij terug" (server/walkin/callbacks.py): a resident who did not want to wait asked to be
#: called back in a time window. The phone number is the only personal data, sealed with the
#: vault keys (bound to the row's id) and set to NULL as soon as the call-back is done, or when
#: the window is a day past; the row stays, without it, for the planner's figures.
walkin_callbacks = Table(
    "walkin_callbacks",
    metadata,
    Column("id", String(_UUID), nullable=False),
    Column("tenant_id", String(_ID), nullable=False),
    Column("purpose", String(_ID), nullable=False),
    Column("phone_sealed", Text, nullable=True),
    Column("window_start", UTCDateTime(), nullable=False),
    Column("window_end", UTCDateTime(), nullable=False),
    #: open | called | unreachable | expired
    Column("state", String(12), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("done_at", UTCDateTime(), nullable=True),
    #: the staff member who called (called, unreachable)
    Column("done_by", String(_ID), nullable=True),
    PrimaryKeyConstraint("id"),
    ForeignKeyConstraint(["tenant_id", "purpose"], ["purposes.tenant_id", "purposes.key"]),
    CheckConstraint("state IN ('open', 'called', 'unreachable', 'expired')", name="state"),
    CheckConstraint("state = 'open' OR phone_sealed IS NULL", name="phone_only_while_open"),
    CheckConstraint("window_end > window_start", name="window"),
    Index(None, "tenant_id", "state", "window_start"),
)

#: a purpose's walk-in counter (server/walkin/counters.py): its opening hours and when the queue
#: counts as full. No row: the purpose has no walk-in counter (booked appointments only).
walkin_counters = Table(
    "walkin_counters",
    metadata,
    Column("tenant_id", String(_ID), nullable=False),
    Column("purpose", String(_ID), nullable=False),
    #: server/walkin/hours.py's stored form (docs/walk-in.md, "The stored form")
    Column("hours", _json(), nullable=False),
    #: most residents waiting at once; a new arrival beyond it is offered a booking or a
    #: call-back instead. NULL: no limit
    Column("max_waiting", Integer, nullable=True),
    #: the same for the expected wait, in minutes. NULL: no limit
    Column("max_wait_minutes", Integer, nullable=True),
    #: the average conversation the expected wait is estimated with
    Column("handling_minutes", Integer, nullable=False, default=10),
    Column("updated_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "purpose"),
    ForeignKeyConstraint(["tenant_id", "purpose"], ["purposes.tenant_id", "purposes.key"]),
    CheckConstraint(
        "(max_waiting IS NULL OR max_waiting >= 0) AND "
        "(max_wait_minutes IS NULL OR max_wait_minutes >= 0) AND handling_minutes > 0",
        name="limits",
    ),
)

# "Volgende inwoner": the first waiting ticket of a purpose in the order rule (booked first,
# then arrival, then id) is the first entry of this index at (tenant, purpose, 'waiting'), so
# for one purpose it is one entry read, however long the queue. For several purposes the
# waiting tickets of those are read and sorted: a queue is tens long, not thousands.
Index(
    "ix_walkin_tickets_next",
    walkin_tickets.c.tenant_id,
    walkin_tickets.c.purpose,
    walkin_tickets.c.state,
    walkin_tickets.c.booked.desc(),
    walkin_tickets.c.arrived_at,
    walkin_tickets.c.id,
)

#: every e-mail, SMS and calendar write Balie owes (server/messages/): written in the same
#: transaction as the change that causes it, delivered by the outbox worker. One row per
#: (channel, template, subject): enqueueing twice is a no-op, so a message exists once. No
#: personal data: the address and the text are made from the appointment when it goes out.
outbox = Table(
    "outbox",
    metadata,
    Column("id", String(_UUID), nullable=False),
    Column("tenant_id", String(_ID), nullable=False),
    Column("channel", String(8), nullable=False),  #: email | sms | calendar
    #: what is sent: confirmation, reminder-day, ... (server/messages/model.py)
    Column("template", String(24), nullable=False),
    #: what it is about: an appointment id
    Column("subject_id", String(_UUID), nullable=False),
    #: pending | sending | sent | failed | dropped (server/messages/model.py draws the machine)
    Column("state", String(8), nullable=False),
    #: when it is meant to go (a reminder: before the appointment)
    Column("due_at", UTCDateTime(), nullable=False),
    #: not tried again before this (due_at, then pushed back after each failure)
    Column("not_before", UTCDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    #: sending: the worker that claimed it owns it until then; past it, another may retry
    Column("lease_until", UTCDateTime(), nullable=True),
    #: why the last attempt failed, without personal data (an SMTP code, an HTTP status)
    Column("last_error", String(200), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime(), nullable=True),
    PrimaryKeyConstraint("id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
    CheckConstraint("channel IN ('email', 'sms', 'calendar')", name="channel"),
    CheckConstraint("state IN ('pending', 'sending', 'sent', 'failed', 'dropped')", name="state"),
    CheckConstraint("state <> 'sending' OR lease_until IS NOT NULL", name="lease"),
    CheckConstraint("attempts >= 0", name="attempts"),
    UniqueConstraint("tenant_id", "channel", "template", "subject_id"),
    # The worker: due rows by state.
    Index(None, "state", "not_before"),
    # The planner's overview.
    Index(None, "tenant_id", "state"),
)

#: the earlier-time list (server/booking/earlier.py): residents with a booking who asked to be
#: told when an earlier time of the same purpose frees up, first asked first served. An offer
#: is a hold on the freed slot (``offer_id``, an appointment in state ``held``), which keeps
#: it for the first in line, and only them, until the hold lapses.
earlier_requests = Table(
    "earlier_requests",
    metadata,
    Column("appointment_id", String(_UUID), nullable=False),
    Column("tenant_id", String(_ID), nullable=False),
    Column("purpose_key", String(_ID), nullable=False),
    Column("asked_at", UTCDateTime(), nullable=False),
    Column("offer_id", String(_UUID), nullable=True),
    PrimaryKeyConstraint("appointment_id"),
    ForeignKeyConstraint(["appointment_id"], ["appointments.id"]),
    Index(None, "tenant_id", "purpose_key", "asked_at"),
)
