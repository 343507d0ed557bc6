"""The week view: staff × days, with each day's open hours, exceptions and bookings.

Without ``?week=`` it opens on today and the six days after it (a planner plans ahead; the
days of this week that have passed are one "Vorige week" away); ``?week=<date>`` shows the
Monday-to-Sunday week of that date. A public holiday is marked with its Dutch name in the
column header, and where the tenant's holiday rules close it the weekly hours are gone, as
in the slot search (:mod:`server.booking.slots`): only extra hours open it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final

from aiohttp import web

from server.booking.appkeys import CATALOG
from server.booking.appointment import (
    AppointmentState,
)
from server.booking.intervals import merge, subtract, wall_to_instant
from server.booking.model import WeeklyRule
from server.core.clock import AMSTERDAM
from server.core.dates import parse_date
from server.core.holidays import HolidayRules, closing_holiday, public_holiday
from server.core.language import N_, gettext_for
from server.staff.auth import requires, staff_principal
from server.staff.model import Role
from server.staff.planner.common import (
    PLANNER_STORE,
    STATE_LABELS,
    booking_service,
    clock_label,
    day_label,
    language_code,
    local_today,
    page,
    purposes_of,
    span_label,
)
from server.staff.planner.forms import (
    KINDS,
)
from server.staff.planner.store import DayException, StaffRow

log = logging.getLogger("balie.planner")


#: appointments the week view leaves out: they no longer take anyone's time
_HIDDEN: Final = frozenset(
    {AppointmentState.CANCELLED, AppointmentState.EXPIRED, AppointmentState.RELEASED}
)


@dataclass(frozen=True, slots=True)
class Booked:
    id: str
    time: str
    purpose: str
    reference: str
    state: str


@dataclass(frozen=True, slots=True)
class Cell:
    hours: tuple[str, ...]  #: open blocks, "09:00–12:30"
    notes: tuple[str, ...]  #: exceptions, "Niet beschikbaar (Feestdag)"
    booked: tuple[Booked, ...]


@dataclass(frozen=True, slots=True)
class Day:
    """One column: the date, its label, and the public holiday on it (Dutch name) if any."""

    day: date
    label: str
    holiday: str | None = None
    #: the tenant's rules close bookings on it (False: marked, but booked as usual)
    closed: bool = False


@dataclass(frozen=True, slots=True)
class Row:
    member: StaffRow
    cells: tuple[Cell, ...]


def day_hours(
    rules: Sequence[WeeklyRule],
    exceptions: Sequence[DayException],
    day: date,
    gettext: Callable[[str], str] = N_,
    holidays: HolidayRules | None = None,
) -> tuple[list[tuple[time, time]], list[str]]:
    """One day's open blocks after its exceptions, and the exceptions as notes: the same
    arithmetic the slot engine does (a closing public holiday takes the weekly hours; closed
    all day wins; extra adds; closed hours cut). ``holidays`` None: holidays are ignored."""
    blocks = [(rule.start, rule.end) for rule in rules if rule.weekday == day.weekday()]
    if blocks and holidays is not None and closing_holiday(holidays, day) is not None:
        blocks = []  # the column header names the holiday
    closed: list[tuple[time, time]] = []
    notes = []
    whole_day = False
    for exception in exceptions:
        if exception.day != day:
            continue
        span = (
            (exception.start, exception.end)
            if exception.start is not None and exception.end is not None
            else None
        )
        label = gettext(KINDS.get(exception.kind, exception.kind))
        when = gettext("hele dag") if span is None else span_label(*span)
        # the reason is stored as its Dutch label (planner_forms.REASONS)
        reason = gettext(exception.reason) if exception.reason else ""
        notes.append(f"{label} {when} ({reason})" if reason else label)
        if exception.kind == "extra" and span is not None:
            blocks.append(span)
        elif span is None:
            whole_day = True
        else:
            closed.append(span)
    if whole_day:
        return [], notes

    # wall-clock arithmetic on one naive date: no zone, so no DST shift enters the picture
    def wall(span: tuple[time, time]) -> tuple[datetime, datetime]:
        return datetime.combine(day, span[0]), datetime.combine(day, span[1])

    open_ = subtract(merge(wall(span) for span in blocks), [wall(span) for span in closed])
    return [(start.time(), end.time()) for start, end in open_], notes


def week_start(raw: str | None, today: date) -> date:
    """The Monday of the week ``raw`` (a date) falls in; ``today``'s week if absent or wrong."""
    day = parse_date(raw or "") or today
    return day - timedelta(days=day.weekday())


def first_shown(raw: str | None, today: date) -> date:
    """The first date the view shows: the Monday of ``raw``'s week, or today without a
    usable ``raw`` (never the days of this week that have passed)."""
    return today if parse_date(raw or "") is None else week_start(raw, today)


@requires(Role.PLANNER)
async def week_view(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    gettext = gettext_for(request)
    language = language_code(request)
    tenant = principal.tenant_id
    today = local_today(request)
    first = first_shown(request.query.get("week"), today)
    monday = week_start(first.isoformat(), today)
    days = [first + timedelta(days=n) for n in range(7)]
    holidays = await request.app[CATALOG].holidays(tenant)
    store = request.app[PLANNER_STORE]
    members = await store.staff(tenant)
    skills = sorted({skill for member in members for skill in member.skills})
    skill = request.query.get("skill", "")
    if skill in skills:
        members = [member for member in members if skill in member.skills]
    else:
        skill = ""
    ids = [member.id for member in members]
    rules = await store.weekly_hours(tenant, ids)
    exceptions = await store.exceptions(tenant, ids, days[0], days[-1])
    low = wall_to_instant(days[0], time(0), AMSTERDAM)
    high = wall_to_instant(days[-1] + timedelta(days=1), time(0), AMSTERDAM)
    found = await booking_service(request).appointments_between(tenant, low, high)
    names = {purpose.key: purpose.name for purpose in await purposes_of(request, tenant)}
    by_cell: dict[tuple[str, date], list[Booked]] = defaultdict(list)
    for appointment in found:
        if appointment.state in _HIDDEN:
            continue
        local = appointment.start.astimezone(AMSTERDAM)
        by_cell[(appointment.staff_id, local.date())].append(
            Booked(
                appointment.id,
                f"{clock_label(appointment.start)}–{clock_label(appointment.end)}",
                names.get(appointment.purpose_key, appointment.purpose_key),
                appointment.reference,
                gettext(STATE_LABELS[appointment.state]),
            )
        )
    own = defaultdict(list)
    for exception in exceptions:
        own[exception.staff_id].append(exception)
    rows = []
    for member in members:
        cells = []
        for day in days:
            blocks, notes = day_hours(rules[member.id], own[member.id], day, gettext, holidays)
            cells.append(
                Cell(
                    tuple(span_label(start, end) for start, end in blocks),
                    tuple(notes),
                    tuple(by_cell.get((member.id, day), ())),
                )
            )
        rows.append(Row(member, tuple(cells)))
    return page(
        request,
        principal,
        "planner/week.html",
        rows=rows,
        days=[
            Day(
                day,
                day_label(day, language),
                public_holiday(day),
                closing_holiday(holidays, day) is not None,
            )
            for day in days
        ],
        skills=skills,
        skill=skill,
        first=first,
        previous=(monday - timedelta(days=7)).isoformat(),
        next=(monday + timedelta(days=7)).isoformat(),
        this_week=first == today,
    )
