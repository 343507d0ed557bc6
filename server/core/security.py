"""Security headers on every response, and errors that leak nothing.

Every response (pages, static files, the API, 404s and 500s) carries a
nonce-based Content-Security-Policy without ``unsafe-inline``/``unsafe-eval``,
HSTS, ``frame-ancestors 'none'``, ``nosniff`` and a strict referrer policy.
Errors become problem JSON for programs and a readable Dutch page for people, and every
503 says when to ask again (``Retry-After``); an unexpected exception is logged by type only
and never shown. The request guards (a form with a control character, a staff route without
its person) run here too, before any handler reads the request.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web

from server.core.appkeys import CONFIG, NONCE
from server.core.language import N_, gettext_for
from server.core.pages import render
from server.core.problems import DatabaseUnavailable, Problem, Unavailable
from server.core.tasks import DATABASE_LOST, failure

log = logging.getLogger("balie.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: a check before every handler, in the order features add them; it refuses by raising
Guard = Callable[[web.Request], Awaitable[None]]
GUARDS: web.AppKey[list[Guard]] = web.AppKey("request_guards")


def add_guard(app: web.Application, guard: Guard) -> None:
    """Run ``guard`` before every handler, inside the security middleware (so what it raises
    becomes a page or problem JSON like any error)."""
    app[GUARDS].append(guard)


_STATIC_HEADERS: Final = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: under no-referrer browsers send "Origin: null"
    # on our own form posts, which the CSRF origin check must then refuse; other
    # sites still get no referrer at all.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), microphone=(self), display-capture=(self), "
    "geolocation=(), payment=(), usb=()",
}

_TITLES: Final = {
    400: (N_("Dit verzoek klopt niet"), N_("Controleer de link of probeer het opnieuw.")),
    403: (N_("U heeft hier geen toegang"), N_("Gebruik de link die u van de gemeente kreeg.")),
    404: (N_("Deze pagina bestaat niet"), N_("Controleer de link. Of ga naar de startpagina.")),
    405: (N_("Dit verzoek kan hier niet"), N_("Ga terug en probeer het opnieuw.")),
    413: (N_("Dit verzoek is te groot"), N_("Probeer het opnieuw met minder gegevens.")),
    429: (N_("Even te veel verzoeken"), N_("Wacht een minuut en probeer het dan opnieuw.")),
    500: (N_("Er ging iets mis bij ons"), N_("Probeer het over een paar minuten opnieuw.")),
    503: (N_("Het lukt nu even niet"), N_("Probeer het over een paar minuten opnieuw.")),
}
UNAVAILABLE: Final = N_("Het lukt nu even niet. Probeer het over een paar minuten opnieuw.")
#: seconds a client waits before asking again after a 503
RETRY_AFTER: Final = "5"


# yivi-frontend's bundle injects its stylesheet as a <style> element it cannot
# give our nonce, so the sheet is allowed by its hashes instead: the element
# while still empty, then with its CSS. They belong to the version pinned in
# package-lock.json (0.1.3); after an upgrade the browser tests fail with
# Chromium's report of the new hash.
YIVI_STYLE_HASHES: Final = (
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=' "
    "'sha256-Zwk+NVBmf68wTb1CJNBPEjdlO5paJ/3c7bCr9AocQ1Y='"
)


def content_security_policy(nonce: str, *, connect: tuple[str, ...] = ()) -> str:
    """The policy for one response; ``connect`` adds origins pages may fetch from
    (a real irma server that the wallet flow polls)."""
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            f"style-src 'self' 'nonce-{nonce}' {YIVI_STYLE_HASHES}",
            "img-src 'self' data: blob:",
            "media-src 'self' blob: mediastream:",
            " ".join(("connect-src 'self'", *connect)),
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
        # guards run here, not as middlewares of their own: a middleware's frame stays alive
        # as long as its request, and a WebSocket's request lives for the whole call
        for guard in request.app.get(GUARDS, ()):
            await guard(request)
        response = await handler(request)
    except Problem as problem:
        # detail is for people: in the language the browser chose (Dutch without a choice)
        problem.detail = None if problem.detail is None else gettext_for(request)(problem.detail)
        response = problem.response()
    except Unavailable as error:
        log.warning("%s %s: %s", request.method, request.path, error)
        response = _unavailable_response(request, error)
    except DATABASE_LOST as error:
        # a store that reached the database itself (not through db/tx.py) and lost it
        log.warning("%s %s: unavailable (%s)", request.method, request.path, failure(error))
        response = _unavailable_response(request, DatabaseUnavailable())
    except web.HTTPException as exc:
        if exc.status < 400:
            # a redirect (or another answer that is not an error) goes out as it was raised
            response = web.Response(
                status=exc.status, reason=exc.reason, headers=exc.headers, body=exc.body
            )
            # cookies are not headers until a response is sent: carry them over
            response.cookies.update(exc.cookies)
        else:
            response = _error_response(request, exc.status, exc.reason)
            # what the client needs to go on: the methods a 405 allows, when to retry
            for name in ("Allow", "Retry-After"):
                if name in exc.headers:
                    response.headers[name] = exc.headers[name]
    except Exception:
        # type only: a message or traceback could carry request data
        log.exception("unhandled error on %s %s", request.method, request.path)
        response = _error_response(request, 500, "Internal Server Error")
    _apply_headers(response, nonce, request.app[CONFIG].identity.irma.browser_origins)
    return response


def _apply_headers(response: web.StreamResponse, nonce: str, connect: tuple[str, ...]) -> None:
    if response.prepared:
        return  # a WebSocket upgrade or a stream already sent its headers
    response.headers.update(_STATIC_HEADERS)
    response.headers["Content-Security-Policy"] = content_security_policy(nonce, connect=connect)
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    if response.status == 503 and "Retry-After" not in response.headers:
        # whoever answered "not now" (a page of a feature, a handler's own 503) says when
        # to ask again, as the problem JSON of an unavailable service does
        response.headers["Retry-After"] = RETRY_AFTER


def from_our_site(request: web.Request) -> bool:
    """Did our own pages send this state-changing request? The Origin header must be an
    allowed origin (``null`` never is); a browser that sends none still says where a
    cross-site request came from in ``Sec-Fetch-Site``."""
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin in request.app[CONFIG].allowed_origins
    return request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")


def _wants_html(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and not request.path.startswith("/api/")


def _error_response(request: web.Request, status: int, reason: str) -> web.Response:
    title, advice = _TITLES.get(status, _TITLES[500] if status >= 500 else _TITLES[400])
    if _wants_html(request):
        gettext = gettext_for(request)
        response = render(
            request,
            "common/error.html",
            status=status,
            title=gettext(title),
            advice=gettext(advice),
        )
        response.set_status(status)
        return response
    problem = {"type": "about:blank", "title": reason or title, "status": status}
    return web.json_response(problem, status=status, content_type="application/problem+json")


def _unavailable_response(request: web.Request, error: Unavailable) -> web.Response:
    if _wants_html(request):
        response = _error_response(request, 503, "Service Unavailable")
    else:
        detail = gettext_for(request)(UNAVAILABLE)
        response = Problem(503, error.code, error.title, detail).response()
    response.headers["Retry-After"] = RETRY_AFTER
    return response
