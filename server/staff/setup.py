"""Staff: sign-in and sessions, the specialist's desk and the planner console.

Every route under ``/staff`` declares the access it needs (server/staff/auth.py); the
:func:`~server.staff.auth.staff_access` guard added here enforces it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final

from aiohttp import web

from server.core.appkeys import CLOCK, CONFIG, VAULT_KEYS
from server.core.limits import limiter
from server.core.security import add_guard
from server.core.tasks import periodic
from server.db.appkeys import ENGINE
from server.staff import sign_in
from server.staff.auth import (
    LANDING,
    SESSION,
    SIGN_IN,
    SIGN_IN_BURST,
    SIGN_IN_PER_MINUTE,
    STAFF,
    StaffAuth,
    staff_access,
)
from server.staff.demo import seed_staff_demo
from server.staff.desk.setup import setup as setup_desk
from server.staff.planner.setup import setup as setup_planner
from server.staff.sign_in import SIGN_IN_CODE

#: how often expired sessions are deleted
SWEEP_INTERVAL: Final = 300.0


def setup(app: web.Application) -> None:
    """Routes, the access middleware, the staff service (after the database) and its sweeper."""
    add_guard(app, staff_access)
    app.router.add_get(SIGN_IN, sign_in.sign_in_form)
    app.router.add_post(SIGN_IN, sign_in.sign_in_submit)
    app.router.add_get(SIGN_IN_CODE, sign_in.code_form)
    app.router.add_post(SIGN_IN_CODE, sign_in.code_submit)
    app.router.add_post("/staff/sign-out", sign_in.sign_out)
    app.router.add_post("/staff/sign-out-everywhere", sign_in.sign_out_everywhere)
    app.router.add_get(LANDING, sign_in.landing)
    app.router.add_get(SESSION, sign_in.session_status)
    app.router.add_post(SESSION, sign_in.session_extend)
    setup_desk(app)
    setup_planner(app)
    app.cleanup_ctx.append(staff_context)
    app.cleanup_ctx.append(periodic(SWEEP_INTERVAL, _sweep, what="sweeping staff sessions"))


async def staff_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the staff service; in development the demo accounts."""
    config = app[CONFIG]
    if config.database.demo_data:
        await seed_staff_demo(app[ENGINE], config, app[VAULT_KEYS], app[CLOCK]())
    app[STAFF] = StaffAuth(
        app[ENGINE],
        app[VAULT_KEYS],
        config,
        clock=app[CLOCK],
        limiter=limiter(app, "sign-in", burst=SIGN_IN_BURST, per_minute=SIGN_IN_PER_MINUTE),
    )
    yield


async def _sweep(app: web.Application) -> None:
    auth = app[STAFF]
    await auth.sessions.sweep(auth.clock(), auth.idle)
