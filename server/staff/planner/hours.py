"""A staff member's weekly hours and exceptions (closed days, extra hours)."""

from __future__ import annotations

import logging
from collections import defaultdict

from aiohttp import web

from server.booking.model import WeeklyRule
from server.core.appkeys import CLOCK
from server.core.forms import see_other
from server.core.language import gettext_for
from server.staff.auth import requires, staff_principal
from server.staff.model import Role, StaffPrincipal
from server.staff.planner.absence_rules import (
    EXCEPTION,
    HOURS,
    Change,
    meets_bookings,
    pending_fields,
)
from server.staff.planner.absences import save_or_ask
from server.staff.planner.common import (
    BASE,
    MAX_RANGE,
    PLANNER_STORE,
    actor_of,
    day_label,
    language_code,
    local_today,
    not_found,
    page,
    posted_fields,
    span_label,
)
from server.staff.planner.forms import (
    BLOCKS,
    KINDS,
    REASONS,
    WEEKDAYS,
    Checked,
    hours_field,
    parse_exception,
    parse_hours,
)
from server.staff.planner.store import StaffRow
from signaling.messages import ID_PATTERN

log = logging.getLogger("balie.planner")


async def _member(request: web.Request, tenant: str) -> StaffRow:
    staff_id = request.match_info["staff"]
    if ID_PATTERN.fullmatch(staff_id):
        for member in await request.app[PLANNER_STORE].staff(tenant):
            if member.id == staff_id:
                return member
    raise not_found()


async def _staff_page(
    request: web.Request,
    principal: StaffPrincipal,
    member: StaffRow,
    *,
    hours_checked: Checked | None = None,
    exception_checked: Checked | None = None,
    status: int = 200,
) -> web.Response:
    gettext = gettext_for(request)
    language = language_code(request)
    store = request.app[PLANNER_STORE]
    tenant = principal.tenant_id
    rules = (await store.weekly_hours(tenant, [member.id]))[member.id]
    today = local_today(request)
    upcoming = await store.exceptions(tenant, [member.id], today, today + MAX_RANGE)
    if hours_checked is None:
        values: dict[str, str] = {}
        per_day: dict[int, list[WeeklyRule]] = defaultdict(list)
        for rule in rules:
            per_day[rule.weekday].append(rule)
        for weekday, blocks in per_day.items():
            for block, rule in enumerate(blocks[:BLOCKS]):
                values[hours_field(weekday, block, "start")] = f"{rule.start:%H:%M}"
                values[hours_field(weekday, block, "end")] = f"{rule.end:%H:%M}"
        hours_checked = Checked(values=values)
    exception_checked = exception_checked or Checked(values={"kind": "closed", "reason": "vrij"})
    return page(
        request,
        principal,
        "planner/staff.html",
        status=status,
        switch_back=f"{BASE}/staff/{member.id}",
        member=member,
        weekdays=[(weekday, gettext(name)) for weekday, name in enumerate(WEEKDAYS)],
        blocks=range(BLOCKS),
        field=hours_field,
        hours=hours_checked,
        exception=exception_checked,
        upcoming=[
            (
                item,
                f"{day_label(item.day, language)} {item.day.year}",
                gettext("hele dag")
                if item.start is None or item.end is None
                else span_label(item.start, item.end),
                gettext(KINDS.get(item.kind, item.kind)),
                gettext(item.reason) if item.reason else "",
            )
            for item in upcoming
        ],
        kinds={key: gettext(label) for key, label in KINDS.items()},
        reasons={key: gettext(label) for key, label in REASONS.items()},
        today=today.isoformat(),
        errors={**hours_checked.errors, **exception_checked.errors},
    )


@requires(Role.PLANNER)
async def staff_page(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    member = await _member(request, principal.tenant_id)
    return await _staff_page(request, principal, member)


@requires(Role.PLANNER)
async def save_hours(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    member = await _member(request, principal.tenant_id)
    fields = await posted_fields(request)
    blocks, checked = parse_hours(fields, gettext_for(request))
    if checked.errors:
        return await _staff_page(request, principal, member, hours_checked=checked, status=400)
    # shorter hours may meet bookings: saved only when none is left without its specialist
    pending = pending_fields(fields | {"change": HOURS})
    change = Change(pending, hours=tuple(blocks))
    return await save_or_ask(request, principal, member.id, change)


@requires(Role.PLANNER)
async def add_exception(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    member = await _member(request, principal.tenant_id)
    fields = await posted_fields(request)
    parsed, checked = parse_exception(fields, local_today(request), gettext_for(request))
    if parsed is None:
        return await _staff_page(request, principal, member, exception_checked=checked, status=400)
    change = Change(pending_fields(fields | {"change": EXCEPTION}), exception=parsed)
    if meets_bookings(change):
        # a closed day may meet bookings: saved only when none is left without its specialist
        return await save_or_ask(request, principal, member.id, change)
    await request.app[PLANNER_STORE].add_exceptions(
        principal.tenant_id,
        member.id,
        parsed.days,
        parsed.kind,
        parsed.hours,
        parsed.reason,
        actor=actor_of(principal),
        now=request.app[CLOCK](),
    )
    log.info("planner %s added an exception for staff %s", principal.account_id, member.id)
    return see_other(f"{BASE}/staff/{member.id}?klaar=uitzondering")


@requires(Role.PLANNER)
async def remove_exception(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    member = await _member(request, principal.tenant_id)
    raw = request.match_info["exception"]
    if not raw.isdigit() or len(raw) > 12:
        raise not_found()
    removed = await request.app[PLANNER_STORE].remove_exception(
        principal.tenant_id,
        member.id,
        int(raw),
        actor=actor_of(principal),
        now=request.app[CLOCK](),
    )
    if not removed:
        raise not_found()
    return see_other(f"{BASE}/staff/{member.id}?klaar=verwijderd")
