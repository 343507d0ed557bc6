"""Check-in: a resident who reaches an appointment's waiting room has arrived.

The lobby is entered only after the identity gate, so arriving there is the moment the
appointment becomes ``checked_in``. The planner's "waiting time before admit" runs from
this check-in to the specialist's start of the call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web

from server.booking.appkeys import BOOKING
from server.booking.appointment import AppointmentState
from server.booking.errors import BookingError
from server.booking.store import appointment_in_room
from server.db.appkeys import ENGINE
from signaling.roles import Role
from signaling.tokens import RoomClaims

log = logging.getLogger("balie.booking")


async def resident_arrived(app: web.Application, claims: RoomClaims) -> None:
    """Check in the booked appointment whose room this resident just entered, if any."""
    if claims.role is not Role.RESIDENT or claims.tenant is None:
        return
    async with app[ENGINE].connect() as conn:
        appointment = await appointment_in_room(conn, claims.tenant, claims.room)
    if appointment is None or appointment.state is not AppointmentState.BOOKED:
        return  # a room without an appointment, or one already checked in or over
    try:
        await app[BOOKING].check_in(claims.tenant, appointment.id, appointment.version)
    except BookingError as error:
        # a race with the desk, which checks in too: either way the resident is in
        log.info("appointment %s not checked in: %s", appointment.id, type(error).__name__)


def on_seated(app: web.Application) -> Callable[[RoomClaims], Coroutine[Any, Any, None]]:
    """What the hub calls when a token's holder takes a seat: check a resident in."""

    async def seated(claims: RoomClaims) -> None:
        try:
            await resident_arrived(app, claims)
        except Exception:
            log.exception("checking in a resident failed")

    return seated
