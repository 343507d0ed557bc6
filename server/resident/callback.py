"""Call-backs ("bel mij terug"): the resident leaves a phone number and a time window
instead of waiting.

::

    GET  /balie/{tenant}/{purpose}/terugbellen          the form: number and window
    POST /balie/{tenant}/{purpose}/terugbellen          → 303 .../terugbellen/{id}
    GET  /balie/{tenant}/{purpose}/terugbellen/{id}     "we bellen u terug tussen ..."

The number travels only in the POST's body; a refused number is never echoed into a log or
an error. The page after it shows the window, never the number.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

from aiohttp import web

from server.booking.appkeys import CATALOG
from server.booking.wire import tenant_of
from server.core.appkeys import CLOCK
from server.core.clock import local_day
from server.core.date_words import clock_words, day_words
from server.core.forms import see_other
from server.core.language import N_, gettext_for, language_of
from server.core.pages import render
from server.messages.phones import resident_message
from server.resident.common import PageError, check_origin, within_limit
from server.walkin.appkeys import WALKIN
from server.walkin.callbacks import BadPhone, checked_phone, offered_windows
from server.walkin.counters import Counter
from signaling.messages import ID_PATTERN

_ID: Final = re.compile(r"[0-9a-f-]{36}")
NO_WINDOWS: Final = N_(
    "De komende dagen kunnen we niet terugbellen. Maak een afspraak of probeer het later."
)
CHOOSE_WINDOW: Final = N_("Kies wanneer we u mogen bellen.")


async def callback_form(
    request: web.Request,
    *,
    errors: dict[str, str] | None = None,
    phone: str = "",
    status: int = 200,
) -> web.Response:
    """``errors``: Dutch texts marked for translation, by field."""
    tenant, counter, name = await _counter(request)
    windows = _windows(request, counter)
    gettext = gettext_for(request)
    response = render(
        request,
        "resident/callback.html",
        tenant=tenant,
        purpose=counter.purpose,
        purpose_name=name,
        windows=windows,
        no_windows=gettext(NO_WINDOWS),
        errors={field: gettext(text) for field, text in (errors or {}).items()},
        phone=phone,
    )
    response.set_status(status)
    return response


async def request_callback(request: web.Request) -> web.StreamResponse:
    check_origin(request)
    await within_limit(request)
    tenant, counter, _ = await _counter(request)
    form = await request.post()
    raw_phone = form.get("telefoon")
    raw_window = form.get("tijd")
    phone = raw_phone[:64] if isinstance(raw_phone, str) else ""
    now = request.app[CLOCK]()
    offered = offered_windows(counter.hours, now)
    chosen = next(
        (w for w in offered if isinstance(raw_window, str) and raw_window == _key(w)), None
    )
    errors: dict[str, str] = {}
    try:
        checked_phone(phone)
    except BadPhone as refused:
        errors["telefoon"] = resident_message(refused.problem)
    if chosen is None:
        errors["tijd-0"] = CHOOSE_WINDOW
    if errors or chosen is None:
        return await callback_form(request, errors=errors, phone=phone, status=400)
    made = await request.app[WALKIN].callbacks.request(
        tenant, counter.purpose, phone, chosen, offered, now
    )
    return see_other(f"/balie/{tenant}/{counter.purpose}/terugbellen/{made.id}")


async def callback_made(request: web.Request) -> web.Response:
    tenant, counter, name = await _counter(request)
    callback_id = request.match_info["callback"]
    found = None
    if _ID.fullmatch(callback_id):
        found = await request.app[WALKIN].callbacks.get(tenant, callback_id)
    if found is None or found.purpose != counter.purpose:
        raise PageError(404, N_("Dit terugbelverzoek bestaat niet."))
    return render(
        request,
        "resident/callback_made.html",
        tenant=tenant,
        purpose_name=name,
        when=_window_words(request, (found.window_start, found.window_end)),
    )


# --- inside --------------------------------------------------------------------------------


async def _counter(request: web.Request) -> tuple[str, Counter, str]:
    tenant = tenant_of(request)
    key = request.match_info["purpose"]
    counters = request.app[WALKIN].counters
    counter = await counters.get(tenant, key) if ID_PATTERN.fullmatch(key) else None
    name = await request.app[CATALOG].purpose_name(tenant, key) if counter else None
    if counter is None or name is None:
        raise PageError(
            404,
            N_("Voor dit onderwerp kunnen we niet terugbellen. U kunt wel een afspraak maken."),
            back=(f"/balie/{tenant}", N_("Naar de inloopbalie")),
        )
    return tenant, counter, name


def _windows(request: web.Request, counter: Counter) -> list[tuple[str, str]]:
    """The offered windows as (form value, words)."""
    now = request.app[CLOCK]()
    return [(_key(w), _window_words(request, w)) for w in offered_windows(counter.hours, now)]


def _key(window: tuple[datetime, datetime]) -> str:
    return window[0].strftime("%Y%m%dT%H%MZ")


def _window_words(request: web.Request, window: tuple[datetime, datetime]) -> str:
    gettext = gettext_for(request)
    start, end = window
    day = local_day(start)
    if day == local_day(request.app[CLOCK]()):
        when = gettext("vandaag")
    else:
        when = day_words(day, language_of(request).value)
    return gettext("%(day)s tussen %(start)s en %(end)s") % {
        "day": when,
        "start": clock_words(start),
        "end": clock_words(end),
    }
