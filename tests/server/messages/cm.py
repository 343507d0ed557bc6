"""A stand-in for CM.com's Business Messaging gateway, on a loopback port: it checks every
request against CM's documented shape and answers the way CM documents.

The shape (developers.cm.com/messaging/docs: Integration, Shared features, SMS, Responses &
Errors - JSON): ``POST /v1.0/message`` with a JSON body ``{"messages": {"authentication":
{"productToken": ...}, "msg": [...]}}``; each msg has ``from`` (11 letters and digits, or 16
digits), ``to`` (a list of ``{"number": "00<country code><number>"}``), ``body`` (``type``
auto/plain/binary and ``content``), and optionally ``reference`` (1 to 32 letters and
digits), ``allowedChannels`` and ``minimumNumberOfMessageParts`` /
``maximumNumberOfMessageParts`` (1 to 8, always together). The product token may also come
in the ``X-CM-PRODUCTTOKEN`` header.

A request off that shape is answered ``400`` with error 202 (malformed), as CM does, and
recorded in :attr:`FakeCm.problems`, which a test asserts is empty.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web

PATH: Final = "/v1.0/message"
TOKEN: Final = "00000000-0000-0000-0000-000000000000"  # the shape of CM's product tokens
#: what a msg may hold (the documented fields; WhatsApp and rich content left out)
MSG_FIELDS: Final = frozenset(
    {
        "from",
        "to",
        "body",
        "reference",
        "allowedChannels",
        "minimumNumberOfMessageParts",
        "maximumNumberOfMessageParts",
        "customGrouping",
        "customGrouping2",
        "customGrouping3",
        "validity",
        "dcs",
    }
)
CHANNELS: Final = frozenset({"SMS", "WhatsApp", "Push", "RCS", "Viber", "Apple Messages"})
_SENDER: Final = re.compile(r"[A-Za-z0-9 ]{1,11}|[0-9]{1,16}")
#: CM's number format: 00, the country code, the number; no +, no spaces
_NUMBER: Final = re.compile(r"00[1-9][0-9]{6,14}")
_REFERENCE: Final = re.compile(r"[A-Za-z0-9]{1,32}")


def shape_problems(method: str, path: str, headers: Mapping[str, str], raw: bytes) -> list[str]:
    """What in a request is off CM's documented shape (empty: nothing). Whether the token is
    an account's is not a matter of shape: :class:`FakeCm` answers that with error 101."""
    found: list[str] = []
    if (method, path) != ("POST", PATH):
        found.append(f"{method} {path}, not POST {PATH}")
    if headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
        found.append("the Content-Type is not application/json")
    try:
        body = json.loads(raw)
    except ValueError:
        return [*found, "the body is not JSON"]
    if not (isinstance(body, dict) and set(body) == {"messages"}):
        return [*found, "the body is not {'messages': ...}"]
    messages = body["messages"]
    if not isinstance(messages, dict) or not set(messages) <= {"authentication", "msg"}:
        return [*found, "messages holds other keys than authentication and msg"]
    header_token = headers.get("X-CM-PRODUCTTOKEN")
    authentication = messages.get("authentication")
    if authentication is None and header_token is None:
        found.append("no product token, in the body or the header")
    if authentication is not None:
        token = authentication.get("productToken") if isinstance(authentication, dict) else None
        if not (set(authentication) == {"productToken"} and isinstance(token, str) and token):
            found.append("authentication is not {'productToken': <a product token>}")
        elif header_token is not None and header_token != token:
            found.append("the X-CM-PRODUCTTOKEN header and the body name different tokens")
    msgs = messages.get("msg")
    if not isinstance(msgs, list) or not msgs:
        return [*found, "msg is not a non-empty list"]
    for index, msg in enumerate(msgs):
        found.extend(f"msg[{index}]: {problem}" for problem in _msg_problems(msg))
    return found


def _msg_problems(msg: object) -> list[str]:
    if not isinstance(msg, dict):
        return ["not an object"]
    found = [f"unknown field {name!r}" for name in sorted(set(msg) - MSG_FIELDS)]
    found += [f"no {name!r}" for name in ("from", "to", "body") if name not in msg]
    sender = msg.get("from")
    if "from" in msg and not (isinstance(sender, str) and _SENDER.fullmatch(sender)):
        found.append("from is not 11 letters and digits or 16 digits")
    to = msg.get("to")
    if "to" in msg and not (
        isinstance(to, list)
        and to
        and all(
            isinstance(t, dict)
            and set(t) == {"number"}
            and isinstance(t["number"], str)
            and _NUMBER.fullmatch(t["number"])
            for t in to
        )
    ):
        found.append("to is not a list of {'number': '00<country code><number>'}")
    body = msg.get("body")
    if "body" in msg and not (
        isinstance(body, dict)
        and set(body) == {"type", "content"}
        and str(body["type"]).lower() in ("auto", "plain", "binary")
        and isinstance(body["content"], str)
    ):
        found.append("body is not {'type': auto|plain|binary, 'content': <text>}")
    reference = msg.get("reference")
    if "reference" in msg and not (isinstance(reference, str) and _REFERENCE.fullmatch(reference)):
        found.append("reference is not 1 to 32 letters and digits")
    channels = msg.get("allowedChannels")
    if "allowedChannels" in msg and not (
        isinstance(channels, list) and channels and set(channels) <= CHANNELS
    ):
        found.append("allowedChannels is not a list of channels")
    low, high = msg.get("minimumNumberOfMessageParts"), msg.get("maximumNumberOfMessageParts")
    if (low is None) != (high is None):
        found.append("minimum and maximumNumberOfMessageParts go together")
    elif low is not None and not (type(low) is int and type(high) is int and 1 <= low <= high <= 8):
        found.append("the numbers of message parts are not 1 <= minimum <= maximum <= 8")
    return found


@dataclass
class FakeCm:
    """What the gateway answers, and what it saw. ``answer``: None accepts every message;
    else (status, JSON body or raw bytes). ``hold``: answer only once released (a gateway
    that does not answer in time)."""

    token: str = TOKEN
    answer: tuple[int, Any] | None = None
    hold: bool = False
    seen: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.message)
        return app

    async def message(self, request: web.Request) -> web.Response:
        raw = await request.read()
        headers = dict(request.headers)
        self.headers.append(headers)
        problems = shape_problems(request.method, request.path, headers, raw)
        if problems:
            self.problems.extend(problems)
            return _json(400, {"details": "; ".join(problems), "errorCode": 202, "messages": []})
        body = json.loads(raw)
        self.seen.append(body)
        messages = body["messages"]
        given = messages.get("authentication", {}).get("productToken") or headers.get(
            "X-CM-PRODUCTTOKEN"
        )
        if given != self.token:
            return _json(
                400,
                {
                    "details": "No account found for the given authentication",
                    "errorCode": 101,
                    "messages": [],
                },
            )
        if self.hold:
            await self.released.wait()
        if self.answer is not None:
            status, answer = self.answer
            if isinstance(answer, bytes):
                return web.Response(status=status, body=answer)
            return _json(status, answer)
        return _json(200, accepted(messages["msg"]))


def accepted(msgs: list[dict[str, Any]]) -> dict[str, Any]:
    """CM's answer when every message was accepted."""
    details = [
        {
            "to": to["number"],
            "status": "Accepted",
            "reference": msg.get("reference"),
            "parts": 1,
            "messageDetails": None,
            "messageErrorCode": 0,
        }
        for msg in msgs
        for to in msg["to"]
    ]
    return {"details": f"Created {len(details)} message(s)", "errorCode": 0, "messages": details}


def rejected(number: str, reference: str, code: int, details: str) -> dict[str, Any]:
    """CM's answer (with HTTP 400) when its only message was refused."""
    return {
        "details": "Created 0 message(s)",
        "errorCode": 201,
        "messages": [
            {
                "to": number,
                "status": "Rejected",
                "reference": reference,
                "parts": 0,
                "messageDetails": details,
                "messageErrorCode": code,
            }
        ],
    }


def _json(status: int, body: object) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")
