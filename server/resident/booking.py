"""Booking a time: the landing page, holding a time, the contact details, confirming."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Final

from aiohttp import web

from server.booking.appkeys import CATALOG
from server.booking.appointment import Appointment, AppointmentState, Contact
from server.booking.catalog import identity_labels
from server.booking.errors import (
    BookingError,
    HoldExpired,
    IdempotencyConflict,
    NoStaffFree,
    NotFound,
    SlotTaken,
    SlotUnavailable,
)
from server.booking.join_links import new_room_id
from server.booking.service import Holder
from server.booking.wire import contact_from, tenant_of
from server.core.appkeys import CLOCK
from server.core.browser import browser_id
from server.core.clients import client_key
from server.core.clock import local_day
from server.core.date_words import clock_words, when_words
from server.core.forms import new_form_key, see_other
from server.core.language import N_, gettext_for, language_of
from server.core.pages import render
from server.core.problems import Problem
from server.messages.errors import BadPhoneNumber
from server.messages.phones import mobile_number, problem_of, resident_message
from server.resident.common import PageError, check_origin
from server.resident.journey import (
    CHOOSE_AGAIN,
    CHOOSE_TIME,
    NO_PURPOSE,
    SLOT_TAKEN,
    Journey,
    booking_service,
    chosen_start,
    dates_page,
    day_of,
    field,
    form_key,
    hold_minutes,
    journey_for,
    page_error,
    parse_day,
    purpose_name,
    set_cookie,
    times_page,
    translated,
)
from server.resident.manage import set_manage_cookie
from signaling.messages import ID_PATTERN

log = logging.getLogger("balie.booking.pages")

HOLD_COOKIE: Final = "balie_hold"

_HOLD_VALUE: Final = re.compile(r"([0-9a-f-]{36})\.([0-9]{1,9})")

# Texts for the resident are Dutch, marked for translation (server/core/language.py): page
# errors carry the Dutch text, which the error page translates; form errors are translated
# where the form is rendered.
HOLD_LAPSED: Final = N_(
    "U was te lang bezig. Daarom is de tijd weer vrijgegeven. Kies opnieuw een tijd."
)

NO_HOLD: Final = N_("We weten niet welke tijd u koos. Kies opnieuw een onderwerp en een tijd.")

BAD_EMAIL: Final = N_("Dit e-mailadres klopt niet. Een goed voorbeeld is: naam@voorbeeld.nl")


async def landing(request: web.Request) -> web.Response:
    tenant = tenant_of(request)
    catalog = request.app[CATALOG]
    with translated("tenant"):
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
        labels = identity_labels(purpose.key, purpose.disclosure, language)
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
        hold_minutes=hold_minutes(request),
    )


async def choose_date(request: web.Request) -> web.Response:
    return await dates_page(request, await _new_journey(request))


async def choose_time(request: web.Request) -> web.Response:
    return await times_page(request, await _new_journey(request), day_of(request))


async def _new_journey(request: web.Request) -> Journey:
    tenant = tenant_of(request)
    purpose = request.match_info["purpose"]
    name = None
    if ID_PATTERN.fullmatch(purpose):
        with translated("purpose"):
            name = await request.app[CATALOG].purpose_name(tenant, purpose)
    if name is None:
        raise PageError(404, NO_PURPOSE)
    base = f"/afspraak/{tenant}/kies/{purpose}"
    return Journey(tenant, purpose, name, base, f"/afspraak/{tenant}/vasthouden")


async def hold(request: web.Request) -> web.StreamResponse:
    check_origin(request)
    tenant = tenant_of(request)
    form = await request.post()
    key = form_key(form)
    purpose = field(form, "purpose")
    if not ID_PATTERN.fullmatch(purpose):
        raise PageError(400, NO_PURPOSE)
    journey = await journey_for(request, tenant, purpose)
    day = parse_day(field(form, "day"))
    start = chosen_start(form)
    if start is None:
        return await times_page(request, journey, day, error=CHOOSE_TIME, status=422)
    try:
        holder = Holder(client=client_key(request), browser=browser_id(request))
        held = await booking_service(request).hold(
            tenant, purpose, start, idempotency_key=key, holder=holder
        )
    except (SlotTaken, NoStaffFree, SlotUnavailable):
        return await times_page(request, journey, day, error=SLOT_TAKEN, status=409)
    except IdempotencyConflict:
        return await times_page(request, journey, day, error=CHOOSE_AGAIN, status=409)
    except BookingError as error:
        raise page_error(error, "purpose") from None
    log.info("hold %s placed from the resident pages (tenant %s)", held.id, tenant)
    response = see_other(f"/afspraak/{tenant}/gegevens")
    age = int(booking_service(request).hold_duration.total_seconds())
    set_cookie(
        request, response, HOLD_COOKIE, f"{held.id}.{held.version}", f"/afspraak/{tenant}", age
    )
    return response


async def details(request: web.Request) -> web.StreamResponse:
    tenant = tenant_of(request)
    held, _ = await _held(request, tenant)
    if held.state is AppointmentState.BOOKED:
        # Back after confirming: the booking stands; show it (the manage cookie says so).
        return see_other(f"/afspraak/{tenant}/{held.id}/bevestiging")
    await _check_live(request, held)
    return await _details_page(request, held)


async def _details_page(
    request: web.Request,
    held: Appointment,
    *,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
) -> web.Response:
    """``errors`` holds Dutch texts marked for translation."""
    expires = held.hold_expires_at or request.app[CLOCK]()
    gettext = gettext_for(request)
    response = render(
        request,
        "resident/details.html",
        tenant=held.tenant_id,
        purpose_name=await purpose_name(request, held),
        when=when_words(held.start, language_of(request).value),
        until=clock_words(expires),
        hold_minutes=hold_minutes(request),
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
    tenant = tenant_of(request)
    form = await request.post()
    key = form_key(form)
    held, version = await _held(request, tenant)
    email, phone = field(form, "email").strip(), field(form, "phone").strip()
    # the messages go out in the language the resident books in
    contact, errors = _checked_contact(email, phone, language_of(request).value)
    if errors:
        if held.state is AppointmentState.HELD:
            await _check_live(request, held)
        return await _details_page(
            request, held, errors=errors, values={"email": email, "phone": phone}
        )
    service = booking_service(request)
    try:
        booked = await service.confirm(
            tenant, held.id, version, contact=contact, room_id=new_room_id(), idempotency_key=key
        )
    except HoldExpired:
        journey = await journey_for(request, tenant, held.purpose_key)
        return await times_page(
            request, journey, local_day(held.start), error=HOLD_LAPSED, status=409
        )
    except BookingError as error:
        raise page_error(error, "hold") from None
    log.info("appointment %s booked from the resident pages (tenant %s)", booked.id, tenant)
    response = see_other(f"/afspraak/{tenant}/{booked.id}/bevestiging")
    set_manage_cookie(request, response, booked)
    return response


def _checked_contact(
    email: str, phone: str, language: str = "nl"
) -> tuple[Contact | None, dict[str, str]]:
    """The details of the form, checked the API's way (the number as E.164, +31612345678),
    or field → Dutch message (marked for translation); never echoing a value into a log."""
    errors: dict[str, str] = {}
    checked_phone = None
    if email and (len(email) > 254 or not _email_accepted(email)):
        errors["email"] = BAD_EMAIL
    if phone:
        try:
            checked_phone = mobile_number(phone)  # what contact_from stores for the API
        except BadPhoneNumber as error:
            # says what is wrong (too short, not a mobile one): "klopt niet" alone helps nobody
            errors["phone"] = resident_message(problem_of(error))
    if errors or not (email or checked_phone):
        return None, errors
    return Contact(email=email or None, phone=checked_phone, language=language), errors


def _email_accepted(email: str) -> bool:
    try:
        contact_from({"email": email})  # the API's own check
    except Problem:
        return False
    return True


async def _held(request: web.Request, tenant: str) -> tuple[Appointment, int]:
    """The hold of the hold cookie, and the version it was placed at."""
    found = _HOLD_VALUE.fullmatch(request.cookies.get(HOLD_COOKIE, ""))
    if found is None:
        raise PageError(400, NO_HOLD)
    try:
        held = await booking_service(request).get(tenant, found.group(1))
    except NotFound:
        raise PageError(400, NO_HOLD) from None
    except BookingError as error:
        raise page_error(error, "hold") from None
    return held, int(found.group(2))


async def _check_live(request: web.Request, held: Appointment) -> None:
    now = request.app[CLOCK]()
    lapsed = held.hold_expires_at is None or held.hold_expires_at <= now
    if held.state is not AppointmentState.HELD or lapsed:
        journey = await journey_for(request, held.tenant_id, held.purpose_key)
        back = (f"{journey.base}/{local_day(held.start)}", N_("Kies opnieuw een tijd"))
        raise PageError(409, HOLD_LAPSED, back=back)
