"""The call: the signalling endpoint, its hub and reaper, the call page.

Routes::

    GET /ws                       the signalling WebSocket (docs/signaling.md)
    GET /call, /call/{room_id}    the call page; the room token rides in the fragment
    GET /api/rooms/{room_id}/ice  STUN/TURN servers for the device check
"""

from __future__ import annotations

import asyncio
from typing import Final

from aiohttp import web

from server.call.appkeys import HUB
from server.call.connection import FLUSH_BEFORE_CLOSE
from server.call.endpoint import websocket_handler
from server.call.hub import Hub, HubHooks
from server.call.pages import call_page, ice_servers
from server.core.appkeys import BUS, CONFIG, KEYS
from server.core.tasks import periodic
from signaling.close_codes import CloseCode

#: how often seats whose socket dropped are checked against the grace period
REAP_INTERVAL: Final = 1.0


def setup(app: web.Application, hooks: HubHooks) -> None:
    app[HUB] = Hub(app[CONFIG], app[KEYS], app[BUS], hooks)
    app.router.add_get("/ws", websocket_handler)
    app.router.add_get("/call", call_page)
    app.router.add_get("/call/{room_id}", call_page)
    app.router.add_get("/api/rooms/{room_id}/ice", ice_servers)
    app.cleanup_ctx.append(periodic(REAP_INTERVAL, _reap, what="releasing lapsed seats"))
    app.on_shutdown.append(_close_sockets)
    app.on_cleanup.append(_close_bus)


async def _reap(app: web.Application) -> None:
    await app[HUB].reap()


async def _close_sockets(app: web.Application) -> None:
    # Going away (1001): clients reconnect and resume on another node. The hooks that
    # closing starts (check-in, deleting a room's values) finish while the database and
    # the gate are still there: on_shutdown runs before any cleanup context stops.
    hub = app[HUB]
    closing = [
        asyncio.ensure_future(
            conn.ws.close(code=CloseCode.GOING_AWAY, message=b"server shutting down")
        )
        for conn in list(hub.sockets)  # seated or not: none may hold the exit back
    ]
    if closing:
        await asyncio.wait(closing, timeout=FLUSH_BEFORE_CLOSE)
    await hub.drain()


async def _close_bus(app: web.Application) -> None:
    await app[BUS].close()
