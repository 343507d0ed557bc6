"""One question after the call: "Hoe tevreden bent u over dit gesprek?" (1 to 5).

The call page's finished state shows a form (residents only) that posts the resident's
room token from the page's memory in a hidden field, never in a URL. The token proves the
seat: a resident of this room, of a tenant. The answer page carries the same token on in its
own hidden field. What is stored is the tenant, the appointment (found by its room), the
purpose, the score and the optional comment; one answer per appointment (a second one is
thanked and dropped, so a refresh or a double click counts once).

``GET  /feedback/{room}``          how to reach the form (from the call page)
``POST /feedback/{room}``          room token → the form; with ``answer`` → store → thanks
``GET  /feedback/{room}/bedankt``  thanks
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Final

from aiohttp import web
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from server.booking.store import appointment_in_room
from server.call.room_auth import checked_room_token
from server.core.appkeys import CLOCK
from server.core.forms import see_other
from server.core.language import N_, gettext_for
from server.core.logs import room_ref
from server.core.pages import render
from server.core.problems import Problem
from server.core.security import UNAVAILABLE
from server.db.appkeys import ENGINE
from server.db.engine import writer
from server.db.schema import feedback
from server.resident.common import PageError, check_origin
from signaling.messages import ID_PATTERN
from signaling.roles import Role
from signaling.tokens import RoomClaims

log = logging.getLogger("balie.feedback")

#: long enough for a few sentences; the form asks for no personal data
COMMENT_MAX: Final = 1000
#: score → its words, in Dutch (marked for translation; translated where the form shows them)
SCORES: Final = (
    (1, N_("Heel ontevreden")),
    (2, N_("Ontevreden")),
    (3, N_("Niet tevreden en niet ontevreden")),
    (4, N_("Tevreden")),
    (5, N_("Heel tevreden")),
)


async def feedback_info(request: web.Request) -> web.Response:
    _room(request)
    return render(request, "resident/feedback_info.html")


async def feedback_thanks(request: web.Request) -> web.Response:
    _room(request)
    return render(request, "resident/feedback_thanks.html")


async def feedback_post(request: web.Request) -> web.StreamResponse:
    check_origin(request)
    room = _room(request)
    form = await request.post()
    token = _text(form, "room_token")
    claims = _resident(request, room, token)
    if "answer" not in form:
        return _form(request, room, token)
    score_raw, comment = _text(form, "score"), _text(form, "comment").strip()
    gettext = gettext_for(request)
    errors: dict[str, str] = {}
    if score_raw not in {str(score) for score, _ in SCORES}:
        errors["score-1"] = gettext("Kies hoe tevreden u bent: een cijfer van 1 tot 5.")
    if len(comment) > COMMENT_MAX:
        errors["comment"] = gettext(
            "Uw opmerking is te lang. Gebruik ten hoogste %(max)s tekens."
        ) % {"max": COMMENT_MAX}
    if errors:
        return _form(request, room, token, errors=errors, score=score_raw, comment=comment)
    await _store(request, claims, int(score_raw), comment or None)
    return see_other(f"/feedback/{room}/bedankt")


def _form(
    request: web.Request,
    room: str,
    token: str,
    *,
    errors: Mapping[str, str] | None = None,
    score: str = "",
    comment: str = "",
) -> web.Response:
    """``errors`` are translated already."""
    gettext = gettext_for(request)
    response = render(
        request,
        "resident/feedback.html",
        room=room,
        room_token=token,
        scores=[(value, gettext(label)) for value, label in SCORES],
        errors=dict(errors or {}),
        score=score,
        comment=comment,
        comment_max=COMMENT_MAX,
    )
    if errors:
        response.set_status(422)
    return response


async def _store(request: web.Request, claims: RoomClaims, score: int, comment: str | None) -> None:
    """One answer per room and per appointment, enforced by the database's unique indexes:
    a repeat (a second tab, a resent form) is thanked, not counted."""
    tenant = claims.tenant
    assert tenant is not None  # _resident refuses a token without one
    engine = request.app[ENGINE]
    try:
        async with writer(engine).begin() as conn:
            found = await appointment_in_room(conn, tenant, claims.room)
            appointment_id = found.id if found is not None else None
            purpose = found.purpose_key if found is not None else claims.purpose
            await conn.execute(
                insert(feedback).values(
                    tenant_id=tenant,
                    appointment_id=appointment_id,
                    room_id=claims.room,
                    purpose_key=purpose,
                    score=score,
                    comment=comment,
                    at=request.app[CLOCK](),
                )
            )
    except IntegrityError:
        log.info("feedback for room %s was given already; not counted again", room_ref(claims.room))
        return
    except SQLAlchemyError as error:
        # the class only: a driver message can quote the comment
        log.warning("storing feedback failed: %s", type(error).__name__)
        raise PageError(503, UNAVAILABLE) from None
    log.info("feedback stored (tenant %s, appointment %s)", tenant, appointment_id)


def _resident(request: web.Request, room: str, token: str) -> RoomClaims:
    """The token's claims if it seats a resident of this room of a tenant."""
    refused = PageError(
        403,
        N_("Dit formulier werkt alleen vanuit het gesprek. Open het via de knop na afloop."),
        back=("/", N_("Naar de startpagina")),
    )
    if not token:
        raise refused
    try:
        claims = checked_room_token(request, token, room)
    except Problem:
        raise refused from None
    if claims.role is not Role.RESIDENT or claims.tenant is None:
        raise refused
    return claims


def _room(request: web.Request) -> str:
    room = request.match_info["room"]
    if not ID_PATTERN.fullmatch(room):
        raise PageError(404, N_("Deze pagina bestaat niet."), back=("/", N_("Naar de startpagina")))
    return room


def _text(form: Mapping[str, object], name: str) -> str:
    value = form.get(name)
    return value[: COMMENT_MAX * 4] if isinstance(value, str) else ""
