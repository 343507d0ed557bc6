"""The specialist desk's routes (see :mod:`server.staff.desk.pages`)."""

from __future__ import annotations

from aiohttp import web

from server.staff.desk import walkin
from server.staff.desk.pages import (
    DESK_PATH,
    STATE_PATH,
    desk_page,
    desk_state,
    open_call,
    outcome_page,
    set_outcome,
)


def setup(app: web.Application) -> None:
    """Needs the staff, booking, verification and call parts of the application."""
    app.router.add_get(DESK_PATH, desk_page)
    app.router.add_get(STATE_PATH, desk_state)
    app.router.add_post(DESK_PATH + "/appointments/{appointment}/call", open_call)
    app.router.add_get(DESK_PATH + "/appointments/{appointment}/outcome", outcome_page)
    app.router.add_post(DESK_PATH + "/appointments/{appointment}/outcome", set_outcome)
    app.router.add_post(walkin.PREFIX + "/next", walkin.next_resident)
    app.router.add_post(walkin.PREFIX + "/{ticket}/call", walkin.reopen_call)
    app.router.add_post(walkin.PREFIX + "/{ticket}/done", walkin.ticket_done)
    app.router.add_post(walkin.PREFIX + "/{ticket}/back", walkin.ticket_back)
    app.router.add_post(DESK_PATH + "/callbacks/{callback}", walkin.callback_done)
