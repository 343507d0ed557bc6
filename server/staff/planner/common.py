"""What the planner console's pages share: the page frame, labels, and small helpers."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from aiohttp import web

from server.booking.appkeys import BOOKING, CATALOG
from server.booking.appointment import (
    AppointmentState,
)
from server.booking.catalog import PurposeInfo
from server.booking.errors import BookingError
from server.booking.problems import problem_for
from server.booking.service import BookingService
from server.core.appkeys import CLOCK
from server.core.clock import AMSTERDAM, local_day
from server.core.date_words import short_day_words
from server.core.language import N_, gettext_for, language_of
from server.core.pages import render
from server.staff.auth import WARN_SECONDS
from server.staff.model import StaffPrincipal
from server.staff.planner.store import PlannerStore

log = logging.getLogger("balie.planner")

BASE: Final = "/staff/planner"

#: the longest dashboard window
MAX_RANGE: Final = timedelta(days=366)

#: the dashboard's default window: the last four weeks
DEFAULT_RANGE: Final = timedelta(days=27)

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
    "overgedragen": N_(
        "De afspraak is overgedragen aan een collega. De inwoner hoeft niets te doen."
    ),
    "bericht": N_(
        "De afspraak is afgezegd. De inwoner krijgt een bericht om een nieuwe tijd te kiezen."
    ),
    "niet-alle": N_(
        "Niet voor elke afspraak was een collega vrij. Stuur die inwoners een bericht, of kies "
        "een andere collega."
    ),
    "inloop": N_("De inloopbalie is opgeslagen."),
    "opnieuw": N_("Het bericht wordt opnieuw verstuurd."),
    "inloop-uit": N_(
        "De inloopbalie staat uit. Inwoners kunnen voor dit onderwerp alleen nog een "
        "afspraak maken."
    ),
}

PLANNER_STORE = web.AppKey("planner_store", PlannerStore)


def actor_of(principal: StaffPrincipal) -> str:
    return f"staff:{principal.account_id}"


def page(
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


def version_of(fields: dict[str, str]) -> int | None:
    """The appointment version a form posted, or None when it is not one."""
    raw = fields.get("version", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 and int(raw) >= 1 else None


async def posted_fields(request: web.Request) -> dict[str, str]:
    """The posted form's text fields (``require_staff`` already read and checked it)."""
    form = await request.post()
    return {name: value for name, value in form.items() if isinstance(value, str)}


def local_today(request: web.Request) -> date:
    return local_day(request.app[CLOCK]())


def day_label(day: date, language: str = "nl") -> str:
    return short_day_words(day, language)


def language_code(request: web.Request) -> str:
    return language_of(request).value


def clock_label(moment: datetime) -> str:
    return moment.astimezone(AMSTERDAM).strftime("%H:%M")


def span_label(start: time, end: time) -> str:
    return f"{start:%H:%M}–{end:%H:%M}"


def booking_service(request: web.Request) -> BookingService:
    return request.app[BOOKING]


def booking_message(request: web.Request, error: BookingError, subject: str) -> str:
    problem = problem_for(error, subject)
    return gettext_for(request)(problem.detail or problem.title)


def not_found() -> web.HTTPNotFound:
    return web.HTTPNotFound()


async def purposes_of(request: web.Request, tenant: str) -> list[PurposeInfo]:
    return await request.app[CATALOG].purposes(tenant)
