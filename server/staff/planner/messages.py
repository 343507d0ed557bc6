"""The planner's "Berichten" page: what Balie sent residents and calendars, and what did not
arrive (docs/messages.md, "What the planner sees").

Routes (the ``planner`` role)::

    GET  /staff/planner/berichten                 counts per state; failed and retrying ones
    POST /staff/planner/berichten/{message}       send a failed message again

A message shows its kind, its channel, the appointment's reference and time (the planner's
way to find the resident), its attempts, the next try and why the last one failed. Never the
address, the number or the text: the planner does not need them to act, and the outbox does
not hold them. Sending again writes an audit event (``message.retry``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

from aiohttp import web
from sqlalchemy import select

from server.core.appkeys import CLOCK
from server.core.date_words import when_words
from server.core.forms import see_other
from server.core.language import N_, gettext_for
from server.db.appkeys import ENGINE
from server.db.audit import audit
from server.db.schema import appointments
from server.db.tx import reading, writing
from server.messages import outbox
from server.messages.model import Channel, State, Template
from server.staff.auth import requires, staff_principal
from server.staff.model import Role
from server.staff.planner.common import BASE, actor_of, language_code, not_found, page
from signaling.messages import ID_PATTERN

log = logging.getLogger("balie.planner")

MESSAGES_BASE: Final = BASE + "/berichten"

TEMPLATE_WORDS: Final[dict[Template, str]] = {
    Template.CONFIRMATION: N_("Bevestiging"),
    Template.RESCHEDULED: N_("Afspraak verzet"),
    Template.CANCELLED: N_("Afspraak afgezegd"),
    Template.REMINDER_DAY: N_("Herinnering (dag ervoor)"),
    Template.REMINDER_HOUR: N_("Herinnering (uur ervoor)"),
    Template.ABSENCE: N_("Medewerker afwezig"),
    Template.EARLIER: N_("Eerdere tijd vrij"),
    Template.CALLBACK: N_("Terugbellen: bevestiging"),
    Template.CALENDAR_BOOKED: N_("Agenda: afspraak erin"),
    Template.CALENDAR_CANCELLED: N_("Agenda: afspraak eruit"),
}
CHANNEL_WORDS: Final[dict[Channel, str]] = {
    Channel.EMAIL: N_("E-mail"),
    Channel.SMS: N_("SMS"),
    Channel.CALENDAR: N_("Agenda medewerker"),
}
STATE_WORDS: Final[dict[State, str]] = {
    State.PENDING: N_("Wacht op versturen"),
    State.SENDING: N_("Wordt verstuurd"),
    State.SENT: N_("Verstuurd"),
    State.FAILED: N_("Mislukt"),
    State.DROPPED: N_("Niet meer nodig"),
}
#: the notices after a POST (``?klaar=``)
RETRIED: Final = "opnieuw"


@dataclass(frozen=True, slots=True)
class Row:
    id: str
    kind: str
    channel: str
    state: str
    failed: bool
    appointment: str
    reference: str
    when: str
    attempts: int
    next_try: str
    reason: str


@requires(Role.PLANNER)
async def messages_page(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    gettext = gettext_for(request)
    language = language_code(request)
    tenant = principal.tenant_id
    async with reading(request.app[ENGINE]) as conn:
        counts = await outbox.counts(conn, tenant)
        unsent = await outbox.unsent(conn, tenant)
        found = await conn.execute(
            select(appointments.c.id, appointments.c.reference, appointments.c.starts_at).where(
                appointments.c.tenant_id == tenant,
                appointments.c.id.in_([m.subject_id for m in unsent]),
            )
        )
        about = {row.id: row for row in found.all()}
    rows = []
    for job in unsent:
        appointment, message = about.get(job.subject_id), job.message
        failed = message.state is State.FAILED
        rows.append(
            Row(
                id=message.id,
                kind=gettext(TEMPLATE_WORDS[job.template]),
                channel=gettext(CHANNEL_WORDS[job.channel]),
                state=gettext(STATE_WORDS[message.state]),
                failed=failed,
                appointment=job.subject_id,
                reference=appointment.reference if appointment else "–",
                when=when_words(appointment.starts_at, language) if appointment else "–",
                attempts=message.attempts,
                next_try="" if failed else when_words(message.not_before, language),
                reason=message.last_error or "",
            )
        )
    return page(
        request,
        principal,
        "planner/messages.html",
        counts=[(gettext(STATE_WORDS[state]), counts[state]) for state in State],
        rows=rows,
        retrying=sum(1 for row in rows if not row.failed),
        failed=sum(1 for row in rows if row.failed),
    )


@dataclass(frozen=True, slots=True)
class Sent:
    """One message about an appointment, on its planner page."""

    kind: str
    channel: str
    state: str
    #: when it went, or when it is (next) due
    at: str
    reason: str


async def messages_about(request: web.Request, tenant: str, appointment_id: str) -> list[Sent]:
    """Every message about one appointment (its planner page): what went, what waits."""
    gettext = gettext_for(request)
    language = language_code(request)
    async with reading(request.app[ENGINE]) as conn:
        found = await outbox.of_subjects(conn, tenant, [appointment_id])
    return [
        Sent(
            kind=gettext(TEMPLATE_WORDS[job.template]),
            channel=gettext(CHANNEL_WORDS[job.channel]),
            state=gettext(STATE_WORDS[job.message.state]),
            at=when_words(job.message.sent_at or job.message.not_before, language),
            reason=job.message.last_error or "",
        )
        for job in found
    ]


@requires(Role.PLANNER)
async def retry_message(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    message_id = request.match_info["message"]
    if not ID_PATTERN.fullmatch(message_id):
        raise not_found()
    now = request.app[CLOCK]()
    async with writing(request.app[ENGINE]) as conn:
        if not await outbox.retry(conn, principal.tenant_id, message_id, now):
            raise not_found()
        await audit(
            conn,
            principal.tenant_id,
            now,
            actor_of(principal),
            "message.retry",
            f"message:{message_id}",
        )
    log.info("planner %s sends message %s again", principal.account_id, message_id)
    return see_other(f"{MESSAGES_BASE}?klaar={RETRIED}")
