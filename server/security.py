"""Security headers on every response, and errors that leak nothing.

Every response (pages, static files, the API, 404s and 500s) carries a
nonce-based Content-Security-Policy without ``unsafe-inline``/``unsafe-eval``,
HSTS, ``frame-ancestors 'none'``, ``nosniff`` and a strict referrer policy.
Errors become problem JSON for programs and a readable Dutch page for people;
an unexpected exception is logged by type only and never shown.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web

from server.state import NONCE, TEMPLATES

log = logging.getLogger("balie.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_STATIC_HEADERS: Final = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), microphone=(self), display-capture=(self), "
    "geolocation=(), payment=(), usb=()",
}

_TITLES: Final = {
    400: ("Dit verzoek klopt niet", "Controleer de link of probeer het opnieuw."),
    403: ("U heeft hier geen toegang", "Gebruik de link die u van de gemeente kreeg."),
    404: ("Deze pagina bestaat niet", "Controleer de link. Of ga naar de startpagina."),
    405: ("Dit verzoek kan hier niet", "Ga terug en probeer het opnieuw."),
    413: ("Dit verzoek is te groot", "Probeer het opnieuw met minder gegevens."),
    429: ("Even te veel verzoeken", "Wacht een minuut en probeer het dan opnieuw."),
    500: ("Er ging iets mis bij ons", "Probeer het over een paar minuten opnieuw."),
}


def content_security_policy(nonce: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            f"style-src 'self' 'nonce-{nonce}'",
            "img-src 'self' data: blob:",
            "media-src 'self' blob: mediastream:",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    nonce = secrets.token_urlsafe(18)
    request[NONCE] = nonce
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = _error_response(request, exc.status, exc.reason)
    except Exception:
        # type only: a message or traceback could carry request data
        log.exception("unhandled error on %s %s", request.method, request.path)
        response = _error_response(request, 500, "Internal Server Error")
    _apply_headers(response, nonce)
    return response


def _apply_headers(response: web.StreamResponse, nonce: str) -> None:
    if response.prepared:
        return  # a WebSocket upgrade or a stream already sent its headers
    response.headers.update(_STATIC_HEADERS)
    response.headers["Content-Security-Policy"] = content_security_policy(nonce)
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"


def _wants_html(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and not request.path.startswith("/api/")


def _error_response(request: web.Request, status: int, reason: str) -> web.Response:
    title, advice = _TITLES.get(status, _TITLES[500] if status >= 500 else _TITLES[400])
    if _wants_html(request):
        template = request.app[TEMPLATES].get_template("error.html")
        body = template.render(
            status=status, title=title, advice=advice, nonce=request[NONCE], lang="nl"
        )
        return web.Response(status=status, text=body, content_type="text/html")
    problem = {"type": "about:blank", "title": reason or title, "status": status}
    return web.json_response(problem, status=status, content_type="application/problem+json")
