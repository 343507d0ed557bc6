"""Appointments as stored: the state machine, the record, and the resident's contact details.

Holds and bookings are one record in one table, so the database's no-overlap guarantee sees
both (a hold is a booking that has not been confirmed yet)::

    held ─confirm─▶ booked ─check_in─▶ checked_in ─start_call─▶ in_call ─complete─▶ completed
     │               │  │                 │
     │ release       │  └─────no_show─────┴─▶ no_show
     ▼               ▼ cancel; reschedule (the old one)
    released        cancelled
     (lapsed: held ─▶ expired)

Only :data:`ACTIVE` states occupy a staff member's time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final

#: the shapes a contact e-mail address and phone number must have (API and planner forms);
#: no control characters (PostgreSQL refuses NUL, the rest would break a mail header)
_ADDRESS_PART: Final = r"[^@\s:\x00-\x1f\x7f-\x9f]"
CONTACT_EMAIL: Final = re.compile(rf"{_ADDRESS_PART}{{1,64}}@{_ADDRESS_PART}{{1,190}}")
#: an appointment id (a UUID4 in lower-case hex), as URLs and forms carry it
APPOINTMENT_ID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class AppointmentState(StrEnum):
    HELD = "held"  #: claimed while the resident completes the booking; expires
    BOOKED = "booked"  #: confirmed
    CHECKED_IN = "checked_in"  #: the resident verified and waits in the lobby
    IN_CALL = "in_call"  #: the call is running
    COMPLETED = "completed"  #: the specialist closed the call
    NO_SHOW = "no_show"  #: the resident did not come
    CANCELLED = "cancelled"  #: cancelled, or replaced by a rescheduled appointment
    EXPIRED = "expired"  #: a hold that lapsed before confirmation
    RELEASED = "released"  #: a hold given up before it lapsed


S = AppointmentState

#: states that occupy the staff member's time (the database refuses overlaps among these)
ACTIVE: Final = frozenset({S.HELD, S.BOOKED, S.CHECKED_IN, S.IN_CALL})


@dataclass(frozen=True, slots=True)
class Transition:
    """An operation on an existing appointment: the states it may start from, where it ends."""

    name: str  #: the verb, as in "cannot confirm: appointment is cancelled"
    sources: frozenset[AppointmentState]
    target: AppointmentState
    #: the operation's name in audit events and idempotency records
    action: str


CONFIRM: Final = Transition("confirm", frozenset({S.HELD}), S.BOOKED, "confirm")
RELEASE: Final = Transition("release", frozenset({S.HELD}), S.RELEASED, "release")
CANCEL: Final = Transition("cancel", frozenset({S.BOOKED}), S.CANCELLED, "cancel")
RESCHEDULE: Final = Transition("reschedule", frozenset({S.BOOKED}), S.CANCELLED, "reschedule")
CHECK_IN: Final = Transition("check in", frozenset({S.BOOKED}), S.CHECKED_IN, "check_in")
START_CALL: Final = Transition("start the call", frozenset({S.CHECKED_IN}), S.IN_CALL, "start_call")
COMPLETE: Final = Transition("complete", frozenset({S.IN_CALL}), S.COMPLETED, "complete")
NO_SHOW: Final = Transition(
    "mark no-show", frozenset({S.BOOKED, S.CHECKED_IN}), S.NO_SHOW, "no_show"
)


@dataclass(frozen=True, slots=True)
class Contact:
    """Where a confirmation may be sent, and how. The address and number are personal data:
    kept out of reprs, logs and audit."""

    email: str | None = field(default=None, repr=False)
    #: E.164 (+31612345678)
    phone: str | None = field(default=None, repr=False)
    #: the language of the messages: nl | en
    language: str = "nl"
    #: False: no reminders (confirmations and notices still go)
    reminders: bool = True

    @property
    def attribute_names(self) -> tuple[str, ...]:
        """The names (never the values) of the details present, for the audit trail."""
        names = []
        if self.email:
            names.append("contact_email")
        if self.phone:
            names.append("contact_phone")
        return tuple(names)


@dataclass(frozen=True, slots=True)
class Appointment:
    """One row of ``appointments``; times are aware UTC datetimes."""

    id: str
    tenant_id: str
    reference: str  #: short, readable, not a secret
    purpose_key: str
    staff_id: str
    state: AppointmentState
    start: datetime
    end: datetime
    #: the period widened by the purpose's buffers, as the no-overlap guarantee compares it
    buffered_start: datetime
    buffered_end: datetime
    hold_expires_at: datetime | None
    room_id: str | None
    #: pass it back to change the appointment (compare-and-swap); every change increments it
    version: int
    rescheduled_from: str | None
    created_at: datetime
    updated_at: datetime
    contact: Contact = field(default_factory=Contact, repr=False)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE
