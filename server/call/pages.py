"""The call page and the ICE servers its device check tries."""

from __future__ import annotations

import time

from aiohttp import web

from server.call.room_auth import room_claims
from server.core.appkeys import CONFIG
from server.core.browser import remember_browser
from server.core.pages import render
from signaling.messages import ID_PATTERN
from signaling.turn import ice_servers_for


async def call_page(request: web.Request) -> web.Response:
    room_id = request.match_info.get("room_id", "")
    if room_id and not ID_PATTERN.fullmatch(room_id):
        raise web.HTTPNotFound()
    response = render(request, "call/call.html", room_id=room_id)
    remember_browser(request, response)
    return response


async def ice_servers(request: web.Request) -> web.Response:
    """STUN/TURN servers for the seat's device check, with its own TURN credentials."""
    claims = room_claims(request)
    config = request.app[CONFIG]
    servers = ice_servers_for(config.ice, claims.participant_id, int(time.time()))
    return web.json_response({"ice_servers": servers})
