"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import WSCloseCode, web

import web as web_assets
from server.booking import api as booking_api
from server.booking.setup import setup_booking
from server.call.ws import HUB, REAP_INTERVAL, Hub, websocket_handler
from server.config import Config
from server.core import pages
from server.core.appkeys import BUS, CONFIG, KEYS
from server.core.language import LANGUAGES, Languages
from server.core.secrets import load_keys
from server.core.security import security_headers
from server.db.setup import database_context
from server.resident import booking as resident_pages
from server.staff import setup_staff
from server.staff.desk.pages import setup_desk
from server.staff.planner import pages as planner
from server.verification import api as identity_api
from server.verification.setup import setup_identity
from signaling.bus import InProcessBus, MessageBus
from signaling.tokens import KeySet

log = logging.getLogger("balie")

WEB_DIR = Path(web_assets.__file__).parent


def create_app(
    config: Config, *, keys: KeySet | None = None, bus: MessageBus | None = None
) -> web.Application:
    """Build the application; ``keys`` and ``bus`` default to the configured ones."""
    # the largest HTTP body we accept; pages post small forms only
    app = web.Application(middlewares=[security_headers], client_max_size=256 * 1024)
    app[CONFIG] = config
    app[KEYS] = keys if keys is not None else load_keys(config)
    app[BUS] = bus if bus is not None else InProcessBus()
    app[HUB] = Hub(config, app[KEYS], app[BUS])
    app[LANGUAGES] = Languages(WEB_DIR)
    app.router.add_get("/", pages.home)
    app.router.add_get("/call", pages.call_page)
    app.router.add_get("/call/{room_id}", pages.call_page)
    app.router.add_get("/healthz", pages.health)
    app.router.add_get("/api/rooms/{room_id}/ice", pages.ice_servers)
    app.router.add_get(pages.VENDOR_PREFIX + "/{name}", pages.vendor_file)
    app.router.add_get("/ws", websocket_handler)
    app.router.add_static(pages.STATIC_PREFIX, WEB_DIR / "static", append_version=True)
    identity_api.add_routes(app)
    booking_api.add_routes(app)
    resident_pages.add_routes(app)
    planner.add_routes(app)
    # order matters: contexts start in this order and stop in reverse
    app.cleanup_ctx.append(database_context)
    setup_booking(app, config)
    setup_identity(app, config)
    setup_staff(app, config)
    setup_desk(app)
    app.cleanup_ctx.append(_reaper)
    app.on_shutdown.append(_close_sockets)
    return app


async def _reaper(app: web.Application) -> AsyncIterator[None]:
    """Release seats whose socket stayed away past the resume grace period."""
    hub = app[HUB]

    async def loop() -> None:
        while True:
            await asyncio.sleep(REAP_INTERVAL)
            try:
                await hub.reap()
            except Exception:
                log.exception("reaping seats failed")

    task = asyncio.get_running_loop().create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await hub.drain()
    await app[BUS].close()


async def _close_sockets(app: web.Application) -> None:
    # Going away (1001): clients reconnect and resume on another node.
    for conn in list(app[HUB].connections.values()):
        await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
