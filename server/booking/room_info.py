"""What the call page needs to know about its room's appointment, before and during the call.

``GET /api/rooms/{room_id}/appointment`` with the seat's room token (``Authorization:
Bearer``; a token whose time has not come yet is accepted here, and only here): when the
call opens and closes, and the appointment it belongs to, if any. A page opened early can
then say when the call starts and open by itself at that moment, instead of looking like a
dead link. The specialist's page also gets the appointment's id and where to record the
outcome. Nothing personal: reference, purpose and times only.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from server.booking.appkeys import CATALOG
from server.booking.store import appointment_in_room
from server.booking.wire import local_iso
from server.call.room_auth import room_claims
from server.db.appkeys import ENGINE
from server.db.tx import reading
from signaling.roles import Role

PATH = "/api/rooms/{room_id}/appointment"
#: where a specialist records how the call went (server/staff/desk/pages.py)
OUTCOME_PATH = "/staff/desk/appointments/{id}/outcome"


async def room_appointment(request: web.Request) -> web.Response:
    claims = room_claims(request, early=True)
    body: dict[str, object] = {
        "opens_at": local_iso(datetime.fromtimestamp(claims.not_before, UTC)),
        "closes_at": local_iso(datetime.fromtimestamp(claims.expires_at, UTC)),
        "appointment": None,
    }
    if claims.tenant is None:
        return web.json_response(body)
    async with reading(request.app[ENGINE]) as conn:
        found = await appointment_in_room(conn, claims.tenant, claims.room)
    if found is None:
        return web.json_response(body)
    names = await request.app[CATALOG].names(found.tenant_id)
    appointment: dict[str, object] = {
        "reference": found.reference,
        "purpose": found.purpose_key,
        "purpose_name": names.purpose(found.purpose_key),
        "start": local_iso(found.start),
        "end": local_iso(found.end),
        "state": str(found.state),
    }
    if claims.role is Role.SPECIALIST:
        appointment["id"] = found.id
        appointment["outcome_url"] = OUTCOME_PATH.format(id=found.id)
    body["appointment"] = appointment
    return web.json_response(body, headers={"Cache-Control": "no-store"})
