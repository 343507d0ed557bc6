"""The resident's way to a time, and what the booking and manage pages share.

The dates and times pages serve a new booking and a reschedule alike (a :class:`Journey`
says which); forms are read here, and booking errors become pages here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from aiohttp import web

from server.booking.appkeys import BOOKING, CATALOG
from server.booking.appointment import Appointment
from server.booking.errors import (
    BookingError,
)
from server.booking.problems import problem_for
from server.booking.service import BookingService
from server.booking.wire import instant_from, local_iso
from server.core.appkeys import CLOCK, CONFIG
from server.core.clock import local_day
from server.core.date_words import clock_words, day_words, week_of, when_words
from server.core.dates import parse_date
from server.core.forms import FORM_KEY, new_form_key
from server.core.language import N_, gettext_for, language_of
from server.core.pages import render
from server.core.problems import Problem
from server.resident.common import PageError

log = logging.getLogger("balie.booking.pages")

NO_PURPOSE: Final = N_("Dit onderwerp bestaat niet. Kies een onderwerp.")
SLOT_TAKEN: Final = N_("Deze tijd is net door iemand anders gekozen. Kies een andere tijd.")
CHOOSE_TIME: Final = N_("Kies een tijd.")
CHOOSE_AGAIN: Final = N_("Kies de tijd opnieuw.")


@contextmanager
def translated(subject: str) -> Iterator[None]:
    try:
        yield
    except BookingError as error:
        problem = problem_for(error, subject)
        raise PageError(problem.status, problem.detail or N_("Dit lukt niet.")) from None


@dataclass(frozen=True, slots=True)
class Journey:
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


async def dates_page(request: web.Request, journey: Journey) -> web.Response:
    service = booking_service(request)
    today = local_today(request)
    this_week = week_of(today)
    raw = request.query.get("week")
    with translated("purpose"):
        if raw is None:
            # Open on the first week with a free time, not on an empty one.
            upcoming = await service.available_dates(journey.tenant, journey.purpose, today)
            week = week_of(upcoming[0]) if upcoming else this_week
        else:
            week = max(week_of(parse_day(raw)), this_week)
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
        moving=moving_words(request, journey),
    )


async def times_page(
    request: web.Request,
    journey: Journey,
    day: date,
    *,
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    """``error`` is a Dutch text marked for translation."""
    with translated("purpose"):
        slots = await booking_service(request).available_times(journey.tenant, journey.purpose, day)
    response = render(
        request,
        "resident/times.html",
        journey=journey,
        day=day.isoformat(),
        day_words=day_words(day, language_of(request).value),
        week=week_of(day).isoformat(),
        times=[(local_iso(s.start), clock_words(s.start)) for s in slots],
        key=new_form_key(),
        error=None if error is None else gettext_for(request)(error),
        moving=moving_words(request, journey),
        # also after a POST: the language switch comes back to this day's times
        switch_back=f"{journey.base}/{day.isoformat()}",
    )
    response.set_status(status)
    return response


async def journey_for(request: web.Request, tenant: str, purpose: str) -> Journey:
    with translated("purpose"):
        name = await request.app[CATALOG].purpose_name(tenant, purpose)
    if name is None:
        raise PageError(404, NO_PURPOSE)
    return Journey(
        tenant,
        purpose,
        name,
        f"/afspraak/{tenant}/kies/{purpose}",
        f"/afspraak/{tenant}/vasthouden",
    )


async def purpose_name(request: web.Request, appointment: Appointment) -> str:
    name = await request.app[CATALOG].purpose_name(appointment.tenant_id, appointment.purpose_key)
    return name or appointment.purpose_key


def moving_words(request: web.Request, journey: Journey) -> str | None:
    if journey.moving is None:
        return None
    return when_words(journey.moving.start, language_of(request).value)


def field(form: Mapping[str, object], name: str) -> str:
    value = form.get(name)
    return value[:2000] if isinstance(value, str) else ""


def form_key(form: Mapping[str, object]) -> str:
    key = field(form, "key")
    if not FORM_KEY.fullmatch(key):
        raise PageError(400, N_("Dit formulier is niet compleet. Ga terug en probeer het opnieuw."))
    return key


def chosen_start(form: Mapping[str, object]) -> datetime | None:
    raw = field(form, "start")
    if not raw:
        return None
    try:
        return instant_from(raw, "start")
    except Problem:
        return None


def day_of(request: web.Request) -> date:
    return parse_day(request.match_info["day"])


def parse_day(raw: str) -> date:
    day = parse_date(raw)
    if day is None:
        raise PageError(400, N_("Deze datum klopt niet. Kies een datum uit de lijst."))
    return day


def booking_service(request: web.Request) -> BookingService:
    return request.app[BOOKING]


def local_today(request: web.Request) -> date:
    return local_day(request.app[CLOCK]())


def hold_minutes(request: web.Request) -> int:
    return int(booking_service(request).hold_duration.total_seconds() // 60)


def page_error(error: BookingError, subject: str) -> PageError:
    problem = problem_for(error, subject)
    return PageError(problem.status, problem.detail or N_("Dit lukt niet."))


def set_cookie(
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
