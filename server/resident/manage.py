"""The booked appointment: its confirmation and manage pages, the invite, cancel, reschedule.

The manage token rides in a cookie scoped to the appointment's path (``HttpOnly``,
``SameSite=Strict``), never in a URL; it enters through the manage link's fragment, which
manage.js posts.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Final

from aiohttp import web

from server.booking.appkeys import CATALOG
from server.booking.appointment import Appointment, AppointmentState
from server.booking.errors import (
    BookingError,
    IdempotencyConflict,
    LinkError,
    LinkInvalid,
    NoStaffFree,
    SlotTaken,
    SlotUnavailable,
)
from server.booking.invites import invite_response, join_url
from server.booking.join_links import EARLY_JOIN, new_room_id
from server.booking.links import ManageClaims
from server.booking.problems import revoked_on_change
from server.booking.wire import tenant_of
from server.core.appkeys import CONFIG
from server.core.date_words import clock_words, when_words
from server.core.forms import new_form_key, see_other
from server.core.language import N_, gettext_for, language_of
from server.core.pages import render
from server.resident.common import PageError, check_origin
from server.resident.journey import (
    CHOOSE_AGAIN,
    CHOOSE_TIME,
    SLOT_TAKEN,
    Journey,
    booking_service,
    chosen_start,
    dates_page,
    day_of,
    field,
    form_key,
    page_error,
    parse_day,
    purpose_name,
    set_cookie,
    times_page,
    translated,
)

log = logging.getLogger("balie.booking.pages")

MANAGE_COOKIE: Final = "balie_manage"

#: the manage cookie outlives a visit, not the appointment (the token inside expires at start)
MANAGE_COOKIE_AGE: Final = 2 * 3600

_TOKEN_IN_LINK: Final = re.compile(r"token=([A-Za-z0-9._~-]{1,2000})")


async def confirmation(request: web.Request) -> web.Response:
    managed = await _managed(request)
    template = "resident/confirmed.html" if managed.current else "resident/manage.html"
    return await _appointment_page(request, managed, template)


async def manage(request: web.Request) -> web.Response:
    return await _appointment_page(request, await _managed(request), "resident/manage.html")


async def _appointment_page(request: web.Request, managed: _Managed, template: str) -> web.Response:
    config = request.app[CONFIG]
    appointment, token, current = managed.appointment, managed.token, managed.current
    tenant = appointment.tenant_id
    path = f"/afspraak/{tenant}/{appointment.id}"
    join = join_url(request, appointment) if current else None
    place = await booking_service(request).earlier_place(appointment) if current else None
    offer = place.offer if place else None
    return render(
        request,
        template,
        tenant=tenant,
        tenant_name=await request.app[CATALOG].tenant_name(tenant) or tenant,
        appointment=appointment,
        path=path,
        purpose_name=await purpose_name(request, appointment),
        when=when_words(appointment.start, language_of(request).value),
        until=clock_words(appointment.end),
        early_minutes=int(EARLY_JOIN.total_seconds() // 60),
        current=current,
        cancelled=appointment.state is AppointmentState.CANCELLED,
        join_url=join,
        manage_url=f"{config.public_url}{path}#token={token}" if current else None,
        key=new_form_key(),
        reminders_changed=request.query.get("herinneringen", "") in ("aan", "uit"),
        earlier=place,
        offer_when=when_words(offer.start, language_of(request).value) if offer else "",
        offer_until=clock_words(offer.hold_expires_at) if offer and offer.hold_expires_at else "",
        earlier_changed=request.query.get("eerder", "") in EARLIER_ACTIONS,
    )


async def manage_entry(request: web.Request) -> web.Response:
    """The manage link's page: manage.js moves the token from the fragment into the form and
    sends it; without JavaScript the resident pastes the link."""
    tenant_of(request)
    return render(request, "resident/manage_open.html", path=request.path, error=None)


async def manage_open(request: web.Request) -> web.StreamResponse:
    check_origin(request)
    tenant, appointment_id = tenant_of(request), request.match_info["appointment"]
    form = await request.post()
    found = _TOKEN_IN_LINK.search(field(form, "link"))
    token = found.group(1) if found else field(form, "link").strip()
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
        raise page_error(error, "appointment") from None
    response = see_other(f"/afspraak/{tenant}/{appointment_id}/beheren")
    path = f"/afspraak/{tenant}/{appointment_id}"
    set_cookie(request, response, MANAGE_COOKIE, token, path, MANAGE_COOKIE_AGE)
    return response


async def invite(request: web.Request) -> web.Response:
    managed = await _managed(request)
    return await invite_response(request, managed.appointment)


async def cancel_ask(request: web.Request) -> web.Response:
    managed = await _managed(request)
    template = "resident/manage_cancel.html" if managed.current else "resident/manage.html"
    return await _appointment_page(request, managed, template)


async def cancel(request: web.Request) -> web.StreamResponse:
    check_origin(request)
    tenant, appointment_id = tenant_of(request), request.match_info["appointment"]
    form = await request.post()
    key = form_key(form)
    claims, _ = _cookie_claims(request, tenant, appointment_id)
    with translated("appointment"), revoked_on_change():
        cancelled = await booking_service(request).cancel(
            tenant, appointment_id, claims.version, idempotency_key=key
        )
    log.info("appointment %s cancelled from the resident pages (tenant %s)", cancelled.id, tenant)
    return see_other(f"/afspraak/{tenant}/{appointment_id}/beheren")


async def reminders(request: web.Request) -> web.StreamResponse:
    """Reminders on or off (the manage page's switch); the manage link keeps working."""
    check_origin(request)
    tenant, appointment_id = tenant_of(request), request.match_info["appointment"]
    form = await request.post()
    wanted = field(form, "herinneringen")
    if wanted not in ("aan", "uit"):
        raise PageError(400, N_("Kies of u herinneringen wilt: aan of uit."))
    claims, _ = _cookie_claims(request, tenant, appointment_id)
    with translated("appointment"):
        await booking_service(request).set_reminders(tenant, claims.appointment_id, wanted == "aan")
    log.info("appointment %s reminders %s from the resident pages", appointment_id, wanted)
    return see_other(f"/afspraak/{tenant}/{appointment_id}/beheren?herinneringen={wanted}")


#: the earlier-time list's buttons on the manage page
EARLIER_ACTIONS: Final = ("aan", "uit", "nemen", "nee")


async def earlier_time(request: web.Request) -> web.StreamResponse:
    """The earlier-time list: on it, off it, take the time offered, or say no to it."""
    check_origin(request)
    tenant, appointment_id = tenant_of(request), request.match_info["appointment"]
    form = await request.post()
    action = field(form, "eerder")
    if action not in EARLIER_ACTIONS:
        raise PageError(400, N_("Kies wat u wilt met een eerdere tijd."))
    claims, _ = _cookie_claims(request, tenant, appointment_id)
    service = booking_service(request)
    with translated("appointment"), revoked_on_change():
        if action == "nemen":
            moved = await service.take_earlier(
                tenant, appointment_id, claims.version, room_id=new_room_id()
            )
            log.info("appointment %s moved to an earlier time %s", appointment_id, moved.id)
            response = see_other(f"/afspraak/{tenant}/{moved.id}/bevestiging")
            set_manage_cookie(request, response, moved)
            return response
        await service.earlier_list(tenant, appointment_id, claims.version, action)
    log.info("appointment %s: earlier-time list %s", appointment_id, action)
    return see_other(f"/afspraak/{tenant}/{appointment_id}/beheren?eerder={action}")


async def reschedule_date(request: web.Request) -> web.Response:
    return await dates_page(request, await _moving_journey(request))


async def reschedule_time(request: web.Request) -> web.Response:
    return await times_page(request, await _moving_journey(request), day_of(request))


async def reschedule(request: web.Request) -> web.StreamResponse:
    check_origin(request)
    tenant, appointment_id = tenant_of(request), request.match_info["appointment"]
    form = await request.post()
    key = form_key(form)
    journey = await _moving_journey(request)
    claims, _ = _cookie_claims(request, tenant, appointment_id)
    day = parse_day(field(form, "day"))
    start = chosen_start(form)
    if start is None:
        return await times_page(request, journey, day, error=CHOOSE_TIME, status=422)
    service = booking_service(request)
    try:
        with revoked_on_change():
            moved = await service.reschedule(
                tenant,
                appointment_id,
                claims.version,
                start,
                room_id=new_room_id(),
                idempotency_key=key,
            )
    except (SlotTaken, NoStaffFree, SlotUnavailable):
        return await times_page(request, journey, day, error=SLOT_TAKEN, status=409)
    except IdempotencyConflict:
        return await times_page(request, journey, day, error=CHOOSE_AGAIN, status=409)
    except BookingError as error:
        raise page_error(error, "appointment") from None
    log.info("appointment %s rescheduled to %s from the resident pages", appointment_id, moved.id)
    response = see_other(f"/afspraak/{tenant}/{moved.id}/bevestiging")
    set_manage_cookie(request, response, moved)
    return response


async def _moving_journey(request: web.Request) -> Journey:
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
    return Journey(
        tenant,
        appointment.purpose_key,
        await purpose_name(request, appointment),
        f"{path}/verzetten",
        f"{path}/verzetten",
        moving=appointment,
    )


def set_manage_cookie(
    request: web.Request, response: web.StreamResponse, appointment: Appointment
) -> None:
    token = booking_service(request).manage_link(appointment)
    path = f"/afspraak/{appointment.tenant_id}/{appointment.id}"
    set_cookie(request, response, MANAGE_COOKIE, token, path, MANAGE_COOKIE_AGE)


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
    claims = booking_service(request).manage_claims(tenant, token)
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
    tenant, appointment_id = tenant_of(request), request.match_info["appointment"]
    with translated("appointment"):
        claims, token = _cookie_claims(request, tenant, appointment_id)
        appointment = await booking_service(request).get(tenant, claims.appointment_id)
    return _Managed(appointment, token, claims.version)
