"""The walk-in counter's pages: which questions can be asked now, and joining the queue.

::

    GET  /balie/{tenant}            the counters: open or closed, how many wait, how long
    GET  /balie/{tenant}/{purpose}  one counter: video, voice only or chat only
    POST /balie/{tenant}/{purpose}  a new walk-in room → 303 /call/{room}#token=...

The POST makes a room and the resident's token (with the chosen channel and the ``walkin``
claim) and nothing else: the place in the queue is made when the resident's seat enters
the room's lobby, which it does only after the identity step the purpose asks for
(server/walkin/setup.py, ``on_seated``). A resident who gives up on the way leaves an
unused room token behind, not a ticket that a specialist would take for nobody.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Final

from aiohttp import web

from server.booking.appkeys import CATALOG
from server.booking.catalog import PurposeInfo, identity_labels
from server.booking.wire import tenant_of
from server.call.rooms import new_id
from server.core.appkeys import CLOCK, CONFIG, KEYS
from server.core.clock import local_day
from server.core.date_words import clock_words, day_words
from server.core.forms import see_other
from server.core.language import N_, gettext_for, language_of
from server.core.pages import render
from server.resident.common import PageError, check_origin, within_limit
from server.walkin.appkeys import WALKIN
from server.walkin.hours import ClosedReason, Status
from server.walkin.service import CounterView
from signaling.channels import Channel
from signaling.messages import ID_PATTERN
from signaling.roles import Role
from signaling.tokens import issue_room_token

#: how long a walk-in resident's token works: the identity step, the wait and the call
TOKEN_TTL: Final = timedelta(hours=4)

NO_COUNTER: Final = N_("Voor dit onderwerp is er geen inloopbalie. U kunt wel een afspraak maken.")
CLOSED: Final = N_("De inloopbalie voor dit onderwerp is nu gesloten.")
FULL: Final = N_("Het is nu te druk. Maak een afspraak, dan hoeft u niet te wachten.")
CHOOSE_CHANNEL: Final = N_("Kies hoe u wilt praten: video, alleen bellen of chatten.")


async def counters_page(request: web.Request) -> web.Response:
    tenant = tenant_of(request)
    name = await _tenant_name(request, tenant)
    views = await request.app[WALKIN].views(tenant)
    names = {p.key: p.name for p in await request.app[CATALOG].purposes(tenant)}
    return render(
        request,
        "resident/counters.html",
        tenant=tenant,
        tenant_name=name,
        counters=[_shown(request, view, names.get(view.purpose, view.purpose)) for view in views],
    )


async def counter_page(
    request: web.Request, *, error: str | None = None, status: int = 200
) -> web.Response:
    """``error``: a Dutch text marked for translation, shown above the form."""
    tenant = tenant_of(request)
    tenant_name = await _tenant_name(request, tenant)
    view, purpose = await _view(request, tenant)
    language = language_of(request).value
    identity = identity_labels(purpose.key, purpose.disclosure, language)
    response = render(
        request,
        "resident/counter.html",
        tenant=tenant,
        tenant_name=tenant_name,
        counter=_shown(request, view, purpose.name),
        identity=identity or [],
        channels=[c.value for c in Channel],
        error=None if error is None else gettext_for(request)(error),
    )
    response.set_status(status)
    return response


async def join_queue(request: web.Request) -> web.StreamResponse:
    """A new walk-in room for this resident, then the call page (device check, identity
    step, queue)."""
    check_origin(request)
    await within_limit(request)
    tenant = tenant_of(request)
    form = await request.post()
    raw = form.get("kanaal")
    try:
        channel = Channel(raw if isinstance(raw, str) else "")
    except ValueError:
        return await counter_page(request, error=CHOOSE_CHANNEL, status=400)
    view, purpose = await _view(request, tenant)
    if not view.accepts:
        # opened in the morning, sent in the evening; or the queue filled up meanwhile
        return await counter_page(request, status=409)
    config = request.app[CONFIG]
    room = new_id("r")
    now = int(time.time())
    token = issue_room_token(
        request.app[KEYS],
        issuer=config.tokens.issuer,
        room=room,
        participant_id=new_id("p"),
        role=Role.RESIDENT,
        now=now,
        ttl=int(TOKEN_TTL.total_seconds()),
        purpose=purpose.key,
        tenant=tenant,
        channel=channel,
        walkin=True,
    )
    # the token only in the fragment: never sent back by the browser, never logged
    return see_other(f"/call/{room}#token={token}", headers={"Cache-Control": "no-store"})


# --- inside --------------------------------------------------------------------------------


async def _tenant_name(request: web.Request, tenant: str) -> str:
    name = await request.app[CATALOG].tenant_name(tenant)
    if name is None:
        raise PageError(
            404,
            N_("Deze gemeente kent Balie niet. Controleer de link."),
            back=("/", N_("Naar de startpagina")),
        )
    return name


async def _view(request: web.Request, tenant: str) -> tuple[CounterView, PurposeInfo]:
    key = request.match_info["purpose"]
    found = {p.key: p for p in await request.app[CATALOG].purposes(tenant)}
    view = await request.app[WALKIN].view(tenant, key) if ID_PATTERN.fullmatch(key) else None
    if view is None or key not in found:
        raise PageError(404, NO_COUNTER, back=(f"/balie/{tenant}", N_("Naar de inloopbalie")))
    return view, found[key]


def _shown(request: web.Request, view: CounterView, name: str) -> dict[str, object]:
    """What a page says about one counter, in the request's language."""
    gettext = gettext_for(request)
    return {
        "key": view.purpose,
        "name": name,
        "open": view.status.is_open,
        "accepts": view.accepts,
        "full": view.status.is_open and view.full,
        "status": _status_words(request, view.status),
        "waiting": view.waiting,
        "wait": _wait_words(request, view),
        "booking": f"/afspraak/{request.match_info['tenant']}/kies/{view.purpose}",
        "callback": f"/balie/{request.match_info['tenant']}/{view.purpose}/terugbellen",
        "full_text": gettext(FULL),
    }


def _status_words(request: web.Request, status: Status) -> str:
    gettext = gettext_for(request)
    language = language_of(request).value
    if status.is_open and status.closes_at is not None:
        return gettext("Nu open, tot %(time)s.") % {"time": clock_words(status.closes_at)}
    if status.reason is ClosedReason.PUBLIC_HOLIDAY and status.holiday:
        closed = gettext("Vandaag gesloten: het is %(holiday)s.") % {"holiday": status.holiday}
    elif status.reason is ClosedReason.EXCEPTION:
        closed = gettext("Vandaag gesloten.")
    else:
        closed = gettext("Nu gesloten.")
    if status.opens_at is None:
        return closed
    opens = status.opens_at
    today = local_day(request.app[CLOCK]())
    if local_day(opens) == today:
        again = gettext("Weer open vandaag om %(time)s.") % {"time": clock_words(opens)}
    else:
        again = gettext("Weer open op %(day)s om %(time)s.") % {
            "day": day_words(local_day(opens), language),
            "time": clock_words(opens),
        }
    return f"{closed} {again}"


def _wait_words(request: web.Request, view: CounterView) -> str:
    gettext = gettext_for(request)
    if view.waiting == 0:
        return gettext("Er wacht nu niemand.")
    if view.waiting == 1:
        waiting = gettext("Er wacht nu 1 persoon.")
    else:
        waiting = gettext("Er wachten nu %(count)s mensen.") % {"count": view.waiting}
    if view.expected is None:
        wait = gettext("We weten niet hoe lang het duurt.")
    else:
        minutes = max(1, round(view.expected.total_seconds() / 60))
        wait = gettext("U wacht ongeveer %(minutes)s minuten.") % {"minutes": minutes}
    return f"{waiting} {wait}"
