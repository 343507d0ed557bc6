"""The outbox's vocabulary and its state machine, free of I/O.

A message is one row of ``outbox``: a channel (e-mail, SMS, a calendar write), a template (what
is said) and a subject (the appointment it is about). It moves through::

    pending ──claim──▶ sending ──sent──▶ sent
       ▲                  │ └──refused / out of attempts──▶ failed ──retry (planner)──▶ pending
       └──deferred────────┘
    pending ──drop (the appointment was cancelled before its reminder)──▶ dropped
    sending ──skip (found not needed when it was about to go)──▶ dropped

``sending`` is held under a lease: a worker that dies mid-send leaves the row ``sending`` with
a lease in the past, and the next worker claims it again. That is why delivery is *at least
once*: a worker killed after the SMTP server accepted the message, but before it recorded
``sent``, sends it again. Every e-mail carries the same Message-ID on every attempt (made from
the row's id), so a mailbox can tell the two apart, and the window is the few milliseconds
between the server's 250 and our commit. Everything before the server's acceptance is retried
without a duplicate (docs/messages.md, "Crash safety").

Reminders fall at local times: the day before at the appointment's own wall-clock time (a
Monday 10:00 appointment is reminded on Sunday at 10:00, also when the clocks change that
night), and an hour before in real time. A reminder whose moment is already past, or too
close to the booking to be of use, is not written at all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from server.messages.errors import InvalidTransition


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    #: the staff member's CalDAV calendar, made to match the appointment
    CALENDAR = "calendar"


class Template(StrEnum):
    """What a message says. Calendar rows use :attr:`CALENDAR_BOOKED` and
    :attr:`CALENDAR_CANCELLED`; both make the calendar match the appointment as it is when
    the row goes out, so their order cannot leave a stale event."""

    CONFIRMATION = "confirmation"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    REMINDER_DAY = "reminder-day"
    REMINDER_HOUR = "reminder-hour"
    #: the specialist is absent: pick a new time
    ABSENCE = "absence"
    #: an earlier time came free and is held for the resident
    EARLIER = "earlier"
    #: a walk-in resident asked to be called back: when (the subject is the call-back)
    CALLBACK = "callback"
    CALENDAR_BOOKED = "calendar-booked"
    CALENDAR_CANCELLED = "calendar-cancelled"


REMINDERS: Final = frozenset({Template.REMINDER_DAY, Template.REMINDER_HOUR})


class State(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DROPPED = "dropped"


#: how long a claim lasts: longer than one SMTP conversation or HTTP call with its timeout
LEASE: Final = timedelta(minutes=2)
#: the first retry's wait; each later one doubles, up to :data:`MAX_BACKOFF`
FIRST_BACKOFF: Final = timedelta(seconds=30)
MAX_BACKOFF: Final = timedelta(hours=1)
#: a reminder is written only if its moment is at least this far after the booking
REMINDER_MARGIN: Final = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Message:
    """One outbox row, as the machine sees it."""

    id: str
    state: State
    attempts: int
    not_before: datetime
    lease_until: datetime | None = None
    last_error: str | None = None
    sent_at: datetime | None = None

    def claim(self, now: datetime, lease: timedelta = LEASE) -> Message:
        """Take it to send: a pending row that is due, or a sending row whose lease ran out."""
        lapsed = self.state is State.SENDING and self.lease_until is not None
        if lapsed and self.lease_until is not None and self.lease_until > now:
            raise InvalidTransition("sending (leased)", "claim")
        if not (self.state is State.PENDING or lapsed):
            raise InvalidTransition(self.state, "claim")
        if self.state is State.PENDING and self.not_before > now:
            raise InvalidTransition("pending (not due)", "claim")
        return replace(
            self, state=State.SENDING, attempts=self.attempts + 1, lease_until=now + lease
        )

    def sent(self, now: datetime) -> Message:
        self._require(State.SENDING, "mark sent")
        return replace(self, state=State.SENT, lease_until=None, last_error=None, sent_at=now)

    def deferred(self, now: datetime, reason: str, max_attempts: int) -> Message:
        """A failure worth retrying: back to pending after a backoff, or failed when the
        attempts are spent."""
        self._require(State.SENDING, "defer")
        if self.attempts >= max_attempts:
            return self.refused(reason)
        return replace(
            self,
            state=State.PENDING,
            lease_until=None,
            last_error=reason[:200],
            not_before=now + backoff(self.attempts),
        )

    def refused(self, reason: str) -> Message:
        self._require(State.SENDING, "fail")
        return replace(self, state=State.FAILED, lease_until=None, last_error=reason[:200])

    def retried(self, now: datetime) -> Message:
        """The planner sends a failed message again: due now, attempts counted afresh."""
        self._require(State.FAILED, "retry")
        return replace(self, state=State.PENDING, attempts=0, not_before=now)

    def dropped(self) -> Message:
        """Not needed any more (a reminder of a cancelled appointment)."""
        self._require(State.PENDING, "drop")
        return replace(self, state=State.DROPPED)

    def skipped(self, reason: str) -> Message:
        """Claimed, then found not needed any more: the appointment changed since."""
        self._require(State.SENDING, "skip")
        return replace(self, state=State.DROPPED, lease_until=None, last_error=reason[:200])

    def _require(self, state: State, change: str) -> None:
        if self.state is not state:
            raise InvalidTransition(self.state, change)


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s, 1 min, 2 min, ... up to an
    hour; eight attempts span about an hour and a half, a typical mail server outage."""
    doubled: timedelta = FIRST_BACKOFF * 2 ** max(attempts - 1, 0)
    return min(doubled, MAX_BACKOFF)


@dataclass(frozen=True, slots=True)
class ReminderPlan:
    """Which reminders an appointment gets and when (aware UTC instants)."""

    day: datetime | None
    hour: datetime | None


def reminder_times(
    start: datetime,
    booked_at: datetime,
    zone: ZoneInfo,
    *,
    day: bool = True,
    hour: bool = True,
) -> ReminderPlan:
    """When to remind of an appointment at ``start`` that was booked at ``booked_at``.

    The day reminder falls on the previous local date at the same wall-clock time (resolved
    through the zone, so 10:00 stays 10:00 across a DST change: 23 or 25 real hours); the
    hour reminder one real hour before. One that would fall before ``booked_at`` plus
    :data:`REMINDER_MARGIN` is left out: the confirmation has just said it all.
    """
    local = start.astimezone(zone)
    previous = (local.replace(tzinfo=None) - timedelta(days=1)).replace(tzinfo=zone)
    day_at = previous.astimezone(start.tzinfo) if day else None
    hour_at = start - timedelta(hours=1) if hour else None
    earliest = booked_at + REMINDER_MARGIN

    def kept(moment: datetime | None) -> datetime | None:
        return moment if moment is not None and moment >= earliest else None

    return ReminderPlan(day=kept(day_at), hour=kept(hour_at))
