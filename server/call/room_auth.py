"""The room token on HTTP calls: ``Authorization: Bearer``, never in the URL (or, for the
feedback form after a call, a form field)."""

from __future__ import annotations

import logging

from aiohttp import web

from server.core.appkeys import CONFIG, KEYS
from server.core.language import N_
from server.core.logs import Event, event
from server.core.problems import Problem
from signaling.errors import TokenError
from signaling.tokens import RoomClaims, verify_room_token

log = logging.getLogger("balie.rooms")


def room_claims(request: web.Request, *, early: bool = False) -> RoomClaims:
    """The verified claims of the request's room token; its room must be the path's.
    ``early`` accepts a token whose time has not come yet (see ``verify_room_token``)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Problem(401, "token-missing", "Send the room token as Authorization: Bearer")
    return checked_room_token(request, token.strip(), request.match_info["room_id"], early=early)


def checked_room_token(
    request: web.Request, token: str, room: str, *, early: bool = False
) -> RoomClaims:
    """The verified claims of ``token``, which must be for ``room``; a :class:`Problem`
    (401 ``token-invalid`` or 403 ``wrong-room``) otherwise."""
    config = request.app[CONFIG]
    try:
        claims = verify_room_token(
            request.app[KEYS], token, issuer=config.tokens.issuer, early=early
        )
    except TokenError as error:
        log.info("room token refused: %s", error.message, extra=event(Event.ROOM_TOKEN_REFUSED))
        raise Problem(
            401, "token-invalid", "The room token was refused", N_("Deze link werkt niet meer.")
        ) from None
    if claims.room != room:
        raise Problem(403, "wrong-room", "The token belongs to another room")
    return claims
