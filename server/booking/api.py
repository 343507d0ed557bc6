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
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Final

from aiohttp import web

from identity.errors import PolicyError
from identity.policy import policy_from_stored
from server.booking.appkeys import BOOKING
from server.booking.appointment import (
    APPOINTMENT_ID,
    CONTACT_EMAIL,
    CONTACT_PHONE,
    Appointment,
    AppointmentState,
    Contact,
)
from server.booking.calendar_writer import SHOWN_STATES, calendar_appointment
from server.booking.errors import (
    BookingError,
    Conflict,
    HoldExpired,
    IdempotencyConflict,
    InvalidInput,
    InvalidState,
    LinkError,
    LinkExpired,
    LinkInvalid,
    LinkRevoked,
    NoStaffFree,
    NotFound,
    SlotTaken,
    SlotUnavailable,
    StaleVersion,
    StorageUnavailable,
)
from server.booking.join_links import new_room_id, resident_join_url, staff_join_url
from server.booking.links import ManageClaims
from server.booking.model import AMSTERDAM
from server.booking.service import BookingService
from server.booking.setup import CALENDAR_WRITER, CATALOG, FEED_TOKENS
from server.calendars.ics import (
    FEED_CONTENT_TYPE,
    INVITE_CANCEL_CONTENT_TYPE,
    INVITE_REQUEST_CONTENT_TYPE,
    invite_cancel,
    invite_request,
    staff_feed,
)
from server.calendars.model import Organizer
from server.core.appkeys import CONFIG, KEYS
from server.core.language import N_, gettext_for
from server.core.problems import Problem, json_body
from signaling.messages import ID_PATTERN

log = logging.getLogger("balie.booking.api")

PREFIX: Final = "/api/tenants/{tenant}"
#: the feed path; its last segment is the credential (see :func:`staff_feed_ics`)
FEED_PATH: Final = PREFIX + "/staff/{staff}/feed/{token}.ics"

#: printable ASCII without spaces: UUIDs, ULIDs, random tokens; as long as the column allows
_IDEMPOTENCY_KEY: Final = re.compile(r"[\x21-\x7e]{1,128}")
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
    app.router.add_get(PREFIX + "/appointments/{appointment}/invite.ics", appointment_invite)
    app.router.add_get(FEED_PATH, staff_feed_ics)
    app.router.add_get(PREFIX + "/slots/explain", explain_slot)


# --- the one place booking errors become problems -------------------------------------------

#: error class → (status, code, title, Dutch detail for the resident); most specific first.
#: The details stay Dutch in the JSON; they are marked so the resident pages translate them.
_PROBLEMS: Final[tuple[tuple[type[BookingError], int, str, str, str], ...]] = (
    (SlotTaken, 409, "slot-taken", "The slot was just taken", N_("Deze tijd is net bezet.")),
    (
        HoldExpired,
        409,
        "hold-expired",
        "The hold lapsed",
        N_("U was te lang bezig: de tijd is vrijgegeven. Kies opnieuw een tijd."),
    ),
    (
        StaleVersion,
        409,
        "stale-version",
        "The appointment changed since it was read",
        N_("De afspraak is intussen gewijzigd. Laad haar opnieuw."),
    ),
    (
        InvalidState,
        409,
        "invalid-state",
        "Not possible in the appointment's current state",
        N_("Dit kan niet meer met deze afspraak."),
    ),
    (
        IdempotencyConflict,
        409,
        "idempotency-conflict",
        "The Idempotency-Key was used for another request",
        N_("Dit verzoek is al eerder met andere gegevens gedaan."),
    ),
    (Conflict, 409, "conflict", "The request conflicts with the current state", ""),
    (NoStaffFree, 409, "no-staff-free", "Nobody is free at this time", N_("Deze tijd is bezet.")),
    (
        SlotUnavailable,
        422,
        "slot-unavailable",
        "The start is not offered",
        N_("Op deze tijd kunt u geen afspraak maken. Kies een andere tijd."),
    ),
    (
        LinkExpired,
        403,
        "link-expired",
        "The manage link expired when the appointment started",
        N_("De afspraak is al begonnen; deze link werkt niet meer."),
    ),
    (
        LinkRevoked,
        403,
        "link-revoked",
        "The appointment changed since the manage link was sent",
        N_("De afspraak is gewijzigd of afgezegd; deze link werkt niet meer."),
    ),
    (
        LinkInvalid,
        403,
        "link-invalid",
        "The manage link is not valid here",
        N_("Deze link klopt niet. Gebruik de link uit uw bevestiging."),
    ),
    (LinkError, 403, "link-invalid", "The manage link cannot be used", ""),
    (InvalidInput, 422, "invalid-input", "A value is out of range", ""),
    (
        StorageUnavailable,
        503,
        "storage-unavailable",
        "The database is unavailable; retry later",
        N_("Het lukt nu even niet. Probeer het over een paar minuten opnieuw."),
    ),
)


def problem_for(error: BookingError, subject: str) -> Problem:
    """The problem a booking error means. ``subject`` names what a :class:`NotFound` did not
    find (``purpose``, ``hold``, ``appointment``): the request knows, the error does not."""
    if isinstance(error, NotFound):
        return Problem(
            404,
            f"{subject}-not-found",
            f"No such {subject}",
            N_("Deze afspraak of dit onderwerp bestaat niet."),
        )
    for kind, status, code, title, detail in _PROBLEMS:
        if isinstance(error, kind):
            extra: dict[str, object] = {}
            if isinstance(error, StaleVersion):
                extra["current_version"] = error.current
            elif isinstance(error, InvalidState):
                extra["state"] = str(error.state)
            elif isinstance(error, SlotUnavailable):
                extra["reasons"] = [str(reason) for reason in error.reasons]
            elif isinstance(error, HoldExpired) and error.expired_at is not None:
                extra["expired_at"] = _instant(error.expired_at)
            # Booking messages name ids, states and times only, never personal data.
            return Problem(status, code, title, detail or str(error), extra=extra)
    return Problem(500, "booking-error", "Booking failed", type(error).__name__)  # pragma: no cover


@contextmanager
def _translated(subject: str) -> Iterator[None]:
    try:
        yield
    except BookingError as error:
        raise problem_for(error, subject) from None


# --- products, dates, times ---------------------------------------------------------------


async def list_purposes(request: web.Request) -> web.Response:
    tenant = tenant_of(request)
    language = request.query.get("lang", "nl")
    if language not in _LANGUAGES:
        raise Problem(400, "language-unknown", "lang must be nl or en")
    catalog = request.app[CATALOG]
    with _translated("tenant"):
        name = await catalog.tenant_name(tenant)
        if name is None:
            raise Problem(404, "tenant-not-found", "No such tenant")
        found = await catalog.purposes(tenant)
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


def identity_labels(key: str, disclosure: object, language: str) -> list[dict[str, object]] | None:
    """What the identity step will ask, as labels; None if the policy cannot be read."""
    if disclosure in ([], None):
        return []
    try:
        policy = policy_from_stored(key, disclosure)
    except PolicyError:
        return None
    return [{"label": item.label(language), "optional": item.optional} for item in policy.items]


async def list_dates(request: web.Request) -> web.Response:
    tenant, purpose = tenant_of(request), _purpose(request)
    first = _optional_date(request, "from")
    last = _optional_date(request, "to")
    if first is not None and last is not None:
        if last < first:
            raise Problem(400, "date-range-invalid", "to is before from")
        if last - first > MAX_DATE_RANGE:
            raise Problem(400, "date-range-too-long", f"Ask at most {MAX_DATE_RANGE.days} days")
    with _translated("purpose"):
        dates = await _service(request).available_dates(tenant, purpose, first, last)
    return web.json_response({"purpose": purpose, "dates": [d.isoformat() for d in dates]})


async def list_times(request: web.Request) -> web.Response:
    tenant, purpose = tenant_of(request), _purpose(request)
    day = _optional_date(request, "date")
    if day is None:
        raise Problem(400, "date-missing", "Give ?date=YYYY-MM-DD")
    with _translated("purpose"):
        slots = await _service(request).available_times(tenant, purpose, day)
    times = [{"start": local_iso(s.start), "end": local_iso(s.end)} for s in slots]
    return web.json_response({"purpose": purpose, "date": day.isoformat(), "times": times})


async def explain_slot(request: web.Request) -> web.Response:
    """Why a start is or is not offered: the reasons only. Staff ids and the ids of other
    people's holds stay out until staff sign-in can restrict this to planners (a hold's id
    is what confirms it)."""
    tenant = tenant_of(request)
    purpose = request.query.get("purpose", "")
    if not ID_PATTERN.fullmatch(purpose):
        raise Problem(400, "purpose-missing", "Give ?purpose=<key>")
    start = instant_from(request.query.get("start"), "start")
    with _translated("purpose"):
        explanation = await _service(request).explain(tenant, purpose, start)
    reasons = sorted({str(f.reason) for v in explanation.staff for f in v.findings})
    return web.json_response(
        {
            "start": local_iso(explanation.start),
            "end": local_iso(explanation.end),
            "available": explanation.available,
            "reasons": [] if explanation.available else reasons,
        }
    )


# --- hold, book ---------------------------------------------------------------------------


async def create_hold(request: web.Request) -> web.Response:
    tenant = tenant_of(request)
    key = _idempotency_key(request)
    body = await json_body(request)
    _only(body, {"purpose", "start", "staff_id"})
    purpose = _required_id(body, "purpose")
    start = instant_from(body.get("start"), "start")
    staff_id = _optional_id(body, "staff_id")
    with _translated("purpose"):
        held = await _service(request).hold(
            tenant, purpose, start, staff_id=staff_id, idempotency_key=key
        )
    log.info("hold %s placed (tenant %s)", held.id, tenant)
    return web.json_response(_appointment_json(held), status=201)


async def book_appointment(request: web.Request) -> web.Response:
    tenant = tenant_of(request)
    key = _idempotency_key(request)
    body = await json_body(request)
    _only(body, {"hold_id", "version", "contact"})
    hold_id = body.get("hold_id")
    if not isinstance(hold_id, str) or not APPOINTMENT_ID.fullmatch(hold_id):
        raise Problem(
            400, "field-invalid", "hold_id must be the hold's id", extra={"field": "hold_id"}
        )
    version = _version(body)
    contact = contact_from(body.get("contact"))
    with _translated("hold"):
        booked = await _service(request).confirm(
            tenant, hold_id, version, contact=contact, room_id=new_room_id(), idempotency_key=key
        )
    if booked.state is AppointmentState.BOOKED:
        request.app[CALENDAR_WRITER].booked(booked)
    log.info("appointment %s booked (tenant %s)", booked.id, tenant)
    return _created(request, booked)


# --- manage: details, cancel, reschedule, invite ------------------------------------------


async def appointment_details(request: web.Request) -> web.Response:
    tenant, appointment_id = tenant_of(request), _appointment_id(request)
    with _translated("appointment"):
        _claims(request, tenant, appointment_id)
        found = await _service(request).get(tenant, appointment_id)
    body = _appointment_json(found) | _links(request, found, manage=False)
    body["contact"] = {"email": found.contact.email, "phone": found.contact.phone}
    return web.json_response(body)


async def cancel_appointment(request: web.Request) -> web.Response:
    tenant, appointment_id = tenant_of(request), _appointment_id(request)
    key = _idempotency_key(request)
    if request.can_read_body:
        _only(await json_body(request), set())
    service = _service(request)
    with _translated("appointment"):
        claims = _claims(request, tenant, appointment_id)
        with revoked_on_change():
            cancelled = await service.cancel(
                tenant, appointment_id, claims.version, idempotency_key=key
            )
    request.app[CALENDAR_WRITER].cancelled(cancelled)
    log.info("appointment %s cancelled (tenant %s)", cancelled.id, tenant)
    return web.json_response(
        _appointment_json(cancelled) | _links(request, cancelled, manage=False)
    )


async def reschedule_appointment(request: web.Request) -> web.Response:
    tenant, appointment_id = tenant_of(request), _appointment_id(request)
    key = _idempotency_key(request)
    body = await json_body(request)
    _only(body, {"start", "staff_id"})
    start = instant_from(body.get("start"), "start")
    staff_id = _optional_id(body, "staff_id")
    service = _service(request)
    with _translated("appointment"):
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
        old = await service.get(tenant, appointment_id)
    request.app[CALENDAR_WRITER].moved(old, moved)
    log.info("appointment %s rescheduled to %s (tenant %s)", old.id, moved.id, tenant)
    return _created(request, moved)


async def appointment_invite(request: web.Request) -> web.Response:
    tenant, appointment_id = tenant_of(request), _appointment_id(request)
    with _translated("appointment"):
        _claims(request, tenant, appointment_id)
        found = await _service(request).get(tenant, appointment_id)
    return await invite_response(request, found)


async def invite_response(request: web.Request, found: Appointment) -> web.Response:
    """The resident's ``.ics`` for ``found``: a REQUEST while it stands, else a CANCEL. The
    caller has checked the manage token (the API's header, or the resident pages' cookie).
    In the language the browser chose (``balie_taal``), Dutch without a choice."""
    gettext = gettext_for(request)
    with _translated("appointment"):
        names = await _names(request, found.tenant_id)
    config = request.app[CONFIG]
    now = datetime.now(UTC)
    shown = found.state in SHOWN_STATES
    event = calendar_appointment(
        found,
        tenant_name=names.tenant,
        purpose_name=names.purposes.get(found.purpose_key, found.purpose_key),
        resident_join_url=(_join_url(request, found) or "") if shown else "",
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


# --- the staff feed -----------------------------------------------------------------------


async def staff_feed_ics(request: web.Request) -> web.Response:
    """A staff member's appointments as a subscribable ``.ics``.

    The token is in the path because calendar apps subscribe by URL and cannot send a
    header; the feed holds no resident data, and ``server.core.logs`` redacts the token from the
    access log. A wrong token is a plain 404: it must not confirm that the staff member
    exists. Revoking one staff member's feed needs a stored generation (still to come; 0).
    """
    tenant, staff_id = request.match_info["tenant"], request.match_info["staff"]
    token = request.match_info["token"]
    valid = (
        ID_PATTERN.fullmatch(tenant)
        and ID_PATTERN.fullmatch(staff_id)
        and request.app[FEED_TOKENS].verify(token, tenant, staff_id)
    )
    if not valid:
        raise Problem(404, "not-found", "Not found")
    config = request.app[CONFIG]
    now = datetime.now(UTC)
    with _translated("staff"):
        found = await _service(request).appointments_between(
            tenant, now - FEED_PAST, now + FEED_FUTURE, staff_id=staff_id
        )
        names = await _names(request, tenant)
    events = [
        calendar_appointment(
            appointment,
            tenant_name=names.tenant,
            purpose_name=names.purposes.get(appointment.purpose_key, appointment.purpose_key),
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
        body["hold_expires_at"] = _instant(appointment.hold_expires_at)
    if appointment.rescheduled_from is not None:
        body["rescheduled_from"] = appointment.rescheduled_from
    return body


def _links(request: web.Request, appointment: Appointment, *, manage: bool) -> dict[str, object]:
    """Join link, invite URL and (``manage``) the manage token, for a booked appointment."""
    path = _appointment_path(appointment)
    links: dict[str, object] = {"invite_url": f"{path}/invite.ics"}
    join = _join_url(request, appointment) if appointment.state in SHOWN_STATES else None
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


def _join_url(request: web.Request, appointment: Appointment) -> str | None:
    return resident_join_url(
        request.app[CONFIG], request.app[KEYS], appointment, now=datetime.now(UTC)
    )


class _Names:
    def __init__(self, tenant: str, purposes: Mapping[str, str]) -> None:
        self.tenant = tenant
        self.purposes = purposes


async def _names(request: web.Request, tenant: str) -> _Names:
    catalog = request.app[CATALOG]
    name = await catalog.tenant_name(tenant) or tenant
    return _Names(name, {p.key: p.name for p in await catalog.purposes(tenant)})


def local_iso(moment: datetime) -> str:
    """ISO 8601 with the Amsterdam offset, the way the resident reads the time."""
    return moment.astimezone(AMSTERDAM).isoformat()


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- reading requests ---------------------------------------------------------------------


def _service(request: web.Request) -> BookingService:
    return request.app[BOOKING]


def tenant_of(request: web.Request) -> str:
    tenant = request.match_info["tenant"]
    if not ID_PATTERN.fullmatch(tenant):
        raise Problem(404, "tenant-not-found", "No such tenant")
    return tenant


def _purpose(request: web.Request) -> str:
    purpose = request.match_info["purpose"]
    if not ID_PATTERN.fullmatch(purpose):
        raise Problem(404, "purpose-not-found", "No such purpose")
    return purpose


def _appointment_id(request: web.Request) -> str:
    appointment_id = request.match_info["appointment"]
    if not APPOINTMENT_ID.fullmatch(appointment_id):
        raise Problem(404, "appointment-not-found", "No such appointment")
    return appointment_id


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


@contextmanager
def revoked_on_change() -> Iterator[None]:
    """A manage link names the version it was sent for; an operation whose compare-and-swap
    on that version misses found the appointment changed since: the link is revoked. (An
    idempotent retry replays before the swap, so it still gets its answer.)"""
    try:
        yield
    except (InvalidState, StaleVersion) as error:
        raise LinkRevoked(
            f"the appointment changed since the manage link was sent: {error}"
        ) from None


def _idempotency_key(request: web.Request) -> str:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        raise Problem(
            400,
            "idempotency-key-missing",
            "Send an Idempotency-Key header (a fresh random value per operation)",
        )
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise Problem(
            400, "idempotency-key-invalid", "Idempotency-Key must be 1-128 printable characters"
        )
    return key


def _optional_date(request: web.Request, name: str) -> date | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        if len(raw) != 10:
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise Problem(
            400, "date-malformed", f"{name} must be a date YYYY-MM-DD", extra={"field": name}
        ) from None


def instant_from(raw: object, name: str) -> datetime:
    if not isinstance(raw, str) or not raw:
        raise Problem(400, "field-missing", f"{name} is required", extra={"field": name})
    try:
        if len(raw) > 40:
            raise ValueError
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise Problem(
            400,
            "datetime-malformed",
            f"{name} must be an ISO 8601 date-time with an offset",
            extra={"field": name},
        ) from None
    if moment.utcoffset() is None:
        raise Problem(
            400,
            "datetime-without-offset",
            f"{name} needs an offset (+01:00, +02:00 or Z): a local time is ambiguous",
            extra={"field": name},
        )
    return moment


def _only(body: Mapping[str, object], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        # Names only, cut short: a client might send a value as a key by mistake.
        raise Problem(
            400,
            "field-unknown",
            "The body has fields this endpoint does not take",
            extra={"fields": [name[:40] for name in unknown[:10]]},
        )


def _required_id(body: Mapping[str, object], name: str) -> str:
    value = body.get(name)
    if value is None:
        raise Problem(400, "field-missing", f"{name} is required", extra={"field": name})
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise Problem(400, "field-invalid", f"{name} must be a key", extra={"field": name})
    return value


def _optional_id(body: Mapping[str, object], name: str) -> str | None:
    return None if body.get(name) is None else _required_id(body, name)


def _version(body: Mapping[str, object]) -> int:
    version = body.get("version")
    if type(version) is not int or version < 1:
        raise Problem(
            400, "field-invalid", "version must be a whole number >= 1", extra={"field": "version"}
        )
    return version


def contact_from(raw: object) -> Contact | None:
    """The resident's contact details, checked for shape; errors never echo the value."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise Problem(400, "field-invalid", "contact must be an object", extra={"field": "contact"})
    _only(raw, {"email", "phone"})
    email, phone = raw.get("email"), raw.get("phone")
    if email is not None and not (isinstance(email, str) and CONTACT_EMAIL.fullmatch(email)):
        raise Problem(
            422,
            "contact-invalid",
            "contact.email is not an e-mail address",
            N_("Dit e-mailadres klopt niet."),
            extra={"field": "contact.email"},
        )
    if phone is not None and not (isinstance(phone, str) and CONTACT_PHONE.fullmatch(phone)):
        raise Problem(
            422,
            "contact-invalid",
            "contact.phone is not a phone number",
            N_("Dit telefoonnummer klopt niet."),
            extra={"field": "contact.phone"},
        )
    return Contact(email=email or None, phone=phone or None)
