"""Absences and new hours that meet bookings: first the appointments, then the change.

A closed exception or new weekly hours that would leave booked appointments without their
staff member are not saved at once. The planner sees those appointments (date, time, topic,
reference; nothing of the resident) and, for each, hands it to a colleague who has the
skill and is free at that very time (the same call and room, so the resident's link stays
valid and they are told nothing new), or cancels it with a message that asks the resident
to pick a new time (``ChangeReason.ABSENCE``). The change is saved with the step that
handles the last appointment, in a transaction that checks once more that none is left.

Routes (``planner`` role; every POST carries the session's CSRF token, and the security
middleware refuses another origin)::

    GET  /staff/planner/staff/{staff}/afwezigheid?change=…   the appointments still in the way
    POST /staff/planner/staff/{staff}/afwezigheid            reassign | notify | all | save

The pending change travels in the URL and in hidden fields: dates, times and a fixed reason
key, never a person's details. It is checked again by the form's parser on every request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection
from yarl import URL

from server.booking import store as booking_store
from server.booking.appointment import APPOINTMENT_ID, Appointment, AppointmentState
from server.booking.errors import BookingError, NotFound, StaleVersion
from server.booking.explanation import Explanation
from server.booking.hooks import ChangeReason
from server.core.appkeys import CLOCK
from server.core.clock import AMSTERDAM
from server.core.forms import FORM_KEY, new_form_key, see_other
from server.core.language import N_, gettext_for
from server.db.appkeys import ENGINE
from server.staff.auth import requires, staff_principal
from server.staff.model import Role, StaffPrincipal
from server.staff.planner.absence_rules import (
    Change,
    affected,
    booked,
    free_colleagues,
    left_without,
    parse_change,
    pending_fields,
    refusal,
    same_exceptions,
    window,
)
from server.staff.planner.common import (
    BASE,
    PLANNER_STORE,
    actor_of,
    booking_message,
    booking_service,
    clock_label,
    day_label,
    language_code,
    local_today,
    not_found,
    page,
    posted_fields,
    purposes_of,
    version_of,
)
from server.staff.planner.store import DayException, StaffRow
from signaling.messages import ID_PATTERN

log = logging.getLogger("balie.planner")

#: the page's path under a staff member
PATH: Final = "/afwezigheid"
STALE: Final = N_(
    "Deze afspraak is intussen gewijzigd. Bekijk hieronder hoe de lijst nu is en kies opnieuw."
)
GONE: Final = N_("Deze afspraak staat niet in de lijst. Kies een afspraak uit de lijst.")
INCOMPLETE: Final = N_("Het formulier was niet compleet. Probeer het opnieuw.")


@dataclass(frozen=True, slots=True)
class Row:
    """One appointment in the way, as the page shows it: no personal data."""

    appointment: Appointment
    day: str
    time: str
    purpose: str
    colleagues: list[StaffRow]
    reassign_key: str
    notify_key: str


def absence_url(staff_id: str, fields: dict[str, str], notice: str = "") -> str:
    query = dict(fields) | ({"klaar": notice} if notice else {})
    return str(URL(f"{BASE}/staff/{staff_id}{PATH}").with_query(query))


async def member_of(request: web.Request, tenant: str) -> StaffRow:
    staff_id = request.match_info["staff"]
    if ID_PATTERN.fullmatch(staff_id):
        for member in await request.app[PLANNER_STORE].staff(tenant):
            if member.id == staff_id:
                return member
    raise not_found()


async def _extras(request: web.Request, tenant: str, staff_id: str) -> list[DayException]:
    """The staff member's extra hours ahead: new weekly hours do not close them."""
    today = local_today(request)
    found = await request.app[PLANNER_STORE].exceptions(
        tenant, [staff_id], today, today + timedelta(days=400)
    )
    return [x for x in found if x.kind == "extra"]


async def in_the_way(
    request: web.Request, tenant: str, staff_id: str, change: Change
) -> list[Appointment]:
    """The staff member's active appointments the change would leave without them."""
    service = booking_service(request)
    now = request.app[CLOCK]()
    low, high = window(change, now, service.zone)
    found = await service.appointments_between(tenant, low, high, staff_id=staff_id)
    away = left_without(change, await _extras(request, tenant, staff_id), service.zone)
    return affected(found, staff_id, now, away)


async def save_or_ask(
    request: web.Request, principal: StaffPrincipal, staff_id: str, change: Change
) -> web.Response:
    """Save the change when no appointment is in its way (checked again in the write
    transaction, so one booked meanwhile is not overlooked); else 303 to the list."""
    tenant = principal.tenant_id
    planner = request.app[PLANNER_STORE]
    service = booking_service(request)
    extras = await _extras(request, tenant, staff_id)
    blocking: list[Appointment] = []

    async def clear(conn: AsyncConnection) -> bool:
        # the same row lock a booking of this staff member takes, so none slips in between
        await booking_store.lock_staff(conn, tenant, [staff_id])
        now = request.app[CLOCK]()
        low, high = window(change, now, service.zone)
        found = await booking_store.appointments_between(conn, tenant, low, high, staff_id)
        blocking.extend(affected(found, staff_id, now, left_without(change, extras, service.zone)))
        return not blocking

    now = request.app[CLOCK]()
    actor = actor_of(principal)
    exception = change.exception
    if exception is None:
        saved = await planner.replace_hours(
            tenant, staff_id, change.hours, actor=actor, now=now, guard=clear
        )
        done = "uren"
    else:
        present = await planner.exceptions(
            tenant, [staff_id], exception.days[0], exception.days[-1]
        )
        # a double submit of the step that saved it: stored already, so nothing to add
        saved = same_exceptions(exception, present, staff_id) or await planner.add_exceptions(
            tenant,
            staff_id,
            exception.days,
            exception.kind,
            exception.hours,
            exception.reason,
            actor=actor,
            now=now,
            guard=clear,
        )
        done = "uitzondering"
    if not saved:
        log.info(
            "planner %s: %d appointments of staff %s in the way of a change",
            principal.account_id,
            len(blocking),
            staff_id,
        )
        return see_other(absence_url(staff_id, change.fields))
    log.info("planner %s changed the availability of staff %s", principal.account_id, staff_id)
    return see_other(f"{BASE}/staff/{staff_id}?klaar={done}")


def _change_label(request: web.Request, change: Change) -> str:
    gettext = gettext_for(request)
    language = language_code(request)
    exception = change.exception
    if exception is None:
        return gettext("Nieuwe vaste werktijden per week")
    first, last = exception.days[0], exception.days[-1]
    days = f"{day_label(first, language)} {first.year}"
    if last != first:
        days += f" – {day_label(last, language)} {last.year}"
    hours = (
        gettext("hele dag")
        if exception.hours is None
        else f"{exception.hours[0]:%H:%M}–{exception.hours[1]:%H:%M}"
    )
    return gettext("Niet beschikbaar: %(days)s, %(hours)s (%(reason)s)") % {
        "days": days,
        "hours": hours,
        "reason": gettext(exception.reason),
    }


async def _explain(request: web.Request, tenant: str, item: Appointment) -> Explanation | None:
    try:
        return await booking_service(request).explain(tenant, item.purpose_key, item.start)
    except BookingError:
        return None  # no purpose any more, storage away: offer no colleague, only the notice


async def _absence_page(
    request: web.Request,
    principal: StaffPrincipal,
    member: StaffRow,
    change: Change | None,
    *,
    errors: dict[str, str] | None = None,
    summary: str = "",
    status: int = 200,
) -> web.Response:
    language = language_code(request)
    tenant = principal.tenant_id
    members = await request.app[PLANNER_STORE].staff(tenant)
    names = {p.key: p.name for p in await purposes_of(request, tenant)}
    rows: list[Row] = []
    others = 0
    if change is not None:
        found = await in_the_way(request, tenant, member.id, change)
        others = len(found) - len(booked(found))
        for item in booked(found):
            local = item.start.astimezone(AMSTERDAM)
            explanation = await _explain(request, tenant, item)
            rows.append(
                Row(
                    item,
                    f"{day_label(local.date(), language)} {local.year}",
                    f"{clock_label(item.start)}–{clock_label(item.end)}",
                    names.get(item.purpose_key, item.purpose_key),
                    [] if explanation is None else free_colleagues(explanation, members, member.id),
                    new_form_key(),
                    new_form_key(),
                )
            )
    return page(
        request,
        principal,
        "planner/absence.html",
        status=status,
        switch_back=absence_url(member.id, change.fields) if change else None,
        member=member,
        change=change,
        change_label=_change_label(request, change) if change is not None else "",
        pending=change.fields if change is not None else {},
        rows=rows,
        others=others,
        anyone_free=any(row.colleagues for row in rows),
        all_key=new_form_key(),
        save_key=new_form_key(),
        errors=errors or {},
        summary=summary,
    )


@requires(Role.PLANNER)
async def absence_page(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    member = await member_of(request, principal.tenant_id)
    gettext = gettext_for(request)
    change, checked = parse_change(pending_fields(request.query), local_today(request), gettext)
    if change is None:
        return await _absence_page(
            request, principal, member, None, summary=_outdated(request, checked.errors), status=400
        )
    return await _absence_page(request, principal, member, change)


async def _skill(request: web.Request, tenant: str, purpose_key: str) -> str:
    """The skill a purpose needs ("" for a purpose no longer offered: nobody has it)."""
    try:
        async with request.app[ENGINE].connect() as conn:
            return (await booking_store.load_purpose(conn, tenant, purpose_key)).skill
    except NotFound:
        return ""


def _outdated(request: web.Request, errors: dict[str, str]) -> str:
    first = next(iter(errors.values()), "")
    gettext = gettext_for(request)
    return gettext(
        "Deze wijziging kan zo niet worden opgeslagen: %(why)s Vul het formulier opnieuw in."
    ) % {"why": first}


@requires(Role.PLANNER)
async def absence_submit(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    tenant = principal.tenant_id
    member = await member_of(request, tenant)
    gettext = gettext_for(request)
    fields = await posted_fields(request)
    change, checked = parse_change(pending_fields(fields), local_today(request), gettext)
    if change is None:
        return await _absence_page(
            request, principal, member, None, summary=_outdated(request, checked.errors), status=400
        )
    action = fields.get("action", "")
    key = fields.get("idempotency_key", "")
    if action not in ("reassign", "notify", "all", "save") or not FORM_KEY.fullmatch(key):
        return await _absence_page(
            request, principal, member, change, summary=gettext(INCOMPLETE), status=400
        )
    if action == "all":
        handed, left = await _reassign_all(request, principal, member, change, key)
        log.info(
            "planner %s handed %d appointments of staff %s to colleagues, %d left",
            principal.account_id,
            handed,
            member.id,
            left,
        )
        if left:
            return see_other(absence_url(member.id, change.fields, "niet-alle"))
    elif action in ("reassign", "notify"):
        refused = await _one(request, principal, member, change, fields, key, action)
        if refused is not None:
            return refused
    if await in_the_way(request, tenant, member.id, change):
        notice = {"reassign": "overgedragen", "notify": "bericht"}.get(action, "")
        return see_other(absence_url(member.id, change.fields, notice))
    return await save_or_ask(request, principal, member.id, change)


async def _one(
    request: web.Request,
    principal: StaffPrincipal,
    member: StaffRow,
    change: Change,
    fields: dict[str, str],
    key: str,
    action: str,
) -> web.Response | None:
    """Hand one appointment to a colleague, or cancel it with the absence notice; None when
    done, else the page with the error (and nothing changed)."""
    gettext = gettext_for(request)
    tenant = principal.tenant_id
    service = booking_service(request)
    appointment_id = fields.get("appointment", "")
    version = version_of(fields)
    if not APPOINTMENT_ID.fullmatch(appointment_id) or version is None:
        return await _absence_page(
            request, principal, member, change, summary=gettext(INCOMPLETE), status=400
        )
    try:
        item = await service.get(tenant, appointment_id)
    except NotFound:
        item = None
    if item is None or item.staff_id != member.id:
        return await _absence_page(
            request, principal, member, change, summary=gettext(GONE), status=404
        )
    listed = item.state is AppointmentState.BOOKED and any(
        a.id == item.id for a in await in_the_way(request, tenant, member.id, change)
    )
    actor = actor_of(principal)
    colleague = fields.get("colleague", "")[:64]
    try:
        if action == "notify":
            if not listed and item.state is AppointmentState.BOOKED:
                return await _absence_page(
                    request, principal, member, change, summary=gettext(GONE), status=409
                )
            # not booked any more: the service replays a double submit by its key, or
            # names the state it is in now
            await service.cancel(
                tenant,
                item.id,
                version,
                idempotency_key=key,
                actor=actor,
                reason=ChangeReason.ABSENCE,
            )
            log.info("planner %s cancelled appointment %s (absence)", principal.account_id, item.id)
            return None
        if listed:
            explanation = await _explain(request, tenant, item)
            members = await request.app[PLANNER_STORE].staff(tenant)
            skill = await _skill(request, tenant, item.purpose_key)
            why = (
                gettext(N_("Kies een collega uit de lijst."))
                if explanation is None
                else refusal(colleague, members, skill, explanation, member.id, gettext)
            )
            if why is not None:
                return await _absence_page(
                    request,
                    principal,
                    member,
                    change,
                    errors={f"colleague-{item.id}": why},
                    status=409 if colleague in {m.id for m in members} else 400,
                )
        elif item.state is AppointmentState.BOOKED:
            return await _absence_page(
                request, principal, member, change, summary=gettext(GONE), status=409
            )
        moved = await service.reschedule(
            tenant,
            item.id,
            version,
            item.start,
            staff_id=colleague,
            room_id=item.room_id,
            idempotency_key=key,
            actor=actor,
            reason=ChangeReason.ABSENCE,
        )
    except StaleVersion:
        return await _absence_page(
            request, principal, member, change, summary=gettext(STALE), status=409
        )
    except BookingError as error:
        return await _absence_page(
            request,
            principal,
            member,
            change,
            summary=booking_message(request, error, "appointment"),
            status=409,
        )
    log.info(
        "planner %s handed appointment %s to a colleague as %s",
        principal.account_id,
        item.id,
        moved.id,
    )
    return None


async def _reassign_all(
    request: web.Request, principal: StaffPrincipal, member: StaffRow, change: Change, key: str
) -> tuple[int, int]:
    """Each booked appointment in the way to the first free colleague (by name), one after
    the other, so an earlier handover counts for the next; (handed over, left)."""
    tenant = principal.tenant_id
    service = booking_service(request)
    members = await request.app[PLANNER_STORE].staff(tenant)
    handed = left = 0
    for item in booked(await in_the_way(request, tenant, member.id, change)):
        explanation = await _explain(request, tenant, item)
        free = [] if explanation is None else free_colleagues(explanation, members, member.id)
        if not free:
            left += 1
            continue
        try:
            await service.reschedule(
                tenant,
                item.id,
                item.version,
                item.start,
                staff_id=free[0].id,
                room_id=item.room_id,
                # one key per appointment: a double submit replays each handover
                idempotency_key=f"{key}.{item.id}",
                actor=actor_of(principal),
                reason=ChangeReason.ABSENCE,
            )
        except BookingError:
            left += 1  # taken or changed meanwhile: it stays in the list, to choose again
            continue
        handed += 1
    return handed, left
