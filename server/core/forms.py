"""Server-rendered forms: idempotency keys, the redirect that follows a POST, and no control
characters in what a form sends.

Each form a page draws carries a fresh key in a hidden field; the booking service replays
the first answer for a repeated key, so a double click or a refresh after POST never books,
cancels or reschedules twice.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Final

from aiohttp import web

#: characters no person types into a form: C0 controls but tab, CR and LF, and DEL. A NUL is
#: refused by PostgreSQL itself, the others break e-mail headers, CSV cells and calendars.
CONTROL_CHARACTERS: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FORM_TYPES: Final = ("application/x-www-form-urlencoded", "multipart/form-data")

#: what a key drawn by :func:`new_form_key` looks like (and nothing else is accepted)
FORM_KEY: Final = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_form_key() -> str:
    return secrets.token_urlsafe(24)


def see_other(location: str, *, headers: Mapping[str, str] | None = None) -> web.Response:
    """Post/Redirect/Get: the 303 that turns a POST's answer into a GET of ``location``."""
    return web.Response(status=303, headers={**(headers or {}), "Location": location})


async def refuse_control_characters(request: web.Request) -> None:
    """A posted form with a control character in any field is refused (400) before any
    handler reads it, so it changes nothing; the resident or staff member sees a page.
    A request guard: the security middleware runs it before every handler."""
    if request.method == "POST" and request.content_type in _FORM_TYPES:
        try:
            form = await request.post()  # cached: the handler reads the same form
        except ValueError:  # a multipart body without its boundary, say
            raise web.HTTPBadRequest(reason="the form cannot be read") from None
        for name, value in form.items():
            if isinstance(value, str) and (
                CONTROL_CHARACTERS.search(value) or CONTROL_CHARACTERS.search(name)
            ):
                raise web.HTTPBadRequest(reason="a form field holds a control character")
