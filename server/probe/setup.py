"""Probing: the probe-room route and its rate limit.

Routes::

    POST /api/probe/rooms    a fresh room for ``balie probe`` (BALIE_PROBE_SECRET; 404 if unset)
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from server.core.limits import limiter
from server.probe.api import PATH, PROBE_BURST, PROBE_LIMIT, PROBE_PER_MINUTE, probe_room


def setup(app: web.Application) -> None:
    app.router.add_post(PATH, probe_room)
    app.cleanup_ctx.append(_limit)


async def _limit(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the budget, shared through Redis once core has connected it."""
    app[PROBE_LIMIT] = limiter(app, "probe", burst=PROBE_BURST, per_minute=PROBE_PER_MINUTE)
    yield
