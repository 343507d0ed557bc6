"""The resident's booking journey as plain server-rendered pages (docs/booking.md, "Pages").

No account and no JavaScript needed: every step is a link or a POSTed form, every POST
answers with a redirect (Post/Redirect/Get) or re-renders its form with an error summary.
The service, its errors and the request checks are the JSON API's (:mod:`server.booking.api`);
this module only turns them into pages.

====================================================  =======================================
``GET  /afspraak/{t}``                                  what Balie is, the purposes
``GET  /afspraak/{t}/kies/{p}?week=``                   a week of dates with a free time
``GET  /afspraak/{t}/kies/{p}/{day}``                   the free times of one date
``POST /afspraak/{t}/vasthouden``                       hold      → ``/gegevens``
``GET  /afspraak/{t}/gegevens``                         optional e-mail/phone (hold cookie)
``POST /afspraak/{t}/bevestigen``                       confirm   → ``/{id}/bevestiging``
``GET  /afspraak/{t}/{id}``                             manage link: manage.js posts the token
``POST /afspraak/{t}/{id}``                             token → manage cookie → ``/beheren``
``GET  /afspraak/{t}/{id}/bevestiging``, ``/beheren``   the appointment, its links
``GET  /afspraak/{t}/{id}/afspraak.ics``                the invite
``GET|POST /afspraak/{t}/{id}/afzeggen``                cancel, with a confirmation step
``GET|POST /afspraak/{t}/{id}/verzetten[/{day}]``       reschedule
====================================================  =======================================

Where state must survive a redirect it rides in a cookie, never in the URL: the hold's id
(a capability to confirm it, for the hold's lifetime) and the manage token (``HttpOnly``,
``SameSite=Strict``, scoped to the appointment's path). Tokens appear in pages only inside
link fragments (``#token=``), which browsers never send. Each form carries an idempotency key
made when the form was rendered, so a double click or a refresh replays instead of booking
twice. A POST from another origin is refused. E-mail addresses and phone numbers travel only
in request bodies and the page that echoes a refused value back into its field.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

from aiohttp import web

from server.booking import api as booking_api
from server.booking.appkeys import BOOKING
from server.booking.appointment import APPOINTMENT_ID, Appointment, AppointmentState, Contact
from server.booking.errors import (
    BookingError,
    HoldExpired,
    IdempotencyConflict,
    LinkError,
    LinkInvalid,
    NoStaffFree,
    NotFound,
    SlotTaken,
    SlotUnavailable,
)
from server.booking.join_links import EARLY_JOIN, new_room_id, resident_join_url
from server.booking.links import ManageClaims
from server.booking.service import BookingService
from server.booking.setup import CALENDAR_WRITER, CATALOG
from server.core.appkeys import CONFIG, KEYS
from server.core.date_words import clock_words, day_words, local_day, week_of, when_words
from server.core.forms import FORM_KEY, new_form_key
from server.core.language import N_, gettext_for, language_of
from server.core.pages import render
from server.core.problems import Problem
from server.resident import feedback as resident_feedback
from server.resident.common import PageError, check_origin, choose_language, page, see_other
from signaling.messages import ID_PATTERN

log = logging.getLogger("balie.booking.pages")

PREFIX: Final = "/afspraak/{tenant}"
_APPOINTMENT: Final = "{appointment:" + APPOINTMENT_ID.pattern + "}"
_DAY: Final = "{day:[0-9]{4}-[0-9]{2}-[0-9]{2}}"
HOLD_COOKIE: Final = "balie_hold"
MANAGE_COOKIE: Final = "balie_manage"
#: the manage cookie outlives a visit, not the appointment (the token inside expires at start)
MANAGE_COOKIE_AGE: Final = 2 * 3600
_HOLD_VALUE: Final = re.compile(r"([0-9a-f-]{36})\.([0-9]{1,9})")
_TOKEN_IN_LINK: Final = re.compile(r"token=([A-Za-z0-9._~-]{1,2000})")

# Texts for the resident are Dutch, marked for translation (server/core/language.py): page
# errors carry the Dutch text, which the error page translates; form errors are translated
# where the form is rendered.
SLOT_TAKEN: Final = N_("Deze tijd is net door iemand anders gekozen. Kies een andere tijd.")
HOLD_LAPSED: Final = N_(
    "U was te lang bezig. Daarom is de tijd weer vrijgegeven. Kies opnieuw een tijd."
)
NO_HOLD: Final = N_("We weten niet welke tijd u koos. Kies opnieuw een onderwerp en een tijd.")
NO_PURPOSE: Final = N_("Dit onderwerp bestaat niet. Kies een onderwerp.")
CHOOSE_TIME: Final = N_("Kies een tijd.")
CHOOSE_AGAIN: Final = N_("Kies de tijd opnieuw.")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_routes(app: web.Application) -> None:
    resident_feedback.add_routes(app)
    app.router.add_post("/taal", choose_language)
    one = PREFIX + "/" + _APPOINTMENT
    app.router.add_get(PREFIX, page(landing))
    app.router.add_get(PREFIX + "/kies/{purpose}", page(choose_date))
    app.router.add_get(PREFIX + "/kies/{purpose}/" + _DAY, page(choose_time))
    app.router.add_post(PREFIX + "/vasthouden", page(hold))
    app.router.add_get(PREFIX + "/gegevens", page(details))
    app.router.add_post(PREFIX + "/bevestigen", page(confirm))
    app.router.add_get(one, page(manage_entry))
    app.router.add_post(one, page(manage_open))
    app.router.add_get(one + "/bevestiging", page(confirmation))
    app.router.add_get(one + "/beheren", page(manage))
    app.router.add_get(one + "/afspraak.ics", page(invite))
    app.router.add_get(one + "/afzeggen", page(cancel_ask))
    app.router.add_post(one + "/afzeggen", page(cancel))
    app.router.add_get(one + "/verzetten", page(reschedule_date))
    app.router.add_get(one + "/verzetten/" + _DAY, page(reschedule_time))
    app.router.add_post(one + "/verzetten", page(reschedule))


@contextmanager
def _translated(subject: str) -> Iterator[None]:
    try:
        yield
    except BookingError as error:
        problem = booking_api.problem_for(error, subject)
        raise PageError(problem.status, problem.detail or N_("Dit lukt niet.")) from None


# --- landing, dates, times ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Journey:
    """Where the date and time pages send the resident: a new booking or a reschedule."""

    tenant: str
    purpose: str
    purpose_name: str
    #: the dates page; times are ``{base}/{day}``
    base: str
    #: the hold (new booking) or reschedule form
    action: str
    #: the appointment being moved, if any
    moving: Appointment | None = None


async def landing(request: web.Request) -> web.Response:
    tenant = booking_api.tenant_of(request)
    catalog = request.app[CATALOG]
    with _translated("tenant"):
        name = await catalog.tenant_name(tenant)
        if name is None:
            raise PageError(
                404,
                N_("Deze gemeente kent Balie niet. Controleer de link."),
                back=("/", N_("Naar de startpagina")),
            )
        found = await catalog.purposes(tenant)
    language = language_of(request).value
    listed = []
    for purpose in found:
        labels = booking_api.identity_labels(purpose.key, purpose.disclosure, language)
        if labels is not None:  # an unreadable policy is not offered (the API logs it)
            listed.append(
                {
                    "key": purpose.key,
                    "name": purpose.name,
                    "minutes": purpose.duration_minutes,
                    "identity": labels,
                }
            )
    return render(
        request,
        "resident/start.html",
        tenant=tenant,
        tenant_name=name,
        purposes=listed,
        hold_minutes=_hold_minutes(request),
    )


async def choose_date(request: web.Request) -> web.Response:
    return await _datespage(request, await _new_journey(request))


async def choose_time(request: web.Request) -> web.Response:
    return await _timespage(request, await _new_journey(request), _day(request))


async def _new_journey(request: web.Request) -> _Journey:
    tenant = booking_api.tenant_of(request)
    purpose = request.match_info["purpose"]
    name = None
    if ID_PATTERN.fullmatch(purpose):
        with _translated("purpose"):
            name = await request.app[CATALOG].purpose_name(tenant, purpose)
    if name is None:
        raise PageError(404, NO_PURPOSE)
    base = f"/afspraak/{tenant}/kies/{purpose}"
    return _Journey(tenant, purpose, name, base, f"/afspraak/{tenant}/vasthouden")


async def _datespage(request: web.Request, journey: _Journey) -> web.Response:
    service = _service(request)
    today = _today()
    this_week = week_of(today)
    raw = request.query.get("week")
    with _translated("purpose"):
        if raw is None:
            # Open on the first week with a free time, not on an empty one.
            upcoming = await service.available_dates(journey.tenant, journey.purpose, today)
            week = week_of(upcoming[0]) if upcoming else this_week
        else:
            week = max(week_of(_parse_day(raw)), this_week)
        last = week + timedelta(days=6)
        dates = await service.available_dates(journey.tenant, journey.purpose, week, last)
        later = await service.available_dates(
            journey.tenant, journey.purpose, last + timedelta(days=1)
        )
    language = language_of(request).value
    return render(
        request,
        "resident/dates.html",
        journey=journey,
        week_first=day_words(week, language),
        week_last=day_words(last, language),
        dates=[(d.isoformat(), day_words(d, language)) for d in dates],
        earlier=(week - timedelta(days=7)).isoformat() if week > this_week else None,
        later=(last + timedelta(days=1)).isoformat() if later else None,
        moving=_moving(request, journey),
    )


async def _timespage(
    request: web.Request,
    journey: _Journey,
    day: date,
    *,
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    """``error`` is a Dutch text marked for translation."""
    with _translated("purpose"):
        slots = await _service(request).available_times(journey.tenant, journey.purpose, day)
    response = render(
        request,
        "resident/times.html",
        journey=journey,
        day=day.isoformat(),
        day_words=day_words(day, language_of(request).value),
        week=week_of(day).isoformat(),
        times=[(booking_api.local_iso(s.start), clock_words(s.start)) for s in slots],
        key=new_form_key(),
        error=None if error is None else gettext_for(request)(error),
        moving=_moving(request, journey),
        # also after a POST: the language switch comes back to this day's times
        switch_back=f"{journey.base}/{day.isoformat()}",
    )
    response.set_status(status)
    return response


# --- hold, details, confirm ---------------------------------------------------------------


async def hold(request: web.Request) -> web.StreamResponse:
    check_origin(request)
    tenant = booking_api.tenant_of(request)
    form = await request.post()
    key = _form_key(form)
    purpose = _field(form, "purpose")
    if not ID_PATTERN.fullmatch(purpose):
        raise PageError(400, NO_PURPOSE)
    journey = await _journey_for(request, tenant, purpose)
    day = _parse_day(_field(form, "day"))
    start = _chosen_start(form)
    if start is None:
        return await _timespage(request, journey, day, error=CHOOSE_TIME, status=422)
    try:
        held = await _service(request).hold(tenant, purpose, start, idempotency_key=key)
    except (SlotTaken, NoStaffFree, SlotUnavailable):
        return await _timespage(request, journey, day, error=SLOT_TAKEN, status=409)
    except IdempotencyConflict:
        return await _timespage(request, journey, day, error=CHOOSE_AGAIN, status=409)
    except BookingError as error:
        raise _page_error(error, "purpose") from None
    log.info("hold %s placed from the resident pages (tenant %s)", held.id, tenant)
    response = see_other(f"/afspraak/{tenant}/gegevens")
    age = int(_service(request).hold_duration.total_seconds())
    _set_cookie(
        request, response, HOLD_COOKIE, f"{held.id}.{held.version}", f"/afspraak/{tenant}", age
    )
    return response


async def details(request: web.Request) -> web.StreamResponse:
    tenant = booking_api.tenant_of(request)
    held, _ = await _held(request, tenant)
    if held.state is AppointmentState.BOOKED:
        # Back after confirming: the booking stands; show it (the manage cookie says so).
        return see_other(f"/afspraak/{tenant}/{held.id}/bevestiging")
    await _check_live(request, held)
    return await _detailspage(request, held)


async def _detailspage(
    request: web.Request,
    held: Appointment,
    *,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
) -> web.Response:
    """``errors`` holds Dutch texts marked for translation."""
    expires = held.hold_expires_at or datetime.now(UTC)
    gettext = gettext_for(request)
    response = render(
        request,
        "resident/details.html",
        tenant=held.tenant_id,
        purpose_name=await _purpose_name(request, held),
        when=when_words(held.start, language_of(request).value),
        until=clock_words(expires),
        hold_minutes=_hold_minutes(request),
        key=new_form_key(),
        errors={name: gettext(message) for name, message in (errors or {}).items()},
        values=dict(values or {}),
        change=f"/afspraak/{held.tenant_id}/kies/{held.purpose_key}/{local_day(held.start)}",
        # also after a POST: the language switch comes back to this form
        switch_back=f"/afspraak/{held.tenant_id}/gegevens",
    )
    if errors:
        response.set_status(422)
    return response


async def confirm(request: web.Request) -> web.StreamResponse:
    check_origin(request)
    tenant = booking_api.tenant_of(request)
    form = await request.post()
    key = _form_key(form)
    held, version = await _held(request, tenant)
    email, phone = _field(form, "email").strip(), _field(form, "phone").strip()
    errors = _contact_errors(email, phone)
    if errors:
        if held.state is AppointmentState.HELD:
            await _check_live(request, held)
        return await _detailspage(
            request, held, errors=errors, values={"email": email, "phone": phone}
        )
    contact = Contact(email=email or None, phone=phone or None) if email or phone else None
    service = _service(request)
    try:
        booked = await service.confirm(
            tenant, held.id, version, contact=contact, room_id=new_room_id(), idempotency_key=key
        )
    except HoldExpired:
        journey = await _journey_for(request, tenant, held.purpose_key)
        return await _timespage(
            request, journey, local_day(held.start), error=HOLD_LAPSED, status=409
        )
    except BookingError as error:
        raise _page_error(error, "hold") from None
    if booked.state is AppointmentState.BOOKED:
        request.app[CALENDAR_WRITER].booked(booked)
    log.info("appointment %s booked from the resident pages (tenant %s)", booked.id, tenant)
    response = see_other(f"/afspraak/{tenant}/{booked.id}/bevestiging")
    _set_manage_cookie(request, response, booked)
    return response


def _contact_errors(email: str, phone: str) -> dict[str, str]:
    """Field → Dutch message (marked for translation); the API's own checks, never echoing the
    value into a log."""
    errors: dict[str, str] = {}
    for name, value, message in (
        (
            "email",
            email,
            N_("Dit e-mailadres klopt niet. Een goed voorbeeld is: naam@voorbeeld.nl"),
        ),
        (
            "phone",
            phone,
            N_("Dit telefoonnummer klopt niet. Gebruik alleen cijfers, zoals 0612345678"),
        ),
    ):
        if not value:
            continue
        if len(value) > 254:
            errors[name] = message
            continue
        try:
            booking_api.contact_from({name: value})
        except Problem:
            errors[name] = message
    return errors


# --- the confirmation and manage pages ----------------------------------------------------


async def confirmation(request: web.Request) -> web.Response:
    managed = await _managed(request)
    template = "resident/confirmed.html" if managed.current else "resident/manage.html"
    return await _appointmentpage(request, managed, template)


async def manage(request: web.Request) -> web.Response:
    return await _appointmentpage(request, await _managed(request), "resident/manage.html")


async def _appointmentpage(request: web.Request, managed: _Managed, template: str) -> web.Response:
    config = request.app[CONFIG]
    appointment, token, current = managed.appointment, managed.token, managed.current
    tenant = appointment.tenant_id
    path = f"/afspraak/{tenant}/{appointment.id}"
    join = (
        resident_join_url(config, request.app[KEYS], appointment, now=datetime.now(UTC))
        if current
        else None
    )
    return render(
        request,
        template,
        tenant=tenant,
        tenant_name=await request.app[CATALOG].tenant_name(tenant) or tenant,
        appointment=appointment,
        path=path,
        purpose_name=await _purpose_name(request, appointment),
        when=when_words(appointment.start, language_of(request).value),
        until=clock_words(appointment.end),
        early_minutes=int(EARLY_JOIN.total_seconds() // 60),
        current=current,
        cancelled=appointment.state is AppointmentState.CANCELLED,
        join_url=join,
        manage_url=f"{config.public_url}{path}#token={token}" if current else None,
        key=new_form_key(),
    )


async def manage_entry(request: web.Request) -> web.Response:
    """The manage link's page: manage.js moves the token from the fragment into the form and
    sends it; without JavaScript the resident pastes the link."""
    booking_api.tenant_of(request)
    return render(request, "resident/manage_open.html", path=request.path, error=None)


async def manage_open(request: web.Request) -> web.StreamResponse:
    check_origin(request)
    tenant, appointment_id = booking_api.tenant_of(request), request.match_info["appointment"]
    form = await request.post()
    found = _TOKEN_IN_LINK.search(_field(form, "link"))
    token = found.group(1) if found else _field(form, "link").strip()
    try:
        _claims_for(request, tenant, appointment_id, token)
    except LinkInvalid:
        gettext = gettext_for(request)
        response = render(
            request,
            "resident/manage_open.html",
            path=request.path,
            error=gettext("Deze link klopt niet. Plak de hele link uit uw bevestiging."),
        )
        response.set_status(403)
        return response
    except LinkError as error:
        raise _page_error(error, "appointment") from None
    response = see_other(f"/afspraak/{tenant}/{appointment_id}/beheren")
    path = f"/afspraak/{tenant}/{appointment_id}"
    _set_cookie(request, response, MANAGE_COOKIE, token, path, MANAGE_COOKIE_AGE)
    return response


async def invite(request: web.Request) -> web.Response:
    managed = await _managed(request)
    return await booking_api.invite_response(request, managed.appointment)


async def cancel_ask(request: web.Request) -> web.Response:
    managed = await _managed(request)
    template = "resident/manage_cancel.html" if managed.current else "resident/manage.html"
    return await _appointmentpage(request, managed, template)


async def cancel(request: web.Request) -> web.StreamResponse:
    check_origin(request)
    tenant, appointment_id = booking_api.tenant_of(request), request.match_info["appointment"]
    form = await request.post()
    key = _form_key(form)
    claims, _ = _cookie_claims(request, tenant, appointment_id)
    with _translated("appointment"), booking_api.revoked_on_change():
        cancelled = await _service(request).cancel(
            tenant, appointment_id, claims.version, idempotency_key=key
        )
    request.app[CALENDAR_WRITER].cancelled(cancelled)
    log.info("appointment %s cancelled from the resident pages (tenant %s)", cancelled.id, tenant)
    return see_other(f"/afspraak/{tenant}/{appointment_id}/beheren")


async def reschedule_date(request: web.Request) -> web.Response:
    return await _datespage(request, await _moving_journey(request))


async def reschedule_time(request: web.Request) -> web.Response:
    return await _timespage(request, await _moving_journey(request), _day(request))


async def reschedule(request: web.Request) -> web.StreamResponse:
    check_origin(request)
    tenant, appointment_id = booking_api.tenant_of(request), request.match_info["appointment"]
    form = await request.post()
    key = _form_key(form)
    journey = await _moving_journey(request)
    claims, _ = _cookie_claims(request, tenant, appointment_id)
    day = _parse_day(_field(form, "day"))
    start = _chosen_start(form)
    if start is None:
        return await _timespage(request, journey, day, error=CHOOSE_TIME, status=422)
    service = _service(request)
    try:
        with booking_api.revoked_on_change():
            moved = await service.reschedule(
                tenant,
                appointment_id,
                claims.version,
                start,
                room_id=new_room_id(),
                idempotency_key=key,
            )
    except (SlotTaken, NoStaffFree, SlotUnavailable):
        return await _timespage(request, journey, day, error=SLOT_TAKEN, status=409)
    except IdempotencyConflict:
        return await _timespage(request, journey, day, error=CHOOSE_AGAIN, status=409)
    except BookingError as error:
        raise _page_error(error, "appointment") from None
    with _translated("appointment"):
        old = await service.get(tenant, appointment_id)
    request.app[CALENDAR_WRITER].moved(old, moved)
    log.info("appointment %s rescheduled to %s from the resident pages", old.id, moved.id)
    response = see_other(f"/afspraak/{tenant}/{moved.id}/bevestiging")
    _set_manage_cookie(request, response, moved)
    return response


async def _moving_journey(request: web.Request) -> _Journey:
    managed = await _managed(request)
    appointment = managed.appointment
    if not managed.current:
        raise PageError(
            403,
            N_(
                "Deze afspraak is gewijzigd of afgezegd. "
                "Gebruik de nieuwste link uit uw bevestiging."
            ),
        )
    tenant = appointment.tenant_id
    path = f"/afspraak/{tenant}/{appointment.id}"
    return _Journey(
        tenant,
        appointment.purpose_key,
        await _purpose_name(request, appointment),
        f"{path}/verzetten",
        f"{path}/verzetten",
        moving=appointment,
    )


# --- state across redirects: cookies ------------------------------------------------------


async def _held(request: web.Request, tenant: str) -> tuple[Appointment, int]:
    """The hold of the hold cookie, and the version it was placed at."""
    found = _HOLD_VALUE.fullmatch(request.cookies.get(HOLD_COOKIE, ""))
    if found is None:
        raise PageError(400, NO_HOLD)
    try:
        held = await _service(request).get(tenant, found.group(1))
    except NotFound:
        raise PageError(400, NO_HOLD) from None
    except BookingError as error:
        raise _page_error(error, "hold") from None
    return held, int(found.group(2))


async def _check_live(request: web.Request, held: Appointment) -> None:
    now = datetime.now(UTC)
    lapsed = held.hold_expires_at is None or held.hold_expires_at <= now
    if held.state is not AppointmentState.HELD or lapsed:
        journey = await _journey_for(request, held.tenant_id, held.purpose_key)
        back = (f"{journey.base}/{local_day(held.start)}", N_("Kies opnieuw een tijd"))
        raise PageError(409, HOLD_LAPSED, back=back)


def _set_manage_cookie(
    request: web.Request, response: web.StreamResponse, appointment: Appointment
) -> None:
    token = _service(request).manage_link(appointment)
    path = f"/afspraak/{appointment.tenant_id}/{appointment.id}"
    _set_cookie(request, response, MANAGE_COOKIE, token, path, MANAGE_COOKIE_AGE)


def _set_cookie(
    request: web.Request,
    response: web.StreamResponse,
    name: str,
    value: str,
    path: str,
    max_age: int,
) -> None:
    """HttpOnly, SameSite=Strict, scoped to ``path``; Secure in production (HTTPS)."""
    response.set_cookie(
        name,
        value,
        path=path,
        max_age=max_age,
        secure=request.app[CONFIG].production,
        httponly=True,
        samesite="Strict",
    )


def _cookie_claims(
    request: web.Request, tenant: str, appointment_id: str
) -> tuple[ManageClaims, str]:
    token = request.cookies.get(MANAGE_COOKIE, "")
    if not token:
        raise PageError(
            401,
            N_("Open de link uit uw bevestiging om uw afspraak te bekijken."),
            back=(f"/afspraak/{tenant}/{appointment_id}", N_("Link invullen")),
        )
    return _claims_for(request, tenant, appointment_id, token), token


def _claims_for(request: web.Request, tenant: str, appointment_id: str, token: str) -> ManageClaims:
    claims = _service(request).manage_claims(tenant, token)
    if claims.appointment_id != appointment_id:
        raise LinkInvalid("manage link belongs to another appointment")
    return claims


@dataclass(frozen=True, slots=True)
class _Managed:
    """The appointment of the manage cookie, in whatever state it is now."""

    appointment: Appointment
    token: str
    #: the version the token was issued for
    version: int

    @property
    def current(self) -> bool:
        """Booked, and still the version the token names: the service would allow a change."""
        return (
            self.appointment.state is AppointmentState.BOOKED
            and self.appointment.version == self.version
        )


async def _managed(request: web.Request) -> _Managed:
    tenant, appointment_id = booking_api.tenant_of(request), request.match_info["appointment"]
    with _translated("appointment"):
        claims, token = _cookie_claims(request, tenant, appointment_id)
        appointment = await _service(request).get(tenant, claims.appointment_id)
    return _Managed(appointment, token, claims.version)


# --- reading forms ------------------------------------------------------------------------


def _field(form: Mapping[str, object], name: str) -> str:
    value = form.get(name)
    return value[:2000] if isinstance(value, str) else ""


def _form_key(form: Mapping[str, object]) -> str:
    key = _field(form, "key")
    if not FORM_KEY.fullmatch(key):
        raise PageError(400, N_("Dit formulier is niet compleet. Ga terug en probeer het opnieuw."))
    return key


def _chosen_start(form: Mapping[str, object]) -> datetime | None:
    raw = _field(form, "start")
    if not raw:
        return None
    try:
        return booking_api.instant_from(raw, "start")
    except Problem:
        return None


def _day(request: web.Request) -> date:
    return _parse_day(request.match_info["day"])


def _parse_day(raw: str) -> date:
    try:
        if len(raw) != 10:
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise PageError(400, N_("Deze datum klopt niet. Kies een datum uit de lijst.")) from None


# --- small things -------------------------------------------------------------------------


def _service(request: web.Request) -> BookingService:
    return request.app[BOOKING]


def _today() -> date:
    return local_day(datetime.now(UTC))


def _hold_minutes(request: web.Request) -> int:
    return int(_service(request).hold_duration.total_seconds() // 60)


def _moving(request: web.Request, journey: _Journey) -> str | None:
    if journey.moving is None:
        return None
    return when_words(journey.moving.start, language_of(request).value)


async def _journey_for(request: web.Request, tenant: str, purpose: str) -> _Journey:
    with _translated("purpose"):
        name = await request.app[CATALOG].purpose_name(tenant, purpose)
    if name is None:
        raise PageError(404, NO_PURPOSE)
    return _Journey(
        tenant,
        purpose,
        name,
        f"/afspraak/{tenant}/kies/{purpose}",
        f"/afspraak/{tenant}/vasthouden",
    )


async def _purpose_name(request: web.Request, appointment: Appointment) -> str:
    name = await request.app[CATALOG].purpose_name(appointment.tenant_id, appointment.purpose_key)
    return name or appointment.purpose_key


def _page_error(error: BookingError, subject: str) -> PageError:
    problem = booking_api.problem_for(error, subject)
    return PageError(problem.status, problem.detail or N_("Dit lukt niet."))
