"""Server-rendered forms: idempotency keys, and the redirect that follows a POST.

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

#: what a key drawn by :func:`new_form_key` looks like (and nothing else is accepted)
FORM_KEY: Final = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_form_key() -> str:
    return secrets.token_urlsafe(24)


def see_other(location: str, *, headers: Mapping[str, str] | None = None) -> web.Response:
    """Post/Redirect/Get: the 303 that turns a POST's answer into a GET of ``location``."""
    return web.Response(status=303, headers={**(headers or {}), "Location": location})
