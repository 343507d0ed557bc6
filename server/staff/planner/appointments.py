"""Booking on behalf of a caller, and one appointment: details, reschedule, cancel."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from aiohttp import web
from yarl import URL

from server.booking.appointment import (
    APPOINTMENT_ID,
    CONTACT_EMAIL,
    Appointment,
    AppointmentState,
    Contact,
)
from server.booking.errors import BookingError, NotFound
from server.booking.join_links import new_room_id
from server.booking.slots import Slot
from server.core.clock import AMSTERDAM
from server.core.dates import parse_date, within_range
from server.core.forms import FORM_KEY, new_form_key, see_other
from server.core.language import gettext_for
from server.messages.errors import BadPhoneNumber
from server.messages.phones import phone_number, problem_of, resident_message
from server.staff.auth import requires, staff_principal
from server.staff.model import Role, StaffPrincipal
from server.staff.planner.common import (
    BASE,
    PLANNER_STORE,
    STATE_LABELS,
    actor_of,
    booking_message,
    booking_service,
    clock_label,
    day_label,
    language_code,
    not_found,
    page,
    posted_fields,
    purposes_of,
    version_of,
)
from server.staff.planner.messages import messages_about

log = logging.getLogger("balie.planner")


@dataclass(frozen=True, slots=True)
class TimeChoice:
    value: str  #: the start instant, ISO 8601 UTC
    label: str


def _choices(slots: Iterable[Slot]) -> list[TimeChoice]:
    return [
        TimeChoice(
            slot.start.astimezone(UTC).isoformat(),
            f"{clock_label(slot.start)}–{clock_label(slot.end)}",
        )
        for slot in slots
    ]


def _parse_start(raw: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(raw) if 0 < len(raw) <= 40 else None
    except ValueError:
        return None
    if moment is None or moment.utcoffset() is None:
        return None
    return moment if within_range(moment) else None


async def _book_page(
    request: web.Request,
    principal: StaffPrincipal,
    *,
    purpose: str,
    day: str,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    summary: str = "",
    status: int = 200,
) -> web.Response:
    language = language_code(request)
    tenant = principal.tenant_id
    purposes = await purposes_of(request, tenant)
    chosen = next((p for p in purposes if p.key == purpose), None)
    dates: list[date] = []
    times: list[TimeChoice] = []
    chosen_day = parse_date(day)
    if chosen is not None:
        try:
            dates = await booking_service(request).available_dates(tenant, chosen.key)
            if chosen_day in dates and chosen_day is not None:
                times = _choices(
                    await booking_service(request).available_times(tenant, chosen.key, chosen_day)
                )
        except BookingError as error:
            summary = summary or booking_message(request, error, "purpose")
    return page(
        request,
        principal,
        "planner/book.html",
        status=status,
        switch_back=_book_path(purpose, day),
        purposes=purposes,
        chosen=chosen,
        dates=[(d.isoformat(), f"{day_label(d, language)} {d.year}") for d in dates],
        day=chosen_day.isoformat() if chosen_day in dates and chosen_day is not None else "",
        times=times,
        values=values or {},
        errors=errors or {},
        summary=summary,
        idempotency_key=(values or {}).get("idempotency_key") or new_form_key(),
    )


@requires(Role.PLANNER)
async def book_page(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    return await _book_page(
        request,
        principal,
        purpose=request.query.get("purpose", "")[:64],
        day=request.query.get("date", "")[:10],
    )


def _book_path(purpose: str, day: str) -> str:
    """The booking page of a purpose and date (the switch's way back from a POST)."""
    query = {name: value for name, value in (("purpose", purpose), ("date", day)) if value}
    return str(URL(BASE + "/book").with_query(query))


def _contact(
    fields: dict[str, str], errors: dict[str, str], gettext: Callable[[str], str]
) -> Contact:
    email = fields.get("email", "").strip()[:320]
    phone = fields.get("phone", "").strip()[:40]
    if email and not CONTACT_EMAIL.fullmatch(email):
        errors["email"] = gettext(
            "Dit e-mailadres klopt niet. Controleer het, of laat het veld leeg."
        )
    checked = None
    if phone:
        # a caller may give a landline (no SMS goes there); stored as E.164 like the resident's
        try:
            checked = phone_number(phone)
        except BadPhoneNumber as error:
            errors["phone"] = gettext(resident_message(problem_of(error)))
    return Contact(email=email or None, phone=checked)


@requires(Role.PLANNER)
async def book_submit(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    gettext = gettext_for(request)
    tenant = principal.tenant_id
    fields = await posted_fields(request)
    purpose = fields.get("purpose", "")[:64]
    day = fields.get("date", "")[:10]
    key = fields.get("idempotency_key", "")
    errors: dict[str, str] = {}
    start = _parse_start(fields.get("start", ""))
    if start is None:
        errors["time-0"] = gettext("Kies een tijd.")
    contact = _contact(fields, errors, gettext)
    if not FORM_KEY.fullmatch(key):
        key = new_form_key()
        errors.setdefault(
            "time-0", gettext("Het formulier was niet compleet. Kies de tijd opnieuw.")
        )
    values = {
        "start": fields.get("start", "")[:40],
        "email": fields.get("email", "")[:320],
        "phone": fields.get("phone", "")[:40],
        "idempotency_key": key,
    }
    if errors or start is None:
        return await _book_page(
            request, principal, purpose=purpose, day=day, values=values, errors=errors, status=400
        )
    service = booking_service(request)
    actor = actor_of(principal)
    try:
        booked = await service.book(
            tenant,
            purpose,
            start,
            contact=contact,
            room_id=new_room_id(),
            idempotency_key=key + ".book",
            actor=actor,
        )
    except BookingError as error:
        values["idempotency_key"] = new_form_key()  # the next try is another request
        return await _book_page(
            request,
            principal,
            purpose=purpose,
            day=day,
            values=values,
            summary=booking_message(request, error, "purpose"),
            status=409,
        )
    log.info("planner %s booked appointment %s", principal.account_id, booked.id)
    return see_other(f"{BASE}/appointments/{booked.id}?klaar=geboekt")


async def _appointment(request: web.Request, tenant: str) -> Appointment:
    appointment_id = request.match_info["appointment"]
    if not APPOINTMENT_ID.fullmatch(appointment_id):
        raise not_found()
    try:
        return await booking_service(request).get(tenant, appointment_id)
    except NotFound:
        raise not_found() from None


async def _appointment_page(
    request: web.Request,
    principal: StaffPrincipal,
    appointment: Appointment,
    *,
    day: str = "",
    errors: dict[str, str] | None = None,
    summary: str = "",
    status: int = 200,
) -> web.Response:
    gettext = gettext_for(request)
    language = language_code(request)
    tenant = principal.tenant_id
    names = {purpose.key: purpose.name for purpose in await purposes_of(request, tenant)}
    members = {member.id: member.name for member in await request.app[PLANNER_STORE].staff(tenant)}
    dates: list[date] = []
    times: list[TimeChoice] = []
    chosen_day = parse_date(day)
    if appointment.state is AppointmentState.BOOKED:
        try:
            dates = await booking_service(request).available_dates(tenant, appointment.purpose_key)
            if chosen_day is not None and chosen_day in dates:
                times = _choices(
                    await booking_service(request).available_times(
                        tenant, appointment.purpose_key, chosen_day
                    )
                )
        except BookingError as error:
            summary = summary or booking_message(request, error, "appointment")
    local = appointment.start.astimezone(AMSTERDAM)
    return page(
        request,
        principal,
        "planner/appointment.html",
        status=status,
        switch_back=f"{BASE}/appointments/{appointment.id}",
        appointment=appointment,
        purpose=names.get(appointment.purpose_key, appointment.purpose_key),
        staff_name=members.get(appointment.staff_id, appointment.staff_id),
        when=f"{day_label(local.date(), language)} {local.year}, {clock_label(appointment.start)}–"
        f"{clock_label(appointment.end)}",
        state=gettext(STATE_LABELS[appointment.state]),
        bookable=appointment.state is AppointmentState.BOOKED,
        contact_names=appointment.contact.attribute_names,
        dates=[(d.isoformat(), f"{day_label(d, language)} {d.year}") for d in dates],
        day=chosen_day.isoformat() if chosen_day is not None and chosen_day in dates else "",
        times=times,
        errors=errors or {},
        summary=summary,
        week=local.date().isoformat(),
        cancel_key=new_form_key(),
        reschedule_key=new_form_key(),
        messages=await messages_about(request, tenant, appointment.id),
    )


@requires(Role.PLANNER)
async def appointment_page(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    appointment = await _appointment(request, principal.tenant_id)
    return await _appointment_page(
        request, principal, appointment, day=request.query.get("date", "")[:10]
    )


@requires(Role.PLANNER)
async def reschedule_submit(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    tenant = principal.tenant_id
    appointment = await _appointment(request, tenant)
    fields = await posted_fields(request)
    day = fields.get("date", "")[:10]
    start = _parse_start(fields.get("start", ""))
    version = version_of(fields)
    key = fields.get("idempotency_key", "")
    if start is None or version is None or not FORM_KEY.fullmatch(key):
        gettext = gettext_for(request)
        return await _appointment_page(
            request,
            principal,
            appointment,
            day=day,
            errors={"time-0": gettext("Kies een nieuwe tijd.")},
            status=400,
        )
    service = booking_service(request)
    try:
        moved = await service.reschedule(
            tenant,
            appointment.id,
            version,
            start,
            room_id=new_room_id(),
            idempotency_key=key,
            actor=actor_of(principal),
        )
    except BookingError as error:
        current = await _appointment(request, tenant)
        return await _appointment_page(
            request,
            principal,
            current,
            day=day,
            summary=booking_message(request, error, "appointment"),
            status=409,
        )
    log.info(
        "planner %s moved appointment %s to %s", principal.account_id, appointment.id, moved.id
    )
    return see_other(f"{BASE}/appointments/{moved.id}?klaar=verzet")


@requires(Role.PLANNER)
async def cancel_submit(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    tenant = principal.tenant_id
    appointment = await _appointment(request, tenant)
    fields = await posted_fields(request)
    version = version_of(fields)
    key = fields.get("idempotency_key", "")
    if version is None or not FORM_KEY.fullmatch(key):
        gettext = gettext_for(request)
        return await _appointment_page(
            request,
            principal,
            appointment,
            summary=gettext("Het formulier was niet compleet. Probeer het opnieuw."),
            status=400,
        )
    try:
        cancelled = await booking_service(request).cancel(
            tenant, appointment.id, version, idempotency_key=key, actor=actor_of(principal)
        )
    except BookingError as error:
        current = await _appointment(request, tenant)
        return await _appointment_page(
            request,
            principal,
            current,
            summary=booking_message(request, error, "appointment"),
            status=409,
        )
    log.info("planner %s cancelled appointment %s", principal.account_id, cancelled.id)
    return see_other(f"{BASE}/appointments/{cancelled.id}?klaar=afgezegd")
