"""The browser session: a random id in an HttpOnly cookie.

A verified identity is bound to one room *and* one browser, so a result
(or a join link) carried to another browser does not carry the verification
with it. The cookie holds 128 random bits and nothing else; JavaScript cannot
read it (HttpOnly) and other sites cannot send it (SameSite=Strict), and the
WebSocket handshake from our own pages carries it to the signalling server.
"""

from __future__ import annotations

import re
import secrets
from typing import Final

from aiohttp import web

from server.core.appkeys import CONFIG

_DEV_COOKIE: Final = "balie_browser"
# __Host- pins the cookie to this exact origin over HTTPS (no Domain, Path=/).
_PRODUCTION_COOKIE: Final = "__Host-balie_browser"
_VALUE: Final = re.compile(r"[A-Za-z0-9_-]{22}")
# long enough for a call booked days ahead to be joined from the same browser
_MAX_AGE: Final = 30 * 24 * 3600


def _cookie_name(request: web.Request) -> str:
    return _PRODUCTION_COOKIE if request.app[CONFIG].production else _DEV_COOKIE


def browser_id(request: web.Request) -> str | None:
    """This browser's id, or None when it has no (well-formed) cookie."""
    value = request.cookies.get(_cookie_name(request), "")
    return value if _VALUE.fullmatch(value) else None


def remember_browser(request: web.Request, response: web.StreamResponse) -> None:
    """Give the browser an id unless it already has one."""
    if browser_id(request) is not None:
        return
    response.set_cookie(
        _cookie_name(request),
        secrets.token_urlsafe(16),
        max_age=_MAX_AGE,
        path="/",
        secure=request.app[CONFIG].production,
        httponly=True,
        samesite="Strict",
    )
