"""``POST /api/probe/rooms``: a fresh room for ``balie probe``, for the holder of the probe
secret.

Off unless ``BALIE_PROBE_SECRET`` is set: then the route answers 404 like a path no route
takes. The secret comes as ``Authorization: Bearer`` and is compared in constant time;
every request, right or wrong, takes from a budget per client address (shared by the nodes
through Redis when they have it), so the secret cannot be guessed quickly and rooms cannot
be asked for in bulk. The room has no purpose and no tenant, so its resident passes no
identity step and no appointment is checked in: nothing personal is asked, stored or
logged. Its tokens live :data:`PROBE_TOKEN_TTL` seconds; the room itself lives as long as
someone is in it, like any room.
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Final

from aiohttp import web

from server.call.rooms import issue_room, room_json
from server.core.appkeys import CONFIG, KEYS
from server.core.clients import client_key
from server.core.limits import Limiter
from server.core.logs import Event, bind_room, event
from server.core.problems import Problem

log = logging.getLogger("balie.probe")

PATH: Final = "/api/probe/rooms"
#: the probe's tokens are good for this many seconds: long enough for one probe
PROBE_TOKEN_TTL: Final = 300
#: probe rooms one client address may ask for at once, and then per minute
PROBE_BURST: Final = 10
PROBE_PER_MINUTE: Final = 10.0

PROBE_LIMIT = web.AppKey("probe_limit", Limiter)


async def probe_room(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    secret = config.probe_secret
    if not secret:
        raise web.HTTPNotFound()  # probing is off: the same answer as no route at all
    if not await request.app[PROBE_LIMIT].allow(client_key(request)):
        log.warning("probe room requests over the rate limit")
        response = Problem(429, "rate-limited", "Too many probe rooms; try again later").response()
        response.headers["Retry-After"] = "60"
        return response
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), secret.encode()
    ):
        log.warning("probe secret refused", extra=event(Event.PROBE_SECRET_REFUSED))
        raise Problem(401, "probe-secret-invalid", "Send the probe secret as Authorization: Bearer")
    room = issue_room(config, request.app[KEYS], now=int(time.time()), ttl=PROBE_TOKEN_TTL)
    bind_room(room.room)
    log.info("probe room issued")
    body = room_json(room) | {"expires_in": PROBE_TOKEN_TTL}
    return web.json_response(body, status=201, headers={"Cache-Control": "no-store"})
