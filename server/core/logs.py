"""Logging set-up: plain lines, UTC times, and no personal data by construction.

The access log records method, path (never the query string), status and
duration; join links carry their token in the URL fragment, which browsers do
not send, and nothing in Balie logs message contents.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Final

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger


def configure(level: str) -> None:
    handler = logging.StreamHandler()
    formatter = logging.Formatter(
        "%(asctime)sZ %(levelname)s %(name)s %(message)s", "%Y-%m-%dT%H:%M:%S"
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


#: the one path segment that is a credential: a staff feed's token (calendar apps can only
#: subscribe by URL, so it cannot travel in a header)
_FEED_TOKEN: Final = re.compile(r"(/staff/[^/]*/feed/)[^/]*(\.ics)$")


def loggable_path(path: str) -> str:
    """``path`` with credentials in it replaced by ``***``."""
    return _FEED_TOKEN.sub(r"\1***\2", path)


#: what pages ask again and again while someone waits (the wallet's status, the desk's states,
#: the session's time left), and what load balancers ask every few seconds: answered fine,
#: they are DEBUG lines, not two INFO lines a second
_POLLS: Final = re.compile(
    r"^/(irma-emulator/)?(irma/)?session/[^/]+/(frontend/)?status(events)?$"
    r"|^/api/rooms/[^/]+/verification$"
    r"|^/staff/(session|desk/state)$"
    r"|^/(healthz|readyz)$"
)


class AccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        quiet = request.method in ("GET", "HEAD") and response.status < 400
        level = logging.DEBUG if quiet and _POLLS.match(request.path) else logging.INFO
        self.logger.log(
            level,
            "%s %s %s %.1fms",
            request.method,
            loggable_path(request.path),
            response.status,
            time * 1000,
        )
