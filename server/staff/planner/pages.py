"""The planner console (docs/booking.md "Planner console"): pages for the planner role, in
Dutch or, by the ``balie_taal`` cookie, English (server/core/language.py).

Routes (all need the ``planner`` role; ``?tenant=`` of another tenant is refused, 403)::

    GET  /staff/planner                                   week: staff × days, hours, bookings
    GET  /staff/planner/staff/{staff}                     weekly hours and exceptions
    POST /staff/planner/staff/{staff}/hours               replace the weekly hours
    POST /staff/planner/staff/{staff}/exceptions          add a closed day or extra hours
    POST /staff/planner/staff/{staff}/exceptions/{id}/delete
    GET  /staff/planner/book?purpose=&date=               book on behalf of a caller
    POST /staff/planner/book
    GET  /staff/planner/appointments/{appointment}        details, reschedule, cancel
    POST /staff/planner/appointments/{appointment}/reschedule
    POST /staff/planner/appointments/{appointment}/cancel
    GET  /staff/planner/dashboard?from=&to=               the numbers, as SVG charts and tables
    GET  /staff/planner/dashboard.csv?from=&to=           the same numbers, no personal data

Every change goes through :class:`~server.booking.service.BookingService` (bookings) or
:class:`~server.staff.planner.store.PlannerStore` (hours), both of which audit it with the planner
(``staff:<account id>``) as actor. Every form that books carries a fresh idempotency key, so
a double click or a resent form books once. A form with an error changes nothing and comes
back with an error summary; URLs carry ids and dates only, never a person's details. The
dashboard's CSV is data: its header and values are the same in every language.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from aiohttp import web
from yarl import URL

from server.booking.api import problem_for
from server.booking.appkeys import BOOKING
from server.booking.appointment import (
    APPOINTMENT_ID,
    CONTACT_EMAIL,
    CONTACT_PHONE,
    Appointment,
    AppointmentState,
    Contact,
)
from server.booking.catalog import PurposeInfo
from server.booking.errors import BookingError, NotFound
from server.booking.intervals import merge, subtract, wall_to_instant
from server.booking.join_links import new_room_id
from server.booking.model import AMSTERDAM, WeeklyRule
from server.booking.service import BookingService
from server.booking.setup import CALENDAR_WRITER, CATALOG
from server.booking.slots import Slot
from server.core.date_words import short_day_words
from server.core.forms import FORM_KEY, new_form_key
from server.core.language import N_, gettext_for, language_of
from server.core.pages import render
from server.db.appkeys import ENGINE
from server.staff import Role, StaffPrincipal, require_staff
from server.staff.planner.charts import Series, bar_chart
from server.staff.planner.forms import (
    BLOCKS,
    KINDS,
    REASONS,
    WEEKDAYS,
    Checked,
    hours_field,
    parse_date,
    parse_exception,
    parse_hours,
)
from server.staff.planner.store import DayException, Outcome, PlannerStore, Score, StaffRow, Wait
from server.staff.web import WARN_SECONDS
from signaling.messages import ID_PATTERN

log = logging.getLogger("balie.planner")

BASE: Final = "/staff/planner"
#: the longest dashboard window
MAX_RANGE: Final = timedelta(days=366)
#: the dashboard's default window: the last four weeks
DEFAULT_RANGE: Final = timedelta(days=27)

#: appointments the week view leaves out: they no longer take anyone's time
_HIDDEN: Final = frozenset(
    {AppointmentState.CANCELLED, AppointmentState.EXPIRED, AppointmentState.RELEASED}
)
#: shown through the request's ``gettext``
STATE_LABELS: Final = {
    AppointmentState.HELD: N_("vastgehouden"),
    AppointmentState.BOOKED: N_("geboekt"),
    AppointmentState.CHECKED_IN: N_("wacht"),
    AppointmentState.IN_CALL: N_("in gesprek"),
    AppointmentState.COMPLETED: N_("afgerond"),
    AppointmentState.NO_SHOW: N_("niet verschenen"),
    AppointmentState.CANCELLED: N_("afgezegd"),
    AppointmentState.EXPIRED: N_("verlopen"),
    AppointmentState.RELEASED: N_("vrijgegeven"),
}
#: what ``?klaar=`` says after a change (a fixed word, so a URL never carries free text)
NOTICES: Final = {
    "uren": N_("De werktijden zijn opgeslagen."),
    "uitzondering": N_("De uitzondering is opgeslagen."),
    "verwijderd": N_("De uitzondering is verwijderd."),
    "geboekt": N_("De afspraak is geboekt."),
    "verzet": N_("De afspraak is verzet. Dit is de nieuwe afspraak."),
    "afgezegd": N_("De afspraak is afgezegd."),
}

PLANNER_STORE = web.AppKey("planner_store", PlannerStore)


def add_routes(app: web.Application) -> None:
    app.router.add_get(BASE, week_view)
    app.router.add_get(BASE + "/staff/{staff}", staff_page)
    app.router.add_post(BASE + "/staff/{staff}/hours", save_hours)
    app.router.add_post(BASE + "/staff/{staff}/exceptions", add_exception)
    app.router.add_post(BASE + "/staff/{staff}/exceptions/{exception}/delete", remove_exception)
    app.router.add_get(BASE + "/book", book_page)
    app.router.add_post(BASE + "/book", book_submit)
    app.router.add_get(BASE + "/appointments/{appointment}", appointment_page)
    app.router.add_post(BASE + "/appointments/{appointment}/reschedule", reschedule_submit)
    app.router.add_post(BASE + "/appointments/{appointment}/cancel", cancel_submit)
    app.router.add_get(BASE + "/dashboard", dashboard)
    app.router.add_get(BASE + "/dashboard.csv", dashboard_csv)
    app.on_startup.append(_store)


async def _store(app: web.Application) -> None:
    # on_startup runs after every cleanup_ctx has started, so the engine exists
    app[PLANNER_STORE] = PlannerStore(app[ENGINE])


# --- the common parts ---------------------------------------------------------------------


async def _planner(request: web.Request) -> StaffPrincipal:
    """The signed-in planner; a ``?tenant=`` naming another tenant is refused (403)."""
    wanted = request.query.get("tenant") or None
    return await require_staff(request, role=Role.PLANNER, tenant=wanted)


def _actor(principal: StaffPrincipal) -> str:
    return f"staff:{principal.account_id}"


def _page(
    request: web.Request,
    principal: StaffPrincipal,
    name: str,
    *,
    status: int = 200,
    switch_back: str | None = None,
    **context: Any,
) -> web.Response:
    """A planner page. The language switch returns to ``switch_back`` (a page answering a
    POST names the page it stands for), else to this page without its ``?klaar=`` notice,
    which belongs to the change just made and not to a change of language."""
    notice = NOTICES.get(request.query.get("klaar", ""), "")
    if switch_back is None and request.method in ("GET", "HEAD"):
        kept = [(key, value) for key, value in request.rel_url.query.items() if key != "klaar"]
        switch_back = str(request.rel_url.with_query(kept))
    context = {"errors": {}, "summary": ""} | context
    response = render(
        request,
        name,
        switch_back=switch_back,
        principal=principal,
        csrf_token=principal.csrf_token,
        warn_seconds=WARN_SECONDS,
        notice=gettext_for(request)(notice) if notice else "",
        base=BASE,
        **context,
    )
    response.set_status(status)
    return response


async def _fields(request: web.Request) -> dict[str, str]:
    """The posted form's text fields (``require_staff`` already read and checked it)."""
    form = await request.post()
    return {name: value for name, value in form.items() if isinstance(value, str)}


def _redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _today() -> date:
    return datetime.now(AMSTERDAM).date()


def _day_label(day: date, language: str = "nl") -> str:
    return short_day_words(day, language)


def _language(request: web.Request) -> str:
    return language_of(request).value


def _clock(moment: datetime) -> str:
    return moment.astimezone(AMSTERDAM).strftime("%H:%M")


def _span(start: time, end: time) -> str:
    return f"{start:%H:%M}–{end:%H:%M}"


def _service(request: web.Request) -> BookingService:
    return request.app[BOOKING]


def _booking_message(request: web.Request, error: BookingError, subject: str) -> str:
    problem = problem_for(error, subject)
    return gettext_for(request)(problem.detail or problem.title)


def _not_found() -> web.HTTPNotFound:
    return web.HTTPNotFound()


async def _purposes(request: web.Request, tenant: str) -> list[PurposeInfo]:
    return await request.app[CATALOG].purposes(tenant)


# --- the week -----------------------------------------------------------------------------


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
        when = gettext("hele dag") if span is None else _span(*span)
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


def week_start(raw: str | None) -> date:
    """The Monday of the week ``raw`` (a date) falls in; this week if absent or wrong."""
    day = parse_date(raw or "") or _today()
    return day - timedelta(days=day.weekday())


async def week_view(request: web.Request) -> web.Response:
    principal = await _planner(request)
    gettext = gettext_for(request)
    language = _language(request)
    tenant = principal.tenant_id
    monday = week_start(request.query.get("week"))
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
    found = await _service(request).appointments_between(tenant, low, high)
    names = {purpose.key: purpose.name for purpose in await _purposes(request, tenant)}
    by_cell: dict[tuple[str, date], list[Booked]] = defaultdict(list)
    for appointment in found:
        if appointment.state in _HIDDEN:
            continue
        local = appointment.start.astimezone(AMSTERDAM)
        by_cell[(appointment.staff_id, local.date())].append(
            Booked(
                appointment.id,
                f"{_clock(appointment.start)}–{_clock(appointment.end)}",
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
                    tuple(_span(start, end) for start, end in blocks),
                    tuple(notes),
                    tuple(by_cell.get((member.id, day), ())),
                )
            )
        rows.append(Row(member, tuple(cells)))
    return _page(
        request,
        principal,
        "planner/week.html",
        rows=rows,
        days=[(day, _day_label(day, language)) for day in days],
        skills=skills,
        skill=skill,
        monday=monday,
        previous=(monday - timedelta(days=7)).isoformat(),
        next=(monday + timedelta(days=7)).isoformat(),
        this_week=week_start(None) == monday,
    )


# --- hours and exceptions -----------------------------------------------------------------


async def _member(request: web.Request, tenant: str) -> StaffRow:
    staff_id = request.match_info["staff"]
    if ID_PATTERN.fullmatch(staff_id):
        for member in await request.app[PLANNER_STORE].staff(tenant):
            if member.id == staff_id:
                return member
    raise _not_found()


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
    language = _language(request)
    store = request.app[PLANNER_STORE]
    tenant = principal.tenant_id
    rules = (await store.weekly_hours(tenant, [member.id]))[member.id]
    today = _today()
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
    return _page(
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
                f"{_day_label(item.day, language)} {item.day.year}",
                gettext("hele dag")
                if item.start is None or item.end is None
                else _span(item.start, item.end),
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


async def staff_page(request: web.Request) -> web.Response:
    principal = await _planner(request)
    member = await _member(request, principal.tenant_id)
    return await _staff_page(request, principal, member)


async def save_hours(request: web.Request) -> web.Response:
    principal = await _planner(request)
    member = await _member(request, principal.tenant_id)
    blocks, checked = parse_hours(await _fields(request), gettext_for(request))
    if checked.errors:
        return await _staff_page(request, principal, member, hours_checked=checked, status=400)
    await request.app[PLANNER_STORE].replace_hours(
        principal.tenant_id,
        member.id,
        blocks,
        actor=_actor(principal),
        now=datetime.now(UTC),
    )
    log.info("planner %s changed the hours of staff %s", principal.account_id, member.id)
    return _redirect(f"{BASE}/staff/{member.id}?klaar=uren")


async def add_exception(request: web.Request) -> web.Response:
    principal = await _planner(request)
    member = await _member(request, principal.tenant_id)
    parsed, checked = parse_exception(await _fields(request), _today(), gettext_for(request))
    if parsed is None:
        return await _staff_page(request, principal, member, exception_checked=checked, status=400)
    await request.app[PLANNER_STORE].add_exceptions(
        principal.tenant_id,
        member.id,
        parsed.days,
        parsed.kind,
        parsed.hours,
        parsed.reason,
        actor=_actor(principal),
        now=datetime.now(UTC),
    )
    log.info("planner %s added an exception for staff %s", principal.account_id, member.id)
    return _redirect(f"{BASE}/staff/{member.id}?klaar=uitzondering")


async def remove_exception(request: web.Request) -> web.Response:
    principal = await _planner(request)
    member = await _member(request, principal.tenant_id)
    raw = request.match_info["exception"]
    if not raw.isdigit() or len(raw) > 12:
        raise _not_found()
    removed = await request.app[PLANNER_STORE].remove_exception(
        principal.tenant_id, member.id, int(raw), actor=_actor(principal), now=datetime.now(UTC)
    )
    if not removed:
        raise _not_found()
    return _redirect(f"{BASE}/staff/{member.id}?klaar=verwijderd")


# --- booking on behalf of a caller --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimeChoice:
    value: str  #: the start instant, ISO 8601 UTC
    label: str


def _choices(slots: Iterable[Slot]) -> list[TimeChoice]:
    return [
        TimeChoice(
            slot.start.astimezone(UTC).isoformat(), f"{_clock(slot.start)}–{_clock(slot.end)}"
        )
        for slot in slots
    ]


def _parse_start(raw: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(raw) if 0 < len(raw) <= 40 else None
    except ValueError:
        return None
    return moment if moment is not None and moment.utcoffset() is not None else None


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
    language = _language(request)
    tenant = principal.tenant_id
    purposes = await _purposes(request, tenant)
    chosen = next((p for p in purposes if p.key == purpose), None)
    dates: list[date] = []
    times: list[TimeChoice] = []
    chosen_day = parse_date(day)
    if chosen is not None:
        try:
            dates = await _service(request).available_dates(tenant, chosen.key)
            if chosen_day in dates and chosen_day is not None:
                times = _choices(
                    await _service(request).available_times(tenant, chosen.key, chosen_day)
                )
        except BookingError as error:
            summary = summary or _booking_message(request, error, "purpose")
    return _page(
        request,
        principal,
        "planner/book.html",
        status=status,
        switch_back=_book_path(purpose, day),
        purposes=purposes,
        chosen=chosen,
        dates=[(d.isoformat(), f"{_day_label(d, language)} {d.year}") for d in dates],
        day=chosen_day.isoformat() if chosen_day in dates and chosen_day is not None else "",
        times=times,
        values=values or {},
        errors=errors or {},
        summary=summary,
        idempotency_key=(values or {}).get("idempotency_key") or new_form_key(),
    )


async def book_page(request: web.Request) -> web.Response:
    principal = await _planner(request)
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
    if phone and not CONTACT_PHONE.fullmatch(phone):
        errors["phone"] = gettext(
            "Dit telefoonnummer klopt niet. Gebruik alleen cijfers, spaties en +."
        )
    return Contact(email=email or None, phone=phone or None)


async def book_submit(request: web.Request) -> web.Response:
    principal = await _planner(request)
    gettext = gettext_for(request)
    tenant = principal.tenant_id
    fields = await _fields(request)
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
    service = _service(request)
    actor = _actor(principal)
    try:
        held = await service.hold(
            tenant, purpose, start, contact=contact, idempotency_key=key + ".hold", actor=actor
        )
        booked = held
        if held.state is AppointmentState.HELD:
            booked = await service.confirm(
                tenant,
                held.id,
                held.version,
                room_id=new_room_id(),
                idempotency_key=key + ".confirm",
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
            summary=_booking_message(request, error, "purpose"),
            status=409,
        )
    if booked.state is AppointmentState.BOOKED:
        request.app[CALENDAR_WRITER].booked(booked)
    log.info("planner %s booked appointment %s", principal.account_id, booked.id)
    return _redirect(f"{BASE}/appointments/{booked.id}?klaar=geboekt")


# --- one appointment: details, reschedule, cancel -----------------------------------------


async def _appointment(request: web.Request, tenant: str) -> Appointment:
    appointment_id = request.match_info["appointment"]
    if not APPOINTMENT_ID.fullmatch(appointment_id):
        raise _not_found()
    try:
        return await _service(request).get(tenant, appointment_id)
    except NotFound:
        raise _not_found() from None


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
    language = _language(request)
    tenant = principal.tenant_id
    names = {purpose.key: purpose.name for purpose in await _purposes(request, tenant)}
    members = {member.id: member.name for member in await request.app[PLANNER_STORE].staff(tenant)}
    dates: list[date] = []
    times: list[TimeChoice] = []
    chosen_day = parse_date(day)
    if appointment.state is AppointmentState.BOOKED:
        try:
            dates = await _service(request).available_dates(tenant, appointment.purpose_key)
            if chosen_day is not None and chosen_day in dates:
                times = _choices(
                    await _service(request).available_times(
                        tenant, appointment.purpose_key, chosen_day
                    )
                )
        except BookingError as error:
            summary = summary or _booking_message(request, error, "appointment")
    local = appointment.start.astimezone(AMSTERDAM)
    return _page(
        request,
        principal,
        "planner/appointment.html",
        status=status,
        switch_back=f"{BASE}/appointments/{appointment.id}",
        appointment=appointment,
        purpose=names.get(appointment.purpose_key, appointment.purpose_key),
        staff_name=members.get(appointment.staff_id, appointment.staff_id),
        when=f"{_day_label(local.date(), language)} {local.year}, {_clock(appointment.start)}–"
        f"{_clock(appointment.end)}",
        state=gettext(STATE_LABELS[appointment.state]),
        bookable=appointment.state is AppointmentState.BOOKED,
        contact_names=appointment.contact.attribute_names,
        dates=[(d.isoformat(), f"{_day_label(d, language)} {d.year}") for d in dates],
        day=chosen_day.isoformat() if chosen_day is not None and chosen_day in dates else "",
        times=times,
        errors=errors or {},
        summary=summary,
        week=local.date().isoformat(),
        cancel_key=new_form_key(),
        reschedule_key=new_form_key(),
    )


async def appointment_page(request: web.Request) -> web.Response:
    principal = await _planner(request)
    appointment = await _appointment(request, principal.tenant_id)
    return await _appointment_page(
        request, principal, appointment, day=request.query.get("date", "")[:10]
    )


def _version(fields: dict[str, str]) -> int | None:
    raw = fields.get("version", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 and int(raw) >= 1 else None


async def reschedule_submit(request: web.Request) -> web.Response:
    principal = await _planner(request)
    tenant = principal.tenant_id
    appointment = await _appointment(request, tenant)
    fields = await _fields(request)
    day = fields.get("date", "")[:10]
    start = _parse_start(fields.get("start", ""))
    version = _version(fields)
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
    service = _service(request)
    try:
        moved = await service.reschedule(
            tenant,
            appointment.id,
            version,
            start,
            room_id=new_room_id(),
            idempotency_key=key,
            actor=_actor(principal),
        )
        old = await service.get(tenant, appointment.id)
    except BookingError as error:
        current = await _appointment(request, tenant)
        return await _appointment_page(
            request,
            principal,
            current,
            day=day,
            summary=_booking_message(request, error, "appointment"),
            status=409,
        )
    request.app[CALENDAR_WRITER].moved(old, moved)
    log.info("planner %s moved appointment %s to %s", principal.account_id, old.id, moved.id)
    return _redirect(f"{BASE}/appointments/{moved.id}?klaar=verzet")


async def cancel_submit(request: web.Request) -> web.Response:
    principal = await _planner(request)
    tenant = principal.tenant_id
    appointment = await _appointment(request, tenant)
    fields = await _fields(request)
    version = _version(fields)
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
        cancelled = await _service(request).cancel(
            tenant, appointment.id, version, idempotency_key=key, actor=_actor(principal)
        )
    except BookingError as error:
        current = await _appointment(request, tenant)
        return await _appointment_page(
            request,
            principal,
            current,
            summary=_booking_message(request, error, "appointment"),
            status=409,
        )
    request.app[CALENDAR_WRITER].cancelled(cancelled)
    log.info("planner %s cancelled appointment %s", principal.account_id, cancelled.id)
    return _redirect(f"{BASE}/appointments/{cancelled.id}?klaar=afgezegd")


# --- the numbers --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Numbers:
    """The dashboard's figures over ``days``: per day, and satisfaction per ISO week and
    purpose. Counts and averages only; nothing that names a person."""

    days: tuple[date, ...]
    calls: tuple[int, ...]
    no_shows: tuple[int, ...]
    #: mean minutes from check-in to admit, None on a day without admits
    wait_minutes: tuple[float | None, ...]
    waits: tuple[int, ...]
    weeks: tuple[str, ...]
    purposes: tuple[str, ...]
    #: (week, purpose) → (mean score, number of scores)
    satisfaction: dict[tuple[str, str], tuple[float, int]]


#: the purpose key for feedback not tied to a purpose
NO_PURPOSE: Final = "-"


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def compute_numbers(
    first: date,
    last: date,
    outcomes: Iterable[Outcome],
    waits: Iterable[Wait],
    scores: Iterable[Score],
) -> Numbers:
    days = tuple(first + timedelta(days=n) for n in range((last - first).days + 1))
    index = {day: n for n, day in enumerate(days)}
    calls = [0] * len(days)
    no_shows = [0] * len(days)
    for outcome in outcomes:
        n = index.get(outcome.start.astimezone(AMSTERDAM).date())
        if n is None:
            continue
        if outcome.state == AppointmentState.NO_SHOW:
            no_shows[n] += 1
        else:
            calls[n] += 1
    wait_sums = [0.0] * len(days)
    wait_counts = [0] * len(days)
    for wait in waits:
        n = index.get(wait.admitted_at.astimezone(AMSTERDAM).date())
        if n is not None:
            wait_sums[n] += wait.seconds
            wait_counts[n] += 1
    sums: dict[tuple[str, str], list[int]] = defaultdict(list)
    for score in scores:
        day = score.at.astimezone(AMSTERDAM).date()
        if day in index:
            sums[(iso_week(day), score.purpose_key or NO_PURPOSE)].append(score.score)
    weeks = tuple(sorted({iso_week(day) for day in days}))
    return Numbers(
        days=days,
        calls=tuple(calls),
        no_shows=tuple(no_shows),
        wait_minutes=tuple(
            round(total / count / 60, 1) if count else None
            for total, count in zip(wait_sums, wait_counts, strict=True)
        ),
        waits=tuple(wait_counts),
        weeks=weeks,
        purposes=tuple(sorted({purpose for _, purpose in sums})),
        satisfaction={
            key: (round(sum(found) / len(found), 2), len(found)) for key, found in sums.items()
        },
    )


def numbers_csv(numbers: Numbers) -> str:
    """The dashboard's numbers as CSV: ``metric,period,purpose,value,count``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["metric", "period", "purpose", "value", "count"])
    for n, day in enumerate(numbers.days):
        writer.writerow(["calls", day.isoformat(), "", numbers.calls[n], ""])
        writer.writerow(["no_shows", day.isoformat(), "", numbers.no_shows[n], ""])
        wait = numbers.wait_minutes[n]
        writer.writerow(
            [
                "waiting_minutes_avg",
                day.isoformat(),
                "",
                "" if wait is None else wait,
                numbers.waits[n],
            ]
        )
    for week in numbers.weeks:
        for purpose in numbers.purposes:
            found = numbers.satisfaction.get((week, purpose))
            if found is not None:
                writer.writerow(["satisfaction_avg", week, purpose, found[0], found[1]])
    return out.getvalue()


def _decimal(value: float | None, language: str = "nl") -> str:
    """``4,5`` in Dutch, ``4.5`` in English; ``–`` for no value."""
    if value is None:
        return "–"
    written = str(int(value)) if value == int(value) else f"{value:.1f}"
    return written if language == "en" else written.replace(".", ",")


async def _range(request: web.Request) -> tuple[date, date, dict[str, str]]:
    gettext = gettext_for(request)
    errors: dict[str, str] = {}
    today = _today()
    raw_from, raw_to = request.query.get("from", ""), request.query.get("to", "")
    last = parse_date(raw_to) if raw_to else today
    if last is None:
        errors["to"] = gettext("Schrijf de einddatum als jjjj-mm-dd.")
        last = today
    first = parse_date(raw_from) if raw_from else last - DEFAULT_RANGE
    if first is None:
        errors["from"] = gettext("Schrijf de begindatum als jjjj-mm-dd.")
        first = last - DEFAULT_RANGE
    if not errors and first > last:
        errors["from"] = gettext("De begindatum ligt na de einddatum.")
    elif not errors and last - first >= MAX_RANGE:
        errors["from"] = gettext("Kies hoogstens %(days)d dagen.") % {"days": MAX_RANGE.days}
    return first, last, errors


async def _numbers(request: web.Request, tenant: str, first: date, last: date) -> Numbers:
    store = request.app[PLANNER_STORE]
    low = wall_to_instant(first, time(0), AMSTERDAM)
    high = wall_to_instant(last + timedelta(days=1), time(0), AMSTERDAM)
    return compute_numbers(
        first,
        last,
        await store.outcomes(tenant, low, high),
        await store.waits(tenant, low, high),
        await store.scores(tenant, low, high),
    )


async def dashboard(request: web.Request) -> web.Response:
    principal = await _planner(request)
    gettext = gettext_for(request)
    language = _language(request)
    tenant = principal.tenant_id
    first, last, errors = await _range(request)
    if errors:
        return _page(
            request,
            principal,
            "planner/dashboard.html",
            status=400,
            errors=errors,
            first=request.query.get("from", "")[:10],
            last=request.query.get("to", "")[:10],
            numbers=None,
        )
    numbers = await _numbers(request, tenant, first, last)
    names = {purpose.key: purpose.name for purpose in await _purposes(request, tenant)}
    names[NO_PURPOSE] = gettext("Zonder onderwerp")
    day_labels = [_day_label(day, language) for day in numbers.days]
    span = {
        "first": f"{_day_label(first, language)} {first.year}",
        "last": f"{_day_label(last, language)} {last.year}",
    }
    calls_chart = bar_chart(
        "chart-calls",
        gettext("Gesprekken en niet verschenen per dag"),
        gettext(
            "Staafdiagram van %(first)s tot en met %(last)s: per dag het aantal gevoerde "
            "gesprekken en het aantal afspraken waar de inwoner niet kwam. In totaal "
            "%(calls)d gesprekken en %(no_shows)d keer niet verschenen. De tabel hieronder "
            "geeft dezelfde cijfers."
        )
        % (span | {"calls": sum(numbers.calls), "no_shows": sum(numbers.no_shows)}),
        day_labels,
        [
            Series(gettext("Gesprekken"), tuple(float(v) for v in numbers.calls)),
            Series(gettext("Niet verschenen"), tuple(float(v) for v in numbers.no_shows)),
        ],
        whole=True,
        language=language,
    )
    wait_chart = bar_chart(
        "chart-wait",
        gettext("Gemiddelde wachttijd per dag, in minuten"),
        gettext(
            "Staafdiagram van %(first)s tot en met %(last)s: per dag de gemiddelde tijd tussen "
            "aanmelden in de wachtkamer en toelaten tot het gesprek. Dagen zonder gesprekken "
            "hebben geen staaf. De tabel hieronder geeft dezelfde cijfers."
        )
        % span,
        day_labels,
        [Series(gettext("Gemiddelde wachttijd (minuten)"), numbers.wait_minutes)],
        unit=gettext("min"),
        language=language,
    )
    satisfaction_chart = bar_chart(
        "chart-satisfaction",
        gettext("Tevredenheid per onderwerp per week"),
        gettext(
            "Staafdiagram van %(first)s tot en met %(last)s: per week en per onderwerp het "
            "gemiddelde cijfer dat inwoners gaven, van 1 (slecht) tot 5 (goed). De tabel "
            "hieronder geeft dezelfde cijfers en het aantal antwoorden."
        )
        % span,
        list(numbers.weeks),
        [
            Series(
                names.get(purpose, purpose),
                tuple(
                    found[0] if (found := numbers.satisfaction.get((week, purpose))) else None
                    for week in numbers.weeks
                ),
            )
            for purpose in numbers.purposes
        ],
        maximum=5.0,
        language=language,
    )
    rows = [
        (
            f"{label} {day.year}",
            numbers.calls[n],
            numbers.no_shows[n],
            _decimal(numbers.wait_minutes[n], language),
            numbers.waits[n],
        )
        for n, (day, label) in enumerate(zip(numbers.days, day_labels, strict=True))
    ]
    satisfaction = [
        (week, names.get(purpose, purpose), _decimal(found[0], language), found[1])
        for week in numbers.weeks
        for purpose in numbers.purposes
        if (found := numbers.satisfaction.get((week, purpose))) is not None
    ]
    return _page(
        request,
        principal,
        "planner/dashboard.html",
        errors={},
        first=first.isoformat(),
        last=last.isoformat(),
        numbers=numbers,
        calls_chart=calls_chart,
        wait_chart=wait_chart,
        satisfaction_chart=satisfaction_chart,
        rows=rows,
        satisfaction=satisfaction,
        totals=(sum(numbers.calls), sum(numbers.no_shows)),
    )


async def dashboard_csv(request: web.Request) -> web.Response:
    principal = await _planner(request)
    first, last, errors = await _range(request)
    if errors:
        raise web.HTTPBadRequest()
    numbers = await _numbers(request, principal.tenant_id, first, last)
    response = web.Response(text=numbers_csv(numbers), content_type="text/csv", charset="utf-8")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="balie-cijfers-{first.isoformat()}-{last.isoformat()}.csv"'
    )
    return response


__all__ = [
    "BASE",
    "PLANNER_STORE",
    "Numbers",
    "add_routes",
    "compute_numbers",
    "day_hours",
    "numbers_csv",
    "week_start",
]
