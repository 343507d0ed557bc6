"""The language switch at the top of every page: ``POST /taal``."""

from __future__ import annotations

import logging

from aiohttp import web

from server.core.appkeys import CONFIG
from server.core.forms import see_other
from server.core.language import COOKIE, COOKIE_AGE, N_, Language, safe_return_path
from server.resident.common import PageError, check_origin, page

log = logging.getLogger("balie.language")


@page
async def choose_language(request: web.Request) -> web.Response:
    """``POST /taal``: keep the choice in a cookie and go back to the page it came from."""
    check_origin(request)
    form = await request.post()
    chosen = form.get("taal")
    try:
        language = Language(chosen if isinstance(chosen, str) else "")
    except ValueError:
        raise PageError(
            400,
            N_("Deze taal kennen we niet. Kies Nederlands of English."),
            back=("/", N_("Naar de startpagina")),
        ) from None
    back = form.get("terug")
    response = see_other(safe_return_path(back if isinstance(back, str) else "/"))
    response.set_cookie(
        COOKIE,
        language.value,
        path="/",
        max_age=COOKIE_AGE,
        secure=request.app[CONFIG].production,
        httponly=True,
        samesite="Lax",
    )
    return response
