"""Server-rendered pages, static files and the browser packages from npm.

:func:`render` draws every page, resident or staff, in the request's language.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

from aiohttp import web

import web as web_assets
from server.core.appkeys import CONFIG, NONCE
from server.core.language import LANGUAGES, language_of

STATIC_PREFIX: Final = "/static"
VENDOR_PREFIX: Final = "/vendor"
WEB_DIR: Final = Path(web_assets.__file__).parent

log = logging.getLogger("balie.http")

#: more for the page's template, set by a request guard before the handler runs (such as the
#: municipality's contact details in the resident pages' footer); the handler's own values win
PAGE_CONTEXT = web.RequestKey("page_context", dict[str, object])

#: browser packages from npm that pages load, by the name pages use
VENDOR_FILES: Final = {
    "yivi.js": "@privacybydesign/yivi-frontend/dist/yivi.js",
    # the QR code of the EU/NL wallet step (web/static/call/ui/wallets.js)
    "qrcode.mjs": "qrcode-generator/dist/qrcode.mjs",
}


def render(
    request: web.Request, name: str, *, switch_back: str | None = None, **context: object
) -> web.Response:
    """A page in the request's language (Dutch, or English when chosen).

    The language switch returns to the page's own address; a page answering a POST names
    the page to return to in ``switch_back`` (the POST's address has no page to show), or the
    start page is used."""
    languages = request.app[LANGUAGES]
    language = language_of(request)
    if switch_back is None:
        switch_back = request.path_qs if request.method in ("GET", "HEAD") else "/"
    body = (
        languages.environment(language)
        .get_template(name)
        .render(
            nonce=request[NONCE],
            static=STATIC_PREFIX,
            lang=language.value,
            here=switch_back,
            script_texts=languages.script_texts(language),
            **(request.get(PAGE_CONTEXT, {}) | context),
        )
    )
    return web.Response(text=body, content_type="text/html")


async def vendor_file(request: web.Request) -> web.FileResponse:
    """Serve an allow-listed file from the npm install, never the whole folder."""
    relative = VENDOR_FILES.get(request.match_info["name"])
    if relative is None:
        raise web.HTTPNotFound()
    path = request.app[CONFIG].node_modules / relative
    if not path.is_file():
        log.error("%s is missing: run `npm ci --omit=dev` in the project folder", relative)
        raise web.HTTPServiceUnavailable()
    response = web.FileResponse(path)
    if path.suffix in (".js", ".mjs"):  # a module script is refused under any other type
        response.content_type = "text/javascript"
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


async def favicon(request: web.Request) -> web.FileResponse:
    """Browsers ask for /favicon.ico whatever the page says: answer with the page's icon."""
    response = web.FileResponse(WEB_DIR / "static" / "favicon.svg")
    response.content_type = "image/svg+xml"
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
