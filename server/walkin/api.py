"""The resident's place in the queue over HTTP (docs/walk-in.md, docs/openapi.yaml).

The call page of a walk-in room reads its place here when it enters the lobby and, as a
fallback for a lost notice, now and then after; the ``queue`` notice on the WebSocket is the
live way. The seat's room token rides as ``Authorization: Bearer``; only the room's resident
asks, and only for a walk-in room's token (the ``walkin`` claim).
"""

from __future__ import annotations

from aiohttp import web

from server.call.room_auth import room_claims
from server.core.language import N_
from server.core.problems import Problem
from server.walkin.appkeys import WALKIN
from server.walkin.queue import InvalidState
from signaling.roles import Role
from signaling.tokens import RoomClaims

PATH = "/api/rooms/{room_id}/queue"


def add_routes(app: web.Application) -> None:
    app.router.add_get(PATH, queue_place)
    app.router.add_delete(PATH, leave_queue)


def _walkin_resident(request: web.Request) -> tuple[RoomClaims, str]:
    claims = room_claims(request)
    if not claims.walkin or claims.tenant is None:
        raise Problem(404, "not-walkin", "This room is not a walk-in counter's")
    if claims.role is not Role.RESIDENT:
        raise Problem(403, "not-resident", "Only the room's resident has a place in the queue")
    return claims, claims.tenant


def _not_queued() -> Problem:
    return Problem(
        404,
        "not-queued",
        "The resident has no place yet: it is made when their seat enters the lobby",
        N_("U staat nog niet in de wachtrij."),
    )


async def queue_place(request: web.Request) -> web.Response:
    claims, tenant = _walkin_resident(request)
    info = await request.app[WALKIN].info(tenant, claims.room)
    if info is None:
        raise _not_queued()
    return web.json_response(info.json(), headers={"Cache-Control": "no-store"})


async def leave_queue(request: web.Request) -> web.Response:
    claims, tenant = _walkin_resident(request)
    try:
        left = await request.app[WALKIN].leave(tenant, claims.room)
    except InvalidState as error:
        raise Problem(
            409,
            "not-in-queue",
            f"The ticket is {error.state.value}: it has no place to leave",
            N_("U staat niet meer in de wachtrij."),
            extra={"state": error.state.value},
        ) from None
    if left is None:
        raise _not_queued()
    return web.json_response({"state": left.state.value})
