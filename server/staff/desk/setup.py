"""The specialist desk's routes (see :mod:`server.staff.desk.pages`)."""

from __future__ import annotations

from aiohttp import web

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
