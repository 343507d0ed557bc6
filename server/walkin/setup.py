"""The walk-in counter: its service (after the database), the resident's queue API, what the
call hub tells it, and its housekeeping.

The resident's pages are the resident feature's (server/resident/counter.py), the specialist's
"Volgende inwoner" the desk's (server/staff/desk/walkin.py), the planner's settings and
figures the planner's: they all go through :class:`~server.walkin.service.WalkinService`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import timedelta
from typing import Any, Final

from aiohttp import web

from server.call.appkeys import HUB
from server.core.appkeys import CLOCK, VAULT_KEYS
from server.core.limits import limiter
from server.core.metrics import METRICS
from server.core.tasks import periodic
from server.db.appkeys import ENGINE
from server.walkin import api
from server.walkin.appkeys import WALKIN, WALKIN_LIMIT, WALKIN_METRICS
from server.walkin.metrics import WalkinMetrics
from server.walkin.service import WalkinService
from signaling.messages import JsonObject
from signaling.roles import Role
from signaling.tokens import RoomClaims

log = logging.getLogger("balie.walkin")

#: how often residents away past the grace period are let go and old tickets purged
HOUSEKEEPING_INTERVAL: Final = 30.0
#: walk-in rooms and call-back requests per client: a household trying a few times, or a
#: library's shared address, stays well inside; a script making rooms or call-backs in bulk
#: (which would fill the desk's list) gets 429
LIMIT_BURST: Final = 20
LIMIT_PER_MINUTE: Final = 6.0
#: ended tickets (no personal data) are kept this long for the planner's figures
KEEP_TICKETS: Final = timedelta(days=400)


def setup(app: web.Application) -> None:
    api.add_routes(app)
    app.cleanup_ctx.append(walkin_context)
    app.cleanup_ctx.append(
        periodic(HOUSEKEEPING_INTERVAL, housekeeping, what="walk-in housekeeping")
    )


async def walkin_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx (after the database and the hub): the service, telling residents their
    place through the hub's notices."""
    service = WalkinService(app[ENGINE], app[CLOCK], app[VAULT_KEYS])

    async def announce(room_id: str, message: JsonObject) -> None:
        await app[HUB].notify(room_id, Role.RESIDENT, message)

    service.announce = announce
    app[WALKIN] = service
    app[WALKIN_METRICS] = WalkinMetrics(app[METRICS])
    # shared through Redis once core has connected it: one budget for the deployment
    app[WALKIN_LIMIT] = limiter(app, "walk-in", burst=LIMIT_BURST, per_minute=LIMIT_PER_MINUTE)
    yield


async def housekeeping(app: web.Application) -> None:
    """Let go of residents away past the grace period, purge old tickets, delete lapsed
    call-back numbers, and read the gauges."""
    if WALKIN not in app:
        return
    service = app[WALKIN]
    now = app[CLOCK]()
    for ticket in await service.queue.expire_away(now):
        await service.tell_everyone(ticket.tenant_id, ticket.purpose)
    await service.queue.purge(now - KEEP_TICKETS)
    await service.callbacks.expire(now)
    await app[WALKIN_METRICS].refresh(app[ENGINE], now)


def on_seated(app: web.Application) -> Callable[[RoomClaims], Coroutine[Any, Any, None]]:
    """What the hub calls when a seat is taken: the resident of a walk-in room who reached
    its lobby (after the identity gate) gets a place in the queue."""

    async def seated(claims: RoomClaims) -> None:
        if not claims.walkin or claims.role is not Role.RESIDENT:
            return
        if claims.tenant is None or claims.purpose is None:
            return
        try:
            await app[WALKIN].arrive(claims.tenant, claims.purpose, claims.room, claims.channel)
        except Exception:
            log.exception("placing a walk-in resident in the queue failed")

    return seated


def on_room_closed(app: web.Application) -> Callable[[str], Coroutine[Any, Any, None]]:
    """A walk-in room's call ended: its ticket is served (or left, if nobody took it)."""

    async def closed(room_id: str) -> None:
        try:
            await app[WALKIN].room_closed(room_id)
        except Exception:
            log.exception("closing the ticket of an ended walk-in call failed")

    return closed
