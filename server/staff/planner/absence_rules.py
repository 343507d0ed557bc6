"""Which appointments a change of a staff member's availability would leave without them.

Pure functions, no I/O: the planner console (server/staff/planner/absences.py) reads the
appointments and the colleagues' verdicts, these decide. A change is a closed exception (a
day off, an absence, part of a day, or a run of days) or new weekly hours; it "meets" an
appointment when the staff member would no longer work at its time. Such a change is not
saved while an appointment it meets is still the staff member's, so no resident is left
waiting for someone who is not there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from server.booking.appointment import Appointment, AppointmentState
from server.booking.explanation import Explanation
from server.booking.intervals import wall_to_instant
from server.booking.model import WeeklyRule
from server.core.language import N_
from server.staff.planner.forms import (
    BLOCKS,
    WEEKDAYS,
    Checked,
    ExceptionInput,
    Translate,
    hours_field,
    parse_exception,
    parse_hours,
)
from server.staff.planner.store import DayException, StaffRow

#: the ``change`` field: which form the pending change came from
EXCEPTION: Final = "uitzondering"
HOURS: Final = "uren"
_EXCEPTION_FIELDS: Final = ("first_day", "last_day", "kind", "start", "end", "reason")
_HOURS_FIELDS: Final = tuple(
    hours_field(weekday, block, end)
    for weekday in range(len(WEEKDAYS))
    for block in range(BLOCKS)
    for end in ("start", "end")
)
#: the active states: an appointment in one of them still needs its staff member
_ACTIVE: Final = frozenset(
    {
        AppointmentState.HELD,
        AppointmentState.BOOKED,
        AppointmentState.CHECKED_IN,
        AppointmentState.IN_CALL,
    }
)
#: how far ahead new weekly hours can meet a booking (longer than any purpose's horizon)
HOURS_REACH: Final = timedelta(days=400)

#: why a colleague cannot take an appointment over (shown through the request's gettext)
NOT_LISTED: Final = N_("Kies een collega uit de lijst.")
SAME_PERSON: Final = N_("Kies een andere medewerker dan de medewerker die afwezig is.")
NO_SKILL: Final = N_(
    "%(name)s heeft niet de kennis voor dit onderwerp. Kies een andere collega, of stuur de "
    "inwoner een bericht."
)
NOT_FREE: Final = N_(
    "%(name)s is op dat moment niet vrij. Kies een andere collega, of stuur de inwoner een bericht."
)


@dataclass(frozen=True, slots=True)
class Change:
    """A change of availability the planner asked for, checked, not saved yet.

    ``exception`` for a closed exception; ``hours`` (and the staff member's extra hours,
    which still count) for new weekly hours.
    """

    fields: dict[str, str]  #: the form's fields as posted (carried from page to page)
    exception: ExceptionInput | None = None
    hours: tuple[WeeklyRule, ...] = ()

    @property
    def is_hours(self) -> bool:
        return self.exception is None


def pending_fields(form: Mapping[str, str]) -> dict[str, str]:
    """The fields of a pending change in ``form`` (a POST or a query): only the change
    form's own names, only filled ones, each cut to the length its parser reads."""
    change = form.get("change", "")
    names = _EXCEPTION_FIELDS if change == EXCEPTION else _HOURS_FIELDS if change == HOURS else ()
    kept = {name: form.get(name, "")[:16] for name in names}
    return {"change": change} | {name: value for name, value in kept.items() if value.strip()}


def parse_change(
    fields: Mapping[str, str], today: date, gettext: Translate = N_
) -> tuple[Change | None, Checked]:
    """The pending change, checked again by the form's own parser (a page may have been open
    since yesterday, and hidden fields can be altered); None with the parser's errors."""
    change = fields.get("change", "")
    if change == EXCEPTION:
        parsed, checked = parse_exception(fields, today, gettext)
        if parsed is None:
            return None, checked
        return Change(dict(fields), exception=parsed), checked
    if change == HOURS:
        blocks, checked = parse_hours(fields, gettext)
        if checked.errors:
            return None, checked
        return Change(dict(fields), hours=tuple(blocks)), checked
    checked = Checked()
    checked.fail(
        "change", gettext("Deze wijziging is niet compleet. Vul het formulier opnieuw in.")
    )
    return None, checked


def meets_bookings(change: Change) -> bool:
    """Can this change leave an appointment without its staff member? Extra hours cannot."""
    return change.is_hours or (change.exception is not None and change.exception.kind == "closed")


def window(change: Change, now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants in which the change can meet an appointment."""
    if change.exception is not None:
        days = change.exception.days
        return (
            wall_to_instant(days[0], time(0), zone),
            wall_to_instant(days[-1] + timedelta(days=1), time(0), zone),
        )
    return now, now + HOURS_REACH


def closed_periods(exception: ExceptionInput, zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """A closed exception as instants: each day whole, or its hours on each day."""
    periods = []
    for day in exception.days:
        if exception.hours is None:
            low, high = time(0), None
        else:
            low, high = exception.hours
        start = wall_to_instant(day, low, zone)
        end = (
            wall_to_instant(day + timedelta(days=1), time(0), zone)
            if high is None
            else wall_to_instant(day, high, zone)
        )
        periods.append((start, end))
    return periods


def fits_hours(
    start: datetime,
    end: datetime,
    blocks: Iterable[WeeklyRule],
    extras: Iterable[DayException],
    zone: ZoneInfo,
) -> bool:
    """Does [start, end) lie inside one weekly block of its day, or one day's extra hours?"""
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    if local_start.date() != local_end.date() and local_end.time() != time(0):
        return False  # an appointment across midnight fits no block of one day
    day, low = local_start.date(), local_start.time()
    high = time.max if local_end.time() == time(0) else local_end.time()
    spans = [(b.start, b.end) for b in blocks if b.weekday == day.weekday()]
    spans += [
        (x.start, x.end)
        for x in extras
        if x.kind == "extra" and x.day == day and x.start is not None and x.end is not None
    ]
    return any(a <= low and high <= b for a, b in spans)


def left_without(
    change: Change, extras: Iterable[DayException], zone: ZoneInfo
) -> Callable[[datetime, datetime], bool]:
    """A test of [start, end): would the staff member be away then after the change?"""
    if change.exception is not None:
        periods = closed_periods(change.exception, zone)
        return lambda start, end: any(start < b and a < end for a, b in periods)
    kept_extras = tuple(extras)
    return lambda start, end: not fits_hours(start, end, change.hours, kept_extras, zone)


def affected(
    appointments: Iterable[Appointment],
    staff_id: str,
    now: datetime,
    away: Callable[[datetime, datetime], bool],
) -> list[Appointment]:
    """The staff member's active appointments, not over yet, at a time they would be away;
    by start. A lapsed hold no longer counts: it blocks nobody."""
    found = [
        a
        for a in appointments
        if a.staff_id == staff_id
        and a.state in _ACTIVE
        and a.end > now
        and not (
            a.state is AppointmentState.HELD
            and a.hold_expires_at is not None
            and a.hold_expires_at <= now
        )
        and away(a.start, a.end)
    ]
    return sorted(found, key=lambda a: (a.start, a.id))


def booked(appointments: Sequence[Appointment]) -> list[Appointment]:
    """Those a planner can hand over or cancel: the booked ones. The others (a resident
    holding a time, a call under way) finish by themselves."""
    return [a for a in appointments if a.state is AppointmentState.BOOKED]


def free_colleagues(
    explanation: Explanation, members: Sequence[StaffRow], absent_id: str
) -> list[StaffRow]:
    """The colleagues (in the console's order, by name) who could take the appointment at
    its own time: the booking engine offers that start with them."""
    free = set(explanation.offered_by) - {absent_id}
    return [member for member in members if member.id in free]


def refusal(
    colleague_id: str,
    members: Sequence[StaffRow],
    skill: str,
    explanation: Explanation,
    absent_id: str,
    gettext: Translate = N_,
) -> str | None:
    """Why ``colleague_id`` cannot take the appointment over, in plain words; None: they can."""
    member = next((m for m in members if m.id == colleague_id), None)
    if member is None:
        return gettext(NOT_LISTED)
    if member.id == absent_id:
        return gettext(SAME_PERSON)
    if skill not in member.skills:
        return gettext(NO_SKILL) % {"name": member.name}
    if member.id not in explanation.offered_by:
        return gettext(NOT_FREE) % {"name": member.name}
    return None


def same_exceptions(wanted: ExceptionInput, present: Iterable[DayException], staff_id: str) -> bool:
    """Are these exceptions stored already? Then saving again (a double submit of the last
    step) adds nothing."""
    start, end = wanted.hours if wanted.hours is not None else (None, None)
    have = {(x.day, x.kind, x.start, x.end, x.reason) for x in present if x.staff_id == staff_id}
    return all((day, wanted.kind, start, end, wanted.reason) in have for day in wanted.days)
