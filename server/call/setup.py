"""The call: the signalling endpoint, its hub and reaper, the call page.

Routes::

    GET /ws                       the signalling WebSocket (docs/signaling.md)
    GET /call, /call/{room_id}    the call page; the room token rides in the fragment
    GET /api/rooms/{room_id}/ice  STUN/TURN servers for the device check
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Final

from aiohttp import web

from server.call.appkeys import BUS, HUB
from server.call.connection import FLUSH_BEFORE_CLOSE
from server.call.endpoint import websocket_handler
from server.call.homes import RedisHomes
from server.call.hub import Hub, HubHooks
from server.call.metrics import LinkCollector, register_metrics
from server.call.pages import call_page, ice_servers
from server.call.redis_bus import RedisBus
from server.config import ConfigError
from server.core.appkeys import CONFIG, KEYS
from server.core.health import Check, add_readiness_check
from server.core.metrics import METRICS
from server.core.secrets import bus_keys
from server.core.tasks import periodic
from signaling.bus import InProcessBus, MessageBus
from signaling.close_codes import CloseCode

#: how often seats whose socket dropped are checked against the grace period
REAP_INTERVAL: Final = 1.0
#: how long a node waits for Redis at start before it says it cannot reach it
REDIS_START_SECONDS: Final = 10


def setup(app: web.Application, hooks: HubHooks, *, bus: MessageBus | None = None) -> None:
    """The hub and its routes; with ``BALIE_REDIS_URL`` (and no ``bus`` given) rooms are
    shared with the other nodes through Redis."""
    config = app[CONFIG]
    homes = None
    if bus is None and config.clustered:
        redis_bus = RedisBus.from_url(
            config.cluster.redis_url,
            bus_keys(config),
            prefix=config.cluster.prefix,
            on_missed=lambda channel: app[HUB].resync(channel),
        )
        if config.cluster.link is not None:
            links = redis_bus.use_links(config.cluster.link, config.cluster.link_advertise)
            app[METRICS].register(LinkCollector(links))
        homes, bus = RedisHomes(redis_bus), redis_bus
        app.cleanup_ctx.append(_connected(redis_bus))
        add_readiness_check(app, "redis", _answers(redis_bus))
    app[BUS] = bus if bus is not None else InProcessBus()
    app[HUB] = hub = Hub(config, app[KEYS], app[BUS], hooks, homes=homes)
    register_metrics(app[METRICS], hub)
    add_readiness_check(app, "signalling", _serving(app[HUB]))
    app.router.add_get("/ws", websocket_handler)
    app.router.add_get("/call", call_page)
    app.router.add_get("/call/{room_id}", call_page)
    app.router.add_get("/api/rooms/{room_id}/ice", ice_servers)
    app.cleanup_ctx.append(periodic(REAP_INTERVAL, _reap, what="releasing lapsed seats"))
    app.on_shutdown.append(_close_sockets)
    app.on_cleanup.append(_close_bus)


def _serving(hub: Hub) -> Check:
    async def check() -> str | None:
        # a stopping node takes no one new: its sockets are moving to the other nodes
        return "draining" if hub.stopping else None

    return check


def _answers(bus: RedisBus) -> Check:
    async def check() -> str | None:
        await bus.redis.ping()
        return None

    return check


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
    hub.stopping = True
    if closing:
        await asyncio.wait(closing, timeout=FLUSH_BEFORE_CLOSE)
    # each socket's handler tells the room's home its seat is away before the rooms go
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(FLUSH_BEFORE_CLOSE):
            await hub.no_sockets()
    await hub.drain()
    await hub.give_up_rooms()


def _connected(bus: RedisBus) -> Callable[[web.Application], AsyncIterator[None]]:
    """cleanup_ctx: serve only once the bus is connected; say so in one line if it cannot."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(REDIS_START_SECONDS):
                await bus.start()
        except TimeoutError:
            await bus.close()
            raise ConfigError(
                f"BALIE_REDIS_URL: no answer from Redis within {REDIS_START_SECONDS} s"
            ) from None
        except OSError as error:  # only the link's listener binds here
            await bus.close()
            raise ConfigError(f"BALIE_LINK_LISTEN: cannot listen there: {error}") from None
        yield

    return context


async def _close_bus(app: web.Application) -> None:
    await app[BUS].close()
