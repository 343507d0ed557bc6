"""The week view: staff × days, with each day's open hours, exceptions and bookings."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final

from aiohttp import web

from server.booking.appointment import (
    AppointmentState,
)
from server.booking.intervals import merge, subtract, wall_to_instant
from server.booking.model import WeeklyRule
from server.core.clock import AMSTERDAM
from server.core.dates import parse_date
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
class Row:
    member: StaffRow
    cells: tuple[Cell, ...]


def day_hours(
    rules: Sequence[WeeklyRule],
    exceptions: Sequence[DayException],
    day: date,
    gettext: Callable[[str], str] = N_,
) -> tuple[list[tuple[time, time]], list[str]]:
    """One day's open blocks after its exceptions, and the exceptions as notes: the same
    arithmetic the slot engine does (closed all day wins; extra adds; closed hours cut)."""
    blocks = [(rule.start, rule.end) for rule in rules if rule.weekday == day.weekday()]
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


@requires(Role.PLANNER)
async def week_view(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    gettext = gettext_for(request)
    language = language_code(request)
    tenant = principal.tenant_id
    monday = week_start(request.query.get("week"), local_today(request))
    days = [monday + timedelta(days=n) for n in range(7)]
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
            blocks, notes = day_hours(rules[member.id], own[member.id], day, gettext)
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
        days=[(day, day_label(day, language)) for day in days],
        skills=skills,
        skill=skill,
        monday=monday,
        previous=(monday - timedelta(days=7)).isoformat(),
        next=(monday + timedelta(days=7)).isoformat(),
        this_week=week_start(None, local_today(request)) == monday,
    )
