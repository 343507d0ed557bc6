"""The planner's "Inloopbalie" pages: per purpose, whether it has a walk-in counter, when that
is open, and when its queue counts as full (docs/walk-in.md, "The planner").

Routes (the ``planner`` role, like every planner page)::

    GET  /staff/planner/inloop                    every purpose: counter or not, open now?
    GET  /staff/planner/inloop/{purpose}          the counter's settings as a form
    POST /staff/planner/inloop/{purpose}          save them (creates the counter)
    POST /staff/planner/inloop/{purpose}/uit      switch the counter off (booking only)

The form is plain HTML and works without JavaScript. A form with an error changes nothing
and comes back (400) with every problem named; a saved one redirects with a notice. The
counter's state "now" comes from :func:`server.walkin.hours.status` with the application's
clock, so tests move time instead of waiting. Every change writes an audit event
(``walkin.counter_save`` / ``walkin.counter_remove``, subject ``purpose:<key>``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from aiohttp import web

from server.booking.catalog import PurposeInfo
from server.core.appkeys import CLOCK
from server.core.date_words import when_words
from server.core.forms import see_other
from server.core.language import gettext_for
from server.db.appkeys import ENGINE
from server.db.audit import audit
from server.db.tx import writing
from server.staff.auth import requires, staff_principal
from server.staff.model import Role, StaffPrincipal
from server.staff.planner.common import (
    BASE,
    actor_of,
    clock_label,
    language_code,
    not_found,
    page,
    posted_fields,
    purposes_of,
)
from server.staff.planner.forms import WEEKDAYS, Checked, Translate
from server.staff.planner.walkin_forms import (
    EXCEPTIONS,
    GOOD_FRIDAY,
    HANDLING,
    HOLIDAY_CHOICES,
    HOLIDAYS,
    LIBERATION,
    LIBERATION_CHOICES,
    MAX_WAIT,
    MAX_WAITING,
    NUMBER_LABELS,
    WEEKDAY_FIELDS,
    counter_values,
    parse_counter,
    ranges_text,
)
from server.walkin.appkeys import WALKIN
from server.walkin.counters import Counter, WalkinCounters
from server.walkin.hours import LOOKAHEAD_DAYS, ClosedReason, status

log = logging.getLogger("balie.planner")

WALKIN_BASE: Final = BASE + "/inloop"
#: audit actions of this page
COUNTER_SAVED: Final = "walkin.counter_save"
COUNTER_REMOVED: Final = "walkin.counter_remove"


@dataclass(frozen=True, slots=True)
class PurposeRow:
    """One purpose on the overview, as shown."""

    key: str
    name: str
    has_counter: bool
    state: str  #: "Nu open tot 16:00." or why it is closed and when it opens
    hours: tuple[tuple[str, str], ...]  #: (weekday, ranges) of the days it opens
    limits: str


def _counters(request: web.Request) -> WalkinCounters:
    return request.app[WALKIN].counters


def state_words(counter: Counter | None, now: datetime, gettext: Translate, language: str) -> str:
    """The counter at ``now`` in a sentence or two, in the page's language."""
    if counter is None:
        return gettext("Geen inloopbalie: alleen op afspraak.")
    found = status(counter.hours, now)
    if found.is_open and found.closes_at is not None:
        return gettext("Nu open, tot %(time)s.") % {"time": clock_label(found.closes_at)}
    if found.reason is ClosedReason.PUBLIC_HOLIDAY:
        why = gettext("Nu dicht: het is %(holiday)s (feestdag).") % {"holiday": found.holiday}
    elif found.reason is ClosedReason.EXCEPTION:
        why = gettext("Nu dicht: voor vandaag is een uitzondering ingesteld.")
    else:
        why = gettext("Nu dicht: buiten de openingstijden.")
    if found.opens_at is None:
        then = gettext("De komende %(days)d dagen gaat de inloopbalie niet open.") % {
            "days": LOOKAHEAD_DAYS
        }
    else:
        then = gettext("Weer open op %(when)s.") % {"when": when_words(found.opens_at, language)}
    return f"{why} {then}"


def _limits(counter: Counter, gettext: Translate) -> str:
    parts = []
    if counter.max_waiting is not None:
        parts.append(gettext("hoogstens %(count)d wachtenden") % {"count": counter.max_waiting})
    if counter.max_wait is not None:
        minutes = int(counter.max_wait.total_seconds() // 60)
        parts.append(gettext("hoogstens %(minutes)d minuten wachten") % {"minutes": minutes})
    if not parts:
        parts.append(gettext("geen grens aan de wachtrij"))
    minutes = int(counter.handling.total_seconds() // 60)
    parts.append(gettext("gesprek gemiddeld %(minutes)d minuten") % {"minutes": minutes})
    return ", ".join(parts)


async def _purpose(request: web.Request, tenant: str) -> PurposeInfo:
    key = request.match_info["purpose"]
    for purpose in await purposes_of(request, tenant):
        if purpose.key == key:
            return purpose
    raise not_found()


@requires(Role.PLANNER)
async def walkin_overview(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    gettext = gettext_for(request)
    language = language_code(request)
    tenant = principal.tenant_id
    counters = await _counters(request).all(tenant)
    now = request.app[CLOCK]()
    rows = []
    for purpose in await purposes_of(request, tenant):
        counter = counters.get(purpose.key)
        rows.append(
            PurposeRow(
                key=purpose.key,
                name=purpose.name,
                has_counter=counter is not None,
                state=state_words(counter, now, gettext, language),
                hours=()
                if counter is None
                else tuple(
                    (gettext(day), ranges_text(ranges))
                    for day, ranges in zip(WEEKDAYS, counter.hours.weekly, strict=True)
                    if ranges
                ),
                limits="" if counter is None else _limits(counter, gettext),
            )
        )
    return page(request, principal, "planner/walkin.html", purposes=rows)


async def _counter_page(
    request: web.Request,
    principal: StaffPrincipal,
    purpose: PurposeInfo,
    *,
    checked: Checked | None = None,
    status_code: int = 200,
) -> web.Response:
    gettext = gettext_for(request)
    counter = await _counters(request).get(principal.tenant_id, purpose.key)
    checked = checked or Checked(values=counter_values(counter))
    return page(
        request,
        principal,
        "planner/walkin_counter.html",
        status=status_code,
        switch_back=f"{WALKIN_BASE}/{purpose.key}",
        purpose=purpose,
        has_counter=counter is not None,
        state=state_words(counter, request.app[CLOCK](), gettext, language_code(request)),
        weekdays=[
            (input_id, gettext(day)) for input_id, day in zip(WEEKDAY_FIELDS, WEEKDAYS, strict=True)
        ],
        holiday_choices={key: gettext(label) for key, label in HOLIDAY_CHOICES.items()},
        liberation_choices={key: gettext(label) for key, label in LIBERATION_CHOICES.items()},
        numbers=[
            (input_id, gettext(NUMBER_LABELS[input_id])) for input_id in (MAX_WAITING, MAX_WAIT)
        ],
        handling=(HANDLING, gettext(NUMBER_LABELS[HANDLING])),
        names={
            "holidays": HOLIDAYS,
            "liberation": LIBERATION,
            "good_friday": GOOD_FRIDAY,
            "exceptions": EXCEPTIONS,
        },
        values=checked.values,
        errors=checked.errors,
    )


@requires(Role.PLANNER)
async def walkin_counter_page(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    purpose = await _purpose(request, principal.tenant_id)
    return await _counter_page(request, principal, purpose)


async def _audit(request: web.Request, principal: StaffPrincipal, action: str, key: str) -> None:
    async with writing(request.app[ENGINE]) as conn:
        await audit(
            conn,
            principal.tenant_id,
            request.app[CLOCK](),
            actor_of(principal),
            action,
            f"purpose:{key}",
        )


@requires(Role.PLANNER)
async def walkin_counter_save(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    purpose = await _purpose(request, principal.tenant_id)
    counter, checked = parse_counter(
        purpose.key, await posted_fields(request), gettext_for(request)
    )
    if counter is None:
        return await _counter_page(request, principal, purpose, checked=checked, status_code=400)
    await _counters(request).save(principal.tenant_id, counter, request.app[CLOCK]())
    await _audit(request, principal, COUNTER_SAVED, purpose.key)
    log.info("planner %s saved the walk-in counter of %s", principal.account_id, purpose.key)
    return see_other(f"{WALKIN_BASE}/{purpose.key}?klaar=inloop")


@requires(Role.PLANNER)
async def walkin_counter_remove(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    purpose = await _purpose(request, principal.tenant_id)
    if await _counters(request).remove(principal.tenant_id, purpose.key):
        await _audit(request, principal, COUNTER_REMOVED, purpose.key)
        log.info(
            "planner %s switched off the walk-in counter of %s", principal.account_id, purpose.key
        )
    return see_other(f"{WALKIN_BASE}?klaar=inloop-uit")
