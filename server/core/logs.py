"""Logging set-up: readable lines or JSON, UTC times, and no personal data by construction.

The access log records method, path (never the query string), status and
duration; join links carry their token in the URL fragment, which browsers do
not send, and nothing in Balie logs message contents.

``BALIE_LOG_FORMAT=json`` writes one JSON object a line (:class:`JsonFormatter`) with the
time, level, logger and message, the request's id and a reference to its room where known
(context variables set by the request middleware and the hub), and the ``event`` name of a
security event (:class:`Event`, listed in docs/operations.md). A room is never named by its
id in a log: :func:`room_ref` is a keyed digest of it that correlates lines, nothing more.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections import Counter
from contextvars import ContextVar
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

import orjson
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from server.config import LogFormat

#: the id of the HTTP request being handled (also the WebSocket's upgrade request)
REQUEST_ID: ContextVar[str | None] = ContextVar("balie_request_id", default=None)
#: the room reference (:func:`room_ref`) of what is being handled, where known
ROOM_REF: ContextVar[str | None] = ContextVar("balie_room_ref", default=None)


class Event(StrEnum):
    """Security events: stable names operators alert on (docs/operations.md, "Logs and
    metrics"). Each is logged with ``extra=event(Event.X)`` and counted in
    ``balie_security_events_total``."""

    #: a staff member signed in (both steps passed)
    STAFF_SIGNED_IN = "staff.signed_in"
    #: a sign-in step was refused: unknown login, wrong password or code, or a locked account
    STAFF_SIGN_IN_REFUSED = "staff.sign_in_refused"
    #: sign-in posts from one client went over the rate limit (429)
    STAFF_SIGN_IN_RATE_LIMITED = "staff.sign_in_rate_limited"
    #: a staff form post without its CSRF token, or from a foreign origin
    STAFF_CSRF_REFUSED = "staff.csrf_refused"
    #: a signed-in staff member asked for another tenant's page or a role they lack
    STAFF_ACCESS_REFUSED = "staff.access_refused"
    #: a room token was refused (the WebSocket's join, or an HTTP call under /api/rooms)
    ROOM_TOKEN_REFUSED = "room.token_refused"  # noqa: S105 - an event name, not a token
    #: a WebSocket upgrade from an origin not in BALIE_ALLOWED_ORIGINS (403)
    WS_ORIGIN_REFUSED = "ws.origin_refused"
    #: a socket went on sending over its rate and was closed (4429)
    WS_RATE_LIMITED = "ws.rate_limited"
    #: a wallet's proof was refused (bad signature, expired, missing or unmatched values)
    IDENTITY_PROOF_REFUSED = "identity.proof_refused"
    #: a specialist revealed a resident's masked BSN
    IDENTITY_BSN_REVEALED = "identity.bsn_revealed"
    #: sealed identity values did not open (a key removed too early, or a tampered row)
    IDENTITY_VAULT_UNREADABLE = "identity.vault_unreadable"
    #: a manage link was refused as not genuine (malformed, wrong tag, unknown key)
    MANAGE_LINK_REFUSED = "booking.link_refused"
    #: a request for a probe room without the right probe secret (401)
    PROBE_SECRET_REFUSED = "probe.secret_refused"  # noqa: S105 - an event name, not a secret
    #: a node took up a changed key file (a rotation): the key ids it holds now
    KEYS_RELOADED = "keys.reloaded"
    #: a key file changed but could not be read; the node goes on with the keys it holds
    KEYS_RELOAD_FAILED = "keys.reload_failed"


#: how often each security event was logged by this process (balie_security_events_total)
EVENT_COUNTS: Final[Counter[Event]] = Counter()


def event(name: Event) -> dict[str, str]:
    """``extra=`` for a log call that records a security event; counts it as well (counted
    even when the log level hides the line)."""
    EVENT_COUNTS[name] += 1
    return {"event": name.value}


#: the key of room references; BALIE_LOG_KEY replaces it (the same on every node)
_room_key: list[bytes] = [secrets.token_bytes(32)]


def room_ref(room_id: str) -> str:
    """A short keyed digest of a room id: the same room gives the same reference (with the
    same BALIE_LOG_KEY, on every node), and the reference gives away nothing of the id."""
    return _keyed_ref(_room_key[0], room_id)


# remembered: a room's home binds the room for every command it applies (hub.py), which is
# every relayed message between nodes, and an HMAC each time would cost more than the lookup
@functools.lru_cache(maxsize=4096)
def _keyed_ref(key: bytes, room_id: str) -> str:
    digest = hmac.new(key, room_id.encode(), hashlib.sha256).hexdigest()
    return "rm-" + digest[:12]


def bind_room(room_id: str | None) -> None:
    """Name the room in the log lines that follow in this task (and tasks it starts)."""
    ROOM_REF.set(room_ref(room_id) if room_id else None)


def new_request_id() -> str:
    return secrets.token_hex(8)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``time`` (UTC, RFC 3339), ``level``, ``logger``, ``message``,
    then ``request``, ``room`` and ``event`` where known, and ``exception`` (the traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request:
            entry["request"] = request
        room = getattr(record, "room_ref", None) or ROOM_REF.get()
        if room:
            entry["room"] = room
        name = getattr(record, "event", None)
        if isinstance(name, str):
            entry["event"] = name
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()


class Correlation(logging.Filter):
    """Stamps each record with the request and room of the context it was logged in, for
    handlers that format later than that."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        if not hasattr(record, "room_ref"):
            record.room_ref = ROOM_REF.get()
        return True


def text_formatter() -> logging.Formatter:
    formatter = logging.Formatter(
        "%(asctime)sZ %(levelname)s %(name)s %(message)s", "%Y-%m-%dT%H:%M:%S"
    )
    formatter.converter = time.gmtime
    return formatter


def configure(level: str, log_format: LogFormat = LogFormat.TEXT, room_key: bytes = b"") -> None:
    """The one handler on the root logger, writing to stderr in ``log_format``; ``room_key``
    (BALIE_LOG_KEY) keys the room references, else a random key of this process does."""
    if room_key:
        _room_key[0] = room_key
    handler = logging.StreamHandler()
    handler.addFilter(Correlation())
    handler.setFormatter(JsonFormatter() if log_format is LogFormat.JSON else text_formatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


#: the one path segment that is a credential: a staff feed's token (calendar apps can only
#: subscribe by URL, so it cannot travel in a header)
_FEED_TOKEN: Final = re.compile(r"(/staff/[^/]*/feed/)[^/]*(\.ics)$")
#: a room's id in a path: logged as its reference (room_ref), like everywhere else
_ROOM_IN_PATH: Final = re.compile(r"^(/call/|/api/rooms/|/feedback/)([^/]+)")


def loggable_path(path: str) -> str:
    """``path`` with credentials in it replaced by ``***`` and a room's id by its
    reference."""
    path = _ROOM_IN_PATH.sub(lambda found: found.group(1) + room_ref(found.group(2)), path)
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
