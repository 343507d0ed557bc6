"""HTTP endpoints of the identity gate (docs/identity.md, docs/openapi.yaml).

Every call carries the seat's room token as ``Authorization: Bearer`` (never in the
URL) and the browser-session cookie; the token's room must be the path's room.
"""

from __future__ import annotations

from aiohttp import web

from server.call.appkeys import HUB
from server.call.room_auth import room_claims
from server.core.browser import browser_id
from server.core.language import language_of
from server.core.problems import Problem, json_body
from server.verification.appkeys import GATE
from server.verification.gate import GateError, IdentityGate
from server.verification.metrics import count_finish

PREFIX = "/api/rooms/{room_id}/verification"


def add_routes(app: web.Application) -> None:
    app.router.add_get(PREFIX, verification_state)
    app.router.add_post(PREFIX + "/session", start_session)
    app.router.add_get(PREFIX + "/progress", session_progress)
    app.router.add_post(PREFIX + "/result", finish_session)
    app.router.add_post(PREFIX + "/reveal", reveal_attribute)
    app.router.add_post(PREFIX + "/renew", request_renewal)


def _gate(request: web.Request) -> IdentityGate:
    return request.app[GATE]


def _problem(error: GateError) -> Problem:
    extra = {"check": error.check} if error.check else None
    return Problem(
        error.status, error.code, error.code.replace("-", " "), error.detail, extra=extra
    )


async def _optional_body(request: web.Request) -> dict[str, object]:
    """The JSON body, or nothing: the Yivi page posts ``{}`` or no body at all."""
    return await json_body(request) if request.can_read_body else {}


def _language(request: web.Request) -> str:
    return language_of(request).value


async def verification_state(request: web.Request) -> web.Response:
    claims = room_claims(request)
    try:
        body = await _gate(request).state(claims, browser_id(request), _language(request))
    except GateError as error:
        raise _problem(error) from None
    return web.json_response(body)


async def start_session(request: web.Request) -> web.Response:
    claims = room_claims(request)
    try:
        body = await _optional_body(request)
        payload = await _gate(request).start(
            claims, browser_id(request), body.get("wallet"), body.get("flow")
        )
    except GateError as error:
        raise _problem(error) from None
    return web.json_response(dict(payload))


async def session_progress(request: web.Request) -> web.Response:
    claims = room_claims(request)
    try:
        body = await _gate(request).progress(claims, browser_id(request))
    except GateError as error:
        raise _problem(error) from None
    return web.json_response(body, headers={"Cache-Control": "no-store"})


async def finish_session(request: web.Request) -> web.Response:
    claims = room_claims(request)
    code = (await _optional_body(request)).get("response_code")
    try:
        verdict = await _gate(request).finish(
            claims,
            browser_id(request),
            _language(request),
            response_code=code if isinstance(code, str) else None,
        )
    except GateError as error:
        if error.code != "not-finished":  # asked too early: nothing finished yet
            count_finish(request, error.code, error.verifier)
        raise _problem(error) from None
    count_finish(request, None, str(verdict.get("wallet", "")) or None)
    await request.app[HUB].notify_verified(claims.room)
    return web.json_response(verdict)


async def reveal_attribute(request: web.Request) -> web.Response:
    claims = room_claims(request)
    body = await json_body(request)
    try:
        value = await _gate(request).reveal(claims, body.get("attribute"))
    except GateError as error:
        raise _problem(error) from None
    return web.json_response({"attribute": body["attribute"], "value": value})


async def request_renewal(request: web.Request) -> web.Response:
    claims = room_claims(request)
    try:
        await _gate(request).renew(claims)
    except GateError as error:
        raise _problem(error) from None
    await request.app[HUB].request_verification(claims.room)
    return web.json_response({"renewal": "requested"}, status=202)
