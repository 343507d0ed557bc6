"""WebSocket close codes: the one list the server, the docs and the browser client share.

docs/signaling.md ("Close codes") explains each code and what a client does about it;
``web/static/call/close-codes.js`` is generated from :class:`CloseCode` by
``python -m signaling.close_codes web/static/call/close-codes.js`` and a test keeps the
three in step. Codes below 4000 are RFC 6455's; 4xxx mirror the HTTP status they resemble.
"""

from __future__ import annotations

import sys
from enum import IntEnum
from pathlib import Path


class CloseCode(IntEnum):
    #: after ``leave`` (RFC 6455)
    NORMAL = 1000
    #: the node is shutting down: reconnect and resume, on another node if need be
    GOING_AWAY = 1001
    #: a text frame was not valid UTF-8 (sent by aiohttp)
    INVALID_TEXT = 1007
    #: a frame was larger than the limit (sent by aiohttp)
    MESSAGE_TOO_BIG = 1009
    #: the bus between nodes cannot be reached now: try again in a moment (RFC 6455 "Try
    #: Again Later"); nothing changed
    UNAVAILABLE = 1013
    #: the first frame was not a valid ``join`` or ``resume``
    BAD_FIRST_FRAME = 4400
    #: the room token was refused
    TOKEN_REFUSED = 4401
    #: the specialist denied the participant
    DENIED = 4403
    #: ``resume`` for a seat that no longer exists
    NO_SEAT = 4404
    #: no first frame within the join timeout
    JOIN_TIMEOUT = 4408
    #: a newer connection (another tab) took the seat
    REPLACED = 4409
    #: the call was ended
    ENDED = 4410
    #: this room's purpose needs a verified identity first
    VERIFY = 4412
    #: too many messages over the rate limit
    RATE_LIMITED = 4429
    #: the client stopped reading and its send queue overflowed
    SLOW_CONSUMER = 4503


def to_javascript() -> str:
    """The browser client's copy of :class:`CloseCode`, as an ES module."""
    lines = [
        "// @ts-check",
        "// Generated from signaling/close_codes.py; do not edit. Regenerate with",
        "//   .venv/bin/python -m signaling.close_codes web/static/call/close-codes.js",
        "// (tests/signaling/test_close_codes.py fails when this file is out of date).",
        "",
        '/** WebSocket close codes (docs/signaling.md, "Close codes"). */',
        "export const CLOSE = Object.freeze({",
        *(f"  {code.name}: {code.value}," for code in CloseCode),
        "});",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - a developer's command
    Path(sys.argv[1]).write_text(to_javascript())
