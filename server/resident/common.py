"""What the resident pages share: errors as pages, and the origin check."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web

from server.booking.errors import BookingError
from server.booking.problems import problem_for
from server.core.browser import remember_browser
from server.core.clients import client_key
from server.core.language import N_, gettext_for
from server.core.pages import render
from server.core.problems import Problem, Unavailable
from server.core.security import RETRY_AFTER, UNAVAILABLE, from_our_site
from server.walkin.appkeys import WALKIN_LIMIT
from signaling.messages import ID_PATTERN

log = logging.getLogger("balie.booking.pages")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# --- errors become pages ------------------------------------------------------------------

_ERROR_TITLES: Final = {
    400: N_("Dit verzoek klopt niet"),
    401: N_("Gebruik de link uit uw bevestiging"),
    403: N_("Deze link werkt niet"),
    404: N_("Dit bestaat niet"),
    409: N_("Dit lukt nu niet"),
    429: N_("Even wachten"),
    422: N_("Dit lukt niet"),
    503: N_("Het lukt nu even niet"),
}
SOMETHING_WRONG: Final = N_("Er ging iets mis")
CHECK_THE_LINK: Final = N_("Controleer de link of begin opnieuw.")
TOO_MANY: Final = N_(
    "U heeft dit net te vaak gevraagd. Wacht een paar minuten en probeer het dan opnieuw."
)


class PageError(Exception):
    """Show the resident a page saying what went wrong and where to go on."""

    def __init__(self, status: int, detail: str, *, back: tuple[str, str] | None = None) -> None:
        super().__init__(f"{status}")
        self.status = status
        self.detail = detail
        self.back = back


def page(handler: Handler) -> Handler:
    """Booking errors and API problems become a page with the status, never JSON."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            response = await handler(request)
            # the browser's id: a new hold of this browser releases its earlier one
            remember_browser(request, response)
            return response
        except PageError as error:
            return error_page(request, error.status, error.detail, error.back)
        except Problem as problem:
            detail = problem.detail or CHECK_THE_LINK
            return error_page(request, problem.status, detail, None)
        except BookingError as error:
            translated = problem_for(error, "appointment")
            return error_page(request, translated.status, translated.detail or "", None)
        except Unavailable as error:
            log.warning("%s %s: %s", request.method, request.path, error)
            response = error_page(request, 503, UNAVAILABLE, None)
            response.headers["Retry-After"] = RETRY_AFTER
            return response

    return wrapped


def error_page(
    request: web.Request, status: int, detail: str, back: tuple[str, str] | None
) -> web.Response:
    """``detail`` and the words of ``back`` are Dutch texts marked for translation."""
    gettext = gettext_for(request)
    tenant = request.match_info.get("tenant", "")
    start = f"/afspraak/{tenant}" if ID_PATTERN.fullmatch(tenant) else None
    if back is None and start is not None:
        back = (start, N_("Naar het begin"))
    response = render(
        request,
        "resident/error.html",
        title=gettext(_ERROR_TITLES.get(status, SOMETHING_WRONG)),
        detail=gettext(detail),
        status=status,
        back=None if back is None else (back[0], gettext(back[1])),
        # after a POST the switch returns to the tenant's start: the POST has no page
        switch_back=None if request.method in ("GET", "HEAD") else start or "/",
    )
    response.set_status(status)
    return response


def check_origin(request: web.Request) -> None:
    """Our own forms only: the same rule as the staff pages' CSRF check."""
    if not from_our_site(request):
        log.warning("resident %s %s refused: foreign origin", request.method, request.path)
        raise PageError(403, N_("Dit formulier kwam niet van onze website. Begin opnieuw."))


async def within_limit(request: web.Request) -> None:
    """Walk-in rooms and call-back requests are limited per client (``WALKIN_LIMIT``)."""
    if not await request.app[WALKIN_LIMIT].allow(client_key(request)):
        log.warning("resident %s %s refused: too many requests", request.method, request.path)
        raise PageError(429, TOO_MANY)
