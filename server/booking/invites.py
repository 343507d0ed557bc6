"""The resident's links and calendar invite as HTTP answers, for the API and the manage page."""

from __future__ import annotations

from aiohttp import web

from server.booking.appkeys import CATALOG
from server.booking.appointment import Appointment
from server.booking.calendar_writer import SHOWN_STATES, calendar_appointment
from server.booking.join_links import resident_join_url, staff_join_url
from server.booking.problems import translated
from server.calendars.ics import (
    INVITE_CANCEL_CONTENT_TYPE,
    INVITE_REQUEST_CONTENT_TYPE,
    invite_cancel,
    invite_request,
)
from server.calendars.model import Organizer
from server.core.appkeys import CLOCK, CONFIG, KEYS
from server.core.language import gettext_for


def join_url(request: web.Request, appointment: Appointment) -> str | None:
    """The resident's join link, minted now; None for an appointment without a room."""
    app = request.app
    return resident_join_url(app[CONFIG], app[KEYS], appointment, now=app[CLOCK]())


async def invite_response(request: web.Request, found: Appointment) -> web.Response:
    """The resident's ``.ics`` for ``found``: a REQUEST while it stands, else a CANCEL. The
    caller has checked the manage token (the API's header, or the resident pages' cookie).
    In the language the browser chose (``balie_taal``), Dutch without a choice."""
    gettext = gettext_for(request)
    with translated("appointment"):
        names = await request.app[CATALOG].names(found.tenant_id)
    config = request.app[CONFIG]
    now = request.app[CLOCK]()
    shown = found.state in SHOWN_STATES
    event = calendar_appointment(
        found,
        tenant_name=names.tenant,
        purpose_name=names.purpose(found.purpose_key),
        resident_join_url=(join_url(request, found) or "") if shown else "",
        staff_join_url=staff_join_url(config, found),
    )
    organizer = Organizer(names.tenant, config.booking.invite_from)
    uid_domain = config.booking.caldav_uid_domain
    if shown:
        data = invite_request(event, organizer, now=now, uid_domain=uid_domain, gettext=gettext)
        content_type = INVITE_REQUEST_CONTENT_TYPE
    else:
        data = invite_cancel(event, organizer, now=now, uid_domain=uid_domain, gettext=gettext)
        content_type = INVITE_CANCEL_CONTENT_TYPE
    response = web.Response(body=data)
    response.headers["Content-Type"] = content_type
    name = gettext("afspraak.ics")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
