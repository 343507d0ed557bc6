"""The specialist desk: today's and upcoming calls, open a call, record the outcome.

Routes (pages in the request's language, Dutch by default; docs/booking.md, "Specialist
desk")::

    GET  /staff/desk                                   the list (works without JavaScript)
    GET  /staff/desk/state                             live states as JSON, for desk.js
    GET  /staff/desk/appointments/{appointment}/outcome  after the call: the outcome form
    POST /staff/desk/appointments/{appointment}/call     a specialist room token, then the call
    POST /staff/desk/appointments/{appointment}/outcome  completed | follow_up | no_show

Who may do what: the list is the signed-in specialist's own (their account's ``staff_id``).
Opening a call and recording an outcome are for the appointment's own specialist and for
planners of the same tenant; another tenant's appointment is not found (404), anyone else
is refused (403). :func:`~server.staff.require_staff` checks the CSRF token of every POST.

Opening a call answers ``303 /call/{room}#token=...``: the token rides in the fragment,
which browsers never send back, and the access log records request paths only
(server/core/logs.py), so the token appears in no log and no Referer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final

from aiohttp import web

from server.booking.appkeys import BOOKING, CATALOG
from server.booking.appointment import APPOINTMENT_ID, Appointment, AppointmentState
from server.booking.errors import BookingError, Conflict, NotFound
from server.booking.intervals import wall_to_instant
from server.booking.join_links import EARLY_JOIN, LATE_LEAVE
from server.call.appkeys import HUB
from server.core.appkeys import CLOCK
from server.core.clock import AMSTERDAM
from server.core.date_words import clock_words, day_words
from server.core.forms import see_other
from server.core.language import N_, gettext_for, language_of
from server.core.pages import render
from server.db.appkeys import ENGINE
from server.staff.auth import (
    LANDING,
    STAFF,
    WARN_SECONDS,
    StaffRefusal,
    requires,
    signed_in,
    staff_error_page,
    staff_principal,
)
from server.staff.desk.queues import walkin_section
from server.staff.desk.seats import SpecialistSeat, to_call
from server.staff.desk.state import (
    LISTED,
    OPEN,
    LiveState,
    Presence,
    live_state,
    room_presence,
    state_label,
)
from server.staff.desk.store import COMPLETED, NO_SHOW, outcomes_of, record_outcome
from server.staff.model import Role, StaffPrincipal
from server.verification.appkeys import GATE

log = logging.getLogger("balie.desk")

DESK_PATH: Final = "/staff/desk"
STATE_PATH: Final = "/staff/desk/state"
#: the list covers today and this many following days
DAYS_AHEAD: Final = 7
#: how often desk.js asks for the live states (seconds)
POLL_SECONDS: Final = 5
OUTCOMES: Final = ("completed", "follow_up", "no_show")
#: what the desk says after a redirect back to it, by query parameter
NOTICES: Final = {
    "vastgelegd": N_("De uitkomst is vastgelegd."),
    "niemand": N_("Er wacht nu niemand voor uw onderwerpen."),
    "teruggezet": N_("De inwoner staat weer in de wachtrij, op de plek van eerst."),
    "teruggebeld": N_("Vastgelegd. Het telefoonnummer is gewist."),
}


@dataclass(frozen=True, slots=True)
class Row:
    """One appointment as the desk shows it."""

    id: str
    day: date
    start: str  #: "10:15"
    end: str
    purpose: str
    reference: str
    state: LiveState
    label: str
    #: "Naar het gesprek" is offered (an open appointment of today, or about to start)
    can_open: bool
    #: the outcome form is offered (an open appointment whose time has come)
    can_close: bool

    def json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "start": self.start,
            "state": self.state.value,
            "label": self.label,
            "can_open": self.can_open,
            "can_close": self.can_close,
        }


# --- pages ---------------------------------------------------------------------------------


@requires(Role.SPECIALIST)
async def desk_page(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    rows = await _rows(request, principal)
    tenants = dict(await request.app[STAFF].accounts.tenants())
    today = _today(request)
    days = []
    for day in sorted({row.day for row in rows}):
        title = _day_title(request, day, today)
        days.append({"title": title, "rows": [r for r in rows if r.day == day]})
    gettext = gettext_for(request)
    notice = next((gettext(text) for key, text in NOTICES.items() if request.query.get(key)), "")
    return render(
        request,
        "desk/desk.html",
        principal=principal,
        tenant_name=tenants.get(principal.tenant_id, principal.tenant_id),
        linked=principal.staff_id is not None,
        days=days,
        days_ahead=DAYS_AHEAD,
        notice=notice,
        csrf_token=principal.csrf_token,
        warn_seconds=WARN_SECONDS,
        state_url=STATE_PATH,
        poll_seconds=POLL_SECONDS,
        walkin=await walkin_section(request, principal),
    )


@requires(Role.SPECIALIST, touch=False)
async def desk_state(request: web.Request) -> web.Response:
    """The live states, for desk.js; polling does not keep the session alive."""
    principal = staff_principal(request)
    rows = await _rows(request, principal)
    return web.json_response(
        {"appointments": [row.json() for row in rows]}, headers={"Cache-Control": "no-store"}
    )


@signed_in
async def open_call(request: web.Request) -> web.Response:
    """Mint a specialist room token for this appointment's room and go to the call."""
    principal = staff_principal(request)
    return await go_to_appointment(request, principal, await _appointment_for(request, principal))


async def go_to_appointment(
    request: web.Request, principal: StaffPrincipal, appointment: Appointment
) -> web.Response:
    """The specialist into an appointment's call (a refusal page when it cannot open)."""
    now = request.app[CLOCK]()
    if appointment.state not in OPEN or appointment.room_id is None:
        return _refused(
            request,
            409,
            N_("Dit gesprek kan niet meer geopend worden"),
            N_("Deze afspraak is afgesloten, geannuleerd of heeft geen gesprek."),
        )
    if not call_opens(appointment.start, appointment.end, now):
        return _refused(
            request,
            409,
            N_("Dit gesprek is niet vandaag"),
            N_("U kunt een gesprek openen op de dag van de afspraak."),
        )
    await _mark_started(request, principal, appointment)
    log.info(
        "staff account %s opened the call of appointment %s",
        principal.account_id,
        appointment.id,
    )
    return to_call(
        request,
        principal,
        SpecialistSeat(
            appointment.room_id,
            appointment.tenant_id,
            appointment.purpose_key,
            appointment.end + LATE_LEAVE,
        ),
    )


@signed_in
async def outcome_page(request: web.Request) -> web.Response:
    """After a call: how did it go? The same choices as on the desk, and the way back."""
    principal = staff_principal(request)
    appointment = await _appointment_for(request, principal)
    names = {p.key: p.name for p in await request.app[CATALOG].purposes(principal.tenant_id)}
    language = language_of(request).value
    return render(
        request,
        "desk/outcome.html",
        principal=principal,
        appointment=appointment,
        day=day_words(_local_day(appointment.start), language),
        start=clock_words(appointment.start),
        end=clock_words(appointment.end),
        purpose=names.get(appointment.purpose_key, appointment.purpose_key),
        closable=appointment.state in OPEN or appointment.state is AppointmentState.COMPLETED,
        csrf_token=principal.csrf_token,
        warn_seconds=WARN_SECONDS,
    )


@signed_in
async def set_outcome(request: web.Request) -> web.Response:
    """Close the appointment as completed (optionally with a follow-up) or no-show."""
    principal = staff_principal(request)
    appointment = await _appointment_for(request, principal)
    form = await request.post()
    choice = form.get("outcome")
    if choice not in OUTCOMES:
        return _refused(
            request,
            400,
            N_("Kies een uitkomst"),
            N_("Kies Afgerond, Vervolg nodig of Niet gekomen."),
        )
    if appointment.start - EARLY_JOIN > request.app[CLOCK]():
        return _refused(
            request,
            409,
            N_("Dit gesprek is nog niet begonnen"),
            N_("U kunt de uitkomst vastleggen als de tijd van de afspraak gekomen is."),
        )
    actor = _actor(principal)
    service = request.app[BOOKING]
    try:
        if choice == "no_show":
            if appointment.state is not AppointmentState.NO_SHOW:
                appointment = await service.mark_no_show(
                    appointment.tenant_id, appointment.id, appointment.version, actor=actor
                )
        else:
            appointment = await _complete(request, appointment, actor)
    except Conflict as error:
        log.info("outcome of appointment %s refused: %s", appointment.id, type(error).__name__)
        return _refused(
            request,
            409,
            N_("Deze uitkomst past niet bij de afspraak"),
            _conflict_advice(appointment, choice),
        )
    await record_outcome(
        request.app[ENGINE],
        appointment.tenant_id,
        appointment.id,
        outcome=NO_SHOW if choice == "no_show" else COMPLETED,
        follow_up=choice == "follow_up",
        actor=actor,
        at=request.app[CLOCK](),
    )
    return see_other(DESK_PATH + "?vastgelegd=1")


# --- inside --------------------------------------------------------------------------------


def _actor(principal: StaffPrincipal) -> str:
    return f"staff:{principal.account_id}"


async def _appointment_for(request: web.Request, principal: StaffPrincipal) -> Appointment:
    """The path's appointment, if this person may act on it: its own specialist, or a
    planner of its tenant."""
    if not (principal.has(Role.SPECIALIST) or principal.has(Role.PLANNER)):
        raise _forbidden(request, principal)
    appointment_id = request.match_info["appointment"]
    if not APPOINTMENT_ID.fullmatch(appointment_id):
        raise _not_found(request)
    try:
        appointment = await request.app[BOOKING].get(principal.tenant_id, appointment_id)
    except NotFound:
        raise _not_found(request) from None
    own = principal.staff_id is not None and principal.staff_id == appointment.staff_id
    if not (principal.has(Role.PLANNER) or (principal.has(Role.SPECIALIST) and own)):
        raise _forbidden(request, principal)
    return appointment


async def waiting_appointment(
    request: web.Request, principal: StaffPrincipal
) -> Appointment | None:
    """The specialist's appointment whose resident waits in the lobby now and whose call can
    open, if any: "Volgende inwoner" takes them before the walk-in queue."""
    for row in await _rows(request, principal):
        if row.state is LiveState.WAITING and row.can_open:
            return await request.app[BOOKING].get(principal.tenant_id, row.id)
    return None


async def _presence(request: web.Request, appointment: Appointment) -> Presence:
    room_id = appointment.room_id
    presence = room_presence(await request.app[HUB].live_room(room_id) if room_id else None)
    if appointment.state not in OPEN or appointment.room_id is None:
        return presence
    # only while the join link works can anyone be verified for it: no query otherwise
    now = request.app[CLOCK]()
    if not appointment.start - EARLY_JOIN <= now <= appointment.end + LATE_LEAVE:
        return presence
    gate = request.app[GATE]
    entry = await gate.vault.verified_entry(
        appointment.room_id, purpose=appointment.purpose_key, now=gate.clock()
    )
    if entry is None:
        return presence
    return Presence(
        room_live=presence.room_live,
        resident_waiting=presence.resident_waiting,
        resident_in_call=presence.resident_in_call,
        verified=True,
    )


async def _mark_started(
    request: web.Request, principal: StaffPrincipal, appointment: Appointment
) -> None:
    """Best effort: the resident who is here has checked in, and the call starts now. A
    resident who is not here yet stays ``booked`` (the audit trail must not say otherwise)."""
    service = request.app[BOOKING]
    tenant, current = appointment.tenant_id, appointment
    try:
        if current.state is AppointmentState.BOOKED:
            if not (await _presence(request, current)).resident_here:
                return
            current = await service.check_in(tenant, current.id, current.version)
        if current.state is AppointmentState.CHECKED_IN:
            await service.start_call(tenant, current.id, current.version, actor=_actor(principal))
    except BookingError as error:
        # the call opens anyway; the outcome form moves the state on later
        log.info("appointment %s not marked started: %s", current.id, type(error).__name__)


async def _complete(request: web.Request, appointment: Appointment, actor: str) -> Appointment:
    """Walk an open appointment to ``completed``: a specialist who records that the
    conversation took place says the resident came and the call ran."""
    service = request.app[BOOKING]
    tenant, current = appointment.tenant_id, appointment
    if current.state is AppointmentState.BOOKED:
        current = await service.check_in(tenant, current.id, current.version)
    if current.state is AppointmentState.CHECKED_IN:
        current = await service.start_call(tenant, current.id, current.version, actor=actor)
    if current.state is AppointmentState.IN_CALL:
        current = await service.complete(tenant, current.id, current.version, actor=actor)
    if current.state is not AppointmentState.COMPLETED:
        raise Conflict(f"appointment {current.id} is {current.state}")
    return current


def _conflict_advice(appointment: Appointment, choice: str) -> str:
    """The advice (Dutch, marked: :func:`_page` translates it)."""
    if choice == "no_show" and appointment.state is AppointmentState.IN_CALL:
        return N_("Het gesprek is al begonnen. Kies Afgerond of Vervolg nodig.")
    return N_("De afspraak is intussen veranderd. Kijk op de balie hoe het nu staat.")


async def _rows(request: web.Request, principal: StaffPrincipal) -> list[Row]:
    if principal.staff_id is None:
        return []
    app = request.app
    now = app[CLOCK]()
    today = _local_day(now)
    low = wall_to_instant(today, time(0), AMSTERDAM)
    high = wall_to_instant(today + timedelta(days=DAYS_AHEAD + 1), time(0), AMSTERDAM)
    found = await app[BOOKING].appointments_between(
        principal.tenant_id, low, high, staff_id=principal.staff_id
    )
    listed = [a for a in found if a.state in LISTED and a.start >= low]
    outcomes = await outcomes_of(app[ENGINE], principal.tenant_id, [a.id for a in listed])
    names = {p.key: p.name for p in await app[CATALOG].purposes(principal.tenant_id)}
    gettext = gettext_for(request)
    rows = []
    for appointment in listed:
        presence = await _presence(request, appointment)
        state = live_state(appointment, presence)
        recorded = outcomes.get(appointment.id)
        is_open = appointment.state in OPEN
        rows.append(
            Row(
                id=appointment.id,
                day=_local_day(appointment.start),
                start=clock_words(appointment.start),
                end=clock_words(appointment.end),
                purpose=names.get(appointment.purpose_key, appointment.purpose_key),
                reference=appointment.reference,
                state=state,
                label=state_label(
                    state,
                    verified=presence.verified,
                    follow_up=recorded is not None and recorded.follow_up,
                    gettext=gettext,
                ),
                can_open=is_open
                and appointment.room_id is not None
                and call_opens(appointment.start, appointment.end, now),
                can_close=is_open and appointment.start - EARLY_JOIN <= now,
            )
        )
    return rows


def call_opens(start: datetime, end: datetime, now: datetime) -> bool:
    """A call opens on the day of the appointment, and from :data:`EARLY_JOIN` before its
    start (so a call just after midnight opens before it), until :data:`LATE_LEAVE` after its
    end."""
    if end + LATE_LEAVE <= now:
        return False
    return _local_day(start) == _local_day(now) or start - EARLY_JOIN <= now


def _today(request: web.Request) -> date:
    return _local_day(request.app[CLOCK]())


def _local_day(moment: datetime) -> date:
    return moment.astimezone(AMSTERDAM).date()


def _day_title(request: web.Request, day: date, today: date) -> str:
    """``Vandaag, dinsdag 1 december``, in the request's language."""
    gettext = gettext_for(request)
    name = day_words(day, language_of(request).value)
    if day == today:
        return gettext("Vandaag, %(day)s") % {"day": name}
    if day == today + timedelta(days=1):
        return gettext("Morgen, %(day)s") % {"day": name}
    return name[0].upper() + name[1:]


def _refused(request: web.Request, status: int, title: str, advice: str) -> web.Response:
    return staff_error_page(request, status, title, advice, back=DESK_PATH)


def _not_found(request: web.Request) -> StaffRefusal:
    title = N_("Deze afspraak bestaat niet")
    advice = N_("We vinden deze afspraak niet bij uw gemeente. Ga terug naar de balie.")
    response = staff_error_page(request, 404, title, advice, back=DESK_PATH)
    return StaffRefusal(404, "appointment-not-found", title, response)


def _forbidden(request: web.Request, principal: StaffPrincipal) -> StaffRefusal:
    log.warning(
        "staff account %s refused: %s is not theirs to act on", principal.account_id, request.path
    )
    title = N_("U heeft hier geen toegang")
    advice = N_(
        "Deze afspraak hoort bij een andere medewerker. Alleen die medewerker of een "
        "planner kan het gesprek openen of de uitkomst vastleggen."
    )
    response = staff_error_page(request, 403, title, advice, back=LANDING)
    return StaffRefusal(403, "not-your-appointment", title, response)


__all__ = ["call_opens", "go_to_appointment", "waiting_appointment"]
