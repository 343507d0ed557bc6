"""What the desk page shows of the walk-in counter: the queues of the specialist's purposes,
and the residents they took and have not finished (server/staff/desk/walkin.py acts on them).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from server.booking.appkeys import CATALOG
from server.core.appkeys import CLOCK
from server.core.clock import local_day
from server.core.date_words import clock_words, day_words
from server.core.language import gettext_for, language_of
from server.messages.phones import readable
from server.staff.model import StaffPrincipal
from server.walkin.appkeys import WALKIN
from server.walkin.words import CHANNEL_WORDS


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One purpose's queue as the desk shows it."""

    purpose: str
    name: str
    waiting: int
    open: bool


@dataclass(frozen=True, slots=True)
class ServingRow:
    """A walk-in resident this specialist took and has not finished."""

    ticket: str
    purpose: str
    name: str
    channel: str
    #: what the colleague who handed the resident on wrote for whoever takes them next
    note: str | None


@dataclass(frozen=True, slots=True)
class CallbackRow:
    """A resident to call back: the number, opened for this desk only."""

    id: str
    name: str
    window: str
    #: None when no vault key opens it any more (a key left the ring); E.164 for the tel: link
    phone: str | None
    #: the number as a Dutch reader writes it (06 12345678)
    phone_shown: str | None = None


async def walkin_section(request: web.Request, principal: StaffPrincipal) -> dict[str, object]:
    """What the desk page shows of the walk-in counter: the queues of the specialist's
    purposes (those with a counter), how many wait in all, whom they are serving, and whom to
    call back (windows of today and earlier)."""
    if principal.staff_id is None:
        return {"queues": [], "waiting": 0, "serving": [], "callbacks": [], "counters": []}
    service = request.app[WALKIN]
    tenant = principal.tenant_id
    mine = set(await service.purposes_of(tenant, principal.staff_id))
    names = {p.key: p.name for p in await request.app[CATALOG].purposes(tenant)}
    views = await service.views(tenant)
    queues = [
        QueueRow(
            view.purpose, names.get(view.purpose, view.purpose), view.waiting, view.status.is_open
        )
        for view in views
        if view.purpose in mine
    ]
    gettext = gettext_for(request)
    serving = [
        ServingRow(
            t.id,
            t.purpose,
            names.get(t.purpose, t.purpose),
            gettext(CHANNEL_WORDS[t.channel]),
            service.note_of(t),
        )
        for t in await service.serving(tenant, principal.staff_id)
    ]
    # where a resident can be handed over to: every purpose with a counter
    counters = [(view.purpose, names.get(view.purpose, view.purpose)) for view in views]
    today = local_day(request.app[CLOCK]())
    language = language_of(request).value
    callbacks = []
    for c in await service.callbacks.open_for(tenant, mine, today):
        window = f"{clock_words(c.window_start)}–{clock_words(c.window_end)}"
        day = local_day(c.window_start)
        if day != today:  # an earlier day's request nobody called back yet
            window = f"{day_words(day, language)}, {window}"
        shown = readable(c.phone) if c.phone else None
        callbacks.append(CallbackRow(c.id, names.get(c.purpose, c.purpose), window, c.phone, shown))
    return {
        "queues": queues,
        "waiting": sum(q.waiting for q in queues),
        "serving": serving,
        "callbacks": callbacks,
        "counters": counters,
    }
