"""Server-rendered pages."""

from __future__ import annotations

from aiohttp import web

from server.state import NONCE, TEMPLATES
from signaling.messages import ID_PATTERN

STATIC_PREFIX = "/static"


def render(request: web.Request, name: str, **context: object) -> web.Response:
    template = request.app[TEMPLATES].get_template(name)
    body = template.render(nonce=request[NONCE], static=STATIC_PREFIX, lang="nl", **context)
    return web.Response(text=body, content_type="text/html")


async def home(request: web.Request) -> web.Response:
    return render(request, "home.html")


async def call_page(request: web.Request) -> web.Response:
    room_id = request.match_info.get("room_id", "")
    if room_id and not ID_PATTERN.fullmatch(room_id):
        raise web.HTTPNotFound()
    return render(request, "call.html", room_id=room_id)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})
