"""Problem details (RFC 9457) for the JSON API.

Handlers raise :class:`Problem`; the security middleware turns it into an
``application/problem+json`` response. ``code`` is a stable machine-readable
name clients switch on; ``detail`` is a sentence a person can read (Dutch
where a resident sees it). Neither ever carries personal data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from aiohttp import web

PROBLEM_TYPE_BASE: Final = "https://balie.invalid/problems/"
CONTENT_TYPE: Final = "application/problem+json"
#: seconds a client waits before asking again after a 503
RETRY_AFTER: Final = "5"
#: how deep a JSON body may nest (the API's bodies are two levels deep); deeper is refused
MAX_JSON_DEPTH: Final = 32
#: what no text in a JSON body may hold: C0 and C1 control characters, DEL, and lone
#: surrogates (PostgreSQL refuses NUL in text, and no database encodes a lone surrogate)
_FORBIDDEN_TEXT: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
#: a key that may be named in a problem: a field name, never a value sent as a key
_FIELD_NAME: Final = re.compile(r"[A-Za-z0-9_]{1,40}")


class Problem(Exception):
    """An API error with a status, a stable code and a readable explanation."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str | None = None,
        *,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.extra = dict(extra or {})

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {
            "type": PROBLEM_TYPE_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "code": self.code,
        }
        if self.detail is not None:
            body["detail"] = self.detail
        return body | self.extra

    def response(self) -> web.Response:
        response = web.json_response(self.body(), status=self.status, content_type=CONTENT_TYPE)
        if self.status == 503:
            response.headers["Retry-After"] = RETRY_AFTER
        return response


async def json_body(request: web.Request) -> dict[str, object]:
    """The request's JSON object, or a 400/415 problem saying what is wrong.

    Refused as well: nesting deeper than :data:`MAX_JSON_DEPTH` (``malformed-json``) and
    any text, key or value, holding a control character or a lone surrogate
    (``field-invalid``, naming the field but never echoing the value), so no handler has to
    remember it before a value reaches the database.
    """
    if request.content_type != "application/json":
        raise Problem(
            415, "unsupported-media-type", "Send the body as application/json", request.content_type
        )
    try:
        data = await request.json()
    except (ValueError, RecursionError):
        # RecursionError: the parser's answer to a body of a hundred thousand "["
        raise Problem(400, "malformed-json", "The body is not valid JSON") from None
    if not isinstance(data, dict):
        raise Problem(400, "malformed-json", "The body must be a JSON object")
    _check_text(data)
    return data


def _check_text(data: dict[str, object]) -> None:
    """Walk the body without recursion: refuse deep nesting and forbidden characters."""
    stack: list[tuple[object, str, int]] = [(data, "", 1)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise Problem(400, "malformed-json", f"The body nests deeper than {MAX_JSON_DEPTH}")
        if isinstance(value, dict):
            for key, item in value.items():
                if _FORBIDDEN_TEXT.search(key):
                    raise _control_character(where)
                name = key if _FIELD_NAME.fullmatch(key) else "?"
                stack.append((item, f"{where}.{name}" if where else name, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, where, depth + 1) for item in value)
        elif isinstance(value, str) and _FORBIDDEN_TEXT.search(value):
            raise _control_character(where)


def _control_character(where: str) -> Problem:
    return Problem(
        400,
        "field-invalid",
        "A text in the body holds a control character",
        extra={"field": where} if where else None,
    )


class Unavailable(Exception):
    """A service Balie stands on (the database, the bus, a verifier) cannot be reached now.

    Whoever meets it answers 503 ("try again in a moment"): the security middleware turns
    it into problem JSON or a page. The message names the service, never request data.
    """

    #: the problem's stable code
    code = "unavailable"
    title = "A service Balie needs is unavailable; retry later"


class DatabaseUnavailable(Unavailable):
    """The database cannot be reached, or no pooled connection came free in time."""

    code = "storage-unavailable"
    title = "The database is unavailable; retry later"
