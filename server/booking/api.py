"""The booking JSON API (docs/booking.md, docs/openapi.yaml).

Shaped after Open Forms' appointment plugin interface (products, dates, times, book,
cancel, details), so a municipality's forms platform can drive Balie through a thin plugin:

====================================================  =======================================
``GET  /api/tenants/{t}/purposes``                      products, with what identity asks
``GET  …/purposes/{p}/dates?from=&to=``                 dates with a free slot
``GET  …/purposes/{p}/times?date=``                     times on one date (Europe/Amsterdam)
``POST …/holds``                                        hold a slot          (Idempotency-Key)
``POST …/appointments``                                 book the hold        (Idempotency-Key)
``GET  …/appointments/{id}``                            details              (manage token)
``POST …/appointments/{id}/cancel``                     cancel     (manage token, Idem.-Key)
``POST …/appointments/{id}/reschedule``                 move       (manage token, Idem.-Key)
``GET  …/appointments/{id}/invite.ics``                 REQUEST, or CANCEL   (manage token)
``GET  …/staff/{s}/feed/{token}.ics``                   a staff member's feed (feed token)
``GET  …/slots/explain?purpose=&start=``                why a start is (not) offered
====================================================  =======================================

The manage token travels as ``Authorization: Bearer``, never in a URL: URLs end up in
logs, browser histories and Referer headers. Bad input is refused before the service is
called, so it changes nothing; every booking error becomes problem JSON in one place,
:func:`problem_for`. Nothing personal goes into a log line or a URL: the resident's contact
details are only in request and response bodies.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Final

from aiohttp import web

from server.booking.appkeys import BOOKING, CATALOG, FEED_TOKENS
from server.booking.appointment import APPOINTMENT_ID, Appointment, AppointmentState
from server.booking.calendar_writer import SHOWN_STATES, calendar_appointment
from server.booking.catalog import identity_labels
from server.booking.errors import LinkInvalid
from server.booking.explanation import Reason
from server.booking.invites import invite_response, join_url
from server.booking.join_links import new_room_id, staff_join_url
from server.booking.links import ManageClaims
from server.booking.problems import revoked_on_change, translated
from server.booking.service import BookingService, Holder
from server.booking.wire import (
    appointment_id_of,
    contact_from,
    idempotency_key,
    instant_from,
    instant_iso,
    local_iso,
    only_fields,
    optional_date,
    optional_id,
    purpose_of,
    required_id,
    tenant_of,
    version_from,
)
from server.calendars.ics import FEED_CONTENT_TYPE, staff_feed
from server.core.appkeys import CLOCK, CONFIG
from server.core.clients import client_key
from server.core.language import N_
from server.core.problems import Problem, json_body
from signaling.messages import ID_PATTERN

log = logging.getLogger("balie.booking.api")

PREFIX: Final = "/api/tenants/{tenant}"
#: the feed path; its last segment is the credential (see :func:`staff_feed_ics`)
FEED_PATH: Final = PREFIX + "/staff/{staff}/feed/{token}.ics"

#: the longest window ``dates`` answers in one call (JCC answers 50 days, Graph 42)
MAX_DATE_RANGE: Final = timedelta(days=366)
#: the feed reaches back this far (a staff member looks up last week's call)
FEED_PAST: Final = timedelta(days=30)
FEED_FUTURE: Final = timedelta(days=400)
_LANGUAGES: Final = ("nl", "en")


def add_routes(app: web.Application) -> None:
    app.router.add_get(PREFIX + "/purposes", list_purposes)
    app.router.add_get(PREFIX + "/purposes/{purpose}/dates", list_dates)
    app.router.add_get(PREFIX + "/purposes/{purpose}/times", list_times)
    app.router.add_post(PREFIX + "/holds", create_hold)
    app.router.add_post(PREFIX + "/appointments", book_appointment)
    app.router.add_get(PREFIX + "/appointments/{appointment}", appointment_details)
    app.router.add_post(PREFIX + "/appointments/{appointment}/cancel", cancel_appointment)
    app.router.add_post(PREFIX + "/appointments/{appointment}/reschedule", reschedule_appointment)
    app.router.add_post(PREFIX + "/appointments/{appointment}/reminders", appointment_reminders)
    app.router.add_get(PREFIX + "/appointments/{appointment}/invite.ics", appointment_invite)
    app.router.add_get(FEED_PATH, staff_feed_ics)
    app.router.add_get(PREFIX + "/slots/explain", explain_slot)


# --- products, dates, times ---------------------------------------------------------------


async def list_purposes(request: web.Request) -> web.Response:
    tenant, name = await _tenant_named(request)
    language = request.query.get("lang", "nl")
    if language not in _LANGUAGES:
        raise Problem(400, "language-unknown", "lang must be nl or en")
    with translated("tenant"):
        found = await request.app[CATALOG].purposes(tenant)
    listed = []
    for purpose in found:
        labels = identity_labels(purpose.key, purpose.disclosure, language)
        if labels is None:
            # It could not be verified at join either (the gate refuses it): do not offer it.
            log.error("purpose %s of tenant %s has an unreadable policy", purpose.key, tenant)
            continue
        listed.append(
            {
                "key": purpose.key,
                "name": purpose.name,
                "duration_minutes": purpose.duration_minutes,
                "identity": labels,
            }
        )
    return web.json_response({"tenant": {"id": tenant, "name": name}, "purposes": listed})


async def list_dates(request: web.Request) -> web.Response:
    tenant, purpose = await _tenant(request), purpose_of(request)
    first = optional_date(request, "from")
    last = optional_date(request, "to")
    if first is not None and last is not None:
        if last < first:
            raise Problem(400, "date-range-invalid", "to is before from")
        if last - first > MAX_DATE_RANGE:
            raise Problem(400, "date-range-too-long", f"Ask at most {MAX_DATE_RANGE.days} days")
    with translated("purpose"):
        dates = await _service(request).available_dates(tenant, purpose, first, last)
    return web.json_response({"purpose": purpose, "dates": [d.isoformat() for d in dates]})


async def list_times(request: web.Request) -> web.Response:
    tenant, purpose = await _tenant(request), purpose_of(request)
    day = optional_date(request, "date")
    if day is None:
        raise Problem(400, "date-missing", "Give ?date=YYYY-MM-DD")
    with translated("purpose"):
        slots = await _service(request).available_times(tenant, purpose, day)
    times = [{"start": local_iso(s.start), "end": local_iso(s.end)} for s in slots]
    return web.json_response({"purpose": purpose, "date": day.isoformat(), "times": times})


async def explain_slot(request: web.Request) -> web.Response:
    """Why a start is or is not offered: the reasons only. Staff ids and the ids of other
    people's holds stay out until staff sign-in can restrict this to planners (a hold's id
    is what confirms it)."""
    tenant = await _tenant(request)
    purpose = request.query.get("purpose", "")
    if not ID_PATTERN.fullmatch(purpose):
        raise Problem(400, "purpose-missing", "Give ?purpose=<key>")
    start = instant_from(request.query.get("start"), "start")
    with translated("purpose"):
        explanation = await _service(request).explain(tenant, purpose, start)
    reasons = sorted({str(f.reason) for v in explanation.staff for f in v.findings})
    found: dict[str, object] = {
        "start": local_iso(explanation.start),
        "end": local_iso(explanation.end),
        "available": explanation.available,
        "reasons": [] if explanation.available else reasons,
    }
    if not explanation.available and Reason.PUBLIC_HOLIDAY in reasons:
        found["holiday"] = explanation.holiday  # the Dutch name, e.g. "Koningsdag"
    return web.json_response(found)


# --- hold, book ---------------------------------------------------------------------------


async def create_hold(request: web.Request) -> web.Response:
    tenant = await _tenant(request)
    key = idempotency_key(request)
    body = await json_body(request)
    purpose, start, staff_id = _slot_of(body)
    with translated("purpose"):
        held = await _service(request).hold(
            tenant,
            purpose,
            start,
            staff_id=staff_id,
            idempotency_key=key,
            holder=Holder(client=client_key(request)),
        )
    log.info("hold %s placed (tenant %s)", held.id, tenant)
    return web.json_response(_appointment_json(held), status=201)


async def book_appointment(request: web.Request) -> web.Response:
    """Book a held slot (``hold_id`` and ``version``), or a slot at once (``purpose`` and
    ``start``): one transaction instead of two, for a client that has every detail."""
    tenant = await _tenant(request)
    key = idempotency_key(request)
    body = await json_body(request)
    if "hold_id" not in body and "purpose" in body:
        return await _book_at_once(request, tenant, key, body)
    only_fields(body, {"hold_id", "version", "contact"})
    hold_id = body.get("hold_id")
    if not isinstance(hold_id, str) or not APPOINTMENT_ID.fullmatch(hold_id):
        raise Problem(
            400, "field-invalid", "hold_id must be the hold's id", extra={"field": "hold_id"}
        )
    version = version_from(body)
    contact = contact_from(body.get("contact"))
    with translated("hold"):
        booked = await _service(request).confirm(
            tenant, hold_id, version, contact=contact, room_id=new_room_id(), idempotency_key=key
        )
    log.info("appointment %s booked (tenant %s)", booked.id, tenant)
    return _created(request, booked)


async def _book_at_once(
    request: web.Request, tenant: str, key: str, body: dict[str, object]
) -> web.Response:
    purpose, start, staff_id = _slot_of(body, also={"contact"})
    contact = contact_from(body.get("contact"))
    with translated("purpose"):
        booked = await _service(request).book(
            tenant,
            purpose,
            start,
            staff_id=staff_id,
            contact=contact,
            room_id=new_room_id(),
            idempotency_key=key,
        )
    log.info("appointment %s booked at once (tenant %s)", booked.id, tenant)
    return _created(request, booked)


def _slot_of(
    body: dict[str, object], also: frozenset[str] | set[str] = frozenset()
) -> tuple[str, datetime, str | None]:
    """The slot a hold or a booking at once asks for: purpose, start and staff member."""
    only_fields(body, {"purpose", "start", "staff_id", *also})
    return (
        required_id(body, "purpose"),
        instant_from(body.get("start"), "start"),
        optional_id(body, "staff_id"),
    )


# --- manage: details, cancel, reschedule, invite ------------------------------------------


async def appointment_details(request: web.Request) -> web.Response:
    tenant, appointment_id = await _tenant(request), appointment_id_of(request)
    with translated("appointment"):
        _claims(request, tenant, appointment_id)
        found = await _service(request).get(tenant, appointment_id)
    body = _appointment_json(found) | _links(request, found, manage=False)
    body["contact"] = {"email": found.contact.email, "phone": found.contact.phone}
    return web.json_response(body)


async def cancel_appointment(request: web.Request) -> web.Response:
    tenant, appointment_id = await _tenant(request), appointment_id_of(request)
    key = idempotency_key(request)
    if request.can_read_body:
        only_fields(await json_body(request), set())
    service = _service(request)
    with translated("appointment"):
        claims = _claims(request, tenant, appointment_id)
        with revoked_on_change():
            cancelled = await service.cancel(
                tenant, appointment_id, claims.version, idempotency_key=key
            )
    log.info("appointment %s cancelled (tenant %s)", cancelled.id, tenant)
    return web.json_response(
        _appointment_json(cancelled) | _links(request, cancelled, manage=False)
    )


async def appointment_reminders(request: web.Request) -> web.Response:
    """Reminders on or off (``{"reminders": false}``), with the manage token; the token
    stays valid (the appointment's version does not change)."""
    tenant, appointment_id = await _tenant(request), appointment_id_of(request)
    body = await json_body(request)
    only_fields(body, {"reminders"})
    wanted = body.get("reminders")
    if not isinstance(wanted, bool):
        raise Problem(
            400,
            "field-invalid",
            "reminders must be true or false",
            extra={"field": "reminders"},
        )
    with translated("appointment"):
        claims = _claims(request, tenant, appointment_id)
        changed = await _service(request).set_reminders(tenant, claims.appointment_id, wanted)
    state = "on" if wanted else "off"
    log.info("appointment %s reminders %s (tenant %s)", changed.id, state, tenant)
    return web.json_response(_appointment_json(changed))


async def reschedule_appointment(request: web.Request) -> web.Response:
    tenant, appointment_id = await _tenant(request), appointment_id_of(request)
    key = idempotency_key(request)
    body = await json_body(request)
    only_fields(body, {"start", "staff_id"})
    start = instant_from(body.get("start"), "start")
    staff_id = optional_id(body, "staff_id")
    service = _service(request)
    with translated("appointment"):
        claims = _claims(request, tenant, appointment_id)
        with revoked_on_change():
            moved = await service.reschedule(
                tenant,
                appointment_id,
                claims.version,
                start,
                staff_id=staff_id,
                room_id=new_room_id(),
                idempotency_key=key,
            )
    log.info("appointment %s rescheduled to %s (tenant %s)", appointment_id, moved.id, tenant)
    return _created(request, moved)


async def appointment_invite(request: web.Request) -> web.Response:
    tenant, appointment_id = await _tenant(request), appointment_id_of(request)
    with translated("appointment"):
        _claims(request, tenant, appointment_id)
        found = await _service(request).get(tenant, appointment_id)
    return await invite_response(request, found)


# --- the staff feed -----------------------------------------------------------------------


async def staff_feed_ics(request: web.Request) -> web.Response:
    """A staff member's appointments as a subscribable ``.ics``.

    The token is in the path because calendar apps subscribe by URL and cannot send a
    header; the feed holds no resident data, and ``server.core.logs`` redacts the token from the
    access log. A wrong token is a plain 404: it must not confirm that the staff member
    exists (that the tenant does is public: its purposes are). Revoking one staff member's
    feed needs a stored generation (still to come; 0).
    """
    tenant, staff_id = await _tenant(request), request.match_info["staff"]
    token = request.match_info["token"]
    valid = ID_PATTERN.fullmatch(staff_id) and request.app[FEED_TOKENS].verify(
        token, tenant, staff_id
    )
    if not valid:
        raise Problem(404, "not-found", "Not found")
    config = request.app[CONFIG]
    now = request.app[CLOCK]()
    with translated("staff"):
        found = await _service(request).appointments_between(
            tenant, now - FEED_PAST, now + FEED_FUTURE, staff_id=staff_id
        )
        names = await request.app[CATALOG].names(tenant)
    events = [
        calendar_appointment(
            appointment,
            tenant_name=names.tenant,
            purpose_name=names.purpose(appointment.purpose_key),
            resident_join_url="",  # never in a staff calendar
            staff_join_url=staff_join_url(config, appointment),
        )
        for appointment in found
        if appointment.state in SHOWN_STATES
    ]
    data = staff_feed(staff_id, events, now=now, uid_domain=config.booking.caldav_uid_domain)
    response = web.Response(body=data)
    response.headers["Content-Type"] = FEED_CONTENT_TYPE
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- building responses -------------------------------------------------------------------


def _appointment_json(appointment: Appointment) -> dict[str, object]:
    body: dict[str, object] = {
        "id": appointment.id,
        "reference": appointment.reference,
        "state": str(appointment.state),
        "purpose": appointment.purpose_key,
        "start": local_iso(appointment.start),
        "end": local_iso(appointment.end),
        "version": appointment.version,
    }
    if appointment.hold_expires_at is not None:
        body["hold_expires_at"] = instant_iso(appointment.hold_expires_at)
    if appointment.rescheduled_from is not None:
        body["rescheduled_from"] = appointment.rescheduled_from
    if appointment.state is not AppointmentState.HELD:
        body["reminders"] = appointment.contact.reminders
    return body


def _links(request: web.Request, appointment: Appointment, *, manage: bool) -> dict[str, object]:
    """Join link, invite URL and (``manage``) the manage token, for a booked appointment."""
    path = _appointment_path(appointment)
    links: dict[str, object] = {"invite_url": f"{path}/invite.ics"}
    join = join_url(request, appointment) if appointment.state in SHOWN_STATES else None
    if join is not None:
        links["join_url"] = join
    if manage and appointment.state is AppointmentState.BOOKED:
        token = _service(request).manage_link(appointment)
        config = request.app[CONFIG]
        links["manage_token"] = token
        # the resident's manage page (server/resident/booking.py); the token rides in the
        # fragment, which browsers never send
        links["manage_url"] = (
            f"{config.public_url}/afspraak/{appointment.tenant_id}/{appointment.id}#token={token}"
        )
    return links


def _created(request: web.Request, appointment: Appointment) -> web.Response:
    body = _appointment_json(appointment) | _links(request, appointment, manage=True)
    response = web.json_response(body, status=201)
    response.headers["Location"] = _appointment_path(appointment)
    return response


def _appointment_path(appointment: Appointment) -> str:
    return f"/api/tenants/{appointment.tenant_id}/appointments/{appointment.id}"


# --- reading requests ---------------------------------------------------------------------


def _service(request: web.Request) -> BookingService:
    return request.app[BOOKING]


async def _tenant(request: web.Request) -> str:
    """The path's tenant, which must exist: ``404 tenant-not-found`` otherwise, on every
    route, before anything is read or written for it (a write for a tenant that is not there
    would fail on its foreign key, again and again, and end as a 503 "retry later")."""
    tenant, _ = await _tenant_named(request)
    return tenant


async def _tenant_named(request: web.Request) -> tuple[str, str]:
    """The path's tenant and its name (see :func:`_tenant`)."""
    tenant = tenant_of(request)
    name = await request.app[CATALOG].tenant_name(tenant)
    if name is None:
        raise Problem(404, "tenant-not-found", "No such tenant")
    return tenant, name


def _claims(request: web.Request, tenant: str, appointment_id: str) -> ManageClaims:
    """The manage token's claims, for this tenant and this appointment only."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(
            401,
            "link-missing",
            "Send the manage token as Authorization: Bearer",
            N_("Gebruik de link uit uw bevestiging."),
        )
    claims = _service(request).manage_claims(tenant, token.strip())
    if claims.appointment_id != appointment_id:
        raise LinkInvalid("manage link belongs to another appointment")
    return claims
