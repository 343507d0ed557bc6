"""Problem details (RFC 9457) for the JSON API.

Handlers raise :class:`Problem`; the security middleware turns it into an
``application/problem+json`` response. ``code`` is a stable machine-readable
name clients switch on; ``detail`` is a sentence a person can read (Dutch
where a resident sees it). Neither ever carries personal data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from aiohttp import web

PROBLEM_TYPE_BASE: Final = "https://balie.invalid/problems/"
CONTENT_TYPE: Final = "application/problem+json"


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
        return web.json_response(self.body(), status=self.status, content_type=CONTENT_TYPE)


async def json_body(request: web.Request) -> dict[str, object]:
    """The request's JSON object, or a 400/415 problem saying what is wrong."""
    if request.content_type != "application/json":
        raise Problem(
            415, "unsupported-media-type", "Send the body as application/json", request.content_type
        )
    try:
        data = await request.json()
    except ValueError:
        raise Problem(400, "malformed-json", "The body is not valid JSON") from None
    if not isinstance(data, dict):
        raise Problem(400, "malformed-json", "The body must be a JSON object")
    return data


class Unavailable(Exception):
    """A service Balie stands on (the database, the bus, a verifier) cannot be reached now.

    Whoever meets it answers 503 ("try again in a moment"): the security middleware turns
    it into problem JSON or a page. The message names the service, never request data.
    """

    #: the problem's stable code
    code = "unavailable"
    title = "A service Balie needs is unavailable; retry later"
