"""The walk-in counter on the specialist desk: the queues, "Volgende inwoner", and the
residents this specialist is serving.

Routes (the desk's, docs/walk-in.md, "On the desk")::

    POST /staff/desk/walkin/next                the next resident → their call
    POST /staff/desk/walkin/{ticket}/call       back into the call of a resident being served
    POST /staff/desk/walkin/{ticket}/done       served
    POST /staff/desk/walkin/{ticket}/back       back in the queue, in the place they had
    POST /staff/desk/callbacks/{id}             "gebeld" or "niet bereikt": the number is deleted

"Volgende inwoner" first looks at the specialist's own appointments: a booked resident who is
due now and already waits in the lobby goes before every walk-in (the queue's own order puts
booked tickets first in the same way). Then the queue decides, in the database: two
specialists pressing at once never get the same resident (server/walkin/store.py).
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Final

from aiohttp import web

from server.booking.appointment import Appointment
from server.core.appkeys import CLOCK
from server.core.forms import see_other
from server.core.language import N_
from server.staff.auth import StaffRefusal, requires, staff_error_page, staff_principal
from server.staff.desk.pages import go_to_appointment, waiting_appointment
from server.staff.desk.seats import SpecialistSeat, to_call
from server.staff.model import Role, StaffPrincipal
from server.walkin.appkeys import WALKIN
from server.walkin.callbacks import CallbackGone, CallbackState
from server.walkin.queue import InvalidState, Ticket, TicketNotFound

log = logging.getLogger("balie.desk")

PREFIX: Final = "/staff/desk/walkin"
#: ticket and call-back ids (UUID4, as the stores make them)
_UUID: Final = re.compile(r"[0-9a-f-]{36}")
#: a specialist's token for a walk-in call works this long after taking the resident
CALL_TTL: Final = timedelta(hours=3)
#: the longest note handed on with a resident (characters)
NOTE_LIMIT: Final = 500
DESK: Final = "/staff/desk"


@requires(Role.SPECIALIST)
async def next_resident(request: web.Request) -> web.Response:
    """The button "Volgende inwoner": a booked resident due now and waiting, else the
    queue's next."""
    principal = staff_principal(request)
    if principal.staff_id is None:
        return _refused(
            request,
            409,
            N_("Uw account is niet gekoppeld"),
            N_("Vraag uw functioneel beheerder om uw account aan een medewerker te koppelen."),
        )
    booked: Appointment | None = await waiting_appointment(request, principal)
    if booked is not None:
        return await go_to_appointment(request, principal, booked)
    ticket = await request.app[WALKIN].take_next(principal.tenant_id, principal.staff_id)
    if ticket is None:
        return see_other(DESK + "?niemand=1")
    log.info("staff account %s took walk-in ticket %s", principal.account_id, ticket.id)
    return _to_ticket_call(request, principal, ticket)


@requires(Role.SPECIALIST)
async def reopen_call(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    ticket = await _own_ticket(request, principal)
    return _to_ticket_call(request, principal, ticket)


@requires(Role.SPECIALIST)
async def ticket_done(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    ticket = await _own_ticket(request, principal)
    assert principal.staff_id is not None  # _own_ticket refused an unlinked account
    try:
        await request.app[WALKIN].finish(principal.tenant_id, ticket.id, principal.staff_id)
    except InvalidState as error:
        return _state_refused(request, error)
    return see_other(DESK + "?vastgelegd=1")


@requires(Role.SPECIALIST)
async def ticket_back(request: web.Request) -> web.Response:
    """Back in the queue (``onderwerp`` the same purpose) or handed over to the colleagues of
    another purpose with a counter, with an optional ``notitie`` for whoever takes them."""
    principal = staff_principal(request)
    ticket = await _own_ticket(request, principal)
    assert principal.staff_id is not None
    form = await request.post()
    note = str(form.get("notitie", ""))
    purpose = str(form.get("onderwerp", "")) or ticket.purpose
    service = request.app[WALKIN]
    if len(note) > NOTE_LIMIT:
        return _refused(
            request,
            400,
            N_("Deze notitie is te lang"),
            N_("Schrijf een notitie van hoogstens 500 tekens."),
        )
    if (
        purpose != ticket.purpose
        and await service.counters.get(principal.tenant_id, purpose) is None
    ):
        return _refused(
            request,
            400,
            N_("Dit onderwerp heeft geen inloopbalie"),
            N_("Kies een onderwerp uit de lijst."),
        )
    try:
        await service.requeue(
            principal.tenant_id, ticket.id, principal.staff_id, note=note, purpose=purpose
        )
    except InvalidState as error:
        return _state_refused(request, error)
    return see_other(DESK + "?teruggezet=1")


@requires(Role.SPECIALIST)
async def callback_done(request: web.Request) -> web.Response:
    """The specialist called a resident back (``uitkomst=gebeld``) or could not reach them
    (``niet-bereikt``); either way the number is deleted now."""
    principal = staff_principal(request)
    form = await request.post()
    state = _CALLBACK_OUTCOMES.get(str(form.get("uitkomst", "")))
    callback_id = request.match_info["callback"]
    if state is None or principal.staff_id is None or not _UUID.fullmatch(callback_id):
        return _refused(
            request,
            400,
            N_("Kies Gebeld of Niet bereikt"),
            N_("Kies of u de inwoner heeft gebeld of niet kon bereiken."),
        )
    service = request.app[WALKIN]
    mine = await service.purposes_of(principal.tenant_id, principal.staff_id)
    try:
        await service.callbacks.done(
            principal.tenant_id, callback_id, state, principal.staff_id, mine, request.app[CLOCK]()
        )
    except CallbackGone:
        return _refused(
            request,
            409,
            N_("Dit terugbelverzoek is al afgehandeld"),
            N_("Een collega heeft het al afgehandeld, of het is verlopen. Kijk op de balie."),
        )
    log.info("staff account %s closed call-back %s: %s", principal.account_id, callback_id, state)
    return see_other(DESK + "?teruggebeld=1")


_CALLBACK_OUTCOMES: Final = {
    "gebeld": CallbackState.CALLED,
    "niet-bereikt": CallbackState.UNREACHABLE,
}


# --- inside --------------------------------------------------------------------------------


def _to_ticket_call(
    request: web.Request, principal: StaffPrincipal, ticket: Ticket
) -> web.Response:
    assert ticket.room_id is not None  # tickets without a room are never in a walk-in queue
    seat = SpecialistSeat(
        ticket.room_id,
        ticket.tenant_id,
        ticket.purpose,
        (ticket.taken_at or request.app[CLOCK]()) + CALL_TTL,
        ticket.channel,
        walkin=True,
    )
    return to_call(request, principal, seat)


async def _own_ticket(request: web.Request, principal: StaffPrincipal) -> Ticket:
    """The path's ticket, if this specialist is serving it; a refusal page otherwise."""
    raw = request.match_info["ticket"]
    ticket = None
    if _UUID.fullmatch(raw) and principal.staff_id is not None:
        try:
            ticket = await request.app[WALKIN].queue.get(principal.tenant_id, raw)
        except TicketNotFound:
            ticket = None
    if ticket is None or ticket.taken_by != principal.staff_id or ticket.room_id is None:
        title = N_("U helpt deze inwoner niet")
        advice = N_("U helpt deze inwoner niet (meer). Ga terug naar de balie.")
        response = staff_error_page(request, 404, title, advice, back=DESK)
        raise StaffRefusal(404, "ticket-not-found", title, response)
    return ticket


def _state_refused(request: web.Request, error: InvalidState) -> web.Response:
    log.info("walk-in ticket change refused: %s", error)
    return _refused(
        request,
        409,
        N_("Dit lukt niet meer"),
        N_("Deze inwoner is intussen geholpen of weggegaan. Kijk op de balie hoe het nu staat."),
    )


def _refused(request: web.Request, status: int, title: str, advice: str) -> web.Response:
    return staff_error_page(request, status, title, advice, back=DESK)


__all__ = ["PREFIX"]
